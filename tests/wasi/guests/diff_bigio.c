/* diff_bigio.c: large and scattered I/O: a 300 KB file written in odd-sized
 * pieces, read back with readv, checksummed (differential test). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

int main(void) {
  enum { SIZE = 300000 };
  unsigned char *data = malloc(SIZE);
  for (int i = 0; i < SIZE; i++) data[i] = (unsigned char)(i * 7 + i / 251);
  int fd = open("/big.bin", O_CREAT | O_TRUNC | O_RDWR, 0644);
  size_t off = 0, piece = 1;
  while (off < SIZE) {
    size_t n = piece > SIZE - off ? SIZE - off : piece;
    if (write(fd, data + off, n) != (ssize_t)n) { printf("short write\n"); return 1; }
    off += n;
    piece = piece * 3 % 40009 + 1;
  }
  lseek(fd, 0, SEEK_SET);
  unsigned char *back = calloc(1, SIZE);
  struct iovec iov[3] = {{back, 1000}, {back + 1000, 99000}, {back + 100000, 200000}};
  ssize_t total = 0, n;
  while (total < SIZE && (n = readv(fd, iov, 3)) > 0) {
    total += n;
    /* advance the iovecs past what was read */
    ssize_t skip = n;
    for (int i = 0; i < 3; i++) {
      size_t take = (size_t)skip < iov[i].iov_len ? (size_t)skip : iov[i].iov_len;
      iov[i].iov_base = (char *)iov[i].iov_base + take;
      iov[i].iov_len -= take;
      skip -= (ssize_t)take;
    }
  }
  unsigned long sum = 0;
  int same = 1;
  for (int i = 0; i < SIZE; i++) {
    sum = sum * 31 + back[i];
    if (back[i] != data[i]) same = 0;
  }
  printf("read %zd bytes, identical %d, checksum %lu\n", total, same, sum);
  FILE *f = fopen("/lines.txt", "w");
  for (int i = 0; i < 5000; i++) fprintf(f, "line %d %s\n", i, i % 7 ? "" : "seventh");
  fclose(f);
  f = fopen("/lines.txt", "r");
  char line[64];
  int lines = 0, sevenths = 0;
  while (fgets(line, sizeof line, f)) {
    lines++;
    if (line[0] && strstr(line, "seventh")) sevenths++;
  }
  fclose(f);
  printf("lines %d sevenths %d\n", lines, sevenths);
  return 0;
}
