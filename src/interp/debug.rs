//! Tier 0's side of debugging (`crate::debug`): the debug translation's record of its hooks, and
//! the reads a stop makes of an interpreted frame.
//!
//! A function a debugger marks runs its *debug translation* (`translate::translate_for_debugging`,
//! entered through `exec::DEBUG_ENTRY`): a `debug_hook` instruction before every reachable wasm
//! instruction, and nothing fused across wasm instructions, so at each hook every wasm operand is
//! in a slot (a temporary, or a local a pending `local.get` names) or is a constant. Each hook's
//! [`DebugPoint`] says which wasm instruction follows (its module offset) and where each operand
//! lives. A hook asks the store's debugger only when its point is armed (a breakpoint) or the
//! store is stepping; functions that are not marked run their ordinary translation, which has no
//! hooks, so a breakpoint costs nothing outside the functions that have one.
//!
//! This module must never write to a frame or to guest memory: a stop only reads.

use super::code::{Fp, Slot};
use crate::ValType;
use std::sync::atomic::AtomicBool;

/// What a debug translation knows about its hooks.
#[derive(Debug)]
pub struct DebugInfo {
    /// Every hook, in code order (which is body order).
    pub points: Box<[DebugPoint]>,
    /// Per point, whether a breakpoint is set there.
    pub armed: Box<[AtomicBool]>,
    /// The type of each local, parameters first.
    pub local_types: Box<[ValType]>,
}

/// One hook: the wasm instruction after it and where its operands are.
#[derive(Debug)]
pub struct DebugPoint {
    /// The wasm instruction's module offset.
    pub offset: u32,
    /// Byte offset of the hook instruction in the code.
    pub code_at: u32,
    /// Where each operand of the wasm operand stack lives, bottom first.
    pub stack: Box<[StackValue]>,
    /// When the instruction is a call: whom it calls (stepping into it marks the callee).
    pub call: Option<CallKind>,
}

/// Where an operand on the wasm stack lives at a hook.
#[derive(Clone, Copy, Debug)]
pub enum StackValue {
    /// In this slot of the frame.
    Slot(Slot),
    /// A constant (its bits as a slot would hold them).
    Const(u128),
}

/// The callee of a call instruction.
#[derive(Clone, Copy, Debug)]
pub enum CallKind {
    /// `call`, function index.
    Direct(u32),
    /// `call_indirect` through this table, the element index on top of the stack.
    Indirect { table: u32 },
    /// `call_ref`, the function reference on top of the stack.
    Reference,
}

impl DebugInfo {
    pub fn new(points: Vec<DebugPoint>, local_types: Vec<ValType>) -> DebugInfo {
        let armed = points.iter().map(|_| AtomicBool::new(false)).collect();
        DebugInfo {
            points: points.into_boxed_slice(),
            armed,
            local_types: local_types.into_boxed_slice(),
        }
    }

    /// The point before the wasm instruction at module offset `offset`.
    pub fn point_at(&self, offset: u32) -> Option<usize> {
        self.points.iter().position(|p| p.offset == offset)
    }

    /// The point of the wasm instruction whose code contains code byte `code_offset` (the last
    /// hook before it): for a return address, the call it returns from.
    pub fn point_before(&self, code_offset: usize) -> Option<&DebugPoint> {
        let after = self.points.partition_point(|p| (p.code_at as usize) < code_offset);
        after.checked_sub(1).map(|i| &self.points[i])
    }

    /// The raw slot bits of every local of the frame at `fp`.
    pub fn read_locals(&self, fp: Fp) -> Vec<(ValType, u128)> {
        let slot_bytes = super::code::SLOT_BYTES;
        self.local_types
            .iter()
            .enumerate()
            // SAFETY: the frame at `fp` runs this code, and its locals are its first slots.
            .map(|(i, &ty)| (ty, unsafe { fp.get::<u128>(i as u32 * slot_bytes) }))
            .collect()
    }
}

impl DebugPoint {
    /// The raw bits of each wasm operand at this point of the frame at `fp`, bottom first.
    pub fn read_stack(&self, fp: Fp) -> Vec<u128> {
        self.stack
            .iter()
            .map(|value| match *value {
                // SAFETY: the translator records only slots of the frame running this code.
                StackValue::Slot(slot) => unsafe { fp.get::<u128>(slot) },
                StackValue::Const(bits) => bits,
            })
            .collect()
    }
}
