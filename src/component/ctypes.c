/*
 * ctypes.c: the component type pool (see component.h): adding types and
 * computing the value-type properties the canonical ABI needs (flattening,
 * strings/lists, borrows), the name grammar of imports and exports, and printing
 * types in a WIT-like notation.
 *
 * Flattening follows the Canonical ABI explainer (CanonicalABI.md, "Flattening"):
 * integers up to 32 bits, char, enums, handles -> i32; 64-bit -> i64; floats keep
 * their width; strings and lists -> (i32 pointer, i32 length); records and tuples
 * concatenate; variants (option, result, enum) are an i32 discriminant followed by
 * the position-wise join of their cases (equal types stay, i32/f32 -> i32, else
 * i64); flags -> one i32 (at most 32 labels).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "component.h"

void *wisp__cvec_push(wisp__arena_t *arena, wisp__cvec_t *vec, size_t size) {
  if (vec->len == vec->cap) {
    uint32_t cap = vec->cap ? vec->cap * 2 : 8;
    void *data = wisp__arena_alloc(arena, (size_t)cap * size);
    if (!data) return NULL;
    if (vec->len) memcpy(data, vec->data, (size_t)vec->len * size);
    vec->data = data;
    vec->cap = cap;
  }
  void *slot = (char *)vec->data + (size_t)vec->len * size;
  memset(slot, 0, size);
  vec->len++;
  return slot;
}

/* ---- value-type properties ---- */

static uint8_t join(uint8_t a, uint8_t b) {
  if (a == b) return a;
  if ((a == WISP_I32 && b == WISP_F32) || (a == WISP_F32 && b == WISP_I32)) return WISP_I32;
  return WISP_I64;
}

/* Appends the flattening of `part` to `t` (or marks overflow). */
static void flat_append(wisp__ctype_t *t, const wisp__ctype_t *part) {
  if (t->nflat > WISP__MAX_FLAT) return;
  if (part->nflat > WISP__MAX_FLAT || t->nflat + part->nflat > WISP__MAX_FLAT) {
    t->nflat = WISP__MAX_FLAT + 1;
    return;
  }
  memcpy(t->flat + t->nflat, part->flat, part->nflat);
  t->nflat = (uint8_t)(t->nflat + part->nflat);
}

static void flat_push(wisp__ctype_t *t, uint8_t kind) {
  if (t->nflat >= WISP__MAX_FLAT) { t->nflat = WISP__MAX_FLAT + 1; return; }
  t->flat[t->nflat++] = kind;
}

/* Joins case payload `part` into positions 1.. of the variant `t`. */
static void flat_join_case(wisp__ctype_t *t, const wisp__ctype_t *part) {
  if (t->nflat > WISP__MAX_FLAT) return;
  if (part->nflat > WISP__MAX_FLAT || 1u + part->nflat > WISP__MAX_FLAT) {
    t->nflat = WISP__MAX_FLAT + 1;
    return;
  }
  for (uint32_t i = 0; i < part->nflat; i++) {
    if (1 + i < t->nflat) t->flat[1 + i] = join(t->flat[1 + i], part->flat[i]);
    else t->flat[t->nflat++] = part->flat[i];
  }
}

static void absorb(wisp__ctype_t *t, const wisp__ctype_t *part) {
  t->has_strlist |= part->has_strlist;
  t->has_borrow |= part->has_borrow;
}

static uint32_t align_to(uint32_t x, uint32_t a) { return (x + a - 1) / a * a; }

/* Bytes of a variant's discriminant for n cases (CanonicalABI.md discriminant_type). */
static uint32_t discriminant_size(uint32_t n) { return n <= 256 ? 1 : n <= 65536 ? 2 : 4; }

/* Size and alignment in linear memory (CanonicalABI.md "Alignment" and "Size").
 * Sizes saturate at UINT32_MAX / 2 so hostile nesting cannot overflow. */
static void memory_layout(const wisp_component_t *c, wisp__ctype_t *t) {
  static const uint8_t prim[WISP__CT_NPRIM] = {1, 1, 1, 2, 2, 4, 4, 8, 8, 4, 8, 4, 4};
  const uint32_t cap = UINT32_MAX / 2;
  uint32_t size = 0, align = 1;
  if (t->kind < WISP__CT_NPRIM) {
    align = prim[t->kind];
    size = t->kind == WISP__CT_STRING ? 8 : align;
  } else if (t->kind == WISP__CT_LIST) {
    align = 4; size = 8;
  } else if (t->kind == WISP__CT_OWN || t->kind == WISP__CT_BORROW) {
    align = 4; size = 4;
  } else if (t->kind == WISP__CT_FLAGS) {
    size = align = t->n <= 8 ? 1 : t->n <= 16 ? 2 : 4;
  } else if (t->kind == WISP__CT_RECORD || t->kind == WISP__CT_TUPLE) {
    for (uint32_t i = 0; i < t->n; i++) {
      const wisp__ctype_t *f = wisp__ctype(c, t->fields[i].type);
      size = align_to(size, f->align);
      size = size > cap - f->size ? cap : size + f->size;
      if (f->align > align) align = f->align;
    }
    size = align_to(size, align);
  } else { /* variant, enum, option, result */
    uint32_t ncases = t->kind == WISP__CT_OPTION || t->kind == WISP__CT_RESULT ? 2 : t->n;
    uint32_t disc = discriminant_size(ncases), case_align = 1, case_size = 0;
    uint32_t payload[2] = {t->a, t->b};
    for (uint32_t i = 0; i < ncases; i++) {
      uint32_t id = t->kind == WISP__CT_VARIANT ? t->fields[i].type
                    : t->kind == WISP__CT_OPTION ? (i ? t->a : WISP__CNONE)
                    : t->kind == WISP__CT_RESULT ? payload[i] : WISP__CNONE;
      if (id == WISP__CNONE) continue;
      const wisp__ctype_t *f = wisp__ctype(c, id);
      if (f->align > case_align) case_align = f->align;
      if (f->size > case_size) case_size = f->size;
    }
    align = disc > case_align ? disc : case_align;
    size = align_to(disc, case_align);
    size = size > cap - case_size ? cap : size + case_size;
    size = align_to(size, align);
  }
  t->size = size;
  t->align = (uint8_t)align;
}

static void value_properties(wisp_component_t *c, wisp__ctype_t *t) {
  memory_layout(c, t);
  t->nflat = 0;
  switch (t->kind) {
  case WISP__CT_S64: case WISP__CT_U64: flat_push(t, WISP_I64); break;
  case WISP__CT_F32: flat_push(t, WISP_F32); break;
  case WISP__CT_F64: flat_push(t, WISP_F64); break;
  case WISP__CT_STRING: case WISP__CT_LIST:
    flat_push(t, WISP_I32); flat_push(t, WISP_I32);
    t->has_strlist = true;
    if (t->kind == WISP__CT_LIST) t->has_borrow = wisp__ctype(c, t->a)->has_borrow;
    break;
  case WISP__CT_RECORD: case WISP__CT_TUPLE:
    for (uint32_t i = 0; i < t->n; i++) {
      const wisp__ctype_t *f = wisp__ctype(c, t->fields[i].type);
      flat_append(t, f);
      absorb(t, f);
    }
    break;
  case WISP__CT_VARIANT:
    flat_push(t, WISP_I32);
    for (uint32_t i = 0; i < t->n; i++) {
      if (t->fields[i].type == WISP__CNONE) continue;
      const wisp__ctype_t *f = wisp__ctype(c, t->fields[i].type);
      flat_join_case(t, f);
      absorb(t, f);
    }
    break;
  case WISP__CT_OPTION: {
    const wisp__ctype_t *f = wisp__ctype(c, t->a);
    flat_push(t, WISP_I32);
    flat_join_case(t, f);
    absorb(t, f);
    break;
  }
  case WISP__CT_RESULT:
    flat_push(t, WISP_I32);
    if (t->a != WISP__CNONE) { flat_join_case(t, wisp__ctype(c, t->a)); absorb(t, wisp__ctype(c, t->a)); }
    if (t->b != WISP__CNONE) { flat_join_case(t, wisp__ctype(c, t->b)); absorb(t, wisp__ctype(c, t->b)); }
    break;
  case WISP__CT_BORROW: flat_push(t, WISP_I32); t->has_borrow = true; break;
  default: flat_push(t, WISP_I32); break; /* bool..u32, char, flags, enum, own */
  }
}

bool wisp__ctype_is_value(const wisp_component_t *c, uint32_t id) {
  return wisp__ctype(c, id)->kind <= WISP__CT_BORROW;
}

bool wisp__ctype_is_resource(const wisp_component_t *c, uint32_t id) {
  uint8_t k = wisp__ctype(c, id)->kind;
  return k == WISP__CT_RESOURCE || k == WISP__CT_ABSTRACT;
}

uint32_t wisp__ctype_add(wisp_component_t *c, const wisp__ctype_t *type) {
  wisp__ctype_t *t = wisp__arena_alloc(&c->arena, sizeof *t);
  if (!t) return WISP__CNONE;
  *t = *type;
  if (t->kind <= WISP__CT_BORROW) value_properties(c, t);
  wisp__ctype_t **slot = wisp__cvec_push(&c->arena, &c->types, sizeof *slot);
  if (!slot) return WISP__CNONE;
  *slot = t;
  return c->types.len - 1;
}

bool wisp__ctype_core_func_eq(const wisp__ctype_t *x, const wisp__ctype_t *y) {
  return x->nparams_core == y->nparams_core && x->nresults_core == y->nresults_core &&
         (x->nparams_core == 0 || memcmp(x->params_core, y->params_core, x->nparams_core) == 0) &&
         (x->nresults_core == 0 || memcmp(x->results_core, y->results_core, x->nresults_core) == 0);
}

/* Concatenates the flattenings of `n` fields into out[0..WISP__MAX_FLAT];
 * returns the count, WISP__MAX_FLAT+1 on overflow. */
static uint32_t flatten_list(const wisp_component_t *c, const wisp__cfield_t *fields, uint32_t n,
                             uint8_t *out) {
  uint32_t len = 0;
  for (uint32_t i = 0; i < n; i++) {
    const wisp__ctype_t *f = wisp__ctype(c, fields[i].type);
    if (f->nflat > WISP__MAX_FLAT || len + f->nflat > WISP__MAX_FLAT) return WISP__MAX_FLAT + 1;
    memcpy(out + len, f->flat, f->nflat);
    len += f->nflat;
  }
  return len;
}

void wisp__cfunc_flatten(const wisp_component_t *c, const wisp__ctype_t *func, bool lower,
                         uint8_t *params, uint32_t *nparams, uint8_t *results,
                         uint32_t *nresults) {
  uint8_t flat[WISP__MAX_FLAT + 1];
  uint32_t np = flatten_list(c, func->fields, func->n, flat);
  if (np > WISP__MAX_FLAT) { params[0] = WISP_I32; np = 1; }
  else memcpy(params, flat, np);
  uint32_t nr = flatten_list(c, func->results, func->nresults, flat);
  if (nr > 1) {
    /* results go through memory: lift returns a pointer, lower takes one */
    if (lower) { params[np++] = WISP_I32; nr = 0; }
    else { results[0] = WISP_I32; nr = 1; }
  } else if (nr == 1) {
    results[0] = flat[0];
  }
  *nparams = np;
  *nresults = nr;
}

/* ---- names ---- */

static bool is_lower(char ch) { return ch >= 'a' && ch <= 'z'; }
static bool is_upper(char ch) { return ch >= 'A' && ch <= 'Z'; }
static bool is_digit(char ch) { return ch >= '0' && ch <= '9'; }

/* label ::= word ('-' word)*; word ::= [a-z][0-9a-z]* | [A-Z][0-9A-Z]* (words after
 * the first may also start with a digit, as current wasm-tools accept). */
bool wisp__cname_is_label(const char *s, size_t len) {
  size_t i = 0;
  bool first = true;
  if (len == 0) return false;
  for (;;) {
    if (i >= len) return false;
    bool upper;
    if (is_lower(s[i])) upper = false;
    else if (is_upper(s[i])) upper = true;
    else if (!first && is_digit(s[i])) upper = false;
    else return false;
    size_t start = i++;
    while (i < len && s[i] != '-') {
      if (!is_digit(s[i]) && !(upper ? is_upper(s[i]) : is_lower(s[i]))) {
        /* a digit-led word may continue in either case, but not mix */
        if (!(is_digit(s[start]) && (is_lower(s[i]) || is_upper(s[i])))) return false;
      }
      i++;
    }
    if (i == len) return true;
    i++; /* '-' */
    first = false;
  }
}

static bool prefix(const char *s, size_t len, const char *p, size_t *plen) {
  size_t n = strlen(p);
  *plen = n;
  return len >= n && memcmp(s, p, n) == 0;
}

/* num ::= 0 | [1-9][0-9]* */
static bool semver_num(const char *s, size_t len, size_t *i) {
  size_t start = *i;
  while (*i < len && is_digit(s[*i])) (*i)++;
  if (*i == start) return false;
  return !(s[start] == '0' && *i - start > 1);
}

static bool semver_ids(const char *s, size_t len, size_t *i) {
  size_t start = *i;
  while (*i < len && (is_digit(s[*i]) || is_lower(s[*i]) || is_upper(s[*i]) || s[*i] == '-' ||
                      s[*i] == '.'))
    (*i)++;
  return *i > start && s[*i - 1] != '.' && s[start] != '.';
}

static bool is_semver(const char *s, size_t len) {
  size_t i = 0;
  if (!semver_num(s, len, &i) || i >= len || s[i++] != '.') return false;
  if (!semver_num(s, len, &i) || i >= len || s[i++] != '.') return false;
  if (!semver_num(s, len, &i)) return false;
  if (i < len && s[i] == '-') { i++; if (!semver_ids(s, len, &i)) return false; }
  if (i < len && s[i] == '+') { i++; if (!semver_ids(s, len, &i)) return false; }
  return i == len;
}

/* interfacename ::= (label ':')+ label ('/' label)+ ('@' semver)? */
static bool is_interface_name(const char *s, size_t len) {
  size_t i = 0, colons = 0, slashes = 0;
  const char *at = memchr(s, '@', len);
  size_t body = at ? (size_t)(at - s) : len;
  while (i < body) {
    size_t start = i;
    while (i < body && s[i] != ':' && s[i] != '/') i++;
    if (!wisp__cname_is_label(s + start, i - start)) return false;
    if (i == body) break;
    if (s[i] == ':') { if (slashes) return false; colons++; }
    else slashes++;
    i++;
    if (i == body) return false;
  }
  if (!colons || !slashes) return false;
  return !at || is_semver(at + 1, len - body - 1);
}

bool wisp__cname_is_valid(const char *s, size_t len, bool import) {
  size_t n;
  if (prefix(s, len, "[constructor]", &n) || prefix(s, len, "[async]", &n))
    return wisp__cname_is_label(s + n, len - n);
  if (prefix(s, len, "[method]", &n) || prefix(s, len, "[static]", &n) ||
      prefix(s, len, "[async method]", &n) || prefix(s, len, "[async static]", &n)) {
    const char *dot = memchr(s + n, '.', len - n);
    if (!dot) return false;
    size_t left = (size_t)(dot - (s + n));
    return wisp__cname_is_label(s + n, left) && wisp__cname_is_label(dot + 1, len - n - left - 1);
  }
  if (memchr(s, ':', len)) {
    if (import && (prefix(s, len, "unlocked-dep=<", &n) || prefix(s, len, "locked-dep=<", &n) ||
                   prefix(s, len, "url=<", &n) || prefix(s, len, "integrity=<", &n)))
      return len > n && s[len - 1] == '>';
    return is_interface_name(s, len);
  }
  if (import && (prefix(s, len, "url=<", &n) || prefix(s, len, "integrity=<", &n) ||
                 prefix(s, len, "unlocked-dep=<", &n) || prefix(s, len, "locked-dep=<", &n)))
    return len > n && s[len - 1] == '>';
  return wisp__cname_is_label(s, len);
}

bool wisp__cname_eq_nocase(const char *a, size_t alen, const char *b, size_t blen) {
  if (alen != blen) return false;
  for (size_t i = 0; i < alen; i++) {
    char x = a[i], y = b[i];
    if (is_upper(x)) x = (char)(x - 'A' + 'a');
    if (is_upper(y)) y = (char)(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

/* ---- printing ---- */

void wisp__cprintf(wisp__cprint_t *p, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  size_t room = p->len < p->size ? p->size - p->len : 0;
  int n = vsnprintf(room ? p->buf + p->len : NULL, room, fmt, ap);
  va_end(ap);
  if (n > 0) p->len += (size_t)n;
}

static const char *const prim_names[WISP__CT_NPRIM] = {
  "bool", "s8", "u8", "s16", "u16", "s32", "u32", "s64", "u64", "f32", "f64", "char", "string",
};

static const char *core_sort_word(uint8_t sort) {
  switch (sort) {
  case WISP_SORT_CORE_FUNC: return "func";
  case WISP_SORT_CORE_TABLE: return "table";
  case WISP_SORT_CORE_MEMORY: return "memory";
  case WISP_SORT_CORE_GLOBAL: return "global";
  default: return wisp_sort_name(sort);
  }
}

static void print_value(wisp__cprint_t *p, const wisp_component_t *c, uint32_t id, int depth);

static void print_fields(wisp__cprint_t *p, const wisp_component_t *c, const wisp__cfield_t *f,
                         uint32_t n, bool types, bool names, int depth) {
  for (uint32_t i = 0; i < n; i++) {
    if (i) wisp__cprintf(p, ", ");
    if (names) wisp__cprintf(p, "%.*s", (int)f[i].name_len, f[i].name);
    if (types && f[i].type != WISP__CNONE) {
      if (names) wisp__cprintf(p, "%s", (depth >= 0 && f[i].name ? ": " : ""));
      print_value(p, c, f[i].type, depth + 1);
    }
  }
}

static void print_value_def(wisp__cprint_t *p, const wisp_component_t *c, const wisp__ctype_t *t,
                            int depth) {
  switch (t->kind) {
  case WISP__CT_RECORD:
    wisp__cprintf(p, "record { ");
    print_fields(p, c, t->fields, t->n, true, true, depth);
    wisp__cprintf(p, " }");
    break;
  case WISP__CT_VARIANT:
    wisp__cprintf(p, "variant { ");
    for (uint32_t i = 0; i < t->n; i++) {
      wisp__cprintf(p, "%s%.*s", i ? ", " : "", (int)t->fields[i].name_len, t->fields[i].name);
      if (t->fields[i].type != WISP__CNONE) {
        wisp__cprintf(p, "(");
        print_value(p, c, t->fields[i].type, depth + 1);
        wisp__cprintf(p, ")");
      }
    }
    wisp__cprintf(p, " }");
    break;
  case WISP__CT_FLAGS: case WISP__CT_ENUM:
    wisp__cprintf(p, "%s { ", t->kind == WISP__CT_FLAGS ? "flags" : "enum");
    print_fields(p, c, t->fields, t->n, false, true, depth);
    wisp__cprintf(p, " }");
    break;
  case WISP__CT_TUPLE:
    wisp__cprintf(p, "tuple<");
    print_fields(p, c, t->fields, t->n, true, false, depth);
    wisp__cprintf(p, ">");
    break;
  case WISP__CT_OWN: /* WIT writes an owned handle as the resource's name */
    print_value(p, c, t->a, depth + 1);
    break;
  case WISP__CT_LIST: case WISP__CT_OPTION: case WISP__CT_BORROW:
    wisp__cprintf(p, "%s<", t->kind == WISP__CT_LIST ? "list" : t->kind == WISP__CT_OPTION ? "option" : "borrow");
    print_value(p, c, t->a, depth + 1);
    wisp__cprintf(p, ">");
    break;
  case WISP__CT_RESULT:
    wisp__cprintf(p, "result");
    if (t->a == WISP__CNONE && t->b == WISP__CNONE) break;
    wisp__cprintf(p, "<");
    if (t->a == WISP__CNONE) wisp__cprintf(p, "_");
    else print_value(p, c, t->a, depth + 1);
    if (t->b != WISP__CNONE) {
      wisp__cprintf(p, ", ");
      print_value(p, c, t->b, depth + 1);
    }
    wisp__cprintf(p, ">");
    break;
  default:
    if (t->kind < WISP__CT_NPRIM) wisp__cprintf(p, "%s", prim_names[t->kind]);
    else if (t->kind == WISP__CT_RESOURCE || t->kind == WISP__CT_ABSTRACT) wisp__cprintf(p, "resource");
    break;
  }
}

/* A value type where it is used: by name when it has one. */
static void print_value(wisp__cprint_t *p, const wisp_component_t *c, uint32_t id, int depth) {
  const wisp__ctype_t *t = wisp__ctype(c, id);
  if (t->name) { wisp__cprintf(p, "%.*s", (int)t->name_len, t->name); return; }
  if (depth > 32) { wisp__cprintf(p, "..."); return; }
  print_value_def(p, c, t, depth);
}

static void print_func(wisp__cprint_t *p, const wisp_component_t *c, const wisp__ctype_t *t, int depth) {
  wisp__cprintf(p, "func(");
  print_fields(p, c, t->fields, t->n, true, true, depth);
  wisp__cprintf(p, ")");
  if (t->nresults == 1 && !t->results[0].name) {
    wisp__cprintf(p, " -> ");
    print_value(p, c, t->results[0].type, depth + 1);
  } else if (t->nresults) {
    wisp__cprintf(p, " -> (");
    print_fields(p, c, t->results, t->nresults, true, true, depth);
    wisp__cprintf(p, ")");
  }
}

static void print_core_func(wisp__cprint_t *p, const wisp__ctype_t *t) {
  wisp__cprintf(p, "(");
  for (uint32_t i = 0; i < t->nparams_core; i++)
    wisp__cprintf(p, "%s%s", i ? ", " : "", wisp_valkind_name(t->params_core[i]));
  wisp__cprintf(p, ") -> (");
  for (uint32_t i = 0; i < t->nresults_core; i++)
    wisp__cprintf(p, "%s%s", i ? ", " : "", wisp_valkind_name(t->results_core[i]));
  wisp__cprintf(p, ")");
}

static void print_externs(wisp__cprint_t *p, const wisp_component_t *c, const char *word,
                          const wisp__cextern_t *e, uint32_t n, int depth) {
  for (uint32_t i = 0; i < n; i++) {
    wisp__cprintf(p, " %s ", word);
    if (e[i].module) wisp__cprintf(p, "\"%.*s\" ", (int)e[i].module_len, e[i].module);
    if (e[i].sort == WISP_SORT_TYPE) {
      wisp__cprintf(p, "type %.*s", (int)e[i].name_len, e[i].name);
      const wisp__ctype_t *t = wisp__ctype(c, e[i].type);
      if (t->kind != WISP__CT_ABSTRACT) {
        wisp__cprintf(p, " = ");
        if (t->name && !wisp__cname_eq_nocase(t->name, t->name_len, e[i].name, e[i].name_len))
          print_value(p, c, e[i].type, depth + 1);
        else if (depth > 32) wisp__cprintf(p, "...");
        else print_value_def(p, c, t, depth + 1);
      } else {
        wisp__cprintf(p, ": resource");
      }
    } else {
      wisp__cprintf(p, "%.*s: ", (int)e[i].name_len, e[i].name);
      wisp__ctype_print(p, c, e[i].sort, e[i].type, depth + 1);
    }
    wisp__cprintf(p, ";");
  }
}

void wisp__ctype_print(wisp__cprint_t *p, const wisp_component_t *c, int sort, uint32_t id,
                       int depth) {
  if (id == WISP__CNONE || id >= c->types.len) {
    wisp__cprintf(p, "%s", core_sort_word((uint8_t)sort));
    return;
  }
  const wisp__ctype_t *t = wisp__ctype(c, id);
  if (depth > 32) { wisp__cprintf(p, "..."); return; }
  switch (t->kind) {
  case WISP__CT_FUNC: print_func(p, c, t, depth); break;
  case WISP__CT_CORE_FUNC: wisp__cprintf(p, "core func "); print_core_func(p, t); break;
  case WISP__CT_INSTANCE: case WISP__CT_COMPONENT: case WISP__CT_CORE_MODULE:
  case WISP__CT_CORE_INSTANCE:
    wisp__cprintf(p, "%s {", t->kind == WISP__CT_INSTANCE ? "instance"
                           : t->kind == WISP__CT_COMPONENT ? "component"
                           : t->kind == WISP__CT_CORE_MODULE ? "core module" : "core instance");
    print_externs(p, c, "import", t->imports, t->nimports, depth);
    print_externs(p, c, "export", t->exports, t->nexports, depth);
    wisp__cprintf(p, " }");
    break;
  case WISP__CT_ABSTRACT: case WISP__CT_RESOURCE: wisp__cprintf(p, "resource"); break;
  default: print_value_def(p, c, t, depth); break;
  }
}

size_t wisp_component_type_print(const wisp_component_t *component, int sort, uint32_t type,
                                 char *buf, size_t size) {
  wisp__cprint_t p = {buf, size, 0};
  if (size) buf[0] = 0;
  wisp__ctype_print(&p, component, sort, type, 0);
  if (size) buf[p.len < size ? p.len : size - 1] = 0;
  return p.len;
}

const char *wisp_sort_name(int sort) {
  static const char *const names[WISP_SORT_COUNT] = {
    "core func", "core table", "core memory", "core global", "core type", "core module",
    "core instance", "func", "value", "type", "component", "instance",
  };
  return sort >= 0 && sort < WISP_SORT_COUNT ? names[sort] : "unknown sort";
}
