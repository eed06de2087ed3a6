//! The code generator's register state of cached locals, packed small: which locals' values are
//! also in which registers (see `codegen`'s `CodeGen::cache`), and the states of the labels of
//! the open blocks.
//!
//! Each entry is one `u32` (the local's index above the register's number), held in a
//! fixed-size array: no heap, no spilled-or-inline check on every access. Label states live in
//! one stack-shaped arena ([`LabelStates`]), since blocks close in the reverse order they open:
//! saving a label's state copies only its entries, and a control refers to it by position
//! instead of carrying a copy of the whole state around. This module only stores; it must never
//! decide what is cached (the code generator does), nor reorder entries behind its back: the
//! order of the entries decides the order of emitted moves and of the registers given back.

use crate::isa::masm::{FReg, Reg};
use std::marker::PhantomData;

/// Local indices an entry can hold: validation admits far fewer locals (50,000).
pub(super) const LOCAL_LIMIT: usize = 1 << 24;

/// The most integer registers any ISA lets the code generator allocate (aarch64 has 14).
pub(super) const MOST_INT_REGS: usize = 16;

/// The most float registers any ISA lets the code generator allocate (aarch64 has 22).
pub(super) const MOST_FLOAT_REGS: usize = 24;

/// A register class's register, by its hardware number.
pub(super) trait CacheReg: Copy {
    fn number(self) -> u8;
    fn from_number(number: u8) -> Self;
}

impl CacheReg for Reg {
    fn number(self) -> u8 {
        self.0
    }
    fn from_number(number: u8) -> Self {
        Reg(number)
    }
}

impl CacheReg for FReg {
    fn number(self) -> u8 {
        self.0
    }
    fn from_number(number: u8) -> Self {
        FReg(number)
    }
}

fn pack<R: CacheReg>(local: u32, r: R) -> u32 {
    debug_assert!((local as usize) < LOCAL_LIMIT, "local {local} too large to pack");
    local << 8 | r.number() as u32
}

/// The local and register of a packed entry.
pub(super) fn unpack<R: CacheReg>(entry: u32) -> (u32, R) {
    (entry >> 8, R::from_number(entry as u8))
}

/// The register number of a packed entry.
pub(super) fn entry_reg_number(entry: u32) -> u8 {
    entry as u8
}

/// Cached locals of one register class, in order: at most `N` (one per register, so `N`
/// covers every allocatable register of the class; `compile` checks that).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Entries<R, const N: usize> {
    len: u8,
    items: [u32; N],
    reg: PhantomData<R>,
}

impl<R: CacheReg, const N: usize> Default for Entries<R, N> {
    fn default() -> Self {
        Entries { len: 0, items: [0; N], reg: PhantomData }
    }
}

impl<R: CacheReg, const N: usize> Entries<R, N> {
    pub(super) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The packed entries.
    pub(super) fn packed(&self) -> &[u32] {
        &self.items[..self.len as usize]
    }

    /// (local, register) pairs in order.
    pub(super) fn iter(&self) -> impl Iterator<Item = (u32, R)> + '_ {
        self.packed().iter().map(|&e| unpack(e))
    }

    pub(super) fn push(&mut self, local: u32, r: R) {
        self.items[self.len as usize] = pack(local, r);
        self.len += 1;
    }

    /// The register of the first entry, removed keeping the others' order.
    pub(super) fn remove_first(&mut self) -> Option<R> {
        let first = *self.packed().first()?;
        self.items.copy_within(1..self.len as usize, 0);
        self.len -= 1;
        Some(unpack::<R>(first).1)
    }

    /// The register caching `local`.
    pub(super) fn find(&self, local: u32) -> Option<R> {
        self.packed().iter().find(|&&e| e >> 8 == local).map(|&e| unpack(e).1)
    }

    /// The register caching `local`, removed; the last entry takes its place.
    pub(super) fn swap_take(&mut self, local: u32) -> Option<R> {
        let i = self.packed().iter().position(|&e| e >> 8 == local)?;
        let entry = self.items[i];
        self.len -= 1;
        self.items[i] = self.items[self.len as usize];
        Some(unpack::<R>(entry).1)
    }

    /// Removes `local`'s entry, keeping the others' order.
    pub(super) fn remove(&mut self, local: u32) {
        // Mostly the last one (the only one lent, or the last lent).
        let len = self.len as usize;
        if len > 0 && self.items[len - 1] >> 8 == local {
            self.len -= 1;
            return;
        }
        if let Some(i) = self.packed().iter().position(|&e| e >> 8 == local) {
            self.items.copy_within(i + 1..self.len as usize, i);
            self.len -= 1;
        }
    }

    pub(super) fn clear(&mut self) {
        self.len = 0;
    }

    /// Becomes `packed`'s entries.
    fn set(&mut self, packed: &[u32]) {
        self.items[..packed.len()].copy_from_slice(packed);
        self.len = packed.len() as u8;
    }
}

/// Locals whose current value is also in a register: see `codegen`'s `CodeGen::cache`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Cache {
    pub(super) ints: Entries<Reg, MOST_INT_REGS>,
    pub(super) floats: Entries<FReg, MOST_FLOAT_REGS>,
}

impl Cache {
    pub(super) fn is_empty(&self) -> bool {
        self.ints.is_empty() && self.floats.is_empty()
    }

    pub(super) fn clear(&mut self) {
        self.ints.clear();
        self.floats.clear();
    }

    pub(super) fn view(&self) -> CacheView<'_> {
        CacheView { ints: self.ints.packed(), floats: self.floats.packed() }
    }

    /// Becomes the state `view` shows.
    pub(super) fn set(&mut self, view: CacheView<'_>) {
        self.ints.set(view.ints);
        self.floats.set(view.floats);
    }
}

/// A register state to read: the current one ([`Cache::view`]) or a label's
/// ([`LabelStates::view`]). Entries are packed as in [`Entries`].
#[derive(Clone, Copy, Debug)]
pub(super) struct CacheView<'a> {
    pub(super) ints: &'a [u32],
    pub(super) floats: &'a [u32],
}

impl CacheView<'_> {
    pub(super) const EMPTY: CacheView<'static> = CacheView { ints: &[], floats: &[] };

    /// Whether every entry of `target` holds here too.
    #[inline]
    pub(super) fn covers(self, target: CacheView<'_>) -> bool {
        fn covers(here: &[u32], there: &[u32]) -> bool {
            for entry in there {
                if !here.contains(entry) {
                    return false;
                }
            }
            true
        }
        covers(self.ints, target.ints) && covers(self.floats, target.floats)
    }

    /// The register caching integer local `local` in this state.
    pub(super) fn int_of(self, local: u32) -> Option<Reg> {
        self.ints.iter().find(|&&e| e >> 8 == local).map(|&e| unpack(e).1)
    }

    /// The register caching float local `local` in this state.
    pub(super) fn float_of(self, local: u32) -> Option<FReg> {
        self.floats.iter().find(|&&e| e >> 8 == local).map(|&e| unpack(e).1)
    }
}

/// Where a label's register state sits in [`LabelStates`].
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct LabelState {
    start: u32,
    ints: u8,
    floats: u8,
}

impl LabelState {
    /// The state with nothing cached.
    pub(super) const EMPTY: LabelState = LabelState { start: 0, ints: 0, floats: 0 };
}

/// The register states of the open blocks' labels, one after the other in the order the
/// blocks opened (each state's integer entries, then its float ones).
#[derive(Default)]
pub(super) struct LabelStates {
    entries: Vec<u32>,
}

impl LabelStates {
    /// Empties the arena, keeping its buffer.
    pub(super) fn clear(&mut self) {
        self.entries.clear();
    }

    /// Saves `cache` as the state of a label about to open.
    pub(super) fn save(&mut self, cache: &Cache) -> LabelState {
        let start = self.entries.len() as u32;
        if cache.is_empty() {
            return LabelState { start, ints: 0, floats: 0 };
        }
        self.entries.extend_from_slice(cache.ints.packed());
        self.entries.extend_from_slice(cache.floats.packed());
        LabelState { start, ints: cache.ints.len, floats: cache.floats.len }
    }

    pub(super) fn view(&self, state: LabelState) -> CacheView<'_> {
        let start = state.start as usize;
        let mid = start + state.ints as usize;
        let end = mid + state.floats as usize;
        CacheView { ints: &self.entries[start..mid], floats: &self.entries[mid..end] }
    }

    /// Forgets `state` and every state saved after it: its block has closed.
    pub(super) fn release(&mut self, state: LabelState) {
        self.entries.truncate(state.start as usize);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_keep_the_order_a_vector_would() {
        let mut e = Entries::<Reg, 4>::default();
        e.push(7, Reg(8));
        e.push(70_000, Reg(9));
        e.push(3, Reg(10));
        assert_eq!(e.find(70_000), Some(Reg(9)));
        assert_eq!(e.remove_first(), Some(Reg(8)));
        assert_eq!(e.iter().collect::<Vec<_>>(), [(70_000, Reg(9)), (3, Reg(10))]);
        e.push(5, Reg(11));
        // Swap removal: the last entry moves into the hole.
        assert_eq!(e.swap_take(70_000), Some(Reg(9)));
        assert_eq!(e.iter().collect::<Vec<_>>(), [(5, Reg(11)), (3, Reg(10))]);
        e.push(6, Reg(12));
        e.remove(3);
        assert_eq!(e.iter().collect::<Vec<_>>(), [(5, Reg(11)), (6, Reg(12))]);
        assert_eq!(e.swap_take(3), None);
        assert_eq!(e.find(3), None);
    }

    #[test]
    fn label_states_nest_and_release() {
        let mut states = LabelStates::default();
        let mut cache = Cache::default();
        cache.ints.push(1, Reg(8));
        cache.floats.push(2, FReg(3));
        let outer = states.save(&cache);
        cache.ints.push(4, Reg(9));
        let inner = states.save(&cache);
        assert_eq!(states.view(inner).int_of(4), Some(Reg(9)));
        assert_eq!(states.view(inner).float_of(2), Some(FReg(3)));
        assert!(states.view(inner).covers(states.view(outer)));
        assert!(!states.view(outer).covers(states.view(inner)));
        states.release(inner);
        assert_eq!(states.view(outer).ints, [pack(1, Reg(8))]);
        let mut back = Cache::default();
        back.set(states.view(outer));
        assert_eq!(back.floats.iter().collect::<Vec<_>>(), [(2, FReg(3))]);
        assert!(states.view(LabelState::EMPTY).ints.is_empty());
    }
}
