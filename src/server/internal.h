/*
 * internal.h: shared state of the server's files (server.c: listeners, loops
 * and lifecycle; job.c: one request's guest instance and its scheduling;
 * metrics.c: counters and the Prometheus page; accesslog.c).
 *
 * Processes and threads: one event loop per thread (srv_thread_t), by
 * default one thread in each of one worker process per CPU. A job (one
 * request) lives and runs on the thread that accepted its connection;
 * nothing of a job is touched by another thread. What loops share is
 * read-only after start (srv_t, the manifest, compiled modules, inherited
 * by fork) or atomic in MAP_SHARED memory (metrics, request ids,
 * per-component running/queued counts).
 */
#ifndef WISP_SERVER_INTERNAL_H
#define WISP_SERVER_INTERNAL_H

#define H2O_USE_EPOLL 1 /* Debian's libh2o-evloop is built with epoll */
#include <h2o.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "manifest/manifest.h"
#include "server.h"
#include "wisp.h"
#include "wisp_component.h"
#include "wisp_wasi.h"

typedef struct srv srv_t;
typedef struct srv_thread srv_thread_t;
typedef struct srv_job srv_job_t;
typedef struct srv_app srv_app_t;
typedef struct srv_serve srv_serve_t;

/* A component with its module compiled once at start. */
typedef struct srv_component {
  const wisp_manifest_component_t *manifest;
  wisp_module_t *module;     /* NULL when it could not be loaded (HTTP executor) */
  wisp_component_t *http;    /* a wasi:http/incoming-handler component (http_job.c), or NULL */
  struct wisp__csnap *csnap; /* http's state after instantiation (snapcache.c); NULL:
                                instantiate the component per request */
  struct srv_http_host *http_host; /* http's host functions, imports resolved once (http_job.c) */
  wisp_snapshot_t *snapshot; /* its state after instantiation and init; NULL:
                                instantiate (and init) per request through a linker */
  const char *init;          /* the pre-initialisation export to run, or NULL
                                (borrowed from the manifest or a literal) */
  wisp_wasi_preopen_t *preopens;
  size_t npreopens;
  atomic_uint running; /* instances alive now, all threads */
  atomic_uint queued;  /* requests waiting for a slot, all threads */
  uint32_t queue_cap;
  atomic_bool pool_fit_logged; /* "does not fit a pool slot" was logged (all processes) */
} srv_component_t;

/* One application version as this process serves it: its manifest and its
 * compiled components. `wisp up` has one (srv.static_app, never freed before
 * exit); `wisp serve` builds one per deployed version (apps.c). A job holds a
 * reference for its whole life, so a request finishes on the version it
 * started on while a deploy switches the route table under it. Touched only
 * by the process's one loop thread in `wisp serve`, except refs (atomic). */
struct srv_app {
  atomic_uint refs;
  char *name;      /* the application name (the store's key) */
  int64_t version; /* store version; 0 under `wisp up` */
  wisp_manifest_t *manifest;
  srv_component_t *components; /* manifest->component_count */
  wisp_extern_t **imports;     /* per component, resolved against loop thread 0's host
                                  store (`wisp serve`); NULL: use the thread's */
  int log_fd;                  /* DIR/logs/APP.log (`wisp serve`), -1: none */
  char **mounts; /* host directories of its files mounts (`wisp serve`) */
  size_t nmounts;
  unsigned log_writes;
};

/* Latency histogram bucket bounds in microseconds (Prometheus "le"). */
#define SRV_LATENCY_BUCKETS 14
extern const uint64_t srv_latency_bounds_us[SRV_LATENCY_BUCKETS];

/* Counters of one route (trigger), or of "no route" (index trigger_count). */
typedef struct srv_route_metrics {
  atomic_ulong by_status[600];
} srv_route_metrics_t;

typedef struct srv_metrics {
  srv_route_metrics_t *routes;                           /* trigger_count + 1 */
  atomic_ulong latency_buckets[SRV_LATENCY_BUCKETS + 1]; /* last one: +Inf */
  atomic_ulong latency_sum_us, latency_count;
  atomic_ulong instantiate_sum_us, instantiate_count;
  atomic_ulong guest_cpu_us;
  atomic_ulong traps, cpu_limits, wall_limits, bad_responses, rejected_queue_full;
  atomic_ulong next_request_id;
  atomic_uint inflight; /* requests being handled, all processes */
} srv_metrics_t;

struct srv {
  const wisp_server_options_t *options;
  wisp_engine_t *engine;
  wisp_manifest_t *manifest;
  srv_component_t *components; /* manifest->component_count */
  h2o_globalconf_t globalconf;
  h2o_hostconf_t *app_hosts[2], *admin_hosts[2];
  SSL_CTX *ssl_ctx;
  int listen_port, admin_port;
  struct sockaddr_storage listen_addr, admin_addr;
  socklen_t listen_addrlen, admin_addrlen;
  srv_thread_t *threads;
  int nthreads;
  wisp_pool_t *pool;      /* memory slots for snapshot instances, per process */
  uint32_t pool_slots;    /* its configuration (wisp_server_pool_config) */
  uint64_t pool_slot_bytes;
  atomic_bool pool_busy_logged; /* "every slot in use" was logged (this process) */
  srv_metrics_t *metrics; /* shared by every worker process (srv_shared_alloc) */
  int nprocs, threads_per_proc;
  bool is_child;
  int worker_index;  /* 0 in the first process, 1.. in forked workers */
  srv_app_t *static_app; /* `wisp up`: the one application */
  srv_serve_t *serve;    /* `wisp serve`: store, route table, admin API (apps.c) */
};

#define SRV_SPARE_EXECS 16

struct srv_thread {
  h2o_context_t ctx; /* first: on_req finds its thread from req->conn->ctx */
  srv_t *srv;
  int index;
  pthread_t tid;
  h2o_accept_ctx_t accept_ctx, admin_accept_ctx;
  h2o_socket_t *listener, *admin_listener;
  int64_t slice_fuel;       /* fuel per slice, adapted to ~0.5 ms of CPU */
  unsigned inflight;        /* jobs alive on this thread */
  h2o_linklist_t waiting;   /* jobs queued for a concurrency slot */
  h2o_linklist_t ready;     /* jobs whose fuel slice ended, to run next round */
  h2o_linklist_t sleeping;  /* jobs suspended in a WASI call (a sleep) until wake_us */
  wisp_store_t *host_store; /* long-lived: the shared WASI host functions */
  wisp_extern_t **imports;  /* per component, resolved once; NULL: no snapshot */
  bool closing;             /* listeners closed, draining */
  h2o_linklist_t http_waiting, http_ready, http_blocked; /* wasi:http jobs (http_job.c) */
  struct wisp_outbound *outbound; /* outbound HTTP of this loop's guests (src/wasihttp/outbound.h) */
  /* Idle execs kept for the next requests: an exec's stacks are two mmaps
   * (1 MiB value stack, call frames) that a request need not pay for again. */
  wisp_exec_t *spare_execs[SRV_SPARE_EXECS];
  unsigned nspare;
};

/* server.c */
/* After an instance of c was made from a snapshot in `store`: logs once why
 * its memory got no pool slot, if it did not. */
void srv_pool_note(srv_t *srv, srv_component_t *c, wisp_store_t *store);

/* job.c */
/* Handles one request for route `trigger` (already matched); always answers,
 * now or later. */
void srv_job_start(srv_thread_t *thread, h2o_req_t *req, srv_app_t *app, const wisp_manifest_trigger_t *trigger);
void srv_thread_jobs_init(srv_thread_t *thread);
/* True if the client of an HTTP/1 request has closed its connection (a peek:
 * h2o 2.2 does not read an HTTP/1 socket while a request is handled); the
 * WAGI and wasi:http executors ask between slices. */
bool srv_client_closed(h2o_req_t *req);
/* Admits waiting jobs and gives every ready job one slice. Returns true if
 * jobs remain ready or waiting (the loop should poll without sleeping). */
bool srv_thread_run_jobs(srv_thread_t *thread);

/* snapcache.c */
/* Sets c->init from the manifest's `init` (checked: a () -> () export of
 * c->module, else a message and -1) or the module's `wizer.initialize`. */
int srv_component_find_init(srv_component_t *c);
/* Sets c->snapshot: from the snapshot directory's file for these module
 * bytes when it loads, else by instantiating and running init (then saving
 * the file). -1 (after a message) when init fails; c->snapshot stays NULL
 * when the module cannot be snapshotted. */
int srv_component_snapshot(srv_t *srv, srv_component_t *c, const uint8_t *bytes, size_t len);
/* For wasi:http components: *out = the snapshot of component comp (whose
 * binary is bytes/len), from the snapshot directory's file when it loads,
 * else by instantiating it once with `host` (count functions), calling its
 * `init` export ("name" or "interface#name", a func() -> (); NULL for none)
 * and capturing it (then saving the file). -1 (after a message) when init
 * fails or the initialised instance cannot be captured: a load error; another
 * negative code (after a message) when it cannot be snapshotted: instantiate
 * per request instead. Requests use wisp__cinst_from_csnap in a pooled store. */
struct wisp__csnap;
struct wisp__chost_func;
int srv_component_csnap(srv_t *srv, const char *id, const wisp_component_t *comp, const uint8_t *bytes, size_t len,
                        const char *init, const struct wisp__chost_func *host, size_t count,
                        struct wisp__csnap **out);
/* Sets c->csnap for a wasi:http component (c->http, binary bytes/len) with
 * srv_component_csnap, using the host functions of a scratch wasi:http and
 * WASI 0.2 host, running the manifest's `init` export if it names one. -1
 * when out of memory or init fails; a component without init that does not
 * link or cannot be snapshotted is instantiated per request. */
int srv_http_snapshot(srv_t *srv, srv_component_t *c, const uint8_t *bytes, size_t len);
/* Calls the () -> () export `name` of inst on exec to completion. 0, or -1
 * with the reason in msg. */
int srv_run_init(wisp_instance_t *inst, wisp_exec_t *exec, const char *name, char *msg, size_t size);

/* server.c: memory shared by every worker process (MAP_SHARED, made before
 * the workers fork), zeroed; never freed before exit. */
void *srv_shared_alloc(size_t size);

/* metrics.c */
int srv_metrics_init(srv_t *srv);
void srv_metrics_free(srv_t *srv);
void srv_metrics_request(srv_t *srv, size_t route, int status, uint64_t duration_us);
/* The Prometheus text page; malloc'd, *len set. */
char *srv_metrics_render(srv_t *srv, size_t *len);

/* accesslog.c */
typedef struct srv_access {
  uint64_t id;
  const char *route; /* NULL: no route */
  int status;
  uint64_t bytes, duration_us, instantiate_us, cpu_us;
  srv_app_t *app; /* NULL: no application (its log gets the line too) */
} srv_access_t;
void srv_access_log(srv_t *srv, h2o_req_t *req, const srv_access_t *entry);

uint64_t srv_now_us(void);

/* server.c */
void srv_wake_workers(void);
void srv_send_plain(h2o_req_t *req, int status, const char *reason, const char *type, const char *body,
                    size_t len);

/* apps.c: `wisp serve` (see apps.c's header comment) */
/* Metrics route slot of a request for trigger of app; of "no route". */
size_t srv_route_index(const srv_t *srv, const srv_app_t *app, const wisp_manifest_trigger_t *trigger);
size_t srv_no_route_index(const srv_t *srv);
void srv_app_release(srv_app_t *app);
/* Appends one line (no newline needed) to the app's log. */
void srv_app_log(srv_app_t *app, const char *line, size_t len);
/* Finds the app and trigger serving path in the current table; NULL: none. */
const wisp_manifest_trigger_t *srv_serve_route(srv_t *srv, const char *path, srv_app_t **app);
/* Start-up of `wisp serve` before the workers fork: store, token, active apps. */
int srv_serve_setup(srv_t *srv);
/* After loop thread 0 of this process exists: resolve the restored apps' imports. */
void srv_serve_thread_ready(srv_t *srv);
/* Called by the loop every round: follows deploys made by another process,
 * finishes admin requests waiting for the workers. true: wants a quick poll. */
bool srv_serve_tick(srv_thread_t *thread);
void srv_serve_teardown(srv_t *srv);
/* The admin API's handler for paths under /v1/ (admin.c). */
int srv_admin_handle(srv_thread_t *thread, h2o_req_t *req);

#endif
