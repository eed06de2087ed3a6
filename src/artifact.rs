//! Compiled code that outlives the process: the artifact format (`tierup compile`'s `.tup` files
//! and the code cache's entries), its writer and its loader.
//!
//! An artifact holds a module's binary and the machine code tiers 1 and 2 compiled for it, with
//! what installing the code needs (heap-access sites, the out-of-bounds landing pad, OSR entries,
//! signature sites) and the refusals (so a loaded module never compiles what was refused). The
//! code is position-independent: every address it uses comes from the context register, the frame
//! or the module's own tables. The one process-specific value in it is the engine-wide interned
//! signature id of inline `call_indirect` checks, recorded as signature sites (`masm::SigSite`)
//! and rewritten with the loading engine's ids before the code is mapped.
//!
//! Layout (little-endian; strings and byte runs as a `u32` length then the bytes):
//!
//! ```text
//! magic "TIERUPA\0" | format version u32 | build string | isa u8 | features u32 | config string
//! | module binary (u64 length) | function count u32 | per function:
//!   kind u8 (0 code, 1 refused) | defined index u32 | tier u8 | OSR loop u32 (u32::MAX: entered by a call)
//!   code: bytes | heap accesses u32* | their wasm offsets u32* | landing u32 (u32::MAX: none) | OSR entries u32* (u32::MAX: none)
//!         | signature sites (offset u32, type u32)* | wasm offsets (code u32, wasm u32)*
//!   refused: reason string
//! | CRC-32 of everything before, u32
//! ```
//!
//! The loader checks the checksum, then every length, offset and index before using it, so a
//! truncated or corrupted file is an error, never a panic. The build string, ISA, CPU features and
//! code-affecting configuration must match the loading engine's, and the module binary is kept in
//! full, so code is only ever installed for the exact module and configuration it was compiled for
//! (the cache compares the binary byte for byte). This module must never map code it did not
//! check that way. The checksum catches corruption, not malice: loading an artifact is trusting
//! whoever wrote it, which is why the loading functions are `unsafe`.

use crate::code::CompiledParts;
use crate::isa::Isa;
use crate::isa::masm::{self, DirectCallSite, SigSite};
use crate::module::{Module, ModuleInner};
use crate::tier::Tier;
use crate::{Config, Engine};
use std::path::{Path, PathBuf};

/// The first bytes of every artifact.
pub const MAGIC: [u8; 8] = *b"TIERUPA\0";
/// The layout's version; bumped whenever the layout changes.
pub const FORMAT_VERSION: u32 = 4;

/// Sentinel for "none" in `u32` fields.
const NONE: u32 = u32::MAX;

/// Why an artifact or cache entry cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArtifactError {
    /// Not an artifact at all.
    #[error("not a tierup artifact (bad magic)")]
    NotAnArtifact,
    /// Written by another version of the layout.
    #[error("artifact format version {found}, this tierup reads version {FORMAT_VERSION}")]
    FormatVersion {
        /// The artifact's version.
        found: u32,
    },
    /// The file ends early or its checksum does not match: damaged.
    #[error("artifact is corrupt: {0}")]
    Corrupt(String),
    /// Written by another tierup build.
    #[error("artifact was compiled by tierup build `{artifact}`, this is `{this}`")]
    Build {
        /// What the artifact was made for.
        artifact: String,
        /// What this process is.
        this: String,
    },
    /// Compiled for another instruction set.
    #[error("artifact was compiled for {artifact}, this machine is {this}")]
    Isa {
        /// What the artifact was made for.
        artifact: String,
        /// What this process is.
        this: String,
    },
    /// Needs CPU features this machine lacks.
    #[error("artifact needs CPU features this machine lacks: {0}")]
    Features(String),
    /// Compiled under another configuration.
    #[error("artifact was compiled with configuration `{artifact}`, this run uses `{this}`")]
    Config {
        /// What the artifact was made for.
        artifact: String,
        /// What this process is.
        this: String,
    },
    /// Compiled for another module (a cache entry whose key collided, or an edited file).
    #[error("artifact holds code for another module")]
    OtherModule,
}

/// Compiled code for one function (or one of its OSR entries), or why a tier refused it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Stored {
    Code(PortableCode),
    Refused(String),
}

/// One function's code as stored: [`CompiledParts`] without what only the compiling process
/// knows (compile time, the compiler's statistics).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PortableCode {
    pub code: Vec<u8>,
    pub heap_accesses: Vec<u32>,
    pub heap_access_wasm: Vec<u32>,
    pub oob_landing: Option<u32>,
    pub osr_entries: Vec<Option<u32>>,
    pub register_entry: Option<u32>,
    pub sig_sites: Vec<SigSite>,
    pub direct_calls: Vec<DirectCallSite>,
    pub wasm_offsets: Vec<(u32, u32)>,
}

/// A record made ready to map: the code with this engine's signature ids, or a stored refusal.
pub(crate) type Loaded = Result<CompiledParts, String>;

/// What one artifact record is for: a defined function in a tier, entered by a call or (`osr`) at
/// a loop header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Slot {
    pub def: u32,
    pub tier: Tier,
    pub osr: Option<u32>,
}

/// What code was compiled for; it loads only where all of it matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    pub build: String,
    pub isa: u8,
    pub features: u32,
    pub config: String,
}

/// A decoded artifact, its structure checked (not yet against a module or an engine).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Artifact {
    pub target: Target,
    pub binary: Vec<u8>,
    pub funcs: Vec<(Slot, Stored)>,
}

/// This tierup build: its version and the identity of the executable it runs in (size and
/// modification time), so code from a rebuilt tierup, whose code generator may have changed
/// without a version bump, is never taken for this one's.
pub(crate) fn build_id() -> &'static str {
    static ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ID.get_or_init(|| {
        let exe = std::env::current_exe().and_then(std::fs::metadata);
        let stamp = exe.map_or_else(
            |_| "unknown".to_string(),
            |m| {
                use std::os::unix::fs::MetadataExt;
                format!("{}-{}.{}", m.size(), m.mtime(), m.mtime_nsec())
            },
        );
        format!("{} ({stamp})", env!("CARGO_PKG_VERSION"))
    })
}

/// The host's instruction set, as stored.
fn host_isa() -> Option<Isa> {
    Isa::host()
}

fn isa_code(isa: Isa) -> u8 {
    match isa {
        Isa::X64 => 1,
        Isa::Aarch64 => 2,
    }
}

fn isa_from_code(code: u8) -> Option<Isa> {
    match code {
        1 => Some(Isa::X64),
        2 => Some(Isa::Aarch64),
        _ => None,
    }
}

fn isa_name(code: u8) -> String {
    isa_from_code(code).map_or_else(|| format!("unknown ISA {code}"), |isa| isa.name().to_string())
}

/// Names of the feature bits of [`host_features`], by bit.
const FEATURE_NAMES: [&str; 3] = ["popcnt", "sse4.1", "bmi2"];

/// The instruction-set extensions compiled code may use on this host, as bits (x86-64: popcnt,
/// SSE4.1, BMI2; aarch64 code uses none beyond the base).
pub(crate) fn host_features() -> u32 {
    let x64 = crate::isa::x64::X64Features::host();
    match host_isa() {
        Some(Isa::X64) => {
            u32::from(x64.popcnt) | (u32::from(x64.sse41) << 1) | (u32::from(x64.bmi2) << 2)
        }
        _ => 0,
    }
}

/// Everything in `config` that changes the code compilers produce, as text: an artifact loads
/// only under the same text. Limits checked at run time (stack, memory, table sizes), compile
/// threads and tier-up mode change when code is made, never what it is, and are left out.
pub(crate) fn config_description(config: &Config) -> String {
    let p = &config.tier_up;
    format!(
        "tier={} bounds={:?} fuel={} counters={} budget-checks={:?} tier-up={}/{}/{}/{} \
         passes={:?} regalloc={:?} profiling={:?} wasm={}",
        config.tier,
        crate::isa::heap_bounds(config.signals_based_traps),
        config.consume_fuel,
        config.profile_counters,
        config.budget_checks,
        p.threshold,
        p.call_weight,
        p.back_edge_weight,
        p.opt_threshold,
        config.opt_pipeline,
        config.regalloc,
        config.profiling_strategy,
        config.features,
    )
}

/// The target code compiled now under `config` is for.
pub(crate) fn current_target(config: &Config) -> Target {
    Target {
        build: build_id().to_string(),
        isa: host_isa().map_or(0, isa_code),
        features: host_features(),
        config: config_description(config),
    }
}

/// Checks that code compiled for `target` runs here under `config`. The instruction set and CPU
/// come first: a build for another ISA is always another build too, and the ISA is the reason
/// that tells the user what went wrong.
pub(crate) fn check_target(target: &Target, config: &Config) -> Result<(), ArtifactError> {
    let here = current_target(config);
    if target.isa != here.isa {
        return Err(ArtifactError::Isa {
            artifact: isa_name(target.isa),
            this: isa_name(here.isa),
        });
    }
    let missing = target.features & !here.features;
    if missing != 0 {
        let names: Vec<String> = (0..32)
            .filter(|bit| missing & (1 << bit) != 0)
            .map(|bit| FEATURE_NAMES.get(bit).map_or(format!("bit {bit}"), |n| n.to_string()))
            .collect();
        return Err(ArtifactError::Features(names.join(", ")));
    }
    if target.build != here.build {
        return Err(ArtifactError::Build { artifact: target.build.clone(), this: here.build });
    }
    if target.config != here.config {
        return Err(ArtifactError::Config { artifact: target.config.clone(), this: here.config });
    }
    Ok(())
}

// ---- Writing ----

struct Writer(Vec<u8>);

impl Writer {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn len(&mut self, n: usize) {
        self.u32(u32::try_from(n).expect("artifact parts stay below 4 GiB"));
    }
    fn bytes(&mut self, b: &[u8]) {
        self.len(b.len());
        self.0.extend_from_slice(b);
    }
    fn opt(&mut self, v: Option<u32>) {
        self.u32(v.unwrap_or(NONE));
    }
}

fn tier_code(tier: Tier) -> u8 {
    match tier {
        Tier::Interp => 0,
        Tier::Baseline => 1,
        Tier::Optimized => 2,
    }
}

/// The bytes of `artifact`, checksummed.
pub(crate) fn encode(artifact: &Artifact) -> Vec<u8> {
    let mut w = Writer(Vec::with_capacity(artifact.binary.len() * 3));
    w.0.extend_from_slice(&MAGIC);
    w.u32(FORMAT_VERSION);
    let t = &artifact.target;
    w.bytes(t.build.as_bytes());
    w.u8(t.isa);
    w.u32(t.features);
    w.bytes(t.config.as_bytes());
    w.0.extend_from_slice(&(artifact.binary.len() as u64).to_le_bytes());
    w.0.extend_from_slice(&artifact.binary);
    w.len(artifact.funcs.len());
    for (slot, stored) in &artifact.funcs {
        w.u8(match stored {
            Stored::Code(_) => 0,
            Stored::Refused(_) => 1,
        });
        w.u32(slot.def);
        w.u8(tier_code(slot.tier));
        w.opt(slot.osr);
        match stored {
            Stored::Refused(reason) => w.bytes(reason.as_bytes()),
            Stored::Code(c) => {
                w.bytes(&c.code);
                w.len(c.heap_accesses.len());
                c.heap_accesses.iter().for_each(|&a| w.u32(a));
                w.len(c.heap_access_wasm.len());
                c.heap_access_wasm.iter().for_each(|&a| w.u32(a));
                w.opt(c.oob_landing);
                w.len(c.osr_entries.len());
                c.osr_entries.iter().for_each(|&e| w.opt(e));
                w.opt(c.register_entry);
                w.len(c.sig_sites.len());
                for site in &c.sig_sites {
                    w.u32(site.offset);
                    w.u32(site.ty);
                }
                w.len(c.direct_calls.len());
                for site in &c.direct_calls {
                    w.u32(site.start);
                    w.u32(site.end);
                    w.u32(site.callee);
                }
                w.len(c.wasm_offsets.len());
                for &(code, wasm) in &c.wasm_offsets {
                    w.u32(code);
                    w.u32(wasm);
                }
            }
        }
    }
    let crc = crc32fast::hash(&w.0);
    w.u32(crc);
    w.0
}

// ---- Reading ----

/// A cursor over the artifact's bytes: every read checks that the bytes are there.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

fn truncated() -> ArtifactError {
    ArtifactError::Corrupt("truncated".into())
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ArtifactError> {
        let end = self.at.checked_add(n).ok_or_else(truncated)?;
        let slice = self.bytes.get(self.at..end).ok_or_else(truncated)?;
        self.at = end;
        Ok(slice)
    }
    fn u8(&mut self) -> Result<u8, ArtifactError> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> Result<u32, ArtifactError> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes")))
    }
    fn u64(&mut self) -> Result<u64, ArtifactError> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().expect("8 bytes")))
    }
    fn opt(&mut self) -> Result<Option<u32>, ArtifactError> {
        Ok(Some(self.u32()?).filter(|&v| v != NONE))
    }
    /// A count of items of `item_bytes` each, checked against the bytes left (so a corrupt
    /// count never makes a huge allocation).
    fn count(&mut self, item_bytes: usize) -> Result<usize, ArtifactError> {
        let n = self.u32()? as usize;
        if n.saturating_mul(item_bytes) > self.bytes.len() - self.at {
            return Err(truncated());
        }
        Ok(n)
    }
    fn bytes(&mut self) -> Result<&'a [u8], ArtifactError> {
        let n = self.count(1)?;
        self.take(n)
    }
    fn string(&mut self) -> Result<String, ArtifactError> {
        let bytes = self.bytes()?;
        String::from_utf8(bytes.to_vec()).map_err(|_| ArtifactError::Corrupt("bad text".into()))
    }
    fn u32s(&mut self) -> Result<Vec<u32>, ArtifactError> {
        let n = self.count(4)?;
        (0..n).map(|_| self.u32()).collect()
    }
    fn pairs(&mut self) -> Result<Vec<(u32, u32)>, ArtifactError> {
        let n = self.count(8)?;
        (0..n).map(|_| Ok((self.u32()?, self.u32()?))).collect()
    }
    fn direct_calls(&mut self) -> Result<Vec<DirectCallSite>, ArtifactError> {
        let n = self.count(12)?;
        let site =
            |r: &mut Self| Ok(DirectCallSite { start: r.u32()?, end: r.u32()?, callee: r.u32()? });
        (0..n).map(|_| site(self)).collect()
    }
}

/// The header and the rest, after the magic, version and checksum checks.
fn checked_body(bytes: &[u8]) -> Result<&[u8], ArtifactError> {
    if bytes.len() < MAGIC.len() || bytes[..MAGIC.len()] != MAGIC {
        return Err(ArtifactError::NotAnArtifact);
    }
    let mut r = Reader { bytes, at: MAGIC.len() };
    let version = r.u32()?;
    if version != FORMAT_VERSION {
        return Err(ArtifactError::FormatVersion { found: version });
    }
    let Some(body_len) = bytes.len().checked_sub(4).filter(|&n| n >= r.at) else {
        return Err(truncated());
    };
    let (body, crc) = bytes.split_at(body_len);
    if crc32fast::hash(body).to_le_bytes() != crc {
        return Err(ArtifactError::Corrupt("checksum mismatch".into()));
    }
    Ok(body)
}

/// Whether `bytes` start like an artifact (so a command can tell one from a module).
pub fn is_artifact(bytes: &[u8]) -> bool {
    bytes.starts_with(&MAGIC)
}

/// Whether the file at `path` starts like an artifact (reads its first bytes only).
pub fn is_artifact_file(path: &Path) -> std::io::Result<bool> {
    use std::io::Read;
    let mut head = Vec::with_capacity(MAGIC.len());
    std::fs::File::open(path)?.take(MAGIC.len() as u64).read_to_end(&mut head)?;
    Ok(is_artifact(&head))
}

/// An artifact or cache entry mapped read-only from its file (memmap2) rather than read into the
/// heap: loading checks it and copies each function's code into executable memory, relocated.
#[derive(Debug)]
pub struct MappedFile(memmap2::Mmap);

impl MappedFile {
    /// Maps the file at `path`.
    ///
    /// # Safety
    /// The file must not be truncated or rewritten in place while mapped (reading a truncated
    /// mapping raises SIGBUS). tierup replaces cache entries by renaming a new file over the old
    /// one, which leaves a mapping of the old file intact; an artifact is the user's file, trusted
    /// as [`Module::deserialize`] requires, and must be left alone likewise.
    pub unsafe fn open(path: &Path) -> std::io::Result<MappedFile> {
        let file = std::fs::File::open(path)?;
        // SAFETY: the caller keeps the file from being truncated or written while mapped.
        let map = unsafe { memmap2::Mmap::map(&file) }?;
        Ok(MappedFile(map))
    }
}

impl std::ops::Deref for MappedFile {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.0
    }
}

/// The configuration text stored in an artifact (for a command choosing its configuration from
/// the artifact, e.g. its tier), after the checksum check.
pub fn stored_config(bytes: &[u8]) -> Result<String, ArtifactError> {
    let body = checked_body(bytes)?;
    let mut r = Reader { bytes: body, at: MAGIC.len() + 4 };
    r.bytes()?;
    r.u8()?;
    r.u32()?;
    r.string()
}

/// Decodes an artifact, checking its structure (not yet its target or its module).
pub(crate) fn decode(bytes: &[u8]) -> Result<Artifact, ArtifactError> {
    let body = checked_body(bytes)?;
    let mut r = Reader { bytes: body, at: MAGIC.len() + 4 };
    let target =
        Target { build: r.string()?, isa: r.u8()?, features: r.u32()?, config: r.string()? };
    let binary_len = usize::try_from(r.u64()?).map_err(|_| truncated())?;
    let binary = r.take(binary_len)?.to_vec();
    let n = r.count(10)?;
    let mut funcs = Vec::with_capacity(n);
    for _ in 0..n {
        let kind = r.u8()?;
        let def = r.u32()?;
        let tier = match r.u8()? {
            1 => Tier::Baseline,
            2 => Tier::Optimized,
            t => return Err(ArtifactError::Corrupt(format!("unknown tier {t}"))),
        };
        let osr = r.opt()?;
        let stored = match kind {
            0 => Stored::Code(PortableCode {
                code: r.bytes()?.to_vec(),
                heap_accesses: r.u32s()?,
                heap_access_wasm: r.u32s()?,
                oob_landing: r.opt()?,
                osr_entries: {
                    let n = r.count(4)?;
                    (0..n).map(|_| r.opt()).collect::<Result<_, _>>()?
                },
                register_entry: r.opt()?,
                sig_sites: r
                    .pairs()?
                    .into_iter()
                    .map(|(offset, ty)| SigSite { offset, ty })
                    .collect(),
                direct_calls: r.direct_calls()?,
                wasm_offsets: r.pairs()?,
            }),
            1 => Stored::Refused(r.string()?),
            k => return Err(ArtifactError::Corrupt(format!("unknown record kind {k}"))),
        };
        funcs.push((Slot { def, tier, osr }, stored));
    }
    if r.at != body.len() {
        return Err(ArtifactError::Corrupt("trailing bytes".into()));
    }
    Ok(Artifact { target, binary, funcs })
}

/// Checks every record of `artifact` against `module` (the module its binary decodes to):
/// indexes in range, offsets inside their code, no slot twice; and turns the code into parts
/// ready to map, with this engine's signature ids written at the signature sites.
pub(crate) fn prepare_for(
    module: &ModuleInner,
    funcs: Vec<(Slot, Stored)>,
) -> Result<Vec<(Slot, Loaded)>, ArtifactError> {
    let bad = |what: &str, slot: &Slot| {
        ArtifactError::Corrupt(format!("{what} (function {} {})", slot.def, slot.tier))
    };
    let isa = host_isa().ok_or_else(|| ArtifactError::Corrupt("no compiled code here".into()))?;
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(funcs.len());
    for (slot, stored) in funcs {
        let loops = *module.num_loops.get(slot.def as usize).ok_or_else(|| bad("index", &slot))?;
        if !seen.insert(slot) {
            return Err(bad("recorded twice", &slot));
        }
        if slot.osr.is_some_and(|ordinal| ordinal >= loops) {
            return Err(bad("OSR loop out of range", &slot));
        }
        let c = match stored {
            Stored::Refused(reason) => {
                out.push((slot, Err(reason)));
                continue;
            }
            Stored::Code(c) => c,
        };
        let len = c.code.len();
        let inside = |offset: u32| (offset as usize) < len;
        if len == 0
            || !c.heap_accesses.iter().all(|&a| inside(a))
            || !c.oob_landing.is_none_or(inside)
            || (!c.heap_accesses.is_empty() && c.oob_landing.is_none())
            || c.heap_access_wasm.len() != c.heap_accesses.len()
            || !c.osr_entries.iter().flatten().all(|&e| inside(e))
            || !c.register_entry.is_none_or(inside)
            || c.osr_entries.len() > loops as usize
            || !c.wasm_offsets.iter().all(|&(code, _)| inside(code))
            || !c.direct_calls.iter().all(|site| site.start < site.end && site.end as usize <= len)
        {
            return Err(bad("offset outside its code", &slot));
        }
        let mut code = c.code;
        for site in &c.sig_sites {
            let sig = module.sigs.get(site.ty as usize).ok_or_else(|| bad("type", &slot))?;
            masm::patch_sig_site(isa, &mut code, site.offset as usize, sig.0)
                .ok_or_else(|| bad("signature site", &slot))?;
        }
        let parts = CompiledParts {
            code,
            tier: slot.tier,
            func_index: module.num_imported_funcs + slot.def,
            heap_accesses: c.heap_accesses,
            heap_access_wasm: c.heap_access_wasm,
            oob_landing: c.oob_landing,
            osr_entries: c.osr_entries,
            register_entry: c.register_entry,
            compile_time: std::time::Duration::ZERO,
            stats: Vec::new(),
            wasm_offsets: c.wasm_offsets,
            sig_sites: c.sig_sites,
            direct_calls: c.direct_calls,
            loaded: true,
        };
        out.push((slot, Ok(parts)));
    }
    Ok(out)
}

/// Every compiled function and refusal of `module` so far, as stored.
fn collect(module: &ModuleInner) -> Vec<(Slot, Stored)> {
    let tiers = &module.tiers;
    let mut funcs = Vec::new();
    for def in 0..tiers.len() as u32 {
        for tier in [Tier::Baseline, Tier::Optimized] {
            let slot = Slot { def, tier, osr: None };
            if let Some(code) = tiers.compiled(def, tier) {
                funcs.push((slot, Stored::Code(portable(module, def, code))));
            } else if let crate::tier::CompileState::Refused(reason) = tiers.timeline(def, tier).state
                // A compiler bug is worth another try by a fixed build, and is never stored.
                && !reason.starts_with("internal")
            {
                funcs.push((slot, Stored::Refused(reason)));
            }
        }
    }
    // Code loaded with the module that this run never asked for stays in a rewritten entry.
    for (slot, loaded) in tiers.untaken_precompiled() {
        funcs.push((slot, loaded.map_or_else(Stored::Refused, |p| Stored::Code(p.into()))));
    }
    for (def, ordinal, variant) in tiers.osr_variants() {
        let slot = Slot { def, tier: Tier::Optimized, osr: Some(ordinal) };
        match variant {
            Ok(code) => funcs.push((slot, Stored::Code(portable(module, def, &code)))),
            Err(reason) if !reason.starts_with("internal") => {
                funcs.push((slot, Stored::Refused(reason)))
            }
            Err(_) => {}
        }
    }
    funcs
}

fn portable(module: &ModuleInner, def: u32, code: &crate::code::CompiledFunc) -> PortableCode {
    code.portable_parts(module.num_imported_funcs + def).into()
}

impl From<CompiledParts> for PortableCode {
    fn from(p: CompiledParts) -> PortableCode {
        PortableCode {
            code: p.code,
            heap_accesses: p.heap_accesses,
            heap_access_wasm: p.heap_access_wasm,
            oob_landing: p.oob_landing,
            osr_entries: p.osr_entries,
            register_entry: p.register_entry,
            sig_sites: p.sig_sites,
            direct_calls: p.direct_calls,
            wasm_offsets: p.wasm_offsets,
        }
    }
}

impl Module {
    /// The module and all the code compiled for it so far (tiers 1 and 2, and the refusals), as
    /// an artifact another process of this tierup build can load with [`Module::deserialize`]
    /// under the same code-affecting configuration, on a machine with the same instruction set.
    pub fn serialize(&self) -> Vec<u8> {
        let m = &self.inner;
        let artifact = Artifact {
            target: current_target(&m.config),
            binary: m.binary.to_vec(),
            funcs: collect(m),
        };
        encode(&artifact)
    }

    /// Loads an artifact [`Module::serialize`] (or `tierup compile`) wrote: the module, with its
    /// stored code installed where tiering would have compiled it (with a pinned tier, before the
    /// first instance; under `auto`, when each function gets hot), and no compile for what the
    /// artifact holds. Fails with [`crate::Error::Artifact`] when the artifact is damaged or was
    /// made by another build, for another instruction set, CPU or configuration.
    ///
    /// # Safety
    /// The artifact's machine code runs as it is: the bytes must come from a trusted writer (a
    /// checksum catches accidents, not forgeries), as with wasmtime's `Module::deserialize`.
    pub unsafe fn deserialize(engine: &Engine, artifact: &[u8]) -> crate::Result<Module> {
        let artifact = decode(artifact)?;
        check_target(&artifact.target, engine.config())?;
        Module::build_precompiled(engine, &artifact.binary, None, artifact.funcs)
    }
}

/// An on-disk cache of compiled code: one artifact per module and configuration, named by a hash
/// of what the code depends on (the module's binary, the tierup build, the ISA and CPU features,
/// the code-affecting configuration). An entry is only used when it matches all of them exactly
/// (the binary byte for byte); a damaged or stale entry is ignored and replaced by the next
/// [`CodeCache::store`].
#[derive(Debug, Clone)]
pub struct CodeCache {
    dir: PathBuf,
}

/// What [`CodeCache::load`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheLookup {
    /// No entry for this module and configuration.
    Miss,
    /// An entry, now installed as tiering asks for code.
    Hit,
    /// An entry that cannot be used (why); the module runs as without one.
    Rejected(ArtifactError),
}

impl CodeCache {
    /// The cache in `dir` (created when first written).
    pub fn new(dir: impl Into<PathBuf>) -> CodeCache {
        CodeCache { dir: dir.into() }
    }

    /// The default directory: `$XDG_CACHE_HOME/tierup/code`, else `~/.cache/tierup/code`.
    pub fn default_dir() -> Option<PathBuf> {
        let base = std::env::var_os("XDG_CACHE_HOME")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache")))?;
        Some(base.join("tierup").join("code"))
    }

    /// The cache's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the entry for `binary` under `config` lives.
    pub fn entry_path(&self, config: &Config, binary: &[u8]) -> PathBuf {
        let target = current_target(config);
        let mut key = Fnv64::new();
        for part in [target.build.as_bytes(), &[target.isa], &target.features.to_le_bytes()] {
            key.write(part);
        }
        key.write(target.config.as_bytes());
        key.write(binary);
        self.dir.join(format!("{:016x}.tup", key.0))
    }

    /// Decodes and validates module `binary` (named `file` for profilers), with the cache's code
    /// for it when there is a usable entry.
    ///
    /// # Safety
    /// As [`Module::deserialize`]: the cache directory's files are trusted to be tierup's.
    pub unsafe fn load(
        &self,
        engine: &Engine,
        binary: &[u8],
        file: Option<String>,
    ) -> crate::Result<(Module, CacheLookup)> {
        let path = self.entry_path(engine.config(), binary);
        // SAFETY: entries are only ever replaced by renaming a complete file over them (`store`),
        // never rewritten in place, so the mapped file stays whole while it is read.
        let Ok(bytes) = (unsafe { MappedFile::open(&path) }) else {
            return Ok((
                Module::build_precompiled(engine, binary, file, Vec::new())?,
                CacheLookup::Miss,
            ));
        };
        let usable = decode(&bytes).and_then(|a| {
            check_target(&a.target, engine.config())?;
            if a.binary != binary {
                return Err(ArtifactError::OtherModule);
            }
            Ok(a.funcs)
        });
        match usable {
            Ok(funcs) => match Module::build_precompiled(engine, binary, file.clone(), funcs) {
                Ok(module) => Ok((module, CacheLookup::Hit)),
                Err(crate::Error::Artifact(e)) => {
                    let module = Module::build_precompiled(engine, binary, file, Vec::new())?;
                    Ok((module, CacheLookup::Rejected(e)))
                }
                Err(e) => Err(e),
            },
            Err(e) => {
                let module = Module::build_precompiled(engine, binary, file, Vec::new())?;
                Ok((module, CacheLookup::Rejected(e)))
            }
        }
    }

    /// Writes `module`'s code to its entry if this process compiled anything the entry lacks
    /// (`Ok(false)`: nothing new, nothing written). The entry is written to a temporary file and
    /// renamed over the old one, so a reader never sees half an entry.
    pub fn store(&self, module: &Module) -> std::io::Result<bool> {
        if !module.inner.tiers.compiled_here() {
            return Ok(false);
        }
        let m = &module.inner;
        let path = self.entry_path(&m.config, &m.binary);
        std::fs::create_dir_all(&self.dir)?;
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&tmp, module.serialize())?;
        std::fs::rename(&tmp, &path).inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        })?;
        Ok(true)
    }
}

/// FNV-1a, 64 bits: names cache entries (collisions only cost a miss: entries are checked in
/// full).
struct Fnv64(u64);

impl Fnv64 {
    fn new() -> Fnv64 {
        Fnv64(0xcbf2_9ce4_8422_2325)
    }
    fn write(&mut self, bytes: &[u8]) {
        // Each part's length first, so parts cannot run into each other.
        for &b in (bytes.len() as u64).to_le_bytes().iter().chain(bytes) {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Linker, Store, Tiering, Val};

    /// Loops, memory accesses (heap-access sites), an indirect call (a signature site) and a
    /// function tier 1 refuses (SIMD).
    const WAT: &str = r#"(module
        (type $unary (func (param i32) (result i32)))
        (table 2 funcref)
        (elem (i32.const 0) $double $simd)
        (memory 1)
        (func $double (type $unary) (i32.shl (local.get 0) (i32.const 1)))
        (func $simd (type $unary)
          (i32x4.extract_lane 0 (i32x4.splat (i32.add (local.get 0) (i32.const 1)))))
        (func (export "run") (param i32) (result i32) (local i32)
          (loop $l
            (i32.store (i32.const 16)
              (i32.add (i32.load (i32.const 16))
                       (call_indirect (type $unary) (local.get 0) (i32.and (local.get 0) (i32.const 1)))))
            (br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))
          (i32.load (i32.const 16))))"#;

    fn engine(tier: Tiering) -> Engine {
        Engine::new(Config {
            tier,
            tier_up_mode: crate::TierUpMode::Sync,
            tier_up: crate::TierUpPolicy { threshold: 1, opt_threshold: 1, ..Default::default() },
            ..Config::default()
        })
    }

    fn run(engine: &Engine, module: &Module) -> Val {
        let mut store = Store::new(engine, ());
        let instance = Linker::new().instantiate(&mut store, module).unwrap();
        let mut out = [Val::I32(0)];
        let func = instance.get_func(&store, "run").unwrap();
        func.call(&mut store, &[Val::I32(50)], &mut out).unwrap();
        out[0]
    }

    /// An engine whose signature ids differ from a fresh engine's: another module's types were
    /// interned first.
    fn engine_with_other_sigs(tier: Tiering) -> Engine {
        let engine = engine(tier);
        let other = "(module (func (param i64 f32)) (func (param f64) (result i64) i64.const 0))";
        Module::new(&engine, other).unwrap();
        engine
    }

    fn compiled_artifact(tier: Tiering) -> (Vec<u8>, Val) {
        let engine = engine(tier);
        let module = Module::new(&engine, WAT).unwrap();
        let result = run(&engine, &module);
        (module.serialize(), result)
    }

    #[test]
    fn artifacts_load_into_another_engine_and_run_without_compiling() {
        for tier in [Tier::Baseline.into(), Tier::Optimized.into(), Tiering::Auto] {
            let (bytes, expected) = compiled_artifact(tier);
            let engine = engine_with_other_sigs(tier);
            // SAFETY: the artifact was written by this test's own process.
            let module = unsafe { Module::deserialize(&engine, &bytes) }.unwrap();
            assert_eq!(run(&engine, &module), expected, "{tier}");
            let stats = module.compile_stats();
            assert_eq!((stats.tier1_functions, stats.tier2_functions), (0, 0), "{tier}: {stats:?}");
            assert!(stats.loaded_functions >= 2, "{tier}: {stats:?}");
            assert!(!module.inner.tiers.compiled_here(), "{tier}: nothing compiled");
            // The refused SIMD function stays refused, without a compile.
            let refused = module.refusals().iter().any(|r| r.func_index == 1 && r.touches_simd);
            assert!(refused, "{tier}");
        }
    }

    #[test]
    fn code_differs_between_engines_only_at_signature_sites() {
        let code = |engine: &Engine| {
            let module = Module::new(engine, WAT).unwrap();
            let code = module.inner.tiers.compiled(2, Tier::Baseline).unwrap();
            (code.bytes().to_vec(), code.portable_parts(2).sig_sites)
        };
        let (a, sites) = code(&engine(Tier::Baseline.into()));
        let (b, sites_b) = code(&engine_with_other_sigs(Tier::Baseline.into()));
        assert_eq!(sites, sites_b);
        assert!(!sites.is_empty(), "the indirect call has a signature site");
        assert_ne!(a, b, "the signature ids differ");
        let isa = host_isa().unwrap();
        let blank = |mut code: Vec<u8>| {
            for site in &sites {
                masm::patch_sig_site(isa, &mut code, site.offset as usize, 0).unwrap();
            }
            code
        };
        assert_eq!(blank(a), blank(b), "nothing else in the code depends on the engine");
    }

    #[test]
    fn artifacts_round_trip_through_their_encoding() {
        let (bytes, _) = compiled_artifact(Tier::Optimized.into());
        let artifact = decode(&bytes).unwrap();
        assert_eq!(encode(&artifact), bytes);
        assert!(artifact.funcs.iter().any(|(_, s)| matches!(s, Stored::Refused(_))));
        assert!(artifact.funcs.iter().any(|(s, _)| s.tier == Tier::Optimized));
    }

    /// Recomputes the checksum of `bytes` after an edit, so the structure checks are what
    /// catches it.
    fn reseal(bytes: &mut [u8]) {
        let body = bytes.len() - 4;
        let crc = crc32fast::hash(&bytes[..body]);
        bytes[body..].copy_from_slice(&crc.to_le_bytes());
    }

    /// Loads `bytes` (decoding, target checks, and the checks against the module) the way
    /// `deserialize` does, without running anything.
    fn load(bytes: &[u8]) -> crate::Result<()> {
        thread_local! {
            static MODULE: Module = Module::new(&engine(Tier::Baseline.into()), WAT).unwrap();
        }
        let artifact = decode(bytes)?;
        MODULE.with(|module| {
            check_target(&artifact.target, &module.inner.config)?;
            if artifact.binary != *module.inner.binary {
                return Err(ArtifactError::OtherModule.into());
            }
            prepare_for(&module.inner, artifact.funcs)?;
            Ok(())
        })
    }

    #[test]
    fn truncated_artifacts_are_errors() {
        let (bytes, _) = compiled_artifact(Tier::Baseline.into());
        assert!(load(&bytes).is_ok());
        for len in 0..bytes.len() {
            let err = load(&bytes[..len]).unwrap_err();
            assert!(matches!(err, crate::Error::Artifact(_)), "at {len}: {err}");
        }
    }

    #[test]
    fn flipped_bytes_are_errors() {
        let (bytes, _) = compiled_artifact(Tier::Baseline.into());
        for at in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[at] ^= 0x40;
            assert!(load(&bad).is_err(), "flipped byte {at} went unnoticed");
        }
    }

    #[test]
    fn corrupt_structure_under_a_valid_checksum_never_panics() {
        let (bytes, _) = compiled_artifact(Tier::Baseline.into());
        // Every byte after the module binary (the records), set to values that make lengths,
        // offsets and indexes large or zero; a valid checksum each time.
        let artifact = decode(&bytes).unwrap();
        let records_start = encode(&Artifact { funcs: Vec::new(), ..artifact }).len() - 8;
        let mut rejected = 0;
        for at in records_start..bytes.len() - 4 {
            for value in [0x00, 0xff, 0x7f, 0x01] {
                let mut bad = bytes.clone();
                bad[at] = value;
                reseal(&mut bad);
                rejected += usize::from(load(&bad).is_err());
            }
        }
        assert!(rejected > (bytes.len() - records_start) / 4, "{rejected}");
        // Out-of-range offsets in particular.
        let mut artifact = decode(&bytes).unwrap();
        let Some((_, Stored::Code(code))) = artifact
            .funcs
            .iter_mut()
            .find(|(_, s)| matches!(s, Stored::Code(c) if !c.sig_sites.is_empty()))
        else {
            panic!("a function with a signature site")
        };
        code.sig_sites[0].offset = code.code.len() as u32 - 2;
        let err = load(&encode(&artifact)).unwrap_err();
        assert!(err.to_string().contains("signature site"), "{err}");
    }

    #[test]
    fn artifacts_for_another_build_isa_cpu_or_configuration_are_refused() {
        let (bytes, _) = compiled_artifact(Tier::Baseline.into());
        let edit = |f: &dyn Fn(&mut Target)| {
            let mut artifact = decode(&bytes).unwrap();
            f(&mut artifact.target);
            let engine = engine(Tier::Baseline.into());
            // SAFETY: the test's own artifact, refused before any code is mapped.
            match unsafe { Module::deserialize(&engine, &encode(&artifact)) } {
                Err(crate::Error::Artifact(e)) => e,
                other => panic!("expected a refusal, got {:?}", other.map(|_| ())),
            }
        };
        assert!(matches!(edit(&|t| t.build = "0.0.1 (other)".into()), ArtifactError::Build { .. }));
        let other_isa = if host_isa() == Some(Isa::X64) { 2 } else { 1 };
        let err = edit(&|t| t.isa = other_isa);
        assert!(matches!(err, ArtifactError::Isa { .. }), "{err}");
        // Code from another ISA always comes from another build too: the ISA is what is named.
        let err = edit(&|t| {
            t.isa = other_isa;
            t.build = "0.0.1 (other)".into();
        });
        assert!(matches!(err, ArtifactError::Isa { .. }), "{err}");
        assert!(matches!(edit(&|t| t.features |= 1 << 7), ArtifactError::Features(_)));
        let mut version = bytes.clone();
        version[8] = 9;
        assert!(matches!(decode(&version), Err(ArtifactError::FormatVersion { found: 9 })));
        // Another configuration: a tier, explicit bounds checks.
        for config in [
            Config { tier: Tier::Optimized.into(), ..Config::default() },
            Config { tier: Tier::Baseline.into(), signals_based_traps: false, ..Config::default() },
        ] {
            // SAFETY: as above.
            let err = unsafe { Module::deserialize(&Engine::new(config), &bytes) }.err().unwrap();
            assert!(matches!(err, crate::Error::Artifact(ArtifactError::Config { .. })), "{err}");
        }
        assert!(matches!(decode(b"\0asm\x01\0\0\0"), Err(ArtifactError::NotAnArtifact)));
    }

    #[test]
    fn the_code_cache_serves_the_second_run_and_replaces_damaged_entries() {
        let dir = tempfile::tempdir().unwrap();
        let cache = CodeCache::new(dir.path().join("code"));
        let binary = wat::parse_str(WAT).unwrap();
        let engine = engine(Tiering::Auto);
        let session = |_what: &str| {
            // SAFETY: the cache directory is this test's own.
            let (module, lookup) = unsafe { cache.load(&engine, &binary, None) }.unwrap();
            let result = run(&engine, &module);
            let stats = module.compile_stats();
            let compiled = stats.tier1_functions + stats.tier2_functions;
            let stored = cache.store(&module).unwrap();
            (format!("{lookup:?}"), (), result, compiled, stats.loaded_functions, stored)
        };
        let (lookup, _, first, compiled, loaded, stored) = session("miss");
        assert_eq!((lookup.as_str(), compiled > 0, loaded, stored), ("Miss", true, 0, true));
        let (lookup, _, second, compiled, loaded, stored) = session("hit");
        assert_eq!((lookup.as_str(), compiled, loaded > 0, stored), ("Hit", 0, true, false));
        assert_eq!(first, second);
        // A damaged entry is ignored, and the run's code replaces it.
        let path = cache.entry_path(engine.config(), &binary);
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        let (lookup, _, third, compiled, _, stored) = session("damaged");
        assert!(lookup.starts_with("Rejected(Corrupt"), "{lookup}");
        assert_eq!((third, compiled > 0, stored), (first, true, true));
        let (lookup, ..) = session("hit again");
        assert_eq!(lookup, "Hit");
    }
}
