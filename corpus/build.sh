#!/usr/bin/env bash
# Rebuilds every corpus program's .wasm (committed) and native binary (target/corpus/<name>/native,
# never committed) from source, then checks that the native build and `tierup run` print exactly
# expected.txt / expected-medium.txt / expected-small.txt. See corpus/README.md for the convention.
#
#   corpus/build.sh                  build and check every program folder
#   corpus/build.sh --only NAME ...  just these programs (repeatable)
#   corpus/build.sh --bless          (re)write missing-or-stale expected files from the native build
#   corpus/build.sh --full           also run tierup at the default size (slow on the interpreter)
#   corpus/build.sh --no-native      build only the .wasm and check it under tierup (small size)
#
# Runs scripts/setup first (compilers, wasm targets) and builds target/release/tierup. Exits
# non-zero if any build fails or any output differs. A rebuilt .wasm that differs from the one it
# replaces is only noted (another compiler version may emit other code); its output must match.
#
# Layout of this script: the shared driver (options, bench.toml reading, checking) first, then one
# clearly marked section per language, each defining build_<language> NAME DIR: it must leave
# DIR/<wasm from bench.toml> and, unless $native is 0, target/corpus/NAME/native behind.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
corpus="$root/corpus"
out="$root/target/corpus"
tierup="$root/target/release/tierup"
jobs="${CORPUS_JOBS:-1}"

# ---------------------------------------------------------------------------------------------
# Shared driver
# ---------------------------------------------------------------------------------------------

only=()
bless=0
full=0
native=1
while (($#)); do
    case "$1" in
        --only) only+=("$2"); shift 2 ;;
        --bless) bless=1; shift ;;
        --full) full=1; shift ;;
        --no-native) native=0; shift ;;
        -h|--help) sed -n '2,14p' "${BASH_SOURCE[0]}"; exit 0 ;;
        *) echo "build.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done

# toml_string FILE KEY: the value of `KEY = "..."`.
toml_string() {
    sed -n "s/^$2[[:space:]]*=[[:space:]]*\"\(.*\)\"[[:space:]]*\(#.*\)\?$/\1/p" "$1" | head -n1
}

# toml_args FILE KEY: the strings of `KEY = ["a", "b"]`, one per line.
toml_args() {
    sed -n "s/^$2[[:space:]]*=[[:space:]]*\[\(.*\)\].*$/\1/p" "$1" | head -n1 |
        grep -o '"[^"]*"' | sed 's/^"//; s/"$//' || true
}

# check_output NAME LABEL EXPECTED_FILE COMMAND...: runs COMMAND, compares stdout to the file.
failures=0
check_output() {
    local name="$1" label="$2" expected="$3"
    shift 3
    local actual
    actual="$(mktemp)"
    local start end
    start=$(date +%s.%N)
    local status=0
    "$@" >"$actual" || status=$?
    if ((status != 0)); then
        echo "FAIL $name $label: exit status $status ($*)" >&2
        failures=$((failures + 1))
        rm -f "$actual"
        return
    fi
    end=$(date +%s.%N)
    if [[ "$label" == native* ]] && { [[ ! -f "$expected" ]] || ((bless)); }; then
        cp "$actual" "$expected"
        echo "wrote $expected"
    fi
    if cmp -s "$actual" "$expected"; then
        printf 'ok   %-20s %-14s %6.2fs\n' "$name" "$label" "$(awk "BEGIN { print $end - $start }")"
    else
        echo "FAIL $name $label: output differs from $expected ($*)" >&2
        diff "$expected" "$actual" | head -n 20 >&2 || true
        failures=$((failures + 1))
    fi
    rm -f "$actual"
}

build_and_check() {
    local name="$1" dir="$corpus/$1"
    local toml="$dir/bench.toml"
    local language wasm
    language="$(toml_string "$toml" language)"
    wasm="$(toml_string "$toml" wasm)"
    mapfile -t args < <(toml_args "$toml" args)
    mapfile -t small_args < <(toml_args "$toml" small_args)
    mapfile -t medium_args < <(toml_args "$toml" medium_args)
    mkdir -p "$out/$name"
    echo "== $name ($language)"
    if ! declare -F "build_$language" >/dev/null; then
        echo "FAIL $name: no build_$language in build.sh" >&2
        failures=$((failures + 1))
        return
    fi
    # Keep the committed module to tell whether the rebuild changed it.
    local previous
    previous="$(mktemp)"
    if [[ -f "$dir/$wasm" ]]; then
        cp "$dir/$wasm" "$previous"
    else
        rm -f "$previous"
    fi
    if ! "build_$language" "$name" "$dir"; then
        echo "FAIL $name: build failed" >&2
        failures=$((failures + 1))
        rm -f "$previous"
        return
    fi
    if [[ ! -f "$previous" ]]; then
        echo "note $name: $wasm is new ($(wc -c <"$dir/$wasm") bytes)"
    elif ! cmp -s "$previous" "$dir/$wasm"; then
        echo "note $name: rebuilt $wasm differs from the previous one" \
            "($(wc -c <"$previous") -> $(wc -c <"$dir/$wasm") bytes; compilers may differ, outputs must not)"
    fi
    rm -f "$previous"
    if ((native)); then
        local native_bin="$out/$name/native"
        check_output "$name" "native" "$dir/expected.txt" "$native_bin" "${args[@]}"
        check_output "$name" "native-small" "$dir/expected-small.txt" "$native_bin" "${small_args[@]}"
        if ((${#medium_args[@]})); then
            check_output "$name" "native-medium" "$dir/expected-medium.txt" "$native_bin" "${medium_args[@]}"
        fi
    fi
    check_output "$name" "tierup-small" "$dir/expected-small.txt" "$tierup" run "$dir/$wasm" "${small_args[@]}"
    if ((full)); then
        check_output "$name" "tierup" "$dir/expected.txt" "$tierup" run "$dir/$wasm" "${args[@]}"
    fi
}

main() {
    "$root/scripts/setup"
    (cd "$root" && cargo build --release --quiet -j"$jobs")
    local names=()
    if ((${#only[@]})); then
        names=("${only[@]}")
    else
        for toml in "$corpus"/*/bench.toml; do
            names+=("$(basename "$(dirname "$toml")")")
        done
    fi
    for name in "${names[@]}"; do
        if [[ ! -f "$corpus/$name/bench.toml" ]]; then
            echo "FAIL $name: no corpus/$name/bench.toml" >&2
            failures=$((failures + 1))
            continue
        fi
        build_and_check "$name"
    done
    if ((failures)); then
        echo "build.sh: $failures failure(s)" >&2
        exit 1
    fi
    echo "build.sh: all ${#names[@]} program(s) built and checked"
}

# ---------------------------------------------------------------------------------------------
# C programs (language = "c"): every *.c in corpus/<name>/, one program. clang-16 with Debian's
# wasi-libc (headers and libs under /usr, found through --sysroot=/usr and the wasm32-wasi triple)
# for the .wasm, the same clang natively. Compiled from inside the folder with relative names so
# that nothing of the checkout's path can reach the module.
# ---------------------------------------------------------------------------------------------

c_flags=(-O2 -std=c11 -Wall -Wextra -Werror)
# A program whose bench.toml names a `debug_wasm` also gets that module built with DWARF for the
# debugger's tests: -O1 rather than -O0 so C variables live in wasm locals (at -O0 clang keeps
# them in linear memory's shadow stack), with the same sources and relative names.
c_debug_flags=(-O1 -g -std=c11 -Wall -Wextra -Werror)

build_c() {
    local name="$1" dir="$2"
    local wasm debug_wasm
    wasm="$(toml_string "$dir/bench.toml" wasm)"
    debug_wasm="$(toml_string "$dir/bench.toml" debug_wasm)"
    (
        cd "$dir"
        local sources=(*.c)
        clang-16 --target=wasm32-wasi --sysroot=/usr "${c_flags[@]}" -o "$wasm" "${sources[@]}" -lm
        if [[ -n "$debug_wasm" ]]; then
            # The DWARF names the sources by their path in the repository (corpus/NAME/...),
            # not by the machine's checkout, so a debugger run from the root finds them.
            clang-16 --target=wasm32-wasi --sysroot=/usr "${c_debug_flags[@]}" \
                -fdebug-prefix-map="$(pwd)=corpus/$name" -o "$debug_wasm" "${sources[@]}" -lm
        fi
        if ((native)); then
            clang-16 "${c_flags[@]}" -o "$out/$name/native" "${sources[@]}" -lm
        fi
    )
}

# ---------------------------------------------------------------------------------------------
# Rust programs (language = "rust"): each corpus/<name>/ is its own Cargo project with its own
# [workspace] table and a committed Cargo.lock. Built `--release --locked` for wasm32-wasip1 and
# natively with CARGO_TARGET_DIR=target/corpus/<name>/cargo; the .wasm is copied next to the
# source, the native binary to target/corpus/<name>/native. A project that bundles C (sqlite, via
# rusqlite) keeps its wasm C toolchain settings (clang-16, wasi-libc) in its own .cargo/config.toml.
# ---------------------------------------------------------------------------------------------

build_rust() {
    local name="$1" dir="$2"
    local target_dir="$out/$name/cargo"
    local wasm
    wasm="$(toml_string "$dir/bench.toml" wasm)"
    (
        cd "$dir"
        export CARGO_TARGET_DIR="$target_dir"
        cargo build --release --locked -j"$jobs" --quiet
        cargo build --release --locked -j"$jobs" --quiet --target wasm32-wasip1
    ) || return 1
    cp "$target_dir/release/$name" "$out/$name/native"
    install -m 0644 "$target_dir/wasm32-wasip1/release/$name.wasm" "$dir/$wasm"
}

# ---------------------------------------------------------------------------------------------

main
