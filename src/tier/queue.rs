//! Compile threads: where background tier-up requests are compiled while the requesting code keeps
//! running in its tier.
//!
//! One queue per engine, started on the first background request with
//! `Config::compile_threads` threads. A job holds its module, so the module outlives the
//! compile; the threads hold only the receiving end, so they end once the engine and every job
//! are gone (nothing joins them: the last owner of an engine may be a compile thread itself).

use super::Tier;
use crate::module::Module;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};

/// A request to compile one function in one tier.
pub(crate) struct Job {
    pub module: Module,
    pub def: u32,
    pub tier: Tier,
    /// An on-stack-replacement entry of this loop, rather than the function.
    pub osr: Option<u32>,
}

/// The sending end of the compile threads' queue.
pub(crate) struct CompileQueue {
    sender: Mutex<Sender<Job>>,
}

impl std::fmt::Debug for CompileQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CompileQueue")
    }
}

impl CompileQueue {
    /// Starts `threads` compile threads (at least one).
    pub fn start(threads: usize) -> CompileQueue {
        let (sender, receiver) = channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        for i in 0..threads.max(1) {
            let receiver = Arc::clone(&receiver);
            let spawned = std::thread::Builder::new()
                .name(format!("tierup-compile-{i}"))
                .spawn(move || work(&receiver));
            if let Err(e) = spawned {
                // Fewer threads only means slower tier-up; none at all is reported on submit.
                eprintln!("tierup: cannot start compile thread {i}: {e}");
            }
        }
        CompileQueue { sender: Mutex::new(sender) }
    }

    /// Queues `job`; `false` if no compile thread is left to take it.
    pub fn submit(&self, job: Job) -> bool {
        let sender = self.sender.lock().unwrap_or_else(|e| e.into_inner());
        sender.send(job).is_ok()
    }
}

/// A compile thread: takes jobs until the queue is gone.
fn work(receiver: &Mutex<Receiver<Job>>) {
    loop {
        let job = {
            let receiver = receiver.lock().unwrap_or_else(|e| e.into_inner());
            receiver.recv()
        };
        let Ok(job) = job else { return };
        match job.osr {
            None => super::compile_and_install(&job.module, job.def, job.tier),
            Some(ordinal) => {
                super::compile_osr_and_install(&job.module, job.def, job.tier, ordinal)
            }
        }
    }
}
