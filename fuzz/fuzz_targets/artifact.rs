//! Fuzz target `artifact`: the compiled-code artifact loader (`Module::deserialize`) on damaged
//! artifacts.
//!
//! A seed artifact (a small module with a loop, memory accesses, an indirect call and a SIMD
//! function, compiled by tier 1) is made once. The first input byte picks the mode:
//! - even: the remaining bytes are the artifact, as-is (mostly rejected by the magic, version or
//!   checksum);
//! - odd: the seed with the remaining bytes applied as edits (pairs of a position and a value),
//!   its checksum recomputed afterwards, so the loader's structural checks (lengths, offsets,
//!   indexes) see the damage.
//!
//! Loading must end in `Ok` or an error, never a panic or a crash. Loaded code is mapped but never
//! run: a valid checksum over edited machine code is exactly what the loader cannot judge.

#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use tierup::{Config, Engine, Module, Tier};

const SEED_MODULE: &str = r#"(module
    (type $t (func (param i32) (result i32)))
    (memory 1)
    (table 3 funcref)
    (global $g (mut i32) (i32.const 7))
    (elem (i32.const 1) $inc $lanes)
    (func $inc (type $t) (i32.add (local.get 0) (global.get $g)))
    (func $lanes (type $t) (i32x4.extract_lane 1 (i32x4.splat (local.get 0))))
    (func (export "go") (param i32) (result i32) (local $acc i32)
      (block $out
        (loop $next
          (br_if $out (i32.eqz (local.get 0)))
          (i32.store offset=8 (local.get 0)
            (call_indirect (type $t) (i32.load8_u (local.get 0)) (i32.const 1)))
          (local.set $acc (i32.xor (local.get $acc) (i32.load offset=8 (local.get 0))))
          (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
          (br $next)))
      (local.get $acc)))"#;

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| Engine::new(Config { tier: Tier::Baseline.into(), ..Config::default() }))
}

fn seed() -> &'static [u8] {
    static SEED: OnceLock<Vec<u8>> = OnceLock::new();
    SEED.get_or_init(|| Module::new(engine(), SEED_MODULE).expect("the seed compiles").serialize())
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let artifact = if mode % 2 == 0 {
        rest.to_vec()
    } else {
        let mut artifact = seed().to_vec();
        let body = artifact.len() - 4;
        for edit in rest.chunks_exact(3) {
            let at = u16::from_le_bytes([edit[0], edit[1]]) as usize % body;
            artifact[at] = edit[2];
        }
        let crc = crc32fast::hash(&artifact[..body]);
        artifact[body..].copy_from_slice(&crc.to_le_bytes());
        artifact
    };
    // SAFETY: nothing loaded is ever run (no instance is made); loading maps the code only.
    let _ = unsafe { Module::deserialize(engine(), &artifact) };
});
