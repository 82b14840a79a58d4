//! The alerts of `serve --notify-command`, against the real binary.

mod common;

use std::process::Command;

use common::{run_command, serve_command};

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
