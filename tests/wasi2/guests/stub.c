/* stub: calls utimensat, which the adapter turns into
 * wasi:filesystem/types#[method]descriptor.set-times-at: not implemented by the
 * host yet, so the component traps naming it (the core module succeeds). */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

int main(void) {
  printf("set-times: %d\n", utimensat(AT_FDCWD, "ro/hello.txt", NULL, 0));
  return 0;
}
