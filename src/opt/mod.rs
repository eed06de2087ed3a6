//! The optimizing tier across the `passes/` boundary: wasm in, `tierup-passes` IR out
//! ([`build`]). Lowering the optimized IR to machine code is a later issue.
//!
//! This is the only place where wasmparser meets the passes IR; `tierup-passes` itself must never
//! see wasmparser, so its IR can also be written by hand.

pub mod build;

pub use build::{BuildError, BuildReport, build_module};
