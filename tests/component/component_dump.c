/*
 * component_dump: decodes and validates a component with wisp_component_new and
 * prints what the tests compare.
 *
 *   component_dump FILE            "import NAME: TYPE" / "export NAME: TYPE" lines
 *   component_dump --names FILE    "import NAME" / "export NAME" lines only
 *   component_dump --counts FILE   index-space sizes and embedded module count
 *   component_dump --find NAME FILE
 *                                  the export matching NAME (semver), then each
 *                                  function of its instance type on its own line
 *   component_dump --check HOST FILE
 *                                  type-check FILE's imports against the imports of
 *                                  the host-world component HOST; prints "ok"
 *
 * On failure prints "error: <wisp_err_name>: <message>" to stdout and exits 1,
 * so tests can match the message; 2 for usage or I/O errors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wisp.h"
#include "wisp_component.h"

static uint8_t *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 1 << 16, n = 0;
  uint8_t *buf = malloc(cap);
  for (;;) {
    if (!buf) { fclose(f); return NULL; }
    n += fread(buf + n, 1, cap - n, f);
    if (n < cap) break;
    cap *= 2;
    uint8_t *grown = realloc(buf, cap);
    if (!grown) free(buf);
    buf = grown;
  }
  fclose(f);
  *len = n;
  return buf;
}

int main(int argc, char **argv) {
  const char *mode = "", *path = NULL, *host_path = NULL;
  const char *find = NULL;
  if (argc == 4 && strcmp(argv[1], "--check") == 0) { mode = argv[1]; host_path = argv[2]; path = argv[3]; }
  else if (argc == 4 && strcmp(argv[1], "--find") == 0) { mode = argv[1]; find = argv[2]; path = argv[3]; }
  else if (argc == 3 && argv[1][0] == '-') { mode = argv[1]; path = argv[2]; }
  else if (argc == 2) path = argv[1];
  else { fprintf(stderr, "usage: component_dump [--names|--counts|--check HOST] FILE\n"); return 2; }
  wisp_engine_t *engine = wisp_engine_new();
  wisp_error_t err;
  wisp_component_t *c = NULL, *host = NULL;
  for (int k = 0; k < 2; k++) {
    const char *p = k ? path : host_path;
    if (!p) continue;
    size_t len = 0;
    uint8_t *bytes = read_file(p, &len);
    if (!bytes) { perror(p); return 2; }
    int rc = wisp_component_new(engine, bytes, len, k ? &c : &host, &err);
    free(bytes);
    if (rc) {
      printf("error: %s: %s%s\n", wisp_err_name(rc), k ? "" : "host world: ", err.message);
      wisp_component_delete(host);
      wisp_engine_delete(engine);
      return 1;
    }
  }
  if (host) {
    int rc = wisp_component_check_against(c, host, &err);
    if (rc) printf("error: %s: %s\n", wisp_err_name(rc), err.message);
    else printf("ok\n");
    wisp_component_delete(host);
    wisp_component_delete(c);
    wisp_engine_delete(engine);
    return rc ? 1 : 0;
  }
  if (find) {
    int64_t at = wisp_component_find_export(c, find, strlen(find));
    int status = at < 0;
    if (at < 0) {
      printf("error: no export matches %s\n", find);
    } else {
      wisp_component_item_t it, fn;
      char buf[4096];
      wisp_component_export(c, (uint32_t)at, &it);
      printf("%.*s\n", (int)it.name_len, it.name);
      for (uint32_t i = 0; i < wisp_component_type_export_count(c, it.type); i++) {
        wisp_component_type_export(c, it.type, i, &fn);
        if (fn.sort != WISP_SORT_FUNC) continue;
        wisp_component_type_print(c, fn.sort, fn.type, buf, sizeof buf);
        printf("  %.*s: %s\n", (int)fn.name_len, fn.name, buf);
      }
    }
    wisp_component_delete(c);
    wisp_engine_delete(engine);
    return status;
  }
  if (strcmp(mode, "--counts") == 0) {
    for (int s = 0; s < WISP_SORT_COUNT; s++) printf("%s: %u\n", wisp_sort_name(s), wisp_component_count(c, s));
    printf("embedded modules: %u\n", wisp_component_module_count(c));
  } else {
    bool names = strcmp(mode, "--names") == 0;
    size_t cap = 1 << 16;
    char *buf = malloc(cap);
    for (int pass = 0; pass < 2 && buf; pass++) {
      uint32_t n = pass ? wisp_component_export_count(c) : wisp_component_import_count(c);
      for (uint32_t i = 0; i < n; i++) {
        wisp_component_item_t it;
        if (pass) wisp_component_export(c, i, &it);
        else wisp_component_import(c, i, &it);
        printf("%s %.*s", pass ? "export" : "import", (int)it.name_len, it.name);
        if (!names) {
          wisp_component_type_print(c, it.sort, it.type, buf, cap);
          printf(": %s", buf);
        }
        printf("\n");
      }
    }
    free(buf);
  }
  wisp_component_delete(c);
  wisp_engine_delete(engine);
  return 0;
}
