//! The `RUST_LOG` filter: a value that hides translog's own log gets a
//! warning on stderr, because nothing else would be printed.

mod common;

use std::io::Write;
use std::process::{Command, Output, Stdio};

use common::BIN;

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
