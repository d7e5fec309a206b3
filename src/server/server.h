/*
 * server.h: `wisp up`, the HTTP function server, as the CLI sees it.
 *
 * wisp_server_run loads the manifest, builds components whose module is
 * missing (or all with `build`), decodes and validates every module once, listens, and serves until SIGTERM or SIGINT, after
 * which it stops accepting, lets in-flight requests finish and returns.
 */
#ifndef WISP_SERVER_H
#define WISP_SERVER_H

#include <stdbool.h>
#include <stdint.h>

typedef enum wisp_server_log_format {
  WISP_LOG_COMMON, /* NCSA common log format plus wisp's fields */
  WISP_LOG_JSON,   /* one JSON object per line */
  WISP_LOG_NONE,   /* no access log */
} wisp_server_log_format_t;

typedef struct wisp_server_options {
  const char *manifest_path; /* a wisp.toml (or spin.toml) */
  const char *listen;        /* "HOST:PORT" for the application */
  const char *admin_listen;  /* "HOST:PORT" for /metrics, or NULL for none */
  const char *tls_cert;      /* PEM certificate chain; TLS when set */
  const char *tls_key;       /* PEM private key */
  int processes;             /* worker processes; 0: one per online CPU */
  int threads;               /* event loop threads per process; 0: one */
  wisp_server_log_format_t log_format;
  bool build;       /* run every component's build commands first */
  bool no_snapshot; /* instantiate through a linker per request (for comparison) */
} wisp_server_options_t;

/* Runs the server. Returns 0 after a clean shutdown, 1 when the manifest,
 * a module or a listener could not be set up (a message went to stderr). */
int wisp_server_run(const wisp_server_options_t *options);

#endif
