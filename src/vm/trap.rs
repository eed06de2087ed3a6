//! Traps: why wasm execution stopped abnormally, and where.
//!
//! Messages follow wasmtime's wording (`wasm trap: integer divide by zero`), because users compare
//! engines side by side and the spec testsuite's expected messages are substrings of them.

use crate::tier::Tier;
use std::fmt;

/// The reason for a trap.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TrapCode {
    /// An `unreachable` instruction was executed.
    Unreachable,
    /// An integer `div` or `rem` (signed or unsigned) had a divisor of zero.
    IntegerDivideByZero,
    /// A signed integer division overflowed (`INT_MIN / -1` in `i32.div_s` or `i64.div_s`), or a
    /// trapping float-to-integer truncation (`trunc_f*`, not `trunc_sat_f*`) got a finite or
    /// infinite value outside the target integer's range.
    IntegerOverflow,
    /// A trapping float-to-integer truncation (`trunc_f*`, not `trunc_sat_f*`) got a NaN.
    BadConversionToInteger,
    /// A load, store, `memory.fill`, `memory.copy` or `memory.init` reached past the end of linear
    /// memory, or `memory.init` read past the end of its data segment (a dropped segment is empty).
    /// Also raised at instantiation when an active data segment does not fit in its memory.
    MemoryOutOfBounds,
    /// A `table.get`, `table.set`, `table.fill`, `table.copy`, `table.init` or `call_indirect`
    /// used an index at or past the table's size, or `table.init` read past the end of its element
    /// segment (a dropped segment is empty). Also raised at instantiation when an active element
    /// segment does not fit in its table.
    TableOutOfBounds,
    /// `call_indirect` found a null reference at the given table index.
    IndirectCallToNull,
    /// `call_ref`, `ref.as_non_null` (function references) or `throw_ref` (exception handling)
    /// met a null reference.
    NullReference,
    /// `call_indirect` reached a function whose signature differs from the type the instruction
    /// expects.
    BadSignature,
    /// The wasm stack was exhausted: a call needed more stack than [`Config::max_wasm_stack`]
    /// leaves, the call depth exceeded the limit derived from it (e.g. unbounded recursion), or
    /// host-to-wasm calls nested too deeply.
    ///
    /// [`Config::max_wasm_stack`]: crate::Config::max_wasm_stack
    StackOverflow,
    /// Fuel metering is on ([`Config::consume_fuel`]) and the store's remaining fuel is less than
    /// the cost of the next straight-line run of operators.
    ///
    /// [`Config::consume_fuel`]: crate::Config::consume_fuel
    OutOfFuel,
    /// A host function failed; the string is its message.
    Host(String),
    /// The guest asked to exit (WASI `proc_exit`); not an error, but it unwinds like a trap.
    Exit(i32),
    /// A wasm exception (`throw`, `throw_ref`) that no `try_table` caught: the thrown exception,
    /// whose tag and payload stay in the store. While it travels, handlers in the frames it
    /// passes may still catch it (see `vm::exception`).
    Exception(super::store::Exn),
}

impl TrapCode {
    /// The message after `wasm trap: `.
    pub fn message(&self) -> &str {
        match self {
            TrapCode::Unreachable => "wasm `unreachable` instruction executed",
            TrapCode::IntegerDivideByZero => "integer divide by zero",
            TrapCode::IntegerOverflow => "integer overflow",
            TrapCode::BadConversionToInteger => "invalid conversion to integer",
            TrapCode::MemoryOutOfBounds => "out of bounds memory access",
            TrapCode::TableOutOfBounds => "undefined element: out of bounds table access",
            TrapCode::IndirectCallToNull => "uninitialized element",
            TrapCode::BadSignature => "indirect call type mismatch",
            TrapCode::NullReference => "null reference",
            TrapCode::StackOverflow => "call stack exhausted",
            TrapCode::OutOfFuel => "all fuel consumed by WebAssembly",
            TrapCode::Host(msg) => msg,
            TrapCode::Exit(_) => "exit",
            // wasmtime's wording for an exception that reached the host.
            TrapCode::Exception(_) => "thrown Wasm exception",
        }
    }
}

/// One frame of a wasm backtrace, innermost first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameInfo {
    /// Index of the function in its module's function index space.
    pub func_index: u32,
    /// The name from the module's name section, else the function's first export name.
    pub func_name: Option<String>,
    /// The name of the module, from the name section, if any.
    pub module_name: Option<String>,
    /// The tier the frame was executing in.
    pub tier: Tier,
    /// The module byte offset of the wasm instruction the frame was executing: the trapping
    /// instruction in the innermost frame, the call in every caller (as wasmtime reports it).
    /// `None` where no instruction applies (a body tier 0 could not translate).
    pub wasm_offset: Option<u32>,
}

impl fmt::Display for FrameInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let module = self.module_name.as_deref().unwrap_or("<module>");
        if let Some(offset) = self.wasm_offset {
            write!(f, "{offset:#x} - ")?;
        }
        match &self.func_name {
            Some(name) => write!(f, "{module}!{name}")?,
            None => write!(f, "{module}!<wasm function {}>", self.func_index)?,
        }
        write!(f, " [{}]", self.tier)
    }
}

/// Frames a trap's backtrace keeps: unbounded recursion must not copy every frame.
pub(crate) const MAX_BACKTRACE: usize = 1000;

/// A wasm trap: a code and the wasm backtrace at the point it happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trap {
    /// Why execution stopped.
    pub code: TrapCode,
    /// The wasm frames active when the trap was raised, innermost first, at most 1000 of them.
    /// Empty when no wasm frame was running, e.g. for a segment that does not fit at instantiation
    /// or a host function called directly by the embedder.
    pub backtrace: Vec<FrameInfo>,
    /// Outermost frames left out of `backtrace` because the stack was too deep.
    pub omitted_frames: usize,
}

impl Trap {
    /// A trap with `code` and an empty backtrace. When a host function returns such a trap to wasm,
    /// the interpreter fills in the backtrace of the wasm frames that called it.
    pub fn new(code: TrapCode) -> Trap {
        Trap { code, backtrace: Vec::new(), omitted_frames: 0 }
    }

    /// Appends the next outer frame to the backtrace; past [`MAX_BACKTRACE`] frames only counts it.
    pub(crate) fn push_frame(&mut self, frame: impl FnOnce() -> FrameInfo) {
        if self.backtrace.len() < MAX_BACKTRACE {
            self.backtrace.push(frame());
        } else {
            self.omitted_frames += 1;
        }
    }

    /// A trap raised by a host function with a message of its own.
    pub fn host(msg: impl Into<String>) -> Trap {
        Trap::new(TrapCode::Host(msg.into()))
    }

    /// The guest's requested exit status, if this trap is a `proc_exit`.
    pub fn exit_status(&self) -> Option<i32> {
        match self.code {
            TrapCode::Exit(code) => Some(code),
            _ => None,
        }
    }

    /// The backtrace formatted one frame per line, as printed under the error by the CLI.
    pub fn backtrace_string(&self) -> String {
        let mut out = String::new();
        for (i, frame) in self.backtrace.iter().enumerate() {
            out.push_str(&format!("  {i:>3}: {frame}\n"));
        }
        if self.omitted_frames > 0 {
            out.push_str(&format!("  ... {} more frames\n", self.omitted_frames));
        }
        out
    }
}

impl From<TrapCode> for Trap {
    fn from(code: TrapCode) -> Trap {
        Trap::new(code)
    }
}

impl fmt::Display for Trap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.code {
            TrapCode::Host(msg) => write!(f, "{msg}"),
            TrapCode::Exit(code) => write!(f, "exit with status {code}"),
            TrapCode::Exception(_) => f.write_str(self.code.message()),
            code => write!(f, "wasm trap: {}", code.message()),
        }
    }
}

impl std::error::Error for Trap {}

/// The status compiled code returns for a trap it raises itself (see `vmctx`).
pub(crate) fn trap_status(code: &TrapCode) -> u32 {
    match code {
        TrapCode::Unreachable => 1,
        TrapCode::IntegerDivideByZero => 2,
        TrapCode::IntegerOverflow => 3,
        TrapCode::MemoryOutOfBounds => 4,
        TrapCode::StackOverflow => 5,
        TrapCode::OutOfFuel => 6,
        TrapCode::BadConversionToInteger => 7,
        TrapCode::TableOutOfBounds => 8,
        TrapCode::NullReference => 9,
        other => unreachable!("compiled code never raises {other:?} itself"),
    }
}

/// The trap a status other than `STATUS_OK` and `TRAP_PENDING` stands for.
pub(crate) fn trap_code(status: u32) -> TrapCode {
    match status {
        1 => TrapCode::Unreachable,
        2 => TrapCode::IntegerDivideByZero,
        3 => TrapCode::IntegerOverflow,
        4 => TrapCode::MemoryOutOfBounds,
        5 => TrapCode::StackOverflow,
        6 => TrapCode::OutOfFuel,
        7 => TrapCode::BadConversionToInteger,
        8 => TrapCode::TableOutOfBounds,
        9 => TrapCode::NullReference,
        other => TrapCode::Host(format!("compiled code returned unknown status {other}")),
    }
}
