/*
 * cmd_build.c: `wisp build`, run the components' build commands (as `spin
 * build` does).
 *
 *   wisp build [DIR | path/to/wisp.toml] [--component NAME]...
 *
 * For each component with a [component.NAME.build] section (all, or those
 * named with --component, in manifest order), runs each of its commands with
 * /bin/sh -c in its workdir (default: the manifest's directory), one after
 * the other, with the environment wisp was given. The first command that fails
 * stops the build. Without a path the manifest is ./wisp.toml; a directory
 * means DIR/wisp.toml (or DIR/spin.toml).
 *
 * Exit codes: 0 every build command succeeded (or there was none), 1 the
 * manifest could not be loaded or a command failed, 2 usage (unknown option,
 * or a --component the manifest does not have).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "manifest/manifest.h"

#define EXIT_USAGE   2
#define MAX_SELECTED 64

static void usage(FILE *out) {
  fputs(
      "usage: wisp build [DIR | path/to/wisp.toml] [--component NAME]...\n"
      "\n"
      "Runs the build commands of the application's components ([component.NAME.build]\n"
      "command, in its workdir or the manifest's directory), as `spin build` does.\n"
      "\n"
      "options:\n"
      "  -c, --component NAME   build only NAME (repeatable)\n"
      "  -h, --help             print this help\n"
      "\n"
      "exit status: 0 built, 1 a build command failed or the manifest is invalid, 2 usage\n",
      out);
}

static int is_dir(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* DIR -> DIR/wisp.toml, or DIR/spin.toml when only that exists; a file
 * stays as given. malloc'd; NULL when out of memory. */
static char *manifest_path(const char *arg) {
  if (!is_dir(arg)) return strdup(arg);
  size_t n = strlen(arg) + 16;
  char *p = malloc(n);
  if (!p) return NULL;
  snprintf(p, n, "%s/wisp.toml", arg);
  if (access(p, F_OK) != 0) {
    snprintf(p, n, "%s/spin.toml", arg);
    if (access(p, F_OK) != 0) snprintf(p, n, "%s/wisp.toml", arg);
  }
  return p;
}

/* Runs one command with /bin/sh -c in dir; returns its wait status, or -1
 * when it could not be started. */
static int run_command(const char *dir, const char *command) {
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    if (chdir(dir) < 0) {
      fprintf(stderr, "wisp build: cannot enter %s: %s\n", dir, strerror(errno));
      _exit(127);
    }
    execl("/bin/sh", "sh", "-c", command, (char *)NULL);
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return -1;
  return status;
}

static int build_component(const wisp_manifest_t *m, const wisp_manifest_component_t *c) {
  const char *dir = c->build.workdir ? c->build.workdir : m->dir;
  for (size_t i = 0; i < c->build.command_count; i++) {
    const char *command = c->build.commands[i];
    fprintf(stderr, "wisp build: component '%s' (in %s): %s\n", c->id, dir, command);
    int status = run_command(dir, command);
    if (status == -1) {
      fprintf(stderr, "wisp build: component '%s': cannot run the command: %s\n", c->id, strerror(errno));
      return -1;
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) continue;
    if (WIFEXITED(status))
      fprintf(stderr, "wisp build: component '%s': the build command exited with %d: %s\n", c->id,
              WEXITSTATUS(status), command);
    else
      fprintf(stderr, "wisp build: component '%s': the build command was killed by signal %d: %s\n", c->id,
              WIFSIGNALED(status) ? WTERMSIG(status) : 0, command);
    return -1;
  }
  return 0;
}

static int selected(const char *id, const char **names, int count) {
  if (count == 0) return 1;
  for (int i = 0; i < count; i++)
    if (strcmp(names[i], id) == 0) return 1;
  return 0;
}

int wisp_cli_build(int argc, char **argv) {
  const char *path = ".";
  const char *names[MAX_SELECTED];
  int nnames = 0, have_path = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      usage(stdout);
      return 0;
    }
    if (strcmp(a, "--component") == 0 || strcmp(a, "-c") == 0) {
      if (i + 1 >= argc || nnames == MAX_SELECTED) {
        fprintf(stderr, "wisp build: %s needs a component name (at most %d of them)\n", a, MAX_SELECTED);
        return EXIT_USAGE;
      }
      names[nnames++] = argv[++i];
      continue;
    }
    if (a[0] == '-') {
      fprintf(stderr, "wisp build: unknown option '%s'\n", a);
      usage(stderr);
      return EXIT_USAGE;
    }
    if (have_path) {
      fprintf(stderr, "wisp build: unexpected argument '%s' (one DIR or manifest)\n", a);
      return EXIT_USAGE;
    }
    path = a;
    have_path = 1;
  }

  char *file = manifest_path(path);
  if (!file) {
    fprintf(stderr, "wisp build: out of memory\n");
    return 1;
  }
  char error[512] = "";
  wisp_manifest_t *m = NULL;
  int rc = wisp_manifest_load(file, &m, error, sizeof error);
  free(file);
  if (rc < 0) {
    fprintf(stderr, "wisp build: %s\n", error[0] ? error : "out of memory");
    return 1;
  }
  int status = 0;
  for (int i = 0; i < nnames; i++)
    if (!wisp_manifest_find_component(m, names[i])) {
      fprintf(stderr, "wisp build: the manifest has no component '%s'\n", names[i]);
      status = EXIT_USAGE;
    }
  size_t built = 0;
  for (size_t i = 0; status == 0 && i < m->component_count; i++) {
    const wisp_manifest_component_t *c = &m->components[i];
    if (!selected(c->id, names, nnames)) continue;
    if (!c->has_build || c->build.command_count == 0) {
      fprintf(stderr, "wisp build: component '%s' has no build command; skipped\n", c->id);
      continue;
    }
    if (build_component(m, c) < 0)
      status = 1;
    else
      built++;
  }
  if (status == 0) fprintf(stderr, "wisp build: %zu component%s built\n", built, built == 1 ? "" : "s");
  wisp_manifest_free(m);
  return status;
}
