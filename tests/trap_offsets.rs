//! Backtrace offsets on every tier: a trap names, in each frame, the module byte offset of the
//! instruction the frame was executing (the trapping one innermost, the call in every caller),
//! and the same trap names the same offsets whichever tier ran it.
//!
//! The expectations come from the module itself: the offset must point at the trapping
//! operator's opcode byte in the binary (and at a `call`/`call_indirect` in the callers).

use tierup::{
    Config, Engine, Linker, Module, Store, Tier, TierUpMode, TierUpPolicy, Tiering, Trap, Val,
};

/// `go(kind, x)` reaches a trap two or three frames down: 0 an out-of-bounds load, 1 a division
/// by zero, 2 `unreachable`, 3 a trapping truncation, 4 a null `call_indirect` element; any
/// other kind returns normally (which warms the functions up).
const WAT: &str = r#"(module
  (type $unary (func (param i32) (result i32)))
  (memory 1)
  (table 2 funcref)
  (elem (i32.const 0) $load)
  (func $load (type $unary)
    (i32.load offset=16 (local.get 0)))
  (func $div (type $unary)
    (i32.div_u (i32.const 100) (local.get 0)))
  (func $crash (type $unary)
    (if (i32.eqz (local.get 0)) (then unreachable))
    (local.get 0))
  (func $trunc (type $unary)
    (i32.trunc_f32_s (f32.div (f32.const 0) (f32.convert_i32_s (local.get 0)))))
  (func $mid (param i32 i32) (result i32)
    (block $b
      (block $k4 (block $k3 (block $k2 (block $k1 (block $k0
        (br_table $k0 $k1 $k2 $k3 $k4 $b (local.get 0)))
        (return (call $load (local.get 1))))
        (return (call $div (local.get 1))))
        (return (call $crash (local.get 1))))
        (return (call $trunc (local.get 1))))
      (return (call_indirect (type $unary) (local.get 1) (i32.const 1))))
    (i32.add (call $load (i32.const 0)) (call $div (i32.const 7))))
  (func (export "go") (param i32 i32) (result i32)
    (call $mid (local.get 0) (local.get 1))))"#;

/// The opcode each trap kind stops at: `i32.load`, `i32.div_u`, `unreachable`,
/// `i32.trunc_f32_s`, `call_indirect`.
const TRAPPING_OPCODES: [u8; 5] = [0x28, 0x6e, 0x00, 0xa8, 0x11];
/// The arguments that make each kind trap.
const TRAPPING_ARGS: [i32; 5] = [70000, 0, 0, 0, 0];

/// The configurations under test: each tier pinned, and `auto` with thresholds low enough that
/// the warm-up moves everything to tier 2 before the traps; with guard pages and without.
fn configs() -> Vec<(String, Config)> {
    let mut configs = Vec::new();
    for signals in [true, false] {
        for tier in [
            Tiering::Pinned(Tier::Interp),
            Tiering::Pinned(Tier::Baseline),
            Tiering::Pinned(Tier::Optimized),
            Tiering::Auto,
        ] {
            let config = Config {
                tier,
                tier_up: TierUpPolicy { threshold: 1, opt_threshold: 20, ..Default::default() },
                tier_up_mode: TierUpMode::Sync,
                signals_based_traps: signals,
                // Inlining folds a callee's frame into its caller's (see `inlined_callees_...`).
                opt_pipeline: tierup_passes::pass::DEFAULT_PIPELINE.replace("inline,", ""),
                ..Config::default()
            };
            configs.push((format!("{}, signals {signals}", tier.name()), config));
        }
    }
    configs
}

/// Runs `go(kind, arg)` after warming up, in a fresh store; the trap.
fn trap_of(module: &Module, kind: i32, warm_up: bool) -> Trap {
    let mut store = Store::new(module.engine(), ());
    let instance = Linker::new().instantiate(&mut store, module).unwrap();
    let go = instance.get_func(&store, "go").unwrap();
    let mut out = [Val::I32(0)];
    for _ in 0..if warm_up { 200 } else { 0 } {
        go.call(&mut store, &[Val::I32(9), Val::I32(1)], &mut out).unwrap();
    }
    let args = [Val::I32(kind), Val::I32(TRAPPING_ARGS[kind as usize])];
    match go.call(&mut store, &args, &mut out) {
        Err(tierup::Error::Trap(trap)) => trap,
        other => panic!("kind {kind}: expected a trap, got {other:?}"),
    }
}

/// `(function index, offset)` of each frame, innermost first.
type Frames = Vec<(u32, Option<u32>)>;

/// The [`Frames`] of `trap`.
fn frames(trap: &Trap) -> Frames {
    trap.backtrace.iter().map(|f| (f.func_index, f.wasm_offset)).collect()
}

#[test]
fn every_tier_names_the_trapping_instruction_and_each_call() {
    let binary = wat::parse_str(WAT).unwrap();
    let mut reference: Vec<Option<Frames>> = vec![None; TRAPPING_OPCODES.len()];
    for (name, config) in configs() {
        let warm_up = config.tier == Tiering::Auto;
        let engine = Engine::new(config);
        let module = Module::new(&engine, &binary).unwrap();
        for (kind, &opcode) in TRAPPING_OPCODES.iter().enumerate() {
            let trap = trap_of(&module, kind as i32, warm_up);
            let what = format!("{name}, kind {kind}: {trap}\n{}", trap.backtrace_string());
            let innermost = trap.backtrace[0].wasm_offset.expect(&what);
            assert_eq!(binary[innermost as usize], opcode, "{what}");
            for caller in &trap.backtrace[1..] {
                let at = caller.wasm_offset.expect(&what) as usize;
                assert!(matches!(binary[at], 0x10 | 0x11), "a call at {at:#x}: {what}");
            }
            if warm_up {
                let top = trap.backtrace[0].tier;
                assert!(top > Tier::Interp || kind == 4, "warmed up to compiled code: {what}");
            }
            let got = frames(&trap);
            match &reference[kind] {
                None => reference[kind] = Some(got),
                Some(expected) => assert_eq!(&got, expected, "{what}"),
            }
        }
    }
}

/// Tier 2 inlines small callees that ran: the callee's frame is then gone, and the caller's
/// frame names the call it replaced (the outer offset stays right).
#[test]
fn inlined_callees_leave_their_callers_at_the_call() {
    let binary = wat::parse_str(WAT).unwrap();
    let engine = Engine::new(Config {
        tier: Tiering::Auto,
        tier_up: TierUpPolicy { threshold: 1, opt_threshold: 20, ..Default::default() },
        tier_up_mode: TierUpMode::Sync,
        ..Config::default()
    });
    let module = Module::new(&engine, &binary).unwrap();
    let trap = trap_of(&module, 1, true);
    let what = format!("{trap}\n{}", trap.backtrace_string());
    let innermost = &trap.backtrace[0];
    let at = innermost.wasm_offset.expect(&what) as usize;
    match innermost.func_name.as_deref() {
        Some("div") => assert_eq!(binary[at], 0x6e, "{what}"),
        _ => assert_eq!(binary[at], 0x10, "the inlined call: {what}"),
    }
}

/// A debugger that lets every stop go on.
struct ContinueAlways;

impl tierup::debug::Debugger for ContinueAlways {
    fn on_stop(&mut self, _view: &tierup::debug::DebugView<'_>) -> tierup::debug::Resume {
        tierup::debug::Resume::Continue
    }
}

/// A caller running its debug translation (a breakpoint in it) names its call in a trap's
/// backtrace: its position is read against the translation it runs, not the ordinary one
/// (which a different allocation holds, or which does not exist yet).
#[test]
fn a_caller_in_its_debug_translation_names_its_call() {
    let binary = wat::parse_str(WAT).unwrap();
    for tier in [Tiering::Pinned(Tier::Interp), Tiering::Auto] {
        let engine = Engine::new(Config { tier, ..Config::default() });
        let module = Module::new(&engine, &binary).unwrap();
        let mid = 4;
        module.set_breakpoint(mid, None).unwrap();
        let mut store = Store::new(module.engine(), ());
        store.set_debugger(Box::new(ContinueAlways));
        let instance = Linker::new().instantiate(&mut store, &module).unwrap();
        let go = instance.get_func(&store, "go").unwrap();
        let mut out = [Val::I32(0)];
        // Kind 2: `$crash` reaches `unreachable` under `$mid`.
        let trap = match go.call(&mut store, &[Val::I32(2), Val::I32(0)], &mut out) {
            Err(tierup::Error::Trap(trap)) => trap,
            other => panic!("expected a trap, got {other:?}"),
        };
        let what = format!("{tier:?}: {trap}\n{}", trap.backtrace_string());
        assert_eq!(trap.backtrace[1].func_index, mid, "{what}");
        let at = trap.backtrace[1].wasm_offset.expect(&what) as usize;
        assert_eq!(binary[at], 0x10, "the call in $mid: {what}");
    }
}
