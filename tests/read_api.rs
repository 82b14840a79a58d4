//! The read API against the real binary: `GET /worker/log/{id}`,
//! `GET /worker/log` with paging and filters, outcomes, and `/healthz`.

mod common;

use std::collections::HashSet;
use std::io::Write as _;
use std::time::Duration;

use common::{
    entry_key, form, order_key, percent_encode, read_all_pages, string_member, Reply, Server,
    PASSWORD,
};
use serde_json::Value;

fn post(server: &Server, id: &str, timestamp: &str, stage: &str, status: &str) {
    let reply = server.post_entry(id, &form(timestamp, stage, status));
    assert_eq!(reply.status, 200, "{}", reply.body);
}

fn list(server: &Server, query: &str) -> Reply {
    server.get(&format!("/worker/log{query}"), Some(server.admin()))
}

fn listed_ids(server: &Server, query: &str) -> Vec<String> {
    let reply = list(server, query);
    assert_eq!(reply.status, 200, "{}", reply.body);
    ids_of(&reply.json())
}

fn ids_of(page: &Value) -> Vec<String> {
    page["transactions"]
        .as_array()
        .expect("transactions is an array")
        .iter()
        .map(|summary| summary["transaction_id"].as_str().expect("id").to_string())
        .collect()
}

fn assert_invalid_query(reply: &Reply) {
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert_eq!(reply.error_code(), "invalid_query", "{}", reply.body);
}

// One log.

#[test]
fn log_has_id_and_outcome() {
    let server = Server::start();
    post(
        &server,
        "tx-1",
        "2026-12-04T13:00:00Z",
        "WORKER_INIT",
        "SUCCESS",
    );
    let log = server.read_log("tx-1");
    assert_eq!(log["transaction_id"], "tx-1");
    assert_eq!(log["outcome"], "running");
}

#[test]
fn small_log_has_four_members() {
    let server = Server::start();
    post(
        &server,
        "tx-1",
        "2026-12-04T13:00:00Z",
        "WORKER_INIT",
        "SUCCESS",
    );
    let log = server.read_log("tx-1");
    let mut names: Vec<&String> = log.as_object().expect("an object").keys().collect();
    names.sort();
    assert_eq!(
        names,
        ["entries", "next_cursor", "outcome", "transaction_id"],
        "{log}"
    );
}

#[test]
fn small_log_has_null_cursor() {
    let server = Server::start();
    post(
        &server,
        "tx-1",
        "2026-12-04T13:00:00Z",
        "WORKER_INIT",
        "SUCCESS",
    );
    let log = server.read_log("tx-1");
    assert!(log["next_cursor"].is_null(), "{log}");
}

#[test]
fn entry_has_all_fields() {
    let server = Server::start();
    server.post_entry(
        "tx-1",
        &format!(
            "{}&message=ok",
            form("2026-12-04T14:00:00+01:00", "WORKER_INIT", "SUCCESS")
        ),
    );
    let entry = &server.entries("tx-1")[0];
    let mut names: Vec<&str> = entry
        .as_object()
        .expect("entry is an object")
        .keys()
        .map(String::as_str)
        .collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "message",
            "received_at",
            "reported_by",
            "stage",
            "status",
            "timestamp",
            "timestamp_sent"
        ]
    );
}

#[test]
fn received_at_is_rfc3339_with_nanoseconds() {
    let server = Server::start();
    post(
        &server,
        "tx-1",
        "2026-12-04T13:00:00Z",
        "WORKER_INIT",
        "SUCCESS",
    );
    let received = server.entries("tx-1")[0]["received_at"]
        .as_str()
        .expect("received_at is a string")
        .to_string();
    assert_eq!(
        received.len(),
        "2026-12-04T13:00:00.000000000Z".len(),
        "{received}"
    );
    assert!(received.ends_with('Z'), "{received}");
    assert_eq!(&received[19..20], ".", "{received}");
}

#[test]
fn missing_message_is_null() {
    let server = Server::start();
    post(
        &server,
        "tx-1",
        "2026-12-04T13:00:00Z",
        "WORKER_INIT",
        "SUCCESS",
    );
    assert!(server.entries("tx-1")[0]["message"].is_null());
}

#[test]
fn entries_in_timestamp_order() {
    let server = Server::start();
    post(
        &server,
        "tx-1",
        "2026-12-04T13:00:03Z",
        "WORKER_LOAD",
        "SUCCESS",
    );
    post(
        &server,
        "tx-1",
        "2026-12-04T13:00:01Z",
        "WORKER_INIT",
        "SUCCESS",
    );
    post(
        &server,
        "tx-1",
        "2026-12-04T14:00:02+01:00",
        "WORKER_DECOMPRESS",
        "SUCCESS",
    );
    let stages: Vec<Value> = server
        .entries("tx-1")
        .iter()
        .map(|entry| entry["stage"].clone())
        .collect();
    assert_eq!(stages, ["WORKER_INIT", "WORKER_DECOMPRESS", "WORKER_LOAD"]);
}

#[test]
fn nanoseconds_order_entries() {
    let server = Server::start();
    post(
        &server,
        "tx-1",
        "2026-12-04T13:00:00.000000002Z",
        "WORKER_LOAD",
        "SUCCESS",
    );
    post(
        &server,
        "tx-1",
        "2026-12-04T13:00:00.000000001Z",
        "WORKER_INIT",
        "SUCCESS",
    );
    let entries = server.entries("tx-1");
    assert_eq!(entries[0]["stage"], "WORKER_INIT");
    assert_eq!(entries[1]["stage"], "WORKER_LOAD");
}

#[test]
fn ties_in_arrival_order() {
    let server = Server::start();
    post(
        &server,
        "tx-1",
        "2026-12-04T13:00:00Z",
        "WORKER_LOAD",
        "FAIL",
    );
    post(
        &server,
        "tx-1",
        "2026-12-04T13:00:00Z",
        "WORKER_INIT",
        "SUCCESS",
    );
    post(
        &server,
        "tx-1",
        "2026-12-04T13:00:00Z",
        "WORKER_END",
        "WARNING",
    );
    let stages: Vec<Value> = server
        .entries("tx-1")
        .iter()
        .map(|entry| entry["stage"].clone())
        .collect();
    assert_eq!(stages, ["WORKER_LOAD", "WORKER_INIT", "WORKER_END"]);
}

/// Starts a server on a database whose receive times are `ahead` in the
/// future, as a clock that was that far ahead would have written them. The
/// database has a `WORKER_LOAD` `FAIL` entry of `tx-1` and an entry of
/// `tx-2`. The new server stores a `WORKER_LOAD` `WARNING` entry of `tx-1`
/// with the same timestamp as the `FAIL`.
fn server_after_clock_set_back(ahead: Duration) -> Server {
    let server = Server::start();
    post(
        &server,
        "tx-1",
        "2026-12-04T13:00:00Z",
        "WORKER_LOAD",
        "FAIL",
    );
    post(
        &server,
        "tx-2",
        "2026-12-04T13:00:00Z",
        "WORKER_INIT",
        "SUCCESS",
    );
    let db = server.db.clone();
    let (status, dir) = server.stop();
    assert!(status.success(), "server exited with {status}");

    let ahead_ns = i64::try_from(ahead.as_nanos()).expect("a duration that fits i64");
    let connection = rusqlite::Connection::open(&db).expect("open the database");
    connection
        .execute(
            "UPDATE entries SET received_at_ns = received_at_ns + ?1",
            [ahead_ns],
        )
        .expect("move the entries' receive times");
    connection
        .execute(
            "UPDATE transactions SET last_received_at_ns = last_received_at_ns + ?1",
            [ahead_ns],
        )
        .expect("move the transactions' receive times");
    drop(connection);

    let server = Server::start_in(dir, &[]);
    post(
        &server,
        "tx-1",
        "2026-12-04T13:00:00Z",
        "WORKER_LOAD",
        "WARNING",
    );
    server
}

/// Returns the statuses of the entries of `id`, in the order of its log.
fn statuses_of(server: &Server, id: &str) -> Vec<Value> {
    server
        .entries(id)
        .iter()
        .map(|entry| entry["status"].clone())
        .collect()
}

#[test]
fn clock_set_back_keeps_tie_order() {
    let server = server_after_clock_set_back(FIVE_MINUTES);
    let statuses = statuses_of(&server, "tx-1");
    assert_eq!(statuses, ["FAIL", "WARNING"]);
}

/// Less than the 10 minutes by which the server follows stored receive
/// times ahead of its clock.
const FIVE_MINUTES: Duration = Duration::from_secs(5 * 60);

/// More than the 10 minutes by which the server follows stored receive
/// times ahead of its clock.
const HOUR: Duration = Duration::from_secs(3600);

#[test]
fn clock_set_back_is_logged() {
    let server = server_after_clock_set_back(FIVE_MINUTES);
    let logged = server.wait_for_log("is ahead of the clock", Duration::from_secs(5));
    assert!(logged, "{}", server.log());
}

#[test]
fn clock_set_far_back_is_logged() {
    let server = server_after_clock_set_back(HOUR);
    let logged = server.wait_for_log(
        "is more than 10 minutes ahead of the clock",
        Duration::from_secs(5),
    );
    assert!(logged, "{}", server.log());
}

#[test]
fn clock_set_far_back_uses_clock() {
    let server = server_after_clock_set_back(HOUR);
    let statuses = statuses_of(&server, "tx-1");
    assert_eq!(statuses, ["WARNING", "FAIL"]);
}

#[test]
fn clock_set_back_keeps_list_order() {
    let server = server_after_clock_set_back(FIVE_MINUTES);
    assert_eq!(listed_ids(&server, ""), ["tx-1", "tx-2"]);
}

#[test]
fn unknown_id_is_404() {
    let server = Server::start();
    let reply = server.get("/worker/log/nothing-here", Some(server.admin()));
    assert_eq!(reply.status, 404, "{}", reply.body);
    assert_eq!(reply.error_code(), "no_such_log", "{}", reply.body);
}

#[test]
fn bad_id_is_400() {
    let server = Server::start();
    let reply = server.get("/worker/log/bad%20id", Some(server.admin()));
    assert_eq!(reply.status, 400, "{}", reply.body);
}

#[test]
fn unexpanded_id_read_names_quotes() {
    let server = Server::start();
    let reply = server.get("/worker/log/$TX", Some(server.admin()));
    assert!(
        reply.message().starts_with(
            "Invalid transaction id \"$TX\": the shell did not expand the variable $TX, \
             because the URL was inside single quotes"
        ),
        "{}",
        reply.body
    );
}

#[test]
fn encoded_id_reads_log() {
    let server = Server::start();
    post(
        &server,
        "db-7",
        "2026-12-04T13:00:00Z",
        "WORKER_INIT",
        "SUCCESS",
    );
    let reply = server.get("/worker/log/db%2D7", Some(server.admin()));
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[test]
fn log_rejects_unknown_query_parameter() {
    let server = Server::start();
    post(
        &server,
        "tx-1",
        "2026-12-04T13:00:00Z",
        "WORKER_INIT",
        "SUCCESS",
    );
    let reply = server.get("/worker/log/tx-1?outcome=fatal", Some(server.admin()));
    assert_invalid_query(&reply);
    assert_eq!(
        reply.message(),
        "Unknown query parameter \"outcome\"; use limit or cursor."
    );
}

#[test]
fn admin_entry_query_is_400() {
    let server = Server::start();
    let reply = server.get(
        "/worker/log/x?stage=WORKER_INIT&status=SUCCESS",
        Some(server.admin()),
    );
    assert_invalid_query(&reply);
}

#[test]
fn admin_entry_query_names_post() {
    let server = Server::start();
    for field in ["timestamp", "stage", "status", "message"] {
        let reply = server.get(&format!("/worker/log/x?{field}=1"), Some(server.admin()));
        assert_eq!(
            reply.message(),
            format!(
                "Unknown query parameter \"{field}\"; use limit or cursor. Appending an entry \
                 is POST: send the parameters with curl -d or --data-urlencode, without -G or \
                 -X GET."
            )
        );
    }
}

#[test]
fn admin_curl_get_names_post() {
    let server = Server::start();
    let (user, password) = server.admin();
    let credentials = format!("{user}:{password}");
    let output = server.curl(
        "/worker/log/x",
        &[
            "-G",
            "-u",
            &credentials,
            "--data-urlencode",
            "timestamp=2026-12-04T14:57:54+01:00",
            "-d",
            "stage=WORKER_INIT",
            "-d",
            "status=SUCCESS",
        ],
    );
    let body = String::from_utf8_lossy(&output.stdout);
    assert!(body.contains("\"error\":\"invalid_query\""), "{body}");
    assert!(
        body.contains("curl -d or --data-urlencode, without -G or -X GET"),
        "{body}"
    );
}

// A read with a body, such as an entry sent with `curl -X GET -d`.

const ENTRY: &str = "timestamp=2026-12-04T14:57:54%2B01:00&stage=WORKER_INIT&status=SUCCESS";

/// Sends `method` to `/worker/log/tx-1` as `credentials` with a form body.
fn read_with_body(server: &Server, method: &str, credentials: (&str, &str)) -> Reply {
    server.request(
        method,
        "/worker/log/tx-1",
        Some(credentials),
        &[("Content-Type", "application/x-www-form-urlencoded")],
        Some(ENTRY.as_bytes()),
    )
}

#[test]
fn get_with_body_is_400() {
    let server = Server::start_with_users(&[]);
    let admin = server.admin();
    for credentials in [admin, common::READER] {
        let reply = read_with_body(&server, "GET", credentials);
        assert_eq!(reply.status, 400, "{}: {}", credentials.0, reply.body);
        assert_eq!(reply.error_code(), "body_not_allowed", "{}", credentials.0);
    }
}

/// A worker may not read, and permission comes before the body, so its
/// read with a body gets 403 with the same hint.
#[test]
fn worker_get_with_body_is_403() {
    let server = Server::start_with_users(&[]);
    let reply = read_with_body(&server, "GET", common::WORKER);
    assert_eq!(reply.status, 403, "{}", reply.body);
    assert!(reply.message().contains("POST"), "{}", reply.body);
}

#[test]
fn get_with_body_names_post() {
    let server = Server::start();
    let reply = read_with_body(&server, "GET", server.admin());
    assert_eq!(
        reply.message(),
        "GET of a transaction's log reads it and takes no body, but this request has one, so \
         nothing was stored. Appending an entry is POST: send the parameters with curl -d or \
         --data-urlencode, without -G or -X GET."
    );
}

#[test]
fn get_with_body_of_stored_log_is_400() {
    let server = Server::start();
    post(
        &server,
        "tx-1",
        "2026-12-04T13:00:00Z",
        "WORKER_INIT",
        "SUCCESS",
    );
    let reply = read_with_body(&server, "GET", server.admin());
    assert_eq!(reply.status, 400, "{}", reply.body);
}

#[test]
fn head_with_body_is_400() {
    let server = Server::start();
    let reply = read_with_body(&server, "HEAD", server.admin());
    assert_eq!(reply.status, 400);
}

#[test]
fn get_with_body_closes_connection() {
    let server = Server::start();
    let reply = read_with_body(&server, "GET", server.admin());
    assert_eq!(reply.header("Connection"), Some("close"));
}

#[test]
fn curl_x_get_with_data_fails() {
    let server = Server::start();
    let (user, password) = server.admin();
    let credentials = format!("{user}:{password}");
    let output = server.curl(
        "/worker/log/tx-1",
        &[
            "--fail-with-body",
            "-u",
            &credentials,
            "-X",
            "GET",
            "-d",
            ENTRY,
        ],
    );
    assert_eq!(output.status.code(), Some(22), "{output:?}");
    let body = String::from_utf8_lossy(&output.stdout);
    assert!(body.contains("without -G or -X GET"), "{body}");
}

#[test]
fn get_with_body_checks_credentials_first() {
    let server = Server::start();
    let reply = read_with_body(&server, "GET", ("admin", "wrong password"));
    assert_eq!(reply.status, 401, "{}", reply.body);
}

#[test]
fn disabled_user_get_with_body_is_403() {
    let server = Server::start_with_users(&[]);
    let output = server.cli(&["user", "disable", "reader"], None);
    common::assert_success(&output, "user disable reader");
    let reply = read_with_body(&server, "GET", common::READER);
    assert_eq!(reply.status, 403, "{}", reply.body);
}

/// Sends a `GET` of `path` as the administrator with `headers` and `body`
/// on a new connection, and returns the response head and body.
fn raw_get(server: &Server, path: &str, headers: &str, body: &str) -> (String, String) {
    let (user, password) = server.admin();
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: test\r\nAuthorization: {}\r\n{headers}\r\n{body}",
        common::basic_auth(user, password)
    );
    let mut stream = server.connect();
    stream
        .write_all(request.as_bytes())
        .expect("write the request");
    common::read_response(&mut stream, Duration::from_secs(5))
}

#[test]
fn chunked_get_with_body_is_400() {
    let server = Server::start();
    let chunk = format!("{:x}\r\n{ENTRY}\r\n0\r\n\r\n", ENTRY.len());
    let (head, body) = raw_get(
        &server,
        "/worker/log/tx-1",
        "Transfer-Encoding: chunked\r\n",
        &chunk,
    );
    assert!(head.starts_with("HTTP/1.1 400"), "{head}{body}");
}

#[test]
fn empty_chunked_get_reads_log() {
    let server = Server::start();
    post(
        &server,
        "tx-1",
        "2026-12-04T13:00:00Z",
        "WORKER_INIT",
        "SUCCESS",
    );
    let (head, body) = raw_get(
        &server,
        "/worker/log/tx-1",
        "Transfer-Encoding: chunked\r\n",
        "0\r\n\r\n",
    );
    assert!(head.starts_with("HTTP/1.1 200"), "{head}{body}");
}

#[test]
fn empty_chunked_get_keeps_connection() {
    let server = Server::start();
    post(
        &server,
        "tx-1",
        "2026-12-04T13:00:00Z",
        "WORKER_INIT",
        "SUCCESS",
    );
    let (head, _) = raw_get(
        &server,
        "/worker/log/tx-1",
        "Transfer-Encoding: chunked\r\n",
        "0\r\n\r\n",
    );
    assert!(
        !head.to_ascii_lowercase().contains("connection: close"),
        "{head}"
    );
}

#[test]
fn get_with_zero_length_reads_log() {
    let server = Server::start();
    post(
        &server,
        "tx-1",
        "2026-12-04T13:00:00Z",
        "WORKER_INIT",
        "SUCCESS",
    );
    let (head, body) = raw_get(&server, "/worker/log/tx-1", "Content-Length: 0\r\n", "");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}{body}");
}

#[test]
fn list_and_pages_ignore_body() {
    let server = Server::start();
    post(
        &server,
        "tx-1",
        "2026-12-04T13:00:00Z",
        "WORKER_INIT",
        "SUCCESS",
    );
    for path in ["/worker/log", "/", "/transactions/tx-1"] {
        let (head, _) = raw_get(&server, path, "Content-Length: 2\r\n", "ab");
        assert!(head.starts_with("HTTP/1.1 200"), "{path}: {head}");
    }
}

#[test]
fn reader_entry_query_has_no_post_hint() {
    let server = Server::start_with_users(&[]);
    let reply = server.get_as_reader("/worker/log/x?stage=WORKER_INIT");
    assert_invalid_query(&reply);
    assert_eq!(
        reply.message(),
        "Unknown query parameter \"stage\"; use limit or cursor."
    );
}

#[test]
fn log_is_json() {
    let server = Server::start();
    post(
        &server,
        "tx-1",
        "2026-12-04T13:00:00Z",
        "WORKER_INIT",
        "SUCCESS",
    );
    let reply = server.get("/worker/log/tx-1", Some(server.admin()));
    assert_eq!(reply.header("Content-Type"), Some("application/json"));
}

#[test]
fn head_log_is_200() {
    let server = Server::start();
    post(
        &server,
        "tx-1",
        "2026-12-04T13:00:00Z",
        "WORKER_INIT",
        "SUCCESS",
    );
    let reply = server.request("HEAD", "/worker/log/tx-1", Some(server.admin()), &[], None);
    assert_eq!(reply.status, 200);
}

#[test]
fn head_log_has_no_body() {
    let server = Server::start();
    post(
        &server,
        "tx-1",
        "2026-12-04T13:00:00Z",
        "WORKER_INIT",
        "SUCCESS",
    );
    let (user, password) = server.admin();
    let request = format!(
        "HEAD /worker/log/tx-1 HTTP/1.1\r\nHost: test\r\nAuthorization: {}\r\nConnection: close\r\n\r\n",
        common::basic_auth(user, password)
    );
    let text = server.raw(request.as_bytes(), Duration::from_secs(5));
    let (_, body) = text.split_once("\r\n\r\n").expect("a complete head");
    assert_eq!(body, "");
}

#[test]
fn head_unknown_id_is_404() {
    let server = Server::start();
    let reply = server.request(
        "HEAD",
        "/worker/log/nothing",
        Some(server.admin()),
        &[],
        None,
    );
    assert_eq!(reply.status, 404);
}

#[test]
fn read_needs_credentials() {
    let server = Server::start();
    post(
        &server,
        "tx-1",
        "2026-12-04T13:00:00Z",
        "WORKER_INIT",
        "SUCCESS",
    );
    let reply = server.get("/worker/log/tx-1", None);
    assert_eq!(reply.status, 401, "{}", reply.body);
}

#[test]
fn reader_reads_log() {
    let server = Server::start();
    server.add_user("reader1", "reader");
    post(
        &server,
        "tx-1",
        "2026-12-04T13:00:00Z",
        "WORKER_INIT",
        "SUCCESS",
    );
    let reply = server.get("/worker/log/tx-1", Some(("reader1", PASSWORD)));
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[test]
fn reported_by_names_worker() {
    let server = Server::start();
    server.add_user("worker1", "worker");
    server.post_form(
        "/worker/log/tx-1",
        ("worker1", PASSWORD),
        &form("2026-12-04T13:00:00Z", "WORKER_INIT", "SUCCESS"),
    );
    assert_eq!(server.entries("tx-1")[0]["reported_by"], "worker1");
}

// Pages of one log.

/// GETs `/worker/log/{id}{query}` as the administrator.
fn log_page(server: &Server, id: &str, query: &str) -> Reply {
    server.get(&format!("/worker/log/{id}{query}"), Some(server.admin()))
}

/// Posts a `WORKER_LOAD` `FAIL` entry to `tx-1` at second N after 13:00 on
/// 4 December 2026 for each N of `seconds`.
fn post_failures(server: &Server, seconds: std::ops::Range<u32>) {
    post_failures_to(server, "tx-1", seconds);
}

const MANY: usize = 2500;

#[test]
fn log_pages_return_every_entry_once() {
    let server = Server::start();
    server.post_many("tx-big", MANY);
    let (entries, _) = read_all_pages(&server, "tx-big", 1000);
    let keys: HashSet<_> = entries.iter().map(entry_key).collect();
    assert_eq!(entries.len(), MANY);
    assert_eq!(keys.len(), MANY);
}

#[test]
fn log_pages_are_in_log_order() {
    let server = Server::start();
    server.post_many("tx-big", MANY);
    let (entries, _) = read_all_pages(&server, "tx-big", 1000);
    let keys: Vec<_> = entries.iter().map(order_key).collect();
    // RFC 3339 UTC instants with nine fraction digits sort as text.
    assert!(
        keys.windows(2).all(|pair| pair[0] <= pair[1]),
        "entries out of order"
    );
}

#[test]
fn log_pages_of_any_size_agree() {
    let server = Server::start();
    server.post_many("tx-big", MANY);
    let (whole, pages) = read_all_pages(&server, "tx-big", 1000);
    let (small, small_pages) = read_all_pages(&server, "tx-big", 97);
    assert_eq!(pages, 3);
    assert_eq!(small_pages, 26);
    assert!(whole == small, "pages of 97 and of 1000 differ");
}

#[test]
fn cli_log_show_reads_every_page() {
    let server = Server::start();
    server.post_many("tx-big", MANY);
    let output = server.cli(&["log", "show", "tx-big", "--json"], None);
    assert!(output.status.success(), "{output:?}");
    let log: Value = serde_json::from_slice(&output.stdout).expect("JSON output");
    let (paged, _) = read_all_pages(&server, "tx-big", 1000);
    assert!(log["next_cursor"].is_null(), "{}", log["next_cursor"]);
    assert!(
        log["entries"].as_array() == Some(&paged),
        "the CLI and the pages differ"
    );
}

#[test]
fn log_cursor_page_has_1000_entries() {
    let server = Server::start();
    server.post_many("tx-big", MANY);
    let first = log_page(&server, "tx-big", "?limit=10").json();
    let cursor = first["next_cursor"].as_str().expect("a second page");
    let page = log_page(&server, "tx-big", &format!("?cursor={cursor}")).json();
    assert_eq!(page["entries"].as_array().map(Vec::len), Some(1000));
    assert!(page["next_cursor"].is_string(), "{}", page["next_cursor"]);
}

#[test]
fn log_last_page_has_null_cursor() {
    let server = Server::start();
    post_failures(&server, 0..3);
    let first = log_page(&server, "tx-1", "?limit=2").json();
    let cursor = first["next_cursor"].as_str().expect("a second page");
    let last = log_page(&server, "tx-1", &format!("?limit=2&cursor={cursor}")).json();
    assert_eq!(last["entries"].as_array().map(Vec::len), Some(1));
    assert!(last["next_cursor"].is_null(), "{last}");
}

#[test]
fn log_exact_last_page_has_null_cursor() {
    let server = Server::start();
    post_failures(&server, 0..2);
    let page = log_page(&server, "tx-1", "?limit=2").json();
    assert!(page["next_cursor"].is_null(), "{page}");
}

#[test]
fn log_pages_split_ties_in_arrival_order() {
    let server = Server::start();
    // One timestamp, sent one after another: the log is in arrival order,
    // whatever the stage and status.
    let sent = [
        ("WORKER_LOAD", "FAIL"),
        ("WORKER_INIT", "SUCCESS"),
        ("WORKER_END", "WARNING"),
        ("WORKER_DECOMPRESS", "SUCCESS"),
        ("WORKER_DEENCRYPT", "FATAL"),
    ];
    for (stage, status) in sent {
        post(&server, "tx-1", "2026-12-04T13:00:00Z", stage, status);
    }
    let (entries, pages) = read_all_pages(&server, "tx-1", 2);
    let stages: Vec<&str> = entries
        .iter()
        .map(|entry| entry["stage"].as_str().expect("stage"))
        .collect();
    assert_eq!(pages, 3);
    assert_eq!(
        stages,
        sent.iter().map(|(stage, _)| *stage).collect::<Vec<_>>()
    );
}

#[test]
fn log_page_outcome_is_whole_transaction() {
    let server = Server::start();
    post(
        &server,
        "tx-1",
        "2026-12-04T13:00:00Z",
        "WORKER_INIT",
        "SUCCESS",
    );
    post(
        &server,
        "tx-1",
        "2026-12-04T13:05:00Z",
        "WORKER_LOAD",
        "FATAL",
    );
    let first = log_page(&server, "tx-1", "?limit=1").json();
    assert_eq!(first["entries"][0]["status"], "SUCCESS");
    assert_eq!(first["outcome"], "fatal");
}

#[test]
fn later_entry_is_on_next_page() {
    let server = Server::start();
    post_failures(&server, 0..3);
    let first = log_page(&server, "tx-1", "?limit=2").json();
    let cursor = first["next_cursor"].as_str().expect("a second page");
    post(
        &server,
        "tx-1",
        "2026-12-04T13:00:09Z",
        "WORKER_LOAD",
        "FAIL",
    );
    let second = log_page(&server, "tx-1", &format!("?limit=2&cursor={cursor}")).json();
    assert_eq!(second["entries"].as_array().map(Vec::len), Some(2));
}

#[test]
fn older_entry_is_not_on_next_page() {
    let server = Server::start();
    post_failures(&server, 1..4);
    let first = log_page(&server, "tx-1", "?limit=2").json();
    let cursor = first["next_cursor"].as_str().expect("a second page");
    // Older than the last entry of the first page: it sorts before the cursor.
    post(
        &server,
        "tx-1",
        "2026-12-04T13:00:00Z",
        "WORKER_INIT",
        "SUCCESS",
    );
    let second = log_page(&server, "tx-1", &format!("?limit=2&cursor={cursor}")).json();
    let timestamps: Vec<&str> = second["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|entry| entry["timestamp"].as_str().expect("timestamp"))
        .collect();
    assert_eq!(timestamps, ["2026-12-04T13:00:03.000000000Z"]);
}

#[test]
fn slow_body_tie_is_on_next_page() {
    let server = Server::start();
    post(
        &server,
        "tx-1",
        "2026-12-04T13:00:09Z",
        "WORKER_END",
        "SUCCESS",
    );
    // A request whose head arrives first and whose body arrives last, with
    // the same timestamp as an entry stored in between.
    let body = form("2026-12-04T13:00:00Z", "WORKER_INIT", "SUCCESS");
    let (user, password) = server.admin();
    let mut slow = server.connect();
    let head = format!(
        "POST /worker/log/tx-1 HTTP/1.1\r\nHost: test\r\nAuthorization: {}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
        common::basic_auth(user, password),
        body.len()
    );
    slow.write_all(head.as_bytes()).expect("write the head");
    std::thread::sleep(Duration::from_millis(300));
    post(
        &server,
        "tx-1",
        "2026-12-04T13:00:00Z",
        "WORKER_LOAD",
        "SUCCESS",
    );
    let first = log_page(&server, "tx-1", "?limit=1").json();
    let cursor = first["next_cursor"].as_str().expect("a second page");
    slow.write_all(body.as_bytes()).expect("write the body");
    let (reply, _) = common::read_response(&mut slow, Duration::from_secs(5));
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");

    let second = log_page(&server, "tx-1", &format!("?cursor={cursor}")).json();
    let stages: Vec<&str> = second["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|entry| entry["stage"].as_str().expect("stage"))
        .collect();
    assert_eq!(stages, ["WORKER_INIT", "WORKER_END"]);
}

/// Returns the `next_cursor` of the first page of one entry of the log of
/// `id`, after storing two entries in it.
fn log_cursor(server: &Server, id: &str) -> String {
    post_failures_to(server, id, 0..2);
    let first = log_page(server, id, "?limit=1").json();
    first["next_cursor"]
        .as_str()
        .expect("a second page")
        .to_string()
}

fn post_failures_to(server: &Server, id: &str, seconds: std::ops::Range<u32>) {
    for second in seconds {
        let timestamp = format!("2026-12-04T13:00:{second:02}Z");
        post(server, id, &timestamp, "WORKER_LOAD", "FAIL");
    }
}

/// Asserts that `reply` rejects its cursor with a message that contains
/// `origin`, where the cursor came from.
fn assert_invalid_cursor(reply: &Reply, origin: &str) {
    assert_invalid_query(reply);
    assert!(reply.body.contains(origin), "{}", reply.body);
}

#[test]
fn log_cursor_of_other_transaction_is_400() {
    let server = Server::start();
    let cursor = log_cursor(&server, "tx-1");
    post_failures_to(&server, "tx-2", 0..2);
    let reply = log_page(&server, "tx-2", &format!("?cursor={cursor}"));
    assert_invalid_cursor(&reply, "from the log of another transaction");
}

#[test]
fn log_cursor_in_list_is_400() {
    let server = Server::start();
    let cursor = log_cursor(&server, "tx-1");
    let reply = list(&server, &format!("?cursor={cursor}"));
    assert_invalid_cursor(&reply, "from the log of one transaction");
}

#[test]
fn list_cursor_in_log_is_400() {
    let server = Server::start();
    post_failures_to(&server, "tx-1", 0..2);
    post_failures_to(&server, "tx-2", 0..2);
    let first = list(&server, "?limit=1").json();
    let cursor = first["next_cursor"].as_str().expect("a second page");
    let reply = log_page(&server, "tx-1", &format!("?cursor={cursor}"));
    assert_invalid_cursor(&reply, "from the list of transactions");
}

#[test]
fn head_log_page_is_200() {
    let server = Server::start();
    post(
        &server,
        "tx-1",
        "2026-12-04T13:00:00Z",
        "WORKER_INIT",
        "SUCCESS",
    );
    let reply = server.request(
        "HEAD",
        "/worker/log/tx-1?limit=1",
        Some(server.admin()),
        &[],
        None,
    );
    assert_eq!(reply.status, 200);
}

/// Posts one entry to `tx-1` and returns the reply to its log with `query`.
fn one_entry_log(query: &str) -> Reply {
    let server = Server::start();
    post(
        &server,
        "tx-1",
        "2026-12-04T13:00:00Z",
        "WORKER_INIT",
        "SUCCESS",
    );
    log_page(&server, "tx-1", query)
}

#[test]
fn log_limit_0_is_400() {
    let reply = one_entry_log("?limit=0");
    assert_invalid_query(&reply);
    assert_eq!(
        reply.message(),
        "Invalid limit \"0\"; use a whole number from 1 to 1000."
    );
}

#[test]
fn log_limit_1001_is_400() {
    assert_invalid_query(&one_entry_log("?limit=1001"));
}

#[test]
fn log_limit_1000_is_accepted() {
    assert_eq!(one_entry_log("?limit=1000").status, 200);
}

#[test]
fn log_limit_word_is_400() {
    assert_invalid_query(&one_entry_log("?limit=all"));
}

#[test]
fn log_bad_cursor_is_400() {
    let reply = one_entry_log("?cursor=not-a-cursor");
    assert_invalid_query(&reply);
    assert_eq!(
        reply.message(),
        "Invalid cursor; pass the next_cursor of the previous page unchanged."
    );
}

#[test]
fn log_cut_cursor_is_400() {
    let server = Server::start();
    server.post_many("tx-1", 3);
    let first = log_page(&server, "tx-1", "?limit=1").json();
    let cursor = first["next_cursor"].as_str().expect("a second page");
    let cut = &cursor[..cursor.len() - 1];
    assert_invalid_query(&log_page(&server, "tx-1", &format!("?cursor={cut}")));
}

#[test]
fn list_cursor_on_log_is_400() {
    let server = Server::start();
    post_transactions(&server, 3);
    let first = list(&server, "?limit=1").json();
    let cursor = first["next_cursor"].as_str().expect("a second page");
    assert_invalid_query(&log_page(&server, "tx-0", &format!("?cursor={cursor}")));
}

#[test]
fn log_repeated_limit_is_400() {
    let reply = one_entry_log("?limit=1&limit=2");
    assert_invalid_query(&reply);
    assert_eq!(
        reply.message(),
        "Query parameter \"limit\" is given more than once; send it once."
    );
}

// Outcomes.

#[test]
fn fatal_entry_makes_fatal() {
    let server = Server::start();
    post(
        &server,
        "tx-1",
        "2026-12-04T13:00:00Z",
        "WORKER_INIT",
        "SUCCESS",
    );
    post(
        &server,
        "tx-1",
        "2026-12-04T13:00:01Z",
        "WORKER_LOAD",
        "FATAL",
    );
    assert_eq!(server.read_log("tx-1")["outcome"], "fatal");
}

#[test]
fn fatal_wins_over_end() {
    let server = Server::start();
    post(
        &server,
        "tx-1",
        "2026-12-04T13:00:00Z",
        "WORKER_LOAD",
        "FATAL",
    );
    post(
        &server,
        "tx-1",
        "2026-12-04T13:00:01Z",
        "WORKER_END",
        "SUCCESS",
    );
    assert_eq!(server.read_log("tx-1")["outcome"], "fatal");
}

#[test]
fn end_success_is_succeeded() {
    let server = Server::start();
    post(
        &server,
        "tx-1",
        "2026-12-04T13:00:00Z",
        "WORKER_INIT",
        "SUCCESS",
    );
    post(
        &server,
        "tx-1",
        "2026-12-04T13:00:01Z",
        "WORKER_END",
        "SUCCESS",
    );
    assert_eq!(server.read_log("tx-1")["outcome"], "succeeded");
}

#[test]
fn end_warning_is_succeeded() {
    let server = Server::start();
    post(
        &server,
        "tx-1",
        "2026-12-04T13:00:01Z",
        "WORKER_END",
        "WARNING",
    );
    assert_eq!(server.read_log("tx-1")["outcome"], "succeeded");
}

#[test]
fn end_fail_is_running() {
    let server = Server::start();
    post(
        &server,
        "tx-1",
        "2026-12-04T13:00:01Z",
        "WORKER_END",
        "FAIL",
    );
    assert_eq!(server.read_log("tx-1")["outcome"], "running");
}

#[test]
fn quiet_transaction_is_stalled() {
    let server = Server::start_with(&["--stall-after", "1s"]);
    post(
        &server,
        "tx-1",
        "2026-12-04T13:00:00Z",
        "WORKER_INIT",
        "SUCCESS",
    );
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(server.read_log("tx-1")["outcome"], "stalled");
}

#[test]
fn finished_transaction_never_stalls() {
    let server = Server::start_with(&["--stall-after", "1s"]);
    post(
        &server,
        "tx-1",
        "2026-12-04T13:00:00Z",
        "WORKER_END",
        "SUCCESS",
    );
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(server.read_log("tx-1")["outcome"], "succeeded");
}

#[test]
fn new_entry_ends_stall() {
    let server = Server::start_with(&["--stall-after", "1s"]);
    post(
        &server,
        "tx-1",
        "2026-12-04T13:00:00Z",
        "WORKER_INIT",
        "SUCCESS",
    );
    std::thread::sleep(Duration::from_millis(1500));
    post(
        &server,
        "tx-1",
        "2026-12-04T13:00:01Z",
        "WORKER_LOAD",
        "SUCCESS",
    );
    assert_eq!(server.read_log("tx-1")["outcome"], "running");
}

// The list.

#[test]
fn list_shows_summary() {
    let server = Server::start();
    post(
        &server,
        "tx-1",
        "2026-12-04T13:00:05Z",
        "WORKER_LOAD",
        "SUCCESS",
    );
    post(
        &server,
        "tx-1",
        "2026-12-04T13:00:00Z",
        "WORKER_INIT",
        "SUCCESS",
    );
    let page = list(&server, "").json();
    let summary = &page["transactions"][0];
    assert_eq!(summary["transaction_id"], "tx-1");
    assert_eq!(summary["outcome"], "running");
    assert_eq!(summary["first_timestamp"], "2026-12-04T13:00:00.000000000Z");
    assert_eq!(summary["last_timestamp"], "2026-12-04T13:00:05.000000000Z");
    assert_eq!(summary["last_stage"], "WORKER_LOAD");
    assert_eq!(summary["last_status"], "SUCCESS");
    assert_eq!(summary["entry_count"], 2);
    assert!(summary["last_received_at"].is_string(), "{summary}");
}

#[test]
fn list_summary_has_eleven_members() {
    let server = Server::start();
    post(
        &server,
        "tx-1",
        "2026-12-04T13:00:00Z",
        "WORKER_INIT",
        "SUCCESS",
    );
    let page = list(&server, "").json();
    let members = page["transactions"][0]
        .as_object()
        .map(|object| object.len());
    assert_eq!(members, Some(11), "{page}");
}

fn post_message(server: &Server, id: &str, entry: (&str, &str, &str), message: &str) {
    let (timestamp, stage, status) = entry;
    let body = format!(
        "{}&message={}",
        form(timestamp, stage, status),
        percent_encode(message)
    );
    let reply = server.post_entry(id, &body);
    assert_eq!(reply.status, 200, "{}", reply.body);
}

/// Returns the list's summary of the only transaction.
fn only_summary(server: &Server) -> Value {
    let page = list(server, "").json();
    page["transactions"][0].clone()
}

/// Starts a server with a transaction that turned fatal in its second step
/// and still ended with `WORKER_END SUCCESS`.
fn corrupt_archive_server() -> Server {
    let server = Server::start();
    post_message(
        &server,
        "tx-1",
        ("2026-12-04T13:00:00Z", "WORKER_INIT", "SUCCESS"),
        "found dump",
    );
    post_message(
        &server,
        "tx-1",
        ("2026-12-04T13:00:01+01:00", "WORKER_DECOMPRESS", "FATAL"),
        "archive is corrupt",
    );
    post_message(
        &server,
        "tx-1",
        ("2026-12-04T13:00:02Z", "WORKER_END", "SUCCESS"),
        "done",
    );
    server
}

#[test]
fn list_names_fatal_stage() {
    let server = corrupt_archive_server();
    assert_eq!(only_summary(&server)["fatal_stage"], "WORKER_DECOMPRESS");
}

#[test]
fn list_names_fatal_timestamp() {
    let server = corrupt_archive_server();
    assert_eq!(
        only_summary(&server)["fatal_timestamp"],
        "2026-12-04T12:00:01.000000000Z"
    );
}

#[test]
fn list_names_fatal_message() {
    let server = corrupt_archive_server();
    assert_eq!(only_summary(&server)["fatal_message"], "archive is corrupt");
}

/// Posts `FATAL` entries, as `(timestamp, stage, message)`, to `tx-1` in this
/// order, and returns the `fatal_message` that the list shows for it.
fn listed_fatal_message(entries: &[(&str, &str, &str)]) -> Value {
    let server = Server::start();
    for (timestamp, stage, message) in entries {
        post_message(&server, "tx-1", (timestamp, stage, "FATAL"), message);
    }
    only_summary(&server)["fatal_message"].clone()
}

#[test]
fn fatal_entry_follows_log_order() {
    // The entries in the order they are posted, and the message expected.
    let cases = [
        (
            [
                ("2026-12-04T13:05:00Z", "WORKER_LOAD", "sent first"),
                ("2026-12-04T13:01:00Z", "WORKER_DECOMPRESS", "earlier"),
            ],
            "earlier",
        ),
        (
            [
                ("2026-12-04T13:01:00Z", "WORKER_LOAD", "received first"),
                ("2026-12-04T13:01:00Z", "WORKER_DECOMPRESS", "same time"),
            ],
            "received first",
        ),
    ];
    for (entries, expected) in cases {
        assert_eq!(listed_fatal_message(&entries), expected, "{entries:?}");
    }
}

#[test]
fn fatal_entry_without_message_is_null() {
    let server = Server::start();
    let fatal = form("2026-12-04T13:00:00Z", "WORKER_LOAD", "FATAL");
    assert_eq!(server.post_entry("tx-1", &fatal).status, 200);
    let summary = only_summary(&server);
    assert_eq!(summary["fatal_stage"], "WORKER_LOAD", "{summary}");
    assert!(summary["fatal_message"].is_null(), "{summary}");
}

#[test]
fn fatal_fields_null_unless_fatal() {
    let server = Server::start();
    post_message(
        &server,
        "tx-1",
        ("2026-12-04T13:00:00Z", "WORKER_LOAD", "FAIL"),
        "lock wait timeout",
    );
    let summary = only_summary(&server);
    for field in ["fatal_stage", "fatal_timestamp", "fatal_message"] {
        assert!(summary[field].is_null(), "{field}: {summary}");
    }
}

#[test]
fn fatal_fields_on_every_page() {
    let server = Server::start();
    for id in ["tx-a", "tx-b"] {
        post_message(
            &server,
            id,
            ("2026-12-04T13:00:00Z", "WORKER_LOAD", "FATAL"),
            id,
        );
    }
    let first = list(&server, "?limit=1&outcome=fatal").json();
    let cursor = first["next_cursor"].as_str().expect("a second page");
    let second = list(&server, &format!("?limit=1&outcome=fatal&cursor={cursor}")).json();
    assert_eq!(second["transactions"][0]["fatal_message"], "tx-a");
}

/// Posts one entry to each of the transactions `tx-0` to `tx-{count - 1}`, in
/// that order.
fn post_transactions(server: &Server, count: usize) {
    for number in 0..count {
        post(
            server,
            &format!("tx-{number}"),
            "2026-12-04T13:00:00Z",
            "WORKER_INIT",
            "SUCCESS",
        );
    }
}

#[test]
fn empty_list_has_no_cursor() {
    let server = Server::start();
    let page = list(&server, "").json();
    assert_eq!(page["transactions"], serde_json::json!([]));
    assert!(page["next_cursor"].is_null(), "{page}");
}

#[test]
fn list_most_recently_active_first() {
    let server = Server::start();
    post(
        &server,
        "tx-a",
        "2026-12-04T13:00:00Z",
        "WORKER_INIT",
        "SUCCESS",
    );
    post(
        &server,
        "tx-b",
        "2026-12-04T13:00:00Z",
        "WORKER_INIT",
        "SUCCESS",
    );
    post(
        &server,
        "tx-a",
        "2026-12-04T13:00:01Z",
        "WORKER_LOAD",
        "SUCCESS",
    );
    assert_eq!(listed_ids(&server, ""), ["tx-a", "tx-b"]);
}

#[test]
fn list_default_limit_is_50() {
    let server = Server::start();
    post_transactions(&server, 51);
    let page = list(&server, "").json();
    assert_eq!(ids_of(&page).len(), 50);
    assert!(page["next_cursor"].is_string(), "{}", page["next_cursor"]);
}

#[test]
fn list_pages_cover_every_transaction() {
    let server = Server::start();
    post_transactions(&server, 7);
    let mut seen = Vec::new();
    let mut query = "?limit=3".to_string();
    for _ in 0..10 {
        let page = list(&server, &query).json();
        seen.extend(ids_of(&page));
        match page["next_cursor"].as_str() {
            Some(cursor) => query = format!("?limit=3&cursor={cursor}"),
            None => break,
        }
    }
    let expected: Vec<String> = (0..7).rev().map(|number| format!("tx-{number}")).collect();
    assert_eq!(seen, expected);
}

/// Pages through the list two transactions at a time and calls
/// `between_pages` after the first page. Returns the ids of all pages and the
/// `last_received_at` of the first transaction listed.
fn page_list_with(server: &Server, mut between_pages: impl FnMut()) -> (Vec<String>, String) {
    let first = list(server, "?limit=2").json();
    let started = string_member(&first["transactions"][0], "last_received_at");
    let mut seen = ids_of(&first);
    between_pages();
    let mut cursor = first["next_cursor"].as_str().map(str::to_string);
    while let Some(position) = cursor {
        let page = list(server, &format!("?limit=2&cursor={position}")).json();
        seen.extend(ids_of(&page));
        cursor = page["next_cursor"].as_str().map(str::to_string);
    }
    (seen, started)
}

/// Returns the ids at the front of the list received after `started`.
fn received_after(server: &Server, started: &str) -> Vec<String> {
    let page = list(server, "?limit=1000").json();
    page["transactions"]
        .as_array()
        .expect("transactions is an array")
        .iter()
        .take_while(|summary| string_member(summary, "last_received_at").as_str() > started)
        .map(|summary| string_member(summary, "transaction_id"))
        .collect()
}

/// Stores six transactions, then pages through the list while the oldest,
/// `tx-0`, gets an entry after the first page. Returns what
/// [`page_list_with`] returns.
fn page_list_while_oldest_is_active(server: &Server) -> (Vec<String>, String) {
    post_transactions(server, 6);
    page_list_with(server, || {
        post(
            server,
            "tx-0",
            "2026-12-04T13:05:00Z",
            "WORKER_LOAD",
            "SUCCESS",
        );
    })
}

#[test]
fn active_transaction_leaves_later_pages() {
    let server = Server::start();
    let (seen, _) = page_list_while_oldest_is_active(&server);
    assert!(!seen.contains(&"tx-0".to_string()), "{seen:?}");
}

#[test]
fn rereading_list_front_finds_active_transaction() {
    let server = Server::start();
    let (_, started) = page_list_while_oldest_is_active(&server);
    assert_eq!(received_after(&server, &started), ["tx-0"]);
}

#[test]
fn list_pages_have_limit_size() {
    let server = Server::start();
    post_transactions(&server, 5);
    let first = list(&server, "?limit=2").json();
    let cursor = first["next_cursor"]
        .as_str()
        .expect("a second page")
        .to_string();
    let second = list(&server, &format!("?limit=2&cursor={cursor}")).json();
    assert_eq!(ids_of(&second).len(), 2);
}

#[test]
fn last_page_has_no_cursor() {
    let server = Server::start();
    post_transactions(&server, 4);
    let first = list(&server, "?limit=2").json();
    let cursor = first["next_cursor"]
        .as_str()
        .expect("a second page")
        .to_string();
    let second = list(&server, &format!("?limit=2&cursor={cursor}")).json();
    assert!(second["next_cursor"].is_null(), "{second}");
}

#[test]
fn list_pages_do_not_repeat() {
    let server = Server::start();
    post_transactions(&server, 9);
    let mut seen = HashSet::new();
    let mut query = "?limit=2".to_string();
    let mut count = 0;
    for _ in 0..10 {
        let page = list(&server, &query).json();
        for id in ids_of(&page) {
            count += 1;
            seen.insert(id);
        }
        match page["next_cursor"].as_str() {
            Some(cursor) => query = format!("?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(count, 9);
    assert_eq!(seen.len(), 9);
}

#[test]
fn limit_1000_is_accepted() {
    let server = Server::start();
    let reply = list(&server, "?limit=1000");
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[test]
fn limit_1001_is_400() {
    let server = Server::start();
    assert_invalid_query(&list(&server, "?limit=1001"));
}

#[test]
fn limit_0_is_400() {
    let server = Server::start();
    assert_invalid_query(&list(&server, "?limit=0"));
}

#[test]
fn limit_word_is_400() {
    let server = Server::start();
    assert_invalid_query(&list(&server, "?limit=ten"));
}

#[test]
fn negative_limit_is_400() {
    let server = Server::start();
    assert_invalid_query(&list(&server, "?limit=-1"));
}

#[test]
fn bad_cursor_is_400() {
    let server = Server::start();
    assert_invalid_query(&list(&server, "?cursor=not-a-cursor"));
}

#[test]
fn cut_cursor_is_400() {
    let server = Server::start();
    post_transactions(&server, 3);
    let first = list(&server, "?limit=1").json();
    let cursor = first["next_cursor"].as_str().expect("a second page");
    let cut = &cursor[..cursor.len() - 1];
    assert_invalid_query(&list(&server, &format!("?limit=1&cursor={cut}")));
}

#[test]
fn bad_outcome_is_400() {
    let server = Server::start();
    assert_invalid_query(&list(&server, "?outcome=failed"));
}

#[test]
fn outcome_with_newline_names_whitespace() {
    let server = Server::start();
    let message = list(&server, "?outcome=fatal%0A").message();
    assert!(
        message.contains("starts or ends with whitespace"),
        "{message}"
    );
}

#[test]
fn uppercase_outcome_is_400() {
    let server = Server::start();
    assert_invalid_query(&list(&server, "?outcome=FATAL"));
}

#[test]
fn unknown_list_parameter_is_400() {
    let server = Server::start();
    assert_invalid_query(&list(&server, "?status=FATAL"));
}

#[test]
fn repeated_list_parameter_is_400() {
    let server = Server::start();
    assert_invalid_query(&list(&server, "?limit=1&limit=2"));
}

#[test]
fn bad_since_is_400() {
    let server = Server::start();
    assert_invalid_query(&list(&server, "?since=yesterday"));
}

#[test]
fn empty_list_filters_are_400() {
    let server = Server::start();
    for query in ["?since=", "?until=", "?outcome=", "?limit=", "?cursor="] {
        let reply = list(&server, query);
        assert_eq!(reply.status, 400, "{query}: {}", reply.body);
    }
}

#[test]
fn unencoded_plus_in_since_is_explained() {
    let server = Server::start();
    let reply = list(&server, "?since=2026-12-04T10:00:00+01:00");
    assert_invalid_query(&reply);
    assert!(reply.body.contains("%2B"), "{}", reply.body);
}

#[test]
fn latin1_escape_in_query_is_400() {
    let server = Server::start();
    assert_invalid_query(&list(&server, "?outcome=fatal%E9"));
}

#[test]
fn latin1_escape_in_query_suggests_iconv() {
    let server = Server::start();
    let message = list(&server, "?outcome=fatal%E9").message();
    assert!(message.contains("iconv -f latin1 -t utf-8"), "{message}");
}

#[test]
fn bad_since_message_ends_sentence() {
    let server = Server::start();
    let message = list(&server, "?since=yesterday").message();
    assert!(message.ends_with('.'), "{message}");
}

#[test]
fn age_in_since_is_400() {
    let server = Server::start();
    assert_invalid_query(&list(&server, "?since=1d"));
}

#[test]
fn age_in_since_names_command_line() {
    let server = Server::start();
    let message = list(&server, "?since=1d").message();
    assert!(
        message.contains("an age such as 1d is read only by the command line"),
        "{message}"
    );
}

#[test]
fn upper_case_age_names_command_line_form() {
    let server = Server::start();
    let message = list(&server, "?since=2H").message();
    assert!(
        message.contains("(translog log list --since 2h)"),
        "{message}"
    );
}

#[test]
fn age_in_since_example_is_age_before_now() {
    let server = Server::start();
    let message = list(&server, "?since=1d").message();
    let example = message
        .split_once("with an offset, such as ")
        .and_then(|(_, rest)| rest.split_once(", which is 1d before now"))
        .map(|(instant, _)| instant.to_string())
        .unwrap_or_default();
    let instant = chrono::DateTime::parse_from_rfc3339(&example)
        .map(|instant| instant.with_timezone(&chrono::Utc));
    let expected = chrono::Utc::now() - chrono::TimeDelta::days(1);
    let off_by = instant.map(|instant| (instant - expected).num_seconds().abs());
    assert!(off_by.is_ok_and(|seconds| seconds < 300), "{message}");
}

#[test]
fn age_before_1970_example_is_accepted() {
    let server = Server::start();
    let message = list(&server, "?since=30000d").message();
    let example = message
        .split_once("with an offset, such as ")
        .and_then(|(_, rest)| rest.split_once(','))
        .map(|(instant, _)| instant.to_string())
        .unwrap_or_default();
    let reply = list(&server, &format!("?since={example}"));
    assert_eq!(reply.status, 200, "{message}\n{}", reply.body);
}

#[test]
fn upper_case_outcome_names_lower_case() {
    let server = Server::start();
    let message = list(&server, "?outcome=FATAL").message();
    assert_eq!(
        message,
        "Invalid outcome \"FATAL\"; outcomes are lower case, so send fatal."
    );
}

#[test]
fn capitalized_list_parameter_names_lower_case() {
    let server = Server::start();
    let message = list(&server, "?Since=2026-12-04").message();
    assert_eq!(
        message,
        "Unknown query parameter \"Since\": parameter names are lower case, so send since."
    );
}

#[test]
fn skipped_since_names_server_zone() {
    let server = Server::start_with(&["--timezone", "Europe/Berlin"]);
    let message = list(&server, "?since=2026-03-29%2002:30:00").message();
    assert!(
        message.ends_with(
            "Europe/Berlin is the server's --timezone, because user admin has no time zone \
             of its own, which translog user set-timezone sets."
        ),
        "{message}"
    );
}

#[test]
fn bad_until_is_400() {
    let server = Server::start();
    assert_invalid_query(&list(&server, "?until=2026-02-30"));
}

/// Starts a server with one transaction of each outcome; tx-stalled is quiet
/// for longer than the one-second stall period.
fn outcome_server() -> Server {
    let server = Server::start_with(&["--stall-after", "1s"]);
    post(
        &server,
        "tx-stalled",
        "2026-12-04T13:00:00Z",
        "WORKER_INIT",
        "SUCCESS",
    );
    std::thread::sleep(Duration::from_millis(1500));
    post(
        &server,
        "tx-fatal",
        "2026-12-04T13:00:00Z",
        "WORKER_LOAD",
        "FATAL",
    );
    post(
        &server,
        "tx-succeeded",
        "2026-12-04T13:00:00Z",
        "WORKER_END",
        "SUCCESS",
    );
    post(
        &server,
        "tx-running",
        "2026-12-04T13:00:00Z",
        "WORKER_INIT",
        "SUCCESS",
    );
    server
}

#[test]
fn outcome_filter_selects_each() {
    let server = outcome_server();
    for outcome in ["fatal", "succeeded", "stalled", "running"] {
        assert_eq!(
            listed_ids(&server, &format!("?outcome={outcome}")),
            [format!("tx-{outcome}")],
            "outcome={outcome}"
        );
    }
}

#[test]
fn list_reports_outcomes() {
    let server = outcome_server();
    let page = list(&server, "").json();
    for summary in page["transactions"].as_array().expect("transactions") {
        let id = summary["transaction_id"].as_str().expect("id");
        assert_eq!(
            format!("tx-{}", summary["outcome"].as_str().expect("outcome")),
            id
        );
    }
}

fn time_server() -> Server {
    let server = Server::start();
    post(
        &server,
        "tx-early",
        "2026-12-01T10:00:00Z",
        "WORKER_INIT",
        "SUCCESS",
    );
    post(
        &server,
        "tx-middle",
        "2026-12-02T10:00:00Z",
        "WORKER_INIT",
        "SUCCESS",
    );
    post(
        &server,
        "tx-late",
        "2026-12-03T10:00:00Z",
        "WORKER_INIT",
        "SUCCESS",
    );
    server
}

#[test]
fn since_filters_older() {
    let server = time_server();
    assert_eq!(
        listed_ids(&server, "?since=2026-12-02T00:00:00Z"),
        ["tx-late", "tx-middle"]
    );
}

#[test]
fn until_filters_newer() {
    let server = time_server();
    assert_eq!(
        listed_ids(&server, "?until=2026-12-02T23:59:59Z"),
        ["tx-middle", "tx-early"]
    );
}

#[test]
fn since_and_until_combine() {
    let server = time_server();
    assert_eq!(
        listed_ids(&server, "?since=2026-12-02&until=2026-12-02T23:00:00Z"),
        ["tx-middle"]
    );
}

#[test]
fn reversed_window_is_400() {
    let server = time_server();
    let reply = list(&server, "?since=2026-12-03&until=2026-12-02");
    assert_eq!(reply.error_code(), "invalid_query", "{}", reply.body);
}

#[test]
fn reversed_window_message_suggests_swap() {
    let server = time_server();
    let reply = list(&server, "?since=2026-12-03&until=2026-12-02");
    assert_eq!(
        reply.message(),
        "since \"2026-12-03\" is after until \"2026-12-02\", so no transaction can match; swap \
         the two values."
    );
}

#[test]
fn equal_window_matches_one_instant() {
    let server = time_server();
    assert_eq!(
        listed_ids(
            &server,
            "?since=2026-12-03T10:00:00Z&until=2026-12-03T10:00:00Z"
        ),
        ["tx-late"]
    );
}

#[test]
fn since_is_inclusive() {
    let server = time_server();
    assert_eq!(
        listed_ids(&server, "?since=2026-12-03T10:00:00Z"),
        ["tx-late"]
    );
}

#[test]
fn until_is_inclusive() {
    let server = time_server();
    assert_eq!(
        listed_ids(&server, "?until=2026-12-01T10:00:00Z"),
        ["tx-early"]
    );
}

#[test]
fn since_accepts_offset_form() {
    let server = time_server();
    assert_eq!(
        listed_ids(&server, "?since=2026-12-03T11:00:00%2B01:00"),
        ["tx-late"]
    );
}

#[test]
fn since_accepts_unix_seconds() {
    let server = time_server();
    // 1796292000 is 2026-12-03T10:00:00Z.
    assert_eq!(listed_ids(&server, "?since=1796292000"), ["tx-late"]);
}

#[test]
fn filters_combine_with_paging() {
    let server = time_server();
    let first = list(&server, "?since=2026-12-01T12:00:00Z&limit=1").json();
    let cursor = first["next_cursor"]
        .as_str()
        .expect("a second page")
        .to_string();
    let second = listed_ids(
        &server,
        &format!("?since=2026-12-01T12:00:00Z&limit=1&cursor={cursor}"),
    );
    assert_eq!(ids_of(&first), ["tx-late"]);
    assert_eq!(second, ["tx-middle"]);
}

#[test]
fn reader_lists() {
    let server = time_server();
    server.add_user("reader1", "reader");
    let reply = server.get("/worker/log", Some(("reader1", PASSWORD)));
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[test]
fn head_list_is_200() {
    let server = Server::start();
    let reply = server.request("HEAD", "/worker/log", Some(server.admin()), &[], None);
    assert_eq!(reply.status, 200);
}

// Instants that no date has, in a database changed by other means.

/// Starts a server, stores an entry of `tx-1`, then sets `column` of every
/// row of `table` to `i64::MAX` seconds, which no date has.
fn server_with_unreadable_instant(table: &str, column: &str) -> Server {
    let server = Server::start();
    post(
        &server,
        "tx-1",
        "2026-12-04T13:00:00Z",
        "WORKER_INIT",
        "SUCCESS",
    );
    let connection = rusqlite::Connection::open(&server.db).expect("open the database");
    connection
        .execute(&format!("UPDATE {table} SET {column} = ?1"), [i64::MAX])
        .expect("change the instant");
    server
}

#[test]
fn unreadable_entry_instant_is_500() {
    let server = server_with_unreadable_instant("entries", "timestamp_s");
    let reply = server.get("/worker/log/tx-1", Some(server.admin()));
    assert_eq!(reply.status, 500, "{}", reply.body);
}

#[test]
fn unreadable_entry_instant_is_logged() {
    let server = server_with_unreadable_instant("entries", "timestamp_s");
    server.get("/worker/log/tx-1", Some(server.admin()));
    let logged = server.wait_for_log("is out of range", Duration::from_secs(5));
    assert!(logged, "{}", server.log());
}

#[test]
fn unreadable_list_instant_is_500() {
    let server = server_with_unreadable_instant("transactions", "last_timestamp_s");
    let reply = list(&server, "");
    assert_eq!(reply.status, 500, "{}", reply.body);
}

// Health.

#[test]
fn healthz_needs_no_credentials() {
    let server = Server::start();
    let reply = server.get("/healthz", None);
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[test]
fn healthz_ignores_bad_credentials() {
    let server = Server::start();
    let reply = server.get("/healthz", Some(("admin", "wrong")));
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[test]
fn healthz_body_is_json() {
    let server = Server::start();
    let reply = server.get("/healthz", None);
    assert_eq!(reply.json()["status"], "ok");
}

#[test]
fn healthz_head_is_200() {
    let server = Server::start();
    let reply = server.request("HEAD", "/healthz", None, &[], None);
    assert_eq!(reply.status, 200);
}

#[test]
fn healthz_post_is_405() {
    let server = Server::start();
    let reply = server.request("POST", "/healthz", None, &[], Some(b""));
    assert_eq!(reply.status, 405, "{}", reply.body);
}

#[test]
fn healthz_while_database_busy_is_200() {
    let server = Server::start();
    let blocker = rusqlite::Connection::open(&server.db).expect("open the database");
    blocker
        .execute_batch("BEGIN IMMEDIATE")
        .expect("take the write lock");
    let reply = server.get("/healthz", None);
    blocker.execute_batch("ROLLBACK").expect("release the lock");
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[test]
fn healthz_recovers_after_busy() {
    let server = Server::start();
    let blocker = rusqlite::Connection::open(&server.db).expect("open the database");
    blocker
        .execute_batch("BEGIN IMMEDIATE")
        .expect("take the write lock");
    let failed = server.post_entry("tx-1", &form("2026-12-04", "WORKER_INIT", "SUCCESS"));
    assert_eq!(failed.status, 503, "{}", failed.body);
    blocker.execute_batch("ROLLBACK").expect("release the lock");
    // The storage thread probes about once a second after a failed commit.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let mut reply = server.get("/healthz", None);
    while reply.status != 200 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(100));
        reply = server.get("/healthz", None);
    }
    assert_eq!(reply.status, 200, "{}", reply.body);
}
