//! Runs the notify command on a fixed number of threads, which take alerts in
//! arrival order from a bounded queue and run the command for each. A burst
//! of alerts, such as every Worker reporting `FATAL` while a shared
//! database server is down, then starts at most [`RUNNER_COUNT`] commands at
//! once. A fatal alert beyond [`QUEUE_CAPACITY`] waiting ones is dropped and
//! counted, and a stalled one is handed back to the stall watcher, which
//! tries it again at its next check.

use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::metrics::Metrics;
use crate::storage::pending_alerts;
use crate::throttled_log::{EventBatch, ThrottledEvents};

use super::{open_alert_store, run_command, Alert, AlertResult, NOTIFY_TIMEOUT};

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

/// The sending end of the queue, shared by the storage thread (fatal alerts)
/// and the stalled-transaction watcher.
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
    /// it back when the queue is full, for the caller to retry or drop.
    pub fn try_submit(&self, alert: Alert) -> Submission {
        match self.sender.try_send(alert) {
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
}

impl Shared {
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
        // Only one runner at a time waits for the next alert, while the
        // others wait for the lock, so alerts are taken in arrival order.
        let next = match receiver.lock() {
            Ok(receiver) => receiver.recv(),
            Err(_) => return,
        };
        let Ok(alert) = next else {
            return;
        };
        let end = run_command(&shared.command, &alert, NOTIFY_TIMEOUT);
        if let Some(received_at_ns) = alert.fatal_received_at_ns {
            if end.signalled {
                log::info!(
                    "the fatal alert of transaction {} stays pending, because a signal ended \
                     its notify command, so the next start runs the command again",
                    alert.transaction_id
                );
            } else {
                remove_pending(&shared.db_path, &alert.transaction_id, received_at_ns);
            }
        }
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
    let removed = open_alert_store(db_path)
        .and_then(|connection| pending_alerts::remove(&connection, transaction_id, received_at_ns));
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
         alerts were already waiting for the {RUNNER_COUNT} notify command runners; the next \
         start runs them",
        batch.count, batch.latest
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::logs::Outcome;

    fn alert(transaction_id: &str) -> Alert {
        Alert {
            transaction_id: transaction_id.to_string(),
            fatal_received_at_ns: Some(1),
            outcome: Outcome::Fatal,
            stage: "WORKER_LOAD".to_string(),
            status: "FATAL".to_string(),
            message: None,
        }
    }

    #[test]
    fn first_drop_is_logged_at_once() {
        let mut drops = DropWarnings::default();
        drops.record(&alert("tx-1"));
        let warning = drops.take_warning(Instant::now());
        let expected = "dropped 1 alert, the last for transaction tx-1 (fatal), because 1000 \
                        alerts were already waiting for the 4 notify command runners; the next \
                        start runs them";
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
