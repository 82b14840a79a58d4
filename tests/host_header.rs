//! The `Host` header over real sockets: values that are not a host with an
//! optional port get `400` with a message naming the fault, and what curl,
//! ureq and browsers send is served.

mod common;

use std::time::Duration;

use common::{basic_auth, Server};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(5);

const ENTRY: &str = "timestamp=2026-12-04T14:57:54Z&stage=WORKER_INIT&status=SUCCESS";

/// Sends `GET path` with the raw `Host` value `host` and `version` (such
/// as `HTTP/1.1`), and returns the response as received.
fn get_with_host(server: &Server, path: &str, version: &str, host: &[u8]) -> String {
    let mut request = format!("GET {path} {version}\r\nHost: ").into_bytes();
    request.extend_from_slice(host);
    request.extend_from_slice(b"\r\nConnection: close\r\n\r\n");
    server.raw(&request, WAIT)
}

/// Sends `GET /healthz` over HTTP/1.1 with the raw `Host` value `host`.
fn healthz_with_host(server: &Server, host: &[u8]) -> String {
    get_with_host(server, "/healthz", "HTTP/1.1", host)
}

/// Parses the JSON body of a response as received.
fn json_body(response: &str) -> Value {
    let (_, body) = response.split_once("\r\n\r\n").unwrap_or_default();
    serde_json::from_str(body).unwrap_or(Value::Null)
}

fn message(response: &str) -> String {
    json_body(response)["message"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn invalid_hosts_are_400() {
    let invalid: [&[u8]; 12] = [
        b"a b",
        b"exa mple",
        b"[::1",
        b"[::1]x",
        b"[zz]:8080",
        b"host:port:extra",
        b"x:99999",
        b"x:http",
        b"user@host",
        b"a%zz",
        b"a\tb",
        "ex\u{e4}mple".as_bytes(),
    ];
    let server = Server::start();
    for host in invalid {
        let shown = String::from_utf8_lossy(host);
        let response = healthz_with_host(&server, host);
        assert!(
            response.starts_with("HTTP/1.1 400"),
            "{shown:?}: {response}"
        );
        assert_eq!(
            json_body(&response)["error"],
            "invalid_header",
            "{shown:?}: {response}"
        );
    }
}

#[test]
fn invalid_host_message_names_fault() {
    let cases = [
        ("a b", "the character ' ' is not allowed in a host name"),
        ("[::1", "its IPv6 address has no closing ]"),
        ("[zz]", "the text in brackets is not a valid IPv6 address"),
        (
            "host:port:extra",
            "it has more than one ':' outside brackets",
        ),
        ("x:99999", "the port 99999 is greater than 65535"),
        ("x:http", "the port \"http\" is not a number"),
        ("a\tb", "it contains a control character"),
    ];
    let server = Server::start();
    for (host, fault) in cases {
        let response = healthz_with_host(&server, host.as_bytes());
        assert!(message(&response).contains(fault), "{host:?}: {response}");
    }
}

#[test]
fn invalid_host_message_quotes_value() {
    let server = Server::start();
    let response = healthz_with_host(&server, b"exa mple");
    assert!(
        message(&response).starts_with("Invalid Host header \"exa mple\": "),
        "{response}"
    );
}

#[test]
fn invalid_host_message_shows_valid_form() {
    let server = Server::start();
    let response = healthz_with_host(&server, b"a b");
    assert!(
        message(&response).ends_with("such as localhost:8080, 192.0.2.10:8080 or [::1]:8080."),
        "{response}"
    );
}

#[test]
fn control_bytes_in_host_are_400() {
    let server = Server::start();
    for host in [&b"a\x01b"[..], b"a\x7fb", b"a\x00b", b"a\x1bb"] {
        let response = healthz_with_host(&server, host);
        assert!(response.starts_with("HTTP/1.1 400"), "{host:?}: {response}");
    }
}

#[test]
fn valid_hosts_are_served() {
    let server = Server::start();
    let port = server.addr.port();
    let valid = [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("[::1]:{port}"),
        "[::1]".to_string(),
        "[::ffff:192.0.2.10]:80".to_string(),
        "translog.example.com".to_string(),
        "log-01.dc-eu.example.com:443".to_string(),
        "TRANSLOG.Example.COM".to_string(),
        "worker_host".to_string(),
        "192.0.2.10".to_string(),
        String::new(),
    ];
    for host in valid {
        let response = healthz_with_host(&server, host.as_bytes());
        assert!(response.starts_with("HTTP/1.1 200"), "{host:?}: {response}");
    }
}

#[test]
fn curl_hosts_are_served() {
    let server = Server::start();
    let port = server.addr.port();
    // --connect-to keeps the connection on 127.0.0.1 while curl sends the
    // Host header of the URL it was given.
    let connect_to = format!("::127.0.0.1:{port}");
    for url in [
        format!("http://127.0.0.1:{port}/healthz"),
        format!("http://localhost:{port}/healthz"),
        format!("http://[::1]:{port}/healthz"),
        format!("http://translog-01.example.com:{port}/healthz"),
    ] {
        let output = std::process::Command::new("curl")
            .args([
                "-sS",
                "--max-time",
                "20",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
            ])
            .args(["--connect-to", &connect_to, &url])
            .output()
            .expect("run curl");
        let status = String::from_utf8_lossy(&output.stdout);
        assert_eq!(status, "200", "{url}");
    }
}

#[test]
fn ureq_host_is_served() {
    let server = Server::start();
    assert_eq!(server.get("/healthz", None).status, 200);
}

#[test]
fn browser_request_is_served() {
    let server = Server::start();
    let request = format!(
        "GET /healthz HTTP/1.1\r\nHost: localhost:{}\r\nConnection: close\r\n\
         User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n\
         Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n\
         Accept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate, br, zstd\r\n\
         Upgrade-Insecure-Requests: 1\r\nSec-Fetch-Dest: document\r\n\
         Sec-Fetch-Mode: navigate\r\nSec-Fetch-Site: none\r\n\r\n",
        server.addr.port()
    );
    let response = server.raw(request.as_bytes(), WAIT);
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
}

#[test]
fn http_10_with_invalid_host_is_400() {
    let server = Server::start();
    let response = get_with_host(&server, "/healthz", "HTTP/1.0", b"a b");
    assert!(response.starts_with("HTTP/1.0 400"), "{response}");
}

#[test]
fn http_10_with_valid_host_is_served() {
    let server = Server::start();
    let response = get_with_host(&server, "/healthz", "HTTP/1.0", b"localhost:8080");
    assert!(response.starts_with("HTTP/1.0 200"), "{response}");
}

#[test]
fn invalid_host_precedes_path() {
    let server = Server::start();
    let response = get_with_host(&server, "/nowhere", "HTTP/1.1", b"a b");
    assert!(response.starts_with("HTTP/1.1 400"), "{response}");
}

#[test]
fn invalid_host_stores_nothing() {
    let server = Server::start();
    let (user, password) = server.admin();
    let request = format!(
        "POST /worker/log/tx-host HTTP/1.1\r\nHost: host:port:extra\r\nAuthorization: {}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{ENTRY}",
        basic_auth(user, password),
        ENTRY.len()
    );
    let response = server.raw(request.as_bytes(), WAIT);
    assert!(response.starts_with("HTTP/1.1 400"), "{response}");
    let reply = server.get("/worker/log/tx-host", Some(server.admin()));
    assert_eq!(reply.status, 404, "{}", reply.body);
}

#[test]
fn invalid_host_is_logged() {
    let server = Server::start();
    healthz_with_host(&server, b"x:99999");
    assert!(
        server.wait_for_log(
            "rejected: Invalid Host header \"x:99999\": the port 99999",
            WAIT
        ),
        "{}",
        server.log()
    );
}
