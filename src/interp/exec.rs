//! The interpreter's execution loop: runs translated bytecode until the entry function returns.
//!
//! Calls between interpreted functions never recurse on the host stack: each call pushes a [`Frame`]
//! record and switches `pc`/`fp`. Only host functions that call back into wasm nest executions, and
//! that nesting is bounded. The hot state (`pc`, `fp`, the code base, the memory base and length) lives
//! in locals so it stays in registers; it is reloaded only after calls that may change it.
//!
//! Safety rests on invariants the translator establishes from validated code:
//! - every slot operand is below the function's `frame_size`, and every frame is checked to fit in
//!   the stack before it is entered;
//! - every branch target is an index inside the function's code, which ends in `Return`;
//! - memory accesses are bounds-checked here against the current memory length.
//!
//! This module must never let a guest address reach memory without a bounds check.

use super::code::{Instr, InterpFunc, SLOT_BYTES};
use super::num;
use super::simd;
use super::stack::MAX_NESTING;
use crate::jit::masm::RuntimeOp;
use crate::jit::{FuncEntry, JitCtx, JitFunc, TRAP_PENDING, trap_code};
use crate::module::Module;
use crate::tier::{FuncProfile, Tier, TierUpEvent};
use crate::val::Val;
use crate::vm::store::{Caller, FuncKind, Instance, Store};
use crate::vm::{FrameInfo, Func, Trap, TrapCode};
use std::ptr::NonNull;

/// A suspended caller.
#[derive(Clone, Copy)]
struct Frame {
    ret_pc: *const Instr,
    fp: *mut u128,
    def: u32,
    instance: u32,
    /// Pushed by a call out of tier-1 code: the frames below belong to a tier-1 caller, which
    /// names itself in backtraces (see `JitCtx::unwind`), so backtraces built here stop at it.
    tier1_boundary: bool,
}

/// `Executor::def` while no wasm function of this execution is current (inside a call helper
/// before the callee is entered); such frames are left out of backtraces.
const NO_FUNC: u32 = u32::MAX;

/// Calls `func` with `args`, writing `results`. Types have been checked by the caller.
pub(crate) fn call<T>(
    store: &mut Store<T>,
    func: Func,
    args: &[Val],
    results: &mut [Val],
) -> Result<(), Trap> {
    let entity = store.inner.func(func);
    let (instance, def) = match entity.kind {
        FuncKind::Host { index } => return call_host(store, index, func, None, args, results),
        FuncKind::Wasm { instance, def_index } => (instance, def_index),
    };
    let result_types: Vec<_> = entity.ty.results().to_vec();
    let stack = &mut store.inner.stack;
    let base = stack.top;
    let needed = args.len().max(results.len());
    if base + needed > stack.len() || stack.nesting >= MAX_NESTING {
        return Err(Trap::new(TrapCode::StackOverflow));
    }
    for (i, arg) in args.iter().enumerate() {
        // SAFETY: `base + i < base + needed <= len`, checked above.
        unsafe { stack.slot_ptr(base + i).write(arg.to_raw()) };
    }
    stack.nesting += 1;
    let outcome = Executor::new(store, instance).run(def, base);
    store.inner.stack.nesting -= 1;
    outcome?;
    for (i, (result, ty)) in results.iter_mut().zip(result_types).enumerate() {
        // SAFETY: as for the arguments; the callee wrote its results to `base..`.
        *result = Val::from_raw(ty, unsafe { store.inner.stack.slot_ptr(base + i).read() });
    }
    Ok(())
}

/// Calls host function `index` (store handle `func`) on behalf of `instance`.
fn call_host<T>(
    store: &mut Store<T>,
    index: u32,
    func: Func,
    instance: Option<u32>,
    args: &[Val],
    results: &mut [Val],
) -> Result<(), Trap> {
    let host = store.host_funcs[index as usize].clone();
    let caller = Caller { store: &mut *store, instance: instance.map(Instance) };
    host(caller, args, results)?;
    let ty = &store.inner.func(func).ty;
    for (val, expected) in results.iter().zip(ty.results()) {
        if val.ty() != *expected {
            return Err(Trap::host(format!(
                "host function returned a {} where its signature says {expected}",
                val.ty()
            )));
        }
    }
    Ok(())
}

/// The state of one execution: the current instance's cached pointers and the frame stack.
struct Executor<'s, T> {
    store: &'s mut Store<T>,
    instance: u32,
    module: Module,
    funcs: *const InterpFunc,
    num_imported_funcs: u32,
    globals: *const *mut u128,
    profile: *mut FuncProfile,
    /// The current instance's `tier_up_budget`.
    budget: *mut i64,
    memory: Option<u32>,
    mem_base: *mut u8,
    mem_len: usize,
    /// The running function's defined-function index.
    def: u32,
    frames: Vec<Frame>,
    /// A trap raised below a tier-1 frame, on its way up through tier-1 code (see `TRAP_PENDING`).
    pending_trap: Option<Trap>,
    /// See [`native_stack_limit`]; computed once per execution.
    native_stack_limit: usize,
    /// Whether to count calls and back-edges (`Config::profile_counters`).
    profiling: bool,
    stack_end: *mut u128,
    max_depth: usize,
    /// The current instance's tier-1 function table (`InstanceEntity::jit_entries`).
    jit_entries: *mut FuncEntry,
    /// Hotness a call and a back-edge spend from a function's tier-up budget.
    call_weight: i64,
    back_edge_weight: i64,
}

// Reads the slot at byte offset `$slot` of the current frame as `$ty`.
macro_rules! rd {
    ($fp:ident, $ty:ty, $slot:expr) => {
        // SAFETY: the translator only emits slot offsets below `frame_size * 16`, the frame was
        // checked to fit in the stack on entry; slots are 16-byte aligned and hold any type of at
        // most 16 bytes.
        unsafe { $fp.byte_add($slot as usize).cast::<$ty>().read() }
    };
}

// Writes `$val` into the slot at byte offset `$slot` of the current frame.
macro_rules! wr {
    ($fp:ident, $slot:expr, $val:expr) => {{
        let v = $val;
        // SAFETY: as for `rd!`.
        unsafe { write_slot($fp.byte_add($slot as usize), v) }
    }};
}

/// Writes a value of any slot-sized type at the start of a slot.
///
/// # Safety
/// `slot` must point at a slot of a live frame; `V` must be at most 16 bytes.
#[inline(always)]
unsafe fn write_slot<V>(slot: *mut u128, v: V) {
    // SAFETY: guaranteed by the caller; slots are 16-byte aligned.
    unsafe { slot.cast::<V>().write(v) }
}

impl<'s, T> Executor<'s, T> {
    fn new(store: &'s mut Store<T>, instance: u32) -> Self {
        let module = store.inner.instances[instance as usize].module.clone();
        let stack_end = store.inner.stack.end_ptr();
        let max_depth = store.inner.stack.max_depth.saturating_sub(store.inner.stack.depth);
        let config = store.inner.engine.config();
        let profiling = config.profile_counters;
        let weight = |w: u64| w.min(i64::MAX as u64) as i64;
        let (call_weight, back_edge_weight) =
            (weight(config.tier_up.call_weight), weight(config.tier_up.back_edge_weight));
        let mut ex = Executor {
            store,
            instance,
            funcs: module.inner.code.as_ptr(),
            num_imported_funcs: module.inner.num_imported_funcs,
            module,
            globals: std::ptr::null(),
            profile: std::ptr::null_mut(),
            budget: std::ptr::null_mut(),
            memory: None,
            mem_base: NonNull::dangling().as_ptr(),
            mem_len: 0,
            def: 0,
            frames: Vec::new(),
            pending_trap: None,
            native_stack_limit: native_stack_limit(),
            profiling,
            stack_end,
            max_depth,
            jit_entries: std::ptr::null_mut(),
            call_weight,
            back_edge_weight,
        };
        ex.switch_instance(instance);
        ex
    }

    /// Makes `instance` current: reloads every cached pointer derived from it.
    fn switch_instance(&mut self, instance: u32) {
        self.instance = instance;
        let entity = &mut self.store.inner.instances[instance as usize];
        if !std::sync::Arc::ptr_eq(&self.module.inner, &entity.module.inner) {
            self.module = entity.module.clone();
        }
        self.funcs = self.module.inner.code.as_ptr();
        self.num_imported_funcs = self.module.inner.num_imported_funcs;
        self.globals = entity.global_cells.as_ptr();
        self.profile = entity.profile.as_mut_ptr();
        self.budget = entity.tier_up_budget.as_mut_ptr();
        self.memory = entity.memories.first().copied();
        if entity.jit_entries.is_empty() {
            let num_imported = self.module.inner.num_imported_funcs as usize;
            let helper: FuncEntry = call_from_tier1::<T>;
            let module = &self.module.inner;
            entity.jit_entries = (0..num_imported)
                .map(|_| helper)
                .chain(
                    (0..module.code.len() as u32)
                        .map(|def| module.jit_code(def).map_or(helper, JitFunc::entry)),
                )
                .collect();
        }
        self.jit_entries = entity.jit_entries.as_mut_ptr();
        self.refresh_memory();
    }

    /// Reloads the memory base and length (after `memory.grow` or anything that may have grown it).
    fn refresh_memory(&mut self) {
        if let Some(m) = self.memory {
            let memory = &self.store.inner.memories[m as usize];
            self.mem_base = memory.base();
            self.mem_len = memory.len();
        }
    }

    /// Sets up the frame of defined function `def` at `fp` and returns its code, or runs it to
    /// completion in tier 1 and returns `None` when it has compiled code.
    fn enter(&mut self, def: u32, fp: *mut u128) -> Result<Option<*const Instr>, Trap> {
        // SAFETY: `def` is a defined-function index of the current module (validated call target
        // or table entry resolved to this instance), so it is in bounds of `funcs`.
        let f = unsafe { &*self.funcs.add(def as usize) };
        let frame_end = fp.wrapping_add(f.frame_size as usize);
        if frame_end > self.stack_end || self.frames.len() >= self.max_depth {
            self.def = def;
            return Err(self.trap(TrapCode::StackOverflow));
        }
        self.def = def;
        if self.profiling {
            // SAFETY: `profile` and `budget` have one entry per defined function of this
            // instance.
            let budget = unsafe {
                (*self.profile.add(def as usize)).calls += 1;
                &mut *self.budget.add(def as usize)
            };
            *budget -= self.call_weight;
            if *budget <= 0 {
                self.tier_up(false);
            }
        }
        if let Some(jit) = self.module.inner.jit_code(def) {
            let jit: *const JitFunc = jit;
            // SAFETY: the module (held by `self.module` for as long as this instance is current,
            // and by the instance itself) owns the function; it is not dropped during the call.
            // Tier-1 code initializes its own frame.
            return self.run_tier1(unsafe { &*jit }, fp).map(|()| None);
        }
        // SAFETY: `[fp, frame_end)` lies inside the stack (checked above), and the initial image
        // covers slots `num_params..num_params + frame_init.len() <= frame_size`.
        unsafe {
            let init = fp.add(f.num_params as usize);
            let image = &f.frame_init;
            // Most frames initialize a handful of slots: a plain loop beats a `memcpy` call.
            if image.len() <= 8 {
                for (i, v) in image.iter().enumerate() {
                    init.add(i).write(*v);
                }
            } else {
                init.copy_from_nonoverlapping(image.as_ptr(), image.len());
            }
        }
        Ok(Some(f.code.as_ptr()))
    }

    /// Runs tier-1 code on the frame at `fp`, which `enter` has checked.
    fn run_tier1(&mut self, jit: &JitFunc, fp: *mut u128) -> Result<(), Trap> {
        // SAFETY: the frame at `fp` was checked to fit in the stack; the context describes this
        // instance and this executor (see `with_jit_ctx`).
        self.with_jit_ctx(|ctx| unsafe { jit.call(ctx, fp) })
    }

    /// Runs tier-1 code through `run` with a context for the current instance, and turns its
    /// status into the outcome.
    fn with_jit_ctx(&mut self, run: impl FnOnce(&mut JitCtx) -> u32) -> Result<(), Trap> {
        let mut ctx = JitCtx {
            mem_base: self.mem_base,
            mem_len: self.mem_len as u64,
            globals: self.globals,
            funcs: self.jit_entries,
            call_indirect: call_indirect_from_tier1::<T>,
            memory_grow: memory_grow_from_tier1::<T>,
            unwind: unwind_tier1::<T>,
            stack_end: self.stack_end,
            native_stack_limit: self.native_stack_limit,
            fuel: &mut self.store.inner.fuel,
            executor: (self as *mut Self).cast(),
            runtime: runtime_from_tier1::<T>,
        };
        // `executor` is `self`, which is not otherwise used until `run` returns (the helpers
        // reborrow it from the pointer).
        let status = run(&mut ctx);
        match status {
            0 => Ok(()),
            TRAP_PENDING => {
                let mut trap = self.pending_trap.take().expect("a pending trap was stored");
                // The tier-1 frames named themselves; the interpreted callers below follow.
                self.push_caller_frames(&mut trap);
                Err(trap)
            }
            code => Err(self.trap(trap_code(code))),
        }
    }

    /// The current function's tier-up budget ran out: compiles it with tier 1 (unless that was
    /// tried before) and points this instance's function table at the code. Returns the code.
    #[cold]
    #[inline(never)]
    fn tier_up(&mut self, osr: bool) -> Option<&JitFunc> {
        let def = self.def;
        // SAFETY: `profile` and `budget` have one entry per defined function of this instance.
        let profile = unsafe {
            // Never again, whatever tier 1 says: a refused function is not retried.
            self.budget.add(def as usize).write(i64::MAX);
            &mut *self.profile.add(def as usize)
        };
        let module = &self.module.inner;
        let jit = module.compile_tier1_lazily(def)?;
        profile.tiered_up = Some(TierUpEvent {
            calls: profile.calls,
            back_edges: profile.back_edges,
            elapsed: self.store.inner.created.elapsed(),
            osr,
        });
        let index = (module.num_imported_funcs + def) as usize;
        // SAFETY: the table has an entry per function of the module (`switch_instance`); tier-1
        // code reads it only between its own instructions on this thread.
        unsafe { self.jit_entries.add(index).write(jit.entry()) };
        Some(jit)
    }

    /// The budget ran out on a back-edge to the loop header at `header`: tiers the current
    /// function up and, if tier 1 has an entry for that loop, runs the rest of the function
    /// there. `true` when the function has returned (its results are in place).
    #[cold]
    #[inline(never)]
    fn on_stack_replace(&mut self, header: *const Instr, fp: *mut u128) -> Result<bool, Trap> {
        let Some(jit) = self.tier_up(true) else { return Ok(false) };
        let jit: *const JitFunc = jit;
        // SAFETY: `def` is the running function, so it is in bounds of `funcs`; `header` points
        // into its code.
        let code = unsafe { &*self.funcs.add(self.def as usize) };
        let index = unsafe { header.offset_from(code.code.as_ptr()) } as u32;
        let Some(ordinal) = code.loop_headers.iter().position(|&h| h == index) else {
            return Ok(false);
        };
        let mut entered = false;
        // SAFETY: the module owns the code for as long as this instance is current (see
        // `enter`); the interpreter is at the loop's header, where both tiers keep every value
        // in its canonical slot or as a constant, on a frame checked at entry.
        self.with_jit_ctx(|ctx| match unsafe { (*jit).call_at_loop(ctx, fp, ordinal) } {
            Some(status) => {
                entered = true;
                status
            }
            None => 0,
        })?;
        Ok(entered)
    }

    /// A `call_indirect` made by tier-1 code; the table index is in the slot after the arguments.
    fn call_indirect_from_tier1(
        &mut self,
        ty: u32,
        table: u32,
        callee_fp: *mut u128,
    ) -> Result<(), Trap> {
        let num_params = self.module.inner.types[ty as usize].params().len();
        // SAFETY: tier-1 code spilled the arguments and the index to the caller's canonical
        // slots, which start at `callee_fp` and lie inside the caller's frame.
        let index = unsafe { callee_fp.add(num_params).cast::<u32>().read() };
        let func = self.resolve_indirect(ty, table, index).map_err(Trap::new)?;
        self.call_store_func_from_tier1(func, callee_fp)
    }

    /// A call made by tier-1 code to a function without tier-1 code of this instance: runs
    /// function `func` on the frame at `callee_fp`, in whatever tier it has.
    fn call_from_tier1(&mut self, func: u32, callee_fp: *mut u128) -> Result<(), Trap> {
        if func < self.num_imported_funcs {
            let target = self.store.inner.instances[self.instance as usize].funcs[func as usize];
            return self.call_store_func_from_tier1(Func(target), callee_fp);
        }
        let def = func - self.num_imported_funcs;
        self.with_tier1_caller(callee_fp, |this| {
            if let Some(pc) = this.enter(def, callee_fp)? {
                this.interpret(pc, callee_fp)?;
            }
            Ok(())
        })
    }

    /// Tier-1 code calling a function by store handle (an import or a table entry).
    fn call_store_func_from_tier1(&mut self, func: Func, callee_fp: *mut u128) -> Result<(), Trap> {
        self.with_tier1_caller(callee_fp, |this| {
            if let Some(pc) = this.call_func(func, std::ptr::null(), callee_fp, callee_fp)? {
                this.interpret(pc, callee_fp)?;
                // Back from the callee: undo the frame `call_func` pushed.
                this.pop_frame();
            }
            Ok(())
        })
    }

    /// Runs `call` below a tier-1 caller, once the host stack has been checked (tier-1 calls
    /// recurse on it). A boundary frame separates the callee's frames from the tier-1 ones, which
    /// name themselves when a trap passes through them.
    fn with_tier1_caller(
        &mut self,
        callee_fp: *mut u128,
        call: impl FnOnce(&mut Self) -> Result<(), Trap>,
    ) -> Result<(), Trap> {
        if native_stack_exhausted(self.native_stack_limit) {
            return Err(Trap::new(TrapCode::StackOverflow));
        }
        let boundary = Frame {
            ret_pc: std::ptr::null(),
            fp: callee_fp,
            def: self.def,
            instance: self.instance,
            tier1_boundary: true,
        };
        self.frames.push(boundary);
        self.def = NO_FUNC;
        let outcome = call(self);
        // Unwind to the boundary whatever happened below, restoring the tier-1 caller's state.
        while self.frames.pop().is_some_and(|f| !f.tier1_boundary) {}
        self.def = boundary.def;
        if boundary.instance != self.instance {
            self.switch_instance(boundary.instance);
        }
        outcome
    }

    /// Pops the caller's frame unless the frame stack is back at `depth` (the function this
    /// interpretation started with returned).
    fn pop_frame_above(&mut self, depth: usize) -> Option<(*const Instr, *mut u128)> {
        if self.frames.len() == depth { None } else { self.pop_frame() }
    }

    /// Pops the caller's frame after a callee finished; `None` when the entry function returned.
    fn pop_frame(&mut self) -> Option<(*const Instr, *mut u128)> {
        let frame = self.frames.pop()?;
        self.def = frame.def;
        if frame.instance != self.instance {
            self.switch_instance(frame.instance);
        }
        Some((frame.ret_pc, frame.fp))
    }

    /// Builds a trap with the backtrace of this execution, innermost frame first, up to the
    /// nearest tier-1 caller (which adds itself and what is below it).
    fn trap(&self, code: TrapCode) -> Trap {
        let mut trap = Trap::new(code);
        if self.def != NO_FUNC {
            trap.push_frame(|| self.frame_info(self.instance, self.def, Tier::Interp));
        }
        self.push_caller_frames(&mut trap);
        trap
    }

    /// Appends the interpreted callers of the current function, up to a tier-1 boundary.
    fn push_caller_frames(&self, trap: &mut Trap) {
        for frame in self.frames.iter().rev() {
            if frame.tier1_boundary {
                break;
            }
            if frame.def != NO_FUNC {
                trap.push_frame(|| self.frame_info(frame.instance, frame.def, Tier::Interp));
            }
        }
    }

    /// The backtrace entry of defined function `def` of `instance`.
    fn frame_info(&self, instance: u32, def: u32, tier: Tier) -> FrameInfo {
        let module = &self.store.inner.instances[instance as usize].module.inner;
        let func_index = module.num_imported_funcs + def;
        FrameInfo {
            func_index,
            func_name: module.display_name(func_index).map(str::to_string),
            module_name: module.names.module.clone(),
            tier,
        }
    }

    /// Runs defined function `def` of the current instance with its frame at stack slot `base`.
    fn run(&mut self, def: u32, base: usize) -> Result<(), Trap> {
        let fp = self.store.inner.stack.slot_ptr(base);
        match self.enter(def, fp)? {
            Some(pc) => self.interpret(pc, fp),
            None => Ok(()),
        }
    }

    /// Interprets from `pc` in the frame at `fp` until the function that frame belongs to returns.
    /// Re-entrant: tier-1 code calling an interpreted function interprets it here, nested.
    fn interpret(&mut self, mut pc: *const Instr, mut fp: *mut u128) -> Result<(), Trap> {
        let entry_depth = self.frames.len();
        let mut mem_base = self.mem_base;
        let mut mem_len = self.mem_len;

        macro_rules! trap {
            ($code:expr) => {
                return Err(self.trap($code))
            };
        }
        // Jumps by a relative offset (in instructions, from the instruction after the branch).
        // Only branches to loop headers go backwards, so a backward jump is a loop back-edge.
        // A back-edge spends the function's tier-up budget; when it runs out, the rest of the
        // function may run in tier 1 from the loop header (on-stack replacement).
        macro_rules! jump {
            ($offset:expr) => {{
                let offset = $offset as i32;
                // SAFETY: branch offsets land on instructions inside this function's code.
                pc = unsafe { pc.offset(offset as isize) };
                if offset < 0 && self.profiling {
                    // SAFETY: `profile` and `budget` have one entry per defined function of this
                    // instance.
                    let budget = unsafe {
                        (*self.profile.add(self.def as usize)).back_edges += 1;
                        &mut *self.budget.add(self.def as usize)
                    };
                    *budget -= self.back_edge_weight;
                    if *budget <= 0 && self.on_stack_replace(pc, fp)? {
                        match self.pop_frame_above(entry_depth) {
                            None => return Ok(()),
                            Some((ret_pc, caller_fp)) => {
                                pc = ret_pc;
                                fp = caller_fp;
                                mem_base = self.mem_base;
                                mem_len = self.mem_len;
                            }
                        }
                    }
                }
            }};
        }
        macro_rules! br_cmp {
            ($ty:ty, $a:ident, $b:ident, $target:ident, $op:tt) => {{
                if rd!(fp, $ty, $a) $op rd!(fp, $ty, $b) {
                    jump!($target)
                }
            }};
        }
        macro_rules! un {
            ($ty:ty, $dst:ident, $src:ident, $f:expr) => {{
                let x: $ty = rd!(fp, $ty, $src);
                wr!(fp, $dst, $f(x))
            }};
        }
        macro_rules! bin {
            ($ty:ty, $dst:ident, $a:ident, $b:ident, $f:expr) => {{
                let x: $ty = rd!(fp, $ty, $a);
                let y: $ty = rd!(fp, $ty, $b);
                wr!(fp, $dst, $f(x, y))
            }};
        }
        macro_rules! bin_trap {
            ($ty:ty, $dst:ident, $a:ident, $b:ident, $f:expr) => {{
                let x: $ty = rd!(fp, $ty, $a);
                let y: $ty = rd!(fp, $ty, $b);
                match $f(x, y) {
                    Ok(v) => wr!(fp, $dst, v),
                    Err(code) => trap!(code),
                }
            }};
        }
        macro_rules! cmp {
            ($ty:ty, $dst:ident, $a:ident, $b:ident, $op:tt) => {{
                let x: $ty = rd!(fp, $ty, $a);
                let y: $ty = rd!(fp, $ty, $b);
                wr!(fp, $dst, (x $op y) as u32)
            }};
        }
        macro_rules! fun {
            ($f:ty, $bits:ty, $dst:ident, $src:ident, $op:expr) => {{
                let x = <$f>::from_bits(rd!(fp, $bits, $src));
                wr!(fp, $dst, ($op(x) as $f).to_bits())
            }};
        }
        macro_rules! fbin {
            ($f:ty, $bits:ty, $dst:ident, $a:ident, $b:ident, $op:expr) => {{
                let x = <$f>::from_bits(rd!(fp, $bits, $a));
                let y = <$f>::from_bits(rd!(fp, $bits, $b));
                wr!(fp, $dst, ($op(x, y) as $f).to_bits())
            }};
        }
        macro_rules! fcmp {
            ($f:ty, $bits:ty, $dst:ident, $a:ident, $b:ident, $op:tt) => {{
                let x = <$f>::from_bits(rd!(fp, $bits, $a));
                let y = <$f>::from_bits(rd!(fp, $bits, $b));
                wr!(fp, $dst, (x $op y) as u32)
            }};
        }
        macro_rules! conv {
            ($from:ty, $dst:ident, $src:ident, $f:expr) => {{
                let x: $from = rd!(fp, $from, $src);
                wr!(fp, $dst, $f(x))
            }};
        }
        macro_rules! conv_trap {
            ($f:ty, $bits:ty, $dst:ident, $src:ident, $op:expr) => {{
                let x = <$f>::from_bits(rd!(fp, $bits, $src));
                match $op(x) {
                    Ok(v) => wr!(fp, $dst, v),
                    Err(code) => trap!(code),
                }
            }};
        }
        // Effective address of an access of `$size` bytes, or an out-of-bounds trap.
        macro_rules! ea {
            ($addr:ident, $offset:ident, $size:expr) => {{
                let ea = rd!(fp, u32, $addr) as u64 + $offset as u64;
                if ea + $size as u64 > mem_len as u64 {
                    trap!(TrapCode::MemoryOutOfBounds);
                }
                ea as usize
            }};
        }
        macro_rules! load {
            ($ty:ty, $dst:ident, $addr:ident, $offset:ident, $conv:expr) => {{
                let ea = ea!($addr, $offset, std::mem::size_of::<$ty>());
                // SAFETY: `ea + size_of::<$ty>() <= mem_len`, checked by `ea!`.
                let v = unsafe { mem_base.add(ea).cast::<$ty>().read_unaligned() };
                wr!(fp, $dst, $conv(<$ty>::from_le(v)))
            }};
        }
        macro_rules! store {
            ($ty:ty, $addr:ident, $val:ident, $offset:ident) => {{
                let ea = ea!($addr, $offset, std::mem::size_of::<$ty>());
                let v: $ty = rd!(fp, $ty, $val);
                // SAFETY: `ea + size_of::<$ty>() <= mem_len`, checked by `ea!`.
                unsafe { mem_base.add(ea).cast::<$ty>().write_unaligned(v.to_le()) }
            }};
        }
        // Reloads the locals that calls, host functions and `memory.grow` may have changed.
        macro_rules! reload {
            () => {{
                mem_base = self.mem_base;
                mem_len = self.mem_len;
            }};
        }
        macro_rules! mem_slice {
            () => {
                // SAFETY: `[mem_base, mem_base + mem_len)` is the accessible part of the memory;
                // it is not otherwise borrowed while the executor runs.
                unsafe { std::slice::from_raw_parts_mut(mem_base, mem_len) }
            };
        }

        loop {
            // SAFETY: `pc` stays inside the current function's code: every path ends in a branch
            // or `Return`, and branch targets are in bounds.
            let instr = unsafe { pc.read() };
            // SAFETY: see above; the next instruction exists or a branch replaces `pc` first.
            pc = unsafe { pc.add(1) };
            match instr {
                Instr::Unreachable => trap!(TrapCode::Unreachable),
                Instr::ConsumeFuel { amount } => {
                    let fuel = &mut self.store.inner.fuel;
                    if *fuel < amount as u64 {
                        trap!(TrapCode::OutOfFuel);
                    }
                    *fuel -= amount as u64;
                }
                Instr::Br { target } => jump!(target),
                Instr::BrIfNez { cond, target } => {
                    if rd!(fp, u32, cond) != 0 {
                        jump!(target)
                    }
                }
                Instr::BrIfEqz { cond, target } => {
                    if rd!(fp, u32, cond) == 0 {
                        jump!(target)
                    }
                }
                Instr::BrIfI32Eq { a, b, target } => br_cmp!(u32, a, b, target, ==),
                Instr::BrIfI32Ne { a, b, target } => br_cmp!(u32, a, b, target, !=),
                Instr::BrIfI32LtS { a, b, target } => br_cmp!(i32, a, b, target, <),
                Instr::BrIfI32LtU { a, b, target } => br_cmp!(u32, a, b, target, <),
                Instr::BrIfI32GtS { a, b, target } => br_cmp!(i32, a, b, target, >),
                Instr::BrIfI32GtU { a, b, target } => br_cmp!(u32, a, b, target, >),
                Instr::BrIfI32LeS { a, b, target } => br_cmp!(i32, a, b, target, <=),
                Instr::BrIfI32LeU { a, b, target } => br_cmp!(u32, a, b, target, <=),
                Instr::BrIfI32GeS { a, b, target } => br_cmp!(i32, a, b, target, >=),
                Instr::BrIfI32GeU { a, b, target } => br_cmp!(u32, a, b, target, >=),
                Instr::BrTable { index, len } => {
                    let i = rd!(fp, u32, index).min(len);
                    // SAFETY: `len + 1` branch instructions follow the table.
                    pc = unsafe { pc.add(i as usize) };
                }
                Instr::Return => match self.pop_frame_above(entry_depth) {
                    None => return Ok(()),
                    Some((ret_pc, caller_fp)) => {
                        pc = ret_pc;
                        fp = caller_fp;
                        reload!();
                    }
                },
                Instr::Call { func, base } => {
                    let callee_fp = fp.wrapping_byte_add(base as usize);
                    if func >= self.num_imported_funcs {
                        self.frames.push(Frame {
                            ret_pc: pc,
                            fp,
                            def: self.def,
                            instance: self.instance,
                            tier1_boundary: false,
                        });
                        match self.enter(func - self.num_imported_funcs, callee_fp)? {
                            Some(entry) => {
                                pc = entry;
                                fp = callee_fp;
                            }
                            // Ran in tier 1: back in the caller, which is already current;
                            // its calls may have grown memory.
                            None => {
                                self.pop_frame();
                                reload!();
                            }
                        }
                    } else {
                        let target =
                            self.store.inner.instances[self.instance as usize].funcs[func as usize];
                        if let Some(entry) = self.call_func(Func(target), pc, fp, callee_fp)? {
                            pc = entry;
                            fp = callee_fp;
                        }
                        reload!();
                    }
                }
                Instr::CallIndirect { ty, table, base } => {
                    let num_params = self.module.inner.types[ty as usize].params().len();
                    let index: u32 = rd!(fp, u32, base as usize + num_params * SLOT_BYTES as usize);
                    let target = match self.resolve_indirect(ty, table, index) {
                        Ok(f) => f,
                        Err(code) => trap!(code),
                    };
                    let callee_fp = fp.wrapping_byte_add(base as usize);
                    if let Some(entry) = self.call_func(target, pc, fp, callee_fp)? {
                        pc = entry;
                        fp = callee_fp;
                    }
                    reload!();
                }

                Instr::Copy { dst, src } => wr!(fp, dst, rd!(fp, u128, src)),
                Instr::Select { dst, cond, other } => {
                    if rd!(fp, u32, cond) == 0 {
                        wr!(fp, dst, rd!(fp, u128, other))
                    }
                }
                Instr::GlobalGet { dst, global } => {
                    // SAFETY: validated global index; the cell lives as long as the store.
                    let v = unsafe { (*self.globals.add(global as usize)).read() };
                    wr!(fp, dst, v)
                }
                Instr::GlobalSet { src, global } => {
                    let v = rd!(fp, u128, src);
                    // SAFETY: as for `GlobalGet`.
                    unsafe { (*self.globals.add(global as usize)).write(v) }
                }
                Instr::RefIsNull { dst, src } => wr!(fp, dst, (rd!(fp, u64, src) == 0) as u32),
                Instr::RefFunc { dst, func } => wr!(fp, dst, self.ref_func(func)),

                Instr::I32Load { dst, addr, offset } => load!(u32, dst, addr, offset, |v| v),
                Instr::I64Load { dst, addr, offset } => load!(u64, dst, addr, offset, |v| v),
                Instr::I32Load8S { dst, addr, offset } => {
                    load!(i8, dst, addr, offset, |v| v as i32 as u32)
                }
                Instr::I32Load8U { dst, addr, offset } => {
                    load!(u8, dst, addr, offset, |v| v as u32)
                }
                Instr::I32Load16S { dst, addr, offset } => {
                    load!(i16, dst, addr, offset, |v| v as i32 as u32)
                }
                Instr::I32Load16U { dst, addr, offset } => {
                    load!(u16, dst, addr, offset, |v| v as u32)
                }
                Instr::I64Load8S { dst, addr, offset } => {
                    load!(i8, dst, addr, offset, |v| v as i64 as u64)
                }
                Instr::I64Load8U { dst, addr, offset } => {
                    load!(u8, dst, addr, offset, |v| v as u64)
                }
                Instr::I64Load16S { dst, addr, offset } => {
                    load!(i16, dst, addr, offset, |v| v as i64 as u64)
                }
                Instr::I64Load16U { dst, addr, offset } => {
                    load!(u16, dst, addr, offset, |v| v as u64)
                }
                Instr::I64Load32S { dst, addr, offset } => {
                    load!(i32, dst, addr, offset, |v| v as i64 as u64)
                }
                Instr::I64Load32U { dst, addr, offset } => {
                    load!(u32, dst, addr, offset, |v| v as u64)
                }
                Instr::I32Store { addr, val, offset } => store!(u32, addr, val, offset),
                Instr::I64Store { addr, val, offset } => store!(u64, addr, val, offset),
                Instr::I32Store8 { addr, val, offset } => store!(u8, addr, val, offset),
                Instr::I32Store16 { addr, val, offset } => store!(u16, addr, val, offset),
                Instr::MemorySize { dst } => wr!(fp, dst, (mem_len as u64 / 65536) as u32),
                Instr::MemoryGrow { dst, delta } => {
                    let old = self.memory_grow(rd!(fp, u32, delta));
                    reload!();
                    wr!(fp, dst, old)
                }
                Instr::MemoryFill { base } => {
                    let (d, v, n) = (
                        rd!(fp, u32, base),
                        rd!(fp, u32, base + SLOT_BYTES),
                        rd!(fp, u32, base + 2 * SLOT_BYTES),
                    );
                    if let Err(code) = self.memory_fill(d, v, n) {
                        trap!(code);
                    }
                }
                Instr::MemoryCopy { base } => {
                    let (d, s, n) = (
                        rd!(fp, u32, base),
                        rd!(fp, u32, base + SLOT_BYTES),
                        rd!(fp, u32, base + 2 * SLOT_BYTES),
                    );
                    if let Err(code) = self.memory_copy(d, s, n) {
                        trap!(code);
                    }
                }
                Instr::MemoryInit { segment, base } => {
                    let (d, s, n) = (
                        rd!(fp, u32, base),
                        rd!(fp, u32, base + SLOT_BYTES),
                        rd!(fp, u32, base + 2 * SLOT_BYTES),
                    );
                    if let Err(code) = self.memory_init(segment, d, s, n, mem_slice!()) {
                        trap!(code);
                    }
                }
                Instr::DataDrop { segment } => self.data_drop(segment),

                Instr::TableGet { dst, table, index } => {
                    match self.table_get(table, rd!(fp, u32, index)) {
                        Ok(r) => wr!(fp, dst, r),
                        Err(code) => trap!(code),
                    }
                }
                Instr::TableSet { table, base } => {
                    let (i, r) = (rd!(fp, u32, base), rd!(fp, u64, base + SLOT_BYTES));
                    if let Err(code) = self.table_set(table, i, r) {
                        trap!(code);
                    }
                }
                Instr::TableSize { dst, table } => wr!(fp, dst, self.table_size(table)),
                Instr::TableGrow { table, base } => {
                    let (init, delta) = (rd!(fp, u64, base), rd!(fp, u32, base + SLOT_BYTES));
                    wr!(fp, base, self.table_grow(table, init, delta))
                }
                Instr::TableFill { table, base } => {
                    let (i, r, n) = (
                        rd!(fp, u32, base),
                        rd!(fp, u64, base + SLOT_BYTES),
                        rd!(fp, u32, base + 2 * SLOT_BYTES),
                    );
                    if let Err(code) = self.table_fill(table, i, r, n) {
                        trap!(code);
                    }
                }
                Instr::TableCopy { dst_table, src_table, base } => {
                    let (d, s, n) = (
                        rd!(fp, u32, base),
                        rd!(fp, u32, base + SLOT_BYTES),
                        rd!(fp, u32, base + 2 * SLOT_BYTES),
                    );
                    if let Err(code) = self.table_copy(dst_table, src_table, d, s, n) {
                        trap!(code);
                    }
                }
                Instr::TableInit { table, segment, base } => {
                    let (d, s, n) = (
                        rd!(fp, u32, base),
                        rd!(fp, u32, base + SLOT_BYTES),
                        rd!(fp, u32, base + 2 * SLOT_BYTES),
                    );
                    if let Err(code) = self.table_init(table, segment, d, s, n) {
                        trap!(code);
                    }
                }
                Instr::ElemDrop { segment } => self.elem_drop(segment),

                Instr::V128Unary { op, dst, src } => {
                    wr!(fp, dst, simd::unary(op, rd!(fp, u128, src)))
                }
                Instr::V128Binary { op, dst, a, b } => {
                    wr!(fp, dst, simd::binary(op, rd!(fp, u128, a), rd!(fp, u128, b)))
                }
                Instr::V128Bitselect { dst, b, mask } => {
                    let v =
                        simd::bitselect(rd!(fp, u128, dst), rd!(fp, u128, b), rd!(fp, u128, mask));
                    wr!(fp, dst, v)
                }
                Instr::V128Shuffle { dst, b, lanes } => {
                    let lanes = rd!(fp, u128, lanes).to_le_bytes();
                    wr!(fp, dst, simd::shuffle(&lanes, rd!(fp, u128, dst), rd!(fp, u128, b)))
                }
                Instr::V128Load { kind, dst, addr, offset } => {
                    let ea = rd!(fp, u32, addr) as u64 + offset as u64;
                    match simd::load(kind, mem_slice!(), ea) {
                        Some(v) => wr!(fp, dst, v),
                        None => trap!(TrapCode::MemoryOutOfBounds),
                    }
                }
                Instr::V128LoadLane { width, lane, dst, addr, offset } => {
                    let ea = rd!(fp, u32, addr) as u64 + offset as u64;
                    match simd::load_lane(width, lane, mem_slice!(), ea, rd!(fp, u128, dst)) {
                        Some(v) => wr!(fp, dst, v),
                        None => trap!(TrapCode::MemoryOutOfBounds),
                    }
                }
                Instr::V128Store { addr, val, offset } => {
                    let ea = rd!(fp, u32, addr) as u64 + offset as u64;
                    if simd::store(mem_slice!(), ea, rd!(fp, u128, val)).is_none() {
                        trap!(TrapCode::MemoryOutOfBounds);
                    }
                }
                Instr::V128StoreLane { width, lane, addr, val, offset } => {
                    let ea = rd!(fp, u32, addr) as u64 + offset as u64;
                    if simd::store_lane(width, lane, mem_slice!(), ea, rd!(fp, u128, val)).is_none()
                    {
                        trap!(TrapCode::MemoryOutOfBounds);
                    }
                }

                Instr::I32Eqz { dst, src } => un!(u32, dst, src, |x| (x == 0) as u32),
                Instr::I64Eqz { dst, src } => conv!(u64, dst, src, |x| (x == 0) as u32),
                Instr::I32Clz { dst, src } => un!(u32, dst, src, u32::leading_zeros),
                Instr::I32Ctz { dst, src } => un!(u32, dst, src, u32::trailing_zeros),
                Instr::I32Popcnt { dst, src } => un!(u32, dst, src, u32::count_ones),
                Instr::I64Clz { dst, src } => un!(u64, dst, src, |x: u64| x.leading_zeros() as u64),
                Instr::I64Ctz { dst, src } => {
                    un!(u64, dst, src, |x: u64| x.trailing_zeros() as u64)
                }
                Instr::I64Popcnt { dst, src } => un!(u64, dst, src, |x: u64| x.count_ones() as u64),
                Instr::I32Extend8S { dst, src } => un!(u32, dst, src, |x| x as i8 as i32 as u32),
                Instr::I32Extend16S { dst, src } => un!(u32, dst, src, |x| x as i16 as i32 as u32),
                Instr::I64Extend8S { dst, src } => un!(u64, dst, src, |x| x as i8 as i64 as u64),
                Instr::I64Extend16S { dst, src } => un!(u64, dst, src, |x| x as i16 as i64 as u64),
                Instr::I64Extend32S { dst, src } => un!(u64, dst, src, |x| x as i32 as i64 as u64),
                Instr::I32WrapI64 { dst, src } => conv!(u64, dst, src, |x| x as u32),
                Instr::I64ExtendI32S { dst, src } => {
                    conv!(u32, dst, src, |x| x as i32 as i64 as u64)
                }
                Instr::I64ExtendI32U { dst, src } => conv!(u32, dst, src, |x| x as u64),
                Instr::F32Abs { dst, src } => un!(u32, dst, src, |x| x & 0x7fff_ffff),
                Instr::F32Neg { dst, src } => un!(u32, dst, src, |x| x ^ 0x8000_0000),
                Instr::F32Ceil { dst, src } => fun!(f32, u32, dst, src, num::f32_ceil),
                Instr::F32Floor { dst, src } => fun!(f32, u32, dst, src, num::f32_floor),
                Instr::F32Trunc { dst, src } => fun!(f32, u32, dst, src, num::f32_trunc),
                Instr::F32Nearest { dst, src } => fun!(f32, u32, dst, src, num::f32_nearest),
                Instr::F32Sqrt { dst, src } => fun!(f32, u32, dst, src, f32::sqrt),
                Instr::F64Abs { dst, src } => un!(u64, dst, src, |x| x & 0x7fff_ffff_ffff_ffff),
                Instr::F64Neg { dst, src } => un!(u64, dst, src, |x| x ^ 0x8000_0000_0000_0000),
                Instr::F64Ceil { dst, src } => fun!(f64, u64, dst, src, num::f64_ceil),
                Instr::F64Floor { dst, src } => fun!(f64, u64, dst, src, num::f64_floor),
                Instr::F64Trunc { dst, src } => fun!(f64, u64, dst, src, num::f64_trunc),
                Instr::F64Nearest { dst, src } => fun!(f64, u64, dst, src, num::f64_nearest),
                Instr::F64Sqrt { dst, src } => fun!(f64, u64, dst, src, f64::sqrt),
                Instr::I32TruncF32S { dst, src } => {
                    conv_trap!(f32, u32, dst, src, |x| num::i32_trunc_f32_s(x).map(|v| v as u32))
                }
                Instr::I32TruncF32U { dst, src } => {
                    conv_trap!(f32, u32, dst, src, num::i32_trunc_f32_u)
                }
                Instr::I32TruncF64S { dst, src } => {
                    conv_trap!(f64, u64, dst, src, |x| num::i32_trunc_f64_s(x).map(|v| v as u32))
                }
                Instr::I32TruncF64U { dst, src } => {
                    conv_trap!(f64, u64, dst, src, num::i32_trunc_f64_u)
                }
                Instr::I64TruncF32S { dst, src } => {
                    conv_trap!(f32, u32, dst, src, |x| num::i64_trunc_f32_s(x).map(|v| v as u64))
                }
                Instr::I64TruncF32U { dst, src } => {
                    conv_trap!(f32, u32, dst, src, num::i64_trunc_f32_u)
                }
                Instr::I64TruncF64S { dst, src } => {
                    conv_trap!(f64, u64, dst, src, |x| num::i64_trunc_f64_s(x).map(|v| v as u64))
                }
                Instr::I64TruncF64U { dst, src } => {
                    conv_trap!(f64, u64, dst, src, num::i64_trunc_f64_u)
                }
                // Rust's float-to-int `as` saturates and maps NaN to 0, exactly `trunc_sat`.
                Instr::I32TruncSatF32S { dst, src } => {
                    conv!(u32, dst, src, |x| f32::from_bits(x) as i32 as u32)
                }
                Instr::I32TruncSatF32U { dst, src } => {
                    conv!(u32, dst, src, |x| f32::from_bits(x) as u32)
                }
                Instr::I32TruncSatF64S { dst, src } => {
                    conv!(u64, dst, src, |x| f64::from_bits(x) as i32 as u32)
                }
                Instr::I32TruncSatF64U { dst, src } => {
                    conv!(u64, dst, src, |x| f64::from_bits(x) as u32)
                }
                Instr::I64TruncSatF32S { dst, src } => {
                    conv!(u32, dst, src, |x| f32::from_bits(x) as i64 as u64)
                }
                Instr::I64TruncSatF32U { dst, src } => {
                    conv!(u32, dst, src, |x| f32::from_bits(x) as u64)
                }
                Instr::I64TruncSatF64S { dst, src } => {
                    conv!(u64, dst, src, |x| f64::from_bits(x) as i64 as u64)
                }
                Instr::I64TruncSatF64U { dst, src } => {
                    conv!(u64, dst, src, |x| f64::from_bits(x) as u64)
                }
                Instr::F32ConvertI32S { dst, src } => {
                    conv!(u32, dst, src, |x| (x as i32 as f32).to_bits())
                }
                Instr::F32ConvertI32U { dst, src } => {
                    conv!(u32, dst, src, |x| (x as f32).to_bits())
                }
                Instr::F32ConvertI64S { dst, src } => {
                    conv!(u64, dst, src, |x| (x as i64 as f32).to_bits())
                }
                Instr::F32ConvertI64U { dst, src } => {
                    conv!(u64, dst, src, |x| (x as f32).to_bits())
                }
                Instr::F64ConvertI32S { dst, src } => {
                    conv!(u32, dst, src, |x| (x as i32 as f64).to_bits())
                }
                Instr::F64ConvertI32U { dst, src } => {
                    conv!(u32, dst, src, |x| (x as f64).to_bits())
                }
                Instr::F64ConvertI64S { dst, src } => {
                    conv!(u64, dst, src, |x| (x as i64 as f64).to_bits())
                }
                Instr::F64ConvertI64U { dst, src } => {
                    conv!(u64, dst, src, |x| (x as f64).to_bits())
                }
                Instr::F32DemoteF64 { dst, src } => {
                    conv!(u64, dst, src, |x| (f64::from_bits(x) as f32).to_bits())
                }
                Instr::F64PromoteF32 { dst, src } => {
                    conv!(u32, dst, src, |x| (f32::from_bits(x) as f64).to_bits())
                }

                Instr::I32Eq { dst, a, b } => cmp!(u32, dst, a, b, ==),
                Instr::I32Ne { dst, a, b } => cmp!(u32, dst, a, b, !=),
                Instr::I32LtS { dst, a, b } => cmp!(i32, dst, a, b, <),
                Instr::I32LtU { dst, a, b } => cmp!(u32, dst, a, b, <),
                Instr::I32GtS { dst, a, b } => cmp!(i32, dst, a, b, >),
                Instr::I32GtU { dst, a, b } => cmp!(u32, dst, a, b, >),
                Instr::I32LeS { dst, a, b } => cmp!(i32, dst, a, b, <=),
                Instr::I32LeU { dst, a, b } => cmp!(u32, dst, a, b, <=),
                Instr::I32GeS { dst, a, b } => cmp!(i32, dst, a, b, >=),
                Instr::I32GeU { dst, a, b } => cmp!(u32, dst, a, b, >=),
                Instr::I64Eq { dst, a, b } => cmp!(u64, dst, a, b, ==),
                Instr::I64Ne { dst, a, b } => cmp!(u64, dst, a, b, !=),
                Instr::I64LtS { dst, a, b } => cmp!(i64, dst, a, b, <),
                Instr::I64LtU { dst, a, b } => cmp!(u64, dst, a, b, <),
                Instr::I64GtS { dst, a, b } => cmp!(i64, dst, a, b, >),
                Instr::I64GtU { dst, a, b } => cmp!(u64, dst, a, b, >),
                Instr::I64LeS { dst, a, b } => cmp!(i64, dst, a, b, <=),
                Instr::I64LeU { dst, a, b } => cmp!(u64, dst, a, b, <=),
                Instr::I64GeS { dst, a, b } => cmp!(i64, dst, a, b, >=),
                Instr::I64GeU { dst, a, b } => cmp!(u64, dst, a, b, >=),
                Instr::F32Eq { dst, a, b } => fcmp!(f32, u32, dst, a, b, ==),
                Instr::F32Ne { dst, a, b } => fcmp!(f32, u32, dst, a, b, !=),
                Instr::F32Lt { dst, a, b } => fcmp!(f32, u32, dst, a, b, <),
                Instr::F32Gt { dst, a, b } => fcmp!(f32, u32, dst, a, b, >),
                Instr::F32Le { dst, a, b } => fcmp!(f32, u32, dst, a, b, <=),
                Instr::F32Ge { dst, a, b } => fcmp!(f32, u32, dst, a, b, >=),
                Instr::F64Eq { dst, a, b } => fcmp!(f64, u64, dst, a, b, ==),
                Instr::F64Ne { dst, a, b } => fcmp!(f64, u64, dst, a, b, !=),
                Instr::F64Lt { dst, a, b } => fcmp!(f64, u64, dst, a, b, <),
                Instr::F64Gt { dst, a, b } => fcmp!(f64, u64, dst, a, b, >),
                Instr::F64Le { dst, a, b } => fcmp!(f64, u64, dst, a, b, <=),
                Instr::F64Ge { dst, a, b } => fcmp!(f64, u64, dst, a, b, >=),

                Instr::I32Add { dst, a, b } => bin!(u32, dst, a, b, u32::wrapping_add),
                Instr::I32Sub { dst, a, b } => bin!(u32, dst, a, b, u32::wrapping_sub),
                Instr::I32Mul { dst, a, b } => bin!(u32, dst, a, b, u32::wrapping_mul),
                Instr::I32DivS { dst, a, b } => bin_trap!(i32, dst, a, b, num::i32_div_s),
                Instr::I32DivU { dst, a, b } => bin_trap!(u32, dst, a, b, num::i32_div_u),
                Instr::I32RemS { dst, a, b } => bin_trap!(i32, dst, a, b, num::i32_rem_s),
                Instr::I32RemU { dst, a, b } => bin_trap!(u32, dst, a, b, num::i32_rem_u),
                Instr::I32And { dst, a, b } => bin!(u32, dst, a, b, |x, y| x & y),
                Instr::I32Or { dst, a, b } => bin!(u32, dst, a, b, |x, y| x | y),
                Instr::I32Xor { dst, a, b } => bin!(u32, dst, a, b, |x, y| x ^ y),
                Instr::I32Shl { dst, a, b } => bin!(u32, dst, a, b, u32::wrapping_shl),
                Instr::I32ShrS { dst, a, b } => {
                    bin!(u32, dst, a, b, |x: u32, y| (x as i32).wrapping_shr(y) as u32)
                }
                Instr::I32ShrU { dst, a, b } => bin!(u32, dst, a, b, u32::wrapping_shr),
                Instr::I32Rotl { dst, a, b } => bin!(u32, dst, a, b, u32::rotate_left),
                Instr::I32Rotr { dst, a, b } => bin!(u32, dst, a, b, u32::rotate_right),
                Instr::I64Add { dst, a, b } => bin!(u64, dst, a, b, u64::wrapping_add),
                Instr::I64Sub { dst, a, b } => bin!(u64, dst, a, b, u64::wrapping_sub),
                Instr::I64Mul { dst, a, b } => bin!(u64, dst, a, b, u64::wrapping_mul),
                Instr::I64DivS { dst, a, b } => bin_trap!(i64, dst, a, b, num::i64_div_s),
                Instr::I64DivU { dst, a, b } => bin_trap!(u64, dst, a, b, num::i64_div_u),
                Instr::I64RemS { dst, a, b } => bin_trap!(i64, dst, a, b, num::i64_rem_s),
                Instr::I64RemU { dst, a, b } => bin_trap!(u64, dst, a, b, num::i64_rem_u),
                Instr::I64And { dst, a, b } => bin!(u64, dst, a, b, |x, y| x & y),
                Instr::I64Or { dst, a, b } => bin!(u64, dst, a, b, |x, y| x | y),
                Instr::I64Xor { dst, a, b } => bin!(u64, dst, a, b, |x, y| x ^ y),
                Instr::I64Shl { dst, a, b } => {
                    bin!(u64, dst, a, b, |x: u64, y| x.wrapping_shl(y as u32))
                }
                Instr::I64ShrS { dst, a, b } => {
                    bin!(u64, dst, a, b, |x: u64, y| (x as i64).wrapping_shr(y as u32) as u64)
                }
                Instr::I64ShrU { dst, a, b } => {
                    bin!(u64, dst, a, b, |x: u64, y| x.wrapping_shr(y as u32))
                }
                Instr::I64Rotl { dst, a, b } => {
                    bin!(u64, dst, a, b, |x: u64, y| x.rotate_left((y & 63) as u32))
                }
                Instr::I64Rotr { dst, a, b } => {
                    bin!(u64, dst, a, b, |x: u64, y| x.rotate_right((y & 63) as u32))
                }
                Instr::F32Add { dst, a, b } => fbin!(f32, u32, dst, a, b, |x, y| x + y),
                Instr::F32Sub { dst, a, b } => fbin!(f32, u32, dst, a, b, |x, y| x - y),
                Instr::F32Mul { dst, a, b } => fbin!(f32, u32, dst, a, b, |x, y| x * y),
                Instr::F32Div { dst, a, b } => fbin!(f32, u32, dst, a, b, |x, y| x / y),
                Instr::F32Min { dst, a, b } => fbin!(f32, u32, dst, a, b, num::f32_min),
                Instr::F32Max { dst, a, b } => fbin!(f32, u32, dst, a, b, num::f32_max),
                Instr::F32Copysign { dst, a, b } => {
                    bin!(u32, dst, a, b, |x, y| (x & 0x7fff_ffff) | (y & 0x8000_0000))
                }
                Instr::F64Add { dst, a, b } => fbin!(f64, u64, dst, a, b, |x, y| x + y),
                Instr::F64Sub { dst, a, b } => fbin!(f64, u64, dst, a, b, |x, y| x - y),
                Instr::F64Mul { dst, a, b } => fbin!(f64, u64, dst, a, b, |x, y| x * y),
                Instr::F64Div { dst, a, b } => fbin!(f64, u64, dst, a, b, |x, y| x / y),
                Instr::F64Min { dst, a, b } => fbin!(f64, u64, dst, a, b, num::f64_min),
                Instr::F64Max { dst, a, b } => fbin!(f64, u64, dst, a, b, num::f64_max),
                Instr::F64Copysign { dst, a, b } => bin!(u64, dst, a, b, |x, y| {
                    (x & 0x7fff_ffff_ffff_ffff) | (y & 0x8000_0000_0000_0000)
                }),
            }
        }
    }

    /// Calls a function by store handle from the instruction at `ret_pc`. For a wasm function it
    /// pushes the caller's frame, enters the callee and returns its code; a host function runs to
    /// completion here and `None` is returned.
    fn call_func(
        &mut self,
        func: Func,
        ret_pc: *const Instr,
        fp: *mut u128,
        callee_fp: *mut u128,
    ) -> Result<Option<*const Instr>, Trap> {
        let entity = self.store.inner.func(func);
        match entity.kind {
            FuncKind::Wasm { instance, def_index } => {
                let frame = Frame {
                    ret_pc,
                    fp,
                    def: self.def,
                    instance: self.instance,
                    tier1_boundary: false,
                };
                self.frames.push(frame);
                if instance != self.instance {
                    self.switch_instance(instance);
                }
                let entered = self.enter(def_index, callee_fp)?;
                if entered.is_none() {
                    self.pop_frame();
                }
                Ok(entered)
            }
            FuncKind::Host { index } => {
                let ty = entity.ty.clone();
                let args: Vec<Val> = ty
                    .params()
                    .iter()
                    .enumerate()
                    // SAFETY: the arguments are in the caller's frame at `callee_fp..`.
                    .map(|(i, t)| Val::from_raw(*t, unsafe { callee_fp.add(i).read() }))
                    .collect();
                let mut results: Vec<Val> =
                    ty.results().iter().map(|t| Val::default_for(*t)).collect();
                // Re-entries from the host start above the caller's frame and count its frames.
                let stack = &mut self.store.inner.stack;
                let (saved_top, saved_depth) = (stack.top, stack.depth);
                stack.top = stack.index_of(callee_fp) + args.len().max(results.len());
                stack.depth += self.frames.len() + 1;
                let outcome =
                    call_host(self.store, index, func, Some(self.instance), &args, &mut results);
                let stack = &mut self.store.inner.stack;
                (stack.top, stack.depth) = (saved_top, saved_depth);
                self.refresh_memory();
                if let Err(mut trap) = outcome {
                    if trap.backtrace.is_empty() {
                        trap.backtrace = self.trap(TrapCode::Unreachable).backtrace;
                    }
                    return Err(trap);
                }
                for (i, r) in results.iter().enumerate() {
                    // SAFETY: the caller's frame has room for the results at `callee_fp..`.
                    unsafe { callee_fp.add(i).write(r.to_raw()) };
                }
                Ok(None)
            }
        }
    }

    /// The function a `call_indirect` through `table[index]` reaches, after the signature check.
    fn resolve_indirect(&self, ty: u32, table: u32, index: u32) -> Result<Func, TrapCode> {
        let raw = *self.table(table).elems.get(index as usize).ok_or(TrapCode::TableOutOfBounds)?;
        let func = crate::vm::decode_func_ref(raw).ok_or(TrapCode::IndirectCallToNull)?;
        if self.store.inner.func(func).sig != self.module.inner.sigs[ty as usize] {
            return Err(TrapCode::BadSignature);
        }
        Ok(func)
    }

    fn table(&self, table: u32) -> &crate::vm::store::TableEntity {
        let id = self.store.inner.instances[self.instance as usize].tables[table as usize];
        &self.store.inner.tables[id as usize]
    }

    fn table_mut(&mut self, table: u32) -> &mut crate::vm::store::TableEntity {
        let id = self.store.inner.instances[self.instance as usize].tables[table as usize];
        &mut self.store.inner.tables[id as usize]
    }

    /// `memory.grow`: the old size in pages, or `-1` as u32.
    fn memory_grow(&mut self, delta: u32) -> u32 {
        let Some(m) = self.memory else { return u32::MAX };
        let old = self.store.inner.memories[m as usize].grow(delta as u64);
        self.refresh_memory();
        old.map_or(u32::MAX, |p| p as u32)
    }

    fn memory_init(
        &self,
        segment: u32,
        d: u32,
        s: u32,
        n: u32,
        mem: &mut [u8],
    ) -> Result<(), TrapCode> {
        let dropped =
            self.store.inner.instances[self.instance as usize].data_dropped[segment as usize];
        let bytes: &[u8] =
            if dropped { &[] } else { &self.module.inner.datas[segment as usize].bytes };
        let src =
            bytes.get(s as usize..s as usize + n as usize).ok_or(TrapCode::MemoryOutOfBounds)?;
        let dst =
            mem.get_mut(d as usize..d as usize + n as usize).ok_or(TrapCode::MemoryOutOfBounds)?;
        dst.copy_from_slice(src);
        Ok(())
    }

    /// The accessible bytes of the current memory.
    fn mem_slice(&mut self) -> &mut [u8] {
        // SAFETY: `[mem_base, mem_base + mem_len)` is the accessible part of the memory (kept
        // current by `refresh_memory`); the executor is borrowed mutably, so nothing else
        // borrows it.
        unsafe { std::slice::from_raw_parts_mut(self.mem_base, self.mem_len) }
    }

    fn memory_fill(&mut self, d: u32, v: u32, n: u32) -> Result<(), TrapCode> {
        let range = d as usize..d as usize + n as usize;
        self.mem_slice().get_mut(range).ok_or(TrapCode::MemoryOutOfBounds)?.fill(v as u8);
        Ok(())
    }

    fn memory_copy(&mut self, d: u32, s: u32, n: u32) -> Result<(), TrapCode> {
        let (d, s, n) = (d as usize, s as usize, n as usize);
        let mem = self.mem_slice();
        if d + n > mem.len() || s + n > mem.len() {
            return Err(TrapCode::MemoryOutOfBounds);
        }
        mem.copy_within(s..s + n, d);
        Ok(())
    }

    fn data_drop(&mut self, segment: u32) {
        self.store.inner.instances[self.instance as usize].data_dropped[segment as usize] = true;
    }

    fn elem_drop(&mut self, segment: u32) {
        self.store.inner.instances[self.instance as usize].elem_segments[segment as usize] = None;
    }

    /// The reference to function `func` (module index space) of the current instance.
    fn ref_func(&self, func: u32) -> u64 {
        let f = self.store.inner.instances[self.instance as usize].funcs[func as usize];
        crate::vm::encode_func_ref(Some(Func(f)))
    }

    fn table_get(&self, table: u32, i: u32) -> Result<u64, TrapCode> {
        self.table(table).elems.get(i as usize).copied().ok_or(TrapCode::TableOutOfBounds)
    }

    fn table_set(&mut self, table: u32, i: u32, r: u64) -> Result<(), TrapCode> {
        let slot =
            self.table_mut(table).elems.get_mut(i as usize).ok_or(TrapCode::TableOutOfBounds)?;
        *slot = r;
        Ok(())
    }

    fn table_size(&self, table: u32) -> u32 {
        self.table(table).elems.len() as u32
    }

    /// The old size, or `-1` as u32.
    fn table_grow(&mut self, table: u32, init: u64, delta: u32) -> u32 {
        let limit = self.store.inner.engine.config().max_table_elements;
        self.table_mut(table).grow(delta, init, limit).unwrap_or(u32::MAX)
    }

    fn table_fill(&mut self, table: u32, i: u32, r: u64, n: u32) -> Result<(), TrapCode> {
        let elems = &mut self.table_mut(table).elems;
        let range = elems.get_mut(i as usize..i as usize + n as usize);
        range.ok_or(TrapCode::TableOutOfBounds)?.fill(r);
        Ok(())
    }

    /// A [`RuntimeOp`] for tier-1 code, on the operands in the slots from `args` on; a result
    /// replaces the first operand.
    ///
    /// # Safety
    /// `args` must point at the op's operands (as many slots as it takes, at least one when it has
    /// a result) inside the running tier-1 function's frame.
    unsafe fn runtime_op(
        &mut self,
        op: RuntimeOp,
        a: u32,
        b: u32,
        args: *mut u128,
    ) -> Result<(), TrapCode> {
        // SAFETY: guaranteed by the caller for the operands the op takes.
        let u32_at = |i: usize| unsafe { args.add(i).cast::<u32>().read() };
        // SAFETY: as above.
        let u64_at = |i: usize| unsafe { args.add(i).cast::<u64>().read() };
        let result = match op {
            RuntimeOp::MemoryFill => return self.memory_fill(u32_at(0), u32_at(1), u32_at(2)),
            RuntimeOp::MemoryCopy => return self.memory_copy(u32_at(0), u32_at(1), u32_at(2)),
            RuntimeOp::MemoryInit => {
                let (d, s, n) = (u32_at(0), u32_at(1), u32_at(2));
                // SAFETY: as in `mem_slice`; the slice does not borrow `self`, which
                // `memory_init` only reads.
                let mem = unsafe { std::slice::from_raw_parts_mut(self.mem_base, self.mem_len) };
                return self.memory_init(a, d, s, n, mem);
            }
            RuntimeOp::DataDrop => {
                self.data_drop(a);
                return Ok(());
            }
            RuntimeOp::TableGet => self.table_get(a, u32_at(0))? as u128,
            RuntimeOp::TableSet => return self.table_set(a, u32_at(0), u64_at(1)),
            RuntimeOp::TableSize => self.table_size(a) as u128,
            RuntimeOp::TableGrow => self.table_grow(a, u64_at(0), u32_at(1)) as u128,
            RuntimeOp::TableFill => return self.table_fill(a, u32_at(0), u64_at(1), u32_at(2)),
            RuntimeOp::TableCopy => return self.table_copy(a, b, u32_at(0), u32_at(1), u32_at(2)),
            RuntimeOp::TableInit => return self.table_init(a, b, u32_at(0), u32_at(1), u32_at(2)),
            RuntimeOp::ElemDrop => {
                self.elem_drop(a);
                return Ok(());
            }
            RuntimeOp::RefFunc => self.ref_func(a) as u128,
        };
        // SAFETY: ops with a result have their result slot at `args`.
        unsafe { args.write(result) };
        Ok(())
    }

    fn table_copy(&mut self, dst: u32, src: u32, d: u32, s: u32, n: u32) -> Result<(), TrapCode> {
        let (d, s, n) = (d as usize, s as usize, n as usize);
        let src_len = self.table(src).elems.len();
        let dst_len = self.table(dst).elems.len();
        if s + n > src_len || d + n > dst_len {
            return Err(TrapCode::TableOutOfBounds);
        }
        let items: Vec<u64> = self.table(src).elems[s..s + n].to_vec();
        self.table_mut(dst).elems[d..d + n].copy_from_slice(&items);
        Ok(())
    }

    fn table_init(
        &mut self,
        table: u32,
        segment: u32,
        d: u32,
        s: u32,
        n: u32,
    ) -> Result<(), TrapCode> {
        let inst = &self.store.inner.instances[self.instance as usize];
        let items = inst.elem_segments[segment as usize].clone();
        let items: &[u64] = items.as_deref().unwrap_or(&[]);
        let src =
            items.get(s as usize..s as usize + n as usize).ok_or(TrapCode::TableOutOfBounds)?;
        let elems = &mut self.table_mut(table).elems;
        let dst =
            elems.get_mut(d as usize..d as usize + n as usize).ok_or(TrapCode::TableOutOfBounds)?;
        dst.copy_from_slice(src);
        Ok(())
    }
}

/// The `JitCtx::funcs` entry of every function without tier-1 code (interpreted or imported).
///
/// # Safety
/// `ctx` must be the context `run_tier1` built for the running tier-1 code, whose `executor`
/// points at the live `Executor<T>` that is waiting for that code to return.
unsafe extern "C" fn call_from_tier1<T>(ctx: *mut JitCtx, callee_fp: *mut u128, func: u32) -> u32 {
    // SAFETY: guaranteed by the caller: the context and its executor are live, and nothing else
    // uses the executor while its tier-1 code runs.
    let (ctx, executor) = unsafe { (&mut *ctx, &mut *(*ctx).executor.cast::<Executor<'_, T>>()) };
    let outcome = executor.call_from_tier1(func, callee_fp);
    // The callee may have grown memory: tier-1 code reads these after every call.
    ctx.mem_base = executor.mem_base;
    ctx.mem_len = executor.mem_len as u64;
    match outcome {
        Ok(()) => 0,
        Err(trap) => {
            executor.pending_trap = Some(trap);
            TRAP_PENDING
        }
    }
}

/// The `JitCtx::unwind` helper: a trap leaves tier-1 function `func` (module index space).
///
/// # Safety
/// As for [`call_from_tier1`].
unsafe extern "C" fn unwind_tier1<T>(ctx: *mut JitCtx, status: u32, func: u32) -> u32 {
    // SAFETY: as in `call_from_tier1`.
    let executor = unsafe { &mut *(*ctx).executor.cast::<Executor<'_, T>>() };
    let mut trap = match status {
        TRAP_PENDING => executor.pending_trap.take().expect("a pending trap was stored"),
        code => Trap::new(trap_code(code)),
    };
    let def = func - executor.num_imported_funcs;
    trap.push_frame(|| executor.frame_info(executor.instance, def, Tier::Baseline));
    executor.pending_trap = Some(trap);
    TRAP_PENDING
}

/// The `JitCtx::call_indirect` helper.
///
/// # Safety
/// As for [`call_from_tier1`].
unsafe extern "C" fn call_indirect_from_tier1<T>(
    ctx: *mut JitCtx,
    callee_fp: *mut u128,
    ty: u32,
    table: u32,
) -> u32 {
    // SAFETY: as in `call_from_tier1`.
    let (ctx, executor) = unsafe { (&mut *ctx, &mut *(*ctx).executor.cast::<Executor<'_, T>>()) };
    let outcome = executor.call_indirect_from_tier1(ty, table, callee_fp);
    ctx.mem_base = executor.mem_base;
    ctx.mem_len = executor.mem_len as u64;
    match outcome {
        Ok(()) => 0,
        Err(trap) => {
            executor.pending_trap = Some(trap);
            TRAP_PENDING
        }
    }
}

/// The `JitCtx::memory_grow` helper.
///
/// # Safety
/// As for [`call_from_tier1`].
unsafe extern "C" fn memory_grow_from_tier1<T>(ctx: *mut JitCtx, delta: u32) -> u32 {
    // SAFETY: as in `call_from_tier1`.
    let (ctx, executor) = unsafe { (&mut *ctx, &mut *(*ctx).executor.cast::<Executor<'_, T>>()) };
    let old = executor.memory_grow(delta);
    ctx.mem_base = executor.mem_base;
    ctx.mem_len = executor.mem_len as u64;
    old
}

/// The `JitCtx::runtime` helper: table instructions, bulk memory and `ref.func`.
///
/// # Safety
/// As for [`call_from_tier1`]; `args` must point at the operands of `op` in the tier-1 frame.
unsafe extern "C" fn runtime_from_tier1<T>(
    ctx: *mut JitCtx,
    op: u32,
    a: u32,
    b: u32,
    args: *mut u128,
) -> u32 {
    // SAFETY: as in `call_from_tier1`.
    let executor = unsafe { &mut *(*ctx).executor.cast::<Executor<'_, T>>() };
    let Some(op) = RuntimeOp::from_u32(op) else {
        executor.pending_trap = Some(Trap::host(format!("tier 1: unknown runtime op {op}")));
        return TRAP_PENDING;
    };
    // SAFETY: guaranteed by the caller.
    match unsafe { executor.runtime_op(op, a, b, args) } {
        Ok(()) => 0,
        Err(code) => {
            // Pending with no frames yet: the tier-1 function's trap exit names itself (and
            // every tier-1 caller after it), whatever code this is.
            executor.pending_trap = Some(Trap::new(code));
            TRAP_PENDING
        }
    }
}

/// Whether the host stack pointer is below `limit` (see [`native_stack_limit`]). Tier-1 calls
/// recurse on the host stack, so deep guest recursion must trap before the stack overflows.
fn native_stack_exhausted(limit: usize) -> bool {
    let marker = 0u8;
    (std::ptr::addr_of!(marker) as usize) < limit
}

/// The lowest host stack address tier-1 calls may reach on this thread: the stack's low end plus a
/// margin for the deepest host work below a check (0 when unknown, which disables the check).
fn native_stack_limit() -> usize {
    NATIVE_STACK_LIMIT.with(|limit| *limit)
}

thread_local! {
    /// Asking the system for the stack's bounds can read `/proc` on the main thread: once per thread.
    static NATIVE_STACK_LIMIT: usize = {
        const MARGIN: usize = 256 << 10;
        match native_stack_low() {
            0 => 0,
            low => low + MARGIN,
        }
    };
}

/// The lowest address of the calling thread's stack, or 0 when unknown.
fn native_stack_low() -> usize {
    // SAFETY: `pthread_getattr_np` fills `attr` for the calling thread, `pthread_attr_getstack`
    // only reads it, and it is destroyed after use.
    unsafe {
        let mut attr: libc::pthread_attr_t = std::mem::zeroed();
        if libc::pthread_getattr_np(libc::pthread_self(), &mut attr) != 0 {
            return 0;
        }
        let mut addr: *mut libc::c_void = std::ptr::null_mut();
        let mut size: libc::size_t = 0;
        let ok = libc::pthread_attr_getstack(&attr, &mut addr, &mut size) == 0;
        libc::pthread_attr_destroy(&mut attr);
        if ok { addr as usize } else { 0 }
    }
}
