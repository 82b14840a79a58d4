//! The token that `serve` writes to its database at its start, and that its
//! read check compares once a second. `translog backup` leaves it out of its
//! copy. The commands that run beside a server, and a restart, never make
//! the check fail.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{form, run_cli, Server};

/// How long a server is watched for a false alarm: long enough for a few
/// runs of its read check, which runs about once a second.
const WATCH_TIME: Duration = Duration::from_secs(4);

/// Returns the number of rows of `server_instance` in the database at `db`.
fn token_rows(db: &Path) -> i64 {
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY;
    let connection = rusqlite::Connection::open_with_flags(db, flags).expect("open the database");
    connection
        .query_row("SELECT count(*) FROM server_instance", [], |row| row.get(0))
        .expect("count the rows of server_instance")
}

/// Writes a backup of the database of `server` to `backup.db` beside it and
/// returns its path.
fn backup_of(server: &Server) -> std::path::PathBuf {
    let backup = server.dir().join("backup.db");
    let output = run_cli(&server.db, &["backup", &backup.display().to_string()], None);
    assert!(output.status.success(), "{output:?}");
    backup
}

#[test]
fn running_server_has_token() {
    let server = Server::start();
    assert_eq!(token_rows(&server.db), 1);
}

#[test]
fn backup_has_no_token() {
    let server = Server::start();
    let backup = backup_of(&server);
    assert_eq!(token_rows(&backup), 0);
}

#[test]
fn backup_keeps_token_of_database() {
    let server = Server::start();
    backup_of(&server);
    assert_eq!(token_rows(&server.db), 1);
}

/// Posts an entry with a new id every 200 ms for [`WATCH_TIME`], and returns
/// the statuses that were not `200`.
fn statuses_other_than_200(server: &Server, prefix: &str) -> Vec<u16> {
    let body = form("2026-12-04T13:00:00Z", "WORKER_INIT", "SUCCESS");
    let deadline = Instant::now() + WATCH_TIME;
    let mut others = Vec::new();
    let mut number = 0;
    while Instant::now() < deadline {
        number += 1;
        let status = server
            .post_entry(&format!("{prefix}-{number}"), &body)
            .status;
        if status != 200 {
            others.push(status);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    others
}

/// Runs `translog user add`, `backup`, `prune --dry-run` and `log list` on
/// the database of `server` while it runs, after a few entries.
fn run_commands_beside(server: &Server) {
    let body = form("2026-12-04T13:00:00Z", "WORKER_INIT", "SUCCESS");
    for number in 0..5 {
        assert_eq!(
            server.post_entry(&format!("tx-{number}"), &body).status,
            200
        );
    }
    server.add_user("worker", "worker");
    backup_of(server);
    let commands: [&[&str]; 2] = [
        &["prune", "--before", "2026-12-01T00:00:00Z", "--dry-run"],
        &["log", "list"],
    ];
    for args in commands {
        let output = server.cli(args, None);
        assert!(output.status.success(), "{args:?}: {output:?}");
    }
}

#[test]
fn commands_beside_server_keep_writes_200() {
    let server = Server::start();
    run_commands_beside(&server);
    let others = statuses_other_than_200(&server, "tx-after");
    assert_eq!(others, Vec::<u16>::new(), "{}", server.log());
}

#[test]
fn commands_beside_server_keep_health_200() {
    let server = Server::start();
    run_commands_beside(&server);
    statuses_other_than_200(&server, "tx-after");
    assert_eq!(server.get("/healthz", None).status, 200);
}

/// Starts a server, runs the commands of [`run_commands_beside`], stops it
/// and starts a new server on the same database.
fn restarted_server() -> Server {
    let server = Server::start();
    run_commands_beside(&server);
    let (status, dir) = server.stop();
    assert!(status.success(), "{status:?}");
    Server::start_in(dir, &[])
}

#[test]
fn restarted_server_keeps_writes_200() {
    let server = restarted_server();
    let others = statuses_other_than_200(&server, "tx-restarted");
    assert_eq!(others, Vec::<u16>::new(), "{}", server.log());
}

#[test]
fn restarted_server_keeps_health_200() {
    let server = restarted_server();
    statuses_other_than_200(&server, "tx-restarted");
    assert_eq!(server.get("/healthz", None).status, 200);
}

/// Returns the token stored in the database at `db`.
fn token(db: &Path) -> Vec<u8> {
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY;
    let connection = rusqlite::Connection::open_with_flags(db, flags).expect("open the database");
    connection
        .query_row("SELECT token FROM server_instance", [], |row| row.get(0))
        .expect("read the token")
}

#[test]
fn restart_writes_new_token() {
    let server = Server::start();
    let first = token(&server.db);
    let (_, dir) = server.stop();
    let server = Server::start_in(dir, &[]);
    assert_ne!(token(&server.db), first);
}

/// Restarts the server of a new database while another connection holds
/// the write lock (`BEGIN IMMEDIATE`), or a read transaction when `write` is
/// false, for 3 s from before the start. Returns the server and how long it
/// took to start.
fn restart_beside_open_transaction(write: bool) -> (Server, Duration) {
    let (_, dir) = Server::start().stop();
    let db = dir.path().join("translog.db");
    let holder = rusqlite::Connection::open(&db).expect("open the database");
    if write {
        holder
            .execute_batch("BEGIN IMMEDIATE")
            .expect("take the write lock");
    } else {
        holder
            .execute_batch("BEGIN; SELECT count(*) FROM entries;")
            .expect("start a read transaction");
    }
    let release = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(3));
        holder
            .execute_batch("ROLLBACK")
            .expect("end the transaction");
    });
    let started = Instant::now();
    let server = Server::start_in(dir, &[]);
    let took = started.elapsed();
    release.join().expect("release thread");
    (server, took)
}

#[test]
fn write_lock_delays_start_briefly() {
    let (_server, took) = restart_beside_open_transaction(true);
    assert!(took < Duration::from_millis(2900), "{took:?}");
}

#[test]
fn write_lock_at_start_is_logged() {
    let (server, _) = restart_beside_open_transaction(true);
    assert!(
        server.log().contains("cannot write the server token"),
        "{}",
        server.log()
    );
}

#[test]
fn server_without_token_stores_entries() {
    let (server, _) = restart_beside_open_transaction(true);
    let body = form("2026-12-04T13:00:00Z", "WORKER_INIT", "SUCCESS");
    assert_eq!(server.post_entry("tx-1", &body).status, 200);
}

#[test]
fn reader_delays_start_briefly() {
    let (_server, took) = restart_beside_open_transaction(false);
    assert!(took < Duration::from_millis(2900), "{took:?}");
}
