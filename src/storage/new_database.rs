//! The files that a command creates when it opens a database at a path
//! where none exists. When creating the schema fails, as on a full disk,
//! they are removed again, so that the failed command leaves no empty or
//! half-made database file, and no `-wal` or `-shm` file, that an operator
//! would take for a database.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::files::companion;
use super::leftovers::link_target;
use super::{Schema, StorageError};

/// A database file that a command is about to create, with those of its
/// `-wal` and `-shm` files that do not exist yet.
pub struct NewDatabase {
    path: PathBuf,
    new_companions: Vec<PathBuf>,
}

impl NewDatabase {
    /// Records the files of the database at `path` before its first open.
    /// Returns `None` when a file exists at `path`, or where a symbolic link
    /// there points, or when that cannot be checked, because an existing
    /// database is never removed.
    pub fn before_open(path: &Path) -> Option<NewDatabase> {
        match std::fs::metadata(path) {
            Err(error) if error.kind() == ErrorKind::NotFound => {}
            _ => return None,
        }
        // SQLite keeps the -wal and -shm files beside the file that a
        // symbolic link points to.
        let real = link_target(path).unwrap_or_else(|| path.to_path_buf());
        let new_companions = ["-wal", "-shm"]
            .into_iter()
            .map(|suffix| companion(&real, suffix))
            .filter(|file| is_missing(file))
            .collect();
        Some(NewDatabase {
            path: path.to_path_buf(),
            new_companions,
        })
    }

    /// Removes the database file, and the `-wal` and `-shm` files that did
    /// not exist before the open, after an open that failed. Nothing is
    /// removed when the file contains any schema, which another process that
    /// opened the new file at the same time may have committed, or when the
    /// file cannot be read to tell. The read waits at most `busy_timeout`
    /// for another connection's lock.
    ///
    /// NOTE: such a process may still commit its schema between the check
    /// and the removal, and then writes to a file that no path names. Two
    /// commands would have to create the same database at the same moment,
    /// and this one fail, for that to happen.
    pub fn remove_unused(&self, busy_timeout: Duration) {
        // Through a symbolic link, the file to remove is its target.
        let Ok(real) = std::fs::canonicalize(&self.path) else {
            return;
        };
        let read = super::open_read_only(&real, busy_timeout, Schema::Current);
        if !matches!(read, Err(StorageError::NoSchema)) {
            return;
        }
        drop(read);
        let _ = std::fs::remove_file(&real);
        for file in &self.new_companions {
            let _ = std::fs::remove_file(file);
        }
    }
}

/// Returns true when no file, and no symbolic link, is at `path`.
fn is_missing(path: &Path) -> bool {
    matches!(
        std::fs::symlink_metadata(path),
        Err(error) if error.kind() == ErrorKind::NotFound
    )
}
