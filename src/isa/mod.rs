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
pub(crate) struct TrapStubs {
    /// Every stub made, in order of first use (the order `finish` emits them in).
    made: Vec<(crate::vm::TrapCode, dynasmrt::DynamicLabel)>,
    /// The labels in `made` of the codes without a payload, by [`payload_free_index`]: every
    /// memory access asks for one, and comparing whole trap codes costs far more.
    by_index: [Option<dynasmrt::DynamicLabel>; PAYLOAD_FREE_CODES],
}

/// How many trap codes carry no payload (see [`payload_free_index`]).
const PAYLOAD_FREE_CODES: usize = 10;

/// A distinct index below [`PAYLOAD_FREE_CODES`] for each trap code without a payload.
fn payload_free_index(code: &crate::vm::TrapCode) -> Option<usize> {
    use crate::vm::TrapCode as T;
    Some(match code {
        T::Unreachable => 0,
        T::IntegerDivideByZero => 1,
        T::IntegerOverflow => 2,
        T::BadConversionToInteger => 3,
        T::MemoryOutOfBounds => 4,
        T::TableOutOfBounds => 5,
        T::IndirectCallToNull => 6,
        T::BadSignature => 7,
        T::StackOverflow => 8,
        T::OutOfFuel => 9,
        T::Host(_) | T::Exit(_) => return None,
    })
}

impl TrapStubs {
    /// The label of `code`'s stub, making it with `new_label` the first time.
    pub(crate) fn label(
        &mut self,
        code: crate::vm::TrapCode,
        new_label: impl FnOnce() -> dynasmrt::DynamicLabel,
    ) -> dynasmrt::DynamicLabel {
        let index = payload_free_index(&code);
        if let Some(i) = index {
            if let Some(label) = self.by_index[i] {
                return label;
            }
        } else if let Some((_, label)) = self.made.iter().find(|(c, _)| *c == code) {
            return *label;
        }
        let label = new_label();
        if let Some(i) = index {
            self.by_index[i] = Some(label);
        }
        self.made.push((code, label));
        label
    }

    /// Every stub made, in order of first use; the table is left empty.
    pub(crate) fn take(&mut self) -> Vec<(crate::vm::TrapCode, dynasmrt::DynamicLabel)> {
        self.by_index = [None; PAYLOAD_FREE_CODES];
        std::mem::take(&mut self.made)
    }
}

#[cfg(test)]
mod tests {
    use super::TrapStubs;
    use crate::vm::TrapCode;
    use dynasmrt::{VecAssembler, x64::X64Relocation};

    #[test]
    fn trap_stubs_make_one_label_per_code_in_order_of_first_use() {
        let mut ops = VecAssembler::<X64Relocation>::new(0);
        let mut stubs = TrapStubs::default();
        let oob = stubs.label(TrapCode::MemoryOutOfBounds, || ops.new_dynamic_label());
        let host = stubs.label(TrapCode::Host("x".into()), || ops.new_dynamic_label());
        let fuel = stubs.label(TrapCode::OutOfFuel, || ops.new_dynamic_label());
        assert_ne!(oob, fuel);
        assert_eq!(stubs.label(TrapCode::MemoryOutOfBounds, || unreachable!()), oob);
        assert_eq!(stubs.label(TrapCode::Host("x".into()), || unreachable!()), host);
        let made: Vec<_> = stubs.take().into_iter().map(|(code, _)| code).collect();
        assert_eq!(
            made,
            [TrapCode::MemoryOutOfBounds, TrapCode::Host("x".into()), TrapCode::OutOfFuel]
        );
        // Taken: the next function makes its own.
        let again = stubs.label(TrapCode::MemoryOutOfBounds, || ops.new_dynamic_label());
        assert_ne!(again, oob);
    }
}
