//! Tier 2, the optimizing tier: wasm -> SSA (`build.rs`) -> the `tierup-passes` pipeline ->
//! lowering to VCode (`lower.rs`, `vcode.rs`) -> regalloc2 -> emission through the ISA layer's
//! `MacroAssembler` (`emit.rs`).
//!
//! - `OPTIMIZED` is the `Compiler` tiering calls: one function at a time, with its callees that
//!   ran (the profile's call counts) built too so the pipeline's inliner can take them;
//!   on-stack-replacement entries are separate compilations of the function entered at one loop
//!   header (`compile_osr`), made when a running loop asks for one.
//! - Code runs on the shared slot frame and is entered like every tier's, so calls between tiers
//!   cost nothing extra; spill slots and the call area sit above the wasm frame (`emit.rs`).
//!
//! This is the only place where wasmparser meets the passes IR; `tierup-passes` itself must never
//! see wasmparser, so its IR can also be written by hand. It must never install anything: tiering
//! does.

pub mod build;
mod emit;
mod env;
mod lower;
mod vcode;

pub use build::{BuildError, BuildReport, build_module};
pub use emit::RegallocAlgorithm;

use crate::code::{CompiledFunc, CompiledParts};
use crate::isa::Isa;
use crate::isa::aarch64::Aarch64Masm;
use crate::isa::masm::{Assembled, MacroAssembler};
use crate::isa::x64::X64Masm;
use crate::module::ModuleInner;
use crate::tier::compiler::{CompileError, Compiler};
use crate::tier::{FuncProfile, Tier};
use crate::vm::frame::FrameLayout;
use build::{BuildOptions, OsrSource};
use lower::EntrySlots;
use tierup_passes::ir::{FuncId, Function, InstKind, Module as IrModule};

/// Tier 2, as tiering sees it.
pub(crate) struct Optimized;

/// The one instance tiering calls.
pub(crate) static OPTIMIZED: Optimized = Optimized;

impl Compiler for Optimized {
    fn tier(&self) -> Tier {
        Tier::Optimized
    }

    fn compile(
        &self,
        module: &ModuleInner,
        def: u32,
        layout: &FrameLayout,
        _profile: &FuncProfile,
    ) -> Result<CompiledFunc, CompileError> {
        compile(module, def, layout, None)
    }

    fn compile_osr(
        &self,
        module: &ModuleInner,
        def: u32,
        layout: &FrameLayout,
        loop_ordinal: u32,
    ) -> Result<CompiledFunc, CompileError> {
        compile(module, def, layout, Some(loop_ordinal))
    }
}

/// Callees at most this many bytes of wasm are built alongside a function, so the pipeline's
/// inliner can take them (it decides by IR size; this only bounds the building).
const INLINE_CANDIDATE_BYTES: usize = 2000;

/// Compiles defined function `def` for the host, entered at its start or, with `osr`, at the
/// header of that loop.
fn compile(
    module: &ModuleInner,
    def: u32,
    layout: &FrameLayout,
    osr: Option<u32>,
) -> Result<CompiledFunc, CompileError> {
    let started = std::time::Instant::now();
    let func_index = module.num_imported_funcs + def;
    let (func, entry) = optimize(module, def, layout, osr)?;
    let assembled = assemble_host(module, &func, &entry, func_index, osr.is_none())?;
    let parts = CompiledParts {
        code: assembled.code,
        tier: Tier::Optimized,
        func_index,
        heap_accesses: assembled.heap_accesses,
        oob_landing: assembled.oob_landing,
        osr_entries: Vec::new(),
        compile_time: started.elapsed(),
    };
    CompiledFunc::new(parts).map_err(|e| CompileError::Internal(e.to_string()))
}

/// Builds `def` (and the callees worth inlining), runs the configured pipeline, and returns the
/// optimized function with where its entry parameters are.
fn optimize(
    module: &ModuleInner,
    def: u32,
    layout: &FrameLayout,
    osr: Option<u32>,
) -> Result<(Function, EntrySlots), CompileError> {
    let env = env::of(module);
    let func_index = module.num_imported_funcs + def;
    let fuel = module.config.consume_fuel.then(|| layout.fuel_segments.to_vec());
    let options = BuildOptions { fuel_segments: fuel.clone(), osr_loop: osr };
    let built = build_one(module, env, def, options)?;
    let entry = match osr {
        None => EntrySlots((0..built.func.sig.params.len() as u32).collect()),
        Some(_) => EntrySlots(
            built
                .osr_sources
                .iter()
                .map(|s| match *s {
                    OsrSource::Local(l) => l,
                    OsrSource::Stack(h) => layout.temp_base() + h,
                })
                .collect(),
        ),
    };
    let mut ir = IrModule { env: env.clone(), funcs: env::stubs(module, env) };
    for callee in inline_candidates(module, &built.func) {
        let callee_def = callee - module.num_imported_funcs;
        let callee_layout = match crate::tier::interp_code(module, callee_def) {
            Ok(code) => &code.layout,
            Err(_) => continue,
        };
        let fuel = module.config.consume_fuel.then(|| callee_layout.fuel_segments.to_vec());
        let options = BuildOptions { fuel_segments: fuel, osr_loop: None };
        if let Ok(b) = build_one(module, env, callee_def, options) {
            ir.funcs[callee as usize] = b.func;
        }
    }
    // An on-stack-replacement variant takes the loop's live values, not the function's
    // parameters: it joins the module as a function of its own (never called), so the function's
    // own index keeps its signature for the calls in its body.
    let slot = match osr {
        None => func_index as usize,
        Some(_) => {
            ir.env.func_sigs.push(built.func.sig.clone());
            ir.funcs.push(Function::new("", built.func.sig.clone()));
            ir.funcs.len() - 1
        }
    };
    ir.funcs[slot] = built.func;
    let mut passes =
        tierup_passes::pass::PassManager::new(&module.config.opt_pipeline).map_err(|e| {
            CompileError::Internal(format!("pipeline `{}`: {e}", module.config.opt_pipeline))
        })?;
    passes.run(&mut ir).map_err(|e| CompileError::Internal(format!("pass pipeline: {e}")))?;
    let func = std::mem::take(&mut ir.funcs[slot]);
    Ok((func, entry))
}

fn build_one(
    module: &ModuleInner,
    env: &tierup_passes::ir::Env,
    def: u32,
    options: BuildOptions,
) -> Result<build::Built, CompileError> {
    let func_index = module.num_imported_funcs + def;
    let name = module.display_name(func_index).unwrap_or_default().to_string();
    let body = module.function_body(def);
    build::build_function(env, name, func_index, &body, options).map_err(CompileError::Unsupported)
}

/// Direct callees of `f` worth building for the inliner: defined, small, not `f` itself, and
/// called before (the profile's call counts: code that never ran is not worth growing `f` for).
fn inline_candidates(module: &ModuleInner, f: &Function) -> Vec<u32> {
    let mut out: Vec<u32> = Vec::new();
    for &b in &f.layout {
        for &i in &f.blocks[b.index()].insts {
            if let InstKind::Call(FuncId(callee)) = f.insts[i.index()].kind {
                let Some(def) = callee.checked_sub(module.num_imported_funcs) else { continue };
                let bytes = module.bodies[def as usize].len();
                let ran =
                    module.tiers.counters(def).calls.load(std::sync::atomic::Ordering::Relaxed) > 0;
                if bytes <= INLINE_CANDIDATE_BYTES && ran && !out.contains(&callee) {
                    out.push(callee);
                }
            }
        }
    }
    out
}

/// Lowers, allocates and emits `func` for the host ISA.
fn assemble_host(
    module: &ModuleInner,
    func: &Function,
    entry: &EntrySlots,
    func_index: u32,
    is_call: bool,
) -> Result<Assembled, CompileError> {
    let bounds = crate::isa::heap_bounds(module.config.signals_based_traps);
    let target = Target { module, func, entry, func_index, is_call };
    match Isa::host() {
        Some(Isa::X64) => assemble(X64Masm::new(bounds), &target),
        Some(Isa::Aarch64) => assemble(Aarch64Masm::with_bounds(false, bounds), &target)
            .or_else(|_| assemble(Aarch64Masm::with_bounds(true, bounds), &target)),
        None => Err(CompileError::Unsupported(format!("tier 2 on {}", std::env::consts::ARCH))),
    }
}

/// What `assemble` compiles: `func` (function `func_index` of `module`), entered with its
/// parameters in `entry`, by a call (`is_call`, counted) or by on-stack replacement.
struct Target<'a> {
    module: &'a ModuleInner,
    func: &'a Function,
    entry: &'a EntrySlots,
    func_index: u32,
    is_call: bool,
}

fn assemble<M: MacroAssembler>(mut masm: M, t: &Target<'_>) -> Result<Assembled, CompileError> {
    let Target { module, func, entry, func_index, is_call } = *t;
    let regs = emit::reg_env(&masm);
    let vcode = lower::lower(func, module.num_imported_funcs, entry, regs.call_clobbers)?;
    let check = cfg!(debug_assertions) || cfg!(test);
    let output = emit::allocate(&vcode, &regs.env, module.config.regalloc, check)?;
    let input = emit::EmitInput {
        func_index,
        def: func_index - module.num_imported_funcs,
        entry,
        num_results: func.sig.results.len(),
        count_calls: module.config.profile_counters && is_call,
    };
    emit::emit(&mut masm, &vcode, &output, &input)?;
    masm.finish().map_err(|e| CompileError::Internal(e.to_string()))
}
