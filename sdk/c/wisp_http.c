/*
 * wisp_http.c: hand-written canonical-ABI bindings for the wasi:http/proxy
 * world (WASI 0.2.12 names) and the friendly API of wisp_http.h on top.
 *
 * Each import below is declared with the core signature that `jco embed
 * --dummy --wit WIT --world-name proxy` followed by `jco print` shows for it
 * (the canonical ABI's flattening: a result that does not fit one core value
 * comes back through a return area in linear memory whose address is the
 * last parameter; lists and strings the host returns are allocated through
 * our exported cabi_realloc and are ours to free).
 *
 * Return-area layouts used here (offsets in bytes; the canonical ABI aligns
 * a variant's payload to the largest alignment of its cases):
 *   result<own<T>, E>          tag u8 @0, handle @4 (@8 when E holds a u64)
 *   option<string>             tag u8 @0, ptr @4, len @8
 *   method / scheme            case u8 @0, other(string) ptr @4 len @8
 *   result<list<u8>, stream-error>  tag @0, ok ptr @4 len @8; err case @4 (0 =
 *                              last-operation-failed(error @8), 1 = closed)
 *   result<u64, stream-error>  tag @0, ok u64 @8; err case @8, error @12
 *   error-code                 case u8 @0, payload @8 (32 bytes, align 8)
 *   option<result<result<incoming-response, error-code>, ()>>
 *                              tag @0, outer result tag @8, inner tag @16,
 *                              response @24 or error-code @24
 *
 * Resources: every handle this file obtains is dropped by it, children before
 * parents (input-stream before incoming-body before the request; the headers
 * of a message before the message), as the WIT requires.
 *
 * The second half routes the WASI preview1 calls wasi-libc makes (fd_write
 * for printf, clock_time_get, random_get, environ_*) to the proxy world's own
 * imports by defining the symbols wasi-libc imports them through
 * (__imported_wasi_snapshot_preview1_*): a module built with this file needs
 * no preview1 adapter, and the component imports only what `wasi:http/proxy`
 * offers.
 */
#include "wisp_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define IMPORT(module, name) __attribute__((import_module(module), import_name(name)))
#define TYPES                "wasi:http/types@0.2.12"
#define STREAMS              "wasi:io/streams@0.2.12"
#define POLL                 "wasi:io/poll@0.2.12"
#define IOERROR              "wasi:io/error@0.2.12"

/* ---- imports: wasi:http/types ---------------------------------------- */
IMPORT(TYPES, "[constructor]fields") int32_t fields_new(void);
IMPORT(TYPES, "[method]fields.append")
void fields_append(int32_t self, int32_t name, int32_t name_len, int32_t value, int32_t value_len,
                   int32_t ret);
IMPORT(TYPES, "[method]fields.delete")
void fields_delete(int32_t self, int32_t name, int32_t name_len, int32_t ret);
IMPORT(TYPES, "[method]fields.entries") void fields_entries(int32_t self, int32_t ret);
IMPORT(TYPES, "[resource-drop]fields") void fields_drop(int32_t self);

IMPORT(TYPES, "[method]incoming-request.method") void incoming_request_method(int32_t self, int32_t ret);
IMPORT(TYPES, "[method]incoming-request.path-with-query")
void incoming_request_path(int32_t self, int32_t ret);
IMPORT(TYPES, "[method]incoming-request.scheme") void incoming_request_scheme(int32_t self, int32_t ret);
IMPORT(TYPES, "[method]incoming-request.authority")
void incoming_request_authority(int32_t self, int32_t ret);
IMPORT(TYPES, "[method]incoming-request.headers") int32_t incoming_request_headers(int32_t self);
IMPORT(TYPES, "[method]incoming-request.consume") void incoming_request_consume(int32_t self, int32_t ret);
IMPORT(TYPES, "[resource-drop]incoming-request") void incoming_request_drop(int32_t self);

IMPORT(TYPES, "[constructor]outgoing-response") int32_t outgoing_response_new(int32_t headers);
IMPORT(TYPES, "[method]outgoing-response.set-status-code")
int32_t outgoing_response_set_status(int32_t self, int32_t status);
IMPORT(TYPES, "[method]outgoing-response.body") void outgoing_response_body(int32_t self, int32_t ret);
IMPORT(TYPES, "[resource-drop]outgoing-response") void outgoing_response_drop(int32_t self);

IMPORT(TYPES, "[method]outgoing-body.write") void outgoing_body_write(int32_t self, int32_t ret);
IMPORT(TYPES, "[static]outgoing-body.finish")
void outgoing_body_finish(int32_t body, int32_t has_trailers, int32_t trailers, int32_t ret);
IMPORT(TYPES, "[resource-drop]outgoing-body") void outgoing_body_drop(int32_t self);

IMPORT(TYPES, "[static]response-outparam.set")
void response_outparam_set(int32_t param, int32_t is_err, int32_t a, int32_t b, int64_t c, int32_t d,
                           int32_t e, int32_t f, int32_t g);

IMPORT(TYPES, "[method]incoming-body.stream") void incoming_body_stream(int32_t self, int32_t ret);
IMPORT(TYPES, "[static]incoming-body.finish") int32_t incoming_body_finish(int32_t self);
IMPORT(TYPES, "[resource-drop]incoming-body") void incoming_body_drop(int32_t self);
IMPORT(TYPES, "[resource-drop]future-trailers") void future_trailers_drop(int32_t self);

IMPORT(TYPES, "[constructor]outgoing-request") int32_t outgoing_request_new(int32_t headers);
IMPORT(TYPES, "[method]outgoing-request.set-method")
int32_t outgoing_request_set_method(int32_t self, int32_t tag, int32_t ptr, int32_t len);
IMPORT(TYPES, "[method]outgoing-request.set-path-with-query")
int32_t outgoing_request_set_path(int32_t self, int32_t some, int32_t ptr, int32_t len);
IMPORT(TYPES, "[method]outgoing-request.set-scheme")
int32_t outgoing_request_set_scheme(int32_t self, int32_t some, int32_t tag, int32_t ptr, int32_t len);
IMPORT(TYPES, "[method]outgoing-request.set-authority")
int32_t outgoing_request_set_authority(int32_t self, int32_t some, int32_t ptr, int32_t len);
IMPORT(TYPES, "[method]outgoing-request.body") void outgoing_request_body(int32_t self, int32_t ret);
IMPORT(TYPES, "[resource-drop]outgoing-request") void outgoing_request_drop(int32_t self);

IMPORT(TYPES, "[constructor]request-options") int32_t request_options_new(void);
IMPORT(TYPES, "[method]request-options.set-connect-timeout")
int32_t request_options_set_connect(int32_t self, int32_t some, int64_t ns);
IMPORT(TYPES, "[method]request-options.set-first-byte-timeout")
int32_t request_options_set_first_byte(int32_t self, int32_t some, int64_t ns);
IMPORT(TYPES, "[method]request-options.set-between-bytes-timeout")
int32_t request_options_set_between_bytes(int32_t self, int32_t some, int64_t ns);

IMPORT(TYPES, "[method]future-incoming-response.subscribe") int32_t future_response_subscribe(int32_t self);
IMPORT(TYPES, "[method]future-incoming-response.get") void future_response_get(int32_t self, int32_t ret);
IMPORT(TYPES, "[resource-drop]future-incoming-response") void future_response_drop(int32_t self);

IMPORT(TYPES, "[method]incoming-response.status") int32_t incoming_response_status(int32_t self);
IMPORT(TYPES, "[method]incoming-response.headers") int32_t incoming_response_headers(int32_t self);
IMPORT(TYPES, "[method]incoming-response.consume") void incoming_response_consume(int32_t self, int32_t ret);
IMPORT(TYPES, "[resource-drop]incoming-response") void incoming_response_drop(int32_t self);

IMPORT("wasi:http/outgoing-handler@0.2.12", "handle")
void outgoing_handler_handle(int32_t request, int32_t has_options, int32_t options, int32_t ret);

/* ---- imports: wasi:io ------------------------------------------------ */
IMPORT(STREAMS, "[method]input-stream.blocking-read")
void input_stream_blocking_read(int32_t self, int64_t len, int32_t ret);
IMPORT(STREAMS, "[resource-drop]input-stream") void input_stream_drop(int32_t self);
IMPORT(STREAMS, "[method]output-stream.check-write")
void output_stream_check_write(int32_t self, int32_t ret);
IMPORT(STREAMS, "[method]output-stream.write")
void output_stream_write(int32_t self, int32_t ptr, int32_t len, int32_t ret);
IMPORT(STREAMS, "[method]output-stream.flush") void output_stream_flush(int32_t self, int32_t ret);
IMPORT(STREAMS, "[method]output-stream.blocking-flush")
void output_stream_blocking_flush(int32_t self, int32_t ret);
IMPORT(STREAMS, "[method]output-stream.blocking-write-and-flush")
void output_stream_blocking_write_and_flush(int32_t self, int32_t ptr, int32_t len, int32_t ret);
IMPORT(STREAMS, "[method]output-stream.subscribe") int32_t output_stream_subscribe(int32_t self);
IMPORT(STREAMS, "[resource-drop]output-stream") void output_stream_drop(int32_t self);
IMPORT(POLL, "[method]pollable.block") void pollable_block(int32_t self);
IMPORT(POLL, "[resource-drop]pollable") void pollable_drop(int32_t self);
IMPORT(IOERROR, "[method]error.to-debug-string") void io_error_to_debug_string(int32_t self, int32_t ret);
IMPORT(IOERROR, "[resource-drop]error") void io_error_drop(int32_t self);

/* ---- imports: wasi:cli, clocks, random -------------------------------- */
IMPORT("wasi:cli/stdout@0.2.12", "get-stdout") int32_t cli_get_stdout(void);
IMPORT("wasi:cli/stderr@0.2.12", "get-stderr") int32_t cli_get_stderr(void);
IMPORT("wasi:clocks/wall-clock@0.2.12", "now") void wall_clock_now(int32_t ret);
IMPORT("wasi:clocks/monotonic-clock@0.2.12", "now") int64_t monotonic_clock_now(void);
IMPORT("wasi:random/random@0.2.12", "get-random-bytes") void random_get_bytes(int64_t len, int32_t ret);

#define ADDR(p) ((int32_t)(uintptr_t)(p))
#define NONE    (-1)

/* A return area, 8-aligned, big enough for every result above (the largest,
 * future-incoming-response.get's, is 56 bytes: an error-code at 24). */
typedef union ret_area {
  uint64_t align;
  uint8_t b[64];
} ret_area_t;

static inline uint8_t at_u8(const ret_area_t *r, int off) { return r->b[off]; }
static inline int32_t at_i32(const ret_area_t *r, int off) {
  int32_t v = 0;
  memcpy(&v, r->b + off, 4);
  return v;
}
static inline uint64_t at_u64(const ret_area_t *r, int off) {
  uint64_t v = 0;
  memcpy(&v, r->b + off, 8);
  return v;
}

/* The canonical ABI's allocator: the host calls it to hand us strings and
 * lists (which we then own and free). Out of memory traps: the host cannot be
 * told otherwise. */
__attribute__((export_name("cabi_realloc"))) void *cabi_realloc(void *old, size_t old_size, size_t align,
                                                                size_t new_size) {
  (void)old_size;
  (void)align; /* malloc's alignment (16) covers every wasi:http type (at most 8) */
  void *p = realloc(old, new_size ? new_size : 1); /* a real pointer even for empty lists: we free them */
  if (!p) __builtin_trap();
  return p;
}

/* ---- errors --------------------------------------------------------- */
static char last_error[256];

const char *wisp_http_error(void) { return last_error; }

static void set_error(const char *format, ...) __attribute__((format(printf, 1, 2)));
static void set_error(const char *format, ...) {
  va_list ap;
  va_start(ap, format);
  vsnprintf(last_error, sizeof last_error, format, ap);
  va_end(ap);
}

/* The cases of wasi:http/types.error-code, in WIT order. */
static const char *const error_code_names[] = {
    "DNS-timeout",
    "DNS-error",
    "destination-not-found",
    "destination-unavailable",
    "destination-IP-prohibited",
    "destination-IP-unroutable",
    "connection-refused",
    "connection-terminated",
    "connection-timeout",
    "connection-read-timeout",
    "connection-write-timeout",
    "connection-limit-reached",
    "TLS-protocol-error",
    "TLS-certificate-error",
    "TLS-alert-received",
    "HTTP-request-denied",
    "HTTP-request-length-required",
    "HTTP-request-body-size",
    "HTTP-request-method-invalid",
    "HTTP-request-URI-invalid",
    "HTTP-request-URI-too-long",
    "HTTP-request-header-section-size",
    "HTTP-request-header-size",
    "HTTP-request-trailer-section-size",
    "HTTP-request-trailer-size",
    "HTTP-response-incomplete",
    "HTTP-response-header-section-size",
    "HTTP-response-header-size",
    "HTTP-response-body-size",
    "HTTP-response-trailer-section-size",
    "HTTP-response-trailer-size",
    "HTTP-response-transfer-coding",
    "HTTP-response-content-coding",
    "HTTP-response-timeout",
    "HTTP-upgrade-failed",
    "HTTP-protocol-error",
    "loop-detected",
    "configuration-error",
    "internal-error",
};
#define ERROR_CODE_INTERNAL 38

/* Records an error-code whose case byte is at r+off (payload at off+8). The
 * string payloads (DNS-error rcode, internal-error's message, ...) are
 * shown when there is one and then freed. */
static void set_error_code(const char *what, const ret_area_t *r, int off) {
  unsigned code = at_u8(r, off);
  const char *name = code < sizeof error_code_names / sizeof *error_code_names ? error_code_names[code] : "?";
  /* Cases whose payload starts with option<string>: DNS-error (rcode),
   * transfer-coding, content-coding, internal-error. */
  if ((code == 1 || code == 31 || code == 32 || code == ERROR_CODE_INTERNAL) && at_u8(r, off + 8)) {
    char *text = (char *)(uintptr_t)at_i32(r, off + 12);
    int len = at_i32(r, off + 16);
    set_error("%s: %s (%.*s)", what, name, len, text);
    free(text);
    return;
  }
  set_error("%s: %s", what, name);
}

/* Records a stream-error whose case byte is at r+off; returns 1 for closed. */
static int stream_error(const char *what, const ret_area_t *r, int off) {
  if (at_u8(r, off) == 1) {
    set_error("%s: stream closed", what);
    return 1;
  }
  int32_t err = at_i32(r, off + 4);
  ret_area_t s;
  io_error_to_debug_string(err, ADDR(&s));
  char *text = (char *)(uintptr_t)at_i32(&s, 0);
  set_error("%s: %.*s", what, at_i32(&s, 4), text);
  free(text);
  io_error_drop(err);
  return 0;
}

static const char *const header_error_names[] = {"invalid-syntax", "forbidden", "immutable"};

static int header_error(const char *name, const ret_area_t *r) {
  unsigned e = at_u8(r, 1);
  set_error("header '%s': header-error: %s", name, e < 3 ? header_error_names[e] : "?");
  return -1;
}

/* ---- incoming messages (the request, and fetched responses) --------- */
typedef struct header_entry {
  char *name; /* NUL-terminated copies the host allocated for us */
  size_t name_length;
  char *value;
  size_t value_length;
} header_entry_t;

typedef struct incoming {
  int32_t owner;   /* incoming-request or incoming-response */
  int32_t headers; /* fields (child of owner), NONE until read */
  int32_t body;    /* incoming-body, NONE until consumed */
  int32_t stream;  /* input-stream (child of body), NONE */
  int consumed, at_end;
  header_entry_t *entries;
  size_t entry_count;
  int entries_loaded;
  char *whole; /* wisp_*_body's buffer */
} incoming_t;

static void incoming_init(incoming_t *m, int32_t owner) {
  memset(m, 0, sizeof *m);
  m->owner = owner;
  m->headers = m->body = m->stream = NONE;
}

/* Gives a host-allocated (ptr, len) a terminating NUL (p NULL: ""). */
static char *terminate(char *p, size_t len) {
  char *q = realloc(p, len + 1);
  if (!q) __builtin_trap();
  q[len] = 0;
  return q;
}

static void load_entries(incoming_t *m, int is_request) {
  if (m->entries_loaded) return;
  m->entries_loaded = 1;
  m->headers = is_request ? incoming_request_headers(m->owner) : incoming_response_headers(m->owner);
  ret_area_t r;
  fields_entries(m->headers, ADDR(&r));
  uint32_t *list = (uint32_t *)(uintptr_t)at_i32(&r, 0);
  size_t n = (size_t)at_i32(&r, 4);
  m->entries = calloc(n ? n : 1, sizeof *m->entries);
  if (!m->entries) __builtin_trap();
  for (size_t i = 0; i < n; i++) {
    uint32_t *e = list + 4 * i;
    m->entries[i].name_length = e[1];
    m->entries[i].name = terminate((char *)(uintptr_t)e[0], e[1]);
    m->entries[i].value_length = e[3];
    m->entries[i].value = terminate((char *)(uintptr_t)e[2], e[3]);
  }
  m->entry_count = n;
  free(list);
}

static const char *find_header(incoming_t *m, int is_request, const char *name) {
  load_entries(m, is_request);
  for (size_t i = 0; i < m->entry_count; i++)
    if (strcasecmp(m->entries[i].name, name) == 0) return m->entries[i].value;
  return NULL;
}

static int header_at(incoming_t *m, int is_request, size_t index, const char **name, size_t *name_length,
                     const char **value, size_t *value_length) {
  load_entries(m, is_request);
  if (index >= m->entry_count) {
    set_error("header %zu: there are %zu headers", index, m->entry_count);
    return -1;
  }
  const header_entry_t *e = &m->entries[index];
  if (name) *name = e->name;
  if (name_length) *name_length = e->name_length;
  if (value) *value = e->value;
  if (value_length) *value_length = e->value_length;
  return 0;
}

static long incoming_read(incoming_t *m, int is_request, void *buffer, size_t capacity) {
  if (m->at_end) return 0;
  if (!m->consumed) {
    m->consumed = 1;
    ret_area_t r;
    if (is_request)
      incoming_request_consume(m->owner, ADDR(&r));
    else
      incoming_response_consume(m->owner, ADDR(&r));
    if (at_u8(&r, 0)) {
      set_error("the body was already consumed");
      return -1;
    }
    m->body = at_i32(&r, 4);
    incoming_body_stream(m->body, ADDR(&r));
    if (at_u8(&r, 0)) {
      set_error("the body's stream was already taken");
      return -1;
    }
    m->stream = at_i32(&r, 4);
  }
  if (m->stream == NONE) return -1;
  if (capacity == 0) return 0;
  for (;;) {
    ret_area_t r;
    input_stream_blocking_read(m->stream, (int64_t)capacity, ADDR(&r));
    if (at_u8(&r, 0)) {
      if (stream_error("reading the body", &r, 4)) {
        m->at_end = 1;
        return 0;
      }
      return -1;
    }
    void *data = (void *)(uintptr_t)at_i32(&r, 4);
    size_t n = (size_t)at_i32(&r, 8);
    if (n == 0) { /* a host may wake us with nothing; ask again */
      free(data);
      continue;
    }
    if (n > capacity) n = capacity;
    memcpy(buffer, data, n);
    free(data);
    return (long)n;
  }
}

static const char *incoming_body(incoming_t *m, int is_request, size_t limit, size_t *length) {
  size_t len = 0, cap = 65536;
  char *buf = malloc(cap + 1);
  if (!buf) __builtin_trap();
  for (;;) {
    if (len == cap) {
      cap *= 2;
      char *bigger = realloc(buf, cap + 1);
      if (!bigger) __builtin_trap();
      buf = bigger;
    }
    long n = incoming_read(m, is_request, buf + len, cap - len);
    if (n < 0) {
      free(buf);
      return NULL;
    }
    if (n == 0) break;
    len += (size_t)n;
    if (limit && len > limit) {
      set_error("the body is larger than %zu bytes", limit);
      free(buf);
      return NULL;
    }
  }
  buf[len] = 0;
  free(m->whole);
  m->whole = buf;
  if (length) *length = len;
  return buf;
}

static void incoming_close(incoming_t *m, void (*drop_owner)(int32_t)) {
  if (m->stream != NONE) input_stream_drop(m->stream);
  if (m->body != NONE) future_trailers_drop(incoming_body_finish(m->body));
  if (m->headers != NONE) fields_drop(m->headers);
  drop_owner(m->owner);
  for (size_t i = 0; i < m->entry_count; i++) {
    free(m->entries[i].name);
    free(m->entries[i].value);
  }
  free(m->entries);
  free(m->whole);
}

/* ---- the request ---------------------------------------------------- */
struct wisp_request {
  incoming_t in;
  char *method, *path_with_query, *path, *query, *authority, *scheme;
};

static const char *const method_names[] = {"GET",     "HEAD",    "POST",  "PUT",  "DELETE",
                                           "CONNECT", "OPTIONS", "TRACE", "PATCH"};

const char *wisp_request_method(wisp_request_t *req) {
  if (!req->method) {
    ret_area_t r;
    incoming_request_method(req->in.owner, ADDR(&r));
    unsigned tag = at_u8(&r, 0);
    if (tag < 9)
      req->method = strdup(method_names[tag]);
    else
      req->method = terminate((char *)(uintptr_t)at_i32(&r, 4), (size_t)at_i32(&r, 8));
    if (!req->method) __builtin_trap();
  }
  return req->method;
}

/* An option<string> result at r, as an owned C string ("" when none). */
static char *option_string(const ret_area_t *r) {
  if (!at_u8(r, 0)) return terminate(NULL, 0);
  return terminate((char *)(uintptr_t)at_i32(r, 4), (size_t)at_i32(r, 8));
}

const char *wisp_request_path_with_query(wisp_request_t *req) {
  if (!req->path_with_query) {
    ret_area_t r;
    incoming_request_path(req->in.owner, ADDR(&r));
    req->path_with_query = option_string(&r);
    if (!req->path_with_query[0]) {
      free(req->path_with_query);
      req->path_with_query = strdup("/");
      if (!req->path_with_query) __builtin_trap();
    }
  }
  return req->path_with_query;
}

static void split_path(wisp_request_t *req) {
  if (req->path) return;
  const char *full = wisp_request_path_with_query(req);
  const char *q = strchr(full, '?');
  size_t n = q ? (size_t)(q - full) : strlen(full);
  req->path = strndup(full, n);
  req->query = strdup(q ? q + 1 : "");
  if (!req->path || !req->query) __builtin_trap();
}

const char *wisp_request_path(wisp_request_t *req) {
  split_path(req);
  return req->path;
}

const char *wisp_request_query(wisp_request_t *req) {
  split_path(req);
  return req->query;
}

const char *wisp_request_authority(wisp_request_t *req) {
  if (!req->authority) {
    ret_area_t r;
    incoming_request_authority(req->in.owner, ADDR(&r));
    req->authority = option_string(&r);
  }
  return req->authority;
}

const char *wisp_request_scheme(wisp_request_t *req) {
  if (!req->scheme) {
    ret_area_t r;
    incoming_request_scheme(req->in.owner, ADDR(&r));
    if (!at_u8(&r, 0))
      req->scheme = strdup("");
    else if (at_u8(&r, 4) == 0)
      req->scheme = strdup("http");
    else if (at_u8(&r, 4) == 1)
      req->scheme = strdup("https");
    else
      req->scheme = terminate((char *)(uintptr_t)at_i32(&r, 8), (size_t)at_i32(&r, 12));
    if (!req->scheme) __builtin_trap();
  }
  return req->scheme;
}

const char *wisp_request_header(wisp_request_t *req, const char *name) {
  return find_header(&req->in, 1, name);
}

size_t wisp_request_header_count(wisp_request_t *req) {
  load_entries(&req->in, 1);
  return req->in.entry_count;
}

int wisp_request_header_at(wisp_request_t *req, size_t index, const char **name, size_t *name_length,
                           const char **value, size_t *value_length) {
  return header_at(&req->in, 1, index, name, name_length, value, value_length);
}

long wisp_request_read(wisp_request_t *req, void *buffer, size_t capacity) {
  return incoming_read(&req->in, 1, buffer, capacity);
}

const char *wisp_request_body(wisp_request_t *req, size_t limit, size_t *length) {
  return incoming_body(&req->in, 1, limit, length);
}

/* ---- writing to an output stream, with backpressure ----------------- */

/* Writes all of data to stream: waits (pollable.block) while check-write
 * allows nothing, writes at most what it allows, then asks for a flush so
 * the host passes the bytes on without waiting for more. */
static int stream_write_all(int32_t stream, const uint8_t *data, size_t length) {
  while (length > 0) {
    ret_area_t r;
    output_stream_check_write(stream, ADDR(&r));
    if (at_u8(&r, 0)) {
      stream_error("writing the body", &r, 8);
      return -1;
    }
    uint64_t room = at_u64(&r, 8);
    if (room == 0) {
      int32_t p = output_stream_subscribe(stream);
      pollable_block(p);
      pollable_drop(p);
      continue;
    }
    size_t n = length < room ? length : (size_t)room;
    output_stream_write(stream, ADDR(data), (int32_t)n, ADDR(&r));
    if (at_u8(&r, 0)) {
      stream_error("writing the body", &r, 4);
      return -1;
    }
    data += n;
    length -= n;
  }
  ret_area_t r;
  output_stream_flush(stream, ADDR(&r));
  if (at_u8(&r, 0)) {
    stream_error("flushing the body", &r, 4);
    return -1;
  }
  return 0;
}

/* Waits until everything written to stream has been taken, drops the stream
 * and finishes the body (no trailers). */
static int body_finish(int32_t body, int32_t stream) {
  int rc = 0;
  ret_area_t r;
  output_stream_blocking_flush(stream, ADDR(&r));
  if (at_u8(&r, 0)) {
    stream_error("finishing the body", &r, 4);
    rc = -1;
  }
  output_stream_drop(stream);
  outgoing_body_finish(body, 0, 0, ADDR(&r));
  if (at_u8(&r, 0)) {
    set_error_code("finishing the body", &r, 8);
    rc = -1;
  }
  return rc;
}

/* ---- the response --------------------------------------------------- */
enum { RESPONSE_NEW, RESPONSE_STREAMING, RESPONSE_DONE };

struct wisp_response {
  int32_t outparam;
  int32_t fields; /* our headers until the response starts, NONE before the first */
  int status;
  int32_t body, stream;
  int state;
};

static int32_t response_fields(wisp_response_t *res) {
  if (res->fields == NONE) res->fields = fields_new();
  return res->fields;
}

int wisp_response_set_status(wisp_response_t *res, int status) {
  if (res->state != RESPONSE_NEW) {
    set_error("status %d: the response has already started", status);
    return -1;
  }
  if (status < 100 || status > 999) {
    set_error("status %d: not a status code (100-999)", status);
    return -1;
  }
  res->status = status;
  return 0;
}

int wisp_response_add_header(wisp_response_t *res, const char *name, const char *value) {
  if (res->state != RESPONSE_NEW) {
    set_error("header '%s': the response has already started", name);
    return -1;
  }
  ret_area_t r;
  fields_append(response_fields(res), ADDR(name), (int32_t)strlen(name), ADDR(value), (int32_t)strlen(value),
                ADDR(&r));
  return at_u8(&r, 0) ? header_error(name, &r) : 0;
}

int wisp_response_set_header(wisp_response_t *res, const char *name, const char *value) {
  if (res->state != RESPONSE_NEW) {
    set_error("header '%s': the response has already started", name);
    return -1;
  }
  ret_area_t r;
  fields_delete(response_fields(res), ADDR(name), (int32_t)strlen(name), ADDR(&r));
  if (at_u8(&r, 0)) return header_error(name, &r);
  return wisp_response_add_header(res, name, value);
}

int wisp_response_start(wisp_response_t *res) {
  if (res->state != RESPONSE_NEW) return res->state == RESPONSE_STREAMING ? 0 : -1;
  int32_t response = outgoing_response_new(response_fields(res));
  res->fields = NONE; /* the response owns them now */
  if (outgoing_response_set_status(response, res->status) != 0) {
    set_error("status %d refused by the host", res->status);
    outgoing_response_drop(response);
    res->state = RESPONSE_DONE;
    return -1;
  }
  ret_area_t r;
  outgoing_response_body(response, ADDR(&r));
  res->body = at_i32(&r, 4);
  outgoing_body_write(res->body, ADDR(&r));
  res->stream = at_i32(&r, 4);
  response_outparam_set(res->outparam, 0, response, 0, 0, 0, 0, 0, 0);
  res->state = RESPONSE_STREAMING;
  return 0;
}

int wisp_response_write(wisp_response_t *res, const void *data, size_t length) {
  if (res->state == RESPONSE_NEW && wisp_response_start(res) < 0) return -1;
  if (res->state != RESPONSE_STREAMING) {
    set_error("the response is finished");
    return -1;
  }
  return stream_write_all(res->stream, data, length);
}

int wisp_response_puts(wisp_response_t *res, const char *text) {
  return wisp_response_write(res, text, strlen(text));
}

int wisp_response_vprintf(wisp_response_t *res, const char *format, va_list args) {
  char small[512];
  va_list again;
  va_copy(again, args);
  int n = vsnprintf(small, sizeof small, format, args);
  if (n < 0) {
    va_end(again);
    set_error("printf: bad format");
    return -1;
  }
  if ((size_t)n < sizeof small) {
    va_end(again);
    return wisp_response_write(res, small, (size_t)n);
  }
  char *big = malloc((size_t)n + 1);
  if (!big) __builtin_trap();
  vsnprintf(big, (size_t)n + 1, format, again);
  va_end(again);
  int rc = wisp_response_write(res, big, (size_t)n);
  free(big);
  return rc;
}

int wisp_response_printf(wisp_response_t *res, const char *format, ...) {
  va_list ap;
  va_start(ap, format);
  int rc = wisp_response_vprintf(res, format, ap);
  va_end(ap);
  return rc;
}

int wisp_response_finish(wisp_response_t *res) {
  if (res->state == RESPONSE_NEW && wisp_response_start(res) < 0) return -1;
  if (res->state != RESPONSE_STREAMING) return res->state == RESPONSE_DONE ? 0 : -1;
  res->state = RESPONSE_DONE;
  return body_finish(res->body, res->stream);
}

void wisp_response_fail(wisp_response_t *res, const char *message) {
  if (res->state == RESPONSE_NEW) {
    if (res->fields != NONE) fields_drop(res->fields);
    res->fields = NONE;
    /* result<outgoing-response, error-code>::err(internal-error(some(message))):
     * the error-code flattens to case, then its payload's option<string> as
     * (1, pointer widened to the joined i64 slot, length). */
    response_outparam_set(res->outparam, 1, ERROR_CODE_INTERNAL, 1, (int64_t)(uintptr_t)message,
                          (int32_t)strlen(message), 0, 0, 0);
  } else if (res->state == RESPONSE_STREAMING) {
    output_stream_drop(res->stream);
    outgoing_body_drop(res->body); /* unfinished: the host sees a broken body */
  }
  res->state = RESPONSE_DONE;
}

/* ---- the export: incoming-handler.handle ---------------------------- */
__attribute__((export_name("wasi:http/incoming-handler@0.2.12#handle"))) void wisp__handle(int32_t request,
                                                                                           int32_t outparam) {
  wisp_request_t req;
  memset(&req, 0, sizeof req);
  incoming_init(&req.in, request);
  wisp_response_t res = {outparam, NONE, 200, NONE, NONE, RESPONSE_NEW};
  last_error[0] = 0;
  wisp_handle(&req, &res);
  if (res.state != RESPONSE_DONE) wisp_response_finish(&res);
  incoming_close(&req.in, incoming_request_drop);
  free(req.method);
  free(req.path_with_query);
  free(req.path);
  free(req.query);
  free(req.authority);
  free(req.scheme);
}

/* ---- outbound requests ---------------------------------------------- */
struct wisp_fetch_response {
  incoming_t in;
  int status;
};

/* Splits "scheme://authority/path?q" into its parts (pointers into url). */
static int split_url(const char *url, const char **scheme_end, const char **authority, const char **path) {
  const char *sep = strstr(url, "://");
  if (!sep || sep == url) return -1;
  *scheme_end = sep;
  *authority = sep + 3;
  const char *p = *authority;
  while (*p && *p != '/' && *p != '?') p++;
  if (p == *authority) return -1;
  *path = p;
  return 0;
}

static int32_t set_timeouts(uint32_t ms) {
  int32_t opts = request_options_new();
  int64_t ns = (int64_t)ms * 1000000;
  request_options_set_connect(opts, 1, ns);
  request_options_set_first_byte(opts, 1, ns);
  request_options_set_between_bytes(opts, 1, ns);
  return opts;
}

/* Builds the outgoing-request; NONE (error set) when the host refuses a part. */
static int32_t build_request(const char *url, const wisp_fetch_options_t *o) {
  const char *scheme_end = NULL, *authority = NULL, *path = NULL;
  if (split_url(url, &scheme_end, &authority, &path) < 0) {
    set_error("'%s': not an absolute URL (scheme://host[:port]/path)", url);
    return NONE;
  }
  int32_t fields = fields_new();
  for (size_t i = 0; o && i < o->header_count; i++) {
    ret_area_t r;
    const wisp_header_t *h = &o->headers[i];
    fields_append(fields, ADDR(h->name), (int32_t)strlen(h->name), ADDR(h->value), (int32_t)strlen(h->value),
                  ADDR(&r));
    if (at_u8(&r, 0)) {
      header_error(h->name, &r);
      fields_drop(fields);
      return NONE;
    }
  }
  /* A body known in advance gets its content-length (unless the caller gave
   * one), so that the upstream sees a plain body rather than a chunked one. */
  int has_length = 0;
  for (size_t i = 0; o && i < o->header_count; i++)
    if (strcasecmp(o->headers[i].name, "content-length") == 0) has_length = 1;
  if (o && o->body && !has_length) {
    char length[24];
    ret_area_t r;
    int n = snprintf(length, sizeof length, "%zu", o->body_length);
    fields_append(fields, ADDR("content-length"), 14, ADDR(length), n, ADDR(&r));
    if (at_u8(&r, 0)) {
      header_error("content-length", &r);
      fields_drop(fields);
      return NONE;
    }
  }
  int32_t req = outgoing_request_new(fields);
  const char *method = o && o->method ? o->method : "GET";
  int tag = 9;
  for (int i = 0; i < 9; i++)
    if (strcmp(method, method_names[i]) == 0) tag = i;
  size_t scheme_len = (size_t)(scheme_end - url);
  int scheme_tag = 2;
  if (scheme_len == 4 && strncasecmp(url, "http", 4) == 0) scheme_tag = 0;
  if (scheme_len == 5 && strncasecmp(url, "https", 5) == 0) scheme_tag = 1;
  const char *pq = *path ? path : "/";
  int failed = outgoing_request_set_method(req, tag, ADDR(method), (int32_t)strlen(method)) != 0;
  if (failed) set_error("method '%s' refused by the host", method);
  if (!failed && outgoing_request_set_scheme(req, 1, scheme_tag, ADDR(url), (int32_t)scheme_len) != 0) {
    set_error("'%s': scheme refused by the host", url);
    failed = 1;
  }
  if (!failed && outgoing_request_set_authority(req, 1, ADDR(authority), (int32_t)(path - authority)) != 0) {
    set_error("'%s': authority refused by the host", url);
    failed = 1;
  }
  if (!failed && outgoing_request_set_path(req, 1, ADDR(pq), (int32_t)strlen(pq)) != 0) {
    set_error("'%s': path refused by the host", url);
    failed = 1;
  }
  if (failed) {
    outgoing_request_drop(req);
    return NONE;
  }
  return req;
}

wisp_fetch_response_t *wisp_fetch(const char *url, const wisp_fetch_options_t *o) {
  int32_t req = build_request(url, o);
  if (req == NONE) return NULL;
  ret_area_t r;
  outgoing_request_body(req, ADDR(&r));
  int32_t body = at_i32(&r, 4);
  int32_t opts = o && o->timeout_ms ? set_timeouts(o->timeout_ms) : NONE;
  outgoing_handler_handle(req, opts != NONE, opts == NONE ? 0 : opts, ADDR(&r));
  if (at_u8(&r, 0)) {
    set_error_code(url, &r, 8);
    outgoing_body_drop(body);
    return NULL;
  }
  int32_t future = at_i32(&r, 8);
  /* The body goes out after handle, as the host reads it. */
  int32_t stream = NONE;
  outgoing_body_write(body, ADDR(&r));
  stream = at_i32(&r, 4);
  if (o && o->body && o->body_length && stream_write_all(stream, o->body, o->body_length) < 0) {
    output_stream_drop(stream);
    outgoing_body_drop(body);
    future_response_drop(future);
    return NULL;
  }
  body_finish(body, stream);
  int32_t ready = future_response_subscribe(future);
  pollable_block(ready);
  pollable_drop(ready);
  ret_area_t g;
  future_response_get(future, ADDR(&g));
  future_response_drop(future);
  if (!at_u8(&g, 0) || at_u8(&g, 8)) {
    set_error("%s: the response was not ready or was already taken", url);
    return NULL;
  }
  if (at_u8(&g, 16)) {
    set_error_code(url, &g, 24);
    return NULL;
  }
  wisp_fetch_response_t *resp = calloc(1, sizeof *resp);
  if (!resp) __builtin_trap();
  incoming_init(&resp->in, at_i32(&g, 24));
  resp->status = incoming_response_status(resp->in.owner);
  return resp;
}

int wisp_fetch_status(wisp_fetch_response_t *resp) { return resp->status; }

const char *wisp_fetch_header(wisp_fetch_response_t *resp, const char *name) {
  return find_header(&resp->in, 0, name);
}

size_t wisp_fetch_header_count(wisp_fetch_response_t *resp) {
  load_entries(&resp->in, 0);
  return resp->in.entry_count;
}

int wisp_fetch_header_at(wisp_fetch_response_t *resp, size_t index, const char **name, size_t *name_length,
                         const char **value, size_t *value_length) {
  return header_at(&resp->in, 0, index, name, name_length, value, value_length);
}

long wisp_fetch_read(wisp_fetch_response_t *resp, void *buffer, size_t capacity) {
  return incoming_read(&resp->in, 0, buffer, capacity);
}

const char *wisp_fetch_body(wisp_fetch_response_t *resp, size_t limit, size_t *length) {
  return incoming_body(&resp->in, 0, limit, length);
}

void wisp_fetch_free(wisp_fetch_response_t *resp) {
  if (!resp) return;
  incoming_close(&resp->in, incoming_response_drop);
  free(resp);
}

/* ---- WASI preview1, as wasi-libc uses it, on the proxy world -------- */
/* wasi-libc reaches the host only through functions named
 * __imported_wasi_snapshot_preview1_NAME; defining them here resolves those
 * references at link time, so no preview1 import (and no adapter) remains.
 * Values are WASI preview1's: errno 8 = badf, 28 = inval, 52 = nosys,
 * 70 = spipe; filetype 2 = character device. */
#define P1(name) __imported_wasi_snapshot_preview1_##name
enum { P1_BADF = 8, P1_INVAL = 28, P1_SPIPE = 70 };

static int32_t stdio_stream(int32_t fd) {
  static int32_t out = NONE, err = NONE;
  if (fd == 1) return out == NONE ? (out = cli_get_stdout()) : out;
  if (fd == 2) return err == NONE ? (err = cli_get_stderr()) : err;
  return NONE;
}

int32_t P1(fd_write)(int32_t fd, int32_t iovs, int32_t iovs_len, int32_t nwritten) {
  int32_t stream = stdio_stream(fd);
  if (stream == NONE) return P1_BADF;
  const uint32_t *iov = (const uint32_t *)(uintptr_t)iovs;
  uint32_t total = 0;
  for (int32_t i = 0; i < iovs_len; i++) {
    const uint8_t *p = (const uint8_t *)(uintptr_t)iov[2 * i];
    uint32_t len = iov[2 * i + 1];
    while (len > 0) {
      uint32_t n = len < 4096 ? len : 4096; /* blocking-write-and-flush's limit */
      ret_area_t r;
      output_stream_blocking_write_and_flush(stream, ADDR(p), (int32_t)n, ADDR(&r));
      if (at_u8(&r, 0)) {
        if (at_u8(&r, 4) == 0) io_error_drop(at_i32(&r, 8));
        len = 0;
        break; /* a closed log stream swallows output, as /dev/null would */
      }
      p += n;
      len -= n;
    }
    total += iov[2 * i + 1];
  }
  *(uint32_t *)(uintptr_t)nwritten = total;
  return 0;
}

int32_t P1(fd_read)(int32_t fd, int32_t iovs, int32_t iovs_len, int32_t nread) {
  (void)iovs;
  (void)iovs_len;
  if (fd != 0) return P1_BADF;
  *(uint32_t *)(uintptr_t)nread = 0; /* the proxy world's stdin is at its end */
  return 0;
}

int32_t P1(fd_close)(int32_t fd) { return fd >= 0 && fd <= 2 ? 0 : P1_BADF; }

int32_t P1(fd_seek)(int32_t fd, int64_t offset, int32_t whence, int32_t newoffset) {
  (void)offset;
  (void)whence;
  (void)newoffset;
  return fd >= 0 && fd <= 2 ? P1_SPIPE : P1_BADF;
}

int32_t P1(fd_fdstat_get)(int32_t fd, int32_t stat) {
  if (fd < 0 || fd > 2) return P1_BADF;
  memset((void *)(uintptr_t)stat, 0, 24);
  *(uint8_t *)(uintptr_t)stat = 2;
  return 0;
}

int32_t P1(clock_time_get)(int32_t id, int64_t precision, int32_t time) {
  (void)precision;
  uint64_t ns;
  if (id == 0) {
    ret_area_t r;
    wall_clock_now(ADDR(&r));
    ns = at_u64(&r, 0) * 1000000000u + (uint32_t)at_i32(&r, 8);
  } else if (id == 1) {
    ns = (uint64_t)monotonic_clock_now();
  } else {
    return P1_INVAL;
  }
  memcpy((void *)(uintptr_t)time, &ns, 8);
  return 0;
}

int32_t P1(random_get)(int32_t buf, int32_t len) {
  ret_area_t r;
  random_get_bytes(len, ADDR(&r));
  void *bytes = (void *)(uintptr_t)at_i32(&r, 0);
  memcpy((void *)(uintptr_t)buf, bytes, (size_t)len);
  free(bytes);
  return 0;
}

int32_t P1(environ_sizes_get)(int32_t count, int32_t size) {
  *(uint32_t *)(uintptr_t)count = 0;
  *(uint32_t *)(uintptr_t)size = 0;
  return 0;
}

int32_t P1(environ_get)(int32_t environ, int32_t buf) {
  (void)environ;
  (void)buf;
  return 0;
}

_Noreturn void P1(proc_exit)(int32_t code) {
  (void)code;
  __builtin_trap(); /* a handler has no process to exit: end the call */
}
