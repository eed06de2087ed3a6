#![warn(missing_docs)]
//! # tierup: a tiered WebAssembly engine for research
//!
//! The pipeline runs in one direction:
//!
//! ```text
//! .wasm / .wat --decode + validate (wasmparser)--> Module (immutable, shared)
//!              --instantiate (Linker: host functions, other instances)--> Instance in a Store
//!              --call an export--> tier 0: interpreter (bytecode translated once per function)
//! ```
//!
//! Later tiers (a template JIT, an optimizing SSA tier) plug in behind the same `Func::call`; the
//! interpreter's profile counters ([`FuncProfile`]) are what they will read to decide.
//!
//! ```
//! use tierup::{Engine, Linker, Module, Store};
//! let engine = Engine::default();
//! let module = Module::new(&engine, r#"(module (func (export "add") (param i32 i32) (result i32)
//!     local.get 0 local.get 1 i32.add))"#)?;
//! let mut store = Store::new(&engine, ());
//! let instance = Linker::new().instantiate(&mut store, &module)?;
//! let add = instance.get_func(&store, "add").unwrap().typed::<_, (i32, i32), i32>(&store)?;
//! assert_eq!(add.call(&mut store, (1, 2))?, 3);
//! # Ok::<(), tierup::Error>(())
//! ```

pub mod artifact;
mod code;
pub mod debug;
pub mod debuginfo;
mod engine;
mod error;
mod explore;
mod features;
pub(crate) mod interp;
pub(crate) mod isa;
pub(crate) mod jit;
mod loop_locals;
mod module;
mod operators;
pub mod opt;
mod parallel;
pub mod tier;
mod types;
mod val;
pub mod vm;
pub mod wasi;
pub mod wast;

pub use engine::{Config, Engine, ProfilingStrategy, SigId};
pub use error::{Error, Result};
pub use explore::{CodePart, ExploredFunction, ExploredOp};
pub use features::WasmFeatures;
pub use jit::Isa;
pub use module::{CompileStats, Module, Refusal};
pub use tier::tuning::TierUpPolicy;
pub use tier::{
    BudgetChecks, CompileState, FuncProfile, FuncStats, Tier, TierTimeline, TierUpEvent,
    TierUpMode, Tiering,
};
pub use types::{
    ExternType, FuncType, GlobalType, HeapType, Limits, MemoryType, RefType, TableType, ValType,
};
pub use val::{ExternRef, Val};
pub use vm::{
    Caller, Exn, Extern, Func, FunctionSamples, Global, GrowLimit, GrowRefusal, GuestFrame,
    GuestProfile, GuestStack, Instance, Linker, LoopSamples, Memory, OUTSIDE_WASM, Store, Table,
    Tag, Trap, TrapCode,
};
