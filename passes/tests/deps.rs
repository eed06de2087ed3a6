//! The crate boundary: `tierup-passes` depends on petgraph only (never wasmparser, dynasm or the
//! runtime), so its IR stays independent of how wasm is decoded and run.

#[test]
fn the_only_dependency_is_petgraph() {
    let manifest =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml")).unwrap();
    let deps: Vec<&str> = manifest
        .split("[dependencies]")
        .nth(1)
        .unwrap()
        .lines()
        .take_while(|l| !l.starts_with('['))
        .filter_map(|l| {
            l.split('=').next().map(str::trim).filter(|n| !n.is_empty() && !n.starts_with('#'))
        })
        .collect();
    assert_eq!(deps, ["petgraph"]);
}
