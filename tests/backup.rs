//! `translog backup` of a database of about 30 MB, whose copy takes long
//! enough to be killed midway: a backup killed during its copy leaves no
//! file under its destination's name, and one that completes contains every
//! entry.

mod common;

use std::os::unix::process::ExitStatusExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{assert_success, clean_env, file_names, fill_database, run_cli, BIN};
use tempfile::TempDir;

const TRANSACTIONS: usize = 12_000;
const ENTRIES_EACH: usize = 5;

/// How many backups [`killed_backup`] starts, at most, to kill one during
/// its copy.
const KILL_ATTEMPTS: u32 = 40;

/// Creates a database of [`TRANSACTIONS`] transactions of [`ENTRIES_EACH`]
/// entries with messages of 400 bytes, about 30 MB. A debug build copied it
/// in about 90 ms on a 2-core VM, once measured with `time`.
fn large_database() -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let db = dir.path().join("translog.db");
    fill_database(&db, TRANSACTIONS, ENTRIES_EACH, &"m".repeat(400));
    (dir, db)
}

/// Counts the entries of the database at `path`, or returns `None` when it
/// cannot be read.
fn count_entries(path: &Path) -> Option<usize> {
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY;
    let connection = rusqlite::Connection::open_with_flags(path, flags).ok()?;
    let count: i64 = connection
        .query_row("SELECT count(*) FROM entries", [], |row| row.get(0))
        .ok()?;
    usize::try_from(count).ok()
}

/// When a SIGKILL reached a backup.
enum Kill {
    /// Before it created a file for the copy.
    Early,
    /// While it copied.
    Midway,
    /// After the copy was complete.
    Late,
}

/// Starts `translog backup DESTINATION` of `db`, sends it SIGKILL after
/// `delay`, and returns when the kill reached it. A file named after the
/// destination shows that the copy had started. The destination containing
/// every entry shows that the copy was complete, even if the process had not
/// exited yet.
fn backup_killed_after(db: &Path, destination: &Path, delay: Duration) -> Kill {
    let mut command = Command::new(BIN);
    command.arg("--db").arg(db).arg("backup").arg(destination);
    clean_env(&mut command);
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start translog backup");

    std::thread::sleep(delay);
    child.kill().expect("send SIGKILL");
    let status = child.wait().expect("wait for translog backup");

    if status.signal().is_none() {
        assert!(status.success(), "backup failed: {status}");
        return Kill::Late;
    }

    let directory = destination.parent().expect("a directory");
    let name = destination
        .file_name()
        .expect("a file name")
        .to_string_lossy()
        .into_owned();
    if !file_names(directory)
        .iter()
        .any(|file| file.contains(&name))
    {
        return Kill::Early;
    }
    if count_entries(destination) == Some(TRANSACTIONS * ENTRIES_EACH) {
        return Kill::Late;
    }
    Kill::Midway
}

/// Kills backups of a large database after growing or shrinking delays until
/// one is killed during its copy. Returns the directory of the backups and
/// the destination of the one killed during its copy.
fn killed_backup() -> (TempDir, PathBuf) {
    let (_dir, db) = large_database();
    let backups = tempfile::tempdir().expect("temporary directory");
    let mut delay = Duration::from_millis(20);
    for attempt in 0..KILL_ATTEMPTS {
        let destination = backups.path().join(format!("copy-{attempt}.db"));
        match backup_killed_after(&db, &destination, delay) {
            Kill::Early => delay += Duration::from_millis(10),
            Kill::Late => delay /= 2,
            Kill::Midway => return (backups, destination),
        }
    }
    panic!("no SIGKILL of {KILL_ATTEMPTS} reached a backup during its copy");
}

#[test]
fn killed_backup_leaves_no_destination() {
    let (_backups, destination) = killed_backup();
    assert!(!destination.exists(), "{} exists", destination.display());
    let journal = PathBuf::from(format!("{}-journal", destination.display()));
    assert!(!journal.exists(), "{} exists", journal.display());
}

/// Runs a backup of a large database to completion, and returns the
/// directory of the backup and its path.
fn completed_backup() -> (TempDir, PathBuf) {
    let (_dir, db) = large_database();
    let backups = tempfile::tempdir().expect("temporary directory");
    let destination = backups.path().join("copy.db");
    let output = run_cli(
        &db,
        &["backup", destination.to_str().expect("UTF-8 path")],
        None,
    );
    assert_success(&output, "backup");
    (backups, destination)
}

#[test]
fn completed_backup_contains_every_entry() {
    let (_backups, destination) = completed_backup();
    assert_eq!(
        count_entries(&destination),
        Some(TRANSACTIONS * ENTRIES_EACH)
    );
}

#[test]
fn completed_backup_leaves_only_destination() {
    let (backups, _destination) = completed_backup();
    assert_eq!(file_names(backups.path()), ["copy.db"]);
}
