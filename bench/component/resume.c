/*
 * bench/component/resume.c: the cost of a host call that blocks once (the
 * guest is paused, the call returns WISP__CCALL_BLOCKED, the embedder resumes
 * it and the host function is retried) against one that completes at once,
 * on tests/component/guests/pausable.c (its `run` calls wait(t) count times;
 * each returns a string lowered through the guest's realloc). Build and run
 * (after the release build, which builds the guest):
 *   gcc -O2 -I src -I src/core -I include bench/component/resume.c \
 *       build/release/libwisp_core.a -lm -lpthread -o /tmp/resume-bench
 *   /tmp/resume-bench build/release/tests/component/pausable.component.wasm
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "component/cinst.h"
static uint32_t released;
static int host_wait(void *env, wisp__cabi_t *cx, const wisp__cval_t *args, uint32_t nargs, wisp__cval_t *results, uint32_t nresults) {
  (void)env; (void)nargs; (void)nresults;
  if ((uint32_t)args[0].of.u >= released) { wisp__chost_wait(cx)->token = &released; return WISP__CHOST_BLOCKED; }
  results[0].of.str.ptr = "x"; results[0].of.str.len = 1; return 0;
}
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
int main(int argc, char **argv) {
  if (argc != 2) { fprintf(stderr, "usage: resume-bench PAUSABLE.component.wasm\n"); return 2; }
  FILE *f = fopen(argv[1], "rb");
  if (!f) { perror(argv[1]); return 2; } static uint8_t b[1 << 20]; size_t n = fread(b, 1, sizeof b, f); fclose(f);
  wisp_engine_t *e = wisp_engine_new(); wisp_error_t err; wisp_component_t *c;
  wisp_component_new(e, b, n, &c, &err);
  wisp_store_t *s = wisp_store_new(e); wisp_exec_t *x = wisp_exec_new(s, NULL);
  wisp__chost_func_t h[1] = {{"wisp:tests/waiter", "wait", host_wait, NULL}};
  wisp__cinst_t *in; wisp__cinst_new(c, s, x, h, 1, &in, &err);
  wisp__cfunc_t *fn = wisp__cinst_func(in, NULL, "run");
  const wisp__ctype_t *ft = wisp__ctype(c, wisp__cfunc_type(fn));
  for (int mode = 0; mode < 2; mode++) {
    int N = 1000, reps = 50; double t0 = now(); long pauses = 0;
    for (int r = 0; r < reps; r++) {
      released = mode ? 1u << 30 : 0;
      wisp__arena_t a; wisp__arena_init(&a);
      wisp__cval_t args[3] = {{.type = ft->fields[0].type, .of.u = 0}, {.type = ft->fields[1].type, .of.u = N}, {.type = ft->fields[2].type, .of.u = 0}};
      wisp__cval_t res = {.type = ft->results[0].type}; char trap[200];
      wisp__ccall_status_t st = wisp__cinst_call_start(in, fn, args, 3, &res, 1, &a, trap, sizeof trap);
      while (st == WISP__CCALL_BLOCKED) { pauses++; released++; st = wisp__cinst_call_resume(in); }
      if (st != WISP__CCALL_DONE) { printf("trap %s\n", trap); return 1; }
      wisp__arena_free(&a);
    }
    double dt = now() - t0;
    printf("%s: %.0f ns per host call (%ld pauses)\n", mode ? "host calls that complete at once" : "host calls that block once then resume", dt / (N * reps) * 1e9, pauses);
  }
  return 0;
}
