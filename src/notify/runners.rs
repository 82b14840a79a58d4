//! Runs the notify command on a fixed number of threads, which take alerts in
//! arrival order from a bounded queue and run the command for each. A burst
//! of alerts, such as every Worker reporting `FATAL` while a shared
//! database server is down, then starts at most [`RUNNER_COUNT`] commands at
//! once. A fatal alert beyond [`QUEUE_CAPACITY`] waiting ones is dropped and
//! counted, and a stalled one is handed back to the stall watcher, which
//! tries it again at its next check.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::metrics::Metrics;
use crate::storage::pending_alerts::{self, PendingFatal};
use crate::storage::StorageError;
use crate::throttled_log::{EventBatch, ThrottledEvents};

use super::command::{run_command, NOTIFY_TIMEOUT};
use super::{open_alert_store, Alert, AlertResult, FatalKey};

/// The maximum number of notify commands that run at once.
pub const RUNNER_COUNT: usize = 4;

/// The maximum number of alerts that wait for a free runner.
pub const QUEUE_CAPACITY: usize = 1000;

/// The minimum time between two warnings about dropped alerts.
const DROP_WARNING_INTERVAL: Duration = Duration::from_secs(10);

/// How often a thread of its own logs the drops whose warning is due. The
/// runners log them too, but all of them may be busy with commands that
/// hang, and no later drop may come to log them.
const DROP_TIMER_INTERVAL: Duration = Duration::from_secs(1);

/// The number of tries of a runner to remove a pending fatal alert whose
/// command has run, each with the busy timeout of [`open_alert_store`]. The
/// storage thread holds the write lock for most of the time under a heavy
/// load, so a single try can fail.
const REMOVE_TRIES: u32 = 10;

/// The pause between two tries to remove a pending fatal alert.
const REMOVE_RETRY_PAUSE: Duration = Duration::from_millis(100);

/// The queue of alerts and the runner threads that take from it, shared by
/// the storage thread (fatal alerts) and the stall watcher.
pub struct Runners {
    sender: SyncSender<Alert>,
    receiver: Arc<Mutex<Receiver<Alert>>>,
    shared: Arc<Shared>,
}

/// The state that the runner threads share with [`Runners::submit`].
struct Shared {
    command: Arc<str>,
    /// The database whose `pending_fatal_alerts` lists the fatal alerts not
    /// run yet.
    db_path: PathBuf,
    metrics: Arc<Metrics>,
    drops: Mutex<DropWarnings>,
    /// The fatal alerts that are queued or running, so that the same
    /// pending alert is never queued twice.
    in_flight: Mutex<HashSet<FatalKey>>,
    /// The number of commands running.
    running: AtomicUsize,
    /// True when a fatal alert found the queue full, so that the pending
    /// alerts are queued again once there is room.
    deferred: AtomicBool,
    /// True once the server stops.
    stopping: AtomicBool,
}

impl Runners {
    /// Starts [`RUNNER_COUNT`] threads that run `command` for each alert and
    /// count its result in `metrics`. Once the command of a fatal alert has
    /// run, they remove the alert from the pending alerts of the database at
    /// `db_path`.
    ///
    /// # Errors
    ///
    /// Fails when the operating system cannot start a thread.
    pub fn start(
        command: Arc<str>,
        db_path: PathBuf,
        metrics: Arc<Metrics>,
    ) -> std::io::Result<Runners> {
        let (sender, receiver) = mpsc::sync_channel(QUEUE_CAPACITY);
        let receiver = Arc::new(Mutex::new(receiver));
        let shared = Arc::new(Shared {
            command,
            db_path,
            metrics,
            drops: Mutex::new(DropWarnings::default()),
            in_flight: Mutex::new(HashSet::new()),
            running: AtomicUsize::new(0),
            deferred: AtomicBool::new(false),
            stopping: AtomicBool::new(false),
        });
        for number in 1..=RUNNER_COUNT {
            let receiver = Arc::clone(&receiver);
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name(format!("notify-{number}"))
                .spawn(move || run_alerts(&receiver, &shared))?;
        }
        let timer_shared = Arc::downgrade(&shared);
        std::thread::Builder::new()
            .name("notify-drops".to_string())
            .spawn(move || log_due_drops(&timer_shared))?;
        Ok(Runners {
            sender,
            receiver,
            shared,
        })
    }

    /// Takes the alerts that wait for a runner, so that none of them runs,
    /// and returns them in arrival order. A runner that waits for the next
    /// alert holds the queue's lock, and then no alert is waiting.
    pub fn take_waiting(&self) -> Vec<Alert> {
        match self.receiver.try_lock() {
            Ok(receiver) => receiver.try_iter().collect(),
            Err(_) => Vec::new(),
        }
    }

    /// Queues `alert` for the next free runner without blocking. When the
    /// queue is full, drops the alert, counts it and logs a warning at most
    /// once per [`DROP_WARNING_INTERVAL`].
    pub fn submit(&self, alert: Alert) {
        if let Submission::QueueFull(alert) = self.try_submit(alert) {
            self.shared
                .metrics
                .count_alert(alert.outcome, AlertResult::Dropped);
            if let Ok(mut drops) = self.shared.drops.lock() {
                drops.record(&alert);
            }
            self.shared.deferred.store(true, Ordering::SeqCst);
            self.shared.warn_of_drops();
        }
    }

    /// Logs the drops not logged yet, however recent the last warning, as
    /// at the stop, so that the log counts every drop that the metric does.
    pub fn log_pending_drops(&self) {
        let warning = self
            .shared
            .drops
            .lock()
            .ok()
            .and_then(|mut drops| drops.take_pending_warning(Instant::now()));
        if let Some(warning) = warning {
            log::warn!("{warning}");
        }
    }

    /// Queues `alert` for the next free runner without blocking, and hands
    /// it back when the queue is full, for the caller to retry or drop. A
    /// fatal alert that is queued or running already counts as queued.
    pub fn try_submit(&self, alert: Alert) -> Submission {
        if self.shared.stopping.load(Ordering::SeqCst) {
            return Submission::Stopping;
        }
        let key = alert.fatal_key();
        if let Some(key) = &key {
            if !self.shared.track(key.clone()) {
                return Submission::Queued;
            }
        }
        let sent = self.sender.try_send(alert);
        if let (Err(_), Some(key)) = (&sent, &key) {
            self.shared.untrack(key);
        }
        match sent {
            Ok(()) => Submission::Queued,
            Err(TrySendError::Full(alert)) => Submission::QueueFull(alert),
            Err(TrySendError::Disconnected(alert)) => {
                // Every runner thread has ended, which takes a panic in one.
                self.shared
                    .metrics
                    .count_alert(alert.outcome, AlertResult::Dropped);
                log::error!(
                    "dropped the alert for transaction {} ({}) because no notify runner is left",
                    alert.transaction_id,
                    alert.outcome.as_str()
                );
                Submission::Dropped
            }
        }
    }

    /// Queues the pending fatal alerts of the database of `connection` that
    /// are not queued or running, in the order in which their transactions
    /// turned fatal, until the queue is full. Returns how many it queued and
    /// how many are left for a later call, which happens once the queue has
    /// room. First removes the alerts whose `FATAL` entry `log delete` or
    /// `prune` removed.
    ///
    /// # Errors
    ///
    /// Fails when the pending alerts cannot be read or removed.
    pub fn queue_pending(
        &self,
        connection: &rusqlite::Connection,
    ) -> Result<(Vec<String>, usize), StorageError> {
        // Cleared before the read, so that an alert dropped after it sets it
        // again for the next call.
        self.shared.deferred.store(false, Ordering::SeqCst);
        let read = pending_alerts::remove_orphans(connection)
            .and_then(|removed| Ok((removed, pending_alerts::read_all(connection)?)));
        let (removed, pending) = match read {
            Ok(read) => read,
            Err(error) => {
                self.shared.deferred.store(true, Ordering::SeqCst);
                return Err(error);
            }
        };

        match removed {
            0 => {}
            1 => log::info!(
                "removed 1 pending fatal alert whose transaction was deleted or is no longer fatal"
            ),
            _ => log::info!(
                "removed {removed} pending fatal alerts whose transactions were deleted or are \
                 no longer fatal"
            ),
        }

        let total = pending.len();
        let mut queued = Vec::new();
        let mut left = 0;
        for (index, alert) in pending.into_iter().enumerate() {
            let key = (alert.transaction_id.clone(), alert.received_at_ns);
            if self.shared.stopping.load(Ordering::SeqCst) || !self.shared.track(key.clone()) {
                continue;
            }
            // A runner removes the row before it stops tracking the alert, so
            // a row that is gone now belongs to an alert that has run since
            // the read.
            match pending_alerts::contains(connection, &key.0, key.1) {
                Ok(true) => {}
                Ok(false) => {
                    self.shared.untrack(&key);
                    continue;
                }
                Err(error) => {
                    self.shared.untrack(&key);
                    self.shared.deferred.store(true, Ordering::SeqCst);
                    return Err(error);
                }
            }
            match self.sender.try_send(Alert::from(alert)) {
                Ok(()) => queued.push(key.0),
                Err(TrySendError::Full(_)) => {
                    self.shared.untrack(&key);
                    left = total - index;
                    break;
                }
                Err(TrySendError::Disconnected(_)) => {
                    self.shared.untrack(&key);
                    break;
                }
            }
        }

        if left > 0 {
            self.shared.deferred.store(true, Ordering::SeqCst);
        }
        Ok((queued, left))
    }

    /// Returns true when a fatal alert found the queue full since the last
    /// call of [`Runners::queue_pending`], or that call left alerts pending.
    pub fn has_deferred(&self) -> bool {
        self.shared.deferred.load(Ordering::SeqCst)
    }

    /// Marks the runners as stopping: no alert is queued any more, and a
    /// runner leaves the alerts that it takes from the queue pending.
    pub fn stop(&self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
    }

    /// Returns the number of commands running.
    pub fn running(&self) -> usize {
        self.shared.running.load(Ordering::SeqCst)
    }
}

impl From<PendingFatal> for Alert {
    fn from(pending: PendingFatal) -> Alert {
        Alert {
            transaction_id: pending.transaction_id,
            fatal_received_at_ns: Some(pending.received_at_ns),
            outcome: crate::storage::logs::Outcome::Fatal,
            stage: pending.stage,
            status: pending.status,
            message: pending.message,
        }
    }
}

/// The result of [`Runners::try_submit`].
#[derive(Debug)]
pub enum Submission {
    /// The alert waits in the queue for a runner.
    Queued,
    /// The queue was full, so the alert is handed back.
    QueueFull(Alert),
    /// No runner thread is left, so the alert was dropped, counted and
    /// logged.
    Dropped,
    /// The server is stopping, so the alert was not queued. A fatal one
    /// stays pending for the next start.
    Stopping,
}

impl Shared {
    /// Marks the fatal alert `key` as queued, and returns false when it was
    /// queued or running already.
    fn track(&self, key: FatalKey) -> bool {
        match self.in_flight.lock() {
            Ok(mut in_flight) => in_flight.insert(key),
            Err(_) => true,
        }
    }

    /// Marks the fatal alert `key` as neither queued nor running.
    fn untrack(&self, key: &FatalKey) {
        if let Ok(mut in_flight) = self.in_flight.lock() {
            in_flight.remove(key);
        }
    }

    /// Logs the drops not logged yet, unless the last such warning is recent.
    fn warn_of_drops(&self) {
        let warning = self
            .drops
            .lock()
            .ok()
            .and_then(|mut drops| drops.take_warning(Instant::now()));
        if let Some(warning) = warning {
            log::warn!("{warning}");
        }
    }
}

/// Logs the drops whose warning is due, every [`DROP_TIMER_INTERVAL`], until
/// the runners are gone.
fn log_due_drops(shared: &std::sync::Weak<Shared>) {
    loop {
        std::thread::sleep(DROP_TIMER_INTERVAL);
        let Some(shared) = shared.upgrade() else {
            return;
        };
        shared.warn_of_drops();
    }
}

/// Runs the command for each alert from the queue, on one runner thread,
/// until the queue is closed.
fn run_alerts(receiver: &Mutex<Receiver<Alert>>, shared: &Shared) {
    loop {
        // Once the server stops, the alerts still queued are left for the
        // stop to log.
        if shared.stopping.load(Ordering::SeqCst) {
            return;
        }
        // Only one runner at a time waits for the next alert, while the
        // others wait for the lock, so alerts are taken in arrival order.
        let next = match receiver.lock() {
            Ok(receiver) => receiver.recv(),
            Err(_) => return,
        };
        let Ok(alert) = next else {
            return;
        };
        if shared.stopping.load(Ordering::SeqCst) {
            // A fatal alert stays pending for the next start.
            if let Some(key) = alert.fatal_key() {
                shared.untrack(&key);
            }
            continue;
        }
        shared.running.fetch_add(1, Ordering::SeqCst);
        let end = run_command(&shared.command, &alert, NOTIFY_TIMEOUT);
        if let Some(key) = alert.fatal_key() {
            // A command that handles the stop signal of a service manager
            // may exit with a failure of its own instead of the signal.
            let failed_at_stop =
                end.result != AlertResult::Ok && shared.stopping.load(Ordering::SeqCst);
            if end.stopped || failed_at_stop {
                // Still tracked, so that no requeue runs it again before the
                // next start.
                log::info!(
                    "the fatal alert of transaction {} stays pending, because its notify \
                     command was stopped or failed while the server stops, so the next start \
                     runs the command again",
                    alert.transaction_id
                );
            } else {
                remove_pending(&shared.db_path, &key.0, key.1);
                shared.untrack(&key);
            }
        }
        shared.running.fetch_sub(1, Ordering::SeqCst);
        shared.metrics.count_alert(alert.outcome, end.result);
        // Drops that arrived since the last warning are logged once a runner
        // is done, so that the last ones of a burst are not left unlogged.
        shared.warn_of_drops();
    }
}

/// Removes the fatal alert of `transaction_id` whose entry arrived at
/// `received_at_ns` from the pending alerts once its command has ended by
/// itself or by its timeout, so that the next start does not run it again.
/// A failure is logged, and leaves the alert to run again at the next start.
fn remove_pending(db_path: &std::path::Path, transaction_id: &str, received_at_ns: i64) {
    let mut tries = 0;
    let removed = loop {
        tries += 1;
        let removed = open_alert_store(db_path).and_then(|connection| {
            pending_alerts::remove(&connection, transaction_id, received_at_ns)
        });
        match removed {
            Err(StorageError::Busy(_)) if tries < REMOVE_TRIES => {
                std::thread::sleep(REMOVE_RETRY_PAUSE);
            }
            other => break other,
        }
    };
    if let Err(error) = removed {
        log::warn!(
            "removing the pending fatal alert of transaction {transaction_id} failed, so the \
             next start runs the notify command for it again: {error}"
        );
    }
}

/// Alerts dropped since the last warning, so that a burst of drops gives one
/// warning line per [`DROP_WARNING_INTERVAL`] instead of one per alert. The
/// details of each are its transaction id and outcome.
#[derive(Debug)]
struct DropWarnings(ThrottledEvents<String>);

impl Default for DropWarnings {
    fn default() -> Self {
        DropWarnings(ThrottledEvents::new(DROP_WARNING_INTERVAL))
    }
}

impl DropWarnings {
    fn record(&mut self, alert: &Alert) {
        let details = format!("{} ({})", alert.transaction_id, alert.outcome.as_str());
        self.0.record(Instant::now(), details);
    }

    /// Returns the warning for the drops not logged yet, and marks them as
    /// logged, unless there are none or the last warning was less than
    /// [`DROP_WARNING_INTERVAL`] before `now`.
    fn take_warning(&mut self, now: Instant) -> Option<String> {
        self.0.take_due(now).map(|batch| describe_drops(&batch))
    }

    /// Returns the warning for the drops not logged yet, and marks them as
    /// logged, however recent the last warning is.
    fn take_pending_warning(&mut self, now: Instant) -> Option<String> {
        self.0.take(now).map(|batch| describe_drops(&batch))
    }
}

fn describe_drops(batch: &EventBatch<String>) -> String {
    let alerts = if batch.count == 1 { "alert" } else { "alerts" };
    format!(
        "dropped {} {alerts}, the last for transaction {}, because {QUEUE_CAPACITY} \
         alerts were already waiting for the {RUNNER_COUNT} notify command runners; they are \
         queued again once there is room",
        batch.count, batch.latest
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(transaction_id: &str) -> Alert {
        Alert::fatal_for_test(transaction_id)
    }

    #[test]
    fn first_drop_is_logged_at_once() {
        let mut drops = DropWarnings::default();
        drops.record(&alert("tx-1"));
        let warning = drops.take_warning(Instant::now());
        let expected = "dropped 1 alert, the last for transaction tx-1 (fatal), because 1000 \
                        alerts were already waiting for the 4 notify command runners; they are \
                        queued again once there is room";
        assert_eq!(warning.as_deref(), Some(expected));
    }

    #[test]
    fn drops_within_interval_wait() {
        let start = Instant::now();
        let mut drops = DropWarnings::default();
        drops.record(&alert("tx-1"));
        assert!(drops.take_warning(start).is_some());
        drops.record(&alert("tx-2"));
        let soon = start + DROP_WARNING_INTERVAL / 2;
        assert_eq!(drops.take_warning(soon), None);
    }

    #[test]
    fn later_warning_counts_waiting_drops() {
        let start = Instant::now();
        let mut drops = DropWarnings::default();
        drops.record(&alert("tx-1"));
        assert!(drops.take_warning(start).is_some());
        drops.record(&alert("tx-2"));
        drops.record(&alert("tx-3"));
        let later = start + DROP_WARNING_INTERVAL;
        let warning = drops.take_warning(later).unwrap_or_default();
        assert!(
            warning.starts_with("dropped 2 alerts, the last for transaction tx-3 (fatal),"),
            "{warning}"
        );
    }

    #[test]
    fn pending_warning_ignores_interval() {
        let start = Instant::now();
        let mut drops = DropWarnings::default();
        drops.record(&alert("tx-1"));
        assert!(drops.take_warning(start).is_some());
        drops.record(&alert("tx-2"));
        let warning = drops.take_pending_warning(start).unwrap_or_default();
        assert!(
            warning.starts_with("dropped 1 alert, the last for transaction tx-2 (fatal),"),
            "{warning}"
        );
    }

    #[test]
    fn no_drops_no_warning() {
        let mut drops = DropWarnings::default();
        assert_eq!(drops.take_warning(Instant::now()), None);
    }
}
