/*
 * module.c: wisp_module_t's public functions: creation (copy, decode,
 * validate, refuse what the interpreter cannot run) and introspection.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "module.h"
#include "opcodes.h"

static int module_load(wisp_engine_t *engine, const uint8_t *bytes, size_t len,
                       wisp_module_t **out, wisp_error_t *err) {
  wisp_module_t *m = calloc(1, sizeof *m);
  if (!m) return wisp__error(err, WISP_ERR_NOMEM, 0, "out of memory");
  m->engine = engine;
  wisp__arena_init(&m->arena);
  m->bytes = malloc(len ? len : 1);
  if (!m->bytes) {
    free(m);
    return wisp__error(err, WISP_ERR_NOMEM, 0, "out of memory copying %zu module bytes", len);
  }
  if (len) memcpy(m->bytes, bytes, len);
  m->len = len;
  int rc = wisp__decode(m, err);
  if (rc == 0) rc = wisp__validate(m, err);
  for (uint32_t i = 0; rc == 0 && i < m->ntypes; i++) {
    wisp__functype_t *t = &m->types[i];
    t->canon = wisp__engine_intern_type(engine, t->nparams, t->nresults, t->types);
    if (t->canon == UINT32_MAX) rc = wisp__error(err, WISP_ERR_NOMEM, 0, "out of memory interning function types");
  }
  if (rc != 0) {
    wisp_module_delete(m);
    return rc;
  }
  *out = m;
  return 0;
}

/* The first use of the v128 type outside function bodies (types, globals,
 * locals), which the interpreter cannot hold yet; 0 if none. Fills *what. */
static int find_v128(const wisp_module_t *m, char *what, size_t size) {
  for (uint32_t i = 0; i < m->ntypes; i++)
    for (uint32_t k = 0; k < m->types[i].nparams + m->types[i].nresults; k++)
      if (m->types[i].types[k] == WISP_V128) return snprintf(what, size, "type %u uses v128", i);
  for (uint32_t i = 0; i < m->nglobals; i++)
    if (m->globals[i].type.type == WISP_V128) return snprintf(what, size, "global %u has type v128", i);
  for (uint32_t f = m->nfunc_imports; f < m->nfuncs; f++)
    for (uint32_t r = 0; r < m->funcs[f].nlocalruns; r++)
      if (m->funcs[f].localruns[r].type == WISP_V128)
        return snprintf(what, size, "function %u has a v128 local", f);
  return 0;
}

int wisp_module_new(wisp_engine_t *engine, const uint8_t *bytes, size_t len, wisp_module_t **out,
                    wisp_error_t *err) {
  wisp_module_t *m = NULL;
  int rc = module_load(engine, bytes, len, &m, err);
  if (rc != 0) return rc;
  if (m->uses_simd) {
    const wisp__opinfo_t *op = wisp__opinfo(m->simd_code);
    const char *name = wisp_module_func_name(m, m->simd_func);
    wisp__error(err, WISP_ERR_UNSUPPORTED, m->simd_offset,
                "code section, function %u%s%s%s, offset 0x%x: SIMD instruction %s is not supported: "
                "this build of wisp validates SIMD but does not execute it yet",
                m->simd_func, name ? " (" : "", name ? name : "", name ? ")" : "", m->simd_offset,
                op ? op->name : "v128.*");
    wisp_module_delete(m);
    return WISP_ERR_UNSUPPORTED;
  }
  char what[96];
  if (find_v128(m, what, sizeof what)) {
    wisp__error(err, WISP_ERR_UNSUPPORTED, 0,
                "%s: SIMD (v128) is not supported: this build of wisp validates SIMD but does not execute it yet",
                what);
    wisp_module_delete(m);
    return WISP_ERR_UNSUPPORTED;
  }
  *out = m;
  return 0;
}

int wisp_module_validate(wisp_engine_t *engine, const uint8_t *bytes, size_t len, wisp_error_t *err) {
  wisp_module_t *m = NULL;
  int rc = module_load(engine, bytes, len, &m, err);
  if (rc == 0) wisp_module_delete(m);
  return rc;
}

void wisp__code_free(struct wisp__code *code); /* translate.c */

void wisp_module_delete(wisp_module_t *m) {
  if (!m) return;
  for (uint32_t i = 0; m->funcs && i < m->nfuncs; i++)
    if (m->funcs[i].code) wisp__code_free(m->funcs[i].code);
  wisp__arena_free(&m->arena);
  free(m->bytes);
  free(m);
}

static void fill_externtype(const wisp_module_t *m, uint8_t kind, uint32_t index, wisp_externtype_t *t) {
  memset(t, 0, sizeof *t);
  t->kind = kind;
  switch (kind) {
    case WISP_EXTERN_FUNC: {
      const wisp__functype_t *ft = wisp__func_type(m, index);
      t->func.nparams = ft->nparams;
      t->func.nresults = ft->nresults;
      t->func.params = ft->types;
      t->func.results = ft->types + ft->nparams;
      break;
    }
    case WISP_EXTERN_TABLE:
      t->table_elem = m->tables[index].elem;
      t->limits = (wisp_limits_t){m->tables[index].limits.min, m->tables[index].limits.max,
                                  m->tables[index].limits.has_max};
      break;
    case WISP_EXTERN_MEMORY:
      t->limits = (wisp_limits_t){m->memories[index].min, m->memories[index].max, m->memories[index].has_max};
      break;
    case WISP_EXTERN_GLOBAL:
      t->global_type = m->globals[index].type.type;
      t->global_mutable = m->globals[index].type.mutable_;
      break;
  }
}

uint32_t wisp_module_import_count(const wisp_module_t *m) { return m->nimports; }

void wisp_module_import(const wisp_module_t *m, uint32_t i, wisp_import_desc_t *out) {
  const wisp__import_t *im = &m->imports[i];
  out->module = im->module;
  out->module_len = im->module_len;
  out->name = im->name;
  out->name_len = im->name_len;
  /* the import's index in its own space: count earlier imports of its kind */
  uint32_t index = 0;
  for (uint32_t j = 0; j < i; j++)
    if (m->imports[j].kind == im->kind) index++;
  fill_externtype(m, im->kind, index, &out->type);
}

uint32_t wisp_module_export_count(const wisp_module_t *m) { return m->nexports; }

void wisp_module_export(const wisp_module_t *m, uint32_t i, wisp_export_desc_t *out) {
  const wisp__export_t *ex = &m->exports[i];
  out->name = ex->name;
  out->name_len = ex->name_len;
  fill_externtype(m, ex->kind, ex->index, &out->type);
}

uint32_t wisp_module_custom_count(const wisp_module_t *m) { return m->ncustoms; }

void wisp_module_custom(const wisp_module_t *m, uint32_t i, const char **name, uint32_t *name_len,
                        const uint8_t **data, uint32_t *data_len) {
  *name = m->customs[i].name;
  *name_len = m->customs[i].name_len;
  *data = m->customs[i].data;
  *data_len = m->customs[i].len;
}

const char *wisp_module_func_name(const wisp_module_t *m, uint32_t index) {
  if (!m->func_names || index >= m->nfuncs) return NULL;
  return m->func_names[index];
}
