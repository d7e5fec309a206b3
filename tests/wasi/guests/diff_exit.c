/* diff_exit.c: exit() with a code from deep in the call stack, after output
 * that must be flushed first (differential test). */
#include <stdio.h>
#include <stdlib.h>

static void deep(int n) {
  if (n == 0) {
    printf("exiting from depth 20\n");
    exit(77);
  }
  deep(n - 1);
  printf("never\n");
}

int main(void) {
  printf("start\n");
  deep(20);
  return 0;
}
