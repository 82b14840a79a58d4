//! The bytes of JSON response bodies: each one, of a success or an error,
//! ends with exactly one newline, and ureq with serde_json and curl still
//! read it.

mod common;

use std::io::Write as _;
use std::net::TcpStream;
use std::time::Duration;

use common::{basic_auth, form, read_response, read_until_closed, Reply, Server};

const WAIT: Duration = Duration::from_secs(5);

/// Posts one entry to `id` as the administrator.
fn post(server: &Server, id: &str) {
    let reply = server.post_entry(id, &form("2026-12-04T13:00:00Z", "WORKER_INIT", "SUCCESS"));
    assert_eq!(reply.status, 200, "{}", reply.body);
}

/// Asserts that a JSON body ends with its closing brace and one newline.
fn assert_one_newline(endpoint: &str, body: &str) {
    assert!(body.ends_with("}\n"), "{endpoint}: {body:?}");
}

#[test]
fn transaction_log_ends_with_newline() {
    let server = Server::start();
    post(&server, "tx-1");
    let reply = server.get("/worker/log/tx-1", Some(server.admin()));
    assert_one_newline("GET /worker/log/tx-1", &reply.body);
}

#[test]
fn transaction_list_ends_with_newline() {
    let server = Server::start();
    post(&server, "tx-1");
    let reply = server.get("/worker/log", Some(server.admin()));
    assert_one_newline("GET /worker/log", &reply.body);
}

#[test]
fn empty_transaction_list_ends_with_newline() {
    let server = Server::start();
    let reply = server.get("/worker/log", Some(server.admin()));
    assert_one_newline("GET /worker/log", &reply.body);
}

#[test]
fn healthz_ends_with_newline() {
    let server = Server::start();
    let reply = server.get("/healthz", None);
    assert_eq!(reply.body, "{\"status\":\"ok\"}\n");
}

#[test]
fn error_bodies_end_with_newline() {
    let server = Server::start();
    let admin = Some(server.admin());
    let replies: [(&str, Reply); 5] = [
        (
            "400",
            server.post_entry("tx-1", "timestamp=x&stage=WORKER_INIT&status=SUCCESS"),
        ),
        ("401", server.get("/worker/log", None)),
        ("404 path", server.get("/nowhere", None)),
        ("404 log", server.get("/worker/log/tx-none", admin)),
        (
            "405",
            server.request("DELETE", "/worker/log/tx-1", admin, &[], None),
        ),
    ];
    for (endpoint, reply) in replies {
        assert_one_newline(endpoint, &reply.body);
    }
}

#[test]
fn payload_too_large_body_ends_with_newline() {
    let server = Server::start();
    let (user, password) = server.admin();
    let mut stream = server.connect();
    let head = format!(
        "POST /worker/log/tx-1 HTTP/1.1\r\nHost: test\r\nAuthorization: {}\r\n\
         Content-Length: 100000\r\n\r\n",
        basic_auth(user, password)
    );
    stream.write_all(head.as_bytes()).expect("write");
    let (head, body) = read_response(&mut stream, WAIT);
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");
    assert_one_newline("413", &body);
}

#[test]
fn conflict_body_ends_with_newline() {
    let server = Server::start();
    let entry = form("2026-12-04T13:00:00Z", "WORKER_INIT", "SUCCESS");
    server.post_entry("tx-1", &format!("{entry}&message=first"));
    let reply = server.post_entry("tx-1", &format!("{entry}&message=second"));
    assert_eq!(reply.status, 409, "{}", reply.body);
    assert_one_newline("409", &reply.body);
}

#[test]
fn timeout_body_ends_with_newline() {
    let server = Server::start_with(&["--read-timeout", "1s"]);
    let (user, password) = server.admin();
    let mut stream = server.connect();
    let head = format!(
        "POST /worker/log/tx-1 HTTP/1.1\r\nHost: test\r\nAuthorization: {}\r\n\
         Content-Length: 200\r\n\r\ntimestamp=2026",
        basic_auth(user, password)
    );
    stream.write_all(head.as_bytes()).expect("write");
    let (head, body) = read_response(&mut stream, WAIT);
    assert!(head.starts_with("HTTP/1.1 408"), "{head}");
    assert_one_newline("408", &body);
}

#[test]
fn connection_cap_body_ends_with_newline() {
    let server = Server::start_with(&["--max-connections", "1"]);
    let mut first = server.connect();
    first
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
        .expect("write");
    let (head, _) = read_response(&mut first, WAIT);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let mut rejected = TcpStream::connect(server.addr).expect("connect");
    let text = read_until_closed(&mut rejected, WAIT);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or_default();
    assert!(head.starts_with("HTTP/1.1 503"), "{text}");
    assert_one_newline("503", body);
}

#[test]
fn content_length_counts_newline() {
    let server = Server::start();
    let text = server.raw(
        b"GET /healthz HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n",
        WAIT,
    );
    assert!(text.contains("content-length: 16\r\n"), "{text}");
}

#[test]
fn json_bodies_still_parse() {
    let server = Server::start();
    post(&server, "tx-1");
    let log = server.read_log("tx-1");
    assert_eq!(log["transaction_id"], "tx-1");
    let list = server.get("/worker/log", Some(server.admin())).json();
    assert_eq!(list["transactions"][0]["transaction_id"], "tx-1");
    let error = server.get("/nowhere", None);
    assert_eq!(error.error_code(), "not_found");
}

#[test]
fn curl_output_ends_with_newline() {
    let server = Server::start();
    let output = server.curl("/nowhere", &[]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_one_newline("curl /nowhere", &stdout);
}
