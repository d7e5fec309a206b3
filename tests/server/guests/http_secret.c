/*
 * http_secret.c: a wasi:http/incoming-handler component (raw canonical ABI, as
 * tests/component/guests/http_hello.c) for test_snapshot_files.py: each
 * request answers "calls=N last=S" with what its instance remembers of earlier
 * requests (a call counter and the secret the last one left in a static
 * buffer), then leaves a new secret there. Every instance is fresh, so every
 * answer must be "calls=0 last=(none)", or "calls=7 last=INIT" after the
 * `init` export ran before the snapshot: a request never sees bytes another
 * one wrote, even in the same pool slot. `init-trap` traps.
 */
#include <stdint.h>

#define IMPORT(module, name) __attribute__((import_module(module), import_name(name)))
#define HTTP "wasi:http/types@0.2.12"
#define STREAMS "wasi:io/streams@0.2.12"

IMPORT(HTTP, "[constructor]fields") int32_t fields_new(void);
IMPORT(HTTP, "[constructor]outgoing-response") int32_t outgoing_response_new(int32_t headers);
IMPORT(HTTP, "[method]outgoing-response.body") void outgoing_response_body(int32_t self, int32_t ret);
IMPORT(HTTP, "[method]outgoing-body.write") void outgoing_body_write(int32_t self, int32_t ret);
IMPORT(HTTP, "[static]outgoing-body.finish")
void outgoing_body_finish(int32_t body, int32_t has_trailers, int32_t trailers, int32_t ret);
IMPORT(HTTP, "[static]response-outparam.set")
void response_outparam_set(int32_t param, int32_t is_err, int32_t response, int32_t e1, int64_t e2,
                           int32_t e3, int32_t e4, int32_t e5, int32_t e6);
IMPORT(HTTP, "[resource-drop]incoming-request") void incoming_request_drop(int32_t handle);
IMPORT(STREAMS, "[method]output-stream.blocking-write-and-flush")
void blocking_write_and_flush(int32_t self, int32_t ptr, int32_t len, int32_t ret);
IMPORT(STREAMS, "[resource-drop]output-stream") void output_stream_drop(int32_t handle);

/* Return areas: results that do not fit in one core value come back through memory. */
static int32_t ret_area[4] __attribute__((aligned(8)));
static uint8_t heap[4096] __attribute__((aligned(8)));
static uint32_t heap_used;
static uint32_t calls;
static char last[32];
static char out[96];

__attribute__((export_name("cabi_realloc")))
void *cabi_realloc(void *old, uint32_t old_size, uint32_t align, uint32_t new_size) {
  (void)old; (void)old_size;
  uint32_t at = (heap_used + align - 1) & ~(align - 1);
  if (at + new_size > sizeof heap) __builtin_trap();
  heap_used = at + new_size;
  return heap + at;
}

static uint32_t put_text(uint32_t n, const char *s) {
  while (*s && n < sizeof out) out[n++] = *s++;
  return n;
}

static uint32_t put_number(uint32_t n, uint32_t v) {
  char digits[10];
  int k = 0;
  do {
    digits[k++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  while (k && n < sizeof out) out[n++] = digits[--k];
  return n;
}

__attribute__((export_name("init"))) void init(void) {
  calls = 7;
  last[0] = 'I', last[1] = 'N', last[2] = 'I', last[3] = 'T', last[4] = 0;
}

__attribute__((export_name("init-trap"))) void init_trap(void) { __builtin_trap(); }

__attribute__((export_name("wasi:http/incoming-handler@0.2.12#handle")))
void handle(int32_t request, int32_t response_out) {
  incoming_request_drop(request);
  uint32_t n = put_text(0, "calls=");
  n = put_number(n, calls);
  n = put_text(n, " last=");
  n = put_text(n, last[0] ? last : "(none)");
  n = put_text(n, "\n");
  /* the secret this request leaves behind */
  uint32_t k = 0;
  for (const char *s = "SECRET-"; *s; s++) last[k++] = *s;
  uint32_t stamp = (uint32_t)(uintptr_t)&request ^ (calls * 2654435761u) ^ 0x5eed;
  for (int i = 0; i < 8; i++) last[k++] = "0123456789abcdef"[(stamp >> (28 - 4 * i)) & 15];
  last[k] = 0;
  calls++;
  int32_t response = outgoing_response_new(fields_new());
  outgoing_response_body(response, (int32_t)(uintptr_t)ret_area);
  if (ret_area[0] != 0) __builtin_trap();
  int32_t body = ret_area[1];
  outgoing_body_write(body, (int32_t)(uintptr_t)ret_area);
  if (ret_area[0] != 0) __builtin_trap();
  int32_t stream = ret_area[1];
  response_outparam_set(response_out, 0, response, 0, 0, 0, 0, 0, 0);
  blocking_write_and_flush(stream, (int32_t)(uintptr_t)out, (int32_t)n, (int32_t)(uintptr_t)ret_area);
  output_stream_drop(stream);
  outgoing_body_finish(body, 0, 0, (int32_t)(uintptr_t)ret_area);
}
