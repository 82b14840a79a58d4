//! `GET /worker/log/{id}` without `limit` and `cursor` against the real
//! binary: the whole log in one response, streamed in pages when it is
//! longer than one page, to fast, slow and stalled clients, and cut off as
//! a broken transfer when a read fails after the status was sent.

mod common;

use std::collections::HashSet;
use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{
    basic_auth, contains, damage_pages, entry_key, fill_database, form, order_key, read_all_pages,
    read_head, Reply, Server,
};
use serde_json::Value;

/// Entries of a log that needs three pages of the API.
const MANY: usize = 2500;

/// The entries of a log of [`fill_database`] that is far larger than the
/// socket buffers of both ends, so that a client that reads nothing stalls
/// its stream.
const HUGE: usize = 20_000;

/// The id of the one transaction that [`server_with_filled_log`] stores.
const FILLED: &str = "tx-0000000";

/// How long a test waits for a response or a log line.
const WAIT: Duration = Duration::from_secs(20);

fn log_reply(server: &Server, id: &str, query: &str) -> Reply {
    server.get(&format!("/worker/log/{id}{query}"), Some(server.admin()))
}

fn entries_of(log: &Value) -> Vec<Value> {
    log["entries"].as_array().expect("entries").clone()
}

/// Starts a server with [`MANY`] entries in `tx-big`, stored through the
/// write API.
fn server_with_long_log() -> Server {
    let server = Server::start();
    server.post_many("tx-big", MANY);
    server
}

/// Starts a server on a database with one transaction, [`FILLED`], of
/// `entries` entries with a message of 200 bytes, written straight to
/// SQLite, with `args` for `serve`.
fn server_with_filled_log(entries: usize, args: &[&str]) -> Server {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let db = dir.path().join("translog.db");
    fill_database(&db, 1, entries, &"m".repeat(200));
    Server::start_in(dir, args)
}

/// Sends `GET /worker/log/{id}` as the administrator on a new connection,
/// with `Connection: close`, and returns the connection.
fn send_log_request(server: &Server, method: &str, id: &str) -> TcpStream {
    let (user, password) = server.admin();
    let request = format!(
        "{method} /worker/log/{id} HTTP/1.1\r\nHost: test\r\nAuthorization: {}\r\n\
         Connection: close\r\n\r\n",
        basic_auth(user, password)
    );
    let mut stream = server.connect();
    stream
        .write_all(request.as_bytes())
        .expect("write the request");
    stream
}

/// Reads `stream` until the server closes it, `chunk` bytes at a time with
/// `pause` after each read. Returns what arrived.
fn read_slowly(stream: &mut TcpStream, chunk: usize, pause: Duration) -> Vec<u8> {
    stream
        .set_read_timeout(Some(WAIT))
        .expect("set read timeout");
    let mut received = Vec::new();
    let mut buffer = vec![0u8; chunk];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => return received,
            Ok(count) => received.extend_from_slice(&buffer[..count]),
        }
        std::thread::sleep(pause);
    }
}

/// A response read from a raw connection: the head as text, the data of
/// its chunked body, and whether the body ended with its last chunk.
struct ChunkedResponse {
    head: String,
    data: Vec<u8>,
    complete: bool,
}

/// Splits `received` into the head and a chunked body, and decodes the
/// chunks that arrived whole.
fn decode_chunked(received: &[u8]) -> ChunkedResponse {
    let end = received
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .expect("a complete head");
    let head = String::from_utf8_lossy(&received[..end + 4]).into_owned();
    let mut rest = &received[end + 4..];
    let mut data = Vec::new();
    while let Some(line_end) = rest.windows(2).position(|window| window == b"\r\n") {
        let size_line = String::from_utf8_lossy(&rest[..line_end]).into_owned();
        let size = usize::from_str_radix(size_line.trim(), 16).expect("a chunk size in hex");
        let chunk_start = line_end + 2;
        if size == 0 {
            let complete = rest.len() >= chunk_start + 2;
            return ChunkedResponse {
                head,
                data,
                complete,
            };
        }
        if rest.len() < chunk_start + size + 2 {
            break;
        }
        data.extend_from_slice(&rest[chunk_start..chunk_start + size]);
        rest = &rest[chunk_start + size + 2..];
    }
    ChunkedResponse {
        head,
        data,
        complete: false,
    }
}

// A log longer than one page, whole.

#[test]
fn whole_log_has_every_entry() {
    let server = server_with_long_log();
    let log = log_reply(&server, "tx-big", "").json();
    assert_eq!(entries_of(&log).len(), MANY);
}

#[test]
fn whole_log_has_each_entry_once() {
    let server = server_with_long_log();
    let log = log_reply(&server, "tx-big", "").json();
    let keys: HashSet<_> = entries_of(&log).iter().map(entry_key).collect();
    assert_eq!(keys.len(), MANY);
}

#[test]
fn whole_log_is_in_log_order() {
    let server = server_with_long_log();
    let log = log_reply(&server, "tx-big", "").json();
    let keys: Vec<_> = entries_of(&log).iter().map(order_key).collect();
    // RFC 3339 UTC instants with nine fraction digits sort as text.
    assert!(
        keys.windows(2).all(|pair| pair[0] <= pair[1]),
        "entries out of order"
    );
}

#[test]
fn whole_log_has_null_cursor() {
    let server = server_with_long_log();
    let log = log_reply(&server, "tx-big", "").json();
    assert!(log["next_cursor"].is_null(), "{}", log["next_cursor"]);
}

#[test]
fn whole_log_has_four_members() {
    let server = server_with_long_log();
    let log = log_reply(&server, "tx-big", "").json();
    let mut names: Vec<&String> = log.as_object().expect("an object").keys().collect();
    names.sort();
    assert_eq!(
        names,
        ["entries", "next_cursor", "outcome", "transaction_id"]
    );
}

#[test]
fn whole_log_equals_its_pages() {
    let server = server_with_long_log();
    let log = log_reply(&server, "tx-big", "").json();
    let (paged, _) = read_all_pages(&server, "tx-big", 1000);
    assert!(
        entries_of(&log) == paged,
        "the whole log and its pages differ"
    );
}

#[test]
fn whole_log_outcome_is_page_outcome() {
    let server = server_with_long_log();
    let log = log_reply(&server, "tx-big", "").json();
    let page = log_reply(&server, "tx-big", "?limit=1").json();
    assert_eq!(log["outcome"], page["outcome"]);
}

#[test]
fn whole_log_ends_with_newline() {
    let server = server_with_long_log();
    let reply = log_reply(&server, "tx-big", "");
    assert!(
        reply.body.ends_with("}\n"),
        "{:?}",
        &reply.body[reply.body.len() - 20..]
    );
}

#[test]
fn long_log_is_chunked() {
    let server = server_with_long_log();
    let reply = log_reply(&server, "tx-big", "");
    assert_eq!(reply.header("Transfer-Encoding"), Some("chunked"));
}

#[test]
fn long_log_is_json() {
    let server = server_with_long_log();
    let reply = log_reply(&server, "tx-big", "");
    assert_eq!(reply.header("Content-Type"), Some("application/json"));
}

#[test]
fn one_page_log_has_content_length() {
    let server = Server::start();
    server.post_many("tx-small", 3);
    let reply = log_reply(&server, "tx-small", "");
    let length = reply.header("Content-Length").map(str::to_string);
    assert_eq!(length, Some(reply.body.len().to_string()));
}

#[test]
fn cli_log_show_equals_whole_log() {
    let server = server_with_long_log();
    let output = server.cli(&["log", "show", "tx-big", "--json"], None);
    assert!(output.status.success(), "{output:?}");
    let cli_log: Value = serde_json::from_slice(&output.stdout).expect("JSON output");
    let log = log_reply(&server, "tx-big", "").json();
    assert!(cli_log == log, "the CLI and the API differ");
}

// Paging with `limit`.

#[test]
fn limit_still_pages() {
    let server = server_with_long_log();
    let page = log_reply(&server, "tx-big", "?limit=1000").json();
    assert_eq!(entries_of(&page).len(), 1000);
}

#[test]
fn limit_page_has_cursor() {
    let server = server_with_long_log();
    let page = log_reply(&server, "tx-big", "?limit=1000").json();
    assert!(page["next_cursor"].is_string(), "{}", page["next_cursor"]);
}

// HEAD and 404.

#[test]
fn head_long_log_is_200() {
    let server = server_with_long_log();
    let reply = server.request(
        "HEAD",
        "/worker/log/tx-big",
        Some(server.admin()),
        &[],
        None,
    );
    assert_eq!(reply.status, 200);
}

#[test]
fn head_long_log_has_no_body() {
    let server = server_with_long_log();
    let mut stream = send_log_request(&server, "HEAD", "tx-big");
    let text = common::read_until_closed(&mut stream, Duration::from_secs(5));
    let (_, body) = text.split_once("\r\n\r\n").expect("a complete head");
    assert_eq!(body, "");
}

#[test]
fn head_long_log_reads_no_stream() {
    let server = server_with_long_log();
    let mut stream = send_log_request(&server, "HEAD", "tx-big");
    common::read_until_closed(&mut stream, Duration::from_secs(5));
    let reply = log_reply(&server, "tx-big", "?limit=1");
    assert_eq!(reply.status, 200);
    assert!(!server.log().contains("was cut off"), "{}", server.log());
}

#[test]
fn whole_log_of_unknown_id_is_404() {
    let server = server_with_long_log();
    let reply = log_reply(&server, "tx-none", "");
    assert_eq!(reply.status, 404, "{}", reply.body);
}

// Slow and stalled clients.

#[test]
fn slow_reader_gets_whole_log() {
    let server = server_with_long_log();
    let mut stream = send_log_request(&server, "GET", "tx-big");
    // 16 KiB every 20 ms: the log of about 600 KB takes over a second.
    let received = read_slowly(&mut stream, 16 * 1024, Duration::from_millis(20));
    let response = decode_chunked(&received);
    let log: Value = serde_json::from_slice(&response.data).expect("a JSON body");
    assert_eq!(entries_of(&log).len(), MANY);
}

#[test]
fn slow_reader_gets_last_chunk() {
    let server = server_with_long_log();
    let mut stream = send_log_request(&server, "GET", "tx-big");
    let received = read_slowly(&mut stream, 16 * 1024, Duration::from_millis(20));
    assert!(decode_chunked(&received).complete, "no last chunk");
}

#[test]
fn stalled_readers_leave_reads_served() {
    let server = server_with_filled_log(HUGE, &[]);
    // More stalled streams than the runtime has blocking threads for reads.
    let stalled: Vec<TcpStream> = (0..8)
        .map(|_| {
            let mut stream = send_log_request(&server, "GET", FILLED);
            let head = read_head(&mut stream, WAIT);
            assert!(head.starts_with("HTTP/1.1 200"), "{head}");
            stream
        })
        .collect();
    let started = Instant::now();
    let reply = log_reply(&server, FILLED, "");
    assert_eq!(entries_of(&reply.json()).len(), HUGE);
    assert!(started.elapsed() < WAIT, "took {:?}", started.elapsed());
    drop(stalled);
}

#[test]
fn stalled_reader_is_disconnected() {
    let server = server_with_filled_log(HUGE, &["--write-timeout", "1s"]);
    let mut stream = send_log_request(&server, "GET", FILLED);
    let head = read_head(&mut stream, WAIT);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        server.wait_for_log("the client read none of its responses for 1 s", WAIT),
        "{}",
        server.log()
    );
}

#[test]
fn stalled_stream_end_is_logged() {
    let server = server_with_filled_log(HUGE, &["--write-timeout", "1s"]);
    let mut stream = send_log_request(&server, "GET", FILLED);
    read_head(&mut stream, WAIT);
    // How many entries went out before the cut depends on the socket
    // buffers, so the line is matched without its count.
    assert!(
        server.wait_for_log(
            "entries: the connection closed before the client read the whole log",
            WAIT
        ),
        "{}",
        server.log()
    );
}

/// Starts a stream of the log of [`FILLED`] that the client stalls after
/// the head, stops the server with SIGTERM, and returns the server's log
/// once it has stopped.
fn log_of_stop_during_stalled_stream() -> String {
    let server = server_with_filled_log(HUGE, &[]);
    let mut stream = send_log_request(&server, "GET", FILLED);
    read_head(&mut stream, WAIT);
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &server.pid().to_string()])
        .status()
        .expect("run kill");
    assert!(killed.success(), "kill -TERM failed");
    assert!(
        server.wait_for_log("translog stopped", WAIT),
        "{}",
        server.log()
    );
    server.log()
}

#[test]
fn stream_cut_off_at_stop_is_logged() {
    let log = log_of_stop_during_stalled_stream();
    let expected = format!("the log of transaction \"{FILLED}\" sent to 127.0.0.1:");
    assert!(log.contains(&expected), "{log}");
}

#[test]
fn stream_cut_off_at_stop_names_reason() {
    let log = log_of_stop_during_stalled_stream();
    assert!(
        log.contains("entries: the server stopped before the whole log was sent"),
        "{log}"
    );
}

#[test]
fn stop_cut_off_line_counts_requests() {
    let log = log_of_stop_during_stalled_stream();
    assert!(
        log.contains("1 request still in progress after 3.5s was cut off"),
        "{log}"
    );
}

// Entries stored during a stream.

/// Starts a stream of the log of [`FILLED`] that the client stalls after
/// the head, stores `entry` in that transaction through the write API, and
/// then reads the rest. Returns the entries of the response.
fn entries_after_store_during_stream(entry: &str) -> Vec<Value> {
    let server = server_with_filled_log(HUGE, &[]);
    let mut stream = send_log_request(&server, "GET", FILLED);
    read_head(&mut stream, WAIT);
    let stored = server.post_entry(FILLED, entry);
    assert_eq!(stored.status, 200, "{}", stored.body);
    let rest = read_slowly(&mut stream, 256 * 1024, Duration::ZERO);
    // The head was read already, so a head is put back in front.
    let mut received = b"HTTP/1.1 200 OK\r\n\r\n".to_vec();
    received.extend_from_slice(&rest);
    let response = decode_chunked(&received);
    assert!(response.complete, "no last chunk");
    let log: Value = serde_json::from_slice(&response.data).expect("a JSON body");
    entries_of(&log)
}

#[test]
fn later_entry_during_stream_is_included() {
    let entries =
        entries_after_store_during_stream(&form("2026-12-04T13:00:00Z", "WORKER_END", "SUCCESS"));
    let last = entries.last().expect("entries");
    assert_eq!(last["timestamp"], "2026-12-04T13:00:00.000000000Z");
}

#[test]
fn older_entry_during_stream_is_missing() {
    let entries =
        entries_after_store_during_stream(&form("2020-01-01T00:00:00Z", "WORKER_INIT", "SUCCESS"));
    assert_eq!(entries.len(), HUGE);
}

// A read that fails after the status was sent.

#[test]
fn read_failure_mid_stream_breaks_transfer() {
    let server = server_with_long_log();
    let (status, dir) = server.stop();
    assert!(status.success(), "{status}");
    // Entry 2400 is on the third page of 1000, so the first page reads.
    let db = dir.path().join("translog.db");
    let damaged = damage_pages(&db, |page| contains(page, b"entry 2400"));
    assert!(damaged > 0, "no page holds entry 2400");
    let server = Server::start_in(dir, &[]);

    let mut stream = send_log_request(&server, "GET", "tx-big");
    let received = read_slowly(&mut stream, 256 * 1024, Duration::ZERO);
    let response = decode_chunked(&received);
    assert!(
        response.head.starts_with("HTTP/1.1 200"),
        "{}",
        response.head
    );
    assert!(!response.complete, "the body ended with its last chunk");
    assert!(
        server.wait_for_log(
            "was cut off after 2000 entries, because the next page failed",
            WAIT
        ),
        "{}",
        server.log()
    );
}
