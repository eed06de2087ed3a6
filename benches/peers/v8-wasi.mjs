// The V8 peer of `tierup bench`: runs a WASI command module in node and reports its phase times
// the way `tierup run --phase-times` does.
//
//   node [--no-warnings] [V8 flags] benches/peers/v8-wasi.mjs PROG.wasm ARGS...
//
// The bench harness picks V8's tiers with flags: `--liftoff --no-wasm-tier-up
// --no-wasm-dynamic-tiering` (Liftoff only), `--no-liftoff` (TurboFan only), or none (V8's
// defaults). This script only measures; it must never change what the program sees: argv is
// [PROG's file name, ...ARGS], no environment, stdio inherited. The stderr line format is owned by
// cli/src/bench/phases.rs; keep the two in step.

import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { argv, exit, hrtime, stderr } from 'node:process';
import { WASI } from 'node:wasi';

const [file, ...args] = argv.slice(2);
if (file === undefined) {
  stderr.write('usage: node v8-wasi.mjs PROG.wasm ARGS...\n');
  exit(2);
}

// Synchronous compilation and instantiation: node 26 exits with status 13 (an unsettled top-level
// await) when `await WebAssembly.compile` is pending on V8's compile threads with nothing else
// keeping the event loop alive. The synchronous API compiles just as eagerly under
// --no-wasm-lazy-compilation, and there is no promise to leave unsettled.
const bytes = readFileSync(file);
const start = hrtime.bigint();
const module = new WebAssembly.Module(bytes);
const compiled = hrtime.bigint();
const wasi = new WASI({ version: 'preview1', args: [basename(file), ...args], env: {}, returnOnExit: true });
const instance = new WebAssembly.Instance(module, wasi.getImportObject());
const instantiated = hrtime.bigint();
const status = wasi.start(instance);
const ran = hrtime.bigint();

// Compile includes reading the file in tierup; here the read is outside so V8 is not charged for
// node's file API. The difference is microseconds for corpus-sized modules.
stderr.write(
  `tierup-phase-times compile_ns=${compiled - start} instantiate_ns=${instantiated - compiled} ` +
    `run_ns=${ran - instantiated}\n`,
);
process.exitCode = status;
