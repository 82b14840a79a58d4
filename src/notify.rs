//! Alerts: `serve --notify-command CMD` runs CMD through `sh -c` once when a
//! transaction turns fatal and once each time one stalls, with the details in
//! environment variables:
//! `TRANSLOG_TRANSACTION_ID`, `TRANSLOG_OUTCOME`, `TRANSLOG_STAGE`,
//! `TRANSLOG_STATUS` and `TRANSLOG_MESSAGE`.
//!
//! The commands run on a fixed set of runner threads that take alerts from a
//! bounded queue (see `runners`). So a slow or hanging command never holds up
//! storage or requests, and a burst of alerts cannot start a process per
//! alert. Each command's standard output and standard error go to the server
//! log, escaped (see `output`).
//!
//! Nothing here remembers which transactions were alerted. The storage thread
//! reports a transaction as fatal only in the batch that stored its first
//! `FATAL` entry, and that batch's commit adds the alert to the database's
//! pending fatal alerts, which a runner removes once the command has run. So
//! the next start runs the fatal alerts that a crash or a stop left.
//!
//! The stall watcher reads each transaction once per stall, because each
//! check starts where the previous one ended. It stores that
//! position in the database whenever it queued an alert, so that after a
//! restart it alerts the stalls that happened while no server ran.

mod output;
mod runners;

use std::borrow::Cow;
use std::os::unix::process::CommandExt as _;
use std::os::unix::process::ExitStatusExt as _;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::metrics::Metrics;
use crate::storage::logs::{self, Cursor, Outcome};
use crate::storage::pending_alerts;
use crate::storage::writer::FatalTransaction;
use crate::storage::{alert_position, now_ns, run_read, ReaderPool, StorageError};

use output::OutputPipes;
use runners::{Runners, Submission, QUEUE_CAPACITY, RUNNER_COUNT};

/// The maximum pause between two checks for newly stalled transactions.
const STALL_CHECK_INTERVAL: Duration = Duration::from_secs(30);

/// The maximum number of stalled transactions read at once, as many as the
/// queue of alerts can hold.
const STALLED_PAGE_SIZE: usize = runners::QUEUE_CAPACITY;

/// How long a write of the stall watcher's position waits for another
/// connection's lock.
const POSITION_BUSY_TIMEOUT: Duration = Duration::from_secs(1);

/// The signals that stop a process, as a service manager or an operator
/// sends them, in contrast to those of a crash.
const STOP_SIGNALS: [i32; 4] = [
    rustix::process::Signal::TERM.as_raw(),
    rustix::process::Signal::INT.as_raw(),
    rustix::process::Signal::HUP.as_raw(),
    rustix::process::Signal::KILL.as_raw(),
];

/// How long the stop waits for the notify commands that run.
const RUNNING_AT_STOP_WAIT: Duration = Duration::from_secs(5);

/// The maximum number of transactions that a log line about alerts not run
/// names.
const MAX_NAMED_TRANSACTIONS: usize = 10;

/// How long a notify command may run before it is killed, so that a hanging
/// command cannot keep its runner thread forever.
const NOTIFY_TIMEOUT: Duration = Duration::from_secs(60);

/// How long to wait, after the command ended, for its output to close. A
/// process that the command left running in the background keeps it open,
/// and then the output read by that time is logged and the pipes are closed.
const OUTPUT_CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

/// The maximum time between two checks whether a notify command exited.
const EXIT_CHECK_INTERVAL: Duration = Duration::from_millis(100);

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
    /// The notify command ran longer than [`NOTIFY_TIMEOUT`] and was killed.
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

/// The end of a notify command: its result, and whether a signal ended it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandEnd {
    pub result: AlertResult,
    /// True when a stop signal that translog did not send (SIGTERM, SIGINT,
    /// SIGHUP or SIGKILL) ended the command. At a stop of the service,
    /// systemd sends SIGTERM to every process of the unit, the running
    /// commands included. A command that crashes, such as with SIGSEGV, is not
    /// stopped: its alert ran.
    pub stopped: bool,
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
                    "removed {count} pending fatal alerts of an earlier run, because no notify \
                     command is set"
                ),
                Err(error) => log::warn!("removing the pending fatal alerts failed: {error}"),
            }
            return;
        };
        match runners.queue_pending(connection) {
            Ok((queued, 0)) if queued.is_empty() => {}
            Ok((queued, left)) => {
                let more = if left > 0 {
                    format!("; {left} more wait for room in the queue")
                } else {
                    String::new()
                };
                log::info!(
                    "running the notify command for {} fatal alerts that an earlier run of the \
                     server did not run: {}{more}",
                    queued.len(),
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
        if running > 0 {
            log::info!(
                "{running} notify commands are still running after waiting \
                 {RUNNING_AT_STOP_WAIT:?} at the stop; their fatal alerts stay pending, so the \
                 next start runs them again"
            );
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

/// The database that the stall watcher reads, and when a transaction
/// counts as stalled.
pub struct StalledSource {
    pub readers: Arc<ReaderPool>,
    /// The path of the database, where the watcher stores its position.
    pub db_path: std::path::PathBuf,
    /// The time without a new entry after which a running transaction is
    /// stalled.
    pub stall_after: Duration,
}

/// The state of the stall watcher between two checks.
struct StallWatch {
    /// The position after which the next check reads.
    position: Cursor,
    /// True while checks stop at a full queue, so that only the first of
    /// them logs it.
    waiting: bool,
    /// The connection that stores the position, or `None` when it could not
    /// be opened or was lost.
    store: Option<rusqlite::Connection>,
    /// True when the position moved past an alert and is not stored yet.
    unstored: bool,
    /// True after a failed write of the position, until one succeeds, so
    /// that a lasting failure is logged once.
    store_failing: bool,
    /// True after a failed read of stalled transactions, until one succeeds,
    /// so that a lasting failure is logged once.
    read_failing: bool,
}

impl StallWatch {
    /// Starts after the stored position, or, when there is none, at the
    /// stall cutoff of now, which it stores. Without a stored position the
    /// watcher still alerts the stalls from now on.
    async fn start(database: &StalledSource) -> StallWatch {
        let present = Cursor {
            last_received_at_ns: logs::stall_cutoff(now_ns(), database.stall_after),
            transaction_id: String::new(),
        };
        let db_path = database.db_path.clone();
        let first = present.clone();
        let opened = tokio::task::spawn_blocking(move || {
            let connection = open_alert_store(&db_path)?;
            let stored = alert_position::read(&connection)?;
            if stored.is_none() {
                alert_position::write(&connection, &first)?;
            }
            Ok::<_, StorageError>((connection, stored))
        })
        .await;
        let (store, position) = match opened {
            Ok(Ok((connection, Some(stored)))) => {
                log::info!(
                    "stalled alerts resume at the position that an earlier run stored: \
                     transactions whose last entry arrived after {}",
                    format_receive_time(stored.last_received_at_ns)
                );
                (Some(connection), stored)
            }
            Ok(Ok((connection, None))) => {
                log::info!(
                    "stalled alerts start with transactions whose last entry arrived after {}",
                    format_receive_time(present.last_received_at_ns)
                );
                (Some(connection), present)
            }
            Ok(Err(error)) => {
                log::warn!(
                    "reading the stored position of stalled alerts failed: {error}; alerts \
                     start from now, and stalls while the server is stopped will not be alerted"
                );
                (None, present)
            }
            Err(error) => {
                log::warn!("the task that reads the position of stalled alerts failed: {error}");
                (None, present)
            }
        };
        StallWatch {
            position,
            waiting: false,
            store,
            unstored: false,
            store_failing: false,
            read_failing: false,
        }
    }

    /// Stores the position, when it moved past an alert since it was last
    /// stored. A failure is logged and the write is tried again after the
    /// next check.
    async fn store_position(&mut self) {
        if !self.unstored {
            return;
        }
        let Some(connection) = self.store.take() else {
            return;
        };
        let position = self.position.clone();
        let written = tokio::task::spawn_blocking(move || {
            let result = alert_position::write(&connection, &position);
            (connection, result)
        })
        .await;
        match written {
            Ok((connection, result)) => {
                self.store = Some(connection);
                match result {
                    Ok(()) => {
                        if self.store_failing {
                            log::info!("storing the position of stalled alerts works again");
                        }
                        self.unstored = false;
                        self.store_failing = false;
                    }
                    Err(error) if !self.store_failing => {
                        log::warn!(
                            "storing the position of stalled alerts failed: {error}; it is \
                             tried again after each check, and after a restart now, stalls \
                             alerted since the last stored position would be alerted again"
                        );
                        self.store_failing = true;
                    }
                    Err(_) => {}
                }
            }
            Err(error) => {
                log::warn!("the task that stores the position of stalled alerts failed: {error}")
            }
        }
    }

    /// Queues an alert for each transaction that stalled between the
    /// position and the stall cutoff of now, and moves the position past the
    /// alerts queued. A failed read or a full queue leaves the position at
    /// the last alert queued, so that the next check reads the rest.
    async fn alert_stalled(&mut self, database: &StalledSource, runners: &Runners) {
        let position = &mut self.position;
        let cutoff = logs::stall_cutoff(now_ns(), database.stall_after);
        loop {
            let after = position.clone();
            let page = run_read(&database.readers, move |connection| {
                logs::stalled_transactions(connection, &after, cutoff, STALLED_PAGE_SIZE)
            })
            .await;
            let page = match page {
                Ok(page) => page,
                Err(error) => {
                    if !self.read_failing {
                        log::warn!(
                            "looking for stalled transactions failed: {error}; it is tried again \
                             at each check"
                        );
                        self.read_failing = true;
                    }
                    return;
                }
            };
            if self.read_failing {
                log::info!("looking for stalled transactions works again");
                self.read_failing = false;
            }
            let complete = page.len() < STALLED_PAGE_SIZE;
            for stalled in page {
                let next_position = stalled.position();
                let alert = Alert {
                    transaction_id: stalled.transaction_id,
                    fatal_received_at_ns: None,
                    outcome: Outcome::Stalled,
                    stage: stalled.last_stage,
                    status: stalled.last_status,
                    message: stalled.last_message,
                };
                if let Submission::QueueFull(alert) = runners.try_submit(alert) {
                    if !self.waiting {
                        log::warn!(
                            "stalled alerts from transaction {} on wait for the next check, \
                             because {QUEUE_CAPACITY} alerts are already waiting for the \
                             {RUNNER_COUNT} notify command runners",
                            alert.transaction_id
                        );
                    }
                    self.waiting = true;
                    self.store_position().await;
                    return;
                }
                *position = next_position;
                self.unstored = true;
            }
            if complete {
                break;
            }
        }
        self.waiting = false;

        // NOTE: an entry keeps the time it arrived, but is stored a little
        // later. One stored after this cutoff passed its arrival time (a
        // --stall-after shorter than a slow upload or a blocked database)
        // lands behind the next check's start, and that stall is not alerted.
        // A clock set back gives a lower cutoff, which must not move the
        // position back over alerts already sent.
        if cutoff > position.last_received_at_ns {
            *position = Cursor {
                last_received_at_ns: cutoff,
                transaction_id: String::new(),
            };
        }
        self.store_position().await;
    }
}

/// Runs `command` for `alert`, waits for it to end, at most `timeout`, and
/// logs its output and how it ended.
fn run_command(command: &str, alert: &Alert, timeout: Duration) -> CommandEnd {
    let spawned = shell(command)
        .env(
            "TRANSLOG_TRANSACTION_ID",
            &*environment_value(&alert.transaction_id),
        )
        .env("TRANSLOG_OUTCOME", alert.outcome.as_str())
        .env("TRANSLOG_STAGE", &*environment_value(&alert.stage))
        .env("TRANSLOG_STATUS", &*environment_value(&alert.status))
        .env(
            "TRANSLOG_MESSAGE",
            &*environment_value(alert.message.as_deref().unwrap_or("")),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(error) => {
            log::error!(
                "notify command for transaction {} could not start: {error}",
                alert.transaction_id
            );
            return CommandEnd {
                result: AlertResult::Failed,
                stopped: false,
            };
        }
    };
    let subject = format!(
        "notify command for transaction {} ({})",
        alert.transaction_id,
        alert.outcome.as_str()
    );
    let output = OutputPipes::new(child.stdout.take(), child.stderr.take());
    report_exit(&mut child, output, &subject, timeout)
}

/// Returns `value` with each NUL replaced by U+FFFD. An environment variable
/// ends at its first NUL, so `Command::spawn` fails on a value that
/// contains one, and a Worker's message may.
fn environment_value(value: &str) -> Cow<'_, str> {
    if value.contains('\0') {
        Cow::Owned(value.replace('\0', "\u{FFFD}"))
    } else {
        Cow::Borrowed(value)
    }
}

/// Prepares `sh -c COMMAND` in a process group of its own, so that a timeout
/// ends whatever the shell started too, not only the shell.
fn shell(command: &str) -> Command {
    let mut shell = Command::new("sh");
    shell.process_group(0).arg("-c").arg(command);
    shell
}

/// Waits for the notify command of one alert, described by `subject`, at
/// most `timeout`, logs its output and how it ended, and returns that.
/// Standard output is logged at `info`. Standard error goes into the error
/// line of a command that failed or timed out, and is otherwise logged at
/// `warn`.
fn report_exit(
    child: &mut std::process::Child,
    mut output: OutputPipes,
    subject: &str,
    timeout: Duration,
) -> CommandEnd {
    let exit = wait_with_timeout(child, timeout, &mut output);

    let output = output.finish(Instant::now() + OUTPUT_CLOSE_TIMEOUT);
    if let Some(error) = &output.error {
        log::error!("reading the output of the {subject} failed: {error}");
    }
    let stdout = output.stdout.describe();
    let stderr = output.stderr.describe();
    if let Some(text) = stdout {
        log::info!("{subject} wrote to stdout: {text}");
    }
    let stderr_suffix = stderr
        .as_ref()
        .map(|text| format!("; stderr: {text}"))
        .unwrap_or_default();

    let stopped = matches!(
        &exit,
        Ok(Some(status)) if status.signal().is_some_and(|signal| STOP_SIGNALS.contains(&signal))
    );
    let result = match exit {
        Ok(Some(status)) if status.success() => {
            if let Some(text) = stderr {
                log::warn!("{subject} wrote to stderr: {text}");
            }
            log::info!("{subject} ran");
            AlertResult::Ok
        }
        Ok(Some(status)) => {
            log::error!("{subject} failed: {status}{stderr_suffix}");
            AlertResult::Failed
        }
        Ok(None) => {
            log::error!("{subject} timed out after {timeout:?} and was killed{stderr_suffix}");
            AlertResult::TimedOut
        }
        Err(error) => {
            log::error!("waiting for the {subject} failed: {error}{stderr_suffix}");
            AlertResult::Failed
        }
    };
    CommandEnd { result, stopped }
}

/// Waits for `child` to exit, reading its `output` meanwhile, and kills its
/// process group after `timeout`. Returns `None` when it was killed.
fn wait_with_timeout(
    child: &mut std::process::Child,
    timeout: Duration,
    output: &mut OutputPipes,
) -> std::io::Result<Option<std::process::ExitStatus>> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            let group = rustix::process::Pid::from_child(child);
            if rustix::process::kill_process_group(group, rustix::process::Signal::KILL).is_err() {
                child.kill()?;
            }
            child.wait()?;
            return Ok(None);
        }
        output.read_for(EXIT_CHECK_INTERVAL.min(left));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Returns true while process `pid` exists and has not exited.
    fn is_running(pid: &str) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|stat| {
                let state = stat.rsplit(')').next().unwrap_or("").trim_start();
                !state.starts_with('Z')
            })
            .unwrap_or(false)
    }

    #[test]
    fn timeout_kills_started_processes() {
        let directory = tempfile::tempdir().unwrap();
        let pid_file = directory.path().join("pid");
        let command = format!("sleep 30 & echo $! > {}; wait", pid_file.display());
        let mut child = shell(&command).spawn().unwrap();
        let mut pid = String::new();
        for _ in 0..50 {
            pid = std::fs::read_to_string(&pid_file).unwrap_or_default();
            if pid.ends_with('\n') {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let pid = pid.trim().to_string();
        assert!(is_running(&pid), "sleep {pid} did not start");
        let mut output = OutputPipes::new(None, None);
        let status = wait_with_timeout(&mut child, Duration::from_millis(100), &mut output);
        assert!(status.unwrap().is_none());
        std::thread::sleep(Duration::from_millis(200));
        assert!(!is_running(&pid), "sleep {pid} survived the timeout");
    }

    fn fatal_alert() -> Alert {
        Alert {
            transaction_id: "tx-unit".to_string(),
            fatal_received_at_ns: Some(1),
            outcome: Outcome::Fatal,
            stage: "WORKER_LOAD".to_string(),
            status: "FATAL".to_string(),
            message: None,
        }
    }

    #[test]
    fn nul_in_environment_value_is_replaced() {
        assert_eq!(environment_value("mysql\0error"), "mysql\u{FFFD}error");
    }

    #[test]
    fn successful_command_is_ok() {
        let end = run_command("true", &fatal_alert(), Duration::from_secs(10));
        assert_eq!(end.result, AlertResult::Ok);
    }

    #[test]
    fn failing_command_is_failed() {
        let end = run_command("exit 3", &fatal_alert(), Duration::from_secs(10));
        assert_eq!(end.result, AlertResult::Failed);
    }

    #[test]
    fn failing_command_is_not_stopped() {
        let end = run_command("exit 3", &fatal_alert(), Duration::from_secs(10));
        assert!(!end.stopped);
    }

    #[test]
    fn command_ended_by_sigterm_is_stopped() {
        let end = run_command("kill -TERM $$", &fatal_alert(), Duration::from_secs(10));
        assert!(end.stopped);
    }

    #[test]
    fn crashed_command_is_not_stopped() {
        let end = run_command("kill -SEGV $$", &fatal_alert(), Duration::from_secs(10));
        assert!(!end.stopped);
    }

    #[test]
    fn slow_command_is_timed_out() {
        let end = run_command("sleep 5", &fatal_alert(), Duration::from_millis(200));
        assert_eq!(end.result, AlertResult::TimedOut);
    }

    #[test]
    fn timed_out_command_is_not_stopped() {
        let end = run_command("sleep 5", &fatal_alert(), Duration::from_millis(200));
        assert!(!end.stopped);
    }

    /// Returns what the descriptors `fds` of process `pid` refer to, such as
    /// `pipe:[1234]`, leaving out those that are not open.
    fn open_files(pid: &str, fds: &[&str]) -> Vec<std::path::PathBuf> {
        fds.iter()
            .filter_map(|fd| std::fs::read_link(format!("/proc/{pid}/fd/{fd}")).ok())
            .collect()
    }

    /// Returns what every open descriptor of this process refers to.
    fn own_open_files() -> Vec<std::path::PathBuf> {
        std::fs::read_dir("/proc/self/fd")
            .unwrap()
            .filter_map(|entry| std::fs::read_link(entry.ok()?.path()).ok())
            .collect()
    }

    #[test]
    fn background_process_output_is_closed() {
        let directory = tempfile::tempdir().unwrap();
        let pid_file = directory.path().join("pid");
        // The background sleep keeps the command's stdout and stderr open.
        let command = format!("sleep 30 & echo $! > {}", pid_file.display());
        let result = run_command(&command, &fatal_alert(), Duration::from_secs(10)).result;
        let pid = std::fs::read_to_string(&pid_file).unwrap();
        let pid = pid.trim();
        let sleep_output = open_files(pid, &["1", "2"]);
        let ours = own_open_files();
        let _ = std::process::Command::new("kill").arg(pid).status();

        assert_eq!(result, AlertResult::Ok);
        assert_eq!(
            sleep_output.len(),
            2,
            "sleep {pid} has {sleep_output:?} open"
        );
        for pipe in &sleep_output {
            assert!(
                !ours.contains(pipe),
                "{} still open after the command exited",
                pipe.display()
            );
        }
    }

    #[test]
    fn quick_command_reports_status() {
        let mut child = shell("exit 3").spawn().unwrap();
        let mut output = OutputPipes::new(None, None);
        let status = wait_with_timeout(&mut child, Duration::from_secs(10), &mut output).unwrap();
        assert_eq!(status.and_then(|status| status.code()), Some(3));
    }
}
