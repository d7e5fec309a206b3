/*
 * native_main.c: runs a kernel compiled natively. Prints "CHECKSUM WALL_MS
 * CPU_MS": the checksum `run` returned (unsigned decimal), then the wall time
 * and the process CPU time of the call in milliseconds.
 */
#include <stdint.h>
#include <stdio.h>
#include <time.h>

uint32_t run(void);

static double ms(clockid_t clock) {
  struct timespec t;
  clock_gettime(clock, &t);
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

int main(void) {
  double wall = ms(CLOCK_MONOTONIC), cpu = ms(CLOCK_PROCESS_CPUTIME_ID);
  uint32_t sum = run();
  cpu = ms(CLOCK_PROCESS_CPUTIME_ID) - cpu;
  wall = ms(CLOCK_MONOTONIC) - wall;
  printf("%u %.3f %.3f\n", sum, wall, cpu);
  return 0;
}
