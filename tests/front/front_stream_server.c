/*
 * front_stream_server.c: a small HTTP server made of the front
 * (src/server/front.c) and h2o's handler chain, with handlers that use the
 * streaming body API and trailers (front.h), for test_stream.py.
 *
 *   front_stream_server   prints "port N" and serves 127.0.0.1:N until /quit
 *
 * Every request body is streamed (the `stream` predicate says true) except on
 * /buffered. Handlers:
 *   /echo      the body back as it arrives (chunked), then trailers
 *              x-body-bytes (count), x-body-length (srv_front_body_length)
 *              and x-request-trailers (the body's own, "name=value;...")
 *   /slow      reads 64 KiB every 2 ms; answers "N bytes, max unconsumed M"
 *              (M shows that reading paused at the window)
 *   /early     answers "early" at once without reading the body
 *   /buffered  the body in req->entity: "entity N bytes, streaming S" (and
 *              ", trailers name=value;..." when the chunked body had some)
 *   /errors    how many streamed bodies ended in SRV_BODY_ERROR so far
 *   /trailers  srv_front_set_trailers' answer for this request ("-1" or "0")
 *   /quit      stops the server
 * A handler's state lives in the request's pool; its dispose callback marks
 * it gone, and every callback checks that it is not (the front must never
 * call on_change after dispose: ASan would see a use after free first).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/front.h"

typedef struct stream_state {
  h2o_generator_t gen;
  h2o_req_t *req; /* NULL once disposed */
  bool sending, finished, slow;
  uint64_t total;
  size_t max_unconsumed;
  h2o_timeout_entry_t tick;
} stream_state_t;

static h2o_globalconf_t config;
static h2o_context_t ctx;
static h2o_accept_ctx_t accept_ctx;
static h2o_timeout_t tick_timeout;
static bool quit;
static h2o_socket_t *volatile listen_sock; /* lives until exit (volatile: the store must stay for LSan) */
static unsigned body_errors;

static bool stream_pred(void *data, h2o_req_t *req) {
  (void)data;
  return !h2o_memis(req->input.path.base, req->input.path.len, H2O_STRLIT("/buffered"));
}
static const srv_front_config_t front_cfg = {.stream = stream_pred};

static void on_state_dispose(void *p) {
  stream_state_t *st = p;
  st->req = NULL;
  if (h2o_timeout_is_linked(&st->tick)) h2o_timeout_unlink(&st->tick);
}

static void send_text(h2o_req_t *req, const char *text) {
  req->res.status = 200;
  req->res.reason = "OK";
  h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, H2O_STRLIT("text/plain"));
  req->res.content_length = strlen(text);
  h2o_send_inline(req, text, strlen(text));
}

/* The request body's trailers as "name=value;name=value" (pool), or empty. */
static h2o_iovec_t request_trailers(h2o_req_t *req) {
  const h2o_headers_t *t = srv_front_body_trailers(req);
  if (!t) return h2o_iovec_init("", 0);
  size_t size = 1;
  for (size_t i = 0; i < t->size; i++) size += t->entries[i].name->len + t->entries[i].value.len + 2;
  char *buf = h2o_mem_alloc_pool(&req->pool, size), *p = buf;
  for (size_t i = 0; i < t->size; i++) {
    p += sprintf(p, "%s%.*s=%.*s", i ? ";" : "", (int)t->entries[i].name->len, t->entries[i].name->base,
                 (int)t->entries[i].value.len, t->entries[i].value.base);
  }
  return h2o_iovec_init(buf, (size_t)(p - buf));
}

/* /echo: one send in flight; the next when h2o proceeds. */
static void echo_pump(stream_state_t *st) {
  h2o_req_t *req = st->req;
  if (!req || st->sending || st->finished) return;
  const uint8_t *data = NULL;
  size_t len = 0;
  srv_body_state_t bs = srv_front_body_peek(req, &data, &len);
  if (len > st->max_unconsumed) st->max_unconsumed = len;
  if (bs == SRV_BODY_ERROR) {
    body_errors++;
    st->finished = true;
    h2o_send(req, NULL, 0, H2O_SEND_STATE_ERROR);
    return;
  }
  if (len) {
    char *copy = h2o_mem_alloc_pool(&req->pool, len); /* valid until the request ends */
    memcpy(copy, data, len);
    srv_front_body_consume(req, len);
    st->total += len;
    h2o_iovec_t buf = h2o_iovec_init(copy, len);
    st->sending = true;
    h2o_send(req, &buf, 1, H2O_SEND_STATE_IN_PROGRESS);
    return;
  }
  if (bs == SRV_BODY_END) {
    char count[32], length[32];
    snprintf(count, sizeof count, "%llu", (unsigned long long)st->total);
    snprintf(length, sizeof length, "%lld", (long long)srv_front_body_length(req));
    h2o_iovec_t n1 = h2o_iovec_init(H2O_STRLIT("x-body-bytes")), n2 = h2o_iovec_init(H2O_STRLIT("x-body-length"));
    h2o_iovec_t n3 = h2o_iovec_init(H2O_STRLIT("x-request-trailers"));
    h2o_iovec_t got = request_trailers(req);
    h2o_header_t trailers[3] = {{.name = &n1, .value = h2o_iovec_init(count, strlen(count))},
                                {.name = &n2, .value = h2o_iovec_init(length, strlen(length))},
                                {.name = &n3, .value = got}};
    int rc = srv_front_set_trailers(req, trailers, got.len ? 3 : 2);
    if (rc != 0) fprintf(stderr, "front_stream_server: set_trailers refused a chunked response\n");
    st->finished = true;
    h2o_send(req, NULL, 0, H2O_SEND_STATE_FINAL);
  }
}

static void echo_on_change(void *p) {
  stream_state_t *st = p;
  if (!st->req) abort(); /* never after dispose */
  echo_pump(st);
}

static void echo_proceed(h2o_generator_t *gen, h2o_req_t *req) {
  (void)req;
  stream_state_t *st = (stream_state_t *)gen;
  st->sending = false;
  echo_pump(st);
}

/* /slow: consumes 4 KiB per tick; answers at the end. */
static void slow_tick(h2o_timeout_entry_t *entry) {
  stream_state_t *st = H2O_STRUCT_FROM_MEMBER(stream_state_t, tick, entry);
  h2o_req_t *req = st->req;
  if (!req || st->finished) return;
  const uint8_t *data = NULL;
  size_t len = 0;
  srv_body_state_t bs = srv_front_body_peek(req, &data, &len);
  if (len > st->max_unconsumed) st->max_unconsumed = len;
  if (bs == SRV_BODY_ERROR) {
    body_errors++;
    st->finished = true;
    send_text(req, "error\n");
    return;
  }
  size_t n = len < 65536 ? len : 65536;
  srv_front_body_consume(req, n);
  st->total += n;
  if (bs == SRV_BODY_END && n == len) {
    char text[96];
    snprintf(text, sizeof text, "%llu bytes, max unconsumed %zu\n", (unsigned long long)st->total,
             st->max_unconsumed);
    st->finished = true;
    send_text(req, text);
    return;
  }
  h2o_timeout_link(ctx.loop, &tick_timeout, &st->tick);
}

static void slow_on_change(void *p) {
  stream_state_t *st = p;
  if (!st->req) abort();
}

static int on_req(h2o_handler_t *self, h2o_req_t *req) {
  (void)self;
  h2o_iovec_t path = req->path_normalized;
  char text[128];
  if (h2o_memis(path.base, path.len, H2O_STRLIT("/quit"))) {
    quit = true;
    send_text(req, "bye\n");
    return 0;
  }
  if (h2o_memis(path.base, path.len, H2O_STRLIT("/errors"))) {
    snprintf(text, sizeof text, "%u\n", body_errors);
    send_text(req, text);
    return 0;
  }
  if (h2o_memis(path.base, path.len, H2O_STRLIT("/buffered"))) {
    h2o_iovec_t got = request_trailers(req);
    snprintf(text, sizeof text, "entity %zu bytes, streaming %d%s%.*s\n",
             req->entity.base ? req->entity.len : (size_t)0, (int)srv_front_streaming(req),
             got.len ? ", trailers " : "", (int)got.len, got.base);
    send_text(req, text);
    return 0;
  }
  if (h2o_memis(path.base, path.len, H2O_STRLIT("/early"))) {
    send_text(req, "early\n");
    return 0;
  }
  if (h2o_memis(path.base, path.len, H2O_STRLIT("/trailers"))) {
    h2o_iovec_t name = h2o_iovec_init(H2O_STRLIT("x-t"));
    h2o_header_t t = {.name = &name, .value = h2o_iovec_init(H2O_STRLIT("1"))};
    req->res.status = 200;
    int rc = srv_front_set_trailers(req, &t, 1);
    snprintf(text, sizeof text, "%d\n", rc);
    if (rc == 0) { /* then the response is chunked and carries x-t */
      static h2o_generator_t gen = {NULL, NULL};
      h2o_iovec_t body = h2o_strdup(&req->pool, text, strlen(text));
      h2o_start_response(req, &gen);
      h2o_send(req, &body, 1, H2O_SEND_STATE_FINAL);
    } else {
      send_text(req, text);
    }
    return 0;
  }
  bool echo = h2o_memis(path.base, path.len, H2O_STRLIT("/echo"));
  bool slow = h2o_memis(path.base, path.len, H2O_STRLIT("/slow"));
  if (!echo && !slow) {
    req->res.status = 404;
    send_text(req, "no such path\n");
    return 0;
  }
  stream_state_t *st = h2o_mem_alloc_shared(&req->pool, sizeof *st, on_state_dispose);
  memset(st, 0, sizeof *st);
  st->req = req;
  st->slow = slow;
  if (!srv_front_streaming(req)) { /* no body (GET) or Content-Length: 0 */
    send_text(req, "not streamed\n");
    return 0;
  }
  if (slow) {
    st->tick.cb = slow_tick;
    srv_front_body_on_change(req, slow_on_change, st);
    h2o_timeout_link(ctx.loop, &tick_timeout, &st->tick);
    return 0;
  }
  st->gen = (h2o_generator_t){echo_proceed, NULL};
  req->res.status = 200;
  req->res.reason = "OK";
  h2o_start_response(req, &st->gen);
  srv_front_body_on_change(req, echo_on_change, st);
  echo_pump(st);
  return 0;
}

static void on_accept(h2o_socket_t *listener, const char *err) {
  if (err) return;
  h2o_socket_t *sock = h2o_evloop_socket_accept(listener);
  if (sock) srv_front_accept(&accept_ctx, &front_cfg, sock);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  h2o_config_init(&config);
  config.max_request_entity_size = 32 << 20;
  h2o_hostconf_t *host = h2o_config_register_host(&config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
  h2o_pathconf_t *pc = h2o_config_register_path(host, "/", 0);
  h2o_create_handler(pc, sizeof(h2o_handler_t))->on_req = on_req;
  for (size_t i = 0; i < host->paths.size; i++) host->paths.entries[i].filters.size = 0; /* as server.c */
  host->fallback_path.filters.size = 0;
  h2o_context_init(&ctx, h2o_evloop_create(), &config);
  h2o_timeout_init(ctx.loop, &tick_timeout, 2);
  accept_ctx = (h2o_accept_ctx_t){.ctx = &ctx, .hosts = config.hosts};
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t sl = sizeof sa;
  if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 64) < 0 ||
      getsockname(fd, (struct sockaddr *)&sa, &sl) < 0) {
    perror("front_stream_server: listen");
    return 1;
  }
  printf("port %d\n", ntohs(sa.sin_port));
  fflush(stdout);
  listen_sock = h2o_evloop_socket_create(ctx.loop, fd, H2O_SOCKET_FLAG_DONT_READ);
  h2o_socket_read_start(listen_sock, on_accept);
  while (!quit) h2o_evloop_run(ctx.loop, 50);
  for (int i = 0; i < 10; i++) h2o_evloop_run(ctx.loop, 10); /* the last response */
  return 0;
}
