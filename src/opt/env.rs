//! The `tierup-passes` view of a decoded module: its environment (signatures, globals, memories,
//! tables, segments), derived once per module, and the stubs that stand for functions not built.

use crate::module::{ConstExpr as ModConst, ConstOp, ModuleInner, SegmentMode, SimpleConst};
use crate::types::ValType;
use std::sync::Arc;
use tierup_passes::ir::{
    Const, ConstExpr, Data, Elem, Env, FuncId, Function, Global, Memory, Signature, Table, Type,
};

fn ty(t: ValType) -> Type {
    match t {
        ValType::I32 => Type::I32,
        ValType::I64 => Type::I64,
        ValType::F32 => Type::F32,
        ValType::F64 => Type::F64,
        ValType::V128 => Type::V128,
        ValType::Ref(r) if r.is_func() => Type::FuncRef,
        // An `exnref` is as opaque to tier 2 as an `externref` (a 64-bit handle + 1, 0 for
        // null); tier 2 refuses every function that throws or catches.
        ValType::Ref(_) => Type::ExternRef,
    }
}

fn sig(t: &crate::types::FuncType) -> Signature {
    Signature {
        params: t.params().iter().map(|&p| ty(p)).collect(),
        results: t.results().iter().map(|&r| ty(r)).collect(),
    }
}

/// A constant expression of type `t`, as the IR holds one: a single operator, or an extended
/// expression folded to its value. `None` for an extended expression that reads globals, whose
/// value only instantiation knows (the IR has no form for it).
fn const_expr(e: &ModConst, t: Type) -> Option<ConstExpr> {
    let value = |v: u128| match t {
        Type::I32 => Const::I32(v as u32),
        Type::I64 => Const::I64(v as u64),
        Type::F32 => Const::F32(v as u32),
        Type::F64 => Const::F64(v as u64),
        Type::V128 => Const::V128(v),
        Type::FuncRef | Type::ExternRef => Const::Null(t),
    };
    Some(match e {
        ModConst::GlobalGet(g) => ConstExpr::GlobalGet(*g),
        ModConst::RefFunc(f) => ConstExpr::RefFunc(FuncId(*f)),
        ModConst::Value(v) => ConstExpr::Const(value(*v)),
        ModConst::Program(ops) => {
            let pure = ops.iter().all(|op| {
                !matches!(op, ConstOp::Push(SimpleConst::GlobalGet(_) | SimpleConst::RefFunc(_)))
            });
            if !pure {
                return None;
            }
            ConstExpr::Const(value(e.eval(|_| 0, |_| 0)))
        }
    })
}

/// The module's environment, derived the first time tier 2 needs it. Data segments keep their
/// placement, not their bytes: no pass reads them (only the evaluator does, which tier 2 never
/// runs). Shared, so each compile's IR module takes it without a copy.
pub fn of(module: &ModuleInner) -> &Arc<Env> {
    module.tiers.compiler_data(|| Arc::new(derive(module)))
}

fn derive(m: &ModuleInner) -> Env {
    let num_imported_globals = m.num_imported_globals as usize;
    let globals = m
        .globals
        .iter()
        .enumerate()
        .map(|(i, g)| {
            let t = ty(g.content);
            let init =
                i.checked_sub(num_imported_globals).and_then(|d| const_expr(&m.global_inits[d], t));
            Global { ty: t, mutable: g.mutable, init }
        })
        .collect();
    let memories = m
        .memories
        .iter()
        .enumerate()
        .map(|(i, mem)| Memory {
            min: mem.limits.min,
            max: mem.limits.max,
            imported: i < m.num_imported_memories as usize,
        })
        .collect();
    let tables: Vec<Table> = m
        .tables
        .iter()
        .enumerate()
        .map(|(i, t)| Table {
            ty: ty(t.element),
            min: t.limits.min,
            max: t.limits.max,
            imported: i < m.num_imported_tables as usize,
        })
        .collect();
    let active = |mode: &SegmentMode| match mode {
        SegmentMode::Active { index, offset } => Some((*index, const_expr(offset, Type::I32)?)),
        _ => None,
    };
    let elems = m
        .elems
        .iter()
        .map(|e| {
            let ety = match &e.mode {
                SegmentMode::Active { index, .. } => {
                    tables.get(*index as usize).map_or(Type::FuncRef, |t| t.ty)
                }
                _ => Type::FuncRef,
            };
            Elem {
                ty: ety,
                active: active(&e.mode),
                declared: matches!(e.mode, SegmentMode::Declared),
                items: e
                    .items
                    .iter()
                    .map(|i| const_expr(i, ety).expect("reference items are single operators"))
                    .collect(),
            }
        })
        .collect();
    let datas =
        m.datas.iter().map(|d| Data { active: active(&d.mode), bytes: Vec::new() }).collect();
    Env {
        sigs: m.types.iter().map(sig).collect(),
        func_sigs: (0..m.func_types.len() as u32).map(|f| sig(m.func_type(f))).collect(),
        globals,
        memories,
        tables,
        datas,
        elems,
    }
}

/// One function per index, none built: imports as imports, defined functions as stubs (a
/// defined function without blocks, which passes skip and the inliner never takes). Stand-ins
/// carry no signature of their own (the environment's `func_sigs` has it), so making the
/// thousands a large module needs allocates nothing but their vector.
pub fn stubs(module: &ModuleInner, env: &Env) -> Vec<Function> {
    (0..env.func_sigs.len()).map(|i| stub(module, i)).collect()
}

fn stub(module: &ModuleInner, index: usize) -> Function {
    let mut f = Function::default();
    if (index as u32) < module.num_imported_funcs {
        f.import = Some((String::new(), String::new()));
    }
    f
}

thread_local! {
    /// The stand-ins the last compile on this thread gave back. They depend only on how many
    /// functions and imports a module has, so the next compile of any module with the same
    /// counts takes them as they are: making and dropping one per function for every compile
    /// was a few percent of tier 2's compile time in modules with thousands of functions.
    static SPARE_STUBS: std::cell::RefCell<Option<(usize, u32, Vec<Function>)>> =
        const { std::cell::RefCell::new(None) };
}

/// [`stubs`], reusing the ones the previous compile on this thread gave back when they fit.
pub fn take_stubs(module: &ModuleInner, env: &Env) -> Vec<Function> {
    let (len, imported) = (env.func_sigs.len(), module.num_imported_funcs);
    match SPARE_STUBS.take() {
        Some((l, i, funcs)) if l == len && i == imported => funcs,
        _ => stubs(module, env),
    }
}

/// Gives `funcs` (taken with [`take_stubs`]) back for the next compile: the `filled` slots and
/// any function appended after the module's own become stand-ins again.
pub fn give_back_stubs(module: &ModuleInner, mut funcs: Vec<Function>, filled: &[usize]) {
    let len = module.func_types.len();
    funcs.truncate(len);
    for &i in filled {
        funcs[i] = stub(module, i);
    }
    debug_assert!(
        funcs.iter().enumerate().all(|(i, f)| *f == stub(module, i)),
        "every slot a stand-in again"
    );
    SPARE_STUBS.set(Some((len, module.num_imported_funcs, funcs)));
}
