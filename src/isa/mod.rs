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
pub mod const_div;
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

/// The out-of-line trap stubs a function needs, made on first use and emitted by the backend's
/// `finish`: one per trap code and wasm operator (each loads its status and the operator's module
/// offset, then jumps to the trap exit), and one per call site leaving with a callee's trap (the
/// status is already in place; it loads the call's offset). Shared bookkeeping of both backends.
///
/// Why a stub per site rather than a table from return addresses to offsets: the hot path is the
/// same either way (a site's branch only changes its target), a stub is two or three instructions
/// that never run unless a trap passes, and the offset then reaches the runtime as an argument
/// of the unwind helper, with nothing to store beside the code, look up, relocate or serialize.
#[derive(Debug, Default)]
pub(crate) struct TrapStubs(Vec<(Option<crate::vm::TrapCode>, u32, dynasmrt::DynamicLabel)>);

impl TrapStubs {
    /// The label of the stub raising `code` (`None`: passing on a callee's trap) at the wasm
    /// operator at module offset `wasm_offset`, making it with `new_label` the first time.
    pub(crate) fn label(
        &mut self,
        code: Option<crate::vm::TrapCode>,
        wasm_offset: u32,
        new_label: impl FnOnce() -> dynasmrt::DynamicLabel,
    ) -> dynasmrt::DynamicLabel {
        // The stubs of one operator are the last made (operators are emitted in order).
        let found = self.0.iter().rev().take(4).find(|(c, at, _)| *c == code && *at == wasm_offset);
        if let Some((_, _, label)) = found {
            return *label;
        }
        let label = new_label();
        self.0.push((code, wasm_offset, label));
        label
    }

    /// Every stub made, in order of first use; the table is left empty.
    #[allow(clippy::type_complexity)]
    pub(crate) fn take(
        &mut self,
    ) -> Vec<(Option<crate::vm::TrapCode>, u32, dynasmrt::DynamicLabel)> {
        std::mem::take(&mut self.0)
    }
}

/// The out-of-line stub of a call site (`MacroAssembler::call`): where a nonzero status goes.
#[derive(Clone, Copy, Debug)]
struct CallStub {
    /// The stub's label.
    stub: dynasmrt::DynamicLabel,
    /// Right after the call: where the code goes on once a pending tail call chain finished.
    resume: dynasmrt::DynamicLabel,
    /// The call site's trap stub (`call_trap_label`).
    trap: dynasmrt::DynamicLabel,
    /// The callee's frame (slot offset): where the chain runs.
    callee_fp: u32,
}
