/*
 * outbound.h: outbound HTTP requests for wasi:http guests, on libcurl's
 * multi interface driven by the h2o event loop of the calling thread.
 *
 * One wisp_outbound_t per loop thread holds a curl multi handle whose
 * sockets are watched as h2o sockets and whose timer is an h2o timeout, so
 * any number of requests are in flight on the thread while it serves
 * others; nothing here blocks (DNS runs in libcurl's resolver thread).
 * Connections to an upstream are kept and reused across requests.
 *
 * A request (wisp_outbound_request_t) has the shape wasi:http gives it:
 *
 *   start         method, scheme, authority, path-with-query, headers,
 *                 whether there is a body and its length if known, and the
 *                 request-options timeouts (connect, first byte, between
 *                 bytes);
 *   request body  written in pieces (wisp_outbound_write) into a bounded
 *                 buffer, then finished; with no known length it is sent
 *                 chunked;
 *   response head status and headers (state HEAD);
 *   response body read in pieces as it arrives (wisp_outbound_read); when
 *                 the reader falls behind by WISP_OUTBOUND_BUFFER bytes the
 *                 transfer is paused and resumed as the reader catches up;
 *   trailers      any trailer fields, once the body is done;
 *   errors        as wasi:http error-code cases (wisp_http_error_t).
 *
 * Notification: whenever something a reader may wait for changes (the head
 * arrived, body bytes arrived, the body ended, the request failed, room
 * appeared in the request-body buffer) the request's notify callback runs.
 * It runs inside the loop's event handlers (from inside libcurl) and may run
 * inside wisp_outbound_read/write/finish (libcurl delivers a held piece when
 * a transfer resumes). It may call the getters and wisp_outbound_read,
 * _write and _finish of any request (what they must do to libcurl then
 * waits for the next loop turn), never wisp_outbound_start, _free or
 * _delete.
 *
 * Ownership: the caller owns each request and frees it with
 * wisp_outbound_free at any time: in flight it is aborted (a guest dropping
 * its future, a client going away, a drain). wisp_outbound_delete aborts
 * what is left; requests still owned by callers then fail with
 * internal-error and may be freed later. Strings passed to start are
 * copied; pointers returned by the getters live as long as the request.
 * Everything happens on the loop's thread.
 */
#ifndef WISP_WASIHTTP_OUTBOUND_H
#define WISP_WASIHTTP_OUTBOUND_H

#define H2O_USE_EPOLL 1 /* Debian's libh2o-evloop is built with epoll */
#include <h2o.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bytes of response body held for a slow reader before the transfer is
 * paused, and of request body accepted ahead of the connection. */
#define WISP_OUTBOUND_BUFFER (64 * 1024)

/*
 * The cases of wasi:http/types error-code, numbered as in the variant (so a
 * value is the discriminant to lower). Only the ones outbound requests
 * produce carry meaning here; the payloads that matter are in
 * wisp_http_error_t.
 */
typedef enum wisp_http_error_code {
  WISP_HTTP_ERROR_DNS_TIMEOUT = 0,
  WISP_HTTP_ERROR_DNS_ERROR = 1,
  WISP_HTTP_ERROR_DESTINATION_NOT_FOUND = 2,
  WISP_HTTP_ERROR_DESTINATION_UNAVAILABLE = 3,
  WISP_HTTP_ERROR_DESTINATION_IP_PROHIBITED = 4,
  WISP_HTTP_ERROR_DESTINATION_IP_UNROUTABLE = 5,
  WISP_HTTP_ERROR_CONNECTION_REFUSED = 6,
  WISP_HTTP_ERROR_CONNECTION_TERMINATED = 7,
  WISP_HTTP_ERROR_CONNECTION_TIMEOUT = 8,
  WISP_HTTP_ERROR_CONNECTION_READ_TIMEOUT = 9,
  WISP_HTTP_ERROR_CONNECTION_WRITE_TIMEOUT = 10,
  WISP_HTTP_ERROR_CONNECTION_LIMIT_REACHED = 11,
  WISP_HTTP_ERROR_TLS_PROTOCOL_ERROR = 12,
  WISP_HTTP_ERROR_TLS_CERTIFICATE_ERROR = 13,
  WISP_HTTP_ERROR_TLS_ALERT_RECEIVED = 14,
  WISP_HTTP_ERROR_HTTP_REQUEST_DENIED = 15,
  WISP_HTTP_ERROR_HTTP_REQUEST_LENGTH_REQUIRED = 16,
  WISP_HTTP_ERROR_HTTP_REQUEST_BODY_SIZE = 17,
  WISP_HTTP_ERROR_HTTP_REQUEST_METHOD_INVALID = 18,
  WISP_HTTP_ERROR_HTTP_REQUEST_URI_INVALID = 19,
  WISP_HTTP_ERROR_HTTP_REQUEST_URI_TOO_LONG = 20,
  WISP_HTTP_ERROR_HTTP_REQUEST_HEADER_SECTION_SIZE = 21,
  WISP_HTTP_ERROR_HTTP_REQUEST_HEADER_SIZE = 22,
  WISP_HTTP_ERROR_HTTP_REQUEST_TRAILER_SECTION_SIZE = 23,
  WISP_HTTP_ERROR_HTTP_REQUEST_TRAILER_SIZE = 24,
  WISP_HTTP_ERROR_HTTP_RESPONSE_INCOMPLETE = 25,
  WISP_HTTP_ERROR_HTTP_RESPONSE_HEADER_SECTION_SIZE = 26,
  WISP_HTTP_ERROR_HTTP_RESPONSE_HEADER_SIZE = 27,
  WISP_HTTP_ERROR_HTTP_RESPONSE_BODY_SIZE = 28,
  WISP_HTTP_ERROR_HTTP_RESPONSE_TRAILER_SECTION_SIZE = 29,
  WISP_HTTP_ERROR_HTTP_RESPONSE_TRAILER_SIZE = 30,
  WISP_HTTP_ERROR_HTTP_RESPONSE_TRANSFER_CODING = 31,
  WISP_HTTP_ERROR_HTTP_RESPONSE_CONTENT_CODING = 32,
  WISP_HTTP_ERROR_HTTP_RESPONSE_TIMEOUT = 33,
  WISP_HTTP_ERROR_HTTP_UPGRADE_FAILED = 34,
  WISP_HTTP_ERROR_HTTP_PROTOCOL_ERROR = 35,
  WISP_HTTP_ERROR_LOOP_DETECTED = 36,
  WISP_HTTP_ERROR_CONFIGURATION_ERROR = 37,
  WISP_HTTP_ERROR_INTERNAL_ERROR = 38,
} wisp_http_error_code_t;

/* An error-code value. has_number/number carry the option<u64> of
 * HTTP-request-body-size; message (when not empty) the option<string> of
 * internal-error, or text for the log for the others. */
typedef struct wisp_http_error {
  wisp_http_error_code_t code;
  bool has_number;
  uint64_t number;
  char message[128];
} wisp_http_error_t;

/* The case's name as the WIT spells it ("connection-refused"). */
const char *wisp_http_error_name(wisp_http_error_code_t code);

typedef struct wisp_outbound wisp_outbound_t;
typedef struct wisp_outbound_request wisp_outbound_request_t;

typedef struct wisp_outbound_header {
  const char *name, *value;
  size_t name_length, value_length;
} wisp_outbound_header_t;

typedef void (*wisp_outbound_notify_fn)(wisp_outbound_request_t *request, void *user);

typedef struct wisp_outbound_spec {
  const char *method;          /* "GET", "POST", or any token */
  const char *scheme;          /* "http" or "https" */
  const char *authority;       /* "host[:port]", already checked (allow.h) */
  const char *path_with_query; /* "/x?y"; NULL or "" means "/" */
  const wisp_outbound_header_t *headers;
  size_t header_count;
  bool has_body;          /* the request has a body (written with wisp_outbound_write) */
  int64_t content_length; /* its length when known, else -1 (sent chunked) */
  /* request-options, in milliseconds; 0: no limit of that kind */
  uint64_t connect_timeout_ms;       /* DNS, TCP and TLS until connected */
  uint64_t first_byte_timeout_ms;    /* connected until the response head */
  uint64_t between_bytes_timeout_ms; /* between pieces of the response body */
  wisp_outbound_notify_fn notify;
  void *user;
} wisp_outbound_spec_t;

typedef enum wisp_outbound_state {
  WISP_OUTBOUND_WAITING = 0, /* no response head yet */
  WISP_OUTBOUND_HEAD = 1,    /* status and headers known; the body may follow */
  WISP_OUTBOUND_DONE = 2,    /* the whole response arrived (trailers too) */
  WISP_OUTBOUND_FAILED = 3,  /* see wisp_outbound_error */
} wisp_outbound_state_t;

/* A context for the calling thread's loop; NULL when out of memory or when
 * libcurl cannot start. */
wisp_outbound_t *wisp_outbound_new(h2o_evloop_t *loop);
/* Aborts every request left and frees the context. */
void wisp_outbound_delete(wisp_outbound_t *outbound);
/* Trusts the certificates in the PEM file `file` instead of the system's
 * (the file named by the environment variable SSL_CERT_FILE when it is set
 * at wisp_outbound_new, else libcurl's built-in CA bundle, the default);
 * NULL goes back to libcurl's. For
 * connections made after the call. 0, or -1 out of memory. The bundle is
 * parsed once per context and kept (libcurl's CA cache), not per
 * connection. */
int wisp_outbound_set_ca_file(wisp_outbound_t *outbound, const char *file);
/* Requests in flight (started, not finished or freed). */
size_t wisp_outbound_active(const wisp_outbound_t *outbound);

/*
 * Starts a request. Returns 0 with *out (OUT) set, or -1 with *error (OUT)
 * set and no request (an invalid method, scheme or header, out of memory).
 * Failures on the way (DNS, connect, TLS, timeouts) arrive later as state
 * FAILED.
 */
int wisp_outbound_start(wisp_outbound_t *outbound, const wisp_outbound_spec_t *spec,
                        wisp_outbound_request_t **out /* OUT */, wisp_http_error_t *error /* OUT */);
/* Aborts the request if it is in flight, and frees it. NULL is ignored. */
void wisp_outbound_free(wisp_outbound_request_t *request);

/* ---- request body ---- */
/* Bytes wisp_outbound_write accepts now (0: wait for a notification). */
size_t wisp_outbound_write_room(const wisp_outbound_request_t *request);
/* Queues up to length bytes; returns how many were taken (at most
 * wisp_outbound_write_room), or -1 with *error set when the body would
 * exceed the announced content length or the request has failed. */
int64_t wisp_outbound_write(wisp_outbound_request_t *request, const void *data, size_t length,
                            wisp_http_error_t *error /* OUT */);
/* No more body. Returns 0, or -1 with *error set when fewer bytes than the
 * announced content length were written (the request then fails). */
int wisp_outbound_finish(wisp_outbound_request_t *request, wisp_http_error_t *error /* OUT */);

/* Fails the request with *error (a request body the guest abandoned):
 * state FAILED, the transfer stops. Nothing happens once DONE or FAILED. */
void wisp_outbound_abort(wisp_outbound_request_t *request, const wisp_http_error_t *error);

/* ---- response ---- */
wisp_outbound_state_t wisp_outbound_state(const wisp_outbound_request_t *request);
/* The failure (state FAILED); NULL otherwise. */
const wisp_http_error_t *wisp_outbound_error(const wisp_outbound_request_t *request);
/* Status code (state HEAD or DONE; a failure after the head keeps it). */
int wisp_outbound_status(const wisp_outbound_request_t *request);
/* Response header fields in arrival order (*count OUT). */
const wisp_outbound_header_t *wisp_outbound_headers(const wisp_outbound_request_t *request,
                                                    size_t *count /* OUT */);
/* Trailer fields (meaningful in state DONE; *count OUT, 0 when none). */
const wisp_outbound_header_t *wisp_outbound_trailers(const wisp_outbound_request_t *request,
                                                     size_t *count /* OUT */);
/* Body bytes buffered and ready to read now. */
size_t wisp_outbound_readable(const wisp_outbound_request_t *request);
/* Whether the body has ended: every byte read and state DONE or FAILED. */
bool wisp_outbound_body_ended(const wisp_outbound_request_t *request);
/* Copies up to length buffered body bytes into data and returns how many
 * (0 when none are buffered now); resumes a paused transfer. */
size_t wisp_outbound_read(wisp_outbound_request_t *request, void *data, size_t length);

#endif
