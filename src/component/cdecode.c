/*
 * cdecode.c: decoding and validating a component binary (Binary.md of the
 * WebAssembly/component-model repository, version 0x0d, layer 1) into the
 * representation of component.h.
 *
 * Decoding and validation run in one pass, as the index spaces are built
 * incrementally: every definition may refer only to what precedes it. Each
 * section's entries are checked as they are read (index bounds per sort, sorts of
 * alias targets, type well-formedness, names, canon options); the first failure
 * ends the pass with a message naming the section and the byte offset.
 *
 * Nesting (components inside components, type declarators inside types) recurses
 * in C, bounded by MAX_DEPTH, so a hostile binary cannot exhaust the stack.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "component.h"
#include "leb128.h"

#define MAX_DEPTH 64

typedef struct reader {
  const uint8_t *p, *end;
} reader_t;

typedef struct cdec {
  wisp_component_t *c;
  const uint8_t *base; /* start of the outermost binary, for offsets */
  wisp_error_t *err;
  const char *section; /* section name for messages */
  int depth;
} cdec_t;

/* ---- errors ---- */

static int __attribute__((format(printf, 4, 5)))
fail_code(cdec_t *d, int code, const uint8_t *at, const char *fmt, ...) {
  char msg[420];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  uint32_t o = (uint32_t)(at - d->base);
  if (d->err) {
    d->err->code = code;
    d->err->offset = o;
    if (d->section)
      snprintf(d->err->message, sizeof d->err->message, "%s section, offset 0x%x: %s", d->section, o, msg);
    else
      snprintf(d->err->message, sizeof d->err->message, "component, offset 0x%x: %s", o, msg);
  }
  return code;
}

#define malformed(d, at, ...) fail_code((d), WISP_ERR_MALFORMED, (at), __VA_ARGS__)
#define invalid(d, at, ...) fail_code((d), WISP_ERR_INVALID, (at), __VA_ARGS__)
#define unsupported(d, at, ...) fail_code((d), WISP_ERR_UNSUPPORTED, (at), __VA_ARGS__)

static int nomem(cdec_t *d) {
  if (d->err) {
    d->err->code = WISP_ERR_NOMEM;
    d->err->offset = 0;
    snprintf(d->err->message, sizeof d->err->message, "out of memory decoding the component");
  }
  return WISP_ERR_NOMEM;
}

/* ---- reading ---- */

static int read_byte(cdec_t *d, reader_t *r, uint8_t *out) {
  *out = 0;
  if (r->p >= r->end) return malformed(d, r->p, "unexpected end");
  *out = *r->p++;
  return 0;
}

static int read_u32(cdec_t *d, reader_t *r, uint32_t *out) {
  uint64_t v = 0;
  *out = 0;
  const uint8_t *at = r->p;
  int rc = wisp__leb_u(&r->p, r->end, 32, &v);
  if (rc == WISP_LEB_END) return malformed(d, at, "unexpected end");
  if (rc != WISP_LEB_OK) return malformed(d, at, "integer too large or too long");
  *out = (uint32_t)v;
  return 0;
}

/* A vector length, bounded by the bytes left (each element takes at least one). */
static int read_count(cdec_t *d, reader_t *r, uint32_t *out) {
  const uint8_t *at = r->p;
  int rc = read_u32(d, r, out);
  if (rc) return rc;
  if (*out > (size_t)(r->end - r->p)) {
    *out = 0;
    return malformed(d, at, "vector length %u is larger than the %zu bytes left", (unsigned)*out,
                     (size_t)(r->end - r->p));
  }
  return 0;
}

static bool utf8_valid(const uint8_t *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    uint8_t b = s[i];
    size_t len;
    uint32_t cp;
    if (b < 0x80) { i++; continue; }
    if ((b & 0xE0) == 0xC0) { len = 2; cp = b & 0x1F; }
    else if ((b & 0xF0) == 0xE0) { len = 3; cp = b & 0x0F; }
    else if ((b & 0xF8) == 0xF0) { len = 4; cp = b & 0x07; }
    else return false;
    if (i + len > n) return false;
    for (size_t k = 1; k < len; k++) {
      if ((s[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += len;
  }
  return true;
}

static int read_name(cdec_t *d, reader_t *r, const char **name, uint32_t *len) {
  const uint8_t *at = r->p;
  *name = NULL;
  *len = 0;
  uint32_t n = 0;
  int rc = read_u32(d, r, &n);
  if (rc) return rc;
  if (n > (size_t)(r->end - r->p)) return malformed(d, at, "name of %u bytes runs past the end", (unsigned)n);
  if (!utf8_valid(r->p, n)) return malformed(d, at, "name is not valid UTF-8");
  *name = (const char *)r->p;
  *len = n;
  r->p += n;
  return 0;
}

/* importname' / exportname': a discriminator byte (0x00; 0x01 in older binaries
 * marked interface names), then the name. */
static int read_extern_name(cdec_t *d, reader_t *r, const char **name, uint32_t *len) {
  uint8_t b = 0;
  const uint8_t *at = r->p;
  int rc = read_byte(d, r, &b);
  if (rc) return rc;
  if (b > 0x01) return malformed(d, at, "import or export name: unknown discriminator 0x%02x", b);
  return read_name(d, r, name, len);
}

/* ---- scopes and index spaces ---- */

static wisp__cscope_t *scope_new(cdec_t *d, const wisp__cscope_t *parent, uint8_t kind) {
  wisp__cscope_t *s = wisp__arena_alloc(&d->c->arena, sizeof *s);
  if (!s) return NULL;
  s->kind = kind;
  s->parent = parent;
  return s;
}

static uint32_t space_len(const wisp__cscope_t *s, int sort) { return s->space[sort].len; }

static wisp__citem_t *item_at(const wisp__cscope_t *s, int sort, uint32_t i) {
  return &WISP__CVEC_AT(s->space[sort], wisp__citem_t, i);
}

/* Appends `item` to the index space of `sort`; records the definition. */
static int push_item(cdec_t *d, wisp__cscope_t *s, int sort, const wisp__citem_t *item,
                     uint32_t *index) {
  wisp__citem_t *slot = wisp__cvec_push(&d->c->arena, &s->space[sort], sizeof *slot);
  if (!slot) return nomem(d);
  *slot = *item;
  wisp__cdef_t *def = wisp__cvec_push(&d->c->arena, &s->defs, sizeof *def);
  if (!def) return nomem(d);
  def->sort = (uint8_t)sort;
  def->index = s->space[sort].len - 1;
  if (index) *index = def->index;
  return 0;
}

/* Reads an index into `sort`'s space of `s` and checks its bound. */
static int read_index(cdec_t *d, reader_t *r, const wisp__cscope_t *s, int sort, uint32_t *out,
                      const char *what) {
  const uint8_t *at = r->p;
  int rc = read_u32(d, r, out);
  if (rc) return rc;
  if (*out >= space_len(s, sort))
    return invalid(d, at, "%s: %s index %u out of range (%u defined)", what, wisp_sort_name(sort),
                   (unsigned)*out, (unsigned)space_len(s, sort));
  return 0;
}

static uint32_t add_type(cdec_t *d, const wisp__ctype_t *t) { return wisp__ctype_add(d->c, t); }

static void *arena_array(cdec_t *d, uint32_t n, size_t size) {
  if (n == 0) return NULL;
  return wisp__arena_alloc(&d->c->arena, (size_t)n * size);
}

/* ---- sorts ---- */

static int core_sort_of(uint8_t code) {
  switch (code) {
  case 0x00: return WISP_SORT_CORE_FUNC;
  case 0x01: return WISP_SORT_CORE_TABLE;
  case 0x02: return WISP_SORT_CORE_MEMORY;
  case 0x03: return WISP_SORT_CORE_GLOBAL;
  case 0x10: return WISP_SORT_CORE_TYPE;
  case 0x11: return WISP_SORT_CORE_MODULE;
  case 0x12: return WISP_SORT_CORE_INSTANCE;
  default: return -1;
  }
}

static int read_core_sort(cdec_t *d, reader_t *r, int *sort) {
  uint8_t b = 0;
  const uint8_t *at = r->p;
  *sort = 0;
  int rc = read_byte(d, r, &b);
  if (rc) return rc;
  *sort = core_sort_of(b);
  if (*sort < 0) return malformed(d, at, "unknown core sort 0x%02x", b);
  return 0;
}

static int read_sort(cdec_t *d, reader_t *r, int *sort) {
  uint8_t b = 0;
  const uint8_t *at = r->p;
  *sort = 0;
  int rc = read_byte(d, r, &b);
  if (rc) return rc;
  if (b == 0x00) return read_core_sort(d, r, sort);
  if (b > 0x05) return malformed(d, at, "unknown sort 0x%02x", b);
  *sort = WISP_SORT_FUNC + (b - 1);
  if (*sort == WISP_SORT_VALUE)
    return unsupported(d, at, "value definitions (the value sort) are not supported");
  return 0;
}

/* ---- core types ---- */

static int read_core_valtype(cdec_t *d, reader_t *r, uint8_t *out) {
  const uint8_t *at = r->p;
  int rc = read_byte(d, r, out);
  if (rc) return rc;
  switch (*out) {
  case WISP_I32: case WISP_I64: case WISP_F32: case WISP_F64: case WISP_V128:
  case WISP_FUNCREF: case WISP_EXTERNREF: return 0;
  default: return unsupported(d, at, "core value type 0x%02x is not supported", *out);
  }
}

static int read_core_functype(cdec_t *d, reader_t *r, uint32_t *id) {
  wisp__ctype_t t = {.kind = WISP__CT_CORE_FUNC};
  int rc = read_count(d, r, &t.nparams_core);
  if (rc) return rc;
  t.params_core = arena_array(d, t.nparams_core, 1);
  if (t.nparams_core && !t.params_core) return nomem(d);
  for (uint32_t i = 0; i < t.nparams_core; i++)
    if ((rc = read_core_valtype(d, r, &t.params_core[i]))) return rc;
  if ((rc = read_count(d, r, &t.nresults_core))) return rc;
  t.results_core = arena_array(d, t.nresults_core, 1);
  if (t.nresults_core && !t.results_core) return nomem(d);
  for (uint32_t i = 0; i < t.nresults_core; i++)
    if ((rc = read_core_valtype(d, r, &t.results_core[i]))) return rc;
  *id = add_type(d, &t);
  return *id == WISP__CNONE ? nomem(d) : 0;
}

static int read_limits(cdec_t *d, reader_t *r, bool memory) {
  uint8_t flags = 0;
  uint32_t v = 0;
  const uint8_t *at = r->p;
  int rc = read_byte(d, r, &flags);
  if (rc) return rc;
  if (flags & ~(memory ? 0x07 : 0x01)) return malformed(d, at, "unknown limits flags 0x%02x", flags);
  if (flags & 0x04) {
    uint64_t v64 = 0;
    at = r->p;
    if (wisp__leb_u(&r->p, r->end, 64, &v64)) return malformed(d, at, "bad 64-bit limit");
    if ((flags & 0x01) && wisp__leb_u(&r->p, r->end, 64, &v64)) return malformed(d, at, "bad 64-bit limit");
    return 0;
  }
  if ((rc = read_u32(d, r, &v))) return rc;
  if ((flags & 0x01) && (rc = read_u32(d, r, &v))) return rc;
  return 0;
}

/* core:importdesc in a core module type: sets *sort and *type (a core func type
 * from the scope's core type space, or WISP__CNONE). */
static int read_core_importdesc(cdec_t *d, reader_t *r, const wisp__cscope_t *s, uint8_t *sort,
                                uint32_t *type) {
  uint8_t b = 0, v = 0;
  const uint8_t *at = r->p;
  int rc = read_byte(d, r, &b);
  *type = WISP__CNONE;
  *sort = 0;
  if (rc) return rc;
  switch (b) {
  case 0x00: {
    uint32_t idx = 0;
    at = r->p;
    if ((rc = read_index(d, r, s, WISP_SORT_CORE_TYPE, &idx, "core import"))) return rc;
    *type = item_at(s, WISP_SORT_CORE_TYPE, idx)->type;
    if (wisp__ctype(d->c, *type)->kind != WISP__CT_CORE_FUNC)
      return invalid(d, at, "core type %u is not a function type", (unsigned)idx);
    *sort = WISP_SORT_CORE_FUNC;
    return 0;
  }
  case 0x01:
    *sort = WISP_SORT_CORE_TABLE;
    if ((rc = read_core_valtype(d, r, &v))) return rc;
    return read_limits(d, r, false);
  case 0x02: *sort = WISP_SORT_CORE_MEMORY; return read_limits(d, r, true);
  case 0x03:
    *sort = WISP_SORT_CORE_GLOBAL;
    if ((rc = read_core_valtype(d, r, &v))) return rc;
    if ((rc = read_byte(d, r, &v))) return rc;
    if (v > 1) return malformed(d, at, "global mutability 0x%02x", v);
    return 0;
  default: return malformed(d, at, "unknown core import kind 0x%02x", b);
  }
}

static int read_core_type(cdec_t *d, reader_t *r, wisp__cscope_t *s, uint32_t *id);

/* core:moduletype: 0x50 already read. */
static int read_core_moduletype(cdec_t *d, reader_t *r, const wisp__cscope_t *parent, uint32_t *id) {
  if (++d->depth > MAX_DEPTH) return invalid(d, r->p, "types nested too deeply");
  wisp__cscope_t *s = scope_new(d, parent, WISP__SCOPE_MODULE_TYPE);
  if (!s) return nomem(d);
  uint32_t n = 0;
  int rc = read_count(d, r, &n);
  if (rc) return rc;
  for (uint32_t i = 0; i < n; i++) {
    uint8_t b = 0;
    const uint8_t *at = r->p;
    if ((rc = read_byte(d, r, &b))) return rc;
    if (b == 0x00 || b == 0x03) { /* import / export */
      wisp__cextern_t e = {0};
      if (b == 0x00 && (rc = read_name(d, r, &e.module, &e.module_len))) return rc;
      if ((rc = read_name(d, r, &e.name, &e.name_len))) return rc;
      if ((rc = read_core_importdesc(d, r, s, &e.sort, &e.type))) return rc;
      wisp__cextern_t *slot = wisp__cvec_push(&d->c->arena, b == 0x00 ? &s->imports : &s->exports, sizeof *slot);
      if (!slot) return nomem(d);
      *slot = e;
    } else if (b == 0x01) {
      uint32_t tid = 0;
      if ((rc = read_core_type(d, r, s, &tid))) return rc;
      if (wisp__ctype(d->c, tid)->kind != WISP__CT_CORE_FUNC)
        return invalid(d, at, "a core module type may not define a module type");
      wisp__citem_t item = {.how = WISP__DEF_TYPE, .type = tid, .offset = (uint32_t)(at - d->base)};
      if ((rc = push_item(d, s, WISP_SORT_CORE_TYPE, &item, NULL))) return rc;
    } else if (b == 0x02) {
      uint8_t sortb = 0, tgt = 0;
      uint32_t ct = 0, idx = 0;
      if ((rc = read_byte(d, r, &sortb)) || (rc = read_byte(d, r, &tgt))) return rc;
      if (sortb != 0x10 || tgt != 0x01)
        return invalid(d, at, "core module type: only outer type aliases are allowed");
      if ((rc = read_u32(d, r, &ct)) || (rc = read_u32(d, r, &idx))) return rc;
      const wisp__cscope_t *o = s;
      for (uint32_t k = 0; k < ct && o; k++) o = o->parent;
      if (!o || ct > 1) return invalid(d, at, "outer alias count %u out of range", (unsigned)ct);
      if (idx >= space_len(o, WISP_SORT_CORE_TYPE))
        return invalid(d, at, "outer alias: core type index %u out of range", (unsigned)idx);
      wisp__citem_t item = *item_at(o, WISP_SORT_CORE_TYPE, idx);
      if (wisp__ctype(d->c, item.type)->kind != WISP__CT_CORE_FUNC)
        return invalid(d, at, "outer alias of a core module type inside a core module type");
      item.how = WISP__DEF_ALIAS_OUTER;
      if ((rc = push_item(d, s, WISP_SORT_CORE_TYPE, &item, NULL))) return rc;
    } else {
      return malformed(d, at, "unknown core module type declarator 0x%02x", b);
    }
  }
  wisp__ctype_t t = {.kind = WISP__CT_CORE_MODULE,
                     .nimports = s->imports.len, .imports = s->imports.data,
                     .nexports = s->exports.len, .exports = s->exports.data};
  *id = add_type(d, &t);
  d->depth--;
  return *id == WISP__CNONE ? nomem(d) : 0;
}

static int read_core_type(cdec_t *d, reader_t *r, wisp__cscope_t *s, uint32_t *id) {
  uint8_t b = 0;
  const uint8_t *at = r->p;
  *id = WISP__CNONE;
  int rc = read_byte(d, r, &b);
  if (rc) return rc;
  if (b == 0x60) return read_core_functype(d, r, id);
  if (b == 0x50) {
    if (s->kind == WISP__SCOPE_MODULE_TYPE)
      return invalid(d, at, "a core module type may not define a module type");
    return read_core_moduletype(d, r, s, id);
  }
  if (b == 0x4e || b == 0x4f || b == 0x5e || b == 0x5f)
    return unsupported(d, at, "core GC types (0x%02x) are not supported", b);
  return malformed(d, at, "unknown core type 0x%02x", b);
}

/* ---- component types ---- */

static int read_valtype(cdec_t *d, reader_t *r, const wisp__cscope_t *s, uint32_t *id) {
  const uint8_t *at = r->p;
  int64_t v = 0;
  *id = WISP__CNONE;
  if (wisp__leb_s(&r->p, r->end, 33, &v)) return malformed(d, at, "bad value type");
  if (v < 0) {
    if (v >= -13) { *id = (uint32_t)(-1 - v); return 0; } /* 0x7f bool .. 0x73 string */
    return malformed(d, at, "unknown primitive value type 0x%02x", *at);
  }
  if ((uint64_t)v >= space_len(s, WISP_SORT_TYPE))
    return invalid(d, at, "type index %lld out of range (%u defined)", (long long)v,
                   (unsigned)space_len(s, WISP_SORT_TYPE));
  *id = item_at(s, WISP_SORT_TYPE, (uint32_t)v)->type;
  if (!wisp__ctype_is_value(d->c, *id))
    return invalid(d, at, "type %lld is not a value type", (long long)v);
  return 0;
}

static int read_opt_valtype(cdec_t *d, reader_t *r, const wisp__cscope_t *s, uint32_t *id) {
  uint8_t b = 0;
  const uint8_t *at = r->p;
  *id = WISP__CNONE;
  int rc = read_byte(d, r, &b);
  if (rc) return rc;
  if (b == 0x00) return 0;
  if (b != 0x01) return malformed(d, at, "optional value type: bad discriminator 0x%02x", b);
  return read_valtype(d, r, s, id);
}

/* Labels must be kebab-case and unique (ignoring case) in their type. */
static int check_labels(cdec_t *d, const uint8_t *at, const wisp__cfield_t *f, uint32_t n,
                        const char *what) {
  for (uint32_t i = 0; i < n; i++) {
    if (!wisp__cname_is_label(f[i].name, f[i].name_len))
      return invalid(d, at, "%s name \"%.*s\" is not a kebab-case label", what, (int)f[i].name_len, f[i].name);
    for (uint32_t k = 0; k < i; k++)
      if (wisp__cname_eq_nocase(f[i].name, f[i].name_len, f[k].name, f[k].name_len))
        return invalid(d, at, "%s name \"%.*s\" is not unique", what, (int)f[i].name_len, f[i].name);
  }
  return 0;
}

static int read_labelled(cdec_t *d, reader_t *r, const wisp__cscope_t *s, wisp__cfield_t **out,
                         uint32_t *n, const char *what) {
  const uint8_t *at = r->p;
  int rc = read_count(d, r, n);
  if (rc) return rc;
  *out = arena_array(d, *n, sizeof **out);
  if (*n && !*out) return nomem(d);
  for (uint32_t i = 0; i < *n; i++) {
    if ((rc = read_name(d, r, &(*out)[i].name, &(*out)[i].name_len))) return rc;
    if ((rc = read_valtype(d, r, s, &(*out)[i].type))) return rc;
  }
  return check_labels(d, at, *out, *n, what);
}

static int read_functype(cdec_t *d, reader_t *r, const wisp__cscope_t *s, wisp__ctype_t *t) {
  const uint8_t *at = r->p;
  uint8_t b = 0;
  t->kind = WISP__CT_FUNC;
  int rc = read_labelled(d, r, s, &t->fields, &t->n, "parameter");
  if (rc) return rc;
  if ((rc = read_byte(d, r, &b))) return rc;
  if (b == 0x00) {
    t->nresults = 1;
    t->results = arena_array(d, 1, sizeof *t->results);
    if (!t->results) return nomem(d);
    if ((rc = read_valtype(d, r, s, &t->results[0].type))) return rc;
  } else if (b == 0x01) {
    if ((rc = read_labelled(d, r, s, &t->results, &t->nresults, "result"))) return rc;
  } else {
    return malformed(d, at, "function type: bad result list discriminator 0x%02x", b);
  }
  for (uint32_t i = 0; i < t->nresults; i++)
    if (wisp__ctype(d->c, t->results[i].type)->has_borrow)
      return invalid(d, at, "function type: a result may not contain a borrow handle");
  return 0;
}

static int read_defvaltype(cdec_t *d, reader_t *r, const wisp__cscope_t *s, uint8_t op,
                           wisp__ctype_t *t) {
  const uint8_t *at = r->p - 1;
  int rc = 0;
  switch (op) {
  case 0x72:
    t->kind = WISP__CT_RECORD;
    if ((rc = read_labelled(d, r, s, &t->fields, &t->n, "record field"))) return rc;
    if (!t->n) return invalid(d, at, "record type with no fields");
    return 0;
  case 0x71: {
    t->kind = WISP__CT_VARIANT;
    if ((rc = read_count(d, r, &t->n))) return rc;
    if (!t->n) return invalid(d, at, "variant type with no cases");
    t->fields = arena_array(d, t->n, sizeof *t->fields);
    if (!t->fields) return nomem(d);
    for (uint32_t i = 0; i < t->n; i++) {
      uint8_t refines = 0;
      if ((rc = read_name(d, r, &t->fields[i].name, &t->fields[i].name_len))) return rc;
      if ((rc = read_opt_valtype(d, r, s, &t->fields[i].type))) return rc;
      const uint8_t *rat = r->p;
      if ((rc = read_byte(d, r, &refines))) return rc;
      if (refines != 0x00) return malformed(d, rat, "variant case: refines (0x%02x) is not supported", refines);
    }
    return check_labels(d, at, t->fields, t->n, "variant case");
  }
  case 0x70: t->kind = WISP__CT_LIST; return read_valtype(d, r, s, &t->a);
  case 0x6f:
    t->kind = WISP__CT_TUPLE;
    if ((rc = read_count(d, r, &t->n))) return rc;
    if (!t->n) return invalid(d, at, "tuple type with no elements");
    t->fields = arena_array(d, t->n, sizeof *t->fields);
    if (!t->fields) return nomem(d);
    for (uint32_t i = 0; i < t->n; i++)
      if ((rc = read_valtype(d, r, s, &t->fields[i].type))) return rc;
    return 0;
  case 0x6e: case 0x6d:
    t->kind = op == 0x6e ? WISP__CT_FLAGS : WISP__CT_ENUM;
    if ((rc = read_count(d, r, &t->n))) return rc;
    if (!t->n) return invalid(d, at, "%s type with no labels", op == 0x6e ? "flags" : "enum");
    if (op == 0x6e && t->n > 32)
      return invalid(d, at, "flags type with %u labels (at most 32)", (unsigned)t->n);
    t->fields = arena_array(d, t->n, sizeof *t->fields);
    if (!t->fields) return nomem(d);
    for (uint32_t i = 0; i < t->n; i++) {
      if ((rc = read_name(d, r, &t->fields[i].name, &t->fields[i].name_len))) return rc;
      t->fields[i].type = WISP__CNONE;
    }
    return check_labels(d, at, t->fields, t->n, op == 0x6e ? "flag" : "enum case");
  case 0x6b: t->kind = WISP__CT_OPTION; return read_valtype(d, r, s, &t->a);
  case 0x6a:
    t->kind = WISP__CT_RESULT;
    if ((rc = read_opt_valtype(d, r, s, &t->a))) return rc;
    return read_opt_valtype(d, r, s, &t->b);
  case 0x69: case 0x68: {
    uint32_t idx = 0;
    t->kind = op == 0x69 ? WISP__CT_OWN : WISP__CT_BORROW;
    if ((rc = read_index(d, r, s, WISP_SORT_TYPE, &idx, op == 0x69 ? "own" : "borrow"))) return rc;
    t->a = item_at(s, WISP_SORT_TYPE, idx)->type;
    if (!wisp__ctype_is_resource(d->c, t->a))
      return invalid(d, at, "%s of type %u, which is not a resource type", op == 0x69 ? "own" : "borrow",
                     (unsigned)idx);
    return 0;
  }
  case 0x67: case 0x66: case 0x65: case 0x64:
    return unsupported(d, at, "async value types (0x%02x: fixed-size list, stream, future, error-context) are not supported", op);
  default: return malformed(d, at, "unknown type 0x%02x", op);
  }
}

static int read_externdesc(cdec_t *d, reader_t *r, wisp__cscope_t *s, const char *name,
                           uint32_t name_len, uint8_t *sort, uint32_t *type);
static int read_alias(cdec_t *d, reader_t *r, wisp__cscope_t *s);

static int check_extern_name(cdec_t *d, const uint8_t *at, bool import, const char *name, uint32_t name_len) {
  if (!wisp__cname_is_valid(name, name_len, import))
    return invalid(d, at, "%s name \"%.*s\" is not a valid name", import ? "import" : "export",
                   (int)name_len, name);
  return 0;
}

/* The annotated plain names of Binary.md: "[constructor]R", "[method]R.m" and
 * "[static]R.m" name functions only; R must be a resource imported or exported
 * before, in the same scope; a constructor returns own<R> (or result<own<R>, E>);
 * a method's first parameter is "self" of type borrow<R>. */
static int check_annotated(cdec_t *d, const uint8_t *at, const wisp__cscope_t *s, const char *name,
                           uint32_t len, uint8_t sort, uint32_t type) {
  static const char *const kinds[3] = {"[constructor]", "[method]", "[static]"};
  int kind = -1;
  size_t plen = 0;
  for (int k = 0; k < 3 && kind < 0; k++) {
    plen = strlen(kinds[k]);
    if (len > plen && memcmp(name, kinds[k], plen) == 0) kind = k;
  }
  if (kind < 0) return 0;
  const char *res = name + plen;
  const char *dot = kind ? memchr(res, '.', len - plen) : NULL;
  uint32_t rlen = (uint32_t)(dot ? (size_t)(dot - res) : len - plen);
  if (sort != WISP_SORT_FUNC)
    return invalid(d, at, "\"%.*s\" names a function, but is a %s", (int)len, name, wisp_sort_name(sort));
  uint32_t rid = WISP__CNONE;
  for (int list = 0; list < 2 && rid == WISP__CNONE; list++) {
    const wisp__cvec_t *v = list ? &s->exports : &s->imports;
    for (uint32_t i = 0; i < v->len; i++) {
      const wisp__cextern_t *e = &WISP__CVEC_AT(*v, wisp__cextern_t, i);
      if (e->sort == WISP_SORT_TYPE && e->name_len == rlen && memcmp(e->name, res, rlen) == 0 &&
          wisp__ctype_is_resource(d->c, e->type))
        rid = e->type;
    }
  }
  if (rid == WISP__CNONE)
    return invalid(d, at, "\"%.*s\": no resource \"%.*s\" imported or exported before it", (int)len, name,
                   (int)rlen, res);
  const wisp__ctype_t *ft = wisp__ctype(d->c, type);
  if (kind == 0) {
    const wisp__ctype_t *r = ft->nresults == 1 ? wisp__ctype(d->c, ft->results[0].type) : NULL;
    if (r && r->kind == WISP__CT_RESULT && r->a != WISP__CNONE) r = wisp__ctype(d->c, r->a);
    if (!r || r->kind != WISP__CT_OWN || r->a != rid)
      return invalid(d, at, "\"%.*s\" must return own<%.*s>", (int)len, name, (int)rlen, res);
  } else if (kind == 1) {
    const wisp__ctype_t *p = ft->n ? wisp__ctype(d->c, ft->fields[0].type) : NULL;
    if (!p || ft->fields[0].name_len != 4 || memcmp(ft->fields[0].name, "self", 4) != 0 ||
        p->kind != WISP__CT_BORROW || p->a != rid)
      return invalid(d, at, "\"%.*s\": the first parameter must be self: borrow<%.*s>", (int)len, name,
                     (int)rlen, res);
  }
  return 0;
}

/* Adds an import or export declaration to a scope (names checked for uniqueness). */
static int declare_extern(cdec_t *d, const uint8_t *at, wisp__cscope_t *s, bool import,
                          const char *name, uint32_t name_len, uint8_t sort, uint32_t type) {
  wisp__cvec_t *list = import ? &s->imports : &s->exports;
  for (uint32_t i = 0; i < list->len; i++) {
    const wisp__cextern_t *e = &WISP__CVEC_AT(*list, wisp__cextern_t, i);
    if (wisp__cname_eq_nocase(e->name, e->name_len, name, name_len))
      return invalid(d, at, "duplicate %s name \"%.*s\"", import ? "import" : "export", (int)name_len, name);
  }
  int rc = check_annotated(d, at, s, name, name_len, sort, type);
  if (rc) return rc;
  wisp__cextern_t *e = wisp__cvec_push(&d->c->arena, list, sizeof *e);
  uint32_t *ix = wisp__cvec_push(&d->c->arena, import ? &s->import_index : &s->export_index, sizeof *ix);
  if (!e || !ix) return nomem(d);
  e->name = name;
  e->name_len = name_len;
  e->sort = sort;
  e->type = type;
  wisp__citem_t item = {.how = import ? WISP__DEF_IMPORT : WISP__DEF_EXPORT, .type = type,
                        .offset = (uint32_t)(at - d->base), .name = name, .name_len = name_len};
  return push_item(d, s, sort, &item, ix);
}

static int read_type(cdec_t *d, reader_t *r, wisp__cscope_t *s, uint32_t *id);

/* componenttype (0x41) / instancetype (0x42), opcode already read. */
static int read_decl_type(cdec_t *d, reader_t *r, const wisp__cscope_t *parent, bool component,
                          uint32_t *id) {
  if (++d->depth > MAX_DEPTH) return invalid(d, r->p, "types nested too deeply");
  wisp__cscope_t *s = scope_new(d, parent, component ? WISP__SCOPE_COMPONENT_TYPE : WISP__SCOPE_INSTANCE_TYPE);
  if (!s) return nomem(d);
  uint32_t n = 0;
  int rc = read_count(d, r, &n);
  if (rc) return rc;
  for (uint32_t i = 0; i < n; i++) {
    uint8_t b = 0;
    const uint8_t *at = r->p;
    if ((rc = read_byte(d, r, &b))) return rc;
    switch (b) {
    case 0x00: { /* core:type */
      uint32_t tid = 0;
      if ((rc = read_core_type(d, r, s, &tid))) return rc;
      wisp__citem_t item = {.how = WISP__DEF_TYPE, .type = tid, .offset = (uint32_t)(at - d->base)};
      if ((rc = push_item(d, s, WISP_SORT_CORE_TYPE, &item, NULL))) return rc;
      break;
    }
    case 0x01: {
      uint32_t tid = 0;
      if ((rc = read_type(d, r, s, &tid))) return rc;
      wisp__citem_t item = {.how = WISP__DEF_TYPE, .type = tid, .offset = (uint32_t)(at - d->base)};
      if ((rc = push_item(d, s, WISP_SORT_TYPE, &item, NULL))) return rc;
      break;
    }
    case 0x02:
      if ((rc = read_alias(d, r, s))) return rc;
      break;
    case 0x03: case 0x04: {
      const char *name = NULL;
      uint32_t name_len = 0, type = 0;
      uint8_t sort = 0;
      if (b == 0x03 && !component)
        return invalid(d, at, "an instance type may not declare imports");
      if ((rc = read_extern_name(d, r, &name, &name_len))) return rc;
      if ((rc = check_extern_name(d, at, b == 0x03, name, name_len))) return rc;
      if ((rc = read_externdesc(d, r, s, name, name_len, &sort, &type))) return rc;
      if ((rc = declare_extern(d, at, s, b == 0x03, name, name_len, sort, type))) return rc;
      break;
    }
    default: return malformed(d, at, "unknown %s type declarator 0x%02x", component ? "component" : "instance", b);
    }
  }
  wisp__ctype_t t = {.kind = component ? WISP__CT_COMPONENT : WISP__CT_INSTANCE,
                     .nimports = s->imports.len, .imports = s->imports.data,
                     .nexports = s->exports.len, .exports = s->exports.data};
  *id = add_type(d, &t);
  d->depth--;
  return *id == WISP__CNONE ? nomem(d) : 0;
}

static int read_type(cdec_t *d, reader_t *r, wisp__cscope_t *s, uint32_t *id) {
  uint8_t op = 0;
  const uint8_t *at = r->p;
  int rc = read_byte(d, r, &op);
  *id = WISP__CNONE;
  if (rc) return rc;
  wisp__ctype_t t = {.a = WISP__CNONE, .b = WISP__CNONE};
  if (op >= 0x73 && op <= 0x7f) { *id = (uint32_t)(0x7f - op); return 0; }
  if (op == 0x41 || op == 0x42) return read_decl_type(d, r, s, op == 0x41, id);
  if (op == 0x40) {
    if ((rc = read_functype(d, r, s, &t))) return rc;
  } else if (op == 0x3f) {
    uint8_t rep = 0;
    if (s->kind != WISP__SCOPE_COMPONENT)
      return invalid(d, at, "resource types may only be defined in a component, not in a type");
    if ((rc = read_byte(d, r, &rep))) return rc;
    if (rep != 0x7f) return invalid(d, at, "resource representation 0x%02x (only i32)", rep);
    t.kind = WISP__CT_RESOURCE;
    t.owner = s;
    uint8_t has = 0;
    if ((rc = read_byte(d, r, &has))) return rc;
    if (has > 1) return malformed(d, at, "resource destructor: bad discriminator 0x%02x", has);
    if (has) {
      const uint8_t *fat = r->p;
      if ((rc = read_index(d, r, s, WISP_SORT_CORE_FUNC, &t.a, "resource destructor"))) return rc;
      const wisp__ctype_t *f = wisp__ctype(d->c, item_at(s, WISP_SORT_CORE_FUNC, t.a)->type);
      if (f->nparams_core != 1 || f->params_core[0] != WISP_I32 || f->nresults_core != 0)
        return invalid(d, fat, "resource destructor must have type (func (param i32))");
    }
  } else if (op == 0x43) {
    return unsupported(d, at, "async function types are not supported");
  } else {
    if ((rc = read_defvaltype(d, r, s, op, &t))) return rc;
  }
  *id = add_type(d, &t);
  return *id == WISP__CNONE ? nomem(d) : 0;
}

/* externdesc; for (sub resource) makes a fresh abstract resource named `name`. */
static int read_externdesc(cdec_t *d, reader_t *r, wisp__cscope_t *s, const char *name,
                           uint32_t name_len, uint8_t *sort, uint32_t *type) {
  uint8_t b = 0;
  uint32_t idx = 0;
  const uint8_t *at = r->p;
  *sort = 0;
  *type = WISP__CNONE;
  int rc = read_byte(d, r, &b);
  if (rc) return rc;
  static const uint8_t want[6] = {WISP__CT_CORE_MODULE, WISP__CT_FUNC, 0, 0, WISP__CT_COMPONENT,
                                  WISP__CT_INSTANCE};
  switch (b) {
  case 0x00: {
    uint8_t k = 0;
    if ((rc = read_byte(d, r, &k))) return rc;
    if (k != 0x11) return malformed(d, at, "extern description: core sort 0x%02x is not module", k);
    if ((rc = read_index(d, r, s, WISP_SORT_CORE_TYPE, &idx, "core module type"))) return rc;
    *sort = WISP_SORT_CORE_MODULE;
    *type = item_at(s, WISP_SORT_CORE_TYPE, idx)->type;
    break;
  }
  case 0x01: case 0x04: case 0x05:
    *sort = b == 0x01 ? WISP_SORT_FUNC : b == 0x04 ? WISP_SORT_COMPONENT : WISP_SORT_INSTANCE;
    if ((rc = read_index(d, r, s, WISP_SORT_TYPE, &idx, wisp_sort_name(*sort)))) return rc;
    *type = item_at(s, WISP_SORT_TYPE, idx)->type;
    break;
  case 0x02: return unsupported(d, at, "value imports and exports are not supported");
  case 0x03: {
    uint8_t bound = 0;
    *sort = WISP_SORT_TYPE;
    if ((rc = read_byte(d, r, &bound))) return rc;
    if (bound == 0x00) {
      if ((rc = read_index(d, r, s, WISP_SORT_TYPE, &idx, "type bound"))) return rc;
      *type = item_at(s, WISP_SORT_TYPE, idx)->type;
      wisp__ctype_t *t = wisp__ctype(d->c, *type);
      if (!t->name && *type >= WISP__CT_NPRIM) { t->name = name; t->name_len = name_len; }
      return 0;
    }
    if (bound != 0x01) return malformed(d, at, "type bound: bad discriminator 0x%02x", bound);
    wisp__ctype_t t = {.kind = WISP__CT_ABSTRACT, .a = WISP__CNONE, .b = WISP__CNONE,
                       .name = name, .name_len = name_len};
    *type = add_type(d, &t);
    return *type == WISP__CNONE ? nomem(d) : 0;
  }
  default: return malformed(d, at, "unknown extern description 0x%02x", b);
  }
  uint8_t k = wisp__ctype(d->c, *type)->kind;
  if (k != want[b])
    return invalid(d, at, "%s type %u is not a %s type", wisp_sort_name(*sort), (unsigned)idx,
                   wisp_sort_name(*sort));
  return 0;
}

/* ---- aliases ---- */

static const wisp__cextern_t *find_extern(const wisp__cextern_t *list, uint32_t n, const char *name,
                                          uint32_t len) {
  for (uint32_t i = 0; i < n; i++)
    if (list[i].name_len == len && memcmp(list[i].name, name, len) == 0) return &list[i];
  return NULL;
}

static int read_alias(cdec_t *d, reader_t *r, wisp__cscope_t *s) {
  int sort = 0, rc;
  uint8_t tgt = 0;
  const uint8_t *at = r->p;
  if ((rc = read_sort(d, r, &sort)) || (rc = read_byte(d, r, &tgt))) return rc;
  wisp__citem_t item = {.offset = (uint32_t)(at - d->base), .type = WISP__CNONE};
  if (tgt == 0x00 || tgt == 0x01) {
    bool core = tgt == 0x01;
    uint32_t inst = 0;
    const char *name = NULL;
    uint32_t len = 0;
    if ((rc = read_index(d, r, s, core ? WISP_SORT_CORE_INSTANCE : WISP_SORT_INSTANCE, &inst, "alias")))
      return rc;
    if ((rc = read_name(d, r, &name, &len))) return rc;
    if (core != (sort <= WISP_SORT_CORE_INSTANCE))
      return invalid(d, at, "alias %sexport of a %s", core ? "core " : "", wisp_sort_name(sort));
    const wisp__ctype_t *it = wisp__ctype(d->c, item_at(s, core ? WISP_SORT_CORE_INSTANCE : WISP_SORT_INSTANCE, inst)->type);
    const wisp__cextern_t *e = find_extern(it->exports, it->nexports, name, len);
    if (!e)
      return invalid(d, at, "alias: %sinstance %u has no export named \"%.*s\"", core ? "core " : "",
                     (unsigned)inst, (int)len, name);
    if (e->sort != sort)
      return invalid(d, at, "alias: export \"%.*s\" of %sinstance %u is a %s, not a %s", (int)len, name,
                     core ? "core " : "", (unsigned)inst, wisp_sort_name(e->sort), wisp_sort_name(sort));
    item.how = core ? WISP__DEF_ALIAS_CORE_EXPORT : WISP__DEF_ALIAS_EXPORT;
    item.a = inst;
    item.name = name;
    item.name_len = len;
    item.type = e->type;
  } else if (tgt == 0x02) {
    uint32_t ct = 0, idx = 0;
    if ((rc = read_u32(d, r, &ct)) || (rc = read_u32(d, r, &idx))) return rc;
    if (sort != WISP_SORT_TYPE && sort != WISP_SORT_CORE_TYPE && sort != WISP_SORT_CORE_MODULE &&
        sort != WISP_SORT_COMPONENT)
      return invalid(d, at, "outer alias of a %s (only types, modules and components)", wisp_sort_name(sort));
    const wisp__cscope_t *o = s;
    for (uint32_t k = 0; k < ct && o; k++) o = o->parent;
    if (!o) return invalid(d, at, "outer alias count %u exceeds the %s nesting depth", (unsigned)ct, "enclosing");
    if (idx >= space_len(o, sort))
      return invalid(d, at, "outer alias: %s index %u out of range (%u defined)", wisp_sort_name(sort),
                     (unsigned)idx, (unsigned)space_len(o, sort));
    item.type = item_at(o, sort, idx)->type;
    if (sort == WISP_SORT_TYPE && ct > 0 && wisp__ctype(d->c, item.type)->kind == WISP__CT_RESOURCE)
      return invalid(d, at, "outer alias of a resource type defined outside (resources are generative)");
    item.how = WISP__DEF_ALIAS_OUTER;
    item.a = ct;
    item.b = idx;
  } else {
    return malformed(d, at, "unknown alias target 0x%02x", tgt);
  }
  if (s->kind != WISP__SCOPE_COMPONENT && sort != WISP_SORT_TYPE && sort != WISP_SORT_INSTANCE &&
      sort != WISP_SORT_CORE_TYPE)
    return invalid(d, at, "alias of a %s inside a type (only types and instances)", wisp_sort_name(sort));
  return push_item(d, s, sort, &item, NULL);
}

/* ---- sections ---- */

static int decode_component(cdec_t *d, const wisp__cscope_t *parent, const uint8_t *start,
                            const uint8_t *end, wisp__cscope_t **out);

static int section_core_module(cdec_t *d, wisp__cscope_t *s, const uint8_t *p, const uint8_t *end) {
  wisp_module_t *m = NULL;
  wisp_error_t merr;
  memset(&merr, 0, sizeof merr);
  uint32_t index = space_len(s, WISP_SORT_CORE_MODULE);
  int rc = wisp_module_new(d->c->engine, p, (size_t)(end - p), &m, &merr);
  if (rc) {
    uint32_t o = (uint32_t)(p - d->base) + merr.offset;
    if (d->err) {
      d->err->code = rc;
      d->err->offset = o;
      snprintf(d->err->message, sizeof d->err->message, "core module section, core module %u at offset 0x%x: %.400s",
               (unsigned)index, (unsigned)(p - d->base), merr.message);
    }
    return rc;
  }
  wisp_module_t **slot = wisp__cvec_push(&d->c->arena, &d->c->modules, sizeof *slot);
  if (!slot) { wisp_module_delete(m); return nomem(d); }
  *slot = m;
  /* its type: imports and exports */
  wisp__ctype_t t = {.kind = WISP__CT_CORE_MODULE};
  t.nimports = wisp_module_import_count(m);
  t.nexports = wisp_module_export_count(m);
  t.imports = arena_array(d, t.nimports, sizeof *t.imports);
  t.exports = arena_array(d, t.nexports, sizeof *t.exports);
  if ((t.nimports && !t.imports) || (t.nexports && !t.exports)) return nomem(d);
  for (uint32_t pass = 0; pass < 2; pass++) {
    uint32_t n = pass ? t.nexports : t.nimports;
    for (uint32_t i = 0; i < n; i++) {
      wisp__cextern_t *e = pass ? &t.exports[i] : &t.imports[i];
      wisp_externtype_t et;
      if (pass) {
        wisp_export_desc_t x;
        wisp_module_export(m, i, &x);
        e->name = x.name; e->name_len = x.name_len; et = x.type;
      } else {
        wisp_import_desc_t x;
        wisp_module_import(m, i, &x);
        e->module = x.module; e->module_len = x.module_len;
        e->name = x.name; e->name_len = x.name_len; et = x.type;
      }
      e->sort = et.kind; /* WISP_EXTERN_* == WISP_SORT_CORE_* */
      e->type = WISP__CNONE;
      if (et.kind == WISP_EXTERN_FUNC) {
        wisp__ctype_t f = {.kind = WISP__CT_CORE_FUNC, .nparams_core = et.func.nparams,
                           .nresults_core = et.func.nresults,
                           .params_core = (uint8_t *)et.func.params, .results_core = (uint8_t *)et.func.results};
        if ((e->type = add_type(d, &f)) == WISP__CNONE) return nomem(d);
      }
    }
  }
  wisp__citem_t item = {.how = WISP__DEF_CORE_MODULE, .offset = (uint32_t)(p - d->base), .module = m};
  if ((item.type = add_type(d, &t)) == WISP__CNONE) return nomem(d);
  return push_item(d, s, WISP_SORT_CORE_MODULE, &item, NULL);
}

/* Checks a core module's imports against the `with` arguments of its instantiation. */
static int check_core_instantiate(cdec_t *d, const uint8_t *at, const wisp__cscope_t *s,
                                  const wisp__ctype_t *mt, const wisp__carg_t *args, uint32_t nargs,
                                  uint32_t module) {
  for (uint32_t i = 0; i < mt->nimports; i++) {
    const wisp__cextern_t *im = &mt->imports[i];
    const wisp__carg_t *arg = NULL;
    for (uint32_t k = 0; k < nargs && !arg; k++)
      if (args[k].name_len == im->module_len && memcmp(args[k].name, im->module, im->module_len) == 0)
        arg = &args[k];
    if (!arg)
      return invalid(d, at, "instantiate core module %u: no argument named \"%.*s\" for its import \"%.*s\" \"%.*s\"",
                     (unsigned)module, (int)im->module_len, im->module, (int)im->module_len, im->module,
                     (int)im->name_len, im->name);
    const wisp__ctype_t *it = wisp__ctype(d->c, item_at(s, WISP_SORT_CORE_INSTANCE, arg->index)->type);
    const wisp__cextern_t *ex = find_extern(it->exports, it->nexports, im->name, im->name_len);
    if (!ex)
      return invalid(d, at, "instantiate core module %u: import \"%.*s\" \"%.*s\": core instance %u has no such export",
                     (unsigned)module, (int)im->module_len, im->module, (int)im->name_len, im->name,
                     (unsigned)arg->index);
    if (ex->sort != im->sort)
      return invalid(d, at, "instantiate core module %u: import \"%.*s\" \"%.*s\" is a %s, but core instance %u exports a %s",
                     (unsigned)module, (int)im->module_len, im->module, (int)im->name_len, im->name,
                     wisp_sort_name(im->sort), (unsigned)arg->index, wisp_sort_name(ex->sort));
    if (im->sort == WISP_SORT_CORE_FUNC &&
        !wisp__ctype_core_func_eq(wisp__ctype(d->c, im->type), wisp__ctype(d->c, ex->type)))
      return invalid(d, at, "instantiate core module %u: import \"%.*s\" \"%.*s\": function type mismatch",
                     (unsigned)module, (int)im->module_len, im->module, (int)im->name_len, im->name);
  }
  return 0;
}

static int section_core_instances(cdec_t *d, reader_t *r, wisp__cscope_t *s) {
  uint32_t n = 0;
  int rc = read_count(d, r, &n);
  if (rc) return rc;
  for (uint32_t i = 0; i < n; i++) {
    uint8_t b = 0;
    const uint8_t *at = r->p;
    wisp__citem_t item = {.offset = (uint32_t)(at - d->base)};
    wisp__ctype_t t = {.kind = WISP__CT_CORE_INSTANCE};
    if ((rc = read_byte(d, r, &b))) return rc;
    if (b == 0x00) {
      item.how = WISP__DEF_CORE_INSTANTIATE;
      if ((rc = read_index(d, r, s, WISP_SORT_CORE_MODULE, &item.a, "instantiate"))) return rc;
      if ((rc = read_count(d, r, &item.nargs))) return rc;
      item.args = arena_array(d, item.nargs, sizeof *item.args);
      if (item.nargs && !item.args) return nomem(d);
      for (uint32_t k = 0; k < item.nargs; k++) {
        wisp__carg_t *a = &item.args[k];
        uint8_t kind = 0;
        const uint8_t *aat = r->p;
        if ((rc = read_name(d, r, &a->name, &a->name_len))) return rc;
        if ((rc = read_byte(d, r, &kind))) return rc;
        if (kind != 0x12) return invalid(d, aat, "core instantiate argument must be an instance (sort 0x%02x)", kind);
        a->sort = WISP_SORT_CORE_INSTANCE;
        if ((rc = read_index(d, r, s, WISP_SORT_CORE_INSTANCE, &a->index, "instantiate argument"))) return rc;
        for (uint32_t j = 0; j < k; j++)
          if (item.args[j].name_len == a->name_len && memcmp(item.args[j].name, a->name, a->name_len) == 0)
            return invalid(d, aat, "duplicate instantiate argument \"%.*s\"", (int)a->name_len, a->name);
      }
      const wisp__ctype_t *mt = wisp__ctype(d->c, item_at(s, WISP_SORT_CORE_MODULE, item.a)->type);
      if ((rc = check_core_instantiate(d, at, s, mt, item.args, item.nargs, item.a))) return rc;
      t.nexports = mt->nexports;
      t.exports = mt->exports;
    } else if (b == 0x01) {
      item.how = WISP__DEF_CORE_EXPORTS;
      if ((rc = read_count(d, r, &item.nargs))) return rc;
      item.args = arena_array(d, item.nargs, sizeof *item.args);
      t.exports = arena_array(d, item.nargs, sizeof *t.exports);
      if (item.nargs && (!item.args || !t.exports)) return nomem(d);
      t.nexports = item.nargs;
      for (uint32_t k = 0; k < item.nargs; k++) {
        wisp__carg_t *a = &item.args[k];
        int sort = 0;
        const uint8_t *aat = r->p;
        if ((rc = read_name(d, r, &a->name, &a->name_len))) return rc;
        if ((rc = read_core_sort(d, r, &sort))) return rc;
        if (sort > WISP_SORT_CORE_GLOBAL)
          return invalid(d, aat, "core instance export of a %s", wisp_sort_name(sort));
        a->sort = (uint8_t)sort;
        if ((rc = read_index(d, r, s, sort, &a->index, "core instance export"))) return rc;
        if (find_extern(t.exports, k, a->name, a->name_len))
          return invalid(d, aat, "duplicate core instance export \"%.*s\"", (int)a->name_len, a->name);
        t.exports[k] = (wisp__cextern_t){.name = a->name, .name_len = a->name_len, .sort = a->sort,
                                         .type = item_at(s, sort, a->index)->type};
      }
    } else {
      return malformed(d, at, "unknown core instance kind 0x%02x", b);
    }
    if ((item.type = add_type(d, &t)) == WISP__CNONE) return nomem(d);
    if ((rc = push_item(d, s, WISP_SORT_CORE_INSTANCE, &item, NULL))) return rc;
  }
  return 0;
}

static int read_sortidx(cdec_t *d, reader_t *r, const wisp__cscope_t *s, wisp__carg_t *a, const char *what) {
  int sort = 0;
  int rc = read_sort(d, r, &sort);
  if (rc) return rc;
  a->sort = (uint8_t)sort;
  return read_index(d, r, s, sort, &a->index, what);
}

static int section_instances(cdec_t *d, reader_t *r, wisp__cscope_t *s) {
  uint32_t n = 0;
  int rc = read_count(d, r, &n);
  if (rc) return rc;
  for (uint32_t i = 0; i < n; i++) {
    uint8_t b = 0;
    const uint8_t *at = r->p;
    wisp__citem_t item = {.offset = (uint32_t)(at - d->base)};
    wisp__ctype_t t = {.kind = WISP__CT_INSTANCE};
    if ((rc = read_byte(d, r, &b))) return rc;
    if (b != 0x00 && b != 0x01) return malformed(d, at, "unknown instance kind 0x%02x", b);
    if (b == 0x00 && (rc = read_index(d, r, s, WISP_SORT_COMPONENT, &item.a, "instantiate"))) return rc;
    item.how = b == 0x00 ? WISP__DEF_INSTANTIATE : WISP__DEF_INSTANCE_EXPORTS;
    if ((rc = read_count(d, r, &item.nargs))) return rc;
    item.args = arena_array(d, item.nargs, sizeof *item.args);
    wisp__cextern_t *ex = arena_array(d, item.nargs, sizeof *ex);
    if (item.nargs && (!item.args || !ex)) return nomem(d);
    for (uint32_t k = 0; k < item.nargs; k++) {
      wisp__carg_t *a = &item.args[k];
      const uint8_t *aat = r->p;
      if (b == 0x00) rc = read_name(d, r, &a->name, &a->name_len);
      else rc = read_extern_name(d, r, &a->name, &a->name_len);
      if (rc) return rc;
      if ((rc = read_sortidx(d, r, s, a, b == 0x00 ? "instantiate argument" : "instance export"))) return rc;
      if (a->sort <= WISP_SORT_CORE_INSTANCE && a->sort != WISP_SORT_CORE_MODULE)
        return invalid(d, aat, "%s \"%.*s\" is a %s", b == 0x00 ? "instantiate argument" : "instance export",
                       (int)a->name_len, a->name, wisp_sort_name(a->sort));
      if (b == 0x01 && !wisp__cname_is_valid(a->name, a->name_len, false))
        return invalid(d, aat, "instance export name \"%.*s\" is not a valid name", (int)a->name_len, a->name);
      if (find_extern(ex, k, a->name, a->name_len))
        return invalid(d, aat, "duplicate name \"%.*s\"", (int)a->name_len, a->name);
      ex[k] = (wisp__cextern_t){.name = a->name, .name_len = a->name_len, .sort = a->sort,
                                .type = item_at(s, a->sort, a->index)->type};
    }
    if (b == 0x00) {
      const wisp__ctype_t *ct = wisp__ctype(d->c, item_at(s, WISP_SORT_COMPONENT, item.a)->type);
      for (uint32_t k = 0; k < ct->nimports; k++) {
        const wisp__cextern_t *im = &ct->imports[k];
        const wisp__cextern_t *arg = find_extern(ex, item.nargs, im->name, im->name_len);
        if (!arg)
          return invalid(d, at, "instantiate component %u: no argument for its import \"%.*s\"",
                         (unsigned)item.a, (int)im->name_len, im->name);
        if (arg->sort != im->sort)
          return invalid(d, at, "instantiate component %u: import \"%.*s\" is a %s, the argument a %s",
                         (unsigned)item.a, (int)im->name_len, im->name, wisp_sort_name(im->sort),
                         wisp_sort_name(arg->sort));
      }
      char why[240];
      uint32_t *bindings = NULL;
      rc = wisp__cinstantiate_check(d->c, ct->imports, ct->nimports, ex, item.nargs, &bindings, why, sizeof why);
      if (rc == WISP_ERR_NOMEM) return nomem(d);
      if (rc) return invalid(d, at, "instantiate component %u: %s", (unsigned)item.a, why);
      t.nexports = ct->nexports;
      if (wisp__cinstance_exports(d->c, ct->exports, ct->nexports, bindings, &t.exports)) return nomem(d);
    } else {
      t.nexports = item.nargs;
      t.exports = ex;
    }
    if ((item.type = add_type(d, &t)) == WISP__CNONE) return nomem(d);
    if ((rc = push_item(d, s, WISP_SORT_INSTANCE, &item, NULL))) return rc;
  }
  return 0;
}

/* A type section (component or core): each entry defines one type of `sort`,
 * read by `read`. */
static int section_type_defs(cdec_t *d, reader_t *r, wisp__cscope_t *s, int sort,
                             int (*read)(cdec_t *, reader_t *, wisp__cscope_t *, uint32_t *)) {
  uint32_t n = 0;
  int rc = read_count(d, r, &n);
  if (rc) return rc;
  for (uint32_t i = 0; i < n; i++) {
    const uint8_t *at = r->p;
    wisp__citem_t item = {.how = WISP__DEF_TYPE, .offset = (uint32_t)(at - d->base)};
    if ((rc = read(d, r, s, &item.type))) return rc;
    if ((rc = push_item(d, s, sort, &item, NULL))) return rc;
  }
  return 0;
}

static int section_aliases(cdec_t *d, reader_t *r, wisp__cscope_t *s) {
  uint32_t n = 0;
  int rc = read_count(d, r, &n);
  if (rc) return rc;
  for (uint32_t i = 0; i < n; i++)
    if ((rc = read_alias(d, r, s))) return rc;
  return 0;
}

/* ---- canon ---- */

static int read_canon_opts(cdec_t *d, reader_t *r, const wisp__cscope_t *s, wisp__ccanonopts_t *o) {
  uint32_t n = 0;
  bool have_enc = false;
  o->encoding = WISP__ENC_UTF8;
  o->memory = o->realloc = o->post_return = WISP__CNONE;
  int rc = read_count(d, r, &n);
  if (rc) return rc;
  for (uint32_t i = 0; i < n; i++) {
    uint8_t b = 0;
    const uint8_t *at = r->p;
    if ((rc = read_byte(d, r, &b))) return rc;
    switch (b) {
    case 0x00: case 0x01: case 0x02:
      if (have_enc) return invalid(d, at, "canon options: more than one string encoding");
      have_enc = true;
      o->encoding = b;
      break;
    case 0x03:
      if (o->memory != WISP__CNONE) return invalid(d, at, "canon options: (memory) given twice");
      if ((rc = read_index(d, r, s, WISP_SORT_CORE_MEMORY, &o->memory, "canon option memory"))) return rc;
      break;
    case 0x04: case 0x05: {
      uint32_t *f = b == 0x04 ? &o->realloc : &o->post_return;
      if (*f != WISP__CNONE)
        return invalid(d, at, "canon options: (%s) given twice", b == 0x04 ? "realloc" : "post-return");
      if ((rc = read_index(d, r, s, WISP_SORT_CORE_FUNC, f, b == 0x04 ? "canon option realloc" : "canon option post-return")))
        return rc;
      break;
    }
    case 0x06: case 0x07: case 0x08:
      return unsupported(d, at, "canon option 0x%02x (async) is not supported", b);
    default: return malformed(d, at, "unknown canon option 0x%02x", b);
    }
  }
  return 0;
}

static bool core_sig_is(const wisp__ctype_t *f, const uint8_t *params, uint32_t np, const uint8_t *results,
                        uint32_t nr) {
  return f->nparams_core == np && f->nresults_core == nr && (np == 0 || memcmp(f->params_core, params, np) == 0) &&
         (nr == 0 || memcmp(f->results_core, results, nr) == 0);
}

static void print_sig(char *buf, size_t size, const uint8_t *params, uint32_t np, const uint8_t *results,
                      uint32_t nr) {
  wisp__cprint_t p = {buf, size, 0};
  wisp__ctype_t t = {.kind = WISP__CT_CORE_FUNC, .nparams_core = np, .nresults_core = nr,
                     .params_core = (uint8_t *)params, .results_core = (uint8_t *)results};
  (void)t;
  wisp__cprintf(&p, "(");
  for (uint32_t i = 0; i < np; i++) wisp__cprintf(&p, "%s%s", i ? " " : "", wisp_valkind_name(params[i]));
  wisp__cprintf(&p, ") -> (");
  for (uint32_t i = 0; i < nr; i++) wisp__cprintf(&p, "%s%s", i ? " " : "", wisp_valkind_name(results[i]));
  wisp__cprintf(&p, ")");
}

/* Memory/realloc/post-return rules of canon lift (lower=false) and lower. */
static int check_canon_opts(cdec_t *d, const uint8_t *at, const wisp__cscope_t *s, const wisp__ctype_t *ft,
                            const wisp__ccanonopts_t *o, bool lower, const wisp__ctype_t *core) {
  const char *what = lower ? "canon lower" : "canon lift";
  bool params_dyn = false, results_dyn = false;
  uint32_t pflat = 0, rflat = 0;
  for (uint32_t i = 0; i < ft->n; i++) {
    const wisp__ctype_t *t = wisp__ctype(d->c, ft->fields[i].type);
    params_dyn |= t->has_strlist;
    pflat += t->nflat;
  }
  for (uint32_t i = 0; i < ft->nresults; i++) {
    const wisp__ctype_t *t = wisp__ctype(d->c, ft->results[i].type);
    results_dyn |= t->has_strlist;
    rflat += t->nflat;
  }
  bool need_memory = params_dyn || results_dyn || pflat > WISP__MAX_FLAT || rflat > 1;
  /* lift: the caller's arguments are copied into this component's memory (realloc);
   * lower: results are copied into the caller's memory (realloc) */
  bool need_realloc = lower ? results_dyn : (params_dyn || pflat > WISP__MAX_FLAT);
  if (need_memory && o->memory == WISP__CNONE)
    return invalid(d, at, "%s: the function type passes %s through linear memory, so the (memory) option is required",
                   what, (params_dyn || results_dyn) ? "strings or lists" : "more values than fit in core values");
  if (need_realloc && o->realloc == WISP__CNONE)
    return invalid(d, at, "%s: the function type %s strings or lists, so the (realloc) option is required", what,
                   lower ? "returns" : "takes");
  if (o->realloc != WISP__CNONE) {
    static const uint8_t p4[4] = {WISP_I32, WISP_I32, WISP_I32, WISP_I32}, r1[1] = {WISP_I32};
    const wisp__ctype_t *rf = wisp__ctype(d->c, item_at(s, WISP_SORT_CORE_FUNC, o->realloc)->type);
    if (!core_sig_is(rf, p4, 4, r1, 1))
      return invalid(d, at, "%s: realloc (core func %u) must have type (func (param i32 i32 i32 i32) (result i32))",
                     what, (unsigned)o->realloc);
    if (o->memory == WISP__CNONE) return invalid(d, at, "%s: (realloc) needs (memory)", what);
  }
  if (o->post_return != WISP__CNONE) {
    if (lower) return invalid(d, at, "canon lower: the (post-return) option is only allowed on canon lift");
    const wisp__ctype_t *pf = wisp__ctype(d->c, item_at(s, WISP_SORT_CORE_FUNC, o->post_return)->type);
    if (!core_sig_is(pf, core->results_core, core->nresults_core, NULL, 0))
      return invalid(d, at, "canon lift: post-return (core func %u) must take the lifted function's results and return nothing",
                     (unsigned)o->post_return);
  }
  return 0;
}

static int section_canon(cdec_t *d, reader_t *r, wisp__cscope_t *s) {
  uint32_t n = 0;
  int rc = read_count(d, r, &n);
  if (rc) return rc;
  for (uint32_t i = 0; i < n; i++) {
    uint8_t b = 0, sortb = 0;
    const uint8_t *at = r->p;
    wisp__citem_t item = {.offset = (uint32_t)(at - d->base)};
    if ((rc = read_byte(d, r, &b))) return rc;
    uint8_t params[WISP__MAX_FLAT + 2], results[2];
    uint32_t np = 0, nr = 0;
    if (b == 0x00 || b == 0x01) {
      const uint8_t *sat = r->p;
      if ((rc = read_byte(d, r, &sortb))) return rc;
      if (sortb != 0x00) return malformed(d, sat, "canon %s: expected 0x00 (func), found 0x%02x", b ? "lower" : "lift", sortb);
    }
    if (b == 0x00) { /* lift */
      uint32_t tidx = 0;
      item.how = WISP__DEF_CANON_LIFT;
      if ((rc = read_index(d, r, s, WISP_SORT_CORE_FUNC, &item.a, "canon lift"))) return rc;
      if ((rc = read_canon_opts(d, r, s, &item.opts))) return rc;
      const uint8_t *tat = r->p;
      if ((rc = read_index(d, r, s, WISP_SORT_TYPE, &tidx, "canon lift type"))) return rc;
      item.type = item_at(s, WISP_SORT_TYPE, tidx)->type;
      const wisp__ctype_t *ft = wisp__ctype(d->c, item.type);
      if (ft->kind != WISP__CT_FUNC) return invalid(d, tat, "canon lift: type %u is not a function type", (unsigned)tidx);
      const wisp__ctype_t *core = wisp__ctype(d->c, item_at(s, WISP_SORT_CORE_FUNC, item.a)->type);
      wisp__cfunc_flatten(d->c, ft, false, params, &np, results, &nr);
      if (!core_sig_is(core, params, np, results, nr)) {
        char want[200], have[200];
        print_sig(want, sizeof want, params, np, results, nr);
        print_sig(have, sizeof have, core->params_core, core->nparams_core, core->results_core, core->nresults_core);
        return invalid(d, at, "canon lift: core func %u has type %s, but the function type flattens to %s",
                       (unsigned)item.a, have, want);
      }
      if ((rc = check_canon_opts(d, at, s, ft, &item.opts, false, core))) return rc;
      if ((rc = push_item(d, s, WISP_SORT_FUNC, &item, NULL))) return rc;
      continue;
    }
    wisp__ctype_t core = {.kind = WISP__CT_CORE_FUNC};
    if (b == 0x01) { /* lower */
      item.how = WISP__DEF_CANON_LOWER;
      if ((rc = read_index(d, r, s, WISP_SORT_FUNC, &item.a, "canon lower"))) return rc;
      if ((rc = read_canon_opts(d, r, s, &item.opts))) return rc;
      const wisp__ctype_t *ft = wisp__ctype(d->c, item_at(s, WISP_SORT_FUNC, item.a)->type);
      wisp__cfunc_flatten(d->c, ft, true, params, &np, results, &nr);
      if ((rc = check_canon_opts(d, at, s, ft, &item.opts, true, NULL))) return rc;
    } else if (b >= 0x02 && b <= 0x04) {
      uint32_t tidx = 0;
      static const char *const names[3] = {"resource.new", "resource.drop", "resource.rep"};
      const char *what = names[b - 2];
      item.how = b == 0x02 ? WISP__DEF_RESOURCE_NEW : b == 0x03 ? WISP__DEF_RESOURCE_DROP : WISP__DEF_RESOURCE_REP;
      if ((rc = read_index(d, r, s, WISP_SORT_TYPE, &tidx, what))) return rc;
      item.a = item_at(s, WISP_SORT_TYPE, tidx)->type;
      const wisp__ctype_t *rt = wisp__ctype(d->c, item.a);
      if (!wisp__ctype_is_resource(d->c, item.a))
        return invalid(d, at, "canon %s: type %u is not a resource type", what, (unsigned)tidx);
      if (b != 0x03 && (rt->kind != WISP__CT_RESOURCE || rt->owner != s))
        return invalid(d, at, "canon %s: type %u is not a resource defined by this component", what, (unsigned)tidx);
      params[np++] = WISP_I32;
      if (b != 0x03) results[nr++] = WISP_I32;
    } else if (b == 0x07) {
      return unsupported(d, at, "canon resource.drop async is not supported");
    } else if (b <= 0x40) {
      return unsupported(d, at, "canon built-in 0x%02x (async, threads, error-context) is not supported", b);
    } else {
      return malformed(d, at, "unknown canon kind 0x%02x", b);
    }
    core.nparams_core = np;
    core.nresults_core = nr;
    core.params_core = arena_array(d, np ? np : 1, 1);
    core.results_core = arena_array(d, nr ? nr : 1, 1);
    if (!core.params_core || !core.results_core) return nomem(d);
    memcpy(core.params_core, params, np);
    memcpy(core.results_core, results, nr);
    if ((item.type = add_type(d, &core)) == WISP__CNONE) return nomem(d);
    if ((rc = push_item(d, s, WISP_SORT_CORE_FUNC, &item, NULL))) return rc;
  }
  return 0;
}

static int section_start(cdec_t *d, reader_t *r, wisp__cscope_t *s) {
  uint32_t f = 0, nargs = 0, nresults = 0;
  const uint8_t *at = r->p;
  int rc = read_index(d, r, s, WISP_SORT_FUNC, &f, "start");
  if (rc) return rc;
  if ((rc = read_count(d, r, &nargs))) return rc;
  if (nargs) return unsupported(d, at, "start with value arguments is not supported");
  if ((rc = read_u32(d, r, &nresults))) return rc;
  if (nresults) return unsupported(d, at, "start with value results is not supported");
  const wisp__ctype_t *ft = wisp__ctype(d->c, item_at(s, WISP_SORT_FUNC, f)->type);
  if (ft->n || ft->nresults) return invalid(d, at, "start function %u takes or returns values", (unsigned)f);
  if (s->has_start) return invalid(d, at, "more than one start section");
  s->has_start = true;
  s->start_func = f;
  return 0;
}

static int section_imports(cdec_t *d, reader_t *r, wisp__cscope_t *s) {
  uint32_t n = 0;
  int rc = read_count(d, r, &n);
  if (rc) return rc;
  for (uint32_t i = 0; i < n; i++) {
    const uint8_t *at = r->p;
    const char *name = NULL;
    uint32_t len = 0, type = 0;
    uint8_t sort = 0;
    if ((rc = read_extern_name(d, r, &name, &len))) return rc;
    if ((rc = check_extern_name(d, at, true, name, len))) return rc;
    if ((rc = read_externdesc(d, r, s, name, len, &sort, &type))) return rc;
    if ((rc = declare_extern(d, at, s, true, name, len, sort, type))) return rc;
  }
  return 0;
}

static int section_exports(cdec_t *d, reader_t *r, wisp__cscope_t *s) {
  uint32_t n = 0;
  int rc = read_count(d, r, &n);
  if (rc) return rc;
  for (uint32_t i = 0; i < n; i++) {
    const uint8_t *at = r->p;
    const char *name = NULL;
    uint32_t len = 0, type = 0;
    uint8_t has = 0, sort = 0;
    wisp__carg_t a = {0};
    if ((rc = read_extern_name(d, r, &name, &len))) return rc;
    if ((rc = check_extern_name(d, at, false, name, len))) return rc;
    if ((rc = read_sortidx(d, r, s, &a, "export"))) return rc;
    if (a.sort <= WISP_SORT_CORE_INSTANCE && a.sort != WISP_SORT_CORE_MODULE)
      return invalid(d, at, "export \"%.*s\" of a %s (only core modules of the core sorts)", (int)len, name,
                     wisp_sort_name(a.sort));
    type = item_at(s, a.sort, a.index)->type;
    const uint8_t *dat = r->p;
    if ((rc = read_byte(d, r, &has))) return rc;
    if (has > 1) return malformed(d, dat, "export: bad type ascription discriminator 0x%02x", has);
    if (has) {
      uint32_t ascribed = 0;
      if ((rc = read_externdesc(d, r, s, name, len, &sort, &ascribed))) return rc;
      if (sort != a.sort)
        return invalid(d, dat, "export \"%.*s\": a %s ascribed the type of a %s", (int)len, name,
                       wisp_sort_name(a.sort), wisp_sort_name(sort));
      type = ascribed;
    } else if (a.sort == WISP_SORT_TYPE) {
      wisp__ctype_t *t = wisp__ctype(d->c, type);
      if (!t->name && type >= WISP__CT_NPRIM) { t->name = name; t->name_len = len; }
    }
    if ((rc = declare_extern(d, at, s, false, name, len, a.sort, type))) return rc;
    uint32_t last = s->space[a.sort].len - 1;
    item_at(s, a.sort, last)->a = a.index; /* the exported item */
  }
  return 0;
}

static const char *section_name(uint8_t id) {
  static const char *const names[] = {"custom", "core module", "core instance", "core type", "component",
                                      "instance", "alias", "type", "canon", "start", "import", "export", "value"};
  return id < sizeof names / sizeof names[0] ? names[id] : "unknown";
}

static int decode_component(cdec_t *d, const wisp__cscope_t *parent, const uint8_t *start,
                            const uint8_t *end, wisp__cscope_t **out) {
  static const uint8_t magic[4] = {0x00, 0x61, 0x73, 0x6d};
  reader_t r = {start, end};
  const char *outer_section = d->section;
  d->section = NULL;
  if (++d->depth > MAX_DEPTH) return invalid(d, start, "components nested too deeply");
  if (end - start < 8) return malformed(d, start, "unexpected end: a component starts with 8 header bytes");
  if (memcmp(start, magic, 4) != 0) return malformed(d, start, "magic header not detected");
  if (start[6] != 0x01 || start[7] != 0x00) return malformed(d, start + 6, "not a component (layer field is not 1)");
  if (start[4] != 0x0d || start[5] != 0x00)
    return malformed(d, start + 4, "unsupported component version 0x%02x%02x (this decoder reads 0x0d)", start[5], start[4]);
  r.p += 8;
  wisp__cscope_t *s = scope_new(d, parent, WISP__SCOPE_COMPONENT);
  if (!s) return nomem(d);
  *out = s;
  int rc = 0;
  while (r.p < r.end) {
    uint8_t id = 0;
    uint32_t size = 0;
    const uint8_t *at = r.p;
    d->section = NULL;
    if ((rc = read_byte(d, &r, &id))) return rc;
    if ((rc = read_u32(d, &r, &size))) return rc;
    if (size > (size_t)(r.end - r.p))
      return malformed(d, at, "section %u (%s) of %u bytes runs past the end", id, section_name(id), (unsigned)size);
    reader_t sr = {r.p, r.p + size};
    r.p += size;
    d->section = section_name(id);
    switch (id) {
    case 0: { const char *nm = NULL; uint32_t nl = 0; rc = read_name(d, &sr, &nm, &nl); sr.p = sr.end; break; }
    case 1: rc = section_core_module(d, s, sr.p, sr.end); sr.p = sr.end; break;
    case 2: rc = section_core_instances(d, &sr, s); break;
    case 3: rc = section_type_defs(d, &sr, s, WISP_SORT_CORE_TYPE, read_core_type); break;
    case 4: {
      wisp__cscope_t *nested = NULL;
      const char *sec = d->section;
      rc = decode_component(d, s, sr.p, sr.end, &nested);
      d->section = sec;
      if (rc) return rc;
      sr.p = sr.end;
      wisp__ctype_t t = {.kind = WISP__CT_COMPONENT, .nimports = nested->imports.len, .imports = nested->imports.data,
                         .nexports = nested->exports.len, .exports = nested->exports.data};
      wisp__citem_t item = {.how = WISP__DEF_COMPONENT, .offset = (uint32_t)(at - d->base), .nested = nested};
      if ((item.type = add_type(d, &t)) == WISP__CNONE) return nomem(d);
      rc = push_item(d, s, WISP_SORT_COMPONENT, &item, NULL);
      break;
    }
    case 5: rc = section_instances(d, &sr, s); break;
    case 6: rc = section_aliases(d, &sr, s); break;
    case 7: rc = section_type_defs(d, &sr, s, WISP_SORT_TYPE, read_type); break;
    case 8: rc = section_canon(d, &sr, s); break;
    case 9: rc = section_start(d, &sr, s); break;
    case 10: rc = section_imports(d, &sr, s); break;
    case 11: rc = section_exports(d, &sr, s); break;
    case 12: return unsupported(d, at, "value definitions are not supported");
    default: d->section = NULL; return malformed(d, at, "unknown section id %u", id);
    }
    if (rc) return rc;
    if (sr.p != sr.end)
      return malformed(d, sr.p, "section size mismatch: %zu bytes left over", (size_t)(sr.end - sr.p));
  }
  d->section = outer_section;
  d->depth--;
  return 0;
}

/* ---- public API ---- */

bool wisp_is_component(const uint8_t *bytes, size_t len) {
  return bytes && len >= 8 && bytes[0] == 0x00 && bytes[1] == 0x61 && bytes[2] == 0x73 && bytes[3] == 0x6d &&
         bytes[6] == 0x01 && bytes[7] == 0x00;
}

void wisp_component_delete(wisp_component_t *c) {
  if (!c) return;
  for (uint32_t i = 0; i < c->modules.len; i++) wisp_module_delete(WISP__CVEC_AT(c->modules, wisp_module_t *, i));
  wisp__arena_free(&c->arena);
  free(c->bytes);
  free(c);
}

int wisp_component_new(wisp_engine_t *engine, const uint8_t *bytes, size_t len, wisp_component_t **out,
                       wisp_error_t *err) {
  *out = NULL;
  if (err) memset(err, 0, sizeof *err);
  if (!engine || (!bytes && len)) {
    if (err) { err->code = WISP_ERR_ARG; snprintf(err->message, sizeof err->message, "no engine or no bytes"); }
    return WISP_ERR_ARG;
  }
  if (len > UINT32_MAX) {
    if (err) { err->code = WISP_ERR_LIMIT; snprintf(err->message, sizeof err->message, "component larger than 4 GiB"); }
    return WISP_ERR_LIMIT;
  }
  wisp_component_t *c = calloc(1, sizeof *c);
  cdec_t d = {.c = c, .err = err};
  if (!c) return nomem(&d);
  c->engine = engine;
  wisp__arena_init(&c->arena);
  c->bytes = malloc(len ? len : 1);
  if (!c->bytes) { free(c); return nomem(&d); }
  if (len) memcpy(c->bytes, bytes, len);
  c->len = len;
  d.base = c->bytes;
  for (uint32_t k = 0; k < WISP__CT_NPRIM; k++) {
    wisp__ctype_t t = {.kind = (uint8_t)k, .a = WISP__CNONE, .b = WISP__CNONE};
    if (wisp__ctype_add(c, &t) != k) { wisp_component_delete(c); return nomem(&d); }
  }
  int rc = decode_component(&d, NULL, c->bytes, c->bytes + len, &c->root);
  if (rc) {
    wisp_component_delete(c);
    return rc;
  }
  *out = c;
  return 0;
}

static void item_desc(const wisp__cvec_t *list, uint32_t i, wisp_component_item_t *out) {
  const wisp__cextern_t *e = &WISP__CVEC_AT(*list, wisp__cextern_t, i);
  out->name = e->name;
  out->name_len = e->name_len;
  out->sort = e->sort;
  out->type = e->type;
}

uint32_t wisp_component_import_count(const wisp_component_t *c) { return c->root->imports.len; }
void wisp_component_import(const wisp_component_t *c, uint32_t i, wisp_component_item_t *out) {
  item_desc(&c->root->imports, i, out);
}
uint32_t wisp_component_export_count(const wisp_component_t *c) { return c->root->exports.len; }
void wisp_component_export(const wisp_component_t *c, uint32_t i, wisp_component_item_t *out) {
  item_desc(&c->root->exports, i, out);
}

uint32_t wisp_component_count(const wisp_component_t *c, int sort) {
  return sort >= 0 && sort < WISP_SORT_COUNT ? c->root->space[sort].len : 0;
}

uint32_t wisp_component_module_count(const wisp_component_t *c) { return c->modules.len; }
const wisp_module_t *wisp_component_module(const wisp_component_t *c, uint32_t i) {
  return i < c->modules.len ? WISP__CVEC_AT(c->modules, wisp_module_t *, i) : NULL;
}

uint32_t wisp_component_type_export_count(const wisp_component_t *c, uint32_t type) {
  if (type >= c->types.len) return 0;
  const wisp__ctype_t *t = wisp__ctype(c, type);
  return t->kind == WISP__CT_INSTANCE || t->kind == WISP__CT_COMPONENT ? t->nexports : 0;
}

void wisp_component_type_export(const wisp_component_t *c, uint32_t type, uint32_t i, wisp_component_item_t *out) {
  memset(out, 0, sizeof *out);
  if (i >= wisp_component_type_export_count(c, type)) return;
  const wisp__cextern_t *e = &wisp__ctype(c, type)->exports[i];
  out->name = e->name;
  out->name_len = e->name_len;
  out->sort = e->sort;
  out->type = e->type;
}

int64_t wisp_component_find_export(const wisp_component_t *c, const char *name, size_t len) {
  for (uint32_t i = 0; i < c->root->exports.len; i++) {
    const wisp__cextern_t *e = &WISP__CVEC_AT(c->root->exports, wisp__cextern_t, i);
    if (wisp_component_name_matches(name, len, e->name, e->name_len)) return i;
  }
  return -1;
}
