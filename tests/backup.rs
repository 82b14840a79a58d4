//! `translog backup` of a database of about 30 MB, whose copy takes long
//! enough to be killed midway: a backup killed during its copy leaves no
//! file under its destination's name, one that SIGTERM, SIGINT or SIGHUP
//! reaches during its copy removes its temporary file too, and one that
//! completes contains every entry.

mod common;

use std::os::unix::process::ExitStatusExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use common::{
    assert_success, clean_env, file_names, fill_database, run_cli, skip, wait_while_running, BIN,
};
use rustix::process::{Pid, Signal};
use tempfile::TempDir;
use translog::service::is_signal_ignored;

const TRANSACTIONS: usize = 12_000;
const ENTRIES_EACH: usize = 5;

/// The transactions of the database that [`signalled_backup`] copies, three
/// times [`TRANSACTIONS`], so that the signal arrives long before the copy
/// would be complete.
const SIGNALLED_TRANSACTIONS: usize = 3 * TRANSACTIONS;

/// How many backups [`killed_backup`] starts, at most, to kill one during
/// its copy.
const KILL_ATTEMPTS: u32 = 40;

/// How long [`signalled_backup`] waits for the temporary file to appear, and
/// then for the process to exit.
const SIGNAL_TIMEOUT: Duration = Duration::from_secs(10);

/// Creates a database of [`TRANSACTIONS`] transactions of [`ENTRIES_EACH`]
/// entries with messages of 400 bytes, about 30 MB. A debug build copied it
/// in about 90 ms on a 2-core VM, once measured with `time`.
fn large_database() -> (TempDir, PathBuf) {
    database_of(TRANSACTIONS)
}

/// Creates a database of `transactions` transactions of [`ENTRIES_EACH`]
/// entries with messages of 400 bytes, about 2.8 KB per transaction.
fn database_of(transactions: usize) -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let db = dir.path().join("translog.db");
    fill_database(&db, transactions, ENTRIES_EACH, &"m".repeat(400));
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

/// A backup that a signal reached during its copy.
struct SignalledBackup {
    /// The directory of the backup, where its temporary file was when the
    /// signal was sent.
    backups: TempDir,
    destination: PathBuf,
    status: ExitStatus,
    stderr: String,
}

/// Returns the names of the files in `directory` that start with `.`, as
/// the temporary file of a backup and its journal do.
fn hidden_files(directory: &Path) -> Vec<String> {
    file_names(directory)
        .into_iter()
        .filter(|name| name.starts_with('.'))
        .collect()
}

/// Waits for `child` to exit, and kills it after [`SIGNAL_TIMEOUT`].
fn wait_for_exit(child: &mut Child) -> ExitStatus {
    let deadline = Instant::now() + SIGNAL_TIMEOUT;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().expect("poll translog backup") {
            return status;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("translog backup did not exit within {SIGNAL_TIMEOUT:?} after the signal");
}

/// Starts `translog backup` of a database of [`SIGNALLED_TRANSACTIONS`]
/// transactions, about 100 MB, sends it `signal` as soon as its temporary
/// file exists, and waits for it to exit. A debug build copied that
/// database in about 330 ms on a 2-core VM, measured with `time`, and the
/// directory is looked at every millisecond, so the signal arrives during
/// the copy.
fn signalled_backup(signal: Signal) -> SignalledBackup {
    let (dir, db) = database_of(SIGNALLED_TRANSACTIONS);
    let backups = tempfile::tempdir().expect("temporary directory");
    let destination = backups.path().join("copy.db");
    let stderr_path = dir.path().join("stderr.txt");
    let stderr_file = std::fs::File::create(&stderr_path).expect("create the stderr file");
    let mut command = Command::new(BIN);
    command.arg("--db").arg(&db).arg("backup").arg(&destination);
    clean_env(&mut command);
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr_file)
        .spawn()
        .expect("start translog backup");

    wait_while_running(&mut child, SIGNAL_TIMEOUT, "temporary file", || {
        !hidden_files(backups.path()).is_empty()
    });
    rustix::process::kill_process(Pid::from_child(&child), signal).expect("send the signal");
    let status = wait_for_exit(&mut child);

    let stderr = std::fs::read_to_string(&stderr_path).expect("read the stderr file");
    SignalledBackup {
        backups,
        destination,
        status,
        stderr,
    }
}

/// Checks that `signal` during the copy ends the backup as that signal does
/// by default, and that the backup leaves no file and prints the reason on
/// stderr.
fn assert_signal_stops_backup(signal: Signal, name: &str) {
    // A child inherits an ignored signal, as the jobs that a
    // non-interactive shell starts with `&` inherit SIGINT, and translog
    // leaves it ignored.
    if is_signal_ignored(signal.as_raw()) {
        skip(&format!("{name} is ignored in the test process"));
        return;
    }
    let run = signalled_backup(signal);
    assert_ne!(
        run.status.code(),
        Some(0),
        "the backup completed before {name}"
    );
    assert_eq!(run.status.signal(), Some(signal.as_raw()), "{}", run.stderr);
    assert_eq!(hidden_files(run.backups.path()), Vec::<String>::new());
    assert!(
        !run.destination.exists(),
        "{} exists",
        run.destination.display()
    );
    let expected = format!(
        "translog: error: the backup was interrupted by {name}, so nothing was written to {}\n",
        run.destination.display()
    );
    assert_eq!(run.stderr, expected);
}

#[test]
fn sigterm_during_copy_removes_temporary_file() {
    assert_signal_stops_backup(Signal::TERM, "SIGTERM");
}

#[test]
fn sigint_during_copy_removes_temporary_file() {
    assert_signal_stops_backup(Signal::INT, "SIGINT");
}

#[test]
fn sighup_during_copy_removes_temporary_file() {
    assert_signal_stops_backup(Signal::HUP, "SIGHUP");
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
