// Naive (unblocked) dense matrix multiply of doubles, C = A * B, plus a streaming triad over the
// result: memory-bound loops. At the default size each matrix is 800 x 800 doubles (5 MB), so the
// column walk over B misses every cache level. Usage: matmul N  -- N x N matrices.
// Every product and sum is exact in double precision (small integers), so the digest is exact.
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

static uint32_t rng_state = 12345;

static uint32_t next_rand(void) {
    rng_state = rng_state * 1103515245u + 12345u;
    return rng_state >> 16;
}

// Naive i-j-k order: the inner loop walks a column of B with a stride of N doubles.
static void matmul(int n, const double *a, const double *b, double *c) {
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < n; j++) {
            double sum = 0.0;
            for (int k = 0; k < n; k++) {
                sum += a[(size_t)i * n + k] * b[(size_t)k * n + j];
            }
            c[(size_t)i * n + j] = sum;
        }
    }
}

// Streaming triad and transpose-add: touch every element of the three arrays, several passes.
static double stream(int n, double *a, const double *b, const double *c) {
    size_t len = (size_t)n * n;
    for (int pass = 0; pass < 4; pass++) {
        for (size_t i = 0; i < len; i++) {
            a[i] = b[i] + 0.5 * c[i];
        }
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                a[(size_t)i * n + j] -= b[(size_t)j * n + i];
            }
        }
    }
    double total = 0.0;
    for (size_t i = 0; i < len; i++) {
        total += a[i];
    }
    return total;
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 64;
    if (n < 4 || n > 2048) {
        fprintf(stderr, "usage: matmul N (4 <= N <= 2048)\n");
        return 2;
    }
    size_t len = (size_t)n * n;
    double *a = malloc(len * sizeof(double));
    double *b = malloc(len * sizeof(double));
    double *c = malloc(len * sizeof(double));
    if (!a || !b || !c) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < len; i++) {
        a[i] = (double)((int)(next_rand() % 33) - 16);
        b[i] = (double)((int)(next_rand() % 33) - 16);
    }
    matmul(n, a, b, c);
    double trace = 0.0, total = 0.0, weighted = 0.0;
    for (int i = 0; i < n; i++) {
        trace += c[(size_t)i * n + i];
        for (int j = 0; j < n; j++) {
            total += c[(size_t)i * n + j];
            weighted += c[(size_t)i * n + j] * (double)((i * 7 + j * 3) % 11);
        }
    }
    printf("n = %d\n", n);
    printf("trace = %.1f\n", trace);
    printf("sum = %.1f\n", total);
    printf("weighted = %.1f\n", weighted);
    printf("c[0][0] = %.1f, c[n-1][n-1] = %.1f, c[n/2][n/3] = %.1f\n", c[0], c[len - 1],
           c[(size_t)(n / 2) * n + n / 3]);
    printf("stream = %.1f\n", stream(n, a, b, c));
    free(a);
    free(b);
    free(c);
    return 0;
}
