//! Tier 0: the interpreter. Each function body is translated the first time it is needed into a
//! slot-addressed bytecode ([`code`]) and executed by a loop that never recurses on the host stack
//! for calls between interpreted functions ([`exec`]). It defines the reference semantics every
//! other tier must match, and lays out the frame every tier shares (`vm::frame`).
//!
//! - `translate.rs`: wasm operators -> bytecode, on validated bodies.
//! - `exec.rs`: the entry, the dispatch loop, calls, traps, counting.
//! - `num.rs`, `simd.rs`: numeric semantics as pure functions.
//!
//! It reports hotness to tiering and takes the entries tiering hands back; it never names a
//! compiler.

pub(crate) mod code;
mod exec;
pub(crate) mod num;
pub(crate) mod simd;
mod translate;

pub(crate) use code::InterpFunc;
pub(crate) use exec::ENTRY;
pub(crate) use translate::translate_function;
