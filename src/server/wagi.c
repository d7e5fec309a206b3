/*
 * wagi.c: request environment, argv and response parsing of the WAGI
 * convention (see wagi.h and docs/server.md). No HTTP library here.
 */
#include "wagi.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void wagi_strvec_free(wagi_strvec_t *vec) {
  for (size_t i = 0; i < vec->count; i++) free(vec->items[i]);
  free(vec->items);
  memset(vec, 0, sizeof *vec);
}

static char *strvec_slot(wagi_strvec_t *vec, size_t size) {
  if (vec->failed) return NULL;
  if (vec->count == vec->cap) {
    size_t cap = vec->cap ? vec->cap * 2 : 32;
    char **items = realloc(vec->items, cap * sizeof *items);
    if (!items) {
      vec->failed = true;
      return NULL;
    }
    vec->items = items;
    vec->cap = cap;
  }
  char *s = malloc(size);
  if (!s) {
    vec->failed = true;
    return NULL;
  }
  vec->items[vec->count++] = s;
  return s;
}

void wagi_strvec_push(wagi_strvec_t *vec, const char *s, size_t len) {
  char *slot = strvec_slot(vec, len + 1);
  if (!slot) return;
  memcpy(slot, s, len);
  slot[len] = '\0';
}

void wagi_strvec_push_var(wagi_strvec_t *vec, const char *name, const char *value, size_t vlen) {
  size_t nlen = strlen(name);
  char *slot = strvec_slot(vec, nlen + vlen + 2);
  if (!slot) return;
  memcpy(slot, name, nlen);
  slot[nlen] = '=';
  if (vlen) memcpy(slot + nlen + 1, value, vlen);
  slot[nlen + 1 + vlen] = '\0';
}

bool wagi_strvec_has_var(const wagi_strvec_t *vec, const char *name, size_t name_len) {
  for (size_t i = 0; i < vec->count; i++)
    if (strncmp(vec->items[i], name, name_len) == 0 && vec->items[i][name_len] == '=') return true;
  return false;
}

static int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

size_t wagi_url_decode(const char *s, size_t len, char *out, bool plus_is_space) {
  size_t n = 0;
  for (size_t i = 0; i < len; i++) {
    if (s[i] == '%' && i + 2 < len && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
      out[n++] = (char)(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else if (s[i] == '+' && plus_is_space) {
      out[n++] = ' ';
    } else {
      out[n++] = s[i];
    }
  }
  return n;
}

bool wagi_header_var_name(const char *name, size_t name_len, char *out) {
  if ((name_len == 13 && strncasecmp(name, "authorization", 13) == 0) ||
      (name_len == 10 && strncasecmp(name, "connection", 10) == 0) ||
      (name_len == 19 && strncasecmp(name, "proxy-authorization", 19) == 0) ||
      (name_len == 12 && strncasecmp(name, "content-type", 12) == 0) ||
      (name_len == 14 && strncasecmp(name, "content-length", 14) == 0))
    return false;
  memcpy(out, "HTTP_", 5);
  for (size_t i = 0; i < name_len; i++) {
    unsigned char c = (unsigned char)name[i];
    out[5 + i] = c == '-' ? '_' : (char)toupper(c);
  }
  out[5 + name_len] = '\0';
  return true;
}

/* Appends the query's '&'-separated parts, decoded, to argv. */
static void push_query_args(wagi_strvec_t *argv, const char *query, size_t query_len) {
  size_t start = 0;
  for (size_t i = 0; i <= query_len; i++) {
    if (i < query_len && query[i] != '&') continue;
    if (i > start) {
      char *part = malloc(i - start + 1);
      if (!part) {
        argv->failed = true;
        return;
      }
      size_t n = wagi_url_decode(query + start, i - start, part, true);
      wagi_strvec_push(argv, part, n);
      free(part);
    }
    start = i + 1;
  }
}

/* Appends token (len bytes) with every ${SCRIPT_NAME} replaced. */
static void push_template_token(wagi_strvec_t *argv, const char *tok, size_t len, const char *script_name) {
  static const char var[] = "${SCRIPT_NAME}";
  size_t vlen = sizeof var - 1, slen = strlen(script_name), outlen = 0;
  char *buf = malloc(len / vlen * slen + len + 1);
  if (!buf) {
    argv->failed = true;
    return;
  }
  for (size_t i = 0; i < len;) {
    if (len - i >= vlen && memcmp(tok + i, var, vlen) == 0) {
      memcpy(buf + outlen, script_name, slen);
      outlen += slen;
      i += vlen;
    } else {
      buf[outlen++] = tok[i++];
    }
  }
  wagi_strvec_push(argv, buf, outlen);
  free(buf);
}

void wagi_build_argv(wagi_strvec_t *argv, const char *template_, const char *script_name, const char *query,
                     size_t query_len) {
  const char *p = template_;
  while (*p) {
    while (*p == ' ') p++;
    if (!*p) break;
    const char *end = strchr(p, ' ');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    if (len == 7 && memcmp(p, "${ARGS}", 7) == 0)
      push_query_args(argv, query, query_len);
    else
      push_template_token(argv, p, len, script_name);
    p += len;
  }
}

static bool name_is(const wagi_header_t *h, const char *name) {
  return h->name_len == strlen(name) && strncasecmp(h->name, name, h->name_len) == 0;
}

/* Parses "NNN [reason]" into a status code in 100..599. */
static int parse_status(const char *v, size_t len) {
  if (len < 3 || !isdigit((unsigned char)v[0]) || !isdigit((unsigned char)v[1]) ||
      !isdigit((unsigned char)v[2]))
    return -1;
  if (len > 3 && v[3] != ' ' && v[3] != '\t') return -1;
  int status = (v[0] - '0') * 100 + (v[1] - '0') * 10 + (v[2] - '0');
  return status >= 100 && status <= 599 ? status : -1;
}

/* Splits one header line into res->headers (or the status). */
static int parse_header_line(const char *line, size_t len, wagi_response_t *res, bool *has_status, char *err,
                             size_t err_size) {
  const char *colon = memchr(line, ':', len);
  if (!colon || colon == line) {
    snprintf(err, err_size, "header line '%.*s' has no 'Name: value' form", (int)(len > 80 ? 80 : len), line);
    return -1;
  }
  for (const char *c = line; c < colon; c++) {
    if (!isgraph((unsigned char)*c)) {
      snprintf(err, err_size, "header name '%.*s' has a space or control character",
               (int)(colon - line > 80 ? 80 : colon - line), line);
      return -1;
    }
  }
  wagi_header_t h = {.name = line, .name_len = (size_t)(colon - line)};
  const char *v = colon + 1, *end = line + len;
  while (v < end && (*v == ' ' || *v == '\t')) v++;
  while (end > v && (end[-1] == ' ' || end[-1] == '\t')) end--;
  for (const char *c = v; c < end; c++) {
    if ((unsigned char)*c < 0x20 && *c != '\t') {
      snprintf(err, err_size, "header '%.*s' has a control character in its value", (int)h.name_len, h.name);
      return -1;
    }
  }
  h.value = v;
  h.value_len = (size_t)(end - v);
  if (name_is(&h, "Status")) {
    res->status = parse_status(h.value, h.value_len);
    if (res->status < 0) {
      snprintf(err, err_size, "Status header '%.*s' is not a 3-digit code 100-599",
               (int)(h.value_len > 40 ? 40 : h.value_len), h.value);
      return -1;
    }
    *has_status = true;
    return 0;
  }
  if (res->header_count == WAGI_MAX_HEADERS) {
    snprintf(err, err_size, "more than %d header lines", WAGI_MAX_HEADERS);
    return -1;
  }
  res->headers[res->header_count++] = h;
  return 0;
}

int wagi_parse_response(const char *out, size_t len, wagi_response_t *res, char *err, size_t err_size) {
  memset(res, 0, sizeof *res);
  bool has_status = false, has_type = false, has_location = false, ended = false;
  size_t pos = 0;
  if (len == 0) {
    snprintf(err, err_size,
             "the guest wrote nothing on stdout (a WAGI response starts with headers, e.g. 'Content-Type: "
             "text/plain', then an empty line)");
    return -1;
  }
  while (pos < len) {
    const char *nl = memchr(out + pos, '\n', len - pos);
    if (!nl) break;
    size_t line_len = (size_t)(nl - (out + pos));
    if (line_len && out[pos + line_len - 1] == '\r') line_len--;
    if (line_len == 0) {
      pos = (size_t)(nl - out) + 1;
      ended = true;
      break;
    }
    if (parse_header_line(out + pos, line_len, res, &has_status, err, err_size) < 0) return -1;
    pos = (size_t)(nl - out) + 1;
  }
  if (!ended) {
    snprintf(err, err_size, "no empty line ends the headers in the guest's output");
    return -1;
  }
  for (size_t i = 0; i < res->header_count; i++) {
    if (name_is(&res->headers[i], "Content-Type")) has_type = true;
    if (name_is(&res->headers[i], "Location")) has_location = true;
  }
  if (!has_type && !has_location && !has_status) {
    snprintf(err, err_size, "the headers have none of Content-Type, Location or Status");
    return -1;
  }
  if (!has_status) res->status = has_location ? 302 : 200;
  res->body = out + pos;
  res->body_len = len - pos;
  return 0;
}

const char *wagi_reason_phrase(int status) {
  switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 418: return "I'm a teapot";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 499: return "Client Closed Request";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Unknown";
  }
}
