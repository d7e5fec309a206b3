/*
 * component_nomem_run CALC: fails every allocation of instantiation and calls in
 * turn. src/component/cabi.c and cinst.c are included here with malloc, calloc,
 * realloc and the arena allocator replaced by counting versions (the decoder
 * comes from the library, uncounted). With a budget of N allocations, allocation
 * N+1 fails; instantiating the calc component and calling add and greet must then
 * end in an out-of-memory error or trap, never a crash or a leak (run it in the
 * sanitizer build). The core engine's own allocations are not counted.
 */
#include <stdbool.h>
#include <stdlib.h>

#include "arena.h"

static long alloc_budget = -1;
static long alloc_count;

static bool take(void) {
  alloc_count++;
  if (alloc_budget == 0) return false;
  if (alloc_budget > 0) alloc_budget--;
  return true;
}
static __attribute__((unused)) void *test_malloc(size_t n) { return take() ? malloc(n) : NULL; }
static void *test_calloc(size_t n, size_t size) { return take() ? calloc(n, size) : NULL; }
static void *test_realloc(void *p, size_t n) { return take() ? realloc(p, n) : NULL; }
static void *test_arena_alloc(wisp__arena_t *arena, size_t size) {
  return take() ? wisp__arena_alloc(arena, size) : NULL;
}

#define malloc test_malloc
#define calloc test_calloc
#define realloc test_realloc
#define wisp__arena_alloc test_arena_alloc
#include "component/cabi.c"
#include "component/cinst.c"
#undef malloc
#undef calloc
#undef realloc
#undef wisp__arena_alloc

static int host_log(void *env, wisp__cabi_t *cx, const wisp__cval_t *args, uint32_t nargs, wisp__cval_t *results,
                    uint32_t nresults) {
  (void)env; (void)cx; (void)args; (void)nargs; (void)results; (void)nresults;
  return 0;
}

/* Instantiates and calls add and greet: 0 when all of it worked, 1 when it failed
 * cleanly (out of memory said so), -1 on any other failure. */
static int run_once(wisp_engine_t *engine, const wisp_component_t *c) {
  static const wisp__chost_func_t host[] = {{NULL, "log", host_log, NULL},
                                            {"wisp:tests/shapes", "area", host_log, NULL}};
  wisp_store_t *store = wisp_store_new(engine);
  wisp_exec_t *exec = wisp_exec_new(store, NULL);
  wisp__cinst_t *inst = NULL;
  wisp_error_t err;
  int result = 0;
  int rc = wisp__cinst_new(c, store, exec, host, 2, &inst, &err);
  if (rc) {
    result = rc == WISP_ERR_NOMEM && strstr(err.message, "out of memory") ? 1 : -1;
    if (result < 0) printf("FAIL: instantiate: %s: %s\n", wisp_err_name(rc), err.message);
  } else {
    static const char *const names[2] = {"add", "greet"};
    for (int k = 0; k < 2 && result == 0; k++) {
      wisp__cfunc_t *f = wisp__cinst_func(inst, NULL, names[k]);
      const wisp__ctype_t *ft = wisp__ctype(c, wisp__cfunc_type(f));
      wisp__cval_t a[2];
      memset(a, 0, sizeof a);
      for (uint32_t i = 0; i < ft->n && i < 2; i++) a[i].type = ft->fields[i].type;
      if (k == 1) { a[0].of.str.ptr = "wisp"; a[0].of.str.len = 4; }
      wisp__cval_t r = {.type = ft->results[0].type};
      wisp__arena_t arena;
      wisp__arena_init(&arena);
      char buf[200];
      if (wisp__cinst_call(inst, f, a, ft->n, &r, 1, &arena, buf, sizeof buf)) {
        result = strstr(buf, "out of") || strstr(buf, "too many") ? 1 : -1;
        if (result < 0) printf("FAIL: call %s: %s\n", names[k], buf);
      }
      wisp__arena_free(&arena);
    }
    wisp__cinst_delete(inst);
  }
  wisp_exec_delete(exec);
  wisp_store_delete(store);
  return result;
}

int main(int argc, char **argv) {
  if (argc != 2) { fprintf(stderr, "usage: component_nomem_run CALC\n"); return 2; }
  FILE *f = fopen(argv[1], "rb");
  if (!f) { perror(argv[1]); return 2; }
  static uint8_t bytes[1 << 20];
  size_t len = fread(bytes, 1, sizeof bytes, f);
  fclose(f);
  wisp_engine_t *engine = wisp_engine_new();
  wisp_component_t *c = NULL;
  wisp_error_t err;
  if (wisp_component_new(engine, bytes, len, &c, &err)) {
    printf("FAIL: %s does not decode: %s\n", argv[1], err.message);
    return 1;
  }
  alloc_count = 0;
  long failures = run_once(engine, c) != 0;
  long needed = alloc_count;
  for (long budget = 0; budget < needed; budget++) {
    alloc_budget = budget;
    if (run_once(engine, c) < 0) failures++;
    alloc_budget = -1;
  }
  printf("instantiate + calls: %ld allocations, each failed once: %s\n", needed, failures ? "FAILED" : "passed");
  wisp_component_delete(c);
  wisp_engine_delete(engine);
  return failures ? 1 : 0;
}
