/* pollwait: polls stdin for 100 ms and says whether it was readable, then
 * sleeps 5 s (for --timeout: the sleep is cut at the deadline). */
#include <poll.h>
#include <stdio.h>
#include <time.h>

int main(void) {
  struct pollfd p = {.fd = 0, .events = POLLIN};
  int n = poll(&p, 1, 100);
  printf("poll: %d readable: %d\n", n, (p.revents & POLLIN) != 0);
  fflush(stdout);
  struct timespec d = {5, 0};
  nanosleep(&d, NULL);
  printf("woke\n");
  return 0;
}
