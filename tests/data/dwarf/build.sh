#!/usr/bin/env bash
# Rebuilds trap.wasm from trap.c: clang 16 for WASI with DWARF (-g), optimized as the corpus's
# debug build is (-O1), against Debian's wasi-libc (the `wasi-libc` package's /usr sysroot).
set -euo pipefail
cd "$(dirname "$0")"
# The paths in the DWARF are the repository's, not the machine's it was built on.
clang-16 --target=wasm32-wasi --sysroot=/usr -O1 -g -Wall -Wextra -Werror \
    -fdebug-prefix-map="$(pwd)"=tests/data/dwarf -o trap.wasm trap.c
