/*
 * runtime.c: stores and the runtime objects they own (memories, tables,
 * globals, functions, instances), import matching, the linker, and
 * instantiation (globals, segments, start function).
 *
 * Invariants: every object is on its store's list for its kind and is freed
 * only by wisp_store_delete. A memory's reservation never moves; its
 * accessible prefix grows with mprotect.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "engine.h"
#include "opcodes.h"

/* ---- store -------------------------------------------------------------- */

wisp_store_t *wisp_store_new(wisp_engine_t *engine) {
  wisp_store_t *s = calloc(1, sizeof *s);
  if (s) s->engine = engine;
  return s;
}

void wisp_store_set_limits(wisp_store_t *store, const wisp_store_limits_t *limits) {
  store->limits = *limits;
}

void wisp_store_set_data(wisp_store_t *store, void *data) { store->data = data; }
void *wisp_store_data(const wisp_store_t *store) { return store->data; }

void wisp_store_delete(wisp_store_t *s) {
  if (!s) return;
  /* instances are blocks in s->arena (see instance_alloc), freed below */
  for (wisp_func_t *f = s->funcs, *next; f; f = next) {
    next = f->next_in_store;
    if (f->env_free) f->env_free(f->env);
    free(f); /* a host function's types are in the same block */
  }
  for (wisp_memory_t *m = s->memories, *next; m; m = next) {
    next = m->next_in_store;
    if (m->slot) wisp__memory_release_slot(m);
    else if (m->base) munmap(m->base, m->reserve);
    free(m);
  }
  for (wisp_table_t *t = s->tables, *next; t; t = next) {
    next = t->next_in_store;
    free(t->elems);
    free(t);
  }
  for (wisp_global_t *g = s->globals, *next; g; g = next) {
    next = g->next_in_store;
    free(g);
  }
  wisp__arena_free(&s->arena);
  free(s);
}

/* ---- memories ----------------------------------------------------------- */

static wisp_memory_t *memory_create(wisp_store_t *store, const wisp__limits_t *type) {
  uint64_t max = type->has_max ? type->max : 65536;
  if (max > 65536) max = 65536;
  if (store->limits.max_memory_bytes && max > store->limits.max_memory_bytes / WISP__PAGE)
    max = store->limits.max_memory_bytes / WISP__PAGE;
  if (type->min > max) return NULL;
  wisp_memory_t *mem = calloc(1, sizeof *mem);
  if (!mem) return NULL;
  void *base = mmap(NULL, WISP__MEM_RESERVE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (base == MAP_FAILED) {
    free(mem);
    return NULL;
  }
  mem->base = base;
  mem->reserve = WISP__MEM_RESERVE;
  mem->max_pages = max;
  mem->type = *type;
  if (type->min && mprotect(base, type->min * WISP__PAGE, PROT_READ | PROT_WRITE) != 0) {
    munmap(base, WISP__MEM_RESERVE);
    free(mem);
    return NULL;
  }
  mem->size = type->min * WISP__PAGE;
  mem->next_in_store = store->memories;
  store->memories = mem;
  return mem;
}

wisp_memory_t *wisp_memory_new(wisp_store_t *store, const wisp_limits_t *pages) {
  wisp__limits_t t = {pages->min, pages->max, pages->has_max};
  if (t.min > 65536 || (t.has_max && (t.max > 65536 || t.max < t.min))) return NULL;
  return memory_create(store, &t);
}

uint8_t *wisp_memory_data(wisp_memory_t *memory) { return memory->base; }
uint64_t wisp_memory_size(const wisp_memory_t *memory) { return memory->size; }

void wisp_memory_limits(const wisp_memory_t *memory, wisp_limits_t *out) {
  *out = (wisp_limits_t){memory->type.min, memory->type.max, memory->type.has_max};
}

int wisp__memory_grow(wisp_memory_t *mem, uint64_t delta, uint64_t *old_pages) {
  uint64_t old = mem->size / WISP__PAGE;
  *old_pages = old;
  if (delta == 0) return 0;
  if (delta > mem->max_pages || old + delta > mem->max_pages) return -1;
  /* never beyond the reservation (a pooled memory's max fits its slot; this is the backstop) */
  if ((old + delta) * WISP__PAGE > mem->reserve - WISP__PAGE) return -1;
  if (mprotect(mem->base + mem->size, delta * WISP__PAGE, PROT_READ | PROT_WRITE) != 0) return -1;
  mem->size += delta * WISP__PAGE;
  return 0;
}

int64_t wisp_memory_grow(wisp_memory_t *memory, uint64_t delta) {
  uint64_t old;
  if (wisp__memory_grow(memory, delta, &old) != 0) return -1;
  return (int64_t)old;
}

/* ---- tables ------------------------------------------------------------- */

#define WISP__TABLE_DEFAULT_MAX 10000000u /* elements, when neither module nor store sets one */

wisp_table_t *wisp__table_create(wisp_store_t *store, uint8_t elem, const wisp__limits_t *type, void *init) {
  uint64_t max = type->has_max ? type->max : UINT32_MAX;
  uint64_t cap = store->limits.max_table_elems ? store->limits.max_table_elems : WISP__TABLE_DEFAULT_MAX;
  if (max > cap) max = cap;
  if (type->min > max) return NULL;
  wisp_table_t *t = calloc(1, sizeof *t);
  if (!t) return NULL;
  t->elems = calloc(type->min ? type->min : 1, sizeof(void *));
  if (!t->elems) {
    free(t);
    return NULL;
  }
  for (uint64_t i = 0; i < type->min; i++) t->elems[i] = init;
  t->size = (uint32_t)type->min;
  t->max = max;
  t->elem = elem;
  t->type = *type;
  t->next_in_store = store->tables;
  store->tables = t;
  return t;
}

static void *val_ref(const wisp_val_t *v) {
  if (!v) return NULL;
  return v->kind == WISP_FUNCREF ? (void *)v->of.funcref : v->of.externref;
}

wisp_table_t *wisp_table_new(wisp_store_t *store, uint8_t elem_kind, const wisp_limits_t *limits,
                             const wisp_val_t *init) {
  wisp__limits_t t = {limits->min, limits->max, limits->has_max};
  if (t.min > UINT32_MAX || (t.has_max && (t.max > UINT32_MAX || t.max < t.min))) return NULL;
  return wisp__table_create(store, elem_kind, &t, val_ref(init));
}

uint32_t wisp_table_size(const wisp_table_t *table) { return table->size; }

static void ref_to_val(uint8_t kind, void *ref, wisp_val_t *out) {
  out->kind = kind;
  if (kind == WISP_FUNCREF) out->of.funcref = ref;
  else out->of.externref = ref;
}

int wisp_table_get(const wisp_table_t *table, uint32_t index, wisp_val_t *out) {
  if (index >= table->size) return WISP_ERR_ARG;
  ref_to_val(table->elem, table->elems[index], out);
  return 0;
}

int wisp_table_set(wisp_table_t *table, uint32_t index, const wisp_val_t *val) {
  if (index >= table->size || val->kind != table->elem) return WISP_ERR_ARG;
  table->elems[index] = val_ref(val);
  return 0;
}

void wisp_table_type(const wisp_table_t *table, wisp_externtype_t *out) {
  memset(out, 0, sizeof *out);
  out->kind = WISP_EXTERN_TABLE;
  out->table_elem = table->elem;
  out->limits = (wisp_limits_t){table->type.min, table->type.max, table->type.has_max};
}

int wisp__table_grow(wisp_table_t *t, uint64_t delta, void *init, uint32_t *old_size) {
  *old_size = t->size;
  if (delta == 0) return 0;
  if (delta > t->max || t->size + delta > t->max) return -1;
  uint64_t n = t->size + delta;
  void **grown = realloc(t->elems, n * sizeof(void *));
  if (!grown) return -1;
  for (uint64_t i = t->size; i < n; i++) grown[i] = init;
  t->elems = grown;
  t->size = (uint32_t)n;
  return 0;
}

/* ---- globals ------------------------------------------------------------ */

static wisp_global_t *global_create(wisp_store_t *store, uint8_t type, bool mutable_) {
  wisp_global_t *g = calloc(1, sizeof *g);
  if (!g) return NULL;
  g->type = type;
  g->mutable_ = mutable_;
  g->next_in_store = store->globals;
  store->globals = g;
  return g;
}

/* Fills a whole cell in one store (see interp.c on store forwarding). */
static void val_to_cell(const wisp_val_t *v, wisp__cell_t *c) {
  wisp__cell_t cell = {.u64 = 0};
  switch (v->kind) {
    case WISP_I32: cell.i32 = v->of.i32; break;
    case WISP_I64: cell.i64 = v->of.i64; break;
    case WISP_F32: cell.f32 = v->of.f32; break;
    case WISP_F64: cell.f64 = v->of.f64; break;
    case WISP_FUNCREF: cell.ref = v->of.funcref; break;
    case WISP_EXTERNREF: cell.ref = v->of.externref; break;
    default: break;
  }
  *c = cell;
}

static void cell_to_val(uint8_t kind, const wisp__cell_t *c, wisp_val_t *v) {
  memset(v, 0, sizeof *v);
  v->kind = kind;
  switch (kind) {
    case WISP_I32: v->of.i32 = c->i32; break;
    case WISP_I64: v->of.i64 = c->i64; break;
    case WISP_F32: v->of.f32 = c->f32; break;
    case WISP_F64: v->of.f64 = c->f64; break;
    case WISP_FUNCREF: v->of.funcref = c->ref; break;
    case WISP_EXTERNREF: v->of.externref = c->ref; break;
    default: break;
  }
}

void wisp__val_to_cell(const wisp_val_t *v, wisp__cell_t *c) { val_to_cell(v, c); }
void wisp__cell_to_val(uint8_t kind, const wisp__cell_t *c, wisp_val_t *v) { cell_to_val(kind, c, v); }

wisp_global_t *wisp_global_new(wisp_store_t *store, const wisp_val_t *val, bool mutable_) {
  wisp_global_t *g = global_create(store, val->kind, mutable_);
  if (g) val_to_cell(val, &g->val);
  return g;
}

void wisp_global_get(const wisp_global_t *global, wisp_val_t *out) { cell_to_val(global->type, &global->val, out); }

int wisp_global_set(wisp_global_t *global, const wisp_val_t *val) {
  if (!global->mutable_ || val->kind != global->type) return WISP_ERR_ARG;
  val_to_cell(val, &global->val);
  return 0;
}

void wisp_global_type(const wisp_global_t *global, wisp_externtype_t *out) {
  memset(out, 0, sizeof *out);
  out->kind = WISP_EXTERN_GLOBAL;
  out->global_type = global->type;
  out->global_mutable = global->mutable_;
}

/* ---- functions ---------------------------------------------------------- */

wisp_func_t *wisp_func_new_host(wisp_store_t *store, const wisp_functype_t *type, wisp_host_fn_t fn,
                                void *env, void (*env_free)(void *)) {
  uint32_t n = type->nparams + type->nresults;
  wisp_func_t *f = calloc(1, sizeof *f + n); /* one block: the func, then its types */
  if (!f) return NULL;
  uint8_t *types = (uint8_t *)(f + 1);
  if (type->nparams) memcpy(types, type->params, type->nparams);
  if (type->nresults) memcpy(types + type->nparams, type->results, type->nresults);
  f->canon = wisp__engine_intern_type(store->engine, type->nparams, type->nresults, types);
  f->nparams = type->nparams;
  f->nresults = type->nresults;
  f->types = types;
  f->pubtype = (wisp_functype_t){f->nparams, f->nresults, types, types + f->nparams};
  f->host = fn;
  f->env = env;
  f->env_free = env_free;
  f->next_in_store = store->funcs;
  store->funcs = f;
  return f;
}

wisp_func_t *wisp__func_new_host_canon(wisp_store_t *store, uint32_t canon, const wisp_functype_t *type,
                                       wisp_host_fn_t fn, void *env) {
  uint32_t n = type->nparams + type->nresults;
  wisp_func_t *f = wisp__arena_alloc(&store->arena, sizeof *f + n); /* zeroed */
  if (!f) return NULL;
  uint8_t *types = (uint8_t *)(f + 1);
  if (type->nparams) memcpy(types, type->params, type->nparams);
  if (type->nresults) memcpy(types + type->nparams, type->results, type->nresults);
  f->canon = canon;
  f->nparams = type->nparams;
  f->nresults = type->nresults;
  f->types = types;
  f->pubtype = (wisp_functype_t){f->nparams, f->nresults, types, types + f->nparams};
  f->host = fn;
  f->env = env;
  return f; /* not in store->funcs: the arena frees it */
}

const wisp_functype_t *wisp_func_type(const wisp_func_t *func) { return &func->pubtype; }

/* ---- import matching ---------------------------------------------------- */

static bool limits_match(const wisp__limits_t *actual, const wisp__limits_t *expected) {
  if (actual->min < expected->min) return false;
  if (expected->has_max) {
    if (!actual->has_max || actual->max > expected->max) return false;
  }
  return true;
}

static int match_import(const wisp_module_t *m, uint32_t i, const wisp_extern_t *ext, wisp_error_t *err) {
  const wisp__import_t *im = &m->imports[i];
  static const char *kinds[] = {"function", "table", "memory", "global"};
  if (!ext || ext->kind != im->kind)
    return wisp__error(err, WISP_ERR_LINK, 0, "import %u \"%.*s\" \"%.*s\": incompatible import type: expected a %s",
                       i, (int)im->module_len, im->module, (int)im->name_len, im->name, kinds[im->kind & 3]);
  const char *why = NULL;
  switch (im->kind) {
    case WISP_EXTERN_FUNC:
      if (ext->of.func->canon != m->types[im->u.type_index].canon) why = "function type mismatch";
      break;
    case WISP_EXTERN_TABLE: {
      wisp_table_t *t = ext->of.table;
      wisp__limits_t actual = {t->size, t->type.max, t->type.has_max};
      if (t->elem != im->u.table.elem) why = "table element type mismatch";
      else if (!limits_match(&actual, &im->u.table.limits)) why = "table limits mismatch";
      break;
    }
    case WISP_EXTERN_MEMORY: {
      wisp_memory_t *mem = ext->of.memory;
      wisp__limits_t actual = {mem->size / WISP__PAGE, mem->type.max, mem->type.has_max};
      if (!limits_match(&actual, &im->u.memory)) why = "memory limits mismatch";
      break;
    }
    case WISP_EXTERN_GLOBAL:
      if (ext->of.global->type != im->u.global.type) why = "global type mismatch";
      else if (ext->of.global->mutable_ != im->u.global.mutable_) why = "global mutability mismatch";
      break;
  }
  if (why)
    return wisp__error(err, WISP_ERR_LINK, 0, "import %u \"%.*s\" \"%.*s\": incompatible import type: %s", i,
                       (int)im->module_len, im->module, (int)im->name_len, im->name, why);
  return 0;
}

/* ---- instantiation ------------------------------------------------------ */

/* Evaluates a constant expression in the context of `inst`. */
void wisp__eval_const(const wisp_instance_t *inst, const wisp__constexpr_t *e, wisp__cell_t *out) {
  out->u64 = 0;
  switch (e->op) {
    case WISP_OP_I32_CONST: out->i32 = e->u.i32; break;
    case WISP_OP_I64_CONST: out->i64 = e->u.i64; break;
    case WISP_OP_F32_CONST: out->u32 = e->u.f32_bits; break;
    case WISP_OP_F64_CONST: out->u64 = e->u.f64_bits; break;
    case WISP_OP_REF_NULL: out->ref = NULL; break;
    case WISP_OP_REF_FUNC: out->ref = inst->funcs[e->u.index]; break;
    case WISP_OP_GLOBAL_GET: *out = inst->globals[e->u.index]->val; break;
    default: break; /* v128.const: SIMD modules are refused before this */
  }
}

static wisp_trap_t *trap_at(wisp_trap_kind_t kind, const char *msg) { return wisp__trap_new(kind, msg); }

static wisp_trap_t *init_elem(wisp_instance_t *inst, uint32_t s) {
  const wisp__elem_t *seg = &inst->module->elems[s];
  wisp__cell_t off;
  wisp__eval_const(inst, &seg->offset, &off);
  wisp_table_t *t = inst->tables[seg->table];
  if ((uint64_t)off.u32 + seg->count > t->size) return trap_at(WISP_TRAP_TABLE_OOB, "out of bounds table access");
  for (uint32_t i = 0; i < seg->count; i++) {
    wisp__cell_t v;
    wisp__eval_const(inst, &seg->items[i], &v);
    t->elems[off.u32 + i] = v.ref;
  }
  return NULL;
}

static wisp_trap_t *init_data(wisp_instance_t *inst, uint32_t s) {
  const wisp__data_t *seg = &inst->module->datas[s];
  wisp__cell_t off;
  wisp__eval_const(inst, &seg->offset, &off);
  wisp_memory_t *mem = inst->memories[seg->memory];
  if ((uint64_t)off.u32 + seg->len > mem->size) return trap_at(WISP_TRAP_MEMORY_OOB, "out of bounds memory access");
  if (seg->len) memcpy(mem->base + off.u32, seg->bytes, seg->len);
  return NULL;
}

/* Hands a trap from instantiation to the caller (or frees it). */
static int instantiate_trapped(wisp_trap_t **out, wisp_trap_t *t) {
  if (out) *out = t;
  else wisp_trap_delete(t);
  return WISP_ERR_TRAP;
}

/* Bump-allocates `n` objects of `size` bytes from a block being carved. */
static void *carve(uint8_t **cursor, size_t n, size_t size) {
  void *p = *cursor;
  *cursor += (n * size + 15) & ~(size_t)15;
  return p;
}

/* Checks the imports and allocates an instance in ONE block: the index-space
 * arrays, the defined functions and globals, and the dropped-segment flags.
 * Fills imported entries and the defined functions; tables, memories and
 * defined globals' values are the caller's. The instance is on the store's
 * list (owned by it) once this returns 0. */
int wisp__instance_alloc(wisp_store_t *store, const wisp_module_t *m, const wisp_extern_t *imports,
                         size_t nimports, wisp_instance_t **out, wisp_error_t *err) {
  if (nimports < m->nimports)
    return wisp__error(err, WISP_ERR_LINK, 0, "module needs %u imports, %zu given", m->nimports, nimports);
  for (uint32_t i = 0; i < m->nimports; i++) {
    int rc = match_import(m, i, &imports[i], err);
    if (rc) return rc;
  }
  uint32_t ndef_funcs = m->nfuncs - m->nfunc_imports, ndef_globals = m->nglobals - m->nglobal_imports;
  size_t size = 16 * 9 + sizeof(wisp_instance_t) + (size_t)(m->nfuncs + m->ntables + m->nmemories + m->nglobals) * 8 +
                (size_t)ndef_funcs * sizeof(wisp_func_t) + (size_t)ndef_globals * sizeof(wisp_global_t) +
                m->nelems + m->ndatas;
  uint8_t *block = wisp__arena_alloc(&store->arena, size), *cursor = block; /* zeroed; freed with the store */
  if (!block) return wisp__error(err, WISP_ERR_NOMEM, 0, "out of memory allocating an instance");
  wisp_instance_t *inst = carve(&cursor, 1, sizeof *inst);
  inst->store = store;
  inst->module = m;
  inst->funcs = carve(&cursor, m->nfuncs, sizeof(void *));
  inst->tables = carve(&cursor, m->ntables, sizeof(void *));
  inst->memories = carve(&cursor, m->nmemories, sizeof(void *));
  inst->globals = carve(&cursor, m->nglobals, sizeof(void *));
  wisp_func_t *funcs = carve(&cursor, ndef_funcs, sizeof(wisp_func_t));
  wisp_global_t *globals = carve(&cursor, ndef_globals, sizeof(wisp_global_t));
  inst->elem_dropped = carve(&cursor, m->nelems, 1);
  inst->data_dropped = carve(&cursor, m->ndatas, 1);
  inst->next_in_store = store->instances;
  store->instances = inst;

  uint32_t fi = 0, ti = 0, mi = 0, gi = 0;
  for (uint32_t i = 0; i < m->nimports; i++) {
    const wisp_extern_t *e = &imports[i];
    switch (e->kind) {
      case WISP_EXTERN_FUNC: inst->funcs[fi++] = e->of.func; break;
      case WISP_EXTERN_TABLE: inst->tables[ti++] = e->of.table; break;
      case WISP_EXTERN_MEMORY: inst->memories[mi++] = e->of.memory; break;
      case WISP_EXTERN_GLOBAL: inst->globals[gi++] = e->of.global; break;
    }
  }
  for (uint32_t k = 0; fi < m->nfuncs; fi++, k++) {
    wisp_func_t *f = &funcs[k];
    const wisp__functype_t *ft = wisp__func_type(m, fi);
    f->canon = ft->canon;
    f->nparams = ft->nparams;
    f->nresults = ft->nresults;
    f->types = ft->types;
    f->pubtype = (wisp_functype_t){f->nparams, f->nresults, ft->types, ft->types + f->nparams};
    f->inst = inst;
    f->index = fi;
    f->def = &m->funcs[fi];
    inst->funcs[fi] = f;
  }
  for (uint32_t k = 0; gi < m->nglobals; gi++, k++) {
    globals[k].type = m->globals[gi].type.type;
    globals[k].mutable_ = m->globals[gi].type.mutable_;
    inst->globals[gi] = &globals[k];
  }
  *out = inst;
  return 0;
}

/* Creates the module's own tables and memories in `inst`. */
static int create_tables_and_memories(wisp_instance_t *inst, wisp_error_t *err) {
  const wisp_module_t *m = inst->module;
  wisp_store_t *store = inst->store;
  for (uint32_t ti = m->ntable_imports; ti < m->ntables; ti++)
    if (!(inst->tables[ti] = wisp__table_create(store, m->tables[ti].elem, &m->tables[ti].limits, NULL)))
      return wisp__error(err, WISP_ERR_LIMIT, 0, "table %u: cannot allocate %llu elements (limit %llu)", ti,
                         (unsigned long long)m->tables[ti].limits.min,
                         (unsigned long long)(store->limits.max_table_elems ? store->limits.max_table_elems
                                                                            : WISP__TABLE_DEFAULT_MAX));
  for (uint32_t mi = m->nmemory_imports; mi < m->nmemories; mi++)
    if (!(inst->memories[mi] = memory_create(store, &m->memories[mi])))
      return wisp__error(err, WISP_ERR_LIMIT, 0, "memory %u: cannot allocate %llu pages (limit %llu bytes)", mi,
                         (unsigned long long)m->memories[mi].min,
                         (unsigned long long)store->limits.max_memory_bytes);
  return 0;
}

int wisp_instance_new(wisp_store_t *store, wisp_exec_t *exec, const wisp_module_t *m, const wisp_extern_t *imports,
                      size_t nimports, wisp_instance_t **out, wisp_trap_t **trap, wisp_error_t *err) {
  *out = NULL;
  if (trap) *trap = NULL;
  wisp_instance_t *inst;
  int rc = wisp__instance_alloc(store, m, imports, nimports, &inst, err);
  if (rc == 0) rc = create_tables_and_memories(inst, err);
  if (rc) return rc;
  for (uint32_t gi = m->nglobal_imports; gi < m->nglobals; gi++)
    wisp__eval_const(inst, &m->globals[gi].init, &inst->globals[gi]->val);
  *out = inst;

  /* Segments, in order; a failure keeps earlier writes (the spec's semantics). */
  for (uint32_t s = 0; s < m->nelems; s++) {
    const wisp__elem_t *seg = &m->elems[s];
    if (seg->mode == WISP_SEG_ACTIVE) {
      wisp_trap_t *t = init_elem(inst, s);
      if (t) return instantiate_trapped(trap, t);
    }
    if (seg->mode != WISP_SEG_PASSIVE) inst->elem_dropped[s] = 1;
  }
  for (uint32_t s = 0; s < m->ndatas; s++) {
    if (m->datas[s].mode != WISP_SEG_ACTIVE) continue;
    wisp_trap_t *t = init_data(inst, s);
    if (t) return instantiate_trapped(trap, t);
    inst->data_dropped[s] = 1;
  }

  if (m->has_start) {
    wisp_exec_t *own = NULL;
    if (!exec) {
      own = exec = wisp_exec_new(store, NULL);
      if (!exec) return wisp__error(err, WISP_ERR_NOMEM, 0, "out of memory running the start function");
    }
    wisp_status_t st = wisp_exec_call(exec, inst->funcs[m->start], NULL, 0, NULL, 0);
    wisp_trap_t *t = NULL;
    if (st == WISP_TRAPPED) {
      t = wisp_exec_take_trap(exec);
    } else if (st != WISP_DONE) {
      wisp_exec_abort(exec);
      t = wisp_exec_take_trap(exec);
      wisp_trap_delete(t);
      t = wisp__trap_new(st == WISP_OUT_OF_FUEL ? WISP_TRAP_ABORTED : WISP_TRAP_HOST,
                         st == WISP_OUT_OF_FUEL ? "start function ran out of fuel"
                                                : "start function suspended: not allowed during instantiation");
    }
    wisp_exec_delete(own);
    if (t) return instantiate_trapped(trap, t);
  }
  return 0;
}

const wisp_module_t *wisp_instance_module(const wisp_instance_t *instance) { return instance->module; }

void wisp_instance_export_at(wisp_instance_t *inst, uint32_t i, wisp_extern_t *out) {
  const wisp__export_t *ex = &inst->module->exports[i];
  out->kind = ex->kind;
  switch (ex->kind) {
    case WISP_EXTERN_FUNC: out->of.func = inst->funcs[ex->index]; break;
    case WISP_EXTERN_TABLE: out->of.table = inst->tables[ex->index]; break;
    case WISP_EXTERN_MEMORY: out->of.memory = inst->memories[ex->index]; break;
    case WISP_EXTERN_GLOBAL: out->of.global = inst->globals[ex->index]; break;
  }
}

int wisp_instance_export(wisp_instance_t *inst, const char *name, size_t len, wisp_extern_t *out) {
  const wisp_module_t *m = inst->module;
  for (uint32_t i = 0; i < m->nexports; i++) {
    if (m->exports[i].name_len == len && memcmp(m->exports[i].name, name, len) == 0) {
      wisp_instance_export_at(inst, i, out);
      return 0;
    }
  }
  return WISP_ERR_ARG;
}

/* ---- linker ------------------------------------------------------------- */

typedef struct linker_entry {
  char *module, *name;
  size_t module_len, name_len;
  wisp_extern_t ext;
} linker_entry_t;

struct wisp_linker {
  wisp_store_t *store;
  linker_entry_t *entries;
  size_t n, cap;
  uint32_t *buckets;  /* open addressing over entries: index + 1, 0 = empty */
  size_t nbuckets;    /* a power of two, at least twice n */
};

static uint64_t name_hash(const char *module, size_t mlen, const char *name, size_t nlen) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < mlen; i++) h = (h ^ (uint8_t)module[i]) * 0x100000001b3ull;
  h = (h ^ 0xFF) * 0x100000001b3ull; /* separator: ("ab","c") differs from ("a","bc") */
  for (size_t i = 0; i < nlen; i++) h = (h ^ (uint8_t)name[i]) * 0x100000001b3ull;
  return h;
}

wisp_linker_t *wisp_linker_new(wisp_store_t *store) {
  wisp_linker_t *l = calloc(1, sizeof *l);
  if (l) l->store = store;
  return l;
}

void wisp_linker_delete(wisp_linker_t *l) {
  if (!l) return;
  free(l->buckets);
  for (size_t i = 0; i < l->n; i++) {
    free(l->entries[i].module);
    free(l->entries[i].name);
  }
  free(l->entries);
  free(l);
}

static linker_entry_t *linker_find(wisp_linker_t *l, const char *module, size_t mlen, const char *name,
                                   size_t nlen) {
  if (!l->nbuckets) return NULL;
  for (size_t i = name_hash(module, mlen, name, nlen) & (l->nbuckets - 1); l->buckets[i];
       i = (i + 1) & (l->nbuckets - 1)) {
    linker_entry_t *e = &l->entries[l->buckets[i] - 1];
    if (e->name_len == nlen && e->module_len == mlen && memcmp(e->name, name, nlen) == 0 &&
        memcmp(e->module, module, mlen) == 0)
      return e;
  }
  return NULL;
}

static void linker_index(wisp_linker_t *l, size_t entry) {
  linker_entry_t *e = &l->entries[entry];
  size_t i = name_hash(e->module, e->module_len, e->name, e->name_len) & (l->nbuckets - 1);
  while (l->buckets[i]) i = (i + 1) & (l->nbuckets - 1);
  l->buckets[i] = (uint32_t)entry + 1;
}

static bool linker_rehash(wisp_linker_t *l, size_t nbuckets) {
  uint32_t *b = calloc(nbuckets, sizeof *b);
  if (!b) return false;
  free(l->buckets);
  l->buckets = b;
  l->nbuckets = nbuckets;
  for (size_t k = 0; k < l->n; k++) linker_index(l, k);
  return true;
}

/* A NUL-terminated copy of a name that is not NUL-terminated (module bytes). */
static char *copy_name(const char *s, size_t len) {
  char *c = malloc(len + 1);
  if (!c) return NULL;
  memcpy(c, s, len);
  c[len] = 0;
  return c;
}

static int linker_put(wisp_linker_t *l, const char *module, size_t mlen, const char *name, size_t nlen,
                      const wisp_extern_t *ext) {
  linker_entry_t *e = linker_find(l, module, mlen, name, nlen);
  if (e) {
    e->ext = *ext;
    return 0;
  }
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 64;
    linker_entry_t *grown = realloc(l->entries, cap * sizeof *grown);
    if (!grown) return WISP_ERR_NOMEM;
    l->entries = grown;
    l->cap = cap;
  }
  if ((l->n + 1) * 2 > l->nbuckets && !linker_rehash(l, l->nbuckets ? l->nbuckets * 2 : 128)) return WISP_ERR_NOMEM;
  char *mc = copy_name(module, mlen), *nc = copy_name(name, nlen);
  if (!mc || !nc) {
    free(mc);
    free(nc);
    return WISP_ERR_NOMEM;
  }
  l->entries[l->n] = (linker_entry_t){mc, nc, mlen, nlen, *ext};
  linker_index(l, l->n++);
  return 0;
}

int wisp_linker_define(wisp_linker_t *l, const char *module, const char *name, const wisp_extern_t *ext) {
  return linker_put(l, module, strlen(module), name, strlen(name), ext);
}

int wisp_linker_define_func(wisp_linker_t *l, const char *module, const char *name, const wisp_functype_t *type,
                            wisp_host_fn_t fn, void *env) {
  wisp_func_t *f = wisp_func_new_host(l->store, type, fn, env, NULL);
  if (!f) return WISP_ERR_NOMEM;
  wisp_extern_t ext = {.kind = WISP_EXTERN_FUNC, .of.func = f};
  return wisp_linker_define(l, module, name, &ext);
}

int wisp_linker_define_instance(wisp_linker_t *l, const char *module, wisp_instance_t *inst) {
  const wisp_module_t *m = inst->module;
  for (uint32_t i = 0; i < m->nexports; i++) {
    wisp_extern_t ext;
    wisp_instance_export_at(inst, i, &ext);
    int rc = linker_put(l, module, strlen(module), m->exports[i].name, m->exports[i].name_len, &ext);
    if (rc) return rc;
  }
  return 0;
}

int wisp_linker_resolve(wisp_linker_t *l, const wisp_module_t *m, wisp_extern_t *imports, wisp_error_t *err) {
  for (uint32_t i = 0; i < m->nimports; i++) {
    const wisp__import_t *im = &m->imports[i];
    linker_entry_t *e = linker_find(l, im->module, im->module_len, im->name, im->name_len);
    if (!e)
      return wisp__error(err, WISP_ERR_LINK, 0, "unknown import: \"%.*s\" \"%.*s\" is not defined",
                         (int)im->module_len, im->module, (int)im->name_len, im->name);
    int rc = match_import(m, i, &e->ext, err);
    if (rc) return rc;
    imports[i] = e->ext;
  }
  return 0;
}

/* Resolves `m`'s imports through the linker into a new array (caller frees). */
static int linker_resolve(wisp_linker_t *l, const wisp_module_t *m, wisp_extern_t **out, wisp_error_t *err) {
  wisp_extern_t *imports = calloc(m->nimports + 1, sizeof *imports);
  if (!imports) return wisp__error(err, WISP_ERR_NOMEM, 0, "out of memory");
  int rc = wisp_linker_resolve(l, m, imports, err);
  if (rc) {
    free(imports);
    return rc;
  }
  *out = imports;
  return 0;
}

int wisp_linker_instantiate(wisp_linker_t *l, wisp_exec_t *exec, const wisp_module_t *m, wisp_instance_t **out,
                            wisp_trap_t **trap, wisp_error_t *err) {
  wisp_extern_t *imports = NULL;
  int rc = linker_resolve(l, m, &imports, err);
  if (rc) return rc;
  rc = wisp_instance_new(l->store, exec, m, imports, m->nimports, out, trap, err);
  free(imports);
  return rc;
}

int wisp_linker_instantiate_snapshot(wisp_linker_t *l, const wisp_snapshot_t *snap, wisp_instance_t **out,
                                     wisp_error_t *err) {
  const wisp_module_t *m = wisp_snapshot_module(snap);
  wisp_extern_t *imports = NULL;
  int rc = linker_resolve(l, m, &imports, err);
  if (rc) return rc;
  rc = wisp_instance_from_snapshot(l->store, snap, imports, m->nimports, out, err);
  free(imports);
  return rc;
}
