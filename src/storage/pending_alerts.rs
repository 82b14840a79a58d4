//! The fatal alerts that have not run yet, kept in the database so that a
//! crash or a stop of the server loses none of them. The storage thread adds
//! a row in the commit that turns a transaction fatal, the notify runner
//! removes it once the command has run, and the next start runs the rows
//! that are left.

use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension as _, Transaction};

use super::StorageError;

/// A fatal alert that has not run yet: the transaction and the entry that
/// turned it fatal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingFatal {
    pub transaction_id: String,
    /// The receive time of the entry that turned the transaction fatal.
    pub received_at_ns: i64,
    pub stage: String,
    pub status: String,
    pub message: Option<String>,
}

const INSERT: &str = "
    INSERT INTO pending_fatal_alerts (transaction_id, received_at_ns, stage, status, message)
    VALUES (?1, ?2, ?3, ?4, ?5)";

/// Adds the alert of a transaction that `transaction` turns fatal.
pub fn add(transaction: &Transaction<'_>, alert: &PendingFatal) -> Result<(), StorageError> {
    transaction.prepare_cached(INSERT)?.execute(params![
        alert.transaction_id,
        alert.received_at_ns,
        alert.stage,
        alert.status,
        alert.message
    ])?;
    Ok(())
}

/// Reads every alert that has not run yet, in the order in which their
/// transactions turned fatal.
pub fn read_all(connection: &Connection) -> Result<Vec<PendingFatal>, StorageError> {
    let mut statement = connection.prepare(
        "SELECT transaction_id, received_at_ns, stage, status, message FROM pending_fatal_alerts
         ORDER BY received_at_ns, transaction_id",
    )?;
    let alerts = statement
        .query_map([], |row| {
            Ok(PendingFatal {
                transaction_id: row.get(0)?,
                received_at_ns: row.get(1)?,
                stage: row.get(2)?,
                status: row.get(3)?,
                message: row.get(4)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(alerts)
}

/// Removes the alert of `transaction_id` that its entry received at
/// `received_at_ns` raised, once its command has run.
pub fn remove(
    connection: &Connection,
    transaction_id: &str,
    received_at_ns: i64,
) -> Result<(), StorageError> {
    connection.execute(
        "DELETE FROM pending_fatal_alerts WHERE transaction_id = ?1 AND received_at_ns = ?2",
        params![transaction_id, received_at_ns],
    )?;
    Ok(())
}

/// The pending alerts whose `FATAL` entry is no longer stored, because
/// `log delete` or `prune` removed its log. A log written again under the
/// same id has entries with other receive times.
const ORPHANS: &str = "
    FROM pending_fatal_alerts WHERE NOT EXISTS (
        SELECT 1 FROM entries
        WHERE entries.transaction_id = pending_fatal_alerts.transaction_id
          AND entries.received_at_ns = pending_fatal_alerts.received_at_ns
          AND entries.status = 'FATAL')";

/// Removes the alerts whose `FATAL` entry is no longer stored, and returns
/// how many it removed. It writes only when there are such alerts, so that
/// it seldom waits for the storage thread's lock.
pub fn remove_orphans(connection: &Connection) -> Result<usize, StorageError> {
    let count: i64 =
        connection.query_row(&format!("SELECT count(*) {ORPHANS}"), [], |row| row.get(0))?;
    if count == 0 {
        return Ok(0);
    }
    Ok(connection.execute(&format!("DELETE {ORPHANS}"), [])?)
}

/// Returns true when the alert of `transaction_id` that its entry received
/// at `received_at_ns` raised is still pending.
pub fn contains(
    connection: &Connection,
    transaction_id: &str,
    received_at_ns: i64,
) -> Result<bool, StorageError> {
    let found = connection
        .query_row(
            "SELECT 1 FROM pending_fatal_alerts WHERE transaction_id = ?1 AND received_at_ns = ?2",
            params![transaction_id, received_at_ns],
            |_| Ok(()),
        )
        .optional()?;
    Ok(found.is_some())
}

/// Removes every alert, and returns how many there were.
pub fn clear(connection: &Connection) -> Result<usize, StorageError> {
    Ok(connection.execute("DELETE FROM pending_fatal_alerts", [])?)
}

/// Removes the alerts from the copy of the database at `path`, such as a
/// backup, so that a server started on a restored copy does not run again
/// the alerts that were waiting when the copy was made. A copy without the
/// table is left as it is.
///
/// # Errors
///
/// Fails when the copy cannot be opened or written.
pub fn remove_from_copy(path: &Path) -> Result<(), StorageError> {
    let copy = Connection::open(path)?;
    let has_table = copy
        .query_row(
            "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'pending_fatal_alerts'",
            [],
            |_| Ok(()),
        )
        .optional()?
        .is_some();
    if has_table {
        clear(&copy)?;
    }
    copy.close().map_err(|(_, error)| StorageError::from(error))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::SCHEMA;

    fn database() -> Connection {
        let connection = Connection::open_in_memory().expect("open");
        connection.execute_batch(SCHEMA).expect("create tables");
        connection
    }

    fn alert(id: &str, received_at_ns: i64) -> PendingFatal {
        PendingFatal {
            transaction_id: id.to_string(),
            received_at_ns,
            stage: "WORKER_LOAD".to_string(),
            status: "FATAL".to_string(),
            message: Some("table t is corrupt".to_string()),
        }
    }

    fn add_committed(connection: &mut Connection, alert: &PendingFatal) {
        let transaction = connection.transaction().expect("begin");
        add(&transaction, alert).expect("add");
        transaction.commit().expect("commit");
    }

    #[test]
    fn added_alert_is_read() {
        let mut connection = database();
        add_committed(&mut connection, &alert("tx-1", 10));
        assert_eq!(
            read_all(&connection).expect("read"),
            vec![alert("tx-1", 10)]
        );
    }

    #[test]
    fn alerts_are_read_in_order_of_receipt() {
        let mut connection = database();
        add_committed(&mut connection, &alert("tx-a", 20));
        add_committed(&mut connection, &alert("tx-b", 10));
        let ids: Vec<String> = read_all(&connection)
            .expect("read")
            .into_iter()
            .map(|alert| alert.transaction_id)
            .collect();
        assert_eq!(ids, ["tx-b", "tx-a"]);
    }

    #[test]
    fn remove_keeps_later_alert_of_same_id() {
        let mut connection = database();
        add_committed(&mut connection, &alert("tx-1", 10));
        add_committed(&mut connection, &alert("tx-1", 20));
        remove(&connection, "tx-1", 10).expect("remove");
        assert_eq!(
            read_all(&connection).expect("read"),
            vec![alert("tx-1", 20)]
        );
    }

    #[test]
    fn clear_counts_alerts() {
        let mut connection = database();
        add_committed(&mut connection, &alert("tx-1", 10));
        add_committed(&mut connection, &alert("tx-2", 20));
        assert_eq!(clear(&connection).expect("clear"), 2);
    }
}
