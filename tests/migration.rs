//! Databases written with schema version 1, opened by this build: the server
//! upgrades them on start and keeps every entry, its order and the
//! uniqueness rule, and the other subcommands leave them as they are.

mod common;

use std::path::Path;

use common::{Server, PASSWORD, WORKER};

/// The schema of version 1, as older builds created it.
const SCHEMA_VERSION_1: &str = include_str!("fixtures/schema-v1.sql");

/// Creates `DIR/translog.db` with schema version 1 and one transaction of three
/// entries. The last two share an instant and arrived LOAD first, so arrival
/// order differs from the order of their stage names.
fn create_version_1_database(dir: &Path) {
    let db = dir.join("translog.db");
    let connection = rusqlite::Connection::open(&db).expect("create the database");
    connection
        .pragma_update(None, "journal_mode", "WAL")
        .expect("set WAL");
    connection
        .execute_batch(SCHEMA_VERSION_1)
        .expect("create schema version 1");
    connection
        .pragma_update(None, "user_version", 1)
        .expect("set the schema version");
    let entries = [
        (1_796_083_200, "WORKER_INIT", "SUCCESS", "started", 10),
        (1_796_083_260, "WORKER_LOAD", "FAIL", "load failed", 20),
        (
            1_796_083_260,
            "WORKER_DECOMPRESS",
            "SUCCESS",
            "decompressed",
            30,
        ),
    ];
    for (seconds, stage, status, message, received_at_ns) in entries {
        connection
            .execute(
                "INSERT INTO entries (transaction_id, timestamp_s, timestamp_nanos,
                     timestamp_sent, stage, status, message, received_at_ns, reported_by)
                 VALUES ('tx-old', ?1, 0, '2026-12-01T00:00:00Z', ?2, ?3, ?4, ?5, 'worker')",
                rusqlite::params![seconds, stage, status, message, received_at_ns],
            )
            .expect("insert an entry");
    }
    connection
        .execute(
            "INSERT INTO transactions VALUES ('tx-old', 1796083200, 0, 1796083260, 0,
                 'WORKER_DECOMPRESS', 'SUCCESS', 'decompressed', 3, 30, 0, 0)",
            [],
        )
        .expect("insert the transaction summary");
}

fn upgraded_server() -> Server {
    let dir = tempfile::tempdir().expect("create a temporary directory");
    create_version_1_database(dir.path());
    let server = Server::start_in(dir, &[]);
    server.add_user(WORKER.0, "worker");
    server
}

fn stages(server: &Server) -> Vec<String> {
    server
        .entries("tx-old")
        .iter()
        .map(|entry| entry["stage"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn upgrade_sets_current_version() {
    let server = upgraded_server();
    let connection = rusqlite::Connection::open(&server.db).expect("open the database");
    let version: i64 = connection
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .expect("read the schema version");
    assert_eq!(version, 2);
}

#[test]
fn upgrade_logs_the_versions() {
    let server = upgraded_server();
    assert!(
        server.log().contains("from version 1 to 2"),
        "{}",
        server.log()
    );
}

#[test]
fn upgrade_keeps_entries() {
    let server = upgraded_server();
    assert_eq!(server.entries("tx-old").len(), 3);
}

#[test]
fn upgrade_keeps_arrival_order_of_ties() {
    let server = upgraded_server();
    assert_eq!(
        stages(&server),
        ["WORKER_INIT", "WORKER_LOAD", "WORKER_DECOMPRESS"]
    );
}

#[test]
fn upgrade_keeps_messages() {
    let server = upgraded_server();
    assert_eq!(server.entries("tx-old")[1]["message"], "load failed");
}

#[test]
fn upgraded_database_rejects_conflict() {
    let server = upgraded_server();
    let body = "timestamp=2026-12-01T00:01:00Z&stage=WORKER_LOAD&status=FAIL&message=other";
    let reply = server.post_form("/worker/log/tx-old", (WORKER.0, PASSWORD), body);
    assert_eq!(reply.status, 409, "{}", reply.body);
}

#[test]
fn upgraded_database_accepts_repeat() {
    let server = upgraded_server();
    let body = "timestamp=2026-12-01T00:01:00Z&stage=WORKER_LOAD&status=FAIL&message=load+failed";
    let reply = server.post_form("/worker/log/tx-old", (WORKER.0, PASSWORD), body);
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[test]
fn upgraded_database_stores_new_entry() {
    let server = upgraded_server();
    let body = "timestamp=2026-12-01T00:02:00Z&stage=WORKER_END&status=SUCCESS";
    let reply = server.post_form("/worker/log/tx-old", (WORKER.0, PASSWORD), body);
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(server.entries("tx-old").len(), 4);
}

#[test]
fn upgrade_drops_old_table() {
    let server = upgraded_server();
    let connection = rusqlite::Connection::open(&server.db).expect("open the database");
    let tables: i64 = connection
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE name IN ('entries_version_1', 'entries_key')",
            [],
            |row| row.get(0),
        )
        .expect("list the tables");
    assert_eq!(tables, 0);
}

// The command line leaves an older schema to the server, which may be an older
// build still running on the file.

fn schema_version(db: &Path) -> i64 {
    let connection = rusqlite::Connection::open(db).expect("open the database");
    connection
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .expect("read the schema version")
}

/// Runs `translog ARGS` on a new database of version 1, and returns its
/// directory and the output.
fn cli_on_version_1(args: &[&str]) -> (tempfile::TempDir, std::process::Output) {
    let dir = tempfile::tempdir().expect("create a temporary directory");
    create_version_1_database(dir.path());
    let output = common::run_cli(&dir.path().join("translog.db"), args, None);
    (dir, output)
}

#[test]
fn command_line_refuses_older_schema() {
    let (_dir, output) = cli_on_version_1(&["user", "list"]);
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn command_line_refusal_names_serve() {
    let (_dir, output) = cli_on_version_1(&["log", "list"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("only `translog serve` upgrades it"),
        "{stderr}"
    );
}

#[test]
fn command_line_keeps_older_schema() {
    let (dir, _output) = cli_on_version_1(&["user", "list"]);
    assert_eq!(schema_version(&dir.path().join("translog.db")), 1);
}

#[test]
fn backup_copies_older_schema_as_is() {
    let dir = tempfile::tempdir().expect("create a temporary directory");
    create_version_1_database(dir.path());
    let copy = dir.path().join("copy.db");
    let output = common::run_cli(
        &dir.path().join("translog.db"),
        &["backup", copy.to_str().expect("UTF-8 path")],
        None,
    );
    assert!(output.status.success(), "{:?}", output);
    assert_eq!(schema_version(&copy), 1);
}

// Tables added to version 2 after its release.

fn has_table(db: &Path, name: &str) -> bool {
    let connection = rusqlite::Connection::open(db).expect("open the database");
    connection
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE name = ?1",
            [name],
            |row| row.get::<_, i64>(0),
        )
        .expect("list the tables")
        == 1
}

#[test]
fn upgrade_from_version_1_adds_stall_table() {
    let server = upgraded_server();
    assert!(has_table(&server.db, "stall_alert_position"));
}

/// Returns the directory of a database that a server created, with the
/// table `name` removed again, as a database of version 2 was when it was
/// released.
fn version_2_without_table(name: &str) -> tempfile::TempDir {
    let (_, dir) = Server::start().stop();
    let connection =
        rusqlite::Connection::open(dir.path().join("translog.db")).expect("open the database");
    connection
        .execute_batch(&format!("DROP TABLE {name}"))
        .expect("drop the table");
    dir
}

#[test]
fn serve_adds_stall_table_to_version_2() {
    let dir = version_2_without_table("stall_alert_position");
    let server = Server::start_in(dir, &[]);
    assert!(has_table(&server.db, "stall_alert_position"));
}

#[test]
fn command_line_reads_version_2_without_stall_table() {
    let dir = version_2_without_table("stall_alert_position");
    let listed = common::run_cli(&dir.path().join("translog.db"), &["user", "list"], None);
    assert!(listed.status.success(), "{listed:?}");
}

/// Returns the number of rows of `server_instance` in the database at `db`.
fn token_rows(db: &Path) -> i64 {
    let connection = rusqlite::Connection::open(db).expect("open the database");
    connection
        .query_row("SELECT count(*) FROM server_instance", [], |row| row.get(0))
        .expect("count the tokens")
}

#[test]
fn upgrade_from_version_1_writes_token() {
    let server = upgraded_server();
    assert_eq!(token_rows(&server.db), 1);
}

#[test]
fn serve_adds_server_instance_to_version_2() {
    let dir = version_2_without_table("server_instance");
    let server = Server::start_in(dir, &[]);
    assert_eq!(token_rows(&server.db), 1);
}

#[test]
fn version_2_without_server_instance_keeps_storing() {
    let dir = version_2_without_table("server_instance");
    let server = Server::start_in(dir, &[]);
    // The read check runs about once a second.
    std::thread::sleep(std::time::Duration::from_millis(2500));
    let body = common::form("2026-12-04T13:00:00Z", "WORKER_INIT", "SUCCESS");
    assert_eq!(server.post_entry("tx-after-upgrade", &body).status, 200);
}

#[test]
fn command_line_reads_version_2_without_server_instance() {
    let dir = version_2_without_table("server_instance");
    let listed = common::run_cli(&dir.path().join("translog.db"), &["user", "list"], None);
    assert!(listed.status.success(), "{listed:?}");
}

#[test]
fn backup_of_version_2_without_server_instance_succeeds() {
    let dir = version_2_without_table("server_instance");
    let copy = dir.path().join("copy.db");
    let output = common::run_cli(
        &dir.path().join("translog.db"),
        &["backup", copy.to_str().expect("UTF-8 path")],
        None,
    );
    assert!(output.status.success(), "{output:?}");
}

#[test]
fn locked_older_schema_prints_wait_notice() {
    let dir = tempfile::tempdir().expect("create a temporary directory");
    create_version_1_database(dir.path());
    let db = dir.path().join("translog.db");
    // A server upgrading the file holds its write lock like this.
    let release = common::hold_write_lock(&db, std::time::Duration::from_secs(2));
    let output = common::run_cli(&db, &["user", "add", "bob", "--role", "worker"], None);
    release.join().expect("lock holder");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("waiting for another process to release its lock on the database"),
        "{stderr}"
    );
}
