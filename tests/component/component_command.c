/*
 * component_command FILE [ARGS...]: runs a wasi:cli/command component (a C
 * program made a component with `jco new --wasi-command`) on a tiny test-only
 * WASI 0.2 host: arguments, stdout/stderr output streams (resources: handles
 * through the instance's table), terminals absent, no preopens, exit. Every
 * other import is a stub that traps naming itself. Prints what the guest writes;
 * exits with the guest's status. The real WASI 0.2 host comes later (docs/
 * component-model.md); this proves instantiation, resources and the canonical
 * ABI on a component produced by the standard toolchain.
 *
 * component_command --http FILE: calls a wasi:http/incoming-handler component's
 * `handle` once with a test-only wasi:http host (fields, outgoing response and
 * body, output stream, response-outparam.set) and prints "status: N" and the
 * body it wrote.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "component/cinst.h"

static int guest_argc;
static char **guest_argv;
static int exit_status = -1;

static int fail(wisp__cabi_t *cx, const char *msg) {
  snprintf(cx->trap, sizeof cx->trap, "%s", msg);
  return -1;
}

static const wisp__ctype_t *type_of(wisp__cabi_t *cx, uint32_t id) { return wisp__ctype(cx->component, id); }

static int get_arguments(void *env, wisp__cabi_t *cx, const wisp__cval_t *args, uint32_t nargs, wisp__cval_t *res,
                         uint32_t nres) {
  (void)env; (void)args; (void)nargs; (void)nres;
  uint32_t elem = type_of(cx, res[0].type)->a;
  wisp__cval_t *items = wisp__arena_alloc(cx->arena, sizeof *items * (size_t)(guest_argc + 1));
  if (!items) return fail(cx, "out of memory");
  for (int i = 0; i < guest_argc; i++)
    items[i] = (wisp__cval_t){.type = elem, .of.str = {guest_argv[i], (uint32_t)strlen(guest_argv[i])}};
  res[0].of.agg.items = items;
  res[0].of.agg.len = (uint32_t)guest_argc;
  return 0;
}

static int empty_list(void *env, wisp__cabi_t *cx, const wisp__cval_t *args, uint32_t nargs, wisp__cval_t *res,
                      uint32_t nres) {
  (void)env; (void)cx; (void)args; (void)nargs; (void)nres;
  res[0].of.agg.len = 0;
  return 0;
}

static int none(void *env, wisp__cabi_t *cx, const wisp__cval_t *args, uint32_t nargs, wisp__cval_t *res,
                uint32_t nres) {
  (void)env; (void)cx; (void)args; (void)nargs; (void)nres;
  res[0].of.var.disc = 0;
  res[0].of.var.payload = NULL;
  return 0;
}

/* get-stdout / get-stderr: the representation is the file descriptor */
static int get_stream(void *env, wisp__cabi_t *cx, const wisp__cval_t *args, uint32_t nargs, wisp__cval_t *res,
                      uint32_t nres) {
  (void)cx; (void)args; (void)nargs; (void)nres;
  res[0].of.u = (uint32_t)(uintptr_t)env;
  return 0;
}

/* ok(()) or ok(value) of a result */
static int ok(wisp__cabi_t *cx, wisp__cval_t *res, uint64_t value) {
  res->of.var.disc = 0;
  res->of.var.payload = NULL;
  uint32_t payload = type_of(cx, res->type)->a;
  if (payload == WISP__CNONE) return 0;
  res->of.var.payload = wisp__arena_alloc(cx->arena, sizeof *res->of.var.payload);
  if (!res->of.var.payload) return fail(cx, "out of memory");
  *res->of.var.payload = (wisp__cval_t){.type = payload, .of.u = value};
  return 0;
}

static int check_write(void *env, wisp__cabi_t *cx, const wisp__cval_t *args, uint32_t nargs, wisp__cval_t *res,
                       uint32_t nres) {
  (void)env; (void)args; (void)nargs; (void)nres;
  return ok(cx, &res[0], 65536);
}

static int write_bytes(void *env, wisp__cabi_t *cx, const wisp__cval_t *args, uint32_t nargs, wisp__cval_t *res,
                       uint32_t nres) {
  (void)env; (void)nres;
  if (nargs != 2) return fail(cx, "write: bad arguments");
  FILE *out = args[0].of.u == 2 ? stderr : stdout;
  fwrite(args[1].of.bytes.ptr, 1, args[1].of.bytes.len, out);
  fflush(out);
  return ok(cx, &res[0], 0);
}

static int flush(void *env, wisp__cabi_t *cx, const wisp__cval_t *args, uint32_t nargs, wisp__cval_t *res,
                 uint32_t nres) {
  (void)env; (void)args; (void)nargs; (void)nres;
  return ok(cx, &res[0], 0);
}

static int drop(void *env, wisp__cabi_t *cx, const wisp__cval_t *args, uint32_t nargs, wisp__cval_t *res,
                uint32_t nres) {
  (void)env; (void)cx; (void)args; (void)nargs; (void)res; (void)nres;
  return 0;
}

static int do_exit(void *env, wisp__cabi_t *cx, const wisp__cval_t *args, uint32_t nargs, wisp__cval_t *res,
                   uint32_t nres) {
  (void)env; (void)nargs; (void)res; (void)nres;
  exit_status = args[0].of.var.disc == 0 ? 0 : 1;
  return fail(cx, "exit");
}

static int stub(void *env, wisp__cabi_t *cx, const wisp__cval_t *args, uint32_t nargs, wisp__cval_t *res,
                uint32_t nres) {
  (void)args; (void)nargs; (void)res; (void)nres;
  snprintf(cx->trap, sizeof cx->trap, "test host: %s is not implemented", (const char *)env);
  return -1;
}

static int clock_now(void *env, wisp__cabi_t *cx, const wisp__cval_t *args, uint32_t nargs, wisp__cval_t *res,
                     uint32_t nres) {
  (void)env; (void)cx; (void)args; (void)nargs; (void)nres;
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  res[0].of.u = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
  return 0;
}

static int random_u64(void *env, wisp__cabi_t *cx, const wisp__cval_t *args, uint32_t nargs, wisp__cval_t *res,
                      uint32_t nres) {
  (void)env; (void)cx; (void)args; (void)nargs; (void)nres;
  static uint64_t state = 0x9E3779B97F4A7C15ull;
  state ^= state << 13; state ^= state >> 7; state ^= state << 17;
  res[0].of.u = state;
  return 0;
}

static int random_bytes(void *env, wisp__cabi_t *cx, const wisp__cval_t *args, uint32_t nargs, wisp__cval_t *res,
                        uint32_t nres) {
  (void)env; (void)nargs; (void)nres;
  uint64_t n = args[0].of.u > 65536 ? 65536 : args[0].of.u;
  uint8_t *bytes = wisp__arena_alloc(cx->arena, (size_t)(n ? n : 1));
  if (!bytes) return fail(cx, "out of memory");
  for (uint64_t i = 0; i < n; i++) bytes[i] = (uint8_t)(i * 131 + 7);
  res[0].of.bytes.ptr = bytes;
  res[0].of.bytes.len = (uint32_t)n;
  return 0;
}

/* ---- a test-only wasi:http host: representations are small constants ---- */

static int http_status = -1;
static char http_body[4096];
static size_t http_body_len;

static int rep_result(void *env, wisp__cabi_t *cx, const wisp__cval_t *args, uint32_t nargs, wisp__cval_t *res,
                      uint32_t nres) {
  (void)args; (void)nargs; (void)nres;
  return ok(cx, &res[0], (uintptr_t)env);
}

static int rep(void *env, wisp__cabi_t *cx, const wisp__cval_t *args, uint32_t nargs, wisp__cval_t *res,
               uint32_t nres) {
  (void)cx; (void)args; (void)nargs; (void)nres;
  res[0].of.u = (uintptr_t)env;
  return 0;
}

static int outparam_set(void *env, wisp__cabi_t *cx, const wisp__cval_t *args, uint32_t nargs, wisp__cval_t *res,
                        uint32_t nres) {
  (void)env; (void)res; (void)nres;
  if (nargs != 2 || args[0].of.u != 2) return fail(cx, "response-outparam.set: not the outparam given");
  if (args[1].of.var.disc != 0) return fail(cx, "response-outparam.set: an error response");
  if (args[1].of.var.payload->of.u != 20) return fail(cx, "response-outparam.set: not the response made");
  http_status = 200;
  return 0;
}

static int body_write(void *env, wisp__cabi_t *cx, const wisp__cval_t *args, uint32_t nargs, wisp__cval_t *res,
                      uint32_t nres) {
  (void)env; (void)nres;
  if (nargs != 2 || args[0].of.u != 40) return fail(cx, "write: not the body stream");
  for (uint32_t i = 0; i < args[1].of.bytes.len && http_body_len < sizeof http_body - 1; i++)
    http_body[http_body_len++] = (char)args[1].of.bytes.ptr[i];
  return ok(cx, &res[0], 0);
}

static const struct impl_http {
  const char *iface, *name;
  wisp__chost_fn_t fn;
  uintptr_t env;
} http_impls[] = {
  {"wasi:http/types@0.2.0", "[constructor]fields", rep, 10},
  {"wasi:http/types@0.2.0", "[constructor]outgoing-response", rep, 20},
  {"wasi:http/types@0.2.0", "[method]outgoing-response.body", rep_result, 30},
  {"wasi:http/types@0.2.0", "[method]outgoing-body.write", rep_result, 40},
  {"wasi:http/types@0.2.0", "[static]outgoing-body.finish", flush, 0},
  {"wasi:http/types@0.2.0", "[static]response-outparam.set", outparam_set, 0},
  {"wasi:io/streams@0.2.0", "[method]output-stream.blocking-write-and-flush", body_write, 0},
  {"wasi:clocks/monotonic-clock@0.2.0", "now", clock_now, 0},
  {"wasi:random/random@0.2.0", "get-random-u64", random_u64, 0},
  {"wasi:random/random@0.2.0", "get-random-bytes", random_bytes, 0},
  {"wasi:cli/stdout@0.2.0", "get-stdout", get_stream, 1},
  {"wasi:cli/stderr@0.2.0", "get-stderr", get_stream, 2},
  {"wasi:cli/terminal-stdout@0.2.0", "get-terminal-stdout", none, 0},
  {"wasi:cli/terminal-stderr@0.2.0", "get-terminal-stderr", none, 0},
  {"wasi:cli/terminal-stdin@0.2.0", "get-terminal-stdin", none, 0},
  {"wasi:cli/environment@0.2.0", "get-environment", empty_list, 0},
  {"wasi:cli/environment@0.2.0", "get-arguments", empty_list, 0},
  {"wasi:filesystem/preopens@0.2.0", "get-directories", empty_list, 0},
};

typedef struct impl {
  const char *iface, *name;
  wisp__chost_fn_t fn;
  uintptr_t env;
} impl_t;

static const impl_t impls[] = {
  {"wasi:cli/environment@0.2.0", "get-arguments", get_arguments, 0},
  {"wasi:cli/environment@0.2.0", "get-environment", empty_list, 0},
  {"wasi:cli/exit@0.2.0", "exit", do_exit, 0},
  {"wasi:cli/stdout@0.2.0", "get-stdout", get_stream, 1},
  {"wasi:cli/stderr@0.2.0", "get-stderr", get_stream, 2},
  {"wasi:cli/stdin@0.2.0", "get-stdin", get_stream, 0},
  {"wasi:cli/terminal-stdin@0.2.0", "get-terminal-stdin", none, 0},
  {"wasi:cli/terminal-stdout@0.2.0", "get-terminal-stdout", none, 0},
  {"wasi:cli/terminal-stderr@0.2.0", "get-terminal-stderr", none, 0},
  {"wasi:filesystem/preopens@0.2.0", "get-directories", empty_list, 0},
  {"wasi:clocks/monotonic-clock@0.2.0", "now", clock_now, 0},
  {"wasi:random/random@0.2.0", "get-random-u64", random_u64, 0},
  {"wasi:random/random@0.2.0", "get-random-bytes", random_bytes, 0},
  {"wasi:io/streams@0.2.0", "[method]output-stream.check-write", check_write, 0},
  {"wasi:io/streams@0.2.0", "[method]output-stream.write", write_bytes, 0},
  {"wasi:io/streams@0.2.0", "[method]output-stream.blocking-write-and-flush", write_bytes, 0},
  {"wasi:io/streams@0.2.0", "[method]output-stream.blocking-flush", flush, 0},
  {"wasi:io/streams@0.2.0", "[resource-drop]output-stream", drop, 0},
};

static char *dup_n(const char *s, size_t n) {
  char *p = malloc(n + 1);
  if (p) { memcpy(p, s, n); p[n] = 0; }
  return p;
}

int main(int argc, char **argv) {
  bool http = argc > 1 && strcmp(argv[1], "--http") == 0;
  if (http) { argc--; argv++; }
  if (argc < 2) { fprintf(stderr, "usage: component_command [--http] FILE [ARGS...]\n"); return 2; }
  guest_argc = argc - 1;
  guest_argv = argv + 1;
  FILE *file = fopen(argv[1], "rb");
  if (!file) { perror(argv[1]); return 2; }
  fseek(file, 0, SEEK_END);
  long size = ftell(file);
  fseek(file, 0, SEEK_SET);
  uint8_t *bytes = malloc(size > 0 ? (size_t)size : 1);
  size_t len = bytes ? fread(bytes, 1, (size_t)size, file) : 0;
  fclose(file);
  wisp_engine_t *engine = wisp_engine_new();
  wisp_error_t err;
  wisp_component_t *c = NULL;
  int decoded = wisp_component_new(engine, bytes, len, &c, &err);
  free(bytes);
  if (decoded) { printf("error: %s\n", err.message); return 1; }

  /* one host entry per imported function: an implementation or a stub */
  size_t n = http ? sizeof http_impls / sizeof http_impls[0] : sizeof impls / sizeof impls[0];
  size_t cap = n + 256, count = 0;
  wisp__chost_func_t *host = calloc(cap, sizeof *host);
  for (size_t i = 0; i < n; i++) {
    if (http) host[count++] = (wisp__chost_func_t){http_impls[i].iface, http_impls[i].name, http_impls[i].fn,
                                                   (void *)http_impls[i].env};
    else host[count++] = (wisp__chost_func_t){impls[i].iface, impls[i].name, impls[i].fn, (void *)impls[i].env};
  }
  for (uint32_t i = 0; i < wisp_component_import_count(c); i++) {
    wisp_component_item_t im, fn;
    wisp_component_import(c, i, &im);
    for (uint32_t k = 0; k < wisp_component_type_export_count(c, im.type) && count < cap; k++) {
      wisp_component_type_export(c, im.type, k, &fn);
      if (fn.sort != WISP_SORT_FUNC) continue;
      char *iface = dup_n(im.name, im.name_len), *name = dup_n(fn.name, fn.name_len);
      char *label = malloc(im.name_len + fn.name_len + 2);
      sprintf(label, "%s#%s", iface, name);
      host[count++] = (wisp__chost_func_t){iface, name, stub, label};
    }
  }
  wisp_store_t *store = wisp_store_new(engine);
  wisp_exec_t *exec = wisp_exec_new(store, NULL);
  wisp__cinst_t *inst = NULL;
  if (wisp__cinst_new(c, store, exec, host, count, &inst, &err)) { printf("error: %s\n", err.message); return 1; }
  wisp__arena_t arena;
  wisp__arena_init(&arena);
  char trap[200];
  int status;
  if (http) {
    wisp__cfunc_t *handle = wisp__cinst_func(inst, "wasi:http/incoming-handler@0.2.0", "handle");
    if (!handle) { printf("error: no wasi:http/incoming-handler export\n"); return 1; }
    const wisp__ctype_t *ft = wisp__ctype(c, wisp__cfunc_type(handle));
    wisp__cval_t hargs[2] = {{.type = ft->fields[0].type, .of.u = 1}, {.type = ft->fields[1].type, .of.u = 2}};
    trap[0] = 0;
    int rc = wisp__cinst_call(inst, handle, hargs, 2, NULL, 0, &arena, trap, sizeof trap);
    status = rc == 0 && http_status > 0 ? 0 : 1;
    if (rc) printf("trap: %s\n", trap);
    else if (http_status < 0) printf("handle returned without setting a response\n");
    else printf("status: %d\nbody: %.*s", http_status, (int)http_body_len, http_body);
    goto done;
  }
  wisp__cfunc_t *run = wisp__cinst_func(inst, "wasi:cli/run@0.2.0", "run");
  if (!run) { printf("error: no wasi:cli/run export\n"); return 1; }
  wisp__cval_t result = {.type = wisp__ctype(c, wisp__cfunc_type(run))->results[0].type};
  if (wisp__cinst_call(inst, run, NULL, 0, &result, 1, &arena, trap, sizeof trap) == 0) {
    status = result.of.var.disc == 0 ? 0 : 1;
  } else if (exit_status >= 0) {
    status = exit_status;
  } else {
    printf("trap: %s\n", trap);
    status = 1;
  }
done:
  wisp__arena_free(&arena);
  wisp__cinst_delete(inst);
  wisp_exec_delete(exec);
  wisp_store_delete(store);
  for (size_t i = n; i < count; i++) {
    free((char *)host[i].instance);
    free((char *)host[i].name);
    free(host[i].env);
  }
  free(host);
  wisp_component_delete(c);
  wisp_engine_delete(engine);
  return status;
}
