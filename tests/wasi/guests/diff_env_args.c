/* diff_env_args.c: arguments and the environment (differential test). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(int argc, char **argv) {
  printf("argc=%d\n", argc);
  for (int i = 1; i < argc; i++) printf("argv[%d]=[%s]\n", i, argv[i]);
  char *vars[64];
  int n = 0;
  for (char **e = environ; *e && n < 64; e++) vars[n++] = *e;
  qsort(vars, (size_t)n, sizeof vars[0], cmp);
  printf("environ has %d\n", n);
  for (int i = 0; i < n; i++) printf("env [%s]\n", vars[i]);
  const char *v = getenv("WISP_DIFF");
  printf("getenv WISP_DIFF=%s EMPTY=%s PATH=%s\n", v ? v : "(null)",
         getenv("EMPTY") ? "(set)" : "(null)", getenv("PATH") ? "(set)" : "(null)");
  return 0;
}
