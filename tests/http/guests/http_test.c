/*
 * http_test.c: a wasi:http/proxy component for the server tests, written in C
 * without libc or bindings (raw canonical ABI, as
 * tests/component/guests/http_hello.c). Each core import is declared with the
 * signature the canonical ABI gives its WIT type (CanonicalABI.md flattening:
 * more than one result value comes back through a return pointer).
 *
 * What it does depends on the request path (the part after the last '/'
 * before any query):
 *   hello              200 "hello from a component\n"
 *   echo               200, x-method / x-path / x-scheme / x-authority headers,
 *                      every request header back as x-echo-NAME, the body back
 *                      (read as it arrives, written as the window allows)
 *   big?n=N            200, N bytes of 'a'..'z' repeated, streamed
 *   fields             the fields rules of the spec, as a line of results
 *   loop               loops forever
 *   trap               traps (unreachable)
 *   no-set             returns without setting a response
 *   error              sets the response to error-code.internal-error
 *   set-twice          response-outparam.set twice (the second one traps)
 *   drop-body-early    drops the outgoing-body while its stream is alive (trap)
 *   finish-with-stream finishes the outgoing-body while its stream is alive (trap)
 *   write-after-finish writes to the stream after finish dropped it (trap)
 *   drop-request-first drops the incoming-request before its headers (trap)
 *   no-finish          writes some body and returns without finish (broken)
 *   stdout             writes lines to stdout and stderr (the server's log)
 *   sleep?ms=N         waits N ms on a monotonic-clock pollable, then "slept\n"
 *   after              answers "answered\n", finishes the body, then waits
 *                      50 ms and writes a line to stderr (work after the response)
 *   status?NNN         answers with status NNN
 *   many-fields        appends 64 KiB values until the host refuses (a trap)
 *   misc               more rules of the spec (trailers, outgoing-request,
 *                      request-options, fields), as a line of results
 *   env                the environment, one NAME=VALUE line each
 *   file?NAME          the file NAME under the first preopened directory, else 404
 *   req-trailers       reads the request body, then its trailers: "bytes=N"
 *                      and a "name: value" line for each trailer (or "none")
 *   trailers?n=N       N lines "line i\n" (written one at a time), then
 *                      outgoing-body.finish with trailers x-lines: N and
 *                      x-checksum: the sum of the body's bytes
 */
#include <stdint.h>

#define IMPORT(module, name) __attribute__((import_module(module), import_name(name)))
#define HTTP    "wasi:http/types@0.2.12"
#define STREAMS "wasi:io/streams@0.2.12"
#define POLL    "wasi:io/poll@0.2.12"

IMPORT(HTTP, "[constructor]fields") int32_t fields_new(void);
IMPORT(HTTP, "[static]fields.from-list") void fields_from_list(int32_t ptr, int32_t len, int32_t ret);
IMPORT(HTTP, "[method]fields.append")
void fields_append(int32_t self, int32_t nptr, int32_t nlen, int32_t vptr, int32_t vlen, int32_t ret);
IMPORT(HTTP, "[method]fields.entries") void fields_entries(int32_t self, int32_t ret);
IMPORT(HTTP, "[method]fields.get") void fields_get(int32_t self, int32_t nptr, int32_t nlen, int32_t ret);
IMPORT(HTTP, "[method]fields.has") int32_t fields_has(int32_t self, int32_t nptr, int32_t nlen);
IMPORT(HTTP, "[method]fields.delete") void fields_delete(int32_t self, int32_t nptr, int32_t nlen, int32_t ret);
IMPORT(HTTP, "[method]fields.clone") int32_t fields_clone(int32_t self);
IMPORT(HTTP, "[method]fields.set")
void fields_set(int32_t self, int32_t nptr, int32_t nlen, int32_t vptr, int32_t vlen, int32_t ret);
IMPORT(HTTP, "[method]future-trailers.get") void future_trailers_get(int32_t self, int32_t ret);
IMPORT(HTTP, "[method]future-trailers.subscribe") int32_t future_trailers_subscribe(int32_t self);
IMPORT(HTTP, "[constructor]outgoing-request") int32_t out_request_new(int32_t headers);
IMPORT(HTTP, "[method]outgoing-request.method") void out_request_method(int32_t self, int32_t ret);
IMPORT(HTTP, "[method]outgoing-request.set-method")
int32_t out_request_set_method(int32_t self, int32_t disc, int32_t ptr, int32_t len);
IMPORT(HTTP, "[method]outgoing-request.path-with-query") void out_request_path(int32_t self, int32_t ret);
IMPORT(HTTP, "[method]outgoing-request.set-path-with-query")
int32_t out_request_set_path(int32_t self, int32_t disc, int32_t ptr, int32_t len);
IMPORT(HTTP, "[resource-drop]outgoing-request") void out_request_drop(int32_t h);
IMPORT(HTTP, "[constructor]request-options") int32_t options_new(void);
IMPORT(HTTP, "[method]request-options.set-connect-timeout")
int32_t options_set_connect(int32_t self, int32_t disc, int64_t ns);
IMPORT(HTTP, "[method]request-options.connect-timeout") void options_connect(int32_t self, int32_t ret);
IMPORT(HTTP, "[resource-drop]request-options") void options_drop(int32_t h);
IMPORT(HTTP, "[resource-drop]fields") void fields_drop(int32_t h);
IMPORT(HTTP, "[method]incoming-request.method") void request_method(int32_t self, int32_t ret);
IMPORT(HTTP, "[method]incoming-request.path-with-query") void request_path(int32_t self, int32_t ret);
IMPORT(HTTP, "[method]incoming-request.scheme") void request_scheme(int32_t self, int32_t ret);
IMPORT(HTTP, "[method]incoming-request.authority") void request_authority(int32_t self, int32_t ret);
IMPORT(HTTP, "[method]incoming-request.headers") int32_t request_headers(int32_t self);
IMPORT(HTTP, "[method]incoming-request.consume") void request_consume(int32_t self, int32_t ret);
IMPORT(HTTP, "[resource-drop]incoming-request") void request_drop(int32_t h);
IMPORT(HTTP, "[method]incoming-body.stream") void in_body_stream(int32_t self, int32_t ret);
IMPORT(HTTP, "[static]incoming-body.finish") int32_t in_body_finish(int32_t self);
IMPORT(HTTP, "[resource-drop]future-trailers") void future_trailers_drop(int32_t h);
IMPORT(HTTP, "[constructor]outgoing-response") int32_t response_new(int32_t headers);
IMPORT(HTTP, "[method]outgoing-response.set-status-code") int32_t response_set_status(int32_t self, int32_t s);
IMPORT(HTTP, "[method]outgoing-response.headers") int32_t response_headers(int32_t self);
IMPORT(HTTP, "[method]outgoing-response.body") void response_body(int32_t self, int32_t ret);
IMPORT(HTTP, "[method]outgoing-body.write") void out_body_write(int32_t self, int32_t ret);
IMPORT(HTTP, "[static]outgoing-body.finish")
void out_body_finish(int32_t body, int32_t has_trailers, int32_t trailers, int32_t ret);
IMPORT(HTTP, "[resource-drop]outgoing-body") void out_body_drop(int32_t h);
IMPORT(HTTP, "[static]response-outparam.set")
void outparam_set(int32_t param, int32_t is_err, int32_t a, int32_t b, int64_t c, int32_t d, int32_t e, int32_t f,
                  int32_t g);
IMPORT(STREAMS, "[method]input-stream.blocking-read") void blocking_read(int32_t self, int64_t len, int32_t ret);
IMPORT(STREAMS, "[resource-drop]input-stream") void input_stream_drop(int32_t h);
IMPORT(STREAMS, "[method]output-stream.check-write") void check_write(int32_t self, int32_t ret);
IMPORT(STREAMS, "[method]output-stream.write") void stream_write(int32_t self, int32_t ptr, int32_t len, int32_t ret);
IMPORT(STREAMS, "[method]output-stream.blocking-write-and-flush")
void blocking_write(int32_t self, int32_t ptr, int32_t len, int32_t ret);
IMPORT(STREAMS, "[method]output-stream.subscribe") int32_t out_subscribe(int32_t self);
IMPORT(STREAMS, "[resource-drop]output-stream") void output_stream_drop(int32_t h);
IMPORT(POLL, "[method]pollable.block") void pollable_block(int32_t self);
IMPORT(POLL, "[method]pollable.ready") int32_t pollable_ready(int32_t self);
IMPORT(POLL, "[resource-drop]pollable") void pollable_drop(int32_t h);
IMPORT("wasi:cli/stdout@0.2.12", "get-stdout") int32_t get_stdout(void);
IMPORT("wasi:clocks/monotonic-clock@0.2.12", "subscribe-duration") int32_t subscribe_duration(int64_t ns);
IMPORT("wasi:cli/environment@0.2.12", "get-environment") void get_environment(int32_t ret);
IMPORT("wasi:filesystem/preopens@0.2.12", "get-directories") void get_directories(int32_t ret);
IMPORT("wasi:filesystem/types@0.2.12", "[method]descriptor.open-at")
void descriptor_open_at(int32_t self, int32_t path_flags, int32_t ptr, int32_t len, int32_t open_flags,
                        int32_t flags, int32_t ret);
IMPORT("wasi:filesystem/types@0.2.12", "[method]descriptor.read")
void descriptor_read(int32_t self, int64_t len, int64_t offset, int32_t ret);
IMPORT("wasi:filesystem/types@0.2.12", "[resource-drop]descriptor") void descriptor_drop(int32_t h);
IMPORT("wasi:cli/stderr@0.2.12", "get-stderr") int32_t get_stderr(void);

#define P(x) ((int32_t)(uintptr_t)(x))

/* ---- memory: a bump heap the canonical ABI allocates from; reset per use ---- */
static uint8_t heap[1 << 20] __attribute__((aligned(16)));
static uint32_t heap_used;

__attribute__((export_name("cabi_realloc")))
void *cabi_realloc(void *old, uint32_t old_size, uint32_t align, uint32_t new_size) {
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

/* (volatile: no libc here, so the loop must not become a call to memcpy) */
static void copy(volatile uint8_t *to, const void *from, uint32_t n) {
  const uint8_t *f = from;
  for (uint32_t i = 0; i < n; i++) to[i] = f[i];
}

static int same(const char *a, uint32_t alen, const char *b) {
  uint32_t n = len_of(b);
  if (alen != n) return 0;
  for (uint32_t i = 0; i < n; i++)
    if (a[i] != b[i]) return 0;
  return 1;
}

static int64_t ret8[8]; /* return area, 8-aligned */
#define RET   P(ret8)
#define RB(i) (((uint8_t *)ret8)[i])
#define RW(i) (((int32_t *)ret8)[i])

/* ---- helpers ---- */

static int32_t append(int32_t fields, const char *name, uint32_t nlen, const void *value, uint32_t vlen) {
  fields_append(fields, P(name), (int32_t)nlen, P(value), (int32_t)vlen, RET);
  return RB(0) == 0 ? -1 : RB(1); /* -1 ok, else the header-error */
}

static int32_t append_str(int32_t fields, const char *name, const char *value) {
  return append(fields, name, len_of(name), value, len_of(value));
}

/* Writes everything, waiting on the stream's pollable when the window is full. */
static void write_all(int32_t stream, const uint8_t *p, uint32_t len) {
  while (len > 0) {
    check_write(stream, RET);
    if (RB(0) != 0) __builtin_trap(); /* closed or failed */
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

static void write_text(int32_t stream, const char *s) { write_all(stream, (const uint8_t *)s, len_of(s)); }

/* A response with headers `fields` and the given status: its body and stream. */
typedef struct out {
  int32_t response, body, stream;
} out_t;

static out_t respond(int32_t param, int32_t fields, int32_t status) {
  out_t o;
  o.response = response_new(fields);
  if (status != 200 && response_set_status(o.response, status) != 0) __builtin_trap();
  response_body(o.response, RET);
  if (RB(0) != 0) __builtin_trap();
  o.body = RW(1);
  out_body_write(o.body, RET);
  if (RB(0) != 0) __builtin_trap();
  o.stream = RW(1);
  outparam_set(param, 0, o.response, 0, 0, 0, 0, 0, 0);
  return o;
}

static void finish(out_t *o) {
  output_stream_drop(o->stream);
  out_body_finish(o->body, 0, 0, RET);
  if (RB(0) != 0) __builtin_trap();
}

static char *utoa(uint64_t v, char *end) {
  *--end = 0;
  do *--end = (char)('0' + v % 10);
  while (v /= 10);
  return end;
}

/* ---- behaviours ---- */

static void do_echo(int32_t request, int32_t param) {
  static const char *const methods[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE",
                                        "PATCH"};
  int32_t h = fields_new();
  request_method(request, RET);
  if (RB(0) < 9)
    append_str(h, "x-method", methods[RB(0)]);
  else
    append(h, "x-method", 8, (const void *)(uintptr_t)RW(1), (uint32_t)RW(2));
  request_path(request, RET);
  if (RB(0)) append(h, "x-path", 6, (const void *)(uintptr_t)RW(1), (uint32_t)RW(2));
  request_scheme(request, RET);
  if (RB(0)) append_str(h, "x-scheme", RB(4) == 0 ? "http" : RB(4) == 1 ? "https" : "other");
  request_authority(request, RET);
  if (RB(0)) append(h, "x-authority", 11, (const void *)(uintptr_t)RW(1), (uint32_t)RW(2));
  int32_t rh = request_headers(request);
  fields_entries(rh, RET);
  const int32_t *e = (const int32_t *)(uintptr_t)RW(0);
  int32_t n = RW(1);
  for (int32_t i = 0; i < n; i++, e += 4) {
    char name[300];
    uint32_t nlen = (uint32_t)e[1];
    if (nlen > 280) continue;
    copy((uint8_t *)name, "x-echo-", 7);
    copy((uint8_t *)name + 7, (const void *)(uintptr_t)e[0], nlen);
    append(h, name, nlen + 7, (const void *)(uintptr_t)e[2], (uint32_t)e[3]);
  }
  fields_drop(rh);
  request_consume(request, RET);
  if (RB(0) != 0) __builtin_trap();
  int32_t in_body = RW(1);
  in_body_stream(in_body, RET);
  if (RB(0) != 0) __builtin_trap();
  int32_t in = RW(1);
  out_t o = respond(param, h, 200);
  uint32_t mark = heap_used;
  for (;;) {
    heap_used = mark;
    blocking_read(in, 65536, RET);
    if (RB(0) != 0) break; /* closed: the end */
    write_all(o.stream, (const uint8_t *)(uintptr_t)RW(1), (uint32_t)RW(2));
  }
  input_stream_drop(in);
  future_trailers_drop(in_body_finish(in_body));
  finish(&o);
}

static uint8_t chunk[65536];

static void do_big(int32_t param, uint64_t n) {
  for (uint32_t i = 0; i < sizeof chunk; i++) chunk[i] = (uint8_t)('a' + i % 26);
  out_t o = respond(param, fields_new(), 200);
  uint64_t at = 0;
  while (at < n) {
    check_write(o.stream, RET);
    if (RB(0) != 0) __builtin_trap();
    uint64_t k = (uint64_t)ret8[1];
    if (k == 0) {
      int32_t poll = out_subscribe(o.stream);
      pollable_block(poll);
      pollable_drop(poll);
      continue;
    }
    uint64_t off = at % 26;
    if (k > sizeof chunk - 26) k = sizeof chunk - 26;
    if (k > n - at) k = n - at;
    stream_write(o.stream, P(chunk + off), (int32_t)k, RET);
    if (RB(0) != 0) __builtin_trap();
    at += k;
  }
  finish(&o);
}

static void do_fields(int32_t request, int32_t param) {
  char line[300];
  uint32_t len = 0;
#define ADD(label, v)                                                  \
  do {                                                                 \
    const char *l_ = label;                                            \
    copy((uint8_t *)line + len, l_, len_of(l_));                       \
    len += len_of(l_);                                                 \
    char num_[8];                                                      \
    int32_t v_ = (v);                                                  \
    const char *s_ = v_ < 0 ? "ok" : utoa((uint64_t)v_, num_ + 8);     \
    copy((uint8_t *)line + len, s_, len_of(s_));                       \
    len += len_of(s_);                                                 \
    line[len++] = ' ';                                                 \
  } while (0)
  int32_t rh = request_headers(request);
  ADD("request-headers=", append_str(rh, "x-a", "1"));
  fields_drop(rh);
  int32_t f = fields_new();
  ADD("bad-name=", append_str(f, "bad name", "v"));
  ADD("forbidden=", append_str(f, "connection", "close"));
  ADD("bad-value=", append_str(f, "x-ok", "v\n"));
  ADD("ok=", append_str(f, "x-ok", "v"));
  /* from-list([("host", "x")]) */
  static int32_t list[4];
  list[0] = P("host");
  list[1] = 4;
  list[2] = P("x");
  list[3] = 1;
  fields_from_list(P(list), 1, RET);
  ADD("from-list=", RB(0) == 0 ? -1 : RB(4));
  int32_t response = response_new(f);
  int32_t view = response_headers(response);
  ADD("view-before=", append_str(view, "x-late", "1"));
  response_body(response, RET);
  int32_t body = RW(1);
  out_body_write(body, RET);
  int32_t stream = RW(1);
  outparam_set(param, 0, response, 0, 0, 0, 0, 0, 0);
  ADD("view-after=", append_str(view, "x-after", "1"));
  fields_drop(view);
  line[len - 1] = '\n';
  write_all(stream, (const uint8_t *)line, len);
  out_t o = {response, body, stream};
  finish(&o);
}

static void log_lines(void) {
  static const char out_text[] = "a line on stdout\n";
  static const char err_text[] = "a line on stderr\n";
  int32_t o = get_stdout(), e = get_stderr();
  blocking_write(o, P(out_text), sizeof out_text - 1, RET);
  blocking_write(e, P(err_text), sizeof err_text - 1, RET);
  output_stream_drop(o);
  output_stream_drop(e);
}

static void do_misc(int32_t request, int32_t param) {
  char line[400];
  uint32_t len = 0;
#define PUT(text)                                   \
  do {                                              \
    const char *t_ = (text);                        \
    copy((uint8_t *)line + len, t_, len_of(t_));    \
    len += len_of(t_);                              \
  } while (0)
  /* the request body's trailers: none, then taken */
  request_consume(request, RET);
  int32_t in_body = RW(1);
  int32_t trailers = in_body_finish(in_body);
  int32_t poll = future_trailers_subscribe(trailers);
  pollable_block(poll); /* until the body has arrived (it streams: maybe not yet) */
  PUT(pollable_ready(poll) ? "ready=1 " : "ready=0 ");
  pollable_drop(poll);
  future_trailers_get(trailers, RET);
  PUT(RB(0) == 1 && RB(8) == 0 && RB(16) == 0 && RB(24) == 0 ? "trailers=none " : "trailers=? ");
  future_trailers_get(trailers, RET);
  PUT(RB(0) == 1 && RB(8) == 1 ? "again=err " : "again=? ");
  future_trailers_drop(trailers);
  /* fields */
  int32_t f = fields_new();
  append_str(f, "x-dup", "a");
  append_str(f, "X-Dup", "b");
  fields_get(f, P("x-DUP"), 5, RET);
  PUT(RW(1) == 2 ? "get=2 " : "get=? ");
  PUT(fields_has(f, P("x-dup"), 5) && !fields_has(f, P("x-none"), 6) ? "has=ok " : "has=? ");
  fields_get(f, P("bad name"), 8, RET);
  PUT(RW(1) == 0 ? "get-invalid=empty " : "get-invalid=? ");
  int32_t rh = request_headers(request);
  fields_delete(rh, P("host"), 4, RET);
  PUT(RB(0) == 1 && RB(1) == 2 ? "request-delete=immutable " : "request-delete=? ");
  int32_t c = fields_clone(rh);
  static int32_t one[2];
  one[0] = P("1");
  one[1] = 1;
  fields_set(c, P("x-new"), 5, P(one), 1, RET);
  PUT(RB(0) == 0 ? "clone-set=ok " : "clone-set=? ");
  fields_drop(c);
  fields_drop(rh);
  /* outgoing-request */
  int32_t req = out_request_new(fields_new());
  out_request_method(req, RET);
  PUT(RB(0) == 0 ? "method=GET " : "method=? ");
  PUT(out_request_set_method(req, 9, P("PURGE"), 5) == 0 ? "" : "set-method=? ");
  out_request_method(req, RET);
  PUT(RB(0) == 9 && same((const char *)(uintptr_t)RW(1), (uint32_t)RW(2), "PURGE") ? "method2=PURGE " : "method2=? ");
  PUT(out_request_set_method(req, 9, P("BAD METHOD"), 10) == 1 ? "bad-method=err " : "bad-method=? ");
  out_request_path(req, RET);
  PUT(RB(0) == 0 ? "path=none " : "path=? ");
  out_request_set_path(req, 1, P("/x?y"), 4);
  out_request_path(req, RET);
  PUT(RB(0) == 1 && same((const char *)(uintptr_t)RW(1), (uint32_t)RW(2), "/x?y") ? "path2=/x?y " : "path2=? ");
  out_request_drop(req);
  /* request-options */
  int32_t o = options_new();
  options_connect(o, RET);
  PUT(RB(0) == 0 ? "timeout=none " : "timeout=? ");
  options_set_connect(o, 1, 5000);
  options_connect(o, RET);
  PUT(RB(0) == 1 && ret8[1] == 5000 ? "timeout2=5000 " : "timeout2=? ");
  options_drop(o);
  /* the response */
  int32_t response = response_new(fields_new());
  PUT(response_set_status(response, 99) == 1 ? "status99=err" : "status99=?");
  line[len++] = '\n';
  response_body(response, RET);
  int32_t body = RW(1);
  out_body_write(body, RET);
  out_t out = {response, body, RW(1)};
  outparam_set(param, 0, response, 0, 0, 0, 0, 0, 0);
  write_all(out.stream, (const uint8_t *)line, len);
  finish(&out);
}

__attribute__((export_name("wasi:http/incoming-handler@0.2.12#handle")))
void handle(int32_t request, int32_t param) {
  request_path(request, RET);
  const char *path = (const char *)(uintptr_t)RW(1);
  uint32_t plen = (uint32_t)RW(2), start = 0, end = plen;
  for (uint32_t i = 0; i < plen; i++)
    if (path[i] == '?') {
      end = i;
      break;
    }
  for (uint32_t i = 0; i < end; i++)
    if (path[i] == '/') start = i + 1;
  const char *what = path + start;
  uint32_t wlen = end - start;
  if (same(what, wlen, "echo")) {
    do_echo(request, param);
  } else if (same(what, wlen, "big")) {
    uint64_t n = 0;
    for (uint32_t i = end + 3; i < plen && path[i] >= '0' && path[i] <= '9'; i++) n = n * 10 + (uint64_t)(path[i] - '0');
    do_big(param, n);
  } else if (same(what, wlen, "fields")) {
    do_fields(request, param);
  } else if (same(what, wlen, "loop")) {
    for (volatile uint64_t i = 0;; i++) {
    }
  } else if (same(what, wlen, "trap")) {
    __builtin_trap();
  } else if (same(what, wlen, "no-set")) {
    return;
  } else if (same(what, wlen, "error")) {
    outparam_set(param, 1, 38, 0, 0, 0, 0, 0, 0); /* error-code.internal-error(none) */
  } else if (same(what, wlen, "set-twice")) {
    int32_t r1 = response_new(fields_new());
    outparam_set(param, 0, r1, 0, 0, 0, 0, 0, 0);
    int32_t r2 = response_new(fields_new());
    outparam_set(param, 0, r2, 0, 0, 0, 0, 0, 0);
  } else if (same(what, wlen, "drop-body-early")) {
    out_t o = respond(param, fields_new(), 200);
    out_body_drop(o.body);
  } else if (same(what, wlen, "finish-with-stream")) {
    out_t o = respond(param, fields_new(), 200);
    out_body_finish(o.body, 0, 0, RET);
  } else if (same(what, wlen, "write-after-finish")) {
    out_t o = respond(param, fields_new(), 200);
    finish(&o);
    write_text(o.stream, "late\n");
  } else if (same(what, wlen, "drop-request-first")) {
    int32_t rh = request_headers(request);
    request_drop(request);
    fields_drop(rh);
  } else if (same(what, wlen, "req-trailers")) {
    request_consume(request, RET);
    if (RB(0) != 0) __builtin_trap();
    int32_t in_body = RW(1);
    in_body_stream(in_body, RET);
    if (RB(0) != 0) __builtin_trap();
    int32_t in = RW(1);
    uint64_t total = 0;
    uint32_t mark = heap_used;
    for (;;) {
      heap_used = mark;
      blocking_read(in, 65536, RET);
      if (RB(0) != 0) break;
      total += (uint32_t)RW(2);
    }
    input_stream_drop(in);
    int32_t trailers = in_body_finish(in_body);
    int32_t poll = future_trailers_subscribe(trailers);
    pollable_block(poll);
    pollable_drop(poll);
    future_trailers_get(trailers, RET);
    int ok = RB(0) == 1 && RB(8) == 0 && RB(16) == 0;
    int32_t th = ok && RB(24) == 1 ? RW(7) : -1;
    out_t o = respond(param, fields_new(), 200);
    char num[24];
    write_text(o.stream, "bytes=");
    write_text(o.stream, utoa(total, num + sizeof num));
    write_text(o.stream, "\n");
    if (!ok) {
      write_text(o.stream, "error\n");
    } else if (th < 0) {
      write_text(o.stream, "none\n");
    } else {
      fields_entries(th, RET);
      const int32_t *e = (const int32_t *)(uintptr_t)RW(0);
      int32_t n = RW(1);
      for (int32_t i = 0; i < n; i++, e += 4) {
        write_all(o.stream, (const uint8_t *)(uintptr_t)e[0], (uint32_t)e[1]);
        write_text(o.stream, ": ");
        write_all(o.stream, (const uint8_t *)(uintptr_t)e[2], (uint32_t)e[3]);
        write_text(o.stream, "\n");
      }
      fields_drop(th);
    }
    future_trailers_drop(trailers);
    finish(&o);
  } else if (same(what, wlen, "trailers")) {
    uint64_t n = 0, sum = 0;
    for (uint32_t i = end + 3; i < plen && path[i] >= '0' && path[i] <= '9'; i++) n = n * 10 + (uint64_t)(path[i] - '0');
    out_t o = respond(param, fields_new(), 200);
    for (uint64_t i = 0; i < n; i++) {
      char num[24], line[40];
      const char *d = utoa(i, num + sizeof num);
      uint32_t k = 0;
      for (const char *c = "line "; *c; c++) line[k++] = *c;
      for (; *d; d++) line[k++] = *d;
      line[k++] = '\n';
      for (uint32_t j = 0; j < k; j++) sum += (uint8_t)line[j];
      write_all(o.stream, (const uint8_t *)line, k);
    }
    output_stream_drop(o.stream);
    char lines[24], check[24];
    int32_t t = fields_new();
    append_str(t, "x-lines", utoa(n, lines + sizeof lines));
    append_str(t, "x-checksum", utoa(sum, check + sizeof check));
    out_body_finish(o.body, 1, t, RET);
    if (RB(0) != 0) __builtin_trap();
  } else if (same(what, wlen, "no-finish")) {
    out_t o = respond(param, fields_new(), 200);
    write_text(o.stream, "partial\n");
  } else if (same(what, wlen, "sleep")) {
    uint64_t ms = 0;
    for (uint32_t i = end + 4; i < plen && path[i] >= '0' && path[i] <= '9'; i++) ms = ms * 10 + (uint64_t)(path[i] - '0');
    int32_t poll = subscribe_duration((int64_t)(ms * 1000000));
    pollable_block(poll);
    pollable_drop(poll);
    out_t o = respond(param, fields_new(), 200);
    write_text(o.stream, "slept\n");
    finish(&o);
  } else if (same(what, wlen, "status")) { /* status?NNN */
    int32_t st = 0;
    for (uint32_t i = end + 1; i < plen && path[i] >= '0' && path[i] <= '9'; i++) st = st * 10 + (path[i] - '0');
    out_t o = respond(param, fields_new(), st);
    write_text(o.stream, "status\n");
    finish(&o);
  } else if (same(what, wlen, "many-fields")) { /* host memory a guest can hold is bounded: a trap */
    static uint8_t big[65536];
    for (uint32_t i = 0; i < sizeof big; i++) ((volatile uint8_t *)big)[i] = 'a';
    int32_t f = fields_new();
    for (;;) append(f, "x-big", 5, big, sizeof big);
  } else if (same(what, wlen, "misc")) {
    do_misc(request, param);
  } else if (same(what, wlen, "env")) {
    get_environment(RET);
    const int32_t *e = (const int32_t *)(uintptr_t)RW(0);
    int32_t n = RW(1);
    out_t o = respond(param, fields_new(), 200);
    for (int32_t i = 0; i < n; i++, e += 4) {
      write_all(o.stream, (const uint8_t *)(uintptr_t)e[0], (uint32_t)e[1]);
      write_text(o.stream, "=");
      write_all(o.stream, (const uint8_t *)(uintptr_t)e[2], (uint32_t)e[3]);
      write_text(o.stream, "\n");
    }
    finish(&o);
  } else if (same(what, wlen, "file")) {
    get_directories(RET);
    const int32_t *d = (const int32_t *)(uintptr_t)RW(0);
    int32_t found = -1;
    if (RW(1) > 0) {
      /* open-at(path-flags 0, NAME, open-flags 0, descriptor-flags read) */
      descriptor_open_at(d[0], 0, P(path + end + 1), (int32_t)(plen - end - 1), 0, 1, RET);
      if (RB(0) == 0) found = RW(1);
    }
    if (found < 0) {
      out_t o = respond(param, fields_new(), 404);
      write_text(o.stream, "no such file\n");
      finish(&o);
      return;
    }
    out_t o = respond(param, fields_new(), 200);
    uint64_t at = 0;
    uint32_t mark = heap_used;
    for (;;) {
      heap_used = mark;
      descriptor_read(found, 65536, (int64_t)at, RET);
      if (RB(0) != 0) __builtin_trap();
      uint32_t n = (uint32_t)RW(2);
      write_all(o.stream, (const uint8_t *)(uintptr_t)RW(1), n);
      at += n;
      if (RB(12) || n == 0) break; /* end of file */
    }
    descriptor_drop(found);
    finish(&o);
  } else if (same(what, wlen, "after")) {
    out_t o = respond(param, fields_new(), 200);
    write_text(o.stream, "answered\n");
    finish(&o);
    int32_t poll = subscribe_duration(50 * 1000000);
    pollable_block(poll);
    pollable_drop(poll);
    static const char text[] = "work after the response\n";
    int32_t e = get_stderr();
    blocking_write(e, P(text), sizeof text - 1, RET);
    output_stream_drop(e);
  } else if (same(what, wlen, "stdout")) {
    log_lines();
    out_t o = respond(param, fields_new(), 200);
    write_text(o.stream, "logged\n");
    finish(&o);
  } else {
    out_t o = respond(param, fields_new(), 200);
    write_text(o.stream, "hello from a component\n");
    finish(&o);
  }
}
