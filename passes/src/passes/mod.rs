//! The passes, one file each, and the registry that names them for pipelines.
//!
//! Adding a pass: write `passes/src/passes/NAME.rs` with a type implementing
//! [`crate::pass::FunctionPass`] (or [`crate::pass::Pass`] for module-wide work), declare it with
//! `mod NAME;` below and add one line to [`REGISTRY`]. See `passes/RULES.md`.

mod constfold;
mod copyprop;
mod dce;
mod gvn;
mod inline;
mod licm;
mod simplify;
mod simplifycfg;
pub mod util;

pub use inline::{Inline, InlineParams};

use crate::pass::Pass;

/// Creates a fresh instance of a pass.
pub type Constructor = fn() -> Box<dyn Pass>;

/// `(name, what it does, constructor)` for every pass a pipeline can name.
pub const REGISTRY: &[(&str, &str, Constructor)] = &[
    ("inline", "inline direct calls (size and growth budgets, never recursion)", || {
        Box::new(Inline::default())
    }),
    ("constfold", "fold operators on constants with exact wasm semantics", || {
        Box::new(constfold::ConstFold)
    }),
    ("simplify", "algebraic identities and strength reduction", || Box::new(simplify::Simplify)),
    ("dce", "remove unused side-effect-free instructions and block parameters", || {
        Box::new(dce::Dce)
    }),
    ("copyprop", "forward copies and block parameters that always receive one value", || {
        Box::new(copyprop::CopyProp)
    }),
    ("gvn", "dominator-scoped value numbering (CSE)", || Box::new(gvn::Gvn)),
    ("licm", "hoist loop-invariant pure instructions into preheaders", || Box::new(licm::Licm)),
    (
        "simplifycfg",
        "fold constant branches, drop unreachable blocks, merge and thread blocks",
        || Box::new(simplifycfg::SimplifyCfg),
    ),
];

/// Creates the pass called `name`.
pub fn create(name: &str) -> Option<Box<dyn Pass>> {
    REGISTRY.iter().find(|r| r.0 == name).map(|r| (r.2)())
}
