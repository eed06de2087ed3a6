// Sorting: the same generated arrays sorted by a hand-written quicksort (median of three, insertion
// sort for short runs), a top-down mergesort and libc's qsort(), for 32-bit ints and for strings.
// The three results must agree; prints checksums of the sorted data.
// Usage: sort N  -- N ints and N/4 strings.
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t rng = 0x2545f491u;
static uint32_t next_rand(void) {
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

// ---- ints ----

static void insertion_sort_int(int32_t *a, long n) {
    for (long i = 1; i < n; i++) {
        int32_t v = a[i];
        long j = i - 1;
        while (j >= 0 && a[j] > v) {
            a[j + 1] = a[j];
            j--;
        }
        a[j + 1] = v;
    }
}

static void quicksort_int(int32_t *a, long n) {
    while (n > 16) {
        long mid = n / 2;
        // median of three into a[mid]
        if (a[0] > a[mid]) { int32_t t = a[0]; a[0] = a[mid]; a[mid] = t; }
        if (a[mid] > a[n - 1]) { int32_t t = a[mid]; a[mid] = a[n - 1]; a[n - 1] = t; }
        if (a[0] > a[mid]) { int32_t t = a[0]; a[0] = a[mid]; a[mid] = t; }
        int32_t pivot = a[mid];
        long i = 0, j = n - 1;
        for (;;) {
            while (a[i] < pivot) i++;
            while (a[j] > pivot) j--;
            if (i >= j) break;
            int32_t t = a[i]; a[i] = a[j]; a[j] = t;
            i++;
            j--;
        }
        // recurse into the smaller half, loop on the larger
        long left = j + 1;
        if (left < n - left) {
            quicksort_int(a, left);
            a += left;
            n -= left;
        } else {
            quicksort_int(a + left, n - left);
            n = left;
        }
    }
    insertion_sort_int(a, n);
}

static void mergesort_int(int32_t *a, int32_t *tmp, long n) {
    if (n < 2) return;
    long mid = n / 2;
    mergesort_int(a, tmp, mid);
    mergesort_int(a + mid, tmp, n - mid);
    long i = 0, j = mid, k = 0;
    while (i < mid && j < n) tmp[k++] = a[j] < a[i] ? a[j++] : a[i++];
    while (i < mid) tmp[k++] = a[i++];
    while (j < n) tmp[k++] = a[j++];
    memcpy(a, tmp, (size_t)n * sizeof(int32_t));
}

static int cmp_int(const void *pa, const void *pb) {
    int32_t a = *(const int32_t *)pa, b = *(const int32_t *)pb;
    return (a > b) - (a < b);
}

static uint32_t digest_ints(const int32_t *a, long n) {
    uint32_t h = 2166136261u;
    for (long i = 0; i < n; i++) {
        if (i > 0 && a[i - 1] > a[i]) {
            printf("not sorted at %ld\n", i);
            exit(1);
        }
        h = (h ^ (uint32_t)a[i]) * 16777619u;
    }
    return h;
}

// ---- strings ----

static int cmp_str(const void *pa, const void *pb) {
    return strcmp(*(char *const *)pa, *(char *const *)pb);
}

static void quicksort_str(char **a, long n) {
    while (n > 1) {
        char *pivot = a[(n - 1) / 2];  // lower middle: the partition never comes back whole
        long i = 0, j = n - 1;
        for (;;) {
            while (strcmp(a[i], pivot) < 0) i++;
            while (strcmp(a[j], pivot) > 0) j--;
            if (i >= j) break;
            char *t = a[i]; a[i] = a[j]; a[j] = t;
            i++;
            j--;
        }
        long left = j + 1;
        if (left < n - left) {
            quicksort_str(a, left);
            a += left;
            n -= left;
        } else {
            quicksort_str(a + left, n - left);
            n = left;
        }
    }
}

static void mergesort_str(char **a, char **tmp, long n) {
    if (n < 2) return;
    long mid = n / 2;
    mergesort_str(a, tmp, mid);
    mergesort_str(a + mid, tmp, n - mid);
    long i = 0, j = mid, k = 0;
    while (i < mid && j < n) tmp[k++] = strcmp(a[j], a[i]) < 0 ? a[j++] : a[i++];
    while (i < mid) tmp[k++] = a[i++];
    while (j < n) tmp[k++] = a[j++];
    memcpy(a, tmp, (size_t)n * sizeof(char *));
}

static uint32_t digest_strs(char **a, long n) {
    uint32_t h = 2166136261u;
    for (long i = 0; i < n; i++) {
        if (i > 0 && strcmp(a[i - 1], a[i]) > 0) {
            printf("strings not sorted at %ld\n", i);
            exit(1);
        }
        for (const char *p = a[i]; *p; p++) {
            h = (h ^ (uint8_t)*p) * 16777619u;
        }
        h = (h ^ 0xffu) * 16777619u;
    }
    return h;
}

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 10000;
    if (n < 16 || n > 100000000) {
        fprintf(stderr, "usage: sort N (16 <= N <= 100000000)\n");
        return 2;
    }
    int32_t *orig = malloc((size_t)n * sizeof(int32_t));
    int32_t *a = malloc((size_t)n * sizeof(int32_t));
    int32_t *tmp = malloc((size_t)n * sizeof(int32_t));
    if (!orig || !a || !tmp) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    // Ints: mostly random, with a run of duplicates and a sorted stretch to keep it honest.
    for (long i = 0; i < n; i++) {
        uint32_t r = next_rand();
        if (i % 10 == 3) {
            orig[i] = (int32_t)(r % 100);
        } else if (i > n / 2 && i < n / 2 + n / 16) {
            orig[i] = (int32_t)i * 4 - 7;
        } else {
            orig[i] = (int32_t)r;
        }
    }
    memcpy(a, orig, (size_t)n * sizeof(int32_t));
    quicksort_int(a, n);
    uint32_t h_quick = digest_ints(a, n);
    memcpy(a, orig, (size_t)n * sizeof(int32_t));
    mergesort_int(a, tmp, n);
    uint32_t h_merge = digest_ints(a, n);
    memcpy(a, orig, (size_t)n * sizeof(int32_t));
    qsort(a, (size_t)n, sizeof(int32_t), cmp_int);
    uint32_t h_qsort = digest_ints(a, n);
    printf("ints: %ld, min %" PRId32 ", median %" PRId32 ", max %" PRId32 "\n", n, a[0], a[n / 2], a[n - 1]);
    printf("ints: quicksort %08" PRIx32 ", mergesort %08" PRIx32 ", qsort %08" PRIx32 "\n", h_quick, h_merge,
           h_qsort);

    // Strings: N/4 words of 3 to 12 letters from a small alphabet, so prefixes are often shared.
    long m = n / 4;
    char **sorig = malloc((size_t)m * sizeof(char *));
    char **s = malloc((size_t)m * sizeof(char *));
    char **stmp = malloc((size_t)m * sizeof(char *));
    char *pool = malloc((size_t)m * 13);
    if (!sorig || !s || !stmp || !pool) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    for (long i = 0; i < m; i++) {
        char *w = pool + i * 13;
        int len = 3 + (int)(next_rand() % 10);
        for (int k = 0; k < len; k++) {
            w[k] = "etaoinsrhl"[next_rand() % 10];
        }
        w[len] = '\0';
        sorig[i] = w;
    }
    memcpy(s, sorig, (size_t)m * sizeof(char *));
    quicksort_str(s, m);
    uint32_t s_quick = digest_strs(s, m);
    memcpy(s, sorig, (size_t)m * sizeof(char *));
    mergesort_str(s, stmp, m);
    uint32_t s_merge = digest_strs(s, m);
    memcpy(s, sorig, (size_t)m * sizeof(char *));
    qsort(s, (size_t)m, sizeof(char *), cmp_str);
    uint32_t s_qsort = digest_strs(s, m);
    printf("strings: %ld, first %s, median %s, last %s\n", m, s[0], s[m / 2], s[m - 1]);
    printf("strings: quicksort %08" PRIx32 ", mergesort %08" PRIx32 ", qsort %08" PRIx32 "\n", s_quick, s_merge,
           s_qsort);
    int ok = h_quick == h_merge && h_merge == h_qsort && s_quick == s_merge && s_merge == s_qsort;
    printf("%s\n", ok ? "all sorts agree" : "SORTS DISAGREE");
    free(orig);
    free(a);
    free(tmp);
    free(sorig);
    free(s);
    free(stmp);
    free(pool);
    return ok ? 0 : 1;
}
