/* hello_wasi.c: the smallest useful WASI command: greets the name in $NAME
 * (granted with --env) or "world", and echoes its arguments.
 *
 *   scripts/build-guest.sh --command -o hello_wasi.wasm examples/wasi/hello_wasi.c
 *   wisp run --env NAME=wisp hello_wasi.wasm one two
 */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  const char *name = getenv("NAME");
  printf("hello, %s\n", name ? name : "world");
  for (int i = 1; i < argc; i++) printf("arg %d: %s\n", i, argv[i]);
  return 0;
}
