//! Executable memory: the one place where bytes become machine code and pointers become functions,
//! and [`CompiledFunc`], what any compiling tier hands the runtime.
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

use crate::isa::masm::{DirectCallSite, SigSite};
use crate::tier::Tier;
use crate::vm::signals;
use crate::vm::vmctx::FuncEntry;
use dynasmrt::mmap::{ExecutableBuffer, MutableBuffer};
use std::sync::Arc;

/// A block of machine code, immutable and executable for as long as it lives: a part of a
/// mapping that may hold other blocks (a batch of functions is placed in one). Cheap to clone.
#[derive(Clone)]
pub struct ExecutableCode {
    buffer: Arc<ExecutableBuffer>,
    /// Where the block starts in the mapping.
    start: usize,
    len: usize,
}

impl std::fmt::Debug for ExecutableCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ExecutableCode({} bytes)", self.len)
    }
}

/// Where each block of a batch starts: aligned as far as code asks to align inside a function
/// (`MacroAssembler::align_code`).
const BLOCK_ALIGN: usize = crate::isa::masm::CODE_ALIGN as usize;

impl ExecutableCode {
    /// Maps `bytes` as executable code.
    pub fn new(bytes: &[u8]) -> std::io::Result<ExecutableCode> {
        Ok(ExecutableCode::new_batch(&[bytes])?.pop().expect("one block"))
    }

    /// Maps every block of `blocks` as executable code, all in one mapping (one `mmap`, one
    /// protection change, one cache synchronization): one [`ExecutableCode`] per block.
    pub fn new_batch(blocks: &[&[u8]]) -> std::io::Result<Vec<ExecutableCode>> {
        ExecutableCode::new_edited_batch(blocks, |_, _| {})
    }

    /// [`ExecutableCode::new_batch`], with `edit` given the placed bytes (the whole mapping)
    /// and each block's start in them, while they are still writable and not yet executable:
    /// where code that refers to another block of the batch gets its final form.
    pub fn new_edited_batch(
        blocks: &[&[u8]],
        edit: impl FnOnce(&mut [u8], &[usize]),
    ) -> std::io::Result<Vec<ExecutableCode>> {
        let mut starts = Vec::with_capacity(blocks.len());
        let mut total = 0;
        for block in blocks {
            starts.push(total);
            total = (total + block.len()).next_multiple_of(BLOCK_ALIGN);
        }
        let mut buffer = MutableBuffer::new(total.max(1))?;
        buffer.set_len(total);
        for (block, &start) in blocks.iter().zip(&starts) {
            buffer[start..start + block.len()].copy_from_slice(block);
        }
        edit(&mut buffer[..], &starts);
        let buffer = buffer.make_exec()?;
        // Processors with split caches must not run stale instructions from these addresses.
        dynasmrt::cache_control::synchronize_icache(&buffer);
        let buffer = Arc::new(buffer);
        let code = blocks.iter().zip(starts).map(|(block, start)| ExecutableCode {
            buffer: buffer.clone(),
            start,
            len: block.len(),
        });
        Ok(code.collect())
    }

    /// The addresses the code occupies.
    pub fn range(&self) -> std::ops::Range<usize> {
        let start = self.buffer.as_ptr() as usize + self.start;
        start..start + self.len
    }

    /// The code's bytes (the mapping is readable as well as executable): this block's only, not
    /// the rest of its batch.
    pub fn bytes(&self) -> &[u8] {
        &self.buffer[self.start..self.start + self.len]
    }

    /// Address of byte `offset` of the code.
    pub fn address(&self, offset: usize) -> *const u8 {
        assert!(offset < self.len, "offset {offset} outside the code");
        self.buffer.as_ptr().wrapping_add(self.start + offset)
    }
}

impl ExecutableCode {
    /// The function starting at byte `offset`, for the calling thread to run.
    ///
    /// # Safety
    /// `offset` must be the start of a function the JIT compiled into this code with the
    /// [`FuncEntry`] calling convention.
    pub unsafe fn entry(&self, offset: usize) -> FuncEntry {
        let address = self.address(offset);
        // The caller runs the code on this thread: no stale prefetched instructions may remain.
        dynasmrt::cache_control::prepare_for_execution(&self.buffer);
        // SAFETY: the caller guarantees the bytes at `address` are a complete function with the
        // `FuncEntry` signature; the mapping is executable and lives as long as `self`.
        unsafe { std::mem::transmute::<*const u8, FuncEntry>(address) }
    }
}

/// What a compiling tier produces for one function, ready to install: its code (entered at offset
/// 0 with the [`FuncEntry`] convention), its on-stack-replacement entries, and its registration
/// with the fault handler. Cheap to clone.
#[derive(Clone, Debug)]
pub struct CompiledFunc {
    inner: Arc<CompiledCode>,
}

#[derive(Debug)]
struct CompiledCode {
    /// Declared first, so dropped first: the code leaves the fault handler's registry before it is
    /// unmapped.
    _registration: signals::Registration,
    code: ExecutableCode,
    tier: Tier,
    /// Where each loop header can be entered on a frame another tier was running (on-stack
    /// replacement), by the loop's ordinal in the body (`None` for loops without an entry).
    osr_entries: Box<[Option<u32>]>,
    register_entry: Option<u32>,
    compile_time: std::time::Duration,
    stats: Box<[(&'static str, u64)]>,
    wasm_offsets: Box<[(u32, u32)]>,
    /// What writing the code out needs besides its bytes (the fault handler's copy is private to
    /// it): see [`CompiledParts`].
    heap_accesses: Box<[u32]>,
    heap_access_wasm: Box<[u32]>,
    oob_landing: Option<u32>,
    sig_sites: Box<[SigSite]>,
    direct_calls: Box<[DirectCallSite]>,
    /// The direct calls linked when the code was placed ([`CompiledFunc::new_linked_batch`]),
    /// with the bytes each replaced: written code holds the unlinked form, which is valid
    /// wherever it is placed.
    linked: Box<[(u32, Box<[u8]>)]>,
    loaded: bool,
}

/// The parts of a [`CompiledFunc`], as a backend assembled them.
#[derive(Clone)]
pub struct CompiledParts {
    /// The machine code, position-independent.
    pub code: Vec<u8>,
    /// The tier that compiled it.
    pub tier: Tier,
    /// The function's index in its module's function index space (for the fault handler's
    /// messages).
    pub func_index: u32,
    /// Offsets of the instructions that access linear memory without a bounds check.
    pub heap_accesses: Vec<u32>,
    /// The module offset of each heap access's wasm operator, as `heap_accesses` orders them
    /// (the fault handler hands it to the landing pad for the backtrace).
    pub heap_access_wasm: Vec<u32>,
    /// Where such an access continues when it faults out of bounds.
    pub oob_landing: Option<u32>,
    /// On-stack-replacement entry offsets, by loop ordinal.
    pub osr_entries: Vec<Option<u32>>,
    /// The offset of the entry tier-2 callers call with arguments in registers (tier 2's own
    /// convention, `opt::abi`), when the code has one.
    pub register_entry: Option<u32>,
    /// What compiling cost: the compiling thread's CPU time ([`CompileClock`]).
    pub compile_time: std::time::Duration,
    /// The compiler's own numbers about this compile, named (e.g. tier 2's IR sizes before and
    /// after its pipeline), for `--stats`; the runtime only keeps them.
    pub stats: Vec<(&'static str, u64)>,
    /// Line information for profilers: `(code offset, module offset of the wasm operator whose
    /// code starts there)`, in code order. Recorded only when a profiler reads it
    /// ([`crate::ProfilingStrategy::JitDump`]); empty otherwise, so it costs nothing by default.
    pub wasm_offsets: Vec<(u32, u32)>,
    /// Where the code holds the process's interned signature ids ([`SigSite`]); `code` holds this
    /// process's ids there.
    pub sig_sites: Vec<SigSite>,
    /// The calls of defined functions that placing the code with its callee's may make direct
    /// ([`CompiledFunc::new_linked_batch`]); `code` holds them unlinked.
    pub direct_calls: Vec<DirectCallSite>,
    /// Whether the code was loaded (from an artifact or the code cache) rather than compiled by
    /// this process: `compile_time` is then zero, and `--stats` counts it apart.
    pub loaded: bool,
}

/// Times a compile by the compiling thread's CPU time, so a compile time says what compiling
/// costs on one core however busy the machine is: wall time would also count the time slices
/// of every other thread the core ran meanwhile.
pub struct CompileClock(std::time::Duration);

impl CompileClock {
    /// Starts timing on the calling thread.
    pub fn start() -> CompileClock {
        CompileClock(thread_cpu_time())
    }

    /// The calling thread's CPU time since [`CompileClock::start`] (on the same thread).
    pub fn elapsed(&self) -> std::time::Duration {
        thread_cpu_time().saturating_sub(self.0)
    }
}

/// Times a run of compiles on one thread with two reads of its CPU clock, however many compiles
/// the run has: the run's CPU time is shared among them by their wall times, which the monotonic
/// clock gives without a system call. Reading the thread's CPU clock is a system call, and two
/// per function cost 5% of tier 1's time on thousands of small functions (sqlite).
pub struct RunClock {
    cpu: CompileClock,
    started: std::time::Instant,
    last: std::time::Instant,
    laps: Vec<std::time::Duration>,
}

impl RunClock {
    /// Starts timing a run on the calling thread.
    pub fn start() -> RunClock {
        let now = std::time::Instant::now();
        RunClock { cpu: CompileClock::start(), started: now, last: now, laps: Vec::new() }
    }

    /// Ends the current compile's lap.
    pub fn lap(&mut self) {
        let now = std::time::Instant::now();
        self.laps.push(now - self.last);
        self.last = now;
    }

    /// Each lap's share of the run's CPU time, in lap order (they sum to the run's CPU time).
    pub fn shares(self) -> Vec<std::time::Duration> {
        let cpu = self.cpu.elapsed().as_nanos() as f64;
        let wall = (self.last - self.started).as_nanos().max(1) as f64;
        let share = |lap: std::time::Duration| {
            std::time::Duration::from_nanos((lap.as_nanos() as f64 * cpu / wall) as u64)
        };
        self.laps.into_iter().map(share).collect()
    }
}

/// The calling thread's CPU time so far (zero if the system cannot tell).
fn thread_cpu_time() -> std::time::Duration {
    let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `clock_gettime` writes the current value of the thread's CPU clock into `now`,
    // a valid, writable timespec; it reads nothing else.
    let status = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    if status != 0 {
        return std::time::Duration::ZERO;
    }
    std::time::Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}

impl CompiledFunc {
    /// Maps the code executable and registers it with the fault handler.
    pub fn new(parts: CompiledParts) -> std::io::Result<CompiledFunc> {
        let code = ExecutableCode::new(&parts.code)?;
        Ok(CompiledFunc::register(parts, code, Vec::new()))
    }

    /// [`CompiledFunc::new`] for many functions at once, all placed in one mapping.
    pub fn new_batch(parts: Vec<CompiledParts>) -> std::io::Result<Vec<CompiledFunc>> {
        let blocks: Vec<&[u8]> = parts.iter().map(|p| &p.code[..]).collect();
        let code = ExecutableCode::new_batch(&blocks)?;
        let linked = std::iter::repeat_with(Vec::new);
        let placed = parts.into_iter().zip(code).zip(linked);
        Ok(placed.map(|((p, c), l)| CompiledFunc::register(p, c, l)).collect())
    }

    /// [`CompiledFunc::new_batch`], with every direct call site linked to call its callee's
    /// register entry directly ([`crate::isa::masm::link_direct_call`]) where the callee's code
    /// is in the batch with one, or else `installed` gives the address of one (by function
    /// index) within the call's reach. Only for code whose callees' entries stay the ones their
    /// callers should take for its whole life, and whose callees' code outlives it (see
    /// [`DirectCallSite`]).
    pub fn new_linked_batch(
        parts: Vec<CompiledParts>,
        installed: impl Fn(u32) -> Option<usize>,
    ) -> std::io::Result<Vec<CompiledFunc>> {
        let blocks: Vec<&[u8]> = parts.iter().map(|p| &p.code[..]).collect();
        let mut linked = vec![Vec::new(); parts.len()];
        let code = ExecutableCode::new_edited_batch(&blocks, |bytes, starts| {
            linked = link_direct_calls(&parts, bytes, starts, installed);
        })?;
        let placed = parts.into_iter().zip(code).zip(linked);
        Ok(placed.map(|((p, c), l)| CompiledFunc::register(p, c, l)).collect())
    }

    /// Registers `code`, the mapped bytes of `parts` (with the direct calls `linked`), with the
    /// fault handler.
    fn register(
        parts: CompiledParts,
        code: ExecutableCode,
        linked: Vec<(u32, Box<[u8]>)>,
    ) -> CompiledFunc {
        let range = code.range();
        let registration = signals::register(
            range.start,
            range.len(),
            parts.func_index,
            parts.heap_accesses.clone(),
            parts.heap_access_wasm.clone(),
            parts.oob_landing,
        );
        let inner = CompiledCode {
            _registration: registration,
            code,
            tier: parts.tier,
            osr_entries: parts.osr_entries.into(),
            register_entry: parts.register_entry,
            compile_time: parts.compile_time,
            stats: parts.stats.into(),
            wasm_offsets: parts.wasm_offsets.into(),
            heap_accesses: parts.heap_accesses.into(),
            heap_access_wasm: parts.heap_access_wasm.into(),
            oob_landing: parts.oob_landing,
            sig_sites: parts.sig_sites.into(),
            direct_calls: parts.direct_calls.into(),
            linked: linked.into(),
            loaded: parts.loaded,
        };
        CompiledFunc { inner: Arc::new(inner) }
    }

    /// The tier that compiled it.
    pub fn tier(&self) -> Tier {
        self.inner.tier
    }

    /// The function's entry, as the function table holds it.
    pub fn entry(&self) -> FuncEntry {
        // SAFETY: offset 0 is the entry of the function a backend assembled with the `FuncEntry`
        // convention (`CompiledParts::code`).
        unsafe { self.inner.code.entry(0) }
    }

    /// The entry of its loop number `loop_ordinal` for on-stack replacement: like a
    /// [`FuncEntry`], on a frame whose values are in their canonical slots at that loop's header.
    pub fn osr_entry(&self, loop_ordinal: usize) -> Option<FuncEntry> {
        let offset = (*self.inner.osr_entries.get(loop_ordinal)?)?;
        // SAFETY: OSR entries are assembled with the `FuncEntry` convention.
        Some(unsafe { self.inner.code.entry(offset as usize) })
    }

    /// The address of the entry tier-2 callers call with their arguments in registers, if the
    /// code has one (`VmCtx::register_entries` holds it; only compiled code calls it).
    pub fn register_entry(&self) -> Option<usize> {
        let offset = self.inner.register_entry?;
        Some(self.inner.code.range().start + offset as usize)
    }

    /// Makes the code safe to run on every thread of the process, before its entry is published:
    /// on aarch64, every core's pipeline is synchronized with the new instructions (the compile
    /// thread already cleaned the caches for them); a no-op on x86-64, whose instruction fetch is
    /// coherent with stores.
    pub fn publish(&self) {
        #[cfg(all(target_arch = "aarch64", target_os = "linux"))]
        sync_every_core();
    }

    /// Where the machine code starts in memory (for profilers' symbol maps).
    pub fn address(&self) -> *const u8 {
        self.inner.code.address(0)
    }

    /// What compiling it cost: the compiling thread's CPU time ([`CompileClock`]).
    pub fn compile_time(&self) -> std::time::Duration {
        self.inner.compile_time
    }

    /// The machine code, as it runs (for profilers that copy it).
    pub fn bytes(&self) -> &[u8] {
        self.inner.code.bytes()
    }

    /// The compiler's numbers about this compile (see [`CompiledParts::stats`]).
    pub fn stats(&self) -> &[(&'static str, u64)] {
        &self.inner.stats
    }

    /// Where the code of each wasm operator starts (see [`CompiledParts::wasm_offsets`]).
    pub fn wasm_offsets(&self) -> &[(u32, u32)] {
        &self.inner.wasm_offsets
    }

    /// Machine-code bytes.
    pub fn code_size(&self) -> usize {
        self.inner.code.range().len()
    }

    /// Whether the code was loaded from an artifact or the code cache rather than compiled.
    pub fn loaded(&self) -> bool {
        self.inner.loaded
    }

    /// The parts it was made from, as a loader needs them to make it again in another process
    /// (see `crate::artifact`): the bytes as they run (with this process's signature ids at the
    /// signature sites) but with direct calls unlinked, its heap-access sites, landing pad, OSR
    /// entries, signature and direct call sites. The compiler's statistics and compile time
    /// stay behind.
    pub fn portable_parts(&self, func_index: u32) -> CompiledParts {
        let inner = &self.inner;
        let mut code = inner.code.bytes().to_vec();
        for (site, unlinked) in &inner.linked {
            let site = &inner.direct_calls[*site as usize];
            code[site.start as usize..site.end as usize].copy_from_slice(unlinked);
        }
        CompiledParts {
            code,
            tier: inner.tier,
            func_index,
            heap_accesses: inner.heap_accesses.to_vec(),
            heap_access_wasm: inner.heap_access_wasm.to_vec(),
            oob_landing: inner.oob_landing,
            osr_entries: inner.osr_entries.to_vec(),
            register_entry: inner.register_entry,
            compile_time: std::time::Duration::ZERO,
            stats: Vec::new(),
            wasm_offsets: inner.wasm_offsets.to_vec(),
            sig_sites: inner.sig_sites.to_vec(),
            direct_calls: inner.direct_calls.to_vec(),
            loaded: true,
        }
    }
}

/// Links every direct call site of `parts`, placed in `bytes` (the whole mapping, where it
/// runs) at `starts`, whose callee is in the batch with a register entry or `installed` in
/// reach: per part, each linked site's index with the bytes it had.
fn link_direct_calls(
    parts: &[CompiledParts],
    bytes: &mut [u8],
    starts: &[usize],
    installed: impl Fn(u32) -> Option<usize>,
) -> Vec<Vec<(u32, Box<[u8]>)>> {
    let mut linked = vec![Vec::new(); parts.len()];
    let Some(isa) = crate::isa::Isa::host() else { return linked };
    // Each callee's register entry, from `bytes`'s start; one function has one such code in a
    // batch.
    let mut entries = std::collections::HashMap::new();
    for (part, &start) in parts.iter().zip(starts) {
        if let Some(entry) = part.register_entry {
            entries.entry(part.func_index).or_insert((start + entry as usize) as isize);
        }
    }
    let base = bytes.as_ptr() as usize;
    let elsewhere = |callee| Some(installed(callee)?.wrapping_sub(base) as isize);
    for ((part, &start), linked) in parts.iter().zip(starts).zip(&mut linked) {
        for (n, site) in part.direct_calls.iter().enumerate() {
            let target = entries.get(&site.callee).copied().or_else(|| elsewhere(site.callee));
            let Some(target) = target else { continue };
            let placed = start + site.start as usize..start + site.end as usize;
            let Some(unlinked) = bytes.get(placed.clone()) else { continue };
            let unlinked: Box<[u8]> = unlinked.into();
            if crate::isa::masm::link_direct_call(isa, bytes, placed, target).is_some() {
                linked.push((n as u32, unlinked));
            }
        }
    }
    linked
}

/// Every thread of the process executes a context synchronization event (Linux `membarrier`
/// with `SYNC_CORE`, as wasmtime does), so no core runs instructions it fetched before the code was
/// written. Without kernel support (old kernels, qemu-user), threads rely on the `isb` that
/// [`ExecutableCode::entry`] runs on the thread that takes an entry.
#[cfg(all(target_arch = "aarch64", target_os = "linux"))]
fn sync_every_core() {
    use std::sync::OnceLock;
    const MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE: libc::c_long = 1 << 5;
    const MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE: libc::c_long = 1 << 6;
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    // SAFETY: `membarrier` takes plain integers and touches no memory of ours.
    let registered = *REGISTERED.get_or_init(|| unsafe {
        libc::syscall(libc::SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE, 0)
            == 0
    });
    if registered {
        // SAFETY: as above.
        unsafe {
            libc::syscall(libc::SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE, 0)
        };
    }
}
