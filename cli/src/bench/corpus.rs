//! The benchmark corpus as the harness sees it: which programs to run, with which arguments, and
//! what each must print (`corpus/README.md` defines the layout).
//!
//! Reading only: this module never builds, changes or writes anything under the corpus.

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// One program, ready to run at the chosen size.
#[derive(Clone, Debug)]
pub struct Program {
    /// The folder name, which is also the program's name.
    pub name: String,
    /// The built module.
    pub wasm: PathBuf,
    /// `argv[1..]` at the chosen size.
    pub args: Vec<String>,
    /// What stdout must be, exactly.
    pub expected: String,
}

/// The sizes a program can run at (`corpus/README.md`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Size {
    /// `small_args`, `expected-small.txt`: for tests, well under a second on the interpreter.
    Small,
    /// `medium_args`, `expected-medium.txt`: about a fifth of the default work, for the main job.
    Medium,
    /// `args`, `expected.txt`: 0.5 to 5 s natively.
    Default,
}

impl Size {
    /// The name records use.
    pub fn name(self) -> &'static str {
        match self {
            Size::Small => "small",
            Size::Medium => "medium",
            Size::Default => "default",
        }
    }
}

/// `<name>/bench.toml`; fields the harness does not use (description, language) are ignored.
#[derive(Deserialize)]
struct BenchToml {
    wasm: PathBuf,
    #[serde(default)]
    args: Vec<String>,
    #[serde(default)]
    small_args: Option<Vec<String>>,
    #[serde(default)]
    medium_args: Option<Vec<String>>,
}

/// The programs `names` lists, or the corpus's `suite.txt` when `names` is empty, at `size`. A
/// program without arguments for that size runs at its default size (and must then print
/// `expected.txt`).
pub fn load(corpus: &Path, names: &[String], size: Size) -> Result<Vec<Program>> {
    let names = if names.is_empty() { suite(corpus)? } else { names.to_vec() };
    if names.is_empty() {
        bail!("no programs to run: {} lists none", corpus.join("suite.txt").display());
    }
    names.iter().map(|name| program(corpus, name, size)).collect()
}

/// The names in `suite.txt`: one per line, `#` starting a comment.
fn suite(corpus: &Path) -> Result<Vec<String>> {
    let path = corpus.join("suite.txt");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read the suite list {}", path.display()))?;
    Ok(suite_names(&text))
}

fn suite_names(text: &str) -> Vec<String> {
    let uncommented = text.lines().map(|line| line.split('#').next().unwrap_or_default().trim());
    uncommented.filter(|name| !name.is_empty()).map(str::to_string).collect()
}

fn program(corpus: &Path, name: &str, size: Size) -> Result<Program> {
    let dir = corpus.join(name);
    let toml_path = dir.join("bench.toml");
    let text = std::fs::read_to_string(&toml_path)
        .with_context(|| format!("program `{name}`: cannot read {}", toml_path.display()))?;
    let config: BenchToml = toml::from_str(&text)
        .with_context(|| format!("program `{name}`: bad {}", toml_path.display()))?;
    let sized = match size {
        Size::Small => config.small_args.map(|args| (args, "expected-small.txt")),
        Size::Medium => config.medium_args.map(|args| (args, "expected-medium.txt")),
        Size::Default => None,
    };
    let (args, expected_file) = sized.unwrap_or((config.args, "expected.txt"));
    let expected_path = dir.join(expected_file);
    let expected = std::fs::read_to_string(&expected_path)
        .with_context(|| format!("program `{name}`: cannot read {}", expected_path.display()))?;
    Ok(Program { name: name.to_string(), wasm: dir.join(config.wasm), args, expected })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suite_lists_skip_comments_and_blank_lines() {
        let text = "# the default set\nnbody\n\n  sha256  # hashing\n#off\n";
        assert_eq!(suite_names(text), ["nbody", "sha256"]);
    }
}
