//! Opening the database for the commands that only read (`log list`, `log
//! show`, `user list`, `backup`, `prune --dry-run`). They work for a user
//! who may read the database but not write it, while a server runs and
//! while none does. The file may lack write permission, or lie in a
//! read-only directory or on a read-only mount.
//!
//! On an existing database such a command creates no file and writes none.
//! (A missing database gets its schema from a read-write open first, as for
//! every command.) A connection that SQLite opens read-only still creates
//! the `-wal` and `-shm` files of a WAL database when they are missing. It leaves them behind, owned by the
//! reading user, so that a server running as another user cannot write
//! them, and in a read-only directory it cannot open the database at all.
//! So the files that exist decide how the database is opened:
//!
//! - A WAL database whose `-wal` file has content (a server has it open, or
//!   stopped without cleaning up): with SQLite's locks and `readonly_shm=1`,
//!   which maps the existing `-shm` file read-only and never creates one.
//! - A WAL database without a `-wal` file, or with an empty one: every
//!   committed page is in the database file itself. It is opened with
//!   `immutable=1`, which reads that file without locks and without the
//!   `-wal` and `-shm` files. A server that starts meanwhile may copy pages
//!   into the file during the read, so [`ReadOnlyDatabase::read`] checks
//!   that the file is unchanged afterwards.
//! - A database in rollback-journal mode, such as a copy that `translog
//!   backup` wrote: with SQLite's read lock on the file, which needs no
//!   other file.
//!
//! The rules for read-only WAL databases are those of SQLite 3.22 and later
//! (<https://sqlite.org/wal.html>, "Read-Only Databases").

use std::io::Read as _;
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OpenFlags};

use super::files::companion;
use super::{open_error, Schema, StorageError, SCHEMA_VERSION};

/// The length of SQLite's database header, which starts every database file.
const HEADER_LEN: usize = 100;

/// The offset in the header of the read version: 2 for a WAL database, 1
/// for rollback-journal mode (<https://sqlite.org/fileformat2.html>).
const READ_VERSION_OFFSET: usize = 19;

const WAL_READ_VERSION: u8 = 2;

/// How often a read is tried when SQLite rejects its start with
/// `SQLITE_READONLY_CANTINIT` or `SQLITE_READONLY_RECOVERY`, and the pause
/// between two tries. A reader that may not write the `-shm` file gets these
/// in races with a writer, which other readers wait out. It gets the first
/// when no read mark in the `-shm` file fits the current log, as for a
/// moment while a writer starts the log over, because it cannot set a mark.
/// It gets the second when it reads the header of the log index while a
/// writer changes it (SQLite 3.54.1, `walTryBeginRead` and
/// `walIndexReadHdr`).
const READ_ATTEMPTS: u32 = 100;
const READ_RETRY_PAUSE: Duration = Duration::from_millis(5);

/// A connection that a command uses only to read, with what [`ReadOnlyDatabase::read`] needs
/// to confirm that a read made without locks is consistent.
pub struct ReadOnlyDatabase {
    connection: Connection,
    /// `None` when SQLite's locks protect the reads.
    unlocked: Option<UnlockedFile>,
}

/// A database file read without locks, with its state when it was opened.
struct UnlockedFile {
    path: PathBuf,
    opened: FileState,
}

/// The identity, size and times of a file. A checkpoint that copies pages
/// into the database file changes its modification time.
#[derive(Debug, PartialEq, Eq)]
struct FileState {
    device: u64,
    inode: u64,
    len: u64,
    modified: (i64, i64),
    changed: (i64, i64),
}

impl FileState {
    fn of(path: &Path) -> std::io::Result<FileState> {
        let metadata = std::fs::metadata(path)?;
        Ok(FileState {
            device: metadata.dev(),
            inode: metadata.ino(),
            len: metadata.len(),
            modified: (metadata.mtime(), metadata.mtime_nsec()),
            changed: (metadata.ctime(), metadata.ctime_nsec()),
        })
    }
}

impl ReadOnlyDatabase {
    /// Returns true when the database has no users and no transactions, as
    /// one that a mistyped path created has. See [`super::is_unused`].
    pub fn is_unused(&self) -> bool {
        super::is_unused(&self.connection)
    }

    /// Wraps a connection whose reads SQLite's locks protect, such as one
    /// that has just created the database.
    pub fn locked(connection: Connection) -> ReadOnlyDatabase {
        ReadOnlyDatabase {
            connection,
            unlocked: None,
        }
    }

    /// Runs `read` on the database, then closes it. A read that SQLite
    /// rejects at its start in a race with a writer is run again (see
    /// [`READ_ATTEMPTS`]), so `read` must be safe to repeat.
    ///
    /// # Errors
    ///
    /// The error of `read`, or [`StorageError::ChangedWhileRead`] when the
    /// database was read without locks and its file changed since it was
    /// opened, so that the result may mix old and new pages.
    pub fn read<T>(
        mut self,
        mut read: impl FnMut(&mut Connection) -> Result<T, StorageError>,
    ) -> Result<T, StorageError> {
        let result = retry_read(|| read(&mut self.connection))?;
        let Some(file) = self.unlocked else {
            return Ok(result);
        };
        drop(self.connection);
        match FileState::of(&file.path) {
            Ok(now) if now == file.opened => Ok(result),
            _ => Err(StorageError::ChangedWhileRead),
        }
    }
}

/// Returns true for the extended result codes of [`READ_ATTEMPTS`].
fn is_writer_race(extended_code: i32) -> bool {
    extended_code == rusqlite::ffi::SQLITE_READONLY_CANTINIT
        || extended_code == rusqlite::ffi::SQLITE_READONLY_RECOVERY
}

/// Runs `read`, again after a pause while it fails in a race with a writer,
/// at most [`READ_ATTEMPTS`] times in all.
fn retry_read<T>(mut read: impl FnMut() -> Result<T, StorageError>) -> Result<T, StorageError> {
    let mut attempts = 1;
    loop {
        match read() {
            Err(StorageError::Unavailable(rusqlite::Error::SqliteFailure(failure, _)))
                if is_writer_race(failure.extended_code) && attempts < READ_ATTEMPTS =>
            {
                attempts += 1;
                std::thread::sleep(READ_RETRY_PAUSE);
            }
            result => return result,
        }
    }
}

/// Opens the existing database at `path` for reading only, creating and
/// writing no file (see the module header for how). `schema` decides which
/// schema versions are accepted; [`Schema::Upgrade`] accepts what
/// [`Schema::Current`] does, since nothing is upgraded here.
///
/// # Errors
///
/// - [`StorageError::NotFound`] when no file exists at `path`.
/// - [`StorageError::Unreadable`] when this user may not read the file or
///   its `-wal` or `-shm` file.
/// - [`StorageError::NoSchema`] for an empty file or an SQLite database
///   without tables.
/// - The errors of a schema of another version or of another application.
pub fn open_read_only(
    path: &Path,
    busy_timeout: Duration,
    schema: Schema,
) -> Result<ReadOnlyDatabase, StorageError> {
    let deadline = std::time::Instant::now() + CLOSING_WAIT;
    loop {
        let result = open_read_only_once(path, busy_timeout, schema);
        let closing = result.as_ref().err().is_some_and(is_cannot_open) && {
            let real = super::files::real_path(path);
            companion(&real, "-wal").exists() && !companion(&real, "-shm").exists()
        };
        if !closing || std::time::Instant::now() >= deadline {
            return result;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// How long [`open_read_only`] tries again while a `-wal` file has no `-shm`
/// file beside it. The last connection that closes a database removes the
/// `-shm` file a few milliseconds before the `-wal` file, as a server does
/// at its stop.
const CLOSING_WAIT: Duration = Duration::from_millis(500);

/// Returns true for SQLite's "unable to open database file", which a
/// read-only connection gets when a `-wal` file has no `-shm` file beside it.
fn is_cannot_open(error: &StorageError) -> bool {
    matches!(
        error,
        StorageError::Unavailable(rusqlite::Error::SqliteFailure(failure, _))
            | StorageError::Internal(rusqlite::Error::SqliteFailure(failure, _))
            if matches!(failure.code, ErrorCode::CannotOpen | ErrorCode::ReadOnly)
    )
}

/// Opens the database once, as [`open_read_only`] describes.
fn open_read_only_once(
    path: &Path,
    busy_timeout: Duration,
    schema: Schema,
) -> Result<ReadOnlyDatabase, StorageError> {
    let header = read_header(path)?;
    if header.is_empty() {
        return Err(StorageError::NoSchema);
    }

    // SQLite keeps the -wal and -shm files beside the file that a symbolic
    // link points to.
    let real = std::fs::canonicalize(path).map_err(|error| io_error(path, error))?;
    let is_wal = header.get(READ_VERSION_OFFSET) == Some(&WAL_READ_VERSION);
    let (query, unlocked) = if is_wal {
        choose_wal_access(&real)?
    } else {
        ("", None)
    };

    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
        | OpenFlags::SQLITE_OPEN_URI
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let connection = Connection::open_with_flags(file_uri(&real, query), flags)?;
    connection.busy_timeout(busy_timeout)?;
    retry_read(|| check_schema(&connection, schema))?;
    Ok(ReadOnlyDatabase {
        connection,
        unlocked,
    })
}

/// Chooses how to read the WAL database `real` (see the module header), as
/// the URI parameter to open it with, and the state of the file when it is
/// read without locks.
fn choose_wal_access(real: &Path) -> Result<(&'static str, Option<UnlockedFile>), StorageError> {
    let wal = companion(real, "-wal");
    let wal_len = match std::fs::metadata(&wal) {
        Ok(metadata) => metadata.len(),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => 0,
        Err(error) => return Err(io_error(&wal, error)),
    };
    if wal_len == 0 {
        let opened = FileState::of(real).map_err(|error| io_error(real, error))?;
        let file = UnlockedFile {
            path: real.to_path_buf(),
            opened,
        };
        return Ok(("immutable=1", Some(file)));
    }

    check_readable(&wal)?;
    let shm = companion(real, "-shm");
    if shm.exists() {
        check_readable(&shm)?;
    }
    Ok(("readonly_shm=1", None))
}

/// Describes a failure of [`open_read_only`] on the database at `path`, with
/// what to check when SQLite could not open it for reading.
pub fn open_read_only_error(path: &Path, error: &StorageError) -> String {
    if !is_cannot_open(error) {
        return open_error(path, error);
    }
    let real = super::files::real_path(path);
    let shm = companion(&real, "-shm");
    if companion(&real, "-wal").exists() && !shm.exists() {
        return format!(
            "cannot open database {} for reading: {error}; its -wal file has no {} beside \
             it, and a command that only reads creates none. Start and stop `translog serve` \
             on it once, as the user that owns it, which moves the log into the database file",
            path.display(),
            shm.display()
        );
    }
    format!(
        "cannot open database {} for reading: {error}; check that this user may read the \
         database file and the -wal and -shm files beside it",
        path.display()
    )
}

/// Reads the database header, or as much of the file as there is when it is
/// shorter, which is nothing for an empty file.
fn read_header(path: &Path) -> Result<Vec<u8>, StorageError> {
    let file = std::fs::File::open(path).map_err(|error| io_error(path, error))?;
    let mut header = Vec::with_capacity(HEADER_LEN);
    file.take(HEADER_LEN as u64)
        .read_to_end(&mut header)
        .map_err(|error| io_error(path, error))?;
    Ok(header)
}

/// Fails with [`StorageError::Unreadable`] when this user may not read the
/// file at `path`. A file that is gone by now is left for SQLite to report.
fn check_readable(path: &Path) -> Result<(), StorageError> {
    match std::fs::File::open(path) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(io_error(path, error)),
        _ => Ok(()),
    }
}

/// Turns a failure to read the file at `path` into the error of a missing
/// or unreadable database.
fn io_error(path: &Path, error: std::io::Error) -> StorageError {
    match error.kind() {
        std::io::ErrorKind::NotFound => StorageError::NotFound,
        _ => StorageError::Unreadable(path.to_path_buf(), error),
    }
}

/// Rejects a database that a command may not read: one without translog's
/// schema or tables, and one whose schema version `schema` does not accept.
fn check_schema(connection: &Connection, schema: Schema) -> Result<(), StorageError> {
    match super::translog_tables::check_owner(connection)? {
        0 => Err(StorageError::NoSchema),
        SCHEMA_VERSION => Ok(()),
        _ if schema == Schema::AsFound => Ok(()),
        1 => Err(StorageError::SchemaTooOld(1)),
        newer => Err(StorageError::SchemaTooNew(newer)),
    }
}

/// Returns the SQLite URI of the file at the absolute `path` with the query
/// parameters `query`. Every byte of the path but letters, digits and
/// `/-._~` is percent-encoded, so that no `?`, `#` or `%` in a file name is
/// read as part of the URI.
fn file_uri(path: &Path, query: &str) -> String {
    let mut uri = String::from("file://");
    for &byte in path.as_os_str().as_bytes() {
        if byte.is_ascii_alphanumeric() || b"/-._~".contains(&byte) {
            uri.push(char::from(byte));
        } else {
            uri.push_str(&format!("%{byte:02X}"));
        }
    }
    if !query.is_empty() {
        uri.push('?');
        uri.push_str(query);
    }
    uri
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::users::{self, Role};

    /// Creates a database with translog's schema in `directory` and closes
    /// it, which removes its `-wal` file. Returns its path and a read-only
    /// connection to it.
    fn open_closed_database(directory: &tempfile::TempDir) -> (PathBuf, ReadOnlyDatabase) {
        let path = directory.path().join("translog.db");
        super::super::open(&path, Duration::from_secs(5), Schema::Current)
            .expect("create the database");
        let database =
            open_read_only(&path, Duration::from_secs(5), Schema::Current).expect("open read-only");
        (path, database)
    }

    #[test]
    fn unlocked_read_of_unchanged_file_succeeds() {
        let directory = tempfile::tempdir().expect("temp dir");
        let (_path, database) = open_closed_database(&directory);
        let result = database.read(|connection| Ok(users::list(connection)?.len()));
        assert_eq!(result.ok(), Some(0));
    }

    #[test]
    fn unlocked_read_opens_no_wal() {
        let directory = tempfile::tempdir().expect("temp dir");
        let (path, database) = open_closed_database(&directory);
        let _ = database.read(|connection| users::list(connection));
        assert!(!companion(&path, "-wal").exists());
        assert!(!companion(&path, "-shm").exists());
    }

    #[test]
    fn unlocked_read_of_changed_file_fails() {
        let directory = tempfile::tempdir().expect("temp dir");
        let (path, database) = open_closed_database(&directory);
        let result = database.read(|connection| {
            let list = users::list(connection)?;
            // A server that starts now and checkpoints writes the file.
            let writer = super::super::open(&path, Duration::from_secs(5), Schema::Current)?;
            users::add(&writer, "worker", Role::Worker, None, "not-a-hash").expect("add a user");
            writer.pragma_update(None, "wal_checkpoint", "TRUNCATE")?;
            Ok(list)
        });
        assert!(
            matches!(result, Err(StorageError::ChangedWhileRead)),
            "{result:?}"
        );
    }

    #[test]
    fn file_uri_encodes_reserved_characters() {
        let uri = file_uri(Path::new("/data/a?b#c%d e.db"), "immutable=1");
        assert_eq!(uri, "file:///data/a%3Fb%23c%25d%20e.db?immutable=1");
    }

    #[test]
    fn file_uri_without_query_has_no_question_mark() {
        assert_eq!(file_uri(Path::new("/t.db"), ""), "file:///t.db");
    }
}
