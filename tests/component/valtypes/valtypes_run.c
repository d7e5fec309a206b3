/*
 * valtypes_run COMPONENT CASES: runs the valtypes script (cases.txt) against the
 * valtypes test component (guest.c, world.wit) on wisp's component
 * instantiation (src/component/cinst.h, the internal API), with the host side of
 * world.wit implemented here: echo-* return their argument, `counter` is a host
 * resource with a destructor, `consume` and `reenter` exist to be misused.
 *
 * Prints a transcript: each call as the script says it, what the host's imports
 * received while it ran, and the result or the kind of trap. transpile.mjs prints
 * the same transcript for the same component run by jco transpile on Node; the
 * component/valtypes/diff-* tests compare the two. This program also checks the
 * script's expectations itself (rt-* return their argument, "=> RESULT",
 * "=> trap KIND") and exits 1 on any mismatch.
 *
 * Values are written in one notation, parsed and printed by the component's
 * types: true, -5, f32:3fc00000 (floats print as their bits; the script may
 * write decimal, inf or nan, and NaN prints as nan), 'U+1F600', "caf\u{e9}",
 * [1, 2], {x: 1, y: 2} (records), (1, "a") (tuples), circle(2.5) / empty
 * (variants, enums), some(..) / none, ok(..) / err(..), {read, exec} (flags),
 * counter#1 (a host counter, by number), blob#1 (a guest blob the host holds,
 * numbered in the order the host received them).
 */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "component/cinst.h"

#define IFACE "wisp:valtypes/guest"

static const wisp_component_t *comp;
static long mutants; /* --mutants N: running mutated components, expectations off */
static wisp_engine_t *engine;
static wisp_store_t *store;
static wisp_exec_t *exec;
static wisp__cinst_t *inst;
static int failures;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  printf("FAIL: ");
  vprintf(fmt, ap);
  printf("\n");
  va_end(ap);
  failures++;
}

/* ---- host state ---- */

#define MAX_COUNTERS 64
static struct { bool live; uint32_t value; } counters[MAX_COUNTERS + 1];
static uint32_t ncounters;
#define MAX_BLOBS 64
static uint32_t blob_rep[MAX_BLOBS + 1]; /* label -> the guest's representation */
static bool blob_held[MAX_BLOBS + 1];
static uint32_t nblobs;

static const wisp__ctype_t *T(uint32_t id) { return wisp__ctype(comp, id); }

static bool is_name(const wisp__ctype_t *t, const char *name) {
  return t->name && t->name_len == strlen(name) && memcmp(t->name, name, t->name_len) == 0;
}

/* own<blob> results reaching the host get the next label (print_value) */
static bool register_blobs;
static uint32_t given_away; /* an own<blob> argument: the host no longer holds it */

/* ---- printing ---- */

typedef struct buf {
  char s[8192];
  size_t n;
} buf_t;

static void put(buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(buf_t *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  if (b->n < sizeof b->s) {
    int k = vsnprintf(b->s + b->n, sizeof b->s - b->n, fmt, ap);
    if (k > 0) b->n += (size_t)k;
    if (b->n >= sizeof b->s) b->n = sizeof b->s - 1;
  }
  va_end(ap);
}

static void print_string(buf_t *b, const char *s, uint32_t len) {
  put(b, "\"");
  for (uint32_t i = 0; i < len;) {
    uint8_t c = (uint8_t)s[i];
    uint32_t cp = c, k = 1;
    if (c >= 0xF0) { cp = c & 7; k = 4; }
    else if (c >= 0xE0) { cp = c & 15; k = 3; }
    else if (c >= 0xC0) { cp = c & 31; k = 2; }
    for (uint32_t j = 1; j < k && i + j < len; j++) cp = cp << 6 | ((uint8_t)s[i + j] & 63);
    i += k;
    if (cp == '"' || cp == '\\') put(b, "\\%c", (char)cp);
    else if (cp >= 0x20 && cp < 0x7f) put(b, "%c", (char)cp);
    else put(b, "\\u{%x}", cp);
  }
  put(b, "\"");
}

static void print_value(buf_t *b, const wisp__cval_t *v, uint32_t type) {
  const wisp__ctype_t *t = T(type);
  switch (t->kind) {
  case WISP__CT_BOOL: put(b, "%s", v->of.u ? "true" : "false"); break;
  case WISP__CT_U8: case WISP__CT_U16: case WISP__CT_U32: case WISP__CT_U64:
    put(b, "%llu", (unsigned long long)v->of.u); break;
  case WISP__CT_S8: case WISP__CT_S16: case WISP__CT_S32: case WISP__CT_S64:
    put(b, "%lld", (long long)v->of.s); break;
  case WISP__CT_F32: {
    uint32_t bits;
    memcpy(&bits, &v->of.f32, 4);
    if (isnan(v->of.f32)) put(b, "nan%s", bits == 0x7fc00000u ? "" : "(not canonical)");
    else put(b, "f32:%08x", bits);
    break;
  }
  case WISP__CT_F64: {
    uint64_t bits;
    memcpy(&bits, &v->of.f64, 8);
    if (isnan(v->of.f64)) put(b, "nan%s", bits == 0x7ff8000000000000ull ? "" : "(not canonical)");
    else put(b, "f64:%016llx", (unsigned long long)bits);
    break;
  }
  case WISP__CT_CHAR: put(b, "'U+%llX'", (unsigned long long)v->of.u); break;
  case WISP__CT_STRING: print_string(b, v->of.str.ptr, v->of.str.len); break;
  case WISP__CT_LIST: {
    uint8_t ek = T(t->a)->kind;
    bool bytes = ek == WISP__CT_U8 || ek == WISP__CT_S8;
    uint32_t n = bytes ? v->of.bytes.len : v->of.agg.len;
    put(b, "[");
    for (uint32_t i = 0; i < n; i++) {
      if (i) put(b, ", ");
      if (bytes && ek == WISP__CT_U8) put(b, "%u", v->of.bytes.ptr[i]);
      else if (bytes) put(b, "%d", (int8_t)v->of.bytes.ptr[i]);
      else print_value(b, &v->of.agg.items[i], t->a);
    }
    put(b, "]");
    break;
  }
  case WISP__CT_RECORD:
    put(b, "{");
    for (uint32_t i = 0; i < t->n; i++) {
      put(b, "%s%.*s: ", i ? ", " : "", (int)t->fields[i].name_len, t->fields[i].name);
      print_value(b, &v->of.agg.items[i], t->fields[i].type);
    }
    put(b, "}");
    break;
  case WISP__CT_TUPLE:
    put(b, "(");
    for (uint32_t i = 0; i < t->n; i++) {
      if (i) put(b, ", ");
      print_value(b, &v->of.agg.items[i], t->fields[i].type);
    }
    put(b, ")");
    break;
  case WISP__CT_FLAGS: {
    put(b, "{");
    bool first = true;
    for (uint32_t i = 0; i < t->n; i++)
      if (v->of.u >> i & 1) {
        put(b, "%s%.*s", first ? "" : ", ", (int)t->fields[i].name_len, t->fields[i].name);
        first = false;
      }
    put(b, "}");
    break;
  }
  case WISP__CT_VARIANT: case WISP__CT_ENUM: case WISP__CT_OPTION: case WISP__CT_RESULT: {
    uint32_t d = v->of.var.disc, ct = WISP__CNONE;
    if (t->kind == WISP__CT_OPTION) { put(b, d ? "some" : "none"); ct = d ? t->a : WISP__CNONE; }
    else if (t->kind == WISP__CT_RESULT) { put(b, d ? "err" : "ok"); ct = d ? t->b : t->a; }
    else {
      put(b, "%.*s", (int)t->fields[d].name_len, t->fields[d].name);
      ct = t->kind == WISP__CT_VARIANT ? t->fields[d].type : WISP__CNONE;
    }
    if (ct != WISP__CNONE && v->of.var.payload) {
      put(b, "(");
      print_value(b, v->of.var.payload, ct);
      put(b, ")");
    }
    break;
  }
  case WISP__CT_OWN: case WISP__CT_BORROW: {
    const wisp__ctype_t *rt = T(t->a);
    if (is_name(rt, "counter")) { put(b, "counter#%llu", (unsigned long long)v->of.u); break; }
    uint32_t label = 0;
    for (uint32_t i = 1; i <= nblobs; i++)
      if (blob_held[i] && blob_rep[i] == v->of.u) label = i;
    if (register_blobs && t->kind == WISP__CT_OWN && nblobs < MAX_BLOBS) { /* a new one reaches the host */
      label = ++nblobs;
      blob_rep[label] = (uint32_t)v->of.u;
      blob_held[label] = true;
    }
    put(b, "blob#%u", label);
    break;
  }
  default: put(b, "?"); break;
  }
}

static void print_values(buf_t *b, const wisp__cval_t *v, const wisp__cfield_t *types, uint32_t n) {
  for (uint32_t i = 0; i < n; i++) {
    if (i) put(b, ", ");
    print_value(b, &v[i], types[i].type);
  }
}

/* ---- parsing ---- */

typedef struct parser {
  const char *p;
  wisp__arena_t *arena;
  char err[200];
} parser_t;

static void skip(parser_t *ps) {
  while (*ps->p == ' ') ps->p++;
}

static bool eat(parser_t *ps, const char *s) {
  skip(ps);
  size_t n = strlen(s);
  if (strncmp(ps->p, s, n) != 0) return false;
  ps->p += n;
  return true;
}

static bool perr(parser_t *ps, const char *what) {
  if (!ps->err[0]) snprintf(ps->err, sizeof ps->err, "expected %s at \"%.40s\"", what, ps->p);
  return false;
}

static size_t ident(parser_t *ps) {
  skip(ps);
  size_t n = 0;
  while (isalnum((unsigned char)ps->p[n]) || ps->p[n] == '-' || ps->p[n] == '_') n++;
  return n;
}

static int find_label(const wisp__ctype_t *t, const char *s, size_t n) {
  for (uint32_t i = 0; i < t->n; i++)
    if (t->fields[i].name_len == n && memcmp(t->fields[i].name, s, n) == 0) return (int)i;
  return -1;
}

static void *palloc(parser_t *ps, size_t n) { return wisp__arena_alloc(ps->arena, n ? n : 1); }

static bool parse_value(parser_t *ps, uint32_t type, wisp__cval_t *out);

static bool parse_payload(parser_t *ps, uint32_t ct, wisp__cval_t *out) {
  out->of.var.payload = NULL;
  if (ct == WISP__CNONE) return true;
  out->of.var.payload = palloc(ps, sizeof *out->of.var.payload);
  if (!eat(ps, "(")) return perr(ps, "(");
  if (!parse_value(ps, ct, out->of.var.payload)) return false;
  return eat(ps, ")") || perr(ps, ")");
}

static bool parse_float(parser_t *ps, double *d) {
  skip(ps);
  if (eat(ps, "nan")) { *d = NAN; return true; }
  if (eat(ps, "-inf")) { *d = -INFINITY; return true; }
  if (eat(ps, "inf")) { *d = INFINITY; return true; }
  char *end;
  *d = strtod(ps->p, &end);
  if (end == ps->p) return perr(ps, "a float");
  ps->p = end;
  return true;
}

static bool parse_value(parser_t *ps, uint32_t type, wisp__cval_t *out) {
  const wisp__ctype_t *t = T(type);
  memset(out, 0, sizeof *out);
  out->type = type;
  skip(ps);
  char *end;
  switch (t->kind) {
  case WISP__CT_BOOL:
    if (eat(ps, "true")) out->of.u = 1;
    else if (!eat(ps, "false")) return perr(ps, "a bool");
    return true;
  case WISP__CT_U8: case WISP__CT_U16: case WISP__CT_U32: case WISP__CT_U64:
    out->of.u = strtoull(ps->p, &end, 10);
    break;
  case WISP__CT_S8: case WISP__CT_S16: case WISP__CT_S32: case WISP__CT_S64:
    out->of.s = strtoll(ps->p, &end, 10);
    break;
  case WISP__CT_F32: case WISP__CT_F64: {
    double d = 0;
    if (!parse_float(ps, &d)) return false;
    if (t->kind == WISP__CT_F32) out->of.f32 = (float)d;
    else out->of.f64 = d;
    return true;
  }
  case WISP__CT_CHAR:
    if (!eat(ps, "'U+")) return perr(ps, "'U+");
    out->of.u = strtoull(ps->p, &end, 16);
    ps->p = end;
    return eat(ps, "'") || perr(ps, "'");
  case WISP__CT_STRING: {
    if (!eat(ps, "\"")) return perr(ps, "a string");
    char *s = palloc(ps, strlen(ps->p) * 4 + 1);
    uint32_t n = 0;
    while (*ps->p && *ps->p != '"') {
      if (ps->p[0] == '\\' && ps->p[1] == 'u') {
        uint32_t cp = (uint32_t)strtoul(ps->p + 3, &end, 16);
        ps->p = end + 1;
        if (cp < 0x80) s[n++] = (char)cp;
        else if (cp < 0x800) { s[n++] = (char)(0xC0 | cp >> 6); s[n++] = (char)(0x80 | (cp & 63)); }
        else if (cp < 0x10000) {
          s[n++] = (char)(0xE0 | cp >> 12); s[n++] = (char)(0x80 | (cp >> 6 & 63)); s[n++] = (char)(0x80 | (cp & 63));
        } else {
          s[n++] = (char)(0xF0 | cp >> 18); s[n++] = (char)(0x80 | (cp >> 12 & 63));
          s[n++] = (char)(0x80 | (cp >> 6 & 63)); s[n++] = (char)(0x80 | (cp & 63));
        }
        continue;
      }
      if (ps->p[0] == '\\') ps->p++;
      s[n++] = *ps->p++;
    }
    if (!eat(ps, "\"")) return perr(ps, "\"");
    out->of.str.ptr = s;
    out->of.str.len = n;
    return true;
  }
  case WISP__CT_LIST: {
    if (!eat(ps, "[")) return perr(ps, "[");
    uint8_t ek = T(t->a)->kind;
    bool bytes = ek == WISP__CT_U8 || ek == WISP__CT_S8;
    wisp__cval_t *items = palloc(ps, 64 * sizeof *items);
    uint8_t *raw = palloc(ps, 64);
    uint32_t n = 0;
    while (!eat(ps, "]")) {
      if (n && !eat(ps, ",")) return perr(ps, ", or ]");
      if (n == 64) return perr(ps, "at most 64 elements");
      if (!parse_value(ps, t->a, &items[n])) return false;
      raw[n] = (uint8_t)items[n].of.u;
      n++;
    }
    if (bytes) { out->of.bytes.ptr = raw; out->of.bytes.len = n; }
    else { out->of.agg.items = items; out->of.agg.len = n; }
    return true;
  }
  case WISP__CT_RECORD: case WISP__CT_TUPLE: {
    bool rec = t->kind == WISP__CT_RECORD;
    if (!eat(ps, rec ? "{" : "(")) return perr(ps, rec ? "{" : "(");
    out->of.agg.items = palloc(ps, t->n * sizeof *out->of.agg.items);
    out->of.agg.len = t->n;
    for (uint32_t i = 0; i < t->n; i++) {
      if (i && !eat(ps, ",")) return perr(ps, ",");
      if (rec) {
        size_t n = ident(ps);
        if (n != t->fields[i].name_len || memcmp(ps->p, t->fields[i].name, n) != 0) return perr(ps, "the next field");
        ps->p += n;
        if (!eat(ps, ":")) return perr(ps, ":");
      }
      if (!parse_value(ps, t->fields[i].type, &out->of.agg.items[i])) return false;
    }
    return eat(ps, rec ? "}" : ")") || perr(ps, rec ? "}" : ")");
  }
  case WISP__CT_FLAGS:
    if (!eat(ps, "{")) return perr(ps, "{");
    for (int k = 0; !eat(ps, "}"); k++) {
      if (k && !eat(ps, ",")) return perr(ps, ", or }");
      size_t n = ident(ps);
      int i = find_label(t, ps->p, n);
      if (i < 0) return perr(ps, "a flag");
      ps->p += n;
      out->of.u |= 1ull << i;
    }
    return true;
  case WISP__CT_OPTION:
    if (eat(ps, "none")) return true;
    if (!eat(ps, "some")) return perr(ps, "some or none");
    out->of.var.disc = 1;
    return parse_payload(ps, t->a, out);
  case WISP__CT_RESULT:
    if (eat(ps, "ok")) return parse_payload(ps, t->a, out);
    if (!eat(ps, "err")) return perr(ps, "ok or err");
    out->of.var.disc = 1;
    return parse_payload(ps, t->b, out);
  case WISP__CT_VARIANT: case WISP__CT_ENUM: {
    size_t n = ident(ps);
    int i = find_label(t, ps->p, n);
    if (i < 0) return perr(ps, "a case");
    ps->p += n;
    out->of.var.disc = (uint32_t)i;
    return parse_payload(ps, t->kind == WISP__CT_VARIANT ? t->fields[i].type : WISP__CNONE, out);
  }
  case WISP__CT_OWN: case WISP__CT_BORROW: {
    const wisp__ctype_t *rt = T(t->a);
    if (!eat(ps, is_name(rt, "counter") ? "counter#" : "blob#")) return perr(ps, "a resource");
    uint32_t n = (uint32_t)strtoul(ps->p, &end, 10);
    ps->p = end;
    if (is_name(rt, "counter")) { out->of.u = n; return true; }
    if (n == 0 || n > nblobs || !blob_held[n]) return perr(ps, "a blob the host holds");
    out->of.u = blob_rep[n];
    if (t->kind == WISP__CT_OWN) given_away = n; /* once the call is made */
    return true;
  }
  default: return perr(ps, "a value type");
  }
  if (end == ps->p) return perr(ps, "a number");
  ps->p = end;
  return true;
}

/* ---- the host side of world.wit ---- */

static bool quiet; /* --bench: the host prints nothing */

static void hostf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void hostf(const char *fmt, ...) {
  if (quiet) return;
  va_list ap;
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
}

static void host_line(const char *name, const wisp__cfield_t *types, const wisp__cval_t *args, uint32_t n) {
  if (quiet) return;
  buf_t b = {.n = 0};
  print_values(&b, args, types, n);
  hostf("  host %s(%s)\n", name, b.s);
}

/* the function type of an import, found by the host name it is bound to */
static const wisp__ctype_t *import_type(const char *iface, const char *name) {
  for (uint32_t i = 0; i < wisp_component_import_count(comp); i++) {
    wisp_component_item_t it;
    wisp_component_import(comp, i, &it);
    if (it.sort != WISP_SORT_INSTANCE || !wisp_component_name_matches(iface, strlen(iface), it.name, it.name_len))
      continue;
    const wisp__ctype_t *itype = T(it.type);
    for (uint32_t k = 0; k < itype->nexports; k++)
      if (itype->exports[k].name_len == strlen(name) && memcmp(itype->exports[k].name, name, strlen(name)) == 0)
        return T(itype->exports[k].type);
  }
  return NULL;
}

static int host_echo(void *env, wisp__cabi_t *cx, const wisp__cval_t *args, uint32_t nargs, wisp__cval_t *results,
                     uint32_t nresults) {
  const char *name = env;
  const wisp__ctype_t *ft = import_type("wisp:valtypes/host", name);
  if (ft) host_line(name, ft->fields, args, nargs);
  if (nargs != 1 || nresults != 1) {
    snprintf(cx->trap, sizeof cx->trap, "host %s: wrong arity", name);
    return -1;
  }
  uint32_t type = results[0].type;
  if (mutants && args[0].type != type) { /* a mutated type: the value would not fit */
    snprintf(cx->trap, sizeof cx->trap, "host %s: result type differs", name);
    return -1;
  }
  results[0] = args[0];
  results[0].type = type;
  return 0;
}

/* echo-many(a1..a16) -> (a4, a8, a6, a7) */
static int host_many(void *env, wisp__cabi_t *cx, const wisp__cval_t *args, uint32_t nargs, wisp__cval_t *results,
                     uint32_t nresults) {
  (void)env;
  const wisp__ctype_t *ft = import_type("wisp:valtypes/host", "echo-many");
  if (ft) host_line("echo-many", ft->fields, args, nargs);
  if (nargs != 16 || nresults != 1) return -1;
  const wisp__ctype_t *tt = T(results[0].type);
  wisp__cval_t *items = wisp__arena_alloc(cx->arena, 4 * sizeof *items);
  if (!items) return -1;
  const int from[4] = {3, 7, 5, 6};
  if (tt->kind != WISP__CT_TUPLE || tt->n != 4) return -1;
  for (int i = 0; i < 4; i++)
    if (mutants && tt->fields[i].type != args[from[i]].type) return -1;
  for (int i = 0; i < 4; i++) {
    items[i] = args[from[i]];
    items[i].type = tt->fields[i].type;
  }
  results[0].of.agg.items = items;
  results[0].of.agg.len = 4;
  return 0;
}

static int counter_ctor(void *env, wisp__cabi_t *cx, const wisp__cval_t *args, uint32_t nargs,
                        wisp__cval_t *results, uint32_t nresults) {
  (void)env;
  if (quiet && ncounters == MAX_COUNTERS) ncounters = 0; /* --bench: every counter was dropped */
  if (nargs != 1 || nresults != 1 || ncounters == MAX_COUNTERS) {
    snprintf(cx->trap, sizeof cx->trap, "host: too many counters");
    return -1;
  }
  hostf("  host [constructor]counter(%llu)\n", (unsigned long long)args[0].of.u);
  counters[++ncounters].live = true;
  counters[ncounters].value = (uint32_t)args[0].of.u;
  results[0].of.u = ncounters;
  return 0;
}

static int live_counter(wisp__cabi_t *cx, uint64_t id) {
  if (id == 0 || id > ncounters || !counters[id].live) {
    snprintf(cx->trap, sizeof cx->trap, "host: counter %llu is not live", (unsigned long long)id);
    return -1;
  }
  return 0;
}

static int counter_add(void *env, wisp__cabi_t *cx, const wisp__cval_t *args, uint32_t nargs,
                       wisp__cval_t *results, uint32_t nresults) {
  (void)env;
  if (nargs != 2 || nresults != 1 || live_counter(cx, args[0].of.u)) return -1;
  hostf("  host [method]counter.add(counter#%llu, %llu)\n", (unsigned long long)args[0].of.u,
         (unsigned long long)args[1].of.u);
  counters[args[0].of.u].value += (uint32_t)args[1].of.u;
  results[0].of.u = counters[args[0].of.u].value;
  return 0;
}

static int counter_get(void *env, wisp__cabi_t *cx, const wisp__cval_t *args, uint32_t nargs,
                       wisp__cval_t *results, uint32_t nresults) {
  (void)env;
  if (nargs != 1 || nresults != 1 || live_counter(cx, args[0].of.u)) return -1;
  hostf("  host [method]counter.get(counter#%llu)\n", (unsigned long long)args[0].of.u);
  results[0].of.u = counters[args[0].of.u].value;
  return 0;
}

/* the destructor: the guest dropped its last (owned) handle */
static int counter_drop(void *env, wisp__cabi_t *cx, const wisp__cval_t *args, uint32_t nargs,
                        wisp__cval_t *results, uint32_t nresults) {
  (void)env; (void)results; (void)nresults;
  if (nargs != 1 || live_counter(cx, args[0].of.u)) return -1;
  hostf("  host [resource-drop]counter(counter#%llu)\n", (unsigned long long)args[0].of.u);
  counters[args[0].of.u].live = false;
  return 0;
}

static int host_consume(void *env, wisp__cabi_t *cx, const wisp__cval_t *args, uint32_t nargs,
                        wisp__cval_t *results, uint32_t nresults) {
  (void)env;
  if (nargs != 2 || nresults != 1) return -1;
  hostf("  host consume(counter#%llu, counter#%llu)\n", (unsigned long long)args[0].of.u,
         (unsigned long long)args[1].of.u);
  if (live_counter(cx, args[1].of.u)) return -1;
  counters[args[1].of.u].live = false;
  results[0].of.u = 0;
  return 0;
}

static int host_take(void *env, wisp__cabi_t *cx, const wisp__cval_t *args, uint32_t nargs,
                     wisp__cval_t *results, uint32_t nresults) {
  (void)env;
  if (nargs != 1 || nresults != 1) return -1;
  hostf("  host take(counter#%llu)\n", (unsigned long long)args[0].of.u);
  if (live_counter(cx, args[0].of.u)) return -1;
  counters[args[0].of.u].live = false;
  results[0].of.u = 0;
  return 0;
}

static int host_describe(void *env, wisp__cabi_t *cx, const wisp__cval_t *args, uint32_t nargs,
                         wisp__cval_t *results, uint32_t nresults) {
  (void)env;
  if (nargs != 1 || nresults != 1 || live_counter(cx, args[0].of.u)) return -1;
  hostf("  host describe(counter#%llu)\n", (unsigned long long)args[0].of.u);
  char *s = wisp__arena_alloc(cx->arena, 32);
  if (!s) return -1;
  results[0].of.str.ptr = s;
  results[0].of.str.len = (uint32_t)snprintf(s, 32, "counter#%llu", (unsigned long long)args[0].of.u);
  return 0;
}

/* calls back into the instance that is calling us */
static int host_reenter(void *env, wisp__cabi_t *cx, const wisp__cval_t *args, uint32_t nargs,
                        wisp__cval_t *results, uint32_t nresults) {
  (void)env; (void)args; (void)nargs; (void)nresults;
  hostf("  host reenter()\n");
  wisp__cfunc_t *f = wisp__cinst_func(inst, IFACE, "rt-u32");
  if (!f) return -1;
  wisp__cval_t arg = {.type = WISP__CT_U32, .of.u = 1}, res = {.type = WISP__CT_U32};
  if (wisp__cinst_call(inst, f, &arg, 1, &res, 1, cx->arena, cx->trap, sizeof cx->trap)) return -1;
  results[0].of.u = res.of.u;
  return 0;
}

#define H "wisp:valtypes/host"
#define ECHO(n) {H, n, host_echo, (void *)n}
static const wisp__chost_func_t host[] = {
  ECHO("echo-bool"), ECHO("echo-s8"), ECHO("echo-u8"), ECHO("echo-s16"), ECHO("echo-u16"), ECHO("echo-s32"),
  ECHO("echo-u32"), ECHO("echo-s64"), ECHO("echo-u64"), ECHO("echo-f32"), ECHO("echo-f64"), ECHO("echo-char"),
  ECHO("echo-string"), ECHO("echo-bytes"), ECHO("echo-u32s"), ECHO("echo-nested"), ECHO("echo-point"),
  ECHO("echo-mixed"), ECHO("echo-tuple"), ECHO("echo-shape"), ECHO("echo-color"), ECHO("echo-option"),
  ECHO("echo-result"), ECHO("echo-perms"), ECHO("echo-wide"),
  {H, "echo-many", host_many, NULL},
  {H, "consume", host_consume, NULL},
  {H, "reenter", host_reenter, NULL},
  {H, "take", host_take, NULL},
  {H, "describe", host_describe, NULL},
  {"wisp:valtypes/types", "[constructor]counter", counter_ctor, NULL},
  {"wisp:valtypes/types", "[method]counter.add", counter_add, NULL},
  {"wisp:valtypes/types", "[method]counter.get", counter_get, NULL},
  {"wisp:valtypes/types", "[resource-drop]counter", counter_drop, NULL},
};

/* ---- running the script ---- */

static int instantiate(void) {
  wisp__cinst_delete(inst);
  inst = NULL;
  if (exec) wisp_exec_delete(exec);
  if (store) wisp_store_delete(store);
  store = wisp_store_new(engine);
  exec = wisp_exec_new(store, NULL);
  if (mutants && exec) wisp_exec_set_fuel(exec, 10000000); /* a mutant may loop */
  wisp_error_t err;
  if (!store || !exec || wisp__cinst_new(comp, store, exec, host, sizeof host / sizeof host[0], &inst, &err)) {
    fail("instantiate: %s", err.message);
    return -1;
  }
  /* blobs the host held belonged to the old instance */
  memset(blob_held, 0, sizeof blob_held);
  return 0;
}

/* The kind of trap, from wisp's message (the transcript's categories). */
static const char *trap_kind(const char *msg) {
  static const struct { const char *needle, *kind; } kinds[] = {
    {"invalid char", "invalid-char"},
    {"out-of-bounds", "out-of-bounds"},
    {"misaligned", "misaligned"},
    {"not aligned", "misaligned"},
    {"discriminant", "invalid-discriminant"},
    {"invalid UTF", "invalid-string"},
    {"unknown resource handle", "unknown-handle"},
    {"another resource type", "wrong-resource-type"},
    {"borrowed handle cannot be passed as owned", "borrow-given-as-own"},
    {"borrowed handle", "borrow-outlives-call"},
    {"while it is lent", "handle-lent"},
    {"cannot enter", "reentrance"},
    {"cannot leave", "may-not-leave"},
  };
  for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
    if (strstr(msg, kinds[i].needle)) return kinds[i].kind;
  return NULL;
}

static void run_line(char *line, int lineno) {
  char *tag = strstr(line, " | jco deviates");
  if (tag) *tag = 0; /* for compare.mjs: jco transpile does not do what the spec says here */
  char *expect = strstr(line, " => ");
  if (expect) { *expect = 0; expect += 4; }
  char *args = strchr(line, ' ');
  if (args) *args++ = 0;
  else args = line + strlen(line);
  wisp__arena_t arena;
  wisp__arena_init(&arena);
  parser_t ps = {.p = args, .arena = &arena};

  if (strcmp(line, "host-counter") == 0) {
    counters[++ncounters].live = true;
    counters[ncounters].value = (uint32_t)strtoul(args, NULL, 10);
    printf("host-counter %s\n  = counter#%u\n", args, ncounters);
    goto out;
  }
  if (strcmp(line, "host-drop") == 0) {
    printf("host-drop %s\n", args);
    unsigned n = 0;
    if (sscanf(args, "counter#%u", &n) == 1) {
      if (n == 0 || n > ncounters || !counters[n].live) fail("line %d: counter#%u is not live", lineno, n);
      else counters[n].live = false;
    } else if (sscanf(args, "blob#%u", &n) == 1 && n >= 1 && n <= nblobs && blob_held[n]) {
      char trap[200];
      wisp__cfunc_t *f = wisp__cinst_func(inst, IFACE, "[method]blob.size");
      const wisp__ctype_t *self = f ? T(T(wisp__cfunc_type(f))->fields[0].type) : NULL;
      if (!self || wisp__cinst_resource_drop(inst, self->a, blob_rep[n], trap, sizeof trap))
        fail("line %d: dropping blob#%u: %s", lineno, n, self ? trap : "no blob type");
      blob_held[n] = false;
    } else {
      fail("line %d: cannot drop %s", lineno, args);
    }
    goto out;
  }

  wisp__cfunc_t *f = wisp__cinst_func(inst, IFACE, line);
  if (!f) { fail("line %d: no export %s", lineno, line); goto out; }
  const wisp__ctype_t *ft = T(wisp__cfunc_type(f));
  wisp__cval_t argv[16], res[1];
  memset(res, 0, sizeof res);
  for (uint32_t i = 0; i < ft->n; i++) {
    if (i && !eat(&ps, ",")) { perr(&ps, ","); break; }
    if (!parse_value(&ps, ft->fields[i].type, &argv[i])) break;
  }
  skip(&ps);
  if (ps.err[0] || *ps.p) { fail("line %d: %s", lineno, ps.err[0] ? ps.err : "junk after the arguments"); goto out; }
  buf_t shown = {.n = 0};
  print_values(&shown, argv, ft->fields, ft->n);
  printf("%s%s%s\n", line, ft->n ? " " : "", shown.s);
  fflush(stdout);
  if (ft->nresults) res[0].type = ft->results[0].type;
  char trap[200];
  buf_t got = {.n = 0};
  blob_held[given_away] = false;
  given_away = 0;
  if (wisp__cinst_call(inst, f, argv, ft->n, res, ft->nresults, &arena, trap, sizeof trap)) {
    const char *kind = trap_kind(trap);
    put(&got, "trap %s", kind ? kind : "other");
    printf("  => %s\n", got.s);
    if (!kind) printf("  (unclassified trap: %s)\n", trap);
    else if (!mutants) fprintf(stderr, "line %d: %s: %s\n", lineno, line, trap);
    instantiate();
  } else {
    register_blobs = true;
    print_values(&got, res, ft->results, ft->nresults);
    register_blobs = false;
    printf("  => %s\n", got.s);
  }
  /* expectations: rt-* echo, "=> RESULT" */
  if (expect && strncmp(expect, "trap ", 5) == 0) {
    if (strcmp(got.s, expect) != 0) fail("line %d: %s: expected %s, got %s", lineno, line, expect, got.s);
  } else if (expect || strncmp(line, "rt-", 3) == 0) {
    buf_t want = {.n = 0};
    if (expect && ft->nresults == 1 && T(ft->results[0].type)->kind == WISP__CT_OWN) {
      put(&want, "%s", expect); /* handles: compared as written */
    } else if (expect) {
      parser_t pe = {.p = expect, .arena = &arena};
      wisp__cval_t ev;
      if (ft->nresults != 1 || !parse_value(&pe, ft->results[0].type, &ev)) {
        fail("line %d: cannot parse the expected result: %s", lineno, pe.err);
        goto out;
      }
      print_value(&want, &ev, ft->results[0].type);
    } else {
      put(&want, "%s", shown.s);
    }
    if (strcmp(got.s, want.s) != 0) fail("line %d: %s: expected %s, got %s", lineno, line, want.s, got.s);
  }
out:
  wisp__arena_free(&arena);
}

/* Decodes `bytes` and plays the script on it; the number of failures (a
 * component that does not decode or instantiate counts as one). */
static int run_script(const uint8_t *bytes, size_t len, const char *cases_path) {
  FILE *cases = fopen(cases_path, "r");
  if (!cases) { perror(cases_path); return 1; }
  wisp_error_t err;
  wisp_component_t *c = NULL;
  failures = 0;
  ncounters = nblobs = 0;
  memset(counters, 0, sizeof counters);
  if (wisp_component_new(engine, bytes, len, &c, &err)) {
    fail("decode: %s", err.message);
    fclose(cases);
    return failures;
  }
  comp = c;
  if (instantiate() == 0) {
    char line[2048];
    int lineno = 0;
    while (fgets(line, sizeof line, cases)) {
      lineno++;
      line[strcspn(line, "\r\n")] = 0;
      if (!line[0] || line[0] == '#') continue;
      run_line(line, lineno);
    }
  }
  fclose(cases);
  wisp__cinst_delete(inst);
  inst = NULL;
  if (exec) wisp_exec_delete(exec);
  if (store) wisp_store_delete(store);
  exec = NULL;
  store = NULL;
  wisp_component_delete(c);
  return failures;
}

/* --bench N: N calls of each of a few exports, ns per call (each a round trip:
 * host -> export -> host import -> back) */
static int bench(const uint8_t *bytes, size_t len, long n) {
  wisp_error_t err;
  wisp_component_t *c = NULL;
  if (wisp_component_new(engine, bytes, len, &c, &err)) { printf("FAIL decode: %s\n", err.message); return 1; }
  comp = c;
  if (instantiate()) return 1;
  quiet = true;
  static const char *const calls[][2] = {
    {"rt-u32", "7"},
    {"rt-string", "\"hello, world\""},
    {"rt-nested", "[[\"a\", \"b\"], [\"c\"]]"},
    {"rt-mixed", "{flag: true, small: 1, big: 2, name: \"n\", nums: [1, 2], ratio: some(0.5)}"},
    {"rt-many", "1, -2, 3, 4, 5.5, 6.25, 'U+263A', \"seven\", true, {x: 9, y: 10}, [11, 12], -13, 14, "
                "green, {write}, some(16)"},
    {"counter-cycle", "1, 3"},
  };
  for (size_t k = 0; k < sizeof calls / sizeof calls[0]; k++) {
    wisp__cfunc_t *f = wisp__cinst_func(inst, IFACE, calls[k][0]);
    const wisp__ctype_t *ft = T(wisp__cfunc_type(f));
    wisp__arena_t arena;
    wisp__arena_init(&arena);
    parser_t ps = {.p = calls[k][1], .arena = &arena};
    wisp__cval_t argv[16], res[1];
    for (uint32_t i = 0; i < ft->n; i++) {
      if (i) eat(&ps, ",");
      if (!parse_value(&ps, ft->fields[i].type, &argv[i])) { printf("FAIL: %s\n", ps.err); return 1; }
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long i = 0; i < n; i++) {
      wisp__arena_t a;
      wisp__arena_init(&a);
      char trap[200];
      res[0].type = ft->results[0].type;
      int rc = wisp__cinst_call(inst, f, argv, ft->n, res, 1, &a, trap, sizeof trap);
      wisp__arena_free(&a);
      if (rc) { printf("FAIL: %s: %s\n", calls[k][0], trap); return 1; }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ns = ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) / (double)n;
    printf("%-14s %8.0f ns per call\n", calls[k][0], ns);
    wisp__arena_free(&arena);
  }
  wisp__cinst_delete(inst);
  wisp_exec_delete(exec);
  wisp_store_delete(store);
  wisp_component_delete(c);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 4 && strcmp(argv[1], "--bench") == 0) {
    FILE *file = fopen(argv[3], "rb");
    if (!file) { perror(argv[3]); return 2; }
    static uint8_t b[1 << 20];
    size_t n = fread(b, 1, sizeof b, file);
    fclose(file);
    engine = wisp_engine_new();
    int rc = bench(b, n, atol(argv[2]));
    wisp_engine_delete(engine);
    return rc;
  }
  if (argc == 5 && strcmp(argv[1], "--mutants") == 0) {
    mutants = atol(argv[2]);
    argv += 2;
    argc -= 2;
  }
  if (argc != 3) {
    fprintf(stderr, "usage: valtypes_run [--mutants N] VALTYPES.component.wasm CASES.txt\n"
                    "       valtypes_run --bench N VALTYPES.component.wasm\n");
    return 2;
  }
  FILE *file = fopen(argv[1], "rb");
  if (!file) { perror(argv[1]); return 2; }
  static uint8_t bytes[1 << 20];
  size_t len = fread(bytes, 1, sizeof bytes, file);
  fclose(file);
  engine = wisp_engine_new();
  if (!mutants) {
    int n = run_script(bytes, len, argv[2]);
    wisp_engine_delete(engine);
    if (n) printf("%d failures\n", n);
    return n ? 1 : 0;
  }
  /* --mutants N: N one-byte mutants of the component, each decoded and, when it
   * still decodes, instantiated and played the whole script (output discarded):
   * no crash, no leak (run it in the sanitizer build); traps and refusals fine */
  if (!freopen("/dev/null", "w", stdout)) return 2;
  static uint8_t copy[1 << 20];
  uint32_t state = 2026;
  long ran = 0;
  for (long i = 0; i < mutants; i++) {
    state = state * 1103515245u + 12345u;
    size_t at = 8 + (state >> 8) % (len - 8);
    state = state * 1103515245u + 12345u;
    memcpy(copy, bytes, len);
    copy[at] ^= (uint8_t)((state >> 16) | 1);
    wisp_component_t *probe = NULL;
    wisp_error_t err;
    if (wisp_component_new(engine, copy, len, &probe, &err) != 0) continue;
    wisp_component_delete(probe);
    run_script(copy, len, argv[2]);
    ran++;
  }
  fprintf(stderr, "%ld mutants, %ld decoded and were run\n", mutants, ran);
  wisp_engine_delete(engine);
  return 0;
}
