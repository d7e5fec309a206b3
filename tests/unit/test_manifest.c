/*
 * test_manifest.c: wisp.toml loading, defaults, error messages, the route
 * matcher and the outbound-host matcher.
 *
 * Sample manifests live in tests/manifest/ (found from this file's path).
 * Every tests/manifest/invalid/NAME.toml starts with a line
 *   # expect: LINE: KEY: message
 * and must fail to load with exactly "PATH:" followed by that text.
 */
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The manifest source is included (as h2o's unit tests do) with its
 * allocator replaced, so that every allocation can be made to fail in turn.
 * Allocations left before the next one fails; -1 means never fail. */
static long alloc_budget = -1;
static long alloc_calls;

static bool take_allocation(void) {
  alloc_calls++;
  if (alloc_budget == 0) return false;
  if (alloc_budget > 0) alloc_budget--;
  return true;
}
static void *test_malloc(size_t size) { return take_allocation() ? malloc(size) : NULL; }
static void *test_calloc(size_t count, size_t size) { return take_allocation() ? calloc(count, size) : NULL; }
static void *test_realloc(void *p, size_t size) { return take_allocation() ? realloc(p, size) : NULL; }
static char *test_strdup(const char *s) { return take_allocation() ? strdup(s) : NULL; }
static char *test_strndup(const char *s, size_t n) { return take_allocation() ? strndup(s, n) : NULL; }

#undef strdup
#undef strndup
#define malloc  test_malloc
#define calloc  test_calloc
#define realloc test_realloc
#define strdup  test_strdup
#define strndup test_strndup
#include "manifest/manifest.c"
#undef malloc
#undef calloc
#undef realloc
#undef strdup
#undef strndup

static int passed, failed;
static char data_dir[1024]; /* ".../tests/manifest" */

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (cond) {                                                                \
      passed++;                                                                \
    } else {                                                                   \
      failed++;                                                                \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
    }                                                                          \
  } while (0)

static bool streq(const char *a, const char *b) { return a && b && strcmp(a, b) == 0; }

/* data_dir/name into out. */
static const char *data_path(char *out, size_t size, const char *name) {
  snprintf(out, size, "%s/%s", data_dir, name);
  return out;
}

static wisp_manifest_t *load_ok(const char *name) {
  char path[1200], error[512];
  wisp_manifest_t *m = NULL;
  if (wisp_manifest_load(data_path(path, sizeof path, name), &m, error, sizeof error) != 0) {
    failed++;
    fprintf(stderr, "loading %s failed: %s\n", name, error);
    return NULL;
  }
  passed++;
  return m;
}

/* Parses text that must fail with message (after "wisp.toml:"). */
static void parse_bad(const char *text, const char *message, int line) {
  char error[512], want[600];
  wisp_manifest_t *m = (wisp_manifest_t *)1;
  int r = wisp_manifest_parse(text, strlen(text), "wisp.toml", &m, error, sizeof error);
  snprintf(want, sizeof want, "wisp.toml:%s", message);
  if (r != -1 || m != NULL || strcmp(error, want) != 0) {
    failed++;
    fprintf(stderr, "%s:%d: wanted '%s', got %d '%s'\n", __FILE__, line, want, r, error);
    if (r == 0) wisp_manifest_free(m);
    return;
  }
  passed++;
}

static const char *route_of(const wisp_manifest_t *m, const char *path);

static const char *component_source(const wisp_manifest_t *m, const char *id) {
  const wisp_manifest_component_t *c = wisp_manifest_find_component(m, id);
  return c ? c->source : NULL;
}

static void test_full(void) {
  wisp_manifest_t *m = load_ok("full.toml");
  if (!m) return;
  char want[1200];
  CHECK(m->version == 2);
  CHECK(streq(m->name, "full-app"));
  CHECK(streq(m->version_string, "1.2.3"));
  CHECK(streq(m->description, "Every key wisp understands"));
  CHECK(m->author_count == 2 && streq(m->authors[0], "Ada <ada@example.com>") &&
        streq(m->authors[1], "Grace"));
  CHECK(streq(m->dir, data_dir));
  /* 3 named components and one inline */
  CHECK(m->component_count == 4);
  CHECK(streq(component_source(m, "hello"), data_path(want, sizeof want, "hello.wasm")));
  CHECK(streq(component_source(m, "api"), data_path(want, sizeof want, "target/api.wasm")));
  CHECK(streq(component_source(m, "cgi"), "/opt/cgi/script.wasm"));
  CHECK(streq(component_source(m, "trigger-5"), data_path(want, sizeof want, "inline.wasm")));
  CHECK(wisp_manifest_find_component(m, "nope") == NULL);

  const wisp_manifest_component_t *hello = wisp_manifest_find_component(m, "hello");
  CHECK(hello && streq(hello->description, "says hello") && hello->line == 38);
  CHECK(hello && hello->host_count == 0 && hello->file_count == 0 && hello->env_count == 0 &&
        hello->key_value_store_count == 0 && !hello->has_build);

  const wisp_manifest_component_t *api = wisp_manifest_find_component(m, "api");
  if (api) {
    CHECK(api->host_count == 7);
    CHECK(streq(api->hosts[0].scheme, "https") && streq(api->hosts[0].host, "api.example.com") &&
          api->hosts[0].port == 0);
    CHECK(streq(api->hosts[1].host, "127.0.0.1") && api->hosts[1].port == 8080);
    CHECK(streq(api->hosts[2].host, "*.example.org"));
    CHECK(streq(api->hosts[3].scheme, "*") && api->hosts[3].port == WISP_MANIFEST_ANY_PORT);
    CHECK(streq(api->hosts[4].scheme, "redis") && api->hosts[4].port == 6379);
    CHECK(streq(api->hosts[5].host, "[::1]") && api->hosts[5].port == 9000);
    CHECK(streq(api->hosts[6].scheme, "https") && streq(api->hosts[6].host, "upper.example.com"));
    CHECK(api->file_count == 4);
    CHECK(streq(api->files[0].source, data_path(want, sizeof want, "static")) &&
          streq(api->files[0].destination, "/static") && !api->files[0].read_write);
    CHECK(streq(api->files[1].source, data_path(want, sizeof want, "data")) &&
          streq(api->files[1].destination, "/var/data") && api->files[1].read_write);
    CHECK(streq(api->files[2].source, "/etc/ssl") && streq(api->files[2].destination, "/ssl") &&
          !api->files[2].read_write);
    CHECK(streq(api->files[3].destination, "/assets/img"));
    CHECK(api->env_count == 2 && streq(api->env[0].name, "GREETING") && streq(api->env[0].value, "hi") &&
          streq(api->env[1].name, "EMPTY") && streq(api->env[1].value, ""));
    CHECK(api->key_value_store_count == 2 && streq(api->key_value_stores[1], "cache"));
    CHECK(api->has_build && api->build.command_count == 1 &&
          streq(api->build.commands[0], "cargo build --release"));
    CHECK(streq(api->build.workdir, data_path(want, sizeof want, "api")));
    CHECK(api->build.watch_count == 2 && streq(api->build.watch[0], "src/**/*.rs"));
    CHECK(api->limits.memory_mib == 256 && api->limits.cpu_ms == 500 && api->limits.wall_ms == 10000 &&
          api->limits.max_request_bytes == 1048576 && api->limits.max_response_bytes == 0 &&
          api->limits.max_concurrency == 8);
  }
  const wisp_manifest_component_t *cgi = wisp_manifest_find_component(m, "cgi");
  CHECK(cgi && cgi->build.command_count == 2 && streq(cgi->build.commands[1], "make install") &&
        cgi->build.workdir == NULL && cgi->build.watch_count == 0);
  const wisp_manifest_component_t *inl = wisp_manifest_find_component(m, "trigger-5");
  CHECK(inl && inl->env_count == 1 && streq(inl->env[0].value, "inline"));
  CHECK(inl && inl->limits.memory_mib == WISP_MANIFEST_DEFAULT_MEMORY_MIB);

  CHECK(m->trigger_count == 6);
  if (m->trigger_count == 6) {
    const wisp_manifest_trigger_t *t = m->triggers;
    CHECK(streq(t[0].route, "/hello") && !t[0].wildcard && streq(t[0].prefix, "/hello") &&
          streq(m->components[t[0].component].id, "hello") && t[0].executor == WISP_EXECUTOR_HTTP &&
          t[0].line == 10 && t[0].id == NULL);
    CHECK(streq(t[1].route, "/api/...") && t[1].wildcard && streq(t[1].prefix, "/api") &&
          streq(t[1].id, "api-trigger") && t[1].executor == WISP_EXECUTOR_HTTP);
    CHECK(t[2].executor == WISP_EXECUTOR_WAGI && streq(t[2].wagi_argv, "${SCRIPT_NAME} -v ${ARGS}") &&
          streq(t[2].wagi_entrypoint, "main"));
    CHECK(t[3].wildcard && streq(t[3].prefix, ""));
    CHECK(streq(m->components[t[4].component].id, "trigger-5"));
    CHECK(t[5].executor == WISP_EXECUTOR_WAGI && streq(t[5].wagi_argv, "${SCRIPT_NAME} ${ARGS}") &&
          streq(t[5].wagi_entrypoint, "_start"));
  }
  wisp_manifest_free(m);
}

static void test_defaults(void) {
  wisp_manifest_t *m = load_ok("minimal.toml");
  if (!m) return;
  CHECK(streq(m->name, "minimal") && m->version_string == NULL && m->description == NULL &&
        m->author_count == 0);
  CHECK(m->component_count == 1 && m->trigger_count == 1);
  const wisp_manifest_component_t *c = &m->components[0];
  CHECK(c->limits.memory_mib == 128);
  CHECK(c->limits.cpu_ms == 1000);
  CHECK(c->limits.wall_ms == 30000);
  CHECK(c->limits.max_request_bytes == 10u * 1024 * 1024);
  CHECK(c->limits.max_response_bytes == 32u * 1024 * 1024);
  CHECK(c->limits.max_concurrency == 64);
  CHECK(c->description == NULL && c->host_count == 0 && c->file_count == 0 && c->env_count == 0 &&
        !c->has_build);
  CHECK(m->triggers[0].executor == WISP_EXECUTOR_HTTP && m->triggers[0].wagi_argv == NULL);
  wisp_manifest_free(m);

  m = load_ok("wisp_version.toml");
  if (!m) return;
  CHECK(streq(m->name, "inline-style"));
  CHECK(m->trigger_count == 2 && m->component_count == 2);
  const wisp_manifest_component_t *a = wisp_manifest_find_component(m, "a");
  CHECK(a && a->limits.memory_mib == WISP_MANIFEST_MAX_MEMORY_MIB &&
        a->limits.cpu_ms == WISP_MANIFEST_MAX_CPU_MS &&
        a->limits.max_request_bytes == WISP_MANIFEST_MAX_BODY_BYTES &&
        a->limits.max_concurrency == WISP_MANIFEST_MAX_CONCURRENCY);
  /* an inline component takes the trigger's id as its name */
  CHECK(wisp_manifest_find_component(m, "bee") != NULL);
  wisp_manifest_free(m);

  /* relative paths next to a manifest given without a directory stay as written */
  const char *text =
      "spin_manifest_version = 2\n[application]\nname = \"x\"\n"
      "[[trigger.http]]\nroute = \"/\"\ncomponent = \"c\"\n"
      "[component.c]\nsource = \"c.wasm\"\nfiles = [\".\"]\n";
  char error[512];
  CHECK(wisp_manifest_parse(text, strlen(text), "wisp.toml", &m, error, sizeof error) == 0);
  if (m) {
    CHECK(streq(m->dir, ".") && streq(m->components[0].source, "c.wasm"));
    CHECK(streq(m->components[0].files[0].destination, "/"));
    wisp_manifest_free(m);
  }
  CHECK(wisp_manifest_parse(text, strlen(text), "/srv/app/wisp.toml", &m, error, sizeof error) == 0);
  if (m) {
    CHECK(streq(m->dir, "/srv/app") && streq(m->components[0].source, "/srv/app/c.wasm"));
    wisp_manifest_free(m);
  }
  CHECK(wisp_manifest_parse(text, strlen(text), "/wisp.toml", &m, error, sizeof error) == 0);
  if (m) {
    CHECK(streq(m->components[0].source, "/c.wasm"));
    wisp_manifest_free(m);
  }
}

/* A spin.toml written the way Spin's templates and docs write them. */
static void test_spin_compat(void) {
  wisp_manifest_t *m = load_ok("spin_compat.toml");
  if (!m) return;
  CHECK(m->component_count == 3 && m->trigger_count == 3);
  const wisp_manifest_component_t *c = wisp_manifest_find_component(m, "spin-manifest-example");
  CHECK(c && c->host_count == 0 && c->has_build && c->build.watch_count == 2);
  CHECK(c && c->limits.memory_mib == WISP_MANIFEST_DEFAULT_MEMORY_MIB);
  const wisp_manifest_component_t *fs = wisp_manifest_find_component(m, "fileserver");
  CHECK(fs && fs->file_count == 1 && streq(fs->files[0].destination, "/") && !fs->files[0].read_write);
  const wisp_manifest_component_t *env = wisp_manifest_find_component(m, "env");
  CHECK(env && env->host_count == 3 && streq(env->hosts[0].scheme, "mysql") && env->hosts[0].port == 0);
  CHECK(env && wisp_manifest_host_allowed(env, "mysql://db.example.com:3306"));
  CHECK(env && wisp_manifest_host_allowed(env, "https://example.com:4567"));
  CHECK(env && !wisp_manifest_host_allowed(env, "https://example.com"));
  CHECK(env && wisp_manifest_host_allowed(env, "http://127.0.0.1:3000"));
  CHECK(streq(route_of(m, "/static/css/site.css"), "/static/..."));
  CHECK(streq(route_of(m, "/env"), "/env"));
  CHECK(streq(route_of(m, "/other"), "/..."));
  CHECK(m->triggers[2].executor == WISP_EXECUTOR_WAGI);
  wisp_manifest_free(m);
}

/* Every file in tests/manifest/invalid must fail with its expected message. */
static void test_invalid_files(void) {
  char dir[1200];
  data_path(dir, sizeof dir, "invalid");
  DIR *d = opendir(dir);
  CHECK(d != NULL);
  if (!d) return;
  int count = 0;
  struct dirent *entry;
  while ((entry = readdir(d)) != NULL) {
    size_t n = strlen(entry->d_name);
    if (n < 6 || strcmp(entry->d_name + n - 5, ".toml") != 0) continue;
    count++;
    char path[2400], first[600], want[3000], error[1024];
    snprintf(path, sizeof path, "%s/%s", dir, entry->d_name);
    FILE *f = fopen(path, "rb");
    if (!f || !fgets(first, sizeof first, f) || strncmp(first, "# expect: ", 10) != 0) {
      failed++;
      fprintf(stderr, "%s: no '# expect: ' first line\n", path);
      if (f) fclose(f);
      continue;
    }
    fclose(f);
    first[strcspn(first, "\n")] = 0;
    snprintf(want, sizeof want, "%s:%s", path, first + 10);
    wisp_manifest_t *m = (wisp_manifest_t *)1;
    int r = wisp_manifest_load(path, &m, error, sizeof error);
    if (r != -1 || m != NULL || strcmp(error, want) != 0) {
      failed++;
      fprintf(stderr, "%s:\n  wanted %s\n  got %d %s\n", entry->d_name, want, r, error);
      if (r == 0) wisp_manifest_free(m);
      continue;
    }
    passed++;
  }
  closedir(d);
  CHECK(count >= 83);
}

static void test_errors_inline(void) {
  parse_bad("", "1: missing spin_manifest_version = 2 (or wisp_manifest_version = 2)", __LINE__);
  parse_bad("a = [\n", "2:1: expected a value, found end of file", __LINE__);
  parse_bad(
      "spin_manifest_version = 2\n[application]\nname = \"x\"\n"
      "[[trigger.http]]\nroute = \"/\"\ncomponent = \"c\"\n"
      "[component.c]\nsource = \"c.wasm\"\n[component.c.limits]\nmemory_mib = 1.5\n",
      "10: component.c.limits.memory_mib: expected an integer, found float", __LINE__);
  parse_bad(
      "spin_manifest_version = 2\n[application]\nname = \"x\"\n[[trigger.http]]\n"
      "route = \"/\"\ncomponent = \"c\"\n",
      "6: trigger.http[0].component: no component named \"c\" (defined: none)", __LINE__);
  /* the unsupported notice wins over "unknown" even for tables */
  parse_bad(
      "spin_manifest_version = 2\n[application]\nname = \"x\"\n[[trigger.http]]\n"
      "route = \"/\"\ncomponent = \"c\"\n[component.c]\nsource = \"c.wasm\"\n"
      "[component.c.dependencies]\n\"a:b/c\" = \"1.0\"\n",
      "9: component.c.dependencies: not supported by wisp", __LINE__);
  /* loading a file that is not there names it */
  char error[512];
  wisp_manifest_t *m = (wisp_manifest_t *)1;
  CHECK(wisp_manifest_load("/nonexistent/wisp.toml", &m, error, sizeof error) == -1);
  CHECK(m == NULL && strncmp(error, "/nonexistent/wisp.toml: cannot open: ", 37) == 0);
  /* a zero-sized error buffer is allowed */
  CHECK(wisp_manifest_parse("x", 1, "w.toml", &m, NULL, 0) == -1 && m == NULL);
  wisp_manifest_free(NULL);
}

/* `init`: a string names the pre-initialisation export, false turns it off. */
static void test_init_key(void) {
  const char *head =
      "spin_manifest_version = 2\n[application]\nname = \"x\"\n[[trigger.http]]\nroute = \"/\"\n"
      "component = \"c\"\n[component.c]\nsource = \"c.wasm\"\n";
  char text[512];
  wisp_manifest_t *m = NULL;
  char error[512];
  snprintf(text, sizeof text, "%sinit = \"wizer.initialize\"\n", head);
  CHECK(wisp_manifest_parse(text, strlen(text), "wisp.toml", &m, error, sizeof error) == 0);
  if (m) {
    CHECK(streq(m->components[0].init, "wizer.initialize") && !m->components[0].no_init &&
          m->components[0].init_line == 9);
    wisp_manifest_free(m);
  }
  m = NULL;
  snprintf(text, sizeof text, "%sinit = false\n", head);
  CHECK(wisp_manifest_parse(text, strlen(text), "wisp.toml", &m, error, sizeof error) == 0);
  if (m) {
    CHECK(m->components[0].init == NULL && m->components[0].no_init);
    wisp_manifest_free(m);
  }
  m = NULL;
  CHECK(wisp_manifest_parse(head, strlen(head), "wisp.toml", &m, error, sizeof error) == 0);
  if (m) {
    CHECK(m->components[0].init == NULL && !m->components[0].no_init && m->components[0].init_line == 0);
    wisp_manifest_free(m);
  }
  snprintf(text, sizeof text, "%sinit = true\n", head);
  parse_bad(text, "9: component.c.init: expected the name of an exported function, or false for none", __LINE__);
  snprintf(text, sizeof text, "%sinit = \"\"\n", head);
  parse_bad(text, "9: component.c.init: empty export name (write false for no initialisation)", __LINE__);
  snprintf(text, sizeof text, "%sinit = 3\n", head);
  parse_bad(text, "9: component.c.init: expected a string, found integer", __LINE__);
}

static const char *route_of(const wisp_manifest_t *m, const char *path) {
  const wisp_manifest_trigger_t *t = wisp_manifest_match_route(m, path);
  return t ? t->route : NULL;
}

static void test_routes(void) {
  const char *text =
      "spin_manifest_version = 2\n[application]\nname = \"r\"\n"
      "[component.c]\nsource = \"c.wasm\"\n"
      "[[trigger.http]]\nroute = \"/api/...\"\ncomponent = \"c\"\n"
      "[[trigger.http]]\nroute = \"/api/v1/...\"\ncomponent = \"c\"\n"
      "[[trigger.http]]\nroute = \"/api/v1/users\"\ncomponent = \"c\"\n"
      "[[trigger.http]]\nroute = \"/hello\"\ncomponent = \"c\"\n"
      "[[trigger.http]]\nroute = \"/\"\ncomponent = \"c\"\n"
      "[[trigger.http]]\nroute = \"/static/\"\ncomponent = \"c\"\n";
  char error[512];
  wisp_manifest_t *m = NULL;
  CHECK(wisp_manifest_parse(text, strlen(text), "wisp.toml", &m, error, sizeof error) == 0);
  if (!m) {
    fprintf(stderr, "%s\n", error);
    return;
  }
  CHECK(streq(route_of(m, "/hello"), "/hello"));
  CHECK(route_of(m, "/hello/") == NULL);
  CHECK(route_of(m, "/hello/x") == NULL);
  CHECK(route_of(m, "/hellox") == NULL);
  CHECK(streq(route_of(m, "/hello?name=x"), "/hello"));
  CHECK(streq(route_of(m, "/"), "/"));
  CHECK(streq(route_of(m, "/?q"), "/"));
  CHECK(streq(route_of(m, "/api"), "/api/..."));
  CHECK(streq(route_of(m, "/api/"), "/api/..."));
  CHECK(streq(route_of(m, "/api/x/y"), "/api/..."));
  CHECK(route_of(m, "/apix") == NULL);
  CHECK(streq(route_of(m, "/api/v1"), "/api/v1/..."));
  CHECK(streq(route_of(m, "/api/v1/other"), "/api/v1/..."));
  CHECK(streq(route_of(m, "/api/v1/users"), "/api/v1/users")); /* exact beats wildcard */
  CHECK(streq(route_of(m, "/api/v1/users/7"), "/api/v1/..."));
  CHECK(streq(route_of(m, "/api/v10"), "/api/..."));
  CHECK(streq(route_of(m, "/static/"), "/static/"));
  CHECK(route_of(m, "/static") == NULL);
  CHECK(route_of(m, "/nothing") == NULL);
  CHECK(route_of(m, "") == NULL);
  CHECK(wisp_manifest_match_route(m, NULL) == NULL);
  /* SCRIPT_NAME / PATH_INFO split */
  const char *path = "/api/v1/users/7?x=1";
  const wisp_manifest_trigger_t *t = wisp_manifest_match_route(m, path);
  CHECK(t && wisp_manifest_script_name_length(t, path) == 7); /* "/api/v1" + "/users/7" */
  path = "/api/v1/users?x";
  t = wisp_manifest_match_route(m, path);
  CHECK(t && wisp_manifest_script_name_length(t, path) == 13); /* exact: all of "/api/v1/users" */
  path = "/api";
  t = wisp_manifest_match_route(m, path);
  CHECK(t && wisp_manifest_script_name_length(t, path) == 4); /* PATH_INFO empty */
  wisp_manifest_free(m);

  /* "/..." catches everything that nothing longer matches */
  text =
      "spin_manifest_version = 2\n[application]\nname = \"r\"\n"
      "[component.c]\nsource = \"c.wasm\"\n"
      "[[trigger.http]]\nroute = \"/...\"\ncomponent = \"c\"\n"
      "[[trigger.http]]\nroute = \"/x/...\"\ncomponent = \"c\"\n";
  CHECK(wisp_manifest_parse(text, strlen(text), "wisp.toml", &m, error, sizeof error) == 0);
  if (!m) return;
  CHECK(streq(route_of(m, "/"), "/..."));
  CHECK(streq(route_of(m, "/anything/at/all"), "/..."));
  CHECK(streq(route_of(m, "/x"), "/x/..."));
  CHECK(streq(route_of(m, "/x/1"), "/x/..."));
  CHECK(streq(route_of(m, "/xy"), "/..."));
  const wisp_manifest_trigger_t *all = wisp_manifest_match_route(m, "/xy/z");
  CHECK(all && wisp_manifest_script_name_length(all, "/xy/z") == 0); /* "" + "/xy/z" */
  wisp_manifest_free(m);
}

static void test_parse_host(void) {
  wisp_manifest_host_t h;
  char error[256];
  CHECK(wisp_manifest_parse_host("https://example.com", &h, error, sizeof error) == 0);
  CHECK(streq(h.scheme, "https") && streq(h.host, "example.com") && h.port == 0);
  wisp_manifest_host_clear(&h);
  CHECK(wisp_manifest_parse_host("*://*:*", &h, error, sizeof error) == 0);
  CHECK(streq(h.scheme, "*") && streq(h.host, "*") && h.port == WISP_MANIFEST_ANY_PORT);
  wisp_manifest_host_clear(&h);
  CHECK(wisp_manifest_parse_host("tcp://db.internal:5432", &h, error, sizeof error) == 0);
  CHECK(h.port == 5432);
  wisp_manifest_host_clear(&h);
  CHECK(wisp_manifest_parse_host("http://[fe80::1]", &h, error, sizeof error) == 0);
  CHECK(streq(h.host, "[fe80::1]") && h.port == 0);
  wisp_manifest_host_clear(&h);
  static const char *const bad[] = {
      "",
      "example.com",
      "://x.com",
      "ht tp://x.com",
      "1http://x",
      "https://",
      "https://:80",
      "https://x.com:",
      "https://x.com:abc",
      "https://x.com:65536",
      "https://x.com/a",
      "https://u@x.com",
      "https://-x.com",
      "https://x-.com",
      "https://x..com",
      "https://.x.com",
      "https://*x.com",
      "https://x.*",
      "https://[::1",
      "https://[::1]x",
      "https://[zz]",
      "tcp://x.com",
      "https://x.com:*:1",
      "https://10.0.0.0/8",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    error[0] = 0;
    int r = wisp_manifest_parse_host(bad[i], &h, error, sizeof error);
    if (r != -1 || error[0] == 0 || h.scheme != NULL) {
      failed++;
      fprintf(stderr, "parse_host accepted '%s'\n", bad[i]);
      wisp_manifest_host_clear(&h);
    } else {
      passed++;
    }
  }
  CHECK(wisp_manifest_default_port("https") == 443 && wisp_manifest_default_port("http") == 80 &&
        wisp_manifest_default_port("gopher") == 0);
}

static void test_host_allowed(void) {
  const char *text =
      "spin_manifest_version = 2\n[application]\nname = \"h\"\n"
      "[[trigger.http]]\nroute = \"/\"\ncomponent = \"c\"\n"
      "[component.c]\nsource = \"c.wasm\"\n"
      "allowed_outbound_hosts = [\"https://api.example.com\", "
      "\"http://127.0.0.1:8080\", \"https://*.example.org\", "
      "\"*://any-scheme.net\", \"http://anyport.io:*\", \"https://[::1]:8443\"]\n"
      "[component.none]\nsource = \"n.wasm\"\n"
      "[component.all]\nsource = \"a.wasm\"\nallowed_outbound_hosts = [\"*://*:*\"]\n";
  char error[512];
  wisp_manifest_t *m = NULL;
  CHECK(wisp_manifest_parse(text, strlen(text), "wisp.toml", &m, error, sizeof error) == 0);
  if (!m) {
    fprintf(stderr, "%s\n", error);
    return;
  }
  const wisp_manifest_component_t *c = wisp_manifest_find_component(m, "c");
  CHECK(wisp_manifest_host_allowed(c, "https://api.example.com"));
  CHECK(wisp_manifest_host_allowed(c, "https://api.example.com:443"));
  CHECK(wisp_manifest_host_allowed(c, "https://api.example.com/v1/items?x=1"));
  CHECK(wisp_manifest_host_allowed(c, "HTTPS://API.Example.com/"));
  CHECK(!wisp_manifest_host_allowed(c, "http://api.example.com"));       /* scheme */
  CHECK(!wisp_manifest_host_allowed(c, "https://api.example.com:8443")); /* port */
  CHECK(!wisp_manifest_host_allowed(c, "https://example.com"));
  CHECK(!wisp_manifest_host_allowed(c, "https://api.example.com.evil.net"));
  CHECK(wisp_manifest_host_allowed(c, "http://127.0.0.1:8080/x"));
  CHECK(!wisp_manifest_host_allowed(c, "http://127.0.0.1"));
  CHECK(!wisp_manifest_host_allowed(c, "http://127.0.0.1:8081"));
  CHECK(wisp_manifest_host_allowed(c, "https://a.example.org"));
  CHECK(wisp_manifest_host_allowed(c, "https://a.b.example.org:443"));
  CHECK(!wisp_manifest_host_allowed(c, "https://example.org"));
  CHECK(!wisp_manifest_host_allowed(c, "https://badexample.org"));
  CHECK(wisp_manifest_host_allowed(c, "http://any-scheme.net"));
  CHECK(wisp_manifest_host_allowed(c, "https://any-scheme.net"));
  CHECK(wisp_manifest_host_allowed(c, "wss://any-scheme.net:443"));
  CHECK(!wisp_manifest_host_allowed(c, "https://any-scheme.net:8443"));
  CHECK(wisp_manifest_host_allowed(c, "http://anyport.io:1"));
  CHECK(wisp_manifest_host_allowed(c, "http://anyport.io"));
  CHECK(wisp_manifest_host_allowed(c, "https://[::1]:8443/"));
  CHECK(!wisp_manifest_host_allowed(c, "https://[::1]"));
  /* malformed URLs never match */
  CHECK(!wisp_manifest_host_allowed(c, "api.example.com"));
  CHECK(!wisp_manifest_host_allowed(c, "https://"));
  CHECK(!wisp_manifest_host_allowed(c, "https://user@api.example.com"));
  CHECK(!wisp_manifest_host_allowed(c, "http://127.0.0.1:80800"));
  CHECK(!wisp_manifest_host_allowed(c, "http://127.0.0.1:x"));
  CHECK(!wisp_manifest_host_allowed(c, NULL));
  CHECK(!wisp_manifest_host_allowed(c, "*://api.example.com"));
  CHECK(!wisp_manifest_host_allowed(c, "https://*.example.org"));
  CHECK(!wisp_manifest_host_allowed(c, "https://./"));
  CHECK(wisp_manifest_host_allowed(c, "https://api.example.com./x")); /* a fully qualified name */
  /* deny by default */
  const wisp_manifest_component_t *none = wisp_manifest_find_component(m, "none");
  CHECK(!wisp_manifest_host_allowed(none, "https://api.example.com"));
  const wisp_manifest_component_t *all = wisp_manifest_find_component(m, "all");
  CHECK(wisp_manifest_host_allowed(all, "https://anything.at.all:1234/x"));
  CHECK(wisp_manifest_host_allowed(all, "gopher://old.net:70"));
  wisp_manifest_free(m);
}

/* Every allocation the manifest loader makes, made to fail in turn: each is
 * reported as -2 with no manifest and nothing leaked (the sanitizer build
 * checks leaks). */
static void test_out_of_memory(void) {
  char path[1200], error[512];
  data_path(path, sizeof path, "full.toml");
  wisp_manifest_t *m = NULL;
  alloc_budget = -1;
  alloc_calls = 0;
  CHECK(wisp_manifest_load(path, &m, error, sizeof error) == 0);
  wisp_manifest_free(m);
  long needed = alloc_calls;
  CHECK(needed > 50);
  int wrong = 0;
  for (long budget = 0; budget < needed; budget++) {
    alloc_budget = budget;
    m = (wisp_manifest_t *)1;
    int r = wisp_manifest_load(path, &m, error, sizeof error);
    if (r != -2 || m != NULL || !strstr(error, "out of memory")) {
      if (wrong++ < 3) fprintf(stderr, "allocation %ld failing: got %d '%s'\n", budget, r, error);
      if (r == 0) wisp_manifest_free(m);
    }
  }
  CHECK(wrong == 0);
  alloc_budget = needed;
  CHECK(wisp_manifest_load(path, &m, error, sizeof error) == 0);
  wisp_manifest_free(m);
  alloc_budget = -1;
}

int main(void) {
  /* this file is tests/unit/test_manifest.c; the data is tests/manifest/ */
  const char *file = __FILE__;
  const char *slash = strrchr(file, '/');
  size_t unit_dir = slash ? (size_t)(slash - file) : 0; /* ".../tests/unit" */
  const char *tests_end = NULL;
  for (const char *p = file; p < file + unit_dir; p++)
    if (*p == '/') tests_end = p;
  if (tests_end)
    snprintf(data_dir, sizeof data_dir, "%.*s/manifest", (int)(tests_end - file), file);
  else
    snprintf(data_dir, sizeof data_dir, "tests/manifest");

  test_full();
  test_defaults();
  test_spin_compat();
  test_invalid_files();
  test_errors_inline();
  test_init_key();
  test_routes();
  test_parse_host();
  test_host_allowed();
  test_out_of_memory();
  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
