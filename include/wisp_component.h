/*
 * wisp_component.h: WebAssembly components (the component model, binary layer 1,
 * version 0x0d as emitted by WASI 0.2-era tools: wit-component, jco, wasm-tools).
 *
 * This first layer decodes and validates a component binary: embedded core modules
 * (each decoded and validated with wisp_module_new), core instances, core types,
 * nested components, instances, aliases, component types, canonical definitions
 * (lift, lower, resource.new/drop/rep and their options), imports, exports, start.
 * Instantiation and the canonical ABI come in later layers; see
 * docs/component-model.md for the in-memory representation they build on.
 *
 * Ownership follows wisp.h: wisp_component_new returns an owned component that
 * wisp_component_delete frees. Every string and type handed out is borrowed from
 * the component and stays valid until it is deleted. A component is immutable
 * after creation and may be shared between threads.
 *
 * Errors: 0 or a negative wisp_err_t. WISP_ERR_MALFORMED when the bytes do not
 * decode, WISP_ERR_INVALID when they decode but break a validation rule,
 * WISP_ERR_UNSUPPORTED for a valid feature this layer does not handle (value
 * definitions, async/thread canon built-ins, GC core types). The message names the
 * section, the item and the byte offset, e.g.
 *   "canon section, offset 0x1f3: canon lift: function type has strings or lists,
 *    so the (memory) option is required"
 * Offsets of nested components and embedded modules are relative to the start of
 * the outermost binary.
 */
#ifndef WISP_COMPONENT_H
#define WISP_COMPONENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wisp.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The sorts: the kinds of definitions a component has an index space for. The
 * core sorts come first, in the order of their binary codes. */
typedef enum wisp_sort {
  WISP_SORT_CORE_FUNC = 0,
  WISP_SORT_CORE_TABLE,
  WISP_SORT_CORE_MEMORY,
  WISP_SORT_CORE_GLOBAL,
  WISP_SORT_CORE_TYPE,
  WISP_SORT_CORE_MODULE,
  WISP_SORT_CORE_INSTANCE,
  WISP_SORT_FUNC,
  WISP_SORT_VALUE,
  WISP_SORT_TYPE,
  WISP_SORT_COMPONENT,
  WISP_SORT_INSTANCE,
  WISP_SORT_COUNT
} wisp_sort_t;

/* "core func", ..., "instance": static string, never NULL. */
const char *wisp_sort_name(int sort);

typedef struct wisp_component wisp_component_t;

/* True when `bytes` start with the preamble of a component (magic, then a layer
 * field of 1), whatever its version; false for core modules and anything else.
 * `wisp run` uses it to choose between the two. */
bool wisp_is_component(const uint8_t *bytes, size_t len);

/* Decodes and validates `bytes` (copied; the caller keeps its buffer). Returns 0
 * and *out, or a negative code and *err (see the header comment). */
int wisp_component_new(wisp_engine_t *engine, const uint8_t *bytes, size_t len,
                       WISP_OWN wisp_component_t **out, wisp_error_t *err);
void wisp_component_delete(WISP_OWN wisp_component_t *component);

/* An import or export of the component. `name` is not NUL-terminated (use
 * name_len): a plain name ("run", "[method]fields.get"), or an interface name
 * ("wasi:cli/run@0.2.3"). `type` identifies the item's type within the component,
 * for wisp_component_type_print; for sort WISP_SORT_TYPE it is the type itself
 * (for an imported resource, an abstract resource type). */
typedef struct wisp_component_item {
  const char *name;
  uint32_t name_len;
  uint8_t sort; /* a wisp_sort_t: WISP_SORT_FUNC, _INSTANCE, _TYPE, _COMPONENT, _CORE_MODULE */
  uint32_t type;
} wisp_component_item_t;

uint32_t wisp_component_import_count(const wisp_component_t *component);
void wisp_component_import(const wisp_component_t *component, uint32_t i,
                           wisp_component_item_t *out);
uint32_t wisp_component_export_count(const wisp_component_t *component);
void wisp_component_export(const wisp_component_t *component, uint32_t i,
                           wisp_component_item_t *out);

/* Writes the type `type` of sort `sort` in a WIT-like notation, snprintf-style:
 * at most size-1 characters and a NUL (when size > 0); returns the length the
 * whole text needs. Examples:
 *   func(self: borrow<output-stream>, contents: list<u8>) -> result<_, stream-error>
 *   instance { export type error: resource; export get-stdout: func() -> output-stream; }
 * Named types print by the name they were exported under and owned handles as the
 * resource's name, as `jco wit` does, so a function's text matches its WIT. */
size_t wisp_component_type_print(const wisp_component_t *component, int sort, uint32_t type,
                                 char *buf, size_t size);

/* The exports of an instance or component type (for example the type of an
 * imported or exported instance), in order; for other types the count is 0.
 * Lets a host find the functions of an interface, e.g. `handle` in
 * wasi:http/incoming-handler, and print their types. */
uint32_t wisp_component_type_export_count(const wisp_component_t *component, uint32_t type);
void wisp_component_type_export(const wisp_component_t *component, uint32_t type, uint32_t i,
                                wisp_component_item_t *out);

/* Index of the component's export whose name matches `name` with semver
 * (wisp_component_name_matches: "wasi:http/incoming-handler@0.2.0" finds an export
 * "wasi:http/incoming-handler@0.2.12"), or -1. */
int64_t wisp_component_find_export(const wisp_component_t *component, const char *name, size_t len);

/* How many definitions the outermost component has in each index space (imports,
 * aliases and exports included), for tools and tests. */
uint32_t wisp_component_count(const wisp_component_t *component, int sort);

/* The embedded core modules, in binary order, of the outermost component and of
 * every nested component (depth first). Borrowed. */
uint32_t wisp_component_module_count(const wisp_component_t *component);
const wisp_module_t *wisp_component_module(const wisp_component_t *component, uint32_t i);

/* Interface-name matching with semver, for linking a guest's imports to host
 * implementations: "wasi:io/streams@0.2.3" matches a host's
 * "wasi:io/streams@0.2.12" (same namespace, package, interface; versions
 * compatible: same major, and for 0.x the same minor; any patch). Names without a
 * version match only the same name without a version. Plain names match exactly. */
bool wisp_component_name_matches(const char *import_name, size_t import_len,
                                 const char *host_name, size_t host_len);

/* Checks that every import of `component` is provided by one of `host_names`
 * (NUL-terminated interface or plain names, matched with
 * wisp_component_name_matches). Returns 0, or WISP_ERR_LINK with *err naming the
 * first import that nothing provides. Types are not compared yet. */
int wisp_component_check_imports(const wisp_component_t *component,
                                 const char *const *host_names, size_t count,
                                 wisp_error_t *err);

/* Type-checks the imports of `guest` against `host_world`: a component whose
 * imports describe what the host implements (for example made from the host's WIT
 * world with `jco embed --dummy` + `jco new`). Every guest import must match a
 * host import by name (wisp_component_name_matches) and sort, and its type must
 * equal the host's structurally: instances by export name (the host may export
 * more), functions by parameter and result names and types, value types by
 * shape and labels, resources by a consistent one-to-one binding (so
 * wasi:io/streams' `error` must be the very resource wasi:io/error exports).
 * Returns 0, or WISP_ERR_LINK with *err naming the import and the first
 * difference, e.g.
 *   import "wasi:cli/environment@0.2.3": "get-arguments": result 0: ... */
int wisp_component_check_against(const wisp_component_t *guest, const wisp_component_t *host_world,
                                 wisp_error_t *err);

#ifdef __cplusplus
}
#endif

#endif
