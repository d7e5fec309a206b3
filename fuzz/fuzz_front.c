/*
 * fuzz_front.c: libFuzzer target for the front, wisp's HTTP/1.x connection
 * layer (src/server/front.c, docs/http.md "The front").
 *
 * The real front on a real h2o evloop: one loop, context and host with one
 * handler, set up once per process. Per input, a socketpair(AF_UNIX): one end
 * goes to srv_front_accept, the harness writes the input's client bytes into
 * the other in segments, running the loop (never waiting) between writes and
 * reading what the server answers; then it closes its end (half-closing first,
 * or not) and runs the loop until the connection is gone.
 *
 * Input layout:
 *   byte 0  bits 0-1: the `stream` predicate: never, always, paths starting
 *           with "/s", or the handler's random sequence; bit 2: a small
 *           max_request_entity_size (100 bytes, else 1 MiB); bit 3: close without
 *           half-closing first; bit 4: a server shutdown (h2o_context_request_shutdown,
 *           srv_front_shutdown) after a random write; bits 5-7: how often the harness reads
 *   byte 1  seed of the segment lengths (1 to whole rest, biased small)
 *   byte 2  seed of the handler's choices (how it reads a streamed body,
 *           how it answers: inline, in pieces, deferred, with or without
 *           Content-Length or trailers, a wrong length, an error status)
 *   rest    the bytes the client sends
 *
 * Checked per input (abort() on failure, which libFuzzer reports as a crash):
 *   - the answer stream parses as HTTP/1.1 responses ("100 Continue"
 *     interim ones allowed), the last of which may be cut short (the client
 *     left); each response to a handled request names its request
 *     (x-fz-idx), in order, with the handler's status, and its body
 *     (Content-Length, chunked or close-delimited) is what the handler
 *     sent (a prefix when cut or when the handler broke its own length),
 *     its trailers those the handler set; nothing follows "Connection: close";
 *     responses the front makes itself (400, 413, 417) come last
 *   - a request body the handler read to its end (streamed through
 *     srv_front_body_peek/consume, or req->entity) equals what a separate
 *     reference parse of the input gives (phr_parse_request for heads, a
 *     de-chunker of its own); requests the reference cannot delimit are
 *     not compared
 *   - the connection closes once the client has gone (no timer needed);
 *     on_change is never called after the request is disposed
 *   - ASan/UBSan/LSan: no memory error, undefined behaviour or leak.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server/front.h"
#include "server/phr.h"

#define MAX_ENTRIES 256
#define MAX_OUT (8u << 20)
#define MAX_ITER 20000

static void fail(const char *what, int idx) {
  fprintf(stderr, "fuzz_front: invariant broken: %s (request %d)\n", what, idx);
  abort();
}

/* ---- per-input bookkeeping ---------------------------------------------------------- */

typedef struct buf {
  uint8_t *p;
  size_t len, cap;
} buf_t;

static void buf_add(buf_t *b, const void *p, size_t n) {
  if (!n) return;
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap * 2 : 256;
    while (cap < b->len + n) cap *= 2;
    b->p = realloc(b->p, cap);
    if (!b->p) abort();
    b->cap = cap;
  }
  memcpy(b->p + b->len, p, n);
  b->len += n;
}

/* One per request the handler got, in order: what its response must be. */
typedef struct entry {
  int status;
  bool head, trailers, broken; /* broken: the handler sent more or fewer bytes than it announced, or ERROR */
  buf_t sent;                  /* the body bytes the handler sent */
  buf_t got;                   /* the request body bytes the handler read */
  bool got_end;                /* ... to its end (END, no error) */
  bool streamed;
  int64_t length; /* srv_front_body_length of a streamed body */
  buf_t line; /* method, space, path, as the handler got them */
  buf_t trailers_in; /* srv_front_body_trailers at the body's end: "name: value\n" each */
} entry_t;

static entry_t entries[MAX_ENTRIES];
static int n_entries;
static uint32_t hrng; /* the handler's choices */
static int stream_mode;
static int live_socks;
static h2o_linklist_t pollers; /* handler states waiting for the harness (no timers: see run) */

static uint32_t next_rand(uint32_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 17;
  *s ^= *s << 5;
  return *s;
}
static unsigned pick(unsigned n) { return next_rand(&hrng) % n; }

/* ---- the server --------------------------------------------------------------------- */

static h2o_globalconf_t config;
static h2o_context_t ctx;
static h2o_accept_ctx_t accept_ctx;

static bool stream_pred(void *data, h2o_req_t *req) {
  (void)data;
  switch (stream_mode) {
    case 0: return false;
    case 1: return true;
    case 2: return req->input.path.len >= 2 && memcmp(req->input.path.base, "/s", 2) == 0;
    default: return pick(2);
  }
}
static const srv_front_config_t front_cfg = {.stream = stream_pred};

typedef enum { A_INLINE, A_PIECES, A_LENGTH, A_WRONG_LENGTH, A_ERROR, A_COUNT } answer_t;
typedef enum { R_ECHO, R_COLLECT, R_EARLY, R_COUNT } reading_t;

typedef struct hstate {
  h2o_generator_t gen;
  h2o_req_t *req; /* NULL once disposed */
  int idx;
  answer_t answer;
  reading_t reading;
  bool streamed, poll, started, sending, finished, want_trailers;
  unsigned pieces;
  h2o_linklist_t poll_link; /* in pollers: serviced by the harness between loop runs */
  buf_t body;            /* A_PIECES etc.: what is still to send */
  size_t body_off;
} hstate_t;

static void on_hstate_dispose(void *p) {
  hstate_t *st = p;
  st->req = NULL;
  if (h2o_linklist_is_linked(&st->poll_link)) h2o_linklist_unlink(&st->poll_link);
  free(st->body.p);
}

static void add_idx_header(hstate_t *st) {
  char *v = h2o_mem_alloc_pool(&st->req->pool, 16);
  int n = snprintf(v, 16, "%d", st->idx);
  h2o_add_header_by_str(&st->req->pool, &st->req->res.headers, H2O_STRLIT("x-fz-idx"), 0, NULL, v, (size_t)n);
}

static void set_status(hstate_t *st) {
  static const int statuses[] = {200, 200, 200, 200, 201, 204, 304, 404, 500};
  int s = statuses[pick(sizeof statuses / sizeof statuses[0])];
  st->req->res.status = s;
  st->req->res.reason = s == 200 ? "OK" : "Other";
  entries[st->idx].status = s;
}

/* x-fz-trailer: IDX (sometimes with a value the front must refuse). */
static void set_trailers(hstate_t *st) {
  h2o_req_t *req = st->req;
  h2o_iovec_t name = h2o_iovec_init(H2O_STRLIT("x-fz-trailer"));
  char *val = h2o_mem_alloc_pool(&req->pool, 16);
  int vn = snprintf(val, 16, pick(8) ? "%d" : "%d\r\nx: y", st->idx);
  h2o_header_t t = {.name = &name, .value = h2o_iovec_init(val, (size_t)vn)};
  if (srv_front_set_trailers(req, &t, 1) != 0) return;
  int status = req->res.status;
  if (req->version < 0x101 || entries[st->idx].head || status == 204 || status == 304 || memchr(val, '\n', (size_t)vn))
    fail("srv_front_set_trailers accepted trailers this response cannot carry", st->idx);
  entries[st->idx].trailers = true;
}

/* Sends the next piece of st->body (one send in flight; the next one from proceed). */
static void send_piece(hstate_t *st) {
  h2o_req_t *req = st->req;
  entry_t *e = &entries[st->idx];
  size_t left = st->body.len - st->body_off;
  size_t n = left;
  if (st->pieces > 1 && left > 1) n = 1 + pick((unsigned)left);
  if (st->pieces) st->pieces--;
  bool final = n == left;
  if (final && st->want_trailers && !pick(4)) { /* an empty final send after the data */
    final = false;
    st->pieces = 1;
  }
  h2o_iovec_t v = h2o_iovec_init(h2o_mem_alloc_pool(&req->pool, n ? n : 1), n);
  if (n) memcpy(v.base, st->body.p + st->body_off, n);
  st->body_off += n;
  buf_add(&e->sent, v.base, n);
  if (final) {
    if (st->want_trailers) set_trailers(st);
    st->finished = true;
    h2o_send(req, &v, 1, H2O_SEND_STATE_FINAL);
    return;
  }
  st->sending = true;
  h2o_send(req, &v, 1, H2O_SEND_STATE_IN_PROGRESS);
}

static void pump(hstate_t *st);
static void on_proceed(h2o_generator_t *gen, h2o_req_t *req) {
  hstate_t *st = (hstate_t *)gen;
  if (!st->req) fail("proceed after dispose", -1);
  st->sending = false;
  if (st->finished) return;
  if (st->reading == R_ECHO && st->streamed) {
    pump(st);
    return;
  }
  send_piece(st);
}

static void on_stop(h2o_generator_t *gen, h2o_req_t *req) {
  hstate_t *st = (hstate_t *)gen;
  st->finished = true;
}

/* Answers with st->body as chosen by st->answer. */
static void answer(hstate_t *st) {
  h2o_req_t *req = st->req;
  entry_t *e = &entries[st->idx];
  set_status(st);
  add_idx_header(st);
  switch (st->answer) {
    case A_ERROR: { /* as h2o_send_error_generic, which would drop x-fz-idx */
      static const int errs[] = {400, 403, 503};
      int s = errs[pick(3)];
      e->status = req->res.status = s;
      req->res.reason = "Err";
      req->res.content_length = 2;
      if (pick(2)) req->http1_is_persistent = 0;
      buf_add(&e->sent, "fz", 2);
      st->finished = true;
      h2o_send_inline(req, "fz", 2);
      return;
    }
    case A_INLINE:
      e->status = req->res.status;
      buf_add(&e->sent, st->body.p, st->body.len);
      st->finished = true;
      h2o_send_inline(req, st->body.len ? (const char *)st->body.p : "", st->body.len);
      return;
    case A_LENGTH:
      req->res.content_length = st->body.len;
      break;
    case A_WRONG_LENGTH:
      req->res.content_length = st->body.len + 1 - pick(3) * (st->body.len ? 1 : 0); /* off by one either way */
      if (req->res.content_length != st->body.len) e->broken = true;
      break;
    default:
      break;
  }
  st->pieces = 1 + pick(4);
  st->want_trailers = st->answer == A_PIECES && pick(2);
  st->gen = (h2o_generator_t){on_proceed, on_stop};
  h2o_start_response(req, &st->gen);
  send_piece(st);
}

/* The body ended: what srv_front_body_trailers offers, flattened. */
static void body_ended(hstate_t *st) {
  entry_t *e = &entries[st->idx];
  e->got_end = true;
  const h2o_headers_t *t = srv_front_body_trailers(st->req);
  if (t && !t->size) fail("srv_front_body_trailers gave an empty list (NULL expected)", st->idx);
  for (size_t i = 0; t && i < t->size; i++) {
    buf_add(&e->trailers_in, t->entries[i].name->base, t->entries[i].name->len);
    buf_add(&e->trailers_in, ": ", 2);
    buf_add(&e->trailers_in, t->entries[i].value.base, t->entries[i].value.len);
    buf_add(&e->trailers_in, "\n", 1);
  }
}

static void make_summary(hstate_t *st) {
  char text[64];
  int n = snprintf(text, sizeof text, "req %d got %zu end %d\n", st->idx, entries[st->idx].got.len,
                   (int)entries[st->idx].got_end);
  st->body.len = 0;
  st->body_off = 0;
  buf_add(&st->body, text, (size_t)n);
}

/* A streamed body: reads what is there (some or all of it) and goes on as st->reading says. */
static void pump(hstate_t *st) {
  h2o_req_t *req = st->req;
  if (!req || st->finished) return;
  entry_t *e = &entries[st->idx];
  const uint8_t *data = NULL;
  size_t len = 0;
  srv_body_state_t bs = srv_front_body_peek(req, &data, &len);
  if (st->reading == R_ECHO) {
    if (st->sending) return;
    if (bs == SRV_BODY_ERROR) {
      st->finished = true;
      e->broken = true;
      h2o_send(req, NULL, 0, H2O_SEND_STATE_ERROR);
      return;
    }
    size_t n = len;
    if (len > 1 && pick(3) == 0) n = 1 + pick((unsigned)len - 1);
    if (n) {
      buf_add(&e->got, data, n);
      buf_add(&e->sent, data, n);
      h2o_iovec_t v = h2o_iovec_init(h2o_mem_alloc_pool(&req->pool, n), n);
      memcpy(v.base, data, n);
      srv_front_body_consume(req, n);
      st->sending = true;
      h2o_send(req, &v, 1, H2O_SEND_STATE_IN_PROGRESS);
      return;
    }
    if (bs == SRV_BODY_END) {
      body_ended(st);
      if (st->want_trailers) set_trailers(st);
      st->finished = true;
      h2o_send(req, NULL, 0, H2O_SEND_STATE_FINAL);
    }
    return;
  }
  /* R_COLLECT, or R_EARLY after answering: read (part of) what is there */
  /* in pieces, peeking again after each consume; R_EARLY may leave some unread */
  while (bs != SRV_BODY_ERROR && len) {
    size_t n = len > 1 && pick(3) == 0 ? 1 + pick((unsigned)len - 1) : len;
    buf_add(&e->got, data, n);
    srv_front_body_consume(req, n);
    if (st->started && pick(2)) break;
    bs = srv_front_body_peek(req, &data, &len);
  }
  if (bs == SRV_BODY_END && len == 0 && !e->got_end) body_ended(st);
  if (bs == SRV_BODY_MORE && srv_front_body_trailers(req)) fail("trailers offered before the body ended", st->idx);
  if (st->started) return; /* R_EARLY: answered already */
  if (bs == SRV_BODY_ERROR || (bs == SRV_BODY_END && len == 0)) {
    st->started = true;
    make_summary(st);
    answer(st);
  }
}

static void on_change(void *p) {
  hstate_t *st = p;
  if (!st->req) fail("on_change after dispose", -1);
  pump(st);
}

/* Called by the harness after each loop run (not from a callback of the front):
 * a deferred answer, or polling a streamed body instead of on_change. */
static void service_pollers(void) {
  for (h2o_linklist_t *l = pollers.next, *next; l != &pollers; l = next) {
    next = l->next;
    hstate_t *st = H2O_STRUCT_FROM_MEMBER(hstate_t, poll_link, l);
    if (!st->req) fail("poller after dispose", st->idx);
    if (!st->streamed) {
      h2o_linklist_unlink(&st->poll_link);
      st->started = true;
      answer(st);
      continue;
    }
    pump(st);
    if (st->finished && h2o_linklist_is_linked(&st->poll_link)) h2o_linklist_unlink(&st->poll_link);
  }
}

static int on_req(h2o_handler_t *self, h2o_req_t *req) {
  (void)self;
  if (n_entries == MAX_ENTRIES) {
    h2o_send_error_generic(req, 503, "Full", "full", H2O_SEND_ERROR_HTTP1_CLOSE_CONNECTION);
    return 0; /* not checked: the checker stops at MAX_ENTRIES */
  }
  if (!srv_front_owns(req)) fail("a request not from the front", n_entries);
  if (srv_front_streaming(req)) {
    if (req->entity.base) fail("a streamed body is also in req->entity", n_entries);
    int64_t length = srv_front_body_length(req);
    if (length == 0 || length < -1) fail("a streamed body of Content-Length 0, or a bad length", n_entries);
  } else if (req->entity.len && !req->entity.base) {
    fail("req->entity has a length but no bytes", n_entries);
  }
  hstate_t *st = h2o_mem_alloc_shared(&req->pool, sizeof *st, on_hstate_dispose);
  memset(st, 0, sizeof *st);
  st->req = req;
  st->idx = n_entries++;
  entry_t *e = &entries[st->idx];
  e->head = h2o_memis(req->input.method.base, req->input.method.len, H2O_STRLIT("HEAD"));
  e->status = 200;
  buf_add(&e->line, req->input.method.base, req->input.method.len);
  buf_add(&e->line, " ", 1);
  buf_add(&e->line, req->input.path.base, req->input.path.len);
  st->answer = (answer_t)pick(A_COUNT);
  st->streamed = srv_front_streaming(req);
  e->streamed = st->streamed;
  e->length = srv_front_body_length(req);
  if (!st->streamed) {
    if (req->entity.base) buf_add(&e->got, req->entity.base, req->entity.len);
    body_ended(st); /* no body, or all of it in req->entity */
    /* the answer: the entity back, or a summary */
    if (pick(2)) {
      buf_add(&st->body, req->entity.base, req->entity.base ? req->entity.len : 0);
    } else {
      make_summary(st);
    }
    if (pick(3) == 0) { /* answer later, from the harness */
      h2o_linklist_insert(&pollers, &st->poll_link);
      return 0;
    }
    st->started = true;
    answer(st);
    return 0;
  }
  st->reading = (reading_t)pick(R_COUNT);
  st->poll = pick(3) == 0;
  if (!st->poll) srv_front_body_on_change(req, on_change, st);
  if (st->reading == R_ECHO) {
    st->started = true;
    set_status(st);
    entries[st->idx].status = req->res.status;
    add_idx_header(st);
    st->want_trailers = pick(2);
    if (pick(3) == 0) req->res.content_length = 0; /* announced empty: any echo breaks it */
    st->gen = (h2o_generator_t){on_proceed, on_stop};
    h2o_start_response(req, &st->gen);
    if (req->res.content_length == 0) e->broken = true;
    st->reading = R_ECHO;
  } else if (st->reading == R_EARLY) {
    if (pick(2)) pump(st); /* some of the body first (on_change: the rest is read as it comes) */
    if (!st->finished && !st->started) {
      st->started = true;
      make_summary(st);
      answer(st);
    }
    if (st->poll && !st->finished) h2o_linklist_insert(&pollers, &st->poll_link);
    return 0;
  }
  if (st->poll) h2o_linklist_insert(&pollers, &st->poll_link);
  /* on_change only tells of changes after this: a handler peeks first (polling may wait) */
  if (!st->poll || pick(2)) pump(st);
  return 0;
}

static void on_sock_close(void *data) { live_socks--; }

static void setup(void) {
  signal(SIGPIPE, SIG_IGN);
  h2o_config_init(&config);
  config.http1.req_timeout = 3600 * 1000; /* never fires within an input */
  config.http1.upgrade_to_http2 = 0; /* the HTTP/2 preface would fuzz h2o's HTTP/2, not the front */
  h2o_hostconf_t *host = h2o_config_register_host(&config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
  h2o_pathconf_t *pc = h2o_config_register_path(host, "/", 0);
  h2o_create_handler(pc, sizeof(h2o_handler_t))->on_req = on_req;
  for (size_t i = 0; i < host->paths.size; i++) host->paths.entries[i].filters.size = 0; /* as server.c */
  host->fallback_path.filters.size = 0;
  h2o_context_init(&ctx, h2o_evloop_create(), &config);
  h2o_linklist_init_anchor(&pollers);
  accept_ctx = (h2o_accept_ctx_t){.ctx = &ctx, .hosts = config.hosts};
}

/* ---- the reference request parser ---------------------------------------------------- */

typedef struct ref {
  bool known;
  size_t off, len; /* the body in the input (content-length) */
  buf_t body;      /* chunked: de-chunked here */
  bool chunked;
  buf_t line; /* method, space, path */
  buf_t trailers; /* the trailer fields, flattened as entry_t's trailers_in */
} ref_t;

static ref_t refs[MAX_ENTRIES];
static int n_refs;

static int hexval(uint8_t c) {
  if (c >= '0' && c <= '9') return c - '0';
  c |= 0x20;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

/* De-chunks p[0, n): the consumed length, or 0 if broken or incomplete. */
/* The trailer section's lines as fields (a line without a colon, whose name
 * is not a token or whose value has a control byte but HTAB is dropped),
 * flattened as "name: value\n". */
static void ref_trailers(const uint8_t *p, size_t n, buf_t *out) {
  size_t i = 0;
  while (i < n) {
    const uint8_t *lf = memchr(p + i, '\n', n - i);
    size_t end = lf ? (size_t)(lf - p) : n, next = lf ? end + 1 : n;
    if (end > i && p[end - 1] == '\r') end--;
    const uint8_t *colon = memchr(p + i, ':', end - i);
    bool ok = colon && colon > p + i;
    for (const uint8_t *q = p + i; ok && q < colon; q++)
      ok = (*q >= '0' && *q <= '9') || ((*q | 0x20) >= 'a' && (*q | 0x20) <= 'z') || (*q && strchr("!#$%&'*+-.^_`|~", *q));
    size_t v = ok ? (size_t)(colon - p) + 1 : end, ve = end;
    while (v < ve && (p[v] == ' ' || p[v] == '\t')) v++;
    while (ve > v && (p[ve - 1] == ' ' || p[ve - 1] == '\t')) ve--;
    for (size_t q = v; ok && q < ve; q++) ok = p[q] == '\t' || (p[q] >= 0x20 && p[q] != 0x7f);
    if (ok) {
      for (const uint8_t *q = p + i; q < colon; q++) {
        char c = (char)(*q >= 'A' && *q <= 'Z' ? *q + 32 : *q);
        buf_add(out, &c, 1);
      }
      buf_add(out, ": ", 2);
      buf_add(out, p + v, ve - v);
      buf_add(out, "\n", 1);
    }
    i = next;
  }
}

static size_t ref_dechunk(const uint8_t *p, size_t n, buf_t *out, buf_t *trailers) {
  size_t i = 0;
  for (;;) {
    uint64_t size = 0;
    int digits = 0;
    while (i < n && hexval(p[i]) >= 0) {
      if (++digits > 16) return 0;
      size = size * 16 + (uint64_t)hexval(p[i++]);
    }
    if (!digits || i >= n) return 0;
    if (p[i] != '\n') {
      if (p[i] != ';' && p[i] != ' ' && p[i] != '\t' && p[i] != '\r') return 0;
      while (i < n && p[i] != '\n') i++;
      if (i >= n) return 0;
    }
    i++; /* the LF */
    if (size == 0) break;
    if (size > n - i) return 0;
    buf_add(out, p + i, (size_t)size);
    i += (size_t)size;
    if (i < n && p[i] == '\r') i++;
    else if (i < n && p[i] == '\n') {
      i++;
      continue;
    } else
      return 0;
    if (i >= n || p[i] != '\n') return 0;
    i++;
  }
  /* trailer lines up to an empty one */
  size_t tb = 0, start = i;
  for (;;) {
    if (i >= n) return 0;
    if (p[i] == '\n' || (p[i] == '\r' && i + 1 < n && p[i + 1] == '\n')) {
      ref_trailers(p + start, i - start, trailers);
      return i + (p[i] == '\n' ? 1 : 2);
    }
    if (p[i] == '\r') i++; /* a trailer line starting with CR */
    while (i < n && p[i] != '\n') {
      i++;
      if (++tb > 64 * 1024) return 0;
    }
    if (i >= n) return 0;
    i++;
    if (++tb > 64 * 1024) return 0;
  }
}

static void ref_parse(const uint8_t *in, size_t n) {
  size_t pos = 0;
  n_refs = 0;
  while (pos < n && n_refs < MAX_ENTRIES) {
    const char *m, *path;
    size_t ml, pl, nh = H2O_MAX_HEADERS;
    int minor;
    struct phr_header hs[H2O_MAX_HEADERS];
    size_t avail = n - pos < H2O_MAX_REQLEN ? n - pos : H2O_MAX_REQLEN;
    int rc = phr_parse_request((const char *)in + pos, avail, &m, &ml, &path, &pl, &minor, hs, &nh, 0);
    if (rc <= 0) return;
    ref_t *r = &refs[n_refs];
    memset(r, 0, sizeof *r);
    buf_add(&r->line, m, ml);
    buf_add(&r->line, " ", 1);
    buf_add(&r->line, path, pl);
    n_refs++; /* known stays false until its body is delimited */
    int te = 0, cl = 0;
    const struct phr_header *teh = NULL, *clh = NULL;
    for (size_t i = 0; i < nh; i++) {
      if (!hs[i].name) return; /* obsolete folding: 400 */
      if (h2o_lcstris(hs[i].name, hs[i].name_len, H2O_STRLIT("transfer-encoding"))) {
        te++;
        teh = &hs[i];
      } else if (h2o_lcstris(hs[i].name, hs[i].name_len, H2O_STRLIT("content-length"))) {
        if (cl && (clh->value_len != hs[i].value_len || memcmp(clh->value, hs[i].value, hs[i].value_len)))
          return;
        cl++;
        clh = &hs[i];
      } else if (h2o_lcstris(hs[i].name, hs[i].name_len, H2O_STRLIT("expect"))) {
        if (!h2o_lcstris(hs[i].value, hs[i].value_len, H2O_STRLIT("100-continue"))) return;
      }
    }
    pos += (size_t)rc;
    if (te) {
      if (te > 1 || !h2o_lcstris(teh->value, teh->value_len, H2O_STRLIT("chunked"))) return;
      r->chunked = true;
      size_t used = ref_dechunk(in + pos, n - pos, &r->body, &r->trailers);
      if (!used) return;
      r->known = true;
      pos += used;
    } else if (cl) {
      if (clh->value_len == 0 || clh->value_len > 15) return;
      size_t len = 0;
      for (size_t i = 0; i < clh->value_len; i++) {
        if (clh->value[i] < '0' || clh->value[i] > '9') return;
        len = len * 10 + (size_t)(clh->value[i] - '0');
      }
      if (len > n - pos) return;
      r->known = true;
      r->off = pos;
      r->len = len;
      pos += len;
    } else {
      r->known = true;
      r->off = pos;
    }
  }
}

/* ---- the response checker ------------------------------------------------------------- */

/* The end of the line starting at p[i] (index of its LF), or n. */
static size_t line_end(const uint8_t *p, size_t i, size_t n) {
  const uint8_t *lf = memchr(p + i, '\n', n - i);
  return lf ? (size_t)(lf - p) : n;
}

static bool hdr_is(const uint8_t *line, size_t len, const char *name, const uint8_t **val, size_t *vlen) {
  size_t nl = strlen(name);
  if (len < nl + 1 || !h2o_lcstris((const char *)line, nl, name, nl) || line[nl] != ':') return false;
  size_t s = nl + 1;
  while (s < len && line[s] == ' ') s++;
  *val = line + s;
  *vlen = len - s;
  return true;
}

static void check_prefix(const entry_t *e, const uint8_t *body, size_t len, bool complete, int idx) {
  if (!e) return;
  if (len > e->sent.len || (len && memcmp(body, e->sent.p, len) != 0)) fail("response body differs from what the handler sent", idx);
  if (complete && !e->broken && len != e->sent.len) fail("response body shorter than what the handler sent", idx);
}

static void check_responses(const uint8_t *p, size_t n) {
  size_t i = 0;
  int next = 0;
  bool closed = false;
  while (i < n) {
    if (closed) fail("bytes after a response with Connection: close", next);
    /* the head */
    size_t le = line_end(p, i, n);
    if (le == n) {
      if (n - i < 9 && memcmp(p + i, "HTTP/1.1 ", n - i) != 0) fail("garbage instead of a status line", next);
      return; /* cut short */
    }
    if (le - i < 13 || memcmp(p + i, "HTTP/1.1 ", 9) != 0 || p[le - 1] != '\r') fail("bad status line", next);
    int status = 0;
    for (int k = 9; k < 12; k++) {
      if (p[i + k] < '0' || p[i + k] > '9') fail("bad status code", next);
      status = status * 10 + p[i + k] - '0';
    }
    i = le + 1;
    long long clen = -1;
    bool chunked = false, conn_close = false, have_idx = false, head_done = false;
    int idx = -1;
    while (i < n) {
      le = line_end(p, i, n);
      if (le == n) return; /* cut short */
      if (p[le - 1] != '\r' || le == i) fail("header line not ended by CRLF", next);
      if (le - i == 1) {
        i = le + 1;
        head_done = true;
        break;
      }
      const uint8_t *v;
      size_t vl;
      size_t ll = le - 1 - i;
      if (hdr_is(p + i, ll, "content-length", &v, &vl)) {
        if (clen >= 0) fail("two content-length headers", next);
        clen = 0;
        for (size_t k = 0; k < vl; k++) {
          if (v[k] < '0' || v[k] > '9') fail("bad content-length", next);
          clen = clen * 10 + (v[k] - '0');
        }
      } else if (hdr_is(p + i, ll, "transfer-encoding", &v, &vl)) {
        if (!h2o_lcstris((const char *)v, vl, H2O_STRLIT("chunked"))) fail("bad transfer-encoding", next);
        chunked = true;
      } else if (hdr_is(p + i, ll, "connection", &v, &vl)) {
        conn_close = h2o_lcstris((const char *)v, vl, H2O_STRLIT("close"));
      } else if (hdr_is(p + i, ll, "x-fz-idx", &v, &vl)) {
        have_idx = true;
        idx = 0;
        for (size_t k = 0; k < vl; k++) idx = idx * 10 + (v[k] - '0');
      }
      i = le + 1;
    }
    if (!head_done) return;
    if (status == 100) continue; /* interim */
    if (chunked && clen >= 0) fail("both content-length and chunked", next);
    const entry_t *e = NULL;
    if (have_idx) {
      if (idx != next || next >= n_entries) fail("response for the wrong request", next);
      e = &entries[next];
      if (status != e->status) fail("status differs from the handler's", next);
    } else {
      /* the front's own answer (400, 413, 417) or the handler's "full" one: the last */
      if (next >= MAX_ENTRIES) return;
      if (status != 400 && status != 413 && status != 417) fail("unexpected status without x-fz-idx", next);
      if (!conn_close) fail("the front's own error keeps the connection", next);
      next = MAX_ENTRIES; /* nothing may follow */
    }
    if (have_idx) next++;
    if (conn_close) closed = true;
    bool no_body = (e && e->head) || status == 204 || status == 304;
    if (no_body) {
      if (chunked) fail("chunked framing on a response without a body", next);
      if (!e) { /* a HEAD or not: a body may follow, then the stream ends */
        if (clen >= 0 && (long long)(n - i) > clen) fail("more than content-length after an error", next);
        return;
      }
      continue;
    }
    if (clen >= 0) {
      size_t take = (size_t)clen <= n - i ? (size_t)clen : n - i;
      if (!e && take < n - i) fail("bytes after an error response", next);
      check_prefix(e, p + i, take, take == (size_t)clen, idx);
      if (e && e->broken && take == (size_t)clen && clen != (long long)e->sent.len && i + take < n)
        fail("a broken length was not followed by a close", idx);
      i += take;
      continue;
    }
    if (!chunked) { /* close-delimited (HTTP/1.0 without a length) */
      check_prefix(e, p + i, n - i, false, idx);
      return;
    }
    /* chunked: strict CRLFs */
    buf_t body = {0};
    bool done = false;
    while (i < n) {
      le = line_end(p, i, n);
      if (le == n) break;
      if (p[le - 1] != '\r') fail("chunk size line not ended by CRLF", idx);
      uint64_t size = 0;
      size_t k = i;
      for (; k < le - 1; k++) {
        int hv = hexval(p[k]);
        if (hv < 0) fail("bad chunk size", idx);
        size = size * 16 + (uint64_t)hv;
      }
      if (k == i) fail("empty chunk size", idx);
      i = le + 1;
      if (size == 0) {
        /* trailers, then an empty line */
        bool saw_trailer = false;
        while (i < n) {
          le = line_end(p, i, n);
          if (le == n) break;
          if (p[le - 1] != '\r') fail("trailer line not ended by CRLF", idx);
          if (le - i == 1) {
            i = le + 1;
            done = true;
            break;
          }
          const uint8_t *v;
          size_t vl;
          if (hdr_is(p + i, le - 1 - i, "x-fz-trailer", &v, &vl)) saw_trailer = true;
          i = le + 1;
        }
        if (done && e && e->trailers && !saw_trailer) fail("trailers lost", idx);
        if (done && e && !e->trailers && saw_trailer) fail("trailers not set were sent", idx);
        break;
      }
      if (size > n - i) {
        buf_add(&body, p + i, n - i);
        i = n;
        break;
      }
      buf_add(&body, p + i, (size_t)size);
      i += (size_t)size;
      if (n - i < 2) {
        i = n;
        break;
      }
      if (p[i] != '\r' || p[i + 1] != '\n') fail("chunk data not followed by CRLF", idx);
      i += 2;
    }
    check_prefix(e, body.p, body.len, done, idx);
    free(body.p);
    if (!done) {
      if (i < n) fail("bytes after a cut chunked body", idx);
      return;
    }
  }
}

/* ---- one input ---------------------------------------------------------------------- */

static void drain_client(int fd, buf_t *out, bool *eof) {
  uint8_t tmp[16384];
  for (;;) {
    ssize_t r = read(fd, tmp, sizeof tmp);
    if (r > 0) {
      if (out->len + (size_t)r > MAX_OUT) fail("too much output", -1);
      buf_add(out, tmp, (size_t)r);
      continue;
    }
    if (r == 0) *eof = true;
    return; /* EAGAIN, or an error (the server reset) */
  }
}

static void run(int cfd, buf_t *out, bool *eof, bool read_now) {
  h2o_evloop_run(ctx.loop, 0);
  service_pollers();
  if (read_now && !*eof) drain_client(cfd, out, eof);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static bool ready;
  if (!ready) {
    setup();
    ready = true;
  }
  if (size < 3) return 0;
  uint8_t flags = data[0];
  uint32_t srng = 0x9e3779b9u ^ (uint32_t)data[1] * 0x01000193u;
  hrng = 0x85ebca6bu ^ (uint32_t)data[2] * 0x01000193u;
  if (!srng) srng = 1;
  if (!hrng) hrng = 1;
  next_rand(&srng);
  next_rand(&hrng);
  stream_mode = flags & 3;
  config.max_request_entity_size = flags & 4 ? 100 : 1 << 20; /* read by the front per request */
  bool no_half_close = (flags & 8) != 0;
  bool do_shutdown = (flags & 16) != 0;
  unsigned read_every = 1 + (flags >> 5); /* read after every Nth loop run */
  const uint8_t *in = data + 3;
  size_t n = size - 3;

  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0) abort();
  int cfd = fds[1];
  h2o_socket_t *sock = h2o_evloop_socket_create(ctx.loop, fds[0], 0);
  sock->on_close.cb = on_sock_close;
  live_socks++;
  srv_front_accept(&accept_ctx, &front_cfg, sock);

  buf_t out = {0};
  bool eof = false;
  unsigned runs = 0;
  size_t pos = 0;
  while (pos < n) {
    size_t left = n - pos, seg;
    switch (next_rand(&srng) % 4) {
      case 0: seg = 1 + next_rand(&srng) % 8; break;
      case 1: seg = 1 + next_rand(&srng) % 64; break;
      case 2: seg = 1 + next_rand(&srng) % 512; break;
      default: seg = left; break;
    }
    if (seg > left) seg = left;
    while (seg) {
      ssize_t w = write(cfd, in + pos, seg);
      if (w > 0) {
        pos += (size_t)w;
        seg -= (size_t)w;
        continue;
      }
      if (w < 0 && errno == EAGAIN) { /* the server is not reading: let it run, take its answers */
        run(cfd, &out, &eof, true);
        if (++runs > MAX_ITER) fail("the server stopped reading for good", -1);
        continue;
      }
      pos = n; /* the server closed its end */
      break;
    }
    run(cfd, &out, &eof, ++runs % read_every == 0);
    if (do_shutdown && !ctx.shutdown_requested && next_rand(&srng) % 4 == 0) {
      h2o_context_request_shutdown(&ctx);
      srv_front_shutdown(&ctx);
    }
  }
  if (do_shutdown && !ctx.shutdown_requested) {
    h2o_context_request_shutdown(&ctx);
    srv_front_shutdown(&ctx);
  }
  for (int k = 0; k < 8; k++) run(cfd, &out, &eof, true);
  if (!no_half_close) {
    shutdown(cfd, SHUT_WR);
    for (int k = 0; live_socks && k < MAX_ITER; k++) run(cfd, &out, &eof, true);
    if (live_socks && getenv("FUZZ_FRONT_DEBUG")) {
      fprintf(stderr, "---- hang: %d requests handled, %zu bytes answered:\n", n_entries, out.len);
      fwrite(out.p, 1, out.len, stderr);
      for (int i = 0; i < n_entries; i++) fprintf(stderr, "\nentry %d: status %d sent %zu got %zu end %d\n", i, entries[i].status, entries[i].sent.len, entries[i].got.len, entries[i].got_end);
    }
    if (live_socks) fail("the connection did not close after the client half-closed", -1);
  }
  drain_client(cfd, &out, &eof);
  close(cfd);
  for (int k = 0; live_socks && k < MAX_ITER; k++) run(cfd, &out, &eof, false);
  if (live_socks) fail("the connection did not close after the client left", -1);
  h2o_evloop_run(ctx.loop, 0);
  if (!h2o_linklist_is_empty(&pollers)) fail("a handler state outlived its connection", -1);
  ctx.shutdown_requested = 0; /* the next input starts serving again */

  if (getenv("FUZZ_FRONT_DEBUG")) { /* replaying one input: what the server answered */
    fprintf(stderr, "---- %d requests handled, %zu bytes answered:\n", n_entries, out.len);
    if (out.len) fwrite(out.p, 1, out.len, stderr);
    fprintf(stderr, "\n----\n");
  }
  /* the checks */
  check_responses(out.p, out.len);
  ref_parse(in, n);
  for (int i = 0; i < n_entries && i < n_refs; i++) {
    entry_t *e = &entries[i];
    ref_t *r = &refs[i];
    if (e->line.len != r->line.len || memcmp(e->line.p, r->line.p, r->line.len) != 0) {
      fprintf(stderr, "fuzz_front: request %d: the handler got \"%.*s\", the reference says \"%.*s\"\n", i,
              (int)e->line.len, (const char *)e->line.p, (int)r->line.len, (const char *)r->line.p);
      fail("request line differs from the reference", i);
    }
    if (e->streamed && r->known && e->length != (r->chunked ? -1 : (int64_t)r->len))
      fail("srv_front_body_length differs from the reference", i);
    if (!e->got_end || !r->known) continue;
    const uint8_t *want = r->chunked ? r->body.p : in + r->off;
    size_t want_len = r->chunked ? r->body.len : r->len;
    if (e->got.len != want_len || (want_len && memcmp(e->got.p, want, want_len) != 0)) {
      fprintf(stderr, "fuzz_front: request %d: handler read %zu body bytes (%s), the reference says %zu\n", i,
              e->got.len, e->streamed ? "streamed" : "entity", want_len);
      fail("request body differs from the reference", i);
    }
    if (e->trailers_in.len != r->trailers.len ||
        (r->trailers.len && memcmp(e->trailers_in.p, r->trailers.p, r->trailers.len) != 0)) {
      fprintf(stderr, "fuzz_front: request %d: trailers offered:\n%.*s\nthe reference's:\n%.*s\n", i,
              (int)e->trailers_in.len, (const char *)e->trailers_in.p, (int)r->trailers.len,
              (const char *)r->trailers.p);
      fail("request trailers differ from the reference", i);
    }
  }

  for (int i = 0; i < n_entries; i++) {
    free(entries[i].sent.p);
    free(entries[i].got.p);
    free(entries[i].line.p);
    free(entries[i].trailers_in.p);
    memset(&entries[i], 0, sizeof entries[i]);
  }
  for (int i = 0; i < n_refs; i++) {
    free(refs[i].body.p);
    free(refs[i].line.p);
    free(refs[i].trailers.p);
  }
  n_entries = 0;
  n_refs = 0;
  free(out.p);
  return 0;
}
