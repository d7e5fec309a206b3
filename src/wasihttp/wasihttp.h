/*
 * wasihttp.h: the wasi:http 0.2 host (internal API): the `types` interface
 * (fields, incoming-request, outgoing-response, bodies, trailers, futures,
 * response-outparam, error-code) and `outgoing-handler`, as
 * wisp__chost_func_t callbacks for src/component/cinst.h, for one request
 * served by a wasi:http/incoming-handler component (docs/http.md).
 *
 * Bodies are wasi:io streams of the WASI 0.2 host (src/wasi2) backed by this
 * host's buffers (wisp__wasi2_stream_new): the guest reads the request body
 * and writes the response body with the ordinary wasi:io/streams functions,
 * and blocks through the wasi2 host's wait hook, which the server turns into
 * a suspension of the guest.
 *
 * The server's side: wisp__http_new with the request, the host functions
 * (wisp__http_host_funcs, placed before wasi2's), the request body given with
 * wisp__http_body_in_set; after the handle call (or while it is suspended)
 * wisp__http_response tells whether the guest set a response, and
 * wisp__http_body_out_peek/_consume take the bytes it wrote. Nothing here
 * blocks or does I/O. Any 0.2.x minor version of the interfaces links,
 * after wisp__http_check compared the shapes of what the component imports
 * with those the host is written for (wasihttp_types.c).
 */
#ifndef WISP_WASIHTTP_H
#define WISP_WASIHTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../component/cinst.h"
#include "../wasi2/wasi2.h"

typedef struct wisp__http wisp__http_t;

typedef struct wisp__http_header {
  const char *name; /* lower case for requests from h2o; any case accepted */
  size_t name_len;
  const char *value;
  size_t value_len;
} wisp__http_header_t;

/* The incoming request. Copied by wisp__http_new except the body. */
typedef struct wisp__http_request {
  const char *method;
  size_t method_len;
  const char *path_with_query; /* as sent: "/a/b?x=1" */
  size_t path_len;
  bool https;
  const char *authority; /* host[:port] */
  size_t authority_len;
  const wisp__http_header_t *headers;
  size_t nheaders;
} wisp__http_request_t;

struct wisp_outbound;
struct wisp_manifest_component;

typedef struct wisp__http_config {
  wisp__wasi2_t *wasi;         /* whose stream and pollable tables carry the bodies */
  /* outgoing-handler (outgoing.c, docs/outbound.md): the loop thread's
   * outbound engine (NULL: requests fail with internal-error), whose
   * allowed_outbound_hosts apply (NULL: none), how to let a guest waiting
   * for a response or body go on, and the request id for log lines. */
  struct wisp_outbound *outbound;
  const struct wisp_manifest_component *component;
  void (*wake)(void *env);
  void *wake_env;
  uint64_t request_id;
  uint64_t max_response_bytes; /* body bytes the guest may write; more is an error */
  size_t window;               /* response bytes held before check-write says 0; 0: 64 KiB */
} wisp__http_config_t;

/* 0 and *out, or WISP_ERR_NOMEM (then *out is NULL). */
int wisp__http_new(const wisp__http_config_t *cfg, const wisp__http_request_t *req, wisp__http_t **out);
/* Frees everything the host made; after the component instance and the
 * wasi2 host are gone. */
void wisp__http_delete(wisp__http_t *h);

/* The request body, borrowed: the guest reads it through its input stream.
 * `complete` false means more may come; wisp__http_body_in_set may then be
 * called again with a longer buffer starting with the same bytes. */
void wisp__http_body_in_set(wisp__http_t *h, const uint8_t *data, size_t len, bool complete);
/* The borrowed body goes away (the client left): reads fail from now on. */
void wisp__http_body_in_detach(wisp__http_t *h);
/* A request body that arrives in pieces: pull(ctx) is called whenever the
 * guest has read every byte given so far (from a read or a readiness check);
 * it answers with wisp__http_body_in_next (or nothing, if no byte came yet:
 * the guest's pollable stays not ready) or wisp__http_body_in_fail. */
void wisp__http_body_in_pull(wisp__http_t *h, void (*pull)(void *ctx), void *ctx);
/* The next piece, borrowed until the next pull; `complete`: it is the last. */
void wisp__http_body_in_next(wisp__http_t *h, const uint8_t *data, size_t len, bool complete);
/* A trailer of the request body (after a chunked body), for the guest's
 * future-trailers; before the last piece is given. 0 or WISP_ERR_NOMEM. */
int wisp__http_body_in_trailer(wisp__http_t *h, const char *name, size_t name_len, const char *value,
                               size_t value_len);
/* The body broke off (the client left, a broken chunk, over the limit): the
 * guest's reads fail with last-operation-failed from now on. */
void wisp__http_body_in_fail(wisp__http_t *h);

/* Checks the shapes of the wasi:http items `c` imports (wasihttp_types.c):
 * 0, or WISP_ERR_LINK with the first mismatch in wisp__http_error. */
int wisp__http_check(wisp__http_t *h, const wisp_component_t *c);
const char *wisp__http_error(const wisp__http_t *h);

/* The host functions of wasi:http/types and wasi:http/outgoing-handler (any
 * 0.2.x), borrowed until wisp__http_delete (0, or WISP_ERR_NOMEM). Give cinst these first, then the
 * wasi2 host's (whose stubs for the same names are then never used). */
int wisp__http_host_funcs(wisp__http_t *h, const wisp__chost_func_t **funcs, size_t *count);
/* The same functions as a table shared by many instances (malloc'd, *count
 * entries; NULL when out of memory): their env is WISP__CHOST_ENV_SLOT(slot),
 * to which each instance binds its own wisp__http_t (cinst.h). */
wisp__chost_func_t *wisp__http_table_new(uint32_t slot, size_t *count);

/* True if component `c` exports wasi:http/incoming-handler (any 0.2.x). */
bool wisp__http_is_handler(const wisp_component_t *c);
/* The export's name to pass to wisp__cinst_func ("wasi:http/incoming-handler@0.2.0"). */
#define WISP__HTTP_HANDLER "wasi:http/incoming-handler@0.2.0"
/* The two handles the handle call takes, as host representations: the
 * incoming-request and the response-outparam. */
void wisp__http_handle_args(wisp__http_t *h, uint32_t *request_rep, uint32_t *outparam_rep);

/* ---- the response, for the server ---- */
typedef enum wisp__http_state {
  WISP__HTTP_PENDING,  /* response-outparam.set not called yet */
  WISP__HTTP_RESPONSE, /* set with a response: status and headers are final */
  WISP__HTTP_ERROR,    /* set with an error-code: wisp__http_error_text says which */
} wisp__http_state_t;
wisp__http_state_t wisp__http_response(const wisp__http_t *h);
uint16_t wisp__http_status(const wisp__http_t *h);
size_t wisp__http_header_count(const wisp__http_t *h);
/* Header i of the response (the name in lower case), borrowed. */
void wisp__http_header(const wisp__http_t *h, size_t i, wisp__http_header_t *out);
/* "error-code.NAME" and any message the guest gave, borrowed. */
const char *wisp__http_error_text(const wisp__http_t *h);

/* Body bytes written and not yet consumed (borrowed until the next call into
 * the host), and whether the body is complete. */
typedef enum wisp__http_body_state {
  WISP__HTTP_BODY_OPEN,     /* more may come */
  WISP__HTTP_BODY_DONE,     /* finished: what peek returns is the rest */
  WISP__HTTP_BODY_BROKEN,   /* dropped without finish, or an error: abort the response */
} wisp__http_body_state_t;
size_t wisp__http_body_out_peek(const wisp__http_t *h, const uint8_t **data);
void wisp__http_body_out_consume(wisp__http_t *h, size_t n);
wisp__http_body_state_t wisp__http_body_out_state(const wisp__http_t *h);
/* Why the body broke, for the log ("" when it did not). */
const char *wisp__http_body_out_error(const wisp__http_t *h);
/* Trailers the guest gave to outgoing-body.finish (0 when none). */
size_t wisp__http_trailer_count(const wisp__http_t *h);
/* Trailer i (the name in lower case), borrowed. */
void wisp__http_trailer(const wisp__http_t *h, size_t i, wisp__http_header_t *out);
/* When the handle call has returned: an outgoing-body still open can get no
 * more bytes, so the body is broken (as if dropped without finish). */
void wisp__http_handler_returned(wisp__http_t *h);

#endif
