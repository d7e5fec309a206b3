/* numeric.c: exports for the `wisp run --invoke` tests (no libc, no imports). */
double add_f64(double a, double b) { return a + b; }
float mul_f32(float a, float b) { return a * b; }
long long neg_i64(long long a) { return -a; }
int div_i32(int a, int b) { return a / b; }
unsigned long long max_u64(void) { return ~0ull; }
