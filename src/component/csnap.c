/*
 * csnap.c: component snapshots, see csnap.h.
 *
 * Function reference codes: ((core instance << 20) | function index) + 1,
 * the function index in that core instance's function space (imports
 * included), so a lowered import (a host trampoline made per instantiation)
 * is named through a core instance that imports it. 0 is null.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csnap.h"
#include "engine.h"

#define CSNAP_MAGIC "WISPCSNP"
#define CODE_INDEX_BITS 20
#define CODE_MAX_INDEX ((1u << CODE_INDEX_BITS) - 2)
#define CODE_MAX_CORES ((1u << (32 - CODE_INDEX_BITS)) - 1)

struct wisp__csnap {
  const wisp_component_t *c;
  uint32_t ncores;
  wisp_snapshot_t **cores;
  uint32_t *handles; /* wisp__cinst_handles_save words */
  size_t nhandles;
};

/* ---- references ---------------------------------------------------------- */

static int encode(void *env, const wisp_func_t *f, uint32_t *code) {
  const wisp__cinst_t *inst = env;
  uint32_t n = wisp__cinst_core_count(inst);
  /* the defining instance first, then any instance importing it (host functions) */
  for (uint32_t k = 0; k < n; k++)
    if (f->inst == wisp__cinst_core(inst, k) && f->index <= CODE_MAX_INDEX) {
      *code = ((k << CODE_INDEX_BITS) | f->index) + 1;
      return 0;
    }
  for (uint32_t k = 0; k < n; k++) {
    const wisp_instance_t *ci = wisp__cinst_core(inst, k);
    for (uint32_t i = 0; i < ci->module->nfunc_imports && i <= CODE_MAX_INDEX; i++)
      if (ci->funcs[i] == f) {
        *code = ((k << CODE_INDEX_BITS) | i) + 1;
        return 0;
      }
  }
  return -1;
}

static wisp_func_t *decode(void *env, uint32_t code) {
  const wisp__cinst_t *inst = env;
  uint32_t k = (code - 1) >> CODE_INDEX_BITS, i = (code - 1) & ((1u << CODE_INDEX_BITS) - 1);
  if (k >= wisp__cinst_core_count(inst)) return NULL;
  const wisp_instance_t *ci = wisp__cinst_core(inst, k);
  return i < ci->module->nfuncs ? ci->funcs[i] : NULL;
}

/* ---- capture ------------------------------------------------------------- */

void wisp__csnap_delete(wisp__csnap_t *snap) {
  if (!snap) return;
  for (uint32_t k = 0; snap->cores && k < snap->ncores; k++) wisp_snapshot_delete(snap->cores[k]);
  free(snap->cores);
  free(snap->handles);
  free(snap);
}

const wisp_component_t *wisp__csnap_component(const wisp__csnap_t *snap) { return snap->c; }

int wisp__csnap_new(const wisp__cinst_t *inst, wisp__csnap_t **out, wisp_error_t *err) {
  *out = NULL;
  uint32_t n = wisp__cinst_core_count(inst);
  if (n > CODE_MAX_CORES) return wisp__error(err, WISP_ERR_UNSUPPORTED, 0, "snapshot: %u core instances", n);
  wisp__csnap_t *snap = calloc(1, sizeof *snap);
  if (!snap) return wisp__error(err, WISP_ERR_NOMEM, 0, "out of memory");
  snap->c = wisp__cinst_component(inst);
  snap->cores = calloc(n + 1, sizeof *snap->cores);
  if (!snap->cores) {
    wisp__csnap_delete(snap);
    return wisp__error(err, WISP_ERR_NOMEM, 0, "out of memory");
  }
  snap->ncores = n;
  for (uint32_t k = 0; k < n; k++) {
    int rc = wisp__snapshot_capture_linked(wisp__cinst_core(inst, k), encode, (void *)inst, &snap->cores[k], err);
    if (rc) {
      if (err) {
        char msg[sizeof err->message];
        snprintf(msg, sizeof msg, "core instance %u: %.480s", k, err->message);
        snprintf(err->message, sizeof err->message, "%s", msg);
      }
      wisp__csnap_delete(snap);
      return rc;
    }
  }
  char why[200];
  int rc = wisp__cinst_handles_save(inst, &snap->handles, &snap->nhandles, why, sizeof why);
  if (rc) {
    wisp__csnap_delete(snap);
    return wisp__error(err, rc, 0, "snapshot: %s", why);
  }
  *out = snap;
  return 0;
}

/* ---- restore ------------------------------------------------------------- */

static int make_core(void *env, uint32_t ordinal, wisp_store_t *store, const wisp_module_t *m,
                     const wisp_extern_t *imports, uint32_t n, wisp_instance_t **out, wisp_error_t *err) {
  const wisp__csnap_t *snap = env;
  if (ordinal >= snap->ncores || wisp_snapshot_module(snap->cores[ordinal]) != m)
    return wisp__error(err, WISP_ERR_ARG, 0, "snapshot: core instance %u is not of the snapshot's module", ordinal);
  return wisp_instance_from_snapshot(store, snap->cores[ordinal], imports, n, out, err);
}

static int from_csnap(const wisp__csnap_t *snap, const wisp__cprep_t *prep, wisp_store_t *store, wisp_exec_t *exec,
                      const wisp__chost_func_t *host, size_t count, void *const *envs, uint32_t nenvs,
                      wisp__cinst_t **out, wisp_error_t *err) {
  wisp__cinst_t *inst = NULL;
  *out = NULL;
  int rc = prep ? wisp__cinst_new_prepared(prep, store, exec, envs, nenvs, make_core, (void *)snap, &inst, err)
                : wisp__cinst_new_hooked(snap->c, store, exec, host, count, make_core, (void *)snap, &inst, err);
  if (rc) return rc;
  if (wisp__cinst_core_count(inst) != snap->ncores) {
    rc = wisp__error(err, WISP_ERR_ARG, 0, "snapshot: %u core instances, the component made %u", snap->ncores,
                     wisp__cinst_core_count(inst));
    goto fail;
  }
  for (uint32_t k = 0; k < snap->ncores; k++)
    if ((rc = wisp__snapshot_link_refs(wisp__cinst_core(inst, k), snap->cores[k], decode, inst, err)) != 0) goto fail;
  if ((rc = wisp__cinst_handles_load(inst, snap->handles, snap->nhandles)) != 0) {
    rc = wisp__error(err, rc, 0, "snapshot: the handle table does not fit the component");
    goto fail;
  }
  *out = inst;
  return 0;
fail:
  wisp__cinst_delete(inst);
  return rc;
}

int wisp__cinst_from_csnap(const wisp__csnap_t *snap, wisp_store_t *store, wisp_exec_t *exec,
                           const wisp__chost_func_t *host, size_t count, wisp__cinst_t **out, wisp_error_t *err) {
  return from_csnap(snap, NULL, store, exec, host, count, NULL, 0, out, err);
}

int wisp__cinst_from_csnap_prepared(const wisp__csnap_t *snap, const wisp__cprep_t *prep, wisp_store_t *store,
                                    wisp_exec_t *exec, void *const *envs, uint32_t nenvs, wisp__cinst_t **out,
                                    wisp_error_t *err) {
  if (wisp__cprep_component(prep) != snap->c)
    return wisp__error(err, WISP_ERR_ARG, 0, "snapshot: the prepared link is of another component");
  return from_csnap(snap, prep, store, exec, NULL, 0, envs, nenvs, out, err);
}

/* ---- files --------------------------------------------------------------- */

typedef struct out {
  uint8_t *data;
  size_t len, cap;
  bool oom;
} out_t;

static void put(out_t *b, const void *p, size_t n) {
  if (b->oom || n == 0) return;
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap : 65536;
    while (cap < b->len + n) cap *= 2;
    uint8_t *grown = realloc(b->data, cap);
    if (!grown) {
      b->oom = true;
      return;
    }
    b->data = grown;
    b->cap = cap;
  }
  memcpy(b->data + b->len, p, n);
  b->len += n;
}
static void put32(out_t *b, uint32_t v) { put(b, &v, 4); }
static void put64(out_t *b, uint64_t v) { put(b, &v, 8); }

int wisp__csnap_save(const wisp__csnap_t *snap, const char *path, wisp_error_t *err) {
  out_t b = {0};
  const wisp_component_t *c = snap->c;
  put(&b, CSNAP_MAGIC, 8);
  put32(&b, WISP_SNAPSHOT_FORMAT_VERSION);
  put32(&b, 0);
  put64(&b, wisp__fnv1a(0, c->bytes, c->len));
  put64(&b, c->len);
  put32(&b, snap->ncores);
  int rc = 0;
  for (uint32_t k = 0; k < snap->ncores && rc == 0; k++) {
    uint8_t *body = NULL;
    size_t len = 0;
    rc = wisp__snapshot_body(snap->cores[k], &body, &len, err);
    put(&b, body, len);
    free(body);
  }
  put32(&b, (uint32_t)snap->nhandles);
  put(&b, snap->handles, snap->nhandles * 4);
  put64(&b, wisp__fnv1a(0, b.data, b.len));
  if (rc == 0 && b.oom) rc = wisp__error(err, WISP_ERR_NOMEM, 0, "out of memory writing a snapshot");
  if (rc == 0) rc = wisp__write_file_atomic(path, b.data, b.len, err);
  free(b.data);
  return rc;
}

static int load_error(wisp_error_t *err, const char *path, const char *what) {
  return wisp__error(err, WISP_ERR_MALFORMED, 0, "snapshot %s: %s", path, what);
}

static bool get(const uint8_t **p, const uint8_t *end, void *out, size_t n) {
  if ((size_t)(end - *p) < n) return false;
  memcpy(out, *p, n);
  *p += n;
  return true;
}

int wisp__csnap_load(const wisp_component_t *c, const char *path, wisp__csnap_t **out, wisp_error_t *err) {
  *out = NULL;
  uint8_t *data = NULL;
  size_t len = 0;
  int rc = wisp__read_file(path, &data, &len, err);
  if (rc) return rc;
  wisp__csnap_t *snap = NULL;
  uint64_t sum = 0;
  if (len < 8 + 8 + 8 + 8 || memcmp(data, CSNAP_MAGIC, 8) != 0) {
    rc = load_error(err, path, "not a wisp component snapshot (bad magic)");
    goto done;
  }
  memcpy(&sum, data + len - 8, 8);
  if (wisp__fnv1a(0, data, len - 8) != sum) {
    rc = load_error(err, path, "checksum mismatch: the file is corrupt");
    goto done;
  }
  const uint8_t *p = data + 8, *end = data + len - 8;
  uint32_t version = 0, flags = 0, ncores = 0;
  uint64_t hash = 0, clen = 0;
  get(&p, end, &version, 4);
  get(&p, end, &flags, 4);
  if (version != WISP_SNAPSHOT_FORMAT_VERSION) {
    rc = wisp__error(err, WISP_ERR_MALFORMED, 0, "snapshot %s: format version %u, this wisp reads version %u", path,
                     version, WISP_SNAPSHOT_FORMAT_VERSION);
    goto done;
  }
  if (!get(&p, end, &hash, 8) || !get(&p, end, &clen, 8) || hash != wisp__fnv1a(0, c->bytes, c->len) ||
      clen != c->len) {
    rc = load_error(err, path, "made from a different component");
    goto done;
  }
  if (!get(&p, end, &ncores, 4) || ncores > (uint64_t)(end - p)) {
    rc = load_error(err, path, "truncated or inconsistent contents");
    goto done;
  }
  snap = calloc(1, sizeof *snap);
  if (snap) snap->cores = calloc(ncores + 1, sizeof *snap->cores);
  if (!snap || !snap->cores) {
    rc = wisp__error(err, WISP_ERR_NOMEM, 0, "out of memory");
    goto done;
  }
  snap->c = c;
  snap->ncores = ncores;
  /* core instance k is of the module its body names: find it among the component's */
  for (uint32_t k = 0; k < ncores; k++) {
    uint64_t mhash = 0, mlen = 0;
    const uint8_t *q = p;
    const wisp_module_t *m = NULL;
    if (get(&q, end, &mhash, 8) && get(&q, end, &mlen, 8)) {
      for (uint32_t i = 0; i < wisp_component_module_count(c) && !m; i++) {
        const wisp_module_t *cand = wisp_component_module(c, i);
        if (cand->len == mlen && wisp__fnv1a(0, cand->bytes, cand->len) == mhash) m = cand;
      }
    }
    const char *why = "a core instance of a module the component does not have";
    if (!m || !(snap->cores[k] = wisp__snapshot_parse(m, &p, end, &why))) {
      char msg[200];
      snprintf(msg, sizeof msg, "core instance %u: %s", k, why);
      rc = load_error(err, path, msg);
      goto done;
    }
  }
  uint32_t nwords = 0;
  if (!get(&p, end, &nwords, 4) || (size_t)(end - p) != (size_t)nwords * 4) {
    rc = load_error(err, path, "truncated or inconsistent contents");
    goto done;
  }
  snap->handles = malloc((size_t)nwords * 4 + 4);
  if (!snap->handles) {
    rc = wisp__error(err, WISP_ERR_NOMEM, 0, "out of memory");
    goto done;
  }
  memcpy(snap->handles, p, (size_t)nwords * 4);
  snap->nhandles = nwords;
done:
  free(data);
  if (rc) {
    wisp__csnap_delete(snap);
    snap = NULL;
  }
  *out = snap;
  return rc;
}
