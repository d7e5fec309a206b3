/*
 * wasihttp_types.c: the wasi:http 0.2 types the host's functions are written
 * for, as wisp_component_type_print writes them: one row per function and
 * named type of wasi:http/types and wasi:http/outgoing-handler. Generated
 * from the 0.2.12 WIT that jco ships (the world `wasi:http/imports`, made a
 * component with `jco embed --dummy` + `jco new`, printed by component_dump).
 * Minor versions only add items, so the rows hold for every 0.2.x.
 *
 * wisp__http_check compares each item a component imports from these
 * interfaces with its row: a mismatch is a link error, so a host function
 * never sees values of a shape it was not written for.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct row {
  const char *iface, *name, *text;
} row_t;

static const row_t rows[] = {
    {"wasi:http/types", "io-error",
     "resource"},
    {"wasi:http/types", "DNS-error-payload",
     "record { rcode: option<string>, info-code: option<u16> }"},
    {"wasi:http/types", "TLS-alert-received-payload",
     "record { alert-id: option<u8>, alert-message: option<string> }"},
    {"wasi:http/types", "field-size-payload",
     "record { field-name: option<string>, field-size: option<u32> }"},
    {"wasi:http/types", "error-code",
     "variant { DNS-timeout, DNS-error(DNS-error-payload), destination-not-found,"
     " destination-unavailable, destination-IP-prohibited, destination-IP-unroutable,"
     " connection-refused, connection-terminated, connection-timeout, connection-read-timeout,"
     " connection-write-timeout, connection-limit-reached, TLS-protocol-error,"
     " TLS-certificate-error, TLS-alert-received(TLS-alert-received-payload),"
     " HTTP-request-denied, HTTP-request-length-required, HTTP-request-body-size(option<u64>),"
     " HTTP-request-method-invalid, HTTP-request-URI-invalid, HTTP-request-URI-too-long,"
     " HTTP-request-header-section-size(option<u32>),"
     " HTTP-request-header-size(option<field-size-payload>),"
     " HTTP-request-trailer-section-size(option<u32>),"
     " HTTP-request-trailer-size(field-size-payload), HTTP-response-incomplete,"
     " HTTP-response-header-section-size(option<u32>),"
     " HTTP-response-header-size(field-size-payload), HTTP-response-body-size(option<u64>),"
     " HTTP-response-trailer-section-size(option<u32>),"
     " HTTP-response-trailer-size(field-size-payload),"
     " HTTP-response-transfer-coding(option<string>),"
     " HTTP-response-content-coding(option<string>), HTTP-response-timeout,"
     " HTTP-upgrade-failed, HTTP-protocol-error, loop-detected, configuration-error,"
     " internal-error(option<string>) }"},
    {"wasi:http/types", "fields",
     "resource"},
    {"wasi:http/types", "field-key",
     "string"},
    {"wasi:http/types", "field-name",
     "string"},
    {"wasi:http/types", "field-value",
     "list<u8>"},
    {"wasi:http/types", "header-error",
     "variant { invalid-syntax, forbidden, immutable }"},
    {"wasi:http/types", "incoming-request",
     "resource"},
    {"wasi:http/types", "method",
     "variant { get, head, post, put, delete, connect, options, trace, patch, other(string) }"},
    {"wasi:http/types", "scheme",
     "variant { HTTP, HTTPS, other(string) }"},
    {"wasi:http/types", "headers",
     "resource"},
    {"wasi:http/types", "incoming-body",
     "resource"},
    {"wasi:http/types", "outgoing-request",
     "resource"},
    {"wasi:http/types", "outgoing-body",
     "resource"},
    {"wasi:http/types", "request-options",
     "resource"},
    {"wasi:http/types", "duration",
     "u64"},
    {"wasi:http/types", "response-outparam",
     "resource"},
    {"wasi:http/types", "outgoing-response",
     "resource"},
    {"wasi:http/types", "incoming-response",
     "resource"},
    {"wasi:http/types", "status-code",
     "u16"},
    {"wasi:http/types", "input-stream",
     "resource"},
    {"wasi:http/types", "future-trailers",
     "resource"},
    {"wasi:http/types", "pollable",
     "resource"},
    {"wasi:http/types", "trailers",
     "resource"},
    {"wasi:http/types", "output-stream",
     "resource"},
    {"wasi:http/types", "future-incoming-response",
     "resource"},
    {"wasi:http/types", "[constructor]fields",
     "func() -> fields"},
    {"wasi:http/types", "[static]fields.from-list",
     "func(entries: list<tuple<string, field-value>>) -> result<fields, header-error>"},
    {"wasi:http/types", "[method]fields.get",
     "func(self: borrow<fields>, name: string) -> list<field-value>"},
    {"wasi:http/types", "[method]fields.has",
     "func(self: borrow<fields>, name: string) -> bool"},
    {"wasi:http/types", "[method]fields.set",
     "func(self: borrow<fields>, name: string, value: list<field-value>) -> result<_,"
     " header-error>"},
    {"wasi:http/types", "[method]fields.delete",
     "func(self: borrow<fields>, name: string) -> result<_, header-error>"},
    {"wasi:http/types", "[method]fields.append",
     "func(self: borrow<fields>, name: string, value: field-value) -> result<_, header-error>"},
    {"wasi:http/types", "[method]fields.entries",
     "func(self: borrow<fields>) -> list<tuple<string, field-value>>"},
    {"wasi:http/types", "[method]fields.clone",
     "func(self: borrow<fields>) -> fields"},
    {"wasi:http/types", "[method]incoming-request.method",
     "func(self: borrow<incoming-request>) -> method"},
    {"wasi:http/types", "[method]incoming-request.path-with-query",
     "func(self: borrow<incoming-request>) -> option<string>"},
    {"wasi:http/types", "[method]incoming-request.scheme",
     "func(self: borrow<incoming-request>) -> option<scheme>"},
    {"wasi:http/types", "[method]incoming-request.authority",
     "func(self: borrow<incoming-request>) -> option<string>"},
    {"wasi:http/types", "[method]incoming-request.headers",
     "func(self: borrow<incoming-request>) -> fields"},
    {"wasi:http/types", "[method]incoming-request.consume",
     "func(self: borrow<incoming-request>) -> result<incoming-body>"},
    {"wasi:http/types", "[constructor]outgoing-request",
     "func(headers: fields) -> outgoing-request"},
    {"wasi:http/types", "[method]outgoing-request.body",
     "func(self: borrow<outgoing-request>) -> result<outgoing-body>"},
    {"wasi:http/types", "[method]outgoing-request.method",
     "func(self: borrow<outgoing-request>) -> method"},
    {"wasi:http/types", "[method]outgoing-request.set-method",
     "func(self: borrow<outgoing-request>, method: method) -> result"},
    {"wasi:http/types", "[method]outgoing-request.path-with-query",
     "func(self: borrow<outgoing-request>) -> option<string>"},
    {"wasi:http/types", "[method]outgoing-request.set-path-with-query",
     "func(self: borrow<outgoing-request>, path-with-query: option<string>) -> result"},
    {"wasi:http/types", "[method]outgoing-request.scheme",
     "func(self: borrow<outgoing-request>) -> option<scheme>"},
    {"wasi:http/types", "[method]outgoing-request.set-scheme",
     "func(self: borrow<outgoing-request>, scheme: option<scheme>) -> result"},
    {"wasi:http/types", "[method]outgoing-request.authority",
     "func(self: borrow<outgoing-request>) -> option<string>"},
    {"wasi:http/types", "[method]outgoing-request.set-authority",
     "func(self: borrow<outgoing-request>, authority: option<string>) -> result"},
    {"wasi:http/types", "[method]outgoing-request.headers",
     "func(self: borrow<outgoing-request>) -> fields"},
    {"wasi:http/types", "[constructor]request-options",
     "func() -> request-options"},
    {"wasi:http/types", "[method]request-options.connect-timeout",
     "func(self: borrow<request-options>) -> option<u64>"},
    {"wasi:http/types", "[method]request-options.set-connect-timeout",
     "func(self: borrow<request-options>, duration: option<u64>) -> result"},
    {"wasi:http/types", "[method]request-options.first-byte-timeout",
     "func(self: borrow<request-options>) -> option<u64>"},
    {"wasi:http/types", "[method]request-options.set-first-byte-timeout",
     "func(self: borrow<request-options>, duration: option<u64>) -> result"},
    {"wasi:http/types", "[method]request-options.between-bytes-timeout",
     "func(self: borrow<request-options>) -> option<u64>"},
    {"wasi:http/types", "[method]request-options.set-between-bytes-timeout",
     "func(self: borrow<request-options>, duration: option<u64>) -> result"},
    {"wasi:http/types", "[static]response-outparam.set",
     "func(param: response-outparam, response: result<outgoing-response, error-code>)"},
    {"wasi:http/types", "[method]incoming-response.status",
     "func(self: borrow<incoming-response>) -> u16"},
    {"wasi:http/types", "[method]incoming-response.headers",
     "func(self: borrow<incoming-response>) -> fields"},
    {"wasi:http/types", "[method]incoming-response.consume",
     "func(self: borrow<incoming-response>) -> result<incoming-body>"},
    {"wasi:http/types", "[method]incoming-body.stream",
     "func(self: borrow<incoming-body>) -> result<input-stream>"},
    {"wasi:http/types", "[static]incoming-body.finish",
     "func(this: incoming-body) -> future-trailers"},
    {"wasi:http/types", "[method]future-trailers.subscribe",
     "func(self: borrow<future-trailers>) -> pollable"},
    {"wasi:http/types", "[method]future-trailers.get",
     "func(self: borrow<future-trailers>) -> option<result<result<option<fields>, error-code>>>"},
    {"wasi:http/types", "[constructor]outgoing-response",
     "func(headers: fields) -> outgoing-response"},
    {"wasi:http/types", "[method]outgoing-response.status-code",
     "func(self: borrow<outgoing-response>) -> u16"},
    {"wasi:http/types", "[method]outgoing-response.set-status-code",
     "func(self: borrow<outgoing-response>, status-code: u16) -> result"},
    {"wasi:http/types", "[method]outgoing-response.headers",
     "func(self: borrow<outgoing-response>) -> fields"},
    {"wasi:http/types", "[method]outgoing-response.body",
     "func(self: borrow<outgoing-response>) -> result<outgoing-body>"},
    {"wasi:http/types", "[method]outgoing-body.write",
     "func(self: borrow<outgoing-body>) -> result<output-stream>"},
    {"wasi:http/types", "[static]outgoing-body.finish",
     "func(this: outgoing-body, trailers: option<fields>) -> result<_, error-code>"},
    {"wasi:http/types", "[method]future-incoming-response.subscribe",
     "func(self: borrow<future-incoming-response>) -> pollable"},
    {"wasi:http/types", "[method]future-incoming-response.get",
     "func(self: borrow<future-incoming-response>) -> option<result<result<incoming-response,"
     " error-code>>>"},
    {"wasi:http/types", "http-error-code",
     "func(err: borrow<error>) -> option<error-code>"},
    {"wasi:http/outgoing-handler", "outgoing-request",
     "resource"},
    {"wasi:http/outgoing-handler", "request-options",
     "resource"},
    {"wasi:http/outgoing-handler", "future-incoming-response",
     "resource"},
    {"wasi:http/outgoing-handler", "error-code",
     "variant { DNS-timeout, DNS-error(DNS-error-payload), destination-not-found,"
     " destination-unavailable, destination-IP-prohibited, destination-IP-unroutable,"
     " connection-refused, connection-terminated, connection-timeout, connection-read-timeout,"
     " connection-write-timeout, connection-limit-reached, TLS-protocol-error,"
     " TLS-certificate-error, TLS-alert-received(TLS-alert-received-payload),"
     " HTTP-request-denied, HTTP-request-length-required, HTTP-request-body-size(option<u64>),"
     " HTTP-request-method-invalid, HTTP-request-URI-invalid, HTTP-request-URI-too-long,"
     " HTTP-request-header-section-size(option<u32>),"
     " HTTP-request-header-size(option<field-size-payload>),"
     " HTTP-request-trailer-section-size(option<u32>),"
     " HTTP-request-trailer-size(field-size-payload), HTTP-response-incomplete,"
     " HTTP-response-header-section-size(option<u32>),"
     " HTTP-response-header-size(field-size-payload), HTTP-response-body-size(option<u64>),"
     " HTTP-response-trailer-section-size(option<u32>),"
     " HTTP-response-trailer-size(field-size-payload),"
     " HTTP-response-transfer-coding(option<string>),"
     " HTTP-response-content-coding(option<string>), HTTP-response-timeout,"
     " HTTP-upgrade-failed, HTTP-protocol-error, loop-detected, configuration-error,"
     " internal-error(option<string>) }"},
    {"wasi:http/outgoing-handler", "handle",
     "func(request: outgoing-request, options: option<request-options>) ->"
     " result<future-incoming-response, error-code>"},
};
#define NROWS (sizeof rows / sizeof rows[0])

/* The row of iface (an imported name, any 0.2.x version) and item name, or NULL. */
static const row_t *row_of(const char *iface, uint32_t iface_len, const char *name, size_t len) {
  for (size_t i = 0; i < NROWS; i++) {
    size_t n = strlen(rows[i].iface);
    if (iface_len <= n || memcmp(iface, rows[i].iface, n) != 0 || iface[n] != '@') continue;
    char want[64];
    snprintf(want, sizeof want, "%s@0.2.0", rows[i].iface);
    if (!wisp_component_name_matches(iface, iface_len, want, strlen(want))) continue;
    if (strlen(rows[i].name) == len && memcmp(rows[i].name, name, len) == 0) return &rows[i];
  }
  return NULL;
}

/* One imported instance, printed as "instance { export type A = DEF;
 * export type B: resource; export f: func(...); }". */
static int check_instance(wisp__http_t *h, const wisp_component_item_t *im, const char *text) {
  for (const char *p = strstr(text, "export "); p; p = strstr(p, "export ")) {
    p += 7;
    const char *end = strchr(p, ';');
    if (!end) break;
    if (strncmp(p, "type ", 5) == 0) p += 5;
    const char *sep = p;
    while (sep < end && *sep != ':' && *sep != ' ') sep++;
    const char *def = sep;
    if (strncmp(def, " = ", 3) == 0)
      def += 3;
    else if (strncmp(def, ": ", 2) == 0)
      def += 2;
    const row_t *row = row_of(im->name, im->name_len, p, (size_t)(sep - p));
    size_t dlen = (size_t)(end - def);
    if (row && (strlen(row->text) != dlen || memcmp(row->text, def, dlen) != 0)) {
      snprintf(h->error, sizeof h->error, "import %.*s: %.*s is `%.*s`, the host serves `%.200s`",
               (int)im->name_len, im->name, (int)(sep - p), p, (int)(dlen > 200 ? 200 : dlen), def, row->text);
      return WISP_ERR_LINK;
    }
    p = end;
  }
  return 0;
}

int wisp__http_check(wisp__http_t *h, const wisp_component_t *c) {
  for (uint32_t i = 0; i < wisp_component_import_count(c); i++) {
    wisp_component_item_t im;
    wisp_component_import(c, i, &im);
    if (im.sort != WISP_SORT_INSTANCE || im.name_len < 10 || memcmp(im.name, "wasi:http/", 10) != 0) continue;
    size_t need = wisp_component_type_print(c, im.sort, im.type, NULL, 0);
    char *text = malloc(need + 1);
    if (!text) return WISP_ERR_NOMEM;
    wisp_component_type_print(c, im.sort, im.type, text, need + 1);
    int rc = check_instance(h, &im, text);
    free(text);
    if (rc) return rc;
  }
  return 0;
}
