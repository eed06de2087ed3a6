//! The verifier: checks that a function (or module) is well formed, and reports every error with
//! the function, block and instruction it is about.
//!
//! It checks:
//! - the layout: a non-empty entry block whose parameters are the signature's, no block twice,
//!   every block non-empty and ending in its only terminator, every instruction in one block;
//! - indices: functions, signatures, globals, memories, tables and segments exist;
//! - types: operands have the types the instruction requires, results have the types it defines,
//!   `global.set` targets a mutable global, returns match the signature;
//! - block arguments: every branch target is a live block other than the entry, with as many
//!   arguments as it has parameters, of their types;
//! - dominance: every use in a reachable block is dominated by its definition (an argument of a
//!   branch is a use at the end of the branching block); values are defined exactly once.
//!
//! A defined function without blocks is a declaration whose body is unavailable (the wasm builder
//! leaves such a stub for a function it does not support, and reports it); it is skipped.
//!
//! The verifier never changes the IR.

use crate::analysis::{Cfg, DomTree};
use crate::ir::*;
use crate::text::inst_line;
use std::fmt;

/// One problem found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifierError {
    /// The function's id and name.
    pub func: String,
    /// The block, if the problem is in one.
    pub block: Option<Block>,
    /// The instruction's text, if the problem is about one.
    pub inst: Option<String>,
    /// What is wrong.
    pub msg: String,
}

impl fmt::Display for VerifierError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.func)?;
        if let Some(b) = self.block {
            write!(f, ", {b}")?;
        }
        if let Some(i) = &self.inst {
            write!(f, ", `{i}`")?;
        }
        write!(f, ": {}", self.msg)
    }
}

/// All problems found in a function or module.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VerifierErrors(pub Vec<VerifierError>);

impl fmt::Display for VerifierErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for VerifierErrors {}

/// Verifies every defined function of a module.
pub fn verify_module(m: &Module) -> Result<(), VerifierErrors> {
    let mut errors = Vec::new();
    if m.env.func_sigs.len() != m.funcs.len() {
        errors.push(VerifierError {
            func: "module".into(),
            block: None,
            inst: None,
            msg: "env.func_sigs and funcs differ in length".into(),
        });
    }
    for (i, f) in m.funcs.iter().enumerate() {
        if let Err(e) = verify_function(&m.env, FuncId(i as u32), f) {
            errors.extend(e.0);
        }
    }
    if errors.is_empty() { Ok(()) } else { Err(VerifierErrors(errors)) }
}

struct Ctx<'a> {
    env: &'a Env,
    f: &'a Function,
    name: String,
    errors: Vec<VerifierError>,
}

impl Ctx<'_> {
    fn err(&mut self, block: Option<Block>, inst: Option<Inst>, msg: impl Into<String>) {
        let inst = inst.map(|i| {
            if i.index() < self.f.insts.len() { inst_line(self.f, i) } else { i.to_string() }
        });
        self.errors.push(VerifierError { func: self.name.clone(), block, inst, msg: msg.into() });
    }
}

/// Verifies one function against the module environment.
pub fn verify_function(env: &Env, id: FuncId, f: &Function) -> Result<(), VerifierErrors> {
    let name = if f.name.is_empty() { id.to_string() } else { format!("{id} ({})", f.name) };
    let mut cx = Ctx { env, f, name, errors: Vec::new() };
    if f.import.is_some() || f.layout.is_empty() {
        // An import, or a declaration whose body is not available (the builder reports those):
        // calls to it are typed by the environment's signature, whatever its own says (an
        // engine's stand-ins carry none).
        return Ok(());
    }
    if let Some(sig) = env.func_sigs.get(id.index())
        && *sig != f.sig
    {
        cx.err(None, None, "signature differs from the module's");
    }
    check(&mut cx);
    if cx.errors.is_empty() { Ok(()) } else { Err(VerifierErrors(cx.errors)) }
}

fn check(cx: &mut Ctx<'_>) {
    let f = cx.f;
    let Some(&entry) = f.layout.first() else {
        cx.err(None, None, "no blocks");
        return;
    };
    // Layout and placement.
    let mut in_layout = vec![false; f.blocks.len()];
    let mut inst_block: Vec<Option<(Block, usize)>> = vec![None; f.insts.len()];
    for &b in &f.layout {
        if b.index() >= f.blocks.len() {
            cx.err(Some(b), None, "block out of range");
            return;
        }
        if std::mem::replace(&mut in_layout[b.index()], true) {
            cx.err(Some(b), None, "block appears twice in the layout");
        }
        let insts = &f.blocks[b.index()].insts;
        if insts.is_empty() {
            cx.err(Some(b), None, "empty block");
        }
        for (pos, &i) in insts.iter().enumerate() {
            if i.index() >= f.insts.len() {
                cx.err(Some(b), None, format!("{i} out of range"));
                return;
            }
            if inst_block[i.index()].replace((b, pos)).is_some() {
                cx.err(Some(b), Some(i), "instruction placed twice");
            }
            let term = f.insts[i.index()].kind.is_terminator();
            if term && pos + 1 != insts.len() {
                cx.err(Some(b), Some(i), "terminator in the middle of a block");
            }
            if !term && pos + 1 == insts.len() {
                cx.err(Some(b), Some(i), "block does not end with a terminator");
            }
        }
    }
    let entry_types: Vec<Type> = f.blocks[entry.index()].params.iter().map(|&p| f.ty(p)).collect();
    if entry_types != f.sig.params {
        cx.err(Some(entry), None, "entry block parameters differ from the signature");
    }
    // Definitions: each value defined where its ValueDef says.
    let mut defined = vec![false; f.values.len()];
    for &b in &f.layout {
        for (n, &p) in f.blocks[b.index()].params.iter().enumerate() {
            if p.index() >= f.values.len() {
                cx.err(Some(b), None, format!("{p} out of range"));
                return;
            }
            if std::mem::replace(&mut defined[p.index()], true) {
                cx.err(Some(b), None, format!("{p} defined twice"));
            }
            if f.values[p.index()].def != ValueDef::Param(b, n as u32) {
                cx.err(Some(b), None, format!("{p}'s definition record is stale"));
            }
        }
        for &i in &f.blocks[b.index()].insts {
            for (n, &r) in f.insts[i.index()].results.iter().enumerate() {
                if r.index() >= f.values.len() {
                    cx.err(Some(b), Some(i), format!("{r} out of range"));
                    return;
                }
                if std::mem::replace(&mut defined[r.index()], true) {
                    cx.err(Some(b), Some(i), format!("{r} defined twice"));
                }
                if f.values[r.index()].def != ValueDef::Result(i, n as u32) {
                    cx.err(Some(b), Some(i), format!("{r}'s definition record is stale"));
                }
            }
        }
    }
    if !cx.errors.is_empty() {
        return;
    }
    let cfg = Cfg::new(f);
    let dom = DomTree::new(f, &cfg);
    // Position of each instruction in its block, for same-block dominance.
    for &b in &f.layout {
        let reachable = dom.is_reachable(b);
        for (pos, &i) in f.blocks[b.index()].insts.iter().enumerate() {
            let d = &f.insts[i.index()];
            check_inst(cx, b, i);
            let all = d.args.iter().chain(d.targets.iter().flat_map(|t| t.args.iter()));
            for &v in all {
                if v.index() >= f.values.len() || !defined[v.index()] {
                    cx.err(Some(b), Some(i), format!("use of undefined value {v}"));
                    continue;
                }
                if !reachable {
                    continue;
                }
                let ok = match f.values[v.index()].def {
                    ValueDef::Param(db, _) => dom.dominates(db, b),
                    ValueDef::Result(di, _) => match inst_block[di.index()] {
                        Some((db, dpos)) if db == b => dpos < pos,
                        Some((db, _)) => dom.dominates(db, b),
                        None => false,
                    },
                    ValueDef::None => false,
                };
                if !ok {
                    cx.err(
                        Some(b),
                        Some(i),
                        format!("use of {v} is not dominated by its definition"),
                    );
                }
            }
            for t in &d.targets {
                if t.block.index() >= f.blocks.len() || !in_layout[t.block.index()] {
                    cx.err(
                        Some(b),
                        Some(i),
                        format!("branch to {} which is not in the layout", t.block),
                    );
                    continue;
                }
                if t.block == entry {
                    cx.err(Some(b), Some(i), "branch to the entry block");
                }
                let params = &f.blocks[t.block.index()].params;
                if params.len() != t.args.len() {
                    cx.err(
                        Some(b),
                        Some(i),
                        format!(
                            "{} takes {} arguments, given {}",
                            t.block,
                            params.len(),
                            t.args.len()
                        ),
                    );
                    continue;
                }
                for (&p, &a) in params.iter().zip(&t.args) {
                    if a.index() < f.values.len() && f.ty(p) != f.ty(a) {
                        cx.err(
                            Some(b),
                            Some(i),
                            format!("argument {a}: {} passed to {p}: {}", f.ty(a), f.ty(p)),
                        );
                    }
                }
            }
        }
    }
}

fn idx_ok<T>(v: &[T], i: u32) -> bool {
    (i as usize) < v.len()
}

fn check_inst(cx: &mut Ctx<'_>, b: Block, i: Inst) {
    use InstKind::*;
    let (env, f) = (cx.env, cx.f);
    let d = &f.insts[i.index()];
    let tys: Vec<Type> = d
        .args
        .iter()
        .map(|a| if a.index() < f.values.len() { f.ty(*a) } else { Type::I32 })
        .collect();
    let elem_ty = |t: u32| env.tables.get(t as usize).map_or(Type::FuncRef, |t| t.ty);
    let mut bad_index = None;
    let expected: Option<Vec<Type>> = match &d.kind {
        Const(_) | RefFunc(_) | GlobalGet(_) | MemorySize(_) | TableSize(_) | DataDrop(_)
        | ElemDrop(_) | Fuel(_) | Jump | Trap(_) => Some(vec![]),
        Num(op) => Some(op.params().to_vec()),
        Select => {
            let t = tys.first().copied().unwrap_or(Type::I32);
            Some(vec![t, t, Type::I32])
        }
        Copy => tys.first().map(|&t| vec![t]).or(Some(vec![Type::I32])),
        Load { .. } => Some(vec![Type::I32]),
        Store { op, .. } => Some(vec![Type::I32, op.info().1]),
        GlobalSet(g) => {
            match env.globals.get(*g as usize) {
                Some(gl) if !gl.mutable => {
                    cx.err(Some(b), Some(i), "global.set of an immutable global")
                }
                _ => {}
            }
            Some(vec![env.globals.get(*g as usize).map_or(Type::I32, |g| g.ty)])
        }
        MemoryGrow(_) => Some(vec![Type::I32]),
        MemoryFill(_) | MemoryCopy { .. } | MemoryInit { .. } => Some(vec![Type::I32; 3]),
        TableGet(_) => Some(vec![Type::I32]),
        TableSet(t) => Some(vec![Type::I32, elem_ty(*t)]),
        TableGrow(t) => Some(vec![elem_ty(*t), Type::I32]),
        TableFill(t) => Some(vec![Type::I32, elem_ty(*t), Type::I32]),
        TableCopy { .. } | TableInit { .. } => Some(vec![Type::I32; 3]),
        RefIsNull => {
            if tys.len() == 1 && !tys[0].is_ref() {
                cx.err(Some(b), Some(i), "ref.is_null of a non-reference");
            }
            None
        }
        Call(callee) => env.func_sigs.get(callee.index()).map(|s| s.params.clone()),
        CallIndirect { sig, .. } => env.sigs.get(*sig as usize).map(|s| {
            let mut p = s.params.clone();
            p.push(Type::I32);
            p
        }),
        Brif | BrTable => Some(vec![Type::I32]),
        Return => Some(f.sig.results.clone()),
        // Opaque: operand types are the builder's responsibility.
        Simd(_) => None,
    };
    match &d.kind {
        Load { mem, .. }
        | Store { mem, .. }
        | MemorySize(mem)
        | MemoryGrow(mem)
        | MemoryFill(mem)
            if !idx_ok(&env.memories, *mem) =>
        {
            bad_index = Some(format!("mem{mem}"))
        }
        MemoryCopy { dst, src } if !idx_ok(&env.memories, *dst) || !idx_ok(&env.memories, *src) => {
            bad_index = Some("memory".into())
        }
        MemoryInit { mem, data } if !idx_ok(&env.memories, *mem) || !idx_ok(&env.datas, *data) => {
            bad_index = Some("memory or data segment".into())
        }
        DataDrop(dd) if !idx_ok(&env.datas, *dd) => bad_index = Some(format!("data{dd}")),
        GlobalGet(g) | GlobalSet(g) if !idx_ok(&env.globals, *g) => {
            bad_index = Some(format!("g{g}"))
        }
        TableGet(t) | TableSet(t) | TableSize(t) | TableGrow(t) | TableFill(t)
            if !idx_ok(&env.tables, *t) =>
        {
            bad_index = Some(format!("table{t}"))
        }
        TableCopy { dst, src } if !idx_ok(&env.tables, *dst) || !idx_ok(&env.tables, *src) => {
            bad_index = Some("table".into())
        }
        TableInit { table, elem } if !idx_ok(&env.tables, *table) || !idx_ok(&env.elems, *elem) => {
            bad_index = Some("table or element segment".into())
        }
        ElemDrop(e) if !idx_ok(&env.elems, *e) => bad_index = Some(format!("elem{e}")),
        Simd(op) if op.mem.is_some_and(|(m, _)| !idx_ok(&env.memories, m)) => {
            bad_index = Some("SIMD memory".into())
        }
        Call(c) | RefFunc(c) if c.index() >= env.func_sigs.len() => bad_index = Some(c.to_string()),
        CallIndirect { sig, table } if !idx_ok(&env.sigs, *sig) || !idx_ok(&env.tables, *table) => {
            bad_index = Some(format!("sig{sig} or table{table}"))
        }
        _ => {}
    }
    if let Some(what) = bad_index {
        cx.err(Some(b), Some(i), format!("{what} does not exist"));
        return;
    }
    if let Some(exp) = expected
        && exp != tys
    {
        let show = |v: &[Type]| v.iter().map(|t| t.name()).collect::<Vec<_>>().join(", ");
        cx.err(
            Some(b),
            Some(i),
            format!("operands ({}) where ({}) expected", show(&tys), show(&exp)),
        );
    }
    let want = result_types(env, &d.kind, &tys);
    let have: Vec<Type> = d
        .results
        .iter()
        .map(|r| if r.index() < f.values.len() { f.ty(*r) } else { Type::I32 })
        .collect();
    if want != have {
        cx.err(Some(b), Some(i), format!("results have types {have:?}, expected {want:?}"));
    }
    match d.kind {
        Jump if d.targets.len() != 1 => cx.err(Some(b), Some(i), "jump needs one target"),
        Brif if d.targets.len() != 2 => cx.err(Some(b), Some(i), "brif needs two targets"),
        BrTable if d.targets.is_empty() => cx.err(Some(b), Some(i), "br_table needs a default"),
        _ if !matches!(d.kind, Jump | Brif | BrTable) && !d.targets.is_empty() => {
            cx.err(Some(b), Some(i), "only branches have targets")
        }
        _ => {}
    }
}
