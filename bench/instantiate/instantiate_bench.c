/*
 * instantiate_bench.c: the cost of a fresh instance per request.
 *
 * For a module whose data segment initialises DATA bytes of memory, measures
 * per iteration: new store -> instance -> call an empty export -> delete the
 * store, two ways:
 *   snapshot  instance from a snapshot into a pooled slot (copy-on-write)
 *   full      wisp_instance_new (segments copied, start run) every time
 * and prints p50/p99/mean in microseconds, plus the resident memory of an idle
 * pooled slot. The module is assembled here, so the bench needs no toolchain.
 *
 * usage: instantiate_bench [ITERATIONS]
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wisp.h"

typedef struct bytes {
  uint8_t *p;
  size_t len, cap;
} bytes_t;

static void put(bytes_t *b, const void *src, size_t n) {
  if (b->len + n > b->cap) {
    b->cap = (b->len + n) * 2;
    b->p = realloc(b->p, b->cap);
    if (!b->p) abort();
  }
  memcpy(b->p + b->len, src, n);
  b->len += n;
}
static void put_byte(bytes_t *b, uint8_t v) { put(b, &v, 1); }
static void put_leb(bytes_t *b, uint64_t v) {
  do {
    uint8_t byte = v & 0x7F;
    v >>= 7;
    put_byte(b, byte | (v ? 0x80 : 0));
  } while (v);
}
static void put_section(bytes_t *b, uint8_t id, const bytes_t *body) {
  put_byte(b, id);
  put_leb(b, body->len);
  put(b, body->p, body->len);
}

/* (memory (export "mem") pages) (data (i32.const 0) DATA bytes of a pattern) (func (export "noop")) */
static bytes_t build_module(size_t data_bytes) {
  bytes_t m = {0}, s = {0};
  put(&m, "\0asm\1\0\0\0", 8);
  s.len = 0; put_byte(&s, 1); put_byte(&s, 0x60); put_byte(&s, 0); put_byte(&s, 0); put_section(&m, 1, &s);
  s.len = 0; put_byte(&s, 1); put_byte(&s, 0); put_section(&m, 3, &s);
  uint64_t pages = (data_bytes + 65535) / 65536 + 1;
  s.len = 0; put_byte(&s, 1); put_byte(&s, 0); put_leb(&s, pages); put_section(&m, 5, &s);
  s.len = 0; put_byte(&s, 2); put_byte(&s, 4); put(&s, "noop", 4); put_byte(&s, 0); put_byte(&s, 0);
  put_byte(&s, 3); put(&s, "mem", 3); put_byte(&s, 2); put_byte(&s, 0);
  put_section(&m, 7, &s);
  s.len = 0; put_byte(&s, 1); put_byte(&s, 2); put_byte(&s, 0); put_byte(&s, 0x0B); put_section(&m, 10, &s);
  s.len = 0; put_byte(&s, 1); put_byte(&s, 0); put_byte(&s, 0x41); put_byte(&s, 0); put_byte(&s, 0x0B);
  put_leb(&s, data_bytes);
  for (size_t i = 0; i < data_bytes; i++) put_byte(&s, (uint8_t)(i * 31 + 7));
  put_section(&m, 11, &s);
  free(s.p);
  return m;
}

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static void report(const char *what, size_t data, double *t, int n) {
  qsort(t, (size_t)n, sizeof *t, cmp_double);
  double sum = 0;
  for (int i = 0; i < n; i++) sum += t[i];
  printf("| %s | %zu KiB | %.2f | %.2f | %.2f |\n", what, data / 1024, t[n / 2], t[(int)(n * 0.99)], sum / n);
}

static long rss_kib(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  long pages = 0, resident = 0;
  if (f) {
    if (fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    fclose(f);
  }
  return resident * 4;
}

/* Resident memory of idle pooled slots: SLOTS instances alive at once, each
 * writing one byte per 64 KiB of its memory (so every slot has private pages
 * while live), then all released. Prints KiB per slot while live and idle. */
#define IDLE_SLOTS 32
static void idle_slots(wisp_engine_t *engine, const wisp_snapshot_t *snap, size_t data) {
  wisp_pool_t *pool = wisp_pool_new(IDLE_SLOTS);
  wisp_store_t *stores[IDLE_SLOTS];
  wisp_error_t err;
  long before = rss_kib();
  for (int round = 0; round < 2; round++) { /* round 0 maps the slots; round 1 is measured */
    if (round == 1) before = rss_kib();
    for (int i = 0; i < IDLE_SLOTS; i++) {
      stores[i] = wisp_store_new(engine);
      wisp_store_set_pool(stores[i], pool);
      wisp_instance_t *ri;
      if (wisp_instance_from_snapshot(stores[i], snap, NULL, 0, &ri, &err) != 0) exit(1);
      wisp_extern_t mem;
      for (uint32_t k = 0; k < 2; k++) {
        wisp_instance_export_at(ri, k, &mem);
        if (mem.kind != WISP_EXTERN_MEMORY) continue;
        uint8_t *base = wisp_memory_data(mem.of.memory);
        for (uint64_t off = 0; off < wisp_memory_size(mem.of.memory); off += 65536) base[off] ^= 1;
      }
    }
    long live = rss_kib();
    for (int i = 0; i < IDLE_SLOTS; i++) wisp_store_delete(stores[i]);
    if (round == 1)
      printf("| idle slot resident memory | %zu KiB | live %.1f KiB/slot | idle %.1f KiB/slot | |\n", data / 1024,
             (double)(live - before) / IDLE_SLOTS, (double)(rss_kib() - before) / IDLE_SLOTS);
  }
  wisp_pool_delete(pool);
}

static void bench(wisp_engine_t *engine, size_t data, int iters) {
  bytes_t bin = build_module(data);
  wisp_error_t err;
  wisp_module_t *module;
  if (wisp_module_new(engine, bin.p, bin.len, &module, &err) != 0) {
    fprintf(stderr, "module: %s\n", err.message);
    exit(1);
  }
  wisp_store_t *init_store = wisp_store_new(engine);
  wisp_instance_t *inst;
  wisp_trap_t *trap;
  if (wisp_instance_new(init_store, NULL, module, NULL, 0, &inst, &trap, &err) != 0) exit(1);
  wisp_snapshot_t *snap;
  if (wisp_snapshot_new(inst, &snap, &err) != 0) {
    fprintf(stderr, "snapshot: %s\n", err.message);
    exit(1);
  }
  wisp_store_delete(init_store);

  idle_slots(engine, snap, data);
  wisp_pool_t *pool = wisp_pool_new(4);
  wisp_exec_t *exec = wisp_exec_new(NULL, NULL);
  double *t = malloc(sizeof(double) * (size_t)iters);
  long rss_before = 0;
  for (int pass = 0; pass < 2; pass++) { /* pass 0 warms up */
    for (int i = 0; i < iters; i++) {
      double t0 = now_us();
      wisp_store_t *store = wisp_store_new(engine);
      wisp_store_set_pool(store, pool);
      wisp_instance_t *ri;
      if (wisp_instance_from_snapshot(store, snap, NULL, 0, &ri, &err) != 0) exit(1);
      wisp_extern_t noop;
      wisp_instance_export_at(ri, 0, &noop);
      wisp_exec_set_store(exec, store);
      if (wisp_exec_call(exec, noop.of.func, NULL, 0, NULL, 0) != WISP_DONE) exit(1);
      wisp_store_delete(store);
      t[i] = now_us() - t0;
    }
    if (pass == 0) rss_before = rss_kib();
  }
  report("snapshot + pooled slot", data, t, iters);
  long rss_after = rss_kib();
  int full_iters = data > (1 << 20) ? iters / 20 : iters;
  for (int i = 0; i < full_iters; i++) {
    double t0 = now_us();
    wisp_store_t *store = wisp_store_new(engine);
    wisp_instance_t *ri;
    if (wisp_instance_new(store, exec, module, NULL, 0, &ri, &trap, &err) != 0) exit(1);
    wisp_extern_t noop;
    wisp_instance_export_at(ri, 0, &noop);
    wisp_exec_set_store(exec, store);
    if (wisp_exec_call(exec, noop.of.func, NULL, 0, NULL, 0) != WISP_DONE) exit(1);
    wisp_store_delete(store);
    t[i] = now_us() - t0;
  }
  report("full instantiate", data, t, full_iters);
  fprintf(stderr, "  resident memory change over %d pooled requests after warm-up: %+ld KiB\n", iters,
          rss_after - rss_before);
  free(t);
  wisp_exec_delete(exec);
  wisp_pool_delete(pool);
  wisp_snapshot_delete(snap);
  wisp_module_delete(module);
  free(bin.p);
}

int main(int argc, char **argv) {
  int iters = argc > 1 ? atoi(argv[1]) : 20000;
  wisp_engine_t *engine = wisp_engine_new();
  printf("| path | initialised data | p50 us | p99 us | mean us |\n|---|---:|---:|---:|---:|\n");
  bench(engine, 64 * 1024, iters);
  bench(engine, 16 * 1024 * 1024, iters);
  wisp_engine_delete(engine);
  return 0;
}
