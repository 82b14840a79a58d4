//! Cross-site request forgery against the real binary. A write that a
//! browser sends for a page of another origin carries the credentials that
//! the browser keeps for the dashboard, so it is `403` and stores nothing.
//! curl and same-origin requests are served.

mod common;

use common::{Reply, Server};

const ENTRY: &str = "timestamp=2026-12-04T14:57:54%2B01:00&stage=WORKER_END&status=FATAL";

/// POSTs [`ENTRY`] as a form to `/worker/log/tx-1` as the administrator,
/// with the extra `headers` a browser would send.
fn post_with(server: &Server, headers: &[(&str, &str)]) -> Reply {
    let mut all = vec![("Content-Type", "application/x-www-form-urlencoded")];
    all.extend_from_slice(headers);
    server.request(
        "POST",
        "/worker/log/tx-1",
        Some(server.admin()),
        &all,
        Some(ENTRY.as_bytes()),
    )
}

fn assert_cross_origin(reply: &Reply) {
    assert_eq!(reply.status, 403, "{}", reply.body);
    assert_eq!(reply.error_code(), "cross_origin_request", "{}", reply.body);
}

#[test]
fn cross_site_fetch_is_403() {
    let server = Server::start();
    let reply = post_with(&server, &[("Sec-Fetch-Site", "cross-site")]);
    assert_cross_origin(&reply);
}

#[test]
fn same_site_fetch_is_403() {
    let server = Server::start();
    let reply = post_with(&server, &[("Sec-Fetch-Site", "same-site")]);
    assert_cross_origin(&reply);
}

#[test]
fn cross_site_post_stores_nothing() {
    let server = Server::start();
    post_with(&server, &[("Sec-Fetch-Site", "cross-site")]);
    let reply = server.get("/worker/log/tx-1", Some(server.admin()));
    assert_eq!(reply.status, 404, "{}", reply.body);
}

#[test]
fn cross_site_message_names_header() {
    let server = Server::start();
    let reply = post_with(&server, &[("Sec-Fetch-Site", "cross-site")]);
    assert!(
        reply
            .message()
            .contains(r#"another origin (Sec-Fetch-Site: "cross-site")"#),
        "{}",
        reply.body
    );
}

#[test]
fn other_origin_is_403() {
    let server = Server::start();
    let reply = post_with(&server, &[("Origin", "https://evil.example")]);
    assert_cross_origin(&reply);
}

#[test]
fn other_port_origin_is_403() {
    let server = Server::start();
    let origin = format!("http://127.0.0.1:{}", server.addr.port() ^ 1);
    let reply = post_with(&server, &[("Origin", &origin)]);
    assert_cross_origin(&reply);
}

#[test]
fn null_origin_is_403() {
    let server = Server::start();
    let reply = post_with(&server, &[("Origin", "null")]);
    assert_cross_origin(&reply);
}

#[test]
fn cross_site_without_credentials_is_403() {
    let server = Server::start();
    let reply = server.request(
        "POST",
        "/worker/log/tx-1",
        None,
        &[("Sec-Fetch-Site", "cross-site")],
        Some(ENTRY.as_bytes()),
    );
    assert_cross_origin(&reply);
}

#[test]
fn cross_site_read_is_served() {
    let server = Server::start();
    post_with(&server, &[]);
    let reply = server.request(
        "GET",
        "/worker/log/tx-1",
        Some(server.admin()),
        &[("Sec-Fetch-Site", "cross-site")],
        None,
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[test]
fn same_origin_fetch_is_stored() {
    let server = Server::start();
    let reply = post_with(&server, &[("Sec-Fetch-Site", "same-origin")]);
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[test]
fn user_started_fetch_is_stored() {
    let server = Server::start();
    let reply = post_with(&server, &[("Sec-Fetch-Site", "none")]);
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[test]
fn same_origin_is_stored() {
    let server = Server::start();
    let origin = format!("http://{}", server.addr);
    let reply = post_with(&server, &[("Origin", &origin)]);
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[test]
fn curl_post_is_stored() {
    let server = Server::start();
    let (user, password) = server.admin();
    let status = server.curl_status(
        "/worker/log/tx-1",
        &["-u", &format!("{user}:{password}"), "--data", ENTRY],
    );
    assert_eq!(status, "200");
}

#[test]
fn cross_site_403_is_counted() {
    let server = Server::start();
    post_with(&server, &[("Sec-Fetch-Site", "cross-site")]);
    let metrics = server.get("/metrics", Some(server.admin()));
    assert!(
        metrics
            .body
            .contains("translog_http_responses_total{code=\"403\"} 1\n"),
        "{}",
        metrics.body
    );
}

#[test]
fn cross_site_post_is_not_throttled() {
    let server = Server::start();
    for _ in 0..12 {
        server.request(
            "POST",
            "/worker/log/tx-1",
            Some(("admin", "wrong")),
            &[("Sec-Fetch-Site", "cross-site")],
            Some(ENTRY.as_bytes()),
        );
    }
    let reply = post_with(&server, &[]);
    assert_eq!(reply.status, 200, "{}", reply.body);
}
