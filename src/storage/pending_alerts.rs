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
    pub stage: String,
    pub status: String,
    pub message: Option<String>,
}

const INSERT: &str = "
    INSERT INTO pending_fatal_alerts (transaction_id, stage, status, message)
    VALUES (?1, ?2, ?3, ?4)
    ON CONFLICT (transaction_id) DO UPDATE SET
        stage = excluded.stage, status = excluded.status, message = excluded.message";

/// Adds the alert of a transaction that `transaction` turns fatal. It
/// replaces an alert that a deleted log with the same id left.
pub fn add(transaction: &Transaction<'_>, alert: &PendingFatal) -> Result<(), StorageError> {
    transaction.prepare_cached(INSERT)?.execute(params![
        alert.transaction_id,
        alert.stage,
        alert.status,
        alert.message
    ])?;
    Ok(())
}

/// Reads every alert that has not run yet, in the order of transaction ids.
pub fn read_all(connection: &Connection) -> Result<Vec<PendingFatal>, StorageError> {
    let mut statement = connection.prepare(
        "SELECT transaction_id, stage, status, message FROM pending_fatal_alerts
         ORDER BY transaction_id",
    )?;
    let alerts = statement
        .query_map([], |row| {
            Ok(PendingFatal {
                transaction_id: row.get(0)?,
                stage: row.get(1)?,
                status: row.get(2)?,
                message: row.get(3)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(alerts)
}

/// Removes the alert of `transaction_id`, once its command has run.
pub fn remove(connection: &Connection, transaction_id: &str) -> Result<(), StorageError> {
    connection.execute(
        "DELETE FROM pending_fatal_alerts WHERE transaction_id = ?1",
        [transaction_id],
    )?;
    Ok(())
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

    fn alert(id: &str, message: Option<&str>) -> PendingFatal {
        PendingFatal {
            transaction_id: id.to_string(),
            stage: "WORKER_LOAD".to_string(),
            status: "FATAL".to_string(),
            message: message.map(str::to_string),
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
        add_committed(&mut connection, &alert("tx-1", Some("corrupt")));
        assert_eq!(
            read_all(&connection).expect("read"),
            vec![alert("tx-1", Some("corrupt"))]
        );
    }

    #[test]
    fn added_alert_replaces_older_one() {
        let mut connection = database();
        add_committed(&mut connection, &alert("tx-1", Some("first")));
        add_committed(&mut connection, &alert("tx-1", None));
        assert_eq!(
            read_all(&connection).expect("read"),
            vec![alert("tx-1", None)]
        );
    }

    #[test]
    fn removed_alert_is_gone() {
        let mut connection = database();
        add_committed(&mut connection, &alert("tx-1", None));
        add_committed(&mut connection, &alert("tx-2", None));
        remove(&connection, "tx-1").expect("remove");
        assert_eq!(
            read_all(&connection).expect("read"),
            vec![alert("tx-2", None)]
        );
    }

    #[test]
    fn clear_counts_alerts() {
        let mut connection = database();
        add_committed(&mut connection, &alert("tx-1", None));
        add_committed(&mut connection, &alert("tx-2", None));
        assert_eq!(clear(&connection).expect("clear"), 2);
    }
}
