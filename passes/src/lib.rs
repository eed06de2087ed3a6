//! `tierup-passes`: the SSA IR, its analyses and the optimization passes of tierup's optimizing
//! tier.
//!
//! This crate is the pass author's workbench. It must never depend on `wasmparser`, `dynasm` or the
//! tierup runtime: IR is built from wasm by the engine (`src/opt/build.rs`) or written by hand in
//! the text form. Its only dependency is `petgraph`.
//!
//! - [`ir`]: modules, functions, blocks with parameters, instructions with exact wasm semantics.
//! - [`text`]: printer and parser.
//! - [`verify`]: the verifier.
//! - [`analysis`]: CFG, dominator tree, loops, liveness, use lists, call graph (petgraph's SCCs).
//! - [`pass`]: the `Pass` trait, `PassManager`, pipelines, statistics.
//! - [`passes`]: the passes and their registry.
//! - [`eval`] and [`check`]: the SSA evaluator and the before/after check built on it.
//! - [`hash`]: a fast hasher for hot hash maps.

#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod analysis;
pub mod check;
pub mod eval;
pub mod hash;
pub mod ir;
pub mod pass;
pub mod passes;
pub mod text;
pub mod verify;
