/*
 * test_exec.c: the engine's execution contract: suspend at a host call and
 * resume, fuel slices, abort, call-stack exhaustion, guard-page traps,
 * memory.grow limits and trap backtraces. Modules come from wat/exec.wat.
 */
#include <stdio.h>
#include <string.h>

#include "wisp.h"
#include "wat/exec_wasm.h"

static int passed, failed;
#define CHECK(cond)                                                        \
  do {                                                                     \
    if (cond) passed++;                                                    \
    else {                                                                 \
      failed++;                                                            \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
    }                                                                      \
  } while (0)

static wisp_engine_t *engine;
static wisp_module_t *module;

typedef struct {
  int calls;
  bool suspend;
} pause_state_t;

static wisp_host_status_t host_pause(wisp_call_t *call, void *env, const wisp_val_t *args, wisp_val_t *results) {
  pause_state_t *st = env;
  st->calls++;
  if (st->suspend) return WISP_HOST_SUSPEND;
  results[0].of.i32 = args[0].of.i32 + 1;
  return WISP_HOST_OK;
}

typedef struct {
  wisp_store_t *store;
  wisp_instance_t *inst;
  pause_state_t pause;
} fixture_t;

static void setup(fixture_t *fx, const wisp_store_limits_t *limits) {
  memset(fx, 0, sizeof *fx);
  fx->store = wisp_store_new(engine);
  if (limits) wisp_store_set_limits(fx->store, limits);
  wisp_linker_t *linker = wisp_linker_new(fx->store);
  uint8_t i32 = WISP_I32;
  wisp_functype_t ty = {1, 1, &i32, &i32};
  wisp_linker_define_func(linker, "host", "pause", &ty, host_pause, &fx->pause);
  wisp_trap_t *trap = NULL;
  wisp_error_t err;
  int rc = wisp_linker_instantiate(linker, NULL, module, &fx->inst, &trap, &err);
  if (rc != 0) fprintf(stderr, "instantiate: %s\n", err.message);
  CHECK(rc == 0);
  wisp_linker_delete(linker);
}

static wisp_func_t *export_func(fixture_t *fx, const char *name) {
  wisp_extern_t ext;
  if (wisp_instance_export(fx->inst, name, strlen(name), &ext) != 0 || ext.kind != WISP_EXTERN_FUNC) return NULL;
  return ext.of.func;
}

static wisp_val_t i32v(int32_t v) { return (wisp_val_t){.kind = WISP_I32, .of.i32 = v}; }

static wisp_status_t call1(wisp_exec_t *exec, wisp_func_t *f, int32_t arg, wisp_val_t *result) {
  wisp_val_t a = i32v(arg);
  return wisp_exec_call(exec, f, &a, 1, result, result ? 1 : 0);
}

static void test_call(void) {
  fixture_t fx;
  setup(&fx, NULL);
  wisp_exec_t *exec = wisp_exec_new(fx.store, NULL);
  wisp_val_t r;
  CHECK(call1(exec, export_func(&fx, "fib"), 20, &r) == WISP_DONE);
  CHECK(r.kind == WISP_I32 && r.of.i32 == 6765);
  /* host function that completes at once */
  CHECK(call1(exec, export_func(&fx, "twice"), 5, &r) == WISP_DONE);
  CHECK(r.of.i32 == 6 + 101 && fx.pause.calls == 2);
  wisp_exec_delete(exec);
  wisp_store_delete(fx.store);
}

static void test_suspend_resume(void) {
  fixture_t fx;
  setup(&fx, NULL);
  fx.pause.suspend = true;
  wisp_exec_t *exec = wisp_exec_new(fx.store, NULL);
  wisp_exec_t *other = wisp_exec_new(fx.store, NULL);
  wisp_val_t r = {0};
  CHECK(call1(exec, export_func(&fx, "twice"), 21, &r) == WISP_SUSPENDED);
  CHECK(wisp_exec_status(exec) == WISP_SUSPENDED && wisp_exec_suspended_func(exec) != NULL);
  CHECK(fx.pause.calls == 1);
  /* while it is suspended, the embedder does other work in the same store */
  wisp_val_t fr;
  CHECK(call1(other, export_func(&fx, "fib"), 15, &fr) == WISP_DONE && fr.of.i32 == 610);
  /* a new call on the suspended exec is refused and leaves the suspended one alone */
  CHECK(call1(exec, export_func(&fx, "fib"), 3, &fr) == WISP_TRAPPED);
  wisp_trap_t *busy = wisp_exec_take_trap(exec);
  CHECK(busy && strstr(wisp_trap_message(busy), "busy"));
  wisp_trap_delete(busy);
  CHECK(wisp_exec_status(exec) == WISP_SUSPENDED);
  /* resume with the host's result: the guest continues to the second host call */
  wisp_val_t hr = i32v(1000);
  CHECK(wisp_exec_resume(exec, &hr, 1) == WISP_SUSPENDED);
  CHECK(fx.pause.calls == 2);
  hr = i32v(7);
  CHECK(wisp_exec_resume(exec, &hr, 1) == WISP_DONE);
  CHECK(r.of.i32 == 1007);
  /* resuming a finished exec is an error; the exec stays usable */
  CHECK(wisp_exec_resume(exec, &hr, 1) == WISP_TRAPPED);
  wisp_trap_delete(wisp_exec_take_trap(exec));
  fx.pause.suspend = false;
  CHECK(call1(exec, export_func(&fx, "fib"), 10, &r) == WISP_DONE && r.of.i32 == 55);
  /* abort a suspended call */
  fx.pause.suspend = true;
  CHECK(call1(exec, export_func(&fx, "twice"), 1, &r) == WISP_SUSPENDED);
  wisp_exec_abort(exec);
  wisp_trap_t *t = wisp_exec_take_trap(exec);
  CHECK(t && wisp_trap_kind(t) == WISP_TRAP_ABORTED);
  wisp_trap_delete(t);
  CHECK(call1(exec, export_func(&fx, "fib"), 10, &r) == WISP_DONE && r.of.i32 == 55);
  /* retry: the suspended host function is called again with its first
   * arguments; it may suspend again, then return its results */
  fx.pause.calls = 0;
  CHECK(call1(exec, export_func(&fx, "twice"), 5, &r) == WISP_SUSPENDED && fx.pause.calls == 1);
  CHECK(wisp_exec_retry(exec) == WISP_SUSPENDED && fx.pause.calls == 2);
  fx.pause.suspend = false;
  CHECK(wisp_exec_retry(exec) == WISP_DONE && fx.pause.calls == 4);
  CHECK(r.of.i32 == 6 + 101);
  CHECK(wisp_exec_retry(exec) == WISP_TRAPPED); /* nothing is suspended */
  wisp_trap_delete(wisp_exec_take_trap(exec));
  wisp_exec_delete(exec);
  wisp_exec_delete(other);
  wisp_store_delete(fx.store);
}

static void test_fuel(void) {
  fixture_t fx;
  setup(&fx, NULL);
  wisp_exec_t *exec = wisp_exec_new(fx.store, NULL);
  wisp_val_t r = {0};
  wisp_exec_set_fuel(exec, 1000);
  wisp_status_t st = call1(exec, export_func(&fx, "spin"), 100000, &r);
  int slices = 1;
  while (st == WISP_OUT_OF_FUEL && slices < 100000) {
    wisp_exec_set_fuel(exec, 1000);
    st = wisp_exec_continue(exec);
    slices++;
  }
  CHECK(st == WISP_DONE && r.of.i32 == 100000);
  /* each iteration costs a few units: 100000 iterations need hundreds of slices */
  CHECK(slices > 100);
  CHECK(wisp_exec_fuel_used(exec) >= 100000);
  /* an infinite loop is bounded, then aborted */
  wisp_exec_set_fuel(exec, 5000);
  CHECK(wisp_exec_call(exec, export_func(&fx, "forever"), NULL, 0, NULL, 0) == WISP_OUT_OF_FUEL);
  wisp_exec_set_fuel(exec, 5000);
  CHECK(wisp_exec_continue(exec) == WISP_OUT_OF_FUEL);
  wisp_exec_abort(exec);
  wisp_trap_t *t = wisp_exec_take_trap(exec);
  CHECK(t && wisp_trap_kind(t) == WISP_TRAP_ABORTED);
  CHECK(t && wisp_trap_frame_count(t) >= 1 && wisp_trap_frame(t, 0)->func_name &&
        strcmp(wisp_trap_frame(t, 0)->func_name, "forever") == 0);
  wisp_trap_delete(t);
  /* slices of a single unit still make progress (a region may overdraw its slice) */
  wisp_exec_set_fuel(exec, 1);
  st = call1(exec, export_func(&fx, "fib"), 15, &r);
  int tiny = 1;
  bool reported_empty = true;
  while (st == WISP_OUT_OF_FUEL && tiny < 1000000) {
    if (wisp_exec_fuel(exec) != 0) reported_empty = false;
    wisp_exec_set_fuel(exec, 1);
    st = wisp_exec_continue(exec);
    tiny++;
  }
  CHECK(st == WISP_DONE && r.of.i32 == 610);
  CHECK(reported_empty);
  CHECK(tiny > 1000); /* fib(15) makes about 2000 calls: about one per slice */
  /* recursion is charged at calls too */
  wisp_exec_set_fuel(exec, 100);
  CHECK(call1(exec, export_func(&fx, "fib"), 25, &r) == WISP_OUT_OF_FUEL);
  wisp_exec_set_fuel(exec, -1);
  CHECK(wisp_exec_continue(exec) == WISP_DONE && r.of.i32 == 75025);
  wisp_exec_delete(exec);
  wisp_store_delete(fx.store);
}

static void test_stack_exhaustion(void) {
  fixture_t fx;
  setup(&fx, NULL);
  wisp_exec_config_t cfg = {.max_call_depth = 500};
  wisp_exec_t *exec = wisp_exec_new(fx.store, &cfg);
  wisp_val_t r;
  CHECK(call1(exec, export_func(&fx, "deep"), 0, &r) == WISP_TRAPPED);
  wisp_trap_t *t = wisp_exec_take_trap(exec);
  CHECK(t && wisp_trap_kind(t) == WISP_TRAP_STACK_EXHAUSTED);
  CHECK(t && strcmp(wisp_trap_message(t), "call stack exhausted") == 0);
  CHECK(t && wisp_trap_frame_count(t) >= 500);
  wisp_trap_delete(t);
  /* depth 500 is enough for fib, and the exec is reusable */
  CHECK(call1(exec, export_func(&fx, "fib"), 12, &r) == WISP_DONE && r.of.i32 == 144);
  wisp_exec_delete(exec);
  /* a small value stack also ends in a trap, not a crash */
  wisp_exec_config_t small = {.stack_cells = 256};
  exec = wisp_exec_new(fx.store, &small);
  CHECK(call1(exec, export_func(&fx, "deep"), 0, &r) == WISP_TRAPPED);
  t = wisp_exec_take_trap(exec);
  CHECK(t && wisp_trap_kind(t) == WISP_TRAP_STACK_EXHAUSTED);
  wisp_trap_delete(t);
  wisp_exec_delete(exec);
  wisp_store_delete(fx.store);
}

static void expect_oob(wisp_exec_t *exec) {
  wisp_trap_t *t = wisp_exec_take_trap(exec);
  CHECK(t && wisp_trap_kind(t) == WISP_TRAP_MEMORY_OOB);
  CHECK(t && strcmp(wisp_trap_message(t), "out of bounds memory access") == 0);
  char buf[256];
  if (t) wisp_trap_format(t, buf, sizeof buf);
  CHECK(t && strstr(buf, "at load") != NULL);
  wisp_trap_delete(t);
}

static void test_guard_pages(void) {
  wisp_store_limits_t limits = {.max_memory_bytes = 3 * 65536};
  fixture_t fx;
  setup(&fx, &limits);
  wisp_exec_t *exec = wisp_exec_new(fx.store, NULL);
  wisp_func_t *load = export_func(&fx, "load"), *store = export_func(&fx, "store");
  wisp_val_t r;
  wisp_val_t args[2] = {i32v(65532), i32v(0x12345678)};
  CHECK(wisp_exec_call(exec, store, args, 2, NULL, 0) == WISP_DONE);
  CHECK(call1(exec, load, 65532, &r) == WISP_DONE && r.of.i32 == 0x12345678);
  CHECK(call1(exec, load, 65533, &r) == WISP_TRAPPED); /* straddles the end */
  expect_oob(exec);
  CHECK(call1(exec, load, 65536, &r) == WISP_TRAPPED);
  expect_oob(exec);
  CHECK(call1(exec, load, -4, &r) == WISP_TRAPPED); /* 4 GiB - 4 */
  expect_oob(exec);
  wisp_val_t r64;
  CHECK(call1(exec, export_func(&fx, "load_far"), 0x100, &r64) == WISP_TRAPPED);
  wisp_trap_delete(wisp_exec_take_trap(exec));
  /* grow: the module allows 4 pages, the store only 3 */
  CHECK(call1(exec, export_func(&fx, "grow"), 1, &r) == WISP_DONE && r.of.i32 == 1);
  CHECK(call1(exec, load, 65536, &r) == WISP_DONE && r.of.i32 == 0);
  CHECK(call1(exec, export_func(&fx, "grow"), 1, &r) == WISP_DONE && r.of.i32 == 2);
  CHECK(call1(exec, export_func(&fx, "grow"), 1, &r) == WISP_DONE && r.of.i32 == -1);
  CHECK(call1(exec, load, 3 * 65536, &r) == WISP_TRAPPED);
  expect_oob(exec);
  /* other traps keep the exec usable */
  wisp_val_t dargs[2] = {i32v(1), i32v(0)};
  CHECK(wisp_exec_call(exec, export_func(&fx, "div"), dargs, 2, &r, 1) == WISP_TRAPPED);
  wisp_trap_t *t = wisp_exec_take_trap(exec);
  CHECK(t && wisp_trap_kind(t) == WISP_TRAP_DIV_ZERO);
  wisp_trap_delete(t);
  CHECK(call1(exec, load, 65532, &r) == WISP_DONE && r.of.i32 == 0x12345678);
  wisp_exec_delete(exec);
  wisp_store_delete(fx.store);
}

static void test_branch_returns(void) {
  fixture_t fx;
  setup(&fx, NULL);
  wisp_exec_t *exec = wisp_exec_new(fx.store, NULL);
  const char *names[] = {"swap_table", "swap_if"};
  for (int n = 0; n < 2; n++)
    for (int32_t sel = 0; sel < 3; sel++) {
      /* different values on every call, so stale slots cannot pass for results */
      int32_t a = 10 + 100 * sel + 1000 * n, b = 20 + 100 * sel + 1000 * n;
      wisp_val_t args[3] = {i32v(a), i32v(b), i32v(sel)};
      wisp_val_t r[2] = {{0}};
      CHECK(wisp_exec_call(exec, export_func(&fx, names[n]), args, 3, r, 2) == WISP_DONE);
      bool taken = n == 0 || sel != 0;
      CHECK(r[0].of.i32 == (taken ? b : 7) && r[1].of.i32 == (taken ? a : 8));
    }
  wisp_exec_delete(exec);
  wisp_store_delete(fx.store);
}

int main(void) {
  engine = wisp_engine_new();
  wisp_error_t err;
  if (wisp_module_new(engine, exec_wasm, exec_wasm_len, &module, &err) != 0) {
    fprintf(stderr, "module: %s\n", err.message);
    return 1;
  }
  test_call();
  test_suspend_resume();
  test_fuel();
  test_stack_exhaustion();
  test_guard_pages();
  test_branch_returns();
  wisp_module_delete(module);
  wisp_engine_delete(engine);
  printf("%d passed, %d failed\n", passed, failed);
  return failed != 0;
}
