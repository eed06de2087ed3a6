//! `--wasm` and `-W`: which WebAssembly features modules may use, as wasmtime's command line
//! names them (`-W tail-call=n,memory64=y`).
//!
//! Only parses: what each switch allows is the library's (`tierup::WasmFeatures`).

use clap::Args;
use tierup::WasmFeatures;

/// The feature options every subcommand that reads a module takes.
#[derive(Args, Debug, Clone, Default)]
pub struct FeatureOption {
    /// The WebAssembly version modules are read as: `3.0` (the default, without GC) or `2.0`
    ///
    /// `2.0` rejects what 3.0 added (a second memory, 64-bit memories, tail calls, ...), as the
    /// 2.0 spec tests expect; -W switches then apply on top.
    #[arg(long = "wasm", value_name = "VERSION", value_parser = WasmFeatures::version)]
    wasm_version: Option<WasmFeatures>,

    /// Switch WebAssembly features on or off: NAME[=y|n], comma-separated, repeatable
    ///
    /// Names: exceptions, tail-call, function-references, multi-memory, memory64,
    /// extended-const, relaxed-simd (all on by default), gc (only `n`: tierup has no GC).
    #[arg(short = 'W', long = "wasm-features", value_name = "NAME[=y|n],...",
          value_parser = parse_switches)]
    switches: Vec<Switches>,
}

/// One `-W` value: switches by name, each on or off, checked to exist.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Switches(Vec<(String, bool)>);

fn parse_switches(text: &str) -> Result<Switches, String> {
    let mut switches = Vec::new();
    for switch in text.split(',') {
        let (name, value) = switch.split_once('=').unwrap_or((switch, "y"));
        let on = match value {
            "y" | "yes" | "true" => true,
            "n" | "no" | "false" => false,
            _ => return Err(format!("`{switch}`: expected `y` or `n` after `=`")),
        };
        let name = name.trim().to_string();
        let mut check = WasmFeatures::WASM3;
        check.set(&name, on)?;
        switches.push((name, on));
    }
    Ok(Switches(switches))
}

impl FeatureOption {
    /// The feature set these options stand for: the version's, then each switch in order.
    pub fn features(&self) -> WasmFeatures {
        let mut features = self.wasm_version.unwrap_or_default();
        for (name, on) in self.switches.iter().flat_map(|s| &s.0) {
            features.set(name, *on).expect("checked when parsed");
        }
        features
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(version: Option<&str>, switches: &[&str]) -> Result<WasmFeatures, String> {
        let wasm_version = version.map(|v| WasmFeatures::version(v).unwrap());
        let switches = switches.iter().map(|s| parse_switches(s)).collect::<Result<_, _>>()?;
        Ok(FeatureOption { wasm_version, switches }.features())
    }

    #[test]
    fn switches_apply_on_top_of_the_version() {
        assert_eq!(parse(None, &[]).unwrap(), WasmFeatures::WASM3);
        assert_eq!(parse(Some("2.0"), &[]).unwrap(), WasmFeatures::WASM2);
        let features = parse(Some("2.0"), &["tail-call", "memory64=y,multi-memory=n"]).unwrap();
        assert!(features.tail_call && features.memory64 && !features.multi_memory);
        assert!(!parse(None, &["exceptions=n", "gc=n"]).unwrap().exceptions);
        assert!(parse(None, &["gc=y"]).is_err());
        assert!(parse(None, &["memory64=maybe"]).unwrap_err().contains("expected"));
        assert!(parse(None, &["threads"]).unwrap_err().contains("unknown"));
    }
}
