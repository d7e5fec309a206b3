/* wagi_hello.c: a WAGI handler. The request arrives as CGI variables in the
 * environment and the body on stdin; the response is headers, a blank line and
 * the body on stdout. `wisp run` can exercise it by hand:
 *
 *   scripts/build-guest.sh --command -o wagi_hello.wasm examples/wasi/wagi_hello.c
 *   wisp run --env REQUEST_METHOD=GET --env PATH_INFO=/hi --env QUERY_STRING=x=1 wagi_hello.wasm
 */
#include <stdio.h>
#include <stdlib.h>

static const char *var(const char *name) {
  const char *v = getenv(name);
  return v ? v : "";
}

int main(void) {
  size_t body = 0;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, stdin)) > 0) body += n;
  printf("Content-Type: text/plain\n\n");
  printf("method %s\npath %s\nquery %s\nbody bytes %zu\n", var("REQUEST_METHOD"),
         var("PATH_INFO"), var("QUERY_STRING"), body);
  return 0;
}
