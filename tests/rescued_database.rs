//! A database deleted, moved or replaced under a running server leaves a
//! rescued copy, and possibly a `-wal` file with content, beside its path.
//! No command creates a new database there while they exist. No command
//! writes to a database at the path while a rescued copy is beside it. Each
//! exits 1 with one line that names them and the two ways to proceed.
//! Commands that only read an existing database run, with a warning that
//! names the copy. The server moves its `-wal` file aside once its database
//! file is replaced, or gone with a rescued copy written, so that SQLite
//! does not apply that log to the file now at the path.

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

/// Starts a server, stores an entry, deletes the file of the database
/// whose path ends with `suffix` (`""` for the database itself, `"-wal"`
/// for its log), waits for the rescued copy and stops the server. Returns
/// the directory, the database path and the copy's path.
fn file_deleted_under_server(suffix: &str) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let server = Server::start();
    let reply = server.post_entry(
        "tx-1",
        &form("2026-12-04T13:00:00Z", "WORKER_INIT", "SUCCESS"),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    let mut deleted = server.db.clone().into_os_string();
    deleted.push(suffix);
    std::fs::remove_file(&deleted).expect("remove the file");
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

fn database_deleted_under_server() -> (tempfile::TempDir, PathBuf, PathBuf) {
    file_deleted_under_server("")
}

/// Deletes the database's `-wal` file under a server, which leaves the
/// database file in place (see [`file_deleted_under_server`]).
fn wal_deleted_under_server() -> (tempfile::TempDir, PathBuf, PathBuf) {
    file_deleted_under_server("-wal")
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

/// Runs each of `commands` on `db`, and asserts that each exits 1 with an
/// error that names the rescued copy.
fn assert_each_names_copy(db: &Path, commands: &[&[&str]]) {
    for args in commands {
        let output = run_cli(db, args, None);
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

/// Runs `serve` on `db`, and asserts that the credentials file beside it
/// is unchanged.
fn assert_serve_keeps_credentials(db: &Path) {
    let before = std::fs::read(credentials_path(db)).expect("read the credentials");
    serve(db);
    let after = std::fs::read(credentials_path(db)).expect("read the credentials");
    assert!(after == before, "the credentials file changed");
}

/// Moves the rescued copy out of `dir` into a new directory, which is
/// returned so that it lives as long as the test needs.
fn move_copy_away(dir: &tempfile::TempDir) -> tempfile::TempDir {
    let aside = tempfile::tempdir().expect("temp dir");
    std::fs::rename(
        dir.path().join(RESCUED_NAME),
        aside.path().join(RESCUED_NAME),
    )
    .expect("move the copy away");
    aside
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
    assert_serve_keeps_credentials(&db);
}

#[test]
fn rescued_copy_error_is_one_line() {
    let (_dir, db) = directory_with(RESCUED_NAME);
    let output = serve(&db);
    assert_eq!(stderr(&output).lines().count(), 1, "{}", stderr(&output));
}

#[test]
fn rescued_copy_error_agrees_with_one_copy() {
    let (_dir, db) = directory_with(RESCUED_NAME);
    let text = stderr(&serve(&db));
    assert!(text.contains("beside it belongs to a database"), "{text}");
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
    assert_each_names_copy(&db, &commands);
}

#[test]
fn wal_with_content_blocks_creation() {
    let (dir, db) = directory_with("translog.db-wal");
    let output = run_cli(&db, &["user", "list"], None);
    let expected = dir.path().join("translog.db-wal").display().to_string();
    assert!(stderr(&output).contains(&expected), "{}", stderr(&output));
}

#[test]
fn wal_alone_says_to_move_file_back() {
    let (_dir, db) = directory_with("translog.db-wal");
    let output = run_cli(&db, &["user", "list"], None);
    let expected = format!(
        "to keep them, move that database file back to {}",
        db.display()
    );
    assert!(stderr(&output).contains(&expected), "{}", stderr(&output));
}

#[test]
fn moved_away_copy_lets_serve_start() {
    let (dir, db) = directory_with(RESCUED_NAME);
    let _aside = move_copy_away(&dir);
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

#[test]
fn restart_after_wal_deletion_exits_1() {
    let (_dir, db, _copy) = wal_deleted_under_server();
    assert!(db.exists());
    assert_eq!(serve(&db).status.code(), Some(1));
}

#[test]
fn restart_after_wal_deletion_names_copy() {
    let (_dir, db, copy) = wal_deleted_under_server();
    let output = serve(&db);
    assert!(
        stderr(&output).contains(&copy.display().to_string()),
        "{}",
        stderr(&output)
    );
}

#[test]
fn restart_after_wal_deletion_keeps_credentials() {
    let (_dir, db, _copy) = wal_deleted_under_server();
    assert_serve_keeps_credentials(&db);
}

#[test]
fn empty_file_beside_copy_blocks_serve() {
    let (_dir, db, _copy) = database_deleted_under_server();
    std::fs::File::create(&db).expect("create an empty database file");
    assert_eq!(serve(&db).status.code(), Some(1));
}

#[test]
fn empty_file_beside_copy_stays_empty() {
    let (_dir, db, _copy) = database_deleted_under_server();
    std::fs::File::create(&db).expect("create an empty database file");
    serve(&db);
    let metadata = std::fs::metadata(&db).expect("the database file");
    assert_eq!(metadata.len(), 0);
}

/// Creates a database with a user in a new directory, and a rescued copy
/// beside it. Returns the directory and the database path.
fn database_beside_copy() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("translog.db");
    let added = run_cli(&db, &["user", "add", "worker1", "--role", "worker"], None);
    assert_eq!(added.status.code(), Some(0), "{}", stderr(&added));
    std::fs::write(dir.path().join(RESCUED_NAME), b"content").expect("write the copy");
    (dir, db)
}

/// The commands that write to an existing database, other than `serve`.
const WRITING_COMMANDS: [&[&str]; 4] = [
    &["user", "add", "worker2", "--role", "worker"],
    &["user", "passwd", "worker1"],
    &["user", "disable", "worker1"],
    &["prune", "--before", "2026-01-01"],
];

#[test]
fn copy_beside_database_blocks_writes() {
    let (_dir, db) = database_beside_copy();
    assert_each_names_copy(&db, &WRITING_COMMANDS);
}

#[test]
fn copy_beside_database_blocks_serve() {
    let (_dir, db) = database_beside_copy();
    assert_eq!(serve(&db).status.code(), Some(1));
}

#[test]
fn serve_beside_copy_is_one_line() {
    let (_dir, db) = database_beside_copy();
    let output = serve(&db);
    assert_eq!(stderr(&output).lines().count(), 1, "{}", stderr(&output));
}

#[test]
fn serve_beside_copy_names_both_ways() {
    let (_dir, db) = database_beside_copy();
    let text = stderr(&serve(&db));
    assert!(text.contains("put the rescued copy in place"), "{text}");
    assert!(
        text.contains("move the copy to another directory"),
        "{text}"
    );
}

#[test]
fn copy_beside_database_keeps_users() {
    let (_dir, db) = database_beside_copy();
    run_cli(&db, &["user", "disable", "worker1"], None);
    let output = run_cli(&db, &["user", "list"], None);
    let listing = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(!listing.contains("disabled"), "{listing}");
}

#[test]
fn copy_beside_database_lets_reads_run() {
    let (dir, db) = database_beside_copy();
    let backup = dir.path().join("backup.db");
    let backup = backup.to_str().expect("a UTF-8 path");
    let commands: [&[&str]; 4] = [
        &["user", "list"],
        &["log", "list"],
        &["backup", backup],
        &["prune", "--before", "2026-01-01", "--dry-run"],
    ];
    for args in commands {
        let output = run_cli(&db, args, None);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(
            stderr(&output).contains(&format!(
                "warning: {}",
                dir.path().join(RESCUED_NAME).display()
            )),
            "{args:?}: {}",
            stderr(&output)
        );
    }
}

#[test]
fn moved_away_copy_lets_writes_run() {
    let (dir, db) = database_beside_copy();
    let _aside = move_copy_away(&dir);
    let output = run_cli(&db, &["user", "disable", "worker1"], None);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
}

// A backup moved over the database file of a running server, as `mv` does.
// The server's -wal file belongs to the file that it opened, and SQLite
// would apply it to the backup at the next open.

/// Stores `count` entries with ids that start with `prefix`.
fn post_entries(server: &Server, prefix: &str, count: usize) {
    let body = form("2026-12-04T13:00:00Z", "WORKER_INIT", "SUCCESS");
    for number in 0..count {
        let reply = server.post_entry(&format!("{prefix}-{number}"), &body);
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
}

/// The number of transactions in the backup of [`server_with_backup_moved_over`].
const BACKED_UP: usize = 10;

/// Starts a server, stores [`BACKED_UP`] entries, writes a backup, stores
/// 20 more entries, and moves a copy of the backup over the database file.
fn server_with_backup_moved_over() -> Server {
    let server = Server::start();
    post_entries(&server, "tx-before", BACKED_UP);
    let backup = server.dir().join("backup.db");
    let output = run_cli(
        &server.db,
        &["backup", backup.to_str().expect("a UTF-8 path")],
        None,
    );
    assert!(output.status.success(), "{}", stderr(&output));
    post_entries(&server, "tx-after", 20);
    let copy = server.dir().join("copy.db");
    std::fs::copy(&backup, &copy).expect("copy the backup");
    std::fs::rename(&copy, &server.db).expect("move the copy over the database");
    server
}

/// Moves a backup over the database of a running server, waits for the
/// rescued copy and stops the server. Returns the directory.
fn stop_after_backup_moved_over() -> tempfile::TempDir {
    let server = server_with_backup_moved_over();
    assert!(
        server.wait_for_log("are copied to", Duration::from_secs(10)),
        "{}",
        server.log()
    );
    let (status, dir) = server.stop();
    assert!(status.success(), "{status}");
    dir
}

/// Returns the names of the files in `dir` that start with `prefix`.
fn names_starting_with(dir: &Path, prefix: &str) -> Vec<String> {
    common::file_names(dir)
        .into_iter()
        .filter(|name| name.starts_with(prefix))
        .collect()
}

/// Moves every rescued copy in `dir` into a new directory, which is
/// returned so that it lives as long as the test needs.
fn move_copies_away(dir: &Path) -> tempfile::TempDir {
    let aside = tempfile::tempdir().expect("temp dir");
    for name in names_starting_with(dir, "translog.db.rescued-") {
        std::fs::rename(dir.join(&name), aside.path().join(&name)).expect("move the copy away");
    }
    aside
}

/// Returns the result of SQLite's integrity check of the database `db`.
fn integrity_check(db: &Path) -> String {
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY;
    let connection = rusqlite::Connection::open_with_flags(db, flags).expect("open the database");
    connection
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .unwrap_or_else(|error| error.to_string())
}

#[test]
fn moved_backup_leaves_no_wal() {
    let dir = stop_after_backup_moved_over();
    assert!(!dir.path().join("translog.db-wal").exists());
}

#[test]
fn moved_backup_keeps_old_log_aside() {
    let dir = stop_after_backup_moved_over();
    let moved = names_starting_with(dir.path(), "translog.db-wal.orphaned-");
    assert_eq!(moved.len(), 1, "{:?}", common::file_names(dir.path()));
}

#[test]
fn moved_backup_takes_writes_without_copy() {
    let dir = stop_after_backup_moved_over();
    let _aside = move_copies_away(dir.path());
    let db = dir.path().join("translog.db");
    let output = run_cli(&db, &["user", "add", "worker1", "--role", "worker"], None);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
}

#[test]
fn moved_backup_stays_intact_after_write() {
    let dir = stop_after_backup_moved_over();
    let _aside = move_copies_away(dir.path());
    let db = dir.path().join("translog.db");
    run_cli(&db, &["user", "add", "worker1", "--role", "worker"], None);
    assert_eq!(integrity_check(&db), "ok");
}

#[test]
fn moved_backup_lists_backed_up_entries() {
    let dir = stop_after_backup_moved_over();
    let _aside = move_copies_away(dir.path());
    let db = dir.path().join("translog.db");
    let listed = common::listed_transactions(&db);
    assert_eq!(listed.len(), BACKED_UP, "{listed:?}");
}

#[test]
fn crash_after_move_leaves_no_wal() {
    let server = server_with_backup_moved_over();
    assert!(
        server.wait_for_log("SQLite would apply it", Duration::from_secs(10)),
        "{}",
        server.log()
    );
    let dir = server.crash();
    assert!(!dir.path().join("translog.db-wal").exists());
}

#[test]
fn quick_stop_after_move_leaves_no_wal() {
    let server = server_with_backup_moved_over();
    let (status, dir) = server.stop();
    assert!(status.success(), "{status}");
    assert!(!dir.path().join("translog.db-wal").exists());
}

#[test]
fn read_during_replacement_fails() {
    let server = server_with_backup_moved_over();
    let output = server.cli(&["log", "list"], None);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
}

#[test]
fn command_beside_moved_backup_names_server() {
    let server = server_with_backup_moved_over();
    let output = server.cli(&["user", "add", "worker1", "--role", "worker"], None);
    let expected = format!(
        "another translog server (process {}) is using {}-shm",
        server.pid(),
        server.db.display()
    );
    assert!(stderr(&output).contains(&expected), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("stop that server first"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn deletion_moves_log_aside() {
    let (dir, _db, _copy) = database_deleted_under_server();
    assert!(!dir.path().join("translog.db-wal").exists());
}

#[test]
fn wal_deletion_keeps_database_log() {
    let (dir, _db, _copy) = wal_deleted_under_server();
    let moved = names_starting_with(dir.path(), "translog.db-wal.orphaned-");
    assert!(moved.is_empty(), "{moved:?}");
}
