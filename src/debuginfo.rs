//! Source locations from a module's DWARF (`.debug_*` custom sections, as clang and rustc write
//! them with `-g`): module offset -> `file:line:column` (with the functions inlined there), and
//! the reverse a debugger needs, `file:line` -> the module offsets (and functions) where a
//! breakpoint goes; also module offset <-> function-relative offset, which needs no DWARF.
//!
//! Wasm DWARF addresses are offsets from the start of the code section's contents (the byte after
//! its size); everything here speaks module offsets, as backtraces do
//! ([`FrameInfo::wasm_offset`](crate::vm::FrameInfo::wasm_offset)), and converts at the edge.
//! A function-relative offset counts from the start of the function's body (its locals
//! declaration, right after the body's size), as wasmparser's `FunctionBody::range` starts.
//!
//! The forward lookup is `addr2line`'s (as in wasmtime); the reverse walks the line programs
//! with `gimli` (which `addr2line` reads them with). Nothing here runs while wasm runs: a
//! [`DebugInfo`] is built from the module's bytes when a tool wants lines, and consulted after
//! the fact. It must never affect execution.

use crate::error::{Error, Result};
use gimli::Reader as _;
use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;

/// How the DWARF sections are read: shared byte buffers, so the context owns its data.
type Reader = gimli::EndianArcSlice<gimli::LittleEndian>;

/// A place in the source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceLocation {
    /// The file's path, as the compiler recorded it (joined with the compilation directory when
    /// relative).
    pub file: String,
    /// 1-based line; 0 when the compiler attributed the code to no line.
    pub line: u32,
    /// 1-based column, when recorded.
    pub column: Option<u32>,
}

impl std::fmt::Display for SourceLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file, self.line)?;
        match self.column {
            Some(column) => write!(f, ":{column}"),
            None => Ok(()),
        }
    }
}

/// One source-level frame at a module offset: the function whose code it is (an inlined one
/// first, then the functions it was inlined into) and where in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceFrame {
    /// The function's source name (demangling is left to the reader), when DWARF names it.
    pub function: Option<String>,
    /// Where in it; for an outer frame, where the inlined call is.
    pub location: Option<SourceLocation>,
}

/// Where a breakpoint on a source line goes, in one function.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Breakpoint {
    /// The function (module index space).
    pub func_index: u32,
    /// The module offset of the first instruction of the line in that function.
    pub wasm_offset: u32,
    /// The line it is on: the one asked for, or the next line with code when that one has none.
    pub location: SourceLocation,
}

/// A module's debug information and function layout.
pub struct DebugInfo {
    /// `None` without DWARF.
    dwarf: Option<Dwarf>,
    /// Module offset of the code section's contents (DWARF address 0).
    code_start: u32,
    /// The bodies of the defined functions, by defined index, as module offset ranges.
    bodies: Vec<Range<u32>>,
    num_imported_funcs: u32,
}

/// The parsed DWARF: `addr2line`'s context for addresses, the sections for line programs.
struct Dwarf {
    context: addr2line::Context<Reader>,
    sections: Arc<gimli::Dwarf<Reader>>,
}

impl std::fmt::Debug for DebugInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DebugInfo")
            .field("has_dwarf", &self.has_dwarf())
            .field("code_start", &self.code_start)
            .field("functions", &self.bodies.len())
            .finish()
    }
}

impl DebugInfo {
    /// Reads the DWARF and the function layout of the module `wasm` (a binary module, already
    /// validated or not: only its section structure is read). A module without DWARF gives a
    /// `DebugInfo` whose source lookups find nothing.
    pub fn new(wasm: &[u8]) -> Result<DebugInfo> {
        let mut sections: HashMap<&str, &[u8]> = HashMap::new();
        let mut code_start = 0;
        let mut bodies = Vec::new();
        let mut num_imported_funcs = 0;
        for payload in wasmparser::Parser::new(0).parse_all(wasm) {
            match payload.map_err(Error::from_wasmparser)? {
                wasmparser::Payload::ImportSection(imports) => {
                    for import in imports.into_imports() {
                        let import = import.map_err(Error::from_wasmparser)?;
                        if matches!(import.ty, wasmparser::TypeRef::Func(_)) {
                            num_imported_funcs += 1;
                        }
                    }
                }
                wasmparser::Payload::CodeSectionStart { unchecked_range, .. } => {
                    code_start = unchecked_range.start as u32;
                }
                wasmparser::Payload::CodeSectionEntry(body) => {
                    let range = body.range();
                    bodies.push(range.start as u32..range.end as u32);
                }
                wasmparser::Payload::CustomSection(section)
                    if section.name().starts_with(".debug_") =>
                {
                    sections.insert(section.name(), section.data());
                }
                _ => {}
            }
        }
        let dwarf = if sections.contains_key(".debug_info") {
            let load = |id: gimli::SectionId| -> std::result::Result<Reader, gimli::Error> {
                let data = sections.get(id.name()).copied().unwrap_or(&[]);
                Ok(Reader::new(Arc::from(data), gimli::LittleEndian))
            };
            let parsed = gimli::Dwarf::load(load).map_err(dwarf_error)?;
            let sections = Arc::new(parsed);
            let context =
                addr2line::Context::from_arc_dwarf(Arc::clone(&sections)).map_err(dwarf_error)?;
            Some(Dwarf { context, sections })
        } else {
            None
        };
        Ok(DebugInfo { dwarf, code_start, bodies, num_imported_funcs })
    }

    /// Whether the module has DWARF to look lines up in.
    pub fn has_dwarf(&self) -> bool {
        self.dwarf.is_some()
    }

    /// The function whose body holds module offset `wasm_offset`, and the offset from the start
    /// of that body: `(function index, function-relative offset)`.
    pub fn func_offset(&self, wasm_offset: u32) -> Option<(u32, u32)> {
        let def = self.bodies.partition_point(|body| body.end <= wasm_offset);
        let body = self.bodies.get(def).filter(|body| body.contains(&wasm_offset))?;
        Some((self.num_imported_funcs + def as u32, wasm_offset - body.start))
    }

    /// The module offset `func_offset` bytes into the body of function `func_index`, if the
    /// body is that long ([`Self::func_offset`] the other way).
    pub fn wasm_offset(&self, func_index: u32, func_offset: u32) -> Option<u32> {
        let def = func_index.checked_sub(self.num_imported_funcs)?;
        let body = self.bodies.get(def as usize)?;
        let at = body.start.checked_add(func_offset)?;
        body.contains(&at).then_some(at)
    }

    /// The source location of the instruction at module offset `wasm_offset`.
    pub fn location(&self, wasm_offset: u32) -> Option<SourceLocation> {
        let dwarf = self.dwarf.as_ref()?;
        let location = dwarf.context.find_location(self.address(wasm_offset)?).ok()??;
        source_location(&location)
    }

    /// The source frames at module offset `wasm_offset`, innermost first: the functions inlined
    /// there, then the function they were inlined into (one frame when nothing was inlined).
    /// Empty without DWARF for that code.
    pub fn frames(&self, wasm_offset: u32) -> Vec<SourceFrame> {
        let (Some(dwarf), Some(address)) = (self.dwarf.as_ref(), self.address(wasm_offset)) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let Ok(mut frames) = dwarf.context.find_frames(address).skip_all_loads() else {
            return out;
        };
        while let Ok(Some(frame)) = frames.next() {
            let function = frame
                .function
                .as_ref()
                .and_then(|name| name.raw_name().ok().map(|name| name.into_owned()));
            let location = frame.location.as_ref().and_then(source_location);
            out.push(SourceFrame { function, location });
        }
        out
    }

    /// Where breakpoints on line `line` of source file `file` go: one per function with code for
    /// that line (an inlined copy counts where it was inlined), at the lowest module offset of
    /// the line's statements there, in offset order. `file` matches a recorded path that equals
    /// it or ends with `/` and it (`vm.c` finds `/src/vm.c`). A line without code moves to the
    /// next line of the file that has some, as debuggers do.
    pub fn breakpoints(&self, file: &str, line: u32) -> Result<Vec<Breakpoint>> {
        let Some(dwarf) = self.dwarf.as_ref() else { return Ok(Vec::new()) };
        let rows = self.line_rows(dwarf, file).map_err(dwarf_error)?;
        // The line asked for, or the next one with code.
        let Some(target) = rows.iter().map(|row| row.line).filter(|&l| l >= line).min() else {
            return Ok(Vec::new());
        };
        let on_line: Vec<&Row> = rows.iter().filter(|row| row.line == target).collect();
        let statements = on_line.iter().any(|row| row.is_stmt);
        let mut found: Vec<Breakpoint> = Vec::new();
        for row in on_line.into_iter().filter(|row| row.is_stmt || !statements) {
            let Some(wasm_offset) = self.code_start.checked_add(row.address) else { continue };
            let Some((func_index, _)) = self.func_offset(wasm_offset) else { continue };
            match found.iter_mut().find(|b| b.func_index == func_index) {
                Some(b) if b.wasm_offset <= wasm_offset => {}
                Some(b) => {
                    b.wasm_offset = wasm_offset;
                    b.location = row.location();
                }
                None => {
                    found.push(Breakpoint { func_index, wasm_offset, location: row.location() })
                }
            }
        }
        found.sort_by_key(|b| b.wasm_offset);
        Ok(found)
    }

    /// The DWARF address of module offset `wasm_offset`, if it lies in the code section.
    fn address(&self, wasm_offset: u32) -> Option<u64> {
        wasm_offset.checked_sub(self.code_start).map(u64::from)
    }

    /// Every line-table row of a file matching `file` (see [`Self::breakpoints`]).
    fn line_rows(&self, dwarf: &Dwarf, file: &str) -> std::result::Result<Vec<Row>, gimli::Error> {
        let sections = &dwarf.sections;
        let mut rows = Vec::new();
        let mut units = sections.units();
        while let Some(header) = units.next()? {
            let unit = sections.unit(header)?;
            let Some(program) = unit.line_program.clone() else { continue };
            // Paths by file index, rendered once per unit.
            let mut paths: HashMap<u64, Option<String>> = HashMap::new();
            let mut program_rows = program.rows();
            while let Some((header, row)) = program_rows.next_row()? {
                if row.end_sequence() {
                    continue;
                }
                let path = paths
                    .entry(row.file_index())
                    .or_insert_with(|| file_path(sections, &unit, header, row.file(header)?));
                let Some(path) = path.as_deref().filter(|path| path_matches(path, file)) else {
                    continue;
                };
                let Ok(address) = u32::try_from(row.address()) else { continue };
                rows.push(Row {
                    path: path.to_string(),
                    line: row.line().map_or(0, |l| l.get() as u32),
                    column: match row.column() {
                        gimli::ColumnType::LeftEdge => None,
                        gimli::ColumnType::Column(c) => Some(c.get() as u32),
                    },
                    address,
                    is_stmt: row.is_stmt(),
                });
            }
        }
        Ok(rows)
    }
}

/// One row of a line program, with its file's path.
struct Row {
    path: String,
    line: u32,
    column: Option<u32>,
    address: u32,
    is_stmt: bool,
}

impl Row {
    fn location(&self) -> SourceLocation {
        SourceLocation { file: self.path.clone(), line: self.line, column: self.column }
    }
}

/// Whether a recorded `path` is the file the user named.
fn path_matches(path: &str, file: &str) -> bool {
    path == file || (path.ends_with(file) && path[..path.len() - file.len()].ends_with('/'))
}

/// The path of a line program's file entry: its name, under its directory and the unit's
/// compilation directory when relative.
fn file_path(
    dwarf: &gimli::Dwarf<Reader>,
    unit: &gimli::Unit<Reader>,
    header: &gimli::LineProgramHeader<Reader>,
    file: &gimli::FileEntry<Reader>,
) -> Option<String> {
    let text = |value: gimli::AttributeValue<Reader>| -> Option<String> {
        let reader = dwarf.attr_string(unit, value).ok()?;
        Some(reader.to_string_lossy().ok()?.into_owned())
    };
    let mut path = std::path::PathBuf::new();
    if let Some(dir) = &unit.comp_dir {
        path.push(dir.to_string_lossy().ok()?.as_ref());
    }
    if let Some(dir) = file.directory(header).and_then(text) {
        path.push(dir);
    }
    path.push(text(file.path_name())?);
    Some(path.to_string_lossy().into_owned())
}

/// An `addr2line` location as ours (none without a file).
fn source_location(location: &addr2line::Location<'_>) -> Option<SourceLocation> {
    Some(SourceLocation {
        file: location.file?.to_string(),
        line: location.line.unwrap_or(0),
        column: location.column.filter(|&c| c != 0),
    })
}

/// A DWARF reading failure as an engine error.
fn dwarf_error(e: gimli::Error) -> Error {
    Error::Malformed(format!("DWARF: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// tests/data/dwarf/trap.c built with DWARF (see its build.sh).
    const TRAP_WASM: &[u8] = include_bytes!("../tests/data/dwarf/trap.wasm");
    const TRAP_C: &str = include_str!("../tests/data/dwarf/trap.c");

    /// The 1-based line of trap.c holding `text`.
    fn line_of(text: &str) -> u32 {
        TRAP_C.lines().position(|l| l.contains(text)).expect("in trap.c") as u32 + 1
    }

    #[test]
    fn a_source_line_maps_to_its_function_and_back() {
        let info = DebugInfo::new(TRAP_WASM).unwrap();
        assert!(info.has_dwarf());
        let line = line_of("return sum / count;");
        let found = info.breakpoints("trap.c", line).unwrap();
        assert_eq!(found.len(), 1, "{found:?}");
        let bp = &found[0];
        assert_eq!(bp.location.line, line);
        assert!(bp.location.file.ends_with("/trap.c"), "{:?}", bp.location);
        // The breakpoint is in `divide`, whose body holds the line's `i32.div_s` (0x6d).
        let (func, relative) = info.func_offset(bp.wasm_offset).unwrap();
        assert_eq!(info.wasm_offset(func, relative), Some(bp.wasm_offset));
        let def = (func - info.num_imported_funcs) as usize;
        let body = info.bodies[def].clone();
        let division = (bp.wasm_offset..body.end)
            .find(|&at| TRAP_WASM[at as usize] == 0x6d)
            .expect("a division after the breakpoint");
        assert_eq!(info.location(division).unwrap().line, line);
        let frames = info.frames(division);
        assert_eq!(frames.last().unwrap().function.as_deref(), Some("divide"), "{frames:?}");
        // A full path matches too; another file or a line past the end finds nothing.
        let full = info.breakpoints(&bp.location.file, line).unwrap();
        assert_eq!(full, found);
        assert!(info.breakpoints("other.c", line).unwrap().is_empty());
        assert!(info.breakpoints("trap.c", 10_000).unwrap().is_empty());
    }

    #[test]
    fn a_line_without_code_moves_to_the_next_line_with_some() {
        let info = DebugInfo::new(TRAP_WASM).unwrap();
        // The blank line before `average` has no code; `average`'s first statement does.
        let blank = line_of("return sum / count;") + 2;
        assert_eq!(TRAP_C.lines().nth(blank as usize - 1).map(str::trim), Some(""));
        let found = info.breakpoints("trap.c", blank).unwrap();
        assert!(!found.is_empty());
        assert!(found.iter().all(|b| b.location.line > blank), "{found:?}");
        for b in &found {
            assert_eq!(info.location(b.wasm_offset).map(|l| l.line), Some(b.location.line));
        }
    }

    /// The corpus's C VM built with -O1 -g (corpus/build.sh): a line of the interpreter loop's
    /// switch resolves to code of `run` (wherever clang put it), whose frames name the line.
    #[test]
    fn a_line_of_the_corpus_vm_resolves_into_its_run_loop() {
        let wasm = include_bytes!("../corpus/c-vm/c-vm.debug.wasm");
        let source = include_str!("../corpus/c-vm/vm.c");
        let line = source.lines().position(|l| l.contains("case OP_MUL:")).unwrap() as u32 + 1;
        let info = DebugInfo::new(wasm).unwrap();
        let found = info.breakpoints("vm.c", line).unwrap();
        assert!(!found.is_empty());
        for bp in &found {
            assert_eq!(bp.location.line, line, "{bp:?}");
            let frames = info.frames(bp.wasm_offset);
            let names: Vec<_> = frames.iter().filter_map(|f| f.function.as_deref()).collect();
            assert!(names.contains(&"run"), "{names:?} at {:#x}", bp.wasm_offset);
            assert_eq!(frames[0].location.as_ref().map(|l| l.line), Some(line));
        }
    }

    #[test]
    fn without_dwarf_only_function_offsets_are_known() {
        let wasm = wat::parse_str(
            r#"(module (import "m" "f" (func)) (func nop) (func (result i32) i32.const 7))"#,
        )
        .unwrap();
        let info = DebugInfo::new(&wasm).unwrap();
        assert!(!info.has_dwarf());
        let start = info.wasm_offset(2, 0).unwrap();
        assert_eq!(info.func_offset(start), Some((2, 0)));
        assert_eq!(info.func_offset(start + 1), Some((2, 1)));
        assert_eq!(info.func_offset(0), None);
        assert_eq!(info.wasm_offset(0, 0), None, "an import has no body");
        assert_eq!(info.wasm_offset(2, 1000), None);
        assert_eq!(info.location(start), None);
        assert!(info.frames(start).is_empty());
        assert!(info.breakpoints("a.c", 1).unwrap().is_empty());
    }
}
