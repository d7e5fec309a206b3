/*
 * test_wasi_shared.c: the per-request path a server uses. WASI functions are
 * defined once (wisp_wasi_define_shared) in a long-lived store, a module's
 * imports are resolved once (wisp_linker_resolve), and each request only
 * makes a store, attaches its own WASI state and instantiates from a
 * snapshot. Each request's output must reach that request's stdout only.
 */
#include <stdio.h>
#include <string.h>

#include "wisp.h"
#include "wisp_wasi.h"
#include "wat/wasihi_wasm.h"

static int passed, failed;
#define CHECK(cond)                                                            \
  do {                                                                         \
    if (cond) passed++;                                                        \
    else {                                                                     \
      failed++;                                                                \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
    }                                                                          \
  } while (0)

typedef struct outbuf {
  char data[64];
  size_t len;
} outbuf_t;

static int64_t capture(void *ctx, const uint8_t *buf, size_t len) {
  outbuf_t *o = ctx;
  if (o->len + len > sizeof o->data) return -8; /* EBADF-ish: the test's buffer is small */
  memcpy(o->data + o->len, buf, len);
  o->len += len;
  return (int64_t)len;
}

int main(void) {
  wisp_engine_t *engine = wisp_engine_new();
  wisp_error_t err;
  wisp_module_t *module = NULL;
  CHECK(wisp_module_new(engine, wasihi_wasm, wasihi_wasm_len, &module, &err) == 0);
  if (!module) return 1;

  /* once per thread: host functions and the resolved imports */
  wisp_store_t *host_store = wisp_store_new(engine);
  wisp_linker_t *linker = wisp_linker_new(host_store);
  CHECK(wisp_wasi_define_shared(linker) == 0);
  wisp_extern_t imports[4];
  CHECK(wisp_module_import_count(module) == 1);
  CHECK(wisp_linker_resolve(linker, module, imports, &err) == 0);

  /* once per module: a snapshot of a fresh instance */
  wisp_store_t *init_store = wisp_store_new(engine);
  wisp_instance_t *inst = NULL;
  wisp_trap_t *trap = NULL;
  CHECK(wisp_instance_new(init_store, NULL, module, imports, 1, &inst, &trap, &err) == 0);
  wisp_snapshot_t *snap = NULL;
  CHECK(inst && wisp_snapshot_new(inst, &snap, &err) == 0);
  wisp_store_delete(init_store);

  wisp_pool_t *pool = wisp_pool_new(2);
  wisp_exec_t *exec = wisp_exec_new(NULL, NULL);
  for (int request = 0; snap && request < 20; request++) {
    outbuf_t out = {{0}, 0};
    wisp_wasi_config_t cfg;
    wisp_wasi_config_init(&cfg);
    cfg.stdio[1] = (wisp_wasi_stream_t){.host_fd = -1, .write = capture, .ctx = &out};
    wisp_wasi_t *wasi = NULL;
    CHECK(wisp_wasi_new(&cfg, &wasi, &err) == 0);
    wisp_store_t *store = wisp_store_new(engine);
    wisp_store_set_pool(store, pool);
    wisp_wasi_attach(wasi, store);
    wisp_instance_t *ri = NULL;
    CHECK(wisp_instance_from_snapshot(store, snap, imports, 1, &ri, &err) == 0);
    wisp_extern_t start;
    CHECK(ri && wisp_instance_export(ri, "_start", 6, &start) == 0);
    wisp_exec_set_store(exec, store);
    CHECK(ri && wisp_exec_call(exec, start.of.func, NULL, 0, NULL, 0) == WISP_DONE);
    CHECK(out.len == 3 && memcmp(out.data, "hi\n", 3) == 0);
    wisp_store_delete(store);
    wisp_wasi_delete(wasi);
  }

  /* a store with no WASI state attached: the call traps with a clear message */
  wisp_store_t *bare = wisp_store_new(engine);
  wisp_instance_t *bi = NULL;
  CHECK(snap && wisp_instance_from_snapshot(bare, snap, imports, 1, &bi, &err) == 0);
  wisp_extern_t start;
  if (bi && wisp_instance_export(bi, "_start", 6, &start) == 0) {
    wisp_exec_set_store(exec, bare);
    CHECK(wisp_exec_call(exec, start.of.func, NULL, 0, NULL, 0) == WISP_TRAPPED);
    trap = wisp_exec_take_trap(exec);
    CHECK(trap && strstr(wisp_trap_message(trap), "no WASI state"));
    wisp_trap_delete(trap);
  }
  wisp_store_delete(bare);

  wisp_exec_delete(exec);
  wisp_pool_delete(pool);
  wisp_snapshot_delete(snap);
  wisp_linker_delete(linker);
  wisp_store_delete(host_store);
  wisp_module_delete(module);
  wisp_engine_delete(engine);
  printf("%d passed, %d failed\n", passed, failed);
  return failed != 0;
}
