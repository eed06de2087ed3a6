/* One long loop in main and nothing else: the shape that needs on-stack replacement. A function
 * entered once never gets hot by calls, so only a tier that can move a running loop into compiled
 * code runs it fast. Integer work per iteration: an xorshift generator, a remainder, a multiply
 * and a rotate, all dependent, so no compiler can skip iterations. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 100000000;
    uint32_t x = 2463534242u, acc = 0;
    for (long i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        acc += (x % 1000u) * (uint32_t)i;
        acc = (acc << 3) | (acc >> 29);
    }
    printf("%ld iterations: %u\n", n, acc);
    return 0;
}
