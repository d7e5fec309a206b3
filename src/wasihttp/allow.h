/*
 * allow.h: may this component send a wasi:http request to that scheme and
 * authority? The check behind `allowed_outbound_hosts`.
 *
 * The manifest (src/manifest) parses and validates every entry at load, so
 * a malformed entry never reaches this file: an application with one does
 * not start. What this file adds is the request side: a wasi:http
 * outgoing-request names its destination as a scheme and an authority
 * ("host[:port]"), both set by the guest. wisp_allow_parse_target reads
 * them strictly into a canonical target (lower case, no trailing dot, IPv6
 * in its shortest form, the scheme's default port filled in) and refuses
 * anything libcurl could read differently from us: user information,
 * percent escapes, IPv4 in other forms than dotted decimal ("127.1",
 * "0x7f.0.0.1", "2130706433"), empty labels. So the host we check is the
 * host the request goes to.
 *
 * Matching follows spin.toml: scheme "*" is any scheme; host "*" any host,
 * "*.example.com" any name below example.com (not example.com itself, never
 * an IP address); port "*" any port, no port the scheme's default. IP
 * literals are compared as addresses ("[::1]" admits "[0:0::1]").
 *
 * Nothing here allocates; the target is a value.
 */
#ifndef WISP_WASIHTTP_ALLOW_H
#define WISP_WASIHTTP_ALLOW_H

#include <stdbool.h>
#include <stddef.h>

#include "manifest/manifest.h"

/* One destination, canonical. */
typedef struct wisp_allow_target {
  char scheme[32]; /* lower case, e.g. "https" */
  char host[256];  /* lower case; an IPv6 literal in brackets, e.g. "[::1]" */
  int port;        /* 1..65535: the written port or the scheme's default */
  bool port_written;
  bool is_ip; /* host is an IPv4 or IPv6 literal */
} wisp_allow_target_t;

typedef enum wisp_allow_result {
  WISP_ALLOW_OK = 0,     /* allowed */
  WISP_ALLOW_DENIED = 1, /* well formed, not in allowed_outbound_hosts */
  WISP_ALLOW_INVALID = 2 /* the scheme or authority cannot be read */
} wisp_allow_result_t;

/*
 * Reads scheme ("http", "HTTPS", ...) and authority ("api.example.com",
 * "127.0.0.1:8080", "[::1]:9000") into *out (OUT). Returns 0, or -1 with
 * a reason in error ("invalid character '@' in authority ...").
 */
int wisp_allow_parse_target(const char *scheme, const char *authority, wisp_allow_target_t *out /* OUT */,
                            char *error /* OUT */, size_t error_size);

/* Whether any of hosts[0, count) admits target. */
bool wisp_allow_match(const wisp_manifest_host_t *hosts, size_t count, const wisp_allow_target_t *target);

/*
 * Both steps for one request of component: parses into *target (OUT) and
 * matches. On WISP_ALLOW_INVALID error says why; on WISP_ALLOW_DENIED it
 * names the destination ("http://evil.example:80 is not in
 * allowed_outbound_hosts") for the server's log line.
 */
wisp_allow_result_t wisp_allow_check(const wisp_manifest_component_t *component, const char *scheme,
                                     const char *authority, wisp_allow_target_t *target /* OUT */,
                                     char *error /* OUT */, size_t error_size);

#endif
