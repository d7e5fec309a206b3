/* sieve.c: sieve of Eratosthenes over a byte array: byte loads and stores in tight loops. */
#include "common.h"

#define SIEVE_N 4000000
static uint8_t composite[SIEVE_N + 1];

static uint32_t sieve(uint32_t n) {
  for (uint32_t i = 0; i <= n; i++) composite[i] = 0;
  uint32_t count = 0;
  for (uint32_t i = 2; i <= n; i++) {
    if (composite[i]) continue;
    count++;
    for (uint64_t j = (uint64_t)i * i; j <= n; j += i) composite[j] = 1;
  }
  return count;
}

uint32_t run(void) {
  uint32_t sum = 2166136261u;
  for (int rep = 0; rep < 6 * BENCH_SCALE; rep++) sum = bench_mix(sum, sieve(SIEVE_N - (uint32_t)rep * 1000));
  return sum;
}
