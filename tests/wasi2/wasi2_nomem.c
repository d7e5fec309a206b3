/*
 * wasi2_nomem COMPONENT RO_DIR RW_DIR: fails every allocation of the WASI 0.2
 * host in turn. src/wasi2/wasi2.c is included here with malloc, calloc, realloc
 * and the arena allocator replaced by counting versions (the component layer and
 * the engine come from the library, uncounted). With a budget of N allocations,
 * allocation N+1 fails; making the host, instantiating the component (the files
 * guest, with RO_DIR read-only as "ro" and RW_DIR as "rw") and calling
 * wasi:cli/run#run must then end in an out-of-memory error or a trap saying so,
 * never a crash or a leak (run it in the sanitizer build). The guest's output
 * goes to /dev/null.
 */
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arena.h"

static long alloc_budget = -1;
static long alloc_count;

static bool take(void) {
  alloc_count++;
  if (alloc_budget == 0) return false;
  if (alloc_budget > 0) alloc_budget--;
  return true;
}
static void *test_malloc(size_t n) { return take() ? malloc(n) : NULL; }
static void *test_calloc(size_t n, size_t size) { return take() ? calloc(n, size) : NULL; }
static void *test_realloc(void *p, size_t n) { return take() ? realloc(p, n) : NULL; }
static void *test_arena_alloc(wisp__arena_t *arena, size_t size) {
  return take() ? wisp__arena_alloc(arena, size) : NULL;
}

#define malloc            test_malloc
#define calloc            test_calloc
#define realloc           test_realloc
#define wisp__arena_alloc test_arena_alloc
#include "wasi2/wasi2.c"
#undef malloc
#undef calloc
#undef realloc
#undef wisp__arena_alloc

/* One run: 0 when everything worked, 1 when it failed saying out of memory,
 * -1 on any other outcome. */
static int run_once(wisp_engine_t *engine, const wisp_component_t *c, const wisp__wasi2_config_t *cfg) {
  wisp_store_t *store = wisp_store_new(engine);
  wisp_exec_t *exec = wisp_exec_new(store, NULL);
  wisp__wasi2_t *w = NULL;
  wisp__cinst_t *inst = NULL;
  const wisp__chost_func_t *funcs = NULL;
  size_t nfuncs = 0;
  wisp_error_t err = {0};
  wisp__arena_t arena;
  wisp__arena_init(&arena);
  int result = -1;
  int rc = wisp__wasi2_new(cfg, &w);
  if (rc == 0) rc = wisp__wasi2_check(w, c);
  if (rc == 0) rc = wisp__wasi2_host_funcs(w, c, &funcs, &nfuncs);
  if (rc) {
    result = rc == WISP_ERR_NOMEM ? 1 : -1;
    if (result < 0) printf("host: error %d (%s)\n", rc, w ? wisp__wasi2_error(w) : "");
    goto done;
  }
  rc = wisp__cinst_new(c, store, exec, funcs, nfuncs, &inst, &err);
  if (rc) {
    result = rc == WISP_ERR_NOMEM ? 1 : -1;
    if (result < 0) printf("instantiate: %s\n", err.message);
    goto done;
  }
  wisp__cfunc_t *run = wisp__cinst_func(inst, "wasi:cli/run@0.2.0", "run");
  wisp__cval_t res = {.type = wisp__ctype(c, wisp__cfunc_type(run))->results[0].type};
  char trap[300] = "";
  if (wisp__cinst_call(inst, run, NULL, 0, &res, 1, &arena, trap, sizeof trap) == 0) {
    result = res.of.var.disc == 0 ? 0 : -1;
    if (result < 0) printf("run returned err\n");
  } else if (wisp__wasi2_exit_status(w) == 0) {
    result = 0;
  } else {
    result = strstr(trap, "out of memory") ? 1 : -1;
    if (result < 0) printf("trap: %s\n", trap);
  }
done:
  wisp__arena_free(&arena);
  wisp__cinst_delete(inst);
  wisp__wasi2_delete(w);
  wisp_exec_delete(exec);
  wisp_store_delete(store);
  return result;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: wasi2_nomem COMPONENT RO_DIR RW_DIR\n");
    return 2;
  }
  FILE *f = fopen(argv[1], "rb");
  if (!f) {
    perror(argv[1]);
    return 2;
  }
  static uint8_t bytes[1 << 20];
  size_t len = fread(bytes, 1, sizeof bytes, f);
  fclose(f);
  wisp_engine_t *engine = wisp_engine_new();
  wisp_component_t *c = NULL;
  wisp_error_t err;
  if (wisp_component_new(engine, bytes, len, &c, &err)) {
    printf("decode: %s\n", err.message);
    return 1;
  }
  int devnull = open("/dev/null", O_RDWR);
  const char *args[] = {"files.wasm"};
  const char *env[] = {"A=1"};
  wisp_wasi_preopen_t dirs[] = {{argv[2], "ro", true}, {argv[3], "rw", false}};
  wisp__wasi2_config_t cfg = {.argv = args,
                              .argc = 1,
                              .env = env,
                              .envc = 1,
                              .stdio = {devnull, devnull, devnull},
                              .preopens = dirs,
                              .npreopens = 2,
                              .deadline_ns = -1};
  alloc_budget = -1;
  alloc_count = 0;
  if (run_once(engine, c, &cfg) != 0) {
    printf("the run without failures failed\n");
    return 1;
  }
  long total = alloc_count;
  int status = 0;
  long clean = 0;
  for (long n = 0; n < total; n++) {
    alloc_budget = n;
    int r = run_once(engine, c, &cfg);
    if (r < 0) {
      printf("FAIL: allocation %ld failing: not an out-of-memory outcome\n", n + 1);
      status = 1;
    }
    if (r == 1) clean++;
  }
  alloc_budget = -1;
  printf(
      "%ld host allocations in a run; each failed in turn: %ld out-of-memory outcomes, %ld runs unaffected\n",
      total, clean, total - clean);
  close(devnull);
  wisp_component_delete(c);
  wisp_engine_delete(engine);
  return status;
}
