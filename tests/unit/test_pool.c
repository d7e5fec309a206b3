/*
 * test_pool.c: pooled memory slots of a configured size. A slot's size is
 * respected (reservation, explicit bounds, guard page), a memory whose
 * maximum does not fit falls back to an ordinary reservation, so does one
 * that finds every slot taken, and memory.grow in a pooled instance stops at
 * what fits: no access ever lands outside the instance's own memory.
 * Module: wat/pool.wat (one page, no maximum).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wisp.h"
#include "wat/pool_wasm.h"

static int passed, failed;
#define CHECK(cond)                                                            \
  do {                                                                         \
    if (cond) passed++;                                                        \
    else {                                                                     \
      failed++;                                                                \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
    }                                                                          \
  } while (0)

#define KIB 1024ull
#define TRAPPED ((int64_t)-0x100000000ll) /* below any i32 result */

static wisp_engine_t *engine;
static wisp_module_t *module;
static wisp_snapshot_t *snap;

/* One request: a store (with a memory limit and maybe a pool), an instance
 * from the snapshot, an exec. */
typedef struct req {
  wisp_store_t *store;
  wisp_instance_t *inst;
  wisp_exec_t *exec;
} req_t;

static req_t req_new(wisp_pool_t *pool, uint64_t limit) {
  req_t r = {wisp_store_new(engine), NULL, NULL};
  wisp_store_limits_t limits = {.max_memory_bytes = limit};
  wisp_store_set_limits(r.store, &limits);
  if (pool) wisp_store_set_pool(r.store, pool);
  wisp_error_t err;
  CHECK(wisp_instance_from_snapshot(r.store, snap, NULL, 0, &r.inst, &err) == 0);
  r.exec = wisp_exec_new(r.store, NULL);
  return r;
}

static void req_delete(req_t r) {
  wisp_exec_delete(r.exec);
  wisp_store_delete(r.store);
}

/* Calls an export with up to two i32 arguments: its i32 result (0 if none),
 * or TRAPPED if it trapped with an out-of-bounds access. */
static int64_t call(req_t *r, const char *name, int nargs, uint32_t a, uint32_t b) {
  if (!r->inst) return TRAPPED - 1;
  wisp_extern_t ext = {0};
  wisp_instance_export(r->inst, name, strlen(name), &ext);
  wisp_val_t args[2] = {{.kind = WISP_I32, .of.i32 = (int32_t)a}, {.kind = WISP_I32, .of.i32 = (int32_t)b}};
  wisp_val_t res = {0};
  size_t nres = wisp_func_type(ext.of.func)->nresults;
  wisp_status_t st = wisp_exec_call(r->exec, ext.of.func, args, (size_t)nargs, &res, nres);
  if (st == WISP_DONE) return nres ? res.of.i32 : 0;
  wisp_trap_t *t = wisp_exec_take_trap(r->exec);
  bool oob = t && wisp_trap_kind(t) == WISP_TRAP_MEMORY_OOB;
  wisp_trap_delete(t);
  return oob ? TRAPPED : TRAPPED - 1;
}

static void test_slot_size(void) {
  CHECK(wisp_pool_slot_bytes(0) == 8ull << 30);
  CHECK(wisp_pool_slot_bytes(1) == 64 * KIB);
  CHECK(wisp_pool_slot_bytes(64 * KIB + 1) == 128 * KIB);
  CHECK(wisp_pool_slot_bytes(256 * KIB) == 256 * KIB);
  CHECK(wisp_pool_slot_bytes(100ull << 30) == 8ull << 30);
  wisp_pool_t *pool = wisp_pool_new_sized(2, 200 * KIB);
  wisp_pool_stats_t st;
  wisp_pool_stats(pool, &st);
  CHECK(st.slots == 2 && st.in_use == 0 && st.slot_bytes == 256 * KIB && st.reserve_bytes == 320 * KIB);
  wisp_pool_delete(pool);
  pool = wisp_pool_new(3);
  wisp_pool_stats(pool, &st);
  CHECK(st.slots == 3 && st.slot_bytes == 8ull << 30 && st.reserve_bytes == (8ull << 30) + 64 * KIB);
  wisp_pool_delete(pool);
}

/* A memory that may grow to exactly the slot (limit 256 KiB, slot 256 KiB):
 * pooled; grows to the slot and no further; every access at or beyond its
 * size traps, whether caught by the explicit bound or by the guard page. */
static void test_fits(void) {
  wisp_pool_t *pool = wisp_pool_new_sized(1, 256 * KIB);
  for (int round = 0; round < 2; round++) { /* the second reuses the slot */
    req_t r = req_new(pool, 256 * KIB);
    wisp_pool_stats_t st;
    wisp_pool_stats(pool, &st);
    CHECK(st.in_use == 1 && st.pooled == (uint64_t)round + 1 && st.fallback_fit == 0);
    CHECK(wisp_store_pool_fallbacks(r.store) == 0);
    CHECK(call(&r, "get", 1, 16, 0) == 42);
    CHECK(call(&r, "get", 1, 65536, 0) == TRAPPED);       /* beyond size, inside the slot: guard fault */
    CHECK(call(&r, "get", 1, 65534, 0) == TRAPPED);       /* straddling the end */
    CHECK(call(&r, "grow", 1, 3, 0) == 1);                 /* to 4 pages = the slot */
    CHECK(call(&r, "grow", 1, 1, 0) == -1);                /* beyond the slot: refused like any limit */
    CHECK(call(&r, "size", 0, 0, 0) == 4);
    CHECK(call(&r, "put", 2, 256 * KIB - 4, 7) == 0);     /* the last word */
    CHECK(call(&r, "get", 1, 256 * KIB - 4, 0) == 7);
    CHECK(call(&r, "put", 2, 256 * KIB - 2, 7) == TRAPPED); /* ends in the guard page */
    CHECK(call(&r, "put", 2, 256 * KIB, 7) == TRAPPED);     /* explicit bound */
    CHECK(call(&r, "put", 2, 0x7FFFFFF0u, 7) == TRAPPED);   /* far beyond the slot */
    CHECK(call(&r, "put", 2, 0xFFFFFFFCu, 7) == TRAPPED);
    CHECK(call(&r, "put_far", 2, 0xFFFFFFFFu, 7) == TRAPPED); /* the largest effective address */
    CHECK(call(&r, "get_far", 1, 0x10, 0) == TRAPPED);
    CHECK(call(&r, "fill", 1, 0x5EC2E7, 0) == 0);
    CHECK(call(&r, "scan", 1, 0x5EC2E7, 0) == 65536);
    req_delete(r);
  }
  /* the next request in the slot sees the snapshot again, not the last one's writes */
  req_t r = req_new(pool, 256 * KIB);
  CHECK(call(&r, "size", 0, 0, 0) == 1);
  CHECK(call(&r, "get", 1, 16, 0) == 42);
  CHECK(call(&r, "grow", 1, 3, 0) == 1);
  CHECK(call(&r, "scan", 1, 0x5EC2E7, 0) == 0);
  req_delete(r);
  wisp_pool_delete(pool);
}

/* Two small slots in use at once: filling one memory to its end and poking
 * beyond it never changes the other. */
static void test_neighbours(void) {
  wisp_pool_t *pool = wisp_pool_new_sized(2, 128 * KIB);
  req_t a = req_new(pool, 128 * KIB), b = req_new(pool, 128 * KIB);
  wisp_pool_stats_t st;
  wisp_pool_stats(pool, &st);
  CHECK(st.in_use == 2 && st.pooled == 2);
  CHECK(call(&a, "grow", 1, 1, 0) == 1 && call(&b, "grow", 1, 1, 0) == 1);
  CHECK(call(&b, "fill", 1, 0xB0B0B0B0u, 0) == 0);
  CHECK(call(&a, "fill", 1, 0xA0A0A0A0u, 0) == 0);
  for (uint32_t addr = 128 * KIB; addr < 128 * KIB + 256 * KIB; addr += 4096) CHECK(call(&a, "put", 2, addr, 1) == TRAPPED);
  CHECK(call(&b, "scan", 1, 0xB0B0B0B0u, 0) == 32768);
  CHECK(call(&a, "scan", 1, 0xA0A0A0A0u, 0) == 32768);
  req_delete(a);
  req_delete(b);
  wisp_pool_delete(pool);
}

/* A memory whose maximum exceeds the slot (limit 1 MiB or none, slot 256
 * KiB) falls back to an ordinary reservation and behaves as unpooled: it
 * grows past the slot size. */
static void test_fallback_fit(void) {
  wisp_pool_t *pool = wisp_pool_new_sized(1, 256 * KIB);
  uint64_t limits[2] = {1024 * KIB, 0};
  for (int i = 0; i < 2; i++) {
    req_t r = req_new(pool, limits[i]);
    wisp_pool_stats_t st;
    wisp_pool_stats(pool, &st);
    CHECK(st.in_use == 0 && st.pooled == 0 && st.fallback_fit == (uint64_t)i + 1);
    CHECK(wisp_store_pool_fallbacks(r.store) == WISP_POOL_FALLBACK_FIT);
    CHECK(call(&r, "get", 1, 16, 0) == 42);
    CHECK(call(&r, "grow", 1, 15, 0) == 1); /* 16 pages = 1 MiB */
    CHECK(call(&r, "put", 2, 1024 * KIB - 4, 9) == 0);
    CHECK(call(&r, "get", 1, 1024 * KIB - 4, 0) == 9);
    CHECK(call(&r, "get", 1, 1024 * KIB, 0) == TRAPPED);
    CHECK(call(&r, "get_far", 1, 0xFFFFFFFFu, 0) == TRAPPED);
    CHECK(call(&r, "grow", 1, 1, 0) == (limits[i] ? -1 : 16));
    req_delete(r);
  }
  wisp_pool_delete(pool);
}

/* Every slot taken: the next instance gets an ordinary reservation at once
 * (no waiting) and works; once a slot is free again it is used. */
static void test_fallback_busy(void) {
  wisp_pool_t *pool = wisp_pool_new_sized(1, 256 * KIB);
  req_t a = req_new(pool, 256 * KIB);
  req_t b = req_new(pool, 256 * KIB);
  wisp_pool_stats_t st;
  wisp_pool_stats(pool, &st);
  CHECK(st.in_use == 1 && st.pooled == 1 && st.fallback_busy == 1);
  CHECK(wisp_store_pool_fallbacks(a.store) == 0 && wisp_store_pool_fallbacks(b.store) == WISP_POOL_FALLBACK_BUSY);
  CHECK(call(&b, "put", 2, 100, 5) == 0 && call(&b, "get", 1, 100, 0) == 5);
  CHECK(call(&a, "get", 1, 100, 0) == 0);
  CHECK(call(&b, "grow", 1, 3, 0) == 1 && call(&b, "grow", 1, 1, 0) == -1); /* the store limit still holds */
  req_delete(a);
  req_delete(b);
  req_t c = req_new(pool, 256 * KIB);
  wisp_pool_stats(pool, &st);
  CHECK(st.in_use == 1 && st.pooled == 2 && st.fallback_busy == 1);
  CHECK(wisp_store_pool_fallbacks(c.store) == 0);
  CHECK(call(&c, "get", 1, 100, 0) == 0);
  req_delete(c);
  wisp_pool_stats(pool, &st);
  CHECK(st.in_use == 0);
  wisp_pool_delete(pool);
}

/* The default full-size slot holds any memory, whatever its maximum. */
static void test_full_slot(void) {
  wisp_pool_t *pool = wisp_pool_new(1);
  req_t r = req_new(pool, 0);
  CHECK(wisp_store_pool_fallbacks(r.store) == 0);
  CHECK(call(&r, "grow", 1, 20, 0) == 1);
  CHECK(call(&r, "put", 2, 21 * 65536 - 4, 3) == 0 && call(&r, "get", 1, 21 * 65536 - 4, 0) == 3);
  CHECK(call(&r, "get_far", 1, 0xFFFFFFFFu, 0) == TRAPPED);
  req_delete(r);
  wisp_pool_delete(pool);
}

int main(void) {
  engine = wisp_engine_new();
  wisp_error_t err;
  if (wisp_module_new(engine, pool_wasm, pool_wasm_len, &module, &err) != 0) {
    fprintf(stderr, "module: %s\n", err.message);
    return 1;
  }
  wisp_store_t *store = wisp_store_new(engine);
  wisp_instance_t *inst = NULL;
  wisp_trap_t *trap = NULL;
  CHECK(wisp_instance_new(store, NULL, module, NULL, 0, &inst, &trap, &err) == 0);
  CHECK(inst && wisp_snapshot_new(inst, &snap, &err) == 0);
  wisp_store_delete(store);
  if (snap) {
    test_slot_size();
    test_fits();
    test_neighbours();
    test_fallback_fit();
    test_fallback_busy();
    test_full_slot();
    wisp_snapshot_delete(snap);
  }
  wisp_module_delete(module);
  wisp_engine_delete(engine);
  printf("%d passed, %d failed\n", passed, failed);
  return failed != 0;
}
