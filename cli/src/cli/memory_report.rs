//! Memory, for `run --stats` and for runs that ran out of it: each linear memory's size (a memory
//! never shrinks, so its current size is its peak), each table's, the machine code each tier
//! made, the process's peak resident set; and, when a run fails after a `memory.grow` was
//! refused, which limit refused it and how to raise it.
//!
//! Reads the store through the library's public API only; never changes what it reports on.

use std::fmt::Write;
use tierup::{CompileStats, GrowLimit, GrowRefusal, Instance, Memory, Store};

const PAGE: u64 = 65536;

/// The `--stats` memory section.
pub fn render<T>(store: &Store<T>, instance: Instance, compile: &CompileStats) -> String {
    let mut out = String::from("memory:\n");
    for (index, memory) in instance.memories(store).iter().enumerate() {
        let _ = writeln!(out, "  {}", memory_line(store, index, *memory));
    }
    for (index, table) in instance.tables(store).iter().enumerate() {
        let ty = table.ty(store);
        let max = ty.limits.max.map_or("no maximum".to_string(), |m| format!("max {m}"));
        let _ = writeln!(out, "  table {index}: {} elements ({max})", table.size(store));
    }
    let _ = writeln!(out, "  machine code: {}", code_line(compile));
    if let Some(kib) = peak_rss_kib() {
        let _ = writeln!(out, "  peak resident set: {}", bytes(kib * 1024));
    }
    out
}

fn memory_line<T>(store: &Store<T>, index: usize, memory: Memory) -> String {
    let size = memory.size(store);
    let max = memory.ty(store).limits.max.map_or("no maximum".into(), |m| format!("max {m}"));
    let mut line = format!(
        "memory {index}: {} ({}), also its peak (memories never shrink); {max}",
        pages(size),
        bytes(size * PAGE)
    );
    if let Some(refusal) = memory.grow_refusal(store) {
        let _ = write!(line, "; refused a grow to {}", pages(refusal.requested_pages));
    }
    line
}

fn code_line(c: &CompileStats) -> String {
    format!(
        "tier 1 {} in {} functions, tier 2 {} in {} functions + {} OSR entries, {} loaded \
         functions (artifact or cache)",
        bytes(c.tier1_code_bytes as u64),
        c.tier1_functions,
        bytes((c.tier2_code_bytes + c.tier2_osr_code_bytes) as u64),
        c.tier2_functions,
        c.tier2_osr_entries,
        c.loaded_functions,
    )
}

/// For a run that failed: one line per memory whose latest `memory.grow` was refused, saying by
/// which limit and how to raise it (nothing when no grow was refused).
pub fn refusal_notes<T>(store: &Store<T>, instance: Instance) -> String {
    let mut out = String::new();
    for (index, memory) in instance.memories(store).iter().enumerate() {
        if let Some(refusal) = memory.grow_refusal(store) {
            let _ = writeln!(out, "note: {}", refusal_text(index, &refusal));
        }
    }
    out
}

fn refusal_text(index: usize, r: &GrowRefusal) -> String {
    let asked = if r.requested_pages == u64::MAX {
        "beyond any size".to_string()
    } else {
        format!("to {} ({})", pages(r.requested_pages), bytes(r.requested_pages * PAGE))
    };
    let grow = format!("memory {index} could not grow from {} {asked}", pages(r.from_pages));
    match r.limit {
        GrowLimit::EngineLimit(limit) => {
            let needed = r.requested_pages.saturating_mul(PAGE).div_ceil(1 << 20);
            format!(
                "{grow}: over --max-memory-size ({}); raise it (at least --max-memory-size \
                 {needed}MiB)",
                bytes(limit)
            )
        }
        GrowLimit::TypeMaximum(max) => {
            format!("{grow}: the module declares a maximum of {max} pages for it")
        }
        GrowLimit::AddressSpace => format!("{grow}: beyond the 4 GiB a wasm32 memory can address"),
        GrowLimit::Host => format!(
            "{grow}: the host refused the pages (out of memory, or an address-space limit such \
             as `ulimit -v`)"
        ),
        _ => grow,
    }
}

/// The line to add to an instantiation error when the engine's memory limit refused it.
pub fn instantiation_hint(err: &tierup::Error) -> Option<&'static str> {
    match err {
        tierup::Error::ResourceLimit(what) if what.starts_with("memory") => {
            Some("the limit is --max-memory-size: raise it to run this module")
        }
        _ => None,
    }
}

/// This process's peak resident set in KiB (`getrusage`), if the kernel says.
fn peak_rss_kib() -> Option<u64> {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage writes one `rusage` into the pointer it is given, which points to one.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) };
    // SAFETY: a zero return means the kernel filled the struct (and zeroed() made it valid anyway).
    (rc == 0).then(|| unsafe { usage.assume_init() }.ru_maxrss.max(0) as u64)
}

fn pages(n: u64) -> String {
    if n == 1 { "1 page".into() } else { format!("{n} pages") }
}

/// `812 B`, `12.0 KiB`, `1.06 MiB`, `4.00 GiB`.
fn bytes(n: u64) -> String {
    const UNITS: [(&str, u64); 3] = [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)];
    UNITS
        .iter()
        .find(|(_, size)| n >= *size)
        .map_or(format!("{n} B"), |(unit, size)| format!("{:.2} {unit}", n as f64 / *size as f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_say_which_limit_and_how_to_raise_it() {
        let refusal = |limit| GrowRefusal { from_pages: 16, requested_pages: 100, limit };
        let engine = refusal_text(0, &refusal(GrowLimit::EngineLimit(1 << 20)));
        assert_eq!(
            engine,
            "memory 0 could not grow from 16 pages to 100 pages (6.25 MiB): over \
             --max-memory-size (1.00 MiB); raise it (at least --max-memory-size 7MiB)"
        );
        let typed = refusal_text(1, &refusal(GrowLimit::TypeMaximum(20)));
        assert!(typed.ends_with("the module declares a maximum of 20 pages for it"), "{typed}");
        let wild = GrowRefusal { requested_pages: u64::MAX, ..refusal(GrowLimit::AddressSpace) };
        assert!(refusal_text(0, &wild).contains("beyond any size: beyond the 4 GiB"));
    }

    #[test]
    fn sizes_read_in_binary_units() {
        assert_eq!(bytes(812), "812 B");
        assert_eq!(bytes(65536 * 17), "1.06 MiB");
        assert_eq!(bytes(4 << 30), "4.00 GiB");
    }
}
