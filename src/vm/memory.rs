//! Linear memory: a reserved region of address space that only ever grows in place.
//!
//! A 32-bit memory reserves the whole range a wasm32 access can reach (4 GiB of addresses plus a
//! 4 GiB offset plus slack) as `PROT_NONE` up front and makes pages accessible as the memory grows, so
//! the base address never changes and JIT code can rely on guard pages instead of bounds checks
//! (`vm::signals` turns the fault into a trap). Pages beyond the current size are always
//! `PROT_NONE`, whatever the memory's maximum, so `memory.grow` needs no code change and a memory
//! smaller than 4 GiB is as safe as a full one.
//! The interpreter still checks bounds explicitly against [`LinearMemory::len`].
//! This module must never hand out the base pointer beyond the store that owns the memory.

use crate::types::{Limits, MemoryType};
use std::ptr::NonNull;

/// Bytes in one wasm page.
pub const PAGE_SIZE: u64 = 65536;
/// Pages a wasm32 memory can have at most.
pub const MAX_PAGES: u64 = 65536;
/// Address space reserved per memory: any `u32` address plus any `u32` offset plus an access width
/// (up to 64 KiB). Tier-1 code relies on it: an access it does not check stays inside the
/// reservation and so faults on a `PROT_NONE` page instead of reaching other memory.
pub(crate) const RESERVATION: usize = (8 << 30) + (64 << 10);

/// A `memory.grow` a memory refused (the latest): the sizes involved and the limit in the way, so
/// a program that fails for want of memory can be told which limit to raise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GrowRefusal {
    /// The memory's size in pages when it was asked to grow.
    pub from_pages: u64,
    /// The size in pages the request asked for (saturated at `u64::MAX`).
    pub requested_pages: u64,
    /// What refused it.
    pub limit: GrowLimit,
}

/// The limit that refused a `memory.grow`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum GrowLimit {
    /// The memory type's own maximum, in pages: the module asked for it; nothing raises it.
    TypeMaximum(u64),
    /// The embedder's limit (`Config::max_memory_size`), in bytes.
    EngineLimit(u64),
    /// The 65536 pages (4 GiB) a wasm32 memory can address.
    AddressSpace,
    /// The host refused the pages (`mprotect` failed: out of memory or an address-space rlimit).
    Host,
}

/// A linear memory instance.
#[derive(Debug)]
pub struct LinearMemory {
    base: NonNull<u8>,
    /// Accessible bytes (a multiple of the page size).
    len: usize,
    /// The most pages this memory may grow to (from its type and the engine's limit).
    max_pages: u64,
    /// The engine's limit in bytes (`Config::max_memory_size`), if any: what a refusal names.
    limit_bytes: Option<u64>,
    /// The latest `memory.grow` refused.
    refused: Option<GrowRefusal>,
    ty: MemoryType,
    /// The reservation as the fault handler knows it (`None` only while dropping).
    registration: Option<super::signals::Registration>,
}

// SAFETY: the mapping is owned exclusively by this value; moving it between threads moves that ownership.
unsafe impl Send for LinearMemory {}
// SAFETY: shared references only read `base`/`len`; mutation of the bytes goes through `&mut self` or
// through the executor, which holds the store exclusively while it runs.
unsafe impl Sync for LinearMemory {}

impl LinearMemory {
    /// Reserves address space and makes the initial pages accessible. `limit_bytes` is the engine's
    /// `max_memory_size`; a memory whose minimum exceeds it is refused.
    pub fn new(ty: MemoryType, limit_bytes: Option<u64>) -> Result<LinearMemory, String> {
        let limit_pages = limit_bytes.map_or(MAX_PAGES, |b| (b / PAGE_SIZE).min(MAX_PAGES));
        if ty.limits.min > limit_pages {
            return Err(format!(
                "memory minimum size of {} pages exceeds memory limits ({} bytes)",
                ty.limits.min,
                limit_pages * PAGE_SIZE
            ));
        }
        let max_pages = ty.limits.max.unwrap_or(MAX_PAGES).min(limit_pages);
        // SAFETY: an anonymous private PROT_NONE mapping at an address of the kernel's choosing
        // touches no existing memory; the result is checked below.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                RESERVATION,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(format!("cannot reserve memory: {}", std::io::Error::last_os_error()));
        }
        let base = NonNull::new(ptr.cast::<u8>()).ok_or("mmap returned null")?;
        let registration =
            Some(super::signals::register_memory(base.as_ptr() as usize, RESERVATION));
        let mut memory =
            LinearMemory { base, len: 0, max_pages, limit_bytes, refused: None, ty, registration };
        memory.make_accessible(ty.limits.min * PAGE_SIZE)?;
        Ok(memory)
    }

    fn make_accessible(&mut self, new_len: u64) -> Result<(), String> {
        let new_len = new_len as usize;
        if new_len > self.len {
            // SAFETY: `[base + len, base + new_len)` lies inside our reservation (new_len <= 4 GiB)
            // and was PROT_NONE; the kernel zero-fills the pages it makes accessible.
            let rc = unsafe {
                libc::mprotect(
                    self.base.as_ptr().add(self.len).cast(),
                    new_len - self.len,
                    libc::PROT_READ | libc::PROT_WRITE,
                )
            };
            if rc != 0 {
                return Err(format!("cannot grow memory: {}", std::io::Error::last_os_error()));
            }
        }
        self.len = new_len;
        Ok(())
    }

    /// Whether addresses are `i64` (memory64).
    pub fn memory64(&self) -> bool {
        self.ty.memory64
    }

    /// `memory.grow`: the old size in pages, or `None` if the memory cannot grow that far.
    /// A refusal is remembered (see [`LinearMemory::refused`]).
    pub fn grow(&mut self, delta_pages: u64) -> Option<u64> {
        let old = self.pages();
        let new = old.saturating_add(delta_pages);
        let refused = if new > self.max_pages {
            Some(self.limit_for())
        } else {
            self.make_accessible(new * PAGE_SIZE).err().map(|_| GrowLimit::Host)
        };
        match refused {
            None => Some(old),
            Some(limit) => {
                self.refused = Some(GrowRefusal { from_pages: old, requested_pages: new, limit });
                None
            }
        }
    }

    /// Which limit stops growth at `max_pages`: the tightest of the type's maximum, the engine's
    /// limit and the wasm32 address space (the type's first when they tie: raising the engine's
    /// limit would not help).
    fn limit_for(&self) -> GrowLimit {
        let engine_pages = self.limit_bytes.map(|b| b / PAGE_SIZE);
        match (self.ty.limits.max, engine_pages) {
            (Some(max), _) if max == self.max_pages => GrowLimit::TypeMaximum(max),
            (_, Some(limit)) if limit == self.max_pages && limit < MAX_PAGES => {
                GrowLimit::EngineLimit(self.limit_bytes.unwrap_or_default())
            }
            _ => GrowLimit::AddressSpace,
        }
    }

    /// The latest `memory.grow` this memory refused, if any.
    pub fn refused(&self) -> Option<GrowRefusal> {
        self.refused
    }

    /// Current size in pages.
    pub fn pages(&self) -> u64 {
        self.len as u64 / PAGE_SIZE
    }

    /// Current size in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Start of the memory. Valid for `len()` bytes, and stable for the memory's lifetime.
    pub fn base(&self) -> *mut u8 {
        self.base.as_ptr()
    }

    /// The memory's type as import matching sees it: the current size as its minimum.
    pub fn current_type(&self) -> MemoryType {
        MemoryType { limits: Limits { min: self.pages(), max: self.ty.limits.max }, ..self.ty }
    }

    pub fn data(&self) -> &[u8] {
        // SAFETY: `[base, base + len)` is mapped read-write for as long as `self` lives.
        unsafe { std::slice::from_raw_parts(self.base.as_ptr(), self.len) }
    }

    pub fn data_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `data`, and `&mut self` makes this the only live view.
        unsafe { std::slice::from_raw_parts_mut(self.base.as_ptr(), self.len) }
    }
}

impl Drop for LinearMemory {
    fn drop(&mut self) {
        // Out of the handler's registry before the address range can be reused.
        drop(self.registration.take());
        // SAFETY: unmaps exactly the reservation made in `new`; nothing refers to it any more.
        unsafe {
            libc::munmap(self.base.as_ptr().cast(), RESERVATION);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mem(min: u64, max: Option<u64>) -> LinearMemory {
        LinearMemory::new(MemoryType { limits: Limits { min, max }, memory64: false }, None)
            .unwrap()
    }

    #[test]
    fn grows_in_place_and_zero_fills() {
        let mut m = mem(1, Some(3));
        let base = m.base();
        m.data_mut()[0] = 7;
        assert_eq!(m.grow(2), Some(1));
        assert_eq!(m.base(), base);
        assert_eq!(m.data()[0], 7);
        assert_eq!(m.data()[2 * PAGE_SIZE as usize], 0);
        assert_eq!(m.grow(1), None);
        assert_eq!(m.pages(), 3);
    }

    #[test]
    fn refusals_name_the_limit_in_the_way() {
        let mut typed = mem(1, Some(3));
        assert_eq!(typed.refused(), None);
        assert_eq!(typed.grow(5), None);
        let refusal =
            GrowRefusal { from_pages: 1, requested_pages: 6, limit: GrowLimit::TypeMaximum(3) };
        assert_eq!(typed.refused(), Some(refusal));
        let ty = MemoryType { limits: Limits { min: 1, max: Some(100) }, memory64: false };
        let mut limited = LinearMemory::new(ty, Some(4 * PAGE_SIZE)).unwrap();
        assert_eq!(limited.grow(4), None);
        assert_eq!(limited.refused().unwrap().limit, GrowLimit::EngineLimit(4 * PAGE_SIZE));
        let mut open = mem(1, None);
        assert_eq!(open.grow(u64::MAX), None);
        let refusal = open.refused().unwrap();
        assert_eq!((refusal.requested_pages, refusal.limit), (u64::MAX, GrowLimit::AddressSpace));
    }

    #[test]
    fn engine_limit_caps_growth_and_refuses_large_minimums() {
        let ty = MemoryType { limits: Limits { min: 1, max: None }, memory64: false };
        let mut m = LinearMemory::new(ty, Some(2 * PAGE_SIZE)).unwrap();
        assert_eq!(m.grow(1), Some(1));
        assert_eq!(m.grow(1), None);
        assert_eq!(m.refused().unwrap().limit, GrowLimit::EngineLimit(2 * PAGE_SIZE));
        let big = MemoryType { limits: Limits { min: 3, max: None }, memory64: false };
        assert!(LinearMemory::new(big, Some(2 * PAGE_SIZE)).is_err());
    }
}
