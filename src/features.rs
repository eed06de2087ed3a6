//! Which WebAssembly features modules may use: the switches of [`crate::Config::features`].
//!
//! The default is WebAssembly 3.0 without GC; [`WasmFeatures::WASM2`] is the 2.0 standard, under
//! which the 2.0 spec files (which require some 3.0 modules to be rejected) pass. Switches are
//! named as wasmtime's `-W` names them (`tail-call`, `multi-memory`, ...).
//!
//! A feature switched on that no tier runs yet is still validated: a module using it is refused
//! as unsupported, naming the feature, never run wrongly (`WasmFeatures::not_yet_run`; every
//! switch runs today). This
//! module only says what is allowed; it must never decide how a tier runs anything.

use std::fmt;

/// The WebAssembly 3.0 features a module may use besides the 2.0 standard (always on).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct WasmFeatures {
    /// Exception handling: tags, `throw`, `throw_ref`, `try_table`, `exnref`.
    pub exceptions: bool,
    /// `return_call`, `return_call_indirect`, `return_call_ref`.
    pub tail_call: bool,
    /// Typed function references: `call_ref`, `ref.as_non_null`, `br_on_null`, non-null types.
    pub function_references: bool,
    /// More than one memory per module.
    pub multi_memory: bool,
    /// Memories indexed by `i64`.
    pub memory64: bool,
    /// `i32`/`i64` `add`, `sub`, `mul` in constant expressions.
    pub extended_const: bool,
    /// The relaxed SIMD instructions (tierup makes one deterministic choice for each).
    pub relaxed_simd: bool,
}

/// One switch: its `-W` name, what it stands for, and its field.
struct Switch {
    name: &'static str,
    title: &'static str,
    field: fn(&mut WasmFeatures) -> &mut bool,
}

const SWITCHES: &[Switch] = &[
    Switch { name: "exceptions", title: "exception handling", field: |f| &mut f.exceptions },
    Switch { name: "tail-call", title: "tail calls", field: |f| &mut f.tail_call },
    Switch {
        name: "function-references",
        title: "typed function references",
        field: |f| &mut f.function_references,
    },
    Switch { name: "multi-memory", title: "multiple memories", field: |f| &mut f.multi_memory },
    Switch { name: "memory64", title: "64-bit memories", field: |f| &mut f.memory64 },
    Switch {
        name: "extended-const",
        title: "extended constant expressions",
        field: |f| &mut f.extended_const,
    },
    Switch { name: "relaxed-simd", title: "relaxed SIMD", field: |f| &mut f.relaxed_simd },
];

impl WasmFeatures {
    /// WebAssembly 2.0: no switch on.
    pub const WASM2: WasmFeatures = WasmFeatures {
        exceptions: false,
        tail_call: false,
        function_references: false,
        multi_memory: false,
        memory64: false,
        extended_const: false,
        relaxed_simd: false,
    };

    /// WebAssembly 3.0 without GC: every switch on (the default).
    pub const WASM3: WasmFeatures = WasmFeatures {
        exceptions: true,
        tail_call: true,
        function_references: true,
        multi_memory: true,
        memory64: true,
        extended_const: true,
        relaxed_simd: true,
    };

    /// What the tiers run: every switch, since issue #20. A switch added for a feature still
    /// to be built stays out of it until tiers 0 and 1 run it; meanwhile a module using it is
    /// validated and refused as unsupported, naming it (`not_yet_run`).
    const RUN: WasmFeatures = WasmFeatures::WASM3;

    /// The `-W` names of the switches, in order.
    pub fn names() -> impl Iterator<Item = &'static str> {
        SWITCHES.iter().map(|s| s.name)
    }

    /// Turns the switch `name` on or off. `gc` can only be off (tierup has no GC).
    pub fn set(&mut self, name: &str, on: bool) -> Result<(), String> {
        if name == "gc" {
            return if on { Err("tierup does not support GC (`gc`)".to_string()) } else { Ok(()) };
        }
        match SWITCHES.iter().find(|s| s.name == name) {
            Some(switch) => {
                *(switch.field)(self) = on;
                Ok(())
            }
            None => Err(format!(
                "unknown WebAssembly feature `{name}` (known: {}, gc)",
                Self::names().collect::<Vec<_>>().join(", ")
            )),
        }
    }

    /// Whether the switch `name` is on (`None`: no such switch).
    pub fn get(&self, name: &str) -> Option<bool> {
        SWITCHES.iter().find(|s| s.name == name).map(|s| self.is_on(s))
    }

    fn is_on(mut self, switch: &Switch) -> bool {
        *(switch.field)(&mut self)
    }

    /// The switches for which `keep(on here, on in other)` holds.
    fn combine(self, other: WasmFeatures, keep: fn(bool, bool) -> bool) -> WasmFeatures {
        let mut out = WasmFeatures::WASM2;
        for switch in SWITCHES {
            *(switch.field)(&mut out) = keep(self.is_on(switch), other.is_on(switch));
        }
        out
    }

    /// The preset a version names: `2.0` or `3.0` (without GC).
    pub fn version(version: &str) -> Result<WasmFeatures, String> {
        match version {
            "2.0" | "2" => Ok(WasmFeatures::WASM2),
            "3.0" | "3" => Ok(WasmFeatures::WASM3),
            _ => Err(format!("unknown WebAssembly version `{version}` (known: 2.0, 3.0)")),
        }
    }

    /// The subset of these switches the tiers run: what modules are validated against first.
    pub(crate) fn run(self) -> WasmFeatures {
        self.combine(Self::RUN, |on, runs| on && runs)
    }

    /// The switches on here that no tier runs yet, each as `(name, title)`.
    pub(crate) fn not_yet_run(self) -> Vec<(&'static str, &'static str)> {
        let pending = self.combine(Self::RUN, |on, runs| on && !runs);
        SWITCHES.iter().filter(|s| pending.is_on(s)).map(|s| (s.name, s.title)).collect()
    }

    /// These switches plus the one named `name`.
    pub(crate) fn with(mut self, name: &str) -> WasmFeatures {
        self.set(name, true).expect("a known switch");
        self
    }

    /// The validator's feature set: 2.0 plus the switches on.
    pub(crate) fn to_wasmparser(self) -> wasmparser::WasmFeatures {
        use wasmparser::WasmFeatures as W;
        let mut out = W::WASM2;
        let pairs = [
            (self.exceptions, W::EXCEPTIONS),
            (self.tail_call, W::TAIL_CALL),
            (self.function_references, W::FUNCTION_REFERENCES),
            (self.multi_memory, W::MULTI_MEMORY),
            (self.memory64, W::MEMORY64),
            (self.extended_const, W::EXTENDED_CONST),
            (self.relaxed_simd, W::RELAXED_SIMD),
        ];
        for (on, feature) in pairs {
            out.set(feature, on);
        }
        out
    }
}

impl Default for WasmFeatures {
    fn default() -> WasmFeatures {
        WasmFeatures::WASM3
    }
}

/// `3.0`, `2.0`, or 2.0 with the switches on (`2.0+tail-call+...`).
impl fmt::Display for WasmFeatures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == WasmFeatures::WASM3 {
            return f.write_str("3.0");
        }
        f.write_str("2.0")?;
        for name in Self::names() {
            if self.get(name) == Some(true) {
                write!(f, "+{name}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn switches_are_named_as_in_wasmtime_and_round_trip() {
        let mut features = WasmFeatures::WASM2;
        features.set("tail-call", true).unwrap();
        features.set("memory64", true).unwrap();
        assert_eq!(features.to_string(), "2.0+tail-call+memory64");
        assert_eq!(features.get("tail-call"), Some(true));
        assert_eq!(features.get("exceptions"), Some(false));
        assert!(features.set("threads", true).unwrap_err().contains("unknown"));
        assert!(features.set("gc", true).is_err());
        assert!(features.set("gc", false).is_ok());
        for name in WasmFeatures::names() {
            let mut one = WasmFeatures::WASM3;
            one.set(name, false).unwrap();
            assert_ne!(one, WasmFeatures::WASM3, "{name} is a switch of its own");
        }
    }

    #[test]
    fn the_validator_sees_exactly_the_switches_on() {
        use wasmparser::WasmFeatures as W;
        assert_eq!(WasmFeatures::WASM2.to_wasmparser(), W::WASM2);
        let three = WasmFeatures::WASM3.to_wasmparser();
        assert!(three.contains(W::EXCEPTIONS | W::MEMORY64 | W::RELAXED_SIMD));
        assert!(!three.contains(W::GC) && !three.contains(W::THREADS));
    }
}
