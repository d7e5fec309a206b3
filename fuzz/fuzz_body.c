/*
 * fuzz_body.c: libFuzzer target for the validator and interpreter on function
 * bodies, with the module around them fixed and valid.
 *
 * Most mutations of a whole module break its framing, so fuzz_run spends much
 * of its time in the decoder. Here the input is one function body and the
 * target wraps it in a fixed module, so nearly every input reaches the
 * validator's body checks and many reach the translator and interpreter.
 *
 * Input: byte 0 picks the function's type (mod 4), the rest is the body as in
 * the code section (local declarations, then instructions) without its final
 * `end`, which the target appends. The module around it (what the seeds in
 * fuzz/seeds/body/ declare in text form, index for index):
 *
 *   types   0: [] -> [i32]   1: [i32 i32] -> [i32]   2: [i64 f64] -> [i64]   3: [] -> []
 *   funcs   0: the fuzzed body (type from byte 0), exported as "f"
 *           1: type 1, returns the sum of its parameters, exported as "add"
 *   table   0: funcref, min 4, max 16; active element segment at 0: [1 0];
 *           passive element segment 1: [1]
 *   memory  0: min 1, max 4 pages; passive data segment 0: "wisp fuzz data!!"
 *   globals 0: mut i32 = 7; 1: mut f64 = 1.5; 2: i64 = 42
 *
 * The result runs through the same driver as fuzz_run (run_module.c). With
 * FUZZ_BODY_DUMP=FILE in the environment the wrapped module is also written to
 * FILE, so a reproducer can be looked at with wasm2wat or run with wisp run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run_module.h"

#define MAX_BODY 4096

typedef struct buf {
  uint8_t *p;
  size_t n;
} buf_t;

static void put(buf_t *b, const void *src, size_t n) {
  memcpy(b->p + b->n, src, n);
  b->n += n;
}

static void put_byte(buf_t *b, uint8_t v) { b->p[b->n++] = v; }

static void put_leb(buf_t *b, uint32_t v) {
  do {
    uint8_t byte = v & 0x7F;
    v >>= 7;
    put_byte(b, byte | (v ? 0x80 : 0));
  } while (v);
}

static void put_section(buf_t *b, uint8_t id, const uint8_t *content, size_t n) {
  put_byte(b, id);
  put_leb(b, (uint32_t)n);
  put(b, content, n);
}

#define SECTION(b, id, ...)                                 \
  do {                                                      \
    static const uint8_t content_[] = {__VA_ARGS__};        \
    put_section((b), (id), content_, sizeof content_);      \
  } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1 || size > MAX_BODY) return 0;
  uint8_t *module = malloc(size + 256);
  if (!module) abort();
  buf_t b = {module, 0};
  put(&b, "\0asm\1\0\0\0", 8);
  SECTION(&b, 1, 4,                                      /* type */
          0x60, 0, 1, 0x7F,                              /* [] -> [i32] */
          0x60, 2, 0x7F, 0x7F, 1, 0x7F,                  /* [i32 i32] -> [i32] */
          0x60, 2, 0x7E, 0x7C, 1, 0x7E,                  /* [i64 f64] -> [i64] */
          0x60, 0, 0);                                   /* [] -> [] */
  uint8_t funcs[] = {2, (uint8_t)(data[0] % 4), 1};
  put_section(&b, 3, funcs, sizeof funcs);               /* function */
  SECTION(&b, 4, 1, 0x70, 1, 4, 16);                     /* table: funcref 4..16 */
  SECTION(&b, 5, 1, 1, 1, 4);                            /* memory: 1..4 pages */
  SECTION(&b, 6, 3,                                      /* global */
          0x7F, 1, 0x41, 7, 0x0B,                        /* mut i32 = 7 */
          0x7C, 1, 0x44, 0, 0, 0, 0, 0, 0, 0xF8, 0x3F, 0x0B, /* mut f64 = 1.5 */
          0x7E, 0, 0x42, 42, 0x0B);                      /* i64 = 42 */
  SECTION(&b, 7, 2, 1, 'f', 0, 0, 3, 'a', 'd', 'd', 0, 1); /* export */
  SECTION(&b, 9, 2,                                      /* element */
          0, 0x41, 0, 0x0B, 2, 1, 0,                     /* active at 0: [1 0] */
          1, 0, 1, 1);                                   /* passive funcref: [1] */
  SECTION(&b, 12, 1);                                    /* data count */
  /* code: the fuzzed body, then func 1 */
  static const uint8_t add_body[] = {0, 0x20, 0, 0x20, 1, 0x6A, 0x0B};
  size_t body_len = size - 1 + 1; /* + end */
  buf_t code = {malloc(body_len + 32), 0};
  if (!code.p) abort();
  put_byte(&code, 2);
  put_leb(&code, (uint32_t)body_len);
  put(&code, data + 1, size - 1);
  put_byte(&code, 0x0B);
  put_leb(&code, sizeof add_body);
  put(&code, add_body, sizeof add_body);
  put_section(&b, 10, code.p, code.n);
  free(code.p);
  SECTION(&b, 11, 1, 1, 16, 'w', 'i', 's', 'p', ' ', 'f', 'u', 'z', 'z', ' ', 'd', 'a', 't', 'a', '!', '!');
  const char *dump = getenv("FUZZ_BODY_DUMP");
  if (dump) {
    FILE *f = fopen(dump, "wb");
    if (f) {
      fwrite(module, 1, b.n, f);
      fclose(f);
    }
  }
  fuzz_run_module(module, b.n);
  free(module);
  return 0;
}
