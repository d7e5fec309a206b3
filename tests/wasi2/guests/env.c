/* env: prints its environment in order and looks one variable up. */
#include <stdio.h>
#include <stdlib.h>

extern char **environ;

int main(void) {
  for (char **e = environ; *e; e++) printf("env: %s\n", *e);
  const char *v = getenv("WISP_TEST_B");
  printf("WISP_TEST_B is %s\n", v ? v : "(unset)");
  return 0;
}
