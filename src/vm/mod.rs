//! The runtime: the store and its entities (functions, memories, tables, globals, instances),
//! instantiation, host functions and the linker, traps, and the contracts every tier runs on (the
//! slot frame, the instance context and the entry convention, the value stack, the fault
//! handler's registry).
//!
//! Nothing here executes wasm, and nothing here names a tier: calls go through function entries
//! whatever tier made them (`call`), and tiering decides which entry a function has.

pub(crate) mod call;
pub(crate) mod exception;
mod externs;
pub(crate) mod frame;
mod func;
mod instance;
mod linker;
pub(crate) mod memory;
pub(crate) mod ops;
pub(crate) mod profile;
pub(crate) mod signals;
pub(crate) mod stack;
pub(crate) mod store;
pub(crate) mod table;
mod trap;
pub(crate) mod vmctx;

pub use func::{IntoHostFunc, TypedFunc, WasmParams, WasmResults, WasmTy};
pub use linker::Linker;
pub use memory::{GrowLimit, GrowRefusal};
pub use profile::{
    FunctionSamples, GuestFrame, GuestProfile, GuestStack, LoopSamples, OUTSIDE_WASM,
};
pub use store::{Caller, Exn, Extern, Func, Global, HostFn, Instance, Memory, Store, Table, Tag};
pub use trap::{FrameInfo, Trap, TrapCode};

pub(crate) use store::{decode_func_ref, encode_func_ref};
pub(crate) use trap::{trap_code, trap_status};
