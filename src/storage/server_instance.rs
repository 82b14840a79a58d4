//! The token of the running server, in the one row of `server_instance`.
//! `serve` writes a new random token at its start and keeps it in memory,
//! and the read check (`read_check`) compares the token in the file with
//! it. A backup copied over the database while the server runs lacks the
//! row, because `translog backup` removes it from its copy, so the check
//! finds the copy even when its schema version and users are the same.

use std::path::Path;

use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension as _, TransactionBehavior};

use super::StorageError;

/// The length of a token in bytes, enough that two servers never draw the
/// same one.
const TOKEN_LEN: usize = 16;

/// The random token that one run of `serve` writes to its database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token([u8; TOKEN_LEN]);

impl Token {
    /// Draws a new token from the operating system's random source.
    ///
    /// # Errors
    ///
    /// Fails when the random source cannot be read.
    pub fn new() -> std::io::Result<Token> {
        let mut bytes = [0; TOKEN_LEN];
        getrandom::getrandom(&mut bytes)
            .map_err(|error| std::io::Error::other(format!("random source: {error}")))?;
        Ok(Token(bytes))
    }
}

/// The result of comparing the token in a database with the server's.
#[derive(Debug, PartialEq, Eq)]
pub enum Comparison {
    Same,
    Missing,
    Different,
}

/// Stores `token` in place of any token stored before, commits, and copies
/// the write-ahead log into the database file with a checkpoint that
/// truncates the log. The token's page is then read from the database file
/// itself. A token page that stayed in the log would be read from there by
/// every new connection, also after another file was copied over the
/// database file, and the read check would miss the copy. Returns false when
/// a reader of an older snapshot kept the checkpoint from copying the whole
/// log before the busy timeout of `connection`.
///
/// # Errors
///
/// Fails when the token cannot be stored or the checkpoint fails.
pub fn write(connection: &mut Connection, token: &Token) -> Result<bool, StorageError> {
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    transaction.execute(
        "INSERT INTO server_instance (only_row, token) VALUES (1, ?1)
         ON CONFLICT (only_row) DO UPDATE SET token = excluded.token",
        [&token.0[..]],
    )?;
    transaction.commit()?;
    // The row is (busy, log frames, frames checkpointed), and busy is 1 when
    // the checkpoint stopped early (https://sqlite.org/pragma.html).
    let busy: i64 =
        connection.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| row.get(0))?;
    Ok(busy == 0)
}

/// Compares the token stored in the database of `connection` with `token`.
/// A value that is not a blob, as read from a page that another file put
/// there, is a different token.
///
/// # Errors
///
/// Fails when the table cannot be read, as when it is missing.
pub fn compare(connection: &Connection, token: &Token) -> Result<Comparison, StorageError> {
    let stored: Option<Value> = connection
        .query_row("SELECT token FROM server_instance", [], |row| row.get(0))
        .optional()?;
    Ok(match stored {
        None => Comparison::Missing,
        Some(Value::Blob(bytes)) if bytes[..] == token.0[..] => Comparison::Same,
        Some(_) => Comparison::Different,
    })
}

/// Removes the token from the copy of the database at `path`, such as a
/// backup that is not in place yet, so that the copy never carries the token
/// of the server that runs on the original. A copy without the table, made
/// from a database that no server of this version has opened, is left as it
/// is.
///
/// # Errors
///
/// Fails when the copy cannot be opened or written.
pub fn remove_from_copy(path: &Path) -> Result<(), StorageError> {
    let copy = Connection::open(path)?;
    let has_table: bool = copy.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_schema
                        WHERE type = 'table' AND name = 'server_instance')",
        [],
        |row| row.get(0),
    )?;
    if has_table {
        copy.execute("DELETE FROM server_instance", [])?;
    }
    copy.close().map_err(|(_, error)| StorageError::from(error))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Opens a new database with translog's schema in `directory`.
    fn open_database(directory: &tempfile::TempDir) -> Connection {
        let path = directory.path().join("translog.db");
        super::super::open(&path, Duration::from_secs(5), super::super::Schema::Upgrade)
            .expect("open the database")
    }

    #[test]
    fn written_token_compares_same() {
        let directory = tempfile::tempdir().expect("temp dir");
        let mut connection = open_database(&directory);
        let token = Token::new().expect("token");
        write(&mut connection, &token).expect("write the token");
        assert_eq!(compare(&connection, &token).ok(), Some(Comparison::Same));
    }

    #[test]
    fn other_token_compares_different() {
        let directory = tempfile::tempdir().expect("temp dir");
        let mut connection = open_database(&directory);
        write(&mut connection, &Token::new().expect("token")).expect("write the token");
        let other = Token::new().expect("token");
        assert_eq!(
            compare(&connection, &other).ok(),
            Some(Comparison::Different)
        );
    }

    #[test]
    fn new_database_has_no_token() {
        let directory = tempfile::tempdir().expect("temp dir");
        let connection = open_database(&directory);
        let token = Token::new().expect("token");
        assert_eq!(compare(&connection, &token).ok(), Some(Comparison::Missing));
    }

    #[test]
    fn write_empties_the_log() {
        let directory = tempfile::tempdir().expect("temp dir");
        let mut connection = open_database(&directory);
        let complete = write(&mut connection, &Token::new().expect("token"));
        assert_eq!(complete.ok(), Some(true));
        let wal = super::super::files::companion(&directory.path().join("translog.db"), "-wal");
        assert_eq!(std::fs::metadata(wal).map(|meta| meta.len()).ok(), Some(0));
    }

    #[test]
    fn removed_token_is_missing() {
        let directory = tempfile::tempdir().expect("temp dir");
        let mut connection = open_database(&directory);
        let token = Token::new().expect("token");
        write(&mut connection, &token).expect("write the token");
        remove_from_copy(&directory.path().join("translog.db")).expect("remove the token");
        assert_eq!(compare(&connection, &token).ok(), Some(Comparison::Missing));
    }

    #[test]
    fn copy_without_table_is_left_as_is() {
        let directory = tempfile::tempdir().expect("temp dir");
        let path = directory.path().join("old.db");
        Connection::open(&path)
            .and_then(|connection| connection.execute_batch("CREATE TABLE entries (a);"))
            .expect("create the copy");
        assert!(remove_from_copy(&path).is_ok());
    }
}
