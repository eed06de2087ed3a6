//! Tier 2, the optimizing tier: wasm -> SSA (`build.rs`) -> the `tierup-passes` pipeline ->
//! lowering to VCode (`lower.rs`, `vcode.rs`; blocks ordered loop by loop, `layout.rs`) ->
//! regalloc2 -> emission through the ISA layer's `MacroAssembler` (`emit.rs`).
//!
//! - `OPTIMIZED` is the `Compiler` tiering calls: one function at a time, with its callees that
//!   ran (the profile's call counts) built too so the pipeline's inliner can take them;
//!   on-stack-replacement entries are separate compilations of the function entered at one loop
//!   header (`compile_osr`), made when a running loop asks for one: the entry runs its own copy
//!   of the code from that header on, which branches back into the original loop nest at the
//!   loops around it, so an inner loop entered this way stays an inner loop (`build.rs`).
//! - Code runs on the shared slot frame and is entered like every tier's, so calls between tiers
//!   cost nothing extra; spill slots and the call area sit above the wasm frame (`emit.rs`).
//!
//! This is the only place where wasmparser meets the passes IR; `tierup-passes` itself must never
//! see wasmparser, so its IR can also be written by hand. It must never install anything: tiering
//! does.

mod abi;
pub mod build;
mod emit;
mod env;
#[cfg(test)]
mod filetests;
mod layout;
mod lower;
mod moves;
mod vcode;

pub use build::{BuildError, BuildReport, build_module};
pub use emit::RegallocAlgorithm;

use crate::code::{CompiledFunc, CompiledParts};
use crate::isa::Isa;
use crate::isa::aarch64::Aarch64Masm;
use crate::isa::masm::{Assembled, MacroAssembler};
use crate::isa::x64::X64Masm;
use crate::module::ModuleInner;
use crate::tier::compiler::{CompileError, Compiler, place_outcomes};
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
        compile_alone(module, def, layout, None)
    }

    fn compile_batch(
        &self,
        module: &ModuleInner,
        jobs: &[(u32, &FrameLayout, FuncProfile)],
    ) -> Vec<Result<CompiledFunc, CompileError>> {
        // In runs of neighbours on several threads (`parallel`), back in order; a function's
        // compile time grows faster than its size, but size is the weight known up front.
        let threads = crate::parallel::threads(&module.config);
        let weight =
            |(def, _, _): &&(u32, &FrameLayout, FuncProfile)| module.bodies[*def as usize].len();
        let runs = crate::parallel::in_runs(jobs.iter().collect(), threads, weight, |run| {
            run.into_iter()
                .map(|(def, layout, _)| compile_parts(module, *def, layout, None))
                .collect::<Vec<_>>()
        });
        // All the code in one mapping, calls between its functions linked.
        place_outcomes(runs.into_iter().flatten(), |parts| place(module, parts))
    }

    fn place_loaded(
        &self,
        module: &ModuleInner,
        parts: Vec<CompiledParts>,
    ) -> std::io::Result<Vec<CompiledFunc>> {
        place(module, parts)
    }

    fn separate_osr_entries(&self) -> bool {
        true
    }

    fn compile_osr(
        &self,
        module: &ModuleInner,
        def: u32,
        layout: &FrameLayout,
        loop_ordinal: u32,
    ) -> Result<CompiledFunc, CompileError> {
        compile_alone(module, def, layout, Some(loop_ordinal))
    }
}

/// Callees at most this many bytes of wasm are built alongside a function, so the pipeline's
/// inliner can take them (it decides by IR size; this only bounds the building).
const INLINE_CANDIDATE_BYTES: usize = 2000;

/// Without a profile, only callees this small are offered: every call site off the paths to a
/// trap then counts as hot. Instructions executed at `--size medium` (callgrind), none -> 60 ->
/// 150 bytes: rust-btree 1.93 -> 1.87 -> 1.58 G, c-hash 3.28 -> 3.26 -> 3.06 G, c-sort 4.27 ->
/// 4.27 -> 4.00 G, sqlite 4.97 -> 4.88 -> 4.78 G; sqlite's up-front compile takes 20% more CPU
/// at 150 (1.22 -> 1.47 s), 45% at 400.
const UNPROFILED_CALLEE_BYTES: usize = 150;

/// Maps compiled `parts` executable, in one mapping: unless a debugger may hold functions
/// ([`crate::Config::guest_debug`]), with their calls of each other, and of the module's
/// functions whose tier-2 code is installed already, made direct. Tier-2 code is never
/// replaced, so a callee's register entry stays the one to call; the module keeps all its
/// functions' code as long as any of it (`tier::state`), so a callee outlives its callers.
fn place(module: &ModuleInner, parts: Vec<CompiledParts>) -> std::io::Result<Vec<CompiledFunc>> {
    if module.config.guest_debug {
        return CompiledFunc::new_batch(parts);
    }
    let installed = |func: u32| {
        let def = func.checked_sub(module.num_imported_funcs)?;
        module.tiers.register_entry(def)
    };
    CompiledFunc::new_linked_batch(parts, installed)
}

/// [`compile_parts`], placed in a mapping of its own.
fn compile_alone(
    module: &ModuleInner,
    def: u32,
    layout: &FrameLayout,
    osr: Option<u32>,
) -> Result<CompiledFunc, CompileError> {
    let parts = compile_parts(module, def, layout, osr);
    place_outcomes([parts], |parts| place(module, parts)).pop().expect("one outcome")
}

/// Compiles defined function `def` for the host, entered at its start or, with `osr`, at the
/// header of that loop: the code, not yet mapped.
fn compile_parts(
    module: &ModuleInner,
    def: u32,
    layout: &FrameLayout,
    osr: Option<u32>,
) -> Result<CompiledParts, CompileError> {
    let started = crate::code::CompileClock::start();
    let func_index = module.num_imported_funcs + def;
    let mut stats = Stats::new();
    let inlining = Inlining::for_function(module, def);
    let (func, entry) = optimize(module, def, layout, osr, inlining, &mut stats)?;
    let target = Target {
        module,
        func: &func,
        entry: &entry,
        func_index,
        is_call: osr.is_none(),
        osr_loop: osr,
    };
    // Origins only for a profiler that writes them as line information.
    let lines = module.config.profiling_strategy == crate::ProfilingStrategy::JitDump;
    let (assembled, origins) = assemble_host(&target, lines, &mut stats)?;
    let wasm_offsets = origins
        .into_iter()
        .filter_map(|(code_offset, origin)| match origin {
            emit::Origin::Ir(i) => Some((code_offset, func.insts[i.index()].srcloc?)),
            emit::Origin::Entry | emit::Origin::Moves => None,
        })
        .collect();
    let parts = CompiledParts {
        code: assembled.code,
        tier: Tier::Optimized,
        func_index,
        heap_accesses: assembled.heap_accesses,
        heap_access_wasm: assembled.heap_access_wasm,
        oob_landing: assembled.oob_landing,
        osr_entries: Vec::new(),
        register_entry: assembled.register_entry,
        compile_time: started.elapsed(),
        stats,
        wasm_offsets,
        sig_sites: assembled.sig_sites,
        direct_calls: assembled.direct_calls,
        loaded: false,
    };
    Ok(parts)
}

/// One stretch of tier-2 code, for `tierup explore`: where it starts, the module offset of the
/// wasm operator it came from (when it came from one), and what it was emitted for as text (an
/// IR instruction as the passes print it, or what the compiler added).
pub(crate) struct ExploredStretch {
    pub code_offset: u32,
    pub wasm_offset: Option<u32>,
    pub what: String,
}

/// Compiles defined function `func_index` with tier 2 for reading rather than running, for
/// `isa` (whatever the host), entered by a call or, with `osr_loop`, at that loop's header (the
/// variant on-stack replacement installs): the machine code, where the code of each IR
/// instruction of the optimized function starts, and how long compiling took. Without a
/// profile, callees are offered as to a function compiled before it ran
/// ([`Inlining::Unprofiled`]). Nothing is mapped executable.
pub(crate) fn compile_for_explore(
    isa: Isa,
    module: &ModuleInner,
    func_index: u32,
    layout: &FrameLayout,
    osr_loop: Option<u32>,
) -> Result<(Assembled, Vec<ExploredStretch>, std::time::Duration), CompileError> {
    let started = std::time::Instant::now();
    let def = func_index - module.num_imported_funcs;
    let mut stats = Stats::new();
    let (func, entry) = optimize(module, def, layout, osr_loop, Inlining::Unprofiled, &mut stats)?;
    let is_call = osr_loop.is_none();
    let target = Target { module, func: &func, entry: &entry, func_index, is_call, osr_loop };
    let (assembled, origins) = assemble_for(isa, &target, true, &mut stats)?;
    let compile_time = started.elapsed();
    let stretches = origins
        .into_iter()
        .map(|(code_offset, origin)| {
            let (wasm_offset, what) = match origin {
                emit::Origin::Entry => (None, "(entry: parameters from the frame)".to_string()),
                emit::Origin::Moves => {
                    (None, "(register allocator: moves, spills, reloads)".to_string())
                }
                emit::Origin::Ir(i) => (
                    func.insts[i.index()].srcloc,
                    tierup_passes::text::inst_line(&func, i).trim().to_string(),
                ),
            };
            ExploredStretch { code_offset, wasm_offset, what }
        })
        .collect();
    Ok((assembled, stretches, compile_time))
}

/// Numbers about one compile, for `--stats` (see `CompiledParts::stats`).
type Stats = Vec<(&'static str, u64)>;

/// Instructions in `f`'s live blocks.
fn ir_size(f: &Function) -> u64 {
    f.layout.iter().map(|b| f.blocks[b.index()].insts.len() as u64).sum()
}

/// Which callees are built for the pipeline's inliner to consider.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Inlining {
    /// Small callees that ran (the profile's call counts).
    CalleesThatRan,
    /// Callees of at most [`UNPROFILED_CALLEE_BYTES`], for a compile without a profile: a
    /// function compiled before it ever ran (`--tier optimized`, `tierup compile`), or read by
    /// `tierup explore`.
    Unprofiled,
}

impl Inlining {
    /// The policy for `def` now: by the profile if it ran, else without one.
    fn for_function(module: &ModuleInner, def: u32) -> Inlining {
        use std::sync::atomic::Ordering::Relaxed;
        let counters = module.tiers.counters(def);
        let ran = counters.calls.load(Relaxed) > 0 || counters.back_edges.load(Relaxed) > 0;
        if ran { Inlining::CalleesThatRan } else { Inlining::Unprofiled }
    }
}

/// Builds `def` (and the callees worth inlining), runs the configured pipeline, and returns the
/// optimized function with where its entry parameters are.
fn optimize(
    module: &ModuleInner,
    def: u32,
    layout: &FrameLayout,
    osr: Option<u32>,
    inlining: Inlining,
    stats: &mut Stats,
) -> Result<(Function, EntrySlots), CompileError> {
    if module.memories.iter().any(|m| m.memory64) || module.tables.iter().any(|t| t.table64) {
        // The SSA builder and lowering take every address and element index for an `i32`.
        return Err(CompileError::Unsupported("a module with a 64-bit memory or table".into()));
    }
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
    let mut ir = IrModule { env: env.clone(), funcs: env::take_stubs(module, env) };
    // The slots this compile fills, given back as stand-ins when it is done.
    let mut filled = Vec::new();
    for callee in inline_candidates(module, &built.func, inlining) {
        let callee_def = callee - module.num_imported_funcs;
        let callee_layout = match crate::tier::interp_code(module, callee_def) {
            Ok(code) => &code.layout,
            Err(_) => continue,
        };
        let fuel = module.config.consume_fuel.then(|| callee_layout.fuel_segments.to_vec());
        let options = BuildOptions { fuel_segments: fuel, osr_loop: None };
        if let Ok(b) = build_one(module, env, callee_def, options) {
            ir.funcs[callee as usize] = b.func;
            filled.push(callee as usize);
        }
    }
    // An on-stack-replacement variant takes the loop's live values, not the function's
    // parameters: it joins the module as a function of its own (never called), so the function's
    // own index keeps its signature for the calls in its body.
    let slot = match osr {
        None => func_index as usize,
        Some(_) => {
            std::sync::Arc::make_mut(&mut ir.env).func_sigs.push(built.func.sig.clone());
            ir.funcs.push(Function::new("", built.func.sig.clone()));
            ir.funcs.len() - 1
        }
    };
    ir.funcs[slot] = built.func;
    let mut passes =
        tierup_passes::pass::PassManager::new(&module.config.opt_pipeline).map_err(|e| {
            CompileError::Internal(format!("pipeline `{}`: {e}", module.config.opt_pipeline))
        })?;
    let built_size = ir_size(&ir.funcs[slot]);
    let started = std::time::Instant::now();
    let run = passes.run_focused(&mut ir, tierup_passes::ir::FuncId(slot as u32));
    run.map_err(|e| CompileError::Internal(format!("pass pipeline: {e}")))?;
    let func = std::mem::take(&mut ir.funcs[slot]);
    env::give_back_stubs(module, ir.funcs, &filled);
    stats.extend([
        ("IR instructions built", built_size),
        ("IR instructions optimized", ir_size(&func)),
        ("calls inlined", passes.counter("calls inlined")),
        ("pipeline us", started.elapsed().as_micros() as u64),
    ]);
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

/// Direct callees of `f` worth building for the inliner: defined, small, called off the paths
/// bound to a trap (which the inliner leaves alone), and with [`Inlining::CalleesThatRan`]
/// called before (the profile's call counts: code that never ran is not worth growing `f` for).
fn inline_candidates(module: &ModuleInner, f: &Function, inlining: Inlining) -> Vec<u32> {
    let most_bytes = match inlining {
        Inlining::CalleesThatRan => INLINE_CANDIDATE_BYTES,
        Inlining::Unprofiled => UNPROFILED_CALLEE_BYTES,
    };
    let cold = tierup_passes::analysis::bound_to_trap(f);
    let mut out: Vec<u32> = Vec::new();
    for &b in f.layout.iter().filter(|b| !cold[b.index()]) {
        for &i in &f.blocks[b.index()].insts {
            if let InstKind::Call(FuncId(callee)) = f.insts[i.index()].kind {
                let Some(def) = callee.checked_sub(module.num_imported_funcs) else { continue };
                let bytes = module.bodies[def as usize].len();
                let ran = inlining == Inlining::Unprofiled
                    || module.tiers.counters(def).calls.load(std::sync::atomic::Ordering::Relaxed)
                        > 0;
                if bytes <= most_bytes && ran && !out.contains(&callee) {
                    out.push(callee);
                }
            }
        }
    }
    out
}

/// Lowers, allocates and emits `target` for the host ISA; with `record`, also where the code
/// of each IR instruction starts. Adds the back end's numbers to `stats`.
fn assemble_host(
    target: &Target<'_>,
    record: bool,
    stats: &mut Stats,
) -> Result<(Assembled, Origins), CompileError> {
    let isa = Isa::host().ok_or_else(|| {
        CompileError::Unsupported(format!("tier 2 on {}", std::env::consts::ARCH))
    })?;
    assemble_for(isa, target, record, stats)
}

/// [`assemble_host`] for `isa`, whatever the host (code for reading only, unless `isa` is the
/// host's).
fn assemble_for(
    isa: Isa,
    t: &Target<'_>,
    record: bool,
    stats: &mut Stats,
) -> Result<(Assembled, Origins), CompileError> {
    let bounds = crate::isa::heap_bounds(t.module.config.signals_based_traps);
    let (assembled, origins, backend_stats) = match isa {
        Isa::X64 => assemble(X64Masm::new(bounds), t, record),
        Isa::Aarch64 => assemble(Aarch64Masm::with_bounds(false, bounds), t, record)
            .or_else(|_| assemble(Aarch64Masm::with_bounds(true, bounds), t, record)),
    }?;
    stats.extend(backend_stats);
    Ok((assembled, origins))
}

/// Where each stretch of a function's code starts, and what it was emitted for.
type Origins = Vec<(u32, emit::Origin)>;

/// What `assemble` compiles: `func` (function `func_index` of `module`), entered with its
/// parameters in `entry`, by a call (`is_call`, counted) or by on-stack replacement.
struct Target<'a> {
    module: &'a ModuleInner,
    func: &'a Function,
    entry: &'a EntrySlots,
    func_index: u32,
    is_call: bool,
    /// The loop an on-stack-replacement entry enters at.
    osr_loop: Option<u32>,
}

fn assemble<M: MacroAssembler>(
    mut masm: M,
    t: &Target<'_>,
    record: bool,
) -> Result<(Assembled, Origins, Stats), CompileError> {
    let Target { module, func, entry, func_index, is_call, osr_loop } = *t;
    let regs = emit::reg_env(&mut masm);
    masm.set_module_tail_calls(module.tail_calls);
    let immediates = masm.immediates();
    let conv = lower::Convention::new(func, &regs, masm.argument_registers(), is_call)?;
    let vcode = lower::lower(func, module.num_imported_funcs, entry, &conv, immediates)?;
    let check = cfg!(debug_assertions) || cfg!(test);
    let output = emit::allocate(&vcode, &regs.env, module.config.regalloc, check)?;
    let mut stats = vec![
        ("machine instructions", vcode.insts.len() as u64),
        ("spill slots", output.num_spillslots as u64),
        ("allocator moves", output.edits.len() as u64),
    ];
    let sig_ids: Vec<u32> = module.sigs.iter().map(|s| s.0).collect();
    let srclocs: Vec<Option<u32>> = func.insts.iter().map(|i| i.srcloc).collect();
    let input = emit::EmitInput {
        func_index,
        def: func_index - module.num_imported_funcs,
        entry,
        num_results: func.sig.results.len(),
        count_calls: module.config.profile_counters && is_call,
        imported_globals: module.num_imported_globals,
        sig_ids: &sig_ids,
        record_origins: record,
        guest_profile: module.config.profiling_strategy == crate::ProfilingStrategy::Guest,
        osr_loop,
        entry_offset: module.body_entry_offset(func_index - module.num_imported_funcs),
        srclocs: &srclocs,
        register_abi: conv.entry.as_ref(),
    };
    let emitted = emit::emit(&mut masm, &vcode, &output, &input)?;
    stats.push(("redundant moves left out", emitted.redundant_moves as u64));
    let origins = emitted.origins;
    let body_end = masm.offset();
    let mut assembled = masm.finish().map_err(|e| CompileError::Internal(e.to_string()))?;
    // `finish` put the entry's register saves in front: the body moved by their length.
    let shift = assembled.entry_bytes;
    assembled.code_map.body_end = body_end + shift;
    let origins = origins.into_iter().map(|(at, origin)| (at + shift, origin)).collect();
    Ok((assembled, origins, stats))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Engine, Module};
    use tierup_passes::analysis::{Cfg, DomTree, LoopInfo};

    /// The deepest loop nesting of `f`.
    fn loop_depth(f: &Function) -> u32 {
        let cfg = Cfg::new(f);
        let loops = LoopInfo::new(f, &cfg, &DomTree::new(f, &cfg));
        loops.loops.iter().map(|l| l.depth).max().unwrap_or(0)
    }

    /// On-stack replacement into an inner loop keeps the loop nest: the entry's copy of the
    /// code branches back to the outer loop's header, so the inner loop stays a loop of its own
    /// inside the outer one (entered at the inner header, both would be one loop: the hot inner
    /// loop's registers would carry the outer loop's values).
    #[test]
    fn an_osr_entry_into_an_inner_loop_keeps_the_loop_nest() {
        let wat = r#"(module (memory 1)
            (func (param $n i32) (result i32) (local $i i32) (local $j i32) (local $sum i32)
              (loop $outer
                (local.set $j (i32.const 0))
                (loop $inner
                  (i32.store (i32.shl (local.get $j) (i32.const 2)) (local.get $i))
                  (local.set $sum (i32.add (local.get $sum) (local.get $j)))
                  (br_if $inner (i32.lt_u (local.tee $j (i32.add (local.get $j) (i32.const 1)))
                                          (local.get $n))))
                (br_if $outer (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                                        (local.get $n))))
              (local.get $sum)))"#;
        let module = Module::new(&Engine::default(), wat).unwrap();
        let layout = &crate::tier::interp_code(&module.inner, 0).unwrap().layout;
        let depth = |osr| {
            let mut stats = Stats::new();
            let inlining = Inlining::Unprofiled;
            let (func, _) = optimize(&module.inner, 0, layout, osr, inlining, &mut stats).unwrap();
            loop_depth(&func)
        };
        assert_eq!(depth(None), 2, "entered by a call");
        assert_eq!(depth(Some(1)), 2, "entered at the inner loop's header");
        assert_eq!(depth(Some(0)), 2, "entered at the outer loop's header");
    }

    /// Without a profile, a small callee is inlined where the caller goes on, and kept as a call
    /// on a path that ends in a trap (an error path: `report` then `unreachable`); once the
    /// function ran, only callees that ran are offered.
    #[test]
    fn unprofiled_compiles_inline_small_callees_off_the_paths_to_a_trap() {
        let wat = r#"(module
              (func $twice (param i32) (result i32) (i32.add (local.get 0) (local.get 0)))
              (func $report (param i32) (drop (local.get 0)))
              (func $f (export "f") (param i32) (result i32)
                (if (i32.eqz (local.get 0)) (then (call $report (local.get 0)) (unreachable)))
                (call $twice (local.get 0))))"#;
        let module = Module::new(&Engine::default(), wat).unwrap();
        let layout = &crate::tier::interp_code(&module.inner, 2).unwrap().layout;
        let inlined_calls = |inlining| {
            let mut stats = Stats::new();
            let (func, _) = optimize(&module.inner, 2, layout, None, inlining, &mut stats).unwrap();
            let calls = func
                .layout
                .iter()
                .flat_map(|b| &func.blocks[b.index()].insts)
                .filter(|&&i| matches!(func.insts[i.index()].kind, InstKind::Call(_)))
                .count();
            let inlined = stats.iter().find(|(name, _)| *name == "calls inlined").unwrap().1;
            (inlined, calls)
        };
        assert!(matches!(Inlining::for_function(&module.inner, 2), Inlining::Unprofiled));
        assert_eq!(inlined_calls(Inlining::Unprofiled), (1, 1), "twice inlined, report kept");
        // No callee ran yet: with the profile's policy nothing is offered.
        assert_eq!(inlined_calls(Inlining::CalleesThatRan), (0, 2));
    }

    /// A `tbz` reaches only 32 KiB: a tier-2 function whose bit test branches farther is refused
    /// by the near assembler (not silently truncated) and assembled with far branches instead.
    #[test]
    fn aarch64_bit_tests_beyond_tbz_reach_compile_with_far_branches() {
        let stores: String = (0..6000)
            .map(|i| format!("(i32.store offset={} (local.get 0) (local.get 0))", i * 4))
            .collect();
        let wat = format!(
            "(module (memory 1) (func (param i32) (result i32) \
             (block (br_if 0 (i32.and (local.get 0) (i32.const 4))) {stores}) (local.get 0)))"
        );
        let module = Module::new(&Engine::default(), &wat).unwrap();
        let layout = &crate::tier::interp_code(&module.inner, 0).unwrap().layout;
        let (assembled, _, _) =
            compile_for_explore(Isa::Aarch64, &module.inner, 0, layout, None).unwrap();
        assert!(assembled.code.len() > 32 << 10, "{} bytes", assembled.code.len());

        let mut stats = Stats::new();
        let inlining = Inlining::Unprofiled;
        let (func, entry) = optimize(&module.inner, 0, layout, None, inlining, &mut stats).unwrap();
        let target = Target {
            module: &module.inner,
            func: &func,
            entry: &entry,
            func_index: 0,
            is_call: true,
            osr_loop: None,
        };
        let bounds = crate::isa::heap_bounds(module.inner.config.signals_based_traps);
        let near = assemble(Aarch64Masm::with_bounds(false, bounds), &target, false);
        assert!(near.is_err(), "the near form assembled");
    }

    #[test]
    fn leaves_called_at_the_end_of_the_value_stack_run_and_recursion_still_traps() {
        // `$leaf` calls nothing, so its prologue checks no stack (`FrameSetup::checks_stacks`):
        // `$deep` calls it from every level, the deepest of which ends at the stack's end.
        use crate::{Config, Error, Linker, Store, TrapCode, Val};
        let wat = r#"(module (memory 1)
            (func $leaf (param i32) (result i32)
              (i32.store (i32.const 64) (i32.add (i32.load (i32.const 64)) (i32.const 1)))
              (i32.mul (local.get 0) (i32.const 3)))
            (func $deep (export "deep") (param i32) (result i32)
              (drop (call $leaf (local.get 0)))
              (if (result i32) (i32.eqz (local.get 0))
                (then (call $leaf (i32.const 7)))
                (else (call $deep (i32.sub (local.get 0) (i32.const 1))))))
            (func (export "total") (result i32) (i32.load (i32.const 64))))"#;
        let engine = Engine::new(Config {
            max_wasm_stack: 64 << 10,
            tier: Tier::Optimized.into(),
            ..Config::default()
        });
        let module = Module::new(&engine, wat).unwrap();
        let mut store = Store::new(&engine, ());
        let instance = Linker::new().instantiate(&mut store, &module).unwrap();
        let deep = instance.get_func(&store, "deep").unwrap();
        let mut out = [Val::I32(0)];
        deep.call(&mut store, &[Val::I32(100)], &mut out).unwrap();
        assert_eq!(out[0], Val::I32(21));
        let err = deep.call(&mut store, &[Val::I32(1_000_000)], &mut out).unwrap_err();
        let Error::Trap(trap) = err else { panic!("expected a trap, got {err}") };
        assert_eq!(trap.code, TrapCode::StackOverflow);
        // Every level before the overflow ran its leaf: 101 levels and the base case's, then
        // (at least) hundreds until the 64 KiB stack ran out.
        let total = instance.get_func(&store, "total").unwrap();
        total.call(&mut store, &[], &mut out).unwrap();
        let Val::I32(leaves) = out[0] else { panic!() };
        assert!(leaves > 102 + 200, "the leaves ran: {leaves}");
    }

    /// Where the running code of `caller` (defined function `def`) calls at each of its direct
    /// call sites, by callee: the address of a linked call, `None` for a site that still looks
    /// its callee's register entry up (what written-out code, its portable parts, always has).
    #[cfg(target_arch = "x86_64")]
    fn direct_call_targets(caller: &CompiledFunc, def: u32) -> Vec<(u32, Option<usize>)> {
        let written = caller.portable_parts(def);
        let targets = written.direct_calls.iter().map(|site| {
            let (start, end) = (site.start as usize, site.end as usize);
            assert_eq!(written.code[end - 2..end], [0xFF, 0xD1], "the lookup's `call rcx`");
            let running = &caller.bytes()[start..end];
            if running == &written.code[start..end] {
                return (site.callee, None);
            }
            assert_eq!(running[running.len() - 5], 0xE8, "call rel32");
            let rel = i32::from_le_bytes(running[running.len() - 4..].try_into().unwrap());
            let target = (caller.address() as usize + end).wrapping_add_signed(rel as isize);
            (site.callee, Some(target))
        });
        targets.collect()
    }

    /// Tier-2 functions compiled up front share one mapping, and their calls of each other
    /// (recursion included) become direct calls of the callee's register entry. Results, traps
    /// and backtraces are the same; with `guest_debug` the calls stay lookups (a debugger may
    /// hold any callee).
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn calls_between_functions_compiled_together_are_direct_unless_debugging() {
        use crate::{Config, Error, Linker, Store, TrapCode, Val};
        let wat = r#"(module
            (func $add (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
            (func $fact (export "fact") (param i32) (result i32)
              (if (result i32) (i32.eqz (local.get 0))
                (then (i32.const 1))
                (else (i32.mul (local.get 0)
                  (call $fact (call $add (local.get 0) (i32.const -1)))))))
            (func $div (param i32) (result i32) (i32.div_u (i32.const 100) (local.get 0)))
            (func $ratio (export "ratio") (param i32) (result i32)
              (i32.add (call $div (local.get 0)) (i32.const 1))))"#;
        for guest_debug in [false, true] {
            // No passes: the inliner would take the small callees in.
            let engine = Engine::new(Config {
                tier: Tier::Optimized.into(),
                opt_pipeline: String::new(),
                guest_debug,
                ..Config::default()
            });
            let module = Module::new(&engine, wat).unwrap();
            let mut store = Store::new(&engine, ());
            let instance = Linker::new().instantiate(&mut store, &module).unwrap();
            let mut out = [Val::I32(0)];
            let fact = instance.get_func(&store, "fact").unwrap();
            fact.call(&mut store, &[Val::I32(10)], &mut out).unwrap();
            assert_eq!(out[0], Val::I32(3628800));
            let ratio = instance.get_func(&store, "ratio").unwrap();
            ratio.call(&mut store, &[Val::I32(7)], &mut out).unwrap();
            assert_eq!(out[0], Val::I32(15));
            let err = ratio.call(&mut store, &[Val::I32(0)], &mut out).unwrap_err();
            let Error::Trap(trap) = err else { panic!("expected a trap, got {err}") };
            assert_eq!(trap.code, TrapCode::IntegerDivideByZero);
            let frames: Vec<u32> = trap.backtrace.iter().map(|f| f.func_index).collect();
            assert_eq!(frames, [2, 3], "the callee, then its caller");

            let tiers = &module.inner.tiers;
            let entry = |def| tiers.compiled(def, Tier::Optimized).unwrap().register_entry();
            let targets = direct_call_targets(tiers.compiled(1, Tier::Optimized).unwrap(), 1);
            match guest_debug {
                false => assert_eq!(targets, [(0, entry(0)), (1, entry(1))], "add, then fact"),
                true => assert_eq!(targets, [(0, None), (1, None)], "lookups"),
            }
        }
    }

    /// A function compiled alone (as `auto` tiers one up) calls itself and the callees whose
    /// tier-2 code was installed before it directly; a callee without tier-2 code yet keeps the
    /// lookup, and reaches the callee's entry in whatever tier it runs.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn a_function_compiled_alone_calls_itself_and_installed_tier_2_callees_directly() {
        use crate::{Config, Linker, Store, Val};
        let wat = r#"(module
            (func $add (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
            (func $neg (param i32) (result i32) (i32.sub (i32.const 0) (local.get 0)))
            (func $f (export "f") (param i32) (result i32)
              (if (result i32) (i32.eqz (local.get 0))
                (then (i32.const 0))
                (else (call $add (call $neg (local.get 0))
                                 (call $f (i32.sub (local.get 0) (i32.const 1))))))))"#;
        let engine = Engine::new(Config { opt_pipeline: String::new(), ..Config::default() });
        let module = Module::new(&engine, wat).unwrap();
        crate::tier::compile_and_install(&module, 0, Tier::Optimized);
        crate::tier::compile_and_install(&module, 2, Tier::Optimized);
        let tiers = &module.inner.tiers;
        let entry = |def| tiers.compiled(def, Tier::Optimized).unwrap().register_entry();
        let targets = direct_call_targets(tiers.compiled(2, Tier::Optimized).unwrap(), 2);
        assert_eq!(targets, [(1, None), (2, entry(2)), (0, entry(0))], "neg, f, add");
        let mut store = Store::new(&engine, ());
        let instance = Linker::new().instantiate(&mut store, &module).unwrap();
        let f = instance.get_func(&store, "f").unwrap();
        let mut out = [Val::I32(0)];
        f.call(&mut store, &[Val::I32(10)], &mut out).unwrap();
        assert_eq!(out[0], Val::I32(-55));
    }

    /// Division by constants (multiplications in the ISA layer, `isa::const_div`) computes what
    /// Rust's division computes, on every tier, for divisors of each plan and dividends at the
    /// edges, near multiples of the divisor at the top of the range, and between.
    #[test]
    fn divisions_by_constants_match_rust_on_every_tier() {
        use crate::{Config, Linker, Store, Tier, Val};
        let divisors32: Vec<i64> = vec![
            1,
            2,
            3,
            5,
            6,
            7,
            10,
            24,
            30,
            100,
            641,
            1000,
            65521,
            0x7fff_ffff,
            0x4000_0000,
            -2,
            -3,
            -7,
            -10,
            -100,
            i32::MIN as i64,
            i32::MIN as i64 + 1,
            0xffff_fffe,
            0x8000_0001,
        ];
        let divisors64: Vec<i64> = vec![
            1,
            2,
            3,
            7,
            10,
            113,
            1000,
            10_000,
            1_000_000_007,
            1 << 40,
            3 << 40,
            i64::MAX,
            -2,
            -3,
            -7,
            -10,
            -113,
            i64::MIN,
            i64::MIN + 1,
            (1 << 62) + 1,
            -(1 << 33) - 5,
        ];
        let ops = ["div_s", "div_u", "rem_s", "rem_u"];
        let mut funcs = String::new();
        let mut cases = Vec::new();
        for (ty, divisors) in [("i32", &divisors32), ("i64", &divisors64)] {
            for &d in divisors {
                for op in ops {
                    funcs += &format!(
                        "(func (export \"f{}\") (param {ty}) (result {ty}) \
                         ({ty}.{op} (local.get 0) ({ty}.const {d})))",
                        cases.len()
                    );
                    cases.push((ty, op, d));
                }
            }
        }
        let wat = format!("(module {funcs})");
        let dividends32 = [
            0i64,
            1,
            -1,
            7,
            -7,
            99,
            -101,
            0x7fff_ffff,
            i32::MIN as i64,
            0x7fff_fffe,
            i32::MIN as i64 + 1,
            0x3fff_ffff,
            0x4000_0001,
            0x5555_5555,
            0x1234_5678,
            -0x1234_5678,
            0xffff_fffe,
            4_294_967_291,
            2_147_483_646,
            1_000_000_000,
            -999_999_999,
        ];
        let dividends64 = [
            0i64,
            1,
            -1,
            7,
            -7,
            i64::MAX,
            i64::MIN,
            i64::MAX - 1,
            i64::MIN + 1,
            0x5555_5555_5555_5555,
            0x1234_5678_9abc_def0,
            -0x1234_5678_9abc_def0,
            u32::MAX as i64,
            -(u32::MAX as i64),
            1 << 40,
            (3 << 40) - 1,
            999_999_999_999,
            -1_000_000_007_000,
        ];
        let expected = |ty: &str, op: &str, n: i64, d: i64| -> Option<i64> {
            Some(match (ty, op) {
                ("i32", "div_s") => (n as i32).checked_div(d as i32)? as i64,
                ("i32", "div_u") => (n as u32 / d as u32) as i32 as i64,
                ("i32", "rem_s") => (n as i32).wrapping_rem(d as i32) as i64,
                ("i32", "rem_u") => (n as u32 % d as u32) as i32 as i64,
                ("i64", "div_s") => n.checked_div(d)?,
                ("i64", "div_u") => (n as u64 / d as u64) as i64,
                ("i64", "rem_s") => n.wrapping_rem(d),
                _ => (n as u64 % d as u64) as i64,
            })
        };
        for tier in [Tier::Interp, Tier::Baseline, Tier::Optimized] {
            let engine = Engine::new(Config { tier: tier.into(), ..Config::default() });
            let module = Module::new(&engine, &wat).unwrap();
            if tier != Tier::Interp {
                let compiled = (0..cases.len() as u32)
                    .filter(|&f| module.inner.tiers.compiled(f, tier).is_some())
                    .count();
                assert_eq!(compiled, cases.len(), "{tier:?} compiled every function");
            }
            let mut store = Store::new(&engine, ());
            let instance = Linker::new().instantiate(&mut store, &module).unwrap();
            for (i, &(ty, op, d)) in cases.iter().enumerate() {
                let func = instance.get_func(&store, &format!("f{i}")).unwrap();
                let dividends: &[i64] = if ty == "i32" { &dividends32 } else { &dividends64 };
                for &n in dividends {
                    let arg = if ty == "i32" { Val::I32(n as i32) } else { Val::I64(n) };
                    let mut out = [Val::I32(0)];
                    let result = func.call(&mut store, &[arg], &mut out);
                    let got = result.ok().map(|()| match out[0] {
                        Val::I32(v) => v as i64,
                        Val::I64(v) => v,
                        other => panic!("{other:?}"),
                    });
                    assert_eq!(got, expected(ty, op, n, d), "{tier:?}: {ty}.{op} {n} by {d}");
                }
            }
        }
    }
}
