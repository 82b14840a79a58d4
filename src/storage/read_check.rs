//! The check that the database file still reads as the translog database
//! that the server opened. A file copied over the database in place (`cp
//! backup.db translog.db`) keeps its inode, so the check of `files` passes.
//! But the server's connection goes on from its page cache and its log, and
//! mixes their pages with those of the copy into a damaged file. The storage
//! thread runs this check together with that one, and stores nothing more
//! once it fails.
//!
//! It reads through a new connection, because the writer's connection
//! serves these pages from its cache. It reads only the schema version and
//! the row of `credentials_generation`: a connection's open and two small
//! reads, well under a millisecond on a local disk by estimate (not
//! measured). It runs at most once a second, and once more when the storage
//! thread stops. A copy whose damage does not reach those two pages passes,
//! and so does one written while every page that the server reads is still
//! in its log.

use std::path::Path;
use std::time::Duration;

use rusqlite::OptionalExtension as _;

use super::{StorageError, SCHEMA_VERSION};

/// How long the check's reads wait for another connection's lock. A busy
/// database passes the check, so that it never holds up the storage thread
/// for long.
const BUSY_TIMEOUT: Duration = Duration::from_millis(100);

/// Reads the database at `db` through a new connection. When the read fails
/// in a way that a busy database, a full disk or an I/O error does not
/// explain, it logs an error with the way out, and returns the change for
/// [`StorageError::FileChanged`]. Returns `None` otherwise.
pub fn changed_content(db: &Path) -> Option<String> {
    let cause = match read_failure(db) {
        Ok(None) => return None,
        Ok(Some(cause)) => cause,
        Err(error) if error.is_transient() => {
            log::debug!("the read check of {} did not run: {error}", db.display());
            return None;
        }
        Err(error) => error.to_string(),
    };
    log::error!(
        "{db} no longer reads as the database that the server opened ({cause}), so another \
         program probably changed it while the server ran, such as a backup copied over it \
         with cp. The server stores no more entries and answers 503 until it is restarted. \
         Stop translog and restore the last backup as docs/operators.md says under \
         \"Restoring a backup\", which moves {db}, {db}-wal and {db}-shm aside first",
        db = db.display()
    );
    Some(format!(
        "{} no longer reads as the database that the server opened, probably because another \
         program changed it",
        db.display()
    ))
}

/// Returns what is wrong with the schema version or the credentials
/// generation of the database at `db`, or `None` when both read as expected.
fn read_failure(db: &Path) -> Result<Option<String>, StorageError> {
    let connection = super::open_reader(db, BUSY_TIMEOUT)?;
    let version: i64 = connection.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if version != SCHEMA_VERSION {
        return Ok(Some(format!(
            "its schema version is {version}, not {SCHEMA_VERSION}"
        )));
    }
    let generation: Option<i64> = connection
        .query_row("SELECT generation FROM credentials_generation", [], |row| {
            row.get(0)
        })
        .optional()?;
    if generation.is_none() {
        return Ok(Some(
            "the row of credentials_generation is missing".to_string(),
        ));
    }
    Ok(None)
}
