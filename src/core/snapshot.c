/*
 * snapshot.c: instance snapshots and pooled memory slots.
 *
 * A snapshot is the state of an instance after its initialisation (start
 * function, pre-init export): defined globals, defined tables (as function
 * indices), dropped-segment flags and the contents of its memory. The memory
 * lives in a memfd; an instance made from the snapshot maps it copy-on-write
 * (MAP_PRIVATE), so instantiation copies nothing and only pages a request
 * writes ever get private copies.
 *
 * A pool keeps memory reservations ("slots") for reuse. A slot remembers which
 * snapshot is mapped in it; releasing it (when the store is deleted) drops the
 * private pages with MADV_DONTNEED, which makes the mapping show the
 * snapshot's contents again, and returns pages grown beyond the snapshot to
 * PROT_NONE. An idle slot thus holds no private memory, whatever the module's
 * memory size, and the next request cannot see what the previous one wrote.
 *
 * File format (little-endian), version 1:
 *   "WISPSNAP" u32 version u32 flags u64 module_hash u64 module_len
 *   u32 nglobals, nglobals x u64
 *   u32 ntables, per table: u32 size, size x u32 (function index + 1, 0 = null)
 *   u32 nelems, nelems x u8 dropped; u32 ndatas, ndatas x u8 dropped
 *   u8 has_memory, u64 bytes, u32 npages, npages x (u32 page index, 4096 bytes)
 *   u64 checksum (FNV-1a 64 over everything before it)
 * Only non-zero 4 KiB pages are stored.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "engine.h"

#define SNAP_MAGIC "WISPSNAP"
#define SNAP_VERSION WISP_SNAPSHOT_FORMAT_VERSION
#define SNAP_PAGE 4096u

typedef struct snap_table {
  uint32_t size;
  uint32_t *elems; /* function index + 1, 0 = null */
} snap_table_t;

struct wisp_snapshot {
  const wisp_module_t *module;
  uint64_t module_hash;
  uint32_t id;               /* process-unique, for slot reuse */
  bool linked;               /* one core instance of a component (csnap.c): function
                                references are the component's codes, filled in by
                                wisp__snapshot_link_refs; imported memories and
                                tables belong to the instances that define them */
  uint32_t nglobals;         /* defined globals */
  wisp__cell_t *globals;
  uint32_t ntables;          /* defined tables */
  snap_table_t *tables;
  uint8_t *elem_dropped, *data_dropped;
  bool has_memory;
  uint64_t mem_bytes;
  int memfd;
};

typedef struct pool_slot {
  uint8_t *base;             /* a reservation of pool->reserve bytes, or NULL until first use */
  uint32_t snap_id;          /* snapshot mapped at base (0 = none) */
  uint64_t mapped;           /* bytes of the snapshot mapping */
  struct pool_slot *next_free;
} pool_slot_t;

struct wisp_pool {
  pthread_mutex_t lock;
  uint32_t nslots;
  uint64_t slot_bytes;       /* largest memory a slot holds */
  size_t reserve;            /* address space per slot: WISP__MEM_RESERVE, or slot_bytes + a guard page */
  pool_slot_t *slots;
  pool_slot_t *free;
  uint32_t in_use;           /* under lock */
  _Atomic uint64_t pooled, fallback_fit, fallback_busy;
};

static uint64_t fnv1a(uint64_t h, const void *data, size_t len) {
  const uint8_t *p = data;
  for (size_t i = 0; i < len; i++) {
    h ^= p[i];
    h *= 0x100000001b3ull;
  }
  return h;
}
#define FNV_INIT 0xcbf29ce484222325ull

static uint32_t next_snapshot_id(void) {
  static _Atomic uint32_t counter;
  return ++counter;
}

/* ---- capture ------------------------------------------------------------ */

/* A function reference as "index + 1" in inst's function space, 0 for null. */
static int encode_funcref(const wisp_instance_t *inst, const wisp_func_t *f, uint32_t *out) {
  if (!f) {
    *out = 0;
    return 0;
  }
  if (f->inst == inst) {
    *out = f->index + 1;
    return 0;
  }
  for (uint32_t i = 0; i < inst->module->nfunc_imports; i++)
    if (inst->funcs[i] == f) {
      *out = i + 1;
      return 0;
    }
  return -1;
}

static bool page_is_zero(const uint8_t *p) {
  static const uint8_t zero[SNAP_PAGE];
  return memcmp(p, zero, SNAP_PAGE) == 0;
}

static int capture_memory(wisp_snapshot_t *snap, const wisp_memory_t *mem, wisp_error_t *err) {
  snap->has_memory = true;
  snap->mem_bytes = mem->size;
  snap->memfd = memfd_create("wisp-snapshot", MFD_CLOEXEC);
  if (snap->memfd < 0) return wisp__error(err, WISP_ERR_NOMEM, 0, "snapshot: memfd_create: %s", strerror(errno));
  if (ftruncate(snap->memfd, (off_t)mem->size) != 0)
    return wisp__error(err, WISP_ERR_NOMEM, 0, "snapshot: sizing the memory image: %s", strerror(errno));
  for (uint64_t off = 0; off < mem->size; off += SNAP_PAGE) {
    if (page_is_zero(mem->base + off)) continue;
    if (pwrite(snap->memfd, mem->base + off, SNAP_PAGE, (off_t)off) != SNAP_PAGE)
      return wisp__error(err, WISP_ERR_NOMEM, 0, "snapshot: writing the memory image: %s", strerror(errno));
  }
  return 0;
}

/* A function reference as a code: the component's (enc) or "index + 1" in
 * inst's function space. */
static int encode_ref(const wisp_instance_t *inst, wisp__ref_encode_fn_t enc, void *env, const wisp_func_t *f,
                      uint32_t *out) {
  if (!f || !enc) return encode_funcref(inst, f, out);
  return enc(env, f, out);
}

static int capture(wisp_instance_t *inst, wisp__ref_encode_fn_t enc, void *env, wisp_snapshot_t **out,
                   wisp_error_t *err) {
  const wisp_module_t *m = inst->module;
  *out = NULL;
  if (!enc && (m->nmemory_imports || m->ntable_imports))
    return wisp__error(err, WISP_ERR_ARG, 0,
                       "snapshot: the module imports a %s; only module-defined memories and tables can be captured",
                       m->nmemory_imports ? "memory" : "table");
  if (m->nmemories - m->nmemory_imports > 1)
    return wisp__error(err, WISP_ERR_UNSUPPORTED, 0, "snapshot: the module defines %u memories; one is supported",
                       m->nmemories - m->nmemory_imports);
  wisp_snapshot_t *snap = calloc(1, sizeof *snap);
  if (!snap) return wisp__error(err, WISP_ERR_NOMEM, 0, "out of memory");
  snap->memfd = -1;
  snap->module = m;
  snap->linked = enc != NULL;
  snap->module_hash = fnv1a(FNV_INIT, m->bytes, m->len);
  snap->id = next_snapshot_id();
  snap->nglobals = m->nglobals - m->nglobal_imports;
  snap->ntables = m->ntables - m->ntable_imports;
  snap->globals = calloc(snap->nglobals + 1, sizeof(wisp__cell_t));
  snap->tables = calloc(snap->ntables + 1, sizeof(snap_table_t));
  snap->elem_dropped = calloc(m->nelems + 1, 1);
  snap->data_dropped = calloc(m->ndatas + 1, 1);
  int rc = 0;
  if (!snap->globals || !snap->tables || !snap->elem_dropped || !snap->data_dropped) {
    rc = wisp__error(err, WISP_ERR_NOMEM, 0, "out of memory");
    goto fail;
  }
  for (uint32_t g = 0; g < snap->nglobals; g++) {
    const wisp_global_t *gl = inst->globals[m->nglobal_imports + g];
    snap->globals[g] = gl->val;
    if (gl->type == WISP_FUNCREF) {
      uint32_t idx;
      if (encode_ref(inst, enc, env, gl->val.ref, &idx) != 0) {
        rc = wisp__error(err, WISP_ERR_ARG, 0, "snapshot: global %u holds a function of another instance",
                         m->nglobal_imports + g);
        goto fail;
      }
      snap->globals[g].u64 = idx;
    } else if (gl->type == WISP_EXTERNREF && gl->val.ref) {
      rc = wisp__error(err, WISP_ERR_ARG, 0, "snapshot: global %u holds a host reference", m->nglobal_imports + g);
      goto fail;
    }
  }
  for (uint32_t t = 0; t < snap->ntables; t++) {
    const wisp_table_t *table = inst->tables[m->ntable_imports + t];
    snap->tables[t].size = table->size;
    snap->tables[t].elems = calloc(table->size + 1, sizeof(uint32_t));
    if (!snap->tables[t].elems) {
      rc = wisp__error(err, WISP_ERR_NOMEM, 0, "out of memory");
      goto fail;
    }
    for (uint32_t i = 0; i < table->size; i++) {
      bool bad = table->elem == WISP_EXTERNREF
                     ? table->elems[i] != NULL
                     : encode_ref(inst, enc, env, table->elems[i], &snap->tables[t].elems[i]) != 0;
      if (bad) {
        rc = wisp__error(err, WISP_ERR_ARG, 0, "snapshot: table %u element %u cannot be captured (%s)",
                         m->ntable_imports + t, i,
                         table->elem == WISP_EXTERNREF ? "a host reference" : "a function of another instance");
        goto fail;
      }
    }
  }
  memcpy(snap->elem_dropped, inst->elem_dropped, m->nelems);
  memcpy(snap->data_dropped, inst->data_dropped, m->ndatas);
  if (m->nmemories > m->nmemory_imports &&
      (rc = capture_memory(snap, inst->memories[m->nmemory_imports], err)) != 0)
    goto fail;
  *out = snap;
  return 0;
fail:
  wisp_snapshot_delete(snap);
  return rc;
}

int wisp_snapshot_new(wisp_instance_t *inst, wisp_snapshot_t **out, wisp_error_t *err) {
  return capture(inst, NULL, NULL, out, err);
}

int wisp__snapshot_capture_linked(wisp_instance_t *inst, wisp__ref_encode_fn_t enc, void *env, wisp_snapshot_t **out,
                                  wisp_error_t *err) {
  return capture(inst, enc, env, out, err);
}

void wisp_snapshot_delete(wisp_snapshot_t *snap) {
  if (!snap) return;
  for (uint32_t t = 0; snap->tables && t < snap->ntables; t++) free(snap->tables[t].elems);
  free(snap->tables);
  free(snap->globals);
  free(snap->elem_dropped);
  free(snap->data_dropped);
  if (snap->memfd >= 0) close(snap->memfd);
  free(snap);
}

const wisp_module_t *wisp_snapshot_module(const wisp_snapshot_t *snap) { return snap->module; }

uint64_t wisp_snapshot_memory_size(const wisp_snapshot_t *snap) { return snap->has_memory ? snap->mem_bytes : 0; }

/* ---- pools -------------------------------------------------------------- */

uint64_t wisp_pool_slot_bytes(uint64_t bytes) {
  uint64_t full = (uint64_t)WISP__MEM_RESERVE - WISP__PAGE; /* 8 GiB: any 32-bit address plus offset */
  if (bytes == 0 || bytes >= full) return full;
  return (bytes + WISP__PAGE - 1) / WISP__PAGE * WISP__PAGE;
}

wisp_pool_t *wisp_pool_new_sized(uint32_t slots, uint64_t slot_bytes) {
  wisp_pool_t *pool = calloc(1, sizeof *pool);
  if (!pool) return NULL;
  pool->slots = calloc(slots ? slots : 1, sizeof(pool_slot_t));
  if (!pool->slots) {
    free(pool);
    return NULL;
  }
  pthread_mutex_init(&pool->lock, NULL);
  pool->nslots = slots;
  pool->slot_bytes = wisp_pool_slot_bytes(slot_bytes);
  pool->reserve = pool->slot_bytes + WISP__PAGE >= WISP__MEM_RESERVE ? WISP__MEM_RESERVE
                                                                    : (size_t)pool->slot_bytes + WISP__PAGE;
  for (uint32_t i = slots; i-- > 0;) {
    pool->slots[i].next_free = pool->free;
    pool->free = &pool->slots[i];
  }
  return pool;
}

wisp_pool_t *wisp_pool_new(uint32_t slots) { return wisp_pool_new_sized(slots, 0); }

void wisp_pool_delete(wisp_pool_t *pool) {
  if (!pool) return;
  for (uint32_t i = 0; i < pool->nslots; i++)
    if (pool->slots[i].base) munmap(pool->slots[i].base, pool->reserve);
  pthread_mutex_destroy(&pool->lock);
  free(pool->slots);
  free(pool);
}

void wisp_pool_stats(wisp_pool_t *pool, wisp_pool_stats_t *out) {
  pthread_mutex_lock(&pool->lock);
  out->in_use = pool->in_use;
  pthread_mutex_unlock(&pool->lock);
  out->slots = pool->nslots;
  out->slot_bytes = pool->slot_bytes;
  out->reserve_bytes = pool->reserve;
  out->pooled = pool->pooled;
  out->fallback_fit = pool->fallback_fit;
  out->fallback_busy = pool->fallback_busy;
}

uint32_t wisp_store_pool_fallbacks(const wisp_store_t *store) { return store->pool_fallbacks; }

void wisp_store_set_pool(wisp_store_t *store, wisp_pool_t *pool) { store->pool = pool; }

static pool_slot_t *pool_take(wisp_pool_t *pool) {
  pthread_mutex_lock(&pool->lock);
  pool_slot_t *slot = pool->free;
  if (slot) {
    pool->free = slot->next_free;
    pool->in_use++;
  }
  pthread_mutex_unlock(&pool->lock);
  return slot;
}

static void pool_put(wisp_pool_t *pool, pool_slot_t *slot) {
  pthread_mutex_lock(&pool->lock);
  slot->next_free = pool->free;
  pool->free = slot;
  pool->in_use--;
  pthread_mutex_unlock(&pool->lock);
}

/* Maps the snapshot's memory copy-on-write at base (replacing what was there). */
static int map_image(uint8_t *base, uint64_t old_mapped, const wisp_snapshot_t *snap) {
  if (old_mapped > snap->mem_bytes &&
      mmap(base + snap->mem_bytes, old_mapped - snap->mem_bytes, PROT_NONE,
           MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0) == MAP_FAILED)
    return -1;
  if (snap->mem_bytes &&
      mmap(base, snap->mem_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, snap->memfd, 0) == MAP_FAILED)
    return -1;
  return 0;
}

/* Called by wisp_store_delete for a memory that came from a pool slot:
 * forget the request's writes and growth, keep the mapping for reuse. */
void wisp__memory_release_slot(wisp_memory_t *mem) {
  pool_slot_t *slot = mem->slot;
  bool ok = true;
  if (slot->mapped) ok = madvise(mem->base, slot->mapped, MADV_DONTNEED) == 0;
  if (mem->size > slot->mapped) {
    uint64_t grown = mem->size - slot->mapped;
    ok = ok && madvise(mem->base + slot->mapped, grown, MADV_DONTNEED) == 0 &&
         mprotect(mem->base + slot->mapped, grown, PROT_NONE) == 0;
  }
  if (!ok) {
    /* cannot prove the slot clean: drop it rather than reuse it */
    munmap(slot->base, mem->reserve);
    slot->base = NULL;
    slot->snap_id = 0;
    slot->mapped = 0;
  }
  pool_put(mem->pool, slot);
}

static wisp_memory_t *memory_from_snapshot(wisp_store_t *store, const wisp_snapshot_t *snap, const wisp__limits_t *type,
                                           wisp_error_t *err) {
  uint64_t max = type->has_max ? type->max : 65536;
  if (store->limits.max_memory_bytes && max > store->limits.max_memory_bytes / WISP__PAGE)
    max = store->limits.max_memory_bytes / WISP__PAGE;
  if (snap->mem_bytes / WISP__PAGE > max) {
    wisp__error(err, WISP_ERR_LIMIT, 0, "memory: the snapshot's %llu pages exceed the limit of %llu pages",
                (unsigned long long)(snap->mem_bytes / WISP__PAGE), (unsigned long long)max);
    return NULL;
  }
  wisp_memory_t *mem = calloc(1, sizeof *mem);
  if (!mem) {
    wisp__error(err, WISP_ERR_NOMEM, 0, "out of memory");
    return NULL;
  }
  /* A slot holds the memory only if everything it may grow to fits: a
   * memory that does not (or finds every slot taken) falls back to an
   * ordinary full reservation, mapped from the snapshot all the same. */
  wisp_pool_t *pool = store->pool;
  pool_slot_t *slot = NULL;
  if (pool && max * WISP__PAGE > pool->slot_bytes) {
    pool->fallback_fit++;
    store->pool_fallbacks |= WISP_POOL_FALLBACK_FIT;
  } else if (pool && !(slot = pool_take(pool))) {
    pool->fallback_busy++;
    store->pool_fallbacks |= WISP_POOL_FALLBACK_BUSY;
  } else if (pool) {
    pool->pooled++;
  }
  size_t reserve = slot ? pool->reserve : WISP__MEM_RESERVE;
  uint8_t *base = slot ? slot->base : NULL;
  if (!base) {
    base = mmap(NULL, reserve, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (base == MAP_FAILED) {
      if (slot) pool_put(store->pool, slot);
      free(mem);
      wisp__error(err, WISP_ERR_NOMEM, 0, "memory: cannot reserve address space: %s", strerror(errno));
      return NULL;
    }
    if (slot) {
      slot->base = base;
      slot->snap_id = 0;
      slot->mapped = 0;
    }
  }
  if (!slot || slot->snap_id != snap->id) {
    if (map_image(base, slot ? slot->mapped : 0, snap) != 0) {
      munmap(base, reserve);
      if (slot) {
        slot->base = NULL;
        slot->snap_id = 0;
        pool_put(store->pool, slot);
      }
      free(mem);
      wisp__error(err, WISP_ERR_NOMEM, 0, "memory: cannot map the snapshot: %s", strerror(errno));
      return NULL;
    }
    if (slot) {
      slot->snap_id = snap->id;
      slot->mapped = snap->mem_bytes;
    }
  }
  mem->base = base;
  mem->reserve = reserve;
  mem->size = snap->mem_bytes;
  mem->max_pages = max;
  mem->type = *type;
  mem->slot = slot;
  mem->pool = slot ? store->pool : NULL;
  mem->next_in_store = store->memories;
  store->memories = mem;
  return mem;
}

/* ---- instantiation from a snapshot -------------------------------------- */

int wisp_instance_from_snapshot(wisp_store_t *store, const wisp_snapshot_t *snap, const wisp_extern_t *imports,
                                size_t nimports, wisp_instance_t **out, wisp_error_t *err) {
  const wisp_module_t *m = snap->module;
  wisp_instance_t *inst;
  *out = NULL;
  int rc = wisp__instance_alloc(store, m, imports, nimports, &inst, err);
  if (rc) return rc;
  for (uint32_t t = 0; t < snap->ntables; t++) {
    uint32_t ti = m->ntable_imports + t;
    wisp__limits_t limits = m->tables[ti].limits;
    limits.min = snap->tables[t].size;
    wisp_table_t *table = wisp__table_create(store, m->tables[ti].elem, &limits, NULL);
    if (!table) return wisp__error(err, WISP_ERR_LIMIT, 0, "table %u: cannot allocate %u elements", ti,
                                   snap->tables[t].size);
    table->type = m->tables[ti].limits;
    for (uint32_t i = 0; !snap->linked && i < table->size; i++) {
      uint32_t e = snap->tables[t].elems[i];
      table->elems[i] = e ? inst->funcs[e - 1] : NULL;
    }
    inst->tables[ti] = table;
  }
  if (snap->has_memory &&
      !(inst->memories[m->nmemory_imports] = memory_from_snapshot(store, snap, &m->memories[m->nmemory_imports], err)))
    return err ? err->code : WISP_ERR_NOMEM;
  for (uint32_t g = 0; g < snap->nglobals; g++) {
    wisp_global_t *gl = inst->globals[m->nglobal_imports + g];
    gl->val = snap->globals[g];
    if (gl->type == WISP_FUNCREF)
      gl->val.ref = snap->globals[g].u64 && !snap->linked ? inst->funcs[snap->globals[g].u64 - 1] : NULL;
  }
  memcpy(inst->elem_dropped, snap->elem_dropped, m->nelems);
  memcpy(inst->data_dropped, snap->data_dropped, m->ndatas);
  *out = inst;
  return 0;
}

int wisp__snapshot_link_refs(wisp_instance_t *inst, const wisp_snapshot_t *snap, wisp__ref_decode_fn_t dec, void *env,
                             wisp_error_t *err) {
  const wisp_module_t *m = snap->module;
  for (uint32_t t = 0; t < snap->ntables; t++) {
    wisp_table_t *table = inst->tables[m->ntable_imports + t];
    for (uint32_t i = 0; i < table->size; i++) {
      uint32_t e = snap->tables[t].elems[i];
      if (e && !(table->elems[i] = dec(env, e)))
        return wisp__error(err, WISP_ERR_MALFORMED, 0, "snapshot: table %u element %u names no function",
                           m->ntable_imports + t, i);
    }
  }
  for (uint32_t g = 0; g < snap->nglobals; g++) {
    wisp_global_t *gl = inst->globals[m->nglobal_imports + g];
    uint32_t e = (uint32_t)snap->globals[g].u64;
    if (gl->type == WISP_FUNCREF && e && !(gl->val.ref = dec(env, e)))
      return wisp__error(err, WISP_ERR_MALFORMED, 0, "snapshot: global %u names no function", m->nglobal_imports + g);
  }
  return 0;
}

/* ---- files -------------------------------------------------------------- */

typedef struct buf {
  uint8_t *data;
  size_t len, cap;
  bool oom;
} buf_t;

static void put(buf_t *b, const void *p, size_t n) {
  if (b->oom || n == 0) return;
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
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
static void put32(buf_t *b, uint32_t v) { put(b, &v, 4); }
static void put64(buf_t *b, uint64_t v) { put(b, &v, 8); }

uint64_t wisp__fnv1a(uint64_t h, const void *data, size_t len) { return fnv1a(h ? h : FNV_INIT, data, len); }

/* Appends the body (module hash onwards, see the file comment) to b. */
static int put_body(buf_t *b, const wisp_snapshot_t *snap, wisp_error_t *err) {
  const wisp_module_t *m = snap->module;
  put64(b, snap->module_hash);
  put64(b, m->len);
  put32(b, snap->nglobals);
  for (uint32_t g = 0; g < snap->nglobals; g++) put64(b, snap->globals[g].u64);
  put32(b, snap->ntables);
  for (uint32_t t = 0; t < snap->ntables; t++) {
    put32(b, snap->tables[t].size);
    put(b, snap->tables[t].elems, (size_t)snap->tables[t].size * 4);
  }
  put32(b, m->nelems);
  put(b, snap->elem_dropped, m->nelems);
  put32(b, m->ndatas);
  put(b, snap->data_dropped, m->ndatas);
  uint8_t has_memory = snap->has_memory;
  put(b, &has_memory, 1);
  put64(b, snap->mem_bytes);
  uint8_t *image = NULL;
  if (snap->has_memory && snap->mem_bytes) {
    image = mmap(NULL, snap->mem_bytes, PROT_READ, MAP_SHARED, snap->memfd, 0);
    if (image == MAP_FAILED)
      return wisp__error(err, WISP_ERR_NOMEM, 0, "snapshot: reading the memory image: %s", strerror(errno));
  }
  uint32_t npages = 0;
  for (uint64_t off = 0; image && off < snap->mem_bytes; off += SNAP_PAGE) npages += !page_is_zero(image + off);
  put32(b, npages);
  for (uint64_t off = 0; image && off < snap->mem_bytes; off += SNAP_PAGE) {
    if (page_is_zero(image + off)) continue;
    put32(b, (uint32_t)(off / SNAP_PAGE));
    put(b, image + off, SNAP_PAGE);
  }
  if (image) munmap(image, snap->mem_bytes);
  return b->oom ? wisp__error(err, WISP_ERR_NOMEM, 0, "out of memory writing a snapshot") : 0;
}

int wisp__snapshot_body(const wisp_snapshot_t *snap, uint8_t **data, size_t *len, wisp_error_t *err) {
  buf_t b = {0};
  int rc = put_body(&b, snap, err);
  if (rc) {
    free(b.data);
    *data = NULL;
    *len = 0;
    return rc;
  }
  *data = b.data;
  *len = b.len;
  return 0;
}

int wisp__write_file_atomic(const char *path, const uint8_t *data, size_t len, wisp_error_t *err) {
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return wisp__error(err, WISP_ERR_ARG, 0, "snapshot: cannot create %s: %s", tmp, strerror(errno));
  int rc = 0;
  size_t done = 0;
  errno = 0;
  while (done < len) {
    ssize_t n = write(fd, data + done, len - done);
    if (n <= 0) break;
    done += (size_t)n;
  }
  if (done != len || fsync(fd) != 0)
    rc = wisp__error(err, WISP_ERR_ARG, 0, "snapshot: writing %s: %s", tmp, strerror(errno ? errno : EIO));
  close(fd);
  if (rc == 0 && rename(tmp, path) != 0)
    rc = wisp__error(err, WISP_ERR_ARG, 0, "snapshot: renaming to %s: %s", path, strerror(errno));
  if (rc) unlink(tmp);
  return rc;
}

int wisp_snapshot_save(const wisp_snapshot_t *snap, const char *path, wisp_error_t *err) {
  buf_t b = {0};
  put(&b, SNAP_MAGIC, 8);
  put32(&b, SNAP_VERSION);
  put32(&b, 0);
  int rc = put_body(&b, snap, err);
  put64(&b, fnv1a(FNV_INIT, b.data, b.len));
  if (rc == 0 && b.oom) rc = wisp__error(err, WISP_ERR_NOMEM, 0, "out of memory writing a snapshot");
  /* a temporary name and a rename: a crash never leaves half a file */
  if (rc == 0) rc = wisp__write_file_atomic(path, b.data, b.len, err);
  free(b.data);
  return rc;
}

typedef struct reader {
  const uint8_t *p, *end;
  bool bad;
} reader_t;

static const uint8_t *take(reader_t *r, size_t n) {
  if (r->bad || (size_t)(r->end - r->p) < n) {
    r->bad = true;
    return NULL;
  }
  const uint8_t *p = r->p;
  r->p += n;
  return p;
}
static uint32_t get32(reader_t *r) {
  const uint8_t *p = take(r, 4);
  uint32_t v = 0;
  if (p) memcpy(&v, p, 4);
  return v;
}
static uint64_t get64(reader_t *r) {
  const uint8_t *p = take(r, 8);
  uint64_t v = 0;
  if (p) memcpy(&v, p, 8);
  return v;
}

int wisp__read_file(const char *path, uint8_t **out, size_t *out_len, wisp_error_t *err) {
  *out = NULL;
  *out_len = 0;
  FILE *f = fopen(path, "rb");
  if (!f) return wisp__error(err, WISP_ERR_ARG, 0, "snapshot %s: %s", path, strerror(errno));
  uint8_t *data = NULL;
  size_t len = 0, cap = 0;
  for (;;) {
    if (len == cap) {
      cap = cap ? cap * 2 : 65536;
      uint8_t *grown = realloc(data, cap);
      if (!grown) {
        free(data);
        fclose(f);
        return wisp__error(err, WISP_ERR_NOMEM, 0, "out of memory reading %s", path);
      }
      data = grown;
    }
    size_t n = fread(data + len, 1, cap - len, f);
    if (n == 0) break;
    len += n;
  }
  bool failed = ferror(f);
  fclose(f);
  if (failed) {
    free(data);
    return wisp__error(err, WISP_ERR_ARG, 0, "snapshot %s: cannot read it", path);
  }
  *out = data;
  *out_len = len;
  return 0;
}

/* Reads one body (see put_body) of module m from r. NULL with *why set when
 * it does not match the module or is cut short; *nomem on allocation failure. */
static wisp_snapshot_t *get_body(reader_t *r, const wisp_module_t *m, bool linked, const char **why) {
  uint64_t hash = get64(r), mlen = get64(r);
  if (r->bad) {
    *why = "truncated contents";
    return NULL;
  }
  if (hash != fnv1a(FNV_INIT, m->bytes, m->len) || mlen != m->len) {
    *why = "made from a different module";
    return NULL;
  }
  wisp_snapshot_t *snap = calloc(1, sizeof *snap);
  if (!snap) {
    *why = "out of memory";
    return NULL;
  }
  snap->memfd = -1;
  snap->module = m;
  snap->linked = linked;
  snap->module_hash = hash;
  snap->id = next_snapshot_id();
  snap->nglobals = get32(r);
  if (snap->nglobals != m->nglobals - m->nglobal_imports) r->bad = true;
  snap->globals = calloc((r->bad ? 0 : snap->nglobals) + 1, sizeof(wisp__cell_t));
  for (uint32_t g = 0; !r->bad && snap->globals && g < snap->nglobals; g++) snap->globals[g].u64 = get64(r);
  if (r->bad) snap->nglobals = 0;
  snap->ntables = get32(r);
  if (snap->ntables != m->ntables - m->ntable_imports) r->bad = true;
  if (r->bad) snap->ntables = 0; /* wisp_snapshot_delete walks ntables entries */
  snap->tables = calloc(snap->ntables + 1, sizeof(snap_table_t));
  if (!snap->tables) snap->ntables = 0;
  for (uint32_t t = 0; !r->bad && snap->tables && t < snap->ntables; t++) {
    uint32_t size = get32(r);
    const uint8_t *elems = take(r, (size_t)size * 4);
    snap->tables[t].size = size;
    snap->tables[t].elems = elems ? calloc((size_t)size + 1, 4) : NULL;
    if (!elems || !snap->tables[t].elems) {
      r->bad = true;
      break;
    }
    memcpy(snap->tables[t].elems, elems, (size_t)size * 4);
    for (uint32_t i = 0; !linked && i < size; i++)
      if (snap->tables[t].elems[i] > m->nfuncs) r->bad = true;
  }
  for (uint32_t g = 0; !r->bad && !linked && g < snap->nglobals; g++)
    if (m->globals[m->nglobal_imports + g].type.type == WISP_FUNCREF && snap->globals[g].u64 > m->nfuncs) r->bad = true;
  uint32_t nelems = get32(r);
  const uint8_t *ed = take(r, nelems);
  uint32_t ndatas = get32(r);
  const uint8_t *dd = take(r, ndatas);
  snap->elem_dropped = calloc(m->nelems + 1, 1);
  snap->data_dropped = calloc(m->ndatas + 1, 1);
  if (r->bad || nelems != m->nelems || ndatas != m->ndatas || !snap->elem_dropped || !snap->data_dropped ||
      !snap->globals || !snap->tables) {
    *why = "does not match the module's layout";
    goto fail;
  }
  memcpy(snap->elem_dropped, ed, nelems);
  memcpy(snap->data_dropped, dd, ndatas);
  const uint8_t *hm = take(r, 1);
  snap->has_memory = hm && *hm;
  snap->mem_bytes = get64(r);
  if (snap->has_memory != (m->nmemories > m->nmemory_imports) || snap->mem_bytes % WISP__PAGE ||
      snap->mem_bytes > (uint64_t)65536 * WISP__PAGE) {
    *why = "memory image does not match the module";
    goto fail;
  }
  uint32_t npages = get32(r);
  if (snap->has_memory) {
    snap->memfd = memfd_create("wisp-snapshot", MFD_CLOEXEC);
    if (snap->memfd < 0 || ftruncate(snap->memfd, (off_t)snap->mem_bytes) != 0) {
      *why = "cannot make the memory image";
      goto fail;
    }
  } else if (npages) {
    r->bad = true;
  }
  for (uint32_t i = 0; i < npages && !r->bad; i++) {
    uint32_t page = get32(r);
    const uint8_t *bytes = take(r, SNAP_PAGE);
    if (!bytes || (uint64_t)page * SNAP_PAGE >= snap->mem_bytes) {
      r->bad = true;
      break;
    }
    if (pwrite(snap->memfd, bytes, SNAP_PAGE, (off_t)page * SNAP_PAGE) != SNAP_PAGE) r->bad = true;
  }
  if (r->bad) {
    *why = "truncated or inconsistent contents";
    goto fail;
  }
  return snap;
fail:
  wisp_snapshot_delete(snap);
  return NULL;
}

wisp_snapshot_t *wisp__snapshot_parse(const wisp_module_t *m, const uint8_t **p, const uint8_t *end, const char **why) {
  reader_t r = {*p, end, false};
  wisp_snapshot_t *snap = get_body(&r, m, true, why);
  *p = r.p;
  return snap;
}

static int load_error(wisp_error_t *err, const char *path, const char *what) {
  return wisp__error(err, WISP_ERR_MALFORMED, 0, "snapshot %s: %s", path, what);
}

int wisp_snapshot_load(const wisp_module_t *m, const char *path, wisp_snapshot_t **out, wisp_error_t *err) {
  *out = NULL;
  uint8_t *data = NULL;
  size_t len = 0;
  int rc = wisp__read_file(path, &data, &len, err);
  if (rc) return rc;
  wisp_snapshot_t *snap = NULL;
  const char *why = NULL;
  if (len < 8 + 8 + 8 || memcmp(data, SNAP_MAGIC, 8) != 0) {
    rc = load_error(err, path, "not a wisp snapshot (bad magic)");
    goto done;
  }
  uint64_t sum;
  memcpy(&sum, data + len - 8, 8);
  if (fnv1a(FNV_INIT, data, len - 8) != sum) {
    rc = load_error(err, path, "checksum mismatch: the file is corrupt");
    goto done;
  }
  reader_t r = {data + 8, data + len - 8, false};
  uint32_t version = get32(&r);
  get32(&r);
  if (version != SNAP_VERSION) {
    rc = wisp__error(err, WISP_ERR_MALFORMED, 0, "snapshot %s: format version %u, this wisp reads version %u", path,
                     version, SNAP_VERSION);
    goto done;
  }
  snap = get_body(&r, m, false, &why);
  if (!snap) {
    rc = load_error(err, path, why);
    goto done;
  }
  if (r.p != r.end) {
    rc = load_error(err, path, "truncated or inconsistent contents");
    wisp_snapshot_delete(snap);
    snap = NULL;
  }
done:
  free(data);
  *out = snap;
  return rc;
}
