//! `tierup-passes`: the SSA IR, its analyses and the optimization passes of tierup's optimizing tier.
//!
//! This crate is the pass author's workbench. It must never depend on `wasmparser`, `dynasm` or the
//! tierup runtime: IR can be built from wasm by the engine (`src/opt/build.rs`) or written by hand.
//! The IR itself arrives with the optimizing-tier issue; today the crate only reserves its place in the
//! workspace.
