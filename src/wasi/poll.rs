//! `poll_oneoff`: waiting on clocks and on descriptors becoming readable or writable.
//!
//! Regular files and the non-inherited streams are always ready (reading an empty stdin is an
//! immediate end of file, writing to a sink always succeeds); inherited standard streams are
//! polled on the host with `poll(2)`, bounded by the earliest clock deadline. This module must
//! never block longer than the earliest clock asks, nor at all once an event is ready.

use super::calls::now;
use super::errno::Errno;
use super::fd::{Descriptor, Kind, StdStream};
use super::guest::GuestMemory;
use super::rights;
use super::{WasiCtx, arg_u32};
use crate::val::Val;
use rustix::event::{PollFd, PollFlags};
use std::time::{Duration, Instant};

/// Sizes of preview1's `subscription` and `event` records.
const SUBSCRIPTION_SIZE: u32 = 48;
const EVENT_SIZE: u32 = 32;
const EVENTTYPE_CLOCK: u8 = 0;
const EVENTTYPE_FD_READ: u8 = 1;
const EVENTTYPE_FD_WRITE: u8 = 2;
const SUBCLOCKFLAGS_ABSTIME: u16 = 1;
const EVENTRWFLAGS_HANGUP: u16 = 1;

/// One subscription and what is known of it so far.
struct Subscription {
    userdata: u64,
    tag: u8,
    state: State,
}

enum State {
    /// A clock, due at this instant.
    Clock(Instant),
    /// Answered already: an error, or a descriptor that is ready now (bytes available, flags).
    Ready { errno: u16, nbytes: u64, flags: u16 },
    /// An inherited stream, to poll on the host (for reading or writing, as the tag says).
    Host(StdStream),
}

/// `(subscriptions, events, count, out)`: waits until at least one subscription is ready and
/// reports every ready one.
pub fn poll_oneoff(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, a: &[Val]) -> Result<(), Errno> {
    let (subs, events, count, nevents) =
        (arg_u32(a, 0), arg_u32(a, 1), arg_u32(a, 2), arg_u32(a, 3));
    if count == 0 {
        return Err(Errno::INVAL);
    }
    mem.check(subs, count.checked_mul(SUBSCRIPTION_SIZE).ok_or(Errno::FAULT)?)?;
    mem.check(events, count.checked_mul(EVENT_SIZE).ok_or(Errno::FAULT)?)?;
    mem.check(nevents, 4)?;
    let start = Instant::now();
    let mut pending = Vec::with_capacity(count as usize);
    for i in 0..count {
        pending.push(subscription(ctx, mem, subs + i * SUBSCRIPTION_SIZE, start)?);
    }
    wait(&mut pending)?;
    let mut written = 0;
    for sub in &pending {
        if let Some(record) = event(sub) {
            mem.write(events + written * EVENT_SIZE, &record)?;
            written += 1;
        }
    }
    mem.write_u32(nevents, written)
}

/// Reads the subscription at `at`, answering at once what can be answered.
fn subscription(
    ctx: &WasiCtx,
    mem: &GuestMemory<'_>,
    at: u32,
    start: Instant,
) -> Result<Subscription, Errno> {
    let userdata = mem.read_u64(at)?;
    let tag = mem.read_u8(at + 8)?;
    let state = match tag {
        EVENTTYPE_CLOCK => {
            let (id, timeout) = (mem.read_u32(at + 16)?, mem.read_u64(at + 24)?);
            let absolute = mem.read_u16(at + 40)? & SUBCLOCKFLAGS_ABSTIME != 0;
            match now(id) {
                Ok(now) => {
                    let wait = if absolute { timeout.saturating_sub(now) } else { timeout };
                    State::Clock(
                        start.checked_add(Duration::from_nanos(wait)).unwrap_or_else(far_future),
                    )
                }
                Err(e) => error(e),
            }
        }
        EVENTTYPE_FD_READ | EVENTTYPE_FD_WRITE => {
            let fd = mem.read_u32(at + 16)?;
            match ctx.fds.with(fd, rights::POLL_FD_READWRITE) {
                Ok(descriptor) => readiness(descriptor, tag == EVENTTYPE_FD_WRITE),
                Err(e) => error(e),
            }
        }
        _ => return Err(Errno::INVAL),
    };
    Ok(Subscription { userdata, tag, state })
}

fn error(e: Errno) -> State {
    State::Ready { errno: e.0, nbytes: 0, flags: 0 }
}

/// An instant no poll lives to see, for deadlines beyond what `Instant` can add.
fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(100 * 365 * 24 * 3600)
}

/// What a descriptor subscription is ready for now, or that the host must be asked.
fn readiness(descriptor: &Descriptor, write: bool) -> State {
    match &descriptor.kind {
        Kind::Stdio { stream, inherit: true } => State::Host(*stream),
        Kind::Stdio { stream: StdStream::Stdin, inherit: false } if !write => {
            State::Ready { errno: 0, nbytes: 0, flags: EVENTRWFLAGS_HANGUP }
        }
        Kind::Stdio { .. } => State::Ready { errno: 0, nbytes: 0, flags: 0 },
        Kind::File(file) if !write => {
            // Bytes left from the cursor, as wasmtime reports for files.
            let left = file.metadata().map(|m| m.len()).unwrap_or(0).saturating_sub(
                rustix::fs::seek(file, rustix::fs::SeekFrom::Current(0)).unwrap_or(0),
            );
            State::Ready { errno: 0, nbytes: left, flags: 0 }
        }
        Kind::File(_) => State::Ready { errno: 0, nbytes: 0, flags: 0 },
        Kind::Dir { .. } => error(Errno::BADF),
    }
}

/// Blocks until a subscription is ready: at once if one already is, else polling the host
/// streams (if any) until the earliest clock, then marking every due clock.
fn wait(pending: &mut [Subscription]) -> Result<(), Errno> {
    loop {
        let ready_now = pending.iter().any(|s| matches!(s.state, State::Ready { .. }));
        let deadline = pending
            .iter()
            .filter_map(|s| if let State::Clock(at) = s.state { Some(at) } else { None })
            .min();
        let timeout = if ready_now {
            Some(Duration::ZERO)
        } else {
            deadline.map(|at| at.saturating_duration_since(Instant::now()))
        };
        let polled = poll_host(pending, timeout)?;
        let now = Instant::now();
        let mut due = false;
        for sub in pending.iter_mut() {
            if let State::Clock(at) = sub.state
                && at <= now
            {
                sub.state = State::Ready { errno: 0, nbytes: 0, flags: 0 };
                due = true;
            }
        }
        if ready_now || polled || due {
            return Ok(());
        }
    }
}

/// Polls the host streams among `pending` for at most `timeout` (forever if `None`), or sleeps
/// that long if there are none; marks the ready ones. Returns whether any became ready.
fn poll_host(pending: &mut [Subscription], timeout: Option<Duration>) -> Result<bool, Errno> {
    let hosts: Vec<(usize, StdStream, bool)> = pending
        .iter()
        .enumerate()
        .filter_map(|(i, s)| match s.state {
            State::Host(stream) => Some((i, stream, s.tag == EVENTTYPE_FD_WRITE)),
            _ => None,
        })
        .collect();
    if hosts.is_empty() {
        // Nothing to poll and nothing ready: a clock is the only wake-up (there is one, since
        // every subscription is a clock, an answered descriptor or a host stream).
        std::thread::sleep(timeout.unwrap_or_default());
        return Ok(false);
    }
    let mut fds: Vec<PollFd<'_>> = hosts
        .iter()
        .map(|&(_, stream, write)| {
            let flags = if write { PollFlags::OUT } else { PollFlags::IN };
            PollFd::from_borrowed_fd(stream.host_fd(), flags)
        })
        .collect();
    let timeout = timeout.map(|t| rustix::fs::Timespec {
        tv_sec: t.as_secs().min(i64::MAX as u64) as i64,
        tv_nsec: t.subsec_nanos().into(),
    });
    match rustix::event::poll(&mut fds, timeout.as_ref()) {
        Ok(_) | Err(rustix::io::Errno::INTR) => {}
        Err(e) => return Err(e.into()),
    }
    let mut any = false;
    for (fd, &(i, stream, _)) in fds.iter().zip(&hosts) {
        let revents = fd.revents();
        if revents.is_empty() {
            continue;
        }
        let hangup = revents.contains(PollFlags::HUP);
        let nbytes = if stream == StdStream::Stdin {
            rustix::io::ioctl_fionread(stream.host_fd()).unwrap_or(0)
        } else {
            0
        };
        let flags = if hangup { EVENTRWFLAGS_HANGUP } else { 0 };
        pending[i].state = State::Ready { errno: 0, nbytes, flags };
        any = true;
    }
    Ok(any)
}

/// The `event` record of a ready subscription, `None` if it is not ready.
fn event(sub: &Subscription) -> Option<[u8; EVENT_SIZE as usize]> {
    let State::Ready { errno, nbytes, flags } = sub.state else { return None };
    let mut record = [0u8; EVENT_SIZE as usize];
    record[0..8].copy_from_slice(&sub.userdata.to_le_bytes());
    record[8..10].copy_from_slice(&errno.to_le_bytes());
    record[10] = sub.tag;
    if sub.tag != EVENTTYPE_CLOCK {
        record[16..24].copy_from_slice(&nbytes.to_le_bytes());
        record[24..26].copy_from_slice(&flags.to_le_bytes());
    }
    Some(record)
}
