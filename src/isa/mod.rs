//! The ISA layer: every machine encoding tierup emits, for any tier that generates code.
//!
//! `masm.rs` is the ISA-free assembler vocabulary (`MacroAssembler`: operation families as small
//! enums, sizes as data, the slot frame and the instance context as the ABI); each folder
//! implements it for one architecture and is the only code that knows its encodings. Every
//! backend is built on every host (`dynasm!` assembles for any architecture), so code for another
//! ISA can be produced and inspected anywhere; only the host's can run.
//!
//! This layer knows no wasm operator and no tier: code generators (tier 1's operator walk, tier
//! 2's lowering) sit above it.

pub mod aarch64;
pub mod masm;
pub mod x64;

/// How code compiled now keeps memory accesses in bounds: guard pages when signal-based traps are
/// allowed and the fault handler is installed (or can be now), explicit checks otherwise.
pub fn heap_bounds(signals_based_traps: bool) -> masm::HeapBounds {
    if signals_based_traps && crate::vm::signals::install() {
        masm::HeapBounds::GuardPages
    } else {
        masm::HeapBounds::Explicit
    }
}

/// An instruction set tierup generates code for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isa {
    /// x86-64 (System V).
    X64,
    /// AArch64 (AAPCS64).
    Aarch64,
}

impl Isa {
    /// The ISA's name, as `std::env::consts::ARCH` spells it (`tierup explore --target` takes
    /// it).
    pub fn name(self) -> &'static str {
        match self {
            Isa::X64 => "x86_64",
            Isa::Aarch64 => "aarch64",
        }
    }

    /// The ISA named `name`: [`Isa::name`], or `x64`/`arm64`.
    pub fn from_name(name: &str) -> Option<Isa> {
        match name {
            "x86_64" | "x64" => Some(Isa::X64),
            "aarch64" | "arm64" => Some(Isa::Aarch64),
            _ => None,
        }
    }

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

/// The out-of-line trap stubs a function needs, one label per trap code, made on first use and
/// emitted by the backend's `finish` (each loads its status and jumps to the trap exit). Shared
/// bookkeeping of both backends' `MacroAssembler::trap_label`.
#[derive(Debug, Default)]
pub(crate) struct TrapStubs(Vec<(crate::vm::TrapCode, dynasmrt::DynamicLabel)>);

impl TrapStubs {
    /// The label of `code`'s stub, making it with `new_label` the first time.
    pub(crate) fn label(
        &mut self,
        code: crate::vm::TrapCode,
        new_label: impl FnOnce() -> dynasmrt::DynamicLabel,
    ) -> dynasmrt::DynamicLabel {
        if let Some((_, label)) = self.0.iter().find(|(c, _)| *c == code) {
            return *label;
        }
        let label = new_label();
        self.0.push((code, label));
        label
    }

    /// Every stub made, in order of first use; the table is left empty.
    pub(crate) fn take(&mut self) -> Vec<(crate::vm::TrapCode, dynasmrt::DynamicLabel)> {
        std::mem::take(&mut self.0)
    }
}
