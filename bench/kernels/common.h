/*
 * common.h: shared by every benchmark kernel.
 *
 * A kernel is one C file defining `uint32_t run(void)`: it does a fixed amount
 * of work and returns a checksum of the result. The same source is built three
 * ways: as a wasm32 module with no imports and no libc (exports `run`), for
 * wasm2c, and natively with gcc plus support/native_main.c. So a kernel uses
 * no libc at all: no headers beyond the freestanding ones, no malloc (static
 * arrays only), no printf.
 *
 * BENCH_SCALE (default 10) multiplies the work: `run.sh --quick` builds with 1,
 * so a development run takes a tenth of the time. Checksums depend on it.
 */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifndef BENCH_SCALE
#define BENCH_SCALE 10
#endif

/* Keep the result alive under optimisation and tell the wasm linker to export it. */
#define BENCH_EXPORT __attribute__((used, visibility("default")))

BENCH_EXPORT uint32_t run(void);

/* xorshift32: a deterministic, engine-independent pseudo-random sequence. */
static inline uint32_t bench_rand(uint32_t *state) {
  uint32_t x = *state;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  *state = x;
  return x;
}

/* Mixes a value into a running checksum (FNV-1a step over 32 bits). */
static inline uint32_t bench_mix(uint32_t sum, uint32_t v) {
  return (sum ^ v) * 16777619u;
}

#endif
