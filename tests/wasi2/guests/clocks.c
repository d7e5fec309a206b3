/* clocks: the wall clock is after 2020, the monotonic clock moves forward and a
 * 20 ms sleep (poll_oneoff -> wasi:io/poll) takes at least 20 ms. Prints "ok" or
 * what failed. */
#include <stdio.h>
#include <time.h>

static long long ns(clockid_t id) {
  struct timespec ts;
  if (clock_gettime(id, &ts) != 0) return -1;
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(void) {
  long long wall = ns(CLOCK_REALTIME);
  if (wall < 1577836800LL * 1000000000LL) {
    printf("wall clock before 2020: %lld\n", wall);
    return 1;
  }
  struct timespec res;
  if (clock_getres(CLOCK_MONOTONIC, &res) != 0) {
    printf("no monotonic resolution\n");
    return 1;
  }
  long long a = ns(CLOCK_MONOTONIC);
  struct timespec d = {0, 20000000};
  if (nanosleep(&d, NULL) != 0) {
    printf("nanosleep failed\n");
    return 1;
  }
  long long b = ns(CLOCK_MONOTONIC);
  if (b - a < 20000000) {
    printf("slept only %lld ns\n", b - a);
    return 1;
  }
  printf("clocks ok\n");
  return 0;
}
