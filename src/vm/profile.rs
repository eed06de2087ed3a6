//! The guest profiler's runtime half (`ProfilingStrategy::Guest`): the store's profile stack,
//! a shadow stack of the wasm frames running now that every tier keeps up to date, and the
//! sampling thread that reads it every interval and aggregates what it saw into a
//! [`GuestProfile`].
//!
//! The profile stack is one allocation per store: a depth and a ring of [`PROFILE_ENTRIES`]
//! 64-bit entries, each `func index | tier << 32 | (innermost loop ordinal + 1) << 40` (see
//! [`encode_entry`]). The thread running the store is its only writer: a function pushes its entry
//! on entry (the interpreter in `Executor::begin`, compiled code after its prologue's counting),
//! rewrites the entry's upper half at each loop header it reaches (that is also how an
//! on-stack-replacement entry names its tier: it enters at a loop header) and pops it on a normal
//! return. A trap pops nothing: the entry from the host restores the depth it found
//! (`vm::call::call`), so no trap leaves stale entries behind, and the frames between a trap and
//! the host are at most sampled a few microseconds late. Depths past the ring wrap around: the
//! reader sees the newest [`PROFILE_ENTRIES`] frames of a deeper stack.
//!
//! The sampler reads concurrently with the writer, through atomics only (compiled code's plain
//! aligned 64- and 32-bit stores are single-copy atomic on both ISAs): it loads the depth
//! (acquire; writers publish a push with a release store, on x86-64 every store is one), then the
//! entries below it. A sample taken while the writer pushes or pops can mix two stacks; at a 1 ms
//! interval that is rare, and it is never undefined behaviour.
//!
//! Nothing here runs unless the engine is configured with `ProfilingStrategy::Guest`: without it
//! the store allocates no stack, contexts hold a null pointer, and no tier emits a profiling
//! instruction. This module must never name a compiler or block the thread running wasm.

use crate::tier::Tier;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Entries in a store's profile stack (a power of two: the index is masked, never checked).
pub const PROFILE_ENTRIES: usize = 1024;
/// The mask compiled code applies to a depth to index the ring.
pub const PROFILE_MASK: u32 = PROFILE_ENTRIES as u32 - 1;
/// Byte offset of the entries in a [`ProfileStack`] (the depth comes first).
pub const PROFILE_ENTRIES_OFFSET: u32 = std::mem::offset_of!(ProfileStack, entries) as u32;

/// The default sampling interval: 1 ms gives about a thousand samples per second of run time,
/// enough to rank the hot functions and loops of a run of a second or less, while the sampler
/// thread wakes rarely enough to cost nothing measurable on its own core (wasmtime's guest
/// profiler defaults to 10 ms, meant for longer runs).
pub const DEFAULT_INTERVAL: Duration = Duration::from_millis(1);

/// A store's shadow stack of running wasm frames (see the module docs). `#[repr(C)]`: compiled
/// code addresses the depth at offset 0 and the entries at [`PROFILE_ENTRIES_OFFSET`].
#[repr(C)]
pub struct ProfileStack {
    /// Frames pushed and not yet popped (may exceed the ring's size; it then wraps).
    pub depth: AtomicU64,
    /// The frames' entries, by depth modulo [`PROFILE_ENTRIES`].
    pub entries: [AtomicU64; PROFILE_ENTRIES],
}

/// The upper half of an entry: the tier the frame runs in and its innermost loop reached.
pub fn entry_high(tier: Tier, loop_ordinal: Option<u32>) -> u32 {
    let loop_bits = loop_ordinal.map_or(0, |l| (l + 1).min(0xff_ffff));
    tier as u32 | loop_bits << 8
}

/// A profile stack entry for function `func_index` (module index space).
pub fn encode_entry(func_index: u32, tier: Tier, loop_ordinal: Option<u32>) -> u64 {
    func_index as u64 | (entry_high(tier, loop_ordinal) as u64) << 32
}

/// The frame an entry names (`None` for bits no tier writes: a torn read).
pub fn decode_entry(entry: u64) -> Option<GuestFrame> {
    let tier = match (entry >> 32) & 0xff {
        0 => Tier::Interp,
        1 => Tier::Baseline,
        2 => Tier::Optimized,
        _ => return None,
    };
    let loop_bits = (entry >> 40) as u32;
    let loop_ordinal = loop_bits.checked_sub(1);
    Some(GuestFrame { func_index: entry as u32, tier, loop_ordinal })
}

impl ProfileStack {
    /// An empty stack.
    pub fn new() -> Arc<ProfileStack> {
        Arc::new(ProfileStack {
            depth: AtomicU64::new(0),
            entries: std::array::from_fn(|_| AtomicU64::new(0)),
        })
    }

    fn slot(&self, depth: u64) -> &AtomicU64 {
        &self.entries[depth as usize & PROFILE_MASK as usize]
    }

    /// Pushes `entry` (the writer's side, as compiled code does it).
    pub fn push(&self, entry: u64) {
        let depth = self.depth.load(Ordering::Relaxed);
        self.slot(depth).store(entry, Ordering::Relaxed);
        self.depth.store(depth + 1, Ordering::Release);
    }

    /// Pops the top entry.
    pub fn pop(&self) {
        let depth = self.depth.load(Ordering::Relaxed);
        self.depth.store(depth.saturating_sub(1), Ordering::Release);
    }

    /// Rewrites the top entry's upper half (tier and loop), as a loop header does.
    pub fn set_top_high(&self, high: u32) {
        let depth = self.depth.load(Ordering::Relaxed);
        if depth > 0 {
            let slot = self.slot(depth - 1);
            let low = slot.load(Ordering::Relaxed) & 0xffff_ffff;
            slot.store(low | (high as u64) << 32, Ordering::Relaxed);
        }
    }

    /// The current depth (the writer's, to restore after a call from the host).
    pub fn depth(&self) -> u64 {
        self.depth.load(Ordering::Relaxed)
    }

    /// Restores a depth read with [`Self::depth`].
    pub fn set_depth(&self, depth: u64) {
        self.depth.store(depth, Ordering::Release);
    }

    /// Reads the stack as it is now (the sampler's side), outermost frame first, into `out`;
    /// returns whether it was deeper than the ring (only its newest frames read).
    pub fn read(&self, out: &mut Vec<u64>) -> bool {
        out.clear();
        let depth = self.depth.load(Ordering::Acquire);
        let first = depth.saturating_sub(PROFILE_ENTRIES as u64);
        for d in first..depth {
            out.push(self.slot(d).load(Ordering::Relaxed));
        }
        first > 0
    }
}

/// One frame of a sampled stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GuestFrame {
    /// The function (module index space).
    pub func_index: u32,
    /// The tier the frame ran in when sampled.
    pub tier: Tier,
    /// The innermost loop of the function the frame reached last (loops numbered in body order
    /// from 0, as tiering numbers them), if it reached one. Tier-2 code reports loops only where
    /// it was entered by on-stack replacement.
    pub loop_ordinal: Option<u32>,
}

/// A distinct sampled stack and how many samples saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GuestStack {
    /// Outermost frame first.
    pub frames: Vec<GuestFrame>,
    /// Samples that saw exactly this stack.
    pub samples: u64,
}

/// What the guest profiler saw over a store's life (see `Store::guest_profile`).
#[derive(Clone, Debug, Default)]
pub struct GuestProfile {
    /// The sampling interval asked for.
    pub interval: Duration,
    /// From the store's creation to the end of sampling.
    pub duration: Duration,
    /// Each distinct stack seen in wasm, with its sample count (most samples first).
    pub stacks: Vec<GuestStack>,
    /// Samples taken while no wasm ran (the host, WASI calls, start-up, waiting).
    pub outside_wasm: u64,
    /// Samples whose stack was deeper than the profile stack holds (only the newest frames kept).
    pub truncated: u64,
    /// Samples that read an entry no tier writes (a read racing a write; dropped).
    pub torn: u64,
    /// Every sample in the order taken: when (since the store's creation) and which of
    /// [`Self::stacks`] it saw ([`OUTSIDE_WASM`] for none), for timelines.
    pub timeline: Vec<(Duration, u32)>,
}

/// The stack of a [`GuestProfile::timeline`] sample taken while no wasm ran (or torn).
pub const OUTSIDE_WASM: u32 = u32::MAX;

/// One function's share of the samples (see [`GuestProfile::functions`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunctionSamples {
    /// The function (module index space).
    pub func_index: u32,
    /// Samples with the function on top (running its own code).
    pub self_samples: u64,
    /// Samples with the function anywhere on the stack (counted once per sample).
    pub total_samples: u64,
    /// `self_samples` by the tier it ran in, indexed by `Tier as usize`.
    pub self_by_tier: [u64; 3],
}

/// One loop's share of the samples (see [`GuestProfile::loops`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoopSamples {
    /// The function (module index space) the loop is in.
    pub func_index: u32,
    /// The loop's number in its function, in body order from 0.
    pub loop_ordinal: u32,
    /// Samples with the function on top, in this loop.
    pub samples: u64,
    /// `samples` by the tier the function ran in, indexed by `Tier as usize`.
    pub by_tier: [u64; 3],
}

impl GuestProfile {
    /// Samples taken while wasm ran.
    pub fn wasm_samples(&self) -> u64 {
        self.stacks.iter().map(|s| s.samples).sum()
    }

    /// Every sampled function, by self samples (then total samples), most first.
    pub fn functions(&self) -> Vec<FunctionSamples> {
        let mut by_func: HashMap<u32, FunctionSamples> = HashMap::new();
        for stack in &self.stacks {
            let Some(top) = stack.frames.last() else { continue };
            let mut seen: Vec<u32> = stack.frames.iter().map(|f| f.func_index).collect();
            seen.sort_unstable();
            seen.dedup();
            for func_index in seen {
                let f = by_func.entry(func_index).or_insert(FunctionSamples {
                    func_index,
                    self_samples: 0,
                    total_samples: 0,
                    self_by_tier: [0; 3],
                });
                f.total_samples += stack.samples;
            }
            let f = by_func.get_mut(&top.func_index).expect("counted above");
            f.self_samples += stack.samples;
            f.self_by_tier[top.tier as usize] += stack.samples;
        }
        let mut functions: Vec<FunctionSamples> = by_func.into_values().collect();
        functions.sort_by_key(|f| {
            (std::cmp::Reverse(f.self_samples), std::cmp::Reverse(f.total_samples), f.func_index)
        });
        functions
    }

    /// Every loop the top frame was sampled in, most samples first.
    pub fn loops(&self) -> Vec<LoopSamples> {
        let mut by_loop: HashMap<(u32, u32), LoopSamples> = HashMap::new();
        for stack in &self.stacks {
            let Some(top) = stack.frames.last() else { continue };
            let Some(loop_ordinal) = top.loop_ordinal else { continue };
            let key = (top.func_index, loop_ordinal);
            let l = by_loop.entry(key).or_insert(LoopSamples {
                func_index: top.func_index,
                loop_ordinal,
                samples: 0,
                by_tier: [0; 3],
            });
            l.samples += stack.samples;
            l.by_tier[top.tier as usize] += stack.samples;
        }
        let mut loops: Vec<LoopSamples> = by_loop.into_values().collect();
        loops.sort_by_key(|l| (std::cmp::Reverse(l.samples), l.func_index, l.loop_ordinal));
        loops
    }

    /// Samples per tier over every frame on top, indexed by `Tier as usize`.
    pub fn samples_by_tier(&self) -> [u64; 3] {
        let mut tiers = [0; 3];
        for stack in &self.stacks {
            if let Some(top) = stack.frames.last() {
                tiers[top.tier as usize] += stack.samples;
            }
        }
        tiers
    }
}

/// Aggregates raw samples (stacks of entries) into a [`GuestProfile`].
#[derive(Default)]
pub(crate) struct Aggregator {
    /// Each distinct stack's index in `counts`.
    index: HashMap<Vec<u64>, u32>,
    /// Per distinct stack, in order of first sight: its entries and samples.
    counts: Vec<(Vec<u64>, u64)>,
    timeline: Vec<(Duration, u32)>,
    outside_wasm: u64,
    truncated: u64,
    torn: u64,
}

impl Aggregator {
    /// Counts one sample taken at `at`: `entries` outermost first, `truncated` as
    /// [`ProfileStack::read`] says.
    pub fn add(&mut self, at: Duration, entries: &[u64], truncated: bool) {
        let stack = if entries.is_empty() {
            self.outside_wasm += 1;
            OUTSIDE_WASM
        } else if entries.iter().any(|&e| decode_entry(e).is_none()) {
            self.torn += 1;
            OUTSIDE_WASM
        } else {
            self.truncated += truncated as u64;
            match self.index.get(entries) {
                Some(&i) => {
                    self.counts[i as usize].1 += 1;
                    i
                }
                None => {
                    let i = self.counts.len() as u32;
                    self.index.insert(entries.to_vec(), i);
                    self.counts.push((entries.to_vec(), 1));
                    i
                }
            }
        };
        self.timeline.push((at, stack));
    }

    pub fn finish(self, interval: Duration, duration: Duration) -> GuestProfile {
        let mut order: Vec<usize> = (0..self.counts.len()).collect();
        let frames = |i: usize| -> Vec<GuestFrame> {
            self.counts[i].0.iter().filter_map(|&e| decode_entry(e)).collect()
        };
        order.sort_by(|&a, &b| {
            self.counts[b].1.cmp(&self.counts[a].1).then_with(|| frames(a).cmp(&frames(b)))
        });
        let mut new_index = vec![0; order.len()];
        for (new, &old) in order.iter().enumerate() {
            new_index[old] = new as u32;
        }
        let stacks = order
            .iter()
            .map(|&i| GuestStack { frames: frames(i), samples: self.counts[i].1 })
            .collect();
        let remap = |s: u32| if s == OUTSIDE_WASM { s } else { new_index[s as usize] };
        GuestProfile {
            interval,
            duration,
            stacks,
            outside_wasm: self.outside_wasm,
            truncated: self.truncated,
            torn: self.torn,
            timeline: self.timeline.into_iter().map(|(at, s)| (at, remap(s))).collect(),
        }
    }
}

/// The sampling thread of one store: started with the store, stopped by
/// `Store::guest_profile` (or when the store is dropped).
pub(crate) struct Sampler {
    pub stack: Arc<ProfileStack>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<GuestProfile>>,
}

impl Sampler {
    /// Starts sampling a new, empty profile stack every `interval`. A zero interval keeps the
    /// stack without sampling it (no thread): what a debugger reads backtraces from
    /// (`Config::guest_profile_interval`).
    pub fn start(interval: Duration) -> Sampler {
        let stack = ProfileStack::new();
        let stop = Arc::new(AtomicBool::new(false));
        if interval.is_zero() {
            return Sampler { stack, stop, thread: None };
        }
        let (reader, stopped) = (stack.clone(), stop.clone());
        let thread = std::thread::Builder::new()
            .name("tierup-guest-profiler".into())
            .spawn(move || {
                let started = Instant::now();
                let mut aggregator = Aggregator::default();
                let mut entries = Vec::with_capacity(64);
                // Sleeping to absolute deadlines keeps the rate right however long a sample
                // takes; a late wake-up takes one sample, not a burst.
                let mut next = started + interval;
                while !stopped.load(Ordering::Relaxed) {
                    let now = Instant::now();
                    if next > now {
                        std::thread::sleep(next - now);
                    }
                    next = (next + interval).max(Instant::now());
                    let truncated = reader.read(&mut entries);
                    aggregator.add(started.elapsed(), &entries, truncated);
                }
                aggregator.finish(interval, started.elapsed())
            })
            .expect("the guest profiler's thread starts");
        Sampler { stack, stop, thread: Some(thread) }
    }

    /// Stops sampling and returns what was seen.
    pub fn finish(&mut self) -> Option<GuestProfile> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.take().map(|t| t.join().expect("the guest profiler's thread never panics"))
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip() {
        for (func, tier, l) in [
            (0, Tier::Interp, None),
            (7, Tier::Baseline, Some(0)),
            (u32::MAX, Tier::Optimized, Some(41)),
        ] {
            let frame = decode_entry(encode_entry(func, tier, l)).unwrap();
            assert_eq!(frame, GuestFrame { func_index: func, tier, loop_ordinal: l });
        }
        assert_eq!(decode_entry(0xff << 32), None);
    }

    #[test]
    fn push_pop_loop_and_wrap() {
        let stack = ProfileStack::new();
        let mut out = Vec::new();
        assert!(!stack.read(&mut out));
        assert!(out.is_empty());
        stack.push(encode_entry(1, Tier::Interp, None));
        stack.push(encode_entry(2, Tier::Baseline, None));
        stack.set_top_high(entry_high(Tier::Optimized, Some(3)));
        stack.read(&mut out);
        let frames: Vec<_> = out.iter().map(|&e| decode_entry(e).unwrap()).collect();
        assert_eq!(frames[0], GuestFrame { func_index: 1, tier: Tier::Interp, loop_ordinal: None });
        assert_eq!(
            frames[1],
            GuestFrame { func_index: 2, tier: Tier::Optimized, loop_ordinal: Some(3) }
        );
        stack.pop();
        stack.read(&mut out);
        assert_eq!(out.len(), 1);
        for i in 0..PROFILE_ENTRIES as u32 + 10 {
            stack.push(encode_entry(i, Tier::Baseline, None));
        }
        assert!(stack.read(&mut out));
        assert_eq!(out.len(), PROFILE_ENTRIES);
        // The newest frames, in order: of the 1 + 1034 pushed, the first 11 are gone.
        assert_eq!(
            decode_entry(*out.last().unwrap()).unwrap().func_index,
            PROFILE_ENTRIES as u32 + 9
        );
        assert_eq!(decode_entry(out[0]).unwrap().func_index, 10);
    }

    #[test]
    fn aggregation_ranks_functions_and_loops() {
        let mut agg = Aggregator::default();
        let main = encode_entry(0, Tier::Interp, None);
        let hot = |tier, l| encode_entry(5, tier, l);
        for _ in 0..6 {
            agg.add(Duration::ZERO, &[main, hot(Tier::Baseline, Some(1))], false);
        }
        for _ in 0..3 {
            agg.add(Duration::ZERO, &[main, hot(Tier::Interp, Some(1))], false);
        }
        agg.add(Duration::ZERO, &[main], false);
        agg.add(Duration::ZERO, &[main, hot(Tier::Baseline, Some(0))], false);
        agg.add(Duration::ZERO, &[], false);
        agg.add(Duration::ZERO, &[main, 0xfe << 32], false);
        let profile = agg.finish(DEFAULT_INTERVAL, Duration::from_secs(1));
        assert_eq!(profile.wasm_samples(), 11);
        assert_eq!((profile.outside_wasm, profile.torn), (1, 1));
        let functions = profile.functions();
        assert_eq!(functions[0].func_index, 5);
        assert_eq!(functions[0].self_samples, 10);
        assert_eq!(functions[0].self_by_tier, [3, 7, 0]);
        assert_eq!((functions[1].func_index, functions[1].self_samples), (0, 1));
        assert_eq!(functions[1].total_samples, 11);
        let loops = profile.loops();
        assert_eq!((loops[0].func_index, loops[0].loop_ordinal, loops[0].samples), (5, 1, 9));
        assert_eq!(loops[0].by_tier, [3, 6, 0]);
        assert_eq!((loops[1].loop_ordinal, loops[1].samples), (0, 1));
        assert_eq!(profile.samples_by_tier(), [4, 7, 0]);
        assert_eq!(profile.stacks[0].samples, 6);
        assert_eq!(profile.timeline.len(), 13);
        // The timeline names the sorted stacks: its first sample saw the most common one.
        assert_eq!(profile.timeline[0].1, 0);
        assert_eq!(profile.timeline[11].1, OUTSIDE_WASM);
        let in_order: Vec<u64> = (0..profile.stacks.len() as u32)
            .map(|s| profile.timeline.iter().filter(|t| t.1 == s).count() as u64)
            .collect();
        assert_eq!(in_order, profile.stacks.iter().map(|s| s.samples).collect::<Vec<_>>());
    }

    /// A writer pushing and popping as fast as it can while the sampler reads: every sample is
    /// a prefix of the writer's possible stacks or torn into a rare mix, never garbage.
    #[test]
    fn racing_reads_see_plausible_stacks() {
        let mut sampler = Sampler::start(Duration::from_micros(50));
        let stack = sampler.stack.clone();
        let deadline = Instant::now() + Duration::from_millis(300);
        while Instant::now() < deadline {
            for _ in 0..1000 {
                stack.push(encode_entry(1, Tier::Interp, None));
                stack.push(encode_entry(2, Tier::Baseline, Some(0)));
                stack.set_top_high(entry_high(Tier::Optimized, Some(1)));
                stack.pop();
                stack.pop();
            }
        }
        let profile = sampler.finish().unwrap();
        let samples = profile.wasm_samples() + profile.outside_wasm + profile.torn;
        assert!(samples > 10, "the sampler sampled ({samples})");
        for s in &profile.stacks {
            assert!(s.frames.len() <= 2, "{s:?}");
            assert!(s.frames.iter().all(|f| f.func_index == 1 || f.func_index == 2), "{s:?}");
        }
        assert_eq!(profile.truncated, 0);
        assert!(sampler.finish().is_none(), "finishing twice yields nothing more");
    }
}
