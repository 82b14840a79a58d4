//! Start-up of the log: `RUST_LOG` filters it, with `info` as the default.
//!
//! The server's log lines go through a queue to a thread of their own, which
//! writes them to standard error. A write to a pipe that no process reads,
//! such as that of a journald that falls behind or a paused terminal, then
//! blocks only that thread, while the HTTP and storage threads go on. Lines
//! that find the queue full are counted and dropped, and the writer reports
//! the count.

use std::collections::VecDeque;
use std::io::{self, IsTerminal as _, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use log::{Level, Log, Metadata};

/// The destination of log lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    /// Written to standard error by the thread that logs, for short commands.
    Direct,
    /// Queued for a writer thread, for the server.
    Queued,
}

/// The maximum number of lines that wait for the writer thread. At about 150
/// bytes a line this is under 1 MiB.
const MAX_QUEUED_LINES: usize = 4096;

/// The time that the writer waits, once woken, for more lines to write
/// together. Under load this turns a write to standard error and a wake-up
/// of the writer for each line into one for all lines of this time.
const BATCH_DELAY: Duration = Duration::from_millis(2);

/// The maximum wait in [`flush`] for the writer to take the queued lines.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(2);

/// The queue of the server's log, once [`init`] has set it up.
static QUEUE: OnceLock<Arc<LineQueue>> = OnceLock::new();

/// Installs the logger that writes to standard error, filtered by `RUST_LOG`.
///
/// env_logger takes a word that is not a level, such as `verbose`, as a
/// module name, so that filter hides all of translog's log: errors, and even
/// the address that `serve` listens on. A warning on standard error reports it.
pub fn init(output: Output) {
    let filter = std::env::var("RUST_LOG").unwrap_or_default();
    let mut builder =
        env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"));
    // env_logger applies the default only when RUST_LOG is unset. A value
    // without any directive, such as "" or ",", would leave only errors, so
    // it gets the default too.
    if filter
        .split(',')
        .all(|directive| directive.trim().is_empty())
    {
        builder.parse_filters("info");
    }
    if output == Output::Queued {
        let queue = Arc::new(LineQueue::default());
        let writer = Arc::clone(&queue);
        let started = std::thread::Builder::new()
            .name("log-writer".into())
            .spawn(move || writer.write_lines(&mut io::stderr()));
        if started.is_ok() && QUEUE.set(Arc::clone(&queue)).is_ok() {
            // env_logger colours only a terminal that it writes to itself,
            // so for the queue the choice is made here, as it would make it.
            if std::env::var_os("RUST_LOG_STYLE").is_none() && io::stderr().is_terminal() {
                builder.write_style(env_logger::WriteStyle::Always);
            }
            builder.target(env_logger::Target::Pipe(Box::new(QueueWriter(queue))));
        }
    }
    let logger = builder.build();
    let own_errors = Metadata::builder()
        .target(env!("CARGO_CRATE_NAME"))
        .level(Level::Error)
        .build();
    if !logger.enabled(&own_errors) && !filter.trim().eq_ignore_ascii_case("off") {
        eprintln!(
            "translog: warning: RUST_LOG={filter:?} hides translog's own log, errors included; \
             set a level such as RUST_LOG=info or RUST_LOG=warn, or RUST_LOG=off for no log"
        );
    }
    log::set_max_level(logger.filter());
    if log::set_boxed_logger(Box::new(logger)).is_err() {
        eprintln!("translog: warning: a logger was already installed");
    }
}

/// Waits until the writer thread has written every queued line, at most
/// [`FLUSH_TIMEOUT`], so that the last lines come out before the process
/// ends and before anything it prints to standard error itself.
pub fn flush() {
    if let Some(queue) = QUEUE.get() {
        queue.wait_until_written(FLUSH_TIMEOUT);
    }
}

/// Lines waiting for the writer thread.
#[derive(Default)]
struct LineQueue {
    state: Mutex<QueueState>,
    /// Signalled when a line is queued into an empty queue.
    line_queued: Condvar,
    /// Signalled when the writer has written every queued line.
    written: Condvar,
}

#[derive(Default)]
struct QueueState {
    /// Each line with the number of lines dropped just before it.
    lines: VecDeque<(Vec<u8>, u64)>,
    /// Lines dropped since the last queued line.
    dropped: u64,
    /// Whether the writer is writing a line that it took from the queue.
    writing: bool,
}

impl LineQueue {
    fn lock(&self) -> MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `line`, or counts it as dropped when the queue is full.
    fn push(&self, line: &[u8]) {
        let mut state = self.lock();
        if state.lines.len() >= MAX_QUEUED_LINES {
            state.dropped += 1;
            return;
        }
        let dropped = std::mem::take(&mut state.dropped);
        state.lines.push_back((line.to_vec(), dropped));
        // A writer at work looks at the queue again before it waits.
        if !state.writing {
            self.line_queued.notify_one();
        }
    }

    /// Writes the queued lines to `output` as they come, for ever, those of
    /// each [`BATCH_DELAY`] in one write. A failed write loses its lines, as
    /// a failed write to standard error would.
    fn write_lines(&self, output: &mut impl Write) {
        let mut batch = Vec::new();
        loop {
            let mut state = self.lock();
            while state.lines.is_empty() {
                state.writing = false;
                self.written.notify_all();
                state = self
                    .line_queued
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            state.writing = true;
            drop(state);
            std::thread::sleep(BATCH_DELAY);
            batch.clear();
            let lines = std::mem::take(&mut self.lock().lines);
            for (line, dropped) in lines {
                if dropped > 0 {
                    batch.extend_from_slice(dropped_notice(dropped).as_bytes());
                }
                batch.extend_from_slice(&line);
            }
            let _ = output.write_all(&batch);
        }
    }

    /// Waits until the queue is empty and the writer idle, at most `timeout`.
    /// Then writes the count of lines dropped after the last queued one.
    fn wait_until_written(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let mut state = self.lock();
        while !state.lines.is_empty() || state.writing {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            state = self
                .written
                .wait_timeout(state, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        let dropped = std::mem::take(&mut state.dropped);
        drop(state);
        if dropped > 0 {
            let _ = io::stderr().write_all(dropped_notice(dropped).as_bytes());
        }
    }
}

/// Returns the line that takes the place of `count` dropped log lines.
fn dropped_notice(count: u64) -> String {
    let lines = if count == 1 { "line" } else { "lines" };
    format!(
        "translog: warning: {count} log {lines} dropped here, because standard error did not \
         take them as fast as they came\n"
    )
}

/// The target that env_logger writes each formatted line to, in one call.
struct QueueWriter(Arc<LineQueue>);

impl Write for QueueWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.push(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fills a queue with `count` numbered lines, none of them written yet.
    fn queue_with(count: usize) -> LineQueue {
        let queue = LineQueue::default();
        for number in 0..count {
            queue.push(format!("line {number}\n").as_bytes());
        }
        queue
    }

    #[test]
    fn full_queue_counts_dropped_lines() {
        let queue = queue_with(MAX_QUEUED_LINES + 3);
        assert_eq!(queue.lock().dropped, 3);
    }

    #[test]
    fn full_queue_keeps_oldest_lines() {
        let queue = queue_with(MAX_QUEUED_LINES + 3);
        let last = queue.lock().lines.back().map(|(line, _)| line.clone());
        assert_eq!(
            last,
            Some(format!("line {}\n", MAX_QUEUED_LINES - 1).into_bytes())
        );
    }

    #[test]
    fn next_line_carries_dropped_count() {
        let queue = queue_with(MAX_QUEUED_LINES + 3);
        queue.lock().lines.clear();
        queue.push(b"after\n");
        assert_eq!(
            queue.lock().lines.front().map(|(_, dropped)| *dropped),
            Some(3)
        );
    }

    #[test]
    fn dropped_notice_names_count() {
        assert!(dropped_notice(2).starts_with("translog: warning: 2 log lines dropped here"));
    }
}
