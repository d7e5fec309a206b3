/*
 * manifest.h: the wisp.toml application manifest.
 *
 * wisp.toml follows spin.toml manifest version 2 (see docs/manifest.md):
 *
 *   spin_manifest_version = 2          # or wisp_manifest_version = 2
 *   [application]
 *   name = "hello"
 *   [[trigger.http]]
 *   route = "/hello"                   # or "/api/..." for a prefix
 *   component = "hello"
 *   [component.hello]
 *   source = "hello.wasm"
 *   allowed_outbound_hosts = ["https://api.example.com"]
 *   [component.hello.limits]           # wisp's own section
 *   memory_mib = 64
 *
 * Loading checks everything it can without touching the file system beyond
 * reading the manifest itself: types, unknown keys, routes, host patterns,
 * limit bounds, references between triggers and components. The first
 * problem found is reported as "FILE:LINE: KEY.PATH: what is wrong".
 *
 * Ownership: wisp_manifest_load / wisp_manifest_parse give the caller a
 * manifest that owns every string and array in it; wisp_manifest_free
 * releases it all. Pointers into a manifest are borrowed.
 */
#ifndef WISP_MANIFEST_H
#define WISP_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Defaults for [component.NAME.limits] and the accepted ranges. */
#define WISP_MANIFEST_DEFAULT_MEMORY_MIB         128
#define WISP_MANIFEST_DEFAULT_CPU_MS             1000
#define WISP_MANIFEST_DEFAULT_WALL_MS            30000
#define WISP_MANIFEST_DEFAULT_MAX_REQUEST_BYTES  (10u * 1024 * 1024)
#define WISP_MANIFEST_DEFAULT_MAX_RESPONSE_BYTES (32u * 1024 * 1024)
#define WISP_MANIFEST_DEFAULT_MAX_CONCURRENCY    64

#define WISP_MANIFEST_MAX_MEMORY_MIB  4096                  /* all of wasm32 */
#define WISP_MANIFEST_MAX_CPU_MS      3600000               /* one hour */
#define WISP_MANIFEST_MAX_WALL_MS     3600000               /* one hour */
#define WISP_MANIFEST_MAX_BODY_BYTES  (1024u * 1024 * 1024) /* 1 GiB */
#define WISP_MANIFEST_MAX_CONCURRENCY 65536

/* Port value meaning "any port" (written "*"). */
#define WISP_MANIFEST_ANY_PORT (-1)

/* One entry of allowed_outbound_hosts, e.g. "https://api.example.com:8443". */
typedef struct wisp_manifest_host {
  char *scheme; /* lower case, e.g. "https", or "*" for any scheme */
  char *host;   /* lower case; "*" any host, "*.example.com" any subdomain,
                   "[::1]" an IPv6 literal with its brackets */
  int port;     /* 1..65535, WISP_MANIFEST_ANY_PORT, or 0 when not written
                   (then the scheme's default: http 80, https 443, ...) */
} wisp_manifest_host_t;

/* One entry of files: a host directory made visible to the guest. */
typedef struct wisp_manifest_file {
  char *source;      /* host path, resolved against the manifest's directory */
  char *destination; /* absolute guest path, e.g. "/static" */
  bool read_write;   /* wisp extension; false (read-only) unless written */
} wisp_manifest_file_t;

typedef struct wisp_manifest_env {
  char *name;
  char *value;
} wisp_manifest_env_t;

typedef struct wisp_manifest_limits {
  uint32_t memory_mib;         /* linear memory of all of the guest's memories */
  uint32_t cpu_ms;             /* CPU time per request */
  uint32_t wall_ms;            /* wall-clock time per request */
  uint64_t max_request_bytes;  /* request body */
  uint64_t max_response_bytes; /* response body */
  uint32_t max_concurrency;    /* requests running at once */
} wisp_manifest_limits_t;

typedef struct wisp_manifest_build {
  char **commands; /* "command" as one string or an array of strings */
  size_t command_count;
  char *workdir; /* NULL when absent; relative to the manifest's directory */
  char **watch;  /* glob patterns, kept as written */
  size_t watch_count;
} wisp_manifest_build_t;

typedef struct wisp_manifest_component {
  char *id;          /* the NAME of [component.NAME] */
  char *source;      /* the .wasm path resolved against the manifest's dir */
  char *description; /* NULL when absent */
  wisp_manifest_host_t *hosts;
  size_t host_count;
  wisp_manifest_file_t *files;
  size_t file_count;
  wisp_manifest_env_t *env;
  size_t env_count;
  char **key_value_stores;
  size_t key_value_store_count;
  bool has_build;
  wisp_manifest_build_t build;
  wisp_manifest_limits_t limits;
  /* Pre-initialisation export run once before the snapshot is taken:
   * `init = "NAME"` sets init; `init = false` sets no_init (not even a
   * `wizer.initialize` export runs); absent: both unset (the server runs
   * `wizer.initialize` when the module exports it). */
  char *init;
  bool no_init;
  unsigned init_line; /* where `init` is written, 0 when absent */
  unsigned line; /* where the component is defined */
} wisp_manifest_component_t;

typedef enum wisp_manifest_executor {
  WISP_EXECUTOR_HTTP, /* wasi:http/incoming-handler (executor absent or "http") */
  WISP_EXECUTOR_WAGI, /* CGI-style preview1 command */
} wisp_manifest_executor_t;

typedef struct wisp_manifest_trigger {
  char *route;      /* as written: "/hello" or "/api/..." */
  char *prefix;     /* compared with the path: "/hello"; "/api" for "/api/..."; "" for "/..." */
  bool wildcard;    /* the route ends in "/..." */
  char *id;         /* optional trigger id, NULL when absent */
  size_t component; /* index into wisp_manifest_t.components */
  wisp_manifest_executor_t executor;
  char *wagi_argv;       /* WAGI only: default "${SCRIPT_NAME} ${ARGS}" */
  char *wagi_entrypoint; /* WAGI only: default "_start" */
  unsigned line;
} wisp_manifest_trigger_t;

typedef struct wisp_manifest {
  char *path;  /* the manifest file, as given */
  char *dir;   /* its directory: relative paths are resolved against it */
  int version; /* 2 */
  char *name;
  char *version_string; /* [application] version, NULL when absent */
  char *description;    /* NULL when absent */
  char **authors;
  size_t author_count;
  wisp_manifest_component_t *components;
  size_t component_count;
  wisp_manifest_trigger_t *triggers;
  size_t trigger_count;
} wisp_manifest_t;

/*
 * Reads and checks the manifest at path. On success returns 0 and stores a
 * new manifest in *out (OUT). On failure returns -1 (invalid manifest or
 * unreadable file) or -2 (out of memory), stores NULL in *out and writes a
 * message such as "wisp.toml:12: component.hello.limits.memory_mib: expected
 * an integer, found string" into error (error_size bytes, may be 0).
 */
int wisp_manifest_load(const char *path, wisp_manifest_t **out /* OUT */, char *error /* OUT */,
                       size_t error_size);

/* The same, from text already in memory; path names the file in messages
 * and its directory is used to resolve relative paths. */
int wisp_manifest_parse(const char *text, size_t length, const char *path, wisp_manifest_t **out /* OUT */,
                        char *error /* OUT */, size_t error_size);

/* Frees a manifest and everything in it. NULL is allowed. */
void wisp_manifest_free(wisp_manifest_t *manifest);

/* The component named id, or NULL. */
const wisp_manifest_component_t *wisp_manifest_find_component(const wisp_manifest_t *manifest,
                                                              const char *id);

/*
 * The trigger that serves a request path (a query string, if present, is
 * ignored), or NULL. An exact route wins; otherwise the wildcard route with
 * the longest prefix that matches whole path segments ("/api/..." matches
 * "/api" and "/api/x", not "/apix"); "/..." matches every path.
 */
const wisp_manifest_trigger_t *wisp_manifest_match_route(const wisp_manifest_t *manifest, const char *path);

/*
 * How a path that trigger matched splits into the part the route names and
 * the rest, as CGI's SCRIPT_NAME and PATH_INFO (and Spin's spin-path-info)
 * want it: returns the length of the SCRIPT_NAME part; PATH_INFO is the
 * text from there up to any '?'. For "/api/..." and "/api/users/7" that is 4
 * ("/api", then "/users/7"); for an exact route, the whole path (no '?').
 */
size_t wisp_manifest_script_name_length(const wisp_manifest_trigger_t *trigger, const char *path);

/*
 * Parses one allowed_outbound_hosts entry into *out (OUT; free its strings
 * with wisp_manifest_host_clear). Returns 0, or -1 with a reason in error.
 */
int wisp_manifest_parse_host(const char *text, wisp_manifest_host_t *out /* OUT */, char *error /* OUT */,
                             size_t error_size);
void wisp_manifest_host_clear(wisp_manifest_host_t *host);

/*
 * Whether a component may connect to url ("https://api.example.com",
 * "http://127.0.0.1:8080/path"): true when any allowed_outbound_hosts entry
 * matches its scheme, host and port (the scheme's default port when none is
 * written). A malformed url never matches.
 */
bool wisp_manifest_host_allowed(const wisp_manifest_component_t *component, const char *url);

/*
 * Whether one allowed_outbound_hosts entry admits scheme://host:port: scheme
 * and host lower case, the host without a trailing dot (an IPv6 literal in
 * brackets), port the explicit one or the scheme's default.
 */
bool wisp_manifest_host_matches(const wisp_manifest_host_t *allowed, const char *scheme, const char *host,
                                int port);

/* The default port of a scheme (http 80, https 443, ws 80, wss 443, ...), or
 * 0 when wisp knows none. */
int wisp_manifest_default_port(const char *scheme);

#ifdef __cplusplus
}
#endif

#endif
