//! The parser: text to IR, the inverse of [`super::print`]. `;` starts a comment to end of line.
//!
//! Value and block numbers are kept as written, so a printed module parses back to the same ids.
//! Result types are not written; they are inferred once the whole module (and so every callee's
//! signature) is known.

use crate::ir::*;
use std::fmt;

/// A parse error with its 1-based line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// Line of the offending token.
    pub line: usize,
    /// What was wrong.
    pub msg: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.msg)
    }
}

impl std::error::Error for ParseError {}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    Punct(char),
    Arrow,
    Newline,
}

fn tokenize(src: &str) -> Result<Vec<(Tok, usize)>, ParseError> {
    let mut out = Vec::new();
    let mut line = 1;
    let chars: Vec<char> = src.chars().collect();
    let mut i = 0;
    let word_char = |c: char| c.is_ascii_alphanumeric() || "_.+-$%".contains(c);
    while i < chars.len() {
        let c = chars[i];
        if c == '\n' {
            out.push((Tok::Newline, line));
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c == ';' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '-' && chars.get(i + 1) == Some(&'>') {
            out.push((Tok::Arrow, line));
            i += 2;
        } else if c == '"' {
            let mut s = String::new();
            i += 1;
            loop {
                let Some(&c) = chars.get(i) else {
                    return Err(ParseError { line, msg: "unterminated string".into() });
                };
                i += 1;
                match c {
                    '"' => break,
                    '\\' => {
                        let e = chars.get(i).copied().unwrap_or('\\');
                        i += 1;
                        match e {
                            'n' => s.push('\n'),
                            't' => s.push('\t'),
                            'r' => s.push('\r'),
                            '0' => s.push('\0'),
                            'u' => {
                                // \u{XXXX}
                                let start = i + 1;
                                let end = (start..chars.len()).find(|&j| chars[j] == '}');
                                let end = end.ok_or(ParseError { line, msg: "bad \\u".into() })?;
                                let hex: String = chars[start..end].iter().collect();
                                let cp =
                                    u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32);
                                s.push(cp.ok_or(ParseError { line, msg: "bad \\u".into() })?);
                                i = end + 1;
                            }
                            other => s.push(other),
                        }
                    }
                    c => s.push(c),
                }
            }
            out.push((Tok::Str(s), line));
        } else if word_char(c) {
            let start = i;
            while i < chars.len() && word_char(chars[i]) {
                i += 1;
            }
            out.push((Tok::Word(chars[start..i].iter().collect()), line));
        } else if "(),:=[]{}".contains(c) {
            out.push((Tok::Punct(c), line));
            i += 1;
        } else {
            return Err(ParseError { line, msg: format!("unexpected character {c:?}") });
        }
    }
    out.push((Tok::Newline, line));
    Ok(out)
}

struct Parser {
    toks: Vec<(Tok, usize)>,
    pos: usize,
}

type R<T> = Result<T, ParseError>;

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|t| &t.0)
    }
    fn line(&self) -> usize {
        self.toks.get(self.pos).or(self.toks.last()).map_or(0, |t| t.1)
    }
    fn err<T>(&self, msg: impl Into<String>) -> R<T> {
        Err(ParseError { line: self.line(), msg: msg.into() })
    }
    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).map(|t| t.0.clone());
        self.pos += 1;
        t
    }
    fn skip_newlines(&mut self) {
        while self.peek() == Some(&Tok::Newline) {
            self.pos += 1;
        }
    }
    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(&Tok::Punct(c)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn expect(&mut self, c: char) -> R<()> {
        if self.eat(c) { Ok(()) } else { self.err(format!("expected `{c}`")) }
    }
    fn word(&mut self) -> R<String> {
        match self.next() {
            Some(Tok::Word(w)) => Ok(w),
            other => {
                self.pos -= 1;
                self.err(format!("expected a word, found {other:?}"))
            }
        }
    }
    fn peek_word(&self) -> Option<&str> {
        match self.peek() {
            Some(Tok::Word(w)) => Some(w),
            _ => None,
        }
    }
    fn eat_word(&mut self, w: &str) -> bool {
        if self.peek_word() == Some(w) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn string(&mut self) -> R<String> {
        match self.next() {
            Some(Tok::Str(s)) => Ok(s),
            _ => {
                self.pos -= 1;
                self.err("expected a string")
            }
        }
    }
    fn prefixed(&mut self, prefix: &str) -> R<u32> {
        let w = self.word()?;
        match w.strip_prefix(prefix).and_then(|n| n.parse().ok()) {
            Some(n) => Ok(n),
            None => {
                self.pos -= 1;
                self.err(format!("expected `{prefix}N`, found `{w}`"))
            }
        }
    }
    fn number(&mut self) -> R<u64> {
        let w = self.word()?;
        let w2 = w.trim_start_matches('+');
        let v = if let Some(h) = w2.strip_prefix("0x") {
            u64::from_str_radix(&h.replace('_', ""), 16).ok()
        } else {
            w2.parse().ok()
        };
        match v {
            Some(v) => Ok(v),
            None => self.err(format!("expected a number, found `{w}`")),
        }
    }
    fn ty(&mut self) -> R<Type> {
        let w = self.word()?;
        match Type::from_name(&w) {
            Some(t) => Ok(t),
            None => {
                self.pos -= 1;
                self.err(format!("unknown type `{w}`"))
            }
        }
    }
    fn value(&mut self) -> R<Value> {
        Ok(Value(self.prefixed("v")?))
    }
    fn is_value(&self) -> bool {
        self.peek_word().is_some_and(|w| {
            w.len() > 1 && w.starts_with('v') && w[1..].bytes().all(|b| b.is_ascii_digit())
        })
    }
    fn sig(&mut self) -> R<Signature> {
        let mut sig = Signature::default();
        self.expect('(')?;
        if !self.eat(')') {
            loop {
                sig.params.push(self.ty()?);
                if self.eat(')') {
                    break;
                }
                self.expect(',')?;
            }
        }
        if self.peek() == Some(&Tok::Arrow) {
            self.pos += 1;
            loop {
                sig.results.push(self.ty()?);
                if !self.eat(',') {
                    break;
                }
            }
        }
        Ok(sig)
    }

    fn int_literal(&mut self, bits: u32) -> R<u64> {
        let w = self.word()?;
        let (neg, body) = match w.strip_prefix('-') {
            Some(b) => (true, b),
            None => (false, w.as_str()),
        };
        let mag: Option<u128> = if let Some(h) = body.strip_prefix("0x") {
            u128::from_str_radix(&h.replace('_', ""), 16).ok()
        } else {
            body.replace('_', "").parse().ok()
        };
        let limit = 1u128 << bits;
        match mag {
            Some(m) if !neg && m < limit => Ok(m as u64),
            Some(m) if neg && m <= limit / 2 => {
                Ok((m as i128).wrapping_neg() as u64 & (limit - 1) as u64)
            }
            _ => self.err(format!("bad {bits}-bit integer `{w}`")),
        }
    }

    fn float_literal(&mut self, is64: bool) -> R<u64> {
        let w = self.word()?;
        let bits = if let Some(h) = w.strip_prefix("0x") {
            u64::from_str_radix(h, 16).ok()
        } else if is64 {
            w.parse::<f64>().ok().map(f64::to_bits)
        } else {
            w.parse::<f32>().ok().map(|x| x.to_bits() as u64)
        };
        match bits {
            Some(b) => Ok(b),
            None => self.err(format!("bad float `{w}`")),
        }
    }

    fn constant(&mut self, head: &str) -> R<Option<Const>> {
        Ok(Some(match head {
            "i32.const" => Const::I32(self.int_literal(32)? as u32),
            "i64.const" => Const::I64(self.int_literal(64)?),
            "f32.const" => Const::F32(self.float_literal(false)? as u32),
            "f64.const" => Const::F64(self.float_literal(true)?),
            "v128.const" => {
                let w = self.word()?;
                let v = w.strip_prefix("0x").and_then(|h| u128::from_str_radix(h, 16).ok());
                Const::V128(v.ok_or(ParseError { line: self.line(), msg: "bad v128".into() })?)
            }
            "ref.null" => Const::Null(self.ty()?),
            _ => return Ok(None),
        }))
    }

    fn const_expr(&mut self) -> R<ConstExpr> {
        let head = self.word()?;
        if let Some(c) = self.constant(&head)? {
            return Ok(ConstExpr::Const(c));
        }
        match head.as_str() {
            "global.get" => Ok(ConstExpr::GlobalGet(self.prefixed("g")?)),
            "ref.func" => Ok(ConstExpr::RefFunc(FuncId(self.prefixed("fn")?))),
            _ => self.err(format!("bad constant expression `{head}`")),
        }
    }

    fn elem_item(&mut self) -> R<ConstExpr> {
        match self.peek_word() {
            Some(w) if w.starts_with("fn") => Ok(ConstExpr::RefFunc(FuncId(self.prefixed("fn")?))),
            Some("null") => {
                self.pos += 1;
                Ok(ConstExpr::Const(Const::Null(Type::FuncRef)))
            }
            _ => self.const_expr(),
        }
    }

    fn limits(&mut self) -> R<(u64, Option<u64>, bool)> {
        if !self.eat_word("min") {
            return self.err("expected `min`");
        }
        let min = self.number()?;
        let max = if self.eat_word("max") { Some(self.number()?) } else { None };
        Ok((min, max, self.eat_word("import")))
    }

    fn block_call(&mut self) -> R<BlockCall> {
        let block = Block(self.prefixed("block")?);
        let mut args = Vec::new();
        if self.eat('(') && !self.eat(')') {
            loop {
                args.push(self.value()?);
                if self.eat(')') {
                    break;
                }
                self.expect(',')?;
            }
        }
        Ok(BlockCall { block, args })
    }

    fn value_list(&mut self) -> R<Vec<Value>> {
        let mut vs = Vec::new();
        if self.is_value() {
            vs.push(self.value()?);
            while self.eat(',') {
                vs.push(self.value()?);
            }
        }
        Ok(vs)
    }

    /// The mnemonic with its immediates.
    fn inst_kind(&mut self, head: &str) -> R<InstKind> {
        use InstKind::*;
        if let Some(c) = self.constant(head)? {
            return Ok(Const(c));
        }
        if let Some(op) = NumOp::from_name(head) {
            return Ok(Num(op));
        }
        if let Some(op) = LoadOp::ALL.iter().copied().find(|o| o.info().0 == head) {
            let mem = self.prefixed("mem")?;
            let offset = self.number()?;
            return Ok(Load { op, offset, mem });
        }
        if let Some(op) = StoreOp::ALL.iter().copied().find(|o| o.info().0 == head) {
            let mem = self.prefixed("mem")?;
            let offset = self.number()?;
            return Ok(Store { op, offset, mem });
        }
        Ok(match head {
            "select" => Select,
            "copy" => Copy,
            "global.get" => GlobalGet(self.prefixed("g")?),
            "global.set" => GlobalSet(self.prefixed("g")?),
            "memory.size" => MemorySize(self.prefixed("mem")?),
            "memory.grow" => MemoryGrow(self.prefixed("mem")?),
            "memory.fill" => MemoryFill(self.prefixed("mem")?),
            "memory.copy" => MemoryCopy { dst: self.prefixed("mem")?, src: self.prefixed("mem")? },
            "memory.init" => {
                MemoryInit { mem: self.prefixed("mem")?, data: self.prefixed("data")? }
            }
            "data.drop" => DataDrop(self.prefixed("data")?),
            "table.get" => TableGet(self.prefixed("table")?),
            "table.set" => TableSet(self.prefixed("table")?),
            "table.size" => TableSize(self.prefixed("table")?),
            "table.grow" => TableGrow(self.prefixed("table")?),
            "table.fill" => TableFill(self.prefixed("table")?),
            "table.copy" => {
                TableCopy { dst: self.prefixed("table")?, src: self.prefixed("table")? }
            }
            "table.init" => {
                TableInit { table: self.prefixed("table")?, elem: self.prefixed("elem")? }
            }
            "elem.drop" => ElemDrop(self.prefixed("elem")?),
            "ref.is_null" => RefIsNull,
            "ref.func" => RefFunc(FuncId(self.prefixed("fn")?)),
            "fuel" => Fuel(self.number()? as u32),
            "call" => Call(FuncId(self.prefixed("fn")?)),
            "call_indirect" => {
                CallIndirect { sig: self.prefixed("sig")?, table: self.prefixed("table")? }
            }
            "simd" => {
                let rt = self.word()?;
                let result = if rt == "void" {
                    None
                } else {
                    match Type::from_name(&rt) {
                        Some(t) => Some(t),
                        None => return self.err(format!("bad simd result type `{rt}`")),
                    }
                };
                let name = self.word()?;
                let mem = if self.peek_word().is_some_and(|w| w.starts_with("mem")) {
                    let m = self.prefixed("mem")?;
                    Some((m, self.number()?))
                } else {
                    None
                };
                let imm = if self.eat_word("imm") {
                    let w = self.word()?;
                    match w.strip_prefix("0x").and_then(|h| u128::from_str_radix(h, 16).ok()) {
                        Some(v) => v,
                        None => return self.err(format!("bad simd immediate `{w}`")),
                    }
                } else {
                    0
                };
                Simd(Box::new(SimdOp { name, result, mem, imm }))
            }
            "jump" => Jump,
            "brif" => Brif,
            "br_table" => BrTable,
            "return" => Return,
            "trap" => {
                let w = self.word()?;
                match TrapCode::ALL.iter().find(|c| c.name() == w) {
                    Some(&c) => Trap(c),
                    None => return self.err(format!("unknown trap code `{w}`")),
                }
            }
            _ => return self.err(format!("unknown instruction `{head}`")),
        })
    }

    fn function(&mut self, func: &mut Function) -> R<()> {
        self.expect('{')?;
        self.skip_newlines();
        let mut current: Option<Block> = None;
        let mut seen_blocks = std::collections::HashSet::new();
        loop {
            self.skip_newlines();
            if self.eat('}') {
                break;
            }
            let line = self.line();
            // A block header?
            if let Some(w) = self.peek_word()
                && w.starts_with("block")
                && matches!(self.toks.get(self.pos + 1).map(|t| &t.0), Some(Tok::Punct('(' | ':')))
            {
                let b = Block(self.prefixed("block")?);
                if !seen_blocks.insert(b) {
                    return self.err(format!("{b} defined twice"));
                }
                while func.blocks.len() <= b.index() {
                    func.blocks.push(BlockData::default());
                }
                func.layout.push(b);
                if self.eat('(') && !self.eat(')') {
                    loop {
                        let v = self.value()?;
                        self.expect(':')?;
                        let ty = self.ty()?;
                        let n = func.blocks[b.index()].params.len() as u32;
                        define(func, v, ty, ValueDef::Param(b, n), line)?;
                        func.blocks[b.index()].params.push(v);
                        if self.eat(')') {
                            break;
                        }
                        self.expect(',')?;
                    }
                }
                self.expect(':')?;
                current = Some(b);
                continue;
            }
            let Some(block) = current else {
                return self.err("instruction outside a block");
            };
            let results = if self.is_value() {
                let rs = self.value_list()?;
                self.expect('=')?;
                rs
            } else {
                vec![]
            };
            let head = self.word()?;
            let kind = self.inst_kind(&head)?;
            let mut args = Vec::new();
            let mut targets = Vec::new();
            match kind {
                InstKind::Jump => targets.push(self.block_call()?),
                InstKind::Brif => {
                    args.push(self.value()?);
                    self.expect(',')?;
                    targets.push(self.block_call()?);
                    self.expect(',')?;
                    targets.push(self.block_call()?);
                }
                InstKind::BrTable => {
                    args.push(self.value()?);
                    self.expect(',')?;
                    self.expect('[')?;
                    if !self.eat(']') {
                        loop {
                            targets.push(self.block_call()?);
                            if self.eat(']') {
                                break;
                            }
                            self.expect(',')?;
                        }
                    }
                    self.expect(',')?;
                    targets.push(self.block_call()?);
                }
                _ => args = self.value_list()?,
            }
            if self.peek() != Some(&Tok::Newline) {
                return self.err(format!("unexpected {:?} after instruction", self.peek()));
            }
            let inst = Inst(func.insts.len() as u32);
            for (i, &r) in results.iter().enumerate() {
                define(func, r, Type::I32, ValueDef::Result(inst, i as u32), line)?;
            }
            func.insts.push(InstData { kind, args, results, targets, srcloc: None });
            func.blocks[block.index()].insts.push(inst);
        }
        // No blocks: a stub for a body the builder could not build (printed that way).
        Ok(())
    }
}

fn define(func: &mut Function, v: Value, ty: Type, def: ValueDef, line: usize) -> R<()> {
    while func.values.len() <= v.index() {
        func.values.push(ValueData { ty: Type::I32, def: ValueDef::None });
    }
    if func.values[v.index()].def != ValueDef::None {
        return Err(ParseError { line, msg: format!("{v} defined twice") });
    }
    func.values[v.index()] = ValueData { ty, def };
    Ok(())
}

/// Infers result types, in layout order, twice (a `select` may use a value defined later).
fn infer_types(env: &Env, func: &mut Function) -> R<()> {
    for round in 0..2 {
        for bi in 0..func.layout.len() {
            let b = func.layout[bi];
            for ii in 0..func.blocks[b.index()].insts.len() {
                let inst = func.blocks[b.index()].insts[ii];
                let data = &func.insts[inst.index()];
                let arg_types: Vec<Type> = data
                    .args
                    .iter()
                    .map(|a| func.values.get(a.index()).map_or(Type::I32, |d| d.ty))
                    .collect();
                let tys = result_types(env, &data.kind, &arg_types);
                if tys.len() != data.results.len() {
                    if round == 1 {
                        return Err(ParseError {
                            line: 0,
                            msg: format!(
                                "in {:?}: `{}` has {} results, the text names {}",
                                func.name,
                                super::print::inst_head(&data.kind),
                                tys.len(),
                                data.results.len()
                            ),
                        });
                    }
                    continue;
                }
                for (r, t) in data.results.clone().into_iter().zip(tys) {
                    func.values[r.index()].ty = t;
                }
            }
        }
    }
    Ok(())
}

/// Parses a module (declarations, imports and functions in any mix; functions numbered in order).
pub fn parse_module(src: &str) -> Result<Module, ParseError> {
    let mut p = Parser { toks: tokenize(src)?, pos: 0 };
    let mut env = Env::default();
    let mut funcs: Vec<Function> = Vec::new();
    loop {
        p.skip_newlines();
        if p.peek().is_none() {
            break;
        }
        let w = p.word()?;
        match w.as_str() {
            "import" | "function" => {
                let id = p.prefixed("fn")?;
                if id as usize != funcs.len() {
                    return p.err(format!(
                        "expected fn{}, functions are numbered in order",
                        funcs.len()
                    ));
                }
                let mut f = Function::default();
                if w == "import" {
                    let module = p.string()?;
                    let field = p.string()?;
                    f.name = format!("{module}.{field}");
                    f.import = Some((module, field));
                    f.sig = p.sig()?;
                } else {
                    if matches!(p.peek(), Some(Tok::Str(_))) {
                        f.name = p.string()?;
                    }
                    f.sig = p.sig()?;
                    p.function(&mut f)?;
                }
                env.func_sigs.push(f.sig.clone());
                funcs.push(f);
            }
            "memory" => {
                p.prefixed("mem")?;
                let (min, max, imported) = p.limits()?;
                env.memories.push(Memory { min, max, imported });
            }
            "table" => {
                p.prefixed("table")?;
                let ty = p.ty()?;
                let (min, max, imported) = p.limits()?;
                env.tables.push(Table { ty, min, max, imported });
            }
            "global" => {
                p.prefixed("g")?;
                let mutable = p.eat_word("mut");
                let ty = p.ty()?;
                let init = if p.eat_word("import") {
                    None
                } else {
                    p.expect('=')?;
                    Some(p.const_expr()?)
                };
                env.globals.push(Global { ty, mutable, init });
            }
            "data" => {
                p.prefixed("data")?;
                let active = if p.eat_word("passive") {
                    None
                } else {
                    let mem = p.prefixed("mem")?;
                    if !p.eat_word("at") {
                        return p.err("expected `at`");
                    }
                    Some((mem, p.const_expr()?))
                };
                p.expect('=')?;
                let hex = p.string()?;
                let bytes: Option<Vec<u8>> = (0..hex.len() / 2)
                    .map(|i| hex.get(2 * i..2 * i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
                    .collect();
                match bytes {
                    Some(bytes) if hex.len() % 2 == 0 => env.datas.push(Data { active, bytes }),
                    _ => return p.err("data bytes must be a hex string"),
                }
            }
            "elem" => {
                p.prefixed("elem")?;
                let ty = p.ty()?;
                let (mut active, mut declared) = (None, false);
                if p.eat_word("declared") {
                    declared = true;
                } else if !p.eat_word("passive") {
                    let table = p.prefixed("table")?;
                    if !p.eat_word("at") {
                        return p.err("expected `at`");
                    }
                    active = Some((table, p.const_expr()?));
                }
                p.expect('=')?;
                p.expect('[')?;
                let mut items = Vec::new();
                if !p.eat(']') {
                    loop {
                        items.push(p.elem_item()?);
                        if p.eat(']') {
                            break;
                        }
                        p.expect(',')?;
                    }
                }
                env.elems.push(Elem { ty, active, declared, items });
            }
            s if s.starts_with("sig") => {
                p.pos -= 1;
                p.prefixed("sig")?;
                p.expect('=')?;
                let sig = p.sig()?;
                env.sigs.push(sig);
            }
            other => {
                p.pos -= 1;
                return p.err(format!("unexpected `{other}` at top level"));
            }
        }
    }
    for f in &mut funcs {
        infer_types(&env, f)?;
    }
    Ok(Module { env: std::sync::Arc::new(env), funcs })
}

/// Parses a module and returns it, panicking with the error (for tests).
pub fn parse_or_panic(src: &str) -> Module {
    parse_module(src).unwrap_or_else(|e| panic!("parse error: {e}"))
}
