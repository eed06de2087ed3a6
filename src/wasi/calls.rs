//! The WASI functions that touch no descriptor: arguments, environment, clocks, randomness,
//! scheduling and `poll_oneoff`.
//!
//! Each writes its results to guest memory only after every pointer it will use has been checked,
//! so a failed call leaves memory as it was. This module must never read host state the builder
//! did not put in the context, other than the clocks and the random source.

use super::errno::Errno;
use super::guest::GuestMemory;
use super::{WasiCtx, arg_u32};
use crate::val::Val;
use std::io::Read;
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

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
fn now(id: u32) -> Result<u64, Errno> {
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
    /// The host's `/dev/urandom`.
    #[default]
    Host,
    /// A deterministic generator (splitmix64) in this state.
    Seeded(u64),
}

pub fn random_get(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, a: &[Val]) -> Result<(), Errno> {
    let buf = mem.slice_mut(arg_u32(a, 0), arg_u32(a, 1))?;
    match &mut ctx.random {
        RandomSource::Host => std::fs::File::open("/dev/urandom")?.read_exact(buf)?,
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

pub fn sched_yield(_: &mut WasiCtx, _: &mut GuestMemory<'_>, _: &[Val]) -> Result<(), Errno> {
    std::thread::yield_now();
    Ok(())
}

/// Sizes of preview1's `subscription` and `event` records.
const SUBSCRIPTION_SIZE: u32 = 48;
const EVENT_SIZE: u32 = 32;
const EVENTTYPE_CLOCK: u8 = 0;
const EVENTTYPE_FD_WRITE: u8 = 2;
const SUBCLOCKFLAGS_ABSTIME: u16 = 1;

/// `poll_oneoff`, clock subscriptions only: it sleeps until the earliest clock deadline and reports
/// every clock due by then. A descriptor subscription is answered at once with an event carrying
/// `ENOTSUP`, so a guest waiting on a descriptor learns it cannot, instead of hanging.
pub fn poll_oneoff(_: &mut WasiCtx, mem: &mut GuestMemory<'_>, a: &[Val]) -> Result<(), Errno> {
    let (subs, events, count, nevents) =
        (arg_u32(a, 0), arg_u32(a, 1), arg_u32(a, 2), arg_u32(a, 3));
    if count == 0 {
        return Err(Errno::INVAL);
    }
    mem.check(subs, count.checked_mul(SUBSCRIPTION_SIZE).ok_or(Errno::FAULT)?)?;
    mem.check(events, count.checked_mul(EVENT_SIZE).ok_or(Errno::FAULT)?)?;
    mem.check(nevents, 4)?;
    // (userdata, event type, errno, how long until due)
    let mut pending = Vec::with_capacity(count as usize);
    for i in 0..count {
        let at = subs + i * SUBSCRIPTION_SIZE;
        let userdata = mem.read_u64(at)?;
        let tag = mem.read_u8(at + 8)?;
        match tag {
            EVENTTYPE_CLOCK => {
                let (id, timeout) = (mem.read_u32(at + 16)?, mem.read_u64(at + 24)?);
                let flags = mem.read_u16(at + 40)?;
                let wait = match now(id) {
                    Ok(_) if flags & SUBCLOCKFLAGS_ABSTIME == 0 => Ok(timeout),
                    Ok(now) => Ok(timeout.saturating_sub(now)),
                    Err(e) => Err(e),
                };
                match wait {
                    Ok(ns) => pending.push((userdata, tag, 0, Some(Duration::from_nanos(ns)))),
                    Err(e) => pending.push((userdata, tag, e.0, None)),
                }
            }
            1..=EVENTTYPE_FD_WRITE => pending.push((userdata, tag, Errno::NOTSUP.0, None)),
            _ => return Err(Errno::INVAL),
        }
    }
    // Anything already answered (an error) is reported without sleeping, as a real poll would.
    let due = if pending.iter().any(|p| p.3.is_none()) {
        Duration::ZERO
    } else {
        pending.iter().filter_map(|p| p.3).min().unwrap_or_default()
    };
    std::thread::sleep(due);
    let mut written = 0;
    for (userdata, tag, errno, wait) in pending {
        if wait.is_some_and(|w| w > due) {
            continue;
        }
        let at = events + written * EVENT_SIZE;
        let mut record = [0u8; EVENT_SIZE as usize];
        record[0..8].copy_from_slice(&userdata.to_le_bytes());
        record[8..10].copy_from_slice(&errno.to_le_bytes());
        record[10] = tag;
        mem.write(at, &record)?;
        written += 1;
    }
    mem.write_u32(nevents, written)
}
