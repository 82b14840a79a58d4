//! The threads that verify passwords. Each Argon2 verification takes tens of
//! milliseconds of one core, so these threads run at a lower CPU priority
//! than the HTTP and storage threads. When the cores are busy, the scheduler
//! serves the requests of users already verified first, and a new user's
//! first request waits instead.

use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread;

/// How much the hashing threads raise their nice value above the process's.
/// At 10 above, the HTTP and storage threads get about nine times the
/// hashing threads' share of a busy core (Linux weighs nice 0 at 1024 and
/// nice 10 at 110).
pub const NICE_INCREMENT: i32 = 10;

/// The highest nice value on Linux.
const MAX_NICE: i32 = 19;

type Job = Box<dyn FnOnce() + Send>;

/// A fixed set of low-priority threads that run jobs in arrival order.
pub struct HashingThreads {
    jobs: Mutex<Sender<Job>>,
}

impl HashingThreads {
    /// Starts `count` threads (at least one).
    ///
    /// # Errors
    ///
    /// Fails when the operating system cannot start a thread.
    pub fn start(count: usize) -> std::io::Result<HashingThreads> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for _ in 0..count.max(1) {
            let queue = Arc::clone(&queue);
            thread::Builder::new()
                .name("translog-hashing".to_string())
                .spawn(move || run(&queue))?;
        }
        Ok(HashingThreads {
            jobs: Mutex::new(jobs),
        })
    }

    /// Runs `job` on one of the threads. Returns false when the threads
    /// have stopped, and then the job is dropped without running.
    pub fn run(&self, job: impl FnOnce() + Send + 'static) -> bool {
        let Ok(jobs) = self.jobs.lock() else {
            return false;
        };
        jobs.send(Box::new(job)).is_ok()
    }
}

fn run(queue: &Mutex<Receiver<Job>>) {
    lower_priority();
    loop {
        // The lock is held only while waiting for a job, so the other threads
        // take the next ones while this one hashes.
        let job = match queue.lock() {
            Ok(queue) => queue.recv(),
            Err(_) => return,
        };
        match job {
            Ok(job) => job(),
            Err(_) => return,
        }
    }
}

/// Raises this thread's nice value by [`NICE_INCREMENT`]. On Linux the nice
/// value belongs to each thread, so the rest of the process keeps its priority.
fn lower_priority() {
    let thread_id = rustix::thread::gettid();
    let result = rustix::process::getpriority_process(Some(thread_id)).and_then(|nice| {
        let lowered = nice.saturating_add(NICE_INCREMENT).min(MAX_NICE);
        rustix::process::setpriority_process(Some(thread_id), lowered)
    });
    if let Err(error) = result {
        log::warn!(
            "cannot lower the priority of a password hashing thread: {error}; \
             new users' first requests may slow down other requests"
        );
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::time::Duration;

    use super::*;

    #[test]
    fn runs_jobs_at_lower_priority() {
        let before = rustix::process::getpriority_process(None).unwrap();
        let threads = HashingThreads::start(1).unwrap();
        let (sender, receiver) = mpsc::channel();
        let started = threads.run(move || {
            let nice = rustix::process::getpriority_process(None).unwrap();
            sender.send(nice).unwrap();
        });
        assert!(started);
        let nice = receiver.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(nice, (before + NICE_INCREMENT).min(MAX_NICE));
    }

    #[test]
    fn caller_keeps_its_priority() {
        let before = rustix::process::getpriority_process(None).unwrap();
        let threads = HashingThreads::start(2).unwrap();
        let (sender, receiver) = mpsc::channel();
        threads.run(move || sender.send(()).unwrap());
        receiver.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(rustix::process::getpriority_process(None).unwrap(), before);
    }
}
