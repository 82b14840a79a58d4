//! The HTTP layer under hostile or unusual clients, over raw sockets: head
//! and body limits, timeouts, request smuggling, pipelining, `Expect:
//! 100-continue`, the connection cap, and a clean stop on SIGTERM, SIGINT and
//! SIGHUP.

mod common;

use std::io::Write as _;
use std::net::TcpStream;
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use common::{
    basic_auth, form, is_closed_within, read_head, read_response, read_until_closed, status_codes,
    wait_until, Server, PASSWORD,
};
use tempfile::TempDir;

const ENTRY: &str = "timestamp=2026-12-04T14:57:54%2B01:00&stage=WORKER_INIT&status=SUCCESS";
const WAIT: Duration = Duration::from_secs(5);

fn authorization(server: &Server) -> String {
    let (user, password) = server.admin();
    basic_auth(user, password)
}

/// Builds a complete form POST of `body` to `/worker/log/{id}` with extra header lines.
fn post_request(server: &Server, id: &str, headers: &str, body: &str) -> String {
    format!(
        "POST /worker/log/{id} HTTP/1.1\r\nHost: test\r\nAuthorization: {}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\n{headers}\
         Content-Length: {}\r\n\r\n{body}",
        authorization(server),
        body.len()
    )
}

fn stored_count(server: &Server, id: &str) -> usize {
    let reply = server.get(&format!("/worker/log/{id}"), Some(server.admin()));
    match reply.status {
        404 => 0,
        200 => reply.json()["entries"].as_array().map_or(0, Vec::len),
        other => panic!("GET /worker/log/{id} returned {other}: {}", reply.body),
    }
}

// Head size.

#[test]
fn head_over_16_kib_is_431() {
    let server = Server::start();
    let request = format!(
        "GET /healthz HTTP/1.1\r\nHost: test\r\nX-Padding: {}\r\n\r\n",
        "a".repeat(20 * 1024)
    );
    let text = server.raw(request.as_bytes(), WAIT);
    assert!(text.starts_with("HTTP/1.1 431"), "{text:.200}");
}

#[test]
fn many_header_lines_over_16_kib_are_431() {
    let server = Server::start();
    let mut request = String::from("GET /healthz HTTP/1.1\r\nHost: test\r\n");
    for number in 0..400 {
        request.push_str(&format!("X-Line-{number}: {}\r\n", "b".repeat(40)));
    }
    request.push_str("\r\n");
    let text = server.raw(request.as_bytes(), WAIT);
    assert!(text.starts_with("HTTP/1.1 431"), "{text:.200}");
}

/// Sends `GET /healthz` with `count` header fields in all, and returns the response.
fn get_with_header_fields(server: &Server, count: usize) -> String {
    let mut request = String::from("GET /healthz HTTP/1.1\r\nHost: test\r\nConnection: close\r\n");
    for number in 2..count {
        request.push_str(&format!("X-Field-{number}: v\r\n"));
    }
    request.push_str("\r\n");
    server.raw(request.as_bytes(), WAIT)
}

#[test]
fn header_fields_up_to_100_are_served() {
    let server = Server::start();
    let text = get_with_header_fields(&server, 100);
    assert!(text.starts_with("HTTP/1.1 200"), "{text:.200}");
}

#[test]
fn header_fields_over_100_are_431() {
    let server = Server::start();
    let text = get_with_header_fields(&server, 101);
    assert!(text.starts_with("HTTP/1.1 431"), "{text:.200}");
}

#[test]
fn header_fields_over_100_are_logged() {
    let server = Server::start();
    get_with_header_fields(&server, 101);
    assert!(
        server.wait_for_log(
            "rejected by hyper with 431: message head is too large",
            WAIT
        ),
        "{}",
        server.log()
    );
}

#[test]
fn head_of_8_kib_is_served() {
    let server = Server::start();
    let request = format!(
        "GET /healthz HTTP/1.1\r\nHost: test\r\nConnection: close\r\nX-Padding: {}\r\n\r\n",
        "a".repeat(8 * 1024)
    );
    let text = server.raw(request.as_bytes(), WAIT);
    assert!(text.starts_with("HTTP/1.1 200"), "{text:.200}");
}

#[test]
fn server_serves_after_431() {
    let server = Server::start();
    let request = format!(
        "GET /healthz HTTP/1.1\r\nHost: test\r\nX-Padding: {}\r\n\r\n",
        "a".repeat(20 * 1024)
    );
    server.raw(request.as_bytes(), WAIT);
    assert_eq!(server.get("/healthz", None).status, 200);
}

// Timeouts.

/// Sends the head of a POST with a body, as a reader (rejected with `403`
/// before the body is read), and returns the response head.
fn rejected_post_head(server: &Server) -> String {
    let mut stream = server.connect();
    let head = format!(
        "POST /worker/log/tx-1 HTTP/1.1\r\nHost: test\r\nAuthorization: {}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
        basic_auth(common::READER.0, common::READER.1),
        ENTRY.len()
    );
    stream.write_all(head.as_bytes()).expect("write");
    read_head(&mut stream, WAIT)
}

#[test]
fn rejection_before_body_is_403() {
    let server = Server::start_with_users(&[]);
    let head = rejected_post_head(&server);
    assert!(head.starts_with("HTTP/1.1 403"), "{head}");
}

#[test]
fn rejection_before_body_closes_connection() {
    let server = Server::start_with_users(&[]);
    let head = rejected_post_head(&server).to_ascii_lowercase();
    assert!(head.contains("connection: close"), "{head}");
}

#[test]
fn rejection_without_body_keeps_connection() {
    let server = Server::start_with_users(&[]);
    let mut stream = server.connect();
    let head = format!(
        "GET /worker/log/tx-1 HTTP/1.1\r\nHost: test\r\nAuthorization: {}\r\n\r\n",
        basic_auth(common::WORKER.0, common::WORKER.1),
    );
    stream.write_all(head.as_bytes()).expect("write");
    let head = read_head(&mut stream, WAIT).to_ascii_lowercase();
    assert!(!head.contains("connection: close"), "{head}");
}

/// An HTTP/1.0 request with `Connection: keep-alive`.
const HTTP10_KEEP_ALIVE: &[u8] = b"GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";

/// An HTTP/1.0 request with `Connection: keep-alive` and a body
/// that `GET /healthz` leaves unread, so the connection must close.
const HTTP10_UNREAD_BODY: &[u8] =
    b"GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nab";

/// Returns the values of the `Connection` header in a response head.
fn connection_header(head: &str) -> Vec<String> {
    header_values(head, "connection")
}

/// Returns the values of the header `name` in a response head, lowercased.
fn header_values(head: &str, name: &str) -> Vec<String> {
    head.lines()
        .filter_map(|line| line.split_once(':'))
        .filter(|(field, _)| field.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.trim().to_ascii_lowercase())
        .collect()
}

#[test]
fn http10_keep_alive_is_announced() {
    let server = Server::start_with_users(&[]);
    let mut stream = server.connect();
    stream.write_all(HTTP10_KEEP_ALIVE).expect("write");
    let (head, _) = read_response(&mut stream, WAIT);
    assert_eq!(connection_header(&head), ["keep-alive"], "{head}");
}

#[test]
fn http10_keep_alive_serves_next_request() {
    let server = Server::start_with_users(&[]);
    let mut stream = server.connect();
    stream.write_all(HTTP10_KEEP_ALIVE).expect("write");
    read_response(&mut stream, WAIT);
    stream.write_all(HTTP10_KEEP_ALIVE).expect("write");
    let (head, _) = read_response(&mut stream, WAIT);
    assert!(head.starts_with("HTTP/1.0 200"), "{head:?}");
}

#[test]
fn http10_unread_body_closes_without_keep_alive() {
    let server = Server::start_with_users(&[]);
    let mut stream = server.connect();
    stream.write_all(HTTP10_UNREAD_BODY).expect("write");
    let head = read_head(&mut stream, WAIT);
    assert_eq!(connection_header(&head), ["close"], "{head}");
}

#[test]
fn http10_unread_body_closes_connection() {
    let server = Server::start_with_users(&[]);
    let mut stream = server.connect();
    stream.write_all(HTTP10_UNREAD_BODY).expect("write");
    read_head(&mut stream, WAIT);
    assert!(is_closed_within(&mut stream, WAIT));
}

#[test]
fn stalled_body_gets_408() {
    let server = Server::start_with(&["--read-timeout", "1s"]);
    let mut stream = server.connect();
    let head = format!(
        "POST /worker/log/tx-1 HTTP/1.1\r\nHost: test\r\nAuthorization: {}\r\n\
         Content-Length: 200\r\n\r\ntimestamp=2026",
        authorization(&server)
    );
    stream.write_all(head.as_bytes()).expect("write");
    let text = read_until_closed(&mut stream, WAIT);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
}

#[test]
fn stalled_body_connection_is_closed() {
    let server = Server::start_with(&["--read-timeout", "1s"]);
    let mut stream = server.connect();
    let head = format!(
        "POST /worker/log/tx-1 HTTP/1.1\r\nHost: test\r\nAuthorization: {}\r\n\
         Content-Length: 200\r\n\r\ntimestamp=2026",
        authorization(&server)
    );
    stream.write_all(head.as_bytes()).expect("write");
    assert!(is_closed_within(&mut stream, WAIT));
}

#[test]
fn stalled_body_stores_nothing() {
    let server = Server::start_with(&["--read-timeout", "1s"]);
    let mut stream = server.connect();
    let body = ENTRY;
    let head = format!(
        "POST /worker/log/tx-1 HTTP/1.1\r\nHost: test\r\nAuthorization: {}\r\n\
         Content-Length: {}\r\n\r\n{body}",
        authorization(&server),
        body.len() + 10
    );
    stream.write_all(head.as_bytes()).expect("write");
    read_until_closed(&mut stream, WAIT);
    assert_eq!(stored_count(&server, "tx-1"), 0);
}

#[test]
fn steady_slow_body_408_names_timeout() {
    let server = Server::start_with(&["--read-timeout", "2s"]);
    let mut stream = server.connect();
    let body = format!("{ENTRY}&message={}", "x".repeat(1000));
    let head = format!(
        "POST /worker/log/tx-1 HTTP/1.1\r\nHost: test\r\nAuthorization: {}\r\n\
         Content-Length: {}\r\n\r\n",
        authorization(&server),
        body.len()
    );
    stream.write_all(head.as_bytes()).expect("write the head");

    // 50 bytes every 100 ms: never a pause longer than 100 ms, but the
    // whole body would take more than 2 s. Writing stops once the response
    // arrives, because bytes sent after the server closed would reset the
    // connection and could discard the response.
    stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .expect("set the read timeout");
    for piece in body.as_bytes().chunks(50) {
        stream.write_all(piece).expect("write a piece of the body");
        if stream.peek(&mut [0u8; 1]).is_ok() {
            break;
        }
    }

    let (head, reply) = read_response(&mut stream, WAIT);
    assert!(head.starts_with("HTTP/1.1 408"), "{head}");
    assert!(
        reply.contains(
            "The request body did not arrive in full within the read timeout of 2 seconds, \
             which covers the whole body and not only the pauses in it; send the body faster, \
             or have the server's --read-timeout raised."
        ),
        "{reply}"
    );
}

#[test]
fn stalled_head_is_closed() {
    let server = Server::start_with(&["--read-timeout", "1s"]);
    let mut stream = server.connect();
    stream
        .write_all(b"POST /worker/log/tx-1 HTTP/1.1\r\nHost: te")
        .expect("write");
    assert!(is_closed_within(&mut stream, WAIT));
}

/// The body of the `408` that a stalled request head gets from a server with
/// a read timeout of 1 s.
const TIMEOUT_BODY: &str = "{\"error\":\"request_timeout\",\"message\":\"The request head did \
     not arrive in full within the read timeout of 1 second; send the whole head at once, as \
     HTTP clients do.\"}\n";

/// Sends `bytes` on a new connection to a server with a read timeout of 1 s,
/// and returns all it sends back until it closes the connection.
fn reply_to_stalled_head(bytes: &[u8]) -> String {
    let server = Server::start_with(&["--read-timeout", "1s"]);
    server.raw(bytes, WAIT)
}

const PARTIAL_HEAD: &[u8] = b"POST /worker/log/x HTTP/1.1\r\nHost: a\r\n";

#[test]
fn partial_head_gets_408() {
    let text = reply_to_stalled_head(PARTIAL_HEAD);
    assert!(
        text.starts_with("HTTP/1.1 408 Request Timeout\r\n"),
        "{text}"
    );
}

#[test]
fn partial_head_408_says_close() {
    let text = reply_to_stalled_head(PARTIAL_HEAD).to_ascii_lowercase();
    assert!(text.contains("\r\nconnection: close\r\n"), "{text}");
}

#[test]
fn partial_head_408_has_json_body() {
    let text = reply_to_stalled_head(PARTIAL_HEAD);
    let body = text.split_once("\r\n\r\n").map_or("", |(_, body)| body);
    assert_eq!(body, TIMEOUT_BODY);
}

#[test]
fn partial_head_408_is_json() {
    let text = reply_to_stalled_head(PARTIAL_HEAD).to_ascii_lowercase();
    assert!(
        text.contains("\r\ncontent-type: application/json\r\n"),
        "{text}"
    );
}

#[test]
fn partial_head_connection_is_closed() {
    let server = Server::start_with(&["--read-timeout", "1s"]);
    let mut stream = server.connect();
    stream.write_all(PARTIAL_HEAD).expect("write");
    read_head(&mut stream, WAIT);
    assert!(is_closed_within(&mut stream, WAIT));
}

#[test]
fn partial_head_is_logged() {
    let server = Server::start_with(&["--read-timeout", "1s"]);
    server.raw(PARTIAL_HEAD, WAIT);
    assert!(
        server.wait_for_log("answered with 408", WAIT),
        "{}",
        server.log()
    );
}

#[test]
fn request_line_only_gets_408() {
    let text = reply_to_stalled_head(b"GET /healthz HTTP/1.1\r\n");
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
}

#[test]
fn part_of_request_line_gets_408() {
    let text = reply_to_stalled_head(b"GE");
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
}

#[test]
fn silent_new_connection_closes_without_bytes() {
    let text = reply_to_stalled_head(b"");
    assert_eq!(text, "");
}

#[test]
fn head_completed_before_timeout_is_served() {
    let server = Server::start_with(&["--read-timeout", "2s"]);
    let mut stream = server.connect();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: a\r\n")
        .expect("write");
    std::thread::sleep(Duration::from_millis(1200));
    stream.write_all(b"\r\n").expect("write");
    let (head, _) = read_response(&mut stream, WAIT);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
}

/// Sends a complete request, reads its response, then sends `next` on the
/// same connection, and returns what arrives after the first response until
/// the server closes the connection.
fn reply_after_keep_alive(next: &[u8]) -> String {
    let server = Server::start_with(&["--read-timeout", "1s"]);
    let mut stream = server.connect();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
        .expect("write");
    let (head, _) = read_response(&mut stream, WAIT);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    stream.write_all(next).expect("write");
    read_until_closed(&mut stream, WAIT)
}

#[test]
fn idle_keep_alive_closes_without_bytes() {
    assert_eq!(reply_after_keep_alive(b""), "");
}

#[test]
fn empty_line_after_request_closes_without_bytes() {
    assert_eq!(reply_after_keep_alive(b"\r\n"), "");
}

#[test]
fn partial_second_head_gets_408() {
    let text = reply_after_keep_alive(b"GET /hea");
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
}

#[test]
fn pipelined_partial_head_gets_408() {
    let server = Server::start_with(&["--read-timeout", "1s"]);
    let text = server.raw(
        b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\nGET /healthz HTTP/1.1\r\n",
        WAIT,
    );
    assert_eq!(status_codes(&text), [200, 408], "{text}");
}

#[test]
fn idle_keep_alive_is_closed() {
    let server = Server::start_with(&["--read-timeout", "1s"]);
    let mut stream = server.connect();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
        .expect("write");
    let (head, _) = read_response(&mut stream, WAIT);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(is_closed_within(&mut stream, WAIT));
}

#[test]
fn stalled_client_does_not_block_others() {
    let server = Server::start_with(&["--read-timeout", "5s"]);
    let mut stalled = server.connect();
    let head = format!(
        "POST /worker/log/tx-1 HTTP/1.1\r\nHost: test\r\nAuthorization: {}\r\n\
         Content-Length: 200\r\n\r\ntimestamp=2026",
        authorization(&server)
    );
    stalled.write_all(head.as_bytes()).expect("write");
    let reply = server.post_entry("tx-2", ENTRY);
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[test]
fn vanished_peer_does_not_block_others() {
    let server = Server::start();
    for _ in 0..20 {
        let mut stream = server.connect();
        stream
            .write_all(
                b"POST /worker/log/tx-1 HTTP/1.1\r\nHost: test\r\nContent-Length: 50\r\n\r\nabc",
            )
            .expect("write");
        drop(stream);
    }
    let reply = server.post_entry("tx-2", ENTRY);
    assert_eq!(reply.status, 200, "{}", reply.body);
}

/// Sends a chunked write request whose body is `chunked_body` as sent, and
/// returns the response.
fn post_chunked(server: &Server, chunked_body: &str) -> String {
    let request = format!(
        "POST /worker/log/tx-chunked HTTP/1.1\r\nHost: test\r\nAuthorization: {}\r\n\
         Transfer-Encoding: chunked\r\n\r\n{chunked_body}",
        authorization(server)
    );
    server.raw(request.as_bytes(), WAIT)
}

#[test]
fn chunk_framing_errors_are_named() {
    // Each chunked body as sent, and the cause that hyper gives for it.
    let cases = [
        ("zz\r\nabc\r\n0\r\n\r\n", "Invalid chunk size line"),
        ("3\nabc\r\n0\r\n\r\n", "Invalid chunk size line"),
        ("3;a\rb\r\nabc\r\n0\r\n\r\n", "Invalid chunk size LF"),
    ];
    let server = Server::start();
    for (chunked_body, cause) in cases {
        let response = post_chunked(&server, chunked_body);
        assert!(
            response.starts_with("HTTP/1.1 400"),
            "{chunked_body:?}: {response}"
        );
        assert!(
            response.contains(&format!("could not be read: {cause}")),
            "{chunked_body:?}: {response}"
        );
    }
}

#[test]
fn chunked_body_over_limit_gets_413() {
    // One chunk of 65,537 bytes, one more than the body limit.
    let chunked_body = format!("10001\r\n{}\r\n0\r\n\r\n", "a".repeat(65_537));
    let server = Server::start();
    let started = Instant::now();
    let response = post_chunked(&server, &chunked_body);
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
    assert!(started.elapsed() < WAIT, "{:?}", started.elapsed());
}

#[test]
fn small_chunks_over_limit_get_413() {
    // Seventeen chunks of 4 KiB: each is small, together they pass 64 KiB.
    let chunk = format!("1000\r\n{}\r\n", "a".repeat(4096));
    let chunked_body = format!("{}0\r\n\r\n", chunk.repeat(17));
    let server = Server::start();
    let response = post_chunked(&server, &chunked_body);
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
    assert!(response.contains("larger than 65536 bytes"), "{response}");
}

/// Sends a write request that declares 100 body bytes but has only 10,
/// shuts down the sending side, and returns what the server sends back.
fn post_cut_off_body(server: &Server) -> String {
    let request = format!(
        "POST /worker/log/tx-cut HTTP/1.1\r\nHost: test\r\nAuthorization: {}\r\n\
         Content-Length: 100\r\n\r\n0123456789",
        authorization(server)
    );
    write_then_half_close(server, &request)
}

#[test]
fn cut_off_body_gets_no_response() {
    let server = Server::start();
    assert_eq!(post_cut_off_body(&server), "");
}

#[test]
fn cut_off_body_is_logged_without_status() {
    let server = Server::start();
    post_cut_off_body(&server);
    assert!(
        server.wait_for_log(
            "the client closed the connection before it sent the whole request body",
            WAIT
        ),
        "{}",
        server.log()
    );
    assert!(
        server
            .log()
            .contains(r#"POST "/worker/log/tx-cut" no response after"#),
        "{}",
        server.log()
    );
    assert!(
        !server.log().contains(r#""/worker/log/tx-cut" 400"#),
        "{}",
        server.log()
    );
}

// Smuggling.

#[test]
fn chunked_wins_over_content_length() {
    let server = Server::start();
    let chunked = format!("{:x}\r\n{ENTRY}\r\n0\r\n\r\n", ENTRY.len());
    let request = format!(
        "POST /worker/log/tx-1 HTTP/1.1\r\nHost: test\r\nAuthorization: {}\r\n\
         Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n{chunked}",
        authorization(&server)
    );
    let text = server.raw(request.as_bytes(), WAIT);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert_eq!(stored_count(&server, "tx-1"), 1);
}

#[test]
fn chunked_with_content_length_closes_connection() {
    let server = Server::start();
    let chunked = format!("{:x}\r\n{ENTRY}\r\n0\r\n\r\n", ENTRY.len());
    let request = format!(
        "POST /worker/log/tx-1 HTTP/1.1\r\nHost: test\r\nAuthorization: {}\r\n\
         Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n{chunked}",
        authorization(&server)
    );
    let mut stream = server.connect();
    stream.write_all(request.as_bytes()).expect("write");
    let (head, _) = read_response(&mut stream, WAIT);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(is_closed_within(&mut stream, WAIT));
}

#[test]
fn request_after_te_and_cl_is_never_run() {
    let server = Server::start();
    let smuggled = post_request(&server, "tx-smuggled", "", ENTRY);
    let chunked = format!("{:x}\r\n{ENTRY}\r\n0\r\n\r\n", ENTRY.len());
    let request = format!(
        "POST /worker/log/tx-1 HTTP/1.1\r\nHost: test\r\nAuthorization: {}\r\n\
         Transfer-Encoding: chunked\r\nContent-Length: {}\r\n\r\n{chunked}{smuggled}",
        authorization(&server),
        chunked.len() + smuggled.len()
    );
    let text = server.raw(request.as_bytes(), WAIT);
    assert_eq!(status_codes(&text), [200], "{text}");
    assert_eq!(stored_count(&server, "tx-smuggled"), 0);
}

#[test]
fn content_length_prefix_smuggling_fails() {
    // A front end that used Content-Length would forward only "0\r\n\r\n" as
    // the body; the server reads chunked and must not run what follows.
    let server = Server::start();
    let smuggled = post_request(&server, "tx-smuggled", "", ENTRY);
    let request = format!(
        "POST /worker/log/tx-1 HTTP/1.1\r\nHost: test\r\nAuthorization: {}\r\n\
         Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n{smuggled}",
        authorization(&server)
    );
    server.raw(request.as_bytes(), WAIT);
    assert_eq!(stored_count(&server, "tx-smuggled"), 0);
}

#[test]
fn unknown_transfer_coding_is_rejected() {
    let server = Server::start();
    let request = format!(
        "POST /worker/log/tx-1 HTTP/1.1\r\nHost: test\r\nAuthorization: {}\r\n\
         Transfer-Encoding: xchunked\r\nContent-Length: {}\r\n\r\n{ENTRY}",
        authorization(&server),
        ENTRY.len()
    );
    let text = server.raw(request.as_bytes(), WAIT);
    let codes = status_codes(&text);
    assert_eq!(codes.len(), 1, "{text}");
    assert!(matches!(codes[0], 400 | 501), "{text}");
}

#[test]
fn unknown_transfer_coding_stores_nothing() {
    let server = Server::start();
    let request = format!(
        "POST /worker/log/tx-1 HTTP/1.1\r\nHost: test\r\nAuthorization: {}\r\n\
         Transfer-Encoding: xchunked\r\nContent-Length: {}\r\n\r\n{ENTRY}",
        authorization(&server),
        ENTRY.len()
    );
    server.raw(request.as_bytes(), WAIT);
    assert_eq!(stored_count(&server, "tx-1"), 0);
}

#[test]
fn unknown_transfer_coding_smuggles_nothing() {
    let server = Server::start();
    let smuggled = post_request(&server, "tx-smuggled", "", ENTRY);
    let request = format!(
        "POST /worker/log/tx-1 HTTP/1.1\r\nHost: test\r\nAuthorization: {}\r\n\
         Transfer-Encoding: gzip\r\nContent-Length: {}\r\n\r\n{ENTRY}{smuggled}",
        authorization(&server),
        ENTRY.len()
    );
    server.raw(request.as_bytes(), WAIT);
    assert_eq!(stored_count(&server, "tx-smuggled"), 0);
}

#[test]
fn chunked_not_last_is_rejected() {
    let server = Server::start();
    let chunked = format!("{:x}\r\n{ENTRY}\r\n0\r\n\r\n", ENTRY.len());
    let request = format!(
        "POST /worker/log/tx-1 HTTP/1.1\r\nHost: test\r\nAuthorization: {}\r\n\
         Transfer-Encoding: chunked, identity\r\n\r\n{chunked}",
        authorization(&server)
    );
    server.raw(request.as_bytes(), WAIT);
    assert_eq!(stored_count(&server, "tx-1"), 0);
}

#[test]
fn two_content_lengths_are_rejected() {
    let server = Server::start();
    let request = format!(
        "POST /worker/log/tx-1 HTTP/1.1\r\nHost: test\r\nAuthorization: {}\r\n\
         Content-Length: {}\r\nContent-Length: 3\r\n\r\n{ENTRY}",
        authorization(&server),
        ENTRY.len()
    );
    let text = server.raw(request.as_bytes(), WAIT);
    assert!(text.starts_with("HTTP/1.1 400"), "{text}");
}

#[test]
fn two_content_lengths_are_logged() {
    let server = Server::start();
    let request = "POST /worker/log/tx-1 HTTP/1.1\r\nHost: test\r\n\
                   Content-Length: 5\r\nContent-Length: 3\r\n\r\nabcde";
    server.raw(request.as_bytes(), WAIT);
    assert!(
        server.wait_for_log(
            "rejected by hyper with 400: invalid content-length parsed",
            WAIT
        ),
        "{}",
        server.log()
    );
    assert!(
        server
            .log()
            .contains("INFO  translog::request] request from 127.0.0.1:"),
        "{}",
        server.log()
    );
}

#[test]
fn tls_handshake_log_suggests_http() {
    let server = Server::start();
    // The first bytes of a TLS 1.2 ClientHello record, as curl https:// sends them.
    let mut hello = vec![
        0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00, 0xa1, 0x03, 0x03,
    ];
    hello.extend([0u8; 32]);
    server.raw(&hello, WAIT);
    assert!(
        server.wait_for_log("requests to this plain HTTP port", WAIT),
        "{}",
        server.log()
    );
}

#[test]
fn http10_transfer_encoding_is_json_400() {
    let server = Server::start();
    let chunked = format!("{:x}\r\n{ENTRY}\r\n0\r\n\r\n", ENTRY.len());
    let request = format!(
        "POST /worker/log/tx-1 HTTP/1.0\r\nHost: test\r\nAuthorization: {}\r\n\
         Transfer-Encoding: chunked\r\n\r\n{chunked}",
        authorization(&server)
    );
    let text = server.raw(request.as_bytes(), WAIT);
    assert!(text.starts_with("HTTP/1.1 400"), "{text}");
    assert!(
        text.contains("content-type: application/json\r\n"),
        "{text}"
    );
    assert!(
        text.ends_with(
            "\"error\":\"invalid_header\",\"message\":\"An HTTP/1.0 request cannot have a \
             Transfer-Encoding header; send the body with a Content-Length, or send the request \
             as HTTP/1.1.\"}\n"
        ),
        "{text}"
    );
    assert_eq!(stored_count(&server, "tx-1"), 0);
}

#[test]
fn unparsable_heads_are_logged() {
    let heads = [
        "POST /worker/log/tx-1 HTTP/1.1\r\nHost: test\r\nContent-Length: +5\r\n\r\n",
        "POST /worker/log/tx-1 HTTP/1.1\r\nHost: test\r\nContent-Length: -1\r\n\r\n",
        "GET /healthz HTTP/1.1\r\nHost: test\r\nX-A: a\r\n b\r\n\r\n",
        "GET /healthz HTTP/1.1\r\nHost: test\rX-A: a\r\n\r\n",
        "GET /healthz HTTP/1.2\r\nHost: test\r\n\r\n",
        "GET /healthz HTTP/1.1\r\nHost: test\r\nX-A: a\0b\r\n\r\n",
    ];
    let server = Server::start();
    for (index, head) in heads.iter().enumerate() {
        let text = server.raw(head.as_bytes(), WAIT);
        assert!(text.starts_with("HTTP/1.1 400"), "{head:?}: {text}");
        assert!(
            wait_until_count(&server, "rejected by hyper with 400", index + 1),
            "{head:?} was not logged: {}",
            server.log()
        );
    }
}

#[test]
fn http2_preface_is_logged() {
    let server = Server::start();
    let text = server.raw(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", WAIT);
    assert_eq!(text, "");
    assert!(
        server.wait_for_log("it sent the HTTP/2 connection preface", WAIT),
        "{}",
        server.log()
    );
}

/// Waits until the server log contains `text` at least `count` times.
fn wait_until_count(server: &Server, text: &str, count: usize) -> bool {
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        if server.log().matches(text).count() >= count {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

#[test]
fn crlf_in_path_is_not_echoed_in_headers() {
    let server = Server::start();
    let text = server.raw(
        b"GET /x%0D%0ASet-Cookie:%20a=b HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n",
        WAIT,
    );
    let (head, _) = text.split_once("\r\n\r\n").expect("a complete head");
    assert!(!head.to_ascii_lowercase().contains("set-cookie"), "{head}");
}

// Pipelining and Expect.

#[test]
fn pipelined_requests_answered_in_order() {
    let server = Server::start();
    let auth = authorization(&server);
    let request = format!(
        "GET /worker/log/tx-1 HTTP/1.1\r\nHost: test\r\nAuthorization: {auth}\r\n\r\n\
         {}\
         GET /nowhere HTTP/1.1\r\nHost: test\r\n\r\n\
         GET /worker/log/tx-1 HTTP/1.1\r\nHost: test\r\nAuthorization: {auth}\r\nConnection: close\r\n\r\n",
        post_request(&server, "tx-1", "", ENTRY)
    );
    let text = server.raw(request.as_bytes(), WAIT);
    assert_eq!(status_codes(&text), [404, 200, 404, 200], "{text}");
}

#[test]
fn pipelined_read_sees_earlier_write() {
    let server = Server::start();
    let auth = authorization(&server);
    let request = format!(
        "{}GET /worker/log/tx-1 HTTP/1.1\r\nHost: test\r\nAuthorization: {auth}\r\nConnection: close\r\n\r\n",
        post_request(&server, "tx-1", "", ENTRY)
    );
    let text = server.raw(request.as_bytes(), WAIT);
    assert!(text.contains("\"WORKER_INIT\""), "{text}");
}

#[test]
fn pipelined_writes_all_stored() {
    let server = Server::start();
    let mut request = String::new();
    for number in 0..10 {
        let body = form(
            &format!("2026-12-04T13:00:{number:02}Z"),
            "WORKER_LOAD",
            "SUCCESS",
        );
        let headers = if number == 9 {
            "Connection: close\r\n"
        } else {
            ""
        };
        request.push_str(&post_request(&server, "tx-1", headers, &body));
    }
    let text = server.raw(request.as_bytes(), WAIT);
    assert_eq!(status_codes(&text), [200; 10], "{text}");
    assert_eq!(stored_count(&server, "tx-1"), 10);
}

#[test]
fn expect_continue_gets_100() {
    let server = Server::start();
    let mut stream = server.connect();
    let head = format!(
        "POST /worker/log/tx-1 HTTP/1.1\r\nHost: test\r\nAuthorization: {}\r\n\
         Expect: 100-continue\r\nContent-Length: {}\r\n\r\n",
        authorization(&server),
        ENTRY.len()
    );
    stream.write_all(head.as_bytes()).expect("write the head");
    let interim = read_head(&mut stream, WAIT);
    assert!(interim.starts_with("HTTP/1.1 100"), "{interim}");
}

#[test]
fn expect_continue_then_body_is_stored() {
    let server = Server::start();
    let mut stream = server.connect();
    let head = format!(
        "POST /worker/log/tx-1 HTTP/1.1\r\nHost: test\r\nAuthorization: {}\r\n\
         Expect: 100-continue\r\nContent-Length: {}\r\n\r\n",
        authorization(&server),
        ENTRY.len()
    );
    stream.write_all(head.as_bytes()).expect("write the head");
    read_head(&mut stream, WAIT);
    stream.write_all(ENTRY.as_bytes()).expect("write the body");
    let (head, _) = read_response(&mut stream, WAIT);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(stored_count(&server, "tx-1"), 1);
}

#[test]
fn expect_continue_with_large_body_gets_413() {
    let server = Server::start();
    let mut stream = server.connect();
    let head = format!(
        "POST /worker/log/tx-1 HTTP/1.1\r\nHost: test\r\nAuthorization: {}\r\n\
         Expect: 100-continue\r\nContent-Length: 100000\r\n\r\n",
        authorization(&server)
    );
    stream.write_all(head.as_bytes()).expect("write the head");
    let reply = read_head(&mut stream, WAIT);
    assert!(reply.starts_with("HTTP/1.1 413"), "{reply}");
}

#[test]
fn expect_continue_with_bad_credentials_gets_401() {
    let server = Server::start();
    let mut stream = server.connect();
    let head = format!(
        "POST /worker/log/tx-1 HTTP/1.1\r\nHost: test\r\nAuthorization: {}\r\n\
         Expect: 100-continue\r\nContent-Length: 50\r\n\r\n",
        basic_auth("admin", "wrong")
    );
    stream.write_all(head.as_bytes()).expect("write the head");
    let reply = read_head(&mut stream, WAIT);
    assert!(reply.starts_with("HTTP/1.1 401"), "{reply}");
}

#[test]
fn curl_expect_continue_is_stored() {
    let server = Server::start();
    let (user, password) = server.admin();
    let status = server.curl_status(
        "/worker/log/tx-1",
        &[
            "-u",
            &format!("{user}:{password}"),
            "-H",
            "Expect: 100-continue",
            "--data",
            ENTRY,
        ],
    );
    assert_eq!(status, "200");
}

// Connections.

#[test]
fn burst_of_keep_alive_connections_all_served() {
    let server = Server::start();
    let mut streams: Vec<TcpStream> = (0..64).map(|_| server.connect()).collect();
    for stream in &mut streams {
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
            .expect("write");
    }
    for (number, stream) in streams.iter_mut().enumerate() {
        let (head, _) = read_response(stream, WAIT);
        assert!(
            head.starts_with("HTTP/1.1 200"),
            "connection {number}: {head}"
        );
    }
}

#[test]
fn keep_alive_connection_serves_many_requests() {
    let server = Server::start();
    let mut stream = server.connect();
    for number in 0..5 {
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
            .expect("write");
        let (head, _) = read_response(&mut stream, WAIT);
        assert!(head.starts_with("HTTP/1.1 200"), "request {number}: {head}");
    }
}

#[test]
fn connections_over_cap_get_503() {
    let server = Server::start_with(&["--max-connections", "2"]);
    let mut held: Vec<TcpStream> = (0..2).map(|_| server.connect()).collect();
    for stream in &mut held {
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
            .expect("write");
        let (head, _) = read_response(stream, WAIT);
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    }
    let text = server.raw(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n", WAIT);
    assert!(text.starts_with("HTTP/1.1 503"), "{text}");
    assert!(text.contains("Retry-After:"), "{text}");
}

#[test]
fn closed_connections_free_the_cap() {
    let server = Server::start_with(&["--max-connections", "2"]);
    for _ in 0..5 {
        let text = server.raw(
            b"GET /healthz HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n",
            WAIT,
        );
        assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    }
}

/// Starts a server with `--max-connections 2` and fills the cap with two
/// keep-alive connections, each served one request, so that both are open.
fn server_at_connection_cap() -> (Server, Vec<TcpStream>) {
    let server = Server::start_with(&["--max-connections", "2"]);
    let open_connections = fill_connection_cap(&server);
    (server, open_connections)
}

/// Opens two keep-alive connections to `server`, started with
/// `--max-connections 2`, and has each served one request.
fn fill_connection_cap(server: &Server) -> Vec<TcpStream> {
    let mut open_connections: Vec<TcpStream> = (0..2).map(|_| server.connect()).collect();
    for stream in &mut open_connections {
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
            .expect("write");
        let (head, _) = read_response(stream, WAIT);
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    }
    open_connections
}

/// Opens `count` connections over the cap, one after another, and reads
/// each until the server closes it. They send no request.
fn reject_connections(server: &Server, count: usize) {
    for number in 0..count {
        let text = read_until_closed(&mut server.connect(), WAIT);
        assert!(
            text.starts_with("HTTP/1.1 503"),
            "connection {number}: {text}"
        );
    }
}

// NOTE: this client reads at once, so it gets the 503 even from a server that
// closes with the request unread. The reset that slower clients saw then was
// reproduced with a Python client, not here.
#[test]
fn requests_over_cap_all_get_503() {
    let (server, _open_connections) = server_at_connection_cap();
    for number in 0..20 {
        let mut stream = server.connect();
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
            .expect("write");
        let text = read_until_closed(&mut stream, WAIT);
        assert!(
            text.starts_with("HTTP/1.1 503"),
            "connection {number}: {text:?}"
        );
    }
}

/// GETs `/metrics` as the administrator on `stream`, an open connection
/// under the cap, and returns the value of the sample named `name`.
fn metric_on(server: &Server, stream: &mut TcpStream, name: &str) -> Option<f64> {
    let request = format!(
        "GET /metrics HTTP/1.1\r\nHost: test\r\nAuthorization: {}\r\n\r\n",
        authorization(server)
    );
    stream.write_all(request.as_bytes()).expect("write");
    let (head, body) = read_response(stream, WAIT);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    body.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

/// Counts the log lines about connections rejected over the cap.
fn rejection_lines(log: &str) -> usize {
    log.lines()
        .filter(|line| line.contains("WARN") && line.contains("connection"))
        .filter(|line| line.contains("rejected"))
        .count()
}

#[test]
fn rejected_connections_log_once_a_second() {
    let (server, _open_connections) = server_at_connection_cap();
    let started = Instant::now();
    reject_connections(&server, 20);
    // The rejections after the first are logged together, a second after it.
    server.wait_for_log("19 connections rejected with 503", WAIT);
    let lines = rejection_lines(&server.log());
    // One line a second at most, and the first and last lines may fall
    // within the same second as the lines around them.
    let allowed = 2 + started.elapsed().as_secs() as usize;
    assert!(lines <= allowed, "{lines} lines:\n{}", server.log());
}

#[test]
fn rejected_connection_log_names_option() {
    let (server, _open_connections) = server_at_connection_cap();
    reject_connections(&server, 1);
    assert!(
        server.wait_for_log("--max-connections is 2", WAIT),
        "{}",
        server.log()
    );
}

#[test]
fn rejected_connections_are_counted() {
    let (server, mut open_connections) = server_at_connection_cap();
    reject_connections(&server, 20);
    let rejected = metric_on(
        &server,
        &mut open_connections[0],
        "translog_connections_rejected_total",
    );
    assert_eq!(rejected, Some(20.0));
}

#[test]
fn rejected_connections_count_as_unavailable() {
    let (server, mut open_connections) = server_at_connection_cap();
    reject_connections(&server, 3);
    let unavailable = metric_on(
        &server,
        &mut open_connections[0],
        "translog_unavailable_total{reason=\"connections\"}",
    );
    assert_eq!(unavailable, Some(3.0));
}

#[test]
fn open_connections_are_a_gauge() {
    let (server, mut open_connections) = server_at_connection_cap();
    let open = metric_on(
        &server,
        &mut open_connections[0],
        "translog_connections_open",
    );
    assert_eq!(open, Some(2.0));
}

// Stopping.

#[test]
fn sigterm_exits_zero() {
    let server = Server::start();
    let (status, _dir) = server.stop();
    assert_eq!(status.code(), Some(0));
}

#[test]
fn sigint_exits_zero() {
    let server = Server::start();
    let (status, _dir) = server.stop_with("INT");
    assert_eq!(status.code(), Some(0));
}

/// Posts 20 entries to `tx-1` and checks that each is stored.
fn post_twenty_entries(server: &Server) {
    for number in 0..20 {
        let body = form(
            &format!("2026-12-04T13:00:{number:02}Z"),
            "WORKER_LOAD",
            "SUCCESS",
        );
        let reply = server.post_entry("tx-1", &body);
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
}

#[test]
fn sighup_exits_zero() {
    let server = Server::start();
    let (status, _dir) = server.stop_with("HUP");
    assert_eq!(status.code(), Some(0));
}

#[test]
fn sighup_stop_is_logged() {
    let server = Server::start();
    send_signal(&server, "HUP");
    assert!(
        server.wait_for_log("received SIGHUP; shutting down", WAIT),
        "{}",
        server.log()
    );
    assert!(
        server.wait_for_log("database closed; translog stopped", WAIT),
        "{}",
        server.log()
    );
}

#[test]
fn entries_acknowledged_before_sighup_survive() {
    let server = Server::start();
    post_twenty_entries(&server);
    let (status, dir) = server.stop_with("HUP");
    assert_eq!(status.code(), Some(0));
    let server = Server::start_in(dir, &[]);
    assert_eq!(server.entries("tx-1").len(), 20);
}

/// Starts a server with SIGHUP ignored, as `nohup` starts a program.
fn start_with_hangup_ignored() -> Server {
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let db = dir.path().join("translog.db");
    let mut command = std::process::Command::new("sh");
    command
        .args(["-c", "trap '' HUP; exec \"$@\"", "sh", common::BIN, "--db"])
        .arg(&db)
        .args(["serve", "--listen", "127.0.0.1:0"]);
    common::clean_env(&mut command);
    Server::launch(dir, db, command)
}

#[test]
fn ignored_sighup_keeps_serving() {
    let server = start_with_hangup_ignored();
    send_signal(&server, "HUP");
    // The server handles signals on its HTTP thread, so a response to a
    // request sent after the signal shows that the signal did not stop it.
    std::thread::sleep(Duration::from_millis(200));
    let reply = server.get("/healthz", None);
    assert_eq!(reply.status, 200, "{}", server.log());
    assert!(!server.log().contains("SIGHUP"), "{}", server.log());
    let (status, _dir) = server.stop();
    assert_eq!(status.code(), Some(0));
}

#[test]
fn acknowledged_entries_survive_restart() {
    let server = Server::start();
    post_twenty_entries(&server);
    let (_, dir) = server.stop();
    let server = Server::start_in(dir, &[]);
    assert_eq!(server.entries("tx-1").len(), 20);
}

#[test]
fn acknowledged_entries_survive_sigkill() {
    let server = Server::start();
    post_twenty_entries(&server);
    let dir = server.crash();
    let server = Server::start_in(dir, &[]);
    assert_eq!(server.entries("tx-1").len(), 20);
}

#[test]
fn entries_acknowledged_during_load_survive_sigterm() {
    let server = Server::start();
    let acknowledged = std::thread::scope(|scope| {
        let writers: Vec<_> = (0..4)
            .map(|writer| {
                let server = &server;
                scope.spawn(move || {
                    let mut stored = 0;
                    for number in 0..25 {
                        let body = form(
                            &format!("2026-12-04T13:{writer:02}:{number:02}Z"),
                            "WORKER_LOAD",
                            "SUCCESS",
                        );
                        if server.post_entry("tx-1", &body).status == 200 {
                            stored += 1;
                        }
                    }
                    stored
                })
            })
            .collect();
        writers
            .into_iter()
            .map(|writer| writer.join().expect("writer thread"))
            .sum::<usize>()
    });
    let (status, dir) = server.stop();
    assert_eq!(status.code(), Some(0));
    let server = Server::start_in(dir, &[]);
    assert_eq!(server.entries("tx-1").len(), acknowledged);
}

/// Sends the signal `name` (`TERM`, `HUP`) to the server without waiting.
fn send_signal(server: &Server, name: &str) {
    let killed = std::process::Command::new("kill")
        .args([&format!("-{name}"), &server.pid().to_string()])
        .status()
        .expect("run kill");
    assert!(killed.success(), "kill -{name} failed");
}

#[test]
fn stop_is_logged() {
    let server = Server::start();
    send_signal(&server, "TERM");
    assert!(
        server.wait_for_log("translog stopped", WAIT),
        "{}",
        server.log()
    );
}

// The listening socket.

/// Reads the backlog of the socket listening on `port`, as `ss` shows it in
/// the Send-Q column of a listening socket.
fn listen_backlog(port: u16) -> Option<u32> {
    let output = std::process::Command::new("ss")
        .args(["-ltnH", &format!("sport = :{port}")])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.split_whitespace().nth(2)?.parse().ok()
}

#[test]
fn listen_backlog_fits_a_burst() {
    // A backlog of 128 drops connection requests when hundreds of Workers
    // connect at once; their retries come one to three seconds later.
    let server = Server::start();
    let backlog = listen_backlog(server.addr.port()).expect("ss shows the listening socket");
    assert!(backlog >= 1024, "backlog {backlog}");
}

/// Sends a complete write request, shuts down the sending side of the
/// connection, and returns what the server sends back.
fn post_then_half_close(server: &Server, transaction_id: &str) -> String {
    let request = post_request(server, transaction_id, "", ENTRY);
    write_then_half_close(server, &request)
}

/// Sends `request`, shuts down the sending side of the connection, and
/// returns what the server sends back.
fn write_then_half_close(server: &Server, request: &str) -> String {
    let mut stream = server.connect();
    stream
        .write_all(request.as_bytes())
        .expect("write the request");
    stream
        .shutdown(std::net::Shutdown::Write)
        .expect("shut down the sending side");
    read_until_closed(&mut stream, WAIT)
}

#[test]
fn half_closed_request_gets_response() {
    let server = Server::start();
    let response = post_then_half_close(&server, "tx-half");
    assert!(response.starts_with("HTTP/1.1 200"), "{response:?}");
}

#[test]
fn half_closed_request_is_logged() {
    let server = Server::start();
    post_then_half_close(&server, "tx-half");
    assert!(
        server.wait_for_log(r#"POST "/worker/log/tx-half" 200"#, WAIT),
        "{}",
        server.log()
    );
}

/// Opens a connection that sends part of a request head, stops the server
/// with SIGTERM, and returns how long the stop took and the server's log.
fn stop_with_partial_head() -> (Duration, String) {
    let server = Server::start();
    let mut stream = server.connect();
    stream
        .write_all(b"POST /worker/log/tx-1 HTTP/1.1\r\nHost: test\r\nAuthori")
        .expect("write part of a head");
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    send_signal(&server, "TERM");
    assert!(
        server.wait_for_log("translog stopped", WAIT),
        "{}",
        server.log()
    );
    (started.elapsed(), server.log())
}

#[test]
fn partial_head_does_not_delay_stop() {
    let (elapsed, log) = stop_with_partial_head();
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}: {log}");
}

#[test]
fn partial_head_stop_logs_no_cut_off() {
    let (_, log) = stop_with_partial_head();
    assert!(!log.contains("were cut off"), "{log}");
    assert!(!log.contains("was cut off"), "{log}");
}

/// What a write request got whose body was half sent when the server was
/// sent SIGTERM, and how the server ended.
struct PartialBodyStop {
    head: String,
    body: String,
    /// The time from SIGTERM to the end of the response.
    elapsed: Duration,
    status: ExitStatus,
    /// The directory of the stopped server's database.
    dir: TempDir,
    log: String,
}

/// The `503` message of a request that the stop cut off.
const SHUTTING_DOWN_MESSAGE: &str =
    "The server is shutting down or its storage has stopped, so the request was not completed; \
     retry once the server runs again.";

/// Sends half of a write request, stops the server with SIGTERM while the
/// handler waits for the rest, reads the response, then sends the rest of
/// the body and waits for the server to exit.
fn stop_during_partial_body() -> PartialBodyStop {
    let server = Server::start();
    let request = post_request(&server, "tx-cut", "", ENTRY);
    // The head and half of the body: the handler waits for the rest.
    let (partial, rest) = request.split_at(request.len() - ENTRY.len() / 2);
    let mut stream = server.connect();
    stream
        .write_all(partial.as_bytes())
        .expect("write half the request");
    // Time for the server to read the head and start the handler; a signal
    // before that would find an idle connection, which is closed unlogged.
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    send_signal(&server, "TERM");
    let (head, body) = read_response(&mut stream, WAIT);
    let elapsed = started.elapsed();
    // The rest of the body arrives after the response, and must not be stored.
    let _ = stream.write_all(rest.as_bytes());
    assert!(
        server.wait_for_log("translog stopped", WAIT),
        "{}",
        server.log()
    );
    let log = server.log();
    let (status, dir) = server.wait_for_exit();
    PartialBodyStop {
        head,
        body,
        elapsed,
        status,
        dir,
        log,
    }
}

#[test]
fn partial_body_at_stop_gets_503() {
    let stopped = stop_during_partial_body();
    assert!(
        stopped.head.starts_with("HTTP/1.1 503"),
        "{:?}\n{}",
        stopped.head,
        stopped.log
    );
}

#[test]
fn partial_body_at_stop_gets_retry_after() {
    let stopped = stop_during_partial_body();
    let retry_after = header_values(&stopped.head, "retry-after");
    assert_eq!(retry_after, ["1"], "{:?}", stopped.head);
}

#[test]
fn partial_body_at_stop_closes_connection() {
    let stopped = stop_during_partial_body();
    let connection = connection_header(&stopped.head);
    assert_eq!(connection, ["close"], "{:?}", stopped.head);
}

#[test]
fn partial_body_at_stop_gets_shutdown_message() {
    let stopped = stop_during_partial_body();
    let error: serde_json::Value = serde_json::from_str(&stopped.body).unwrap_or_default();
    assert_eq!(error["error"], "unavailable", "{:?}", stopped.body);
    assert_eq!(
        error["message"], SHUTTING_DOWN_MESSAGE,
        "{:?}",
        stopped.body
    );
}

#[test]
fn partial_body_at_stop_is_answered_after_grace() {
    // The stop waits 3 s for requests in progress, then sends 503 to the rest.
    let stopped = stop_during_partial_body();
    assert!(
        stopped.head.starts_with("HTTP/1.1 503"),
        "{:?}",
        stopped.head
    );
    // The grace period of 3 s, then at most 0.5 s for the 503, and 1 s of
    // room for a machine that other work keeps busy.
    assert!(
        stopped.elapsed >= Duration::from_millis(2900),
        "{:?}",
        stopped.elapsed
    );
    assert!(
        stopped.elapsed < Duration::from_millis(4500),
        "{:?}",
        stopped.elapsed
    );
}

#[test]
fn partial_body_at_stop_exits_zero() {
    let stopped = stop_during_partial_body();
    assert_eq!(stopped.status.code(), Some(0), "{}", stopped.log);
}

#[test]
fn partial_body_at_stop_stores_nothing() {
    let stopped = stop_during_partial_body();
    assert!(
        stopped.head.starts_with("HTTP/1.1 503"),
        "{:?}",
        stopped.head
    );
    let server = Server::start_in(stopped.dir, &[]);
    assert_eq!(stored_count(&server, "tx-cut"), 0);
}

#[test]
fn partial_body_at_stop_is_logged_with_503() {
    let stopped = stop_during_partial_body();
    assert!(
        stopped.log.contains(r#"POST "/worker/log/tx-cut" 503"#),
        "{}",
        stopped.log
    );
}

#[test]
fn partial_body_line_precedes_stop_line() {
    let stopped = stop_during_partial_body();
    let request = stopped.log.find(r#""/worker/log/tx-cut" 503"#);
    let stop = stopped.log.find("translog stopped");
    assert!(
        request.is_some_and(|request| stop.is_some_and(|stop| request < stop)),
        "{}",
        stopped.log
    );
}

/// Opens a connection to `server` and sends it requests for far more response
/// bytes than the socket buffers of both ends hold.
fn connection_with_unread_responses(server: &Server) -> TcpStream {
    let mut stream = server.connect();
    let request = format!(
        "GET /metrics HTTP/1.1\r\nHost: test\r\nAuthorization: {}\r\n\r\n",
        authorization(server)
    );
    stream
        .write_all(request.repeat(3000).as_bytes())
        .expect("write the requests");
    stream
}

#[test]
fn client_that_never_reads_is_disconnected() {
    let server = Server::start_with(&["--write-timeout", "2s"]);
    let _idle_reader = connection_with_unread_responses(&server);
    let mut checker = server.connect();
    let only_checker_open =
        wait_until(|| metric_on(&server, &mut checker, "translog_connections_open") == Some(1.0));
    assert!(only_checker_open);
}

#[test]
fn slow_reader_keeps_connection() {
    use std::io::Read as _;
    let server = Server::start_with(&["--write-timeout", "2s"]);
    let mut slow_reader = connection_with_unread_responses(&server);
    let mut chunk = vec![0u8; 64 * 1024];
    // 64 KiB every half second for 5 s: the responses keep moving, slowly.
    for _ in 0..10 {
        std::thread::sleep(Duration::from_millis(500));
        slow_reader.read_exact(&mut chunk).expect("read a chunk");
    }
    let mut checker = server.connect();
    let open = metric_on(&server, &mut checker, "translog_connections_open");
    assert_eq!(open, Some(2.0));
}

#[test]
fn client_that_never_reads_is_logged() {
    let server = Server::start_with(&["--write-timeout", "1s"]);
    let _idle_reader = connection_with_unread_responses(&server);
    assert!(
        server.wait_for_log("the client read none of its responses for 1 s", WAIT),
        "{}",
        server.log()
    );
}

/// Returns a PHC hash of `password` at the highest cost that the server
/// accepts (256 MiB, 16 passes), whose check takes seconds.
fn costly_hash(password: &str) -> String {
    use argon2::PasswordHasher as _;
    let params = argon2::Params::new(256 * 1024, 16, 1, None).expect("Argon2 parameters");
    let hasher = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let salt = argon2::password_hash::SaltString::encode_b64(b"costly-test-salt").expect("salt");
    hasher
        .hash_password(password.as_bytes(), &salt)
        .expect("hash the password")
        .to_string()
}

/// Opens a connection and sends a complete write request as `user`, whose
/// password is [`PASSWORD`].
fn send_write_as(server: &Server, user: &str, id: &str) -> TcpStream {
    let request = format!(
        "POST /worker/log/{id} HTTP/1.1\r\nHost: test\r\nAuthorization: {}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{ENTRY}",
        basic_auth(user, PASSWORD),
        ENTRY.len()
    );
    let mut stream = server.connect();
    stream
        .write_all(request.as_bytes())
        .expect("write the request");
    stream
}

/// Stores an entry as `writer`, so that the server caches its credentials,
/// then gives `writer` and two other users a costly hash of the same
/// password. The two others send a request each, which keeps both hashing
/// threads busy. Then `writer` sends an entry: it passes the cache, and the
/// storage thread sends it back to a check of the changed credentials,
/// which waits behind the other two. The server is stopped while it waits,
/// and the check cannot end within the grace period of the stop. Returns the
/// head of `writer`'s response, and the server's log.
fn stop_during_credentials_recheck() -> (String, String) {
    let server = Server::start();
    for name in ["writer", "blocker-1", "blocker-2"] {
        server.add_user(name, "worker");
    }
    let stored = server.post_form("/worker/log/tx-cached", ("writer", PASSWORD), ENTRY);
    assert_eq!(stored.status, 200, "{}", stored.body);

    let connection = rusqlite::Connection::open(&server.db).expect("open the database");
    connection.busy_timeout(WAIT).expect("set the busy timeout");
    connection
        .execute(
            "UPDATE users SET password_hash = ?1 WHERE name <> 'admin'",
            [costly_hash(PASSWORD)],
        )
        .expect("change the password hashes");
    drop(connection);

    let _blockers = [
        send_write_as(&server, "blocker-1", "tx-blocker-1"),
        send_write_as(&server, "blocker-2", "tx-blocker-2"),
    ];
    std::thread::sleep(Duration::from_millis(100));
    let mut stream = send_write_as(&server, "writer", "tx-recheck");
    // Time for the storage thread to send the entry back to the check.
    std::thread::sleep(Duration::from_millis(300));

    send_signal(&server, "TERM");
    let (head, _body) = read_response(&mut stream, Duration::from_secs(15));
    assert!(
        server.wait_for_log("translog stopped", Duration::from_secs(15)),
        "{}",
        server.log()
    );
    (head, server.log())
}

#[test]
fn credentials_recheck_at_stop_gets_503() {
    let (head, log) = stop_during_credentials_recheck();
    assert!(head.starts_with("HTTP/1.1 503"), "{head:?}\n{log}");
}
