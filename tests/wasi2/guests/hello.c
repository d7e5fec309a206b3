/* hello: prints its arguments, one a line, then a greeting. */
#include <stdio.h>

int main(int argc, char **argv) {
  for (int i = 0; i < argc; i++) printf("argv[%d] = %s\n", i, argv[i]);
  printf("hello from wasi2 test\n");
  return 0;
}
