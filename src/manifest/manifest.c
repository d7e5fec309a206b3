/*
 * manifest.c: reads wisp.toml (spin.toml manifest version 2 plus wisp's own
 * [component.NAME.limits]) into a wisp_manifest_t; matches routes and
 * outbound hosts. See manifest.h and docs/manifest.md.
 *
 * The TOML tree is walked once. Every table is checked for unknown keys
 * before its known keys are read, so a misspelt key is an error rather than
 * a silently ignored setting. Keys that spin.toml defines but wisp does not
 * implement get their own message ("not supported by wisp").
 *
 * The manifest owns its strings and arrays (plain malloc); arrays are sized
 * from the TOML tree before they are filled and zeroed, so a manifest that
 * failed half way through is freed by the same wisp_manifest_free.
 */
#include "manifest.h"

#include "toml.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct loader {
  const char *path; /* for messages */
  char *error;
  size_t error_size;
  int failed; /* 0, -1 or -2; the first failure wins */
  wisp_manifest_t *manifest;
} loader_t;

/* A key spin.toml defines that wisp does not implement, with a hint. */
typedef struct unsupported_key {
  const char *key;
  const char *hint;
} unsupported_key_t;

/* Records "PATH:LINE: WHERE: message" (WHERE may be NULL) and returns -1. */
__attribute__((format(printf, 4, 5))) static int fail(loader_t *l, unsigned line, const char *where,
                                                      const char *fmt, ...) {
  if (l->failed) return l->failed;
  l->failed = -1;
  if (!l->error || l->error_size == 0) return -1;
  char message[400];
  va_list args;
  va_start(args, fmt);
  vsnprintf(message, sizeof message, fmt, args);
  va_end(args);
  if (where && *where)
    snprintf(l->error, l->error_size, "%s:%u: %s: %s", l->path, line, where, message);
  else
    snprintf(l->error, l->error_size, "%s:%u: %s", l->path, line, message);
  return -1;
}

static int fail_nomem(loader_t *l) {
  if (l->failed) return l->failed;
  l->failed = -2;
  if (l->error && l->error_size) snprintf(l->error, l->error_size, "%s: out of memory", l->path);
  return -2;
}

static char *dup_text(loader_t *l, const char *text) {
  char *copy = strdup(text);
  if (!copy) fail_nomem(l);
  return copy;
}

static void *alloc_array(loader_t *l, size_t count, size_t size) {
  void *p = calloc(count ? count : 1, size);
  if (!p) fail_nomem(l);
  return p;
}

/* snprintf for key paths in messages, where truncation is acceptable. */
__attribute__((format(printf, 3, 4))) static void format(char *out, size_t size, const char *fmt, ...) {
  va_list args;
  va_start(args, fmt);
  vsnprintf(out, size, fmt, args);
  va_end(args);
}

/* "where.key" (or "key" at the top) into out. */
static const char *join_key(char *out, size_t size, const char *where, const char *key) {
  if (where && *where)
    format(out, size, "%s.%s", where, key);
  else
    format(out, size, "%s", key);
  return out;
}

static const char *type_name(const wisp_toml_node_t *node) {
  return wisp_toml_type_name(wisp_toml_type(node));
}

/* Edit distance between a[0, an) and b, or 3 when it is more than 2. */
static size_t edit_distance(const char *a, size_t an, const char *b) {
  size_t bn = strlen(b);
  if (an > 32 || bn > 32 || (an > bn ? an - bn : bn - an) > 2) return 3;
  size_t row[33];
  for (size_t j = 0; j <= bn; j++) row[j] = j;
  for (size_t i = 1; i <= an; i++) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= bn; j++) {
      size_t above = row[j];
      size_t best = diagonal + (a[i - 1] != b[j - 1]);
      if (above + 1 < best) best = above + 1;
      if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
      row[j] = best;
      diagonal = above;
    }
  }
  return row[bn] > 3 ? 3 : row[bn];
}

/* The allowed key closest to a misspelt one (at most 2 edits), or NULL. */
static const char *closest_key(const char *key, size_t length, const char *const *allowed) {
  const char *best = NULL;
  size_t best_distance = 3;
  for (size_t k = 0; allowed[k] && length >= 3; k++) {
    size_t d = edit_distance(key, length, allowed[k]);
    if (d < best_distance) {
      best = allowed[k];
      best_distance = d;
    }
  }
  return best;
}

/* Fails on any key of table that is not in allowed (a NULL-terminated list),
 * with a special message for the keys in unsupported. */
static int check_keys(loader_t *l, const wisp_toml_node_t *table, const char *where,
                      const char *const *allowed, const unsupported_key_t *unsupported) {
  char name[256];
  for (size_t i = 0; i < wisp_toml_table_count(table); i++) {
    size_t length;
    const char *key = wisp_toml_table_key(table, i, &length);
    const wisp_toml_node_t *value = wisp_toml_table_value(table, i);
    bool known = false;
    for (size_t k = 0; allowed[k] && !known; k++)
      known = strlen(allowed[k]) == length && memcmp(allowed[k], key, length) == 0;
    if (known) continue;
    join_key(name, sizeof name, where, key);
    for (size_t k = 0; unsupported && unsupported[k].key; k++) {
      if (strcmp(unsupported[k].key, key) == 0)
        return fail(l, wisp_toml_line(value), name, "not supported by wisp%s%s",
                    unsupported[k].hint ? "; " : "", unsupported[k].hint ? unsupported[k].hint : "");
    }
    const char *guess = closest_key(key, length, allowed);
    if (guess) return fail(l, wisp_toml_line(value), name, "unknown key (did you mean '%s'?)", guess);
    return fail(l, wisp_toml_line(value), name, "unknown key");
  }
  return 0;
}

/* A string value without NUL bytes, or NULL after failing. */
static const char *as_string(loader_t *l, const wisp_toml_node_t *node, const char *where) {
  if (wisp_toml_type(node) != WISP_TOML_STRING) {
    fail(l, wisp_toml_line(node), where, "expected a string, found %s", type_name(node));
    return NULL;
  }
  size_t length;
  const char *s = wisp_toml_string(node, &length);
  if (strlen(s) != length) {
    fail(l, wisp_toml_line(node), where, "must not contain a NUL character");
    return NULL;
  }
  return s;
}

/* Copies table[key], a string, into *out (OUT; NULL when absent and not
 * required). */
static int get_string(loader_t *l, const wisp_toml_node_t *table, const char *key, const char *where,
                      bool required, char **out) {
  char name[256];
  join_key(name, sizeof name, where, key);
  const wisp_toml_node_t *node = wisp_toml_table_get(table, key);
  *out = NULL;
  if (!node) {
    if (required) return fail(l, wisp_toml_line(table), where, "missing required key '%s'", key);
    return 0;
  }
  const char *s = as_string(l, node, name);
  if (!s) return -1;
  *out = dup_text(l, s);
  return *out ? 0 : -2;
}

/* table[key] as an array of strings; *out (OUT) is NULL and *count 0 when
 * the key is absent. */
static int get_string_array(loader_t *l, const wisp_toml_node_t *table, const char *key, const char *where,
                            char ***out, size_t *count) {
  char name[256], item[280];
  join_key(name, sizeof name, where, key);
  const wisp_toml_node_t *node = wisp_toml_table_get(table, key);
  *out = NULL;
  *count = 0;
  if (!node) return 0;
  if (wisp_toml_type(node) != WISP_TOML_ARRAY)
    return fail(l, wisp_toml_line(node), name, "expected an array of strings, found %s", type_name(node));
  size_t n = wisp_toml_array_count(node);
  *out = alloc_array(l, n, sizeof **out);
  if (!*out) return -2;
  for (size_t i = 0; i < n; i++) {
    format(item, sizeof item, "%s[%zu]", name, i);
    const char *s = as_string(l, wisp_toml_array_at(node, i), item);
    if (!s) return -1;
    (*out)[i] = dup_text(l, s);
    if (!(*out)[i]) return -2;
    (*count)++;
  }
  return 0;
}

/* table[key], an integer in [min, max], into *out; dflt when absent. */
static int get_uint(loader_t *l, const wisp_toml_node_t *table, const char *key, const char *where,
                    uint64_t min, uint64_t max, uint64_t dflt, uint64_t *out) {
  char name[256];
  join_key(name, sizeof name, where, key);
  const wisp_toml_node_t *node = wisp_toml_table_get(table, key);
  *out = dflt;
  if (!node) return 0;
  if (wisp_toml_type(node) != WISP_TOML_INTEGER)
    return fail(l, wisp_toml_line(node), name, "expected an integer, found %s", type_name(node));
  int64_t v = wisp_toml_integer(node);
  if (v < 0 || (uint64_t)v < min || (uint64_t)v > max)
    return fail(l, wisp_toml_line(node), name, "%lld is out of range (allowed %llu to %llu)", (long long)v,
                (unsigned long long)min, (unsigned long long)max);
  *out = (uint64_t)v;
  return 0;
}

static const wisp_toml_node_t *get_table(loader_t *l, const wisp_toml_node_t *table, const char *key,
                                         const char *where) {
  const wisp_toml_node_t *node = wisp_toml_table_get(table, key);
  if (node && wisp_toml_type(node) != WISP_TOML_TABLE) {
    char name[256];
    fail(l, wisp_toml_line(node), join_key(name, sizeof name, where, key), "expected a table, found %s",
         type_name(node));
    return NULL;
  }
  return node;
}

/* ---- paths -------------------------------------------------------------- */

/* The directory part of path: "." when it has none. */
static char *dir_of(loader_t *l, const char *path) {
  const char *slash = strrchr(path, '/');
  if (!slash) return dup_text(l, ".");
  if (slash == path) return dup_text(l, "/");
  char *dir = strndup(path, (size_t)(slash - path));
  if (!dir) fail_nomem(l);
  return dir;
}

/* rel resolved against the manifest's directory (absolute paths unchanged). */
static char *resolve(loader_t *l, const char *rel) {
  const char *dir = l->manifest->dir;
  if (rel[0] == '/' || strcmp(dir, ".") == 0) return dup_text(l, rel);
  size_t n = strlen(dir) + strlen(rel) + 2;
  char *out = malloc(n);
  if (!out) {
    fail_nomem(l);
    return NULL;
  }
  snprintf(out, n, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", rel);
  return out;
}

/* True when path has a ".." component. */
static bool has_dotdot(const char *path) {
  for (const char *p = path; *p;) {
    size_t n = strcspn(p, "/");
    if (n == 2 && p[0] == '.' && p[1] == '.') return true;
    p += n;
    if (*p == '/') p++;
  }
  return false;
}

/* ---- outbound hosts ----------------------------------------------------- */

int wisp_manifest_default_port(const char *scheme) {
  static const struct {
    const char *scheme;
    int port;
  } known[] = {{"http", 80},     {"https", 443},  {"ws", 80},         {"wss", 443},  {"redis", 6379},
               {"rediss", 6379}, {"mysql", 3306}, {"postgres", 5432}, {"mqtt", 1883}};
  for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
    if (strcmp(known[i].scheme, scheme) == 0) return known[i].port;
  return 0;
}

static bool is_alpha(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static bool is_digit(int c) { return c >= '0' && c <= '9'; }
static char lower(char c) { return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c; }

static void set_error(char *error, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_error(char *error, size_t size, const char *fmt, ...) {
  if (!error || size == 0) return;
  va_list args;
  va_start(args, fmt);
  vsnprintf(error, size, fmt, args);
  va_end(args);
}

/* Checks a host name (letters already lower case): labels of letters,
 * digits, '-' and '_', or an IPv6 literal in brackets. */
static bool valid_host_name(const char *host, char *error, size_t size) {
  if (host[0] == '[') {
    size_t n = strlen(host);
    if (n < 4 || host[n - 1] != ']' || strspn(host + 1, "0123456789abcdef:.") != n - 2) {
      set_error(error, size, "invalid IPv6 address '%s'", host);
      return false;
    }
    return true;
  }
  for (const char *label = host;;) {
    size_t n = strspn(label, "abcdefghijklmnopqrstuvwxyz0123456789-_");
    if (n == 0 || label[0] == '-' || label[n - 1] == '-') {
      if (label[n] && label[n] != '.')
        set_error(error, size, "invalid character '%c' in host '%s'", label[n], host);
      else
        set_error(error, size, "invalid host name '%s'", host);
      return false;
    }
    if (label[n] == 0) return true;
    if (label[n] != '.') {
      set_error(error, size, "invalid character '%c' in host '%s'", label[n], host);
      return false;
    }
    label += n + 1;
  }
}

/* The pieces of SCHEME://HOST[:PORT]; an IPv6 host keeps its brackets. */
typedef struct url_parts {
  const char *scheme, *host, *port; /* port is NULL when absent */
  size_t scheme_length, host_length, port_length;
} url_parts_t;

/* Splits text into *out. With allow_path the authority ends at '/', '?' or
 * '#'; without, only one trailing '/' may follow it. Returns NULL, or why
 * text cannot be split. */
static const char *split_url(const char *text, bool allow_path, url_parts_t *out) {
  memset(out, 0, sizeof *out);
  const char *sep = strstr(text, "://");
  if (!sep || sep == text) return "expected SCHEME://HOST[:PORT], e.g. \"https://example.com\"";
  out->scheme = text;
  out->scheme_length = (size_t)(sep - text);
  const char *authority = sep + 3;
  size_t length = strcspn(authority, allow_path ? "/?#" : "");
  if (!allow_path && length > 0 && authority[length - 1] == '/') length--;
  if (memchr(authority, '/', length))
    return "a path (or CIDR range) is not allowed; give only SCHEME://HOST[:PORT]";
  if (memchr(authority, '@', length)) return "user information ('@') is not allowed";
  out->host = authority;
  out->host_length = length;
  const char *colon;
  if (authority[0] == '[') {
    const char *close = memchr(authority, ']', length);
    if (!close) return "unterminated IPv6 address";
    out->host_length = (size_t)(close - authority) + 1;
    colon = out->host_length < length ? authority + out->host_length : NULL;
    if (colon && *colon != ':') return "expected ':' after the IPv6 address";
  } else {
    colon = memchr(authority, ':', length);
    if (colon) out->host_length = (size_t)(colon - authority);
  }
  if (colon) {
    out->port = colon + 1;
    out->port_length = length - (size_t)(out->port - authority);
  }
  if (out->host_length == 0) return "missing host";
  return NULL;
}

/* Whether port[0, length) contains "..", as in Spin's port ranges. */
static bool has_dots(const char *port, size_t length) {
  for (size_t i = 0; i + 1 < length; i++)
    if (port[i] == '.' && port[i + 1] == '.') return true;
  return false;
}

/* A decimal port 1..65535 into *out; -1 with a reason in error otherwise. */
static int parse_port(const char *port, size_t length, int *out, char *error, size_t error_size) {
  int value = 0;
  bool ok = length > 0 && length <= 5;
  for (size_t i = 0; i < length && ok; i++) {
    ok = is_digit((unsigned char)port[i]);
    value = value * 10 + (port[i] - '0');
  }
  if (!ok && has_dots(port, length)) {
    set_error(error, error_size, "port ranges ('%.*s') are not supported; list each port, or write '*'",
              (int)length, port);
    return -1;
  }
  if (!ok) {
    set_error(error, error_size, "invalid port '%.*s'", (int)length, port);
    return -1;
  }
  if (value < 1 || value > 65535) {
    set_error(error, error_size, "port %d is out of range (1 to 65535)", value);
    return -1;
  }
  *out = value;
  return 0;
}

/* "*", or a letter followed by letters, digits, '+', '-' and '.'. */
static bool valid_scheme(const char *scheme, size_t length) {
  if (length == 1 && scheme[0] == '*') return true;
  if (!is_alpha((unsigned char)scheme[0])) return false;
  for (size_t i = 1; i < length; i++) {
    int c = (unsigned char)scheme[i];
    if (!is_alpha(c) && !is_digit(c) && c != '+' && c != '-' && c != '.') return false;
  }
  return true;
}

/* A copy of text[0, length) in lower case, or NULL. */
static char *lower_copy(const char *text, size_t length) {
  char *copy = strndup(text, length);
  if (copy)
    for (char *c = copy; *c; c++) *c = lower(*c);
  return copy;
}

int wisp_manifest_parse_host(const char *text, wisp_manifest_host_t *out, char *error, size_t error_size) {
  memset(out, 0, sizeof *out);
  if (strcmp(text, "insecure:allow-all") == 0) {
    set_error(error, error_size, "not supported; write \"*://*:*\" to allow every host");
    return -1;
  }
  url_parts_t url;
  const char *reason = split_url(text, false, &url);
  if (reason) {
    set_error(error, error_size, "%s", reason);
    return -1;
  }
  if (!valid_scheme(url.scheme, url.scheme_length)) {
    set_error(error, error_size, "invalid scheme '%.*s'", (int)url.scheme_length, url.scheme);
    return -1;
  }
  int port = 0;
  if (url.port && url.port_length == 1 && url.port[0] == '*')
    port = WISP_MANIFEST_ANY_PORT;
  else if (url.port && parse_port(url.port, url.port_length, &port, error, error_size))
    return -1;
  out->scheme = lower_copy(url.scheme, url.scheme_length);
  out->host = lower_copy(url.host, url.host_length);
  out->port = port;
  if (!out->scheme || !out->host) {
    wisp_manifest_host_clear(out);
    set_error(error, error_size, "out of memory");
    return -2;
  }
  const char *name = strncmp(out->host, "*.", 2) == 0 ? out->host + 2 : out->host;
  if (strcmp(out->host, "*") != 0 && !valid_host_name(name, error, error_size)) {
    wisp_manifest_host_clear(out);
    return -1;
  }
  if (strcmp(out->scheme, "*") != 0 && port == 0 && wisp_manifest_default_port(out->scheme) == 0) {
    set_error(error, error_size, "scheme '%s' has no default port; write one, e.g. \"%s://%s:1234\"",
              out->scheme, out->scheme, out->host);
    wisp_manifest_host_clear(out);
    return -1;
  }
  return 0;
}

void wisp_manifest_host_clear(wisp_manifest_host_t *host) {
  if (!host) return;
  free(host->scheme);
  free(host->host);
  host->scheme = NULL;
  host->host = NULL;
  host->port = 0;
}

bool wisp_manifest_host_matches(const wisp_manifest_host_t *allowed, const char *scheme, const char *host,
                                int port) {
  if (strcmp(allowed->scheme, "*") != 0 && strcmp(allowed->scheme, scheme) != 0) return false;
  if (strcmp(allowed->host, "*") != 0) {
    if (strncmp(allowed->host, "*.", 2) == 0) {
      const char *suffix = allowed->host + 1; /* ".example.com" */
      size_t hn = strlen(host), sn = strlen(suffix);
      if (hn <= sn || strcmp(host + hn - sn, suffix) != 0) return false;
    } else if (strcmp(allowed->host, host) != 0) {
      return false;
    }
  }
  if (allowed->port == WISP_MANIFEST_ANY_PORT) return true;
  int want = allowed->port;
  if (want == 0)
    want = wisp_manifest_default_port(strcmp(allowed->scheme, "*") == 0 ? scheme : allowed->scheme);
  return want != 0 && want == port;
}

bool wisp_manifest_host_allowed(const wisp_manifest_component_t *component, const char *url) {
  if (!component || !url || component->host_count == 0) return false;
  url_parts_t parts;
  if (split_url(url, true, &parts) || !valid_scheme(parts.scheme, parts.scheme_length)) return false;
  char scheme[32], host[256];
  if (parts.scheme_length >= sizeof scheme || parts.host_length >= sizeof host) return false;
  for (size_t i = 0; i < parts.scheme_length; i++) scheme[i] = lower(parts.scheme[i]);
  scheme[parts.scheme_length] = 0;
  for (size_t i = 0; i < parts.host_length; i++) host[i] = lower(parts.host[i]);
  host[parts.host_length] = 0;
  if (host[parts.host_length - 1] == '.') host[parts.host_length - 1] = 0; /* "example.com." */
  if (host[0] == 0 || strcmp(scheme, "*") == 0 || strchr(host, '*')) return false;
  int port = 0;
  if (parts.port) {
    if (parse_port(parts.port, parts.port_length, &port, NULL, 0)) return false;
  } else {
    port = wisp_manifest_default_port(scheme);
  }
  for (size_t i = 0; i < component->host_count; i++)
    if (wisp_manifest_host_matches(&component->hosts[i], scheme, host, port)) return true;
  return false;
}

/* ---- components --------------------------------------------------------- */

/* Component ids: a lower-case letter, then lower-case letters, digits, '-'
 * and '_'. */
static bool valid_component_id(const char *id, size_t length) {
  if (length == 0 || !(id[0] >= 'a' && id[0] <= 'z')) return false;
  for (size_t i = 1; i < length; i++) {
    char c = id[i];
    if (!((c >= 'a' && c <= 'z') || is_digit(c) || c == '-' || c == '_')) return false;
  }
  return true;
}

static int parse_hosts(loader_t *l, wisp_manifest_component_t *c, const wisp_toml_node_t *table,
                       const char *where) {
  char name[256], item[280], reason[200];
  join_key(name, sizeof name, where, "allowed_outbound_hosts");
  const wisp_toml_node_t *node = wisp_toml_table_get(table, "allowed_outbound_hosts");
  if (!node) return 0;
  if (wisp_toml_type(node) != WISP_TOML_ARRAY)
    return fail(l, wisp_toml_line(node), name, "expected an array of strings, found %s", type_name(node));
  size_t n = wisp_toml_array_count(node);
  c->hosts = alloc_array(l, n, sizeof *c->hosts);
  if (!c->hosts) return -2;
  for (size_t i = 0; i < n; i++) {
    const wisp_toml_node_t *entry = wisp_toml_array_at(node, i);
    format(item, sizeof item, "%s[%zu]", name, i);
    const char *s = as_string(l, entry, item);
    if (!s) return -1;
    int r = wisp_manifest_parse_host(s, &c->hosts[i], reason, sizeof reason);
    if (r == -2) return fail_nomem(l);
    if (r) return fail(l, wisp_toml_line(entry), item, "\"%s\": %s", s, reason);
    c->host_count++;
  }
  return 0;
}

/* "static/assets" -> guest "/static/assets"; "." or "./" -> "/". */
static char *guest_path_for(loader_t *l, const char *rel) {
  while (rel[0] == '.' && rel[1] == '/') rel += 2;
  if (strcmp(rel, ".") == 0) rel = "";
  size_t n = strlen(rel);
  while (n > 0 && rel[n - 1] == '/') n--;
  char *out = malloc(n + 2);
  if (!out) {
    fail_nomem(l);
    return NULL;
  }
  out[0] = '/';
  memcpy(out + 1, rel, n);
  out[n + 1] = 0;
  return out;
}

/* files = ["dir"]: a relative directory shown at the same path in the guest. */
static int file_from_string(loader_t *l, wisp_manifest_file_t *f, const wisp_toml_node_t *entry,
                            const char *item) {
  unsigned line = wisp_toml_line(entry);
  const char *s = as_string(l, entry, item);
  if (!s) return -1;
  if (s[0] == 0) return fail(l, line, item, "empty path");
  if (strpbrk(s, "*?[{"))
    return fail(l, line, item,
                "\"%s\": glob patterns are not supported by wisp; map a directory with "
                "{ source = \"dir\", destination = \"/dir\" }",
                s);
  if (s[0] == '/')
    return fail(l, line, item,
                "\"%s\": must be a path relative to the manifest's directory (or use "
                "{ source = ..., destination = ... })",
                s);
  if (has_dotdot(s)) return fail(l, line, item, "\"%s\": '..' is not allowed in a files entry", s);
  f->source = resolve(l, s);
  f->destination = guest_path_for(l, s);
  return f->source && f->destination ? 0 : -2;
}

/* files = [{ source = "dir", destination = "/guest", read_write = true }]. */
static int file_from_table(loader_t *l, wisp_manifest_file_t *f, const wisp_toml_node_t *entry,
                           const char *item) {
  static const char *const allowed[] = {"source", "destination", "read_write", NULL};
  static const unsupported_key_t unsupported[] = {{"exclude", NULL}, {NULL, NULL}};
  if (check_keys(l, entry, item, allowed, unsupported)) return -1;
  char *source;
  if (get_string(l, entry, "source", item, true, &source)) return -1;
  f->source = source; /* owned by f until replaced by its resolved form */
  if (get_string(l, entry, "destination", item, true, &f->destination)) return -1;
  char name[300];
  if (source[0] == 0)
    return fail(l, wisp_toml_line(wisp_toml_table_get(entry, "source")),
                join_key(name, sizeof name, item, "source"), "empty path");
  unsigned line = wisp_toml_line(wisp_toml_table_get(entry, "destination"));
  join_key(name, sizeof name, item, "destination");
  if (f->destination[0] != '/')
    return fail(l, line, name, "\"%s\": must be an absolute guest path (start with '/')", f->destination);
  if (has_dotdot(f->destination)) return fail(l, line, name, "\"%s\": '..' is not allowed", f->destination);
  f->source = resolve(l, source);
  free(source);
  if (!f->source) return -2;
  const wisp_toml_node_t *rw = wisp_toml_table_get(entry, "read_write");
  if (rw && wisp_toml_type(rw) != WISP_TOML_BOOL)
    return fail(l, wisp_toml_line(rw), join_key(name, sizeof name, item, "read_write"),
                "expected a boolean, found %s", type_name(rw));
  f->read_write = rw && wisp_toml_bool(rw);
  return 0;
}

static int parse_file_entry(loader_t *l, wisp_manifest_file_t *f, const wisp_toml_node_t *entry,
                            const char *item) {
  if (wisp_toml_type(entry) == WISP_TOML_STRING) return file_from_string(l, f, entry, item);
  if (wisp_toml_type(entry) == WISP_TOML_TABLE) return file_from_table(l, f, entry, item);
  return fail(l, wisp_toml_line(entry), item,
              "expected a path string or { source = \"dir\", destination = \"/path\" }, found %s",
              type_name(entry));
}

static int parse_files(loader_t *l, wisp_manifest_component_t *c, const wisp_toml_node_t *table,
                       const char *where) {
  char name[256], item[280];
  join_key(name, sizeof name, where, "files");
  const wisp_toml_node_t *node = wisp_toml_table_get(table, "files");
  if (!node) return 0;
  if (wisp_toml_type(node) != WISP_TOML_ARRAY)
    return fail(l, wisp_toml_line(node), name, "expected an array, found %s", type_name(node));
  size_t n = wisp_toml_array_count(node);
  c->files = alloc_array(l, n, sizeof *c->files);
  if (!c->files) return -2;
  for (size_t i = 0; i < n; i++) {
    const wisp_toml_node_t *entry = wisp_toml_array_at(node, i);
    format(item, sizeof item, "%s[%zu]", name, i);
    c->file_count++;
    if (parse_file_entry(l, &c->files[i], entry, item)) return -1;
    for (size_t k = 0; k < i; k++)
      if (strcmp(c->files[k].destination, c->files[i].destination) == 0)
        return fail(l, wisp_toml_line(entry), item, "guest path \"%s\" is mapped twice",
                    c->files[i].destination);
  }
  return 0;
}

static int parse_environment(loader_t *l, wisp_manifest_component_t *c, const wisp_toml_node_t *table,
                             const char *where) {
  char name[256], item[400];
  join_key(name, sizeof name, where, "environment");
  const wisp_toml_node_t *node = get_table(l, table, "environment", where);
  if (!node) return l->failed;
  size_t n = wisp_toml_table_count(node);
  c->env = alloc_array(l, n, sizeof *c->env);
  if (!c->env) return -2;
  for (size_t i = 0; i < n; i++) {
    size_t length;
    const char *key = wisp_toml_table_key(node, i, &length);
    const wisp_toml_node_t *value = wisp_toml_table_value(node, i);
    join_key(item, sizeof item, name, key);
    if (length == 0 || strlen(key) != length || strchr(key, '='))
      return fail(l, wisp_toml_line(value), name,
                  "invalid environment variable name \"%s\" (empty, or contains '=' or NUL)", key);
    const char *s = as_string(l, value, item);
    if (!s) return -1;
    wisp_manifest_env_t *e = &c->env[c->env_count++];
    e->name = dup_text(l, key);
    e->value = dup_text(l, s);
    if (!e->name || !e->value) return -2;
  }
  return 0;
}

static int parse_build(loader_t *l, wisp_manifest_component_t *c, const wisp_toml_node_t *table,
                       const char *where) {
  char name[256], item[280];
  join_key(name, sizeof name, where, "build");
  const wisp_toml_node_t *build = get_table(l, table, "build", where);
  if (!build) return l->failed;
  static const char *const allowed[] = {"command", "workdir", "watch", NULL};
  static const unsupported_key_t unsupported[] = {{"environment", NULL}, {NULL, NULL}};
  if (check_keys(l, build, name, allowed, unsupported)) return -1;
  c->has_build = true;
  const wisp_toml_node_t *command = wisp_toml_table_get(build, "command");
  join_key(item, sizeof item, name, "command");
  if (!command) return fail(l, wisp_toml_line(build), name, "missing required key 'command'");
  if (wisp_toml_type(command) == WISP_TOML_STRING) {
    const char *s = as_string(l, command, item);
    if (!s) return -1;
    c->build.commands = alloc_array(l, 1, sizeof *c->build.commands);
    if (!c->build.commands) return -2;
    c->build.commands[0] = dup_text(l, s);
    if (!c->build.commands[0]) return -2;
    c->build.command_count = 1;
  } else if (wisp_toml_type(command) == WISP_TOML_ARRAY) {
    if (get_string_array(l, build, "command", name, &c->build.commands, &c->build.command_count)) return -1;
  } else {
    return fail(l, wisp_toml_line(command), item, "expected a string or an array of strings, found %s",
                type_name(command));
  }
  char *workdir;
  if (get_string(l, build, "workdir", name, false, &workdir)) return -1;
  if (workdir) {
    c->build.workdir = resolve(l, workdir);
    free(workdir);
    if (!c->build.workdir) return -2;
  }
  return get_string_array(l, build, "watch", name, &c->build.watch, &c->build.watch_count);
}

static int parse_limits(loader_t *l, wisp_manifest_component_t *c, const wisp_toml_node_t *table,
                        const char *where) {
  wisp_manifest_limits_t *lim = &c->limits;
  lim->memory_mib = WISP_MANIFEST_DEFAULT_MEMORY_MIB;
  lim->cpu_ms = WISP_MANIFEST_DEFAULT_CPU_MS;
  lim->wall_ms = WISP_MANIFEST_DEFAULT_WALL_MS;
  lim->max_request_bytes = WISP_MANIFEST_DEFAULT_MAX_REQUEST_BYTES;
  lim->max_response_bytes = WISP_MANIFEST_DEFAULT_MAX_RESPONSE_BYTES;
  lim->max_concurrency = WISP_MANIFEST_DEFAULT_MAX_CONCURRENCY;
  char name[256];
  join_key(name, sizeof name, where, "limits");
  const wisp_toml_node_t *limits = get_table(l, table, "limits", where);
  if (!limits) return l->failed;
  static const char *const allowed[] = {
      "memory_mib", "cpu_ms", "wall_ms", "max_request_bytes", "max_response_bytes", "max_concurrency", NULL};
  if (check_keys(l, limits, name, allowed, NULL)) return -1;
  uint64_t v;
  if (get_uint(l, limits, "memory_mib", name, 1, WISP_MANIFEST_MAX_MEMORY_MIB, lim->memory_mib, &v))
    return -1;
  lim->memory_mib = (uint32_t)v;
  if (get_uint(l, limits, "cpu_ms", name, 1, WISP_MANIFEST_MAX_CPU_MS, lim->cpu_ms, &v)) return -1;
  lim->cpu_ms = (uint32_t)v;
  if (get_uint(l, limits, "wall_ms", name, 1, WISP_MANIFEST_MAX_WALL_MS, lim->wall_ms, &v)) return -1;
  lim->wall_ms = (uint32_t)v;
  if (get_uint(l, limits, "max_request_bytes", name, 0, WISP_MANIFEST_MAX_BODY_BYTES, lim->max_request_bytes,
               &lim->max_request_bytes))
    return -1;
  if (get_uint(l, limits, "max_response_bytes", name, 0, WISP_MANIFEST_MAX_BODY_BYTES,
               lim->max_response_bytes, &lim->max_response_bytes))
    return -1;
  if (get_uint(l, limits, "max_concurrency", name, 1, WISP_MANIFEST_MAX_CONCURRENCY, lim->max_concurrency,
               &v))
    return -1;
  lim->max_concurrency = (uint32_t)v;
  if (lim->cpu_ms > lim->wall_ms) {
    const wisp_toml_node_t *at = wisp_toml_table_get(limits, "cpu_ms");
    char key[280];
    return fail(l, wisp_toml_line(at), join_key(key, sizeof key, name, "cpu_ms"), "%u exceeds wall_ms %u%s",
                lim->cpu_ms, lim->wall_ms,
                wisp_toml_table_get(limits, "wall_ms") ? "" : " (the default; raise wall_ms)");
  }
  return 0;
}

static int parse_key_value_stores(loader_t *l, wisp_manifest_component_t *c, const wisp_toml_node_t *table,
                                  const char *where) {
  if (get_string_array(l, table, "key_value_stores", where, &c->key_value_stores, &c->key_value_store_count))
    return -1;
  char name[256], item[280];
  join_key(name, sizeof name, where, "key_value_stores");
  const wisp_toml_node_t *node = wisp_toml_table_get(table, "key_value_stores");
  for (size_t i = 0; i < c->key_value_store_count; i++) {
    format(item, sizeof item, "%s[%zu]", name, i);
    const char *store = c->key_value_stores[i];
    if (store[0] == 0) return fail(l, wisp_toml_line(node), item, "empty store name");
    for (size_t k = 0; k < i; k++)
      if (strcmp(c->key_value_stores[k], store) == 0)
        return fail(l, wisp_toml_line(wisp_toml_array_at(node, i)), item, "store \"%s\" is listed twice",
                    store);
  }
  return 0;
}

static const unsupported_key_t component_unsupported[] = {
    {"exclude_files", "map directories with files = [{ source, destination }] instead"},
    {"allowed_http_hosts", "use allowed_outbound_hosts"},
    {"sqlite_databases", NULL},
    {"ai_models", NULL},
    {"variables", NULL},
    {"dependencies", NULL},
    {"dependencies_inherit_configuration", NULL},
    {"tool", NULL},
    {NULL, NULL},
};

/* `init`: the name of a `() -> ()` export to run once before the snapshot,
 * or false for none. Whether the export exists is checked when the module
 * is loaded (the manifest does not read modules). */
static int parse_init(loader_t *l, wisp_manifest_component_t *c, const wisp_toml_node_t *table, const char *where) {
  const wisp_toml_node_t *node = wisp_toml_table_get(table, "init");
  if (!node) return 0;
  char name[256];
  join_key(name, sizeof name, where, "init");
  c->init_line = wisp_toml_line(node);
  if (wisp_toml_type(node) == WISP_TOML_BOOL) {
    if (wisp_toml_bool(node))
      return fail(l, c->init_line, name, "expected the name of an exported function, or false for none");
    c->no_init = true;
    return 0;
  }
  if (get_string(l, table, "init", where, false, &c->init)) return -1;
  if (!c->init[0]) return fail(l, c->init_line, name, "empty export name (write false for no initialisation)");
  return 0;
}

/* Reads one component table (from [component.ID] or an inline table in a
 * trigger) into c; c->id is already set. */
static int parse_component(loader_t *l, wisp_manifest_component_t *c, const wisp_toml_node_t *table,
                           const char *where) {
  static const char *const allowed[] = {"source", "description", "allowed_outbound_hosts",
                                        "files",  "environment", "key_value_stores",
                                        "build",  "limits",      "init",
                                        NULL};
  c->line = wisp_toml_line(table);
  if (check_keys(l, table, where, allowed, component_unsupported)) return -1;
  const wisp_toml_node_t *source = wisp_toml_table_get(table, "source");
  char name[256];
  join_key(name, sizeof name, where, "source");
  if (!source) return fail(l, wisp_toml_line(table), where, "missing required key 'source'");
  if (wisp_toml_type(source) == WISP_TOML_TABLE)
    return fail(l, wisp_toml_line(source), name,
                "a source URL is not supported by wisp; download the file and give its path");
  const char *path = as_string(l, source, name);
  if (!path) return -1;
  if (path[0] == 0) return fail(l, wisp_toml_line(source), name, "empty path");
  c->source = resolve(l, path);
  if (!c->source) return -2;
  if (get_string(l, table, "description", where, false, &c->description)) return -1;
  if (parse_hosts(l, c, table, where)) return -1;
  if (parse_files(l, c, table, where)) return -1;
  if (parse_environment(l, c, table, where)) return -1;
  if (parse_key_value_stores(l, c, table, where)) return -1;
  if (parse_build(l, c, table, where)) return -1;
  if (parse_init(l, c, table, where)) return -1;
  return parse_limits(l, c, table, where);
}

static int parse_components(loader_t *l, const wisp_toml_node_t *root) {
  const wisp_toml_node_t *components = get_table(l, root, "component", NULL);
  if (!components) return l->failed;
  wisp_manifest_t *m = l->manifest;
  char where[256];
  for (size_t i = 0; i < wisp_toml_table_count(components); i++) {
    size_t length;
    const char *id = wisp_toml_table_key(components, i, &length);
    const wisp_toml_node_t *table = wisp_toml_table_value(components, i);
    format(where, sizeof where, "component.%s", id);
    if (!valid_component_id(id, length))
      return fail(l, wisp_toml_line(table), where,
                  "invalid component name \"%s\": use lower-case letters, digits, '-' and '_', "
                  "starting with a letter",
                  id);
    if (wisp_toml_type(table) != WISP_TOML_TABLE)
      return fail(l, wisp_toml_line(table), where, "expected a table, found %s", type_name(table));
    wisp_manifest_component_t *c = &m->components[m->component_count++];
    c->id = dup_text(l, id);
    if (!c->id) return -2;
    if (parse_component(l, c, table, where)) return -1;
  }
  return 0;
}

/* ---- triggers ----------------------------------------------------------- */

/* Validates a route and fills t->route, t->prefix, t->wildcard. */
static int parse_route(loader_t *l, wisp_manifest_trigger_t *t, const wisp_toml_node_t *node,
                       const char *where) {
  unsigned line = wisp_toml_line(node);
  if (wisp_toml_type(node) == WISP_TOML_TABLE) {
    if (wisp_toml_table_get(node, "private"))
      return fail(l, line, where, "private routes are not supported by wisp");
    return fail(l, line, where, "expected a route string such as \"/hello\" or \"/api/...\"");
  }
  const char *route = as_string(l, node, where);
  if (!route) return -1;
  if (route[0] != '/') return fail(l, line, where, "\"%s\": a route must start with '/'", route);
  for (const char *p = route; *p; p++) {
    unsigned char ch = (unsigned char)*p;
    if (ch <= 0x20 || ch == 0x7f || ch == '?' || ch == '#')
      return fail(l, line, where, "\"%s\": spaces, control characters, '?' and '#' are not allowed", route);
  }
  size_t n = strlen(route);
  bool wildcard = n >= 4 && strcmp(route + n - 4, "/...") == 0;
  size_t prefix_length = wildcard ? n - 4 : n;
  /* check segments of the prefix */
  for (size_t i = 0; i < prefix_length;) {
    size_t seg = i + 1, end = seg;
    while (end < prefix_length && route[end] != '/') end++;
    if (end - seg == 3 && memcmp(route + seg, "...", 3) == 0)
      return fail(l, line, where, "\"%s\": '...' is only allowed at the end, as \"/...\"", route);
    if (end > seg && route[seg] == ':')
      return fail(l, line, where, "\"%s\": route parameters (':name') are not supported by wisp", route);
    if (end - seg == 2 && memcmp(route + seg, "..", 2) == 0)
      return fail(l, line, where, "\"%s\": '..' segments are not allowed", route);
    i = end;
  }
  t->route = dup_text(l, route);
  t->prefix = strndup(route, prefix_length);
  if (!t->route || !t->prefix) return fail_nomem(l);
  t->wildcard = wildcard;
  return 0;
}

static int parse_executor(loader_t *l, wisp_manifest_trigger_t *t, const wisp_toml_node_t *trigger,
                          const char *where) {
  char name[256];
  join_key(name, sizeof name, where, "executor");
  const wisp_toml_node_t *node = get_table(l, trigger, "executor", where);
  t->executor = WISP_EXECUTOR_HTTP;
  if (!node) return l->failed;
  static const char *const allowed[] = {"type", "argv", "entrypoint", NULL};
  if (check_keys(l, node, name, allowed, NULL)) return -1;
  char *type;
  if (get_string(l, node, "type", name, true, &type)) return -1;
  bool wagi = strcmp(type, "wagi") == 0;
  bool http = strcmp(type, "http") == 0 || strcmp(type, "spin") == 0;
  char key[280];
  if (!wagi && !http) {
    fail(l, wisp_toml_line(wisp_toml_table_get(node, "type")), join_key(key, sizeof key, name, "type"),
         "unknown executor \"%s\" (expected \"wagi\", \"http\" or \"spin\")", type);
    free(type);
    return -1;
  }
  free(type);
  if (http) {
    const char *extra = wisp_toml_table_get(node, "argv") ? "argv" : "entrypoint";
    if (wisp_toml_table_get(node, extra))
      return fail(l, wisp_toml_line(wisp_toml_table_get(node, extra)), join_key(key, sizeof key, name, extra),
                  "only allowed with type = \"wagi\"");
    return 0;
  }
  t->executor = WISP_EXECUTOR_WAGI;
  if (get_string(l, node, "argv", name, false, &t->wagi_argv)) return -1;
  if (get_string(l, node, "entrypoint", name, false, &t->wagi_entrypoint)) return -1;
  if (!t->wagi_argv) t->wagi_argv = dup_text(l, "${SCRIPT_NAME} ${ARGS}");
  if (!t->wagi_entrypoint) t->wagi_entrypoint = dup_text(l, "_start");
  return t->wagi_argv && t->wagi_entrypoint ? 0 : -2;
}

static int find_component_index(const wisp_manifest_t *m, const char *id, size_t *out) {
  for (size_t i = 0; i < m->component_count; i++) {
    if (strcmp(m->components[i].id, id) == 0) {
      *out = i;
      return 0;
    }
  }
  return -1;
}

/* The trigger's component: a name, or an inline component table. */
static int parse_trigger_component(loader_t *l, wisp_manifest_trigger_t *t, const wisp_toml_node_t *trigger,
                                   size_t index, const char *where) {
  wisp_manifest_t *m = l->manifest;
  char name[256];
  join_key(name, sizeof name, where, "component");
  const wisp_toml_node_t *node = wisp_toml_table_get(trigger, "component");
  if (!node) return fail(l, wisp_toml_line(trigger), where, "missing required key 'component'");
  if (wisp_toml_type(node) == WISP_TOML_TABLE) {
    char id[64];
    if (t->id)
      format(id, sizeof id, "%.60s", t->id);
    else
      format(id, sizeof id, "trigger-%zu", index + 1);
    size_t existing;
    if (find_component_index(m, id, &existing) == 0)
      return fail(l, wisp_toml_line(node), name,
                  "the inline component would be named \"%s\", which a [component.%s] already uses; "
                  "give the trigger another id",
                  id, id);
    wisp_manifest_component_t *c = &m->components[m->component_count++];
    c->id = dup_text(l, id);
    if (!c->id) return -2;
    if (parse_component(l, c, node, name)) return -1;
    t->component = m->component_count - 1;
    return 0;
  }
  const char *id = as_string(l, node, name);
  if (!id) return -1;
  if (find_component_index(m, id, &t->component) == 0) return 0;
  char known[200] = "";
  size_t used = 0;
  for (size_t i = 0; i < m->component_count && used + 1 < sizeof known; i++) {
    int w = snprintf(known + used, sizeof known - used, "%s%s", i ? ", " : "", m->components[i].id);
    if (w < 0) break;
    used += (size_t)w;
  }
  if (used >= sizeof known) used = sizeof known - 1;
  return fail(l, wisp_toml_line(node), name, "no component named \"%s\" (defined: %s)", id,
              m->component_count ? known : "none");
}

/* The index-th [[trigger.http]] table into t (already counted in the
 * manifest, so the triggers before it are complete). */
static int parse_trigger(loader_t *l, wisp_manifest_trigger_t *t, const wisp_toml_node_t *trigger,
                         size_t index, const char *where) {
  static const char *const allowed[] = {"route", "component", "executor", "id", NULL};
  static const unsupported_key_t unsupported[] = {{"components", NULL}, {NULL, NULL}};
  wisp_manifest_t *m = l->manifest;
  t->line = wisp_toml_line(trigger);
  if (check_keys(l, trigger, where, allowed, unsupported)) return -1;
  if (get_string(l, trigger, "id", where, false, &t->id)) return -1;
  const wisp_toml_node_t *route = wisp_toml_table_get(trigger, "route");
  char name[280];
  if (!route) return fail(l, t->line, where, "missing required key 'route'");
  if (parse_route(l, t, route, join_key(name, sizeof name, where, "route"))) return -1;
  for (size_t k = 0; k < index; k++) {
    const wisp_manifest_trigger_t *other = &m->triggers[k];
    if (other->wildcard == t->wildcard && strcmp(other->prefix, t->prefix) == 0)
      return fail(l, wisp_toml_line(route), name, "duplicate route \"%s\" (also on line %u)", t->route,
                  other->line);
  }
  if (parse_trigger_component(l, t, trigger, index, where)) return -1;
  return parse_executor(l, t, trigger, where);
}

static int parse_triggers(loader_t *l, const wisp_toml_node_t *root) {
  wisp_manifest_t *m = l->manifest;
  const wisp_toml_node_t *triggers = get_table(l, root, "trigger", NULL);
  if (!triggers) {
    if (l->failed) return -1;
    return fail(l, 1, NULL, "no [[trigger.http]] section: the application serves nothing");
  }
  char where[256];
  for (size_t i = 0; i < wisp_toml_table_count(triggers); i++) {
    const char *type = wisp_toml_table_key(triggers, i, NULL);
    if (strcmp(type, "http") != 0) {
      format(where, sizeof where, "trigger.%s", type);
      return fail(l, wisp_toml_line(wisp_toml_table_value(triggers, i)), where,
                  "trigger type \"%s\" is not supported by wisp (only http)", type);
    }
  }
  const wisp_toml_node_t *http = wisp_toml_table_get(triggers, "http");
  if (!http) return fail(l, wisp_toml_line(triggers), "trigger", "no [[trigger.http]] section");
  if (wisp_toml_type(http) != WISP_TOML_ARRAY)
    return fail(l, wisp_toml_line(http), "trigger.http",
                "expected an array of tables ([[trigger.http]]), found %s", type_name(http));
  size_t n = wisp_toml_array_count(http);
  if (n == 0) return fail(l, wisp_toml_line(http), "trigger.http", "no triggers");
  m->triggers = alloc_array(l, n, sizeof *m->triggers);
  if (!m->triggers) return -2;
  for (size_t i = 0; i < n; i++) {
    const wisp_toml_node_t *trigger = wisp_toml_array_at(http, i);
    format(where, sizeof where, "trigger.http[%zu]", i);
    if (wisp_toml_type(trigger) != WISP_TOML_TABLE)
      return fail(l, wisp_toml_line(trigger), where, "expected a table, found %s", type_name(trigger));
    wisp_manifest_trigger_t *t = &m->triggers[m->trigger_count++];
    if (parse_trigger(l, t, trigger, i, where)) return -1;
  }
  return 0;
}

/* ---- the document ------------------------------------------------------- */

static int parse_version(loader_t *l, const wisp_toml_node_t *root) {
  const wisp_toml_node_t *spin = wisp_toml_table_get(root, "spin_manifest_version");
  const wisp_toml_node_t *wisp = wisp_toml_table_get(root, "wisp_manifest_version");
  if (spin && wisp)
    return fail(l, wisp_toml_line(wisp), "wisp_manifest_version",
                "give either spin_manifest_version or wisp_manifest_version, not both");
  const wisp_toml_node_t *node = spin ? spin : wisp;
  const char *key = spin ? "spin_manifest_version" : "wisp_manifest_version";
  if (!node) return fail(l, 1, NULL, "missing spin_manifest_version = 2 (or wisp_manifest_version = 2)");
  if (wisp_toml_type(node) == WISP_TOML_INTEGER && wisp_toml_integer(node) == 2) {
    l->manifest->version = 2;
    return 0;
  }
  if (wisp_toml_type(node) == WISP_TOML_STRING && strcmp(wisp_toml_string(node, NULL), "1") == 0)
    return fail(l, wisp_toml_line(node), key,
                "manifest version 1 is not supported; wisp reads version 2 (run `spin doctor` "
                "or see docs/manifest.md)");
  if (wisp_toml_type(node) == WISP_TOML_INTEGER)
    return fail(l, wisp_toml_line(node), key, "unsupported manifest version %lld; wisp reads version 2",
                (long long)wisp_toml_integer(node));
  return fail(l, wisp_toml_line(node), key, "expected the integer 2, found %s", type_name(node));
}

static int parse_application(loader_t *l, const wisp_toml_node_t *root) {
  wisp_manifest_t *m = l->manifest;
  const wisp_toml_node_t *app = get_table(l, root, "application", NULL);
  if (!app) {
    if (l->failed) return -1;
    return fail(l, 1, NULL, "missing [application] section with a name");
  }
  static const char *const allowed[] = {"name", "version", "description", "authors", NULL};
  static const unsupported_key_t unsupported[] = {{"trigger", NULL}, {"targets", NULL}, {NULL, NULL}};
  if (check_keys(l, app, "application", allowed, unsupported)) return -1;
  if (get_string(l, app, "name", "application", true, &m->name)) return -1;
  if (m->name[0] == 0)
    return fail(l, wisp_toml_line(wisp_toml_table_get(app, "name")), "application.name", "must not be empty");
  if (get_string(l, app, "version", "application", false, &m->version_string)) return -1;
  if (get_string(l, app, "description", "application", false, &m->description)) return -1;
  return get_string_array(l, app, "authors", "application", &m->authors, &m->author_count);
}

/* An upper bound on the components: the named ones plus one per trigger,
 * which may define its own inline. */
static size_t component_capacity(const wisp_toml_node_t *root) {
  size_t n = wisp_toml_table_count(wisp_toml_table_get(root, "component"));
  const wisp_toml_node_t *triggers = wisp_toml_table_get(root, "trigger");
  n += wisp_toml_array_count(wisp_toml_table_get(triggers, "http"));
  return n;
}

static int parse_root(loader_t *l, const wisp_toml_node_t *root) {
  static const char *const allowed[] = {
      "spin_manifest_version", "wisp_manifest_version", "application", "trigger", "component", NULL};
  static const unsupported_key_t unsupported[] = {{"variables", NULL}, {NULL, NULL}};
  if (parse_version(l, root)) return -1;
  if (check_keys(l, root, NULL, allowed, unsupported)) return -1;
  if (parse_application(l, root)) return -1;
  l->manifest->components = alloc_array(l, component_capacity(root), sizeof *l->manifest->components);
  if (!l->manifest->components) return -2;
  if (parse_components(l, root)) return -1;
  return parse_triggers(l, root);
}

int wisp_manifest_parse(const char *text, size_t length, const char *path, wisp_manifest_t **out, char *error,
                        size_t error_size) {
  *out = NULL;
  if (error && error_size) error[0] = 0;
  loader_t l = {.path = path, .error = error, .error_size = error_size};
  wisp_manifest_t *m = calloc(1, sizeof *m);
  if (!m) return fail_nomem(&l);
  l.manifest = m;
  m->path = dup_text(&l, path);
  m->dir = dir_of(&l, path);
  if (l.failed) goto fail;
  wisp_toml_doc_t *doc;
  wisp_toml_error_t toml_error;
  int r = wisp_toml_parse(text, length, &doc, &toml_error);
  if (r == -2) {
    fail_nomem(&l);
    goto fail;
  }
  if (r) {
    /* "line 3, column 7: message" -> "PATH:3:7: message" */
    const char *message = strstr(toml_error.message, ": ");
    message = message ? message + 2 : toml_error.message;
    if (error && error_size)
      snprintf(error, error_size, "%s:%u:%u: %s", path, toml_error.line, toml_error.column, message);
    l.failed = -1;
    goto fail;
  }
  parse_root(&l, wisp_toml_root(doc));
  wisp_toml_free(doc);
  if (l.failed) goto fail;
  *out = m;
  return 0;
fail:
  wisp_manifest_free(m);
  return l.failed;
}

int wisp_manifest_load(const char *path, wisp_manifest_t **out, char *error, size_t error_size) {
  *out = NULL;
  FILE *file = fopen(path, "rb");
  if (!file) {
    if (error && error_size) snprintf(error, error_size, "%s: cannot open: %s", path, strerror(errno));
    return -1;
  }
  char *text = NULL;
  size_t length = 0, cap = 0;
  for (;;) {
    if (cap - length < 4096) {
      cap = cap ? cap * 2 : 16384;
      char *grown = realloc(text, cap);
      if (!grown) {
        free(text);
        fclose(file);
        if (error && error_size) snprintf(error, error_size, "%s: out of memory", path);
        return -2;
      }
      text = grown;
    }
    size_t got = fread(text + length, 1, cap - length, file);
    length += got;
    if (got == 0) break;
  }
  bool read_error = ferror(file) != 0;
  fclose(file);
  if (read_error) {
    free(text);
    if (error && error_size) snprintf(error, error_size, "%s: read error", path);
    return -1;
  }
  int r = wisp_manifest_parse(text, length, path, out, error, error_size);
  free(text);
  return r;
}

static void free_strings(char **list, size_t count) {
  for (size_t i = 0; i < count; i++) free(list[i]);
  free(list);
}

static void free_component(wisp_manifest_component_t *c) {
  free(c->id);
  free(c->source);
  free(c->description);
  free(c->init);
  for (size_t i = 0; i < c->host_count; i++) wisp_manifest_host_clear(&c->hosts[i]);
  free(c->hosts);
  for (size_t i = 0; i < c->file_count; i++) {
    free(c->files[i].source);
    free(c->files[i].destination);
  }
  free(c->files);
  for (size_t i = 0; i < c->env_count; i++) {
    free(c->env[i].name);
    free(c->env[i].value);
  }
  free(c->env);
  free_strings(c->key_value_stores, c->key_value_store_count);
  free_strings(c->build.commands, c->build.command_count);
  free(c->build.workdir);
  free_strings(c->build.watch, c->build.watch_count);
}

void wisp_manifest_free(wisp_manifest_t *m) {
  if (!m) return;
  for (size_t i = 0; i < m->component_count; i++) free_component(&m->components[i]);
  free(m->components);
  for (size_t i = 0; i < m->trigger_count; i++) {
    wisp_manifest_trigger_t *t = &m->triggers[i];
    free(t->route);
    free(t->prefix);
    free(t->id);
    free(t->wagi_argv);
    free(t->wagi_entrypoint);
  }
  free(m->triggers);
  free(m->path);
  free(m->dir);
  free(m->name);
  free(m->version_string);
  free(m->description);
  free_strings(m->authors, m->author_count);
  free(m);
}

const wisp_manifest_component_t *wisp_manifest_find_component(const wisp_manifest_t *m, const char *id) {
  size_t i;
  if (!m || !id || find_component_index(m, id, &i)) return NULL;
  return &m->components[i];
}

const wisp_manifest_trigger_t *wisp_manifest_match_route(const wisp_manifest_t *m, const char *path) {
  if (!m || !path) return NULL;
  size_t n = strcspn(path, "?");
  const wisp_manifest_trigger_t *best = NULL;
  size_t best_length = 0;
  for (size_t i = 0; i < m->trigger_count; i++) {
    const wisp_manifest_trigger_t *t = &m->triggers[i];
    size_t pn = strlen(t->prefix);
    if (!t->wildcard) {
      if (pn == n && memcmp(t->prefix, path, n) == 0) return t;
      continue;
    }
    /* the prefix must match whole segments: "/api" matches "/api", "/api/x" */
    if (pn > n || memcmp(t->prefix, path, pn) != 0) continue;
    if (pn < n && path[pn] != '/' && !(pn > 0 && t->prefix[pn - 1] == '/')) continue;
    if (!best || pn > best_length) {
      best = t;
      best_length = pn;
    }
  }
  return best;
}

size_t wisp_manifest_script_name_length(const wisp_manifest_trigger_t *trigger, const char *path) {
  size_t n = strcspn(path, "?");
  if (!trigger->wildcard) return n;
  size_t prefix = strlen(trigger->prefix);
  return prefix < n ? prefix : n;
}
