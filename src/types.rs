//! Wasm types as the embedder API sees them: value, function, global, memory, table and extern types.
//!
//! These are tierup's own small copies of the wasmparser types, so the public API does not leak the
//! decoder's version into embedders. Conversions from wasmparser live here and nowhere else.

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
    /// A nullable reference to a function (`funcref`).
    FuncRef,
    /// A nullable opaque reference to a host value (`externref`).
    ExternRef,
    /// A nullable reference to a thrown exception (`exnref`, exception handling).
    ExnRef,
}

impl ValType {
    /// Whether values of this type are references (`funcref`, `externref`).
    pub fn is_ref(self) -> bool {
        matches!(self, ValType::FuncRef | ValType::ExternRef | ValType::ExnRef)
    }

    pub(crate) fn from_wasmparser(ty: wasmparser::ValType) -> ValType {
        match ty {
            wasmparser::ValType::I32 => ValType::I32,
            wasmparser::ValType::I64 => ValType::I64,
            wasmparser::ValType::F32 => ValType::F32,
            wasmparser::ValType::F64 => ValType::F64,
            wasmparser::ValType::V128 => ValType::V128,
            wasmparser::ValType::Ref(r) => Self::from_ref_type(r),
        }
    }

    pub(crate) fn from_ref_type(r: wasmparser::RefType) -> ValType {
        // Without GC and typed function references, references are to functions, host values
        // or exceptions (nullable or not: the distinction is validation's alone).
        if r.is_func_ref() {
            ValType::FuncRef
        } else if matches!(
            r.heap_type(),
            wasmparser::HeapType::Abstract {
                ty: wasmparser::AbstractHeapType::Exn | wasmparser::AbstractHeapType::NoExn,
                ..
            }
        ) {
            ValType::ExnRef
        } else {
            ValType::ExternRef
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
            ValType::FuncRef => "funcref",
            ValType::ExternRef => "externref",
            ValType::ExnRef => "exnref",
        })
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

    pub(crate) fn from_wasmparser(ty: &wasmparser::FuncType) -> FuncType {
        FuncType::new(
            ty.params().iter().map(|t| ValType::from_wasmparser(*t)),
            ty.results().iter().map(|t| ValType::from_wasmparser(*t)),
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
    /// The type of the elements: [`ValType::FuncRef`] or [`ValType::ExternRef`].
    pub element: ValType,
    /// Size limits in elements.
    pub limits: Limits,
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
