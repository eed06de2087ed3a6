//! The interpreter's execution loop: runs translated bytecode until the entered function returns.
//!
//! The interpreter is entered like every tier, through its [`ENTRY`] (`vmctx::FuncEntry`), which
//! runs one function of one instance on a frame its caller prepared. Calls between interpreted
//! functions of that instance never recurse on the host stack: each pushes a [`Frame`] record and
//! switches `pc`/`fp`. Any other callee (code of another tier, another instance, an import, the
//! host) is called through its entry, which returns a status. The hot state (`pc`, `fp`, the memory
//! base and length) lives in locals so it stays in registers; it is reloaded only after calls that
//! may change it.
//!
//! Tier 0 counts calls and loop back-edges into its module's profile counters and, when a
//! function's budget runs out, reports to tiering (`tier::on_hot`), which may hand it newer code
//! to continue in: at a call, the callee's entry; at a back-edge, the entry of that loop's header
//! (on-stack replacement). It never names a compiler.
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
use crate::module::ModuleInner;
use crate::tier::{self, Site, Tier};
use crate::vm::call::{self as runtime, native_stack_exhausted};
use crate::vm::ops;
use crate::vm::store::{FuncKind, StoreInner};
use crate::vm::vmctx::{FuncCounters, FuncEntry, STATUS_OK, TRAP_PENDING, VmCtx};
use crate::vm::{Trap, TrapCode};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// The interpreter's entry, as function tables hold it.
pub(crate) const ENTRY: FuncEntry = entry;

/// Runs function `func` (module index space) of the instance of `ctx` in the interpreter, on the
/// frame at `fp`.
///
/// # Safety
/// `ctx` must be a live instance context of a store lent to wasm, `func` a function its module
/// defines, and `fp` a frame on the store's stack with the arguments in place.
unsafe extern "C" fn entry(ctx: *mut VmCtx, fp: *mut u128, func: u32) -> u32 {
    // SAFETY: guaranteed by the caller.
    let store = unsafe { (*ctx).store };
    // SAFETY: as above. Entries may be called from compiled code, which recurses on the host
    // stack: the check keeps deep mixed recursion from overflowing it.
    if native_stack_exhausted(unsafe { (*ctx).native_stack_limit }) {
        // SAFETY: as above.
        unsafe { (*store).pending_trap = Some(Trap::new(TrapCode::StackOverflow)) };
        return TRAP_PENDING;
    }
    // SAFETY: as above.
    let mut ex = unsafe { Executor::new(ctx) };
    let def = func - ex.num_imported_funcs;
    let outcome = match ex.enter(def, fp) {
        Ok(Some(pc)) => ex.interpret(pc, fp),
        Ok(None) => Ok(()),
        Err(trap) => Err(trap),
    };
    match outcome {
        Ok(()) => STATUS_OK,
        Err(trap) => {
            ex.store().pending_trap = Some(trap);
            TRAP_PENDING
        }
    }
}

/// A suspended interpreted caller.
#[derive(Clone, Copy)]
struct Frame {
    ret_pc: *const Instr,
    fp: *mut u128,
    def: u32,
}

/// Adds one to a counter. Not an atomic increment: concurrent updates may lose a count, which only
/// delays a tier-up decision, and a plain load and store keeps the hot path free of locked
/// instructions.
#[inline(always)]
fn bump(counter: &AtomicU64) {
    counter.store(counter.load(Ordering::Relaxed).wrapping_add(1), Ordering::Relaxed);
}

/// Spends `weight` of a budget; `true` when it has run out (as in [`bump`], not atomically).
#[inline(always)]
fn spend(budget: &AtomicI64, weight: i64) -> bool {
    let left = budget.load(Ordering::Relaxed).saturating_sub(weight);
    budget.store(left, Ordering::Relaxed);
    left <= 0
}

/// The state of one interpreter entry: one instance's cached pointers and the frame stack.
struct Executor {
    /// The store lent to wasm; reached only through short-lived references ([`Executor::store`]),
    /// since entries called from here reach it too.
    store: *mut StoreInner,
    ctx: *mut VmCtx,
    instance: u32,
    /// The instance's module, which the instance keeps alive for the store's lifetime.
    module: *const ModuleInner,
    num_imported_funcs: u32,
    globals: *const *mut u128,
    counters: *const FuncCounters,
    fuel: *mut u64,
    /// The running function's defined-function index.
    def: u32,
    frames: Vec<Frame>,
    /// Whether to count calls and back-edges (`Config::profile_counters`).
    profiling: bool,
    stack_end: *mut u128,
    max_depth: usize,
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

impl Executor {
    /// An executor for the instance of `ctx`.
    ///
    /// # Safety
    /// As for [`entry`].
    unsafe fn new(ctx: *mut VmCtx) -> Executor {
        // SAFETY: guaranteed by the caller; the module outlives the store's instances.
        let (store, instance, module) = unsafe {
            let store = (*ctx).store;
            let instance = (*ctx).instance;
            let module: *const ModuleInner =
                &*(&(*store).instances)[instance as usize].module.inner;
            (store, instance, module)
        };
        // SAFETY: as above.
        let (m, s) = unsafe { (&*module, &*store) };
        let weight = |w: u64| w.min(i64::MAX as u64) as i64;
        Executor {
            store,
            ctx,
            instance,
            module,
            num_imported_funcs: m.num_imported_funcs,
            // SAFETY: as above.
            globals: unsafe { (*ctx).globals },
            counters: m.tiers.counters_ptr(),
            fuel: s.fuel_ptr(),
            def: 0,
            frames: Vec::new(),
            profiling: m.config.profile_counters,
            stack_end: s.stack.end_ptr(),
            max_depth: s.stack.max_depth.saturating_sub(s.stack.depth),
            call_weight: weight(m.config.tier_up.call_weight),
            back_edge_weight: weight(m.config.tier_up.back_edge_weight),
        }
    }

    /// The store, for one access: no reference obtained here may live across a call out.
    #[allow(clippy::mut_from_ref)] // A raw pointer shared with the entries this executor calls.
    fn store(&self) -> &mut StoreInner {
        // SAFETY: the store outlives the execution; the executor never holds two of these
        // references at once, nor one across a call that may reach the store.
        unsafe { &mut *self.store }
    }

    fn module(&self) -> &ModuleInner {
        // SAFETY: the instance keeps its module alive for the store's lifetime.
        unsafe { &*self.module }
    }

    /// The profile counters of defined function `def`.
    fn counters(&self, def: u32) -> &FuncCounters {
        // SAFETY: `counters` has one entry per defined function of the module.
        unsafe { &*self.counters.add(def as usize) }
    }

    /// Memory 0's base and accessible length, as the runtime keeps them in the context.
    fn memory(&self) -> (*mut u8, usize) {
        // SAFETY: the context is live for the execution.
        unsafe { ((*self.ctx).mem_base, (*self.ctx).mem_len as usize) }
    }

    /// The runtime's entry for imported functions.
    fn ctx_call_import(&self) -> FuncEntry {
        // SAFETY: the context is live for the execution.
        unsafe { (*self.ctx).call_import }
    }

    /// The bytecode of defined function `def`, translating it the first time.
    #[inline(always)]
    fn code(&self, def: u32) -> Result<*const InterpFunc, Trap> {
        match self.module().tiers.interp_ready(def) {
            Some(code) => Ok(code),
            None => self.translate(def),
        }
    }

    /// Translates defined function `def` (or finds why it cannot be).
    #[cold]
    #[inline(never)]
    fn translate(&self, def: u32) -> Result<*const InterpFunc, Trap> {
        match tier::interp_code(self.module(), def) {
            Ok(code) => Ok(code),
            Err(e) => Err(Trap::host(format!("tier 0 cannot run function {def}: {e}"))),
        }
    }

    /// Sets up the frame of defined function `def` at `fp` and returns its code; or, when tiering
    /// hands over newer code at this call, runs the function there and returns `None`.
    #[inline]
    fn enter(&mut self, def: u32, fp: *mut u128) -> Result<Option<*const Instr>, Trap> {
        // SAFETY: the module's code lives as long as the module.
        let f = unsafe { &*self.code(def)? };
        let frame_end = fp.wrapping_add(f.layout.frame_size as usize);
        if frame_end > self.stack_end || self.frames.len() >= self.max_depth {
            self.def = def;
            return Err(self.trap(TrapCode::StackOverflow));
        }
        if self.profiling {
            let counters = self.counters(def);
            if spend(&counters.budget, self.call_weight)
                && let Some(newer) = self.on_hot(def, Site::Entry)
            {
                // The newer code counts this call itself, and names its own frame if it traps;
                // the callers follow.
                let func = self.num_imported_funcs + def;
                // SAFETY: the entry runs this very function on its frame, which the caller
                // prepared.
                self.call_out(|ctx| unsafe { newer(ctx, fp, func) }, true)?;
                return Ok(None);
            }
            bump(&counters.calls);
        }
        self.def = def;
        // SAFETY: `[fp, frame_end)` lies inside the stack (checked above), and the initial image
        // covers slots `num_params..num_params + frame_init.len() <= frame_size`.
        unsafe {
            let init = fp.add(f.layout.num_params as usize);
            let image = &f.layout.frame_init;
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

    /// Reports that `def` spent its budget at `site`; tiering may answer with newer code.
    #[cold]
    #[inline(never)]
    fn on_hot(&self, def: u32, site: Site) -> Option<FuncEntry> {
        let module = self.store().instances[self.instance as usize].module.clone();
        tier::on_hot(&module, def, Tier::Interp, site)
    }

    /// Calls out of the interpreter (an entry, the runtime): the frames of this execution count
    /// against the stack's depth for whatever runs below. A trap coming back gets this
    /// execution's frames appended: the current function's too unless `current_named` (the
    /// callee was newer code running the current function itself).
    fn call_out(
        &mut self,
        call: impl FnOnce(*mut VmCtx) -> u32,
        current_named: bool,
    ) -> Result<(), Trap> {
        let depth = self.frames.len() + 1;
        self.store().stack.depth += depth;
        let status = call(self.ctx);
        self.store().stack.depth -= depth;
        if status == STATUS_OK {
            return Ok(());
        }
        let mut trap = match status {
            TRAP_PENDING => self.store().pending_trap.take().expect("a pending trap was stored"),
            code => Trap::new(crate::vm::trap_code(code)),
        };
        if !current_named {
            trap.push_frame(|| self.frame_info(self.def));
        }
        self.push_caller_frames(&mut trap);
        Err(trap)
    }

    /// Calls defined function `def` of this instance from the instruction before `ret_pc`:
    /// returns its code when it is interpreted here (its frame entered), `None` when it ran
    /// through its entry.
    #[inline(always)]
    fn call_defined(
        &mut self,
        def: u32,
        ret_pc: *const Instr,
        fp: *mut u128,
        callee_fp: *mut u128,
    ) -> Result<Option<*const Instr>, Trap> {
        let tiers = &self.module().tiers;
        if !tiers.is_entered_through(def, ENTRY) {
            let (entry, func) = (tiers.entry(def), self.num_imported_funcs + def);
            // SAFETY: the callee's entry, on the frame at `callee_fp` (arguments in place).
            self.call_out(|ctx| unsafe { entry(ctx, callee_fp, func) }, false)?;
            return Ok(None);
        }
        self.frames.push(Frame { ret_pc, fp, def: self.def });
        let entered = self.enter(def, callee_fp)?;
        if entered.is_none() {
            self.pop_frame();
        }
        Ok(entered)
    }

    /// `call_indirect` through `table[index]` with module type `ty`, like [`Self::call_defined`].
    fn call_indirect(
        &mut self,
        ty: u32,
        table: u32,
        index: u32,
        ret_pc: *const Instr,
        fp: *mut u128,
        callee_fp: *mut u128,
    ) -> Result<Option<*const Instr>, Trap> {
        let func = match ops::resolve_indirect(self.store(), self.instance, ty, table, index) {
            Ok(func) => func,
            Err(code) => return Err(self.trap(code)),
        };
        if let FuncKind::Wasm { instance, def_index } = self.store().func(func).kind
            && instance == self.instance
        {
            return self.call_defined(def_index, ret_pc, fp, callee_fp);
        }
        // SAFETY: the context is this execution's; the arguments are at `callee_fp`.
        self.call_out(|ctx| unsafe { runtime::call_func(ctx, func, callee_fp) }, false)?;
        Ok(None)
    }

    /// The budget ran out on a back-edge to the loop header at `header`: if tiering has newer
    /// code with an entry for that loop, runs the rest of the function there. `true` when the
    /// function has returned (its results are in place).
    #[cold]
    #[inline(never)]
    fn on_stack_replace(&mut self, header: *const Instr, fp: *mut u128) -> Result<bool, Trap> {
        // SAFETY: the running function's code, translated before it ran.
        let code = unsafe { &*self.code(self.def)? };
        // SAFETY: `header` points into that code.
        let index = unsafe { header.offset_from(code.code.as_ptr()) } as u32;
        let Some(ordinal) = code.loop_headers.iter().position(|&h| h == index) else {
            return Ok(false);
        };
        let Some(newer) = self.on_hot(self.def, Site::Loop(ordinal)) else { return Ok(false) };
        let func = self.num_imported_funcs + self.def;
        // SAFETY: the interpreter is at the loop's header, where every tier keeps every value
        // in its canonical slot or as a constant, on a frame checked at entry.
        self.call_out(|ctx| unsafe { newer(ctx, fp, func) }, true)?;
        Ok(true)
    }

    /// Pops the caller's frame after a callee finished; `None` when the entered function
    /// returned.
    fn pop_frame(&mut self) -> Option<(*const Instr, *mut u128)> {
        let frame = self.frames.pop()?;
        self.def = frame.def;
        Some((frame.ret_pc, frame.fp))
    }

    /// Builds a trap with the backtrace of this execution, innermost frame first.
    fn trap(&self, code: TrapCode) -> Trap {
        let mut trap = Trap::new(code);
        trap.push_frame(|| self.frame_info(self.def));
        self.push_caller_frames(&mut trap);
        trap
    }

    /// Appends the interpreted callers of the current function.
    fn push_caller_frames(&self, trap: &mut Trap) {
        for frame in self.frames.iter().rev() {
            trap.push_frame(|| self.frame_info(frame.def));
        }
    }

    /// The backtrace entry of defined function `def`.
    fn frame_info(&self, def: u32) -> crate::vm::FrameInfo {
        runtime::frame_info(
            self.store(),
            self.instance,
            self.num_imported_funcs + def,
            Tier::Interp,
        )
    }

    /// `memory.grow`: the old size in pages, or `-1` as u32.
    fn memory_grow(&mut self, delta: u32) -> u32 {
        let old = ops::memory_grow(self.store(), self.instance, delta);
        // SAFETY: the context is live; nothing borrows the store now.
        unsafe { runtime::refresh_memory(self.ctx) };
        old
    }

    /// Interprets from `pc` in the frame at `fp` until the entered function returns.
    fn interpret(&mut self, mut pc: *const Instr, mut fp: *mut u128) -> Result<(), Trap> {
        let (mut mem_base, mut mem_len) = self.memory();

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
                    let counters = self.counters(self.def);
                    bump(&counters.back_edges);
                    if spend(&counters.budget, self.back_edge_weight)
                        && self.on_stack_replace(pc, fp)?
                    {
                        match self.pop_frame() {
                            None => return Ok(()),
                            Some((ret_pc, caller_fp)) => {
                                pc = ret_pc;
                                fp = caller_fp;
                                (mem_base, mem_len) = self.memory();
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
                (mem_base, mem_len) = self.memory();
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
                    // SAFETY: the store's fuel cell, which only the running code touches.
                    let fuel = unsafe { &mut *self.fuel };
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
                Instr::Return => match self.pop_frame() {
                    None => return Ok(()),
                    Some((ret_pc, caller_fp)) => {
                        pc = ret_pc;
                        fp = caller_fp;
                        reload!();
                    }
                },
                Instr::Call { func, base } => {
                    let callee_fp = fp.wrapping_byte_add(base as usize);
                    let entered = if func >= self.num_imported_funcs {
                        self.call_defined(func - self.num_imported_funcs, pc, fp, callee_fp)?
                    } else {
                        let call_import = self.ctx_call_import();
                        // SAFETY: the runtime's import entry, on the frame at `callee_fp`.
                        self.call_out(|ctx| unsafe { call_import(ctx, callee_fp, func) }, false)?;
                        None
                    };
                    match entered {
                        Some(entry) => {
                            pc = entry;
                            fp = callee_fp;
                        }
                        None => reload!(),
                    }
                }
                Instr::CallIndirect { ty, table, base } => {
                    let num_params = self.module().types[ty as usize].params().len();
                    let index: u32 = rd!(fp, u32, base as usize + num_params * SLOT_BYTES as usize);
                    let callee_fp = fp.wrapping_byte_add(base as usize);
                    match self.call_indirect(ty, table, index, pc, fp, callee_fp)? {
                        Some(entry) => {
                            pc = entry;
                            fp = callee_fp;
                        }
                        None => reload!(),
                    }
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
                Instr::RefFunc { dst, func } => {
                    wr!(fp, dst, ops::ref_func(self.store(), self.instance, func))
                }

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
                    if let Err(code) = ops::memory_fill(self.store(), self.instance, d, v, n) {
                        trap!(code);
                    }
                }
                Instr::MemoryCopy { base } => {
                    let (d, s, n) = (
                        rd!(fp, u32, base),
                        rd!(fp, u32, base + SLOT_BYTES),
                        rd!(fp, u32, base + 2 * SLOT_BYTES),
                    );
                    if let Err(code) = ops::memory_copy(self.store(), self.instance, d, s, n) {
                        trap!(code);
                    }
                }
                Instr::MemoryInit { segment, base } => {
                    let (d, s, n) = (
                        rd!(fp, u32, base),
                        rd!(fp, u32, base + SLOT_BYTES),
                        rd!(fp, u32, base + 2 * SLOT_BYTES),
                    );
                    if let Err(code) =
                        ops::memory_init(self.store(), self.instance, segment, d, s, n)
                    {
                        trap!(code);
                    }
                }
                Instr::DataDrop { segment } => ops::data_drop(self.store(), self.instance, segment),

                Instr::TableGet { dst, table, index } => {
                    match ops::table_get(self.store(), self.instance, table, rd!(fp, u32, index)) {
                        Ok(r) => wr!(fp, dst, r),
                        Err(code) => trap!(code),
                    }
                }
                Instr::TableSet { table, base } => {
                    let (i, r) = (rd!(fp, u32, base), rd!(fp, u64, base + SLOT_BYTES));
                    if let Err(code) = ops::table_set(self.store(), self.instance, table, i, r) {
                        trap!(code);
                    }
                }
                Instr::TableSize { dst, table } => {
                    wr!(fp, dst, ops::table_size(self.store(), self.instance, table))
                }
                Instr::TableGrow { table, base } => {
                    let (init, delta) = (rd!(fp, u64, base), rd!(fp, u32, base + SLOT_BYTES));
                    wr!(fp, base, ops::table_grow(self.store(), self.instance, table, init, delta))
                }
                Instr::TableFill { table, base } => {
                    let (i, r, n) = (
                        rd!(fp, u32, base),
                        rd!(fp, u64, base + SLOT_BYTES),
                        rd!(fp, u32, base + 2 * SLOT_BYTES),
                    );
                    if let Err(code) = ops::table_fill(self.store(), self.instance, table, i, r, n)
                    {
                        trap!(code);
                    }
                }
                Instr::TableCopy { dst_table, src_table, base } => {
                    let (d, s, n) = (
                        rd!(fp, u32, base),
                        rd!(fp, u32, base + SLOT_BYTES),
                        rd!(fp, u32, base + 2 * SLOT_BYTES),
                    );
                    let (store, instance) = (self.store(), self.instance);
                    if let Err(code) =
                        ops::table_copy(store, instance, dst_table, src_table, d, s, n)
                    {
                        trap!(code);
                    }
                }
                Instr::TableInit { table, segment, base } => {
                    let (d, s, n) = (
                        rd!(fp, u32, base),
                        rd!(fp, u32, base + SLOT_BYTES),
                        rd!(fp, u32, base + 2 * SLOT_BYTES),
                    );
                    let (store, instance) = (self.store(), self.instance);
                    if let Err(code) = ops::table_init(store, instance, table, segment, d, s, n) {
                        trap!(code);
                    }
                }
                Instr::ElemDrop { segment } => ops::elem_drop(self.store(), self.instance, segment),

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
}
