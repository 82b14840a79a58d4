//! The log of the real binary: the `RUST_LOG` filter and what the request
//! lines show. An empty filter means `info`, and a filter that hides
//! translog's own log gets a warning on stderr, because nothing else would
//! be printed.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use chrono::Timelike as _;
use common::{form, Server, BIN, PASSWORD, READER, WORKER};

/// Runs `translog user add` on a new database with `RUST_LOG` set to
/// `filter`. The shared command runner of the tests removes `RUST_LOG`, so
/// this one starts the binary itself.
fn add_user_with_filter(filter: &str) -> Output {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut child = Command::new(BIN)
        .arg("--db")
        .arg(dir.path().join("translog.db"))
        .args([
            "user",
            "add",
            "alice",
            "--role",
            "worker",
            "--password-stdin",
        ])
        .env_remove("TRANSLOG_DB")
        .env("RUST_LOG", filter)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run translog");
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(b"alice-password\n")
        .expect("write the password");
    child.wait_with_output().expect("wait for translog")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn unknown_word_filter_warns() {
    let output = add_user_with_filter("verbose");
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("RUST_LOG=\"verbose\" hides translog's own log"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn level_filter_does_not_warn() {
    let output = add_user_with_filter("warn");
    assert!(!stderr(&output).contains("warning"), "{}", stderr(&output));
}

#[test]
fn crate_filter_does_not_warn() {
    let output = add_user_with_filter("translog=debug");
    assert!(!stderr(&output).contains("warning"), "{}", stderr(&output));
}

#[test]
fn off_filter_does_not_warn() {
    let output = add_user_with_filter("off");
    assert!(!stderr(&output).contains("warning"), "{}", stderr(&output));
}

/// Starts `translog serve` on port 0 with `RUST_LOG` set to `filter` and
/// returns the first line it logs, or None when it logs nothing in 10 s.
fn first_serve_line(filter: &str) -> Option<String> {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut child = Command::new(BIN)
        .arg("--db")
        .arg(dir.path().join("translog.db"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env_remove("TRANSLOG_DB")
        .env("RUST_LOG", filter)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run translog serve");
    let stderr = child.stderr.take().expect("stderr is piped");
    let (sender, receiver) = mpsc::channel();
    thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stderr).read_line(&mut line);
        let _ = sender.send(line);
    });
    let line = receiver.recv_timeout(Duration::from_secs(10)).ok();
    let _ = child.kill();
    let _ = child.wait();
    line
}

#[test]
fn empty_filter_logs_info() {
    let line = first_serve_line("").unwrap_or_default();
    assert!(line.contains("INFO"), "{line:?}");
}

#[test]
fn comma_filter_logs_info() {
    let line = first_serve_line(",").unwrap_or_default();
    assert!(line.contains("INFO"), "{line:?}");
}

/// Sends a GET with Basic credentials of `user` and a wrong password, and
/// returns the status.
fn fail_login(server: &Server, user: &str) -> u16 {
    server
        .get("/worker/log", Some((user, "wrong-password")))
        .status
}

#[test]
fn wrong_password_names_existing_user() {
    let server = Server::start_with_users(&[]);
    assert_eq!(fail_login(&server, WORKER.0), 401);
    assert!(
        server.wait_for_log(
            &format!(r#"user=- tx=- attempted_user="{}""#, WORKER.0),
            Duration::from_secs(5)
        ),
        "{}",
        server.log()
    );
}

/// The log line of a login with an unknown user name.
const UNKNOWN_USER_LINE: &str = "rejected: unknown user; the name is not logged";

/// Fails a login with the unknown user `nobody`, and returns whether its
/// line was logged within 5 s.
fn unknown_user_logged(server: &Server) -> bool {
    assert_eq!(fail_login(server, "nobody"), 401);
    server.wait_for_log(UNKNOWN_USER_LINE, Duration::from_secs(5))
}

#[test]
fn unknown_user_is_logged() {
    let server = Server::start();
    assert!(unknown_user_logged(&server), "{}", server.log());
}

#[test]
fn unknown_user_name_is_not_logged() {
    let server = Server::start();
    // A password typed into the user name field, as when a Worker's
    // settings swap the two.
    assert_eq!(fail_login(&server, "Tr0ub4dor-secret-1"), 401);
    server.wait_for_log(UNKNOWN_USER_LINE, Duration::from_secs(5));
    assert!(
        !server.log().contains("Tr0ub4dor-secret-1"),
        "{}",
        server.log()
    );
}

#[test]
fn empty_user_name_is_logged() {
    let server = Server::start();
    let status = server.get("/worker/log", Some(("", "secret"))).status;
    assert_eq!(status, 401);
    assert!(
        server.wait_for_log(
            "rejected: unknown user, because the user name is empty",
            Duration::from_secs(5)
        ),
        "{}",
        server.log()
    );
}

#[test]
fn empty_password_is_logged() {
    let server = Server::start_with_users(&[]);
    let status = server.get("/worker/log", Some((WORKER.0, ""))).status;
    assert_eq!(status, 401);
    assert!(
        server.wait_for_log(
            &format!(
                r#"rejected: wrong password, because the password is empty, attempted_user="{}""#,
                WORKER.0
            ),
            Duration::from_secs(5)
        ),
        "{}",
        server.log()
    );
}

#[test]
fn empty_password_of_unknown_user_is_logged() {
    let server = Server::start();
    assert_eq!(server.get("/worker/log", Some(("nobody", ""))).status, 401);
    assert!(
        server.wait_for_log(
            "rejected: unknown user, and the password is empty; the name is not logged",
            Duration::from_secs(5)
        ),
        "{}",
        server.log()
    );
}

#[test]
fn rejected_write_names_transaction() {
    let server = Server::start();
    let reply = server.post_form(
        "/worker/log/tx-denied",
        ("worker1", "wrong-password"),
        "timestamp=2026-12-04T14:57:54Z&stage=WORKER_INIT&status=SUCCESS",
    );
    assert_eq!(reply.status, 401);
    assert!(
        server.wait_for_log(r#"tx="tx-denied""#, Duration::from_secs(5)),
        "{}",
        server.log()
    );
}

#[test]
fn rejected_dashboard_page_names_transaction() {
    let server = Server::start();
    let reply = server.get(
        "/transactions/tx-hidden",
        Some((READER.0, "wrong-password")),
    );
    assert_eq!(reply.status, 401);
    assert!(
        server.wait_for_log(r#"tx="tx-hidden""#, Duration::from_secs(5)),
        "{}",
        server.log()
    );
}

/// Sends a POST without credentials to `raw_path`, written as raw bytes, and
/// waits for its `401` request line.
fn post_unauthenticated(server: &Server, raw_path: &[u8]) {
    let mut request = b"POST ".to_vec();
    request.extend_from_slice(raw_path);
    request.extend_from_slice(b" HTTP/1.1\r\nHost: test\r\nContent-Length: 0\r\n\r\n");
    let reply = server.raw(&request, Duration::from_secs(2));
    assert!(reply.starts_with("HTTP/1.1 401"), "{reply}");
    assert!(
        server.wait_for_log(" 401 ", Duration::from_secs(5)),
        "{}",
        server.log()
    );
}

#[test]
fn transaction_id_is_escaped_in_log() {
    let server = Server::start();
    post_unauthenticated(
        &server,
        "/worker/log/x\u{a0}200\u{a0}0.1ms\u{a0}user=adm\u{2028}\u{85}\u{202e}".as_bytes(),
    );
    assert!(
        server
            .log()
            .contains(r#"tx="x\u{a0}200\u{a0}0.1ms\u{a0}user=adm\u{2028}\u{85}\u{202e}""#),
        "{}",
        server.log()
    );
}

#[test]
fn transaction_id_is_decoded_in_log() {
    let server = Server::start();
    post_unauthenticated(&server, b"/worker/log/tx%2D%41");
    assert!(server.log().contains(r#"tx="tx-A""#), "{}", server.log());
}

#[test]
fn undecodable_transaction_id_is_logged_as_sent() {
    let server = Server::start();
    post_unauthenticated(&server, b"/worker/log/tx%FF");
    assert!(server.log().contains(r#"tx="tx%FF""#), "{}", server.log());
}

#[test]
fn long_transaction_id_is_cut_in_log() {
    let server = Server::start();
    let path = format!("/worker/log/{}", "a".repeat(16_000));
    post_unauthenticated(&server, path.as_bytes());
    let expected = format!(r#"tx="{}""#, "a".repeat(200));
    assert!(server.log().contains(&expected), "{:.400}", server.log());
}

/// Sends `GET /nowhere`, whose `404` request line is logged at info, and
/// waits for that line, so that every earlier request line is in the log.
fn log_marker_request(server: &Server) {
    assert_eq!(server.get("/nowhere", None).status, 404);
    assert!(
        server.wait_for_log(r#"GET "/nowhere" 404"#, Duration::from_secs(5)),
        "{}",
        server.log()
    );
}

#[test]
fn healthz_not_logged_at_info() {
    let server = Server::start();
    assert_eq!(server.get("/healthz", None).status, 200);
    log_marker_request(&server);
    assert!(!server.log().contains(r#""/healthz""#), "{}", server.log());
}

#[test]
fn healthz_logged_at_debug() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start_in_env(dir, &[], &[("RUST_LOG", "debug")]);
    assert_eq!(server.get("/healthz", None).status, 200);
    assert!(
        server.wait_for_log(r#"GET "/healthz" 200"#, Duration::from_secs(5)),
        "{}",
        server.log()
    );
}

#[test]
fn metrics_not_logged_at_info() {
    let server = Server::start();
    assert_eq!(server.get("/metrics", Some(server.admin())).status, 200);
    log_marker_request(&server);
    assert!(!server.log().contains(r#""/metrics""#), "{}", server.log());
}

#[test]
fn failed_metrics_request_logged_at_info() {
    let server = Server::start();
    assert_eq!(server.get("/metrics", None).status, 401);
    assert!(
        server.wait_for_log(r#"GET "/metrics" 401"#, Duration::from_secs(5)),
        "{}",
        server.log()
    );
}

#[test]
fn fatal_entry_is_logged() {
    let server = Server::start_with_users(&[]);
    let reply = server.post_form(
        "/worker/log/tx-fatal",
        WORKER,
        "timestamp=2026-12-04T14:57:54Z&stage=WORKER_LOAD&status=FATAL&message=disk+full%0Anext",
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(
        server.wait_for_log(
            r#"transaction tx-fatal turned fatal at WORKER_LOAD, message="disk full\nnext""#,
            Duration::from_secs(5)
        ),
        "{}",
        server.log()
    );
}

// Local times read in another time zone than the Worker's clock.

/// The start of the warning about `utc-worker`'s local times.
const ZONE_WARNING: &str =
    "user utc-worker probably sends local times from a clock in another time zone";

/// Starts a server with the worker `utc-worker`, whose time zone is UTC.
fn start_with_utc_worker() -> Server {
    let server = Server::start();
    server.add_user_with("utc-worker", "worker", PASSWORD, &["--timezone", "UTC"]);
    server
}

/// Stores an entry of `utc-worker` with `timestamp` and `stage` in the log
/// of `tx-zone`.
fn post_as_utc_worker(server: &Server, timestamp: &str, stage: &str) {
    let reply = server.post_form(
        "/worker/log/tx-zone",
        ("utc-worker", PASSWORD),
        &form(timestamp, stage, "SUCCESS"),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
}

/// Returns the current UTC time plus `offset_seconds` as a local time
/// without an offset, in whole seconds.
fn utc_local_time_from_now(offset_seconds: i64) -> chrono::NaiveDateTime {
    let instant = chrono::Utc::now() + chrono::Duration::seconds(offset_seconds);
    instant
        .naive_utc()
        .with_nanosecond(0)
        .expect("zero nanoseconds are valid")
}

fn local_time_text(local_time: chrono::NaiveDateTime) -> String {
    local_time.format("%Y-%m-%dT%H:%M:%S").to_string()
}

/// Returns the number of warnings about `utc-worker`'s local times, after
/// every earlier line is in the log.
fn zone_warnings(server: &Server) -> usize {
    log_marker_request(server);
    server.log().matches(ZONE_WARNING).count()
}

#[test]
fn local_time_hour_behind_warns_once() {
    let server = start_with_utc_worker();
    let hour_behind = local_time_text(utc_local_time_from_now(-3_600));
    post_as_utc_worker(&server, &hour_behind, "WORKER_INIT");
    post_as_utc_worker(&server, &hour_behind, "WORKER_LOAD");
    assert_eq!(zone_warnings(&server), 1, "{}", server.log());
}

#[test]
fn zone_warning_names_zone_skew_and_fix() {
    let server = start_with_utc_worker();
    let hour_behind = local_time_text(utc_local_time_from_now(-3_600));
    post_as_utc_worker(&server, &hour_behind, "WORKER_INIT");
    assert!(
        server.wait_for_log(ZONE_WARNING, Duration::from_secs(5)),
        "{}",
        server.log()
    );
    let log = server.log();
    let line = log
        .lines()
        .find(|line| line.contains(ZONE_WARNING))
        .expect("a warning");
    assert!(line.contains("WARN  translog::request]"), "{line}");
    assert!(line.contains(r#"tx="tx-zone""#), "{line}");
    assert!(line.contains("read in UTC, the user's time zone"), "{line}");
    assert!(
        line.contains("is +1 h, as from a clock at UTC-01:00"),
        "{line}"
    );
    assert!(
        line.contains("translog user set-timezone utc-worker ZONE"),
        "{line}"
    );
}

#[test]
fn offset_timestamp_does_not_warn() {
    let server = start_with_utc_worker();
    let hour_behind = utc_local_time_from_now(-3_600);
    let text = local_time_text(hour_behind);
    post_as_utc_worker(&server, &format!("{text}+00:00"), "WORKER_INIT");
    post_as_utc_worker(&server, &format!("{text}Z"), "WORKER_LOAD");
    let unix_seconds = hour_behind.and_utc().timestamp().to_string();
    post_as_utc_worker(&server, &unix_seconds, "WORKER_END");
    assert_eq!(zone_warnings(&server), 0, "{}", server.log());
}

#[test]
fn skew_of_77_minutes_does_not_warn() {
    let server = start_with_utc_worker();
    let behind = local_time_text(utc_local_time_from_now(-(3_600 + 17 * 60)));
    post_as_utc_worker(&server, &behind, "WORKER_INIT");
    assert_eq!(zone_warnings(&server), 0, "{}", server.log());
}

#[test]
fn settings_are_logged_at_start() {
    let server = Server::start_with(&["--timezone", "Europe/Berlin", "--stall-after", "90m"]);
    assert!(
        server.wait_for_log(
            "settings: time zone Europe/Berlin, stall after 90m, read timeout 10s",
            Duration::from_secs(5)
        ),
        "{}",
        server.log()
    );
}

#[test]
fn settings_name_notify_program() {
    let server = Server::start_with(&["--notify-command", "/usr/local/bin/alert"]);
    assert!(
        server.wait_for_log(
            "notify command \"/usr/local/bin/alert\"",
            Duration::from_secs(5)
        ),
        "{}",
        server.log()
    );
}

#[test]
fn settings_leave_out_notify_arguments() {
    let server = Server::start_with(&["--notify-command", "/usr/local/bin/alert token-1234"]);
    assert!(
        server.wait_for_log(
            "notify command \"/usr/local/bin/alert\" with 1 other word, not logged",
            Duration::from_secs(5)
        ),
        "{}",
        server.log()
    );
    assert!(!server.log().contains("token-1234"), "{}", server.log());
}

/// Starts a server with `command` as its notify command and returns
/// whether its log warns that the program is missing. The log line of a
/// request made after the start comes after every line of the start.
fn warns_of_missing_program(command: &str) -> bool {
    let server = Server::start_with(&["--notify-command", command]);
    assert_eq!(server.get("/worker/log", Some(server.admin())).status, 200);
    assert!(
        server.wait_for_log("\"/worker/log\" 200", Duration::from_secs(5)),
        "{}",
        server.log()
    );
    server.log().contains("of --notify-command is not")
}

#[test]
fn missing_notify_program_is_warned() {
    assert!(warns_of_missing_program("/usr/local/bin/alert token-1234"));
}

#[test]
fn notify_program_missing_from_path_is_warned() {
    assert!(warns_of_missing_program("TOKEN=abc alert-webhook-missing"));
}

#[test]
fn notify_program_in_path_is_not_warned() {
    assert!(!warns_of_missing_program("TOKEN=abc cat"));
}

#[test]
fn notify_shell_builtin_is_not_warned() {
    // umask has no file in PATH, unlike echo or test.
    assert!(!warns_of_missing_program("umask 077; /usr/local/bin/alert"));
}

/// Returns the lines of `log` that contain `created a new database`.
fn new_database_lines(log: &str) -> Vec<String> {
    log.lines()
        .filter(|line| line.contains("created a new database"))
        .map(str::to_string)
        .collect()
}

#[test]
fn created_database_is_warned_once() {
    let server = Server::start();
    assert!(
        server.wait_for_log("created a new database", Duration::from_secs(5)),
        "{}",
        server.log()
    );
    let lines = new_database_lines(&server.log());
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains(" WARN "), "{lines:?}");
    let path = std::fs::canonicalize(&server.db).expect("canonical database path");
    assert!(
        lines[0].contains(&format!("at {};", path.display())),
        "{lines:?}"
    );
    assert!(lines[0].contains("TRANSLOG_DB"), "{lines:?}");

    let (_, dir) = server.stop();
    let again = Server::start_in(dir, &[]);
    log_marker_request(&again);
    let lines = new_database_lines(&again.log());
    assert!(lines.is_empty(), "{lines:?}");
}

#[test]
fn empty_database_file_is_warned() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::File::create(dir.path().join("translog.db")).expect("create an empty file");
    let server = Server::start_in(dir, &[]);
    assert!(
        server.wait_for_log("created a new database", Duration::from_secs(5)),
        "{}",
        server.log()
    );
}

/// Starts a server on a database whose mode is set to `mode` after a first
/// start, and returns it once it listens.
fn restart_with_mode(mode: u32) -> Server {
    use std::os::unix::fs::PermissionsExt as _;
    let (_, dir) = Server::start().stop();
    let db = dir.path().join("translog.db");
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(mode)).expect("chmod");
    Server::start_in(dir, &[])
}

#[test]
fn world_readable_database_warns() {
    let server = restart_with_mode(0o644);
    assert!(
        server.wait_for_log(
            "readable by every user of this host",
            Duration::from_secs(5)
        ),
        "{}",
        server.log()
    );
}

#[test]
fn world_readable_warning_names_chmod() {
    let server = restart_with_mode(0o644);
    let expected = format!("chmod o-rwx {}", server.db.display());
    assert!(
        server.wait_for_log(&expected, Duration::from_secs(5)),
        "{}",
        server.log()
    );
}

#[test]
fn group_readable_database_does_not_warn() {
    let server = restart_with_mode(0o640);
    // The start lines come before any request line.
    assert_eq!(fail_login(&server, "nobody"), 401);
    assert!(server.wait_for_log(UNKNOWN_USER_LINE, Duration::from_secs(5)));
    assert!(
        !server.log().contains("readable by every user"),
        "{}",
        server.log()
    );
}

#[test]
fn removed_cached_user_logs_no_user() {
    let server = Server::start_with_users(&[]);
    let first = server.post_worker_entry(
        "tx-gone",
        "2026-12-04T14:57:54Z",
        "WORKER_INIT",
        "SUCCESS",
        "first",
    );
    assert_eq!(first.status, 200);
    let removed = server.cli(&["user", "remove", WORKER.0], None);
    assert!(removed.status.success(), "{removed:?}");

    let second = server.post_worker_entry(
        "tx-gone",
        "2026-12-04T14:57:55Z",
        "WORKER_LOAD",
        "SUCCESS",
        "second",
    );
    assert_eq!(second.status, 401);
    // The removed user is unknown now, so no name follows the transaction id.
    assert!(
        server.wait_for_log("user=- tx=\"tx-gone\"\n", Duration::from_secs(5)),
        "{}",
        server.log()
    );
}

/// The filter that the docs give to leave out the line of every request.
const QUIET_REQUESTS: &str = "info,translog::request=warn";

/// Starts a server with `RUST_LOG` set to [`QUIET_REQUESTS`].
fn start_quiet() -> Server {
    let dir = tempfile::tempdir().expect("temp dir");
    Server::start_in_env(dir, &[], &[("RUST_LOG", QUIET_REQUESTS)])
}

#[test]
fn quiet_requests_keep_start_line() {
    let server = start_quiet();
    assert!(
        server.log().contains(" listening on http://127.0.0.1:"),
        "{}",
        server.log()
    );
}

#[test]
fn quiet_requests_keep_warnings() {
    let server = start_quiet();
    assert!(unknown_user_logged(&server), "{}", server.log());
}

#[test]
fn quiet_requests_leave_out_request_lines() {
    let server = start_quiet();
    let reply = server.post_entry(
        "quiet-1",
        "timestamp=2026-12-06T10:00:00Z&stage=WORKER_INIT&status=SUCCESS&message=started",
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    // The failed login is logged after the POST, so once its line is there
    // the POST's line would be too.
    unknown_user_logged(&server);
    assert!(!server.log().contains("quiet-1"), "{}", server.log());
}

/// A server whose standard error is a pipe of one page that the test stops
/// reading after the line with the address, as a journald that falls behind
/// or a paused terminal would.
struct UnreadLog {
    child: std::process::Child,
    address: std::net::SocketAddr,
    /// The pipe's read end, kept open and not read.
    log: BufReader<std::fs::File>,
    _dir: tempfile::TempDir,
}

impl Drop for UnreadLog {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts a server whose log the test stops reading after its address.
fn start_unread_log() -> UnreadLog {
    let dir = tempfile::tempdir().expect("temp dir");
    let (reader, writer) = rustix::pipe::pipe().expect("create a pipe");
    rustix::pipe::fcntl_setpipe_size(&writer, 4096).expect("shrink the pipe");
    let mut command = common::serve_command(&dir.path().join("translog.db"));
    let child = command
        .args(["--listen", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(writer))
        .spawn()
        .expect("start translog serve");
    let mut log = BufReader::new(std::fs::File::from(reader));
    let mut line = String::new();
    let address = loop {
        line.clear();
        let read = log.read_line(&mut line).expect("read the log");
        assert!(read > 0, "the server ended before it logged its address");
        if let Some(address) = common::listening_address(&line) {
            break address;
        }
    };
    UnreadLog {
        child,
        address,
        log,
        _dir: dir,
    }
}

/// Sends `count` requests for an unknown path on one connection, each of
/// which the server logs, and returns how many got a response within 5 s.
fn send_logged_requests(address: std::net::SocketAddr, count: usize) -> usize {
    let mut stream = std::net::TcpStream::connect(address).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("set a timeout");
    let mut reader = BufReader::new(stream.try_clone().expect("clone the stream"));
    for answered in 0..count {
        let request = format!("GET /nowhere-{answered} HTTP/1.1\r\nHost: test\r\n\r\n");
        if stream.write_all(request.as_bytes()).is_err() {
            return answered;
        }
        if read_response(&mut reader).is_none() {
            return answered;
        }
    }
    count
}

/// Reads one response with a `Content-Length` from `reader`, and returns its
/// status line, or None when the read failed or timed out.
fn read_response(reader: &mut BufReader<std::net::TcpStream>) -> Option<String> {
    let mut status = String::new();
    reader
        .read_line(&mut status)
        .ok()
        .filter(|read| *read > 0)?;
    let mut length = 0;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok().filter(|read| *read > 0)?;
        if line.trim_end().is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().ok()?;
            }
        }
    }
    let mut body = vec![0; length];
    std::io::Read::read_exact(reader, &mut body).ok()?;
    Some(status)
}

#[test]
fn unread_log_keeps_requests_answered() {
    let server = start_unread_log();
    // 6,000 lines of about 100 bytes are far more than the pipe and the
    // queue of the log hold.
    assert_eq!(send_logged_requests(server.address, 6000), 6000);
}

#[test]
fn unread_log_lets_server_stop() {
    let mut server = start_unread_log();
    send_logged_requests(server.address, 6000);
    rustix::process::kill_process(
        rustix::process::Pid::from_child(&server.child),
        rustix::process::Signal::TERM,
    )
    .expect("send SIGTERM");
    let status = common::wait_with_timeout(&mut server.child, Duration::from_secs(10));
    assert!(status.is_some_and(|status| status.success()), "{status:?}");
}

#[test]
fn unread_log_reports_dropped_lines() {
    let mut server = start_unread_log();
    send_logged_requests(server.address, 6000);
    // Reading the pipe again lets the writer go on, and the count of the
    // dropped lines comes before the next line queued after them.
    let (sender, receiver) = mpsc::channel();
    let mut log = std::mem::replace(
        &mut server.log,
        BufReader::new(std::fs::File::open("/dev/null").expect("open /dev/null")),
    );
    thread::spawn(move || {
        let mut line = String::new();
        while log.read_line(&mut line).is_ok_and(|read| read > 0) {
            if line.contains("log lines dropped here") {
                let _ = sender.send(line.clone());
            }
            line.clear();
        }
    });
    // A line logged before the writer has made room in the queue is dropped
    // too, so requests follow until one's line is queued.
    let reported = (0..100).any(|_| {
        send_logged_requests(server.address, 1);
        receiver.recv_timeout(Duration::from_millis(100)).is_ok()
    });
    assert!(reported, "no line reported the dropped lines");
}
