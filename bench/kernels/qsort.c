/* qsort.c: recursive quicksort (median of three, insertion sort below 16) of 32-bit integers. */
#include "common.h"

#define COUNT 300000
static uint32_t data[COUNT];

static void insertion_sort(uint32_t *v, int32_t n) {
  for (int32_t i = 1; i < n; i++) {
    uint32_t x = v[i];
    int32_t j = i - 1;
    while (j >= 0 && v[j] > x) {
      v[j + 1] = v[j];
      j--;
    }
    v[j + 1] = x;
  }
}

static void swap(uint32_t *a, uint32_t *b) {
  uint32_t t = *a;
  *a = *b;
  *b = t;
}

static void quicksort(uint32_t *v, int32_t n) {
  while (n > 16) {
    int32_t mid = n / 2;
    if (v[mid] < v[0]) swap(&v[mid], &v[0]);
    if (v[n - 1] < v[0]) swap(&v[n - 1], &v[0]);
    if (v[n - 1] < v[mid]) swap(&v[n - 1], &v[mid]);
    uint32_t pivot = v[mid];
    int32_t i = 0, j = n - 1;
    for (;;) {
      while (v[i] < pivot) i++;
      while (v[j] > pivot) j--;
      if (i >= j) break;
      swap(&v[i], &v[j]);
      i++;
      j--;
    }
    /* recurse into the smaller half, loop on the larger: bounded stack depth */
    if (j + 1 < n - j - 1) {
      quicksort(v, j + 1);
      v += j + 1;
      n -= j + 1;
    } else {
      quicksort(v + j + 1, n - j - 1);
      n = j + 1;
    }
  }
  insertion_sort(v, n);
}

uint32_t run(void) {
  uint32_t sum = 2166136261u, seed = 2463534242u;
  for (int rep = 0; rep < BENCH_SCALE * 5 / 2; rep++) {
    for (int32_t i = 0; i < COUNT; i++) data[i] = bench_rand(&seed) % 1000000u;
    quicksort(data, COUNT);
    for (int32_t i = 1; i < COUNT; i++)
      if (data[i - 1] > data[i]) return 0; /* not sorted: a wrong checksum */
    for (int32_t i = 0; i < COUNT; i += 997) sum = bench_mix(sum, data[i]);
  }
  return sum;
}
