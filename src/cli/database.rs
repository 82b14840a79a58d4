//! The command line's access to the database: checks of its path that turn
//! SQLite's "unable to open database file" into a reason and a fix, and
//! opening it read-write or read-only.

use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::CLI_BUSY_TIMEOUT;
use crate::storage::files::{self, parent_directory};
use crate::storage::flocked_files::{open_path, FlockedFiles};
use crate::storage::new_database::NewDatabase;
use crate::storage::{self, file_mode};

/// The database path of a command, with where it came from, so that an
/// error can ask a user who gave no path for one, and a user who gave one to
/// check it.
pub struct DatabasePath {
    path: PathBuf,
    source: PathSource,
}

/// The origin of the database path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathSource {
    /// Neither `--db` nor `TRANSLOG_DB` was given, so the path is
    /// `translog.db` in the working directory.
    Default,
    /// The `--db` option.
    Option,
    /// The `TRANSLOG_DB` variable.
    Environment,
}

impl DatabasePath {
    pub fn new(path: PathBuf, source: PathSource) -> DatabasePath {
        DatabasePath { path, source }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Returns the advice for a path that this user cannot reach or use.
    fn access_advice(&self) -> &'static str {
        match self.source {
            PathSource::Default => "pass the database's path with --db (or TRANSLOG_DB)",
            PathSource::Option => "check the path given with --db and this user's access to it",
            PathSource::Environment => {
                "check the path given with TRANSLOG_DB and this user's access to it"
            }
        }
    }

    /// Returns the advice for a command that only reads, on a path where no
    /// database exists.
    fn missing_advice(&self) -> &'static str {
        match self.source {
            PathSource::Default => {
                "pass the path of an existing database with --db (or TRANSLOG_DB)"
            }
            PathSource::Option => "check the path given with --db",
            PathSource::Environment => "check the path given with TRANSLOG_DB",
        }
    }
}

/// What a command does with the database, which decides what a missing
/// database file means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Purpose {
    /// The command only reads, so it expects an existing database.
    Read,
    /// The command writes, so it creates a missing database.
    Write,
}

/// The process that opens the database, which decides the advice for a file
/// that a running server has open under another name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Opener {
    /// `serve`, which meets the refusal of a second server on that file.
    Server,
    /// Any other command, which may use the server's path.
    Command,
}

/// Rejects a database path that SQLite could only report as "unable to open
/// database file": a directory, a file in a directory that does not exist,
/// and a missing file in a directory where this user may not create it.
/// Also rejects writing beside a rescued copy (see `storage::leftovers`).
pub fn check_database_path(db: &DatabasePath) -> Result<(), String> {
    check_path_to_write(db, Opener::Command)
}

/// Checks the database path of `serve` as [`check_database_path`] does. A
/// file that a running server has open under another name (hard link or
/// bind mount) gets the message of a second server on the same path, with
/// the running server's path where it is known. The other commands' advice
/// to use that path would only lead a second server there.
pub fn check_serve_path(db: &DatabasePath) -> Result<(), String> {
    check_path_to_write(db, Opener::Server)
}

/// Checks the path of a database that `opener` may write, as
/// [`check_database_path`] describes.
fn check_path_to_write(db: &DatabasePath, opener: Opener) -> Result<(), String> {
    check_database_path_form(db, opener)?;
    let path = db.path();
    let directory = parent_directory(path);
    if !directory.is_dir() {
        return Err(format!(
            "cannot open database {}: directory {} does not exist; create it or check --db \
             (or TRANSLOG_DB)",
            path.display(),
            directory.display()
        ));
    }
    if path.exists() {
        check_no_rescued_copy(db)?;
    } else {
        check_no_leftovers(db)?;
        check_creatable(db, Purpose::Write)?;
    }
    Ok(())
}

/// Rejects writing to the existing database of `db` while a rescued copy
/// is beside it, whether the file has content or is empty.
fn check_no_rescued_copy(db: &DatabasePath) -> Result<(), String> {
    match storage::leftovers::writing_blocked(&absolute(db.path())) {
        Some(reason) => Err(reason),
        None => Ok(()),
    }
}

/// Rejects creating a database at the missing path of `db` while the files
/// of a database deleted or moved under a server are beside it.
fn check_no_leftovers(db: &DatabasePath) -> Result<(), String> {
    match storage::leftovers::creation_blocked(&absolute(db.path())) {
        Some(reason) => Err(reason),
        None => Ok(()),
    }
}

/// Rejects a missing database file in a directory where this user may not
/// create it. A command that only reads needs an existing database, so its
/// error states that none exists there and does not request a writable
/// directory. A command that writes on a read-only file system is left to
/// the error of opening the file, which names the file system.
fn check_creatable(db: &DatabasePath, purpose: Purpose) -> Result<(), String> {
    let directory = absolute(parent_directory(db.path()));
    let Some(denied) = file_mode::create_denied(&directory) else {
        return Ok(());
    };
    let user = file_mode::effective_user();
    let (reason, advice) = match (purpose, denied) {
        (Purpose::Read, file_mode::CreateDenied::Permission) => (
            format!(
                "{user} may not create files in directory {}",
                directory.display()
            ),
            db.missing_advice().to_string(),
        ),
        (Purpose::Read, file_mode::CreateDenied::ReadOnlyFileSystem) => (
            format!(
                "directory {} is on a read-only file system",
                directory.display()
            ),
            db.missing_advice().to_string(),
        ),
        (Purpose::Write, file_mode::CreateDenied::Permission) => (
            format!(
                "{user} may not create files in directory {}",
                directory.display()
            ),
            format!(
                "{}, or run the command as a user that may create files in {}",
                db.access_advice(),
                directory.display()
            ),
        ),
        (Purpose::Write, file_mode::CreateDenied::ReadOnlyFileSystem) => return Ok(()),
    };
    Err(format!(
        "cannot open database {}: no database exists at this path, and {reason}; {advice}",
        absolute(db.path()).display()
    ))
}

/// Rejects a database path that is a directory, that names a file as a
/// directory, whose directory this user may not search, or whose file a
/// running server has open under another path.
fn check_database_path_form(db: &DatabasePath, opener: Opener) -> Result<(), String> {
    check_directory_search(db)?;
    let path = db.path();
    if path.is_dir() {
        return Err(format!(
            "database path {} is a directory; give the path of a database file with --db \
             (or TRANSLOG_DB)",
            path.display()
        ));
    }
    let directory = parent_directory(path);
    if directory.exists() && !directory.is_dir() {
        return Err(format!(
            "cannot open database {}: {} is a file, not a directory; check --db \
             (or TRANSLOG_DB)",
            path.display(),
            directory.display()
        ));
    }
    check_not_served_elsewhere(path, opener)
}

/// How long a command waits for a server that has locked the database file
/// to lock the `-shm` file beside the command's path too. A server takes the
/// two locks a few milliseconds apart at its start, and at its stop SQLite
/// removes the `-shm` file a few milliseconds before the server exits and
/// its lock on the database file ends.
const SERVER_LOCKS_WAIT: Duration = Duration::from_millis(500);

/// Rejects a database file that a running server has open under another
/// path, and a file with more than one name (hard link) that has no `-wal`
/// file beside this path while no server runs. SQLite finds the `-wal`
/// file, which contains the newest entries, by the path. So through another
/// name a command reads old data, and a write through it can mix old pages
/// into the file when the other name's `-wal` file is replayed later. The
/// server locks its database file and the `-shm` file beside the path it
/// opened with `flock`, so `/proc/locks` tells whether this path is
/// the server's.
fn check_not_served_elsewhere(path: &Path, opener: Opener) -> Result<(), String> {
    let Ok(file) = std::fs::metadata(path) else {
        return Ok(());
    };
    let absolute_path = absolute(path);
    let real = files::real_path(path);
    if let Some(pid) = server_elsewhere(&file, &real) {
        return Err(served_elsewhere_error(
            &absolute_path,
            &real,
            &file,
            pid,
            opener,
        ));
    }
    // `serve` fails on the lock of the -shm file instead, with its own
    // message.
    if opener == Opener::Command {
        if let Some(pid) = server_of_replaced_file(&file, &real) {
            return Err(format!(
                "cannot open database {}: another translog server (process {pid}) is using {}, \
                 the shared-memory file of the database that was at this path until another \
                 file replaced it while the server ran, and SQLite would read {} through that \
                 server's shared memory; stop that server first, then follow \"Deleting or \
                 moving the database's files\" in docs/operators.md",
                absolute_path.display(),
                files::companion(&real, "-shm").display(),
                absolute_path.display()
            ));
        }
    }
    // NOTE: a file moved, or bind-mounted, while no server runs has one name
    // and passes, although after a crash its -wal file is beside the old path.
    let names = file.nlink();
    if names > 1 && !files::companion(&real, "-wal").exists() {
        return Err(format!(
            "cannot open database {}: its file has {names} names (hard links), and no -wal \
             file is beside this one. After a crash, the newest entries are in the -wal file \
             beside the name that the server used, which a command through this name would \
             miss, and a write through it could mix old pages into the file; keep the name \
             that the server uses, with the -wal file beside it if there is one, and remove \
             the others (find {} -xdev -samefile {} lists them)",
            absolute_path.display(),
            crate::shell::quote(&mount_point(&real).to_string_lossy()),
            crate::shell::quote(&absolute_path.to_string_lossy())
        ));
    }
    Ok(())
}

/// Returns the process id of a server that has the file of `file`, at the
/// path `real` with symbolic links resolved, open under another path: the
/// database file is locked, and the `-shm` file beside `real` is not. A
/// state that lasts less than [`SERVER_LOCKS_WAIT`] is a server starting or
/// stopping on this path, so it is read again until then.
fn server_elsewhere(file: &std::fs::Metadata, real: &Path) -> Option<u32> {
    let shared_memory = files::companion(real, "-shm");
    let deadline = std::time::Instant::now() + SERVER_LOCKS_WAIT;
    loop {
        let locked = FlockedFiles::read()?;
        let pid = locked.holder(file)?;
        let served_here = std::fs::metadata(&shared_memory)
            .is_ok_and(|metadata| locked.holder(&metadata).is_some());
        if served_here {
            return None;
        }
        if std::time::Instant::now() >= deadline {
            return Some(pid);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Returns the process id of a server that has the `-shm` file beside
/// `real` locked, but not the database file of `file`, because another file
/// took the place of its database file while it ran. A server that stops
/// unlocks its database file a moment before its `-shm` file, so a state
/// that lasts less than [`SERVER_LOCKS_WAIT`] is read again until then.
fn server_of_replaced_file(file: &std::fs::Metadata, real: &Path) -> Option<u32> {
    let shared_memory = files::companion(real, "-shm");
    // /proc/locks is read in several read calls, between which other
    // processes' locks come and go, so one reading of it can miss the
    // server's line. The lock itself is tested directly first.
    if !storage::leftovers::is_locked(&shared_memory) {
        return None;
    }
    let deadline = std::time::Instant::now() + SERVER_LOCKS_WAIT;
    loop {
        let locked = FlockedFiles::read()?;
        let holder = std::fs::metadata(&shared_memory)
            .ok()
            .and_then(|metadata| locked.holder(&metadata));
        let expired = std::time::Instant::now() >= deadline;
        match holder {
            Some(pid) if locked.holder(file) == Some(pid) => return None,
            Some(pid) if expired => return Some(pid),
            None if expired => return None,
            _ => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// Returns the mount point of the file system of `path`: its last ancestor
/// on the same device.
fn mount_point(path: &Path) -> PathBuf {
    let Ok(device) = std::fs::metadata(path).map(|metadata| metadata.dev()) else {
        return PathBuf::from("/");
    };
    let mut point = path;
    while let Some(parent) = point.parent() {
        match std::fs::metadata(parent) {
            Ok(metadata) if metadata.dev() == device => point = parent,
            _ => break,
        }
    }
    point.to_path_buf()
}

/// Describes a database file at `absolute_path`, `real` with symbolic links
/// resolved, that the server with process id `pid` has open under another
/// path. A file moved here while its server ran gets the same steps for
/// every `opener`: stop that server and follow docs/operators.md.
fn served_elsewhere_error(
    absolute_path: &Path,
    real: &Path,
    file: &std::fs::Metadata,
    pid: u32,
    opener: Opener,
) -> String {
    let server_path = open_path(pid, file).filter(|server_path| server_path != real);
    let is_other_name = server_path.is_some() || file.nlink() > 1;
    if opener == Opener::Server && is_other_name {
        let server_path = server_path.map_or("under another path".to_string(), |server_path| {
            format!("as {}", server_path.display())
        });
        return format!(
            "another translog server (process {pid}) is using the file of database {} \
             {server_path}; stop it or choose another --db",
            absolute_path.display()
        );
    }
    match server_path {
        // A hard link, or a bind mount of the file.
        Some(server_path) => format!(
            "another translog server (process {pid}) has the file of database {} open as {}, \
             and the newest entries are in the -wal file beside that path, which this path \
             does not reach; run the command with --db {}",
            absolute_path.display(),
            server_path.display(),
            crate::shell::quote(&server_path.to_string_lossy())
        ),
        None if file.nlink() > 1 => format!(
            "another translog server (process {pid}) has the file of database {} open under \
             another path, of which this path is a hard link. The newest entries are in the \
             -wal file beside the server's path, which this path does not reach; run the \
             command with the path that the server's \"listening on\" log line names",
            absolute_path.display()
        ),
        None => format!(
            "another translog server (process {pid}) has the file of database {} open, and the \
             file was moved here while it ran, so the newest entries are in the -wal file at \
             the server's old path. Stop that server, then follow \"Deleting or moving the \
             database's files\" in docs/operators.md",
            absolute_path.display()
        ),
    }
}

/// Rejects a database path below a directory that this user may not search.
/// Nothing below it can be opened, created or even found missing, so the
/// errors that would follow blame the file. The usual cause is a forgotten
/// `--db` in a working directory of another user, such as `/root` under
/// `sudo -u`.
fn check_directory_search(db: &DatabasePath) -> Result<(), String> {
    let path = db.path();
    let Some(directory) = file_mode::unsearchable_directory(parent_directory(path)) else {
        return Ok(());
    };
    Err(format!(
        "cannot open database {}: {} has no search permission on directory {}; {}, or run \
         the command as a user that may search {}",
        absolute(path).display(),
        file_mode::effective_user(),
        directory.display(),
        db.access_advice(),
        directory.display()
    ))
}

/// Returns `path` as an absolute path, for messages that must not depend on
/// the working directory. It keeps symbolic links and `..` as they are.
pub(super) fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Opens the database for a command that writes, creating the file and its
/// schema on first use. A command that creates the database reports it on
/// standard error, so that a mistyped `--db` shows at once. When creating
/// the schema fails, the files that the command created are removed.
pub fn open_database(db: &DatabasePath) -> Result<rusqlite::Connection, String> {
    check_database_path(db)?;
    let path = db.path();
    let is_new = std::fs::metadata(path).map_or(true, |metadata| metadata.len() == 0);
    let new_database = NewDatabase::before_open(path);
    let wait = storage::LockWait::Handler(wait_for_lock);
    let connection = storage::open_with(path, wait, storage::Schema::Current).map_err(|error| {
        // The message reports the free space, so it comes first.
        let message = storage::open_error(&absolute(path), &error);
        if let Some(new_database) = &new_database {
            new_database.remove_unused(CLI_BUSY_TIMEOUT);
        }
        message
    })?;
    if is_new {
        eprintln!(
            "translog: created database {} with its schema",
            absolute(path).display()
        );
    }
    Ok(connection)
}

/// The pause between two tries to take a lock that another process holds.
const LOCK_RETRY_PAUSE: Duration = Duration::from_millis(10);

/// The number of tries after which a command prints that it waits for a
/// lock, about one second.
const LOCK_NOTICE_TRIES: i32 = 100;

/// Waits for another process's lock, as SQLite's busy handler of the
/// commands that write, for up to [`CLI_BUSY_TIMEOUT`]. Once the wait passes
/// a second, it prints a notice on standard error, so that a command held up
/// by a long transaction elsewhere does not look hung. `tries` counts the
/// earlier calls for the same lock. Returning false gives up, and the
/// statement fails with "database is locked". A command that handles
/// SIGINT, SIGTERM and SIGHUP itself gives up once one of them arrives.
fn wait_for_lock(tries: i32) -> bool {
    let waited = LOCK_RETRY_PAUSE.saturating_mul(u32::try_from(tries).unwrap_or(u32::MAX));
    if waited >= CLI_BUSY_TIMEOUT || super::interruption::is_requested() {
        return false;
    }
    if tries == LOCK_NOTICE_TRIES {
        eprintln!(
            "translog: waiting for another process to release its lock on the database, for at \
             most {} s",
            CLI_BUSY_TIMEOUT.as_secs()
        );
    }
    std::thread::sleep(LOCK_RETRY_PAUSE);
    true
}

/// Opens the database for a command that only reads. An existing database
/// is opened read-only, which works for a user who may read it but not write
/// it and changes no file. A missing database, or an empty file, gets its
/// schema first, as for every command, which needs write access once. A
/// rescued copy beside an existing database gets a warning on standard
/// error, because the entries that a reader looks for may be only in it, and
/// so does a database with no users and no entries (see [`warn_unused`]).
pub fn open_database_read_only(
    db: &DatabasePath,
    schema: storage::Schema,
) -> Result<storage::ReadOnlyDatabase, String> {
    // A database that the command creates gets its own note instead.
    let existed = has_content(db);
    let database = open_database_read_only_unchecked(db, schema)?;
    if existed && database.is_unused() {
        warn_unused(db);
    }
    Ok(database)
}

/// How many times a command reads a database whose file changed while it
/// was read without locks, as when a server starts meanwhile. Opened again,
/// the file is read with the server's locks.
pub(super) const CHANGED_FILE_ATTEMPTS: u32 = 3;

/// Opens the database as [`open_database_read_only`] does and returns what
/// `read` returns. When a server started on the file during a read without
/// locks, the database is opened and read again, [`CHANGED_FILE_ATTEMPTS`]
/// times in all, so `read` must not print or change anything.
pub fn read_database<T>(
    db: &DatabasePath,
    schema: storage::Schema,
    mut read: impl FnMut(&mut rusqlite::Connection) -> Result<T, storage::StorageError>,
) -> Result<T, String> {
    let mut database = open_database_read_only(db, schema)?;
    let mut attempt = 1;
    loop {
        match database.read(&mut read) {
            Err(storage::StorageError::ChangedWhileRead) if attempt < CHANGED_FILE_ATTEMPTS => {
                attempt += 1;
                database = open_database_read_only_unchecked(db, schema)?;
            }
            result => return result.map_err(|error| error.to_string()),
        }
    }
}

/// Opens the database as [`open_database_read_only`] does, without the
/// warning about a database with no users and no entries, for a command that
/// reports that case itself.
pub(super) fn open_database_read_only_unchecked(
    db: &DatabasePath,
    schema: storage::Schema,
) -> Result<storage::ReadOnlyDatabase, String> {
    check_database_path_form(db, Opener::Command)?;
    let path = db.path();
    match storage::open_read_only(path, CLI_BUSY_TIMEOUT, schema) {
        Err(missing @ (storage::StorageError::NotFound | storage::StorageError::NoSchema)) => {
            if matches!(missing, storage::StorageError::NotFound) {
                check_no_leftovers(db)?;
                check_creatable(db, Purpose::Read)?;
            }
            let database = open_database(db)
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
        result => {
            let database =
                result.map_err(|error| storage::open_read_only_error(&absolute(path), &error))?;
            if let Some(warning) = storage::leftovers::reading_warning(&absolute(path)) {
                eprintln!("translog: warning: {warning}");
            }
            Ok(database)
        }
    }
}

/// Opens the database for a command that deletes logs, as [`open_database`]
/// does, and warns when it existed with no users and no entries (see
/// [`warn_unused`]).
pub(super) fn open_database_to_delete(db: &DatabasePath) -> Result<rusqlite::Connection, String> {
    let existed = has_content(db);
    let connection = open_database(db)?;
    if existed && storage::is_unused(&connection) {
        warn_unused(db);
    }
    Ok(connection)
}

/// Returns true when the database file exists and is not empty, so that a
/// command does not create it.
pub(super) fn has_content(db: &DatabasePath) -> bool {
    std::fs::metadata(db.path()).is_ok_and(|metadata| metadata.len() > 0)
}

/// Warns that the database at `db` has no users and no transactions, so
/// that a command run on a mistyped path names the path instead of only
/// finding nothing.
fn warn_unused(db: &DatabasePath) {
    eprintln!(
        "translog: warning: {} has no users and no entries, so it may not be the database you \
         meant; check --db (or TRANSLOG_DB)",
        absolute(db.path()).display()
    );
}
