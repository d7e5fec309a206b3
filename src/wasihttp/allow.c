/*
 * allow.c: the request side of allowed_outbound_hosts (see allow.h): a
 * strict reader of a wasi:http scheme and authority, and the matcher.
 */
#include "allow.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void set_error(char *error, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_error(char *error, size_t size, const char *fmt, ...) {
  if (!error || size == 0) return;
  va_list args;
  va_start(args, fmt);
  vsnprintf(error, size, fmt, args);
  va_end(args);
}

static char lower(char c) { return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c; }
static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

/* Reads a scheme: a letter, then letters, digits, '+', '-', '.'. */
static int read_scheme(const char *scheme, wisp_allow_target_t *out, char *error, size_t size) {
  size_t n = strlen(scheme);
  if (n == 0 || n >= sizeof out->scheme || !is_alpha(scheme[0])) {
    set_error(error, size, "invalid scheme '%s'", scheme);
    return -1;
  }
  for (size_t i = 0; i < n; i++) {
    char c = scheme[i];
    if (!is_alpha(c) && !is_digit(c) && c != '+' && c != '-' && c != '.') {
      set_error(error, size, "invalid scheme '%s'", scheme);
      return -1;
    }
    out->scheme[i] = lower(c);
  }
  out->scheme[n] = 0;
  return 0;
}

/* Whether a label looks like a number to a URL parser: all decimal digits,
 * or "0x" followed by hex digits. Such a last label makes the whole host an
 * IPv4 address for libcurl and browsers. */
static bool numeric_label(const char *label, size_t n) {
  if (n >= 2 && label[0] == '0' && label[1] == 'x') return true;
  for (size_t i = 0; i < n; i++)
    if (!is_digit(label[i])) return false;
  return n > 0;
}

/* Dotted decimal with four parts 0..255 and no leading zeros. */
static bool canonical_ipv4(const char *host) {
  int parts = 0;
  for (const char *p = host;;) {
    size_t n = strspn(p, "0123456789");
    if (n == 0 || n > 3 || (n > 1 && p[0] == '0')) return false;
    int value = 0;
    for (size_t i = 0; i < n; i++) value = value * 10 + (p[i] - '0');
    if (value > 255) return false;
    parts++;
    p += n;
    if (*p == 0) return parts == 4;
    if (*p != '.' || parts == 4) return false;
    p++;
  }
}

/* Reads a registered name or IPv4 address (already lower case, length n)
 * into out->host. */
static int read_name(const char *host, size_t n, wisp_allow_target_t *out, char *error, size_t size) {
  if (n > 0 && host[n - 1] == '.') n--; /* "example.com." is example.com */
  if (n == 0 || n >= sizeof out->host) {
    set_error(error, size, n ? "host name too long" : "missing host");
    return -1;
  }
  memcpy(out->host, host, n);
  out->host[n] = 0;
  const char *last = out->host;
  for (const char *label = out->host;;) {
    size_t len = strspn(label, "abcdefghijklmnopqrstuvwxyz0123456789-_");
    if (label[len] != 0 && label[len] != '.') {
      set_error(error, size, "invalid character '%c' in host '%.*s'", label[len], (int)n, host);
      return -1;
    }
    if (len == 0) {
      set_error(error, size, "empty label in host '%.*s'", (int)n, host);
      return -1;
    }
    last = label;
    if (label[len] == 0) break;
    label += len + 1;
  }
  if (numeric_label(last, strlen(last))) {
    if (!canonical_ipv4(out->host)) {
      set_error(error, size, "host '%s' is an IPv4 address in a form other than a.b.c.d", out->host);
      return -1;
    }
    out->is_ip = true;
  }
  return 0;
}

/* Reads "[v6]" (length n, with brackets) into its shortest form. */
static int read_ipv6(const char *host, size_t n, wisp_allow_target_t *out, char *error, size_t size) {
  char text[INET6_ADDRSTRLEN + 1];
  unsigned char addr[16];
  if (n < 4 || n - 2 >= sizeof text) {
    set_error(error, size, "invalid IPv6 address '%.*s'", (int)n, host);
    return -1;
  }
  memcpy(text, host + 1, n - 2);
  text[n - 2] = 0;
  if (inet_pton(AF_INET6, text, addr) != 1 || !inet_ntop(AF_INET6, addr, text, sizeof text)) {
    set_error(error, size, "invalid IPv6 address '%.*s'", (int)n, host);
    return -1;
  }
  snprintf(out->host, sizeof out->host, "[%s]", text);
  out->is_ip = true;
  return 0;
}

int wisp_allow_parse_target(const char *scheme, const char *authority, wisp_allow_target_t *out, char *error,
                            size_t error_size) {
  memset(out, 0, sizeof *out);
  if (!scheme || !authority) {
    set_error(error, error_size, "missing %s", scheme ? "authority" : "scheme");
    return -1;
  }
  if (read_scheme(scheme, out, error, error_size)) return -1;
  size_t length = strlen(authority);
  if (length == 0) {
    set_error(error, error_size, "missing authority");
    return -1;
  }
  if (length > 300) {
    set_error(error, error_size, "authority too long (%zu bytes)", length);
    return -1;
  }
  char text[301];
  for (size_t i = 0; i < length; i++) {
    char c = authority[i];
    if ((unsigned char)c <= ' ' || (unsigned char)c >= 0x7f || strchr("@%/\\?#", c)) {
      if ((unsigned char)c <= ' ' || (unsigned char)c >= 0x7f)
        set_error(error, error_size, "invalid byte 0x%02x in authority", (unsigned char)c);
      else
        set_error(error, error_size, "invalid character '%c' in authority '%s'", c, authority);
      return -1;
    }
    text[i] = lower(c);
  }
  text[length] = 0;

  size_t host_length = length;
  const char *port = NULL;
  if (text[0] == '[') {
    const char *close = strchr(text, ']');
    if (!close) {
      set_error(error, error_size, "unterminated IPv6 address in '%s'", authority);
      return -1;
    }
    host_length = (size_t)(close - text) + 1;
    if (text[host_length] == ':')
      port = text + host_length + 1;
    else if (text[host_length] != 0) {
      set_error(error, error_size, "expected ':' after the IPv6 address in '%s'", authority);
      return -1;
    }
    if (read_ipv6(text, host_length, out, error, error_size)) return -1;
  } else {
    const char *colon = strchr(text, ':');
    if (colon) {
      host_length = (size_t)(colon - text);
      port = colon + 1;
    }
    if (read_name(text, host_length, out, error, error_size)) return -1;
  }

  if (port) {
    size_t n = strlen(port);
    int value = 0;
    bool ok = n > 0 && n <= 5 && strspn(port, "0123456789") == n;
    for (size_t i = 0; ok && i < n; i++) value = value * 10 + (port[i] - '0');
    if (!ok || value < 1 || value > 65535) {
      set_error(error, error_size, "invalid port '%s' in authority '%s'", port, authority);
      return -1;
    }
    out->port = value;
    out->port_written = true;
  } else {
    out->port = wisp_manifest_default_port(out->scheme);
    if (out->port == 0) {
      set_error(error, error_size, "scheme '%s' has no default port; the authority must name one",
                out->scheme);
      return -1;
    }
  }
  return 0;
}

/* The address of an IP literal ("10.0.0.1", "[::1]") into addr; returns its
 * family, or 0 when text is not one. */
static int ip_address(const char *text, unsigned char addr[16]) {
  if (text[0] == '[') {
    char inner[INET6_ADDRSTRLEN + 1];
    size_t n = strlen(text);
    if (n < 3 || n - 2 >= sizeof inner || text[n - 1] != ']') return 0;
    memcpy(inner, text + 1, n - 2);
    inner[n - 2] = 0;
    return inet_pton(AF_INET6, inner, addr) == 1 ? AF_INET6 : 0;
  }
  return inet_pton(AF_INET, text, addr) == 1 ? AF_INET : 0;
}

static bool entry_matches(const wisp_manifest_host_t *entry, const wisp_allow_target_t *target) {
  if (target->is_ip) {
    if (strncmp(entry->host, "*.", 2) == 0) return false;
    if (strcmp(entry->host, "*") != 0) {
      unsigned char want[16], have[16];
      int family = ip_address(entry->host, want);
      if (family == 0 || family != ip_address(target->host, have)) return false;
      if (memcmp(want, have, family == AF_INET ? 4 : 16) != 0) return false;
      /* Same address: let the manifest's matcher judge scheme and port. */
      return wisp_manifest_host_matches(entry, target->scheme, entry->host, target->port);
    }
  }
  return wisp_manifest_host_matches(entry, target->scheme, target->host, target->port);
}

bool wisp_allow_match(const wisp_manifest_host_t *hosts, size_t count, const wisp_allow_target_t *target) {
  for (size_t i = 0; i < count; i++)
    if (entry_matches(&hosts[i], target)) return true;
  return false;
}

wisp_allow_result_t wisp_allow_check(const wisp_manifest_component_t *component, const char *scheme,
                                     const char *authority, wisp_allow_target_t *target, char *error,
                                     size_t error_size) {
  if (wisp_allow_parse_target(scheme, authority, target, error, error_size)) return WISP_ALLOW_INVALID;
  if (component && wisp_allow_match(component->hosts, component->host_count, target)) return WISP_ALLOW_OK;
  set_error(error, error_size, "%s://%s:%d is not in allowed_outbound_hosts", target->scheme, target->host,
            target->port);
  return WISP_ALLOW_DENIED;
}
