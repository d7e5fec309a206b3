/* loop.c: a function that never answers: it spins forever. The server stops
 * it at its CPU limit (504) while every other route keeps answering. */
int main(void) {
  volatile unsigned long n = 0;
  for (;;) n++;
}
