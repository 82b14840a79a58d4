//! The alerts of `serve --notify-command` against the real binary: fatal and
//! stalled alerts, stalls across restarts, and the limits and metrics of the
//! command runners.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{
    run_command, serve_command, timestamp_from_now, wait_until, Server, BACKGROUND_TIMEOUT, READER,
    WORKER,
};

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

#[test]
fn notify_fatal_runs_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let alerts = dir.path().join("alerts.txt");
    let server = Server::start_with_users(&["--notify-command", &recording_command(&alerts)]);
    let post = |id: &str, message: &str| {
        server
            .post_worker_entry(id, &timestamp_from_now(0), "WORKER_LOAD", "FATAL", message)
            .status
    };

    assert_eq!(post("tx-a", "table t is corrupt"), 200);
    assert!(
        wait_until(|| count_lines_with(&alerts, "tx-a|") >= 1),
        "no alert for tx-a"
    );
    assert_eq!(post("tx-a", "second report"), 200);
    // The storage thread handles entries in order, so once the alert of a later
    // transaction is written, a second alert for tx-a would have been started.
    assert_eq!(post("tx-b", "sentinel"), 200);
    assert!(
        wait_until(|| count_lines_with(&alerts, "tx-b|") >= 1),
        "no alert for tx-b"
    );

    assert_eq!(count_lines_with(&alerts, "tx-a|"), 1);
    let text = std::fs::read_to_string(&alerts).expect("alerts file");
    assert!(text
        .lines()
        .any(|line| line == "tx-a|fatal|WORKER_LOAD|FATAL|table t is corrupt"));
}

/// Starts a server whose stall period is 1 s and whose notify command records
/// each alert in a file (see [`recording_command`]). Returns the file's
/// directory, which removes the file when dropped, the file and the server.
fn start_stall_recorder() -> (tempfile::TempDir, std::path::PathBuf, Server) {
    let dir = tempfile::tempdir().expect("temp dir");
    let alerts = dir.path().join("alerts.txt");
    let server = Server::start_with_users(&[
        "--stall-after",
        "1s",
        "--notify-command",
        &recording_command(&alerts),
    ]);
    (dir, alerts, server)
}

/// Posts a `SUCCESS` entry at `stage` to `id`, with the message `step done`,
/// and returns the status.
fn post_step(server: &Server, id: &str, stage: &str) -> u16 {
    server
        .post_worker_entry(id, &timestamp_from_now(0), stage, "SUCCESS", "step done")
        .status
}

/// Posts a `WORKER_INIT` entry to `tx-s` on `server` and waits for its
/// stalled alert in `alerts`.
fn stall_first_transaction(server: &Server, alerts: &std::path::Path) {
    assert_eq!(post_step(server, "tx-s", "WORKER_INIT"), 200);
    assert!(
        wait_until(|| count_lines_with(alerts, "tx-s|") >= 1),
        "no alert for tx-s"
    );
}

#[test]
fn notify_stalled_runs_once() {
    let (_dir, alerts, server) = start_stall_recorder();
    stall_first_transaction(&server, &alerts);
    let text = std::fs::read_to_string(&alerts).expect("alerts file");
    assert!(text
        .lines()
        .any(|line| line == "tx-s|stalled|WORKER_INIT|SUCCESS|step done"));

    // Two later transactions stall after tx-s and are checked in later rounds
    // of the watcher, so any second alert for tx-s would be written by then.
    for sentinel in ["tx-t", "tx-u"] {
        assert_eq!(post_step(&server, sentinel, "WORKER_INIT"), 200);
        assert!(
            wait_until(|| count_lines_with(&alerts, &format!("{sentinel}|")) >= 1),
            "no alert for {sentinel}"
        );
    }
    assert_eq!(count_lines_with(&alerts, "tx-s|"), 1);
}

#[test]
fn notify_stalled_again_after_entry() {
    let (_dir, alerts, server) = start_stall_recorder();
    stall_first_transaction(&server, &alerts);
    // A late entry makes tx-s running again, and it stalls a second time.
    assert_eq!(post_step(&server, "tx-s", "WORKER_DECOMPRESS"), 200);
    assert!(
        wait_until(|| count_lines_with(&alerts, "tx-s|") >= 2),
        "no second alert for tx-s"
    );
    let text = std::fs::read_to_string(&alerts).expect("alerts file");
    assert!(text
        .lines()
        .any(|line| line == "tx-s|stalled|WORKER_DECOMPRESS|SUCCESS|step done"));
}

#[test]
fn notify_skips_stalled_before_start() {
    let alerts_dir = tempfile::tempdir().expect("temp dir");
    let alerts = alerts_dir.path().join("alerts.txt");
    let first = Server::start_with_users(&["--stall-after", "1s"]);
    let post = |server: &Server, id: &str| {
        server
            .post_worker_entry(id, &timestamp_from_now(0), "WORKER_INIT", "SUCCESS", "")
            .status
    };
    assert_eq!(post(&first, "tx-old"), 200);
    assert!(wait_until(
        || first.outcome("tx-old").as_deref() == Some("stalled")
    ));
    let (_, dir) = first.stop();

    let server = Server::start_in(
        dir,
        &[
            "--stall-after",
            "1s",
            "--notify-command",
            &recording_command(&alerts),
        ],
    );
    // tx-new stalls after tx-old, so an alert for tx-old would be queued first.
    assert_eq!(post(&server, "tx-new"), 200);
    assert!(
        wait_until(|| count_lines_with(&alerts, "tx-new|") >= 1),
        "no alert for tx-new"
    );
    assert_eq!(count_lines_with(&alerts, "tx-old|"), 0);
}

#[test]
fn notify_failing_command_is_logged() {
    let server =
        Server::start_with_users(&["--notify-command", "echo 'mail server down' >&2; exit 3"]);
    assert_eq!(
        server
            .post_worker_entry(
                "tx-f",
                &timestamp_from_now(0),
                "WORKER_LOAD",
                "FATAL",
                "broken"
            )
            .status,
        200
    );
    let logged = wait_until(|| {
        server.log().lines().any(|line| {
            line.contains("notify command for transaction tx-f (fatal) failed")
                && line.contains("exit status: 3")
        })
    });
    assert!(logged, "log:\n{}", server.log());
}

/// Starts a server with `command` as its notify command, posts a FATAL entry
/// with `message` to `id`, and waits until the log has a line that ends the
/// alert (`ran`, `failed` or `timed out`). Returns the server.
fn run_notify_command(command: &str, id: &str, message: &str) -> Server {
    let server = Server::start_with_users(&["--notify-command", command]);
    let status = server
        .post_worker_entry(id, &timestamp_from_now(0), "WORKER_LOAD", "FATAL", message)
        .status;
    assert_eq!(status, 200);
    let subject = format!("notify command for transaction {id} (fatal)");
    let ended = wait_until(|| {
        server.log().lines().any(|line| {
            line.contains(&format!("{subject} ran"))
                || line.contains(&format!("{subject} failed"))
                || line.contains(&format!("{subject} timed out"))
        })
    });
    assert!(ended, "no end of the alert in the log:\n{}", server.log());
    server
}

#[test]
fn notify_stdout_is_logged_with_id() {
    let server = run_notify_command("echo out; echo err >&2; exit 3", "tx-o", "broken");
    let expected = "notify command for transaction tx-o (fatal) wrote to stdout: \"out\"";
    assert!(server.log().contains(expected), "log:\n{}", server.log());
}

#[test]
fn notify_failure_line_has_stderr() {
    let server = run_notify_command("echo out; echo err >&2; exit 3", "tx-o", "broken");
    let expected =
        "notify command for transaction tx-o (fatal) failed: exit status: 3; stderr: \"err\"";
    assert!(server.log().contains(expected), "log:\n{}", server.log());
}

#[test]
fn notify_output_has_no_bare_lines() {
    let server = run_notify_command("echo out; echo err >&2; exit 3", "tx-o", "broken");
    let log = server.log();
    for bare in ["out", "err"] {
        assert!(
            !log.lines().any(|line| line.trim() == bare),
            "bare line {bare:?} in the log:\n{log}"
        );
    }
}

#[test]
fn notify_stderr_of_success_is_logged() {
    let server = run_notify_command("echo 'retrying once' >&2", "tx-w", "broken");
    let expected = "notify command for transaction tx-w (fatal) wrote to stderr: \"retrying once\"";
    assert!(server.log().contains(expected), "log:\n{}", server.log());
}

#[test]
fn notify_output_cannot_forge_log_lines() {
    let forged = "[2026-12-04T00:00:00Z ERROR translog] forged line";
    let message = format!("disk full\n{forged}\r\n\u{1b}[2Khidden");
    let command = r#"printf '%s\n' "$TRANSLOG_MESSAGE"; printf '%s\n' "$TRANSLOG_MESSAGE" >&2"#;
    let server = run_notify_command(command, "tx-x", &message);
    let log = server.log();
    assert!(
        !log.lines().any(|line| line.starts_with(forged)),
        "forged line in the log:\n{log}"
    );
    // The forged text appears only escaped, after the message's `\n`, in the
    // lines of the command's output and in the line of the fatal entry.
    let embedded = format!(r"disk full\n{forged}");
    for line in log.lines().filter(|line| line.contains("forged line")) {
        assert!(
            line.contains(&embedded),
            "unescaped output in the log: {line:?}"
        );
    }
    let escaped =
        r#""disk full\n[2026-12-04T00:00:00Z ERROR translog] forged line\r\n\u{1b}[2Khidden""#;
    for stream in ["stdout", "stderr"] {
        let expected = format!("wrote to {stream}: {escaped}");
        assert!(
            log.contains(&expected),
            "{stream} not escaped in the log:\n{log}"
        );
    }
}

#[test]
fn notify_invalid_utf8_output_keeps_bytes() {
    let server = run_notify_command(r"printf 'ok\377\376'", "tx-u", "broken");
    let expected = r#"(fatal) wrote to stdout: "ok\xff\xfe""#;
    let log = server.log();
    assert!(log.contains(expected), "{log}");
}

/// Runs a notify command that writes its environment to a file, for a FATAL
/// entry with `message`, and returns the file's lines.
fn alert_environment(message: &str) -> Vec<String> {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("environment.txt");
    let command = format!("env > '{}'", file.display());
    let _server = run_notify_command(&command, "tx-env", message);
    let text = std::fs::read_to_string(&file).expect("read the environment");
    text.lines().map(str::to_string).collect()
}

#[test]
fn notify_message_nul_is_replaced() {
    let environment = alert_environment("mysql\0error");
    let expected = "TRANSLOG_MESSAGE=mysql\u{FFFD}error";
    assert!(
        environment.iter().any(|line| line == expected),
        "{environment:?}"
    );
}

#[test]
fn notify_message_without_nul_is_kept() {
    let environment = alert_environment("mysql error");
    let expected = "TRANSLOG_MESSAGE=mysql error";
    assert!(
        environment.iter().any(|line| line == expected),
        "{environment:?}"
    );
}

#[test]
fn notify_large_output_is_cut() {
    let server = run_notify_command("head -c 100000 /dev/zero | tr '\\0' a", "tx-l", "broken");
    let log = server.log();
    let line = log
        .lines()
        .find(|line| line.contains("(fatal) wrote to stdout: "))
        .unwrap_or_else(|| panic!("no output line in the log:\n{log}"));
    assert!(line.len() < 4096 + 300, "line of {} bytes", line.len());
    assert!(
        line.ends_with(" and 95904 more bytes, not logged"),
        "{line}"
    );
    assert!(log.contains("notify command for transaction tx-l (fatal) ran"));
}

#[test]
fn notify_background_process_does_not_delay_log() {
    let dir = tempfile::tempdir().expect("temp dir");
    let pid_file = dir.path().join("pid");
    // The background sleep has the command's stdout open for 30 s.
    let command = format!("sleep 30 & echo $! > '{}'; echo early", pid_file.display());
    let started = std::time::Instant::now();
    let server = run_notify_command(&command, "tx-b", "broken");
    let elapsed = started.elapsed();
    if let Ok(pid) = std::fs::read_to_string(&pid_file) {
        let _ = std::process::Command::new("kill").arg(pid.trim()).status();
    }
    assert!(elapsed < std::time::Duration::from_secs(15), "{elapsed:?}");
    let expected = "notify command for transaction tx-b (fatal) wrote to stdout: \"early\" \
                    (logged before the stream closed";
    assert!(server.log().contains(expected), "log:\n{}", server.log());
}

// Limits and metrics of the notify command

/// The notify commands that run at once, and the alerts that wait for them
/// before more are dropped.
const NOTIFY_RUNNERS: usize = 4;
const NOTIFY_QUEUE_CAPACITY: usize = 1000;

/// Returns the value of `translog_alerts_total` for `outcome` and `result`
/// in `GET /metrics`, or `None` when the series is missing.
fn alert_count(server: &Server, outcome: &str, result: &str) -> Option<f64> {
    let series = format!("translog_alerts_total{{outcome=\"{outcome}\",result=\"{result}\"}} ");
    let body = server.get_as_reader("/metrics").body;
    let line = body.lines().find(|line| line.starts_with(&series))?;
    line[series.len()..].parse().ok()
}

/// Posts a FATAL entry to each of `count` transactions, from four threads at once.
fn post_fatal_transactions(server: &Server, count: usize) {
    const THREADS: usize = 4;
    std::thread::scope(|scope| {
        for first in 0..THREADS {
            scope.spawn(move || {
                for number in (first..count).step_by(THREADS) {
                    let id = format!("tx-{number:04}");
                    let status = server
                        .post_worker_entry(&id, &timestamp_from_now(0), "WORKER_LOAD", "FATAL", "")
                        .status;
                    assert_eq!(status, 200, "posting {id}");
                }
            });
        }
    });
}

/// Starts a server with `args` whose notify command runs while the file
/// `hold` in the server's directory exists, at most 30 s, and posts enough
/// FATAL entries to fill every runner and the queue, and `overflow` more.
/// Dropping the server removes the file and so ends the commands.
fn fill_notify_queue(overflow: usize, args: &[&str]) -> Server {
    let dir = tempfile::tempdir().expect("temp dir");
    let hold = dir.path().join("hold");
    std::fs::write(&hold, "").expect("write the hold file");
    let command = format!(
        "i=0; while [ -e '{}' ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done",
        hold.display()
    );
    let mut server_args = vec!["--notify-command", &command];
    server_args.extend_from_slice(args);
    let server = Server::start_in(dir, &server_args);
    server.add_user(READER.0, "reader");
    server.add_user(WORKER.0, "worker");
    post_fatal_transactions(&server, NOTIFY_RUNNERS + NOTIFY_QUEUE_CAPACITY + overflow);
    server
}

/// Waits until `translog_alerts_total` counts `count` fatal alerts with
/// `result`.
fn wait_for_alert_count(server: &Server, result: &str, count: usize) -> bool {
    wait_until(|| alert_count(server, "fatal", result) == Some(count as f64))
}

#[test]
fn metrics_render_every_alert_series() {
    let server = Server::start_with_users(&[]);
    for outcome in ["fatal", "stalled"] {
        for result in ["ok", "failed", "timed_out", "dropped"] {
            assert_eq!(
                alert_count(&server, outcome, result),
                Some(0.0),
                "{outcome} {result}"
            );
        }
    }
}

#[test]
fn notify_successful_command_is_counted() {
    let server = run_notify_command("true", "tx-k", "broken");
    let counted = wait_for_alert_count(&server, "ok", 1);
    assert!(counted, "ok: {:?}", alert_count(&server, "fatal", "ok"));
}

#[test]
fn notify_failing_command_is_counted() {
    let server = run_notify_command("exit 3", "tx-f", "broken");
    let counted = wait_for_alert_count(&server, "failed", 1);
    assert!(
        counted,
        "failed: {:?}",
        alert_count(&server, "fatal", "failed")
    );
}

#[test]
fn notify_runs_at_most_four_at_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let events = dir.path().join("events.txt");
    // Each command appends `start` after it starts and `end` before it exits,
    // so the lines never show more commands at once than really ran. The
    // sleep makes commands that run together overlap in the file.
    let command = format!(
        "echo start >> '{0}'; sleep 0.3; echo end >> '{0}'",
        events.display()
    );
    let server = Server::start_with_users(&["--notify-command", &command]);
    let alerts = 3 * NOTIFY_RUNNERS;
    post_fatal_transactions(&server, alerts);
    assert!(
        wait_until(|| count_lines_with(&events, "end") == alerts),
        "events:\n{}",
        std::fs::read_to_string(&events).unwrap_or_default()
    );

    let text = std::fs::read_to_string(&events).expect("events file");
    let mut running = 0;
    let mut max_running = 0;
    for line in text.lines() {
        match line {
            "start" => running += 1,
            "end" => running -= 1,
            other => panic!("unexpected line {other:?}"),
        }
        max_running = max_running.max(running);
    }
    assert!(max_running <= NOTIFY_RUNNERS, "{max_running} ran at once");
}

#[test]
fn notify_full_queue_drops_alerts() {
    let server = fill_notify_queue(6, &[]);
    assert!(
        wait_for_alert_count(&server, "dropped", 6),
        "dropped: {:?}",
        alert_count(&server, "fatal", "dropped")
    );
}

#[test]
fn dropped_fatal_alerts_run_once_queue_has_room() {
    let server = fill_notify_queue(2, &["--stall-after", "4s"]);
    assert!(wait_for_alert_count(&server, "dropped", 2));
    // The runners' commands end once the hold file is gone.
    std::fs::remove_file(server.dir().join("hold")).expect("remove the hold file");
    let all = (NOTIFY_RUNNERS + NOTIFY_QUEUE_CAPACITY + 2) as f64;
    assert!(wait_until(
        || alert_count(&server, "fatal", "ok").is_some_and(|count| count >= all)
    ));
    // A second run of an alert would follow within a check interval.
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert_eq!(alert_count(&server, "fatal", "ok"), Some(all));
}

#[test]
fn notify_full_queue_delays_stalled_alert() {
    let server = fill_notify_queue(0, &["--stall-after", "1s"]);
    let status = server
        .post_worker_entry(
            "tx-late",
            &timestamp_from_now(0),
            "WORKER_INIT",
            "SUCCESS",
            "",
        )
        .status;
    assert_eq!(status, 200);
    let waiting = server.wait_for_log(
        "stalled alerts from transaction tx-late on wait for the next check",
        BACKGROUND_TIMEOUT,
    );
    assert!(waiting, "log:\n{}", server.log());

    std::fs::remove_file(server.dir().join("hold")).expect("remove the hold file");
    let sent = wait_until(|| alert_count(&server, "stalled", "ok") == Some(1.0));
    assert!(sent, "ok: {:?}", alert_count(&server, "stalled", "ok"));
    assert_eq!(alert_count(&server, "stalled", "dropped"), Some(0.0));
}

#[test]
fn notify_drops_log_one_warning() {
    let server = fill_notify_queue(6, &[]);
    assert!(wait_for_alert_count(&server, "dropped", 6));
    let log = server.log();
    let warnings = log
        .lines()
        .filter(|line| {
            line.contains("alerts were already waiting for the 4 notify command runners")
        })
        .count();
    assert_eq!(warnings, 1, "log:\n{log}");
}

/// Returns the sum of the counts of the log's `dropped N alerts` warnings.
fn dropped_in_log(log: &str) -> u64 {
    log.lines()
        .filter_map(|line| line.split_once("] dropped ")?.1.split(' ').next())
        .filter_map(|count| count.parse::<u64>().ok())
        .sum()
}

#[test]
fn notify_drops_logged_after_interval() {
    let server = fill_notify_queue(6, &[]);
    assert!(wait_for_alert_count(&server, "dropped", 6));
    // Ten seconds after the first warning, and well before the commands of
    // fill_notify_queue end, whose end would log the drops too.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while dropped_in_log(&server.log()) < 6 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(dropped_in_log(&server.log()), 6, "log:\n{}", server.log());
}

#[test]
fn notify_drops_logged_at_stop() {
    let server = fill_notify_queue(6, &[]);
    assert!(wait_for_alert_count(&server, "dropped", 6));
    let sent = Command::new("kill")
        .args(["-TERM", &server.pid().to_string()])
        .status()
        .expect("run kill");
    assert!(sent.success());
    assert!(
        server.wait_for_log("translog stopped", BACKGROUND_TIMEOUT),
        "{}",
        server.log()
    );
    assert_eq!(dropped_in_log(&server.log()), 6, "log:\n{}", server.log());
}

#[test]
fn running_verdict_counts_latest_arrival() {
    let server = Server::start_with_users(&[]);
    let now = timestamp_from_now(0);
    let earlier = timestamp_from_now(-3600);
    server.post_worker_entry("tx-late", &now, "WORKER_INIT", "SUCCESS", "");
    std::thread::sleep(std::time::Duration::from_millis(2100));
    server.post_worker_entry("tx-late", &earlier, "WORKER_LOAD", "FAIL", "retry");
    let body = server.get_as_reader("/transactions/tx-late").body;
    let verdict_age = body
        .split("last entry received ")
        .nth(1)
        .and_then(|rest| rest.split('.').next())
        .unwrap_or_default();
    let field_age = body
        .split("<dt>Last received</dt>")
        .nth(1)
        .and_then(|rest| rest.split('(').nth(1))
        .and_then(|rest| rest.split(')').next())
        .unwrap_or_default();
    assert!(!verdict_age.is_empty(), "{body}");
    assert_eq!(verdict_age, field_age, "{body}");
}

/// Posts a `FATAL` entry without a message to `id`, and checks its `200`.
fn post_fatal(server: &Server, id: &str) {
    let reply = server.post_worker_entry(id, &timestamp_from_now(0), "WORKER_LOAD", "FATAL", "");
    assert_eq!(reply.status, 200, "{}", reply.body);
}

/// Sends SIGTERM to the process, or with a negative id to the process
/// group, `target`.
fn send_sigterm(target: &str) {
    let sent = Command::new("kill")
        .args(["-TERM", "--", target])
        .status()
        .expect("run kill");
    assert!(sent.success(), "kill -TERM {target}");
}

/// Sends SIGTERM to the process group of each notify command in
/// `commands`, as systemd does to the processes of a unit that it stops.
fn stop_commands(commands: &[String]) {
    for command in commands {
        send_sigterm(&format!("-{command}"));
    }
}

/// Starts a server whose notify command sleeps 5 s, and posts a `FATAL`
/// entry to each of `count` transactions named `PREFIX-N`, so that four
/// alerts run and the others wait. Returns once the last one turned fatal.
fn start_with_slow_alerts(prefix: &str, count: usize) -> Server {
    let server = Server::start_with_users(&["--notify-command", "sleep 5"]);
    for number in 0..count {
        let reply = server.post_worker_entry(
            &format!("{prefix}-{number}"),
            &timestamp_from_now(0),
            "WORKER_LOAD",
            "FATAL",
            "table t is corrupt",
        );
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
    let last = format!("transaction {prefix}-{} turned fatal", count - 1);
    assert!(server.wait_for_log(&last, BACKGROUND_TIMEOUT));
    server
}

/// Starts a server with 8 fatal alerts, four of them waiting (see
/// [`start_with_slow_alerts`]), and sends it SIGTERM.
fn stop_with_waiting_alerts() -> Server {
    let server = start_with_slow_alerts("tx-wait", 8);
    send_sigterm(&server.pid().to_string());
    server
}

#[test]
fn alerts_waiting_at_stop_are_logged() {
    let server = stop_with_waiting_alerts();
    assert!(
        server.wait_for_log(
            "alerts still waiting for the notify command were not run",
            BACKGROUND_TIMEOUT
        ),
        "{}",
        server.log()
    );
}

#[test]
fn alerts_waiting_at_stop_name_transactions() {
    let server = stop_with_waiting_alerts();
    assert!(server.wait_for_log("were not run", BACKGROUND_TIMEOUT));
    let log = server.log();
    let line = log.lines().find(|line| line.contains("were not run"));
    assert!(line.is_some_and(|line| line.contains("tx-wait-7")), "{log}");
}

#[test]
fn fatal_alerts_waiting_at_stop_run_after_restart() {
    let (_alerts_dir, alerts) = alerts_file();
    let (_, dir) = stop_with_waiting_alerts().wait_for_exit();
    let _server = Server::start_in(dir, &["--notify-command", &recording_command(&alerts)]);
    assert!(
        wait_until(|| count_lines_with(&alerts, "tx-wait-7|fatal|") == 1),
        "no alert for tx-wait-7"
    );
}

/// The start of the line that a server logs when it runs the fatal alerts
/// that an earlier run left.
const RESUMED_ALERTS: &str = "that an earlier run of the server did not run";

/// Starts a server with 6 fatal alerts, four of them running and two
/// waiting (see [`start_with_slow_alerts`]), and kills it with SIGKILL.
/// Returns the directory of its database.
fn kill_with_pending_alerts() -> tempfile::TempDir {
    let server = start_with_slow_alerts("tx-kill", 6);
    let (_, dir) = server.stop_with("KILL");
    dir
}

#[test]
fn fatal_alerts_left_by_crash_run_after_restart() {
    let (_alerts_dir, alerts) = alerts_file();
    let dir = kill_with_pending_alerts();
    let _server = Server::start_in(dir, &["--notify-command", &recording_command(&alerts)]);
    for number in 0..6 {
        let line = format!("tx-kill-{number}|fatal|WORKER_LOAD|FATAL|table t is corrupt");
        assert!(
            wait_until(|| count_lines_with(&alerts, &line) == 1),
            "no alert for tx-kill-{number}"
        );
    }
}

/// Returns the process ids of the children of process `pid`.
fn children(pid: u32) -> Vec<String> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).expect("read the tasks");
    tasks
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("children")).ok())
        .flat_map(|text| {
            text.split_whitespace()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn signalled_alert_reruns_after_restart() {
    let (_alerts_dir, alerts) = alerts_file();
    let server = start_with_slow_alerts("tx-unit", 1);
    assert!(wait_until(|| !children(server.pid()).is_empty()));
    // As systemd stops a unit: SIGTERM to the command's process group and
    // to the server.
    stop_commands(&children(server.pid()));
    assert!(server.wait_for_log("stays pending", BACKGROUND_TIMEOUT));
    let (_, dir) = server.stop();

    let _server = Server::start_in(dir, &["--notify-command", &recording_command(&alerts)]);
    assert!(
        wait_until(|| count_lines_with(&alerts, "tx-unit-0|fatal|") == 1),
        "no alert for tx-unit-0"
    );
}

#[test]
fn pending_alert_of_deleted_log_is_removed() {
    let dir = kill_with_pending_alerts();
    let db = dir.path().join("translog.db");
    let deleted = common::run_cli(&db, &["log", "delete", "tx-kill-5"], None);
    assert!(deleted.status.success(), "{deleted:?}");

    let server = Server::start_in(dir, &["--notify-command", "true"]);
    assert!(
        server
            .log()
            .contains("removed 1 pending fatal alert whose transaction was deleted"),
        "{}",
        server.log()
    );
}

#[test]
fn command_ending_during_stop_is_not_repeated() {
    let server = Server::start_with_users(&["--notify-command", "sleep 1"]);
    post_fatal(&server, "tx-stop");
    assert!(wait_until(|| !children(server.pid()).is_empty()));
    assert_eq!(pending_alert_count(&server.db), 1);
    let db = server.db.clone();
    let (_, _dir) = server.stop();
    assert_eq!(pending_alert_count(&db), 0);
}

#[test]
fn failing_alert_at_stop_reruns() {
    let (_alerts_dir, alerts) = alerts_file();
    // A command that cleans up and exits 1 on SIGTERM, as scripts often do.
    let trapping = "trap 'exit 1' TERM; sleep 5 & wait";
    let server = Server::start_with_users(&["--notify-command", trapping]);
    post_fatal(&server, "tx-trap");
    assert!(wait_until(|| !children(server.pid()).is_empty()));
    let commands = children(server.pid());
    send_sigterm(&server.pid().to_string());
    assert!(server.wait_for_log("shutting down", BACKGROUND_TIMEOUT));
    stop_commands(&commands);
    let (_, dir) = server.wait_for_exit();

    let _server = Server::start_in(dir, &["--notify-command", &recording_command(&alerts)]);
    assert!(
        wait_until(|| count_lines_with(&alerts, "tx-trap|fatal|") == 1),
        "no alert for tx-trap"
    );
}

#[test]
fn fatal_alert_run_is_not_repeated_after_restart() {
    let (_alerts_dir, alerts) = alerts_file();
    let args = ["--notify-command".to_string(), recording_command(&alerts)];
    let first = Server::start_with_users(&as_strs(&args));
    post_fatal(&first, "tx-once");
    assert!(wait_for_alert_count(&first, "ok", 1));
    let (_, dir) = first.stop();

    let server = Server::start_in(dir, &as_strs(&args));
    assert!(!server.log().contains(RESUMED_ALERTS), "{}", server.log());
}

#[test]
fn pending_alerts_removed_without_notify_command() {
    let dir = kill_with_pending_alerts();
    let server = Server::start_in(dir, &[]);
    assert!(
        server
            .log()
            .contains("removed 6 pending fatal alerts of an earlier run"),
        "{}",
        server.log()
    );
}

/// Counts the pending fatal alerts of the database at `db`.
fn pending_alert_count(db: &Path) -> i64 {
    let connection = rusqlite::Connection::open(db).expect("open the database");
    connection
        .query_row("SELECT count(*) FROM pending_fatal_alerts", [], |row| {
            row.get(0)
        })
        .expect("count the pending alerts")
}

#[test]
fn pending_alerts_without_key_column_are_replaced() {
    let (_, dir) = Server::start_with_users(&[]).stop();
    let db = dir.path().join("translog.db");
    let connection = rusqlite::Connection::open(&db).expect("open the database");
    connection
        .execute_batch(
            "DROP TABLE pending_fatal_alerts;
             CREATE TABLE pending_fatal_alerts (transaction_id TEXT PRIMARY KEY,
                 stage TEXT NOT NULL, status TEXT NOT NULL, message TEXT) WITHOUT ROWID;",
        )
        .expect("create the table without its key column");
    drop(connection);

    let server = Server::start_in(dir, &["--notify-command", "true"]);
    post_fatal(&server, "tx-old");
}

#[test]
fn backup_carries_no_pending_alerts() {
    let server = start_with_slow_alerts("tx-copy", 1);
    assert_eq!(pending_alert_count(&server.db), 1);
    let copy_dir = tempfile::tempdir().expect("temp dir");
    let copy = copy_dir.path().join("translog.db");
    let copy_text = copy.to_str().expect("UTF-8 path");
    let output = server.cli(&["backup", copy_text], None);
    assert!(output.status.success(), "{output:?}");
    // The restored server reads the administrator's password from this file.
    std::fs::copy(
        common::credentials_path(&server.db),
        common::credentials_path(&copy),
    )
    .expect("copy the credentials file");

    let restored = Server::start_in(copy_dir, &["--notify-command", "true"]);
    assert!(
        !restored.log().contains(RESUMED_ALERTS),
        "{}",
        restored.log()
    );
}

// Failed looks for stalled transactions.

/// Runs a server that looks for stalled transactions every second while
/// another process holds a lock on its WAL index for 4 s, so that its reads
/// fail, and returns it once the lock is released. Returns `None` where the
/// lock cannot be taken.
fn server_after_failed_stall_reads() -> Option<Server> {
    let server = Server::start_with(&["--notify-command", "true", "--stall-after", "4s"]);
    assert_eq!(server.get("/healthz", None).status, 200);
    let lock = common::RecoveryLock::take(&server)?;
    std::thread::sleep(std::time::Duration::from_secs(4));
    drop(lock);
    Some(server)
}

#[test]
fn failed_stall_reads_are_logged_once() {
    let Some(server) = server_after_failed_stall_reads() else {
        return;
    };
    let log = server.log();
    let failures = log
        .matches("looking for stalled transactions failed")
        .count();
    assert_eq!(failures, 1, "{log}");
}

#[test]
fn failed_stall_read_cause_is_unquoted() {
    let Some(server) = server_after_failed_stall_reads() else {
        return;
    };
    let log = server.log();
    assert!(
        log.contains("looking for stalled transactions failed: database is busy"),
        "{log}"
    );
}

#[test]
fn working_stall_read_is_logged() {
    let Some(server) = server_after_failed_stall_reads() else {
        return;
    };
    let text = "looking for stalled transactions works again";
    assert!(
        server.wait_for_log(text, std::time::Duration::from_secs(10)),
        "{}",
        server.log()
    );
}
