/*
 * clink.c: matching a component's imports against what a host provides, by name
 * with semver (DESIGN.md decision 6: any 0.2.x of a WASI interface links).
 *
 * An interface name is "ns:pkg/iface@version". Two names match when everything
 * before '@' is equal and the versions are compatible: both absent, or both
 * present with the same major version and, for major 0, the same minor version
 * (patch and pre-release/build suffixes are ignored). So a guest built against
 * wasi:io/streams@0.2.3 links to a host implementing @0.2.12, but not to @0.3.0.
 */
#include <stdio.h>
#include <string.h>

#include "component.h"

/* Reads "major.minor" from `v`; false when it does not start like a semver. */
static bool version_head(const char *v, size_t len, unsigned long *major, unsigned long *minor) {
  size_t i = 0;
  unsigned long parts[2] = {0, 0};
  for (int k = 0; k < 2; k++) {
    size_t start = i;
    while (i < len && v[i] >= '0' && v[i] <= '9') {
      if (parts[k] > 100000000ul) return false;
      parts[k] = parts[k] * 10 + (unsigned long)(v[i] - '0');
      i++;
    }
    if (i == start) return false;
    if (k == 0) {
      if (i >= len || v[i] != '.') return false;
      i++;
    }
  }
  *major = parts[0];
  *minor = parts[1];
  return true;
}

bool wisp_component_name_matches(const char *import_name, size_t import_len, const char *host_name,
                                 size_t host_len) {
  const char *ia = memchr(import_name, '@', import_len);
  const char *ha = memchr(host_name, '@', host_len);
  size_t ib = ia ? (size_t)(ia - import_name) : import_len;
  size_t hb = ha ? (size_t)(ha - host_name) : host_len;
  if (ib != hb || memcmp(import_name, host_name, ib) != 0) return false;
  if (!ia || !ha) return !ia && !ha;
  unsigned long imaj = 0, imin = 0, hmaj = 0, hmin = 0;
  if (!version_head(ia + 1, import_len - ib - 1, &imaj, &imin) ||
      !version_head(ha + 1, host_len - hb - 1, &hmaj, &hmin))
    return import_len == host_len && memcmp(import_name, host_name, import_len) == 0;
  if (imaj != hmaj) return false;
  return imaj != 0 || imin == hmin;
}

int wisp_component_check_imports(const wisp_component_t *component, const char *const *host_names,
                                 size_t count, wisp_error_t *err) {
  uint32_t n = wisp_component_import_count(component);
  for (uint32_t i = 0; i < n; i++) {
    wisp_component_item_t im;
    wisp_component_import(component, i, &im);
    bool found = false;
    for (size_t k = 0; k < count && !found; k++)
      found = wisp_component_name_matches(im.name, im.name_len, host_names[k], strlen(host_names[k]));
    if (!found) {
      if (err) {
        err->code = WISP_ERR_LINK;
        err->offset = 0;
        snprintf(err->message, sizeof err->message, "import \"%.*s\" (%s) is not provided by the host",
                 (int)im.name_len, im.name, wisp_sort_name(im.sort));
      }
      return WISP_ERR_LINK;
    }
  }
  return 0;
}
