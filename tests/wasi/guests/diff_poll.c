/* diff_poll.c: sleeping through poll() with a timeout, stdout writability and
 * reading stdin to the end (differential test). */
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

int main(void) {
  /* Node's node:wasi refuses fd subscriptions on stdin and files (poll returns
   * -1), so readiness of those is tested by wasi-testsuite, not here. */
  int fd = open("/hello.txt", O_RDONLY);
  int n;
  char buf[256];
  ssize_t got, total = 0;
  while ((got = read(0, buf, sizeof buf)) > 0) total += got;
  printf("stdin total %zd, last read %zd\n", total, got);
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  n = poll(NULL, 0, 30);
  clock_gettime(CLOCK_MONOTONIC, &b);
  long ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
  printf("poll sleep: %d, at least 30 ms %d\n", n, ms >= 29);
  struct pollfd w = {.fd = 1, .events = POLLOUT};
  printf("stdout writable: %d %d\n", poll(&w, 1, 1000), (w.revents & POLLOUT) != 0);
  close(fd);
  return 0;
}
