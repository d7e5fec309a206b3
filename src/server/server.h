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
#include <stddef.h>
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
  /* Where each component's snapshot is kept across restarts (see
   * wisp_server_snapshot_path). NULL: wisp_server_default_snapshot_dir;
   * "": none (every start initialises again). `wisp serve` passes a
   * directory under its data dir. Created when missing. */
  const char *snapshot_dir;
  /* `wisp serve`: applications come from the store in data_dir (manifest_path
   * is NULL) and are deployed through the admin API on admin_listen. */
  const char *data_dir;
  uint64_t max_upload_bytes; /* largest bundle the admin API accepts */
  /* Pooled memory slots for instances made from snapshots, per process
   * (wisp_pool_new_sized; see docs/server.md "Memory slots"):
   * pool_slots: number of slots, 0 = 128 (or what pool_memory_bytes and
   * pool_slot_bytes give); pool_slot_bytes: the largest memory a slot holds,
   * 0 = 8 GiB (full reservation, no bounds checks); pool_memory_bytes: the
   * address space all slots of a process may reserve, 0 = no budget. Given a
   * budget, the slot size (or, with a slot size and no slot count, the slot
   * count) is derived from it. A component whose memory may outgrow a slot
   * runs with normal reservations (logged once). */
  uint32_t pool_slots;
  uint64_t pool_slot_bytes;
  uint64_t pool_memory_bytes;
} wisp_server_options_t;

/* `wisp serve` defaults. */
#define WISP_SERVE_MAX_UPLOAD_BYTES (64u * 1024 * 1024)

/* The pool configuration `options` asks for: *slots and *slot_bytes (as
 * wisp_pool_new_sized takes them, rounded). -1 with a message in err when
 * the values make no sense (too small a budget, all three given, more
 * address space than a process has). */
int wisp_server_pool_config(const wisp_server_options_t *options, uint32_t *slots /* OUT */,
                            uint64_t *slot_bytes /* OUT */, char *err, size_t err_size);

/* The default snapshot directory: $XDG_CACHE_HOME/wisp/snapshots, else
 * $HOME/.cache/wisp/snapshots, written into out (NUL-terminated). -1 when
 * neither variable is set or out is too small. */
int wisp_server_default_snapshot_dir(char *out, size_t size);

/* The snapshot file of a module in `dir`:
 * DIR/<SHA-256 of the module bytes>.<init>.v<format version>.wsnap, where
 * <init> is 16 hex digits of a hash of the pre-initialisation export's name
 * ("none" without one). Content-keyed: directories may be shared between
 * applications, and any file may be deleted at any time. Returns the length
 * written (or that would have been), as snprintf does; -1 on a hash failure. */
int wisp_server_snapshot_path(char *out, size_t size, const char *dir, const uint8_t *module_bytes,
                              size_t module_len, const char *init);

/* Runs the server. Returns 0 after a clean shutdown, 1 when the manifest,
 * a module or a listener could not be set up (a message went to stderr). */
int wisp_server_run(const wisp_server_options_t *options);

#endif
