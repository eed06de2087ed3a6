//! The ISA backends of tier 1. Each folder implements `MacroAssembler` for one architecture and
//! is the only code that knows its encodings. Every backend is built on every host (`dynasm!`
//! assembles for any architecture), so code for another ISA can be produced and inspected
//! anywhere; only the host's can run.

mod aarch64;
mod x64;

use super::CompileError;
use crate::interp::code::InterpFunc;
use crate::module::ModuleInner;

/// An instruction set tier 1 compiles for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isa {
    X64,
    Aarch64,
}

impl Isa {
    /// The machine tierup runs on, when tier 1 has a backend for it.
    pub fn host() -> Option<Isa> {
        if cfg!(target_arch = "x86_64") {
            Some(Isa::X64)
        } else if cfg!(target_arch = "aarch64") {
            Some(Isa::Aarch64)
        } else {
            None
        }
    }
}

/// Compiles a function for `isa`, whatever the host: the bytes run only on that ISA.
pub fn compile_for(
    isa: Isa,
    module: &ModuleInner,
    func_index: u32,
    body: &wasmparser::FunctionBody<'_>,
    layout: &InterpFunc,
) -> Result<Vec<u8>, CompileError> {
    use super::codegen::compile;
    match isa {
        Isa::X64 => compile(x64::X64Masm::default(), module, func_index, body, layout),
        Isa::Aarch64 => {
            // Conditional branches reach +-1 MiB; a function whose code outgrows that fails to
            // assemble and is compiled again with every conditional branch made far.
            compile(aarch64::Aarch64Masm::new(false), module, func_index, body, layout).or_else(
                |near| match near {
                    CompileError::Internal(_) => {
                        compile(aarch64::Aarch64Masm::new(true), module, func_index, body, layout)
                    }
                    unsupported => Err(unsupported),
                },
            )
        }
    }
}

/// Compiles a function for the machine tierup runs on.
pub fn compile_host(
    module: &ModuleInner,
    func_index: u32,
    body: &wasmparser::FunctionBody<'_>,
    layout: &InterpFunc,
) -> Result<Vec<u8>, CompileError> {
    match Isa::host() {
        Some(isa) => compile_for(isa, module, func_index, body, layout),
        None => Err(CompileError::Unsupported(format!("tier 1 on {}", std::env::consts::ARCH))),
    }
}
