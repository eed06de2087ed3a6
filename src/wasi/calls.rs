//! The WASI functions that touch no descriptor: arguments, environment, clocks, randomness,
//! scheduling and signals.
//!
//! Each writes its results to guest memory only after every pointer it will use has been checked,
//! so a failed call leaves memory as it was. This module must never read host state the builder
//! did not put in the context, other than the clocks and the random source.

use super::errno::Errno;
use super::guest::GuestMemory;
use super::{WasiCtx, arg_u32};
use crate::val::Val;
use std::sync::OnceLock;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

pub fn args_get(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, a: &[Val]) -> Result<(), Errno> {
    write_strings(mem, &ctx.args, arg_u32(a, 0), arg_u32(a, 1))
}

pub fn args_sizes_get(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    a: &[Val],
) -> Result<(), Errno> {
    write_sizes(mem, &ctx.args, arg_u32(a, 0), arg_u32(a, 1))
}

pub fn environ_get(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, a: &[Val]) -> Result<(), Errno> {
    write_strings(mem, &ctx.env, arg_u32(a, 0), arg_u32(a, 1))
}

pub fn environ_sizes_get(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    a: &[Val],
) -> Result<(), Errno> {
    write_sizes(mem, &ctx.env, arg_u32(a, 0), arg_u32(a, 1))
}

/// Bytes of the NUL-terminated strings together, as `*_sizes_get` reports and `*_get` writes.
fn buf_size(strings: &[String]) -> Result<u32, Errno> {
    let total: usize = strings.iter().map(|s| s.len() + 1).sum();
    u32::try_from(total).map_err(|_| Errno::OVERFLOW)
}

fn write_sizes(
    mem: &mut GuestMemory<'_>,
    s: &[String],
    count: u32,
    size: u32,
) -> Result<(), Errno> {
    let n = u32::try_from(s.len()).map_err(|_| Errno::OVERFLOW)?;
    let bytes = buf_size(s)?;
    mem.check(count, 4)?;
    mem.check(size, 4)?;
    mem.write_u32(count, n)?;
    mem.write_u32(size, bytes)
}

/// The pointer array at `ptrs` and the NUL-terminated strings packed at `buf`.
fn write_strings(
    mem: &mut GuestMemory<'_>,
    s: &[String],
    ptrs: u32,
    buf: u32,
) -> Result<(), Errno> {
    let n = u32::try_from(s.len()).map_err(|_| Errno::OVERFLOW)?;
    mem.check(ptrs, n.checked_mul(4).ok_or(Errno::FAULT)?)?;
    mem.check(buf, buf_size(s)?)?;
    let mut at = buf;
    for (i, string) in (0u32..).zip(s) {
        mem.write_u32(ptrs + 4 * i, at)?;
        mem.write(at, string.as_bytes())?;
        mem.write(at + string.len() as u32, &[0])?;
        at += string.len() as u32 + 1;
    }
    Ok(())
}

const CLOCK_REALTIME: u32 = 0;
const CLOCK_MONOTONIC: u32 = 1;

/// The monotonic clock's epoch: its first use in this process.
fn monotonic_epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// Nanoseconds on clock `id`. The CPU-time clocks are not offered: std has no portable reading
/// of them, and an approximation would mislead profilers.
pub fn now(id: u32) -> Result<u64, Errno> {
    let nanos = match id {
        CLOCK_REALTIME => {
            SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_nanos()
        }
        CLOCK_MONOTONIC => monotonic_epoch().elapsed().as_nanos(),
        2 | 3 => return Err(Errno::NOTSUP),
        _ => return Err(Errno::INVAL),
    };
    u64::try_from(nanos).map_err(|_| Errno::OVERFLOW)
}

pub fn clock_res_get(_: &mut WasiCtx, mem: &mut GuestMemory<'_>, a: &[Val]) -> Result<(), Errno> {
    now(arg_u32(a, 0))?;
    // std reports nanoseconds; the host's real resolution is not portably known, so claim 1 ns
    // (what Linux reports for both clocks).
    mem.write_u64(arg_u32(a, 1), 1)
}

pub fn clock_time_get(_: &mut WasiCtx, mem: &mut GuestMemory<'_>, a: &[Val]) -> Result<(), Errno> {
    let time = now(arg_u32(a, 0))?;
    mem.write_u64(arg_u32(a, 2), time)
}

/// Where `random_get` takes its bytes from.
#[derive(Debug, Default)]
pub enum RandomSource {
    /// The host kernel's generator (`getrandom(2)`: no path is opened).
    #[default]
    Host,
    /// A deterministic generator (splitmix64) in this state.
    Seeded(u64),
}

pub fn random_get(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, a: &[Val]) -> Result<(), Errno> {
    let buf = mem.slice_mut(arg_u32(a, 0), arg_u32(a, 1))?;
    match &mut ctx.random {
        RandomSource::Host => fill_from_host(buf)?,
        RandomSource::Seeded(state) => {
            for chunk in buf.chunks_mut(8) {
                *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
                let mut z = *state;
                z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
                z ^= z >> 31;
                chunk.copy_from_slice(&z.to_le_bytes()[..chunk.len()]);
            }
        }
    }
    Ok(())
}

/// Fills `buf` from `getrandom(2)`, which may return fewer bytes than asked (above 32 MiB, or
/// when interrupted).
fn fill_from_host(mut buf: &mut [u8]) -> Result<(), Errno> {
    while !buf.is_empty() {
        match rustix::rand::getrandom(&mut *buf, rustix::rand::GetRandomFlags::empty()) {
            Ok(n) => buf = &mut buf[n..],
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

pub fn sched_yield(_: &mut WasiCtx, _: &mut GuestMemory<'_>, _: &[Val]) -> Result<(), Errno> {
    std::thread::yield_now();
    Ok(())
}

/// The highest preview1 `signal` number (`SIGSYS`).
const SIGNAL_MAX: u32 = 30;

/// `(signal)`: preview1 has no signal handlers to run, so, as in wasmtime, raising a signal is
/// `ENOTSUP`; a number that is no signal is `EINVAL`.
pub fn proc_raise(_: &mut WasiCtx, _: &mut GuestMemory<'_>, a: &[Val]) -> Result<(), Errno> {
    if arg_u32(a, 0) > SIGNAL_MAX { Err(Errno::INVAL) } else { Err(Errno::NOTSUP) }
}
