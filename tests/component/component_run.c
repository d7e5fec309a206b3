/*
 * component_run CALC: instantiates guests/calc.c's component (built by this
 * folder's CMakeLists) with host implementations of its imports (`log` and
 * wisp:tests/shapes#area) and calls every export through the canonical ABI:
 * integers, strings both ways (with realloc and post-return), enums, options,
 * records, variants, an exported interface calling back into the host.
 *
 * component_run CALC FLIPS: also flips FLIPS pseudo-random bytes of the binary
 * one at a time; whatever still decodes is instantiated and every export called
 * with the same arguments. Nothing may crash (run it in the sanitizer build);
 * traps and refusals are fine.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "component/cinst.h"

static int failures;
static char logged[256];

#define CHECK(cond)                                                       \
  do {                                                                    \
    if (!(cond)) {                                                        \
      printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);              \
      failures++;                                                         \
    }                                                                     \
  } while (0)

static int host_log(void *env, wisp__cabi_t *cx, const wisp__cval_t *args, uint32_t nargs, wisp__cval_t *results,
                    uint32_t nresults) {
  (void)env; (void)cx; (void)results; (void)nresults;
  if (nargs != 1) return -1;
  snprintf(logged, sizeof logged, "%.*s", (int)args[0].of.str.len, args[0].of.str.ptr);
  return 0;
}

/* area(s: shape) -> u64 for the empty shape (the guest handles the others) */
static int host_area(void *env, wisp__cabi_t *cx, const wisp__cval_t *args, uint32_t nargs, wisp__cval_t *results,
                     uint32_t nresults) {
  (void)env; (void)cx;
  if (nargs != 1 || nresults != 1) return -1;
  results[0].of.u = 1000 + args[0].of.var.disc;
  return 0;
}

static const wisp__chost_func_t host[] = {
  {NULL, "log", host_log, NULL},
  {"wisp:tests/shapes", "area", host_area, NULL},
};

static const wisp_component_t *comp;
static wisp__cinst_t *inst;
static wisp__arena_t arena;

/* Calls export (iface, name) with args; results land in `out`. */
static int call(const char *iface, const char *name, wisp__cval_t *args, uint32_t nargs, wisp__cval_t *out,
                uint32_t nout) {
  wisp__cfunc_t *f = wisp__cinst_func(inst, iface, name);
  CHECK(f != NULL);
  if (!f) return -1;
  const wisp__ctype_t *ft = wisp__ctype(comp, wisp__cfunc_type(f));
  for (uint32_t i = 0; i < nargs && i < ft->n; i++) args[i].type = ft->fields[i].type;
  for (uint32_t i = 0; i < nout && i < ft->nresults; i++) out[i].type = ft->results[i].type;
  char trap[200];
  int rc = wisp__cinst_call(inst, f, args, nargs, out, nout, &arena, trap, sizeof trap);
  if (rc) printf("  %s: trap: %s\n", name, trap);
  return rc;
}

/* Instantiates `bytes` if it decodes and calls add, greet and apply; returns
 * how far it got (0 refused, 1 instantiated, 2 called). */
static int try_mutant(wisp_engine_t *engine, const uint8_t *bytes, size_t len) {
  wisp_error_t err;
  wisp_component_t *c = NULL;
  if (wisp_component_new(engine, bytes, len, &c, &err)) return 0;
  wisp_store_t *store = wisp_store_new(engine);
  wisp_exec_t *exec = wisp_exec_new(store, NULL);
  wisp_exec_set_fuel(exec, 1000000);
  wisp__cinst_t *mi = NULL;
  int stage = 0;
  if (wisp__cinst_new(c, store, exec, host, 2, &mi, &err) == 0) {
    stage = 1;
    static const char *const names[3] = {"add", "greet", "apply"};
    for (int k = 0; k < 3; k++) {
      wisp__cfunc_t *f = wisp__cinst_func(mi, NULL, names[k]);
      if (!f) continue;
      const wisp__ctype_t *ft = wisp__ctype(c, wisp__cfunc_type(f));
      if (ft->n > 3 || ft->nresults > 1) continue;
      wisp__cval_t a[3], r[1];
      memset(a, 0, sizeof a);
      memset(r, 0, sizeof r);
      /* arguments shaped by the (possibly mutated) type: zero values of each kind */
      bool ok = true;
      for (uint32_t i = 0; i < ft->n; i++) {
        a[i].type = ft->fields[i].type;
        uint8_t kind = wisp__ctype(c, a[i].type)->kind;
        if (kind == WISP__CT_STRING) { a[i].of.str.ptr = "x"; a[i].of.str.len = 1; }
        else if (kind > WISP__CT_STRING && kind != WISP__CT_ENUM && kind != WISP__CT_FLAGS) ok = false;
      }
      if (ft->nresults) r[0].type = ft->results[0].type;
      if (!ok) continue;
      wisp__arena_t ar;
      wisp__arena_init(&ar);
      char trap[200];
      wisp__cinst_call(mi, f, a, ft->n, r, ft->nresults, &ar, trap, sizeof trap);
      wisp__arena_free(&ar);
      stage = 2;
    }
    wisp__cinst_delete(mi);
  }
  wisp_exec_delete(exec);
  wisp_store_delete(store);
  wisp_component_delete(c);
  return stage;
}

int main(int argc, char **argv) {
  if (argc != 2 && argc != 3) { fprintf(stderr, "usage: component_run CALC.component.wasm [FLIPS]\n"); return 2; }
  FILE *file = fopen(argv[1], "rb");
  if (!file) { perror(argv[1]); return 2; }
  static uint8_t bytes[1 << 20];
  size_t len = fread(bytes, 1, sizeof bytes, file);
  fclose(file);
  wisp_engine_t *engine = wisp_engine_new();
  wisp_error_t err;
  wisp_component_t *c = NULL;
  if (wisp_component_new(engine, bytes, len, &c, &err)) { printf("FAIL decode: %s\n", err.message); return 1; }
  comp = c;
  wisp_store_t *store = wisp_store_new(engine);
  wisp_exec_t *exec = wisp_exec_new(store, NULL);
  if (wisp__cinst_new(c, store, exec, host, 2, &inst, &err)) { printf("FAIL instantiate: %s\n", err.message); return 1; }
  wisp__arena_init(&arena);

  wisp__cval_t args[3], out[1];
  memset(args, 0, sizeof args);
  args[0].of.s = 2; args[1].of.s = -5;
  CHECK(call(NULL, "add", args, 2, out, 1) == 0 && out[0].of.s == -3);

  args[0].of.str.ptr = "wisp"; args[0].of.str.len = 4;
  CHECK(call(NULL, "greet", args, 1, out, 1) == 0);
  CHECK(out[0].of.str.len == 11 && memcmp(out[0].of.str.ptr, "hello, wisp", 11) == 0);
  CHECK(strcmp(logged, "hello, wisp") == 0);
  args[0].of.str.ptr = "w\xc3\xb6rld"; args[0].of.str.len = 6; /* non-ASCII survives */
  CHECK(call(NULL, "greet", args, 1, out, 1) == 0 && out[0].of.str.len == 13 &&
        memcmp(out[0].of.str.ptr, "hello, w\xc3\xb6rld", 13) == 0);

  args[0].of.var.disc = 2; args[0].of.var.payload = NULL; /* op.mul */
  args[1].of.s = 6; args[2].of.s = 7;
  CHECK(call(NULL, "apply", args, 3, out, 1) == 0 && out[0].of.var.disc == 1 && out[0].of.var.payload &&
        out[0].of.var.payload->of.s == 42);

  /* shift(point { x: 1, y: 2 }, 3) = point { x: 4, y: 2 } */
  wisp__cfunc_t *shift = wisp__cinst_func(inst, NULL, "shift");
  CHECK(shift != NULL);
  if (shift) {
    const wisp__ctype_t *ft = wisp__ctype(comp, wisp__cfunc_type(shift));
    const wisp__ctype_t *point = wisp__ctype(comp, ft->fields[0].type);
    wisp__cval_t xy[2] = {{.type = point->fields[0].type, .of.s = 1}, {.type = point->fields[1].type, .of.s = 2}};
    args[0].of.agg.items = xy; args[0].of.agg.len = 2;
    args[1].of.s = 3;
    CHECK(call(NULL, "shift", args, 2, out, 1) == 0 && out[0].of.agg.len == 2 &&
          out[0].of.agg.items[0].of.s == 4 && out[0].of.agg.items[1].of.s == 2);
  }

  /* the exported interface: area(circle(2)) = 12, area(rect { 3, 4 }) = 12, area(empty) asks the host */
  wisp__cfunc_t *area = wisp__cinst_func(inst, "wisp:tests/shapes", "area");
  CHECK(area != NULL);
  if (area) {
    const wisp__ctype_t *shape = wisp__ctype(comp, wisp__ctype(comp, wisp__cfunc_type(area))->fields[0].type);
    wisp__cval_t radius = {.type = shape->fields[0].type, .of.u = 2};
    args[0].of.var.disc = 0; args[0].of.var.payload = &radius;
    CHECK(call("wisp:tests/shapes", "area", args, 1, out, 1) == 0 && out[0].of.u == 12);
    const wisp__ctype_t *point = wisp__ctype(comp, shape->fields[1].type);
    wisp__cval_t wh[2] = {{.type = point->fields[0].type, .of.s = 3}, {.type = point->fields[1].type, .of.s = 4}};
    wisp__cval_t rect = {.type = shape->fields[1].type, .of.agg = {wh, 2}};
    args[0].of.var.disc = 1; args[0].of.var.payload = &rect;
    CHECK(call("wisp:tests/shapes", "area", args, 1, out, 1) == 0 && out[0].of.u == 12);
    args[0].of.var.disc = 2; args[0].of.var.payload = NULL;
    CHECK(call("wisp:tests/shapes", "area", args, 1, out, 1) == 0 && out[0].of.u == 1002);
  }

  /* a missing host function is a link error naming it */
  wisp__cinst_t *other = NULL;
  CHECK(wisp__cinst_new(c, store, exec, host, 1, &other, &err) == WISP_ERR_LINK);
  CHECK(strstr(err.message, "function \"area\" is not provided by the host") != NULL);

  if (argc == 3) {
    long flips = atol(argv[2]);
    uint32_t state = 2024;
    long counts[3] = {0, 0, 0};
    static uint8_t copy[1 << 20];
    for (long i = 0; i < flips; i++) {
      state = state * 1103515245u + 12345u;
      size_t at = 8 + (state >> 8) % (len - 8);
      state = state * 1103515245u + 12345u;
      memcpy(copy, bytes, len);
      copy[at] ^= (uint8_t)((state >> 16) | 1);
      counts[try_mutant(engine, copy, len)]++;
    }
    printf("mutants: %ld refused, %ld instantiated only, %ld called\n", counts[0], counts[1], counts[2]);
  }
  wisp__arena_free(&arena);
  wisp__cinst_delete(inst);
  wisp_exec_delete(exec);
  wisp_store_delete(store);
  wisp_component_delete(c);
  wisp_engine_delete(engine);
  printf("%s\n", failures ? "FAILED" : "calc component: every export called through the canonical ABI");
  return failures ? 1 : 0;
}
