/*
 * fib.c: the smallest wisp example: a module with no imports and one export.
 *
 *   scripts/build-guest.sh --nolibc --export fib -o fib.wasm examples/fib.c
 *   wisp run --invoke fib fib.wasm 25        # prints 75025
 *
 * The naive recursion is deliberate: fib(25) makes about 250,000 calls, enough
 * to exercise the interpreter's call path and to time it.
 */
int fib(int n) {
  if (n < 2) return n;
  return fib(n - 1) + fib(n - 2);
}
