//! Debugging a running module: breakpoints, stepping and a read-only view of a stopped frame.
//!
//! The embedder (`tierup debug` is one) attaches a [`Debugger`] to a store
//! ([`Store::set_debugger`](crate::Store::set_debugger)) and sets breakpoints on a module
//! ([`Module::set_breakpoint`](crate::Module::set_breakpoint)). When wasm reaches a breakpoint,
//! or the next instruction while stepping, the debugger's [`Debugger::on_stop`] runs on the thread
//! running wasm, with a [`DebugView`] of the stopped frame, and says how to go on ([`Resume`]).
//!
//! Tiers: a function with a breakpoint, and one being stepped into, runs in the interpreter's
//! debug translation (a hook before every wasm instruction, `interp::debug`). Marking it is one
//! entry swap in the module's function table (`tier::add_debug_mark`): a function already in tier
//! 1 or 2 goes back to the interpreter at its next call, while a frame of it running compiled
//! code finishes in its tier; tiering leaves a marked function where it is. Functions without
//! breakpoints run as they always do, and without a debugger nothing here runs at all.
//!
//! Backtraces span every tier when the engine keeps the shadow stack of running frames
//! ([`ProfilingStrategy::Guest`](crate::ProfilingStrategy::Guest); a zero
//! [`Config::guest_profile_interval`](crate::Config::guest_profile_interval) keeps it without a
//! sampling thread); otherwise they show the interpreter's frames of the current entry only.
//!
//! Limits: tier 2 may have inlined a function into a compiled caller, which then does not stop
//! at its breakpoints; without [`Config::guest_debug`](crate::Config::guest_debug), tier-2
//! callers placed with their callee call it directly, and those calls do not stop either;
//! `step` out of a function whose caller runs compiled code (or its plain translation) stops at
//! the next hook anywhere, as do `next` and `finish` there.

use crate::module::Module;
use crate::tier::Tier;
use crate::val::Val;
use crate::vm::store::StoreInner;

/// What a debugger does when wasm stops: inspect through the view, then say how to go on.
///
/// `Send`, since the store holding it may move to another thread.
pub trait Debugger: Send {
    /// Wasm stopped before the instruction `view` shows; runs synchronously on the thread
    /// running wasm, which waits for the answer.
    fn on_stop(&mut self, view: &DebugView<'_>) -> Resume;
}

/// How execution goes on after a stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resume {
    /// Run until the next breakpoint.
    Continue,
    /// Stop before the next wasm instruction, entering a called function.
    Step,
    /// Stop before the next wasm instruction of this frame or a caller (over calls).
    Next,
    /// Stop once this frame has returned, in its caller.
    Finish,
}

/// Why wasm stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// A breakpoint set at the instruction.
    Breakpoint,
    /// A step, next or finish came to its end.
    Step,
}

/// One frame of a backtrace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DebugFrame {
    /// The function (module index space).
    pub func_index: u32,
    /// The tier its frame runs in.
    pub tier: Tier,
    /// For a frame running a debug translation: the module offset of its current instruction
    /// (the innermost frame's next one, a caller's call).
    pub offset: Option<u32>,
}

/// A read-only view of wasm stopped before an instruction.
pub struct DebugView<'a> {
    pub(crate) store: &'a StoreInner,
    pub(crate) instance: u32,
    pub(crate) reason: StopReason,
    pub(crate) func_index: u32,
    pub(crate) offset: u32,
    pub(crate) locals: Vec<Val>,
    pub(crate) stack: Vec<u128>,
    pub(crate) backtrace: Vec<DebugFrame>,
}

impl DebugView<'_> {
    /// Why it stopped.
    pub fn reason(&self) -> StopReason {
        self.reason
    }

    /// The stopped function (module index space).
    pub fn func_index(&self) -> u32 {
        self.func_index
    }

    /// The module offset of the instruction about to run.
    pub fn offset(&self) -> u32 {
        self.offset
    }

    /// The module of the stopped function.
    pub fn module(&self) -> &Module {
        &self.store.instances[self.instance as usize].module
    }

    /// The frame's locals, parameters first.
    pub fn locals(&self) -> &[Val] {
        &self.locals
    }

    /// The wasm operand stack, bottom first, as the raw bits of each value (an `i32` or `f32`
    /// in the low 32 bits; the interpreter does not keep operand types).
    pub fn stack(&self) -> &[u128] {
        &self.stack
    }

    /// The instance's globals, by module global index.
    pub fn globals(&self) -> Vec<Val> {
        let instance = &self.store.instances[self.instance as usize];
        instance
            .globals
            .iter()
            .map(|&g| {
                let g = &self.store.globals[g as usize];
                Val::from_raw(g.ty.content, g.get(), self.store.id)
            })
            .collect()
    }

    /// `len` bytes of memory `memory` (module index space) from `addr`, as far as the memory
    /// reaches; `None` without that memory or with `addr` past its end.
    pub fn memory(&self, memory: u32, addr: u64, len: usize) -> Option<&[u8]> {
        let instance = &self.store.instances[self.instance as usize];
        let &m = instance.memories.get(memory as usize)?;
        let data = self.store.memories[m as usize].data();
        let start = usize::try_from(addr).ok().filter(|&a| a <= data.len())?;
        Some(&data[start..start.saturating_add(len).min(data.len())])
    }

    /// The wasm frames, outermost first, the stopped one last.
    pub fn backtrace(&self) -> &[DebugFrame] {
        &self.backtrace
    }
}

/// Where a store is in stepping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stepping {
    /// Stop at breakpoints only.
    No,
    /// Stop at the next hook.
    Any,
    /// Stop at the next hook of a frame at or below this frame pointer (this frame or a
    /// caller: frames grow upwards on the value stack).
    AtOrBelow(usize),
    /// Stop at the next hook of a frame below this frame pointer (a caller).
    Below(usize),
}

/// A store's debugger and its stepping state (`StoreInner::debugger`). Only ever used through
/// `&mut` (the store shared between threads never reaches the debugger), so a `Debugger` need
/// not be `Sync` for the store to be.
pub(crate) struct DebugState {
    debugger: Box<dyn Debugger>,
    stepping: Stepping,
    /// Functions marked for stepping into them, unmarked at the next `continue`.
    step_marks: Vec<(Module, u32)>,
}

impl DebugState {
    pub fn new(debugger: Box<dyn Debugger>) -> DebugState {
        DebugState { debugger, stepping: Stepping::No, step_marks: Vec::new() }
    }

    /// Whether a hook of the frame at `fp` stops, and why (`armed`: a breakpoint is set there).
    pub fn wants_stop(&self, armed: bool, fp: usize) -> Option<StopReason> {
        if armed {
            return Some(StopReason::Breakpoint);
        }
        let stop = match self.stepping {
            Stepping::No => false,
            Stepping::Any => true,
            Stepping::AtOrBelow(frame) => fp <= frame,
            Stepping::Below(frame) => fp < frame,
        };
        stop.then_some(StopReason::Step)
    }

    /// Runs the debugger on `view`; then sets up what its answer asks for: `callee` is the
    /// defined function the stopped instruction calls, if it calls one of `view`'s module.
    pub fn stop(&mut self, view: &DebugView<'_>, fp: usize, callee: Option<u32>) {
        let resume = self.debugger.on_stop(view);
        self.stepping = match resume {
            Resume::Continue => Stepping::No,
            Resume::Step => Stepping::Any,
            Resume::Next => Stepping::AtOrBelow(fp),
            Resume::Finish => Stepping::Below(fp),
        };
        match resume {
            Resume::Continue => {
                for (module, def) in self.step_marks.drain(..) {
                    crate::tier::remove_debug_mark(&module.inner, def);
                }
            }
            Resume::Step => {
                let module = view.module();
                if let Some(def) = callee
                    && !module.inner.tiers.is_debug_marked(def)
                    && crate::tier::add_debug_mark(&module.inner, def).is_ok()
                {
                    self.step_marks.push((module.clone(), def));
                }
            }
            Resume::Next | Resume::Finish => {}
        }
    }
}

impl Module {
    /// Sets a breakpoint before the instruction at module offset `offset` of function
    /// `func_index`, or before its first instruction when `offset` is `None`; returns the
    /// instruction's offset. From the function's next call on it runs in the interpreter's debug
    /// translation (see [`crate::debug`]). Fails for an imported function and for an offset where
    /// no reachable instruction starts; setting one twice is harmless.
    pub fn set_breakpoint(&self, func_index: u32, offset: Option<u32>) -> crate::Result<u32> {
        let (def, info) = self.debug_info(func_index)?;
        let point = match offset {
            None => 0,
            Some(offset) => info.point_at(offset).ok_or_else(|| {
                crate::Error::Usage(format!(
                    "no instruction of function {func_index} starts at offset {offset:#x}"
                ))
            })?,
        };
        let armed = &info.armed[point];
        if !armed.swap(true, std::sync::atomic::Ordering::AcqRel) {
            crate::tier::add_debug_mark(&self.inner, def).map_err(crate::Error::Usage)?;
        }
        Ok(info.points[point].offset)
    }

    /// Removes the breakpoint [`Self::set_breakpoint`] set at `offset` of `func_index` (`None`:
    /// its first instruction); once a function has none, it runs its best code again.
    pub fn clear_breakpoint(&self, func_index: u32, offset: Option<u32>) -> crate::Result<()> {
        let (def, info) = self.debug_info(func_index)?;
        let point = match offset {
            None => Some(0),
            Some(offset) => info.point_at(offset),
        };
        if let Some(point) = point
            && info.armed[point].swap(false, std::sync::atomic::Ordering::AcqRel)
        {
            crate::tier::remove_debug_mark(&self.inner, def);
        }
        Ok(())
    }

    /// The module offsets of the instructions of function `func_index` a breakpoint can be set
    /// at (every reachable one), in body order.
    pub fn instruction_offsets(&self, func_index: u32) -> crate::Result<Vec<u32>> {
        let (_, info) = self.debug_info(func_index)?;
        Ok(info.points.iter().map(|p| p.offset).collect())
    }

    /// The defined index and debug translation's hooks of function `func_index`.
    fn debug_info(&self, func_index: u32) -> crate::Result<(u32, &crate::interp::DebugInfo)> {
        let m = &self.inner;
        let def =
            func_index.checked_sub(m.num_imported_funcs).filter(|&d| (d as usize) < m.tiers.len());
        let Some(def) = def else {
            return Err(crate::Error::Usage(format!(
                "function {func_index} is imported or does not exist: no breakpoint there"
            )));
        };
        let code = crate::tier::debug_code(m, def).map_err(|e| crate::Error::Usage(e.into()))?;
        let info = code.debug.as_deref().expect("a debug translation has debug info");
        if info.points.is_empty() {
            return Err(crate::Error::Usage(format!("function {func_index} has no instructions")));
        }
        Ok((def, info))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Config, Engine, Linker, Store, TierUpMode, Tiering};
    use std::sync::{Arc, Mutex};

    /// `sum(n)` adds 1..=n in a loop; `main(n)` calls it twice.
    const SUM: &str = r#"(module
        (func $sum (export "sum") (param $n i32) (result i32) (local $acc i32)
            (loop $top
                (local.set $acc (i32.add (local.get $acc) (local.get $n)))
                (local.set $n (i32.sub (local.get $n) (i32.const 1)))
                (br_if $top (local.get $n)))
            (local.get $acc))
        (func (export "main") (param $n i32) (result i32)
            (i32.add (call $sum (local.get $n)) (call $sum (i32.const 3)))))"#;

    /// What a test debugger saw at one stop.
    #[derive(Clone, Debug, PartialEq)]
    struct Seen {
        reason: StopReason,
        func: u32,
        offset: u32,
        locals: Vec<Val>,
        tiers: Vec<(u32, Tier)>,
    }

    /// Answers each stop with the next of `answers` (then `Continue`), recording what it saw.
    struct Script {
        answers: Vec<Resume>,
        seen: Arc<Mutex<Vec<Seen>>>,
    }

    impl Debugger for Script {
        fn on_stop(&mut self, view: &DebugView<'_>) -> Resume {
            self.seen.lock().unwrap().push(Seen {
                reason: view.reason(),
                func: view.func_index(),
                offset: view.offset(),
                locals: view.locals().to_vec(),
                tiers: view.backtrace().iter().map(|f| (f.func_index, f.tier)).collect(),
            });
            if self.answers.is_empty() { Resume::Continue } else { self.answers.remove(0) }
        }
    }

    fn debug_run(
        config: Config,
        setup: impl Fn(&crate::Module),
        answers: Vec<Resume>,
        warm_up: u32,
    ) -> (Vec<Seen>, Val) {
        let engine = Engine::new(Config {
            profiling_strategy: crate::ProfilingStrategy::Guest,
            guest_profile_interval: std::time::Duration::ZERO,
            guest_debug: true,
            ..config
        });
        let module = crate::Module::new(&engine, SUM).unwrap();
        let mut store = Store::new(&engine, ());
        let instance = Linker::new().instantiate(&mut store, &module).unwrap();
        let main = instance.get_func(&store, "main").unwrap();
        let mut out = [Val::I32(0)];
        for _ in 0..warm_up {
            main.call(&mut store, &[Val::I32(50)], &mut out).unwrap();
        }
        let seen = Arc::new(Mutex::new(Vec::new()));
        store.set_debugger(Box::new(Script { answers, seen: seen.clone() }));
        setup(&module);
        main.call(&mut store, &[Val::I32(4)], &mut out).unwrap();
        let seen = seen.lock().unwrap().clone();
        (seen, out[0])
    }

    #[test]
    fn a_breakpoint_stops_each_call_and_steps_walk_instructions() {
        let config = Config { tier: Tiering::Pinned(Tier::Interp), ..Config::default() };
        let answers = vec![Resume::Step, Resume::Step, Resume::Continue];
        let (seen, result) = debug_run(
            config,
            |m| {
                m.set_breakpoint(0, None).unwrap();
            },
            answers,
            0,
        );
        assert_eq!(result, Val::I32(10 + 6));
        let module = crate::Module::new(&Engine::default(), SUM).unwrap();
        let offsets = module.instruction_offsets(0).unwrap();
        let at: Vec<_> = seen.iter().map(|s| (s.reason, s.func, s.offset)).collect();
        assert_eq!(
            at,
            [
                (StopReason::Breakpoint, 0, offsets[0]),
                (StopReason::Step, 0, offsets[1]),
                (StopReason::Step, 0, offsets[2]),
                (StopReason::Breakpoint, 0, offsets[0]),
            ]
        );
        assert_eq!(seen[0].locals, [Val::I32(4), Val::I32(0)]);
        assert_eq!(seen[3].locals, [Val::I32(3), Val::I32(0)]);
        assert_eq!(seen[0].tiers, [(1, Tier::Interp), (0, Tier::Interp)]);
    }

    #[test]
    fn a_function_that_tiered_up_stops_in_the_interpreter() {
        let mut config =
            Config { tier: Tiering::Auto, tier_up_mode: TierUpMode::Sync, ..Config::default() };
        config.tier_up.threshold = 1;
        let (seen, result) = debug_run(
            config,
            |m| {
                assert!(m.inner.tiers.best_tier(0) > Tier::Interp, "sum tiered up in the warm-up");
                m.set_breakpoint(0, None).unwrap();
            },
            vec![],
            5,
        );
        assert_eq!(result, Val::I32(10 + 6));
        assert_eq!(seen.len(), 2);
        assert!(seen.iter().all(|s| s.reason == StopReason::Breakpoint && s.func == 0));
        // Its caller stays compiled; the stopped frame runs in the interpreter.
        assert_eq!(seen[0].tiers.last(), Some(&(0, Tier::Interp)));
        assert!(seen[0].tiers[0].1 > Tier::Interp, "{:?}", seen[0].tiers);
    }

    #[test]
    fn a_breakpoint_stops_a_tier_2_function_called_by_tier_2_code() {
        // Both functions in tier 2: main calls sum at its register entry, which the breakpoint
        // must take away, so the calls reach the function table's debug entry (`debug_run`'s
        // `guest_debug` keeps the calls looking the entry up rather than direct). No passes: the
        // inliner would take sum into main, which then never stops (the limit the module doc
        // names).
        let config = Config {
            tier: Tiering::Pinned(Tier::Optimized),
            opt_pipeline: String::new(),
            ..Config::default()
        };
        let (seen, result) = debug_run(
            config,
            |m| {
                assert_eq!(m.inner.tiers.best_tier(0), Tier::Optimized, "sum ran in tier 2");
                // The register convention exists on x86-64 only so far (`opt::abi`).
                let code = m.inner.tiers.compiled(0, Tier::Optimized).unwrap();
                assert_eq!(code.register_entry().is_some(), cfg!(target_arch = "x86_64"));
                m.set_breakpoint(0, None).unwrap();
            },
            vec![],
            1,
        );
        assert_eq!(result, Val::I32(10 + 6));
        assert_eq!(seen.len(), 2);
        assert!(seen.iter().all(|s| s.reason == StopReason::Breakpoint && s.func == 0));
        assert_eq!(seen[0].tiers.last(), Some(&(0, Tier::Interp)));
        assert_eq!(seen[0].tiers[0], (1, Tier::Optimized), "{:?}", seen[0].tiers);
    }
}
