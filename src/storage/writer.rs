//! The storage thread: it owns the connection that writes entries, takes every
//! entry waiting on its channel, stores them all in one database transaction
//! (group commit) and only then replies to each request.
//!
//! With `synchronous=FULL` each commit waits for the disk, so one commit per
//! request would cap the service at the disk's sync rate; one commit per batch
//! spreads that wait over every request that arrived meanwhile.

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::thread::{self, JoinHandle};

use chrono::{DateTime, SecondsFormat};
use chrono_tz::Tz;
use rusqlite::{
    params, CachedStatement, Connection, OptionalExtension, Transaction, TransactionBehavior,
};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tokio::sync::oneshot;

use super::files::FileCheck;
use super::free_space;
use super::pending_alerts::{self, PendingFatal};
use super::server_instance::Token;
use super::StorageError;
use crate::entry::{NewEntry, Stage, Status};
use crate::metrics::{Metrics, UnavailableReason};
use crate::throttled_log::{EventBatch, ThrottledEvents};

/// The maximum number of entries stored in one database transaction.
pub const MAX_BATCH: usize = 1024;

/// How often an idle storage thread checks its files, or, after a batch
/// failed, whether commits work again.
const PROBE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// The shortest time between two log lines about failed batches, so that a
/// full disk under clients that retry at once does not flood the log.
const FAILURE_LOG_INTERVAL: std::time::Duration = std::time::Duration::from_secs(10);

/// The result of storing one entry.
#[derive(Debug)]
pub enum WriteOutcome {
    /// A new row was committed.
    Stored,
    /// The same entry, message included, was already stored: nothing changed.
    Repeated,
    /// An entry with the same key but another message is stored; it was
    /// kept. `timestamp_sent` is the timestamp as this request sent it.
    Conflict { timestamp_sent: String },
    /// The request's user changed after its credentials were checked (a new
    /// password or zone, a role that may not write, disabled or removed), so
    /// the entry was not stored, and the credentials must be checked again.
    CredentialsChanged,
    /// The batch was not committed, so this entry was not stored.
    Failed(Arc<StorageError>),
}

/// The reason an entry could not be queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubmitError {
    /// The queue is full: the disk cannot keep up.
    Overloaded,
    /// The storage thread has stopped.
    Stopped,
}

/// The user that a write request's credentials matched on the HTTP thread,
/// from the credentials cache or a verification. It has no `Debug`, so that
/// the stored hash cannot reach a log.
#[derive(Clone)]
pub struct CheckedUser {
    /// The credentials generation that the check read.
    pub generation: i64,
    /// The stored password hash that the password matched.
    pub password_hash: Arc<str>,
    /// The user's own zone, in which a timestamp without an offset was read.
    pub timezone: Option<Tz>,
}

struct WriteRequest {
    entry: NewEntry,
    received_at_ns: i64,
    checked: CheckedUser,
    reply: oneshot::Sender<WriteOutcome>,
}

/// A transaction that turned fatal in a committed batch, for alerts.
#[derive(Debug, Clone)]
pub struct FatalTransaction {
    pub transaction_id: String,
    /// The receive time of the entry that turned the transaction fatal.
    pub received_at_ns: i64,
    pub stage: Stage,
    pub status: Status,
    pub message: Option<String>,
}

/// The storage thread's handling of each transaction that a committed batch
/// turned fatal.
pub struct FatalHandling {
    /// Called on the storage thread after the commit.
    pub callback: Box<dyn Fn(FatalTransaction) + Send>,
    /// True when the commit also adds the transaction's alert to
    /// `pending_fatal_alerts`, as with a notify command.
    pub keep_alerts: bool,
}

impl FatalTransaction {
    /// Returns the alert of this transaction as `pending_fatal_alerts` keeps it.
    pub fn pending(&self) -> PendingFatal {
        PendingFatal {
            transaction_id: self.transaction_id.clone(),
            received_at_ns: self.received_at_ns,
            stage: self.stage.to_string(),
            status: self.status.to_string(),
            message: self.message.clone(),
        }
    }
}

/// The sending side of the storage thread.
pub struct Writer {
    sender: Mutex<Option<SyncSender<WriteRequest>>>,
    /// The storage thread, which returns true when it closed the database.
    thread: Mutex<Option<JoinHandle<bool>>>,
    failure: Arc<Failure>,
    /// The first damaged page that a write or a read found, kept until the
    /// server stops because the damage stays until the file is restored.
    damage: Arc<OnceLock<String>>,
}

/// The cause that keeps commits from working, shared by the storage thread
/// and [`Writer::health`]: `None` while they work, else the error of the
/// last failed batch, health probe or file check.
#[derive(Default)]
struct Failure(Mutex<Option<Unhealthy>>);

impl Failure {
    fn set(&self, error: &StorageError) {
        let unhealthy = Unhealthy {
            reason: UnavailableReason::from(error),
            cause: error.to_string(),
        };
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(unhealthy);
    }

    fn clear(&self) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }

    fn get(&self) -> Option<Unhealthy> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn is_set(&self) -> bool {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some()
    }
}

/// The reason and cause of the storage thread rejecting writes.
#[derive(Debug, Clone)]
pub struct Unhealthy {
    pub reason: UnavailableReason,
    /// The cause, for the log.
    pub cause: String,
}

impl Writer {
    /// Starts the storage thread on `connection` to the database at `db`,
    /// whose files it checks before each commit. The check compares the
    /// database's token with `token`, the one that the server wrote to it, if
    /// any.
    /// At most `queue_capacity` entries wait; `on_fatal` handles each
    /// transaction that a committed batch turned fatal. Outcomes are
    /// delivered by a task on the tokio runtime of the caller, which first
    /// calls `on_generation` with the credentials generation that the batch
    /// read.
    ///
    /// # Errors
    ///
    /// Fails when called outside a tokio runtime, or when the operating system
    /// cannot start a thread.
    pub fn spawn(
        connection: Connection,
        db: &std::path::Path,
        token: Option<Token>,
        queue_capacity: usize,
        metrics: Arc<Metrics>,
        on_fatal: FatalHandling,
        on_generation: Box<dyn Fn(i64) + Send>,
    ) -> std::io::Result<Writer> {
        let runtime = tokio::runtime::Handle::try_current().map_err(std::io::Error::other)?;
        let (replies, batches) = unbounded_channel();
        runtime.spawn(deliver_outcomes(batches, on_generation));
        let (sender, receiver) = mpsc::sync_channel(queue_capacity);
        let failure = Arc::new(Failure::default());
        let thread_failure = Arc::clone(&failure);
        let damage = Arc::new(OnceLock::new());
        let thread_damage = Arc::clone(&damage);
        let files = FileCheck::new(db, token);
        let thread = thread::Builder::new()
            .name("storage".to_string())
            .spawn(move || {
                let last_received_at_ns = latest_receive_time(&connection);
                let thread = StorageThread {
                    connection,
                    files,
                    failures: BatchLog::failures(),
                    splits: BatchLog::splits(),
                    failure: &thread_failure,
                    damage: &thread_damage,
                    metrics: &metrics,
                    last_received_at_ns,
                    keep_fatal_alerts: on_fatal.keep_alerts,
                };
                thread.run(receiver, &replies, &*on_fatal.callback)
            })?;
        Ok(Writer {
            sender: Mutex::new(Some(sender)),
            thread: Mutex::new(Some(thread)),
            failure,
            damage,
        })
    }

    /// Queues an entry; the returned receiver gets its outcome after the
    /// commit. `received_at_ns` is when the request arrived, and `checked`
    /// the user that its credentials were checked against. The entry is
    /// stored only if that user is unchanged when its batch is written, so a
    /// user disabled or changed meanwhile cannot add entries.
    ///
    /// # Errors
    ///
    /// Fails at once when the queue is full or the thread has stopped.
    pub fn submit(
        &self,
        entry: NewEntry,
        received_at_ns: i64,
        checked: CheckedUser,
    ) -> Result<oneshot::Receiver<WriteOutcome>, SubmitError> {
        let sender = self.sender.lock().map_err(|_| SubmitError::Stopped)?;
        let sender = sender.as_ref().ok_or(SubmitError::Stopped)?;
        let (reply, outcome) = oneshot::channel();
        let request = WriteRequest {
            entry,
            received_at_ns,
            checked,
            reply,
        };
        match sender.try_send(request) {
            Ok(()) => Ok(outcome),
            Err(TrySendError::Full(_)) => Err(SubmitError::Overloaded),
            Err(TrySendError::Disconnected(_)) => Err(SubmitError::Stopped),
        }
    }

    /// Returns `Ok` when the last batch was committed, no write or read has
    /// found a damaged page, and the thread still runs.
    ///
    /// # Errors
    ///
    /// The reason and cause otherwise: that the thread has stopped, a change
    /// of the database's files, a damaged page found since the start, or the
    /// error of the last failed batch or health probe, in that order. A file
    /// changed under the server also reads as damaged, so the change comes
    /// first.
    pub fn health(&self) -> Result<(), Unhealthy> {
        let running = self
            .thread
            .lock()
            .is_ok_and(|thread| thread.as_ref().is_some_and(|thread| !thread.is_finished()));
        if !running {
            return Err(Unhealthy {
                reason: UnavailableReason::Stopped,
                cause: "the storage thread has stopped".to_string(),
            });
        }
        let failure = self.failure.get();
        let files_changed = failure
            .as_ref()
            .is_some_and(|failure| matches!(failure.reason, UnavailableReason::FileChanged(_)));
        if let (Some(damage), false) = (self.damage.get(), files_changed) {
            return Err(Unhealthy {
                reason: UnavailableReason::Damaged,
                cause: damage.clone(),
            });
        }
        match failure {
            Some(failure) => Err(Unhealthy {
                reason: failure.reason,
                cause: format!("entries cannot be stored: {}", failure.cause),
            }),
            None => Ok(()),
        }
    }

    /// Records a damaged page that a read found, when `error` is one, so that
    /// [`Writer::health`] fails from then on, as after a write that found
    /// one. The first damaged page found logs an error with the steps to
    /// recover.
    pub fn record_read_damage(&self, error: &StorageError) {
        if !matches!(error, StorageError::Corrupt(_)) {
            return;
        }
        if self.damage.set(error.to_string()).is_ok() {
            log::error!(
                "a read found a damaged page, so /healthz answers 503 until the server is \
                 restarted: {error}"
            );
        }
    }

    /// Stops taking entries, lets the thread store and reply to what is queued,
    /// and waits for it to close the database. Returns true when the thread
    /// closed it, and false when it left the connection open, failed to
    /// close it, or had stopped before.
    pub fn shut_down(&self) -> bool {
        if let Ok(mut sender) = self.sender.lock() {
            sender.take();
        }
        let thread = self.thread.lock().ok().and_then(|mut thread| thread.take());
        match thread.map(JoinHandle::join) {
            Some(Ok(closed)) => closed,
            Some(Err(_)) => {
                log::error!("storage thread panicked");
                false
            }
            None => false,
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        let _ = self.shut_down();
    }
}

/// The outcome of one entry, with the channel of the request that waits for it.
type Reply = (oneshot::Sender<WriteOutcome>, WriteOutcome);

/// The outcomes of one batch.
struct Delivery {
    /// The credentials generation that the batch read, unless it failed first.
    generation: Option<i64>,
    replies: Vec<Reply>,
}

/// Sends each batch's outcomes to the requests that wait for them. It runs on
/// the HTTP runtime, so that the storage thread wakes that runtime once per
/// batch. Waking each request's task from the storage thread instead costs one
/// wake-up of the runtime (an eventfd write in tokio 1.x) per entry.
async fn deliver_outcomes(
    mut batches: UnboundedReceiver<Delivery>,
    on_generation: Box<dyn Fn(i64) + Send>,
) {
    while let Some(Delivery {
        generation,
        replies,
    }) = batches.recv().await
    {
        // Lets the credentials cache catch up with users changed by another
        // process, so that later requests are checked under the generation
        // that the storage thread reads, and their users' rows need no read.
        if let Some(generation) = generation {
            on_generation(generation);
        }
        for (reply, outcome) in replies {
            // The receiver is gone when the client hung up; the entry is stored anyway.
            let _ = reply.send(outcome);
        }
    }
}

/// The storage thread's connection and what it keeps between batches.
struct StorageThread<'a> {
    connection: Connection,
    files: FileCheck,
    failures: BatchLog,
    /// Batches stored again one entry at a time after a damaged page.
    splits: BatchLog,
    failure: &'a Failure,
    damage: &'a OnceLock<String>,
    metrics: &'a Metrics,
    /// The receive time given to the last entry of the previous batch.
    last_received_at_ns: i64,
    /// True when a commit that turns a transaction fatal adds its alert to
    /// `pending_fatal_alerts`, as with a notify command.
    keep_fatal_alerts: bool,
}

impl StorageThread<'_> {
    fn run(
        mut self,
        receiver: Receiver<WriteRequest>,
        replies: &UnboundedSender<Delivery>,
        on_fatal: &dyn Fn(FatalTransaction),
    ) -> bool {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        while self.collect_batch(&receiver, &mut batch) {
            self.metrics.observe_batch(batch.len());
            self.last_received_at_ns = order_receive_times(&mut batch, self.last_received_at_ns);
            let result = self
                .files
                .check(&self.connection)
                .and_then(|()| store_batch(&mut self.connection, &batch, self.keep_fatal_alerts));
            match result {
                // A damaged page fails only the entries whose keys lead to
                // it, so storing each entry alone lets the others succeed.
                Err(error @ StorageError::Corrupt(_)) if batch.len() > 1 => {
                    self.store_one_at_a_time(&mut batch, &error, replies, on_fatal);
                }
                result => self.answer(&mut batch, result, replies, on_fatal),
            }
        }
        self.close()
    }

    /// Waits for the next request and adds it to `batch`, with every request
    /// already waiting behind it, up to [`MAX_BATCH`]. Returns false, with
    /// `batch` left empty, once every sender is gone.
    fn collect_batch(
        &mut self,
        receiver: &Receiver<WriteRequest>,
        batch: &mut Vec<WriteRequest>,
    ) -> bool {
        let first = loop {
            self.splits.flush_due();
            // An idle thread checks the files, so that a database deleted
            // while no entries arrive is still rescued and reported. After a
            // failed commit it probes the database instead, so that health
            // turns good again without waiting for a Worker's entry.
            match receiver.recv_timeout(PROBE_INTERVAL) {
                Ok(request) => break request,
                Err(RecvTimeoutError::Timeout) if !self.failure.is_set() => {
                    if let Err(error) = self.files.check(&self.connection) {
                        self.failure.set(&error);
                    }
                }
                Err(RecvTimeoutError::Timeout) => self.probe(),
                Err(RecvTimeoutError::Disconnected) => return false,
            }
        };
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match receiver.try_recv() {
                Ok(request) => batch.push(request),
                Err(_) => break,
            }
        }
        true
    }

    /// Stores each request of `batch`, which it empties, in a database
    /// transaction of its own and sends its outcome, after the whole batch
    /// failed with `error`.
    fn store_one_at_a_time(
        &mut self,
        batch: &mut Vec<WriteRequest>,
        error: &StorageError,
        replies: &UnboundedSender<Delivery>,
        on_fatal: &dyn Fn(FatalTransaction),
    ) {
        self.splits.record(batch.len(), error);
        for request in batch.drain(..) {
            let mut single = vec![request];
            let result = store_batch(&mut self.connection, &single, self.keep_fatal_alerts);
            self.answer(&mut single, result, replies, on_fatal);
        }
    }

    /// Logs the failed batches not logged yet and closes the database at
    /// shutdown. Returns true when the database was closed cleanly.
    fn close(mut self) -> bool {
        self.failures.flush();
        self.splits.flush();
        // A change since the last check would lose what the file held at the
        // close, so the copy is made now if it was not made yet.
        let _ = self.files.check_now(&self.connection);
        if self.files.found_overwritten() {
            // The -wal file, which the check moved aside but which this
            // process still has open, contains pages of the old content,
            // and the checkpoint at the last close would copy them into the
            // new file. Open until the process exits, this connection keeps
            // its shared lock, so no close of the server's connections is
            // the last one.
            // NOTE: a command that opened the database before the check
            // moved the log, and closes it after the server exits, still
            // runs that checkpoint.
            std::mem::forget(self.connection);
            return false;
        }
        match self.connection.close() {
            Ok(()) => true,
            Err((_, error)) => {
                log::error!("closing the database failed: {error}");
                false
            }
        }
    }

    /// Sends the outcome of storing `batch`, which it empties, to the
    /// requests, and reports the transactions that the batch turned fatal.
    fn answer(
        &mut self,
        batch: &mut Vec<WriteRequest>,
        result: Result<StoredBatch, StorageError>,
        replies: &UnboundedSender<Delivery>,
        on_fatal: &dyn Fn(FatalTransaction),
    ) {
        // A batch of repeated or conflicting entries commits without
        // writing a page, so it shows nothing about the room on the disk.
        let wrote_nothing = result.as_ref().is_ok_and(|stored| {
            !stored
                .outcomes
                .iter()
                .any(|outcome| matches!(outcome, WriteOutcome::Stored))
        });
        if !(wrote_nothing && self.disk_was_full()) {
            self.set_health(&result);
        }
        let (delivery, fatal) = self.outcomes_of(batch, result);
        // Sending fails only once the delivery task is gone, which happens
        // when the runtime stops, and then no request waits for these replies.
        let _ = replies.send(delivery);
        fatal.into_iter().for_each(on_fatal);
    }

    /// Records whether the last commit worked, and logs the failed batches
    /// not logged yet when it did.
    fn set_health<T>(&mut self, result: &Result<T, StorageError>) {
        match result {
            Ok(_) => {
                self.failure.clear();
                self.failures.flush();
            }
            Err(error) => {
                if matches!(error, StorageError::Corrupt(_)) {
                    // Only the first damage is kept, so a later one is dropped.
                    let _ = self.damage.set(error.to_string());
                }
                self.failure.set(error);
            }
        }
    }

    /// Pairs each request of `batch`, which it empties, with its outcome, and
    /// counts the outcomes. Returns the replies and the transactions that the
    /// batch turned fatal.
    fn outcomes_of(
        &mut self,
        batch: &mut Vec<WriteRequest>,
        result: Result<StoredBatch, StorageError>,
    ) -> (Delivery, Vec<FatalTransaction>) {
        match result {
            Ok(StoredBatch {
                generation,
                outcomes,
                fatal,
            }) => {
                let mut replies = Vec::with_capacity(batch.len());
                for (request, outcome) in batch.drain(..).zip(outcomes) {
                    match outcome {
                        WriteOutcome::Stored => {
                            self.metrics
                                .count_entry(request.entry.stage, request.entry.status);
                        }
                        WriteOutcome::CredentialsChanged => self.metrics.count_write_rechecked(),
                        _ => {}
                    }
                    replies.push((request.reply, outcome));
                }
                let delivery = Delivery {
                    generation: Some(generation),
                    replies,
                };
                (delivery, fatal)
            }
            Err(error) => {
                self.failures.record(batch.len(), &error);
                let error = Arc::new(error);
                let replies = batch
                    .drain(..)
                    .map(|request| (request.reply, WriteOutcome::Failed(Arc::clone(&error))))
                    .collect();
                let delivery = Delivery {
                    generation: None,
                    replies,
                };
                (delivery, Vec::new())
            }
        }
    }

    /// Returns true when the last failed write found the disk full.
    fn disk_was_full(&self) -> bool {
        self.failure
            .get()
            .is_some_and(|failure| matches!(failure.reason, UnavailableReason::DiskFull))
    }

    /// Rewrites the probe row to find out whether commits work again. After
    /// a write failed on a full disk, the file system must have room again
    /// first, because the probe rewrites a single page. That page can fit in
    /// the space that the failed batch left in the `-wal` file, while a
    /// Worker's entry needs new pages.
    fn probe(&mut self) {
        self.failures.flush_due();
        // NOTE: on a file system with less room than `is_full` asks for, health
        // stays bad while no entries arrive, even where an entry would fit, until
        // a Worker's entry is stored.
        if self.disk_was_full() && free_space::is_full(self.files.database_path()) {
            log::debug!("health probe skipped: the file system of the database is still full");
            // A database deleted or replaced meanwhile is still reported.
            if let Err(error) = self.files.check(&self.connection) {
                self.failure.set(&error);
            }
            return;
        }
        let result = self.files.check(&self.connection).and_then(|()| {
            let transaction = self
                .connection
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            transaction.execute(
                "INSERT INTO health_probe (only_row, checked_at_ns) VALUES (1, ?1)
                 ON CONFLICT (only_row) DO UPDATE SET checked_at_ns = excluded.checked_at_ns",
                [super::now_ns()],
            )?;
            transaction.commit()?;
            Ok(())
        });
        if let Err(error) = &result {
            log::debug!("health probe failed: {error}");
            // The probe's error is newer than the failed batch's, so it is
            // the cause that /healthz logs.
            self.failure.set(error);
            return;
        }
        self.set_health(&result);
        log::info!("the database accepts commits again");
    }
}

/// Batches of one kind that are not logged yet, each with its number of
/// entries and its error. The first is logged at once. Later ones are
/// counted and logged in one line when [`FAILURE_LOG_INTERVAL`] has passed
/// since the last line, or, for failed batches, when a commit works again.
struct BatchLog {
    events: ThrottledEvents<(usize, String)>,
    write_line: fn(&EventBatch<(usize, String)>, std::time::Instant),
}

impl BatchLog {
    /// Creates the log of the batches whose commit failed.
    fn failures() -> Self {
        BatchLog {
            events: ThrottledEvents::new(FAILURE_LOG_INTERVAL),
            write_line: log_failures,
        }
    }

    /// Creates the log of the batches stored again one entry at a time.
    fn splits() -> Self {
        BatchLog {
            events: ThrottledEvents::new(FAILURE_LOG_INTERVAL),
            write_line: log_splits,
        }
    }

    fn record(&mut self, entries: usize, error: &StorageError) {
        let now = std::time::Instant::now();
        self.events.record(now, (entries, error.to_string()));
        if let Some(batch) = self.events.take_due(now) {
            (self.write_line)(&batch, now);
        }
    }

    fn flush_due(&mut self) {
        let now = std::time::Instant::now();
        if let Some(batch) = self.events.take_due(now) {
            (self.write_line)(&batch, now);
        }
    }

    fn flush(&mut self) {
        let now = std::time::Instant::now();
        if let Some(batch) = self.events.take(now) {
            (self.write_line)(&batch, now);
        }
    }
}

/// Writes the line of batches stored again one entry at a time.
fn log_splits(batch: &EventBatch<(usize, String)>, now: std::time::Instant) {
    let (entries, error) = &batch.latest;
    if batch.count == 1 {
        log::warn!("storing {entries} entries one at a time, because their batch failed: {error}");
    } else {
        log::warn!(
            "{} batches stored one entry at a time in the last {:.1} s, because they failed, \
             the latest of {entries} entries: {error}",
            batch.count,
            now.duration_since(batch.first).as_secs_f64()
        );
    }
}

/// The age from which the line of a single failed batch reports how long
/// ago it failed.
const LATE_FAILURE_LINE: std::time::Duration = std::time::Duration::from_millis(100);

fn log_failures(batch: &EventBatch<(usize, String)>, now: std::time::Instant) {
    let (entries, error) = &batch.latest;
    let entries = if *entries == 1 {
        "1 entry".to_string()
    } else {
        format!("{entries} entries")
    };
    let age = now.duration_since(batch.first);
    if batch.count == 1 && age < LATE_FAILURE_LINE {
        log::error!("batch of {entries} not stored: {error}");
    } else if batch.count == 1 {
        // A line held back by the throttle, or written at the stop, reports
        // when the batch failed, so that it does not read as a new failure.
        log::error!(
            "batch of {entries} not stored {:.1} s ago: {error}",
            age.as_secs_f64()
        );
    } else {
        log::error!(
            "{} batches not stored in the last {:.1} s, the latest of {entries}: {error}",
            batch.count,
            now.duration_since(batch.first).as_secs_f64()
        );
    }
}

const INSERT_ENTRY: &str = "
    INSERT INTO entries (transaction_id, timestamp_s, timestamp_nanos, timestamp_sent,
                         stage, status, message, received_at_ns, reported_by)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
    ON CONFLICT (transaction_id, timestamp_s, timestamp_nanos, stage, status) DO NOTHING";

const SELECT_STORED_MESSAGE: &str = "
    SELECT message FROM entries
    WHERE transaction_id = ?1 AND timestamp_s = ?2 AND timestamp_nanos = ?3
      AND stage = ?4 AND status = ?5";

// In DO UPDATE SET every column name refers to the row before the update, so
// the comparisons below all see the old first and last timestamps.
const UPSERT_TRANSACTION: &str = "
    INSERT INTO transactions (transaction_id, first_timestamp_s, first_timestamp_nanos,
                              last_timestamp_s, last_timestamp_nanos, last_stage, last_status,
                              last_message, entry_count, last_received_at_ns, has_fatal, has_end)
    VALUES (?1, ?2, ?3, ?2, ?3, ?4, ?5, ?6, 1, ?7, ?8, ?9)
    ON CONFLICT (transaction_id) DO UPDATE SET
        first_timestamp_s = CASE WHEN (?2, ?3) < (first_timestamp_s, first_timestamp_nanos)
                            THEN ?2 ELSE first_timestamp_s END,
        first_timestamp_nanos = CASE WHEN (?2, ?3) < (first_timestamp_s, first_timestamp_nanos)
                                THEN ?3 ELSE first_timestamp_nanos END,
        last_stage = CASE WHEN (?2, ?3) >= (last_timestamp_s, last_timestamp_nanos)
                     THEN ?4 ELSE last_stage END,
        last_status = CASE WHEN (?2, ?3) >= (last_timestamp_s, last_timestamp_nanos)
                      THEN ?5 ELSE last_status END,
        last_message = CASE WHEN (?2, ?3) >= (last_timestamp_s, last_timestamp_nanos)
                       THEN ?6 ELSE last_message END,
        last_timestamp_nanos = CASE WHEN (?2, ?3) >= (last_timestamp_s, last_timestamp_nanos)
                               THEN ?3 ELSE last_timestamp_nanos END,
        last_timestamp_s = CASE WHEN (?2, ?3) >= (last_timestamp_s, last_timestamp_nanos)
                           THEN ?2 ELSE last_timestamp_s END,
        entry_count = entry_count + 1,
        last_received_at_ns = max(last_received_at_ns, ?7),
        has_fatal = has_fatal OR ?8,
        has_end = has_end OR ?9";

/// A committed batch.
struct StoredBatch {
    /// The credentials generation, read under the write lock.
    generation: i64,
    /// One outcome per request, in the order of the batch.
    outcomes: Vec<WriteOutcome>,
    /// The transactions that the batch turned fatal.
    fatal: Vec<FatalTransaction>,
}

/// How far ahead of the clock the latest receive time may be for the storage
/// thread to give new entries times after it. Within that, a clock that was
/// set back, as NTP does after a start, keeps the order of entries. Past it,
/// the clock was set wrong before, and following the old times would keep
/// every new entry's receive time, and its transaction's stall check, that
/// far ahead, so new entries get the clock's time.
const MAX_RECEIVE_TIME_AHEAD: std::time::Duration = std::time::Duration::from_secs(10 * 60);

/// [`MAX_RECEIVE_TIME_AHEAD`] in nanoseconds, the unit of receive times.
const MAX_RECEIVE_TIME_AHEAD_NS: i64 = MAX_RECEIVE_TIME_AHEAD.as_nanos() as i64;

// The log lines give the limit in whole minutes.
const _: () = assert!(MAX_RECEIVE_TIME_AHEAD.as_secs().is_multiple_of(60));

/// Returns [`MAX_RECEIVE_TIME_AHEAD`] as the log lines write it, such as
/// `10 minutes`.
fn max_receive_time_ahead_text() -> String {
    match MAX_RECEIVE_TIME_AHEAD.as_secs() / 60 {
        1 => "1 minute".to_string(),
        minutes => format!("{minutes} minutes"),
    }
}

/// Reads the latest receive time that the database stores, so that entries
/// stored after a restart with the clock set back still sort after the
/// entries before it. Returns 0 when the database has no entries, when the
/// read fails, which the first batch then reports, and when that time is
/// more than [`MAX_RECEIVE_TIME_AHEAD_NS`] ahead of the clock. A time ahead
/// of the clock is logged.
fn latest_receive_time(connection: &Connection) -> i64 {
    let latest = connection.query_row(
        "SELECT max(last_received_at_ns) FROM transactions",
        [],
        |row| row.get::<_, Option<i64>>(0),
    );
    let latest = match latest {
        Ok(latest) => latest.unwrap_or(0),
        Err(error) => {
            log::warn!(
                "reading the latest receive time of the stored entries failed, so entries \
                 stored after a clock set back may sort before older ones: {error}"
            );
            return 0;
        }
    };
    let now = super::now_ns();
    let ahead = latest.saturating_sub(now);
    if ahead <= 0 {
        return latest;
    }
    let latest_text =
        DateTime::from_timestamp_nanos(latest).to_rfc3339_opts(SecondsFormat::Secs, true);
    let now_text = DateTime::from_timestamp_nanos(now).to_rfc3339_opts(SecondsFormat::Secs, true);
    if ahead > MAX_RECEIVE_TIME_AHEAD_NS {
        let limit = max_receive_time_ahead_text();
        log::warn!(
            "the latest stored receive time, {latest_text}, is more than {limit} ahead of \
             the clock, {now_text}, so new entries get receive times from the clock and sort \
             before entries with the same timestamp received at those times; check the system \
             clock"
        );
        return 0;
    }
    log::warn!(
        "the latest stored receive time, {latest_text}, is ahead of the clock, {now_text}, so \
         new entries get receive times just after it until the clock catches up, and their \
         transactions turn stalled that much later"
    );
    latest
}

/// Moves the receive time of each entry of `batch` to at least 1 ns after
/// the one before it, starting after `last_ns`, and returns the last. A
/// request's receive time is when its head arrived, and a request whose body
/// arrives slowly reaches the storage thread after requests that arrived
/// later. Receive times that grow in the order of storing keep the order of
/// entries with the same timestamp, and the cursors that page through a log,
/// from skipping an entry stored while a client pages. The time given is
/// within the request's reception, between its head and its storing, unless
/// the clock was set back since `last_ns`. A clock set back by more than
/// [`MAX_RECEIVE_TIME_AHEAD_NS`] was set wrong before, so the entry keeps its
/// own receive time then, as at start-up.
fn order_receive_times(batch: &mut [WriteRequest], mut last_ns: i64) -> i64 {
    for request in batch {
        last_ns = next_receive_time(last_ns, request.received_at_ns);
        request.received_at_ns = last_ns;
    }
    last_ns
}

/// Returns the receive time of an entry that arrived at `received`, when
/// the entry stored before it got `last_ns`.
fn next_receive_time(last_ns: i64, received: i64) -> i64 {
    if last_ns.saturating_sub(received) > MAX_RECEIVE_TIME_AHEAD_NS {
        log::warn!(
            "the clock went back by more than {}, so new entries get receive times \
             from the clock and sort before entries with the same timestamp received in those \
             minutes; check the system clock",
            max_receive_time_ahead_text()
        );
        return received;
    }
    received.max(last_ns.saturating_add(1))
}

/// Stores a batch in one `BEGIN IMMEDIATE` transaction. Any error rolls the
/// whole batch back, so no request gets `200` unless the commit that contains
/// its entry succeeded. With `keep_fatal_alerts`, the alert of each
/// transaction that the batch turns fatal is added in the same commit.
fn store_batch(
    connection: &mut Connection,
    batch: &[WriteRequest],
    keep_fatal_alerts: bool,
) -> Result<StoredBatch, StorageError> {
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // Read under the write lock, so no change to users can commit between
    // this check and the commit of the batch.
    let generation = super::users::generation(&transaction)?;
    let mut statements = EntryStatements {
        insert_entry: transaction.prepare_cached(INSERT_ENTRY)?,
        upsert_transaction: transaction.prepare_cached(UPSERT_TRANSACTION)?,
    };
    let mut outcomes = Vec::with_capacity(batch.len());
    let mut fatal = Vec::new();
    for request in batch {
        if request.checked.generation != generation && !user_unchanged(&transaction, request)? {
            outcomes.push(WriteOutcome::CredentialsChanged);
            continue;
        }
        let (outcome, turned_fatal) = store_entry(&transaction, &mut statements, request)?;
        outcomes.push(outcome);
        if turned_fatal {
            let turned = FatalTransaction {
                transaction_id: request.entry.transaction_id.to_string(),
                received_at_ns: request.received_at_ns,
                stage: request.entry.stage,
                status: request.entry.status,
                message: request.entry.message.clone(),
            };
            if keep_fatal_alerts {
                pending_alerts::add(&transaction, &turned.pending())?;
            }
            fatal.push(turned);
        }
    }
    drop(statements);
    transaction.commit()?;
    Ok(StoredBatch {
        generation,
        outcomes,
        fatal,
    })
}

/// Returns whether the user who sent `request` may still write as it was
/// checked: with the same password hash, still enabled, in a role that may
/// write and with the same zone. It runs only for requests checked under
/// another credentials generation than the batch's, so a change to one user
/// costs the other users' requests this read instead of a new check.
fn user_unchanged(
    transaction: &Transaction<'_>,
    request: &WriteRequest,
) -> Result<bool, StorageError> {
    let stored = match super::users::find(transaction, &request.entry.reported_by) {
        Ok(stored) => stored,
        // A row that cannot be read counts as a change, so that this request
        // alone fails when it checks its credentials again, not the batch.
        Err(StorageError::Internal(rusqlite::Error::FromSqlConversionFailure(..))) => {
            return Ok(false)
        }
        Err(error) => return Err(error),
    };
    let checked = &request.checked;
    Ok(stored.is_some_and(|user| {
        *user.password_hash == *checked.password_hash
            && user.enabled
            && user.role.may_write()
            && user.timezone == checked.timezone
    }))
}

/// The statements that every entry runs, taken from the statement cache once
/// per batch. A cache lookup hashes and compares the whole SQL text, so taking
/// them once per entry cost about 11 % of the storage thread's instructions.
struct EntryStatements<'conn> {
    insert_entry: CachedStatement<'conn>,
    upsert_transaction: CachedStatement<'conn>,
}

/// Stores one entry; the flag is true when this entry made its transaction fatal.
fn store_entry(
    transaction: &Transaction<'_>,
    statements: &mut EntryStatements<'_>,
    request: &WriteRequest,
) -> Result<(WriteOutcome, bool), StorageError> {
    let entry = &request.entry;
    let seconds = entry.timestamp.timestamp();
    let nanos = entry.timestamp.timestamp_subsec_nanos();
    let key = params![
        entry.transaction_id.as_str(),
        seconds,
        nanos,
        entry.stage.as_str(),
        entry.status.as_str()
    ];
    let inserted = statements.insert_entry.execute(params![
        entry.transaction_id.as_str(),
        seconds,
        nanos,
        entry.timestamp_sent,
        entry.stage.as_str(),
        entry.status.as_str(),
        entry.message,
        request.received_at_ns,
        entry.reported_by,
    ])?;
    if inserted == 0 {
        let stored: Option<Option<String>> = transaction
            .prepare_cached(SELECT_STORED_MESSAGE)?
            .query_row(key, |row| row.get(0))
            .optional()?;
        return match stored {
            Some(message) if message == entry.message => Ok((WriteOutcome::Repeated, false)),
            Some(_) => Ok((
                WriteOutcome::Conflict {
                    timestamp_sent: entry.timestamp_sent.clone(),
                },
                false,
            )),
            None => Err(StorageError::Internal(rusqlite::Error::QueryReturnedNoRows)),
        };
    }
    let is_fatal = entry.status == Status::Fatal;
    let is_end =
        entry.stage == Stage::End && matches!(entry.status, Status::Success | Status::Warning);
    let turned_fatal = is_fatal && !was_fatal(transaction, entry.transaction_id.as_str())?;
    statements.upsert_transaction.execute(params![
        entry.transaction_id.as_str(),
        seconds,
        nanos,
        entry.stage.as_str(),
        entry.status.as_str(),
        entry.message,
        request.received_at_ns,
        is_fatal,
        is_end,
    ])?;
    Ok((WriteOutcome::Stored, turned_fatal))
}

fn was_fatal(transaction: &Transaction<'_>, transaction_id: &str) -> Result<bool, StorageError> {
    let flag: Option<bool> = transaction
        .prepare_cached("SELECT has_fatal FROM transactions WHERE transaction_id = ?1")?
        .query_row([transaction_id], |row| row.get(0))
        .optional()?;
    Ok(flag.unwrap_or(false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receive_time_follows_later_clock() {
        assert_eq!(next_receive_time(100, 500), 500);
    }

    #[test]
    fn receive_time_follows_last_after_small_step_back() {
        let minute_ns = 60_000_000_000;
        assert_eq!(next_receive_time(minute_ns, 0), minute_ns + 1);
    }

    #[test]
    fn receive_time_takes_clock_after_large_step_back() {
        let received = 1_000;
        let last = received + MAX_RECEIVE_TIME_AHEAD_NS + 1;
        assert_eq!(next_receive_time(last, received), received);
    }

    #[test]
    fn receive_time_saturates_at_maximum() {
        assert_eq!(next_receive_time(i64::MAX, i64::MAX), i64::MAX);
    }
}
