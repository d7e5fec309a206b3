/*
 * hello.c: a WASI preview1 command module: prints a greeting and its arguments,
 * and exits with status 0.
 *
 *   scripts/build-guest.sh --command -o hello.wasm examples/hello.c
 *   wisp run hello.wasm world                # prints "hello from wisp" then "arg 1: world"
 */
#include <stdio.h>

int main(int argc, char **argv) {
  printf("hello from wisp\n");
  for (int i = 1; i < argc; i++) printf("arg %d: %s\n", i, argv[i]);
  return 0;
}
