//! The runtime: the store and its entities (functions, memories, tables, globals, instances),
//! instantiation, host functions and the linker, and traps.
//!
//! Nothing here executes wasm; execution belongs to the tiers (`interp/`, later `jit/` and `opt/`).

mod externs;
mod func;
mod instance;
mod linker;
pub(crate) mod memory;
pub(crate) mod store;
mod trap;

pub use func::{IntoHostFunc, TypedFunc, WasmParams, WasmResults, WasmTy};
pub use linker::Linker;
pub use store::{Caller, Extern, Func, Global, HostFn, Instance, Memory, Store, Table};
pub use trap::{FrameInfo, Trap, TrapCode};

pub(crate) use store::{decode_func_ref, encode_func_ref};
