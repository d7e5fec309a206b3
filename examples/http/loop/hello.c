/* hello.c: the smallest WAGI function. A WAGI guest is an ordinary WASI
 * command: it prints headers, an empty line and the body on stdout. */
#include <stdio.h>

int main(void) {
  fputs("Content-Type: text/plain\n\nhello from wisp\n", stdout);
  return 0;
}
