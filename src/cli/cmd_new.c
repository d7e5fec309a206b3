/*
 * cmd_new.c: `wisp new`, start a project from a template.
 *
 *   wisp new TEMPLATE NAME [--dir DIR]
 *   wisp new --list
 *
 * Writes the files of TEMPLATE (templates.h: compiled into the binary from
 * templates/ and sdk/c/, so this works from any directory with nothing but the
 * wisp binary) into DIR (default ./NAME), replacing "{{name}}" in paths and
 * contents with NAME. DIR must not exist or be empty; no file is overwritten.
 * Exit codes: 0 created, 1 the project could not be written, 2 usage (unknown
 * template, bad name or option).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <dirent.h>

#include "cli.h"
#include "templates.h"

#define EXIT_USAGE  2
#define PLACEHOLDER "{{name}}"

typedef struct template_info {
  const char *name;
  const char *summary;
  const char *steps; /* what to run in the new directory */
  const char *needs; /* what must be installed for them */
} template_info_t;

static const template_info_t templates[] = {
    {"wagi-c", "a WAGI function in C (WASI command: CGI variables in, stdout out)", "wisp build && wisp up",
     "clang-19, lld-19 and wasi-libc (Debian packages)"},
    {"http-c", "a wasi:http component in C, written with wisp's C SDK (wisp-sdk/)",
     "npm install && wisp build && wisp up",
     "clang-19, lld-19, wasi-libc (Debian packages) and Node.js 20 with npm (for jco)"},
    {"http-js", "a wasi:http component in JavaScript, built with componentize-js",
     "npm install && wisp build && wisp up", "Node.js 20 with npm (jco, componentize-js)"},
};
#define NTEMPLATES (sizeof templates / sizeof templates[0])

static void usage(FILE *out) {
  fputs(
      "usage: wisp new TEMPLATE NAME [--dir DIR]\n"
      "       wisp new --list\n"
      "\n"
      "Creates a project from a template in ./NAME (or DIR): its source, a wisp.toml\n"
      "with a build command, and what the build needs. Then `wisp build` and `wisp up`.\n"
      "NAME: a letter, then letters, digits, '-' or '_' (lower case, at most 64).\n"
      "\n"
      "templates:\n",
      out);
  for (size_t i = 0; i < NTEMPLATES; i++)
    fprintf(out, "  %-8s %s\n", templates[i].name, templates[i].summary);
  fputs(
      "\n"
      "options:\n"
      "  --dir DIR   create the project in DIR (must not exist, or be empty)\n"
      "  --list      list the templates\n"
      "  -h, --help  print this help\n",
      out);
}

static const template_info_t *find_template(const char *name) {
  for (size_t i = 0; i < NTEMPLATES; i++)
    if (strcmp(templates[i].name, name) == 0) return &templates[i];
  return NULL;
}

static int valid_name(const char *name) {
  size_t n = strlen(name);
  if (n == 0 || n > 64 || name[0] < 'a' || name[0] > 'z') return 0;
  for (size_t i = 0; i < n; i++) {
    char c = name[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) return 0;
  }
  return 1;
}

/* text (length bytes) with every PLACEHOLDER replaced by name; malloc'd,
 * NUL-terminated, its length in *out_length. NULL when out of memory. */
static char *substitute(const unsigned char *text, size_t length, const char *name, size_t *out_length) {
  size_t ph = strlen(PLACEHOLDER), nl = strlen(name), count = 0;
  for (size_t i = 0; i + ph <= length; i++)
    if (memcmp(text + i, PLACEHOLDER, ph) == 0) count++, i += ph - 1;
  size_t size = length + count * nl + 1;
  char *out = malloc(size);
  if (!out) return NULL;
  size_t o = 0;
  for (size_t i = 0; i < length;) {
    if (i + ph <= length && memcmp(text + i, PLACEHOLDER, ph) == 0) {
      memcpy(out + o, name, nl);
      o += nl;
      i += ph;
    } else {
      out[o++] = (char)text[i++];
    }
  }
  out[o] = 0;
  *out_length = o;
  return out;
}

/* mkdir -p of the directories leading to path (not path itself). */
static int make_parents(char *path) {
  for (char *p = strchr(path + 1, '/'); p; p = strchr(p + 1, '/')) {
    *p = 0;
    int rc = mkdir(path, 0755);
    int err = errno;
    *p = '/';
    if (rc < 0 && err != EEXIST) {
      errno = err;
      return -1;
    }
  }
  return 0;
}

/* 1 when dir does not exist or is an empty directory. */
static int usable_dir(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return errno == ENOENT;
  struct dirent *e;
  int empty = 1;
  while ((e = readdir(d)) != NULL)
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) empty = 0;
  closedir(d);
  return empty;
}

static int write_file(const char *path, const char *data, size_t size, int executable) {
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, executable ? 0755 : 0644);
  if (fd < 0) return -1;
  size_t done = 0;
  while (done < size) {
    ssize_t n = write(fd, data + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      close(fd);
      errno = err;
      return -1;
    }
    done += (size_t)n;
  }
  return close(fd);
}

static int create_project(const template_info_t *t, const char *name, const char *dir) {
  if (!usable_dir(dir)) {
    fprintf(stderr, "wisp new: %s already exists and is not empty; choose another NAME or --dir\n", dir);
    return 1;
  }
  if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
    fprintf(stderr, "wisp new: cannot create %s: %s\n", dir, strerror(errno));
    return 1;
  }
  size_t files = 0;
  for (size_t i = 0; i < wisp_template_file_count; i++) {
    const wisp_template_file_t *f = &wisp_template_files[i];
    if (strcmp(f->template_name, t->name) != 0) continue;
    size_t rel_length = 0, length = 0;
    char *rel = substitute((const unsigned char *)f->path, strlen(f->path), name, &rel_length);
    char *text = substitute(f->data, f->size, name, &length);
    char *path = rel ? malloc(strlen(dir) + rel_length + 2) : NULL;
    int rc = -1;
    if (path && text) {
      sprintf(path, "%s/%s", dir, rel);
      rc = make_parents(path);
      if (rc == 0) rc = write_file(path, text, length, f->executable);
      if (rc < 0) fprintf(stderr, "wisp new: cannot write %s: %s\n", path, strerror(errno));
    } else {
      fprintf(stderr, "wisp new: out of memory\n");
    }
    free(rel);
    free(text);
    free(path);
    if (rc < 0) return 1;
    files++;
  }
  printf("created %s/ from template %s (%zu files); next:\n  cd %s && %s\nneeds %s\n", dir, t->name, files,
         dir, t->steps, t->needs);
  return 0;
}

int wisp_cli_new(int argc, char **argv) {
  const char *positional[2] = {NULL, NULL};
  const char *dir = NULL;
  int npositional = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      usage(stdout);
      return 0;
    }
    if (strcmp(a, "--list") == 0) {
      for (size_t k = 0; k < NTEMPLATES; k++) printf("%-8s %s\n", templates[k].name, templates[k].summary);
      return 0;
    }
    if (strcmp(a, "--dir") == 0) {
      if (i + 1 >= argc) {
        fprintf(stderr, "wisp new: --dir needs a directory\n");
        return EXIT_USAGE;
      }
      dir = argv[++i];
      continue;
    }
    if (a[0] == '-') {
      fprintf(stderr, "wisp new: unknown option '%s'\n", a);
      usage(stderr);
      return EXIT_USAGE;
    }
    if (npositional == 2) {
      fprintf(stderr, "wisp new: unexpected argument '%s' (expected TEMPLATE NAME)\n", a);
      return EXIT_USAGE;
    }
    positional[npositional++] = a;
  }
  if (npositional < 2) {
    usage(stderr);
    return EXIT_USAGE;
  }
  const template_info_t *t = find_template(positional[0]);
  if (!t) {
    fprintf(stderr, "wisp new: no template '%s'; templates are:", positional[0]);
    for (size_t k = 0; k < NTEMPLATES; k++) fprintf(stderr, " %s", templates[k].name);
    fputc('\n', stderr);
    return EXIT_USAGE;
  }
  if (!valid_name(positional[1])) {
    fprintf(stderr,
            "wisp new: '%s' is not a valid project name: use a lower-case letter, then letters, digits, "
            "'-' or '_' (at most 64)\n",
            positional[1]);
    return EXIT_USAGE;
  }
  return create_project(t, positional[1], dir ? dir : positional[1]);
}
