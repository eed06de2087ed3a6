//! Wasm types as the embedder API sees them: value, function, global, memory, table and extern types.
//!
//! These are tierup's own small copies of the wasmparser types, so the public API does not leak the
//! decoder's version into embedders. Conversions from wasmparser live here and nowhere else.

use crate::engine::SigId;
use std::fmt;

/// The type of a wasm value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ValType {
    /// A 32-bit integer; whether it is signed depends on the operator, not the type.
    I32,
    /// A 64-bit integer; whether it is signed depends on the operator, not the type.
    I64,
    /// An IEEE-754 binary32 float.
    F32,
    /// An IEEE-754 binary64 float.
    F64,
    /// A 128-bit SIMD vector (`v128`), read by each operator as lanes of integers or floats.
    V128,
    /// A reference: [`ValType::FUNCREF`], [`ValType::EXTERNREF`], or a typed function
    /// reference such as `(ref $t)` (function references).
    Ref(RefType),
}

impl ValType {
    /// `funcref`: a nullable reference to any function, `(ref null func)`.
    pub const FUNCREF: ValType = ValType::Ref(RefType::FUNCREF);
    /// `externref`: a nullable opaque reference to a host value, `(ref null extern)`.
    pub const EXTERNREF: ValType = ValType::Ref(RefType::EXTERNREF);
    /// `exnref`: a nullable reference to a thrown exception, `(ref null exn)` (exception
    /// handling).
    pub const EXNREF: ValType = ValType::Ref(RefType::EXNREF);

    /// Whether values of this type are references.
    pub fn is_ref(self) -> bool {
        matches!(self, ValType::Ref(_))
    }

    /// The reference type, if this is one.
    pub fn ref_type(self) -> Option<RefType> {
        match self {
            ValType::Ref(r) => Some(r),
            _ => None,
        }
    }

    /// Whether a value of type `self` may stand where `other` is expected (subtyping: `(ref $t)`
    /// matches `(ref null $t)`, `(ref func)` and `funcref`; numbers and vectors only themselves).
    pub fn matches(self, other: ValType) -> bool {
        match (self, other) {
            (ValType::Ref(have), ValType::Ref(want)) => have.matches(want),
            _ => self == other,
        }
    }

    /// The API type of a validated wasmparser type; `sigs` interns the module's types (by type
    /// index), which concrete references name.
    pub(crate) fn from_wasmparser(ty: wasmparser::ValType, sigs: &[SigId]) -> ValType {
        match ty {
            wasmparser::ValType::I32 => ValType::I32,
            wasmparser::ValType::I64 => ValType::I64,
            wasmparser::ValType::F32 => ValType::F32,
            wasmparser::ValType::F64 => ValType::F64,
            wasmparser::ValType::V128 => ValType::V128,
            wasmparser::ValType::Ref(r) => ValType::Ref(RefType::from_wasmparser(r, sigs)),
        }
    }
}

impl fmt::Display for ValType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ValType::I32 => "i32",
            ValType::I64 => "i64",
            ValType::F32 => "f32",
            ValType::F64 => "f64",
            ValType::V128 => "v128",
            ValType::Ref(r) => return r.fmt(f),
        })
    }
}

/// A reference type: a heap type and whether `null` is one of its values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RefType {
    /// Whether the type admits `null` (`(ref null ...)`).
    pub nullable: bool,
    /// What the reference refers to.
    pub heap: HeapType,
}

impl RefType {
    /// `funcref`, `(ref null func)`.
    pub const FUNCREF: RefType = RefType { nullable: true, heap: HeapType::Func };
    /// `externref`, `(ref null extern)`.
    pub const EXTERNREF: RefType = RefType { nullable: true, heap: HeapType::Extern };
    /// `exnref`, `(ref null exn)`.
    pub const EXNREF: RefType = RefType { nullable: true, heap: HeapType::Exn };

    /// Whether references of this type refer to functions (of any signature).
    pub fn is_func(self) -> bool {
        self.heap.matches(HeapType::Func)
    }

    /// Subtyping: `self` may stand where `other` is expected.
    pub fn matches(self, other: RefType) -> bool {
        (other.nullable || !self.nullable) && self.heap.matches(other.heap)
    }

    pub(crate) fn from_wasmparser(r: wasmparser::RefType, sigs: &[SigId]) -> RefType {
        use wasmparser::{AbstractHeapType, HeapType as H};
        let heap = match r.heap_type() {
            H::Abstract { ty: AbstractHeapType::Extern, .. } => HeapType::Extern,
            H::Abstract { ty: AbstractHeapType::Exn | AbstractHeapType::NoExn, .. } => {
                HeapType::Exn
            }
            H::Concrete(index) | H::Exact(index) => {
                // Validated without GC: a module's types are its own, never canonical indices.
                let index = index.as_module_index().expect("a module type index");
                HeapType::Concrete(sigs[index as usize])
            }
            // The features the tiers run admit no other heap type.
            H::Abstract { .. } => HeapType::Func,
        };
        RefType { nullable: r.is_nullable(), heap }
    }
}

impl fmt::Display for RefType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.nullable, self.heap) {
            (true, HeapType::Func) => f.write_str("funcref"),
            (true, HeapType::Extern) => f.write_str("externref"),
            (true, HeapType::Exn) => f.write_str("exnref"),
            (true, heap) => write!(f, "(ref null {heap})"),
            (false, heap) => write!(f, "(ref {heap})"),
        }
    }
}

/// What a reference refers to. Without GC every concrete type is a function type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HeapType {
    /// Any function (`func`).
    Func,
    /// A host value (`extern`).
    Extern,
    /// A thrown exception (`exn`, exception handling).
    Exn,
    /// A function of exactly this signature, as its engine interned it: two modules' types are
    /// the same type when their ids are (type equivalence is structural).
    Concrete(SigId),
}

impl HeapType {
    /// Subtyping: every concrete (function) type is below `func`.
    pub fn matches(self, other: HeapType) -> bool {
        self == other || matches!((self, other), (HeapType::Concrete(_), HeapType::Func))
    }
}

impl fmt::Display for HeapType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeapType::Func => f.write_str("func"),
            HeapType::Extern => f.write_str("extern"),
            HeapType::Exn => f.write_str("exn"),
            HeapType::Concrete(sig) => write!(f, "$sig{}", sig.0),
        }
    }
}

/// The signature of a function: parameter and result types.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FuncType {
    params: Box<[ValType]>,
    results: Box<[ValType]>,
}

impl FuncType {
    /// A signature with the given parameters and results.
    pub fn new(
        params: impl IntoIterator<Item = ValType>,
        results: impl IntoIterator<Item = ValType>,
    ) -> FuncType {
        FuncType { params: params.into_iter().collect(), results: results.into_iter().collect() }
    }

    /// The parameter types, in order.
    pub fn params(&self) -> &[ValType] {
        &self.params
    }

    /// The result types, in order (there may be several: multi-value).
    pub fn results(&self) -> &[ValType] {
        &self.results
    }

    /// `sigs`: the module's types interned so far (a type names only earlier ones without GC).
    pub(crate) fn from_wasmparser(ty: &wasmparser::FuncType, sigs: &[SigId]) -> FuncType {
        FuncType::new(
            ty.params().iter().map(|t| ValType::from_wasmparser(*t, sigs)),
            ty.results().iter().map(|t| ValType::from_wasmparser(*t, sigs)),
        )
    }
}

impl fmt::Display for FuncType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list =
            |tys: &[ValType]| tys.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(" ");
        write!(f, "(func (param {}) (result {}))", list(&self.params), list(&self.results))
    }
}

/// Size limits of a memory (in 64 KiB pages) or a table (in elements).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The minimum size: the initial size in a declared type; in the type of an existing memory or
    /// table (e.g. [`crate::Memory::ty`]), its current size.
    pub min: u64,
    /// The maximum size, if declared. `None` leaves only the implementation limits: 65536 pages for
    /// a memory, `u32::MAX` elements for a table, and the engine's [`crate::Config`] limits.
    pub max: Option<u64>,
}

impl Limits {
    /// Import matching: `self` (the provided entity's current limits) fits where `wanted` is expected.
    pub(crate) fn matches(&self, wanted: &Limits) -> bool {
        self.min >= wanted.min
            && match (self.max, wanted.max) {
                (_, None) => true,
                (Some(have), Some(want)) => have <= want,
                (None, Some(_)) => false,
            }
    }
}

/// The type of a linear memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryType {
    /// Size limits in 64 KiB pages.
    pub limits: Limits,
    /// Whether addresses are `i64` (memory64) rather than `i32`. tierup keeps such a memory to
    /// the 65536 pages (4 GiB) a 32-bit one may have.
    pub memory64: bool,
}

/// The type of a table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TableType {
    /// The type of the elements: a reference type.
    pub element: ValType,
    /// Size limits in elements.
    pub limits: Limits,
    /// Whether element indices are `i64` (memory64's 64-bit tables) rather than `i32`. Tables
    /// stay below 2^32 elements (`Config::max_table_elements`) either way.
    pub table64: bool,
}

/// The type of a global.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GlobalType {
    /// The type of the value the global holds.
    pub content: ValType,
    /// Whether the value can change after initialization (`global.set`, [`crate::Global::set`]);
    /// `false` for `const` globals.
    pub mutable: bool,
}

impl GlobalType {
    /// Import matching: a global of type `self` may be imported as `wanted`. A constant one's
    /// content may be a subtype (it is only read); a mutable one's must be the same type, since
    /// both sides write it.
    pub fn matches(&self, wanted: &GlobalType) -> bool {
        self.mutable == wanted.mutable
            && match self.mutable {
                true => self.content == wanted.content,
                false => self.content.matches(wanted.content),
            }
    }
}

/// The type of something a module imports or exports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExternType {
    /// A function with this signature.
    Func(FuncType),
    /// A linear memory of this type.
    Memory(MemoryType),
    /// A table of this type.
    Table(TableType),
    /// A global of this type.
    Global(GlobalType),
    /// An exception tag whose exceptions carry values of these parameter types (exception
    /// handling; the results are always empty).
    Tag(FuncType),
}

impl ExternType {
    /// The kind as written in the text format (`func`, `memory`, ...), for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            ExternType::Func(_) => "func",
            ExternType::Memory(_) => "memory",
            ExternType::Table(_) => "table",
            ExternType::Global(_) => "global",
            ExternType::Tag(_) => "tag",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_subtyping_follows_nullability_and_the_func_hierarchy() {
        let concrete = |nullable, sig| {
            ValType::Ref(RefType { nullable, heap: HeapType::Concrete(SigId(sig)) })
        };
        let func = ValType::Ref(RefType { nullable: false, heap: HeapType::Func });
        let below_funcref = [concrete(false, 0), concrete(true, 0), func, ValType::FUNCREF];
        for (i, have) in below_funcref.iter().enumerate() {
            assert!(have.matches(ValType::FUNCREF), "{have}");
            assert!(!have.matches(ValType::EXTERNREF), "{have}");
            assert!(have.matches(*have), "{have}");
            // Each is below the ones after it but for `(ref null $0)` and `(ref func)`, which
            // are unrelated.
            for want in &below_funcref[i + 1..] {
                let unrelated = *have == concrete(true, 0) && *want == func;
                assert_eq!(have.matches(*want), !unrelated, "{have} <: {want}");
                assert!(!want.matches(*have), "{want} </: {have}");
            }
        }
        assert!(!concrete(false, 0).matches(concrete(false, 1)), "another signature");
        assert!(!ValType::I32.matches(ValType::I64) && ValType::I32.matches(ValType::I32));
        let non_null_extern = ValType::Ref(RefType { nullable: false, heap: HeapType::Extern });
        assert!(non_null_extern.matches(ValType::EXTERNREF));
        assert!(!non_null_extern.matches(ValType::FUNCREF));
        assert_eq!(non_null_extern.to_string(), "(ref extern)");
        assert_eq!(concrete(true, 3).to_string(), "(ref null $sig3)");
    }

    #[test]
    fn constant_globals_are_covariant_and_mutable_ones_invariant() {
        let func = ValType::Ref(RefType { nullable: false, heap: HeapType::Func });
        let global = |content, mutable| GlobalType { content, mutable };
        assert!(global(func, false).matches(&global(ValType::FUNCREF, false)));
        assert!(!global(ValType::FUNCREF, false).matches(&global(func, false)));
        assert!(!global(func, true).matches(&global(ValType::FUNCREF, true)));
        assert!(global(func, true).matches(&global(func, true)));
        assert!(!global(func, true).matches(&global(func, false)));
    }
}
