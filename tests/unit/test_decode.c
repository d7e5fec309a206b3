/*
 * test_decode.c: wisp__decode on small binaries built here byte by byte:
 * every section kind and encoding, the malformed classes the spec names
 * (with the error text and offset checked), the name section, custom
 * sections, and hostile inputs (every truncation and many corruptions of a
 * module that uses every section must fail cleanly, never read outside it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "module.h"
#include "opcodes.h"
#include "simd_ops.h"

static int passed, failed;

#define CHECK(cond)                                                       \
  do {                                                                    \
    if (cond) {                                                           \
      passed++;                                                           \
    } else {                                                              \
      failed++;                                                           \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
    }                                                                     \
  } while (0)

/* ---- building binaries ------------------------------------------------------ */

typedef struct buf {
  uint8_t b[1 << 16];
  size_t n;
} buf_t;

static void put(buf_t *b, const uint8_t *bytes, size_t n) {
  if (b->n + n > sizeof b->b) {
    fprintf(stderr, "test buffer overflow\n");
    exit(2);
  }
  memcpy(b->b + b->n, bytes, n);
  b->n += n;
}

static void put_u32(buf_t *b, uint32_t v) {
  do {
    uint8_t byte = v & 0x7F;
    v >>= 7;
    if (v) byte |= 0x80;
    put(b, &byte, 1);
  } while (v);
}

#define PUT(buf, ...) put((buf), (const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__}))

/* Appends section `id` with the given contents and the right size. */
static void put_section(buf_t *b, uint8_t id, const uint8_t *bytes, size_t n) {
  put(b, &id, 1);
  put_u32(b, (uint32_t)n);
  put(b, bytes, n);
}

#define SECTION(buf, id, ...) \
  put_section((buf), (id), (const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__}))

static void module_header(buf_t *b) {
  b->n = 0;
  PUT(b, 0x00, 0x61, 0x73, 0x6D, 0x01, 0x00, 0x00, 0x00);
}

/* ---- decoding ------------------------------------------------------------------ */

static wisp_engine_t *engine;

/* Sets up a module as module.c does and decodes it; the caller frees it
 * with free_module whatever the result. */
static struct wisp_module *decode_bytes(const uint8_t *bytes, size_t len, int *rc, wisp_error_t *err) {
  struct wisp_module *m = calloc(1, sizeof *m);
  if (!m) exit(2);
  m->engine = engine;
  wisp__arena_init(&m->arena);
  m->bytes = malloc(len ? len : 1);
  if (!m->bytes) exit(2);
  if (len) memcpy(m->bytes, bytes, len);
  m->len = len;
  memset(err, 0, sizeof *err);
  *rc = wisp__decode(m, err);
  return m;
}

static void free_module(struct wisp_module *m) {
  wisp__arena_free(&m->arena);
  free(m->bytes);
  free(m);
}

static struct wisp_module *decode_ok(const buf_t *b) {
  wisp_error_t err;
  int rc;
  struct wisp_module *m = decode_bytes(b->b, b->n, &rc, &err);
  if (rc != 0) fprintf(stderr, "  unexpected decode error %d: %s\n", rc, err.message);
  CHECK(rc == 0);
  return m;
}

/* Decoding fails with `code` and a message containing `text`. */
static void expect_error_at(int line, const buf_t *b, int code, const char *text) {
  wisp_error_t err;
  int rc;
  struct wisp_module *m = decode_bytes(b->b, b->n, &rc, &err);
  bool ok = rc == code && err.code == code && strstr(err.message, text) != NULL && err.offset <= b->n;
  if (!ok)
    fprintf(stderr, "  line %d: expected %d \"%s\", got %d \"%s\"\n", line, code, text, rc, err.message);
  CHECK(ok);
  free_module(m);
}

#define EXPECT_ERROR(b, code, text) expect_error_at(__LINE__, (b), (code), (text))
#define EXPECT_MALFORMED(b, text) expect_error_at(__LINE__, (b), WISP_ERR_MALFORMED, (text))
#define EXPECT_INVALID(b, text) expect_error_at(__LINE__, (b), WISP_ERR_INVALID, (text))

static void expect_message(const buf_t *b, const char *message, uint32_t offset) {
  wisp_error_t err;
  int rc;
  struct wisp_module *m = decode_bytes(b->b, b->n, &rc, &err);
  if (strcmp(err.message, message) != 0) fprintf(stderr, "  message \"%s\"\n  expected \"%s\"\n", err.message, message);
  CHECK(rc != 0 && strcmp(err.message, message) == 0 && err.offset == offset);
  free_module(m);
}

static bool str_eq(const char *s, uint32_t len, const char *want) {
  return s && len == strlen(want) && memcmp(s, want, len) == 0;
}

/* ---- header and section framing ------------------------------------------------ */

static void test_header(void) {
  buf_t b;
  struct wisp_module *m;
  module_header(&b);
  m = decode_ok(&b);
  CHECK(m->ntypes == 0 && m->nfuncs == 0 && m->nimports == 0 && m->ncustoms == 0 && !m->has_start);
  free_module(m);

  b.n = 0;
  EXPECT_MALFORMED(&b, "unexpected end");
  PUT(&b, 0x00, 0x61, 0x73);
  EXPECT_MALFORMED(&b, "unexpected end");
  b.n = 0;
  PUT(&b, 0x00, 0x61, 0x73, 0x6D);
  EXPECT_MALFORMED(&b, "unexpected end");
  PUT(&b, 0x01, 0x00, 0x00);
  EXPECT_MALFORMED(&b, "unexpected end");
  b.n = 0;
  PUT(&b, 0x00, 0x41, 0x53, 0x4D, 0x01, 0x00, 0x00, 0x00);
  EXPECT_MALFORMED(&b, "magic header not detected");
  b.n = 0;
  PUT(&b, 0xEF, 0xBB, 0xBF, 0x00, 0x61, 0x73, 0x6D, 0x01, 0x00, 0x00, 0x00);
  EXPECT_MALFORMED(&b, "magic header not detected");
  b.n = 0;
  PUT(&b, 0x00, 0x61, 0x73, 0x6D, 0x02, 0x00, 0x00, 0x00);
  EXPECT_MALFORMED(&b, "unknown binary version");
  b.n = 0;
  PUT(&b, 0x00, 0x61, 0x73, 0x6D, 0x00, 0x00, 0x00, 0x01);
  EXPECT_MALFORMED(&b, "unknown binary version");
}

static void test_sections(void) {
  buf_t b;
  module_header(&b);
  PUT(&b, 0x0D, 0x00);
  EXPECT_MALFORMED(&b, "malformed section id");
  module_header(&b);
  PUT(&b, 0x80, 0x00, 0x01, 0x00);
  EXPECT_MALFORMED(&b, "malformed section id");

  /* each known section at most once, in order */
  module_header(&b);
  SECTION(&b, WISP_SEC_TYPE, 0x00);
  SECTION(&b, WISP_SEC_TYPE, 0x00);
  EXPECT_MALFORMED(&b, "unexpected content after last section");
  module_header(&b);
  SECTION(&b, WISP_SEC_FUNCTION, 0x00);
  SECTION(&b, WISP_SEC_TYPE, 0x00);
  EXPECT_MALFORMED(&b, "unexpected content after last section");
  /* datacount goes between element and code, not after code */
  module_header(&b);
  SECTION(&b, WISP_SEC_ELEMENT, 0x00);
  SECTION(&b, WISP_SEC_DATACOUNT, 0x00);
  SECTION(&b, WISP_SEC_CODE, 0x00);
  SECTION(&b, WISP_SEC_DATA, 0x00);
  struct wisp_module *m = decode_ok(&b);
  CHECK(m->has_datacount && m->datacount == 0 && m->ndatas == 0);
  free_module(m);
  module_header(&b);
  SECTION(&b, WISP_SEC_CODE, 0x00);
  SECTION(&b, WISP_SEC_DATACOUNT, 0x00);
  EXPECT_MALFORMED(&b, "unexpected content after last section");
  module_header(&b);
  SECTION(&b, WISP_SEC_DATA, 0x00);
  SECTION(&b, WISP_SEC_DATACOUNT, 0x00);
  EXPECT_MALFORMED(&b, "unexpected content after last section");

  /* contents shorter than the size: left-over bytes */
  module_header(&b);
  SECTION(&b, WISP_SEC_TYPE, 0x01, 0x60, 0x00, 0x00, 0x00);
  EXPECT_MALFORMED(&b, "section size mismatch");
  /* contents longer than the size */
  module_header(&b);
  PUT(&b, WISP_SEC_TYPE, 0x03, 0x01, 0x60, 0x00, 0x00);
  EXPECT_MALFORMED(&b, "unexpected end of section or function");
  /* size past the end of the module */
  module_header(&b);
  PUT(&b, WISP_SEC_TYPE, 0x05, 0x01, 0x60, 0x00, 0x00);
  EXPECT_MALFORMED(&b, "length out of bounds");
  /* section size LEB128 forms */
  module_header(&b);
  PUT(&b, WISP_SEC_TYPE, 0x81, 0x80, 0x80, 0x80, 0x00, 0x00);
  m = decode_ok(&b);
  free_module(m);
  module_header(&b);
  PUT(&b, WISP_SEC_TYPE, 0x81, 0x80, 0x80, 0x80, 0x80, 0x00, 0x00);
  EXPECT_MALFORMED(&b, "integer representation too long");
  module_header(&b);
  PUT(&b, WISP_SEC_TYPE, 0x81, 0x80, 0x80, 0x80, 0x10, 0x00);
  EXPECT_MALFORMED(&b, "integer too large");
  module_header(&b);
  PUT(&b, WISP_SEC_TYPE, 0x81);
  EXPECT_MALFORMED(&b, "unexpected end");
}

/* ---- types, imports, exports, start ---------------------------------------------- */

static void test_types(void) {
  buf_t b;
  module_header(&b);
  SECTION(&b, WISP_SEC_TYPE, 0x04,
          0x60, 0x02, 0x7F, 0x7E, 0x01, 0x7D,       /* (i32 i64) -> f32 */
          0x60, 0x00, 0x00,                         /* () -> () */
          0x60, 0x02, 0x7F, 0x7E, 0x01, 0x7D,       /* same as 0 */
          0x60, 0x01, 0x7B, 0x03, 0x70, 0x6F, 0x7C); /* v128 -> funcref externref f64 */
  struct wisp_module *m = decode_ok(&b);
  CHECK(m->ntypes == 4);
  if (m->ntypes == 4) {
    CHECK(m->types[0].nparams == 2 && m->types[0].nresults == 1);
    CHECK(m->types[0].types[0] == WISP_I32 && m->types[0].types[1] == WISP_I64 && m->types[0].types[2] == WISP_F32);
    CHECK(m->types[1].nparams == 0 && m->types[1].nresults == 0);
    CHECK(m->types[3].nparams == 1 && m->types[3].nresults == 3 && m->types[3].types[3] == WISP_F64);
    /* canonical ids are assigned after validation (module.c), not by the decoder */
  }
  free_module(m);

  module_header(&b);
  SECTION(&b, WISP_SEC_TYPE, 0x01, 0x60, 0x01, 0x7A, 0x00);
  EXPECT_MALFORMED(&b, "malformed value type");
  module_header(&b);
  SECTION(&b, WISP_SEC_TYPE, 0x01, 0x61, 0x00, 0x00);
  EXPECT_MALFORMED(&b, "malformed function type form");
  module_header(&b);
  SECTION(&b, WISP_SEC_TYPE, 0x01, 0xE0, 0x00, 0x00);
  EXPECT_MALFORMED(&b, "integer representation too long");
  /* a count the section cannot hold */
  module_header(&b);
  SECTION(&b, WISP_SEC_TYPE, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x60, 0x00, 0x00);
  EXPECT_MALFORMED(&b, "unexpected end of section or function");
}

static void test_imports(void) {
  buf_t b;
  module_header(&b);
  SECTION(&b, WISP_SEC_TYPE, 0x01, 0x60, 0x00, 0x00);
  SECTION(&b, WISP_SEC_IMPORT, 0x04,
          0x01, 'm', 0x01, 'f', 0x00, 0x00,                  /* func type 0 */
          0x01, 'm', 0x01, 't', 0x01, 0x70, 0x01, 0x01, 0x02, /* table funcref 1..2 */
          0x01, 'm', 0x03, 'm', 'e', 'm', 0x02, 0x00, 0x01,  /* memory 1.. */
          0x02, 'm', '2', 0x00, 0x03, 0x7E, 0x01);           /* global mut i64, empty name */
  SECTION(&b, WISP_SEC_FUNCTION, 0x01, 0x00);
  SECTION(&b, WISP_SEC_CODE, 0x01, 0x02, 0x00, 0x0B);
  struct wisp_module *m = decode_ok(&b);
  CHECK(m->nimports == 4);
  CHECK(m->nfunc_imports == 1 && m->ntable_imports == 1 && m->nmemory_imports == 1 && m->nglobal_imports == 1);
  CHECK(m->nfuncs == 2 && m->ntables == 1 && m->nmemories == 1 && m->nglobals == 1);
  if (m->nimports == 4 && m->nfuncs == 2 && m->ntables == 1 && m->nmemories == 1 && m->nglobals == 1) {
    CHECK(str_eq(m->imports[0].module, m->imports[0].module_len, "m"));
    CHECK(str_eq(m->imports[2].name, m->imports[2].name_len, "mem"));
    CHECK(str_eq(m->imports[3].module, m->imports[3].module_len, "m2"));
    CHECK(m->imports[3].name_len == 0);
    CHECK(m->imports[0].kind == WISP_EXTERN_FUNC && m->funcs[0].type_index == 0);
    CHECK(m->tables[0].elem == WISP_FUNCREF && m->tables[0].limits.min == 1 && m->tables[0].limits.has_max &&
          m->tables[0].limits.max == 2);
    CHECK(m->memories[0].min == 1 && !m->memories[0].has_max);
    CHECK(m->globals[0].type.type == WISP_I64 && m->globals[0].type.mutable_);
    CHECK(m->funcs[1].body_end != 0);
  }
  free_module(m);

  /* the exact message: section, offset of the kind byte, what was found */
  module_header(&b);
  SECTION(&b, WISP_SEC_IMPORT, 0x01, 0x01, 'm', 0x01, 'f', 0x05, 0x00);
  expect_message(&b, "import section, offset 0xf: malformed import kind 0x05", 0xf);
  module_header(&b);
  SECTION(&b, WISP_SEC_IMPORT, 0x01, 0x01, 'm', 0x01, 'g', 0x03, 0x7F, 0x02);
  EXPECT_MALFORMED(&b, "malformed mutability");
  module_header(&b);
  SECTION(&b, WISP_SEC_IMPORT, 0x01, 0x01, 'm', 0x01, 't', 0x01, 0x7F, 0x00, 0x00);
  EXPECT_MALFORMED(&b, "malformed reference type");
  module_header(&b);
  SECTION(&b, WISP_SEC_IMPORT, 0x01, 0x01, 'm', 0x01, 'm', 0x02, 0x02, 0x00);
  EXPECT_MALFORMED(&b, "integer too large");
  module_header(&b);
  SECTION(&b, WISP_SEC_IMPORT, 0x01, 0x01, 'm', 0x01, 'm', 0x02, 0x81, 0x00);
  EXPECT_MALFORMED(&b, "integer representation too long");
  /* names: overlong form, lone continuation byte, surrogate, above U+10FFFF */
  module_header(&b);
  SECTION(&b, WISP_SEC_IMPORT, 0x01, 0x02, 0xC0, 0x80, 0x01, 'f', 0x00, 0x00);
  EXPECT_MALFORMED(&b, "malformed UTF-8 encoding");
  module_header(&b);
  SECTION(&b, WISP_SEC_IMPORT, 0x01, 0x01, 'm', 0x01, 0x80, 0x00, 0x00);
  EXPECT_MALFORMED(&b, "malformed UTF-8 encoding");
  module_header(&b);
  SECTION(&b, WISP_SEC_IMPORT, 0x01, 0x03, 0xED, 0xA0, 0x80, 0x01, 'f', 0x00, 0x00);
  EXPECT_MALFORMED(&b, "malformed UTF-8 encoding");
  module_header(&b);
  SECTION(&b, WISP_SEC_IMPORT, 0x01, 0x04, 0xF4, 0x90, 0x80, 0x80, 0x01, 'f', 0x00, 0x00);
  EXPECT_MALFORMED(&b, "malformed UTF-8 encoding");
  module_header(&b);
  SECTION(&b, WISP_SEC_IMPORT, 0x01, 0x02, 0xE2, 0x82, 0x01, 'f', 0x00, 0x00);
  EXPECT_MALFORMED(&b, "malformed UTF-8 encoding");
  /* a name longer than the section */
  module_header(&b);
  SECTION(&b, WISP_SEC_IMPORT, 0x01, 0x09, 'm', 0x01, 'f', 0x00, 0x00);
  EXPECT_MALFORMED(&b, "length out of bounds");
  /* valid multi-byte names: U+00E9, U+20AC, U+1F600, U+10FFFF */
  module_header(&b);
  SECTION(&b, WISP_SEC_TYPE, 0x01, 0x60, 0x00, 0x00);
  SECTION(&b, WISP_SEC_IMPORT, 0x01, 0x05, 0xC3, 0xA9, 0xE2, 0x82, 0xAC, 0x08, 0xF0, 0x9F, 0x98, 0x80, 0xF4, 0x8F,
          0xBF, 0xBF, 0x00, 0x00);
  m = decode_ok(&b);
  CHECK(m->nimports == 1 && m->imports[0].module_len == 5 && m->imports[0].name_len == 8);
  free_module(m);
}

static void test_exports_start(void) {
  buf_t b;
  module_header(&b);
  SECTION(&b, WISP_SEC_TYPE, 0x01, 0x60, 0x00, 0x00);
  SECTION(&b, WISP_SEC_FUNCTION, 0x01, 0x00);
  SECTION(&b, WISP_SEC_TABLE, 0x01, 0x6F, 0x00, 0x03);
  SECTION(&b, WISP_SEC_MEMORY, 0x01, 0x01, 0x01, 0x80, 0x80, 0x04); /* 1..65536 pages */
  SECTION(&b, WISP_SEC_GLOBAL, 0x01, 0x7F, 0x00, 0x41, 0x07, 0x0B);
  SECTION(&b, WISP_SEC_EXPORT, 0x04, 0x01, 'f', 0x00, 0x00, 0x01, 't', 0x01, 0x00, 0x02, 'm', 'm', 0x02, 0x00, 0x01,
          'g', 0x03, 0x00);
  SECTION(&b, WISP_SEC_START, 0x00);
  SECTION(&b, WISP_SEC_CODE, 0x01, 0x02, 0x00, 0x0B);
  struct wisp_module *m = decode_ok(&b);
  CHECK(m->nexports == 4 && m->has_start && m->start == 0);
  CHECK(m->ntables == 1 && m->tables[0].elem == WISP_EXTERNREF && m->tables[0].limits.min == 3);
  CHECK(m->nmemories == 1 && m->memories[0].min == 1 && m->memories[0].has_max && m->memories[0].max == 65536);
  if (m->nexports == 4) {
    CHECK(str_eq(m->exports[2].name, m->exports[2].name_len, "mm"));
    CHECK(m->exports[0].kind == WISP_EXTERN_FUNC && m->exports[1].kind == WISP_EXTERN_TABLE);
    CHECK(m->exports[2].kind == WISP_EXTERN_MEMORY && m->exports[3].kind == WISP_EXTERN_GLOBAL);
  }
  free_module(m);

  module_header(&b);
  SECTION(&b, WISP_SEC_EXPORT, 0x01, 0x01, 'f', 0x04, 0x00);
  EXPECT_MALFORMED(&b, "malformed export kind");
  module_header(&b);
  SECTION(&b, WISP_SEC_START, 0x00, 0x00);
  EXPECT_MALFORMED(&b, "section size mismatch");
  module_header(&b);
  SECTION(&b, WISP_SEC_START, 0x00);
  SECTION(&b, WISP_SEC_START, 0x00);
  EXPECT_MALFORMED(&b, "unexpected content after last section");
}

/* ---- constant expressions ---------------------------------------------------------- */

static void test_constexprs(void) {
  buf_t b;
  module_header(&b);
  SECTION(&b, WISP_SEC_IMPORT, 0x01, 0x01, 'm', 0x01, 'g', 0x03, 0x7D, 0x00); /* global 0: f32 */
  SECTION(&b, WISP_SEC_GLOBAL, 0x08,
          0x7F, 0x00, 0x41, 0x7F, 0x0B,                                           /* i32 -1 */
          0x7E, 0x00, 0x42, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7F, 0x0B, /* i64 min */
          0x7D, 0x00, 0x43, 0x00, 0x00, 0x80, 0x3F, 0x0B,                         /* f32 1.0 */
          0x7C, 0x01, 0x44, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xF0, 0x3F, 0x0B, /* mut f64 1.0 */
          0x7B, 0x00, 0xFD, 0x0C, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 0x0B,
          0x6F, 0x00, 0xD0, 0x6F, 0x0B,                                           /* ref.null extern */
          0x70, 0x00, 0xD2, 0x05, 0x0B,                                           /* ref.func 5 */
          0x7D, 0x00, 0x23, 0x00, 0x0B);                                          /* global.get 0 */
  struct wisp_module *m = decode_ok(&b);
  CHECK(m->nglobals == 9 && m->nglobal_imports == 1);
  if (m->nglobals == 9) {
    wisp__global_t *g = m->globals;
    CHECK(g[1].init.op == WISP_OP_I32_CONST && g[1].init.type == WISP_I32 && g[1].init.u.i32 == -1);
    CHECK(g[2].init.op == WISP_OP_I64_CONST && g[2].init.u.i64 == INT64_MIN);
    CHECK(g[3].init.op == WISP_OP_F32_CONST && g[3].init.u.f32_bits == 0x3F800000u);
    CHECK(g[4].type.mutable_ && g[4].type.type == WISP_F64);
    CHECK(g[4].init.op == WISP_OP_F64_CONST && g[4].init.u.f64_bits == 0x3FF0000000000000ull);
    CHECK(g[5].init.op == WISP_OP_V128_CONST && g[5].init.type == WISP_V128);
    CHECK(g[5].init.u.v128[0] == 0 && g[5].init.u.v128[15] == 15);
    CHECK(g[6].init.op == WISP_OP_REF_NULL && g[6].init.type == WISP_EXTERNREF);
    CHECK(g[7].init.op == WISP_OP_REF_FUNC && g[7].init.type == WISP_FUNCREF && g[7].init.u.index == 5);
    CHECK(g[8].init.op == WISP_OP_GLOBAL_GET && g[8].init.u.index == 0 && g[8].init.type == WISP_F32);
    /* header 8, import section 10, then id, size, count, valtype, mutability */
    CHECK(g[1].init.offset == 23);
  }
  free_module(m);

  /* empty, two values, non-constant, truncated, unknown opcode */
  module_header(&b);
  SECTION(&b, WISP_SEC_GLOBAL, 0x01, 0x7F, 0x00, 0x0B);
  EXPECT_INVALID(&b, "type mismatch");
  module_header(&b);
  SECTION(&b, WISP_SEC_GLOBAL, 0x01, 0x7F, 0x00, 0x41, 0x00, 0x41, 0x01, 0x0B);
  EXPECT_INVALID(&b, "type mismatch");
  module_header(&b);
  SECTION(&b, WISP_SEC_GLOBAL, 0x01, 0x7F, 0x00, 0x01, 0x0B);
  EXPECT_INVALID(&b, "constant expression required");
  module_header(&b);
  SECTION(&b, WISP_SEC_GLOBAL, 0x01, 0x7F, 0x00, 0x41, 0x00, 0x68, 0x0B); /* i32.ctz */
  EXPECT_INVALID(&b, "constant expression required");
  module_header(&b);
  SECTION(&b, WISP_SEC_GLOBAL, 0x01, 0x7F, 0x00, 0x20, 0x00, 0x0B); /* local.get */
  EXPECT_INVALID(&b, "constant expression required");
  module_header(&b);
  SECTION(&b, WISP_SEC_GLOBAL, 0x01, 0x7B, 0x00, 0xFD, 0x0F, 0x41, 0x00, 0x0B); /* i8x16.splat */
  EXPECT_INVALID(&b, "constant expression required");
  module_header(&b);
  SECTION(&b, WISP_SEC_GLOBAL, 0x01, 0x7F, 0x00, 0x41, 0x00);
  EXPECT_MALFORMED(&b, "unexpected end");
  module_header(&b);
  SECTION(&b, WISP_SEC_GLOBAL, 0x01, 0x7C, 0x00, 0x44, 0x00, 0x00, 0x0B);
  EXPECT_MALFORMED(&b, "unexpected end");
  module_header(&b);
  SECTION(&b, WISP_SEC_GLOBAL, 0x01, 0x7F, 0x00, 0x06, 0x0B);
  EXPECT_MALFORMED(&b, "illegal opcode");
  module_header(&b);
  SECTION(&b, WISP_SEC_GLOBAL, 0x01, 0x6F, 0x00, 0xD0, 0x7F, 0x0B);
  EXPECT_MALFORMED(&b, "malformed reference type");
  module_header(&b);
  SECTION(&b, WISP_SEC_GLOBAL, 0x01, 0x7F, 0x00, 0x41, 0x80, 0x80, 0x80, 0x80, 0x10, 0x0B);
  EXPECT_MALFORMED(&b, "integer too large");
  module_header(&b);
  SECTION(&b, WISP_SEC_GLOBAL, 0x01, 0x7F, 0x02, 0x41, 0x00, 0x0B);
  EXPECT_MALFORMED(&b, "malformed mutability");
  module_header(&b);
  SECTION(&b, WISP_SEC_GLOBAL, 0x01, 0x40, 0x00, 0x41, 0x00, 0x0B);
  EXPECT_MALFORMED(&b, "malformed value type");
}

/* ---- functions and code -------------------------------------------------------------- */

static void test_code(void) {
  buf_t b;
  module_header(&b);
  SECTION(&b, WISP_SEC_TYPE, 0x01, 0x60, 0x00, 0x00);
  SECTION(&b, WISP_SEC_FUNCTION, 0x02, 0x00, 0x00);
  SECTION(&b, WISP_SEC_CODE, 0x02,
          0x07, 0x02, 0x03, 0x7F, 0x02, 0x7C, 0x01, 0x0B, /* 3 i32, 2 f64; nop end */
          0x02, 0x00, 0x0B);
  struct wisp_module *m = decode_ok(&b);
  CHECK(m->nfuncs == 2);
  if (m->nfuncs == 2) {
    wisp__func_t *f = &m->funcs[0];
    CHECK(f->nlocals == 5 && f->nlocalruns == 2);
    CHECK(f->nlocalruns == 2 && f->localruns[0].count == 3 && f->localruns[0].type == WISP_I32 &&
          f->localruns[1].count == 2 && f->localruns[1].type == WISP_F64);
    /* header 8, type section 6, function section 5, code id+size+count 3 */
    CHECK(f->entry_offset == 22);
    CHECK(f->body_start == 28 && f->body_end == 30);
    CHECK(m->bytes[f->body_start] == 0x01 && m->bytes[f->body_end - 1] == 0x0B);
    CHECK(m->funcs[1].nlocals == 0 && m->funcs[1].body_start == 32 && m->funcs[1].body_end == 33);
  }
  free_module(m);

  /* function and code counts must agree, both ways and when one is missing */
  module_header(&b);
  SECTION(&b, WISP_SEC_TYPE, 0x01, 0x60, 0x00, 0x00);
  SECTION(&b, WISP_SEC_FUNCTION, 0x02, 0x00, 0x00);
  SECTION(&b, WISP_SEC_CODE, 0x01, 0x02, 0x00, 0x0B);
  EXPECT_MALFORMED(&b, "function and code section have inconsistent lengths");
  module_header(&b);
  SECTION(&b, WISP_SEC_TYPE, 0x01, 0x60, 0x00, 0x00);
  SECTION(&b, WISP_SEC_FUNCTION, 0x01, 0x00);
  EXPECT_MALFORMED(&b, "function and code section have inconsistent lengths");
  module_header(&b);
  SECTION(&b, WISP_SEC_TYPE, 0x01, 0x60, 0x00, 0x00);
  SECTION(&b, WISP_SEC_CODE, 0x01, 0x02, 0x00, 0x0B);
  EXPECT_MALFORMED(&b, "function and code section have inconsistent lengths");
  /* empty function and code sections are fine */
  module_header(&b);
  SECTION(&b, WISP_SEC_FUNCTION, 0x00);
  SECTION(&b, WISP_SEC_CODE, 0x00);
  m = decode_ok(&b);
  free_module(m);

  /* too many locals: the spec's 2^32 + 1 case, and above the cap */
  module_header(&b);
  SECTION(&b, WISP_SEC_TYPE, 0x01, 0x60, 0x00, 0x00);
  SECTION(&b, WISP_SEC_FUNCTION, 0x01, 0x00);
  SECTION(&b, WISP_SEC_CODE, 0x01, 0x0A, 0x02, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x7F, 0x02, 0x7E, 0x0B);
  EXPECT_MALFORMED(&b, "code section, function 0, offset 0x");
  EXPECT_MALFORMED(&b, "too many locals");
  module_header(&b);
  SECTION(&b, WISP_SEC_TYPE, 0x01, 0x60, 0x00, 0x00);
  SECTION(&b, WISP_SEC_FUNCTION, 0x01, 0x00);
  SECTION(&b, WISP_SEC_CODE, 0x01, 0x08, 0x02, 0xD0, 0x86, 0x03, 0x7F, 0x01, 0x7E, 0x0B); /* 50000 + 1 */
  EXPECT_MALFORMED(&b, "too many locals");
  module_header(&b);
  SECTION(&b, WISP_SEC_TYPE, 0x01, 0x60, 0x00, 0x00);
  SECTION(&b, WISP_SEC_FUNCTION, 0x01, 0x00);
  SECTION(&b, WISP_SEC_CODE, 0x01, 0x06, 0x01, 0xD0, 0x86, 0x03, 0x7F, 0x0B); /* 50000 */
  m = decode_ok(&b);
  CHECK(m->nfuncs == 1 && m->funcs[0].nlocals == 50000);
  free_module(m);

  /* the function index in messages counts imported functions */
  module_header(&b);
  SECTION(&b, WISP_SEC_TYPE, 0x01, 0x60, 0x00, 0x00);
  SECTION(&b, WISP_SEC_IMPORT, 0x01, 0x01, 'm', 0x01, 'f', 0x00, 0x00);
  SECTION(&b, WISP_SEC_FUNCTION, 0x02, 0x00, 0x00);
  SECTION(&b, WISP_SEC_CODE, 0x02, 0x02, 0x00, 0x0B, 0x04, 0x01, 0x01, 0x40, 0x0B);
  EXPECT_MALFORMED(&b, "code section, function 2, offset 0x");
  EXPECT_MALFORMED(&b, "malformed value type");

  /* body framing: larger than the section, empty, not ending in `end` */
  module_header(&b);
  SECTION(&b, WISP_SEC_TYPE, 0x01, 0x60, 0x00, 0x00);
  SECTION(&b, WISP_SEC_FUNCTION, 0x01, 0x00);
  SECTION(&b, WISP_SEC_CODE, 0x01, 0x05, 0x00, 0x0B);
  EXPECT_MALFORMED(&b, "unexpected end of section or function");
  module_header(&b);
  SECTION(&b, WISP_SEC_TYPE, 0x01, 0x60, 0x00, 0x00);
  SECTION(&b, WISP_SEC_FUNCTION, 0x01, 0x00);
  SECTION(&b, WISP_SEC_CODE, 0x01, 0x01, 0x00);
  EXPECT_MALFORMED(&b, "unexpected end of section or function");
  module_header(&b);
  SECTION(&b, WISP_SEC_TYPE, 0x01, 0x60, 0x00, 0x00);
  SECTION(&b, WISP_SEC_FUNCTION, 0x01, 0x00);
  SECTION(&b, WISP_SEC_CODE, 0x01, 0x02, 0x00, 0x01);
  EXPECT_MALFORMED(&b, "END opcode expected");
  /* locals declared past the end of the entry */
  module_header(&b);
  SECTION(&b, WISP_SEC_TYPE, 0x01, 0x60, 0x00, 0x00);
  SECTION(&b, WISP_SEC_FUNCTION, 0x01, 0x00);
  SECTION(&b, WISP_SEC_CODE, 0x01, 0x02, 0x01, 0x01, 0x7F, 0x0B);
  EXPECT_MALFORMED(&b, "unexpected end of section or function");
}

/* ---- tables, memories ------------------------------------------------------------------ */

static void test_limits(void) {
  buf_t b;
  module_header(&b);
  SECTION(&b, WISP_SEC_TABLE, 0x02, 0x70, 0x00, 0x00, 0x6F, 0x01, 0x02, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F);
  SECTION(&b, WISP_SEC_MEMORY, 0x01, 0x00, 0x82, 0x80, 0x80, 0x80, 0x00); /* non-minimal 2 */
  struct wisp_module *m = decode_ok(&b);
  CHECK(m->ntables == 2 && m->nmemories == 1);
  if (m->ntables == 2 && m->nmemories == 1) {
    CHECK(m->tables[0].elem == WISP_FUNCREF && !m->tables[0].limits.has_max);
    CHECK(m->tables[1].elem == WISP_EXTERNREF && m->tables[1].limits.min == 2 &&
          m->tables[1].limits.max == UINT32_MAX);
    CHECK(m->memories[0].min == 2 && !m->memories[0].has_max);
  }
  free_module(m);

  module_header(&b);
  SECTION(&b, WISP_SEC_MEMORY, 0x01, 0x00, 0x82, 0x80, 0x80, 0x80, 0x80, 0x00);
  EXPECT_MALFORMED(&b, "integer representation too long");
  module_header(&b);
  SECTION(&b, WISP_SEC_MEMORY, 0x01, 0x00, 0x82, 0x80, 0x80, 0x80, 0x70);
  EXPECT_MALFORMED(&b, "integer too large");
  module_header(&b);
  SECTION(&b, WISP_SEC_MEMORY, 0x01, 0x01, 0x00);
  EXPECT_MALFORMED(&b, "unexpected end of section or function");
  module_header(&b);
  SECTION(&b, WISP_SEC_TABLE, 0x01, 0x7B, 0x00, 0x00);
  EXPECT_MALFORMED(&b, "malformed reference type");
  module_header(&b);
  SECTION(&b, WISP_SEC_TABLE, 0x01, 0x70, 0x02, 0x00);
  EXPECT_MALFORMED(&b, "integer too large");
}

/* ---- element and data segments --------------------------------------------------------- */

/* type, function, table and code sections around an element section */
static void elem_module(buf_t *b, const uint8_t *elem, size_t n) {
  module_header(b);
  SECTION(b, WISP_SEC_TYPE, 0x01, 0x60, 0x00, 0x00);
  SECTION(b, WISP_SEC_FUNCTION, 0x01, 0x00);
  SECTION(b, WISP_SEC_TABLE, 0x01, 0x70, 0x00, 0x0A);
  put_section(b, WISP_SEC_ELEMENT, elem, n);
  SECTION(b, WISP_SEC_CODE, 0x01, 0x02, 0x00, 0x0B);
}

#define ELEM_MODULE(b, ...) \
  elem_module((b), (const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__}))

static void test_elems(void) {
  buf_t b;
  ELEM_MODULE(&b, 0x08,
              0x00, 0x41, 0x01, 0x0B, 0x01, 0x00,                         /* active, funcs */
              0x01, 0x00, 0x01, 0x00,                                     /* passive, funcs */
              0x02, 0x00, 0x41, 0x02, 0x0B, 0x00, 0x02, 0x00, 0x00,       /* active table 0, funcs */
              0x03, 0x00, 0x01, 0x00,                                     /* declarative, funcs */
              0x04, 0x41, 0x03, 0x0B, 0x02, 0xD2, 0x00, 0x0B, 0xD0, 0x70, 0x0B, /* active, exprs */
              0x05, 0x6F, 0x01, 0xD0, 0x6F, 0x0B,                         /* passive externref */
              0x06, 0x00, 0x41, 0x04, 0x0B, 0x70, 0x01, 0xD2, 0x00, 0x0B, /* active table 0, exprs */
              0x07, 0x70, 0x01, 0xD2, 0x00, 0x0B);                        /* declarative, exprs */
  struct wisp_module *m = decode_ok(&b);
  CHECK(m->nelems == 8);
  if (m->nelems == 8) {
    wisp__elem_t *e = m->elems;
    CHECK(e[0].mode == WISP_SEG_ACTIVE && e[0].table == 0 && e[0].offset.u.i32 == 1 && e[0].count == 1);
    CHECK(e[0].type == WISP_FUNCREF && e[0].items[0].op == WISP_OP_REF_FUNC && e[0].items[0].u.index == 0);
    CHECK(e[1].mode == WISP_SEG_PASSIVE && e[1].count == 1 && e[1].type == WISP_FUNCREF);
    CHECK(e[2].mode == WISP_SEG_ACTIVE && e[2].offset.u.i32 == 2 && e[2].count == 2);
    CHECK(e[3].mode == WISP_SEG_DECLARATIVE && e[3].count == 1);
    CHECK(e[4].mode == WISP_SEG_ACTIVE && e[4].offset.u.i32 == 3 && e[4].count == 2);
    CHECK(e[4].items[0].op == WISP_OP_REF_FUNC && e[4].items[1].op == WISP_OP_REF_NULL &&
          e[4].items[1].type == WISP_FUNCREF);
    CHECK(e[5].mode == WISP_SEG_PASSIVE && e[5].type == WISP_EXTERNREF && e[5].items[0].type == WISP_EXTERNREF);
    CHECK(e[6].mode == WISP_SEG_ACTIVE && e[6].offset.u.i32 == 4 && e[6].type == WISP_FUNCREF);
    CHECK(e[7].mode == WISP_SEG_DECLARATIVE && e[7].count == 1 && e[7].items[0].u.index == 0);
    CHECK(e[1].section_offset > e[0].section_offset && m->bytes[e[1].section_offset] == 0x01);
  }
  free_module(m);

  /* table index with a non-minimal encoding */
  ELEM_MODULE(&b, 0x01, 0x02, 0x80, 0x00, 0x41, 0x00, 0x0B, 0x00, 0x00);
  m = decode_ok(&b);
  CHECK(m->nelems == 1 && m->elems[0].count == 0);
  free_module(m);

  ELEM_MODULE(&b, 0x01, 0x08, 0x00);
  EXPECT_MALFORMED(&b, "malformed elements segment kind");
  ELEM_MODULE(&b, 0x01, 0x01, 0x01, 0x00);
  EXPECT_MALFORMED(&b, "malformed element kind");
  ELEM_MODULE(&b, 0x01, 0x05, 0x7F, 0x00);
  EXPECT_MALFORMED(&b, "malformed reference type");
  ELEM_MODULE(&b, 0x01, 0x00, 0x41, 0x00, 0x0B, 0x02, 0x00);
  EXPECT_MALFORMED(&b, "unexpected end of section or function");
  ELEM_MODULE(&b, 0x01, 0x05, 0x70, 0x01, 0x41, 0x00, 0x41, 0x00, 0x0B);
  EXPECT_INVALID(&b, "type mismatch");
  ELEM_MODULE(&b, 0x01, 0x00, 0x10, 0x00, 0x0B, 0x00);
  EXPECT_INVALID(&b, "constant expression required");
}

static void test_datas(void) {
  buf_t b;
  module_header(&b);
  SECTION(&b, WISP_SEC_MEMORY, 0x01, 0x00, 0x01);
  SECTION(&b, WISP_SEC_DATACOUNT, 0x03);
  SECTION(&b, WISP_SEC_DATA, 0x03,
          0x00, 0x41, 0x10, 0x0B, 0x03, 'a', 'b', 'c',
          0x01, 0x02, 'x', 'y',
          0x02, 0x00, 0x41, 0x20, 0x0B, 0x01, 'z');
  struct wisp_module *m = decode_ok(&b);
  CHECK(m->ndatas == 3 && m->has_datacount && m->datacount == 3);
  if (m->ndatas == 3) {
    wisp__data_t *s = m->datas;
    CHECK(s[0].mode == WISP_SEG_ACTIVE && s[0].memory == 0 && s[0].offset.u.i32 == 16);
    CHECK(s[0].len == 3 && memcmp(s[0].bytes, "abc", 3) == 0);
    CHECK(s[1].mode == WISP_SEG_PASSIVE && s[1].len == 2 && memcmp(s[1].bytes, "xy", 2) == 0);
    CHECK(s[2].mode == WISP_SEG_ACTIVE && s[2].offset.u.i32 == 32 && s[2].len == 1 && s[2].bytes[0] == 'z');
    CHECK(s[0].bytes >= m->bytes && s[2].bytes + 1 == m->bytes + m->len);
  }
  free_module(m);

  module_header(&b);
  SECTION(&b, WISP_SEC_MEMORY, 0x01, 0x00, 0x01);
  SECTION(&b, WISP_SEC_DATACOUNT, 0x02);
  SECTION(&b, WISP_SEC_DATA, 0x01, 0x01, 0x00);
  EXPECT_MALFORMED(&b, "data count and data section have inconsistent lengths");
  module_header(&b);
  SECTION(&b, WISP_SEC_DATACOUNT, 0x01);
  EXPECT_MALFORMED(&b, "data count and data section have inconsistent lengths");
  module_header(&b);
  SECTION(&b, WISP_SEC_DATA, 0x01, 0x03, 0x00);
  EXPECT_MALFORMED(&b, "malformed data segment kind");
  module_header(&b);
  SECTION(&b, WISP_SEC_DATA, 0x01, 0x01, 0x05, 'a', 'b');
  EXPECT_MALFORMED(&b, "unexpected end of section or function");
  /* data segment flags with a non-minimal encoding */
  module_header(&b);
  SECTION(&b, WISP_SEC_MEMORY, 0x01, 0x00, 0x00);
  SECTION(&b, WISP_SEC_DATA, 0x01, 0x82, 0x00, 0x80, 0x00, 0x41, 0x00, 0x0B, 0x00);
  m = decode_ok(&b);
  CHECK(m->ndatas == 1 && m->datas[0].mode == WISP_SEG_ACTIVE && m->datas[0].len == 0);
  free_module(m);
}

/* ---- custom sections and names ----------------------------------------------------------- */

static void test_customs(void) {
  buf_t b;
  module_header(&b);
  SECTION(&b, WISP_SEC_CUSTOM, 0x01, 'a', 0x11, 0x22);
  SECTION(&b, WISP_SEC_TYPE, 0x00);
  SECTION(&b, WISP_SEC_CUSTOM, 0x00);
  SECTION(&b, WISP_SEC_CUSTOM, 0x03, 'x', 'y', 'z');
  SECTION(&b, WISP_SEC_DATACOUNT, 0x00);
  SECTION(&b, WISP_SEC_CUSTOM, 0x01, 'd', 0xFF);
  SECTION(&b, WISP_SEC_DATA, 0x00);
  SECTION(&b, WISP_SEC_CUSTOM, 0x01, 'e');
  struct wisp_module *m = decode_ok(&b);
  CHECK(m->ncustoms == 5);
  if (m->ncustoms == 5) {
    wisp__custom_t *c = m->customs;
    CHECK(str_eq(c[0].name, c[0].name_len, "a") && c[0].len == 2 && c[0].data[1] == 0x22 && c[0].after_section == 0);
    CHECK(c[1].name_len == 0 && c[1].len == 0 && c[1].after_section == WISP_SEC_TYPE);
    CHECK(str_eq(c[2].name, c[2].name_len, "xyz") && c[2].len == 0 && c[2].after_section == WISP_SEC_TYPE);
    CHECK(c[3].len == 1 && c[3].data[0] == 0xFF && c[3].after_section == WISP_SEC_DATACOUNT);
    CHECK(str_eq(c[4].name, c[4].name_len, "e") && c[4].after_section == WISP_SEC_DATA);
  }
  free_module(m);

  module_header(&b);
  SECTION(&b, WISP_SEC_CUSTOM, 0x02, 0xC0, 0x80);
  EXPECT_MALFORMED(&b, "malformed UTF-8 encoding");
  module_header(&b);
  SECTION(&b, WISP_SEC_CUSTOM, 0x05, 'a');
  EXPECT_MALFORMED(&b, "length out of bounds");
  module_header(&b);
  PUT(&b, WISP_SEC_CUSTOM, 0x00);
  EXPECT_MALFORMED(&b, "unexpected end");
  /* a custom section does not end the section order */
  module_header(&b);
  SECTION(&b, WISP_SEC_DATA, 0x00);
  SECTION(&b, WISP_SEC_CUSTOM, 0x01, 'z');
  SECTION(&b, WISP_SEC_TYPE, 0x00);
  EXPECT_MALFORMED(&b, "unexpected content after last section");
}

/* one imported and two defined functions, then a name section with `names` */
static void name_module(buf_t *b, const uint8_t *names, size_t n) {
  buf_t section = {.n = 0};
  module_header(b);
  SECTION(b, WISP_SEC_TYPE, 0x01, 0x60, 0x00, 0x00);
  SECTION(b, WISP_SEC_IMPORT, 0x01, 0x01, 'm', 0x01, 'f', 0x00, 0x00);
  SECTION(b, WISP_SEC_FUNCTION, 0x02, 0x00, 0x00);
  SECTION(b, WISP_SEC_CODE, 0x02, 0x02, 0x00, 0x0B, 0x02, 0x00, 0x0B);
  PUT(&section, 0x04, 'n', 'a', 'm', 'e');
  put(&section, names, n);
  put_section(b, WISP_SEC_CUSTOM, section.b, section.n);
}

#define NAME_MODULE(b, ...) \
  name_module((b), (const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__}))

static void test_names(void) {
  buf_t b;
  NAME_MODULE(&b,
              0x00, 0x04, 0x03, 'm', 'o', 'd',                            /* module name */
              0x01, 0x0F, 0x03, 0x00, 0x03, 'i', 'm', 'p', 0x02, 0x03, 's', /* function names */
              'e', 'c', 0x07, 0x02, 'z', 'z',                             /* index 7: ignored */
              0x02, 0x01, 0x00);                                          /* local names: skipped */
  struct wisp_module *m = decode_ok(&b);
  CHECK(m->func_names != NULL && m->nfuncs == 3);
  if (m->func_names && m->nfuncs == 3) {
    CHECK(m->func_names[0] && strcmp(m->func_names[0], "imp") == 0);
    CHECK(m->func_names[1] == NULL);
    CHECK(m->func_names[2] && strcmp(m->func_names[2], "sec") == 0);
  }
  CHECK(m->ncustoms == 1);
  free_module(m);

  /* malformed name sections leave the module valid and the names absent */
  NAME_MODULE(&b, 0x01, 0x04, 0x01, 0x00, 0x03, 'a');       /* name runs past the subsection */
  m = decode_ok(&b);
  CHECK(m->func_names == NULL && m->ncustoms == 1);
  free_module(m);
  NAME_MODULE(&b, 0x01, 0x40, 0x01, 0x00, 0x01, 'a');       /* subsection past the section */
  m = decode_ok(&b);
  CHECK(m->func_names == NULL);
  free_module(m);
  NAME_MODULE(&b, 0x01, 0x05, 0x01, 0x00, 0x02, 0xC0, 0x80); /* bad UTF-8 */
  m = decode_ok(&b);
  CHECK(m->func_names == NULL);
  free_module(m);
  NAME_MODULE(&b, 0x01, 0x05, 0x01, 0x00, 0x01, 'a', 0x00);  /* trailing byte */
  m = decode_ok(&b);
  CHECK(m->func_names == NULL);
  free_module(m);
  NAME_MODULE(&b, 0x01, 0x80);                               /* truncated size */
  m = decode_ok(&b);
  CHECK(m->func_names == NULL);
  free_module(m);
  NAME_MODULE(&b, 0x00, 0x02, 0x01, 'm');                    /* no function names */
  m = decode_ok(&b);
  CHECK(m->func_names == NULL);
  free_module(m);
}

/* ---- hostile input ---------------------------------------------------------------------- */

/* A module using every section kind. */
static void full_module(buf_t *b) {
  module_header(b);
  SECTION(b, WISP_SEC_CUSTOM, 0x01, 'c', 0x00);
  SECTION(b, WISP_SEC_TYPE, 0x02, 0x60, 0x01, 0x7F, 0x01, 0x7E, 0x60, 0x00, 0x00);
  SECTION(b, WISP_SEC_IMPORT, 0x02, 0x01, 'm', 0x01, 'f', 0x00, 0x01, 0x01, 'm', 0x01, 'g', 0x03, 0x7F, 0x00);
  SECTION(b, WISP_SEC_FUNCTION, 0x02, 0x00, 0x01);
  SECTION(b, WISP_SEC_TABLE, 0x01, 0x70, 0x01, 0x02, 0x10);
  SECTION(b, WISP_SEC_MEMORY, 0x01, 0x01, 0x01, 0x02);
  SECTION(b, WISP_SEC_GLOBAL, 0x02, 0x7E, 0x01, 0x42, 0x7F, 0x0B, 0x7F, 0x00, 0x23, 0x00, 0x0B);
  SECTION(b, WISP_SEC_EXPORT, 0x02, 0x01, 'a', 0x00, 0x01, 0x01, 'b', 0x02, 0x00);
  SECTION(b, WISP_SEC_START, 0x02);
  SECTION(b, WISP_SEC_ELEMENT, 0x02, 0x00, 0x41, 0x00, 0x0B, 0x02, 0x01, 0x02, 0x05, 0x70, 0x01, 0xD2, 0x00, 0x0B);
  SECTION(b, WISP_SEC_DATACOUNT, 0x02);
  SECTION(b, WISP_SEC_CODE, 0x02, 0x06, 0x01, 0x01, 0x7E, 0x20, 0x00, 0x0B, 0x02, 0x00, 0x0B);
  SECTION(b, WISP_SEC_DATA, 0x02, 0x00, 0x41, 0x08, 0x0B, 0x02, 'h', 'i', 0x01, 0x01, '!');
  SECTION(b, WISP_SEC_CUSTOM, 0x04, 'n', 'a', 'm', 'e', 0x01, 0x04, 0x01, 0x02, 0x01, 'g');
}

static void test_hostile(void) {
  buf_t full, b;
  full_module(&full);
  struct wisp_module *m = decode_ok(&full);
  CHECK(m->nfuncs == 3 && m->nglobals == 3 && m->nelems == 2 && m->ndatas == 2 && m->ncustoms == 2);
  CHECK(m->func_names && m->func_names[2] && strcmp(m->func_names[2], "g") == 0);
  CHECK(m->globals[2].init.type == WISP_I32); /* global.get of the imported i32 */
  free_module(m);

  /* every truncation either decodes (it ends on a section boundary) or fails
   * with a message and an offset inside the module */
  int bad = 0;
  for (size_t len = 0; len < full.n; len++) {
    wisp_error_t err;
    int rc;
    m = decode_bytes(full.b, len, &rc, &err);
    if (rc != 0 && (err.message[0] == '\0' || err.offset > len || rc != err.code)) bad++;
    /* the function section without the code section cannot decode */
    if (rc == 0 && m->nfuncs > m->nfunc_imports && m->funcs[m->nfunc_imports].body_end == 0) bad++;
    free_module(m);
  }
  CHECK(bad == 0);

  /* every byte replaced by a few interesting values: no crash, sane errors */
  static const uint8_t values[] = {0x00, 0x01, 0x0B, 0x40, 0x7F, 0x80, 0xFF};
  bad = 0;
  for (size_t i = 0; i < full.n; i++) {
    for (size_t v = 0; v < sizeof values; v++) {
      b = full;
      b.b[i] = values[v];
      wisp_error_t err;
      int rc;
      m = decode_bytes(b.b, b.n, &rc, &err);
      if (rc != 0 && (err.message[0] == '\0' || err.offset > b.n || rc != err.code)) bad++;
      free_module(m);
    }
  }
  CHECK(bad == 0);
}

int main(void) {
  engine = wisp_engine_new();
  if (!engine) return 2;
  test_header();
  test_sections();
  test_types();
  test_imports();
  test_exports_start();
  test_constexprs();
  test_code();
  test_limits();
  test_elems();
  test_datas();
  test_customs();
  test_names();
  test_hostile();
  wisp_engine_delete(engine);
  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
