//! Deleting logs: `translog prune` deletes the transactions whose last
//! entry's timestamp is before an instant, in chunks that leave the write
//! lock free between them, and `translog log delete` deletes one
//! transaction. Each has a count of what it would delete, for a dry run.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, TransactionBehavior};

use super::StorageError;

/// The transactions and entries that a prune deleted, or would delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pruned {
    pub transactions: usize,
    pub entries: usize,
}

/// The transactions whose last entry's timestamp is before `?1` seconds and
/// `?2` nanoseconds, as the two statements of a prune select them.
const PRUNED_TRANSACTIONS: &str = "
    SELECT transaction_id FROM transactions
    WHERE (last_timestamp_s, last_timestamp_nanos) < (?1, ?2)";

/// The maximum number of transactions that one database transaction of a prune deletes,
/// about 2,500 entries. Each held the write lock for about 28 ms when measured, far
/// less than the 250 ms that the server's batches wait for it.
const PRUNE_CHUNK: i64 = 500;

/// How long a prune leaves the write lock free after each chunk, as a
/// multiple of the time the chunk held it, so that the server's batches,
/// which retry at intervals, find it free.
const PRUNE_PAUSE_FACTOR: u32 = 2;

/// Counts the transactions and entries that [`prune`] would delete before
/// `before`, in one read transaction.
///
/// # Errors
///
/// Fails on a database error.
pub fn count_prunable(
    connection: &mut Connection,
    before: DateTime<Utc>,
) -> Result<Pruned, StorageError> {
    let cutoff = params![before.timestamp(), before.timestamp_subsec_nanos()];
    let snapshot = connection.transaction()?;
    let transactions: i64 = snapshot.query_row(
        &format!("SELECT count(*) FROM ({PRUNED_TRANSACTIONS})"),
        cutoff,
        |row| row.get(0),
    )?;
    let entries: i64 = snapshot.query_row(
        &format!("SELECT count(*) FROM entries WHERE transaction_id IN ({PRUNED_TRANSACTIONS})"),
        cutoff,
        |row| row.get(0),
    )?;
    Ok(Pruned {
        transactions: usize::try_from(transactions).unwrap_or(0),
        entries: usize::try_from(entries).unwrap_or(0),
    })
}

/// A prune that failed, with what it had deleted before.
#[derive(Debug)]
pub struct PruneError {
    /// The transactions and entries of the chunks committed before the
    /// error. They stay deleted.
    pub deleted: Pruned,
    /// The database error that stopped the prune.
    pub error: StorageError,
}

/// The outcome of a prune: the transactions and entries it deleted, and
/// whether it deleted everything it selects or was stopped first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PruneRun {
    pub deleted: Pruned,
    pub finished: bool,
}

/// Deletes whole transactions whose last entry's timestamp is before
/// `before`, and returns how many transactions and entries were deleted.
/// It deletes [`PRUNE_CHUNK`] transactions per database transaction and
/// pauses between them, so that the server's writes go on meanwhile. Once
/// `stop` is set, it deletes no further chunk, and a chunk whose write lock
/// it was waiting for is rolled back.
///
/// # Errors
///
/// Fails on a database error, with the count of the chunks committed
/// before it, which stay deleted.
pub fn prune(
    connection: &mut Connection,
    before: DateTime<Utc>,
    stop: &AtomicBool,
) -> Result<PruneRun, PruneError> {
    let mut deleted = Pruned {
        transactions: 0,
        entries: 0,
    };
    loop {
        if stop.load(Ordering::SeqCst) {
            return Ok(PruneRun {
                deleted,
                finished: false,
            });
        }
        let (chunk, took) = match prune_chunk(connection, before, stop) {
            Ok(Some(chunk)) => chunk,
            Ok(None) => {
                return Ok(PruneRun {
                    deleted,
                    finished: false,
                })
            }
            Err(error) => return Err(PruneError { deleted, error }),
        };
        deleted.transactions += chunk.transactions;
        deleted.entries += chunk.entries;
        // A chunk that is not full was the last one.
        if i64::try_from(chunk.transactions).map_or(true, |count| count < PRUNE_CHUNK) {
            return Ok(PruneRun {
                deleted,
                finished: true,
            });
        }
        pause_unless_stopped(took * PRUNE_PAUSE_FACTOR, stop);
    }
}

/// Sleeps for `pause`, or until `stop` is set.
fn pause_unless_stopped(pause: Duration, stop: &AtomicBool) {
    let step = Duration::from_millis(10);
    let deadline = std::time::Instant::now() + pause;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() || stop.load(Ordering::SeqCst) {
            return;
        }
        std::thread::sleep(left.min(step));
    }
}

/// Deletes up to [`PRUNE_CHUNK`] of the transactions that [`prune`] deletes,
/// in one database transaction, and returns what it deleted and how long
/// that took once it had the write lock. Returns `None`, and deletes
/// nothing, when `stop` was set while it waited for the lock.
fn prune_chunk(
    connection: &mut Connection,
    before: DateTime<Utc>,
    stop: &AtomicBool,
) -> Result<Option<(Pruned, Duration)>, StorageError> {
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if stop.load(Ordering::SeqCst) {
        return Ok(None);
    }
    let locked = std::time::Instant::now();
    let ids: Vec<String> = transaction
        .prepare_cached(&format!("{PRUNED_TRANSACTIONS} LIMIT ?3"))?
        .query_map(
            params![
                before.timestamp(),
                before.timestamp_subsec_nanos(),
                PRUNE_CHUNK
            ],
            |row| row.get(0),
        )?
        .collect::<Result<_, _>>()?;
    let mut entries = 0;
    {
        let mut delete_entries =
            transaction.prepare_cached("DELETE FROM entries WHERE transaction_id = ?1")?;
        let mut delete_transaction =
            transaction.prepare_cached("DELETE FROM transactions WHERE transaction_id = ?1")?;
        for id in &ids {
            entries += delete_entries.execute([id])?;
            delete_transaction.execute([id])?;
        }
    }
    transaction.commit()?;
    let deleted = Pruned {
        transactions: ids.len(),
        entries,
    };
    Ok(Some((deleted, locked.elapsed())))
}

/// Deletes the entries of one transaction and its row in one database
/// transaction, and returns how many entries were deleted: 0 when no
/// transaction has that id.
///
/// # Errors
///
/// Fails on a database error, and then nothing is deleted.
pub fn delete_transaction(
    connection: &mut Connection,
    transaction_id: &str,
) -> Result<usize, StorageError> {
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let entries = transaction.execute(
        "DELETE FROM entries WHERE transaction_id = ?1",
        [transaction_id],
    )?;
    transaction.execute(
        "DELETE FROM transactions WHERE transaction_id = ?1",
        [transaction_id],
    )?;
    transaction.commit()?;
    Ok(entries)
}

/// Counts the entries of one transaction, for a dry run of
/// [`delete_transaction`].
///
/// # Errors
///
/// Fails on a database error.
pub fn count_transaction_entries(
    connection: &Connection,
    transaction_id: &str,
) -> Result<usize, StorageError> {
    let entries: i64 = connection.query_row(
        "SELECT count(*) FROM entries WHERE transaction_id = ?1",
        [transaction_id],
        |row| row.get(0),
    )?;
    Ok(usize::try_from(entries).unwrap_or(0))
}
