/* stdin: copies stdin to stdout in upper case, then prints the byte count. */
#include <ctype.h>
#include <stdio.h>

int main(void) {
  long n = 0;
  int ch;
  while ((ch = getchar()) != EOF) {
    putchar(toupper(ch));
    n++;
  }
  printf("%ld bytes\n", n);
  return 0;
}
