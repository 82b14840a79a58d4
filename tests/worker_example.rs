//! Runs scripts/worker-example.sh against a fresh server and checks the log it
//! leaves. Skipped, with a message, when a tool the script needs is missing,
//! unless the `CI` variable is set.

mod common;

use std::net::TcpListener;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{Server, WORKER};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/worker-example.sh");

/// The tools the script runs besides coreutils.
const TOOLS: [&str; 5] = ["bash", "curl", "gzip", "openssl", "iconv"];

fn missing_tool() -> Option<&'static str> {
    TOOLS.into_iter().find(|tool| {
        Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .map_or(true, |output| !output.status.success())
    })
}

/// Builds a run of the script in `mode` against `url` for `transaction_id`,
/// with the worker's credentials.
fn script(url: &str, mode: &str, transaction_id: &str) -> Command {
    let mut command = Command::new("bash");
    command
        .arg(SCRIPT)
        .args(["--simulate", mode])
        .env("TRANSLOG_URL", url)
        .env("TRANSLOG_USER", WORKER.0)
        .env("TRANSLOG_PASSWORD", WORKER.1)
        .env("TRANSLOG_TRANSACTION_ID", transaction_id);
    command
}

/// Runs the script in `mode` for `transaction_id` as the worker with
/// `password`.
fn run_script(server: &Server, mode: &str, transaction_id: &str, password: &str) -> Output {
    script(&server.url(""), mode, transaction_id)
        .env("TRANSLOG_PASSWORD", password)
        .env("RETRY_DELAY", "0")
        .output()
        .expect("run worker-example.sh")
}

/// Reads a transaction's outcome and its entries as (stage, status, message).
fn read_log(server: &Server, transaction_id: &str) -> (String, Vec<(String, String, String)>) {
    let reply = server.get_as_reader(&format!("/worker/log/{transaction_id}"));
    assert_eq!(reply.status, 200, "log of {transaction_id}: {}", reply.body);
    let log: serde_json::Value = serde_json::from_str(&reply.body).expect("JSON log");
    let entries = log["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|entry| {
            (
                entry["stage"].as_str().unwrap_or_default().to_string(),
                entry["status"].as_str().unwrap_or_default().to_string(),
                entry["message"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    (
        log["outcome"].as_str().unwrap_or_default().to_string(),
        entries,
    )
}

fn stages_and_statuses(entries: &[(String, String, String)]) -> Vec<(&str, &str)> {
    entries
        .iter()
        .map(|(stage, status, _)| (stage.as_str(), status.as_str()))
        .collect()
}

/// Returns from the test when a tool is missing, except under CI (the `CI`
/// variable set), where `.ci/run` installs them all and a missing one fails.
macro_rules! skip_without_tools {
    () => {
        if let Some(tool) = missing_tool() {
            assert!(
                std::env::var_os("CI").is_none(),
                "worker-example.sh needs {tool}, which CI must install"
            );
            eprintln!("skipped: worker-example.sh needs {tool}, which is not installed");
            return;
        }
    };
}

#[test]
fn worker_ok_reports_every_stage() {
    skip_without_tools!();
    let server = Server::start_with_users(&[]);
    let output = run_script(&server, "ok", "verify-ok", WORKER.1);
    assert!(output.status.success(), "{output:?}");
    let (outcome, entries) = read_log(&server, "verify-ok");
    assert_eq!(outcome, "succeeded");
    assert_eq!(
        stages_and_statuses(&entries),
        [
            ("WORKER_INIT", "SUCCESS"),
            ("WORKER_DECOMPRESS", "SUCCESS"),
            ("WORKER_DEENCRYPT", "SUCCESS"),
            ("WORKER_LOAD", "SUCCESS"),
            ("WORKER_END", "SUCCESS"),
        ]
    );
    assert_eq!(entries[4].2, "backup verified, 50 rows");
}

#[test]
fn worker_transient_retries_load() {
    skip_without_tools!();
    let server = Server::start_with_users(&[]);
    let output = run_script(&server, "transient", "verify-retry", WORKER.1);
    assert!(output.status.success(), "{output:?}");
    let (outcome, entries) = read_log(&server, "verify-retry");
    assert_eq!(outcome, "succeeded");
    assert_eq!(
        stages_and_statuses(&entries)[3..],
        [
            ("WORKER_LOAD", "FAIL"),
            ("WORKER_LOAD", "SUCCESS"),
            ("WORKER_END", "WARNING"),
        ]
    );
    assert!(
        entries[3].2.contains("attempt 1 of 3 failed"),
        "{}",
        entries[3].2
    );
    assert!(entries[3].2.contains("Can't connect"), "{}", entries[3].2);
}

#[test]
fn worker_unreachable_ends_fatal() {
    skip_without_tools!();
    let server = Server::start_with_users(&[]);
    let output = run_script(&server, "unreachable", "verify-down", WORKER.1);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let (outcome, entries) = read_log(&server, "verify-down");
    assert_eq!(outcome, "fatal");
    assert_eq!(
        stages_and_statuses(&entries)[3..],
        [
            ("WORKER_LOAD", "FAIL"),
            ("WORKER_LOAD", "FAIL"),
            ("WORKER_LOAD", "FATAL"),
        ]
    );
    assert!(
        entries[5].2.starts_with("gave up after 3 attempts"),
        "{}",
        entries[5].2
    );
}

#[test]
fn worker_corrupt_is_fatal_at_once() {
    skip_without_tools!();
    let server = Server::start_with_users(&[]);
    let output = run_script(&server, "corrupt", "verify-corrupt", WORKER.1);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let (outcome, entries) = read_log(&server, "verify-corrupt");
    assert_eq!(outcome, "fatal");
    assert_eq!(
        stages_and_statuses(&entries),
        [("WORKER_INIT", "SUCCESS"), ("WORKER_DECOMPRESS", "FATAL")]
    );
    assert!(
        entries[1].2.contains("archive is corrupt"),
        "{}",
        entries[1].2
    );
    assert!(!entries[1].2.contains("/tmp/"), "{}", entries[1].2);
}

#[test]
fn worker_wrong_password_exits_3() {
    skip_without_tools!();
    let server = Server::start_with_users(&[]);
    let output = run_script(&server, "ok", "verify-denied", "wrong-password");
    assert_eq!(output.status.code(), Some(3), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("\"error\":\"unauthorized\""), "{stderr}");
    assert_eq!(
        server.get_as_reader("/worker/log/verify-denied").status,
        404
    );
}

#[test]
fn worker_wrong_password_stops_reporting() {
    skip_without_tools!();
    let server = Server::start_with_users(&[]);
    run_script(&server, "ok", "verify-denied", "wrong-password");
    let rejected = request_lines(&server, "\"/worker/log/verify-denied\" 401");
    assert_eq!(rejected, 1, "{}", server.log());
}

/// Counts the request lines of the server's log that contain `fragment`,
/// once the line of a request made now is logged, which comes after the
/// lines of every request that ended before it.
fn request_lines(server: &Server, fragment: &str) -> usize {
    assert_eq!(server.get_as_reader("/worker/log").status, 200);
    assert!(
        server.wait_for_log("GET \"/worker/log\" 200", Duration::from_secs(5)),
        "{}",
        server.log()
    );
    server
        .log()
        .lines()
        .filter(|line| line.contains(fragment))
        .count()
}

/// Runs the script with a base URL that already ends with `/worker/log`.
fn run_with_write_path_in_url(server: &Server) -> Output {
    script(&server.url("/worker/log"), "ok", "verify-url")
        .env("RETRY_DELAY", "0")
        .output()
        .expect("run worker-example.sh")
}

#[test]
fn worker_wrong_url_stops_reporting() {
    skip_without_tools!();
    let server = Server::start_with_users(&[]);
    run_with_write_path_in_url(&server);
    let rejected = request_lines(&server, "\"/worker/log/worker/log/verify-url\" 404");
    assert_eq!(rejected, 1, "{}", server.log());
}

#[test]
fn worker_wrong_url_names_setting() {
    skip_without_tools!();
    let server = Server::start_with_users(&[]);
    let output = run_with_write_path_in_url(&server);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("set TRANSLOG_URL to the server's address alone"),
        "{stderr}"
    );
}

#[test]
fn worker_dot_dot_id_delivers_reports() {
    skip_without_tools!();
    let server = Server::start_with_users(&[]);
    let output = run_script(&server, "ok", "..", WORKER.1);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
}

#[test]
fn worker_rejection_ends_with_newline() {
    skip_without_tools!();
    let server = Server::start_with_users(&[]);
    let output = run_script(&server, "ok", "verify-denied", "wrong-password");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr
            .lines()
            .any(|line| line.starts_with("{\"error\":\"unauthorized\"") && line.ends_with('}')),
        "{stderr}"
    );
}

#[test]
fn worker_missing_settings_exit_2() {
    skip_without_tools!();
    let output = Command::new("bash")
        .arg(SCRIPT)
        .env_remove("TRANSLOG_URL")
        .env_remove("TRANSLOG_USER")
        .env_remove("TRANSLOG_PASSWORD")
        .output()
        .expect("run worker-example.sh");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("set TRANSLOG_URL"));
}

#[test]
fn worker_invalid_transaction_id_exit_2() {
    skip_without_tools!();
    let server = Server::start_with_users(&[]);
    let output = run_script(&server, "ok", "bad id/with slash", WORKER.1);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
}

#[test]
fn worker_invalid_transaction_id_is_quoted() {
    skip_without_tools!();
    let server = Server::start_with_users(&[]);
    let output = run_script(&server, "ok", "abc\r", WORKER.1);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("invalid transaction id $'abc\\r'; use 1 to 128"),
        "{stderr}"
    );
}

#[test]
fn worker_simulate_without_mode_exit_2() {
    skip_without_tools!();
    let output = Command::new("bash")
        .arg(SCRIPT)
        .arg("--simulate")
        .output()
        .expect("run worker-example.sh");
    assert_eq!(output.status.code(), Some(2), "{output:?}");
}

#[test]
fn worker_simulate_without_mode_lists_modes() {
    skip_without_tools!();
    let output = Command::new("bash")
        .arg(SCRIPT)
        .arg("--simulate")
        .output()
        .expect("run worker-example.sh");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("ok, transient, unreachable or corrupt"),
        "{stderr}"
    );
}

#[test]
fn worker_disabled_names_permission() {
    skip_without_tools!();
    let server = Server::start_with_users(&[]);
    let disabled = server.cli(&["user", "disable", WORKER.0], None);
    assert!(disabled.status.success(), "{disabled:?}");
    let output = run_script(&server, "ok", "verify-disabled", WORKER.1);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("may not append entries (HTTP 403)"),
        "{stderr}"
    );
}

/// Counts the established TCP connections whose local port is `port`, as the
/// server's side of each connection that a client opened to it.
fn established_to(port: u16) -> usize {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    let local_port = format!(":{port:04X}");
    table
        .lines()
        .skip(1)
        .filter(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            fields.len() > 3 && fields[1].ends_with(&local_port) && fields[3] == "01"
        })
        .count()
}

#[test]
fn worker_report_survives_server_crash() {
    skip_without_tools!();
    let server = Server::start_with_users(&[]);
    let port = server.addr.port();
    // A stopped server still completes the TCP handshake, so the script's
    // first report is sent and waits for a response that never comes.
    let stopped = Command::new("kill")
        .args(["-STOP", &server.pid().to_string()])
        .status()
        .expect("run kill");
    assert!(stopped.success());
    let script = Command::new("bash")
        .arg(SCRIPT)
        .args(["--simulate", "ok"])
        .env("TRANSLOG_URL", server.url(""))
        .env("TRANSLOG_USER", WORKER.0)
        .env("TRANSLOG_PASSWORD", WORKER.1)
        .env("TRANSLOG_TRANSACTION_ID", "verify-crash")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start worker-example.sh");
    assert!(
        common::wait_until(|| established_to(port) > 0),
        "the script did not connect"
    );

    // The crash resets the connection, so the report's response is lost.
    let dir = server.crash();
    let db = dir.path().join("translog.db");
    let mut command = common::serve_command(&db);
    command.args(["--listen", &format!("127.0.0.1:{port}")]);
    let server = Server::launch(dir, db, command);

    let output = script
        .wait_with_output()
        .expect("wait for worker-example.sh");
    assert!(output.status.success(), "{output:?}");
    let (outcome, entries) = read_log(&server, "verify-crash");
    assert_eq!(outcome, "succeeded");
    assert_eq!(entries.len(), 5, "{entries:?}");
}

/// Runs the script in `ok` mode with one retry a report against a port that
/// accepts each connection and closes it unanswered, as a server that hangs
/// up while it restarts. Returns the script's output and the number of
/// connections it opened.
fn run_against_silent_port() -> (Output, usize) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a port");
    let port = listener.local_addr().expect("bound address").port();
    listener
        .set_nonblocking(true)
        .expect("make the listener non-blocking");
    let finished = Arc::new(AtomicBool::new(false));
    let counter = {
        let finished = Arc::clone(&finished);
        std::thread::spawn(move || {
            let mut connections = 0;
            while !finished.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        connections += 1;
                        drop(stream);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
            connections
        })
    };
    let output = script(&format!("http://127.0.0.1:{port}"), "ok", "verify-silent")
        .env("REPORT_RETRIES", "1")
        .output()
        .expect("run worker-example.sh");
    finished.store(true, Ordering::Relaxed);
    let connections = counter.join().expect("counting thread");
    (output, connections)
}

#[test]
fn worker_tries_once_after_silent_report() {
    skip_without_tools!();
    let (output, connections) = run_against_silent_port();
    // The first of the 5 reports makes 2 tries, the other 4 one each.
    assert_eq!(connections, 6, "{output:?}");
}

#[test]
fn worker_says_server_did_not_answer() {
    skip_without_tools!();
    let (output, _) = run_against_silent_port();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("did not answer; the next reports are tried once each"),
        "{stderr}"
    );
}

#[test]
fn worker_verified_without_reports_exits_3() {
    skip_without_tools!();
    let (output, _) = run_against_silent_port();
    assert_eq!(output.status.code(), Some(3), "{output:?}");
}

/// Runs the script with one setting of the environment set to `value`,
/// against a running server.
fn run_with_setting(server: &Server, name: &str, value: &str) -> Output {
    script(&server.url(""), "ok", "verify-setting")
        .env(name, value)
        .output()
        .expect("run worker-example.sh")
}

/// Settings that the script rejects before its first report.
const INVALID_SETTINGS: [(&str, &str); 6] = [
    ("REPORT_RETRIES", "five"),
    ("LOAD_ATTEMPTS", "abc"),
    ("LOAD_ATTEMPTS", "0"),
    ("RETRY_DELAY", "abc"),
    ("RETRY_DELAY", "-1"),
    ("RETRY_DELAY", "1.5"),
];

#[test]
fn worker_invalid_setting_exits_2() {
    let server = Server::start_with_users(&[]);
    for (name, value) in INVALID_SETTINGS {
        let output = run_with_setting(&server, name, value);
        assert_eq!(output.status.code(), Some(2), "{name}={value}: {output:?}");
    }
}

#[test]
fn worker_invalid_setting_reports_nothing() {
    let server = Server::start_with_users(&[]);
    for (name, value) in INVALID_SETTINGS {
        run_with_setting(&server, name, value);
    }
    let reply = server.get("/worker/log/verify-setting", Some(server.admin()));
    assert_eq!(reply.status, 404, "{}", reply.body);
}

#[test]
fn worker_load_attempts_with_leading_zero_is_decimal() {
    skip_without_tools!();
    let server = Server::start_with_users(&[]);
    // A count read as octal fails every comparison, and the retries never
    // end, so `timeout` bounds the run.
    let output = Command::new("timeout")
        .args(["60", "bash", SCRIPT])
        .args(["--simulate", "unreachable"])
        .env("TRANSLOG_URL", server.url(""))
        .env("TRANSLOG_USER", WORKER.0)
        .env("TRANSLOG_PASSWORD", WORKER.1)
        .env("TRANSLOG_TRANSACTION_ID", "verify-zero")
        .env("LOAD_ATTEMPTS", "08")
        .env("RETRY_DELAY", "0")
        .output()
        .expect("run worker-example.sh");
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let (_, entries) = read_log(&server, "verify-zero");
    let loads = entries
        .iter()
        .filter(|(stage, _, _)| stage == "WORKER_LOAD")
        .count();
    assert_eq!(loads, 8, "{entries:?}");
}
