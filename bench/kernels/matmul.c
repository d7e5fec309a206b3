/* matmul.c: dense double-precision matrix multiply (i-k-j order): f64 loads, mul, add. */
#include "common.h"

#define N 200
static double a[N][N], b[N][N], c[N][N];

uint32_t run(void) {
  uint32_t seed = 12345;
  for (int i = 0; i < N; i++)
    for (int j = 0; j < N; j++) {
      a[i][j] = (double)(bench_rand(&seed) % 1000) / 100.0;
      b[i][j] = (double)(bench_rand(&seed) % 1000) / 100.0 - 5.0;
    }
  uint32_t sum = 2166136261u;
  for (int rep = 0; rep < 50 * BENCH_SCALE; rep++) {
    for (int i = 0; i < N; i++)
      for (int j = 0; j < N; j++) c[i][j] = 0.0;
    for (int i = 0; i < N; i++)
      for (int k = 0; k < N; k++) {
        double aik = a[i][k];
        for (int j = 0; j < N; j++) c[i][j] += aik * b[k][j];
      }
    double trace = 0.0;
    for (int i = 0; i < N; i++) trace += c[i][i] + c[i][N - 1 - i];
    sum = bench_mix(sum, (uint32_t)(int64_t)(trace * 1000.0));
    a[rep % N][(rep * 7) % N] += 1.0; /* a different product each repetition */
  }
  return sum;
}
