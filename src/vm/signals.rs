//! Out-of-bounds memory accesses in JIT code as traps: a process-wide SIGSEGV/SIGBUS handler and
//! the registry of JIT code it consults.
//!
//! Compiled code does not compare wasm addresses against the memory's size
//! (guard-page bounds): an access computes
//! `base + zero-extended address + offset`, which always lies inside the memory's 8 GiB
//! reservation (`vm::memory`), and everything past the current size is `PROT_NONE`. An
//! out-of-bounds access therefore faults, and this module turns that fault into the wasm trap:
//!
//! 1. Every piece of JIT code registers its address range, the offsets of its heap-access
//!    instructions and the offset of its out-of-bounds landing pad ([`register`]); the
//!    [`Registration`] it gets back removes the entry when dropped, before the code is unmapped.
//! 2. On a fault, the handler looks the faulting pc up. A recorded heap access whose fault address
//!    lies in a linear memory's reservation (memories register theirs, [`register_memory`]): the
//!    pc becomes the landing pad, which sets `MemoryOutOfBounds` and leaves through the function's
//!    ordinary trap exit, so the backtrace is built as for any other trap and no Rust frame is
//!    unwound. Anything else inside JIT code: a tierup bug, reported on stderr before the process
//!    aborts. Outside JIT code: the fault is passed to the handler installed before ours (Rust's
//!    runtime installs one that reports stack overflows), or, if that was the default action, the
//!    default action is restored and the faulting instruction re-executes into it.
//!
//! Architecture invariant: JIT code touches linear memory only through instructions recorded as
//! heap accesses, and the handler redirects only faults of those inside a memory's reservation;
//! every other fault keeps its usual meaning.
//!
//! The handler is installed once per process, the first time a function is compiled with guard
//! pages ([`install`]). Where it cannot be (another OS, `sigaction` failing) or an embedder turns
//! it off (`Config::signals_based_traps`, for programs that own SIGSEGV themselves), code is
//! compiled with explicit bounds checks instead: both paths stay, as in wasmtime. An embedder that
//! replaces the handler after us without chaining to it breaks the guard-page path: out-of-bounds
//! accesses then crash the process instead of trapping.
//!
//! Async-signal safety, step by step (the handler runs on the faulting thread, at any point of
//! JIT or Rust code, possibly on the alternate signal stack):
//! - reading the pc and fault address: plain loads from the kernel's `ucontext_t`/`siginfo_t`;
//! - the thread-local "updating the registry" flag: a `const`-initialized thread-local without a
//!   destructor, so a plain thread-local load (no lazy initialization, no allocation);
//! - the registry's read lock: std's futex-based `RwLock` (atomics and the `futex` system call,
//!   no allocation). It cannot deadlock: a thread never runs JIT code while holding the lock
//!   (registration never calls out), a fault on a thread that is inside a registry update is
//!   recognized by the flag above and chained without taking the lock, and a writer on another
//!   thread only makes the handler wait for its short critical section;
//! - the lookups: `BTreeMap::range` and a binary search over a boxed slice: reads only;
//! - redirecting: one store into the `ucontext_t`, which the kernel restores on return;
//! - the fatal path: the message is formatted into a stack buffer and written with `write(2)`,
//!   then `abort(3)`; both are async-signal-safe;
//! - chaining: `sigaction(2)` (async-signal-safe), or a call of the previous handler, which was
//!   written to be called on this signal.
//!
//! `errno` is saved and restored around all of it.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::sync::{OnceLock, RwLock};

/// What the handler knows about one registered piece of code.
#[derive(Debug)]
struct CodeEntry {
    /// One past the last byte.
    end: usize,
    /// The function's index in its module's function index space (for the fatal message).
    func_index: u32,
    /// Offsets of the heap-access instructions, ascending.
    heap_accesses: Box<[u32]>,
    /// Offset of the out-of-bounds landing pad.
    oob_landing: Option<u32>,
}

/// What the handler consults.
#[derive(Debug)]
struct Registry {
    /// Registered code, by start address.
    code: BTreeMap<usize, CodeEntry>,
    /// Linear-memory reservations: start to end.
    memories: BTreeMap<usize, usize>,
}

static REGISTRY: RwLock<Registry> =
    RwLock::new(Registry { code: BTreeMap::new(), memories: BTreeMap::new() });

thread_local! {
    /// Whether this thread holds the registry's write lock (so a fault on it cannot come from JIT
    /// code, and the handler must not wait for the lock). `const` and without a destructor, so
    /// reading it in the handler is a plain thread-local load.
    static UPDATING_REGISTRY: Cell<bool> = const { Cell::new(false) };
}

/// Keeps a piece of code or a memory reservation registered with the fault handler; unregisters
/// it when dropped. Drop it before the range is unmapped (a fresh mapping could reuse the
/// address).
#[derive(Debug)]
pub(crate) struct Registration {
    start: usize,
    memory: bool,
}

/// Registers `len` bytes of code at `start` (function `func_index`): a fault at
/// `start + heap_accesses[i]` continues at `start + oob_landing`.
///
/// # Panics
/// If the range overlaps registered code, or a heap access has no landing pad.
pub(crate) fn register(
    start: usize,
    len: usize,
    func_index: u32,
    mut heap_accesses: Vec<u32>,
    oob_landing: Option<u32>,
) -> Registration {
    assert!(heap_accesses.is_empty() || oob_landing.is_some(), "heap accesses need a landing pad");
    heap_accesses.sort_unstable();
    let end = start + len.max(1);
    let entry = CodeEntry { end, func_index, heap_accesses: heap_accesses.into(), oob_landing };
    let inserted = with_registry(|registry| {
        let overlaps = registry.code.range(..end).next_back().is_some_and(|(_, e)| e.end > start);
        if !overlaps {
            registry.code.insert(start, entry);
        }
        !overlaps
    });
    assert!(inserted, "JIT code at {start:#x} overlaps registered code");
    Registration { start, memory: false }
}

/// Registers a linear memory's reservation of `len` bytes at `start`: a recorded heap access
/// becomes a trap only when its fault address lies inside one (anything else is a wild address
/// computed by JIT code, a tierup bug).
///
/// # Panics
/// If the range overlaps a registered reservation.
pub(crate) fn register_memory(start: usize, len: usize) -> Registration {
    let end = start + len;
    let inserted = with_registry(|registry| {
        let overlaps = registry.memories.range(..end).next_back().is_some_and(|(_, e)| *e > start);
        if !overlaps {
            registry.memories.insert(start, end);
        }
        !overlaps
    });
    assert!(inserted, "memory at {start:#x} overlaps a registered memory");
    Registration { start, memory: true }
}

impl Drop for Registration {
    fn drop(&mut self) {
        with_registry(|registry| {
            if self.memory {
                registry.memories.remove(&self.start);
            } else {
                registry.code.remove(&self.start);
            }
        });
    }
}

/// Runs `update` under the registry's write lock, flagged for the handler.
fn with_registry<R>(update: impl FnOnce(&mut Registry) -> R) -> R {
    // A panic under the lock cannot leave the map inconsistent (an insert or remove either
    // happened or did not), so poisoning is ignored.
    let mut registry = REGISTRY.write().unwrap_or_else(|e| e.into_inner());
    UPDATING_REGISTRY.with(|flag| flag.set(true));
    let result = update(&mut registry);
    UPDATING_REGISTRY.with(|flag| flag.set(false));
    result
}

/// What a faulting pc is.
#[derive(Debug, PartialEq, Eq)]
enum Fault {
    /// A recorded heap access: continue at this address.
    HeapAccess {
        landing: usize,
    },
    /// Inside JIT code, but not a heap access.
    OtherJit {
        func_index: u32,
    },
    NotJit,
}

/// What a fault at `pc` on `address` is.
fn classify(pc: usize, address: usize) -> Fault {
    if UPDATING_REGISTRY.with(Cell::get) {
        return Fault::NotJit;
    }
    let registry = REGISTRY.read().unwrap_or_else(|e| e.into_inner());
    let Some((&start, entry)) = registry.code.range(..=pc).next_back() else {
        return Fault::NotJit;
    };
    if pc >= entry.end {
        return Fault::NotJit;
    }
    let offset = (pc - start) as u32;
    let in_memory =
        || registry.memories.range(..=address).next_back().is_some_and(|(_, e)| *e > address);
    match (entry.heap_accesses.binary_search(&offset), entry.oob_landing) {
        (Ok(_), Some(landing)) if in_memory() => {
            Fault::HeapAccess { landing: start + landing as usize }
        }
        _ => Fault::OtherJit { func_index: entry.func_index },
    }
}

/// Whether JIT code may rely on the handler: installs it on first use (once per process) and
/// reports whether that worked.
pub(crate) fn install() -> bool {
    static INSTALLED: OnceLock<bool> = OnceLock::new();
    *INSTALLED.get_or_init(|| {
        // SAFETY: called once (under the `OnceLock`); `install_handlers` only calls `sigaction`.
        cfg!(any(
            all(target_os = "linux", target_arch = "x86_64"),
            all(target_os = "linux", target_arch = "aarch64")
        )) && unsafe { install_handlers() }
    })
}

/// The signals an out-of-bounds access can raise (Linux raises SIGSEGV for `PROT_NONE` pages;
/// SIGBUS is handled too, as other Unix systems raise it for the same fault).
const SIGNALS: [libc::c_int; 2] = [libc::SIGSEGV, libc::SIGBUS];

/// The actions installed before ours, as `SIGNALS` orders them.
static PREVIOUS: [OnceLock<libc::sigaction>; 2] = [OnceLock::new(), OnceLock::new()];

/// # Safety
/// Must run at most once per process.
unsafe fn install_handlers() -> bool {
    for (signal, previous) in SIGNALS.iter().zip(&PREVIOUS) {
        // SAFETY: `sigaction` is plain integers, a signal set and a nullable function pointer,
        // for all of which zero is a valid value.
        let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
        // SAFETY: with a null new action, `sigaction` only writes the current one into `old`.
        if unsafe { libc::sigaction(*signal, std::ptr::null(), &mut old) } != 0 {
            return false;
        }
        // Saved before ours is installed, so the handler always finds it.
        let _ = previous.set(old);
        // SAFETY: a zeroed `sigaction` is a valid start; the handler has the three-argument
        // signature `SA_SIGINFO` requires, and `sa_mask` is initialized with `sigemptyset`.
        // `SA_ONSTACK`: a fault on a thread whose stack is exhausted still runs the handler (on
        // the alternate stack Rust's runtime sets up for its own overflow handler). No
        // `SA_NODEFER`: the handler always returns (never jumps out), so the kernel restores the
        // mask on return anyway, and a fault inside the handler kills the process instead of
        // recursing.
        let ok = unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = handle_fault as *const () as usize;
            action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(*signal, &action, std::ptr::null_mut()) == 0
        };
        if !ok {
            return false;
        }
    }
    true
}

/// The SIGSEGV/SIGBUS handler (see the module doc).
///
/// # Safety
/// Only the kernel calls it, with the arguments of an `SA_SIGINFO` handler.
unsafe extern "C" fn handle_fault(
    signal: libc::c_int,
    info: *mut libc::siginfo_t,
    context: *mut libc::c_void,
) {
    // SAFETY: `__errno_location` is the calling thread's errno, valid for the thread's life.
    let errno = unsafe { *libc::__errno_location() };
    // SAFETY: the kernel passes the interrupted thread's `ucontext_t`.
    let pc = unsafe { context_pc(context) };
    // SAFETY: `info` is the kernel's siginfo for a fault, which carries the address.
    let address = unsafe { (*info).si_addr() } as usize;
    match classify(pc, address) {
        Fault::HeapAccess { landing } => {
            // SAFETY: as for `context_pc`; the landing pad is code of the same function, entered
            // with the registers of one of its heap accesses, which is what it expects.
            unsafe { set_context_pc(context, landing) };
        }
        Fault::OtherJit { func_index } => fatal(signal, pc, func_index, address),
        // SAFETY: the arguments are the kernel's, passed on unchanged.
        Fault::NotJit => unsafe { chain(signal, info, context) },
    }
    // SAFETY: as above.
    unsafe { *libc::__errno_location() = errno };
}

/// Passes a fault that is not ours to the action installed before ours.
///
/// # Safety
/// The arguments must be the kernel's, as `handle_fault` received them.
unsafe fn chain(signal: libc::c_int, info: *mut libc::siginfo_t, context: *mut libc::c_void) {
    let slot = SIGNALS.iter().position(|s| *s == signal).expect("a signal we handle");
    let Some(previous) = PREVIOUS[slot].get() else { return };
    match previous.sa_sigaction {
        libc::SIG_DFL | libc::SIG_IGN => {
            // Restore it and return: the instruction faults again and the default action (a
            // core dump; the kernel does not let a synchronous fault be ignored) happens as if
            // we had never been installed.
            // SAFETY: `previous` is a valid action returned by `sigaction`.
            unsafe { libc::sigaction(signal, previous, std::ptr::null_mut()) };
        }
        handler if previous.sa_flags & libc::SA_SIGINFO != 0 => {
            // SAFETY: with `SA_SIGINFO` the handler has the three-argument signature; it gets
            // the kernel's arguments. (Its own `sa_mask` is not applied: SIGSEGV/SIGBUS stay
            // blocked while it runs, as they are in ours.)
            unsafe {
                let handler = std::mem::transmute::<
                    usize,
                    extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void),
                >(handler);
                handler(signal, info, context);
            }
        }
        handler => {
            // SAFETY: without `SA_SIGINFO` the handler takes the signal number only.
            unsafe {
                let handler = std::mem::transmute::<usize, extern "C" fn(libc::c_int)>(handler);
                handler(signal);
            }
        }
    }
}

/// Reports a fault inside JIT code that is not a heap access, then aborts.
fn fatal(signal: libc::c_int, pc: usize, func_index: u32, address: usize) -> ! {
    let mut message = Message::default();
    message.push(b"tierup: fatal: unexpected ");
    message.push(if signal == libc::SIGBUS { b"SIGBUS" } else { b"SIGSEGV" });
    message.push(b" in JIT code at pc ");
    message.push_hex(pc as u64);
    message.push(b", function ");
    message.push_decimal(func_index as u64);
    message.push(b", fault address ");
    message.push_hex(address as u64);
    message.push(b": this is a tierup bug\n");
    message.write_to_stderr();
    // SAFETY: `abort` is async-signal-safe and does not return.
    unsafe { libc::abort() }
}

/// A message built in a fixed buffer, so the handler never allocates.
struct Message {
    bytes: [u8; 256],
    len: usize,
}

impl Default for Message {
    fn default() -> Self {
        Message { bytes: [0; 256], len: 0 }
    }
}

impl Message {
    fn push(&mut self, text: &[u8]) {
        let n = text.len().min(self.bytes.len() - self.len);
        self.bytes[self.len..self.len + n].copy_from_slice(&text[..n]);
        self.len += n;
    }

    fn push_hex(&mut self, value: u64) {
        let mut digits = [0u8; 18];
        digits[..2].copy_from_slice(b"0x");
        let significant = (16 - value.leading_zeros() as usize / 4).max(1);
        for i in 0..significant {
            let nibble = (value >> (4 * (significant - 1 - i))) & 0xf;
            digits[2 + i] = b"0123456789abcdef"[nibble as usize];
        }
        self.push(&digits[..2 + significant]);
    }

    fn push_decimal(&mut self, mut value: u64) {
        let mut digits = [0u8; 20];
        let mut start = digits.len();
        loop {
            start -= 1;
            digits[start] = b'0' + (value % 10) as u8;
            value /= 10;
            if value == 0 {
                break;
            }
        }
        self.push(&digits[start..]);
    }

    fn write_to_stderr(&self) {
        let mut written = 0;
        while written < self.len {
            let rest = &self.bytes[written..self.len];
            // SAFETY: `write` is async-signal-safe; `rest` is valid for `rest.len()` bytes.
            let n = unsafe { libc::write(libc::STDERR_FILENO, rest.as_ptr().cast(), rest.len()) };
            if n <= 0 {
                return;
            }
            written += n as usize;
        }
    }
}

/// The interrupted program counter.
///
/// # Safety
/// `context` must be the `ucontext_t` the kernel passed to an `SA_SIGINFO` handler.
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
unsafe fn context_pc(context: *mut libc::c_void) -> usize {
    // SAFETY: guaranteed by the caller.
    unsafe {
        (*context.cast::<libc::ucontext_t>()).uc_mcontext.gregs[libc::REG_RIP as usize] as usize
    }
}

/// Makes the interrupted thread continue at `pc` when the handler returns.
///
/// # Safety
/// As for [`context_pc`]; `pc` must be code the thread can continue at with its registers.
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
unsafe fn set_context_pc(context: *mut libc::c_void, pc: usize) {
    // SAFETY: guaranteed by the caller.
    unsafe {
        (*context.cast::<libc::ucontext_t>()).uc_mcontext.gregs[libc::REG_RIP as usize] = pc as i64
    }
}

/// As for x86-64: the `pc` field of the machine context.
///
/// # Safety
/// As for the x86-64 version.
#[cfg(all(target_os = "linux", target_arch = "aarch64"))]
unsafe fn context_pc(context: *mut libc::c_void) -> usize {
    // SAFETY: guaranteed by the caller.
    unsafe { (*context.cast::<libc::ucontext_t>()).uc_mcontext.pc as usize }
}

/// As for x86-64. An aarch64 backend must also note that a store straddling into a guard page may
/// write its in-bounds bytes before faulting (x86-64 writes none), which wasm forbids.
///
/// # Safety
/// As for the x86-64 version.
#[cfg(all(target_os = "linux", target_arch = "aarch64"))]
unsafe fn set_context_pc(context: *mut libc::c_void, pc: usize) {
    // SAFETY: guaranteed by the caller.
    unsafe { (*context.cast::<libc::ucontext_t>()).uc_mcontext.pc = pc as u64 }
}

/// Elsewhere the handler is never installed (see [`install`]); these are never called.
///
/// # Safety
/// Never called.
#[cfg(not(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64"))))]
unsafe fn context_pc(_context: *mut libc::c_void) -> usize {
    0
}

/// # Safety
/// Never called.
#[cfg(not(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64"))))]
unsafe fn set_context_pc(_context: *mut libc::c_void, _pc: usize) {}

/// Runs a test's dangerous part in a child process: the test binary re-runs itself on just
/// `test` (its path without the crate name) with an environment variable set, under which `child`
/// runs instead. Returns the child's output in the parent; never returns in the child.
#[cfg(test)]
pub(crate) fn in_child_process(test: &str, child: impl FnOnce()) -> std::process::Output {
    const VAR: &str = "TIERUP_SIGNALS_CHILD_TEST";
    if std::env::var(VAR).as_deref() == Ok(test) {
        // No core files from the crashes this provokes.
        let none = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        // SAFETY: `setrlimit` reads the struct it is given.
        unsafe { libc::setrlimit(libc::RLIMIT_CORE, &none) };
        child();
        std::process::exit(0);
    }
    // Under an emulator (`scripts/test-aarch64`), the child runs through the same runner the
    // integration tests use (`TIERUP_TEST_RUNNER`), so its signals are the guest's.
    let runner = std::env::var("TIERUP_TEST_RUNNER").unwrap_or_default();
    let mut words = runner.split_whitespace();
    let exe = std::env::current_exe().expect("the test binary");
    let mut command = match words.next() {
        Some(program) => {
            let mut command = std::process::Command::new(program);
            command.args(words).arg(exe);
            command
        }
        None => std::process::Command::new(exe),
    };
    command
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(VAR, test)
        .output()
        .expect("the test binary runs")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;

    fn stderr(output: &std::process::Output) -> String {
        String::from_utf8_lossy(&output.stderr).into_owned()
    }

    #[test]
    fn a_stack_overflow_outside_jit_code_still_reaches_rusts_handler() {
        let output = in_child_process(
            "vm::signals::tests::a_stack_overflow_outside_jit_code_still_reaches_rusts_handler",
            || {
                assert!(install());
                fn recurse(depth: u64) -> u64 {
                    let frame = std::hint::black_box([depth; 64]);
                    if std::hint::black_box(depth) == u64::MAX {
                        0
                    } else {
                        recurse(depth + 1) + frame[7]
                    }
                }
                recurse(0);
            },
        );
        let stderr = stderr(&output);
        assert!(stderr.contains("has overflowed its stack"), "{stderr}");
        assert_eq!(output.status.signal(), Some(libc::SIGABRT), "{stderr}");
    }

    #[test]
    fn a_fault_outside_jit_code_gets_the_default_action() {
        let output = in_child_process(
            "vm::signals::tests::a_fault_outside_jit_code_gets_the_default_action",
            || {
                assert!(install());
                // SAFETY: a fresh private PROT_NONE page; reading it faults, which is the point.
                unsafe {
                    let page = libc::mmap(
                        std::ptr::null_mut(),
                        4096,
                        libc::PROT_NONE,
                        libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                        -1,
                        0,
                    );
                    assert_ne!(page, libc::MAP_FAILED);
                    std::ptr::read_volatile(page.cast::<u8>());
                }
            },
        );
        let stderr = stderr(&output);
        assert_eq!(output.status.signal(), Some(libc::SIGSEGV), "{stderr}");
        assert!(!stderr.contains("tierup"), "{stderr}");
    }

    #[test]
    fn the_registry_classifies_faults() {
        let code = register(0x1000, 0x100, 7, vec![0x40, 0x10], Some(0x80));
        let _other = register(0x1100, 0x10, 8, Vec::new(), None);
        let memory = register_memory(0x10_0000, 0x1_0000);
        let heap = 0x10_fff0;
        assert_eq!(classify(0x1010, heap), Fault::HeapAccess { landing: 0x1080 });
        assert_eq!(classify(0x1040, 0x10_0000), Fault::HeapAccess { landing: 0x1080 });
        assert_eq!(classify(0x1011, heap), Fault::OtherJit { func_index: 7 });
        assert_eq!(classify(0x1000, heap), Fault::OtherJit { func_index: 7 });
        assert_eq!(classify(0x1105, heap), Fault::OtherJit { func_index: 8 });
        // A heap access whose address is outside every memory is a wild address: a bug.
        assert_eq!(classify(0x1010, 0x11_0000), Fault::OtherJit { func_index: 7 });
        assert_eq!(classify(0x1010, 0x0f_ffff), Fault::OtherJit { func_index: 7 });
        assert_eq!(classify(0x0fff, heap), Fault::NotJit);
        assert_eq!(classify(0x1110, heap), Fault::NotJit);
        drop(memory);
        assert_eq!(classify(0x1010, heap), Fault::OtherJit { func_index: 7 });
        drop(code);
        assert_eq!(classify(0x1010, heap), Fault::NotJit);
    }

    #[test]
    #[should_panic(expected = "overlaps")]
    fn overlapping_registrations_are_refused() {
        let _a = register(0x2000, 0x100, 1, Vec::new(), None);
        let _b = register(0x2080, 0x100, 2, Vec::new(), None);
    }

    #[test]
    fn messages_format_without_allocating() {
        let mut m = Message::default();
        m.push(b"pc ");
        m.push_hex(0x7f00_dead_beef);
        m.push(b" f ");
        m.push_decimal(0);
        m.push(b" ");
        m.push_decimal(4_294_967_295);
        m.push(b" ");
        m.push_hex(0);
        assert_eq!(&m.bytes[..m.len], b"pc 0x7f00deadbeef f 0 4294967295 0x0");
    }
}
