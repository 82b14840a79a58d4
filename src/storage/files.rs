//! The check that the database file and SQLite's `-wal` and `-shm` files
//! beside it are still the files that the server opened.
//!
//! An open file survives being deleted or moved, so SQLite goes on reading
//! and writing it without an error. But a file deleted from the directory is
//! gone when the server exits, and one moved away is not where the next
//! process looks, so every entry committed to it would be lost. A `-wal` or
//! `-shm` file replaced by another process's new one lets the two write the
//! same log with different indexes, which corrupts it. So the storage thread
//! compares each path's device and inode with those it saw first. It looks
//! at most once a second before a commit, every second while idle and once
//! at the stop, and stores nothing more once one differs. The copy it then makes
//! holds every entry committed until then, so an entry acknowledged between
//! the change and the check is kept too.
//!
//! The server's `-wal` file belongs to the database file that it opened.
//! SQLite finds a log by its path alone, and applies it to whatever file is
//! at the database's path, which damages another file. So once the database
//! file itself was replaced, removed or overwritten, the check also moves
//! that log aside.

use std::io::ErrorKind;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::Connection;

use super::server_instance::Token;
use super::StorageError;

/// The shortest time between two looks at the files. Three `statx` calls
/// before each commit cost the storage thread about 10 µs per entry at 8
/// connections (34 against 25 µs, measured in alternated runs), which a look
/// per second avoids.
const LOOK_INTERVAL: Duration = Duration::from_secs(1);

/// The `chrono` format of the UTC time in the names of files that translog
/// writes beside the database, such as `20261205T142000Z`.
pub const FILE_NAME_TIME: &str = "%Y%m%dT%H%M%SZ";

/// The part of a moved-aside log's name between `-wal` and the time of the
/// move, for the log of a database file overwritten while a server ran.
pub const OVERWRITTEN_LOG_INFIX: &str = ".overwritten-";

/// The part of a moved-aside log's name between `-wal` and the time of the
/// move, for the log of a database file that was deleted, moved or replaced
/// while a server ran.
pub const ORPHANED_LOG_INFIX: &str = ".orphaned-";

/// How a file of the database changed under the server, which decides the
/// steps that put a database back in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileChange {
    /// A file is no longer at its path: it was deleted or moved. The server
    /// copied its entries beside the database.
    Missing,
    /// Another file is at the path, such as a backup moved over the
    /// database. The server copied its entries beside the database, and
    /// cannot tell whether the new file is a backup that the operator means
    /// to restore.
    Replaced,
    /// The database file no longer reads as the one that the server opened,
    /// as after `cp backup.db translog.db`, which overwrites it in place. The
    /// server made no copy, because its view of the file is damaged.
    Overwritten,
    /// The database file changed while a command read it without locks,
    /// and how it changed is not known.
    Unknown,
}

impl FileChange {
    /// Returns the titles, in double quotes, of the sections of
    /// docs/operators.md whose steps fit this change.
    pub fn guide_sections(self) -> &'static str {
        match self {
            FileChange::Missing => "\"Deleting or moving the database's files\"",
            FileChange::Overwritten => "\"Restoring a backup\"",
            FileChange::Replaced | FileChange::Unknown => {
                "\"Deleting or moving the database's files\" and \"Restoring a backup\""
            }
        }
    }
}

/// The storage thread's check of its files: it passes until a file changes,
/// and fails from then on.
pub struct FileCheck {
    /// When the files were last looked at.
    looked_at: Option<Instant>,
    /// The database file itself, where a symbolic link at the configured
    /// path points; its `-wal` and `-shm` files are beside it.
    real: PathBuf,
    files: DatabaseFiles,
    /// The token that the server wrote to the database at its start, or
    /// `None` when another process's lock kept it from being written.
    token: Option<Token>,
    /// The first change found, and the sentence that names it.
    change: Option<(FileChange, String)>,
    /// True once the server tried to move its `-wal` file aside, which it
    /// does at most once.
    log_moved: bool,
}

impl FileCheck {
    /// Records the files of the database at `db` as they are now, and the
    /// `token` that the server wrote to it.
    pub fn new(db: &Path, token: Option<Token>) -> FileCheck {
        FileCheck {
            looked_at: None,
            real: real_path(db),
            files: DatabaseFiles::new(db),
            token,
            change: None,
            log_moved: false,
        }
    }

    /// Fails once a file has changed, looking at the files if the last look
    /// is [`LOOK_INTERVAL`] old. At the first change found, it copies the
    /// database as `connection` still reads it to a new file beside it. It
    /// also logs an error that names the change and the copy, so that the
    /// entries stored so far survive the restart that the operator must do.
    ///
    /// # Errors
    ///
    /// [`StorageError::FileChanged`] from the first change on.
    pub fn check(&mut self, connection: &Connection) -> Result<(), StorageError> {
        if let Some((change, description)) = &self.change {
            return Err(StorageError::FileChanged(*change, description.clone()));
        }
        if self
            .looked_at
            .is_some_and(|at| at.elapsed() < LOOK_INTERVAL)
        {
            return Ok(());
        }
        self.check_now(connection)
    }

    /// Looks at the files now, whenever the last look was, as [`check`] does
    /// when a look is due.
    ///
    /// # Errors
    ///
    /// [`StorageError::FileChanged`] from the first change on.
    ///
    /// [`check`]: FileCheck::check
    pub fn check_now(&mut self, connection: &Connection) -> Result<(), StorageError> {
        if let Some((change, description)) = &self.change {
            return Err(StorageError::FileChanged(*change, description.clone()));
        }
        self.looked_at = Some(Instant::now());
        let Some((change, description)) = self.files.changed() else {
            // The server's view of a file overwritten in place is damaged,
            // so it is not copied.
            let token = self.token.as_ref();
            let Some(description) = super::read_check::changed_content(&self.real, token) else {
                return Ok(());
            };
            self.change = Some((FileChange::Overwritten, description.clone()));
            self.move_log_aside(OVERWRITTEN_LOG_INFIX);
            return Err(StorageError::FileChanged(
                FileChange::Overwritten,
                description,
            ));
        };
        let rescued = self.rescue(connection, change, &description);
        self.change = Some((change, description.clone()));
        if self.is_log_orphaned(rescued) {
            self.move_log_aside(ORPHANED_LOG_INFIX);
        }
        Err(StorageError::FileChanged(change, description))
    }

    /// Returns the database file's path with symbolic links resolved.
    pub fn database_path(&self) -> &Path {
        &self.real
    }

    /// Returns true when the `-wal` file at the path is still the one that
    /// the server opened, but the database file at the path is not. Either
    /// another file replaced it, or it is gone and `rescued` is true because
    /// the rescued copy contains its entries. A database file moved away
    /// without a rescued copy keeps its log at the path, so that it can be
    /// moved back to it.
    fn is_log_orphaned(&self, rescued: bool) -> bool {
        if !self.files.is_log_original() {
            return false;
        }
        match identity_of(&self.real) {
            Ok(Some(identity)) => Some(identity) != self.files.database_identity(),
            Ok(None) => rescued,
            Err(_) => false,
        }
    }

    /// Moves the server's `-wal` file to `<db>-wal<infix><UTC time>`, and
    /// logs the move. The log belongs to the database file that the server
    /// opened, and SQLite would apply it to the file now at the path, or to
    /// the next one put there, at its next open. The server's connections
    /// keep the log open, so they go on reading it. A `-wal` file that
    /// another process put at the path stays. The move is tried once.
    fn move_log_aside(&mut self, infix: &str) {
        if self.log_moved {
            return;
        }
        self.log_moved = true;
        if !self.files.is_log_original() {
            return;
        }
        let db = self.real.display();
        let wal = companion(&self.real, "-wal");
        let mut aside = wal.as_os_str().to_owned();
        aside.push(format!(
            "{infix}{}",
            chrono::Utc::now().format(FILE_NAME_TIME)
        ));
        let aside = PathBuf::from(aside);
        if let Err(error) = std::fs::rename(&wal, &aside) {
            log::error!(
                "moving {wal} aside failed: {error}; stop translog and move {wal} and \
                 {db}-shm to another directory before translog or another program opens {db}, \
                 because SQLite would apply that log to the file at {db}",
                wal = wal.display()
            );
            return;
        }
        if infix == OVERWRITTEN_LOG_INFIX {
            log::error!(
                "moved {wal} to {aside}, because it is the log of the database file that was \
                 overwritten, and SQLite would copy it into {db} at the next open. Commands \
                 that write to {db} are rejected while that file is beside it: stop translog, \
                 then, to go on with {db} as it was copied, move {aside} to another \
                 directory; if {db} was not meant to be replaced, follow \"Restoring a \
                 backup\" in docs/operators.md",
                wal = wal.display(),
                aside = aside.display()
            );
        } else {
            log::warn!(
                "moved {wal} to {aside}, because it is the log of the database file that is \
                 no longer at {db}, and SQLite would apply it to any other file put there",
                wal = wal.display(),
                aside = aside.display()
            );
        }
    }

    /// Returns true once the check has found the database file overwritten
    /// in place.
    pub fn found_overwritten(&self) -> bool {
        matches!(self.change, Some((FileChange::Overwritten, _)))
    }

    /// Copies the entries stored so far beside the database, and logs the
    /// steps that follow. Returns true when the copy was written.
    fn rescue(&self, connection: &Connection, change: FileChange, description: &str) -> bool {
        let rescue = rescue_path(&self.real, chrono::Utc::now());
        let sections = change.guide_sections();
        // Another file at the path may be a backup put there on purpose.
        let restore = match change {
            FileChange::Replaced => {
                "; to restore a backup instead, follow \"Restoring a backup\" there"
            }
            FileChange::Missing | FileChange::Overwritten | FileChange::Unknown => "",
        };
        let result = rescue_copy(connection, &rescue);
        match &result {
            Ok(()) => log::error!(
                "{description} while the server ran, so it stores no more entries and answers \
                 503 until it is restarted. The entries stored so far are copied to {rescue}; \
                 stop translog, move {db}, {db}-wal and {db}-shm out of the way if they exist \
                 (the log left there would be replayed into the copy), move the copy to {db} \
                 and start translog again, as docs/operators.md says under \"Deleting or moving \
                 the database's files\"{restore}",
                rescue = rescue.display(),
                db = self.real.display()
            ),
            Err(error) => log::error!(
                "{description} while the server ran, so it stores no more entries and answers \
                 503 until it is restarted. Copying the entries stored so far to {} failed: \
                 {error}; the steps are in docs/operators.md under {sections}",
                rescue.display()
            ),
        }
        result.is_ok()
    }
}

/// Returns the path of the copy made when a file changed: the database's path
/// with `.rescued-` and the UTC time appended.
fn rescue_path(db: &Path, now: chrono::DateTime<chrono::Utc>) -> PathBuf {
    let mut path = db.as_os_str().to_owned();
    path.push(format!(".rescued-{}", now.format(FILE_NAME_TIME)));
    PathBuf::from(path)
}

/// Writes a consistent copy of the database that `connection` reads to the
/// new file `destination`, readable by its owner only, like the database.
/// A copy that fails leaves no file behind. The copy keeps the server's
/// token, unlike a backup, because this server stores nothing more once it
/// made the copy, and the next server writes a new token.
fn rescue_copy(connection: &Connection, destination: &Path) -> Result<(), String> {
    let name = sqlite_file_name(destination)?;
    create_private(destination).map_err(|error| error.to_string())?;
    if let Err(error) = super::backup::vacuum_into(connection, name) {
        let _ = std::fs::remove_file(destination);
        return Err(error.to_string());
    }
    Ok(())
}

/// Returns `path` as the UTF-8 text that SQLite takes as a file name, as in
/// `VACUUM INTO`. A lossy conversion of another path would name another file.
///
/// # Errors
///
/// Returns the reason when the path is not valid UTF-8.
pub fn sqlite_file_name(path: &Path) -> Result<&str, String> {
    path.to_str()
        .ok_or_else(|| "the path is not valid UTF-8, which SQLite needs for a file name".into())
}

/// Creates the new, empty file `path` with mode 0600, for a copy of the
/// database. The copy contains the password hashes, so only its owner may
/// read it, as for the database.
///
/// # Errors
///
/// Fails when the file exists or cannot be created.
pub fn create_private(path: &Path) -> std::io::Result<()> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map(drop)
}

/// Returns the directory of the file at `path`, which is `.` for a bare
/// file name.
pub fn parent_directory(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// The files of one database, by path, with the identity each had first.
/// The database file comes first, then its `-wal` and `-shm` files.
pub struct DatabaseFiles {
    files: Vec<WatchedFile>,
}

/// The position of the database file in [`DatabaseFiles`].
const DATABASE: usize = 0;

/// The position of the `-wal` file in [`DatabaseFiles`].
const LOG: usize = 1;

struct WatchedFile {
    path: PathBuf,
    /// The path as the log names it.
    name: String,
    /// The device and inode number, once the file has been seen.
    identity: Option<(u64, u64)>,
}

impl DatabaseFiles {
    /// Records the identity of the database at `db` and of its `-wal` and
    /// `-shm` files. SQLite creates those two on first use, so either may
    /// appear later, and is then recorded at the first check that finds it.
    /// They are beside the file that a symbolic link at `db` points to.
    pub fn new(db: &Path) -> DatabaseFiles {
        let real = real_path(db);
        let is_link = std::fs::symlink_metadata(db).is_ok_and(|meta| meta.file_type().is_symlink());
        let db_name = if is_link {
            format!("{} (a symbolic link to {})", db.display(), real.display())
        } else {
            db.display().to_string()
        };
        let wal = companion(&real, "-wal");
        let shm = companion(&real, "-shm");
        let files = [
            (db.to_path_buf(), db_name),
            (wal.clone(), wal.display().to_string()),
            (shm.clone(), shm.display().to_string()),
        ]
        .into_iter()
        .map(|(path, name)| {
            let identity = identity_of(&path).ok().flatten();
            WatchedFile {
                path,
                name,
                identity,
            }
        })
        .collect();
        DatabaseFiles { files }
    }

    /// Returns the device and inode number that the database file had when
    /// it was first seen.
    fn database_identity(&self) -> Option<(u64, u64)> {
        self.files[DATABASE].identity
    }

    /// Returns true when the file at the `-wal` path is the one first seen
    /// there.
    fn is_log_original(&self) -> bool {
        let log = &self.files[LOG];
        log.identity.is_some() && identity_of(&log.path).ok().flatten() == log.identity
    }

    /// Returns the change of the first file that is no longer at its path,
    /// or was replaced there by another file, with a sentence for the log. A
    /// path that cannot be checked (no permission to search the directory,
    /// say) counts as unchanged, so that a failed check never stops the
    /// writes.
    pub fn changed(&mut self) -> Option<(FileChange, String)> {
        for file in &mut self.files {
            let now = match identity_of(&file.path) {
                Ok(identity) => identity,
                Err(_) => continue,
            };
            match (file.identity, now) {
                (None, now) => file.identity = now,
                (Some(_), None) => {
                    let description = format!("{} was deleted or moved", file.name);
                    return Some((FileChange::Missing, description));
                }
                (Some(first), Some(now)) if first != now => {
                    let description = format!("{} was replaced by another file", file.name);
                    return Some((FileChange::Replaced, description));
                }
                (Some(_), Some(_)) => {}
            }
        }
        None
    }
}

/// Returns the file that `db` names with symbolic links resolved, beside
/// which SQLite keeps the `-wal` and `-shm` files, or `db` itself when it
/// cannot be resolved, as for a file that does not exist yet.
pub fn real_path(db: &Path) -> PathBuf {
    std::fs::canonicalize(db).unwrap_or_else(|_| db.to_path_buf())
}

/// Returns the path of a file that SQLite keeps beside the database at `db`,
/// its name with `suffix` (`-wal`, `-shm`) appended.
pub fn companion(db: &Path, suffix: &str) -> PathBuf {
    let mut path = db.as_os_str().to_owned();
    path.push(suffix);
    PathBuf::from(path)
}

/// Returns the device and inode number of the file at `path`, or `None` when
/// there is none.
fn identity_of(path: &Path) -> std::io::Result<Option<(u64, u64)>> {
    match std::fs::metadata(path) {
        Ok(metadata) => Ok(Some((metadata.dev(), metadata.ino()))),
        Err(error) if error.kind() == ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Creates the three files of a database in `dir`, and returns its path
    /// and the files, open as the server keeps them. A file held open keeps
    /// its inode number, so a new file at its path gets another one.
    fn database_in(dir: &Path) -> (PathBuf, Vec<std::fs::File>) {
        let db = dir.join("t.db");
        let open = ["", "-wal", "-shm"]
            .into_iter()
            .map(|suffix| {
                let path = format!("{}{suffix}", db.display());
                std::fs::write(&path, b"x").expect("write file");
                std::fs::File::open(&path).expect("open file")
            })
            .collect();
        (db, open)
    }

    #[test]
    fn failed_rescue_copy_leaves_no_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let connection = Connection::open(dir.path().join("t.db")).expect("open");
        // SQLite runs no VACUUM inside a transaction, so the copy fails
        // after its file was created.
        connection.execute_batch("BEGIN").expect("begin");
        let copy = dir.path().join("t.db.rescued");
        assert!(rescue_copy(&connection, &copy).is_err());
        assert!(!copy.exists());
    }

    #[test]
    fn rescue_copy_to_non_utf8_path_creates_nothing() {
        use std::os::unix::ffi::OsStrExt as _;
        let dir = tempfile::tempdir().expect("temp dir");
        let connection = Connection::open(dir.path().join("t.db")).expect("open");
        let copy = dir.path().join(std::ffi::OsStr::from_bytes(b"t.db.\xff"));
        assert!(rescue_copy(&connection, &copy).is_err());
        assert!(!copy.exists());
    }

    #[test]
    fn unchanged_files_pass() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (db, _open) = database_in(dir.path());
        let mut files = DatabaseFiles::new(&db);
        assert_eq!(files.changed(), None);
    }

    #[test]
    fn deleted_database_is_named() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (db, _open) = database_in(dir.path());
        let mut files = DatabaseFiles::new(&db);
        std::fs::remove_file(&db).expect("remove");
        assert_eq!(
            files.changed(),
            Some((
                FileChange::Missing,
                format!("{} was deleted or moved", db.display())
            ))
        );
    }

    #[test]
    fn replaced_wal_is_named() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (db, _open) = database_in(dir.path());
        let mut files = DatabaseFiles::new(&db);
        let wal = dir.path().join("t.db-wal");
        std::fs::remove_file(&wal).expect("remove");
        std::fs::write(&wal, b"y").expect("write");
        assert_eq!(
            files.changed(),
            Some((
                FileChange::Replaced,
                format!("{} was replaced by another file", wal.display())
            ))
        );
    }

    #[test]
    fn shm_created_later_is_recorded() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("t.db");
        std::fs::write(&db, b"x").expect("write");
        let mut files = DatabaseFiles::new(&db);
        let shm = dir.path().join("t.db-shm");
        std::fs::write(&shm, b"x").expect("write");
        files.changed();
        std::fs::remove_file(&shm).expect("remove");
        assert_eq!(
            files.changed(),
            Some((
                FileChange::Missing,
                format!("{} was deleted or moved", shm.display())
            ))
        );
    }
}
