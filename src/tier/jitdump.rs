//! The jitdump file: `jit-<pid>.dump` in the current directory, Linux perf's format for JIT code
//! (`tools/perf/Documentation/jitdump-specification.txt`), so that
//! `perf record -k 1 ... tierup run --profile=jitdump ...` then `perf inject --jit` turns each
//! function's code into an ELF image `perf report` and `perf annotate` read: symbols and
//! disassembly of every compiling tier's code.
//!
//! A header, then per function a `JIT_CODE_DEBUG_INFO` record (its line information) and a
//! `JIT_CODE_LOAD` record (a copy of its machine code), appended as its code is installed (up
//! front, at tier-up, or an on-stack-replacement entry), under one lock so records never
//! interleave. The file is mapped once, executable, so that `perf record` sees an mmap of a file
//! named `jit-<pid>.dump`: that is how `perf inject` finds it. Timestamps are `CLOCK_MONOTONIC`,
//! the clock `perf record -k 1` uses.
//!
//! Line information is the wasm module's byte offsets: the code of the operator at module offset
//! N is "line N" of the source file named after the module, so `perf annotate` and `perf report
//! --sort srcline` say which wasm operator each instruction came from (the offsets
//! `tierup explore` and backtraces print, in decimal).
//!
//! Enabled by `Config::profiling_strategy`. It must never affect execution: a file that cannot
//! be written is reported once on stderr and then ignored.

use std::fs::File;
use std::io::Write;
use std::sync::{Mutex, OnceLock};

/// The header's magic number, `JiTD` when read as a little-endian u32.
pub const MAGIC: u32 = 0x4A69_5444;
/// The format version perf reads.
pub const VERSION: u32 = 1;
/// The header's size in bytes.
pub const HEADER_SIZE: u32 = 40;
/// Record type of a function's code.
pub const JIT_CODE_LOAD: u32 = 0;
/// Record type of a function's line information; precedes the function's `JIT_CODE_LOAD`.
pub const JIT_CODE_DEBUG_INFO: u32 = 2;

/// The dump's path for this process.
pub fn path() -> std::path::PathBuf {
    std::path::PathBuf::from(format!("jit-{}.dump", std::process::id()))
}

/// The ELF machine of the host (`e_machine`), as the header names it.
fn elf_machine() -> u32 {
    match std::env::consts::ARCH {
        "x86_64" => 62,
        "aarch64" => 183,
        _ => 0,
    }
}

/// Nanoseconds of `CLOCK_MONOTONIC`.
fn timestamp() -> u64 {
    let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `clock_gettime` writes one `timespec` to a valid pointer; CLOCK_MONOTONIC always
    // exists on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
    now.tv_sec as u64 * 1_000_000_000 + now.tv_nsec as u64
}

/// The file header.
pub fn header(pid: u32, timestamp: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_SIZE as usize);
    for word in [MAGIC, VERSION, HEADER_SIZE, elf_machine(), 0, pid] {
        out.extend_from_slice(&word.to_le_bytes());
    }
    out.extend_from_slice(&timestamp.to_le_bytes());
    out.extend_from_slice(&0u64.to_le_bytes()); // flags
    out
}

/// One `JIT_CODE_LOAD` record: `code` loaded at `address`, named `name`, the `index`-th load.
pub fn code_load(
    pid: u32,
    tid: u32,
    address: u64,
    code: &[u8],
    index: u64,
    name: &str,
    timestamp: u64,
) -> Vec<u8> {
    // A NUL would end the name early; names come from the guest's name section.
    let name = name.replace('\0', " ");
    let size = 16 + 4 + 4 + 8 * 4 + name.len() + 1 + code.len();
    let mut out = Vec::with_capacity(size);
    out.extend_from_slice(&JIT_CODE_LOAD.to_le_bytes());
    out.extend_from_slice(&(size as u32).to_le_bytes());
    out.extend_from_slice(&timestamp.to_le_bytes());
    out.extend_from_slice(&pid.to_le_bytes());
    out.extend_from_slice(&tid.to_le_bytes());
    for word in [address, address, code.len() as u64, index] {
        out.extend_from_slice(&word.to_le_bytes()); // vma, code_addr, code_size, code_index
    }
    out.extend_from_slice(name.as_bytes());
    out.push(0);
    out.extend_from_slice(code);
    out
}

/// One `JIT_CODE_DEBUG_INFO` record for code loaded at `address`: each `(code offset, wasm
/// offset)` of `lines` becomes an entry at that address, line = wasm offset, in file `source`.
/// Padded to 8 bytes, as perf's own agent writes it.
pub fn debug_info(address: u64, lines: &[(u32, u32)], source: &str, timestamp: u64) -> Vec<u8> {
    let source = source.replace('\0', " ");
    let entry_size = 8 + 4 + 4 + source.len() + 1;
    let unpadded = 16 + 8 + 8 + lines.len() * entry_size;
    let size = unpadded.next_multiple_of(8);
    let mut out = Vec::with_capacity(size);
    out.extend_from_slice(&JIT_CODE_DEBUG_INFO.to_le_bytes());
    out.extend_from_slice(&(size as u32).to_le_bytes());
    out.extend_from_slice(&timestamp.to_le_bytes());
    out.extend_from_slice(&address.to_le_bytes());
    out.extend_from_slice(&(lines.len() as u64).to_le_bytes());
    for &(code_offset, wasm_offset) in lines {
        out.extend_from_slice(&(address + u64::from(code_offset)).to_le_bytes());
        out.extend_from_slice(&wasm_offset.to_le_bytes()); // line
        out.extend_from_slice(&0u32.to_le_bytes()); // discriminator
        out.extend_from_slice(source.as_bytes());
        out.push(0);
    }
    out.resize(size, 0);
    out
}

/// The open dump and the number of records written.
struct Dump {
    file: File,
    loads: u64,
}

/// Opens the dump, writes its header and maps it (see the module doc).
fn open() -> std::io::Result<Dump> {
    let path = path();
    let mut file =
        File::options().create(true).truncate(true).write(true).read(true).open(&path)?;
    file.write_all(&header(std::process::id(), timestamp()))?;
    let page = 4096;
    // SAFETY: a new private read+exec mapping of the first page of a file this process owns,
    // never read or written through: it only puts an mmap event in perf's trace. The mapping
    // is deliberately leaked (perf wants it for the process's life).
    let mapped = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            page,
            libc::PROT_READ | libc::PROT_EXEC,
            libc::MAP_PRIVATE,
            std::os::fd::AsRawFd::as_raw_fd(&file),
            0,
        )
    };
    if mapped == libc::MAP_FAILED {
        return Err(std::io::Error::last_os_error());
    }
    Ok(Dump { file, loads: 0 })
}

/// Appends the records of `code`, running at `address`, named `symbol`, whose `lines` (code
/// offset, wasm offset) are in the module `source`.
pub fn record(address: *const u8, code: &[u8], symbol: &str, lines: &[(u32, u32)], source: &str) {
    static DUMP: OnceLock<Option<Mutex<Dump>>> = OnceLock::new();
    let dump = DUMP.get_or_init(|| match open() {
        Ok(dump) => Some(Mutex::new(dump)),
        Err(e) => {
            eprintln!("tierup: cannot write the jitdump {}: {e}", path().display());
            None
        }
    });
    let Some(dump) = dump else { return };
    // A poisoned lock still holds a usable file; a failed write loses one function, never the run.
    let mut dump = dump.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    // SAFETY: `gettid` has no preconditions.
    let tid = unsafe { libc::gettid() } as u32;
    let index = dump.loads;
    let now = timestamp();
    if !lines.is_empty() {
        // Lost line information only makes the annotation coarser.
        let _ = dump.file.write_all(&debug_info(address as u64, lines, source, now));
    }
    let record = code_load(std::process::id(), tid, address as u64, code, index, symbol, now);
    if dump.file.write_all(&record).is_ok() {
        dump.loads += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u32_at(bytes: &[u8], at: usize) -> u32 {
        u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap())
    }

    fn u64_at(bytes: &[u8], at: usize) -> u64 {
        u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap())
    }

    #[test]
    fn the_header_and_a_code_load_read_back_as_the_specification_lays_them_out() {
        let header = header(77, 5);
        assert_eq!(header.len(), HEADER_SIZE as usize);
        assert_eq!(&header[..4], b"DTiJ", "the magic, little-endian");
        assert_eq!((u32_at(&header, 4), u32_at(&header, 8)), (VERSION, HEADER_SIZE));
        assert_eq!((u32_at(&header, 20), u64_at(&header, 24)), (77, 5));
        let code = [0xc3u8, 0x90];
        let record = code_load(77, 78, 0x1000, &code, 3, "wasm[m]::f [baseline]", 9);
        assert_eq!(u32_at(&record, 0), JIT_CODE_LOAD);
        assert_eq!(u32_at(&record, 4) as usize, record.len());
        assert_eq!(u64_at(&record, 8), 9);
        assert_eq!((u32_at(&record, 16), u32_at(&record, 20)), (77, 78));
        assert_eq!((u64_at(&record, 24), u64_at(&record, 32)), (0x1000, 0x1000));
        assert_eq!((u64_at(&record, 40), u64_at(&record, 48)), (2, 3));
        let name_end = 56 + record[56..].iter().position(|&b| b == 0).unwrap();
        assert_eq!(&record[56..name_end], b"wasm[m]::f [baseline]");
        assert_eq!(&record[name_end + 1..], &code);
    }

    #[test]
    fn line_information_has_one_entry_per_operator_at_its_address() {
        let record = debug_info(0x1000, &[(0, 30), (7, 34)], "m.wasm", 9);
        assert_eq!(u32_at(&record, 0), JIT_CODE_DEBUG_INFO);
        assert_eq!(u32_at(&record, 4) as usize, record.len());
        assert_eq!(record.len() % 8, 0, "padded");
        assert_eq!((u64_at(&record, 8), u64_at(&record, 16), u64_at(&record, 24)), (9, 0x1000, 2));
        let entry =
            |at: usize| (u64_at(&record, at), u32_at(&record, at + 8), u32_at(&record, at + 12));
        assert_eq!(entry(32), (0x1000, 30, 0));
        assert_eq!(&record[48..55], b"m.wasm\0");
        assert_eq!(entry(55), (0x1007, 34, 0));
        assert_eq!(&record[71..78], b"m.wasm\0");
        assert!(record[78..].iter().all(|&b| b == 0));
    }
}
