/*
 * test_snapshot.c: snapshots restore exactly what the initialisation left
 * (memory, globals, tables, segment state); a pooled slot shows a request
 * nothing of the previous request; a corrupted snapshot file is refused and
 * can be rebuilt. Module: wat/snapshot.wat.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wisp.h"
#include "wat/snapimport_wasm.h"
#include "wat/snapshot_wasm.h"

static int passed, failed;
#define CHECK(cond)                                                            \
  do {                                                                         \
    if (cond) passed++;                                                        \
    else {                                                                     \
      failed++;                                                                \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
    }                                                                          \
  } while (0)

static wisp_engine_t *engine;
static wisp_module_t *module;
#define SECRET 0x5EC2E7AA

static wisp_extern_t export_of(wisp_instance_t *inst, const char *name) {
  wisp_extern_t ext = {0};
  wisp_instance_export(inst, name, strlen(name), &ext);
  return ext;
}

static int32_t call_i32(wisp_exec_t *exec, wisp_instance_t *inst, const char *name, int nargs, int32_t a, int32_t b) {
  wisp_val_t args[2] = {{.kind = WISP_I32, .of.i32 = a}, {.kind = WISP_I32, .of.i32 = b}};
  wisp_val_t r = {0};
  wisp_func_t *f = export_of(inst, name).of.func;
  size_t nres = wisp_func_type(f)->nresults;
  wisp_status_t st = wisp_exec_call(exec, f, args, (size_t)nargs, &r, nres);
  if (st != WISP_DONE) {
    wisp_trap_t *t = wisp_exec_take_trap(exec);
    fprintf(stderr, "%s: status %d %s\n", name, st, t ? wisp_trap_message(t) : "");
    wisp_trap_delete(t);
    return INT32_MIN;
  }
  return r.of.i32;
}

static wisp_instance_t *fresh_instance(wisp_store_t *store) {
  wisp_instance_t *inst = NULL;
  wisp_trap_t *trap = NULL;
  wisp_error_t err;
  int rc = wisp_instance_new(store, NULL, module, NULL, 0, &inst, &trap, &err);
  CHECK(rc == 0);
  return inst;
}

static wisp_instance_t *from_snapshot(wisp_store_t *store, wisp_snapshot_t *snap) {
  wisp_instance_t *inst = NULL;
  wisp_error_t err;
  int rc = wisp_instance_from_snapshot(store, snap, NULL, 0, &inst, &err);
  if (rc) fprintf(stderr, "from snapshot: %s\n", err.message);
  CHECK(rc == 0);
  return inst;
}

/* The snapshot instance equals a fresh one after the same initialisation. */
static void test_exact_restore(wisp_snapshot_t *snap) {
  wisp_store_t *s1 = wisp_store_new(engine), *s2 = wisp_store_new(engine);
  wisp_instance_t *fresh = fresh_instance(s1), *restored = from_snapshot(s2, snap);
  wisp_exec_t *e1 = wisp_exec_new(s1, NULL), *e2 = wisp_exec_new(s2, NULL);
  wisp_memory_t *m1 = export_of(fresh, "mem").of.memory, *m2 = export_of(restored, "mem").of.memory;
  CHECK(wisp_memory_size(m1) == 2 * 65536 && wisp_memory_size(m2) == wisp_memory_size(m1));
  CHECK(memcmp(wisp_memory_data(m1), wisp_memory_data(m2), wisp_memory_size(m1)) == 0);
  wisp_val_t g1, g2;
  wisp_global_get(export_of(fresh, "counter").of.global, &g1);
  wisp_global_get(export_of(restored, "counter").of.global, &g2);
  CHECK(g1.of.i32 == 42 && g2.of.i32 == 42);
  for (int slot = 0; slot < 3; slot++)
    CHECK(call_i32(e1, fresh, "call_slot", 1, slot, 0) == call_i32(e2, restored, "call_slot", 1, slot, 0));
  CHECK(call_i32(e2, restored, "call_slot", 1, 2, 0) == 3);
  CHECK(call_i32(e2, restored, "call_fref", 0, 0, 0) == 1); /* a funcref global survives */
  CHECK(call_i32(e2, restored, "get", 1, 70000, 0) == 0xABCD);
  CHECK(call_i32(e2, restored, "get", 1, 1024 + 4 * 7999, 0) == 7999 * 7 + 1);
  CHECK(call_i32(e2, restored, "bump", 0, 0, 0) == 43);
  wisp_exec_delete(e1);
  wisp_exec_delete(e2);
  wisp_store_delete(s1);
  wisp_store_delete(s2);
}

/* Requests in one pooled slot, one after the other: the second sees nothing
 * the first wrote, including in pages it grew. */
static void test_no_leak_between_requests(wisp_snapshot_t *snap) {
  wisp_pool_t *pool = wisp_pool_new(1);
  for (int round = 0; round < 50; round++) {
    wisp_store_t *store = wisp_store_new(engine);
    wisp_store_set_pool(store, pool);
    wisp_instance_t *inst = from_snapshot(store, snap);
    wisp_exec_t *exec = wisp_exec_new(store, NULL);
    /* nothing of the previous round is visible */
    CHECK(call_i32(exec, inst, "scan", 1, SECRET, 0) == 0);
    CHECK(call_i32(exec, inst, "size", 0, 0, 0) == 2);
    CHECK(call_i32(exec, inst, "bump", 0, 0, 0) == 43);
    CHECK(call_i32(exec, inst, "get", 1, 1024 + 4 * 5, 0) == 36);
    /* write secrets: over initialised data, in a zero page, in grown pages */
    call_i32(exec, inst, "put", 2, 1024 + 4 * 5, SECRET);
    call_i32(exec, inst, "put", 2, 65536 + 8, SECRET);
    CHECK(call_i32(exec, inst, "grow", 1, 3, 0) == 2);
    call_i32(exec, inst, "put", 2, 3 * 65536 + 12, SECRET);
    CHECK(call_i32(exec, inst, "scan", 1, SECRET, 0) == 3);
    wisp_exec_delete(exec);
    wisp_store_delete(store);
  }
  wisp_pool_delete(pool);
}

static void test_files(wisp_snapshot_t *snap) {
  char path[] = "/tmp/wisp-snapshot-test-XXXXXX";
  int fd = mkstemp(path);
  CHECK(fd >= 0);
  close(fd);
  wisp_error_t err;
  CHECK(wisp_snapshot_save(snap, path, &err) == 0);
  wisp_snapshot_t *loaded = NULL;
  CHECK(wisp_snapshot_load(module, path, &loaded, &err) == 0);
  if (loaded) {
    test_exact_restore(loaded);
    wisp_snapshot_delete(loaded);
  }
  /* flip one byte anywhere: detected by the checksum */
  FILE *f = fopen(path, "r+b");
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  long positions[] = {9, 40, size / 2, size - 20, size - 1};
  for (size_t i = 0; i < sizeof positions / sizeof positions[0]; i++) {
    fseek(f, positions[i], SEEK_SET);
    int c = fgetc(f);
    fseek(f, positions[i], SEEK_SET);
    fputc(c ^ 0x20, f);
    fflush(f);
    loaded = NULL;
    int rc = wisp_snapshot_load(module, path, &loaded, &err);
    CHECK(rc == WISP_ERR_MALFORMED && loaded == NULL);
    CHECK(strstr(err.message, "checksum") || strstr(err.message, "magic"));
    fseek(f, positions[i], SEEK_SET);
    fputc(c, f);
    fflush(f);
  }
  fclose(f);
  /* truncated */
  CHECK(truncate(path, size - 100) == 0);
  CHECK(wisp_snapshot_load(module, path, &loaded, &err) == WISP_ERR_MALFORMED);
  /* rebuilt after a refusal, and a snapshot of another module is refused */
  CHECK(wisp_snapshot_save(snap, path, &err) == 0);
  wisp_module_t *other = NULL;
  static const uint8_t empty[] = {0, 'a', 's', 'm', 1, 0, 0, 0};
  CHECK(wisp_module_new(engine, empty, sizeof empty, &other, &err) == 0);
  CHECK(wisp_snapshot_load(other, path, &loaded, &err) == WISP_ERR_MALFORMED && strstr(err.message, "different module"));
  wisp_module_delete(other);
  CHECK(wisp_snapshot_load(module, path, &loaded, &err) == 0);
  wisp_snapshot_delete(loaded);
  unlink(path);
}

static wisp_host_status_t host_add(wisp_call_t *call, void *env, const wisp_val_t *args, wisp_val_t *results) {
  results[0].of.i32 = args[0].of.i32 + (int32_t)(intptr_t)env;
  return WISP_HOST_OK;
}

static wisp_linker_t *linker_with_add(wisp_store_t *store, intptr_t addend) {
  wisp_linker_t *l = wisp_linker_new(store);
  uint8_t i32 = WISP_I32;
  wisp_functype_t ty = {1, 1, &i32, &i32};
  wisp_linker_define_func(l, "host", "add", &ty, host_add, (void *)addend);
  return l;
}

/* Imports are resolved anew for each instance made from the snapshot, also
 * where the snapshot's table refers to them. */
static void test_imports_relinked(void) {
  wisp_module_t *m = NULL;
  wisp_error_t err;
  CHECK(wisp_module_new(engine, snapimport_wasm, snapimport_wasm_len, &m, &err) == 0);
  if (!m) return;
  wisp_store_t *s0 = wisp_store_new(engine);
  wisp_linker_t *l0 = linker_with_add(s0, 1);
  wisp_instance_t *i0 = NULL;
  wisp_trap_t *trap = NULL;
  CHECK(wisp_linker_instantiate(l0, NULL, m, &i0, &trap, &err) == 0);
  wisp_snapshot_t *snap = NULL;
  CHECK(i0 && wisp_snapshot_new(i0, &snap, &err) == 0);
  CHECK(snap && wisp_snapshot_module(snap) == m);
  wisp_linker_delete(l0);
  wisp_store_delete(s0);
  for (intptr_t addend = 100; snap && addend <= 300; addend += 100) {
    wisp_store_t *s = wisp_store_new(engine);
    wisp_linker_t *l = linker_with_add(s, addend);
    wisp_instance_t *inst = NULL;
    CHECK(wisp_linker_instantiate_snapshot(l, snap, &inst, &err) == 0);
    wisp_exec_t *exec = wisp_exec_new(s, NULL);
    CHECK(inst && call_i32(exec, inst, "direct", 1, 5, 0) == 5 + addend);
    CHECK(inst && call_i32(exec, inst, "indirect", 2, 5, 0) == 5 + addend);
    CHECK(inst && call_i32(exec, inst, "indirect", 2, 5, 1) == 5 + 42);
    wisp_exec_delete(exec);
    wisp_linker_delete(l);
    wisp_store_delete(s);
  }
  /* a linker without the import refuses, naming it */
  wisp_store_t *s = wisp_store_new(engine);
  wisp_linker_t *empty = wisp_linker_new(s);
  wisp_instance_t *inst = NULL;
  CHECK(snap && wisp_linker_instantiate_snapshot(empty, snap, &inst, &err) == WISP_ERR_LINK &&
        strstr(err.message, "\"host\" \"add\""));
  wisp_linker_delete(empty);
  wisp_store_delete(s);
  wisp_snapshot_delete(snap);
  wisp_module_delete(m);
}

int main(void) {
  engine = wisp_engine_new();
  wisp_error_t err;
  if (wisp_module_new(engine, snapshot_wasm, snapshot_wasm_len, &module, &err) != 0) {
    fprintf(stderr, "module: %s\n", err.message);
    return 1;
  }
  wisp_store_t *store = wisp_store_new(engine);
  wisp_instance_t *inst = fresh_instance(store);
  wisp_snapshot_t *snap = NULL;
  CHECK(inst && wisp_snapshot_new(inst, &snap, &err) == 0);
  wisp_store_delete(store);
  if (snap) {
    CHECK(wisp_snapshot_memory_size(snap) == 2 * 65536);
    test_exact_restore(snap);
    test_no_leak_between_requests(snap);
    test_files(snap);
    test_imports_relinked();
    wisp_snapshot_delete(snap);
  }
  wisp_module_delete(module);
  wisp_engine_delete(engine);
  printf("%d passed, %d failed\n", passed, failed);
  return failed != 0;
}
