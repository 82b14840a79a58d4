//! The database file and its `-wal` and `-shm` files changed under a running
//! server: it stops storing, responds with `503`, copies what it stored to a rescue
//! file, and a second server cannot start on the path. A write past the file
//! size limit fails with `503` instead of ending the process.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use std::process::Command;

use common::{form, serve_command, Server};

fn post(server: &Server, id: &str) -> u16 {
    server
        .post_entry(id, &form("2026-12-04T13:00:00Z", "WORKER_INIT", "SUCCESS"))
        .status
}

fn companion(db: &Path, suffix: &str) -> PathBuf {
    PathBuf::from(format!("{}{suffix}", db.display()))
}

/// Returns the one rescue copy beside the database, once the server logged it.
fn rescue_copy(server: &Server) -> PathBuf {
    assert!(
        server.wait_for_log("are copied to", Duration::from_secs(5)),
        "{}",
        server.log()
    );
    let mut copies: Vec<PathBuf> = std::fs::read_dir(server.dir())
        .expect("read the directory")
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.to_string_lossy().contains(".rescued-"))
        .collect();
    assert_eq!(copies.len(), 1, "{copies:?}");
    copies.remove(0)
}

fn transaction_ids(db: &Path) -> Vec<String> {
    let connection = rusqlite::Connection::open(db).expect("open the copy");
    let mut statement = connection
        .prepare("SELECT DISTINCT transaction_id FROM entries ORDER BY 1")
        .expect("prepare");
    statement
        .query_map([], |row| row.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows")
}

/// Posts entries with new ids, one every 100 ms, until one gets `503`, and
/// returns the ids that got `200` on the way. The server looks at its files
/// at most once a second, so entries right after a change are still stored.
fn post_until_503(server: &Server) -> Vec<String> {
    let mut acknowledged = Vec::new();
    let mut number = 0;
    let unavailable = common::wait_until(|| {
        number += 1;
        let id = format!("tx-after-{number}");
        match post(server, &id) {
            200 => {
                acknowledged.push(id);
                false
            }
            status => status == 503,
        }
    });
    assert!(unavailable, "no 503: {}", server.log());
    acknowledged
}

/// Returns the ids that the rescue copy must hold: `tx-before` and the
/// entries acknowledged after the change, in the copy's order.
fn expected_ids(acknowledged: Vec<String>) -> Vec<String> {
    let mut ids = acknowledged;
    ids.push("tx-before".to_string());
    ids.sort();
    ids
}

#[test]
fn deleted_database_gets_503() {
    let server = Server::start();
    assert_eq!(post(&server, "tx-before"), 200);
    std::fs::remove_file(&server.db).expect("remove the database");
    post_until_503(&server);
}

#[test]
fn deleted_database_fails_health() {
    let server = Server::start();
    assert_eq!(post(&server, "tx-before"), 200);
    std::fs::remove_file(&server.db).expect("remove the database");
    post_until_503(&server);
    assert_eq!(server.get("/healthz", None).status, 503);
}

/// Starts a server with the reader and worker users, stores an entry as
/// the admin, deletes the database and waits until the server has copied it.
fn server_after_deletion() -> Server {
    let server = Server::start_with_users(&[]);
    assert_eq!(post(&server, "tx-before"), 200);
    std::fs::remove_file(&server.db).expect("remove the database");
    let _ = rescue_copy(&server);
    server
}

/// Asserts that `reply` is a `503` whose message states that only a restart
/// ends it.
fn assert_restart_message(reply: &common::Reply) {
    assert_eq!(reply.status, 503, "{}", reply.body);
    assert!(
        reply
            .message()
            .contains("stores nothing until its operator restarts it"),
        "{}",
        reply.body
    );
    assert!(!reply.message().contains("retry shortly"), "{}", reply.body);
}

#[test]
fn deleted_database_503_names_restart() {
    let server = server_after_deletion();
    let reply = server.post_entry(
        "tx-late",
        &form("2026-12-04T13:00:00Z", "WORKER_INIT", "SUCCESS"),
    );
    assert_restart_message(&reply);
}

#[test]
fn uncached_user_503_names_restart() {
    let server = server_after_deletion();
    let reply = server.post_worker_entry(
        "tx-late",
        "2026-12-04T13:00:00Z",
        "WORKER_INIT",
        "SUCCESS",
        "",
    );
    assert_restart_message(&reply);
}

#[test]
fn deleted_database_health_names_restart() {
    let server = server_after_deletion();
    let reply = server.get("/healthz", None);
    assert_eq!(reply.status, 503, "{}", reply.body);
    assert!(
        reply
            .message()
            .contains("Deleting or moving the database's files"),
        "{}",
        reply.body
    );
}

#[test]
fn deleted_database_503_omits_restore() {
    let server = server_after_deletion();
    let reply = server.get("/healthz", None);
    assert_eq!(reply.status, 503, "{}", reply.body);
    assert!(
        !reply.message().contains("Restoring a backup"),
        "{}",
        reply.body
    );
}

/// Starts a server, stores an entry, writes a backup and moves it over the
/// database file, as `mv backup.db translog.db` does, and posts entries
/// until one gets `503`. Returns the server and that reply.
fn server_after_replacement() -> (Server, common::Reply) {
    let server = Server::start();
    assert_eq!(post(&server, "tx-before"), 200);
    let backup = server.dir().join("backup.db");
    let output = server.cli(&["backup", &backup.display().to_string()], None);
    common::assert_success(&output, "backup");
    std::fs::rename(&backup, &server.db).expect("move the backup over the database");
    let body = form("2026-12-04T13:00:00Z", "WORKER_INIT", "SUCCESS");
    let mut number = 0;
    let mut last = None;
    let unavailable = common::wait_until(|| {
        number += 1;
        let reply = server.post_entry(&format!("tx-after-{number}"), &body);
        let status = reply.status;
        last = Some(reply);
        status == 503
    });
    assert!(unavailable, "no 503: {}", server.log());
    let reply = last.expect("a reply");
    (server, reply)
}

#[test]
fn replaced_database_503_names_moving() {
    let (_server, reply) = server_after_replacement();
    assert!(
        reply
            .message()
            .contains("\"Deleting or moving the database's files\""),
        "{}",
        reply.body
    );
}

#[test]
fn replaced_database_503_names_restore() {
    let (_server, reply) = server_after_replacement();
    assert!(
        reply.message().contains("\"Restoring a backup\""),
        "{}",
        reply.body
    );
}

#[test]
fn replaced_database_error_names_restore() {
    let (server, _reply) = server_after_replacement();
    let expected = format!(
        "{} was replaced by another file while the server ran",
        server.db.display()
    );
    assert!(
        server.wait_for_log(&expected, Duration::from_secs(5)),
        "{}",
        server.log()
    );
    assert!(
        server
            .log()
            .contains("to restore a backup instead, follow \"Restoring a backup\" there"),
        "{}",
        server.log()
    );
}

/// The start of the warning about one rejected request.
const REQUEST_WARNING: &str = "WARN  translog::request] request #";

/// Returns a server whose database was replaced, after `held_back` more
/// writes than the first one that got `503` got `503` too.
fn server_with_held_back_503s(held_back: usize) -> Server {
    let (server, _first) = server_after_replacement();
    let body = form("2026-12-04T13:00:00Z", "WORKER_INIT", "SUCCESS");
    for number in 1..=held_back {
        let reply = server.post_entry(&format!("tx-held-{number}"), &body);
        assert_eq!(reply.status, 503, "{}", reply.body);
    }
    let last_line = format!("POST \"/worker/log/tx-held-{held_back}\" 503");
    assert!(
        server.wait_for_log(&last_line, Duration::from_secs(5)),
        "{}",
        server.log()
    );
    server
}

#[test]
fn replaced_database_warns_once_per_interval() {
    let server = server_with_held_back_503s(4);
    let log = server.log();
    assert_eq!(log.matches(REQUEST_WARNING).count(), 1, "{log}");
}

#[test]
fn replaced_database_keeps_request_lines() {
    let server = server_with_held_back_503s(4);
    let log = server.log();
    let lines = log
        .lines()
        .filter(|line| line.contains("INFO  translog::request] #"))
        .filter(|line| line.contains("\"/worker/log/tx-held-"))
        .count();
    assert_eq!(lines, 4, "{log}");
}

#[test]
fn replaced_database_counts_held_back_503s() {
    let server = server_with_held_back_503s(4);
    assert!(
        server.wait_for_log(
            "WARN  translog::request] 4 requests answered 503 in the last",
            Duration::from_secs(15)
        ),
        "{}",
        server.log()
    );
}

#[test]
fn held_back_503s_are_logged_at_stop() {
    let server = server_with_held_back_503s(3);
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &server.pid().to_string()])
        .status()
        .expect("run kill");
    assert!(sent.success());
    assert!(
        server.wait_for_log(
            "3 requests answered 503 in the last",
            Duration::from_secs(5)
        ),
        "{}",
        server.log()
    );
}

#[test]
fn deleted_database_503_keeps_retry_after() {
    let server = server_after_deletion();
    let reply = server.get("/healthz", None);
    assert_eq!(reply.header("retry-after"), Some("1"), "{}", reply.body);
}

/// Returns the value of the sample `series`, its name and labels, in `GET
/// /metrics`, or `None` when the series is missing.
fn metric(server: &Server, series: &str) -> Option<String> {
    let body = server.get("/metrics", Some(server.admin())).body;
    body.lines()
        .find_map(|line| line.strip_prefix(&format!("{series} ")))
        .map(str::to_string)
}

/// Starts a server, stores an entry, deletes the database and posts until a
/// write gets `503`.
fn server_with_503_after_deletion() -> Server {
    let server = Server::start();
    assert_eq!(post(&server, "tx-before"), 200);
    std::fs::remove_file(&server.db).expect("remove the database");
    post_until_503(&server);
    server
}

#[test]
fn working_database_reports_storage_up() {
    let server = Server::start();
    assert_eq!(post(&server, "tx-before"), 200);
    assert_eq!(metric(&server, "translog_storage_up").as_deref(), Some("1"));
}

#[test]
fn deleted_database_reports_storage_down() {
    let server = server_with_503_after_deletion();
    assert_eq!(metric(&server, "translog_storage_up").as_deref(), Some("0"));
}

#[test]
fn deleted_database_counts_unavailable_writes() {
    let server = server_with_503_after_deletion();
    let count = metric(
        &server,
        "translog_unavailable_total{reason=\"file_changed\"}",
    );
    assert_eq!(count.as_deref(), Some("1"));
}

#[test]
fn deleted_database_counts_failed_health_checks() {
    let server = server_with_503_after_deletion();
    assert_eq!(server.get("/healthz", None).status, 503);
    assert_eq!(server.get("/healthz", None).status, 503);
    let count = metric(
        &server,
        "translog_unavailable_total{reason=\"file_changed\"}",
    );
    assert_eq!(count.as_deref(), Some("3"));
}

#[test]
fn working_database_renders_every_unavailable_reason() {
    let server = Server::start();
    let body = server.get("/metrics", Some(server.admin())).body;
    let reasons: Vec<&str> = body
        .lines()
        .filter_map(|line| line.strip_prefix("translog_unavailable_total{reason=\""))
        .filter_map(|rest| rest.split_once('"').map(|(reason, _)| reason))
        .collect();
    let expected = [
        "overloaded",
        "stopped",
        "user_changed",
        "busy",
        "disk_full",
        "read_only",
        "io_error",
        "file_changed",
        "damaged",
        "unreadable",
        "database_error",
        "connections",
    ];
    assert_eq!(reasons, expected, "{body}");
}

#[test]
fn deleted_database_is_rescued() {
    let server = Server::start();
    assert_eq!(post(&server, "tx-before"), 200);
    std::fs::remove_file(&server.db).expect("remove the database");
    let acknowledged = post_until_503(&server);
    assert_eq!(
        transaction_ids(&rescue_copy(&server)),
        expected_ids(acknowledged)
    );
}

#[test]
fn deleted_wal_gets_503() {
    let server = Server::start();
    assert_eq!(post(&server, "tx-before"), 200);
    std::fs::remove_file(companion(&server.db, "-wal")).expect("remove the WAL");
    post_until_503(&server);
}

#[test]
fn deleted_wal_is_rescued() {
    let server = Server::start();
    assert_eq!(post(&server, "tx-before"), 200);
    std::fs::remove_file(companion(&server.db, "-wal")).expect("remove the WAL");
    let acknowledged = post_until_503(&server);
    assert_eq!(
        transaction_ids(&rescue_copy(&server)),
        expected_ids(acknowledged)
    );
}

#[test]
fn replaced_shm_gets_503() {
    let server = Server::start();
    assert_eq!(post(&server, "tx-before"), 200);
    let shm = companion(&server.db, "-shm");
    std::fs::remove_file(&shm).expect("remove the -shm file");
    std::fs::write(&shm, b"").expect("create another -shm file");
    post_until_503(&server);
}

#[test]
fn moved_database_blocks_second_server() {
    let server = Server::start();
    assert_eq!(post(&server, "tx-before"), 200);
    let aside = server.dir().join("aside.db");
    std::fs::rename(&server.db, &aside).expect("move the database");
    let output = serve_command(&server.db)
        .args(["--listen", "127.0.0.1:0"])
        .output()
        .expect("run a second server");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("another translog server is using"),
        "{stderr}"
    );
}

#[test]
fn blocked_second_server_leaves_no_database() {
    let server = Server::start();
    let aside = server.dir().join("aside.db");
    std::fs::rename(&server.db, &aside).expect("move the database");
    serve_command(&server.db)
        .args(["--listen", "127.0.0.1:0"])
        .output()
        .expect("run a second server");
    assert!(!server.db.exists());
}

/// Lowers the file size limit of the running server to just above the size
/// of its largest file, and posts new entries until one gets `503`.
fn post_past_file_size_limit(server: &Server) -> Vec<u16> {
    let largest = ["", "-wal", "-shm"]
        .iter()
        .filter_map(|suffix| std::fs::metadata(companion(&server.db, suffix)).ok())
        .map(|metadata| metadata.len())
        .max()
        .unwrap_or(0);
    let limit = largest + 8192;
    let status = Command::new("prlimit")
        .arg(format!("--pid={}", server.pid()))
        .arg(format!("--fsize={limit}:{limit}"))
        .status()
        .expect("run prlimit");
    assert!(status.success(), "prlimit failed");
    let mut statuses = Vec::new();
    for second in 0..200 {
        let body = form(
            &format!("2026-12-04T13:{:02}:{:02}Z", second / 60, second % 60),
            "WORKER_INIT",
            "SUCCESS",
        );
        let status = server
            .post_entry(
                &format!("tx-{second}"),
                &format!("{body}&message={}", "x".repeat(900)),
            )
            .status;
        statuses.push(status);
        if status != 200 {
            break;
        }
    }
    statuses
}

#[test]
fn file_size_limit_gets_503() {
    let server = Server::start();
    let statuses = post_past_file_size_limit(&server);
    assert_eq!(statuses.last(), Some(&503), "{statuses:?}");
}

#[test]
fn file_size_limit_counts_unavailable_write() {
    let server = Server::start();
    let statuses = post_past_file_size_limit(&server);
    assert_eq!(statuses.last(), Some(&503), "{statuses:?}");
    let count = metric(&server, "translog_unavailable_total{reason=\"io_error\"}");
    assert_eq!(count.as_deref(), Some("1"), "{}", server.log());
}

#[test]
fn file_size_limit_keeps_server_running() {
    let server = Server::start();
    post_past_file_size_limit(&server);
    assert_eq!(server.get("/healthz", None).status, 503);
}

#[test]
fn file_size_limit_is_logged() {
    let server = Server::start();
    post_past_file_size_limit(&server);
    assert!(
        server.wait_for_log("file size limit", Duration::from_secs(5)),
        "{}",
        server.log()
    );
}

#[test]
fn failed_health_check_logs_cause() {
    let server = Server::start();
    post_past_file_size_limit(&server);
    assert_eq!(server.get("/healthz", None).status, 503);
    assert!(
        server.wait_for_log(
            "not served: entries cannot be stored: database is unavailable: disk I/O error",
            Duration::from_secs(5)
        ),
        "{}",
        server.log()
    );
}

#[test]
fn health_after_deletion_logs_cause() {
    let server = server_with_503_after_deletion();
    assert_eq!(server.get("/healthz", None).status, 503);
    assert!(
        server.wait_for_log(
            &format!(
                "not served: entries cannot be stored: {} was deleted or moved",
                server.db.display()
            ),
            Duration::from_secs(5)
        ),
        "{}",
        server.log()
    );
}

#[test]
fn unreadable_database_fails_health() {
    let server = Server::start();
    let connection = rusqlite::Connection::open(&server.db).expect("open the database");
    connection
        .execute("DELETE FROM credentials_generation", [])
        .expect("remove the generation row");
    assert_eq!(server.get("/healthz", None).status, 503);
}

#[test]
fn idle_deleted_database_fails_health() {
    let server = Server::start();
    assert_eq!(post(&server, "tx-before"), 200);
    std::fs::remove_file(&server.db).expect("remove the database");
    let unhealthy = common::wait_until(|| server.get("/healthz", None).status == 503);
    assert!(unhealthy, "{}", server.log());
}

#[test]
fn idle_deleted_database_is_rescued() {
    let server = Server::start();
    assert_eq!(post(&server, "tx-before"), 200);
    std::fs::remove_file(&server.db).expect("remove the database");
    assert_eq!(transaction_ids(&rescue_copy(&server)), ["tx-before"]);
}

/// Starts a server whose `--db` is a symbolic link to a database in another
/// directory, and returns it with the link's target.
fn server_through_link() -> (Server, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let real_dir = dir.path().join("real");
    std::fs::create_dir(&real_dir).expect("create the real directory");
    let real = real_dir.join("t.db");
    let link = dir.path().join("translog.db");
    std::os::unix::fs::symlink(&real, &link).expect("create the link");
    let server = Server::launch(dir, link.clone(), {
        let mut command = serve_command(&link);
        command.args(["--listen", "127.0.0.1:0"]);
        command
    });
    (server, real)
}

#[test]
fn deleted_link_target_names_link() {
    let (server, real) = server_through_link();
    assert_eq!(post(&server, "tx-before"), 200);
    std::fs::remove_file(&real).expect("remove the link's target");
    post(&server, "tx-after");
    assert!(
        server.wait_for_log("(a symbolic link to", Duration::from_secs(5)),
        "{}",
        server.log()
    );
}

#[test]
fn size_metric_counts_link_target_wal() {
    let (server, real) = server_through_link();
    assert_eq!(post(&server, "tx-1"), 200);
    let size: u64 = metric(&server, "translog_database_size_bytes")
        .expect("the size metric")
        .parse()
        .expect("a whole number");
    let file_size = |path: &Path| std::fs::metadata(path).expect("stat").len();
    let expected = file_size(&real) + file_size(&companion(&real, "-wal"));
    assert_eq!(size, expected);
}
