/*
 * job.c: one request served by a fresh guest instance (WAGI executor), run
 * as a green thread on its loop thread.
 *
 * Life of a job:
 *   srv_job_start   route matched; body size checked (413); a concurrency
 *                   slot taken, or the job waits in its thread's queue
 *                   (503 when the component's queue is full)
 *   job_begin       CGI environment and argv built; a new store, WASI state,
 *                   linker and exec instantiate the shared compiled module
 *   job_slice       the entry point runs for one fuel slice (~0.5 ms of CPU);
 *                   when the slice ends the job goes to the thread's ready
 *                   list and the loop polls I/O before the next round
 *   job_finish      the response (or an error) is sent, the instance freed,
 *                   the access log written, the slot released
 *
 * Invariants: a job is touched only by its thread. job->req is NULL once the
 * client is gone (the request's pool disposed the handle); such a job is
 * abandoned at its next step. A job is in at most one list (waiting or ready)
 * through job->link. Limits: CPU time is measured with the thread CPU clock
 * around every slice; the wall-clock deadline is checked between slices and
 * while waiting.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "http_job.h"
#include "internal.h"
#include "wagi.h"

#define SLICE_TARGET_NS  500000 /* one slice is about 0.5 ms of guest CPU */
#define SLICE_FUEL_MIN   10000
#define SLICE_FUEL_MAX   100000000
#define HEADER_SLACK     (64 * 1024) /* stdout allowed beyond the body limit for headers */
#define EXEC_STACK_CELLS (1u << 17)  /* 1 MiB value stack per guest */
#define EXEC_CALL_DEPTH  10000u

typedef enum job_state { JOB_WAITING, JOB_READY, JOB_RUNNING } job_state_t;

struct srv_job {
  srv_thread_t *thread;
  h2o_req_t *req;     /* NULL once the client is gone */
  srv_job_t **handle; /* in req's pool; points back here while both live */
  const wisp_manifest_trigger_t *trigger;
  srv_app_t *app; /* the version the request started on (a reference) */
  srv_component_t *comp;
  job_state_t state;
  bool has_slot;
  bool started;   /* the entry point has been called */
  bool suspended; /* waiting in a WASI call (sleeping) until wake_us */
  uint64_t wake_us;
  h2o_linklist_t link;
  uint64_t id, start_us, deadline_us, instantiate_us, cpu_ns, cpu_limit_ns;
  wisp_store_t *store;
  wisp_linker_t *linker;
  wisp_exec_t *exec;
  wisp_wasi_t *wasi;
  wisp_func_t *entry;
  size_t in_pos;
  char *out;
  size_t out_len, out_cap, out_limit;
  bool out_overflow;
  char err_line[400];
  size_t err_len;
};

uint64_t srv_now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static uint64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t thread_cpu_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void srv_thread_jobs_init(srv_thread_t *thread) {
  thread->slice_fuel = 1000000;
  h2o_linklist_init_anchor(&thread->waiting);
  h2o_linklist_init_anchor(&thread->ready);
  h2o_linklist_init_anchor(&thread->sleeping);
  srv_http_thread_init(thread);
}

/* ---- guest stdio ---------------------------------------------------------- */

static int64_t stdin_read(void *ctx, uint8_t *buf, size_t len) {
  srv_job_t *job = ctx;
  if (!job->req || job->in_pos >= job->req->entity.len) return 0;
  size_t n = job->req->entity.len - job->in_pos;
  if (n > len) n = len;
  memcpy(buf, job->req->entity.base + job->in_pos, n);
  job->in_pos += n;
  return (int64_t)n;
}

static int64_t stdout_write(void *ctx, const uint8_t *buf, size_t len) {
  srv_job_t *job = ctx;
  if (len == 0) return 0;
  if (job->out_len + len > job->out_limit) {
    job->out_overflow = true;
    return -WISP_WASI_EIO;
  }
  if (job->out_len + len > job->out_cap) {
    size_t cap = job->out_cap ? job->out_cap : 4096;
    while (cap < job->out_len + len) cap *= 2;
    if (cap > job->out_limit) cap = job->out_limit;
    char *grown = realloc(job->out, cap);
    if (!grown) return -WISP_WASI_EIO;
    job->out = grown;
    job->out_cap = cap;
  }
  memcpy(job->out + job->out_len, buf, len);
  job->out_len += len;
  return (int64_t)len;
}

static void stderr_flush(srv_job_t *job) {
  if (!job->err_len) return;
  fprintf(stderr, "wisp: request %" PRIu64 " [%s] guest: %.*s\n", job->id, job->comp->manifest->id,
          (int)job->err_len, job->err_line);
  if (job->app->log_fd >= 0) {
    char line[600];
    int n = snprintf(line, sizeof line, "request %" PRIu64 " [%s] stderr: %.*s", job->id, job->comp->manifest->id,
                     (int)job->err_len, job->err_line);
    if (n > 0) srv_app_log(job->app, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
  }
  job->err_len = 0;
}

/* Guest stderr goes to the server log line by line, tagged with the request id. */
static int64_t stderr_write(void *ctx, const uint8_t *buf, size_t len) {
  srv_job_t *job = ctx;
  for (size_t i = 0; i < len; i++) {
    if (buf[i] == '\n') {
      stderr_flush(job);
      continue;
    }
    if (job->err_len == sizeof job->err_line) stderr_flush(job);
    job->err_line[job->err_len++] = (char)buf[i];
  }
  return (int64_t)len;
}

/* ---- responses -------------------------------------------------------------- */

static void on_handle_dispose(void *p) {
  srv_job_t **handle = p;
  if (*handle) {
    (*handle)->req = NULL;
    (*handle)->handle = NULL;
  }
}

static void log_and_count(srv_job_t *job, h2o_req_t *req, int status, uint64_t bytes) {
  srv_t *srv = job->thread->srv;
  uint64_t dur = srv_now_us() - job->start_us;
  srv_metrics_request(srv, srv_route_index(srv, job->app, job->trigger), status, dur);
  srv_access_t entry = {job->id, job->trigger->route, status, bytes, dur, job->instantiate_us, job->cpu_ns / 1000,
                        job->app};
  srv_access_log(srv, req, &entry);
}

/* Frees the instance and the job; releases its slot. */
static void job_free(srv_job_t *job) {
  srv_thread_t *thread = job->thread;
  if (h2o_linklist_is_linked(&job->link)) h2o_linklist_unlink(&job->link);
  if (job->state == JOB_WAITING) atomic_fetch_sub(&job->comp->queued, 1);
  if (job->has_slot) atomic_fetch_sub(&job->comp->running, 1);
  if (job->handle) *job->handle = NULL;
  stderr_flush(job);
  if (job->cpu_ns) atomic_fetch_add(&thread->srv->metrics->guest_cpu_us, job->cpu_ns / 1000);
  if (job->exec) {
    wisp_exec_abort(job->exec); /* a no-op unless the guest was cut off mid-call */
    wisp_trap_delete(wisp_exec_take_trap(job->exec));
    if (thread->nspare < SRV_SPARE_EXECS && wisp_exec_set_store(job->exec, NULL) == 0)
      thread->spare_execs[thread->nspare++] = job->exec;
    else
      wisp_exec_delete(job->exec);
  }
  wisp_linker_delete(job->linker);
  wisp_store_delete(job->store);
  wisp_wasi_delete(job->wasi);
  free(job->out);
  srv_app_release(job->app);
  free(job);
  thread->inflight--;
  atomic_fetch_sub(&thread->srv->metrics->inflight, 1);
}

/* Sends an error page naming the request id, logs, frees the job. */
static void job_fail(srv_job_t *job, int status, const char *what) {
  h2o_req_t *req = job->req;
  if (req) {
    char body[512];
    int n = snprintf(body, sizeof body, "%d %s: %s (request id %" PRIu64 ")\n", status,
                     wagi_reason_phrase(status), what, job->id);
    if (n < 0 || (size_t)n >= sizeof body) n = (int)strlen(body);
    *job->handle = NULL;
    job->handle = NULL;
    job->req = NULL;
    req->res.status = status;
    req->res.reason = wagi_reason_phrase(status);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                   H2O_STRLIT("text/plain; charset=utf-8"));
    log_and_count(job, req, status, (uint64_t)n);
    req->res.content_length = (size_t)n;
    h2o_send_inline(req, body, (size_t)n);
  }
  job_free(job);
}

static bool skip_guest_header(const wagi_header_t *h) {
  static const char *const hop[] = {"connection", "transfer-encoding", "content-length",
                                    "keep-alive", "upgrade",           "proxy-connection"};
  for (size_t i = 0; i < sizeof hop / sizeof hop[0]; i++)
    if (h->name_len == strlen(hop[i]) && strncasecmp(h->name, hop[i], h->name_len) == 0) return true;
  return false;
}

/* Turns the guest's stdout into the HTTP response. */
static void job_respond(srv_job_t *job) {
  wagi_response_t *res = malloc(sizeof *res);
  char err[256];
  if (!res) {
    job_fail(job, 500, "out of memory");
    return;
  }
  if (wagi_parse_response(job->out, job->out_len, res, err, sizeof err) < 0) {
    fprintf(stderr, "wisp: request %" PRIu64 " [%s]: invalid WAGI response: %s\n", job->id,
            job->comp->manifest->id, err);
    atomic_fetch_add(&job->thread->srv->metrics->bad_responses, 1);
    free(res);
    char what[320];
    snprintf(what, sizeof what, "the function's output is not a valid WAGI response: %s", err);
    job_fail(job, 502, what);
    return;
  }
  h2o_req_t *req = job->req;
  *job->handle = NULL;
  job->handle = NULL;
  job->req = NULL;
  req->res.status = res->status;
  req->res.reason = wagi_reason_phrase(res->status);
  for (size_t i = 0; i < res->header_count; i++) {
    const wagi_header_t *h = &res->headers[i];
    if (skip_guest_header(h)) continue;
    h2o_iovec_t name = h2o_strdup(&req->pool, h->name, h->name_len);
    for (size_t k = 0; k < name.len; k++) name.base[k] = (char)tolower((unsigned char)name.base[k]);
    h2o_iovec_t value = h2o_strdup(&req->pool, h->value, h->value_len);
    h2o_add_header_by_str(&req->pool, &req->res.headers, name.base, name.len, 1, NULL, value.base, value.len);
  }
  log_and_count(job, req, res->status, res->body_len);
  req->res.content_length = res->body_len;
  h2o_send_inline(req, res->body, res->body_len);
  free(res);
  job_free(job);
}

/* ---- running ---------------------------------------------------------------- */

static void adapt_slice(srv_thread_t *thread, int64_t fuel, uint64_t ns) {
  if (ns < 1000) ns = 1000;
  double per_ns = (double)fuel / (double)ns;
  int64_t want = (int64_t)(per_ns * SLICE_TARGET_NS);
  int64_t next = (thread->slice_fuel * 3 + want) / 4;
  if (next < SLICE_FUEL_MIN) next = SLICE_FUEL_MIN;
  if (next > SLICE_FUEL_MAX) next = SLICE_FUEL_MAX;
  thread->slice_fuel = next;
}

static void job_trapped(srv_job_t *job) {
  wisp_trap_t *trap = wisp_exec_take_trap(job->exec);
  if (trap && wisp_trap_kind(trap) == WISP_TRAP_EXIT) {
    int code = wisp_trap_exit_code(trap);
    if (code != 0)
      fprintf(stderr, "wisp: request %" PRIu64 " [%s]: guest exited with code %d\n", job->id,
              job->comp->manifest->id, code);
    wisp_trap_delete(trap);
    job_respond(job);
    return;
  }
  char msg[1024] = "(no trap information)";
  if (trap) wisp_trap_format(trap, msg, sizeof msg);
  size_t ml = strlen(msg);
  while (ml && msg[ml - 1] == '\n') msg[--ml] = '\0';
  fprintf(stderr, "wisp: request %" PRIu64 " [%s]: trap: %s\n", job->id, job->comp->manifest->id, msg);
  wisp_trap_delete(trap);
  atomic_fetch_add(&job->thread->srv->metrics->traps, 1);
  job_fail(job, 500, "the function trapped; the trap is in the server log");
}

/* True if the client of an HTTP/1 request has closed its connection. h2o
 * 2.2 does not read an HTTP/1 socket while a request is being handled, so a
 * peek is the only way to notice before writing (HTTP/2 disposes the
 * request itself when the stream is reset). */
bool srv_client_closed(h2o_req_t *req) {
  if (req->version >= 0x200 || !req->conn->callbacks->get_socket) return false;
  h2o_socket_t *sock = req->conn->callbacks->get_socket(req->conn);
  if (!sock) return false;
  char byte;
  ssize_t n = recv(h2o_socket_get_fd(sock), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

/* Runs one slice. Returns true if the job needs another slice. */
static bool job_slice(srv_job_t *job) {
  srv_thread_t *thread = job->thread;
  if (!job->req) {
    wisp_exec_abort(job->exec);
    job_free(job);
    return false;
  }
  if (job->started && srv_client_closed(job->req)) {
    wisp_exec_abort(job->exec);
    fprintf(stderr, "wisp: request %" PRIu64 " [%s]: client closed the connection; guest stopped\n", job->id,
            job->comp->manifest->id);
    job_fail(job, 499, "client closed the connection");
    return false;
  }
  if (job->suspended && srv_now_us() >= job->deadline_us) {
    wisp_exec_abort(job->exec);
    fprintf(stderr,
            "wisp: request %" PRIu64 " [%s]: wall-clock limit of %" PRIu32 " ms exceeded while sleeping\n",
            job->id, job->comp->manifest->id, job->comp->manifest->limits.wall_ms);
    atomic_fetch_add(&thread->srv->metrics->wall_limits, 1);
    job_fail(job, 504, "the function ran longer than its wall-clock limit");
    return false;
  }
  int64_t fuel = thread->slice_fuel;
  wisp_exec_set_fuel(job->exec, fuel);
  /* The thread CPU clock is a system call; a request's first slice (most
   * requests end in it) is timed with the monotonic clock (vDSO) instead:
   * on the loop thread the two differ only when the thread is preempted. */
  bool precise = job->started;
  uint64_t t0 = precise ? thread_cpu_ns() : mono_ns();
  wisp_status_t st;
  if (job->suspended) {
    job->suspended = false;
    st = wisp_wasi_resume(job->wasi, job->exec);
  } else if (!job->started) {
    job->started = true;
    st = wisp_exec_call(job->exec, job->entry, NULL, 0, NULL, 0);
  } else {
    st = wisp_exec_continue(job->exec);
  }
  uint64_t spent = (precise ? thread_cpu_ns() : mono_ns()) - t0;
  job->cpu_ns += spent;
  switch (st) {
    case WISP_DONE:
      if (job->out_overflow) break;
      job_respond(job);
      return false;
    case WISP_TRAPPED:
      if (job->out_overflow) break;
      job_trapped(job);
      return false;
    case WISP_SUSPENDED: {
      /* A WASI call that would block (a sleep): wake the guest later. */
      int64_t wake_ns = -1;
      if (!wisp_wasi_suspended(job->wasi, &wake_ns)) {
        wisp_exec_abort(job->exec);
        job_fail(job, 500, "the function suspended in a host call the server cannot resume");
        return false;
      }
      job->suspended = true;
      job->wake_us = wake_ns < 0 ? srv_now_us() + 1000 : (uint64_t)wake_ns / 1000;
      if (job->wake_us > job->deadline_us) job->wake_us = job->deadline_us;
      break;
    }
    case WISP_OUT_OF_FUEL: adapt_slice(thread, fuel, spent); break;
  }
  if (job->out_overflow) {
    if (wisp_exec_status(job->exec) == WISP_OUT_OF_FUEL) wisp_exec_abort(job->exec);
    fprintf(stderr, "wisp: request %" PRIu64 " [%s]: response larger than the limit (%" PRIu64 " bytes)\n",
            job->id, job->comp->manifest->id, job->comp->manifest->limits.max_response_bytes);
    job_fail(job, 502, "the function's response is larger than its limit");
    return false;
  }
  if (job->cpu_ns > job->cpu_limit_ns) {
    wisp_exec_abort(job->exec);
    fprintf(stderr, "wisp: request %" PRIu64 " [%s]: CPU time limit of %" PRIu32 " ms exceeded\n", job->id,
            job->comp->manifest->id, job->comp->manifest->limits.cpu_ms);
    atomic_fetch_add(&thread->srv->metrics->cpu_limits, 1);
    job_fail(job, 504, "the function used more than its CPU time limit");
    return false;
  }
  if (srv_now_us() >= job->deadline_us) {
    wisp_exec_abort(job->exec);
    fprintf(stderr, "wisp: request %" PRIu64 " [%s]: wall-clock limit of %" PRIu32 " ms exceeded\n", job->id,
            job->comp->manifest->id, job->comp->manifest->limits.wall_ms);
    atomic_fetch_add(&thread->srv->metrics->wall_limits, 1);
    job_fail(job, 504, "the function ran longer than its wall-clock limit");
    return false;
  }
  return true;
}

static void job_run(srv_job_t *job) {
  job->state = JOB_RUNNING;
  if (job_slice(job)) {
    job->state = JOB_READY;
    h2o_linklist_insert(job->suspended ? &job->thread->sleeping : &job->thread->ready, &job->link);
  }
}

/* ---- the CGI environment ------------------------------------------------- */

static void push_iov_var(wagi_strvec_t *env, const char *name, h2o_iovec_t v) {
  wagi_strvec_push_var(env, name, v.base, v.len);
}

static void push_str_var(wagi_strvec_t *env, const char *name, const char *v) {
  wagi_strvec_push_var(env, name, v, strlen(v));
}

static void addr_to_string(const struct sockaddr *sa, char *host, size_t hsize, int *port) {
  *port = 0;
  snprintf(host, hsize, "unknown");
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *in = (const void *)sa;
    inet_ntop(AF_INET, &in->sin_addr, host, (socklen_t)hsize);
    *port = ntohs(in->sin_port);
  } else if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *in6 = (const void *)sa;
    inet_ntop(AF_INET6, &in6->sin6_addr, host, (socklen_t)hsize);
    *port = ntohs(in6->sin6_port);
  }
}

/* Request headers as HTTP_* (repeated headers joined with ", "). */
static void push_header_vars(wagi_strvec_t *env, h2o_req_t *req) {
  for (size_t i = 0; i < req->headers.size; i++) {
    const h2o_header_t *h = &req->headers.entries[i];
    char name[300];
    if (h->name->len > sizeof name - 8 || !wagi_header_var_name(h->name->base, h->name->len, name)) continue;
    if (wagi_strvec_has_var(env, name, strlen(name))) continue;
    size_t total = 0;
    for (size_t j = i; j < req->headers.size; j++)
      if (h2o_memis(req->headers.entries[j].name->base, req->headers.entries[j].name->len, h->name->base,
                    h->name->len))
        total += req->headers.entries[j].value.len + 2;
    char *joined = malloc(total + 1);
    if (!joined) {
      env->failed = true;
      return;
    }
    size_t n = 0;
    for (size_t j = i; j < req->headers.size; j++) {
      const h2o_header_t *o = &req->headers.entries[j];
      if (!h2o_memis(o->name->base, o->name->len, h->name->base, h->name->len)) continue;
      if (n) {
        joined[n++] = ',';
        joined[n++] = ' ';
      }
      memcpy(joined + n, o->value.base, o->value.len);
      n += o->value.len;
    }
    wagi_strvec_push_var(env, name, joined, n);
    free(joined);
  }
}

/* PATH_INFO and friends: the part of the path after the route's prefix. The
 * route matched the normalized path; the raw forms come from the path as sent
 * when it starts with the same prefix. */
static void push_path_vars(wagi_strvec_t *env, h2o_req_t *req, const wisp_manifest_trigger_t *trig) {
  size_t path_len = req->query_at != SIZE_MAX ? req->query_at : req->path.len;
  size_t plen = strlen(trig->prefix);
  h2o_iovec_t norm = req->path_normalized;
  const char *rest = norm.base + (norm.len >= plen ? plen : norm.len);
  size_t rest_len = trig->wildcard && norm.len >= plen ? norm.len - plen : 0;
  const char *raw = rest;
  size_t raw_len = rest_len;
  if (trig->wildcard && path_len >= plen && memcmp(req->path.base, trig->prefix, plen) == 0) {
    raw = req->path.base + plen;
    raw_len = path_len - plen;
  }
  char *decoded = malloc(rest_len + 1);
  if (!decoded) {
    env->failed = true;
    return;
  }
  size_t dlen = wagi_url_decode(rest, rest_len, decoded, false);
  wagi_strvec_push_var(env, "PATH_INFO", decoded, dlen);
  wagi_strvec_push_var(env, "PATH_TRANSLATED", decoded, dlen);
  free(decoded);
  wagi_strvec_push_var(env, "X_RAW_PATH_INFO", raw, raw_len);
  bool slash = raw_len && raw[0] == '/';
  wagi_strvec_push_var(env, "X_RELATIVE_PATH", raw + slash, raw_len - slash);
  const char *query = req->query_at != SIZE_MAX ? req->path.base + req->query_at + 1 : "";
  wagi_strvec_push_var(env, "QUERY_STRING", query,
                       req->query_at != SIZE_MAX ? req->path.len - req->query_at - 1 : 0);
}

/* REMOTE_ADDR, REMOTE_HOST and SERVER_PORT from the connection. */
static void push_conn_vars(wagi_strvec_t *env, h2o_req_t *req) {
  struct sockaddr_storage ss;
  char host[INET6_ADDRSTRLEN + 8], buf[16];
  int port = 0;
  snprintf(host, sizeof host, "unknown");
  if (req->conn->callbacks->get_peername(req->conn, (void *)&ss))
    addr_to_string((void *)&ss, host, sizeof host, &port);
  push_str_var(env, "REMOTE_ADDR", host);
  push_str_var(env, "REMOTE_HOST", host);
  port = 0;
  if (req->conn->callbacks->get_sockname(req->conn, (void *)&ss))
    addr_to_string((void *)&ss, host, sizeof host, &port);
  snprintf(buf, sizeof buf, "%d", port);
  push_str_var(env, "SERVER_PORT", buf);
}

/* SERVER_NAME (the authority without its port) and X_FULL_URL. */
static void push_host_vars(wagi_strvec_t *env, h2o_req_t *req) {
  h2o_iovec_t auth = req->authority;
  size_t nlen = auth.len;
  if (nlen && auth.base[0] == '[') {
    const char *close = memchr(auth.base, ']', auth.len);
    if (close) nlen = (size_t)(close - auth.base) + 1;
  } else {
    const char *colon = memchr(auth.base, ':', auth.len);
    if (colon) nlen = (size_t)(colon - auth.base);
  }
  wagi_strvec_push_var(env, "SERVER_NAME", auth.base, nlen);
  size_t full_len = 16 + auth.len + req->path.len;
  char *full = malloc(full_len);
  if (!full) {
    env->failed = true;
    return;
  }
  int fl = snprintf(full, full_len, "%s://%.*s%.*s", req->scheme == &H2O_URL_SCHEME_HTTPS ? "https" : "http",
                    (int)auth.len, auth.base, (int)req->path.len, req->path.base);
  wagi_strvec_push_var(env, "X_FULL_URL", full, fl > 0 ? (size_t)fl : 0);
  free(full);
  if (h2o_find_header(&req->headers, H2O_TOKEN_HOST, -1) < 0) push_iov_var(env, "HTTP_HOST", auth);
}

/* The request's variables per the WAGI/CGI 1.1 conventions (docs/server.md). */
static void build_env(srv_job_t *job, wagi_strvec_t *env, const char *script_name) {
  h2o_req_t *req = job->req;
  char buf[32];
  push_iov_var(env, "REQUEST_METHOD", req->method);
  push_path_vars(env, req, job->trigger);
  snprintf(buf, sizeof buf, "%zu", req->entity.base ? req->entity.len : (size_t)0);
  push_str_var(env, "CONTENT_LENGTH", buf);
  ssize_t ct = h2o_find_header(&req->headers, H2O_TOKEN_CONTENT_TYPE, -1);
  if (ct >= 0)
    push_iov_var(env, "CONTENT_TYPE", req->headers.entries[ct].value);
  else
    push_str_var(env, "CONTENT_TYPE", "");
  push_str_var(env, "SCRIPT_NAME", script_name);
  push_str_var(env, "X_MATCHED_ROUTE", job->trigger->route);
  push_str_var(env, "X_COMPONENT_ROUTE", script_name);
  push_str_var(env, "GATEWAY_INTERFACE", "CGI/1.1");
  push_str_var(env, "SERVER_SOFTWARE", "wisp/" WISP_VERSION);
  push_str_var(env, "SERVER_PROTOCOL",
               req->version >= 0x200   ? "HTTP/2"
               : req->version == 0x100 ? "HTTP/1.0"
                                       : "HTTP/1.1");
  push_str_var(env, "AUTH_TYPE", "");
  push_str_var(env, "REMOTE_USER", "");
  push_conn_vars(env, req);
  push_host_vars(env, req);
  push_header_vars(env, req);
  /* The component's own variables, unless they would hide a request variable. */
  const wisp_manifest_component_t *mc = job->comp->manifest;
  for (size_t i = 0; i < mc->env_count; i++)
    if (!wagi_strvec_has_var(env, mc->env[i].name, strlen(mc->env[i].name)))
      push_str_var(env, mc->env[i].name, mc->env[i].value);
}

/* ---- instance creation ---------------------------------------------------- */

/* The instance, in job->store: from the component's snapshot into a pooled
 * memory slot with the thread's resolved imports and the request's WASI
 * state attached to the store; or, without a snapshot, through a linker with
 * WASI defined for this request. */
static int instantiate(srv_job_t *job, wisp_instance_t **inst, wisp_trap_t **trap, wisp_error_t *err) {
  size_t ci = (size_t)(job->comp - job->app->components);
  wisp_extern_t *imports = NULL;
  if (job->thread->srv->serve)
    imports = job->app->imports ? job->app->imports[ci] : NULL;
  else if (job->thread->imports)
    imports = job->thread->imports[ci];
  if (job->comp->snapshot && imports) {
    wisp_store_set_pool(job->store, job->thread->srv->pool);
    wisp_wasi_attach(job->wasi, job->store);
    int rc = wisp_instance_from_snapshot(job->store, job->comp->snapshot, imports,
                                         wisp_module_import_count(job->comp->module), inst, err);
    srv_pool_note(job->thread->srv, job->comp, job->store);
    return rc;
  }
  job->linker = wisp_linker_new(job->store);
  if (!job->linker || wisp_wasi_define(job->wasi, job->linker) < 0) return WISP_ERR_NOMEM;
  wisp_exec_set_fuel(job->exec, job->thread->slice_fuel * 10);
  int rc = wisp_linker_instantiate(job->linker, job->exec, job->comp->module, inst, trap, err);
  char msg[400];
  if (rc == 0 && job->comp->init && srv_run_init(*inst, job->exec, job->comp->init, msg, sizeof msg) < 0) {
    *trap = wisp_trap_new(WISP_TRAP_HOST, msg); /* no snapshot: init runs per request */
    return WISP_ERR_TRAP;
  }
  return rc;
}

/* Creates the WASI state, store, linker and instance. 0, or -1 after job_fail. */
static int job_instantiate(srv_job_t *job) {
  srv_t *srv = job->thread->srv;
  const wisp_manifest_trigger_t *trig = job->trigger;
  const wisp_manifest_component_t *mc = job->comp->manifest;
  wisp_error_t err = {0};
  uint64_t t0 = srv_now_us();
  wagi_strvec_t env = {0}, argv = {0};
  const char *script_name = trig->prefix[0] ? trig->prefix : "/";
  build_env(job, &env, script_name);
  h2o_req_t *req = job->req;
  const char *query = req->query_at != SIZE_MAX ? req->path.base + req->query_at + 1 : "";
  size_t query_len = req->query_at != SIZE_MAX ? req->path.len - req->query_at - 1 : 0;
  wagi_build_argv(&argv, trig->wagi_argv ? trig->wagi_argv : "${SCRIPT_NAME} ${ARGS}", script_name, query,
                  query_len);
  if (env.failed || argv.failed) goto nomem;

  wisp_wasi_config_t cfg;
  wisp_wasi_config_init(&cfg);
  cfg.argv = (const char *const *)argv.items;
  cfg.argc = argv.count;
  cfg.env = (const char *const *)env.items;
  cfg.envc = env.count;
  cfg.preopens = job->comp->preopens;
  cfg.npreopens = job->comp->npreopens;
  cfg.stdio[0] = (wisp_wasi_stream_t){.host_fd = -1, .read = stdin_read, .ctx = job};
  cfg.stdio[1] = (wisp_wasi_stream_t){.host_fd = -1, .write = stdout_write, .ctx = job};
  cfg.stdio[2] = (wisp_wasi_stream_t){.host_fd = -1, .write = stderr_write, .ctx = job};
  cfg.suspend = true; /* sleeps suspend the guest instead of blocking the loop */
  if (wisp_wasi_new(&cfg, &job->wasi, &err) < 0) {
    fprintf(stderr, "wisp: request %" PRIu64 " [%s]: WASI setup failed: %s\n", job->id, mc->id, err.message);
    goto fail;
  }
  wagi_strvec_free(&env);
  wagi_strvec_free(&argv);
  wisp_wasi_set_deadline(job->wasi, (int64_t)job->deadline_us * 1000);
  job->store = wisp_store_new(srv->engine);
  if (!job->store) goto nomem;
  wisp_store_limits_t limits = {.max_memory_bytes = (uint64_t)mc->limits.memory_mib << 20};
  wisp_store_set_limits(job->store, &limits);
  wisp_exec_config_t ecfg = {.stack_cells = EXEC_STACK_CELLS, .max_call_depth = EXEC_CALL_DEPTH};
  srv_thread_t *thread = job->thread;
  job->exec = thread->nspare ? thread->spare_execs[--thread->nspare] : wisp_exec_new(job->store, &ecfg);
  if (!job->exec) goto nomem;
  wisp_exec_set_store(job->exec, job->store);
  wisp_instance_t *inst = NULL;
  wisp_trap_t *trap = NULL;
  int rc = instantiate(job, &inst, &trap, &err);
  if (rc == WISP_ERR_NOMEM) goto nomem;
  if (rc < 0) {
    char msg[600];
    if (trap) wisp_trap_format(trap, msg, sizeof msg);
    fprintf(stderr, "wisp: request %" PRIu64 " [%s]: instantiation failed: %s\n", job->id, mc->id,
            trap ? msg : err.message);
    wisp_trap_delete(trap);
    goto fail_done;
  }
  const char *entry = trig->wagi_entrypoint ? trig->wagi_entrypoint : "_start";
  wisp_extern_t ext;
  if (wisp_instance_export(inst, entry, strlen(entry), &ext) < 0 || ext.kind != WISP_EXTERN_FUNC) {
    fprintf(stderr, "wisp: request %" PRIu64 " [%s]: no exported function '%s'\n", job->id, mc->id, entry);
    goto fail_done;
  }
  job->entry = ext.of.func;
  job->instantiate_us = srv_now_us() - t0;
  atomic_fetch_add(&srv->metrics->instantiate_sum_us, job->instantiate_us);
  atomic_fetch_add(&srv->metrics->instantiate_count, 1);
  return 0;

nomem:
  fprintf(stderr, "wisp: request %" PRIu64 " [%s]: out of memory creating the instance\n", job->id, mc->id);
fail:
  wagi_strvec_free(&env);
  wagi_strvec_free(&argv);
fail_done:
  job_fail(job, 500, "the function could not be instantiated; the reason is in the server log");
  return -1;
}

static void job_begin(srv_job_t *job) {
  if (job_instantiate(job) < 0) return;
  job_run(job);
}

/* ---- admission ---------------------------------------------------------------- */

static bool take_slot(srv_component_t *comp) {
  unsigned prev = atomic_fetch_add(&comp->running, 1);
  if (prev < comp->manifest->limits.max_concurrency) return true;
  atomic_fetch_sub(&comp->running, 1);
  return false;
}

static void respond_early(srv_t *srv, h2o_req_t *req, srv_app_t *app, size_t route, int status,
                          uint64_t start_us, const char *route_name, uint64_t id, const char *what) {
  char body[300];
  int n = snprintf(body, sizeof body, "%d %s: %s (request id %" PRIu64 ")\n", status,
                   wagi_reason_phrase(status), what, id);
  req->res.status = status;
  req->res.reason = wagi_reason_phrase(status);
  h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                 H2O_STRLIT("text/plain; charset=utf-8"));
  uint64_t dur = srv_now_us() - start_us;
  srv_metrics_request(srv, route, status, dur);
  srv_access_t entry = {id, route_name, status, (uint64_t)n, dur, 0, 0, app};
  srv_access_log(srv, req, &entry);
  req->res.content_length = (size_t)n;
  h2o_send_inline(req, body, (size_t)n);
}

void srv_job_start(srv_thread_t *thread, h2o_req_t *req, srv_app_t *app, const wisp_manifest_trigger_t *trigger) {
  srv_t *srv = thread->srv;
  srv_component_t *comp = &app->components[trigger->component];
  size_t route = srv_route_index(srv, app, trigger);
  uint64_t now = srv_now_us();
  uint64_t id = atomic_fetch_add(&srv->metrics->next_request_id, 1) + 1;
  if (comp->http) {
    srv_http_start(thread, req, app, trigger, id);
    return;
  }
  if (!comp->module) {
    respond_early(srv, req, app, route, 501, now, trigger->route, id,
                  "this route's executor (wasi:http) is not supported by this server yet");
    return;
  }
  if (req->entity.base && req->entity.len > comp->manifest->limits.max_request_bytes) {
    respond_early(srv, req, app, route, 413, now, trigger->route, id,
                  "the request body is larger than the function's limit");
    return;
  }
  srv_job_t *job = calloc(1, sizeof *job);
  if (!job) {
    respond_early(srv, req, app, route, 503, now, trigger->route, id, "out of memory");
    return;
  }
  job->thread = thread;
  job->req = req;
  job->trigger = trigger;
  job->app = app;
  atomic_fetch_add(&app->refs, 1);
  job->comp = comp;
  job->id = id;
  job->start_us = now;
  job->deadline_us = now + (uint64_t)comp->manifest->limits.wall_ms * 1000;
  job->cpu_limit_ns = (uint64_t)comp->manifest->limits.cpu_ms * 1000000;
  job->out_limit = comp->manifest->limits.max_response_bytes + HEADER_SLACK;
  job->state = JOB_RUNNING;
  job->handle = h2o_mem_alloc_shared(&req->pool, sizeof *job->handle, on_handle_dispose);
  *job->handle = job;
  thread->inflight++;
  atomic_fetch_add(&srv->metrics->inflight, 1);
  if (take_slot(comp)) {
    job->has_slot = true;
    job_begin(job);
    return;
  }
  unsigned queued = atomic_fetch_add(&comp->queued, 1);
  job->state = JOB_WAITING;
  if (queued >= comp->queue_cap) {
    atomic_fetch_add(&srv->metrics->rejected_queue_full, 1);
    job_fail(job, 503, "the function is at its concurrency limit and its queue is full");
    return;
  }
  h2o_linklist_insert(&thread->waiting, &job->link);
}

/* Admits waiting jobs whose slot is free; answers 504 for those past their
 * deadline. Called by the loop while the waiting list is not empty. */
static void admit_waiting(srv_thread_t *thread) {
  uint64_t now = srv_now_us();
  h2o_linklist_t *node = thread->waiting.next;
  while (node != &thread->waiting) {
    srv_job_t *job = H2O_STRUCT_FROM_MEMBER(srv_job_t, link, node);
    node = node->next;
    if (!job->req) {
      job_free(job);
    } else if (now >= job->deadline_us) {
      atomic_fetch_add(&thread->srv->metrics->wall_limits, 1);
      job_fail(job, 504, "the function's wall-clock limit passed while the request was queued");
    } else if (take_slot(job->comp)) {
      h2o_linklist_unlink(&job->link);
      atomic_fetch_sub(&job->comp->queued, 1);
      job->has_slot = true;
      job->state = JOB_RUNNING;
      job_begin(job);
    }
  }
}

bool srv_thread_run_jobs(srv_thread_t *thread) {
  bool http_busy = srv_http_run_jobs(thread);
  if (!h2o_linklist_is_empty(&thread->waiting)) admit_waiting(thread);
  /* One round: every job ready now gets one slice; jobs it makes ready wait
   * for the next round, after the loop has polled I/O. */
  h2o_linklist_t round;
  h2o_linklist_init_anchor(&round);
  h2o_linklist_insert_list(&round, &thread->ready);
  if (!h2o_linklist_is_empty(&thread->sleeping)) {
    uint64_t now = srv_now_us();
    for (h2o_linklist_t *node = thread->sleeping.next, *next; node != &thread->sleeping; node = next) {
      next = node->next;
      srv_job_t *job = H2O_STRUCT_FROM_MEMBER(srv_job_t, link, node);
      if (now < job->wake_us && job->req) continue;
      h2o_linklist_unlink(&job->link);
      h2o_linklist_insert(&round, &job->link);
    }
  }
  while (!h2o_linklist_is_empty(&round)) {
    srv_job_t *job = H2O_STRUCT_FROM_MEMBER(srv_job_t, link, round.next);
    h2o_linklist_unlink(&job->link);
    job_run(job);
  }
  return http_busy || !h2o_linklist_is_empty(&thread->ready) || !h2o_linklist_is_empty(&thread->waiting) ||
         !h2o_linklist_is_empty(&thread->sleeping);
}
