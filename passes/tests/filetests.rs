//! Golden text-in/text-out tests, Cranelift filetest style: every `tests/filetests/**/*.ir` file
//! starts with `; run: PIPELINE`, then the input IR, then a line `; output:` followed by the IR
//! the pipeline must print. The pipeline runs with the verifier after every pass and the
//! evaluator's before/after check on generated inputs. `BLESS=1 cargo test -p tierup-passes
//! --test filetests` rewrites the expected outputs.

use std::path::{Path, PathBuf};
use tierup_passes::pass::PassManager;
use tierup_passes::text::{parse_module, print_module};
use tierup_passes::verify::verify_module;

const MARKER: &str = "; output:\n";

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            files(&p, out);
        } else if p.extension().is_some_and(|e| e == "ir") {
            out.push(p);
        }
    }
}

/// Runs one file; returns the actual output or an error.
fn run_file(text: &str) -> Result<String, String> {
    let input = text.split(MARKER).next().unwrap();
    let pipeline = input
        .lines()
        .find_map(|l| l.strip_prefix("; run:"))
        .ok_or("missing `; run:` header")?
        .trim();
    let mut module = parse_module(input).map_err(|e| format!("parse: {e}"))?;
    verify_module(&module).map_err(|e| format!("input does not verify:\n{e}"))?;
    let mut pm = PassManager::new(pipeline).map_err(|e| e.to_string())?;
    pm.options.verify = true;
    pm.options.check_inputs = 32;
    pm.run(&mut module).map_err(|e| e.to_string())?;
    Ok(print_module(&module))
}

#[test]
fn filetests() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/filetests");
    let mut all = Vec::new();
    files(&root, &mut all);
    assert!(!all.is_empty());
    let bless = std::env::var_os("BLESS").is_some();
    let mut failures = Vec::new();
    for path in &all {
        let text = std::fs::read_to_string(path).unwrap();
        let name = path.strip_prefix(&root).unwrap().display().to_string();
        match run_file(&text) {
            Err(e) => failures.push(format!("{name}: {e}")),
            Ok(actual) => {
                let expected = text.split_once(MARKER).map(|(_, e)| e);
                if expected != Some(actual.as_str()) {
                    if bless {
                        let input = text.split(MARKER).next().unwrap();
                        std::fs::write(path, format!("{input}{MARKER}{actual}")).unwrap();
                    } else {
                        failures.push(format!(
                            "{name}: output differs (BLESS=1 to accept)\n--- expected\n{}\n--- actual\n{actual}",
                            expected.unwrap_or("<none>")
                        ));
                    }
                }
            }
        }
    }
    println!("{} filetests", all.len());
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
