/* echo.c: a WAGI function that answers with what it was given: the method,
 * argv (the query string split on '&'), every environment variable (the CGI
 * variables and the request headers as HTTP_*) and the request body. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(int argc, char **argv) {
  const char *method = getenv("REQUEST_METHOD");
  printf("Content-Type: text/plain; charset=utf-8\n");
  printf("X-Echo-Method: %s\n\n", method ? method : "");
  for (int i = 0; i < argc; i++) printf("ARG %d %s\n", i, argv[i]);
  size_t n = 0;
  while (environ[n]) n++;
  char **vars = malloc((n + 1) * sizeof *vars);
  if (!vars) return 1;
  memcpy(vars, environ, n * sizeof *vars);
  qsort(vars, n, sizeof *vars, by_name);
  for (size_t i = 0; i < n; i++) printf("ENV %s\n", vars[i]);
  free(vars);
  printf("BODY ");
  char buf[4096];
  size_t got;
  while ((got = fread(buf, 1, sizeof buf, stdin)) > 0) fwrite(buf, 1, got, stdout);
  printf("\n");
  return 0;
}
