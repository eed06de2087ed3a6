//! Execution tiers, how functions are assigned to them ([`Tiering`]), and the per-function
//! profile the tier-up policy ([`tuning`]) reads.
//!
//! Every function starts in the interpreter, which counts calls and loop back-edges; under
//! [`Tiering::Auto`] a function whose weighted count reaches the threshold is compiled by tier 1,
//! and a hot loop moves into the new code at its header (on-stack replacement).

pub mod tuning;

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// An execution tier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tier {
    /// Tier 0: the bytecode interpreter. Every function starts here; it defines the reference semantics.
    Interp,
    /// Tier 1: the template JIT (every WebAssembly 2.0 instruction but SIMD).
    Baseline,
    /// Tier 2: the optimizing SSA tier (its code generator is not built yet).
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

/// How functions are assigned to tiers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Tiering {
    /// Every function runs in this tier from its first call. [`Tier::Baseline`] compiles every
    /// function when the module is created; a function tier 1 refuses (SIMD) is interpreted.
    Pinned(Tier),
    /// Functions start in the interpreter and move to tier 1 when hot (see [`tuning`]).
    Auto,
}

impl Tiering {
    /// The name `--tier` takes: a tier's name, or `auto`.
    pub fn name(self) -> &'static str {
        match self {
            Tiering::Pinned(tier) => tier.name(),
            Tiering::Auto => "auto",
        }
    }
}

impl From<Tier> for Tiering {
    fn from(tier: Tier) -> Tiering {
        Tiering::Pinned(tier)
    }
}

impl fmt::Display for Tiering {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Tiering {
    type Err = String;
    fn from_str(s: &str) -> Result<Tiering, String> {
        match s {
            "auto" => Ok(Tiering::Auto),
            "interp" | "baseline" | "optimized" => s.parse::<Tier>().map(Tiering::Pinned),
            _ => Err(format!("unknown tier `{s}` (expected: interp, baseline or auto)")),
        }
    }
}

/// When a function moved up from the interpreter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TierUpEvent {
    /// Its call count at that moment.
    pub calls: u64,
    /// Its back-edge count at that moment.
    pub back_edges: u64,
    /// Time since its store was created.
    pub elapsed: Duration,
    /// Whether it moved up inside a running loop (on-stack replacement) rather than at a call.
    pub osr: bool,
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
    /// When the function tiered up in this instance, if it did.
    pub tiered_up: Option<TierUpEvent>,
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
    /// Its tier-1 code's compile time and size in bytes, when it has tier-1 code.
    pub compiled: Option<(Duration, usize)>,
}
