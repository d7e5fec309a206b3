/*
 * admin.c: the admin API of `wisp serve` on the admin listener (docs/admin.md).
 *
 *   POST   /v1/apps                   deploy a bundle (a ustar archive: wisp.toml
 *                                     and the module of every component)
 *   GET    /v1/apps                   applications and their active versions
 *   GET    /v1/apps/NAME              one application: routes, versions, history
 *   POST   /v1/apps/NAME/rollback     {"version": N} (or no body: the previous one)
 *   DELETE /v1/apps/NAME              delete the application
 *   GET    /v1/apps/NAME/logs         recent log lines; ?lines=N, ?follow=1 streams
 *
 * Every request needs "Authorization: Bearer TOKEN" (DIR/admin.token),
 * compared in constant time. Answers are JSON; errors are
 * {"error": "message"} with a 4xx (the request is wrong: the store is
 * unchanged) or 5xx status.
 *
 * A change (deploy, rollback, delete) runs on the loop thread of the first
 * process: the new version is built and instantiated (apps.c) before the
 * store is touched, then committed, installed in this process's route table
 * and published to the other workers; the answer waits (without blocking the
 * loop) until every worker serves it, or says after WAIT_WORKERS_US that
 * some did not.
 */
#define _GNU_SOURCE /* asprintf */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "admin/tar.h"
#include "server/serve.h"

#define WAIT_WORKERS_US   (10 * 1000000)
#define DEFAULT_LOG_LINES 100
#define MAX_LOG_LINES     10000
#define LOG_TAIL_BYTES    (1024 * 1024)
#define FOLLOW_CHUNK      65536
#define DEPLOYED_BY       "admin-token"

typedef struct pending {
  h2o_linklist_t link;
  h2o_req_t *req; /* NULL once the client is gone */
  struct pending **handle;
  uint64_t gen, deadline_us;
  json_t *body;
} pending_t;

typedef struct follower {
  h2o_generator_t gen; /* first: h2o hands it back */
  h2o_linklist_t link;
  h2o_req_t *req;
  char path[4096];
  int fd;
  off_t pos;
  ino_t ino;
  bool sending; /* h2o has data of ours not yet written (wait for proceed) */
  char *buf;
} follower_t;

typedef struct admin {
  h2o_linklist_t pending;
  h2o_linklist_t followers;
} admin_t;

/* ---- answers ------------------------------------------------------------------ */

static void send_json(h2o_req_t *req, int status, json_t *body) {
  char *text = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
  json_decref(body);
  if (!text) {
    srv_send_plain(req, 500, "Internal Server Error", "text/plain", "out of memory\n", 14);
    return;
  }
  size_t len = strlen(text);
  h2o_iovec_t copy = h2o_strdup(&req->pool, text, len);
  free(text);
  req->res.status = status;
  req->res.reason = status < 300 ? "OK" : status < 500 ? "Client Error" : "Server Error";
  h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, H2O_STRLIT("application/json"));
  req->res.content_length = len;
  h2o_send_inline(req, copy.base, copy.len);
}

static int send_error(h2o_req_t *req, int status, const char *fmt, ...) {
  char msg[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  /* Names from a corrupt archive may hold any byte: keep the JSON valid. */
  for (char *c = msg; *c; c++)
    if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e) *c = '?';
  send_json(req, status, json_pack("{s:s}", "error", msg));
  return 0;
}

/* ---- authentication ------------------------------------------------------------ */

static bool authorised(srv_t *srv, h2o_req_t *req) {
  ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_AUTHORIZATION, -1);
  if (i < 0) return false;
  h2o_iovec_t v = req->headers.entries[i].value;
  if (v.len != 7 + 64 || strncasecmp(v.base, "Bearer ", 7) != 0) return false;
  return CRYPTO_memcmp(v.base + 7, srv->serve->token, 64) == 0;
}

/* ---- waiting for the workers ------------------------------------------------------ */

static void on_pending_dispose(void *p) {
  pending_t **handle = p;
  if (*handle) (*handle)->req = NULL;
}

static void finish_pending(srv_t *srv, pending_t *p, bool timed_out) {
  int total = 0, at = srv_serve_workers_at(srv, p->gen, &total);
  json_object_set_new(p->body, "workers", json_pack("{s:i,s:i}", "serving", at, "total", total));
  if (p->req) {
    *p->handle = NULL;
    if (timed_out) {
      json_object_set_new(p->body, "warning",
                          json_sprintf("committed, but only %d of %d worker processes serve it after %d s",
                                       at, total, WAIT_WORKERS_US / 1000000));
      send_json(p->req, 202, p->body);
    } else {
      send_json(p->req, 200, p->body);
    }
  } else {
    json_decref(p->body);
  }
  h2o_linklist_unlink(&p->link);
  free(p);
}

/* Answers body once every worker serves generation gen (now, when so). */
static void answer_when_served(srv_t *srv, h2o_req_t *req, uint64_t gen, json_t *body) {
  admin_t *a = srv->serve->admin;
  pending_t *p = calloc(1, sizeof *p);
  if (!p) {
    send_json(req, 200, body);
    return;
  }
  p->req = req;
  p->gen = gen;
  p->body = body;
  p->deadline_us = srv_now_us() + WAIT_WORKERS_US;
  p->handle = h2o_mem_alloc_shared(&req->pool, sizeof *p->handle, on_pending_dispose);
  *p->handle = p;
  h2o_linklist_insert(&a->pending, &p->link);
  int total = 0;
  if (srv_serve_workers_at(srv, gen, &total) >= total) finish_pending(srv, p, false);
}

/* ---- logs ----------------------------------------------------------------------- */

static void follower_free(follower_t *f) {
  if (h2o_linklist_is_linked(&f->link)) h2o_linklist_unlink(&f->link);
  if (f->fd >= 0) close(f->fd);
  free(f->buf);
  free(f);
}

static void on_follow_proceed(h2o_generator_t *gen, h2o_req_t *req) {
  (void)req;
  ((follower_t *)gen)->sending = false;
}

static void on_follow_stop(h2o_generator_t *gen, h2o_req_t *req) {
  (void)req;
  follower_free((follower_t *)gen);
}

/* Sends what the followed log has gained; reopens it after a rotation. */
static void follow_poll(follower_t *f) {
  if (f->sending) return;
  struct stat st;
  if (stat(f->path, &st) == 0 && (f->fd < 0 || st.st_ino != f->ino)) {
    if (f->fd >= 0) close(f->fd);
    f->fd = open(f->path, O_RDONLY | O_CLOEXEC);
    f->pos = 0;
    f->ino = st.st_ino;
  }
  if (f->fd < 0) return;
  ssize_t n = pread(f->fd, f->buf, FOLLOW_CHUNK, f->pos);
  if (n <= 0) return;
  f->pos += n;
  f->sending = true;
  h2o_iovec_t v = h2o_iovec_init(f->buf, (size_t)n);
  h2o_send(f->req, &v, 1, H2O_SEND_STATE_IN_PROGRESS);
}

/* Appends the last part of a file to *buf. */
static void read_tail(const char *path, size_t max, char **buf, size_t *len) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  struct stat st;
  if (fstat(fd, &st) == 0 && st.st_size > 0) {
    size_t want = (size_t)st.st_size < max ? (size_t)st.st_size : max;
    char *grown = realloc(*buf, *len + want + 1);
    if (grown) {
      *buf = grown;
      ssize_t n = pread(fd, *buf + *len, want, st.st_size - (off_t)want);
      if (n > 0) *len += (size_t)n;
    }
  }
  close(fd);
}

static int handle_logs(srv_t *srv, h2o_req_t *req, const char *name) {
  char err[1024];
  wisp_store_db_t *db = srv_serve_db(srv, err, sizeof err);
  if (!db) return send_error(req, 500, "%s", err);
  wisp_store_version_info_t *vs = NULL;
  size_t nv = 0;
  if (wisp_store_db_list_versions(db, name, &vs, &nv) < 0)
    return send_error(req, 404, "no app named '%s' (see GET /v1/apps)", name);
  wisp_store_version_infos_free(vs, nv);
  long lines = DEFAULT_LOG_LINES;
  bool follow = false;
  if (req->query_at != SIZE_MAX) {
    char q[256];
    snprintf(q, sizeof q, "&%.*s&", (int)(req->path.len - req->query_at - 1),
             req->path.base + req->query_at + 1);
    const char *l = strstr(q, "&lines=");
    if (l) {
      char *end;
      lines = strtol(l + 7, &end, 10);
      if (*end != '&' || lines < 0 || lines > MAX_LOG_LINES)
        return send_error(req, 400, "lines: want a number from 0 to %d", MAX_LOG_LINES);
    }
    follow = strstr(q, "&follow=1&") || strstr(q, "&follow=true&");
  }
  char cur[4096], old[4096];
  srv_app_log_path(srv, name, false, cur, sizeof cur);
  srv_app_log_path(srv, name, true, old, sizeof old);
  char *buf = NULL;
  size_t len = 0;
  read_tail(old, LOG_TAIL_BYTES, &buf, &len);
  read_tail(cur, LOG_TAIL_BYTES, &buf, &len);
  /* Keep the last `lines` whole lines. */
  size_t start = len, seen = 0;
  if (lines > 0) {
    start = len && buf[len - 1] == '\n' ? len - 1 : len;
    while (start > 0 && !(buf[start - 1] == '\n' && ++seen == (size_t)lines)) start--;
  }
  h2o_iovec_t tail = h2o_strdup(&req->pool, buf ? buf + start : "", len - start);
  free(buf);
  req->res.status = 200;
  req->res.reason = "OK";
  h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                 H2O_STRLIT("text/plain; charset=utf-8"));
  if (!follow) {
    req->res.content_length = tail.len;
    h2o_send_inline(req, tail.base, tail.len);
    return 0;
  }
  follower_t *f = calloc(1, sizeof *f);
  char *fbuf = f ? malloc(FOLLOW_CHUNK) : NULL;
  if (!fbuf) {
    free(f);
    return send_error(req, 500, "out of memory");
  }
  f->buf = fbuf;
  f->req = req;
  f->fd = open(cur, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (f->fd >= 0 && fstat(f->fd, &st) == 0) {
    f->pos = st.st_size;
    f->ino = st.st_ino;
  }
  snprintf(f->path, sizeof f->path, "%s", cur);
  f->gen.proceed = on_follow_proceed;
  f->gen.stop = on_follow_stop;
  h2o_linklist_insert(&((admin_t *)srv->serve->admin)->followers, &f->link);
  h2o_start_response(req, &f->gen);
  f->sending = true;
  h2o_send(req, &tail, 1, H2O_SEND_STATE_IN_PROGRESS);
  return 0;
}

/* ---- reads ------------------------------------------------------------------------ */

static json_t *routes_json(const srv_app_t *app) {
  json_t *routes = json_array();
  for (size_t i = 0; app && i < app->manifest->trigger_count; i++) {
    const wisp_manifest_trigger_t *t = &app->manifest->triggers[i];
    json_array_append_new(routes, json_pack("{s:s,s:s}", "route", t->route, "component",
                                            app->manifest->components[t->component].id));
  }
  return routes;
}

static int handle_list(srv_t *srv, h2o_req_t *req) {
  char err[1024];
  wisp_store_db_t *db = srv_serve_db(srv, err, sizeof err);
  if (!db) return send_error(req, 500, "%s", err);
  wisp_store_app_t *apps = NULL;
  size_t n = 0;
  if (wisp_store_db_list_apps(db, &apps, &n) < 0) return send_error(req, 500, "%s", wisp_store_db_error(db));
  json_t *list = json_array();
  for (size_t i = 0; i < n; i++) {
    srv_app_t *served = srv_table_find(srv, apps[i].name);
    json_array_append_new(list, json_pack("{s:s,s:I,s:I,s:o}", "name", apps[i].name, "active_version",
                                          (json_int_t)apps[i].active_version, "created_at",
                                          (json_int_t)apps[i].created_at, "routes", routes_json(served)));
  }
  wisp_store_apps_free(apps, n);
  send_json(req, 200, json_pack("{s:o}", "apps", list));
  return 0;
}

static int handle_show(srv_t *srv, h2o_req_t *req, const char *name) {
  char err[1024];
  wisp_store_db_t *db = srv_serve_db(srv, err, sizeof err);
  if (!db) return send_error(req, 500, "%s", err);
  wisp_store_version_info_t *vs = NULL;
  size_t nv = 0;
  if (wisp_store_db_list_versions(db, name, &vs, &nv) < 0)
    return send_error(req, 404, "no app named '%s' (see GET /v1/apps)", name);
  json_t *versions = json_array();
  json_int_t active = 0;
  for (size_t i = 0; i < nv; i++) {
    if (vs[i].active) active = vs[i].number;
    json_array_append_new(versions, json_pack("{s:I,s:I,s:s,s:b}", "version", (json_int_t)vs[i].number,
                                              "created_at", (json_int_t)vs[i].created_at, "deployed_by",
                                              vs[i].deployed_by, "active", vs[i].active));
  }
  wisp_store_version_infos_free(vs, nv);
  wisp_store_event_t *ev = NULL;
  size_t ne = 0;
  json_t *history = json_array();
  if (wisp_store_db_history(db, name, &ev, &ne) == 0) {
    for (size_t i = 0; i < ne; i++)
      json_array_append_new(history,
                            json_pack("{s:s,s:I,s:I,s:s}", "action", ev[i].action, "version",
                                      (json_int_t)ev[i].version, "at", (json_int_t)ev[i].at, "by", ev[i].by));
    wisp_store_events_free(ev, ne);
  }
  srv_app_t *served = srv_table_find(srv, name);
  send_json(req, 200,
            json_pack("{s:s,s:I,s:o,s:o,s:o}", "name", name, "active_version", active, "routes",
                      routes_json(served), "versions", versions, "history", history));
  return 0;
}

/* ---- changes ---------------------------------------------------------------------- */

static void store_crash_hook(void *ctx, const char *point) {
  (void)ctx;
  srv_serve_crash_point(point);
}

/* Installs app (NULL: removes name) here and tells the other workers;
 * answers body when they all serve it. */
static void commit_and_answer(srv_t *srv, h2o_req_t *req, const char *name, srv_app_t *app, json_t *body) {
  if (srv_table_install(srv, name, app) < 0)
    fprintf(stderr, "wisp: out of memory installing app '%s'; this worker keeps the previous version\n",
            name);
  srv_serve_crash_point("admin:installed");
  uint64_t gen = srv_serve_publish(srv);
  answer_when_served(srv, req, gen, body);
}

static void app_log_event(srv_t *srv, const char *name, const char *what) {
  char path[4096];
  srv_app_log_path(srv, name, false, path, sizeof path);
  int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return;
  char line[512];
  int n = snprintf(line, sizeof line, "admin: %s\n", what);
  if (n > 0) {
    ssize_t w = write(fd, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
    (void)w;
  }
  close(fd);
}

static int handle_deploy(srv_t *srv, h2o_req_t *req) {
  uint64_t limit = srv->options->max_upload_bytes;
  if (!req->entity.base || req->entity.len == 0)
    return send_error(req, 400,
                      "the request has no body: send the bundle as a tar archive (wisp deploy does)");
  if (req->entity.len > limit)
    return send_error(req, 413,
                      "the bundle is %zu bytes, more than this server accepts (%" PRIu64
                      " bytes; wisp serve --max-upload)",
                      req->entity.len, limit);
  char err[2048];
  tar_entry_t *entries = NULL;
  size_t n = 0;
  if (tar_read((const uint8_t *)req->entity.base, req->entity.len, (size_t)limit, &entries, &n, err,
               sizeof err) < 0)
    return send_error(req, 400, "%s", err);
  const tar_entry_t *mf = tar_find(entries, n, "wisp.toml");
  if (!mf) mf = tar_find(entries, n, "spin.toml");
  if (!mf) {
    free(entries);
    return send_error(req, 400, "bundle: no wisp.toml (or spin.toml) at the top level of the archive");
  }
  char *text = strndup((const char *)mf->data, mf->size);
  wisp_manifest_t *m = NULL;
  srv_module_t *mods = NULL;
  char **keys = NULL;
  size_t nkeys = 0;
  srv_app_t *app = NULL;
  int status = 400;
  if (!text) {
    snprintf(err, sizeof err, "out of memory");
    status = 500;
    goto fail;
  }
  if (strlen(text) != mf->size) {
    snprintf(err, sizeof err, "wisp.toml: the manifest contains a NUL byte");
    goto fail;
  }
  if (wisp_manifest_parse(text, mf->size, "wisp.toml", &m, err, sizeof err) < 0) goto fail;
  mods = calloc(m->component_count + n + 1, sizeof *mods);
  keys = calloc(n + 1, sizeof *keys);
  if (!mods || !keys) {
    snprintf(err, sizeof err, "out of memory");
    status = 500;
    goto fail;
  }
  for (size_t i = 0; i < m->component_count; i++) {
    const char *src = m->components[i].source;
    const tar_entry_t *e = tar_find(entries, n, src[0] == '.' && src[1] == '/' ? src + 2 : src);
    if (!e) {
      snprintf(err, sizeof err, "wisp.toml:%u: component.%s.source: '%s' is not in the bundle",
               m->components[i].line, m->components[i].id, src);
      goto fail;
    }
    mods[i] = (srv_module_t){m->components[i].id, e->data, e->size};
  }
  /* Files mounts: every archive entry under a mount's source directory. */
  size_t nmods = m->component_count;
  for (size_t i = 0; i < m->component_count; i++)
    for (size_t k = 0; k < m->components[i].file_count; k++) {
      char dir[TAR_MAX_NAME + 2];
      const char *src = m->components[i].files[k].source;
      while (src[0] == '.' && src[1] == '/') src += 2;
      snprintf(dir, sizeof dir, "%s", src);
      size_t dl = strlen(dir);
      while (dl && dir[dl - 1] == '/') dir[--dl] = '\0';
      for (size_t e = 0; e < n; e++) {
        if (strncmp(entries[e].name, dir, dl) != 0 || entries[e].name[dl] != '/') continue;
        if (asprintf(&keys[nkeys], "file:%s:%zu:%s", m->components[i].id, k, entries[e].name + dl + 1) < 0) {
          keys[nkeys] = NULL;
          snprintf(err, sizeof err, "out of memory");
          status = 500;
          goto fail;
        }
        mods[nmods++] = (srv_module_t){keys[nkeys++], entries[e].data, entries[e].size};
      }
    }
  srv_serve_crash_point("admin:received");
  app = srv_app_build(srv, text, mf->size, mods, nmods, err, sizeof err);
  if (!app) goto fail;
  if (srv_table_check_routes(srv, app, err, sizeof err) < 0) {
    status = 409;
    goto fail;
  }
  srv_serve_crash_point("admin:compiled");
  wisp_store_db_t *db = srv_serve_db(srv, err, sizeof err);
  status = 500;
  if (!db) goto fail;
  wisp_store_component_t *comps = calloc(nmods + 1, sizeof *comps);
  char(*digests)[65] = calloc(nmods + 1, sizeof *digests);
  if (!comps || !digests) {
    free(comps);
    free(digests);
    snprintf(err, sizeof err, "out of memory");
    goto fail;
  }
  int rc = 0;
  for (size_t i = 0; i < nmods && rc == 0; i++) {
    rc = wisp_store_db_put_blob(db, mods[i].data, mods[i].size, digests[i]);
    comps[i] = (wisp_store_component_t){mods[i].component, digests[i]};
  }
  int64_t version = 0;
  if (rc == 0) {
    srv_serve_crash_point("admin:blobs");
    wisp__store_db_set_hook(db, getenv("WISP_TEST_CRASH_AT") ? store_crash_hook : NULL, NULL);
    rc = wisp_store_db_deploy(db, app->name, text, comps, nmods, DEPLOYED_BY, &version);
    wisp__store_db_set_hook(db, NULL, NULL);
  }
  free(comps);
  free(digests);
  if (rc < 0) {
    snprintf(err, sizeof err, "store: %s", wisp_store_db_error(db));
    goto fail;
  }
  app->version = version;
  srv_app_open_log(srv, app);
  char what[300];
  snprintf(what, sizeof what, "deployed version %" PRId64, version);
  app_log_event(srv, app->name, what);
  fprintf(stderr, "wisp: app '%s' version %" PRId64 " deployed\n", app->name, version);
  json_t *body = json_pack("{s:s,s:I,s:o}", "app", app->name, "version", (json_int_t)version, "routes",
                           routes_json(app));
  commit_and_answer(srv, req, app->name, app, body);
  srv_app_release(app);
  wisp_manifest_free(m);
  free(mods);
  for (size_t i = 0; i < nkeys; i++) free(keys[i]);
  free(keys);
  free(text);
  free(entries);
  return 0;
fail:
  srv_app_release(app);
  wisp_manifest_free(m);
  free(mods);
  for (size_t i = 0; i < nkeys; i++) free(keys[i]);
  free(keys);
  free(text);
  free(entries);
  return send_error(req, status, "%s", err);
}

static int handle_rollback(srv_t *srv, h2o_req_t *req, const char *name) {
  json_int_t version = 0;
  if (req->entity.base && req->entity.len) {
    json_error_t jerr;
    json_t *body = json_loadb(req->entity.base, req->entity.len, 0, &jerr);
    if (!body) return send_error(req, 400, "request body: invalid JSON at line %d: %s", jerr.line, jerr.text);
    json_t *v = json_object_get(body, "version");
    if (v && !json_is_integer(v)) {
      json_decref(body);
      return send_error(req, 400, "request body: \"version\" must be an integer");
    }
    version = v ? json_integer_value(v) : 0;
    json_decref(body);
    if (version < 0)
      return send_error(req, 400, "request body: \"version\" must be 1 or more (0: the previous)");
  }
  char err[2048];
  wisp_store_db_t *db = srv_serve_db(srv, err, sizeof err);
  if (!db) return send_error(req, 500, "%s", err);
  wisp_store_version_info_t *vs = NULL;
  size_t nv = 0;
  if (wisp_store_db_list_versions(db, name, &vs, &nv) < 0)
    return send_error(req, 404, "no app named '%s' (see GET /v1/apps)", name);
  int64_t active = 0, target = version;
  for (size_t i = 0; i < nv; i++)
    if (vs[i].active) active = vs[i].number;
  if (target == 0)
    for (size_t i = 0; i < nv; i++)
      if (vs[i].number < active) target = vs[i].number;
  bool exists = false;
  for (size_t i = 0; i < nv; i++) exists |= vs[i].number == target;
  wisp_store_version_infos_free(vs, nv);
  if (!exists) {
    if (version == 0)
      return send_error(req, 409, "app '%s': no version before version %" PRId64 " to roll back to", name,
                        active);
    return send_error(req, 404, "app '%s' has no version %" PRId64 " (see GET /v1/apps/%s)", name, target,
                      name);
  }
  srv_app_t *app = srv_app_from_store(srv, name, target, err, sizeof err);
  if (!app)
    return send_error(req, 500, "app '%s' version %" PRId64 " cannot be loaded: %s", name, target, err);
  if (srv_table_check_routes(srv, app, err, sizeof err) < 0) {
    srv_app_release(app);
    return send_error(req, 409, "%s", err);
  }
  int64_t now_active = 0;
  if (wisp_store_db_rollback(db, name, target, DEPLOYED_BY, &now_active) < 0) {
    srv_app_release(app);
    return send_error(req, 500, "store: %s", wisp_store_db_error(db));
  }
  char what[300];
  snprintf(what, sizeof what, "rolled back to version %" PRId64, target);
  app_log_event(srv, name, what);
  fprintf(stderr, "wisp: app '%s' %s\n", name, what);
  json_t *body = json_pack("{s:s,s:I,s:I}", "app", name, "active_version", (json_int_t)now_active,
                           "previous_version", (json_int_t)active);
  commit_and_answer(srv, req, name, app, body);
  srv_app_release(app);
  return 0;
}

static int handle_delete(srv_t *srv, h2o_req_t *req, const char *name) {
  char err[1024];
  wisp_store_db_t *db = srv_serve_db(srv, err, sizeof err);
  if (!db) return send_error(req, 500, "%s", err);
  int rc = wisp_store_db_delete_app(db, name, DEPLOYED_BY);
  if (rc == WISP_STORE_ENOTFOUND) return send_error(req, 404, "no app named '%s' (see GET /v1/apps)", name);
  if (rc < 0) return send_error(req, 500, "store: %s", wisp_store_db_error(db));
  char cur[4096], old[4096];
  srv_app_log_path(srv, name, false, cur, sizeof cur);
  srv_app_log_path(srv, name, true, old, sizeof old);
  unlink(cur);
  unlink(old);
  fprintf(stderr, "wisp: app '%s' deleted\n", name);
  commit_and_answer(srv, req, name, NULL, json_pack("{s:s,s:b}", "app", name, "deleted", 1));
  return 0;
}

/* ---- dispatch ------------------------------------------------------------------------ */

static bool method_is(h2o_req_t *req, const char *m) {
  return h2o_memis(req->method.base, req->method.len, m, strlen(m));
}

int srv_admin_handle(srv_thread_t *thread, h2o_req_t *req) {
  srv_t *srv = thread->srv;
  h2o_iovec_t p = req->path_normalized;
  if (p.len < 8 || memcmp(p.base, "/v1/apps", 8) != 0 || (p.len > 8 && p.base[8] != '/'))
    return send_error(req, 404, "no such admin endpoint: %.*s (see docs/admin.md)", (int)p.len, p.base);
  if (!authorised(srv, req)) {
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_WWW_AUTHENTICATE, NULL, H2O_STRLIT("Bearer"));
    return send_error(req, 401,
                      "missing or wrong admin token: send 'Authorization: Bearer TOKEN' with the token from "
                      "DATA_DIR/admin.token (wisp: WISP_TOKEN or --token-file)");
  }
  if (p.len <= 9) {
    if (method_is(req, "GET")) return handle_list(srv, req);
    if (method_is(req, "POST") || method_is(req, "PUT")) return handle_deploy(srv, req);
    return send_error(req, 405, "/v1/apps takes GET (list) or POST (deploy a bundle)");
  }
  char name[256], rest[64] = "";
  const char *s = p.base + 9, *end = p.base + p.len;
  const char *slash = memchr(s, '/', (size_t)(end - s));
  size_t nl = slash ? (size_t)(slash - s) : (size_t)(end - s);
  if (nl == 0 || nl >= sizeof name) return send_error(req, 404, "bad app name in %.*s", (int)p.len, p.base);
  memcpy(name, s, nl);
  name[nl] = '\0';
  if (slash) {
    size_t rl = (size_t)(end - slash);
    if (rl >= sizeof rest) return send_error(req, 404, "no such admin endpoint: %.*s", (int)p.len, p.base);
    memcpy(rest, slash, rl);
    rest[rl] = '\0';
  }
  if (!rest[0] || strcmp(rest, "/") == 0) {
    if (method_is(req, "GET")) return handle_show(srv, req, name);
    if (method_is(req, "DELETE")) return handle_delete(srv, req, name);
    return send_error(req, 405, "/v1/apps/%s takes GET or DELETE", name);
  }
  if (strcmp(rest, "/rollback") == 0) {
    if (method_is(req, "POST")) return handle_rollback(srv, req, name);
    return send_error(req, 405, "/v1/apps/%s/rollback takes POST", name);
  }
  if (strcmp(rest, "/logs") == 0) {
    if (method_is(req, "GET")) return handle_logs(srv, req, name);
    return send_error(req, 405, "/v1/apps/%s/logs takes GET", name);
  }
  return send_error(req, 404, "no such admin endpoint: %.*s (see docs/admin.md)", (int)p.len, p.base);
}

/* ---- the loop's side ---------------------------------------------------------------- */

int srv_admin_init(srv_t *srv) {
  admin_t *a = calloc(1, sizeof *a);
  if (!a) return -1;
  h2o_linklist_init_anchor(&a->pending);
  h2o_linklist_init_anchor(&a->followers);
  srv->serve->admin = a;
  return 0;
}

bool srv_admin_tick(srv_thread_t *thread) {
  srv_t *srv = thread->srv;
  admin_t *a = srv->serve->admin;
  if (!a) return false;
  uint64_t now = srv_now_us();
  for (h2o_linklist_t *node = a->pending.next, *next; node != &a->pending; node = next) {
    next = node->next;
    pending_t *p = H2O_STRUCT_FROM_MEMBER(pending_t, link, node);
    int total = 0;
    if (!p->req || srv_serve_workers_at(srv, p->gen, &total) >= total)
      finish_pending(srv, p, false);
    else if (now > p->deadline_us)
      finish_pending(srv, p, true);
  }
  for (h2o_linklist_t *node = a->followers.next, *next; node != &a->followers; node = next) {
    next = node->next;
    follow_poll(H2O_STRUCT_FROM_MEMBER(follower_t, link, node));
  }
  return !h2o_linklist_is_empty(&a->pending);
}

void srv_admin_free(srv_t *srv) {
  admin_t *a = srv->serve ? srv->serve->admin : NULL;
  if (!a) return;
  while (!h2o_linklist_is_empty(&a->pending)) {
    pending_t *p = H2O_STRUCT_FROM_MEMBER(pending_t, link, a->pending.next);
    if (p->req) *p->handle = NULL;
    json_decref(p->body);
    h2o_linklist_unlink(&p->link);
    free(p);
  }
  while (!h2o_linklist_is_empty(&a->followers)) {
    follower_t *f = H2O_STRUCT_FROM_MEMBER(follower_t, link, a->followers.next);
    follower_free(f);
  }
  free(a);
  srv->serve->admin = NULL;
}
