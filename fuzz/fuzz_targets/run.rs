//! Fuzz target `run`: decode, validate, translate, instantiate and run a module.
//!
//! The first input byte picks the mode:
//! - even: the remaining bytes are the module, as-is (exercises the decoder and validator front end
//!   on mostly malformed input);
//! - odd: the remaining bytes drive `wasm_smith` to generate a valid WebAssembly 2.0 module
//!   (exercises translation, instantiation and the interpreter).
//!
//! Every import is satisfied with a dummy (host functions return zeros, globals/tables/memories are
//! fresh and default-initialized), then every exported function is called with default arguments,
//! with fuel refilled before each call. Errors and traps are expected outcomes; only a panic, a crash
//! or a hang is a finding. In addition, a generated module that wasmparser itself validates under
//! the WebAssembly 2.0 feature set must not be rejected by `Module::new` (other than for resource
//! limits): such a rejection panics too.

#![no_main]

use common::{dummy_import, generate, import_types};
use libfuzzer_sys::fuzz_target;
use tierup::{Config, Engine, Error, Extern, Instance, Module, Store, Val};

#[path = "common.rs"]
mod common;

/// Fuel for instantiation (the start function) and for each exported-function call.
const FUEL: u64 = 100_000;
/// Cap on linear memory size for the engine.
const MAX_MEMORY: u64 = 64 << 20;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    if mode & 1 == 0 {
        run(rest, false);
    } else if let Ok(wasm) = generate(rest, |_| Ok(())) {
        // Replaying one input with TIERUP_FUZZ_DUMP=<file> saves the generated module (to turn
        // a wasm-smith finding into a regression file).
        if let Some(path) = std::env::var_os("TIERUP_FUZZ_DUMP") {
            std::fs::write(path, &wasm).expect("cannot write TIERUP_FUZZ_DUMP");
        }
        run(&wasm, true);
    }
});

fn run(wasm: &[u8], generated: bool) {
    let engine = Engine::new(Config {
        consume_fuel: true,
        max_memory_size: Some(MAX_MEMORY),
        ..Config::default()
    });
    let module = match Module::new(&engine, wasm) {
        Ok(module) => module,
        Err(e) => {
            if generated {
                check_rejection(wasm, &e);
            }
            return;
        }
    };

    let mut store = Store::new(&engine, ());
    let Some(types) = import_types(&module) else { return };
    let mut imports = Vec::new();
    for ty in &types {
        let Some(ext) = dummy_import(&mut store, ty) else { return };
        imports.push(ext);
    }
    store.set_fuel(FUEL).expect("fuel is enabled");
    let Ok(instance) = Instance::new(&mut store, &module, &imports) else { return };

    for (_, ext) in instance.exports(&store) {
        let Extern::Func(func) = ext else { continue };
        let ty = func.ty(&store);
        let args: Vec<Val> = ty.params().iter().map(|t| Val::default_for(*t)).collect();
        let mut results: Vec<Val> = ty.results().iter().map(|t| Val::default_for(*t)).collect();
        store.set_fuel(FUEL).expect("fuel is enabled");
        let _ = func.call(&mut store, &args, &mut results);
    }
}

/// A generated module was rejected: fine for resource limits and 64-bit tables (which tierup
/// refuses as unsupported), or if wasmparser agrees it is invalid under the generated features
/// (a generator/config mismatch, not an engine bug). Otherwise the engine refused a valid
/// module, which is a finding.
fn check_rejection(wasm: &[u8], e: &Error) {
    if matches!(e, Error::ResourceLimit(_)) || common::refuses_table64(e) {
        return;
    }
    let mut validator = wasmparser::Validator::new_with_features(common::FEATURES);
    if validator.validate_all(wasm).is_ok() {
        panic!("tierup rejected a valid module: {e}");
    }
}
