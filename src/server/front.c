/*
 * front.c: wisp's HTTP/1.x connection layer for the application listener
 * (front.h; docs/http.md "The front").
 *
 * One front_conn per accepted connection, with one h2o_req_t in it that is
 * initialised for each request and disposed when its response has been
 * written (or the connection closes). A connection is in one phase:
 *   HEAD      reading a request head (header timeout running)
 *   CONTINUE  writing "100 Continue" before the body is read
 *   BODY      reading a whole body before the handler runs (idle timeout)
 *   HANDLING  the handler has the request; reading only while a streamed
 *             body is still arriving (and not paused by backpressure)
 *   DRAIN     the response is done but a streamed body is not: discarding
 *             up to SRV_FRONT_DRAIN_LIMIT more bytes
 *   LINGER    closing after an answer given before the request was read
 *             to its end (a 413, a 400, a body the handler left unread):
 *             our side is shut for writing and what the client still sends
 *             is read and discarded until it closes, so that the answer
 *             reaches it (closing a socket with unread input sends a reset,
 *             which can destroy the answer in flight and fails a client
 *             still sending its body before it reads)
 *
 * The socket's input buffer (sock->input) holds the bytes of the current
 * request and any pipelined ones after it. A request without a body keeps
 * its head there (the h2o_req_t points into it; reading is stopped while it
 * is handled, so the buffer does not move) and the head is consumed when the
 * request ends. A request with a body has its head copied into the request's
 * pool and consumed at once; the body then starts at sock->input->bytes:
 * body_avail de-chunked bytes, then (chunked) raw bytes not yet decoded,
 * then, once the body has ended, the next request's bytes. A whole body read
 * first is req->entity, pointing into the buffer (no copy).
 *
 * The response: the first do_send of the final ostream writes the status
 * line and headers with the body bytes in one h2o_socket_write; every later
 * send is one write too. h2o_proceed_response follows each completed write
 * (backpressure), the next request follows the final one.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "front.h"
#include "phr.h"
#include "h2o/http2.h"

#define MAX_TRAILER_BYTES (64 * 1024) /* a request body's trailer section */
/* The socket receive buffer of a connection once it streams a body: h2o
 * reads all the kernel holds in one read event, so with the kernel's
 * autotuning (up to tcp_rmem's maximum, often 6-32 MiB) the unconsumed
 * bytes could far exceed SRV_FRONT_BODY_WINDOW. Linux doubles the value. */
#define STREAM_RCVBUF (1024 * 1024)

typedef enum { PH_HEAD, PH_CONTINUE, PH_BODY, PH_HANDLING, PH_DRAIN, PH_LINGER } phase_t;
/* LINGER ends at the client's close, after LINGER_BYTES discarded, after
 * LINGER_US in all, or when http1.req_timeout passes without a byte. */
#define LINGER_BYTES (64u << 20)
#define LINGER_US    (30u * 1000000u)
typedef enum { BODY_NONE, BODY_LENGTH, BODY_CHUNKED } body_kind_t;
typedef enum { FR_NONE, FR_LENGTH, FR_CHUNKED, FR_CLOSE } framing_t;

/* ---- chunked transfer coding (RFC 9112 section 7.1), decoded in place ---------------------- */

typedef enum { CH_SIZE, CH_EXT, CH_DATA, CH_DATA_CR, CH_DATA_LF, CH_TRAILER, CH_TRAILER_LINE, CH_TRAILER_LF } ch_state_t;

typedef struct chunk_decoder {
  ch_state_t state;
  unsigned digits;
  uint64_t left; /* bytes left in the current chunk, or the size being parsed */
  size_t trailer_bytes;
} chunk_decoder_t;

static int hex_value(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Decodes buf[0, len) in place: the chunk data goes to buf[0, *out). Returns
 * 1 when the body ended (the last chunk and the trailer section were read;
 * *used: input bytes that belonged to the body), 0 when all input was used
 * and more is needed, -1 when the coding is broken. */
/* Where the trailer section's bytes go (NULL: dropped): grown in a pool. */
typedef struct trailer_sink {
  h2o_mem_pool_t *pool;
  char *buf;
  size_t len, cap;
} trailer_sink_t;

static void sink_put(trailer_sink_t *sink, unsigned char c) {
  if (!sink) return;
  if (sink->len == sink->cap) {
    size_t cap = sink->cap ? sink->cap * 2 : 256;
    char *grown = h2o_mem_alloc_pool(sink->pool, cap);
    if (sink->len) memcpy(grown, sink->buf, sink->len);
    sink->buf = grown;
    sink->cap = cap;
  }
  sink->buf[sink->len++] = (char)c;
}

static int chunk_decode(chunk_decoder_t *d, uint8_t *buf, size_t len, size_t *out, size_t *used,
                        trailer_sink_t *sink) {
  size_t i = 0, o = 0;
  while (i < len) {
    unsigned char c = buf[i];
    switch (d->state) {
      case CH_SIZE: {
        int v = hex_value(c);
        if (v >= 0) {
          if (d->digits == 16) return -1;
          d->left = d->left * 16 + (uint64_t)v;
          d->digits++;
          i++;
          break;
        }
        if (d->digits == 0) return -1;
        if (c == ';' || c == ' ' || c == '\t' || c == '\r') {
          d->state = CH_EXT; /* extensions (ignored) up to the end of the line */
          i++;
          break;
        }
        if (c != '\n') return -1;
        d->state = CH_EXT; /* the line ends here: CH_EXT takes the LF */
        break;
      }
      case CH_EXT:
        i++;
        if (c != '\n') break;
        d->digits = 0;
        d->state = d->left ? CH_DATA : CH_TRAILER;
        break;
      case CH_DATA: {
        size_t n = len - i;
        if (n > d->left) n = (size_t)d->left;
        if (o != i) memmove(buf + o, buf + i, n);
        o += n;
        i += n;
        d->left -= n;
        if (!d->left) d->state = CH_DATA_CR;
        break;
      }
      case CH_DATA_CR:
        i++;
        if (c == '\r') d->state = CH_DATA_LF;
        else if (c == '\n') d->state = CH_SIZE;
        else return -1;
        break;
      case CH_DATA_LF:
        i++;
        if (c != '\n') return -1;
        d->state = CH_SIZE;
        break;
      case CH_TRAILER: /* at the start of a trailer line or the final empty line */
        i++;
        if (c == '\n') goto done;
        d->state = c == '\r' ? CH_TRAILER_LF : CH_TRAILER_LINE;
        if (c != '\r') sink_put(sink, c);
        break;
      case CH_TRAILER_LF:
        i++;
        if (c == '\n') goto done;
        d->state = CH_TRAILER_LINE; /* a trailer line that starts with CR */
        sink_put(sink, '\r');
        sink_put(sink, c);
        break;
      case CH_TRAILER_LINE:
        i++;
        if (++d->trailer_bytes > MAX_TRAILER_BYTES) return -1;
        sink_put(sink, c);
        if (c == '\n') d->state = CH_TRAILER;
        break;
    }
  }
  *out = o;
  *used = i;
  return 0;
done:
  *out = o;
  *used = i;
  return 1;
}

/* ---- the connection ---------------------------------------------------------------- */

typedef struct front_conn {
  h2o_conn_t super;
  h2o_socket_t *sock;
  const srv_front_config_t *cfg;
  h2o_linklist_t link; /* the thread's connections */
  h2o_timeout_entry_t timer;
  phase_t phase;
  bool req_live;   /* req initialised, not yet disposed */
  bool rcvbuf_capped; /* SO_RCVBUF set for streamed bodies */
  bool keep_alive; /* another request may follow this one */
  bool linger;     /* close by lingering (LINGER) rather than at once */
  uint64_t linger_bytes, linger_until_us;
  size_t prev_len; /* what phr_parse_request saw last time */
  size_t head_len; /* a body-less request's head, still at the start of the input */
  /* the request body */
  body_kind_t body_kind;
  bool streaming, body_end, body_error, paused;
  uint64_t content_length;
  uint64_t body_received; /* de-chunked bytes so far */
  size_t body_avail;      /* de-chunked bytes at the start of the input, not consumed */
  size_t drained;
  chunk_decoder_t dec;
  trailer_sink_t trailer_bytes; /* the body's trailer section, in req's pool */
  h2o_headers_t trailers_in;    /* parsed from it at the body's end */
  void (*on_change)(void *);
  void *on_change_data;
  /* the response */
  h2o_ostream_t ostr;
  framing_t framing;
  bool head_sent, final_sent, no_body, broken;
  uint64_t length_left; /* FR_LENGTH: body bytes still to send */
  h2o_iovec_t trailers; /* flattened, in the request's pool */
  char chunk_line[24];
  h2o_req_t req; /* last: large */
} front_conn_t;

static __thread h2o_linklist_t thread_conns;

static void on_read(h2o_socket_t *sock, const char *err);
static void ostr_send(h2o_ostream_t *self, h2o_req_t *req, h2o_iovec_t *bufs, size_t n, h2o_send_state_t state);
static void handle_head(front_conn_t *conn);

static socklen_t get_sockname(h2o_conn_t *c, struct sockaddr *sa) {
  front_conn_t *conn = (front_conn_t *)c;
  return conn->sock ? h2o_socket_getsockname(conn->sock, sa) : 0;
}

static socklen_t get_peername(h2o_conn_t *c, struct sockaddr *sa) {
  front_conn_t *conn = (front_conn_t *)c;
  return conn->sock ? h2o_socket_getpeername(conn->sock, sa) : 0;
}

static h2o_socket_t *get_socket(h2o_conn_t *c) { return ((front_conn_t *)c)->sock; }

static const h2o_conn_callbacks_t front_callbacks = {
    .get_sockname = get_sockname, .get_peername = get_peername, .get_socket = get_socket};

static front_conn_t *conn_of(const h2o_req_t *req) {
  return req->conn->callbacks == &front_callbacks ? (front_conn_t *)req->conn : NULL;
}

static void set_timer(front_conn_t *conn, bool on) {
  if (h2o_timeout_is_linked(&conn->timer)) h2o_timeout_unlink(&conn->timer);
  if (on) h2o_timeout_link(conn->super.ctx->loop, &conn->super.ctx->http1.req_timeout, &conn->timer);
}

static void init_req(front_conn_t *conn) {
  h2o_init_request(&conn->req, &conn->super, NULL);
  conn->req_live = true;
  conn->ostr = (h2o_ostream_t){.do_send = ostr_send};
  conn->req._ostr_top = &conn->ostr;
  conn->req.timestamps.request_begin_at = *h2o_get_timestamp(conn->super.ctx, NULL, NULL);
}

static void dispose_req(front_conn_t *conn) {
  conn->on_change = NULL;
  if (!conn->req_live) return;
  conn->req_live = false;
  h2o_dispose_request(&conn->req);
}

static void close_conn(front_conn_t *conn) {
  set_timer(conn, false);
  dispose_req(conn);
  h2o_linklist_unlink(&conn->link);
  if (conn->sock) h2o_socket_close(conn->sock);
  free(conn);
}

static uint64_t now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000;
}

/* Discards what arrived; the end of LINGER when it is time. */
static void linger_read(front_conn_t *conn) {
  conn->linger_bytes += conn->sock->input->size;
  h2o_buffer_consume(&conn->sock->input, conn->sock->input->size);
  if (conn->linger_bytes > LINGER_BYTES || now_us() > conn->linger_until_us) {
    close_conn(conn);
    return;
  }
  set_timer(conn, true);
}

/* Closes the connection, by lingering if conn->linger asks for it (at once
 * over TLS, whose close is its own, and at server shutdown). */
static void finish_conn(front_conn_t *conn) {
  if (!conn->linger || !conn->sock || conn->sock->ssl || conn->super.ctx->shutdown_requested ||
      shutdown(h2o_socket_get_fd(conn->sock), SHUT_WR) != 0) {
    close_conn(conn);
    return;
  }
  dispose_req(conn);
  conn->phase = PH_LINGER;
  conn->linger_bytes = 0;
  conn->linger_until_us = now_us() + LINGER_US;
  h2o_socket_read_start(conn->sock, on_read);
  linger_read(conn);
}

static void notify(front_conn_t *conn) {
  if (conn->on_change) conn->on_change(conn->on_change_data);
}

/* ---- errors before the handler ------------------------------------------------------ */

static void on_written_close(h2o_socket_t *sock, const char *err) {
  front_conn_t *conn = sock->data;
  if (err) {
    close_conn(conn);
    return;
  }
  conn->linger = true; /* the client may be sending more */
  finish_conn(conn);
}

/* A request head that cannot be parsed: a fixed 400, then close. */
static void send_bad_request(front_conn_t *conn, const char *why) {
  size_t size = 200 + strlen(why);
  char *buf = h2o_mem_alloc_pool(&conn->req.pool, size);
  int n = snprintf(buf, size,
                   "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n"
                   "Content-Length: %zu\r\n\r\n400 Bad Request: %s\n",
                   strlen("400 Bad Request: \n") + strlen(why), why);
  h2o_iovec_t v = h2o_iovec_init(buf, (size_t)n);
  set_timer(conn, false);
  h2o_socket_read_stop(conn->sock);
  conn->phase = PH_HANDLING;
  h2o_socket_write(conn->sock, &v, 1, on_written_close);
}

/* An error answered through h2o (the request was parsed): status, then close. */
static void send_error(front_conn_t *conn, int status, const char *reason, const char *body) {
  set_timer(conn, false);
  h2o_socket_read_stop(conn->sock);
  conn->phase = PH_HANDLING;
  conn->linger = conn->body_kind != BODY_NONE && !conn->body_end; /* the client may still be sending it */
  conn->body_kind = BODY_NONE; /* nothing more is read */
  conn->keep_alive = false;
  h2o_send_error_generic(&conn->req, status, reason, body, H2O_SEND_ERROR_HTTP1_CLOSE_CONNECTION);
}

/* ---- the request body ------------------------------------------------------------- */

/* The trailer section's lines as fields: names in lower case (tokens where
 * h2o knows them), values without surrounding blanks; a line without a
 * colon or whose name is not a token is dropped. The bytes stay in the pool. */
static void parse_trailers(front_conn_t *conn) {
  if (!conn->trailer_bytes.len) return; /* none (buf is NULL) */
  char *p = conn->trailer_bytes.buf, *end = p + conn->trailer_bytes.len;
  while (p < end) {
    char *eol = memchr(p, '\n', (size_t)(end - p));
    char *line_end = eol ? eol : end, *next = eol ? eol + 1 : end;
    if (line_end > p && line_end[-1] == '\r') line_end--;
    char *colon = memchr(p, ':', (size_t)(line_end - p));
    bool name_ok = colon && colon > p;
    for (char *q = p; name_ok && q < colon; q++) /* a token (RFC 9110 5.6.2) */
      name_ok = (*q >= '0' && *q <= '9') || (*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
                (*q && strchr("!#$%&'*+-.^_`|~", *q) != NULL); /* strchr finds the NUL terminator */
    char *v = colon ? colon + 1 : line_end, *ve = line_end;
    while (v < ve && (*v == ' ' || *v == '\t')) v++;
    while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) ve--;
    for (char *q = v; name_ok && q < ve; q++) /* field-value: no control bytes but HTAB (RFC 9110 5.5) */
      name_ok = (unsigned char)*q >= 0x20 ? *q != 0x7f : *q == '\t';
    if (name_ok) {
      size_t nlen = (size_t)(colon - p);
      h2o_strtolower(p, nlen);
      const h2o_token_t *token = h2o_lookup_token(p, nlen);
      if (token)
        h2o_add_header(&conn->req.pool, &conn->trailers_in, token, NULL, v, (size_t)(ve - v));
      else
        h2o_add_header_by_str(&conn->req.pool, &conn->trailers_in, p, nlen, 0, NULL, v, (size_t)(ve - v));
    }
    p = next;
  }
}

/* Takes in what arrived: sets body_avail, body_end, body_error. Returns false
 * when the body broke (coding error or too large). */
static bool ingest_body(front_conn_t *conn) {
  h2o_buffer_t *in = conn->sock->input;
  if (conn->body_end || conn->body_error) return true;
  if (conn->body_kind == BODY_LENGTH) {
    uint64_t want = conn->content_length - (conn->body_received - conn->body_avail);
    size_t have = in->size < want ? in->size : (size_t)want;
    conn->body_received += have - conn->body_avail;
    conn->body_avail = have;
    if (have == want) conn->body_end = true;
    return true;
  }
  size_t raw = in->size - conn->body_avail, out = 0, used = 0;
  if (raw == 0) return true;
  trailer_sink_t *sink = NULL;
  if (conn->req_live) { /* not while draining: the request is gone */
    conn->trailer_bytes.pool = &conn->req.pool;
    sink = &conn->trailer_bytes;
  }
  int rc = chunk_decode(&conn->dec, (uint8_t *)in->bytes + conn->body_avail, raw, &out, &used, sink);
  if (rc < 0) {
    conn->body_error = true;
    return false;
  }
  if (rc == 1 && sink) parse_trailers(conn);
  if (rc == 1) { /* keep the next request's bytes right after the body */
    memmove(in->bytes + conn->body_avail + out, in->bytes + conn->body_avail + used, raw - used);
    in->size = conn->body_avail + out + (raw - used);
    conn->body_end = true;
  } else {
    in->size = conn->body_avail + out;
  }
  conn->body_avail += out;
  conn->body_received += out;
  if (conn->body_received > conn->super.ctx->globalconf->max_request_entity_size) {
    conn->body_error = true;
    return false;
  }
  return true;
}

static void read_body(front_conn_t *conn) {
  conn->paused = false;
  set_timer(conn, true);
  h2o_socket_read_start(conn->sock, on_read);
}

static void stop_reading(front_conn_t *conn) {
  set_timer(conn, false);
  h2o_socket_read_stop(conn->sock);
}

static void process(front_conn_t *conn) {
  conn->phase = PH_HANDLING;
  h2o_process_request(&conn->req);
}

/* A whole body read first: the handler gets it in req->entity. */
static void body_buffered(front_conn_t *conn) {
  if (!ingest_body(conn)) {
    if (conn->body_received > conn->super.ctx->globalconf->max_request_entity_size)
      send_error(conn, 413, "Request Entity Too Large", "request entity is too large");
    else
      send_error(conn, 400, "Invalid Request", "broken chunked-encoding");
    return;
  }
  if (!conn->body_end) {
    if (conn->phase != PH_BODY) {
      conn->phase = PH_BODY;
      read_body(conn);
    } else {
      set_timer(conn, true); /* idle timeout from the last bytes */
    }
    return;
  }
  stop_reading(conn);
  conn->req.entity = h2o_iovec_init(conn->sock->input->bytes, conn->body_avail);
  process(conn);
}

/* A streamed body: bytes arrived (or the body started). Reading goes on
 * while the body is incomplete and the handler has less than the window
 * unconsumed. */
static void body_streamed(front_conn_t *conn) {
  bool ok = ingest_body(conn);
  if (!ok || conn->body_end) {
    stop_reading(conn);
    if (!ok) conn->keep_alive = false;
  } else if (conn->body_avail >= SRV_FRONT_BODY_WINDOW) {
    stop_reading(conn); /* backpressure: the handler consumes first */
    conn->paused = true;
  } else {
    set_timer(conn, true);
    h2o_socket_read_start(conn->sock, on_read);
  }
}

/* Discarding what is left of a streamed body after the response. */
static void next_request(front_conn_t *conn);
static void drain(front_conn_t *conn) {
  if (!ingest_body(conn) || conn->drained + conn->body_avail > SRV_FRONT_DRAIN_LIMIT) {
    conn->linger = !conn->body_error || conn->body_received > conn->super.ctx->globalconf->max_request_entity_size;
    finish_conn(conn);
    return;
  }
  conn->drained += conn->body_avail;
  h2o_buffer_consume(&conn->sock->input, conn->body_avail);
  conn->body_avail = 0;
  if (conn->body_end) {
    stop_reading(conn);
    next_request(conn);
    return;
  }
  set_timer(conn, true);
}

/* Starts the body once a 100 Continue (if any) is out. A streamed body
 * broken in the bytes that came with the head is answered here. */
static void begin_body(front_conn_t *conn) {
  if (!conn->streaming) {
    body_buffered(conn);
    return;
  }
  if (!conn->rcvbuf_capped) { /* one read event takes what the kernel holds: keep that bounded */
    int size = STREAM_RCVBUF;
    setsockopt(h2o_socket_get_fd(conn->sock), SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    conn->rcvbuf_capped = true;
  }
  body_streamed(conn);
  if (conn->body_error) {
    conn->streaming = false;
    if (conn->body_received > conn->super.ctx->globalconf->max_request_entity_size)
      send_error(conn, 413, "Request Entity Too Large", "request entity is too large");
    else
      send_error(conn, 400, "Invalid Request", "broken chunked-encoding");
    return;
  }
  process(conn);
}

static void restate_polling(h2o_socket_t *sock);
static void on_continue_written(h2o_socket_t *sock, const char *err) {
  front_conn_t *conn = sock->data;
  if (err) {
    close_conn(conn);
    return;
  }
  restate_polling(sock);
  begin_body(conn);
}

/* ---- the request head ------------------------------------------------------------- */

/* Copies the head's strings into the pool: the input buffer moves while a body is read. */
static void copy_head(front_conn_t *conn) {
  h2o_req_t *req = &conn->req;
  h2o_mem_pool_t *pool = &req->pool;
  req->input.method = h2o_strdup(pool, req->input.method.base, req->input.method.len);
  req->input.path = h2o_strdup(pool, req->input.path.base, req->input.path.len);
  if (req->input.authority.base)
    req->input.authority = h2o_strdup(pool, req->input.authority.base, req->input.authority.len);
  if (req->upgrade.base) req->upgrade = h2o_strdup(pool, req->upgrade.base, req->upgrade.len);
  for (size_t i = 0; i < req->headers.size; i++) {
    h2o_header_t *h = &req->headers.entries[i];
    if (!h2o_iovec_is_token(h->name)) *h->name = h2o_strdup(pool, h->name->base, h->name->len);
    h->value = h2o_strdup(pool, h->value.base, h->value.len);
  }
}

typedef struct head_info {
  h2o_iovec_t connection, expect, content_length, transfer_encoding;
  int content_lengths; /* how many Content-Length headers */
  bool conflicting_length;
} head_info_t;

/* Headers as h2o has them: names in lower case, known ones as tokens; Host
 * becomes the authority; Content-Length, Transfer-Encoding, Expect and
 * Upgrade are not kept in req->headers (h2o's "init header special"). */
static bool add_headers(front_conn_t *conn, struct phr_header *src, size_t n, head_info_t *info) {
  h2o_req_t *req = &conn->req;
  h2o_vector_reserve(&req->pool, &req->headers, n);
  for (size_t i = 0; i < n; i++) {
    if (!src[i].name) return false; /* a continuation line (obsolete folding, RFC 9112 5.2: 400) */
    h2o_strtolower((char *)src[i].name, src[i].name_len);
    h2o_iovec_t value = h2o_iovec_init(src[i].value, src[i].value_len);
    const h2o_token_t *token = h2o_lookup_token(src[i].name, src[i].name_len);
    if (!token) {
      h2o_add_header_by_str(&req->pool, &req->headers, src[i].name, src[i].name_len, 0, NULL, value.base, value.len);
      continue;
    }
    if (token == H2O_TOKEN_HOST) {
      req->input.authority = value;
    } else if (token == H2O_TOKEN_CONTENT_LENGTH) {
      if (info->content_lengths++ && !h2o_memis(value.base, value.len, info->content_length.base,
                                                info->content_length.len))
        info->conflicting_length = true;
      info->content_length = value;
    } else if (token == H2O_TOKEN_TRANSFER_ENCODING) {
      info->transfer_encoding = value;
    } else if (token == H2O_TOKEN_EXPECT) {
      info->expect = value;
    } else if (token == H2O_TOKEN_UPGRADE) {
      req->upgrade = value;
    } else {
      h2o_add_header(&req->pool, &req->headers, token, NULL, value.base, value.len);
      if (token == H2O_TOKEN_CONNECTION) info->connection = value;
    }
  }
  return true;
}

static bool start_http2(front_conn_t *conn) {
  static const char preface[] = "PRI * HTTP/2";
  h2o_buffer_t *in = conn->sock->input;
  if (!conn->super.ctx->globalconf->http1.upgrade_to_http2 || in->size < sizeof preface - 1 ||
      memcmp(in->bytes, preface, sizeof preface - 1) != 0)
    return false;
  h2o_accept_ctx_t actx = {.ctx = conn->super.ctx, .hosts = conn->super.hosts};
  h2o_socket_t *sock = conn->sock;
  struct timeval connected_at = conn->super.connected_at;
  h2o_socket_read_stop(sock);
  conn->sock = NULL;
  close_conn(conn);
  h2o_http2_accept(&actx, sock, connected_at);
  return true;
}

/* Sets the body's kind and length from the head; false after answering an error. */
static bool setup_body(front_conn_t *conn, head_info_t *info) {
  if (info->transfer_encoding.base) {
    if (!h2o_lcstris(info->transfer_encoding.base, info->transfer_encoding.len, H2O_STRLIT("chunked"))) {
      send_error(conn, 400, "Invalid Request", "unknown transfer-encoding");
      return false;
    }
    conn->body_kind = BODY_CHUNKED;
    if (info->content_lengths) conn->keep_alive = false; /* both: RFC 9112 6.3 */
    return true;
  }
  if (!info->content_lengths) return true;
  size_t len = h2o_strtosize(info->content_length.base, info->content_length.len);
  if (len == SIZE_MAX || info->conflicting_length) {
    send_error(conn, 400, "Invalid Request", "broken content-length header");
    return false;
  }
  if (len > conn->super.ctx->globalconf->max_request_entity_size) {
    send_error(conn, 413, "Request Entity Too Large", "request entity is too large");
    return false;
  }
  conn->body_kind = BODY_LENGTH;
  conn->content_length = len;
  return true;
}

static void handle_head(front_conn_t *conn) {
  h2o_buffer_t *in = conn->sock->input;
  size_t len = in->size < H2O_MAX_REQLEN ? in->size : H2O_MAX_REQLEN;
  struct phr_header headers[H2O_MAX_HEADERS];
  size_t nheaders = H2O_MAX_HEADERS;
  int minor = 0;
  h2o_req_t *req = &conn->req;
  int rc = phr_parse_request(in->bytes, len, (const char **)&req->input.method.base, &req->input.method.len,
                             (const char **)&req->input.path.base, &req->input.path.len, &minor, headers, &nheaders,
                             conn->prev_len);
  conn->prev_len = len;
  if (rc == -2) {
    if (len == H2O_MAX_REQLEN) send_bad_request(conn, "the request line and headers are too large");
    return;
  }
  if (rc < 0) {
    if (start_http2(conn)) return;
    send_bad_request(conn, "malformed request line or headers");
    return;
  }
  req->version = 0x100 | (minor != 0);
  req->input.scheme = conn->sock->ssl ? &H2O_URL_SCHEME_HTTPS : &H2O_URL_SCHEME_HTTP;
  head_info_t info;
  memset(&info, 0, sizeof info);
  if (!add_headers(conn, headers, nheaders, &info)) {
    send_bad_request(conn, "a header line folded onto the next (obsolete line folding)");
    return;
  }
  if (info.connection.base) {
    if (h2o_contains_token(info.connection.base, info.connection.len, H2O_STRLIT("close"), ','))
      conn->keep_alive = false;
    else if (minor == 0)
      conn->keep_alive = h2o_contains_token(info.connection.base, info.connection.len, H2O_STRLIT("keep-alive"), ',');
    else
      conn->keep_alive = true;
    if (!req->upgrade.base || !h2o_contains_token(info.connection.base, info.connection.len, H2O_STRLIT("upgrade"), ','))
      req->upgrade = h2o_iovec_init(NULL, 0);
  } else {
    conn->keep_alive = minor != 0;
    req->upgrade = h2o_iovec_init(NULL, 0);
  }
  if (conn->super.ctx->shutdown_requested) conn->keep_alive = false;
  req->http1_is_persistent = conn->keep_alive;
  if (!setup_body(conn, &info)) return;
  if (conn->body_kind == BODY_NONE) { /* the head stays in the input until the request ends */
    conn->head_len = (size_t)rc;
    stop_reading(conn);
    process(conn);
    return;
  }
  req->timestamps.request_body_begin_at = *h2o_get_timestamp(conn->super.ctx, NULL, NULL);
  if (info.expect.base && !h2o_lcstris(info.expect.base, info.expect.len, H2O_STRLIT("100-continue"))) {
    send_error(conn, 417, "Expectation Failed", "unknown expectation");
    return;
  }
  copy_head(conn);
  h2o_buffer_consume(&conn->sock->input, (size_t)rc);
  conn->head_len = 0;
  if (conn->body_kind == BODY_LENGTH && conn->content_length == 0) {
    conn->body_end = true;
  } else if (conn->cfg->stream && conn->cfg->stream(conn->cfg->data, req)) {
    conn->streaming = true;
  }
  if (info.expect.base && !conn->body_end) {
    static const h2o_iovec_t cont = {H2O_STRLIT("HTTP/1.1 100 Continue\r\n\r\n")};
    stop_reading(conn);
    conn->phase = PH_CONTINUE;
    h2o_socket_write(conn->sock, (h2o_iovec_t *)&cont, 1, on_continue_written);
    return;
  }
  begin_body(conn);
}

/* ---- reading ---------------------------------------------------------------------- */

static void on_read(h2o_socket_t *sock, const char *err) {
  front_conn_t *conn = sock->data;
  if (err) {
    if (conn->phase == PH_HANDLING && conn->streaming && !conn->body_end && !conn->body_error) {
      conn->body_error = true; /* the client left mid-body */
      notify(conn);
    }
    close_conn(conn);
    return;
  }
  switch (conn->phase) {
    case PH_HEAD:
      handle_head(conn);
      break;
    case PH_BODY:
      body_buffered(conn);
      break;
    case PH_HANDLING:
      if (!conn->streaming) { /* not expected: reading stops while a request is handled */
        h2o_socket_read_stop(sock);
        break;
      }
      body_streamed(conn);
      notify(conn);
      break;
    case PH_DRAIN:
      drain(conn);
      break;
    case PH_LINGER:
      linger_read(conn);
      break;
    case PH_CONTINUE:
      break;
  }
}

static void on_timeout(h2o_timeout_entry_t *entry) {
  front_conn_t *conn = H2O_STRUCT_FROM_MEMBER(front_conn_t, timer, entry);
  if (conn->phase == PH_HANDLING && conn->streaming && !conn->body_end && !conn->body_error) {
    conn->body_error = true; /* the client stopped sending the body */
    notify(conn);
  }
  close_conn(conn);
}

/* Waits for (or parses the buffered) next request head. */
static void read_head(front_conn_t *conn) {
  conn->phase = PH_HEAD;
  set_timer(conn, true);
  h2o_socket_read_start(conn->sock, on_read);
  if (conn->sock->input->size) handle_head(conn);
}

static void reset_request_state(front_conn_t *conn) {
  conn->prev_len = conn->head_len = 0;
  conn->body_kind = BODY_NONE;
  conn->streaming = conn->body_end = conn->body_error = conn->paused = false;
  conn->content_length = conn->body_received = 0;
  conn->body_avail = conn->drained = 0;
  conn->dec = (chunk_decoder_t){0};
  conn->trailer_bytes = (trailer_sink_t){0};
  conn->trailers_in = (h2o_headers_t){0};
  conn->framing = FR_NONE;
  conn->head_sent = conn->final_sent = conn->no_body = conn->broken = false;
  conn->length_left = 0;
  conn->trailers = h2o_iovec_init(NULL, 0);
}

/* The request is over (response written, body read): the next one, if any. */
static void next_request(front_conn_t *conn) {
  dispose_req(conn);
  if (!conn->keep_alive || conn->super.ctx->shutdown_requested) {
    finish_conn(conn);
    return;
  }
  h2o_buffer_consume(&conn->sock->input, conn->head_len + conn->body_avail);
  reset_request_state(conn);
  init_req(conn);
  read_head(conn);
}

/* ---- the response ----------------------------------------------------------------- */

/* After a write's callback: has h2o re-read whether to poll for writing.
 * h2o 2.2's evloop links a socket for that only when a write has to wait: a
 * write that completes at once (from a job, outside the loop's run) leaves
 * its callback pending, and if an epoll update meanwhile (a read_start or
 * read_stop of the streamed body) saw the socket as writing, nothing clears
 * the write polling once the callback has run; the next EPOLLOUT or EPOLLHUP
 * then fails write_pending's assertion (a crash seen in http/body_streams).
 * Re-stating the read side links the socket for the next update. */
static void restate_polling(h2o_socket_t *sock) {
  if (h2o_socket_is_reading(sock))
    h2o_socket_read_start(sock, sock->_cb.read);
  else
    h2o_socket_read_stop(sock);
}

static void on_written(h2o_socket_t *sock, const char *err) {
  front_conn_t *conn = sock->data;
  if (err) {
    close_conn(conn);
    return;
  }
  restate_polling(sock);
  if (!conn->final_sent) {
    h2o_proceed_response(&conn->req);
    return;
  }
  conn->req.timestamps.response_end_at = *h2o_get_timestamp(conn->super.ctx, NULL, NULL);
  if (conn->broken) conn->keep_alive = false;
  if (conn->body_kind != BODY_NONE && !conn->body_end) { /* a streamed body the handler left unread */
    dispose_req(conn);
    if (!conn->keep_alive || conn->body_error || conn->super.ctx->shutdown_requested) {
      conn->linger = !conn->body_error || conn->body_received > conn->super.ctx->globalconf->max_request_entity_size;
      finish_conn(conn);
      return;
    }
    conn->phase = PH_DRAIN;
    h2o_buffer_consume(&conn->sock->input, conn->body_avail);
    conn->drained = conn->body_avail;
    conn->body_avail = 0;
    conn->paused = false;
    h2o_socket_read_start(conn->sock, on_read);
    drain(conn); /* what is buffered already (the timer starts there) */
    return;
  }
  next_request(conn);
}

static size_t head_size(h2o_req_t *req) {
  size_t n = 240 + strlen(req->res.reason) + H2O_TIMESTR_RFC1123_LEN + req->conn->ctx->globalconf->server_name.len;
  for (size_t i = 0; i < req->res.headers.size; i++)
    n += req->res.headers.entries[i].name->len + req->res.headers.entries[i].value.len + 4;
  return n;
}

static char *put(char *p, const char *s, size_t n) {
  memcpy(p, s, n);
  return p + n;
}

static char *put_str(char *p, const char *s) { return put(p, s, strlen(s)); }

/* v in decimal (base 10) or lower-case hex (base 16); the hot path's
 * formatting without printf's machinery. */
static char *put_uint(char *p, uint64_t v, unsigned base) {
  char digits[24], *d = digits + sizeof digits;
  do *--d = "0123456789abcdef"[v % base];
  while (v /= base);
  return put(p, d, (size_t)(digits + sizeof digits - d));
}

/* The status line and headers, as h2o's HTTP/1 writes them (Date,
 * Connection, Content-Length, Server first; then the handler's headers). */
static h2o_iovec_t write_head(front_conn_t *conn) {
  h2o_req_t *req = &conn->req;
  h2o_timestamp_t ts;
  h2o_get_timestamp(conn->super.ctx, &req->pool, &ts);
  char *buf = h2o_mem_alloc_pool(&req->pool, head_size(req)), *p = buf;
  int status = req->res.status < 100 || req->res.status > 999 ? 500 : req->res.status;
  p = put(p, "HTTP/1.1 ", 9);
  p = put_uint(p, (unsigned)status, 10);
  p = put(p, " ", 1);
  p = put_str(p, req->res.reason);
  p = put(p, "\r\nDate: ", 8);
  p = put_str(p, ts.str->rfc1123);
  p = put_str(p, conn->keep_alive ? "\r\nConnection: keep-alive\r\n" : "\r\nConnection: close\r\n");
  /* HEAD and 304 may tell the length the body would have; 1xx and 204 must not (RFC 9110 8.6) */
  if (conn->framing == FR_LENGTH ||
      (conn->no_body && req->res.content_length != SIZE_MAX && status >= 200 && status != 204)) {
    p = put(p, "Content-Length: ", 16);
    p = put_uint(p, req->res.content_length, 10);
    p = put(p, "\r\n", 2);
  }
  h2o_iovec_t server = conn->super.ctx->globalconf->server_name;
  if (server.len) {
    p = put(p, "Server: ", 8);
    p = put(p, server.base, server.len);
    p = put(p, "\r\n", 2);
  }
  for (size_t i = 0; i < req->res.headers.size; i++) {
    const h2o_header_t *h = &req->res.headers.entries[i];
    if (h->name == &H2O_TOKEN_CONTENT_LENGTH->buf || h->name == &H2O_TOKEN_TRANSFER_ENCODING->buf ||
        h->name == &H2O_TOKEN_CONNECTION->buf)
      continue;
    p = put(p, h->orig_name ? h->orig_name : h->name->base, h->name->len);
    p = put(p, ": ", 2);
    p = put(p, h->value.base, h->value.len);
    p = put(p, "\r\n", 2);
  }
  if (conn->framing == FR_CHUNKED) p = put(p, "Transfer-Encoding: chunked\r\n", 28);
  p = put(p, "\r\n", 2);
  return h2o_iovec_init(buf, (size_t)(p - buf));
}

/* Chooses the framing once the first send shows what the body is. */
static void choose_framing(front_conn_t *conn, size_t first_len, h2o_send_state_t state) {
  h2o_req_t *req = &conn->req;
  int st = req->res.status;
  bool head = h2o_memis(req->input.method.base, req->input.method.len, H2O_STRLIT("HEAD"));
  conn->no_body = head || st < 200 || st == 204 || st == 304;
  if (!req->http1_is_persistent) conn->keep_alive = false;
  if (conn->super.ctx->shutdown_requested) conn->keep_alive = false;
  if (conn->no_body) {
    conn->framing = FR_NONE;
  } else if (req->res.content_length == SIZE_MAX && state == H2O_SEND_STATE_FINAL && !conn->trailers.base) {
    req->res.content_length = first_len; /* the whole body is here */
    conn->framing = FR_LENGTH;
  } else if (req->res.content_length != SIZE_MAX && !conn->trailers.base) {
    conn->framing = FR_LENGTH;
  } else if (req->version >= 0x101) {
    conn->framing = FR_CHUNKED;
  } else {
    conn->framing = FR_CLOSE;
    conn->keep_alive = false;
  }
  if (conn->framing == FR_LENGTH) conn->length_left = req->res.content_length;
  /* a streamed body that is still arriving: keep the connection only if draining its rest can work */
  if (conn->streaming && !conn->body_end) {
    uint64_t rest = conn->body_kind == BODY_LENGTH ? conn->content_length - conn->body_received : 0;
    if (conn->body_error || rest > SRV_FRONT_DRAIN_LIMIT) conn->keep_alive = false;
  }
}

static void ostr_send(h2o_ostream_t *self, h2o_req_t *req, h2o_iovec_t *bufs, size_t n, h2o_send_state_t state) {
  front_conn_t *conn = H2O_STRUCT_FROM_MEMBER(front_conn_t, ostr, self);
  size_t len = 0;
  for (size_t i = 0; i < n; i++) len += bufs[i].len;
  h2o_iovec_t *out = alloca(sizeof *out * (n + 8));
  size_t k = 0;
  if (!conn->head_sent) {
    conn->req.timestamps.response_start_at = *h2o_get_timestamp(conn->super.ctx, NULL, NULL);
    choose_framing(conn, len, state);
    out[k++] = write_head(conn);
    conn->head_sent = true;
  }
  if (state == H2O_SEND_STATE_ERROR) conn->broken = true;
  if (!h2o_send_state_is_in_progress(state)) conn->final_sent = true;
  if (conn->no_body) len = 0;
  if (conn->framing == FR_LENGTH && len > conn->length_left) { /* more than announced: cut, then close */
    len = (size_t)conn->length_left;
    conn->broken = true;
  }
  req->bytes_sent += len;
  if (conn->framing == FR_CHUNKED && len)
    out[k++] = h2o_iovec_init(conn->chunk_line, (size_t)(put(put_uint(conn->chunk_line, len, 16), "\r\n", 2) -
                                                         conn->chunk_line));
  for (size_t i = 0, left = len; i < n && left; i++) { /* the body buffers, up to len bytes */
    out[k] = bufs[i];
    if (out[k].len > left) out[k].len = left;
    left -= out[k].len;
    if (out[k].len) k++;
  }
  if (conn->framing == FR_LENGTH) {
    conn->length_left -= len;
    if (conn->final_sent && conn->length_left) conn->broken = true; /* fewer than announced */
  }
  if (conn->framing == FR_CHUNKED) {
    if (len) out[k++] = h2o_iovec_init(H2O_STRLIT("\r\n"));
    if (state == H2O_SEND_STATE_FINAL) {
      out[k++] = h2o_iovec_init(H2O_STRLIT("0\r\n"));
      if (conn->trailers.base) out[k++] = conn->trailers;
      out[k++] = h2o_iovec_init(H2O_STRLIT("\r\n"));
    }
  }
  h2o_socket_write(conn->sock, out, k, on_written);
}

/* ---- the interface ---------------------------------------------------------------- */

/* A TLS connection until its handshake is done. */
typedef struct handshake {
  h2o_timeout_entry_t timer; /* ctx->handshake_timeout */
  h2o_accept_ctx_t *ctx;
  const srv_front_config_t *cfg;
  h2o_socket_t *sock;
  struct timeval connected_at;
} handshake_t;

static void start_http1(h2o_accept_ctx_t *ctx, const srv_front_config_t *cfg, h2o_socket_t *sock,
                        struct timeval connected_at);

static void on_handshake_timeout(h2o_timeout_entry_t *entry) {
  handshake_t *hs = H2O_STRUCT_FROM_MEMBER(handshake_t, timer, entry);
  hs->sock->data = NULL;
  h2o_socket_close(hs->sock);
  free(hs);
}

/* ALPN "h2" (or a draft "h2-NN") goes to h2o's HTTP/2; http/1.1 or none to the front. */
static void on_handshake(h2o_socket_t *sock, const char *err) {
  handshake_t *hs = sock->data;
  h2o_timeout_unlink(&hs->timer);
  sock->data = NULL;
  h2o_accept_ctx_t *ctx = hs->ctx;
  const srv_front_config_t *cfg = hs->cfg;
  struct timeval connected_at = hs->connected_at;
  free(hs);
  if (err) {
    h2o_socket_close(sock);
    return;
  }
  h2o_iovec_t proto = h2o_socket_ssl_get_selected_protocol(sock);
  if (proto.len >= 2 && memcmp(proto.base, "h2", 2) == 0 && (proto.len == 2 || proto.base[2] == '-')) {
    h2o_http2_accept(ctx, sock, connected_at);
    return;
  }
  start_http1(ctx, cfg, sock, connected_at);
}

void srv_front_accept(h2o_accept_ctx_t *ctx, const srv_front_config_t *cfg, h2o_socket_t *sock) {
  struct timeval connected_at = *h2o_get_timestamp(ctx->ctx, NULL, NULL);
  if (!ctx->ssl_ctx) {
    start_http1(ctx, cfg, sock, connected_at);
    return;
  }
  handshake_t *hs = h2o_mem_alloc(sizeof *hs);
  *hs = (handshake_t){.ctx = ctx, .cfg = cfg, .sock = sock, .connected_at = connected_at};
  hs->timer.cb = on_handshake_timeout;
  h2o_timeout_link(ctx->ctx->loop, &ctx->ctx->handshake_timeout, &hs->timer);
  sock->data = hs;
  h2o_socket_ssl_handshake(sock, ctx->ssl_ctx, NULL, on_handshake);
}

static void start_http1(h2o_accept_ctx_t *ctx, const srv_front_config_t *cfg, h2o_socket_t *sock,
                        struct timeval connected_at) {
  front_conn_t *conn =
      (front_conn_t *)h2o_create_connection(sizeof *conn, ctx->ctx, ctx->hosts, connected_at, &front_callbacks);
  memset((char *)conn + sizeof conn->super, 0, offsetof(front_conn_t, req) - sizeof conn->super);
  conn->sock = sock;
  conn->cfg = cfg;
  conn->timer.cb = on_timeout;
  sock->data = conn;
  if (!thread_conns.next) h2o_linklist_init_anchor(&thread_conns);
  h2o_linklist_insert(&thread_conns, &conn->link);
  init_req(conn);
  read_head(conn);
}

void srv_front_shutdown(h2o_context_t *ctx) {
  if (!thread_conns.next) return;
  for (h2o_linklist_t *n = thread_conns.next, *next; n != &thread_conns; n = next) {
    next = n->next;
    front_conn_t *conn = H2O_STRUCT_FROM_MEMBER(front_conn_t, link, n);
    if (conn->super.ctx == ctx &&
        ((conn->phase == PH_HEAD && conn->sock->input->size == 0) || conn->phase == PH_LINGER))
      close_conn(conn);
  }
}

bool srv_front_owns(const h2o_req_t *req) { return conn_of(req) != NULL; }

bool srv_front_streaming(const h2o_req_t *req) {
  front_conn_t *conn = conn_of(req);
  return conn && conn->streaming && req == &conn->req;
}

srv_body_state_t srv_front_body_peek(h2o_req_t *req, const uint8_t **data, size_t *len) {
  front_conn_t *conn = conn_of(req);
  *data = NULL;
  *len = 0;
  if (!conn || !conn->streaming) return SRV_BODY_END;
  *data = (const uint8_t *)conn->sock->input->bytes;
  *len = conn->body_avail;
  if (conn->body_error) return SRV_BODY_ERROR;
  return conn->body_end ? SRV_BODY_END : SRV_BODY_MORE;
}

void srv_front_body_consume(h2o_req_t *req, size_t n) {
  front_conn_t *conn = conn_of(req);
  if (!conn || !conn->streaming || conn->phase != PH_HANDLING) return;
  if (n > conn->body_avail) n = conn->body_avail;
  h2o_buffer_consume(&conn->sock->input, n);
  conn->body_avail -= n;
  if (conn->paused && conn->body_avail < SRV_FRONT_BODY_WINDOW && !conn->body_end && !conn->body_error) {
    conn->paused = false;
    set_timer(conn, true);
    h2o_socket_read_start(conn->sock, on_read);
  }
}

void srv_front_body_on_change(h2o_req_t *req, void (*cb)(void *), void *data) {
  front_conn_t *conn = conn_of(req);
  if (!conn) return;
  conn->on_change = cb;
  conn->on_change_data = data;
}

const h2o_headers_t *srv_front_body_trailers(const h2o_req_t *req) {
  front_conn_t *conn = conn_of(req);
  if (!conn || req != &conn->req || !conn->body_end || !conn->trailers_in.size) return NULL;
  return &conn->trailers_in;
}

int64_t srv_front_body_length(const h2o_req_t *req) {
  front_conn_t *conn = conn_of(req);
  if (!conn || conn->body_kind != BODY_LENGTH) return -1;
  return (int64_t)conn->content_length;
}

int srv_front_set_trailers(h2o_req_t *req, const h2o_header_t *headers, size_t n) {
  front_conn_t *conn = conn_of(req);
  if (!conn || req->version < 0x101) return -1;
  int st = req->res.status;
  if (h2o_memis(req->input.method.base, req->input.method.len, H2O_STRLIT("HEAD")) || st == 204 || st == 304)
    return -1;
  if (conn->head_sent ? conn->framing != FR_CHUNKED : req->res.content_length != SIZE_MAX) return -1;
  size_t size = 1;
  for (size_t i = 0; i < n; i++) {
    if (memchr(headers[i].name->base, '\r', headers[i].name->len) ||
        memchr(headers[i].name->base, '\n', headers[i].name->len) ||
        memchr(headers[i].value.base, '\r', headers[i].value.len) ||
        memchr(headers[i].value.base, '\n', headers[i].value.len))
      return -1;
    size += headers[i].name->len + headers[i].value.len + 4;
  }
  char *buf = h2o_mem_alloc_pool(&req->pool, size), *p = buf;
  for (size_t i = 0; i < n; i++) {
    p = put(p, headers[i].name->base, headers[i].name->len);
    p = put(p, ": ", 2);
    p = put(p, headers[i].value.base, headers[i].value.len);
    p = put(p, "\r\n", 2);
  }
  conn->trailers = h2o_iovec_init(buf, (size_t)(p - buf));
  return 0;
}
