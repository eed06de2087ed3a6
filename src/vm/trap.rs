//! Traps: why wasm execution stopped abnormally, and where.
//!
//! Messages follow wasmtime's wording (`wasm trap: integer divide by zero`), because users compare
//! engines side by side and the spec testsuite's expected messages are substrings of them.

use crate::tier::Tier;
use std::fmt;

/// The reason for a trap.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TrapCode {
    Unreachable,
    IntegerDivideByZero,
    IntegerOverflow,
    BadConversionToInteger,
    MemoryOutOfBounds,
    TableOutOfBounds,
    IndirectCallToNull,
    BadSignature,
    StackOverflow,
    OutOfFuel,
    NullReference,
    /// A host function failed; the string is its message.
    Host(String),
    /// The guest asked to exit (WASI `proc_exit`); not an error, but it unwinds like a trap.
    Exit(i32),
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
            TrapCode::StackOverflow => "call stack exhausted",
            TrapCode::OutOfFuel => "all fuel consumed by WebAssembly",
            TrapCode::NullReference => "null reference",
            TrapCode::Host(msg) => msg,
            TrapCode::Exit(_) => "exit",
        }
    }
}

/// One frame of a wasm backtrace, innermost first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameInfo {
    /// Index of the function in its module's function index space.
    pub func_index: u32,
    /// The name from the module's name section, if any.
    pub func_name: Option<String>,
    /// The name of the module, from the name section, if any.
    pub module_name: Option<String>,
    /// The tier the frame was executing in.
    pub tier: Tier,
}

impl fmt::Display for FrameInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let module = self.module_name.as_deref().unwrap_or("<module>");
        match &self.func_name {
            Some(name) => write!(f, "{module}!{name}")?,
            None => write!(f, "{module}!<wasm function {}>", self.func_index)?,
        }
        write!(f, " [{}]", self.tier)
    }
}

/// A wasm trap: a code and the wasm backtrace at the point it happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trap {
    pub code: TrapCode,
    pub backtrace: Vec<FrameInfo>,
    /// Outermost frames left out of `backtrace` because the stack was too deep.
    pub omitted_frames: usize,
}

impl Trap {
    pub fn new(code: TrapCode) -> Trap {
        Trap { code, backtrace: Vec::new(), omitted_frames: 0 }
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
            code => write!(f, "wasm trap: {}", code.message()),
        }
    }
}

impl std::error::Error for Trap {}
