//! A bounds-checked view of the calling instance's linear memory.
//!
//! Every pointer and length a guest passes to a WASI function goes through here, and every access
//! is checked against the memory's current size: an out-of-bounds or overflowing range is `EFAULT`,
//! never a panic. This module must never index guest memory without a check, and never hold on to
//! the memory beyond one host call (the guest may grow it, moving nothing but changing its size).

use super::errno::Errno;

/// The guest's memory for the duration of one host call; empty when the module exports none, so
/// that every pointer is then `EFAULT`.
pub struct GuestMemory<'a> {
    bytes: &'a mut [u8],
}

impl<'a> GuestMemory<'a> {
    pub fn new(bytes: &'a mut [u8]) -> GuestMemory<'a> {
        GuestMemory { bytes }
    }

    /// The range `ptr..ptr + len` as host indices, if it lies inside memory.
    fn range(&self, ptr: u32, len: u32) -> Result<std::ops::Range<usize>, Errno> {
        let start = ptr as usize;
        let end = start.checked_add(len as usize).ok_or(Errno::FAULT)?;
        if end > self.bytes.len() {
            return Err(Errno::FAULT);
        }
        Ok(start..end)
    }

    /// Checks `ptr..ptr + len` without touching it, so a call can fail before any side effect.
    pub fn check(&self, ptr: u32, len: u32) -> Result<(), Errno> {
        self.range(ptr, len).map(|_| ())
    }

    pub fn slice(&self, ptr: u32, len: u32) -> Result<&[u8], Errno> {
        let range = self.range(ptr, len)?;
        Ok(&self.bytes[range])
    }

    pub fn slice_mut(&mut self, ptr: u32, len: u32) -> Result<&mut [u8], Errno> {
        let range = self.range(ptr, len)?;
        Ok(&mut self.bytes[range])
    }

    pub fn read_u32(&self, ptr: u32) -> Result<u32, Errno> {
        let bytes = self.slice(ptr, 4)?;
        Ok(u32::from_le_bytes(bytes.try_into().expect("slice of 4")))
    }

    pub fn read_u64(&self, ptr: u32) -> Result<u64, Errno> {
        let bytes = self.slice(ptr, 8)?;
        Ok(u64::from_le_bytes(bytes.try_into().expect("slice of 8")))
    }

    pub fn read_u16(&self, ptr: u32) -> Result<u16, Errno> {
        let bytes = self.slice(ptr, 2)?;
        Ok(u16::from_le_bytes(bytes.try_into().expect("slice of 2")))
    }

    pub fn read_u8(&self, ptr: u32) -> Result<u8, Errno> {
        Ok(self.slice(ptr, 1)?[0])
    }

    pub fn write(&mut self, ptr: u32, data: &[u8]) -> Result<(), Errno> {
        let len = u32::try_from(data.len()).map_err(|_| Errno::FAULT)?;
        self.slice_mut(ptr, len)?.copy_from_slice(data);
        Ok(())
    }

    pub fn write_u32(&mut self, ptr: u32, value: u32) -> Result<(), Errno> {
        self.write(ptr, &value.to_le_bytes())
    }

    pub fn write_u64(&mut self, ptr: u32, value: u64) -> Result<(), Errno> {
        self.write(ptr, &value.to_le_bytes())
    }

    /// The `(buf, buf_len)` pairs of an `iovec`/`ciovec` array, every one checked to lie in
    /// memory before any is used, so a bad buffer fails the whole call with no partial effect.
    pub fn iovecs(&self, iovs: u32, count: u32) -> Result<Vec<(u32, u32)>, Errno> {
        let size = count.checked_mul(8).ok_or(Errno::FAULT)?;
        self.check(iovs, size)?;
        (0..count)
            .map(|i| {
                let at = iovs + i * 8;
                let (buf, len) = (self.read_u32(at)?, self.read_u32(at + 4)?);
                self.check(buf, len)?;
                Ok((buf, len))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_bounds_is_efault() {
        let mut bytes = [0u8; 16];
        let mut mem = GuestMemory::new(&mut bytes);
        assert_eq!(mem.read_u32(12), Ok(0));
        assert_eq!(mem.read_u32(13), Err(Errno::FAULT));
        assert_eq!(mem.slice(u32::MAX, u32::MAX).err(), Some(Errno::FAULT));
        assert_eq!(mem.write_u64(9, 1), Err(Errno::FAULT));
        mem.write_u32(0, 4).unwrap();
        mem.write_u32(4, 100).unwrap();
        assert_eq!(mem.iovecs(0, 1), Err(Errno::FAULT));
        assert_eq!(mem.iovecs(0, u32::MAX), Err(Errno::FAULT));
    }
}
