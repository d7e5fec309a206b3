/* fib.c: naive doubly recursive Fibonacci: measures call/return cost. */
#include "common.h"

static uint32_t fib(uint32_t n) {
  return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

/* An opaque starting value, so the compiler cannot fold the calls away. */
static volatile uint32_t fib_arg = 34;

uint32_t run(void) {
  uint32_t sum = 2166136261u;
  for (int rep = 0; rep < 3 * BENCH_SCALE; rep++) sum = bench_mix(sum, fib(fib_arg + (uint32_t)(rep % 3)));
  return sum;
}
