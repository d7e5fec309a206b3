/* diff_dirs.c: directories, listing, symlinks (differential test). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void show(const char *what, int rc) {
  printf("%s: %d%s%s\n", what, rc, rc < 0 ? " " : "", rc < 0 ? strerror(errno) : "");
}

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void list(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) {
    printf("opendir %s: %s\n", dir, strerror(errno));
    return;
  }
  char *names[64];
  int n = 0;
  struct dirent *de;
  while ((de = readdir(d)) && n < 64) {
    if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
    char line[300];
    snprintf(line, sizeof line, "%s type=%d", de->d_name, de->d_type);
    names[n++] = strdup(line);
  }
  closedir(d);
  qsort(names, (size_t)n, sizeof names[0], cmp);
  printf("%s:\n", dir);
  for (int i = 0; i < n; i++) {
    printf("  %s\n", names[i]);
    free(names[i]);
  }
}

int main(void) {
  list("/");
  show("mkdir /a", mkdir("/a", 0755));
  show("mkdir /a again", mkdir("/a", 0755));
  show("mkdir /a/b", mkdir("/a/b", 0755));
  show("mkdir /missing/x", mkdir("/missing/x", 0755));
  FILE *f = fopen("/a/b/file", "w");
  if (f) {
    fputs("nested", f);
    fclose(f);
  }
  show("symlink b/file <- /a/link", symlink("b/file", "/a/link"));
  char target[64] = {0};
  ssize_t n = readlink("/a/link", target, sizeof target - 1);
  printf("readlink: %zd %s\n", n, n >= 0 ? target : strerror(errno));
  struct stat st;
  show("lstat link", lstat("/a/link", &st));
  printf("is link %d\n", S_ISLNK(st.st_mode));
  show("stat link", stat("/a/link", &st));
  printf("follows to file of size %lld\n", (long long)st.st_size);
  list("/a");
  show("rmdir non-empty /a", rmdir("/a"));
  show("rmdir file", rmdir("/hello.txt"));
  show("unlink dir", unlink("/a/b"));
  show("chdir /a", chdir("/a"));
  f = fopen("b/file", "r");
  printf("relative open after chdir: %s\n", f ? "ok" : strerror(errno));
  if (f) fclose(f);
  show("unlink /a/b/file", unlink("/a/b/file"));
  show("rmdir /a/b", rmdir("/a/b"));
  show("rename /a -> /renamed", rename("/a", "/renamed"));
  list("/");
  list("/renamed");
  return 0;
}
