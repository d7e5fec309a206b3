/*
 * wasi2.h: a WASI 0.2 host for the wasi:cli/command world (internal API).
 *
 * It implements, as wisp__chost_func_t callbacks for src/component/cinst.h:
 * wasi:cli/environment, exit, stdin, stdout, stderr, terminal-*; wasi:io/error,
 * streams, poll; wasi:clocks/wall-clock and monotonic-clock; wasi:random/random,
 * insecure and insecure-seed; wasi:filesystem/preopens and types (descriptors
 * beneath the configured preopens, walked with the preview1 host's sandboxed
 * resolver, src/wasi/wasi_path.c). Any 0.2.x minor version of an interface
 * links (wisp_component_name_matches), after wisp__wasi2_check has compared
 * the shape of every imported item with WASI 0.2's (wasi2_types.c). Every
 * other function the component imports (wasi:sockets) is given a stub that
 * traps naming itself, so a command that links against more than it uses
 * still runs.
 *
 * Resource representations: streams, descriptors and directory-entry-streams
 * index one table in the host (+1; the first three are stdin, stdout, stderr);
 * pollables index another (+1); an io/error is the host errno. The host owns
 * everything it makes; wisp__wasi2_delete frees it, after the component
 * instance is gone.
 */
#ifndef WISP_WASI2_H
#define WISP_WASI2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../component/cinst.h"
#include "wisp_wasi.h"

typedef struct wisp__wasi2_stream_ops wisp__wasi2_stream_ops_t;

typedef struct wisp__wasi2_config {
  const char *const *argv; /* the guest's arguments (argv[0] included); borrowed */
  size_t argc;
  const char *const *env; /* "KEY=VALUE" strings; borrowed */
  size_t envc;
  int stdio[3];                        /* host fds for stdin, stdout, stderr */
  const wisp_wasi_preopen_t *preopens; /* --dir: each host directory is opened at
                                        * wisp__wasi2_new; borrowed */
  size_t npreopens;
  int64_t deadline_ns; /* CLOCK_MONOTONIC; blocking calls (poll, read) end
                            * with a trap there; -1: none */
  /* Embedder extension (wisp__wasi2_stream_new below): stdio slot i is a
   * stream backed by stdio_ops[i] (with stdio_ctx[i]) instead of stdio[i]
   * when stdio_ops[i] is set. */
  const wisp__wasi2_stream_ops_t *stdio_ops[3];
  void *stdio_ctx[3];
  /* Called when the guest blocks (blocking-read/write, pollable.block, poll)
   * on a stream or pollable backed by callbacks that is not ready, and when
   * set, for every wait in poll / pollable.block (timers too): the
   * embedder waits until something may have changed or `until_ns`
   * (CLOCK_MONOTONIC; INT64_MAX: no timer) passes, then returns 0 and the
   * host checks again; -1 ends the call with a trap ("the wait was
   * cancelled"). Without it blocking calls return WISP__CHOST_BLOCKED
   * (src/component/cinst.h: a resumable call is suspended, wisp__cinst_call
   * waits on the thread), with the stream's ctx as the wait token. */
  int (*wait)(void *env, int64_t until_ns);
  void *wait_env;
} wisp__wasi2_config_t;

typedef struct wisp__wasi2 wisp__wasi2_t;

/* 0 and *out, or a negative code (WISP_ERR_NOMEM; WISP_ERR_ARG when a
 * preopen cannot be opened: wisp__wasi2_error says why). On failure *out is
 * set too and must be deleted. The config's strings must outlive the host. */
int wisp__wasi2_new(const wisp__wasi2_config_t *cfg, wisp__wasi2_t **out);
const char *wisp__wasi2_error(const wisp__wasi2_t *w);
void wisp__wasi2_delete(wisp__wasi2_t *w);

/* The shape of each function and named type of the interfaces served, as
 * wisp_component_type_print writes it (wasi2_types.c). */
typedef struct wisp__wasi2_type {
  const char *iface; /* "wasi:io/streams", no version */
  const char *name;  /* "[method]output-stream.write", "stream-error" */
  const char *text;  /* "func(self: borrow<output-stream>, ...) -> ...", "variant { ... }", "resource" */
} wisp__wasi2_type_t;
extern const wisp__wasi2_type_t wisp__wasi2_types[];
extern const size_t wisp__wasi2_ntypes;

/* Host functions for every function `c` imports: the implemented ones, and a
 * stub that traps naming "interface#name" for each other. *funcs (count
 * entries) belongs to the host and lives until wisp__wasi2_delete; call once. */
int wisp__wasi2_host_funcs(wisp__wasi2_t *w, const wisp_component_t *c, const wisp__chost_func_t **funcs,
                           size_t *count);

/* The same functions as a table shared by every instance of `c` (build it
 * once per component): what needs the wasi2 host has env
 * WISP__CHOST_ENV_SLOT(slot), so the instance's own wisp__wasi2_t is bound to
 * that slot when it is made (wisp__cinst_new_prepared, cinst.h). The table is
 * read-only once built (threads may share it). */
typedef struct wisp__wasi2_table wisp__wasi2_table_t;
int wisp__wasi2_table_new(const wisp_component_t *c, uint32_t slot, wisp__wasi2_table_t **out);
void wisp__wasi2_table_funcs(const wisp__wasi2_table_t *t, const wisp__chost_func_t **funcs, size_t *count);
void wisp__wasi2_table_delete(wisp__wasi2_table_t *t);
/* Before that: every function and named type `c` imports from a served 0.2.x
 * interface must have the shape of its row in wisp__wasi2_types. 0, or
 * WISP_ERR_LINK with the first mismatch in wisp__wasi2_error. */
int wisp__wasi2_check(wisp__wasi2_t *w, const wisp_component_t *c);

/* The status the guest asked for with wasi:cli/exit (exit: 0 for ok, 1 for err;
 * exit-with-code: its code), or -1 when it has not exited. An exit ends the
 * guest's call with a trap whose message is "exit". */
int wisp__wasi2_exit_status(const wisp__wasi2_t *w);

/* ---- streams and pollables backed by the embedder's callbacks ----
 *
 * An embedder (the wasi:http host, src/wasihttp) makes wasi:io streams whose
 * bytes come from or go to its own buffers: the guest uses them through the
 * ordinary wasi:io/streams functions, polls them with wasi:io/poll, and
 * blocking calls wait through cfg.wait. Callbacks run on the guest's thread,
 * inside a host call. */
#define WISP__WASI2_CLOSED (-1000000) /* the stream has ended / is closed */
struct wisp__wasi2_stream_ops {
  /* Input: copies up to len (> 0) bytes into buf: the count, 0 when nothing
   * is there yet, WISP__WASI2_CLOSED at the end, or -errno. */
  int64_t (*read)(void *ctx, uint8_t *buf, size_t len);
  /* Output: how many bytes may be written now (0: wait), CLOSED or -errno. */
  int64_t (*check_write)(void *ctx);
  /* Output: takes len bytes (len <= the last check_write): 0, CLOSED or
   * -errno. */
  int64_t (*write)(void *ctx, const uint8_t *buf, size_t len);
  /* True when a read or write would not wait (data, space, end or error). */
  bool (*ready)(void *ctx);
  /* The guest dropped the stream (not called for stdio slots); may be NULL. */
  void (*drop)(void *ctx);
};

/* A new input (output false) or output stream backed by ops/ctx (borrowed;
 * ops must outlive the stream): its representation, or 0 out of memory. */
uint32_t wisp__wasi2_stream_new(wisp__wasi2_t *w, bool output, const wisp__wasi2_stream_ops_t *ops, void *ctx);
/* A new pollable, ready when ready(ctx) says so: its representation, or 0. */
uint32_t wisp__wasi2_pollable_new(wisp__wasi2_t *w, bool (*ready)(void *ctx), void *ctx);
/* Every pollable made with ctx (by either function above) becomes ready for
 * good and forgets ctx: call before ctx goes away. */
void wisp__wasi2_pollables_detach(wisp__wasi2_t *w, void *ctx);
/* Runs the wait hook as a blocking call does (for the embedder's own blocking
 * calls): 0, or -1 after writing the trap to cx. */
int wisp__wasi2_wait(wisp__wasi2_t *w, wisp__cabi_t *cx, int64_t until_ns);

#endif
