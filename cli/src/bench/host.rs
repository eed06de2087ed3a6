//! Facts about the machine and the checkout a record is made on: CPU, cores, OS, toolchain
//! versions, git commit, today's date. Each is best-effort: a fact that cannot be read is `None`
//! (or `unknown`), never an error, since a benchmark run must not fail for want of a CPU name.

use serde::{Deserialize, Serialize};
use std::path::Path;
use std::process::{Command, Stdio};

/// The machine a record was made on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Host {
    /// The CPU model name (`model name` in /proc/cpuinfo).
    pub cpu: String,
    /// Cores available to this process.
    pub cores: usize,
    /// Distribution, kernel and architecture.
    pub os: String,
    /// `rustc --version`.
    pub rustc: Option<String>,
    /// `node --version`.
    pub node: Option<String>,
}

impl Host {
    /// Reads everything now.
    pub fn detect(node: Option<String>) -> Host {
        Host {
            cpu: cpu_model().unwrap_or_else(|| "unknown".into()),
            cores: std::thread::available_parallelism().map_or(1, usize::from),
            os: os_description(),
            rustc: command_output("rustc", &["--version"]),
            node,
        }
    }
}

/// The checkout: `git rev-parse --short HEAD` in `dir`, and whether tracked files differ from it.
pub fn git_commit(dir: &Path) -> (Option<String>, bool) {
    let git = |args: &[&str]| {
        let mut all = vec!["-C", dir.to_str()?];
        all.extend_from_slice(args);
        command_output("git", &all)
    };
    let commit = git(&["rev-parse", "--short", "HEAD"]);
    // Untracked files (a corpus being written) do not change what was measured, and neither do
    // the results folder's files, which each record rewrites (results/README.md and its charts):
    // otherwise every record after the first of a session would call its build modified.
    let status = ["status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)results"];
    let dirty = commit.is_some() && git(&status).is_some();
    (commit, dirty)
}

/// A command's trimmed stdout, if it ran, succeeded and printed something.
pub fn command_output(program: &str, args: &[&str]) -> Option<String> {
    let output = Command::new(program).args(args).stderr(Stdio::null()).output().ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    let text = text.trim();
    (output.status.success() && !text.is_empty()).then(|| text.to_string())
}

fn cpu_model() -> Option<String> {
    cpu_model_in(&std::fs::read_to_string("/proc/cpuinfo").ok()?)
}

/// The first `model name` in /proc/cpuinfo's text (aarch64 kernels may lack it).
fn cpu_model_in(cpuinfo: &str) -> Option<String> {
    let line = cpuinfo.lines().find(|line| line.starts_with("model name"))?;
    Some(line.split_once(':')?.1.trim().to_string())
}

fn os_description() -> String {
    let release = std::fs::read_to_string("/etc/os-release").ok();
    let name = release.as_deref().and_then(pretty_name).unwrap_or(std::env::consts::OS.into());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let kernel = kernel.trim();
    let arch = std::env::consts::ARCH;
    if kernel.is_empty() {
        format!("{name} ({arch})")
    } else {
        format!("{name}, kernel {kernel} ({arch})")
    }
}

fn pretty_name(os_release: &str) -> Option<String> {
    let line = os_release.lines().find(|line| line.starts_with("PRETTY_NAME="))?;
    Some(line["PRETTY_NAME=".len()..].trim_matches('"').to_string())
}

/// Today's date in UTC, `YYYY-MM-DD`, and the Unix time it was taken at.
pub fn today() -> (String, u64) {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    let secs = now.map_or(0, |d| d.as_secs());
    (date_of(secs), secs)
}

/// The UTC calendar date of a Unix time (the days-to-civil algorithm, proleptic Gregorian).
fn date_of(unix_secs: u64) -> String {
    let days = (unix_secs / 86_400) as i64 + 719_468; // days since 0000-03-01
    let era = days.div_euclid(146_097);
    let day_of_era = days.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153; // 0 = March
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 { month_index + 3 } else { month_index - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(date_of(0), "1970-01-01");
        assert_eq!(date_of(951_782_400), "2000-02-29");
        assert_eq!(date_of(1_709_251_199), "2024-02-29");
        assert_eq!(date_of(1_764_028_800), "2025-11-25");
    }

    #[test]
    fn only_changes_outside_results_make_a_checkout_dirty() {
        let dir = tempfile::tempdir().unwrap();
        let git = |args: &[&str]| {
            let ok = Command::new("git").arg("-C").arg(dir.path()).args(args).output();
            assert!(ok.is_ok_and(|o| o.status.success()), "git {args:?}");
        };
        git(&["init", "-q"]);
        std::fs::create_dir(dir.path().join("results")).unwrap();
        for file in ["results/README.md", "engine.rs"] {
            std::fs::write(dir.path().join(file), "before\n").unwrap();
        }
        git(&["add", "."]);
        git(&["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "c"]);
        assert!(matches!(git_commit(dir.path()), (Some(_), false)));
        std::fs::write(dir.path().join("results/README.md"), "rewritten\n").unwrap();
        assert!(matches!(git_commit(dir.path()), (Some(_), false)), "results/ is not the build");
        std::fs::write(dir.path().join("engine.rs"), "changed\n").unwrap();
        assert!(matches!(git_commit(dir.path()), (Some(_), true)));
    }

    #[test]
    fn cpu_and_os_names() {
        let cpuinfo = "processor\t: 0\nmodel name\t: AMD EPYC 9B14\nflags\t: x\n";
        assert_eq!(cpu_model_in(cpuinfo).as_deref(), Some("AMD EPYC 9B14"));
        assert_eq!(cpu_model_in("processor: 0\n"), None);
        let release = "NAME=\"Debian\"\nPRETTY_NAME=\"Debian GNU/Linux 13 (trixie)\"\n";
        assert_eq!(pretty_name(release).as_deref(), Some("Debian GNU/Linux 13 (trixie)"));
    }
}
