/*
 * native_main.c: runs a kernel compiled natively. Prints "CHECKSUM MS": the
 * checksum `run` returned (unsigned decimal) and the wall time of the call in
 * milliseconds.
 */
#include <stdint.h>
#include <stdio.h>
#include <time.h>

uint32_t run(void);

int main(void) {
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  uint32_t sum = run();
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
  printf("%u %.3f\n", sum, ms);
  return 0;
}
