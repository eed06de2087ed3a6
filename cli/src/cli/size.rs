//! Byte sizes on the command line: `65536`, `64KiB`, `100MiB`, `4GiB`, `1MB`.
//!
//! A bare number is bytes; KiB, MiB and GiB are powers of 1024 and KB, MB and GB powers of 1000, as
//! their names say (case does not matter, a space before the unit is allowed). Anything else is
//! refused with a message naming the accepted forms: a size is never guessed at, because a limit
//! read wrongly by a factor of 1024 fails far from the command that set it.

/// The accepted units and what they multiply by.
const UNITS: [(&str, u64); 7] = [
    ("B", 1),
    ("KiB", 1 << 10),
    ("MiB", 1 << 20),
    ("GiB", 1 << 30),
    ("KB", 1_000),
    ("MB", 1_000_000),
    ("GB", 1_000_000_000),
];

const ACCEPTED: &str = "expected a number of bytes, optionally followed by \
                        KiB, MiB, GiB (powers of 1024) or KB, MB, GB (powers of 1000)";

/// Parses a size in bytes (the `value_parser` of the size options).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let digits_end = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (digits, unit) = text.split_at(digits_end);
    if digits.is_empty() {
        return Err(ACCEPTED.to_string());
    }
    let multiplier = unit_multiplier(unit.trim_start())?;
    // `digits` is all ASCII digits, so the only way to fail is overflow.
    let too_large = || format!("`{text}` is too large (at most {} bytes)", u64::MAX);
    let number: u64 = digits.parse().map_err(|_| too_large())?;
    number.checked_mul(multiplier).ok_or_else(too_large)
}

fn unit_multiplier(unit: &str) -> Result<u64, String> {
    if unit.is_empty() {
        return Ok(1);
    }
    UNITS
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(unit))
        .map(|(_, multiplier)| *multiplier)
        .ok_or_else(|| format!("unknown unit `{unit}`: {ACCEPTED}"))
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn plain_bytes() {
        assert_eq!(parse_size("0"), Ok(0));
        assert_eq!(parse_size("65536"), Ok(65536));
        assert_eq!(parse_size("4096B"), Ok(4096));
    }

    #[test]
    fn binary_units_are_powers_of_1024() {
        assert_eq!(parse_size("64KiB"), Ok(64 << 10));
        assert_eq!(parse_size("100MiB"), Ok(100 << 20));
        assert_eq!(parse_size("4GiB"), Ok(4 << 30));
        assert_eq!(parse_size("64 mib"), Ok(64 << 20));
    }

    #[test]
    fn decimal_units_are_powers_of_1000() {
        assert_eq!(parse_size("64KB"), Ok(64_000));
        assert_eq!(parse_size("100MB"), Ok(100_000_000));
        assert_eq!(parse_size("4gb"), Ok(4_000_000_000));
    }

    #[test]
    fn garbage_is_refused() {
        for bad in ["", "MiB", "abc", "-1", "1.5GiB", "64M", "64 K", "12 34", "0x10", "1MiBx"] {
            let err = parse_size(bad).expect_err(bad);
            assert!(err.contains("KiB"), "{bad}: {err}");
        }
    }

    #[test]
    fn overflow_is_refused() {
        assert!(parse_size("18446744073709551616").unwrap_err().contains("too large"));
        assert!(parse_size("17179869184GiB").unwrap_err().contains("too large"));
        assert_eq!(parse_size("18446744073709551615"), Ok(u64::MAX));
    }
}
