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

use arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use tierup::{Config, Engine, Error, Extern, ExternType, Func, Instance, Module, Store, Val};

/// Fuel for instantiation (the start function) and for each exported-function call.
const FUEL: u64 = 100_000;
/// Cap on linear memory size for the engine.
const MAX_MEMORY: u64 = 64 << 20;
/// Cap on the initial size of a host-created table for an import (the engine's own
/// `max_table_elements` only applies to tables a module defines, not to `Store::new_table`).
const MAX_IMPORTED_TABLE: u64 = 100_000;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    if mode & 1 == 0 {
        run(rest, false);
    } else if let Ok(wasm) = generate(rest) {
        // Replaying one input with TIERUP_FUZZ_DUMP=<file> saves the generated module (to turn
        // a wasm-smith finding into a regression file).
        if let Some(path) = std::env::var_os("TIERUP_FUZZ_DUMP") {
            std::fs::write(path, &wasm).expect("cannot write TIERUP_FUZZ_DUMP");
        }
        run(&wasm, true);
    }
});

/// A WebAssembly 2.0 module (and nothing newer) from wasm-smith.
fn generate(data: &[u8]) -> Result<Vec<u8>> {
    let mut u = Unstructured::new(data);
    let mut config = wasm_smith::Config {
        // WebAssembly 2.0.
        simd_enabled: true,
        bulk_memory_enabled: true,
        reference_types_enabled: true,
        multi_value_enabled: true,
        sign_extension_ops_enabled: true,
        saturating_float_to_int_enabled: true,
        // Everything after 2.0: off.
        threads_enabled: false,
        shared_everything_threads_enabled: false,
        acquire_release_atomics_enabled: false,
        tail_call_enabled: false,
        exceptions_enabled: false,
        gc_enabled: false,
        custom_descriptors_enabled: false,
        multibyte_array_access_enabled: false,
        memory64_enabled: false,
        relaxed_simd_enabled: false,
        extended_const_enabled: false,
        custom_page_sizes_enabled: false,
        wide_arithmetic_enabled: false,
        compact_imports_enabled: false,
        max_memories: 1, // more than one would be multi-memory
        // Modest sizes, so that one input runs in milliseconds.
        max_memory32_bytes: 16 << 20,
        max_tables: 4,
        max_table_elements: 10_000,
        max_types: 50,
        max_imports: 20,
        max_funcs: 50,
        max_globals: 50,
        max_exports: 50,
        max_element_segments: 20,
        max_elements: 100,
        max_data_segments: 20,
        max_instructions: 1_000,
        max_nesting_depth: 10,
        max_instances: 0,
        max_modules: 0,
        max_components: 0,
        ..wasm_smith::Config::default()
    };
    // Let the input decide whether functions get exported (so they run) or only reached via start.
    config.export_everything = u.arbitrary()?;
    let module = wasm_smith::Module::new(config, &mut u)?;
    Ok(module.to_bytes())
}

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
    let mut imports = Vec::new();
    for (_, _, ty) in module.imports() {
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

/// A fresh entity of the import's type; `None` when the harness declines (huge imported table).
fn dummy_import(store: &mut Store<()>, ty: ExternType) -> Option<Extern> {
    Some(match ty {
        ExternType::Func(ft) => {
            let results: Vec<Val> = ft.results().iter().map(|t| Val::default_for(*t)).collect();
            Extern::Func(Func::new(store, ft, move |_caller, _args, out| {
                out.copy_from_slice(&results);
                Ok(())
            }))
        }
        ExternType::Global(gt) => {
            Extern::Global(store.new_global(gt, Val::default_for(gt.content)).ok()?)
        }
        ExternType::Table(tt) => {
            if tt.limits.min > MAX_IMPORTED_TABLE {
                return None;
            }
            Extern::Table(store.new_table(tt, Val::default_for(tt.element)).ok()?)
        }
        ExternType::Memory(mt) => Extern::Memory(store.new_memory(mt).ok()?),
    })
}

/// A generated module was rejected: fine for resource limits, or if wasmparser agrees it is
/// invalid under WebAssembly 2.0 (a generator/config mismatch, not an engine bug). Otherwise the
/// engine refused a valid module, which is a finding.
fn check_rejection(wasm: &[u8], e: &Error) {
    if matches!(e, Error::ResourceLimit(_)) {
        return;
    }
    let mut validator = wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::WASM2);
    if validator.validate_all(wasm).is_ok() {
        panic!("tierup rejected a valid WebAssembly 2.0 module: {e}");
    }
}
