//! Executable memory: the one place where bytes become machine code and pointers become functions.
//!
//! Code is assembled into an ordinary vector (position-independent), copied into a fresh anonymous
//! mapping, and the mapping is flipped to read+execute; nothing is ever writable and executable at
//! once. This module must never hand out a function pointer to bytes it did not map itself.
//!
//! Processors with split instruction and data caches (aarch64) need cache maintenance before
//! fresh code runs, done with dynasmrt's own routines: after writing, the data cache is cleaned
//! and the instruction cache invalidated for the code's addresses (`synchronize_icache`: `dc
//! cvau`, `ic ivau`, `dsb ish`, broadcast to every core); before running, the executing thread
//! discards instructions it may have fetched already (`prepare_for_execution`: `isb`), which
//! [`ExecutableCode::entry`] does on the calling thread, since the code may have been compiled
//! on another one. Both are no-ops on x86-64.

use dynasmrt::mmap::{ExecutableBuffer, MutableBuffer};
use std::sync::Arc;

/// A block of machine code, immutable and executable for as long as it lives. Cheap to clone.
#[derive(Clone)]
pub struct ExecutableCode {
    buffer: Arc<ExecutableBuffer>,
}

impl std::fmt::Debug for ExecutableCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ExecutableCode({} bytes)", self.buffer.len())
    }
}

impl ExecutableCode {
    /// Maps `bytes` as executable code.
    pub fn new(bytes: &[u8]) -> std::io::Result<ExecutableCode> {
        let mut buffer = MutableBuffer::new(bytes.len().max(1))?;
        buffer.set_len(bytes.len());
        buffer.copy_from_slice(bytes);
        let buffer = buffer.make_exec()?;
        // Processors with split caches must not run stale instructions from these addresses.
        dynasmrt::cache_control::synchronize_icache(&buffer);
        Ok(ExecutableCode { buffer: Arc::new(buffer) })
    }

    /// The addresses the code occupies.
    pub fn range(&self) -> std::ops::Range<usize> {
        let start = self.buffer.as_ptr() as usize;
        start..start + self.buffer.len()
    }

    /// Address of byte `offset` of the code.
    pub fn address(&self, offset: usize) -> *const u8 {
        assert!(offset < self.buffer.len(), "offset {offset} outside the code");
        self.buffer.as_ptr().wrapping_add(offset)
    }
}

impl ExecutableCode {
    /// The function starting at byte `offset`, for the calling thread to run.
    ///
    /// # Safety
    /// `offset` must be the start of a function the JIT compiled into this code with the
    /// [`FuncEntry`](crate::jit::FuncEntry) calling convention.
    pub unsafe fn entry(&self, offset: usize) -> crate::jit::FuncEntry {
        let address = self.address(offset);
        // The caller runs the code on this thread: no stale prefetched instructions may remain.
        dynasmrt::cache_control::prepare_for_execution(&self.buffer);
        // SAFETY: the caller guarantees the bytes at `address` are a complete function with the
        // `FuncEntry` signature; the mapping is executable and lives as long as `self`.
        unsafe { std::mem::transmute::<*const u8, crate::jit::FuncEntry>(address) }
    }
}
