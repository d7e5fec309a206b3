/*
 * w2c_main.c: runs a kernel translated by wasm2c (wabt 1.0.32), which must be
 * generated with `-n kernel` into kernel.c/kernel.h. Prints "CHECKSUM WALL_MS
 * CPU_MS" for the `run` call only (instantiation excluded).
 */
#include <stdio.h>
#include <time.h>

#include "kernel.h"

static double ms(clockid_t clock) {
  struct timespec t;
  clock_gettime(clock, &t);
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

int main(void) {
  wasm_rt_init();
  Z_kernel_init_module();
  Z_kernel_instance_t instance;
  Z_kernel_instantiate(&instance);
  double wall = ms(CLOCK_MONOTONIC), cpu = ms(CLOCK_PROCESS_CPUTIME_ID);
  u32 sum = Z_kernelZ_run(&instance);
  cpu = ms(CLOCK_PROCESS_CPUTIME_ID) - cpu;
  wall = ms(CLOCK_MONOTONIC) - wall;
  printf("%u %.3f %.3f\n", sum, wall, cpu);
  Z_kernel_free(&instance);
  wasm_rt_free();
  return 0;
}
