/*
 * wisp_http.h: write a wasi:http handler in C without a bindings generator.
 *
 * The guest side of the `wasi:http/proxy` world (WASI 0.2.x; the imports are
 * named @0.2.12, the version the WIT shipped inside jco carries, and any host
 * that accepts 0.2.x links them) behind a small API. Define one function,
 *
 *     void wisp_handle(wisp_request_t *request, wisp_response_t *response);
 *
 * and build with sdk/c/build.sh (clang-19 for wasm32-wasi, `jco embed` with the
 * proxy world's WIT, `jco new`); see docs/sdk-c.md. Example:
 *
 *     #include "wisp_http.h"
 *     void wisp_handle(wisp_request_t *req, wisp_response_t *res) {
 *       wisp_response_set_header(res, "content-type", "text/plain");
 *       wisp_response_printf(res, "hello from %s\n", wisp_request_path(req));
 *     }
 *
 * One call of the handler serves one request (the proxy world's
 * incoming-handler.handle); the host calls it in a fresh instance per request.
 *
 * Strings: every `const char *` this API returns is NUL-terminated, owned by
 * the object it came from, and valid until that object is freed (for the
 * request and response: until wisp_handle returns). Header values may contain
 * bytes that are not text; the *_at functions give their exact length.
 *
 * Errors: functions returning int give 0 on success and -1 on failure; those
 * returning a pointer give NULL. wisp_http_error() then describes the last
 * failure ("header-error: forbidden", "HTTP-request-denied", ...).
 *
 * Blocking: reading a body waits for data, writing one waits while the host's
 * buffer is full (check-write says 0: backpressure); both wait through
 * wasi:io/poll, so a host that suspends guests serves others meanwhile.
 *
 * The standard C library works (malloc, snprintf, string.h, printf to
 * stdout/stderr, time, getentropy): wisp_http.c routes the few WASI preview1
 * calls libc makes for those to the proxy world's own imports, so the component
 * imports nothing beyond `wasi:http/proxy`. Files, sockets, environment
 * variables and arguments do not exist in that world.
 */
#ifndef WISP_HTTP_H
#define WISP_HTTP_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct wisp_request wisp_request_t;               /* the request being served */
typedef struct wisp_response wisp_response_t;             /* the answer to it */
typedef struct wisp_fetch_response wisp_fetch_response_t; /* the answer to an outbound request */

/* The handler the application defines. When it returns, a response that was
 * never started is sent (status 200 unless set, empty body) and a started body
 * is finished. */
void wisp_handle(wisp_request_t *request, wisp_response_t *response);

/* The message of the last failed call ("" when none failed yet). */
const char *wisp_http_error(void);

/* ---- the request ---------------------------------------------------- */

/* "GET", "POST", ... or the method as the client sent it. */
const char *wisp_request_method(wisp_request_t *request);
/* The path with its query, as sent: "/search?q=wasm" ("/" when absent). */
const char *wisp_request_path_with_query(wisp_request_t *request);
/* The path alone ("/search") and the query alone ("q=wasm", "" when none). */
const char *wisp_request_path(wisp_request_t *request);
const char *wisp_request_query(wisp_request_t *request);
/* The authority (Host), "" when the host gives none. */
const char *wisp_request_authority(wisp_request_t *request);
/* "http", "https", or another scheme; "" when unknown. */
const char *wisp_request_scheme(wisp_request_t *request);

/* The first value of header name (case-insensitive), or NULL. */
const char *wisp_request_header(wisp_request_t *request, const char *name);
/* Every header, in order: how many, and the index-th one (OUT: name and
 * value with their lengths). Returns 0, or -1 when index is out of range. */
size_t wisp_request_header_count(wisp_request_t *request);
int wisp_request_header_at(wisp_request_t *request, size_t index, const char **name /* OUT */,
                           size_t *name_length /* OUT */, const char **value /* OUT */,
                           size_t *value_length /* OUT */);

/* Reads the next piece of the body into buffer (at most capacity bytes), as
 * it arrives. Returns the number of bytes read, 0 at the end of the body, or
 * -1 on an error. */
long wisp_request_read(wisp_request_t *request, void *buffer, size_t capacity);
/* The rest of the body at once, NUL-terminated (the NUL is not counted in
 * *length). The request owns it. NULL on an error or when it would exceed
 * limit bytes (0: no limit of ours; the host has its own). */
const char *wisp_request_body(wisp_request_t *request, size_t limit, size_t *length /* OUT */);

/* ---- the response --------------------------------------------------- */

/* Status code (100-999; default 200). Only before the body is started. */
int wisp_response_set_status(wisp_response_t *response, int status);
/* Adds a header (a second call with the same name adds a second value).
 * Fails, with the host's reason, for a forbidden or malformed header (e.g.
 * "connection", or a name with a space). Only before the body is started. */
int wisp_response_add_header(wisp_response_t *response, const char *name, const char *value);
/* Replaces every value of name with value. */
int wisp_response_set_header(wisp_response_t *response, const char *name, const char *value);

/* Writes a piece of the body. The first write (or wisp_response_start) sends
 * the status and headers; each write goes to the client as soon as the host
 * takes it, waiting while the host's buffer is full. Fails when the client
 * has gone or the host refuses more. */
int wisp_response_write(wisp_response_t *response, const void *data, size_t length);
int wisp_response_puts(wisp_response_t *response, const char *text);
int wisp_response_printf(wisp_response_t *response, const char *format, ...)
    __attribute__((format(printf, 2, 3)));
int wisp_response_vprintf(wisp_response_t *response, const char *format, va_list args);
/* Sends status and headers now, with no body yet. */
int wisp_response_start(wisp_response_t *response);
/* Ends the body (waits until the host has taken all of it). Optional: done
 * when wisp_handle returns. Writing afterwards fails. */
int wisp_response_finish(wisp_response_t *response);
/* Answers with the host's error response instead (internal-error with
 * message; wisp and other hosts send a 500). Only before the body is started;
 * after that, the body is cut short (the host sees it unfinished). */
void wisp_response_fail(wisp_response_t *response, const char *message);

/* ---- outbound requests (wasi:http/outgoing-handler) ----------------- */

typedef struct wisp_header {
  const char *name;
  const char *value;
} wisp_header_t;

typedef struct wisp_fetch_options {
  const char *method;           /* NULL: "GET" */
  const wisp_header_t *headers; /* header_count of them, may be NULL */
  size_t header_count;
  const void *body; /* body_length bytes; NULL: no body */
  size_t body_length;
  uint32_t timeout_ms; /* connect, first-byte and between-bytes timeouts; 0: the host's */
} wisp_fetch_options_t;

/* Sends a request to url ("http://host:port/path?query"; http and https) and
 * waits for the response status and headers. options may be NULL (a GET).
 * Returns NULL on failure: wisp_http_error() then names the wasi:http
 * error-code, e.g. "HTTP-request-denied" when the host is not in
 * allowed_outbound_hosts, "connection-refused", "connection-timeout". */
wisp_fetch_response_t *wisp_fetch(const char *url, const wisp_fetch_options_t *options);
int wisp_fetch_status(wisp_fetch_response_t *response);
const char *wisp_fetch_header(wisp_fetch_response_t *response, const char *name);
size_t wisp_fetch_header_count(wisp_fetch_response_t *response);
int wisp_fetch_header_at(wisp_fetch_response_t *response, size_t index, const char **name /* OUT */,
                         size_t *name_length /* OUT */, const char **value /* OUT */,
                         size_t *value_length /* OUT */);
/* As wisp_request_read and wisp_request_body, for the fetched body. */
long wisp_fetch_read(wisp_fetch_response_t *response, void *buffer, size_t capacity);
const char *wisp_fetch_body(wisp_fetch_response_t *response, size_t limit, size_t *length /* OUT */);
/* Releases the response and everything it owns. NULL is allowed. */
void wisp_fetch_free(wisp_fetch_response_t *response);

#ifdef __cplusplus
}
#endif

#endif
