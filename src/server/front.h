/*
 * front.h: wisp's own HTTP/1.x connection layer for the application listener
 * ("the front"; docs/http.md "The front").
 *
 * h2o 2.2 (Debian's libh2o-evloop) reads a whole request body before it calls
 * a handler and has no way to send response trailers. The front parses
 * HTTP/1.0 and HTTP/1.1 itself, builds an h2o_req_t on a connection object of
 * its own and runs h2o's handler chain (h2o_process_request), so every
 * handler works unchanged; the response leaves through the front's own final
 * output stream, which writes HTTP/1.1 (content-length, chunked or
 * close-delimited framing, keep-alive, pipelining, trailers). A request body
 * is either read whole first (req->entity, as h2o does) or, when the
 * configuration's `stream` predicate says so, handed to the handler as it
 * arrives through srv_front_body_*.
 *
 * Everything here runs on the loop thread that accepted the connection; TLS
 * connections are handshaken here too (srv_front_accept).
 * Connections that start with the HTTP/2 preface ("PRI * HTTP/2.0", prior
 * knowledge) are handed to h2o's HTTP/2 (h2o_http2_accept) when
 * globalconf->http1.upgrade_to_http2 is set; `Upgrade: h2c` is ignored (the
 * request is answered over HTTP/1.1, as RFC 9113 allows).
 *
 * Limits (h2o's values): a request head of at most H2O_MAX_REQLEN bytes and
 * H2O_MAX_HEADERS headers (400 and close beyond); a body of at most
 * globalconf->max_request_entity_size (413); the head must arrive within
 * ctx->http1.req_timeout of the connection (or the previous response)
 * becoming idle, and a body may pause for at most that long between reads;
 * then the connection is closed.
 */
#ifndef WISP_SERVER_FRONT_H
#define WISP_SERVER_FRONT_H

#define H2O_USE_EPOLL 1
#include <h2o.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct srv_front_config {
  /* Called once a request head with a body has been parsed: true to stream
   * the body to the handler. NULL or false: the front reads the whole body
   * first and the handler finds it in req->entity, exactly as with h2o.
   * Not called for "Content-Length: 0" (req->entity is then empty, not NULL). */
  bool (*stream)(void *data, h2o_req_t *req);
  void *data;
} srv_front_config_t;

/* Takes over an accepted app-listener socket (cfg must outlive the connection).
 * With ctx->ssl_ctx the TLS handshake comes first (within the context's
 * handshake timeout): ALPN "h2" goes to h2o's HTTP/2 (h2o_http2_accept),
 * http/1.1 or no ALPN to the front, so HTTPS/1.1 streams too. */
void srv_front_accept(h2o_accept_ctx_t *ctx, const srv_front_config_t *cfg, h2o_socket_t *sock);
/* Server shutdown (call after h2o_context_request_shutdown(ctx)): closes the
 * front's idle connections of ctx (no request bytes received) and those
 * lingering after a last answer; the others finish their current request and
 * then close (no more keep-alive). */
void srv_front_shutdown(h2o_context_t *ctx);
/* True if req came through the front (srv_front_body_* and srv_front_set_trailers apply). */
bool srv_front_owns(const h2o_req_t *req);
/* True if req's body is streamed: req->entity stays {NULL,0}; read it with the calls below. */
bool srv_front_streaming(const h2o_req_t *req);

typedef enum { SRV_BODY_MORE, SRV_BODY_END, SRV_BODY_ERROR } srv_body_state_t;
/* The body bytes received and not yet consumed, contiguous (already de-chunked),
 * valid until the next consume or return to the event loop. MORE: more may come;
 * END: *len bytes are the last; ERROR: the client left, sent a broken chunk, or
 * exceeded max_request_entity_size (bytes already peeked stay valid until return).
 * For a request that is not streamed: END with no bytes (the body is req->entity). */
srv_body_state_t srv_front_body_peek(h2o_req_t *req, const uint8_t **data /* OUT */, size_t *len /* OUT */);
/* The handler is done with the first n peeked bytes; reading from the socket
 * resumes if it was paused because too much was unconsumed (backpressure:
 * reading pauses above SRV_FRONT_BODY_WINDOW unconsumed bytes; one read event
 * reads until the kernel has no more, so a fast sender can add a few MiB
 * beyond the window; the socket's receive buffer is capped at 1 MiB once a
 * body streams, to keep that small). */
void srv_front_body_consume(h2o_req_t *req, size_t n);
#define SRV_FRONT_BODY_WINDOW (256 * 1024)
/* cb(data) is called from the event loop (never inside peek/consume) whenever
 * peek's answer may have changed: more bytes, end, error. One per request; NULL
 * cancels. Never called after the request is disposed. Bytes that came with the
 * request head are already there when the handler is called (no callback for
 * them): peek first, then wait for cb. */
void srv_front_body_on_change(h2o_req_t *req, void (*cb)(void *), void *data);
/* The trailer fields that ended a chunked request body (names in lower case,
 * tokens where h2o knows them, values as sent without surrounding blanks; a
 * line without a colon, whose name is not a token or whose value has a
 * control byte other than HTAB is dropped), once the body has ended: after
 * SRV_BODY_END for a streamed body, from the start for one read whole (req->entity). NULL
 * before that or when there are none. In req's pool. At most 64 KiB of
 * trailer section is accepted (more breaks the body: 400 or SRV_BODY_ERROR). */
const h2o_headers_t *srv_front_body_trailers(const h2o_req_t *req);
/* The Content-Length of a streamed body, or -1 when chunked. */
int64_t srv_front_body_length(const h2o_req_t *req);
/* Trailers for req's response, sent after the last chunk. Call before the final
 * h2o_send. 0: they will be sent (the response is then chunked); -1: this
 * response cannot carry them (not the front, HTTP/1.0, content-length framed,
 * HEAD, 204/304, or the head already went out without chunked framing). Names
 * and values are copied; a name or value containing CR or LF is refused (-1). */
int srv_front_set_trailers(h2o_req_t *req, const h2o_header_t *headers, size_t n);

/* If the handler finishes its response before a streamed body was fully
 * received, the front reads and discards up to SRV_FRONT_DRAIN_LIMIT more
 * bytes to keep the connection, else closes it after the response. */
#define SRV_FRONT_DRAIN_LIMIT (1024 * 1024)

#endif
