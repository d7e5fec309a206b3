/* exit3: writes to both streams, then exits with status 3 (a component made
 * by the preview1 adapter can only say "error": its status is 1). */
#include <stdio.h>
#include <stdlib.h>

int main(void) {
  printf("about to exit\n");
  fflush(stdout);
  fprintf(stderr, "exiting with 3\n");
  exit(3);
}
