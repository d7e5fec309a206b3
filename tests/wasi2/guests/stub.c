/* stub: calls link(), which the adapter turns into
 * wasi:filesystem/types#[method]descriptor.link-at: not implemented by the host
 * yet, so the component traps naming it. */
#include <stdio.h>
#include <unistd.h>

int main(void) {
  printf("link: %d\n", link("ro/hello.txt", "ro/hello2.txt"));
  return 0;
}
