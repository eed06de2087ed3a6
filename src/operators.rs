//! The operators of a validated function body, as the tiers that translate bodies read them
//! (tier 0's translator, tier 1's code generator): the operators that make up most of real code
//! (locals, constants, memory accesses, branches, blocks, calls, integer arithmetic) decoded
//! here, every other one by wasmparser.
//!
//! wasmparser's reader serves every proposal and checks every encoding rule, which costs about a
//! hundred instructions per operator: a fifth of tier 1's compile time. A body a tier translates
//! has been validated already, so reading a common operator is an opcode byte and LEB128
//! immediates. The operators produced are exactly wasmparser's (debug builds check every one
//! against it); this module decodes only and never judges a body: anything unusual (a block
//! type that names a type, a memory index, a multi-byte flag) goes to wasmparser.

use wasmparser::{
    BinaryReader, BinaryReaderError, BlockType, FunctionBody, MemArg, MemArgTarget, Operator,
    OperatorsReader, ValType,
};

/// Reads the operators of one validated body in order.
#[derive(Clone)]
pub struct FastOperators<'a> {
    reader: BinaryReader<'a>,
}

impl<'a> FastOperators<'a> {
    /// The operators of `body`, after its locals.
    pub fn new(body: &FunctionBody<'a>) -> Result<Self, BinaryReaderError> {
        Ok(FastOperators { reader: body.get_operators_reader()?.get_binary_reader() })
    }

    /// Whether every operator has been read.
    pub fn eof(&self) -> bool {
        self.reader.eof()
    }

    /// The module offset of the next operator.
    pub fn original_position(&self) -> usize {
        self.reader.original_position() as usize
    }

    /// The next operator's opcode byte, without reading it.
    pub fn peek_opcode(&self) -> Option<u8> {
        self.reader.clone().read_u8().ok()
    }

    /// Reads the next operator.
    pub fn read(&mut self) -> Result<Operator<'a>, BinaryReaderError> {
        use Operator as O;
        let start = self.reader.clone();
        let r = &mut self.reader;
        let opcode = r.read_u8()?;
        // Each arm builds the operator in place: a common operator passed through an `Option`
        // on its way out costs more moves than decoding it.
        let op = match opcode {
            0x00 => O::Unreachable,
            0x01 => O::Nop,
            0x02 => match block_type(r)? {
                Some(blockty) => O::Block { blockty },
                None => return self.read_uncommon(start),
            },
            0x03 => match block_type(r)? {
                Some(blockty) => O::Loop { blockty },
                None => return self.read_uncommon(start),
            },
            0x04 => match block_type(r)? {
                Some(blockty) => O::If { blockty },
                None => return self.read_uncommon(start),
            },
            0x05 => O::Else,
            0x0b => O::End,
            0x0c => O::Br { relative_depth: r.read_var_u32()? },
            0x0d => O::BrIf { relative_depth: r.read_var_u32()? },
            0x0f => O::Return,
            0x10 => O::Call { function_index: r.read_var_u32()? },
            0x1a => O::Drop,
            0x1b => O::Select,
            0x20 => O::LocalGet { local_index: r.read_var_u32()? },
            0x21 => O::LocalSet { local_index: r.read_var_u32()? },
            0x22 => O::LocalTee { local_index: r.read_var_u32()? },
            0x23 => O::GlobalGet { global_index: r.read_var_u32()? },
            0x24 => O::GlobalSet { global_index: r.read_var_u32()? },
            0x28..=0x3e => match memarg(r, opcode)? {
                Some(memarg) => memory_access(opcode, memarg),
                None => return self.read_uncommon(start),
            },
            0x41 => O::I32Const { value: r.read_var_i32()? },
            0x42 => O::I64Const { value: r.read_var_i64()? },
            0x45..=0x8a => integer_op(opcode),
            _ => return self.read_uncommon(start),
        };
        // (`else` needs its `if` around it to be read alone; it is one byte.)
        #[cfg(debug_assertions)]
        if op != Operator::Else {
            let mut check = OperatorsReader::new(start);
            let expected = check.read().expect("wasmparser reads what the fast path read");
            debug_assert_eq!(op, expected, "the fast path decodes as wasmparser does");
            debug_assert_eq!(self.reader.original_position(), check.original_position());
        }
        Ok(op)
    }

    /// Reads the operator at `start` with wasmparser. One operator needs no enclosing frames:
    /// `else`, the only 2.0 operator that checks its frame, never comes here.
    #[cold]
    #[inline(never)]
    fn read_uncommon(
        &mut self,
        start: BinaryReader<'a>,
    ) -> Result<Operator<'a>, BinaryReaderError> {
        let mut one = OperatorsReader::new(start);
        let op = one.read()?;
        self.reader = one.get_binary_reader();
        Ok(op)
    }
}

/// A block type that is empty or one value type; `None` for a type index.
#[inline]
fn block_type(r: &mut BinaryReader<'_>) -> Result<Option<BlockType>, BinaryReaderError> {
    let ty = match r.read_u8()? {
        0x40 => return Ok(Some(BlockType::Empty)),
        0x7f => ValType::I32,
        0x7e => ValType::I64,
        0x7d => ValType::F32,
        0x7c => ValType::F64,
        _ => return Ok(None),
    };
    Ok(Some(BlockType::Type(ty)))
}

/// The immediate of a load or store (`opcode` 0x28 to 0x3e) of memory 0 whose flags are one
/// byte; `None` for any other.
#[inline]
fn memarg(r: &mut BinaryReader<'_>, opcode: u8) -> Result<Option<MemArg>, BinaryReaderError> {
    let flags = r.read_u8()?;
    // Bit 6 names a memory, bit 7 continues the LEB128: wasmparser's.
    if flags >= 0x40 {
        return Ok(None);
    }
    let max_align = match opcode {
        0x2c | 0x2d | 0x30 | 0x31 | 0x3a | 0x3c => 0,
        0x2e | 0x2f | 0x32 | 0x33 | 0x3b | 0x3d => 1,
        0x29 | 0x2b | 0x37 | 0x39 => 3,
        _ => 2,
    };
    Ok(Some(MemArg {
        align: flags,
        max_align,
        offset: r.read_var_u64()?,
        target: MemArgTarget::Memory(0),
        ordering: None,
    }))
}

/// The load or store with `opcode` (0x28 to 0x3e).
#[inline]
fn memory_access(opcode: u8, memarg: MemArg) -> Operator<'static> {
    use Operator as O;
    match opcode {
        0x28 => O::I32Load { memarg },
        0x29 => O::I64Load { memarg },
        0x2a => O::F32Load { memarg },
        0x2b => O::F64Load { memarg },
        0x2c => O::I32Load8S { memarg },
        0x2d => O::I32Load8U { memarg },
        0x2e => O::I32Load16S { memarg },
        0x2f => O::I32Load16U { memarg },
        0x30 => O::I64Load8S { memarg },
        0x31 => O::I64Load8U { memarg },
        0x32 => O::I64Load16S { memarg },
        0x33 => O::I64Load16U { memarg },
        0x34 => O::I64Load32S { memarg },
        0x35 => O::I64Load32U { memarg },
        0x36 => O::I32Store { memarg },
        0x37 => O::I64Store { memarg },
        0x38 => O::F32Store { memarg },
        0x39 => O::F64Store { memarg },
        0x3a => O::I32Store8 { memarg },
        0x3b => O::I32Store16 { memarg },
        0x3c => O::I64Store8 { memarg },
        0x3d => O::I64Store16 { memarg },
        _ => O::I64Store32 { memarg },
    }
}

/// The integer comparison or arithmetic operator with `opcode` (0x45 to 0x8a), which have no
/// immediates.
#[inline]
fn integer_op(opcode: u8) -> Operator<'static> {
    use Operator as O;
    match opcode {
        0x45 => O::I32Eqz,
        0x46 => O::I32Eq,
        0x47 => O::I32Ne,
        0x48 => O::I32LtS,
        0x49 => O::I32LtU,
        0x4a => O::I32GtS,
        0x4b => O::I32GtU,
        0x4c => O::I32LeS,
        0x4d => O::I32LeU,
        0x4e => O::I32GeS,
        0x4f => O::I32GeU,
        0x50 => O::I64Eqz,
        0x51 => O::I64Eq,
        0x52 => O::I64Ne,
        0x53 => O::I64LtS,
        0x54 => O::I64LtU,
        0x55 => O::I64GtS,
        0x56 => O::I64GtU,
        0x57 => O::I64LeS,
        0x58 => O::I64LeU,
        0x59 => O::I64GeS,
        0x5a => O::I64GeU,
        0x5b => O::F32Eq,
        0x5c => O::F32Ne,
        0x5d => O::F32Lt,
        0x5e => O::F32Gt,
        0x5f => O::F32Le,
        0x60 => O::F32Ge,
        0x61 => O::F64Eq,
        0x62 => O::F64Ne,
        0x63 => O::F64Lt,
        0x64 => O::F64Gt,
        0x65 => O::F64Le,
        0x66 => O::F64Ge,
        0x67 => O::I32Clz,
        0x68 => O::I32Ctz,
        0x69 => O::I32Popcnt,
        0x6a => O::I32Add,
        0x6b => O::I32Sub,
        0x6c => O::I32Mul,
        0x6d => O::I32DivS,
        0x6e => O::I32DivU,
        0x6f => O::I32RemS,
        0x70 => O::I32RemU,
        0x71 => O::I32And,
        0x72 => O::I32Or,
        0x73 => O::I32Xor,
        0x74 => O::I32Shl,
        0x75 => O::I32ShrS,
        0x76 => O::I32ShrU,
        0x77 => O::I32Rotl,
        0x78 => O::I32Rotr,
        0x79 => O::I64Clz,
        0x7a => O::I64Ctz,
        0x7b => O::I64Popcnt,
        0x7c => O::I64Add,
        0x7d => O::I64Sub,
        0x7e => O::I64Mul,
        0x7f => O::I64DivS,
        0x80 => O::I64DivU,
        0x81 => O::I64RemS,
        0x82 => O::I64RemU,
        0x83 => O::I64And,
        0x84 => O::I64Or,
        0x85 => O::I64Xor,
        0x86 => O::I64Shl,
        0x87 => O::I64ShrS,
        0x88 => O::I64ShrU,
        0x89 => O::I64Rotl,
        _ => O::I64Rotr,
    }
}

/// What a load or store (of any kind, SIMD included) accesses: which memory, at which offset,
/// and where its address operand is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryAccess {
    /// The memory (multi-memory lets it be any index; most code names memory 0).
    pub memory: u32,
    /// The static offset added to the address.
    pub offset: u64,
    /// Operands above the address on the operand stack: 1 for stores and lane accesses (the
    /// value), 0 for plain loads.
    pub address_depth: usize,
}

/// The memory access `op` makes; `None` for every operator that is not a load or store.
pub fn access_of(op: &Operator<'_>) -> Option<MemoryAccess> {
    use Operator as O;
    let address_depth = match op {
        O::I32Store { .. }
        | O::I64Store { .. }
        | O::F32Store { .. }
        | O::F64Store { .. }
        | O::I32Store8 { .. }
        | O::I32Store16 { .. }
        | O::I64Store8 { .. }
        | O::I64Store16 { .. }
        | O::I64Store32 { .. }
        | O::V128Store { .. }
        | O::V128Load8Lane { .. }
        | O::V128Load16Lane { .. }
        | O::V128Load32Lane { .. }
        | O::V128Load64Lane { .. }
        | O::V128Store8Lane { .. }
        | O::V128Store16Lane { .. }
        | O::V128Store32Lane { .. }
        | O::V128Store64Lane { .. } => 1,
        _ => 0,
    };
    let memarg = match op {
        O::I32Load { memarg }
        | O::I64Load { memarg }
        | O::F32Load { memarg }
        | O::F64Load { memarg }
        | O::I32Load8S { memarg }
        | O::I32Load8U { memarg }
        | O::I32Load16S { memarg }
        | O::I32Load16U { memarg }
        | O::I64Load8S { memarg }
        | O::I64Load8U { memarg }
        | O::I64Load16S { memarg }
        | O::I64Load16U { memarg }
        | O::I64Load32S { memarg }
        | O::I64Load32U { memarg }
        | O::I32Store { memarg }
        | O::I64Store { memarg }
        | O::F32Store { memarg }
        | O::F64Store { memarg }
        | O::I32Store8 { memarg }
        | O::I32Store16 { memarg }
        | O::I64Store8 { memarg }
        | O::I64Store16 { memarg }
        | O::I64Store32 { memarg }
        | O::V128Load { memarg }
        | O::V128Load8x8S { memarg }
        | O::V128Load8x8U { memarg }
        | O::V128Load16x4S { memarg }
        | O::V128Load16x4U { memarg }
        | O::V128Load32x2S { memarg }
        | O::V128Load32x2U { memarg }
        | O::V128Load8Splat { memarg }
        | O::V128Load16Splat { memarg }
        | O::V128Load32Splat { memarg }
        | O::V128Load64Splat { memarg }
        | O::V128Load32Zero { memarg }
        | O::V128Load64Zero { memarg }
        | O::V128Store { memarg }
        | O::V128Load8Lane { memarg, .. }
        | O::V128Load16Lane { memarg, .. }
        | O::V128Load32Lane { memarg, .. }
        | O::V128Load64Lane { memarg, .. }
        | O::V128Store8Lane { memarg, .. }
        | O::V128Store16Lane { memarg, .. }
        | O::V128Store32Lane { memarg, .. }
        | O::V128Store64Lane { memarg, .. } => memarg,
        _ => return None,
    };
    match memarg.target {
        MemArgTarget::Memory(memory) => {
            Some(MemoryAccess { memory, offset: memarg.offset, address_depth })
        }
        // GC arrays: never validated here (no GC).
        MemArgTarget::Array(_) => None,
    }
}

/// A `try_table` catch clause as every tier reads it: the module tag it catches
/// (`vm::exception::CATCH_ALL` for `catch_all`), whether the `exnref` comes with its values
/// (`catch_ref`, `catch_all_ref`), and its label's relative depth, counted from the
/// `try_table`'s parent.
pub(crate) fn catch_clause(catch: &wasmparser::Catch) -> (u32, bool, u32) {
    use crate::vm::exception::CATCH_ALL;
    use wasmparser::Catch;
    match *catch {
        Catch::One { tag, label } => (tag, false, label),
        Catch::OneRef { tag, label } => (tag, true, label),
        Catch::All { label } => (CATCH_ALL, false, label),
        Catch::AllRef { label } => (CATCH_ALL, true, label),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every operator of every function of `wat`, read by the fast path and by wasmparser.
    fn both_readers(wat: &str) -> Vec<(Operator<'static>, Operator<'static>, usize)> {
        let bytes: &'static [u8] = Box::leak(wat::parse_str(wat).unwrap().into_boxed_slice());
        both_readers_of(bytes)
    }

    /// Every operator of every function of module `bytes`, read by both readers.
    fn both_readers_of(bytes: &[u8]) -> Vec<(Operator<'_>, Operator<'_>, usize)> {
        let mut out = Vec::new();
        for payload in wasmparser::Parser::new(0).parse_all(bytes) {
            if let Ok(wasmparser::Payload::CodeSectionEntry(body)) = payload {
                let mut fast = FastOperators::new(&body).unwrap();
                let mut slow = body.get_operators_reader().unwrap();
                while !slow.eof() {
                    let expected = slow.read().unwrap();
                    out.push((fast.read().unwrap(), expected, fast.original_position()));
                    assert_eq!(fast.original_position() as u64, slow.original_position());
                }
                assert!(fast.eof());
            }
        }
        out
    }

    #[test]
    fn every_operator_of_the_corpus_reads_as_wasmparser_reads_it() {
        let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
        let mut modules = 0;
        for entry in std::fs::read_dir(corpus).unwrap() {
            let dir = entry.unwrap().path();
            let Some(name) = dir.file_name().and_then(|n| n.to_str()) else { continue };
            let Ok(bytes) = std::fs::read(dir.join(format!("{name}.wasm"))) else { continue };
            for (fast, slow, at) in both_readers_of(&bytes) {
                assert_eq!(fast, slow, "{name} at offset {at}");
            }
            modules += 1;
        }
        assert!(modules >= 10, "the corpus's modules are in the checkout");
    }

    #[test]
    fn every_common_operator_reads_as_wasmparser_reads_it() {
        let mut wat = String::from(
            "(module (memory 1) (memory $m 1) (global $g (mut i32) (i32.const 0)) (type $t (func))
             (func $f (param i32 i64) (result i32) (local f32 f64)
               block block (result i32) loop (result i64) i64.const -1 end drop i32.const 7 end
               if (result f32) f32.const 1 else f32.const 2 end drop end
               block (type $t) end
               local.get 0 local.tee 0 local.set 0 global.get $g global.set $g
               i32.const -2147483648 drop i64.const 0x7fffffffffffffff drop
               i32.const 0 br_if 0 call $f unreachable nop return drop select br 0",
        );
        for (op, align) in [
            ("i32.load", 4),
            ("i64.load", 8),
            ("f32.load", 4),
            ("f64.load", 8),
            ("i32.load8_s", 1),
            ("i32.load8_u", 1),
            ("i32.load16_s", 2),
            ("i32.load16_u", 2),
            ("i64.load8_s", 1),
            ("i64.load8_u", 1),
            ("i64.load16_s", 2),
            ("i64.load16_u", 2),
            ("i64.load32_s", 4),
            ("i64.load32_u", 4),
            ("i32.store", 4),
            ("i64.store", 8),
            ("f32.store", 4),
            ("f64.store", 8),
            ("i32.store8", 1),
            ("i32.store16", 2),
            ("i64.store8", 1),
            ("i64.store16", 2),
            ("i64.store32", 4),
        ] {
            wat.push_str(&format!(
                " {op} {op} offset=4294967295 align=1 {op} offset=3 align={align} {op} $m"
            ));
        }
        for op in [
            "i32.eqz i32.eq i32.ne i32.lt_s i32.lt_u i32.gt_s i32.gt_u i32.le_s i32.le_u",
            "i32.ge_s i32.ge_u i64.eqz i64.eq i64.ne i64.lt_s i64.lt_u i64.gt_s i64.gt_u",
            "i64.le_s i64.le_u i64.ge_s i64.ge_u f32.eq f32.ne f32.lt f32.gt f32.le f32.ge",
            "f64.eq f64.ne f64.lt f64.gt f64.le f64.ge i32.clz i32.ctz i32.popcnt i32.add",
            "i32.sub i32.mul i32.div_s i32.div_u i32.rem_s i32.rem_u i32.and i32.or i32.xor",
            "i32.shl i32.shr_s i32.shr_u i32.rotl i32.rotr i64.clz i64.ctz i64.popcnt i64.add",
            "i64.sub i64.mul i64.div_s i64.div_u i64.rem_s i64.rem_u i64.and i64.or i64.xor",
            "i64.shl i64.shr_s i64.shr_u i64.rotl i64.rotr f32.abs i32.wrap_i64 memory.size",
        ] {
            wat.push(' ');
            wat.push_str(op);
        }
        wat.push_str("))");
        let read = both_readers(&wat);
        assert!(read.len() > 150, "{} operators", read.len());
        for (fast, slow, at) in read {
            assert_eq!(fast, slow, "at offset {at}");
        }
    }
}
