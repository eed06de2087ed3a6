// Naive recursive Fibonacci: a call-and-return benchmark (deep recursion, tiny frames).
// Usage: fib N  -- prints fib(k) for k = N-4..N and the number of calls made for fib(N).
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

static uint64_t calls;

__attribute__((noinline)) static uint64_t fib(uint32_t n) {
    calls++;
    if (n < 2) {
        return n;
    }
    return fib(n - 1) + fib(n - 2);
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 30;
    if (n < 4 || n > 90) {
        fprintf(stderr, "usage: fib N (4 <= N <= 90)\n");
        return 2;
    }
    uint64_t sum = 0;
    for (int k = n - 4; k <= n; k++) {
        calls = 0;
        uint64_t f = fib((uint32_t)k);
        sum += f;
        printf("fib(%d) = %" PRIu64 " (%" PRIu64 " calls)\n", k, f, calls);
    }
    printf("sum = %" PRIu64 "\n", sum);
    return 0;
}
