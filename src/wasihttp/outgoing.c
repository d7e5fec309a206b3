/*
 * outgoing.c: wasi:http/outgoing-handler.handle on the outbound engine
 * (outbound.h), checked against the component's allowed_outbound_hosts
 * (allow.h). See docs/outbound.md.
 *
 * One out_call per handle call, owned by the wasi:http host (h->calls) until
 * wisp__http_delete, since the response's body objects borrow its `in`:
 *
 *   handle        copies the request (the guest gives it away), checks the
 *                 destination, makes the future-incoming-response and, when
 *                 it can, starts the transfer;
 *   request body  the guest writes into the request's hbody_out; its push
 *                 hook (run by every write, check-write, readiness check and
 *                 finish) moves the bytes into the engine as it has room.
 *                 The transfer starts once the body is finished (so its
 *                 length is known and sent as content-length), once bytes
 *                 fill the window, or once the guest waits for the response;
 *   response      the engine's notify makes the incoming-response when the
 *                 head arrives (or records the error-code), marks the future
 *                 ready and wakes the guest;
 *   response body the guest reads the response's hbody_in; its pull hook
 *                 refills it from the engine whenever the guest has read all
 *                 of it; at the end the trailers are copied and the engine's
 *                 request is freed.
 *
 * Invariants: hooks and notify run on the loop thread; notify never frees
 * or starts (outbound.h); nothing here blocks.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allow.h"
#include "internal.h"
#include "outbound.h"

#define CHUNK (32 * 1024) /* response body bytes handed to the guest at a time */

struct wisp__http_call {
  wisp__http_call_t *next;
  wisp__http_t *h;
  hobj_t *future;                   /* NULL once the guest dropped it */
  hbody_out_t *body;                /* the request body the guest writes, or NULL */
  hbody_in_t in;                    /* the response body as the guest reads it */
  wisp_outbound_request_t *request; /* NULL before the start and after the end */
  bool started, delivered, ended, sent_all;
  /* the request, kept for the start */
  char *method, *scheme, *authority, *path;
  wisp_outbound_header_t *headers;
  size_t header_count;
  int64_t content_length; /* the guest's content-length field, or -1 */
  uint64_t timeouts_ms[3];
  uint8_t chunk[CHUNK];
};

static char *dup_n(const char *s, size_t n) {
  char *p = malloc(n + 1);
  if (p) {
    memcpy(p, s, n);
    p[n] = 0;
  }
  return p;
}

static void wake(wisp__http_call_t *call) {
  if (call->h->cfg.wake) call->h->cfg.wake(call->h->cfg.wake_env);
}

/* The request failed or the response came: hand it to the future. Runs in
 * notify (allocations only). */
static void deliver(wisp__http_call_t *call) {
  hobj_t *f = call->future;
  wisp__http_t *h = call->h;
  wisp_outbound_state_t state = wisp_outbound_state(call->request);
  if (call->delivered || !f || state == WISP_OUTBOUND_WAITING) return;
  call->delivered = true;
  f->ready = true;
  if (state == WISP_OUTBOUND_FAILED && wisp_outbound_status(call->request) == 0) {
    const wisp_http_error_t *e = wisp_outbound_error(call->request);
    f->error = dup_n(wisp_http_error_name(e->code), strlen(wisp_http_error_name(e->code)));
    if (e->message[0]) f->error_message = dup_n(e->message, strlen(e->message));
    return;
  }
  hobj_t *r = NULL;
  if (!wisp__http_add(h, H_IN_RESPONSE, &r)) goto nomem;
  r->status = (uint16_t)wisp_outbound_status(call->request);
  size_t count = 0;
  const wisp_outbound_header_t *hs = wisp_outbound_headers(call->request, &count);
  for (size_t i = 0; i < count; i++)
    if (wisp__http_fields_add(&r->fields, hs[i].name, hs[i].name_length, (const uint8_t *)hs[i].value,
                              hs[i].value_length))
      goto nomem;
  r->immutable = true;
  r->in = &call->in;
  f->response = r;
  return;
nomem:
  f->error = dup_n("internal-error", 14);
  f->error_message = dup_n("out of memory", 13);
}

static void on_notify(wisp_outbound_request_t *request, void *user) {
  wisp__http_call_t *call = user;
  deliver(call);
  if (call->body && wisp_outbound_state(request) == WISP_OUTBOUND_FAILED && !call->body->broken) {
    call->body->broken = true;
    snprintf(call->body->error, sizeof call->body->error, "the outbound request failed: %s",
             wisp_http_error_name(wisp_outbound_error(request)->code));
  }
  wake(call);
}

/* Starts the transfer; a failure to start is delivered as the response. */
static void start(wisp__http_call_t *call, bool has_body, int64_t content_length) {
  call->started = true;
  wisp__http_t *h = call->h;
  wisp_outbound_spec_t spec = {
      .method = call->method,
      .scheme = call->scheme,
      .authority = call->authority,
      .path_with_query = call->path,
      .headers = call->headers,
      .header_count = call->header_count,
      .has_body = has_body,
      .content_length = content_length,
      .connect_timeout_ms = call->timeouts_ms[0],
      .first_byte_timeout_ms = call->timeouts_ms[1],
      .between_bytes_timeout_ms = call->timeouts_ms[2],
      .notify = on_notify,
      .user = call,
  };
  wisp_http_error_t error;
  if (!h->cfg.outbound) {
    memset(&error, 0, sizeof error);
    error.code = WISP_HTTP_ERROR_INTERNAL_ERROR;
    snprintf(error.message, sizeof error.message, "outbound HTTP is not available on this thread");
  } else if (wisp_outbound_start(h->cfg.outbound, &spec, &call->request, &error) == 0) {
    return;
  }
  call->delivered = true;
  if (call->future) {
    call->future->ready = true;
    call->future->error = dup_n(wisp_http_error_name(error.code), strlen(wisp_http_error_name(error.code)));
    if (error.message[0]) call->future->error_message = dup_n(error.message, strlen(error.message));
  }
  if (call->body && !call->body->broken) {
    call->body->broken = true;
    snprintf(call->body->error, sizeof call->body->error, "the outbound request could not start");
  }
  wake(call);
}

/* The request ends before it started (its body was abandoned). */
static void fail_early(wisp__http_call_t *call, const char *message) {
  call->started = call->delivered = true;
  if (call->future) {
    call->future->ready = true;
    call->future->error = dup_n("internal-error", 14);
    call->future->error_message = dup_n(message, strlen(message));
  }
  wake(call);
}

/* Methods whose requests carry no body unless the guest wrote one. */
static bool body_optional(const char *method) {
  return strcmp(method, "POST") != 0 && strcmp(method, "PUT") != 0 && strcmp(method, "PATCH") != 0;
}

/* push hook of the request body: start when it is time, then move what the
 * guest wrote into the engine. */
static void push(void *ctx) {
  wisp__http_call_t *call = ctx;
  hbody_out_t *o = call->body;
  if (!o) return;
  if (!call->started) {
    bool full = o->len >= o->window;
    if (o->finished)
      start(call, o->written > 0 || call->content_length > 0 || !body_optional(call->method),
            call->content_length >= 0 ? call->content_length : (int64_t)o->written);
    else if (o->broken)
      return fail_early(call, "the request body was dropped without outgoing-body.finish");
    else if (full)
      start(call, true, call->content_length);
    else
      return;
  }
  wisp_outbound_request_t *request = call->request;
  if (!request || call->sent_all) return;
  wisp_http_error_t error;
  while (o->len > 0 && !o->broken) {
    int64_t n = wisp_outbound_write(request, o->buf + o->start, o->len, &error);
    if (n < 0) {
      o->broken = true;
      snprintf(o->error, sizeof o->error, "the outbound request failed: %s",
               wisp_http_error_name(error.code));
      break;
    }
    if (n == 0) break;
    o->start += (size_t)n;
    o->len -= (size_t)n;
    if (o->len == 0) o->start = 0;
  }
  if (o->broken && wisp_outbound_state(request) != WISP_OUTBOUND_FAILED) {
    memset(&error, 0, sizeof error);
    error.code = WISP_HTTP_ERROR_INTERNAL_ERROR;
    snprintf(error.message, sizeof error.message, "the request body was not finished: %.80s", o->error);
    wisp_outbound_abort(request, &error);
    call->sent_all = true;
  } else if (o->finished && o->len == 0) {
    wisp_outbound_finish(request, &error);
    call->sent_all = true;
  }
}

/* pull hook of the response body: refill `in` once the guest read it all. */
static void pull(void *ctx) {
  wisp__http_call_t *call = ctx;
  hbody_in_t *in = &call->in;
  wisp_outbound_request_t *request = call->request;
  if (!request || in->pos < in->len || in->complete || in->detached) return;
  size_t n = wisp_outbound_read(request, call->chunk, sizeof call->chunk);
  if (n > 0) {
    in->data = call->chunk;
    in->len = n;
    in->pos = 0;
    return;
  }
  if (!wisp_outbound_body_ended(request)) return;
  if (wisp_outbound_state(request) == WISP_OUTBOUND_DONE) {
    size_t count = 0;
    const wisp_outbound_header_t *t = wisp_outbound_trailers(request, &count);
    for (size_t i = 0; i < count; i++)
      wisp__http_fields_add(&in->trailers, t[i].name, t[i].name_length, (const uint8_t *)t[i].value,
                            t[i].value_length);
    in->has_trailers = count > 0;
    in->complete = true;
  } else {
    in->detached = in->failed = true; /* reads fail: the body broke off */
  }
  call->ended = true;
  wisp_outbound_free(request);
  call->request = NULL;
}

/* poll hook of the future: the guest waits for the response, so a request
 * still holding back its body goes now. */
static void poll_future(void *impl) {
  wisp__http_call_t *call = impl;
  if (!call->started && call->body) start(call, true, call->content_length);
  if (call->started) push(call);
}

/* The guest dropped the future: before the response it was a cancel. */
static void future_gone(void *impl) {
  wisp__http_call_t *call = impl;
  call->future = NULL;
  if (!call->delivered && call->request) {
    wisp_outbound_free(call->request);
    call->request = NULL;
  }
}

static void call_free(wisp__http_call_t *call) {
  wisp_outbound_free(call->request);
  if (call->future) {
    call->future->impl = NULL;
    call->future->poll = NULL;
  }
  if (call->body && call->body->push_ctx == call) call->body->push = NULL;
  for (size_t i = 0; i < call->in.trailers.n; i++) {
    free(call->in.trailers.items[i].name);
    free(call->in.trailers.items[i].value);
  }
  free(call->in.trailers.items);
  for (size_t i = 0; i < call->header_count; i++) free((char *)call->headers[i].name);
  free(call->headers);
  free(call->method);
  free(call->scheme);
  free(call->authority);
  free(call->path);
  free(call);
}

void wisp__http_outgoing_free(wisp__http_t *h) {
  while (h->calls) {
    wisp__http_call_t *call = h->calls;
    h->calls = call->next;
    call_free(call);
  }
}

/* ns (request-options) to ms, rounded up; 0 stays 0 (none) */
static uint64_t to_ms(uint64_t ns) { return ns == 0 || ns == UINT64_MAX ? 0 : (ns + 999999) / 1000000; }

/* Copies what start needs from the outgoing-request r. */
static int copy_request(wisp__http_call_t *call, const hobj_t *r) {
  const char *method = r->method ? r->method : "GET";
  call->method = dup_n(method, strlen(method));
  call->scheme = dup_n(r->scheme ? r->scheme : "https", strlen(r->scheme ? r->scheme : "https"));
  call->authority = dup_n(r->authority, strlen(r->authority));
  call->path = dup_n(r->path ? r->path : "/", strlen(r->path ? r->path : "/"));
  call->headers = calloc(r->fields.n + 1, sizeof *call->headers);
  if (!call->method || !call->scheme || !call->authority || !call->path || !call->headers) return -1;
  call->content_length = -1;
  for (size_t i = 0; i < r->fields.n; i++) {
    const hfield_t *f = &r->fields.items[i];
    char *block = malloc(f->name_len + f->value_len + 2);
    if (!block) return -1;
    memcpy(block, f->name, f->name_len);
    block[f->name_len] = 0;
    memcpy(block + f->name_len + 1, f->value, f->value_len);
    block[f->name_len + 1 + f->value_len] = 0;
    call->headers[call->header_count++] =
        (wisp_outbound_header_t){block, block + f->name_len + 1, f->name_len, f->value_len};
    if (f->name_len == 14 && memcmp(f->name, "content-length", 14) == 0) {
      char *end = NULL;
      unsigned long long v = strtoull(block + f->name_len + 1, &end, 10);
      if (end && *end == 0 && f->value_len > 0) call->content_length = (int64_t)v;
    }
  }
  return 0;
}

int wisp__http_outgoing_handle(wisp__http_t *h, wisp__cabi_t *cx, hobj_t *request, hobj_t *options,
                               wisp__cval_t *res) {
  if (!request->authority || !request->authority[0])
    return wisp__http_result_error(cx, res, "HTTP-request-URI-invalid", "the request has no authority");
  const char *scheme = request->scheme ? request->scheme : "https";
  wisp_allow_target_t target;
  char why[300];
  wisp_allow_result_t allowed =
      wisp_allow_check(h->cfg.component, scheme, request->authority, &target, why, sizeof why);
  if (allowed == WISP_ALLOW_INVALID) return wisp__http_result_error(cx, res, "HTTP-request-URI-invalid", why);
  if (allowed == WISP_ALLOW_DENIED) {
    fprintf(stderr, "wisp: request %" PRIu64 " [%s]: outbound request denied: %s\n", h->cfg.request_id,
            h->cfg.component ? h->cfg.component->id : "?", why);
    return wisp__http_result_error(cx, res, "HTTP-request-denied", why);
  }

  wisp__http_call_t *call = calloc(1, sizeof *call);
  hobj_t *f = NULL;
  uint32_t rep = call ? wisp__http_add(h, H_FUTURE_RESPONSE, &f) : 0;
  if (!rep || copy_request(call, request)) {
    if (call) call_free(call);
    if (rep) f->impl = NULL;
    return wisp__http_result_error(cx, res, "internal-error", "out of memory");
  }
  call->h = h;
  call->next = h->calls;
  h->calls = call;
  call->future = f;
  f->impl = call;
  f->impl_free = future_gone;
  f->poll = poll_future;
  for (int i = 0; options && i < 3; i++) call->timeouts_ms[i] = to_ms(options->timeouts[i]);
  call->in.pull = pull;
  call->in.pull_ctx = call;
  if (request->out) {
    call->body = request->out;
    call->body->push = push;
    call->body->push_ctx = call;
    if (call->content_length >= 0) call->body->content_length = call->content_length;
    push(call); /* already finished or full: starts now */
  } else {
    start(call, false, -1);
  }
  return wisp__http_result_ok(cx, res, rep);
}
