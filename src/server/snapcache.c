/*
 * snapcache.c: each WAGI component's start-up snapshot: the pre-initialisation
 * export, and the snapshot files that let a restart skip initialisation.
 *
 * At start a component is instantiated once (data segments, start function),
 * then its pre-initialisation export runs (the manifest's `init`, or
 * `wizer.initialize` when the module exports it and the manifest does not say
 * `init = false`), and the state is captured as a snapshot: every request
 * starts from it (job.c). The snapshot is written to the snapshot directory
 * under a content key (the module's SHA-256, a hash of the init export's
 * name, the format version); the next start loads that file instead of
 * initialising. A file that does not load (corrupt, truncated, another
 * module or format version) is reported in one line and rebuilt, never used.
 * A directory that cannot be created or written costs a warning, nothing
 * more.
 *
 * Invariants: init runs with no arguments, no environment and no files (the
 * state it builds depends on the module alone, which is what makes the
 * content key sound); what it prints goes to the server's stderr.
 */
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "component/csnap.h"
#include "internal.h"
#include "wasihttp/wasihttp.h"

#define INIT_WALL_SECONDS 60        /* how long an init export may run */
#define INIT_FUEL_SLICE 10000000    /* fuel per slice between wall-clock checks */
#define WIZER_INIT "wizer.initialize"

int wisp_server_default_snapshot_dir(char *out, size_t size) {
  const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
  int n;
  if (xdg && xdg[0] == '/')
    n = snprintf(out, size, "%s/wisp/snapshots", xdg);
  else if (home && home[0])
    n = snprintf(out, size, "%s/.cache/wisp/snapshots", home);
  else
    return -1;
  return n < 0 || (size_t)n >= size ? -1 : 0;
}

static uint64_t fnv1a(const char *s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (; *s; s++) {
    h ^= (uint8_t)*s;
    h *= 0x100000001b3ull;
  }
  return h;
}

int wisp_server_snapshot_path(char *out, size_t size, const char *dir, const uint8_t *module_bytes,
                              size_t module_len, const char *init) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int dlen = 0;
  if (!EVP_Digest(module_bytes, module_len, digest, &dlen, EVP_sha256(), NULL) || dlen != 32) return -1;
  char hex[65], tag[17];
  for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", digest[i]);
  if (init)
    snprintf(tag, sizeof tag, "%016llx", (unsigned long long)fnv1a(init));
  else
    snprintf(tag, sizeof tag, "none");
  return snprintf(out, size, "%s/%s.%s.v%u.wsnap", dir, hex, tag, (unsigned)WISP_SNAPSHOT_FORMAT_VERSION);
}

/* mkdir -p. 0, or -1 with errno. */
static int make_dirs(const char *dir) {
  char path[4096];
  size_t n = strlen(dir);
  if (n == 0 || n >= sizeof path) {
    errno = ENAMETOOLONG;
    return -1;
  }
  memcpy(path, dir, n + 1);
  for (char *p = path + 1; *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    if (mkdir(path, 0755) < 0 && errno != EEXIST) return -1;
    *p = '/';
  }
  return mkdir(path, 0755) < 0 && errno != EEXIST ? -1 : 0;
}

/* Whether a snapshot file is there to try: a regular file (anything else at
 * that name is reported once and then fails to be replaced, with a warning). */
static bool file_present(const char *id, const char *path) {
  struct stat st;
  if (stat(path, &st) != 0) return false;
  if (S_ISREG(st.st_mode)) return true;
  fprintf(stderr, "wisp: component '%s': not using the snapshot file: %s is not a regular file; rebuilding it\n",
          id, path);
  return false;
}

/* True when `func` has type () -> (). */
static bool is_nullary(const wisp_func_t *func) {
  const wisp_functype_t *t = wisp_func_type(func);
  return t->nparams == 0 && t->nresults == 0;
}

int srv_component_find_init(srv_component_t *c) {
  const wisp_manifest_component_t *mc = c->manifest;
  c->init = NULL;
  if (mc->no_init) return 0;
  const char *name = mc->init ? mc->init : WIZER_INIT;
  for (uint32_t i = 0; i < wisp_module_export_count(c->module); i++) {
    wisp_export_desc_t e;
    wisp_module_export(c->module, i, &e);
    if (e.name_len != strlen(name) || memcmp(e.name, name, e.name_len) != 0) continue;
    bool ok = e.type.kind == WISP_EXTERN_FUNC && e.type.func.nparams == 0 && e.type.func.nresults == 0;
    if (ok) {
      c->init = name;
      return 0;
    }
    if (!mc->init) {
      fprintf(stderr, "wisp: component '%s': the export '%s' is not a () -> () function; not running it\n",
              mc->id, name);
      return 0;
    }
    fprintf(stderr, "wisp: component '%s': init = \"%s\" (manifest line %u): the export is not a function "
                    "without parameters and results\n", mc->id, name, mc->init_line);
    return -1;
  }
  if (!mc->init) return 0;
  fprintf(stderr, "wisp: component '%s': init = \"%s\" (manifest line %u): the module %s exports no such "
                  "function\n", mc->id, name, mc->init_line, mc->source);
  return -1;
}

int srv_run_init(wisp_instance_t *inst, wisp_exec_t *exec, const char *name, char *msg, size_t size) {
  wisp_extern_t ext;
  if (wisp_instance_export(inst, name, strlen(name), &ext) < 0 || ext.kind != WISP_EXTERN_FUNC ||
      !is_nullary(ext.of.func)) {
    snprintf(msg, size, "no () -> () export '%s'", name);
    return -1;
  }
  time_t until = time(NULL) + INIT_WALL_SECONDS;
  wisp_exec_set_fuel(exec, INIT_FUEL_SLICE);
  wisp_status_t st = wisp_exec_call(exec, ext.of.func, NULL, 0, NULL, 0);
  while (st == WISP_OUT_OF_FUEL && time(NULL) < until) {
    wisp_exec_set_fuel(exec, INIT_FUEL_SLICE);
    st = wisp_exec_continue(exec);
  }
  if (st == WISP_DONE) return 0;
  if (st == WISP_TRAPPED) {
    wisp_trap_t *trap = wisp_exec_take_trap(exec);
    if (trap && wisp_trap_kind(trap) == WISP_TRAP_EXIT && wisp_trap_exit_code(trap) == 0) {
      wisp_trap_delete(trap);
      return 0; /* proc_exit(0) ends init cleanly */
    }
    if (trap) wisp_trap_format(trap, msg, size);
    else snprintf(msg, size, "trapped");
    wisp_trap_delete(trap);
  } else {
    snprintf(msg, size, st == WISP_OUT_OF_FUEL ? "still running after %d s" : "suspended (init may not wait)",
             INIT_WALL_SECONDS);
    wisp_exec_abort(exec);
    wisp_trap_delete(wisp_exec_take_trap(exec));
  }
  size_t n = strlen(msg);
  while (n && msg[n - 1] == '\n') msg[--n] = '\0';
  return -1;
}

/* Instantiates the component once against the shared WASI definitions, runs
 * its init export, and captures the snapshot into c->snapshot. -1 when init
 * fails (a load error); 0 otherwise, c->snapshot NULL when the module cannot
 * be snapshotted (it imports its memory, say, or its start function traps:
 * then every request instantiates and shows the error). */
static int build_snapshot(srv_t *srv, srv_component_t *c) {
  wisp_error_t err = {0};
  wisp_store_t *store = wisp_store_new(srv->engine);
  wisp_linker_t *linker = store ? wisp_linker_new(store) : NULL;
  wisp_exec_t *exec = store ? wisp_exec_new(store, NULL) : NULL;
  wisp_wasi_config_t cfg;
  wisp_wasi_config_init(&cfg);
  cfg.stdio[1].host_fd = 2; /* what init prints goes to the server's log */
  cfg.stdio[2].host_fd = 2;
  wisp_wasi_t *wasi = NULL;
  wisp_instance_t *inst = NULL;
  wisp_trap_t *trap = NULL;
  const char *why = "out of memory";
  char msg[600];
  int rc = 0;
  if (!linker || !exec || wisp_wasi_define_shared(linker) < 0 || wisp_wasi_new(&cfg, &wasi, &err) < 0) goto done;
  wisp_wasi_attach(wasi, store);
  why = err.message;
  if (wisp_linker_instantiate(linker, NULL, c->module, &inst, &trap, &err) < 0) {
    if (trap) why = wisp_trap_message(trap);
    goto done;
  }
  if (c->init && srv_run_init(inst, exec, c->init, msg, sizeof msg) < 0) {
    fprintf(stderr, "wisp: component '%s': the init export '%s' failed: %s\n", c->manifest->id, c->init, msg);
    rc = -1;
    goto done;
  }
  if (wisp_snapshot_new(inst, &c->snapshot, &err) < 0) c->snapshot = NULL;
done:
  if (!c->snapshot && rc == 0)
    fprintf(stderr, "wisp: component '%s': no snapshot (%s); instantiating%s per request\n", c->manifest->id, why,
            c->init ? " and initialising" : "");
  wisp_trap_delete(trap);
  wisp_exec_delete(exec);
  wisp_linker_delete(linker);
  wisp_store_delete(store);
  wisp_wasi_delete(wasi);
  return rc;
}

/* The snapshot directory from the options: NULL when there is none. */
static const char *snapshot_dir(const srv_t *srv, char *buf, size_t size) {
  const char *dir = srv->options->snapshot_dir;
  if (dir) return dir[0] ? dir : NULL;
  return wisp_server_default_snapshot_dir(buf, size) == 0 ? buf : NULL;
}

int srv_component_snapshot(srv_t *srv, srv_component_t *c, const uint8_t *bytes, size_t len) {
  const char *id = c->manifest->id;
  char dirbuf[4096], path[4096];
  const char *dir = snapshot_dir(srv, dirbuf, sizeof dirbuf);
  int n = dir ? wisp_server_snapshot_path(path, sizeof path, dir, bytes, len, c->init) : -1;
  if (n < 0 || (size_t)n >= sizeof path) dir = NULL;
  wisp_error_t err = {0};
  if (dir && file_present(id, path)) {
    if (wisp_snapshot_load(c->module, path, &c->snapshot, &err) == 0) {
      fprintf(stderr, "wisp: component '%s': snapshot loaded from %s%s\n", id, path,
              c->init ? " (initialisation skipped)" : "");
      return 0;
    }
    fprintf(stderr, "wisp: component '%s': not using the snapshot file: %s; rebuilding it\n", id, err.message);
  }
  if (build_snapshot(srv, c) < 0) return -1;
  if (!c->snapshot || !dir) return 0;
  if (make_dirs(dir) < 0) {
    fprintf(stderr, "wisp: warning: component '%s': cannot create the snapshot directory %s: %s; the next "
                    "start initialises again\n", id, dir, strerror(errno));
    return 0;
  }
  if (wisp_snapshot_save(c->snapshot, path, &err) < 0)
    fprintf(stderr, "wisp: warning: component '%s': cannot write its snapshot file: %s; the next start "
                    "initialises again\n", id, err.message);
  return 0;
}

/* ---- components ------------------------------------------------------------------ */

typedef struct init_budget {
  time_t until;
} init_budget_t;

static bool init_fuel(void *env, wisp_exec_t *exec) {
  const init_budget_t *b = env;
  if (time(NULL) >= b->until) return false;
  wisp_exec_set_fuel(exec, INIT_FUEL_SLICE);
  return true;
}

/* Calls a component's init export ("name", or "interface#name"), a function
 * without parameters or results, to completion. 0, or -1 with msg. */
static int run_component_init(wisp__cinst_t *inst, wisp_exec_t *exec, const wisp_component_t *comp,
                              const char *init, char *msg, size_t size) {
  char iface[256];
  const char *hash = strrchr(init, '#'), *name = init;
  const char *instance = NULL;
  if (hash && (size_t)(hash - init) < sizeof iface) {
    memcpy(iface, init, (size_t)(hash - init));
    iface[hash - init] = '\0';
    instance = iface;
    name = hash + 1;
  }
  wisp__cfunc_t *f = wisp__cinst_func(inst, instance, name);
  if (!f) {
    snprintf(msg, size, "the component exports no function '%s'", init);
    return -1;
  }
  const wisp__ctype_t *ft = wisp__ctype(comp, wisp__cfunc_type(f));
  if (ft->n || ft->nresults) {
    snprintf(msg, size, "'%s' is not a function without parameters and results", init);
    return -1;
  }
  init_budget_t budget = {time(NULL) + INIT_WALL_SECONDS};
  wisp__cinst_set_fuel_hook(inst, init_fuel, &budget);
  wisp_exec_set_fuel(exec, INIT_FUEL_SLICE);
  wisp__arena_t arena;
  wisp__arena_init(&arena);
  char trap[400];
  int rc = wisp__cinst_call(inst, f, NULL, 0, NULL, 0, &arena, trap, sizeof trap);
  wisp__arena_free(&arena);
  wisp__cinst_set_fuel_hook(inst, NULL, NULL);
  if (rc) snprintf(msg, size, "%s", trap);
  return rc ? -1 : 0;
}

int srv_component_csnap(srv_t *srv, const char *id, const wisp_component_t *comp, const uint8_t *bytes, size_t len,
                        const char *init, const wisp__chost_func_t *host, size_t count, wisp__csnap_t **out) {
  *out = NULL;
  char dirbuf[4096], path[4096];
  const char *dir = snapshot_dir(srv, dirbuf, sizeof dirbuf);
  int n = dir ? wisp_server_snapshot_path(path, sizeof path, dir, bytes, len, init) : -1;
  if (n < 0 || (size_t)n >= sizeof path) dir = NULL;
  wisp_error_t err = {0};
  if (dir && file_present(id, path)) {
    if (wisp__csnap_load(comp, path, out, &err) == 0) {
      fprintf(stderr, "wisp: component '%s': snapshot loaded from %s%s\n", id, path,
              init ? " (initialisation skipped)" : "");
      return 0;
    }
    fprintf(stderr, "wisp: component '%s': not using the snapshot file: %s; rebuilding it\n", id, err.message);
  }
  wisp_store_t *store = wisp_store_new(srv->engine);
  wisp_exec_t *exec = store ? wisp_exec_new(store, NULL) : NULL;
  wisp__cinst_t *inst = NULL;
  char msg[600];
  int rc = !exec ? WISP_ERR_NOMEM : wisp__cinst_new(comp, store, exec, host, count, &inst, &err);
  bool init_failed = false;
  if (rc == 0 && init && run_component_init(inst, exec, comp, init, msg, sizeof msg) < 0) {
    fprintf(stderr, "wisp: component '%s': the init export '%s' failed: %s\n", id, init, msg);
    init_failed = true;
    rc = WISP_ERR_TRAP;
  }
  if (rc == 0) rc = wisp__csnap_new(inst, out, &err);
  wisp__cinst_delete(inst);
  wisp_exec_delete(exec);
  wisp_store_delete(store);
  if (init_failed) return -1;
  if (rc) {
    const char *why = rc == WISP_ERR_NOMEM && !err.message[0] ? "out of memory" : err.message;
    if (init) {
      fprintf(stderr, "wisp: component '%s': cannot snapshot it after its init export '%s' (%s)\n", id, init, why);
      return -1;
    }
    fprintf(stderr, "wisp: component '%s': no snapshot (%s); instantiating per request\n", id, why);
    return rc;
  }
  if (!dir) return 0;
  if (make_dirs(dir) < 0)
    fprintf(stderr, "wisp: warning: component '%s': cannot create the snapshot directory %s: %s; the next "
                    "start instantiates again\n", id, dir, strerror(errno));
  else if (wisp__csnap_save(*out, path, &err) < 0)
    fprintf(stderr, "wisp: warning: component '%s': cannot write its snapshot file: %s; the next start "
                    "instantiates again\n", id, err.message);
  return 0;
}

int srv_http_snapshot(srv_t *srv, srv_component_t *c, const uint8_t *bytes, size_t len) {
  static const char *const no_args[] = {"wisp"};
  /* what an init export prints goes to the server's log */
  wisp__wasi2_config_t wcfg = {.argv = no_args, .argc = 1, .stdio = {-1, 2, 2}, .deadline_ns = -1};
  const char *init = c->manifest->no_init ? NULL : c->manifest->init;
  wisp__wasi2_t *wasi = NULL;
  wisp__http_t *http = NULL;
  const wisp__chost_func_t *hf = NULL, *wf = NULL;
  wisp__chost_func_t *funcs = NULL;
  size_t nh = 0, nw = 0;
  int rc = wisp__wasi2_new(&wcfg, &wasi);
  /* a request nobody sends: the host functions exist per request, and none is
   * called while instantiating */
  wisp__http_request_t req = {"GET", 3, "/", 1, false, "localhost", 9, NULL, 0};
  wisp__http_config_t hcfg = {.wasi = wasi};
  if (rc == 0) rc = wisp__http_new(&hcfg, &req, &http);
  if (rc == 0 && (wisp__http_check(http, c->http) < 0 || wisp__wasi2_check(wasi, c->http) < 0)) {
    rc = WISP_ERR_LINK; /* each request reports the link error */
    if (init) {
      fprintf(stderr, "wisp: component '%s': cannot run its init export: %s\n", c->manifest->id,
              wisp__http_check(http, c->http) < 0 ? wisp__http_error(http) : wisp__wasi2_error(wasi));
      rc = -1;
    }
  }
  if (rc == 0) {
    rc = wisp__http_host_funcs(http, &hf, &nh);
    if (rc == 0) rc = wisp__wasi2_host_funcs(wasi, c->http, &wf, &nw);
  }
  if (rc == 0 && !(funcs = calloc(nh + nw + 1, sizeof *funcs))) rc = WISP_ERR_NOMEM;
  if (rc == 0) {
    memcpy(funcs, hf, nh * sizeof *hf);
    memcpy(funcs + nh, wf, nw * sizeof *wf);
    rc = srv_component_csnap(srv, c->manifest->id, c->http, bytes, len, init, funcs, nh + nw, &c->csnap);
  }
  free(funcs);
  wisp__http_delete(http);
  wisp__wasi2_delete(wasi);
  return rc == WISP_ERR_NOMEM || rc == -1 ? -1 : 0;
}
