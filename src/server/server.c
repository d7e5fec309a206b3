/*
 * server.c: `wisp up`: load the manifest, compile every WAGI component once,
 * open the listeners and run one h2o event loop per thread until SIGTERM or
 * SIGINT; then stop accepting, finish in-flight requests and return.
 *
 * By default one worker process per CPU, each with one loop thread: the
 * engine maps and unmaps linear memory for every instance, and in a
 * multi-threaded process each munmap interrupts the other CPUs to flush
 * their TLBs (measured here: 2 processes serve 1.8x the requests/s of 2
 * threads). Processes are forked after the modules are compiled; counters
 * live in MAP_SHARED memory. Each loop thread owns an h2o context and its
 * own SO_REUSEPORT listener on the application address (the kernel spreads
 * connections between them); the first thread of the first process also
 * serves the admin listener (/metrics, /healthz). A request is
 * routed with the manifest's matcher and handed to job.c on the thread that
 * accepted it. The loop alternates between polling I/O and one round of
 * guest slices (srv_thread_run_jobs), so a long guest never stalls I/O.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "component/csnap.h"
#include "front.h"
#include "http_job.h"
#include "internal.h"
#include "wasihttp/outbound.h"

#define DRAIN_FLUSH_US   300000      /* after the last job: time for responses to flush */
#define MAX_HEADER_BYTES (64 * 1024) /* request line + headers; more is a 431 */

#define MAX_WORKERS 256
#define POOL_SLOTS  128 /* default reusable memory slots per process (8 GiB of address space each) */
#define POOL_GUARD  ((uint64_t)65536) /* guard page after a small slot (wisp.h) */
#define POOL_MAX_ADDRESS_SPACE ((uint64_t)64 << 40) /* half of x86-64's user address space */

static volatile sig_atomic_t stop_requested;
static pid_t worker_pids[MAX_WORKERS]; /* in the first process: the others */
static volatile sig_atomic_t nworker_pids;

/* SIGTERM/SIGINT: drain; the first process passes the signal on to the workers. */
static void on_stop_signal(int sig) {
  stop_requested = 1;
  for (int i = 0; i < nworker_pids; i++) kill(worker_pids[i], sig);
}

static void on_wake_signal(int sig) { (void)sig; }

/* Wakes every other worker process's loop (SIGUSR1): a deploy to follow. */
void srv_wake_workers(void) {
  for (int i = 0; i < nworker_pids; i++) kill(worker_pids[i], SIGUSR1);
}

/* ---- start-up ------------------------------------------------------------- */

static uint8_t *read_whole_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  uint8_t *buf = NULL;
  size_t cap = 0, n = 0;
  for (;;) {
    if (n == cap) {
      cap = cap ? cap * 2 : 1 << 16;
      uint8_t *grown = realloc(buf, cap);
      if (!grown) {
        free(buf);
        fclose(f);
        errno = ENOMEM;
        return NULL;
      }
      buf = grown;
    }
    size_t got = fread(buf + n, 1, cap - n, f);
    n += got;
    if (got == 0) break;
  }
  int failed = ferror(f);
  fclose(f);
  if (failed) {
    free(buf);
    errno = EIO;
    return NULL;
  }
  *len = n;
  return buf;
}

static bool component_is_wagi(const srv_t *srv, size_t index) {
  for (size_t i = 0; i < srv->manifest->trigger_count; i++)
    if (srv->manifest->triggers[i].component == index &&
        srv->manifest->triggers[i].executor == WISP_EXECUTOR_WAGI)
      return true;
  return false;
}

/* Runs a component's build commands with /bin/sh in its workdir (default:
 * the manifest's directory), as `wisp build` would. 0 if all succeed. */
static int build_component(const srv_t *srv, const wisp_manifest_component_t *mc) {
  const char *dir = mc->build.workdir ? mc->build.workdir : srv->manifest->dir;
  for (size_t i = 0; i < mc->build.command_count; i++) {
    fprintf(stderr, "wisp: building component '%s' in %s: %s\n", mc->id, dir, mc->build.commands[i]);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
      if (chdir(dir) < 0) _exit(127);
      execl("/bin/sh", "sh", "-c", mc->build.commands[i], (char *)NULL);
      _exit(127);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      fprintf(stderr, "wisp: component '%s': build command failed (status 0x%x): %s\n", mc->id, status,
              mc->build.commands[i]);
      return -1;
    }
  }
  return 0;
}

/* Decodes and validates one component's module; sets up its preopens. A
 * module file that does not exist yet is built first when the component has
 * build commands (always with --build). The executor follows the artifact:
 * a component (wasi:http/incoming-handler) is served by http_job.c, a core
 * module by WAGI (also when a route names the wagi executor). */
static int load_component(srv_t *srv, size_t index) {
  const wisp_manifest_component_t *mc = &srv->manifest->components[index];
  srv_component_t *c = &srv->components[index];
  c->manifest = mc;
  c->queue_cap = mc->limits.max_concurrency;
  bool wagi = component_is_wagi(srv, index);
  if (mc->has_build && (srv->options->build || access(mc->source, F_OK) != 0) && build_component(srv, mc) < 0)
    return -1;
  size_t len = 0;
  uint8_t *bytes = read_whole_file(mc->source, &len);
  if (!bytes) {
    fprintf(stderr, "wisp: component '%s': cannot read %s: %s\n", mc->id, mc->source, strerror(errno));
    return -1;
  }
  wisp_error_t err = {0};
  int rc;
  if (wisp_is_component(bytes, len) && wagi) {
    fprintf(stderr, "wisp: component '%s': %s is a component; the wagi executor runs core command modules\n",
            mc->id, mc->source);
    free(bytes);
    return -1;
  }
  if (wisp_is_component(bytes, len)) {
    if (mc->init && !mc->no_init && srv->options->no_snapshot) {
      fprintf(stderr, "wisp: component '%s': init = \"%s\" (manifest line %u): a component's init export runs "
                      "only before its snapshot; drop --no-snapshot\n", mc->id, mc->init, mc->init_line);
      free(bytes);
      return -1;
    }
    rc = srv_http_load(c, srv->engine, bytes, len);
    if (rc == 0 && !srv->options->no_snapshot) rc = srv_http_snapshot(srv, c, bytes, len);
    free(bytes);
    if (rc < 0) return -1;
  } else {
    rc = wisp_module_new(srv->engine, bytes, len, &c->module, &err);
    if (rc < 0) {
      free(bytes);
      fprintf(stderr, "wisp: component '%s': %s: %s: %s\n", mc->id, mc->source, wisp_err_name(rc), err.message);
      return -1;
    }
    rc = srv_component_find_init(c);
    if (rc == 0 && !srv->options->no_snapshot) rc = srv_component_snapshot(srv, c, bytes, len);
    free(bytes);
    if (rc < 0) return -1;
  }
  c->preopens = calloc(mc->file_count + 1, sizeof *c->preopens);
  if (!c->preopens) return -1;
  for (size_t i = 0; i < mc->file_count; i++) {
    c->preopens[i].host_path = mc->files[i].source;
    c->preopens[i].guest_path = mc->files[i].destination;
    c->preopens[i].read_only = !mc->files[i].read_write;
  }
  c->npreopens = mc->file_count;
  return 0;
}

/* "HOST:PORT", "[V6]:PORT" or ":PORT" (all addresses) into *ss. */
static int parse_address(const char *text, struct sockaddr_storage *ss, socklen_t *len) {
  char host[256];
  const char *colon = strrchr(text, ':');
  if (!colon || !colon[1] || (size_t)(colon - text) >= sizeof host) return -1;
  size_t hlen = (size_t)(colon - text);
  memcpy(host, text, hlen);
  host[hlen] = '\0';
  if (hlen >= 2 && host[0] == '[' && host[hlen - 1] == ']') {
    memmove(host, host + 1, hlen - 2);
    host[hlen - 2] = '\0';
  }
  struct addrinfo hints = {
      .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
  struct addrinfo *res = NULL;
  if (getaddrinfo(host[0] ? host : NULL, colon + 1, &hints, &res) != 0 || !res) return -1;
  memcpy(ss, res->ai_addr, res->ai_addrlen);
  *len = res->ai_addrlen;
  freeaddrinfo(res);
  return 0;
}

static int addr_port(const struct sockaddr_storage *ss) {
  if (ss->ss_family == AF_INET) return ntohs(((const struct sockaddr_in *)ss)->sin_port);
  if (ss->ss_family == AF_INET6) return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
  return 0;
}

/* A non-blocking listening socket. Binding port 0 picks a free port, which is
 * written back into *ss so later threads bind the same one. */
static int open_listener(struct sockaddr_storage *ss, socklen_t len) {
  int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int on = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on);
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  if (bind(fd, (struct sockaddr *)ss, len) < 0 || listen(fd, 1024) < 0) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  socklen_t sl = len;
  getsockname(fd, (struct sockaddr *)ss, &sl);
  return fd;
}

/* ---- request handlers ------------------------------------------------------- */

void srv_send_plain(h2o_req_t *req, int status, const char *reason, const char *type, const char *body,
                       size_t len) {
  req->res.status = status;
  req->res.reason = reason;
  h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, type, strlen(type));
  req->res.content_length = len;
  h2o_send_inline(req, body, len);
}

/* Answers requests no route serves: 404, or 431 for oversized headers. */
static void reject(srv_t *srv, h2o_req_t *req, int status, const char *reason, const char *body) {
  uint64_t id = atomic_fetch_add(&srv->metrics->next_request_id, 1) + 1;
  srv_metrics_request(srv, srv_no_route_index(srv), status, 0);
  srv_access_t entry = {id, NULL, status, strlen(body), 0, 0, 0, NULL};
  srv_access_log(srv, req, &entry);
  srv_send_plain(req, status, reason, "text/plain; charset=utf-8", body, strlen(body));
}

static size_t header_bytes(const h2o_req_t *req) {
  size_t n = req->path.len + req->method.len + req->authority.len;
  for (size_t i = 0; i < req->headers.size; i++)
    n += req->headers.entries[i].name->len + req->headers.entries[i].value.len + 4;
  return n;
}

/* The route for a normalised path (no query) and the app version serving
 * it, or NULL: `wisp serve`'s route table, else the manifest of `wisp up`. */
static const wisp_manifest_trigger_t *find_route(srv_t *srv, h2o_req_t *req, h2o_iovec_t norm, srv_app_t **app) {
  char *path = h2o_mem_alloc_pool(&req->pool, norm.len + 1);
  memcpy(path, norm.base, norm.len);
  path[norm.len] = '\0';
  *app = srv->static_app;
  return srv->serve ? srv_serve_route(srv, path, app) : wisp_manifest_match_route(srv->manifest, path);
}

static int on_app_req(h2o_handler_t *self, h2o_req_t *req) {
  (void)self;
  srv_thread_t *thread = (srv_thread_t *)req->conn->ctx;
  srv_t *srv = thread->srv;
  if (header_bytes(req) > MAX_HEADER_BYTES) {
    req->http1_is_persistent = 0;
    reject(srv, req, 431, "Request Header Fields Too Large",
           "431 Request Header Fields Too Large: the request line and headers exceed 64 KiB\n");
    return 0;
  }
  srv_app_t *app = NULL;
  const wisp_manifest_trigger_t *trig = find_route(srv, req, req->path_normalized, &app);
  if (trig) {
    srv_job_start(thread, req, app, trig);
    return 0;
  }
  reject(srv, req, 404, "Not Found", "404 Not Found: no route matches this path\n");
  return 0;
}

static int on_admin_req(h2o_handler_t *self, h2o_req_t *req) {
  (void)self;
  srv_thread_t *thread = (srv_thread_t *)req->conn->ctx;
  if (h2o_memis(req->path_normalized.base, req->path_normalized.len, H2O_STRLIT("/metrics"))) {
    size_t len = 0;
    char *page = srv_metrics_render(thread->srv, &len);
    if (!page) {
      srv_send_plain(req, 500, "Internal Server Error", "text/plain", "out of memory\n", 14);
      return 0;
    }
    srv_send_plain(req, 200, "OK", "text/plain; version=0.0.4", page, len);
    free(page);
    return 0;
  }
  if (h2o_memis(req->path_normalized.base, req->path_normalized.len, H2O_STRLIT("/healthz"))) {
    srv_send_plain(req, 200, "OK", "text/plain", "ok\n", 3);
    return 0;
  }
  if (thread->srv->serve) return srv_admin_handle(thread, req);
  srv_send_plain(req, 404, "Not Found", "text/plain", "not found\n", 10);
  return 0;
}

static h2o_hostconf_t *make_host(srv_t *srv, const char *name, int (*on_req)(h2o_handler_t *, h2o_req_t *)) {
  h2o_hostconf_t *host =
      h2o_config_register_host(&srv->globalconf, h2o_iovec_init(name, strlen(name)), 65535);
  h2o_pathconf_t *path = h2o_config_register_path(host, "/", 0);
  h2o_handler_t *handler = h2o_create_handler(path, sizeof *handler);
  handler->on_req = on_req;
  return host;
}

/* The app host's requests come through front.c, which frames responses
 * itself (chunked, trailers): h2o's chunked filter, the one filter every
 * path gets, is taken out (it does nothing for HTTP/2 either way). */
static void drop_chunked_filter(h2o_hostconf_t *host) {
  for (size_t i = 0; i < host->paths.size; i++) host->paths.entries[i].filters.size = 0;
  host->fallback_path.filters.size = 0;
}

/* Which request bodies the front streams to the handler (front.h): a
 * wasi:http component reads its body as it arrives (docs/http.md); a WAGI
 * module gets it whole on stdin, as CGI has it, and so does anything else. */
static bool stream_body(void *data, h2o_req_t *req) {
  (void)data;
  srv_t *srv = ((srv_thread_t *)req->conn->ctx)->srv;
  size_t query_at = SIZE_MAX, *norm_indexes = NULL;
  h2o_iovec_t norm =
      h2o_url_normalize_path(&req->pool, req->input.path.base, req->input.path.len, &query_at, &norm_indexes);
  srv_app_t *app = NULL;
  const wisp_manifest_trigger_t *trig = find_route(srv, req, norm, &app);
  return trig && app && app->components[trig->component].http;
}

static const srv_front_config_t front_config = {.stream = stream_body};

/* ---- loop threads ------------------------------------------------------------ */

static void on_accept(h2o_socket_t *listener, const char *err) {
  if (err) return;
  for (int i = 0; i < 32; i++) {
    h2o_socket_t *sock = h2o_evloop_socket_accept(listener);
    if (!sock) break;
    h2o_accept(listener->data, sock);
  }
}

/* The app listener: every connection goes to the front (front.c), which
 * does the TLS handshake when there is a certificate and hands HTTP/2 (h2c
 * prior knowledge, ALPN h2) to h2o. */
static void on_app_accept(h2o_socket_t *listener, const char *err) {
  if (err) return;
  for (int i = 0; i < 32; i++) {
    h2o_socket_t *sock = h2o_evloop_socket_accept(listener);
    if (!sock) break;
    srv_front_accept(listener->data, &front_config, sock);
  }
}

static h2o_socket_t *watch_listener(srv_thread_t *t, int fd, h2o_accept_ctx_t *actx, h2o_socket_cb cb) {
  h2o_socket_t *sock = h2o_evloop_socket_create(t->ctx.loop, fd, H2O_SOCKET_FLAG_DONT_READ);
  sock->data = actx;
  h2o_socket_read_start(sock, cb);
  return sock;
}

static void close_listeners(srv_thread_t *t) {
  t->closing = true;
  if (t->listener) {
    h2o_socket_read_stop(t->listener);
    h2o_socket_close(t->listener);
    t->listener = NULL;
  }
  if (t->admin_listener) {
    h2o_socket_read_stop(t->admin_listener);
    h2o_socket_close(t->admin_listener);
    t->admin_listener = NULL;
  }
  h2o_context_request_shutdown(&t->ctx);
  srv_front_shutdown(&t->ctx); /* idle keep-alive connections close now */
}

static void *thread_main(void *arg) {
  srv_thread_t *t = arg;
  h2o_evloop_t *loop = t->ctx.loop;
  uint64_t idle_since = 0;
  for (;;) {
    bool busy = srv_thread_run_jobs(t);
    if (t->srv->serve && t->index == 0 && srv_serve_tick(t)) busy = true;
    if (stop_requested && !t->closing) close_listeners(t);
    if (t->closing && t->inflight == 0) {
      uint64_t now = srv_now_us();
      if (!idle_since) idle_since = now;
      if (now - idle_since > DRAIN_FLUSH_US) break;
    } else {
      idle_since = 0;
    }
    int32_t wait_ms = 50;
    if (busy) wait_ms = h2o_linklist_is_empty(&t->ready) && !srv_http_has_ready(t) ? 1 : 0;
    h2o_evloop_run(loop, wait_ms);
  }
  return NULL;
}

/* The thread's shared WASI host functions (in a store that lives as long as
 * the thread) and, for every snapshotted component, its imports resolved
 * against them once. */
static int resolve_imports(srv_t *srv, srv_thread_t *t) {
  size_t n = srv->manifest ? srv->manifest->component_count : 0;
  t->imports = calloc(n + 1, sizeof *t->imports);
  t->host_store = wisp_store_new(srv->engine);
  wisp_linker_t *linker = t->host_store ? wisp_linker_new(t->host_store) : NULL;
  if (!t->imports || !linker || wisp_wasi_define_shared(linker) < 0) {
    wisp_linker_delete(linker);
    fprintf(stderr, "wisp: out of memory setting up a loop thread\n");
    return -1;
  }
  for (size_t i = 0; i < n; i++) {
    srv_component_t *c = &srv->components[i];
    if (!c->snapshot) continue;
    wisp_error_t err = {0};
    size_t count = wisp_module_import_count(c->module);
    t->imports[i] = calloc(count + 1, sizeof *t->imports[i]);
    if (!t->imports[i] || wisp_linker_resolve(linker, c->module, t->imports[i], &err) < 0) {
      if (t->imports[i]) fprintf(stderr, "wisp: component '%s': %s\n", c->manifest->id, err.message);
      free(t->imports[i]);
      t->imports[i] = NULL;
    }
  }
  wisp_linker_delete(linker);
  return 0;
}

/* Sets up loop thread `index` of this process: its h2o context and its own
 * listener (listen_fd when given, else a new SO_REUSEPORT socket). */
/* noinline (and srv_setup_config): tests/server/lsan.supp names them for
 * h2o's start-up allocations, which are left to the process exit. */
__attribute__((noinline)) static int init_thread(srv_t *srv, srv_thread_t *t, int index, int listen_fd,
                                                 int admin_fd) {
  t->srv = srv;
  t->index = index;
  srv_thread_jobs_init(t);
  if (resolve_imports(srv, t) < 0) return -1;
  h2o_context_init(&t->ctx, h2o_evloop_create(), &srv->globalconf);
  t->outbound = wisp_outbound_new(t->ctx.loop);
  if (!t->outbound) fprintf(stderr, "wisp: outbound HTTP unavailable on loop thread %d (libcurl)\n", index);
  t->accept_ctx = (h2o_accept_ctx_t){.ctx = &t->ctx, .hosts = srv->app_hosts, .ssl_ctx = srv->ssl_ctx};
  t->admin_accept_ctx = (h2o_accept_ctx_t){.ctx = &t->ctx, .hosts = srv->admin_hosts};
  int fd = listen_fd >= 0 ? listen_fd : open_listener(&srv->listen_addr, srv->listen_addrlen);
  if (fd < 0) {
    fprintf(stderr, "wisp: cannot listen on %s: %s\n", srv->options->listen, strerror(errno));
    return -1;
  }
  t->listener = watch_listener(t, fd, &t->accept_ctx, on_app_accept);
  if (admin_fd >= 0) t->admin_listener = watch_listener(t, admin_fd, &t->admin_accept_ctx, on_accept);
  return 0;
}

static SSL_CTX *make_ssl_ctx(const wisp_server_options_t *o) {
  SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
  if (!ctx) return NULL;
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  if (SSL_CTX_use_certificate_chain_file(ctx, o->tls_cert) != 1 ||
      SSL_CTX_use_PrivateKey_file(ctx, o->tls_key, SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(ctx) != 1) {
    char buf[256];
    ERR_error_string_n(ERR_get_error(), buf, sizeof buf);
    fprintf(stderr, "wisp: TLS certificate %s / key %s: %s\n", o->tls_cert, o->tls_key, buf);
    SSL_CTX_free(ctx);
    return NULL;
  }
  h2o_ssl_register_alpn_protocols(ctx, h2o_http2_alpn_protocols);
  return ctx;
}

/* ---- pooled memory slots ------------------------------------------------------ */

static void size_text(char *out, size_t n, uint64_t bytes) {
  static const char *const units[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (u < 4 && bytes >= 1024 && bytes % 1024 == 0) {
    bytes /= 1024;
    u++;
  }
  snprintf(out, n, "%llu %s", (unsigned long long)bytes, units[u]);
}

/* Address space one slot of `slot_bytes` reserves (wisp.h). */
static uint64_t slot_reserve(uint64_t slot_bytes) {
  uint64_t full = wisp_pool_slot_bytes(0);
  return slot_bytes >= full ? full + POOL_GUARD : slot_bytes + POOL_GUARD;
}

int wisp_server_pool_config(const wisp_server_options_t *o, uint32_t *slots, uint64_t *slot_bytes, char *err,
                            size_t err_size) {
  uint64_t n = o->pool_slots, size = o->pool_slot_bytes ? wisp_pool_slot_bytes(o->pool_slot_bytes) : 0;
  uint64_t budget = o->pool_memory_bytes;
  char a[32], b[32];
  *slots = 0;
  *slot_bytes = 0;
  if (budget && size && n) {
    snprintf(err, err_size, "give at most two of the pool's slot count, slot size and memory budget");
    return -1;
  }
  if (budget && size) { /* slot size and budget: as many slots as fit */
    n = budget / slot_reserve(size);
    if (n == 0) {
      size_text(a, sizeof a, budget);
      size_text(b, sizeof b, slot_reserve(size));
      snprintf(err, err_size, "a pool memory budget of %s holds no slot of %s (slot size plus a 64 KiB guard)", a, b);
      return -1;
    }
    if (n > 65536) n = 65536;
  }
  if (!n) n = POOL_SLOTS;
  if (budget && !size) { /* slot count and budget: the largest slot that fits */
    uint64_t per = budget / n;
    if (per >= slot_reserve(0)) {
      size = wisp_pool_slot_bytes(0);
    } else if (per < 2 * POOL_GUARD) {
      size_text(a, sizeof a, budget);
      snprintf(err, err_size,
               "a pool memory budget of %s is too small for %llu slots: each needs at least 128 KiB "
               "(a 64 KiB page of memory and a 64 KiB guard)",
               a, (unsigned long long)n);
      return -1;
    } else {
      size = (per - POOL_GUARD) / POOL_GUARD * POOL_GUARD;
    }
  }
  if (!size) size = wisp_pool_slot_bytes(0);
  if (n > 65536) {
    snprintf(err, err_size, "%llu pool slots is too many (at most 65536)", (unsigned long long)n);
    return -1;
  }
  if (n * slot_reserve(size) > POOL_MAX_ADDRESS_SPACE) {
    size_text(a, sizeof a, size);
    size_text(b, sizeof b, n * slot_reserve(size));
    snprintf(err, err_size,
             "%llu pool slots of %s would reserve %s of address space per process (at most 64 TiB): use fewer or "
             "smaller slots",
             (unsigned long long)n, a, b);
    return -1;
  }
  *slots = (uint32_t)n;
  *slot_bytes = size;
  return 0;
}

void srv_pool_note(srv_t *srv, srv_component_t *c, wisp_store_t *store) {
  uint32_t why = wisp_store_pool_fallbacks(store);
  if (!why) return;
  char a[32], b[32];
  if ((why & WISP_POOL_FALLBACK_FIT) && !atomic_exchange(&c->pool_fit_logged, true)) {
    size_text(a, sizeof a, srv->pool_slot_bytes);
    size_text(b, sizeof b, (uint64_t)c->manifest->limits.memory_mib << 20);
    fprintf(stderr,
            "wisp: component '%s': its memory may grow beyond the pool's slot size (%s; memory limit %s): its "
            "instances use a normal memory reservation instead of a pool slot (slower; see --pool-slot-size)\n",
            c->manifest->id, a, b);
  }
  if ((why & WISP_POOL_FALLBACK_BUSY) && !atomic_exchange(&srv->pool_busy_logged, true))
    fprintf(stderr,
            "wisp: all %u pool slots of process %d are in use: further instances use a normal memory reservation "
            "until slots are free (slower; see --pool-slots)\n",
            srv->pool_slots, (int)getpid());
}

/* ---- the whole run ------------------------------------------------------------ */

__attribute__((noinline)) static int srv_setup_config(srv_t *srv, int *admin_fd) {
  const wisp_server_options_t *o = srv->options;
  char err[1024];
  if (wisp_server_pool_config(o, &srv->pool_slots, &srv->pool_slot_bytes, err, sizeof err) < 0) {
    fprintf(stderr, "wisp %s: %s\n", o->data_dir ? "serve" : "up", err);
    return -1;
  }
  uint64_t max_body = 1;
  if (o->data_dir) {
    srv->engine = wisp_engine_new();
    if (!srv->engine || srv_metrics_init(srv) < 0 || srv_serve_setup(srv) < 0) return -1;
    /* Deployed apps change; requests are held to their component's limit in job.c. */
    max_body = o->max_upload_bytes > WISP_MANIFEST_DEFAULT_MAX_REQUEST_BYTES * 4
                   ? o->max_upload_bytes + 1
                   : WISP_MANIFEST_DEFAULT_MAX_REQUEST_BYTES * 4;
  } else {
    if (wisp_manifest_load(o->manifest_path, &srv->manifest, err, sizeof err) < 0) {
      fprintf(stderr, "wisp up: %s\n", err);
      return -1;
    }
    srv->engine = wisp_engine_new();
    srv->components = srv_shared_alloc((srv->manifest->component_count + 1) * sizeof *srv->components);
    srv->static_app = calloc(1, sizeof *srv->static_app);
    if (!srv->engine || !srv->components || !srv->static_app || srv_metrics_init(srv) < 0) return -1;
    *srv->static_app = (srv_app_t){.refs = 1, .manifest = srv->manifest, .components = srv->components, .log_fd = -1};
    for (size_t i = 0; i < srv->manifest->component_count; i++) {
      if (load_component(srv, i) < 0) return -1;
      if (srv->manifest->components[i].limits.max_request_bytes > max_body)
        max_body = srv->manifest->components[i].limits.max_request_bytes;
    }
  }
  if (parse_address(o->listen, &srv->listen_addr, &srv->listen_addrlen) < 0) {
    fprintf(stderr, "wisp up: bad listen address '%s' (want HOST:PORT)\n", o->listen);
    return -1;
  }
  if (o->admin_listen) {
    if (parse_address(o->admin_listen, &srv->admin_addr, &srv->admin_addrlen) < 0) {
      fprintf(stderr, "wisp up: bad admin address '%s' (want HOST:PORT)\n", o->admin_listen);
      return -1;
    }
    *admin_fd = open_listener(&srv->admin_addr, srv->admin_addrlen);
    if (*admin_fd < 0) {
      fprintf(stderr, "wisp up: cannot listen on %s: %s\n", o->admin_listen, strerror(errno));
      return -1;
    }
  }
  if (o->tls_cert && !(srv->ssl_ctx = make_ssl_ctx(o))) return -1;
  h2o_config_init(&srv->globalconf);
  srv->globalconf.server_name = h2o_iovec_init(H2O_STRLIT("wisp"));
  srv->globalconf.max_request_entity_size = (size_t)max_body;
  const char *timeout = getenv("WISP_HTTP1_TIMEOUT_MS"); /* docs/server.md; tests use a short one */
  if (timeout && atoi(timeout) > 0) srv->globalconf.http1.req_timeout = (uint64_t)atoi(timeout);
  srv->app_hosts[0] = make_host(srv, "default", on_app_req);
  drop_chunked_filter(srv->app_hosts[0]);
  srv->admin_hosts[0] = make_host(srv, "admin", on_admin_req);
  return 0;
}

/* Frees what wisp owns. The h2o contexts and configuration are left to the
 * process exit: connections the clients keep open (idle keep-alive) would
 * trip h2o's assertions on dispose. Shared memory (components, metrics)
 * lives until exit too. */
static void teardown(srv_t *srv) {
  for (int t = 0; srv->threads && t < srv->nthreads; t++) {
    srv_thread_t *th = &srv->threads[t];
    for (size_t i = 0; th->imports && srv->manifest && i < srv->manifest->component_count; i++)
      free(th->imports[i]);
    free(th->imports);
    while (th->nspare) wisp_exec_delete(th->spare_execs[--th->nspare]);
    wisp_store_delete(th->host_store);
  }
  srv_serve_teardown(srv); /* before the pool: apps hold snapshots */
  wisp_pool_delete(srv->pool); /* every request's store is gone after the drain */
  free(srv->static_app);
  for (size_t i = 0; srv->components && i < srv->manifest->component_count; i++) {
    wisp_snapshot_delete(srv->components[i].snapshot);
    wisp_module_delete(srv->components[i].module);
    wisp__csnap_delete(srv->components[i].csnap);
    srv_http_unload(&srv->components[i]);
    wisp_component_delete(srv->components[i].http);
    free(srv->components[i].preopens);
  }
  wisp_engine_delete(srv->engine);
  wisp_manifest_free(srv->manifest);
  if (srv->ssl_ctx) SSL_CTX_free(srv->ssl_ctx);
}

void *srv_shared_alloc(size_t size) {
  void *p = mmap(NULL, size ? size : 1, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? NULL : p;
}

/* Runs this process's loop threads until they have drained. */
static int run_loops(srv_t *srv, int listen_fd, int admin_fd) {
  srv->pool = wisp_pool_new_sized(srv->pool_slots, srv->pool_slot_bytes);
  srv->nthreads = srv->threads_per_proc;
  srv->threads = calloc((size_t)srv->nthreads, sizeof *srv->threads);
  if (!srv->threads) return -1;
  for (int i = 0; i < srv->nthreads; i++)
    if (init_thread(srv, &srv->threads[i], i, i == 0 ? listen_fd : -1, i == 0 ? admin_fd : -1) < 0) return -1;
  if (srv->serve) srv_serve_thread_ready(srv);
  for (int i = 1; i < srv->nthreads; i++)
    pthread_create(&srv->threads[i].tid, NULL, thread_main, &srv->threads[i]);
  thread_main(&srv->threads[0]);
  for (int i = 1; i < srv->nthreads; i++) pthread_join(srv->threads[i].tid, NULL);
  for (int i = 0; i < srv->nthreads; i++) wisp_outbound_delete(srv->threads[i].outbound);
  return 0;
}

/* Forks worker processes 1..nprocs-1 (the caller is worker 0). A worker
 * opens its own SO_REUSEPORT listener on the same port, never the admin one,
 * and dies with its parent. Returns 0 in the parent, 1 in a worker. */
static int fork_workers(srv_t *srv, int *listen_fd, int *admin_fd) {
  pid_t parent = getpid();
  for (int i = 1; i < srv->nprocs && i <= MAX_WORKERS; i++) {
    pid_t pid = fork();
    if (pid < 0) {
      fprintf(stderr, "wisp: fork: %s (serving with %d processes)\n", strerror(errno), i);
      return 0;
    }
    if (pid == 0) {
      nworker_pids = 0;
      prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (getppid() != parent) _exit(0);
      close(*listen_fd);
      if (*admin_fd >= 0) close(*admin_fd);
      *listen_fd = *admin_fd = -1;
      srv->is_child = true;
      srv->worker_index = i;
      return 1;
    }
    worker_pids[nworker_pids] = pid;
    nworker_pids = nworker_pids + 1;
  }
  return 0;
}

/* Stops and waits for every worker (the signal is sent again in case it
 * arrived while the workers were being forked); 0 if all exited cleanly. */
static int wait_workers(void) {
  int code = 0;
  for (int i = 0; i < nworker_pids; i++) kill(worker_pids[i], SIGTERM);
  for (int i = 0; i < nworker_pids; i++) {
    int status = 0;
    while (waitpid(worker_pids[i], &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      fprintf(stderr, "wisp: worker process %d ended abnormally (status 0x%x)\n", (int)worker_pids[i],
              status);
      code = 1;
    }
  }
  return code;
}

/* "HOST:PORT" of a bound address (IPv6 in brackets). */
static void format_address(const struct sockaddr_storage *ss, char *out, size_t size) {
  char host[INET6_ADDRSTRLEN] = "?";
  if (ss->ss_family == AF_INET) {
    inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, host, sizeof host);
    snprintf(out, size, "%s:%d", host, addr_port(ss));
  } else {
    inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, host, sizeof host);
    snprintf(out, size, "[%s]:%d", host, addr_port(ss));
  }
}

static void announce(srv_t *srv) {
  char app[INET6_ADDRSTRLEN + 16], admin[INET6_ADDRSTRLEN + 16];
  format_address(&srv->listen_addr, app, sizeof app);
  fprintf(stderr, "wisp: serving '%s' on %s://%s (port %d, %d processes x %d threads)\n",
          srv->manifest ? srv->manifest->name : "the deployed applications",
          srv->ssl_ctx ? "https" : "http", app, addr_port(&srv->listen_addr), srv->nprocs,
          srv->threads_per_proc);
  if (srv->options->admin_listen) {
    format_address(&srv->admin_addr, admin, sizeof admin);
    fprintf(stderr, "wisp: %s on http://%s/ (admin port %d)\n", srv->serve ? "admin API and metrics" : "metrics",
            admin, addr_port(&srv->admin_addr));
  }
  for (size_t i = 0; srv->manifest && i < srv->manifest->trigger_count; i++)
    fprintf(stderr, "wisp: route %s -> %s\n", srv->manifest->triggers[i].route,
            srv->manifest->components[srv->manifest->triggers[i].component].id);
}

int wisp_server_run(const wisp_server_options_t *options) {
  srv_t *srv = calloc(1, sizeof *srv);
  if (!srv) return 1;
  srv->options = options;
  int admin_fd = -1, listen_fd = -1, code = 1;
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  srv->nprocs = options->processes > 0 ? options->processes : (int)(ncpu > 0 ? ncpu : 1);
  srv->threads_per_proc = options->threads > 0 ? options->threads : 1;
  if (srv_setup_config(srv, &admin_fd) < 0) goto done;
  listen_fd = open_listener(&srv->listen_addr, srv->listen_addrlen);
  if (listen_fd < 0) {
    fprintf(stderr, "wisp up: cannot listen on %s: %s\n", options->listen, strerror(errno));
    goto done;
  }
  struct sigaction sa = {.sa_handler = on_stop_signal};
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
  /* SIGUSR1 only wakes a loop from epoll_wait (a deploy to follow): no SA_RESTART. */
  struct sigaction wake = {.sa_handler = on_wake_signal};
  sigemptyset(&wake.sa_mask);
  sigaction(SIGUSR1, &wake, NULL);
  announce(srv);
  fork_workers(srv, &listen_fd, &admin_fd);
  if (run_loops(srv, listen_fd, admin_fd) < 0) goto done;
  code = 0;
  if (!srv->is_child) {
    code = wait_workers();
    fprintf(stderr, "wisp: stopped after draining in-flight requests\n");
  }
done:
  if (srv->is_child && code != 0) stop_requested = 1;
  teardown(srv);
  free(srv->threads);
  free(srv);
  return code;
}
