/*
 * apps.c: `wisp serve`, the long-lived mode: applications come from the
 * store (src/store) in the data directory and change while the server runs.
 *
 * The route table of a process is an array of app versions (srv_app_t), the
 * active version of every application. A request takes a reference on the
 * version it is routed to and drops it when it ends; installing a new version
 * replaces one pointer of the array between two requests of the loop and
 * drops the table's reference on the old one, which is freed when its last
 * request ends. So a request always runs on exactly one version, and a
 * version in use is never freed.
 *
 * Processes: `wisp serve` has one loop thread per worker process. The admin
 * API runs in the first process: a deploy is compiled and instantiated there,
 * committed to the store, installed, and then published: a generation counter
 * in MAP_SHARED memory goes up and every other worker gets SIGUSR1. A worker
 * whose generation is behind reloads the active versions from the store (the
 * truth) in its loop, reusing what it already has, swaps its table and
 * records the generation it now serves (seen[worker]); the admin API answers
 * once every running worker has caught up.
 *
 * Logs: each app has DIR/logs/APP.log, appended with O_APPEND by every
 * worker (guest stderr and access lines), moved to APP.log.1 past 1 MiB.
 */
#define _GNU_SOURCE /* nftw */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <openssl/sha.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "component/csnap.h"
#include "http_job.h"
#include "serve.h"
#include "wisp_component.h"

#define LOG_ROTATE_BYTES (1024 * 1024)
#define START_FUEL       2000000000LL /* fuel for instantiating once (start functions) */
#define TOKEN_FILE       "admin.token"

/* ---- metrics slots and logs ---------------------------------------------- */

static srv_t *srv_serve_current; /* the one server of this process, for log rotation */

size_t srv_route_index(const srv_t *srv, const srv_app_t *app, const wisp_manifest_trigger_t *trigger) {
  if (srv->serve) return 0;
  return (size_t)(trigger - app->manifest->triggers);
}

size_t srv_no_route_index(const srv_t *srv) { return srv->serve ? 1 : srv->manifest->trigger_count; }

void srv_app_log_path(const srv_t *srv, const char *name, bool previous, char *out, size_t size) {
  snprintf(out, size, "%s/logs/%s.log%s", srv->serve->dir, name, previous ? ".1" : "");
}

void srv_app_open_log(srv_t *srv, srv_app_t *app) {
  char path[4096];
  srv_app_log_path(srv, app->name, false, path, sizeof path);
  app->log_fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
}

void srv_app_log(srv_app_t *app, const char *line, size_t len) {
  if (app->log_fd < 0) return;
  char buf[2048];
  if (len > sizeof buf - 1) len = sizeof buf - 1;
  memcpy(buf, line, len);
  buf[len] = '\n';
  ssize_t w = write(app->log_fd, buf, len + 1); /* one write: lines never interleave */
  (void)w;
  if (++app->log_writes % 64 != 0) return;
  struct stat st;
  if (fstat(app->log_fd, &st) == 0 && st.st_size > LOG_ROTATE_BYTES && app->version) {
    /* Another process may rotate at the same time; at worst lines land in .1. */
    if (!srv_serve_current) return;
    char cur[4096], old[4096];
    srv_app_log_path(srv_serve_current, app->name, false, cur, sizeof cur);
    srv_app_log_path(srv_serve_current, app->name, true, old, sizeof old);
    rename(cur, old);
    close(app->log_fd);
    srv_app_open_log(srv_serve_current, app);
  }
}

/* ---- app versions ---------------------------------------------------------- */

void srv_app_release(srv_app_t *app) {
  if (!app || atomic_fetch_sub(&app->refs, 1) != 1) return;
  for (size_t i = 0; app->components && i < app->manifest->component_count; i++) {
    srv_component_t *c = &app->components[i];
    wisp_snapshot_delete(c->snapshot);
    wisp_module_delete(c->module);
    wisp__csnap_delete(c->csnap);
    srv_http_unload(c);
    wisp_component_delete(c->http);
    free(c->preopens);
    if (app->imports) free(app->imports[i]);
  }
  free(app->imports);
  free(app->components);
  for (size_t i = 0; i < app->nmounts; i++) free(app->mounts[i]);
  free(app->mounts);
  wisp_manifest_free(app->manifest);
  if (app->log_fd >= 0) close(app->log_fd);
  free(app->name);
  free(app);
}

static bool is_wagi(const wisp_manifest_t *m, size_t index) {
  for (size_t i = 0; i < m->trigger_count; i++)
    if (m->triggers[i].component == index && m->triggers[i].executor == WISP_EXECUTOR_WAGI) return true;
  return false;
}

/* The manifest's source path as written (relative to the bundle's root). */
static const char *source_rel(const wisp_manifest_t *m, const char *source) {
  size_t dl = strlen(m->dir);
  if (strcmp(m->dir, ".") != 0 && strncmp(source, m->dir, dl) == 0 && source[dl] == '/')
    return source + dl + 1;
  return source;
}

/* Instantiates the component once (its start function runs, under a fuel
 * and memory cap) and keeps a snapshot of the result. */
static int instantiate_once(srv_t *srv, srv_component_t *c, char *err, size_t err_size) {
  wisp_error_t e = {0};
  wisp_store_t *store = wisp_store_new(srv->engine);
  wisp_linker_t *linker = store ? wisp_linker_new(store) : NULL;
  wisp_exec_t *exec = store ? wisp_exec_new(store, NULL) : NULL;
  wisp_wasi_config_t cfg;
  wisp_wasi_config_init(&cfg);
  wisp_wasi_t *wasi = NULL;
  wisp_instance_t *inst = NULL;
  wisp_trap_t *trap = NULL;
  int rc = -1;
  if (!linker || !exec || wisp_wasi_define_shared(linker) < 0 || wisp_wasi_new(&cfg, &wasi, &e) < 0) {
    snprintf(err, err_size, "component '%s': out of memory instantiating it", c->manifest->id);
    goto done;
  }
  wisp_wasi_attach(wasi, store);
  wisp_store_limits_t limits = {.max_memory_bytes = (uint64_t)c->manifest->limits.memory_mib << 20};
  wisp_store_set_limits(store, &limits);
  wisp_exec_set_fuel(exec, START_FUEL);
  if (wisp_linker_instantiate(linker, exec, c->module, &inst, &trap, &e) < 0) {
    char msg[600];
    if (trap) wisp_trap_format(trap, msg, sizeof msg);
    size_t ml = strlen(msg);
    while (trap && ml && msg[ml - 1] == '\n') msg[--ml] = '\0';
    snprintf(err, err_size, "component '%s': instantiation failed: %s", c->manifest->id,
             trap ? msg : e.message);
    goto done;
  }
  /* The pre-initialisation export (manifest `init`, or wizer.initialize) runs
   * here too, so that the snapshot holds its work. */
  if (srv_component_find_init(c) < 0) {
    snprintf(err, err_size, "component '%s': init = \"%s\": no such () -> () export in the module",
             c->manifest->id, c->manifest->init ? c->manifest->init : "");
    goto done;
  }
  char imsg[600];
  if (c->init && srv_run_init(inst, exec, c->init, imsg, sizeof imsg) < 0) {
    snprintf(err, err_size, "component '%s': the init export '%s' failed: %s", c->manifest->id, c->init,
             imsg);
    goto done;
  }
  rc = 0;
  if (!srv->options->no_snapshot && wisp_snapshot_new(inst, &c->snapshot, &e) < 0) c->snapshot = NULL;
done:
  wisp_trap_delete(trap);
  wisp_exec_delete(exec);
  wisp_linker_delete(linker);
  wisp_store_delete(store);
  wisp_wasi_delete(wasi);
  return rc;
}

/* ---- files mounts ------------------------------------------------------------ */

/* The files of mount `index` of component `id` travel as blobs named
 * "file:ID:INDEX:PATH" (PATH relative to the mount's source directory). They
 * are written out to DIR/mounts/KEY, KEY being the SHA-256 of the sorted
 * (path, content digest) list: one directory per distinct content, made in a
 * temporary directory and renamed into place, so a directory that exists is
 * complete and is shared by every version and worker with the same files. */

typedef struct mount_file {
  const char *rel;
  const srv_module_t *mod;
} mount_file_t;

static int cmp_mount_file(const void *a, const void *b) {
  return strcmp(((const mount_file_t *)a)->rel, ((const mount_file_t *)b)->rel);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(path);
}

/* mkdir -p of the parents of path (below base). */
static int make_parents(char *path, size_t base_len) {
  for (char *p = path + base_len + 1; *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    int rc = mkdir(path, 0700);
    *p = '/';
    if (rc < 0 && errno != EEXIST) return -1;
  }
  return 0;
}

static char *materialize_mount(srv_t *srv, const char *id, size_t index, const srv_module_t *modules,
                               size_t nmodules, char *err, size_t err_size) {
  char prefix[300];
  int pl = snprintf(prefix, sizeof prefix, "file:%s:%zu:", id, index);
  mount_file_t *files = calloc(nmodules + 1, sizeof *files);
  if (!files || pl < 0 || (size_t)pl >= sizeof prefix) {
    free(files);
    snprintf(err, err_size, "out of memory");
    return NULL;
  }
  size_t n = 0;
  for (size_t i = 0; i < nmodules; i++)
    if (strncmp(modules[i].component, prefix, (size_t)pl) == 0)
      files[n++] = (mount_file_t){modules[i].component + pl, &modules[i]};
  qsort(files, n, sizeof *files, cmp_mount_file);
  size_t list_len = 0;
  for (size_t i = 0; i < n; i++) list_len += strlen(files[i].rel) + 1 + SHA256_DIGEST_LENGTH;
  unsigned char *list = malloc(list_len + 1), *lp = list;
  if (!list) {
    free(files);
    snprintf(err, err_size, "out of memory");
    return NULL;
  }
  for (size_t i = 0; i < n; i++) {
    size_t rl = strlen(files[i].rel) + 1;
    memcpy(lp, files[i].rel, rl);
    SHA256(files[i].mod->data, files[i].mod->size, lp + rl);
    lp += rl + SHA256_DIGEST_LENGTH;
  }
  unsigned char key[SHA256_DIGEST_LENGTH];
  SHA256(list, list_len, key);
  free(list);
  char hex[2 * SHA256_DIGEST_LENGTH + 1];
  for (size_t i = 0; i < sizeof key; i++) snprintf(hex + 2 * i, 3, "%02x", key[i]);
  char final[4096], tmp[4096], file[4096];
  snprintf(final, sizeof final, "%s/mounts", srv->serve->dir);
  mkdir(final, 0700);
  snprintf(final, sizeof final, "%s/mounts/%s", srv->serve->dir, hex);
  struct stat st;
  if (stat(final, &st) == 0 && S_ISDIR(st.st_mode)) {
    free(files);
    return strdup(final);
  }
  static unsigned counter;
  snprintf(tmp, sizeof tmp, "%s/mounts/tmp.%d.%u", srv->serve->dir, (int)getpid(), counter++);
  bool ok = mkdir(tmp, 0700) == 0;
  for (size_t i = 0; ok && i < n; i++) {
    ok = (size_t)snprintf(file, sizeof file, "%s/%s", tmp, files[i].rel) < sizeof file &&
         make_parents(file, strlen(tmp)) == 0;
    int fd = ok ? open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600) : -1;
    ok = fd >= 0 && write(fd, files[i].mod->data, files[i].mod->size) == (ssize_t)files[i].mod->size;
    if (fd >= 0 && close(fd) < 0) ok = false;
  }
  free(files);
  if (!ok) {
    snprintf(err, err_size, "component '%s': cannot write its files mount under %s: %s", id, tmp,
             strerror(errno));
    nftw(tmp, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    return NULL;
  }
  if (rename(tmp, final) < 0) { /* another worker made it first: use theirs */
    nftw(tmp, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    if (stat(final, &st) != 0) {
      snprintf(err, err_size, "component '%s': cannot create %s: %s", id, final, strerror(errno));
      return NULL;
    }
  }
  return strdup(final);
}

/* Resolves the imports of the app's snapshotted components against loop
 * thread 0's host functions (when the loop exists). */
static void resolve_app_imports(srv_t *srv, srv_app_t *app) {
  if (!srv->threads || !srv->threads[0].host_store || app->imports) return;
  size_t n = app->manifest->component_count;
  app->imports = calloc(n + 1, sizeof *app->imports);
  wisp_linker_t *linker = app->imports ? wisp_linker_new(srv->threads[0].host_store) : NULL;
  if (!linker || wisp_wasi_define_shared(linker) < 0) {
    wisp_linker_delete(linker);
    return; /* imports stay NULL: components instantiate through a linker */
  }
  for (size_t i = 0; i < n; i++) {
    srv_component_t *c = &app->components[i];
    if (!c->snapshot) continue;
    wisp_error_t err = {0};
    app->imports[i] = calloc(wisp_module_import_count(c->module) + 1, sizeof *app->imports[i]);
    if (app->imports[i] && wisp_linker_resolve(linker, c->module, app->imports[i], &err) < 0) {
      free(app->imports[i]);
      app->imports[i] = NULL;
    }
  }
  wisp_linker_delete(linker);
}

static bool valid_app_name(const char *name) {
  size_t n = strlen(name);
  if (n == 0 || n > 64 || name[0] == '.' || name[0] == '-') return false;
  for (size_t i = 0; i < n; i++) {
    char ch = name[i];
    if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' ||
          ch == '_' || ch == '.'))
      return false;
  }
  return true;
}

srv_app_t *srv_app_build(srv_t *srv, const char *text, size_t text_len, const srv_module_t *modules,
                         size_t nmodules, char *err, size_t err_size) {
  srv_app_t *app = calloc(1, sizeof *app);
  if (!app) {
    snprintf(err, err_size, "out of memory");
    return NULL;
  }
  atomic_init(&app->refs, 1);
  app->log_fd = -1;
  char perr[1024];
  int rc = wisp_manifest_parse(text, text_len, "wisp.toml", &app->manifest, perr, sizeof perr);
  if (rc < 0) {
    snprintf(err, err_size, "%s", rc == -2 ? "out of memory reading the manifest" : perr);
    goto fail;
  }
  wisp_manifest_t *m = app->manifest;
  if (!valid_app_name(m->name)) {
    snprintf(
        err, err_size,
        "wisp.toml: application.name: '%s' cannot be deployed: use 1-64 letters, digits, '-', '_' or '.' "
        "(not first)",
        m->name);
    goto fail;
  }
  app->name = strdup(m->name);
  app->components = calloc(m->component_count + 1, sizeof *app->components);
  if (!app->name || !app->components) {
    snprintf(err, err_size, "out of memory");
    goto fail;
  }
  for (size_t i = 0; i < m->component_count; i++) {
    const wisp_manifest_component_t *mc = &m->components[i];
    srv_component_t *c = &app->components[i];
    c->manifest = mc;
    c->queue_cap = mc->limits.max_concurrency;
    if (strchr(mc->id, ':')) {
      snprintf(err, err_size, "wisp.toml:%u: component.%s: a deployed component's name cannot contain ':'",
               mc->line, mc->id);
      goto fail;
    }
    const srv_module_t *mod = NULL;
    for (size_t k = 0; k < nmodules; k++)
      if (strcmp(modules[k].component, mc->id) == 0) mod = &modules[k];
    if (!mod) {
      snprintf(err, err_size, "component '%s': its module %s is not in the bundle", mc->id,
               source_rel(m, mc->source));
      goto fail;
    }
    c->preopens = calloc(mc->file_count + 1, sizeof *c->preopens);
    char **mounts = realloc(app->mounts, (app->nmounts + mc->file_count + 1) * sizeof *mounts);
    if (mounts) app->mounts = mounts;
    if (!c->preopens || !mounts) {
      snprintf(err, err_size, "out of memory");
      goto fail;
    }
    for (size_t k = 0; k < mc->file_count; k++) {
      if (mc->files[k].read_write) {
        snprintf(err, err_size,
                 "wisp.toml:%u: component.%s.files: read-write mounts cannot be deployed (the files are "
                 "part of the version)",
                 mc->line, mc->id);
        goto fail;
      }
      char *dir = materialize_mount(srv, mc->id, k, modules, nmodules, err, err_size);
      if (!dir) goto fail;
      app->mounts[app->nmounts++] = dir;
      c->preopens[k] =
          (wisp_wasi_preopen_t){.host_path = dir, .guest_path = mc->files[k].destination, .read_only = true};
    }
    c->npreopens = mc->file_count;
    /* The executor follows the artifact, as under `wisp up`: a core module
     * runs as WAGI, a wasi:http component by http_job.c (decoded, checked,
     * instantiated once with its init export run, and snapshotted). */
    if (wisp_is_component(mod->data, mod->size)) {
      if (is_wagi(m, i)) {
        snprintf(err, err_size,
                 "component '%s': %s is a component; the wagi executor runs core command modules", mc->id,
                 source_rel(m, mc->source));
        goto fail;
      }
      if (srv_http_load(c, srv->engine, mod->data, mod->size) < 0 ||
          (!srv->options->no_snapshot && srv_http_snapshot(srv, c, mod->data, mod->size) < 0)) {
        snprintf(err, err_size,
                 "component '%s': %s is not a usable wasi:http component (the server log says why)", mc->id,
                 source_rel(m, mc->source));
        goto fail;
      }
      continue;
    }
    wisp_error_t e = {0};
    int mrc = wisp_module_new(srv->engine, mod->data, mod->size, &c->module, &e);
    if (mrc < 0) {
      c->module = NULL;
      snprintf(err, err_size, "component '%s': %s is not a valid WebAssembly module: %s: %s", mc->id,
               source_rel(m, mc->source), wisp_err_name(mrc), e.message);
      goto fail;
    }
    if (instantiate_once(srv, c, err, err_size) < 0) goto fail;
  }
  resolve_app_imports(srv, app);
  return app;
fail:
  srv_app_release(app);
  return NULL;
}

wisp_store_db_t *srv_serve_db(srv_t *srv, char *err, size_t err_size) {
  srv_serve_t *s = srv->serve;
  if (!s->db && wisp_store_db_open(s->dir, &s->db, err, err_size) < 0) return NULL;
  return s->db;
}

srv_app_t *srv_app_from_store(srv_t *srv, const char *name, int64_t version, char *err, size_t err_size) {
  wisp_store_db_t *db = srv_serve_db(srv, err, err_size);
  if (!db) return NULL;
  wisp_store_version_t *v = NULL;
  if (wisp_store_db_get_version(db, name, version, &v) < 0) {
    snprintf(err, err_size, "%s", wisp_store_db_error(db));
    return NULL;
  }
  srv_module_t *mods = calloc(v->blob_count + 1, sizeof *mods);
  srv_app_t *app = NULL;
  if (!mods) {
    snprintf(err, err_size, "out of memory");
  } else {
    for (size_t i = 0; i < v->blob_count; i++)
      mods[i] = (srv_module_t){v->blobs[i].component, v->blobs[i].data, v->blobs[i].size};
    app = srv_app_build(srv, v->manifest, strlen(v->manifest), mods, v->blob_count, err, err_size);
  }
  if (app) {
    app->version = v->number;
    if (strcmp(app->name, name) != 0) { /* the store names it; a manifest cannot rename it */
      free(app->name);
      app->name = strdup(name);
      if (!app->name) {
        srv_app_release(app);
        app = NULL;
        snprintf(err, err_size, "out of memory");
      }
    }
    if (app) srv_app_open_log(srv, app);
  }
  free(mods);
  wisp_store_version_free(v);
  return app;
}

/* ---- the route table -------------------------------------------------------- */

srv_app_t *srv_table_find(srv_t *srv, const char *name) {
  for (size_t i = 0; i < srv->serve->napps; i++)
    if (strcmp(srv->serve->apps[i]->name, name) == 0) return srv->serve->apps[i];
  return NULL;
}

int srv_table_check_routes(srv_t *srv, const srv_app_t *app, char *err, size_t err_size) {
  srv_serve_t *s = srv->serve;
  for (size_t i = 0; i < s->napps; i++) {
    const srv_app_t *other = s->apps[i];
    if (strcmp(other->name, app->name) == 0) continue;
    for (size_t a = 0; a < app->manifest->trigger_count; a++)
      for (size_t b = 0; b < other->manifest->trigger_count; b++) {
        const wisp_manifest_trigger_t *ta = &app->manifest->triggers[a], *tb = &other->manifest->triggers[b];
        if (ta->wildcard == tb->wildcard && strcmp(ta->prefix, tb->prefix) == 0) {
          snprintf(err, err_size, "route '%s' of app '%s' collides with route '%s' of app '%s'", ta->route,
                   app->name, tb->route, other->name);
          return -1;
        }
      }
  }
  return 0;
}

int srv_table_install(srv_t *srv, const char *name, srv_app_t *app) {
  srv_serve_t *s = srv->serve;
  for (size_t i = 0; i < s->napps; i++) {
    if (strcmp(s->apps[i]->name, name) != 0) continue;
    srv_app_t *old = s->apps[i];
    if (app) {
      atomic_fetch_add(&app->refs, 1);
      s->apps[i] = app;
    } else {
      s->apps[i] = s->apps[--s->napps];
    }
    srv_app_release(old);
    return 0;
  }
  if (!app) return 0;
  srv_app_t **grown = realloc(s->apps, (s->napps + 1) * sizeof *grown);
  if (!grown) return -1;
  s->apps = grown;
  atomic_fetch_add(&app->refs, 1);
  s->apps[s->napps++] = app;
  return 0;
}

/* Exact routes win over wildcards, longer wildcard prefixes over shorter. */
const wisp_manifest_trigger_t *srv_serve_route(srv_t *srv, const char *path, srv_app_t **app_out) {
  srv_serve_t *s = srv->serve;
  const wisp_manifest_trigger_t *best = NULL;
  *app_out = NULL;
  for (size_t i = 0; i < s->napps; i++) {
    const wisp_manifest_trigger_t *t = wisp_manifest_match_route(s->apps[i]->manifest, path);
    if (!t) continue;
    if (!best || (best->wildcard && !t->wildcard) ||
        (best->wildcard && t->wildcard && strlen(t->prefix) > strlen(best->prefix))) {
      best = t;
      *app_out = s->apps[i];
    }
  }
  return best;
}

/* ---- following deploys across processes -------------------------------------- */

uint64_t srv_serve_publish(srv_t *srv) {
  srv_serve_t *s = srv->serve;
  uint64_t gen = atomic_fetch_add(&s->shared->generation, 1) + 1;
  s->generation = gen;
  atomic_store(&s->shared->seen[srv->worker_index], gen);
  srv_wake_workers();
  return gen;
}

int srv_serve_workers_at(srv_t *srv, uint64_t gen, int *total) {
  int n = 0, at = 0;
  for (int i = 0; i < srv->nprocs && i < SRV_SERVE_MAX_WORKERS; i++) {
    if (!atomic_load(&srv->serve->shared->alive[i])) continue;
    n++;
    if (atomic_load(&srv->serve->shared->seen[i]) >= gen) at++;
  }
  *total = n;
  return at;
}

/* Reloads the active versions from the store (a worker behind the
 * generation): versions already loaded are kept. */
static void serve_sync(srv_t *srv, uint64_t gen) {
  srv_serve_t *s = srv->serve;
  char err[1024];
  wisp_store_db_t *db = srv_serve_db(srv, err, sizeof err);
  wisp_store_app_t *list = NULL;
  size_t count = 0;
  if (!db || wisp_store_db_list_apps(db, &list, &count) < 0) {
    fprintf(stderr, "wisp: worker %d: cannot read the store to follow a deploy: %s\n", srv->worker_index,
            db ? wisp_store_db_error(db) : err);
    return; /* retried at the next round */
  }
  /* Drop apps that are gone. */
  for (size_t i = 0; i < s->napps;) {
    bool found = false;
    for (size_t k = 0; k < count; k++)
      found |= strcmp(list[k].name, s->apps[i]->name) == 0 && list[k].active_version > 0;
    if (found) {
      i++;
      continue;
    }
    char *name = strdup(s->apps[i]->name);
    if (!name) break;
    srv_table_install(srv, name, NULL);
    free(name);
  }
  for (size_t k = 0; k < count; k++) {
    if (list[k].active_version <= 0) continue;
    srv_app_t *cur = srv_table_find(srv, list[k].name);
    if (cur && cur->version == list[k].active_version) continue;
    srv_app_t *app = srv_app_from_store(srv, list[k].name, list[k].active_version, err, sizeof err);
    if (!app) {
      fprintf(
          stderr, "wisp: worker %d: app '%s' version %" PRId64 " cannot be loaded (still serving %s): %s\n",
          srv->worker_index, list[k].name, list[k].active_version, cur ? "the previous one" : "nothing", err);
      continue;
    }
    srv_table_install(srv, app->name, app);
    srv_app_release(app);
  }
  wisp_store_apps_free(list, count);
  s->generation = gen;
  atomic_store(&s->shared->seen[srv->worker_index], gen);
}

bool srv_serve_tick(srv_thread_t *thread) {
  srv_t *srv = thread->srv;
  srv_serve_t *s = srv->serve;
  uint64_t gen = atomic_load(&s->shared->generation);
  if (gen != s->generation && srv->worker_index != 0) serve_sync(srv, gen);
  if (srv->worker_index == 0) return srv_admin_tick(thread);
  return false;
}

void srv_serve_crash_point(const char *point) {
  const char *at = getenv("WISP_TEST_CRASH_AT");
  if (at && strcmp(at, point) == 0) {
    fprintf(stderr, "wisp: test crash point '%s': SIGKILL\n", point);
    fflush(stderr);
    kill(getpid(), SIGKILL);
  }
}

/* ---- start-up and teardown ---------------------------------------------------- */

/* DIR/admin.token: read, or made from 32 random bytes (mode 0600) on first start. */
static int load_token(srv_serve_t *s) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", s->dir, TOKEN_FILE);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    ssize_t n = read(fd, s->token, 64);
    close(fd);
    s->token[n > 0 ? n : 0] = '\0';
    if (n != 64 || strspn(s->token, "0123456789abcdef") != 64) {
      fprintf(stderr,
              "wisp serve: %s is not a token wisp wrote (64 hex digits); delete it to make a new one\n",
              path);
      return -1;
    }
    return 0;
  }
  unsigned char raw[32];
  size_t got = 0;
  while (got < sizeof raw) {
    ssize_t n = getrandom(raw + got, sizeof raw - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      fprintf(stderr, "wisp serve: getrandom: %s\n", strerror(errno));
      return -1;
    }
    got += (size_t)n;
  }
  for (size_t i = 0; i < sizeof raw; i++) snprintf(s->token + 2 * i, 3, "%02x", raw[i]);
  char tmp[4200];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || write(fd, s->token, 64) != 64 || write(fd, "\n", 1) != 1 || fsync(fd) < 0 || close(fd) < 0 ||
      rename(tmp, path) < 0) {
    fprintf(stderr, "wisp serve: cannot write %s: %s\n", path, strerror(errno));
    return -1;
  }
  fprintf(stderr, "wisp: admin token written to %s (mode 0600)\n", path);
  return 0;
}

int srv_serve_setup(srv_t *srv) {
  srv_serve_t *s = calloc(1, sizeof *s);
  if (!s) return -1;
  srv->serve = s;
  srv_serve_current = srv;
  srv->threads_per_proc = 1; /* one loop per process: the table is touched by one thread */
  s->dir = strdup(srv->options->data_dir);
  s->shared = srv_shared_alloc(sizeof *s->shared);
  if (!s->dir || !s->shared) return -1;
  char err[1024];
  if (!srv_serve_db(srv, err, sizeof err)) { /* creates DIR (0700) and the schema */
    fprintf(stderr, "wisp serve: %s\n", err);
    return -1;
  }
  if (load_token(s) < 0) return -1;
  char logs[4096];
  snprintf(logs, sizeof logs, "%s/logs", s->dir);
  if (mkdir(logs, 0700) < 0 && errno != EEXIST) {
    fprintf(stderr, "wisp serve: cannot create %s: %s\n", logs, strerror(errno));
    return -1;
  }
  wisp_store_app_t *list = NULL;
  size_t count = 0;
  if (wisp_store_db_list_apps(s->db, &list, &count) < 0) {
    fprintf(stderr, "wisp serve: %s\n", wisp_store_db_error(s->db));
    return -1;
  }
  for (size_t k = 0; k < count; k++) {
    if (list[k].active_version <= 0) continue;
    srv_app_t *app = srv_app_from_store(srv, list[k].name, list[k].active_version, err, sizeof err);
    if (!app) {
      fprintf(stderr, "wisp serve: app '%s' version %" PRId64 " not served: %s\n", list[k].name,
              list[k].active_version, err);
      continue;
    }
    if (srv_table_check_routes(srv, app, err, sizeof err) < 0) {
      fprintf(stderr, "wisp serve: app '%s' not served: %s\n", app->name, err);
    } else {
      srv_table_install(srv, app->name, app);
      fprintf(stderr, "wisp: restored app '%s' version %" PRId64 "\n", app->name, app->version);
    }
    srv_app_release(app);
  }
  wisp_store_apps_free(list, count);
  /* SQLite handles must not cross fork(): each process opens its own. */
  wisp_store_db_close(s->db);
  s->db = NULL;
  return srv_admin_init(srv);
}

void srv_serve_thread_ready(srv_t *srv) {
  for (size_t i = 0; i < srv->serve->napps; i++) resolve_app_imports(srv, srv->serve->apps[i]);
  atomic_store(&srv->serve->shared->alive[srv->worker_index], 1);
  atomic_store(&srv->serve->shared->seen[srv->worker_index], srv->serve->generation);
}

void srv_serve_teardown(srv_t *srv) {
  srv_serve_t *s = srv->serve;
  if (!s) return;
  if (s->shared) atomic_store(&s->shared->alive[srv->worker_index], 0);
  srv_admin_free(srv);
  for (size_t i = 0; i < s->napps; i++) srv_app_release(s->apps[i]);
  free(s->apps);
  wisp_store_db_close(s->db);
  free(s->dir);
  free(s);
  srv->serve = NULL;
  srv_serve_current = NULL;
}
