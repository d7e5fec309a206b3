/* probe.c: a WAGI guest for the server tests. The first argument (the query
 * string, e.g. ?mode=trap) picks a behaviour; see test_server.py. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *arg(int argc, char **argv, const char *key) {
  size_t n = strlen(key);
  for (int i = 1; i < argc; i++)
    if (!strncmp(argv[i], key, n) && argv[i][n] == '=') return argv[i] + n + 1;
  return NULL;
}

static long num(int argc, char **argv, const char *key, long dflt) {
  const char *v = arg(argc, argv, key);
  return v ? atol(v) : dflt;
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static volatile unsigned sink;
static char *volatile last_block; /* keeps clang from eliding the mallocs */

static unsigned recurse(unsigned n) {
  volatile char pad[64];
  pad[0] = (char)n;
  return recurse(n + 1) + pad[0];
}

int main(int argc, char **argv) {
  const char *mode = arg(argc, argv, "mode");
  if (!mode) mode = "ok";
  if (!strcmp(mode, "ok")) {
    printf("Content-Type: text/plain\n\nok\n");
  } else if (!strcmp(mode, "status")) {
    printf("Status: %ld I'm a teapot\nContent-Type: text/plain\nX-Custom: yes\n\nshort and stout\n",
           num(argc, argv, "code", 418));
  } else if (!strcmp(mode, "location")) {
    printf("Location: /elsewhere\n\n");
  } else if (!strcmp(mode, "crlf")) {
    printf("Content-Type: text/plain\r\nX-Line: crlf\r\n\r\nbody\r\n");
  } else if (!strcmp(mode, "noblank")) {
    printf("Content-Type: text/plain\n");
  } else if (!strcmp(mode, "noheaders")) {
    printf("X-Only: this\n\nbody\n");
  } else if (!strcmp(mode, "garbage")) {
    printf("this is not a header\n\nbody\n");
  } else if (!strcmp(mode, "badstatus")) {
    printf("Status: abc\nContent-Type: text/plain\n\nbody\n");
  } else if (!strcmp(mode, "empty")) {
    /* nothing */
  } else if (!strcmp(mode, "trap")) {
    __builtin_trap();
  } else if (!strcmp(mode, "exit")) {
    printf("Content-Type: text/plain\n\nexiting\n");
    fflush(stdout);
    exit((int)num(argc, argv, "code", 3));
  } else if (!strcmp(mode, "stderr")) {
    fprintf(stderr, "probe says hello on stderr\n");
    printf("Content-Type: text/plain\n\nlogged\n");
  } else if (!strcmp(mode, "oom")) {
    size_t total = 0;
    for (;;) {
      char *p = malloc(1 << 20);
      if (!p) break;
      p[0] = 1; /* touch it; a full memset would cost CPU time, not memory */
      last_block = p;
      total += 1 << 20;
    }
    printf("Content-Type: text/plain\n\nallocated %zu MiB before malloc failed\n", total >> 20);
  } else if (!strcmp(mode, "stack")) {
    sink = recurse(0);
  } else if (!strcmp(mode, "big")) {
    long n = num(argc, argv, "bytes", 1000);
    printf("Content-Type: application/octet-stream\n\n");
    for (long i = 0; i < n; i++) putchar('a' + (int)(i % 26));
  } else if (!strcmp(mode, "spin")) {
    /* Burns CPU for about ms milliseconds of wall time, then answers. */
    double end = now_ms() + (double)num(argc, argv, "ms", 100);
    while (now_ms() < end) sink++;
    printf("Content-Type: text/plain\n\nspun\n");
  } else if (!strcmp(mode, "sleep")) {
    /* Sleeps (poll_oneoff on a clock) for ms milliseconds, then answers. */
    usleep((useconds_t)num(argc, argv, "ms", 100) * 1000);
    printf("Content-Type: text/plain\n\nslept\n");
  } else if (!strcmp(mode, "loop")) {
    for (;;) sink++;
  } else if (!strcmp(mode, "body")) {
    size_t n = 0;
    int c;
    while ((c = getchar()) != EOF) n++;
    printf("Content-Type: text/plain\n\nbody bytes %zu\n", n);
  } else {
    printf("Status: 400\nContent-Type: text/plain\n\nunknown mode %s\n", mode);
  }
  return 0;
}
