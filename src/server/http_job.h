/*
 * http_job.h: the wasi:http executor (http_job.c), as the rest of the server
 * sees it: a component exporting wasi:http/incoming-handler is served by a
 * fresh instance per request, its guest on a coroutine of the loop thread.
 */
#ifndef WISP_SERVER_HTTP_JOB_H
#define WISP_SERVER_HTTP_JOB_H

#include "internal.h"

/* Decodes a component for the executor into c->http; 0, or -1 after a
 * message naming the component (not a component of wasi:http/proxy). */
int srv_http_load(srv_component_t *c, wisp_engine_t *engine, const uint8_t *bytes, size_t len);
/* Frees what srv_http_load made besides c->http (before c->http is deleted). */
void srv_http_unload(srv_component_t *c);
void srv_http_thread_init(srv_thread_t *thread);
/* Handles one request for a wasi:http component's route; always answers. */
void srv_http_start(srv_thread_t *thread, h2o_req_t *req, srv_app_t *app, const wisp_manifest_trigger_t *trigger,
                    uint64_t id);
/* Admits queued jobs, wakes blocked ones whose time came, gives every ready
 * job one turn. True while jobs are ready, queued or blocked. */
bool srv_http_run_jobs(srv_thread_t *thread);
/* True if a job is ready to run (the loop should not sleep). */
bool srv_http_has_ready(srv_thread_t *thread);

#endif
