//! `tierup debug`: run a module as `tierup run` does, under a gdb-style prompt.
//!
//! The prompt (line editing and history by rustyline), or with `--commands FILE` a script of the
//! same commands, one per line, each echoed after `(tierup) ` so the output reads as a
//! transcript. Before `run` it sets breakpoints; at each stop (a breakpoint, or the end of a
//! step) it inspects the stopped frame and says how to go on. The engine does the rest
//! (`tierup::debug`): the functions with breakpoints, and those stepped into, run in the
//! interpreter's debug translation whatever tier they had reached, and backtraces name each
//! frame's tier. The run itself is `run.rs`'s, with its options and outcome; this module only
//! adds the engine settings a debugger needs and the prompt.

use super::explore::Operators;
use super::run::{self, Host, RunCommand, RunHooks};
use anyhow::{Context, Result, bail};
use clap::Args;
use std::collections::VecDeque;
use std::io::Write;
use std::ops::Range;
use std::path::PathBuf;
use std::process::ExitCode;
use tierup::debug::{DebugView, Debugger, Resume, StopReason};
use tierup::debuginfo::DebugInfo;
use tierup::{Config, Module, ProfilingStrategy, Store};

/// Run a WebAssembly module under a debugger: breakpoints, stepping, frames with their tiers
///
/// Takes every option of `tierup run`. Commands (gdb's short forms in brackets):
///   break FUNC | FUNC+OFFSET | @ADDR [b]   stop before a function's first instruction, OFFSET
///                                          bytes after it, or at module offset ADDR (0x hex);
///                                          FUNC is a name from the name section or an index
///   break FILE:LINE                        with DWARF (-g): the line's first statement in each
///                                          function with code for it (or the next line's)
///   delete [N] [d]                         remove breakpoint N, or all
///   info breakpoints [i b]                 list breakpoints
///   run [r]                                start the program
///   continue [c], step [s], next [n], finish
///                                          go on: to the next breakpoint, one wasm instruction
///                                          (into calls), one over calls, out of this function
///   backtrace [bt]                         frames, innermost first, with their tiers (and
///                                          source lines with DWARF)
///   locals, print local N [p], stack, globals
///   memory ADDR [LEN] [x]                  hex dump of memory 0 (LEN default 64)
///   quit [q]
/// An empty line repeats the last command. A function with a breakpoint runs in the interpreter
/// from its next call on, whatever tier it reached. `step`, `next` or `finish` out of a function
/// whose caller runs compiled code stop at the next instruction the interpreter can show.
#[derive(Args, Debug)]
#[command(
    verbatim_doc_comment,
    after_help = "Examples:
  tierup debug prog.wasm input.txt
  tierup debug --commands cmds.txt --tier auto --tier-up-threshold 10 prog.wasm"
)]
pub struct DebugCommand {
    /// Read the commands from FILE, one per line, instead of a prompt (blank lines and lines
    /// starting with `#` are skipped); at its end the program runs to completion
    #[arg(long, value_name = "FILE")]
    commands: Option<PathBuf>,

    #[command(flatten)]
    run: RunCommand,
}

pub fn debug(cmd: DebugCommand) -> Result<ExitCode> {
    let path = run::file(&cmd.run).to_path_buf();
    let bytes = std::fs::read(&path)
        .with_context(|| format!("failed to compile {}: cannot read it", path.display()))?;
    let binary = if bytes.starts_with(b"\0asm") {
        bytes
    } else {
        wat::parse_bytes(&bytes)
            .with_context(|| format!("failed to compile {}", path.display()))?
            .into_owned()
    };
    let program = Program::new(&binary)?;
    let input = match &cmd.commands {
        Some(file) => {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("cannot read commands from {}", file.display()))?;
            Input::script(&text)
        }
        None => Input::prompt()?,
    };
    let mut hooks = Hooks { session: Some(Session::new(input, program)) };
    let status = run::run_with(cmd.run, Some(&mut hooks))?;
    println!("[program finished]");
    Ok(status)
}

/// The engine settings and the prompt before the call.
struct Hooks {
    /// The session, until `run` hands it to the engine.
    session: Option<Session>,
}

impl RunHooks for Hooks {
    fn config(&mut self, config: Config) -> Config {
        // The shadow stack of running frames, without its sampler: backtraces across tiers;
        // every call through the function tables, so breakpoints stop every call.
        Config {
            profiling_strategy: ProfilingStrategy::Guest,
            guest_profile_interval: std::time::Duration::ZERO,
            guest_debug: true,
            ..config
        }
    }

    fn before_call(&mut self, module: &Module, store: &mut Store<Host>) -> Result<bool> {
        let mut session = self.session.take().context("the session runs once")?;
        session.module = Some(module.clone());
        // Out of commands before `run`, a script runs the program to its end.
        while let Some(line) = session.read_command() {
            match session.execute(&line, None) {
                Action::Stay => {}
                Action::Run => break,
                Action::Quit => return Ok(false),
                Action::Resume(_) => println!("the program is not running (`run` starts it)"),
            }
        }
        store.set_debugger(Box::new(session));
        Ok(true)
    }
}

/// Where commands come from.
enum Input {
    /// The terminal, with line editing and history.
    Prompt(Box<rustyline::DefaultEditor>),
    /// A script's lines; each is echoed as it is read.
    Script(VecDeque<String>),
}

impl Input {
    fn prompt() -> Result<Input> {
        let editor = rustyline::DefaultEditor::new().context("cannot start the prompt")?;
        Ok(Input::Prompt(Box::new(editor)))
    }

    fn script(text: &str) -> Input {
        let lines = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_string)
            .collect();
        Input::Script(lines)
    }

    /// The next command; `None` at the end of input.
    fn next(&mut self) -> Option<String> {
        match self {
            Input::Prompt(editor) => {
                let line = editor.readline("(tierup) ").ok()?;
                if !line.trim().is_empty() {
                    let _ = editor.add_history_entry(line.as_str());
                }
                Some(line)
            }
            Input::Script(lines) => {
                let line = lines.pop_front()?;
                println!("(tierup) {line}");
                Some(line)
            }
        }
    }
}

/// What a command asks for.
enum Action {
    /// Nothing more: read the next command.
    Stay,
    /// Start the program.
    Run,
    /// Go on running.
    Resume(Resume),
    /// End the session.
    Quit,
}

/// The module's functions as the code section lays them out.
struct Program {
    /// Imported functions, which come first in the index space.
    num_imported: u32,
    /// Per defined function, its body's range and its first instruction's offset.
    bodies: Vec<(Range<usize>, u32)>,
    /// Each operator's text by module offset.
    operators: Operators,
    /// Source lines, when the module carries DWARF.
    source: Option<DebugInfo>,
}

impl Program {
    fn new(binary: &[u8]) -> Result<Program> {
        let mut num_imported = 0;
        let mut bodies = Vec::new();
        for payload in wasmparser::Parser::new(0).parse_all(binary) {
            match payload.context("cannot read the module")? {
                wasmparser::Payload::ImportSection(imports) => {
                    for import in imports.into_imports() {
                        let import = import.context("cannot read the module")?;
                        if matches!(import.ty, wasmparser::TypeRef::Func(_)) {
                            num_imported += 1;
                        }
                    }
                }
                wasmparser::Payload::CodeSectionEntry(body) => {
                    let first = body.get_operators_reader().context("cannot read a body")?;
                    let range = body.range();
                    bodies.push((
                        range.start as usize..range.end as usize,
                        first.original_position() as u32,
                    ));
                }
                _ => {}
            }
        }
        let source = DebugInfo::new(binary).ok().filter(DebugInfo::has_dwarf);
        Ok(Program { num_imported, bodies, operators: Operators::new(binary)?, source })
    }

    /// The function whose body holds module offset `offset`.
    fn func_at(&self, offset: u32) -> Option<u32> {
        let def = self.bodies.iter().position(|(range, _)| range.contains(&(offset as usize)))?;
        Some(self.num_imported + def as u32)
    }

    /// The offset of the first instruction of function `func`, if it is defined.
    fn first_instruction(&self, func: u32) -> Option<u32> {
        let def = func.checked_sub(self.num_imported)?;
        self.bodies.get(def as usize).map(|&(_, first)| first)
    }

    /// ` at FILE:LINE[:COLUMN]` for module offset `offset`, or nothing without DWARF.
    fn source_suffix(&self, offset: u32) -> String {
        let location = self.source.as_ref().and_then(|source| source.location(offset));
        location.filter(|l| l.line > 0).map_or(String::new(), |l| format!(" at {l}"))
    }

    /// Under a stop, with DWARF: `    at FILE:LINE:COLUMN`, and the line's text as gdb shows it
    /// (`LINE<tab>TEXT`) when the file can be read (its recorded path, from the current folder).
    fn print_source_line(&self, offset: u32) {
        let Some(location) = self.source.as_ref().and_then(|source| source.location(offset)) else {
            return;
        };
        if location.line == 0 {
            return;
        }
        println!("    at {location}");
        let text = std::fs::read_to_string(&location.file).ok();
        if let Some(line) = text.as_deref().and_then(|t| t.lines().nth(location.line as usize - 1))
        {
            println!("{}\t{line}", location.line);
        }
    }

    /// The instruction at `offset` as text.
    fn instruction(&self, offset: u32) -> String {
        match self.operators.at(offset) {
            Some((_, ")")) => "end".to_string(),
            Some((_, text)) => text.to_string(),
            None => "<instruction>".to_string(),
        }
    }
}

/// A breakpoint as the user set it.
struct Breakpoint {
    id: u32,
    func: u32,
    offset: u32,
}

/// The debugger: input, the program's layout, the breakpoints.
struct Session {
    input: Input,
    program: Program,
    module: Option<Module>,
    breakpoints: Vec<Breakpoint>,
    next_id: u32,
    /// The last command, which an empty line repeats.
    last: Option<String>,
}

impl Session {
    fn new(input: Input, program: Program) -> Session {
        Session { input, program, module: None, breakpoints: Vec::new(), next_id: 1, last: None }
    }

    fn module(&self) -> &Module {
        self.module.as_ref().expect("set before the first command")
    }

    /// The next command (an empty line repeats the last one); `None` at the end of input.
    fn read_command(&mut self) -> Option<String> {
        let line = self.input.next()?;
        let line = line.trim().to_string();
        if line.is_empty() {
            return Some(self.last.clone().unwrap_or_default());
        }
        self.last = Some(line.clone());
        Some(line)
    }

    /// Runs one command; `view` is the stopped program, if it is stopped.
    fn execute(&mut self, line: &str, view: Option<&DebugView<'_>>) -> Action {
        let words: Vec<&str> = line.split_whitespace().collect();
        let Some((&command, args)) = words.split_first() else { return Action::Stay };
        let result = match (command, args) {
            ("quit" | "q", _) => return Action::Quit,
            ("run" | "r", _) if view.is_none() => return Action::Run,
            ("run" | "r", _) => Err(anyhow::anyhow!("the program is already running")),
            ("continue" | "c", _) => return Action::Resume(Resume::Continue),
            ("step" | "s", _) => return Action::Resume(Resume::Step),
            ("next" | "n", _) => return Action::Resume(Resume::Next),
            ("finish" | "fin", _) => return Action::Resume(Resume::Finish),
            ("break" | "b", [spec]) => self.set_breakpoint(spec),
            ("delete" | "d", []) => self.delete(None),
            ("delete" | "d", [id]) => id
                .parse()
                .context("expected a breakpoint number")
                .and_then(|id| self.delete(Some(id))),
            ("info", ["breakpoints" | "b" | "break"]) | ("i", ["b"]) => {
                self.info_breakpoints();
                Ok(())
            }
            ("help" | "h", _) => {
                println!("{HELP}");
                Ok(())
            }
            (
                "backtrace" | "bt" | "where" | "locals" | "stack" | "globals" | "memory" | "x"
                | "print" | "p",
                _,
            ) => match view {
                Some(view) => self.inspect(view, command, args),
                None => Err(anyhow::anyhow!("the program is not running")),
            },
            _ => Err(anyhow::anyhow!("unknown command `{line}` (try `help`)")),
        };
        if let Err(e) = result {
            println!("error: {e:#}");
        }
        Action::Stay
    }

    /// `break SPEC`: a function, an offset in one, a module offset, or a source line (one
    /// breakpoint per function with code for it).
    fn set_breakpoint(&mut self, spec: &str) -> Result<()> {
        if let Some((file, line)) = source_line_spec(spec) {
            let source = self.program.source.as_ref().context("the module has no DWARF")?;
            let places = source.breakpoints(file, line)?;
            if places.is_empty() {
                bail!("no code for {file}:{line}");
            }
            for place in places {
                self.set_breakpoint_at(place.func_index, Some(place.wasm_offset))?;
            }
            return Ok(());
        }
        let (func, offset) = self.resolve(spec)?;
        self.set_breakpoint_at(func, offset)
    }

    /// A breakpoint in function `func` at module offset `offset` (`None`: its first instruction).
    fn set_breakpoint_at(&mut self, func: u32, offset: Option<u32>) -> Result<()> {
        let offset = self.module().set_breakpoint(func, offset)?;
        if self.breakpoints.iter().any(|b| b.func == func && b.offset == offset) {
            println!("breakpoint already set at {}", self.place(func, offset));
            return Ok(());
        }
        let id = self.next_id;
        self.next_id += 1;
        println!("Breakpoint {id} at {}", self.place(func, offset));
        self.breakpoints.push(Breakpoint { id, func, offset });
        Ok(())
    }

    /// The function and module offset a breakpoint spec names (`None`: its first instruction).
    fn resolve(&self, spec: &str) -> Result<(u32, Option<u32>)> {
        if let Some(addr) = spec.strip_prefix('@') {
            let offset = parse_number(addr)?;
            let offset = u32::try_from(offset).context("offset out of range")?;
            let func =
                self.program.func_at(offset).context("no function body holds that offset")?;
            return Ok((func, Some(offset)));
        }
        let (name, plus) = match spec.split_once('+') {
            Some((name, plus)) => (name, Some(parse_number(plus)?)),
            None => (spec, None),
        };
        let func = self.func_named(name)?;
        let offset = match plus {
            None => None,
            Some(plus) => {
                let first = self.program.first_instruction(func).context("an imported function")?;
                Some(first + u32::try_from(plus).context("offset out of range")?)
            }
        };
        Ok((func, offset))
    }

    /// The function `name` names: its name in the name section, or its index.
    fn func_named(&self, name: &str) -> Result<u32> {
        let module = self.module();
        if let Some(func) = (0..module.num_funcs()).find(|&f| module.func_name(f) == Some(name)) {
            return Ok(func);
        }
        match name.parse::<u32>() {
            Ok(func) if func < module.num_funcs() => Ok(func),
            _ => bail!("no function named `{name}`"),
        }
    }

    /// `delete [N]`.
    fn delete(&mut self, id: Option<u32>) -> Result<()> {
        let (gone, kept): (Vec<_>, Vec<_>) =
            self.breakpoints.drain(..).partition(|b| id.is_none_or(|id| b.id == id));
        self.breakpoints = kept;
        if gone.is_empty() && id.is_some() {
            bail!("no breakpoint number {}", id.unwrap_or_default());
        }
        for b in &gone {
            self.module().clear_breakpoint(b.func, Some(b.offset))?;
            println!("Deleted breakpoint {}", b.id);
        }
        Ok(())
    }

    fn info_breakpoints(&self) {
        if self.breakpoints.is_empty() {
            println!("No breakpoints.");
        }
        for b in &self.breakpoints {
            println!("{:<4} {}", b.id, self.place(b.func, b.offset));
        }
    }

    /// `NAME (func N) @0xOFFSET`, and ` at FILE:LINE` with DWARF.
    fn place(&self, func: u32, offset: u32) -> String {
        format!("{} @{offset:#x}{}", self.func_label(func), self.program.source_suffix(offset))
    }

    /// `NAME (func N)`, or `func N` without a name.
    fn func_label(&self, func: u32) -> String {
        match self.module().func_name(func) {
            Some(name) => format!("{name} (func {func})"),
            None => format!("func {func}"),
        }
    }

    /// The inspection commands, on a stopped program.
    fn inspect(&self, view: &DebugView<'_>, command: &str, args: &[&str]) -> Result<()> {
        match (command, args) {
            ("backtrace" | "bt" | "where", _) => {
                for (depth, frame) in view.backtrace().iter().rev().enumerate() {
                    let at = frame.offset.map_or(String::new(), |o| format!(" @{o:#x}"));
                    let tier = frame.tier.name();
                    let line =
                        frame.offset.map_or(String::new(), |o| self.program.source_suffix(o));
                    println!(
                        "#{depth:<3} {}{at} [{tier}]{line}",
                        self.func_label(frame.func_index)
                    );
                }
            }
            ("locals", _) => {
                for (i, local) in view.locals().iter().enumerate() {
                    println!("local {i}: {} {local}", local.ty());
                }
            }
            ("print" | "p", ["local", n]) => {
                let n: usize = n.parse().context("expected a local's index")?;
                let local = view.locals().get(n).context("no such local")?;
                println!("local {n}: {} {local}", local.ty());
            }
            ("print" | "p", _) => bail!("usage: print local N"),
            ("stack", _) => {
                if view.stack().is_empty() {
                    println!("(empty)");
                }
                // Bottom first, as wasm's text format writes operands.
                for (i, &bits) in view.stack().iter().enumerate() {
                    let low = bits as u64;
                    println!("{i}: {low:#x} (i32 {}, i64 {})", low as u32 as i32, low as i64);
                }
            }
            ("globals", _) => {
                for (i, global) in view.globals().iter().enumerate() {
                    println!("global {i}: {} {global}", global.ty());
                }
            }
            ("memory" | "x", [addr, rest @ ..]) => {
                let addr = parse_number(addr)?;
                let len = match rest {
                    [] => 64,
                    [len] => usize::try_from(parse_number(len)?).context("length out of range")?,
                    _ => bail!("usage: memory ADDR [LEN]"),
                };
                let bytes = view.memory(0, addr, len).context("outside memory 0")?;
                print!("{}", hex_dump(addr, bytes));
            }
            ("memory" | "x", _) => bail!("usage: memory ADDR [LEN]"),
            _ => unreachable!("only inspection commands come here"),
        }
        Ok(())
    }

    /// Where the program stopped, as one line.
    fn announce(&self, view: &DebugView<'_>) {
        let (func, offset) = (view.func_index(), view.offset());
        let instruction = self.program.instruction(offset);
        let place = format!("{} @{offset:#x}", self.func_label(func));
        match view.reason() {
            StopReason::Breakpoint => {
                let id = self.breakpoints.iter().find(|b| b.func == func && b.offset == offset);
                let id = id.map_or(String::new(), |b| format!(" {}", b.id));
                println!("Breakpoint{id}, {place}: {instruction}");
            }
            StopReason::Step => println!("{place}: {instruction}"),
        }
        self.program.print_source_line(offset);
    }
}

impl Debugger for Session {
    fn on_stop(&mut self, view: &DebugView<'_>) -> Resume {
        self.announce(view);
        loop {
            let _ = std::io::stdout().flush();
            // At the end of the commands the program runs to its end.
            let Some(line) = self.read_command() else { return Resume::Continue };
            match self.execute(&line, Some(view)) {
                Action::Stay | Action::Run => {}
                Action::Resume(resume) => {
                    let _ = std::io::stdout().flush();
                    return resume;
                }
                Action::Quit => {
                    let _ = std::io::stdout().flush();
                    std::process::exit(0);
                }
            }
        }
    }
}

/// A number in decimal or `0x` hex.
/// `FILE:LINE` (the file name has a dot or a slash, so `func+3` and names never match).
fn source_line_spec(spec: &str) -> Option<(&str, u32)> {
    let (file, line) = spec.rsplit_once(':')?;
    let line = line.parse().ok()?;
    (file.contains('.') || file.contains('/')).then_some((file, line))
}

fn parse_number(text: &str) -> Result<u64> {
    let parsed = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => text.parse(),
    };
    parsed.with_context(|| format!("`{text}` is not a number (decimal or 0x hex)"))
}

/// `bytes` from address `addr`, 16 to a line: the address, the bytes in hex, then as ASCII.
fn hex_dump(addr: u64, bytes: &[u8]) -> String {
    let mut out = String::new();
    for (i, line) in bytes.chunks(16).enumerate() {
        let hex: Vec<String> = line.iter().map(|b| format!("{b:02x}")).collect();
        let text: String = line
            .iter()
            .map(|&b| if b.is_ascii_graphic() || b == b' ' { b as char } else { '.' })
            .collect();
        out.push_str(&format!("{:#010x}: {:<47}  {text}\n", addr + 16 * i as u64, hex.join(" ")));
    }
    out
}

const HELP: &str = "\
break FUNC | FUNC+OFFSET | @ADDR | FILE:LINE (b)   delete [N] (d)   info breakpoints (i b)
run (r)   continue (c)   step (s)   next (n)   finish
backtrace (bt)   locals   print local N (p)   stack   globals   memory ADDR [LEN] (x)
quit (q)";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_hex_dumps() {
        assert_eq!(parse_number("0x1a2b").unwrap(), 0x1a2b);
        assert_eq!(parse_number("42").unwrap(), 42);
        assert!(parse_number("x").is_err());
        let dump = hex_dump(0x10, b"Hello, wasm!\0\x01\x02\x03tail");
        let lines: Vec<&str> = dump.lines().collect();
        assert_eq!(
            lines[0],
            "0x00000010: 48 65 6c 6c 6f 2c 20 77 61 73 6d 21 00 01 02 03  Hello, wasm!...."
        );
        assert_eq!(lines[1], format!("0x00000020: {:<47}  tail", "74 61 69 6c"));
    }
}
