/* echo_server.c: accepts one connection on the first socket it was handed
 * (wisp run --listen), reads until the peer shuts its side down, sends the
 * bytes back upper-cased and exits. Uses the raw preview1 sock_* calls. */
#include <ctype.h>
#include <stdio.h>
#include <wasi/api.h>

int main(void) {
  __wasi_fd_t listener = 0;
  for (__wasi_fd_t fd = 3; fd < 16 && !listener; fd++) {
    __wasi_fdstat_t st;
    if (__wasi_fd_fdstat_get(fd, &st) == 0 && st.fs_filetype == __WASI_FILETYPE_SOCKET_STREAM) listener = fd;
  }
  if (!listener) {
    fprintf(stderr, "echo_server: no socket handed in\n");
    return 1;
  }
  __wasi_fd_t conn;
  __wasi_errno_t rc = __wasi_sock_accept(listener, 0, &conn);
  if (rc) {
    fprintf(stderr, "echo_server: sock_accept: errno %d\n", rc);
    return 1;
  }
  char buf[4096];
  size_t total = 0;
  for (;;) {
    __wasi_iovec_t iov = {(uint8_t *)buf + total, sizeof buf - total};
    __wasi_size_t n;
    __wasi_roflags_t flags;
    rc = __wasi_sock_recv(conn, &iov, 1, 0, &n, &flags);
    if (rc) {
      fprintf(stderr, "echo_server: sock_recv: errno %d\n", rc);
      return 1;
    }
    if (n == 0 || total + n == sizeof buf) break;
    total += n;
  }
  for (size_t i = 0; i < total; i++) buf[i] = (char)toupper((unsigned char)buf[i]);
  __wasi_ciovec_t out = {(const uint8_t *)buf, total};
  __wasi_size_t sent;
  rc = __wasi_sock_send(conn, &out, 1, 0, &sent);
  if (rc || sent != total) {
    fprintf(stderr, "echo_server: sock_send: errno %d\n", rc);
    return 1;
  }
  rc = __wasi_sock_shutdown(conn, __WASI_SDFLAGS_WR);
  printf("echoed %zu bytes, shutdown %d\n", total, rc);
  return 0;
}
