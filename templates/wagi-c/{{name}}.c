/*
 * {{name}}.c: a WAGI function. wisp runs it once per request as a WASI
 * command: the request arrives in CGI environment variables (REQUEST_METHOD,
 * PATH_INFO, QUERY_STRING, HTTP_*) and on stdin (the body); the response is
 * written to stdout as CGI headers, a blank line, then the body.
 */
#include <stdio.h>
#include <stdlib.h>

static const char *env(const char *name) {
  const char *value = getenv(name);
  return value ? value : "";
}

int main(void) {
  printf("Content-Type: text/plain\n\n");
  printf("hello from {{name}}\n");
  /* For the route "/..." PATH_INFO is the whole path; for an exact route it is empty. */
  const char *path = env("PATH_INFO")[0] ? env("PATH_INFO") : env("SCRIPT_NAME");
  const char *query = env("QUERY_STRING");
  printf("%s %s%s%s\n", env("REQUEST_METHOD"), path, query[0] ? "?" : "", query);
  return 0;
}
