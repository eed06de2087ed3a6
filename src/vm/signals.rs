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
//! # The registry
//!
//! The handler must never wait for a lock: it can interrupt any code, including a registration
//! on its own thread. So the registry is an immutable [`Snapshot`] behind one atomic pointer,
//! `CURRENT`, and the handler only ever reads through that pointer. Writers (registering and
//! unregistering, from compile threads and instantiation on any thread) serialize on an ordinary
//! `Mutex`, `WRITER`, which the handler never touches; each builds the next snapshot from the
//! current one, publishes it with one atomic store, and frees the replaced one only once no
//! handler can still be reading it. Snapshots keep their tables in persistent B+-trees whose
//! nodes successive snapshots share through `Arc` ([`RangeTable`]), so a change copies one path of
//! nodes, not every entry.
//!
//! Freeing, and why it is sound: a handler increments the reader count `READERS` before it loads
//! `CURRENT` and decrements it after its last read of the snapshot ([`ReadGuard`]). A writer, after
//! storing the new pointer, waits until it reads `READERS` as zero, then frees the old snapshot.
//! Every access to `CURRENT` and `READERS` is `SeqCst`, so all of them fall into one total order S
//! that agrees with each thread's program order, and a `SeqCst` load returns the last store to its
//! location before it in S (all stores to both are `SeqCst`). Take a handler that loaded the old
//! pointer: its load came before the writer's store in S, and its increment before its load, so
//! the increment also precedes the writer's loads of `READERS`, which follow that store. The count
//! a writer's load returns is the number of increments before it in S minus the number of
//! decrements before it; each decrement follows its own increment, so reading zero means that the
//! handler's decrement came before the load too. Every write to `READERS` is a read-modify-write,
//! so the value read lies in the release sequence of that decrement: the load synchronizes with
//! it, and the handler's reads of the old snapshot happen before the free. Handlers that loaded
//! the new pointer are counted as well, which only delays the writer. The nodes and heap-access
//! arrays a snapshot shares with its successors are freed with the last snapshot holding them, so
//! they too outlive every handler that can reach them; nothing is leaked.
//!
//! The writer's wait ends: a handler never waits for anything and runs a bounded number of steps
//! between its increment and its decrement, and it releases the count before it acts on what it
//! found (so a previous handler that never returns cannot hold it). A writer cannot be waiting for
//! a handler that interrupted its own thread (that handler finishes before the writer resumes), nor
//! run inside one (the handler never registers anything); and a writer never runs JIT code. Only
//! a stream of faults dense enough to never leave `READERS` at zero could delay it.
//!
//! Async-signal safety, step by step (the handler runs on the faulting thread, at any point of
//! JIT or Rust code, possibly on the alternate signal stack):
//! - reading the pc and fault address: plain loads from the kernel's `ucontext_t`/`siginfo_t`;
//! - entering and leaving the registry: an atomic increment, an atomic pointer load and an atomic
//!   decrement, lock-free on x86-64 and aarch64 (native instructions, or on aarch64 the
//!   compiler's outline-atomics helpers, which pick LSE or exclusive-access instructions): no
//!   lock, no system call, no allocation, no thread-local;
//! - the lookups: a descent of the snapshot's trees, a binary search per node: reads only, and no
//!   indexing that could panic;
//! - redirecting: one store into the `ucontext_t`, which the kernel restores on return;
//! - the fatal path: the message is formatted into a stack buffer and written with `write(2)`,
//!   then `abort(3)`; both are async-signal-safe;
//! - chaining: `sigaction(2)` (async-signal-safe), or a call of the previous handler, which was
//!   written to be called on this signal.
//!
//! `errno` is saved and restored around all of it.

use std::ptr;
use std::sync::atomic::Ordering::SeqCst;
use std::sync::atomic::{AtomicPtr, AtomicUsize};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

/// An address range the handler looks up: a piece of code or a memory reservation.
trait AddressRange: Clone {
    /// The first byte.
    fn start(&self) -> usize;
    /// One past the last byte (greater than the start).
    fn end(&self) -> usize;
}

/// What the handler knows about one registered piece of code.
#[derive(Clone, Debug)]
struct CodeEntry {
    start: usize,
    end: usize,
    /// The function's index in its module's function index space (for the fatal message).
    func_index: u32,
    /// Offsets of the heap-access instructions, ascending; shared by every snapshot holding the
    /// entry.
    heap_accesses: Arc<[u32]>,
    /// The module offset of each heap access's wasm operator, as `heap_accesses` orders them.
    heap_access_wasm: Arc<[u32]>,
    /// Offset of the out-of-bounds landing pad.
    oob_landing: Option<u32>,
}

impl AddressRange for CodeEntry {
    fn start(&self) -> usize {
        self.start
    }
    fn end(&self) -> usize {
        self.end
    }
}

/// A linear memory's reservation.
#[derive(Clone, Copy, Debug)]
struct MemoryEntry {
    start: usize,
    end: usize,
}

impl AddressRange for MemoryEntry {
    fn start(&self) -> usize {
        self.start
    }
    fn end(&self) -> usize {
        self.end
    }
}

/// Most items (entries or children) in one node of a [`RangeTable`].
const NODE: usize = 32;

/// Disjoint address ranges sorted by start: a persistent B+-tree. Immutable: a change copies the
/// nodes on one root-to-leaf path (and up to two of their siblings, when it merges them) and
/// shares every other node with the table it came from (`Arc`), so it costs O(`NODE` × height)
/// however many entries there are. Every node holds at most `NODE` items, all leaves are at the
/// same depth, and two neighbouring children of one node hold more than `NODE / 2` items together;
/// the height grows only when the root splits, so it stays logarithmic in the entries.
#[derive(Clone, Debug)]
struct RangeTable<T> {
    /// `None` when empty; otherwise no node is empty.
    root: Option<Node<T>>,
}

impl<T> Default for RangeTable<T> {
    fn default() -> Self {
        RangeTable { root: None }
    }
}

#[derive(Clone, Debug)]
enum Node<T> {
    /// Entries, by start.
    Leaf(Arc<[T]>),
    /// Subtrees of one height, by start, each with the start of its first entry.
    Inner(Arc<[(usize, Node<T>)]>),
}

impl<T: AddressRange> RangeTable<T> {
    /// The entry containing `address`. Called by the handler: reads only, and cannot panic.
    fn find(&self, address: usize) -> Option<&T> {
        self.last_starting_at_or_before(address).filter(|entry| address < entry.end())
    }

    /// The entry with the greatest start not above `address`. Called by the handler.
    fn last_starting_at_or_before(&self, address: usize) -> Option<&T> {
        let mut node = self.root.as_ref()?;
        loop {
            match node {
                Node::Leaf(entries) => {
                    let index = entries.partition_point(|e| e.start() <= address).checked_sub(1)?;
                    return entries.get(index);
                }
                Node::Inner(children) => {
                    let index = children.partition_point(|(s, _)| *s <= address).checked_sub(1)?;
                    node = &children.get(index)?.1;
                }
            }
        }
    }

    /// This table plus `entry`, or `None` if `entry` overlaps one of its entries.
    fn with_entry(&self, entry: T) -> Option<Self> {
        let last_byte = entry.end() - 1;
        if self.last_starting_at_or_before(last_byte).is_some_and(|e| e.end() > entry.start()) {
            return None;
        }
        let root = match &self.root {
            None => Node::Leaf(Arc::from([entry])),
            Some(root) => match root.inserted(entry) {
                (root, None) => root,
                (lower, Some(upper)) => Node::Inner(Arc::from([lower.keyed(), upper.keyed()])),
            },
        };
        Some(RangeTable { root: Some(root) })
    }

    /// This table without the entry that starts at `start`.
    fn without_entry(&self, start: usize) -> Self {
        let mut root = self.root.as_ref().and_then(|root| root.removed(start));
        // A root with one child gives way to it, so the tree is no taller than it needs to be.
        while let Some(Node::Inner(children)) = &root
            && let [(_, only)] = &children[..]
        {
            root = Some(only.clone());
        }
        RangeTable { root }
    }
}

impl<T: AddressRange> Node<T> {
    /// The node with the start of its first entry, as its parent lists it.
    fn keyed(self) -> (usize, Node<T>) {
        let start = match &self {
            Node::Leaf(entries) => entries.first().map_or(0, |entry| entry.start()),
            Node::Inner(children) => children.first().map_or(0, |(start, _)| *start),
        };
        (start, self)
    }

    /// Entries or children.
    fn len(&self) -> usize {
        match self {
            Node::Leaf(entries) => entries.len(),
            Node::Inner(children) => children.len(),
        }
    }

    /// This subtree plus `entry` (which overlaps none of its entries): one node, or two of the
    /// same height if it had to split.
    fn inserted(&self, entry: T) -> (Node<T>, Option<Node<T>>) {
        match self {
            Node::Leaf(entries) => {
                let mut entries = entries.to_vec();
                entries.insert(entries.partition_point(|e| e.start() < entry.start()), entry);
                let (lower, upper) = split_if_full(entries);
                (Node::Leaf(lower.into()), upper.map(|upper| Node::Leaf(upper.into())))
            }
            Node::Inner(children) => {
                // The last child starting before the entry, or the first.
                let at = children.partition_point(|(s, _)| *s < entry.start()).saturating_sub(1);
                let (child, split) = children[at].1.inserted(entry);
                let mut children = children.to_vec();
                children.splice(at..at + 1, [child].into_iter().chain(split).map(Node::keyed));
                let (lower, upper) = split_if_full(children);
                (Node::Inner(lower.into()), upper.map(|upper| Node::Inner(upper.into())))
            }
        }
    }

    /// This subtree without the entry starting at `start`, or `None` if nothing is left.
    fn removed(&self, start: usize) -> Option<Node<T>> {
        match self {
            Node::Leaf(entries) => {
                let left: Vec<T> = entries.iter().filter(|e| e.start() != start).cloned().collect();
                (!left.is_empty()).then(|| Node::Leaf(left.into()))
            }
            Node::Inner(children) => {
                let Some(at) = children.partition_point(|(s, _)| *s <= start).checked_sub(1) else {
                    return Some(self.clone());
                };
                let mut children = children.to_vec();
                match children[at].1.removed(start) {
                    // It held a single entry, so its left neighbour held at least `NODE / 2`
                    // items: the children that become neighbours still hold more together.
                    None => drop(children.remove(at)),
                    Some(child) => {
                        children[at] = child.keyed();
                        merge_if_sparse(&mut children, at);
                    }
                }
                (!children.is_empty()).then(|| Node::Inner(children.into()))
            }
        }
    }

    /// This node and `next` (its right sibling) as one, if together they hold at most `NODE / 2`
    /// items.
    fn merged_if_sparse(&self, next: &Node<T>) -> Option<Node<T>> {
        if self.len() + next.len() > NODE / 2 {
            return None;
        }
        match (self, next) {
            (Node::Leaf(a), Node::Leaf(b)) => {
                Some(Node::Leaf(a.iter().chain(&b[..]).cloned().collect()))
            }
            (Node::Inner(a), Node::Inner(b)) => {
                let mut children: Vec<_> = a.iter().chain(&b[..]).cloned().collect();
                // The two children that meet at the seam were no neighbours before.
                merge_if_sparse(&mut children, a.len());
                Some(Node::Inner(children.into()))
            }
            // Siblings are of one height.
            _ => None,
        }
    }
}

/// Merges `children[at]` with its left and then its right neighbour where the two hold at most
/// `NODE / 2` items together (after `children[at]` lost items, or became the neighbour of another).
fn merge_if_sparse<T: AddressRange>(children: &mut Vec<(usize, Node<T>)>, mut at: usize) {
    if let Some(left) = at.checked_sub(1)
        && let Some(merged) = children[left].1.merged_if_sparse(&children[at].1)
    {
        children.splice(left..=at, [merged.keyed()]);
        at = left;
    }
    if let Some((_, right)) = children.get(at + 1)
        && let Some(merged) = children[at].1.merged_if_sparse(right)
    {
        children.splice(at..=at + 1, [merged.keyed()]);
    }
}

/// `items`, or its two halves if it is longer than a node may be.
fn split_if_full<X>(mut items: Vec<X>) -> (Vec<X>, Option<Vec<X>>) {
    let upper = (items.len() > NODE).then(|| items.split_off(items.len() / 2));
    (items, upper)
}

/// Everything the handler consults, as one immutable value.
#[derive(Clone, Debug, Default)]
struct Snapshot {
    code: RangeTable<CodeEntry>,
    memories: RangeTable<MemoryEntry>,
}

impl Snapshot {
    /// What a fault at `pc` on `address` is. Called by the handler: reads only.
    fn classify(&self, pc: usize, address: usize) -> Fault {
        let Some(code) = self.code.find(pc) else { return Fault::NotJit };
        let offset = (pc - code.start) as u32;
        let in_memory = || self.memories.find(address).is_some();
        match (code.heap_accesses.binary_search(&offset), code.oob_landing) {
            (Ok(i), Some(landing)) if in_memory() => Fault::HeapAccess {
                landing: code.start + landing as usize,
                wasm_offset: code.heap_access_wasm.get(i).copied().unwrap_or(u32::MAX),
            },
            _ => Fault::OtherJit { func_index: code.func_index },
        }
    }
}

/// Serializes the writers of `CURRENT`. The handler never takes it.
static WRITER: Mutex<()> = Mutex::new(());

/// The published snapshot, from `Box::into_raw` (null until the first registration). Stored only
/// under `WRITER`.
static CURRENT: AtomicPtr<Snapshot> = AtomicPtr::new(ptr::null_mut());

/// How many handlers may be reading a snapshot they loaded from `CURRENT` (see the module doc).
static READERS: AtomicUsize = AtomicUsize::new(0);

/// Replaces the published snapshot with `change(current)` unless that is `None`, and reports
/// whether it did. Returns once no handler can still read the replaced snapshot, which it frees.
fn publish(change: impl FnOnce(&Snapshot) -> Option<Snapshot>) -> bool {
    // A panic in `change` leaves `CURRENT` as it was, so poisoning is ignored.
    let _writer = WRITER.lock().unwrap_or_else(PoisonError::into_inner);
    let current = CURRENT.load(SeqCst);
    // SAFETY: a non-null `CURRENT` is a live snapshot from `Box::into_raw`; only a writer frees
    // one, after replacing it, and we are the only writer until `_writer` is dropped.
    let next = match unsafe { current.as_ref() } {
        Some(current) => change(current),
        None => change(&Snapshot::default()),
    };
    let Some(next) = next else { return false };
    CURRENT.store(Box::into_raw(Box::new(next)), SeqCst);
    while READERS.load(SeqCst) != 0 {
        std::thread::yield_now();
    }
    if !current.is_null() {
        // SAFETY: `current` came from `Box::into_raw` and is no longer published; the count read
        // as zero after the store, so no handler can still be reading it (module doc).
        drop(unsafe { Box::from_raw(current) });
    }
    true
}

/// A handler's hold on the published snapshot: counted in `READERS` from before it loads
/// `CURRENT` until it is dropped, so no writer frees what it reads meanwhile.
struct ReadGuard(());

impl ReadGuard {
    fn enter() -> ReadGuard {
        READERS.fetch_add(1, SeqCst);
        ReadGuard(())
    }

    /// The published snapshot (`None` before the first registration).
    fn snapshot(&self) -> Option<&Snapshot> {
        // SAFETY: a non-null `CURRENT` is a snapshot from `Box::into_raw`. Loaded while this guard
        // is counted, it is freed only after the guard's decrement (module doc), and the borrow
        // ends before that.
        unsafe { CURRENT.load(SeqCst).as_ref() }
    }
}

impl Drop for ReadGuard {
    fn drop(&mut self) {
        READERS.fetch_sub(1, SeqCst);
    }
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
/// `start + heap_accesses[i]` continues at `start + oob_landing`, with `heap_access_wasm[i]` (the
/// access's wasm offset; `u32::MAX` when missing) in the landing pad's offset register
/// (x86-64 `r8`, aarch64 `x4`).
///
/// # Panics
/// If the range overlaps registered code, or a heap access has no landing pad.
pub(crate) fn register(
    start: usize,
    len: usize,
    func_index: u32,
    heap_accesses: Vec<u32>,
    heap_access_wasm: Vec<u32>,
    oob_landing: Option<u32>,
) -> Registration {
    assert!(heap_accesses.is_empty() || oob_landing.is_some(), "heap accesses need a landing pad");
    let mut sites: Vec<(u32, u32)> = heap_accesses
        .iter()
        .enumerate()
        .map(|(i, &at)| (at, heap_access_wasm.get(i).copied().unwrap_or(u32::MAX)))
        .collect();
    sites.sort_unstable();
    let end = start + len.max(1);
    let entry = CodeEntry {
        start,
        end,
        func_index,
        heap_accesses: sites.iter().map(|&(at, _)| at).collect(),
        heap_access_wasm: sites.iter().map(|&(_, wasm)| wasm).collect(),
        oob_landing,
    };
    let inserted = publish(|current| {
        let code = current.code.with_entry(entry)?;
        Some(Snapshot { code, memories: current.memories.clone() })
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
    let entry = MemoryEntry { start, end: start + len.max(1) };
    let inserted = publish(|current| {
        let memories = current.memories.with_entry(entry)?;
        Some(Snapshot { code: current.code.clone(), memories })
    });
    assert!(inserted, "memory at {start:#x} overlaps a registered memory");
    Registration { start, memory: true }
}

impl Drop for Registration {
    fn drop(&mut self) {
        publish(|current| {
            Some(if self.memory {
                Snapshot {
                    code: current.code.clone(),
                    memories: current.memories.without_entry(self.start),
                }
            } else {
                Snapshot {
                    code: current.code.without_entry(self.start),
                    memories: current.memories.clone(),
                }
            })
        });
    }
}

/// What a faulting pc is.
#[derive(Debug, PartialEq, Eq)]
enum Fault {
    /// A recorded heap access: continue at this address, with the access's wasm offset in the
    /// landing pad's offset register.
    HeapAccess {
        landing: usize,
        wasm_offset: u32,
    },
    /// Inside JIT code, but not a heap access.
    OtherJit {
        func_index: u32,
    },
    NotJit,
}

/// What a fault at `pc` on `address` is, by the published snapshot. The reader count is released
/// before this returns, so whatever the handler does next cannot hold it.
fn classify(pc: usize, address: usize) -> Fault {
    let reader = ReadGuard::enter();
    reader.snapshot().map_or(Fault::NotJit, |snapshot| snapshot.classify(pc, address))
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
        Fault::HeapAccess { landing, wasm_offset } => {
            // SAFETY: as for `context_pc`; the landing pad is code of the same function, entered
            // with the registers of one of its heap accesses, which is what it expects, and its
            // offset register, which no heap access reads.
            unsafe {
                set_context_pc(context, landing);
                set_context_offset(context, wasm_offset);
            }
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

/// Writes `wasm_offset` into the out-of-bounds landing pad's offset register
/// (`r8`), as the interrupted thread will see it.
///
/// # Safety
/// As for [`context_pc`].
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
unsafe fn set_context_offset(context: *mut libc::c_void, wasm_offset: u32) {
    // SAFETY: guaranteed by the caller.
    unsafe {
        (*context.cast::<libc::ucontext_t>()).uc_mcontext.gregs[libc::REG_R8 as usize] =
            wasm_offset as i64
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

/// As for x86-64: `x4`.
///
/// # Safety
/// As for the x86-64 version.
#[cfg(all(target_os = "linux", target_arch = "aarch64"))]
unsafe fn set_context_offset(context: *mut libc::c_void, wasm_offset: u32) {
    // SAFETY: guaranteed by the caller.
    unsafe { (*context.cast::<libc::ucontext_t>()).uc_mcontext.regs[4] = wasm_offset as u64 }
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

/// # Safety
/// Never called.
#[cfg(not(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64"))))]
unsafe fn set_context_offset(_context: *mut libc::c_void, _wasm_offset: u32) {}

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
    use std::collections::BTreeSet;
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
        let code = register(0x1000, 0x100, 7, vec![0x40, 0x10], vec![0x24, 0x20], Some(0x80));
        let _other = register(0x1100, 0x10, 8, Vec::new(), Vec::new(), None);
        let memory = register_memory(0x10_0000, 0x1_0000);
        let heap = 0x10_fff0;
        assert_eq!(
            classify(0x1010, heap),
            Fault::HeapAccess { landing: 0x1080, wasm_offset: 0x20 }
        );
        assert_eq!(
            classify(0x1040, 0x10_0000),
            Fault::HeapAccess { landing: 0x1080, wasm_offset: 0x24 }
        );
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
        let _a = register(0x2000, 0x100, 1, Vec::new(), Vec::new(), None);
        let _b = register(0x2080, 0x100, 2, Vec::new(), Vec::new(), None);
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

    /// `n` distinct indices below `n` in a scrambled order (`step` coprime to `n`).
    fn scrambled(n: usize, step: usize) -> impl Iterator<Item = usize> {
        (0..n).map(move |i| i * step % n)
    }

    /// Checks `table`'s B+-tree invariants and that it holds exactly the entries starting at
    /// `starts`; returns its height.
    fn check_table(table: &RangeTable<MemoryEntry>, starts: &BTreeSet<usize>) -> usize {
        let mut held = Vec::new();
        let height = table.root.as_ref().map_or(0, |root| check_node(root, &mut held));
        assert!(held.iter().eq(starts.iter()), "the entries, in address order");
        height
    }

    /// Checks a subtree, appending the starts of its entries to `held`; returns its height.
    fn check_node(node: &Node<MemoryEntry>, held: &mut Vec<usize>) -> usize {
        assert!((1..=NODE).contains(&node.len()), "a node of {} items", node.len());
        let Node::Inner(children) = node else {
            let Node::Leaf(entries) = node else { unreachable!() };
            held.extend(entries.iter().map(|entry| entry.start));
            return 1;
        };
        let sparse = children.windows(2).any(|w| w[0].1.len() + w[1].1.len() <= NODE / 2);
        assert!(!sparse, "two neighbouring children hold at most NODE / 2 items");
        let mut heights = children.iter().map(|(start, child)| {
            let first = held.len();
            let height = check_node(child, held);
            assert_eq!(held[first], *start, "a child's start is its first entry's");
            height
        });
        let height = heights.next().unwrap();
        assert!(heights.all(|h| h == height), "leaves at one depth");
        height + 1
    }

    #[test]
    fn range_tables_stay_balanced_and_sorted() {
        const N: usize = 3000;
        let entry = |i: usize| MemoryEntry { start: 0x100 * i, end: 0x100 * i + 0x80 };
        let orders: [Vec<usize>; 3] =
            [(0..N).collect(), (0..N).rev().collect(), scrambled(N, 7919).collect()];
        for order in orders {
            let mut table = RangeTable::default();
            let mut starts = BTreeSet::new();
            for (step, &i) in order.iter().enumerate() {
                table = table.with_entry(entry(i)).expect("no overlap");
                starts.insert(entry(i).start);
                if step % 97 == 0 {
                    check_table(&table, &starts);
                }
            }
            // 3000 entries in nodes at least half full: three levels.
            assert!(check_table(&table, &starts) <= 3, "height");
            for i in 0..N {
                let start = entry(i).start;
                assert_eq!(table.find(start).map(|e| e.start), Some(start));
                assert_eq!(table.find(start + 0x7f).map(|e| e.start), Some(start));
                assert!(table.find(start + 0x80).is_none());
                let overlapping = MemoryEntry { start: start + 0x7f, end: start + 0x100 };
                assert!(table.with_entry(overlapping).is_none());
            }
            for (step, i) in scrambled(N, 4999).enumerate() {
                table = table.without_entry(entry(i).start);
                starts.remove(&entry(i).start);
                if step % 89 == 0 || starts.len() < NODE {
                    check_table(&table, &starts);
                }
            }
            assert!(table.root.is_none());
        }
    }

    #[test]
    fn ten_thousand_functions_register_and_unregister() {
        const N: usize = 10_000;
        // Addresses no other test and no real mapping uses.
        let code = |i: usize| 0x4000_0000 + 0x100 * i;
        let _memory = register_memory(0x5000_0000, 0x1000);
        let started = std::time::Instant::now();
        let registrations: Vec<Registration> = scrambled(N, 7919)
            .map(|i| register(code(i), 0x100, i as u32, vec![0x10, 0x20], vec![1, 2], Some(0x80)))
            .collect();
        let registering = started.elapsed();
        for i in 0..N {
            let landing = code(i) + 0x80;
            assert_eq!(
                classify(code(i) + 0x20, 0x5000_0010),
                Fault::HeapAccess { landing, wasm_offset: 2 }
            );
            assert_eq!(classify(code(i) + 0xff, 0), Fault::OtherJit { func_index: i as u32 });
        }
        let started = std::time::Instant::now();
        drop(registrations);
        let unregistering = started.elapsed();
        assert_eq!(classify(code(N / 2) + 0x20, 0x5000_0010), Fault::NotJit);
        // A measurement to read with `--nocapture`, not a check.
        eprintln!("{N} registrations: {registering:?}, unregistrations: {unregistering:?}");
    }

    #[test]
    fn a_writer_frees_the_replaced_snapshot_only_after_readers_leave() {
        // In a child process: a reader held here would also hold up other tests' writers.
        let test =
            "vm::signals::tests::a_writer_frees_the_replaced_snapshot_only_after_readers_leave";
        let output = in_child_process(test, || {
            let reader = ReadGuard::enter();
            let writer =
                std::thread::spawn(|| register(0x3000, 0x10, 9, Vec::new(), Vec::new(), None));
            // The writer publishes, then waits for every reader, this one included.
            while classify(0x3000, 0) != (Fault::OtherJit { func_index: 9 }) {
                std::thread::yield_now();
            }
            // Time to finish, if it did not wait.
            std::thread::sleep(std::time::Duration::from_millis(50));
            assert!(!writer.is_finished(), "the writer returned while a reader could read");
            drop(reader);
            let registration = writer.join().unwrap();
            drop(registration);
            assert_eq!(classify(0x3000, 0), Fault::NotJit);
        });
        assert!(output.status.success(), "{}", stderr(&output));
    }

    /// Guard-page faults in tier-1 code on two threads while two others register and unregister
    /// code and memories (fake ranges in bulk, and real modules and instances): every fault must
    /// be the out-of-bounds trap of the faulting function, every in-bounds load must succeed.
    #[test]
    fn out_of_bounds_traps_hold_while_other_threads_register_and_unregister() {
        use crate::{Config, Engine, Error, Linker, Module, Store, Tier, TrapCode, Val};
        use std::sync::atomic::AtomicBool;
        const WAT: &str = r#"(module (memory 1) (data (i32.const 65532) "\2a\00\00\00")
            (func (export "load") (param i32) (result i32) (i32.load (local.get 0))))"#;
        const FAULTS: usize = 10_000;
        const ROUNDS: usize = 20;
        assert!(install(), "the guard-page path is what this tests");
        let engine = Engine::new(Config { tier: Tier::Baseline.into(), ..Config::default() });
        let instantiate = || {
            let module = Module::new(&engine, WAT).unwrap();
            assert!(
                module.inner.tiers.compiled(0, crate::Tier::Baseline).is_some(),
                "tier 1 compiled the load"
            );
            let mut store = Store::new(&engine, ());
            let instance = Linker::new().instantiate(&mut store, &module).unwrap();
            (store, instance)
        };
        let done = AtomicBool::new(false);
        let fake_rounds = AtomicUsize::new(0);
        let real_rounds = AtomicUsize::new(0);
        let fault = || {
            let (mut store, instance) = instantiate();
            let load = instance.get_func(&store, "load").unwrap();
            let mut out = [Val::I32(0)];
            let mut faults = 0;
            while faults < FAULTS
                || fake_rounds.load(SeqCst) < ROUNDS
                || real_rounds.load(SeqCst) < ROUNDS
            {
                let address = [65533, 65536, -1][faults % 3];
                match load.call(&mut store, &[Val::I32(address)], &mut out) {
                    Err(Error::Trap(trap)) => {
                        assert_eq!(trap.code, TrapCode::MemoryOutOfBounds, "load({address})");
                        assert_eq!(trap.backtrace[0].func_index, 0);
                        assert_eq!(trap.backtrace[0].tier, Tier::Baseline);
                    }
                    other => panic!("load({address}): expected a trap, got {other:?}"),
                }
                load.call(&mut store, &[Val::I32(65532)], &mut out).unwrap();
                assert_eq!(out[0], Val::I32(42));
                faults += 1;
            }
        };
        let churn_fake = || {
            while !done.load(SeqCst) {
                let registrations: Vec<[Registration; 2]> = (0..50)
                    .map(|i| {
                        let code = register(
                            0x6000_0000 + 0x1000 * i,
                            0x100,
                            1,
                            vec![0x10],
                            vec![0x10],
                            Some(0x80),
                        );
                        [code, register_memory(0x7000_0000 + 0x1000 * i, 0x1000)]
                    })
                    .collect();
                drop(registrations);
                fake_rounds.fetch_add(1, SeqCst);
            }
        };
        let churn_real = || {
            while !done.load(SeqCst) {
                drop(instantiate());
                real_rounds.fetch_add(1, SeqCst);
            }
        };
        std::thread::scope(|scope| {
            scope.spawn(churn_fake);
            scope.spawn(churn_real);
            let faulting = [scope.spawn(fault), scope.spawn(fault)];
            let results = faulting.map(|thread| thread.join());
            done.store(true, SeqCst);
            for result in results {
                if let Err(panic) = result {
                    std::panic::resume_unwind(panic);
                }
            }
        });
    }
}
