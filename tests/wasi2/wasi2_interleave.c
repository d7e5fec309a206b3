/*
 * wasi2_interleave SLEEPER: WASI 0.2 blocking calls suspend the guest in a
 * resumable component call (src/component/cinst.h) instead of blocking the
 * thread. guests/sleeper.c's component (it spins, then sleeps through
 * wasi:io/poll, then prints, three times) runs as several instances on this
 * one thread, driven by a small scheduler: fuel slices round-robin, blocked
 * calls resumed when their wait record's descriptor or time is due.
 *   interleave: three sleepers of 3 x 200 ms finish together in about 600 ms,
 *               not 1800 ms in a row; each prints its own ticks.
 *   deadline:   a sleeper of 10 s with a 300 ms deadline is cut there (a trap
 *               naming the deadline) while a neighbour goes on to the end.
 * Prints "ok N checks" or the failed checks.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "component/cinst.h"
#include "wasi2/wasi2.h"

static int failures, checks;

#define CHECK(cond)                                                       \
  do {                                                                    \
    checks++;                                                             \
    if (!(cond)) {                                                        \
      printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);              \
      failures++;                                                         \
    }                                                                     \
  } while (0)

static int64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static wisp_engine_t *engine;
static wisp_component_t *comp;

#define SLICE 20000

typedef struct job {
  const char *argv[4];
  FILE *out; /* the guest's stdout */
  wisp__wasi2_t *wasi;
  wisp_store_t *store;
  wisp_exec_t *exec;
  wisp__cinst_t *inst;
  wisp__arena_t arena;
  wisp__cval_t result;
  char trap[256];
  wisp__ccall_status_t st;
  int64_t ended_ns;
  int blocks, slices;
} job_t;

static void job_start(job_t *j, const char *n, const char *ms, int64_t deadline_ns) {
  j->argv[0] = "sleeper";
  j->argv[1] = n;
  j->argv[2] = ms;
  j->argv[3] = "20000";
  j->out = tmpfile();
  wisp__wasi2_config_t cfg = {.argv = j->argv, .argc = 4, .stdio = {-1, fileno(j->out), 2},
                              .deadline_ns = deadline_ns};
  const wisp__chost_func_t *funcs = NULL;
  size_t nfuncs = 0;
  wisp_error_t err = {0};
  if (wisp__wasi2_new(&cfg, &j->wasi) || wisp__wasi2_check(j->wasi, comp) ||
      wisp__wasi2_host_funcs(j->wasi, comp, &funcs, &nfuncs)) {
    printf("FAIL wasi2 host: %s\n", wisp__wasi2_error(j->wasi));
    exit(1);
  }
  j->store = wisp_store_new(engine);
  j->exec = wisp_exec_new(j->store, NULL);
  if (wisp__cinst_new(comp, j->store, j->exec, funcs, nfuncs, &j->inst, &err)) {
    printf("FAIL instantiate: %s\n", err.message);
    exit(1);
  }
  wisp__arena_init(&j->arena);
  wisp__cfunc_t *run = wisp__cinst_func(j->inst, "wasi:cli/run@0.2.0", "run");
  const wisp__ctype_t *ft = wisp__ctype(comp, wisp__cfunc_type(run));
  j->result = (wisp__cval_t){.type = ft->results[0].type};
  wisp_exec_set_fuel(j->exec, SLICE);
  j->st = wisp__cinst_call_start(j->inst, run, NULL, 0, &j->result, 1, &j->arena, j->trap, sizeof j->trap);
}

static void job_end(job_t *j) {
  wisp__cinst_delete(j->inst);
  wisp_exec_delete(j->exec);
  wisp_store_delete(j->store);
  wisp__wasi2_delete(j->wasi);
  wisp__arena_free(&j->arena);
  fclose(j->out);
}

static bool paused(const job_t *j) { return j->st == WISP__CCALL_OUT_OF_FUEL || j->st == WISP__CCALL_BLOCKED; }

/* Runs the jobs to the end on this thread; returns the wall time taken. */
static int64_t schedule(job_t *jobs, int n, int64_t t0) {
  for (;;) {
    int64_t now = mono_ns(), next = -1;
    struct pollfd fds[8];
    int nfds = 0, live = 0;
    bool progressed = false;
    for (int i = 0; i < n; i++) {
      job_t *j = &jobs[i];
      if (!paused(j)) continue;
      live++;
      if (j->st == WISP__CCALL_OUT_OF_FUEL) {
        j->slices++;
        wisp_exec_set_fuel(j->exec, SLICE);
        j->st = wisp__cinst_call_resume(j->inst);
      } else {
        const wisp__cwait_t *w = wisp__cinst_call_wait(j->inst);
        bool due = w->wake_ns >= 0 && w->wake_ns <= now;
        if (w->fd >= 0) {
          struct pollfd p = {.fd = w->fd, .events = w->events};
          due = due || poll(&p, 1, 0) > 0;
        }
        if (due) {
          j->st = wisp__cinst_call_resume(j->inst);
        } else {
          j->blocks++;
          if (w->fd >= 0 && nfds < 8) fds[nfds++] = (struct pollfd){.fd = w->fd, .events = w->events};
          if (w->wake_ns >= 0 && (next < 0 || w->wake_ns < next)) next = w->wake_ns;
          continue;
        }
      }
      progressed = true;
      if (!paused(j)) j->ended_ns = mono_ns() - t0;
    }
    if (!live) return mono_ns() - t0;
    if (progressed) continue;
    /* everyone waits: sleep until the first wake time or descriptor */
    int timeout = next < 0 ? -1 : (int)((next - mono_ns() + 999999) / 1000000);
    poll(fds, (nfds_t)nfds, timeout < 0 && next >= 0 ? 0 : timeout);
  }
}

static bool output_is(job_t *j, const char *want) {
  char buf[256] = "";
  fflush(j->out);
  rewind(j->out);
  size_t got = fread(buf, 1, sizeof buf - 1, j->out);
  buf[got] = 0;
  if (strcmp(buf, want) != 0) printf("  output: [%s]\n", buf);
  return strcmp(buf, want) == 0;
}

static void test_interleave(void) {
  job_t jobs[3];
  memset(jobs, 0, sizeof jobs);
  int64_t t0 = mono_ns();
  for (int i = 0; i < 3; i++) job_start(&jobs[i], "3", "200", -1);
  int64_t took = schedule(jobs, 3, t0);
  for (int i = 0; i < 3; i++) {
    CHECK(jobs[i].st == WISP__CCALL_DONE && jobs[i].result.of.var.disc == 0);
    if (jobs[i].st != WISP__CCALL_DONE) printf("  job %d: %s\n", i, jobs[i].trap);
    CHECK(output_is(&jobs[i], "tick 0\ntick 1\ntick 2\n"));
    CHECK(jobs[i].ended_ns >= 600000000);
    CHECK(jobs[i].slices > 1 && jobs[i].blocks >= 3);
  }
  printf("interleave: 3 sleepers of 3 x 200 ms on one thread took %lld ms (slices %d %d %d)\n",
         (long long)(took / 1000000), jobs[0].slices, jobs[1].slices, jobs[2].slices);
  CHECK(took < 1200000000); /* in a row it would be 1800 ms and more */
  for (int i = 0; i < 3; i++) job_end(&jobs[i]);
}

static void test_deadline(void) {
  job_t jobs[2];
  memset(jobs, 0, sizeof jobs);
  int64_t t0 = mono_ns();
  job_start(&jobs[0], "1", "10000", t0 + 300000000);
  job_start(&jobs[1], "4", "100", -1);
  schedule(jobs, 2, t0);
  CHECK(jobs[0].st == WISP__CCALL_TRAPPED && strstr(jobs[0].trap, "wasi2: deadline exceeded") != NULL);
  printf("deadline: cut after %lld ms: %s\n", (long long)(jobs[0].ended_ns / 1000000), jobs[0].trap);
  CHECK(jobs[0].ended_ns >= 300000000 && jobs[0].ended_ns < 1000000000);
  CHECK(output_is(&jobs[0], ""));
  CHECK(jobs[1].st == WISP__CCALL_DONE && output_is(&jobs[1], "tick 0\ntick 1\ntick 2\ntick 3\n"));
  CHECK(jobs[1].ended_ns >= 400000000);
  for (int i = 0; i < 2; i++) job_end(&jobs[i]);
}

int main(int argc, char **argv) {
  if (argc != 2) { fprintf(stderr, "usage: wasi2_interleave SLEEPER.component.wasm\n"); return 2; }
  FILE *file = fopen(argv[1], "rb");
  if (!file) { perror(argv[1]); return 2; }
  static uint8_t bytes[1 << 21];
  size_t len = fread(bytes, 1, sizeof bytes, file);
  fclose(file);
  engine = wisp_engine_new();
  wisp_error_t err;
  if (wisp_component_new(engine, bytes, len, &comp, &err)) { printf("FAIL decode: %s\n", err.message); return 1; }
  test_interleave();
  test_deadline();
  wisp_component_delete(comp);
  wisp_engine_delete(engine);
  if (failures) return 1;
  printf("ok %d checks\n", checks);
  return 0;
}
