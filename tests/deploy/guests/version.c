/* version.c: a WAGI guest that answers its build's VERSION (tests/deploy):
 * the hot-deploy test builds it twice (v1, v2) and checks that every response
 * names exactly one of them. It also writes one stderr line per request, for
 * the logs test. */
#include <stdio.h>

#ifndef VERSION
#define VERSION "v0"
#endif

int main(void) {
  fputs("served by " VERSION "\n", stderr);
  fputs("Content-Type: text/plain\n\n" VERSION "\n", stdout);
  return 0;
}
