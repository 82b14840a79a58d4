//! A database file with damaged pages. An entry whose key leads to a damaged
//! page fails with `500`, while the entries of other transactions stored in
//! the same batch still get `200`. `/healthz` turns `503` after a write or a
//! read that reaches a damaged page, and the server log names the way out.
//! A prune that reaches a damaged page prints what it deleted before.

mod common;

use std::process::{Command, Output};
use std::sync::Barrier;
use std::thread;
use std::time::Duration;

use common::{
    contains, damage_pages, fill_database, form, many_stage, many_timestamp, run_cli, Reply, Server,
};

const DAMAGED: &str = "damaged-transaction";
const HEALTHY: &str = "healthy-transaction";

/// Entries of each transaction before the damage, enough for many pages.
const ENTRIES: usize = 600;

/// Rounds of one write to the damaged transaction beside healthy ones.
const ROUNDS: usize = 10;

/// Healthy writes sent at the same moment as each damaged one.
const HEALTHY_PER_ROUND: usize = 5;

/// Stores both transactions, stops the server, damages every page of the
/// file that contains entries of [`DAMAGED`] alone, and starts a server on it.
fn server_with_damaged_pages() -> Server {
    let server = Server::start();
    server.post_many(DAMAGED, ENTRIES);
    server.post_many(HEALTHY, ENTRIES);
    let (status, dir) = server.stop();
    assert!(status.success(), "{status}");

    let db = dir.path().join("translog.db");
    let damaged = damage_pages(&db, |page| {
        contains(page, DAMAGED.as_bytes()) && !contains(page, HEALTHY.as_bytes())
    });
    assert!(damaged > 2, "only {damaged} pages held {DAMAGED} alone");
    Server::start_in(dir, &[])
}

/// Returns `id` and the body of a new entry that sorts amid its stored entries.
fn middle_entry(id: &str, round: usize) -> (String, String) {
    let i = ENTRIES / 2 + round * 2;
    let body = format!(
        "{}&message=round+{round}",
        form(&many_timestamp(i), many_stage(i), "WARNING")
    );
    (id.to_string(), body)
}

/// Sends one write to [`DAMAGED`] and [`HEALTHY_PER_ROUND`] to [`HEALTHY`]
/// at the same moment, in each round. Returns the replies of the damaged
/// writes and of the healthy ones.
fn write_beside_damage(server: &Server) -> (Vec<Reply>, Vec<Reply>) {
    let mut damaged = Vec::new();
    let mut healthy = Vec::new();
    for round in 0..ROUNDS {
        let mut writes = vec![middle_entry(DAMAGED, round)];
        for number in 0..HEALTHY_PER_ROUND {
            writes.push(middle_entry(HEALTHY, round * HEALTHY_PER_ROUND + number));
        }
        let barrier = Barrier::new(writes.len());
        let replies: Vec<(String, Reply)> = thread::scope(|scope| {
            let handles: Vec<_> = writes
                .iter()
                .map(|(id, body)| {
                    let barrier = &barrier;
                    scope.spawn(move || {
                        barrier.wait();
                        (id.clone(), server.post_entry(id, body))
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|handle| handle.join().expect("a writer thread"))
                .collect()
        });
        for (id, reply) in replies {
            if id == DAMAGED {
                damaged.push(reply);
            } else {
                healthy.push(reply);
            }
        }
    }
    (damaged, healthy)
}

#[test]
fn damaged_page_fails_its_entry() {
    let server = server_with_damaged_pages();
    let (damaged, _) = write_beside_damage(&server);
    let statuses: Vec<u16> = damaged.iter().map(|reply| reply.status).collect();
    assert_eq!(statuses, vec![500; ROUNDS]);
}

#[test]
fn healthy_entries_beside_damage_are_stored() {
    let server = server_with_damaged_pages();
    let (_, healthy) = write_beside_damage(&server);
    let failed: Vec<String> = healthy
        .iter()
        .filter(|reply| reply.status != 200)
        .map(|reply| format!("{} {}", reply.status, reply.body))
        .collect();
    assert!(failed.is_empty(), "{failed:?}\n{}", server.log());
}

#[test]
fn healthy_log_readable_after_damage() {
    let server = server_with_damaged_pages();
    write_beside_damage(&server);
    let entries = server.entries(HEALTHY);
    assert_eq!(entries.len(), ENTRIES + ROUNDS * HEALTHY_PER_ROUND);
}

#[test]
fn damage_log_names_backup_restore() {
    let server = server_with_damaged_pages();
    write_beside_damage(&server);
    let log = server.log();
    assert!(log.contains("the database file is damaged"), "{log}");
    assert!(log.contains("restore the last backup"), "{log}");
}

#[test]
fn damage_turns_health_503() {
    let server = server_with_damaged_pages();
    write_beside_damage(&server);
    assert_eq!(server.get("/healthz", None).status, 503);
}

#[test]
fn damaged_health_message_names_recovery() {
    let server = server_with_damaged_pages();
    write_beside_damage(&server);
    let body = server.get("/healthz", None).body;
    assert!(body.contains("A damaged database file"), "{body}");
}

/// Reads the log of [`DAMAGED`], whose pages are damaged, and asserts that
/// the read fails with `500`.
fn read_damaged_log(server: &Server) {
    let reply = server.get(&format!("/worker/log/{DAMAGED}"), Some(server.admin()));
    assert_eq!(reply.status, 500, "{}", reply.body);
}

#[test]
fn damaged_read_turns_health_503() {
    let server = server_with_damaged_pages();
    read_damaged_log(&server);
    assert_eq!(server.get("/healthz", None).status, 503);
}

#[test]
fn damaged_read_health_message_names_recovery() {
    let server = server_with_damaged_pages();
    read_damaged_log(&server);
    let body = server.get("/healthz", None).body;
    assert!(body.contains("A damaged database file"), "{body}");
}

#[test]
fn damaged_read_turns_storage_down() {
    let server = server_with_damaged_pages();
    read_damaged_log(&server);
    let reply = server.get("/metrics", Some(server.admin()));
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(
        reply
            .body
            .lines()
            .any(|line| line == "translog_storage_up 0"),
        "{}",
        reply.body
    );
}

#[test]
fn damaged_read_logs_health_change() {
    let server = server_with_damaged_pages();
    read_damaged_log(&server);
    let logged = server.wait_for_log(
        "a read found a damaged page, so /healthz answers 503 until the server is restarted",
        Duration::from_secs(5),
    );
    assert!(logged, "{}", server.log());
}

#[test]
fn health_before_damaged_write_is_200() {
    let server = server_with_damaged_pages();
    assert_eq!(server.get("/healthz", None).status, 200);
}

#[test]
fn damaged_write_requests_omit_cause() {
    let server = server_with_damaged_pages();
    for round in 0..ROUNDS {
        let (id, body) = middle_entry(DAMAGED, round);
        assert_eq!(server.post_entry(&id, &body).status, 500);
    }
    // The storage thread logs the cause of failed batches, at most once per
    // interval, so a line per request would only repeat it. The request's
    // line names the transaction, whose id contains "damaged" too.
    let log = server.log();
    let repeated: Vec<&str> = log
        .lines()
        .filter(|line| line.contains("request #") && line.contains("file is damaged"))
        .collect();
    assert!(repeated.is_empty(), "{log}");
}

#[test]
fn split_batches_log_one_line() {
    let server = server_with_damaged_pages();
    write_beside_damage(&server);
    // The rounds take less than the 10 s between two lines about batches
    // stored again one entry at a time.
    let log = server.log();
    let lines = log
        .lines()
        .filter(|line| line.contains("entries one at a time"))
        .count();
    assert!(lines <= 1, "{log}");
}

#[test]
fn held_split_lines_written_at_stop() {
    let server = server_with_damaged_pages();
    write_beside_damage(&server);
    let sent = Command::new("kill")
        .args(["-TERM", &server.pid().to_string()])
        .status()
        .expect("run kill");
    assert!(sent.success(), "kill -TERM failed");
    let written = server.wait_for_log("stored one entry at a time", Duration::from_secs(10));
    assert!(written, "{}", server.log());
}

/// Transactions of the database of [`prune_beside_damage`]: five chunks of
/// the 500 transactions that a prune deletes per database transaction.
const PRUNED_TRANSACTIONS: usize = 2_500;

/// The transaction whose entries [`prune_beside_damage`] damages. A prune
/// deletes transactions in order of id, so this one is in its fifth chunk.
const DAMAGED_PRUNED: &str = "tx-0002400";

/// Runs `prune` of a database of [`PRUNED_TRANSACTIONS`] transactions of 5
/// entries, all before the cutoff, in which the pages with entries of
/// [`DAMAGED_PRUNED`] are damaged.
fn prune_beside_damage() -> Output {
    let dir = tempfile::tempdir().expect("temporary directory");
    let db = dir.path().join("translog.db");
    fill_database(&db, PRUNED_TRANSACTIONS, 5, &"payload ".repeat(50));
    // Only entries have a message, so the pages of the transactions table
    // stay whole.
    let damaged = damage_pages(&db, |page| {
        contains(page, DAMAGED_PRUNED.as_bytes()) && contains(page, b"payload")
    });
    assert!(damaged > 0, "no page held entries of {DAMAGED_PRUNED}");
    run_cli(&db, &["prune", "--before", "2021-01-01"], None)
}

#[test]
fn failed_prune_prints_deleted_count() {
    let output = prune_beside_damage();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let expected = "translog: error: removed 2000 transactions (10000 entries) before the error: ";
    assert!(stderr.contains(expected), "{stderr}");
}

#[test]
fn failed_prune_exits_1() {
    let output = prune_beside_damage();
    assert_eq!(output.status.code(), Some(1));
}
