/* diff_stat.c: stat fields, times, truncation and append positions
 * (differential test; prints only what every host reports alike). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void show(const char *what, int rc) {
  printf("%s: %d%s%s\n", what, rc, rc < 0 ? " " : "", rc < 0 ? strerror(errno) : "");
}

static void kind(const char *path) {
  struct stat st;
  if (lstat(path, &st) < 0) {
    printf("lstat %s: %s\n", path, strerror(errno));
    return;
  }
  printf("%s: reg %d dir %d lnk %d size %lld\n", path, S_ISREG(st.st_mode), S_ISDIR(st.st_mode),
         S_ISLNK(st.st_mode), S_ISREG(st.st_mode) ? (long long)st.st_size : -1LL);
}

int main(void) {
  kind("/hello.txt");
  kind("/sub");
  kind("/sub/data.bin");
  kind("/nothing");
  show("symlink", symlink("hello.txt", "/hl"));
  kind("/hl");

  /* Whole seconds: Node's node:wasi drops the nanoseconds of times it sets
   * (wisp keeps them; tests/wasi/test_wasi_host.c checks that). */
  struct timespec times[2] = {{1000000000, 0}, {1200000000, 0}};
  show("utimensat", utimensat(AT_FDCWD, "/hello.txt", times, 0));
  struct stat st;
  show("stat", stat("/hello.txt", &st));
  printf("atime %lld.%09ld mtime %lld.%09ld\n", (long long)st.st_atim.tv_sec, st.st_atim.tv_nsec,
         (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
  struct timespec omit[2] = {{0, UTIME_OMIT}, {5, 0}};
  show("utimensat omit atime", utimensat(AT_FDCWD, "/hello.txt", omit, 0));
  stat("/hello.txt", &st);
  printf("atime kept %d mtime %lld\n", st.st_atim.tv_sec == 1000000000, (long long)st.st_mtim.tv_sec);

  int fd = open("/app.log", O_CREAT | O_WRONLY | O_APPEND, 0644);
  show("open append", fd < 0 ? -1 : 0);
  write(fd, "one\n", 4);
  lseek(fd, 0, SEEK_SET);
  write(fd, "two\n", 4);
  printf("offset after append writes: %lld\n", (long long)lseek(fd, 0, SEEK_CUR));
  fstat(fd, &st);
  printf("append size %lld\n", (long long)st.st_size);
  close(fd);

  fd = open("/hello.txt", O_RDWR);
  show("ftruncate grow", ftruncate(fd, 40));
  fstat(fd, &st);
  printf("grown size %lld\n", (long long)st.st_size);
  char buf[64];
  ssize_t n = pread(fd, buf, sizeof buf, 20);
  printf("pread past old end: %zd, zeros %d\n", n, n > 5 && buf[4] == 0);
  show("ftruncate shrink", ftruncate(fd, 5));
  n = pread(fd, buf, sizeof buf, 0);
  printf("after shrink: %zd [%.*s]\n", n, (int)n, buf);
  n = pread(fd, buf, sizeof buf, 100);
  printf("pread past end: %zd\n", n);
  close(fd);

  fd = open("/sub", O_RDONLY | O_DIRECTORY);
  show("open dir", fd < 0 ? -1 : 0);
  show("read dir", (int)read(fd, buf, sizeof buf));
  close(fd);
  show("open dir for writing", open("/sub", O_WRONLY));
  show("O_DIRECTORY on a file", open("/hello.txt", O_RDONLY | O_DIRECTORY));
  show("O_CREAT|O_EXCL new", open("/fresh", O_CREAT | O_EXCL | O_WRONLY, 0644) < 0 ? -1 : 0);
  show("O_TRUNC existing", open("/sub/data.bin", O_TRUNC | O_WRONLY) < 0 ? -1 : 0);
  stat("/sub/data.bin", &st);
  printf("truncated size %lld\n", (long long)st.st_size);
  return 0;
}
