//! The SSA evaluator: runs a function of a module on argument values, with a model of linear
//! memory, globals and tables, and reports its results or its trap exactly as wasm defines them.
//! Numeric operators go through [`crate::ir::eval_num`], the same function constant folding uses.
//!
//! What it cannot run it says so instead of guessing ([`EvalError`]): calls to imported functions,
//! memories larger than [`MAX_PAGES`], runs longer than the fuel or deeper than the call limit.
//! It never panics on verified IR.

use crate::ir::*;

/// Largest memory the evaluator models (pages of 64 KiB); `memory.grow` beyond it returns -1,
/// the same before and after a pass.
pub const MAX_PAGES: u64 = 1024;
/// Largest table the evaluator models.
pub const MAX_TABLE: u64 = 1 << 16;
const PAGE: usize = 65536;

/// The run could not be evaluated (not a wasm trap).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EvalError {
    /// Something the evaluator does not model (named).
    Unsupported(String),
    /// The instruction budget ran out.
    OutOfFuel,
    /// Calls nested deeper than the limit.
    CallDepth,
}

/// How a call ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Returned these values.
    Return(Vec<Val>),
    /// Trapped.
    Trap(TrapCode),
}

/// The mutable state of an instance: memories, globals, tables, dropped segments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct State {
    /// Memory contents.
    pub memories: Vec<Vec<u8>>,
    /// Global values.
    pub globals: Vec<Val>,
    /// Table contents (`Ref` values).
    pub tables: Vec<Vec<Val>>,
    /// Dropped data segments.
    pub data_dropped: Vec<bool>,
    /// Dropped element segments.
    pub elem_dropped: Vec<bool>,
}

fn const_expr(e: ConstExpr, globals: &[Val]) -> Val {
    match e {
        ConstExpr::Const(c) => c.val(),
        ConstExpr::GlobalGet(g) => globals.get(g as usize).copied().unwrap_or(Val::I32(0)),
        ConstExpr::RefFunc(f) => Val::Ref(Some(f.0)),
    }
}

impl State {
    /// Instantiates the module's state: zeroed memories with active data segments copied in,
    /// initialized globals (imported ones are zero), tables with active element segments.
    pub fn new(env: &Env) -> Result<State, EvalError> {
        let mut memories = Vec::new();
        for m in &env.memories {
            if m.min > MAX_PAGES {
                return Err(EvalError::Unsupported(format!("memory of {} pages", m.min)));
            }
            memories.push(vec![0; m.min as usize * PAGE]);
        }
        let mut globals = Vec::new();
        for g in &env.globals {
            let v = match g.init {
                Some(e) => const_expr(e, &globals),
                None => g.ty.zero().val(),
            };
            globals.push(v);
        }
        let mut tables = Vec::new();
        for t in &env.tables {
            if t.min > MAX_TABLE {
                return Err(EvalError::Unsupported(format!("table of {} elements", t.min)));
            }
            tables.push(vec![Val::Ref(None); t.min as usize]);
        }
        let mut elem_dropped = vec![false; env.elems.len()];
        for (i, e) in env.elems.iter().enumerate() {
            if let Some((t, off)) = e.active {
                let off = const_expr(off, &globals).i32() as usize;
                let table = &mut tables[t as usize];
                if off + e.items.len() > table.len() {
                    return Err(EvalError::Unsupported("element segment out of bounds".into()));
                }
                for (k, &item) in e.items.iter().enumerate() {
                    table[off + k] = const_expr(item, &globals);
                }
                elem_dropped[i] = true;
            }
            if e.declared {
                elem_dropped[i] = true;
            }
        }
        let mut data_dropped = vec![false; env.datas.len()];
        for (i, d) in env.datas.iter().enumerate() {
            if let Some((m, off)) = d.active {
                let off = const_expr(off, &globals).i32() as usize;
                let mem = &mut memories[m as usize];
                if off + d.bytes.len() > mem.len() {
                    return Err(EvalError::Unsupported("data segment out of bounds".into()));
                }
                mem[off..off + d.bytes.len()].copy_from_slice(&d.bytes);
                data_dropped[i] = true;
            }
        }
        Ok(State { memories, globals, tables, data_dropped, elem_dropped })
    }
}

/// Runs functions of one module against one [`State`].
pub struct Evaluator<'m> {
    module: &'m Module,
    /// The instance state, observable after a run.
    pub state: State,
    /// Instructions left before [`EvalError::OutOfFuel`].
    pub fuel: u64,
    /// Maximum call depth.
    pub max_depth: u32,
    depth: u32,
}

fn bounds(len: usize, addr: u64, n: u64) -> Result<usize, TrapCode> {
    if addr.checked_add(n).is_none_or(|end| end > len as u64) {
        Err(TrapCode::MemoryOutOfBounds)
    } else {
        Ok(addr as usize)
    }
}

type Step<T> = Result<Result<T, TrapCode>, EvalError>;

impl<'m> Evaluator<'m> {
    /// An evaluator over `module` starting from `state`.
    pub fn new(module: &'m Module, state: State, fuel: u64) -> Evaluator<'m> {
        Evaluator { module, state, fuel, max_depth: 64, depth: 0 }
    }

    /// Calls function `f` with `args`.
    pub fn call(&mut self, f: FuncId, args: &[Val]) -> Result<Outcome, EvalError> {
        let func = &self.module.funcs[f.index()];
        if let Some((m, n)) = &func.import {
            return Err(EvalError::Unsupported(format!("call to imported {m}.{n}")));
        }
        if func.layout.is_empty() {
            return Err(EvalError::Unsupported(format!("{f} has no body")));
        }
        if self.depth >= self.max_depth {
            return Err(EvalError::CallDepth);
        }
        self.depth += 1;
        let r = self.run(func, args);
        self.depth -= 1;
        r
    }

    fn run(&mut self, func: &'m Function, args: &[Val]) -> Result<Outcome, EvalError> {
        let mut vals = vec![Val::I32(0); func.values.len()];
        let mut block = func.entry();
        for (&p, &a) in func.blocks[block.index()].params.iter().zip(args) {
            vals[p.index()] = a;
        }
        loop {
            let insts = &func.blocks[block.index()].insts;
            let mut next = None;
            for &i in insts {
                if self.fuel == 0 {
                    return Err(EvalError::OutOfFuel);
                }
                self.fuel -= 1;
                let d = &func.insts[i.index()];
                let arg = |k: usize| vals[d.args[k].index()];
                match &d.kind {
                    InstKind::Jump | InstKind::Brif | InstKind::BrTable => {
                        let k = match d.kind {
                            InstKind::Jump => 0,
                            InstKind::Brif => (arg(0).i32() == 0) as usize,
                            _ => (arg(0).i32() as usize).min(d.targets.len() - 1),
                        };
                        let t = &d.targets[k];
                        let new: Vec<Val> = t.args.iter().map(|a| vals[a.index()]).collect();
                        for (&p, v) in func.blocks[t.block.index()].params.iter().zip(new) {
                            vals[p.index()] = v;
                        }
                        next = Some(t.block);
                    }
                    InstKind::Return => {
                        return Ok(Outcome::Return(
                            d.args.iter().map(|a| vals[a.index()]).collect(),
                        ));
                    }
                    InstKind::Trap(code) => return Ok(Outcome::Trap(*code)),
                    _ => {
                        let args: Vec<Val> = d.args.iter().map(|a| vals[a.index()]).collect();
                        match self.exec(func, &d.kind, &args)? {
                            Ok(results) => {
                                for (&r, v) in d.results.iter().zip(results) {
                                    vals[r.index()] = v;
                                }
                            }
                            Err(trap) => return Ok(Outcome::Trap(trap)),
                        }
                    }
                }
            }
            match next {
                Some(b) => block = b,
                None => return Err(EvalError::Unsupported("block without terminator".into())),
            }
        }
    }

    fn exec(&mut self, _func: &Function, kind: &InstKind, a: &[Val]) -> Step<Vec<Val>> {
        use InstKind::*;
        let module: &'m Module = self.module;
        let env = &module.env;
        let st = &mut self.state;
        let one = |v: Val| Ok(Ok(vec![v]));
        match *kind {
            Const(c) => one(c.val()),
            Num(op) => Ok(eval_num(op, a).map(|v| vec![v])),
            Select => one(if a[2].i32() != 0 { a[0] } else { a[1] }),
            Copy => one(a[0]),
            Load { op, offset, mem } => {
                let (_, ty, n, signed) = op.info();
                let m = &st.memories[mem as usize];
                let at = match bounds(m.len(), a[0].i32() as u64 + offset, n as u64) {
                    Ok(at) => at,
                    Err(t) => return Ok(Err(t)),
                };
                let mut buf = [0u8; 8];
                buf[..n as usize].copy_from_slice(&m[at..at + n as usize]);
                let mut x = u64::from_le_bytes(buf);
                if signed {
                    let shift = 64 - 8 * n;
                    x = (((x << shift) as i64) >> shift) as u64;
                }
                one(match ty {
                    Type::I32 => Val::I32(x as u32),
                    Type::I64 => Val::I64(x),
                    Type::F32 => Val::F32(x as u32),
                    _ => Val::F64(x),
                })
            }
            Store { op, offset, mem } => {
                let (_, _, n) = op.info();
                let m = &mut st.memories[mem as usize];
                let at = match bounds(m.len(), a[0].i32() as u64 + offset, n as u64) {
                    Ok(at) => at,
                    Err(t) => return Ok(Err(t)),
                };
                let x = match a[1] {
                    Val::I32(x) | Val::F32(x) => x as u64,
                    Val::I64(x) | Val::F64(x) => x,
                    _ => 0,
                };
                m[at..at + n as usize].copy_from_slice(&x.to_le_bytes()[..n as usize]);
                Ok(Ok(vec![]))
            }
            GlobalGet(g) => one(st.globals[g as usize]),
            GlobalSet(g) => {
                st.globals[g as usize] = a[0];
                Ok(Ok(vec![]))
            }
            MemorySize(m) => one(Val::I32((st.memories[m as usize].len() / PAGE) as u32)),
            MemoryGrow(m) => {
                let mem = &mut st.memories[m as usize];
                let old = (mem.len() / PAGE) as u64;
                let max = env.memories[m as usize].max.unwrap_or(65536).min(MAX_PAGES);
                let new = old + a[0].i32() as u64;
                if new > max {
                    return one(Val::I32(u32::MAX));
                }
                mem.resize(new as usize * PAGE, 0);
                one(Val::I32(old as u32))
            }
            MemoryFill(m) => {
                let mem = &mut st.memories[m as usize];
                let (d, v, n) = (a[0].i32() as u64, a[1].i32() as u8, a[2].i32() as u64);
                let at = match bounds(mem.len(), d, n) {
                    Ok(at) => at,
                    Err(t) => return Ok(Err(t)),
                };
                mem[at..at + n as usize].fill(v);
                Ok(Ok(vec![]))
            }
            MemoryCopy { dst, src } => {
                let (d, s, n) = (a[0].i32() as u64, a[1].i32() as u64, a[2].i32() as u64);
                let src_len = st.memories[src as usize].len();
                let dst_len = st.memories[dst as usize].len();
                let (Ok(s), Ok(d)) = (bounds(src_len, s, n), bounds(dst_len, d, n)) else {
                    return Ok(Err(TrapCode::MemoryOutOfBounds));
                };
                let bytes = st.memories[src as usize][s..s + n as usize].to_vec();
                st.memories[dst as usize][d..d + n as usize].copy_from_slice(&bytes);
                Ok(Ok(vec![]))
            }
            MemoryInit { mem, data } => {
                let (d, s, n) = (a[0].i32() as u64, a[1].i32() as u64, a[2].i32() as u64);
                let seg: &[u8] = if st.data_dropped[data as usize] {
                    &[]
                } else {
                    &env.datas[data as usize].bytes
                };
                let m = &mut st.memories[mem as usize];
                let (Ok(s), Ok(d)) = (bounds(seg.len(), s, n), bounds(m.len(), d, n)) else {
                    return Ok(Err(TrapCode::MemoryOutOfBounds));
                };
                m[d..d + n as usize].copy_from_slice(&seg[s..s + n as usize]);
                Ok(Ok(vec![]))
            }
            DataDrop(d) => {
                st.data_dropped[d as usize] = true;
                Ok(Ok(vec![]))
            }
            TableGet(t) => match st.tables[t as usize].get(a[0].i32() as usize) {
                Some(&v) => one(v),
                None => Ok(Err(TrapCode::TableOutOfBounds)),
            },
            TableSet(t) => match st.tables[t as usize].get_mut(a[0].i32() as usize) {
                Some(slot) => {
                    *slot = a[1];
                    Ok(Ok(vec![]))
                }
                None => Ok(Err(TrapCode::TableOutOfBounds)),
            },
            TableSize(t) => one(Val::I32(st.tables[t as usize].len() as u32)),
            TableGrow(t) => {
                let table = &mut st.tables[t as usize];
                let old = table.len() as u64;
                let max = env.tables[t as usize].max.unwrap_or(u32::MAX as u64).min(MAX_TABLE);
                let new = old + a[1].i32() as u64;
                if new > max {
                    return one(Val::I32(u32::MAX));
                }
                table.resize(new as usize, a[0]);
                one(Val::I32(old as u32))
            }
            TableFill(t) => {
                let table = &mut st.tables[t as usize];
                let (i, n) = (a[0].i32() as u64, a[2].i32() as u64);
                if i + n > table.len() as u64 {
                    return Ok(Err(TrapCode::TableOutOfBounds));
                }
                table[i as usize..(i + n) as usize].fill(a[1]);
                Ok(Ok(vec![]))
            }
            TableCopy { dst, src } => {
                let (d, s, n) = (a[0].i32() as u64, a[1].i32() as u64, a[2].i32() as u64);
                if s + n > st.tables[src as usize].len() as u64
                    || d + n > st.tables[dst as usize].len() as u64
                {
                    return Ok(Err(TrapCode::TableOutOfBounds));
                }
                let items = st.tables[src as usize][s as usize..(s + n) as usize].to_vec();
                st.tables[dst as usize][d as usize..(d + n) as usize].copy_from_slice(&items);
                Ok(Ok(vec![]))
            }
            TableInit { table, elem } => {
                let (d, s, n) = (a[0].i32() as u64, a[1].i32() as u64, a[2].i32() as u64);
                let items: Vec<Val> = if st.elem_dropped[elem as usize] {
                    vec![]
                } else {
                    env.elems[elem as usize]
                        .items
                        .iter()
                        .map(|&e| const_expr(e, &st.globals))
                        .collect()
                };
                let t = &mut st.tables[table as usize];
                if s + n > items.len() as u64 || d + n > t.len() as u64 {
                    return Ok(Err(TrapCode::TableOutOfBounds));
                }
                t[d as usize..(d + n) as usize]
                    .copy_from_slice(&items[s as usize..(s + n) as usize]);
                Ok(Ok(vec![]))
            }
            ElemDrop(e) => {
                st.elem_dropped[e as usize] = true;
                Ok(Ok(vec![]))
            }
            // The evaluator does not meter fuel: a charge is a no-op (passes keep every charge
            // in place, so before and after compare alike).
            Fuel(_) => Ok(Ok(vec![])),
            RefIsNull => one(Val::I32((a[0] == Val::Ref(None)) as u32)),
            RefFunc(f) => one(Val::Ref(Some(f.0))),
            Call(f) => Ok(match self.call(f, a)? {
                Outcome::Return(v) => Ok(v),
                Outcome::Trap(t) => Err(t),
            }),
            CallIndirect { sig, table } => {
                let (idx, args) = a.split_last().unwrap();
                let Some(&entry) = st.tables[table as usize].get(idx.i32() as usize) else {
                    return Ok(Err(TrapCode::TableOutOfBounds));
                };
                let Val::Ref(Some(f)) = entry else {
                    return Ok(Err(TrapCode::IndirectCallToNull));
                };
                if env.func_sigs[f as usize] != env.sigs[sig as usize] {
                    return Ok(Err(TrapCode::BadSignature));
                }
                Ok(match self.call(FuncId(f), args)? {
                    Outcome::Return(v) => Ok(v),
                    Outcome::Trap(t) => Err(t),
                })
            }
            Simd(ref op) => Err(EvalError::Unsupported(format!("SIMD operator {}", op.name))),
            Jump | Brif | BrTable | Return | Trap(_) => unreachable!("terminators run in `run`"),
        }
    }
}
