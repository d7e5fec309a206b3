/* diff_stdio.c: stdout, stderr, stdin and the exit status (differential test). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

int main(void) {
  char line[256];
  int n = 0;
  printf("reading stdin\n");
  while (fgets(line, sizeof line, stdin)) {
    for (char *p = line; *p; p++) *p = (char)toupper((unsigned char)*p);
    printf("%d: %s", ++n, line);
    if (!strchr(line, '\n')) printf("\n");
  }
  printf("%d lines, eof=%d\n", n, feof(stdin) != 0);
  fprintf(stderr, "to stderr %d\n", 42);
  fflush(stdout);
  fputs("unbuffered tail", stdout);
  return 3;
}
