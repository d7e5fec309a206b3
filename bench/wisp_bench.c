/*
 * wisp_bench.c: runs a benchmark kernel on the wisp engine through the public
 * API (include/wisp.h). Usage: wisp_bench KERNEL.wasm [EXPORT]
 *
 * Loads the module (it must have no imports), instantiates it, calls the
 * export (default "run", no parameters, one i32 or i64 result) and prints
 * "CHECKSUM WALL_MS CPU_MS": the result as unsigned decimal (low 32 bits for
 * i64), then the wall time and the process CPU time of the call in
 * milliseconds. Decode, validation and instantiation times go to stderr. Exits 1 with a message on any failure or trap.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wisp.h"

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static double cpu_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* Reads a whole file into a malloc'd buffer. OUT: *len. NULL on failure. */
static uint8_t *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  uint8_t *buf = NULL;
  if (fseek(f, 0, SEEK_END) != 0) goto fail;
  long size = ftell(f);
  if (size < 0 || fseek(f, 0, SEEK_SET) != 0) goto fail;
  buf = malloc(size ? (size_t)size : 1);
  if (!buf || fread(buf, 1, (size_t)size, f) != (size_t)size) goto fail;
  fclose(f);
  *len = (size_t)size;
  return buf;
fail:
  free(buf);
  fclose(f);
  return NULL;
}

int main(int argc, char **argv) {
  if (argc < 2 || argc > 3) {
    fprintf(stderr, "usage: %s KERNEL.wasm [EXPORT]\n", argv[0]);
    return 2;
  }
  const char *name = argc == 3 ? argv[2] : "run";
  int status = 1;
  size_t len = 0;
  wisp_engine_t *engine = NULL;
  wisp_module_t *module = NULL;
  wisp_store_t *store = NULL;
  wisp_exec_t *exec = NULL;
  wisp_trap_t *trap = NULL;
  wisp_error_t err = {0};
  uint8_t *bytes = read_file(argv[1], &len);
  if (!bytes) {
    fprintf(stderr, "wisp_bench: cannot read %s\n", argv[1]);
    return 1;
  }

  double t0 = now_ms();
  engine = wisp_engine_new();
  if (!engine) goto fail;
  int rc = wisp_module_new(engine, bytes, len, &module, &err);
  if (rc != 0) {
    fprintf(stderr, "wisp_bench: %s: %s: %s\n", argv[1], wisp_err_name(rc), err.message);
    goto fail;
  }
  double t1 = now_ms();
  store = wisp_store_new(engine);
  exec = store ? wisp_exec_new(store, NULL) : NULL;
  if (!exec) goto fail;
  wisp_instance_t *instance = NULL;
  rc = wisp_instance_new(store, exec, module, NULL, 0, &instance, &trap, &err);
  if (rc != 0) {
    fprintf(stderr, "wisp_bench: instantiate: %s: %s\n", wisp_err_name(rc),
            trap ? wisp_trap_message(trap) : err.message);
    goto fail;
  }
  wisp_extern_t ext;
  if (wisp_instance_export(instance, name, strlen(name), &ext) != 0 || ext.kind != WISP_EXTERN_FUNC) {
    fprintf(stderr, "wisp_bench: no exported function \"%s\"\n", name);
    goto fail;
  }
  const wisp_functype_t *type = wisp_func_type(ext.of.func);
  if (type->nparams != 0 || type->nresults != 1 ||
      (type->results[0] != WISP_I32 && type->results[0] != WISP_I64)) {
    fprintf(stderr, "wisp_bench: \"%s\" must take no parameters and return one i32 or i64\n", name);
    goto fail;
  }
  double t2 = now_ms(), c2 = cpu_ms();
  wisp_val_t result = {0};
  wisp_status_t st = wisp_exec_call(exec, ext.of.func, NULL, 0, &result, 1);
  double c3 = cpu_ms(), t3 = now_ms();
  if (st != WISP_DONE) {
    char msg[2048] = "(no trap)";
    if (st == WISP_TRAPPED && (trap = wisp_exec_take_trap(exec)) != NULL) wisp_trap_format(trap, msg, sizeof msg);
    fprintf(stderr, "wisp_bench: %s: status %d: %s\n", name, (int)st, msg);
    goto fail;
  }
  uint32_t sum = result.kind == WISP_I64 ? (uint32_t)result.of.i64 : (uint32_t)result.of.i32;
  uint64_t fuel = wisp_exec_fuel_used(exec);
  fprintf(stderr, "wisp_bench: load %.3f ms, instantiate %.3f ms, run %.3f ms, fuel used %llu (%.2f ns each)\n",
          t1 - t0, t2 - t1, t3 - t2, (unsigned long long)fuel, fuel ? (t3 - t2) * 1e6 / (double)fuel : 0.0);
  printf("%u %.3f %.3f\n", sum, t3 - t2, c3 - c2);
  status = 0;
fail:
  if (trap) wisp_trap_delete(trap);
  if (exec) wisp_exec_delete(exec);
  if (store) wisp_store_delete(store);
  if (module) wisp_module_delete(module);
  if (engine) wisp_engine_delete(engine);
  free(bytes);
  return status;
}
