/*
 * templates.h: the project templates of `wisp new`, compiled into the binary.
 *
 * The table is generated at build time by templates/embed.cmake from
 * templates/NAME/ and sdk/c/ (see templates/README.md): one entry per file,
 * grouped by template, in path order. Paths and contents may contain
 * "{{name}}", which `wisp new` replaces with the project's name.
 */
#ifndef WISP_CLI_TEMPLATES_H
#define WISP_CLI_TEMPLATES_H

#include <stddef.h>

typedef struct wisp_template_file {
  const char *template_name; /* "wagi-c", "http-c", "http-js" */
  const char *path;          /* relative to the new project, e.g. "wisp-sdk/build.sh" */
  const unsigned char *data; /* size bytes (plus a NUL not counted) */
  size_t size;
  int executable; /* written with mode 0755 instead of 0644 */
} wisp_template_file_t;

extern const wisp_template_file_t wisp_template_files[];
extern const size_t wisp_template_file_count;

#endif
