//! `translog backup` and `translog prune`, the commands that maintain the
//! database file.

use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, Utc};
use chrono_tz::Tz;

use super::database::{
    absolute, open_database_read_only_unchecked, open_database_to_delete, read_database,
    CHANGED_FILE_ATTEMPTS,
};
use super::interruption::{signal_name, Interruption};
use super::{DatabasePath, Failure, TimestampArgument};
use crate::storage::backup::{Backup, BackupError};
use crate::storage::free_space::{describe_with_full_disk_hint, full_disk_hint};
use crate::storage::maintenance::{self, PruneError, Pruned};
use crate::storage::{file_mode, files, Schema, StorageError};

/// Writes a backup of the database to the new file `destination` and prints
/// how many entries it contains. SIGINT, SIGTERM and SIGHUP during the copy
/// stop it and remove the temporary file. They end the command with
/// [`Failure::Interrupted`] unless the copy is at `destination` already.
pub fn backup(db: &DatabasePath, destination: &Path) -> Result<(), Failure> {
    let name = backup_file_name(destination)?;

    // A copy needs no upgrade, so a database of an older version, still in
    // use by an older server, is copied as it is.
    let mut database = open_database_read_only_unchecked(db, Schema::AsFound)?;

    // Installed before the temporary file exists, so that no signal ends the
    // process while the file is there.
    let interruption = Interruption::install()?;
    let fail = |error: BackupError| match (&error, interruption.received()) {
        (BackupError::Interrupted, Some(signal)) => Failure::Interrupted {
            message: format!(
                "the backup was interrupted by {}, so nothing was written to {}",
                signal_name(signal),
                destination.display()
            ),
            signal,
        },
        _ => Failure::Error(describe_backup_error(destination, &error)),
    };
    let mut attempt = 1;
    let (backup, counts) = loop {
        let backup = Backup::create(name, interruption.flag()).map_err(fail)?;
        match backup.write(database) {
            // A server that started meanwhile changed the file that was
            // read without locks. Opened again, it is read with the
            // server's locks. The failed copy is removed with `backup`.
            Err(BackupError::Copy(StorageError::ChangedWhileRead))
                if attempt < CHANGED_FILE_ATTEMPTS =>
            {
                drop(backup);
                attempt += 1;
                database = open_database_read_only_unchecked(db, Schema::AsFound)?;
            }
            // Described before `backup` is dropped, because the partial copy
            // still takes the space that the hint of a full disk reports as
            // free.
            result => break result.map_err(fail).map(|counts| (backup, counts))?,
        }
    };
    // A database without users or entries is almost always one that a
    // mistyped --db just created, because a server's first start creates a
    // user. Its copy would replace good backups with an empty one in a
    // rotation, so it is not written.
    if counts.users == 0 && counts.entries == 0 {
        return Err(Failure::Error(format!(
            "{} has no users and no entries, so it is probably not the database you meant, and \
             nothing was written to {}; check --db (or TRANSLOG_DB), which names the database \
             to copy",
            absolute(db.path()).display(),
            destination.display()
        )));
    }
    backup.finish().map_err(fail)?;

    super::print_line(&format!(
        "wrote {} ({})",
        destination.display(),
        count_of(counts.entries, "entry", "entries")
    ));
    Ok(())
}

/// Checks the backup destination. It rejects `-`, which many commands read
/// as standard output, because a backup is a database file that SQLite
/// writes by name, and a path with white space around it. A path that is not
/// UTF-8 passes, and the backup names that problem.
pub fn check_destination(destination: PathBuf) -> Result<PathBuf, String> {
    if destination.as_os_str() == "-" {
        return Err(
            "backup writes to a file, not to standard output; to write a file named -, give \
             a path such as ./-"
                .to_string(),
        );
    }
    if let Some(text) = destination.to_str() {
        super::check_path_text(text)?;
    }
    Ok(destination)
}

/// Checks that `destination` can name a new backup file, and returns it as
/// the UTF-8 text that SQLite takes.
fn backup_file_name(destination: &Path) -> Result<&str, String> {
    if destination.is_dir() {
        return Err(format!(
            "{} is a directory; give the path of a new file inside it, such as {}",
            destination.display(),
            backup_file_in(destination).display()
        ));
    }

    // A path that ends with a slash, where no directory exists.
    if destination.as_os_str().as_bytes().ends_with(b"/") {
        return Err(format!(
            "cannot create {}: a path that ends with / names a directory, and none \
             exists there; create the directory and give the path of a new file inside \
             it, such as {}",
            destination.display(),
            backup_file_in(destination).display()
        ));
    }

    files::sqlite_file_name(destination).map_err(|reason| {
        format!(
            "cannot create {}: {reason}; choose a file name that is valid UTF-8",
            destination.display()
        )
    })
}

/// Describes a failed backup to `destination`, with what to do where the
/// cause is the path.
fn describe_backup_error(destination: &Path, error: &BackupError) -> String {
    let path = destination.display();
    let create = match error {
        BackupError::Exists => return format!("{path} already exists; choose a new file name"),
        BackupError::Interrupted => {
            return format!("the backup was interrupted, so nothing was written to {path}")
        }
        BackupError::Create(create) => create,
        BackupError::SyncDirectory(..) => {
            return format!(
                "wrote {path}, but {error}; a crash of the host may lose the file, so check \
                 that it is there before relying on it"
            )
        }
        BackupError::Copy(_)
        | BackupError::RemoveServerState(_)
        | BackupError::Count(_)
        | BackupError::Sync(_)
        | BackupError::Rename(_) => return describe_failed_write(destination, error),
    };
    match create.kind() {
        std::io::ErrorKind::NotFound => format!(
            "cannot create {path}: {}",
            missing_directory_reason(destination)
        ),
        std::io::ErrorKind::NotADirectory => format!(
            "cannot create {path}: {}",
            non_directory_reason(destination)
        ),
        std::io::ErrorKind::PermissionDenied => format!(
            "cannot create {path}: {}; choose a directory that this user may write, or run \
             the command as a user who may write there",
            create_denied_reason(destination)
        ),
        _ => format!(
            "cannot create {path}: {create}{}",
            full_disk_hint(destination, create)
        ),
    }
}

/// Describes a backup to `destination` that failed after its temporary file
/// was created. When the file system of `destination` is full, the message
/// names it in place of SQLite's error, which calls the source database
/// unavailable although only the copy could not be written.
fn describe_failed_write(destination: &Path, error: &BackupError) -> String {
    let hint = full_disk_hint(destination, error);
    if hint.is_empty() {
        return format!("backup failed: {error}");
    }
    format!(
        "cannot write the backup to {}{hint}, or give a DEST on another file system",
        destination.display()
    )
}

/// Returns why creating the file at `destination` found no directory to
/// create it in, with what to do. Either the directory is missing, or it is
/// a symbolic link to a missing path, or its file system creates no files
/// on request, as /proc does. Names the directory by its absolute path.
fn missing_directory_reason(destination: &Path) -> String {
    let directory = absolute(files::parent_directory(destination));
    let directory_path = directory.display();
    if directory.is_dir() {
        return format!(
            "directory {directory_path} exists, but its file system does not allow new files \
             in it; choose a directory on another file system"
        );
    }
    if let Ok(target) = std::fs::read_link(&directory) {
        return format!(
            "directory {directory_path} is a symbolic link to {}, which does not exist; create \
             that directory or choose another path",
            target.display()
        );
    }
    format!("directory {directory_path} does not exist; create it or choose another path")
}

/// Returns which part of the directory of `destination` is not a directory,
/// with what to do. Names the part by its absolute path.
fn non_directory_reason(destination: &Path) -> String {
    let directory = absolute(files::parent_directory(destination));
    let mut ancestors: Vec<&Path> = directory.ancestors().collect();
    ancestors.reverse();
    let part = ancestors
        .into_iter()
        .find(|ancestor| ancestor.exists() && !ancestor.is_dir());
    match part {
        Some(part) if part.is_file() => format!(
            "{} is a file, not a directory; choose a path in a directory",
            part.display()
        ),
        Some(part) => format!(
            "{} is not a directory; choose a path in a directory",
            part.display()
        ),
        // Another process changed the path after the failed create.
        None => "a part of its directory is not a directory; choose another path".to_string(),
    }
}

/// Returns why this process's user may not create the file at `destination`:
/// a directory above it that the user may not search, or its own directory,
/// which the user may not write. Both are named by absolute paths.
fn create_denied_reason(destination: &Path) -> String {
    let directory = absolute(files::parent_directory(destination));
    let user = file_mode::effective_user();
    match file_mode::unsearchable_directory(&directory) {
        Some(closed) => format!(
            "{user} has no search permission on directory {}",
            closed.display()
        ),
        None => format!(
            "{user} may not create files in directory {}",
            directory.display()
        ),
    }
}

/// Returns a path for a new backup in `directory`, named after the current
/// UTC time to the second, such as `translog-20261204T030000Z.db`, so that
/// a second backup on the same day gets a name of its own.
fn backup_file_in(directory: &Path) -> std::path::PathBuf {
    let now = chrono::Utc::now().format(files::FILE_NAME_TIME);
    let named = |suffix: String| directory.join(format!("translog-{now}{suffix}.db"));
    // A backup written in the same second may have taken the name.
    std::iter::once(String::new())
        .chain((2..100).map(|number| format!("-{number}")))
        .map(&named)
        .find(|path| !path.exists())
        .unwrap_or_else(|| named(String::new()))
}

pub fn prune(
    db: &DatabasePath,
    before: &TimestampArgument,
    timezone: Tz,
    dry_run: bool,
) -> Result<(), Failure> {
    check_age_is_an_hour(before)?;
    let instant = before.resolve(timezone, "before")?;
    check_cutoff_is_past(before, instant, timezone)?;
    // Every result line names the cutoff, so that an age such as 30d shows
    // the instant that it meant.
    let before = instant
        .with_timezone(&timezone)
        .to_rfc3339_opts(SecondsFormat::AutoSi, true);
    if dry_run {
        let counts = pruned_counts(count_pruned(db, instant)?);
        super::print_line(&format!(
            "would remove {counts} whose last entry is before {before}; nothing was deleted"
        ));
        return Ok(());
    }
    let mut connection = open_database_to_delete(db)?;
    // Installed before the first deletion, so that a signal stops the prune
    // between two chunks and the command can print what it deleted.
    let interruption = Interruption::install()?;
    let result = maintenance::prune(&mut connection, instant, &interruption.flag());
    let signal = interruption.received();
    // A signal during a wait for the lock makes that wait fail with "busy",
    // so that error with a signal is the interruption. Any other error is
    // reported as it is.
    let (deleted, finished, signal) = match (result, signal) {
        (Ok(run), None) => {
            super::print_line(&format!(
                "removed {} whose last entry was before {before}",
                pruned_counts(run.deleted)
            ));
            return Ok(());
        }
        (Ok(run), Some(signal)) => (run.deleted, run.finished, signal),
        (Err(failure), Some(signal)) if matches!(failure.error, StorageError::Busy(_)) => {
            (failure.deleted, false, signal)
        }
        (Err(failure), _) => return Err(describe_prune_error(db.path(), &failure).into()),
    };
    let counts = pruned_counts(deleted);
    let message = if finished {
        format!(
            "prune was interrupted by {} as it ended, after it removed every transaction \
             before {before}: {counts}",
            signal_name(signal)
        )
    } else {
        format!(
            "prune was interrupted by {} after it removed {counts}; any other transactions \
             before {before} are still stored, and running the same command again removes them",
            signal_name(signal)
        )
    };
    Err(Failure::Interrupted { message, signal })
}

/// Formats what a prune deleted as `N transactions (M entries)`.
fn pruned_counts(pruned: Pruned) -> String {
    format!(
        "{} ({})",
        count_of(pruned.transactions as u64, "transaction", "transactions"),
        count_of(pruned.entries as u64, "entry", "entries")
    )
}

/// Describes a failed prune of the database at `db`, with what it deleted
/// before the error, since those deletions are committed.
fn describe_prune_error(db: &Path, failure: &PruneError) -> String {
    let error = describe_with_full_disk_hint(db, &failure.error);
    if failure.deleted.transactions == 0 {
        return error;
    }
    format!(
        "removed {} before the error: {error}",
        pruned_counts(failure.deleted)
    )
}

/// The shortest age that `prune --before` takes.
const MIN_PRUNE_AGE: std::time::Duration = std::time::Duration::from_secs(3600);

/// Rejects an age under [`MIN_PRUNE_AGE`], such as `1m` meant as a month.
/// Transactions that were active minutes ago are mostly still running, so
/// such a prune deletes logs that Workers are still writing, as a time in
/// the future does. An exact time is taken as given.
fn check_age_is_an_hour(before: &TimestampArgument) -> Result<(), Failure> {
    match before.age() {
        Some(age) if age < MIN_PRUNE_AGE => Err(Failure::Usage(format!(
            "invalid value '{}' for '{}': an age under 1 hour would delete the logs of \
             transactions that Workers are still writing (m means minutes; for months, give \
             days, such as 90d); give at least 1h, or an exact time",
            before.text(),
            super::usage_error::option_name("before"),
        ))),
        _ => Ok(()),
    }
}

/// Rejects a `--before` later than the current time, such as one with a
/// mistyped year. The last entry of nearly every transaction is before such
/// a time, so prune would delete nearly every log, including those that
/// Workers are still writing. `--dry-run` rejects it too, so that a dry run
/// shows what the same command without it does.
fn check_cutoff_is_past(
    before: &TimestampArgument,
    instant: DateTime<Utc>,
    zone: Tz,
) -> Result<(), Failure> {
    let now = Utc::now();
    if instant <= now {
        return Ok(());
    }
    Err(Failure::Usage(format!(
        "invalid value '{}' for '{}': it means {}, which is later than the current time {}, \
         so prune would delete nearly every log, including those that Workers are still \
         writing; give a time in the past, and run the command with --dry-run first to see \
         what it would delete (a transaction stamped in the future is deleted by its id with \
         `translog log delete ID`)",
        before.text(),
        super::usage_error::option_name("before"),
        instant
            .with_timezone(&zone)
            .to_rfc3339_opts(SecondsFormat::AutoSi, true),
        now.with_timezone(&zone)
            .to_rfc3339_opts(SecondsFormat::Secs, true)
    )))
}

/// Counts what `prune` would delete before `instant`. It only reads, so the
/// database must exist.
fn count_pruned(
    db: &DatabasePath,
    instant: chrono::DateTime<chrono::Utc>,
) -> Result<Pruned, String> {
    read_database(db, Schema::Current, |connection| {
        maintenance::count_prunable(connection, instant)
    })
}

/// Formats a count with the singular or plural of its noun.
pub(super) fn count_of(count: u64, singular: &str, plural: &str) -> String {
    if count == 1 {
        format!("1 {singular}")
    } else {
        format!("{count} {plural}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::StorageError;

    #[test]
    fn prune_error_without_deletions_is_plain() {
        let failure = PruneError {
            deleted: Pruned {
                transactions: 0,
                entries: 0,
            },
            error: StorageError::ChangedWhileRead,
        };
        let message = describe_prune_error(Path::new("translog.db"), &failure);
        assert_eq!(message, StorageError::ChangedWhileRead.to_string());
    }
}
