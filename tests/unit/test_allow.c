/*
 * test_allow.c: allowed_outbound_hosts on the request side
 * (src/wasihttp/allow.c): reading a wasi:http scheme and authority
 * strictly, and matching it against entries parsed by the manifest, as
 * spin.toml defines them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wasihttp/allow.c"

static int passed, failed;

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (cond) {                                                                \
      passed++;                                                                \
    } else {                                                                   \
      failed++;                                                                \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
    }                                                                          \
  } while (0)

static void test_parse_target(void) {
  wisp_allow_target_t t;
  char error[256];
  CHECK(wisp_allow_parse_target("HTTPS", "API.Example.com", &t, error, sizeof error) == 0);
  CHECK(strcmp(t.scheme, "https") == 0 && strcmp(t.host, "api.example.com") == 0 && t.port == 443 &&
        !t.port_written && !t.is_ip);
  CHECK(wisp_allow_parse_target("http", "127.0.0.1:8080", &t, error, sizeof error) == 0);
  CHECK(strcmp(t.host, "127.0.0.1") == 0 && t.port == 8080 && t.port_written && t.is_ip);
  CHECK(wisp_allow_parse_target("http", "example.com.", &t, error, sizeof error) == 0);
  CHECK(strcmp(t.host, "example.com") == 0 && t.port == 80);
  CHECK(wisp_allow_parse_target("http", "[0:0:0::1]:9000", &t, error, sizeof error) == 0);
  CHECK(strcmp(t.host, "[::1]") == 0 && t.port == 9000 && t.is_ip);
  CHECK(wisp_allow_parse_target("https", "[FE80::A]", &t, error, sizeof error) == 0);
  CHECK(strcmp(t.host, "[fe80::a]") == 0 && t.port == 443);
  CHECK(wisp_allow_parse_target("http", "my_host-1.internal", &t, error, sizeof error) == 0);
  CHECK(wisp_allow_parse_target("http", "1.example.com", &t, error, sizeof error) == 0 && !t.is_ip);

  static const struct {
    const char *scheme, *authority, *reason;
  } bad[] = {
      {"http", "", "missing authority"},
      {"http", "user@example.com", "'@'"},
      {"http", "ex%61mple.com", "'%'"},
      {"http", "example.com/path", "'/'"},
      {"http", "exa mple.com", "0x20"},
      {"http", "example.com:", "invalid port"},
      {"http", "example.com:0", "invalid port"},
      {"http", "example.com:65536", "invalid port"},
      {"http", "example.com:8o", "invalid port"},
      {"http", "example.com:80:80", "invalid port"},
      {"http", "a..b", "empty label"},
      {"http", ".a", "empty label"},
      {"http", ".", "missing host"},
      {"http", "127.1", "IPv4"},
      {"http", "0x7f.0.0.1", "IPv4"},
      {"http", "2130706433", "IPv4"},
      {"http", "127.0.0.01", "IPv4"},
      {"http", "256.0.0.1", "IPv4"},
      {"http", "1.2.3.4.5", "IPv4"},
      {"http", "[::1", "unterminated"},
      {"http", "[::1]x", "expected ':'"},
      {"http", "[zz::1]", "IPv6"},
      {"http", "[]", "IPv6"},
      {"http", "*.example.com", "'*'"},
      {"ftp", "files.example.com", "no default port"},
      {"1http", "example.com", "invalid scheme"},
      {"", "example.com", "invalid scheme"},
      {"http", "\xc3\xa9.com", "0xc3"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    error[0] = 0;
    int r = wisp_allow_parse_target(bad[i].scheme, bad[i].authority, &t, error, sizeof error);
    if (r == -1 && strstr(error, bad[i].reason)) {
      passed++;
    } else {
      failed++;
      fprintf(stderr, "parse_target(%s, %s): r=%d error '%s', expected '%s'\n", bad[i].scheme,
              bad[i].authority, r, error, bad[i].reason);
    }
  }
  char long_name[400];
  memset(long_name, 'a', sizeof long_name - 1);
  long_name[sizeof long_name - 1] = 0;
  CHECK(wisp_allow_parse_target("http", long_name, &t, error, sizeof error) == -1);
}

/* check(component, scheme, authority) as a result code. */
static wisp_allow_result_t check(const wisp_manifest_component_t *c, const char *scheme,
                                 const char *authority) {
  wisp_allow_target_t t;
  char error[256];
  return wisp_allow_check(c, scheme, authority, &t, error, sizeof error);
}

static void test_match(void) {
  const char *text =
      "spin_manifest_version = 2\n[application]\nname = \"h\"\n"
      "[[trigger.http]]\nroute = \"/\"\ncomponent = \"c\"\n"
      "[component.c]\nsource = \"c.wasm\"\n"
      "allowed_outbound_hosts = [\"https://api.example.com\", \"http://127.0.0.1:8080\", "
      "\"https://*.example.org\", \"*://any-scheme.net\", \"http://anyport.io:*\", "
      "\"https://[::1]:8443\", \"http://[0:0::2]\", \"http://10.0.0.1:*\", \"https://*.0.0.1\"]\n"
      "[component.none]\nsource = \"n.wasm\"\n"
      "[component.local]\nsource = \"l.wasm\"\nallowed_outbound_hosts = [\"http://127.0.0.1:*\"]\n"
      "[component.all]\nsource = \"a.wasm\"\nallowed_outbound_hosts = [\"*://*:*\"]\n";
  char error[512];
  wisp_manifest_t *m = NULL;
  CHECK(wisp_manifest_parse(text, strlen(text), "wisp.toml", &m, error, sizeof error) == 0);
  if (!m) {
    fprintf(stderr, "%s\n", error);
    return;
  }
  const wisp_manifest_component_t *c = wisp_manifest_find_component(m, "c");
  CHECK(check(c, "https", "api.example.com") == WISP_ALLOW_OK);
  CHECK(check(c, "https", "API.EXAMPLE.COM:443") == WISP_ALLOW_OK);
  CHECK(check(c, "https", "api.example.com.") == WISP_ALLOW_OK);
  CHECK(check(c, "http", "api.example.com") == WISP_ALLOW_DENIED);       /* scheme */
  CHECK(check(c, "https", "api.example.com:8443") == WISP_ALLOW_DENIED); /* port */
  CHECK(check(c, "https", "example.com") == WISP_ALLOW_DENIED);
  CHECK(check(c, "https", "api.example.com.evil.net") == WISP_ALLOW_DENIED);
  CHECK(check(c, "http", "127.0.0.1:8080") == WISP_ALLOW_OK);
  CHECK(check(c, "http", "127.0.0.1") == WISP_ALLOW_DENIED);
  CHECK(check(c, "http", "127.0.0.1:8081") == WISP_ALLOW_DENIED);
  CHECK(check(c, "http", "127.1:8080") == WISP_ALLOW_INVALID); /* not read as a name */
  CHECK(check(c, "https", "a.example.org") == WISP_ALLOW_OK);
  CHECK(check(c, "https", "a.b.example.org:443") == WISP_ALLOW_OK);
  CHECK(check(c, "https", "example.org") == WISP_ALLOW_DENIED);
  CHECK(check(c, "https", "badexample.org") == WISP_ALLOW_DENIED);
  CHECK(check(c, "http", "any-scheme.net") == WISP_ALLOW_OK);
  CHECK(check(c, "https", "any-scheme.net") == WISP_ALLOW_OK);
  CHECK(check(c, "https", "any-scheme.net:80") == WISP_ALLOW_DENIED); /* https's default is 443 */
  CHECK(check(c, "http", "anyport.io:1") == WISP_ALLOW_OK);
  CHECK(check(c, "http", "anyport.io") == WISP_ALLOW_OK);
  CHECK(check(c, "https", "anyport.io") == WISP_ALLOW_DENIED);
  CHECK(check(c, "https", "[::1]:8443") == WISP_ALLOW_OK);
  CHECK(check(c, "https", "[0000::0001]:8443") == WISP_ALLOW_OK); /* same address */
  CHECK(check(c, "https", "[::1]") == WISP_ALLOW_DENIED);
  CHECK(check(c, "http", "[::2]") == WISP_ALLOW_OK); /* the entry was written long */
  CHECK(check(c, "http", "[::3]") == WISP_ALLOW_DENIED);
  CHECK(check(c, "http", "10.0.0.1:5") == WISP_ALLOW_OK);
  CHECK(check(c, "http", "10.0.0.10:5") == WISP_ALLOW_DENIED);
  CHECK(check(c, "https", "127.0.0.1") == WISP_ALLOW_DENIED); /* "*.0.0.1" never matches an address */

  const wisp_manifest_component_t *none = wisp_manifest_find_component(m, "none");
  CHECK(check(none, "https", "api.example.com") == WISP_ALLOW_DENIED);
  CHECK(check(NULL, "https", "api.example.com") == WISP_ALLOW_DENIED);

  const wisp_manifest_component_t *local = wisp_manifest_find_component(m, "local");
  CHECK(check(local, "http", "127.0.0.1:1") == WISP_ALLOW_OK);
  CHECK(check(local, "http", "127.0.0.1:65535") == WISP_ALLOW_OK);
  CHECK(check(local, "https", "127.0.0.1:443") == WISP_ALLOW_DENIED);
  CHECK(check(local, "http", "localhost:80") == WISP_ALLOW_DENIED);
  CHECK(check(local, "http", "127.0.0.2:80") == WISP_ALLOW_DENIED);

  const wisp_manifest_component_t *all = wisp_manifest_find_component(m, "all");
  CHECK(check(all, "https", "anything.at.all:1234") == WISP_ALLOW_OK);
  CHECK(check(all, "http", "[::1]") == WISP_ALLOW_OK);
  CHECK(check(all, "http", "x@y") == WISP_ALLOW_INVALID);

  /* The message names the destination for the log line. */
  wisp_allow_target_t t;
  CHECK(wisp_allow_check(c, "HTTP", "Evil.Example:81", &t, error, sizeof error) == WISP_ALLOW_DENIED);
  CHECK(strcmp(error, "http://evil.example:81 is not in allowed_outbound_hosts") == 0);
  wisp_manifest_free(m);
}

/* Entries in Spin's syntax that wisp refuses at load, each with a reason. */
static void test_manifest_refuses(void) {
  static const struct {
    const char *entry, *reason;
  } bad[] = {
      {"insecure:allow-all", "write \"*://*:*\""},
      {"http://127.0.0.1:8000..8010", "port ranges"},
      {"https://10.0.0.0/8", "CIDR"},
      {"http://{{ host }}", "invalid character '{'"},
      {"https://api.*.com", "invalid character '*'"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    wisp_manifest_host_t h;
    char error[256] = "";
    int r = wisp_manifest_parse_host(bad[i].entry, &h, error, sizeof error);
    if (r == -1 && strstr(error, bad[i].reason)) {
      passed++;
    } else {
      failed++;
      fprintf(stderr, "parse_host(%s): r=%d error '%s', expected '%s'\n", bad[i].entry, r, error,
              bad[i].reason);
      if (r == 0) wisp_manifest_host_clear(&h);
    }
  }
}

int main(void) {
  test_parse_target();
  test_match();
  test_manifest_refuses();
  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
