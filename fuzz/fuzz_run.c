/*
 * fuzz_run.c: libFuzzer target for instantiation and execution.
 *
 * Each input is a candidate module binary. If wisp_module_new accepts it and it
 * has no imports, it is instantiated in a store limited to 16 MiB per memory
 * and 10,000 table elements, on an exec with a small stack and a fuel budget,
 * and every exported function is called with all-zero arguments of its
 * parameter types, each call with FUEL fuel. Running out of fuel aborts the
 * call (wisp_exec_abort). Traps are expected outcomes; crashes, sanitizer
 * reports, leaks and hangs are bugs. A broken API invariant calls abort().
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wisp.h"

#define FUEL 100000
#define MAX_RESULTS 64

static wisp_engine_t *engine;

static void check(int ok, const char *what) {
  if (!ok) {
    fprintf(stderr, "fuzz_run: invariant broken: %s\n", what);
    abort();
  }
}

static void drop_trap(wisp_trap_t *trap) {
  if (!trap) return;
  char buf[256];
  wisp_trap_format(trap, buf, sizeof buf); /* exercises frame formatting */
  check(wisp_trap_message(trap) != NULL, "trap without message");
  wisp_trap_delete(trap);
}

static void call_export(wisp_exec_t *exec, wisp_func_t *func) {
  const wisp_functype_t *type = wisp_func_type(func);
  wisp_val_t args[MAX_RESULTS], results[MAX_RESULTS];
  if (type->nparams > MAX_RESULTS || type->nresults > MAX_RESULTS) return;
  memset(args, 0, sizeof args);
  for (uint32_t i = 0; i < type->nparams; i++) args[i].kind = type->params[i];
  wisp_exec_set_fuel(exec, FUEL);
  wisp_status_t st = wisp_exec_call(exec, func, args, type->nparams, results, type->nresults);
  switch (st) {
    case WISP_DONE:
      for (uint32_t i = 0; i < type->nresults; i++) check(results[i].kind == type->results[i], "result kind");
      break;
    case WISP_TRAPPED: {
      wisp_trap_t *trap = wisp_exec_take_trap(exec);
      check(trap != NULL, "WISP_TRAPPED without a trap");
      drop_trap(trap);
      break;
    }
    case WISP_OUT_OF_FUEL:
      wisp_exec_abort(exec);
      drop_trap(wisp_exec_take_trap(exec));
      break;
    case WISP_SUSPENDED:
      check(0, "suspended without any host function");
      break;
  }
  check(wisp_exec_status(exec) != WISP_SUSPENDED && wisp_exec_status(exec) != WISP_OUT_OF_FUEL,
        "exec not idle after the call");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!engine) engine = wisp_engine_new();
  if (!engine) abort();
  wisp_error_t err;
  wisp_module_t *module = NULL;
  if (wisp_module_new(engine, data, size, &module, &err) != 0) return 0;
  if (wisp_module_import_count(module) != 0) {
    wisp_module_delete(module);
    return 0;
  }
  wisp_store_t *store = wisp_store_new(engine);
  check(store != NULL, "wisp_store_new");
  wisp_store_limits_t limits = {.max_memory_bytes = 16u << 20, .max_table_elems = 10000};
  wisp_store_set_limits(store, &limits);
  wisp_exec_config_t config = {.stack_cells = 64 * 1024, .max_call_depth = 1000};
  wisp_exec_t *exec = wisp_exec_new(store, &config);
  check(exec != NULL, "wisp_exec_new");
  wisp_exec_set_fuel(exec, FUEL); /* for the start function */

  wisp_instance_t *instance = NULL;
  wisp_trap_t *trap = NULL;
  int rc = wisp_instance_new(store, exec, module, NULL, 0, &instance, &trap, &err);
  if (rc == 0) {
    check(instance != NULL, "no instance");
    uint32_t n = wisp_module_export_count(module);
    for (uint32_t i = 0; i < n; i++) {
      wisp_extern_t ext;
      wisp_instance_export_at(instance, i, &ext);
      if (ext.kind == WISP_EXTERN_FUNC) call_export(exec, ext.of.func);
    }
  } else {
    check(rc == WISP_ERR_TRAP || rc == WISP_ERR_LIMIT || rc == WISP_ERR_NOMEM || rc == WISP_ERR_LINK,
          "unexpected wisp_instance_new error");
    check(rc != WISP_ERR_TRAP || trap != NULL, "WISP_ERR_TRAP without a trap");
    drop_trap(trap);
  }
  wisp_exec_delete(exec);
  wisp_store_delete(store);
  wisp_module_delete(module);
  return 0;
}
