# The wasmtime peers of `tierup bench`: runs a WASI command module on wasmtime (through the
# `wasmtime` package of the Python registry, which bundles wasmtime's C API library) and reports its
# phase times the way `tierup run --phase-times` does.
#
#   python wasmtime-wasi.py cranelift|winch PROG.wasm ARGS...
#
# `cranelift` is wasmtime's optimizing compiler (its default), `winch` its baseline compiler. The
# Python wrapper only names `auto` and `cranelift`, so Winch is selected through the C API's
# strategy value (WASMTIME_STRATEGY_WINCH = 2 in wasmtime/config.h).
#
# Compilation runs on one thread (parallel compilation off), as tierup's does, so the compile
# columns compare like for like. This script only measures; it must never change what the program
# sees: argv is [PROG's file name, ...ARGS], no environment, stdio inherited. The stderr line format
# is owned by cli/src/bench/phases.rs; keep the two in step.

import os
import sys
import time

import wasmtime
from wasmtime import _ffi as ffi

STRATEGIES = {"cranelift": 1, "winch": 2}


def main(argv):
    if len(argv) < 2 or argv[0] not in STRATEGIES:
        sys.stderr.write("usage: python wasmtime-wasi.py cranelift|winch PROG.wasm ARGS...\n")
        return 2
    strategy, path, args = argv[0], argv[1], argv[2:]
    config = wasmtime.Config()
    config.parallel_compilation = False
    ffi.wasmtime_config_strategy_set(config.ptr(), STRATEGIES[strategy])
    engine = wasmtime.Engine(config)
    with open(path, "rb") as file:
        wasm = file.read()

    start = time.perf_counter_ns()
    module = wasmtime.Module(engine, wasm)
    compiled = time.perf_counter_ns()

    wasi = wasmtime.WasiConfig()
    wasi.argv = [os.path.basename(path), *args]
    wasi.inherit_stdout()
    wasi.inherit_stderr()
    store = wasmtime.Store(engine)
    store.set_wasi(wasi)
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    instance = linker.instantiate(store, module)
    entry = instance.exports(store)["_start"]
    instantiated = time.perf_counter_ns()

    status = 0
    try:
        entry(store)
    except wasmtime.ExitTrap as exit_trap:
        status = exit_trap.code
    except (wasmtime.Trap, wasmtime.WasmtimeError) as trap:
        sys.stderr.write(f"wasm trap: {trap}\n")
        status = 134
    ran = time.perf_counter_ns()

    sys.stdout.flush()
    sys.stderr.write(
        f"tierup-phase-times compile_ns={compiled - start} "
        f"instantiate_ns={instantiated - compiled} run_ns={ran - instantiated}\n"
    )
    sys.stderr.flush()
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
