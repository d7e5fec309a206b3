/*
 * decode.c: the WebAssembly 2.0 binary decoder (wisp__decode, see module.h).
 *
 * Reads m->bytes once, front to back, into the arrays of struct wisp_module,
 * all allocated in m->arena. Checks only what the binary format itself
 * requires: magic and version, section ids, order and sizes, LEB128 forms,
 * vector lengths, UTF-8 names, the fixed bytes of types, limits, segments and
 * constant expressions, the function/code and datacount/data count matches,
 * and the local declarations of each body. Index ranges and typing are the
 * validator's (validate.c); function bodies are only located here.
 *
 * Invariants: every read goes through the cursor helpers below, which check
 * `d->p` against `d->end` (the end of the current section, code entry or
 * module), so no input can make the decoder read outside m->bytes. Before an
 * array of `count` elements is allocated, `count` is checked against the
 * bytes left (every element takes at least one byte), so allocations are
 * bounded by the module size.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "leb128.h"
#include "module.h"
#include "opcodes.h"
#include "simd_ops.h"

/* v128.const: 0xFD prefix, subopcode 12. */
#define DECODE_V128_CONST_SUB 12u

/* Total declared locals allowed in one function. The spec only requires
 * rejecting totals above 2^32-1; a smaller cap keeps frames sane. */
#define DECODE_MAX_LOCALS 50000u

typedef struct decoder {
  struct wisp_module *m;
  wisp_error_t *err;
  const uint8_t *start;    /* m->bytes */
  const uint8_t *file_end; /* m->bytes + m->len */
  const uint8_t *p;        /* cursor */
  const uint8_t *end;      /* end of what is being read (section, entry, module) */
  const char *section;     /* section name for messages; NULL between sections */
  int64_t func;            /* function index while in a code entry, else -1 */
  uint8_t last_id;         /* last non-custom section id read, 0 if none */
} decoder_t;

/* ---- errors ---------------------------------------------------------------- */

static uint32_t offset_of(const decoder_t *d, const uint8_t *at) { return (uint32_t)(at - d->start); }

/* Formats "<section> section[, function N], offset 0x..: <message>" into
 * d->err and returns `code`. */
static int __attribute__((format(printf, 4, 5)))
fail_code(decoder_t *d, int code, const uint8_t *at, const char *fmt, ...) {
  char msg[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  uint32_t o = offset_of(d, at);
  if (!d->section) return wisp__error(d->err, code, o, "module, offset 0x%x: %s", o, msg);
  if (d->func >= 0)
    return wisp__error(d->err, code, o, "%s section, function %lld, offset 0x%x: %s", d->section,
                       (long long)d->func, o, msg);
  return wisp__error(d->err, code, o, "%s section, offset 0x%x: %s", d->section, o, msg);
}

#define fail(d, at, ...) fail_code((d), WISP_ERR_MALFORMED, (at), __VA_ARGS__)

/* The spec distinguishes running off the module (header, section headers)
 * from running off the contents of a section or function body. */
static int fail_end(decoder_t *d, const uint8_t *at) {
  if (d->section) return fail(d, at, "unexpected end of section or function");
  return fail(d, at, "unexpected end");
}

static int fail_nomem(decoder_t *d) {
  return wisp__error(d->err, WISP_ERR_NOMEM, 0, "out of memory decoding the module");
}

static int fail_leb(decoder_t *d, const uint8_t *at, int rc) {
  if (rc == WISP_LEB_END) return fail_end(d, at);
  if (rc == WISP_LEB_LONG) return fail(d, at, "integer representation too long");
  return fail(d, at, "integer too large");
}

/* ---- cursor ------------------------------------------------------------------ */

/* Readers write *out on every path (0 on failure), which also keeps gcc's
 * -Wmaybe-uninitialized quiet at -O2. */
static int read_byte(decoder_t *d, uint8_t *out) {
  *out = 0;
  if (d->p >= d->end) return fail_end(d, d->p);
  *out = *d->p++;
  return 0;
}

static int read_u32(decoder_t *d, uint32_t *out) {
  uint64_t v = 0;
  *out = 0;
  const uint8_t *at = d->p;
  int rc = wisp__leb_u(&d->p, d->end, 32, &v);
  if (rc != WISP_LEB_OK) return fail_leb(d, at, rc);
  *out = (uint32_t)v;
  return 0;
}

static int read_s32(decoder_t *d, int32_t *out) {
  int64_t v = 0;
  *out = 0;
  const uint8_t *at = d->p;
  int rc = wisp__leb_s(&d->p, d->end, 32, &v);
  if (rc != WISP_LEB_OK) return fail_leb(d, at, rc);
  *out = (int32_t)v;
  return 0;
}

static int read_s64(decoder_t *d, int64_t *out) {
  const uint8_t *at = d->p;
  *out = 0;
  int rc = wisp__leb_s(&d->p, d->end, 64, out);
  if (rc != WISP_LEB_OK) return fail_leb(d, at, rc);
  return 0;
}

/* Points *out at the next n bytes and skips them. */
static int read_bytes(decoder_t *d, uint32_t n, const uint8_t **out) {
  *out = NULL;
  if ((size_t)(d->end - d->p) < n) return fail_end(d, d->p);
  *out = d->p;
  d->p += n;
  return 0;
}

static uint64_t load_le(const uint8_t *b, unsigned n) {
  uint64_t v = 0;
  for (unsigned i = 0; i < n; i++) v |= (uint64_t)b[i] << (8 * i);
  return v;
}

/* Reads a vector length and checks that `count` elements of at least
 * `min_size` bytes each can fit in what is left. */
static int read_count(decoder_t *d, uint32_t min_size, uint32_t *count) {
  const uint8_t *at = d->p;
  int rc = read_u32(d, count);
  if (rc) return rc;
  if ((uint64_t)*count * min_size > (uint64_t)(d->end - d->p))
    return fail(d, at, "unexpected end of section or function: %u entries cannot fit in %zu bytes", *count,
                (size_t)(d->end - d->p));
  return 0;
}

/* Zeroed arena array of n elements of `size` bytes (n may be 0). */
static void *alloc_array(decoder_t *d, uint64_t n, size_t size) {
  if (n > SIZE_MAX / size / 2) return NULL;
  return wisp__arena_alloc(&d->m->arena, n ? n * size : 1);
}

/* ---- names -------------------------------------------------------------------- */

/* True if [s, s+n) is well-formed UTF-8 (no overlong forms, surrogates or
 * code points above U+10FFFF). */
static bool utf8_valid(const uint8_t *s, uint32_t n) {
  uint32_t i = 0;
  while (i < n) {
    uint8_t c = s[i];
    uint32_t len, cp;
    if (c < 0x80) {
      i++;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2, cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3, cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4, cp = c & 0x07;
    } else {
      return false;
    }
    if (n - i < len) return false;
    for (uint32_t k = 1; k < len; k++) {
      if ((s[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000)) return false;
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

static int read_name(decoder_t *d, const char **name, uint32_t *len) {
  const uint8_t *at = d->p;
  const uint8_t *bytes;
  int rc = read_u32(d, len);
  if (rc) return rc;
  if ((size_t)(d->end - d->p) < *len)
    return fail(d, at, "length out of bounds: name of %u bytes, %zu left", *len, (size_t)(d->end - d->p));
  rc = read_bytes(d, *len, &bytes);
  if (rc) return rc;
  if (!utf8_valid(bytes, *len)) return fail(d, bytes, "malformed UTF-8 encoding");
  *name = (const char *)bytes;
  return 0;
}

/* ---- types ---------------------------------------------------------------------- */

static int read_valtype(decoder_t *d, uint8_t *out) {
  const uint8_t *at = d->p;
  int rc = read_byte(d, out);
  if (rc) return rc;
  if (!wisp__is_valtype(*out)) return fail(d, at, "malformed value type 0x%02x", *out);
  return 0;
}

static int read_reftype(decoder_t *d, uint8_t *out) {
  const uint8_t *at = d->p;
  int rc = read_byte(d, out);
  if (rc) return rc;
  if (*out != WISP_FUNCREF && *out != WISP_EXTERNREF) return fail(d, at, "malformed reference type 0x%02x", *out);
  return 0;
}

static int read_limits(decoder_t *d, wisp__limits_t *out) {
  const uint8_t *at = d->p;
  uint8_t flags;
  uint32_t v;
  int rc = read_byte(d, &flags);
  if (rc) return rc;
  /* the flags are a one-bit LEB128 number; name errors as the spec does */
  if (flags & 0x80) return fail(d, at, "integer representation too long: limits flags 0x%02x", flags);
  if (flags > 1) return fail(d, at, "integer too large: limits flags 0x%02x", flags);
  if ((rc = read_u32(d, &v))) return rc;
  out->min = v;
  out->has_max = flags == 1;
  out->max = 0;
  if (out->has_max) {
    if ((rc = read_u32(d, &v))) return rc;
    out->max = v;
  }
  return 0;
}

static int read_tabletype(decoder_t *d, wisp__tabletype_t *out) {
  int rc = read_reftype(d, &out->elem);
  if (rc) return rc;
  return read_limits(d, &out->limits);
}

static int read_globaltype(decoder_t *d, wisp__globaltype_t *out) {
  const uint8_t *at;
  uint8_t mut;
  int rc = read_valtype(d, &out->type);
  if (rc) return rc;
  at = d->p;
  if ((rc = read_byte(d, &mut))) return rc;
  if (mut > 1) return fail(d, at, "malformed mutability 0x%02x", mut);
  out->mutable_ = mut == 1;
  return 0;
}

/* ---- constant expressions ----------------------------------------------------- */

static bool is_const_opcode(uint8_t op) {
  return op == 0x41 || op == 0x42 || op == 0x43 || op == 0x44 || op == 0xD0 || op == 0xD2 || op == 0x23 ||
         op == 0xFD;
}

/* The instruction starting at `at` (first byte `op`, already read) is not
 * allowed in a constant expression. Unknown opcodes are malformed; known
 * ones make the module invalid. */
static int fail_not_constant(decoder_t *d, const uint8_t *at, uint8_t op) {
  uint32_t code = op;
  if (op == 0xFC || op == 0xFD) {
    uint32_t sub;
    int rc = read_u32(d, &sub);
    if (rc) return rc;
    code = (op == 0xFC ? 0xFC00u : 0x10000u) | sub;
    if (op == 0xFC && sub > 0xFF) return fail(d, at, "illegal opcode 0xfc %u", sub);
  }
  const wisp__opinfo_t *info = wisp__opinfo(code);
  if (!info) return fail(d, at, "illegal opcode 0x%x", code);
  return fail_code(d, WISP_ERR_INVALID, at, "constant expression required, found %s", info->name);
}

/* Reads one 2.0 constant expression: a single constant instruction then
 * `end`. global.get's type is filled when the global is already known. */
static int read_constexpr(decoder_t *d, wisp__constexpr_t *out) {
  const uint8_t *at = d->p, *bytes;
  uint8_t op;
  int rc;
  memset(out, 0, sizeof *out);
  out->offset = offset_of(d, at);
  if ((rc = read_byte(d, &op))) return rc;
  switch (op) {
    case 0x41:
      out->op = WISP_OP_I32_CONST, out->type = WISP_I32;
      rc = read_s32(d, &out->u.i32);
      break;
    case 0x42:
      out->op = WISP_OP_I64_CONST, out->type = WISP_I64;
      rc = read_s64(d, &out->u.i64);
      break;
    case 0x43:
      out->op = WISP_OP_F32_CONST, out->type = WISP_F32;
      if (!(rc = read_bytes(d, 4, &bytes))) out->u.f32_bits = (uint32_t)load_le(bytes, 4);
      break;
    case 0x44:
      out->op = WISP_OP_F64_CONST, out->type = WISP_F64;
      if (!(rc = read_bytes(d, 8, &bytes))) out->u.f64_bits = load_le(bytes, 8);
      break;
    case 0xD0:
      out->op = WISP_OP_REF_NULL;
      rc = read_reftype(d, &out->type);
      break;
    case 0xD2:
      out->op = WISP_OP_REF_FUNC, out->type = WISP_FUNCREF;
      rc = read_u32(d, &out->u.index);
      break;
    case 0x23:
      out->op = WISP_OP_GLOBAL_GET;
      rc = read_u32(d, &out->u.index);
      if (!rc && d->m->globals && out->u.index < d->m->nglobals)
        out->type = d->m->globals[out->u.index].type.type;
      break;
    case 0xFD: {
      uint32_t sub;
      if ((rc = read_u32(d, &sub))) return rc;
      if (sub != DECODE_V128_CONST_SUB) {
        d->p = at + 1;
        return fail_not_constant(d, at, op);
      }
      out->op = WISP_OP_V128_CONST, out->type = WISP_V128;
      if (!(rc = read_bytes(d, 16, &bytes))) memcpy(out->u.v128, bytes, 16);
      break;
    }
    case 0x0B:
      return fail_code(d, WISP_ERR_INVALID, at, "type mismatch: empty constant expression");
    default:
      return fail_not_constant(d, at, op);
  }
  if (rc) return rc;
  const uint8_t *next_at = d->p;
  uint8_t next;
  if ((rc = read_byte(d, &next))) return rc;
  if (next == 0x0B) return 0;
  if (is_const_opcode(next))
    return fail_code(d, WISP_ERR_INVALID, next_at, "type mismatch: constant expression has more than one value");
  return fail_not_constant(d, next_at, next);
}

/* ---- index spaces -------------------------------------------------------------- */

/* Each index space lists imports first; a space is allocated by its
 * section, or empty of definitions by finish_spaces once its section can
 * no longer come. */
static int alloc_funcs(decoder_t *d, uint32_t ndefined) {
  struct wisp_module *m = d->m;
  uint64_t n = (uint64_t)m->nfunc_imports + ndefined;
  if (n > UINT32_MAX) return fail(d, d->p, "too many functions");
  if (!(m->funcs = alloc_array(d, n, sizeof *m->funcs))) return fail_nomem(d);
  m->nfuncs = (uint32_t)n;
  uint32_t f = 0;
  for (uint32_t i = 0; i < m->nimports; i++)
    if (m->imports[i].kind == WISP_EXTERN_FUNC) m->funcs[f++].type_index = m->imports[i].u.type_index;
  return 0;
}

static int alloc_tables(decoder_t *d, uint32_t ndefined) {
  struct wisp_module *m = d->m;
  uint64_t n = (uint64_t)m->ntable_imports + ndefined;
  if (n > UINT32_MAX) return fail(d, d->p, "too many tables");
  if (!(m->tables = alloc_array(d, n, sizeof *m->tables))) return fail_nomem(d);
  m->ntables = (uint32_t)n;
  uint32_t t = 0;
  for (uint32_t i = 0; i < m->nimports; i++)
    if (m->imports[i].kind == WISP_EXTERN_TABLE) m->tables[t++] = m->imports[i].u.table;
  return 0;
}

static int alloc_memories(decoder_t *d, uint32_t ndefined) {
  struct wisp_module *m = d->m;
  uint64_t n = (uint64_t)m->nmemory_imports + ndefined;
  if (n > UINT32_MAX) return fail(d, d->p, "too many memories");
  if (!(m->memories = alloc_array(d, n, sizeof *m->memories))) return fail_nomem(d);
  m->nmemories = (uint32_t)n;
  uint32_t k = 0;
  for (uint32_t i = 0; i < m->nimports; i++)
    if (m->imports[i].kind == WISP_EXTERN_MEMORY) m->memories[k++] = m->imports[i].u.memory;
  return 0;
}

static int alloc_globals(decoder_t *d, uint32_t ndefined) {
  struct wisp_module *m = d->m;
  uint64_t n = (uint64_t)m->nglobal_imports + ndefined;
  if (n > UINT32_MAX) return fail(d, d->p, "too many globals");
  if (!(m->globals = alloc_array(d, n, sizeof *m->globals))) return fail_nomem(d);
  m->nglobals = m->nglobal_imports; /* grows as definitions are decoded */
  uint32_t g = 0;
  for (uint32_t i = 0; i < m->nimports; i++)
    if (m->imports[i].kind == WISP_EXTERN_GLOBAL) m->globals[g++].type = m->imports[i].u.global;
  return 0;
}

static int finish_spaces(decoder_t *d) {
  struct wisp_module *m = d->m;
  int rc = 0;
  if (!m->funcs && (rc = alloc_funcs(d, 0))) return rc;
  if (!m->tables && (rc = alloc_tables(d, 0))) return rc;
  if (!m->memories && (rc = alloc_memories(d, 0))) return rc;
  if (!m->globals && (rc = alloc_globals(d, 0))) return rc;
  return 0;
}

/* ---- sections ------------------------------------------------------------------- */

static int decode_type_section(decoder_t *d) {
  struct wisp_module *m = d->m;
  uint32_t n;
  int rc = read_count(d, 1, &n);
  if (rc) return rc;
  if (!(m->types = alloc_array(d, n, sizeof *m->types))) return fail_nomem(d);
  m->ntypes = n;
  for (uint32_t i = 0; i < n; i++) {
    wisp__functype_t *t = &m->types[i];
    const uint8_t *at = d->p;
    uint8_t form;
    uint32_t np, nr;
    if ((rc = read_byte(d, &form))) return rc;
    if (form & 0x80) return fail(d, at, "integer representation too long: function type form 0x%02x", form);
    if (form != 0x60) return fail(d, at, "malformed function type form 0x%02x", form);
    if ((rc = read_count(d, 1, &np))) return rc;
    const uint8_t *params = d->p;
    for (uint32_t k = 0; k < np; k++) {
      uint8_t vt;
      if ((rc = read_valtype(d, &vt))) return rc;
    }
    if ((rc = read_count(d, 1, &nr))) return rc;
    const uint8_t *results = d->p;
    for (uint32_t k = 0; k < nr; k++) {
      uint8_t vt;
      if ((rc = read_valtype(d, &vt))) return rc;
    }
    if (!(t->types = alloc_array(d, (uint64_t)np + nr, 1))) return fail_nomem(d);
    memcpy(t->types, params, np);
    memcpy(t->types + np, results, nr);
    t->nparams = np;
    t->nresults = nr;
    /* canon is assigned by module.c once the module has validated, so that
     * rejected uploads never grow the engine's type table */
  }
  return 0;
}

static int decode_import_section(decoder_t *d) {
  struct wisp_module *m = d->m;
  uint32_t n;
  int rc = read_count(d, 1, &n);
  if (rc) return rc;
  if (!(m->imports = alloc_array(d, n, sizeof *m->imports))) return fail_nomem(d);
  m->nimports = n;
  for (uint32_t i = 0; i < n; i++) {
    wisp__import_t *im = &m->imports[i];
    if ((rc = read_name(d, &im->module, &im->module_len))) return rc;
    if ((rc = read_name(d, &im->name, &im->name_len))) return rc;
    const uint8_t *at = d->p;
    if ((rc = read_byte(d, &im->kind))) return rc;
    switch (im->kind) {
      case WISP_EXTERN_FUNC:
        rc = read_u32(d, &im->u.type_index);
        m->nfunc_imports++;
        break;
      case WISP_EXTERN_TABLE:
        rc = read_tabletype(d, &im->u.table);
        m->ntable_imports++;
        break;
      case WISP_EXTERN_MEMORY:
        rc = read_limits(d, &im->u.memory);
        m->nmemory_imports++;
        break;
      case WISP_EXTERN_GLOBAL:
        rc = read_globaltype(d, &im->u.global);
        m->nglobal_imports++;
        break;
      default:
        return fail(d, at, "malformed import kind 0x%02x", im->kind);
    }
    if (rc) return rc;
  }
  return 0;
}

static int decode_function_section(decoder_t *d) {
  struct wisp_module *m = d->m;
  uint32_t n;
  int rc = read_count(d, 1, &n);
  if (rc) return rc;
  if ((rc = alloc_funcs(d, n))) return rc;
  for (uint32_t i = 0; i < n; i++)
    if ((rc = read_u32(d, &m->funcs[m->nfunc_imports + i].type_index))) return rc;
  return 0;
}

static int decode_table_section(decoder_t *d) {
  struct wisp_module *m = d->m;
  uint32_t n;
  int rc = read_count(d, 1, &n);
  if (rc) return rc;
  if ((rc = alloc_tables(d, n))) return rc;
  for (uint32_t i = 0; i < n; i++)
    if ((rc = read_tabletype(d, &m->tables[m->ntable_imports + i]))) return rc;
  return 0;
}

static int decode_memory_section(decoder_t *d) {
  struct wisp_module *m = d->m;
  uint32_t n;
  int rc = read_count(d, 1, &n);
  if (rc) return rc;
  if ((rc = alloc_memories(d, n))) return rc;
  for (uint32_t i = 0; i < n; i++)
    if ((rc = read_limits(d, &m->memories[m->nmemory_imports + i]))) return rc;
  return 0;
}

static int decode_global_section(decoder_t *d) {
  struct wisp_module *m = d->m;
  uint32_t n;
  int rc = read_count(d, 1, &n);
  if (rc) return rc;
  if ((rc = alloc_globals(d, n))) return rc;
  for (uint32_t i = 0; i < n; i++) {
    wisp__global_t *g = &m->globals[m->nglobal_imports + i];
    if ((rc = read_globaltype(d, &g->type))) return rc;
    if ((rc = read_constexpr(d, &g->init))) return rc;
    m->nglobals++;
  }
  return 0;
}

static int decode_export_section(decoder_t *d) {
  struct wisp_module *m = d->m;
  uint32_t n;
  int rc = read_count(d, 1, &n);
  if (rc) return rc;
  if (!(m->exports = alloc_array(d, n, sizeof *m->exports))) return fail_nomem(d);
  m->nexports = n;
  for (uint32_t i = 0; i < n; i++) {
    wisp__export_t *ex = &m->exports[i];
    if ((rc = read_name(d, &ex->name, &ex->name_len))) return rc;
    const uint8_t *at = d->p;
    if ((rc = read_byte(d, &ex->kind))) return rc;
    if (ex->kind > WISP_EXTERN_GLOBAL) return fail(d, at, "malformed export kind 0x%02x", ex->kind);
    if ((rc = read_u32(d, &ex->index))) return rc;
  }
  return 0;
}

static int decode_start_section(decoder_t *d) {
  int rc = read_u32(d, &d->m->start);
  if (rc) return rc;
  d->m->has_start = true;
  return 0;
}

/* vec(funcidx) as ref.func items (element encodings 0..3). */
static int read_elem_funcs(decoder_t *d, wisp__elem_t *e) {
  int rc = read_count(d, 1, &e->count);
  if (rc) return rc;
  if (!(e->items = alloc_array(d, e->count, sizeof *e->items))) return fail_nomem(d);
  for (uint32_t k = 0; k < e->count; k++) {
    wisp__constexpr_t *item = &e->items[k];
    item->offset = offset_of(d, d->p);
    item->op = WISP_OP_REF_FUNC;
    item->type = WISP_FUNCREF;
    if ((rc = read_u32(d, &item->u.index))) return rc;
  }
  return 0;
}

/* vec(expr) items (element encodings 4..7). */
static int read_elem_exprs(decoder_t *d, wisp__elem_t *e) {
  int rc = read_count(d, 1, &e->count);
  if (rc) return rc;
  if (!(e->items = alloc_array(d, e->count, sizeof *e->items))) return fail_nomem(d);
  for (uint32_t k = 0; k < e->count; k++)
    if ((rc = read_constexpr(d, &e->items[k]))) return rc;
  return 0;
}

static int read_elemkind(decoder_t *d, wisp__elem_t *e) {
  const uint8_t *at = d->p;
  uint8_t kind;
  int rc = read_byte(d, &kind);
  if (rc) return rc;
  if (kind != 0x00) return fail(d, at, "malformed element kind 0x%02x", kind);
  e->type = WISP_FUNCREF;
  return 0;
}

/* One element segment. Flag bits: 0 = passive or declarative (1 with bit 1
 * set = declarative), 1 = explicit table index (active) / declarative,
 * 2 = items are expressions with a reftype instead of funcidx with elemkind. */
static int read_elem(decoder_t *d, wisp__elem_t *e) {
  const uint8_t *at = d->p;
  uint32_t flags;
  int rc = read_u32(d, &flags);
  if (rc) return rc;
  if (flags > 7) return fail(d, at, "malformed elements segment kind %u", flags);
  bool exprs = flags & 4;
  e->section_offset = offset_of(d, at);
  e->type = WISP_FUNCREF;
  if (flags & 1) {
    e->mode = (flags & 2) ? WISP_SEG_DECLARATIVE : WISP_SEG_PASSIVE;
    rc = exprs ? read_reftype(d, &e->type) : read_elemkind(d, e);
    if (rc) return rc;
  } else {
    e->mode = WISP_SEG_ACTIVE;
    if ((flags & 2) && (rc = read_u32(d, &e->table))) return rc;
    if ((rc = read_constexpr(d, &e->offset))) return rc;
    if (flags & 2) {
      rc = exprs ? read_reftype(d, &e->type) : read_elemkind(d, e);
      if (rc) return rc;
    }
  }
  return exprs ? read_elem_exprs(d, e) : read_elem_funcs(d, e);
}

static int decode_element_section(decoder_t *d) {
  struct wisp_module *m = d->m;
  uint32_t n;
  int rc = read_count(d, 1, &n);
  if (rc) return rc;
  if (!(m->elems = alloc_array(d, n, sizeof *m->elems))) return fail_nomem(d);
  m->nelems = n;
  for (uint32_t i = 0; i < n; i++)
    if ((rc = read_elem(d, &m->elems[i]))) return rc;
  return 0;
}

static int decode_datacount_section(decoder_t *d) {
  int rc = read_u32(d, &d->m->datacount);
  if (rc) return rc;
  d->m->has_datacount = true;
  return 0;
}

/* One code entry: size, local declarations, body. d->end is the section's
 * end on entry and is restored on return. */
static int read_code_entry(decoder_t *d, wisp__func_t *f) {
  const uint8_t *section_end = d->end, *at = d->p;
  uint32_t size, nruns;
  int rc = read_u32(d, &size);
  if (rc) return rc;
  if ((size_t)(d->end - d->p) < size)
    return fail(d, at, "unexpected end of section or function: body of %u bytes, %zu left", size,
                (size_t)(d->end - d->p));
  f->entry_offset = offset_of(d, at);
  d->end = d->p + size;
  if ((rc = read_count(d, 2, &nruns))) return rc;
  if (!(f->localruns = alloc_array(d, nruns, sizeof *f->localruns))) return fail_nomem(d);
  f->nlocalruns = nruns;
  uint64_t total = 0;
  for (uint32_t k = 0; k < nruns; k++) {
    const uint8_t *run_at = d->p;
    if ((rc = read_u32(d, &f->localruns[k].count))) return rc;
    if ((rc = read_valtype(d, &f->localruns[k].type))) return rc;
    total += f->localruns[k].count;
    if (total > DECODE_MAX_LOCALS)
      return fail(d, run_at, "too many locals: %llu declared, at most %u allowed", (unsigned long long)total,
                  DECODE_MAX_LOCALS);
  }
  f->nlocals = (uint32_t)total;
  if (d->p >= d->end) return fail(d, d->p, "unexpected end of section or function: empty body");
  if (d->end[-1] != 0x0B) return fail(d, d->end - 1, "END opcode expected at the end of the body");
  f->body_start = offset_of(d, d->p);
  f->body_end = offset_of(d, d->end);
  d->p = d->end;
  d->end = section_end;
  return 0;
}

static int decode_code_section(decoder_t *d) {
  struct wisp_module *m = d->m;
  const uint8_t *at = d->p;
  uint32_t n;
  int rc = read_count(d, 1, &n);
  if (rc) return rc;
  uint32_t ndefined = m->nfuncs - m->nfunc_imports;
  if (n != ndefined)
    return fail(d, at, "function and code section have inconsistent lengths: %u functions, %u bodies", ndefined, n);
  for (uint32_t i = 0; i < n; i++) {
    d->func = (int64_t)m->nfunc_imports + i;
    if ((rc = read_code_entry(d, &m->funcs[m->nfunc_imports + i]))) return rc;
  }
  d->func = -1;
  return 0;
}

static int read_data(decoder_t *d, wisp__data_t *seg) {
  const uint8_t *at = d->p;
  uint32_t flags;
  int rc = read_u32(d, &flags);
  if (rc) return rc;
  seg->section_offset = offset_of(d, at);
  switch (flags) {
    case 0:
      seg->mode = WISP_SEG_ACTIVE;
      rc = read_constexpr(d, &seg->offset);
      break;
    case 1:
      seg->mode = WISP_SEG_PASSIVE;
      break;
    case 2:
      seg->mode = WISP_SEG_ACTIVE;
      if (!(rc = read_u32(d, &seg->memory))) rc = read_constexpr(d, &seg->offset);
      break;
    default:
      return fail(d, at, "malformed data segment kind %u", flags);
  }
  if (rc) return rc;
  at = d->p;
  if ((rc = read_u32(d, &seg->len))) return rc;
  if ((size_t)(d->end - d->p) < seg->len)
    return fail(d, at, "unexpected end of section or function: data of %u bytes, %zu left", seg->len,
                (size_t)(d->end - d->p));
  return read_bytes(d, seg->len, &seg->bytes);
}

static int decode_data_section(decoder_t *d) {
  struct wisp_module *m = d->m;
  const uint8_t *at = d->p;
  uint32_t n;
  int rc = read_count(d, 1, &n);
  if (rc) return rc;
  if (m->has_datacount && n != m->datacount)
    return fail(d, at, "data count and data section have inconsistent lengths: count %u, %u segments",
                m->datacount, n);
  if (!(m->datas = alloc_array(d, n, sizeof *m->datas))) return fail_nomem(d);
  m->ndatas = n;
  for (uint32_t i = 0; i < n; i++)
    if ((rc = read_data(d, &m->datas[i]))) return rc;
  return 0;
}

static int decode_custom_section(decoder_t *d) {
  struct wisp_module *m = d->m;
  wisp__custom_t c = {0};
  int rc = read_name(d, &c.name, &c.name_len);
  if (rc) return rc;
  c.data = d->p;
  c.len = (uint32_t)(d->end - d->p);
  c.after_section = d->last_id;
  d->p = d->end;
  /* grow by doubling; the arena keeps the old copies until the module goes */
  uint32_t n = m->ncustoms;
  if ((n & (n - 1)) == 0) {
    wisp__custom_t *grown = alloc_array(d, n ? 2 * (uint64_t)n : 1, sizeof *grown);
    if (!grown) return fail_nomem(d);
    if (n) memcpy(grown, m->customs, n * sizeof *grown);
    m->customs = grown;
  }
  m->customs[m->ncustoms++] = c;
  return 0;
}

/* ---- the name section ----------------------------------------------------------- */

/* Parses the function name map of a `name` custom section into
 * m->func_names. Custom section contents are not validated, so any problem
 * just leaves func_names NULL. */
static void parse_name_section(decoder_t *d, const wisp__custom_t *c) {
  struct wisp_module *m = d->m;
  decoder_t sub = *d;
  wisp_error_t ignored;
  sub.err = &ignored;
  sub.p = c->data;
  sub.end = c->data + c->len;
  while (sub.p < sub.end) {
    uint8_t id;
    uint32_t size;
    if (read_byte(&sub, &id) || read_u32(&sub, &size) || (size_t)(sub.end - sub.p) < size) return;
    const uint8_t *sub_end = sub.p + size;
    if (id != 1) {
      sub.p = sub_end;
      continue;
    }
    sub.end = sub_end;
    uint32_t n;
    if (read_count(&sub, 2, &n)) return;
    const char **names = alloc_array(d, m->nfuncs, sizeof *names);
    if (!names) return;
    for (uint32_t i = 0; i < n; i++) {
      uint32_t index, len;
      const char *name;
      if (read_u32(&sub, &index) || read_name(&sub, &name, &len)) return;
      if (index >= m->nfuncs) continue;
      char *copy = wisp__arena_alloc(&m->arena, (size_t)len + 1);
      if (!copy) return;
      memcpy(copy, name, len);
      copy[len] = '\0';
      names[index] = copy;
    }
    if (sub.p != sub.end) return;
    m->func_names = names;
    return;
  }
}

/* ---- module -------------------------------------------------------------------- */

static const char *section_name(uint8_t id) {
  static const char *const names[] = {"custom", "type",    "import", "function", "table",
                                      "memory", "global",  "export", "start",    "element",
                                      "code",   "data",    "data count"};
  return id < sizeof names / sizeof names[0] ? names[id] : "unknown";
}

/* Position of a known section id in the required order (datacount sits
 * between element and code). */
static unsigned section_rank(uint8_t id) {
  static const unsigned char rank[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 10};
  return rank[id];
}

static int decode_section(decoder_t *d, uint8_t id) {
  switch (id) {
    case WISP_SEC_CUSTOM: return decode_custom_section(d);
    case WISP_SEC_TYPE: return decode_type_section(d);
    case WISP_SEC_IMPORT: return decode_import_section(d);
    case WISP_SEC_FUNCTION: return decode_function_section(d);
    case WISP_SEC_TABLE: return decode_table_section(d);
    case WISP_SEC_MEMORY: return decode_memory_section(d);
    case WISP_SEC_GLOBAL: return decode_global_section(d);
    case WISP_SEC_EXPORT: return decode_export_section(d);
    case WISP_SEC_START: return decode_start_section(d);
    case WISP_SEC_ELEMENT: return decode_element_section(d);
    case WISP_SEC_CODE: return decode_code_section(d);
    case WISP_SEC_DATA: return decode_data_section(d);
    case WISP_SEC_DATACOUNT: return decode_datacount_section(d);
  }
  return fail(d, d->p, "malformed section id %u", id);
}

static int decode_header(decoder_t *d) {
  static const uint8_t magic[4] = {0x00, 0x61, 0x73, 0x6D};
  size_t len = (size_t)(d->file_end - d->start);
  if (len < 4) return fail(d, d->file_end, "unexpected end: the header needs 8 bytes, the module has %zu", len);
  if (memcmp(d->start, magic, 4) != 0) return fail(d, d->start, "magic header not detected");
  if (len < 8) return fail(d, d->file_end, "unexpected end: the header needs 8 bytes, the module has %zu", len);
  if (load_le(d->start + 4, 4) != 1)
    return fail(d, d->start + 4, "unknown binary version 0x%x", (uint32_t)load_le(d->start + 4, 4));
  d->p = d->start + 8;
  return 0;
}

/* Checks that hold once every section has been read. */
static int decode_finish(decoder_t *d) {
  struct wisp_module *m = d->m;
  int rc = finish_spaces(d);
  if (rc) return rc;
  if (m->nfuncs > m->nfunc_imports && m->funcs[m->nfunc_imports].body_end == 0)
    return fail(d, d->file_end, "function and code section have inconsistent lengths: %u functions, no code section",
                m->nfuncs - m->nfunc_imports);
  if (m->has_datacount && m->datacount != m->ndatas && !m->datas)
    return fail(d, d->file_end, "data count and data section have inconsistent lengths: count %u, no data section",
                m->datacount);
  for (uint32_t i = 0; i < m->ncustoms; i++) {
    if (m->customs[i].name_len == 4 && memcmp(m->customs[i].name, "name", 4) == 0) {
      parse_name_section(d, &m->customs[i]);
      break;
    }
  }
  return 0;
}

int wisp__decode(struct wisp_module *m, wisp_error_t *err) {
  decoder_t d = {.m = m, .err = err, .func = -1};
  d.start = m->bytes;
  d.file_end = m->bytes + m->len;
  d.end = d.file_end;
  if (m->len > UINT32_MAX) return fail(&d, d.start, "module of %zu bytes is larger than 4 GiB", m->len);
  int rc = decode_header(&d);
  if (rc) return rc;
  unsigned last_rank = 0;
  while (d.p < d.file_end) {
    const uint8_t *at = d.p;
    uint8_t id = *d.p++;
    uint32_t size;
    if (id > WISP_SEC_DATACOUNT) return fail(&d, at, "malformed section id %u", id);
    if ((rc = read_u32(&d, &size))) return rc;
    if ((size_t)(d.file_end - d.p) < size)
      return fail(&d, at, "length out of bounds: %s section of %u bytes, %zu left", section_name(id), size,
                  (size_t)(d.file_end - d.p));
    if (id != WISP_SEC_CUSTOM) {
      unsigned rank = section_rank(id);
      if (rank <= last_rank)
        return fail(&d, at, "unexpected content after last section: %s section %s", section_name(id),
                    rank == last_rank ? "repeated" : "out of order");
      last_rank = rank;
      if (rank > section_rank(WISP_SEC_GLOBAL) && (rc = finish_spaces(&d))) return rc;
    }
    d.section = section_name(id);
    d.end = d.p + size;
    if ((rc = decode_section(&d, id))) return rc;
    if (d.p != d.end)
      return fail(&d, d.p, "section size mismatch: %zu bytes left over", (size_t)(d.end - d.p));
    if (id != WISP_SEC_CUSTOM) d.last_id = id;
    d.section = NULL;
    d.end = d.file_end;
  }
  return decode_finish(&d);
}
