/*
 * proxy.c: a wasi:http/proxy component that forwards requests with
 * wasi:http/outgoing-handler, for tests/http-out. Raw canonical ABI, no libc
 * (as tests/http/guests/http_test.c).
 *
 *   METHOD /ROUTE/AUTHORITY/PATH?QUERY  sends METHOD SCHEME://AUTHORITY/PATH?QUERY
 *                                       with the incoming body streamed into
 *                                       the outgoing one (after handle), then
 *                                       answers with the upstream's status,
 *                                       x-proxied: 1, x-up-content-type and the
 *                                       upstream body streamed back
 *   request headers read:  x-scheme: https (default http), x-timeout-ms: N
 *                          (connect, first-byte and between-bytes timeouts)
 *   on an error-code: 502 with the body "error-code: CASE\n"; an error in
 *   the middle of the upstream body ends the response without finishing it
 *   (the client sees it cut short).
 */
#include <stdint.h>

#define IMPORT(module, name) __attribute__((import_module(module), import_name(name)))
#define HTTP                 "wasi:http/types@0.2.12"
#define OUT                  "wasi:http/outgoing-handler@0.2.12"
#define STREAMS              "wasi:io/streams@0.2.12"
#define POLL                 "wasi:io/poll@0.2.12"

IMPORT(HTTP, "[constructor]fields") int32_t fields_new(void);
IMPORT(HTTP, "[method]fields.append")
void fields_append(int32_t self, int32_t nptr, int32_t nlen, int32_t vptr, int32_t vlen, int32_t ret);
IMPORT(HTTP, "[method]fields.get") void fields_get(int32_t self, int32_t nptr, int32_t nlen, int32_t ret);
IMPORT(HTTP, "[resource-drop]fields") void fields_drop(int32_t h);
IMPORT(HTTP, "[method]incoming-request.method") void request_method(int32_t self, int32_t ret);
IMPORT(HTTP, "[method]incoming-request.path-with-query") void request_path(int32_t self, int32_t ret);
IMPORT(HTTP, "[method]incoming-request.headers") int32_t request_headers(int32_t self);
IMPORT(HTTP, "[method]incoming-request.consume") void request_consume(int32_t self, int32_t ret);
IMPORT(HTTP, "[resource-drop]incoming-request") void request_drop(int32_t h);
IMPORT(HTTP, "[method]incoming-body.stream") void in_body_stream(int32_t self, int32_t ret);
IMPORT(HTTP, "[static]incoming-body.finish") int32_t in_body_finish(int32_t self);
IMPORT(HTTP, "[resource-drop]incoming-body") void in_body_drop(int32_t h);
IMPORT(HTTP, "[resource-drop]future-trailers") void future_trailers_drop(int32_t h);
IMPORT(HTTP, "[constructor]outgoing-response") int32_t response_new(int32_t headers);
IMPORT(HTTP, "[method]outgoing-response.set-status-code")
int32_t response_set_status(int32_t self, int32_t s);
IMPORT(HTTP, "[method]outgoing-response.body") void response_body(int32_t self, int32_t ret);
IMPORT(HTTP, "[method]outgoing-body.write") void out_body_write(int32_t self, int32_t ret);
IMPORT(HTTP, "[static]outgoing-body.finish")
void out_body_finish(int32_t body, int32_t has_trailers, int32_t trailers, int32_t ret);
IMPORT(HTTP, "[resource-drop]outgoing-body") void out_body_drop(int32_t h);
IMPORT(HTTP, "[static]response-outparam.set")
void outparam_set(int32_t param, int32_t is_err, int32_t a, int32_t b, int64_t c, int32_t d, int32_t e,
                  int32_t f, int32_t g);
IMPORT(HTTP, "[constructor]outgoing-request") int32_t out_request_new(int32_t headers);
IMPORT(HTTP, "[method]outgoing-request.set-method")
int32_t out_request_set_method(int32_t self, int32_t disc, int32_t ptr, int32_t len);
IMPORT(HTTP, "[method]outgoing-request.set-scheme")
int32_t out_request_set_scheme(int32_t self, int32_t some, int32_t disc, int32_t ptr, int32_t len);
IMPORT(HTTP, "[method]outgoing-request.set-authority")
int32_t out_request_set_authority(int32_t self, int32_t some, int32_t ptr, int32_t len);
IMPORT(HTTP, "[method]outgoing-request.set-path-with-query")
int32_t out_request_set_path(int32_t self, int32_t some, int32_t ptr, int32_t len);
IMPORT(HTTP, "[method]outgoing-request.body") void out_request_body(int32_t self, int32_t ret);
IMPORT(HTTP, "[constructor]request-options") int32_t options_new(void);
IMPORT(HTTP, "[method]request-options.set-connect-timeout")
int32_t options_set_connect(int32_t self, int32_t some, int64_t ns);
IMPORT(HTTP, "[method]request-options.set-first-byte-timeout")
int32_t options_set_first_byte(int32_t self, int32_t some, int64_t ns);
IMPORT(HTTP, "[method]request-options.set-between-bytes-timeout")
int32_t options_set_between_bytes(int32_t self, int32_t some, int64_t ns);
IMPORT(OUT, "handle")
void outgoing_handle(int32_t request, int32_t has_options, int32_t options, int32_t ret);
IMPORT(HTTP, "[method]future-incoming-response.subscribe") int32_t future_subscribe(int32_t self);
IMPORT(HTTP, "[method]future-incoming-response.get") void future_get(int32_t self, int32_t ret);
IMPORT(HTTP, "[resource-drop]future-incoming-response") void future_drop(int32_t h);
IMPORT(HTTP, "[method]incoming-response.status") int32_t in_response_status(int32_t self);
IMPORT(HTTP, "[method]incoming-response.headers") int32_t in_response_headers(int32_t self);
IMPORT(HTTP, "[method]incoming-response.consume") void in_response_consume(int32_t self, int32_t ret);
IMPORT(HTTP, "[resource-drop]incoming-response") void in_response_drop(int32_t h);
IMPORT(STREAMS, "[method]input-stream.blocking-read")
void blocking_read(int32_t self, int64_t len, int32_t ret);
IMPORT(STREAMS, "[resource-drop]input-stream") void input_stream_drop(int32_t h);
IMPORT(STREAMS, "[method]output-stream.check-write") void check_write(int32_t self, int32_t ret);
IMPORT(STREAMS, "[method]output-stream.write")
void stream_write(int32_t self, int32_t ptr, int32_t len, int32_t ret);
IMPORT(STREAMS, "[method]output-stream.subscribe") int32_t out_subscribe(int32_t self);
IMPORT(STREAMS, "[resource-drop]output-stream") void output_stream_drop(int32_t h);
IMPORT("wasi:io/error@0.2.12", "[resource-drop]error") void io_error_drop(int32_t h);
IMPORT(POLL, "[method]pollable.block") void pollable_block(int32_t self);
IMPORT(POLL, "[resource-drop]pollable") void pollable_drop(int32_t h);

#define P(x) ((int32_t)(uintptr_t)(x))

static uint8_t heap[4 << 20] __attribute__((aligned(16)));
static uint32_t heap_used;

__attribute__((export_name("cabi_realloc"))) void *cabi_realloc(void *old, uint32_t old_size, uint32_t align,
                                                                uint32_t new_size) {
  (void)old, (void)old_size;
  uint32_t at = (heap_used + align - 1) & ~(align - 1);
  if (at + new_size > sizeof heap) __builtin_trap();
  heap_used = at + new_size;
  return heap + at;
}

static uint32_t len_of(const char *s) {
  uint32_t n = 0;
  while (s[n]) n++;
  return n;
}

/* clang turns byte loops into memcpy/memset calls: provide them (volatile so
 * that these loops are not turned into calls to themselves). */
void *memcpy(void *to, const void *from, unsigned long n) {
  volatile uint8_t *t = to;
  const uint8_t *f = from;
  for (unsigned long i = 0; i < n; i++) t[i] = f[i];
  return to;
}

void *memset(void *to, int c, unsigned long n) {
  volatile uint8_t *t = to;
  for (unsigned long i = 0; i < n; i++) t[i] = (uint8_t)c;
  return to;
}

static void copy(uint8_t *to, const void *from, uint32_t n) { memcpy(to, from, n); }

static int64_t ret8[8];
#define RET   P(ret8)
#define RB(i) (((uint8_t *)ret8)[i])
#define RW(i) (((int32_t *)ret8)[i])

static const char *const error_names[] = {"DNS-timeout",
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
                                          "internal-error"};

static void write_all(int32_t stream, const uint8_t *p, uint32_t len) {
  while (len > 0) {
    check_write(stream, RET);
    if (RB(0) != 0) __builtin_trap();
    uint64_t n = (uint64_t)ret8[1];
    if (n == 0) {
      int32_t poll = out_subscribe(stream);
      pollable_block(poll);
      pollable_drop(poll);
      continue;
    }
    uint32_t k = n < len ? (uint32_t)n : len;
    stream_write(stream, P(p), (int32_t)k, RET);
    if (RB(0) != 0) __builtin_trap();
    p += k;
    len -= k;
  }
}

/* The first value of header `name` of fields h into out (NUL-terminated,
 * at most size - 1 bytes); 0 when absent. */
static uint32_t header(int32_t h, const char *name, char *out, uint32_t size) {
  uint32_t mark = heap_used;
  fields_get(h, P(name), (int32_t)len_of(name), RET);
  uint32_t n = 0;
  if (RW(1) > 0) {
    const int32_t *e = (const int32_t *)(uintptr_t)RW(0);
    n = (uint32_t)e[1] < size - 1 ? (uint32_t)e[1] : size - 1;
    copy((uint8_t *)out, (const void *)(uintptr_t)e[0], n);
  }
  out[n] = 0;
  heap_used = mark;
  return n;
}

static uint64_t to_u64(const char *s) {
  uint64_t v = 0;
  while (*s >= '0' && *s <= '9') v = v * 10 + (uint64_t)(*s++ - '0');
  return v;
}

/* Answers with status and a text body. */
static void answer(int32_t param, int32_t status, const char *text, const char *more) {
  int32_t h = fields_new();
  int32_t response = response_new(h);
  response_set_status(response, status);
  response_body(response, RET);
  int32_t body = RW(1);
  out_body_write(body, RET);
  int32_t stream = RW(1);
  outparam_set(param, 0, response, 0, 0, 0, 0, 0, 0);
  write_all(stream, (const uint8_t *)text, len_of(text));
  if (more) write_all(stream, (const uint8_t *)more, len_of(more));
  write_all(stream, (const uint8_t *)"\n", 1);
  output_stream_drop(stream);
  out_body_finish(body, 0, 0, RET);
}

static void answer_error(int32_t param, uint32_t code) {
  answer(param, 502,
         "error-code: ", code < sizeof error_names / sizeof error_names[0] ? error_names[code] : "?");
}

static uint8_t path[4096];

__attribute__((export_name("wasi:http/incoming-handler@0.2.12#handle"))) void handle(int32_t request,
                                                                                     int32_t param) {
  /* METHOD /proxy/AUTHORITY/REST */
  request_path(request, RET);
  uint32_t plen = RB(0) ? (uint32_t)RW(2) : 0;
  if (plen >= sizeof path) plen = sizeof path - 1;
  copy(path, (const void *)(uintptr_t)RW(1), plen);
  path[plen] = 0;
  const char *p = (const char *)path;
  uint32_t skip = 1; /* the route's segment: "/proxy/", "/short/" */
  while (skip < plen && p[skip] != '/') skip++;
  if (p[0] != '/' || skip + 1 >= plen) {
    answer(param, 400, "use /ROUTE/AUTHORITY/PATH", 0);
    return;
  }
  const char *authority = p + skip + 1;
  uint32_t alen = 0;
  while (authority[alen] && authority[alen] != '/') alen++;
  const char *rest = authority[alen] ? authority + alen : "/";

  int32_t in_headers = request_headers(request);
  char scheme[16], timeout[32];
  header(in_headers, "x-scheme", scheme, sizeof scheme);
  header(in_headers, "x-timeout-ms", timeout, sizeof timeout);
  fields_drop(in_headers);

  request_method(request, RET);
  int32_t method_disc = RB(0), method_ptr = RW(1), method_len = RW(2);
  int32_t out = out_request_new(fields_new());
  if (out_request_set_method(out, method_disc, method_ptr, method_len) != 0) __builtin_trap();
  int https = scheme[0] == 'h' && scheme[4] == 's';
  if (out_request_set_scheme(out, 1, https ? 1 : 0, 0, 0) != 0) __builtin_trap();
  if (out_request_set_authority(out, 1, P(authority), (int32_t)alen) != 0) {
    answer(param, 400, "authority refused", 0);
    return;
  }
  if (out_request_set_path(out, 1, P(rest), (int32_t)len_of(rest)) != 0) {
    answer(param, 400, "bad path", 0);
    return;
  }
  out_request_body(out, RET);
  if (RB(0) != 0) __builtin_trap();
  int32_t out_body = RW(1);

  int32_t options = 0, has_options = 0;
  if (timeout[0]) {
    int64_t ns = (int64_t)to_u64(timeout) * 1000000;
    options = options_new();
    has_options = 1;
    options_set_connect(options, 1, ns);
    options_set_first_byte(options, 1, ns);
    options_set_between_bytes(options, 1, ns);
  }
  outgoing_handle(out, has_options, options, RET);
  if (RB(0) != 0) {
    out_body_drop(out_body);
    {
      answer_error(param, RB(8));
      return;
    }
  }
  int32_t future = RW(2);

  /* the incoming body into the outgoing one, as it arrives */
  request_consume(request, RET);
  if (RB(0) != 0) __builtin_trap();
  int32_t in_body = RW(1);
  in_body_stream(in_body, RET);
  int32_t in = RW(1);
  out_body_write(out_body, RET);
  int32_t up = RW(1);
  uint32_t mark = heap_used;
  for (;;) {
    heap_used = mark;
    blocking_read(in, 65536, RET);
    if (RB(0) != 0) break;
    write_all(up, (const uint8_t *)(uintptr_t)RW(1), (uint32_t)RW(2));
  }
  input_stream_drop(in);
  future_trailers_drop(in_body_finish(in_body));
  output_stream_drop(up);
  out_body_finish(out_body, 0, 0, RET);

  /* the response */
  int32_t ready = future_subscribe(future);
  pollable_block(ready);
  pollable_drop(ready);
  future_get(future, RET);
  future_drop(future);
  if (RB(0) == 0 || RB(8) != 0) __builtin_trap(); /* not ready after block, or taken twice */
  if (RB(16) != 0) {
    answer_error(param, RB(24));
    return;
  }
  int32_t response = RW(6);
  int32_t status = in_response_status(response);

  char content_type[128];
  int32_t up_headers = in_response_headers(response);
  header(up_headers, "content-type", content_type, sizeof content_type);
  fields_drop(up_headers);
  in_response_consume(response, RET);
  if (RB(0) != 0) __builtin_trap();
  int32_t up_body = RW(1);
  in_body_stream(up_body, RET);
  int32_t down = RW(1);

  int32_t h = fields_new();
  fields_append(h, P("x-proxied"), 9, P("1"), 1, RET);
  if (content_type[0])
    fields_append(h, P("x-up-content-type"), 17, P(content_type), (int32_t)len_of(content_type), RET);
  int32_t resp = response_new(h);
  response_set_status(resp, status);
  response_body(resp, RET);
  int32_t body = RW(1);
  out_body_write(body, RET);
  int32_t stream = RW(1);
  outparam_set(param, 0, resp, 0, 0, 0, 0, 0, 0);
  int broken = 0;
  for (;;) {
    heap_used = mark;
    blocking_read(down, 65536, RET);
    if (RB(0) != 0) {
      if (RB(4) == 0) { /* last-operation-failed: the upstream body broke */
        io_error_drop(RW(2));
        broken = 1;
      }
      break;
    }
    write_all(stream, (const uint8_t *)(uintptr_t)RW(1), (uint32_t)RW(2));
  }
  input_stream_drop(down);
  if (broken) {
    in_body_drop(up_body);
  } else {
    future_trailers_drop(in_body_finish(up_body));
  }
  in_response_drop(response);
  output_stream_drop(stream);
  if (broken)
    out_body_drop(body); /* not finished: the client sees the response cut short */
  else
    out_body_finish(body, 0, 0, RET);
}
