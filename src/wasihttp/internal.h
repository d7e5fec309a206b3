/*
 * internal.h: the wasi:http host's resource tables, for the files of
 * src/wasihttp (wasihttp.c: types and the incoming side; the outbound engine
 * implements outgoing-handler.handle on top of these).
 *
 * Every resource the host hands out is an hobj_t in one table; its
 * representation is 1 + its index, and every access checks the kind, so a
 * representation of another kind traps. Objects are allocated one by one
 * (stable pointers: streams and pollables keep them as their ctx) and freed
 * when the guest drops them, unless something still refers to them (then
 * `dropped` is set and the owner frees them), and all at wisp__http_delete.
 *
 * Parent/child rules of the spec: a fields view of a request's or response's
 * headers is a child (the parent's `children` counts them; dropping the parent
 * first traps); an incoming-body's input-stream and an outgoing-body's
 * output-stream are children (finishing or dropping the body first traps).
 */
#ifndef WISP_WASIHTTP_INTERNAL_H
#define WISP_WASIHTTP_INTERNAL_H

#include "wasihttp.h"

typedef enum hkind {
  H_FREE,
  H_FIELDS,
  H_IN_REQUEST,
  H_OUT_RESPONSE,
  H_IN_BODY,
  H_OUT_BODY,
  H_FUTURE_TRAILERS,
  H_OUTPARAM,
  H_OUT_REQUEST,
  H_REQUEST_OPTIONS,
  H_FUTURE_RESPONSE,
  H_IN_RESPONSE,
} hkind_t;

/* One header: the name in lower case. */
typedef struct hfield {
  char *name;
  size_t name_len;
  uint8_t *value;
  size_t value_len;
} hfield_t;

typedef struct hfields {
  hfield_t *items;
  size_t n, cap;
  size_t *budget; /* the host's count of field bytes (NULL: not counted) */
} hfields_t;

/* Bytes arriving for the guest to read (a request or response body). */
typedef struct hbody_in {
  const uint8_t *data; /* borrowed from the server / outbound engine */
  size_t len, pos;
  bool complete; /* no more bytes will come */
  bool detached; /* the data went away: reads fail */
  bool failed;   /* with detached: an error, not an end (last-operation-failed) */
  hfields_t trailers;
  bool has_trailers;
  /* The refill, called before a read or a readiness check finds pos == len;
   * may set data, len, pos, complete, detached and the trailers: the outbound
   * engine's (outgoing.c), or the server's for a request body that arrives
   * in pieces (wisp__http_body_in_pull). NULL: data is all there is. */
  void (*pull)(void *ctx);
  void *pull_ctx;
} hbody_in_t;

/* Bytes the guest writes (a response or outgoing-request body). */
typedef struct hbody_out {
  uint8_t *buf;
  size_t start, len, cap; /* pending bytes are buf[start .. start+len) */
  size_t window;          /* check-write permits window - len */
  uint64_t written, limit;
  int64_t content_length; /* from the headers, -1 when absent */
  bool finished, broken;
  char error[160];        /* why broken */
  hfields_t trailers;
  bool has_trailers;
  /* The outbound engine's drain of an outgoing-request's body (outgoing.c):
   * called after every write and finish and before check-write and
   * readiness checks; takes bytes from the front, may set broken. NULL for
   * responses. */
  void (*push)(void *ctx);
  void *push_ctx;
} hbody_out_t;

typedef struct hobj hobj_t;
typedef struct wisp__http_call wisp__http_call_t;
struct hobj {
  uint8_t kind;     /* hkind_t */
  bool immutable;   /* H_FIELDS */
  bool dropped;     /* the guest let go; kept while referred to */
  bool taken;       /* consume / body / write / stream given out already */
  bool child_alive; /* a body's stream, an outgoing-body's output-stream */
  uint32_t children;  /* fields views alive of a request/response */
  hobj_t *parent;     /* H_FIELDS view: whose headers (NULL: its own) */
  hfields_t fields;   /* H_FIELDS (own), requests, responses: headers */
  /* requests and responses */
  uint16_t status;
  char *method;       /* H_OUT_REQUEST: "GET", ...; NULL: GET */
  char *scheme;       /* NULL: none */
  char *authority;    /* NULL: none */
  char *path;         /* NULL: none */
  hbody_in_t *in;     /* H_IN_BODY, H_IN_REQUEST, H_IN_RESPONSE, H_FUTURE_TRAILERS */
  hbody_out_t *out;   /* H_OUT_RESPONSE, H_OUT_REQUEST, H_OUT_BODY (shared with its owner) */
  uint64_t timeouts[3]; /* H_REQUEST_OPTIONS: connect, first-byte, between-bytes (ns; 0 unset) */
  /* H_FUTURE_RESPONSE: filled in by the outbound engine */
  bool ready;
  hobj_t *response;   /* the incoming-response once ready, or NULL with error */
  char *error;        /* error-code case name, once ready with an error */
  char *error_message;
  void *impl;         /* the outbound engine's state */
  void (*impl_free)(void *impl);
  void (*poll)(void *impl); /* the guest checks whether the future is ready */
};

struct wisp__http {
  wisp__http_config_t cfg;
  hobj_t **objs;
  uint32_t nobjs, cap;
  wisp__chost_func_t *funcs;
  size_t nfuncs;
  hbody_in_t request_body;
  hobj_t *request, *outparam;
  hobj_t *sent;       /* the outgoing-response given to response-outparam.set */
  hbody_out_t **outs; /* every outgoing body made (shared by owner and outgoing-body) */
  uint32_t nlive;     /* objects in the table */
  size_t field_bytes; /* names and values of the fields of those objects */
  size_t nouts, cap_outs;
  wisp__http_state_t state;
  wisp__http_call_t *calls; /* outgoing-handler calls (outgoing.c), freed at delete */
  char error_text[300];
  char error[600];
};

/* The object of representation rep if it is of `kind`, else NULL after
 * writing a trap to cx. */
hobj_t *wisp__http_get(wisp__http_t *h, wisp__cabi_t *cx, uint64_t rep, hkind_t kind);
/* A new object of `kind`: its representation (and *out), or 0 out of memory. */
uint32_t wisp__http_add(wisp__http_t *h, hkind_t kind, hobj_t **out);

/* outgoing-handler.handle(request, options) (outgoing.c): checks the
 * destination against allowed_outbound_hosts, starts the request on the
 * outbound engine and fills res (result<own<future-incoming-response>,
 * error-code>); 0, or -1 with a trap. The caller drops request and options
 * afterwards (it copies what it needs). */
int wisp__http_outgoing_handle(wisp__http_t *h, wisp__cabi_t *cx, hobj_t *request, hobj_t *options,
                               wisp__cval_t *res);
/* Ends every outgoing-handler call of h (aborting requests in flight); at
 * the start of wisp__http_delete. */
void wisp__http_outgoing_free(wisp__http_t *h);
/* ok(value) into a result value. 0, or -1 with a trap. */
int wisp__http_result_ok(wisp__cabi_t *cx, wisp__cval_t *res, uint64_t value);
/* Appends a field (the name lower-cased) to f: 0, or -1 out of memory. */
int wisp__http_fields_add(hfields_t *f, const char *name, size_t name_len, const uint8_t *value,
                          size_t value_len);

/* err(error-code.CASE(message)) into a result value whose err type is
 * error-code; message NULL for none (cases without payload ignore it). */
int wisp__http_result_error(wisp__cabi_t *cx, wisp__cval_t *res, const char *case_name, const char *message);

#endif
