/*
 * test_validate.c: the validator (src/core/validate.c) on small hand-written
 * binaries: every error class with its message text, malformed-before-invalid
 * ordering, operand stack heights (max_stack), polymorphic stacks after
 * unreachable/br/return, and SIMD detection.
 *
 * Modules are written in a compact hex notation (see build()): sections are
 * "ID: bytes" separated by '|', and "{ ... }" is replaced by its contents
 * prefixed with their LEB128 length, which is how sections, code entries and
 * names are sized.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "module.h"
#include "opcodes.h"
#include "simd_ops.h"

static int passed, failed;

#define CHECK(cond, ...)                                         \
  do {                                                           \
    if (cond) {                                                  \
      passed++;                                                  \
    } else {                                                     \
      failed++;                                                  \
      printf("FAIL %s:%d: ", __FILE__, __LINE__);                \
      printf(__VA_ARGS__);                                       \
      printf("\n");                                              \
    }                                                            \
  } while (0)

/* ---- the hex notation ------------------------------------------------------ */

typedef struct buf {
  uint8_t b[16384];
  size_t n;
} buf_t;

static void put_leb(buf_t *o, uint64_t x) {
  do {
    uint8_t byte = x & 0x7F;
    x >>= 7;
    o->b[o->n++] = byte | (x ? 0x80 : 0);
  } while (x);
}

/* Parses hex bytes and { } groups until '}' , '|' or the end. */
static void parse_group(const char **s, buf_t *o) {
  for (;;) {
    while (**s == ' ' || **s == '\n') (*s)++;
    char c = **s;
    if (c == 0 || c == '}' || c == '|') return;
    if (c == '{') {
      (*s)++;
      buf_t *inner = malloc(sizeof *inner);
      inner->n = 0;
      parse_group(s, inner);
      if (**s == '}') (*s)++;
      put_leb(o, inner->n);
      memcpy(o->b + o->n, inner->b, inner->n);
      o->n += inner->n;
      free(inner);
      continue;
    }
    unsigned v;
    int used;
    if (sscanf(*s, "%2x%n", &v, &used) != 1) {
      fprintf(stderr, "bad hex at '%s'\n", *s);
      exit(2);
    }
    o->b[o->n++] = (uint8_t)v;
    *s += used;
  }
}

/* "1: 01 60 00 00 | 3: 01 00 | 10: 01 { 00 0b }" -> a whole module. */
static void build(const char *text, buf_t *o) {
  static const uint8_t header[8] = {0x00, 0x61, 0x73, 0x6D, 0x01, 0x00, 0x00, 0x00};
  memcpy(o->b, header, 8);
  o->n = 8;
  const char *s = text;
  while (*s) {
    while (*s == ' ' || *s == '|' || *s == '\n') s++;
    if (!*s) break;
    char *after;
    unsigned long id = strtoul(s, &after, 10);
    s = after;
    if (*s == ':') s++;
    buf_t *content = malloc(sizeof *content);
    content->n = 0;
    parse_group(&s, content);
    o->b[o->n++] = (uint8_t)id;
    put_leb(o, content->n);
    memcpy(o->b + o->n, content->b, content->n);
    o->n += content->n;
    free(content);
  }
}

/* ---- loading ---------------------------------------------------------------- */

static wisp_engine_t *engine;

/* Decodes and validates like wisp_module_validate but keeps the module so
 * that its validator-filled fields can be read. *out is NULL on failure. */
static int load(const char *text, struct wisp_module **out, wisp_error_t *err) {
  buf_t *o = malloc(sizeof *o);
  build(text, o);
  struct wisp_module *m = calloc(1, sizeof *m);
  m->engine = engine;
  wisp__arena_init(&m->arena);
  m->bytes = malloc(o->n);
  memcpy(m->bytes, o->b, o->n);
  m->len = o->n;
  free(o);
  memset(err, 0, sizeof *err);
  int rc = wisp__decode(m, err);
  if (rc == 0) rc = wisp__validate(m, err);
  if (rc != 0) {
    wisp_module_delete(m);
    m = NULL;
  }
  *out = m;
  return rc;
}

static void expect_valid(int line, const char *text) {
  struct wisp_module *m;
  wisp_error_t err;
  int rc = load(text, &m, &err);
  CHECK(rc == 0, "line %d: expected valid, got %d: %s", line, rc, err.message);
  wisp_module_delete(m);
}

static void expect_error(int line, int code, const char *needle, const char *text) {
  struct wisp_module *m;
  wisp_error_t err;
  int rc = load(text, &m, &err);
  CHECK(rc == code && strstr(err.message, needle) != NULL, "line %d: expected %d '%s', got %d '%s'", line, code,
        needle, rc, rc ? err.message : "");
  wisp_module_delete(m);
}

#define VALID(text) expect_valid(__LINE__, text)
#define INVALID(needle, text) expect_error(__LINE__, WISP_ERR_INVALID, needle, text)
#define MALFORMED(needle, text) expect_error(__LINE__, WISP_ERR_MALFORMED, needle, text)

/* One type [] -> [], one function with body BODY (locals vector included). */
#define FUNC_VOID(body) "1: 01 60 00 00 | 3: 01 00 | 10: 01 { " body " }"
/* One type [] -> [i32]. */
#define FUNC_I32(body) "1: 01 60 00 01 7f | 3: 01 00 | 10: 01 { " body " }"
/* [] -> [] with one memory of 1 page. */
#define FUNC_MEM(body) "1: 01 60 00 00 | 3: 01 00 | 5: 01 00 01 | 10: 01 { " body " }"

/* ---- tests -------------------------------------------------------------------- */

static void test_valid_basics(void) {
  VALID("");
  VALID(FUNC_VOID("00 0b"));
  VALID(FUNC_I32("00 41 01 41 02 6a 0b"));                            /* i32.const i32.const i32.add */
  VALID(FUNC_I32("01 01 7f 20 00 0b"));                               /* local.get 0 of one i32 local */
  VALID(FUNC_I32("00 02 7f 41 01 0c 00 0b 0b"));                      /* block (result i32) br 0 */
  VALID(FUNC_I32("00 41 01 04 7f 41 02 05 41 03 0b 0b"));             /* if/else with results */
  VALID(FUNC_I32("00 03 7f 41 01 0b 0b"));                            /* loop (result i32) */
  /* multi-value block through a type index: type 1 = [i32] -> [i32 i32] */
  VALID("1: 02 60 00 01 7f 60 01 7f 02 7f 7f | 3: 01 00 | 10: 01 { 00 41 05 02 01 41 06 0b 6a 0b }");
  /* loop label carries the loop's params: br 0 inside loop [i32]->[] */
  VALID("1: 02 60 00 00 60 01 7f 00 | 3: 01 00 | 10: 01 { 00 41 00 03 01 0c 00 0b 0b }");
  /* br_table with same arity targets */
  VALID(FUNC_I32("00 02 7f 02 7f 41 01 41 00 0e 01 00 01 0b 0b 0b"));
  /* call, with a typed import in front: import function 0, defined 1 calls 0 */
  VALID("1: 01 60 01 7f 01 7f | 2: 01 {01 6d} {01 66} 00 00 | 3: 01 00 | 10: 01 { 00 20 00 10 00 0b }");
  /* memory ops, bulk memory with datacount */
  VALID(FUNC_MEM("00 41 00 28 02 00 1a 41 00 42 00 37 03 08 3f 00 40 00 1a 0b"));
  VALID("1: 01 60 00 00 | 3: 01 00 | 5: 01 00 01 | 12: 01 | 10: 01 { 00 41 00 41 00 41 00 fc 08 00 00 fc 09 00 0b }"
        " | 11: 01 01 {61}");
  /* tables: table.get/set/size/grow/fill, ref.null, ref.is_null */
  VALID("1: 01 60 00 00 | 3: 01 00 | 4: 01 70 00 01 | 10: 01 { 00 41 00 25 00 1a 41 00 d0 70 26 00"
        " fc 10 00 1a d0 70 41 01 fc 0f 00 1a 41 00 d0 70 41 00 fc 11 00 d0 6f d1 1a 0b }");
  /* ref.func of a function declared by an export */
  VALID("1: 01 60 00 00 | 3: 01 00 | 7: 01 {01 66} 00 00 | 10: 01 { 00 d2 00 1a 0b }");
  /* ref.func declared through a declarative element segment */
  VALID("1: 01 60 00 00 | 3: 01 00 | 9: 01 03 00 01 00 | 10: 01 { 00 d2 00 1a 0b }");
  /* global.get of an imported immutable global in a global initialiser */
  VALID("2: 01 {01 6d} {01 67} 03 7f 00 | 6: 01 7f 00 23 00 0b");
  /* typed select of funcref, untyped select of v128 */
  VALID(FUNC_VOID("00 d0 70 d0 70 41 01 1c 01 70 1a 0b"));
  VALID(FUNC_VOID("00 fd 0c 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 fd 0c 00 00 00 00 00 00 00 00 00 00"
                  " 00 00 00 00 00 00 41 01 1b 1a 0b"));
}

static void test_polymorphic(void) {
  VALID(FUNC_I32("00 00 0b"));                    /* unreachable satisfies [i32] */
  VALID(FUNC_I32("00 00 6a 0b"));                 /* i32.add on an empty polymorphic stack */
  VALID(FUNC_I32("00 00 1b 0b"));                 /* untyped select of unknowns gives unknown */
  VALID(FUNC_I32("00 41 00 0f 42 00 7a 1a 41 00 0b")); /* after return: i64 ops typecheck normally */
  VALID(FUNC_I32("00 02 40 0c 00 6a 1a 0b 41 00 0b")); /* br then i32.add; drop */
  VALID(FUNC_VOID("00 00 0e 00 00 0b"));          /* br_table on unknown index */
  VALID(FUNC_VOID("00 00 d1 1a 0b"));             /* ref.is_null on unknown */
  /* a known value below the polymorphic base still has to match */
  INVALID("type mismatch", FUNC_I32("00 00 42 00 0b"));
  INVALID("type mismatch", FUNC_VOID("00 00 42 00 6a 1a 0b"));
  /* br_if in unreachable code pushes the label types, which then must match */
  INVALID("type mismatch", "1: 01 60 00 01 7d | 3: 01 00 | 10: 01 { 00 02 7f 00 0d 00 8c 1a 41 00 0b 1a 43 00 00 00 00 0b }");
  /* br_table targets of different arity are a mismatch even when unreachable */
  INVALID("type mismatch", FUNC_VOID("00 02 7f 00 0e 01 00 01 0b 1a 0b"));
}

static void test_type_errors(void) {
  INVALID("type mismatch: i32.add expected i32, found i64", FUNC_I32("00 41 01 42 01 6a 0b"));
  INVALID("type mismatch", FUNC_I32("00 0b"));                              /* missing result */
  INVALID("type mismatch", FUNC_VOID("00 41 01 0b"));                       /* extra value */
  INVALID("type mismatch", FUNC_I32("00 41 01 04 7f 41 02 0b 0b"));         /* if without else, [] -> [i32] */
  INVALID("type mismatch", FUNC_VOID("00 d0 70 d0 70 41 01 1b 1a 0b"));     /* untyped select on funcref */
  INVALID("type mismatch", FUNC_VOID("00 41 01 d1 1a 0b"));                 /* ref.is_null of i32 */
  INVALID("type mismatch", FUNC_VOID("00 41 01 42 01 41 01 1b 1a 0b"));     /* select of i32 and i64 */
  INVALID("invalid result arity", FUNC_VOID("00 41 01 41 01 41 01 1c 02 7f 7f 1a 0b"));
  INVALID("invalid result arity", FUNC_VOID("00 41 01 41 01 41 01 1c 00 1a 0b"));
  INVALID("type mismatch", FUNC_I32("00 02 7f 42 00 0c 00 0b 0b"));         /* br carries i64 to [i32] */
  /* call_indirect through an externref table */
  INVALID("type mismatch", "1: 01 60 00 00 | 3: 01 00 | 4: 01 6f 00 01 | 10: 01 { 00 41 00 11 00 00 0b }");
  /* table.copy between tables of different element types */
  INVALID("type mismatch", "1: 01 60 00 00 | 3: 01 00 | 4: 02 70 00 01 6f 00 01 | 10: 01 { 00 41 00 41 00 41 00"
          " fc 0e 00 01 0b }");
}

static void test_index_errors(void) {
  INVALID("unknown local 1", FUNC_VOID("01 01 7f 20 01 1a 0b"));
  INVALID("unknown global 0", FUNC_VOID("00 23 00 1a 0b"));
  INVALID("global is immutable", "1: 01 60 00 00 | 3: 01 00 | 6: 01 7f 00 41 00 0b | 10: 01 { 00 41 01 24 00 0b }");
  INVALID("unknown function 5", FUNC_VOID("00 10 05 0b"));
  INVALID("unknown label 1", FUNC_VOID("00 0c 01 0b"));
  INVALID("unknown label", FUNC_VOID("00 41 00 0e 01 00 02 0b"));
  INVALID("unknown table 0", FUNC_VOID("00 41 00 11 00 00 0b"));
  INVALID("unknown type 3", "1: 01 60 00 00 | 3: 01 00 | 4: 01 70 00 01 | 10: 01 { 00 41 00 11 03 00 0b }");
  INVALID("unknown type", FUNC_VOID("00 02 07 0b 0b"));                     /* block type index 7 */
  INVALID("unknown memory 0", FUNC_VOID("00 41 00 28 02 00 1a 0b"));
  INVALID("unknown memory 0", FUNC_VOID("00 3f 00 1a 0b"));
  INVALID("unknown data segment 1",
          "1: 01 60 00 00 | 3: 01 00 | 5: 01 00 01 | 12: 01 | 10: 01 { 00 fc 09 01 0b } | 11: 01 01 {61}");
  INVALID("unknown elem segment 0", FUNC_VOID("00 fc 0d 00 0b"));
  INVALID("undeclared function reference", FUNC_VOID("00 d2 00 1a 0b"));
  INVALID("unknown function 3", FUNC_VOID("00 d2 03 1a 0b"));
}

static void test_memory_rules(void) {
  INVALID("alignment must not be larger than natural", FUNC_MEM("00 41 00 28 03 00 1a 0b"));
  INVALID("alignment must not be larger than natural", FUNC_MEM("00 41 00 31 01 00 1a 0b"));
  VALID(FUNC_MEM("00 41 00 28 00 00 1a 0b"));  /* smaller alignment is fine */
  INVALID("memory size must be at most 65536 pages (4GiB)", "5: 01 00 81 80 04");
  INVALID("memory size must be at most 65536 pages (4GiB)", "5: 01 01 00 81 80 04");
  VALID("5: 01 01 00 80 80 04");
  INVALID("size minimum must not be greater than maximum", "5: 01 01 02 01");
  INVALID("size minimum must not be greater than maximum", "4: 01 70 01 05 04");
  INVALID("multiple memories", "5: 02 00 01 00 01");
  INVALID("multiple memories", "2: 01 {01 6d} {01 6d} 02 00 01 | 5: 01 00 01");
  INVALID("unknown memory 0", "11: 01 00 41 00 0b {61}");  /* active data, no memory */
}

static void test_module_rules(void) {
  INVALID("duplicate export name", "1: 01 60 00 00 | 3: 02 00 00 | 7: 02 {01 61} 00 00 {01 61} 00 01"
          " | 10: 02 {00 0b} {00 0b}");
  VALID("1: 01 60 00 00 | 3: 02 00 00 | 7: 02 {01 61} 00 00 {01 62} 00 01 | 10: 02 {00 0b} {00 0b}");
  INVALID("unknown function 4", "7: 01 {01 61} 00 04");
  INVALID("unknown global 0", "7: 01 {01 61} 03 00");
  INVALID("start function", "1: 01 60 01 7f 00 | 3: 01 00 | 8: 00 | 10: 01 { 00 0b }");
  INVALID("start function", "1: 01 60 00 01 7f | 3: 01 00 | 8: 00 | 10: 01 { 00 41 00 0b }");
  VALID("1: 01 60 00 00 | 3: 01 00 | 8: 00 | 10: 01 { 00 0b }");
  /* constant expressions */
  INVALID("type mismatch", "6: 01 7f 00 42 00 0b");
  INVALID("unknown global 0", "6: 02 7f 00 41 00 0b 7f 00 23 00 0b");  /* defined globals are not visible */
  INVALID("constant expression required", "2: 01 {01 6d} {01 67} 03 7f 01 | 6: 01 7f 00 23 00 0b");
  INVALID("constant expression required", "5: 01 00 01 | 6: 01 7f 00 3f 00 0b");
  /* element segments */
  INVALID("type mismatch", "1: 01 60 00 00 | 3: 01 00 | 4: 01 6f 00 01 | 9: 01 00 41 00 0b 01 00 | 10: 01 { 00 0b }");
  INVALID("unknown table", "1: 01 60 00 00 | 3: 01 00 | 9: 01 00 41 00 0b 01 00 | 10: 01 { 00 0b }");
  INVALID("unknown function", "1: 01 60 00 00 | 3: 01 00 | 4: 01 70 00 01 | 9: 01 00 41 00 0b 01 07 | 10: 01 { 00 0b }");
  INVALID("type mismatch", "1: 01 60 00 00 | 3: 01 00 | 4: 01 70 00 01 | 9: 01 00 42 00 0b 01 00 | 10: 01 { 00 0b }");
}

static void test_malformed(void) {
  MALFORMED("illegal opcode 0x06", FUNC_VOID("00 06 0b"));
  MALFORMED("illegal opcode 0xfc", FUNC_VOID("00 fc 20 0b"));
  MALFORMED("illegal opcode 0xfd 0x9a", FUNC_VOID("00 fd 9a 01 0b"));
  MALFORMED("zero byte expected", FUNC_MEM("00 3f 01 1a 0b"));
  MALFORMED("zero byte expected", FUNC_MEM("00 41 00 40 80 00 1a 0b"));
  MALFORMED("zero byte expected", FUNC_MEM("00 41 00 41 00 41 00 fc 0a 00 01 0b"));
  MALFORMED("data count section required",
            "1: 01 60 00 00 | 3: 01 00 | 5: 01 00 01 | 10: 01 { 00 fc 09 00 0b } | 11: 01 01 {61}");
  MALFORMED("integer representation too long", FUNC_VOID("00 41 80 80 80 80 80 00 1a 0b"));
  MALFORMED("integer too large", FUNC_VOID("00 41 80 80 80 80 70 1a 0b"));
  MALFORMED("unexpected end", FUNC_VOID("00 41 80 80 0b"));  /* the LEB swallows the end */
  MALFORMED("unexpected end", FUNC_VOID("00 02 40 0b"));      /* block never closed: the function's end is missing */
  MALFORMED("section size mismatch", FUNC_VOID("00 0b 01 0b"));  /* bytes after the final end */
  MALFORMED("END opcode expected", FUNC_VOID("00 05 0b"));    /* else without if */
  MALFORMED("malformed reference type", FUNC_VOID("00 d0 7f 1a 0b"));
  MALFORMED("malformed block type", FUNC_VOID("00 02 7a 0b 0b"));
  /* an invalid function before a malformed one: malformed wins */
  MALFORMED("illegal opcode 0xff",
            "1: 01 60 00 00 | 3: 02 00 00 | 10: 02 { 00 41 00 0b } { 00 ff 0b }");
  /* the same for an else without if after an invalid instruction */
  MALFORMED("END opcode expected", FUNC_VOID("00 6a 02 40 05 0b 0b"));
  MALFORMED("END opcode expected", FUNC_VOID("00 6a 41 00 04 40 05 05 0b 0b"));
  VALID(FUNC_VOID("00 41 00 04 40 05 41 00 04 40 05 0b 0b 0b"));
  /* a module-level invalid error, malformed code: malformed wins */
  MALFORMED("illegal opcode", "1: 01 60 00 00 | 3: 01 00 | 5: 02 00 01 00 01 | 10: 01 { 00 06 0b }");
}

static void test_messages(void) {
  /* function index counts imports; offset is the byte offset in the binary */
  struct wisp_module *m;
  wisp_error_t err;
  int rc = load("1: 01 60 00 00 | 2: 01 {01 6d} {01 66} 00 00 | 3: 01 00 | 10: 01 { 00 41 01 0b }", &m, &err);
  CHECK(rc == WISP_ERR_INVALID, "rc %d", rc);
  CHECK(strstr(err.message, "code section, function 1, offset 0x") == err.message, "message '%s'", err.message);
  char at[32];
  snprintf(at, sizeof at, "offset 0x%x:", err.offset);
  CHECK(strstr(err.message, at) != NULL && err.offset > 0x10, "offset %u in '%s'", err.offset, err.message);
  /* the offset points at the `end` that found the extra value: last byte of the module */
  buf_t *o = malloc(sizeof *o);
  build("1: 01 60 00 00 | 2: 01 {01 6d} {01 66} 00 00 | 3: 01 00 | 10: 01 { 00 41 01 0b }", o);
  CHECK(err.offset == o->n - 1 && o->b[err.offset] == 0x0b, "offset %u, module %zu bytes", err.offset, o->n);
  free(o);
}

/* Local runs: params (i64), then i32 x2, i64 x3, f32 x1. */
static void test_locals(void) {
#define LOCALS_FUNC(code) "1: 01 60 01 7e 00 | 3: 01 00 | 10: 01 { 03 02 7f 03 7e 01 7d " code " }"
  VALID(LOCALS_FUNC("20 00 50 1a 20 01 45 1a 20 02 45 1a 20 03 50 1a 20 05 50 1a 20 06 8b 1a 0b"));
  INVALID("type mismatch", LOCALS_FUNC("20 02 50 1a 0b"));   /* local 2 is i32, i64.eqz */
  INVALID("type mismatch", LOCALS_FUNC("20 06 50 1a 0b"));   /* local 6 is f32 */
  INVALID("type mismatch", LOCALS_FUNC("41 00 21 03 0b"));   /* local 3 is i64 */
  INVALID("unknown local 7", LOCALS_FUNC("20 07 1a 0b"));
  VALID(LOCALS_FUNC("42 00 22 05 21 00 0b"));                /* tee keeps the value */
  /* a run of zero locals is allowed and changes nothing */
  VALID("1: 01 60 00 00 | 3: 01 00 | 10: 01 { 02 00 7f 01 7e 20 00 50 1a 0b }");
#undef LOCALS_FUNC
}

/* Deep nesting: the control stack grows without recursion or limits. */
static void test_deep_nesting(void) {
  enum { DEPTH = 2500 };
  const char *head = "1: 01 60 00 01 7f | 3: 01 00 | 10: 01 { 00 ";
  size_t cap = strlen(head) + DEPTH * 12 + 64;
  char *text = malloc(cap);
  strcpy(text, head);
  char *p = text + strlen(text);
  for (int i = 0; i < DEPTH; i++) p += sprintf(p, "02 7f ");
  p += sprintf(p, "41 07 ");
  for (int i = 0; i < DEPTH; i++) p += sprintf(p, "0b ");
  sprintf(p, "0b }");
  struct wisp_module *m;
  wisp_error_t err;
  int rc = load(text, &m, &err);
  CHECK(rc == 0, "deep nesting: %s", err.message);
  if (rc == 0) {
    CHECK(m->funcs[0].max_stack == 1, "deep nesting max_stack %u", m->funcs[0].max_stack);
    wisp_module_delete(m);
  }
  /* the same with a br to the outermost block from the innermost */
  p = text + strlen(head);
  for (int i = 0; i < DEPTH; i++) p += sprintf(p, "02 7f ");
  p += sprintf(p, "41 07 0c %02x %02x ", 0x80 | ((DEPTH - 1) & 0x7F), (DEPTH - 1) >> 7);
  for (int i = 0; i < DEPTH; i++) p += sprintf(p, "0b ");
  sprintf(p, "0b }");
  rc = load(text, &m, &err);
  CHECK(rc == 0, "deep br: %s", err.message);
  wisp_module_delete(m);
  free(text);
}

static uint32_t max_stack_of(const char *text, uint32_t func) {
  struct wisp_module *m;
  wisp_error_t err;
  if (load(text, &m, &err) != 0) {
    printf("unexpected error: %s\n", err.message);
    return UINT32_MAX;
  }
  uint32_t h = m->funcs[func].max_stack;
  wisp_module_delete(m);
  return h;
}

static void test_max_stack(void) {
  uint32_t h;
  h = max_stack_of(FUNC_VOID("00 0b"), 0);
  CHECK(h == 0, "empty body: %u", h);
  h = max_stack_of(FUNC_I32("00 41 01 41 02 6a 0b"), 0);
  CHECK(h == 2, "two constants: %u", h);
  h = max_stack_of(FUNC_I32("00 41 01 41 02 41 03 6a 6a 0b"), 0);
  CHECK(h == 3, "three constants: %u", h);
  /* sequential, not nested: max is 2 */
  h = max_stack_of(FUNC_I32("00 41 01 41 02 6a 41 03 6a 0b"), 0);
  CHECK(h == 2, "left fold: %u", h);
  /* v128 values count two cells each */
  h = max_stack_of(FUNC_VOID("00 fd 0c 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 fd 0c 00 00 00 00 00 00 00 00"
                             " 00 00 00 00 00 00 00 00 fd 6e 1a 0b"), 0);
  CHECK(h == 4, "two v128: %u", h);
  /* a block's values add to what the enclosing code left */
  h = max_stack_of(FUNC_I32("00 41 01 02 7f 41 02 41 03 6a 0b 6a 0b"), 0);
  CHECK(h == 3, "block: %u", h);
  /* call results count; params pop */
  h = max_stack_of("1: 02 60 00 00 60 00 03 7f 7e 7f | 3: 02 00 01 | 10: 02 { 00 10 01 1a 1a 1a 0b }"
                   " { 00 41 00 42 00 41 00 0b }", 0);
  CHECK(h == 3, "call results: %u", h);
  /* second function measured on its own */
  h = max_stack_of("1: 02 60 00 00 60 00 03 7f 7e 7f | 3: 02 00 01 | 10: 02 { 00 10 01 1a 1a 1a 0b }"
                   " { 00 41 00 42 00 41 00 0b }", 1);
  CHECK(h == 3, "callee: %u", h);
}

static void test_simd(void) {
  struct wisp_module *m;
  wisp_error_t err;
  /* no SIMD: flag clear */
  int rc = load(FUNC_I32("00 41 01 0b"), &m, &err);
  CHECK(rc == 0 && !m->uses_simd, "plain module flagged SIMD");
  wisp_module_delete(m);
  /* SIMD in the second function: the first instruction is recorded */
  const char *text = "1: 01 60 00 00 | 3: 02 00 00 | 10: 02 { 00 0b } { 00 41 00 fd 11 fd 62 1a 0b }";
  rc = load(text, &m, &err);
  CHECK(rc == 0, "simd module: %s", err.message);
  if (rc == 0) {
    CHECK(m->uses_simd && m->simd_func == 1 && m->simd_code == WISP_OP_I32X4_SPLAT, "simd fields %d %u 0x%x",
          m->uses_simd, m->simd_func, m->simd_code);
    buf_t *o = malloc(sizeof *o);
    build(text, o);
    CHECK(m->simd_offset < o->n && o->b[m->simd_offset] == 0xfd && o->b[m->simd_offset + 1] == 0x11,
          "simd offset %u", m->simd_offset);
    free(o);
    wisp_module_delete(m);
  }
  /* wisp_module_new refuses it, naming the instruction; wisp_module_validate accepts */
  buf_t *o = malloc(sizeof *o);
  build(text, o);
  wisp_module_t *mod = NULL;
  rc = wisp_module_validate(engine, o->b, o->n, &err);
  CHECK(rc == 0, "validate SIMD: %d %s", rc, err.message);
  free(o);

  /* lanes */
  VALID(FUNC_I32("00 41 00 fd 0f fd 15 0f 0b"));                    /* i8x16.extract_lane_s 15 */
  INVALID("invalid lane index", FUNC_I32("00 41 00 fd 0f fd 15 10 0b"));
  INVALID("invalid lane index", "1: 01 60 00 01 7e | 3: 01 00 | 10: 01 { 00 42 00 fd 12 fd 1d 02 0b }");
  INVALID("invalid lane index", FUNC_MEM("00 41 00 41 00 fd 11 fd 57 03 00 02 1a 0b")); /* load64_lane 2 */
  VALID(FUNC_MEM("00 41 00 41 00 fd 11 fd 57 03 00 01 1a 0b"));
  INVALID("alignment must not be larger than natural", FUNC_MEM("00 41 00 fd 0a 04 00 1a 0b")); /* load64_splat */
  VALID(FUNC_MEM("00 41 00 fd 00 04 00 1a 0b"));                   /* v128.load align 16 */
  INVALID("unknown memory", FUNC_VOID("00 41 00 fd 00 04 00 1a 0b"));
  /* shuffle lanes must be < 32 */
  VALID(FUNC_VOID("00 41 00 fd 11 41 00 fd 11 fd 0d 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 1f 1a 0b"));
  INVALID("invalid lane index", FUNC_VOID("00 41 00 fd 11 41 00 fd 11 fd 0d 00 01 02 03 04 05 06 07 08 09 0a 0b 0c"
                                          " 0d 0e 20 1a 0b"));
  /* signatures from the table: shift takes (v128, i32) */
  VALID(FUNC_VOID("00 41 00 fd 11 41 01 fd 6b 1a 0b"));
  INVALID("type mismatch", FUNC_VOID("00 41 00 fd 11 42 01 fd 6b 1a 0b"));
  INVALID("type mismatch", FUNC_VOID("00 41 00 fd 11 fd 63 fd 62 1a 0b")); /* all_true gives i32 */
  VALID(FUNC_VOID("00 41 00 fd 11 41 00 fd 11 41 00 fd 11 fd 52 fd 53 1a 0b")); /* bitselect, any_true */
  (void)mod;
}

/* Every SIMD row of the table has a well-formed signature and an alignment
 * only where it has a memory immediate; the table is dense where the spec is. */
static void test_simd_table(void) {
  unsigned count = 0, bad = 0;
  for (uint32_t sub = 0; sub < 0x200; sub++) {
    const wisp__opinfo_t *op = wisp__opinfo(0x10000 | sub);
    if (!op) continue;
    count++;
    const char *arrow = op->sig ? strchr(op->sig, '>') : NULL;
    if (!arrow || strspn(op->sig, "iIfFv>") != strlen(op->sig)) bad++;
    bool mem = op->imm == WISP_IMM_MEMARG || op->imm == WISP_IMM_MEMARG_LANE;
    if (!mem && op->align != 0) bad++;
    if (mem && op->align > 4) bad++;
  }
  CHECK(count == 236, "SIMD instructions: %u", count);
  CHECK(bad == 0, "%u malformed SIMD rows", bad);
  const wisp__opinfo_t *op = wisp__opinfo(WISP_OP_I32X4_DOT_I16X8_S);
  CHECK(op && strcmp(op->name, "i32x4.dot_i16x8_s") == 0 && (op->code & 0xFF) == 0xBA, "dot");
  op = wisp__opinfo(0x10000 | 0x9A);
  CHECK(op == NULL, "0xfd 0x9a is reserved");
}

/* ---- the spec suite's binaries ----------------------------------------------- */

static uint8_t *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *b = malloc(n > 0 ? (size_t)n : 1);
  if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
    free(b);
    b = NULL;
  }
  fclose(f);
  *len = (size_t)n;
  return b;
}

/* Copies the string value of "key": "..." found in line into out. */
static bool json_field(const char *line, const char *key, char *out, size_t size) {
  char pattern[64];
  snprintf(pattern, sizeof pattern, "\"%s\": \"", key);
  const char *at = strstr(line, pattern);
  if (!at) return false;
  at += strlen(pattern);
  const char *end = strchr(at, '"');
  if (!end || (size_t)(end - at) >= size) return false;
  memcpy(out, at, (size_t)(end - at));
  out[end - at] = 0;
  return true;
}

/* One .wast converted by wast2json: every module must validate, every binary
 * assert_invalid must be invalid and every binary assert_malformed malformed.
 * wast2json writes one command per line, the command's type first. */
static void sweep_json(const char *dir, const char *json, int *modules, int *wrong) {
  char path[1024], line[8192], type[64], file[256];
  snprintf(path, sizeof path, "%s/%s", dir, json);
  FILE *f = fopen(path, "r");
  if (!f) return;
  while (fgets(line, sizeof line, f)) {
    if (!json_field(line, "type", type, sizeof type) || !json_field(line, "filename", file, sizeof file)) continue;
    size_t n = strlen(file);
    if (n < 5 || strcmp(file + n - 5, ".wasm") != 0) continue;
    int want;
    if (strcmp(type, "assert_invalid") == 0) want = WISP_ERR_INVALID;
    else if (strcmp(type, "assert_malformed") == 0) want = WISP_ERR_MALFORMED;
    else if (strcmp(type, "module") == 0 || strncmp(type, "assert_un", 9) == 0) want = 0;
    else continue;
    snprintf(path, sizeof path, "%s/%s", dir, file);
    size_t len;
    uint8_t *bytes = read_file(path, &len);
    if (!bytes) continue;
    wisp_error_t err = {0};
    int rc = wisp_module_validate(engine, bytes, len, &err);
    free(bytes);
    (*modules)++;
    if (rc != want) {
      (*wrong)++;
      printf("  %s (%s): expected %d, got %d: %s\n", file, type, want, rc, rc ? err.message : "valid");
    }
  }
  fclose(f);
}

/* Runs when ../shared/spec-testsuite (next to the repository) and wast2json
 * exist; otherwise says it skipped. */
static void test_spec_suite(void) {
  char root[1024], suite[1200], cmd[4096];
  snprintf(root, sizeof root, "%s", __FILE__);
  char *cut = strstr(root, "/tests/unit/test_validate.c");
  if (!cut) {
    printf("spec suite: skipped (source path unknown)\n");
    return;
  }
  *cut = 0;
  snprintf(suite, sizeof suite, "%s/../shared/spec-testsuite", root);
  FILE *probe = fopen(suite, "r");
  if (!probe || system("wast2json --version >/dev/null 2>&1") != 0) {
    if (probe) fclose(probe);
    printf("spec suite: skipped (no %s or no wast2json)\n", suite);
    return;
  }
  fclose(probe);
  char dir[] = "/tmp/wisp-validate-XXXXXX";
  if (!mkdtemp(dir)) {
    CHECK(0, "mkdtemp failed");
    return;
  }
  snprintf(cmd, sizeof cmd,
           "cd %s && for f in %s/*.wast; do wast2json \"$f\" -o \"$(basename \"$f\" .wast).json\" 2>/dev/null; done; ls *.json",
           dir, suite);
  FILE *list = popen(cmd, "r");
  int files = 0, modules = 0, wrong = 0;
  char json[256];
  while (list && fgets(json, sizeof json, list)) {
    json[strcspn(json, "\n")] = 0;
    sweep_json(dir, json, &modules, &wrong);
    files++;
  }
  if (list) pclose(list);
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  if (system(cmd) != 0) printf("could not remove %s\n", dir);
  printf("spec suite: %d files, %d modules, %d with the wrong verdict\n", files, modules, wrong);
  CHECK(files > 100 && modules > 4000, "spec suite: only %d files, %d modules", files, modules);
  CHECK(wrong == 0, "spec suite: %d modules with the wrong verdict", wrong);
}

int main(void) {
  engine = wisp_engine_new();
  test_valid_basics();
  test_polymorphic();
  test_type_errors();
  test_index_errors();
  test_memory_rules();
  test_module_rules();
  test_malformed();
  test_messages();
  test_locals();
  test_deep_nesting();
  test_max_stack();
  test_simd();
  test_simd_table();
  test_spec_suite();
  wisp_engine_delete(engine);
  printf("%d passed, %d failed\n", passed, failed);
  return failed != 0;
}
