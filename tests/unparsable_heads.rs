//! Request heads that hyper cannot parse, sent over raw sockets and with
//! curl: the response has translog's JSON error body, with the status that
//! hyper chose, and closes the connection.

mod common;

use std::io::Write as _;
use std::time::Duration;

use common::{read_response, read_until_closed, status_codes, Server};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(5);

/// A response read from a socket or printed by `curl -i`.
struct RawReply {
    status: u16,
    head: String,
    body: String,
}

impl RawReply {
    /// Splits the text of one response into its status, head and body.
    fn parse(text: &str) -> RawReply {
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((text, ""));
        let status = head
            .get(9..12)
            .and_then(|code| code.parse().ok())
            .unwrap_or(0);
        RawReply {
            status,
            head: head.to_string(),
            body: body.to_string(),
        }
    }

    /// Returns the value of header `name` (case-insensitive), if present.
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name).then(|| value.trim())
        })
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|error| panic!("body is not JSON ({error}): {:?}", self.body))
    }

    fn error_code(&self) -> String {
        self.json()["error"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    fn message(&self) -> String {
        self.json()["message"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

/// Sends `request` on a new connection and returns the response.
fn send(server: &Server, request: &[u8]) -> RawReply {
    RawReply::parse(&server.raw(request, WAIT))
}

/// Builds a POST whose head has a 17,000-byte header, over the 16 KiB limit.
fn big_header_post() -> Vec<u8> {
    format!(
        "POST /worker/log/x HTTP/1.1\r\nHost: test\r\nX-Big: {}\r\n\r\n",
        "a".repeat(17_000)
    )
    .into_bytes()
}

/// Builds a GET with 101 header fields in all, over hyper's limit of 100.
fn many_fields_get() -> Vec<u8> {
    let mut request = String::from("GET /healthz HTTP/1.1\r\nHost: test\r\n");
    for number in 2..=101 {
        request.push_str(&format!("X-Field-{number}: v\r\n"));
    }
    request.push_str("\r\n");
    request.into_bytes()
}

const UNKNOWN_CODING: &[u8] =
    b"POST /worker/log/x HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: foo\r\n\r\n";

const SPACE_IN_QUERY: &[u8] = b"GET /worker/log/x?message=exit 1 HTTP/1.1\r\nHost: test\r\n\r\n";

// Heads over the size limits.

#[test]
fn big_header_is_431() {
    let server = Server::start();
    assert_eq!(send(&server, &big_header_post()).status, 431);
}

#[test]
fn big_header_reply_is_json() {
    let server = Server::start();
    let reply = send(&server, &big_header_post());
    assert_eq!(reply.header("content-type"), Some("application/json"));
}

#[test]
fn big_header_error_code() {
    let server = Server::start();
    let reply = send(&server, &big_header_post());
    assert_eq!(reply.error_code(), "request_head_too_large");
}

#[test]
fn big_header_message_names_limit() {
    let server = Server::start();
    let reply = send(&server, &big_header_post());
    assert!(reply.message().contains("16384 bytes"), "{}", reply.body);
}

#[test]
fn big_header_closes_connection() {
    let server = Server::start();
    let reply = send(&server, &big_header_post());
    assert_eq!(reply.header("connection"), Some("close"));
}

#[test]
fn many_header_fields_error_code() {
    let server = Server::start();
    let reply = send(&server, &many_fields_get());
    assert_eq!(reply.error_code(), "request_head_too_large");
}

#[test]
fn many_header_fields_message_names_limit() {
    let server = Server::start();
    let reply = send(&server, &many_fields_get());
    assert!(
        reply.message().contains("more than 100 header fields"),
        "{}",
        reply.body
    );
}

// Framing headers.

#[test]
fn unknown_transfer_coding_is_400() {
    let server = Server::start();
    assert_eq!(send(&server, UNKNOWN_CODING).status, 400);
}

#[test]
fn unknown_transfer_coding_reply_is_json() {
    let server = Server::start();
    let reply = send(&server, UNKNOWN_CODING);
    assert_eq!(reply.header("content-type"), Some("application/json"));
}

#[test]
fn unknown_transfer_coding_error_code() {
    let server = Server::start();
    let reply = send(&server, UNKNOWN_CODING);
    assert_eq!(reply.error_code(), "invalid_header");
}

#[test]
fn unknown_transfer_coding_message_names_header() {
    let server = Server::start();
    let reply = send(&server, UNKNOWN_CODING);
    assert!(
        reply.message().contains("Transfer-Encoding"),
        "{}",
        reply.body
    );
}

#[test]
fn invalid_content_length_error_code() {
    let server = Server::start();
    let reply = send(
        &server,
        b"POST /worker/log/x HTTP/1.1\r\nHost: test\r\nContent-Length: +5\r\n\r\nabcde",
    );
    assert_eq!(reply.error_code(), "invalid_header");
}

#[test]
fn malformed_header_line_error_code() {
    let server = Server::start();
    let reply = send(
        &server,
        b"GET /healthz HTTP/1.1\r\nHost: test\r\nX A: b\r\n\r\n",
    );
    assert_eq!(reply.error_code(), "invalid_header");
}

// The request line.

#[test]
fn curl_unencoded_angle_bracket_is_400() {
    let server = Server::start();
    let status = server.curl_status("/worker/log/x", &["-G", "-d", "message=exit<1>"]);
    assert_eq!(status, "400");
}

#[test]
fn curl_unencoded_angle_bracket_reply_is_json() {
    let server = Server::start();
    let output = server.curl("/worker/log/x", &["-i", "-G", "-d", "message=exit<1>"]);
    let reply = RawReply::parse(&String::from_utf8_lossy(&output.stdout));
    assert_eq!(reply.header("content-type"), Some("application/json"));
}

#[test]
fn curl_unencoded_angle_bracket_error_code() {
    let server = Server::start();
    let output = server.curl("/worker/log/x", &["-i", "-G", "-d", "message=exit<1>"]);
    let reply = RawReply::parse(&String::from_utf8_lossy(&output.stdout));
    assert_eq!(reply.error_code(), "invalid_uri");
}

#[test]
fn unencoded_angle_bracket_message_says_encode() {
    let server = Server::start();
    let reply = send(
        &server,
        b"GET /worker/log/x?message=exit<1> HTTP/1.1\r\nHost: test\r\n\r\n",
    );
    assert!(
        reply.message().contains("must be percent-encoded"),
        "{}",
        reply.body
    );
}

#[test]
fn space_in_query_error_code() {
    let server = Server::start();
    assert_eq!(send(&server, SPACE_IN_QUERY).error_code(), "invalid_uri");
}

#[test]
fn space_in_query_message_names_space() {
    let server = Server::start();
    let reply = send(&server, SPACE_IN_QUERY);
    assert!(
        reply.message().starts_with("The URL contains a space"),
        "{}",
        reply.body
    );
}

#[test]
fn split_space_in_query_code() {
    let server = Server::start();
    let mut stream = server.connect();
    let (first, rest) = SPACE_IN_QUERY.split_at(b"GET /worker/log/x?message=exit 1".len());
    stream.write_all(first).expect("write the first part");
    std::thread::sleep(Duration::from_millis(200));
    // The server may have responded and closed already, so this write may fail.
    let _ = stream.write_all(rest);
    let reply = RawReply::parse(&read_until_closed(&mut stream, WAIT));
    assert_eq!(reply.error_code(), "invalid_uri", "{}", reply.body);
}

const NO_VERSION: &[u8] = b"GET /healthz\r\n\r\n";

const TWO_SPACES: &[u8] = b"POST  /worker/log/tx-rl1  HTTP/1.1\r\nHost: test\r\n\r\n";

const TABS: &[u8] = b"POST\t/worker/log/tx-rl2\tHTTP/1.1\r\nHost: test\r\n\r\n";

/// The start of the message about separators other than single spaces.
const SEPARATOR_RULE: &str = "The method, URL and HTTP version of the request line must be \
    separated by single spaces";

#[test]
fn missing_version_error_code() {
    let server = Server::start();
    assert_eq!(send(&server, NO_VERSION).error_code(), "invalid_version");
}

#[test]
fn missing_version_message_names_version() {
    let server = Server::start();
    let reply = send(&server, NO_VERSION);
    assert!(
        reply
            .message()
            .starts_with("The request line has no HTTP version"),
        "{}",
        reply.body
    );
}

#[test]
fn missing_version_is_logged() {
    let server = Server::start();
    send(&server, NO_VERSION);
    assert!(
        server.wait_for_log(
            "rejected by hyper with 400: invalid URI; the request line has no HTTP version",
            WAIT
        ),
        "{}",
        server.log()
    );
}

const NO_TARGET: &[u8] = b"GET HTTP/1.1\r\nHost: test\r\n\r\n";

#[test]
fn missing_target_error_code() {
    let server = Server::start();
    assert_eq!(send(&server, NO_TARGET).error_code(), "invalid_uri");
}

#[test]
fn missing_target_message_names_url() {
    let server = Server::start();
    let reply = send(&server, NO_TARGET);
    assert_eq!(
        reply.message(),
        "The request line has no URL between the method and the HTTP version; send the \
         method, the URL and the version separated by single spaces, as in GET /healthz \
         HTTP/1.1."
    );
}

#[test]
fn missing_target_message_has_no_encoding_hint() {
    let server = Server::start();
    let reply = send(&server, NO_TARGET);
    assert!(
        !reply.message().contains("percent-encoded"),
        "{}",
        reply.body
    );
}

#[test]
fn missing_target_between_two_spaces_names_url() {
    let server = Server::start();
    let reply = send(&server, b"POST  HTTP/1.0\r\n\r\n");
    assert!(
        reply
            .message()
            .starts_with("The request line has no URL between the method"),
        "{}",
        reply.body
    );
}

#[test]
fn missing_target_is_logged() {
    let server = Server::start();
    send(&server, NO_TARGET);
    assert!(
        server.wait_for_log(
            "rejected by hyper with 400: invalid URI; the request line has no URL",
            WAIT
        ),
        "{}",
        server.log()
    );
}

#[test]
fn method_alone_names_missing_parts() {
    let server = Server::start();
    for line in [&b"GET\r\n\r\n"[..], b"GET \r\n\r\n"] {
        let reply = send(&server, line);
        assert!(
            reply
                .message()
                .starts_with("The request line has only a method, with no URL and no HTTP version"),
            "{:?}: {}",
            String::from_utf8_lossy(line),
            reply.body
        );
    }
}

#[test]
fn method_alone_error_code() {
    let server = Server::start();
    assert_eq!(send(&server, b"GET\r\n\r\n").error_code(), "invalid_uri");
}

#[test]
fn target_without_slash_names_start() {
    let server = Server::start();
    for target in ["worker/log/tx-1", "?a=b"] {
        let request = format!("GET {target} HTTP/1.1\r\nHost: test\r\n\r\n");
        let reply = send(&server, request.as_bytes());
        assert!(
            reply
                .message()
                .starts_with("The URL is not valid: it starts with neither / nor http://"),
            "{target}: {}",
            reply.body
        );
    }
}

#[test]
fn curl_backquote_in_url_names_shell() {
    let server = Server::start();
    let output = server.curl("/worker/log/`hostname`", &["-i", "-d", "stage=WORKER_INIT"]);
    let reply = RawReply::parse(&String::from_utf8_lossy(&output.stdout));
    assert!(
        reply
            .message()
            .contains("A backquote is usually a command in backquotes that the shell did not run"),
        "{}",
        reply.body
    );
}

#[test]
fn control_character_in_target_names_it() {
    let server = Server::start();
    let reply = send(&server, b"GET /a\x7fb HTTP/1.1\r\nHost: test\r\n\r\n");
    assert!(
        reply
            .message()
            .starts_with("The URL contains a control character or bytes that are not UTF-8"),
        "{}",
        reply.body
    );
}

#[test]
fn two_spaces_error_code() {
    let server = Server::start();
    assert_eq!(
        send(&server, TWO_SPACES).error_code(),
        "invalid_request_line"
    );
}

#[test]
fn two_spaces_message_names_single_spaces() {
    let server = Server::start();
    let reply = send(&server, TWO_SPACES);
    assert!(
        reply.message().starts_with(SEPARATOR_RULE),
        "{}",
        reply.body
    );
}

#[test]
fn two_spaces_before_version_error_code() {
    let server = Server::start();
    let reply = send(&server, b"GET /healthz  HTTP/1.1\r\nHost: test\r\n\r\n");
    assert_eq!(reply.error_code(), "invalid_request_line");
}

#[test]
fn tabs_error_code() {
    let server = Server::start();
    assert_eq!(send(&server, TABS).error_code(), "invalid_request_line");
}

#[test]
fn tabs_message_names_single_spaces() {
    let server = Server::start();
    let reply = send(&server, TABS);
    assert!(
        reply.message().starts_with(SEPARATOR_RULE),
        "{}",
        reply.body
    );
}

#[test]
fn tabs_message_has_no_https_hint() {
    let server = Server::start();
    let reply = send(&server, TABS);
    assert!(!reply.message().contains("https://"), "{}", reply.body);
}

#[test]
fn tabs_are_logged() {
    let server = Server::start();
    send(&server, TABS);
    assert!(
        server.wait_for_log(
            "invalid HTTP method parsed; the method, URL and HTTP version of the request line \
             are not separated by single spaces",
            WAIT
        ),
        "{}",
        server.log()
    );
}

#[test]
fn space_after_version_error_code() {
    let server = Server::start();
    let reply = send(&server, b"GET /healthz HTTP/1.1 \r\nHost: test\r\n\r\n");
    assert_eq!(reply.error_code(), "invalid_request_line");
}

#[test]
fn text_method_has_no_https_hint() {
    let server = Server::start();
    let reply = send(&server, b"G(T /healthz HTTP/1.1\r\nHost: test\r\n\r\n");
    assert!(!reply.message().contains("https://"), "{}", reply.body);
}

#[test]
fn tls_handshake_message_suggests_http() {
    let server = Server::start();
    // The first bytes of a TLS 1.2 ClientHello record, as curl https:// sends them.
    let mut hello = vec![
        0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00, 0xa1, 0x03, 0x03,
    ];
    hello.extend([0u8; 32]);
    let reply = send(&server, &hello);
    assert!(reply.message().contains("so use http://"), "{}", reply.body);
}

// Bytes after a request that are not a request line.

/// A GET without `Content-Length` followed by a form body, which is read as
/// the next request.
const BODY_WITHOUT_LENGTH: &[u8] =
    b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\nstage=WORKER_INIT&status=SUCCESS";

/// Returns the second response on a connection that sent `bytes`.
fn second_reply(server: &Server, bytes: &[u8]) -> RawReply {
    let text = server.raw(bytes, WAIT);
    let second = text.rfind("HTTP/1.1 400").map_or("", |at| &text[at..]);
    RawReply::parse(second)
}

#[test]
fn body_after_request_gets_both_responses() {
    let server = Server::start();
    let text = server.raw(BODY_WITHOUT_LENGTH, WAIT);
    assert_eq!(status_codes(&text), [200, 400]);
}

#[test]
fn body_after_request_error_code() {
    let server = Server::start();
    let reply = second_reply(&server, BODY_WITHOUT_LENGTH);
    assert_eq!(reply.error_code(), "invalid_method");
}

#[test]
fn body_after_request_message_names_previous_request() {
    let server = Server::start();
    let reply = second_reply(&server, BODY_WITHOUT_LENGTH);
    assert!(
        reply.message().starts_with(
            "The bytes after the previous request on this connection are not a request line"
        ),
        "{}",
        reply.body
    );
}

#[test]
fn body_after_request_message_names_content_length() {
    let server = Server::start();
    let reply = second_reply(&server, BODY_WITHOUT_LENGTH);
    assert!(
        reply
            .message()
            .contains("count the whole body in Content-Length"),
        "{}",
        reply.body
    );
}

#[test]
fn body_after_request_has_no_https_hint() {
    let server = Server::start();
    let reply = second_reply(&server, BODY_WITHOUT_LENGTH);
    assert!(!reply.message().contains("https://"), "{}", reply.body);
}

#[test]
fn body_after_request_is_logged() {
    let server = Server::start();
    server.raw(BODY_WITHOUT_LENGTH, WAIT);
    assert!(
        server.wait_for_log(
            "invalid HTTP method parsed; the bytes after the previous request on this \
             connection are not a request line",
            WAIT
        ),
        "{}",
        server.log()
    );
}

#[test]
fn invalid_method_error_code() {
    let server = Server::start();
    let reply = send(&server, b"G(T /healthz HTTP/1.1\r\nHost: test\r\n\r\n");
    assert_eq!(reply.error_code(), "invalid_method");
}

#[test]
fn invalid_version_error_code() {
    let server = Server::start();
    let reply = send(&server, b"GET /healthz HTTP/1.2\r\nHost: test\r\n\r\n");
    assert_eq!(reply.error_code(), "invalid_version");
}

// Earlier requests on the same connection.

#[test]
fn bad_head_after_response_is_json() {
    let server = Server::start();
    let mut stream = server.connect();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
        .expect("write the first request");
    let (first, _) = read_response(&mut stream, WAIT);
    assert!(first.starts_with("HTTP/1.1 200"), "{first}");
    stream
        .write_all(b"GET /a<b HTTP/1.1\r\nHost: test\r\n\r\n")
        .expect("write the second request");
    let reply = RawReply::parse(&read_until_closed(&mut stream, WAIT));
    assert_eq!(reply.error_code(), "invalid_uri");
}

#[test]
fn pipelined_bad_head_gets_both_responses() {
    let server = Server::start();
    let text = server.raw(
        b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\nGET /a<b HTTP/1.1\r\nHost: test\r\n\r\n",
        WAIT,
    );
    assert_eq!(status_codes(&text), [200, 400]);
}

#[test]
fn pipelined_bad_head_reply_is_json() {
    let server = Server::start();
    let text = server.raw(
        b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\nGET /a<b HTTP/1.1\r\nHost: test\r\n\r\n",
        WAIT,
    );
    let second = text.rfind("HTTP/1.1 400").map_or("", |at| &text[at..]);
    assert_eq!(RawReply::parse(second).error_code(), "invalid_uri");
}

/// translog's own error responses to `HEAD` carry the length of their JSON
/// body, so that no response of translog looks like hyper's empty one.
#[test]
fn head_error_has_content_length() {
    let server = Server::start();
    let reply = send(
        &server,
        b"HEAD /no-such-path HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n",
    );
    let length: usize = reply
        .header("content-length")
        .and_then(|value| value.parse().ok())
        .unwrap_or(0);
    assert!(length > 0, "{}", reply.head);
}
