//! The `Pass` trait, what a pass reports (`Changed`), and the `PassManager`: pipelines parsed from
//! strings like `inline,constfold,dce` (LLVM's `-passes=` idea), per-pass timing and statistics,
//! `--print-before`/`--print-after`/`--print-after-all`, the verifier after every pass, and
//! optionally the evaluator's before/after check.
//!
//! Pipeline syntax: pass names separated by commas; `fix(a,b,c)` repeats its passes until none
//! changes anything (at most [`FIX_LIMIT`] rounds); `-O` (or `O`, `default`) is [`DEFAULT_PIPELINE`].
//! There is no analysis manager: a [`Context`] caches analyses per function and drops them as a
//! pass's [`Changed`] says.

use crate::analysis::{CallGraph, FuncAnalyses};
use crate::check::{CheckReport, check_function, check_module_function};
use crate::ir::{Env, FuncId, Function, Module};
use crate::text::{print_function, print_module};
use crate::verify::{VerifierErrors, verify_function};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::{Duration, Instant};

/// The default `-O` pipeline: inline first, then one round of the scalar cleanup, loop-invariant
/// code motion, and the cleanup again.
///
/// One round, not `fix(...)` to a fixed point: on the corpus, rounds after the first change
/// little that matters (`tierup bench --tier optimized --passes <this>` against the same with
/// both cleanups in `fix(...)`, 5 runs at medium size: run time 1.00x geomean over 13 programs,
/// every program within 2%) and cost 8% of tier 2's compile time (that run printed 1.96 MB/s
/// for one round; the `scripts/main --record` just before, with `fix(...)`, 1.80 MB/s).
/// `fix(...)` stays for pipelines that want the fixed point.
pub const DEFAULT_PIPELINE: &str = "simplifycfg,copyprop,inline,\
    simplifycfg,copyprop,constfold,simplify,gvn,dce,licm,\
    simplifycfg,copyprop,constfold,simplify,gvn,dce";

/// Most rounds a `fix(...)` group runs.
pub const FIX_LIMIT: usize = 8;

/// What a pass changed, so cached analyses can be dropped precisely.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Changed {
    /// Instructions or values changed (drops use lists and liveness).
    pub insts: bool,
    /// Blocks or edges changed (drops everything of that function).
    pub cfg: bool,
    /// Direct calls were added or removed (drops the call graph).
    pub calls: bool,
}

impl Changed {
    /// Nothing changed.
    pub const NONE: Changed = Changed { insts: false, cfg: false, calls: false };
    /// Only instructions changed.
    pub const INSTS: Changed = Changed { insts: true, cfg: false, calls: false };
    /// The CFG changed too.
    pub const CFG: Changed = Changed { insts: true, cfg: true, calls: false };
    /// Everything, calls included.
    pub const ALL: Changed = Changed { insts: true, cfg: true, calls: true };

    /// Whether anything changed.
    pub fn any(self) -> bool {
        self.insts || self.cfg || self.calls
    }
}

impl std::ops::BitOr for Changed {
    type Output = Changed;
    fn bitor(self, o: Changed) -> Changed {
        Changed { insts: self.insts | o.insts, cfg: self.cfg | o.cfg, calls: self.calls | o.calls }
    }
}

impl std::ops::BitOrAssign for Changed {
    fn bitor_assign(&mut self, o: Changed) {
        *self = *self | o;
    }
}

/// Named counters a pass bumps (`"calls inlined"`, `"folded"`, ...).
pub type Counters = BTreeMap<&'static str, u64>;

/// A module and its cached analyses, handed to each pass.
pub struct Context<'m> {
    /// The module being optimized.
    pub module: &'m mut Module,
    /// The functions with bodies, when the context was made, in index order: what passes visit.
    /// No pass adds a function, and an engine compiling one function holds thousands of bodiless
    /// stand-ins that per-pass loops would otherwise walk. What the context keeps per function
    /// is kept per body, by position in this list (its "slot"): arrays over every function
    /// cost more to clear than a tier-2 compile of a small function does.
    bodies: Vec<FuncId>,
    /// Per body, made when a pass first asks.
    analyses: Vec<FuncAnalyses>,
    callgraph: Option<CallGraph>,
    /// The running pass's counters.
    pub counters: Counters,
    /// Per body, time spent in function passes (for compile-budget measurements).
    func_time: Vec<Duration>,
    /// Per body, bumped whenever a pass reports a change to the function.
    versions: Vec<u64>,
    /// `(pass, function) -> version` at which the pass last ran on the function and changed
    /// nothing: running it again on the same version would change nothing either (passes are
    /// deterministic functions of the IR), so a `fix(...)` round skips it.
    clean: std::collections::HashMap<(&'static str, usize), u64>,
    /// The one function function passes still visit, in a focused run once no pass left reads
    /// other functions ([`PassManager::run_focused`]).
    focus: Option<FuncId>,
}

impl<'m> Context<'m> {
    /// A context with nothing cached.
    pub fn new(module: &'m mut Module) -> Context<'m> {
        let n = module.funcs.len();
        let bodies: Vec<FuncId> = (0..n)
            .filter(|&i| module.funcs[i].import.is_none() && !module.funcs[i].layout.is_empty())
            .map(|i| FuncId(i as u32))
            .collect();
        let k = bodies.len();
        Context {
            module,
            bodies,
            analyses: (0..k).map(|_| FuncAnalyses::default()).collect(),
            callgraph: None,
            counters: Counters::new(),
            func_time: vec![Duration::ZERO; k],
            versions: vec![0; k],
            clean: std::collections::HashMap::new(),
            focus: None,
        }
    }

    /// Instructions in all function bodies.
    fn inst_count(&self) -> i64 {
        self.bodies.iter().map(|f| self.module.funcs[f.index()].inst_count()).sum::<usize>() as i64
    }

    /// The position of `f` in `bodies` (`None`: it had no body when the context was made).
    fn slot(&self, f: FuncId) -> Option<usize> {
        self.bodies.binary_search(&f).ok()
    }

    /// How many times passes reported changing `f` (0 for a function without a body).
    pub fn version(&self, f: FuncId) -> u64 {
        self.slot(f).map_or(0, |k| self.versions[k])
    }

    /// Function `f` (which has a body) with its environment and analysis cache.
    pub fn func(&mut self, f: FuncId) -> (&Env, &mut Function, &mut FuncAnalyses) {
        let k = self.slot(f).expect("analyses of a function without a body");
        (&self.module.env, &mut self.module.funcs[f.index()], &mut self.analyses[k])
    }

    /// The call graph (cached).
    pub fn callgraph(&mut self) -> &CallGraph {
        self.callgraph.get_or_insert_with(|| CallGraph::of_bodies(self.module, self.bodies.clone()))
    }

    /// The call graph, taken out of the cache (built if missing): for a pass that changes calls
    /// while it walks the graph, which would drop the cached one anyway.
    pub fn take_callgraph(&mut self) -> CallGraph {
        let (module, bodies) = (&*self.module, &self.bodies);
        self.callgraph.take().unwrap_or_else(|| CallGraph::of_bodies(module, bodies.clone()))
    }

    /// Drops what `changed` invalidates for function `f`.
    pub fn invalidate(&mut self, f: FuncId, changed: Changed) {
        if let Some(k) = self.slot(f) {
            if changed.any() {
                self.versions[k] += 1;
            }
            if changed.cfg {
                self.analyses[k].invalidate_all();
            } else if changed.insts {
                self.analyses[k].invalidate_insts();
            }
        }
        if changed.calls {
            self.callgraph = None;
        }
    }

    /// Adds `n` to a counter.
    pub fn bump(&mut self, counter: &'static str, n: u64) {
        *self.counters.entry(counter).or_default() += n;
    }

    /// Whether analyses of `f` are cached (for tests).
    pub fn cached(&self, f: FuncId) -> [bool; 5] {
        self.slot(f).map_or([false; 5], |k| self.analyses[k].cached())
    }
}

/// An optimization pass over a whole module.
pub trait Pass {
    /// The name used in pipelines.
    fn name(&self) -> &'static str;
    /// Runs over the module; reports what changed. Must leave the IR valid.
    fn run(&mut self, cx: &mut Context<'_>) -> Changed;
    /// Whether it reads functions other than the one it changes (the inliner reads its callees):
    /// a focused run ([`PassManager::run_focused`]) optimizes the other functions only until the
    /// last such pass has run.
    fn reads_other_functions(&self) -> bool {
        false
    }
}

/// A pass that works on one function at a time (most passes): implement this and it is a
/// [`Pass`] that runs on every defined function.
pub trait FunctionPass {
    /// The name used in pipelines.
    fn name(&self) -> &'static str;
    /// Runs over one function.
    fn run_on_function(
        &mut self,
        env: &Env,
        func: &mut Function,
        analyses: &mut FuncAnalyses,
        counters: &mut Counters,
    ) -> Changed;
}

impl<T: FunctionPass> Pass for T {
    fn name(&self) -> &'static str {
        FunctionPass::name(self)
    }

    fn run(&mut self, cx: &mut Context<'_>) -> Changed {
        let mut all = Changed::NONE;
        for k in 0..cx.bodies.len() {
            let id = cx.bodies[k];
            let i = id.index();
            if cx.module.funcs[i].layout.is_empty() || cx.focus.is_some_and(|f| f != id) {
                continue;
            }
            let name = FunctionPass::name(self);
            if cx.clean.get(&(name, i)) == Some(&cx.versions[k]) {
                continue;
            }
            let mut counters = std::mem::take(&mut cx.counters);
            let start = Instant::now();
            let (env, func, an) = cx.func(id);
            let changed = self.run_on_function(env, func, an, &mut counters);
            cx.func_time[k] += start.elapsed();
            cx.counters = counters;
            cx.invalidate(id, changed);
            if !changed.any() {
                cx.clean.insert((name, i), cx.versions[k]);
            }
            all |= changed;
        }
        all
    }
}

/// Whether `step` has a pass that reads functions other than the one it changes.
fn reads_other_functions(step: &Step) -> bool {
    match step {
        Step::Pass(p) => p.reads_other_functions(),
        Step::Fix(inner) => inner.iter().any(reads_other_functions),
    }
}

/// A pipeline element.
pub enum Step {
    /// One pass.
    Pass(Box<dyn Pass>),
    /// Repeat until nothing changes.
    Fix(Vec<Step>),
}

/// A pipeline that does not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelineError(pub String);

impl std::fmt::Display for PipelineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PipelineError {}

/// Parses a pipeline string into steps, creating passes from the registry.
pub fn parse_pipeline(s: &str) -> Result<Vec<Step>, PipelineError> {
    let s = s.trim();
    let s = if matches!(s, "-O" | "O" | "default") { DEFAULT_PIPELINE } else { s };
    let mut chars = s.chars().filter(|c| !c.is_whitespace()).peekable();
    let steps = parse_steps(&mut chars)?;
    if let Some(c) = chars.next() {
        return Err(PipelineError(format!("unexpected `{c}` in pipeline")));
    }
    Ok(steps)
}

fn parse_steps(
    chars: &mut std::iter::Peekable<impl Iterator<Item = char>>,
) -> Result<Vec<Step>, PipelineError> {
    let mut steps = Vec::new();
    loop {
        let mut name = String::new();
        while let Some(&c) = chars.peek() {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                name.push(c);
                chars.next();
            } else {
                break;
            }
        }
        if chars.peek() == Some(&'(') {
            chars.next();
            if name != "fix" {
                return Err(PipelineError(format!("unknown group `{name}(...)`, only fix(...)")));
            }
            steps.push(Step::Fix(parse_steps(chars)?));
            if chars.next() != Some(')') {
                return Err(PipelineError("missing `)`".into()));
            }
        } else if matches!(name.as_str(), "-O" | "O" | "default") {
            steps.extend(parse_pipeline(DEFAULT_PIPELINE)?);
        } else if !name.is_empty() {
            match crate::passes::create(&name) {
                Some(p) => steps.push(Step::Pass(p)),
                None => {
                    let known: Vec<&str> = crate::passes::REGISTRY.iter().map(|r| r.0).collect();
                    return Err(PipelineError(format!(
                        "unknown pass `{name}` (known: {})",
                        known.join(", ")
                    )));
                }
            }
        }
        if chars.peek() == Some(&',') {
            chars.next();
            continue;
        }
        return Ok(steps);
    }
}

/// Timing and statistics of one pass over the whole run.
#[derive(Clone, Debug, Default)]
pub struct PassStats {
    /// Times it ran.
    pub runs: u64,
    /// Times it changed something.
    pub changed: u64,
    /// Total time.
    pub time: Duration,
    /// Instructions removed (net, summed over runs that shrank the module).
    pub insts_removed: u64,
    /// Instructions added (net, summed over runs that grew it).
    pub insts_added: u64,
    /// The pass's own counters.
    pub counters: Counters,
}

/// What the pipeline does besides running passes.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Verify the module after every pass (on by default in debug builds and tests).
    pub verify: bool,
    /// Run the evaluator before/after check after every pass, on this many generated inputs per
    /// function (0: off).
    pub check_inputs: usize,
    /// Print the IR before these passes.
    pub print_before: Vec<String>,
    /// Print the IR after these passes.
    pub print_after: Vec<String>,
    /// Print the IR after every pass.
    pub print_after_all: bool,
    /// Only print this function.
    pub print_func: Option<FuncId>,
}

/// Why a pipeline failed: a pass left invalid IR or changed behaviour.
#[derive(Debug)]
pub enum PipelineFailure {
    /// The verifier rejected the IR after a pass.
    Verify {
        /// The pass.
        pass: &'static str,
        /// The errors.
        errors: VerifierErrors,
    },
    /// The evaluator found a function that behaves differently after the pass.
    Semantics {
        /// The pass.
        pass: &'static str,
        /// What differed.
        msg: String,
    },
}

impl std::fmt::Display for PipelineFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PipelineFailure::Verify { pass, errors } => {
                write!(f, "the verifier rejects the IR after `{pass}`:\n{errors}")
            }
            PipelineFailure::Semantics { pass, msg } => {
                write!(f, "`{pass}` changed behaviour: {msg}")
            }
        }
    }
}

impl std::error::Error for PipelineFailure {}

/// Runs a pipeline over modules, with statistics, timing, printing and checking.
pub struct PassManager {
    steps: Vec<Step>,
    /// Options.
    pub options: Options,
    /// Per pass, in order of first run.
    pub stats: Vec<(&'static str, PassStats)>,
    /// IR printed by the print options.
    pub printed: String,
    /// Evaluator checks done and skipped.
    pub checks: CheckReport,
    /// Time function passes spent on each function with a body in the last run.
    pub func_time: Vec<(FuncId, Duration)>,
    /// Per body (see [`Context`]), its version at its last verification in the current run.
    verified: Vec<u64>,
}

impl PassManager {
    /// A manager for a pipeline string; verification on in debug builds.
    pub fn new(pipeline: &str) -> Result<PassManager, PipelineError> {
        Ok(PassManager {
            steps: parse_pipeline(pipeline)?,
            options: Options { verify: cfg!(debug_assertions), ..Options::default() },
            stats: Vec::new(),
            printed: String::new(),
            checks: CheckReport::default(),
            func_time: Vec::new(),
            verified: Vec::new(),
        })
    }

    /// A manager for passes built by hand (for example one that is not in the registry yet).
    pub fn from_steps(steps: Vec<Step>) -> PassManager {
        PassManager {
            steps,
            options: Options { verify: cfg!(debug_assertions), ..Options::default() },
            stats: Vec::new(),
            printed: String::new(),
            checks: CheckReport::default(),
            func_time: Vec::new(),
            verified: Vec::new(),
        }
    }

    /// Runs the pipeline over a module.
    pub fn run(&mut self, module: &mut Module) -> Result<Changed, PipelineFailure> {
        self.run_with_focus(module, None)
    }

    /// Runs the pipeline for function `f` alone: the module's other functions are there for
    /// the inliner, so they are optimized only until the last pass that reads other functions
    /// has run; after it, function passes visit `f` only (what a compiler of one function at a
    /// time, like tier 2, needs: it keeps `f` and drops the rest).
    pub fn run_focused(
        &mut self,
        module: &mut Module,
        f: FuncId,
    ) -> Result<Changed, PipelineFailure> {
        self.run_with_focus(module, Some(f))
    }

    /// [`Self::run`], or with `focus` [`Self::run_focused`].
    fn run_with_focus(
        &mut self,
        module: &mut Module,
        focus: Option<FuncId>,
    ) -> Result<Changed, PipelineFailure> {
        let mut steps = std::mem::take(&mut self.steps);
        let mut cx = Context::new(module);
        self.verified = vec![0; cx.bodies.len()];
        let r = self.run_top_steps(&mut steps, &mut cx, focus);
        self.func_time = cx.bodies.iter().copied().zip(cx.func_time.iter().copied()).collect();
        self.steps = steps;
        r
    }

    /// The pipeline's steps in order, narrowed to `focus` (if any) after the last step that
    /// reads other functions.
    fn run_top_steps(
        &mut self,
        steps: &mut [Step],
        cx: &mut Context<'_>,
        focus: Option<FuncId>,
    ) -> Result<Changed, PipelineFailure> {
        let last_reader = steps.iter().rposition(reads_other_functions);
        let mut all = Changed::NONE;
        for (n, step) in steps.iter_mut().enumerate() {
            if last_reader.is_none_or(|last| n > last) {
                cx.focus = focus;
            }
            all |= self.run_steps(std::slice::from_mut(step), cx)?;
        }
        Ok(all)
    }

    fn run_steps(
        &mut self,
        steps: &mut [Step],
        cx: &mut Context<'_>,
    ) -> Result<Changed, PipelineFailure> {
        let mut all = Changed::NONE;
        for step in steps {
            match step {
                Step::Pass(p) => all |= self.run_pass(p.as_mut(), cx)?,
                Step::Fix(inner) => {
                    for _ in 0..FIX_LIMIT {
                        let c = self.run_steps(inner, cx)?;
                        all |= c;
                        if !c.any() {
                            break;
                        }
                    }
                }
            }
        }
        Ok(all)
    }

    fn print(&mut self, title: &str, m: &Module) {
        writeln!(self.printed, "; {title}").unwrap();
        match self.options.print_func {
            Some(f) => self.printed.push_str(&print_function(f, &m.funcs[f.index()])),
            None => self.printed.push_str(&print_module(m)),
        }
    }

    fn run_pass(
        &mut self,
        p: &mut dyn Pass,
        cx: &mut Context<'_>,
    ) -> Result<Changed, PipelineFailure> {
        let name = p.name();
        if self.options.print_before.iter().any(|n| n == name) {
            self.print(&format!("IR before {name}"), cx.module);
        }
        let before = (self.options.check_inputs > 0).then(|| cx.module.clone());
        let n0 = cx.inst_count();
        cx.counters.clear();
        let start = Instant::now();
        let changed = p.run(cx);
        let time = start.elapsed();
        let n1 = cx.inst_count();
        let idx = match self.stats.iter().position(|s| s.0 == name) {
            Some(i) => i,
            None => {
                self.stats.push((name, PassStats::default()));
                self.stats.len() - 1
            }
        };
        let st = &mut self.stats[idx].1;
        st.runs += 1;
        st.changed += changed.any() as u64;
        st.time += time;
        if n1 < n0 {
            st.insts_removed += (n0 - n1) as u64;
        } else {
            st.insts_added += (n1 - n0) as u64;
        }
        for (k, v) in std::mem::take(&mut cx.counters) {
            *st.counters.entry(k).or_default() += v;
        }
        if self.options.print_after_all || self.options.print_after.iter().any(|n| n == name) {
            self.print(&format!("IR after {name}"), cx.module);
        }
        if self.options.verify {
            // Only functions a pass changed since their last verification.
            let mut errors = Vec::new();
            for (k, &f) in cx.bodies.iter().enumerate() {
                let i = f.index();
                if self.verified[k] == cx.versions[k] {
                    continue;
                }
                self.verified[k] = cx.versions[k];
                if let Err(e) =
                    verify_function(&cx.module.env, FuncId(i as u32), &cx.module.funcs[i])
                {
                    errors.extend(e.0);
                }
            }
            if !errors.is_empty() {
                return Err(PipelineFailure::Verify { pass: name, errors: VerifierErrors(errors) });
            }
        }
        if let Some(before) = before
            && changed.any()
        {
            let state = crate::eval::State::new(&before.env);
            for i in 0..before.funcs.len() {
                let f = FuncId(i as u32);
                // Unchanged functions need no check (a caller's behaviour only changes through a
                // callee that changed, which is checked itself).
                if before.funcs[i].layout.is_empty() || before.funcs[i] == cx.module.funcs[i] {
                    continue;
                }
                let r = match &state {
                    Ok(state) => {
                        check_function(&before, cx.module, state, f, self.options.check_inputs)
                    }
                    Err(_) => {
                        check_module_function(&before, cx.module, f, self.options.check_inputs)
                    }
                };
                match r {
                    Ok(rep) => self.checks.add(&rep),
                    Err(msg) => return Err(PipelineFailure::Semantics { pass: name, msg }),
                }
            }
        }
        Ok(changed)
    }

    /// The statistics table: one line per pass.
    pub fn stats_table(&self) -> String {
        let mut out = String::new();
        writeln!(
            out,
            "{:<12} {:>5} {:>8} {:>10} {:>8} {:>8}  counters",
            "pass", "runs", "changed", "time(ms)", "removed", "added"
        )
        .unwrap();
        for (name, s) in &self.stats {
            let counters: Vec<String> =
                s.counters.iter().map(|(k, v)| format!("{k}={v}")).collect();
            writeln!(
                out,
                "{:<12} {:>5} {:>8} {:>10.3} {:>8} {:>8}  {}",
                name,
                s.runs,
                s.changed,
                s.time.as_secs_f64() * 1e3,
                s.insts_removed,
                s.insts_added,
                counters.join(" ")
            )
            .unwrap();
        }
        out
    }

    /// The total of a counter over all passes.
    pub fn counter(&self, name: &str) -> u64 {
        self.stats.iter().filter_map(|(_, s)| s.counters.get(name)).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::{parse_or_panic, print_function};

    /// fn1 calls fn0; both fold `1 + 2` once the pipeline's `constfold` runs.
    const CALLER_AND_CALLEE: &str = "function fn0 (i32) -> i32 {
block0(v0: i32):
    v1 = i32.const 1
    v2 = i32.const 2
    v3 = i32.add v1, v2
    v4 = i32.add v0, v3
    return v4
}

function fn1 (i32) -> i32 {
block0(v0: i32):
    v1 = call fn0 v0
    v2 = i32.const 1
    v3 = i32.const 2
    v4 = i32.add v2, v3
    v5 = i32.add v1, v4
    return v5
}";

    #[test]
    fn a_focused_run_optimizes_other_functions_only_until_the_inliner_ran() {
        let pipeline = "constfold,inline,constfold";
        let mut everything = parse_or_panic(CALLER_AND_CALLEE);
        PassManager::new(pipeline).unwrap().run(&mut everything).unwrap();
        let mut focused = parse_or_panic(CALLER_AND_CALLEE);
        PassManager::new(pipeline).unwrap().run_focused(&mut focused, FuncId(1)).unwrap();
        // The focus is optimized as by a whole run...
        let text = |m: &Module, f: u32| print_function(FuncId(f), &m.funcs[f as usize]);
        assert_eq!(text(&focused, 1), text(&everything, 1));
        assert!(!text(&focused, 1).contains("call"), "{}", text(&focused, 1));
        // ...while a pass after the inliner never visits the callee: it stays as it was.
        let mut callee_only = parse_or_panic(CALLER_AND_CALLEE);
        let mut pm = PassManager::new("inline,constfold").unwrap();
        pm.run_focused(&mut callee_only, FuncId(1)).unwrap();
        assert!(text(&callee_only, 0).contains("i32.add v1, v2"), "{}", text(&callee_only, 0));
        let mut whole = parse_or_panic(CALLER_AND_CALLEE);
        PassManager::new("inline,constfold").unwrap().run(&mut whole).unwrap();
        assert!(!text(&whole, 0).contains("i32.add v1, v2"), "{}", text(&whole, 0));
    }
}
