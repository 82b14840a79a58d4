//! The log lines about requests that failed for a cause that lasts, such as
//! the `503` of every write while the database file is replaced. The first
//! failure of a group is logged at once, and the later ones are counted in
//! one line per interval, as the storage thread logs its failed batches.
//! The line of each request that `handle` logs is not affected.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::REQUEST_LOG;
use crate::throttled_log::{EventBatch, ThrottledEvents};

/// The shortest time between two lines about the failures of one group,
/// the same as between the storage thread's lines about failed batches.
const FAILURE_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// The age from which the line of a single failed request reports how long
/// ago it failed.
const LATE_LINE: Duration = Duration::from_millis(100);

/// The failed requests whose log lines are counted together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureGroup {
    /// True for `/healthz` and `/metrics`, so that the cause of a failed
    /// health check is logged at once, also while writes fail.
    pub monitoring: bool,
    pub status: u16,
    /// The reason of a `503`, as the metric `translog_unavailable_total`
    /// names it, or `None` for any other status.
    pub reason: Option<&'static str>,
}

/// A failed request, as its log line shows it.
#[derive(Debug)]
struct FailedRequest {
    level: log::Level,
    /// The request's number, client, transaction id and cause.
    line: String,
}

/// The failed requests of one group that are not logged yet.
struct Group {
    kind: FailureGroup,
    events: ThrottledEvents<FailedRequest>,
    /// True while a task waits to log the requests held back.
    flush_scheduled: bool,
}

/// The failed requests not logged yet, by group.
#[derive(Default)]
pub struct FailureLog {
    groups: Mutex<Vec<Group>>,
}

impl FailureLog {
    /// Logs the line of a failed request of the group `kind` at `level`.
    /// The first of the group is logged at once. A later one within
    /// [`FAILURE_LOG_INTERVAL`] of the group's last line is logged at debug,
    /// and counted in the next line of the group, which a tokio task writes
    /// when the interval has passed. So this must run inside the runtime.
    pub fn record(self: &Arc<Self>, kind: FailureGroup, level: log::Level, line: String) {
        let now = Instant::now();
        let mut groups = self.groups.lock().unwrap_or_else(PoisonError::into_inner);
        let index = match groups.iter().position(|group| group.kind == kind) {
            Some(index) => index,
            None => {
                groups.push(Group {
                    kind,
                    events: ThrottledEvents::new(FAILURE_LOG_INTERVAL),
                    flush_scheduled: false,
                });
                groups.len() - 1
            }
        };
        let group = &mut groups[index];
        let debug_line =
            log::log_enabled!(target: REQUEST_LOG, log::Level::Debug).then(|| line.clone());
        group.events.record(now, FailedRequest { level, line });
        if let Some(batch) = group.events.take_due(now) {
            write_line(&batch, kind.status, now);
            return;
        }
        // The request is held back, so its own line shows at debug.
        if let Some(line) = debug_line {
            log::debug!(target: REQUEST_LOG, "{line}");
        }
        self.schedule_flush(group);
    }

    /// Logs the requests held back in every group, as at the stop.
    pub fn flush(&self) {
        let now = Instant::now();
        let mut groups = self.groups.lock().unwrap_or_else(PoisonError::into_inner);
        for group in groups.iter_mut() {
            if let Some(batch) = group.events.take(now) {
                write_line(&batch, group.kind.status, now);
            }
        }
    }

    /// Starts a task that logs the requests held back in `group` when they
    /// are due, unless one waits already.
    fn schedule_flush(self: &Arc<Self>, group: &mut Group) {
        let Some(due) = group.events.due_at() else {
            return;
        };
        if group.flush_scheduled {
            return;
        }
        group.flush_scheduled = true;
        let log = Arc::clone(self);
        let kind = group.kind;
        tokio::spawn(async move {
            tokio::time::sleep_until(due.into()).await;
            log.flush_due(kind);
        });
    }

    /// Logs the requests held back in the group `kind` if they are due, and
    /// waits again for those that are not.
    fn flush_due(self: &Arc<Self>, kind: FailureGroup) {
        let now = Instant::now();
        let mut groups = self.groups.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(group) = groups.iter_mut().find(|group| group.kind == kind) else {
            return;
        };
        group.flush_scheduled = false;
        if let Some(batch) = group.events.take_due(now) {
            write_line(&batch, kind.status, now);
        }
        self.schedule_flush(group);
    }
}

/// Logs one line about the failed requests of `batch`, all answered with
/// `status`, with the line of the latest of them.
fn write_line(batch: &EventBatch<FailedRequest>, status: u16, now: Instant) {
    let FailedRequest { level, line } = &batch.latest;
    let age = now.duration_since(batch.first);
    if batch.count == 1 && age < LATE_LINE {
        log::log!(target: REQUEST_LOG, *level, "{line}");
    } else if batch.count == 1 {
        // A line held back by the interval, or written at the stop, states
        // when the request failed, so that it does not read as a new failure.
        log::log!(
            target: REQUEST_LOG,
            *level,
            "1 request answered {status} {:.1} s ago: {line}",
            age.as_secs_f64()
        );
    } else {
        log::log!(
            target: REQUEST_LOG,
            *level,
            "{} requests answered {status} in the last {:.1} s, the latest: {line}",
            batch.count,
            age.as_secs_f64()
        );
    }
}
