/*
 * clink.c: matching a component's imports against what a host provides, by name
 * with semver (DESIGN.md decision 6: any 0.2.x of a WASI interface links).
 *
 * An interface name is "ns:pkg/iface@version". Two names match when everything
 * before '@' is equal and the versions are compatible: both absent, or both
 * present with the same major version and, for major 0, the same minor version
 * (patch and pre-release/build suffixes are ignored). So a guest built against
 * wasi:io/streams@0.2.3 links to a host implementing @0.2.12, but not to @0.3.0.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "component.h"

/* Reads "major.minor" from `v`; false when it does not start like a semver. */
static bool version_head(const char *v, size_t len, unsigned long *major, unsigned long *minor) {
  size_t i = 0;
  unsigned long parts[2] = {0, 0};
  for (int k = 0; k < 2; k++) {
    size_t start = i;
    while (i < len && v[i] >= '0' && v[i] <= '9') {
      if (parts[k] > 100000000ul) return false;
      parts[k] = parts[k] * 10 + (unsigned long)(v[i] - '0');
      i++;
    }
    if (i == start) return false;
    if (k == 0) {
      if (i >= len || v[i] != '.') return false;
      i++;
    }
  }
  *major = parts[0];
  *minor = parts[1];
  return true;
}

bool wisp_component_name_matches(const char *import_name, size_t import_len, const char *host_name,
                                 size_t host_len) {
  const char *ia = memchr(import_name, '@', import_len);
  const char *ha = memchr(host_name, '@', host_len);
  size_t ib = ia ? (size_t)(ia - import_name) : import_len;
  size_t hb = ha ? (size_t)(ha - host_name) : host_len;
  if (ib != hb || memcmp(import_name, host_name, ib) != 0) return false;
  if (!ia || !ha) return !ia && !ha;
  unsigned long imaj = 0, imin = 0, hmaj = 0, hmin = 0;
  if (!version_head(ia + 1, import_len - ib - 1, &imaj, &imin) ||
      !version_head(ha + 1, host_len - hb - 1, &hmaj, &hmin))
    return import_len == host_len && memcmp(import_name, host_name, import_len) == 0;
  if (imaj != hmaj) return false;
  return imaj != 0 || imin == hmin;
}

int wisp_component_check_imports(const wisp_component_t *component, const char *const *host_names,
                                 size_t count, wisp_error_t *err) {
  uint32_t n = wisp_component_import_count(component);
  for (uint32_t i = 0; i < n; i++) {
    wisp_component_item_t im;
    wisp_component_import(component, i, &im);
    bool found = false;
    for (size_t k = 0; k < count && !found; k++)
      found = wisp_component_name_matches(im.name, im.name_len, host_names[k], strlen(host_names[k]));
    if (!found) {
      if (err) {
        err->code = WISP_ERR_LINK;
        err->offset = 0;
        snprintf(err->message, sizeof err->message, "import \"%.*s\" (%s) is not provided by the host",
                 (int)im.name_len, im.name, wisp_sort_name(im.sort));
      }
      return WISP_ERR_LINK;
    }
  }
  return 0;
}

/* ---- structural type checking of imports against a host world ---- */

typedef struct matcher {
  const wisp_component_t *guest, *host;
  uint32_t *guest_to_host; /* resource id map, WISP__CNONE when unbound */
  uint32_t *host_to_guest;
  bool one_to_one;         /* two guest resources may not share one host resource */
  const char *left, *right; /* "guest"/"host", or "import"/"argument" */
  char why[200];           /* the innermost reason, for the message */
} matcher_t;

static bool type_eq(matcher_t *m, uint32_t g, uint32_t h, int depth);

/* Resources match when they are bound to each other consistently: the first use
 * binds a guest resource to the host's, later uses must agree. */
static bool resource_eq(matcher_t *m, uint32_t g, uint32_t h) {
  if (!wisp__ctype_is_resource(m->guest, g) || !wisp__ctype_is_resource(m->host, h)) {
    snprintf(m->why, sizeof m->why, "a resource on one side only");
    return false;
  }
  if (m->guest_to_host[g] == WISP__CNONE && (!m->one_to_one || m->host_to_guest[h] == WISP__CNONE)) {
    m->guest_to_host[g] = h;
    m->host_to_guest[h] = g;
    return true;
  }
  if (m->guest_to_host[g] == h) return true;
  const wisp__ctype_t *gt = wisp__ctype(m->guest, g);
  snprintf(m->why, sizeof m->why, "resource %.*s is a different resource in the %s", (int)gt->name_len,
           gt->name ? gt->name : "", m->right);
  return false;
}

static bool opt_eq(matcher_t *m, uint32_t g, uint32_t h, int depth) {
  if (g == WISP__CNONE || h == WISP__CNONE) {
    if (g != h) snprintf(m->why, sizeof m->why, "a payload on one side only");
    return g == h;
  }
  return type_eq(m, g, h, depth + 1);
}

static bool fields_eq(matcher_t *m, const wisp__cfield_t *g, uint32_t gn, const wisp__cfield_t *h,
                      uint32_t hn, bool named, int depth, const char *what) {
  if (gn != hn) {
    snprintf(m->why, sizeof m->why, "%u %s in the %s, %u in the %s", (unsigned)gn, what, m->left, (unsigned)hn,
             m->right);
    return false;
  }
  for (uint32_t i = 0; i < gn; i++) {
    if (named && (g[i].name_len != h[i].name_len || memcmp(g[i].name, h[i].name, g[i].name_len) != 0)) {
      snprintf(m->why, sizeof m->why, "%s %u is \"%.*s\" in the %s, \"%.*s\" in the %s", what, (unsigned)i,
               (int)g[i].name_len, g[i].name, m->left, (int)h[i].name_len, h[i].name, m->right);
      return false;
    }
    if (!opt_eq(m, g[i].type, h[i].type, depth)) {
      char inner[200];
      memcpy(inner, m->why, sizeof inner);
      wisp__cprint_t p = {m->why, sizeof m->why, 0};
      if (g[i].name) wisp__cprintf(&p, "%s %.*s: %s", what, (int)g[i].name_len, g[i].name, inner);
      else wisp__cprintf(&p, "%s %u: %s", what, (unsigned)i, inner);
      return false;
    }
  }
  return true;
}

static bool externs_eq(matcher_t *m, const wisp__cextern_t *g, uint32_t gn, const wisp__cextern_t *h,
                       uint32_t hn, int depth);

static bool type_eq(matcher_t *m, uint32_t g, uint32_t h, int depth) {
  if (depth > 64) { snprintf(m->why, sizeof m->why, "types nested too deeply"); return false; }
  const wisp__ctype_t *gt = wisp__ctype(m->guest, g), *ht = wisp__ctype(m->host, h);
  bool gres = gt->kind == WISP__CT_RESOURCE || gt->kind == WISP__CT_ABSTRACT;
  bool hres = ht->kind == WISP__CT_RESOURCE || ht->kind == WISP__CT_ABSTRACT;
  if (gres || hres) return resource_eq(m, g, h);
  if (gt->kind != ht->kind) {
    wisp__cprint_t pg = {m->why, sizeof m->why, 0};
    wisp__ctype_print(&pg, m->guest, WISP_SORT_TYPE, g, 30);
    wisp__cprintf(&pg, " in the %s, ", m->left);
    wisp__ctype_print(&pg, m->host, WISP_SORT_TYPE, h, 30);
    wisp__cprintf(&pg, " in the %s", m->right);
    return false;
  }
  switch (gt->kind) {
  case WISP__CT_RECORD: return fields_eq(m, gt->fields, gt->n, ht->fields, ht->n, true, depth, "field");
  case WISP__CT_VARIANT: return fields_eq(m, gt->fields, gt->n, ht->fields, ht->n, true, depth, "case");
  case WISP__CT_TUPLE: return fields_eq(m, gt->fields, gt->n, ht->fields, ht->n, false, depth, "element");
  case WISP__CT_FLAGS: return fields_eq(m, gt->fields, gt->n, ht->fields, ht->n, true, depth, "flag");
  case WISP__CT_ENUM: return fields_eq(m, gt->fields, gt->n, ht->fields, ht->n, true, depth, "enum case");
  case WISP__CT_LIST: case WISP__CT_OPTION: return type_eq(m, gt->a, ht->a, depth + 1);
  case WISP__CT_OWN: case WISP__CT_BORROW: return resource_eq(m, gt->a, ht->a);
  case WISP__CT_RESULT: return opt_eq(m, gt->a, ht->a, depth) && opt_eq(m, gt->b, ht->b, depth);
  case WISP__CT_FUNC:
    return fields_eq(m, gt->fields, gt->n, ht->fields, ht->n, true, depth, "parameter") &&
           fields_eq(m, gt->results, gt->nresults, ht->results, ht->nresults, gt->nresults != 1, depth, "result");
  case WISP__CT_INSTANCE: case WISP__CT_COMPONENT:
    return externs_eq(m, gt->exports, gt->nexports, ht->exports, ht->nexports, depth + 1);
  case WISP__CT_CORE_MODULE: case WISP__CT_CORE_FUNC: case WISP__CT_CORE_INSTANCE:
    snprintf(m->why, sizeof m->why, "core module imports are not supported");
    return false;
  default: return true; /* primitives: equal kinds */
  }
}

/* Every export the guest expects must exist in the host's list with an equal type
 * (the host may offer more: a newer 0.2.x adds functions). */
static bool externs_eq(matcher_t *m, const wisp__cextern_t *g, uint32_t gn, const wisp__cextern_t *h,
                       uint32_t hn, int depth) {
  for (uint32_t i = 0; i < gn; i++) {
    const wisp__cextern_t *he = NULL;
    for (uint32_t k = 0; k < hn && !he; k++)
      if (h[k].name_len == g[i].name_len && memcmp(h[k].name, g[i].name, g[i].name_len) == 0) he = &h[k];
    char inner[200];
    if (!he) {
      snprintf(m->why, sizeof m->why, "\"%.*s\": the %s does not provide it", (int)g[i].name_len, g[i].name,
               m->right);
      return false;
    }
    if (he->sort != g[i].sort) {
      snprintf(m->why, sizeof m->why, "\"%.*s\": a %s in the %s, a %s in the %s", (int)g[i].name_len,
               g[i].name, wisp_sort_name(g[i].sort), m->left, wisp_sort_name(he->sort), m->right);
      return false;
    }
    if (!type_eq(m, g[i].type, he->type, depth + 1)) {
      memcpy(inner, m->why, sizeof inner);
      wisp__cprint_t p = {m->why, sizeof m->why, 0};
      wisp__cprintf(&p, "\"%.*s\": %s", (int)g[i].name_len, g[i].name, inner);
      return false;
    }
  }
  return true;
}

int wisp_component_check_against(const wisp_component_t *guest, const wisp_component_t *host,
                                 wisp_error_t *err) {
  matcher_t m = {.guest = guest, .host = host, .one_to_one = true, .left = "guest", .right = "host"};
  m.guest_to_host = malloc((size_t)guest->types.len * sizeof *m.guest_to_host);
  m.host_to_guest = malloc((size_t)host->types.len * sizeof *m.host_to_guest);
  int rc = 0;
  if (!m.guest_to_host || !m.host_to_guest) {
    rc = WISP_ERR_NOMEM;
    if (err) { err->code = rc; snprintf(err->message, sizeof err->message, "out of memory checking imports"); }
    goto done;
  }
  memset(m.guest_to_host, 0xff, (size_t)guest->types.len * sizeof *m.guest_to_host);
  memset(m.host_to_guest, 0xff, (size_t)host->types.len * sizeof *m.host_to_guest);
  for (uint32_t i = 0; i < wisp_component_import_count(guest) && rc == 0; i++) {
    wisp_component_item_t gi, hi;
    wisp_component_import(guest, i, &gi);
    bool found = false;
    for (uint32_t k = 0; k < wisp_component_import_count(host) && !found; k++) {
      wisp_component_import(host, k, &hi);
      found = wisp_component_name_matches(gi.name, gi.name_len, hi.name, hi.name_len);
    }
    m.why[0] = 0;
    if (!found) snprintf(m.why, sizeof m.why, "not provided by the host");
    else if (gi.sort != hi.sort)
      snprintf(m.why, sizeof m.why, "a %s, but the host provides a %s", wisp_sort_name(gi.sort), wisp_sort_name(hi.sort));
    else if (type_eq(&m, gi.type, hi.type, 0)) continue;
    rc = WISP_ERR_LINK;
    if (err) {
      err->code = rc;
      err->offset = 0;
      wisp__cprint_t p = {err->message, sizeof err->message, 0};
      wisp__cprintf(&p, "import \"%.*s\": %s", (int)gi.name_len, gi.name, m.why);
    }
  }
done:
  free(m.guest_to_host);
  free(m.host_to_guest);
  return rc;
}

/* Instantiation arguments of a nested component (Binary.md: "the types to
 * match"): each import's type against the argument's, in one component's pool.
 * An imported resource binds to the resource supplied (several imports may get
 * the same one); later uses must agree. */
int wisp__cinstantiate_check(wisp_component_t *c, const wisp__cextern_t *imports, uint32_t n,
                             const wisp__cextern_t *args, uint32_t nargs, uint32_t **bindings, char *why,
                             size_t why_size) {
  matcher_t m = {.guest = c, .host = c, .one_to_one = false, .left = "import", .right = "argument"};
  m.guest_to_host = wisp__arena_alloc(&c->arena, (size_t)c->types.len * sizeof *m.guest_to_host);
  m.host_to_guest = malloc((size_t)c->types.len * sizeof *m.host_to_guest);
  *bindings = m.guest_to_host;
  int rc = 0;
  if (!m.guest_to_host || !m.host_to_guest) { rc = WISP_ERR_NOMEM; goto done; }
  memset(m.guest_to_host, 0xff, (size_t)c->types.len * sizeof *m.guest_to_host);
  memset(m.host_to_guest, 0xff, (size_t)c->types.len * sizeof *m.host_to_guest);
  for (uint32_t i = 0; i < n && rc == 0; i++) {
    const wisp__cextern_t *arg = NULL;
    for (uint32_t k = 0; k < nargs && !arg; k++)
      if (args[k].name_len == imports[i].name_len && memcmp(args[k].name, imports[i].name, args[k].name_len) == 0)
        arg = &args[k];
    if (!arg || arg->sort != imports[i].sort) continue; /* reported by the caller */
    m.why[0] = 0;
    if (!type_eq(&m, imports[i].type, arg->type, 0)) {
      wisp__cprint_t p = {why, why_size, 0};
      wisp__cprintf(&p, "import \"%.*s\": %s", (int)imports[i].name_len, imports[i].name, m.why);
      rc = WISP_ERR_INVALID;
    }
  }
done:
  free(m.host_to_guest);
  return rc;
}

/* Rewrites type `id` with the resources of `bindings` replaced (see component.h).
 * Unchanged types keep their id; changed ones become new pool entries, memoised. */
static uint32_t subst(wisp_component_t *c, const uint32_t *bindings, uint32_t *memo, uint32_t limit, uint32_t id,
                      int depth);

static bool subst_fields(wisp_component_t *c, const uint32_t *bindings, uint32_t *memo, uint32_t limit,
                         wisp__cfield_t **fields, uint32_t n, int depth, bool *changed) {
  wisp__cfield_t *copy = NULL;
  for (uint32_t i = 0; i < n; i++) {
    uint32_t old = (*fields)[i].type;
    uint32_t now = subst(c, bindings, memo, limit, old, depth + 1);
    if (now == WISP__CNONE && old != WISP__CNONE) return false;
    if (now == old) continue;
    if (!copy) {
      copy = wisp__arena_alloc(&c->arena, (size_t)n * sizeof *copy);
      if (!copy) return false;
      memcpy(copy, *fields, (size_t)n * sizeof *copy);
    }
    copy[i].type = now;
  }
  if (copy) { *fields = copy; *changed = true; }
  return true;
}

static bool subst_externs(wisp_component_t *c, const uint32_t *bindings, uint32_t *memo, uint32_t limit,
                          wisp__cextern_t **list, uint32_t n, int depth, bool *changed) {
  wisp__cextern_t *copy = NULL;
  for (uint32_t i = 0; i < n; i++) {
    uint32_t old = (*list)[i].type;
    uint32_t now = subst(c, bindings, memo, limit, old, depth + 1);
    if (now == WISP__CNONE && old != WISP__CNONE) return false;
    if (now == old) continue;
    if (!copy) {
      copy = wisp__arena_alloc(&c->arena, (size_t)n * sizeof *copy);
      if (!copy) return false;
      memcpy(copy, *list, (size_t)n * sizeof *copy);
    }
    copy[i].type = now;
  }
  if (copy) { *list = copy; *changed = true; }
  return true;
}

static uint32_t subst(wisp_component_t *c, const uint32_t *bindings, uint32_t *memo, uint32_t limit, uint32_t id,
                      int depth) {
  if (id == WISP__CNONE || id >= limit || id < WISP__CT_NPRIM) return id;
  if (bindings[id] != WISP__CNONE) return bindings[id];
  if (memo[id] != WISP__CNONE) return memo[id];
  if (depth > 100) return WISP__CNONE;
  wisp__ctype_t t = *wisp__ctype(c, id);
  bool changed = false, ok = true;
  switch (t.kind) {
  case WISP__CT_RECORD: case WISP__CT_VARIANT: case WISP__CT_TUPLE:
    ok = subst_fields(c, bindings, memo, limit, &t.fields, t.n, depth, &changed);
    break;
  case WISP__CT_FUNC:
    ok = subst_fields(c, bindings, memo, limit, &t.fields, t.n, depth, &changed) &&
         subst_fields(c, bindings, memo, limit, &t.results, t.nresults, depth, &changed);
    break;
  case WISP__CT_LIST: case WISP__CT_OPTION: case WISP__CT_RESULT: case WISP__CT_OWN: case WISP__CT_BORROW: {
    uint32_t a = subst(c, bindings, memo, limit, t.a, depth + 1);
    uint32_t b = t.kind == WISP__CT_RESULT ? subst(c, bindings, memo, limit, t.b, depth + 1) : t.b;
    if ((a == WISP__CNONE && t.a != WISP__CNONE) || (b == WISP__CNONE && t.b != WISP__CNONE)) ok = false;
    changed = a != t.a || b != t.b;
    t.a = a;
    t.b = b;
    break;
  }
  case WISP__CT_INSTANCE: case WISP__CT_COMPONENT:
    ok = subst_externs(c, bindings, memo, limit, &t.imports, t.nimports, depth, &changed) &&
         subst_externs(c, bindings, memo, limit, &t.exports, t.nexports, depth, &changed);
    break;
  default: break;
  }
  if (!ok) return WISP__CNONE;
  memo[id] = changed ? wisp__ctype_add(c, &t) : id;
  return memo[id];
}

int wisp__cinstance_exports(wisp_component_t *c, const wisp__cextern_t *exports, uint32_t n,
                            const uint32_t *bindings, wisp__cextern_t **out) {
  uint32_t limit = c->types.len;
  uint32_t *memo = wisp__arena_alloc(&c->arena, (size_t)limit * sizeof *memo);
  wisp__cextern_t *list = wisp__arena_alloc(&c->arena, (size_t)(n ? n : 1) * sizeof *list);
  *out = list;
  if (!memo || !list) return WISP_ERR_NOMEM;
  memset(memo, 0xff, (size_t)limit * sizeof *memo);
  for (uint32_t i = 0; i < n; i++) {
    list[i] = exports[i];
    list[i].type = subst(c, bindings, memo, limit, exports[i].type, 0);
    if (list[i].type == WISP__CNONE && exports[i].type != WISP__CNONE) return WISP_ERR_NOMEM;
  }
  return 0;
}
