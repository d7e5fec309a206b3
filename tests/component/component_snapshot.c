/*
 * component_snapshot CALC CLI_TOUR TMPDIR: component snapshots (src/component/csnap.c).
 *
 * For guests/calc.c's component (main module + shim + fixup: a shim table the
 * fixup fills with lowered imports) and guests/cli_tour.c's wasi:cli command
 * (with the WASI preview1 adapter: an imported memory, more shims), on the
 * real WASI 0.2 host (src/wasi2):
 *   - snapshot a fresh instance, write it to TMPDIR and read it back;
 *   - an instance made from the snapshot into a pool slot has the same state as
 *     a fresh instance: every core instance's memory bytes, globals and tables
 *     (function references compared as (core instance, index) positions);
 *   - calls give the same results (calc), `run` succeeds (cli_tour);
 *   - a secret written by a call in one instance is not in any memory of the
 *     next instance made in the same pool slot;
 *   - corrupt, truncated, other-component and other-version files are refused
 *     with the reason.
 * Prints "ok" or FAIL lines; exit status 1 on failure.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "component/csnap.h"
#include "engine.h"
#include "wasi2/wasi2.h"

static int failures;

#define CHECK(cond)                                          \
  do {                                                       \
    if (!(cond)) {                                           \
      printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); \
      failures++;                                            \
    }                                                        \
  } while (0)

static int host_log(void *env, wisp__cabi_t *cx, const wisp__cval_t *args, uint32_t nargs, wisp__cval_t *results,
                    uint32_t nresults) {
  (void)env; (void)cx; (void)args; (void)nargs; (void)results; (void)nresults;
  return 0;
}

static int host_area(void *env, wisp__cabi_t *cx, const wisp__cval_t *args, uint32_t nargs, wisp__cval_t *results,
                     uint32_t nresults) {
  (void)env; (void)cx;
  if (nargs != 1 || nresults != 1) return -1;
  results[0].of.u = 1000 + args[0].of.var.disc;
  return 0;
}

static const wisp__chost_func_t calc_host[] = {
    {NULL, "log", host_log, NULL},
    {"wisp:tests/shapes", "area", host_area, NULL},
};

static uint8_t *read_all(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *buf = malloc((size_t)n + 1);
  *len = buf ? fread(buf, 1, (size_t)n, f) : 0;
  fclose(f);
  return buf;
}

static void write_all(const char *path, const uint8_t *data, size_t len) {
  FILE *f = fopen(path, "wb");
  if (!f) return;
  fwrite(data, 1, len, f);
  fclose(f);
}

/* Where function f sits among inst's core instances: k * 2^20 + index + 1, 0 for NULL. */
static uint64_t position(const wisp__cinst_t *inst, const wisp_func_t *f) {
  if (!f) return 0;
  uint32_t n = wisp__cinst_core_count(inst);
  for (uint32_t k = 0; k < n; k++)
    if (f->inst == wisp__cinst_core(inst, k)) return ((uint64_t)k << 20) + f->index + 1;
  for (uint32_t k = 0; k < n; k++) {
    const wisp_instance_t *ci = wisp__cinst_core(inst, k);
    for (uint32_t i = 0; i < ci->module->nfunc_imports; i++)
      if (ci->funcs[i] == f) return ((uint64_t)k << 20) + i + 1;
  }
  return UINT64_MAX;
}

/* Every core instance's memories, globals and tables equal? Prints the first difference. */
static bool same_state(const wisp__cinst_t *a, const wisp__cinst_t *b, const char *what) {
  uint32_t n = wisp__cinst_core_count(a);
  if (n != wisp__cinst_core_count(b)) {
    printf("  %s: %u vs %u core instances\n", what, n, wisp__cinst_core_count(b));
    return false;
  }
  for (uint32_t k = 0; k < n; k++) {
    const wisp_instance_t *x = wisp__cinst_core(a, k), *y = wisp__cinst_core(b, k);
    const wisp_module_t *m = x->module;
    if (m != y->module) {
      printf("  %s: core instance %u of another module\n", what, k);
      return false;
    }
    for (uint32_t i = 0; i < m->nmemories; i++) {
      const wisp_memory_t *mx = x->memories[i], *my = y->memories[i];
      if (mx->size != my->size || memcmp(mx->base, my->base, mx->size) != 0) {
        printf("  %s: core instance %u memory %u differs\n", what, k, i);
        return false;
      }
    }
    for (uint32_t g = 0; g < m->nglobals; g++) {
      const wisp_global_t *gx = x->globals[g], *gy = y->globals[g];
      bool eq = gx->type == WISP_FUNCREF ? position(a, gx->val.ref) == position(b, gy->val.ref)
                                          : memcmp(&gx->val, &gy->val, sizeof gx->val) == 0;
      if (!eq) {
        printf("  %s: core instance %u global %u differs\n", what, k, g);
        return false;
      }
    }
    for (uint32_t t = 0; t < m->ntables; t++) {
      const wisp_table_t *tx = x->tables[t], *ty = y->tables[t];
      if (tx->size != ty->size) {
        printf("  %s: core instance %u table %u size differs\n", what, k, t);
        return false;
      }
      for (uint32_t i = 0; i < tx->size; i++)
        if (position(a, tx->elems[i]) != position(b, ty->elems[i]) || position(a, tx->elems[i]) == UINT64_MAX) {
          printf("  %s: core instance %u table %u element %u differs\n", what, k, t, i);
          return false;
        }
    }
  }
  return true;
}

static bool memory_contains(const wisp__cinst_t *inst, const char *needle) {
  for (uint32_t k = 0; k < wisp__cinst_core_count(inst); k++) {
    const wisp_instance_t *ci = wisp__cinst_core(inst, k);
    for (uint32_t i = 0; i < ci->module->nmemories; i++)
      if (memmem(ci->memories[i]->base, ci->memories[i]->size, needle, strlen(needle))) return true;
  }
  return false;
}

/* The first memory among inst's core instances (the main module's). */
static wisp_memory_t *first_memory(const wisp__cinst_t *inst) {
  for (uint32_t k = 0; k < wisp__cinst_core_count(inst); k++) {
    const wisp_instance_t *ci = wisp__cinst_core(inst, k);
    if (ci->module->nmemories) return ci->memories[0];
  }
  return NULL;
}

/* One instance with its store, exec and (for WASI components) host. */
typedef struct run {
  wisp_store_t *store;
  wisp_exec_t *exec;
  wisp__wasi2_t *wasi;
  wisp__cinst_t *inst;
} run_t;

static const char *const tour_argv[] = {"cli_tour"};

/* Instantiates c fresh (snap NULL) or from snap, in a store using pool. */
static bool start(run_t *r, wisp_engine_t *engine, const wisp_component_t *c, bool wasi, const wisp__csnap_t *snap,
                  wisp_pool_t *pool) {
  memset(r, 0, sizeof *r);
  r->store = wisp_store_new(engine);
  if (pool) wisp_store_set_pool(r->store, pool);
  r->exec = wisp_exec_new(r->store, NULL);
  const wisp__chost_func_t *host = calc_host;
  size_t count = 2;
  if (wasi) {
    static int devnull = -1;
    if (devnull < 0) devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    wisp__wasi2_config_t cfg = {.argv = tour_argv, .argc = 1, .stdio = {devnull, devnull, devnull}, .deadline_ns = -1};
    if (wisp__wasi2_new(&cfg, &r->wasi) < 0 || wisp__wasi2_host_funcs(r->wasi, c, &host, &count) < 0) {
      printf("FAIL wasi2 host: %s\n", r->wasi ? wisp__wasi2_error(r->wasi) : "out of memory");
      failures++;
      return false;
    }
  }
  wisp_error_t err = {0};
  int rc = snap ? wisp__cinst_from_csnap(snap, r->store, r->exec, host, count, &r->inst, &err)
                : wisp__cinst_new(c, r->store, r->exec, host, count, &r->inst, &err);
  if (rc) {
    printf("FAIL instantiate (%s): %s\n", snap ? "snapshot" : "fresh", err.message);
    failures++;
    return false;
  }
  return true;
}

static void stop(run_t *r) {
  wisp__cinst_delete(r->inst);
  wisp_exec_delete(r->exec);
  wisp_store_delete(r->store);
  wisp__wasi2_delete(r->wasi);
  memset(r, 0, sizeof *r);
}

static int call_greet(run_t *r, const wisp_component_t *c, const char *name, char *out, size_t size) {
  wisp__cfunc_t *f = wisp__cinst_func(r->inst, NULL, "greet");
  if (!f) return -1;
  const wisp__ctype_t *ft = wisp__ctype(c, wisp__cfunc_type(f));
  wisp__cval_t arg = {.type = ft->fields[0].type}, res = {.type = ft->results[0].type};
  arg.of.str.ptr = name;
  arg.of.str.len = strlen(name);
  wisp__arena_t arena;
  wisp__arena_init(&arena);
  char trap[200];
  int rc = wisp__cinst_call(r->inst, f, &arg, 1, &res, 1, &arena, trap, sizeof trap);
  if (rc == 0) snprintf(out, size, "%.*s", (int)res.of.str.len, res.of.str.ptr);
  else printf("  greet trapped: %s\n", trap);
  wisp__arena_free(&arena);
  return rc;
}

static int call_run(run_t *r, const wisp_component_t *c) {
  wisp__cfunc_t *f = wisp__cinst_func(r->inst, "wasi:cli/run@0.2.0", "run");
  if (!f) return -1;
  wisp__cval_t res = {.type = wisp__ctype(c, wisp__cfunc_type(f))->results[0].type};
  wisp__arena_t arena;
  wisp__arena_init(&arena);
  char trap[200];
  int rc = wisp__cinst_call(r->inst, f, NULL, 0, &res, 1, &arena, trap, sizeof trap);
  if (rc) printf("  run trapped: %s\n", trap);
  wisp__arena_free(&arena);
  return rc == 0 && res.of.var.disc == 0 ? 0 : -1;
}

/* The whole sequence for one component; `other` is a snapshot file of another component. */
static void check_component(wisp_engine_t *engine, const char *path, bool wasi, const char *dir, const char *name,
                            char *file_out, size_t file_size, const char *other) {
  size_t len = 0;
  uint8_t *bytes = read_all(path, &len);
  CHECK(bytes != NULL);
  if (!bytes) return;
  wisp_error_t err = {0};
  wisp_component_t *c = NULL;
  if (wisp_component_new(engine, bytes, len, &c, &err)) {
    printf("FAIL decode %s: %s\n", path, err.message);
    failures++;
    free(bytes);
    return;
  }
  free(bytes);
  wisp_pool_t *pool = wisp_pool_new(2);
  run_t first, fresh, restored;
  wisp__csnap_t *snap = NULL, *loaded = NULL;
  if (!start(&first, engine, c, wasi, NULL, NULL)) goto done;
  CHECK(wisp__cinst_core_count(first.inst) >= 3); /* main + shim + fixup at least */
  if (wisp__csnap_new(first.inst, &snap, &err)) {
    printf("FAIL %s: snapshot: %s\n", name, err.message);
    failures++;
    stop(&first);
    goto done;
  }
  stop(&first);
  snprintf(file_out, file_size, "%s/%s.wcsnap", dir, name);
  CHECK(wisp__csnap_save(snap, file_out, &err) == 0);
  if (wisp__csnap_load(c, file_out, &loaded, &err)) {
    printf("FAIL %s: load: %s\n", name, err.message);
    failures++;
    goto done;
  }

  /* state after restore == state of a fresh instance */
  if (!start(&fresh, engine, c, wasi, NULL, NULL)) goto done;
  if (start(&restored, engine, c, wasi, loaded, pool)) {
    CHECK(same_state(fresh.inst, restored.inst, name));
    if (!wasi) {
      char a[100] = "", b[100] = "";
      CHECK(call_greet(&fresh, c, "wisp", a, sizeof a) == 0 && call_greet(&restored, c, "wisp", b, sizeof b) == 0);
      CHECK(strcmp(a, "hello, wisp") == 0 && strcmp(a, b) == 0);
      CHECK(same_state(fresh.inst, restored.inst, name)); /* the same call changed both alike */
      /* a secret written by one call... */
      CHECK(call_greet(&restored, c, "SECRET-7f3a9c", a, sizeof a) == 0);
      CHECK(memory_contains(restored.inst, "SECRET-7f3a9c"));
    } else {
      CHECK(call_run(&restored, c) == 0);
      CHECK(call_run(&fresh, c) == 0);
    }
    wisp_memory_t *mem = first_memory(restored.inst);
    CHECK(mem != NULL && mem->slot != NULL); /* from the pool */
    const uint8_t *base = mem ? mem->base : NULL;
    if (wasi && mem) memcpy(mem->base + 1024, "SECRET-7f3a9c", 13);
    stop(&restored);
    /* ...is not visible to the next instance from the same slot */
    if (start(&restored, engine, c, wasi, loaded, pool)) {
      CHECK(first_memory(restored.inst) && first_memory(restored.inst)->base == base);
      CHECK(!memory_contains(restored.inst, "SECRET-7f3a9c"));
      stop(&fresh);
      CHECK(start(&fresh, engine, c, wasi, NULL, NULL));
      if (fresh.inst) CHECK(same_state(fresh.inst, restored.inst, name));
      stop(&restored);
    }
  }
  stop(&fresh);

  /* bad files are refused with the reason */
  size_t flen = 0;
  uint8_t *good = read_all(file_out, &flen);
  char bad[1200];
  snprintf(bad, sizeof bad, "%s/%s.bad", dir, name);
  struct {
    size_t len;
    int flip;
    const char *why;
  } cases[] = {{flen, (int)(flen / 2), "checksum mismatch"}, {flen - 40, -1, "checksum mismatch"},
               {10, -1, "bad magic"}};
  for (size_t i = 0; good && i < sizeof cases / sizeof cases[0]; i++) {
    uint8_t *copy = malloc(flen);
    memcpy(copy, good, flen);
    if (cases[i].flip >= 0) copy[cases[i].flip] ^= 0x40;
    write_all(bad, copy, cases[i].len);
    free(copy);
    wisp__csnap_t *s = NULL;
    CHECK(wisp__csnap_load(c, bad, &s, &err) == WISP_ERR_MALFORMED && s == NULL && strstr(err.message, cases[i].why));
    wisp__csnap_delete(s);
  }
  if (good) {
    /* another format version, checksum fixed up */
    uint32_t v = 99;
    memcpy(good + 8, &v, 4);
    uint64_t sum = wisp__fnv1a(0, good, flen - 8);
    memcpy(good + flen - 8, &sum, 8);
    write_all(bad, good, flen);
    wisp__csnap_t *s = NULL;
    CHECK(wisp__csnap_load(c, bad, &s, &err) == WISP_ERR_MALFORMED && strstr(err.message, "format version 99"));
    wisp__csnap_delete(s);
  }
  /* byte flips with the checksum fixed up: the parser itself must refuse or
   * accept cleanly, and whatever loads must instantiate or fail cleanly */
  size_t glen = 0;
  uint8_t *orig = read_all(file_out, &glen);
  int loaded_mutants = 0;
  for (size_t i = 0; orig && glen > 40 && i < 300; i++) {
    size_t at = 8 + (i * 7919) % (glen - 16);
    uint8_t *copy = malloc(glen);
    memcpy(copy, orig, glen);
    copy[at] ^= (uint8_t)(1u << (i % 8));
    uint64_t sum = wisp__fnv1a(0, copy, glen - 8);
    memcpy(copy + glen - 8, &sum, 8);
    write_all(bad, copy, glen);
    free(copy);
    wisp__csnap_t *s = NULL;
    if (wisp__csnap_load(c, bad, &s, &err) == 0) {
      loaded_mutants++;
      run_t m;
      if (start(&m, engine, c, wasi, NULL, NULL)) stop(&m); /* the host is fine */
      wisp_store_t *store = wisp_store_new(engine);
      wisp_store_set_pool(store, pool);
      wisp_exec_t *exec = wisp_exec_new(store, NULL);
      wisp__wasi2_t *w = NULL;
      const wisp__chost_func_t *host = calc_host;
      size_t count = 2;
      wisp__wasi2_config_t cfg = {.argv = tour_argv, .argc = 1, .stdio = {-1, -1, -1}, .deadline_ns = -1};
      if (wasi && (wisp__wasi2_new(&cfg, &w) < 0 || wisp__wasi2_host_funcs(w, c, &host, &count) < 0)) host = NULL;
      wisp__cinst_t *mi = NULL;
      if (host && wisp__cinst_from_csnap(s, store, exec, host, count, &mi, &err) == 0) wisp__cinst_delete(mi);
      wisp_exec_delete(exec);
      wisp_store_delete(store);
      wisp__wasi2_delete(w);
    }
    wisp__csnap_delete(s);
  }
  free(orig);
  printf("  %s: %d of 300 checksum-fixed mutants loaded (the rest refused)\n", name, loaded_mutants);
  free(good);
  if (other) {
    wisp__csnap_t *s = NULL;
    CHECK(wisp__csnap_load(c, other, &s, &err) == WISP_ERR_MALFORMED && strstr(err.message, "different component"));
    wisp__csnap_delete(s);
  }
  unlink(bad);
done:
  wisp__csnap_delete(snap);
  wisp__csnap_delete(loaded);
  wisp_pool_delete(pool);
  wisp_component_delete(c);
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: component_snapshot CALC.component.wasm CLI_TOUR.component.wasm TMPDIR\n");
    return 2;
  }
  wisp_engine_t *engine = wisp_engine_new();
  char calc_file[1100] = "", tour_file[1100] = "";
  check_component(engine, argv[1], false, argv[3], "calc", calc_file, sizeof calc_file, NULL);
  check_component(engine, argv[2], true, argv[3], "cli_tour", tour_file, sizeof tour_file, calc_file);
  unlink(calc_file);
  unlink(tour_file);
  wisp_engine_delete(engine);
  if (failures) {
    printf("%d check(s) failed\n", failures);
    return 1;
  }
  printf("ok\n");
  return 0;
}
