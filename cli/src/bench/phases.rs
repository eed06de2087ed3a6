//! The phase-times line: how a measured child process (`tierup run --phase-times`, the node runner)
//! tells the harness how long it spent compiling, instantiating and running.
//!
//! This module owns the line's format on the Rust side; `benches/peers/v8-wasi.mjs` prints the
//! same line and must be kept in step with it. It never measures anything itself.

use std::fmt;

/// The line's first word. The child prints the line last on stderr, after anything the guest wrote.
pub const TAG: &str = "tierup-phase-times";

/// The first word of the optional compile-statistics line (`tierup run --phase-times` prints it
/// just before the phase-times line; the node runner does not).
pub const COMPILE_TAG: &str = "tierup-compile-stats";

/// What a tierup run compiled: the module's code bytes and tier 1's share of the compile work.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CompileFigures {
    /// Bytes of function bodies in the module.
    pub code_bytes: u64,
    /// Functions tier 1 compiled during the run (up front or at tier-up).
    pub tier1_functions: u64,
    /// Their total compile time.
    pub tier1_ns: u64,
    /// Functions tier 2 compiled during the run (0 from builds older than tier 2, which do not
    /// print the field).
    pub tier2_functions: u64,
    /// Their total compile time, the pass pipeline included.
    pub tier2_ns: u64,
}

impl fmt::Display for CompileFigures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{COMPILE_TAG} code_bytes={} tier1_functions={} tier1_ns={} tier2_functions={} \
             tier2_ns={}",
            self.code_bytes,
            self.tier1_functions,
            self.tier1_ns,
            self.tier2_functions,
            self.tier2_ns
        )
    }
}

impl CompileFigures {
    /// The figures in a child's stderr: its last line starting with [`COMPILE_TAG`], if any.
    pub fn find_in(stderr: &str) -> Option<CompileFigures> {
        let line = stderr.lines().rev().find(|line| line.starts_with(COMPILE_TAG))?;
        let mut fields = line.strip_prefix(COMPILE_TAG)?.split_whitespace();
        let mut next =
            |key: &str| fields.next()?.strip_prefix(key)?.strip_prefix('=')?.parse().ok();
        let (code_bytes, tier1_functions, tier1_ns) =
            (next("code_bytes")?, next("tier1_functions")?, next("tier1_ns")?);
        // Builds older than tier 2 end the line here.
        let (tier2_functions, tier2_ns) = match next("tier2_functions") {
            Some(functions) => (functions, next("tier2_ns")?),
            None => (0, 0),
        };
        let figures =
            CompileFigures { code_bytes, tier1_functions, tier1_ns, tier2_functions, tier2_ns };
        fields.next().is_none().then_some(figures)
    }
}

/// The three phases of one run, in nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PhaseTimes {
    /// Reading, decoding, validating and compiling the module.
    pub compile_ns: u64,
    /// Linking and instantiation.
    pub instantiate_ns: u64,
    /// The call of `_start` (or the invoked export).
    pub run_ns: u64,
}

impl fmt::Display for PhaseTimes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{TAG} compile_ns={} instantiate_ns={} run_ns={}",
            self.compile_ns, self.instantiate_ns, self.run_ns
        )
    }
}

impl PhaseTimes {
    /// The phase times in a child's stderr: its last line starting with [`TAG`], if any. The last,
    /// because a guest may print anything before it, even a line that looks like one.
    pub fn find_in(stderr: &str) -> Option<PhaseTimes> {
        stderr.lines().rev().find(|line| line.starts_with(TAG)).and_then(PhaseTimes::parse)
    }

    /// Parses one line; every field must be present, once, as a decimal number.
    fn parse(line: &str) -> Option<PhaseTimes> {
        let mut fields = line.strip_prefix(TAG)?.split_whitespace();
        let mut next =
            |key: &str| fields.next()?.strip_prefix(key)?.strip_prefix('=')?.parse().ok();
        let times = PhaseTimes {
            compile_ns: next("compile_ns")?,
            instantiate_ns: next("instantiate_ns")?,
            run_ns: next("run_ns")?,
        };
        fields.next().is_none().then_some(times)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_compile_figures_round_trip() {
        let figures = CompileFigures {
            code_bytes: 1000,
            tier1_functions: 3,
            tier1_ns: 42,
            tier2_functions: 2,
            tier2_ns: 900,
        };
        let stderr = format!("guest output\n{figures}\n");
        assert_eq!(CompileFigures::find_in(&stderr), Some(figures));
        assert_eq!(CompileFigures::find_in("tierup-compile-stats code_bytes=1"), None);
        // A build older than tier 2 ends the line after tier 1's figures.
        let old = "tierup-compile-stats code_bytes=1000 tier1_functions=3 tier1_ns=42";
        let old = CompileFigures::find_in(old).expect("an older build's line");
        assert_eq!((old.tier1_ns, old.tier2_functions, old.tier2_ns), (42, 0, 0));
    }

    #[test]
    fn the_line_round_trips() {
        let times = PhaseTimes { compile_ns: 12, instantiate_ns: 3, run_ns: 4_000_000_000 };
        let line = times.to_string();
        assert_eq!(line, "tierup-phase-times compile_ns=12 instantiate_ns=3 run_ns=4000000000");
        assert_eq!(PhaseTimes::find_in(&format!("guest noise\n{line}\n")), Some(times));
    }

    #[test]
    fn the_last_line_wins_and_bad_lines_are_none() {
        let stderr = "tierup-phase-times compile_ns=1 instantiate_ns=1 run_ns=1\n\
                      tierup-phase-times compile_ns=2 instantiate_ns=2 run_ns=2\n";
        assert_eq!(PhaseTimes::find_in(stderr).map(|t| t.run_ns), Some(2));
        assert_eq!(PhaseTimes::find_in("tierup-phase-times compile_ns=1 run_ns=2"), None);
        assert_eq!(
            PhaseTimes::find_in("tierup-phase-times compile_ns=x instantiate_ns=1 run_ns=1"),
            None
        );
        assert_eq!(PhaseTimes::find_in("nothing here"), None);
    }
}
