/*
 * hello.c: the smallest wasi:http handler written with sdk/c (wisp_http.h).
 * Answers every request with 200 and a line of text.
 */
#include "wisp_http.h"

void wisp_handle(wisp_request_t *request, wisp_response_t *response) {
  (void)request;
  wisp_response_set_header(response, "content-type", "text/plain");
  wisp_response_puts(response, "hello from a C component\n");
}
