//! Wasm values as the embedder API passes them in and out of functions, globals and tables.

use crate::types::ValType;
use crate::vm::store::StoreId;
use crate::vm::{Exn, Func};

/// An opaque host reference carried by `externref` values. tierup only stores and compares it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ExternRef(pub u32);

/// A wasm value. Floats are kept as raw bits so NaN payloads survive every round trip.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Val {
    /// An `i32`; wasm integers have no sign, so operators decide how to read the bits.
    I32(i32),
    /// An `i64`; wasm integers have no sign, so operators decide how to read the bits.
    I64(i64),
    /// An `f32` as its IEEE-754 bit pattern.
    F32(u32),
    /// An `f64` as its IEEE-754 bit pattern.
    F64(u64),
    /// A `v128`, with lane 0 in the low bits (the little-endian memory image).
    V128(u128),
    /// A `funcref`; `None` is `ref.null func`.
    FuncRef(Option<Func>),
    /// An `externref`; `None` is `ref.null extern`.
    ExternRef(Option<ExternRef>),
    /// An `exnref`: a thrown exception caught with `catch_ref`/`catch_all_ref`; `None` is
    /// `ref.null exn`.
    ExnRef(Option<Exn>),
}

impl Val {
    /// The type of this value.
    pub fn ty(&self) -> ValType {
        match self {
            Val::I32(_) => ValType::I32,
            Val::I64(_) => ValType::I64,
            Val::F32(_) => ValType::F32,
            Val::F64(_) => ValType::F64,
            Val::V128(_) => ValType::V128,
            Val::FuncRef(_) => ValType::FUNCREF,
            Val::ExternRef(_) => ValType::EXTERNREF,
            Val::ExnRef(_) => ValType::EXNREF,
        }
    }

    /// The zero value of a type (`ref.null` for references): what locals and tables of a
    /// defaultable type start with, and a placeholder for results (non-nullable references have
    /// no default; this gives `null` for them too).
    pub fn default_for(ty: ValType) -> Val {
        match ty {
            ValType::I32 => Val::I32(0),
            ValType::I64 => Val::I64(0),
            ValType::F32 => Val::F32(0),
            ValType::F64 => Val::F64(0),
            ValType::V128 => Val::V128(0),
            ValType::Ref(r) if r.heap == crate::types::HeapType::Exn => Val::ExnRef(None),
            ValType::Ref(r) if r.is_func() => Val::FuncRef(None),
            ValType::Ref(_) => Val::ExternRef(None),
        }
    }

    /// Encode as the 128-bit raw slot the runtime stores. A `funcref` becomes its index in its
    /// store, so the value must belong to the store the slot is in: every API boundary checks that
    /// first (`StoreInner::check_val`).
    pub(crate) fn to_raw(self) -> u128 {
        match self {
            Val::I32(v) => v as u32 as u128,
            Val::I64(v) => v as u64 as u128,
            Val::F32(v) => v as u128,
            Val::F64(v) => v as u128,
            Val::V128(v) => v,
            Val::FuncRef(f) => crate::vm::encode_func_ref(f.map(Func::idx_unchecked)) as u128,
            Val::ExternRef(r) => r.map_or(0, |r| r.0 as u128 + 1),
            Val::ExnRef(e) => e.map_or(0, |e| e.index() as u128 + 1),
        }
    }

    /// Decode a raw slot of type `ty` of store `store` (a `funcref` names a function of it). Only
    /// the bits of the type's width count: tier-1 code writes a scalar or a reference (64 bits)
    /// without clearing the rest of its 16-byte slot.
    pub(crate) fn from_raw(ty: ValType, raw: u128, store: StoreId) -> Val {
        match ty {
            ValType::I32 => Val::I32(raw as u32 as i32),
            ValType::I64 => Val::I64(raw as u64 as i64),
            ValType::F32 => Val::F32(raw as u32),
            ValType::F64 => Val::F64(raw as u64),
            ValType::V128 => Val::V128(raw),
            ValType::Ref(r) if r.is_func() => Val::FuncRef(Func::from_raw_ref(store, raw as u64)),
            ValType::Ref(r) if r.heap == crate::types::HeapType::Exn => {
                Val::ExnRef(Exn::from_raw_ref(store, raw as u64))
            }
            ValType::Ref(_) => match raw as u64 {
                0 => Val::ExternRef(None),
                handle => Val::ExternRef(Some(ExternRef((handle - 1) as u32))),
            },
        }
    }

    /// The payload of an [`Val::I32`].
    ///
    /// # Panics
    ///
    /// If the value is of any other type.
    pub fn unwrap_i32(&self) -> i32 {
        match self {
            Val::I32(v) => *v,
            other => panic!("expected i32, got {other:?}"),
        }
    }

    /// The payload of an [`Val::I64`].
    ///
    /// # Panics
    ///
    /// If the value is of any other type.
    pub fn unwrap_i64(&self) -> i64 {
        match self {
            Val::I64(v) => *v,
            other => panic!("expected i64, got {other:?}"),
        }
    }
}

impl std::fmt::Display for Val {
    /// Formats like wasmtime's `--invoke` output: integers in decimal, floats as numbers.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Val::I32(v) => write!(f, "{v}"),
            Val::I64(v) => write!(f, "{v}"),
            Val::F32(v) => write!(f, "{}", f32::from_bits(*v)),
            Val::F64(v) => write!(f, "{}", f64::from_bits(*v)),
            Val::V128(v) => write!(f, "{v:#034x}"),
            Val::FuncRef(None) | Val::ExternRef(None) | Val::ExnRef(None) => write!(f, "null"),
            Val::ExnRef(Some(exn)) => write!(f, "<exnref {}>", exn.index()),
            Val::FuncRef(Some(func)) => write!(f, "<func {}>", func.index()),
            Val::ExternRef(Some(r)) => write!(f, "<externref {}>", r.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{ExternRef, Val};
    use crate::types::ValType;

    #[test]
    fn references_are_read_from_the_low_64_bits_of_their_slot() {
        // What tier 1 leaves when it returns `ref.null extern` in a slot that held a `v128`.
        let stale_high_half = u128::MAX << 64;
        let store = crate::vm::store::StoreId::next();
        let read = |ty, raw| Val::from_raw(ty, raw, store);
        assert_eq!(read(ValType::EXTERNREF, stale_high_half), Val::ExternRef(None));
        assert_eq!(read(ValType::FUNCREF, stale_high_half), Val::FuncRef(None));
        let handle_7 = stale_high_half | 8;
        assert_eq!(read(ValType::EXTERNREF, handle_7), Val::ExternRef(Some(ExternRef(7))));
    }
}
