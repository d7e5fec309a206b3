/*
 * store.h: the persistent store of deployed applications (SQLite, WAL mode).
 *
 * A store is a directory holding one SQLite database, DIR/wisp.db (plus the
 * -wal and -shm files SQLite keeps next to it). It records applications,
 * their numbered versions (manifest text, deploy time, who deployed), the
 * module blobs the versions use (content-addressed by SHA-256, stored once),
 * which version of each application is active, and a deploy history.
 * docs/store.md describes the schema and how to inspect a store.
 *
 * Invariants kept by every operation (each one is a single transaction, so
 * a failure or a crash at any point leaves either the whole change or none):
 *   - every version's blobs exist; an application's active version is one of
 *     its own versions;
 *   - a blob's key is the SHA-256 of its bytes;
 *   - version numbers of an application start at 1 and only grow.
 *
 * Errors: functions return 0 or a negative WISP_STORE_E* code; the message
 * of the last failure on a handle, naming what failed ("app 'x': version 7
 * does not exist"), is wisp_store_db_error(db).
 *
 * Ownership: wisp_store_db_open gives the caller a handle, released with
 * wisp_store_db_close. Lists and versions returned to the caller are owned
 * by it and freed with the matching _free function. Input strings are
 * borrowed for the duration of the call.
 *
 * A handle is used by one thread at a time. Several handles (in one process
 * or several) may open the same store: writers wait for each other up to
 * the busy timeout.
 */
#ifndef WISP_STORE_H
#define WISP_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Error codes (negative; 0 is success). */
#define WISP_STORE_EIO        (-1) /* SQLite or file system failure */
#define WISP_STORE_ENOMEM     (-2) /* out of memory */
#define WISP_STORE_ENOTFOUND  (-3) /* no such app, version or blob */
#define WISP_STORE_EINVAL     (-4) /* a bad argument: empty name, bad digest... */
#define WISP_STORE_ESCHEMA    (-5) /* the store's schema is newer than this binary */

/* The schema version this binary creates and understands. */
#define WISP_STORE_SCHEMA_VERSION 1

/* Milliseconds a writer waits for another writer before failing. */
#define WISP_STORE_BUSY_TIMEOUT_MS 5000

/* Longest application or component name accepted, in bytes. */
#define WISP_STORE_MAX_NAME 255

typedef struct wisp_store_db wisp_store_db_t;

/* One component of a version: its name in the manifest and its module. */
typedef struct wisp_store_component {
  const char *name;
  const char *sha256; /* 64 lower-case hex digits of a blob already put */
} wisp_store_component_t;

/* An application and its active version (0 when it has none). */
typedef struct wisp_store_app {
  char *name;
  int64_t active_version;
  int64_t created_at; /* Unix time, seconds */
} wisp_store_app_t;

/* One version of an application, without its manifest and blobs. */
typedef struct wisp_store_version_info {
  int64_t number;
  int64_t created_at; /* Unix time, seconds */
  char *deployed_by;
  bool active;
} wisp_store_version_info_t;

/* A component of a version with its module bytes. */
typedef struct wisp_store_blob {
  char *component;
  char sha256[65];
  size_t size;
  unsigned char *data; /* size bytes (NULL when size is 0) */
} wisp_store_blob_t;

/* One version in full. */
typedef struct wisp_store_version {
  char *app;
  int64_t number;
  int64_t created_at;
  char *deployed_by;
  char *manifest;
  bool active;
  size_t blob_count;
  wisp_store_blob_t *blobs; /* sorted by component name */
} wisp_store_version_t;

/* One history entry. version is 0 for "delete". */
typedef struct wisp_store_event {
  int64_t id; /* increasing */
  char *app;
  int64_t version;
  char *action; /* "deploy", "rollback" or "delete" */
  int64_t at;   /* Unix time, seconds */
  char *by;
} wisp_store_event_t;

/*
 * Opens (creating if needed) the store in directory dir: the directory is
 * created with mode 0700 (and missing parents likewise) if it does not exist,
 * the database is put in WAL mode with foreign keys on and the busy timeout
 * above, and pending schema migrations are applied in one transaction.
 * A store whose schema is newer than WISP_STORE_SCHEMA_VERSION is refused
 * with WISP_STORE_ESCHEMA. On failure the message goes to error (error_size
 * bytes, may be 0) and *out is NULL.
 */
int wisp_store_db_open(const char *dir, wisp_store_db_t **out /* OUT */, char *error,
                       size_t error_size);

/* Closes the handle; db may be NULL. */
void wisp_store_db_close(wisp_store_db_t *db);

/* The message of the last failed call on db ("" if none). Valid until the
 * next call on db. */
const char *wisp_store_db_error(const wisp_store_db_t *db);

/* The schema version of the open store. */
int wisp_store_db_schema_version(wisp_store_db_t *db, int *out /* OUT */);

/*
 * Stores size bytes as a blob keyed by their SHA-256 and writes the 64-digit
 * hex key and a NUL to sha256_out. Putting bytes already stored changes
 * nothing (the blob is stored once).
 */
int wisp_store_db_put_blob(wisp_store_db_t *db, const void *data, size_t size,
                           char sha256_out[65] /* OUT */);

/* The bytes of a blob: *data_out (malloc'd, the caller frees it; NULL when
 * the blob is empty) and *size_out. ENOTFOUND when there is no such blob. */
int wisp_store_db_get_blob(wisp_store_db_t *db, const char *sha256, void **data_out /* OUT */,
                           size_t *size_out /* OUT */);

/* Whether a blob exists (*exists), without reading it. */
int wisp_store_db_has_blob(wisp_store_db_t *db, const char *sha256, bool *exists /* OUT */);

/*
 * Deploys a new version of app (created if new): the next version number,
 * the manifest text, the components (each naming a blob that must exist;
 * names unique and non-empty), deployed_by (a user or token name, "" if
 * unknown). The version becomes active and a "deploy" history entry is
 * written. On any failure nothing changes. *version_out (may be NULL)
 * receives the new number.
 */
int wisp_store_db_deploy(wisp_store_db_t *db, const char *app, const char *manifest,
                         const wisp_store_component_t *components, size_t component_count,
                         const char *deployed_by, int64_t *version_out /* OUT */);

/*
 * Makes version `version` of app active (0: the highest-numbered version
 * below the active one) and writes a "rollback" history entry. Fails with
 * WISP_STORE_ENOTFOUND when the app or version does not exist (or there is
 * no earlier version). *active_out (may be NULL) receives the new active one.
 */
int wisp_store_db_rollback(wisp_store_db_t *db, const char *app, int64_t version,
                           const char *by, int64_t *active_out /* OUT */);

/*
 * Deletes app, its versions and its history, collects the blobs that no
 * remaining version references, and writes a "delete" history entry (which
 * outlives the app). WISP_STORE_ENOTFOUND when app does not exist.
 */
int wisp_store_db_delete_app(wisp_store_db_t *db, const char *app, const char *by);

/* All applications, sorted by name. */
int wisp_store_db_list_apps(wisp_store_db_t *db, wisp_store_app_t **apps_out /* OUT */,
                            size_t *count_out /* OUT */);
void wisp_store_apps_free(wisp_store_app_t *apps, size_t count);

/* The versions of app, by increasing number. ENOTFOUND for an unknown app. */
int wisp_store_db_list_versions(wisp_store_db_t *db, const char *app,
                                wisp_store_version_info_t **versions_out /* OUT */,
                                size_t *count_out /* OUT */);
void wisp_store_version_infos_free(wisp_store_version_info_t *versions, size_t count);

/* Version `version` of app in full (0: the active version), blobs included. */
int wisp_store_db_get_version(wisp_store_db_t *db, const char *app, int64_t version,
                              wisp_store_version_t **out /* OUT */);
void wisp_store_version_free(wisp_store_version_t *version);

/* History entries, oldest first: of app, or of every app when app is NULL. */
int wisp_store_db_history(wisp_store_db_t *db, const char *app,
                          wisp_store_event_t **events_out /* OUT */, size_t *count_out /* OUT */);
void wisp_store_events_free(wisp_store_event_t *events, size_t count);

/*
 * Checks the store: PRAGMA integrity_check and foreign_key_check, and the
 * invariants above. 0 when all hold, else WISP_STORE_EIO with the first
 * problem as the message.
 */
int wisp_store_db_check(wisp_store_db_t *db);

/*
 * For crash tests only: hook(ctx, point) is called at named points inside
 * write transactions ("deploy:app", "deploy:version", "deploy:blobs",
 * "deploy:active", "deploy:history", "deploy:commit", "deploy:done", and
 * likewise "rollback:..." and "delete:..."). NULL removes it.
 */
typedef void (*wisp__store_hook_t)(void *ctx, const char *point);
void wisp__store_db_set_hook(wisp_store_db_t *db, wisp__store_hook_t hook, void *ctx);

#ifdef __cplusplus
}
#endif

#endif
