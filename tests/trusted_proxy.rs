//! `serve --trusted-proxy` against the real binary: a request from a trusted
//! reverse proxy counts as the client that its `X-Forwarded-For` names, for
//! the failed-login throttle and in the log. The tests connect from
//! 127.0.0.1 and send the header themselves, as a proxy on the same host
//! does.

mod common;

use std::time::Duration;

use common::{run_cli, Reply, Server};

const VALID: &str = "timestamp=2026-12-04T14:57:54%2B01:00&stage=WORKER_INIT&status=SUCCESS";
const CLIENT: &str = "203.0.113.1";
const OTHER_CLIENT: &str = "203.0.113.2";

fn behind_proxy() -> Server {
    Server::start_with(&["--trusted-proxy", "127.0.0.1"])
}

/// POSTs a valid entry as the administrator, forwarded for `forwarded_for`
/// unless it is `None`.
fn post(server: &Server, password: &str, forwarded_for: Option<&str>) -> Reply {
    let mut headers = vec![("Content-Type", "application/x-www-form-urlencoded")];
    if let Some(value) = forwarded_for {
        headers.push(("X-Forwarded-For", value));
    }
    let user = server.admin().0;
    server.request(
        "POST",
        "/worker/log/tx-1",
        Some((user, password)),
        &headers,
        Some(VALID.as_bytes()),
    )
}

/// Sends ten logins with a wrong password, forwarded for `forwarded_for`.
fn fail_logins(server: &Server, forwarded_for: Option<&str>) {
    for _ in 0..10 {
        let reply = post(server, "wrong", forwarded_for);
        assert_eq!(reply.status, 401, "{}", reply.body);
    }
}

fn post_valid(server: &Server, forwarded_for: Option<&str>) -> u16 {
    let password = server.admin().1.to_string();
    post(server, &password, forwarded_for).status
}

#[test]
fn other_forwarded_client_is_not_throttled() {
    let server = behind_proxy();
    fail_logins(&server, Some(CLIENT));
    assert_eq!(post_valid(&server, Some(OTHER_CLIENT)), 200);
}

#[test]
fn forwarded_client_with_failed_logins_is_throttled() {
    let server = behind_proxy();
    fail_logins(&server, Some(CLIENT));
    assert_eq!(post_valid(&server, Some(CLIENT)), 429);
}

#[test]
fn forged_hop_stays_throttled() {
    let server = behind_proxy();
    fail_logins(&server, Some(CLIENT));
    let forged = format!("{OTHER_CLIENT}, {CLIENT}");
    assert_eq!(post_valid(&server, Some(&forged)), 429);
}

#[test]
fn chained_trusted_proxy_is_skipped() {
    let server = Server::start_with(&["--trusted-proxy", "127.0.0.1,10.0.0.2"]);
    fail_logins(&server, Some(&format!("{CLIENT}, 10.0.0.2")));
    assert_eq!(post_valid(&server, Some(CLIENT)), 429);
}

#[test]
fn header_from_an_untrusted_peer_is_ignored() {
    let server = Server::start();
    fail_logins(&server, Some(CLIENT));
    assert_eq!(post_valid(&server, Some(OTHER_CLIENT)), 429);
}

#[test]
fn request_without_the_header_counts_as_the_proxy() {
    let server = behind_proxy();
    fail_logins(&server, None);
    assert_eq!(post_valid(&server, None), 429);
}

#[test]
fn proxy_failures_do_not_throttle_forwarded_clients() {
    let server = behind_proxy();
    fail_logins(&server, None);
    assert_eq!(post_valid(&server, Some(OTHER_CLIENT)), 200);
}

#[test]
fn unknown_hop_counts_as_the_proxy() {
    let server = behind_proxy();
    fail_logins(&server, Some("unknown"));
    assert_eq!(post_valid(&server, None), 429);
}

#[test]
fn log_names_the_forwarded_client_and_the_proxy() {
    let server = behind_proxy();
    post(&server, "wrong", Some(CLIENT));
    assert!(
        server.wait_for_log(
            &format!("from {CLIENT} via 127.0.0.1:"),
            Duration::from_secs(5)
        ),
        "{}",
        server.log()
    );
}

#[test]
fn settings_line_lists_the_proxies_of_the_environment() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let server = Server::start_in_env(dir, &[], &[("TRANSLOG_TRUSTED_PROXIES", "127.0.0.1, ::1")]);
    assert!(
        server.wait_for_log("trusted proxies 127.0.0.1, ::1", Duration::from_secs(5)),
        "{}",
        server.log()
    );
}

#[test]
fn settings_line_says_none_without_proxies() {
    let server = Server::start();
    assert!(
        server.wait_for_log("trusted proxies none", Duration::from_secs(5)),
        "{}",
        server.log()
    );
}

fn serve_error(address: &str) -> String {
    let dir = tempfile::tempdir().expect("temporary directory");
    let db = dir.path().join("translog.db");
    let output = run_cli(&db, &["serve", "--trusted-proxy", address], None);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn proxy_with_port_is_rejected() {
    let error = serve_error("127.0.0.1:8443");
    assert!(
        error.contains("leave out the port, as in 127.0.0.1"),
        "{error}"
    );
}

#[test]
fn proxy_range_is_rejected() {
    let error = serve_error("10.0.0.0/8");
    assert!(error.contains("ranges are not accepted"), "{error}");
}

#[test]
fn proxy_host_name_is_rejected() {
    let error = serve_error("localhost");
    assert!(error.contains("such as 127.0.0.1 or ::1"), "{error}");
}

#[test]
fn empty_proxy_list_trusts_none() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let server = Server::start_in_env(dir, &[], &[("TRANSLOG_TRUSTED_PROXIES", "")]);
    assert!(
        server.wait_for_log("trusted proxies none", Duration::from_secs(5)),
        "{}",
        server.log()
    );
}

#[test]
fn bracketed_proxy_is_rejected_with_the_address() {
    let error = serve_error("[::1]");
    assert!(
        error.contains("leave out the brackets, as in ::1"),
        "{error}"
    );
}

/// Returns what the start log's settings line lists after `trusted proxies`.
fn trusted_proxies_setting(server: &Server) -> Option<String> {
    server.wait_for_log("trusted proxies ", Duration::from_secs(5));
    let log = server.log();
    let line = log.lines().find(|line| line.contains("trusted proxies "))?;
    let (_, proxies) = line.split_once("trusted proxies ")?;
    Some(proxies.to_string())
}

#[test]
fn mapped_proxy_is_listed_as_ipv4_once() {
    let server = Server::start_with(&["--trusted-proxy", "::ffff:127.0.0.1,127.0.0.1"]);
    let settings = trusted_proxies_setting(&server);
    assert_eq!(settings.as_deref(), Some("127.0.0.1"));
}

#[test]
fn trailing_comma_is_rejected() {
    let error = serve_error("127.0.0.1,");
    assert!(error.contains("no comma at either end"), "{error}");
}

#[test]
fn unspecified_proxy_is_rejected() {
    let error = serve_error("0.0.0.0");
    assert!(error.contains("it would trust nobody"), "{error}");
}

#[test]
fn unspecified_ipv6_proxy_is_rejected() {
    let error = serve_error("::");
    assert!(error.contains("it would trust nobody"), "{error}");
}

#[test]
fn invalid_listed_proxy_names_the_variable() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let db = dir.path().join("translog.db");
    let mut command = common::serve_command(&db);
    command.env("TRANSLOG_TRUSTED_PROXIES", "127.0.0.1,proxy.example");
    let output = common::run_command(command, None);
    let error = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        error.contains("environment variable TRANSLOG_TRUSTED_PROXIES: invalid value"),
        "{error}"
    );
}

#[test]
fn repeated_proxy_is_listed_once() {
    let server = Server::start_with(&[
        "--trusted-proxy",
        "127.0.0.1,::1",
        "--trusted-proxy",
        "127.0.0.1",
    ]);
    let settings = trusted_proxies_setting(&server);
    assert_eq!(settings.as_deref(), Some("127.0.0.1, ::1"));
}

/// Sends ten logins with a wrong password whose `X-Forwarded-For` has a
/// forged hop of bytes that are not ASCII before `CLIENT`, as nginx passes
/// on what the client sent.
fn fail_logins_with_forged_bytes(server: &Server) {
    let user = server.admin().0;
    let mut request = format!(
        "POST /worker/log/tx-1 HTTP/1.1\r\nHost: test\r\nAuthorization: {}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\
         Connection: close\r\nX-Forwarded-For: ",
        common::basic_auth(user, "wrong"),
        VALID.len()
    )
    .into_bytes();
    request.extend_from_slice(b"\xff\xfe, ");
    request.extend_from_slice(format!("{CLIENT}\r\n\r\n{VALID}").as_bytes());
    for _ in 0..10 {
        let reply = server.raw(&request, Duration::from_secs(5));
        assert!(reply.starts_with("HTTP/1.1 401"), "{reply}");
    }
}

#[test]
fn forged_bytes_still_throttle_the_client() {
    let server = behind_proxy();
    fail_logins_with_forged_bytes(&server);
    assert_eq!(post_valid(&server, Some(CLIENT)), 429);
}

#[test]
fn forged_bytes_do_not_throttle_the_proxy() {
    let server = behind_proxy();
    fail_logins_with_forged_bytes(&server);
    assert_eq!(post_valid(&server, None), 200);
}
