//! The runtime operations every tier shares: the instructions that touch tables, segments,
//! memory size or function references, implemented once on the store's entities. Tier 0 calls
//! them directly; compiled code reaches them through the context's helpers (`vm::call`).
//!
//! Each takes the store and the index of the instance whose module index spaces the operands
//! refer to, and reports a trap as a [`TrapCode`]. None of them runs wasm.

use super::TrapCode;
use super::store::{FuncIdx, StoreInner, TableEntity, decode_func_ref, encode_func_ref};

/// The runtime operations compiled code leaves to the runtime (through `VmCtx::runtime`): their
/// operands are in consecutive canonical slots, and a result replaces the first of them.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuntimeOp {
    /// Memory `a`, `(dst, value, len)`; no result.
    MemoryFill,
    /// Memories `a` (destination) and `b` (source), `(dst, src, len)`; no result.
    MemoryCopy,
    /// Segment `a` into memory `b`, `(dst, src, len)`; no result.
    MemoryInit,
    /// Segment `a`.
    DataDrop,
    /// Table `a`, `(index)` -> reference.
    TableGet,
    /// Table `a`, `(index, value)`.
    TableSet,
    /// Table `a`, `()` -> size.
    TableSize,
    /// Table `a`, `(init, delta)` -> old size or -1.
    TableGrow,
    /// Table `a`, `(index, value, len)`.
    TableFill,
    /// Tables `a` (destination) and `b` (source), `(dst, src, len)`.
    TableCopy,
    /// Table `a`, segment `b`, `(dst, src, len)`.
    TableInit,
    /// Segment `a`.
    ElemDrop,
    /// Function `a` (module index space), `()` -> its reference.
    RefFunc,
    /// Memory `a`, `(delta)` -> old size in pages or -1. (Memory 0 grows through
    /// `VmCtx::memory_grow`.)
    MemoryGrow,
    /// Memory `a`, `()` -> its size in pages.
    MemorySize,
    /// `throw` of module tag `a`, `(payload...)`: always raises (see `vm::exception`).
    Throw,
    /// `throw_ref`, `(exnref)`: always raises.
    ThrowRef,
}

impl RuntimeOp {
    const ALL: [RuntimeOp; 17] = [
        RuntimeOp::MemoryFill,
        RuntimeOp::MemoryCopy,
        RuntimeOp::MemoryInit,
        RuntimeOp::DataDrop,
        RuntimeOp::TableGet,
        RuntimeOp::TableSet,
        RuntimeOp::TableSize,
        RuntimeOp::TableGrow,
        RuntimeOp::TableFill,
        RuntimeOp::TableCopy,
        RuntimeOp::TableInit,
        RuntimeOp::ElemDrop,
        RuntimeOp::RefFunc,
        RuntimeOp::MemoryGrow,
        RuntimeOp::MemorySize,
        RuntimeOp::Throw,
        RuntimeOp::ThrowRef,
    ];

    /// The operation numbered `n` (its discriminant).
    pub fn from_u32(n: u32) -> Option<RuntimeOp> {
        Self::ALL.get(n as usize).copied()
    }
}

/// Runs `op` with immediates `a`, `b` for `instance` on the operands in the slots from `args` on;
/// a result replaces the first operand.
///
/// # Safety
/// `args` must point at the op's operands (as many slots as it takes, at least one when it has a
/// result) in a live frame.
pub unsafe fn run(
    store: &mut StoreInner,
    instance: u32,
    op: RuntimeOp,
    a: u32,
    b: u32,
    args: *mut u128,
) -> Result<(), TrapCode> {
    // SAFETY: guaranteed by the caller for the operands the op takes.
    let u32_at = |i: usize| unsafe { args.add(i).cast::<u32>().read() };
    // SAFETY: as above.
    let u64_at = |i: usize| unsafe { args.add(i).cast::<u64>().read() };
    // An address or length in memory `m`: `i64` in a 64-bit memory, else `i32`.
    let is_64 = |store: &StoreInner, m: u32| memory64(store, instance, m);
    let index_at = |store: &StoreInner, m: u32, i: usize| {
        if is_64(store, m) { u64_at(i) } else { u32_at(i) as u64 }
    };
    // An element index or count in table `t`: `i64` in a 64-bit table, else `i32`. No table
    // reaches 2^32 elements, so a 64-bit one beyond `u32` is out of bounds.
    let is_table64 = |store: &StoreInner, t: u32| table64(store, instance, t);
    let element_at = |store: &StoreInner, t: u32, i: usize| {
        if is_table64(store, t) {
            u32::try_from(u64_at(i)).map_err(|_| TrapCode::TableOutOfBounds)
        } else {
            Ok(u32_at(i))
        }
    };
    let result = match op {
        RuntimeOp::MemoryFill => {
            let (d, n) = (index_at(store, a, 0), index_at(store, a, 2));
            return memory_fill(store, instance, a, d, u32_at(1), n);
        }
        RuntimeOp::MemoryCopy => {
            let (d, s) = (index_at(store, a, 0), index_at(store, b, 1));
            // The length is an `i64` only between two 64-bit memories.
            let n = if is_64(store, a) && is_64(store, b) { u64_at(2) } else { u32_at(2) as u64 };
            return memory_copy(store, instance, [a, b], d, s, n);
        }
        RuntimeOp::MemoryInit => {
            let d = index_at(store, b, 0);
            return memory_init(store, instance, b, a, d, u32_at(1), u32_at(2));
        }
        RuntimeOp::MemoryGrow => {
            let wide = is_64(store, a);
            let delta = index_at(store, a, 0);
            match (memory_grow(store, instance, a, delta), wide) {
                (Some(old), _) => old as u128,
                (None, true) => u64::MAX as u128,
                (None, false) => u32::MAX as u128,
            }
        }
        RuntimeOp::MemorySize => memory_size(store, instance, a) as u128,
        RuntimeOp::DataDrop => {
            data_drop(store, instance, a);
            return Ok(());
        }
        RuntimeOp::TableGet => table_get(store, instance, a, element_at(store, a, 0)?)? as u128,
        RuntimeOp::TableSet => {
            return table_set(store, instance, a, element_at(store, a, 0)?, u64_at(1));
        }
        RuntimeOp::TableSize => table_size(store, instance, a) as u128,
        RuntimeOp::TableGrow => {
            let wide = is_table64(store, a);
            // A delta beyond u32 cannot fit any table: the grow fails (-1), it does not trap.
            let delta = if wide { u32::try_from(u64_at(1)).ok() } else { Some(u32_at(1)) };
            let old = delta.map_or(u32::MAX, |d| table_grow(store, instance, a, u64_at(0), d));
            if old == u32::MAX && wide { u64::MAX as u128 } else { old as u128 }
        }
        RuntimeOp::TableFill => {
            let (i, n) = (element_at(store, a, 0)?, element_at(store, a, 2)?);
            return table_fill(store, instance, a, i, u64_at(1), n);
        }
        RuntimeOp::TableCopy => {
            let (d, s) = (element_at(store, a, 0)?, element_at(store, b, 1)?);
            // The count is an `i64` only between two 64-bit tables.
            let n = if is_table64(store, a) && is_table64(store, b) {
                u32::try_from(u64_at(2)).map_err(|_| TrapCode::TableOutOfBounds)?
            } else {
                u32_at(2)
            };
            return table_copy(store, instance, a, b, d, s, n);
        }
        RuntimeOp::TableInit => {
            let d = element_at(store, a, 0)?;
            return table_init(store, instance, a, b, d, u32_at(1), u32_at(2));
        }
        RuntimeOp::ElemDrop => {
            elem_drop(store, instance, a);
            return Ok(());
        }
        RuntimeOp::RefFunc => ref_func(store, instance, a) as u128,
        // The exception leaves as the trap it travels as (see `vm::exception`).
        RuntimeOp::Throw => {
            // SAFETY: the tag's payload is in the slots from `args` on.
            return Err(unsafe { super::exception::throw(store, instance, a, args) }.code);
        }
        RuntimeOp::ThrowRef => return Err(super::exception::throw_ref(store, u64_at(0)).code),
    };
    // SAFETY: ops with a result have their result slot at `args`.
    unsafe { args.write(result) };
    Ok(())
}

/// The function a `call_indirect` through `table[index]` with module type `ty` reaches, after
/// the null and signature checks.
pub fn resolve_indirect(
    store: &StoreInner,
    instance: u32,
    ty: u32,
    table: u32,
    index: u32,
) -> Result<FuncIdx, TrapCode> {
    let raw = table_get(store, instance, table, index)?;
    check_func_ref(store, instance, ty, raw)
}

/// The function the table element `raw` refers to, if it is not null and has module type `ty`
/// of `instance`: what `call_indirect` checks once it has read the element.
pub fn check_func_ref(
    store: &StoreInner,
    instance: u32,
    ty: u32,
    raw: u64,
) -> Result<FuncIdx, TrapCode> {
    let func = decode_func_ref(raw).ok_or(TrapCode::IndirectCallToNull)?;
    let module = &store.instances[instance as usize].module.inner;
    if store.func(func).sig != module.sigs[ty as usize] {
        return Err(TrapCode::BadSignature);
    }
    Ok(func)
}

/// The store index of `instance`'s memory `memory`.
fn memory_id(store: &StoreInner, instance: u32, memory: u32) -> usize {
    store.instances[instance as usize].memories[memory as usize] as usize
}

/// Whether `instance`'s table `table` is a 64-bit one (its indices and sizes are `i64`).
pub fn table64(store: &StoreInner, instance: u32, table: u32) -> bool {
    table_ref(store, instance, table).ty.table64
}

/// Whether `instance`'s memory `memory` is a 64-bit one (its addresses and sizes are `i64`).
pub fn memory64(store: &StoreInner, instance: u32, memory: u32) -> bool {
    store.memories[memory_id(store, instance, memory)].memory64()
}

/// `memory.grow` on memory `memory`: the old size in pages, or `None` when it cannot grow.
pub fn memory_grow(store: &mut StoreInner, instance: u32, memory: u32, delta: u64) -> Option<u64> {
    let id = memory_id(store, instance, memory);
    store.memories[id].grow(delta)
}

/// `memory.size` on memory `memory`, in pages.
pub fn memory_size(store: &StoreInner, instance: u32, memory: u32) -> u64 {
    let id = memory_id(store, instance, memory);
    store.memories[id].len() as u64 / super::memory::PAGE_SIZE
}

/// `start..start + len` as a range of `bytes`' indices, if it lies inside them.
fn span(bytes: usize, start: u64, len: u64) -> Option<std::ops::Range<usize>> {
    let end = start.checked_add(len)?;
    (end <= bytes as u64).then_some(start as usize..end as usize)
}

pub fn memory_fill(
    store: &mut StoreInner,
    instance: u32,
    memory: u32,
    d: u64,
    v: u32,
    n: u64,
) -> Result<(), TrapCode> {
    let id = memory_id(store, instance, memory);
    fill_within(store.memories[id].data_mut(), d, v, n)
}

/// `memory.fill` of `bytes` (a memory's accessible bytes): `n` bytes from `d` set to `v`'s low 8
/// bits, or nothing and an out-of-bounds trap.
pub fn fill_within(bytes: &mut [u8], d: u64, v: u32, n: u64) -> Result<(), TrapCode> {
    let range = span(bytes.len(), d, n).ok_or(TrapCode::MemoryOutOfBounds)?;
    bytes[range].fill(v as u8);
    Ok(())
}

/// `memory.copy` within `bytes` (a memory's accessible bytes): `n` bytes from `s` to `d`, the
/// ranges possibly overlapping, or nothing and an out-of-bounds trap.
pub fn copy_within(bytes: &mut [u8], d: u64, s: u64, n: u64) -> Result<(), TrapCode> {
    let dst = span(bytes.len(), d, n).ok_or(TrapCode::MemoryOutOfBounds)?;
    let src = span(bytes.len(), s, n).ok_or(TrapCode::MemoryOutOfBounds)?;
    bytes.copy_within(src, dst.start);
    Ok(())
}

/// `memory.copy` from memory `dst_src[1]` to memory `dst_src[0]` (the same one, or two).
pub fn memory_copy(
    store: &mut StoreInner,
    instance: u32,
    dst_src: [u32; 2],
    d: u64,
    s: u64,
    n: u64,
) -> Result<(), TrapCode> {
    let [dst_id, src_id] = dst_src.map(|m| memory_id(store, instance, m));
    if dst_id == src_id {
        return copy_within(store.memories[dst_id].data_mut(), d, s, n);
    }
    let [dst, src] =
        store.memories.get_disjoint_mut([dst_id, src_id]).expect("two memories of the store");
    let (dst, src) = (dst.data_mut(), src.data_mut());
    let dst_range = span(dst.len(), d, n).ok_or(TrapCode::MemoryOutOfBounds)?;
    let src_range = span(src.len(), s, n).ok_or(TrapCode::MemoryOutOfBounds)?;
    dst[dst_range].copy_from_slice(&src[src_range]);
    Ok(())
}

pub fn memory_init(
    store: &mut StoreInner,
    instance: u32,
    memory: u32,
    segment: u32,
    d: u64,
    s: u32,
    n: u32,
) -> Result<(), TrapCode> {
    let entity = &store.instances[instance as usize];
    let module = entity.module.clone();
    let bytes: &[u8] = if entity.data_dropped[segment as usize] {
        &[]
    } else {
        &module.inner.datas[segment as usize].bytes
    };
    let src = span(bytes.len(), s as u64, n as u64).ok_or(TrapCode::MemoryOutOfBounds)?;
    let id = memory_id(store, instance, memory);
    let mem = store.memories[id].data_mut();
    let dst = span(mem.len(), d, n as u64).ok_or(TrapCode::MemoryOutOfBounds)?;
    mem[dst].copy_from_slice(&bytes[src]);
    Ok(())
}

pub fn data_drop(store: &mut StoreInner, instance: u32, segment: u32) {
    store.instances[instance as usize].data_dropped[segment as usize] = true;
}

pub fn elem_drop(store: &mut StoreInner, instance: u32, segment: u32) {
    store.instances[instance as usize].elem_segments[segment as usize] = None;
}

/// The reference to function `func` (module index space) of `instance`.
pub fn ref_func(store: &StoreInner, instance: u32, func: u32) -> u64 {
    let f = store.instances[instance as usize].funcs[func as usize];
    encode_func_ref(Some(FuncIdx(f)))
}

/// The store index of `instance`'s table `table`.
fn table_id(store: &StoreInner, instance: u32, table: u32) -> usize {
    store.instances[instance as usize].tables[table as usize] as usize
}

fn table_ref(store: &StoreInner, instance: u32, table: u32) -> &TableEntity {
    let id = store.instances[instance as usize].tables[table as usize];
    &store.tables[id as usize]
}

fn table_mut(store: &mut StoreInner, instance: u32, table: u32) -> &mut TableEntity {
    let id = store.instances[instance as usize].tables[table as usize];
    &mut store.tables[id as usize]
}

pub fn table_get(store: &StoreInner, instance: u32, table: u32, i: u32) -> Result<u64, TrapCode> {
    table_ref(store, instance, table)
        .elems
        .get(i as usize)
        .copied()
        .ok_or(TrapCode::TableOutOfBounds)
}

pub fn table_set(
    store: &mut StoreInner,
    instance: u32,
    table: u32,
    i: u32,
    r: u64,
) -> Result<(), TrapCode> {
    let slot = table_mut(store, instance, table)
        .elems
        .get_mut(i as usize)
        .ok_or(TrapCode::TableOutOfBounds)?;
    *slot = r;
    let id = table_id(store, instance, table);
    super::table::sync(store, id, i as usize..i as usize + 1);
    Ok(())
}

pub fn table_size(store: &StoreInner, instance: u32, table: u32) -> u32 {
    table_ref(store, instance, table).elems.len() as u32
}

/// `table.grow`: the old size, or `-1` as u32.
pub fn table_grow(store: &mut StoreInner, instance: u32, table: u32, init: u64, delta: u32) -> u32 {
    let limit = store.engine.config().max_table_elements;
    let Some(old) = table_mut(store, instance, table).grow(delta, init, limit) else {
        return u32::MAX;
    };
    let id = table_id(store, instance, table);
    super::table::sync(store, id, old as usize..old as usize + delta as usize);
    old
}

pub fn table_fill(
    store: &mut StoreInner,
    instance: u32,
    table: u32,
    i: u32,
    r: u64,
    n: u32,
) -> Result<(), TrapCode> {
    let elems = &mut table_mut(store, instance, table).elems;
    let range = i as usize..i as usize + n as usize;
    elems.get_mut(range.clone()).ok_or(TrapCode::TableOutOfBounds)?.fill(r);
    let id = table_id(store, instance, table);
    super::table::sync(store, id, range);
    Ok(())
}

pub fn table_copy(
    store: &mut StoreInner,
    instance: u32,
    dst: u32,
    src: u32,
    d: u32,
    s: u32,
    n: u32,
) -> Result<(), TrapCode> {
    let (d, s, n) = (d as usize, s as usize, n as usize);
    let src_len = table_ref(store, instance, src).elems.len();
    let dst_len = table_ref(store, instance, dst).elems.len();
    if s + n > src_len || d + n > dst_len {
        return Err(TrapCode::TableOutOfBounds);
    }
    let items: Vec<u64> = table_ref(store, instance, src).elems[s..s + n].to_vec();
    table_mut(store, instance, dst).elems[d..d + n].copy_from_slice(&items);
    let id = table_id(store, instance, dst);
    super::table::sync(store, id, d..d + n);
    Ok(())
}

pub fn table_init(
    store: &mut StoreInner,
    instance: u32,
    table: u32,
    segment: u32,
    d: u32,
    s: u32,
    n: u32,
) -> Result<(), TrapCode> {
    let items = store.instances[instance as usize].elem_segments[segment as usize].clone();
    let items: &[u64] = items.as_deref().unwrap_or(&[]);
    let src = items.get(s as usize..s as usize + n as usize).ok_or(TrapCode::TableOutOfBounds)?;
    let elems = &mut table_mut(store, instance, table).elems;
    let range = d as usize..d as usize + n as usize;
    let dst = elems.get_mut(range.clone()).ok_or(TrapCode::TableOutOfBounds)?;
    dst.copy_from_slice(src);
    let id = table_id(store, instance, table);
    super::table::sync(store, id, range);
    Ok(())
}
