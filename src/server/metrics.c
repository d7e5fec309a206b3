/*
 * metrics.c: the server's counters (atomics in memory shared by every worker
 * process and loop thread) and
 * their Prometheus text exposition, served at /metrics on the admin listener.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

const uint64_t srv_latency_bounds_us[SRV_LATENCY_BUCKETS] = {
    100, 250, 500, 1000, 2000, 5000, 10000, 25000, 50000, 100000, 250000, 1000000, 5000000, 30000000};

int srv_metrics_init(srv_t *srv) {
  srv->metrics = srv_shared_alloc(sizeof *srv->metrics);
  if (!srv->metrics) return -1;
  /* `wisp serve`: one slot for every deployed route, one for "no route". */
  size_t slots = srv->manifest ? srv->manifest->trigger_count + 1 : 2;
  srv->metrics->routes = srv_shared_alloc(slots * sizeof *srv->metrics->routes);
  return srv->metrics->routes ? 0 : -1;
}

void srv_metrics_free(srv_t *srv) { (void)srv; /* shared memory lives until exit */ }

void srv_metrics_request(srv_t *srv, size_t route, int status, uint64_t duration_us) {
  srv_metrics_t *m = srv->metrics;
  if (status < 0 || status >= 600) status = 0;
  atomic_fetch_add_explicit(&m->routes[route].by_status[status], 1, memory_order_relaxed);
  size_t b = 0;
  while (b < SRV_LATENCY_BUCKETS && duration_us > srv_latency_bounds_us[b]) b++;
  atomic_fetch_add_explicit(&m->latency_buckets[b], 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&m->latency_sum_us, duration_us, memory_order_relaxed);
  atomic_fetch_add_explicit(&m->latency_count, 1, memory_order_relaxed);
}

typedef struct page {
  char *buf;
  size_t len, cap;
} page_t;

static void out(page_t *p, const char *fmt, ...) {
  va_list ap;
  for (;;) {
    va_start(ap, fmt);
    int n = vsnprintf(p->buf ? p->buf + p->len : NULL, p->buf ? p->cap - p->len : 0, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if (p->buf && p->len + (size_t)n < p->cap) {
      p->len += (size_t)n;
      return;
    }
    size_t cap = p->cap ? p->cap * 2 : 16384;
    while (cap < p->len + (size_t)n + 1) cap *= 2;
    char *grown = realloc(p->buf, cap);
    if (!grown) return;
    p->buf = grown;
    p->cap = cap;
  }
}

/* Route label values are manifest routes: escape '\\' and '"' anyway. */
static void label(page_t *p, const char *s) {
  for (; *s; s++) {
    if (*s == '\\' || *s == '"')
      out(p, "\\%c", *s);
    else if (*s == '\n')
      out(p, "\\n");
    else
      out(p, "%c", *s);
  }
}

static unsigned long load(atomic_ulong *v) { return atomic_load_explicit(v, memory_order_relaxed); }

static void render_requests(srv_t *srv, page_t *p) {
  out(p,
      "# HELP wisp_http_requests_total HTTP requests answered, by route and status.\n"
      "# TYPE wisp_http_requests_total counter\n");
  size_t nroutes = srv->manifest ? srv->manifest->trigger_count : 1;
  for (size_t r = 0; r <= nroutes; r++) {
    const char *route = r == nroutes ? "" : srv->manifest ? srv->manifest->triggers[r].route : "*";
    for (int s = 0; s < 600; s++) {
      unsigned long n = load(&srv->metrics->routes[r].by_status[s]);
      if (!n) continue;
      out(p, "wisp_http_requests_total{route=\"");
      label(p, route);
      out(p, "\",status=\"%d\"} %lu\n", s, n);
    }
  }
  out(p,
      "# HELP wisp_http_request_duration_seconds Time from request to response.\n"
      "# TYPE wisp_http_request_duration_seconds histogram\n");
  unsigned long cum = 0;
  for (size_t b = 0; b < SRV_LATENCY_BUCKETS; b++) {
    cum += load(&srv->metrics->latency_buckets[b]);
    out(p, "wisp_http_request_duration_seconds_bucket{le=\"%g\"} %lu\n",
        (double)srv_latency_bounds_us[b] / 1e6, cum);
  }
  cum += load(&srv->metrics->latency_buckets[SRV_LATENCY_BUCKETS]);
  out(p, "wisp_http_request_duration_seconds_bucket{le=\"+Inf\"} %lu\n", cum);
  out(p, "wisp_http_request_duration_seconds_sum %.6f\n", (double)load(&srv->metrics->latency_sum_us) / 1e6);
  out(p, "wisp_http_request_duration_seconds_count %lu\n", load(&srv->metrics->latency_count));
}

static void counter(page_t *p, const char *name, const char *help, unsigned long v) {
  out(p, "# HELP %s %s\n# TYPE %s counter\n%s %lu\n", name, help, name, name, v);
}

static void render_components(srv_t *srv, page_t *p) {
  out(p, "# HELP wisp_instances Guest instances alive now, by component.\n# TYPE wisp_instances gauge\n");
  for (size_t i = 0; srv->manifest && i < srv->manifest->component_count; i++) {
    out(p, "wisp_instances{component=\"");
    label(p, srv->manifest->components[i].id);
    out(p, "\"} %u\n", atomic_load(&srv->components[i].running));
  }
  out(p,
      "# HELP wisp_queue_depth Requests waiting for a concurrency slot, by component.\n"
      "# TYPE wisp_queue_depth gauge\n");
  for (size_t i = 0; srv->manifest && i < srv->manifest->component_count; i++) {
    out(p, "wisp_queue_depth{component=\"");
    label(p, srv->manifest->components[i].id);
    out(p, "\"} %u\n", atomic_load(&srv->components[i].queued));
  }
}

char *srv_metrics_render(srv_t *srv, size_t *len) {
  page_t p = {0};
  srv_metrics_t *m = srv->metrics;
  render_requests(srv, &p);
  out(&p,
      "# HELP wisp_instantiate_seconds Time to create a fresh instance per request.\n"
      "# TYPE wisp_instantiate_seconds summary\n"
      "wisp_instantiate_seconds_sum %.6f\nwisp_instantiate_seconds_count %lu\n",
      (double)load(&m->instantiate_sum_us) / 1e6, load(&m->instantiate_count));
  out(&p,
      "# HELP wisp_guest_cpu_seconds_total CPU time spent running guests.\n"
      "# TYPE wisp_guest_cpu_seconds_total counter\nwisp_guest_cpu_seconds_total %.6f\n",
      (double)load(&m->guest_cpu_us) / 1e6);
  counter(&p, "wisp_traps_total", "Guests that trapped.", load(&m->traps));
  counter(&p, "wisp_cpu_limit_exceeded_total", "Guests stopped at their CPU time limit.",
          load(&m->cpu_limits));
  counter(&p, "wisp_wall_limit_exceeded_total", "Requests stopped at their wall-clock limit.",
          load(&m->wall_limits));
  counter(&p, "wisp_invalid_responses_total", "Guest outputs that were not valid WAGI responses.",
          load(&m->bad_responses));
  counter(&p, "wisp_queue_rejected_total", "Requests refused with 503 because a queue was full.",
          load(&m->rejected_queue_full));
  render_components(srv, &p);
  out(&p,
      "# HELP wisp_inflight_requests Requests being handled now.\n# TYPE wisp_inflight_requests gauge\n"
      "wisp_inflight_requests %u\n",
      atomic_load(&srv->metrics->inflight));
  *len = p.len;
  return p.buf;
}
