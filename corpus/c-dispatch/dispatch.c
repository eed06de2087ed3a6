// Shape simulation through function-pointer tables: every operation on a shape is an indirect call
// through its class's vtable, and a visitor table picks the pass to run, so nearly every call is a
// call_indirect on small functions. Integer (fixed-point) arithmetic only.
// Usage: dispatch STEPS  -- runs STEPS simulation steps over 1024 shapes of 8 kinds.
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#define NSHAPES 1024
#define NKINDS 8

struct shape;

struct shape_class {
    const char *name;
    int64_t (*area)(const struct shape *);
    int64_t (*perimeter)(const struct shape *);
    void (*move)(struct shape *, int32_t dx, int32_t dy);
    void (*scale)(struct shape *, int32_t num, int32_t den);
    uint32_t (*hash)(const struct shape *, uint32_t seed);
};

struct shape {
    const struct shape_class *cls;
    int32_t x, y;   // position
    int32_t a, b;   // dimensions (meaning depends on the class)
};

static uint32_t mix(uint32_t h, uint32_t v) {
    h ^= v;
    h *= 0x01000193u;
    return h ^ (h >> 15);
}

static int32_t clamp_dim(int64_t v) {
    if (v < 1) return 1;
    if (v > 4096) return (int32_t)(v % 4096) + 1;
    return (int32_t)v;
}

static void move_generic(struct shape *s, int32_t dx, int32_t dy) {
    s->x = (s->x + dx) & 0xffff;
    s->y = (s->y + dy) & 0xffff;
}
static void move_diagonal(struct shape *s, int32_t dx, int32_t dy) {
    int32_t d = (dx + dy) / 2;
    s->x = (s->x + d) & 0xffff;
    s->y = (s->y + d) & 0xffff;
}
static void move_bounce(struct shape *s, int32_t dx, int32_t dy) {
    s->x = (s->x - dx) & 0xffff;
    s->y = (s->y + dy) & 0xffff;
}
static void scale_both(struct shape *s, int32_t num, int32_t den) {
    s->a = clamp_dim((int64_t)s->a * num / den);
    s->b = clamp_dim((int64_t)s->b * num / den);
}
static void scale_first(struct shape *s, int32_t num, int32_t den) {
    s->a = clamp_dim((int64_t)s->a * num / den);
}
static void scale_swap(struct shape *s, int32_t num, int32_t den) {
    int32_t t = s->a;
    s->a = clamp_dim((int64_t)s->b * num / den);
    s->b = t;
}
static uint32_t hash_pos(const struct shape *s, uint32_t seed) {
    return mix(mix(seed, (uint32_t)s->x), (uint32_t)s->y);
}
static uint32_t hash_all(const struct shape *s, uint32_t seed) {
    return mix(mix(mix(mix(seed, (uint32_t)s->x), (uint32_t)s->y), (uint32_t)s->a), (uint32_t)s->b);
}

// Circle: a = radius. pi ~ 355/113.
static int64_t circle_area(const struct shape *s) { return (int64_t)s->a * s->a * 355 / 113; }
static int64_t circle_perimeter(const struct shape *s) { return (int64_t)s->a * 710 / 113; }
// Square: a = side.
static int64_t square_area(const struct shape *s) { return (int64_t)s->a * s->a; }
static int64_t square_perimeter(const struct shape *s) { return 4 * (int64_t)s->a; }
// Rectangle: a x b.
static int64_t rect_area(const struct shape *s) { return (int64_t)s->a * s->b; }
static int64_t rect_perimeter(const struct shape *s) { return 2 * ((int64_t)s->a + s->b); }
// Right triangle with legs a, b; hypotenuse by integer square root.
static int64_t isqrt(int64_t v) {
    int64_t r = 0, bit = (int64_t)1 << 40;
    while (bit > v) bit >>= 2;
    while (bit) {
        if (v >= r + bit) {
            v -= r + bit;
            r = (r >> 1) + bit;
        } else {
            r >>= 1;
        }
        bit >>= 2;
    }
    return r;
}
static int64_t tri_area(const struct shape *s) { return (int64_t)s->a * s->b / 2; }
static int64_t tri_perimeter(const struct shape *s) {
    return s->a + s->b + isqrt((int64_t)s->a * s->a + (int64_t)s->b * s->b);
}
// Ellipse: semi-axes a, b; Ramanujan-free rough perimeter.
static int64_t ellipse_area(const struct shape *s) { return (int64_t)s->a * s->b * 355 / 113; }
static int64_t ellipse_perimeter(const struct shape *s) { return ((int64_t)s->a + s->b) * 355 / 113; }
// Hexagon: side a; area ~ 2.598 a^2.
static int64_t hex_area(const struct shape *s) { return (int64_t)s->a * s->a * 2598 / 1000; }
static int64_t hex_perimeter(const struct shape *s) { return 6 * (int64_t)s->a; }
// Ring: outer a, inner b (clamped to a).
static int64_t ring_area(const struct shape *s) {
    int64_t inner = s->b < s->a ? s->b : s->a / 2;
    return ((int64_t)s->a * s->a - inner * inner) * 355 / 113;
}
static int64_t ring_perimeter(const struct shape *s) {
    int64_t inner = s->b < s->a ? s->b : s->a / 2;
    return ((int64_t)s->a + inner) * 710 / 113;
}
// Star: a points of radius b.
static int64_t star_area(const struct shape *s) { return (int64_t)(s->a % 12 + 3) * s->b * s->b / 4; }
static int64_t star_perimeter(const struct shape *s) { return (int64_t)(s->a % 12 + 3) * 2 * s->b; }

static const struct shape_class classes[NKINDS] = {
    {"circle", circle_area, circle_perimeter, move_generic, scale_first, hash_pos},
    {"square", square_area, square_perimeter, move_diagonal, scale_first, hash_all},
    {"rect", rect_area, rect_perimeter, move_generic, scale_both, hash_all},
    {"triangle", tri_area, tri_perimeter, move_bounce, scale_swap, hash_all},
    {"ellipse", ellipse_area, ellipse_perimeter, move_diagonal, scale_both, hash_pos},
    {"hexagon", hex_area, hex_perimeter, move_bounce, scale_first, hash_pos},
    {"ring", ring_area, ring_perimeter, move_generic, scale_swap, hash_all},
    {"star", star_area, star_perimeter, move_bounce, scale_both, hash_all},
};

// Visitors: one pass over all shapes, each picking operations through the vtables.
struct stats {
    int64_t area, perimeter;
    uint32_t hash;
    int64_t per_kind[NKINDS];
};

typedef void (*visitor)(struct shape *, int kind, struct stats *, uint32_t step);

static void visit_measure(struct shape *s, int kind, struct stats *st, uint32_t step) {
    (void)step;
    int64_t area = s->cls->area(s);
    st->area += area;
    st->perimeter += s->cls->perimeter(s);
    st->per_kind[kind] += area & 0xffff;
}
static void visit_move(struct shape *s, int kind, struct stats *st, uint32_t step) {
    (void)st;
    s->cls->move(s, (int32_t)((step * 7 + (uint32_t)kind) % 13) - 6, (int32_t)(step % 5) - 2);
}
static void visit_grow(struct shape *s, int kind, struct stats *st, uint32_t step) {
    (void)kind;
    (void)st;
    s->cls->scale(s, 9 + (int32_t)(step % 4), 10);
}
static void visit_hash(struct shape *s, int kind, struct stats *st, uint32_t step) {
    (void)step;
    st->hash = s->cls->hash(s, st->hash + (uint32_t)kind);
}
static void visit_morph(struct shape *s, int kind, struct stats *st, uint32_t step) {
    (void)st;
    // Occasionally change class, so the call targets keep shifting.
    if (((uint32_t)(s->x ^ s->y) + step) % 61 == 0) {
        s->cls = &classes[(kind + 1 + (int)(step % 3)) % NKINDS];
    }
}

static const visitor visitors[] = {visit_measure, visit_move, visit_grow, visit_hash, visit_morph};
#define NVISITORS (sizeof(visitors) / sizeof(visitors[0]))

static struct shape shapes[NSHAPES];

int main(int argc, char **argv) {
    long steps = argc > 1 ? atol(argv[1]) : 100;
    if (steps < 1) {
        fprintf(stderr, "usage: dispatch STEPS (STEPS >= 1)\n");
        return 2;
    }
    uint32_t seed = 2463534242u;
    for (int i = 0; i < NSHAPES; i++) {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        shapes[i].cls = &classes[seed % NKINDS];
        shapes[i].x = (int32_t)(seed >> 8) & 0xffff;
        shapes[i].y = (int32_t)(seed >> 3) & 0xffff;
        shapes[i].a = (int32_t)(seed % 200) + 1;
        shapes[i].b = (int32_t)((seed >> 12) % 200) + 1;
    }
    struct stats st = {0};
    st.hash = 2166136261u;
    for (long step = 0; step < steps; step++) {
        // The visitor order is driven by the step number: an indirect call choosing indirect calls.
        for (uint32_t v = 0; v < NVISITORS; v++) {
            visitor visit = visitors[(v + (uint32_t)step) % NVISITORS];
            for (int i = 0; i < NSHAPES; i++) {
                struct shape *s = &shapes[i];
                visit(s, (int)(s->cls - classes), &st, (uint32_t)step);
            }
        }
    }
    int counts[NKINDS] = {0};
    for (int i = 0; i < NSHAPES; i++) {
        counts[shapes[i].cls - classes]++;
    }
    printf("steps = %ld\n", steps);
    printf("area = %" PRId64 "\n", st.area);
    printf("perimeter = %" PRId64 "\n", st.perimeter);
    printf("hash = %08" PRIx32 "\n", st.hash);
    for (int k = 0; k < NKINDS; k++) {
        printf("%-8s %4d shapes, area digest %" PRId64 "\n", classes[k].name, counts[k], st.per_kind[k]);
    }
    return 0;
}
