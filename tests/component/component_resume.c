/*
 * component_resume PAUSABLE: resumable component calls (src/component/cinst.h)
 * on guests/pausable.c's component, whose export `run` spins and then calls
 * the host's wisp:tests/waiter#wait, which blocks until a ticket is ready:
 *   - two instances in two stores run interleaved on this one thread, paused
 *     at the end of every fuel slice and at every blocked host call, resumed
 *     in turn as the test hands out tickets; each gets its own results, and
 *     post-return runs once per call;
 *   - a call into an instance whose call is paused is refused (reentrance)
 *     and leaves the paused call alone;
 *   - a blocked call is aborted; the instance then takes a new call;
 *   - a host call waiting on a pipe names the descriptor; writing to it and
 *     resuming completes the call;
 *   - the run-to-completion call waits on the thread for a timer the host
 *     keeps in its progress word, and traps for a wait only a resumable call
 *     can serve.
 * Prints "ok N checks" or the failed checks; exit status 1 on failure.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "component/cinst.h"

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

enum { BY_TOKEN, BY_FD, BY_TIMER };

/* The host side of one instance's wisp:tests/waiter. */
typedef struct waiter {
  int mode;
  uint32_t released; /* BY_TOKEN: tickets below this are ready */
  int fd;            /* BY_FD: ready when readable; the byte read is the label */
  int attempts, blocks;
} waiter_t;

static int host_wait(void *env, wisp__cabi_t *cx, const wisp__cval_t *args, uint32_t nargs, wisp__cval_t *results,
                     uint32_t nresults) {
  waiter_t *w = env;
  if (nargs != 1 || nresults != 1) return -1;
  w->attempts++;
  wisp__cwait_t *wait = wisp__chost_wait(cx);
  uint32_t t = (uint32_t)args[0].of.u;
  char label[32];
  if (w->mode == BY_TOKEN) {
    if (t >= w->released) {
      w->blocks++;
      wait->token = w;
      return WISP__CHOST_BLOCKED;
    }
    snprintf(label, sizeof label, "t%u", t);
  } else if (w->mode == BY_FD) {
    struct pollfd p = {.fd = w->fd, .events = POLLIN};
    if (poll(&p, 1, 0) <= 0) {
      w->blocks++;
      wait->fd = w->fd;
      wait->events = POLLIN;
      return WISP__CHOST_BLOCKED;
    }
    char byte = '?';
    if (read(w->fd, &byte, 1) != 1) return -1;
    snprintf(label, sizeof label, "fd%c", byte);
  } else {
    /* a 20 ms timer per ticket, its end kept in the progress word */
    if (wait->progress == 0) wait->progress = (uint64_t)(mono_ns() + 20000000);
    if (mono_ns() < (int64_t)wait->progress) {
      w->blocks++;
      wait->wake_ns = (int64_t)wait->progress;
      return WISP__CHOST_BLOCKED;
    }
    snprintf(label, sizeof label, "timer%u", t);
  }
  size_t len = strlen(label);
  char *copy = wisp__arena_alloc(cx->arena, len);
  if (!copy) return -1;
  memcpy(copy, label, len);
  results[0].of.str.ptr = copy;
  results[0].of.str.len = (uint32_t)len;
  return 0;
}

static wisp_engine_t *engine;
static const wisp_component_t *comp;

typedef struct guest {
  wisp_store_t *store;
  wisp_exec_t *exec;
  wisp__cinst_t *inst;
  waiter_t waiter;
  wisp__chost_func_t host[1];
  wisp__arena_t arena;
  wisp__cval_t args[3], result;
  char trap[256];
  int fuel_pauses, block_pauses;
} guest_t;

static void guest_new(guest_t *g, int mode) {
  memset(g, 0, sizeof *g);
  g->waiter.mode = mode;
  g->waiter.fd = -1;
  g->host[0] = (wisp__chost_func_t){"wisp:tests/waiter", "wait", host_wait, &g->waiter};
  g->store = wisp_store_new(engine);
  g->exec = wisp_exec_new(g->store, NULL);
  wisp_error_t err;
  if (wisp__cinst_new(comp, g->store, g->exec, g->host, 1, &g->inst, &err)) {
    printf("FAIL instantiate: %s\n", err.message);
    exit(1);
  }
  wisp__arena_init(&g->arena);
}

static void guest_delete(guest_t *g) {
  wisp__cinst_delete(g->inst);
  wisp_exec_delete(g->exec);
  wisp_store_delete(g->store);
  wisp__arena_free(&g->arena);
}

/* Starts run(first, count, work) on g. */
static wisp__ccall_status_t start_run(guest_t *g, uint32_t first, uint32_t count, uint32_t work) {
  wisp__cfunc_t *f = wisp__cinst_func(g->inst, NULL, "run");
  const wisp__ctype_t *ft = wisp__ctype(comp, wisp__cfunc_type(f));
  uint32_t vals[3] = {first, count, work};
  for (int i = 0; i < 3; i++) g->args[i] = (wisp__cval_t){.type = ft->fields[i].type, .of.u = vals[i]};
  g->result = (wisp__cval_t){.type = ft->results[0].type};
  return wisp__cinst_call_start(g->inst, f, g->args, 3, &g->result, 1, &g->arena, g->trap, sizeof g->trap);
}

static bool result_is(const guest_t *g, const char *want) {
  return g->result.of.str.len == strlen(want) && memcmp(g->result.of.str.ptr, want, strlen(want)) == 0;
}

static uint32_t posts(guest_t *g) {
  wisp__cfunc_t *f = wisp__cinst_func(g->inst, NULL, "posts");
  const wisp__ctype_t *ft = wisp__ctype(comp, wisp__cfunc_type(f));
  wisp__cval_t out = {.type = ft->results[0].type};
  if (wisp__cinst_call(g->inst, f, NULL, 0, &out, 1, &g->arena, g->trap, sizeof g->trap)) return 9999;
  return (uint32_t)out.of.u;
}

#define SLICE 3000

/* Two guests on one thread: every pause is a chance to run the other. */
static void test_interleaved(void) {
  guest_t a, b;
  guest_new(&a, BY_TOKEN);
  guest_new(&b, BY_TOKEN);
  wisp_exec_set_fuel(a.exec, SLICE);
  wisp_exec_set_fuel(b.exec, SLICE);
  guest_t *gs[2] = {&a, &b};
  wisp__ccall_status_t st[2] = {start_run(&a, 0, 3, 200000), start_run(&b, 10, 2, 100000)};
  b.waiter.released = 10;
  int rounds = 0;
  while ((st[0] > WISP__CCALL_TRAPPED || st[1] > WISP__CCALL_TRAPPED) && rounds < 100000) {
    rounds++;
    for (int i = 0; i < 2; i++) {
      guest_t *g = gs[i];
      if (st[i] == WISP__CCALL_OUT_OF_FUEL) {
        g->fuel_pauses++;
        wisp_exec_set_fuel(g->exec, SLICE);
      } else if (st[i] == WISP__CCALL_BLOCKED) {
        const wisp__cwait_t *w = wisp__cinst_call_wait(g->inst);
        CHECK(w && w->token == &g->waiter && w->fd == -1 && w->wake_ns == -1);
        g->block_pauses++;
        /* an early resume blocks again; every other round a ticket is handed out */
        if (rounds % 2 == 0) g->waiter.released++;
      } else {
        continue;
      }
      CHECK(wisp__cinst_call_paused(g->inst));
      st[i] = wisp__cinst_call_resume(g->inst);
    }
  }
  CHECK(st[0] == WISP__CCALL_DONE && st[1] == WISP__CCALL_DONE);
  if (st[0] != WISP__CCALL_DONE) printf("  a: %s\n", a.trap);
  if (st[1] != WISP__CCALL_DONE) printf("  b: %s\n", b.trap);
  CHECK(result_is(&a, "t0,t1,t2"));
  CHECK(result_is(&b, "t10,t11"));
  CHECK(a.fuel_pauses > 20 && b.fuel_pauses > 10);
  CHECK(a.block_pauses >= 3 && b.block_pauses >= 2);
  CHECK(a.waiter.blocks == a.block_pauses && b.waiter.blocks == b.block_pauses);
  CHECK(!wisp__cinst_call_paused(a.inst) && wisp__cinst_call_wait(a.inst) == NULL);
  wisp_exec_set_fuel(a.exec, -1);
  wisp_exec_set_fuel(b.exec, -1);
  CHECK(posts(&a) == 1 && posts(&b) == 1);
  printf("interleaved: %d rounds; a paused %d times for fuel, %d blocked; b %d and %d\n", rounds, a.fuel_pauses,
         a.block_pauses, b.fuel_pauses, b.block_pauses);
  guest_delete(&a);
  guest_delete(&b);
}

/* Reentrance is refused; abort ends a blocked call; the instance goes on. */
static void test_reenter_abort(void) {
  guest_t g;
  guest_new(&g, BY_TOKEN);
  CHECK(start_run(&g, 0, 2, 10) == WISP__CCALL_BLOCKED);
  guest_t other = g; /* a second call's buffers on the same instance */
  wisp__cfunc_t *f = wisp__cinst_func(g.inst, NULL, "run");
  CHECK(wisp__cinst_call_start(g.inst, f, g.args, 3, &other.result, 1, &g.arena, other.trap, sizeof other.trap) ==
        WISP__CCALL_TRAPPED);
  CHECK(strstr(other.trap, "in progress") != NULL);
  CHECK(wisp__cinst_call_paused(g.inst));
  g.waiter.released = 1;
  CHECK(wisp__cinst_call_resume(g.inst) == WISP__CCALL_BLOCKED); /* ticket 1 is not out yet */
  wisp__cinst_call_abort(g.inst);
  CHECK(strcmp(g.trap, "call: aborted") == 0);
  CHECK(!wisp__cinst_call_paused(g.inst));
  CHECK(wisp__cinst_call_resume(g.inst) == WISP__CCALL_TRAPPED && strcmp(g.trap, "no call to resume") == 0);
  g.waiter.released = 100;
  CHECK(start_run(&g, 5, 2, 10) == WISP__CCALL_DONE && result_is(&g, "t5,t6"));
  /* a paused call is aborted by deleting the instance (ASan: nothing leaks) */
  g.waiter.released = 0;
  CHECK(start_run(&g, 0, 1, 10) == WISP__CCALL_BLOCKED);
  guest_delete(&g);
}

/* A wait on a descriptor: the embedder watches it. */
static void test_fd(void) {
  guest_t g;
  guest_new(&g, BY_FD);
  int p[2];
  CHECK(pipe(p) == 0);
  g.waiter.fd = p[0];
  CHECK(start_run(&g, 0, 2, 10) == WISP__CCALL_BLOCKED);
  const wisp__cwait_t *w = wisp__cinst_call_wait(g.inst);
  CHECK(w && w->fd == p[0] && w->events == POLLIN && w->token == NULL);
  CHECK(write(p[1], "ab", 2) == 2);
  CHECK(wisp__cinst_call_resume(g.inst) == WISP__CCALL_DONE && result_is(&g, "fda,fdb"));
  close(p[0]);
  close(p[1]);
  guest_delete(&g);
}

/* The run-to-completion call waits on the thread. */
static void test_sync(void) {
  guest_t g;
  guest_new(&g, BY_TIMER);
  wisp__cfunc_t *f = wisp__cinst_func(g.inst, NULL, "run");
  const wisp__ctype_t *ft = wisp__ctype(comp, wisp__cfunc_type(f));
  uint32_t vals[3] = {1, 3, 1000};
  for (int i = 0; i < 3; i++) g.args[i] = (wisp__cval_t){.type = ft->fields[i].type, .of.u = vals[i]};
  g.result = (wisp__cval_t){.type = ft->results[0].type};
  int64_t t0 = mono_ns();
  int rc = wisp__cinst_call(g.inst, f, g.args, 3, &g.result, 1, &g.arena, g.trap, sizeof g.trap);
  int64_t took = mono_ns() - t0;
  CHECK(rc == 0 && result_is(&g, "timer1,timer2,timer3"));
  CHECK(took >= 60000000 && g.waiter.blocks >= 3);
  /* a wait on a token cannot be served by a thread that waits */
  g.waiter.mode = BY_TOKEN;
  rc = wisp__cinst_call(g.inst, f, g.args, 3, &g.result, 1, &g.arena, g.trap, sizeof g.trap);
  CHECK(rc == -1 && strstr(g.trap, "only a resumable call") != NULL);
  CHECK(!wisp__cinst_call_paused(g.inst));
  guest_delete(&g);
}

int main(int argc, char **argv) {
  if (argc != 2) { fprintf(stderr, "usage: component_resume PAUSABLE.component.wasm\n"); return 2; }
  FILE *file = fopen(argv[1], "rb");
  if (!file) { perror(argv[1]); return 2; }
  static uint8_t bytes[1 << 20];
  size_t len = fread(bytes, 1, sizeof bytes, file);
  fclose(file);
  engine = wisp_engine_new();
  wisp_error_t err;
  wisp_component_t *c = NULL;
  if (wisp_component_new(engine, bytes, len, &c, &err)) { printf("FAIL decode: %s\n", err.message); return 1; }
  comp = c;
  test_interleaved();
  test_reenter_abort();
  test_fd();
  test_sync();
  wisp_component_delete(c);
  wisp_engine_delete(engine);
  if (failures) return 1;
  printf("ok %d checks\n", checks);
  return 0;
}
