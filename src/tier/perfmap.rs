//! The perf map: `/tmp/perf-<pid>.map`, where Linux `perf` looks up symbols for JIT code.
//!
//! One line per compiled function, `START SIZE name` with START and SIZE in hex, appended as each
//! function's code is installed (up front or at tier-up) with one unbuffered write, so `perf` may read the
//! file at any moment and never sees half a line. The file is per process, so one writer serves
//! every engine in it; it is opened on the first line and kept for the process's life (perf reads
//! it after the process has exited, so it is never deleted).
//!
//! Enabled by `Config::profiling_strategy`. It must never affect execution: a map that cannot be
//! written is reported once on stderr and then ignored.

use super::Tier;
use std::fs::File;
use std::io::Write;
use std::sync::{Mutex, OnceLock};

/// The map's path for this process.
pub fn path() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("perf-{}.map", std::process::id()))
}

/// The symbol for function `func_index` compiled by `tier`: `wasm[MODULE]::NAME [TIER]`, where
/// NAME is the function's name, else `function[INDEX]`.
pub fn symbol(module: Option<&str>, func_index: u32, name: Option<&str>, tier: Tier) -> String {
    let module = module.unwrap_or("<module>");
    let symbol = match name {
        Some(name) => format!("wasm[{module}]::{name} [{tier}]"),
        None => format!("wasm[{module}]::function[{func_index}] [{tier}]"),
    };
    // A line break would end the entry early; names come from the guest's name section.
    symbol.replace(['\n', '\r'], " ")
}

/// Appends `START SIZE symbol` for `size` bytes of code at `start`.
pub fn record(start: *const u8, size: usize, symbol: &str) {
    static MAP: OnceLock<Option<Mutex<File>>> = OnceLock::new();
    let map = MAP.get_or_init(|| {
        let path = path();
        match File::options().create(true).append(true).open(&path) {
            Ok(file) => Some(Mutex::new(file)),
            Err(e) => {
                eprintln!("tierup: cannot write the perf map {}: {e}", path.display());
                None
            }
        }
    });
    let Some(map) = map else { return };
    let line = format!("{:x} {size:x} {symbol}\n", start as usize);
    // The lock keeps lines whole when threads compile at once; a poisoned lock still holds a
    // usable file. A failed write loses one symbol, never the run.
    let mut file = map.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let _ = file.write_all(line.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::{Tier, symbol};

    #[test]
    fn symbols_name_the_module_the_function_and_the_tier() {
        let base = Tier::Baseline;
        assert_eq!(symbol(Some("fib"), 0, Some("fib"), base), "wasm[fib]::fib [baseline]");
        assert_eq!(symbol(None, 7, None, base), "wasm[<module>]::function[7] [baseline]");
        assert_eq!(symbol(Some("m"), 1, Some("a\nb"), base), "wasm[m]::a b [baseline]");
        let opt = Tier::Optimized;
        assert_eq!(symbol(Some("m"), 1, Some("f"), opt), "wasm[m]::f [optimized]");
    }
}
