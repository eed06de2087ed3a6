//! Golden disassembly of the aarch64 backend, assembled (never executed) on any host, and
//! decoded with yaxpeax-arm.

use super::*;
use yaxpeax_arch::{Decoder, U8Reader};
use yaxpeax_arm::armv8::a64::InstDecoder;

/// The code `emit` assembles, one instruction per line, without the entry's register saves
/// (which `finish` puts in front), for a function that writes no allocatable register.
fn disassemble(emit: impl FnOnce(&mut Aarch64Masm)) -> String {
    let mut masm = Aarch64Masm::default();
    emit(&mut masm);
    disassemble_bytes(&finish_body(masm).code)
}

/// `masm` finished for a function that writes no allocatable register, the entry's register
/// saves taken off the front: offsets in body terms, as the code emitted them.
fn finish_body(mut masm: Aarch64Masm) -> Assembled {
    masm.registers_used(&[]);
    let mut assembled = masm.finish().unwrap();
    let shift = assembled.entry_bytes;
    assembled.code.drain(..shift as usize);
    assembled.heap_accesses.iter_mut().for_each(|at| *at -= shift);
    assembled.oob_landing = assembled.oob_landing.map(|at| at - shift);
    assembled
}

/// aarch64 machine code, one instruction per line (`<error: bytes>` for an undecodable word).
pub(crate) fn disassemble_bytes(bytes: &[u8]) -> String {
    assert_eq!(bytes.len() % 4, 0);
    let decoder = InstDecoder::default();
    let mut out = String::new();
    for word in bytes.chunks(4) {
        let mut reader = U8Reader::new(word);
        match decoder.decode(&mut reader) {
            Ok(instruction) => out.push_str(&instruction.to_string()),
            Err(e) => out.push_str(&format!("<{e}: {word:02x?}>")),
        }
        out.push('\n');
    }
    out
}

/// The trap exit and the epilogue every function ends with (after its trap stubs), for a
/// function whose index was never set (`u32::MAX`).
const EPILOGUE: &str = "mov w1, w0
mov w2, #0xffffffff
mov w3, #0x1
ldr x16, [x19, #0x30]
mov x0, x19
blr x16
ldp x19, x20, [sp, #0x10]
ldp x29, x30, [sp], #0x20
ret
";

/// [`EPILOGUE`] for a function that accesses memory: the memory base register is restored too.
const HEAP_EPILOGUE: &str = "mov w1, w0
mov w2, #0xffffffff
mov w3, #0x1
ldr x16, [x19, #0x30]
mov x0, x19
blr x16
ldp x19, x20, [sp, #0x10]
ldr x21, [sp, #0x20]
ldp x29, x30, [sp], #0x30
ret
";

/// Checks that `emit` assembles to `expected` (one instruction per line, epilogue excluded).
#[track_caller]
fn check(emit: impl FnOnce(&mut Aarch64Masm), expected: &str) {
    let code = disassemble(emit);
    let body = code
        .strip_suffix(EPILOGUE)
        .or_else(|| code.strip_suffix(HEAP_EPILOGUE))
        .unwrap_or_else(|| panic!("no epilogue:\n{code}"));
    let expected: String = expected.lines().map(|l| format!("{}\n", l.trim())).collect();
    assert_eq!(body, expected, "\nactual:\n{body}");
}

#[test]
fn a_function_saves_registers_checks_both_stacks_and_writes_the_frame_image() {
    let mut m = Aarch64Masm::default();
    m.prologue(&FrameSetup {
        func_index: u32::MAX,
        frame_bytes: 64,
        init_offset: 16,
        init: &[0, 5 << 64],
        calls: true,
    });
    m.int_op(IntOp::Add, Size::S32, Reg(9), Reg(9), RegImm::Imm(3));
    m.ret();
    // x9 is caller-saved; of the callee-saved registers only the pinned ones and x22 are saved.
    m.registers_used(&[Reg(9), Reg(22)]);
    let code = disassemble_bytes(&m.finish().unwrap().code);
    let expected = "stp x29, x30, [sp, #-0x30]!
         mov x29, sp
         stp x19, x20, [sp, #0x10]
         str x22, [sp, #0x20]
         mov x19, x0
         mov x20, x1
         add x16, x20, #0x40
         ldr x17, [x19, #0x38]
         cmp x16, x17
         b.hi $+0x34
         ldr x17, [x19, #0x40]
         mov x16, sp
         cmp x16, x17
         b.lo $+0x24
         movi v31.2d, #0x0
         str q31, [x20, #0x10]
         str q31, [x20, #0x20]
         mov x16, #0x5
         str x16, [x20, #0x28]
         add w9, w9, #0x3
         mov w0, wzr
         b $+0x28
         mov w0, #0x5
         mov w4, #0x0
         b $+0x4
         mov w1, w0
         mov w2, #0xffffffff
         mov w3, #0x1
         ldr x16, [x19, #0x30]
         mov x0, x19
         blr x16
         ldp x19, x20, [sp, #0x10]
         ldr x22, [sp, #0x20]
         ldp x29, x30, [sp], #0x30
         ret";
    let expected: String = expected.lines().map(|l| format!("{}\n", l.trim())).collect();
    assert_eq!(code, expected, "\nactual:\n{code}");
}

#[test]
fn immediates_use_an_encoding_when_one_fits_and_materialize_otherwise() {
    check(
        |m| {
            // add/sub: 12 bits, shifted 12 bits, negated.
            m.int_op(IntOp::Add, Size::S64, Reg(9), Reg(10), RegImm::Imm(0x5000));
            m.int_op(IntOp::Sub, Size::S32, Reg(9), Reg(10), RegImm::Imm(-7));
            m.int_op(IntOp::Add, Size::S64, Reg(9), Reg(10), RegImm::Imm(0x1234_5678));
            // Logical: bitmask immediates, else a scratch register.
            m.int_op(IntOp::And, Size::S32, Reg(9), Reg(10), RegImm::Imm(0xff));
            m.int_op(IntOp::Xor, Size::S64, Reg(9), Reg(10), RegImm::Imm(0x1234));
            // Moves: movz, movn, orr, movz + movk.
            m.mov(Size::S64, Reg(9), RegImm::Imm(-2));
            m.mov(Size::S32, Reg(9), RegImm::Imm(0x00ff_00ff));
            m.mov(Size::S64, Reg(9), RegImm::Imm(0x1234_5678_9abc_def0));
            // An i32 constant arrives sign-extended; 32-bit operations use its low half.
            m.compare(Cond::LtU, Size::S32, Reg(9), Reg(9), RegImm::Imm(-5));
            m.compare(Cond::GtS, Size::S32, Reg(9), Reg(9), RegImm::Imm(i32::MIN as i64));
        },
        "add x9, x10, #0x5, lsl #12
         add w9, w10, #0x7
         mov x16, #0x5678
         movk x16, #0x1234, lsl #16
         add x9, x10, x16
         and w9, w10, #0xff
         mov x16, #0x1234
         eor x9, x10, x16
         mov x9, #0xfffffffffffffffe
         mov w9, #0xff00ff
         mov x9, #0xdef0
         movk x9, #0x9abc, lsl #16
         movk x9, #0x5678, lsl #32
         movk x9, #0x1234, lsl #48
         cmn w9, #0x5
         cset w9, lo
         mov w16, #0x80000000
         cmp w9, w16
         cset w9, gt",
    );
}

#[test]
fn shifts_and_rotates_take_the_count_modulo_the_width() {
    check(
        |m| {
            m.int_op(IntOp::Shl, Size::S32, Reg(9), Reg(10), RegImm::Imm(33));
            m.int_op(IntOp::Rotl, Size::S32, Reg(9), Reg(10), RegImm::Imm(3));
            m.int_op(IntOp::Rotl, Size::S64, Reg(9), Reg(10), RegImm::Reg(Reg(11)));
            m.int_op(IntOp::ShrS, Size::S64, Reg(9), Reg(10), RegImm::Reg(Reg(11)));
        },
        "lsl w9, w10, #0x1
         ror w9, w10, #0x1d
         neg x16, x11
         ror x9, x10, x16
         asr x9, x10, x11",
    );
}

#[test]
fn division_checks_zero_and_overflow_explicitly() {
    check(
        |m| {
            m.div(DivOp::DivS, Size::S32, Reg(9), Reg(9), RegImm::Reg(Reg(10)));
            m.div(DivOp::RemS, Size::S64, Reg(9), Reg(9), RegImm::Reg(Reg(10)));
        },
        "cbz w10, $+0x20
         cmn w10, #0x1
         ccmp w9, #0x1, #0x0, eq
         b.vs $+0x20
         sdiv w9, w9, w10
         cbz x10, $+0xc
         sdiv x16, x9, x10
         msub x9, x16, x10, x9
         mov w0, #0x2
         mov w4, #0x0
         b $+0x10
         mov w0, #0x3
         mov w4, #0x0
         b $+0x4",
    );
}

/// A constant divisor is a multiplication (`isa::const_div`): `% 1000` as Lemire's
/// multiply-high (`umulh`) and `msub`, `/ -7` as `smulh` with its shift and rounding towards zero.
#[test]
fn division_by_a_constant_multiplies() {
    check(
        |m| {
            m.div(DivOp::RemU, Size::S32, Reg(9), Reg(10), RegImm::Imm(1000));
            m.div(DivOp::DivS, Size::S64, Reg(9), Reg(10), RegImm::Imm(-7));
        },
        "mov x17, #0xa7f0
         movk x17, #0x4bc6, lsl #16
         movk x17, #0x8937, lsl #32
         movk x17, #0x41, lsl #48
         mov w16, w10
         umulh x16, x16, x17
         mov w17, #0x3e8
         msub w9, w16, w17, w10
         mov x17, #0xb6db
         movk x17, #0xdb6d, lsl #16
         movk x17, #0x6db6, lsl #32
         movk x17, #0xb6db, lsl #48
         smulh x16, x10, x17
         asr x16, x16, #0x1
         add x16, x16, x16, lsr #63
         mov x9, x16",
    );
}

/// The divisors without a multiplication keep the divide instruction and only the check they
/// can fail: 0 always traps, -1 checks for `MIN / -1`.
#[test]
fn division_by_zero_or_minus_one_checks_only_what_it_can_fail() {
    check(
        |m| {
            m.div(DivOp::RemU, Size::S32, Reg(9), Reg(10), RegImm::Imm(0));
            m.div(DivOp::RemS, Size::S64, Reg(9), Reg(10), RegImm::Imm(-1));
        },
        "mov w17, #0x0
         cbz w17, $+0x18
         udiv w16, w10, w17
         msub w9, w16, w17, w10
         mov x17, #0xffffffffffffffff
         sdiv x16, x10, x17
         msub x9, x16, x17, x10
         mov w0, #0x2
         mov w4, #0x0
         b $+0x4",
    );
}

#[test]
fn bit_counts_use_rbit_clz_and_the_vector_unit() {
    check(
        |m| {
            m.unary(UnaryOp::Ctz, Size::S32, Reg(9), Reg(9));
            m.unary(UnaryOp::Popcnt, Size::S64, Reg(9), Reg(10));
            m.unary(UnaryOp::Eqz, Size::S64, Reg(9), Reg(9));
            m.unary(UnaryOp::Extend32S, Size::S64, Reg(9), Reg(9));
        },
        "rbit w16, w9
         clz w9, w16
         fmov d31, x10
         cnt v31.8b, v31.8b
         addv b31, v31.8b
         fmov w9, s31
         cmp x9, #0x0
         cset w9, eq
         sxtw x9, w9",
    );
}

#[test]
fn heap_accesses_check_the_end_of_the_access_against_the_context() {
    check(
        |m| {
            m.load_heap(LoadKind::I64_16S, Reg(9), Some(Reg(10)), 8);
            m.store_heap(StoreKind::B8, Reg(9), Some(Reg(10)), 0x12345);
        },
        "mov w16, w10
         add x16, x16, #0xa
         ldr x17, [x19, #0x8]
         cmp x16, x17
         b.hi $+0x30
         add x16, x21, x16
         ldursh x9, [x16, #-0x2]
         mov w16, w10
         mov x17, #0x2346
         movk x17, #0x1, lsl #16
         add x16, x16, x17
         ldr x17, [x19, #0x8]
         cmp x16, x17
         b.hi $+0xc
         add x16, x21, x16
         sturb w9, [x16, #-0x1]
         mov w0, #0x4
         mov w4, #0x0
         b $+0x4",
    );
}

#[test]
fn slots_and_globals_address_through_pinned_registers() {
    use crate::isa::masm::GlobalCell::{Imported, Inline};
    // The instance's own globals are inline after the context: one load or one store away.
    let inline = crate::vm::vmctx::INLINE_GLOBALS + 3 * 16;
    check(
        |m| {
            m.load_slot(Size::S64, Reg(9), 32);
            m.load_slot(Size::S32, Reg(9), 1 << 20);
            m.store_slot_imm(Size::S64, -1, 48);
            m.store_slot_imm(Size::S32, 0, 48);
            m.copy_slot(16, 64);
            m.load_global(Size::S32, Reg(9), Imported(2));
            m.store_global(Size::S32, Reg(9), Imported(2));
            m.load_global(Size::S64, Reg(9), Inline(3));
            m.store_global(Size::S64, Reg(9), Inline(3));
        },
        &format!(
            "ldr x9, [x20, #0x20]
             mov x17, #0x100000
             add x17, x20, x17
             ldr w9, [x17]
             mov x16, #0xffffffffffffffff
             str x16, [x20, #0x30]
             str wzr, [x20, #0x30]
             ldr q31, [x20, #0x40]
             str q31, [x20, #0x10]
             ldr x16, [x19, #0x10]
             ldr x16, [x16, #0x10]
             ldr w9, [x16]
             ldr x16, [x19, #0x10]
             ldr x16, [x16, #0x10]
             str w9, [x16]
             ldr x9, [x19, #{inline:#x}]
             str x9, [x19, #{inline:#x}]"
        ),
    );
}

#[test]
fn calls_go_through_the_context_with_aapcs64_arguments() {
    check(
        |m| {
            m.call(crate::isa::masm::Callee::Defined { def: 3, func: 3 }, 96);
            m.call_indirect(1, 0, 0x10000);
            m.memory_size(Reg(9));
            m.memory_grow(Reg(9), Reg(9));
        },
        "add x1, x20, #0x60
         mov w2, #0x3
         ldr x16, [x19, #0x18]
         ldr x16, [x16, #0x18]
         mov x0, x19
         blr x16
         cbnz w0, $+0x3c
         add x1, x20, #0x10, lsl #12
         mov w2, #0x1
         mov w3, #0x0
         ldr x16, [x19, #0x20]
         mov x0, x19
         blr x16
         cbnz w0, $+0x40
         ldr x9, [x19, #0x8]
         lsr x9, x9, #0x10
         mov w1, w9
         ldr x16, [x19, #0x28]
         mov x0, x19
         blr x16
         mov w9, w0
         cmn w0, #0x3
         b.ne $+0x3c
         mov x0, x19
         add x1, x20, #0x60
         ldr x16, [x19, #0x98]
         blr x16
         cbz w0, $-0x50
         b $+0x24
         cmn w0, #0x3
         b.ne $+0x1c
         mov x0, x19
         add x1, x20, #0x10, lsl #12
         ldr x16, [x19, #0x98]
         blr x16
         cbz w0, $-0x54
         b $+0x4
         mov w4, #0x0
         b $+0x4",
    );
}

#[test]
fn branches_and_jump_tables() {
    check(
        |m| {
            let (a, b) = (m.new_label(), m.new_label());
            m.bind(a);
            m.branch(Cond::GeS, Size::S64, Reg(9), RegImm::Reg(Reg(10)), a);
            m.branch(Cond::Eq, Size::S32, Reg(9), RegImm::Imm(0), b);
            m.select(Size::S64, Reg(9), Reg(10), Reg(11));
            // yaxpeax-arm prints the `uxtw #2` index extension as `lsl #2`.
            m.jump_table(Reg(9), &[a, b, a]);
            m.bind(b);
        },
        "cmp x9, x10
         b.ge $-0x4
         cbz w9, $+0x28
         cmp w10, #0x0
         csel x9, x9, x11, ne
         cmp w9, #0x2
         b.hs $-0x18
         adr x16, $+0xc
         add x16, x16, w9, lsl #2
         br x16
         b $-0x28
         b $+0x4",
    );
}

#[test]
fn far_branches_invert_the_condition_around_an_unconditional_branch() {
    let code = disassemble(|m| {
        *m = Aarch64Masm::new(true);
        let target = m.new_label();
        m.bind(target);
        m.branch(Cond::LtS, Size::S32, Reg(9), RegImm::Imm(1), target);
        m.branch(Cond::Ne, Size::S32, Reg(9), RegImm::Imm(0), target);
    });
    let expected = "cmp w9, #0x1\nb.ge $+0x8\nb $-0x8\ncbz w9, $+0x8\nb $-0x10\n";
    assert_eq!(code.strip_suffix(EPILOGUE), Some(expected), "{code}");
}

#[test]
fn trapping_truncation_checks_nan_then_the_exact_bounds_and_saturating_is_one_instruction() {
    check(
        |m| {
            let trunc = |saturating| ConvertOp::Trunc {
                signed: true,
                saturating,
                int: Size::S32,
                float: Size::S32,
            };
            m.float_to_int(trunc(false), Reg(9), FReg(0));
            m.float_to_int(trunc(true), Reg(9), FReg(0));
        },
        "fcmp s0, s0
         b.vs $+0x3c
         mov w16, #0x1
         movk w16, #0xcf00, lsl #16
         fmov s30, w16
         fcmp s0, s30
         b.ls $+0x1c
         mov w16, #0x4f000000
         fmov s30, w16
         fcmp s0, s30
         b.ge $+0xc
         fcvtzs w9, s0
         fcvtzs w9, s0
         mov w0, #0x3
         mov w4, #0x0
         b $+0x10
         mov w0, #0x7
         mov w4, #0x0
         b $+0x4",
    );
}

#[test]
fn floats_use_the_a64_instructions_with_wasm_semantics() {
    check(
        |m| {
            m.float_op(FloatOp::Min, Size::S64, FReg(0), FReg(1), FReg(2));
            m.float_unary(FloatUnaryOp::Nearest, Size::S32, FReg(3), FReg(3));
            m.float_compare(FloatCmp::Lt, Size::S64, Reg(9), FReg(0), FReg(1));
            m.int_to_float(
                ConvertOp::Convert { signed: false, int: Size::S64, float: Size::S32 },
                FReg(4),
                Reg(9),
            );
        },
        "fmin d0, d1, d2
         frintn s3, s3
         fcmp d0, d1
         cset w9, mi
         ucvtf s4, x9",
    );
}

#[test]
fn with_guard_pages_constant_addresses_and_zero_offsets_need_no_address_arithmetic() {
    let mut m = Aarch64Masm::with_bounds(false, HeapBounds::GuardPages);
    m.load_heap(LoadKind::I32_16U, Reg(9), Some(Reg(10)), 0);
    m.load_heap_float(Size::S64, FReg(1), Some(Reg(10)), 0);
    m.load_heap(LoadKind::I64, Reg(9), None, 16);
    m.store_heap(StoreKind::B32, Reg(9), None, 1024);
    m.store_heap(StoreKind::B32, Reg(9), None, 6);
    let assembled = finish_body(m);
    let text = disassemble_bytes(&assembled.code);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[..7],
        [
            // yaxpeax-arm leaves out the `uxtw` of a 32-bit index.
            "ldrh w9, [x21, w10, uxtw]",
            "ldr d1, [x21, w10, uxtw]",
            "ldur x9, [x21, #0x10]",
            // Beyond `stur`'s 9 bits, an aligned displacement scales: one instruction.
            "str w9, [x21, #0x400]",
            "mov x16, #0xa",
            "ldr x17, [x19, #0x8]",
            "cmp x16, x17",
        ],
        "{text}"
    );
    assert_eq!(assembled.heap_accesses, [0, 4, 8, 12], "the aligned store is recorded");
}

#[test]
fn with_guard_pages_loads_are_unchecked_and_recorded_and_stores_stay_checked() {
    let mut m = Aarch64Masm::with_bounds(false, HeapBounds::GuardPages);
    m.load_heap(LoadKind::I32, Reg(9), Some(Reg(10)), 4);
    m.load_heap(LoadKind::I64, Reg(9), Some(Reg(10)), 4096);
    m.store_heap(StoreKind::B32, Reg(9), Some(Reg(10)), 4);
    let assembled = finish_body(m);
    let text = disassemble_bytes(&assembled.code);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[..7],
        [
            // yaxpeax-arm leaves out the `uxtw` of a 32-bit index.
            "add x16, x21, w10",
            "ldur w9, [x16, #0x4]",
            // An aligned offset beyond `ldur`'s reach scales in the `ldr` itself.
            "add x16, x21, w10",
            "ldr x9, [x16, #0x1000]",
            "mov w16, w10",
            "add x16, x16, #0x8",
            "ldr x17, [x19, #0x8]",
        ],
        "{text}"
    );
    assert_eq!(assembled.heap_accesses, [4, 12], "only the loads are recorded");
    assert!(
        lines[5..].iter().any(|l| l.starts_with("cmp x16, x17")),
        "the store is checked: {text}"
    );
    let landing = assembled.oob_landing.expect("a landing pad") as usize / 4;
    assert_eq!(lines[landing], "mov w0, #0x4", "the out-of-bounds stub: {text}");
}

#[test]
fn tail_calls_restore_the_entry_then_branch_to_the_callee() {
    let code = disassemble(|m| {
        m.tail_call(crate::isa::masm::Callee::Defined { def: 3, func: 5 });
        m.tail_call(crate::isa::masm::Callee::Import(1));
        m.tail_call_indirect(2, 7, 0, 48);
    });
    let expected = "mov w2, #0x5\n\
                    ldr x16, [x19, #0x18]\n\
                    ldr x16, [x16, #0x18]\n\
                    mov x0, x19\n\
                    mov x1, x20\n\
                    b $+0xc4\n\
                    mov w2, #0x1\n\
                    ldr x16, [x19, #0x88]\n\
                    mov x0, x19\n\
                    mov x1, x20\n\
                    b $+0xb0\n\
                    ldr w2, [x20, #0x30]\n\
                    ldr x17, [x19, #0x50]\n\
                    ldr x3, [x17, #0x8]\n\
                    cmp x2, x3\n\
                    b.hs $+0x48\n\
                    ldr x17, [x17]\n\
                    add x17, x17, x2, lsl #5\n\
                    ldr w3, [x17]\n\
                    mov w4, #0x7\n\
                    movk w4, #0x0, lsl #16\n\
                    cmp w3, w4\n\
                    b.ne $+0x2c\n\
                    ldr x3, [x17, #0x10]\n\
                    cmp x3, x19\n\
                    b.ne $+0x20\n\
                    ldr w2, [x17, #0x4]\n\
                    ldr x3, [x17, #0x8]\n\
                    ldr x3, [x3]\n\
                    mov x16, x3\n\
                    mov x0, x19\n\
                    mov x1, x20\n\
                    b $+0x58\n\
                    mov x0, x19\n\
                    mov x1, x20\n\
                    mov w2, #0x2\n\
                    mov w3, #0x0\n\
                    ldr w4, [x20, #0x30]\n\
                    ldr x16, [x19, #0x90]\n\
                    blr x16\n\
                    cmn w0, #0x3\n\
                    b.ne $+0x8\n\
                    b $+0x24\n\
                    mov w4, #0x0\n\
                    b $+0x4\n\
                    mov w1, w0\n\
                    mov w2, #0xffffffff\n\
                    mov w3, #0x1\n\
                    ldr x16, [x19, #0x30]\n\
                    mov x0, x19\n\
                    blr x16\n\
                    ldp x19, x20, [sp, #0x10]\n\
                    ldp x29, x30, [sp], #0x20\n\
                    ret\n\
                    ldp x19, x20, [sp, #0x10]\n\
                    ldp x29, x30, [sp], #0x20\n\
                    br x16\n";
    assert_eq!(code, expected, "\n{code}");
}
