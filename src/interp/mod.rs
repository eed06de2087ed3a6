//! Tier 0: the interpreter. Each function body is translated once, at module compile time, into a
//! slot-addressed bytecode ([`code`]), then executed by a loop that never recurses on the host stack
//! for wasm calls ([`exec`]). It defines the reference semantics every other tier must match.
//!
//! - `translate.rs`: wasm operators -> bytecode, fused with validation.
//! - `exec.rs`: the dispatch loop, calls, traps.
//! - `num.rs`, `simd.rs`: numeric semantics as pure functions.
//! - `stack.rs`: the value stack the frames live in.

pub(crate) mod code;
mod exec;
pub(crate) mod num;
pub(crate) mod simd;
mod stack;
mod translate;

pub(crate) use code::InterpFunc;
pub(crate) use exec::call;
pub(crate) use stack::Stack;
pub(crate) use translate::{ends_fuel_segment, translate_function};
