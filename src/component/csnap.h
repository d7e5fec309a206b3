/*
 * csnap.h: component snapshots (internal API).
 *
 * A component snapshot is the state of a component instance after its
 * initialisation: for every core instance it made (in replay order), the
 * engine's linked snapshot of it (src/core/snapshot.c: defined globals,
 * tables, dropped segments, memory image in a memfd), plus the instance's
 * resource handle table. Function references in tables and globals, which in
 * a component often point into another core instance (the shim table a fixup
 * module fills with lowered imports), are stored as (core instance, function
 * index) codes and resolved again after a restore.
 *
 * Instantiating from a snapshot replays the component's definitions as
 * wisp__cinst_new does (host functions, lowered trampolines, lifted exports
 * are made fresh), but each core instance is made from its snapshot: memory
 * mapped copy-on-write into a pool slot when the store has a pool, no segment
 * applied, no start function run. Then references and handles are restored.
 *
 * Files use the format family of core snapshots (same version number,
 * FNV-1a 64 checksum at the end):
 *   "WISPCSNP" u32 version u32 flags u64 component_hash u64 component_len
 *   u32 ncores, per core instance: a core snapshot body (module hash onwards)
 *   u32 nwords, nwords x u32 handle table (wisp__cinst_handles_save)
 *   u64 checksum (FNV-1a 64 over everything before it)
 */
#ifndef WISP_CSNAP_H
#define WISP_CSNAP_H

#include "cinst.h"

typedef struct wisp__csnap wisp__csnap_t;

/* Captures `inst` (made by wisp__cinst_new or from a snapshot; idle: no call
 * in progress). The snapshot borrows the component, which must outlive it.
 * Fails with a message when a core instance cannot be captured (a host
 * reference in a table, a module with two memories) or a handle refers to a
 * host resource. */
int wisp__csnap_new(const wisp__cinst_t *inst, wisp__csnap_t **out, wisp_error_t *err);
void wisp__csnap_delete(wisp__csnap_t *snap);
const wisp_component_t *wisp__csnap_component(const wisp__csnap_t *snap);

/* Instantiates the snapshot's component in `store` with host functions `host`
 * (as wisp__cinst_new; the store's pool, if any, provides memory slots).
 * Instances made from a snapshot may outlive it. */
int wisp__cinst_from_csnap(const wisp__csnap_t *snap, wisp_store_t *store, wisp_exec_t *exec,
                           const wisp__chost_func_t *host, size_t count, wisp__cinst_t **out, wisp_error_t *err);
/* The same with imports resolved once (wisp__cprep_new, for the snapshot's
 * component) and the instance's slot envs (wisp__cinst_new_prepared). */
int wisp__cinst_from_csnap_prepared(const wisp__csnap_t *snap, const wisp__cprep_t *prep, wisp_store_t *store,
                                    wisp_exec_t *exec, void *const *envs, uint32_t nenvs, wisp__cinst_t **out,
                                    wisp_error_t *err);

/* Writes the snapshot atomically (temporary file + rename). */
int wisp__csnap_save(const wisp__csnap_t *snap, const char *path, wisp_error_t *err);
/* Reads a snapshot of component c. A corrupt or truncated file, one of another
 * component or another format version is refused (WISP_ERR_MALFORMED, the
 * message says which). */
int wisp__csnap_load(const wisp_component_t *c, const char *path, wisp__csnap_t **out, wisp_error_t *err);

#endif
