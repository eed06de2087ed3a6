//! The slot frame: the one frame layout every tier runs on, a contract between tiers.
//!
//! Every wasm value of a running function has a 16-byte slot in its frame on the store's value
//! stack ([`Stack`](super::stack::Stack)):
//!
//! ```text
//! fp -> [params][locals][result padding][temporaries: one slot per wasm stack height]
//! ```
//!
//! A callee's frame starts at its caller's argument slots, and its results come back in its first
//! slots. Tier 0 produces the layout of each function when it translates it; compiled tiers read
//! it, so frames pass between tiers without translation: a caller never knows its callee's tier,
//! and on-stack replacement enters compiled code on the interpreter's frame. At every label, every
//! value on the wasm stack is in its canonical slot (`temp_base + height`), except constants,
//! which stay constants.
//!
//! This module holds data only: it must never name a tier.

/// Bytes per slot: every wasm value, `v128` included, has one 16-byte slot.
pub const SLOT_BYTES: u32 = 16;

/// The frame of one function, as every tier lays it out.
#[derive(Debug)]
pub struct FrameLayout {
    /// Parameters, in slots `0..num_params`.
    pub num_params: u32,
    /// Copied over the slots right after the parameters on every entry: zeros for the declared
    /// locals and the result padding. Every tier keeps constants as immediates.
    pub frame_init: Box<[u128]>,
    /// Declared locals (not counting parameters): the first entries of `frame_init`.
    pub num_locals: u32,
    /// Total slots the frame needs (temporaries included).
    pub frame_size: u32,
    /// `loop` operators in the body (dead ones included): loop ordinals are below it.
    pub num_loops: u32,
    /// With fuel metering, what each straight-line segment of the body costs, in the order the
    /// operator walk opens them ([`ends_fuel_segment`] says where one ends); empty without fuel.
    /// Every tier charges these amounts at these points, so fuel never depends on the tier.
    pub fuel_segments: Box<[u32]>,
}

impl FrameLayout {
    /// The first temporary's slot: where the wasm stack's bottom value lives at labels.
    pub fn temp_base(&self) -> u32 {
        self.num_params + self.frame_init.len() as u32
    }
}

/// The layout of defined function `def` of `module` for code no lower tier ever runs, from what
/// validation recorded, without decoding its body (only its locals' header): parameters, zeroed
/// locals and result padding, then the temporaries at once (no constant slots: every tier keeps
/// constants as immediates, so the slots are tier 0's) and no fuel segments. So only for code
/// compiled without fuel metering; with fuel, the segments come from tier 0's translation.
pub fn compact_layout(
    module: &crate::module::ModuleInner,
    def: u32,
) -> Result<FrameLayout, wasmparser::BinaryReaderError> {
    let body = module.function_body(def);
    let ty = module.func_type(module.num_imported_funcs + def);
    let (num_params, num_results) = (ty.params().len() as u32, ty.results().len() as u32);
    let mut num_locals = 0u32;
    let mut locals = body.get_locals_reader()?;
    for _ in 0..locals.get_count() {
        num_locals = num_locals.saturating_add(locals.read()?.0);
    }
    let zeroed = num_params.saturating_add(num_locals).max(num_results) - num_params;
    let temp_base = num_params + zeroed;
    Ok(FrameLayout {
        num_params,
        frame_init: vec![0; zeroed as usize].into_boxed_slice(),
        num_locals,
        frame_size: temp_base + module.max_stack[def as usize],
        num_loops: module.num_loops[def as usize],
        fuel_segments: Box::new([]),
    })
}

/// Whether `op` ends a straight-line fuel segment: fuel is charged once per segment, at its
/// first operator, for all of its operators. Every tier must split segments here.
pub fn ends_fuel_segment(op: &wasmparser::Operator<'_>) -> bool {
    use wasmparser::Operator;
    matches!(
        op,
        Operator::Block { .. }
            | Operator::Loop { .. }
            | Operator::If { .. }
            | Operator::Else
            | Operator::End
            | Operator::Br { .. }
            | Operator::BrIf { .. }
            | Operator::BrTable { .. }
            | Operator::Return
            | Operator::Call { .. }
            | Operator::CallIndirect { .. }
            | Operator::CallRef { .. }
            | Operator::BrOnNull { .. }
            | Operator::BrOnNonNull { .. }
            | Operator::ReturnCall { .. }
            | Operator::ReturnCallIndirect { .. }
            | Operator::ReturnCallRef { .. }
            | Operator::Unreachable
            | Operator::TryTable { .. }
            | Operator::Throw { .. }
            | Operator::ThrowRef
    )
}
