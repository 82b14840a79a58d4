//! The check that the database file still reads as the translog database
//! that the server opened. A file copied over the database in place (`cp
//! backup.db translog.db`) keeps its inode, so the check of `files` passes.
//! But the server's connection goes on from its page cache and its log, and
//! mixes their pages with those of the copy into a damaged file. The storage
//! thread runs this check together with that one, and stores nothing more
//! once it fails.
//!
//! It reads through a new connection, because the writer's connection
//! serves these pages from its cache. It reads the schema version, the row
//! of `credentials_generation` and the token that the server wrote at its
//! start (see `server_instance`). `serve` copies the log into the database
//! file after it writes the token, so the new connection reads the token's
//! page from whatever file is now at the path. A backup that `translog
//! backup` wrote has no token, and a copy of another database has another
//! one. A copy of this database made by other means while this server ran
//! (`cp`, sqlite3's `.backup`) has the same token and passes. So does any
//! copy while the token's page is still in the log. That happens when a
//! reader kept the checkpoint at the start from completing, and lasts until
//! SQLite's next complete checkpoint. Without a token, when another
//! process's write lock kept `serve` from writing one, only the schema
//! version and the row are read. The check costs a connection's open and three
//! small reads: about 65 µs, of which the token's read is about 3 µs
//! (averages of 2000 runs on a small database, release build, 2-core VM).
//! It runs at most once a second, and once more when the storage thread
//! stops.

use std::path::Path;
use std::time::Duration;

use rusqlite::OptionalExtension as _;

use super::server_instance::{self, Comparison, Token};
use super::{StorageError, SCHEMA_VERSION};

/// How long the check's reads wait for another connection's lock. A busy
/// database passes the check, so that it never holds up the storage thread
/// for long.
const BUSY_TIMEOUT: Duration = Duration::from_millis(100);

/// Reads the database at `db` through a new connection, and compares its
/// token with `token`, the one that the server wrote, if any. When the read fails in
/// a way that a busy database, a full disk or an I/O error does not
/// explain, it logs an error with the way out, and returns the change for
/// [`StorageError::FileChanged`]. Returns `None` otherwise.
pub fn changed_content(db: &Path, token: Option<&Token>) -> Option<String> {
    let cause = match read_failure(db, token) {
        Ok(None) => return None,
        Ok(Some(cause)) => cause,
        Err(error) if error.is_transient() => {
            log::debug!("the read check of {} did not run: {error}", db.display());
            return None;
        }
        // The message of a damaged file has steps of its own, and the line
        // below gives the ones that fit a file changed under the server.
        Err(StorageError::Corrupt(error)) => format!("the file reads as damaged: {error}"),
        Err(error) => error.to_string(),
    };
    log::error!(
        "{db} no longer reads as the database that the server opened ({cause}), so another \
         program probably changed it while the server ran, such as a backup copied over it \
         with cp. The server stores no more entries and answers 503 until it is restarted, \
         and it moves {db}-wal aside, because that log belongs to the old content. Stop \
         translog; then, to go on with {db} as it was copied, move that log to another \
         directory, or restore the last backup as docs/operators.md says under \"Restoring \
         a backup\"",
        db = db.display()
    );
    Some(format!(
        "{} no longer reads as the database that the server opened, probably because another \
         program changed it",
        db.display()
    ))
}

/// Returns what is wrong with the schema version, the credentials generation
/// or the token of the database at `db`, or `None` when all three read as
/// expected.
fn read_failure(db: &Path, token: Option<&Token>) -> Result<Option<String>, StorageError> {
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
    let Some(token) = token else {
        return Ok(None);
    };
    let cause = match server_instance::compare(&connection, token)? {
        Comparison::Same => return Ok(None),
        Comparison::Missing => "the row of server_instance is missing",
        Comparison::Different => {
            "the token in server_instance is not the one that the server wrote"
        }
    };
    Ok(Some(cause.to_string()))
}
