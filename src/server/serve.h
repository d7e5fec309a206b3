/*
 * serve.h: the state of `wisp serve` shared by apps.c (the versioned route
 * table, the store, following deploys across worker processes) and
 * src/admin/admin.c (the admin API). See apps.c's header comment.
 */
#ifndef WISP_SERVER_SERVE_H
#define WISP_SERVER_SERVE_H

#include "internal.h"
#include "store/store.h"

#define SRV_SERVE_MAX_WORKERS 257

/* In MAP_SHARED memory, made before the workers fork. */
typedef struct srv_serve_shared {
  atomic_ulong generation;                  /* bumped after every committed change */
  atomic_ulong seen[SRV_SERVE_MAX_WORKERS]; /* the generation each worker serves */
  atomic_int alive[SRV_SERVE_MAX_WORKERS];  /* 1 while the worker runs its loop */
} srv_serve_shared_t;

/* A module of a version being built: the component it is for and its bytes. */
typedef struct srv_module {
  const char *component;
  const uint8_t *data;
  size_t size;
} srv_module_t;

struct srv_serve {
  char *dir;           /* the data directory */
  char token[65];      /* the admin bearer token (64 hex digits) */
  wisp_store_db_t *db; /* this process's store handle, opened on first use */
  srv_app_t **apps;    /* the route table: the active version of each app */
  size_t napps;
  srv_serve_shared_t *shared;
  uint64_t generation; /* the generation this process serves */
  void *admin;         /* admin.c's state */
};

/* This process's store handle; NULL with a message in err. */
wisp_store_db_t *srv_serve_db(srv_t *srv, char *err, size_t err_size);

/* Builds an app version from manifest text and the modules of its
 * components: parses the manifest, compiles every WAGI component's module
 * and instantiates it once (start functions run, under a fuel and memory
 * cap), making its snapshot. NULL with a user-facing message in err. The
 * result has one reference, version 0 and no log (see srv_app_open_log). */
srv_app_t *srv_app_build(srv_t *srv, const char *manifest, size_t manifest_len, const srv_module_t *modules,
                         size_t nmodules, char *err, size_t err_size);
/* Loads version `version` (0: active) of app `name` from the store. */
srv_app_t *srv_app_from_store(srv_t *srv, const char *name, int64_t version, char *err, size_t err_size);
void srv_app_open_log(srv_t *srv, srv_app_t *app);
/* DIR/logs/NAME.log into out. */
void srv_app_log_path(const srv_t *srv, const char *name, bool previous, char *out, size_t size);

/* Whether a route of app collides with a route of another app in the
 * table: -1 and a message naming both apps, or 0. */
int srv_table_check_routes(srv_t *srv, const srv_app_t *app, char *err, size_t err_size);
/* Makes app the served version of its name (or, with app NULL, stops
 * serving `name`): one step for the loop. The table takes its own reference. */
int srv_table_install(srv_t *srv, const char *name, srv_app_t *app);
/* The app of the table named name, or NULL. */
srv_app_t *srv_table_find(srv_t *srv, const char *name);

/* After a committed change installed here: a new generation for the other
 * workers to follow; returns it. */
uint64_t srv_serve_publish(srv_t *srv);
/* How many worker processes serve generation gen or later (*total: how many
 * run). */
int srv_serve_workers_at(srv_t *srv, uint64_t gen, int *total);

/* Test-only crash points: when the environment variable WISP_TEST_CRASH_AT
 * names `point`, the process kills itself with SIGKILL there. */
void srv_serve_crash_point(const char *point);

/* admin.c */
int srv_admin_init(srv_t *srv);
bool srv_admin_tick(srv_thread_t *thread);
void srv_admin_free(srv_t *srv);

#endif
