/* stderr: a large write to stdout and lines to stderr (streams larger than the
 * adapter's buffers, check-write budgets). */
#include <stdio.h>
#include <string.h>

int main(void) {
  static char big[200000];
  for (size_t i = 0; i < sizeof big - 1; i++) big[i] = (char)('a' + i % 26);
  big[sizeof big - 2] = '\n';
  fputs(big, stdout);
  for (int i = 0; i < 50; i++) fprintf(stderr, "line %d to stderr\n", i);
  printf("done\n");
  return 0;
}
