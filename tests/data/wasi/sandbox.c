// A C program (wasi-libc) that tries to leave its sandbox, then writes one file inside it.
// Built with: clang-16 --target=wasm32-wasi --sysroot=/usr -O2 -o sandbox.wasm sandbox.c
// Run by tests/wasi.rs as `tierup run --dir HOST::/sandbox sandbox.wasm`.
#include <errno.h>
#include <stdio.h>
#include <string.h>

static void try_read(const char *path) {
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        printf("%s: refused (%s)\n", path, strerror(errno));
        return;
    }
    char buf[64] = {0};
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    printf("%s: READ %zu bytes\n", path, n);
}

int main(void) {
    try_read("/etc/passwd");
    try_read("/sandbox/../secret.txt");
    try_read("../secret.txt");
    try_read("/sandbox/inside.txt");
    FILE *out = fopen("/sandbox/written.txt", "w");
    if (out == NULL) {
        printf("cannot write: %s\n", strerror(errno));
        return 1;
    }
    fputs("written by the guest\n", out);
    fclose(out);
    return 0;
}
