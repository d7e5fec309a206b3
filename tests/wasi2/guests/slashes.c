/* slashes.c: paths with a trailing slash in the writable preopen "rw": each
 * call's result (0 or strerror) is printed, so that the core module (the
 * preview1 host) and the component (the WASI 0.2 host) must agree on every rule. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void show(const char *what, int rc) { printf("%s: %s\n", what, rc ? strerror(errno) : "0"); }

int main(void) {
  struct stat st;
  char buf[64];
  int fd = open("rw/s_file", O_WRONLY | O_CREAT | O_TRUNC, 0666);
  if (fd < 0) {
    printf("create rw/s_file: %s\n", strerror(errno));
    return 1;
  }
  close(fd);
  show("mkdir s_dir", mkdir("rw/s_dir", 0777));
  show("symlink s_link", symlink("s_file", "rw/s_link"));
  show("stat file/", stat("rw/s_file/", &st));
  show("stat dir/", stat("rw/s_dir/", &st));
  show("lstat missing/", lstat("rw/s_none/", &st));
  show("open file/", (fd = open("rw/s_file/", O_RDONLY)) < 0 ? -1 : close(fd));
  show("readlink link/", readlink("rw/s_link/", buf, sizeof buf) < 0 ? -1 : 0);
  show("unlink file/", unlink("rw/s_file/"));
  show("unlink dir/", unlink("rw/s_dir/"));
  show("unlink missing/", unlink("rw/s_none/"));
  show("link file/ x", link("rw/s_file/", "rw/s_x"));
  show("link file x/", link("rw/s_file", "rw/s_x/"));
  show("link dir/ x", link("rw/s_dir/", "rw/s_x"));
  show("symlink to x/", symlink("s_file", "rw/s_x/"));
  show("symlink to file/", symlink("s_file", "rw/s_file/"));
  show("rename file/ y", rename("rw/s_file/", "rw/s_y"));
  show("rename file y/", rename("rw/s_file", "rw/s_y/"));
  show("rename dir/ d2/", rename("rw/s_dir/", "rw/s_d2/"));
  show("rmdir link/", rmdir("rw/s_link/"));
  show("rmdir d2/", rmdir("rw/s_d2/"));
  show("unlink link", unlink("rw/s_link"));
  show("unlink file", unlink("rw/s_file"));
  return 0;
}
