//! Another application's SQLite file, one that sets `PRAGMA user_version`
//! to translog's schema version or one that sets `PRAGMA application_id`:
//! every command rejects it as another application's database, names what
//! it found, and leaves the file and its directory as they were.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::{file_names, run_cli, run_command, serve_command};

/// The commands run on the file, each of which must reject it.
const COMMANDS: [&[&str]; 6] = [
    &["user", "list"],
    &["user", "add", "worker1", "--role", "worker"],
    &["log", "list"],
    &["log", "show", "tx-1"],
    &["prune", "--before", "2026-01-01"],
    &["backup", "copy.db"],
];

/// A table of another application, in a file with translog's schema version.
const FOO_TABLE: &str = "CREATE TABLE foo (x); INSERT INTO foo VALUES (1); \
                         PRAGMA user_version = 2;";

/// A `users` table of another application, beside tables with the names of
/// translog's others.
const FOREIGN_USERS: &str = "CREATE TABLE entries (x); CREATE TABLE transactions (x); \
                             CREATE TABLE credentials_generation (x); \
                             CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT); \
                             INSERT INTO users (email) VALUES ('a@example.com'); \
                             PRAGMA user_version = 2;";

/// Another application's mark, with no table and no schema version. The
/// value is the ASCII of `MSHX`.
const APPLICATION_ID: &str = "PRAGMA application_id = 1297303640;";

/// Creates a database with `sql` in a new directory, closes it, and
/// returns the directory and the file's path.
fn foreign_database(sql: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("other.db");
    let connection = rusqlite::Connection::open(&db).expect("create the database");
    connection.execute_batch(sql).expect("create its tables");
    drop(connection);
    (dir, db)
}

/// Runs each of [`COMMANDS`] and `serve` on `db`, in its directory, and
/// returns each command with its output.
fn run_each(db: &Path) -> Vec<(String, Output)> {
    let dir = db.parent().expect("the file's directory");
    let mut outputs = Vec::new();
    for args in COMMANDS {
        let mut command = std::process::Command::new(common::BIN);
        command.arg("--db").arg(db).args(args).current_dir(dir);
        outputs.push((args.join(" "), run_command(command, None)));
    }
    let mut serve = serve_command(db);
    serve.args(["--listen", "127.0.0.1:0"]);
    outputs.push(("serve".to_string(), run_command(serve, None)));
    outputs
}

fn assert_each_rejected(sql: &str) {
    let (_dir, db) = foreign_database(sql);
    for (command, output) in run_each(&db) {
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{command}: {stderr}");
        assert!(
            stderr.contains("looks like another application's database"),
            "{command}: {stderr}"
        );
    }
}

fn assert_file_unchanged(sql: &str) {
    let (dir, db) = foreign_database(sql);
    let before = std::fs::read(&db).expect("read the file");
    for (command, _) in run_each(&db) {
        let after = std::fs::read(&db).expect("read the file");
        assert!(after == before, "{command} changed the file");
        assert_eq!(file_names(dir.path()), ["other.db"], "after {command}");
    }
}

#[test]
fn version_2_foo_table_is_rejected() {
    assert_each_rejected(FOO_TABLE);
}

#[test]
fn version_2_foo_table_is_unchanged() {
    assert_file_unchanged(FOO_TABLE);
}

#[test]
fn foreign_users_table_is_rejected() {
    assert_each_rejected(FOREIGN_USERS);
}

#[test]
fn foreign_users_table_is_unchanged() {
    assert_file_unchanged(FOREIGN_USERS);
}

#[test]
fn newer_version_without_tables_is_rejected() {
    let (_dir, db) = foreign_database("CREATE TABLE foo (x); PRAGMA user_version = 7;");
    let output = run_cli(&db, &["user", "list"], None);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("another application's database"),
        "{stderr}"
    );
}

#[test]
fn application_id_is_rejected() {
    assert_each_rejected(APPLICATION_ID);
}

#[test]
fn application_id_is_unchanged() {
    assert_file_unchanged(APPLICATION_ID);
}

#[test]
fn application_id_error_names_it() {
    let (_dir, db) = foreign_database(APPLICATION_ID);
    for (command, output) in run_each(&db) {
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("application_id 0x4d534858"),
            "{command}: {stderr}"
        );
    }
}

#[test]
fn version_without_tables_is_unchanged() {
    assert_file_unchanged("PRAGMA user_version = 2;");
}

#[test]
fn version_only_error_names_no_tables() {
    let (_dir, db) = foreign_database("PRAGMA user_version = 2;");
    for (command, output) in run_each(&db) {
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("no translog tables"), "{command}: {stderr}");
        assert!(!stderr.contains("contains tables"), "{command}: {stderr}");
    }
}

#[test]
fn lone_view_is_rejected() {
    assert_each_rejected("CREATE VIEW answer AS SELECT 42;");
}

#[test]
fn lone_view_error_names_view() {
    let (_dir, db) = foreign_database("CREATE VIEW answer AS SELECT 42;");
    for (command, output) in run_each(&db) {
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("has 1 view"), "{command}: {stderr}");
        assert!(!stderr.contains("contains tables"), "{command}: {stderr}");
    }
}
