//! A backup copied over the database file of a running server, in place
//! (`cp backup.db translog.db`, which keeps the inode): the server finds the
//! file unreadable within seconds, logs an error that names the way out, and
//! rejects every later write with `503`.

mod common;

use std::time::Duration;

use common::{form, run_cli, wait_until, Server};

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
