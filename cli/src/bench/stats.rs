//! The statistics a report needs: median, spread and geometric mean, as pure functions.
//!
//! Nothing here knows about processes or programs; it must stay free of I/O so it is tested alone.

/// The middle of a sample: the mean of the two middle values for an even count. `None` if empty.
pub fn median(values: &[u64]) -> Option<u64> {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let mid = sorted.len() / 2;
    match sorted.len() {
        0 => None,
        n if n % 2 == 1 => Some(sorted[mid]),
        // Halved separately so two huge values cannot overflow.
        _ => Some(
            sorted[mid - 1] / 2 + sorted[mid] / 2 + (sorted[mid - 1] % 2 + sorted[mid] % 2) / 2,
        ),
    }
}

/// How far one more value could move the median at most: the median of `n + 1` values lies
/// between the two order statistics next to the median of `n`, so the bound is half the larger
/// gap around it (`n` odd) or half the gap between the two middle values (`n` even). The adaptive
/// protocol stops a cell when this is a small enough share of the median. `None` below two values.
pub fn next_value_can_move_median(values: &[u64]) -> Option<u64> {
    if values.len() < 2 {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let mid = sorted.len() / 2;
    let widest = if sorted.len() % 2 == 1 {
        (sorted[mid] - sorted[mid - 1]).max(sorted[mid + 1] - sorted[mid])
    } else {
        sorted[mid] - sorted[mid - 1]
    };
    Some(widest.div_ceil(2))
}

/// The smallest and largest value. `None` if empty.
pub fn min_max(values: &[u64]) -> Option<(u64, u64)> {
    Some((*values.iter().min()?, *values.iter().max()?))
}

/// The geometric mean, the one mean that treats a 2x speed-up and a 2x slow-down symmetrically.
/// `None` if empty or if any value is not a positive finite number.
pub fn geomean(values: &[f64]) -> Option<f64> {
    if values.is_empty() || values.iter().any(|v| !v.is_finite() || *v <= 0.0) {
        return None;
    }
    // Summing logarithms instead of multiplying keeps long products in range.
    let log_sum: f64 = values.iter().map(|v| v.ln()).sum();
    Some((log_sum / values.len() as f64).exp())
}

/// `value / baseline`, when both exist and the baseline is not zero.
pub fn ratio(value: Option<u64>, baseline: Option<u64>) -> Option<f64> {
    match (value, baseline) {
        (Some(value), Some(baseline)) if baseline > 0 => Some(value as f64 / baseline as f64),
        _ => None,
    }
}

/// `value / baseline` for ratios themselves, when both exist and the baseline is positive.
pub fn ratio_f64(value: Option<f64>, baseline: Option<f64>) -> Option<f64> {
    match (value, baseline) {
        (Some(value), Some(baseline)) if baseline > 0.0 => Some(value / baseline),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[5]), Some(5));
        assert_eq!(median(&[9, 1, 5]), Some(5));
        assert_eq!(median(&[4, 1, 3, 2]), Some(2));
        assert_eq!(median(&[u64::MAX, u64::MAX]), Some(u64::MAX));
        assert_eq!(median(&[3, 4]), Some(3));
    }

    #[test]
    fn the_median_moves_at_most_to_its_neighbours() {
        assert_eq!(next_value_can_move_median(&[7]), None);
        // [10, 12]: median 11; one more value makes it 10, 12 or the value between: at most 1.
        assert_eq!(next_value_can_move_median(&[12, 10]), Some(1));
        // [10, 11, 15]: median 11; four values give a median in [10.5, 13]: at most 2.
        assert_eq!(next_value_can_move_median(&[15, 10, 11]), Some(2));
        // Check the bound against every possible next value.
        let runs = [100, 104, 97, 120, 101];
        let bound = next_value_can_move_median(&runs).unwrap();
        let before = median(&runs).unwrap();
        for next in 0..200 {
            let after = median(&[&runs[..], &[next]].concat()).unwrap();
            assert!(after.abs_diff(before) <= bound, "{next}: {after} vs {before}, {bound}");
        }
    }

    #[test]
    fn spreads() {
        assert_eq!(min_max(&[]), None);
        assert_eq!(min_max(&[3, 9, 1]), Some((1, 9)));
    }

    #[test]
    fn geometric_means() {
        assert_eq!(geomean(&[]), None);
        let mean = geomean(&[2.0, 8.0]).unwrap();
        assert!((mean - 4.0).abs() < 1e-12, "{mean}");
        let mean = geomean(&[0.5, 2.0]).unwrap();
        assert!((mean - 1.0).abs() < 1e-12, "{mean}");
        assert_eq!(geomean(&[1.0, 0.0]), None);
        assert_eq!(geomean(&[1.0, f64::NAN]), None);
    }

    #[test]
    fn ratios() {
        assert_eq!(ratio(Some(6), Some(3)), Some(2.0));
        assert_eq!(ratio(Some(6), Some(0)), None);
        assert_eq!(ratio(None, Some(3)), None);
    }
}
