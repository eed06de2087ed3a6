// String processing and hashing: generates words from a seeded PRNG (syllables with a skewed
// distribution), counts them in an open-addressing hash table (FNV-1a, linear probing, growing),
// then prints the distinct count, the top 10 words and a digest over all counts.
// Usage: hash N  -- generates N words.
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng = 0x853c49e6748fea9bull;
static uint32_t next_rand(void) {
    // PCG-style step (xorshift output), 64-bit state.
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    uint64_t x = rng;
    return (uint32_t)((x ^ (x >> 22)) >> (22 + (x >> 61)));
}

static const char *const syllables[] = {
    "ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "zen", "qua", "ber", "dor", "fi", "gul", "hex",
    "jo", "pra", "sto", "tra", "wi", "xy", "yel", "bo", "ca", "de", "el", "ix", "on", "um", "ash",
};
#define NSYL (sizeof(syllables) / sizeof(syllables[0]))

struct entry {
    char *word;      // NULL = empty slot
    uint32_t hash;
    uint32_t count;
};

static struct entry *table;
static uint32_t capacity, used;

static uint32_t fnv1a(const char *s, size_t len) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++) {
        h ^= (uint8_t)s[i];
        h *= 16777619u;
    }
    return h;
}

static void insert_entry(struct entry *tab, uint32_t cap, struct entry e) {
    uint32_t i = e.hash & (cap - 1);
    while (tab[i].word) {
        i = (i + 1) & (cap - 1);
    }
    tab[i] = e;
}

static void grow(void) {
    uint32_t new_cap = capacity * 2;
    struct entry *new_tab = calloc(new_cap, sizeof(struct entry));
    if (!new_tab) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    for (uint32_t i = 0; i < capacity; i++) {
        if (table[i].word) {
            insert_entry(new_tab, new_cap, table[i]);
        }
    }
    free(table);
    table = new_tab;
    capacity = new_cap;
}

static void count_word(const char *w, size_t len) {
    uint32_t h = fnv1a(w, len);
    uint32_t i = h & (capacity - 1);
    while (table[i].word) {
        if (table[i].hash == h && memcmp(table[i].word, w, len) == 0 && table[i].word[len] == '\0') {
            table[i].count++;
            return;
        }
        i = (i + 1) & (capacity - 1);
    }
    char *copy = malloc(len + 1);
    if (!copy) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    memcpy(copy, w, len);
    copy[len] = '\0';
    table[i] = (struct entry){copy, h, 1};
    if (++used * 4 > capacity * 3) {
        grow();
    }
}

// Top entries: most counted first, ties broken by the word, so the order is total.
static int by_count_then_word(const void *pa, const void *pb) {
    const struct entry *a = pa, *b = pb;
    if (a->count != b->count) {
        return a->count > b->count ? -1 : 1;
    }
    return strcmp(a->word, b->word);
}

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 10000;
    if (n < 1 || n > 1000000000) {
        fprintf(stderr, "usage: hash N (1 <= N <= 1000000000)\n");
        return 2;
    }
    capacity = 1024;
    table = calloc(capacity, sizeof(struct entry));
    if (!table) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    char buf[64];
    uint64_t total_len = 0;
    for (long k = 0; k < n; k++) {
        // 1 to 4 syllables; low syllable indices are much more likely (min of two draws).
        uint32_t r = next_rand();
        int nsyl = 1 + (int)(r % 4);
        size_t len = 0;
        for (int s = 0; s < nsyl; s++) {
            uint32_t a = next_rand() % NSYL, b = next_rand() % NSYL;
            const char *syl = syllables[a < b ? a : b];
            size_t sl = strlen(syl);
            memcpy(buf + len, syl, sl);
            len += sl;
        }
        // Words are lower case; every 7th gets an upper-case first letter, folded back here.
        if (r % 7 == 0) {
            buf[0] = (char)(buf[0] - 'a' + 'A');
        }
        if (buf[0] >= 'A' && buf[0] <= 'Z') {
            buf[0] = (char)(buf[0] - 'A' + 'a');
        }
        buf[len] = '\0';
        total_len += len;
        count_word(buf, len);
    }
    struct entry *all = malloc(used * sizeof(struct entry));
    uint32_t m = 0;
    uint32_t digest = 0;
    for (uint32_t i = 0; i < capacity; i++) {
        if (table[i].word) {
            all[m++] = table[i];
            digest += table[i].hash * (table[i].count | 1);  // order-independent
        }
    }
    qsort(all, m, sizeof(struct entry), by_count_then_word);
    printf("words = %ld, letters = %" PRIu64 ", distinct = %" PRIu32 ", table = %" PRIu32 "\n", n, total_len, m,
           capacity);
    for (uint32_t i = 0; i < m && i < 10; i++) {
        printf("%2" PRIu32 ". %-14s %" PRIu32 "\n", i + 1, all[i].word, all[i].count);
    }
    uint32_t singles = 0;
    for (uint32_t i = 0; i < m; i++) {
        singles += all[i].count == 1;
    }
    printf("seen once = %" PRIu32 ", digest = %08" PRIx32 "\n", singles, digest);
    for (uint32_t i = 0; i < capacity; i++) {
        free(table[i].word);
    }
    free(all);
    free(table);
    return 0;
}
