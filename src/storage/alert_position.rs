//! The position of the last stalled alert queued, kept in the database so
//! that a restart alerts the stalls that happened while no server ran, and
//! none twice.

use rusqlite::{params, Connection, OptionalExtension as _};

use super::logs::Cursor;
use super::StorageError;

/// Reads the stored position, or `None` when there is none.
pub fn read(connection: &Connection) -> Result<Option<Cursor>, StorageError> {
    let position = connection
        .query_row(
            "SELECT last_received_at_ns, transaction_id FROM stall_alert_position",
            [],
            |row| {
                Ok(Cursor {
                    last_received_at_ns: row.get(0)?,
                    transaction_id: row.get(1)?,
                })
            },
        )
        .optional()?;
    Ok(position)
}

/// Stores `position` in place of the one stored before.
pub fn write(connection: &Connection, position: &Cursor) -> Result<(), StorageError> {
    connection.execute(
        "INSERT INTO stall_alert_position (only_row, last_received_at_ns, transaction_id)
         VALUES (1, ?1, ?2)
         ON CONFLICT (only_row) DO UPDATE SET
             last_received_at_ns = excluded.last_received_at_ns,
             transaction_id = excluded.transaction_id",
        params![position.last_received_at_ns, position.transaction_id],
    )?;
    Ok(())
}

/// Removes the stored position.
pub fn clear(connection: &Connection) -> Result<(), StorageError> {
    connection.execute("DELETE FROM stall_alert_position", [])?;
    Ok(())
}
