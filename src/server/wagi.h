/*
 * wagi.h: the WAGI convention (CGI/1.1 for WebAssembly command modules), the
 * parts that do not depend on the HTTP library: the request side builds the
 * guest's environment ("KEY=VALUE" strings) and argv, the response side
 * parses what the guest wrote on stdout into a status, headers and a body.
 *
 * Everything here is pure string work so it can be tested without a server.
 * Ownership: a wagi_strvec_t owns its strings (wagi_strvec_free releases
 * them); a parsed response points into the caller's output buffer.
 */
#ifndef WISP_SERVER_WAGI_H
#define WISP_SERVER_WAGI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A growable array of owned NUL-terminated strings. */
typedef struct wagi_strvec {
  char **items;
  size_t count, cap;
  bool failed; /* an allocation failed; the vector is incomplete */
} wagi_strvec_t;

void wagi_strvec_free(wagi_strvec_t *vec);
/* Appends a copy of the first len bytes of s. */
void wagi_strvec_push(wagi_strvec_t *vec, const char *s, size_t len);
/* Appends "NAME=VALUE" (value of vlen bytes). */
void wagi_strvec_push_var(wagi_strvec_t *vec, const char *name, const char *value, size_t vlen);
/* True if the vector holds a "NAME=..." entry. */
bool wagi_strvec_has_var(const wagi_strvec_t *vec, const char *name, size_t name_len);

/* Percent-decodes s (len bytes) into out (at least len bytes); '+' is kept
 * unless plus_is_space. Returns the decoded length. Invalid escapes are
 * copied as written. */
size_t wagi_url_decode(const char *s, size_t len, char *out, bool plus_is_space);

/* "Content-Type" -> "HTTP_CONTENT_TYPE" into out (name_len + 6 bytes).
 * Returns false for headers WAGI does not pass (Authorization, Connection,
 * Proxy-Authorization) and for Content-Type and Content-Length, which are
 * CONTENT_TYPE and CONTENT_LENGTH already. */
bool wagi_header_var_name(const char *name, size_t name_len, char *out);

/* argv from the trigger's template ("${SCRIPT_NAME} ${ARGS}"): tokens split
 * on spaces; ${SCRIPT_NAME} is replaced anywhere in a token, a token that is
 * exactly ${ARGS} expands to the query string split on '&', each part
 * percent-decoded ('+' as space), empty parts dropped. */
void wagi_build_argv(wagi_strvec_t *argv, const char *template_, const char *script_name, const char *query,
                     size_t query_len);

/* One header line of the guest's response, pointing into its output. */
typedef struct wagi_header {
  const char *name, *value;
  size_t name_len, value_len;
} wagi_header_t;

#define WAGI_MAX_HEADERS 100

typedef struct wagi_response {
  int status;
  wagi_header_t headers[WAGI_MAX_HEADERS]; /* without Status, in order */
  size_t header_count;
  const char *body;
  size_t body_len;
} wagi_response_t;

/* Parses the guest's stdout: header lines ("Name: value", LF or CRLF) up to
 * an empty line, then the body. `Status: NNN [reason]` sets the status; a
 * `Location` without a Status gives 302; otherwise 200. At least one of
 * Content-Type, Location or Status must be present (RFC 3875 6.2). Returns 0,
 * or -1 with a message in err saying what is wrong with the output. */
int wagi_parse_response(const char *out, size_t len, wagi_response_t *res, char *err, size_t err_size);

/* Standard reason phrase of an HTTP status, "Unknown" when not known. */
const char *wagi_reason_phrase(int status);

#endif
