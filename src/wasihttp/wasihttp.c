/*
 * wasihttp.c: the wasi:http 0.2 host (wasihttp.h, internal.h): every function
 * of wasi:http/types and wasi:http/outgoing-handler as a wisp__chost_fn_t.
 *
 * Arguments arrive lifted (handles as representations: 1 + an index in
 * h->objs), results are filled with their .type preset, values that need
 * memory come from cx->arena or from the host (strings the host keeps until
 * wisp__http_delete). Nothing trusts a representation: wisp__http_get checks
 * the kind. The spec's rules enforced here: fields of an incoming request or
 * response, of a response once handed over, and trailers received are
 * immutable (set/append/delete give header-error.immutable); names must be
 * tokens and values must not hold control characters (invalid-syntax); the
 * hop-by-hop and host headers are forbidden (forbidden); consume, body and
 * write succeed once; a parent dropped or finished before its children traps;
 * a body dropped without finish breaks the response; response-outparam.set
 * consumes its outparam (a second set traps: the handle is gone).
 */
#include "internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define HTTP_WINDOW      65536      /* response bytes held before check-write says wait */
#define HTTP_MAX_READ    (1u << 20) /* bytes one read of a body returns at most */
#define HTTP_UNSET       UINT64_MAX /* request-options: no timeout set */
/* Host memory a guest can make the host hold is bounded per request: */
#define HTTP_MAX_OBJECTS     65536u      /* resources alive at once */
#define HTTP_MAX_FIELD_BYTES (16u << 20) /* names and values of all fields alive */
#define NOMEM "out of host memory, or over wasi:http's per-request limits (65536 resources, 16 MiB of fields)"

typedef wisp__cval_t cval_t;

/* ---- small helpers -------------------------------------------------------- */

static int fail(wisp__cabi_t *cx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(wisp__cabi_t *cx, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cx->trap, sizeof cx->trap, fmt, ap);
  va_end(ap);
  return -1;
}

static const wisp__ctype_t *type_of(wisp__cabi_t *cx, uint32_t id) { return wisp__ctype(cx->component, id); }

static cval_t *payload(wisp__cabi_t *cx, uint32_t type) {
  cval_t *p = wisp__arena_alloc(cx->arena, sizeof *p);
  if (p) *p = (cval_t){.type = type};
  return p;
}

/* ok(value) of a result (value ignored when the ok arm is empty) */
static int result_ok(wisp__cabi_t *cx, cval_t *res, uint64_t value) {
  res->of.var.disc = 0;
  res->of.var.payload = NULL;
  uint32_t ok = type_of(cx, res->type)->a;
  if (ok == WISP__CNONE) return 0;
  if (!(res->of.var.payload = payload(cx, ok))) return fail(cx, NOMEM);
  res->of.var.payload->of.u = value;
  return 0;
}

/* err of a result whose err arm is empty */
static int result_err_unit(cval_t *res) {
  res->of.var.disc = 1;
  res->of.var.payload = NULL;
  return 0;
}

/* header-error: invalid-syntax 0, forbidden 1, immutable 2 */
enum { HE_INVALID, HE_FORBIDDEN, HE_IMMUTABLE };
static int result_header_error(wisp__cabi_t *cx, cval_t *res, uint32_t code) {
  res->of.var.disc = 1;
  if (!(res->of.var.payload = payload(cx, type_of(cx, res->type)->b))) return fail(cx, NOMEM);
  res->of.var.payload->of.var.disc = code;
  res->of.var.payload->of.var.payload = NULL;
  return 0;
}

static int some_string(wisp__cabi_t *cx, cval_t *opt, const char *s, size_t len) {
  opt->of.var.disc = 1;
  if (!(opt->of.var.payload = payload(cx, type_of(cx, opt->type)->a))) return fail(cx, NOMEM);
  opt->of.var.payload->of.str.ptr = s;
  opt->of.var.payload->of.str.len = (uint32_t)len;
  return 0;
}

static int none(cval_t *opt) {
  opt->of.var.disc = 0;
  opt->of.var.payload = NULL;
  return 0;
}

static char *dup_n(const char *s, size_t n) {
  char *p = malloc(n + 1);
  if (p) {
    if (n) memcpy(p, s, n);
    p[n] = 0;
  }
  return p;
}

/* The case index of `name` in variant type `t`, or UINT32_MAX. */
static uint32_t case_index(const wisp__ctype_t *t, const char *name) {
  size_t len = strlen(name);
  for (uint32_t i = 0; i < t->n; i++)
    if (t->fields[i].name_len == len && memcmp(t->fields[i].name, name, len) == 0) return i;
  return UINT32_MAX;
}

/* An error-code value of case `case_name`: option payloads are none except an
 * option<string> given `message`; record payloads have every field none. */
static int error_code(wisp__cabi_t *cx, cval_t *v, const char *case_name, const char *message) {
  const wisp__ctype_t *t = type_of(cx, v->type);
  uint32_t i = case_index(t, case_name);
  if (i == UINT32_MAX) return fail(cx, "wasi:http: error-code has no case %s", case_name);
  v->of.var.disc = i;
  v->of.var.payload = NULL;
  uint32_t pt = t->fields[i].type;
  if (pt == WISP__CNONE) return 0;
  cval_t *p = payload(cx, pt);
  if (!p) return fail(cx, NOMEM);
  v->of.var.payload = p;
  const wisp__ctype_t *ptt = type_of(cx, pt);
  if (ptt->kind == WISP__CT_OPTION) {
    if (message && ptt->a == WISP__CT_STRING) return some_string(cx, p, message, strlen(message));
    return none(p);
  }
  if (ptt->kind == WISP__CT_RECORD) {
    cval_t *items = wisp__arena_alloc(cx->arena, sizeof *items * (ptt->n ? ptt->n : 1));
    if (!items) return fail(cx, NOMEM);
    for (uint32_t k = 0; k < ptt->n; k++) items[k] = (cval_t){.type = ptt->fields[k].type};
    p->of.agg.items = items;
    p->of.agg.len = ptt->n;
  }
  return 0; /* option<u64>, option<u32> kept none by the zeroed payload */
}

int wisp__http_result_error(wisp__cabi_t *cx, cval_t *res, const char *case_name, const char *message) {
  res->of.var.disc = 1;
  if (!(res->of.var.payload = payload(cx, type_of(cx, res->type)->b))) return fail(cx, NOMEM);
  return error_code(cx, res->of.var.payload, case_name, message);
}

/* ---- fields ----------------------------------------------------------------- */

static void fields_clear(hfields_t *f) {
  if (f->budget)
    for (size_t i = 0; i < f->n; i++) *f->budget -= f->items[i].name_len + f->items[i].value_len;
  for (size_t i = 0; i < f->n; i++) {
    free(f->items[i].name);
    free(f->items[i].value);
  }
  free(f->items);
  *f = (hfields_t){.budget = f->budget};
}

static int fields_add(hfields_t *f, const char *name, size_t nlen, const uint8_t *value, size_t vlen) {
  if (f->budget && *f->budget + nlen + vlen > HTTP_MAX_FIELD_BYTES) return -1;
  if (f->n == f->cap) {
    size_t cap = f->cap ? f->cap * 2 : 8;
    hfield_t *grown = realloc(f->items, cap * sizeof *grown);
    if (!grown) return -1;
    f->items = grown;
    f->cap = cap;
  }
  hfield_t e = {dup_n(name, nlen), nlen, (uint8_t *)dup_n((const char *)value, vlen), vlen};
  if (!e.name || !e.value) {
    free(e.name);
    free(e.value);
    return -1;
  }
  for (size_t i = 0; i < nlen; i++)
    if (e.name[i] >= 'A' && e.name[i] <= 'Z') e.name[i] = (char)(e.name[i] - 'A' + 'a');
  f->items[f->n++] = e;
  if (f->budget) *f->budget += nlen + vlen;
  return 0;
}

int wisp__http_fields_add(hfields_t *f, const char *name, size_t name_len, const uint8_t *value,
                          size_t value_len) {
  return fields_add(f, name, name_len, value, value_len);
}

static int fields_copy(hfields_t *to, const hfields_t *from) {
  for (size_t i = 0; i < from->n; i++)
    if (fields_add(to, from->items[i].name, from->items[i].name_len, from->items[i].value,
                   from->items[i].value_len))
      return -1;
  return 0;
}

static bool name_is(const hfield_t *e, const char *name, size_t len) {
  return e->name_len == len && strncasecmp(e->name, name, len) == 0;
}

static void fields_remove(hfields_t *f, const char *name, size_t len) {
  size_t k = 0;
  for (size_t i = 0; i < f->n; i++) {
    if (name_is(&f->items[i], name, len)) {
      if (f->budget) *f->budget -= f->items[i].name_len + f->items[i].value_len;
      free(f->items[i].name);
      free(f->items[i].value);
    } else {
      f->items[k++] = f->items[i];
    }
  }
  f->n = k;
}

/* RFC 9110 token characters */
static bool valid_name(const char *s, size_t len) {
  if (len == 0) return false;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) continue;
    if (!strchr("!#$%&'*+-.^_`|~", c) || c == 0) return false;
  }
  return true;
}

/* field-value: no control characters but HTAB, no DEL */
static bool valid_value(const uint8_t *v, size_t len) {
  for (size_t i = 0; i < len; i++)
    if ((v[i] < 0x20 && v[i] != '\t') || v[i] == 0x7f) return false;
  return true;
}

/* Headers a guest may not set: connection-specific ones and host (as
 * wasmtime's default list). */
static bool forbidden(const char *name, size_t len) {
  static const char *const list[] = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
                                     "proxy-connection", "te", "transfer-encoding", "upgrade", "host",
                                     "http2-settings"};
  for (size_t i = 0; i < sizeof list / sizeof list[0]; i++)
    if (strlen(list[i]) == len && strncasecmp(list[i], name, len) == 0) return true;
  return false;
}

/* ---- the object table ---------------------------------------------------------- */

static void body_out_free(hbody_out_t *o) {
  if (!o) return;
  free(o->buf);
  fields_clear(&o->trailers);
  free(o);
}

static void obj_free(wisp__http_t *h, hobj_t *o) {
  fields_clear(&o->fields);
  free(o->method);
  free(o->scheme);
  free(o->authority);
  free(o->path);
  free(o->error);
  free(o->error_message);
  if (o->impl && o->impl_free) o->impl_free(o->impl);
  (void)h;
  free(o);
}

uint32_t wisp__http_add(wisp__http_t *h, hkind_t kind, hobj_t **out) {
  uint32_t i = 0;
  while (i < h->nobjs && h->objs[i]) i++;
  if (i == h->nobjs) {
    if (h->nobjs == h->cap) {
      uint32_t cap = h->cap ? h->cap * 2 : 16;
      if (cap > (1u << 20)) return 0;
      hobj_t **grown = realloc(h->objs, cap * sizeof *grown);
      if (!grown) return 0;
      h->objs = grown;
      h->cap = cap;
    }
    h->nobjs++;
  }
  if (h->nlive >= HTTP_MAX_OBJECTS) return 0;
  hobj_t *o = calloc(1, sizeof *o);
  if (!o) return 0;
  h->nlive++;
  o->kind = (uint8_t)kind;
  o->fields.budget = &h->field_bytes;
  h->objs[i] = o;
  if (out) *out = o;
  return i + 1;
}

static const char *const kind_names[] = {"free", "fields", "incoming-request", "outgoing-response",
                                         "incoming-body", "outgoing-body", "future-trailers",
                                         "response-outparam", "outgoing-request", "request-options",
                                         "future-incoming-response", "incoming-response"};

hobj_t *wisp__http_get(wisp__http_t *h, wisp__cabi_t *cx, uint64_t rep, hkind_t kind) {
  if (rep < 1 || rep > h->nobjs || !h->objs[rep - 1] || h->objs[rep - 1]->dropped ||
      h->objs[rep - 1]->kind != kind) {
    fail(cx, "wasi:http: %s handle with an unknown representation", kind_names[kind]);
    return NULL;
  }
  return h->objs[rep - 1];
}

/* Removes the object of representation rep from the table and frees it, or
 * marks it dropped when the host still refers to it (the sent response). */
static void obj_drop(wisp__http_t *h, uint64_t rep) {
  hobj_t *o = h->objs[rep - 1];
  if (o == h->sent || o == h->request) {
    o->dropped = true;
    if (o == h->request) h->request = NULL;
    if (o == h->sent) return;
  }
  h->objs[rep - 1] = NULL;
  if (o->parent) o->parent->children--;
  h->nlive--;
  obj_free(h, o);
}

static uint64_t rep_of(const wisp__http_t *h, const hobj_t *o) {
  for (uint32_t i = 0; i < h->nobjs; i++)
    if (h->objs[i] == o) return i + 1;
  return 0;
}

#define HOST_FN(name) \
  static int name(void *env, wisp__cabi_t *cx, const cval_t *args, uint32_t nargs, cval_t *res, uint32_t nres)
#define UNUSED_ARGS (void)env, (void)cx, (void)args, (void)nargs, (void)res, (void)nres

/* The header list a fields handle reads and writes, and whether it is immutable. */
static hfields_t *fields_list(hobj_t *f) { return f->parent ? &f->parent->fields : &f->fields; }
static bool fields_immutable(const hobj_t *f) { return f->immutable || (f->parent && f->parent->immutable); }

static hobj_t *fields_get(wisp__http_t *h, wisp__cabi_t *cx, const cval_t *self) {
  return wisp__http_get(h, cx, self->of.u, H_FIELDS);
}

/* A fields view of parent's headers (a child): its representation or 0. */
static uint32_t fields_view(wisp__http_t *h, hobj_t *parent) {
  hobj_t *f = NULL;
  uint32_t rep = wisp__http_add(h, H_FIELDS, &f);
  if (!rep) return 0;
  f->parent = parent;
  parent->children++;
  return rep;
}

/* Takes an own<fields> argument: copies its entries into *to and drops it. */
static int fields_take(wisp__http_t *h, wisp__cabi_t *cx, uint64_t rep, hfields_t *to) {
  hobj_t *f = wisp__http_get(h, cx, rep, H_FIELDS);
  if (!f) return -1;
  if (fields_copy(to, fields_list(f))) return fail(cx, NOMEM);
  obj_drop(h, rep);
  return 0;
}

HOST_FN(fields_new) {
  UNUSED_ARGS;
  uint32_t rep = wisp__http_add(env, H_FIELDS, NULL);
  if (!rep) return fail(cx, NOMEM);
  res[0].of.u = rep;
  return 0;
}

/* from-list(list<tuple<field-name, field-value>>) -> result<fields, header-error> */
HOST_FN(fields_from_list) {
  UNUSED_ARGS;
  wisp__http_t *h = env;
  const cval_t *list = &args[0];
  for (uint32_t i = 0; i < list->of.agg.len; i++) {
    const cval_t *pair = list->of.agg.items[i].of.agg.items;
    if (!valid_name(pair[0].of.str.ptr, pair[0].of.str.len) || !valid_value(pair[1].of.bytes.ptr, pair[1].of.bytes.len))
      return result_header_error(cx, &res[0], HE_INVALID);
    if (forbidden(pair[0].of.str.ptr, pair[0].of.str.len)) return result_header_error(cx, &res[0], HE_FORBIDDEN);
  }
  hobj_t *f = NULL;
  uint32_t rep = wisp__http_add(h, H_FIELDS, &f);
  if (!rep) return fail(cx, NOMEM);
  for (uint32_t i = 0; i < list->of.agg.len; i++) {
    const cval_t *pair = list->of.agg.items[i].of.agg.items;
    if (fields_add(&f->fields, pair[0].of.str.ptr, pair[0].of.str.len, pair[1].of.bytes.ptr, pair[1].of.bytes.len))
      return fail(cx, NOMEM);
  }
  return result_ok(cx, &res[0], rep);
}

/* get(name) -> list<field-value>: empty when absent or invalid */
HOST_FN(fields_get_values) {
  UNUSED_ARGS;
  hobj_t *f = fields_get(env, cx, &args[0]);
  if (!f) return -1;
  hfields_t *l = fields_list(f);
  const char *name = args[1].of.str.ptr;
  size_t len = args[1].of.str.len;
  uint32_t n = 0;
  for (size_t i = 0; i < l->n; i++) n += name_is(&l->items[i], name, len);
  uint32_t elem = type_of(cx, res[0].type)->a;
  cval_t *items = wisp__arena_alloc(cx->arena, sizeof *items * (n ? n : 1));
  if (!items) return fail(cx, NOMEM);
  uint32_t k = 0;
  for (size_t i = 0; i < l->n; i++)
    if (name_is(&l->items[i], name, len))
      items[k++] = (cval_t){.type = elem, .of.bytes = {l->items[i].value, (uint32_t)l->items[i].value_len}};
  res[0].of.agg.items = items;
  res[0].of.agg.len = n;
  return 0;
}

HOST_FN(fields_has) {
  UNUSED_ARGS;
  hobj_t *f = fields_get(env, cx, &args[0]);
  if (!f) return -1;
  hfields_t *l = fields_list(f);
  res[0].of.u = 0;
  for (size_t i = 0; i < l->n; i++)
    if (name_is(&l->items[i], args[1].of.str.ptr, args[1].of.str.len)) res[0].of.u = 1;
  return 0;
}

/* The checks of set/delete/append: 0 when allowed, else the header-error + 1. */
static uint32_t fields_check(const hobj_t *f, const cval_t *name) {
  if (fields_immutable(f)) return HE_IMMUTABLE + 1;
  if (!valid_name(name->of.str.ptr, name->of.str.len)) return HE_INVALID + 1;
  if (forbidden(name->of.str.ptr, name->of.str.len)) return HE_FORBIDDEN + 1;
  return 0;
}

/* set(name, list<field-value>) -> result<_, header-error> */
HOST_FN(fields_set) {
  UNUSED_ARGS;
  hobj_t *f = fields_get(env, cx, &args[0]);
  if (!f) return -1;
  uint32_t e = fields_check(f, &args[1]);
  if (e) return result_header_error(cx, &res[0], e - 1);
  const cval_t *vals = &args[2];
  for (uint32_t i = 0; i < vals->of.agg.len; i++)
    if (!valid_value(vals->of.agg.items[i].of.bytes.ptr, vals->of.agg.items[i].of.bytes.len))
      return result_header_error(cx, &res[0], HE_INVALID);
  hfields_t *l = fields_list(f);
  fields_remove(l, args[1].of.str.ptr, args[1].of.str.len);
  for (uint32_t i = 0; i < vals->of.agg.len; i++)
    if (fields_add(l, args[1].of.str.ptr, args[1].of.str.len, vals->of.agg.items[i].of.bytes.ptr,
                   vals->of.agg.items[i].of.bytes.len))
      return fail(cx, NOMEM);
  return result_ok(cx, &res[0], 0);
}

HOST_FN(fields_delete) {
  UNUSED_ARGS;
  hobj_t *f = fields_get(env, cx, &args[0]);
  if (!f) return -1;
  uint32_t e = fields_check(f, &args[1]);
  if (e) return result_header_error(cx, &res[0], e - 1);
  fields_remove(fields_list(f), args[1].of.str.ptr, args[1].of.str.len);
  return result_ok(cx, &res[0], 0);
}

HOST_FN(fields_append) {
  UNUSED_ARGS;
  hobj_t *f = fields_get(env, cx, &args[0]);
  if (!f) return -1;
  uint32_t e = fields_check(f, &args[1]);
  if (e) return result_header_error(cx, &res[0], e - 1);
  if (!valid_value(args[2].of.bytes.ptr, args[2].of.bytes.len)) return result_header_error(cx, &res[0], HE_INVALID);
  if (fields_add(fields_list(f), args[1].of.str.ptr, args[1].of.str.len, args[2].of.bytes.ptr, args[2].of.bytes.len))
    return fail(cx, NOMEM);
  return result_ok(cx, &res[0], 0);
}

/* entries() -> list<tuple<field-name, field-value>>, in order */
HOST_FN(fields_entries) {
  UNUSED_ARGS;
  hobj_t *f = fields_get(env, cx, &args[0]);
  if (!f) return -1;
  hfields_t *l = fields_list(f);
  const wisp__ctype_t *tt = type_of(cx, type_of(cx, res[0].type)->a);
  cval_t *items = wisp__arena_alloc(cx->arena, sizeof *items * (l->n ? l->n : 1));
  cval_t *pairs = wisp__arena_alloc(cx->arena, sizeof *pairs * 2 * (l->n ? l->n : 1));
  if (!items || !pairs) return fail(cx, NOMEM);
  for (size_t i = 0; i < l->n; i++) {
    pairs[2 * i] = (cval_t){.type = tt->fields[0].type, .of.str = {l->items[i].name, (uint32_t)l->items[i].name_len}};
    pairs[2 * i + 1] =
        (cval_t){.type = tt->fields[1].type, .of.bytes = {l->items[i].value, (uint32_t)l->items[i].value_len}};
    items[i] = (cval_t){.type = type_of(cx, res[0].type)->a, .of.agg = {&pairs[2 * i], 2}};
  }
  res[0].of.agg.items = items;
  res[0].of.agg.len = (uint32_t)l->n;
  return 0;
}

/* clone() -> fields: a mutable deep copy */
HOST_FN(fields_clone) {
  UNUSED_ARGS;
  hobj_t *f = fields_get(env, cx, &args[0]);
  if (!f) return -1;
  hobj_t *c = NULL;
  uint32_t rep = wisp__http_add(env, H_FIELDS, &c);
  if (!rep || fields_copy(&c->fields, fields_list(f))) return fail(cx, NOMEM);
  res[0].of.u = rep;
  return 0;
}

HOST_FN(fields_drop) {
  UNUSED_ARGS;
  if (!fields_get(env, cx, &args[0])) return -1;
  obj_drop(env, args[0].of.u);
  return 0;
}

/* ---- the incoming request ------------------------------------------------------- */

static const char *const methods[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"};

/* A method variant value from a method string. */
static int method_value(wisp__cabi_t *cx, cval_t *v, const char *m) {
  for (uint32_t i = 0; i < 9; i++)
    if (strcmp(methods[i], m) == 0) {
      v->of.var.disc = i;
      v->of.var.payload = NULL;
      return 0;
    }
  v->of.var.disc = 9; /* other(string) */
  if (!(v->of.var.payload = payload(cx, type_of(cx, v->type)->fields[9].type))) return fail(cx, NOMEM);
  v->of.var.payload->of.str.ptr = m;
  v->of.var.payload->of.str.len = (uint32_t)strlen(m);
  return 0;
}

static int scheme_value(wisp__cabi_t *cx, cval_t *opt, const char *s) {
  if (!s) return none(opt);
  opt->of.var.disc = 1;
  cval_t *v = payload(cx, type_of(cx, opt->type)->a);
  if (!v) return fail(cx, NOMEM);
  opt->of.var.payload = v;
  if (strcmp(s, "http") == 0) v->of.var.disc = 0;
  else if (strcmp(s, "https") == 0) v->of.var.disc = 1;
  else {
    v->of.var.disc = 2;
    if (!(v->of.var.payload = payload(cx, type_of(cx, v->type)->fields[2].type))) return fail(cx, NOMEM);
    v->of.var.payload->of.str.ptr = s;
    v->of.var.payload->of.str.len = (uint32_t)strlen(s);
  }
  return 0;
}

static int opt_string(wisp__cabi_t *cx, cval_t *opt, const char *s) {
  return s ? some_string(cx, opt, s, strlen(s)) : none(opt);
}

#define REQUEST(kind)                                              \
  hobj_t *r = wisp__http_get(env, cx, args[0].of.u, kind);         \
  if (!r) return -1

HOST_FN(in_request_method) {
  UNUSED_ARGS;
  REQUEST(H_IN_REQUEST);
  return method_value(cx, &res[0], r->method);
}

HOST_FN(in_request_path) {
  UNUSED_ARGS;
  REQUEST(H_IN_REQUEST);
  return opt_string(cx, &res[0], r->path);
}

HOST_FN(in_request_scheme) {
  UNUSED_ARGS;
  REQUEST(H_IN_REQUEST);
  return scheme_value(cx, &res[0], r->scheme);
}

HOST_FN(in_request_authority) {
  UNUSED_ARGS;
  REQUEST(H_IN_REQUEST);
  return opt_string(cx, &res[0], r->authority);
}

/* headers() of a request or response: an immutable or live child view */
static int headers_view(wisp__http_t *h, wisp__cabi_t *cx, hobj_t *parent, cval_t *res) {
  uint32_t rep = fields_view(h, parent);
  if (!rep) return fail(cx, NOMEM);
  res->of.u = rep;
  return 0;
}

HOST_FN(in_request_headers) {
  UNUSED_ARGS;
  REQUEST(H_IN_REQUEST);
  return headers_view(env, cx, r, &res[0]);
}

/* consume() of a request or response: its incoming-body, once */
static int consume(wisp__http_t *h, wisp__cabi_t *cx, hobj_t *r, cval_t *res) {
  if (r->taken || !r->in) return result_err_unit(res);
  hobj_t *b = NULL;
  uint32_t rep = wisp__http_add(h, H_IN_BODY, &b);
  if (!rep) return fail(cx, NOMEM);
  b->in = r->in;
  r->taken = true;
  return result_ok(cx, res, rep);
}

HOST_FN(in_request_consume) {
  UNUSED_ARGS;
  REQUEST(H_IN_REQUEST);
  return consume(env, cx, r, &res[0]);
}

static int drop_parent(wisp__http_t *h, wisp__cabi_t *cx, uint64_t rep, hkind_t kind) {
  hobj_t *r = wisp__http_get(h, cx, rep, kind);
  if (!r) return -1;
  if (r->children)
    return fail(cx, "wasi:http: %s dropped while its headers (a child resource) are alive", kind_names[kind]);
  obj_drop(h, rep);
  return 0;
}

HOST_FN(in_request_drop) {
  UNUSED_ARGS;
  return drop_parent(env, cx, args[0].of.u, H_IN_REQUEST);
}

/* ---- incoming bodies and their streams ------------------------------------------ */

static int64_t in_read(void *ctx, uint8_t *buf, size_t len) {
  hobj_t *b = ctx;
  hbody_in_t *in = b->in;
  if (in->pull && in->pos == in->len) in->pull(in->pull_ctx);
  if (in->detached) return in->failed ? -EIO : -EPIPE;
  size_t avail = in->len - in->pos;
  if (avail == 0) return in->complete ? WISP__WASI2_CLOSED : 0;
  if (len > avail) len = avail;
  if (len > HTTP_MAX_READ) len = HTTP_MAX_READ;
  memcpy(buf, in->data + in->pos, len);
  in->pos += len;
  return (int64_t)len;
}

static bool in_ready(void *ctx) {
  hbody_in_t *in = ((hobj_t *)ctx)->in;
  if (in->pull && in->pos == in->len) in->pull(in->pull_ctx);
  return in->detached || in->complete || in->pos < in->len;
}

static void in_drop(void *ctx) { ((hobj_t *)ctx)->child_alive = false; }

static const wisp__wasi2_stream_ops_t in_ops = {.read = in_read, .ready = in_ready, .drop = in_drop};

HOST_FN(in_body_stream) {
  UNUSED_ARGS;
  wisp__http_t *h = env;
  hobj_t *b = wisp__http_get(h, cx, args[0].of.u, H_IN_BODY);
  if (!b) return -1;
  if (b->taken) return result_err_unit(&res[0]);
  uint32_t rep = wisp__wasi2_stream_new(h->cfg.wasi, false, &in_ops, b);
  if (!rep) return fail(cx, NOMEM);
  b->taken = b->child_alive = true;
  return result_ok(cx, &res[0], rep);
}

/* finish(this) -> future-trailers */
HOST_FN(in_body_finish) {
  UNUSED_ARGS;
  wisp__http_t *h = env;
  hobj_t *b = wisp__http_get(h, cx, args[0].of.u, H_IN_BODY);
  if (!b) return -1;
  if (b->child_alive) return fail(cx, "wasi:http: incoming-body.finish while its input-stream (a child) is alive");
  hobj_t *t = NULL;
  uint32_t rep = wisp__http_add(h, H_FUTURE_TRAILERS, &t);
  if (!rep) return fail(cx, NOMEM);
  t->in = b->in;
  obj_drop(h, args[0].of.u);
  res[0].of.u = rep;
  return 0;
}

HOST_FN(in_body_drop) {
  UNUSED_ARGS;
  hobj_t *b = wisp__http_get(env, cx, args[0].of.u, H_IN_BODY);
  if (!b) return -1;
  if (b->child_alive) return fail(cx, "wasi:http: incoming-body dropped while its input-stream (a child) is alive");
  obj_drop(env, args[0].of.u);
  return 0;
}

static bool trailers_ready(void *ctx) { return in_ready(ctx) && (((hobj_t *)ctx)->in->complete || ((hobj_t *)ctx)->in->detached); }

HOST_FN(trailers_subscribe) {
  UNUSED_ARGS;
  wisp__http_t *h = env;
  hobj_t *t = wisp__http_get(h, cx, args[0].of.u, H_FUTURE_TRAILERS);
  if (!t) return -1;
  uint32_t rep = wisp__wasi2_pollable_new(h->cfg.wasi, trailers_ready, t);
  if (!rep) return fail(cx, NOMEM);
  res[0].of.u = rep;
  return 0;
}

/* get() -> option<result<result<option<trailers>, error-code>>> */
HOST_FN(trailers_get) {
  UNUSED_ARGS;
  wisp__http_t *h = env;
  hobj_t *t = wisp__http_get(h, cx, args[0].of.u, H_FUTURE_TRAILERS);
  if (!t) return -1;
  if (!trailers_ready(t)) return none(&res[0]);
  res[0].of.var.disc = 1;
  cval_t *outer = payload(cx, type_of(cx, res[0].type)->a);
  if (!outer) return fail(cx, NOMEM);
  res[0].of.var.payload = outer;
  if (t->taken) return result_err_unit(outer); /* already retrieved */
  t->taken = true;
  outer->of.var.disc = 0;
  cval_t *inner = payload(cx, type_of(cx, outer->type)->a);
  if (!inner) return fail(cx, NOMEM);
  outer->of.var.payload = inner;
  if (t->in->detached) return wisp__http_result_error(cx, inner, "connection-terminated", NULL);
  inner->of.var.disc = 0;
  cval_t *opt = payload(cx, type_of(cx, inner->type)->a);
  if (!opt) return fail(cx, NOMEM);
  inner->of.var.payload = opt;
  if (!t->in->has_trailers) return none(opt);
  hobj_t *f = NULL;
  uint32_t rep = wisp__http_add(h, H_FIELDS, &f);
  if (!rep || fields_copy(&f->fields, &t->in->trailers)) return fail(cx, NOMEM);
  f->immutable = true;
  opt->of.var.disc = 1;
  if (!(opt->of.var.payload = payload(cx, type_of(cx, opt->type)->a))) return fail(cx, NOMEM);
  opt->of.var.payload->of.u = rep;
  return 0;
}

HOST_FN(trailers_drop) {
  UNUSED_ARGS;
  wisp__http_t *h = env;
  hobj_t *t = wisp__http_get(h, cx, args[0].of.u, H_FUTURE_TRAILERS);
  if (!t) return -1;
  wisp__wasi2_pollables_detach(h->cfg.wasi, t);
  obj_drop(h, args[0].of.u);
  return 0;
}

/* ---- outgoing bodies and their streams --------------------------------------------- */

static hbody_out_t *body_out_new(wisp__http_t *h) {
  if (h->nouts == h->cap_outs) {
    size_t cap = h->cap_outs ? h->cap_outs * 2 : 4;
    hbody_out_t **grown = realloc(h->outs, cap * sizeof *grown);
    if (!grown) return NULL;
    h->outs = grown;
    h->cap_outs = cap;
  }
  hbody_out_t *o = calloc(1, sizeof *o);
  if (!o) return NULL;
  h->outs[h->nouts++] = o;
  o->window = h->cfg.window ? h->cfg.window : HTTP_WINDOW;
  o->limit = h->cfg.max_response_bytes ? h->cfg.max_response_bytes : UINT64_MAX;
  o->content_length = -1;
  return o;
}

static void body_break(hbody_out_t *o, const char *why) {
  if (o->broken) return;
  o->broken = true;
  snprintf(o->error, sizeof o->error, "%s", why);
}

static int64_t out_check_write(void *ctx) {
  hbody_out_t *o = ((hobj_t *)ctx)->out;
  if (o->push) o->push(o->push_ctx);
  if (o->broken) return -EIO;
  if (o->finished) return WISP__WASI2_CLOSED;
  return o->len >= o->window ? 0 : (int64_t)(o->window - o->len);
}

static int64_t out_write(void *ctx, const uint8_t *buf, size_t len) {
  hbody_out_t *o = ((hobj_t *)ctx)->out;
  if (o->broken) return -EIO;
  if (o->written + len > o->limit) {
    body_break(o, "the body is larger than the function's max_response_bytes limit");
    return -EFBIG;
  }
  if (o->content_length >= 0 && o->written + len > (uint64_t)o->content_length) {
    body_break(o, "the body is longer than its content-length");
    return -EIO;
  }
  if (o->start + o->len + len > o->cap) {
    if (o->start) {
      memmove(o->buf, o->buf + o->start, o->len);
      o->start = 0;
    }
    if (o->len + len > o->cap) {
      size_t cap = o->cap ? o->cap : 4096;
      while (cap < o->len + len) cap *= 2;
      uint8_t *grown = realloc(o->buf, cap);
      if (!grown) return -ENOMEM;
      o->buf = grown;
      o->cap = cap;
    }
  }
  memcpy(o->buf + o->start + o->len, buf, len);
  o->len += len;
  o->written += len;
  if (o->push) o->push(o->push_ctx);
  return 0;
}

static bool out_ready(void *ctx) {
  hbody_out_t *o = ((hobj_t *)ctx)->out;
  if (o->push) o->push(o->push_ctx);
  return o->broken || o->finished || o->len < o->window;
}

static void out_drop(void *ctx) { ((hobj_t *)ctx)->child_alive = false; }

static const wisp__wasi2_stream_ops_t out_ops = {
    .check_write = out_check_write, .write = out_write, .ready = out_ready, .drop = out_drop};

/* body() of an outgoing response or request: its outgoing-body, once */
static int body_of(wisp__http_t *h, wisp__cabi_t *cx, hobj_t *r, cval_t *res) {
  if (r->taken) return result_err_unit(res);
  hobj_t *b = NULL;
  uint32_t rep = wisp__http_add(h, H_OUT_BODY, &b);
  if (!rep) return fail(cx, NOMEM);
  if (!r->out && !(r->out = body_out_new(h))) return fail(cx, NOMEM);
  b->out = r->out;
  r->taken = true;
  return result_ok(cx, res, rep);
}

HOST_FN(out_body_write) {
  UNUSED_ARGS;
  wisp__http_t *h = env;
  hobj_t *b = wisp__http_get(h, cx, args[0].of.u, H_OUT_BODY);
  if (!b) return -1;
  if (b->taken) return result_err_unit(&res[0]);
  uint32_t rep = wisp__wasi2_stream_new(h->cfg.wasi, true, &out_ops, b);
  if (!rep) return fail(cx, NOMEM);
  b->taken = b->child_alive = true;
  return result_ok(cx, &res[0], rep);
}

/* finish(this, option<trailers>) -> result<_, error-code> */
HOST_FN(out_body_finish) {
  UNUSED_ARGS;
  wisp__http_t *h = env;
  hobj_t *b = wisp__http_get(h, cx, args[0].of.u, H_OUT_BODY);
  if (!b) return -1;
  if (b->child_alive) return fail(cx, "wasi:http: outgoing-body.finish while its output-stream (a child) is alive");
  hbody_out_t *o = b->out;
  if (args[1].of.var.disc == 1) {
    if (fields_take(h, cx, args[1].of.var.payload->of.u, &o->trailers)) return -1;
    o->has_trailers = true;
  }
  obj_drop(h, args[0].of.u);
  if (o->broken) return wisp__http_result_error(cx, &res[0], "internal-error", o->error);
  if (o->content_length >= 0 && o->written != (uint64_t)o->content_length) {
    body_break(o, "the body is shorter than its content-length");
    return wisp__http_result_error(cx, &res[0], "HTTP-response-body-size", NULL);
  }
  o->finished = true;
  if (o->push) o->push(o->push_ctx);
  return result_ok(cx, &res[0], 0);
}

HOST_FN(out_body_drop) {
  UNUSED_ARGS;
  hobj_t *b = wisp__http_get(env, cx, args[0].of.u, H_OUT_BODY);
  if (!b) return -1;
  if (b->child_alive) return fail(cx, "wasi:http: outgoing-body dropped while its output-stream (a child) is alive");
  body_break(b->out, "the outgoing-body was dropped without outgoing-body.finish");
  if (b->out->push) b->out->push(b->out->push_ctx);
  obj_drop(env, args[0].of.u);
  return 0;
}

/* ---- the outgoing response and the outparam ------------------------------------------- */

HOST_FN(out_response_new) {
  UNUSED_ARGS;
  wisp__http_t *h = env;
  hobj_t *r = NULL;
  uint32_t rep = wisp__http_add(h, H_OUT_RESPONSE, &r);
  if (!rep) return fail(cx, NOMEM);
  r->status = 200;
  if (fields_take(h, cx, args[0].of.u, &r->fields)) return -1;
  res[0].of.u = rep;
  return 0;
}

HOST_FN(out_response_status) {
  UNUSED_ARGS;
  REQUEST(H_OUT_RESPONSE);
  res[0].of.u = r->status;
  return 0;
}

HOST_FN(out_response_set_status) {
  UNUSED_ARGS;
  REQUEST(H_OUT_RESPONSE);
  if (args[1].of.u < 100 || args[1].of.u > 999) return result_err_unit(&res[0]);
  r->status = (uint16_t)args[1].of.u;
  return result_ok(cx, &res[0], 0);
}

HOST_FN(out_response_headers) {
  UNUSED_ARGS;
  REQUEST(H_OUT_RESPONSE);
  return headers_view(env, cx, r, &res[0]);
}

HOST_FN(out_response_body) {
  UNUSED_ARGS;
  REQUEST(H_OUT_RESPONSE);
  return body_of(env, cx, r, &res[0]);
}

HOST_FN(out_response_drop) {
  UNUSED_ARGS;
  return drop_parent(env, cx, args[0].of.u, H_OUT_RESPONSE);
}

static const char *error_case_name(wisp__cabi_t *cx, const cval_t *e, char *name, size_t size) {
  const wisp__ctype_t *t = type_of(cx, e->type);
  if (e->of.var.disc >= t->n) return "?";
  snprintf(name, size, "%.*s", (int)t->fields[e->of.var.disc].name_len, t->fields[e->of.var.disc].name);
  return name;
}

/* response-outparam.set(param, result<outgoing-response, error-code>) */
HOST_FN(outparam_set) {
  UNUSED_ARGS;
  wisp__http_t *h = env;
  hobj_t *p = wisp__http_get(h, cx, args[0].of.u, H_OUTPARAM);
  if (!p) return -1;
  if (h->state != WISP__HTTP_PENDING) return fail(cx, "wasi:http: response-outparam.set called a second time");
  const cval_t *r = &args[1];
  if (r->of.var.disc == 0) {
    hobj_t *resp = wisp__http_get(h, cx, r->of.var.payload->of.u, H_OUT_RESPONSE);
    if (!resp) return -1;
    resp->immutable = true; /* handed over: its headers views are read-only now */
    if (!resp->out) {       /* no body asked for: an empty one */
      if (!(resp->out = body_out_new(h))) return fail(cx, NOMEM);
      resp->taken = true;
      resp->out->finished = true;
    }
    for (size_t i = 0; i < resp->fields.n; i++) {
      hfield_t *f = &resp->fields.items[i];
      if (name_is(f, "content-length", 14)) {
        char num[24];
        size_t n = f->value_len < sizeof num - 1 ? f->value_len : sizeof num - 1;
        memcpy(num, f->value, n);
        num[n] = 0;
        char *end = NULL;
        long long v = strtoll(num, &end, 10);
        if (n && end && !*end && v >= 0) resp->out->content_length = v;
      }
    }
    if (resp->out->finished && resp->out->content_length > 0 &&
        resp->out->written != (uint64_t)resp->out->content_length)
      body_break(resp->out, "the body is shorter than its content-length");
    h->sent = resp;
    h->state = WISP__HTTP_RESPONSE;
    obj_drop(h, r->of.var.payload->of.u);
  } else {
    const cval_t *e = r->of.var.payload;
    const char *msg = NULL;
    if (e->of.var.payload && type_of(cx, e->of.var.payload->type)->kind == WISP__CT_OPTION &&
        e->of.var.payload->of.var.disc == 1 && e->of.var.payload->of.var.payload->type == WISP__CT_STRING)
      msg = e->of.var.payload->of.var.payload->of.str.ptr;
    int mlen = msg ? (int)e->of.var.payload->of.var.payload->of.str.len : 0;
    char name[64];
    snprintf(h->error_text, sizeof h->error_text, "error-code.%s%s%.*s%s", error_case_name(cx, e, name, sizeof name),
             msg ? "(\"" : "", mlen > 200 ? 200 : mlen, msg ? msg : "", msg ? "\")" : "");
    h->state = WISP__HTTP_ERROR;
  }
  if (h->outparam == p) h->outparam = NULL;
  obj_drop(h, args[0].of.u);
  return 0;
}

HOST_FN(outparam_drop) {
  UNUSED_ARGS;
  wisp__http_t *h = env;
  hobj_t *p = wisp__http_get(h, cx, args[0].of.u, H_OUTPARAM);
  if (!p) return -1;
  if (h->outparam == p) h->outparam = NULL;
  obj_drop(h, args[0].of.u);
  return 0;
}

/* ---- outgoing requests (built by the guest, sent by the outbound engine) ------------------ */

HOST_FN(out_request_new) {
  UNUSED_ARGS;
  wisp__http_t *h = env;
  hobj_t *r = NULL;
  uint32_t rep = wisp__http_add(h, H_OUT_REQUEST, &r);
  if (!rep) return fail(cx, NOMEM);
  if (fields_take(h, cx, args[0].of.u, &r->fields)) return -1;
  res[0].of.u = rep;
  return 0;
}

HOST_FN(out_request_body) {
  UNUSED_ARGS;
  REQUEST(H_OUT_REQUEST);
  return body_of(env, cx, r, &res[0]);
}

HOST_FN(out_request_method) {
  UNUSED_ARGS;
  REQUEST(H_OUT_REQUEST);
  return method_value(cx, &res[0], r->method ? r->method : "GET");
}

/* replaces *slot with a copy of s (len bytes), or NULL when s is NULL */
static int set_string(wisp__cabi_t *cx, char **slot, const char *s, size_t len) {
  char *copy = s ? dup_n(s, len) : NULL;
  if (s && !copy) return fail(cx, NOMEM);
  free(*slot);
  *slot = copy;
  return 0;
}

HOST_FN(out_request_set_method) {
  UNUSED_ARGS;
  REQUEST(H_OUT_REQUEST);
  const cval_t *m = &args[1];
  if (m->of.var.disc < 9) {
    if (set_string(cx, &r->method, methods[m->of.var.disc], strlen(methods[m->of.var.disc]))) return -1;
  } else {
    const cval_t *s = m->of.var.payload;
    if (!valid_name(s->of.str.ptr, s->of.str.len)) return result_err_unit(&res[0]);
    if (set_string(cx, &r->method, s->of.str.ptr, s->of.str.len)) return -1;
  }
  return result_ok(cx, &res[0], 0);
}

HOST_FN(out_request_path) {
  UNUSED_ARGS;
  REQUEST(H_OUT_REQUEST);
  return opt_string(cx, &res[0], r->path);
}

/* no controls or spaces in a path or authority */
static bool valid_text(const cval_t *s) {
  for (uint32_t i = 0; i < s->of.str.len; i++)
    if ((unsigned char)s->of.str.ptr[i] <= 0x20 || s->of.str.ptr[i] == 0x7f) return false;
  return true;
}

HOST_FN(out_request_set_path) {
  UNUSED_ARGS;
  REQUEST(H_OUT_REQUEST);
  const cval_t *o = &args[1];
  if (o->of.var.disc == 1 && !valid_text(o->of.var.payload)) return result_err_unit(&res[0]);
  if (set_string(cx, &r->path, o->of.var.disc ? o->of.var.payload->of.str.ptr : NULL,
                 o->of.var.disc ? o->of.var.payload->of.str.len : 0))
    return -1;
  return result_ok(cx, &res[0], 0);
}

HOST_FN(out_request_scheme) {
  UNUSED_ARGS;
  REQUEST(H_OUT_REQUEST);
  return scheme_value(cx, &res[0], r->scheme);
}

HOST_FN(out_request_set_scheme) {
  UNUSED_ARGS;
  REQUEST(H_OUT_REQUEST);
  const cval_t *o = &args[1];
  if (o->of.var.disc == 0) return set_string(cx, &r->scheme, NULL, 0) ? -1 : result_ok(cx, &res[0], 0);
  const cval_t *v = o->of.var.payload;
  const char *s = v->of.var.disc == 0 ? "http" : "https";
  size_t len = strlen(s);
  if (v->of.var.disc == 2) {
    s = v->of.var.payload->of.str.ptr;
    len = v->of.var.payload->of.str.len;
    if (!valid_text(v->of.var.payload)) return result_err_unit(&res[0]);
  }
  return set_string(cx, &r->scheme, s, len) ? -1 : result_ok(cx, &res[0], 0);
}

HOST_FN(out_request_authority) {
  UNUSED_ARGS;
  REQUEST(H_OUT_REQUEST);
  return opt_string(cx, &res[0], r->authority);
}

HOST_FN(out_request_set_authority) {
  UNUSED_ARGS;
  REQUEST(H_OUT_REQUEST);
  const cval_t *o = &args[1];
  if (o->of.var.disc == 1 && !valid_text(o->of.var.payload)) return result_err_unit(&res[0]);
  if (set_string(cx, &r->authority, o->of.var.disc ? o->of.var.payload->of.str.ptr : NULL,
                 o->of.var.disc ? o->of.var.payload->of.str.len : 0))
    return -1;
  return result_ok(cx, &res[0], 0);
}

HOST_FN(out_request_headers) {
  UNUSED_ARGS;
  REQUEST(H_OUT_REQUEST);
  return headers_view(env, cx, r, &res[0]);
}

HOST_FN(out_request_drop) {
  UNUSED_ARGS;
  return drop_parent(env, cx, args[0].of.u, H_OUT_REQUEST);
}

/* request-options: `which` is the timeout's index (0 connect, 1 first-byte, 2 between-bytes) */

HOST_FN(options_new) {
  UNUSED_ARGS;
  hobj_t *o = NULL;
  uint32_t rep = wisp__http_add(env, H_REQUEST_OPTIONS, &o);
  if (!rep) return fail(cx, NOMEM);
  o->timeouts[0] = o->timeouts[1] = o->timeouts[2] = HTTP_UNSET;
  res[0].of.u = rep;
  return 0;
}

static int options_get(wisp__http_t *h, int which, wisp__cabi_t *cx, const cval_t *args, cval_t *res) {
  hobj_t *o = wisp__http_get(h, cx, args[0].of.u, H_REQUEST_OPTIONS);
  if (!o) return -1;
  if (o->timeouts[which] == HTTP_UNSET) return none(&res[0]);
  res[0].of.var.disc = 1;
  if (!(res[0].of.var.payload = payload(cx, type_of(cx, res[0].type)->a))) return fail(cx, NOMEM);
  res[0].of.var.payload->of.u = o->timeouts[which];
  return 0;
}

static int options_set(wisp__http_t *h, int which, wisp__cabi_t *cx, const cval_t *args, cval_t *res) {
  hobj_t *o = wisp__http_get(h, cx, args[0].of.u, H_REQUEST_OPTIONS);
  if (!o) return -1;
  o->timeouts[which] = args[1].of.var.disc ? args[1].of.var.payload->of.u : HTTP_UNSET;
  if (o->timeouts[which] == HTTP_UNSET && args[1].of.var.disc) return result_err_unit(&res[0]);
  return result_ok(cx, &res[0], 0);
}

#define OPTION_FNS(k)                                                                         \
  HOST_FN(options_get##k) {                                                                   \
    UNUSED_ARGS;                                                                              \
    return options_get(env, k, cx, args, res);                                                \
  }                                                                                           \
  HOST_FN(options_set##k) {                                                                   \
    UNUSED_ARGS;                                                                              \
    return options_set(env, k, cx, args, res);                                                \
  }
OPTION_FNS(0)
OPTION_FNS(1)
OPTION_FNS(2)
#undef OPTION_FNS

HOST_FN(options_drop) {
  UNUSED_ARGS;
  if (!wisp__http_get(env, cx, args[0].of.u, H_REQUEST_OPTIONS)) return -1;
  obj_drop(env, args[0].of.u);
  return 0;
}

/* ---- outgoing-handler and the responses it brings ---------------------------------------- */

int wisp__http_result_ok(wisp__cabi_t *cx, cval_t *res, uint64_t value) { return result_ok(cx, res, value); }

/* handle(request: own<outgoing-request>, options: option<own<request-options>>) */
HOST_FN(outgoing_handle) {
  UNUSED_ARGS;
  wisp__http_t *h = env;
  hobj_t *r = wisp__http_get(h, cx, args[0].of.u, H_OUT_REQUEST);
  if (!r) return -1;
  hobj_t *o = NULL;
  if (args[1].of.var.disc == 1 && !(o = wisp__http_get(h, cx, args[1].of.var.payload->of.u, H_REQUEST_OPTIONS)))
    return -1;
  if (r->children) return fail(cx, "wasi:http: outgoing-handler.handle: the request's headers (a child) are alive");
  r->immutable = true;
  int rc = wisp__http_outgoing_handle(h, cx, r, o, &res[0]);
  /* The request was given away (own): it can no longer be used. */
  uint64_t rrep = rep_of(h, r);
  if (rrep) obj_drop(h, rrep);
  if (o) {
    uint64_t rep = rep_of(h, o);
    if (rep) obj_drop(h, rep);
  }
  return rc;
}

static bool future_ready(void *ctx) {
  hobj_t *f = ctx;
  if (!f->ready && f->poll && f->impl) f->poll(f->impl);
  return f->ready;
}

HOST_FN(future_subscribe) {
  UNUSED_ARGS;
  wisp__http_t *h = env;
  hobj_t *f = wisp__http_get(h, cx, args[0].of.u, H_FUTURE_RESPONSE);
  if (!f) return -1;
  uint32_t rep = wisp__wasi2_pollable_new(h->cfg.wasi, future_ready, f);
  if (!rep) return fail(cx, NOMEM);
  res[0].of.u = rep;
  return 0;
}

/* get() -> option<result<result<incoming-response, error-code>>> */
HOST_FN(future_get) {
  UNUSED_ARGS;
  wisp__http_t *h = env;
  hobj_t *f = wisp__http_get(h, cx, args[0].of.u, H_FUTURE_RESPONSE);
  if (!f) return -1;
  if (!future_ready(f)) return none(&res[0]);
  res[0].of.var.disc = 1;
  cval_t *outer = payload(cx, type_of(cx, res[0].type)->a);
  if (!outer) return fail(cx, NOMEM);
  res[0].of.var.payload = outer;
  if (f->taken) return result_err_unit(outer);
  f->taken = true;
  outer->of.var.disc = 0;
  cval_t *inner = payload(cx, type_of(cx, outer->type)->a);
  if (!inner) return fail(cx, NOMEM);
  outer->of.var.payload = inner;
  if (!f->response)
    return wisp__http_result_error(cx, inner, f->error ? f->error : "internal-error", f->error_message);
  uint64_t rep = rep_of(h, f->response);
  f->response = NULL;
  return rep ? result_ok(cx, inner, rep) : fail(cx, "wasi:http: the incoming-response is gone");
}

HOST_FN(future_drop) {
  UNUSED_ARGS;
  wisp__http_t *h = env;
  hobj_t *f = wisp__http_get(h, cx, args[0].of.u, H_FUTURE_RESPONSE);
  if (!f) return -1;
  wisp__wasi2_pollables_detach(h->cfg.wasi, f);
  obj_drop(h, args[0].of.u);
  return 0;
}

HOST_FN(in_response_status) {
  UNUSED_ARGS;
  REQUEST(H_IN_RESPONSE);
  res[0].of.u = r->status;
  return 0;
}

HOST_FN(in_response_headers) {
  UNUSED_ARGS;
  REQUEST(H_IN_RESPONSE);
  return headers_view(env, cx, r, &res[0]);
}

HOST_FN(in_response_consume) {
  UNUSED_ARGS;
  REQUEST(H_IN_RESPONSE);
  return consume(env, cx, r, &res[0]);
}

HOST_FN(in_response_drop) {
  UNUSED_ARGS;
  return drop_parent(env, cx, args[0].of.u, H_IN_RESPONSE);
}

/* http-error-code(borrow<io-error>) -> option<error-code>: stream errors here
 * carry no HTTP error */
HOST_FN(http_error_code) {
  UNUSED_ARGS;
  return none(&res[0]);
}

/* ---- the table --------------------------------------------------------------------------- */

#define T "wasi:http/types@0.2.0"
enum { E_HOST }; /* every function's env is the host */
static const struct {
  const char *iface, *name;
  wisp__chost_fn_t fn;
  uint8_t env;
} impls[] = {
    {T, "[constructor]fields", fields_new, E_HOST},
    {T, "[static]fields.from-list", fields_from_list, E_HOST},
    {T, "[method]fields.get", fields_get_values, E_HOST},
    {T, "[method]fields.has", fields_has, E_HOST},
    {T, "[method]fields.set", fields_set, E_HOST},
    {T, "[method]fields.delete", fields_delete, E_HOST},
    {T, "[method]fields.append", fields_append, E_HOST},
    {T, "[method]fields.entries", fields_entries, E_HOST},
    {T, "[method]fields.clone", fields_clone, E_HOST},
    {T, "[resource-drop]fields", fields_drop, E_HOST},
    {T, "[method]incoming-request.method", in_request_method, E_HOST},
    {T, "[method]incoming-request.path-with-query", in_request_path, E_HOST},
    {T, "[method]incoming-request.scheme", in_request_scheme, E_HOST},
    {T, "[method]incoming-request.authority", in_request_authority, E_HOST},
    {T, "[method]incoming-request.headers", in_request_headers, E_HOST},
    {T, "[method]incoming-request.consume", in_request_consume, E_HOST},
    {T, "[resource-drop]incoming-request", in_request_drop, E_HOST},
    {T, "[constructor]outgoing-request", out_request_new, E_HOST},
    {T, "[method]outgoing-request.body", out_request_body, E_HOST},
    {T, "[method]outgoing-request.method", out_request_method, E_HOST},
    {T, "[method]outgoing-request.set-method", out_request_set_method, E_HOST},
    {T, "[method]outgoing-request.path-with-query", out_request_path, E_HOST},
    {T, "[method]outgoing-request.set-path-with-query", out_request_set_path, E_HOST},
    {T, "[method]outgoing-request.scheme", out_request_scheme, E_HOST},
    {T, "[method]outgoing-request.set-scheme", out_request_set_scheme, E_HOST},
    {T, "[method]outgoing-request.authority", out_request_authority, E_HOST},
    {T, "[method]outgoing-request.set-authority", out_request_set_authority, E_HOST},
    {T, "[method]outgoing-request.headers", out_request_headers, E_HOST},
    {T, "[resource-drop]outgoing-request", out_request_drop, E_HOST},
    {T, "[constructor]request-options", options_new, E_HOST},
    {T, "[method]request-options.connect-timeout", options_get0, E_HOST},
    {T, "[method]request-options.set-connect-timeout", options_set0, E_HOST},
    {T, "[method]request-options.first-byte-timeout", options_get1, E_HOST},
    {T, "[method]request-options.set-first-byte-timeout", options_set1, E_HOST},
    {T, "[method]request-options.between-bytes-timeout", options_get2, E_HOST},
    {T, "[method]request-options.set-between-bytes-timeout", options_set2, E_HOST},
    {T, "[resource-drop]request-options", options_drop, E_HOST},
    {T, "[static]response-outparam.set", outparam_set, E_HOST},
    {T, "[resource-drop]response-outparam", outparam_drop, E_HOST},
    {T, "[method]incoming-response.status", in_response_status, E_HOST},
    {T, "[method]incoming-response.headers", in_response_headers, E_HOST},
    {T, "[method]incoming-response.consume", in_response_consume, E_HOST},
    {T, "[resource-drop]incoming-response", in_response_drop, E_HOST},
    {T, "[method]incoming-body.stream", in_body_stream, E_HOST},
    {T, "[static]incoming-body.finish", in_body_finish, E_HOST},
    {T, "[resource-drop]incoming-body", in_body_drop, E_HOST},
    {T, "[method]future-trailers.subscribe", trailers_subscribe, E_HOST},
    {T, "[method]future-trailers.get", trailers_get, E_HOST},
    {T, "[resource-drop]future-trailers", trailers_drop, E_HOST},
    {T, "[constructor]outgoing-response", out_response_new, E_HOST},
    {T, "[method]outgoing-response.status-code", out_response_status, E_HOST},
    {T, "[method]outgoing-response.set-status-code", out_response_set_status, E_HOST},
    {T, "[method]outgoing-response.headers", out_response_headers, E_HOST},
    {T, "[method]outgoing-response.body", out_response_body, E_HOST},
    {T, "[resource-drop]outgoing-response", out_response_drop, E_HOST},
    {T, "[method]outgoing-body.write", out_body_write, E_HOST},
    {T, "[static]outgoing-body.finish", out_body_finish, E_HOST},
    {T, "[resource-drop]outgoing-body", out_body_drop, E_HOST},
    {T, "[method]future-incoming-response.subscribe", future_subscribe, E_HOST},
    {T, "[method]future-incoming-response.get", future_get, E_HOST},
    {T, "[resource-drop]future-incoming-response", future_drop, E_HOST},
    {T, "http-error-code", http_error_code, E_HOST},
    {"wasi:http/outgoing-handler@0.2.0", "handle", outgoing_handle, E_HOST},
};
#undef T
#define NIMPLS (sizeof impls / sizeof impls[0])

/* The table with env `env` for every function; NULL when out of memory. */
static wisp__chost_func_t *table_new(void *env) {
  wisp__chost_func_t *funcs = calloc(NIMPLS, sizeof *funcs);
  for (size_t i = 0; funcs && i < NIMPLS; i++)
    funcs[i] = (wisp__chost_func_t){impls[i].iface, impls[i].name, impls[i].fn, env};
  return funcs;
}

wisp__chost_func_t *wisp__http_table_new(uint32_t slot, size_t *count) {
  *count = 0;
  wisp__chost_func_t *funcs = slot < WISP__CHOST_ENV_SLOTS ? table_new(WISP__CHOST_ENV_SLOT(slot)) : NULL;
  if (funcs) *count = NIMPLS;
  return funcs;
}

int wisp__http_new(const wisp__http_config_t *cfg, const wisp__http_request_t *req, wisp__http_t **out) {
  *out = NULL;
  wisp__http_t *h = calloc(1, sizeof *h);
  if (!h) return WISP_ERR_NOMEM;
  h->cfg = *cfg;
  hobj_t *r = NULL;
  if (!wisp__http_add(h, H_IN_REQUEST, &r)) goto nomem;
  h->request = r;
  r->immutable = true;
  r->in = &h->request_body;
  r->method = dup_n(req->method, req->method_len);
  r->path = dup_n(req->path_with_query, req->path_len);
  r->scheme = dup_n(req->https ? "https" : "http", req->https ? 5 : 4);
  r->authority = req->authority_len ? dup_n(req->authority, req->authority_len) : NULL;
  if (!r->method || !r->path || !r->scheme || (req->authority_len && !r->authority)) goto nomem;
  for (size_t i = 0; i < req->nheaders; i++)
    if (fields_add(&r->fields, req->headers[i].name, req->headers[i].name_len,
                   (const uint8_t *)req->headers[i].value, req->headers[i].value_len))
      goto nomem;
  if (!wisp__http_add(h, H_OUTPARAM, &h->outparam)) goto nomem;
  *out = h;
  return 0;
nomem:
  wisp__http_delete(h);
  return WISP_ERR_NOMEM;
}

void wisp__http_delete(wisp__http_t *h) {
  if (!h) return;
  wisp__http_outgoing_free(h);
  for (uint32_t i = 0; i < h->nobjs; i++)
    if (h->objs[i]) obj_free(h, h->objs[i]);
  /* bodies are shared by a response or request and its outgoing-body: the host owns them */
  for (size_t k = 0; k < h->nouts; k++) body_out_free(h->outs[k]);
  free(h->outs);
  fields_clear(&h->request_body.trailers);
  free(h->objs);
  free(h->funcs);
  free(h);
}

int wisp__http_host_funcs(wisp__http_t *h, const wisp__chost_func_t **funcs, size_t *count) {
  *funcs = NULL;
  *count = 0;
  if (!h->funcs && !(h->funcs = table_new(h))) return WISP_ERR_NOMEM;
  h->nfuncs = NIMPLS;
  *funcs = h->funcs;
  *count = h->nfuncs;
  return 0;
}

const char *wisp__http_error(const wisp__http_t *h) { return h->error; }

void wisp__http_handle_args(wisp__http_t *h, uint32_t *request_rep, uint32_t *outparam_rep) {
  *request_rep = (uint32_t)rep_of(h, h->request);
  *outparam_rep = (uint32_t)rep_of(h, h->outparam);
}

bool wisp__http_is_handler(const wisp_component_t *c) {
  return wisp_component_find_export(c, WISP__HTTP_HANDLER, strlen(WISP__HTTP_HANDLER)) >= 0;
}

void wisp__http_body_in_set(wisp__http_t *h, const uint8_t *data, size_t len, bool complete) {
  h->request_body.data = data;
  h->request_body.len = len;
  h->request_body.complete = complete;
}

void wisp__http_body_in_detach(wisp__http_t *h) {
  h->request_body.detached = true;
  h->request_body.data = NULL;
}

void wisp__http_body_in_pull(wisp__http_t *h, void (*pull)(void *ctx), void *ctx) {
  h->request_body.pull = pull;
  h->request_body.pull_ctx = ctx;
}

void wisp__http_body_in_next(wisp__http_t *h, const uint8_t *data, size_t len, bool complete) {
  h->request_body.data = data;
  h->request_body.len = len;
  h->request_body.pos = 0;
  h->request_body.complete = complete;
}

int wisp__http_body_in_trailer(wisp__http_t *h, const char *name, size_t name_len, const char *value,
                               size_t value_len) {
  if (wisp__http_fields_add(&h->request_body.trailers, name, name_len, (const uint8_t *)value, value_len))
    return WISP_ERR_NOMEM;
  h->request_body.has_trailers = true;
  return 0;
}

void wisp__http_body_in_fail(wisp__http_t *h) {
  h->request_body.detached = h->request_body.failed = true;
  h->request_body.data = NULL;
  h->request_body.len = h->request_body.pos = 0;
}

wisp__http_state_t wisp__http_response(const wisp__http_t *h) { return h->state; }
uint16_t wisp__http_status(const wisp__http_t *h) { return h->sent ? h->sent->status : 0; }
size_t wisp__http_header_count(const wisp__http_t *h) { return h->sent ? h->sent->fields.n : 0; }

void wisp__http_header(const wisp__http_t *h, size_t i, wisp__http_header_t *out) {
  const hfield_t *f = &h->sent->fields.items[i];
  *out = (wisp__http_header_t){f->name, f->name_len, (const char *)f->value, f->value_len};
}

const char *wisp__http_error_text(const wisp__http_t *h) { return h->error_text; }

size_t wisp__http_body_out_peek(const wisp__http_t *h, const uint8_t **data) {
  *data = NULL;
  if (!h->sent || !h->sent->out) return 0;
  *data = h->sent->out->buf ? h->sent->out->buf + h->sent->out->start : NULL;
  return h->sent->out->len;
}

void wisp__http_body_out_consume(wisp__http_t *h, size_t n) {
  hbody_out_t *o = h->sent ? h->sent->out : NULL;
  if (!o) return;
  if (n > o->len) n = o->len;
  o->start += n;
  o->len -= n;
  if (o->len == 0) o->start = 0;
}

wisp__http_body_state_t wisp__http_body_out_state(const wisp__http_t *h) {
  const hbody_out_t *o = h->sent ? h->sent->out : NULL;
  if (!o) return WISP__HTTP_BODY_OPEN;
  if (o->broken) return WISP__HTTP_BODY_BROKEN;
  return o->finished ? WISP__HTTP_BODY_DONE : WISP__HTTP_BODY_OPEN;
}

const char *wisp__http_body_out_error(const wisp__http_t *h) {
  return h->sent && h->sent->out && h->sent->out->broken ? h->sent->out->error : "";
}

size_t wisp__http_trailer_count(const wisp__http_t *h) {
  return h->sent && h->sent->out && h->sent->out->has_trailers ? h->sent->out->trailers.n : 0;
}

void wisp__http_trailer(const wisp__http_t *h, size_t i, wisp__http_header_t *out) {
  const hfield_t *f = &h->sent->out->trailers.items[i];
  *out = (wisp__http_header_t){f->name, f->name_len, (const char *)f->value, f->value_len};
}

void wisp__http_handler_returned(wisp__http_t *h) {
  if (h->sent && h->sent->out && !h->sent->out->finished)
    body_break(h->sent->out, "the handler returned before finishing the body (outgoing-body.finish)");
}
