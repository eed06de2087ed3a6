//! The compiler seam: what every compiling tier implements, and the only way tiering reaches one.
//!
//! A compiler turns one validated function of a module, with its frame layout (tier 0's, which
//! every tier runs on) and its profile, into a [`CompiledFunc`]: code entered with the
//! `FuncEntry` convention, its on-stack-replacement entries by loop, its heap-access sites for the
//! fault handler, and its compile time. Tiering decides when, calls it (on a compile thread or the
//! requesting one), and installs the result; a compiler never installs anything itself.

use super::{FuncProfile, Tier};
use crate::code::{CompiledFunc, CompiledParts};
use crate::module::ModuleInner;
use crate::vm::frame::FrameLayout;

/// Why a function was not compiled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompileError {
    /// The function uses something the tier does not compile; it stays in a lower tier, the
    /// refusal is recorded, and it is never retried.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// A compiler bug (reported, and treated like a refusal).
    #[error("internal error: {0}")]
    Internal(String),
}

/// Places the code of a batch's successful compiles with `place` (in one mapping) and returns
/// every outcome in order: the placed code, or the refusal; a failed placement fails them all.
pub(crate) fn place_outcomes(
    outcomes: impl IntoIterator<Item = Result<CompiledParts, CompileError>>,
    place: impl FnOnce(Vec<CompiledParts>) -> std::io::Result<Vec<CompiledFunc>>,
) -> Vec<Result<CompiledFunc, CompileError>> {
    let (mut results, mut parts) = (Vec::new(), Vec::new());
    for outcome in outcomes {
        results.push(outcome.map(|p| parts.push(p)));
    }
    let mut placed = match place(parts) {
        Ok(placed) => placed.into_iter(),
        Err(e) => {
            let e = CompileError::Internal(e.to_string());
            return results.into_iter().map(|r| r.and(Err(e.clone()))).collect();
        }
    };
    let mut placed_next = |r: Result<(), CompileError>| {
        r.map(|()| placed.next().expect("one placed function per compiled one"))
    };
    results.into_iter().map(&mut placed_next).collect()
}

/// A compiling tier.
pub(crate) trait Compiler: Sync {
    /// Which tier this is.
    fn tier(&self) -> Tier;

    /// Compiles defined function `def` of `module` (validated already), whose frame tier 0 lays
    /// out as `layout`, for the host.
    fn compile(
        &self,
        module: &ModuleInner,
        def: u32,
        layout: &FrameLayout,
        profile: &FuncProfile,
    ) -> Result<CompiledFunc, CompileError>;

    /// Compiles many functions at once (`jobs`: each defined function with its layout and
    /// profile), for tiering's up-front compiles, in order: a tier may place all their code in
    /// one mapping. The default compiles them one by one.
    fn compile_batch(
        &self,
        module: &ModuleInner,
        jobs: &[(u32, &FrameLayout, FuncProfile)],
    ) -> Vec<Result<CompiledFunc, CompileError>> {
        jobs.iter()
            .map(|(def, layout, profile)| self.compile(module, *def, layout, profile))
            .collect()
    }

    /// Maps code this tier compiled in another process (an artifact's or the code cache's
    /// `parts`), all in one mapping, as [`Compiler::compile_batch`] places what it compiles.
    fn place_loaded(
        &self,
        _module: &ModuleInner,
        parts: Vec<CompiledParts>,
    ) -> std::io::Result<Vec<CompiledFunc>> {
        CompiledFunc::new_batch(parts)
    }

    /// Whether this tier compiles on-stack-replacement entries apart from functions
    /// ([`Compiler::compile_osr`]).
    fn separate_osr_entries(&self) -> bool {
        false
    }

    /// An entry of `def` at the header of its loop `loop_ordinal`, on a frame a lower tier was
    /// running (every value in its canonical slot or a constant), compiled apart from the
    /// function's own code; for tiers whose code has no such entries inside
    /// ([`CompiledFunc::osr_entry`]).
    fn compile_osr(
        &self,
        _module: &ModuleInner,
        _def: u32,
        _layout: &FrameLayout,
        _loop_ordinal: u32,
    ) -> Result<CompiledFunc, CompileError> {
        Err(CompileError::Unsupported("separate on-stack-replacement entries".into()))
    }
}
