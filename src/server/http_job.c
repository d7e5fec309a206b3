/*
 * http_job.c: the wasi:http executor. One request served by a fresh instance
 * of a component exporting wasi:http/incoming-handler (docs/http.md).
 *
 * A job's guest runs on its own C stack (a coroutine, ucontext) on the loop
 * thread that accepted the request, so that it can stop anywhere and let the
 * loop serve others:
 *   - at the end of each fuel slice (~0.5 ms of CPU): the instance's fuel hook
 *     switches back to the loop; the job waits in the thread's http_ready list
 *     for the next round;
 *   - when it blocks in wasi:io (a read of a request body not there yet, a
 *     write while the response window is full, poll on a timer): the wasi2
 *     host's wait hook switches back; the job waits in http_blocked until the
 *     response side drained bytes (proceed), its timer is due or it is cut off.
 * The loop side sends the response as the guest writes it (h2o generator,
 * one buffer in flight, the guest's window bounded by check-write), so a
 * large response is never held in memory. A request that came through
 * wisp's HTTP/1 front (front.h) streams its body the other way: the guest
 * reads it as it arrives, BODY_PIECE bytes at a time, and the front stops
 * reading the socket while the guest is behind; its response can end with
 * trailers.
 *
 * Life of a job: srv_http_start (413 check, concurrency slot or queue) ->
 * job_begin (stack, context) -> guest_main on the coroutine (instantiate,
 * call handle) with run_guest slices from the loop -> pump after every
 * switch (headers once the outparam is set, body bytes, final or error) ->
 * job_free when the guest is done and the response is complete or the
 * client is gone. Cut-offs (CPU, wall clock, client gone) set job->abort and
 * resume the guest: the hooks then fail, so the call ends with a trap and the
 * coroutine finishes normally; nothing is unwound by longjmp.
 *
 * Invariants: a job is touched only by its thread; it is in at most one list
 * (link); the coroutine runs only inside run_guest.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <ucontext.h>

#include "component/csnap.h"
#include "front.h"
#include "http_job.h"
#include "internal.h"
#include "wagi.h"
#include "wasihttp/wasihttp.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#define FIBER_START(save, bottom, size) __sanitizer_start_switch_fiber(save, bottom, size)
#define FIBER_FINISH(save, bottom, size) __sanitizer_finish_switch_fiber(save, bottom, size)
#define GUEST_STACK (4u << 20)
#else
#define FIBER_START(save, bottom, size) ((void)(save), (void)(bottom), (void)(size))
#define FIBER_FINISH(save, bottom, size) ((void)(save), (void)(bottom), (void)(size))
#define GUEST_STACK (1u << 20)
#endif
/* Switching between the loop and a guest's stack. On x86-64 a few
 * instructions of our own (coswitch below): ucontext's swapcontext saves and
 * restores the signal mask, a system call on every switch, three per request.
 * Elsewhere ucontext. */
#if defined(__x86_64__)
#define OWN_SWITCH 1
typedef struct coctx {
  void *sp; /* the saved stack pointer: callee-saved registers and the FPU control words on top */
} coctx_t;
/* Saves the current context in *from and resumes *to. */
void wisp_srv_coswitch(coctx_t *from, coctx_t *to);
/* Where a new context starts: calls guest_entry with the job in r12. */
void wisp_srv_costart(void);
__asm__(".text\n"
        ".p2align 4\n"
        ".globl wisp_srv_coswitch\n"
        ".hidden wisp_srv_coswitch\n"
        ".type wisp_srv_coswitch, @function\n"
        "wisp_srv_coswitch:\n"
        "  pushq %rbp\n"
        "  pushq %rbx\n"
        "  pushq %r12\n"
        "  pushq %r13\n"
        "  pushq %r14\n"
        "  pushq %r15\n"
        "  subq $8, %rsp\n"
        "  stmxcsr (%rsp)\n"
        "  fnstcw 4(%rsp)\n"
        "  movq %rsp, (%rdi)\n"
        "  movq (%rsi), %rsp\n"
        "  ldmxcsr (%rsp)\n"
        "  fldcw 4(%rsp)\n"
        "  addq $8, %rsp\n"
        "  popq %r15\n"
        "  popq %r14\n"
        "  popq %r13\n"
        "  popq %r12\n"
        "  popq %rbx\n"
        "  popq %rbp\n"
        "  ret\n"
        ".size wisp_srv_coswitch, .-wisp_srv_coswitch\n"
        ".p2align 4\n"
        ".globl wisp_srv_costart\n"
        ".hidden wisp_srv_costart\n"
        ".type wisp_srv_costart, @function\n"
        "wisp_srv_costart:\n"
        "  movq %r12, %rdi\n"
        "  call wisp_srv_guest_entry\n"
        "  ud2\n"
        ".size wisp_srv_costart, .-wisp_srv_costart\n");
#else
#define OWN_SWITCH 0
#endif
#define STACK_GUARD      4096
#define SPARE_STACKS     8
#define EXEC_STACK_CELLS (1u << 17)
#define EXEC_CALL_DEPTH  10000u
#define RESPONSE_WINDOW  65536
#define BODY_PIECE       65536 /* request body bytes handed to the guest at a time */

typedef enum where { NOWHERE, WAITING, READY, BLOCKED } where_t;
typedef enum outcome { OUT_NONE, OUT_RETURNED, OUT_TRAP, OUT_CPU, OUT_WALL, OUT_SETUP, OUT_GONE } outcome_t;

typedef struct http_job http_job_t;
struct http_job {
  h2o_generator_t gen; /* first: the generator callbacks find the job from it */
  srv_thread_t *thread;
  h2o_req_t *req;       /* NULL once the client is gone */
  http_job_t **handle;  /* in req's pool; points back here while both live */
  const wisp_manifest_trigger_t *trigger;
  srv_app_t *app; /* the version the request started on (a reference) */
  srv_component_t *comp;
  h2o_linklist_t link;
  where_t where;
  bool has_slot;
  uint64_t id, start_us, deadline_us, wake_us, instantiate_us, cpu_ns, cpu_limit_ns;
  /* the coroutine */
#if OWN_SWITCH
  coctx_t loop_uc, guest_uc;
#else
  ucontext_t loop_uc, guest_uc;
#endif
  void *stack;             /* mmap: guard page, then GUEST_STACK bytes */
  void *guest_fake;        /* ASan fake stacks */
  const void *loop_bottom;
  size_t loop_size;
  bool begun, done;        /* guest_main started / finished */
  uint32_t turns;          /* run_guest calls so far */
  bool abort;              /* the hooks fail from now on */
  outcome_t outcome;
  char trap[800];
  /* the instance */
  wisp_store_t *store;
  wisp_exec_t *exec;
  wisp__wasi2_t *wasi;
  wisp__http_t *http;
  wisp__cinst_t *inst;
  wisp__chost_func_t *funcs;
  const char **env;
  wisp__arena_t arena;
  /* the request body, when the front streams it */
  bool streamed, body_ended, body_too_large;
  uint64_t body_bytes;
  uint8_t *body_piece; /* BODY_PIECE bytes: the piece the guest is reading */
  /* the response */
  bool started, sending, final_sent, answered;
  bool pumping, repump; /* pump is on the stack / a proceed came meanwhile */
  int status;
  uint8_t *send_buf;
  size_t send_cap;
  uint64_t bytes;
  char line[2][400];      /* guest stdout, stderr: the current log line */
  size_t line_len[2];
};

static __thread void *spare_stacks[SPARE_STACKS];
static __thread unsigned nspare_stacks;

static uint64_t thread_cpu_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void srv_http_thread_init(srv_thread_t *thread) {
  h2o_linklist_init_anchor(&thread->http_waiting);
  h2o_linklist_init_anchor(&thread->http_ready);
  h2o_linklist_init_anchor(&thread->http_blocked);
}

/* ---- lists -------------------------------------------------------------------- */

static void move_to(http_job_t *job, where_t where) {
  if (h2o_linklist_is_linked(&job->link)) h2o_linklist_unlink(&job->link);
  job->where = where;
  srv_thread_t *t = job->thread;
  if (where == READY) h2o_linklist_insert(&t->http_ready, &job->link);
  else if (where == BLOCKED) h2o_linklist_insert(&t->http_blocked, &job->link);
  else if (where == WAITING) h2o_linklist_insert(&t->http_waiting, &job->link);
}

/* A blocked guest may go on: something it waits for may have changed. */
static void wake(http_job_t *job) {
  if (job->where == BLOCKED && job->begun && !job->done) move_to(job, READY);
}

/* An outbound request of the guest moved on (src/wasihttp/outgoing.c). */
static void on_outbound_progress(void *env) { wake(env); }

/* More of a streamed request body arrived, or it ended or broke (front.h). */
static void on_body_change(void *env) { wake(env); }

/* ---- switching between the loop and the guest ------------------------------------- */

static void to_loop(http_job_t *job, bool last) {
  FIBER_START(last ? NULL : &job->guest_fake, job->loop_bottom, job->loop_size);
#if OWN_SWITCH
  wisp_srv_coswitch(&job->guest_uc, &job->loop_uc);
#else
  swapcontext(&job->guest_uc, &job->loop_uc);
#endif
  FIBER_FINISH(job->guest_fake, &job->loop_bottom, &job->loop_size);
}

/* fuel hook: the slice ended; let the loop run, then continue (unless cut off) */
static bool on_fuel(void *env, wisp_exec_t *exec) {
  http_job_t *job = env;
  if (job->abort) return false;
  move_to(job, READY);
  to_loop(job, false);
  if (job->abort) return false;
  wisp_exec_set_fuel(exec, job->thread->slice_fuel);
  return true;
}

/* wasi2 wait hook: the guest blocks on a body stream or a timer */
static int on_wait(void *env, int64_t until_ns) {
  http_job_t *job = env;
  if (job->abort) return -1;
  uint64_t until_us = until_ns == INT64_MAX ? UINT64_MAX : (uint64_t)until_ns / 1000;
  job->wake_us = until_us < job->deadline_us ? until_us : job->deadline_us;
  move_to(job, BLOCKED);
  to_loop(job, false);
  return job->abort ? -1 : 0;
}

/* ---- guest stdio: stdin at its end, stdout/stderr to the log by line ------------------- */

static void flush_line(http_job_t *job, int which) {
  if (!job->line_len[which]) return;
  fprintf(stderr, "wisp: request %" PRIu64 " [%s] guest %s: %.*s\n", job->id, job->comp->manifest->id,
          which ? "stderr" : "stdout", (int)job->line_len[which], job->line[which]);
  if (job->app->log_fd >= 0) { /* `wisp serve`: the app's own log too */
    char line[sizeof job->line[0] + 128];
    int n = snprintf(line, sizeof line, "request %" PRIu64 " [%s] guest %s: %.*s", job->id, job->comp->manifest->id,
                     which ? "stderr" : "stdout", (int)job->line_len[which], job->line[which]);
    if (n > 0) srv_app_log(job->app, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
  }
  job->line_len[which] = 0;
}

static int64_t log_write(http_job_t *job, int which, const uint8_t *buf, size_t len) {
  for (size_t i = 0; i < len; i++) {
    if (buf[i] == '\n') {
      flush_line(job, which);
      continue;
    }
    if (job->line_len[which] == sizeof job->line[which]) flush_line(job, which);
    job->line[which][job->line_len[which]++] = (char)buf[i];
  }
  return 0;
}

static int64_t stdout_write(void *ctx, const uint8_t *buf, size_t len) { return log_write(ctx, 0, buf, len); }
static int64_t stderr_write(void *ctx, const uint8_t *buf, size_t len) { return log_write(ctx, 1, buf, len); }
static int64_t log_check_write(void *ctx) { (void)ctx; return 65536; }
static bool always_ready(void *ctx) { (void)ctx; return true; }
static int64_t stdin_read(void *ctx, uint8_t *buf, size_t len) {
  (void)ctx, (void)buf, (void)len;
  return WISP__WASI2_CLOSED;
}

static const wisp__wasi2_stream_ops_t stdin_ops = {.read = stdin_read, .ready = always_ready};
static const wisp__wasi2_stream_ops_t stdout_ops = {
    .check_write = log_check_write, .write = stdout_write, .ready = always_ready};
static const wisp__wasi2_stream_ops_t stderr_ops = {
    .check_write = log_check_write, .write = stderr_write, .ready = always_ready};

/* ---- instantiation ----------------------------------------------------------------- */

/* A component's host functions, made once when it is loaded and shared by
 * every thread (read-only): wasi:http's, then WASI 0.2's (with stubs for what
 * it imports and is not implemented), the request's hosts reached through env
 * slots that each instance binds to its own wisp__wasi2_t and wisp__http_t;
 * the component's imports resolved against them once (cinst.h). */
enum { HOST_SLOT_WASI2, HOST_SLOT_HTTP };
typedef struct srv_http_host {
  wisp__wasi2_table_t *wasi;
  wisp__chost_func_t *funcs;
  size_t nfuncs;
  wisp__cprep_t *prep;
} srv_http_host_t;

static void host_free(srv_http_host_t *h) {
  if (!h) return;
  wisp__cprep_delete(h->prep);
  free(h->funcs);
  wisp__wasi2_table_delete(h->wasi);
  free(h);
}

/* NULL when out of memory or when the imports do not link (then every
 * request instantiates with its own tables and reports the link error). */
static srv_http_host_t *host_new(const wisp_component_t *c) {
  srv_http_host_t *h = calloc(1, sizeof *h);
  size_t nh = 0, nw = 0;
  const wisp__chost_func_t *wf = NULL;
  wisp__chost_func_t *hf = h ? wisp__http_table_new(HOST_SLOT_HTTP, &nh) : NULL;
  if (!hf || wisp__wasi2_table_new(c, HOST_SLOT_WASI2, &h->wasi)) goto fail;
  wisp__wasi2_table_funcs(h->wasi, &wf, &nw);
  h->funcs = calloc(nh + nw + 1, sizeof *h->funcs);
  if (!h->funcs) goto fail;
  memcpy(h->funcs, hf, nh * sizeof *hf);
  memcpy(h->funcs + nh, wf, nw * sizeof *wf);
  h->nfuncs = nh + nw;
  free(hf);
  hf = NULL;
  wisp_error_t err = {0};
  if (wisp__cprep_new(c, h->funcs, h->nfuncs, &h->prep, &err)) goto fail;
  return h;
fail:
  free(hf);
  host_free(h);
  return NULL;
}

void srv_http_unload(srv_component_t *c) {
  host_free(c->http_host);
  c->http_host = NULL;
}

/* The trailers after a chunked request body, for the guest's future-trailers
 * (once the body has ended; a body read whole has them from the start). */
static void add_request_trailers(http_job_t *job) {
  const h2o_headers_t *t = srv_front_body_trailers(job->req);
  for (size_t i = 0; t && i < t->size; i++) {
    const h2o_header_t *e = &t->entries[i];
    if (wisp__http_body_in_trailer(job->http, e->name->base, e->name->len, e->value.base, e->value.len)) {
      fprintf(stderr, "wisp: request %" PRIu64 " [%s]: out of memory for the request's trailers; dropped\n",
              job->id, job->comp->manifest->id);
      return;
    }
  }
}

/* pull hook of a streamed request body (runs on the guest's stack, when the
 * guest has read the previous piece): the next piece from the front, copied,
 * since the front's buffer moves while the loop reads the socket. Nothing
 * when no byte is there yet: the guest's pollable stays not ready until
 * on_body_change wakes it. */
static void body_pull(void *env) {
  http_job_t *job = env;
  if (!job->req || job->body_ended) return; /* gone: on_handle_dispose failed the body */
  const uint8_t *data = NULL;
  size_t len = 0;
  srv_body_state_t st = srv_front_body_peek(job->req, &data, &len);
  size_t n = len < BODY_PIECE ? len : BODY_PIECE;
  uint64_t limit = job->comp->manifest->limits.max_request_bytes;
  uint64_t room = limit > job->body_bytes ? limit - job->body_bytes : 0;
  if (n > room) n = (size_t)room; /* the bytes up to the limit, then the failure */
  if (st != SRV_BODY_ERROR && n == 0 && len > 0) {
    fprintf(stderr, "wisp: request %" PRIu64 " [%s]: the request body is larger than the function's limit of %" PRIu64
                    " bytes; the guest's read fails\n",
            job->id, job->comp->manifest->id, limit);
    job->body_too_large = true;
    st = SRV_BODY_ERROR;
  }
  if (st == SRV_BODY_ERROR) {
    job->body_ended = true;
    wisp__http_body_in_fail(job->http);
    return;
  }
  if (n == 0 && st == SRV_BODY_MORE) return;
  if (n && !job->body_piece && !(job->body_piece = malloc(BODY_PIECE))) {
    job->body_ended = true;
    wisp__http_body_in_fail(job->http);
    return;
  }
  if (n) memcpy(job->body_piece, data, n);
  srv_front_body_consume(job->req, n);
  job->body_bytes += n;
  bool last = st == SRV_BODY_END && n == len;
  job->body_ended = last;
  if (last) add_request_trailers(job);
  wisp__http_body_in_next(job->http, job->body_piece, n, last);
}

/* The request as the wasi:http host takes it (copied there). */
static int make_host(http_job_t *job) {
  h2o_req_t *req = job->req;
  size_t n = req->headers.size;
  wisp__http_header_t *hs = calloc(n + 1, sizeof *hs);
  if (!hs) return WISP_ERR_NOMEM;
  size_t k = 0;
  bool has_host = false;
  for (size_t i = 0; i < n; i++) {
    const h2o_header_t *e = &req->headers.entries[i];
    hs[k++] = (wisp__http_header_t){e->name->base, e->name->len, e->value.base, e->value.len};
    if (e->name == &H2O_TOKEN_HOST->buf) has_host = true;
  }
  if (!has_host && req->authority.len)
    hs[k++] = (wisp__http_header_t){"host", 4, req->authority.base, req->authority.len};
  wisp__http_request_t r = {req->method.base, req->method.len, req->path.base, req->path.len,
                            req->scheme == &H2O_URL_SCHEME_HTTPS, req->authority.base, req->authority.len, hs, k};
  wisp__http_config_t cfg = {.wasi = job->wasi,
                             .max_response_bytes = job->comp->manifest->limits.max_response_bytes,
                             .window = RESPONSE_WINDOW,
                             .outbound = job->thread->outbound,
                             .component = job->comp->manifest,
                             .wake = on_outbound_progress,
                             .wake_env = job,
                             .request_id = job->id};
  int rc = wisp__http_new(&cfg, &r, &job->http);
  free(hs);
  if (rc) return rc;
  if (job->streamed)
    wisp__http_body_in_pull(job->http, body_pull, job);
  else {
    wisp__http_body_in_set(job->http, (const uint8_t *)req->entity.base, req->entity.base ? req->entity.len : 0,
                           true);
    if (srv_front_owns(req)) add_request_trailers(job);
  }
  return 0;
}

/* The instance for this request, in job->store. The one place an instance is
 * made: a snapshot-based path can replace the body of this function. 0, or
 * -1 with the reason in job->trap. */
static int srv_http_instantiate(http_job_t *job) {
  srv_t *srv = job->thread->srv;
  const wisp_manifest_component_t *mc = job->comp->manifest;
  const wisp_component_t *c = job->comp->http;
  job->env = calloc(mc->env_count + 1, sizeof *job->env);
  if (!job->env) goto nomem;
  for (size_t i = 0; i < mc->env_count; i++) {
    size_t len = strlen(mc->env[i].name) + strlen(mc->env[i].value) + 2;
    char *kv = wisp__arena_alloc(&job->arena, len);
    if (!kv) goto nomem;
    snprintf(kv, len, "%s=%s", mc->env[i].name, mc->env[i].value);
    job->env[i] = kv;
  }
  static const char *const no_args[] = {"wisp"};
  wisp__wasi2_config_t wcfg = {.argv = no_args, .argc = 1, .env = job->env, .envc = mc->env_count,
                               .stdio = {-1, -1, -1}, .preopens = job->comp->preopens,
                               .npreopens = job->comp->npreopens,
                               .deadline_ns = (int64_t)job->deadline_us * 1000,
                               .stdio_ops = {&stdin_ops, &stdout_ops, &stderr_ops},
                               .stdio_ctx = {job, job, job}, .wait = on_wait, .wait_env = job};
  int rc = wisp__wasi2_new(&wcfg, &job->wasi);
  if (rc == WISP_ERR_ARG) {
    snprintf(job->trap, sizeof job->trap, "WASI setup failed: %.600s", wisp__wasi2_error(job->wasi));
    return -1;
  }
  if (rc < 0 || make_host(job) < 0) goto nomem;
  /* with a snapshot the shapes were checked once at start (srv_http_snapshot) */
  if (!job->comp->csnap && wisp__http_check(job->http, c) == WISP_ERR_LINK) {
    snprintf(job->trap, sizeof job->trap, "link error: %.700s", wisp__http_error(job->http));
    return -1;
  }
  if (!job->comp->csnap && wisp__wasi2_check(job->wasi, c) == WISP_ERR_LINK) {
    snprintf(job->trap, sizeof job->trap, "link error: %.700s", wisp__wasi2_error(job->wasi));
    return -1;
  }
  /* the component's shared host table with this request's hosts bound to
   * its env slots, or (imports that do not link) tables made for this request */
  const srv_http_host_t *host = job->comp->http_host;
  const wisp__cprep_t *prep = host ? host->prep : NULL;
  void *envs[2] = {[HOST_SLOT_WASI2] = job->wasi, [HOST_SLOT_HTTP] = job->http};
  size_t nfuncs = 0;
  if (!prep) {
    const wisp__chost_func_t *hf = NULL, *wf = NULL;
    size_t nh = 0, nw = 0;
    if (wisp__http_host_funcs(job->http, &hf, &nh) || wisp__wasi2_host_funcs(job->wasi, c, &wf, &nw)) goto nomem;
    job->funcs = calloc(nh + nw + 1, sizeof *job->funcs);
    if (!job->funcs) goto nomem;
    memcpy(job->funcs, hf, nh * sizeof *hf);
    memcpy(job->funcs + nh, wf, nw * sizeof *wf);
    nfuncs = nh + nw;
  }

  job->store = wisp_store_new(srv->engine);
  if (!job->store) goto nomem;
  wisp_store_limits_t limits = {.max_memory_bytes = (uint64_t)mc->limits.memory_mib << 20};
  wisp_store_set_limits(job->store, &limits);
  srv_thread_t *t = job->thread;
  wisp_exec_config_t ecfg = {.stack_cells = EXEC_STACK_CELLS, .max_call_depth = EXEC_CALL_DEPTH};
  job->exec = t->nspare ? t->spare_execs[--t->nspare] : wisp_exec_new(job->store, &ecfg);
  if (!job->exec) goto nomem;
  wisp_exec_set_store(job->exec, job->store);
  wisp_exec_set_fuel(job->exec, t->slice_fuel * 10); /* start functions */
  wisp_error_t err = {0};
  if (job->comp->csnap) { /* every core instance from the start-up snapshot, memory in pool slots */
    wisp_store_set_pool(job->store, srv->pool);
    rc = prep ? wisp__cinst_from_csnap_prepared(job->comp->csnap, prep, job->store, job->exec, envs, 2, &job->inst,
                                                &err)
              : wisp__cinst_from_csnap(job->comp->csnap, job->store, job->exec, job->funcs, nfuncs, &job->inst, &err);
    srv_pool_note(srv, job->comp, job->store);
  } else if (prep) {
    rc = wisp__cinst_new_prepared(prep, job->store, job->exec, envs, 2, NULL, NULL, &job->inst, &err);
  } else {
    rc = wisp__cinst_new(c, job->store, job->exec, job->funcs, nfuncs, &job->inst, &err);
  }
  if (rc < 0) {
    snprintf(job->trap, sizeof job->trap, "instantiation failed: %.600s", err.message);
    return -1;
  }
  return 0;
nomem:
  snprintf(job->trap, sizeof job->trap, "out of memory creating the instance");
  return -1;
}

/* Runs on the coroutine: instantiate, call handle, record how it ended. */
static void guest_main(unsigned lo, unsigned hi) {
  http_job_t *job = (http_job_t *)(((uintptr_t)hi << 32) | (uintptr_t)lo);
  FIBER_FINISH(NULL, &job->loop_bottom, &job->loop_size);
  uint64_t t0 = srv_now_us();
  if (srv_http_instantiate(job) < 0) {
    job->outcome = OUT_SETUP;
  } else {
    job->instantiate_us = srv_now_us() - t0;
    atomic_fetch_add(&job->thread->srv->metrics->instantiate_sum_us, job->instantiate_us);
    atomic_fetch_add(&job->thread->srv->metrics->instantiate_count, 1);
    wisp__cfunc_t *handle = wisp__cinst_func(job->inst, WISP__HTTP_HANDLER, "handle");
    const wisp__ctype_t *ft = handle ? wisp__ctype(job->comp->http, wisp__cfunc_type(handle)) : NULL;
    if (!ft || ft->n != 2 || ft->nresults != 0) {
      snprintf(job->trap, sizeof job->trap, "the component's wasi:http/incoming-handler#handle is not usable");
      job->outcome = OUT_SETUP;
    } else {
      uint32_t req_rep = 0, out_rep = 0;
      wisp__http_handle_args(job->http, &req_rep, &out_rep);
      wisp__cval_t args[2] = {{.type = ft->fields[0].type, .of.u = req_rep},
                              {.type = ft->fields[1].type, .of.u = out_rep}};
      wisp__cinst_set_fuel_hook(job->inst, on_fuel, job);
      wisp_exec_set_fuel(job->exec, job->thread->slice_fuel);
      if (wisp__cinst_call(job->inst, handle, args, 2, NULL, 0, &job->arena, job->trap, sizeof job->trap) == 0)
        job->outcome = OUT_RETURNED;
      else if (job->outcome == OUT_NONE)
        job->outcome = job->abort ? OUT_GONE : srv_now_us() >= job->deadline_us ? OUT_WALL : OUT_TRAP;
      wisp__http_handler_returned(job->http);
    }
  }
  job->done = true;
  to_loop(job, true);
}

/* ---- the response -------------------------------------------------------------------- */

static void on_handle_dispose(void *p) {
  http_job_t **handle = p;
  http_job_t *job = *handle;
  if (!job) return;
  job->req = NULL;
  job->handle = NULL;
  if (job->http) { /* the entity lived in the request's pool; a streamed body broke off */
    if (job->streamed && !job->body_ended)
      wisp__http_body_in_fail(job->http);
    else
      wisp__http_body_in_detach(job->http);
  }
  /* Once the whole response is out, the guest may run on to the end of
   * handle within its CPU and wall-clock limits (wasi:http allows work after
   * the response; componentize-js guests settle their event loop there).
   * Before that, the request going away means the client left. */
  if (!job->done && !job->final_sent) {
    job->abort = true;
    if (job->outcome == OUT_NONE) job->outcome = OUT_GONE;
    if (job->begun) move_to(job, READY);
  }
}

static void log_and_count(http_job_t *job, h2o_req_t *req, int status, uint64_t bytes) {
  srv_t *srv = job->thread->srv;
  uint64_t dur = srv_now_us() - job->start_us;
  size_t route = srv_route_index(srv, job->app, job->trigger);
  srv_metrics_request(srv, route, status, dur);
  srv_access_t entry = {job->id, job->trigger->route, status, bytes, dur, job->instantiate_us, job->cpu_ns / 1000,
                        job->app};
  if (req) srv_access_log(srv, req, &entry);
  job->answered = true;
}

/* Answers with an error page (the response has not started). */
static void respond_error(http_job_t *job, int status, const char *what) {
  h2o_req_t *req = job->req;
  if (!req || job->started) return;
  char body[600];
  int n = snprintf(body, sizeof body, "%d %s: %s (request id %" PRIu64 ")\n", status, wagi_reason_phrase(status),
                   what, job->id);
  if (n < 0 || (size_t)n >= sizeof body) n = (int)strlen(body);
  job->started = job->final_sent = true;
  req->res.status = status;
  req->res.reason = wagi_reason_phrase(status);
  h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                 H2O_STRLIT("text/plain; charset=utf-8"));
  log_and_count(job, req, status, (uint64_t)n);
  req->res.content_length = (size_t)n;
  h2o_send_inline(req, body, (size_t)n);
}

static bool skip_header(const wisp__http_header_t *h) {
  static const char *const hop[] = {"connection", "transfer-encoding", "content-length", "keep-alive",
                                    "upgrade",    "proxy-connection",  "te",             "trailer"};
  for (size_t i = 0; i < sizeof hop / sizeof hop[0]; i++)
    if (h->name_len == strlen(hop[i]) && memcmp(h->name, hop[i], h->name_len) == 0) return true;
  return false;
}

static void on_proceed(h2o_generator_t *gen, h2o_req_t *req);
static void on_stop(h2o_generator_t *gen, h2o_req_t *req);

/* Status and headers from the response the guest set; the body follows. */
static void start_response(http_job_t *job) {
  h2o_req_t *req = job->req;
  job->started = true;
  job->status = wisp__http_status(job->http);
  req->res.status = job->status;
  req->res.reason = wagi_reason_phrase(job->status);
  int64_t content_length = -1;
  for (size_t i = 0; i < wisp__http_header_count(job->http); i++) {
    wisp__http_header_t h;
    wisp__http_header(job->http, i, &h);
    if (h.name_len == 14 && memcmp(h.name, "content-length", 14) == 0) {
      char num[24];
      size_t n = h.value_len < sizeof num - 1 ? h.value_len : sizeof num - 1;
      memcpy(num, h.value, n);
      num[n] = 0;
      char *end = NULL;
      long long v = strtoll(num, &end, 10);
      if (n && !*end && v >= 0) content_length = v;
    }
    if (skip_header(&h)) continue;
    h2o_iovec_t name = h2o_strdup(&req->pool, h.name, h.name_len);
    h2o_iovec_t value = h2o_strdup(&req->pool, h.value, h.value_len);
    h2o_add_header_by_str(&req->pool, &req->res.headers, name.base, name.len, 1, NULL, value.base, value.len);
  }
  const uint8_t *data = NULL;
  size_t pending = wisp__http_body_out_peek(job->http, &data);
  if (content_length >= 0)
    req->res.content_length = (size_t)content_length;
  else if (wisp__http_body_out_state(job->http) == WISP__HTTP_BODY_DONE && !wisp__http_trailer_count(job->http))
    req->res.content_length = pending; /* the whole body is here (and no trailers need chunks) */
  job->gen = (h2o_generator_t){on_proceed, on_stop};
  h2o_start_response(req, &job->gen);
}

/* The guest's trailers, after the last chunk: 0, or -1 when the response
 * cannot carry them. */
static int send_trailers(http_job_t *job) {
  h2o_req_t *req = job->req;
  size_t n = wisp__http_trailer_count(job->http);
  h2o_header_t *hs = h2o_mem_alloc_pool(&req->pool, n * sizeof *hs);
  h2o_iovec_t *names = h2o_mem_alloc_pool(&req->pool, n * sizeof *names);
  for (size_t i = 0; i < n; i++) {
    wisp__http_header_t t;
    wisp__http_trailer(job->http, i, &t);
    names[i] = h2o_iovec_init(t.name, t.name_len);
    hs[i] = (h2o_header_t){.name = &names[i], .orig_name = NULL, .value = h2o_iovec_init(t.value, t.value_len)};
  }
  return srv_front_set_trailers(req, hs, n);
}

/* Moves the response forward: headers once set, the next body bytes when no
 * send is in flight, the end (or an abort) when the body is complete (or
 * broken). */
static void pump_once(http_job_t *job) {
  h2o_req_t *req = job->req;
  if (!req || job->final_sent || !job->http) return;
  if (!job->started) {
    if (wisp__http_response(job->http) != WISP__HTTP_RESPONSE) return;
    if (wisp__http_body_out_state(job->http) == WISP__HTTP_BODY_BROKEN) {
      fprintf(stderr, "wisp: request %" PRIu64 " [%s]: broken response body: %s\n", job->id,
              job->comp->manifest->id, wisp__http_body_out_error(job->http));
      respond_error(job, 500, "the function's response body is incomplete; the reason is in the server log");
      return;
    }
    if (wisp__http_status(job->http) < 200) { /* 1xx cannot be a final response */
      fprintf(stderr, "wisp: request %" PRIu64 " [%s]: response status %u is not a final status\n", job->id,
              job->comp->manifest->id, (unsigned)wisp__http_status(job->http));
      respond_error(job, 502, "the function's response has an informational (1xx) status");
      return;
    }
    start_response(job);
  }
  if (job->sending) return;
  const uint8_t *data = NULL;
  size_t len = wisp__http_body_out_peek(job->http, &data);
  wisp__http_body_state_t st = wisp__http_body_out_state(job->http);
  bool cut = job->done && job->outcome != OUT_RETURNED && st == WISP__HTTP_BODY_OPEN;
  if (st == WISP__HTTP_BODY_BROKEN || cut) {
    fprintf(stderr, "wisp: request %" PRIu64 " [%s]: response aborted after %" PRIu64 " bytes: %s\n", job->id,
            job->comp->manifest->id, job->bytes,
            st == WISP__HTTP_BODY_BROKEN ? wisp__http_body_out_error(job->http) : "the function was cut off");
    job->final_sent = true;
    log_and_count(job, req, job->status, job->bytes);
    h2o_send(req, NULL, 0, H2O_SEND_STATE_ERROR);
    return;
  }
  if (len == 0 && st != WISP__HTTP_BODY_DONE) return;
  bool final = st == WISP__HTTP_BODY_DONE;
  /* h2o may write the bytes after h2o_send returns: until on_proceed for a
   * chunk in progress (job->send_buf), until the request is disposed for the
   * last one (its pool: the job may be gone by then). */
  uint8_t *to = NULL;
  if (final) {
    to = len ? h2o_mem_alloc_pool(&req->pool, len) : NULL;
  } else {
    if (len > job->send_cap) {
      uint8_t *grown = realloc(job->send_buf, len);
      if (!grown) return;
      job->send_buf = grown;
      job->send_cap = len;
    }
    to = job->send_buf;
  }
  if (len) memcpy(to, data, len);
  wisp__http_body_out_consume(job->http, len);
  job->bytes += len;
  h2o_iovec_t buf = h2o_iovec_init(to, len);
  if (final) {
    if (wisp__http_trailer_count(job->http) && send_trailers(job) < 0)
      fprintf(stderr,
              "wisp: request %" PRIu64 " [%s]: response trailers dropped (this response cannot carry them: "
              "HTTP/2, HTTP/1.0, a content-length or a HEAD request)\n",
              job->id, job->comp->manifest->id);
    job->final_sent = true;
    log_and_count(job, req, job->status, job->bytes);
  } else {
    job->sending = true;
  }
  wake(job); /* the window has room again */
  h2o_send(req, &buf, 1, final ? H2O_SEND_STATE_FINAL : H2O_SEND_STATE_IN_PROGRESS);
}

/* pump_once until it stops making progress; h2o may call on_proceed from
 * inside h2o_send */
static void pump(http_job_t *job) {
  if (job->pumping) {
    job->repump = true;
    return;
  }
  job->pumping = true;
  do {
    job->repump = false;
    pump_once(job);
  } while (job->repump);
  job->pumping = false;
}

static void job_free(http_job_t *job);

/* The job ends once the guest is done and nothing is left to send. */
static void maybe_free(http_job_t *job) {
  if (!job->done) return;
  if (job->req && !job->final_sent) {
    if (job->where != BLOCKED) {
      job->wake_us = job->deadline_us; /* a slow reader is cut at the wall-clock limit */
      move_to(job, BLOCKED);
    }
    return;
  }
  job_free(job);
}

static void on_proceed(h2o_generator_t *gen, h2o_req_t *req) {
  (void)req;
  http_job_t *job = (http_job_t *)gen;
  job->sending = false;
  if (job->pumping) {
    job->repump = true;
    return;
  }
  pump(job);
  maybe_free(job);
}

static void on_stop(h2o_generator_t *gen, h2o_req_t *req) {
  (void)req;
  http_job_t *job = (http_job_t *)gen;
  job->sending = false;
  if (!job->done && !job->final_sent) { /* as in on_handle_dispose */
    job->abort = true;
    if (job->outcome == OUT_NONE) job->outcome = OUT_GONE;
    if (job->begun) move_to(job, READY);
  }
}

/* After the guest finished: an answer for every way it can end. */
static void finish(http_job_t *job) {
  const char *id = job->comp->manifest->id;
  srv_metrics_t *m = job->thread->srv->metrics;
  if (job->body_too_large) /* nothing, if the guest answered anyway */
    respond_error(job, 413, "the request body is larger than the function's limit");
  switch (job->outcome) {
    case OUT_SETUP:
      fprintf(stderr, "wisp: request %" PRIu64 " [%s]: %s\n", job->id, id, job->trap);
      respond_error(job, 500, "the function could not be instantiated; the reason is in the server log");
      break;
    case OUT_TRAP:
      fprintf(stderr, "wisp: request %" PRIu64 " [%s]: trap: %s\n", job->id, id, job->trap);
      atomic_fetch_add(&m->traps, 1);
      respond_error(job, 500, "the function trapped; the trap is in the server log");
      break;
    case OUT_CPU:
      fprintf(stderr, "wisp: request %" PRIu64 " [%s]: CPU time limit of %" PRIu32 " ms exceeded\n", job->id, id,
              job->comp->manifest->limits.cpu_ms);
      atomic_fetch_add(&m->cpu_limits, 1);
      respond_error(job, 504, "the function used more than its CPU time limit");
      break;
    case OUT_WALL:
      fprintf(stderr, "wisp: request %" PRIu64 " [%s]: wall-clock limit of %" PRIu32 " ms exceeded\n", job->id, id,
              job->comp->manifest->limits.wall_ms);
      atomic_fetch_add(&m->wall_limits, 1);
      respond_error(job, 504, "the function ran longer than its wall-clock limit");
      break;
    case OUT_GONE:
      fprintf(stderr, "wisp: request %" PRIu64 " [%s]: client closed the connection; guest stopped\n", job->id, id);
      respond_error(job, 499, "client closed the connection"); /* when h2o still holds the request */
      break;
    case OUT_RETURNED:
    case OUT_NONE:
      if (wisp__http_response(job->http) == WISP__HTTP_ERROR) {
        fprintf(stderr, "wisp: request %" PRIu64 " [%s]: the function answered with %s\n", job->id, id,
                wisp__http_error_text(job->http));
        respond_error(job, 500, "the function answered with an error; it is in the server log");
      } else if (wisp__http_response(job->http) == WISP__HTTP_PENDING) {
        fprintf(stderr, "wisp: request %" PRIu64 " [%s]: handle returned without response-outparam.set\n", job->id,
                id);
        respond_error(job, 500, "the function returned without setting a response");
      }
      break;
  }
  pump(job);
}

/* Gives the guest its next turn: until its slice ends, it blocks or it is done. */
static void run_guest(http_job_t *job) {
  srv_thread_t *t = job->thread;
  if (!job->abort && job->outcome == OUT_NONE && job->req && !job->started && job->cpu_ns &&
      srv_client_closed(job->req)) {
    job->abort = true;
    job->outcome = OUT_GONE;
  }
  if (!job->abort && job->outcome == OUT_NONE) {
    if (srv_now_us() >= job->deadline_us) {
      job->abort = true;
      job->outcome = OUT_WALL;
    } else if (job->cpu_ns > job->cpu_limit_ns) {
      job->abort = true;
      job->outcome = OUT_CPU;
    }
  }
  move_to(job, NOWHERE);
  /* The thread CPU clock is a system call; the first turn (most requests end
   * in it) is timed with the monotonic clock (vDSO) instead, as the WAGI
   * executor does: the two differ only when the thread is preempted. */
  bool precise = job->turns++ > 0;
  uint64_t c0 = precise ? thread_cpu_ns() : mono_ns();
  void *fake = NULL;
  FIBER_START(&fake, (char *)job->stack + STACK_GUARD, GUEST_STACK);
#if OWN_SWITCH
  wisp_srv_coswitch(&job->loop_uc, &job->guest_uc);
#else
  swapcontext(&job->loop_uc, &job->guest_uc);
#endif
  FIBER_FINISH(fake, NULL, NULL);
  job->cpu_ns += (precise ? thread_cpu_ns() : mono_ns()) - c0;
  (void)t;
  if (job->done) {
    finish(job);
    maybe_free(job);
    return;
  }
  pump(job);
}

/* ---- admission and the life of a job --------------------------------------------------------- */

static void job_free(http_job_t *job) {
  srv_thread_t *t = job->thread;
  if (h2o_linklist_is_linked(&job->link)) h2o_linklist_unlink(&job->link);
  if (job->where == WAITING) atomic_fetch_sub(&job->comp->queued, 1);
  if (job->has_slot) atomic_fetch_sub(&job->comp->running, 1);
  if (job->handle) *job->handle = NULL;
  if (job->req && job->streamed) srv_front_body_on_change(job->req, NULL, NULL);
  flush_line(job, 0);
  flush_line(job, 1);
  if (!job->answered)
    srv_metrics_request(t->srv, srv_route_index(t->srv, job->app, job->trigger), 499, srv_now_us() - job->start_us);
  if (job->cpu_ns) atomic_fetch_add(&t->srv->metrics->guest_cpu_us, job->cpu_ns / 1000);
  wisp__cinst_delete(job->inst);
  if (job->exec) {
    wisp_exec_abort(job->exec);
    wisp_trap_delete(wisp_exec_take_trap(job->exec));
    if (t->nspare < SRV_SPARE_EXECS && wisp_exec_set_store(job->exec, NULL) == 0)
      t->spare_execs[t->nspare++] = job->exec;
    else
      wisp_exec_delete(job->exec);
  }
  wisp_store_delete(job->store);
  wisp__wasi2_delete(job->wasi);
  wisp__http_delete(job->http);
  free(job->funcs);
  free(job->env);
  wisp__arena_free(&job->arena);
  free(job->send_buf);
  free(job->body_piece);
  if (job->stack) {
    if (nspare_stacks < SPARE_STACKS)
      spare_stacks[nspare_stacks++] = job->stack;
    else
      munmap(job->stack, GUEST_STACK + STACK_GUARD);
  }
  srv_app_release(job->app); /* last: the component belongs to it */
  free(job);
  t->inflight--;
  atomic_fetch_sub(&t->srv->metrics->inflight, 1);
}

/* A guest stack: guard page below, GUEST_STACK bytes; NULL when out of memory. */
static void *stack_new(void) {
  if (nspare_stacks) return spare_stacks[--nspare_stacks];
  void *stack = mmap(NULL, GUEST_STACK + STACK_GUARD, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) return NULL;
  if (mprotect(stack, STACK_GUARD, PROT_NONE) < 0) {
    munmap(stack, GUEST_STACK + STACK_GUARD);
    return NULL;
  }
  return stack;
}

/* The coroutine's context: guest_main(job) on job->stack. */
#if OWN_SWITCH
void wisp_srv_guest_entry(http_job_t *job);
void wisp_srv_guest_entry(http_job_t *job) {
  guest_main((unsigned)((uintptr_t)job & 0xffffffffu), (unsigned)((uintptr_t)job >> 32));
}

static void context_init(http_job_t *job) {
#if defined(__SANITIZE_ADDRESS__)
  /* a reused stack keeps the poisoning of frames an earlier guest never left
   * (ASan's swapcontext interceptor clears it; this switch is not intercepted) */
  __asan_unpoison_memory_region((char *)job->stack + STACK_GUARD, GUEST_STACK);
#endif
  /* what wisp_srv_coswitch pops, from the top of the stack down: the FPU
   * control words (the loop's), r15..rbp (r12 = the job), then the return
   * address wisp_srv_costart, placed so that the stack pointer is 16-byte
   * aligned after the ret (before its call, as the ABI wants) */
  uint64_t *top = (uint64_t *)((char *)job->stack + STACK_GUARD + GUEST_STACK); /* page aligned */
  uint64_t *sp = top - 3;
  sp[0] = (uint64_t)(uintptr_t)wisp_srv_costart;
  sp[1] = sp[2] = 0;
  sp -= 6;
  for (int i = 0; i < 6; i++) sp[i] = 0; /* r15, r14, r13, r12, rbx, rbp */
  sp[3] = (uint64_t)(uintptr_t)job;       /* r12 */
  sp -= 1;
  uint32_t mxcsr = 0;
  uint16_t fpucw = 0;
  __asm__ volatile("stmxcsr %0" : "=m"(mxcsr));
  __asm__ volatile("fnstcw %0" : "=m"(fpucw));
  memcpy((char *)sp, &mxcsr, 4);
  memcpy((char *)sp + 4, &fpucw, 2);
  job->guest_uc.sp = sp;
}
#else
static void context_init(http_job_t *job) {
  getcontext(&job->guest_uc);
  job->guest_uc.uc_stack.ss_sp = (char *)job->stack + STACK_GUARD;
  job->guest_uc.uc_stack.ss_size = GUEST_STACK;
  job->guest_uc.uc_link = NULL;
  makecontext(&job->guest_uc, (void (*)(void))guest_main, 2, (unsigned)((uintptr_t)job & 0xffffffffu),
              (unsigned)((uintptr_t)job >> 32));
}
#endif

static void job_begin(http_job_t *job) {
  job->stack = stack_new();
  if (!job->stack) {
    respond_error(job, 503, "out of memory");
    job_free(job);
    return;
  }
  context_init(job);
  job->begun = true;
  run_guest(job);
}

static bool take_slot(srv_component_t *comp) {
  unsigned prev = atomic_fetch_add(&comp->running, 1);
  if (prev < comp->manifest->limits.max_concurrency) return true;
  atomic_fetch_sub(&comp->running, 1);
  return false;
}

void srv_http_start(srv_thread_t *thread, h2o_req_t *req, srv_app_t *app, const wisp_manifest_trigger_t *trigger,
                    uint64_t id) {
  srv_t *srv = thread->srv;
  srv_component_t *comp = &app->components[trigger->component];
  http_job_t *job = calloc(1, sizeof *job);
  if (!job) {
    req->res.status = 503;
    h2o_send_inline(req, H2O_STRLIT("503 Service Unavailable: out of memory\n"));
    return;
  }
  job->thread = thread;
  job->req = req;
  job->trigger = trigger;
  job->app = app;
  atomic_fetch_add(&app->refs, 1);
  job->comp = comp;
  job->id = id;
  job->start_us = srv_now_us();
  job->deadline_us = job->start_us + (uint64_t)comp->manifest->limits.wall_ms * 1000;
  job->cpu_limit_ns = (uint64_t)comp->manifest->limits.cpu_ms * 1000000;
  wisp__arena_init(&job->arena);
  job->handle = h2o_mem_alloc_shared(&req->pool, sizeof *job->handle, on_handle_dispose);
  *job->handle = job;
  thread->inflight++;
  atomic_fetch_add(&srv->metrics->inflight, 1);
  job->streamed = srv_front_streaming(req);
  /* the body's length when known now (-1: a streamed chunked body, checked as it arrives) */
  int64_t length = job->streamed ? srv_front_body_length(req) : req->entity.base ? (int64_t)req->entity.len : -1;
  if (length > (int64_t)comp->manifest->limits.max_request_bytes) {
    respond_error(job, 413, "the request body is larger than the function's limit");
    job_free(job);
    return;
  }
  if (job->streamed) srv_front_body_on_change(req, on_body_change, job);
  if (take_slot(comp)) {
    job->has_slot = true;
    job_begin(job);
    return;
  }
  unsigned queued = atomic_fetch_add(&comp->queued, 1);
  job->where = WAITING;
  if (queued >= comp->queue_cap) {
    atomic_fetch_add(&srv->metrics->rejected_queue_full, 1);
    respond_error(job, 503, "the function is at its concurrency limit and its queue is full");
    job_free(job);
    return;
  }
  move_to(job, WAITING);
}

bool srv_http_run_jobs(srv_thread_t *thread) {
  uint64_t now = srv_now_us();
  for (h2o_linklist_t *n = thread->http_waiting.next, *next; n != &thread->http_waiting; n = next) {
    next = n->next;
    http_job_t *job = H2O_STRUCT_FROM_MEMBER(http_job_t, link, n);
    if (!job->req) {
      job_free(job);
    } else if (now >= job->deadline_us) {
      atomic_fetch_add(&thread->srv->metrics->wall_limits, 1);
      respond_error(job, 504, "the function's wall-clock limit passed while the request was queued");
      job_free(job);
    } else if (take_slot(job->comp)) {
      atomic_fetch_sub(&job->comp->queued, 1);
      move_to(job, NOWHERE);
      job->has_slot = true;
      job_begin(job);
    }
  }
  for (h2o_linklist_t *n = thread->http_blocked.next, *next; n != &thread->http_blocked; n = next) {
    next = n->next;
    http_job_t *job = H2O_STRUCT_FROM_MEMBER(http_job_t, link, n);
    if (now < job->wake_us && job->req) continue;
    if (!job->done) {
      move_to(job, READY);
      continue;
    }
    /* done, but the response could not be sent in time (or the client left) */
    move_to(job, NOWHERE);
    if (job->req && !job->final_sent && !job->sending) {
      job->final_sent = true;
      fprintf(stderr, "wisp: request %" PRIu64 " [%s]: wall-clock limit passed while sending the response\n",
              job->id, job->comp->manifest->id);
      log_and_count(job, job->req, job->status, job->bytes);
      h2o_send(job->req, NULL, 0, H2O_SEND_STATE_ERROR);
    }
    if (!job->req || job->final_sent) job_free(job);
    else move_to(job, BLOCKED); /* a send is in flight: wait for it */
  }
  /* one round: every job ready now runs once; jobs made ready meanwhile wait */
  h2o_linklist_t round;
  h2o_linklist_init_anchor(&round);
  h2o_linklist_insert_list(&round, &thread->http_ready);
  while (!h2o_linklist_is_empty(&round)) {
    http_job_t *job = H2O_STRUCT_FROM_MEMBER(http_job_t, link, round.next);
    h2o_linklist_unlink(&job->link);
    job->where = NOWHERE;
    if (job->done) {
      maybe_free(job);
      continue;
    }
    run_guest(job);
  }
  return !h2o_linklist_is_empty(&thread->http_ready) || !h2o_linklist_is_empty(&thread->http_waiting) ||
         !h2o_linklist_is_empty(&thread->http_blocked);
}

bool srv_http_has_ready(srv_thread_t *thread) { return !h2o_linklist_is_empty(&thread->http_ready); }

int srv_http_load(srv_component_t *c, wisp_engine_t *engine, const uint8_t *bytes, size_t len) {
  wisp_error_t err = {0};
  int rc = wisp_component_new(engine, bytes, len, &c->http, &err);
  if (rc < 0) {
    fprintf(stderr, "wisp: component '%s': %s: %s: %s\n", c->manifest->id, c->manifest->source, wisp_err_name(rc),
            err.message);
    return -1;
  }
  if (!wisp__http_is_handler(c->http)) {
    fprintf(stderr,
            "wisp: component '%s': %s is a component but does not export wasi:http/incoming-handler "
            "(wisp serves wasi:http/proxy components, and WASI command modules by WAGI)\n",
            c->manifest->id, c->manifest->source);
    return -1;
  }
  c->http_host = host_new(c->http);
  return 0;
}
