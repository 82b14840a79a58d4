//! `translog prune` stopped by a signal partway: it keeps what it deleted,
//! prints how much that was, and ends as the signal does.

mod common;

use std::os::unix::process::ExitStatusExt as _;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use common::{clean_env, fill_database, skip, wait_while_running, wait_with_timeout, BIN};
use rustix::process::{Pid, Signal};
use translog::service::is_signal_ignored;

/// Transactions of one entry each, 40 chunks of the prune. A debug build
/// pruned them in about 340 ms on a 2-core VM, measured once, and the
/// signal is sent within about a millisecond of the first chunk's commit.
const TRANSACTIONS: usize = 20_000;

/// How long the test waits for the first deletion, and then for the exit.
const TIMEOUT: Duration = Duration::from_secs(20);

/// Counts the rows of `table` in the database at `db`.
fn count_rows(db: &Path, table: &str) -> i64 {
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY;
    let connection = rusqlite::Connection::open_with_flags(db, flags).expect("open the database");
    connection
        .query_row(&format!("SELECT count(*) FROM {table}"), [], |row| {
            row.get(0)
        })
        .expect("count the rows")
}

/// Starts `translog prune --before 2026-01-01` of `db`, with its standard
/// error written to the file `stderr_path`.
fn start_prune(db: &Path, stderr_path: &Path) -> Child {
    let stderr_file = std::fs::File::create(stderr_path).expect("create the stderr file");
    let mut command = Command::new(BIN);
    command
        .arg("--db")
        .arg(db)
        .args(["prune", "--before", "2026-01-01"]);
    clean_env(&mut command);
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr_file)
        .spawn()
        .expect("start translog prune")
}

/// The outcome of a prune that got a signal.
struct SignalledPrune {
    status: ExitStatus,
    stderr: String,
    /// The transactions that are still stored after the exit.
    transactions_left: i64,
}

/// Starts `translog prune` of every transaction of a database of
/// [`TRANSACTIONS`], sends it `signal` once the first chunk is deleted, and
/// waits for it to exit.
fn signalled_prune(signal: Signal) -> SignalledPrune {
    let dir = tempfile::tempdir().expect("temporary directory");
    let db = dir.path().join("translog.db");
    fill_database(&db, TRANSACTIONS, 1, "filled");
    let total = i64::try_from(TRANSACTIONS).expect("a count that fits i64");
    let stderr_path = dir.path().join("stderr.txt");
    let mut child = start_prune(&db, &stderr_path);

    wait_while_running(&mut child, TIMEOUT, "deletion", || {
        count_rows(&db, "transactions") < total
    });
    rustix::process::kill_process(Pid::from_child(&child), signal).expect("send the signal");
    let Some(status) = wait_with_timeout(&mut child, TIMEOUT) else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("translog prune did not exit within {TIMEOUT:?} after the signal");
    };
    SignalledPrune {
        status,
        stderr: std::fs::read_to_string(&stderr_path).expect("read the stderr file"),
        transactions_left: count_rows(&db, "transactions"),
    }
}

#[test]
fn sigterm_ends_prune_as_signal() {
    let run = signalled_prune(Signal::TERM);
    assert_eq!(
        run.status.signal(),
        Some(Signal::TERM.as_raw()),
        "{}",
        run.stderr
    );
}

#[test]
fn sigterm_stops_prune_partway() {
    let run = signalled_prune(Signal::TERM);
    assert!(run.transactions_left > 0, "{}", run.stderr);
}

#[test]
fn sigterm_prune_reports_deleted_count() {
    let run = signalled_prune(Signal::TERM);
    let total = i64::try_from(TRANSACTIONS).expect("a count that fits i64");
    let deleted = total - run.transactions_left;
    let expected = format!(
        "translog: error: prune was interrupted by SIGTERM after it removed {deleted} \
         transactions ({deleted} entries); any other transactions before \
         2026-01-01T00:00:00Z are still stored, and running the same command again removes \
         them\n"
    );
    assert_eq!(run.stderr, expected);
}

#[test]
fn sigint_prune_names_signal() {
    // A child inherits an ignored signal, as the jobs that a
    // non-interactive shell starts with `&` inherit SIGINT, and translog
    // leaves it ignored.
    if is_signal_ignored(Signal::INT.as_raw()) {
        skip("SIGINT is ignored in the test process");
        return;
    }
    let run = signalled_prune(Signal::INT);
    assert!(
        run.stderr
            .contains("prune was interrupted by SIGINT after it removed"),
        "{}",
        run.stderr
    );
}

/// Starts `translog prune` of a database of 400 transactions while another
/// connection holds the write lock, sends it SIGTERM once it prints that it
/// waits for the lock, releases the lock, and returns the outcome.
fn prune_signalled_while_locked() -> SignalledPrune {
    let dir = tempfile::tempdir().expect("temporary directory");
    let db = dir.path().join("translog.db");
    fill_database(&db, 400, 1, "filled");
    let blocker = rusqlite::Connection::open(&db).expect("open the database");
    blocker
        .execute_batch("BEGIN IMMEDIATE")
        .expect("take the write lock");
    let stderr_path = dir.path().join("stderr.txt");
    let mut child = start_prune(&db, &stderr_path);

    wait_while_running(&mut child, TIMEOUT, "notice of the lock wait", || {
        std::fs::read_to_string(&stderr_path).is_ok_and(|text| text.contains("waiting for"))
    });
    rustix::process::kill_process(Pid::from_child(&child), Signal::TERM).expect("send SIGTERM");
    // Released at once, so that a prune that went on waiting after the
    // signal would get the lock and delete.
    blocker.execute_batch("ROLLBACK").expect("release the lock");
    let Some(status) = wait_with_timeout(&mut child, Duration::from_secs(5)) else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("translog prune did not exit within 5 s after SIGTERM");
    };
    let stderr = std::fs::read_to_string(&stderr_path).expect("read the stderr file");
    SignalledPrune {
        status,
        stderr,
        transactions_left: count_rows(&db, "transactions"),
    }
}

#[test]
fn sigterm_during_lock_wait_ends_prune() {
    let run = prune_signalled_while_locked();
    assert_eq!(
        run.status.signal(),
        Some(Signal::TERM.as_raw()),
        "{}",
        run.stderr
    );
}

#[test]
fn sigterm_during_lock_wait_deletes_nothing() {
    let run = prune_signalled_while_locked();
    assert_eq!(run.transactions_left, 400, "{}", run.stderr);
}

#[test]
fn sigterm_during_lock_wait_reports_nothing_removed() {
    let run = prune_signalled_while_locked();
    assert!(
        run.stderr.contains(
            "prune was interrupted by SIGTERM after it removed 0 transactions (0 entries); any \
             other transactions before 2026-01-01T00:00:00Z are still stored"
        ),
        "{}",
        run.stderr
    );
}
