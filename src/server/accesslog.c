/*
 * accesslog.c: one line per answered request on stdout, in the NCSA common
 * log format followed by wisp's fields, or as one JSON object (--log-format
 * json). Each line is written with one write(2), so lines from different
 * loop threads never interleave.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

/* Copies s into out for a JSON string or a quoted log field: quotes,
 * backslashes and control characters escaped; truncated to fit. */
static size_t escape(char *out, size_t size, const char *s, size_t len) {
  size_t n = 0;
  for (size_t i = 0; i < len && n + 7 < size; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\') {
      out[n++] = '\\';
      out[n++] = (char)c;
    } else if (c < 0x20 || c == 0x7f) {
      n += (size_t)snprintf(out + n, size - n, "\\u%04x", c);
    } else {
      out[n++] = (char)c;
    }
  }
  out[n] = '\0';
  return n;
}

static void peer(h2o_req_t *req, char *host, size_t size) {
  struct sockaddr_storage ss;
  snprintf(host, size, "-");
  socklen_t sl = req->conn->callbacks->get_peername(req->conn, (void *)&ss);
  if (!sl) return;
  if (ss.ss_family == AF_INET)
    inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, host, (socklen_t)size);
  else if (ss.ss_family == AF_INET6)
    inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, host, (socklen_t)size);
}

void srv_access_log(srv_t *srv, h2o_req_t *req, const srv_access_t *e) {
  wisp_server_log_format_t fmt = srv->options->log_format;
  bool to_app = e->app && e->app->log_fd >= 0;
  if (fmt == WISP_LOG_NONE && !to_app) return;
  if (fmt == WISP_LOG_NONE) fmt = WISP_LOG_COMMON; /* the app's log always has access lines */
  char host[INET6_ADDRSTRLEN], method[32], path[1024], when[64], line[2048];
  peer(req, host, sizeof host);
  escape(method, sizeof method, req->method.base, req->method.len);
  escape(path, sizeof path, req->path.base, req->path.len);
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  const char *proto = req->version >= 0x200 ? "HTTP/2" : req->version == 0x100 ? "HTTP/1.0" : "HTTP/1.1";
  int n;
  if (fmt == WISP_LOG_JSON) {
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    n = snprintf(line, sizeof line,
                 "{\"time\":\"%s\",\"id\":%" PRIu64
                 ",\"remote\":\"%s\",\"method\":\"%s\","
                 "\"path\":\"%s\",\"protocol\":\"%s\",\"route\":%s%s%s,\"status\":%d,"
                 "\"bytes\":%" PRIu64 ",\"duration_us\":%" PRIu64 ",\"instantiate_us\":%" PRIu64
                 ",\"cpu_us\":%" PRIu64 "}\n",
                 when, e->id, host, method, path, proto, e->route ? "\"" : "", e->route ? e->route : "null",
                 e->route ? "\"" : "", e->status, e->bytes, e->duration_us, e->instantiate_us, e->cpu_us);
  } else {
    strftime(when, sizeof when, "%d/%b/%Y:%H:%M:%S +0000", &tm);
    n = snprintf(line, sizeof line,
                 "%s - - [%s] \"%s %s %s\" %d %" PRIu64 " id=%" PRIu64 " route=%s dur_us=%" PRIu64
                 " inst_us=%" PRIu64 " cpu_us=%" PRIu64 "\n",
                 host, when, method, path, proto, e->status, e->bytes, e->id, e->route ? e->route : "-",
                 e->duration_us, e->instantiate_us, e->cpu_us);
  }
  if (n <= 0) return;
  if ((size_t)n >= sizeof line) {
    n = sizeof line - 1;
    line[n - 1] = '\n';
  }
  if (to_app) srv_app_log(e->app, line, (size_t)n - 1);
  if (srv->options->log_format == WISP_LOG_NONE) return;
  ssize_t w = write(STDOUT_FILENO, line, (size_t)n);
  (void)w;
}
