//! `translog log delete`, against the real binary and a running server: it
//! deletes one transaction's log, which `prune` cannot reach when the
//! Worker's timestamps lie in the future.

mod common;

use std::process::Output;

use common::{assert_success, form, Server};

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Starts a server with `tx-future`, two entries stamped in 2099, and
/// `tx-other`, one entry of 2026.
fn server_with_logs() -> Server {
    let server = Server::start();
    for (id, timestamp, stage) in [
        ("tx-future", "2099-01-01T00:00:00Z", "WORKER_INIT"),
        ("tx-future", "2099-01-01T00:01:00Z", "WORKER_END"),
        ("tx-other", "2026-12-01T00:00:00Z", "WORKER_INIT"),
    ] {
        let reply = server.post_entry(id, &form(timestamp, stage, "SUCCESS"));
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
    server
}

#[test]
fn delete_prints_count() {
    let server = server_with_logs();
    let output = server.cli(&["log", "delete", "tx-future"], None);
    assert_success(&output, "log delete");
    assert_eq!(
        stdout(&output),
        "removed transaction tx-future (2 entries)\n"
    );
}

#[test]
fn deleted_log_is_gone_from_running_server() {
    let server = server_with_logs();
    server.cli(&["log", "delete", "tx-future"], None);
    let reply = server.get("/worker/log/tx-future", Some(server.admin()));
    assert_eq!(reply.status, 404, "{}", reply.body);
}

#[test]
fn deleted_log_is_gone_from_list() {
    let server = server_with_logs();
    server.cli(&["log", "delete", "tx-future"], None);
    let reply = server.get("/worker/log", Some(server.admin()));
    let listed: Vec<String> = reply.json()["transactions"]
        .as_array()
        .map(|transactions| {
            transactions
                .iter()
                .filter_map(|summary| summary["transaction_id"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(listed, ["tx-other"], "{}", reply.body);
}

#[test]
fn delete_keeps_other_logs() {
    let server = server_with_logs();
    server.cli(&["log", "delete", "tx-future"], None);
    assert_eq!(server.entries("tx-other").len(), 1);
}

#[test]
fn deleted_transaction_can_be_written_again() {
    let server = server_with_logs();
    server.cli(&["log", "delete", "tx-future"], None);
    let reply = server.post_entry(
        "tx-future",
        &form("2026-12-02T00:00:00Z", "WORKER_INIT", "SUCCESS"),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(server.entries("tx-future").len(), 1);
}

#[test]
fn dry_run_prints_count() {
    let server = server_with_logs();
    let output = server.cli(&["log", "delete", "tx-future", "--dry-run"], None);
    assert_success(&output, "log delete --dry-run");
    assert_eq!(
        stdout(&output),
        "would remove transaction tx-future (2 entries); nothing was deleted\n"
    );
}

#[test]
fn dry_run_deletes_nothing() {
    let server = server_with_logs();
    server.cli(&["log", "delete", "tx-future", "--dry-run"], None);
    assert_eq!(server.entries("tx-future").len(), 2);
}

#[test]
fn unknown_transaction_exits_1() {
    let server = server_with_logs();
    let output = server.cli(&["log", "delete", "tx-missing"], None);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
}

#[test]
fn unknown_transaction_says_nothing_was_deleted() {
    let server = server_with_logs();
    let output = server.cli(&["log", "delete", "tx-missing"], None);
    assert!(
        stderr(&output).contains(
            "no entries for transaction \"tx-missing\", so nothing was deleted; check the id, or \
             list the transactions with `translog log list`"
        ),
        "{}",
        stderr(&output)
    );
}

#[test]
fn invalid_id_is_usage_error() {
    let server = server_with_logs();
    let output = server.cli(&["log", "delete", "bad id!"], None);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
}
