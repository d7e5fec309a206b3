/* diff_files.c: file I/O through libc and POSIX calls (differential test). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void show(const char *what, int rc) {
  printf("%s: %d%s%s\n", what, rc, rc < 0 ? " " : "", rc < 0 ? strerror(errno) : "");
}

int main(void) {
  char buf[128];
  FILE *f = fopen("/hello.txt", "r");
  printf("fopen hello: %s\n", f ? "ok" : strerror(errno));
  if (f && fgets(buf, sizeof buf, f)) printf("read: %s", buf);
  if (f) fclose(f);

  f = fopen("/new.txt", "w");
  printf("fopen new w: %s\n", f ? "ok" : strerror(errno));
  if (f) {
    fprintf(f, "first line\nsecond line\n");
    fclose(f);
  }
  f = fopen("/new.txt", "a");
  if (f) {
    fputs("appended\n", f);
    fclose(f);
  }
  f = fopen("/new.txt", "r+");
  if (f) {
    fseek(f, 6, SEEK_SET);
    fputs("LINE", f);
    fseek(f, 0, SEEK_END);
    printf("size by ftell: %ld\n", ftell(f));
    rewind(f);
    while (fgets(buf, sizeof buf, f)) printf("> %s", buf);
    fclose(f);
  }

  int fd = open("/sub/data.bin", O_RDWR);
  show("open data.bin", fd < 0 ? -1 : 0);
  ssize_t n = pread(fd, buf, 4, 10);
  printf("pread 4@10: %zd [%.4s]\n", n, buf);
  n = pwrite(fd, "XY", 2, 3);
  printf("pwrite 2@3: %zd\n", n);
  printf("lseek end: %ld\n", (long)lseek(fd, 0, SEEK_END));
  printf("lseek cur-5: %ld\n", (long)lseek(fd, -5, SEEK_CUR));
  n = read(fd, buf, sizeof buf);
  printf("read rest: %zd [%.*s]\n", n, (int)n, buf);
  show("ftruncate 8", ftruncate(fd, 8));
  struct stat st;
  show("fstat", fstat(fd, &st));
  printf("size %lld regular %d\n", (long long)st.st_size, S_ISREG(st.st_mode));
  close(fd);

  show("stat missing", stat("/missing", &st));
  show("open missing", open("/missing", O_RDONLY));
  show("open excl existing", open("/hello.txt", O_CREAT | O_EXCL | O_WRONLY, 0644));
  show("rename new -> sub/moved", rename("/new.txt", "/sub/moved.txt"));
  show("unlink sub/remove_me.txt", unlink("/sub/remove_me.txt"));
  show("unlink again", unlink("/sub/remove_me.txt"));
  show("stat moved", stat("/sub/moved.txt", &st));
  printf("moved size %lld\n", (long long)st.st_size);
  show("write to read-only fd", (int)write(open("/hello.txt", O_RDONLY), "x", 1));
  return 0;
}
