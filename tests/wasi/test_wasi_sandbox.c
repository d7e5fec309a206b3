/*
 * test_wasi_sandbox.c: runs guests/sandbox_guest.wasm under the engine with
 * the embedding API of wisp_wasi.h (stdout through a callback, two preopens,
 * one read-only), in the layout of sandbox_layout.h:
 *   1. the escape checks: the guest's own exit status must be 0;
 *   2. the race: the guest opens paths while a host thread renames the
 *      directories it walks and swaps one for a symlink pointing outside;
 *   3. nothing under outside/ or ro/ may have changed.
 * Usage: test_wasi_sandbox GUEST.wasm
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>

#include "sandbox_layout.h"
#include "wisp.h"
#include "wisp_wasi.h"

static char out[65536];
static size_t nout;

static int64_t capture(void *ctx, const uint8_t *buf, size_t len) {
  if (len > sizeof out - 1 - nout) len = sizeof out - 1 - nout;
  memcpy(out + nout, buf, len);
  nout += len;
  out[nout] = '\0';
  return (int64_t)len;
}

/* Runs the guest's _start; returns its exit status, or -1 with a message. */
static int run_guest(const uint8_t *bytes, size_t len, const char *root, const char *mode) {
  char sandbox[400], ro[400];
  snprintf(sandbox, sizeof sandbox, "%s/sandbox", root);
  snprintf(ro, sizeof ro, "%s/ro", root);
  const char *argv[] = {"sandbox_guest", mode};
  wisp_wasi_preopen_t pre[] = {{sandbox, "/", false}, {ro, "/ro", true}};
  wisp_wasi_config_t cfg;
  wisp_wasi_config_init(&cfg);
  cfg.argv = argv;
  cfg.argc = mode ? 2 : 1;
  cfg.preopens = pre;
  cfg.npreopens = 2;
  cfg.stdio[1] = (wisp_wasi_stream_t){.host_fd = -1, .write = capture};
  cfg.stdio[2] = (wisp_wasi_stream_t){.host_fd = 2};
  nout = 0;
  out[0] = '\0';

  int status = -1;
  wisp_error_t err = {0};
  wisp_engine_t *engine = wisp_engine_new();
  wisp_module_t *module = NULL;
  wisp_store_t *store = NULL;
  wisp_linker_t *linker = NULL;
  wisp_exec_t *exec = NULL;
  wisp_wasi_t *wasi = NULL;
  wisp_instance_t *inst = NULL;
  wisp_trap_t *trap = NULL;
  if (wisp_module_new(engine, bytes, len, &module, &err) < 0) goto fail;
  if (wisp_wasi_new(&cfg, &wasi, &err) < 0) goto fail;
  store = wisp_store_new(engine);
  linker = wisp_linker_new(store);
  exec = wisp_exec_new(store, NULL);
  if (wisp_wasi_define(wasi, linker) < 0) goto fail;
  if (wisp_linker_instantiate(linker, exec, module, &inst, &trap, &err) < 0) goto fail;
  wisp_extern_t start;
  if (wisp_instance_export(inst, "_start", 6, &start) < 0) goto fail;
  wisp_status_t st = wisp_exec_call(exec, start.of.func, NULL, 0, NULL, 0);
  if (st == WISP_DONE) {
    status = 0;
  } else if (st == WISP_TRAPPED) {
    trap = wisp_exec_take_trap(exec);
    if (trap && wisp_trap_kind(trap) == WISP_TRAP_EXIT) status = wisp_trap_exit_code(trap);
    else if (trap) printf("trap: %s\n", wisp_trap_message(trap));
  }
  goto done;
fail:
  printf("could not run the guest: %s\n", err.message);
done:
  if (trap) wisp_trap_delete(trap);
  wisp_exec_delete(exec);
  wisp_linker_delete(linker);
  wisp_store_delete(store);
  wisp_wasi_delete(wasi);
  wisp_module_delete(module);
  wisp_engine_delete(engine);
  return status;
}

static volatile int race_stop;
static const char *race_root;

static void *race_thread(void *arg) {
  char a[400], evil[400], b[400], moved[400];
  snprintf(a, sizeof a, "%s/sandbox/race/a", race_root);
  snprintf(evil, sizeof evil, "%s/sandbox/race/evil", race_root);
  snprintf(b, sizeof b, "%s/sandbox/race/a/b", race_root);
  snprintf(moved, sizeof moved, "%s/sandbox/race/b_moved", race_root);
  while (!race_stop) {
    renameat2(AT_FDCWD, a, AT_FDCWD, evil, RENAME_EXCHANGE);
    renameat2(AT_FDCWD, a, AT_FDCWD, evil, RENAME_EXCHANGE);
    if (rename(b, moved) == 0) rename(moved, b);
  }
  return NULL;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: test_wasi_sandbox GUEST.wasm\n");
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

  int failures = 0;
  const char *root = layout_create();
  char *before = layout_snapshot(root);

  int status = run_guest(bytes, len, root, NULL);
  fputs(out, stdout);
  printf("%s escape checks (guest exit status %d)\n", status == 0 ? "ok" : "FAIL", status);
  failures += status != 0;

  race_root = root;
  pthread_t t;
  pthread_create(&t, NULL, race_thread, NULL);
  status = run_guest(bytes, len, root, "race");
  race_stop = 1;
  pthread_join(t, NULL);
  fputs(out, stdout);
  printf("%s race: no read of outside/secret (guest exit status %d)\n", status == 0 ? "ok" : "FAIL",
         status);
  failures += status != 0;

  char *after = layout_snapshot(root);
  int same = strcmp(before, after) == 0;
  printf("%s nothing outside the sandbox or in the read-only preopen changed\n", same ? "ok" : "FAIL");
  if (!same) printf("before:\n%safter:\n%s", before, after);
  failures += !same;
  free(before);
  free(after);
  layout_remove(root);
  printf("%s: %d failure(s)\n", failures ? "FAILED" : "PASSED", failures);
  return failures ? 1 : 0;
}
