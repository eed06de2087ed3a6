//! What the fuzz targets share: generating modules (WebAssembly 2.0 plus the 3.0 features every
//! tier and both oracles run) and satisfying their imports.

use arbitrary::{Result, Unstructured};
use tierup::{Extern, ExternType, Func, Module, Store, Val};

/// Cap on the initial size of a host-created table for an import, so a huge imported table is
/// declined instead of exhausting memory.
const MAX_IMPORTED_TABLE: u64 = 100_000;

/// The features generated modules use: WebAssembly 2.0 plus the 3.0 features tierup's tiers run
/// and wasm-smith generates: tail calls, extended constant expressions, multiple memories, 64-bit
/// memories and tables, exception handling (wasmi 2.0 has none: such modules are judged by
/// wasmtime alone for validity, and by the interpreter for every other tier), and relaxed SIMD
/// (whose results the spec leaves to the engine within bounds: tierup makes the 3.0 spec's
/// deterministic choices, the oracles others, so `diff` compares such modules across tiers
/// only). Typed function references are left out: wasm-smith makes them only with GC. (The
/// `run` target validates with it; `diff` asks the oracles instead.)
#[allow(dead_code)]
pub const FEATURES: wasmparser::WasmFeatures = wasmparser::WasmFeatures::WASM2
    .union(wasmparser::WasmFeatures::TAIL_CALL)
    .union(wasmparser::WasmFeatures::EXTENDED_CONST)
    .union(wasmparser::WasmFeatures::MULTI_MEMORY)
    .union(wasmparser::WasmFeatures::MEMORY64)
    .union(wasmparser::WasmFeatures::EXCEPTIONS)
    .union(wasmparser::WasmFeatures::RELAXED_SIMD);

/// A module of [`FEATURES`] from wasm-smith. The input's first byte picks the profile: the whole
/// feature set, or (for about half of all inputs) [`branchy`].
pub fn generate(
    data: &[u8],
    adjust: impl FnOnce(&mut wasm_smith::Module) -> Result<()>,
) -> Result<Vec<u8>> {
    let mut u = Unstructured::new(data);
    let mut config = wasm_smith::Config {
        // WebAssembly 2.0.
        simd_enabled: true,
        bulk_memory_enabled: true,
        reference_types_enabled: true,
        multi_value_enabled: true,
        sign_extension_ops_enabled: true,
        saturating_float_to_int_enabled: true,
        // From 3.0: see `FEATURES`.
        tail_call_enabled: true,
        extended_const_enabled: true,
        memory64_enabled: true,
        exceptions_enabled: true,
        relaxed_simd_enabled: true,
        // A NaN's payload and sign are not deterministic in wasm (any arithmetic NaN may come out
        // of an operation on one), and a reinterpret can carry them into an integer that no
        // comparison of results could canonicalize: every float result is canonicalized in the
        // module itself, as wasmtime's differential fuzzing does. (Found as a false positive:
        // `f32.mul` of two NaNs reinterpreted and xored into a global, tier 1 and wasmtime giving
        // one payload, the interpreter another.)
        canonicalize_nans: true,
        max_memories: 3,
        max_memory64_bytes: 16 << 20,
        // Everything else after 2.0: off.
        threads_enabled: false,
        shared_everything_threads_enabled: false,
        acquire_release_atomics_enabled: false,
        gc_enabled: false,
        custom_descriptors_enabled: false,
        multibyte_array_access_enabled: false,
        custom_page_sizes_enabled: false,
        wide_arithmetic_enabled: false,
        compact_imports_enabled: false,
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
    if u.arbitrary::<bool>()? {
        branchy(&mut config);
    }
    // Let the input decide whether functions get exported (so they run) or only reached via start.
    config.export_everything = u.arbitrary()?;
    let mut module = wasm_smith::Module::new(config, &mut u)?;
    adjust(&mut module)?;
    Ok(module.to_bytes())
}

/// A profile dense in value-carrying control flow, where translators that keep a virtual operand
/// stack go wrong (issue #10 was a `br_if` carrying results over a multi-value call). wasm-smith
/// emits a `br`, `br_if`, `br_table` or `return` only when the label's types are on top of the
/// stack, and a multi-value block only for a function type whose parameters are: with `i32` and
/// `i64` as the only value types (no floats, SIMD or references) both happen far more often. At
/// least 10 function types give blocks and calls many signatures (up to 20 parameters and 20
/// results each); fewer instruction kinds leave more of each body to control flow, locals and
/// calls.
fn branchy(config: &mut wasm_smith::Config) {
    use wasm_smith::{InstructionKind as Kind, InstructionKinds};
    config.allow_floats = false;
    config.simd_enabled = false;
    config.reference_types_enabled = false;
    config.min_types = 10;
    config.allowed_instructions = InstructionKinds::new(&[
        Kind::Control,
        Kind::NumericInt,
        Kind::Variable,
        Kind::Parametric,
        Kind::MemoryInt,
    ]);
}

/// The imports every engine under test gets, as a list of types in the module's import order:
/// each one is satisfied with a fresh dummy of exactly that type (host functions returning the
/// default value of each result; globals, tables and memories with default contents), by
/// [`dummy_import`] for tierup and by the `diff` target's oracle for wasmi, so both engines see
/// the same imports. `None` when the harness declines the module: an imported table with a minimum
/// above [`MAX_IMPORTED_TABLE`] elements (`Store::new_table` does not apply
/// `Config::max_table_elements` and would just allocate).
pub fn import_types(module: &Module) -> Option<Vec<ExternType>> {
    let types: Vec<ExternType> = module.imports().map(|(_, _, ty)| ty).collect();
    let huge_table =
        |ty: &ExternType| matches!(ty, ExternType::Table(tt) if tt.limits.min > MAX_IMPORTED_TABLE);
    if types.iter().any(huge_table) { None } else { Some(types) }
}

/// tierup's dummy for one of [`import_types`]; `None` if the store refuses to create it.
pub fn dummy_import(store: &mut Store<()>, ty: &ExternType) -> Option<Extern> {
    Some(match ty {
        ExternType::Func(ft) => {
            let results: Vec<Val> = ft.results().iter().map(|t| Val::default_for(*t)).collect();
            Extern::Func(Func::new(store, ft.clone(), move |_caller, _args, out| {
                out.copy_from_slice(&results);
                Ok(())
            }))
        }
        ExternType::Global(gt) => {
            Extern::Global(store.new_global(*gt, Val::default_for(gt.content)).ok()?)
        }
        ExternType::Table(tt) => {
            Extern::Table(store.new_table(*tt, Val::default_for(tt.element)).ok()?)
        }
        ExternType::Memory(mt) => Extern::Memory(store.new_memory(*mt).ok()?),
        ExternType::Tag(ft) => Extern::Tag(tierup::Tag::new(store, ft.clone()).ok()?),
    })
}
