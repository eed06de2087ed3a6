//! Value types, constants, runtime values and trap codes: the vocabulary every other module shares.

use std::fmt;

/// The type of an SSA value: the WebAssembly 2.0 value types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Type {
    /// 32-bit integer.
    I32,
    /// 64-bit integer.
    I64,
    /// 32-bit IEEE float (held as bits everywhere, so NaN payloads survive).
    F32,
    /// 64-bit IEEE float (held as bits).
    F64,
    /// 128-bit vector.
    V128,
    /// Nullable function reference.
    FuncRef,
    /// Nullable host reference.
    ExternRef,
}

impl Type {
    /// The text-form name.
    pub fn name(self) -> &'static str {
        match self {
            Type::I32 => "i32",
            Type::I64 => "i64",
            Type::F32 => "f32",
            Type::F64 => "f64",
            Type::V128 => "v128",
            Type::FuncRef => "funcref",
            Type::ExternRef => "externref",
        }
    }

    /// Parses a text-form name.
    pub fn from_name(s: &str) -> Option<Type> {
        Some(match s {
            "i32" => Type::I32,
            "i64" => Type::I64,
            "f32" => Type::F32,
            "f64" => Type::F64,
            "v128" => Type::V128,
            "funcref" => Type::FuncRef,
            "externref" => Type::ExternRef,
            _ => return None,
        })
    }

    /// Whether this is a reference type.
    pub fn is_ref(self) -> bool {
        matches!(self, Type::FuncRef | Type::ExternRef)
    }

    /// The zero value of the type (the default of a wasm local).
    pub fn zero(self) -> Const {
        match self {
            Type::I32 => Const::I32(0),
            Type::I64 => Const::I64(0),
            Type::F32 => Const::F32(0),
            Type::F64 => Const::F64(0),
            Type::V128 => Const::V128(0),
            Type::FuncRef | Type::ExternRef => Const::Null(self),
        }
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A constant operand. Floats are bit patterns, so folding is bit-exact.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Const {
    /// `i32.const`.
    I32(u32),
    /// `i64.const`.
    I64(u64),
    /// `f32.const` (bits).
    F32(u32),
    /// `f64.const` (bits).
    F64(u64),
    /// `v128.const`.
    V128(u128),
    /// `ref.null` of the given reference type.
    Null(Type),
}

impl Const {
    /// The constant's type.
    pub fn ty(self) -> Type {
        match self {
            Const::I32(_) => Type::I32,
            Const::I64(_) => Type::I64,
            Const::F32(_) => Type::F32,
            Const::F64(_) => Type::F64,
            Const::V128(_) => Type::V128,
            Const::Null(t) => t,
        }
    }

    /// The constant as a runtime value.
    pub fn val(self) -> Val {
        match self {
            Const::I32(x) => Val::I32(x),
            Const::I64(x) => Val::I64(x),
            Const::F32(x) => Val::F32(x),
            Const::F64(x) => Val::F64(x),
            Const::V128(x) => Val::V128(x),
            Const::Null(_) => Val::Ref(None),
        }
    }
}

/// A runtime value, as the evaluator and constant folding see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Val {
    /// 32-bit integer.
    I32(u32),
    /// 64-bit integer.
    I64(u64),
    /// f32 bits.
    F32(u32),
    /// f64 bits.
    F64(u64),
    /// 128-bit vector.
    V128(u128),
    /// A reference: `None` is null; a funcref holds its function index, an externref a host id.
    Ref(Option<u32>),
}

impl Val {
    /// The value as a constant, when it is one (non-null references are not).
    pub fn to_const(self, ty: Type) -> Option<Const> {
        Some(match self {
            Val::I32(x) => Const::I32(x),
            Val::I64(x) => Const::I64(x),
            Val::F32(x) => Const::F32(x),
            Val::F64(x) => Const::F64(x),
            Val::V128(x) => Const::V128(x),
            Val::Ref(None) => Const::Null(ty),
            Val::Ref(Some(_)) => return None,
        })
    }

    /// The i32 payload (panics on another type: callers verified the IR).
    pub fn i32(self) -> u32 {
        match self {
            Val::I32(x) => x,
            other => panic!("expected i32, got {other:?}"),
        }
    }

    /// The i64 payload.
    pub fn i64(self) -> u64 {
        match self {
            Val::I64(x) => x,
            other => panic!("expected i64, got {other:?}"),
        }
    }

    /// The f32 bits.
    pub fn f32(self) -> u32 {
        match self {
            Val::F32(x) => x,
            other => panic!("expected f32, got {other:?}"),
        }
    }

    /// The f64 bits.
    pub fn f64(self) -> u64 {
        match self {
            Val::F64(x) => x,
            other => panic!("expected f64, got {other:?}"),
        }
    }
}

impl fmt::Display for Val {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Val::I32(x) => write!(f, "i32:{}", x as i32),
            Val::I64(x) => write!(f, "i64:{}", x as i64),
            Val::F32(x) => write!(f, "f32:{:#010x}", x),
            Val::F64(x) => write!(f, "f64:{:#018x}", x),
            Val::V128(x) => write!(f, "v128:{:#034x}", x),
            Val::Ref(None) => write!(f, "ref:null"),
            Val::Ref(Some(i)) => write!(f, "ref:{i}"),
        }
    }
}

/// Why wasm execution trapped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TrapCode {
    /// `unreachable` executed.
    Unreachable,
    /// Integer division or remainder by zero.
    IntegerDivideByZero,
    /// `INT_MIN / -1` or a float-to-int truncation out of range.
    IntegerOverflow,
    /// Float-to-int truncation of a NaN.
    BadConversionToInteger,
    /// Linear memory access out of bounds.
    MemoryOutOfBounds,
    /// Table access out of bounds (including `call_indirect` past the end).
    TableOutOfBounds,
    /// `call_indirect` through a null entry.
    IndirectCallToNull,
    /// `call_indirect` signature mismatch.
    BadSignature,
}

impl TrapCode {
    /// All codes, for the text parser.
    pub const ALL: [TrapCode; 8] = [
        TrapCode::Unreachable,
        TrapCode::IntegerDivideByZero,
        TrapCode::IntegerOverflow,
        TrapCode::BadConversionToInteger,
        TrapCode::MemoryOutOfBounds,
        TrapCode::TableOutOfBounds,
        TrapCode::IndirectCallToNull,
        TrapCode::BadSignature,
    ];

    /// The text-form name.
    pub fn name(self) -> &'static str {
        match self {
            TrapCode::Unreachable => "unreachable",
            TrapCode::IntegerDivideByZero => "int_divz",
            TrapCode::IntegerOverflow => "int_ovf",
            TrapCode::BadConversionToInteger => "bad_toint",
            TrapCode::MemoryOutOfBounds => "heap_oob",
            TrapCode::TableOutOfBounds => "table_oob",
            TrapCode::IndirectCallToNull => "icall_null",
            TrapCode::BadSignature => "bad_sig",
        }
    }
}

impl fmt::Display for TrapCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A function signature.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Signature {
    /// Parameter types.
    pub params: Vec<Type>,
    /// Result types (wasm multi-value).
    pub results: Vec<Type>,
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "(")?;
        for (i, t) in self.params.iter().enumerate() {
            if i > 0 {
                write!(f, ", ")?;
            }
            write!(f, "{t}")?;
        }
        write!(f, ")")?;
        if !self.results.is_empty() {
            write!(f, " -> ")?;
            for (i, t) in self.results.iter().enumerate() {
                if i > 0 {
                    write!(f, ", ")?;
                }
                write!(f, "{t}")?;
            }
        }
        Ok(())
    }
}
