//! The alerts of `serve --notify-command`, against the real binary.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{run_command, serve_command, timestamp_from_now, wait_until, Server};

/// Runs `serve` on a new database with `args` and `env`, and returns its exit
/// code and standard error.
fn serve_fails(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut command: Command = serve_command(&dir.path().join("translog.db"));
    command
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .envs(env.iter().copied());
    let output = run_command(command, None);
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn empty_notify_command_is_rejected() {
    let (code, _) = serve_fails(&["--notify-command", ""], &[]);
    assert_eq!(code, Some(2));
}

#[test]
fn empty_notify_command_says_how_to_run_none() {
    let (_, stderr) = serve_fails(&["--notify-command", ""], &[]);
    assert!(
        stderr.contains("leave out both --notify-command and TRANSLOG_NOTIFY_COMMAND"),
        "{stderr}"
    );
}

#[test]
fn blank_notify_variable_is_rejected() {
    let (code, stderr) = serve_fails(&[], &[("TRANSLOG_NOTIFY_COMMAND", "   ")]);
    assert_eq!(code, Some(2), "{stderr}");
}

#[test]
fn blank_notify_variable_is_named() {
    let (_, stderr) = serve_fails(&[], &[("TRANSLOG_NOTIFY_COMMAND", "   ")]);
    assert!(stderr.contains("the notify command is empty"), "{stderr}");
}

/// Returns a notify command that appends the alert's variables as one line to `file`.
fn recording_command(file: &Path) -> String {
    format!(
        "printf '%s|%s|%s|%s|%s\\n' \"$TRANSLOG_TRANSACTION_ID\" \"$TRANSLOG_OUTCOME\" \
         \"$TRANSLOG_STAGE\" \"$TRANSLOG_STATUS\" \"$TRANSLOG_MESSAGE\" >> '{}'",
        file.display()
    )
}

/// Counts the lines of the file at `path` that contain `needle`.
fn count_lines_with(path: &Path, needle: &str) -> usize {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|line| line.contains(needle))
        .count()
}

/// Posts a `WORKER_INIT` entry to `id` and returns the status.
fn post_init(server: &Server, id: &str) -> u16 {
    server
        .post_worker_entry(
            id,
            &timestamp_from_now(0),
            "WORKER_INIT",
            "SUCCESS",
            "started",
        )
        .status
}

/// Returns the `serve` arguments of a server whose stall period is
/// `stall_after` and whose notify command records each alert in `alerts`.
fn recorder_args(stall_after: &str, alerts: &Path) -> Vec<String> {
    vec![
        "--stall-after".to_string(),
        stall_after.to_string(),
        "--notify-command".to_string(),
        recording_command(alerts),
    ]
}

/// Returns `args` as string slices, as the `Server` functions take them.
fn as_strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

/// Returns a directory for the alerts file, which outlives the servers of a
/// test, and the file's path.
fn alerts_file() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("alerts.txt");
    (dir, file)
}

#[test]
fn stall_while_stopped_alerted_after_start() {
    let (_alerts_dir, alerts) = alerts_file();
    let args = recorder_args("2s", &alerts);
    let first = Server::start_with_users(&as_strs(&args));
    assert_eq!(post_init(&first, "tx-down"), 200);
    let (_, dir) = first.stop();
    // tx-down stalls while no server runs.
    std::thread::sleep(std::time::Duration::from_millis(2500));

    let _server = Server::start_in(dir, &as_strs(&args));
    assert!(
        wait_until(|| count_lines_with(&alerts, "tx-down|stalled|") >= 1),
        "no alert for tx-down"
    );
}

#[test]
fn stall_alerted_before_restart_not_repeated() {
    let (_alerts_dir, alerts) = alerts_file();
    let args = recorder_args("1s", &alerts);
    let first = Server::start_with_users(&as_strs(&args));
    assert_eq!(post_init(&first, "tx-once"), 200);
    assert!(
        wait_until(|| count_lines_with(&alerts, "tx-once|") >= 1),
        "no alert for tx-once"
    );
    let (_, dir) = first.stop();

    let server = Server::start_in(dir, &as_strs(&args));
    // tx-later stalls after tx-once, so a second alert for tx-once would be
    // queued before the alert for tx-later.
    assert_eq!(post_init(&server, "tx-later"), 200);
    assert!(
        wait_until(|| count_lines_with(&alerts, "tx-later|") >= 1),
        "no alert for tx-later"
    );
    assert_eq!(count_lines_with(&alerts, "tx-once|"), 1);
}

#[test]
fn stall_without_notify_command_not_alerted() {
    let (_alerts_dir, alerts) = alerts_file();
    let args = recorder_args("1s", &alerts);
    let (_, dir) = Server::start_with_users(&as_strs(&args)).stop();

    // A run without a notify command: tx-quiet stalls while alerts are off.
    let quiet = Server::start_in(dir, &["--stall-after", "1s"]);
    assert_eq!(post_init(&quiet, "tx-quiet"), 200);
    assert!(wait_until(
        || quiet.outcome("tx-quiet").as_deref() == Some("stalled")
    ));
    let (_, dir) = quiet.stop();

    let server = Server::start_in(dir, &as_strs(&args));
    assert_eq!(post_init(&server, "tx-after"), 200);
    assert!(
        wait_until(|| count_lines_with(&alerts, "tx-after|") >= 1),
        "no alert for tx-after"
    );
    assert_eq!(count_lines_with(&alerts, "tx-quiet|"), 0);
}
