/*
 * store.c: the SQLite store of applications, versions, blobs and history.
 *
 * Every public operation that writes runs inside one BEGIN IMMEDIATE ...
 * COMMIT transaction (taking the write lock at once, so it never fails half
 * way with SQLITE_BUSY on lock upgrade); any failure rolls the whole change
 * back. Reads run in one (deferred) transaction each so they see one
 * snapshot. Schema changes are a list of migrations, applied in order in one
 * transaction; the applied ones are rows of schema_version.
 */
#include "store.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/evp.h>
#include <sqlite3.h>

struct wisp_store_db {
  sqlite3 *sql;
  char *path; /* DIR/wisp.db */
  char error[512];
  sqlite3_stmt *rollback_stmt; /* "ROLLBACK", prepared at open */
  wisp__store_hook_t hook;
  void *hook_ctx;
};

/* Migration N (index N-1) brings the schema from version N-1 to N. */
static const char *const migrations[] = {
    /* 1: the first schema. */
    "CREATE TABLE apps ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  created_at INTEGER NOT NULL);"
    "CREATE TABLE versions ("
    "  id INTEGER PRIMARY KEY,"
    "  app_id INTEGER NOT NULL REFERENCES apps(id),"
    "  number INTEGER NOT NULL CHECK (number >= 1),"
    "  manifest TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  deployed_by TEXT NOT NULL,"
    "  UNIQUE (app_id, number),"
    "  UNIQUE (app_id, id));"
    "CREATE TABLE blobs ("
    "  sha256 TEXT PRIMARY KEY CHECK (length(sha256) = 64),"
    "  size INTEGER NOT NULL,"
    "  data BLOB NOT NULL,"
    "  CHECK (size = length(data)));"
    "CREATE TABLE version_blobs ("
    "  version_id INTEGER NOT NULL REFERENCES versions(id),"
    "  component TEXT NOT NULL,"
    "  sha256 TEXT NOT NULL REFERENCES blobs(sha256),"
    "  PRIMARY KEY (version_id, component));"
    "CREATE INDEX version_blobs_sha256 ON version_blobs(sha256);"
    "CREATE TABLE active ("
    "  app_id INTEGER PRIMARY KEY REFERENCES apps(id),"
    "  version_id INTEGER NOT NULL,"
    "  FOREIGN KEY (app_id, version_id) REFERENCES versions(app_id, id));"
    "CREATE TABLE history ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  app TEXT NOT NULL,"
    "  version INTEGER,"
    "  action TEXT NOT NULL CHECK (action IN ('deploy', 'rollback', 'delete')),"
    "  at INTEGER NOT NULL,"
    "  by TEXT NOT NULL);"
    "CREATE INDEX history_app ON history(app, id);",
};
#define MIGRATION_COUNT ((int)(sizeof migrations / sizeof migrations[0]))

_Static_assert(MIGRATION_COUNT == WISP_STORE_SCHEMA_VERSION, "one migration per schema version");

/* ------------------------------------------------------------------------ */
/* Errors and small helpers                                                  */

static int fail(wisp_store_db_t *db, int code, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

/* Records the message of a failure and returns code. */
static int fail(wisp_store_db_t *db, int code, const char *format, ...) {
  va_list args;
  va_start(args, format);
  vsnprintf(db->error, sizeof db->error, format, args);
  va_end(args);
  return code;
}

/* A failure of SQLite while doing `what`. */
static int fail_sql(wisp_store_db_t *db, const char *what) {
  int rc = sqlite3_errcode(db->sql);
  if (rc == SQLITE_NOMEM) return fail(db, WISP_STORE_ENOMEM, "%s: out of memory", what);
  return fail(db, WISP_STORE_EIO, "store %s: %s: %s", db->path, what, sqlite3_errmsg(db->sql));
}

static void hook(wisp_store_db_t *db, const char *point) {
  if (db->hook) db->hook(db->hook_ctx, point);
}

void wisp__store_db_set_hook(wisp_store_db_t *db, wisp__store_hook_t fn, void *ctx) {
  db->hook = fn;
  db->hook_ctx = ctx;
}

const char *wisp_store_db_error(const wisp_store_db_t *db) { return db->error; }

static int64_t now_seconds(void) { return (int64_t)time(NULL); }

static int exec_sql(wisp_store_db_t *db, const char *sql, const char *what) {
  if (sqlite3_exec(db->sql, sql, NULL, NULL, NULL) != SQLITE_OK) return fail_sql(db, what);
  return 0;
}

/* Ends a failed transaction; the error already recorded is kept. ROLLBACK
 * is prepared at open so that it needs no memory when memory is short; if
 * it still fails, the next begin tries again (a handle must never stay in
 * a transaction, holding the write lock). */
static void rollback(wisp_store_db_t *db) {
  if (sqlite3_get_autocommit(db->sql)) return;
  if (db->rollback_stmt) {
    sqlite3_step(db->rollback_stmt);
    sqlite3_reset(db->rollback_stmt);
  }
  if (!sqlite3_get_autocommit(db->sql)) sqlite3_exec(db->sql, "ROLLBACK", NULL, NULL, NULL);
}

/* Starts a transaction, first ending one a failed rollback left open. */
static int begin(wisp_store_db_t *db, const char *sql) {
  rollback(db);
  if (!sqlite3_get_autocommit(db->sql))
    return fail(db, WISP_STORE_EIO, "store %s: a failed transaction could not be rolled back",
                db->path);
  return exec_sql(db, sql, "begin");
}

static int begin_write(wisp_store_db_t *db) { return begin(db, "BEGIN IMMEDIATE"); }
static int begin_read(wisp_store_db_t *db) { return begin(db, "BEGIN"); }
static int commit(wisp_store_db_t *db) { return exec_sql(db, "COMMIT", "commit"); }

/* Prepares sql into *stmt. */
static int prepare(wisp_store_db_t *db, const char *sql, sqlite3_stmt **stmt) {
  if (sqlite3_prepare_v2(db->sql, sql, -1, stmt, NULL) != SQLITE_OK) {
    *stmt = NULL;
    return fail_sql(db, "prepare");
  }
  return 0;
}

/* A copy of a text column ("" for NULL); NULL when out of memory. */
static char *dup_column(sqlite3_stmt *stmt, int column) {
  const unsigned char *text = sqlite3_column_text(stmt, column);
  if (!text && sqlite3_column_type(stmt, column) != SQLITE_NULL) return NULL;
  return strdup(text ? (const char *)text : "");
}

/* A text column for reading in place ("" for NULL or when out of memory:
 * only used where a wrong value is caught by a later check). */
static const char *column_text(sqlite3_stmt *stmt, int column) {
  const unsigned char *text = sqlite3_column_text(stmt, column);
  return text ? (const char *)text : "";
}

static bool is_sha256_hex(const char *s) {
  if (!s || strlen(s) != 64) return false;
  for (int i = 0; i < 64; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return false;
  return true;
}

static int check_name(wisp_store_db_t *db, const char *kind, const char *name) {
  if (!name || !name[0]) return fail(db, WISP_STORE_EINVAL, "%s name is empty", kind);
  if (strlen(name) > WISP_STORE_MAX_NAME)
    return fail(db, WISP_STORE_EINVAL, "%s name '%.40s...' is longer than %d bytes", kind, name,
                WISP_STORE_MAX_NAME);
  return 0;
}

/* ------------------------------------------------------------------------ */
/* Opening and migrations                                                    */

/* mkdir -p with mode 0700 for the directories it creates. */
static int make_dirs(const char *dir, char *error, size_t error_size) {
  char path[PATH_MAX];
  size_t len = strlen(dir);
  if (len == 0 || len >= sizeof path) {
    snprintf(error, error_size, "store directory '%s': bad path", dir);
    return WISP_STORE_EINVAL;
  }
  memcpy(path, dir, len + 1);
  for (size_t i = 1; i <= len; i++) {
    if (path[i] != '/' && path[i] != '\0') continue;
    char saved = path[i];
    path[i] = '\0';
    if (mkdir(path, 0700) != 0 && errno != EEXIST) {
      snprintf(error, error_size, "store directory '%s': %s", path, strerror(errno));
      return WISP_STORE_EIO;
    }
    path[i] = saved;
  }
  struct stat st;
  if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
    snprintf(error, error_size, "store directory '%s': not a directory", dir);
    return WISP_STORE_EIO;
  }
  return 0;
}

/* One integer from a one-row query (*out = fallback when there is no row or
 * it is NULL). */
static int query_int(wisp_store_db_t *db, const char *sql, int64_t fallback, int64_t *out) {
  sqlite3_stmt *stmt = NULL;
  int rc = prepare(db, sql, &stmt);
  if (rc) return rc;
  *out = fallback;
  int step = sqlite3_step(stmt);
  if (step == SQLITE_ROW && sqlite3_column_type(stmt, 0) != SQLITE_NULL)
    *out = sqlite3_column_int64(stmt, 0);
  else if (step != SQLITE_ROW && step != SQLITE_DONE)
    rc = fail_sql(db, "query");
  sqlite3_finalize(stmt);
  return rc;
}

/* Applies the migrations the store lacks, all in one transaction. */
static int migrate(wisp_store_db_t *db) {
  int rc = begin_write(db);
  if (rc) return rc;
  rc = exec_sql(db,
                "CREATE TABLE IF NOT EXISTS schema_version ("
                "  version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
                "create schema_version");
  int64_t current = 0;
  if (!rc) rc = query_int(db, "SELECT max(version) FROM schema_version", 0, &current);
  if (!rc && current > MIGRATION_COUNT)
    rc = fail(db, WISP_STORE_ESCHEMA,
              "store %s: schema version %lld is newer than this wisp understands (%d); "
              "use a newer wisp",
              db->path, (long long)current, MIGRATION_COUNT);
  for (int64_t next = current + 1; !rc && next <= MIGRATION_COUNT; next++) {
    char what[64];
    snprintf(what, sizeof what, "migration %lld", (long long)next);
    rc = exec_sql(db, migrations[next - 1], what);
    sqlite3_stmt *stmt = NULL;
    if (!rc) rc = prepare(db, "INSERT INTO schema_version (version, applied_at) VALUES (?, ?)", &stmt);
    if (!rc) {
      sqlite3_bind_int64(stmt, 1, next);
      sqlite3_bind_int64(stmt, 2, now_seconds());
      if (sqlite3_step(stmt) != SQLITE_DONE) rc = fail_sql(db, what);
    }
    sqlite3_finalize(stmt);
  }
  if (!rc) rc = commit(db);
  if (rc) rollback(db);
  return rc;
}

/* Sets the connection's pragmas. WAL: readers do not block the writer;
 * synchronous=FULL makes every commit durable (NORMAL could lose the last
 * commits on power loss); foreign keys are off by default in SQLite. */
static int configure(wisp_store_db_t *db) {
  int rc = exec_sql(db, "PRAGMA journal_mode=WAL", "set WAL mode");
  if (!rc) rc = exec_sql(db, "PRAGMA synchronous=FULL", "set synchronous");
  if (!rc) rc = exec_sql(db, "PRAGMA foreign_keys=ON", "enable foreign keys");
  if (rc) return rc;
  /* journal_mode answers with the mode in force: check WAL took. */
  bool wal = false;
  sqlite3_stmt *stmt = NULL;
  rc = prepare(db, "PRAGMA journal_mode", &stmt);
  if (!rc && sqlite3_step(stmt) == SQLITE_ROW) wal = strcmp(column_text(stmt, 0), "wal") == 0;
  sqlite3_finalize(stmt);
  if (!rc && !wal) rc = fail(db, WISP_STORE_EIO, "store %s: WAL mode is not available", db->path);
  return rc;
}

int wisp_store_db_open(const char *dir, wisp_store_db_t **out, char *error, size_t error_size) {
  char scratch[1];
  if (error_size == 0) {
    error = scratch;
    error_size = sizeof scratch;
  }
  error[0] = '\0';
  *out = NULL;
  int rc = make_dirs(dir, error, error_size);
  if (rc) return rc;
  wisp_store_db_t *db = calloc(1, sizeof *db);
  size_t path_size = strlen(dir) + sizeof "/wisp.db";
  if (db) db->path = malloc(path_size);
  if (!db || !db->path) {
    snprintf(error, error_size, "store %s: out of memory", dir);
    rc = WISP_STORE_ENOMEM;
    goto fail;
  }
  snprintf(db->path, path_size, "%s/wisp.db", dir);
  if (sqlite3_open_v2(db->path, &db->sql,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      NULL) != SQLITE_OK) {
    rc = db->sql ? fail_sql(db, "open") : fail(db, WISP_STORE_ENOMEM, "store: out of memory");
    goto fail_message;
  }
  sqlite3_busy_timeout(db->sql, WISP_STORE_BUSY_TIMEOUT_MS);
  if (sqlite3_prepare_v2(db->sql, "ROLLBACK", -1, &db->rollback_stmt, NULL) != SQLITE_OK) {
    rc = fail_sql(db, "prepare");
    goto fail_message;
  }
  sqlite3_extended_result_codes(db->sql, 1);
  rc = configure(db);
  if (!rc) rc = migrate(db);
  if (rc) goto fail_message;
  *out = db;
  return 0;

fail_message:
  snprintf(error, error_size, "%s", db->error);
fail:
  wisp_store_db_close(db);
  return rc;
}

void wisp_store_db_close(wisp_store_db_t *db) {
  if (!db) return;
  sqlite3_finalize(db->rollback_stmt);
  sqlite3_close_v2(db->sql);
  free(db->path);
  free(db);
}

int wisp_store_db_schema_version(wisp_store_db_t *db, int *out) {
  int64_t version = 0;
  int rc = query_int(db, "SELECT max(version) FROM schema_version", 0, &version);
  *out = (int)version;
  return rc;
}

/* ------------------------------------------------------------------------ */
/* Blobs                                                                     */

static int sha256_hex(const void *data, size_t size, char out[65]) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_size = 0;
  if (!EVP_Digest(data, size, digest, &digest_size, EVP_sha256(), NULL) || digest_size != 32)
    return -1;
  static const char hex[] = "0123456789abcdef";
  for (int i = 0; i < 32; i++) {
    out[2 * i] = hex[digest[i] >> 4];
    out[2 * i + 1] = hex[digest[i] & 15];
  }
  out[64] = '\0';
  return 0;
}

int wisp_store_db_put_blob(wisp_store_db_t *db, const void *data, size_t size, char sha256_out[65]) {
  static const unsigned char empty[1];
  char sha[65];
  db->error[0] = '\0';
  if (!data) data = empty;
  if (size > INT_MAX) return fail(db, WISP_STORE_EINVAL, "blob of %zu bytes is too large", size);
  if (sha256_hex(data, size, sha) != 0) return fail(db, WISP_STORE_EIO, "blob: SHA-256 failed");
  sqlite3_stmt *stmt = NULL;
  int rc = begin_write(db);
  if (!rc)
    rc = prepare(db, "INSERT INTO blobs (sha256, size, data) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                 &stmt);
  if (!rc) {
    sqlite3_bind_text(stmt, 1, sha, 64, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, (int64_t)size);
    sqlite3_bind_blob(stmt, 3, data, (int)size, SQLITE_STATIC);
    if (sqlite3_step(stmt) != SQLITE_DONE) rc = fail_sql(db, "put blob");
  }
  sqlite3_finalize(stmt);
  if (!rc) rc = commit(db);
  if (rc) {
    rollback(db);
    return rc;
  }
  memcpy(sha256_out, sha, 65);
  return 0;
}

static int blob_exists(wisp_store_db_t *db, const char *sha256, bool *exists) {
  sqlite3_stmt *stmt = NULL;
  int rc = prepare(db, "SELECT 1 FROM blobs WHERE sha256 = ?", &stmt);
  if (rc) return rc;
  sqlite3_bind_text(stmt, 1, sha256, -1, SQLITE_STATIC);
  int step = sqlite3_step(stmt);
  *exists = step == SQLITE_ROW;
  if (step != SQLITE_ROW && step != SQLITE_DONE) rc = fail_sql(db, "look up blob");
  sqlite3_finalize(stmt);
  return rc;
}

int wisp_store_db_get_blob(wisp_store_db_t *db, const char *sha256, void **data_out,
                           size_t *size_out) {
  db->error[0] = '\0';
  *data_out = NULL;
  *size_out = 0;
  if (!is_sha256_hex(sha256))
    return fail(db, WISP_STORE_EINVAL, "'%.70s' is not a SHA-256 (64 lower-case hex digits)",
                sha256 ? sha256 : "(null)");
  sqlite3_stmt *stmt = NULL;
  int rc = prepare(db, "SELECT data FROM blobs WHERE sha256 = ?", &stmt);
  if (rc) return rc;
  sqlite3_bind_text(stmt, 1, sha256, 64, SQLITE_STATIC);
  int step = sqlite3_step(stmt);
  if (step == SQLITE_ROW) {
    const void *data = sqlite3_column_blob(stmt, 0);
    size_t size = (size_t)sqlite3_column_bytes(stmt, 0);
    if (size && !(*data_out = malloc(size)))
      rc = fail(db, WISP_STORE_ENOMEM, "blob %s: out of memory", sha256);
    else if (size && !data)
      rc = fail_sql(db, "read blob");
    else if (size)
      memcpy(*data_out, data, size);
    if (!rc) *size_out = size;
  } else if (step == SQLITE_DONE) {
    rc = fail(db, WISP_STORE_ENOTFOUND, "blob %s does not exist", sha256);
  } else {
    rc = fail_sql(db, "read blob");
  }
  sqlite3_finalize(stmt);
  if (rc) {
    free(*data_out);
    *data_out = NULL;
  }
  return rc;
}

int wisp_store_db_has_blob(wisp_store_db_t *db, const char *sha256, bool *exists) {
  db->error[0] = '\0';
  *exists = false;
  if (!is_sha256_hex(sha256))
    return fail(db, WISP_STORE_EINVAL, "'%.70s' is not a SHA-256 (64 lower-case hex digits)",
                sha256 ? sha256 : "(null)");
  return blob_exists(db, sha256, exists);
}

/* ------------------------------------------------------------------------ */
/* Apps and versions: lookups used inside transactions                       */

/* *app_id of app, 0 when it does not exist. */
static int find_app(wisp_store_db_t *db, const char *app, int64_t *app_id) {
  sqlite3_stmt *stmt = NULL;
  int rc = prepare(db, "SELECT id FROM apps WHERE name = ?", &stmt);
  if (rc) return rc;
  sqlite3_bind_text(stmt, 1, app, -1, SQLITE_STATIC);
  int step = sqlite3_step(stmt);
  *app_id = step == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : 0;
  if (step != SQLITE_ROW && step != SQLITE_DONE) rc = fail_sql(db, "look up app");
  sqlite3_finalize(stmt);
  return rc;
}

/* Like find_app, but a missing app is ENOTFOUND. */
static int require_app(wisp_store_db_t *db, const char *app, int64_t *app_id) {
  int rc = find_app(db, app, app_id);
  if (!rc && *app_id == 0) rc = fail(db, WISP_STORE_ENOTFOUND, "app '%s' does not exist", app);
  return rc;
}

/* Runs a statement binding a (and b, when it has a second parameter) and
 * returning one integer (fallback when no row or NULL). */
static int query_int2(wisp_store_db_t *db, const char *sql, int64_t a, int64_t b, int64_t fallback,
                      int64_t *out) {
  sqlite3_stmt *stmt = NULL;
  int rc = prepare(db, sql, &stmt);
  if (rc) return rc;
  sqlite3_bind_int64(stmt, 1, a);
  if (sqlite3_bind_parameter_count(stmt) >= 2) sqlite3_bind_int64(stmt, 2, b);
  *out = fallback;
  int step = sqlite3_step(stmt);
  if (step == SQLITE_ROW && sqlite3_column_type(stmt, 0) != SQLITE_NULL)
    *out = sqlite3_column_int64(stmt, 0);
  else if (step != SQLITE_ROW && step != SQLITE_DONE)
    rc = fail_sql(db, "query");
  sqlite3_finalize(stmt);
  return rc;
}

/* The active version number of app_id (0 if none). */
static int active_number(wisp_store_db_t *db, int64_t app_id, int64_t *number) {
  return query_int2(db,
                    "SELECT v.number FROM active a JOIN versions v ON v.id = a.version_id "
                    "WHERE a.app_id = ?",
                    app_id, 0, 0, number);
}

static int record_history(wisp_store_db_t *db, const char *app, int64_t version, const char *action,
                          const char *by) {
  sqlite3_stmt *stmt = NULL;
  int rc = prepare(db, "INSERT INTO history (app, version, action, at, by) VALUES (?, ?, ?, ?, ?)",
                   &stmt);
  if (rc) return rc;
  sqlite3_bind_text(stmt, 1, app, -1, SQLITE_STATIC);
  if (version > 0)
    sqlite3_bind_int64(stmt, 2, version);
  else
    sqlite3_bind_null(stmt, 2);
  sqlite3_bind_text(stmt, 3, action, -1, SQLITE_STATIC);
  sqlite3_bind_int64(stmt, 4, now_seconds());
  sqlite3_bind_text(stmt, 5, by ? by : "", -1, SQLITE_STATIC);
  if (sqlite3_step(stmt) != SQLITE_DONE) rc = fail_sql(db, "record history");
  sqlite3_finalize(stmt);
  return rc;
}

/* Makes version_id the active version of app_id. */
static int set_active(wisp_store_db_t *db, int64_t app_id, int64_t version_id) {
  sqlite3_stmt *stmt = NULL;
  int rc = prepare(db,
                   "INSERT INTO active (app_id, version_id) VALUES (?, ?) "
                   "ON CONFLICT (app_id) DO UPDATE SET version_id = excluded.version_id",
                   &stmt);
  if (rc) return rc;
  sqlite3_bind_int64(stmt, 1, app_id);
  sqlite3_bind_int64(stmt, 2, version_id);
  if (sqlite3_step(stmt) != SQLITE_DONE) rc = fail_sql(db, "set active version");
  sqlite3_finalize(stmt);
  return rc;
}

/* Runs a statement binding one integer, expecting no rows. */
static int exec_int(wisp_store_db_t *db, const char *sql, int64_t value, const char *what) {
  sqlite3_stmt *stmt = NULL;
  int rc = prepare(db, sql, &stmt);
  if (rc) return rc;
  sqlite3_bind_int64(stmt, 1, value);
  if (sqlite3_step(stmt) != SQLITE_DONE) rc = fail_sql(db, what);
  sqlite3_finalize(stmt);
  return rc;
}

/* ------------------------------------------------------------------------ */
/* Deploy, rollback, delete                                                  */

static int check_deploy_args(wisp_store_db_t *db, const char *app, const char *manifest,
                             const wisp_store_component_t *components, size_t count) {
  int rc = check_name(db, "app", app);
  if (rc) return rc;
  if (!manifest) return fail(db, WISP_STORE_EINVAL, "deploy '%s': no manifest", app);
  if (count > 0 && !components) return fail(db, WISP_STORE_EINVAL, "deploy '%s': no components", app);
  for (size_t i = 0; i < count; i++) {
    rc = check_name(db, "component", components[i].name);
    if (rc) return rc;
    if (!is_sha256_hex(components[i].sha256))
      return fail(db, WISP_STORE_EINVAL,
                  "deploy '%s': component '%s': '%.70s' is not a SHA-256 (64 lower-case hex digits)",
                  app, components[i].name, components[i].sha256 ? components[i].sha256 : "(null)");
    for (size_t j = 0; j < i; j++)
      if (strcmp(components[i].name, components[j].name) == 0)
        return fail(db, WISP_STORE_EINVAL, "deploy '%s': component '%s' is listed twice", app,
                    components[i].name);
  }
  return 0;
}

/* Inserts the version row and its blob links; *version_id and *number out. */
static int insert_version(wisp_store_db_t *db, int64_t app_id, const char *app, const char *manifest,
                          const wisp_store_component_t *components, size_t count,
                          const char *deployed_by, int64_t *version_id, int64_t *number) {
  int rc = query_int2(db, "SELECT max(number) FROM versions WHERE app_id = ?", app_id, 0, 0,
                      number);
  if (rc) return rc;
  (*number)++;
  sqlite3_stmt *stmt = NULL;
  rc = prepare(db,
               "INSERT INTO versions (app_id, number, manifest, created_at, deployed_by) "
               "VALUES (?, ?, ?, ?, ?)",
               &stmt);
  if (rc) return rc;
  sqlite3_bind_int64(stmt, 1, app_id);
  sqlite3_bind_int64(stmt, 2, *number);
  sqlite3_bind_text(stmt, 3, manifest, -1, SQLITE_STATIC);
  sqlite3_bind_int64(stmt, 4, now_seconds());
  sqlite3_bind_text(stmt, 5, deployed_by ? deployed_by : "", -1, SQLITE_STATIC);
  if (sqlite3_step(stmt) != SQLITE_DONE) rc = fail_sql(db, "insert version");
  sqlite3_finalize(stmt);
  if (rc) return rc;
  *version_id = sqlite3_last_insert_rowid(db->sql);
  hook(db, "deploy:version");

  rc = prepare(db, "INSERT INTO version_blobs (version_id, component, sha256) VALUES (?, ?, ?)",
               &stmt);
  for (size_t i = 0; !rc && i < count; i++) {
    bool exists = false;
    rc = blob_exists(db, components[i].sha256, &exists);
    if (!rc && !exists)
      rc = fail(db, WISP_STORE_ENOTFOUND, "deploy '%s': component '%s': blob %s does not exist",
                app, components[i].name, components[i].sha256);
    if (rc) break;
    sqlite3_reset(stmt);
    sqlite3_bind_int64(stmt, 1, *version_id);
    sqlite3_bind_text(stmt, 2, components[i].name, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 3, components[i].sha256, 64, SQLITE_STATIC);
    if (sqlite3_step(stmt) != SQLITE_DONE) rc = fail_sql(db, "link version to blob");
  }
  sqlite3_finalize(stmt);
  if (!rc) hook(db, "deploy:blobs");
  return rc;
}

int wisp_store_db_deploy(wisp_store_db_t *db, const char *app, const char *manifest,
                         const wisp_store_component_t *components, size_t component_count,
                         const char *deployed_by, int64_t *version_out) {
  db->error[0] = '\0';
  int rc = check_deploy_args(db, app, manifest, components, component_count);
  if (rc) return rc;
  rc = begin_write(db);
  if (rc) return rc;
  int64_t app_id = 0, version_id = 0, number = 0;
  rc = find_app(db, app, &app_id);
  if (!rc && app_id == 0) {
    sqlite3_stmt *stmt = NULL;
    rc = prepare(db, "INSERT INTO apps (name, created_at) VALUES (?, ?)", &stmt);
    if (!rc) {
      sqlite3_bind_text(stmt, 1, app, -1, SQLITE_STATIC);
      sqlite3_bind_int64(stmt, 2, now_seconds());
      if (sqlite3_step(stmt) != SQLITE_DONE) rc = fail_sql(db, "insert app");
    }
    sqlite3_finalize(stmt);
    app_id = sqlite3_last_insert_rowid(db->sql);
  }
  if (!rc) hook(db, "deploy:app");
  if (!rc)
    rc = insert_version(db, app_id, app, manifest, components, component_count, deployed_by,
                        &version_id, &number);
  if (!rc) rc = set_active(db, app_id, version_id);
  if (!rc) hook(db, "deploy:active");
  if (!rc) rc = record_history(db, app, number, "deploy", deployed_by);
  if (!rc) hook(db, "deploy:history");
  if (!rc) hook(db, "deploy:commit");
  if (!rc) rc = commit(db);
  if (rc) {
    rollback(db);
    return rc;
  }
  hook(db, "deploy:done");
  if (version_out) *version_out = number;
  return 0;
}

int wisp_store_db_rollback(wisp_store_db_t *db, const char *app, int64_t version, const char *by,
                           int64_t *active_out) {
  db->error[0] = '\0';
  int rc = check_name(db, "app", app);
  if (rc) return rc;
  if (version < 0) return fail(db, WISP_STORE_EINVAL, "app '%s': bad version %lld", app, (long long)version);
  rc = begin_write(db);
  if (rc) return rc;
  int64_t app_id = 0, current = 0, target = version, version_id = 0;
  rc = require_app(db, app, &app_id);
  if (!rc) rc = active_number(db, app_id, &current);
  if (!rc && version == 0) {
    rc = query_int2(db, "SELECT max(number) FROM versions WHERE app_id = ? AND number < ?", app_id,
                    current, 0, &target);
    if (!rc && target == 0)
      rc = fail(db, WISP_STORE_ENOTFOUND, "app '%s': no version before version %lld to roll back to",
                app, (long long)current);
  }
  if (!rc)
    rc = query_int2(db, "SELECT id FROM versions WHERE app_id = ? AND number = ?", app_id, target, 0,
                    &version_id);
  if (!rc && version_id == 0)
    rc = fail(db, WISP_STORE_ENOTFOUND, "app '%s': version %lld does not exist", app,
              (long long)target);
  if (!rc) rc = set_active(db, app_id, version_id);
  if (!rc) hook(db, "rollback:active");
  if (!rc) rc = record_history(db, app, target, "rollback", by);
  if (!rc) hook(db, "rollback:commit");
  if (!rc) rc = commit(db);
  if (rc) {
    rollback(db);
    return rc;
  }
  hook(db, "rollback:done");
  if (active_out) *active_out = target;
  return 0;
}

int wisp_store_db_delete_app(wisp_store_db_t *db, const char *app, const char *by) {
  db->error[0] = '\0';
  int rc = check_name(db, "app", app);
  if (rc) return rc;
  rc = begin_write(db);
  if (rc) return rc;
  int64_t app_id = 0;
  rc = require_app(db, app, &app_id);
  /* The blobs of this app's versions, remembered before the links go. */
  if (!rc)
    rc = exec_sql(db, "CREATE TEMP TABLE IF NOT EXISTS doomed_blobs (sha256 TEXT PRIMARY KEY)",
                  "delete app");
  if (!rc) rc = exec_sql(db, "DELETE FROM doomed_blobs", "delete app");
  if (!rc)
    rc = exec_int(db,
                  "INSERT OR IGNORE INTO doomed_blobs SELECT vb.sha256 FROM version_blobs vb "
                  "JOIN versions v ON v.id = vb.version_id WHERE v.app_id = ?",
                  app_id, "delete app: collect blobs");
  if (!rc) rc = exec_int(db, "DELETE FROM active WHERE app_id = ?", app_id, "delete app: active");
  if (!rc) hook(db, "delete:active");
  if (!rc)
    rc = exec_int(db,
                  "DELETE FROM version_blobs WHERE version_id IN "
                  "(SELECT id FROM versions WHERE app_id = ?)",
                  app_id, "delete app: blob links");
  if (!rc) rc = exec_int(db, "DELETE FROM versions WHERE app_id = ?", app_id, "delete app: versions");
  if (!rc) hook(db, "delete:versions");
  if (!rc) rc = exec_int(db, "DELETE FROM apps WHERE id = ?", app_id, "delete app: app");
  /* Only blobs this app used are collected: a blob put for a deploy that
   * has not happened yet is not referenced by anything and must stay. */
  if (!rc)
    rc = exec_sql(db,
                  "DELETE FROM blobs WHERE sha256 IN (SELECT sha256 FROM doomed_blobs) "
                  "AND sha256 NOT IN (SELECT sha256 FROM version_blobs)",
                  "delete app: collect blobs");
  if (!rc) hook(db, "delete:blobs");
  sqlite3_stmt *stmt = NULL;
  if (!rc) rc = prepare(db, "DELETE FROM history WHERE app = ?", &stmt);
  if (!rc) {
    sqlite3_bind_text(stmt, 1, app, -1, SQLITE_STATIC);
    if (sqlite3_step(stmt) != SQLITE_DONE) rc = fail_sql(db, "delete app: history");
  }
  sqlite3_finalize(stmt);
  if (!rc) rc = record_history(db, app, 0, "delete", by);
  if (!rc) rc = exec_sql(db, "DELETE FROM doomed_blobs", "delete app");
  if (!rc) hook(db, "delete:commit");
  if (!rc) rc = commit(db);
  if (rc) {
    rollback(db);
    return rc;
  }
  hook(db, "delete:done");
  return 0;
}

/* ------------------------------------------------------------------------ */
/* Reading                                                                   */

/* Grows *array (of element size elem) to hold at least n+1 elements. */
static int grow(void **array, size_t *capacity, size_t n, size_t elem) {
  if (n < *capacity) return 0;
  size_t cap = *capacity ? *capacity * 2 : 8;
  void *p = realloc(*array, cap * elem);
  if (!p) return -1;
  memset((char *)p + *capacity * elem, 0, (cap - *capacity) * elem);
  *array = p;
  *capacity = cap;
  return 0;
}

/* Ends a read transaction; keeps rc (and its message) if it was a failure. */
static int end_read(wisp_store_db_t *db, int rc) {
  if (rc) {
    rollback(db);
    return rc;
  }
  return commit(db);
}

int wisp_store_db_list_apps(wisp_store_db_t *db, wisp_store_app_t **apps_out, size_t *count_out) {
  db->error[0] = '\0';
  *apps_out = NULL;
  *count_out = 0;
  wisp_store_app_t *apps = NULL;
  size_t count = 0, capacity = 0;
  sqlite3_stmt *stmt = NULL;
  int rc = begin_read(db);
  if (rc) return rc;
  rc = prepare(db,
               "SELECT a.name, coalesce(v.number, 0), a.created_at FROM apps a "
               "LEFT JOIN active ac ON ac.app_id = a.id LEFT JOIN versions v ON v.id = ac.version_id "
               "ORDER BY a.name",
               &stmt);
  int step = SQLITE_DONE;
  while (!rc && (step = sqlite3_step(stmt)) == SQLITE_ROW) {
    if (grow((void **)&apps, &capacity, count, sizeof *apps) != 0 ||
        !(apps[count].name = dup_column(stmt, 0))) {
      rc = fail(db, WISP_STORE_ENOMEM, "list apps: out of memory");
      break;
    }
    apps[count].active_version = sqlite3_column_int64(stmt, 1);
    apps[count].created_at = sqlite3_column_int64(stmt, 2);
    count++;
  }
  if (!rc && step != SQLITE_DONE) rc = fail_sql(db, "list apps");
  sqlite3_finalize(stmt);
  rc = end_read(db, rc);
  if (rc) {
    wisp_store_apps_free(apps, count);
    return rc;
  }
  *apps_out = apps;
  *count_out = count;
  return 0;
}

void wisp_store_apps_free(wisp_store_app_t *apps, size_t count) {
  for (size_t i = 0; apps && i < count; i++) free(apps[i].name);
  free(apps);
}

int wisp_store_db_list_versions(wisp_store_db_t *db, const char *app,
                                wisp_store_version_info_t **versions_out, size_t *count_out) {
  db->error[0] = '\0';
  *versions_out = NULL;
  *count_out = 0;
  int rc = check_name(db, "app", app);
  if (rc) return rc;
  wisp_store_version_info_t *versions = NULL;
  size_t count = 0, capacity = 0;
  sqlite3_stmt *stmt = NULL;
  int64_t app_id = 0;
  rc = begin_read(db);
  if (rc) return rc;
  rc = require_app(db, app, &app_id);
  if (!rc)
    rc = prepare(db,
                 "SELECT v.number, v.created_at, v.deployed_by, ac.version_id IS NOT NULL "
                 "FROM versions v LEFT JOIN active ac ON ac.version_id = v.id "
                 "WHERE v.app_id = ? ORDER BY v.number",
                 &stmt);
  if (!rc) sqlite3_bind_int64(stmt, 1, app_id);
  int step = SQLITE_DONE;
  while (!rc && (step = sqlite3_step(stmt)) == SQLITE_ROW) {
    if (grow((void **)&versions, &capacity, count, sizeof *versions) != 0 ||
        !(versions[count].deployed_by = dup_column(stmt, 2))) {
      rc = fail(db, WISP_STORE_ENOMEM, "list versions: out of memory");
      break;
    }
    versions[count].number = sqlite3_column_int64(stmt, 0);
    versions[count].created_at = sqlite3_column_int64(stmt, 1);
    versions[count].active = sqlite3_column_int(stmt, 3) != 0;
    count++;
  }
  if (!rc && step != SQLITE_DONE) rc = fail_sql(db, "list versions");
  sqlite3_finalize(stmt);
  rc = end_read(db, rc);
  if (rc) {
    wisp_store_version_infos_free(versions, count);
    return rc;
  }
  *versions_out = versions;
  *count_out = count;
  return 0;
}

void wisp_store_version_infos_free(wisp_store_version_info_t *versions, size_t count) {
  for (size_t i = 0; versions && i < count; i++) free(versions[i].deployed_by);
  free(versions);
}

/* Reads the blobs of version_id into v. */
static int read_version_blobs(wisp_store_db_t *db, int64_t version_id, wisp_store_version_t *v) {
  sqlite3_stmt *stmt = NULL;
  size_t capacity = 0;
  int rc = prepare(db,
                   "SELECT vb.component, b.sha256, b.size, b.data FROM version_blobs vb "
                   "JOIN blobs b ON b.sha256 = vb.sha256 WHERE vb.version_id = ? "
                   "ORDER BY vb.component",
                   &stmt);
  if (rc) return rc;
  sqlite3_bind_int64(stmt, 1, version_id);
  int step = SQLITE_DONE;
  while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
    if (grow((void **)&v->blobs, &capacity, v->blob_count, sizeof *v->blobs) != 0) break;
    wisp_store_blob_t *blob = &v->blobs[v->blob_count];
    const void *data = sqlite3_column_blob(stmt, 3);
    size_t size = (size_t)sqlite3_column_bytes(stmt, 3);
    blob->component = dup_column(stmt, 0);
    snprintf(blob->sha256, sizeof blob->sha256, "%s", column_text(stmt, 1));
    blob->size = size;
    blob->data = size ? malloc(size) : NULL;
    v->blob_count++;
    if (!blob->component || (size && !blob->data) || strlen(blob->sha256) != 64 || (size && !data))
      break;
    if (size) memcpy(blob->data, data, size);
  }
  if (step == SQLITE_ROW)
    rc = fail(db, WISP_STORE_ENOMEM, "app '%s': version %lld: out of memory", v->app,
              (long long)v->number);
  else if (step != SQLITE_DONE)
    rc = fail_sql(db, "read blobs");
  sqlite3_finalize(stmt);
  return rc;
}

/* Reads the version row (number, or the active one when 0) of app_id. */
static int read_version(wisp_store_db_t *db, const char *app, int64_t app_id, int64_t number,
                        wisp_store_version_t *v, int64_t *version_id) {
  sqlite3_stmt *stmt = NULL;
  int rc = prepare(db,
                   "SELECT v.id, v.number, v.created_at, v.deployed_by, v.manifest, "
                   "ac.version_id IS NOT NULL FROM versions v "
                   "LEFT JOIN active ac ON ac.version_id = v.id WHERE v.app_id = ?1 AND "
                   "(v.number = ?2 OR (?2 = 0 AND ac.version_id IS NOT NULL))",
                   &stmt);
  if (rc) return rc;
  sqlite3_bind_int64(stmt, 1, app_id);
  sqlite3_bind_int64(stmt, 2, number);
  int step = sqlite3_step(stmt);
  if (step == SQLITE_ROW) {
    *version_id = sqlite3_column_int64(stmt, 0);
    v->number = sqlite3_column_int64(stmt, 1);
    v->created_at = sqlite3_column_int64(stmt, 2);
    v->deployed_by = dup_column(stmt, 3);
    v->manifest = dup_column(stmt, 4);
    v->active = sqlite3_column_int(stmt, 5) != 0;
    if (!v->deployed_by || !v->manifest) rc = fail(db, WISP_STORE_ENOMEM, "app '%s': out of memory", app);
  } else if (step == SQLITE_DONE) {
    if (number == 0)
      rc = fail(db, WISP_STORE_ENOTFOUND, "app '%s' has no active version", app);
    else
      rc = fail(db, WISP_STORE_ENOTFOUND, "app '%s': version %lld does not exist", app,
                (long long)number);
  } else {
    rc = fail_sql(db, "read version");
  }
  sqlite3_finalize(stmt);
  return rc;
}

int wisp_store_db_get_version(wisp_store_db_t *db, const char *app, int64_t version,
                              wisp_store_version_t **out) {
  db->error[0] = '\0';
  *out = NULL;
  int rc = check_name(db, "app", app);
  if (rc) return rc;
  if (version < 0) return fail(db, WISP_STORE_EINVAL, "app '%s': bad version %lld", app, (long long)version);
  wisp_store_version_t *v = calloc(1, sizeof *v);
  if (!v || !(v->app = strdup(app))) {
    free(v);
    return fail(db, WISP_STORE_ENOMEM, "app '%s': out of memory", app);
  }
  int64_t app_id = 0, version_id = 0;
  rc = begin_read(db);
  if (!rc) {
    rc = require_app(db, app, &app_id);
    if (!rc) rc = read_version(db, app, app_id, version, v, &version_id);
    if (!rc) rc = read_version_blobs(db, version_id, v);
    rc = end_read(db, rc);
  }
  if (rc) {
    wisp_store_version_free(v);
    return rc;
  }
  *out = v;
  return 0;
}

void wisp_store_version_free(wisp_store_version_t *v) {
  if (!v) return;
  for (size_t i = 0; i < v->blob_count; i++) {
    free(v->blobs[i].component);
    free(v->blobs[i].data);
  }
  free(v->blobs);
  free(v->app);
  free(v->deployed_by);
  free(v->manifest);
  free(v);
}

int wisp_store_db_history(wisp_store_db_t *db, const char *app, wisp_store_event_t **events_out,
                          size_t *count_out) {
  db->error[0] = '\0';
  *events_out = NULL;
  *count_out = 0;
  wisp_store_event_t *events = NULL;
  size_t count = 0, capacity = 0;
  sqlite3_stmt *stmt = NULL;
  int rc = begin_read(db);
  if (rc) return rc;
  rc = prepare(db,
               "SELECT id, app, coalesce(version, 0), action, at, by FROM history "
               "WHERE ?1 IS NULL OR app = ?1 ORDER BY id",
               &stmt);
  if (!rc && app) sqlite3_bind_text(stmt, 1, app, -1, SQLITE_STATIC);
  int step = SQLITE_DONE;
  while (!rc && (step = sqlite3_step(stmt)) == SQLITE_ROW) {
    if (grow((void **)&events, &capacity, count, sizeof *events) != 0) {
      rc = fail(db, WISP_STORE_ENOMEM, "history: out of memory");
      break;
    }
    wisp_store_event_t *e = &events[count++];
    e->id = sqlite3_column_int64(stmt, 0);
    e->app = dup_column(stmt, 1);
    e->version = sqlite3_column_int64(stmt, 2);
    e->action = dup_column(stmt, 3);
    e->at = sqlite3_column_int64(stmt, 4);
    e->by = dup_column(stmt, 5);
    if (!e->app || !e->action || !e->by) {
      rc = fail(db, WISP_STORE_ENOMEM, "history: out of memory");
      break;
    }
  }
  if (!rc && step != SQLITE_DONE) rc = fail_sql(db, "history");
  sqlite3_finalize(stmt);
  rc = end_read(db, rc);
  if (rc) {
    wisp_store_events_free(events, count);
    return rc;
  }
  *events_out = events;
  *count_out = count;
  return 0;
}

void wisp_store_events_free(wisp_store_event_t *events, size_t count) {
  for (size_t i = 0; events && i < count; i++) {
    free(events[i].app);
    free(events[i].action);
    free(events[i].by);
  }
  free(events);
}

/* ------------------------------------------------------------------------ */
/* Consistency check                                                         */

/* Each query returns a description of a problem in its first row, if any. */
static const char *const invariant_queries[] = {
    "SELECT 'integrity_check: ' || integrity_check FROM pragma_integrity_check "
    "WHERE integrity_check != 'ok'",
    "SELECT 'foreign key violation in table ' || \"table\" FROM pragma_foreign_key_check",
    "SELECT 'blob ' || sha256 || ': size ' || size || ' but ' || length(data) || ' bytes' "
    "FROM blobs WHERE length(data) != size",
    "SELECT 'app ' || a.name || ' has versions but no active version' FROM apps a "
    "WHERE EXISTS (SELECT 1 FROM versions v WHERE v.app_id = a.id) "
    "AND NOT EXISTS (SELECT 1 FROM active ac WHERE ac.app_id = a.id)",
    "SELECT 'app ' || a.name || ' has no versions' FROM apps a "
    "WHERE NOT EXISTS (SELECT 1 FROM versions v WHERE v.app_id = a.id)",
    "SELECT 'version ' || v.number || ' of app ' || a.name || ' has no deploy history' "
    "FROM versions v JOIN apps a ON a.id = v.app_id WHERE NOT EXISTS (SELECT 1 FROM history h "
    "WHERE h.app = a.name AND h.version = v.number AND h.action = 'deploy')",
};

int wisp_store_db_check(wisp_store_db_t *db) {
  db->error[0] = '\0';
  int rc = begin_read(db);
  if (rc) return rc;
  for (size_t i = 0; !rc && i < sizeof invariant_queries / sizeof invariant_queries[0]; i++) {
    sqlite3_stmt *stmt = NULL;
    rc = prepare(db, invariant_queries[i], &stmt);
    if (rc) break;
    int step = sqlite3_step(stmt);
    if (step == SQLITE_ROW)
      rc = fail(db, WISP_STORE_EIO, "store %s: %s", db->path, column_text(stmt, 0));
    else if (step != SQLITE_DONE)
      rc = fail_sql(db, "check");
    sqlite3_finalize(stmt);
  }
  /* Every blob's key is the SHA-256 of its bytes. */
  sqlite3_stmt *stmt = NULL;
  if (!rc) rc = prepare(db, "SELECT sha256, data FROM blobs", &stmt);
  int step = SQLITE_DONE;
  while (!rc && (step = sqlite3_step(stmt)) == SQLITE_ROW) {
    char sha[65];
    const void *data = sqlite3_column_blob(stmt, 1);
    int size = sqlite3_column_bytes(stmt, 1);
    const char *key = column_text(stmt, 0);
    static const unsigned char empty[1];
    if (sha256_hex(data ? data : empty, (size_t)size, sha) != 0 || strcmp(sha, key) != 0)
      rc = fail(db, WISP_STORE_EIO, "store %s: blob %s does not match its SHA-256", db->path, key);
  }
  if (!rc && step != SQLITE_DONE) rc = fail_sql(db, "check blobs");
  sqlite3_finalize(stmt);
  return end_read(db, rc);
}
