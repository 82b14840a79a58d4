//! The free space of the database's file system, looked up when a write
//! fails, so that a full disk is reported as one. SQLite reports a write
//! that gets ENOSPC as "database or disk is full". When it cannot grow the
//! `-shm` file on open, though, it reports a plain "disk I/O error"
//! (`SQLITE_IOERR_SHMSIZE` in the SQLite 3.54.1 that rusqlite bundles), which
//! reads like a hardware fault.

use std::path::{Path, PathBuf};

use rusqlite::ErrorCode;

/// Available space, in bytes, below which a failed write is attributed to a
/// full file system. It is twice the `-wal` file of normal use (about 4 MiB),
/// because with more space free a failed write more likely has another cause.
const NEARLY_FULL_BYTES: u64 = 8 * 1024 * 1024;

/// Used share of a file system, in percent, that it must also reach before
/// it counts as full, so that a small file system that is mostly free (a
/// 4 MiB tmpfs, say) is not called full.
const NEARLY_FULL_USED_PERCENT: u64 = 90;

/// Space of a file system. The available counts are those of an unprivileged
/// process, so they leave out the blocks and inodes reserved for root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Space {
    /// Bytes that this process may still write.
    available: u64,
    /// Size of the file system in bytes.
    size: u64,
    /// Inodes, so files, that this process may still create. `None` where
    /// the file system reports a total inode count of 0, as file systems that
    /// allocate inodes on demand may.
    available_inodes: Option<u64>,
}

/// Builds a hint to append to the message of `error`, which a write of
/// `file` (the database, or a file beside it) failed with. The hint states
/// that the file system is full, how much is free, and to free space.
///
/// Only errors that a full file system causes get a hint: an SQLite error
/// "full", "I/O error" or "cannot open", or an `std::io::Error` "No space
/// left on device", as `error` or one of its sources. Returns an empty
/// string for any other error, when the file system has room, or when its
/// space cannot be read.
pub fn full_disk_hint(file: &Path, error: &(dyn std::error::Error + 'static)) -> String {
    if !may_come_from_full_disk(error) {
        return String::new();
    }
    let directory = directory_of(file);
    match space_of(&directory).and_then(|space| describe_full(&directory, space)) {
        Some(note) => format!("; {note}"),
        None => String::new(),
    }
}

/// Describes `error`, with [`full_disk_hint`] for `file` after it.
pub fn describe_with_full_disk_hint(
    file: &Path,
    error: &(dyn std::error::Error + 'static),
) -> String {
    format!("{error}{}", full_disk_hint(file, error))
}

/// Checks whether the first SQLite or I/O error in the source chain of
/// `error` is of a kind that a full file system causes.
fn may_come_from_full_disk(error: &(dyn std::error::Error + 'static)) -> bool {
    std::iter::successors(Some(error), |error| error.source())
        .find_map(|error| {
            if let Some(rusqlite::Error::SqliteFailure(failure, _)) = error.downcast_ref() {
                return Some(matches!(
                    failure.code,
                    ErrorCode::DiskFull | ErrorCode::SystemIoFailure | ErrorCode::CannotOpen
                ));
            }
            let io = error.downcast_ref::<std::io::Error>()?;
            Some(io.kind() == std::io::ErrorKind::StorageFull)
        })
        .unwrap_or(false)
}

/// Returns the directory of `file`, or of the target of a symbolic link at
/// `file`, where SQLite writes a database's `-wal` and `-shm` files.
fn directory_of(file: &Path) -> PathBuf {
    let real = super::files::real_path(file);
    match real.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn space_of(directory: &Path) -> Option<Space> {
    let stats = rustix::fs::statvfs(directory).ok()?;
    Some(Space {
        available: stats.f_bavail.saturating_mul(stats.f_frsize),
        size: stats.f_blocks.saturating_mul(stats.f_frsize),
        available_inodes: (stats.f_files > 0).then_some(stats.f_favail),
    })
}

/// Describes the file system of `directory` as full, with what to do, when
/// `space` has no inode left, or less than [`NEARLY_FULL_BYTES`] available
/// with [`NEARLY_FULL_USED_PERCENT`] used. Returns `None` when it has room.
fn describe_full(directory: &Path, space: Space) -> Option<String> {
    if space.available_inodes == Some(0) {
        return Some(format!(
            "the file system of {} has no free inodes, so no file can be created on it ({} \
             of {} free); delete files on it, then try again",
            directory.display(),
            format_size(space.available),
            format_size(space.size)
        ));
    }
    if !is_nearly_full(space) {
        return None;
    }
    Some(format!(
        "the file system of {} is full ({} of {} free); free space on it, by deleting or \
         moving other files or by enlarging it, then try again",
        directory.display(),
        format_size(space.available),
        format_size(space.size)
    ))
}

/// Returns true when `space` has less than [`NEARLY_FULL_BYTES`] available
/// and [`NEARLY_FULL_USED_PERCENT`] or more used.
fn is_nearly_full(space: Space) -> bool {
    let free_percent = 100 - NEARLY_FULL_USED_PERCENT;
    space.available < NEARLY_FULL_BYTES
        && u128::from(space.available) * 100 < u128::from(space.size) * u128::from(free_percent)
}

/// Returns true when the file system of `file` has no inode left, or is
/// nearly full as [`full_disk_hint`] counts it. A file system whose space
/// cannot be read counts as not full.
pub fn is_full(file: &Path) -> bool {
    space_of(&directory_of(file))
        .is_some_and(|space| space.available_inodes == Some(0) || is_nearly_full(space))
}

/// Formats a number of bytes in the largest binary unit that it reaches, with
/// one decimal: `0 bytes`, `512 bytes`, `3.5 MiB`.
fn format_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024 {
        return format!("{bytes} bytes");
    }
    // The precision of an f64 is ample for one decimal.
    #[allow(clippy::cast_precision_loss)]
    let mut value = bytes as f64 / 1024.0;
    let mut unit = UNITS[0];
    for next in &UNITS[1..] {
        if value < 1024.0 {
            break;
        }
        value /= 1024.0;
        unit = next;
    }
    format!("{value:.1} {unit}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::StorageError;

    const MIB: u64 = 1024 * 1024;

    fn space(available: u64, inodes: Option<u64>) -> Space {
        Space {
            available,
            size: 20 * 1024 * MIB,
            available_inodes: inodes,
        }
    }

    #[test]
    fn empty_file_system_is_full() {
        let note = describe_full(Path::new("/srv/db"), space(0, Some(10)));
        assert_eq!(
            note.as_deref(),
            Some(
                "the file system of /srv/db is full (0 bytes of 20.0 GiB free); free space on \
                 it, by deleting or moving other files or by enlarging it, then try again"
            )
        );
    }

    #[test]
    fn nearly_full_file_system_is_full() {
        let note = describe_full(Path::new("/srv/db"), space(3 * MIB + MIB / 2, Some(10)));
        let note = note.expect("3.5 MiB free is nearly full");
        assert!(note.contains("(3.5 MiB of 20.0 GiB free)"), "{note}");
    }

    #[test]
    fn small_mostly_free_tmpfs_not_full() {
        let space = Space {
            available: 3 * MIB,
            size: 4 * MIB,
            available_inodes: Some(10),
        };
        assert_eq!(describe_full(Path::new("/srv/db"), space), None);
    }

    #[test]
    fn roomy_file_system_is_not_full() {
        assert_eq!(
            describe_full(Path::new("/srv/db"), space(NEARLY_FULL_BYTES, Some(10))),
            None
        );
    }

    #[test]
    fn no_free_inodes_is_named() {
        let note = describe_full(Path::new("/srv/db"), space(64 * MIB, Some(0)));
        let note = note.expect("no inode left is full");
        assert!(note.contains("has no free inodes"), "{note}");
    }

    #[test]
    fn unknown_inode_count_is_not_full() {
        assert_eq!(
            describe_full(Path::new("/srv/db"), space(64 * MIB, None)),
            None
        );
    }

    #[test]
    fn sizes_take_largest_unit() {
        let cases = [
            (0, "0 bytes"),
            (1023, "1023 bytes"),
            (1024, "1.0 KiB"),
            (3 * MIB + MIB / 2, "3.5 MiB"),
            (5 * 1024 * MIB, "5.0 GiB"),
        ];
        for (bytes, expected) in cases {
            assert_eq!(format_size(bytes), expected, "{bytes}");
        }
    }

    fn sqlite_error(code: std::ffi::c_int) -> StorageError {
        StorageError::from(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(code),
            None,
        ))
    }

    #[test]
    fn shm_size_error_may_be_full() {
        assert!(may_come_from_full_disk(&sqlite_error(
            rusqlite::ffi::SQLITE_IOERR_SHMSIZE
        )));
    }

    #[test]
    fn full_error_may_be_full_disk() {
        assert!(may_come_from_full_disk(&sqlite_error(
            rusqlite::ffi::SQLITE_FULL
        )));
    }

    #[test]
    fn busy_error_is_not_full_disk() {
        assert!(!may_come_from_full_disk(&sqlite_error(
            rusqlite::ffi::SQLITE_BUSY
        )));
    }

    #[test]
    fn enospc_may_be_full_disk() {
        let error = std::io::Error::from(std::io::ErrorKind::StorageFull);
        assert!(may_come_from_full_disk(&error));
    }

    #[test]
    fn permission_denied_is_not_full_disk() {
        let error = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        assert!(!may_come_from_full_disk(&error));
    }

    #[test]
    fn busy_database_gets_no_hint() {
        let dir = tempfile::tempdir().expect("temp dir");
        let error = sqlite_error(rusqlite::ffi::SQLITE_BUSY);
        assert_eq!(full_disk_hint(&dir.path().join("t.db"), &error), "");
    }
}
