//! How numbers look in reports: durations, memory sizes and ratios, each with three significant
//! digits so columns stay narrow and comparable. Pure functions; no parsing (that is
//! `cli/size.rs`'s business for sizes given on the command line).

/// A duration in nanoseconds: `812 ns`, `12.3 µs`, `4.56 ms`, `1.23 s`.
pub fn duration(ns: u64) -> String {
    const UNITS: [(f64, &str); 3] = [(1e9, "s"), (1e6, "ms"), (1e3, "µs")];
    let ns = ns as f64;
    match UNITS.iter().find(|(scale, _)| ns >= *scale) {
        Some((scale, unit)) => format!("{} {unit}", significant(ns / scale)),
        None => format!("{ns} ns"),
    }
}

/// A range of durations in the unit of its upper end: `1.20–1.35 s`.
pub fn duration_range(min_ns: u64, max_ns: u64) -> String {
    let max = duration(max_ns);
    let (_, unit) = max.split_once(' ').unwrap_or((&max, ""));
    let scale = match unit {
        "s" => 1e9,
        "ms" => 1e6,
        "µs" => 1e3,
        _ => return format!("{min_ns}–{max}"),
    };
    format!("{}–{max}", significant(min_ns as f64 / scale))
}

/// A size given in KiB (as `ru_maxrss` reports it on Linux): `812 KiB`, `12.3 MiB`, `1.50 GiB`.
pub fn size_kib(kib: u64) -> String {
    let kib = kib as f64;
    if kib >= 1024.0 * 1024.0 {
        format!("{} GiB", significant(kib / (1024.0 * 1024.0)))
    } else if kib >= 1024.0 {
        format!("{} MiB", significant(kib / 1024.0))
    } else {
        format!("{kib} KiB")
    }
}

/// A ratio to the baseline: `25.1x`, `1.00x`, `0.870x`.
pub fn ratio(ratio: f64) -> String {
    format!("{}x", significant(ratio))
}

/// `value` with three significant digits (more for values of 1000 and over, which keep all their
/// integer digits).
fn significant(value: f64) -> String {
    let decimals = match value.abs() {
        v if v >= 100.0 => 0,
        v if v >= 10.0 => 1,
        v if v >= 1.0 || v == 0.0 => 2,
        // Below 1: enough decimals for three significant digits.
        v => (2 - v.log10().floor() as i32).clamp(2, 12) as usize,
    };
    format!("{value:.decimals$}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration(0), "0 ns");
        assert_eq!(duration(812), "812 ns");
        assert_eq!(duration(12_345), "12.3 µs");
        assert_eq!(duration(4_560_000), "4.56 ms");
        assert_eq!(duration(1_234_000_000), "1.23 s");
        assert_eq!(duration(123_400_000_000), "123 s");
        assert_eq!(duration_range(1_200_000_000, 1_350_000_000), "1.20–1.35 s");
        assert_eq!(duration_range(900_000, 1_350_000_000), "0.000900–1.35 s");
        assert_eq!(duration_range(5, 7), "5–7 ns");
    }

    #[test]
    fn sizes() {
        assert_eq!(size_kib(812), "812 KiB");
        assert_eq!(size_kib(12_595), "12.3 MiB");
        assert_eq!(size_kib(3 << 19), "1.50 GiB");
    }

    #[test]
    fn ratios() {
        assert_eq!(ratio(25.14), "25.1x");
        assert_eq!(ratio(1.0), "1.00x");
        assert_eq!(ratio(0.87), "0.870x");
        assert_eq!(ratio(1234.4), "1234x");
    }
}
