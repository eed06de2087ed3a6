//! Compile threads: where background tier-up requests are compiled while the requesting code keeps
//! running in its tier.
//!
//! One queue per engine, started on the first background request with
//! `Config::compile_threads` threads, plus one thread that compiles for tier 1 only. Jobs wait in
//! one lane per target tier and a free thread takes a job of the lowest tier first: a
//! tier-1 compile is short and lifts code out of the interpreter, the slowest tier, so it must
//! not wait behind tier-2 compiles that take ten times as long and gain less (with one compile
//! thread on two cores a FIFO queue held tier-1 requests 30-50 ms). Taking them first is not
//! enough once every thread is inside a tier-2 compile (one function of regex-json takes 150 ms):
//! the tier-1 thread is there for that, idle but for the microseconds a tier-1 compile takes.
//!
//! Tier-1 jobs go oldest first. Tier-2 jobs go by rate, as HotSpot's tiered policy picks its
//! next compile: the job whose function gains the most hotness per second now (since the queue
//! last looked, so a function that went cold while it waited falls behind).
//! A program moves through phases, and a backlog of tier-2 requests from a finished phase would
//! otherwise be compiled before the functions running now: in rust-regex-json, deflate's inner
//! loop (21 million back-edges) was still queued for tier 2 when the program ended, behind
//! requests from its JSON and regex phases. The rate is weighed against the compile's cost
//! (the function's body size: tier 2's compile time grows with it), so the queue follows Smith's
//! rule for one machine, which orders jobs by weight over processing time to lose the least
//! weighted waiting: a big function's long compile waits behind small ones that gain as much
//! sooner: rust-regex-json's `main` took the thread for 20-60 ms per compile while the small
//! functions doing the work waited. A compile once started runs to its end, so the order alone
//! cannot stop big compiles that are not worth starting: `tier::osr_variant` defers those.
//! A job holds its module, so the module outlives the compile; the threads
//! hold only the shared queue and end once the engine's sending end is dropped and the lanes are
//! empty (nothing joins them: the last owner of an engine may be a compile thread itself).
//!
//! Must never compile on the submitting thread or block it beyond the lock.

use super::Tier;
use crate::module::Module;
use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Instant;

/// A request to compile one function in one tier.
pub(crate) struct Job {
    pub module: Module,
    pub def: u32,
    pub tier: Tier,
    /// An on-stack-replacement entry of this loop, rather than the function.
    pub osr: Option<u32>,
    /// When the queue last measured its function's hotness, and the hotness then (at first,
    /// when it was queued; see [`Job::observe`]).
    seen: Instant,
    hotness_seen: u64,
    /// Hotness its function gained per second over the last interval measured, if one was.
    recent_rate: Option<f64>,
    /// What compiling it costs, in bytes of function body (see [`Job::priority`]).
    cost: u64,
}

impl Job {
    /// A request, queued now, to compile `def` (or its loop `osr`'s entry) for `tier`.
    pub fn new(module: &Module, def: u32, tier: Tier, osr: Option<u32>) -> Job {
        let hotness_seen = hotness(module, def);
        let body = module.inner.bodies[def as usize].len() as u64;
        let cost = body + FIXED_COMPILE_COST;
        let seen = Instant::now();
        Job { module: module.clone(), def, tier, osr, seen, hotness_seen, recent_rate: None, cost }
    }

    /// Which tier-2 job goes first: the highest recent hotness rate per byte to compile.
    fn priority(&self) -> f64 {
        self.recent_rate.unwrap_or(0.0) / self.cost as f64
    }

    /// Measures the hotness rate of the job's function since the last measurement: the rate
    /// now, not the average since the request, so a function whose phase of the program ended
    /// while it waited goes behind the ones running now (in rust-regex-json, the regex
    /// compiler's functions, requested at 86 ms, were compiled at 350 ms, during deflate, ahead
    /// of deflate's own by their average rate). An interval too short to measure keeps the last
    /// rate; the first measurement takes any interval.
    fn observe(&mut self, now: Instant) {
        let elapsed = now.duration_since(self.seen).as_secs_f64();
        if self.recent_rate.is_some() && elapsed < MIN_RATE_INTERVAL {
            return;
        }
        let hotness_now = hotness(&self.module, self.def);
        let gained = hotness_now.saturating_sub(self.hotness_seen);
        self.recent_rate = Some(gained as f64 / elapsed.max(1e-6));
        (self.seen, self.hotness_seen) = (now, hotness_now);
    }
}

/// The shortest interval, in seconds, over which a job's hotness rate is measured again. The
/// queue looks between compiles, and the smallest functions' take 0.05-0.1 ms (`tierup run
/// --stats`): over so short an interval a function called in bursts can show no calls at all,
/// so the rate from the last longer interval stands until half a millisecond has passed.
const MIN_RATE_INTERVAL: f64 = 0.000_5;

/// A compile's cost that does not grow with the body (setting up, allocating and installing even
/// an empty function), in bytes of body: in `tierup run --stats`, tier 2 takes about 40 us for
/// the smallest functions (rust-regex-json's `malloc`, `__rdl_dealloc`), and it compiles about
/// 0.6 us per byte (1.66 MB/s in the `results/` records).
const FIXED_COMPILE_COST: u64 = 50;

/// `def`'s hotness so far, as tiering weighs calls and back-edges (`tier::tuning`).
fn hotness(module: &Module, def: u32) -> u64 {
    let m = &module.inner;
    let (counters, policy) = (m.tiers.counters(def), &m.config.tier_up);
    let calls = counters.calls.load(Ordering::Relaxed).saturating_mul(policy.call_weight);
    let back_edges = counters.back_edges.load(Ordering::Relaxed);
    calls.saturating_add(back_edges.saturating_mul(policy.back_edge_weight))
}

/// The sending end of the compile threads' queue; dropping it lets the threads end.
pub(crate) struct CompileQueue {
    shared: Arc<Shared>,
    /// How many compile threads started; none means every submit fails.
    threads: usize,
}

/// What the submitting side and the compile threads share.
struct Shared {
    lanes: Mutex<Lanes>,
    job_ready: Condvar,
}

/// Waiting jobs, one FIFO lane per target tier, lowest tier first.
#[derive(Default)]
struct Lanes {
    by_tier: [VecDeque<Job>; 2],
    /// The sending end is gone: threads leave once the lanes are empty.
    closed: bool,
}

impl Lanes {
    fn lane(tier: Tier) -> usize {
        match tier {
            Tier::Interp | Tier::Baseline => 0,
            Tier::Optimized => 1,
        }
    }

    fn push(&mut self, job: Job) {
        self.by_tier[Self::lane(job.tier)].push_back(job);
    }

    /// The next job a thread that `takes` compiles: the oldest tier-1 job, else the tier-2 job
    /// with the highest [`Job::priority`] (the oldest of equals).
    fn pop(&mut self, takes: Takes) -> Option<Job> {
        if let Some(job) = self.by_tier[0].pop_front() {
            return Some(job);
        }
        if takes == Takes::LowestTierOnly {
            return None;
        }
        let lane = &mut self.by_tier[1];
        let now = Instant::now();
        lane.iter_mut().for_each(|job| job.observe(now));
        let priorities: Vec<f64> = lane.iter().map(Job::priority).collect();
        let best = (0..lane.len())
            .max_by(|&a, &b| priorities[a].total_cmp(&priorities[b]).then(b.cmp(&a)))?;
        lane.remove(best)
    }
}

/// Which jobs a compile thread takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Takes {
    /// Every job, the lowest tier's first.
    Any,
    /// Jobs for tier 1 only, so they never wait behind tier-2 compiles.
    LowestTierOnly,
}

impl std::fmt::Debug for CompileQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CompileQueue")
    }
}

impl CompileQueue {
    /// Starts `threads` compile threads (at least one) and the tier-1 thread.
    pub fn start(threads: usize) -> CompileQueue {
        let shared =
            Arc::new(Shared { lanes: Mutex::new(Lanes::default()), job_ready: Condvar::new() });
        let mut started = 0;
        let workers = (0..threads.max(1)).map(|i| (format!("tierup-compile-{i}"), Takes::Any));
        let tier1 = ("tierup-compile-tier1".to_string(), Takes::LowestTierOnly);
        for (name, takes) in workers.chain([tier1]) {
            let shared = Arc::clone(&shared);
            let spawned =
                std::thread::Builder::new().name(name.clone()).spawn(move || work(&shared, takes));
            match spawned {
                Ok(_) => started += 1,
                // Fewer threads only means slower tier-up; none at all is reported on submit.
                Err(e) => eprintln!("tierup: cannot start compile thread {name}: {e}"),
            }
        }
        CompileQueue { shared, threads: started }
    }

    /// Queues `job`; `false` if no compile thread is there to take it.
    pub fn submit(&self, job: Job) -> bool {
        if self.threads == 0 {
            return false;
        }
        self.shared.lock().push(job);
        // All: the one woken must be one that takes this job's tier.
        self.shared.job_ready.notify_all();
        true
    }
}

impl Drop for CompileQueue {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.job_ready.notify_all();
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Lanes> {
        // A compile that panicked poisons nothing we rely on: the lanes stay consistent.
        self.lanes.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The next job a thread that `takes` compiles, waiting for one; `None` once the queue is
    /// closed and has none for it.
    fn next_job(&self, takes: Takes) -> Option<Job> {
        let mut lanes = self.lock();
        loop {
            if let Some(job) = lanes.pop(takes) {
                return Some(job);
            }
            if lanes.closed {
                return None;
            }
            lanes = self.job_ready.wait(lanes).unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// A compile thread: takes the jobs it `takes` until the queue is closed and drained of them.
fn work(shared: &Shared, takes: Takes) {
    while let Some(job) = shared.next_job(takes) {
        match job.osr {
            None => super::compile_and_install(&job.module, job.def, job.tier),
            Some(ordinal) => {
                super::compile_osr_and_install(&job.module, job.def, job.tier, ordinal)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Engine;

    fn job(module: &Module, def: u32, tier: Tier) -> Job {
        Job::new(module, def, tier, None)
    }

    fn four_functions() -> Module {
        Module::new(&Engine::default(), "(module (func) (func) (func) (func))").unwrap()
    }

    #[test]
    fn the_oldest_job_of_the_lowest_tier_goes_first() {
        let module = four_functions();
        let mut lanes = Lanes::default();
        lanes.push(job(&module, 0, Tier::Optimized));
        lanes.push(job(&module, 1, Tier::Baseline));
        lanes.push(job(&module, 2, Tier::Optimized));
        lanes.push(job(&module, 3, Tier::Baseline));
        let order: Vec<u32> = std::iter::from_fn(|| lanes.pop(Takes::Any)).map(|j| j.def).collect();
        assert_eq!(order, [1, 3, 0, 2]);
    }

    #[test]
    fn the_tier2_job_whose_function_runs_fastest_since_its_request_goes_first() {
        let module = four_functions();
        let mut lanes = Lanes::default();
        for def in 0..4 {
            lanes.push(job(&module, def, Tier::Optimized));
        }
        let counters = |def| module.inner.tiers.counters(def);
        // Both gain again before every look, so whether the queue measures a new rate or keeps
        // the last (under MIN_RATE_INTERVAL between two pops, which a loaded machine or qemu
        // may exceed: then a function that gained nothing since the last look has rate 0) the
        // rates compare the same.
        let gain = || {
            counters(2).back_edges.fetch_add(1_000_000, Ordering::Relaxed);
            counters(3).calls.fetch_add(1_000, Ordering::Relaxed);
        };
        let order: Vec<u32> = std::iter::from_fn(|| {
            gain();
            lanes.pop(Takes::Any)
        })
        .map(|j| j.def)
        .collect();
        assert_eq!(order, [2, 3, 0, 1]);
    }

    #[test]
    fn a_tier2_job_whose_function_went_cold_waits_behind_one_still_running() {
        let module = four_functions();
        let mut lanes = Lanes::default();
        for def in 0..3 {
            lanes.push(job(&module, def, Tier::Optimized));
        }
        let counters = |def| module.inner.tiers.counters(def);
        counters(0).back_edges.fetch_add(1_000_000, Ordering::Relaxed);
        counters(1).back_edges.fetch_add(1_000, Ordering::Relaxed);
        counters(2).back_edges.fetch_add(10_000_000, Ordering::Relaxed);
        assert_eq!(lanes.pop(Takes::Any).map(|j| j.def), Some(2), "the fastest so far");
        // Function 0 stops; function 1 keeps going: 0's average since its request is still
        // the higher, its rate now is zero.
        std::thread::sleep(std::time::Duration::from_secs_f64(4.0 * MIN_RATE_INTERVAL));
        counters(1).back_edges.fetch_add(1_000, Ordering::Relaxed);
        let order: Vec<u32> = std::iter::from_fn(|| lanes.pop(Takes::Any)).map(|j| j.def).collect();
        assert_eq!(order, [1, 0]);
    }

    #[test]
    fn of_two_tier2_jobs_gaining_alike_the_smaller_function_goes_first() {
        let big_body = "(i32.const 1) (drop) ".repeat(500);
        let wat = format!("(module (func {big_body}) (func) (func {big_body}))");
        let module = Module::new(&Engine::default(), &wat).unwrap();
        let mut lanes = Lanes::default();
        for def in 0..3 {
            lanes.push(job(&module, def, Tier::Optimized));
        }
        // Each function gains as much again before every look, so whether the queue measures a
        // new rate or keeps the last (an interval under MIN_RATE_INTERVAL, which a slow machine
        // such as qemu may or may not take between two pops) the rates compare the same.
        let gain = || {
            for (def, gained) in [(0, 1_000), (1, 1_000), (2, 10_000)] {
                module.inner.tiers.counters(def).back_edges.fetch_add(gained, Ordering::Relaxed);
            }
        };
        // The big function gaining ten times as fast still waits: it costs 30 times as much.
        let order: Vec<u32> = std::iter::from_fn(|| {
            gain();
            lanes.pop(Takes::Any)
        })
        .map(|j| j.def)
        .collect();
        assert_eq!(order, [1, 2, 0]);
    }

    #[test]
    fn the_tier1_thread_takes_tier1_jobs_only() {
        let module = four_functions();
        let mut lanes = Lanes::default();
        lanes.push(job(&module, 0, Tier::Optimized));
        lanes.push(job(&module, 1, Tier::Baseline));
        let tier1: Vec<u32> =
            std::iter::from_fn(|| lanes.pop(Takes::LowestTierOnly)).map(|j| j.def).collect();
        assert_eq!(tier1, [1]);
        assert_eq!(lanes.pop(Takes::Any).map(|j| j.def), Some(0));
    }
}
