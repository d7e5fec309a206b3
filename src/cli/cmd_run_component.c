/*
 * cmd_run_component.c: `wisp run` for a wasi:cli/command component (a C
 * program made a component with `jco new prog.wasm --wasi-command`).
 *
 * cmd_run.c calls wisp_cli_run_component when the file is a component
 * (wisp_is_component). The component is instantiated with the WASI 0.2 host of
 * src/wasi2 and its export wasi:cli/run#run is called. The guest sees the same
 * arguments (argv[0] = the file's path), --env variables and stdio as a core
 * module under `wisp run`, and the exit codes are those of cmd_run.c:
 *   N     wasi:cli/exit: 0 for exit(ok), 1 for exit(err), N for exit-with-code(N);
 *         run returning ok is 0, err is 1. (The preview1 adapter turns
 *         proc_exit(N != 0) into exit(err): such a component exits with 1.)
 *   1     the component could not be read, decoded, linked or instantiated
 *   2     usage: --invoke and --listen are not supported for components yet
 *   134   a trap (its message on stderr), 137 --fuel ran out, 142 --timeout passed.
 *
 * Fuel and timeout: the call runs in fuel slices through the instance's fuel
 * hook (wisp__cinst_set_fuel_hook); between slices the wall clock is checked.
 * Blocking host calls (poll, stdin reads) wait on this thread (cinst.c) and
 * end at the deadline too. Nested guest calls (realloc) are lent fuel when
 * little is left (cinst.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wisp.h"
#include "wisp_component.h"
#include "wisp_wasi.h"
#include "wasi2/wasi2.h"

#define RUN_SLICE 1000000 /* fuel per slice, as cmd_run.c */

enum { EXIT_LOAD = 1, EXIT_USAGE = 2, EXIT_TRAP = 134, EXIT_FUEL = 137, EXIT_TIMEOUT = 142 };

int wisp_cli_run_component(const char *path, const uint8_t *bytes, size_t len, int nargs, char **args,
                           const char **env, size_t nenv, const wisp_wasi_preopen_t *dirs, size_t ndirs,
                           bool invoke, size_t nlisten, int64_t fuel, uint64_t max_memory,
                           int64_t timeout_ms);

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The fuel budget of one run. */
typedef struct budget {
  int64_t fuel_left; /* -1: unlimited */
  int64_t deadline;  /* monotonic ms, or -1 */
  int64_t slice;     /* fuel per slice, -1: the whole budget at once */
  bool timed_out, exhausted;
} budget_t;

/* Gives the exec its next slice; false when the budget or the time is spent. */
static bool budget_refill(void *env, wisp_exec_t *exec) {
  budget_t *b = env;
  if (b->deadline >= 0 && now_ms() >= b->deadline) {
    b->timed_out = true;
    return false;
  }
  if (b->fuel_left == 0) {
    b->exhausted = true;
    return false;
  }
  int64_t give = b->slice;
  if (b->fuel_left > 0 && (give < 0 || give > b->fuel_left)) give = b->fuel_left;
  if (b->fuel_left > 0) b->fuel_left -= give;
  wisp_exec_set_fuel(exec, give);
  return true;
}

static int refuse(const char *what) {
  fprintf(stderr, "wisp run: %s is not supported for components yet\n", what);
  return EXIT_USAGE;
}

int wisp_cli_run_component(const char *path, const uint8_t *bytes, size_t len, int nargs, char **args,
                           const char **env, size_t nenv, const wisp_wasi_preopen_t *dirs, size_t ndirs,
                           bool invoke, size_t nlisten, int64_t fuel, uint64_t max_memory,
                           int64_t timeout_ms) {
  if (invoke) return refuse("--invoke");
  if (nlisten) return refuse("--listen");
  int code = EXIT_LOAD;
  wisp_engine_t *engine = NULL;
  wisp_component_t *c = NULL;
  wisp_store_t *store = NULL;
  wisp_exec_t *exec = NULL;
  wisp__wasi2_t *wasi = NULL;
  wisp__cinst_t *inst = NULL;
  const char **argv = NULL;
  wisp_error_t err = {0};
  int rc;
  wisp__arena_t arena;
  wisp__arena_init(&arena);

  engine = wisp_engine_new();
  if (!engine) goto nomem;
  if (wisp_component_new(engine, bytes, len, &c, &err) < 0) {
    fprintf(stderr, "wisp run: %s: %s: %s\n", path, wisp_err_name(err.code), err.message);
    goto done;
  }
  argv = calloc((size_t)nargs + 1, sizeof *argv);
  if (!argv) goto nomem;
  argv[0] = path;
  for (int i = 0; i < nargs; i++) argv[i + 1] = args[i];

  budget_t b = {.fuel_left = fuel, .deadline = -1, .slice = -1};
  if (timeout_ms >= 0) b.deadline = now_ms() + timeout_ms;
  if (timeout_ms >= 0 || fuel >= 0) b.slice = RUN_SLICE;
  wisp__wasi2_config_t cfg = {.argv = argv,
                              .argc = (size_t)nargs + 1,
                              .env = env,
                              .envc = nenv,
                              .stdio = {0, 1, 2},
                              .preopens = dirs,
                              .npreopens = ndirs,
                              .deadline_ns = b.deadline >= 0 ? b.deadline * 1000000 : -1};
  rc = wisp__wasi2_new(&cfg, &wasi);
  if (rc == WISP_ERR_ARG) {
    fprintf(stderr, "wisp run: %s\n", wisp__wasi2_error(wasi));
    goto done;
  }
  if (rc < 0) goto nomem;
  const wisp__chost_func_t *funcs = NULL;
  size_t nfuncs = 0;
  rc = wisp__wasi2_check(wasi, c);
  if (rc == WISP_ERR_LINK) {
    fprintf(stderr, "wisp run: %s: %s: %s\n", path, wisp_err_name(rc), wisp__wasi2_error(wasi));
    goto done;
  }
  if (rc < 0 || wisp__wasi2_host_funcs(wasi, c, &funcs, &nfuncs)) goto nomem;

  store = wisp_store_new(engine);
  if (!store) goto nomem;
  if (max_memory) {
    wisp_store_limits_t limits = {.max_memory_bytes = max_memory};
    wisp_store_set_limits(store, &limits);
  }
  exec = wisp_exec_new(store, NULL);
  if (!exec) goto nomem;
  /* start functions run with the whole budget, as in cmd_run.c */
  wisp_exec_set_fuel(exec, fuel);
  rc = wisp__cinst_new(c, store, exec, funcs, nfuncs, &inst, &err);
  if (rc < 0) {
    fprintf(stderr, "wisp run: %s: %s: %s\n", path, wisp_err_name(rc), err.message);
    goto done;
  }
  if (fuel >= 0) {
    uint64_t used = wisp_exec_fuel_used(exec);
    b.fuel_left = used >= (uint64_t)fuel ? 0 : fuel - (int64_t)used;
  }
  wisp__cfunc_t *run = wisp__cinst_func(inst, "wasi:cli/run@0.2.0", "run");
  if (!run) {
    fprintf(stderr, "wisp run: %s exports no wasi:cli/run (only command components run)\n", path);
    goto done;
  }
  const wisp__ctype_t *ft = wisp__ctype(c, wisp__cfunc_type(run));
  if (ft->n != 0 || ft->nresults != 1) {
    fprintf(stderr, "wisp run: %s: wasi:cli/run#run has an unexpected type\n", path);
    goto done;
  }
  wisp__cinst_set_fuel_hook(inst, budget_refill, &b);
  if (b.slice > 0) {
    if (!budget_refill(&b, exec)) b.exhausted = !b.timed_out;
  } else {
    wisp_exec_set_fuel(exec, -1);
  }
  wisp__cval_t result = {.type = ft->results[0].type};
  char trap[512] = "";
  if (!b.exhausted && !b.timed_out &&
      wisp__cinst_call(inst, run, NULL, 0, &result, 1, &arena, trap, sizeof trap) == 0) {
    code = result.of.var.disc == 0 ? 0 : 1;
  } else if (wisp__wasi2_exit_status(wasi) >= 0) {
    code = wisp__wasi2_exit_status(wasi);
  } else if (b.timed_out || (b.deadline >= 0 && now_ms() >= b.deadline)) {
    const char *blocked = strstr(trap, "wasi2: deadline exceeded");
    if (blocked)
      fprintf(stderr, "wisp: timeout: the guest ran longer than the --timeout limit (%s)\n", blocked);
    else
      fprintf(stderr, "wisp: timeout: the guest ran longer than the --timeout limit\n");
    code = EXIT_TIMEOUT;
  } else if (b.exhausted || (fuel >= 0 && b.fuel_left == 0 && wisp_exec_fuel(exec) <= 0)) {
    fprintf(stderr, "wisp: fuel exhausted: the guest used its whole --fuel budget\n");
    code = EXIT_FUEL;
  } else {
    fprintf(stderr, "wisp: trap: %s\n", trap);
    code = EXIT_TRAP;
  }
  goto done;

nomem:
  fprintf(stderr, "wisp run: out of memory\n");
  code = EXIT_LOAD;
done:
  fflush(stdout);
  wisp__arena_free(&arena);
  wisp__cinst_delete(inst);
  wisp_exec_delete(exec);
  wisp_store_delete(store);
  wisp__wasi2_delete(wasi);
  wisp_component_delete(c);
  wisp_engine_delete(engine);
  free(argv);
  return code;
}
