//! `tierup explore`: each function's tier-1 (or tier-2) machine code, disassembled and
//! interleaved with the wasm operators (tier 2: the optimized SSA instructions) it came from, so a
//! reader sees what every operator costs.
//!
//! The engine supplies the code and the operator-to-offset map (`Module::explore_function`); this
//! module only formats: operators as wasmprinter prints them (looked up by module offset), machine
//! code through one small disassembler per ISA. It must never run the code it shows.

use anyhow::{Context, Result, bail};
use clap::Args;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use tierup::{CodePart, Config, Engine, Error, ExploredFunction, Isa, Module, Tier};

fn parse_tier(name: &str) -> Result<Tier, String> {
    match name {
        "baseline" => Ok(Tier::Baseline),
        "optimized" => Ok(Tier::Optimized),
        _ => Err(format!("`{name}` makes no machine code to show (baseline or optimized)")),
    }
}

fn parse_isa(name: &str) -> Result<Isa, String> {
    Isa::from_name(name).ok_or_else(|| format!("unknown ISA `{name}` (x86_64 or aarch64)"))
}

/// Show the machine code tier 1 (or tier 2) generates for each function, under the wasm operators it came from
///
/// For every defined function (or those --func selects): a header with its index, name, code size
/// and compile time, then the prologue, each wasm operator followed by the instructions generated
/// for it (operators with no instructions only moved a value on the code generator's virtual
/// stack), and the out-of-line code (on-stack-replacement entries, trap stubs, trap exit,
/// epilogue) under their own headings. Code offsets are in hex from the function's start; wasm
/// offsets (`@...`) are module byte offsets. Functions tier 1 does not compile show the reason.
/// x86-64 disassembly is in Intel syntax, as `perf annotate` and `objdump -M intel` print it;
/// --target aarch64 shows the aarch64 backend's code on any host (never run).
///
/// With --tier optimized, the code is tier 2's (the function optimized by the --passes pipeline
/// alone: no profile, so small callees are offered to the inliner as under `run --tier
/// optimized`), each stretch under the
/// SSA instruction it was emitted for and that instruction's wasm operator; passes move and merge
/// instructions, so the stretches follow the code, not the wasm order. `(register allocator:
/// ...)` stretches are the moves, spills and reloads the allocator added.
#[derive(Args, Debug)]
#[command(after_help = "Examples:
  tierup explore fib.wat
  tierup explore --func fib --func 3 prog.wasm
  tierup explore --target aarch64 --func fib fib.wat
  tierup explore --tier optimized --passes none --func fib fib.wat")]
pub struct ExploreCommand {
    #[command(flatten)]
    features: super::features::FeatureOption,

    /// Only this function: its name (name section or export) or its index in the function index
    /// space (repeatable)
    #[arg(long = "func", value_name = "NAME|INDEX")]
    funcs: Vec<String>,

    /// The ISA to generate code for: x86_64 or aarch64 (default: the host's)
    #[arg(long, value_name = "ISA", value_parser = parse_isa)]
    target: Option<Isa>,

    /// The tier whose code to show: `baseline` (tier 1) or `optimized` (tier 2)
    #[arg(long, value_name = "TIER", default_value = "baseline", value_parser = parse_tier)]
    tier: Tier,

    /// With --tier optimized: show the variant on-stack replacement compiles for this loop of
    /// each function (its ordinal in the body, from 0, every `loop` counted), entered at the
    /// loop's header with the frame's values, instead of the one calls enter
    #[arg(long, value_name = "N")]
    osr_loop: Option<u32>,

    /// Tier 2's pass pipeline, as for `tierup run` (`-O`, `none`, or pass names)
    #[arg(long, value_name = "PIPELINE", default_value = "-O", allow_hyphen_values = true)]
    passes: String,

    /// The module: a binary `.wasm` or a text `.wat` file
    #[arg(value_name = "FILE")]
    file: PathBuf,
}

pub fn explore(cmd: ExploreCommand) -> Result<ExitCode> {
    let path = &cmd.file;
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    // As `Module::from_file` reads files: a `.wasm` file is always binary.
    let binary = if path.extension().is_some_and(|e| e == "wasm") || bytes.starts_with(b"\0asm") {
        bytes
    } else {
        wat::parse_bytes(&bytes)
            .map_err(|mut e| {
                e.set_path(path);
                e
            })
            .with_context(|| format!("failed to compile {}", path.display()))?
            .into_owned()
    };
    // Nothing is compiled up front: each function is compiled for reading, on its own.
    let opt_pipeline = if cmd.passes == "none" { String::new() } else { cmd.passes.clone() };
    let features = cmd.features.features();
    let engine = Engine::new(Config {
        features,
        tier: Tier::Interp.into(),
        opt_pipeline,
        ..Config::default()
    });
    let module = Module::from_binary(&engine, &binary)
        .with_context(|| format!("failed to compile {}", path.display()))?;
    let selected = select(&module, &cmd.funcs)?;
    let operators = Operators::new(&binary)?;
    let isa = match cmd.target.or_else(Isa::host) {
        Some(isa) => isa,
        None => {
            bail!("tier 1 has no backend for {}: pick one with --target", std::env::consts::ARCH)
        }
    };
    let mut out = String::new();
    for (i, &func_index) in selected.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        match module.explore_entry(func_index, cmd.tier, cmd.osr_loop, isa) {
            Ok(function) => render(&mut out, &function, &operators)?,
            Err(Error::Unsupported(reason)) => {
                let name = function_label(func_index, module.display_name(func_index));
                let reason = operator_name(&reason);
                let tier = if cmd.tier == Tier::Optimized { "tier 2" } else { "tier 1" };
                let _ =
                    writeln!(out, ";; {name}: {tier} does not compile it (unsupported: {reason})");
            }
            Err(e) => return Err(e).context(format!("function {func_index}")),
        }
    }
    std::io::stdout().lock().write_all(out.as_bytes()).context("cannot write to stdout")?;
    Ok(ExitCode::SUCCESS)
}

/// The defined functions to show, in the order asked (all, in index order, by default).
fn select(module: &Module, wanted: &[String]) -> Result<Vec<u32>> {
    let imported = module.num_imported_funcs();
    if wanted.is_empty() {
        return Ok((imported..module.num_funcs()).collect());
    }
    let mut selected = Vec::new();
    for text in wanted {
        let index = match text.parse::<u32>() {
            Ok(index) if index < module.num_funcs() => index,
            Ok(index) => bail!("no function {index} (the module has {})", module.num_funcs()),
            Err(_) => {
                module.find_function(text).with_context(|| format!("no function named `{text}`"))?
            }
        };
        if index < imported {
            let label = function_label(index, module.display_name(index));
            bail!("{label} is imported: it has no code to show");
        }
        selected.push(index);
    }
    Ok(selected)
}

/// Tier 1 names a refused operator by its `Debug` form (`V128Const { value: V128([..]) }`): the
/// operator's name is what a reader needs.
fn operator_name(reason: &str) -> &str {
    match reason.find([' ', '(']) {
        Some(end)
            if reason.starts_with(|c: char| c.is_ascii_uppercase())
                && reason[..end].chars().all(|c| c.is_ascii_alphanumeric()) =>
        {
            &reason[..end]
        }
        _ => reason,
    }
}

/// `function 3 `name``, or `function 3` without a name.
fn function_label(func_index: u32, name: Option<&str>) -> String {
    match name {
        Some(name) => format!("function {func_index} `{name}`"),
        None => format!("function {func_index}"),
    }
}

/// The module's operators as text, by module byte offset (wasmprinter's flat form, with names
/// from the name section).
pub(super) struct Operators {
    lines: HashMap<u64, String>,
    /// Hex digits of the largest module offset, so `@` columns line up.
    width: usize,
}

impl Operators {
    pub(super) fn new(binary: &[u8]) -> Result<Operators> {
        let mut storage = String::new();
        let mut config = wasmprinter::Config::new();
        config.fold_instructions(false);
        let lines = config
            .offsets_and_lines(binary, &mut storage)
            .context("cannot print the module as text")?
            .filter_map(|(offset, line)| Some((offset?, line.trim_end().to_string())))
            .collect();
        Ok(Operators { lines, width: hex_digits(binary.len() as u64) })
    }

    /// The operator at `offset`, without wasmprinter's indentation.
    pub(super) fn at(&self, offset: u32) -> Option<(usize, &str)> {
        let line = self.lines.get(&u64::from(offset))?;
        let text = line.trim_start();
        Some((line.len() - text.len(), text))
    }
}

fn hex_digits(n: u64) -> usize {
    (format!("{n:x}").len()).max(4)
}

/// One function: header, prologue, operators with their code, out-of-line code.
fn render(out: &mut String, f: &ExploredFunction, operators: &Operators) -> Result<()> {
    let instructions = decode(f)?;
    let micros = f.compile_time.as_secs_f64() * 1e6;
    let _ = writeln!(
        out,
        ";; {}: {} bytes of {} code, compiled in {micros:.1} us",
        function_label(f.func_index, f.name.as_deref()),
        f.code.len(),
        f.isa,
    );
    // Everything printed between instructions, by the code offset it precedes.
    let mut marks: Vec<(u32, String)> = match f.register_entry {
        Some(at) => vec![
            (0, ";; entry: adapter from the slot convention to the register entry".to_string()),
            (at, ";; prologue (the register entry)".to_string()),
        ],
        None => vec![(0, ";; prologue".to_string())],
    };
    // The final `end` (the function's closing parenthesis) is outdented: leave it out.
    let body_ops = &f.ops[..f.ops.len().saturating_sub(1)];
    let base_indent = body_ops.iter().filter_map(|op| operators.at(op.wasm_offset)).map(|(i, _)| i);
    let base_indent = base_indent.min().unwrap_or(0);
    let mut loops = Vec::new();
    for (i, op) in f.ops.iter().enumerate() {
        if i == 0 {
            marks.push((op.code_offset, ";; body".to_string()));
        }
        let at = format!("@{:0w$x}", op.wasm_offset, w = operators.width);
        if let Some(ir) = &op.ir {
            marks.push((op.code_offset, ssa_heading(ir, op.wasm_offset, &at, operators)));
            continue;
        }
        let last = i == f.ops.len() - 1;
        let text = match operators.at(op.wasm_offset) {
            // wasmprinter prints the function's final `end` as the closing parenthesis.
            Some((_, ")")) | None if last => format!("{at}  end"),
            Some((indent, text)) => {
                format!("{at}  {}{text}", " ".repeat(indent.saturating_sub(base_indent)))
            }
            None => format!("{at}  <operator>"),
        };
        if text.split_whitespace().nth(1) == Some("loop") {
            loops.push(at);
        }
        marks.push((op.code_offset, text));
    }
    for (offset, part) in &f.out_of_line {
        let heading = match part {
            CodePart::OsrEntry(n) => match loops.get(*n) {
                Some(at) => format!(";; {part} ({at})"),
                None => format!(";; {part}"),
            },
            part => format!(";; {part}"),
        };
        marks.push((*offset, heading));
    }
    marks.sort_by_key(|(offset, _)| *offset);

    let width = hex_digits(f.code.len() as u64);
    let bytes_width = instructions.iter().map(|i| i.len * 3).max().unwrap_or(0);
    let mut marks = marks.into_iter().peekable();
    for insn in &instructions {
        while let Some((_, mark)) = marks.next_if(|(offset, _)| *offset <= insn.offset) {
            let _ = writeln!(out, "{mark}");
        }
        let bytes = &f.code[insn.offset as usize..][..insn.len];
        let hex: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let hex = hex.join(" ");
        let _ = writeln!(out, "    {:>width$x}:  {hex:<bytes_width$} {}", insn.offset, insn.text);
    }
    for (_, mark) in marks {
        let _ = writeln!(out, "{mark}");
    }
    Ok(())
}

/// The heading of a stretch of tier-2 code: the SSA instruction, then the wasm operator it came
/// from (none for what the compiler added).
fn ssa_heading(ir: &str, wasm_offset: u32, at: &str, operators: &Operators) -> String {
    match operators.at(wasm_offset) {
        Some((_, text)) if wasm_offset != 0 => format!("  {ir:<40} ;; {at}  {}", text.trim()),
        _ => format!("  {ir}"),
    }
}

/// One decoded machine instruction.
struct Instruction {
    offset: u32,
    len: usize,
    text: String,
}

/// A function's code as lines: instructions, and each jump table's entries as `.long` data
/// with the code offset each case jumps to (tables are data: decoding them as instructions would
/// print nonsense and could swallow the first bytes of what follows).
fn decode(f: &ExploredFunction) -> Result<Vec<Instruction>> {
    let mut lines = Vec::new();
    let mut start = 0;
    for (at, part) in &f.out_of_line {
        let CodePart::JumpTable { cases } = *part else { continue };
        lines.extend(disassemble(f.isa, &f.code[..*at as usize], start)?);
        for case in 0..cases {
            let entry = (at + 4 * case) as usize;
            let bytes = f.code[entry..entry + 4].try_into().expect("a 4-byte entry");
            let delta = i32::from_le_bytes(bytes);
            let target = i64::from(*at) + i64::from(delta);
            let text = format!(".long {delta}    ; case {case}: {target:#x}");
            lines.push(Instruction { offset: entry as u32, len: 4, text });
        }
        start = at + 4 * cases;
    }
    lines.extend(disassemble(f.isa, &f.code, start)?);
    Ok(lines)
}

/// Disassembles `code[start..]` (the code loaded at address 0) for `isa`: the one per-ISA entry
/// point.
fn disassemble(isa: &str, code: &[u8], start: u32) -> Result<Vec<Instruction>> {
    match isa {
        "x86_64" => Ok(disassemble_x64(code, start)),
        "aarch64" => Ok(disassemble_aarch64(code, start)),
        other => bail!("tierup explore cannot disassemble {other} code yet"),
    }
}

/// aarch64 (yaxpeax-arm), one 4-byte word per instruction; branch targets relative (`$+0x8`).
fn disassemble_aarch64(code: &[u8], start: u32) -> Vec<Instruction> {
    use yaxpeax_arch::{Decoder, U8Reader};
    use yaxpeax_arm::armv8::a64::InstDecoder;
    let decoder = InstDecoder::default();
    let words = code[start as usize..].chunks(4).enumerate();
    words
        .map(|(i, word)| {
            let mut reader = U8Reader::new(word);
            let text = match decoder.decode(&mut reader) {
                Ok(instruction) => instruction.to_string(),
                Err(e) => format!("<{e}>"),
            };
            Instruction { offset: start + i as u32 * 4, len: word.len(), text }
        })
        .collect()
}

/// x86-64 in Intel syntax (iced-x86), branch targets as code offsets.
fn disassemble_x64(code: &[u8], start: u32) -> Vec<Instruction> {
    use iced_x86::{Decoder, DecoderOptions, Formatter, IntelFormatter};
    let code = &code[start as usize..];
    let mut decoder = Decoder::with_ip(64, code, u64::from(start), DecoderOptions::NONE);
    let mut formatter = IntelFormatter::new();
    let options = formatter.options_mut();
    options.set_hex_prefix("0x");
    options.set_hex_suffix("");
    options.set_uppercase_hex(false);
    options.set_branch_leading_zeros(false);
    options.set_space_after_operand_separator(true);
    let mut instructions = Vec::new();
    for instruction in &mut decoder {
        let mut text = String::new();
        formatter.format(&instruction, &mut text);
        instructions.push(Instruction {
            offset: instruction.ip() as u32,
            len: instruction.len(),
            text,
        });
    }
    instructions
}

#[cfg(test)]
mod tests {
    use super::operator_name;

    #[test]
    fn refused_operators_are_named_without_their_immediates() {
        assert_eq!(operator_name("V128Const { value: V128([1, 0]) }"), "V128Const");
        assert_eq!(operator_name("F32Add"), "F32Add");
        assert_eq!(operator_name("values of type v128"), "values of type v128");
    }
}
