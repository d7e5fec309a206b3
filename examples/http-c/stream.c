/*
 * stream.c: a streamed response of many chunks. `?chunks=N&size=S` (defaults
 * 100 and 1000) writes N lines of S bytes each, one write per line, so the
 * body reaches the client as it is produced (each write waits while the
 * host's buffer is full: backpressure). Each line is "chunk K " padded with
 * the letter of K and a newline, so a client can check every byte.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wisp_http.h"

static long param(const char *query, const char *name, long fallback) {
  size_t n = strlen(name);
  for (const char *p = query; p && *p; p = strchr(p, '&') ? strchr(p, '&') + 1 : NULL)
    if (strncmp(p, name, n) == 0 && p[n] == '=') return strtol(p + n + 1, NULL, 10);
  return fallback;
}

void wisp_handle(wisp_request_t *req, wisp_response_t *res) {
  const char *query = wisp_request_query(req);
  long chunks = param(query, "chunks", 100), size = param(query, "size", 1000);
  if (chunks < 0 || size < 16 || size > 1 << 20) {
    wisp_response_set_status(res, 400);
    wisp_response_puts(res, "chunks >= 0 and 16 <= size <= 1048576\n");
    return;
  }
  char *line = malloc((size_t)size);
  if (!line) {
    wisp_response_fail(res, "out of memory");
    return;
  }
  wisp_response_set_header(res, "content-type", "text/plain");
  for (long k = 0; k < chunks; k++) {
    int head = snprintf(line, (size_t)size, "chunk %ld ", k);
    memset(line + head, 'a' + (int)(k % 26), (size_t)(size - head - 1));
    line[size - 1] = '\n';
    if (wisp_response_write(res, line, (size_t)size) < 0) break; /* the client went away */
  }
  free(line);
}
