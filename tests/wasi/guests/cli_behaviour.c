/* cli_behaviour.c: a guest for the `wisp run` tests: its first argument picks
 * what it does ("spin" loops forever, "sleep" sleeps 30 s, "nap" sleeps 30 ms
 * three times, printing after each, "trap" executes unreachable, "exit N"
 * calls exit(N), "alloc MIB" tries to allocate, "stdin" counts input bytes). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void __attribute__((noinline)) crash_here(void) { __builtin_trap(); }

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "";
  if (!strcmp(mode, "spin")) {
    volatile unsigned long n = 0;
    for (;;) n++;
  }
  if (!strcmp(mode, "sleep")) {
    sleep(30); /* poll_oneoff with a 30 s clock */
    printf("woke up\n");
    return 0;
  }
  if (!strcmp(mode, "nap")) {
    for (int i = 0; i < 3; i++) {
      usleep(30000);
      printf("nap %d\n", i);
      fflush(stdout);
    }
    return 0;
  }
  if (!strcmp(mode, "trap")) {
    printf("about to trap\n");
    fflush(stdout);
    crash_here();
  }
  if (!strcmp(mode, "exit") && argc > 2) {
    printf("exiting with %s\n", argv[2]);
    exit(atoi(argv[2]));
  }
  if (!strcmp(mode, "alloc") && argc > 2) {
    size_t mib = (size_t)atoi(argv[2]);
    /* volatile: the compiler may not elide a malloc whose result is used */
    char *volatile p = malloc(mib << 20);
    if (p) p[(mib << 20) - 1] = 1;
    printf("alloc %zu MiB: %s\n", mib, p ? "ok" : "failed");
    return p ? 0 : 1;
  }
  if (!strcmp(mode, "stdin")) {
    size_t total = 0, n;
    char buf[4096];
    while ((n = fread(buf, 1, sizeof buf, stdin)) > 0) total += n;
    printf("stdin bytes: %zu\n", total);
    return 0;
  }
  fprintf(stderr, "usage: cli_behaviour spin|sleep|nap|trap|exit N|alloc MIB|stdin\n");
  return 2;
}
