//! The exclusive lock that a running server holds on its database file and
//! the database's `-shm` file, so that a second server on the same database
//! is rejected at start.

use std::fs::OpenOptions;
use std::os::unix::fs::MetadataExt as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use super::READER_BUSY_TIMEOUT;
use crate::storage::free_space::{describe_with_full_disk_hint, full_disk_hint};
use crate::storage::new_database::NewDatabase;
use crate::storage::{self, StorageError};

/// The database file of a running server, open with an exclusive lock that
/// lasts as long as the file is open.
pub(super) struct DatabaseLock {
    _file: std::fs::File,
    /// The `.lock` files that older versions of the server lock, those that
    /// exist.
    _older_server_locks: Vec<std::fs::File>,
    _shared_memory: std::fs::File,
    /// The files that this server creates, when the database file did not
    /// exist.
    new_database: Option<NewDatabase>,
    /// True when the file was missing or empty, so that this server writes
    /// a new database into it.
    pub(super) is_new: bool,
    /// The `-shm` file, when this server created it.
    created_shared_memory: Option<PathBuf>,
}

/// Opens the database file, creating it readable by its owner only, and
/// takes an exclusive `flock` on it for the life of the server. Two servers
/// on one database would each batch their own writes and fight over SQLite's
/// write lock, sending `503` to each other's Workers, so the second one is
/// rejected instead. The lock belongs to the file itself, so it holds under
/// any name: a symbolic link, a hard link or another relative path. SQLite
/// locks with `fcntl`, which Linux keeps apart from `flock`. The command line
/// does not take this lock.
///
/// The server also locks the database's `-shm` file, which SQLite creates
/// if it is missing and keeps while any connection is open. A database moved
/// away from its path keeps its lock, but its `-shm` and `-wal` files stay at
/// the path, and a second server on a new file there would share them.
pub(super) fn lock_database(db_path: &Path) -> Result<DatabaseLock, String> {
    let created = !db_path.exists();
    let is_new = std::fs::metadata(db_path).map_or(true, |metadata| metadata.len() == 0);
    let new_database = NewDatabase::before_open(db_path);
    let file = open_private(db_path).map_err(|error| {
        let reason = match error.kind() {
            std::io::ErrorKind::PermissionDenied if created => {
                format!("{error}; check that its directory is writable by this user")
            }
            std::io::ErrorKind::PermissionDenied => {
                storage::file_mode::owner_without_write(db_path)
                    .unwrap_or_else(|| StorageError::ReadOnlyFile.to_string())
            }
            std::io::ErrorKind::ReadOnlyFilesystem => StorageError::ReadOnlyFileSystem.to_string(),
            _ => describe_with_full_disk_hint(db_path, &error),
        };
        format!("cannot open database {}: {reason}", db_path.display())
    })?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            return Err(format!(
                "another translog server is using {}; stop it or choose another --db",
                db_path.display()
            ))
        }
        Err(std::fs::TryLockError::Error(error)) => {
            return Err(format!("cannot lock {}: {error}", db_path.display()))
        }
    }
    // A failed start leaves no database file that it created.
    let remove_new = |error: String| {
        if let Some(new_database) = &new_database {
            new_database.remove_unused(READER_BUSY_TIMEOUT);
        }
        error
    };
    let older_server_locks = lock_older_server_files(db_path).map_err(remove_new)?;
    let (shared_memory, created_shared_memory) = lock_shared_memory(db_path).map_err(remove_new)?;
    Ok(DatabaseLock {
        _file: file,
        _older_server_locks: older_server_locks,
        _shared_memory: shared_memory,
        new_database,
        is_new,
        created_shared_memory,
    })
}

/// Takes an exclusive `flock` on each `.lock` file that older versions of
/// the server locked instead of the database file, where it exists, so that
/// this server does not start while an older one runs on the database. The
/// first versions named the file after `--db` as given, and later ones after
/// the path with symbolic links resolved, so both names are checked. The
/// files are never created, and they stay locked for the life of the server.
///
/// NOTE: an older server started after this one creates a missing `.lock`
/// file and locks it. So only a file that exists at this start keeps an
/// older server from running beside this one.
fn lock_older_server_files(db_path: &Path) -> Result<Vec<std::fs::File>, String> {
    let mut paths = vec![older_server_lock_path(db_path)];
    if let Ok(real) = std::fs::canonicalize(db_path) {
        paths.push(older_server_lock_path(&real));
    }
    let mut locks = Vec::new();
    // Both names often lead to the same file, and a second flock of that
    // file, through another open, would fail.
    let mut locked_files = Vec::new();
    for path in &paths {
        let identity = std::fs::metadata(path).map(|metadata| (metadata.dev(), metadata.ino()));
        if identity
            .as_ref()
            .is_ok_and(|identity| locked_files.contains(identity))
        {
            continue;
        }
        if let Some(file) = lock_older_server_file(db_path, path)? {
            locked_files.extend(identity);
            locks.push(file);
        }
    }
    Ok(locks)
}

/// Returns `<path>.lock`, the lock file that older servers named after `path`.
fn older_server_lock_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// Takes an exclusive `flock` on the older servers' lock file at `path`,
/// when that file exists.
fn lock_older_server_file(db_path: &Path, path: &Path) -> Result<Option<std::fs::File>, String> {
    let file = match OpenOptions::new().read(true).open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => {
            return Err(format!(
                "cannot open {}: {error}; it is the lock file of older translog servers, so \
                 remove it if none of them runs",
                path.display()
            ))
        }
    };
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => Err(format!(
            "a translog server of an older version is using {}, because it holds {}; stop it \
             before you start this version",
            db_path.display(),
            path.display()
        )),
        Err(std::fs::TryLockError::Error(error)) => {
            Err(format!("cannot lock {}: {error}", path.display()))
        }
    }
}

/// Opens the file at `path` for reading and writing, creating it readable by
/// its owner only, because the database and its `-shm` file hold the
/// password hashes.
fn open_private(path: &Path) -> std::io::Result<std::fs::File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
}

/// Opens the `-shm` file of the database at `db_path`, beside the file that
/// a symbolic link points to as SQLite's is, and takes an exclusive `flock`
/// on it. Returns the file, and its path when this call created it.
fn lock_shared_memory(db_path: &Path) -> Result<(std::fs::File, Option<PathBuf>), String> {
    let real = crate::storage::files::real_path(db_path);
    let path = crate::storage::files::companion(&real, "-shm");
    let created = !path.exists();
    let file = open_private(&path)
        .map_err(|error| shared_memory_error(db_path, &path, created, &error))?;
    match file.try_lock() {
        Ok(()) => Ok((file, created.then_some(path))),
        Err(std::fs::TryLockError::WouldBlock) => Err(format!(
            "another translog server is using {}, the shared-memory file of {}: the database \
             it opened was moved or replaced since. Stop that server before you start this one",
            path.display(),
            db_path.display()
        )),
        Err(std::fs::TryLockError::Error(error)) => {
            Err(format!("cannot lock {}: {error}", path.display()))
        }
    }
}

/// Describes a failure to open the `-shm` file at `path` of the database at
/// `db_path`. `created` is true when the file did not exist, so that a
/// permission error means that its directory is not writable. The user and
/// the directory are named, because SQLite needs to create the `-wal` and
/// `-shm` files beside a database that the user may write.
fn shared_memory_error(
    db_path: &Path,
    path: &Path,
    created: bool,
    error: &std::io::Error,
) -> String {
    if error.kind() != std::io::ErrorKind::PermissionDenied {
        let hint = full_disk_hint(path, error);
        return format!("cannot open {}: {error}{hint}", path.display());
    }
    let user = storage::file_mode::effective_user();
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let directory = absolute.parent().unwrap_or(Path::new("/"));
    if created {
        return format!(
            "cannot open database {}: {}",
            db_path.display(),
            storage::file_mode::companions_denied(directory)
        );
    }
    format!(
        "cannot open database {}: {user} may not write its shared-memory file {} ({error}); run \
         translog as the user that owns the database, or give {user} write access to the -wal \
         and -shm files in {}",
        db_path.display(),
        absolute.display(),
        directory.display()
    )
}

/// Removes the database file that a server created, and the `-wal` and
/// `-shm` files created with it, when it contains no schema. That happens
/// when the server fails to start, on a taken port or on a full disk. For a
/// database that existed, only a new `-shm` file that is still empty is
/// removed.
pub(super) fn remove_unused_database(lock: &DatabaseLock) {
    if let Some(new_database) = &lock.new_database {
        new_database.remove_unused(READER_BUSY_TIMEOUT);
        return;
    }
    if let Some(shared_memory) = &lock.created_shared_memory {
        if std::fs::metadata(shared_memory).is_ok_and(|metadata| metadata.len() == 0) {
            let _ = std::fs::remove_file(shared_memory);
        }
    }
}
