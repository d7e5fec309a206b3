/*
 * proxy.c: an outbound proxy. GET /proxy/REST fetches UPSTREAM/REST, where
 * UPSTREAM is the request header x-upstream (e.g. "http://127.0.0.1:8080"),
 * and streams the upstream's status, content-type and body back. Any other
 * method is forwarded too, with the request body (read at once) and its
 * content-type. The host
 * lets the request out only to allowed_outbound_hosts (wisp.toml); anything
 * else fails with HTTP-request-denied, answered here as 502 with the reason.
 */
#include <stdio.h>
#include <string.h>

#include "wisp_http.h"

static char buffer[65536];

void wisp_handle(wisp_request_t *req, wisp_response_t *res) {
  const char *upstream = wisp_request_header(req, "x-upstream");
  if (!upstream) {
    wisp_response_set_status(res, 400);
    wisp_response_puts(res, "send the upstream as the x-upstream header\n");
    return;
  }
  const char *rest = wisp_request_path_with_query(req);
  if (strncmp(rest, "/proxy", 6) == 0) rest += 6;
  char url[2048];
  snprintf(url, sizeof url, "%s%s", upstream, *rest ? rest : "/");
  const char *method = wisp_request_method(req);
  size_t length = 0;
  const char *body = strcmp(method, "GET") == 0 ? NULL : wisp_request_body(req, 0, &length);
  const char *content_type = wisp_request_header(req, "content-type");
  wisp_header_t headers[1] = {{"content-type", content_type}};
  wisp_fetch_options_t options = {.method = method,
                                  .headers = headers,
                                  .header_count = content_type ? 1 : 0,
                                  .body = body,
                                  .body_length = length,
                                  .timeout_ms = 5000};
  wisp_fetch_response_t *up = wisp_fetch(url, &options);
  if (!up) {
    wisp_response_set_status(res, 502);
    wisp_response_printf(res, "upstream failed: %s\n", wisp_http_error());
    return;
  }
  wisp_response_set_status(res, wisp_fetch_status(up));
  const char *type = wisp_fetch_header(up, "content-type");
  if (type) wisp_response_set_header(res, "content-type", type);
  long n;
  while ((n = wisp_fetch_read(up, buffer, sizeof buffer)) > 0)
    if (wisp_response_write(res, buffer, (size_t)n) < 0) break;
  wisp_fetch_free(up);
}
