//! Alerts: `serve --notify-command CMD` runs CMD through `sh -c` once when a
//! transaction turns fatal and once each time one stalls, with the details in
//! environment variables:
//! `TRANSLOG_TRANSACTION_ID`, `TRANSLOG_OUTCOME`, `TRANSLOG_STAGE`,
//! `TRANSLOG_STATUS` and `TRANSLOG_MESSAGE`.
//!
//! The commands run on a fixed set of runner threads that take alerts from a
//! bounded queue (see `runners`). So a slow or hanging command never holds up
//! storage or requests, and a burst of alerts cannot start a process per
//! alert. Each command runs in a process group of its own with a timeout
//! (see `command`), and its standard output and standard error go to the
//! server log, escaped (see `output`).
//!
//! Nothing here remembers which transactions were alerted. The storage thread
//! reports a transaction as fatal only in the batch that stored its first
//! `FATAL` entry, and that batch's commit adds the alert to the database's
//! pending fatal alerts, which a runner removes once the command has run. So
//! the next start runs the fatal alerts that a crash or a stop left.
//!
//! Stalled transactions are found by the stall watcher (see `stall_watch`).

mod command;
mod output;
mod runners;
mod stall_watch;

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::metrics::Metrics;
use crate::storage::logs::{self, Outcome};
use crate::storage::pending_alerts;
use crate::storage::writer::FatalTransaction;
use crate::storage::{alert_position, StorageError};

pub use command::{describe_notify_command, missing_program};
use runners::Runners;
pub use stall_watch::StalledSource;
use stall_watch::{StallWatch, STALL_CHECK_INTERVAL};

/// How long a write of the stall watcher's position waits for another
/// connection's lock.
const POSITION_BUSY_TIMEOUT: Duration = Duration::from_secs(1);

/// How long the stop waits for the notify commands that run.
const RUNNING_AT_STOP_WAIT: Duration = Duration::from_secs(5);

/// The maximum number of transactions that a log line about alerts not run
/// names.
const MAX_NAMED_TRANSACTIONS: usize = 10;

/// The outcomes that raise an alert.
pub const ALERT_OUTCOMES: [Outcome; 2] = [Outcome::Fatal, Outcome::Stalled];

/// The result of the alert for one transaction, as counted by the metric
/// `translog_alerts_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertResult {
    /// The notify command exited with status 0.
    Ok,
    /// The notify command could not start, exited with a non-zero status or
    /// was ended by a signal, or waiting for it failed.
    Failed,
    /// The notify command ran longer than [`command::NOTIFY_TIMEOUT`] and was killed.
    TimedOut,
    /// The command did not run: a fatal alert found the queue of alerts
    /// waiting for a runner full, or no runner thread was left.
    Dropped,
}

impl AlertResult {
    pub const ALL: [AlertResult; 4] = [
        AlertResult::Ok,
        AlertResult::Failed,
        AlertResult::TimedOut,
        AlertResult::Dropped,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AlertResult::Ok => "ok",
            AlertResult::Failed => "failed",
            AlertResult::TimedOut => "timed_out",
            AlertResult::Dropped => "dropped",
        }
    }
}

/// The details of one alert.
#[derive(Debug, Clone)]
pub struct Alert {
    pub transaction_id: String,
    /// The receive time of the entry that turned the transaction fatal,
    /// which keys its pending alert in the database, or `None` for a stalled
    /// alert.
    pub fatal_received_at_ns: Option<i64>,
    pub outcome: Outcome,
    pub stage: String,
    pub status: String,
    pub message: Option<String>,
}

/// A fatal alert's key in the database: its transaction id and the receive
/// time of the entry that turned the transaction fatal.
pub type FatalKey = (String, i64);

impl Alert {
    /// Builds a fatal alert of `transaction_id` for unit tests.
    #[cfg(test)]
    fn fatal_for_test(transaction_id: &str) -> Alert {
        Alert {
            transaction_id: transaction_id.to_string(),
            fatal_received_at_ns: Some(1),
            outcome: Outcome::Fatal,
            stage: "WORKER_LOAD".to_string(),
            status: "FATAL".to_string(),
            message: None,
        }
    }

    /// Returns the key of a fatal alert's pending row, or `None` for a
    /// stalled alert.
    pub fn fatal_key(&self) -> Option<FatalKey> {
        self.fatal_received_at_ns
            .map(|received_at_ns| (self.transaction_id.clone(), received_at_ns))
    }
}

/// Runs the notify command for fatal and stalled transactions.
#[derive(Clone)]
pub struct Notifier {
    /// The runner threads, or `None` without a notify command.
    runners: Option<Arc<Runners>>,
}

impl Notifier {
    /// Starts the runner threads of `command`, when there is one, for the
    /// database at `db_path`. Each alert is counted in `metrics` by its
    /// result.
    ///
    /// # Errors
    ///
    /// Fails when the operating system cannot start a runner thread.
    pub fn new(
        command: Option<String>,
        db_path: &std::path::Path,
        metrics: Arc<Metrics>,
    ) -> std::io::Result<Notifier> {
        let runners = match command {
            Some(command) => Some(Arc::new(Runners::start(
                Arc::from(command),
                db_path.to_path_buf(),
                metrics,
            )?)),
            None => None,
        };
        Ok(Notifier { runners })
    }

    /// The callback the storage thread calls for each transaction that a
    /// committed batch turned fatal. It logs the transaction, with or without
    /// a notify command, so that fatal transactions can be found in the log.
    pub fn fatal_handler(&self) -> Box<dyn Fn(FatalTransaction) + Send> {
        let notifier = self.clone();
        Box::new(move |fatal| {
            // The message is a Worker's text, so it is escaped.
            let message = match &fatal.message {
                Some(message) => format!("message={message:?}"),
                None => "no message".to_string(),
            };
            log::warn!(
                "transaction {} turned fatal at {}, {message}",
                fatal.transaction_id,
                fatal.stage
            );
            notifier.send(Alert {
                transaction_id: fatal.transaction_id,
                fatal_received_at_ns: Some(fatal.received_at_ns),
                outcome: Outcome::Fatal,
                stage: fatal.stage.to_string(),
                status: fatal.status.to_string(),
                message: fatal.message,
            });
        })
    }

    /// Queues the fatal alerts that an earlier run of the server left pending
    /// in the database of `connection`, because it stopped or crashed before
    /// their commands ran. Without a notify command it removes them instead,
    /// so that a command set later does not alert old transactions. Call it
    /// before the storage thread starts, so that no alert is queued twice.
    pub fn resume_fatal_alerts(&self, connection: &rusqlite::Connection) {
        let Some(runners) = &self.runners else {
            match pending_alerts::clear(connection) {
                Ok(0) => {}
                Ok(count) => log::info!(
                    "removed {} of an earlier run, because no notify command is set",
                    alerts_text(count, "pending fatal")
                ),
                Err(error) => log::warn!("removing the pending fatal alerts failed: {error}"),
            }
            return;
        };
        match runners.queue_pending(connection) {
            Ok((queued, 0)) if queued.is_empty() => {}
            Ok((queued, left)) => {
                let more = match left {
                    0 => String::new(),
                    1 => "; 1 more waits for room in the queue".to_string(),
                    _ => format!("; {left} more wait for room in the queue"),
                };
                log::info!(
                    "running the notify command for {} that an earlier run of the server did not \
                     run: {}{more}",
                    alerts_text(queued.len(), "fatal"),
                    named_transactions(queued.iter().map(String::as_str))
                );
            }
            Err(error) => log::warn!(
                "reading the pending fatal alerts failed, so the fatal alerts that an earlier \
                 run did not run are not run now: {error}"
            ),
        }
    }

    /// Starts a task that looks for transactions that turned stalled, and
    /// alerts once for each stall. It starts after the position stored by an
    /// earlier run, or at the present on a database without one. Without a
    /// notify command it only removes the stored position, so that alerts
    /// resume from the present when a command is set again.
    pub fn watch_stalled(&self, database: StalledSource) {
        let Some(runners) = self.runners.clone() else {
            tokio::task::spawn_blocking(move || {
                let removed = open_alert_store(&database.db_path)
                    .and_then(|connection| alert_position::clear(&connection));
                if let Err(error) = removed {
                    log::warn!("removing the stored position of stalled alerts failed: {error}");
                }
            });
            return;
        };
        let interval =
            (database.stall_after / 4).clamp(Duration::from_secs(1), STALL_CHECK_INTERVAL);
        tokio::spawn(async move {
            let mut watch = StallWatch::start(&database).await;
            loop {
                tokio::time::sleep(interval).await;
                watch.alert_stalled(&database, &runners).await;
                if runners.has_deferred() {
                    queue_deferred(&database.db_path, &runners).await;
                }
            }
        });
    }

    /// Logs the dropped alerts not logged yet, and the alerts still waiting
    /// for a runner when the server stops. The fatal ones stay pending in the
    /// database, so the next start runs them, but the stalled ones are lost.
    /// Then waits at most [`RUNNING_AT_STOP_WAIT`] for the running commands,
    /// so that a command that ends in that time is not run again at the next
    /// start.
    pub async fn drop_waiting_at_stop(&self) {
        let Some(runners) = &self.runners else {
            return;
        };
        runners.stop();
        runners.log_pending_drops();
        let waiting = runners.take_waiting();
        log_waiting_at_stop(&waiting);
        let deadline = Instant::now() + RUNNING_AT_STOP_WAIT;
        while runners.running() > 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let running = runners.running();
        match running {
            0 => {}
            1 => log::info!(
                "1 notify command is still running after waiting {RUNNING_AT_STOP_WAIT:?} at the \
                 stop; its fatal alert stays pending, so the next start runs it again"
            ),
            _ => log::info!(
                "{running} notify commands are still running after waiting \
                 {RUNNING_AT_STOP_WAIT:?} at the stop; their fatal alerts stay pending, so the \
                 next start runs them again"
            ),
        }
    }

    /// Marks the runners as stopping, as soon as the server received a stop
    /// signal: no alert is queued or started any more, and a command that
    /// fails from then on leaves its alert pending for the next start.
    pub fn begin_stop(&self) {
        if let Some(runners) = &self.runners {
            runners.stop();
        }
    }

    /// Queues the alert for a runner, when there is a notify command.
    fn send(&self, alert: Alert) {
        if let Some(runners) = &self.runners {
            runners.submit(alert);
        }
    }
}

/// Logs the alerts that were still waiting for a runner at the stop.
fn log_waiting_at_stop(waiting: &[Alert]) {
    if waiting.is_empty() {
        return;
    }
    let (fatal, stalled): (Vec<&Alert>, Vec<&Alert>) = waiting
        .iter()
        .partition(|alert| alert.outcome == Outcome::Fatal);
    if !fatal.is_empty() {
        log::info!(
            "{} fatal alerts still waiting for the notify command were not run because \
                 the server is stopping, and the next start runs them: {}",
            fatal.len(),
            named_transactions(fatal.iter().map(|alert| alert.transaction_id.as_str()))
        );
    }
    if !stalled.is_empty() {
        log::warn!(
            "{} stalled alerts still waiting for the notify command were not run because \
                 the server is stopping, and the next start does not run them: {}; find their \
                 transactions with translog log list --outcome stalled",
            stalled.len(),
            named_transactions(stalled.iter().map(|alert| alert.transaction_id.as_str()))
        );
    }
}

/// Queues the pending fatal alerts that found the queue full, now that the
/// runners may have room, on a blocking thread because it reads the
/// database.
async fn queue_deferred(db_path: &std::path::Path, runners: &Arc<Runners>) {
    let db_path = db_path.to_path_buf();
    let runners = Arc::clone(runners);
    let queued = tokio::task::spawn_blocking(move || {
        let connection = open_alert_store(&db_path)?;
        runners.queue_pending(&connection)
    })
    .await;
    match queued {
        Ok(Ok((queued, _))) if queued.is_empty() => {}
        Ok(Ok((queued, left))) => log::info!(
            "queued {} fatal alerts that found the queue full before, {left} still wait: {}",
            queued.len(),
            named_transactions(queued.iter().map(String::as_str))
        ),
        Ok(Err(error)) => log::warn!(
            "queueing the fatal alerts that found the queue full failed, so they wait for \
             the next check: {error}"
        ),
        Err(error) => log::warn!("the task that queues deferred fatal alerts failed: {error}"),
    }
}

/// Returns the first [`MAX_NAMED_TRANSACTIONS`] of `ids`, joined by commas,
/// and how many more there are.
fn named_transactions<'a>(ids: impl ExactSizeIterator<Item = &'a str>) -> String {
    let total = ids.len();
    let named: Vec<&str> = ids.take(MAX_NAMED_TRANSACTIONS).collect();
    let more = total - named.len();
    if more > 0 {
        format!("{} and {more} more", named.join(", "))
    } else {
        named.join(", ")
    }
}

/// Formats a receive time in nanoseconds since the epoch for the log.
fn format_receive_time(nanos: i64) -> String {
    logs::format_instant(chrono::DateTime::from_timestamp_nanos(nanos))
}

/// Opens a connection that stores the stall watcher's position or removes
/// a pending fatal alert. It never creates the file, so that a database
/// moved away while the server starts is not replaced by an empty one at its
/// path.
fn open_alert_store(db_path: &std::path::Path) -> Result<rusqlite::Connection, StorageError> {
    let flags =
        rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let connection = rusqlite::Connection::open_with_flags(db_path, flags)?;
    connection.busy_timeout(POSITION_BUSY_TIMEOUT)?;
    connection.pragma_update(None, "synchronous", "FULL")?;
    Ok(connection)
}

/// Returns `count` with `kind` and "alert" or "alerts", such as "1 fatal
/// alert" or "3 pending fatal alerts".
pub(crate) fn alerts_text(count: usize, kind: &str) -> String {
    match count {
        1 => format!("1 {kind} alert"),
        _ => format!("{count} {kind} alerts"),
    }
}
