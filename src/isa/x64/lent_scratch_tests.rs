//! The lent-scratch contract of the x86-64 assembler (`MacroAssembler::lent_scratch`), checked
//! on the machine code of every operation it names: tier 2's allocator keeps values in `rcx` and
//! `rdx` between operations and puts operands there, so an operation that keeps them must never
//! write one (but its own result's), and one that borrows them must read its operands first.
//! Each operation is assembled with its operands and result in the lent registers and beside
//! them, and its inline code (the body, before the out-of-line stubs) decoded for what each
//! instruction reads and writes.

use super::*;
use iced_x86::{Decoder, DecoderOptions, InstructionInfoFactory, Mnemonic, OpAccess, Register};

const RCX: Reg = Reg(1);
const RDX: Reg = Reg(2);
const R8: Reg = Reg(8);
const RBX: Reg = Reg(3);

/// The registers operands and results are drawn from: both lent ones and two others.
const POOL: [Reg; 4] = [RCX, RDX, R8, RBX];

/// Whether an operation may write the lent registers (after reading its operands) or never does.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Keeps,
    Borrows,
}

fn full(r: Reg) -> Register {
    match r.0 {
        1 => Register::RCX,
        2 => Register::RDX,
        3 => Register::RBX,
        8 => Register::R8,
        other => unreachable!("register {other} is not in the pool"),
    }
}

/// Assembles `emit` with `bounds` and `features` and checks its body against `kind`, given the
/// integer registers it reads (`operands`) and the one it defines (`result`): an operation that
/// keeps the lent registers writes none but its result's; one that borrows them reads each
/// operand before it first writes that operand's register, and never divides by `rdx` (which a
/// division overwrites first: the divisor must have been moved out).
fn check(
    what: &str,
    kind: Kind,
    operands: &[Reg],
    result: Option<Reg>,
    setup: (HeapBounds, X64Features),
    emit: impl FnOnce(&mut X64Masm),
) {
    let mut masm = X64Masm::with_features(setup.0, setup.1);
    masm.set_tier(Tier::Optimized);
    emit(&mut masm);
    masm.registers_used(&[]);
    let assembled = masm.finish().unwrap();
    let start = assembled.entry_bytes as usize;
    let end = assembled.code_map.out_of_line.iter().map(|&(at, _)| at as usize).min().unwrap();
    let lent = [Register::RCX, Register::RDX];
    let operands: Vec<Register> = operands.iter().map(|&r| full(r)).collect();
    let result = result.map(full);
    let mut read: Vec<Register> = Vec::new();
    let mut factory = InstructionInfoFactory::new();
    let body = &assembled.code[start..end];
    for instruction in Decoder::with_ip(64, body, 0, DecoderOptions::NONE) {
        if matches!(instruction.mnemonic(), Mnemonic::Div | Mnemonic::Idiv) {
            let divisor = instruction.op0_register().full_register();
            assert_ne!(divisor, Register::RDX, "{what}: divides by rdx, at {instruction}");
        }
        let info = factory.info(&instruction);
        let used: Vec<(Register, OpAccess)> = info
            .used_registers()
            .iter()
            .map(|u| (u.register().full_register(), u.access()))
            .filter(|(r, _)| lent.contains(r))
            .collect();
        for &(register, access) in &used {
            let reads = matches!(
                access,
                OpAccess::Read | OpAccess::CondRead | OpAccess::ReadWrite | OpAccess::ReadCondWrite
            );
            if reads {
                read.push(register);
            }
        }
        for &(register, access) in &used {
            let writes = matches!(
                access,
                OpAccess::Write
                    | OpAccess::CondWrite
                    | OpAccess::ReadWrite
                    | OpAccess::ReadCondWrite
            );
            if !writes {
                continue;
            }
            assert!(
                kind == Kind::Borrows || result == Some(register),
                "{what}: writes {register:?}, at {instruction}"
            );
            // A conditional write (`cmov`) keeps the old value when it does not write.
            let destroys = access != OpAccess::CondWrite;
            assert!(
                !destroys || !operands.contains(&register) || read.contains(&register),
                "{what}: overwrites operand {register:?} before reading it, at {instruction}"
            );
        }
    }
}

/// Every (result, lhs, rhs) triple from the pool.
fn triples() -> impl Iterator<Item = (Reg, Reg, Reg)> {
    POOL.into_iter()
        .flat_map(|d| POOL.into_iter().flat_map(move |l| POOL.into_iter().map(move |r| (d, l, r))))
}

fn feature_sets() -> [X64Features; 2] {
    let all = X64Features { popcnt: true, sse41: true, bmi2: true };
    [all, X64Features { bmi2: false, ..all }]
}

fn guard_pages(features: X64Features) -> (HeapBounds, X64Features) {
    (HeapBounds::GuardPages, features)
}

const SIZES: [Size; 2] = [Size::S32, Size::S64];
const INT_OPS: [IntOp; 11] = [
    IntOp::Add,
    IntOp::Sub,
    IntOp::Mul,
    IntOp::And,
    IntOp::Or,
    IntOp::Xor,
    IntOp::Shl,
    IntOp::ShrS,
    IntOp::ShrU,
    IntOp::Rotl,
    IntOp::Rotr,
];

#[test]
fn integer_operations_keep_the_lent_registers_but_shifts_by_a_register() {
    for features in feature_sets() {
        for (d, l, r) in triples() {
            for size in SIZES {
                let setup = guard_pages(features);
                for op in INT_OPS {
                    let shift = !matches!(
                        op,
                        IntOp::Add | IntOp::Sub | IntOp::Mul | IntOp::And | IntOp::Or | IntOp::Xor
                    );
                    let kind = if shift { Kind::Borrows } else { Kind::Keeps };
                    let what = format!("{op:?} {size:?} {d:?} = {l:?}, {r:?}");
                    // `x - x` and `x ^ x` do not depend on `x` (the decoder sees a zeroing idiom
                    // that reads nothing).
                    let constant = l == r && matches!(op, IntOp::Sub | IntOp::Xor);
                    let operands = if constant { vec![] } else { vec![l, r] };
                    check(&what, kind, &operands, Some(d), setup, |m| {
                        m.int_op(op, size, d, l, RegImm::Reg(r))
                    });
                    let what = format!("{op:?} {size:?} {d:?} = {l:?}, 1000");
                    check(&what, Kind::Keeps, &[l], Some(d), setup, |m| {
                        m.int_op(op, size, d, l, RegImm::Imm(1000))
                    });
                }
                for index in [None, Some((r, 0)), Some((r, 3))] {
                    for disp in [0, -8, 1 << 20] {
                        let what =
                            format!("add_scaled {size:?} {d:?} = {l:?} + {index:?} + {disp}");
                        let operands: Vec<Reg> =
                            [l].into_iter().chain(index.map(|i| i.0)).collect();
                        check(&what, Kind::Keeps, &operands, Some(d), setup, |m| {
                            m.add_scaled(size, d, l, index, disp)
                        });
                    }
                }
                for rhs in [RegImm::Reg(r), RegImm::Imm(-7)] {
                    let read = if rhs == RegImm::Reg(r) { vec![l, r] } else { vec![l] };
                    for cond in [Cond::Eq, Cond::LtU, Cond::GeS] {
                        let what = format!("compare {cond:?} {size:?} {d:?} = {l:?}, {rhs:?}");
                        check(&what, Kind::Keeps, &read, Some(d), setup, |m| {
                            m.compare(cond, size, d, l, rhs)
                        });
                        let cmp = Comparison { cond, size, lhs: l, rhs };
                        let what = format!("select_compare {size:?} {d:?} {cmp:?}");
                        check(&what, Kind::Keeps, &[l, r, d], Some(d), setup, |m| {
                            m.select_compare(size, d, cmp, r)
                        });
                        let what = format!("branch {cond:?} {size:?} {l:?}, {rhs:?}");
                        check(&what, Kind::Keeps, &read, None, setup, |m| {
                            let label = m.new_label();
                            m.branch(cond, size, l, rhs, label);
                            m.bind(label);
                        });
                    }
                }
                check("select", Kind::Keeps, &[l, r, d], Some(d), setup, |m| {
                    m.select(size, d, l, r)
                });
                check("branch_test", Kind::Keeps, &[l], None, setup, |m| {
                    let label = m.new_label();
                    m.branch_test(size, l, 0x40, true, label);
                    m.bind(label);
                });
                check("mov", Kind::Keeps, &[l], Some(d), setup, |m| m.mov(size, d, RegImm::Reg(l)));
                check("mov imm", Kind::Keeps, &[], Some(d), setup, |m| {
                    m.mov(size, d, RegImm::Imm(-1))
                });
                check("load_slot", Kind::Keeps, &[], Some(d), setup, |m| m.load_slot(size, d, 32));
                check("store_slot", Kind::Keeps, &[l], None, setup, |m| m.store_slot(size, l, 32));
                for global in [GlobalCell::Inline(2), GlobalCell::Imported(1)] {
                    check("load_global", Kind::Keeps, &[], Some(d), setup, |m| {
                        m.load_global(size, d, global)
                    });
                    check("store_global", Kind::Keeps, &[l], None, setup, |m| {
                        m.store_global(size, l, global)
                    });
                }
            }
        }
    }
}

#[test]
fn unary_operations_keep_the_lent_registers_but_bit_counts() {
    let ops = [
        UnaryOp::Clz,
        UnaryOp::Ctz,
        UnaryOp::Popcnt,
        UnaryOp::Eqz,
        UnaryOp::Extend8S,
        UnaryOp::Extend16S,
        UnaryOp::Extend32S,
        UnaryOp::Extend32U,
    ];
    for (d, s, _) in triples() {
        for size in SIZES {
            for op in ops {
                let kind = match op {
                    UnaryOp::Clz | UnaryOp::Ctz => Kind::Borrows,
                    _ => Kind::Keeps,
                };
                let setup = guard_pages(X64Features::host());
                check(&format!("{op:?} {size:?} {d:?} = {s:?}"), kind, &[s], Some(d), setup, |m| {
                    m.unary(op, size, d, s)
                });
            }
        }
    }
}

#[test]
fn bulk_memory_calls_read_their_operands_before_writing_the_argument_registers() {
    // The helper takes its arguments in esi, edx and ecx: every assignment of the operands to
    // the lent registers (and beside them) must reach the helper intact.
    for (d, s, n) in triples() {
        for op in [BulkMemory::Copy, BulkMemory::Fill] {
            let what = format!("{op:?} {d:?}, {s:?}, {n:?}");
            let setup = guard_pages(X64Features::host());
            check(&what, Kind::Borrows, &[d, s, n], None, setup, |m| m.bulk_memory(op, [d, s, n]));
        }
    }
}

#[test]
fn divisions_read_their_operands_before_borrowing_the_lent_registers() {
    let ops = [DivOp::DivS, DivOp::DivU, DivOp::RemS, DivOp::RemU];
    // The division's result is never in a lent register: they are clobbered.
    for (_, l, r) in triples() {
        for size in SIZES {
            for op in ops {
                for rhs in [RegImm::Reg(r), RegImm::Imm(7), RegImm::Imm(-1), RegImm::Imm(0)] {
                    let what = format!("{op:?} {size:?} {l:?}, {rhs:?}");
                    let setup = guard_pages(X64Features::host());
                    let operands = if rhs == RegImm::Reg(r) { vec![l, r] } else { vec![l] };
                    check(&what, Kind::Borrows, &operands, None, setup, |m| {
                        m.div(op, size, RBX, l, rhs)
                    });
                }
            }
        }
    }
}

#[test]
fn float_operations_keep_the_lent_registers_but_copysign_compares_and_u64_conversions() {
    let (a, b) = (FReg(2), FReg(3));
    let setup = guard_pages(X64Features::host());
    let float_ops = [
        FloatOp::Add,
        FloatOp::Sub,
        FloatOp::Mul,
        FloatOp::Div,
        FloatOp::Min,
        FloatOp::Max,
        FloatOp::Copysign,
    ];
    for size in SIZES {
        for op in float_ops {
            let kind = if op == FloatOp::Copysign { Kind::Borrows } else { Kind::Keeps };
            check(&format!("{op:?}"), kind, &[], None, setup, |m| m.float_op(op, size, a, a, b));
        }
        let unary = [
            FloatUnaryOp::Abs,
            FloatUnaryOp::Neg,
            FloatUnaryOp::Sqrt,
            FloatUnaryOp::Ceil,
            FloatUnaryOp::Floor,
            FloatUnaryOp::Trunc,
            FloatUnaryOp::Nearest,
        ];
        for op in unary {
            check(&format!("{op:?}"), Kind::Keeps, &[], None, setup, |m| {
                m.float_unary(op, size, a, b)
            });
        }
        check("load_float_const", Kind::Keeps, &[], None, setup, |m| {
            m.load_float_const(size, a, 0x4000_0000)
        });
        // No integer operand: once per comparison, not per register triple.
        for cmp in [FloatCmp::Eq, FloatCmp::Ne, FloatCmp::Lt, FloatCmp::Ge] {
            check("float_compare", Kind::Borrows, &[], None, setup, |m| {
                m.float_compare(cmp, size, RBX, a, b)
            });
            check("branch_float", Kind::Keeps, &[], None, setup, |m| {
                let label = m.new_label();
                m.branch_float(cmp, size, a, b, label);
                m.bind(label);
            });
        }
        for (d, l, _) in triples() {
            check("select_float", Kind::Keeps, &[l], None, setup, |m| {
                m.select_float(size, a, l, b)
            });
            let cmp = Comparison { cond: Cond::LtS, size, lhs: l, rhs: RegImm::Reg(d) };
            check("select_float_compare", Kind::Keeps, &[l, d], None, setup, |m| {
                m.select_float_compare(size, a, cmp, b)
            });
            for int in SIZES {
                for signed in [false, true] {
                    for saturating in [false, true] {
                        let op = ConvertOp::Trunc { signed, saturating, int, float: size };
                        check(&format!("{op:?}"), Kind::Keeps, &[], Some(d), setup, |m| {
                            m.float_to_int(op, d, a)
                        });
                    }
                    let op = ConvertOp::Convert { signed, int, float: size };
                    let kind =
                        if !signed && int == Size::S64 { Kind::Borrows } else { Kind::Keeps };
                    check(&format!("{op:?}"), kind, &[l], None, setup, |m| {
                        m.int_to_float(op, a, l)
                    });
                }
            }
            let op = ConvertOp::Reinterpret { to_float: false, size };
            check("reinterpret", Kind::Keeps, &[], Some(d), setup, |m| m.float_to_int(op, d, a));
            let op = ConvertOp::Reinterpret { to_float: true, size };
            check("reinterpret", Kind::Keeps, &[l], None, setup, |m| m.int_to_float(op, a, l));
        }
        let op = ConvertOp::Resize { to: size };
        check("resize", Kind::Keeps, &[], None, setup, |m| m.float_to_float(op, a, b));
    }
}

#[test]
fn heap_accesses_keep_the_lent_registers_with_guard_pages_and_offsets_below_2_gib() {
    let loads = [LoadKind::I32, LoadKind::I64, LoadKind::I32_8U, LoadKind::I64_16S];
    let stores = [StoreKind::B8, StoreKind::B16, StoreKind::B32, StoreKind::B64];
    for (d, addr, _) in triples() {
        for bounds in [HeapBounds::GuardPages, HeapBounds::Explicit] {
            for offset in [0, 16, 0x8000_0000] {
                let kind = match bounds == HeapBounds::GuardPages && offset < 0x8000_0000 {
                    true => Kind::Keeps,
                    false => Kind::Borrows,
                };
                let setup = (bounds, X64Features::host());
                for a in [Some(addr), None] {
                    let what = format!("{bounds:?} +{offset} at {a:?}");
                    for load in loads {
                        let operands: Vec<Reg> = a.into_iter().collect();
                        check(&what, kind, &operands, Some(d), setup, |m| {
                            m.load_heap(load, d, a, offset)
                        });
                    }
                    // The stored value is read last, after any borrowing: it is never in a lent
                    // register then (a late use), so only the address is an operand here.
                    for store in stores {
                        let value = if kind == Kind::Keeps { d } else { RBX };
                        let operands: Vec<Reg> = a.into_iter().chain([value]).collect();
                        check(&what, kind, &operands, None, setup, |m| {
                            m.store_heap(store, value, a, offset)
                        });
                    }
                    let operands: Vec<Reg> = a.into_iter().collect();
                    check(&what, kind, &operands, None, setup, |m| {
                        m.load_heap_float(Size::S64, FReg(2), a, offset)
                    });
                    check(&what, kind, &operands, None, setup, |m| {
                        m.store_heap_float(Size::S32, FReg(2), a, offset)
                    });
                }
            }
        }
    }
}

#[test]
fn jump_tables_keep_the_lent_registers() {
    for index in POOL {
        for cases in [2, 5] {
            let setup = guard_pages(X64Features::host());
            check(
                &format!("{cases} cases in {index:?}"),
                Kind::Keeps,
                &[index],
                None,
                setup,
                |m| {
                    let targets: Vec<DynamicLabel> = (0..=cases).map(|_| m.new_label()).collect();
                    m.jump_table(index, &targets);
                    targets.iter().for_each(|&t| m.bind(t));
                },
            );
        }
    }
}

#[test]
fn a_register_call_indirect_keeps_its_index_for_the_slow_path() {
    // The helper path stores the index to its slot after the dispatch checks, which write `rcx`
    // (`rdx` when the index is in `rcx`): up to the switch to the callee's frame (`rsi`
    // written), where the checks end, the index's register must not be written.
    for index in POOL {
        let mut masm = X64Masm::new(HeapBounds::GuardPages);
        masm.set_tier(Tier::Optimized);
        masm.call_indirect_by_registers(0, 7, 0, 64, index, &[], ArgLoc::Slot);
        masm.registers_used(&[]);
        let assembled = masm.finish().unwrap();
        let body = &assembled.code[assembled.entry_bytes as usize..];
        let mut factory = InstructionInfoFactory::new();
        let mut checked = 0;
        for instruction in Decoder::with_ip(64, body, 0, DecoderOptions::NONE) {
            let info = factory.info(&instruction);
            let frame_switch = info
                .used_registers()
                .iter()
                .any(|u| u.register() == Register::RSI && matches!(u.access(), OpAccess::Write));
            if frame_switch {
                break;
            }
            checked += 1;
            for u in info.used_registers() {
                let writes = matches!(u.access(), OpAccess::Write | OpAccess::ReadWrite);
                assert!(
                    !(writes && u.register().full_register() == full(index)),
                    "the index in {index:?} is overwritten, at {instruction}"
                );
            }
        }
        assert!(checked >= 8, "the dispatch checks come before the frame switch");
    }
}
