//! The ISA backends of tier 1. Each folder implements `MacroAssembler` for one architecture and
//! is the only code that knows its encodings.

#[cfg(target_arch = "x86_64")]
mod x64;

use super::CompileError;
use super::masm::{Assembled, HeapBounds};
use crate::interp::code::InterpFunc;
use crate::module::ModuleInner;

/// The name of the ISA [`compile_host`] generates code for (`explore` picks its disassembler by
/// it).
pub const HOST_ISA: &str = std::env::consts::ARCH;

/// Compiles a function for the machine tierup runs on; `record_offsets` as in `codegen::compile`.
pub fn compile_host(
    module: &ModuleInner,
    func_index: u32,
    body: &wasmparser::FunctionBody<'_>,
    layout: &InterpFunc,
    bounds: HeapBounds,
    record_offsets: bool,
) -> Result<Assembled, CompileError> {
    #[cfg(target_arch = "x86_64")]
    {
        let masm = x64::X64Masm::new(bounds);
        super::codegen::compile(masm, module, func_index, body, layout, record_offsets)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (module, func_index, body, layout, bounds, record_offsets);
        Err(CompileError::Unsupported(format!("tier 1 on {}", std::env::consts::ARCH)))
    }
}
