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
