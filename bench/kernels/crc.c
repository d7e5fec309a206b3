/* crc.c: table-driven CRC-32 and FNV-1a over a 1 MiB buffer: table lookups, shifts, xors. */
#include "common.h"

#define BUF_SIZE (1u << 20)
static uint8_t buf[BUF_SIZE];
static uint32_t table[256];

static void crc_init(void) {
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    table[i] = c;
  }
}

static uint32_t crc32(const uint8_t *p, uint32_t n) {
  uint32_t c = 0xFFFFFFFFu;
  for (uint32_t i = 0; i < n; i++) c = table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

static uint32_t fnv1a(const uint8_t *p, uint32_t n) {
  uint32_t h = 2166136261u;
  for (uint32_t i = 0; i < n; i++) h = (h ^ p[i]) * 16777619u;
  return h;
}

uint32_t run(void) {
  crc_init();
  uint32_t seed = 0x9E3779B9u;
  for (uint32_t i = 0; i < BUF_SIZE; i++) buf[i] = (uint8_t)bench_rand(&seed);
  uint32_t sum = 2166136261u;
  for (int rep = 0; rep < 16 * BENCH_SCALE; rep++) {
    sum = bench_mix(sum, crc32(buf, BUF_SIZE));
    sum = bench_mix(sum, fnv1a(buf, BUF_SIZE));
    buf[(uint32_t)rep * 4099u % BUF_SIZE] ^= 0x5A;
  }
  return sum;
}
