/*
 * wasi2.c: the WASI 0.2 command-world host (wasi2.h). Each import is a
 * wisp__chost_fn_t: arguments arrive lifted (handles as their representations),
 * results are filled in with their .type preset by the caller (cinst.c), and
 * anything that needs memory is allocated from cx->arena.
 *
 * Invariants: w->objs holds streams, descriptors and directory-entry-streams;
 * a representation is 1 + the index, and slots 0-2 are the stdio streams (never
 * freed). An io/error's representation is the errno that caused it; a
 * pollable's is 1 + its index in w->polls, and only [resource-drop]pollable
 * frees that slot. Nothing here trusts a representation: one of an unknown or
 * wrong kind traps. Values have the shapes of wasi2_types.c (wisp__wasi2_check
 * ran before instantiation). Paths are resolved only by wasi__resolve, beneath
 * the descriptor's own host directory.
 */
#include "wasi2.h"

#include "../wasi/wasi_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define WASI2_MAX_BYTES    (64u << 20) /* largest read or random-bytes request served */
#define WASI2_WRITE_BUDGET 65536       /* what check-write permits at once */

/* Host functions and the stub labels they point to (wisp__wasi2_host_funcs
 * for one host, wisp__wasi2_table_new for many). */
struct wisp__wasi2_table {
  wisp__chost_func_t *funcs;
  size_t nfuncs;
  char **labels; /* stub labels "iface#name", owned */
  size_t nlabels;
};

/* A resource the host made: a stream, a descriptor or a directory-entry-stream.
 * Its representation is 1 + its index; slots 0-2 are the stdio streams. */
typedef enum obj_kind { OBJ_FREE, OBJ_STDIO, OBJ_IN, OBJ_OUT, OBJ_DESC, OBJ_DIRSTREAM, OBJ_HOST_IN, OBJ_HOST_OUT } obj_kind_t;

typedef struct obj {
  uint8_t kind;    /* obj_kind_t */
  bool read_only;  /* OBJ_DESC: beneath a read-only preopen */
  bool append;     /* OBJ_OUT: writes go to the end of the file */
  uint8_t sync;    /* OBJ_DESC: the *-sync descriptor-flags it was opened with (4|8|16) */
  int fd;          /* the host descriptor (owned unless OBJ_STDIO) */
  uint64_t offset; /* OBJ_IN / OBJ_OUT on a file: where the next transfer is */
  DIR *dir;        /* OBJ_DIRSTREAM (owns its own descriptor) */
  const wisp__wasi2_stream_ops_t *ops; /* OBJ_HOST_*: the embedder's stream */
  void *ctx;
} obj_t;

typedef struct pollable {
  bool used;
  int64_t ready_ns; /* a timer: CLOCK_MONOTONIC time it becomes ready (fd < 0) */
  int fd;           /* a stream's: ready when poll(2) says so for `events` */
  short events;
  bool host;                /* backed by ready(ctx); detached (ready NULL): ready */
  bool (*ready)(void *ctx);
  void *ctx;
} pollable_t;

struct wisp__wasi2 {
  wisp__wasi2_config_t cfg;
  int exit_status;
  pollable_t *polls;
  uint32_t npolls, cap_polls;
  wisp__wasi2_table_t table; /* wisp__wasi2_host_funcs */
  obj_t *objs;
  uint32_t nobjs, cap_objs;
  int *preopen_fds; /* one per cfg.preopens entry, owned */
  char error[600];  /* why wisp__wasi2_new or _check failed */
};

typedef wisp__cval_t cval_t;

static int fail(wisp__cabi_t *cx, const char *msg) {
  snprintf(cx->trap, sizeof cx->trap, "%s", msg);
  return -1;
}

static const wisp__ctype_t *type_of(wisp__cabi_t *cx, uint32_t id) { return wisp__ctype(cx->component, id); }

static int64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- small value builders ---- */

/* A payload value of type `type` for a variant/option/result, or NULL on OOM. */
static cval_t *payload(wisp__cabi_t *cx, uint32_t type) {
  cval_t *p = wisp__arena_alloc(cx->arena, sizeof *p);
  if (p) *p = (cval_t){.type = type};
  return p;
}

/* ok(value) of a result (value ignored when the ok case is empty). */
static int result_ok(wisp__cabi_t *cx, cval_t *res, uint64_t value) {
  res->of.var.disc = 0;
  res->of.var.payload = NULL;
  uint32_t ok_type = type_of(cx, res->type)->a;
  if (ok_type == WISP__CNONE) return 0;
  res->of.var.payload = payload(cx, ok_type);
  if (!res->of.var.payload) return fail(cx, "out of memory");
  res->of.var.payload->of.u = value;
  return 0;
}

/* err(stream-error) of a result: `closed` when errnum is 0 (end of stream or a
 * closed pipe), else last-operation-failed(error) whose representation is errnum. */
static int result_stream_error(wisp__cabi_t *cx, cval_t *res, int errnum) {
  res->of.var.disc = 1;
  cval_t *e = payload(cx, type_of(cx, res->type)->b);
  if (!e) return fail(cx, "out of memory");
  res->of.var.payload = e;
  if (errnum == 0 || errnum == EPIPE) {
    e->of.var.disc = 1; /* closed */
    return 0;
  }
  e->of.var.disc = 0; /* last-operation-failed(error) */
  e->of.var.payload = payload(cx, type_of(cx, e->type)->fields[0].type);
  if (!e->of.var.payload) return fail(cx, "out of memory");
  e->of.var.payload->of.u = (uint64_t)errnum;
  return 0;
}

/* A list of `n` values of the list type's element type, or NULL on OOM. */
static cval_t *list_items(wisp__cabi_t *cx, cval_t *list, uint32_t n) {
  uint32_t elem = type_of(cx, list->type)->a;
  cval_t *items = wisp__arena_alloc(cx->arena, sizeof *items * (n ? n : 1));
  if (!items) return NULL;
  for (uint32_t i = 0; i < n; i++) items[i] = (cval_t){.type = elem};
  list->of.agg.items = items;
  list->of.agg.len = n;
  return items;
}

/* Fills record/tuple `v` with its fields' types; returns its items or NULL. */
static cval_t *fields_of(wisp__cabi_t *cx, cval_t *v) {
  const wisp__ctype_t *t = type_of(cx, v->type);
  cval_t *items = wisp__arena_alloc(cx->arena, sizeof *items * (t->n ? t->n : 1));
  if (!items) return NULL;
  for (uint32_t i = 0; i < t->n; i++) items[i] = (cval_t){.type = t->fields[i].type};
  v->of.agg.items = items;
  v->of.agg.len = t->n;
  return items;
}

#define HOST_FN(name) \
  static int name(void *env, wisp__cabi_t *cx, const cval_t *args, uint32_t nargs, cval_t *res, uint32_t nres)
#define UNUSED_ARGS (void)env, (void)cx, (void)args, (void)nargs, (void)res, (void)nres

/* ---- wasi:cli ---- */

HOST_FN(get_arguments) {
  UNUSED_ARGS;
  wisp__wasi2_t *w = env;
  cval_t *items = list_items(cx, &res[0], (uint32_t)w->cfg.argc);
  if (!items) return fail(cx, "out of memory");
  for (size_t i = 0; i < w->cfg.argc; i++) {
    items[i].of.str.ptr = w->cfg.argv[i];
    items[i].of.str.len = (uint32_t)strlen(w->cfg.argv[i]);
  }
  return 0;
}

HOST_FN(get_environment) {
  UNUSED_ARGS;
  wisp__wasi2_t *w = env;
  cval_t *items = list_items(cx, &res[0], (uint32_t)w->cfg.envc);
  if (!items) return fail(cx, "out of memory");
  for (size_t i = 0; i < w->cfg.envc; i++) {
    const char *kv = w->cfg.env[i], *eq = strchr(kv, '=');
    size_t klen = eq ? (size_t)(eq - kv) : strlen(kv);
    const char *val = eq ? eq + 1 : "";
    cval_t *pair = fields_of(cx, &items[i]);
    if (!pair) return fail(cx, "out of memory");
    pair[0].of.str.ptr = kv;
    pair[0].of.str.len = (uint32_t)klen;
    pair[1].of.str.ptr = val;
    pair[1].of.str.len = (uint32_t)strlen(val);
  }
  return 0;
}

/* option none (initial-cwd, get-terminal-*, filesystem-error-code) */
HOST_FN(none) {
  UNUSED_ARGS;
  res[0].of.var.disc = 0;
  res[0].of.var.payload = NULL;
  return 0;
}

HOST_FN(do_nothing) {
  UNUSED_ARGS;
  return 0;
}

HOST_FN(do_exit) {
  UNUSED_ARGS;
  wisp__wasi2_t *w = env;
  if (nargs != 1) return fail(cx, "exit: bad arguments");
  w->exit_status = args[0].of.var.disc == 0 ? 0 : 1;
  return fail(cx, "exit");
}

HOST_FN(do_exit_with_code) {
  UNUSED_ARGS;
  wisp__wasi2_t *w = env;
  if (nargs != 1) return fail(cx, "exit-with-code: bad arguments");
  w->exit_status = (int)(args[0].of.u & 0xff);
  return fail(cx, "exit");
}

/* get-stdin / get-stdout / get-stderr: env is the slot + 1 (the representation) */
HOST_FN(get_stdio) {
  UNUSED_ARGS;
  res[0].of.u = (uintptr_t)env;
  return 0;
}

/* ---- wasi:io/streams ---- */

/* The object of representation self->of.u if it is of kind `a` or `b`, else
 * NULL after setting a trap. */
static obj_t *obj_get(wisp__wasi2_t *w, wisp__cabi_t *cx, const cval_t *self, int a, int b) {
  uint64_t rep = self->of.u;
  if (rep < 1 || rep > w->nobjs || (w->objs[rep - 1].kind != a && w->objs[rep - 1].kind != b)) {
    fail(cx, "unknown resource representation");
    return NULL;
  }
  return &w->objs[rep - 1];
}

/* A new object (copied from *o): its representation, or 0 when out of memory. */
static uint32_t obj_new(wisp__wasi2_t *w, const obj_t *o) {
  uint32_t i = 3;
  while (i < w->nobjs && w->objs[i].kind != OBJ_FREE) i++;
  if (i >= w->nobjs) {
    if (w->nobjs == w->cap_objs) {
      uint32_t cap = w->cap_objs * 2;
      obj_t *grown = realloc(w->objs, sizeof *grown * cap);
      if (!grown) return 0;
      w->objs = grown;
      w->cap_objs = cap;
    }
    i = w->nobjs++;
  }
  w->objs[i] = *o;
  return i + 1;
}

static void obj_free(obj_t *o) {
  if (o->kind == OBJ_HOST_IN || o->kind == OBJ_HOST_OUT) {
    if (o->ops->drop) o->ops->drop(o->ctx);
    *o = (obj_t){.kind = OBJ_FREE, .fd = -1};
    return;
  }
  if (o->dir)
    closedir(o->dir);
  else if (o->kind != OBJ_STDIO && o->kind != OBJ_FREE && o->fd >= 0)
    close(o->fd);
  if (o->kind != OBJ_STDIO) *o = (obj_t){.kind = OBJ_FREE, .fd = -1};
}

/* The host fd of stream `self`, or -1 after setting a trap. */
static int stream_fd(wisp__wasi2_t *w, wisp__cabi_t *cx, const cval_t *self) {
  obj_t *o = obj_get(w, cx, self, OBJ_STDIO, OBJ_IN);
  if (!o) o = obj_get(w, cx, self, OBJ_OUT, OBJ_OUT);
  return o ? o->fd : -1;
}

static obj_t *stream_obj(wisp__wasi2_t *w, const cval_t *self) { return &w->objs[self->of.u - 1]; }

/* read(2) on a stream: files at their offset (pread), stdio as they come. */
static ssize_t stream_read_some(obj_t *o, uint8_t *buf, size_t n) {
  ssize_t got;
  do got = o->kind == OBJ_STDIO ? read(o->fd, buf, n) : pread(o->fd, buf, n, (off_t)o->offset);
  while (got < 0 && errno == EINTR);
  if (got > 0 && o->kind != OBJ_STDIO) o->offset += (uint64_t)got;
  return got;
}

/* ---- waiting: a blocking call that cannot go on yet returns
 * WISP__CHOST_BLOCKED with its wait record filled in (cinst.h): the guest is
 * suspended in a resumable call, or cinst waits on the thread; either way the
 * function is called again later. The deadline is checked here: a call still
 * blocked at the deadline traps. */

/* Blocks on `fd` for `events` (fd -1: none) until `wake_ns` (-1: none), capped
 * at the deadline; traps naming `what` once the deadline has passed. */
static int block_on(wisp__wasi2_t *w, wisp__cabi_t *cx, int fd, short events, int64_t wake_ns, const char *what) {
  int64_t deadline = w->cfg.deadline_ns;
  if (deadline >= 0 && mono_ns() >= deadline) {
    snprintf(cx->trap, sizeof cx->trap, "wasi2: deadline exceeded while blocked %s", what);
    return -1;
  }
  wisp__cwait_t *wait = wisp__chost_wait(cx);
  if (!wait) return fail(cx, "wasi2: a blocking call outside a component call");
  wait->fd = fd;
  wait->events = events;
  wait->wake_ns = deadline >= 0 && (wake_ns < 0 || wake_ns > deadline) ? deadline : wake_ns;
  return WISP__CHOST_BLOCKED;
}

/* Whether `fd` is ready for `events` now (or in error, or not a descriptor:
 * the operation then reports that). */
static bool fd_ready(int fd, short events) {
  struct pollfd p = {.fd = fd, .events = events};
  int n;
  do n = poll(&p, 1, 0);
  while (n < 0 && errno == EINTR);
  return n != 0;
}

/* 0 when `fd` is ready for `events`, else blocks on it. */
static int ready_or_block(wisp__wasi2_t *w, wisp__cabi_t *cx, int fd, short events, const char *what) {
  return fd_ready(fd, events) ? 0 : block_on(w, cx, fd, events, -1, what);
}

static bool is_regular(int fd) {
  struct stat st;
  return fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
}

/* Writes everything to stream `o`; 0 or the host errno. */
static int write_all(obj_t *o, const uint8_t *p, size_t len) {
  if (o->append) {
    struct stat st;
    if (fstat(o->fd, &st) < 0) return errno;
    o->offset = (uint64_t)st.st_size;
  }
  while (len > 0) {
    ssize_t n = o->kind == OBJ_STDIO ? write(o->fd, p, len) : pwrite(o->fd, p, len, (off_t)o->offset);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (o->kind != OBJ_STDIO) o->offset += (uint64_t)n;
    p += n;
    len -= (size_t)n;
  }
  return 0;
}


/* ---- streams backed by the embedder's callbacks (wasi2.h) ---- */

static uint32_t pollable_new(wisp__wasi2_t *w, int64_t ready_ns, int fd, short events);
static cval_t *result_ok_value(wisp__cabi_t *cx, cval_t *res);

/* The embedder's stream of representation self, or NULL when it is not one. */
static obj_t *host_stream(wisp__wasi2_t *w, const cval_t *self) {
  uint64_t rep = self->of.u;
  if (rep < 1 || rep > w->nobjs) return NULL;
  obj_t *o = &w->objs[rep - 1];
  return o->kind == OBJ_HOST_IN || o->kind == OBJ_HOST_OUT ? o : NULL;
}

static int host_error(wisp__cabi_t *cx, cval_t *res, int64_t r) {
  return result_stream_error(cx, res, r == WISP__WASI2_CLOSED ? 0 : (int)-r);
}

static int host_want(wisp__cabi_t *cx, const obj_t *o, int kind, const char *what) {
  if (o->kind == kind) return 0;
  snprintf(cx->trap, sizeof cx->trap, "%s on an %s stream", what, kind == OBJ_HOST_IN ? "output" : "input");
  return -1;
}

int wisp__wasi2_wait(wisp__wasi2_t *w, wisp__cabi_t *cx, int64_t until_ns) {
  if (w->cfg.deadline_ns >= 0 && until_ns > w->cfg.deadline_ns) {
    if (mono_ns() >= w->cfg.deadline_ns) return fail(cx, "wasi2: deadline exceeded while blocked on a stream");
    until_ns = w->cfg.deadline_ns;
  }
  if (!w->cfg.wait) return fail(cx, "wasi2: the guest waits for a stream that cannot become ready here");
  if (w->cfg.wait(w->cfg.wait_env, until_ns)) return fail(cx, "wasi2: the wait was cancelled");
  return 0;
}

/* A wait for an embedder's stream `o`: through its wait hook when it has one;
 * without, the call blocks (cinst.h) with the stream's ctx as the token. */
static int host_wait(wisp__wasi2_t *w, wisp__cabi_t *cx, obj_t *o);

static int host_check_write(wisp__cabi_t *cx, obj_t *o, cval_t *res) {
  if (host_want(cx, o, OBJ_HOST_OUT, "check-write")) return -1;
  int64_t n = o->ops->check_write(o->ctx);
  return n < 0 ? host_error(cx, res, n) : result_ok(cx, res, (uint64_t)n);
}

/* write (blocking false: at most what check-write permits, else a trap) and
 * blocking-write-and-flush / write-zeroes (bytes NULL: zeroes) */
static int host_write(wisp__wasi2_t *w, wisp__cabi_t *cx, obj_t *o, const uint8_t *bytes, uint64_t len,
                      bool blocking, cval_t *res) {
  static const uint8_t zeroes[4096];
  if (host_want(cx, o, OBJ_HOST_OUT, "write")) return -1;
  if (blocking && len > 4096) return fail(cx, "blocking-write-and-flush: more than 4096 bytes");
  int64_t n = o->ops->check_write(o->ctx);
  if (n >= 0 && !blocking && len > (uint64_t)n) return fail(cx, "write: more bytes than check-write permitted");
  wisp__cwait_t *wait = wisp__chost_wait(cx);
  uint64_t done = wait ? wait->progress : 0; /* written before an earlier attempt blocked */
  if (done > len) done = len;
  if (bytes) bytes += done;
  len -= done;
  while (n >= 0 && len > 0) {
    if (n == 0) {
      int rc = host_wait(w, cx, o);
      if (rc == WISP__CHOST_BLOCKED) wait->progress = done;
      if (rc) return rc;
    } else {
      size_t k = len < (uint64_t)n ? (size_t)len : (size_t)n;
      if (!bytes && k > sizeof zeroes) k = sizeof zeroes;
      int64_t r = o->ops->write(o->ctx, bytes ? bytes : zeroes, k);
      if (r < 0) return host_error(cx, res, r);
      if (bytes) bytes += k;
      len -= k;
      done += k;
      if (len == 0) break;
    }
    n = o->ops->check_write(o->ctx);
  }
  return n < 0 ? host_error(cx, res, n) : result_ok(cx, res, 0);
}

/* read / skip (out NULL), blocking or not */
static int host_read(wisp__wasi2_t *w, wisp__cabi_t *cx, obj_t *o, uint64_t len, bool blocking, bool skip,
                     cval_t *res) {
  if (host_want(cx, o, OBJ_HOST_IN, skip ? "skip" : "read")) return -1;
  uint64_t cap = skip ? 65536 : WASI2_MAX_BYTES;
  size_t want = (size_t)(len > cap ? cap : len);
  uint8_t *buf = wisp__arena_alloc(cx->arena, want ? want : 1);
  if (!buf) return fail(cx, "out of memory");
  int64_t r = 0;
  while (want > 0) {
    r = o->ops->read(o->ctx, buf, want);
    if (r < 0) return host_error(cx, res, r);
    if (r > 0 || !blocking) break;
    int rc = host_wait(w, cx, o);
    if (rc) return rc;
  }
  if (skip) return result_ok(cx, res, (uint64_t)r);
  cval_t *v = result_ok_value(cx, res);
  if (!v) return fail(cx, "out of memory");
  v->of.bytes.ptr = buf;
  v->of.bytes.len = (uint32_t)r;
  return 0;
}

static int host_wait(wisp__wasi2_t *w, wisp__cabi_t *cx, obj_t *o) {
  if (w->cfg.wait) return wisp__wasi2_wait(w, cx, INT64_MAX) ? -1 : 0;
  int rc = block_on(w, cx, -1, 0, -1, "on a stream");
  if (rc == WISP__CHOST_BLOCKED) wisp__chost_wait(cx)->token = o->ctx;
  return rc;
}

static uint32_t pollable_new_host(wisp__wasi2_t *w, bool (*ready)(void *ctx), void *ctx) {
  uint32_t rep = pollable_new(w, 0, -1, 0);
  if (rep) {
    w->polls[rep - 1].host = true;
    w->polls[rep - 1].ready = ready;
    w->polls[rep - 1].ctx = ctx;
  }
  return rep;
}

static int host_subscribe(wisp__wasi2_t *w, wisp__cabi_t *cx, obj_t *o, cval_t *res) {
  uint32_t rep = pollable_new_host(w, o->ops->ready, o->ctx);
  if (!rep) return fail(cx, "out of memory");
  res->of.u = rep;
  return 0;
}

uint32_t wisp__wasi2_stream_new(wisp__wasi2_t *w, bool output, const wisp__wasi2_stream_ops_t *ops, void *ctx) {
  obj_t o = {.kind = output ? OBJ_HOST_OUT : OBJ_HOST_IN, .fd = -1, .ops = ops, .ctx = ctx};
  return obj_new(w, &o);
}

uint32_t wisp__wasi2_pollable_new(wisp__wasi2_t *w, bool (*ready)(void *ctx), void *ctx) {
  return pollable_new_host(w, ready, ctx);
}

void wisp__wasi2_pollables_detach(wisp__wasi2_t *w, void *ctx) {
  for (uint32_t i = 0; i < w->npolls; i++)
    if (w->polls[i].used && w->polls[i].host && w->polls[i].ctx == ctx) {
      w->polls[i].ready = NULL;
      w->polls[i].ctx = NULL;
    }
}

/* the blocking variants of the stream functions: the embedder's streams
 * here, descriptors in the fd_ functions below */
HOST_FN(check_write);
HOST_FN(stream_write_zeroes);
HOST_FN(fd_blocking_write);
HOST_FN(fd_blocking_read);
HOST_FN(fd_blocking_skip);

HOST_FN(stream_blocking_write) {
  obj_t *o = nargs == 2 ? host_stream(env, &args[0]) : NULL;
  if (o) return host_write(env, cx, o, args[1].of.bytes.ptr, args[1].of.bytes.len, true, &res[0]);
  return fd_blocking_write(env, cx, args, nargs, res, nres);
}

HOST_FN(stream_blocking_zeroes) {
  obj_t *o = nargs == 2 ? host_stream(env, &args[0]) : NULL;
  if (o) {
    if (args[1].of.u > 4096) return fail(cx, "blocking-write-zeroes-and-flush: more than 4096 bytes");
    return host_write(env, cx, o, NULL, args[1].of.u, true, &res[0]);
  }
  return stream_write_zeroes(env, cx, args, nargs, res, nres);
}

HOST_FN(stream_blocking_read) {
  obj_t *o = nargs == 2 ? host_stream(env, &args[0]) : NULL;
  if (o) return host_read(env, cx, o, args[1].of.u, true, false, &res[0]);
  return fd_blocking_read(env, cx, args, nargs, res, nres);
}

HOST_FN(stream_blocking_skip) {
  obj_t *o = nargs == 2 ? host_stream(env, &args[0]) : NULL;
  if (o) return host_read(env, cx, o, args[1].of.u, true, true, &res[0]);
  return fd_blocking_skip(env, cx, args, nargs, res, nres);
}

HOST_FN(check_write) {
  UNUSED_ARGS;
  obj_t *host = nargs == 1 ? host_stream(env, &args[0]) : NULL;
  if (host) return host_check_write(cx, host, &res[0]);
  if (nargs != 1 || stream_fd(env, cx, &args[0]) < 0) return -1;
  return result_ok(cx, &res[0], WASI2_WRITE_BUDGET);
}

static const uint8_t zeroes[4096];

/* Writes `len` bytes (`data`, or zeroes when NULL) to stream `o`. Files take
 * everything at once. A pipe, terminal or socket takes them a chunk at a time
 * while it is writable; when it is not, the call blocks with the count written
 * so far in its progress word, and goes on from there when retried. */
static int write_blocking(wisp__wasi2_t *w, wisp__cabi_t *cx, obj_t *o, const uint8_t *data, uint64_t len,
                          cval_t *res) {
  wisp__cwait_t *wait = wisp__chost_wait(cx);
  uint64_t done = wait ? wait->progress : 0;
  bool whole = o->kind != OBJ_STDIO || is_regular(o->fd);
  while (done < len) {
    if (!whole) {
      int rc = ready_or_block(w, cx, o->fd, POLLOUT, "writing to a stream");
      if (rc) {
        if (wait) wait->progress = done;
        return rc;
      }
    }
    uint64_t n = len - done;
    if (!whole && n > 4096) n = 4096; /* what a writable pipe takes without blocking */
    if (!data && n > sizeof zeroes) n = sizeof zeroes;
    int e = write_all(o, data ? data + done : zeroes, (size_t)n);
    if (e) return result_stream_error(cx, &res[0], e);
    done += n;
  }
  return result_ok(cx, &res[0], 0);
}

/* write: the host takes everything check-write permitted at once (this may
 * block the thread on a full pipe: check-write does not look) */
HOST_FN(stream_write) {
  UNUSED_ARGS;
  obj_t *host = nargs == 2 ? host_stream(env, &args[0]) : NULL;
  if (host) return host_write(env, cx, host, args[1].of.bytes.ptr, args[1].of.bytes.len, false, &res[0]);
  int fd = nargs == 2 ? stream_fd(env, cx, &args[0]) : -1;
  if (fd < 0) return nargs == 2 ? -1 : fail(cx, "write: bad arguments");
  int e = write_all(stream_obj(env, &args[0]), args[1].of.bytes.ptr, args[1].of.bytes.len);
  return e ? result_stream_error(cx, &res[0], e) : result_ok(cx, &res[0], 0);
}

/* blocking-write-and-flush on a descriptor: waits (blocks) while a pipe is full */
HOST_FN(fd_blocking_write) {
  UNUSED_ARGS;
  int fd = nargs == 2 ? stream_fd(env, cx, &args[0]) : -1;
  if (fd < 0) return nargs == 2 ? -1 : fail(cx, "write: bad arguments");
  return write_blocking(env, cx, stream_obj(env, &args[0]), args[1].of.bytes.ptr, args[1].of.bytes.len, res);
}

/* write-zeroes / blocking-write-zeroes-and-flush */
HOST_FN(stream_write_zeroes) {
  UNUSED_ARGS;
  obj_t *host = nargs == 2 ? host_stream(env, &args[0]) : NULL;
  if (host) {
    int64_t n = host_want(cx, host, OBJ_HOST_OUT, "write-zeroes") ? 0 : host->ops->check_write(host->ctx);
    if (cx->trap[0]) return -1;
    if (n >= 0 && args[1].of.u > (uint64_t)n) return fail(cx, "write-zeroes: more bytes than check-write permitted");
    return host_write(env, cx, host, NULL, args[1].of.u, false, &res[0]);
  }
  int fd = nargs == 2 ? stream_fd(env, cx, &args[0]) : -1;
  if (fd < 0) return nargs == 2 ? -1 : fail(cx, "write-zeroes: bad arguments");
  return write_blocking(env, cx, stream_obj(env, &args[0]), NULL, args[1].of.u, res);
}

/* flush / blocking-flush: writes are not buffered */
HOST_FN(stream_flush) {
  UNUSED_ARGS;
  obj_t *host = nargs == 1 ? host_stream(env, &args[0]) : NULL;
  if (host) return host_check_write(cx, host, &res[0]); /* writes are handed over at once: ok unless closed */
  if (nargs != 1 || stream_fd(env, cx, &args[0]) < 0) return -1;
  return result_ok(cx, &res[0], 0);
}

/* read(len) / blocking-read(len): reads what is there, up to len; end of input
 * is `closed`. With nothing there yet, read returns no bytes and blocking-read
 * blocks. */
static int read_stream(wisp__wasi2_t *w, wisp__cabi_t *cx, const cval_t *args, uint32_t nargs, cval_t *res,
                       bool blocking) {
  int fd = nargs == 2 ? stream_fd(w, cx, &args[0]) : -1;
  if (fd < 0) return nargs == 2 ? -1 : fail(cx, "read: bad arguments");
  uint64_t want = args[1].of.u > WASI2_MAX_BYTES ? WASI2_MAX_BYTES : args[1].of.u;
  if (want > 0 && !fd_ready(fd, POLLIN)) {
    if (blocking) return block_on(w, cx, fd, POLLIN, -1, "reading a stream");
    want = 0;
  }
  uint8_t *buf = wisp__arena_alloc(cx->arena, want ? (size_t)want : 1);
  if (!buf) return fail(cx, "out of memory");
  ssize_t n = 0;
  if (want > 0) {
    n = stream_read_some(stream_obj(w, &args[0]), buf, (size_t)want);
    if (n <= 0) return result_stream_error(cx, &res[0], n == 0 ? 0 : errno);
  }
  res[0].of.var.disc = 0;
  res[0].of.var.payload = payload(cx, type_of(cx, res[0].type)->a);
  if (!res[0].of.var.payload) return fail(cx, "out of memory");
  res[0].of.var.payload->of.bytes.ptr = buf;
  res[0].of.var.payload->of.bytes.len = (uint32_t)n;
  return 0;
}

HOST_FN(stream_read) {
  UNUSED_ARGS;
  obj_t *host = nargs == 2 ? host_stream(env, &args[0]) : NULL;
  if (host) return host_read(env, cx, host, args[1].of.u, false, false, &res[0]);
  return read_stream(env, cx, args, nargs, res, false);
}

HOST_FN(fd_blocking_read) {
  UNUSED_ARGS;
  return read_stream(env, cx, args, nargs, res, true);
}

/* skip / blocking-skip(len) -> result<u64, stream-error> */
static int skip_stream(wisp__wasi2_t *w, wisp__cabi_t *cx, const cval_t *args, uint32_t nargs, cval_t *res,
                       bool blocking) {
  int fd = nargs == 2 ? stream_fd(w, cx, &args[0]) : -1;
  if (fd < 0) return nargs == 2 ? -1 : fail(cx, "skip: bad arguments");
  uint8_t buf[4096];
  size_t want = args[1].of.u < sizeof buf ? (size_t)args[1].of.u : sizeof buf;
  ssize_t n = 0;
  if (want > 0 && !fd_ready(fd, POLLIN)) {
    if (blocking) return block_on(w, cx, fd, POLLIN, -1, "reading a stream");
    want = 0;
  }
  if (want > 0) {
    n = stream_read_some(stream_obj(w, &args[0]), buf, want);
    if (n <= 0) return result_stream_error(cx, &res[0], n == 0 ? 0 : errno);
  }
  return result_ok(cx, &res[0], (uint64_t)n);
}

HOST_FN(stream_skip) {
  UNUSED_ARGS;
  obj_t *host = nargs == 2 ? host_stream(env, &args[0]) : NULL;
  if (host) return host_read(env, cx, host, args[1].of.u, false, true, &res[0]);
  return skip_stream(env, cx, args, nargs, res, false);
}

HOST_FN(fd_blocking_skip) {
  UNUSED_ARGS;
  return skip_stream(env, cx, args, nargs, res, true);
}

/* ---- wasi:io/error ---- */

HOST_FN(error_to_debug_string) {
  UNUSED_ARGS;
  if (nargs != 1) return fail(cx, "to-debug-string: bad arguments");
  const char *msg = strerror((int)args[0].of.u);
  res[0].of.str.ptr = msg;
  res[0].of.str.len = (uint32_t)strlen(msg);
  return 0;
}

/* filesystem-error-code(borrow<error>) -> option<error-code>: an error's
 * representation is the host errno of the failed operation (defined below) */
HOST_FN(filesystem_error_code);

/* ---- wasi:io/poll and pollables ---- */

/* A new pollable ready at `ready_ns` (0: now): its representation, or 0 on OOM. */
static uint32_t pollable_new(wisp__wasi2_t *w, int64_t ready_ns, int fd, short events) {
  uint32_t i = 0;
  while (i < w->npolls && w->polls[i].used) i++;
  if (i == w->npolls) {
    if (w->npolls == w->cap_polls) {
      uint32_t cap = w->cap_polls ? w->cap_polls * 2 : 8;
      pollable_t *grown = realloc(w->polls, sizeof *grown * cap);
      if (!grown) return 0;
      w->polls = grown;
      w->cap_polls = cap;
    }
    w->npolls++;
  }
  w->polls[i] = (pollable_t){.used = true, .ready_ns = ready_ns, .fd = fd, .events = events};
  return i + 1;
}

static pollable_t *pollable_get(wisp__wasi2_t *w, wisp__cabi_t *cx, uint64_t rep) {
  if (rep < 1 || rep > w->npolls || !w->polls[rep - 1].used) {
    fail(cx, "unknown pollable");
    return NULL;
  }
  return &w->polls[rep - 1];
}

/* [method]input-stream.subscribe / output-stream.subscribe: a host stream's
 * own pollable, else ready when the descriptor is readable / writable (at
 * once for files, poll(2) for pipes and terminals) */
static int stream_subscribe(wisp__wasi2_t *w, wisp__cabi_t *cx, const cval_t *self, int kind, short events,
                            cval_t *res) {
  obj_t *host = host_stream(w, self);
  if (host) return host_want(cx, host, kind, "subscribe") ? -1 : host_subscribe(w, cx, host, &res[0]);
  int fd = stream_fd(w, cx, self);
  if (fd < 0) return -1;
  int rep = (int)pollable_new(w, 0, fd, events);
  if (rep <= 0) return rep < 0 ? -1 : fail(cx, "out of memory");
  res[0].of.u = (uint32_t)rep;
  return 0;
}

HOST_FN(stream_subscribe_in) {
  UNUSED_ARGS;
  return stream_subscribe(env, cx, &args[0], OBJ_HOST_IN, POLLIN, res);
}

HOST_FN(stream_subscribe_out) {
  UNUSED_ARGS;
  return stream_subscribe(env, cx, &args[0], OBJ_HOST_OUT, POLLOUT, res);
}

HOST_FN(pollable_drop) {
  UNUSED_ARGS;
  wisp__wasi2_t *w = env;
  pollable_t *p = pollable_get(w, cx, args[0].of.u);
  if (!p) return -1;
  p->used = false;
  return 0;
}

static bool pollable_is_ready(const pollable_t *p, int64_t now) {
  if (p->host) return !p->ready || p->ready(p->ctx);
  if (p->fd < 0) return p->ready_ns <= now;
  return fd_ready(p->fd, p->events);
}

/* How often a wait on several descriptors looks at the others: the wait
 * record names one descriptor. */
#define POLL_RETRY_NS 10000000

/* 0 when one of reps[0..n) (pollable representations) is ready; else blocks
 * on the first descriptor among them and the earliest timer (retrying every
 * 10 ms when there are more descriptors), or traps at the deadline. */
static int wait_any(wisp__wasi2_t *w, wisp__cabi_t *cx, const cval_t *reps, uint32_t n) {
  for (;;) {
    int64_t now = mono_ns(), earliest = -1;
    int fd = -1;
    short events = 0;
    uint32_t nfds = 0, nhost = 0;
    void *token = NULL;
    for (uint32_t i = 0; i < n; i++) {
      pollable_t *p = pollable_get(w, cx, reps[i].of.u);
      if (!p) return -1;
      if (pollable_is_ready(p, now)) return 0;
      if (p->host) {
        if (nhost++ == 0) token = p->ctx;
      } else if (p->fd >= 0) {
        if (nfds++ == 0) {
          fd = p->fd;
          events = p->events;
        }
      } else if (earliest < 0 || p->ready_ns < earliest) {
        earliest = p->ready_ns;
      }
    }
    if (w->cfg.wait) {
      /* the embedder's wait hook (it runs other guests meanwhile);
       * descriptors are looked at again when it returns, at the latest
       * after 1 ms */
      int64_t until = earliest < 0 ? INT64_MAX : earliest;
      if (nfds && until > now + 1000000) until = now + 1000000;
      if (wisp__wasi2_wait(w, cx, until)) return -1;
      continue;
    }
    if ((nfds > 1 || (nfds && nhost)) && (earliest < 0 || earliest > now + POLL_RETRY_NS))
      earliest = now + POLL_RETRY_NS;
    if (fd < 0 && earliest < 0 && !nhost) return fail(cx, "poll: nothing to wait for");
    int rc = block_on(w, cx, fd, events, earliest, "in poll");
    if (rc == WISP__CHOST_BLOCKED) wisp__chost_wait(cx)->token = token;
    return rc;
  }
}

HOST_FN(pollable_ready) {
  UNUSED_ARGS;
  pollable_t *p = pollable_get(env, cx, args[0].of.u);
  if (!p) return -1;
  res[0].of.u = pollable_is_ready(p, mono_ns());
  return 0;
}

HOST_FN(pollable_block) {
  UNUSED_ARGS;
  return wait_any(env, cx, &args[0], 1);
}


/* poll(list<borrow<pollable>>) -> list<u32>: waits until one is ready, returns
 * the indices of all that are ready then */
HOST_FN(poll_list) {
  UNUSED_ARGS;
  uint32_t n = args[0].of.agg.len;
  if (n == 0) return fail(cx, "poll: an empty list");
  int rc = wait_any(env, cx, args[0].of.agg.items, n);
  if (rc) return rc;
  cval_t *items = list_items(cx, &res[0], n);
  if (!items) return fail(cx, "out of memory");
  int64_t now = mono_ns();
  uint32_t k = 0;
  for (uint32_t i = 0; i < n; i++)
    if (pollable_is_ready(pollable_get(env, cx, args[0].of.agg.items[i].of.u), now)) items[k++].of.u = i;
  res[0].of.agg.len = k;
  return 0;
}

/* ---- wasi:clocks ---- */

/* datetime { seconds: u64, nanoseconds: u32 } */
static int datetime(wisp__cabi_t *cx, cval_t *v, uint64_t sec, uint32_t nsec) {
  cval_t *f = fields_of(cx, v);
  if (!f) return fail(cx, "out of memory");
  f[0].of.u = sec;
  f[1].of.u = nsec;
  return 0;
}

HOST_FN(wall_now) {
  UNUSED_ARGS;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return datetime(cx, &res[0], (uint64_t)ts.tv_sec, (uint32_t)ts.tv_nsec);
}

HOST_FN(wall_resolution) {
  UNUSED_ARGS;
  struct timespec ts;
  clock_getres(CLOCK_REALTIME, &ts);
  return datetime(cx, &res[0], (uint64_t)ts.tv_sec, (uint32_t)ts.tv_nsec);
}

HOST_FN(mono_now) {
  UNUSED_ARGS;
  res[0].of.u = (uint64_t)mono_ns();
  return 0;
}

HOST_FN(mono_resolution) {
  UNUSED_ARGS;
  struct timespec ts;
  clock_getres(CLOCK_MONOTONIC, &ts);
  res[0].of.u = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
  return 0;
}

/* subscribe-instant(when) and subscribe-duration(how-long) */
static int mono_subscribe(wisp__wasi2_t *w, bool duration, wisp__cabi_t *cx, const cval_t *args, cval_t *res) {
  uint64_t t = args[0].of.u;
  if (duration) t = t > (uint64_t)(INT64_MAX - mono_ns()) ? (uint64_t)INT64_MAX : t + (uint64_t)mono_ns();
  if (t > (uint64_t)INT64_MAX) t = (uint64_t)INT64_MAX;
  uint32_t rep = pollable_new(w, t ? (int64_t)t : 1, -1, 0);
  if (!rep) return fail(cx, "out of memory");
  res[0].of.u = rep;
  return 0;
}

HOST_FN(mono_subscribe_instant) {
  UNUSED_ARGS;
  return mono_subscribe(env, false, cx, args, res);
}

HOST_FN(mono_subscribe_duration) {
  UNUSED_ARGS;
  return mono_subscribe(env, true, cx, args, res);
}

/* ---- wasi:random ---- */

static int fill_random(uint8_t *p, size_t len) {
  while (len > 0) {
    ssize_t n = getrandom(p, len, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

HOST_FN(random_bytes) {
  UNUSED_ARGS;
  uint64_t n = args[0].of.u;
  if (n > WASI2_MAX_BYTES) return fail(cx, "get-random-bytes: more than 64 MiB asked for");
  uint8_t *bytes = wisp__arena_alloc(cx->arena, n ? (size_t)n : 1);
  if (!bytes) return fail(cx, "out of memory");
  if (fill_random(bytes, (size_t)n)) return fail(cx, "get-random-bytes: getrandom failed");
  res[0].of.bytes.ptr = bytes;
  res[0].of.bytes.len = (uint32_t)n;
  return 0;
}

HOST_FN(random_u64) {
  UNUSED_ARGS;
  uint64_t v = 0;
  if (fill_random((uint8_t *)&v, sizeof v)) return fail(cx, "get-random-u64: getrandom failed");
  res[0].of.u = v;
  return 0;
}

HOST_FN(insecure_seed) {
  UNUSED_ARGS;
  uint64_t v[2] = {0, 0};
  if (fill_random((uint8_t *)v, sizeof v)) return fail(cx, "insecure-seed: getrandom failed");
  cval_t *f = fields_of(cx, &res[0]);
  if (!f) return fail(cx, "out of memory");
  f[0].of.u = v[0];
  f[1].of.u = v[1];
  return 0;
}

/* ---- wasi:filesystem ---- */

/* preview1 errno of the sandboxed walk (src/wasi) -> wasi:filesystem error-code */
static uint32_t code_of_p1(int e) {
  switch (e) {
    case E_ACCES: return 0;
    case E_AGAIN: return 1;
    case E_BADF: return 3;
    case E_EXIST: return 7;
    case E_INVAL: return 12;
    case E_ISDIR: return 14;
    case E_LOOP: return 15;
    case E_NAMETOOLONG: return 18;
    case E_NOENT: return 20;
    case E_NOMEM: return 22;
    case E_NOSPC: return 23;
    case E_NOTDIR: return 24;
    case E_NOTEMPTY: return 25;
    case E_NOTSUP: return 27;
    case E_PERM:
    case E_NOTCAPABLE: return 31;
    case E_ROFS: return 33;
    default: return 13; /* io */
  }
}

static uint32_t code_of_errno(int e) { return code_of_p1(wasi__errno(e)); }

HOST_FN(filesystem_error_code) {
  UNUSED_ARGS;
  if (nargs != 1) return fail(cx, "filesystem-error-code: bad arguments");
  res[0].of.var.disc = 0;
  res[0].of.var.payload = NULL;
  if (args[0].of.u == 0 || args[0].of.u > INT32_MAX) return 0;
  res[0].of.var.payload = payload(cx, type_of(cx, res[0].type)->a);
  if (!res[0].of.var.payload) return fail(cx, "out of memory");
  res[0].of.var.disc = 1;
  res[0].of.var.payload->of.u = code_of_errno((int)args[0].of.u);
  return 0;
}

/* err(error-code) of a result */
static int result_err(wisp__cabi_t *cx, cval_t *res, uint32_t code) {
  res->of.var.disc = 1;
  res->of.var.payload = payload(cx, type_of(cx, res->type)->b);
  if (!res->of.var.payload) return fail(cx, "out of memory");
  res->of.var.payload->of.u = code;
  return 0;
}

/* ok(payload) of a result, the payload left for the caller to fill: NULL on OOM */
static cval_t *result_ok_value(wisp__cabi_t *cx, cval_t *res) {
  res->of.var.disc = 0;
  res->of.var.payload = payload(cx, type_of(cx, res->type)->a);
  return res->of.var.payload;
}

static uint32_t type_code(mode_t mode) {
  if (S_ISBLK(mode)) return 1;
  if (S_ISCHR(mode)) return 2;
  if (S_ISDIR(mode)) return 3;
  if (S_ISFIFO(mode)) return 4;
  if (S_ISLNK(mode)) return 5;
  if (S_ISREG(mode)) return 6;
  if (S_ISSOCK(mode)) return 7;
  return 0;
}

static int some_datetime(wisp__cabi_t *cx, cval_t *opt, const struct timespec *ts) {
  opt->of.var.disc = 1;
  opt->of.var.payload = payload(cx, type_of(cx, opt->type)->a);
  if (!opt->of.var.payload) return fail(cx, "out of memory");
  return datetime(cx, opt->of.var.payload, (uint64_t)ts->tv_sec, (uint32_t)ts->tv_nsec);
}

/* ok(descriptor-stat) from a host stat */
static int result_stat(wisp__cabi_t *cx, cval_t *res, const struct stat *st) {
  cval_t *v = result_ok_value(cx, res);
  cval_t *f = v ? fields_of(cx, v) : NULL;
  if (!f) return fail(cx, "out of memory");
  f[0].of.u = type_code(st->st_mode);
  f[1].of.u = (uint64_t)st->st_nlink;
  f[2].of.u = (uint64_t)st->st_size;
  if (some_datetime(cx, &f[3], &st->st_atim) || some_datetime(cx, &f[4], &st->st_mtim) ||
      some_datetime(cx, &f[5], &st->st_ctim))
    return -1;
  return 0;
}

/* ok(metadata-hash-value) from a host stat: device and inode */
static int result_hash(wisp__cabi_t *cx, cval_t *res, const struct stat *st) {
  cval_t *v = result_ok_value(cx, res);
  cval_t *f = v ? fields_of(cx, v) : NULL;
  if (!f) return fail(cx, "out of memory");
  f[0].of.u = (uint64_t)st->st_ino;
  f[1].of.u = (uint64_t)st->st_dev;
  return 0;
}

static obj_t *desc_get(wisp__wasi2_t *w, wisp__cabi_t *cx, const cval_t *self) {
  return obj_get(w, cx, self, OBJ_DESC, OBJ_DESC);
}

/* get-directories -> list<tuple<descriptor, string>>: a new descriptor per preopen */
HOST_FN(get_directories) {
  UNUSED_ARGS;
  wisp__wasi2_t *w = env;
  cval_t *items = list_items(cx, &res[0], (uint32_t)w->cfg.npreopens);
  if (!items) return fail(cx, "out of memory");
  for (size_t i = 0; i < w->cfg.npreopens; i++) {
    cval_t *pair = fields_of(cx, &items[i]);
    if (!pair) return fail(cx, "out of memory");
    int fd = fcntl(w->preopen_fds[i], F_DUPFD_CLOEXEC, 0);
    obj_t o = {.kind = OBJ_DESC, .read_only = w->cfg.preopens[i].read_only, .fd = fd};
    uint32_t rep = fd >= 0 ? obj_new(w, &o) : 0;
    if (!rep) {
      if (fd >= 0) close(fd);
      return fail(cx, "get-directories: out of descriptors");
    }
    pair[0].of.u = rep;
    pair[1].of.str.ptr = w->cfg.preopens[i].guest_path;
    pair[1].of.str.len = (uint32_t)strlen(w->cfg.preopens[i].guest_path);
  }
  return 0;
}

HOST_FN(desc_drop) {
  UNUSED_ARGS;
  obj_t *o = obj_get(env, cx, &args[0], OBJ_DESC, OBJ_DIRSTREAM);
  if (!o) return -1;
  obj_free(o);
  return 0;
}

HOST_FN(stream_drop) {
  UNUSED_ARGS;
  obj_t *host = host_stream(env, &args[0]);
  if (host) {
    if (args[0].of.u <= 3) return 0; /* stdio slots stay */
    wisp__wasi2_pollables_detach(env, host->ctx);
    obj_free(host);
    return 0;
  }
  obj_t *o = obj_get(env, cx, &args[0], OBJ_IN, OBJ_OUT);
  if (o) obj_free(o); /* stdio streams are never freed */
  return 0;
}

HOST_FN(desc_get_type) {
  UNUSED_ARGS;
  obj_t *d = desc_get(env, cx, &args[0]);
  if (!d) return -1;
  struct stat st;
  if (fstat(d->fd, &st) < 0) return result_err(cx, &res[0], code_of_errno(errno));
  cval_t *v = result_ok_value(cx, &res[0]);
  if (!v) return fail(cx, "out of memory");
  v->of.u = type_code(st.st_mode);
  return 0;
}

/* descriptor-flags: read 1, write 2, file-integrity-sync 4, data-integrity-sync 8,
 * requested-write-sync 16 (as given to open-at), mutate-directory 32 */
HOST_FN(desc_get_flags) {
  UNUSED_ARGS;
  obj_t *d = desc_get(env, cx, &args[0]);
  if (!d) return -1;
  int fl = fcntl(d->fd, F_GETFL);
  struct stat st;
  if (fl < 0 || fstat(d->fd, &st) < 0) return result_err(cx, &res[0], code_of_errno(errno));
  uint64_t flags = 0;
  if ((fl & O_ACCMODE) != O_WRONLY) flags |= 1;
  if ((fl & O_ACCMODE) != O_RDONLY) flags |= 2;
  flags |= d->sync;
  if (S_ISDIR(st.st_mode) && !d->read_only) flags |= 32;
  cval_t *v = result_ok_value(cx, &res[0]);
  if (!v) return fail(cx, "out of memory");
  v->of.u = flags;
  return 0;
}

HOST_FN(desc_stat) {
  UNUSED_ARGS;
  obj_t *d = desc_get(env, cx, &args[0]);
  if (!d) return -1;
  struct stat st;
  if (fstat(d->fd, &st) < 0) return result_err(cx, &res[0], code_of_errno(errno));
  return result_stat(cx, &res[0], &st);
}

HOST_FN(desc_hash) {
  UNUSED_ARGS;
  obj_t *d = desc_get(env, cx, &args[0]);
  if (!d) return -1;
  struct stat st;
  if (fstat(d->fd, &st) < 0) return result_err(cx, &res[0], code_of_errno(errno));
  return result_hash(cx, &res[0], &st);
}

/* stat of (descriptor, path-flags, path) through the sandboxed walk: 0 and *st,
 * or an error-code + 1. */
static uint32_t stat_at(wisp__wasi2_t *w, wisp__cabi_t *cx, const cval_t *args, struct stat *st,
                        int *trapped) {
  obj_t *d = desc_get(w, cx, &args[0]);
  if (!d) {
    *trapped = 1;
    return 0;
  }
  wasi_resolved_t r;
  int rc = wasi__resolve(d->fd, args[2].of.str.ptr, args[2].of.str.len, (args[1].of.u & 1) != 0, &r);
  if (rc) return code_of_p1(rc) + 1;
  int e = fstatat(r.dirfd, r.name, st, AT_SYMLINK_NOFOLLOW) < 0 ? errno : 0;
  if (!e && r.trailing_slash && !S_ISDIR(st->st_mode)) e = ENOTDIR; /* "file/" */
  wasi__resolved_close(&r);
  return e ? code_of_errno(e) + 1 : 0;
}

HOST_FN(desc_stat_at) {
  UNUSED_ARGS;
  struct stat st;
  int trapped = 0;
  uint32_t e = nargs == 3 ? stat_at(env, cx, args, &st, &trapped) : 0;
  if (nargs != 3) return fail(cx, "stat-at: bad arguments");
  if (trapped) return -1;
  return e ? result_err(cx, &res[0], e - 1) : result_stat(cx, &res[0], &st);
}

HOST_FN(desc_hash_at) {
  UNUSED_ARGS;
  struct stat st;
  int trapped = 0;
  uint32_t e = nargs == 3 ? stat_at(env, cx, args, &st, &trapped) : 0;
  if (nargs != 3) return fail(cx, "metadata-hash-at: bad arguments");
  if (trapped) return -1;
  return e ? result_err(cx, &res[0], e - 1) : result_hash(cx, &res[0], &st);
}

/* open-at(path-flags, path, open-flags {create 1, directory 2, exclusive 4,
 * truncate 8}, descriptor-flags {read 1, write 2, file-integrity-sync 4 (O_SYNC),
 * data-integrity-sync 8 (O_DSYNC), requested-write-sync 16 (O_RSYNC),
 * mutate-directory 32}) */
HOST_FN(desc_open_at) {
  UNUSED_ARGS;
  wisp__wasi2_t *w = env;
  if (nargs != 5) return fail(cx, "open-at: bad arguments");
  obj_t *d = desc_get(w, cx, &args[0]);
  if (!d) return -1;
  uint64_t oflags = args[3].of.u, dflags = args[4].of.u;
  bool want_write = (dflags & 2) != 0, want_read = (dflags & 1) != 0;
  wasi_resolved_t r;
  int rc = wasi__resolve(d->fd, args[2].of.str.ptr, args[2].of.str.len, (args[1].of.u & 1) != 0, &r);
  if (rc) return result_err(cx, &res[0], code_of_p1(rc));
  if (d->read_only && (want_write || (oflags & (1 | 8)) || (dflags & 32))) {
    struct stat st;
    bool exists = fstatat(r.dirfd, r.name, &st, AT_SYMLINK_NOFOLLOW) == 0;
    wasi__resolved_close(&r);
    return result_err(cx, &res[0], (oflags & 1) && (oflags & 4) && exists ? 7 : 33);
  }
  int hf = O_CLOEXEC | O_NOFOLLOW | O_NOCTTY;
  if ((oflags & 2) || r.trailing_slash) hf |= O_DIRECTORY;
  if (oflags & 1) hf |= O_CREAT;
  if (oflags & 4) hf |= O_EXCL;
  if (oflags & 8) hf |= O_TRUNC;
  if (dflags & 4) hf |= O_SYNC;
  if (dflags & 8) hf |= O_DSYNC;
  if (dflags & 16) hf |= O_RSYNC;
  hf |= want_write ? (want_read ? O_RDWR : O_WRONLY) : O_RDONLY;
  int fd;
  do fd = openat(r.dirfd, r.name, hf, 0666);
  while (fd < 0 && errno == EINTR);
  int e = fd < 0 ? errno : 0;
  wasi__resolved_close(&r);
  if (fd < 0) return result_err(cx, &res[0], code_of_errno(e));
  obj_t o = {.kind = OBJ_DESC, .read_only = d->read_only, .sync = (uint8_t)(dflags & (4 | 8 | 16)), .fd = fd};
  uint32_t rep = obj_new(w, &o);
  if (!rep) {
    close(fd);
    return result_err(cx, &res[0], 22);
  }
  cval_t *v = result_ok_value(cx, &res[0]);
  if (!v) return fail(cx, "out of memory");
  v->of.u = rep;
  return 0;
}

/* read-via-stream(offset) / write-via-stream(offset) / append-via-stream():
 * a stream on its own copy of the descriptor; env picks the kind */
static int desc_stream(wisp__wasi2_t *w, wisp__cabi_t *cx, const cval_t *args, uint32_t nargs, cval_t *res,
                       int kind, bool append) {
  obj_t *d = nargs >= 1 ? desc_get(w, cx, &args[0]) : NULL;
  if (!d) return nargs >= 1 ? -1 : fail(cx, "stream: bad arguments");
  int fd = fcntl(d->fd, F_DUPFD_CLOEXEC, 0);
  if (fd < 0) return result_err(cx, &res[0], code_of_errno(errno));
  obj_t o = {.kind = (uint8_t)kind, .append = append, .fd = fd, .offset = nargs >= 2 ? args[1].of.u : 0};
  uint32_t rep = obj_new(w, &o);
  if (!rep) {
    close(fd);
    return result_err(cx, &res[0], 22);
  }
  cval_t *v = result_ok_value(cx, &res[0]);
  if (!v) return fail(cx, "out of memory");
  v->of.u = rep;
  return 0;
}

HOST_FN(desc_read_via_stream) {
  UNUSED_ARGS;
  return desc_stream(env, cx, args, nargs, res, OBJ_IN, false);
}

HOST_FN(desc_write_via_stream) {
  UNUSED_ARGS;
  return desc_stream(env, cx, args, nargs, res, OBJ_OUT, false);
}

HOST_FN(desc_append_via_stream) {
  UNUSED_ARGS;
  return desc_stream(env, cx, args, nargs, res, OBJ_OUT, true);
}

/* read-directory -> directory-entry-stream (entries other than . and ..) */
HOST_FN(desc_read_directory) {
  UNUSED_ARGS;
  wisp__wasi2_t *w = env;
  obj_t *d = desc_get(w, cx, &args[0]);
  if (!d) return -1;
  int fd = openat(d->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return result_err(cx, &res[0], code_of_errno(errno));
  DIR *dir = fdopendir(fd);
  if (!dir) {
    int e = errno;
    close(fd);
    return result_err(cx, &res[0], code_of_errno(e));
  }
  obj_t o = {.kind = OBJ_DIRSTREAM, .fd = fd, .dir = dir};
  uint32_t rep = obj_new(w, &o);
  if (!rep) {
    closedir(dir);
    return result_err(cx, &res[0], 22);
  }
  cval_t *v = result_ok_value(cx, &res[0]);
  if (!v) return fail(cx, "out of memory");
  v->of.u = rep;
  return 0;
}

/* read-directory-entry -> result<option<directory-entry>, error-code> */
HOST_FN(dir_read_entry) {
  UNUSED_ARGS;
  obj_t *o = obj_get(env, cx, &args[0], OBJ_DIRSTREAM, OBJ_DIRSTREAM);
  if (!o) return -1;
  struct dirent *e;
  do {
    errno = 0;
    e = readdir(o->dir);
  } while (e && (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0));
  if (!e && errno) return result_err(cx, &res[0], code_of_errno(errno));
  cval_t *opt = result_ok_value(cx, &res[0]);
  if (!opt) return fail(cx, "out of memory");
  opt->of.var.disc = e ? 1 : 0;
  opt->of.var.payload = NULL;
  if (!e) return 0;
  opt->of.var.payload = payload(cx, type_of(cx, opt->type)->a);
  cval_t *f = opt->of.var.payload ? fields_of(cx, opt->of.var.payload) : NULL;
  size_t len = strlen(e->d_name);
  char *name = wisp__arena_alloc(cx->arena, len + 1);
  if (!f || !name) return fail(cx, "out of memory");
  memcpy(name, e->d_name, len + 1);
  static const uint8_t kinds[] = {
      [DT_BLK] = 1, [DT_CHR] = 2, [DT_DIR] = 3, [DT_FIFO] = 4, [DT_LNK] = 5, [DT_REG] = 6, [DT_SOCK] = 7};
  f[0].of.u = e->d_type < sizeof kinds ? kinds[e->d_type] : 0;
  f[1].of.str.ptr = name;
  f[1].of.str.len = (uint32_t)len;
  return 0;
}

static bool exists_at(int dirfd, const char *name) {
  struct stat st;
  return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static bool is_link_at(int dirfd, const char *name) {
  struct stat st;
  return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode);
}

static bool is_dir_at(int dirfd, const char *name) {
  struct stat st;
  return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

/* Resolves args[path_arg] beneath descriptor args[0]: 0 and *r (close it), an
 * error-code + 1, or -1 after a trap. `write` refuses beneath a read-only preopen. */
static int resolve_at(wisp__wasi2_t *w, wisp__cabi_t *cx, const cval_t *self, const cval_t *path, bool write,
                      wasi_resolved_t *r) {
  obj_t *d = desc_get(w, cx, self);
  if (!d) return -1;
  if (write && d->read_only) return 33 + 1;
  int rc = wasi__resolve(d->fd, path->of.str.ptr, path->of.str.len, false, r);
  return rc ? (int)code_of_p1(rc) + 1 : 0;
}

/* ok(()) when rc is 0, else err(the error-code of errno e) */
static int result_unit(wisp__cabi_t *cx, cval_t *res, int rc, int e) {
  return rc < 0 ? result_err(cx, res, code_of_errno(e)) : result_ok(cx, res, 0);
}

HOST_FN(desc_create_directory_at) {
  UNUSED_ARGS;
  wasi_resolved_t r;
  int rc = nargs == 2 ? resolve_at(env, cx, &args[0], &args[1], true, &r) : fail(cx, "bad arguments");
  if (rc) return rc < 0 ? -1 : result_err(cx, &res[0], (uint32_t)rc - 1);
  rc = mkdirat(r.dirfd, r.name, 0777);
  int e = errno;
  wasi__resolved_close(&r);
  return result_unit(cx, &res[0], rc, e);
}

HOST_FN(desc_unlink_file_at) {
  UNUSED_ARGS;
  wasi_resolved_t r;
  int rc = nargs == 2 ? resolve_at(env, cx, &args[0], &args[1], true, &r) : fail(cx, "bad arguments");
  if (rc) return rc < 0 ? -1 : result_err(cx, &res[0], (uint32_t)rc - 1);
  /* "name/": a directory is is-directory (as unlink(2) says), a file not-directory */
  if (r.trailing_slash)
    rc = (errno = is_dir_at(r.dirfd, r.name) ? EISDIR : (exists_at(r.dirfd, r.name) ? ENOTDIR : ENOENT), -1);
  else
    rc = unlinkat(r.dirfd, r.name, 0);
  int e = errno;
  wasi__resolved_close(&r);
  return result_unit(cx, &res[0], rc, e);
}

HOST_FN(desc_remove_directory_at) {
  UNUSED_ARGS;
  wasi_resolved_t r;
  int rc = nargs == 2 ? resolve_at(env, cx, &args[0], &args[1], true, &r) : fail(cx, "bad arguments");
  if (rc) return rc < 0 ? -1 : result_err(cx, &res[0], (uint32_t)rc - 1);
  if (r.trailing_slash && is_link_at(r.dirfd, r.name))
    rc = (errno = ENOTDIR, -1); /* as rmdir(2) */
  else
    rc = unlinkat(r.dirfd, r.name, AT_REMOVEDIR);
  int e = errno;
  wasi__resolved_close(&r);
  return result_unit(cx, &res[0], rc, e);
}

/* rename-at(old-path, new-descriptor, new-path) */
HOST_FN(desc_rename_at) {
  UNUSED_ARGS;
  if (nargs != 4) return fail(cx, "rename-at: bad arguments");
  wasi_resolved_t from, to;
  int rc = resolve_at(env, cx, &args[0], &args[1], true, &from);
  if (rc) return rc < 0 ? -1 : result_err(cx, &res[0], (uint32_t)rc - 1);
  rc = resolve_at(env, cx, &args[2], &args[3], true, &to);
  if (rc) {
    wasi__resolved_close(&from);
    return rc < 0 ? -1 : result_err(cx, &res[0], (uint32_t)rc - 1);
  }
  if ((from.trailing_slash || to.trailing_slash) && !is_dir_at(from.dirfd, from.name))
    rc = (errno = exists_at(from.dirfd, from.name) ? ENOTDIR : ENOENT, -1); /* "file/" */
  else
    rc = renameat(from.dirfd, from.name, to.dirfd, to.name);
  int e = errno;
  wasi__resolved_close(&from);
  wasi__resolved_close(&to);
  return result_unit(cx, &res[0], rc, e);
}

/* link-at(old-path-flags, old-path, new-descriptor, new-path): both paths
 * walked in the sandbox; the old one's final link followed only when asked */
HOST_FN(desc_link_at) {
  UNUSED_ARGS;
  if (nargs != 5) return fail(cx, "link-at: bad arguments");
  obj_t *d = desc_get(env, cx, &args[0]);
  if (!d) return -1;
  if (d->read_only) return result_err(cx, &res[0], 33);
  wasi_resolved_t from, to;
  int rc = wasi__resolve(d->fd, args[2].of.str.ptr, args[2].of.str.len, (args[1].of.u & 1) != 0, &from);
  if (rc) return result_err(cx, &res[0], code_of_p1(rc));
  rc = resolve_at(env, cx, &args[3], &args[4], true, &to);
  if (rc) {
    wasi__resolved_close(&from);
    return rc < 0 ? -1 : result_err(cx, &res[0], (uint32_t)rc - 1);
  }
  if (from.trailing_slash) /* "file/" names a directory that is not there; directories cannot be linked */
    rc = (errno = is_dir_at(from.dirfd, from.name) ? EPERM : (exists_at(from.dirfd, from.name) ? ENOTDIR : ENOENT), -1);
  else if (to.trailing_slash) /* as linkat(2) reports it */
    rc = (errno = exists_at(to.dirfd, to.name) ? EEXIST : ENOENT, -1);
  else
    rc = linkat(from.dirfd, from.name, to.dirfd, to.name, 0);
  int e = errno;
  wasi__resolved_close(&from);
  wasi__resolved_close(&to);
  return result_unit(cx, &res[0], rc, e);
}

HOST_FN(desc_readlink_at) {
  UNUSED_ARGS;
  wasi_resolved_t r;
  int rc = nargs == 2 ? resolve_at(env, cx, &args[0], &args[1], false, &r) : fail(cx, "bad arguments");
  if (rc) return rc < 0 ? -1 : result_err(cx, &res[0], (uint32_t)rc - 1);
  char *target = wisp__arena_alloc(cx->arena, 4096);
  if (!target) {
    wasi__resolved_close(&r);
    return fail(cx, "out of memory");
  }
  ssize_t n = readlinkat(r.dirfd, r.name, target, 4096);
  int e = errno;
  wasi__resolved_close(&r);
  if (n < 0) return result_err(cx, &res[0], code_of_errno(e));
  cval_t *v = result_ok_value(cx, &res[0]);
  if (!v) return fail(cx, "out of memory");
  v->of.str.ptr = target;
  v->of.str.len = (uint32_t)n;
  return 0;
}

/* symlink-at(old-path, new-path): the target must stay relative (the walk
 * would refuse to follow an absolute one anyway) */
HOST_FN(desc_symlink_at) {
  UNUSED_ARGS;
  if (nargs != 3) return fail(cx, "symlink-at: bad arguments");
  if (args[1].of.str.len == 0 || args[1].of.str.ptr[0] == '/' ||
      memchr(args[1].of.str.ptr, 0, args[1].of.str.len))
    return result_err(cx, &res[0], 31);
  wasi_resolved_t r;
  int rc = resolve_at(env, cx, &args[0], &args[2], true, &r);
  if (rc) return rc < 0 ? -1 : result_err(cx, &res[0], (uint32_t)rc - 1);
  char *target = wisp__arena_alloc(cx->arena, (size_t)args[1].of.str.len + 1);
  if (!target) {
    wasi__resolved_close(&r);
    return fail(cx, "out of memory");
  }
  memcpy(target, args[1].of.str.ptr, args[1].of.str.len);
  target[args[1].of.str.len] = 0;
  if (r.trailing_slash) /* "link/": a symlink is never a directory */
    rc = (errno = exists_at(r.dirfd, r.name) ? EEXIST : ENOENT, -1);
  else
    rc = symlinkat(target, r.dirfd, r.name);
  int e = errno;
  wasi__resolved_close(&r);
  return result_unit(cx, &res[0], rc, e);
}

HOST_FN(desc_set_size) {
  UNUSED_ARGS;
  obj_t *d = nargs == 2 ? desc_get(env, cx, &args[0]) : NULL;
  if (!d) return -1;
  if (d->read_only) return result_err(cx, &res[0], 33);
  int rc = ftruncate(d->fd, (off_t)args[1].of.u);
  return result_unit(cx, &res[0], rc, errno);
}

/* sync / sync-data */
HOST_FN(desc_sync) {
  UNUSED_ARGS;
  obj_t *d = desc_get(env, cx, &args[0]);
  if (!d) return -1;
  int rc = fsync(d->fd);
  return result_unit(cx, &res[0], rc < 0 && errno == EINVAL ? 0 : rc, errno);
}

/* advise: accepted, nothing done */
HOST_FN(desc_advise) {
  UNUSED_ARGS;
  if (!desc_get(env, cx, &args[0])) return -1;
  return result_ok(cx, &res[0], 0);
}

HOST_FN(desc_is_same_object) {
  UNUSED_ARGS;
  obj_t *a = nargs == 2 ? desc_get(env, cx, &args[0]) : NULL;
  obj_t *b = a ? desc_get(env, cx, &args[1]) : NULL;
  if (!b) return -1;
  struct stat sa, sb;
  res[0].of.u =
      fstat(a->fd, &sa) == 0 && fstat(b->fd, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
  return 0;
}

/* read(length, offset) -> result<tuple<list<u8>, bool>, error-code>: bool = end of file */
HOST_FN(desc_read) {
  UNUSED_ARGS;
  obj_t *d = nargs == 3 ? desc_get(env, cx, &args[0]) : NULL;
  if (!d) return -1;
  uint64_t want = args[1].of.u > WASI2_MAX_BYTES ? WASI2_MAX_BYTES : args[1].of.u;
  uint8_t *buf = wisp__arena_alloc(cx->arena, want ? (size_t)want : 1);
  if (!buf) return fail(cx, "out of memory");
  ssize_t n;
  do n = pread(d->fd, buf, (size_t)want, (off_t)args[2].of.u);
  while (n < 0 && errno == EINTR);
  if (n < 0) return result_err(cx, &res[0], code_of_errno(errno));
  cval_t *v = result_ok_value(cx, &res[0]);
  cval_t *f = v ? fields_of(cx, v) : NULL;
  if (!f) return fail(cx, "out of memory");
  f[0].of.bytes.ptr = buf;
  f[0].of.bytes.len = (uint32_t)n;
  f[1].of.u = n == 0 && want > 0;
  return 0;
}

/* write(buffer, offset) -> result<filesize, error-code> */
HOST_FN(desc_write) {
  UNUSED_ARGS;
  obj_t *d = nargs == 3 ? desc_get(env, cx, &args[0]) : NULL;
  if (!d) return -1;
  ssize_t n;
  do n = pwrite(d->fd, args[1].of.bytes.ptr, args[1].of.bytes.len, (off_t)args[2].of.u);
  while (n < 0 && errno == EINTR);
  if (n < 0) return result_err(cx, &res[0], code_of_errno(errno));
  return result_ok(cx, &res[0], (uint64_t)n);
}

/* new-timestamp { no-change, now, timestamp(datetime) } -> a utimensat time */
static struct timespec new_timestamp(const cval_t *v) {
  if (v->of.var.disc == 0 || (v->of.var.disc == 2 && !v->of.var.payload))
    return (struct timespec){.tv_nsec = UTIME_OMIT};
  if (v->of.var.disc == 1) return (struct timespec){.tv_nsec = UTIME_NOW};
  const cval_t *f = v->of.var.payload->of.agg.items;
  uint64_t ns = f[1].of.u > 999999999 ? 999999999 : f[1].of.u;
  return (struct timespec){.tv_sec = (time_t)f[0].of.u, .tv_nsec = (long)ns};
}

HOST_FN(desc_set_times) {
  UNUSED_ARGS;
  obj_t *d = nargs == 3 ? desc_get(env, cx, &args[0]) : NULL;
  if (!d) return nargs == 3 ? -1 : fail(cx, "set-times: bad arguments");
  if (d->read_only) return result_err(cx, &res[0], 33);
  struct timespec ts[2] = {new_timestamp(&args[1]), new_timestamp(&args[2])};
  int rc = futimens(d->fd, ts);
  return result_unit(cx, &res[0], rc, errno);
}

/* set-times-at(path-flags, path, atime, mtime): the walk follows the final
 * link itself when asked, so the host call never follows one */
HOST_FN(desc_set_times_at) {
  UNUSED_ARGS;
  if (nargs != 5) return fail(cx, "set-times-at: bad arguments");
  obj_t *d = desc_get(env, cx, &args[0]);
  if (!d) return -1;
  if (d->read_only) return result_err(cx, &res[0], 33);
  wasi_resolved_t r;
  int rc = wasi__resolve(d->fd, args[2].of.str.ptr, args[2].of.str.len, (args[1].of.u & 1) != 0, &r);
  if (rc) return result_err(cx, &res[0], code_of_p1(rc));
  struct timespec ts[2] = {new_timestamp(&args[3]), new_timestamp(&args[4])};
  rc = utimensat(r.dirfd, r.name, ts, AT_SYMLINK_NOFOLLOW);
  int e = errno;
  wasi__resolved_close(&r);
  return result_unit(cx, &res[0], rc, e);
}

/* ---- the table of implemented functions ---- */

enum { ENV_HOST, ENV_STDIN, ENV_STDOUT, ENV_STDERR, ENV_NONE };

typedef struct impl {
  const char *iface, *name;
  wisp__chost_fn_t fn;
  uint8_t env;
} impl_t;

static const impl_t impls[] = {
    {"wasi:cli/environment@0.2.0", "get-arguments", get_arguments, ENV_HOST},
    {"wasi:cli/environment@0.2.0", "get-environment", get_environment, ENV_HOST},
    {"wasi:cli/environment@0.2.0", "initial-cwd", none, ENV_NONE},
    {"wasi:cli/exit@0.2.0", "exit", do_exit, ENV_HOST},
    {"wasi:cli/exit@0.2.0", "exit-with-code", do_exit_with_code, ENV_HOST},
    {"wasi:cli/stdin@0.2.0", "get-stdin", get_stdio, ENV_STDIN},
    {"wasi:cli/stdout@0.2.0", "get-stdout", get_stdio, ENV_STDOUT},
    {"wasi:cli/stderr@0.2.0", "get-stderr", get_stdio, ENV_STDERR},
    {"wasi:cli/terminal-stdin@0.2.0", "get-terminal-stdin", none, ENV_NONE},
    {"wasi:cli/terminal-stdout@0.2.0", "get-terminal-stdout", none, ENV_NONE},
    {"wasi:cli/terminal-stderr@0.2.0", "get-terminal-stderr", none, ENV_NONE},
    {"wasi:cli/terminal-input@0.2.0", "[resource-drop]terminal-input", do_nothing, ENV_NONE},
    {"wasi:cli/terminal-output@0.2.0", "[resource-drop]terminal-output", do_nothing, ENV_NONE},
    {"wasi:io/error@0.2.0", "[method]error.to-debug-string", error_to_debug_string, ENV_NONE},
    {"wasi:io/error@0.2.0", "[resource-drop]error", do_nothing, ENV_NONE},
    {"wasi:io/poll@0.2.0", "[method]pollable.ready", pollable_ready, ENV_HOST},
    {"wasi:io/poll@0.2.0", "[method]pollable.block", pollable_block, ENV_HOST},
    {"wasi:io/poll@0.2.0", "[resource-drop]pollable", pollable_drop, ENV_HOST},
    {"wasi:io/poll@0.2.0", "poll", poll_list, ENV_HOST},
    {"wasi:io/streams@0.2.0", "[method]output-stream.check-write", check_write, ENV_HOST},
    {"wasi:io/streams@0.2.0", "[method]output-stream.write", stream_write, ENV_HOST},
    {"wasi:io/streams@0.2.0", "[method]output-stream.blocking-write-and-flush", stream_blocking_write, ENV_HOST},
    {"wasi:io/streams@0.2.0", "[method]output-stream.write-zeroes", stream_write_zeroes, ENV_HOST},
    {"wasi:io/streams@0.2.0", "[method]output-stream.blocking-write-zeroes-and-flush", stream_blocking_zeroes,
     ENV_HOST},
    {"wasi:io/streams@0.2.0", "[method]output-stream.flush", stream_flush, ENV_HOST},
    {"wasi:io/streams@0.2.0", "[method]output-stream.blocking-flush", stream_flush, ENV_HOST},
    {"wasi:io/streams@0.2.0", "[method]output-stream.subscribe", stream_subscribe_out, ENV_HOST},
    {"wasi:io/streams@0.2.0", "[resource-drop]output-stream", stream_drop, ENV_HOST},
    {"wasi:io/streams@0.2.0", "[method]input-stream.read", stream_read, ENV_HOST},
    {"wasi:io/streams@0.2.0", "[method]input-stream.blocking-read", stream_blocking_read, ENV_HOST},
    {"wasi:io/streams@0.2.0", "[method]input-stream.skip", stream_skip, ENV_HOST},
    {"wasi:io/streams@0.2.0", "[method]input-stream.blocking-skip", stream_blocking_skip, ENV_HOST},
    {"wasi:io/streams@0.2.0", "[method]input-stream.subscribe", stream_subscribe_in, ENV_HOST},
    {"wasi:io/streams@0.2.0", "[resource-drop]input-stream", stream_drop, ENV_HOST},
    {"wasi:clocks/wall-clock@0.2.0", "now", wall_now, ENV_NONE},
    {"wasi:clocks/wall-clock@0.2.0", "resolution", wall_resolution, ENV_NONE},
    {"wasi:clocks/monotonic-clock@0.2.0", "now", mono_now, ENV_NONE},
    {"wasi:clocks/monotonic-clock@0.2.0", "resolution", mono_resolution, ENV_NONE},
    {"wasi:clocks/monotonic-clock@0.2.0", "subscribe-instant", mono_subscribe_instant, ENV_HOST},
    {"wasi:clocks/monotonic-clock@0.2.0", "subscribe-duration", mono_subscribe_duration, ENV_HOST},
    {"wasi:random/random@0.2.0", "get-random-bytes", random_bytes, ENV_NONE},
    {"wasi:random/random@0.2.0", "get-random-u64", random_u64, ENV_NONE},
    {"wasi:random/insecure@0.2.0", "get-insecure-random-bytes", random_bytes, ENV_NONE},
    {"wasi:random/insecure@0.2.0", "get-insecure-random-u64", random_u64, ENV_NONE},
    {"wasi:random/insecure-seed@0.2.0", "insecure-seed", insecure_seed, ENV_NONE},
    {"wasi:filesystem/preopens@0.2.0", "get-directories", get_directories, ENV_HOST},
    {"wasi:filesystem/types@0.2.0", "[resource-drop]descriptor", desc_drop, ENV_HOST},
    {"wasi:filesystem/types@0.2.0", "[resource-drop]directory-entry-stream", desc_drop, ENV_HOST},
    {"wasi:filesystem/types@0.2.0", "[method]descriptor.get-type", desc_get_type, ENV_HOST},
    {"wasi:filesystem/types@0.2.0", "[method]descriptor.get-flags", desc_get_flags, ENV_HOST},
    {"wasi:filesystem/types@0.2.0", "[method]descriptor.stat", desc_stat, ENV_HOST},
    {"wasi:filesystem/types@0.2.0", "[method]descriptor.stat-at", desc_stat_at, ENV_HOST},
    {"wasi:filesystem/types@0.2.0", "[method]descriptor.metadata-hash", desc_hash, ENV_HOST},
    {"wasi:filesystem/types@0.2.0", "[method]descriptor.metadata-hash-at", desc_hash_at, ENV_HOST},
    {"wasi:filesystem/types@0.2.0", "[method]descriptor.open-at", desc_open_at, ENV_HOST},
    {"wasi:filesystem/types@0.2.0", "[method]descriptor.read-via-stream", desc_read_via_stream, ENV_HOST},
    {"wasi:filesystem/types@0.2.0", "[method]descriptor.write-via-stream", desc_write_via_stream, ENV_HOST},
    {"wasi:filesystem/types@0.2.0", "[method]descriptor.append-via-stream", desc_append_via_stream, ENV_HOST},
    {"wasi:filesystem/types@0.2.0", "[method]descriptor.read-directory", desc_read_directory, ENV_HOST},
    {"wasi:filesystem/types@0.2.0", "[method]descriptor.create-directory-at", desc_create_directory_at,
     ENV_HOST},
    {"wasi:filesystem/types@0.2.0", "[method]descriptor.unlink-file-at", desc_unlink_file_at, ENV_HOST},
    {"wasi:filesystem/types@0.2.0", "[method]descriptor.remove-directory-at", desc_remove_directory_at,
     ENV_HOST},
    {"wasi:filesystem/types@0.2.0", "[method]descriptor.rename-at", desc_rename_at, ENV_HOST},
    {"wasi:filesystem/types@0.2.0", "[method]descriptor.readlink-at", desc_readlink_at, ENV_HOST},
    {"wasi:filesystem/types@0.2.0", "[method]descriptor.symlink-at", desc_symlink_at, ENV_HOST},
    {"wasi:filesystem/types@0.2.0", "[method]descriptor.set-size", desc_set_size, ENV_HOST},
    {"wasi:filesystem/types@0.2.0", "[method]descriptor.sync", desc_sync, ENV_HOST},
    {"wasi:filesystem/types@0.2.0", "[method]descriptor.sync-data", desc_sync, ENV_HOST},
    {"wasi:filesystem/types@0.2.0", "[method]descriptor.advise", desc_advise, ENV_HOST},
    {"wasi:filesystem/types@0.2.0", "[method]descriptor.is-same-object", desc_is_same_object, ENV_HOST},
    {"wasi:filesystem/types@0.2.0", "[method]descriptor.read", desc_read, ENV_HOST},
    {"wasi:filesystem/types@0.2.0", "[method]descriptor.write", desc_write, ENV_HOST},
    {"wasi:filesystem/types@0.2.0", "[method]descriptor.set-times", desc_set_times, ENV_HOST},
    {"wasi:filesystem/types@0.2.0", "[method]descriptor.link-at", desc_link_at, ENV_HOST},
    {"wasi:filesystem/types@0.2.0", "[method]descriptor.set-times-at", desc_set_times_at, ENV_HOST},
    {"wasi:filesystem/types@0.2.0", "[method]directory-entry-stream.read-directory-entry", dir_read_entry,
     ENV_HOST},
    {"wasi:filesystem/types@0.2.0", "filesystem-error-code", filesystem_error_code, ENV_NONE},
};

#define NIMPLS (sizeof impls / sizeof impls[0])

static void table_free(wisp__wasi2_table_t *t) {
  for (size_t i = 0; i < t->nlabels; i++) free(t->labels[i]);
  free(t->labels);
  free(t->funcs);
  *t = (wisp__wasi2_table_t){0};
}

HOST_FN(stub) {
  UNUSED_ARGS;
  snprintf(cx->trap, sizeof cx->trap, "wasi2: %s is not implemented", (const char *)env);
  return -1;
}

int wisp__wasi2_new(const wisp__wasi2_config_t *cfg, wisp__wasi2_t **out) {
  wisp__wasi2_t *w = calloc(1, sizeof *w);
  if (!w) return WISP_ERR_NOMEM;
  w->cfg = *cfg;
  w->exit_status = -1;
  *out = w;
  w->cap_objs = 8;
  w->objs = calloc(w->cap_objs, sizeof *w->objs);
  w->preopen_fds = calloc(cfg->npreopens + 1, sizeof *w->preopen_fds);
  if (!w->objs || !w->preopen_fds) return WISP_ERR_NOMEM;
  for (int i = 0; i < 3; i++) {
    w->objs[i] = (obj_t){.kind = OBJ_STDIO, .fd = cfg->stdio[i]};
    if (cfg->stdio_ops[i])
      w->objs[i] = (obj_t){.kind = i == 0 ? OBJ_HOST_IN : OBJ_HOST_OUT, .fd = -1, .ops = cfg->stdio_ops[i],
                           .ctx = cfg->stdio_ctx[i]};
  }
  w->nobjs = 3;
  for (size_t i = 0; i < cfg->npreopens; i++) w->preopen_fds[i] = -1;
  for (size_t i = 0; i < cfg->npreopens; i++) {
    w->preopen_fds[i] = open(cfg->preopens[i].host_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (w->preopen_fds[i] < 0) {
      snprintf(w->error, sizeof w->error, "cannot preopen directory '%s': %s", cfg->preopens[i].host_path,
               strerror(errno));
      return WISP_ERR_ARG;
    }
  }
  return 0;
}

const char *wisp__wasi2_error(const wisp__wasi2_t *w) { return w->error; }

void wisp__wasi2_delete(wisp__wasi2_t *w) {
  if (!w) return;
  for (uint32_t i = 0; i < w->nobjs; i++) {
    if (w->objs[i].kind == OBJ_HOST_IN || w->objs[i].kind == OBJ_HOST_OUT) continue; /* the embedder's */
    obj_free(&w->objs[i]);
  }
  free(w->objs);
  for (size_t i = 0; w->preopen_fds && i < w->cfg.npreopens; i++)
    if (w->preopen_fds[i] >= 0) close(w->preopen_fds[i]);
  free(w->preopen_fds);
  table_free(&w->table);
  free(w->polls);
  free(w);
}

int wisp__wasi2_exit_status(const wisp__wasi2_t *w) { return w->exit_status; }

static bool implemented(const char *iface, uint32_t iface_len, const char *name, uint32_t len) {
  for (size_t i = 0; i < NIMPLS; i++)
    if (strlen(impls[i].name) == len && memcmp(impls[i].name, name, len) == 0 &&
        wisp_component_name_matches(iface, iface_len, impls[i].iface, strlen(impls[i].iface)))
      return true;
  return false;
}

/* Adds a stub for iface#name; its label (and the strings the entry points to)
 * are owned by w. */
static int add_stub(wisp__wasi2_table_t *w, const wisp_component_item_t *im, const wisp_component_item_t *fn) {
  size_t need = im->name_len + 1 + fn->name_len + 1;
  char *label = malloc(need * 2);
  if (!label) return WISP_ERR_NOMEM;
  w->labels[w->nlabels++] = label;
  /* one allocation: "iface#name\0" then "iface\0name\0" for the entry */
  snprintf(label, need, "%.*s#%.*s", (int)im->name_len, im->name, (int)fn->name_len, fn->name);
  char *iface = label + need;
  memcpy(iface, im->name, im->name_len);
  iface[im->name_len] = 0;
  char *name = iface + im->name_len + 1;
  memcpy(name, fn->name, fn->name_len);
  name[fn->name_len] = 0;
  w->funcs[w->nfuncs++] =
      (wisp__chost_func_t){im->sort == WISP_SORT_INSTANCE ? iface : NULL, name, stub, label};
  return 0;
}

/* The row of iface (an imported name, any 0.2.x version) and item name, or NULL. */
static const wisp__wasi2_type_t *type_row(const char *iface, uint32_t iface_len, const char *name,
                                          size_t len) {
  for (size_t i = 0; i < wisp__wasi2_ntypes; i++) {
    const wisp__wasi2_type_t *t = &wisp__wasi2_types[i];
    size_t n = strlen(t->iface);
    if (iface_len <= n || memcmp(iface, t->iface, n) != 0 || iface[n] != '@') continue;
    char want[64];
    snprintf(want, sizeof want, "%s@0.2.0", t->iface);
    if (!wisp_component_name_matches(iface, iface_len, want, strlen(want))) continue;
    if (strlen(t->name) == len && memcmp(t->name, name, len) == 0) return t;
  }
  return NULL;
}

/* Checks the items of one imported instance, printed as
 * "instance { export type A = DEF; export type B: resource; export f: func(...); }". */
static int check_instance(wisp__wasi2_t *w, const wisp_component_item_t *im, const char *text) {
  for (const char *p = strstr(text, "export "); p; p = strstr(p, "export ")) {
    p += 7;
    const char *end = strchr(p, ';');
    if (!end) break;
    bool is_type = strncmp(p, "type ", 5) == 0;
    if (is_type) p += 5;
    const char *sep = p;
    while (sep < end && *sep != ':' && *sep != ' ') sep++;
    const char *def = sep;
    if (strncmp(def, " = ", 3) == 0)
      def += 3;
    else if (strncmp(def, ": ", 2) == 0)
      def += 2;
    const wisp__wasi2_type_t *row = type_row(im->name, im->name_len, p, (size_t)(sep - p));
    if (row &&
        (strlen(row->text) != (size_t)(end - def) || memcmp(row->text, def, (size_t)(end - def)) != 0)) {
      snprintf(w->error, sizeof w->error, "import %.*s: %.*s is `%.*s`, the host serves `%.200s`",
               (int)im->name_len, im->name, (int)(sep - p), p, (int)((end - def) > 200 ? 200 : end - def),
               def, row->text);
      return WISP_ERR_LINK;
    }
    p = end;
  }
  return 0;
}

int wisp__wasi2_check(wisp__wasi2_t *w, const wisp_component_t *c) {
  for (uint32_t i = 0; i < wisp_component_import_count(c); i++) {
    wisp_component_item_t im;
    wisp_component_import(c, i, &im);
    if (im.sort != WISP_SORT_INSTANCE || im.name_len < 5 || memcmp(im.name, "wasi:", 5) != 0) continue;
    size_t need = wisp_component_type_print(c, im.sort, im.type, NULL, 0);
    char *text = malloc(need + 1);
    if (!text) return WISP_ERR_NOMEM;
    wisp_component_type_print(c, im.sort, im.type, text, need + 1);
    int rc = check_instance(w, &im, text);
    free(text);
    if (rc) return rc;
  }
  return 0;
}

/* Fills table t with the functions c imports; the wasi2 host's env is
 * `host` (a wisp__wasi2_t or an env slot). */
static int table_build(wisp__wasi2_table_t *t, const wisp_component_t *c, void *host) {
  size_t nstubs = 0;
  for (uint32_t i = 0; i < wisp_component_import_count(c); i++) {
    wisp_component_item_t im;
    wisp_component_import(c, i, &im);
    nstubs += im.sort == WISP_SORT_INSTANCE ? wisp_component_type_export_count(c, im.type) : 1;
  }
  t->funcs = calloc(NIMPLS + nstubs, sizeof *t->funcs);
  t->labels = calloc(nstubs ? nstubs : 1, sizeof *t->labels);
  if (!t->funcs || !t->labels) return WISP_ERR_NOMEM;
  for (size_t i = 0; i < NIMPLS; i++) {
    void *env = NULL;
    switch (impls[i].env) {
      case ENV_HOST: env = host; break;
      case ENV_STDIN: env = (void *)(uintptr_t)1; break;
      case ENV_STDOUT: env = (void *)(uintptr_t)2; break;
      case ENV_STDERR: env = (void *)(uintptr_t)3; break;
      default: break;
    }
    t->funcs[t->nfuncs++] = (wisp__chost_func_t){impls[i].iface, impls[i].name, impls[i].fn, env};
  }
  for (uint32_t i = 0; i < wisp_component_import_count(c); i++) {
    wisp_component_item_t im, fn;
    wisp_component_import(c, i, &im);
    if (im.sort == WISP_SORT_FUNC) {
      if (add_stub(t, &im, &im)) return WISP_ERR_NOMEM;
      continue;
    }
    if (im.sort != WISP_SORT_INSTANCE) continue;
    for (uint32_t k = 0; k < wisp_component_type_export_count(c, im.type); k++) {
      wisp_component_type_export(c, im.type, k, &fn);
      if (fn.sort != WISP_SORT_FUNC || implemented(im.name, im.name_len, fn.name, fn.name_len)) continue;
      if (add_stub(t, &im, &fn)) return WISP_ERR_NOMEM;
    }
  }
  return 0;
}

int wisp__wasi2_host_funcs(wisp__wasi2_t *w, const wisp_component_t *c, const wisp__chost_func_t **funcs,
                           size_t *count) {
  int rc = table_build(&w->table, c, w);
  if (rc) return rc;
  *funcs = w->table.funcs;
  *count = w->table.nfuncs;
  return 0;
}

int wisp__wasi2_table_new(const wisp_component_t *c, uint32_t slot, wisp__wasi2_table_t **out) {
  *out = NULL;
  if (slot >= WISP__CHOST_ENV_SLOTS) return WISP_ERR_ARG;
  wisp__wasi2_table_t *t = calloc(1, sizeof *t);
  if (!t) return WISP_ERR_NOMEM;
  int rc = table_build(t, c, WISP__CHOST_ENV_SLOT(slot));
  if (rc) {
    wisp__wasi2_table_delete(t);
    return rc;
  }
  *out = t;
  return 0;
}

void wisp__wasi2_table_funcs(const wisp__wasi2_table_t *t, const wisp__chost_func_t **funcs, size_t *count) {
  *funcs = t->funcs;
  *count = t->nfuncs;
}

void wisp__wasi2_table_delete(wisp__wasi2_table_t *t) {
  if (!t) return;
  table_free(t);
  free(t);
}
