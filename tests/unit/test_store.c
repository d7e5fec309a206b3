/*
 * test_store.c: the SQLite store (src/store/) on real database files in a
 * temporary directory: every operation, reopening, migrations, refusal of a
 * newer schema, blob dedup and collection, failed deploys that change
 * nothing, and crash safety (a child process SIGKILLed at every named point
 * of deploy, rollback and delete, and at random moments of a deploy loop).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

/* The allocations of SQLite (its allocator is replaced before its first
 * use) and of store.c (included below with malloc & co. renamed, as h2o's
 * unit tests do) fail once the budget runs out: -1 means never fail. */
static sqlite3_mem_methods default_mem;
static long alloc_budget = -1;
static bool alloc_failed;

static bool take(void) {
  if (alloc_budget == 0) {
    alloc_failed = true;
    return false;
  }
  if (alloc_budget > 0) alloc_budget--;
  return true;
}
static void *test_sqlite_malloc(int size) { return take() ? default_mem.xMalloc(size) : NULL; }
static void *test_sqlite_realloc(void *p, int size) {
  return take() ? default_mem.xRealloc(p, size) : NULL;
}

static void install_failing_allocator(void) {
  sqlite3_config(SQLITE_CONFIG_GETMALLOC, &default_mem);
  sqlite3_mem_methods methods = default_mem;
  methods.xMalloc = test_sqlite_malloc;
  methods.xRealloc = test_sqlite_realloc;
  if (sqlite3_config(SQLITE_CONFIG_MALLOC, &methods) != SQLITE_OK)
    fprintf(stderr, "could not install the failing allocator\n");
}

static void *test_malloc(size_t size) { return take() ? malloc(size) : NULL; }
static void *test_calloc(size_t count, size_t size) { return take() ? calloc(count, size) : NULL; }
static void *test_realloc(void *p, size_t size) { return take() ? realloc(p, size) : NULL; }
static char *test_strdup(const char *text) { return take() ? strdup(text) : NULL; }

#undef strdup
#define malloc  test_malloc
#define calloc  test_calloc
#define realloc test_realloc
#define strdup  test_strdup
#include "store/store.c"
#undef malloc
#undef calloc
#undef realloc
#undef strdup

static int passed, failed;

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (cond) {                                                                \
      passed++;                                                                \
    } else {                                                                   \
      failed++;                                                                \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
    }                                                                          \
  } while (0)

static char root[256]; /* the temporary directory of this run */
/* Where the allocation-failure tests keep their stores: /dev/shm when there
 * is one (they open, write and fsync thousands of times; on tmpfs fsync
 * costs nothing), else root. */
static char fast_root[256];

static bool streq(const char *a, const char *b) { return a && b && strcmp(a, b) == 0; }
static bool contains(const char *s, const char *part) { return s && part && strstr(s, part); }

/* root/name into out. */
static const char *tmp_path(char *out, size_t size, const char *name) {
  snprintf(out, size, "%s/%s", root, name);
  return out;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  return remove(path);
}

static void remove_tree(const char *dir) { nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS); }

static const char *fast_path(char *out, size_t size, const char *name) {
  snprintf(out, size, "%s/%s", fast_root[0] ? fast_root : root, name);
  return out;
}

static wisp_store_db_t *open_ok(const char *dir) {
  char error[512];
  wisp_store_db_t *db = NULL;
  int rc = wisp_store_db_open(dir, &db, error, sizeof error);
  if (rc != 0) fprintf(stderr, "open %s: %d %s\n", dir, rc, error);
  CHECK(rc == 0 && db);
  return db;
}

/* Every row of every table of DIR/wisp.db as text (blob data as its
 * length), so that two states can be compared. Caller frees. */
static char *dump_state(const char *dir) {
  static const char *const queries[] = {
      "SELECT 'S', version FROM schema_version ORDER BY version",
      "SELECT 'A', id, name, created_at FROM apps ORDER BY id",
      "SELECT 'V', id, app_id, number, manifest, created_at, deployed_by FROM versions ORDER BY id",
      "SELECT 'B', sha256, size, length(data) FROM blobs ORDER BY sha256",
      "SELECT 'L', version_id, component, sha256 FROM version_blobs ORDER BY version_id, component",
      "SELECT 'C', app_id, version_id FROM active ORDER BY app_id",
      "SELECT 'H', id, app, version, action, at, by FROM history ORDER BY id",
  };
  char path[512];
  snprintf(path, sizeof path, "%s/wisp.db", dir);
  sqlite3 *sql = NULL;
  char *text = NULL;
  size_t size = 0;
  FILE *out = open_memstream(&text, &size);
  if (sqlite3_open_v2(path, &sql, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
    fprintf(out, "cannot open %s", path);
    goto done;
  }
  for (size_t q = 0; q < sizeof queries / sizeof queries[0]; q++) {
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(sql, queries[q], -1, &stmt, NULL) != SQLITE_OK) {
      fprintf(out, "error %s\n", sqlite3_errmsg(sql));
      continue;
    }
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      for (int c = 0; c < sqlite3_column_count(stmt); c++) {
        const unsigned char *v = sqlite3_column_text(stmt, c);
        fprintf(out, "%s|", v ? (const char *)v : "NULL");
      }
      fputc('\n', out);
    }
    sqlite3_finalize(stmt);
  }
done:
  sqlite3_close(sql);
  fclose(out);
  return text;
}

/* Runs one SQL statement on DIR/wisp.db directly (to damage or age it). */
static int raw_exec(const char *dir, const char *statement) {
  char path[512];
  snprintf(path, sizeof path, "%s/wisp.db", dir);
  sqlite3 *sql = NULL;
  int rc = sqlite3_open(path, &sql);
  if (rc == SQLITE_OK) rc = sqlite3_exec(sql, statement, NULL, NULL, NULL);
  sqlite3_close(sql);
  return rc;
}

static int64_t active_of(wisp_store_db_t *db, const char *app) {
  wisp_store_app_t *apps = NULL;
  size_t count = 0;
  int64_t active = -1;
  if (wisp_store_db_list_apps(db, &apps, &count) != 0) return -2;
  for (size_t i = 0; i < count; i++)
    if (streq(apps[i].name, app)) active = apps[i].active_version;
  wisp_store_apps_free(apps, count);
  return active;
}

/* Puts text as a blob and returns its key in sha. */
static void put_text(wisp_store_db_t *db, const char *text, char sha[65]) {
  int rc = wisp_store_db_put_blob(db, text, strlen(text), sha);
  if (rc) fprintf(stderr, "put blob: %s\n", wisp_store_db_error(db));
  CHECK(rc == 0);
}

/* ------------------------------------------------------------------------ */

static void test_open(void) {
  char dir[512], error[512];
  tmp_path(dir, sizeof dir, "a/b/store");
  wisp_store_db_t *db = open_ok(dir);
  struct stat st;
  CHECK(stat(dir, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0700);
  tmp_path(error, sizeof error, "a/b");
  CHECK(stat(error, &st) == 0 && (st.st_mode & 0777) == 0700);
  int version = 0;
  CHECK(wisp_store_db_schema_version(db, &version) == 0 && version == WISP_STORE_SCHEMA_VERSION);
  CHECK(wisp_store_db_check(db) == 0);
  wisp_store_db_close(db);

  /* WAL mode is persistent in the file. */
  char path[600];
  snprintf(path, sizeof path, "%s/wisp.db", dir);
  sqlite3 *sql = NULL;
  CHECK(sqlite3_open(path, &sql) == SQLITE_OK);
  sqlite3_stmt *stmt = NULL;
  CHECK(sqlite3_prepare_v2(sql, "PRAGMA journal_mode", -1, &stmt, NULL) == SQLITE_OK);
  CHECK(sqlite3_step(stmt) == SQLITE_ROW && streq((const char *)sqlite3_column_text(stmt, 0), "wal"));
  sqlite3_finalize(stmt);
  sqlite3_close(sql);

  /* A file where the directory should be. */
  tmp_path(path, sizeof path, "plainfile");
  FILE *f = fopen(path, "w");
  if (f) fclose(f);
  db = NULL;
  CHECK(wisp_store_db_open(path, &db, error, sizeof error) < 0 && !db);
  CHECK(contains(error, "not a directory"));
  /* No error buffer is fine. */
  CHECK(wisp_store_db_open(path, &db, NULL, 0) < 0 && !db);
}

static void test_migrations(void) {
  char dir[512], error[512];
  tmp_path(dir, sizeof dir, "migrations");
  wisp_store_db_t *db = open_ok(dir);
  wisp_store_db_close(db);
  char *before = dump_state(dir);
  /* Opening again applies nothing and changes nothing. */
  db = open_ok(dir);
  wisp_store_db_close(db);
  db = open_ok(dir);
  wisp_store_db_close(db);
  char *after = dump_state(dir);
  CHECK(streq(before, after));
  CHECK(contains(after, "S|1|\n") && !contains(after, "S|2|"));
  free(before);
  free(after);

  /* A schema newer than this binary is refused, and left alone. */
  CHECK(raw_exec(dir, "INSERT INTO schema_version VALUES (99, 0)") == SQLITE_OK);
  before = dump_state(dir);
  db = NULL;
  CHECK(wisp_store_db_open(dir, &db, error, sizeof error) == WISP_STORE_ESCHEMA && !db);
  CHECK(contains(error, "schema version 99 is newer") && contains(error, "(1)"));
  after = dump_state(dir);
  CHECK(streq(before, after));
  free(before);
  free(after);

  /* A store holding only the migrations table (say, a crash during the
   * first migration's transaction is impossible, but an empty table is
   * what a fresh file looks like after it) migrates normally. */
  tmp_path(dir, sizeof dir, "migrations-empty");
  mkdir(dir, 0700);
  CHECK(raw_exec(dir, "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at "
                      "INTEGER NOT NULL)") == SQLITE_OK);
  db = open_ok(dir);
  int version = 0;
  CHECK(db && wisp_store_db_schema_version(db, &version) == 0 && version == 1);
  wisp_store_db_close(db);
}

static void test_blobs(void) {
  char dir[512], a[65], b[65], c[65];
  tmp_path(dir, sizeof dir, "blobs");
  wisp_store_db_t *db = open_ok(dir);
  put_text(db, "abc", a);
  CHECK(streq(a, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
  put_text(db, "abc", b);
  CHECK(streq(a, b));
  CHECK(wisp_store_db_put_blob(db, NULL, 0, c) == 0);
  CHECK(streq(c, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
  bool exists = false;
  CHECK(wisp_store_db_has_blob(db, a, &exists) == 0 && exists);
  CHECK(wisp_store_db_has_blob(db, "0000000000000000000000000000000000000000000000000000000000000000",
                               &exists) == 0 &&
        !exists);
  void *data = NULL;
  size_t size = 0;
  CHECK(wisp_store_db_get_blob(db, a, &data, &size) == 0 && size == 3 && memcmp(data, "abc", 3) == 0);
  free(data);
  CHECK(wisp_store_db_get_blob(db, c, &data, &size) == 0 && size == 0 && !data);
  CHECK(wisp_store_db_get_blob(db, "1111111111111111111111111111111111111111111111111111111111111111",
                               &data, &size) == WISP_STORE_ENOTFOUND && !data);
  CHECK(contains(wisp_store_db_error(db), "blob 1111") &&
        contains(wisp_store_db_error(db), "does not exist"));
  CHECK(wisp_store_db_get_blob(db, "abc", &data, &size) == WISP_STORE_EINVAL);
  CHECK(wisp_store_db_has_blob(db, "ABC", &exists) == WISP_STORE_EINVAL);
  CHECK(contains(wisp_store_db_error(db), "not a SHA-256"));
  CHECK(wisp_store_db_check(db) == 0);
  wisp_store_db_close(db);
  char *state = dump_state(dir);
  /* Two blobs stored: "abc" once, and the empty one. */
  CHECK(contains(state, "B|ba7816bf") && contains(state, "B|e3b0c442"));
  CHECK(strstr(strstr(state, "B|ba7816bf") + 1, "B|ba7816bf") == NULL);
  free(state);
}

static void test_deploy_and_read(void) {
  char dir[512], m1[65], m2[65], shared[65];
  tmp_path(dir, sizeof dir, "deploy");
  wisp_store_db_t *db = open_ok(dir);
  put_text(db, "module one", m1);
  put_text(db, "module two", m2);
  put_text(db, "shared module", shared);

  wisp_store_component_t v1[] = {{"web", m1}, {"api", shared}};
  int64_t number = 0;
  CHECK(wisp_store_db_deploy(db, "shop", "name = 'shop'\n", v1, 2, "alice", &number) == 0 && number == 1);
  wisp_store_component_t v2[] = {{"web", m2}, {"api", shared}};
  CHECK(wisp_store_db_deploy(db, "shop", "name = 'shop' # 2\n", v2, 2, "token:ci", &number) == 0 &&
        number == 2);
  wisp_store_component_t other[] = {{"main", shared}};
  CHECK(wisp_store_db_deploy(db, "blog", "blog", other, 1, "bob", &number) == 0 && number == 1);
  CHECK(wisp_store_db_deploy(db, "empty", "", NULL, 0, NULL, &number) == 0 && number == 1);

  wisp_store_app_t *apps = NULL;
  size_t count = 0;
  CHECK(wisp_store_db_list_apps(db, &apps, &count) == 0 && count == 3);
  if (count == 3) {
    CHECK(streq(apps[0].name, "blog") && apps[0].active_version == 1);
    CHECK(streq(apps[1].name, "empty") && apps[1].active_version == 1);
    CHECK(streq(apps[2].name, "shop") && apps[2].active_version == 2);
    CHECK(apps[2].created_at > 1700000000);
  }
  wisp_store_apps_free(apps, count);

  wisp_store_version_info_t *versions = NULL;
  CHECK(wisp_store_db_list_versions(db, "shop", &versions, &count) == 0 && count == 2);
  if (count == 2) {
    CHECK(versions[0].number == 1 && !versions[0].active && streq(versions[0].deployed_by, "alice"));
    CHECK(versions[1].number == 2 && versions[1].active && streq(versions[1].deployed_by, "token:ci"));
  }
  wisp_store_version_infos_free(versions, count);
  CHECK(wisp_store_db_list_versions(db, "nope", &versions, &count) == WISP_STORE_ENOTFOUND);
  CHECK(streq(wisp_store_db_error(db), "app 'nope' does not exist"));

  wisp_store_version_t *v = NULL;
  CHECK(wisp_store_db_get_version(db, "shop", 0, &v) == 0 && v);
  if (v) {
    CHECK(v->number == 2 && v->active && streq(v->manifest, "name = 'shop' # 2\n"));
    CHECK(streq(v->app, "shop") && streq(v->deployed_by, "token:ci"));
    CHECK(v->blob_count == 2);
    if (v->blob_count == 2) {
      CHECK(streq(v->blobs[0].component, "api") && streq(v->blobs[0].sha256, shared));
      CHECK(v->blobs[0].size == 13 && memcmp(v->blobs[0].data, "shared module", 13) == 0);
      CHECK(streq(v->blobs[1].component, "web") && streq(v->blobs[1].sha256, m2));
      CHECK(v->blobs[1].size == 10 && memcmp(v->blobs[1].data, "module two", 10) == 0);
    }
  }
  wisp_store_version_free(v);
  v = NULL;
  CHECK(wisp_store_db_get_version(db, "shop", 1, &v) == 0 && v && v->number == 1 && !v->active);
  if (v && v->blob_count == 2) CHECK(memcmp(v->blobs[1].data, "module one", 10) == 0);
  wisp_store_version_free(v);
  v = NULL;
  CHECK(wisp_store_db_get_version(db, "shop", 7, &v) == WISP_STORE_ENOTFOUND && !v);
  CHECK(streq(wisp_store_db_error(db), "app 'shop': version 7 does not exist"));
  CHECK(wisp_store_db_get_version(db, "nope", 0, &v) == WISP_STORE_ENOTFOUND && !v);
  CHECK(wisp_store_db_get_version(db, "empty", 0, &v) == 0 && v && v->blob_count == 0);
  wisp_store_version_free(v);

  wisp_store_event_t *events = NULL;
  CHECK(wisp_store_db_history(db, "shop", &events, &count) == 0 && count == 2);
  if (count == 2) {
    CHECK(streq(events[0].action, "deploy") && events[0].version == 1 && streq(events[0].by, "alice"));
    CHECK(streq(events[1].action, "deploy") && events[1].version == 2 && events[1].id > events[0].id);
  }
  wisp_store_events_free(events, count);
  CHECK(wisp_store_db_history(db, NULL, &events, &count) == 0 && count == 4);
  wisp_store_events_free(events, count);
  CHECK(wisp_store_db_check(db) == 0);
  wisp_store_db_close(db);

  /* Reopened, the store holds the same state. */
  char *before = dump_state(dir);
  db = open_ok(dir);
  CHECK(active_of(db, "shop") == 2 && active_of(db, "blog") == 1);
  CHECK(wisp_store_db_check(db) == 0);
  wisp_store_db_close(db);
  char *after = dump_state(dir);
  CHECK(streq(before, after));
  free(before);
  free(after);
}

/* Deploys that fail at any step leave the store exactly as it was. */
static void test_failed_deploys(void) {
  char dir[512], m1[65];
  tmp_path(dir, sizeof dir, "deploy-fail");
  wisp_store_db_t *db = open_ok(dir);
  put_text(db, "module one", m1);
  wisp_store_component_t v1[] = {{"web", m1}};
  CHECK(wisp_store_db_deploy(db, "shop", "v1", v1, 1, "alice", NULL) == 0);
  char *before = dump_state(dir);

  const char *missing = "1111111111111111111111111111111111111111111111111111111111111111";
  wisp_store_component_t bad_blob[] = {{"web", m1}, {"api", missing}};
  CHECK(wisp_store_db_deploy(db, "shop", "v2", bad_blob, 2, "alice", NULL) == WISP_STORE_ENOTFOUND);
  CHECK(contains(wisp_store_db_error(db), "component 'api': blob 1111") &&
        contains(wisp_store_db_error(db), "does not exist"));
  /* A new app whose deploy fails is not created either. */
  CHECK(wisp_store_db_deploy(db, "new", "v1", bad_blob, 2, "alice", NULL) == WISP_STORE_ENOTFOUND);
  wisp_store_component_t bad_sha[] = {{"web", "xyz"}};
  CHECK(wisp_store_db_deploy(db, "shop", "v2", bad_sha, 1, "alice", NULL) == WISP_STORE_EINVAL);
  CHECK(contains(wisp_store_db_error(db), "'xyz' is not a SHA-256"));
  wisp_store_component_t twice[] = {{"web", m1}, {"web", m1}};
  CHECK(wisp_store_db_deploy(db, "shop", "v2", twice, 2, "alice", NULL) == WISP_STORE_EINVAL);
  CHECK(contains(wisp_store_db_error(db), "component 'web' is listed twice"));
  wisp_store_component_t unnamed[] = {{"", m1}};
  CHECK(wisp_store_db_deploy(db, "shop", "v2", unnamed, 1, "alice", NULL) == WISP_STORE_EINVAL);
  CHECK(wisp_store_db_deploy(db, "", "v2", v1, 1, "alice", NULL) == WISP_STORE_EINVAL);
  CHECK(streq(wisp_store_db_error(db), "app name is empty"));
  char long_name[300];
  memset(long_name, 'x', sizeof long_name - 1);
  long_name[sizeof long_name - 1] = '\0';
  CHECK(wisp_store_db_deploy(db, long_name, "v2", v1, 1, "alice", NULL) == WISP_STORE_EINVAL);
  CHECK(wisp_store_db_deploy(db, "shop", NULL, v1, 1, "alice", NULL) == WISP_STORE_EINVAL);

  CHECK(active_of(db, "shop") == 1);
  CHECK(wisp_store_db_check(db) == 0);
  wisp_store_db_close(db);
  char *after = dump_state(dir);
  CHECK(streq(before, after));
  if (!streq(before, after)) fprintf(stderr, "before:\n%s\nafter:\n%s\n", before, after);
  free(before);
  free(after);
}

static void test_rollback(void) {
  char dir[512], m[3][65];
  tmp_path(dir, sizeof dir, "rollback");
  wisp_store_db_t *db = open_ok(dir);
  put_text(db, "one", m[0]);
  put_text(db, "two", m[1]);
  put_text(db, "three", m[2]);
  for (int i = 0; i < 3; i++) {
    wisp_store_component_t c[] = {{"web", m[i]}};
    CHECK(wisp_store_db_deploy(db, "shop", "manifest", c, 1, "alice", NULL) == 0);
  }
  int64_t active = 0;
  CHECK(wisp_store_db_rollback(db, "shop", 0, "bob", &active) == 0 && active == 2);
  CHECK(active_of(db, "shop") == 2);
  CHECK(wisp_store_db_rollback(db, "shop", 0, "bob", &active) == 0 && active == 1);
  char *before = dump_state(dir);
  CHECK(wisp_store_db_rollback(db, "shop", 0, "bob", &active) == WISP_STORE_ENOTFOUND);
  CHECK(streq(wisp_store_db_error(db), "app 'shop': no version before version 1 to roll back to"));
  CHECK(wisp_store_db_rollback(db, "shop", 7, "bob", &active) == WISP_STORE_ENOTFOUND);
  CHECK(streq(wisp_store_db_error(db), "app 'shop': version 7 does not exist"));
  CHECK(wisp_store_db_rollback(db, "nope", 1, "bob", &active) == WISP_STORE_ENOTFOUND);
  CHECK(wisp_store_db_rollback(db, "shop", -1, "bob", &active) == WISP_STORE_EINVAL);
  char *after = dump_state(dir);
  CHECK(streq(before, after));
  free(before);
  free(after);
  /* Forward again to a given version; a new deploy gets the next number. */
  CHECK(wisp_store_db_rollback(db, "shop", 3, "carol", &active) == 0 && active == 3);
  wisp_store_component_t c[] = {{"web", m[0]}};
  int64_t number = 0;
  CHECK(wisp_store_db_rollback(db, "shop", 1, "carol", NULL) == 0);
  CHECK(wisp_store_db_deploy(db, "shop", "manifest", c, 1, "alice", &number) == 0 && number == 4);
  CHECK(active_of(db, "shop") == 4);

  wisp_store_event_t *events = NULL;
  size_t count = 0;
  CHECK(wisp_store_db_history(db, "shop", &events, &count) == 0 && count == 8);
  if (count == 8) {
    CHECK(streq(events[3].action, "rollback") && events[3].version == 2 && streq(events[3].by, "bob"));
    CHECK(streq(events[4].action, "rollback") && events[4].version == 1);
    CHECK(streq(events[5].action, "rollback") && events[5].version == 3 && streq(events[5].by, "carol"));
    CHECK(streq(events[7].action, "deploy") && events[7].version == 4);
  }
  wisp_store_events_free(events, count);
  CHECK(wisp_store_db_check(db) == 0);
  wisp_store_db_close(db);
}

static void test_delete(void) {
  char dir[512], own[65], shared[65], loose[65];
  tmp_path(dir, sizeof dir, "delete");
  wisp_store_db_t *db = open_ok(dir);
  put_text(db, "own module", own);
  put_text(db, "shared module", shared);
  put_text(db, "uploaded, not yet deployed", loose);
  wisp_store_component_t shop[] = {{"web", own}, {"api", shared}};
  CHECK(wisp_store_db_deploy(db, "shop", "m", shop, 2, "alice", NULL) == 0);
  CHECK(wisp_store_db_deploy(db, "shop", "m", shop, 2, "alice", NULL) == 0);
  wisp_store_component_t blog[] = {{"main", shared}};
  CHECK(wisp_store_db_deploy(db, "blog", "m", blog, 1, "bob", NULL) == 0);

  CHECK(wisp_store_db_delete_app(db, "shop", "admin") == 0);
  bool exists = true;
  CHECK(wisp_store_db_has_blob(db, own, &exists) == 0 && !exists);    /* collected */
  CHECK(wisp_store_db_has_blob(db, shared, &exists) == 0 && exists);  /* blog uses it */
  CHECK(wisp_store_db_has_blob(db, loose, &exists) == 0 && exists);   /* never used */
  CHECK(active_of(db, "shop") == -1 && active_of(db, "blog") == 1);
  wisp_store_version_info_t *versions = NULL;
  size_t count = 0;
  CHECK(wisp_store_db_list_versions(db, "shop", &versions, &count) == WISP_STORE_ENOTFOUND);
  wisp_store_event_t *events = NULL;
  CHECK(wisp_store_db_history(db, "shop", &events, &count) == 0 && count == 1);
  if (count == 1)
    CHECK(streq(events[0].action, "delete") && events[0].version == 0 && streq(events[0].by, "admin"));
  wisp_store_events_free(events, count);
  CHECK(wisp_store_db_delete_app(db, "shop", "admin") == WISP_STORE_ENOTFOUND);
  CHECK(streq(wisp_store_db_error(db), "app 'shop' does not exist"));

  /* Deleting the last user of a shared blob collects it. */
  CHECK(wisp_store_db_delete_app(db, "blog", "admin") == 0);
  CHECK(wisp_store_db_has_blob(db, shared, &exists) == 0 && !exists);
  /* An app deployed again after a delete starts at version 1. */
  wisp_store_component_t again[] = {{"web", loose}};
  int64_t number = 0;
  CHECK(wisp_store_db_deploy(db, "shop", "m", again, 1, "alice", &number) == 0 && number == 1);
  CHECK(wisp_store_db_check(db) == 0);
  wisp_store_db_close(db);
}

/* Two handles on one store see each other's commits. */
static void test_two_handles(void) {
  char dir[512], m[65];
  tmp_path(dir, sizeof dir, "two");
  wisp_store_db_t *a = open_ok(dir), *b = open_ok(dir);
  put_text(a, "module", m);
  wisp_store_component_t c[] = {{"web", m}};
  CHECK(wisp_store_db_deploy(a, "shop", "m", c, 1, "alice", NULL) == 0);
  CHECK(active_of(b, "shop") == 1);
  CHECK(wisp_store_db_deploy(b, "shop", "m", c, 1, "bob", NULL) == 0);
  CHECK(active_of(a, "shop") == 2);
  wisp_store_db_close(a);
  wisp_store_db_close(b);
}

/* A deploy waits for another process's write transaction (up to the busy
 * timeout) instead of failing at once. */
static void test_busy_wait(void) {
  char dir[512], m[65], path[600];
  tmp_path(dir, sizeof dir, "busy");
  wisp_store_db_t *db = open_ok(dir);
  if (!db) return;
  put_text(db, "module", m);
  snprintf(path, sizeof path, "%s/wisp.db", dir);
  int ready[2];
  CHECK(pipe(ready) == 0);
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    sqlite3 *sql = NULL;
    if (sqlite3_open(path, &sql) != SQLITE_OK ||
        sqlite3_exec(sql, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
      _exit(2);
    if (write(ready[1], "x", 1) != 1) _exit(3);
    struct timespec hold = {0, 300 * 1000000L};
    nanosleep(&hold, NULL);
    sqlite3_exec(sql, "COMMIT", NULL, NULL, NULL);
    sqlite3_close(sql);
    _exit(0);
  }
  char byte = 0;
  CHECK(read(ready[0], &byte, 1) == 1);
  struct timespec start, end;
  clock_gettime(CLOCK_MONOTONIC, &start);
  wisp_store_component_t c[] = {{"web", m}};
  int rc = wisp_store_db_deploy(db, "shop", "m", c, 1, "alice", NULL);
  clock_gettime(CLOCK_MONOTONIC, &end);
  if (rc) fprintf(stderr, "busy deploy: %s\n", wisp_store_db_error(db));
  CHECK(rc == 0);
  double waited = (double)(end.tv_sec - start.tv_sec) + (double)(end.tv_nsec - start.tv_nsec) / 1e9;
  CHECK(waited > 0.2 && waited < WISP_STORE_BUSY_TIMEOUT_MS / 1000.0);
  int status = 0;
  CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
  close(ready[0]);
  close(ready[1]);
  CHECK(active_of(db, "shop") == 1);
  wisp_store_db_close(db);
}

/* The check notices damage done behind the store's back. */
static void test_check_detects(void) {
  char dir[512], m[65];
  tmp_path(dir, sizeof dir, "damaged");
  wisp_store_db_t *db = open_ok(dir);
  put_text(db, "module", m);
  wisp_store_component_t c[] = {{"web", m}};
  CHECK(wisp_store_db_deploy(db, "shop", "m", c, 1, "alice", NULL) == 0);
  wisp_store_db_close(db);
  CHECK(raw_exec(dir, "UPDATE blobs SET data = x'00', size = 1") == SQLITE_OK);
  db = open_ok(dir);
  CHECK(wisp_store_db_check(db) == WISP_STORE_EIO);
  CHECK(contains(wisp_store_db_error(db), "does not match its SHA-256"));
  wisp_store_db_close(db);
  CHECK(raw_exec(dir, "PRAGMA foreign_keys=OFF; DELETE FROM versions") == SQLITE_OK);
  db = open_ok(dir);
  CHECK(wisp_store_db_check(db) == WISP_STORE_EIO);
  CHECK(contains(wisp_store_db_error(db), "foreign key violation"));
  wisp_store_db_close(db);
}

/* Prepares DIR with app "shop" at versions 1 and 2 (2 active) and blobs
 * "one", "two" and "three" (only the first two used), then closes it. */
static void crash_setup(const char *dir, char three[65]) {
  char one[65], two[65];
  wisp_store_db_t *db = open_ok(dir);
  if (!db) return;
  put_text(db, "one", one);
  put_text(db, "two", two);
  put_text(db, "three", three);
  wisp_store_component_t c1[] = {{"web", one}}, c2[] = {{"web", two}};
  CHECK(wisp_store_db_deploy(db, "shop", "v1", c1, 1, "alice", NULL) == 0);
  CHECK(wisp_store_db_deploy(db, "shop", "v2", c2, 1, "alice", NULL) == 0);
  wisp_store_db_close(db);
}

/* ------------------------------------------------------------------------ */
/* Allocation failures inside SQLite                                         */

/* Fails the n-th allocation (SQLite's or the store's) of a deploy, a
 * rollback, a delete and reads, for every n until the operation no longer
 * meets a failure: each fails cleanly with a message and no change, or
 * succeeds in full. */
static void test_nomem_open(void) {
  char dir[512], error[512];
  fast_path(dir, sizeof dir, "nomem-open");
  bool done = false;
  int failures = 0;
  for (long n = 0; !done && n < 100000; n++) {
    wisp_store_db_t *db = NULL;
    alloc_failed = false;
    alloc_budget = n;
    error[0] = '\0';
    int rc = wisp_store_db_open(dir, &db, error, sizeof error);
    alloc_budget = -1;
    done = !alloc_failed;
    if (rc != 0) {
      failures++;
      CHECK(!db && error[0] != '\0');
    }
    wisp_store_db_close(db);
    /* Whatever the failure, the next open migrates or finds it done. */
    db = open_ok(dir);
    if (db) CHECK(wisp_store_db_check(db) == 0);
    wisp_store_db_close(db);
    remove_tree(dir);
  }
  CHECK(done && failures > 0);
}

static void test_nomem(void) {
  static const char *const ops[] = {"deploy", "rollback", "delete", "list", "get", "history",
                                    "versions", "blob"};
  test_nomem_open();
  for (size_t op = 0; op < sizeof ops / sizeof ops[0]; op++) {
    char dir[512], name[64], three[65] = "";
    snprintf(name, sizeof name, "nomem-%s", ops[op]);
    fast_path(dir, sizeof dir, name);
    crash_setup(dir, three);
    char *before = dump_state(dir);
    int failures = 0;
    bool done = false;
    for (long n = 0; !done && n < 100000; n++) {
      wisp_store_db_t *db = open_ok(dir);
      if (!db) break;
      alloc_failed = false;
      alloc_budget = n;
      wisp_store_component_t c3[] = {{"web", three}};
      wisp_store_app_t *apps = NULL;
      size_t count = 0;
      int rc = 0;
      if (op == 0) rc = wisp_store_db_deploy(db, "shop", "v3", c3, 1, "ci", NULL);
      if (op == 1) rc = wisp_store_db_rollback(db, "shop", 0, "ci", NULL);
      if (op == 2) rc = wisp_store_db_delete_app(db, "shop", "ci");
      if (op == 3) rc = wisp_store_db_list_apps(db, &apps, &count);
      if (op == 4) {
        wisp_store_version_t *v = NULL;
        rc = wisp_store_db_get_version(db, "shop", 0, &v);
        CHECK(rc != 0 || (v && v->blob_count == 1 && v->blobs[0].size == 3 && v->manifest));
        CHECK(rc == 0 || !v);
        wisp_store_version_free(v);
      }
      if (op == 5) {
        wisp_store_event_t *events = NULL;
        size_t n_events = 0;
        rc = wisp_store_db_history(db, NULL, &events, &n_events);
        CHECK(rc != 0 || n_events == 2);
        CHECK(rc == 0 || (!events && !n_events));
        wisp_store_events_free(events, n_events);
      }
      if (op == 6) {
        wisp_store_version_info_t *versions = NULL;
        size_t n_versions = 0;
        rc = wisp_store_db_list_versions(db, "shop", &versions, &n_versions);
        CHECK(rc != 0 || n_versions == 2);
        CHECK(rc == 0 || (!versions && !n_versions));
        wisp_store_version_infos_free(versions, n_versions);
      }
      if (op == 7) {
        void *data = NULL;
        size_t size = 0;
        rc = wisp_store_db_get_blob(db, three, &data, &size);
        CHECK(rc != 0 || (size == 5 && memcmp(data, "three", 5) == 0));
        CHECK(rc == 0 || (!data && !size));
        free(data);
      }
      alloc_budget = -1;
      done = !alloc_failed;
      if (rc != 0) {
        failures++;
        CHECK(wisp_store_db_error(db)[0] != '\0');
        CHECK(apps == NULL && count == 0);
      }
      int check = wisp_store_db_check(db);
      if (check) fprintf(stderr, "%s n=%ld rc=%d: check: %s\n", ops[op], n, rc, wisp_store_db_error(db));
      CHECK(check == 0);
      wisp_store_db_close(db);
      char *after = dump_state(dir);
      if (rc != 0 || op >= 3) {
        CHECK(streq(before, after));
      } else {
        /* Succeeded despite a failed allocation (SQLite can recover from
         * some): the change is whole. Undo it for the next round. */
        CHECK(!streq(before, after));
        free(before);
        remove_tree(dir);
        crash_setup(dir, three);
        before = dump_state(dir);
      }
      free(after);
      wisp_store_apps_free(apps, count);
    }
    CHECK(done);
    CHECK(failures > 0);
    free(before);
  }
}

/* ------------------------------------------------------------------------ */
/* Crash safety                                                              */

static const char *kill_point;

static void kill_at(void *ctx, const char *point) {
  if (strcmp(point, kill_point) == 0) kill(getpid(), SIGKILL);
}

/* In a child: open dir, kill ourselves at `point` of operation `op`. */
static void crash_child(const char *dir, const char *op, const char *point, const char *three) {
  kill_point = point;
  wisp_store_db_t *db = NULL;
  if (wisp_store_db_open(dir, &db, NULL, 0) != 0) _exit(2);
  wisp__store_db_set_hook(db, kill_at, NULL);
  wisp_store_component_t c3[] = {{"web", three}};
  if (strcmp(op, "deploy") == 0) wisp_store_db_deploy(db, "shop", "v3", c3, 1, "ci", NULL);
  if (strcmp(op, "rollback") == 0) wisp_store_db_rollback(db, "shop", 0, "ci", NULL);
  if (strcmp(op, "delete") == 0) wisp_store_db_delete_app(db, "shop", "ci");
  _exit(3); /* not killed: the point was never reached */
}

static void test_crash_points(void) {
  static const struct {
    const char *op, *point;
    int64_t active_after; /* -1: app gone */
  } cases[] = {
      {"deploy", "deploy:app", 2},       {"deploy", "deploy:version", 2},
      {"deploy", "deploy:blobs", 2},     {"deploy", "deploy:active", 2},
      {"deploy", "deploy:history", 2},   {"deploy", "deploy:commit", 2},
      {"deploy", "deploy:done", 3},      {"rollback", "rollback:active", 2},
      {"rollback", "rollback:commit", 2}, {"rollback", "rollback:done", 1},
      {"delete", "delete:active", 2},    {"delete", "delete:versions", 2},
      {"delete", "delete:blobs", 2},     {"delete", "delete:commit", 2},
      {"delete", "delete:done", -1},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char dir[512], name[64], three[65] = "";
    snprintf(name, sizeof name, "crash-%zu", i);
    tmp_path(dir, sizeof dir, name);
    crash_setup(dir, three);
    char *before = dump_state(dir);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) crash_child(dir, cases[i].op, cases[i].point, three);
    int status = 0;
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
    bool killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
    if (!killed) fprintf(stderr, "%s: child was not killed (status %d)\n", cases[i].point, status);
    CHECK(killed);

    wisp_store_db_t *db = open_ok(dir);
    if (!db) continue;
    int rc = wisp_store_db_check(db);
    if (rc) fprintf(stderr, "%s: %s\n", cases[i].point, wisp_store_db_error(db));
    CHECK(rc == 0);
    int64_t active = active_of(db, "shop");
    if (active != cases[i].active_after)
      fprintf(stderr, "%s: active %lld, expected %lld\n", cases[i].point, (long long)active,
              (long long)cases[i].active_after);
    CHECK(active == cases[i].active_after);
    wisp_store_db_close(db);
    /* Killed before its commit, the operation left no trace at all. */
    char *after = dump_state(dir);
    bool committed = strstr(cases[i].point, ":done") != NULL;
    CHECK(committed != streq(before, after));
    free(before);
    free(after);
  }
}

/* A VFS that forwards to the default one and SIGKILLs the process before
 * its n-th write or sync of any file (the database, its WAL), so that a
 * crash can be placed between any two I/O steps of a commit or of the
 * checkpoint that follows it. */
typedef struct shim_file {
  sqlite3_file base;
  sqlite3_file *real; /* follows this struct in the same allocation */
} shim_file_t;

static sqlite3_vfs *real_vfs;
static sqlite3_vfs shim_vfs;
static sqlite3_io_methods shim_io;
static long io_left = -1; /* writes and syncs before the kill; -1 never */

static void io_step(void) {
  if (io_left == 0) kill(getpid(), SIGKILL);
  if (io_left > 0) io_left--;
}

static sqlite3_file *real_of(sqlite3_file *f) { return ((shim_file_t *)f)->real; }
static int shim_close(sqlite3_file *f) { return real_of(f)->pMethods->xClose(real_of(f)); }
static int shim_read(sqlite3_file *f, void *buf, int n, sqlite3_int64 off) {
  return real_of(f)->pMethods->xRead(real_of(f), buf, n, off);
}
static int shim_write(sqlite3_file *f, const void *buf, int n, sqlite3_int64 off) {
  io_step();
  return real_of(f)->pMethods->xWrite(real_of(f), buf, n, off);
}
static int shim_truncate(sqlite3_file *f, sqlite3_int64 size) {
  io_step();
  return real_of(f)->pMethods->xTruncate(real_of(f), size);
}
static int shim_sync(sqlite3_file *f, int flags) {
  io_step();
  return real_of(f)->pMethods->xSync(real_of(f), flags);
}
static int shim_size(sqlite3_file *f, sqlite3_int64 *size) {
  return real_of(f)->pMethods->xFileSize(real_of(f), size);
}
static int shim_lock(sqlite3_file *f, int l) { return real_of(f)->pMethods->xLock(real_of(f), l); }
static int shim_unlock(sqlite3_file *f, int l) { return real_of(f)->pMethods->xUnlock(real_of(f), l); }
static int shim_reserved(sqlite3_file *f, int *out) {
  return real_of(f)->pMethods->xCheckReservedLock(real_of(f), out);
}
static int shim_control(sqlite3_file *f, int op, void *arg) {
  return real_of(f)->pMethods->xFileControl(real_of(f), op, arg);
}
static int shim_sector(sqlite3_file *f) { return real_of(f)->pMethods->xSectorSize(real_of(f)); }
static int shim_device(sqlite3_file *f) {
  return real_of(f)->pMethods->xDeviceCharacteristics(real_of(f));
}
static int shim_shm_map(sqlite3_file *f, int page, int size, int extend, void volatile **out) {
  return real_of(f)->pMethods->xShmMap(real_of(f), page, size, extend, out);
}
static int shim_shm_lock(sqlite3_file *f, int offset, int n, int flags) {
  return real_of(f)->pMethods->xShmLock(real_of(f), offset, n, flags);
}
static void shim_shm_barrier(sqlite3_file *f) { real_of(f)->pMethods->xShmBarrier(real_of(f)); }
static int shim_shm_unmap(sqlite3_file *f, int delete_flag) {
  return real_of(f)->pMethods->xShmUnmap(real_of(f), delete_flag);
}

static int shim_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out_flags) {
  shim_file_t *file = (shim_file_t *)f;
  file->real = (sqlite3_file *)(file + 1);
  int rc = real_vfs->xOpen(real_vfs, name, file->real, flags, out_flags);
  file->base.pMethods = file->real->pMethods ? &shim_io : NULL;
  return rc;
}

/* Makes the shim the default VFS (in a child: the parent never uses it). */
static void install_kill_vfs(void) {
  real_vfs = sqlite3_vfs_find(NULL);
  shim_vfs = *real_vfs;
  shim_vfs.zName = "wisp-kill";
  shim_vfs.szOsFile = (int)sizeof(shim_file_t) + real_vfs->szOsFile;
  shim_vfs.xOpen = shim_open;
  shim_io = (sqlite3_io_methods){2, shim_close, shim_read, shim_write, shim_truncate, shim_sync,
                                 shim_size, shim_lock, shim_unlock, shim_reserved, shim_control,
                                 shim_sector, shim_device, shim_shm_map, shim_shm_lock,
                                 shim_shm_barrier, shim_shm_unmap, NULL, NULL};
  sqlite3_vfs_register(&shim_vfs, 1);
}

/* For every n, a child opens the store, deploys version 3 and closes the
 * store (which checkpoints the WAL into the database), killed before its
 * n-th write or sync: each time the store reopens consistent with exactly
 * the old state or the whole new version, and once a kill point has left
 * the new version, every later one does too. */
static void test_crash_io(void) {
  char dir[512];
  tmp_path(dir, sizeof dir, "crash-io");
  bool committed_seen = false, finished = false;
  int killed = 0;
  for (long n = 0; !finished && n < 10000; n++) {
    char three[65] = "";
    remove_tree(dir);
    crash_setup(dir, three);
    char *before = dump_state(dir);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
      install_kill_vfs();
      wisp_store_db_t *db = NULL;
      if (wisp_store_db_open(dir, &db, NULL, 0) != 0) _exit(2);
      io_left = n;
      wisp_store_component_t c3[] = {{"web", three}};
      if (wisp_store_db_deploy(db, "shop", "v3", c3, 1, "ci", NULL) != 0) _exit(3);
      wisp_store_db_close(db);
      _exit(0);
    }
    int status = 0;
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
    finished = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (!finished) {
      killed++;
      CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    }
    wisp_store_db_t *db = open_ok(dir);
    if (!db) {
      free(before);
      break;
    }
    int rc = wisp_store_db_check(db);
    if (rc) fprintf(stderr, "crash-io n=%ld: %s\n", n, wisp_store_db_error(db));
    CHECK(rc == 0);
    int64_t active = active_of(db, "shop");
    wisp_store_db_close(db);
    char *after = dump_state(dir);
    bool unchanged = streq(before, after);
    if (unchanged) {
      CHECK(active == 2 && !committed_seen && !finished);
    } else {
      CHECK(active == 3);
      committed_seen = true;
    }
    free(before);
    free(after);
  }
  CHECK(finished && committed_seen && killed > 2);
}

/* The first open of a store (WAL switch, migration 1) killed before each of
 * its writes and syncs: the next open always finds no schema or all of it,
 * migrates if needed and checks clean. */
static void test_crash_migration(void) {
  char dir[512];
  tmp_path(dir, sizeof dir, "crash-migration");
  bool finished = false;
  for (long n = 0; !finished && n < 10000; n++) {
    remove_tree(dir);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
      install_kill_vfs();
      io_left = n;
      wisp_store_db_t *db = NULL;
      if (wisp_store_db_open(dir, &db, NULL, 0) != 0) _exit(2);
      wisp_store_db_close(db);
      _exit(0);
    }
    int status = 0;
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
    finished = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (!finished) CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    char *state = dump_state(dir);
    /* Either no migration committed (no schema_version row) or all of it. */
    CHECK(!contains(state, "error") || !contains(state, "S|"));
    free(state);
    wisp_store_db_t *db = open_ok(dir);
    int version = 0;
    CHECK(db && wisp_store_db_schema_version(db, &version) == 0 && version == 1);
    CHECK(db && wisp_store_db_check(db) == 0);
    wisp_store_db_close(db);
  }
  CHECK(finished);
}

/* A child deploys new versions (with fresh 256 KiB blobs) in a loop and is
 * killed at a random moment, many times over: each time the store reopens
 * consistent, with its newest version active. */
static void test_crash_random(void) {
  char dir[512];
  tmp_path(dir, sizeof dir, "crash-random");
  wisp_store_db_t *db = open_ok(dir);
  wisp_store_db_close(db);
  srand((unsigned)time(NULL));
  int rounds = 12;
  int64_t newest = 0;
  for (int round = 0; round < rounds; round++) {
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
      wisp_store_db_t *child = NULL;
      if (wisp_store_db_open(dir, &child, NULL, 0) != 0) _exit(2);
      static unsigned char data[256 * 1024];
      for (unsigned n = 0;; n++) {
        for (size_t i = 0; i < sizeof data; i += 64) data[i] = (unsigned char)rand();
        memcpy(data, &n, sizeof n);
        char sha[65];
        if (wisp_store_db_put_blob(child, data, sizeof data, sha) != 0) _exit(4);
        wisp_store_component_t c[] = {{"web", sha}};
        if (wisp_store_db_deploy(child, "app", "m", c, 1, "loop", NULL) != 0) _exit(5);
      }
    }
    struct timespec wait = {0, (long)(rand() % 40 + 5) * 1000000L};
    nanosleep(&wait, NULL);
    kill(pid, SIGKILL);
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid && WIFSIGNALED(status));

    db = open_ok(dir);
    if (!db) return;
    int rc = wisp_store_db_check(db);
    if (rc) fprintf(stderr, "round %d: %s\n", round, wisp_store_db_error(db));
    CHECK(rc == 0);
    wisp_store_version_info_t *versions = NULL;
    size_t count = 0;
    rc = wisp_store_db_list_versions(db, "app", &versions, &count);
    if (rc == 0 && count > 0) {
      CHECK(versions[count - 1].active && versions[count - 1].number == (int64_t)count);
      CHECK(versions[count - 1].number >= newest); /* no committed deploy was lost */
      newest = versions[count - 1].number;
      wisp_store_version_t *v = NULL;
      CHECK(wisp_store_db_get_version(db, "app", 0, &v) == 0 && v && v->blob_count == 1 &&
            v->blobs[0].size == 256 * 1024);
      wisp_store_version_free(v);
    } else {
      CHECK(rc == WISP_STORE_ENOTFOUND); /* killed before the first deploy */
    }
    wisp_store_version_infos_free(versions, count);
    wisp_store_db_close(db);
  }
  /* The children did get to deploy (else this test tested nothing). */
  if (newest == 0) fprintf(stderr, "crash-random: no deploy committed in %d rounds\n", rounds);
  CHECK(newest > 0);
}

/* ------------------------------------------------------------------------ */

int main(void) {
  snprintf(root, sizeof root, "%s/wisp-store-test-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
  if (!mkdtemp(root)) {
    perror("mkdtemp");
    return 1;
  }
  snprintf(fast_root, sizeof fast_root, "/dev/shm/wisp-store-test-XXXXXX");
  if (!mkdtemp(fast_root)) fast_root[0] = '\0';
  install_failing_allocator();
  test_open();
  test_migrations();
  test_blobs();
  test_deploy_and_read();
  test_failed_deploys();
  test_rollback();
  test_delete();
  test_two_handles();
  test_busy_wait();
  test_check_detects();
  test_nomem();
  test_crash_points();
  test_crash_io();
  test_crash_migration();
  test_crash_random();
  remove_tree(root);
  if (fast_root[0]) remove_tree(fast_root);
  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
