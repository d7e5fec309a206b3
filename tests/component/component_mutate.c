/*
 * component_mutate FILE [FLIPS [SEED]]: robustness of wisp_component_new on edits of a real,
 * valid component.
 *
 *   1. FILE decodes.
 *   2. Truncations: every prefix length (every byte in the first 8 KiB and around
 *      each top-level section boundary, a stride elsewhere). A cut inside a
 *      section must be refused as malformed; a cut at a section boundary leaves a
 *      shorter component, which may be valid or invalid. Never a crash (run it
 *      under the sanitizer build), always a message.
 *   3. Byte flips at 3,000 (or FLIPS) pseudo-random positions: accepted or refused, never a
 *      crash; a refusal has a message naming a section or the component.
 *   4. Targeted edits with the exact error expected: version, layer, unknown
 *      section id, a section running past the end, and appended sections with an
 *      unknown type opcode, out-of-range indices, a missing core export.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wisp.h"
#include "wisp_component.h"

static wisp_engine_t *engine;
static int failures;

static int decode(const uint8_t *bytes, size_t len, wisp_error_t *err) {
  wisp_component_t *c = NULL;
  int rc = wisp_component_new(engine, bytes, len, &c, err);
  if (rc == 0) wisp_component_delete(c);
  else if (err->message[0] == 0) {
    printf("FAIL: refused (%s) without a message\n", wisp_err_name(rc));
    failures++;
  }
  return rc;
}

/* Top-level section boundaries (offsets where a section starts, and the end). */
static size_t boundaries(const uint8_t *b, size_t len, size_t *out, size_t max) {
  size_t n = 0, p = 8;
  while (p < len && n < max) {
    out[n++] = p;
    p++; /* id */
    uint64_t size = 0;
    unsigned shift = 0;
    while (p < len && shift < 35) {
      uint8_t byte = b[p++];
      size |= (uint64_t)(byte & 0x7f) << shift;
      shift += 7;
      if (!(byte & 0x80)) break;
    }
    p += size;
  }
  if (n < max) out[n++] = len;
  return n;
}

static bool near_boundary(size_t at, const size_t *bounds, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (at + 16 >= bounds[i] && at <= bounds[i] + 16) return true;
  return false;
}

static bool is_boundary(size_t at, const size_t *bounds, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (bounds[i] == at) return true;
  return false;
}

static void truncations(const uint8_t *bytes, size_t len) {
  static size_t bounds[4096];
  size_t nb = boundaries(bytes, len, bounds, 4096);
  size_t tried = 0;
  for (size_t cut = 0; cut < len; cut++) {
    if (cut >= 8192 && !near_boundary(cut, bounds, nb) && cut % 97 != 0) continue;
    wisp_error_t err;
    int rc = decode(bytes, cut, &err);
    tried++;
    if (cut >= 8 && is_boundary(cut, bounds, nb)) continue; /* a shorter component */
    if (rc != WISP_ERR_MALFORMED) {
      printf("FAIL: truncation at %zu: expected malformed, got %s: %s\n", cut, wisp_err_name(rc), err.message);
      failures++;
    }
  }
  printf("truncations: %zu tried\n", tried);
}

static long nflips = 3000;
static uint32_t seed = 12345;

static void flips(const uint8_t *bytes, size_t len) {
  uint8_t *copy = malloc(len);
  uint32_t state = seed;
  size_t refused = 0;
  for (long i = 0; i < nflips; i++) {
    state = state * 1103515245u + 12345u;
    size_t at = 8 + (state >> 8) % (len - 8);
    state = state * 1103515245u + 12345u;
    uint8_t x = (uint8_t)((state >> 16) | 1);
    memcpy(copy, bytes, len);
    copy[at] ^= x;
    wisp_error_t err;
    int rc = decode(copy, len, &err);
    if (rc == 0) continue;
    refused++;
    if (!strstr(err.message, "section") && !strstr(err.message, "component")) {
      printf("FAIL: flip at %zu: message names no section: %s\n", at, err.message);
      failures++;
    }
  }
  free(copy);
  printf("flips: %ld tried, %zu refused\n", nflips, refused);
}

static void expect(const char *what, const uint8_t *bytes, size_t len, int code, const char *needle) {
  wisp_error_t err;
  int rc = decode(bytes, len, &err);
  if (rc != code || !strstr(err.message, needle)) {
    printf("FAIL: %s: expected %s with \"%s\", got %s: %s\n", what, wisp_err_name(code), needle,
           wisp_err_name(rc), rc ? err.message : "");
    failures++;
  } else {
    printf("ok: %s: %s\n", what, err.message);
  }
}

/* FILE with `extra` appended (a whole section). */
static void expect_appended(const char *what, const uint8_t *bytes, size_t len, const uint8_t *extra,
                            size_t n, int code, const char *needle) {
  uint8_t *copy = malloc(len + n);
  memcpy(copy, bytes, len);
  memcpy(copy + len, extra, n);
  expect(what, copy, len + n, code, needle);
  free(copy);
}

static void targeted(const uint8_t *bytes, size_t len) {
  uint8_t *copy = malloc(len);
  memcpy(copy, bytes, len);
  copy[4] = 0x0e;
  expect("version 0x0e", copy, len, WISP_ERR_MALFORMED, "unsupported component version");
  memcpy(copy, bytes, len);
  copy[6] = 0x00;
  expect("layer 0", copy, len, WISP_ERR_MALFORMED, "not a component");
  memcpy(copy, bytes, len);
  copy[8] = 0x0d;
  expect("section id 13", copy, len, WISP_ERR_MALFORMED, "unknown section id 13");
  free(copy);

  static const uint8_t past_end[] = {0x07, 0x05, 0x01};
  expect_appended("section past the end", bytes, len, past_end, sizeof past_end, WISP_ERR_MALFORMED,
                  "runs past the end");
  static const uint8_t bad_type[] = {0x07, 0x02, 0x01, 0x10};
  expect_appended("type opcode 0x10", bytes, len, bad_type, sizeof bad_type, WISP_ERR_MALFORMED,
                  "unknown type 0x10");
  static const uint8_t alias_oob[] = {0x06, 0x06, 0x01, 0x01, 0x00, 0xe4, 0x00, 0x00};
  expect_appended("alias of instance 100", bytes, len, alias_oob, sizeof alias_oob, WISP_ERR_INVALID,
                  "instance index 100 out of range");
  static const uint8_t export_oob[] = {0x0b, 0x08, 0x01, 0x00, 0x01, 'x', 0x01, 0xe8, 0x07, 0x00};
  expect_appended("export of func 1000", bytes, len, export_oob, sizeof export_oob, WISP_ERR_INVALID,
                  "func index 1000 out of range");
  static const uint8_t core_alias[] = {0x06, 0x09, 0x01, 0x00, 0x00, 0x01, 0x00, 0x03, 'z', 'z', 'z'};
  expect_appended("alias of a missing core export", bytes, len, core_alias, sizeof core_alias,
                  WISP_ERR_INVALID, "has no export named \"zzz\"");
  static const uint8_t lift_oob[] = {0x08, 0x07, 0x01, 0x00, 0x00, 0xe8, 0x07, 0x00, 0x00};
  expect_appended("lift of core func 1000", bytes, len, lift_oob, sizeof lift_oob, WISP_ERR_INVALID,
                  "core func index 1000 out of range");
  static const uint8_t bad_name[] = {0x0a, 0x08, 0x01, 0x00, 0x03, 'a', '_', 'b', 0x01, 0x00};
  expect_appended("import named a_b", bytes, len, bad_name, sizeof bad_name, WISP_ERR_INVALID,
                  "is not a valid name");
}

int main(int argc, char **argv) {
  if (argc < 2 || argc > 4) { fprintf(stderr, "usage: component_mutate FILE [FLIPS [SEED]]\n"); return 2; }
  if (argc > 2) nflips = atol(argv[2]);
  if (argc > 3) seed = (uint32_t)strtoul(argv[3], NULL, 10);
  FILE *f = fopen(argv[1], "rb");
  if (!f) { perror(argv[1]); return 2; }
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *bytes = malloc(size > 0 ? (size_t)size : 1);
  size_t len = fread(bytes, 1, (size_t)size, f);
  fclose(f);
  engine = wisp_engine_new();
  wisp_error_t err;
  if (decode(bytes, len, &err) != 0) {
    printf("FAIL: %s does not decode: %s\n", argv[1], err.message);
    return 1;
  }
  truncations(bytes, len);
  flips(bytes, len);
  targeted(bytes, len);
  free(bytes);
  wisp_engine_delete(engine);
  printf("%s\n", failures ? "FAILED" : "passed");
  return failures ? 1 : 0;
}
