/*
 * wasi.c: the WASI preview1 host object, its descriptor table, the
 * trampoline that binds every preview1 function to a wisp host function, and
 * the functions that are not about files: args, environ, clocks, random,
 * proc_exit/proc_raise, sched_yield, poll_oneoff and sock_*.
 *
 * Files and paths are in wasi_fs.c; sandboxed path resolution is in
 * wasi_path.c. Every function returns a preview1 errno exactly as the witx
 * lists them (see wasi_internal.h); guest pointers are bounds-checked
 * against the memory's current size and a bad one is E_FAULT.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "wasi_internal.h"

struct wasi_binding {
  wisp_wasi_t *wasi;
  const wasi_func_def_t *def;
};

/* ---- errno mapping ------------------------------------------------------ */

int wasi__errno(int e) {
  switch (e) {
    case 0: return E_SUCCESS;
    case E2BIG: return E_2BIG;
    case EACCES: return E_ACCES;
    case EADDRINUSE: return E_ADDRINUSE;
    case EADDRNOTAVAIL: return E_ADDRNOTAVAIL;
    case EAFNOSUPPORT: return E_AFNOSUPPORT;
    case EAGAIN: return E_AGAIN;
    case EALREADY: return E_ALREADY;
    case EBADF: return E_BADF;
    case EBADMSG: return E_BADMSG;
    case EBUSY: return E_BUSY;
    case ECANCELED: return E_CANCELED;
    case ECHILD: return E_CHILD;
    case ECONNABORTED: return E_CONNABORTED;
    case ECONNREFUSED: return E_CONNREFUSED;
    case ECONNRESET: return E_CONNRESET;
    case EDEADLK: return E_DEADLK;
    case EDESTADDRREQ: return E_DESTADDRREQ;
    case EDOM: return E_DOM;
    case EDQUOT: return E_DQUOT;
    case EEXIST: return E_EXIST;
    case EFAULT: return E_FAULT;
    case EFBIG: return E_FBIG;
    case EHOSTUNREACH: return E_HOSTUNREACH;
    case EIDRM: return E_IDRM;
    case EILSEQ: return E_ILSEQ;
    case EINPROGRESS: return E_INPROGRESS;
    case EINTR: return E_INTR;
    case EINVAL: return E_INVAL;
    case EIO: return E_IO;
    case EISCONN: return E_ISCONN;
    case EISDIR: return E_ISDIR;
    case ELOOP: return E_LOOP;
    case EMFILE: return E_MFILE;
    case EMLINK: return E_MLINK;
    case EMSGSIZE: return E_MSGSIZE;
    case EMULTIHOP: return E_MULTIHOP;
    case ENAMETOOLONG: return E_NAMETOOLONG;
    case ENETDOWN: return E_NETDOWN;
    case ENETRESET: return E_NETRESET;
    case ENETUNREACH: return E_NETUNREACH;
    case ENFILE: return E_NFILE;
    case ENOBUFS: return E_NOBUFS;
    case ENODEV: return E_NODEV;
    case ENOENT: return E_NOENT;
    case ENOEXEC: return E_NOEXEC;
    case ENOLCK: return E_NOLCK;
    case ENOLINK: return E_NOLINK;
    case ENOMEM: return E_NOMEM;
    case ENOMSG: return E_NOMSG;
    case ENOPROTOOPT: return E_NOPROTOOPT;
    case ENOSPC: return E_NOSPC;
    case ENOSYS: return E_NOSYS;
    case ENOTCONN: return E_NOTCONN;
    case ENOTDIR: return E_NOTDIR;
    case ENOTEMPTY: return E_NOTEMPTY;
    case ENOTRECOVERABLE: return E_NOTRECOVERABLE;
    case ENOTSOCK: return E_NOTSOCK;
    case ENOTSUP: return E_NOTSUP;
    case ENOTTY: return E_NOTTY;
    case ENXIO: return E_NXIO;
    case EOVERFLOW: return E_OVERFLOW;
    case EOWNERDEAD: return E_OWNERDEAD;
    case EPERM: return E_PERM;
    case EPIPE: return E_PIPE;
    case EPROTO: return E_PROTO;
    case EPROTONOSUPPORT: return E_PROTONOSUPPORT;
    case EPROTOTYPE: return E_PROTOTYPE;
    case ERANGE: return E_RANGE;
    case EROFS: return E_ROFS;
    case ESPIPE: return E_SPIPE;
    case ESRCH: return E_SRCH;
    case ESTALE: return E_STALE;
    case ETIMEDOUT: return E_TIMEDOUT;
    case ETXTBSY: return E_TXTBSY;
    case EXDEV: return E_XDEV;
    default: return E_IO;
  }
}

uint8_t wasi__filetype_of_mode(unsigned mode) {
  switch (mode & S_IFMT) {
    case S_IFREG: return FT_REGULAR_FILE;
    case S_IFDIR: return FT_DIRECTORY;
    case S_IFCHR: return FT_CHARACTER_DEVICE;
    case S_IFBLK: return FT_BLOCK_DEVICE;
    case S_IFLNK: return FT_SYMBOLIC_LINK;
    case S_IFSOCK: return FT_SOCKET_STREAM;
    default: return FT_UNKNOWN;
  }
}

/* ---- descriptor table --------------------------------------------------- */

int wasi__fd_get(wisp_wasi_t *w, uint32_t fd, uint64_t rights, wasi_fd_t **out) {
  if (fd >= w->nfds || w->fds[fd].kind == WASI_FD_FREE) return E_BADF;
  wasi_fd_t *e = &w->fds[fd];
  if ((e->rights_base & rights) != rights) return E_NOTCAPABLE;
  *out = e;
  return E_SUCCESS;
}

int wasi__fd_add(wisp_wasi_t *w, const wasi_fd_t *entry, uint32_t *out_fd) {
  uint32_t fd = 0;
  while (fd < w->nfds && w->fds[fd].kind != WASI_FD_FREE) fd++;
  if (fd == w->cap) {
    if (w->cap >= (1u << 20)) return E_NFILE;
    uint32_t cap = w->cap ? w->cap * 2 : 16;
    wasi_fd_t *grown = realloc(w->fds, cap * sizeof *grown);
    if (!grown) return E_NOMEM;
    memset(grown + w->cap, 0, (cap - w->cap) * sizeof *grown);
    w->fds = grown;
    w->cap = cap;
  }
  w->fds[fd] = *entry;
  if (fd == w->nfds) w->nfds++;
  *out_fd = fd;
  return E_SUCCESS;
}

void wasi__fd_release(wasi_fd_t *e) {
  if (e->kind == WASI_FD_FREE) return;
  if (e->dir) closedir(e->dir);
  if (e->owned && e->host >= 0) close(e->host);
  free(e->preopen_name);
  memset(e, 0, sizeof *e);
  e->kind = WASI_FD_FREE;
  e->host = -1;
}

/* ---- object ------------------------------------------------------------- */

void wisp_wasi_config_init(wisp_wasi_config_t *config) {
  memset(config, 0, sizeof *config);
  for (int i = 0; i < 3; i++) config->stdio[i].host_fd = -1;
}

static char **copy_strings(const char *const *src, size_t n, size_t *bytes) {
  char **dst = calloc(n + 1, sizeof *dst);
  if (!dst) return NULL;
  *bytes = 0;
  for (size_t i = 0; i < n; i++) {
    dst[i] = strdup(src[i] ? src[i] : "");
    if (!dst[i]) {
      for (size_t j = 0; j < i; j++) free(dst[j]);
      free(dst);
      return NULL;
    }
    *bytes += strlen(dst[i]) + 1;
  }
  return dst;
}

static void free_strings(char **s, size_t n) {
  if (!s) return;
  for (size_t i = 0; i < n; i++) free(s[i]);
  free(s);
}

static wasi_fd_t stdio_entry(const wisp_wasi_stream_t *s) {
  wasi_fd_t e = {.kind = WASI_FD_STREAM, .host = -1, .stream = *s,
                 .filetype = FT_CHARACTER_DEVICE, .rights_base = R_STREAM_BASE};
  struct stat st;
  if (s->host_fd >= 0) {
    e.host = s->host_fd;
    if (fstat(s->host_fd, &st) == 0) {
      e.filetype = wasi__filetype_of_mode(st.st_mode);
      if (S_ISREG(st.st_mode)) e.rights_base = R_FILE_BASE;
    }
    int fl = fcntl(s->host_fd, F_GETFL);
    if (fl >= 0 && (fl & O_APPEND)) e.fdflags |= FDFLAG_APPEND;
  }
  return e;
}

int wisp_wasi_new(const wisp_wasi_config_t *config, wisp_wasi_t **out, wisp_error_t *err) {
  wisp_wasi_t *w = calloc(1, sizeof *w);
  if (!w) goto nomem;
  w->argv = copy_strings(config->argv, config->argc, &w->argv_bytes);
  w->env = copy_strings(config->env, config->envc, &w->env_bytes);
  if (!w->argv || !w->env) goto nomem;
  w->argc = config->argc;
  w->envc = config->envc;
  uint32_t fd;
  for (int i = 0; i < 3; i++) {
    wasi_fd_t e = stdio_entry(&config->stdio[i]);
    if (wasi__fd_add(w, &e, &fd)) goto nomem;
  }
  for (size_t i = 0; i < config->npreopens; i++) {
    const wisp_wasi_preopen_t *p = &config->preopens[i];
    int host = open(p->host_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (host < 0) {
      if (err) {
        err->code = WISP_ERR_ARG;
        err->offset = 0;
        snprintf(err->message, sizeof err->message, "cannot preopen directory '%s': %s",
                 p->host_path, strerror(errno));
      }
      wisp_wasi_delete(w);
      return WISP_ERR_ARG;
    }
    wasi_fd_t e = {.kind = WASI_FD_DIR, .filetype = FT_DIRECTORY, .owned = true,
                   .read_only = p->read_only, .host = host, .rights_base = R_DIR_BASE,
                   .rights_inheriting = R_DIR_BASE | R_FILE_BASE,
                   .preopen_name = strdup(p->guest_path ? p->guest_path : "/")};
    if (!e.preopen_name || wasi__fd_add(w, &e, &fd)) {
      close(host);
      free(e.preopen_name);
      goto nomem;
    }
  }
  for (size_t i = 0; i < config->nsockets; i++) {
    int type = 0;
    socklen_t tl = sizeof type;
    getsockopt(config->sockets[i], SOL_SOCKET, SO_TYPE, &type, &tl);
    wasi_fd_t e = {.kind = WASI_FD_SOCKET, .host = config->sockets[i],
                   .filetype = type == SOCK_DGRAM ? FT_SOCKET_DGRAM : FT_SOCKET_STREAM,
                   .rights_base = R_SOCK_BASE};
    if (wasi__fd_add(w, &e, &fd)) goto nomem;
  }
  w->deadline_ns = -1;
  w->suspend = config->suspend;
  *out = w;
  return 0;
nomem:
  if (err) {
    err->code = WISP_ERR_NOMEM;
    err->offset = 0;
    snprintf(err->message, sizeof err->message, "out of memory");
  }
  wisp_wasi_delete(w);
  return WISP_ERR_NOMEM;
}

void wisp_wasi_delete(wisp_wasi_t *w) {
  if (!w) return;
  for (uint32_t i = 0; i < w->nfds; i++) wasi__fd_release(&w->fds[i]);
  free(w->fds);
  free_strings(w->argv, w->argc);
  free_strings(w->env, w->envc);
  free(w->bindings);
  free(w);
}

void wisp_wasi_set_deadline(wisp_wasi_t *w, int64_t monotonic_ns) { w->deadline_ns = monotonic_ns; }

int64_t wasi__mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t wasi__wake_time(const wisp_wasi_t *w, int64_t want_ns) {
  if (w->deadline_ns >= 0 && (want_ns < 0 || w->deadline_ns < want_ns)) return w->deadline_ns;
  return want_ns;
}

/* How often a suspended wait on a host pipe or socket is retried. */
#define WASI_POLL_RETRY_NS 10000000

int wasi__wait_ready(wisp_wasi_t *w, const wasi_fd_t *e, short events) {
  if (e->host < 0 || e->filetype == FT_REGULAR_FILE || e->kind == WASI_FD_DIR ||
      (e->fdflags & FDFLAG_NONBLOCK) || (w->deadline_ns < 0 && !w->suspend))
    return E_SUCCESS;
  if (w->suspend) {
    struct pollfd p = {.fd = e->host, .events = events};
    if (poll(&p, 1, 0) != 0) return E_SUCCESS;
    if (w->deadline_ns >= 0 && wasi__mono_ns() >= w->deadline_ns) return WASI_DEADLINE;
    w->pending.wake_ns = wasi__wake_time(w, wasi__mono_ns() + WASI_POLL_RETRY_NS);
    w->pending.wait_fd = e->host;
    w->pending.wait_events = events;
    return WASI_SUSPEND;
  }
  for (;;) {
    int64_t left = w->deadline_ns - wasi__mono_ns();
    if (left <= 0) left = 0;
    struct timespec ts = {left / 1000000000, left % 1000000000};
    struct pollfd p = {.fd = e->host, .events = events};
    int n = ppoll(&p, 1, &ts, NULL);
    if (n > 0) return E_SUCCESS; /* ready, hung up or in error: the call itself reports */
    if (n < 0 && errno != EINTR) return wasi__errno(errno);
    if (n == 0 && left == 0) return WASI_DEADLINE;
  }
}

/* ---- args and environ --------------------------------------------------- */

static int put_strings(wasi_ctx_t *c, char **s, size_t n, size_t bytes, uint32_t ptrs,
                       uint32_t buf) {
  if (!wasi_mem_ok(c, ptrs, (uint64_t)n * 4) || !wasi_mem_ok(c, buf, bytes)) return E_FAULT;
  for (size_t i = 0; i < n; i++) {
    size_t len = strlen(s[i]) + 1;
    wasi_put_u32(c, ptrs + 4 * (uint32_t)i, buf);
    memcpy(c->mem + buf, s[i], len);
    buf += (uint32_t)len;
  }
  return E_SUCCESS;
}

static int put_sizes(wasi_ctx_t *c, size_t n, size_t bytes, uint32_t np, uint32_t bp) {
  if (!wasi_mem_ok(c, np, 4) || !wasi_mem_ok(c, bp, 4)) return E_FAULT;
  wasi_put_u32(c, np, (uint32_t)n);
  wasi_put_u32(c, bp, (uint32_t)bytes);
  return E_SUCCESS;
}

static int f_args_get(wasi_ctx_t *c, const wisp_val_t *args, wisp_val_t *res) {
  wisp_wasi_t *w = c->wasi;
  return put_strings(c, w->argv, w->argc, w->argv_bytes, ARG_U32(0), ARG_U32(1));
}
static int f_args_sizes_get(wasi_ctx_t *c, const wisp_val_t *args, wisp_val_t *res) {
  return put_sizes(c, c->wasi->argc, c->wasi->argv_bytes, ARG_U32(0), ARG_U32(1));
}
static int f_environ_get(wasi_ctx_t *c, const wisp_val_t *args, wisp_val_t *res) {
  wisp_wasi_t *w = c->wasi;
  return put_strings(c, w->env, w->envc, w->env_bytes, ARG_U32(0), ARG_U32(1));
}
static int f_environ_sizes_get(wasi_ctx_t *c, const wisp_val_t *args, wisp_val_t *res) {
  return put_sizes(c, c->wasi->envc, c->wasi->env_bytes, ARG_U32(0), ARG_U32(1));
}

/* ---- clocks, random, process -------------------------------------------- */

static int host_clock(uint32_t id, clockid_t *out) {
  switch (id) {
    case 0: *out = CLOCK_REALTIME; return 0;
    case 1: *out = CLOCK_MONOTONIC; return 0;
    case 2: *out = CLOCK_PROCESS_CPUTIME_ID; return 0;
    case 3: *out = CLOCK_THREAD_CPUTIME_ID; return 0;
    default: return -1;
  }
}

static uint64_t ts_ns(const struct timespec *ts) {
  return (uint64_t)ts->tv_sec * 1000000000ull + (uint64_t)ts->tv_nsec;
}

static int clock_now(uint32_t id, uint64_t *out) {
  *out = 0;
  clockid_t cid;
  struct timespec ts;
  if (host_clock(id, &cid) < 0) return E_INVAL;
  if (clock_gettime(cid, &ts) < 0) return wasi__errno(errno);
  *out = ts_ns(&ts);
  return E_SUCCESS;
}

static int f_clock_res_get(wasi_ctx_t *c, const wisp_val_t *args, wisp_val_t *res) {
  clockid_t cid;
  struct timespec ts;
  if (host_clock(ARG_U32(0), &cid) < 0) return E_INVAL;
  if (!wasi_mem_ok(c, ARG_U32(1), 8)) return E_FAULT;
  if (clock_getres(cid, &ts) < 0) return wasi__errno(errno);
  uint64_t ns = ts_ns(&ts);
  wasi_put_u64(c, ARG_U32(1), ns ? ns : 1);
  return E_SUCCESS;
}

static int f_clock_time_get(wasi_ctx_t *c, const wisp_val_t *args, wisp_val_t *res) {
  uint64_t now;
  int rc = clock_now(ARG_U32(0), &now);
  if (rc) return rc;
  if (!wasi_mem_ok(c, ARG_U32(2), 8)) return E_FAULT;
  wasi_put_u64(c, ARG_U32(2), now);
  return E_SUCCESS;
}

static int f_random_get(wasi_ctx_t *c, const wisp_val_t *args, wisp_val_t *res) {
  uint32_t p = ARG_U32(0), len = ARG_U32(1);
  if (!wasi_mem_ok(c, p, len)) return E_FAULT;
  while (len > 0) {
    ssize_t n = getrandom(c->mem + p, len, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return wasi__errno(errno);
    }
    p += (uint32_t)n;
    len -= (uint32_t)n;
  }
  return E_SUCCESS;
}

static int f_proc_exit(wasi_ctx_t *c, const wisp_val_t *args, wisp_val_t *res) {
  c->exit_code = (int)ARG_U32(0);
  return WASI_EXIT;
}

static int f_proc_raise(wasi_ctx_t *c, const wisp_val_t *args, wisp_val_t *res) {
  return E_NOSYS; /* deprecated in preview1; signals are not part of the sandbox */
}

static int f_sched_yield(wasi_ctx_t *c, const wisp_val_t *args, wisp_val_t *res) {
  sched_yield();
  return E_SUCCESS;
}

/* ---- poll_oneoff -------------------------------------------------------- */

#define SUB_SIZE 48
#define EVENT_SIZE 32
#define EVT_CLOCK 0
#define EVT_FD_READ 1
#define EVT_FD_WRITE 2

static void put_event(wasi_ctx_t *c, uint32_t out, uint32_t i, uint64_t userdata, uint16_t error,
                      uint8_t type, uint64_t nbytes, uint16_t flags) {
  uint32_t p = out + i * EVENT_SIZE;
  memset(c->mem + p, 0, EVENT_SIZE);
  wasi_put_u64(c, p, userdata);
  wasi_put_u16(c, p + 8, error);
  wasi_put_u8(c, p + 10, type);
  wasi_put_u64(c, p + 16, nbytes);
  wasi_put_u16(c, p + 24, flags);
}

/* Bytes readable now on a host fd (best effort; 0 when unknown). */
static uint64_t readable_bytes(int host) {
  struct stat st;
  if (fstat(host, &st) == 0 && S_ISREG(st.st_mode)) {
    off_t pos = lseek(host, 0, SEEK_CUR);
    return (pos >= 0 && st.st_size > pos) ? (uint64_t)(st.st_size - pos) : 0;
  }
  int n = 0;
  if (ioctl(host, FIONREAD, &n) == 0 && n > 0) return (uint64_t)n;
  return 0;
}

/* poll_oneoff's working state: host descriptors for ppoll, and for each
 * clock subscription when it is due, in ns after `start` (monotonic). */
typedef struct poll_state {
  struct pollfd *pfds;
  uint32_t *pidx;   /* subscription index of each pfds entry */
  int64_t *due;     /* per subscription; -1 when not a clock */
  uint32_t npfds, nev;
  int64_t first_due; /* earliest clock, -1 if none */
  uint64_t start;
} poll_state_t;

/* Reads subscription i: errors and always-ready descriptors become events at
 * once; host descriptors are queued for ppoll; clocks get a due time. */
static void poll_subscribe(wasi_ctx_t *c, poll_state_t *ps, uint32_t in, uint32_t out, uint32_t i) {
  uint32_t s = in + i * SUB_SIZE;
  uint64_t ud = wasi_get_u64(c, s);
  uint8_t tag = c->mem[s + 8];
  ps->due[i] = -1;
  if (tag == EVT_CLOCK) {
    uint64_t timeout = wasi_get_u64(c, s + 24), now;
    uint16_t flags = wasi_get_u16(c, s + 40);
    if (clock_now(wasi_get_u32(c, s + 16), &now)) {
      put_event(c, out, ps->nev++, ud, E_INVAL, EVT_CLOCK, 0, 0);
      return;
    }
    uint64_t rel = (flags & 1) ? (timeout > now ? timeout - now : 0) : timeout;
    ps->due[i] = rel > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)rel;
    if (ps->first_due < 0 || ps->due[i] < ps->first_due) ps->first_due = ps->due[i];
  } else if (tag == EVT_FD_READ || tag == EVT_FD_WRITE) {
    wasi_fd_t *e;
    int rc = wasi__fd_get(c->wasi, wasi_get_u32(c, s + 16), R_POLL_FD_READWRITE, &e);
    if (rc) {
      put_event(c, out, ps->nev++, ud, (uint16_t)rc, tag, 0, 0);
    } else if (e->host < 0 || e->filetype == FT_REGULAR_FILE || e->kind == WASI_FD_DIR) {
      uint64_t nbytes = (e->host >= 0 && tag == EVT_FD_READ) ? readable_bytes(e->host) : 0;
      put_event(c, out, ps->nev++, ud, 0, tag, nbytes, 0);
    } else {
      ps->pfds[ps->npfds] = (struct pollfd){.fd = e->host, .events = tag == EVT_FD_READ ? POLLIN : POLLOUT};
      ps->pidx[ps->npfds++] = i;
    }
  } else {
    put_event(c, out, ps->nev++, ud, E_INVAL, tag, 0, 0);
  }
}

/* Waits until a descriptor is ready or the first clock is due; returns 0 or errno. */
static int poll_wait(wasi_ctx_t *c, poll_state_t *ps, uint32_t in, uint32_t nsubs, uint32_t out) {
  for (;;) {
    uint64_t now;
    clock_now(1, &now);
    int64_t elapsed = (int64_t)(now - ps->start), left = -1;
    if (ps->nev > 0) left = 0;
    else if (ps->first_due >= 0) left = elapsed >= ps->first_due ? 0 : ps->first_due - elapsed;
    int64_t to_deadline = -1;
    if (c->wasi->deadline_ns >= 0) {
      to_deadline = c->wasi->deadline_ns - (int64_t)now;
      if (to_deadline < 0) to_deadline = 0;
      if (left < 0 || to_deadline < left) left = to_deadline;
    }
    bool suspending = c->wasi->suspend && left != 0;
    struct timespec ts = {left / 1000000000, left % 1000000000};
    if (suspending) ts = (struct timespec){0, 0}; /* look, never wait: the guest waits instead */
    int n = ppoll(ps->pfds, ps->npfds, (left >= 0 || suspending) ? &ts : NULL, NULL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return wasi__errno(errno);
    if (n == 0 && suspending) {
      int64_t wake = left >= 0 ? (int64_t)now + left : -1;
      if (ps->npfds && (wake < 0 || wake > (int64_t)now + WASI_POLL_RETRY_NS))
        wake = (int64_t)now + WASI_POLL_RETRY_NS;
      c->wasi->pending.wake_ns = wasi__wake_time(c->wasi, wake);
      bool one_fd = ps->npfds == 1 && ps->first_due < 0;
      c->wasi->pending.wait_fd = one_fd ? ps->pfds[0].fd : -1;
      c->wasi->pending.wait_events = one_fd ? ps->pfds[0].events : 0;
      return WASI_SUSPEND;
    }
    for (uint32_t k = 0; k < ps->npfds && n > 0; k++) {
      short rev = ps->pfds[k].revents;
      if (!rev) continue;
      uint32_t s = in + ps->pidx[k] * SUB_SIZE;
      uint8_t tag = c->mem[s + 8];
      uint64_t nbytes = tag == EVT_FD_READ ? readable_bytes(ps->pfds[k].fd) : 0;
      put_event(c, out, ps->nev++, wasi_get_u64(c, s), (rev & POLLNVAL) ? E_BADF : 0, tag, nbytes,
                (rev & POLLHUP) ? 1 : 0);
    }
    if (ps->nev > 0) return E_SUCCESS;
    if (left != 0) continue; /* woken early: wait for the rest */
    if (to_deadline == 0) {
      /* the deadline came first, unless a clock is due at the same moment */
      bool clock_due = ps->first_due >= 0 && (int64_t)(now - ps->start) >= ps->first_due;
      if (!clock_due) return WASI_DEADLINE;
    }
    clock_now(1, &now);
    elapsed = (int64_t)(now - ps->start);
    for (uint32_t i = 0; i < nsubs; i++)
      if (ps->due[i] >= 0 && ps->due[i] <= elapsed)
        put_event(c, out, ps->nev++, wasi_get_u64(c, in + i * SUB_SIZE), 0, EVT_CLOCK, 0, 0);
    if (ps->nev > 0) return E_SUCCESS;
  }
}

/* Blocks the calling thread (the server will want a suspending variant). A
 * subscription set with neither clocks nor pollable descriptors that are not
 * ready at once waits forever, as poll(2) with no timeout does. */
static int f_poll_oneoff(wasi_ctx_t *c, const wisp_val_t *args, wisp_val_t *res) {
  uint32_t in = ARG_U32(0), out = ARG_U32(1), nsubs = ARG_U32(2), nev_ptr = ARG_U32(3);
  if (nsubs == 0 || nsubs > 4096) return E_INVAL;
  if (!wasi_mem_ok(c, in, (uint64_t)nsubs * SUB_SIZE) ||
      !wasi_mem_ok(c, out, (uint64_t)nsubs * EVENT_SIZE) || !wasi_mem_ok(c, nev_ptr, 4))
    return E_FAULT;
  poll_state_t ps = {.pfds = calloc(nsubs, sizeof *ps.pfds), .pidx = calloc(nsubs, sizeof *ps.pidx),
                     .due = calloc(nsubs, sizeof *ps.due), .first_due = -1};
  int rc = E_NOMEM;
  if (!ps.pfds || !ps.pidx || !ps.due) goto done;
  clock_now(1, &ps.start);
  if (c->resumed) ps.start = (uint64_t)c->wasi->pending.start_ns; /* relative clocks count from the first try */
  for (uint32_t i = 0; i < nsubs; i++) poll_subscribe(c, &ps, in, out, i);
  rc = poll_wait(c, &ps, in, nsubs, out);
  if (rc == E_SUCCESS) wasi_put_u32(c, nev_ptr, ps.nev);
done:
  free(ps.pfds);
  free(ps.pidx);
  free(ps.due);
  return rc;
}

/* ---- sockets ------------------------------------------------------------- */

int wasi__iovecs(wasi_ctx_t *c, uint32_t iovs, uint32_t n, struct iovec *out, int *count) {
  if (!wasi_mem_ok(c, iovs, (uint64_t)n * 8)) return E_FAULT;
  if (n > 1024) n = 1024; /* IOV_MAX: a short transfer is allowed */
  for (uint32_t i = 0; i < n; i++) {
    uint32_t buf = wasi_get_u32(c, iovs + 8 * i), len = wasi_get_u32(c, iovs + 8 * i + 4);
    if (!wasi_mem_ok(c, buf, len)) return E_FAULT;
    out[i].iov_base = c->mem + buf;
    out[i].iov_len = len;
  }
  *count = (int)n;
  return E_SUCCESS;
}

static int get_socket(wisp_wasi_t *w, uint32_t fd, uint64_t rights, wasi_fd_t **out) {
  wasi_fd_t *e;
  if (fd >= w->nfds || w->fds[fd].kind == WASI_FD_FREE) return E_BADF;
  e = &w->fds[fd];
  if (e->kind != WASI_FD_SOCKET) return E_NOTSOCK;
  return wasi__fd_get(w, fd, rights, out);
}

static int f_sock_accept(wasi_ctx_t *c, const wisp_val_t *args, wisp_val_t *res) {
  wasi_fd_t *e;
  uint32_t flags = ARG_U32(1), fdp = ARG_U32(2);
  int rc = get_socket(c->wasi, ARG_U32(0), R_SOCK_ACCEPT, &e);
  if (rc) return rc;
  if (flags & ~(uint32_t)FDFLAG_NONBLOCK) return E_INVAL;
  if (!wasi_mem_ok(c, fdp, 4)) return E_FAULT;
  if ((rc = wasi__wait_ready(c->wasi, e, POLLIN))) return rc;
  int s = accept4(e->host, NULL, NULL, SOCK_CLOEXEC | ((flags & FDFLAG_NONBLOCK) ? SOCK_NONBLOCK : 0));
  if (s < 0) return wasi__errno(errno);
  wasi_fd_t ne = {.kind = WASI_FD_SOCKET, .filetype = FT_SOCKET_STREAM, .owned = true, .host = s,
                  .fdflags = (uint16_t)flags, .rights_base = R_SOCK_BASE & ~R_SOCK_ACCEPT};
  uint32_t fd;
  rc = wasi__fd_add(c->wasi, &ne, &fd);
  if (rc) {
    close(s);
    return rc;
  }
  wasi_put_u32(c, fdp, fd);
  return E_SUCCESS;
}

static int f_sock_recv(wasi_ctx_t *c, const wisp_val_t *args, wisp_val_t *res) {
  wasi_fd_t *e;
  uint32_t riflags = ARG_U32(3), lenp = ARG_U32(4), flp = ARG_U32(5);
  int rc = get_socket(c->wasi, ARG_U32(0), R_FD_READ, &e);
  if (rc) return rc;
  if (riflags & ~3u) return E_INVAL;
  if (!wasi_mem_ok(c, lenp, 4) || !wasi_mem_ok(c, flp, 2)) return E_FAULT;
  struct iovec iov[1024];
  int n;
  if ((rc = wasi__iovecs(c, ARG_U32(1), ARG_U32(2), iov, &n))) return rc;
  struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)n};
  int hf = ((riflags & 1) ? MSG_PEEK : 0) | ((riflags & 2) ? MSG_WAITALL : 0);
  if ((rc = wasi__wait_ready(c->wasi, e, POLLIN))) return rc;
  ssize_t got = recvmsg(e->host, &mh, hf);
  if (got < 0) return wasi__errno(errno);
  wasi_put_u32(c, lenp, (uint32_t)got);
  wasi_put_u16(c, flp, (mh.msg_flags & MSG_TRUNC) ? 1 : 0);
  return E_SUCCESS;
}

static int f_sock_send(wasi_ctx_t *c, const wisp_val_t *args, wisp_val_t *res) {
  wasi_fd_t *e;
  uint32_t lenp = ARG_U32(4);
  int rc = get_socket(c->wasi, ARG_U32(0), R_FD_WRITE, &e);
  if (rc) return rc;
  if (ARG_U32(3) != 0) return E_INVAL;
  if (!wasi_mem_ok(c, lenp, 4)) return E_FAULT;
  struct iovec iov[1024];
  int n;
  if ((rc = wasi__iovecs(c, ARG_U32(1), ARG_U32(2), iov, &n))) return rc;
  struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)n};
  if ((rc = wasi__wait_ready(c->wasi, e, POLLOUT))) return rc;
  ssize_t put = sendmsg(e->host, &mh, MSG_NOSIGNAL);
  if (put < 0) return wasi__errno(errno);
  wasi_put_u32(c, lenp, (uint32_t)put);
  return E_SUCCESS;
}

static int f_sock_shutdown(wasi_ctx_t *c, const wisp_val_t *args, wisp_val_t *res) {
  wasi_fd_t *e;
  uint32_t how = ARG_U32(1);
  int rc = get_socket(c->wasi, ARG_U32(0), R_SOCK_SHUTDOWN, &e);
  if (rc) return rc;
  int h;
  switch (how) {
    case 1: h = SHUT_RD; break;
    case 2: h = SHUT_WR; break;
    case 3: h = SHUT_RDWR; break;
    default: return E_INVAL;
  }
  if (shutdown(e->host, h) < 0) return wasi__errno(errno);
  return E_SUCCESS;
}

/* ---- binding ------------------------------------------------------------ */

static const wasi_func_def_t core_funcs[] = {
    {"args_get", "ii", "i", f_args_get},
    {"args_sizes_get", "ii", "i", f_args_sizes_get},
    {"environ_get", "ii", "i", f_environ_get},
    {"environ_sizes_get", "ii", "i", f_environ_sizes_get},
    {"clock_res_get", "ii", "i", f_clock_res_get},
    {"clock_time_get", "iIi", "i", f_clock_time_get},
    {"random_get", "ii", "i", f_random_get},
    {"proc_exit", "i", "", f_proc_exit},
    {"proc_raise", "i", "i", f_proc_raise},
    {"sched_yield", "", "i", f_sched_yield},
    {"poll_oneoff", "iiii", "i", f_poll_oneoff},
    {"sock_accept", "iii", "i", f_sock_accept},
    {"sock_recv", "iiiiii", "i", f_sock_recv},
    {"sock_send", "iiiii", "i", f_sock_send},
    {"sock_shutdown", "ii", "i", f_sock_shutdown},
};
#define CORE_NFUNCS (sizeof core_funcs / sizeof core_funcs[0])

static wisp_host_status_t trampoline(wisp_call_t *call, void *env, const wisp_val_t *args,
                                     wisp_val_t *results) {
  struct wasi_binding *b = env;
  /* shared definitions (wisp_wasi_define_shared) act on the calling store's WASI state */
  wisp_wasi_t *w = b->wasi ? b->wasi : wisp_store_data(wisp_call_store(call));
  if (!w) return wisp_call_trap(call, "wasi: no WASI state is attached to this store (wisp_wasi_attach)");
  wasi_ctx_t c = {.wasi = w, .call = call};
  wisp_memory_t *m = wisp_call_memory(call, 0);
  if (m) {
    c.mem = wisp_memory_data(m);
    c.mem_size = wisp_memory_size(m);
  }
  w->pending.wait_fd = -1;
  int rc = b->def->impl(&c, args, results);
  if (rc == WASI_EXIT) return wisp_call_exit(call, c.exit_code);
  if (rc == WASI_SUSPEND) {
    wasi_pending_t *p = &w->pending;
    p->active = true;
    p->def = b->def;
    memcpy(p->args, args, strlen(b->def->params) * sizeof *args);
    p->mem = c.mem;
    p->mem_size = c.mem_size;
    p->start_ns = wasi__mono_ns();
    return WISP_HOST_SUSPEND;
  }
  if (rc == WASI_DEADLINE) {
    char msg[128];
    snprintf(msg, sizeof msg, "wasi: deadline exceeded while blocked in %s", b->def->name);
    return wisp_call_trap(call, msg);
  }
  if (b->def->results[0]) {
    results[0].kind = WISP_I32;
    results[0].of.i32 = rc;
  }
  return WISP_HOST_OK;
}

static uint8_t kind_of(char ch) { return ch == 'I' ? WISP_I64 : WISP_I32; }

static int define_one(wisp_linker_t *linker, struct wasi_binding *b) {
  uint8_t params[16], results[1];
  size_t np = strlen(b->def->params), nr = strlen(b->def->results);
  for (size_t i = 0; i < np; i++) params[i] = kind_of(b->def->params[i]);
  for (size_t i = 0; i < nr; i++) results[i] = kind_of(b->def->results[i]);
  wisp_functype_t type = {(uint32_t)np, (uint32_t)nr, params, results};
  return wisp_linker_define_func(linker, WISP_WASI_MODULE, b->def->name, &type, trampoline, b);
}

int wisp_wasi_define(wisp_wasi_t *w, wisp_linker_t *linker) {
  size_t n = CORE_NFUNCS + wasi__fs_nfuncs;
  if (!w->bindings) {
    w->bindings = calloc(n, sizeof *w->bindings);
    if (!w->bindings) return WISP_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
      w->bindings[i].wasi = w;
      w->bindings[i].def = i < CORE_NFUNCS ? &core_funcs[i] : &wasi__fs_funcs[i - CORE_NFUNCS];
    }
  }
  for (size_t i = 0; i < n; i++) {
    int rc = define_one(linker, &w->bindings[i]);
    if (rc < 0) return rc;
  }
  return 0;
}

/* Bindings with no wasi: they find it through the calling store. Built once. */
static struct wasi_binding *shared_bindings;
static pthread_once_t shared_once = PTHREAD_ONCE_INIT;

static void make_shared_bindings(void) {
  size_t n = CORE_NFUNCS + wasi__fs_nfuncs;
  shared_bindings = calloc(n, sizeof *shared_bindings);
  for (size_t i = 0; shared_bindings && i < n; i++)
    shared_bindings[i].def = i < CORE_NFUNCS ? &core_funcs[i] : &wasi__fs_funcs[i - CORE_NFUNCS];
}

int wisp_wasi_define_shared(wisp_linker_t *linker) {
  pthread_once(&shared_once, make_shared_bindings);
  if (!shared_bindings) return WISP_ERR_NOMEM;
  for (size_t i = 0; i < CORE_NFUNCS + wasi__fs_nfuncs; i++) {
    int rc = define_one(linker, &shared_bindings[i]);
    if (rc < 0) return rc;
  }
  return 0;
}

void wisp_wasi_attach(wisp_wasi_t *wasi, wisp_store_t *store) { wisp_store_set_data(store, wasi); }

int wisp_wasi_suspended_fd(const wisp_wasi_t *w, short *events) {
  if (!w->pending.active || w->pending.wait_fd < 0) return -1;
  if (events) *events = w->pending.wait_events;
  return w->pending.wait_fd;
}

bool wisp_wasi_suspended(const wisp_wasi_t *w, int64_t *wake_ns) {
  if (!w->pending.active) return false;
  if (wake_ns) *wake_ns = w->pending.wake_ns;
  return true;
}

wisp_status_t wisp_wasi_resume(wisp_wasi_t *w, wisp_exec_t *exec) {
  wasi_pending_t *p = &w->pending;
  if (!p->active || wisp_exec_status(exec) != WISP_SUSPENDED) {
    p->active = false; /* the exec moved on (aborted, or resumed by someone else) */
    return wisp_exec_status(exec);
  }
  wasi_ctx_t c = {.wasi = w, .mem = p->mem, .mem_size = p->mem_size, .resumed = true};
  p->wait_fd = -1;
  wisp_val_t result = {.kind = WISP_I32};
  int rc = p->def->impl(&c, p->args, &result);
  if (rc == WASI_SUSPEND) return WISP_SUSPENDED;
  p->active = false;
  if (rc == WASI_DEADLINE || rc < 0) {
    wisp_exec_abort(exec);
    return WISP_TRAPPED;
  }
  result.of.i32 = rc;
  return wisp_exec_resume(exec, &result, p->def->results[0] ? 1 : 0);
}

bool wisp_wasi_has_func(const char *name, size_t len) {
  for (size_t i = 0; i < CORE_NFUNCS; i++)
    if (strlen(core_funcs[i].name) == len && memcmp(core_funcs[i].name, name, len) == 0) return true;
  for (size_t i = 0; i < wasi__fs_nfuncs; i++)
    if (strlen(wasi__fs_funcs[i].name) == len && memcmp(wasi__fs_funcs[i].name, name, len) == 0)
      return true;
  return false;
}
