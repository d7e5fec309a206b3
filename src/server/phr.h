/*
 * phr.h: picohttpparser's request parser, which libh2o-evloop exports but
 * whose header Debian does not install (the declarations, as the library
 * defines them). Used by the front (front.c) and its fuzz target.
 */
#ifndef WISP_SERVER_PHR_H
#define WISP_SERVER_PHR_H

#include <stddef.h>

struct phr_header {
  const char *name;
  size_t name_len;
  const char *value;
  size_t value_len;
};

/* The request head's length when complete, -2 when more bytes are needed,
 * -1 when it is malformed. */
int phr_parse_request(const char *buf, size_t len, const char **method, size_t *method_len, const char **path,
                      size_t *path_len, int *minor_version, struct phr_header *headers, size_t *num_headers,
                      size_t last_len);

#endif
