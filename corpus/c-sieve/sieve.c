// Sieve of Eratosthenes, repeated: tight integer loops over a byte array and a bit array.
// Usage: sieve N  -- counts the primes below N, N-1000, N-2000, ... (8 rounds, alternating a byte
// sieve and a bit sieve), and prints each count, the largest prime found and a checksum.
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t byte_sieve(uint8_t *composite, uint32_t limit, uint32_t *largest, uint64_t *sum) {
    memset(composite, 0, limit);
    uint32_t count = 0;
    for (uint32_t i = 2; i < limit; i++) {
        if (!composite[i]) {
            count++;
            *largest = i;
            *sum += i;
            for (uint64_t j = (uint64_t)i * i; j < limit; j += i) {
                composite[j] = 1;
            }
        }
    }
    return count;
}

static uint32_t bit_sieve(uint32_t *bits, uint32_t limit, uint32_t *largest, uint64_t *sum) {
    memset(bits, 0, ((limit + 31) / 32) * sizeof(uint32_t));
    uint32_t count = 0;
    for (uint32_t i = 2; i < limit; i++) {
        if (!(bits[i >> 5] & (1u << (i & 31)))) {
            count++;
            *largest = i;
            *sum += (uint64_t)i * (count & 7);
            for (uint64_t j = (uint64_t)i * i; j < limit; j += i) {
                bits[j >> 5] |= 1u << (j & 31);
            }
        }
    }
    return count;
}

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 100000;
    if (n < 10000 || n > 200000000) {
        fprintf(stderr, "usage: sieve N (10000 <= N <= 200000000)\n");
        return 2;
    }
    uint32_t limit = (uint32_t)n;
    uint8_t *composite = malloc(limit);
    uint32_t *bits = malloc(((limit + 31) / 32) * sizeof(uint32_t));
    if (!composite || !bits) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    uint64_t checksum = 0;
    for (uint32_t round = 0; round < 8; round++) {
        uint32_t lim = limit - round * 1000;
        uint32_t largest = 0;
        uint64_t sum = 0;
        uint32_t count = (round & 1) ? bit_sieve(bits, lim, &largest, &sum)
                                     : byte_sieve(composite, lim, &largest, &sum);
        printf("%s sieve below %" PRIu32 ": %" PRIu32 " primes, largest %" PRIu32 ", sum %" PRIu64 "\n",
               (round & 1) ? "bit " : "byte", lim, count, largest, sum);
        checksum = checksum * 1000003u + count + sum;
    }
    printf("checksum = %016" PRIx64 "\n", checksum);
    free(composite);
    free(bits);
    return 0;
}
