//! Opening the database for a command: the checks of its path that turn
//! SQLite's "unable to open database file" into a reason and a fix, and the
//! read-write and read-only ways to open it.

use std::path::{Path, PathBuf};

use super::CLI_BUSY_TIMEOUT;
use crate::storage::{self, file_mode};

/// Rejects a database path that SQLite could only report as "unable to open
/// database file": a directory, or a file in a directory that does not exist.
pub fn check_database_path(path: &Path) -> Result<(), String> {
    check_database_path_form(path)?;
    let directory = database_directory(path);
    if !directory.is_dir() {
        return Err(format!(
            "cannot open database {}: directory {} does not exist; create it or check --db \
             (or TRANSLOG_DB)",
            path.display(),
            directory.display()
        ));
    }
    Ok(())
}

/// Rejects a database path that is a directory, that names a file as a
/// directory, or whose directory this user may not search.
fn check_database_path_form(path: &Path) -> Result<(), String> {
    check_directory_search(path)?;
    if path.is_dir() {
        return Err(format!(
            "database path {} is a directory; give the path of a database file with --db \
             (or TRANSLOG_DB)",
            path.display()
        ));
    }
    let directory = database_directory(path);
    if directory.exists() && !directory.is_dir() {
        return Err(format!(
            "cannot open database {}: {} is a file, not a directory; check --db \
             (or TRANSLOG_DB)",
            path.display(),
            directory.display()
        ));
    }
    Ok(())
}

/// Returns the directory of the database at `path`, which is `.` for a bare
/// file name.
fn database_directory(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// Rejects a database path below a directory that this user may not search.
/// Nothing below it can be opened, created or even found missing, so the
/// errors that would follow blame the file. The usual cause is a forgotten
/// `--db` in a working directory of another user, such as `/root` under
/// `sudo -u`.
fn check_directory_search(path: &Path) -> Result<(), String> {
    let Some(directory) = file_mode::unsearchable_directory(database_directory(path)) else {
        return Ok(());
    };
    Err(format!(
        "cannot open database {}: {} has no search permission on directory {}; pass the \
         database's path with --db (or TRANSLOG_DB), or run the command as a user that may \
         search {}",
        absolute(path).display(),
        file_mode::effective_user(),
        directory.display(),
        directory.display()
    ))
}

/// Returns `path` as an absolute path, for messages that must not depend on
/// the working directory. It keeps symbolic links and `..` as they are.
fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Opens the database for a command that writes, creating the file and its
/// schema on first use. A command that creates the database reports it on
/// standard error, so that a mistyped `--db` shows at once.
pub fn open_database(path: &Path) -> Result<rusqlite::Connection, String> {
    check_database_path(path)?;
    let is_new = std::fs::metadata(path).map_or(true, |metadata| metadata.len() == 0);
    let connection = storage::open(path, CLI_BUSY_TIMEOUT, storage::Schema::Current)
        .map_err(|error| storage::open_error(path, &error))?;
    if is_new {
        eprintln!(
            "translog: created database {} with its schema",
            absolute(path).display()
        );
    }
    Ok(connection)
}

/// Opens the database for a command that only reads. An existing database
/// is opened read-only, which works for a user who may read it but not write
/// it and changes no file. A missing database, or an empty file, gets its
/// schema first, as for every command, which needs write access once.
pub fn open_database_read_only(
    path: &Path,
    schema: storage::Schema,
) -> Result<storage::ReadOnlyDatabase, String> {
    check_database_path_form(path)?;
    match storage::open_read_only(path, CLI_BUSY_TIMEOUT, schema) {
        Err(missing @ (storage::StorageError::NotFound | storage::StorageError::NoSchema)) => {
            let database = open_database(path)
                .map(storage::ReadOnlyDatabase::locked)
                .map_err(|message| {
                    format!("{message} ({missing}, so the command tried to create it)")
                })?;
            eprintln!(
                "translog: the new database is empty, so this command reads nothing from it; \
                 if you meant an existing database, check --db (or TRANSLOG_DB)"
            );
            Ok(database)
        }
        result => result.map_err(|error| storage::open_read_only_error(path, &error)),
    }
}
