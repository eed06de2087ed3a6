"""yosys.wasm under wasmtime (Cranelift, compiling the whole module first, no cache), with the
directories `scripts/yosys/run` gives tierup: /share from the wheel, /work with the design, a
scratch /tmp. Prints the compile and total times on stderr."""
import sys
import tempfile
import time

import wasmtime

wasm, share, work, script = sys.argv[1:5]
start = time.monotonic()
engine = wasmtime.Engine(wasmtime.Config())
module = wasmtime.Module.from_file(engine, wasm)
compiled = time.monotonic()
linker = wasmtime.Linker(engine)
linker.define_wasi()
store = wasmtime.Store(engine)
wasi = wasmtime.WasiConfig()
wasi.argv = ["yosys", "-p", script]
wasi.inherit_stdout()
wasi.inherit_stderr()
wasi.preopen_dir(share, "/share")
wasi.preopen_dir(work, "/work")
wasi.preopen_dir(tempfile.mkdtemp(), "/tmp")
store.set_wasi(wasi)
instance = linker.instantiate(store, module)
try:
    instance.exports(store)["_start"](store)
except wasmtime.ExitTrap:
    pass
end = time.monotonic()
print(f"wasmtime: compile {compiled - start:.2f} s, total {end - start:.2f} s", file=sys.stderr)
