/*
 * {{name}}.c: a wasi:http handler written with wisp_http.h (wisp-sdk/; the
 * API is described in wisp-sdk/wisp_http.h). Runs once per request, in a
 * fresh instance.
 */
#include "wisp_http.h"

void wisp_handle(wisp_request_t *req, wisp_response_t *res) {
  wisp_response_set_header(res, "content-type", "text/plain");
  wisp_response_printf(res, "hello from {{name}}\n%s %s\n", wisp_request_method(req),
                       wisp_request_path_with_query(req));
}
