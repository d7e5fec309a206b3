/*
 * cmd_up.c: `wisp up`, serve an application's HTTP routes (src/server/).
 *
 *   wisp up [DIR | path/to/wisp.toml] [--build] [--no-snapshot] [--snapshot-dir DIR|off]
 *           [--listen HOST:PORT] [--admin-listen HOST:PORT]
 *           [--processes N] [--threads N] [--log-format common|json|none] [--tls-cert PEM --tls-key PEM]
 *           [--pool-slots N] [--pool-slot-size SIZE] [--pool-memory SIZE]
 *
 * Without a path the manifest is ./wisp.toml; a directory means DIR/wisp.toml
 * (or DIR/spin.toml when there is no wisp.toml). Exit codes: 0 after a clean
 * shutdown (SIGTERM/SIGINT), 1 when the application cannot be served, 2 usage.
 */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "cli.h"
#include "server/server.h"

#define EXIT_USAGE 2

static void usage(FILE *out) {
  fputs(
      "usage: wisp up [DIR | path/to/wisp.toml] [OPTIONS]\n"
      "\n"
      "Serves the application's HTTP routes: every request runs in a fresh instance of\n"
      "its component, with the limits of [component.NAME.limits]. SIGTERM or Ctrl-C\n"
      "stops accepting, finishes the requests in flight and exits.\n"
      "\n"
      "options:\n"
      "  --listen HOST:PORT        application address (default 127.0.0.1:3000; port 0 picks one)\n"
      "  --admin-listen HOST:PORT  /metrics and /healthz (default 127.0.0.1:3001; 'off' for none)\n"
      "  --build                   run every component's build commands first (a component\n"
      "                            whose module file is missing is always built)\n"
      "  --no-snapshot             instantiate each request through a linker instead of\n"
      "                            from the module's start-up snapshot (for comparison)\n"
      "  --snapshot-dir DIR        where snapshot files are kept across restarts (default\n"
      "                            $XDG_CACHE_HOME/wisp/snapshots; 'off' for none)\n"
      "  --processes N             worker processes (default: one per CPU)\n"
      "  --threads N               event loop threads per process (default 1)\n"
      "  --log-format FORMAT       access log on stdout: common (default), json or none\n"
      "  --tls-cert FILE           PEM certificate chain: serve HTTPS (HTTP/1.1 and HTTP/2)\n"
      "  --tls-key FILE            PEM private key for --tls-cert\n"
      "  --pool-slots N            reusable memory slots per process (default 128)\n"
      "  --pool-slot-size SIZE     the largest memory a slot holds (default 8G: any memory,\n"
      "                            no bounds checks); a component whose memory may grow\n"
      "                            beyond it uses normal reservations (logged once)\n"
      "  --pool-memory SIZE        address space all slots of a process may reserve; gives\n"
      "                            the slot size (or, with --pool-slot-size, the slot count)\n"
      "                            SIZE: bytes with an optional K, M, G or T suffix (1024-based)\n"
      "  --help                    show this help\n",
      out);
}

static int is_dir(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int file_exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* DIR -> DIR/wisp.toml (or DIR/spin.toml); a file stays as given. Returns a
 * malloc'd path. */
static char *manifest_path(const char *arg) {
  if (!is_dir(arg)) return strdup(arg);
  size_t n = strlen(arg) + 16;
  char *p = malloc(n);
  if (!p) return NULL;
  snprintf(p, n, "%s/wisp.toml", arg);
  if (!file_exists(p)) {
    snprintf(p, n, "%s/spin.toml", arg);
    if (!file_exists(p)) snprintf(p, n, "%s/wisp.toml", arg);
  }
  return p;
}

/* A size: digits with an optional K, M, G or T suffix (powers of 1024,
 * "KiB"/"KB" spellings too). 0 and -1 (bad, zero or overflowing). */
static int parse_size(const char *v, uint64_t *out) {
  if (!isdigit((unsigned char)v[0])) return -1;
  errno = 0;
  char *end;
  unsigned long long n = strtoull(v, &end, 10);
  if (errno || n == 0) return -1;
  int shift = 0;
  switch (toupper((unsigned char)*end)) {
  case 'K': shift = 10; break;
  case 'M': shift = 20; break;
  case 'G': shift = 30; break;
  case 'T': shift = 40; break;
  case 0: break;
  default: return -1;
  }
  if (shift) {
    end++;
    if (strcasecmp(end, "iB") == 0 || strcasecmp(end, "B") == 0) end += strlen(end);
  }
  if (*end || n > (UINT64_MAX >> shift)) return -1;
  *out = (uint64_t)n << shift;
  return 0;
}

int wisp_cli_pool_option(const char *cmd, const char *opt, const char *v, wisp_server_options_t *o) {
  if (strcmp(opt, "--pool-slots") == 0) {
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || end == v || *end || n < 1 || n > 65536) {
      fprintf(stderr, "wisp %s: bad --pool-slots '%s' (want 1-65536)\n", cmd, v);
      return -1;
    }
    o->pool_slots = (uint32_t)n;
    return 0;
  }
  uint64_t size = 0;
  if (parse_size(v, &size) < 0) {
    fprintf(stderr, "wisp %s: bad %s '%s' (want a size like 256M or 64G: bytes with an optional K, M, G or T "
                    "suffix)\n", cmd, opt, v);
    return -1;
  }
  if (strcmp(opt, "--pool-slot-size") == 0)
    o->pool_slot_bytes = size;
  else
    o->pool_memory_bytes = size;
  return 0;
}

static int parse_args(int argc, char **argv, wisp_server_options_t *o, const char **path) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      usage(stdout);
      exit(0);
    }
    if (strcmp(a, "--build") == 0 || strcmp(a, "--no-snapshot") == 0) {
      if (a[2] == 'b')
        o->build = true;
      else
        o->no_snapshot = true;
      continue;
    }
    if (a[0] != '-') {
      if (*path) {
        fprintf(stderr, "wisp up: more than one manifest given ('%s' and '%s')\n", *path, a);
        return -1;
      }
      *path = a;
      continue;
    }
    static const char *const known[] = {"--listen",     "--admin-listen", "--threads", "--processes",
                                        "--log-format", "--tls-cert",     "--tls-key",   "--snapshot-dir",
                                        "--pool-slots", "--pool-slot-size", "--pool-memory"};
    bool is_known = false;
    for (size_t k = 0; k < sizeof known / sizeof known[0]; k++) is_known |= strcmp(a, known[k]) == 0;
    if (!is_known) {
      fprintf(stderr, "wisp up: unknown option %s (see wisp up --help)\n", a);
      return -1;
    }
    if (i + 1 >= argc) {
      fprintf(stderr, "wisp up: option %s needs a value\n", a);
      return -1;
    }
    const char *v = argv[++i];
    if (strcmp(a, "--listen") == 0) {
      o->listen = v;
    } else if (strcmp(a, "--admin-listen") == 0) {
      o->admin_listen = strcmp(v, "off") == 0 ? NULL : v;
    } else if (strcmp(a, "--snapshot-dir") == 0) {
      o->snapshot_dir = strcmp(v, "off") == 0 ? "" : v;
    } else if (strcmp(a, "--threads") == 0 || strcmp(a, "--processes") == 0) {
      char *end;
      long n = strtol(v, &end, 10);
      if (*end || n < 1 || n > 256) {
        fprintf(stderr, "wisp up: bad %s '%s' (want 1-256)\n", a, v);
        return -1;
      }
      if (a[2] == 't')
        o->threads = (int)n;
      else
        o->processes = (int)n;
    } else if (strncmp(a, "--pool-", 7) == 0) {
      if (wisp_cli_pool_option("up", a, v, o) < 0) return -1;
    } else if (strcmp(a, "--log-format") == 0) {
      if (strcmp(v, "common") == 0)
        o->log_format = WISP_LOG_COMMON;
      else if (strcmp(v, "json") == 0)
        o->log_format = WISP_LOG_JSON;
      else if (strcmp(v, "none") == 0)
        o->log_format = WISP_LOG_NONE;
      else {
        fprintf(stderr, "wisp up: bad --log-format '%s' (want common, json or none)\n", v);
        return -1;
      }
    } else if (strcmp(a, "--tls-cert") == 0) {
      o->tls_cert = v;
    } else if (strcmp(a, "--tls-key") == 0) {
      o->tls_key = v;
    } else {
      fprintf(stderr, "wisp up: unknown option %s (see wisp up --help)\n", a);
      return -1;
    }
  }
  if (!o->tls_cert != !o->tls_key) {
    fprintf(stderr, "wisp up: --tls-cert and --tls-key go together\n");
    return -1;
  }
  uint32_t slots = 0;
  uint64_t slot_bytes = 0;
  char err[300];
  if (wisp_server_pool_config(o, &slots, &slot_bytes, err, sizeof err) < 0) {
    fprintf(stderr, "wisp up: %s\n", err);
    return -1;
  }
  return 0;
}

int wisp_cli_up(int argc, char **argv) {
  wisp_server_options_t o = {.listen = "127.0.0.1:3000", .admin_listen = "127.0.0.1:3001"};
  const char *path = NULL;
  if (parse_args(argc, argv, &o, &path) < 0) return EXIT_USAGE;
  char *manifest = manifest_path(path ? path : ".");
  if (!manifest) return 1;
  o.manifest_path = manifest;
  int code = wisp_server_run(&o);
  free(manifest);
  return code;
}
