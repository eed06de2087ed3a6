//! Work a module's build does for every function at once (validating bodies, compiling them up
//! front), split over scoped threads: the calling thread and, for enough work, helpers.
//!
//! Items go to workers in contiguous runs of about equal weight, and results come back in item
//! order, so what the work produces never depends on how many threads did it. This module only
//! schedules; it must never decide what the work is.

/// Below this much total weight (bytes of function bodies), spawning costs more than it saves.
const MIN_PARALLEL_WEIGHT: usize = 128 << 10;

/// Runs `work` over `items` split into at most `threads` contiguous runs of about equal total
/// `weight`, the first on the calling thread; returns each run's result in order.
pub(crate) fn in_runs<T: Send, R: Send>(
    mut items: Vec<T>,
    threads: usize,
    weight: impl Fn(&T) -> usize,
    work: impl Fn(Vec<T>) -> R + Sync,
) -> Vec<R> {
    let total: usize = items.iter().map(&weight).sum();
    let threads =
        if total < MIN_PARALLEL_WEIGHT { 1 } else { threads.clamp(1, items.len().max(1)) };
    if threads == 1 {
        return vec![work(items)];
    }
    let ends = run_ends(&items, threads, total, &weight);
    let mut runs: Vec<Vec<T>> = Vec::with_capacity(threads);
    for &start in ends[..ends.len() - 1].iter().rev() {
        runs.push(items.split_off(start));
    }
    runs.push(items);
    runs.reverse();
    let work = &work;
    std::thread::scope(|scope| {
        let mut runs = runs.into_iter();
        let first = runs.next().expect("one run at least");
        let helpers: Vec<_> = runs.map(|run| scope.spawn(move || work(run))).collect();
        let mut results = vec![work(first)];
        for helper in helpers {
            match helper.join() {
                Ok(result) => results.push(result),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        results
    })
}

/// Where each of `runs` contiguous runs of `items` of about `total / runs` weight each ends
/// (exclusive, nondecreasing, the last at `items.len()`; some runs may be empty).
fn run_ends<T>(
    items: &[T],
    runs: usize,
    total: usize,
    weight: &impl Fn(&T) -> usize,
) -> Vec<usize> {
    let mut ends = Vec::with_capacity(runs);
    let mut sum = 0;
    for (i, item) in items.iter().enumerate() {
        sum += weight(item);
        // Run `ends.len()` ends once the weight so far reaches its share of the total.
        if ends.len() + 1 < runs && sum * runs >= total * (ends.len() + 1) {
            ends.push(i + 1);
        }
    }
    ends.resize(runs, items.len());
    ends
}

/// The threads up-front work for a module uses: the calling thread and the engine's compile
/// threads' count of helpers, at most one per core.
pub(crate) fn threads(config: &crate::Config) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    (1 + config.compile_threads).min(cores)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_are_contiguous_about_equal_and_in_order() {
        let items: Vec<usize> = (1..=100).collect();
        let ends = run_ends(&items, 3, items.iter().sum(), &|&w| w);
        assert_eq!(ends.len(), 3);
        assert_eq!(ends[2], 100, "every item in some run");
        let sums = [&items[..ends[0]], &items[ends[0]..ends[1]], &items[ends[1]..]]
            .map(|run| run.iter().sum::<usize>());
        assert!(sums.iter().all(|&s| s > 1400 && s < 2000), "about a third each: {sums:?}");
    }

    #[test]
    fn results_come_back_in_item_order_whatever_the_threads() {
        let items: Vec<usize> = (0..1000).collect();
        let runs = |threads| in_runs(items.clone(), threads, |_| 1 << 10, |run| run);
        assert_eq!(runs(1).concat(), items);
        assert_eq!(runs(4).concat(), items);
        assert_eq!(runs(4).len(), 4, "enough weight for four threads");
        let light = in_runs(items.clone(), 4, |_| 1, |run| run.len());
        assert_eq!(light, [1000], "too little weight to spawn");
    }

    #[test]
    fn one_heavy_item_leaves_the_other_runs_empty() {
        let items = [1usize << 20, 1, 1];
        assert_eq!(run_ends(&items, 2, items.iter().sum(), &|&w| w), [1, 3]);
        assert_eq!(run_ends(&items[..1], 3, 1 << 20, &|&w| w), [1, 1, 1]);
        let runs = in_runs(items.to_vec(), 2, |&w| w, |run| run.len());
        assert_eq!(runs, [1, 2]);
    }
}
