//! [`Module::explore_function`]: what tier 1 (or tier 2) makes of a function, for tools that
//! show it (`tierup explore`): the machine code and the map from each wasm operator (tier 2: each
//! instruction of the optimized SSA) to the code it generated.
//!
//! Read-only and off the execution path: the function is compiled afresh with per-operator
//! offsets recorded, and the result is only bytes and numbers. This must never install or run the
//! code it compiles, nor change the module.

use crate::isa::masm::OutOfLine;
use crate::jit;
use crate::module::ExportKind;
use crate::tier::CompileError;
use crate::{Error, Module, Result, Tier, TrapCode};
use std::time::Duration;

/// A function as tier 1 or tier 2 compiles it.
#[derive(Clone, Debug)]
pub struct ExploredFunction {
    /// Index in the module's function index space.
    pub func_index: u32,
    /// The tier that compiled it: [`Tier::Baseline`] or [`Tier::Optimized`].
    pub tier: Tier,
    /// Its name from the name section, else its first export name.
    pub name: Option<String>,
    /// The ISA the code is for, as `std::env::consts::ARCH` names it (`x86_64`).
    pub isa: &'static str,
    /// The machine code, as if loaded at address 0 (it is position-independent).
    pub code: Vec<u8>,
    /// What compiling cost, in CPU time of the compiling thread (with the offset recording,
    /// which costs little).
    pub compile_time: Duration,
    /// Tier 1: each operator of the body, in order: its module byte offset and where its code
    /// starts. An operator whose code offset equals the next one's emitted nothing (constants and
    /// `local.get` are only pushed on the code generator's virtual stack).
    ///
    /// Tier 2: each stretch of the body's code in code order, labelled with the instruction of
    /// the optimized SSA it was emitted for ([`ExploredOp::ir`]) and that instruction's wasm
    /// operator. Passes move, merge and delete instructions, so offsets are not in wasm order and
    /// an instruction may have several stretches.
    pub ops: Vec<ExploredOp>,
    /// Where the body's code ends and the out-of-line code starts.
    pub body_end: u32,
    /// Tier 2: where the register entry starts (`opt::abi`), when the code has one; the code
    /// before it is the adapter the slot-convention entry at offset 0 runs.
    pub register_entry: Option<u32>,
    /// The labelled pieces of out-of-line code, in code order.
    pub out_of_line: Vec<(u32, CodePart)>,
}

/// One wasm operator (tier 2: one SSA instruction) and where its code starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExploredOp {
    /// The operator's byte offset in the module binary; 0 for tier-2 code no operator made (the
    /// entry's parameter loads, the register allocator's moves).
    pub wasm_offset: u32,
    /// The code offset of its first instruction.
    pub code_offset: u32,
    /// Tier 2 only: the SSA instruction as the passes print it (`v7 = i32.add v3, v5`), or what
    /// the compiler added, in parentheses.
    pub ir: Option<String>,
}

/// A labelled piece of a function's out-of-line code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CodePart {
    /// The on-stack-replacement entry into the function's `n`-th loop (in body order): the
    /// interpreter jumps in here at that loop's header.
    OsrEntry(usize),
    /// Counting done out of line: adding a loop's back-edge tally to the counters, and calling
    /// tiering when the function's tier-up budget runs out (at its entry or a loop back-edge).
    HotStub,
    /// The stub that leaves with this trap.
    TrapStub(TrapCode),
    /// The stub a call site leaves through when its callee trapped (naming the call's offset).
    CallTrapStub,
    /// The stub a call site goes to when its callee left a tail call pending: runs the chain.
    TailCallStub,
    /// A register call (tier 2 to tier 2) whose callee has no register entry: the call through
    /// the function table with the arguments in slots.
    RegisterCallBySlots,
    /// Where tail calls leave the function for their callee's entry.
    TailExit,
    /// Where a faulting heap access continues (an out-of-bounds trap).
    OobLanding,
    /// Where every trap leaves the function.
    TrapExit,
    /// The shared return path.
    Epilogue,
    /// A `br_table`'s jump table: offsets of the cases' code from the table's start (data, not
    /// instructions).
    JumpTable {
        /// How many entries (the default target is not in the table).
        cases: u32,
    },
}

impl std::fmt::Display for CodePart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CodePart::OsrEntry(n) => write!(f, "OSR entry into loop {n}"),
            CodePart::HotStub => write!(f, "counting stub: back-edge tally or tier-up check"),
            CodePart::TrapStub(code) => write!(f, "trap stub: {}", code.message()),
            CodePart::CallTrapStub => f.write_str("call trap stub: a callee trapped"),
            CodePart::TailCallStub => f.write_str("tail-call stub: a callee left a tail call"),
            CodePart::RegisterCallBySlots => {
                f.write_str("register call by slots: the callee has no register entry")
            }
            CodePart::TailExit => f.write_str("tail exit: restores, then jumps to the callee"),
            CodePart::OobLanding => f.write_str("landing pad of faulting heap accesses"),
            CodePart::TrapExit => f.write_str("trap exit"),
            CodePart::Epilogue => f.write_str("epilogue"),
            CodePart::JumpTable { cases } => write!(f, "jump table: {cases} cases"),
        }
    }
}

impl Module {
    /// Number of imported functions: defined functions' indices start here.
    pub fn num_imported_funcs(&self) -> u32 {
        self.inner.num_imported_funcs
    }

    /// A function's name as tools show it: from the name section, else its first export name.
    pub fn display_name(&self, func_index: u32) -> Option<&str> {
        self.inner.display_name(func_index)
    }

    /// The function a name denotes: a name-section name first, else an export name.
    pub fn find_function(&self, name: &str) -> Option<u32> {
        let m = &self.inner;
        let by_name = m.names.funcs.iter().filter(|(_, n)| *n == name).map(|(i, _)| *i).min();
        by_name.or_else(|| {
            m.exports
                .iter()
                .find(|(n, kind, _)| n == name && *kind == ExportKind::Func)
                .map(|e| e.2)
        })
    }

    /// Compiles function `func_index` (function index space) with tier 1 and returns its code
    /// and offset map. The module's own tier-1 code, if any, is left alone.
    ///
    /// Errors: [`Error::Usage`] for an index out of range or an imported function,
    /// [`Error::Unsupported`] with tier 1's reason when it refuses the function (SIMD, floats,
    /// ...), [`Error::Internal`] for a compiler bug.
    pub fn explore_function(&self, func_index: u32) -> Result<ExploredFunction> {
        let isa = jit::Isa::host()
            .ok_or_else(|| Error::Unsupported(format!("tier 1 on {}", std::env::consts::ARCH)))?;
        self.explore_function_for(func_index, isa)
    }

    /// [`Module::explore_function`] for `isa`, whatever the host: code that is only read, never
    /// run, so any backend can produce it anywhere.
    pub fn explore_function_for(&self, func_index: u32, isa: jit::Isa) -> Result<ExploredFunction> {
        self.explore_function_in(func_index, Tier::Baseline, isa)
    }

    /// [`Module::explore_function_for`] in `tier`: [`Tier::Baseline`] or [`Tier::Optimized`]
    /// (tier 2 with the engine's pipeline; without a profile, small callees are offered to the
    /// inliner as when `--tier optimized` compiles up front).
    pub fn explore_function_in(
        &self,
        func_index: u32,
        tier: Tier,
        isa: jit::Isa,
    ) -> Result<ExploredFunction> {
        self.explore_entry(func_index, tier, None, isa)
    }

    /// [`Module::explore_function_in`], for [`Tier::Optimized`] with `osr_loop`: the variant
    /// on-stack replacement compiles for that loop (its ordinal in the body, every `loop`
    /// counted), entered at the loop's header with the frame's values.
    pub fn explore_entry(
        &self,
        func_index: u32,
        tier: Tier,
        osr_loop: Option<u32>,
        isa: jit::Isa,
    ) -> Result<ExploredFunction> {
        if osr_loop.is_some() && tier != Tier::Optimized {
            return Err(Error::Usage(
                "an on-stack-replacement variant is shown for tier 2 (--tier optimized) only"
                    .into(),
            ));
        }
        let m = &self.inner;
        let def = func_index
            .checked_sub(m.num_imported_funcs)
            .filter(|def| (*def as usize) < m.tiers.len())
            .ok_or_else(|| {
                Error::Usage(if func_index < m.num_imported_funcs {
                    format!("function {func_index} is imported: it has no code")
                } else {
                    format!("no function {func_index} (the module has {})", self.num_funcs())
                })
            })?;
        let code = crate::tier::interp_code(m, def)
            .map_err(|e| Error::Internal(format!("tier 0 cannot translate function: {e}")))?;
        let refused = |e| match e {
            CompileError::Unsupported(reason) => Error::Unsupported(reason),
            CompileError::Internal(e) => Error::Internal(e),
        };
        let (assembled, compile_time, ops) = match tier {
            Tier::Baseline => {
                let (assembled, time) =
                    jit::compile_for_explore(isa, m, func_index, &code.layout).map_err(refused)?;
                let ops = assembled.code_map.ops.iter().map(|&(wasm_offset, code_offset)| {
                    ExploredOp { wasm_offset, code_offset, ir: None }
                });
                let ops = ops.collect();
                (assembled, time, ops)
            }
            Tier::Optimized => {
                let (assembled, stretches, time) =
                    crate::opt::compile_for_explore(isa, m, func_index, &code.layout, osr_loop)
                        .map_err(refused)?;
                let ops = stretches.into_iter().map(|s| ExploredOp {
                    wasm_offset: s.wasm_offset.unwrap_or(0),
                    code_offset: s.code_offset,
                    ir: Some(s.what),
                });
                (assembled, time, ops.collect())
            }
            Tier::Interp => {
                return Err(Error::Usage("the interpreter makes no machine code".into()));
            }
        };
        let map = assembled.code_map;
        let osr = assembled.osr_entries.iter().enumerate();
        let mut out_of_line: Vec<(u32, CodePart)> = osr
            .filter_map(|(n, entry)| entry.map(|offset| (offset, CodePart::OsrEntry(n))))
            .chain(map.out_of_line.into_iter().map(|(offset, part)| {
                let part = match part {
                    OutOfLine::HotStub => CodePart::HotStub,
                    OutOfLine::TrapStub(code) => CodePart::TrapStub(code),
                    OutOfLine::CallTrapStub => CodePart::CallTrapStub,
                    OutOfLine::TailCallStub => CodePart::TailCallStub,
                    OutOfLine::RegisterCallBySlots => CodePart::RegisterCallBySlots,
                    OutOfLine::TailExit => CodePart::TailExit,
                    OutOfLine::OobLanding => CodePart::OobLanding,
                    OutOfLine::TrapExit => CodePart::TrapExit,
                    OutOfLine::Epilogue => CodePart::Epilogue,
                    OutOfLine::JumpTable { cases } => CodePart::JumpTable { cases },
                };
                (offset, part)
            }))
            .collect();
        out_of_line.sort_by_key(|(offset, _)| *offset);
        Ok(ExploredFunction {
            func_index,
            tier,
            name: m.display_name(func_index).map(str::to_string),
            isa: isa.name(),
            code: assembled.code,
            compile_time,
            ops,
            body_end: map.body_end,
            register_entry: assembled.register_entry,
            out_of_line,
        })
    }
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use crate::{Engine, Error, Module};

    #[test]
    fn every_operator_is_mapped_in_order_inside_the_body() {
        let wat = r#"(module (func $f (param i32) (result i32)
            (i32.add (local.get 0) (i32.const 1))))"#;
        let module = Module::new(&Engine::default(), wat).unwrap();
        let f = module.explore_function(0).unwrap();
        assert_eq!(f.name.as_deref(), Some("f"));
        assert_eq!(f.ops.len(), 4, "local.get, i32.const, i32.add, end: {:?}", f.ops);
        assert!(f.ops.windows(2).all(|w| w[0].wasm_offset < w[1].wasm_offset));
        assert!(f.ops.windows(2).all(|w| w[0].code_offset <= w[1].code_offset));
        assert!(f.ops[0].code_offset > 0, "the prologue comes first");
        assert_eq!(f.ops[0].code_offset, f.ops[2].code_offset, "operands cost no code");
        assert!(f.ops[3].code_offset < f.body_end && (f.body_end as usize) < f.code.len());
        let parts: Vec<String> = f.out_of_line.iter().map(|(_, p)| p.to_string()).collect();
        // Under `auto`, tier-1 code counts calls and asks tiering when its budget runs out.
        let stub = "counting stub: back-edge tally or tier-up check";
        assert_eq!(parts, [stub, "trap stub: call stack exhausted", "trap exit", "epilogue"]);
    }

    #[test]
    fn tier_2_code_is_mapped_to_ssa_instructions_and_their_operators() {
        let wat = r#"(module (func $f (param i32 i32) (result i32)
            (i32.mul (i32.add (local.get 0) (local.get 1)) (local.get 0))))"#;
        let module = Module::new(&Engine::default(), wat).unwrap();
        let isa = crate::Isa::host().unwrap();
        let f = module.explore_function_in(0, crate::Tier::Optimized, isa).unwrap();
        assert_eq!(f.tier, crate::Tier::Optimized);
        let ir: Vec<&str> = f.ops.iter().filter_map(|op| op.ir.as_deref()).collect();
        assert_eq!(ir.len(), f.ops.len(), "every stretch is labelled: {ir:?}");
        let add = f.ops.iter().find(|op| op.ir.as_deref().is_some_and(|t| t.contains("i32.add")));
        let mul = f.ops.iter().find(|op| op.ir.as_deref().is_some_and(|t| t.contains("i32.mul")));
        let (add, mul) = (add.expect("an add"), mul.expect("a mul"));
        // The operators' module offsets: `local.get 0; local.get 1; i32.add; local.get 0; i32.mul`.
        assert_eq!(mul.wasm_offset, add.wasm_offset + 3, "{:?}", f.ops);
        assert!(add.code_offset < mul.code_offset && (mul.code_offset as usize) < f.code.len());
        assert!(f.ops.windows(2).all(|w| w[0].code_offset < w[1].code_offset));
    }

    #[test]
    fn refusals_and_imports_are_errors() {
        let wat = r#"(module (import "env" "f" (func))
            (func (result i32) (i32x4.extract_lane 0 (v128.const i64x2 0 0))))"#;
        let module = Module::new(&Engine::default(), wat).unwrap();
        assert!(matches!(module.explore_function(0), Err(Error::Usage(_))));
        assert!(matches!(module.explore_function(1), Err(Error::Unsupported(_))));
        assert!(matches!(module.explore_function(2), Err(Error::Usage(_))));
    }
}
