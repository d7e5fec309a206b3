/*
 * component_bench.c: the cost of a fresh component instance per request.
 *
 * For a component (by default tests/component/guests/calc.c's, built by the
 * test build: a main module, a shim and a fixup module; 3 core instances),
 * measures per iteration: new store -> component instance -> call `add(1, 2)`
 * -> instance and store deleted, two ways:
 *   snapshot  wisp__cinst_from_csnap into a store using a pool (every core
 *             instance from its snapshot, memory copy-on-write)
 *   full      wisp__cinst_new (every core instance instantiated, segments
 *             copied, the fixup's element segment applied) every time
 * and prints p50/p99/mean in microseconds.
 *
 * usage: component_bench CALC.component.wasm [ITERATIONS]
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "component/csnap.h"

static int host_log(void *env, wisp__cabi_t *cx, const wisp__cval_t *args, uint32_t nargs, wisp__cval_t *results,
                    uint32_t nresults) {
  (void)env; (void)cx; (void)args; (void)nargs; (void)results; (void)nresults;
  return 0;
}

static int host_area(void *env, wisp__cabi_t *cx, const wisp__cval_t *args, uint32_t nargs, wisp__cval_t *results,
                     uint32_t nresults) {
  (void)env; (void)cx; (void)args; (void)nargs;
  if (nresults == 1) results[0].of.u = 0;
  return 0;
}

static const wisp__chost_func_t host[] = {
    {NULL, "log", host_log, NULL},
    {"wisp:tests/shapes", "area", host_area, NULL},
};

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static void report(const char *what, double *t, int n) {
  qsort(t, (size_t)n, sizeof *t, cmp_double);
  double sum = 0;
  for (int i = 0; i < n; i++) sum += t[i];
  printf("| %s | %.2f | %.2f | %.2f |\n", what, t[n / 2], t[(int)(n * 0.99)], sum / n);
}

/* One request: instance (from snap, or fresh), add(1, 2), release. */
static void request(wisp_engine_t *engine, const wisp_component_t *c, const wisp__csnap_t *snap, wisp_pool_t *pool,
                    wisp_exec_t *exec) {
  wisp_store_t *store = wisp_store_new(engine);
  if (pool) wisp_store_set_pool(store, pool);
  wisp_exec_set_store(exec, store);
  wisp_error_t err;
  wisp__cinst_t *inst = NULL;
  int rc = snap ? wisp__cinst_from_csnap(snap, store, exec, host, 2, &inst, &err)
                : wisp__cinst_new(c, store, exec, host, 2, &inst, &err);
  if (rc) {
    fprintf(stderr, "instantiate: %s\n", err.message);
    exit(1);
  }
  wisp__cfunc_t *add = wisp__cinst_func(inst, NULL, "add");
  const wisp__ctype_t *ft = add ? wisp__ctype(c, wisp__cfunc_type(add)) : NULL;
  if (!ft) exit(1);
  wisp__cval_t args[2] = {{.type = ft->fields[0].type}, {.type = ft->fields[1].type}};
  wisp__cval_t res = {.type = ft->results[0].type};
  args[0].of.s = 1;
  args[1].of.s = 2;
  wisp__arena_t arena;
  wisp__arena_init(&arena);
  char trap[200];
  if (wisp__cinst_call(inst, add, args, 2, &res, 1, &arena, trap, sizeof trap) || res.of.s != 3) {
    fprintf(stderr, "add: %s\n", trap);
    exit(1);
  }
  wisp__arena_free(&arena);
  wisp__cinst_delete(inst);
  wisp_store_delete(store);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: component_bench CALC.component.wasm [ITERATIONS]\n");
    return 2;
  }
  int iters = argc > 2 ? atoi(argv[2]) : 20000;
  FILE *f = fopen(argv[1], "rb");
  if (!f) {
    perror(argv[1]);
    return 1;
  }
  static uint8_t bytes[1 << 22];
  size_t len = fread(bytes, 1, sizeof bytes, f);
  fclose(f);
  wisp_engine_t *engine = wisp_engine_new();
  wisp_error_t err;
  wisp_component_t *c = NULL;
  if (wisp_component_new(engine, bytes, len, &c, &err)) {
    fprintf(stderr, "%s: %s\n", argv[1], err.message);
    return 1;
  }
  wisp_store_t *init_store = wisp_store_new(engine);
  wisp_exec_t *exec = wisp_exec_new(init_store, NULL);
  wisp__cinst_t *inst = NULL;
  wisp__csnap_t *snap = NULL;
  if (wisp__cinst_new(c, init_store, exec, host, 2, &inst, &err) || wisp__csnap_new(inst, &snap, &err)) {
    fprintf(stderr, "snapshot: %s\n", err.message);
    return 1;
  }
  printf("component %s: %u core instances\n\n", argv[1], wisp__cinst_core_count(inst));
  wisp__cinst_delete(inst);
  wisp_store_delete(init_store);
  wisp_pool_t *pool = wisp_pool_new(4);
  double *t = malloc(sizeof(double) * (size_t)iters);
  printf("| path | p50 us | p99 us | mean us |\n|---|---:|---:|---:|\n");
  for (int way = 0; way < 2; way++) {
    for (int pass = 0; pass < 2; pass++) /* pass 0 warms up */
      for (int i = 0; i < iters; i++) {
        double t0 = now_us();
        request(engine, c, way == 0 ? snap : NULL, way == 0 ? pool : NULL, exec);
        t[i] = now_us() - t0;
      }
    report(way == 0 ? "component from snapshot + pooled slots" : "component full instantiate", t, iters);
  }
  free(t);
  wisp_exec_delete(exec);
  wisp_pool_delete(pool);
  wisp__csnap_delete(snap);
  wisp_component_delete(c);
  wisp_engine_delete(engine);
  return 0;
}
