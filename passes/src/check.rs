//! Semantic checking for pass authors: run a function before and after a transformation on
//! generated inputs and require the same results, the same traps and the same final memory,
//! globals and tables.
//!
//! Inputs are deterministic: edge values (0, ±1, the extremes, signed zeros, infinities, NaNs with
//! payloads) mixed with pseudo-random ones. A run the evaluator cannot do (imported call,
//! oversized memory, fuel or depth exhausted before the pass) is counted as skipped, never as a
//! pass.

use crate::eval::{EvalError, Evaluator, Outcome, State};
use crate::ir::{FuncId, Module, Type, Val};

/// Instructions one run may execute before the pass (after the pass: four times as many).
pub const FUEL: u64 = 50_000;

/// Counts of checks.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CheckReport {
    /// Runs compared and found equal.
    pub compared: u64,
    /// Of which ended in a trap (on both sides).
    pub traps: u64,
    /// Runs skipped because the evaluator could not do them.
    pub skipped: u64,
}

impl CheckReport {
    /// Adds another report's counts.
    pub fn add(&mut self, o: &CheckReport) {
        self.compared += o.compared;
        self.traps += o.traps;
        self.skipped += o.skipped;
    }
}

/// A small deterministic generator (xorshift64*).
pub struct Rng(u64);

impl Rng {
    /// Seeded generator.
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }
    /// Next 64 bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// A generated argument of type `t`.
pub fn gen_val(rng: &mut Rng, t: Type) -> Val {
    let r = rng.next_u64();
    let pick = r % 8;
    let x = rng.next_u64();
    match t {
        Type::I32 => Val::I32(match pick {
            0 => 0,
            1 => 1,
            2 => u32::MAX,
            3 => i32::MIN as u32,
            4 => i32::MAX as u32,
            5 => (x % 16) as u32,
            6 => (x % 1024) as u32,
            _ => x as u32,
        }),
        Type::I64 => Val::I64(match pick {
            0 => 0,
            1 => 1,
            2 => u64::MAX,
            3 => i64::MIN as u64,
            4 => i64::MAX as u64,
            5 => x % 16,
            6 => x % 1024,
            _ => x,
        }),
        Type::F32 => Val::F32(match pick {
            0 => 0,
            1 => 0x8000_0000,
            2 => 1.5f32.to_bits(),
            3 => 0x7fc0_0000,
            4 => 0x7fa0_0001,
            5 => f32::INFINITY.to_bits(),
            6 => ((x % 2000) as f32 - 1000.0).to_bits(),
            _ => x as u32,
        }),
        Type::F64 => Val::F64(match pick {
            0 => 0,
            1 => 0x8000_0000_0000_0000,
            2 => 1.5f64.to_bits(),
            3 => 0x7ff8_0000_0000_0000,
            4 => 0x7ff4_0000_0000_0001,
            5 => f64::NEG_INFINITY.to_bits(),
            6 => ((x % 2000) as f64 - 1000.0).to_bits(),
            _ => x,
        }),
        Type::V128 => Val::V128(((x as u128) << 64) | r as u128),
        Type::FuncRef | Type::ExternRef => {
            Val::Ref(if pick < 4 { None } else { Some((x % 4) as u32) })
        }
    }
}

fn run(
    m: &Module,
    state: &State,
    f: FuncId,
    args: &[Val],
    fuel: u64,
) -> Result<(Outcome, State), EvalError> {
    let mut ev = Evaluator::new(m, state.clone(), fuel);
    let out = ev.call(f, args)?;
    Ok((out, ev.state))
}

/// Runs `f` in `before` and `after` on `inputs` generated argument lists and compares.
/// `Err` describes the first difference.
pub fn check_module_function(
    before: &Module,
    after: &Module,
    f: FuncId,
    inputs: usize,
) -> Result<CheckReport, String> {
    match State::new(&before.env) {
        Ok(state) => check_function(before, after, &state, f, inputs),
        Err(_) => Ok(CheckReport { skipped: inputs as u64, ..CheckReport::default() }),
    }
}

/// [`check_module_function`] from a given initial state (instantiate once, check many functions).
pub fn check_function(
    before: &Module,
    after: &Module,
    state: &State,
    f: FuncId,
    inputs: usize,
) -> Result<CheckReport, String> {
    let mut rep = CheckReport::default();
    let func = &before.funcs[f.index()];
    if func.import.is_some() || func.layout.is_empty() {
        return Ok(rep);
    }
    let mut rng = Rng::new(f.0 as u64 + 1);
    for _ in 0..inputs {
        let args: Vec<Val> = func.sig.params.iter().map(|&t| gen_val(&mut rng, t)).collect();
        let a = match run(before, state, f, &args, FUEL) {
            Ok(a) => a,
            Err(_) => {
                rep.skipped += 1;
                continue;
            }
        };
        let b = match run(after, state, f, &args, FUEL * 4) {
            Ok(b) => b,
            Err(EvalError::CallDepth) => {
                rep.skipped += 1;
                continue;
            }
            Err(e) => {
                return Err(format!("{f} on {}: before {:?}, after {e:?}", show(&args), a.0));
            }
        };
        if a.0 != b.0 {
            return Err(format!("{f} on {}: before {:?}, after {:?}", show(&args), a.0, b.0));
        }
        if a.1 != b.1 {
            return Err(format!(
                "{f} on {}: same result but different memory/globals/tables",
                show(&args)
            ));
        }
        rep.compared += 1;
        rep.traps += matches!(a.0, Outcome::Trap(_)) as u64;
    }
    Ok(rep)
}

fn show(args: &[Val]) -> String {
    let v: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    format!("({})", v.join(", "))
}
