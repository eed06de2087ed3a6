//! Tier 0: the interpreter. Each function body is translated the first time it is needed into
//! threaded register-machine code ([`code`]): each instruction is its handler's address followed
//! by its operands (frame slots, immediates, branch offsets), and each handler (`handlers.rs`)
//! ends by continuing with the next, with the instruction pointer, the frame pointer, memory 0 and
//! an accumulator (the last result, which the next instruction may read there rather than from
//! its slot) in argument registers. Calls between interpreted functions never recurse on the host
//! stack ([`exec`]). It defines the reference semantics every other tier must match, and lays out
//! the frame every tier shares (`vm::frame`).
//!
//! - `translate.rs`: wasm operators -> bytecode, on validated bodies, in one pass.
//! - `handlers.rs`: one function per instruction.
//! - `exec.rs`: the entry, the dispatch (tail calls where `build.rs` finds them reliable, a loop
//!   elsewhere), calls, traps, counting.
//! - `num.rs`, `simd.rs`: numeric semantics as pure functions.
//! - `debug.rs`: the debug translation's hooks (a debugger's breakpoints and steps), and what a
//!   stop reads of a frame.
//!
//! It reports hotness to tiering and takes the entries tiering hands back; it never names a
//! compiler. It never lets a guest address reach memory unchecked, never allocates while running
//! instructions, and never keeps constants in the frame (they are immediates).

pub(crate) mod code;
pub(crate) mod debug;
#[macro_use]
mod exec;
#[macro_use]
mod handlers;
pub(crate) mod num;
pub(crate) mod simd;
mod translate;

pub(crate) use code::InterpFunc;
pub(crate) use debug::DebugInfo;
pub(crate) use exec::{DEBUG_ENTRY, ENTRY};
pub(crate) use translate::{translate_for_debugging, translate_function};
