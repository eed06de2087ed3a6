//! Chooses how the interpreter dispatches (see `src/interp/mod.rs`): each handler tail-calls the
//! next (`tierup_tail_dispatch`) only where the compiler turns those calls into jumps, that is in
//! optimized builds on x86-64 and aarch64; elsewhere (debug builds, other targets) handlers return
//! to a loop, which never depends on the optimizer. `TIERUP_INTERP_DISPATCH=loop|tail` overrides
//! the choice (to test the loop in an optimized build).

fn main() {
    println!("cargo::rustc-check-cfg=cfg(tierup_tail_dispatch)");
    println!("cargo::rerun-if-env-changed=TIERUP_INTERP_DISPATCH");
    let optimized = matches!(std::env::var("OPT_LEVEL").as_deref(), Ok("2" | "3"));
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let tail = match std::env::var("TIERUP_INTERP_DISPATCH").as_deref() {
        Ok("loop") => false,
        Ok("tail") => true,
        _ => optimized && matches!(arch.as_str(), "x86_64" | "aarch64"),
    };
    if tail {
        println!("cargo::rustc-cfg=tierup_tail_dispatch");
    }
}
