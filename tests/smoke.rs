//! Runs scripts/smoke.sh, the curl-based smoke test, against the real binary.

mod common;

use std::process::{Command, Output};

use common::{Server, BIN};

fn smoke(args: &[&str]) -> Output {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/smoke.sh");
    Command::new("bash")
        .arg(script)
        .args(args)
        .env("TRANSLOG_BIN", BIN)
        .output()
        .expect("run scripts/smoke.sh")
}

fn describe(output: &Output) -> String {
    format!(
        "status {}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn smoke_passes_against_server() {
    let server = Server::start();
    let (user, password) = server.admin();
    let output = smoke(&[&server.url(""), &format!("{user}:{password}")]);
    assert!(output.status.success(), "{}", describe(&output));
}

#[test]
fn smoke_prints_final_line() {
    let server = Server::start();
    let (user, password) = server.admin();
    let output = smoke(&[&server.url(""), &format!("{user}:{password}")]);
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let last = text.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("smoke test passed"),
        "{}",
        describe(&output)
    );
}

#[test]
fn smoke_stores_entries() {
    let server = Server::start();
    let (user, password) = server.admin();
    smoke(&[&server.url(""), &format!("{user}:{password}")]);
    let page = server.get("/worker/log", Some(server.admin())).json();
    let count = page["transactions"].as_array().map_or(0, Vec::len);
    assert_eq!(count, 2, "{page}");
}

#[test]
fn smoke_starts_own_server() {
    let output = smoke(&[]);
    assert!(output.status.success(), "{}", describe(&output));
}

#[test]
fn smoke_fails_with_wrong_password() {
    let server = Server::start();
    let output = smoke(&[&server.url(""), "admin:wrong"]);
    assert!(!output.status.success(), "{}", describe(&output));
}

#[test]
fn smoke_fails_for_reader() {
    let server = Server::start();
    server.add_user("reader1", "reader");
    let credentials = format!("reader1:{}", common::PASSWORD);
    let output = smoke(&[&server.url(""), &credentials]);
    assert!(!output.status.success(), "{}", describe(&output));
}
