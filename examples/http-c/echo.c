/*
 * echo.c: answers with what it was sent. The status line and headers describe
 * the request (x-echo-method, x-echo-path, x-echo-query, x-echo-length and
 * every request header whose name starts with "x-" copied back with an
 * "x-echo-" prefix); the body is the request body, copied as it arrives in
 * 64 KiB pieces (so its length is not known in advance). `?status=N` sets
 * the status; `?whole` reads the body at once first (wisp_request_body);
 * `?fail` answers with the host's error response instead (wisp_response_fail).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "wisp_http.h"

static char buffer[65536];

void wisp_handle(wisp_request_t *req, wisp_response_t *res) {
  const char *query = wisp_request_query(req);
  if (strcmp(query, "fail") == 0) {
    wisp_response_fail(res, "echo asked to fail");
    return;
  }
  if (strncmp(query, "status=", 7) == 0) wisp_response_set_status(res, atoi(query + 7));
  wisp_response_set_header(res, "content-type", "application/octet-stream");
  wisp_response_set_header(res, "x-echo-method", wisp_request_method(req));
  wisp_response_set_header(res, "x-echo-path", wisp_request_path(req));
  wisp_response_set_header(res, "x-echo-query", query);
  for (size_t i = 0; i < wisp_request_header_count(req); i++) {
    const char *name = NULL, *value = NULL;
    wisp_request_header_at(req, i, &name, NULL, &value, NULL);
    if (strncasecmp(name, "x-", 2) != 0) continue;
    char echoed[256];
    if (strlen(name) + 8 > sizeof echoed) continue;
    strcpy(echoed, "x-echo-");
    strcat(echoed, name + 2);
    wisp_response_add_header(res, echoed, value);
  }
  if (strcmp(query, "whole") == 0) {
    size_t length = 0;
    const char *body = wisp_request_body(req, 0, &length);
    if (!body)
      wisp_response_fail(res, wisp_http_error());
    else if (wisp_response_write(res, body, length) == 0)
      wisp_response_finish(res);
    return;
  }
  long n;
  while ((n = wisp_request_read(req, buffer, sizeof buffer)) > 0)
    if (wisp_response_write(res, buffer, (size_t)n) < 0) return;
  if (n < 0)
    wisp_response_fail(res, wisp_http_error());
  else
    wisp_response_finish(res);
}
