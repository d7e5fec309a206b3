/*
 * fuzz_front.c: libFuzzer target for the front, the HTTP/1.x connection
 * layer of the application listener (src/server/front.c): request heads,
 * chunked and length-framed bodies (read whole or streamed), pipelining,
 * 100-continue, the HTTP/2 preface, errors.
 *
 * Each input is the byte stream a client sends on one connection. The
 * target makes a socket pair, gives one end to srv_front_accept (with h2o's
 * handler chain and the handlers below) and writes the input into the other
 * end in pieces whose sizes come from the input's first byte, then shuts its
 * sending side; it runs the event loop, reading and discarding the answers,
 * until the front closes the connection. The connection must always end
 * (EOF reaches every phase), nothing may leak or be touched after it is
 * freed, and the handlers check the API's promises (abort() otherwise).
 *
 * Handlers: a path starting with "/s" streams its body (the front's `stream`
 * predicate): the handler consumes what peek gives in on_change and answers
 * at SRV_BODY_END or SRV_BODY_ERROR; a path containing "t" asks for
 * trailers; anything else answers with the length of req->entity.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server/front.h"

typedef struct fuzz_stream {
  h2o_req_t *req; /* NULL once disposed */
  uint64_t total;
  bool answered;
} fuzz_stream_t;

static h2o_globalconf_t config;
static h2o_context_t ctx;
static h2o_accept_ctx_t accept_ctx;

static bool stream_pred(void *data, h2o_req_t *req) {
  (void)data;
  return req->input.path.len >= 2 && memcmp(req->input.path.base, "/s", 2) == 0;
}
static const srv_front_config_t front_cfg = {.stream = stream_pred};

static void answer(h2o_req_t *req, uint64_t n) {
  char text[64];
  int len = snprintf(text, sizeof text, "%llu\n", (unsigned long long)n);
  req->res.status = 200;
  if (memchr(req->input.path.base, 't', req->input.path.len)) {
    h2o_iovec_t name = h2o_iovec_init(H2O_STRLIT("x-n"));
    h2o_header_t t = {.name = &name, .value = h2o_iovec_init(text, (size_t)len - 1)};
    int rc = srv_front_set_trailers(req, &t, 1);
    if (rc == 0 && req->version < 0x101) abort(); /* HTTP/1.0 cannot carry trailers */
  } else {
    req->res.content_length = (size_t)len;
  }
  h2o_send_inline(req, text, (size_t)len);
}

static void on_dispose(void *p) { ((fuzz_stream_t *)p)->req = NULL; }

static void on_change(void *p) {
  fuzz_stream_t *st = p;
  if (!st->req) abort(); /* never after dispose */
  if (st->answered) return;
  const uint8_t *data = NULL;
  size_t len = 0;
  srv_body_state_t bs = srv_front_body_peek(st->req, &data, &len);
  if (len && !data) abort();
  uint64_t sum = 0;
  for (size_t i = 0; i < len; i++) sum += data[i]; /* every peeked byte must be readable */
  st->total += len + (sum & 0);
  srv_front_body_consume(st->req, len);
  if (bs == SRV_BODY_MORE) return;
  st->answered = true;
  srv_front_body_on_change(st->req, NULL, NULL);
  answer(st->req, bs == SRV_BODY_END ? st->total : 0);
}

static int on_req(h2o_handler_t *self, h2o_req_t *req) {
  (void)self;
  if (!srv_front_owns(req)) abort();
  if (!srv_front_streaming(req)) {
    if (req->entity.len && !req->entity.base) abort();
    answer(req, req->entity.len);
    return 0;
  }
  if (req->entity.base) abort(); /* a streamed body is not in req->entity */
  int64_t length = srv_front_body_length(req);
  if (length == 0 || length < -1) abort(); /* Content-Length: 0 is not streamed */
  fuzz_stream_t *st = h2o_mem_alloc_shared(&req->pool, sizeof *st, on_dispose);
  *st = (fuzz_stream_t){.req = req};
  srv_front_body_on_change(req, on_change, st);
  on_change(st); /* the bytes that came with the head */
  return 0;
}

static void init(void) {
  h2o_config_init(&config);
  config.max_request_entity_size = 4096;
  config.http1.upgrade_to_http2 = 0; /* the HTTP/2 preface would fuzz h2o's HTTP/2, not the front */
  h2o_hostconf_t *host = h2o_config_register_host(&config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
  h2o_pathconf_t *pc = h2o_config_register_path(host, "/", 0);
  h2o_create_handler(pc, sizeof(h2o_handler_t))->on_req = on_req;
  for (size_t i = 0; i < host->paths.size; i++) host->paths.entries[i].filters.size = 0; /* as server.c */
  host->fallback_path.filters.size = 0;
  h2o_context_init(&ctx, h2o_evloop_create(), &config);
  accept_ctx = (h2o_accept_ctx_t){.ctx = &ctx, .hosts = config.hosts};
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static bool ready;
  if (!ready) {
    init();
    ready = true;
  }
  if (size < 1 || size > 16384) return 0;
  size_t piece = (size_t)data[0] * 8 + 1; /* bytes per write */
  data++, size--;
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds) < 0) abort();
  h2o_socket_t *sock = h2o_evloop_socket_create(ctx.loop, fds[0], 0);
  srv_front_accept(&accept_ctx, &front_cfg, sock);
  size_t sent = 0;
  bool shut = false, closed = false;
  char sink[65536];
  for (int round = 0; round < 10000 && !closed; round++) {
    if (sent < size) {
      size_t n = size - sent < piece ? size - sent : piece;
      ssize_t w = write(fds[1], data + sent, n);
      if (w > 0) sent += (size_t)w;
      else if (w < 0 && errno != EAGAIN) sent = size; /* the front closed: stop sending */
    } else if (!shut) {
      shutdown(fds[1], SHUT_WR);
      shut = true;
    }
    h2o_evloop_run(ctx.loop, 0);
    for (;;) {
      ssize_t r = read(fds[1], sink, sizeof sink);
      if (r > 0) continue;
      if (r == 0 || (errno != EAGAIN && errno != EINTR)) closed = true;
      break;
    }
  }
  if (!closed) abort(); /* the front must end a connection whose client has stopped */
  close(fds[1]);
  for (int i = 0; i < 4; i++) h2o_evloop_run(ctx.loop, 0); /* sockets are freed on the next round */
  return 0;
}
