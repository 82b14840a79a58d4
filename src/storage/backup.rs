//! `translog backup`: a consistent copy of the database under a new name.
//!
//! SQLite's `VACUUM INTO` writes its output page by page, with a rollback
//! journal beside it. A copy written straight to the destination and cut
//! short (a kill, a crash, a full disk) would leave a damaged database under
//! the final name and a `-journal` file that rolls it back to an empty one.
//! So the copy goes to a hidden temporary file in the destination's
//! directory. It is synced and renamed to the destination only once it is
//! complete, and removed, with its journal, on any failure. A caller can stop
//! a backup that is under way through its stop flag, which SQLite checks
//! during the copy, as the command line does on SIGINT, SIGTERM and SIGHUP.
//! A process killed during the copy cannot remove the copy, so the
//! temporary file (see [`temporary_name`]) and its journal may remain.
//! Nothing appears under the destination's name then.
//!
//! The copy itself, [`vacuum_into`], also makes the rescue copy of a
//! database file that changed while the server ran.

use std::fmt;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use rusqlite::{Connection, OpenFlags};
use rustix::fs::{RenameFlags, CWD};
use rustix::io::Errno;

use super::files::{companion, create_private, parent_directory};
use super::{logs, pending_alerts, server_instance, users, ReadOnlyDatabase, StorageError};

/// How many random names [`TemporaryCopy::create`] tries before it gives
/// up. Each has 32 random bits, so a second try is already unlikely.
const NAME_ATTEMPTS: usize = 8;

/// How many SQLite virtual machine instructions run between two checks of
/// the stop flag. A check is one atomic load, and copying a row takes a few
/// instructions, so a copy stops within a few hundred rows of the flag being
/// set. One instruction that does much work, such as a sort, runs to its end
/// first: a debug build stopped the copy of a 100 MB database within 0.11 s
/// of a SIGTERM (40 signals at times spread over the copy, on a 2-core VM).
const STOP_CHECK_INSTRUCTIONS: std::ffi::c_int = 1000;

/// A failed backup. None leaves a file at the destination, except
/// [`BackupError::SyncDirectory`], which comes after the rename.
#[derive(Debug)]
pub enum BackupError {
    /// A file, directory or symbolic link exists at the destination.
    Exists,
    /// The temporary file could not be created in the destination's
    /// directory, which may be missing or not writable.
    Create(std::io::Error),
    /// `VACUUM INTO` failed.
    Copy(StorageError),
    /// The server token or the pending fatal alerts could not be removed
    /// from the copy.
    RemoveServerState(StorageError),
    /// The finished copy could not be read to count its entries.
    Count(StorageError),
    /// Flushing the copy to the disk failed.
    Sync(std::io::Error),
    /// Renaming the copy to the destination failed.
    Rename(std::io::Error),
    /// The stop flag was set before the copy was renamed to the destination.
    Interrupted,
    /// The copy is at the destination, but flushing the directory entry to
    /// the disk failed, so a crash may lose the file.
    SyncDirectory(PathBuf, std::io::Error),
}

impl fmt::Display for BackupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BackupError::Exists => write!(f, "the destination exists"),
            BackupError::Create(error) => write!(f, "cannot create the temporary file: {error}"),
            BackupError::Copy(error) => write!(f, "{error}"),
            BackupError::RemoveServerState(error) => write!(
                f,
                "cannot remove the server token and pending alerts from the copy: {error}"
            ),
            BackupError::Count(error) => write!(f, "cannot count the entries of the copy: {error}"),
            BackupError::Sync(error) => write!(f, "cannot flush the copy to the disk: {error}"),
            BackupError::Rename(error) => write!(f, "cannot rename the copy: {error}"),
            BackupError::Interrupted => write!(f, "the backup was interrupted"),
            BackupError::SyncDirectory(directory, error) => write!(
                f,
                "cannot flush directory {} to the disk: {error}",
                directory.display()
            ),
        }
    }
}

impl std::error::Error for BackupError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BackupError::Exists | BackupError::Interrupted => None,
            BackupError::Copy(error)
            | BackupError::RemoveServerState(error)
            | BackupError::Count(error) => Some(error),
            BackupError::Create(error)
            | BackupError::Sync(error)
            | BackupError::Rename(error)
            | BackupError::SyncDirectory(_, error) => Some(error),
        }
    }
}

/// A backup on its way to its destination: a temporary file that is
/// removed, with its journal, when the backup is dropped before
/// [`Backup::finish`] renamed it.
pub struct Backup {
    copy: TemporaryCopy,
    destination: PathBuf,
    /// Set by another thread or a signal handler to stop the backup.
    stop: Arc<AtomicBool>,
}

impl Backup {
    /// Creates the empty temporary file of a backup to `destination`, with
    /// mode 0600. The copy contains the password hashes, so only its owner
    /// may read it, as for the database. Once `stop` is set, [`Backup::write`]
    /// and [`Backup::finish`] fail with [`BackupError::Interrupted`] unless
    /// the copy is at the destination already.
    ///
    /// # Errors
    ///
    /// [`BackupError::Exists`] when something exists at `destination`, and
    /// [`BackupError::Create`] when the file cannot be created.
    pub fn create(destination: &str, stop: Arc<AtomicBool>) -> Result<Backup, BackupError> {
        if std::fs::symlink_metadata(destination).is_ok() {
            return Err(BackupError::Exists);
        }
        let copy = TemporaryCopy::create(destination).map_err(BackupError::Create)?;
        let destination = PathBuf::from(destination);
        Ok(Backup {
            copy,
            destination,
            stop,
        })
    }

    /// Writes a consistent, compacted copy of `database` to the temporary
    /// file, without the server token, and returns the numbers of entries
    /// and users in the copy. The server may have stored more since. Safe while the
    /// server writes: WAL readers see one snapshot and do not block the
    /// writer. A backup copied over the database of a running server then
    /// fails the server's read check, which compares the token.
    ///
    /// # Errors
    ///
    /// [`BackupError::Copy`] when the copy fails,
    /// [`BackupError::RemoveServerState`] when the copy cannot be written,
    /// [`BackupError::Count`] when the finished copy cannot be read, and
    /// [`BackupError::Interrupted`] when the stop flag is set.
    pub fn write(&self, database: ReadOnlyDatabase) -> Result<CopyCounts, BackupError> {
        // `VACUUM INTO` needs an empty destination. A copy that SQLite
        // rejects at the start of its read has written nothing yet (SQLite
        // 3.54.1, `sqlite3RunVacuum`), so `read` may run it again.
        let copied = database.read(|connection| {
            stop_on_flag(connection, &self.stop)?;
            vacuum_into(connection, &self.copy.name)
        });
        // A statement that the flag stopped fails with SQLITE_INTERRUPT.
        self.check_stop()?;
        copied.map_err(BackupError::Copy)?;

        server_instance::remove_from_copy(&self.copy.path)
            .map_err(BackupError::RemoveServerState)?;
        pending_alerts::remove_from_copy(&self.copy.path)
            .map_err(BackupError::RemoveServerState)?;
        self.check_stop()?;
        let counted = count_rows(&self.copy.path, &self.stop);
        self.check_stop()?;
        counted.map_err(BackupError::Count)
    }

    /// Fails with [`BackupError::Interrupted`] once the stop flag is set.
    fn check_stop(&self) -> Result<(), BackupError> {
        if self.stop.load(Ordering::SeqCst) {
            return Err(BackupError::Interrupted);
        }
        Ok(())
    }

    /// Flushes the copy to the disk, renames it to the destination unless a
    /// file appeared there meanwhile, and flushes the directory entry.
    ///
    /// # Errors
    ///
    /// [`BackupError::Sync`], [`BackupError::Rename`],
    /// [`BackupError::Exists`] or [`BackupError::Interrupted`], which remove
    /// the copy, and [`BackupError::SyncDirectory`], which leaves it at the
    /// destination. The stop flag is last checked just before the rename,
    /// and a flag set after that check leaves the backup to finish.
    pub fn finish(mut self) -> Result<(), BackupError> {
        self.check_stop()?;
        std::fs::File::open(&self.copy.path)
            .and_then(|file| file.sync_all())
            .map_err(BackupError::Sync)?;
        self.check_stop()?;
        rename_new(&self.copy.path, &self.destination)?;
        self.copy.persisted = true;

        let directory = parent_directory(&self.destination);
        std::fs::File::open(directory)
            .and_then(|directory| directory.sync_all())
            .map_err(|error| BackupError::SyncDirectory(directory.to_path_buf(), error))
    }
}

/// Writes a consistent, compacted copy of the database to the file named
/// `destination`, which must not exist or be an empty file. An existing file
/// keeps its mode. Safe while the server writes: WAL readers see one
/// snapshot and do not block the writer. [`super::files::sqlite_file_name`]
/// gives the name of a path.
///
/// # Errors
///
/// Fails when the destination has content or cannot be written.
pub(super) fn vacuum_into(connection: &Connection, destination: &str) -> Result<(), StorageError> {
    connection.execute("VACUUM INTO ?1", [destination])?;
    Ok(())
}

/// Makes the statements of `connection` fail with SQLITE_INTERRUPT once
/// `stop` is set. A progress handler, unlike `sqlite3_interrupt`, also stops
/// a statement that starts after the flag was set.
fn stop_on_flag(connection: &mut Connection, stop: &Arc<AtomicBool>) -> rusqlite::Result<()> {
    let stop = Arc::clone(stop);
    connection.progress_handler(
        STOP_CHECK_INSTRUCTIONS,
        Some(move || stop.load(Ordering::SeqCst)),
    )
}

/// Counts the entries and users of the database at `path`, opened
/// read-only, unless `stop` is set first.
fn count_rows(path: &Path, stop: &Arc<AtomicBool>) -> Result<CopyCounts, StorageError> {
    let mut copy = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    stop_on_flag(&mut copy, stop)?;
    Ok(CopyCounts {
        entries: logs::count_entries(&copy)?.unsigned_abs(),
        users: users::count(&copy)?.unsigned_abs(),
    })
}

/// The numbers of rows in a finished copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CopyCounts {
    pub entries: u64,
    pub users: u64,
}

/// Returns the name of a temporary copy of the file `file_name`:
/// `.NAME.XXXXXXXX.tmp`, hidden, with 8 random hex digits. The dot in front
/// keeps it out of `ls` and of shell patterns such as `translog-*.db`.
fn temporary_name(file_name: &str, random: u32) -> String {
    format!(".{file_name}.{random:08x}.tmp")
}

/// The hidden file that a backup is written to, removed with its `-journal`
/// file when dropped unless it was renamed to the destination.
struct TemporaryCopy {
    path: PathBuf,
    /// `path` as UTF-8 text, the form that SQLite takes.
    name: String,
    persisted: bool,
}

impl TemporaryCopy {
    /// Creates a new, empty file with mode 0600 and a name of
    /// [`temporary_name`] in the directory of `destination`.
    fn create(destination: &str) -> std::io::Result<TemporaryCopy> {
        let destination = Path::new(destination);
        let file_name = destination
            .file_name()
            .and_then(|name| name.to_str())
            .ok_or_else(|| {
                std::io::Error::new(ErrorKind::InvalidInput, "the path names no file")
            })?;
        let directory = destination.parent().unwrap_or(Path::new(""));
        let mut attempts = 0;
        loop {
            attempts += 1;
            let path = directory.join(temporary_name(file_name, random_u32()?));
            match create_private(&path) {
                Ok(()) => {
                    // The destination is UTF-8 text, and so is the path made
                    // of its directory and a name made of its file name.
                    let name = path.to_string_lossy().into_owned();
                    return Ok(TemporaryCopy {
                        path,
                        name,
                        persisted: false,
                    });
                }
                Err(error)
                    if error.kind() == ErrorKind::AlreadyExists && attempts < NAME_ATTEMPTS => {}
                Err(error) => return Err(error),
            }
        }
    }
}

impl Drop for TemporaryCopy {
    fn drop(&mut self) {
        if self.persisted {
            return;
        }
        let _ = std::fs::remove_file(&self.path);
        // A `VACUUM INTO` that failed on a full disk leaves its journal. The
        // copy is in rollback-journal mode, so SQLite makes no other file
        // beside it.
        let _ = std::fs::remove_file(companion(&self.path, "-journal"));
    }
}

/// Renames `from` to `to`, and fails with [`BackupError::Exists`] when
/// something exists at `to`, without replacing it.
fn rename_new(from: &Path, to: &Path) -> Result<(), BackupError> {
    match rustix::fs::renameat_with(CWD, from, CWD, to, RenameFlags::NOREPLACE) {
        Ok(()) => Ok(()),
        Err(Errno::EXIST) => Err(BackupError::Exists),
        // NOTE: RENAME_NOREPLACE needs Linux 3.15 or later and a file system
        // that supports it, as ext4, XFS, Btrfs and tmpfs do. Elsewhere the
        // rename follows a look at `to`, so it replaces a file created there
        // between the two.
        Err(Errno::INVAL | Errno::NOSYS) => {
            if std::fs::symlink_metadata(to).is_ok() {
                return Err(BackupError::Exists);
            }
            std::fs::rename(from, to).map_err(BackupError::Rename)
        }
        Err(errno) => Err(BackupError::Rename(errno.into())),
    }
}

fn random_u32() -> std::io::Result<u32> {
    let mut bytes = [0; 4];
    getrandom::getrandom(&mut bytes)
        .map_err(|error| std::io::Error::other(format!("random source: {error}")))?;
    Ok(u32::from_ne_bytes(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lists the names of the files in `directory`.
    fn file_names(directory: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(directory)
            .expect("list the directory")
            .map(|entry| entry.expect("read an entry").file_name())
            .map(|name| name.to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// Opens a new database with translog's schema at `dir/translog.db`,
    /// for reading.
    fn database_in(dir: &Path) -> ReadOnlyDatabase {
        let connection = super::super::open(
            &dir.join("translog.db"),
            std::time::Duration::from_secs(5),
            super::super::Schema::Upgrade,
        )
        .expect("open the database");
        ReadOnlyDatabase::locked(connection)
    }

    #[test]
    fn temporary_name_is_hidden() {
        assert_eq!(temporary_name("copy.db", 0xab), ".copy.db.000000ab.tmp");
    }

    /// Writes a backup of a new database to `copy.db` in a new directory,
    /// and returns the directory, the path of the backup and the backup,
    /// not finished yet.
    fn written_backup() -> (tempfile::TempDir, PathBuf, Backup) {
        let source = tempfile::tempdir().expect("temp dir");
        let target = tempfile::tempdir().expect("temp dir");
        let destination = target.path().join("copy.db");
        let name = destination.to_str().expect("UTF-8 path");
        let backup = Backup::create(name, Arc::default()).expect("create the backup");
        backup
            .write(database_in(source.path()))
            .expect("write the backup");
        (target, destination, backup)
    }

    /// Starts a backup of a new database to `copy.db` in a new directory,
    /// sets its stop flag before [`Backup::write`], and returns the
    /// directory and the result of the write, with the backup dropped.
    fn backup_stopped_before_write() -> (tempfile::TempDir, Result<CopyCounts, BackupError>) {
        let source = tempfile::tempdir().expect("temp dir");
        let target = tempfile::tempdir().expect("temp dir");
        let destination = target.path().join("copy.db");
        let name = destination.to_str().expect("UTF-8 path");
        let stop = Arc::new(AtomicBool::new(false));
        let backup = Backup::create(name, Arc::clone(&stop)).expect("create the backup");
        stop.store(true, Ordering::SeqCst);
        let result = backup.write(database_in(source.path()));
        (target, result)
    }

    #[test]
    fn write_after_stop_is_interrupted() {
        let (_target, result) = backup_stopped_before_write();
        assert!(
            matches!(result, Err(BackupError::Interrupted)),
            "{result:?}"
        );
    }

    #[test]
    fn write_after_stop_leaves_no_file() {
        let (target, _result) = backup_stopped_before_write();
        assert_eq!(file_names(target.path()), Vec::<String>::new());
    }

    /// Writes a backup, sets its stop flag before [`Backup::finish`], and
    /// returns the directory and the result of the finish.
    fn backup_stopped_before_finish() -> (tempfile::TempDir, Result<(), BackupError>) {
        let (target, _destination, backup) = written_backup();
        backup.stop.store(true, Ordering::SeqCst);
        let result = backup.finish();
        (target, result)
    }

    #[test]
    fn finish_after_stop_is_interrupted() {
        let (_target, result) = backup_stopped_before_finish();
        assert!(
            matches!(result, Err(BackupError::Interrupted)),
            "{result:?}"
        );
    }

    #[test]
    fn finish_after_stop_leaves_no_file() {
        let (target, _result) = backup_stopped_before_finish();
        assert_eq!(file_names(target.path()), Vec::<String>::new());
    }

    #[test]
    fn backup_leaves_only_destination() {
        let (target, _destination, backup) = written_backup();
        backup.finish().expect("finish the backup");
        assert_eq!(file_names(target.path()), ["copy.db"]);
    }

    #[test]
    fn failed_copy_leaves_no_file() {
        let source = tempfile::tempdir().expect("temp dir");
        let target = tempfile::tempdir().expect("temp dir");
        drop(database_in(source.path()));
        let connection = Connection::open(source.path().join("translog.db")).expect("open");
        // SQLite runs no VACUUM inside a transaction, so the copy fails
        // after its temporary file was created.
        connection.execute_batch("BEGIN").expect("begin");
        let destination = target.path().join("copy.db");
        let name = destination.to_str().expect("UTF-8 path");
        let backup = Backup::create(name, Arc::default()).expect("create the backup");
        let result = backup.write(ReadOnlyDatabase::locked(connection));
        assert!(matches!(result, Err(BackupError::Copy(_))), "{result:?}");
        drop(backup);
        assert_eq!(file_names(target.path()), Vec::<String>::new());
    }

    /// Writes a backup to `copy.db` in a new directory, creates a file
    /// there before the backup finishes, and returns the directory, the
    /// path of the file and the result of [`Backup::finish`].
    fn backup_beside_new_file() -> (tempfile::TempDir, PathBuf, Result<(), BackupError>) {
        let (target, destination, backup) = written_backup();
        std::fs::write(&destination, b"keep me").expect("write a file");
        let result = backup.finish();
        (target, destination, result)
    }

    #[test]
    fn destination_created_meanwhile_is_exists_error() {
        let (_target, _destination, result) = backup_beside_new_file();
        assert!(matches!(result, Err(BackupError::Exists)), "{result:?}");
    }

    #[test]
    fn destination_created_meanwhile_is_kept() {
        let (_target, destination, _result) = backup_beside_new_file();
        assert_eq!(std::fs::read(&destination).expect("read"), b"keep me");
    }

    #[test]
    fn destination_created_meanwhile_leaves_no_copy() {
        let (target, _destination, _result) = backup_beside_new_file();
        assert_eq!(file_names(target.path()), ["copy.db"]);
    }
}
