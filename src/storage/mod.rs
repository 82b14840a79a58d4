//! The SQLite database: opening it with the pragmas that make a commit durable,
//! creating and versioning the schema, and turning SQLite's error codes into
//! the few cases the rest of the service acts on.
//!
//! One storage thread owns the connection that writes entries (`writer`).
//! Reads and the command line use connections of their own, which WAL mode
//! lets run beside the writer.

pub mod alert_position;
pub mod backup;
pub mod file_mode;
pub mod files;
pub mod flocked_files;
pub mod free_space;
pub mod leftovers;
mod log_pages;
pub mod logs;
pub mod maintenance;
pub mod new_database;
pub mod pending_alerts;
mod read_check;
pub mod read_only;
pub mod server_instance;
mod translog_tables;
pub mod users;
pub mod writer;

pub use files::FileChange;
pub use read_only::{open_read_only, open_read_only_error, ReadOnlyDatabase};

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OpenFlags, TransactionBehavior};

/// The schema version this build creates and understands.
pub const SCHEMA_VERSION: i64 = 2;

const SCHEMA: &str = include_str!("../../schema.sql");

/// Moves the entries of a version 1 database, a rowid table with a separate
/// unique index, into the `entries` table of version 2, which is keyed by the
/// uniqueness rule itself. The new table is created between the two parts.
const MIGRATION_1_TO_2_BEFORE: &str = "ALTER TABLE entries RENAME TO entries_version_1;";
const MIGRATION_1_TO_2_AFTER: &str = "
    INSERT INTO entries (transaction_id, timestamp_s, timestamp_nanos, timestamp_sent,
                         stage, status, message, received_at_ns, reported_by)
    SELECT transaction_id, timestamp_s, timestamp_nanos, timestamp_sent,
           stage, status, message, received_at_ns, reported_by
    FROM entries_version_1
    ORDER BY transaction_id, timestamp_s, timestamp_nanos, stage, status;
    DROP TABLE entries_version_1;";

/// A failure of the database, sorted by what the caller should do about it.
#[derive(Debug)]
pub enum StorageError {
    /// Another connection held the lock past the busy timeout: retry later.
    Busy(rusqlite::Error),
    /// The disk is full, read-only or failing: retry once it is fixed.
    Unavailable(rusqlite::Error),
    /// A page of the file is damaged (`SQLITE_CORRUPT`).
    Corrupt(rusqlite::Error),
    /// Anything else, including bugs.
    Internal(rusqlite::Error),
    /// The file was written by a newer translog.
    SchemaTooNew(i64),
    /// The file has an older schema, which only `translog serve` upgrades.
    SchemaTooOld(i64),
    /// The file is another application's database. The text describes what
    /// was found in it, such as `has 1 view but no translog schema version`.
    ForeignDatabase(String),
    /// The process may not write the file, so SQLite opened it read-only.
    ReadOnlyFile,
    /// The file is on a file system mounted read-only.
    ReadOnlyFileSystem,
    /// The database file, or its `-wal` or `-shm` file, was deleted, moved,
    /// replaced or overwritten while the server ran. The text names the file
    /// and the change.
    FileChanged(FileChange, String),
    /// No database file exists at the path of a read-only open.
    NotFound,
    /// The file of a read-only open contains no translog schema yet: it is
    /// empty, or an SQLite database without tables.
    NoSchema,
    /// Reading the named file failed: the database, or its `-wal` or `-shm`
    /// file.
    Unreadable(PathBuf, std::io::Error),
    /// The database file changed while a command read it without locks.
    ChangedWhileRead,
    /// The blocking task of a read panicked, or the runtime cancelled it
    /// while stopping. The text is tokio's message.
    ReadTaskFailed(String),
}

impl StorageError {
    /// Returns true when the request may succeed if retried later unchanged.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            StorageError::Busy(_)
                | StorageError::Unavailable(_)
                | StorageError::FileChanged(..)
                | StorageError::ChangedWhileRead
        )
    }
}

impl From<rusqlite::Error> for StorageError {
    fn from(error: rusqlite::Error) -> Self {
        let code = match &error {
            rusqlite::Error::SqliteFailure(failure, _) => Some(failure.code),
            _ => None,
        };
        match code {
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StorageError::Busy(error),
            Some(
                ErrorCode::DiskFull
                | ErrorCode::ReadOnly
                | ErrorCode::SystemIoFailure
                | ErrorCode::CannotOpen
                | ErrorCode::OutOfMemory
                | ErrorCode::FileLockingProtocolFailed,
            ) => StorageError::Unavailable(error),
            Some(ErrorCode::DatabaseCorrupt) => StorageError::Corrupt(error),
            _ => StorageError::Internal(error),
        }
    }
}

impl fmt::Display for StorageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StorageError::Busy(error) => write!(f, "database is busy: {error}"),
            StorageError::Unavailable(error) => write!(f, "database is unavailable: {error}"),
            StorageError::Internal(error) => write!(f, "database error: {error}"),
            StorageError::Corrupt(error) => write!(
                f,
                "the database file is damaged ({error}); stop any server that uses it, check \
                 the file with sqlite3 and PRAGMA integrity_check, and restore the last backup \
                 (see docs/operators.md)"
            ),
            StorageError::FileChanged(change, description) => write!(
                f,
                "{description} while the server ran, so it stores nothing more until it is \
                 restarted; the steps are in docs/operators.md under {}",
                change.guide_sections()
            ),
            StorageError::ReadOnlyFileSystem => f.write_str(
                "the file is on a read-only file system; remount it read-write, or copy the \
                 database to a writable one",
            ),
            StorageError::ReadOnlyFile => f.write_str(
                "the file is not writable by this user; run the command as the user that owns \
                 it",
            ),
            StorageError::ForeignDatabase(found) => write!(
                f,
                "the file {found}, so it looks like another application's database; choose \
                 another --db path"
            ),
            StorageError::SchemaTooNew(version) => write!(
                f,
                "database schema version {version} is newer than this translog understands \
                 ({SCHEMA_VERSION}); upgrade translog"
            ),
            StorageError::NotFound => f.write_str("no database exists at this path"),
            StorageError::NoSchema => f.write_str("the file contains no translog schema yet"),
            StorageError::Unreadable(path, error)
                if error.kind() == std::io::ErrorKind::PermissionDenied =>
            {
                write!(
                    f,
                    "reading {} failed: {error}; run the command as the user that owns the \
                     database, or give this user read access to the database file, to the -wal \
                     and -shm files beside it, and to their directory",
                    path.display()
                )
            }
            StorageError::Unreadable(path, error) => {
                write!(f, "reading {} failed: {error}", path.display())
            }
            StorageError::ChangedWhileRead => f.write_str(
                "the database file changed while it was read without locks, which happens when \
                 a server starts on it meanwhile; run the command again, and it reads with the \
                 server's locks",
            ),
            StorageError::SchemaTooOld(version) => write!(
                f,
                "database schema version {version} is older than this translog's \
                 ({SCHEMA_VERSION}), and only `translog serve` upgrades it, so that an older \
                 server still running on the file keeps working; stop that server, back up \
                 the file, start `translog serve` of this version, then run this command again"
            ),
            StorageError::ReadTaskFailed(error) => write!(f, "read task failed: {error}"),
        }
    }
}

impl std::error::Error for StorageError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StorageError::Busy(error)
            | StorageError::Unavailable(error)
            | StorageError::Corrupt(error)
            | StorageError::Internal(error) => Some(error),
            StorageError::Unreadable(_, error) => Some(error),
            StorageError::SchemaTooNew(_)
            | StorageError::SchemaTooOld(_)
            | StorageError::ForeignDatabase(_)
            | StorageError::ReadOnlyFile
            | StorageError::ReadOnlyFileSystem
            | StorageError::FileChanged(..)
            | StorageError::NotFound
            | StorageError::NoSchema
            | StorageError::ChangedWhileRead
            | StorageError::ReadTaskFailed(_) => None,
        }
    }
}

/// The handling of an existing schema of another version when a database opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schema {
    /// Upgrade an older schema. Only the server does, after it has taken the
    /// database's lock, so no older server still writes to the file.
    Upgrade,
    /// Refuse an older schema, with [`StorageError::SchemaTooOld`].
    Current,
    /// Leave any version as it is, for a copy of the file.
    AsFound,
}

/// The size, in bytes, that the write-ahead log is cut back to when it starts
/// over after a checkpoint. A large prune or upgrade writes a WAL far larger
/// than normal use does (about 4 MiB, 1000 pages), and without a limit the
/// file keeps that size.
const WAL_SIZE_LIMIT: i64 = 8 * 1024 * 1024;

/// Opens the database read-write, creating the file and its schema on first
/// use, in WAL mode with `synchronous=FULL`, so that a commit survives a crash
/// of the process or of the machine. `busy_timeout` is how long a statement
/// waits for another connection's lock before it fails with
/// [`StorageError::Busy`]. `schema` decides what happens to an existing
/// schema of another version.
///
/// # Errors
///
/// Fails when the file cannot be opened or created, is not a database, or
/// contains a schema of a version that `schema` does not accept.
pub fn open(
    path: &Path,
    busy_timeout: Duration,
    schema: Schema,
) -> Result<Connection, StorageError> {
    open_with(path, LockWait::Timeout(busy_timeout), schema)
}

/// The way a connection waits for another connection's lock.
#[derive(Clone, Copy, Debug)]
pub enum LockWait {
    /// Waits up to this long, then the statement fails with
    /// [`StorageError::Busy`].
    Timeout(Duration),
    /// SQLite's busy handler: called with the number of earlier calls for the
    /// same lock, it waits and returns true to try again, or false to fail.
    Handler(fn(i32) -> bool),
}

/// Opens the database as [`open`] does, waiting for other connections' locks
/// as `wait` sets, from the first statement on.
///
/// # Errors
///
/// Fails as [`open`] does.
pub fn open_with(path: &Path, wait: LockWait, schema: Schema) -> Result<Connection, StorageError> {
    create_private_file(path);
    let mut connection = Connection::open(path)?;
    // SQLite opens a file that the process may not write read-only, without
    // an error, and every write would then fail later.
    if connection.is_readonly(rusqlite::MAIN_DB)? {
        let writable = std::fs::OpenOptions::new().write(true).open(path);
        return Err(match writable {
            Err(error) if error.kind() == std::io::ErrorKind::ReadOnlyFilesystem => {
                StorageError::ReadOnlyFileSystem
            }
            _ => StorageError::ReadOnlyFile,
        });
    }
    match wait {
        LockWait::Timeout(timeout) => connection.busy_timeout(timeout)?,
        LockWait::Handler(handler) => connection.busy_handler(Some(handler))?,
    }
    reject_foreign_database(&connection)?;
    switch_to_wal(&connection, wait)?;
    connection.pragma_update(None, "synchronous", "FULL")?;
    connection.pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT)?;
    connection.pragma_update(None, "foreign_keys", true)?;
    migrate(&mut connection, schema)?;
    Ok(connection)
}

/// Returns true when the database of `connection` has no users and no
/// transactions. A server's first start creates a user, so such a database
/// is almost always one that a mistyped path created. Returns false when the
/// tables cannot be read, as in a database of an older schema.
pub fn is_unused(connection: &Connection) -> bool {
    connection
        .query_row(
            "SELECT NOT EXISTS (SELECT 1 FROM users) AND NOT EXISTS (SELECT 1 FROM transactions)",
            [],
            |row| row.get(0),
        )
        .unwrap_or(false)
}

/// Sets WAL journal mode, waiting for other connections' locks as `wait`
/// sets. A file in another journal mode, such as a backup that no server has
/// opened yet, needs an exclusive lock for the switch. While another
/// connection holds a lock, SQLite fails the switch at once with "database
/// is locked", without calling the busy handler, so it is tried again here.
fn switch_to_wal(connection: &Connection, wait: LockWait) -> Result<(), StorageError> {
    let pause = Duration::from_millis(10);
    let started = std::time::Instant::now();
    let mut tries = 0;
    loop {
        match connection.pragma_update(None, "journal_mode", "WAL") {
            Err(rusqlite::Error::SqliteFailure(failure, _))
                if failure.code == ErrorCode::DatabaseBusy =>
            {
                let again = match wait {
                    LockWait::Timeout(timeout) => {
                        let waiting = started.elapsed() < timeout;
                        if waiting {
                            std::thread::sleep(pause);
                        }
                        waiting
                    }
                    LockWait::Handler(handler) => handler(tries),
                };
                if !again {
                    return Err(StorageError::from(rusqlite::Error::SqliteFailure(
                        failure, None,
                    )));
                }
                tries = tries.saturating_add(1);
            }
            result => return Ok(result?),
        }
    }
}

/// Describes a failure to open the database at `path`, with what to check
/// for the causes that a wrong path or file system gives. A relative path is
/// named as an absolute one, as every command names it.
pub fn open_error(path: &Path, error: &StorageError) -> String {
    let absolute = std::path::absolute(path);
    let path = absolute.as_deref().unwrap_or(path);
    let full_disk = free_space::full_disk_hint(path, error);
    if !full_disk.is_empty() {
        return format!(
            "cannot open database {}: {error}{full_disk}",
            path.display()
        );
    }
    if let StorageError::ReadOnlyFile = error {
        if let Some(reason) = file_mode::owner_without_write(path) {
            return format!("cannot open database {}: {reason}", path.display());
        }
    }
    let code = match error {
        StorageError::Unavailable(rusqlite::Error::SqliteFailure(failure, _))
        | StorageError::Internal(rusqlite::Error::SqliteFailure(failure, _)) => Some(failure.code),
        _ => None,
    };
    // SQLite creates the -wal and -shm files beside the file that a
    // symbolic link points to, and only when they are missing.
    let real = files::real_path(path);
    let directory = std::path::absolute(files::parent_directory(&real))
        .unwrap_or_else(|_| files::parent_directory(&real).to_path_buf());
    let companion_missing = ["-wal", "-shm"]
        .iter()
        .any(|suffix| !files::companion(&real, suffix).exists());
    let companions_denied = companion_missing
        && matches!(
            file_mode::create_denied(&directory),
            Some(file_mode::CreateDenied::Permission)
        );
    match code {
        Some(ErrorCode::CannotOpen | ErrorCode::ReadOnly) if companions_denied => format!(
            "cannot open database {}: {}",
            path.display(),
            file_mode::companions_denied(&directory)
        ),
        Some(ErrorCode::CannotOpen | ErrorCode::ReadOnly) => format!(
            "cannot open database {}: {error}; check that its directory {} exists and is \
             writable by this user, who needs to create the -wal and -shm files there, and \
             that the path is a file",
            path.display(),
            files::parent_directory(path).display()
        ),
        Some(ErrorCode::NotADatabase) => format!(
            "cannot open database {}: {error}; the path points to a file that is not a \
             translog database, so check --db (or TRANSLOG_DB)",
            path.display()
        ),
        _ => format!("cannot open database {}: {error}", path.display()),
    }
}

/// Opens a connection that only reads, for the read API and the checks of the
/// authentication cache. The database must already exist.
///
/// # Errors
///
/// Fails when the file cannot be opened.
pub fn open_reader(path: &Path, busy_timeout: Duration) -> Result<Connection, StorageError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let connection = Connection::open_with_flags(path, flags)?;
    connection.busy_timeout(busy_timeout)?;
    connection.pragma_update(None, "query_only", true)?;
    Ok(connection)
}

/// Creates the database file readable by its owner only, because it contains
/// password hashes. SQLite gives the WAL and shared-memory files the same
/// mode. An existing empty file gets that mode too, because the schema and
/// the users are about to be written to it. A file with content is left as it
/// is. Any failure here is left for SQLite's open to report.
fn create_private_file(path: &Path) {
    use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
    if let Ok(metadata) = std::fs::metadata(path) {
        if metadata.is_file() && metadata.len() == 0 {
            let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
        }
        return;
    }
    // Not create_new: through a symbolic link whose target does not exist
    // yet, it would fail, and SQLite would create the target with the
    // default mode.
    let _ = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path);
}

/// Rejects another application's file (see [`translog_tables::check_owner`]),
/// so that a mistyped `--db` never adds translog's tables to another
/// application's database or changes its journal mode.
fn reject_foreign_database(connection: &Connection) -> Result<(), StorageError> {
    translog_tables::check_owner(connection).map(drop)
}

/// The tables added to schema version 2 after its release, which `serve`
/// creates in a version 2 database that lacks them.
const ADDED_TO_VERSION_2: [&str; 3] = [
    "CREATE TABLE IF NOT EXISTS stall_alert_position (",
    "CREATE TABLE IF NOT EXISTS server_instance (",
    "CREATE TABLE IF NOT EXISTS pending_fatal_alerts (",
];

fn migrate(connection: &mut Connection, schema: Schema) -> Result<(), StorageError> {
    let version: i64 = connection.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if version == SCHEMA_VERSION && schema == Schema::Upgrade {
        drop_unkeyed_pending_alerts(connection)?;
        for start in ADDED_TO_VERSION_2 {
            connection.execute_batch(schema_statement(start)?)?;
        }
        return Ok(());
    }
    if version == SCHEMA_VERSION || (version != 0 && schema == Schema::AsFound) {
        return Ok(());
    }
    // Another process may be creating the schema at the same moment, so the
    // version is read again under the write lock.
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version: i64 = transaction.pragma_query_value(None, "user_version", |row| row.get(0))?;
    match version {
        0 => transaction.execute_batch(SCHEMA)?,
        1 if schema != Schema::Upgrade => return Err(StorageError::SchemaTooOld(1)),
        1 => {
            log::info!("upgrading the database schema from version 1 to {SCHEMA_VERSION}");
            transaction.execute_batch(MIGRATION_1_TO_2_BEFORE)?;
            transaction.execute_batch(schema_statement(ENTRIES_TABLE)?)?;
            transaction.execute_batch(MIGRATION_1_TO_2_AFTER)?;
            for start in ADDED_TO_VERSION_2 {
                transaction.execute_batch(schema_statement(start)?)?;
            }
        }
        SCHEMA_VERSION => return Ok(()),
        newer => return Err(StorageError::SchemaTooNew(newer)),
    }
    transaction.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    transaction.commit()?;
    Ok(())
}

/// Drops a `pending_fatal_alerts` table without the `received_at_ns`
/// column, as earlier builds created it, so that the
/// statement of [`SCHEMA`] creates it anew. Its pending alerts are lost, and
/// a warning is logged.
fn drop_unkeyed_pending_alerts(connection: &Connection) -> Result<(), StorageError> {
    let columns: Vec<String> = connection
        .prepare("SELECT name FROM pragma_table_info('pending_fatal_alerts')")?
        .query_map([], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    if columns.is_empty() || columns.iter().any(|column| column == "received_at_ns") {
        return Ok(());
    }
    connection.execute_batch("DROP TABLE pending_fatal_alerts")?;
    log::warn!(
        "dropped the table pending_fatal_alerts of an older development build, which lacked \
         the column received_at_ns, and the fatal alerts that it held"
    );
    Ok(())
}

/// The start of the statement of [`SCHEMA`] that the migration from version
/// 1 runs to create the `entries` table of version 2.
const ENTRIES_TABLE: &str = "CREATE TABLE entries (";

/// Returns the statement of [`SCHEMA`] that starts with `start`, up to the
/// next semicolon, so that a migration creates a table exactly as a new
/// database has it. Only table statements qualify: a trigger's body has
/// semicolons of its own.
///
/// # Errors
///
/// [`StorageError::Internal`] when no statement starts with `start`, as
/// after a table of `schema.sql` was renamed, so that the migration fails
/// instead of leaving the table out.
fn schema_statement(start: &str) -> Result<&'static str, StorageError> {
    let Some(begin) = SCHEMA.find(start) else {
        let message = format!("schema.sql has no statement that starts with {start:?}");
        return Err(StorageError::Internal(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_INTERNAL),
            Some(message),
        )));
    };
    let rest = &SCHEMA[begin..];
    Ok(rest.find(';').map_or(rest, |end| &rest[..=end]))
}

/// Reader connections shared by the blocking tasks of the read API and the
/// password hashing threads, so that a request does not pay for opening the
/// file. The pool has no cap of its own. It keeps as many connections as were
/// ever in use at once, which the runtime's 4 blocking threads and the 2
/// hashing threads (`BLOCKING_THREADS` and `HASHING_THREADS` in service.rs)
/// bound to 6.
pub struct ReaderPool {
    path: std::path::PathBuf,
    busy_timeout: Duration,
    idle: Mutex<Vec<Connection>>,
    /// The device and inode number of the database file when the pool was
    /// created, or `None` when it could not be read then.
    identity: Option<(u64, u64)>,
}

impl ReaderPool {
    pub fn new(path: &Path, busy_timeout: Duration) -> ReaderPool {
        ReaderPool {
            path: path.to_path_buf(),
            busy_timeout,
            idle: Mutex::new(Vec::new()),
            identity: file_identity(path),
        }
    }

    /// Opens a new reader, unless another file has taken the place of the
    /// database file since the pool was created. A new connection would
    /// apply the server's `-wal` file to that file. It would also open the
    /// server's `-shm` file for another inode, find no other process's lock
    /// on it, and truncate it under the server's own connections (SQLite
    /// 3.54.1, `unixLockSharedMemory`).
    fn open(&self) -> Result<Connection, StorageError> {
        self.check_identity()?;
        let connection = open_reader(&self.path, self.busy_timeout)?;
        // A file moved to the path during the open is found here.
        self.check_identity()?;
        Ok(connection)
    }

    /// Fails with [`StorageError::FileChanged`] when the file at the path
    /// is no longer the database file that the pool was created for.
    fn check_identity(&self) -> Result<(), StorageError> {
        let Some(first) = self.identity else {
            return Ok(());
        };
        let path = self.path.display();
        match file_identity(&self.path) {
            Some(now) if now == first => Ok(()),
            Some(_) => Err(StorageError::FileChanged(
                FileChange::Replaced,
                format!("{path} was replaced by another file"),
            )),
            None => Err(StorageError::FileChanged(
                FileChange::Missing,
                format!("{path} was deleted or moved"),
            )),
        }
    }

    /// Runs `read` on an idle connection, or a new one when none is idle. Call
    /// it from a blocking task: SQLite reads block.
    ///
    /// # Errors
    ///
    /// Passes on the error of `read`, or of opening a connection.
    pub fn with<T>(
        &self,
        read: impl FnOnce(&Connection) -> Result<T, StorageError>,
    ) -> Result<T, StorageError> {
        let pooled = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        let connection = match pooled {
            Some(connection) => connection,
            None => self.open()?,
        };
        let result = read(&connection);
        if let Ok(mut idle) = self.idle.lock() {
            idle.push(connection);
        }
        result
    }
}

/// Runs `read` on a connection of `readers` in a blocking task of the
/// current tokio runtime, so that the SQLite read does not hold up the async
/// thread.
///
/// # Errors
///
/// Passes on the error of `read` or of opening a connection, and returns
/// [`StorageError::ReadTaskFailed`] when the task panicked or was cancelled.
pub async fn run_read<T: Send + 'static>(
    readers: &Arc<ReaderPool>,
    read: impl FnOnce(&Connection) -> Result<T, StorageError> + Send + 'static,
) -> Result<T, StorageError> {
    let readers = Arc::clone(readers);
    tokio::task::spawn_blocking(move || readers.with(read))
        .await
        .map_err(|error| StorageError::ReadTaskFailed(error.to_string()))?
}

/// Returns the device and inode number of the file at `path`, following
/// symbolic links, or `None` when it cannot be read.
fn file_identity(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt as _;
    std::fs::metadata(path)
        .ok()
        .map(|metadata| (metadata.dev(), metadata.ino()))
}

/// Returns the current time in nanoseconds since the Unix epoch, the form in
/// which receive times are stored.
pub fn now_ns() -> i64 {
    chrono::Utc::now().timestamp_nanos_opt().unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_error_names_relative_path_absolutely() {
        let message = open_error(Path::new("t.db"), &StorageError::ReadOnlyFile);
        let expected = std::env::current_dir()
            .expect("working directory")
            .join("t.db");
        assert!(
            message.starts_with(&format!("cannot open database {}:", expected.display())),
            "{message}"
        );
    }

    #[test]
    fn schema_statement_finds_entries_table() {
        let statement = schema_statement(ENTRIES_TABLE).expect("the entries table");
        assert!(statement.starts_with(ENTRIES_TABLE), "{statement}");
        assert!(statement.ends_with(") WITHOUT ROWID;"), "{statement}");
    }

    #[test]
    fn schema_statement_finds_added_tables() {
        for start in ADDED_TO_VERSION_2 {
            let statement = schema_statement(start);
            assert!(
                statement.is_ok_and(|statement| statement.starts_with(start)),
                "{start}"
            );
        }
    }

    #[test]
    fn reader_pool_rejects_replaced_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("t.db");
        let timeout = Duration::from_secs(1);
        open(&path, timeout, Schema::Current).expect("create the database");
        let readers = ReaderPool::new(&path, timeout);
        let other = dir.path().join("other.db");
        open(&other, timeout, Schema::Current).expect("create another database");
        std::fs::rename(&other, &path).expect("move it over the first");
        let result = readers.with(users::generation);
        assert!(
            matches!(
                result,
                Err(StorageError::FileChanged(FileChange::Replaced, _))
            ),
            "{result:?}"
        );
    }

    #[test]
    fn reader_pool_opens_unchanged_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("t.db");
        let timeout = Duration::from_secs(1);
        open(&path, timeout, Schema::Current).expect("create the database");
        let readers = ReaderPool::new(&path, timeout);
        assert!(readers.with(users::generation).is_ok());
    }

    #[test]
    fn schema_statement_missing_is_error() {
        let error = schema_statement("CREATE TABLE invoices (").expect_err("no such table");
        assert!(error.to_string().contains("invoices"), "{error}");
    }
}
