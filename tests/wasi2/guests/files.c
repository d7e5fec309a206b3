/* files: reads, stats and lists a read-only preopen "ro", is refused outside it
 * and when writing to it, and writes, appends and reads back in the writable
 * preopen "rw". Directory entries are printed sorted ("." and ".." left out:
 * their order is the host's). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void cat(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) {
    printf("open %s: %s\n", path, strerror(errno));
    return;
  }
  char buf[512];
  size_t n = fread(buf, 1, sizeof buf, f);
  fclose(f);
  printf("%s (%zu bytes):\n%.*s", path, n, (int)n, buf);
}

static void list(const char *path) {
  DIR *d = opendir(path);
  if (!d) {
    printf("opendir %s: %s\n", path, strerror(errno));
    return;
  }
  char *names[64];
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) && n < 64)
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) names[n++] = strdup(e->d_name);
  closedir(d);
  qsort(names, (size_t)n, sizeof names[0], cmp);
  for (int i = 0; i < n; i++) {
    char full[256];
    struct stat st;
    snprintf(full, sizeof full, "%s/%s", path, names[i]);
    if (stat(full, &st) == 0)
      printf("  %s %s %lld\n", names[i], S_ISDIR(st.st_mode) ? "dir" : "file",
             S_ISDIR(st.st_mode) ? 0LL : (long long)st.st_size);
    free(names[i]);
  }
}

int main(void) {
  cat("ro/hello.txt");
  cat("ro/sub/nested.txt");
  cat("ro/missing.txt");
  printf("ro:\n");
  list("ro");
  FILE *f = fopen("ro/../../etc/passwd", "r");
  printf("escape: %s\n", f ? "opened (wrong)" : "refused");
  f = fopen("/etc/passwd", "r");
  printf("absolute: %s\n", f ? "opened (wrong)" : "refused");
  f = fopen("ro/new.txt", "w");
  printf("write in ro: %s\n", f ? "opened (wrong)" : strerror(errno));
  f = fopen("rw/out.txt", "w");
  if (!f) {
    printf("rw/out.txt: %s\n", strerror(errno));
    return 1;
  }
  fputs("one\n", f);
  fclose(f);
  f = fopen("rw/out.txt", "a");
  if (!f) {
    printf("rw/out.txt append: %s\n", strerror(errno));
    return 1;
  }
  fputs("two\n", f);
  fclose(f);
  cat("rw/out.txt");
  /* directories, renames, links, truncation, removal */
  printf("mkdir: %d\n", mkdir("rw/d", 0777));
  printf("mkdir again: %s\n", mkdir("rw/d", 0777) ? strerror(errno) : "ok (wrong)");
  printf("rename: %d\n", rename("rw/out.txt", "rw/d/moved.txt"));
  printf("symlink: %d\n", symlink("d/moved.txt", "rw/link"));
  char target[64];
  ssize_t n = readlink("rw/link", target, sizeof target);
  printf("readlink: %.*s\n", n > 0 ? (int)n : 0, target);
  cat("rw/link");
  printf("rmdir non-empty: %s\n", rmdir("rw/d") ? strerror(errno) : "ok (wrong)");
  printf("truncate: %d\n", truncate("rw/d/moved.txt", 2));
  struct timespec times[2] = {{1000000000, 5}, {1234567890, 0}};
  struct stat st;
  printf("utimensat: %d\n", utimensat(AT_FDCWD, "rw/d/moved.txt", times, 0));
  if (stat("rw/d/moved.txt", &st) == 0) printf("mtime: %lld\n", (long long)st.st_mtim.tv_sec);
  printf("utimensat in ro: %s\n",
         utimensat(AT_FDCWD, "ro/hello.txt", times, 0) ? strerror(errno) : "ok (wrong)");
  cat("rw/d/moved.txt");
  printf("rw:\n");
  list("rw");
  printf("hard link: %d\n", link("rw/d/moved.txt", "rw/hard"));
  cat("rw/hard");
  printf("hard link in ro: %s\n", link("ro/hello.txt", "ro/h2") ? strerror(errno) : "ok (wrong)");
  printf("unlink hard: %d\n", unlink("rw/hard"));
  printf("unlink link: %d\n", unlink("rw/link"));
  printf("unlink file: %d\n", unlink("rw/d/moved.txt"));
  printf("rmdir: %d\n", rmdir("rw/d"));
  printf("mkdir in ro: %s\n", mkdir("ro/x", 0777) ? strerror(errno) : "ok (wrong)");
  printf("unlink in ro: %s\n", unlink("ro/hello.txt") ? strerror(errno) : "ok (wrong)");
  printf("rw after:\n");
  list("rw");
  return 0;
}
