//! The printer: IR to text. Its output is exactly what [`super::parse`] reads back.

use crate::ir::*;
use std::fmt::{self, Write};

/// Formats an f32 constant: the shortest decimal that round-trips, or raw bits for NaNs.
pub fn fmt_f32(bits: u32) -> String {
    let x = f32::from_bits(bits);
    if x.is_nan() { format!("{bits:#010x}") } else { format!("{x:?}") }
}

/// Formats an f64 constant.
pub fn fmt_f64(bits: u64) -> String {
    let x = f64::from_bits(bits);
    if x.is_nan() { format!("{bits:#018x}") } else { format!("{x:?}") }
}

/// A constant as `type.const value` (or `ref.null type`).
pub fn fmt_const(c: Const) -> String {
    match c {
        Const::I32(x) => format!("i32.const {}", x as i32),
        Const::I64(x) => format!("i64.const {}", x as i64),
        Const::F32(x) => format!("f32.const {}", fmt_f32(x)),
        Const::F64(x) => format!("f64.const {}", fmt_f64(x)),
        Const::V128(x) => format!("v128.const {x:#034x}"),
        Const::Null(t) => format!("ref.null {t}"),
    }
}

fn fmt_const_expr(e: ConstExpr) -> String {
    match e {
        ConstExpr::Const(c) => fmt_const(c),
        ConstExpr::GlobalGet(g) => format!("global.get g{g}"),
        ConstExpr::RefFunc(f) => format!("ref.func {f}"),
    }
}

fn list(out: &mut String, vs: &[Value]) {
    for (i, v) in vs.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        write!(out, "{v}").unwrap();
    }
}

fn block_call(out: &mut String, c: &BlockCall) {
    write!(out, "{}", c.block).unwrap();
    if !c.args.is_empty() {
        out.push('(');
        list(out, &c.args);
        out.push(')');
    }
}

/// The mnemonic and immediates of an instruction (everything before its operands).
pub fn inst_head(kind: &InstKind) -> String {
    use InstKind::*;
    match kind {
        Const(c) => fmt_const(*c),
        Num(op) => op.name().to_string(),
        Select => "select".into(),
        Copy => "copy".into(),
        Load { op, offset, mem } => format!("{} mem{mem} +{offset}", op.info().0),
        Store { op, offset, mem } => format!("{} mem{mem} +{offset}", op.info().0),
        GlobalGet(g) => format!("global.get g{g}"),
        GlobalSet(g) => format!("global.set g{g}"),
        MemorySize(m) => format!("memory.size mem{m}"),
        MemoryGrow(m) => format!("memory.grow mem{m}"),
        MemoryFill(m) => format!("memory.fill mem{m}"),
        MemoryCopy { dst, src } => format!("memory.copy mem{dst} mem{src}"),
        MemoryInit { mem, data } => format!("memory.init mem{mem} data{data}"),
        DataDrop(d) => format!("data.drop data{d}"),
        TableGet(t) => format!("table.get table{t}"),
        TableSet(t) => format!("table.set table{t}"),
        TableSize(t) => format!("table.size table{t}"),
        TableGrow(t) => format!("table.grow table{t}"),
        TableFill(t) => format!("table.fill table{t}"),
        TableCopy { dst, src } => format!("table.copy table{dst} table{src}"),
        TableInit { table, elem } => format!("table.init table{table} elem{elem}"),
        ElemDrop(e) => format!("elem.drop elem{e}"),
        Fuel(n) => format!("fuel {n}"),
        RefIsNull => "ref.is_null".into(),
        RefFunc(f) => format!("ref.func {f}"),
        Call(f) => format!("call {f}"),
        CallIndirect { sig, table } => format!("call_indirect sig{sig} table{table}"),
        Simd(op) => {
            let mut s = format!("simd {} {}", op.result.map_or("void", |t| t.name()), op.name);
            if let Some((m, off)) = op.mem {
                write!(s, " mem{m} +{off}").unwrap();
            }
            if op.imm != 0 {
                write!(s, " imm {:#x}", op.imm).unwrap();
            }
            s
        }
        Jump => "jump".into(),
        Brif => "brif".into(),
        BrTable => "br_table".into(),
        Return => "return".into(),
        Trap(code) => format!("trap {code}"),
    }
}

/// One instruction as a line (without indentation or newline).
pub fn inst_line(func: &Function, inst: Inst) -> String {
    let data = &func.insts[inst.index()];
    let mut out = String::new();
    if !data.results.is_empty() {
        list(&mut out, &data.results);
        out.push_str(" = ");
    }
    out.push_str(&inst_head(&data.kind));
    match data.kind {
        InstKind::Jump => {
            out.push(' ');
            block_call(&mut out, &data.targets[0]);
        }
        InstKind::Brif => {
            write!(out, " {}, ", data.args[0]).unwrap();
            block_call(&mut out, &data.targets[0]);
            out.push_str(", ");
            block_call(&mut out, &data.targets[1]);
        }
        InstKind::BrTable => {
            write!(out, " {}, [", data.args[0]).unwrap();
            let (default, table) = data.targets.split_last().unwrap();
            for (i, c) in table.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                block_call(&mut out, c);
            }
            out.push_str("], ");
            block_call(&mut out, default);
        }
        _ => {
            if !data.args.is_empty() {
                out.push(' ');
                list(&mut out, &data.args);
            }
        }
    }
    out
}

/// Prints a function.
pub fn write_function(out: &mut String, id: FuncId, func: &Function) {
    if let Some((m, f)) = &func.import {
        writeln!(out, "import {id} {m:?} {f:?} {}", func.sig).unwrap();
        return;
    }
    write!(out, "function {id}").unwrap();
    if !func.name.is_empty() {
        write!(out, " {:?}", func.name).unwrap();
    }
    writeln!(out, " {} {{", func.sig).unwrap();
    for &b in &func.layout {
        write!(out, "{b}").unwrap();
        let params = &func.blocks[b.index()].params;
        if !params.is_empty() {
            out.push('(');
            for (i, &p) in params.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write!(out, "{p}: {}", func.ty(p)).unwrap();
            }
            out.push(')');
        }
        out.push_str(":\n");
        for &i in &func.blocks[b.index()].insts {
            writeln!(out, "    {}", inst_line(func, i)).unwrap();
        }
    }
    out.push_str("}\n");
}

/// Prints the module's declarations (signatures, memories, tables, globals, segments).
pub fn write_env(out: &mut String, env: &Env) {
    for (i, s) in env.sigs.iter().enumerate() {
        writeln!(out, "sig{i} = {s}").unwrap();
    }
    for (i, m) in env.memories.iter().enumerate() {
        write!(out, "memory mem{i} min {}", m.min).unwrap();
        if let Some(max) = m.max {
            write!(out, " max {max}").unwrap();
        }
        out.push_str(if m.imported { " import\n" } else { "\n" });
    }
    for (i, t) in env.tables.iter().enumerate() {
        write!(out, "table table{i} {} min {}", t.ty, t.min).unwrap();
        if let Some(max) = t.max {
            write!(out, " max {max}").unwrap();
        }
        out.push_str(if t.imported { " import\n" } else { "\n" });
    }
    for (i, g) in env.globals.iter().enumerate() {
        write!(out, "global g{i} {}{}", if g.mutable { "mut " } else { "" }, g.ty).unwrap();
        match g.init {
            Some(e) => writeln!(out, " = {}", fmt_const_expr(e)).unwrap(),
            None => out.push_str(" import\n"),
        }
    }
    for (i, d) in env.datas.iter().enumerate() {
        write!(out, "data data{i}").unwrap();
        match d.active {
            Some((m, e)) => write!(out, " mem{m} at {}", fmt_const_expr(e)).unwrap(),
            None => out.push_str(" passive"),
        }
        out.push_str(" = \"");
        for byte in &d.bytes {
            write!(out, "{byte:02x}").unwrap();
        }
        out.push_str("\"\n");
    }
    for (i, e) in env.elems.iter().enumerate() {
        write!(out, "elem elem{i} {}", e.ty).unwrap();
        match e.active {
            Some((t, x)) => write!(out, " table{t} at {}", fmt_const_expr(x)).unwrap(),
            None if e.declared => out.push_str(" declared"),
            None => out.push_str(" passive"),
        }
        out.push_str(" = [");
        for (j, item) in e.items.iter().enumerate() {
            if j > 0 {
                out.push_str(", ");
            }
            out.push_str(&fmt_const_expr(*item));
        }
        out.push_str("]\n");
    }
}

/// Prints a whole module.
pub fn print_module(m: &Module) -> String {
    let mut out = String::new();
    write_env(&mut out, &m.env);
    for (i, f) in m.funcs.iter().enumerate() {
        if !out.is_empty() && f.import.is_none() {
            out.push('\n');
        }
        write_function(&mut out, FuncId(i as u32), f);
    }
    out
}

/// Prints one function.
pub fn print_function(id: FuncId, f: &Function) -> String {
    let mut out = String::new();
    write_function(&mut out, id, f);
    out
}

/// `Display` for a module.
pub struct DisplayModule<'a>(pub &'a Module);

impl fmt::Display for DisplayModule<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&print_module(self.0))
    }
}
