/*
 * wisp_wasi.h: the WASI preview1 (`wasi_snapshot_preview1`) host for wisp.
 *
 * A wisp_wasi_t is the system-interface state of ONE guest instance: its
 * arguments, environment, descriptor table (stdio, preopened directories,
 * sockets handed in by the embedder, files the guest opens) and its exit
 * status. Make one per instance; it is used by one thread at a time, like
 * the store it is linked into.
 *
 * Capability sandbox: the guest sees only what the config grants. Nothing is
 * inherited from the host process implicitly: not the environment, not the
 * working directory, not stdio (unless the config names host descriptors).
 * Every path the guest passes is resolved beneath the directory descriptor it
 * is relative to, one component at a time with openat(2)-family calls and
 * O_NOFOLLOW; `..` cannot climb above the preopen, symbolic links are read
 * and resolved by the same walk (an absolute link target is an escape), so
 * a path can never reach outside its preopen, whatever races the host
 * filesystem sees. An escape attempt fails with WISP_WASI_ENOTCAPABLE (76).
 * Preopens are read-only unless granted read-write: a mutation beneath a
 * read-only preopen fails with WISP_WASI_EROFS (69).
 *
 * Ownership: wisp_wasi_new copies everything in the config (strings, arrays)
 * and opens the preopened directories itself; the caller may free the config
 * at once. Host descriptors given for stdio and sockets are BORROWED: the
 * guest closing them only drops its table entry, and wisp_wasi_delete does
 * not close them. Descriptors the guest opens (files, accepted sockets) are
 * owned by the wisp_wasi_t and closed by fd_close or wisp_wasi_delete.
 *
 * Lifetime: the wisp_wasi_t must outlive every store whose linker it was
 * defined into (the host functions keep a pointer to it), or at least every
 * call into an instance linked against it.
 *
 * Typical use (see src/cli/cmd_run.c):
 *     wisp_wasi_config_t cfg;
 *     wisp_wasi_config_init(&cfg);
 *     cfg.argv = argv; cfg.argc = argc;
 *     cfg.stdio[1] = (wisp_wasi_stream_t){.host_fd = 1};
 *     wisp_wasi_t *wasi;
 *     if (wisp_wasi_new(&cfg, &wasi, &err) < 0) ...;
 *     wisp_wasi_define(wasi, linker);
 *     wisp_linker_instantiate(...); call "_start" ...;
 *     a WISP_TRAP_EXIT trap carries the proc_exit code (wisp_trap_exit_code).
 *     wisp_wasi_delete(wasi);   (after the store)
 */
#ifndef WISP_WASI_H
#define WISP_WASI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wisp.h"

#ifdef __cplusplus
extern "C" {
#endif

/* WASI preview1 errno values used in this API (the full list is in the
 * preview1 witx; src/wasi uses all of them). */
#define WISP_WASI_ESUCCESS 0
#define WISP_WASI_EAGAIN 6
#define WISP_WASI_EBADF 8
#define WISP_WASI_EIO 29
#define WISP_WASI_EPIPE 64
#define WISP_WASI_EROFS 69
#define WISP_WASI_ENOTCAPABLE 76

/* One standard stream of the guest (fd 0, 1 or 2).
 *   host_fd >= 0        the guest reads/writes this host descriptor (borrowed).
 *                       A pipe whose reader left raises SIGPIPE in the
 *                       process, as any write(2) does: an embedder that
 *                       must survive it ignores SIGPIPE. (Sockets never do:
 *                       they are written with MSG_NOSIGNAL.)
 *   host_fd < 0, read/write callbacks set
 *                       calls go to the callbacks (in-memory pipes, e.g. WAGI).
 *                       read returns bytes read (0 at end of input) or a
 *                       negative WASI errno; write returns bytes accepted
 *                       (it may accept fewer than len) or a negative WASI
 *                       errno. A missing callback makes that direction EBADF.
 *   host_fd < 0, no callbacks
 *                       a null stream: reads see end of input, writes are
 *                       accepted and discarded. */
typedef struct wisp_wasi_stream {
  int host_fd;
  int64_t (*read)(void *ctx, uint8_t *buf, size_t len);
  int64_t (*write)(void *ctx, const uint8_t *buf, size_t len);
  void *ctx; /* borrowed; passed to the callbacks */
} wisp_wasi_stream_t;

/* A preopened directory: the host directory `host_path` appears to the guest
 * as `guest_path` (e.g. "/" or "."). */
typedef struct wisp_wasi_preopen {
  const char *host_path;
  const char *guest_path;
  bool read_only;
} wisp_wasi_preopen_t;

typedef struct wisp_wasi_config {
  const char *const *argv; /* argv[0] is the program name the guest sees */
  size_t argc;
  const char *const *env;  /* "KEY=VALUE" strings; only these are visible */
  size_t envc;
  const wisp_wasi_preopen_t *preopens; /* become fds 3, 4, ... in order */
  size_t npreopens;
  wisp_wasi_stream_t stdio[3];         /* fds 0, 1, 2 */
  const int *sockets; /* connected or listening host sockets (borrowed), */
  size_t nsockets;    /* numbered after the preopens */
  /* false (default): a call that must wait (poll_oneoff sleeping, a read on
   * an empty pipe) blocks the calling thread. true: it suspends the guest
   * instead (wisp_exec_* returns WISP_SUSPENDED); see wisp_wasi_resume. A
   * callback stream returning -WISP_WASI_EAGAIN also suspends then. */
  bool suspend;
} wisp_wasi_config_t;

/* Defaults: no args, no env, no preopens, no sockets, null stdio. */
void wisp_wasi_config_init(wisp_wasi_config_t *config);

typedef struct wisp_wasi wisp_wasi_t;

/* Copies `config` and opens the preopens. Returns 0 and *out, or a negative
 * wisp_err_t with *err (e.g. a preopen that cannot be opened: WISP_ERR_ARG,
 * message naming the path and the reason). */
int wisp_wasi_new(const wisp_wasi_config_t *config, WISP_OWN wisp_wasi_t **out,
                  wisp_error_t *err);
/* Closes every descriptor the wisp_wasi_t owns and frees it. NULL is a no-op. */
void wisp_wasi_delete(WISP_OWN wisp_wasi_t *wasi);

/* Defines every function of `wasi_snapshot_preview1` on `linker`, bound to
 * `wasi`. Returns 0 or a negative wisp_err_t. */
int wisp_wasi_define(wisp_wasi_t *wasi, wisp_linker_t *linker);

/* Bounds how long the guest may stay blocked inside a WASI call: poll_oneoff,
 * and reads, writes and accepts on pipes, terminals and sockets wait at most
 * until `monotonic_ns` (CLOCK_MONOTONIC nanoseconds); a call still blocked
 * then ends the guest with a WISP_TRAP_HOST trap "wasi: deadline exceeded
 * ...". Negative: no deadline (the default). Descriptors the guest set to
 * non-blocking are not waited on. Pair it with fuel slices to bound wall time. */
void wisp_wasi_set_deadline(wisp_wasi_t *wasi, int64_t monotonic_ns);

/* With config.suspend: true while a WASI call has suspended the guest, with
 * *wake_ns (may be NULL) the CLOCK_MONOTONIC time to retry it at (a sleep's
 * end, the next poll of a host descriptor, or the deadline), or -1 when the
 * retry should wait for the embedder's own callback stream to be ready. */
bool wisp_wasi_suspended(const wisp_wasi_t *wasi, int64_t *wake_ns);
/* While suspended on one host descriptor (a pipe or socket read, write or
 * accept, or a poll_oneoff on that one descriptor without clocks): that
 * descriptor, with the poll(2) events it waits for in *events (may be NULL),
 * so an event loop can watch it and resume when it is ready rather than at
 * the 10 ms retry time. Otherwise -1. */
int wisp_wasi_suspended_fd(const wisp_wasi_t *wasi, short *events);
/* Retries the suspended WASI call of `exec` (an exec of the store `wasi` is
 * linked into, suspended by that call). If it would still block, returns
 * WISP_SUSPENDED and the exec stays suspended (wisp_wasi_suspended gives the
 * new wake time); otherwise resumes the exec with the call's result and
 * returns what wisp_exec_resume returns. A deadline passed while suspended
 * aborts the exec (WISP_TRAPPED, a WISP_TRAP_ABORTED trap). Calling it
 * early is harmless. */
wisp_status_t wisp_wasi_resume(wisp_wasi_t *wasi, wisp_exec_t *exec);

/* Shared definitions, for servers that make an instance per request: defines
 * every function once (e.g. per thread, in a long-lived store) acting on the
 * wisp_wasi_t attached to the CALLING store. A request then needs only
 * wisp_wasi_new + wisp_wasi_attach on its own store, and no linker work
 * (see wisp_linker_resolve). A call from a store with nothing attached traps. */
int wisp_wasi_define_shared(wisp_linker_t *linker);
/* Attaches `wasi` to `store` (it uses the store's data slot,
 * wisp_store_set_data). `wasi` must outlive calls into the store. */
void wisp_wasi_attach(wisp_wasi_t *wasi, wisp_store_t *store);

/* The module name the functions are defined under. */
#define WISP_WASI_MODULE "wasi_snapshot_preview1"

/* True if `name` (len bytes, not NUL-terminated) is a preview1 function this
 * host implements: lets an embedder tell a WASI import from an unknown one. */
bool wisp_wasi_has_func(const char *name, size_t len);

#ifdef __cplusplus
}
#endif
#endif
