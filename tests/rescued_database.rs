//! A database deleted under a running server leaves a rescued copy, and
//! possibly a `-wal` file with content, beside its path. No command creates
//! a new database there while they are: each exits 1 with one line that
//! names them and the two ways on.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use common::{credentials_path, form, run_cli, run_command, serve_command, Server};

/// The name of a rescued copy, as the server writes it.
const RESCUED_NAME: &str = "translog.db.rescued-20261205T034100Z";

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Starts a server, stores an entry, deletes the database, waits for the
/// rescued copy and stops the server. Returns the directory, the database
/// path and the copy's path.
fn database_deleted_under_server() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let server = Server::start();
    let reply = server.post_entry(
        "tx-1",
        &form("2026-12-04T13:00:00Z", "WORKER_INIT", "SUCCESS"),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    std::fs::remove_file(&server.db).expect("remove the database");
    assert!(
        server.wait_for_log("are copied to", Duration::from_secs(10)),
        "{}",
        server.log()
    );
    let db = server.db.clone();
    let (status, dir) = server.stop();
    assert!(status.success(), "{status}");
    let copy = std::fs::read_dir(dir.path())
        .expect("read the directory")
        .map(|entry| entry.expect("directory entry").path())
        .find(|path| path.to_string_lossy().contains(".rescued-"))
        .expect("a rescued copy");
    (dir, db, copy)
}

fn serve(db: &Path) -> Output {
    let mut command = serve_command(db);
    command.args(["--listen", "127.0.0.1:0"]);
    run_command(command, None)
}

/// Creates `name` with content in a new directory, and returns the
/// directory and the path of the missing database beside it.
fn directory_with(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join(name), b"content").expect("write the file");
    let db = dir.path().join("translog.db");
    (dir, db)
}

#[test]
fn restart_after_deletion_exits_1() {
    let (_dir, db, _copy) = database_deleted_under_server();
    assert_eq!(serve(&db).status.code(), Some(1));
}

#[test]
fn restart_after_deletion_names_copy() {
    let (_dir, db, copy) = database_deleted_under_server();
    let output = serve(&db);
    assert!(
        stderr(&output).contains(&copy.display().to_string()),
        "{}",
        stderr(&output)
    );
}

#[test]
fn restart_after_deletion_creates_nothing() {
    let (_dir, db, _copy) = database_deleted_under_server();
    serve(&db);
    assert!(!db.exists());
}

#[test]
fn restart_after_deletion_keeps_credentials() {
    let (_dir, db, _copy) = database_deleted_under_server();
    let before = std::fs::read(credentials_path(&db)).expect("read the credentials");
    serve(&db);
    let after = std::fs::read(credentials_path(&db)).expect("read the credentials");
    assert!(after == before, "the credentials file changed");
}

#[test]
fn rescued_copy_error_is_one_line() {
    let (_dir, db) = directory_with(RESCUED_NAME);
    let output = serve(&db);
    assert_eq!(stderr(&output).lines().count(), 1, "{}", stderr(&output));
}

#[test]
fn rescued_copy_error_names_both_ways() {
    let (_dir, db) = directory_with(RESCUED_NAME);
    let text = stderr(&serve(&db));
    assert!(text.contains("put the rescued copy in place"), "{text}");
    assert!(text.contains("to start a new database, move it"), "{text}");
}

#[test]
fn rescued_copy_blocks_each_command() {
    let (_dir, db) = directory_with(RESCUED_NAME);
    let commands: [&[&str]; 3] = [
        &["user", "add", "worker1", "--role", "worker"],
        &["user", "list"],
        &["log", "list"],
    ];
    for args in commands {
        let output = run_cli(&db, args, None);
        assert_eq!(
            output.status.code(),
            Some(1),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(
            stderr(&output).contains(RESCUED_NAME),
            "{args:?}: {}",
            stderr(&output)
        );
    }
}

#[test]
fn wal_with_content_blocks_creation() {
    let (dir, db) = directory_with("translog.db-wal");
    let output = run_cli(&db, &["user", "list"], None);
    let expected = dir.path().join("translog.db-wal").display().to_string();
    assert!(stderr(&output).contains(&expected), "{}", stderr(&output));
}

#[test]
fn moved_away_copy_lets_serve_start() {
    let (dir, db) = directory_with(RESCUED_NAME);
    let aside = tempfile::tempdir().expect("temp dir");
    std::fs::rename(
        dir.path().join(RESCUED_NAME),
        aside.path().join(RESCUED_NAME),
    )
    .expect("move the copy away");
    let server = Server::start_in(dir, &[]);
    assert!(server.db == db);
}

#[test]
fn command_beside_moved_database_is_rejected() {
    let server = Server::start();
    std::fs::rename(&server.db, server.dir().join("aside.db")).expect("move the database");
    let output = server.cli(&["user", "add", "worker1", "--role", "worker"], None);
    assert!(
        stderr(&output).contains("another translog server is using"),
        "{}",
        stderr(&output)
    );
    assert!(!server.db.exists());
}
