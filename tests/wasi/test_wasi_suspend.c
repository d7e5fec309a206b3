/*
 * test_wasi_suspend.c: WASI in suspend mode (wisp_wasi_config_t.suspend)
 * under the engine: blocking calls suspend the guest instead of the thread,
 * and one thread runs two guests at once by resuming whichever is due.
 *   1. two instances of guests/cli_behaviour.wasm "nap" (3 x 30 ms sleeps)
 *      interleave on this thread: B prints before A has finished;
 *   2. "stdin" reads a callback stream that says EAGAIN until the test feeds
 *      it: the guest suspends, and completes once the data is there.
 * Usage: test_wasi_suspend GUEST.wasm
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wisp.h"
#include "wisp_wasi.h"

static int failures;
static void check(const char *what, int ok) {
  printf("%s %s\n", ok ? "ok" : "FAIL", what);
  failures += !ok;
}

static char log_text[4096];
static size_t log_len;

typedef struct guest {
  const char *tag;
  wisp_store_t *store;
  wisp_linker_t *linker;
  wisp_exec_t *exec;
  wisp_wasi_t *wasi;
  wisp_status_t status;
  int suspensions;
  int feed; /* stdin: 0 = nothing yet (EAGAIN), 1 = data, 2 = end */
} guest_t;

static int64_t log_write(void *ctx, const uint8_t *buf, size_t len) {
  guest_t *g = ctx;
  int n = snprintf(log_text + log_len, sizeof log_text - log_len, "%s:%.*s", g->tag, (int)len, buf);
  if (n > 0 && (size_t)n < sizeof log_text - log_len) log_len += (size_t)n;
  return (int64_t)len;
}

static int64_t feed_read(void *ctx, uint8_t *buf, size_t len) {
  guest_t *g = ctx;
  if (g->feed == 0) return -WISP_WASI_EAGAIN;
  if (g->feed == 2) return 0;
  g->feed = 2;
  memcpy(buf, "0123456789", len < 10 ? len : 10);
  return len < 10 ? (int64_t)len : 10;
}

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int start(wisp_engine_t *engine, wisp_module_t *module, guest_t *g, const char *mode) {
  const char *argv[] = {"cli_behaviour", mode};
  wisp_wasi_config_t cfg;
  wisp_wasi_config_init(&cfg);
  cfg.argv = argv;
  cfg.argc = 2;
  cfg.suspend = true;
  cfg.stdio[0] = (wisp_wasi_stream_t){.host_fd = -1, .read = feed_read, .ctx = g};
  cfg.stdio[1] = (wisp_wasi_stream_t){.host_fd = -1, .write = log_write, .ctx = g};
  cfg.stdio[2] = (wisp_wasi_stream_t){.host_fd = 2};
  wisp_error_t err = {0};
  wisp_instance_t *inst;
  wisp_trap_t *trap = NULL;
  wisp_extern_t entry;
  if (wisp_wasi_new(&cfg, &g->wasi, &err) < 0) goto fail;
  g->store = wisp_store_new(engine);
  g->linker = wisp_linker_new(g->store);
  g->exec = wisp_exec_new(g->store, NULL);
  if (wisp_wasi_define(g->wasi, g->linker) < 0) goto fail;
  if (wisp_linker_instantiate(g->linker, g->exec, module, &inst, &trap, &err) < 0) goto fail;
  if (wisp_instance_export(inst, "_start", 6, &entry) < 0) goto fail;
  g->status = wisp_exec_call(g->exec, entry.of.func, NULL, 0, NULL, 0);
  return 0;
fail:
  printf("FAIL cannot start %s: %s\n", g->tag, err.message);
  if (trap) wisp_trap_delete(trap);
  failures++;
  return -1;
}

/* The exit status of a finished guest (0 when _start returned). */
static int finished(guest_t *g) {
  if (g->status == WISP_DONE) return 0;
  wisp_trap_t *trap = wisp_exec_take_trap(g->exec);
  int code = trap && wisp_trap_kind(trap) == WISP_TRAP_EXIT ? wisp_trap_exit_code(trap) : -1;
  if (trap && code < 0) printf("  %s trapped: %s\n", g->tag, wisp_trap_message(trap));
  wisp_trap_delete(trap);
  return code;
}

static void stop(guest_t *g) {
  wisp_exec_delete(g->exec);
  wisp_linker_delete(g->linker);
  wisp_store_delete(g->store);
  wisp_wasi_delete(g->wasi);
}

/* Runs every guest to the end on this thread: resume whichever is due. */
static void schedule(guest_t *gs, int n) {
  for (;;) {
    int64_t next = -1;
    int waiting = 0;
    for (int i = 0; i < n; i++) {
      guest_t *g = &gs[i];
      if (g->status != WISP_SUSPENDED) continue;
      waiting++;
      int64_t wake;
      if (!wisp_wasi_suspended(g->wasi, &wake)) {
        printf("FAIL %s suspended outside WASI\n", g->tag);
        failures++;
        return;
      }
      if (wake < 0) g->feed = g->feed ? g->feed : 1; /* the stream it waits for gets data */
      if (wake < 0 || wake <= now_ns()) {
        g->suspensions++;
        g->status = wisp_wasi_resume(g->wasi, g->exec);
        wake = now_ns();
      }
      if (g->status == WISP_SUSPENDED && wisp_wasi_suspended(g->wasi, &wake) && wake >= 0 &&
          (next < 0 || wake < next))
        next = wake;
    }
    if (!waiting) return;
    int64_t d = next - now_ns();
    if (next >= 0 && d > 0) nanosleep(&(struct timespec){d / 1000000000, d % 1000000000}, NULL);
  }
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: test_wasi_suspend GUEST.wasm\n");
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
  wisp_module_t *module = NULL;
  wisp_error_t err;
  if (wisp_module_new(engine, bytes, len, &module, &err) < 0) {
    printf("FAIL module: %s\n", err.message);
    return 1;
  }

  guest_t naps[2] = {{.tag = "A"}, {.tag = "B"}};
  int64_t t0 = now_ns();
  if (start(engine, module, &naps[0], "nap") == 0 && start(engine, module, &naps[1], "nap") == 0) {
    check("both guests suspended in their first sleep", naps[0].status == WISP_SUSPENDED && naps[1].status == WISP_SUSPENDED);
    schedule(naps, 2);
    long ms = (long)((now_ns() - t0) / 1000000);
    printf("  two guests, 3 x 30 ms sleeps each, on one thread: %ld ms; log:\n%s", ms, log_text);
    check("both finished with status 0", finished(&naps[0]) == 0 && finished(&naps[1]) == 0);
    check("each suspended 3 times", naps[0].suspensions >= 3 && naps[1].suspensions >= 3);
    const char *b0 = strstr(log_text, "B:nap 0"), *a2 = strstr(log_text, "A:nap 2");
    check("interleaved: B napped before A finished", b0 && a2 && b0 < a2);
    check("slept at least 90 ms", ms >= 90);
  }
  stop(&naps[0]);
  stop(&naps[1]);

  guest_t reader = {.tag = "R"};
  log_len = 0;
  log_text[0] = '\0';
  if (start(engine, module, &reader, "stdin") == 0) {
    check("stdin guest suspended on the empty stream", reader.status == WISP_SUSPENDED);
    int64_t wake = 0;
    check("waiting for the embedder (wake -1)", wisp_wasi_suspended(reader.wasi, &wake) && wake == -1);
    schedule(&reader, 1);
    check("stdin guest finished", finished(&reader) == 0);
    check("it read the 10 bytes fed later", strstr(log_text, "stdin bytes: 10") != NULL);
  }
  stop(&reader);
  wisp_module_delete(module);
  wisp_engine_delete(engine);
  printf("%s: %d failure(s)\n", failures ? "FAILED" : "PASSED", failures);
  return failures ? 1 : 0;
}
