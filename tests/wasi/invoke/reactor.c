/* reactor.c: a WASI reactor for `wisp run --invoke`: _initialize runs the
 * constructor first, then the export sees its work and may use WASI. */
#include <stdio.h>

static int base;

__attribute__((constructor)) static void init(void) { base = 40; }

__attribute__((export_name("answer"))) int answer(int plus) {
  printf("answering\n");
  fflush(stdout);
  return base + plus;
}
