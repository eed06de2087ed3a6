//! The ISA backends of tier 1. Each folder implements `MacroAssembler` for one architecture and
//! is the only code that knows its encodings.

#[cfg(target_arch = "x86_64")]
mod x64;

use super::CompileError;
use super::masm::{Assembled, HeapBounds};
use crate::interp::code::InterpFunc;
use crate::module::ModuleInner;

/// Compiles a function for the machine tierup runs on.
pub fn compile_host(
    module: &ModuleInner,
    func_index: u32,
    body: &wasmparser::FunctionBody<'_>,
    layout: &InterpFunc,
    bounds: HeapBounds,
) -> Result<Assembled, CompileError> {
    #[cfg(target_arch = "x86_64")]
    {
        super::codegen::compile(x64::X64Masm::new(bounds), module, func_index, body, layout)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (module, func_index, body, layout, bounds);
        Err(CompileError::Unsupported(format!("tier 1 on {}", std::env::consts::ARCH)))
    }
}
