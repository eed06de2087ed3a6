//! Execution tiers and the per-function profile that decides when a function moves up.
//!
//! Tier 0 (the interpreter) and a first slice of tier 1 exist; tiers are chosen by configuration
//! today. The counters are already kept so the tier-up policy will read data the interpreter has
//! been producing all along.

use std::fmt;
use std::str::FromStr;

/// An execution tier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tier {
    /// Tier 0: the bytecode interpreter. Every function starts here; it defines the reference semantics.
    Interp,
    /// Tier 1: the template JIT (x86-64; a first slice of the instruction set).
    Baseline,
    /// Tier 2: the optimizing SSA tier (not built yet).
    Optimized,
}

impl Tier {
    /// The tier's lowercase name (`interp`, `baseline`, `optimized`), as `--tier` takes it and
    /// backtraces show it.
    pub fn name(self) -> &'static str {
        match self {
            Tier::Interp => "interp",
            Tier::Baseline => "baseline",
            Tier::Optimized => "optimized",
        }
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Tier {
    type Err = String;
    fn from_str(s: &str) -> Result<Tier, String> {
        match s {
            "interp" => Ok(Tier::Interp),
            "baseline" => Ok(Tier::Baseline),
            "optimized" => Err(format!("tier `{s}` is not implemented yet")),
            _ => Err(format!("unknown tier `{s}` (expected: interp or baseline)")),
        }
    }
}

/// Profiling counters of one function in one instance.
///
/// Counted by the interpreter on function entry and on loop back-edges only (never per instruction).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FuncProfile {
    /// Number of times the function was entered.
    pub calls: u64,
    /// Number of taken branches back to a loop header.
    pub back_edges: u64,
}

/// A row of `tierup run --stats`: one defined function's counters and current tier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FuncStats {
    /// Index in the module's function index space.
    pub func_index: u32,
    /// The function's name from the name section, else its first export name; `None` if it has
    /// neither.
    pub name: Option<String>,
    /// Its profiling counters (calls and loop back-edges).
    pub profile: FuncProfile,
    /// The tier it currently runs in.
    pub tier: Tier,
}
