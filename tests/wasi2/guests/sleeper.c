/* sleeper [N [MS [WORK]]]: N times (default 3): spins WORK rounds (default
 * 200000), sleeps MS milliseconds (default 100) and prints "tick I". For the
 * resumable-call tests (wasi2_interleave.c): the sleeps block in wasi:io/poll,
 * the spinning runs out of fuel slices. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static volatile unsigned sink;

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 3;
  int ms = argc > 2 ? atoi(argv[2]) : 100;
  int work = argc > 3 ? atoi(argv[3]) : 200000;
  for (int i = 0; i < n; i++) {
    unsigned acc = 0;
    for (int k = 0; k < work; k++) acc = acc * 31u + (unsigned)k;
    sink = acc;
    struct timespec d = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&d, NULL);
    printf("tick %d\n", i);
    fflush(stdout);
  }
  return 0;
}
