/*
 * run_module.c: instantiate-and-run driver shared by fuzz_run and fuzz_body.
 *
 * fuzz_run_module(bytes): if wisp_module_new accepts the bytes, the module's
 * imports are satisfied with fresh objects (host functions, memories, tables,
 * globals of the imported types), and it is instantiated in a store limited to
 * 16 MiB per memory and 10,000 table elements, on an exec with a small stack
 * and FUEL fuel for the start function. Then every exported function is called
 * twice, once with all-zero arguments and once with all-ones bit patterns, each
 * call with FUEL fuel; running out of fuel continues once with FUEL more, then
 * aborts the call (wisp_exec_abort).
 *
 * The host functions behave by a pseudo-random sequence seeded from the input:
 * mostly they return zeros, sometimes they trap, sometimes they suspend the
 * guest, which is then resumed with zero results. So the host-call, trap,
 * suspend/resume, fuel and abort paths are all driven by fuzzed code.
 *
 * Every module is run twice, in two fresh stores, and the outcomes must be
 * identical (a digest of statuses, trap kinds, results, exported globals and
 * the start of exported memories): a difference means the engine read state
 * it never initialised.
 *
 * Traps are expected outcomes; crashes, sanitizer reports, leaks and hangs are
 * bugs. A broken API invariant calls abort(), which libFuzzer reports.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run_module.h"
#include "wisp.h"

#define FUEL 100000
#define MAX_VALS 64
#define MAX_MEMORY_PAGES 256 /* 16 MiB: the store limit */
#define MAX_TABLE_ELEMS 10000
#define MAX_SUSPENDS 64 /* per call, then the call is aborted */

static wisp_engine_t *engine; /* one for the process, as a server would have */

typedef struct host_env {
  wisp_functype_t type;        /* its arrays are borrowed from the module */
  uint32_t *rng;               /* shared by all host functions of one input */
} host_env_t;

/* FNV-1a over everything observable, to compare the two runs of one module. */
static uint64_t digest;

static void feed(const void *p, size_t n) {
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++) digest = (digest ^ b[i]) * 1099511628211ull;
}

static void feed_u32(uint32_t v) { feed(&v, sizeof v); }

static void feed_val(const wisp_val_t *v) {
  feed_u32(v->kind);
  switch (v->kind) {
    case WISP_I32: feed(&v->of.i32, 4); break;
    case WISP_F32: feed(&v->of.f32, 4); break;
    case WISP_I64: feed(&v->of.i64, 8); break;
    case WISP_F64: feed(&v->of.f64, 8); break;
    case WISP_V128: feed(v->of.v128, 16); break;
    default: feed_u32(v->of.externref != NULL); break; /* references: only null or not */
  }
}

static void check(int ok, const char *what) {
  if (!ok) {
    fprintf(stderr, "fuzz_run: invariant broken: %s\n", what);
    abort();
  }
}

static uint32_t next_rand(uint32_t *state) {
  uint32_t x = *state ? *state : 0x9E3779B9u;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  *state = x;
  return x;
}

static void zero_vals(wisp_val_t *vals, const uint8_t *kinds, uint32_t n, int ones) {
  for (uint32_t i = 0; i < n; i++) {
    memset(&vals[i], ones ? 0xFF : 0, sizeof vals[i]);
    vals[i].kind = kinds[i];
    if (kinds[i] == WISP_FUNCREF || kinds[i] == WISP_EXTERNREF) memset(&vals[i].of, 0, sizeof vals[i].of);
  }
}

static wisp_host_status_t host_fn(wisp_call_t *call, void *env, const wisp_val_t *args, wisp_val_t *results) {
  host_env_t *h = env;
  (void)args;
  uint32_t r = next_rand(h->rng) % 16;
  if (r == 0) return wisp_call_trap(call, "fuzz host trap");
  if (r == 1) return wisp_call_exit(call, 3);
  if (r <= 4) return WISP_HOST_SUSPEND;
  zero_vals(results, h->type.results, h->type.nresults, r & 1);
  return WISP_HOST_OK;
}

static void drop_trap(wisp_trap_t *trap) {
  feed_u32(trap ? (uint32_t)wisp_trap_kind(trap) : 0xFFFFFFFFu);
  if (!trap) return;
  char buf[256];
  wisp_trap_format(trap, buf, sizeof buf); /* exercises frame formatting */
  check(wisp_trap_message(trap) != NULL, "trap without message");
  for (uint32_t i = 0; i < wisp_trap_frame_count(trap); i++) check(wisp_trap_frame(trap, i) != NULL, "trap frame");
  wisp_trap_delete(trap);
}

/* Drives one call to its end: resumes suspensions, refuels once, then aborts. */
static void finish_call(wisp_exec_t *exec, wisp_status_t st, const wisp_functype_t *type, const wisp_val_t *results) {
  int refuelled = 0, suspends = 0;
  for (;;) {
    if (st == WISP_SUSPENDED) {
      wisp_func_t *f = wisp_exec_suspended_func(exec);
      check(f != NULL, "suspended without a function");
      const wisp_functype_t *ft = wisp_func_type(f);
      if (++suspends > MAX_SUSPENDS || ft->nresults > MAX_VALS) {
        wisp_exec_abort(exec);
        break;
      }
      wisp_val_t host_results[MAX_VALS];
      zero_vals(host_results, ft->results, ft->nresults, suspends & 1);
      st = wisp_exec_resume(exec, host_results, ft->nresults);
    } else if (st == WISP_OUT_OF_FUEL) {
      if (refuelled++) {
        wisp_exec_abort(exec);
        break;
      }
      wisp_exec_set_fuel(exec, FUEL);
      st = wisp_exec_continue(exec);
    } else {
      break;
    }
  }
  feed_u32(st);
  if (st == WISP_DONE) {
    for (uint32_t i = 0; i < type->nresults; i++) {
      check(results[i].kind == type->results[i], "result kind");
      feed_val(&results[i]);
    }
  } else {
    drop_trap(wisp_exec_take_trap(exec)); /* a trap, or the abort's WISP_TRAP_ABORTED */
  }
  st = wisp_exec_status(exec);
  check(st != WISP_SUSPENDED && st != WISP_OUT_OF_FUEL, "exec not idle after the call");
}

static void call_export(wisp_exec_t *exec, wisp_func_t *func, int ones) {
  const wisp_functype_t *type = wisp_func_type(func);
  wisp_val_t args[MAX_VALS], results[MAX_VALS];
  if (type->nparams > MAX_VALS || type->nresults > MAX_VALS) return;
  zero_vals(args, type->params, type->nparams, ones);
  wisp_exec_set_fuel(exec, FUEL);
  wisp_status_t st = wisp_exec_call(exec, func, args, type->nparams, results, type->nresults);
  finish_call(exec, st, type, results);
}

/* Makes an object of the import's type in `store`. 0, or -1 to skip the input. */
static int make_import(wisp_store_t *store, const wisp_import_desc_t *d, host_env_t *env, wisp_extern_t *out) {
  const wisp_externtype_t *t = &d->type;
  out->kind = t->kind;
  switch (t->kind) {
    case WISP_EXTERN_FUNC:
      out->of.func = wisp_func_new_host(store, &t->func, host_fn, env, NULL);
      return out->of.func ? 0 : -1;
    case WISP_EXTERN_MEMORY:
      if (t->limits.min > MAX_MEMORY_PAGES) return -1;
      out->of.memory = wisp_memory_new(store, &t->limits);
      return out->of.memory ? 0 : -1;
    case WISP_EXTERN_TABLE: {
      if (t->limits.min > MAX_TABLE_ELEMS) return -1;
      wisp_val_t init;
      memset(&init, 0, sizeof init);
      init.kind = t->table_elem;
      out->of.table = wisp_table_new(store, t->table_elem, &t->limits, &init);
      return out->of.table ? 0 : -1;
    }
    case WISP_EXTERN_GLOBAL: {
      wisp_val_t v;
      zero_vals(&v, &t->global_type, 1, 0);
      out->of.global = wisp_global_new(store, &v, t->global_mutable);
      return out->of.global ? 0 : -1;
    }
  }
  return -1;
}

/* Feeds exported globals and the first bytes of exported memories to the digest. */
static void feed_exports(wisp_instance_t *instance, uint32_t n) {
  for (uint32_t i = 0; i < n; i++) {
    wisp_extern_t ext;
    wisp_instance_export_at(instance, i, &ext);
    if (ext.kind == WISP_EXTERN_GLOBAL) {
      wisp_val_t v;
      wisp_global_get(ext.of.global, &v);
      feed_val(&v);
    } else if (ext.kind == WISP_EXTERN_MEMORY) {
      uint64_t size = wisp_memory_size(ext.of.memory);
      feed(&size, sizeof size);
      feed(wisp_memory_data(ext.of.memory), size < 4096 ? (size_t)size : 4096);
    }
  }
}

/* Instantiates and runs `module` once; returns the digest of what it did. */
static uint64_t run_module(wisp_module_t *module, uint32_t seed) {
  digest = 14695981039346656037ull;
  uint32_t rng = seed;
  uint32_t nimports = wisp_module_import_count(module);
  host_env_t *envs = calloc(nimports ? nimports : 1, sizeof *envs);
  wisp_extern_t *imports = calloc(nimports ? nimports : 1, sizeof *imports);
  wisp_store_t *store = wisp_store_new(engine);
  check(envs && imports && store, "allocation");
  wisp_store_limits_t limits = {.max_memory_bytes = (uint64_t)MAX_MEMORY_PAGES << 16, .max_table_elems = MAX_TABLE_ELEMS};
  wisp_store_set_limits(store, &limits);
  wisp_exec_config_t config = {.stack_cells = 64 * 1024, .max_call_depth = 1000};
  wisp_exec_t *exec = wisp_exec_new(store, &config);
  check(exec != NULL, "wisp_exec_new");

  for (uint32_t i = 0; i < nimports; i++) {
    wisp_import_desc_t d;
    wisp_module_import(module, i, &d);
    envs[i] = (host_env_t){d.type.func, &rng};
    if (make_import(store, &d, &envs[i], &imports[i]) != 0) goto done;
  }

  wisp_exec_set_fuel(exec, FUEL); /* for the start function */
  wisp_instance_t *instance = NULL;
  wisp_trap_t *trap = NULL;
  wisp_error_t err;
  int rc = wisp_instance_new(store, exec, module, imports, nimports, &instance, &trap, &err);
  feed_u32((uint32_t)rc);
  if (rc != 0) {
    check(rc == WISP_ERR_TRAP || rc == WISP_ERR_LIMIT || rc == WISP_ERR_NOMEM || rc == WISP_ERR_LINK,
          "unexpected wisp_instance_new error");
    check(rc != WISP_ERR_TRAP || trap != NULL, "WISP_ERR_TRAP without a trap");
    drop_trap(trap);
    goto done;
  }
  check(instance != NULL, "no instance");
  uint32_t n = wisp_module_export_count(module);
  for (int ones = 0; ones < 2; ones++) {
    for (uint32_t i = 0; i < n; i++) {
      wisp_extern_t ext;
      wisp_instance_export_at(instance, i, &ext);
      if (ext.kind == WISP_EXTERN_FUNC) call_export(exec, ext.of.func, ones);
    }
  }
  feed_exports(instance, n);
done:
  wisp_exec_delete(exec);
  wisp_store_delete(store);
  free(imports);
  free(envs);
  return digest;
}

void fuzz_run_module(const uint8_t *data, size_t size) {
  if (!engine) engine = wisp_engine_new();
  if (!engine) abort();
  wisp_error_t err;
  wisp_module_t *module = NULL;
  if (wisp_module_new(engine, data, size, &module, &err) != 0) return;
  uint32_t seed = 2166136261u;
  for (size_t i = 0; i < size; i++) seed = (seed ^ data[i]) * 16777619u;
  uint64_t first = run_module(module, seed);
  uint64_t second = run_module(module, seed);
  check(first == second, "two runs of the same module in fresh stores differ");
  wisp_module_delete(module);
}
