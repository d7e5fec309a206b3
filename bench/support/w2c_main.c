/*
 * w2c_main.c: runs a kernel translated by wasm2c (wabt 1.0.32), which must be
 * generated with `-n kernel` into kernel.c/kernel.h. Prints "CHECKSUM MS" with
 * the time of the `run` call only (instantiation excluded).
 */
#include <stdio.h>
#include <time.h>

#include "kernel.h"

int main(void) {
  wasm_rt_init();
  Z_kernel_init_module();
  Z_kernel_instance_t instance;
  Z_kernel_instantiate(&instance);
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  u32 sum = Z_kernelZ_run(&instance);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
  printf("%u %.3f\n", sum, ms);
  Z_kernel_free(&instance);
  wasm_rt_free();
  return 0;
}
