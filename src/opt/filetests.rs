//! Golden text-in/text-out tests of tier 2's back end, in the style of Cranelift's `compile`
//! filetests: every `filetests/*.ir` file holds an IR module (the passes' text form) whose first
//! defined function is lowered, allocated (with regalloc2's checker) and emitted for each ISA,
//! and the body's machine code, under the IR instruction each stretch was emitted for, must match
//! the text after that ISA's marker line (`; x86_64:`, `; aarch64:`). The register saves in front
//! of the entry are shown (which callee-saved registers the allocation uses); the rest of the
//! prologue and the out-of-line code (trap stubs, epilogue) are left out: the ISA layer's own
//! tests pin those.
//! `BLESS=1 cargo test --lib opt::filetests` rewrites the expected outputs.

use super::emit::{self, EmitInput, RegallocAlgorithm};
use super::lower::{self, EntrySlots};
use crate::isa::aarch64::Aarch64Masm;
use crate::isa::masm::{HeapBounds, MacroAssembler};
use crate::isa::x64::{X64Features, X64Masm};
use std::fmt::Write as _;
use std::path::Path;
use tierup_passes::ir::{Function, Module};
use tierup_passes::text::{inst_line, parse_module};

/// The ISAs every file is compiled for, with their marker lines.
const TARGETS: [(&str, &str); 2] = [("x86_64", "; x86_64:\n"), ("aarch64", "; aarch64:\n")];

/// The first defined function of `module`, compiled for `isa` and printed.
fn compile(module: &Module, isa: &str) -> Result<String, String> {
    let (index, func) = module
        .funcs
        .iter()
        .enumerate()
        .find(|(_, f)| f.import.is_none() && !f.layout.is_empty())
        .ok_or("no defined function")?;
    let imported = module.funcs.iter().filter(|f| f.import.is_some()).count() as u32;
    let types = module.env.sigs.len() as u32;
    match isa {
        "x86_64" => {
            // A fixed x86-64-v3 machine, whatever the host: the output must not depend on it.
            let features = X64Features { popcnt: true, sse41: true, bmi2: true };
            let masm = X64Masm::with_features(HeapBounds::GuardPages, features);
            body(masm, isa, func, index as u32, imported, types)
        }
        _ => {
            let masm = Aarch64Masm::with_bounds(false, HeapBounds::GuardPages);
            body(masm, isa, func, index as u32, imported, types)
        }
    }
}

fn body<M: MacroAssembler>(
    mut masm: M,
    isa: &str,
    func: &Function,
    func_index: u32,
    imported: u32,
    module_types: u32,
) -> Result<String, String> {
    let entry = EntrySlots((0..func.sig.params.len() as u32).collect());
    let regs = emit::reg_env(&mut masm);
    let conv = lower::Convention::new(func, &regs, masm.argument_registers(), true)
        .map_err(|e| e.to_string())?;
    let vcode = lower::lower(func, imported, &entry, &conv, masm.immediates())
        .map_err(|e| e.to_string())?;
    let output = emit::allocate(&vcode, &regs.env, RegallocAlgorithm::Backtracking, true)
        .map_err(|e| e.to_string())?;
    let input = EmitInput {
        func_index,
        def: func_index - imported,
        entry: &entry,
        num_results: func.sig.results.len(),
        count_calls: false,
        // The files' globals (if any) are the module's own: one access from the context.
        imported_globals: 0,
        // The files have no engine to intern signatures: each type stands for itself.
        sig_ids: &(0..module_types).collect::<Vec<u32>>(),
        record_origins: true,
        guest_profile: false,
        osr_loop: None,
        // The files are IR without wasm: no offsets to name.
        entry_offset: 0,
        srclocs: &[],
        register_abi: conv.entry.as_ref(),
    };
    let origins =
        emit::emit(&mut masm, &vcode, &output, &input).map_err(|e| e.to_string())?.origins;
    let body_end = masm.offset();
    let assembled = masm.finish().map_err(|e| e.to_string())?;
    // `finish` put the entry's register saves in front: the body moved by their length.
    let shift = assembled.entry_bytes;
    let body_end = body_end + shift;
    let origins: Vec<_> = origins.into_iter().map(|(at, origin)| (at + shift, origin)).collect();
    let lines = disassemble(isa, &assembled.code);
    let mut out = String::new();
    let mut stretches = origins.iter().peekable();
    // The slot-convention adapter, then the (register) entry's saves and pins.
    let register_entry = assembled.register_entry.unwrap_or(0);
    if register_entry > 0 {
        out.push_str("; (slot-convention entry: adapter to the register entry)\n");
    }
    for (offset, text) in lines {
        if offset < shift {
            if offset == register_entry {
                out.push_str("; (entry: register saves and pins)\n");
            }
            let _ = writeln!(out, "  {text}");
            continue;
        }
        if offset >= body_end {
            break;
        }
        while let Some((_, origin)) = stretches.next_if(|(start, _)| *start <= offset) {
            let heading = match origin {
                emit::Origin::Entry => "(entry)".to_string(),
                emit::Origin::Moves => "(moves)".to_string(),
                emit::Origin::Ir(i) => inst_line(func, *i),
            };
            let _ = writeln!(out, "; {heading}");
        }
        if origins.first().is_some_and(|(start, _)| offset >= *start) {
            let _ = writeln!(out, "  {text}");
        }
    }
    Ok(out)
}

/// Machine code, one `(offset, instruction)` per line; branch targets as offsets.
fn disassemble(isa: &str, code: &[u8]) -> Vec<(u32, String)> {
    match isa {
        "x86_64" => {
            use iced_x86::{Decoder, DecoderOptions, Formatter, GasFormatter};
            let mut decoder = Decoder::new(64, code, DecoderOptions::NONE);
            let mut formatter = GasFormatter::new();
            formatter.options_mut().set_branch_leading_zeros(false);
            formatter.options_mut().set_uppercase_hex(false);
            let mut out = Vec::new();
            for instruction in &mut decoder {
                let mut line = String::new();
                formatter.format(&instruction, &mut line);
                out.push((instruction.ip() as u32, line.trim().to_string()));
            }
            out
        }
        _ => crate::isa::aarch64::tests::disassemble_bytes(code)
            .lines()
            .enumerate()
            .map(|(i, line)| (i as u32 * 4, line.to_string()))
            .collect(),
    }
}

/// The expected text of `isa` in `text`: after its marker, up to the next marker.
fn expected<'a>(text: &'a str, marker: &str) -> Option<&'a str> {
    let (_, rest) = text.split_once(marker)?;
    let end = TARGETS.iter().filter_map(|(_, m)| rest.find(m)).min().unwrap_or(rest.len());
    Some(&rest[..end])
}

/// The input: everything before the first marker.
fn input(text: &str) -> &str {
    let end = TARGETS.iter().filter_map(|(_, m)| text.find(m)).min().unwrap_or(text.len());
    &text[..end]
}

#[test]
fn filetests() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/opt/filetests");
    let mut paths: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().map(|e| e.path()).collect();
    paths.retain(|p| p.extension().is_some_and(|e| e == "ir"));
    paths.sort();
    assert!(!paths.is_empty());
    let bless = std::env::var_os("BLESS").is_some();
    let mut failures = Vec::new();
    for path in &paths {
        let text = std::fs::read_to_string(path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let module = match parse_module(input(&text)) {
            Ok(module) => module,
            Err(e) => {
                failures.push(format!("{name}: parse: {e}"));
                continue;
            }
        };
        let mut blessed = input(&text).to_string();
        for (isa, marker) in TARGETS {
            let actual = match compile(&module, isa) {
                Ok(actual) => actual,
                Err(e) => format!("error: {e}\n"),
            };
            if expected(&text, marker) != Some(actual.as_str()) {
                failures.push(format!(
                    "{name} ({isa}): expected\n{}\ngot\n{actual}",
                    expected(&text, marker).unwrap_or("<nothing>")
                ));
            }
            blessed.push_str(marker);
            blessed.push_str(&actual);
        }
        if bless {
            std::fs::write(path, blessed).unwrap();
        }
    }
    if bless {
        return;
    }
    assert!(failures.is_empty(), "{}\n(BLESS=1 rewrites them)", failures.join("\n\n"));
}
