/*
 * cmd_serve.c: `wisp serve`, the long-lived server: applications live in the
 * store in the data directory and are deployed, rolled back and deleted
 * through the admin API while it runs (src/server/apps.c, src/admin/).
 *
 *   wisp serve [--data-dir DIR] [--listen HOST:PORT] [--admin-listen HOST:PORT]
 *              [--processes N] [--log-format common|json|none] [--max-upload BYTES]
 *
 * Exit codes: 0 after a clean shutdown (SIGTERM/SIGINT), 1 when the server
 * cannot start (store, token, listener), 2 usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "server/server.h"

#define EXIT_USAGE 2

static void usage(FILE *out) {
  fputs(
      "usage: wisp serve [OPTIONS]\n"
      "\n"
      "Serves every application deployed to the store in the data directory, and the\n"
      "admin API (deploy, list, roll back, delete, logs; docs/admin.md) on the admin\n"
      "address. The admin token is made on first start in DATA_DIR/admin.token (mode\n"
      "0600); `wisp deploy` reads it from WISP_TOKEN or --token-file. Every active\n"
      "application is served again after a restart. SIGTERM or Ctrl-C drains and exits.\n"
      "\n"
      "options:\n"
      "  --data-dir DIR            the store, the token and snapshot files (default\n"
      "                            $XDG_DATA_HOME/wisp, or ~/.local/share/wisp)\n"
      "  --listen HOST:PORT        application address (default 127.0.0.1:3000; port 0 picks one)\n"
      "  --admin-listen HOST:PORT  admin API, /metrics, /healthz (default 127.0.0.1:3001)\n"
      "  --processes N             worker processes (default: one per CPU)\n"
      "  --log-format FORMAT       access log on stdout: common (default), json or none\n"
      "  --max-upload BYTES        largest bundle a deploy may send (default 64 MiB)\n"
      "  --pool-slots N, --pool-slot-size SIZE, --pool-memory SIZE\n"
      "                            memory slots for instances, as for wisp up (wisp up --help)\n"
      "  --help                    show this help\n",
      out);
}

/* $XDG_DATA_HOME/wisp or $HOME/.local/share/wisp (malloc'd), NULL if neither is set. */
static char *default_data_dir(void) {
  const char *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
  char buf[4096];
  if (xdg && xdg[0] == '/')
    snprintf(buf, sizeof buf, "%s/wisp", xdg);
  else if (home && home[0])
    snprintf(buf, sizeof buf, "%s/.local/share/wisp", home);
  else
    return NULL;
  return strdup(buf);
}

int wisp_cli_serve(int argc, char **argv) {
  wisp_server_options_t o = {.listen = "127.0.0.1:3000",
                             .admin_listen = "127.0.0.1:3001",
                             .max_upload_bytes = WISP_SERVE_MAX_UPLOAD_BYTES};
  const char *dir = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      usage(stdout);
      return 0;
    }
    static const char *const known[] = {"--data-dir",   "--listen",     "--admin-listen",   "--processes",
                                        "--log-format", "--max-upload", "--pool-slots",     "--pool-slot-size",
                                        "--pool-memory"};
    bool is_known = false;
    for (size_t k = 0; k < sizeof known / sizeof known[0]; k++) is_known |= strcmp(a, known[k]) == 0;
    if (!is_known) {
      fprintf(stderr, "wisp serve: unknown argument '%s' (see wisp serve --help)\n", a);
      return EXIT_USAGE;
    }
    if (i + 1 >= argc) {
      fprintf(stderr, "wisp serve: option %s needs a value\n", a);
      return EXIT_USAGE;
    }
    const char *v = argv[++i];
    if (strcmp(a, "--data-dir") == 0) {
      dir = v;
    } else if (strcmp(a, "--listen") == 0) {
      o.listen = v;
    } else if (strcmp(a, "--admin-listen") == 0) {
      o.admin_listen = v;
    } else if (strcmp(a, "--processes") == 0) {
      char *end;
      long n = strtol(v, &end, 10);
      if (*end || n < 1 || n > 256) {
        fprintf(stderr, "wisp serve: bad --processes '%s' (want 1-256)\n", v);
        return EXIT_USAGE;
      }
      o.processes = (int)n;
    } else if (strcmp(a, "--max-upload") == 0) {
      char *end;
      unsigned long long n = strtoull(v, &end, 10);
      if (*end || n < 1024 || n > (1ull << 30)) {
        fprintf(stderr, "wisp serve: bad --max-upload '%s' (want bytes, 1024 to 1073741824)\n", v);
        return EXIT_USAGE;
      }
      o.max_upload_bytes = n;
    } else if (strncmp(a, "--pool-", 7) == 0) {
      if (wisp_cli_pool_option("serve", a, v, &o) < 0) return EXIT_USAGE;
    } else if (strcmp(a, "--log-format") == 0) {
      if (strcmp(v, "common") == 0)
        o.log_format = WISP_LOG_COMMON;
      else if (strcmp(v, "json") == 0)
        o.log_format = WISP_LOG_JSON;
      else if (strcmp(v, "none") == 0)
        o.log_format = WISP_LOG_NONE;
      else {
        fprintf(stderr, "wisp serve: bad --log-format '%s' (want common, json or none)\n", v);
        return EXIT_USAGE;
      }
    }
  }
  uint32_t slots = 0;
  uint64_t slot_bytes = 0;
  char perr[300];
  if (wisp_server_pool_config(&o, &slots, &slot_bytes, perr, sizeof perr) < 0) {
    fprintf(stderr, "wisp serve: %s\n", perr);
    return EXIT_USAGE;
  }
  char *owned = dir ? strdup(dir) : default_data_dir();
  if (!owned) {
    fprintf(stderr, "wisp serve: no --data-dir given and neither XDG_DATA_HOME nor HOME is set\n");
    return EXIT_USAGE;
  }
  o.data_dir = owned;
  /* snapshot files (keyed by module SHA-256) live with the store, not in the
   * user's cache: a data directory is the whole state of a `wisp serve` */
  size_t sl = strlen(owned) + sizeof "/snapshots";
  char *snapdir = malloc(sl);
  if (!snapdir) {
    free(owned);
    fprintf(stderr, "wisp serve: out of memory\n");
    return EXIT_FAILURE;
  }
  snprintf(snapdir, sl, "%s/snapshots", owned);
  o.snapshot_dir = snapdir;
  int code = wisp_server_run(&o);
  free(snapdir);
  free(owned);
  return code;
}
