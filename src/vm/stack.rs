//! The value stack: one fixed allocation of 16-byte slots per store, which every tier's frames
//! live on (see `frame`).
//!
//! Frames are windows into it; a callee's frame starts at its caller's
//! argument slots. It is allocated once at its maximum size (so its address never changes while
//! frames point into it) and only ever accessed through the raw pointer kept here.

use std::alloc::{Layout, alloc_zeroed, dealloc};
use std::ptr::NonNull;

/// Bytes of wasm stack charged per call frame, on top of its slots, so that frames without slots
/// still exhaust the stack under unbounded recursion.
pub const FRAME_COST: usize = 64;

/// Host -> wasm -> host re-entries allowed before `call stack exhausted`; each one uses host stack.
pub const MAX_NESTING: u32 = 1000;

/// Bytes the allocation extends past the stack's end ([`Stack::end_ptr`], which every check
/// compares against), where no checked frame ever reaches: a function that calls nothing and
/// whose frame fits in them skips its prologue's stack checks (`FrameSetup::checks_stacks`).
/// Its frame starts inside its caller's, which was checked (or at an entry's frame, which the
/// host checks), so it ends at most this far past the end; it cannot recurse, so the host stack
/// needs nothing either (the limit keeps a margin of 256 KiB). Most leaves' frames take a few
/// slots; calls of small leaves through function pointers are where the checks cost most
/// (c-dispatch).
pub const LEAF_FRAME_BYTES: usize = 4096;

/// The largest wasm stack a store gets, whatever the configuration asks for. The allocation is
/// zero-filled lazily by the OS, so only the part a guest touches costs memory.
pub const MAX_STACK_BYTES: usize = 1 << 30;

pub struct Stack {
    base: NonNull<u128>,
    len: usize,
    /// First free slot: where the next entry from the host places its frame.
    pub top: usize,
    /// Call frames live in outer (host-interrupted) executions.
    pub depth: usize,
    /// Most frames allowed at once.
    pub max_depth: usize,
    /// Nested entries from host functions currently running.
    pub nesting: u32,
}

// SAFETY: the allocation is owned exclusively by this value.
unsafe impl Send for Stack {}
// SAFETY: shared references give no access to the slots.
unsafe impl Sync for Stack {}

impl Stack {
    /// A stack for at most `max_bytes` of wasm stack (slots plus frame records).
    /// `max_bytes` is clamped to [`MAX_STACK_BYTES`].
    pub fn new(max_bytes: usize) -> Stack {
        let max_bytes = max_bytes.min(MAX_STACK_BYTES);
        let len = (max_bytes / 16).max(16);
        let layout = Self::layout(len);
        // SAFETY: `layout` has non-zero size; the result is checked for null below.
        let ptr = unsafe { alloc_zeroed(layout) };
        let base = NonNull::new(ptr.cast::<u128>())
            .unwrap_or_else(|| std::alloc::handle_alloc_error(layout));
        Stack { base, len, top: 0, depth: 0, max_depth: max_bytes / FRAME_COST, nesting: 0 }
    }

    /// The allocation of a stack of `len` slots: those and [`LEAF_FRAME_BYTES`] past them.
    fn layout(len: usize) -> Layout {
        Layout::array::<u128>(len + LEAF_FRAME_BYTES / 16)
            .expect("stack size fits the address space")
    }

    /// Pointer to slot `index`. Callers keep `index <= len()`.
    pub fn slot_ptr(&self, index: usize) -> *mut u128 {
        debug_assert!(index <= self.len);
        self.base.as_ptr().wrapping_add(index)
    }

    /// One past the last slot.
    pub fn end_ptr(&self) -> *mut u128 {
        self.base.as_ptr().wrapping_add(self.len)
    }

    /// Number of slots.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Slot index of a pointer into this stack.
    pub fn index_of(&self, ptr: *const u128) -> usize {
        (ptr as usize - self.base.as_ptr() as usize) / 16
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        let layout = Self::layout(self.len);
        // SAFETY: allocated in `new` with the same layout and never freed elsewhere.
        unsafe { dealloc(self.base.as_ptr().cast(), layout) }
    }
}
