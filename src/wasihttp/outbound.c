/*
 * outbound.c: outbound HTTP on libcurl's multi interface, driven by the
 * calling thread's h2o event loop (see outbound.h for the contract).
 *
 * How the loop drives libcurl:
 *   sockets  libcurl's sockets are registered in an epoll set of our own
 *            (CURLMOPT_SOCKETFUNCTION adds, changes and removes interest);
 *            that epoll descriptor is one h2o socket, readable whenever one
 *            of libcurl's sockets is ready. Its callback asks the set which
 *            ones and hands each to curl_multi_socket_action. libcurl's
 *            descriptors never enter h2o, so h2o never reads, writes or
 *            closes them.
 *   timer    CURLMOPT_TIMERFUNCTION sets one deadline. h2o 2.2 timeouts
 *            have fixed durations, so a deadline is reached through a
 *            ladder of them (0, 1, 2, 4 ... ms): an entry waits on the
 *            longest rung not past the deadline, then on shorter ones.
 *            Per-request timers (first byte, between bytes) use the same.
 *   done     after every curl_multi_socket_action, finished transfers are
 *            collected (curl_multi_info_read) and their requests notified.
 *
 * Invariants: a request is in the multi handle exactly while in_multi; no
 * curl_multi_* or curl_easy_pause call is made from inside libcurl (the
 * in_curl depth counts the calls into libcurl on the stack). What a public
 * function would do to libcurl while inside it (resume a paused direction,
 * take a failed transfer out) waits for the request's kick, a 0 ms timer
 * that runs on the next loop turn; so notify may read, write and finish.
 */
#include "outbound.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#define RUNGS 24 /* timeouts of 0 and 2^0 .. 2^22 ms (70 minutes) */

typedef struct ob_timer ob_timer_t;
struct ob_timer {
  h2o_timeout_entry_t entry;
  wisp_outbound_t *outbound;
  uint64_t deadline; /* loop time in ms; meaningful while armed */
  bool armed;
  void (*fire)(ob_timer_t *timer);
};

struct wisp_outbound {
  h2o_evloop_t *loop;
  CURLM *multi;
  int epoll_fd;
  h2o_socket_t *epoll_sock; /* epoll_fd, watched for readability */
  h2o_timeout_t rungs[RUNGS];
  ob_timer_t curl_timer;
  bool in_curl_timer;      /* curl's timer is firing: a 0 ms request waits a rung */
  int in_curl;             /* calls into libcurl on the stack */
  h2o_linklist_t requests; /* every request still attached */
  size_t active;           /* requests in the multi handle */
  /* The trusted certificates: a CA bundle file (libcurl's built-in one
   * unless set). libcurl reads it once and keeps the parsed store in the
   * multi handle (CURLOPT_CA_CACHE_TIMEOUT), but only when no CA directory
   * is configured, so the directory is cleared when there is a file: else
   * the whole bundle would be parsed again for every TLS connection. */
  char *ca_file;
  bool has_default_ca_file;
};

/* Owned header fields: each entry's name and value point into one block. */
typedef struct ob_fields {
  wisp_outbound_header_t *items;
  size_t count, cap;
} ob_fields_t;

typedef enum ob_timer_kind { TIMER_NONE, TIMER_FIRST_BYTE, TIMER_BETWEEN_BYTES } ob_timer_kind_t;

struct wisp_outbound_request {
  h2o_linklist_t link;
  wisp_outbound_t *outbound; /* NULL once wisp_outbound_delete detached it */
  CURL *easy;
  struct curl_slist *header_list;
  char *url;
  wisp_outbound_notify_fn notify;
  void *user;
  bool in_multi;
  wisp_outbound_state_t state;
  wisp_http_error_t error;
  int status;
  bool head_done, connected;
  ob_fields_t headers, trailers;
  /* response body: bytes [body_start, body_end) of body */
  char *body;
  size_t body_start, body_end, body_cap;
  bool recv_paused, send_paused;
  /* request body: bytes [send_start, send_end) of send */
  bool has_body, finished;
  int64_t content_length;
  uint64_t written;
  char *send;
  size_t send_start, send_end;
  /* timeouts */
  uint64_t first_byte_ms, between_bytes_ms;
  ob_timer_t timer;
  ob_timer_kind_t timer_kind;
  ob_timer_t kick;     /* deferred libcurl work, when a call came from inside libcurl */
  bool detach_pending; /* failed inside libcurl: leave the multi handle at the kick */
  char curl_error[CURL_ERROR_SIZE];
};

static const char *const error_names[] = {
    "DNS-timeout",
    "DNS-error",
    "destination-not-found",
    "destination-unavailable",
    "destination-IP-prohibited",
    "destination-IP-unroutable",
    "connection-refused",
    "connection-terminated",
    "connection-timeout",
    "connection-read-timeout",
    "connection-write-timeout",
    "connection-limit-reached",
    "TLS-protocol-error",
    "TLS-certificate-error",
    "TLS-alert-received",
    "HTTP-request-denied",
    "HTTP-request-length-required",
    "HTTP-request-body-size",
    "HTTP-request-method-invalid",
    "HTTP-request-URI-invalid",
    "HTTP-request-URI-too-long",
    "HTTP-request-header-section-size",
    "HTTP-request-header-size",
    "HTTP-request-trailer-section-size",
    "HTTP-request-trailer-size",
    "HTTP-response-incomplete",
    "HTTP-response-header-section-size",
    "HTTP-response-header-size",
    "HTTP-response-body-size",
    "HTTP-response-trailer-section-size",
    "HTTP-response-trailer-size",
    "HTTP-response-transfer-coding",
    "HTTP-response-content-coding",
    "HTTP-response-timeout",
    "HTTP-upgrade-failed",
    "HTTP-protocol-error",
    "loop-detected",
    "configuration-error",
    "internal-error",
};

const char *wisp_http_error_name(wisp_http_error_code_t code) {
  if ((size_t)code >= sizeof error_names / sizeof error_names[0]) return "unknown";
  return error_names[code];
}

static void set_error(wisp_http_error_t *error, wisp_http_error_code_t code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_error(wisp_http_error_t *error, wisp_http_error_code_t code, const char *fmt, ...) {
  if (!error) return;
  memset(error, 0, sizeof *error);
  error->code = code;
  if (fmt) {
    va_list args;
    va_start(args, fmt);
    vsnprintf(error->message, sizeof error->message, fmt, args);
    va_end(args);
  }
}

/* ---- timers ------------------------------------------------------------- */

static void timer_arm(ob_timer_t *timer);

static void timer_expired(h2o_timeout_entry_t *entry) {
  ob_timer_t *timer = H2O_STRUCT_FROM_MEMBER(ob_timer_t, entry, entry);
  if (h2o_now(timer->outbound->loop) < timer->deadline) {
    timer_arm(timer); /* a shorter rung next */
    return;
  }
  timer->armed = false;
  timer->fire(timer);
}

/* Links the timer to the longest rung that does not pass its deadline. */
static void timer_arm(ob_timer_t *timer) {
  wisp_outbound_t *outbound = timer->outbound;
  uint64_t now = h2o_now(outbound->loop);
  uint64_t left = timer->deadline > now ? timer->deadline - now : 0;
  size_t rung = 0; /* rung 0 waits 0 ms, rung i waits 2^(i-1) ms */
  if (left == 0 && outbound->in_curl_timer) rung = 1;
  while (rung + 1 < RUNGS && (1ull << rung) <= left) rung++;
  if (h2o_timeout_is_linked(&timer->entry)) h2o_timeout_unlink(&timer->entry);
  h2o_timeout_link(outbound->loop, &outbound->rungs[rung], &timer->entry);
  timer->armed = true;
}

static void timer_set(ob_timer_t *timer, uint64_t delay_ms) {
  timer->deadline = h2o_now(timer->outbound->loop) + delay_ms;
  timer_arm(timer);
}

static void timer_stop(ob_timer_t *timer) {
  if (h2o_timeout_is_linked(&timer->entry)) h2o_timeout_unlink(&timer->entry);
  timer->armed = false;
}

static void timer_init(ob_timer_t *timer, wisp_outbound_t *outbound, void (*fire)(ob_timer_t *)) {
  memset(timer, 0, sizeof *timer);
  timer->entry.cb = timer_expired;
  timer->outbound = outbound;
  timer->fire = fire;
}

/* ---- completion --------------------------------------------------------- */

static void notify(wisp_outbound_request_t *request) {
  if (request->notify) request->notify(request, request->user);
}

/* Takes the request out of the multi handle (never from a curl callback). */
static void detach_easy(wisp_outbound_request_t *request) {
  timer_stop(&request->timer);
  timer_stop(&request->kick);
  request->timer_kind = TIMER_NONE;
  request->detach_pending = false;
  if (request->in_multi && request->outbound) {
    curl_multi_remove_handle(request->outbound->multi, request->easy);
    request->outbound->active--;
  }
  request->in_multi = false;
}

static void fail(wisp_outbound_request_t *request, const wisp_http_error_t *error) {
  if (request->outbound && request->outbound->in_curl) {
    /* inside libcurl: stop the clocks now, leave the multi handle at the kick */
    timer_stop(&request->timer);
    request->timer_kind = TIMER_NONE;
    request->detach_pending = true;
    timer_set(&request->kick, 0);
  } else {
    detach_easy(request);
  }
  request->state = WISP_OUTBOUND_FAILED;
  request->error = *error;
  notify(request);
}

/* The wasi:http error-code for a transfer that ended with result. */
static void map_curl_error(wisp_outbound_request_t *request, CURLcode result, wisp_http_error_t *error) {
  long os_errno = 0;
  curl_easy_getinfo(request->easy, CURLINFO_OS_ERRNO, &os_errno);
  const char *text = request->curl_error[0] ? request->curl_error : curl_easy_strerror(result);
  wisp_http_error_code_t code = WISP_HTTP_ERROR_INTERNAL_ERROR;
  switch (result) {
    case CURLE_COULDNT_RESOLVE_HOST: code = WISP_HTTP_ERROR_DNS_ERROR; break;
    case CURLE_COULDNT_CONNECT:
      if (os_errno == ENETUNREACH || os_errno == EHOSTUNREACH)
        code = WISP_HTTP_ERROR_DESTINATION_IP_UNROUTABLE;
      else if (os_errno == ETIMEDOUT)
        code = WISP_HTTP_ERROR_CONNECTION_TIMEOUT;
      else if (os_errno == ECONNREFUSED)
        code = WISP_HTTP_ERROR_CONNECTION_REFUSED;
      else
        code = WISP_HTTP_ERROR_DESTINATION_UNAVAILABLE;
      break;
    case CURLE_OPERATION_TIMEDOUT: {
      curl_off_t resolved = 0;
      curl_easy_getinfo(request->easy, CURLINFO_NAMELOOKUP_TIME_T, &resolved);
      if (!request->connected)
        code = resolved == 0 ? WISP_HTTP_ERROR_DNS_TIMEOUT : WISP_HTTP_ERROR_CONNECTION_TIMEOUT;
      else
        code = WISP_HTTP_ERROR_CONNECTION_READ_TIMEOUT;
      break;
    }
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_SHUTDOWN_FAILED: code = WISP_HTTP_ERROR_TLS_PROTOCOL_ERROR; break;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE: code = WISP_HTTP_ERROR_TLS_CERTIFICATE_ERROR; break;
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE: code = WISP_HTTP_ERROR_HTTP_RESPONSE_INCOMPLETE; break;
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR: code = WISP_HTTP_ERROR_CONNECTION_TERMINATED; break;
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_HTTP3: code = WISP_HTTP_ERROR_HTTP_PROTOCOL_ERROR; break;
    case CURLE_BAD_CONTENT_ENCODING: code = WISP_HTTP_ERROR_HTTP_RESPONSE_CONTENT_CODING; break;
    case CURLE_FILESIZE_EXCEEDED: code = WISP_HTTP_ERROR_HTTP_RESPONSE_BODY_SIZE; break;
    case CURLE_URL_MALFORMAT: code = WISP_HTTP_ERROR_HTTP_REQUEST_URI_INVALID; break;
    default: break;
  }
  set_error(error, code, "%s", text);
}

/* Collects finished transfers after libcurl ran. */
static void collect_done(wisp_outbound_t *outbound) {
  CURLMsg *msg;
  int left;
  while ((msg = curl_multi_info_read(outbound->multi, &left)) != NULL) {
    if (msg->msg != CURLMSG_DONE) continue;
    wisp_outbound_request_t *request = NULL;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&request);
    CURLcode result = msg->data.result;
    if (!request || !request->in_multi) continue;
    if (request->state == WISP_OUTBOUND_FAILED) { /* failed earlier, inside libcurl */
      detach_easy(request);
      continue;
    }
    wisp_http_error_t error;
    if (result == CURLE_OK && request->head_done) {
      detach_easy(request);
      request->state = WISP_OUTBOUND_DONE;
      notify(request);
    } else if (result == CURLE_OK) {
      set_error(&error, WISP_HTTP_ERROR_HTTP_PROTOCOL_ERROR, "no response head");
      fail(request, &error);
    } else {
      map_curl_error(request, result, &error);
      fail(request, &error);
    }
  }
}

/* ---- libcurl's sockets and timer ---------------------------------------- */

static int on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *user, void *socket_data) {
  wisp_outbound_t *outbound = user;
  if (what == CURL_POLL_REMOVE) {
    epoll_ctl(outbound->epoll_fd, EPOLL_CTL_DEL, fd, NULL); /* may already be closed */
    return 0;
  }
  struct epoll_event event = {0};
  event.data.fd = fd;
  if (what & CURL_POLL_IN) event.events |= EPOLLIN;
  if (what & CURL_POLL_OUT) event.events |= EPOLLOUT;
  if (epoll_ctl(outbound->epoll_fd, EPOLL_CTL_MOD, fd, &event) != 0 && errno == ENOENT)
    epoll_ctl(outbound->epoll_fd, EPOLL_CTL_ADD, fd, &event);
  return 0;
}

static int on_curl_timer(CURLM *multi, long timeout_ms, void *user) {
  wisp_outbound_t *outbound = user;
  if (timeout_ms < 0)
    timer_stop(&outbound->curl_timer);
  else
    timer_set(&outbound->curl_timer, (uint64_t)timeout_ms);
  return 0;
}

static void curl_timer_fired(ob_timer_t *timer) {
  wisp_outbound_t *outbound = timer->outbound;
  int running = 0;
  outbound->in_curl_timer = true;
  outbound->in_curl++;
  curl_multi_socket_action(outbound->multi, CURL_SOCKET_TIMEOUT, 0, &running);
  outbound->in_curl--;
  outbound->in_curl_timer = false;
  collect_done(outbound);
}

/* The epoll set has ready descriptors: hand each to libcurl. */
static void on_epoll_ready(h2o_socket_t *sock, const char *err) {
  wisp_outbound_t *outbound = sock->data;
  struct epoll_event events[32];
  for (int round = 0; round < 8; round++) {
    int n = epoll_wait(outbound->epoll_fd, events, 32, 0);
    if (n <= 0) break;
    for (int i = 0; i < n; i++) {
      int mask = 0, running = 0;
      if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLRDHUP)) mask |= CURL_CSELECT_IN;
      if (events[i].events & EPOLLOUT) mask |= CURL_CSELECT_OUT;
      if (events[i].events & EPOLLERR) mask |= CURL_CSELECT_ERR;
      outbound->in_curl++;
      curl_multi_socket_action(outbound->multi, events[i].data.fd, mask, &running);
      outbound->in_curl--;
    }
    collect_done(outbound);
    if (n < 32) break;
  }
}

/* ---- per-request timeouts ----------------------------------------------- */

static void request_timer_fired(ob_timer_t *timer) {
  wisp_outbound_request_t *request = H2O_STRUCT_FROM_MEMBER(wisp_outbound_request_t, timer, timer);
  wisp_http_error_t error;
  if (request->timer_kind == TIMER_FIRST_BYTE)
    set_error(&error, WISP_HTTP_ERROR_CONNECTION_READ_TIMEOUT,
              "no response within the first-byte timeout of %llu ms",
              (unsigned long long)request->first_byte_ms);
  else
    set_error(&error, WISP_HTTP_ERROR_CONNECTION_READ_TIMEOUT,
              "no body bytes within the between-bytes timeout of %llu ms",
              (unsigned long long)request->between_bytes_ms);
  request->timer_kind = TIMER_NONE;
  fail(request, &error);
}

static void start_timer(wisp_outbound_request_t *request, ob_timer_kind_t kind, uint64_t ms) {
  if (!request->outbound) return;
  if (ms == 0) {
    timer_stop(&request->timer);
    request->timer_kind = TIMER_NONE;
    return;
  }
  request->timer_kind = kind;
  timer_set(&request->timer, ms);
}

/* ---- libcurl's data callbacks ------------------------------------------- */

/* Appends "name: value" (or a continuation line) to fields. */
static bool fields_add(ob_fields_t *fields, const char *line, size_t length) {
  if (length > 0 && (line[0] == ' ' || line[0] == '\t') && fields->count > 0) {
    /* obsolete line folding: the value continues after one space */
    while (length > 0 && (line[0] == ' ' || line[0] == '\t')) line++, length--;
    wisp_outbound_header_t *last = &fields->items[fields->count - 1];
    char *block = malloc(last->name_length + last->value_length + length + 3);
    if (!block) return false;
    memcpy(block, last->name, last->name_length + 1);
    memcpy(block + last->name_length + 1, last->value, last->value_length);
    block[last->name_length + 1 + last->value_length] = ' ';
    memcpy(block + last->name_length + 2 + last->value_length, line, length);
    block[last->name_length + 2 + last->value_length + length] = 0;
    free((char *)last->name);
    last->name = block;
    last->value = block + last->name_length + 1;
    last->value_length += length + 1;
    return true;
  }
  const char *colon = memchr(line, ':', length);
  if (!colon || colon == line) return true; /* not a field; libcurl let it through */
  size_t name_length = (size_t)(colon - line);
  const char *value = colon + 1;
  size_t value_length = length - name_length - 1;
  while (value_length > 0 && (value[0] == ' ' || value[0] == '\t')) value++, value_length--;
  while (value_length > 0 && (value[value_length - 1] == ' ' || value[value_length - 1] == '\t'))
    value_length--;
  if (fields->count == fields->cap) {
    size_t cap = fields->cap ? fields->cap * 2 : 16;
    wisp_outbound_header_t *items = realloc(fields->items, cap * sizeof *items);
    if (!items) return false;
    fields->items = items;
    fields->cap = cap;
  }
  char *block = malloc(name_length + value_length + 2);
  if (!block) return false;
  memcpy(block, line, name_length);
  block[name_length] = 0;
  memcpy(block + name_length + 1, value, value_length);
  block[name_length + 1 + value_length] = 0;
  fields->items[fields->count++] =
      (wisp_outbound_header_t){block, block + name_length + 1, name_length, value_length};
  return true;
}

static void fields_clear(ob_fields_t *fields) {
  for (size_t i = 0; i < fields->count; i++) free((char *)fields->items[i].name);
  fields->count = 0;
}

static void fields_free(ob_fields_t *fields) {
  fields_clear(fields);
  free(fields->items);
  fields->items = NULL;
  fields->cap = 0;
}

static size_t on_header(char *data, size_t size, size_t count, void *user) {
  wisp_outbound_request_t *request = user;
  size_t length = size * count, n = length;
  if (request->state == WISP_OUTBOUND_FAILED) return 0;
  while (n > 0 && (data[n - 1] == '\n' || data[n - 1] == '\r')) n--;
  if (!request->head_done) {
    if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) {
      fields_clear(&request->headers); /* a status line: a new response (after a 1xx) */
      return length;
    }
    if (n == 0) {
      long code = 0;
      curl_easy_getinfo(request->easy, CURLINFO_RESPONSE_CODE, &code);
      if (code >= 100 && code < 200) return length; /* interim response */
      request->head_done = true;
      request->status = (int)code;
      request->state = WISP_OUTBOUND_HEAD;
      start_timer(request, TIMER_BETWEEN_BYTES, request->between_bytes_ms);
      notify(request);
      return length;
    }
    return fields_add(&request->headers, data, n) ? length : 0;
  }
  if (n == 0) return length; /* end of the trailer section */
  return fields_add(&request->trailers, data, n) ? length : 0;
}

static size_t on_body(char *data, size_t size, size_t count, void *user) {
  wisp_outbound_request_t *request = user;
  size_t length = size * count;
  if (request->state == WISP_OUTBOUND_FAILED) return 0; /* ends the transfer */
  size_t held = request->body_end - request->body_start;
  if (held >= WISP_OUTBOUND_BUFFER) {
    /* The reader is behind: pause; libcurl keeps this piece for later. */
    request->recv_paused = true;
    if (request->timer_kind == TIMER_BETWEEN_BYTES) {
      timer_stop(&request->timer);
      request->timer_kind = TIMER_NONE;
    }
    return CURL_WRITEFUNC_PAUSE;
  }
  if (request->body_start > 0 && request->body_end + length > request->body_cap) {
    memmove(request->body, request->body + request->body_start, held);
    request->body_start = 0;
    request->body_end = held;
  }
  if (request->body_end + length > request->body_cap) {
    size_t cap = request->body_cap ? request->body_cap : 16 * 1024;
    while (cap < request->body_end + length) cap *= 2;
    char *body = realloc(request->body, cap);
    if (!body) return 0; /* libcurl fails the transfer: CURLE_WRITE_ERROR */
    request->body = body;
    request->body_cap = cap;
  }
  memcpy(request->body + request->body_end, data, length);
  request->body_end += length;
  start_timer(request, TIMER_BETWEEN_BYTES, request->between_bytes_ms);
  notify(request);
  return length;
}

static size_t on_send(char *data, size_t size, size_t count, void *user) {
  wisp_outbound_request_t *request = user;
  size_t length = size * count;
  if (request->state == WISP_OUTBOUND_FAILED) return CURL_READFUNC_ABORT;
  size_t held = request->send_end - request->send_start;
  if (held > 0) {
    size_t n = held < length ? held : length;
    memcpy(data, request->send + request->send_start, n);
    request->send_start += n;
    if (request->send_start == request->send_end) request->send_start = request->send_end = 0;
    notify(request); /* room for more */
    return n;
  }
  if (request->finished) return 0;
  request->send_paused = true;
  return CURL_READFUNC_PAUSE;
}

/* Called once a connection is ready and the request is about to go. */
static int on_connected(void *user, char *conn_primary_ip, char *conn_local_ip, int conn_primary_port,
                        int conn_local_port) {
  wisp_outbound_request_t *request = user;
  request->connected = true;
  if (!request->head_done) start_timer(request, TIMER_FIRST_BYTE, request->first_byte_ms);
  return CURL_PREREQFUNC_OK;
}

/* Resumes whatever direction no longer needs to wait (at the kick when
 * called from inside libcurl). */
static void update_pause(wisp_outbound_request_t *request) {
  wisp_outbound_t *outbound = request->outbound;
  if (!request->in_multi || !outbound || request->detach_pending) return;
  if (outbound->in_curl) {
    timer_set(&request->kick, 0);
    return;
  }
  int mask = (request->recv_paused ? CURLPAUSE_RECV : 0) | (request->send_paused ? CURLPAUSE_SEND : 0);
  outbound->in_curl++;
  curl_easy_pause(request->easy, mask); /* may deliver a held piece now (on_body) */
  outbound->in_curl--;
}

static void request_kick(ob_timer_t *timer) {
  wisp_outbound_request_t *request = H2O_STRUCT_FROM_MEMBER(wisp_outbound_request_t, kick, timer);
  if (request->detach_pending)
    detach_easy(request);
  else
    update_pause(request);
}

/* ---- the context -------------------------------------------------------- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static bool curl_ready;
static void curl_start(void) { curl_ready = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK; }

wisp_outbound_t *wisp_outbound_new(h2o_evloop_t *loop) {
  pthread_once(&curl_once, curl_start);
  if (!curl_ready) return NULL;
  wisp_outbound_t *outbound = calloc(1, sizeof *outbound);
  if (!outbound) return NULL;
  outbound->loop = loop;
  const char *env = getenv("SSL_CERT_FILE"); /* as OpenSSL's tools read it */
  if (env && env[0] && !(outbound->ca_file = strdup(env))) {
    free(outbound);
    return NULL;
  }
  outbound->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  outbound->multi = curl_multi_init();
  if (outbound->epoll_fd < 0 || !outbound->multi) goto fail;
  outbound->epoll_sock = h2o_evloop_socket_create(loop, outbound->epoll_fd, H2O_SOCKET_FLAG_DONT_READ);
  if (!outbound->epoll_sock) goto fail;
  outbound->epoll_sock->data = outbound;
  h2o_socket_read_start(outbound->epoll_sock, on_epoll_ready);
  for (size_t i = 0; i < RUNGS; i++)
    h2o_timeout_init(loop, &outbound->rungs[i], i == 0 ? 0 : 1ull << (i - 1));
  timer_init(&outbound->curl_timer, outbound, curl_timer_fired);
  h2o_linklist_init_anchor(&outbound->requests);
  curl_multi_setopt(outbound->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
  curl_multi_setopt(outbound->multi, CURLMOPT_SOCKETDATA, outbound);
  curl_multi_setopt(outbound->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
  curl_multi_setopt(outbound->multi, CURLMOPT_TIMERDATA, outbound);
  curl_multi_setopt(outbound->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 64L);
  CURL *probe = curl_easy_init(); /* is there a built-in CA bundle? */
  char *file = NULL;
  if (probe) curl_easy_getinfo(probe, CURLINFO_CAINFO, &file);
  outbound->has_default_ca_file = file != NULL;
  curl_easy_cleanup(probe);
  return outbound;

fail:
  if (outbound->multi) curl_multi_cleanup(outbound->multi);
  if (outbound->epoll_fd >= 0) close(outbound->epoll_fd);
  free(outbound->ca_file);
  free(outbound);
  return NULL;
}

void wisp_outbound_delete(wisp_outbound_t *outbound) {
  if (!outbound) return;
  while (!h2o_linklist_is_empty(&outbound->requests)) {
    wisp_outbound_request_t *request =
        H2O_STRUCT_FROM_MEMBER(wisp_outbound_request_t, link, outbound->requests.next);
    bool was_running = request->in_multi;
    detach_easy(request);
    h2o_linklist_unlink(&request->link);
    request->outbound = NULL;
    if (was_running) {
      request->state = WISP_OUTBOUND_FAILED;
      set_error(&request->error, WISP_HTTP_ERROR_INTERNAL_ERROR, "the server is shutting down");
      notify(request);
    }
  }
  curl_multi_cleanup(outbound->multi); /* closes cached connections */
  timer_stop(&outbound->curl_timer);
  for (size_t i = 0; i < RUNGS; i++) h2o_timeout_dispose(outbound->loop, &outbound->rungs[i]);
  h2o_socket_read_stop(outbound->epoll_sock);
  h2o_socket_close(outbound->epoll_sock); /* closes epoll_fd */
  free(outbound->ca_file);
  free(outbound);
}

int wisp_outbound_set_ca_file(wisp_outbound_t *outbound, const char *file) {
  char *copy = file ? strdup(file) : NULL;
  if (file && !copy) return -1;
  free(outbound->ca_file);
  outbound->ca_file = copy;
  return 0;
}

size_t wisp_outbound_active(const wisp_outbound_t *outbound) { return outbound ? outbound->active : 0; }

/* ---- starting a request ------------------------------------------------- */

static bool is_token(const char *s, size_t length) {
  if (length == 0) return false;
  for (size_t i = 0; i < length; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c <= ' ' || c >= 0x7f || strchr("\"(),/:;<=>?@[\\]{}", c)) return false;
  }
  return true;
}

static bool field_value_ok(const char *s, size_t length) {
  for (size_t i = 0; i < length; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == 0 || c == '\r' || c == '\n') return false;
  }
  return true;
}

static bool name_is(const wisp_outbound_header_t *h, const char *name) {
  size_t n = strlen(name);
  return h->name_length == n && strncasecmp(h->name, name, n) == 0;
}

/* Builds libcurl's header list from the spec's fields. Headers the
 * transfer itself defines (Host from the authority, framing, connection
 * management) are dropped; libcurl's own defaults (Accept, Expect) are
 * suppressed unless the guest set them. */
static int build_headers(wisp_outbound_request_t *request, const wisp_outbound_spec_t *spec,
                         wisp_http_error_t *error) {
  static const char *const dropped[] = {"host",       "content-length", "transfer-encoding", "connection",
                                        "keep-alive", "upgrade",        "proxy-connection",  "te"};
  bool has_accept = false, has_expect = false;
  for (size_t i = 0; i < spec->header_count; i++) {
    const wisp_outbound_header_t *h = &spec->headers[i];
    if (!is_token(h->name, h->name_length) || !field_value_ok(h->value, h->value_length)) {
      set_error(error, WISP_HTTP_ERROR_INTERNAL_ERROR, "invalid header field '%.*s'",
                (int)(h->name_length < 64 ? h->name_length : 64), h->name);
      return -1;
    }
    bool drop = false;
    for (size_t d = 0; d < sizeof dropped / sizeof dropped[0]; d++) drop |= name_is(h, dropped[d]);
    if (drop) continue;
    has_accept |= name_is(h, "accept");
    has_expect |= name_is(h, "expect");
    char *line = malloc(h->name_length + h->value_length + 3);
    if (!line) goto oom;
    if (h->value_length == 0)
      snprintf(line, h->name_length + 2, "%.*s;", (int)h->name_length, h->name); /* "Name;" sends it empty */
    else
      snprintf(line, h->name_length + h->value_length + 3, "%.*s: %.*s", (int)h->name_length, h->name,
               (int)h->value_length, h->value);
    struct curl_slist *list = curl_slist_append(request->header_list, line);
    free(line);
    if (!list) goto oom;
    request->header_list = list;
  }
  const char *suppress[2] = {has_accept ? NULL : "Accept:", has_expect ? NULL : "Expect:"};
  for (size_t i = 0; i < 2; i++) {
    if (!suppress[i]) continue;
    struct curl_slist *list = curl_slist_append(request->header_list, suppress[i]);
    if (!list) goto oom;
    request->header_list = list;
  }
  return 0;
oom:
  set_error(error, WISP_HTTP_ERROR_INTERNAL_ERROR, "out of memory");
  return -1;
}

static int check_spec(const wisp_outbound_spec_t *spec, wisp_http_error_t *error) {
  if (!spec->method || !is_token(spec->method, strlen(spec->method))) {
    set_error(error, WISP_HTTP_ERROR_HTTP_REQUEST_METHOD_INVALID, "invalid method");
    return -1;
  }
  if (!spec->scheme || (strcasecmp(spec->scheme, "http") != 0 && strcasecmp(spec->scheme, "https") != 0)) {
    set_error(error, WISP_HTTP_ERROR_HTTP_PROTOCOL_ERROR, "unsupported scheme '%s'",
              spec->scheme ? spec->scheme : "");
    return -1;
  }
  if (!spec->authority || !spec->authority[0] || strpbrk(spec->authority, "@/\\?# \t\r\n")) {
    set_error(error, WISP_HTTP_ERROR_HTTP_REQUEST_URI_INVALID, "invalid authority");
    return -1;
  }
  const char *path = spec->path_with_query;
  if (path && path[0] && path[0] != '/') {
    set_error(error, WISP_HTTP_ERROR_HTTP_REQUEST_URI_INVALID, "the path must start with '/'");
    return -1;
  }
  for (const char *p = path ? path : ""; *p; p++) {
    if ((unsigned char)*p <= ' ' || (unsigned char)*p == 0x7f || *p == '#') {
      set_error(error, WISP_HTTP_ERROR_HTTP_REQUEST_URI_INVALID, "invalid byte 0x%02x in the path",
                (unsigned char)*p);
      return -1;
    }
  }
  if (path && strlen(path) > 64 * 1024) {
    set_error(error, WISP_HTTP_ERROR_HTTP_REQUEST_URI_TOO_LONG, NULL);
    return -1;
  }
  return 0;
}

static int setup_easy(wisp_outbound_request_t *request, const wisp_outbound_spec_t *spec) {
  CURL *easy = request->easy;
  int bad = 0;
  bad |= curl_easy_setopt(easy, CURLOPT_URL, request->url);
  bad |= curl_easy_setopt(easy, CURLOPT_PRIVATE, request);
  bad |= curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, request->curl_error);
  bad |= curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  bad |= curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  bad |= curl_easy_setopt(easy, CURLOPT_PROXY, ""); /* never the environment's proxies */
  bad |= curl_easy_setopt(easy, CURLOPT_PATH_AS_IS, 1L);
  bad |= curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
  bad |= curl_easy_setopt(easy, CURLOPT_HTTPHEADER, request->header_list);
  bad |= curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, on_header);
  bad |= curl_easy_setopt(easy, CURLOPT_HEADERDATA, request);
  bad |= curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
  bad |= curl_easy_setopt(easy, CURLOPT_WRITEDATA, request);
  bad |= curl_easy_setopt(easy, CURLOPT_PREREQFUNCTION, on_connected);
  bad |= curl_easy_setopt(easy, CURLOPT_PREREQDATA, request);
  /* trusted certificates: a bundle file, parsed once per context */
  wisp_outbound_t *outbound = request->outbound;
  if (outbound->ca_file) bad |= curl_easy_setopt(easy, CURLOPT_CAINFO, outbound->ca_file);
  if (outbound->ca_file || outbound->has_default_ca_file) bad |= curl_easy_setopt(easy, CURLOPT_CAPATH, NULL);
  if (spec->connect_timeout_ms)
    bad |= curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, (long)spec->connect_timeout_ms);
  if (strcmp(spec->method, "HEAD") == 0) {
    bad |= curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
  } else if (strcmp(spec->method, "GET") != 0 || spec->has_body) {
    bad |= curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, spec->method);
  }
  if (spec->has_body) {
    bad |= curl_easy_setopt(easy, CURLOPT_UPLOAD, 1L);
    bad |= curl_easy_setopt(easy, CURLOPT_READFUNCTION, on_send);
    bad |= curl_easy_setopt(easy, CURLOPT_READDATA, request);
    bad |= curl_easy_setopt(easy, CURLOPT_INFILESIZE_LARGE, (curl_off_t)spec->content_length);
  }
  return bad ? -1 : 0;
}

int wisp_outbound_start(wisp_outbound_t *outbound, const wisp_outbound_spec_t *spec,
                        wisp_outbound_request_t **out, wisp_http_error_t *error) {
  *out = NULL;
  if (check_spec(spec, error)) return -1;
  wisp_outbound_request_t *request = calloc(1, sizeof *request);
  if (!request) {
    set_error(error, WISP_HTTP_ERROR_INTERNAL_ERROR, "out of memory");
    return -1;
  }
  request->outbound = outbound;
  request->notify = spec->notify;
  request->user = spec->user;
  request->has_body = spec->has_body;
  request->content_length = spec->has_body ? spec->content_length : 0;
  request->first_byte_ms = spec->first_byte_timeout_ms;
  request->between_bytes_ms = spec->between_bytes_timeout_ms;
  timer_init(&request->timer, outbound, request_timer_fired);
  timer_init(&request->kick, outbound, request_kick);
  const char *path = spec->path_with_query && spec->path_with_query[0] ? spec->path_with_query : "/";
  size_t url_size = strlen(spec->scheme) + strlen(spec->authority) + strlen(path) + 4;
  request->url = malloc(url_size);
  request->easy = curl_easy_init();
  if (spec->has_body) request->send = malloc(WISP_OUTBOUND_BUFFER);
  if (!request->url || !request->easy || (spec->has_body && !request->send)) {
    set_error(error, WISP_HTTP_ERROR_INTERNAL_ERROR, "out of memory");
    goto fail;
  }
  snprintf(request->url, url_size, "%s://%s%s", spec->scheme, spec->authority, path);
  if (build_headers(request, spec, error)) goto fail;
  if (setup_easy(request, spec)) {
    set_error(error, WISP_HTTP_ERROR_INTERNAL_ERROR, "libcurl refused an option");
    goto fail;
  }
  if (curl_multi_add_handle(outbound->multi, request->easy) != CURLM_OK) {
    set_error(error, WISP_HTTP_ERROR_INTERNAL_ERROR, "libcurl refused the transfer");
    goto fail;
  }
  request->in_multi = true;
  outbound->active++;
  h2o_linklist_insert(&outbound->requests, &request->link);
  *out = request;
  return 0;

fail:
  if (request->easy) curl_easy_cleanup(request->easy);
  curl_slist_free_all(request->header_list);
  free(request->url);
  free(request->send);
  free(request);
  return -1;
}

void wisp_outbound_free(wisp_outbound_request_t *request) {
  if (!request) return;
  detach_easy(request);
  if (h2o_linklist_is_linked(&request->link)) h2o_linklist_unlink(&request->link);
  curl_easy_cleanup(request->easy);
  curl_slist_free_all(request->header_list);
  fields_free(&request->headers);
  fields_free(&request->trailers);
  free(request->url);
  free(request->body);
  free(request->send);
  free(request);
}

/* ---- request body ------------------------------------------------------- */

size_t wisp_outbound_write_room(const wisp_outbound_request_t *request) {
  if (!request->has_body || request->finished || request->state == WISP_OUTBOUND_FAILED) return 0;
  return WISP_OUTBOUND_BUFFER - (request->send_end - request->send_start);
}

int64_t wisp_outbound_write(wisp_outbound_request_t *request, const void *data, size_t length,
                            wisp_http_error_t *error) {
  if (request->state == WISP_OUTBOUND_FAILED) {
    *error = request->error;
    return -1;
  }
  if (!request->has_body || request->finished) {
    set_error(error, WISP_HTTP_ERROR_INTERNAL_ERROR, "the request body is closed");
    return -1;
  }
  if (request->content_length >= 0 && request->written + length > (uint64_t)request->content_length) {
    set_error(error, WISP_HTTP_ERROR_HTTP_REQUEST_BODY_SIZE, "more body than the content-length of %lld",
              (long long)request->content_length);
    error->has_number = true;
    error->number = request->written + length;
    return -1;
  }
  size_t room = wisp_outbound_write_room(request);
  size_t n = length < room ? length : room;
  if (n == 0) return 0;
  if (request->send_end + n > WISP_OUTBOUND_BUFFER) {
    memmove(request->send, request->send + request->send_start, request->send_end - request->send_start);
    request->send_end -= request->send_start;
    request->send_start = 0;
  }
  memcpy(request->send + request->send_end, data, n);
  request->send_end += n;
  request->written += n;
  if (request->send_paused) {
    request->send_paused = false;
    update_pause(request);
  }
  return (int64_t)n;
}

int wisp_outbound_finish(wisp_outbound_request_t *request, wisp_http_error_t *error) {
  if (!request->has_body || request->finished) return 0;
  request->finished = true;
  if (request->content_length >= 0 && request->written != (uint64_t)request->content_length) {
    set_error(error, WISP_HTTP_ERROR_HTTP_REQUEST_BODY_SIZE, "body of %llu bytes, content-length %lld",
              (unsigned long long)request->written, (long long)request->content_length);
    error->has_number = true;
    error->number = request->written;
    if (request->state != WISP_OUTBOUND_FAILED && request->state != WISP_OUTBOUND_DONE) fail(request, error);
    return -1;
  }
  if (request->send_paused) {
    request->send_paused = false;
    update_pause(request);
  }
  return 0;
}

void wisp_outbound_abort(wisp_outbound_request_t *request, const wisp_http_error_t *error) {
  if (request->state == WISP_OUTBOUND_DONE || request->state == WISP_OUTBOUND_FAILED) return;
  fail(request, error);
}

/* ---- response ----------------------------------------------------------- */

wisp_outbound_state_t wisp_outbound_state(const wisp_outbound_request_t *request) { return request->state; }

const wisp_http_error_t *wisp_outbound_error(const wisp_outbound_request_t *request) {
  return request->state == WISP_OUTBOUND_FAILED ? &request->error : NULL;
}

int wisp_outbound_status(const wisp_outbound_request_t *request) { return request->status; }

const wisp_outbound_header_t *wisp_outbound_headers(const wisp_outbound_request_t *request, size_t *count) {
  *count = request->head_done ? request->headers.count : 0;
  return request->headers.items;
}

const wisp_outbound_header_t *wisp_outbound_trailers(const wisp_outbound_request_t *request, size_t *count) {
  *count = request->state == WISP_OUTBOUND_DONE ? request->trailers.count : 0;
  return request->trailers.items;
}

size_t wisp_outbound_readable(const wisp_outbound_request_t *request) {
  return request->body_end - request->body_start;
}

bool wisp_outbound_body_ended(const wisp_outbound_request_t *request) {
  return request->body_end == request->body_start &&
         (request->state == WISP_OUTBOUND_DONE || request->state == WISP_OUTBOUND_FAILED);
}

size_t wisp_outbound_read(wisp_outbound_request_t *request, void *data, size_t length) {
  size_t held = request->body_end - request->body_start;
  size_t n = held < length ? held : length;
  if (n == 0) return 0;
  memcpy(data, request->body + request->body_start, n);
  request->body_start += n;
  if (request->body_start == request->body_end) request->body_start = request->body_end = 0;
  if (request->recv_paused && request->body_end - request->body_start <= WISP_OUTBOUND_BUFFER / 2) {
    request->recv_paused = false;
    start_timer(request, TIMER_BETWEEN_BYTES, request->between_bytes_ms);
    update_pause(request); /* may deliver the held piece right away (on_body) */
  }
  return n;
}
