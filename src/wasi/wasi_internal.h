/*
 * wasi_internal.h: shared state of the WASI preview1 host (src/wasi/).
 *
 * Invariants:
 * - fds[i].kind == WASI_FD_FREE marks a free slot; every other slot is a live
 *   guest descriptor. `host` is the host descriptor (or -1 for callback/null
 *   streams); it is closed on fd_close only when `owned`.
 * - A directory entry's host descriptor was obtained by the sandboxed walk in
 *   wasi_path.c (or opened for a preopen): every path operation resolves
 *   beneath it, never by string concatenation.
 * - `read_only` is inherited by everything opened beneath a read-only preopen.
 * - Guest memory is touched only through wasi_mem_* which bounds-check every
 *   range against the memory's current size.
 */
#ifndef WISP_WASI_INTERNAL_H
#define WISP_WASI_INTERNAL_H

#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>

#include "wisp.h"
#include "wisp_wasi.h"

/* preview1 errno (witx `errno`), all of them. */
enum {
  E_SUCCESS = 0, E_2BIG = 1, E_ACCES = 2, E_ADDRINUSE = 3, E_ADDRNOTAVAIL = 4,
  E_AFNOSUPPORT = 5, E_AGAIN = 6, E_ALREADY = 7, E_BADF = 8, E_BADMSG = 9, E_BUSY = 10,
  E_CANCELED = 11, E_CHILD = 12, E_CONNABORTED = 13, E_CONNREFUSED = 14, E_CONNRESET = 15,
  E_DEADLK = 16, E_DESTADDRREQ = 17, E_DOM = 18, E_DQUOT = 19, E_EXIST = 20, E_FAULT = 21,
  E_FBIG = 22, E_HOSTUNREACH = 23, E_IDRM = 24, E_ILSEQ = 25, E_INPROGRESS = 26, E_INTR = 27,
  E_INVAL = 28, E_IO = 29, E_ISCONN = 30, E_ISDIR = 31, E_LOOP = 32, E_MFILE = 33,
  E_MLINK = 34, E_MSGSIZE = 35, E_MULTIHOP = 36, E_NAMETOOLONG = 37, E_NETDOWN = 38,
  E_NETRESET = 39, E_NETUNREACH = 40, E_NFILE = 41, E_NOBUFS = 42, E_NODEV = 43,
  E_NOENT = 44, E_NOEXEC = 45, E_NOLCK = 46, E_NOLINK = 47, E_NOMEM = 48, E_NOMSG = 49,
  E_NOPROTOOPT = 50, E_NOSPC = 51, E_NOSYS = 52, E_NOTCONN = 53, E_NOTDIR = 54,
  E_NOTEMPTY = 55, E_NOTRECOVERABLE = 56, E_NOTSOCK = 57, E_NOTSUP = 58, E_NOTTY = 59,
  E_NXIO = 60, E_OVERFLOW = 61, E_OWNERDEAD = 62, E_PERM = 63, E_PIPE = 64, E_PROTO = 65,
  E_PROTONOSUPPORT = 66, E_PROTOTYPE = 67, E_RANGE = 68, E_ROFS = 69, E_SPIPE = 70,
  E_SRCH = 71, E_STALE = 72, E_TIMEDOUT = 73, E_TXTBSY = 74, E_XDEV = 75, E_NOTCAPABLE = 76,
};

/* preview1 filetype */
enum {
  FT_UNKNOWN = 0, FT_BLOCK_DEVICE = 1, FT_CHARACTER_DEVICE = 2, FT_DIRECTORY = 3,
  FT_REGULAR_FILE = 4, FT_SOCKET_DGRAM = 5, FT_SOCKET_STREAM = 6, FT_SYMBOLIC_LINK = 7,
};

/* preview1 rights bits */
#define R_FD_DATASYNC (1ull << 0)
#define R_FD_READ (1ull << 1)
#define R_FD_SEEK (1ull << 2)
#define R_FD_FDSTAT_SET_FLAGS (1ull << 3)
#define R_FD_SYNC (1ull << 4)
#define R_FD_TELL (1ull << 5)
#define R_FD_WRITE (1ull << 6)
#define R_FD_ADVISE (1ull << 7)
#define R_FD_ALLOCATE (1ull << 8)
#define R_PATH_CREATE_DIRECTORY (1ull << 9)
#define R_PATH_CREATE_FILE (1ull << 10)
#define R_PATH_LINK_SOURCE (1ull << 11)
#define R_PATH_LINK_TARGET (1ull << 12)
#define R_PATH_OPEN (1ull << 13)
#define R_FD_READDIR (1ull << 14)
#define R_PATH_READLINK (1ull << 15)
#define R_PATH_RENAME_SOURCE (1ull << 16)
#define R_PATH_RENAME_TARGET (1ull << 17)
#define R_PATH_FILESTAT_GET (1ull << 18)
#define R_PATH_FILESTAT_SET_SIZE (1ull << 19)
#define R_PATH_FILESTAT_SET_TIMES (1ull << 20)
#define R_FD_FILESTAT_GET (1ull << 21)
#define R_FD_FILESTAT_SET_SIZE (1ull << 22)
#define R_FD_FILESTAT_SET_TIMES (1ull << 23)
#define R_PATH_SYMLINK (1ull << 24)
#define R_PATH_REMOVE_DIRECTORY (1ull << 25)
#define R_PATH_UNLINK_FILE (1ull << 26)
#define R_POLL_FD_READWRITE (1ull << 27)
#define R_SOCK_SHUTDOWN (1ull << 28)
#define R_SOCK_ACCEPT (1ull << 29)
#define R_ALL ((1ull << 30) - 1)

/* Rights that make sense per kind of descriptor. */
#define R_DIR_BASE                                                                          \
  (R_FD_FDSTAT_SET_FLAGS | R_FD_SYNC | R_FD_ADVISE | R_PATH_CREATE_DIRECTORY |              \
   R_PATH_CREATE_FILE | R_PATH_LINK_SOURCE | R_PATH_LINK_TARGET | R_PATH_OPEN |            \
   R_FD_READDIR | R_PATH_READLINK | R_PATH_RENAME_SOURCE | R_PATH_RENAME_TARGET |          \
   R_PATH_FILESTAT_GET | R_PATH_FILESTAT_SET_SIZE | R_PATH_FILESTAT_SET_TIMES |            \
   R_FD_FILESTAT_GET | R_FD_FILESTAT_SET_TIMES | R_PATH_SYMLINK | R_PATH_REMOVE_DIRECTORY | \
   R_PATH_UNLINK_FILE | R_POLL_FD_READWRITE)
#define R_FILE_BASE                                                                      \
  (R_FD_DATASYNC | R_FD_READ | R_FD_SEEK | R_FD_FDSTAT_SET_FLAGS | R_FD_SYNC | R_FD_TELL | \
   R_FD_WRITE | R_FD_ADVISE | R_FD_ALLOCATE | R_FD_FILESTAT_GET | R_FD_FILESTAT_SET_SIZE | \
   R_FD_FILESTAT_SET_TIMES | R_POLL_FD_READWRITE)
#define R_STREAM_BASE \
  (R_FD_READ | R_FD_WRITE | R_FD_FDSTAT_SET_FLAGS | R_FD_FILESTAT_GET | R_POLL_FD_READWRITE)
#define R_SOCK_BASE (R_STREAM_BASE | R_SOCK_SHUTDOWN | R_SOCK_ACCEPT)

/* fdflags */
#define FDFLAG_APPEND 0x1
#define FDFLAG_DSYNC 0x2
#define FDFLAG_NONBLOCK 0x4
#define FDFLAG_RSYNC 0x8
#define FDFLAG_SYNC 0x10

typedef enum wasi_fd_kind {
  WASI_FD_FREE = 0,
  WASI_FD_STREAM, /* stdio: host fd or callbacks */
  WASI_FD_FILE,   /* regular file or device opened by the guest */
  WASI_FD_DIR,    /* directory (preopen or opened by the guest) */
  WASI_FD_SOCKET, /* socket handed in or accepted */
} wasi_fd_kind_t;

typedef struct wasi_fd {
  uint8_t kind;        /* wasi_fd_kind_t */
  uint8_t filetype;    /* FT_* reported to the guest */
  bool owned;          /* close `host` when the entry goes */
  bool read_only;      /* beneath a read-only preopen */
  int host;            /* host descriptor, or -1 */
  uint16_t fdflags;    /* as last set (APPEND is also on the host fd) */
  uint64_t rights_base, rights_inheriting;
  char *preopen_name;  /* guest name of a preopen, else NULL (owned) */
  wisp_wasi_stream_t stream; /* WASI_FD_STREAM with host < 0 */
  DIR *dir;                  /* WASI_FD_DIR: fd_readdir's open stream, or NULL */
  uint64_t dir_next;         /* the cookie that continues `dir` where it stands */
} wasi_fd_t;

/* A WASI call that suspended the guest (config.suspend), retried by
 * wisp_wasi_resume with the same arguments. */
typedef struct wasi_pending {
  bool active;
  const struct wasi_func_def *def;
  wisp_val_t args[10];
  uint8_t *mem;
  uint64_t mem_size;
  int64_t start_ns; /* monotonic time of the first attempt (poll_oneoff's relative clocks) */
  int64_t wake_ns;  /* when to retry; -1: when the embedder's stream is ready */
  int wait_fd;      /* the one host descriptor it waits on, or -1 */
  short wait_events;
} wasi_pending_t;

struct wisp_wasi {
  char **argv; size_t argc; size_t argv_bytes;
  char **env; size_t envc; size_t env_bytes;
  wasi_fd_t *fds;
  uint32_t nfds; /* slots in use or free below this */
  uint32_t cap;
  struct wasi_binding *bindings; /* one per function, env of its host function */
  int64_t deadline_ns; /* CLOCK_MONOTONIC; blocking waits end here; < 0: none */
  bool suspend;         /* blocking calls suspend the guest instead of the thread */
  wasi_pending_t pending;
};

/* The per-call view a WASI function works with. */
typedef struct wasi_ctx {
  wisp_wasi_t *wasi;
  wisp_call_t *call;
  uint8_t *mem;
  uint64_t mem_size;
  int exit_code; /* set by proc_exit */
  bool resumed;  /* a retry by wisp_wasi_resume: c->wasi->pending holds the first attempt */
} wasi_ctx_t;

/* Each WASI function: returns a preview1 errno, or WASI_EXIT for proc_exit. */
#define WASI_EXIT (-1)
#define WASI_DEADLINE (-2) /* a blocking wait reached wisp_wasi_set_deadline's time: trap */
#define WASI_SUSPEND (-3)  /* would block: suspend the guest, retry at pending.wake_ns */
typedef int (*wasi_impl_t)(wasi_ctx_t *ctx, const wisp_val_t *args, wisp_val_t *results);

/* ---- memory access (wasi.c) ---- */
static inline bool wasi_mem_ok(const wasi_ctx_t *c, uint64_t ptr, uint64_t len) {
  return ptr <= c->mem_size && len <= c->mem_size - ptr;
}
static inline void wasi_put_u8(wasi_ctx_t *c, uint32_t p, uint8_t v) { c->mem[p] = v; }
static inline void wasi_put_u16(wasi_ctx_t *c, uint32_t p, uint16_t v) { memcpy(c->mem + p, &v, 2); }
static inline void wasi_put_u32(wasi_ctx_t *c, uint32_t p, uint32_t v) { memcpy(c->mem + p, &v, 4); }
static inline void wasi_put_u64(wasi_ctx_t *c, uint32_t p, uint64_t v) { memcpy(c->mem + p, &v, 8); }
static inline uint16_t wasi_get_u16(const wasi_ctx_t *c, uint32_t p) { uint16_t v; memcpy(&v, c->mem + p, 2); return v; }
static inline uint32_t wasi_get_u32(const wasi_ctx_t *c, uint32_t p) { uint32_t v; memcpy(&v, c->mem + p, 4); return v; }
static inline uint64_t wasi_get_u64(const wasi_ctx_t *c, uint32_t p) { uint64_t v; memcpy(&v, c->mem + p, 8); return v; }

#define ARG_U32(i) ((uint32_t)args[i].of.i32)
#define ARG_U64(i) ((uint64_t)args[i].of.i64)

/* ---- descriptor table (wasi.c) ---- */
int wasi__errno(int host_errno); /* host errno -> preview1 errno */
/* Looks up a live fd having all of `rights`: E_BADF / E_NOTCAPABLE otherwise. */
int wasi__fd_get(wisp_wasi_t *w, uint32_t fd, uint64_t rights, wasi_fd_t **out);
/* Adds an entry (copied) at the lowest free number; E_NFILE/E_NOMEM on failure. */
int wasi__fd_add(wisp_wasi_t *w, const wasi_fd_t *entry, uint32_t *out_fd);
void wasi__fd_release(wasi_fd_t *entry); /* closes if owned, frees names, marks free */
uint8_t wasi__filetype_of_mode(unsigned mode);
/* Before a call that may block on host descriptor `host` (a pipe, tty or
 * socket): with a deadline set, waits for `events` (POLLIN/POLLOUT) until it.
 * Returns 0 (go ahead), WASI_DEADLINE, or a preview1 errno. */
int wasi__wait_ready(wisp_wasi_t *w, const wasi_fd_t *e, short events);
/* In suspend mode: the time a blocked call should be retried at, given its
 * own wish (`want_ns`, -1: the embedder knows), capped by the deadline. */
int64_t wasi__wake_time(const wisp_wasi_t *w, int64_t want_ns);
int64_t wasi__mono_ns(void);
/* Guest iovec array -> host iovecs (at most 1024; a short transfer is allowed). */
int wasi__iovecs(wasi_ctx_t *c, uint32_t iovs, uint32_t n, struct iovec *out, int *count);

/* ---- sandboxed path resolution (wasi_path.c) ---- */

/* The result of resolving a guest path: `dirfd` is an owned host descriptor
 * of the directory that contains the final component `name` (NUL-terminated,
 * never empty, never containing '/'; "." when the path names the start
 * directory itself). `trailing_slash` says the guest path ended in '/'. */
typedef struct wasi_resolved {
  int dirfd;
  char name[256];
  bool trailing_slash;
} wasi_resolved_t;

/* Resolves `path` (len bytes of guest memory, not NUL-terminated) beneath
 * host directory `base`. Intermediate symlinks are followed within the
 * sandbox; the final component is followed too when `follow_final`. Returns 0
 * or a preview1 errno (E_NOTCAPABLE for an escape, E_LOOP after 40 links). */
int wasi__resolve(int base, const char *path, uint32_t len, bool follow_final,
                  wasi_resolved_t *out);
void wasi__resolved_close(wasi_resolved_t *r);

/* ---- function groups ---- */
typedef struct wasi_func_def {
  const char *name;
  const char *params;  /* 'i' i32, 'I' i64 */
  const char *results;
  wasi_impl_t impl;
} wasi_func_def_t;

/* wasi_fs.c: fd_* and path_* */
extern const wasi_func_def_t wasi__fs_funcs[];
extern const size_t wasi__fs_nfuncs;

#endif
