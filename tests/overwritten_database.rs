//! A backup copied over the database file of a running server, in place
//! (`cp backup.db translog.db`, which keeps the inode). The server finds the
//! file unreadable or without its token within seconds, logs an error that
//! names the way out, and rejects every later write with `503`. It does so
//! whether or not SQLite has copied its log into the database file since
//! the backup. It moves its `-wal` file, the log of the old content, aside
//! at once, so that commands read the copied file as it is, and tell the
//! operator to stop the server first.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{form, run_cli, wait_until, Reply, Server};

/// Returns the message of each entry, long enough that a few hundred entries
/// pass the 1000 pages at which SQLite copies the log into the database file.
fn long_message() -> String {
    "x".repeat(900)
}

fn post(server: &Server, id: &str) -> u16 {
    let body = format!(
        "{}&message={}",
        form("2026-12-04T13:00:00Z", "WORKER_INIT", "FAIL"),
        long_message()
    );
    server.post_entry(id, &body).status
}

/// Starts a server, stores entries, writes a backup, stores more entries
/// until SQLite has copied its log into the database file, and writes the
/// backup over the database file in place. Returns the server.
fn server_with_backup_copied_over() -> Server {
    let server = Server::start();
    for number in 0..50 {
        assert_eq!(post(&server, &format!("tx-before-{number}")), 200);
    }
    let backup = server.dir().join("backup.db");
    let output = run_cli(&server.db, &["backup", &backup.display().to_string()], None);
    assert!(output.status.success(), "{output:?}");
    for number in 0..300 {
        assert_eq!(post(&server, &format!("tx-after-{number}")), 200);
    }
    // A database file of one page means that every page is in the log.
    let size = std::fs::metadata(&server.db).expect("database size").len();
    assert!(size > 4096, "no checkpoint yet: {size} bytes");
    let copy = std::fs::read(&backup).expect("read the backup");
    // std::fs::write truncates and writes the existing file, as cp does.
    std::fs::write(&server.db, copy).expect("write the backup over the database");
    server
}

/// Posts entries with new ids, one every 100 ms, until one gets `503`.
fn post_until_503(server: &Server) -> bool {
    let mut number = 0;
    wait_until(|| {
        number += 1;
        post(server, &format!("tx-copied-{number}")) == 503
    })
}

#[test]
fn copied_backup_gets_503() {
    let server = server_with_backup_copied_over();
    assert!(post_until_503(&server), "no 503:\n{}", server.log());
}

#[test]
fn copied_backup_rejects_later_writes() {
    let server = server_with_backup_copied_over();
    assert!(post_until_503(&server), "no 503:\n{}", server.log());
    for number in 0..5 {
        assert_eq!(post(&server, &format!("tx-later-{number}")), 503);
    }
}

#[test]
fn copied_backup_logs_error() {
    let server = server_with_backup_copied_over();
    post_until_503(&server);
    let logged = server.wait_for_log(
        "ERROR translog::storage::read_check] ",
        Duration::from_secs(5),
    );
    assert!(logged, "{}", server.log());
}

#[test]
fn copied_backup_error_names_restore() {
    let server = server_with_backup_copied_over();
    post_until_503(&server);
    let expected = "so another program probably changed it while the server ran";
    assert!(
        server.wait_for_log(expected, Duration::from_secs(5)),
        "{}",
        server.log()
    );
    assert!(server.log().contains("under \"Restoring a backup\""));
}

#[test]
fn copied_backup_error_is_logged_once() {
    let server = server_with_backup_copied_over();
    post_until_503(&server);
    for number in 0..5 {
        post(&server, &format!("tx-later-{number}"));
    }
    let lines = server
        .log()
        .lines()
        .filter(|line| line.contains("ERROR translog::storage::read_check]"))
        .count();
    assert_eq!(lines, 1, "{}", server.log());
}

#[test]
fn copied_backup_read_is_not_500() {
    let server = server_with_backup_copied_over();
    post_until_503(&server);
    let reply = server.get("/worker/log", Some(server.admin()));
    assert_ne!(reply.status, 500, "{}", reply.body);
}

#[test]
fn copied_backup_fails_health() {
    let server = server_with_backup_copied_over();
    post_until_503(&server);
    assert_eq!(server.get("/healthz", None).status, 503);
}

// Backups copied over after few entries, as at low traffic, and after a few
// hundred short ones.

/// How long the server may take to find a copied backup. It checks about
/// once a second.
const DETECTION_TIMEOUT: Duration = Duration::from_secs(5);

/// Starts a server, stores `before` entries with short messages, writes a
/// backup with `translog backup`, and stores `after` more entries. Returns
/// the server and the path of the backup.
fn server_with_backup(before: usize, after: usize) -> (Server, PathBuf) {
    let server = Server::start();
    let body = form("2026-12-04T13:00:00Z", "WORKER_INIT", "SUCCESS");
    for number in 0..before {
        let status = server
            .post_entry(&format!("tx-before-{number}"), &body)
            .status;
        assert_eq!(status, 200);
    }
    let backup = server.dir().join("backup.db");
    let output = run_cli(&server.db, &["backup", &backup.display().to_string()], None);
    assert!(output.status.success(), "{output:?}");
    for number in 0..after {
        let status = server
            .post_entry(&format!("tx-after-{number}"), &body)
            .status;
        assert_eq!(status, 200);
    }
    (server, backup)
}

/// Writes the file at `backup` over the database file of `server` in place,
/// as `cp` does.
fn write_over_database(server: &Server, backup: &Path) {
    let copy = std::fs::read(backup).expect("read the backup");
    std::fs::write(&server.db, copy).expect("write the backup over the database");
}

/// Starts a server, stores `before` entries, writes a backup, stores `after`
/// more entries, and writes the backup over the database file in place.
fn server_with_backup_copied_after(before: usize, after: usize) -> Server {
    let (server, backup) = server_with_backup(before, after);
    write_over_database(&server, &backup);
    server
}

/// Posts entries with new ids, one every 100 ms, and returns the first reply
/// with `503`, or `None` when none came within [`DETECTION_TIMEOUT`].
fn first_503(server: &Server) -> Option<Reply> {
    let body = form("2026-12-04T13:00:00Z", "WORKER_INIT", "SUCCESS");
    let deadline = Instant::now() + DETECTION_TIMEOUT;
    let mut number = 0;
    while Instant::now() < deadline {
        number += 1;
        let reply = server.post_entry(&format!("tx-copied-{number}"), &body);
        if reply.status == 503 {
            return Some(reply);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    None
}

/// Returns whether `message` is the `503` message of a server that stores
/// nothing more until it is restarted.
fn is_restart_message(message: Option<&str>) -> bool {
    message.is_some_and(|message| {
        message.starts_with("The server stores nothing until its operator restarts it")
    })
}

#[test]
fn busy_copied_backup_gets_503() {
    let server = server_with_backup_copied_after(200, 200);
    assert!(first_503(&server).is_some(), "no 503:\n{}", server.log());
}

#[test]
fn busy_copied_backup_names_restart() {
    let server = server_with_backup_copied_after(200, 200);
    let message = first_503(&server).map(|reply| reply.message());
    assert!(is_restart_message(message.as_deref()), "{message:?}");
}

#[test]
fn busy_copied_backup_fails_health() {
    let server = server_with_backup_copied_after(200, 200);
    first_503(&server);
    assert_eq!(server.get("/healthz", None).status, 503);
}

/// Starts a server, stores 200 entries, writes a backup and stores 200 more.
/// Then copies the log into the database file with a checkpoint, as SQLite
/// does by itself every 1000 pages of log, and writes the backup over the
/// database file in place. Returns the server.
fn server_with_backup_copied_after_checkpoint() -> Server {
    let (server, backup) = server_with_backup(200, 200);
    let connection = rusqlite::Connection::open(&server.db).expect("open the database");
    let busy: i64 = connection
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| row.get(0))
        .expect("checkpoint");
    assert_eq!(busy, 0, "the checkpoint stopped early");
    drop(connection);
    write_over_database(&server, &backup);
    server
}

#[test]
fn copied_backup_after_checkpoint_gets_503() {
    let server = server_with_backup_copied_after_checkpoint();
    assert!(first_503(&server).is_some(), "no 503:\n{}", server.log());
}

#[test]
fn quiet_copied_backup_gets_503() {
    let server = server_with_backup_copied_after(3, 3);
    assert!(first_503(&server).is_some(), "no 503:\n{}", server.log());
}

#[test]
fn quiet_copied_backup_names_restart() {
    let server = server_with_backup_copied_after(3, 3);
    let message = first_503(&server).map(|reply| reply.message());
    assert!(is_restart_message(message.as_deref()), "{message:?}");
}

#[test]
fn quiet_copied_backup_503_names_restore() {
    let server = server_with_backup_copied_after(3, 3);
    let reply = first_503(&server).expect("a 503 after the copy");
    let message = reply.message();
    assert!(
        message.contains("under \"Restoring a backup\""),
        "{message}"
    );
}

#[test]
fn quiet_copied_backup_503_omits_moving_steps() {
    let server = server_with_backup_copied_after(3, 3);
    let reply = first_503(&server).expect("a 503 after the copy");
    let message = reply.message();
    assert!(
        !message.contains("Deleting or moving the database's files"),
        "{message}"
    );
}

#[test]
fn quiet_copied_backup_batch_error_names_restore() {
    let server = server_with_backup_copied_after(3, 3);
    first_503(&server);
    let logged = server.wait_for_log(
        "stores nothing more until it is restarted; the steps are in docs/operators.md under \
         \"Restoring a backup\"",
        Duration::from_secs(5),
    );
    assert!(logged, "{}", server.log());
}

#[test]
fn quiet_copied_backup_fails_health() {
    let server = server_with_backup_copied_after(3, 3);
    first_503(&server);
    assert_eq!(server.get("/healthz", None).status, 503);
}

#[test]
fn quiet_copied_backup_logs_missing_token() {
    let server = server_with_backup_copied_after(3, 3);
    first_503(&server);
    let logged = server.wait_for_log(
        "(the row of server_instance is missing)",
        Duration::from_secs(5),
    );
    assert!(logged, "{}", server.log());
}

// The stop of a server whose database file was overwritten.

/// Writes a backup over the database of a running server, waits for the
/// `503`, reads a log so that a reading connection is open too, and stops
/// the server. Returns the backup's bytes and the stopped server's directory.
fn stop_after_copy() -> (Vec<u8>, tempfile::TempDir) {
    let (server, backup) = server_with_backup(20, 20);
    write_over_database(&server, &backup);
    assert!(first_503(&server).is_some(), "no 503:\n{}", server.log());
    let reply = server.get("/worker/log", Some(server.admin()));
    assert_eq!(reply.status, 200, "{}", reply.body);
    let copy = std::fs::read(&backup).expect("read the backup");
    let (status, dir) = server.stop();
    assert!(status.success(), "server exited with {status}");
    (copy, dir)
}

#[test]
fn stop_leaves_copied_file_unchanged() {
    let (copy, dir) = stop_after_copy();
    let file = std::fs::read(dir.path().join("translog.db")).expect("read the database");
    assert!(file == copy, "the stop wrote into the copied file");
}

/// Returns the files in `dir` whose names start with `translog.db-wal.overwritten-`.
fn overwritten_logs(dir: &Path) -> Vec<String> {
    let entries = std::fs::read_dir(dir).expect("list the directory");
    entries
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("translog.db-wal.overwritten-"))
        .collect()
}

#[test]
fn stop_moves_wal_aside() {
    let (_, dir) = stop_after_copy();
    assert_eq!(overwritten_logs(dir.path()).len(), 1);
}

#[test]
fn stop_leaves_no_wal_at_path() {
    let (_, dir) = stop_after_copy();
    assert!(!dir.path().join("translog.db-wal").exists());
}

/// Writes a backup over the database of a running server, waits for the
/// `503` and sends SIGTERM. Returns the server, whose log is still read.
fn terminate_after_copy() -> Server {
    let (server, backup) = server_with_backup(20, 20);
    write_over_database(&server, &backup);
    assert!(first_503(&server).is_some(), "no 503:\n{}", server.log());
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &server.pid().to_string()])
        .status()
        .expect("run kill");
    assert!(sent.success());
    server
}

#[test]
fn stop_names_moved_wal() {
    let server = terminate_after_copy();
    let logged = server.wait_for_log(
        "because it is the log of the database file that was overwritten",
        Duration::from_secs(10),
    );
    assert!(logged, "{}", server.log());
}

#[test]
fn stop_does_not_log_database_closed() {
    let server = terminate_after_copy();
    let stopped = server.wait_for_log("translog stopped", Duration::from_secs(10));
    assert!(stopped, "{}", server.log());
    assert!(
        !server.log().contains("database closed"),
        "{}",
        server.log()
    );
}

#[test]
fn stop_says_database_left_open() {
    let server = terminate_after_copy();
    let logged = server.wait_for_log(
        "WARN  translog::service] translog stopped without closing the database",
        Duration::from_secs(10),
    );
    assert!(logged, "{}", server.log());
}

/// Runs `serve` on the database that [`stop_after_copy`] left, and returns
/// its output. It exits at once while the moved log is beside the file.
fn restart_after_copy() -> std::process::Output {
    let (_, dir) = stop_after_copy();
    let mut command = common::serve_command(&dir.path().join("translog.db"));
    command.args(["--listen", "127.0.0.1:0"]);
    common::run_command(command, None)
}

#[test]
fn restart_after_copy_exits_1() {
    let output = restart_after_copy();
    assert_eq!(output.status.code(), Some(1), "{output:?}");
}

#[test]
fn restart_after_copy_names_moved_log() {
    let output = restart_after_copy();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("is the log of the database file that was overwritten"),
        "{stderr}"
    );
}

#[test]
fn restart_without_moved_log_keeps_copied_entries() {
    let (_, dir) = stop_after_copy();
    let db = dir.path().join("translog.db");
    for name in overwritten_logs(dir.path()) {
        std::fs::remove_file(dir.path().join(name)).expect("remove the moved log");
    }
    let listed = common::listed_transactions(&db);
    assert_eq!(listed.len(), 20, "{listed:?}");
}

// Commands run while the server that found its file overwritten still runs.

/// Writes a backup over the database of a running server and waits for the
/// `503`. Returns the server, which still runs.
fn server_after_copy() -> Server {
    let (server, backup) = server_with_backup(20, 20);
    write_over_database(&server, &backup);
    assert!(first_503(&server).is_some(), "no 503:\n{}", server.log());
    server
}

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn copied_backup_wal_moved_while_running() {
    let server = server_after_copy();
    let mut wal = server.db.clone().into_os_string();
    wal.push("-wal");
    assert!(!Path::new(&wal).exists());
}

#[test]
fn copied_backup_names_moved_wal() {
    let server = server_after_copy();
    assert_eq!(overwritten_logs(server.dir()).len(), 1);
}

#[test]
fn user_list_during_copy_succeeds() {
    let server = server_after_copy();
    let output = server.cli(&["user", "list"], None);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
}

#[test]
fn log_list_during_copy_lists_copy() {
    let server = server_after_copy();
    let listed = common::listed_transactions(&server.db);
    assert_eq!(listed.len(), 20, "{listed:?}");
}

#[test]
fn read_during_copy_says_to_stop_server() {
    let server = server_after_copy();
    let output = server.cli(&["user", "list"], None);
    let text = stderr(&output);
    assert!(
        text.contains("the translog server that has") && text.contains("stop it, then"),
        "{text}"
    );
}

#[test]
fn read_during_copy_omits_damage() {
    let server = server_after_copy();
    let output = server.cli(&["user", "list"], None);
    assert!(!stderr(&output).contains("damaged"), "{}", stderr(&output));
}

#[test]
fn write_during_copy_exits_1() {
    let server = server_after_copy();
    let output = server.cli(&["user", "add", "worker1", "--role", "worker"], None);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
}

#[test]
fn write_during_copy_says_to_stop_server() {
    let server = server_after_copy();
    let output = server.cli(&["user", "add", "worker1", "--role", "worker"], None);
    assert!(
        stderr(&output).contains("stop that server first"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn copy_error_names_both_ways() {
    let server = server_after_copy();
    let logged = server.wait_for_log("Stop translog; then, to go on with", Duration::from_secs(5));
    assert!(logged, "{}", server.log());
}
