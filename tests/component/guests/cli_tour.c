/*
 * cli_tour.c: a WASI preview1 command that touches many WASI interfaces (args,
 * environment, clocks, random, files in a preopened directory, stdin/stdout/stderr),
 * so that its wasi:cli/command component imports a wide set of WASI 0.2 interfaces.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

int main(int argc, char **argv) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  printf("args: %d, first: %s\n", argc, argc > 0 ? argv[0] : "");
  const char *home = getenv("HOME");
  printf("HOME=%s\n", home ? home : "(unset)");
  unsigned char buf[8];
  if (getentropy(buf, sizeof buf) == 0) printf("random byte: %u\n", buf[0]);
  FILE *f = fopen("tour.txt", "w");
  if (f) { fputs("hello\n", f); fclose(f); }
  DIR *d = opendir(".");
  if (d) {
    struct dirent *e;
    while ((e = readdir(d))) printf("entry: %s\n", e->d_name);
    closedir(d);
  }
  char line[64];
  if (fgets(line, sizeof line, stdin)) fprintf(stderr, "read: %s", line);
  printf("time: %lld\n", (long long)time(NULL));
  return 0;
}
