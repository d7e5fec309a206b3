/*
 * cmd_deploy.c: the client side of `wisp serve`'s admin API (docs/admin.md),
 * over libcurl:
 *
 *   wisp deploy [DIR | wisp.toml]   tar of the manifest and the modules it names
 *   wisp apps [APP]                 applications (or one app's versions)
 *   wisp rollback APP [VERSION]     make VERSION (default: the previous) active
 *   wisp rm APP                     delete an application
 *   wisp logs APP [--follow] [--lines N]
 *
 * Common options: --server URL (default $WISP_SERVER or http://127.0.0.1:3001),
 * the token from $WISP_TOKEN or --token-file FILE.
 * Exit codes: 0 success, 1 the server refused (its message is printed),
 * 2 usage, 3 the server could not be reached, 4 a local file problem.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>

#include <curl/curl.h>
#include <jansson.h>

#include "admin/tar.h"
#include "cli.h"
#include "manifest/manifest.h"

#define EXIT_REFUSED 1
#define EXIT_USAGE   2
#define EXIT_CONNECT 3
#define EXIT_LOCAL   4

typedef struct client {
  const char *cmd;
  const char *server;
  char token[256];
  bool follow;
} client_t;

static const char *const common_help =
    "  --server URL         the admin API (default $WISP_SERVER or http://127.0.0.1:3001)\n"
    "  --token-file FILE    read the admin token from FILE (default: $WISP_TOKEN)\n"
    "  --help               show this help\n"
    "\n"
    "exit codes: 0 done, 1 refused by the server (message printed), 2 usage,\n"
    "3 server unreachable, 4 local file problem\n";

/* Parses --server/--token-file; other arguments go to rest[]. -1: usage error
 * (message printed), 1: --help printed. */
static int parse_common(client_t *c, int argc, char **argv, const char *help, char **rest, int *nrest,
                        bool allow_follow) {
  const char *token_file = NULL;
  c->server = getenv("WISP_SERVER");
  if (!c->server || !c->server[0]) c->server = "http://127.0.0.1:3001";
  *nrest = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      fputs(help, stdout);
      fputs(common_help, stdout);
      return 1;
    }
    if (allow_follow && (strcmp(a, "--follow") == 0 || strcmp(a, "-f") == 0)) {
      c->follow = true;
      continue;
    }
    if (strcmp(a, "--server") == 0 || strcmp(a, "--token-file") == 0 ||
        (allow_follow && strcmp(a, "--lines") == 0)) {
      if (i + 1 >= argc) {
        fprintf(stderr, "wisp %s: option %s needs a value\n", c->cmd, a);
        return -1;
      }
      if (a[2] == 's')
        c->server = argv[++i];
      else if (a[2] == 't')
        token_file = argv[++i];
      else {
        rest[(*nrest)++] = (char *)a;
        rest[(*nrest)++] = argv[++i];
      }
      continue;
    }
    if (a[0] == '-') {
      fprintf(stderr, "wisp %s: unknown option %s (see wisp %s --help)\n", c->cmd, a, c->cmd);
      return -1;
    }
    rest[(*nrest)++] = (char *)a;
  }
  const char *tok = getenv("WISP_TOKEN");
  if (token_file) {
    FILE *f = fopen(token_file, "r");
    if (!f) {
      fprintf(stderr, "wisp %s: cannot read the token file %s: %s\n", c->cmd, token_file, strerror(errno));
      return -2;
    }
    size_t n = fread(c->token, 1, sizeof c->token - 1, f);
    fclose(f);
    c->token[n] = '\0';
    while (n && (c->token[n - 1] == '\n' || c->token[n - 1] == '\r' || c->token[n - 1] == ' '))
      c->token[--n] = '\0';
  } else if (tok) {
    snprintf(c->token, sizeof c->token, "%s", tok);
  } else {
    fprintf(stderr,
            "wisp %s: no admin token: set WISP_TOKEN or pass --token-file DATA_DIR/admin.token "
            "(made by wisp serve)\n",
            c->cmd);
    return -1;
  }
  return 0;
}

typedef struct buf {
  char *data;
  size_t len;
  bool stream; /* write a 2xx answer to stdout as it arrives */
  CURL *curl;
} buf_t;

static size_t on_data(char *ptr, size_t size, size_t n, void *ctx) {
  buf_t *b = ctx;
  size_t len = size * n;
  long status = 0;
  if (b->stream) curl_easy_getinfo(b->curl, CURLINFO_RESPONSE_CODE, &status);
  if (b->stream && status >= 200 && status < 300) {
    fwrite(ptr, 1, len, stdout);
    fflush(stdout);
    return len;
  }
  char *grown = realloc(b->data, b->len + len + 1);
  if (!grown) return 0;
  b->data = grown;
  memcpy(b->data + b->len, ptr, len);
  b->len += len;
  b->data[b->len] = '\0';
  return len;
}

/* One request; the JSON answer in *out (NULL for a streamed or non-JSON one).
 * Returns the exit code: 0 for a 2xx, 1 (message printed) otherwise. */
static int request(client_t *c, const char *method, const char *path, const void *body, size_t body_len,
                   const char *content_type, json_t **out, bool stream) {
  if (out) *out = NULL;
  CURL *curl = curl_easy_init();
  if (!curl) return EXIT_LOCAL;
  char url[4096], auth[400], ctype[200];
  size_t sl = strlen(c->server);
  while (sl && c->server[sl - 1] == '/') sl--;
  snprintf(url, sizeof url, "%.*s%s", (int)sl, c->server, path);
  snprintf(auth, sizeof auth, "Authorization: Bearer %s", c->token);
  struct curl_slist *headers = curl_slist_append(NULL, auth);
  if (content_type) {
    snprintf(ctype, sizeof ctype, "Content-Type: %s", content_type);
    headers = curl_slist_append(headers, ctype);
  }
  headers = curl_slist_append(headers, "Expect:");
  buf_t b = {.stream = stream, .curl = curl};
  curl_easy_setopt(curl, CURLOPT_URL, url);
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &b);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  if (body) {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
  }
  CURLcode rc = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  if (rc != CURLE_OK) {
    fprintf(stderr, "wisp %s: cannot reach the server at %s: %s\n", c->cmd, c->server,
            curl_easy_strerror(rc));
    free(b.data);
    return EXIT_CONNECT;
  }
  json_t *j = b.data ? json_loads(b.data, 0, NULL) : NULL;
  int code = 0;
  if (status < 200 || status >= 300) {
    const char *msg = j ? json_string_value(json_object_get(j, "error")) : NULL;
    fprintf(stderr, "wisp %s: the server refused (HTTP %ld): %s\n", c->cmd, status,
            msg      ? msg
            : b.data ? b.data
                     : "(no message)");
    code = EXIT_REFUSED;
  } else if (j && json_object_get(j, "warning")) {
    fprintf(stderr, "wisp %s: warning: %s\n", c->cmd, json_string_value(json_object_get(j, "warning")));
  }
  free(b.data);
  if (out && code == 0)
    *out = j;
  else
    json_decref(j);
  return code;
}

static char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  struct stat st;
  char *data = NULL;
  if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) && (data = malloc((size_t)st.st_size + 1))) {
    *len = fread(data, 1, (size_t)st.st_size, f);
    if (*len != (size_t)st.st_size) {
      free(data);
      data = NULL;
      errno = EIO;
    }
  }
  fclose(f);
  return data;
}

/* Adds every regular file under host directory dir as NAME/..., recursively.
 * Symbolic links and other special files are refused. 0 or -1 (printed). */
static int add_tree(tar_writer_t *w, const char *dir, const char *name, int depth) {
  DIR *d = opendir(dir);
  if (!d) {
    fprintf(stderr, "wisp deploy: cannot read the directory %s: %s\n", dir, strerror(errno));
    return -1;
  }
  int rc = 0;
  struct dirent *e;
  while (rc == 0 && (e = readdir(d))) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    char host[4096], sub[4096];
    if ((size_t)snprintf(host, sizeof host, "%s/%s", dir, e->d_name) >= sizeof host ||
        (size_t)snprintf(sub, sizeof sub, "%s/%s", name, e->d_name) >= sizeof sub) {
      fprintf(stderr, "wisp deploy: %s/%s: path too long\n", dir, e->d_name);
      rc = -1;
      break;
    }
    struct stat st;
    if (lstat(host, &st) < 0) {
      fprintf(stderr, "wisp deploy: %s: %s\n", host, strerror(errno));
      rc = -1;
    } else if (S_ISDIR(st.st_mode)) {
      if (depth > 32) {
        fprintf(stderr, "wisp deploy: %s: directories nested too deep\n", host);
        rc = -1;
      } else {
        rc = add_tree(w, host, sub, depth + 1);
      }
    } else if (S_ISREG(st.st_mode)) {
      size_t len = 0;
      char *data = read_file(host, &len);
      if (!data) {
        fprintf(stderr, "wisp deploy: cannot read %s: %s\n", host, strerror(errno));
        rc = -1;
      } else {
        tar_write_file(w, sub, data, len);
        free(data);
      }
    } else {
      fprintf(stderr,
              "wisp deploy: %s: only regular files and directories can be deployed in a files mount\n", host);
      rc = -1;
    }
  }
  closedir(d);
  return rc;
}

/* The part of path below the manifest's directory, or NULL if outside. */
static const char *below_dir(const wisp_manifest_t *m, const char *path) {
  size_t dl = strlen(m->dir);
  const char *rel = path;
  if (strcmp(m->dir, ".") != 0) {
    if (strncmp(rel, m->dir, dl) != 0 || rel[dl] != '/') return NULL;
    rel += dl + 1;
  }
  if (rel[0] == '/' || strstr(rel, "..")) return NULL;
  while (rel[0] == '.' && rel[1] == '/') rel += 2;
  return rel;
}

static const char *deploy_help =
    "usage: wisp deploy [DIR | path/to/wisp.toml] [--server URL] [--token-file FILE]\n"
    "\n"
    "Sends the application (its wisp.toml and the module of every component, as a tar\n"
    "archive) to a running `wisp serve`. The new version is compiled and started once\n"
    "on the server before it replaces the old one; requests never see a mix. Build\n"
    "the modules first (`wisp build`).\n"
    "\n"
    "options:\n";

int wisp_cli_deploy(int argc, char **argv) {
  client_t c = {.cmd = "deploy"};
  char *rest[64];
  int nrest = 0;
  int r = parse_common(&c, argc, argv, deploy_help, rest, &nrest, false);
  if (r) return r > 0 ? 0 : r == -2 ? EXIT_LOCAL : EXIT_USAGE;
  if (nrest > 1) {
    fprintf(stderr, "wisp deploy: expected at most one DIR or manifest, got %d\n", nrest);
    return EXIT_USAGE;
  }
  const char *arg = nrest ? rest[0] : ".";
  char path[4096];
  struct stat st;
  if (stat(arg, &st) == 0 && S_ISDIR(st.st_mode)) {
    snprintf(path, sizeof path, "%s/wisp.toml", arg);
    if (stat(path, &st) != 0) snprintf(path, sizeof path, "%s/spin.toml", arg);
  } else {
    snprintf(path, sizeof path, "%s", arg);
  }
  char err[1024];
  wisp_manifest_t *m = NULL;
  if (wisp_manifest_load(path, &m, err, sizeof err) < 0) {
    fprintf(stderr, "wisp deploy: %s\n", err);
    return EXIT_LOCAL;
  }
  size_t mlen = 0;
  char *mtext = read_file(path, &mlen);
  tar_writer_t w = {0};
  int code = EXIT_LOCAL;
  if (!mtext) {
    fprintf(stderr, "wisp deploy: cannot read %s: %s\n", path, strerror(errno));
    goto done;
  }
  tar_write_file(&w, "wisp.toml", mtext, mlen);
  size_t dl = strlen(m->dir);
  for (size_t i = 0; i < m->component_count; i++) {
    const wisp_manifest_component_t *mc = &m->components[i];
    const char *rel = mc->source;
    if (strcmp(m->dir, ".") != 0) {
      if (strncmp(rel, m->dir, dl) != 0 || rel[dl] != '/') {
        fprintf(stderr, "wisp deploy: component '%s': source %s is outside the application's directory\n",
                mc->id, mc->source);
        goto done;
      }
      rel += dl + 1;
    }
    if (rel[0] == '/' || strstr(rel, "..")) {
      fprintf(stderr,
              "wisp deploy: component '%s': source %s must be a relative path inside the application\n",
              mc->id, mc->source);
      goto done;
    }
    while (rel[0] == '.' && rel[1] == '/') rel += 2;
    size_t len = 0;
    char *data = read_file(mc->source, &len);
    if (!data) {
      fprintf(stderr, "wisp deploy: component '%s': cannot read its module %s: %s%s\n", mc->id, mc->source,
              strerror(errno), mc->has_build ? " (run `wisp build` first)" : "");
      goto done;
    }
    tar_write_file(&w, rel, data, len);
    free(data);
    for (size_t k = 0; k < mc->file_count; k++) {
      const char *src = below_dir(m, mc->files[k].source);
      struct stat fst;
      if (!src || stat(mc->files[k].source, &fst) < 0 || !S_ISDIR(fst.st_mode)) {
        fprintf(stderr,
                "wisp deploy: component '%s': files source %s must be a directory inside the application's "
                "directory\n",
                mc->id, mc->files[k].source);
        goto done;
      }
      char name[4096];
      snprintf(name, sizeof name, "%s", src);
      size_t nl = strlen(name);
      while (nl && name[nl - 1] == '/') name[--nl] = '\0';
      if (add_tree(&w, mc->files[k].source, name, 0) < 0) goto done;
    }
  }
  if (tar_finish(&w) < 0) {
    fprintf(stderr, "wisp deploy: cannot build the bundle (out of memory or a path longer than 255 bytes)\n");
    goto done;
  }
  json_t *res = NULL;
  code = request(&c, "POST", "/v1/apps", w.buf, w.len, "application/x-tar", &res, false);
  if (code == 0 && res) {
    printf("deployed %s version %lld\n", json_string_value(json_object_get(res, "app")),
           (long long)json_integer_value(json_object_get(res, "version")));
    json_t *routes = json_object_get(res, "routes"), *rt;
    size_t i;
    json_array_foreach(routes, i, rt) printf("  %s -> %s\n", json_string_value(json_object_get(rt, "route")),
                                             json_string_value(json_object_get(rt, "component")));
  }
  json_decref(res);
done:
  tar_writer_free(&w);
  free(mtext);
  wisp_manifest_free(m);
  return code;
}

static const char *apps_help =
    "usage: wisp apps [APP] [--server URL] [--token-file FILE]\n"
    "\n"
    "Lists the deployed applications with their active version and routes; with APP,\n"
    "that application's versions and history.\n"
    "\n"
    "options:\n";

static void when(json_int_t t, char *out, size_t size) {
  time_t tt = (time_t)t;
  struct tm tm;
  gmtime_r(&tt, &tm);
  strftime(out, size, "%Y-%m-%d %H:%M:%SZ", &tm);
}

int wisp_cli_apps(int argc, char **argv) {
  client_t c = {.cmd = "apps"};
  char *rest[64];
  int nrest = 0;
  int r = parse_common(&c, argc, argv, apps_help, rest, &nrest, false);
  if (r) return r > 0 ? 0 : r == -2 ? EXIT_LOCAL : EXIT_USAGE;
  if (nrest > 1) {
    fprintf(stderr, "wisp apps: expected at most one APP\n");
    return EXIT_USAGE;
  }
  json_t *res = NULL;
  char path[600], t[64];
  if (nrest == 0) {
    int code = request(&c, "GET", "/v1/apps", NULL, 0, NULL, &res, false);
    if (code) return code;
    json_t *apps = json_object_get(res, "apps"), *a, *rt;
    size_t i, k;
    if (json_array_size(apps) == 0)
      printf("no applications deployed\n");
    else
      printf("%-24s %-8s %s\n", "APP", "VERSION", "ROUTES");
    json_array_foreach(apps, i, a) {
      printf("%-24s %-8lld", json_string_value(json_object_get(a, "name")),
             (long long)json_integer_value(json_object_get(a, "active_version")));
      json_array_foreach(json_object_get(a, "routes"), k, rt)
          printf(" %s", json_string_value(json_object_get(rt, "route")));
      printf("\n");
    }
    json_decref(res);
    return 0;
  }
  char *esc = curl_easy_escape(NULL, rest[0], 0);
  snprintf(path, sizeof path, "/v1/apps/%s", esc ? esc : rest[0]);
  curl_free(esc);
  int code = request(&c, "GET", path, NULL, 0, NULL, &res, false);
  if (code) return code;
  printf("%s: active version %lld\n", json_string_value(json_object_get(res, "name")),
         (long long)json_integer_value(json_object_get(res, "active_version")));
  json_t *v, *rt;
  size_t i;
  json_array_foreach(json_object_get(res, "routes"), i, rt)
      printf("  route %s -> %s\n", json_string_value(json_object_get(rt, "route")),
             json_string_value(json_object_get(rt, "component")));
  printf("%-8s %-22s %s\n", "VERSION", "DEPLOYED", "BY");
  json_array_foreach(json_object_get(res, "versions"), i, v) {
    when(json_integer_value(json_object_get(v, "created_at")), t, sizeof t);
    printf("%-8lld %-22s %s%s\n", (long long)json_integer_value(json_object_get(v, "version")), t,
           json_string_value(json_object_get(v, "deployed_by")),
           json_is_true(json_object_get(v, "active")) ? "  (active)" : "");
  }
  json_decref(res);
  return 0;
}

static const char *rollback_help =
    "usage: wisp rollback APP [VERSION] [--server URL] [--token-file FILE]\n"
    "\n"
    "Makes VERSION of APP active again (default: the version before the active one).\n"
    "\n"
    "options:\n";

int wisp_cli_rollback(int argc, char **argv) {
  client_t c = {.cmd = "rollback"};
  char *rest[64];
  int nrest = 0;
  int r = parse_common(&c, argc, argv, rollback_help, rest, &nrest, false);
  if (r) return r > 0 ? 0 : r == -2 ? EXIT_LOCAL : EXIT_USAGE;
  if (nrest < 1 || nrest > 2) {
    fprintf(stderr, "wisp rollback: expected APP [VERSION] (see wisp rollback --help)\n");
    return EXIT_USAGE;
  }
  long long version = 0;
  if (nrest == 2) {
    char *end;
    version = strtoll(rest[1], &end, 10);
    if (*end || version < 1) {
      fprintf(stderr, "wisp rollback: VERSION must be a number from 1 ('%s')\n", rest[1]);
      return EXIT_USAGE;
    }
  }
  char path[600], body[64];
  char *esc = curl_easy_escape(NULL, rest[0], 0);
  snprintf(path, sizeof path, "/v1/apps/%s/rollback", esc ? esc : rest[0]);
  curl_free(esc);
  int n = version ? snprintf(body, sizeof body, "{\"version\":%lld}", version)
                  : snprintf(body, sizeof body, "{}");
  json_t *res = NULL;
  int code = request(&c, "POST", path, body, (size_t)n, "application/json", &res, false);
  if (code == 0)
    printf("%s: version %lld active (was %lld)\n", rest[0],
           (long long)json_integer_value(json_object_get(res, "active_version")),
           (long long)json_integer_value(json_object_get(res, "previous_version")));
  json_decref(res);
  return code;
}

static const char *rm_help =
    "usage: wisp rm APP [--server URL] [--token-file FILE]\n"
    "\n"
    "Deletes APP: its routes stop being served and its versions are removed.\n"
    "\n"
    "options:\n";

int wisp_cli_rm(int argc, char **argv) {
  client_t c = {.cmd = "rm"};
  char *rest[64];
  int nrest = 0;
  int r = parse_common(&c, argc, argv, rm_help, rest, &nrest, false);
  if (r) return r > 0 ? 0 : r == -2 ? EXIT_LOCAL : EXIT_USAGE;
  if (nrest != 1) {
    fprintf(stderr, "wisp rm: expected one APP\n");
    return EXIT_USAGE;
  }
  char path[600];
  char *esc = curl_easy_escape(NULL, rest[0], 0);
  snprintf(path, sizeof path, "/v1/apps/%s", esc ? esc : rest[0]);
  curl_free(esc);
  json_t *res = NULL;
  int code = request(&c, "DELETE", path, NULL, 0, NULL, &res, false);
  if (code == 0) printf("deleted %s\n", rest[0]);
  json_decref(res);
  return code;
}

static const char *logs_help =
    "usage: wisp logs APP [--follow] [--lines N] [--server URL] [--token-file FILE]\n"
    "\n"
    "Prints APP's recent log lines: guest stderr (tagged with the request id) and\n"
    "access lines. --follow keeps printing new lines until interrupted.\n"
    "\n"
    "options:\n"
    "  -f, --follow         keep streaming new lines\n"
    "  --lines N            how many recent lines (default 100)\n";

int wisp_cli_logs(int argc, char **argv) {
  client_t c = {.cmd = "logs"};
  char *rest[64];
  int nrest = 0;
  int r = parse_common(&c, argc, argv, logs_help, rest, &nrest, true);
  if (r) return r > 0 ? 0 : r == -2 ? EXIT_LOCAL : EXIT_USAGE;
  const char *app = NULL, *lines = "100";
  for (int i = 0; i < nrest; i++) {
    if (strcmp(rest[i], "--lines") == 0) {
      lines = rest[++i];
      continue;
    }
    if (app) {
      fprintf(stderr, "wisp logs: expected one APP\n");
      return EXIT_USAGE;
    }
    app = rest[i];
  }
  char *end;
  long nl = strtol(lines, &end, 10);
  if (!app || *end || nl < 0) {
    fprintf(stderr, "wisp logs: expected APP [--follow] [--lines N] (see wisp logs --help)\n");
    return EXIT_USAGE;
  }
  char path[700];
  char *esc = curl_easy_escape(NULL, app, 0);
  snprintf(path, sizeof path, "/v1/apps/%s/logs?lines=%ld%s", esc ? esc : app, nl,
           c.follow ? "&follow=1" : "");
  curl_free(esc);
  return request(&c, "GET", path, NULL, 0, NULL, NULL, true);
}
