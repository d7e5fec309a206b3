/* diff_clocks.c: clocks and sleeping; prints only facts that hold everywhere
 * (differential test). */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static long long ns(struct timespec t) { return (long long)t.tv_sec * 1000000000LL + t.tv_nsec; }

int main(void) {
  struct timespec a, b, r, real;
  printf("monotonic: %d\n", clock_gettime(CLOCK_MONOTONIC, &a));
  printf("realtime: %d\n", clock_gettime(CLOCK_REALTIME, &real));
  printf("realtime after 2024: %d\n", real.tv_sec > 1704067200);
  printf("time() close to realtime: %d\n", (long long)time(NULL) - real.tv_sec <= 1);
  printf("res monotonic: %d positive %d\n", clock_getres(CLOCK_MONOTONIC, &r), ns(r) > 0);
  printf("res realtime: %d positive %d\n", clock_getres(CLOCK_REALTIME, &r), ns(r) > 0);
  struct timespec d = {0, 20 * 1000000};
  printf("nanosleep: %d\n", nanosleep(&d, NULL));
  usleep(5000);
  clock_gettime(CLOCK_MONOTONIC, &b);
  printf("slept at least 25 ms: %d\n", ns(b) - ns(a) >= 25000000LL);
  struct timespec cpu;
  printf("process cputime: %d\n", clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu));
  printf("thread cputime: %d\n", clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu));
  return 0;
}
