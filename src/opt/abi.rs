//! Tier 2's own calling convention, between tier-2 functions: arguments and the first result in
//! registers.
//!
//! Every entry of every tier takes its arguments in the callee's frame slots and leaves its
//! results there (`vm::vmctx::FuncEntry`), so a caller never knows its callee's tier. Between two
//! tier-2 functions that costs a store and a reload per argument and result, and a dependency
//! through memory on every call. So tier-2 code compiled for calls has a second entry, its
//! register entry, where the first integer and float arguments arrive in the ISA's argument
//! registers (`MacroAssembler::argument_registers`, the caller-saved ones) and the first result
//! leaves in the first of them; the rest stay in their slots, as in the slot convention.
//! In front of it, at offset 0, an adapter keeps the slot convention for everyone else.
//!
//! The module's register-entry table (`VmCtx::register_entries`) holds the register entry of
//! each function whose tier-2 code is installed, 0 otherwise. A tier-2 call of a defined
//! function reads it: with an entry, the call goes there; without one (not in tier 2 yet,
//! refused, or held by a debugger), the call stores its register arguments to their slots and
//! takes the function table, as every other call does. Both sides derive the convention from
//! the callee's signature alone ([`RegisterAbi::new`]), so they always agree. Where the callee's
//! code is placed in the caller's mapping (tier 2's up-front batch, or a function calling
//! itself) or installed already when the caller's is placed, the lookup is replaced by a direct
//! call of that register entry (`isa::masm::DirectCallSite`,
//! `code::CompiledFunc::new_linked_batch`).
//!
//! This module decides where values go; it never emits code.

use super::vcode::MTy;
use crate::isa::masm::{ArgLoc, FReg, Reg};
use regalloc2::{PReg, RegClass};

/// Where the register convention puts a signature's parameters and first result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegisterAbi {
    /// Per parameter: its register, or its slot once the registers of its class ran out.
    pub params: Vec<ArgLoc>,
    /// The first result's register ([`ArgLoc::Slot`] for a function without results); the
    /// other results are in their slots.
    pub result: ArgLoc,
}

impl RegisterAbi {
    /// The convention for a signature with `params` and first result `first_result`, given the
    /// ISA's argument registers `(integer, float)`; `None` when the ISA has none (its tier-2
    /// calls all use the slot convention).
    pub fn new(
        params: impl IntoIterator<Item = MTy>,
        first_result: Option<MTy>,
        (int, float): (&[Reg], &[FReg]),
    ) -> Option<RegisterAbi> {
        if int.is_empty() || float.is_empty() {
            return None;
        }
        let (mut ints, mut floats) = (int.iter(), float.iter());
        let params = params
            .into_iter()
            .map(|ty| match ty.is_float() {
                true => floats.next().map_or(ArgLoc::Slot, |&r| ArgLoc::Float(r, ty.size())),
                false => ints.next().map_or(ArgLoc::Slot, |&r| ArgLoc::Int(r, ty.size())),
            })
            .collect();
        let result = match first_result {
            Some(ty) if ty.is_float() => ArgLoc::Float(float[0], ty.size()),
            Some(ty) => ArgLoc::Int(int[0], ty.size()),
            None => ArgLoc::Slot,
        };
        Some(RegisterAbi { params, result })
    }
}

/// The allocator's name of `loc`'s register (`None` for a slot).
pub fn preg(loc: ArgLoc) -> Option<PReg> {
    match loc {
        ArgLoc::Int(r, _) => Some(PReg::new(r.0 as usize, RegClass::Int)),
        ArgLoc::Float(r, _) => Some(PReg::new(r.0 as usize, RegClass::Float)),
        ArgLoc::Slot => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::isa::masm::Size;

    const INT: [Reg; 2] = [Reg(8), Reg(9)];
    const FLOAT: [FReg; 1] = [FReg(2)];

    #[test]
    fn each_class_takes_its_registers_in_order_then_slots() {
        let params = [MTy::I32, MTy::F64, MTy::I64, MTy::F32, MTy::I32];
        let abi = RegisterAbi::new(params, Some(MTy::F32), (&INT, &FLOAT)).unwrap();
        assert_eq!(
            abi.params,
            [
                ArgLoc::Int(Reg(8), Size::S32),
                ArgLoc::Float(FReg(2), Size::S64),
                ArgLoc::Int(Reg(9), Size::S64),
                ArgLoc::Slot,
                ArgLoc::Slot,
            ]
        );
        assert_eq!(abi.result, ArgLoc::Float(FReg(2), Size::S32));
    }

    #[test]
    fn no_argument_registers_means_no_register_convention() {
        assert_eq!(RegisterAbi::new([MTy::I32], None, (&[], &[])), None);
        let abi = RegisterAbi::new([], None, (&INT, &FLOAT)).unwrap();
        assert_eq!(abi.result, ArgLoc::Slot);
    }
}
