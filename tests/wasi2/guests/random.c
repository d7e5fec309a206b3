/* random: two 32-byte draws from getentropy differ and are not all zero. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void) {
  unsigned char a[32], b[32], zero[32] = {0};
  if (getentropy(a, sizeof a) || getentropy(b, sizeof b)) {
    printf("getentropy failed\n");
    return 1;
  }
  if (!memcmp(a, b, sizeof a) || !memcmp(a, zero, sizeof a)) {
    printf("not random\n");
    return 1;
  }
  printf("random ok\n");
  return 0;
}
