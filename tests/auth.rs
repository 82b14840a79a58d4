//! Users and permissions against the real binary: changes made with the
//! command line while the server runs take effect on the very next request,
//! failed logins look alike, and secrets stay out of logs and files.

mod common;

use std::os::unix::fs::PermissionsExt as _;
use std::time::Duration;

use common::{assert_success, credentials_path, form, Reply, Server, PASSWORD};

const ENTRY: &str = "timestamp=2026-12-04T14:57:54%2B01:00&stage=WORKER_INIT&status=SUCCESS";

fn post_as(server: &Server, user: &str, password: &str) -> Reply {
    server.post_form("/worker/log/tx-1", (user, password), ENTRY)
}

/// Adds a worker and makes two successful requests, so that its credentials
/// are in the server's cache.
fn cached_worker(server: &Server) {
    server.add_user("worker1", "worker");
    for _ in 0..2 {
        let reply = post_as(server, "worker1", PASSWORD);
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
}

fn cli_ok(server: &Server, args: &[&str], stdin: Option<&str>) {
    let output = server.cli(args, stdin);
    assert_success(&output, &args.join(" "));
}

// Changes from the command line while the server runs.

#[test]
fn password_change_rejects_old_password() {
    let server = Server::start();
    cached_worker(&server);
    cli_ok(
        &server,
        &["user", "passwd", "worker1", "--password-stdin"],
        Some("new secret\n"),
    );
    let reply = post_as(&server, "worker1", PASSWORD);
    assert_eq!(reply.status, 401, "{}", reply.body);
}

#[test]
fn password_change_accepts_new_password() {
    let server = Server::start();
    cached_worker(&server);
    cli_ok(
        &server,
        &["user", "passwd", "worker1", "--password-stdin"],
        Some("new secret\n"),
    );
    let reply = post_as(&server, "worker1", "new secret");
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[test]
fn generated_password_works() {
    let server = Server::start();
    cached_worker(&server);
    let output = server.cli(&["user", "passwd", "worker1"], None);
    assert_success(&output, "user passwd");
    let stdout = String::from_utf8(output.stdout).expect("UTF-8 password");
    let reply = post_as(&server, "worker1", stdout.trim_end());
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[test]
fn disable_gives_403() {
    let server = Server::start();
    cached_worker(&server);
    cli_ok(&server, &["user", "disable", "worker1"], None);
    let reply = post_as(&server, "worker1", PASSWORD);
    assert_eq!(reply.status, 403, "{}", reply.body);
}

#[test]
fn disabled_user_entry_not_stored() {
    let server = Server::start();
    cached_worker(&server);
    cli_ok(&server, &["user", "disable", "worker1"], None);
    let body = "timestamp=2026-12-04T15:00:00Z&stage=WORKER_LOAD&status=SUCCESS";
    server.post_form("/worker/log/tx-1", ("worker1", PASSWORD), body);
    assert_eq!(server.entries("tx-1").len(), 1);
}

#[test]
fn timezone_change_applies_to_cached_worker() {
    let server = Server::start();
    cached_worker(&server);
    cli_ok(
        &server,
        &["user", "set-timezone", "worker1", "Asia/Tokyo"],
        None,
    );
    let body = "timestamp=2026-12-04T15:00:00&stage=WORKER_LOAD&status=SUCCESS";
    let reply = server.post_form("/worker/log/tx-2", ("worker1", PASSWORD), body);
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        server.entries("tx-2")[0]["timestamp"],
        "2026-12-04T06:00:00.000000000Z"
    );
    assert_eq!(rechecked_writes(&server), 1);
}

#[test]
fn timezone_change_rescues_invalid_local_time() {
    let server = Server::start();
    server.add_user_with(
        "worker1",
        "worker",
        PASSWORD,
        &["--timezone", "Europe/Berlin"],
    );
    assert_eq!(post_as(&server, "worker1", PASSWORD).status, 200);
    cli_ok(&server, &["user", "set-timezone", "worker1", "UTC"], None);
    // 02:30 on 29 March 2026 does not exist in Berlin (clocks go forward).
    let body = "timestamp=2026-03-29%2002:30:00&stage=WORKER_LOAD&status=SUCCESS";
    let reply = server.post_form("/worker/log/tx-dst", ("worker1", PASSWORD), body);
    assert_eq!(reply.status, 200, "{}", reply.body);
}

/// Caches worker1, runs `translog user COMMAND worker1`, then posts `body`
/// as worker1 and returns the status.
fn status_after_change(command: &str, body: &str) -> u16 {
    let server = Server::start();
    cached_worker(&server);
    cli_ok(&server, &["user", command, "worker1"], None);
    let reply = server.post_form("/worker/log/tx-1", ("worker1", PASSWORD), body);
    reply.status
}

const INVALID_STAGE: &str = "timestamp=2026-12-04T15:00:00Z&stage=WORKER_STOP&status=SUCCESS";

#[test]
fn disabled_user_invalid_entry_is_403() {
    assert_eq!(status_after_change("disable", INVALID_STAGE), 403);
}

#[test]
fn removed_user_invalid_entry_is_401() {
    assert_eq!(status_after_change("remove", INVALID_STAGE), 401);
}

#[test]
fn removed_user_large_body_is_401() {
    let body = format!("{ENTRY}&message={}", "x".repeat(70_000));
    assert_eq!(status_after_change("remove", &body), 401);
}

#[test]
fn disabled_user_may_not_read() {
    let server = Server::start();
    cached_worker(&server);
    cli_ok(&server, &["user", "set-role", "worker1", "admin"], None);
    cli_ok(&server, &["user", "disable", "worker1"], None);
    let reply = server.get("/worker/log/tx-1", Some(("worker1", PASSWORD)));
    assert_eq!(reply.status, 403, "{}", reply.body);
}

#[test]
fn enable_restores_access() {
    let server = Server::start();
    cached_worker(&server);
    cli_ok(&server, &["user", "disable", "worker1"], None);
    post_as(&server, "worker1", PASSWORD);
    cli_ok(&server, &["user", "enable", "worker1"], None);
    let reply = post_as(&server, "worker1", PASSWORD);
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[test]
fn remove_gives_401() {
    let server = Server::start();
    cached_worker(&server);
    cli_ok(&server, &["user", "remove", "worker1"], None);
    let reply = post_as(&server, "worker1", PASSWORD);
    assert_eq!(reply.status, 401, "{}", reply.body);
}

#[test]
fn removed_user_entries_keep_name() {
    let server = Server::start();
    cached_worker(&server);
    cli_ok(&server, &["user", "remove", "worker1"], None);
    assert_eq!(server.entries("tx-1")[0]["reported_by"], "worker1");
}

#[test]
fn re_added_user_needs_new_password() {
    let server = Server::start();
    cached_worker(&server);
    cli_ok(&server, &["user", "remove", "worker1"], None);
    server.add_user_with("worker1", "worker", "another one", &[]);
    let reply = post_as(&server, "worker1", PASSWORD);
    assert_eq!(reply.status, 401, "{}", reply.body);
}

#[test]
fn role_change_to_reader_gives_403() {
    let server = Server::start();
    cached_worker(&server);
    cli_ok(&server, &["user", "set-role", "worker1", "reader"], None);
    let reply = post_as(&server, "worker1", PASSWORD);
    assert_eq!(reply.status, 403, "{}", reply.body);
}

#[test]
fn role_change_to_reader_allows_reading() {
    let server = Server::start();
    cached_worker(&server);
    cli_ok(&server, &["user", "set-role", "worker1", "reader"], None);
    let reply = server.get("/worker/log/tx-1", Some(("worker1", PASSWORD)));
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[test]
fn role_change_to_worker_allows_writing() {
    let server = Server::start();
    server.add_user("reader1", "reader");
    let first = post_as(&server, "reader1", PASSWORD);
    assert_eq!(first.status, 403, "{}", first.body);
    cli_ok(&server, &["user", "set-role", "reader1", "worker"], None);
    let reply = post_as(&server, "reader1", PASSWORD);
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[test]
fn other_users_keep_working_after_change() {
    let server = Server::start();
    cached_worker(&server);
    server.add_user("worker2", "worker");
    cli_ok(&server, &["user", "disable", "worker1"], None);
    let reply = server.post_form("/worker/log/tx-2", ("worker2", PASSWORD), ENTRY);
    assert_eq!(reply.status, 200, "{}", reply.body);
}

/// Reads the counter `name` from `GET /metrics`.
fn counter(server: &Server, name: &str) -> u64 {
    let reply = server.get("/metrics", Some(server.admin()));
    assert_eq!(reply.status, 200, "{}", reply.body);
    let prefix = format!("{name} ");
    reply
        .body
        .lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in {}", reply.body))
}

fn verifications(server: &Server) -> u64 {
    counter(server, "translog_password_verifications_total")
}

/// Write requests that the storage thread sent back for a new check of
/// their credentials.
fn rechecked_writes(server: &Server) -> u64 {
    counter(server, "translog_writes_rechecked_total")
}

#[test]
fn other_user_change_skips_recheck() {
    let server = Server::start();
    cached_worker(&server);
    server.add_user("worker2", "worker");
    let reply = post_as(&server, "worker1", PASSWORD);
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(rechecked_writes(&server), 0);
}

/// Caches the worker and the administrator, and returns the verification count then.
fn verifications_after_warm_up(server: &Server) -> u64 {
    cached_worker(server);
    verifications(server);
    verifications(server)
}

#[test]
fn cached_credentials_need_no_verification() {
    let server = Server::start();
    let before = verifications_after_warm_up(&server);
    post_as(&server, "worker1", PASSWORD);
    assert_eq!(verifications(&server), before);
}

#[test]
fn adding_a_user_keeps_cached_credentials() {
    let server = Server::start();
    let before = verifications_after_warm_up(&server);
    server.add_user("worker2", "worker");
    let reply = post_as(&server, "worker1", PASSWORD);
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(verifications(&server), before);
}

#[test]
fn disabling_another_user_keeps_cached_credentials() {
    let server = Server::start();
    server.add_user("worker2", "worker");
    let before = verifications_after_warm_up(&server);
    cli_ok(&server, &["user", "disable", "worker2"], None);
    post_as(&server, "worker1", PASSWORD);
    assert_eq!(verifications(&server), before);
}

#[test]
fn role_change_keeps_credential_cached() {
    let server = Server::start();
    let before = verifications_after_warm_up(&server);
    cli_ok(&server, &["user", "set-role", "worker1", "admin"], None);
    let reply = server.get("/worker/log/tx-1", Some(("worker1", PASSWORD)));
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(verifications(&server), before);
}

#[test]
fn password_change_verifies_again() {
    let server = Server::start();
    let before = verifications_after_warm_up(&server);
    cli_ok(
        &server,
        &["user", "passwd", "worker1", "--password-stdin"],
        Some("new secret\n"),
    );
    post_as(&server, "worker1", "new secret");
    assert_eq!(verifications(&server), before + 1);
}

#[test]
fn passwd_to_same_password_verifies_again() {
    let server = Server::start();
    let before = verifications_after_warm_up(&server);
    cli_ok(
        &server,
        &["user", "passwd", "worker1", "--password-stdin"],
        Some(&format!("{PASSWORD}\n")),
    );
    let reply = post_as(&server, "worker1", PASSWORD);
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(verifications(&server), before + 1);
}

// Roles.

#[test]
fn worker_may_not_read() {
    let server = Server::start();
    cached_worker(&server);
    let reply = server.get("/worker/log/tx-1", Some(("worker1", PASSWORD)));
    assert_eq!(reply.status, 403, "{}", reply.body);
}

#[test]
fn worker_read_names_post() {
    let server = Server::start();
    cached_worker(&server);
    let reply = server.get("/worker/log/tx-1", Some(("worker1", PASSWORD)));
    assert!(
        reply.message().contains("Appending an entry is POST"),
        "{}",
        reply.body
    );
}

#[test]
fn worker_curl_get_names_post() {
    let server = Server::start();
    cached_worker(&server);
    let credentials = format!("worker1:{PASSWORD}");
    let output = server.curl(
        "/worker/log/gg",
        &[
            "-u",
            &credentials,
            "-G",
            "--data-urlencode",
            "timestamp=2026-12-04T10:00:00Z",
        ],
    );
    let body = String::from_utf8_lossy(&output.stdout);
    assert!(body.contains("\"error\":\"forbidden\""), "{body}");
    assert!(body.contains("curl -d or --data-urlencode"), "{body}");
}

#[test]
fn worker_get_hint_names_both_flags() {
    let server = Server::start();
    server.add_user("worker1", "worker");
    let reply = server.get("/worker/log/tx-1", Some(("worker1", PASSWORD)));
    assert!(
        reply.message().ends_with("without -G or -X GET."),
        "{}",
        reply.body
    );
}

#[test]
fn worker_list_has_no_post_hint() {
    let server = Server::start();
    cached_worker(&server);
    let reply = server.get("/worker/log", Some(("worker1", PASSWORD)));
    assert_eq!(reply.status, 403, "{}", reply.body);
    assert!(!reply.message().contains("POST"), "{}", reply.body);
}

#[test]
fn worker_may_not_list() {
    let server = Server::start();
    server.add_user("worker1", "worker");
    let reply = server.get("/worker/log", Some(("worker1", PASSWORD)));
    assert_eq!(reply.status, 403, "{}", reply.body);
}

#[test]
fn reader_may_read() {
    let server = Server::start();
    server.post_entry("tx-1", ENTRY);
    server.add_user("reader1", "reader");
    let reply = server.get("/worker/log/tx-1", Some(("reader1", PASSWORD)));
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[test]
fn added_admin_may_write() {
    let server = Server::start();
    server.add_user("admin2", "admin");
    let reply = post_as(&server, "admin2", PASSWORD);
    assert_eq!(reply.status, 200, "{}", reply.body);
}

// Failed logins.

/// Status, headers without `Date`, and body of a reply.
fn comparable(reply: &Reply) -> (u16, Vec<(String, String)>, String) {
    let mut headers: Vec<(String, String)> = reply
        .headers
        .iter()
        .filter(|(name, _)| !name.eq_ignore_ascii_case("date"))
        .map(|(name, value)| (name.to_ascii_lowercase(), value.clone()))
        .collect();
    headers.sort();
    (reply.status, headers, reply.body.clone())
}

#[test]
fn unknown_user_looks_like_wrong_password() {
    let server = Server::start();
    server.add_user("worker1", "worker");
    let unknown = post_as(&server, "nobody", PASSWORD);
    let wrong = post_as(&server, "worker1", "wrong password");
    assert_eq!(comparable(&unknown), comparable(&wrong));
}

#[test]
fn wrong_password_is_401() {
    let server = Server::start();
    server.add_user("worker1", "worker");
    let reply = post_as(&server, "worker1", "wrong password");
    assert_eq!(reply.status, 401, "{}", reply.body);
}

#[test]
fn user_name_is_case_sensitive() {
    let server = Server::start();
    server.add_user("worker1", "worker");
    let reply = post_as(&server, "Worker1", PASSWORD);
    assert_eq!(reply.status, 401, "{}", reply.body);
}

#[test]
fn password_with_colons_works() {
    let server = Server::start();
    server.add_user_with("colon", "worker", "a:b::c:", &[]);
    let reply = post_as(&server, "colon", "a:b::c:");
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[test]
fn password_prefix_before_colon_fails() {
    let server = Server::start();
    server.add_user_with("colon", "worker", "a:b::c:", &[]);
    let reply = post_as(&server, "colon", "a");
    assert_eq!(reply.status, 401, "{}", reply.body);
}

#[test]
fn utf8_password_works() {
    let server = Server::start();
    server.add_user_with("umlaut", "worker", "pässwörd ✓", &[]);
    let reply = post_as(&server, "umlaut", "pässwörd ✓");
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[test]
fn password_with_crlf_line_ending_works() {
    let server = Server::start();
    let output = server.cli(
        &["user", "add", "dos", "--role", "worker", "--password-stdin"],
        Some("windows\r\n"),
    );
    assert_success(&output, "user add");
    let reply = post_as(&server, "dos", "windows");
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[test]
fn latin1_credentials_are_401() {
    let server = Server::start();
    server.add_user_with("umlaut", "worker", "pässwörd", &[]);
    // "pässwörd" in ISO-8859-1: the ä and ö are single bytes.
    let header = common::basic_auth_bytes(b"umlaut:p\xe4ssw\xf6rd");
    let reply = server.request(
        "POST",
        "/worker/log/tx-1",
        None,
        &[("Authorization", &header)],
        Some(ENTRY.as_bytes()),
    );
    assert_eq!(reply.status, 401, "{}", reply.body);
}

#[test]
fn server_survives_latin1_credentials() {
    let server = Server::start();
    let header = common::basic_auth_bytes(b"admin:\xff\xfe");
    server.request(
        "POST",
        "/worker/log/tx-1",
        None,
        &[("Authorization", &header)],
        Some(ENTRY.as_bytes()),
    );
    let reply = server.post_entry("tx-1", ENTRY);
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[test]
fn non_ascii_header_bytes_are_401() {
    let server = Server::start();
    let request =
        b"POST /worker/log/tx-1 HTTP/1.1\r\nHost: test\r\nAuthorization: Basic \xff\xfe\r\n\
Connection: close\r\nContent-Length: 0\r\n\r\n";
    let text = server.raw(request, Duration::from_secs(5));
    assert!(text.starts_with("HTTP/1.1 401"), "{text}");
}

#[test]
fn non_ascii_header_bytes_are_logged() {
    let server = Server::start();
    let request =
        b"POST /worker/log/tx-1 HTTP/1.1\r\nHost: test\r\nAuthorization: Basic \xff\xfe\r\n\
Connection: close\r\nContent-Length: 0\r\n\r\n";
    server.raw(request, Duration::from_secs(5));
    assert!(
        server.wait_for_log(
            "rejected: credentials after the Basic scheme contain bytes that are not ASCII",
            Duration::from_secs(5)
        ),
        "{}",
        server.log()
    );
}

/// POSTs an entry with `authorization` as the `Authorization` header, or
/// without one, and returns the reply.
fn post_with_authorization(server: &Server, authorization: Option<&str>) -> Reply {
    let headers: Vec<(&str, &str)> = authorization
        .map(|value| ("Authorization", value))
        .into_iter()
        .collect();
    server.request(
        "POST",
        "/worker/log/tx-1",
        None,
        &headers,
        Some(ENTRY.as_bytes()),
    )
}

#[test]
fn missing_credentials_are_named() {
    let server = Server::start();
    let reply = post_with_authorization(&server, None);
    assert_eq!(reply.status, 401, "{}", reply.body);
    assert!(
        reply.message().contains("no Authorization header"),
        "{}",
        reply.body
    );
}

#[test]
fn bearer_scheme_is_named() {
    let server = Server::start();
    let reply = post_with_authorization(&server, Some("Bearer x"));
    assert_eq!(reply.status, 401, "{}", reply.body);
    assert!(
        reply.message().contains("does not use the Basic scheme"),
        "{}",
        reply.body
    );
}

#[test]
fn tab_after_basic_is_named() {
    let server = Server::start();
    let (user, password) = server.admin();
    let token = common::basic_auth(user, password).replacen(' ', "\t", 1);
    let request = format!(
        "POST /worker/log/tx-1 HTTP/1.1\r\nHost: test\r\nAuthorization: {token}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{ENTRY}",
        ENTRY.len()
    );
    let text = server.raw(request.as_bytes(), Duration::from_secs(5));
    assert!(text.starts_with("HTTP/1.1 401"), "{text}");
    assert!(text.contains("must be separated by a space"), "{text}");
}

#[test]
fn broken_base64_is_named() {
    let server = Server::start();
    let reply = post_with_authorization(&server, Some("Basic !!!"));
    assert_eq!(reply.status, 401, "{}", reply.body);
    assert!(
        reply.message().contains("not valid base64"),
        "{}",
        reply.body
    );
}

#[test]
fn unpadded_base64_is_401() {
    let server = Server::start();
    // "admin:x" is YWRtaW46eA== with its padding.
    let reply = post_with_authorization(&server, Some("Basic YWRtaW46eA"));
    assert_eq!(reply.status, 401, "{}", reply.body);
}

#[test]
fn unpadded_base64_names_padding() {
    let server = Server::start();
    let reply = post_with_authorization(&server, Some("Basic YWRtaW46eA"));
    assert!(
        reply.message().contains("without the = padding"),
        "{}",
        reply.body
    );
}

#[test]
fn credentials_without_colon_are_named() {
    let server = Server::start();
    let header = common::basic_auth_bytes(b"worker");
    let reply = post_with_authorization(&server, Some(&header));
    assert_eq!(reply.status, 401, "{}", reply.body);
    assert!(
        reply
            .message()
            .contains("no colon between user and password"),
        "{}",
        reply.body
    );
}

#[test]
fn empty_basic_credentials_are_named() {
    let server = Server::start();
    let reply = post_with_authorization(&server, Some("Basic"));
    assert_eq!(reply.status, 401, "{}", reply.body);
    assert!(
        reply.message().contains("no credentials after it"),
        "{}",
        reply.body
    );
}

#[test]
fn wrong_password_message_names_nothing() {
    let server = Server::start();
    server.add_user("worker1", "worker");
    let reply = post_as(&server, "worker1", "wrong password");
    assert_eq!(
        reply.message(),
        "Authentication failed; send valid credentials with HTTP Basic authentication \
         (curl -u user:password)."
    );
}

/// The start of the message of a `401` for credentials with an empty user
/// name and password, as `curl -u ""` sends.
const EMPTY_CREDENTIALS: &str =
    "Authentication failed, because the user name and the password are empty;";

#[test]
fn curl_empty_credentials_are_named() {
    let server = Server::start();
    let output = server.curl("/worker/log/tx-1", &["-u", "", "-d", ENTRY]);
    let body: serde_json::Value = serde_json::from_slice(&output.stdout).expect("a JSON body");
    let message = body["message"].as_str().unwrap_or_default();
    assert!(message.starts_with(EMPTY_CREDENTIALS), "{message}");
}

#[test]
fn empty_credentials_are_401() {
    let server = Server::start();
    let reply = post_as(&server, "", "");
    assert_eq!(reply.status, 401, "{}", reply.body);
}

#[test]
fn empty_user_name_is_named() {
    let server = Server::start();
    let reply = post_as(&server, "", PASSWORD);
    assert_eq!(
        reply.message(),
        "Authentication failed, because the user name is empty; send credentials as curl -u \
         user:password, and check the variable or command that supplies them, such as \
         $(cat translog.db.credentials), which reads that file in the working directory."
    );
}

#[test]
fn empty_password_is_named() {
    let server = Server::start();
    server.add_user("worker1", "worker");
    let reply = post_as(&server, "worker1", "");
    assert_eq!(
        reply.message(),
        "Authentication failed, because the password is empty; send it after the colon \
         (curl -u user:password), and check the variable or command that supplies it."
    );
}

#[test]
fn empty_password_of_unknown_user_looks_alike() {
    let server = Server::start();
    server.add_user("worker1", "worker");
    let unknown = post_as(&server, "nobody", "");
    let known = post_as(&server, "worker1", "");
    assert_eq!(comparable(&unknown), comparable(&known));
}

/// The message of a `401` for a password that ends with a carriage return.
const PASSWORD_CARRIAGE_RETURN: &str =
    "Authentication failed, because the password ends with a carriage return (\\r), which a \
     file or script with Windows (CRLF) line ends leaves at the end of each line, as in curl -u \
     \"user:$(cat FILE)\"; remove the carriage return, as $(tr -d '\\r' < FILE) does, unless it \
     is part of the password.";

#[test]
fn password_with_carriage_return_is_named() {
    let server = Server::start();
    server.add_user("worker1", "worker");
    // What curl -u "worker1:$(cat pw)" sends for a file with CRLF line ends.
    let reply = post_as(&server, "worker1", &format!("{PASSWORD}\r"));
    assert_eq!(reply.message(), PASSWORD_CARRIAGE_RETURN);
}

#[test]
fn carriage_return_of_unknown_user_is_named() {
    let server = Server::start();
    let reply = post_as(&server, "nobody", &format!("{PASSWORD}\r"));
    assert_eq!(reply.message(), PASSWORD_CARRIAGE_RETURN);
}

#[test]
fn carriage_return_of_unknown_user_looks_alike() {
    let server = Server::start();
    server.add_user("worker1", "worker");
    let unknown = post_as(&server, "nobody", &format!("{PASSWORD}\r"));
    let known = post_as(&server, "worker1", &format!("{PASSWORD}\r"));
    assert_eq!(comparable(&unknown), comparable(&known));
}

#[test]
fn curl_credentials_file_with_crlf_is_named() {
    let server = Server::start();
    server.add_user("worker1", "worker");
    let file = server.dir().join("credentials");
    std::fs::write(&file, format!("worker1:{PASSWORD}\r\n")).expect("write the file");
    // curl -u "$(cat credentials)", whose $(...) removes the newline only.
    let text = std::fs::read_to_string(&file).expect("read the file");
    let output = server.curl(
        "/worker/log/tx-1",
        &["-u", text.trim_end_matches('\n'), "-d", ENTRY],
    );
    let body: serde_json::Value = serde_json::from_slice(&output.stdout).expect("a JSON body");
    assert_eq!(body["message"], PASSWORD_CARRIAGE_RETURN);
}

#[test]
fn space_before_user_name_is_named() {
    let server = Server::start();
    server.add_user("worker1", "worker");
    let reply = post_as(&server, " worker1", PASSWORD);
    assert_eq!(
        reply.message(),
        "Authentication failed, because the user name starts with a space; remove the whitespace."
    );
}

#[test]
fn password_with_trailing_space_is_accepted() {
    let server = Server::start();
    server.add_user_with("worker1", "worker", "secret with space ", &[]);
    let reply = post_as(&server, "worker1", "secret with space ");
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[test]
fn carriage_return_is_logged() {
    let server = Server::start();
    server.add_user("worker1", "worker");
    post_as(&server, "worker1", &format!("{PASSWORD}\r"));
    assert!(
        server.wait_for_log(
            r#"rejected: wrong password, because the password ends with a carriage return (\r), attempted_user="worker1""#,
            Duration::from_secs(5)
        ),
        "{}",
        server.log()
    );
}

#[test]
fn empty_user_names_are_throttled() {
    let server = Server::start();
    for _ in 0..10 {
        let reply = post_as(&server, "", PASSWORD);
        assert_eq!(reply.status, 401, "{}", reply.body);
    }
    let reply = server.post_form("/worker/log/tx-1", server.admin(), ENTRY);
    assert_eq!(reply.status, 429, "{}", reply.body);
}

#[test]
fn empty_basic_token_is_401() {
    let server = Server::start();
    let reply = server.request(
        "POST",
        "/worker/log/tx-1",
        None,
        &[("Authorization", "Basic ")],
        Some(ENTRY.as_bytes()),
    );
    assert_eq!(reply.status, 401, "{}", reply.body);
}

#[test]
fn malformed_headers_do_not_throttle() {
    let server = Server::start();
    let no_colon = common::basic_auth_bytes(b"worker");
    let not_utf8 = common::basic_auth_bytes(b"worker:p\xe4ss");
    let headers = ["Bearer x", "Basic !!!", &no_colon, &not_utf8];
    for header in headers.iter().cycle().take(12) {
        let reply = post_with_authorization(&server, Some(header));
        assert_eq!(reply.status, 401, "{header}: {}", reply.body);
    }
    let reply = server.post_form("/worker/log/tx-1", server.admin(), ENTRY);
    assert_eq!(reply.status, 200, "{}", reply.body);
}

// Priority of password hashing.

/// Reads the name and nice value of each thread of process `pid` from
/// `/proc/PID/task/*/stat`, where the nice value is the 19th field.
fn thread_priorities(pid: u32) -> Vec<(String, i64)> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).expect("list the threads");
    tasks
        .map(|task| {
            let stat = std::fs::read_to_string(task.expect("thread entry").path().join("stat"))
                .expect("read the thread's stat");
            let open = stat.find('(').expect("name start");
            let close = stat.rfind(')').expect("name end");
            let name = stat[open + 1..close].to_string();
            let fields: Vec<&str> = stat[close + 2..].split(' ').collect();
            // Fields after the name start at the 3rd, so the 19th is index 16.
            let nice = fields[16].parse().expect("nice value");
            (name, nice)
        })
        .collect()
}

#[test]
fn hashing_threads_run_at_lower_priority() {
    let server = Server::start();
    cached_worker(&server);
    let threads = thread_priorities(server.pid());
    let main_nice = threads
        .iter()
        .find(|(name, _)| name == "translog")
        .map(|(_, nice)| *nice)
        .expect("main thread");
    let hashing: Vec<i64> = threads
        .iter()
        .filter(|(name, _)| name.starts_with("translog-hashin"))
        .map(|(_, nice)| *nice)
        .collect();
    assert_eq!(hashing.len(), 2, "{threads:?}");
    for nice in hashing {
        assert_eq!(nice, (main_nice + 10).min(19), "{threads:?}");
    }
}

#[test]
fn storage_thread_keeps_server_priority() {
    let server = Server::start();
    cached_worker(&server);
    let threads = thread_priorities(server.pid());
    let main_nice = threads
        .iter()
        .find(|(name, _)| name == "translog")
        .map(|(_, nice)| *nice)
        .expect("main thread");
    let storage_nice = threads
        .iter()
        .find(|(name, _)| name == "storage")
        .map(|(_, nice)| *nice)
        .expect("storage thread");
    assert_eq!(storage_nice, main_nice);
}

// Secrets.

#[test]
fn credentials_file_mode_is_0600() {
    let server = Server::start();
    let metadata = std::fs::metadata(credentials_path(&server.db)).expect("credentials file");
    assert_eq!(metadata.permissions().mode() & 0o777, 0o600);
}

#[test]
fn credentials_file_works_with_curl() {
    let server = Server::start();
    let path = credentials_path(&server.db);
    let credentials = std::fs::read_to_string(&path).expect("credentials file");
    let status = server.curl_status(
        "/worker/log/tx-1",
        &[
            "-u",
            credentials.trim_end(),
            "--data-urlencode",
            "timestamp=2026-12-04T14:57:54+01:00",
            "-d",
            "stage=WORKER_INIT",
            "-d",
            "status=SUCCESS",
        ],
    );
    assert_eq!(status, "200");
}

#[test]
fn start_logs_credentials_path() {
    let server = Server::start();
    let path = credentials_path(&server.db);
    assert!(
        server.log().contains(&path.display().to_string()),
        "{}",
        server.log()
    );
}

#[test]
fn second_start_keeps_credentials() {
    let server = Server::start();
    let admin = server.admin.clone();
    let (status, dir) = server.stop();
    assert!(status.success(), "{status}");
    let server = Server::start_in(dir, &[]);
    assert_eq!(server.admin, admin);
    let reply = server.post_entry("tx-1", ENTRY);
    assert_eq!(reply.status, 200, "{}", reply.body);
}

/// Starts a server, stops it, moves its database files away as a restore
/// does, and starts a server on the new, empty database. Returns that
/// server and the first server's administrator.
fn restart_on_new_database() -> (Server, (String, String)) {
    let server = Server::start();
    let admin = server.admin.clone();
    let (status, dir) = server.stop();
    assert!(status.success(), "{status}");
    for suffix in ["", "-wal", "-shm"] {
        let path = dir.path().join(format!("translog.db{suffix}"));
        if path.exists() {
            std::fs::remove_file(&path).expect("remove a database file");
        }
    }
    (Server::start_in(dir, &[]), admin)
}

/// Returns the files beside the database whose names start with
/// `translog.db.credentials.old-`.
fn old_credentials_files(server: &Server) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(server.dir())
        .expect("read the directory")
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| {
            path.file_name().is_some_and(|name| {
                name.to_string_lossy()
                    .starts_with("translog.db.credentials.old-")
            })
        })
        .collect()
}

#[test]
fn new_admin_keeps_old_credentials() {
    let (server, old_admin) = restart_on_new_database();
    let old_files = old_credentials_files(&server);
    assert_eq!(old_files.len(), 1, "{old_files:?}");
    let content = std::fs::read_to_string(&old_files[0]).expect("read the old credentials");
    assert_eq!(content, format!("{}:{}\n", old_admin.0, old_admin.1));
}

#[test]
fn old_credentials_name_has_utc_time() {
    let (server, _) = restart_on_new_database();
    let old_files = old_credentials_files(&server);
    let name = old_files[0]
        .file_name()
        .expect("a file name")
        .to_string_lossy()
        .into_owned();
    let time = name
        .strip_prefix("translog.db.credentials.old-")
        .expect("the prefix");
    assert!(
        chrono::NaiveDateTime::parse_from_str(time, "%Y%m%dT%H%M%SZ").is_ok(),
        "{name}"
    );
}

#[test]
fn old_credentials_mode_is_0600() {
    let (server, _) = restart_on_new_database();
    let old_files = old_credentials_files(&server);
    let metadata = std::fs::metadata(&old_files[0]).expect("old credentials file");
    assert_eq!(metadata.permissions().mode() & 0o777, 0o600);
}

#[test]
fn old_credentials_path_is_logged() {
    let (server, _) = restart_on_new_database();
    let old_files = old_credentials_files(&server);
    let new_path = credentials_path(&server.db).display().to_string();
    let old_path = old_files[0].display().to_string();
    let log = server.log();
    let line = log
        .lines()
        .find(|line| line.contains("created user admin"))
        .unwrap_or_default();
    assert!(line.contains(&new_path), "{log}");
    assert!(line.contains(&old_path), "{log}");
}

#[test]
fn first_start_renames_no_credentials() {
    let server = Server::start();
    assert!(old_credentials_files(&server).is_empty());
}

/// Makes requests that carry secrets: good and bad credentials of a CLI-added
/// user and of the administrator. Returns the secrets.
fn exercise_secrets(server: &Server) -> Vec<String> {
    server.add_user_with("worker1", "worker", "s3cret-worker-pw", &[]);
    post_as(server, "worker1", "s3cret-worker-pw");
    post_as(server, "worker1", "s3cret-wrong-pw");
    post_as(server, "nobody", "s3cret-unknown-pw");
    server.post_entry("tx-2", ENTRY);
    server.post_form("/worker/log/tx-1", ("admin", "s3cret-bad-admin"), "bad=1");
    let (admin, admin_password) = server.admin();
    vec![
        "s3cret-worker-pw".to_string(),
        "s3cret-wrong-pw".to_string(),
        "s3cret-unknown-pw".to_string(),
        "s3cret-bad-admin".to_string(),
        admin_password.to_string(),
        common::basic_auth("worker1", "s3cret-worker-pw"),
        common::basic_auth(admin, admin_password)
            .trim_start_matches("Basic ")
            .to_string(),
        common::basic_auth("worker1", "s3cret-wrong-pw")
            .trim_start_matches("Basic ")
            .to_string(),
    ]
}

#[test]
fn log_has_no_secrets() {
    let server = Server::start();
    let secrets = exercise_secrets(&server);
    let log = server.log();
    for secret in secrets {
        assert!(!log.contains(&secret), "log contains {secret:?}:\n{log}");
    }
}

#[test]
fn log_has_no_authorization_header() {
    let server = Server::start();
    exercise_secrets(&server);
    let log = server.log().to_ascii_lowercase();
    assert!(!log.contains("basic "), "{log}");
}

#[test]
fn debug_log_has_no_secrets() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let server = Server::start_in_env(dir, &[], &[("RUST_LOG", "debug")]);
    let secrets = exercise_secrets(&server);
    let log = server.log();
    for secret in secrets {
        assert!(!log.contains(&secret), "log contains {secret:?}");
    }
}

#[test]
fn database_has_no_clear_passwords() {
    let server = Server::start();
    let secrets = exercise_secrets(&server);
    let (_, dir) = server.stop();
    let mut bytes = std::fs::read(dir.path().join("translog.db")).expect("database file");
    if let Ok(wal) = std::fs::read(dir.path().join("translog.db-wal")) {
        bytes.extend_from_slice(&wal);
    }
    let text = String::from_utf8_lossy(&bytes);
    for secret in &secrets[..5] {
        assert!(
            !text.contains(secret.as_str()),
            "database contains {secret:?}"
        );
    }
}

#[test]
fn password_hashes_are_argon2id() {
    let server = Server::start();
    server.add_user("worker1", "worker");
    let connection = rusqlite::Connection::open(&server.db).expect("open the database");
    let mut statement = connection
        .prepare("SELECT password_hash FROM users")
        .expect("users table has password_hash");
    let hashes: Vec<String> = statement
        .query_map([], |row| row.get(0))
        .expect("query users")
        .collect::<Result<_, _>>()
        .expect("read hashes");
    assert_eq!(hashes.len(), 2);
    for hash in hashes {
        assert!(hash.starts_with("$argon2id$"), "{hash}");
    }
}

#[test]
fn error_body_has_no_password() {
    let server = Server::start();
    let reply = post_as(&server, "admin", "s3cret-in-body");
    assert!(!reply.body.contains("s3cret"), "{}", reply.body);
}

#[test]
fn request_log_names_user() {
    let server = Server::start();
    server.add_user("worker1", "worker");
    server.post_form(
        "/worker/log/tx-7",
        ("worker1", PASSWORD),
        &form("2026-12-04", "WORKER_INIT", "SUCCESS"),
    );
    assert!(
        server.wait_for_log("user=worker1", Duration::from_secs(5)),
        "{}",
        server.log()
    );
}

/// Sends the test entry with one `Authorization` header per user in `users`,
/// over a raw connection, and returns the whole response.
fn post_with_authorization_headers(server: &Server, users: &[(&str, &str)]) -> String {
    let mut request = String::from("POST /worker/log/tx-1 HTTP/1.1\r\nHost: test\r\n");
    for (user, password) in users {
        request.push_str(&format!(
            "Authorization: {}\r\n",
            common::basic_auth(user, password)
        ));
    }
    request.push_str(&format!(
        "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{ENTRY}",
        ENTRY.len()
    ));
    server.raw(request.as_bytes(), Duration::from_secs(5))
}

#[test]
fn two_authorization_headers_are_401() {
    let server = Server::start_with_users(&[]);
    let text = post_with_authorization_headers(&server, &[common::WORKER, server.admin()]);
    assert!(text.starts_with("HTTP/1.1 401"), "{text}");
}

#[test]
fn two_authorization_headers_are_named() {
    let server = Server::start_with_users(&[]);
    let text = post_with_authorization_headers(&server, &[common::WORKER, server.admin()]);
    assert!(
        text.contains("more than one Authorization header; send exactly one."),
        "{text}"
    );
}

#[test]
fn two_authorization_headers_store_nothing() {
    let server = Server::start_with_users(&[]);
    post_with_authorization_headers(&server, &[common::WORKER, common::WORKER]);
    let reply = server.get_as_reader("/worker/log/tx-1");
    assert_eq!(reply.status, 404, "{}", reply.body);
}

#[test]
fn one_authorization_header_is_stored() {
    let server = Server::start_with_users(&[]);
    let text = post_with_authorization_headers(&server, &[common::WORKER]);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
}

// Rows that a file edited by hand, or a newer translog, left unreadable.

/// Sets a column of `user` without the schema's CHECK constraints, as an
/// edit by hand or a newer translog could.
fn set_user_column(server: &Server, user: &str, column: &str, value: &str) {
    let connection = rusqlite::Connection::open(&server.db).expect("open the database");
    connection
        .execute_batch("PRAGMA ignore_check_constraints = ON")
        .expect("turn off CHECK constraints");
    connection
        .execute(
            &format!("UPDATE users SET {column} = ?1 WHERE name = ?2"),
            [value, user],
        )
        .expect("update the user");
}

#[test]
fn unknown_role_cannot_write() {
    let server = Server::start();
    server.add_user("odd", "reader");
    set_user_column(&server, "odd", "role", "auditor");
    assert_eq!(post_as(&server, "odd", PASSWORD).status, 500);
}

#[test]
fn unknown_role_is_named_in_log() {
    let server = Server::start();
    server.add_user("odd", "reader");
    set_user_column(&server, "odd", "role", "auditor");
    post_as(&server, "odd", PASSWORD);
    assert!(
        server.wait_for_log("unknown role \"auditor\"", Duration::from_secs(5)),
        "{}",
        server.log()
    );
}

#[test]
fn unknown_timezone_cannot_write() {
    let server = Server::start();
    server.add_user("far", "worker");
    set_user_column(&server, "far", "timezone", "Mars/Olympus");
    assert_eq!(post_as(&server, "far", PASSWORD).status, 500);
}

#[test]
fn unknown_timezone_spares_other_users() {
    let server = Server::start();
    cached_worker(&server);
    server.add_user("far", "worker");
    set_user_column(&server, "far", "timezone", "Mars/Olympus");
    post_as(&server, "far", PASSWORD);
    let reply = server.post_form(
        "/worker/log/tx-2",
        ("worker1", PASSWORD),
        "timestamp=2026-12-04T14:57:55Z&stage=WORKER_INIT&status=SUCCESS",
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[test]
fn user_list_names_unknown_role() {
    let server = Server::start();
    server.add_user("odd", "reader");
    set_user_column(&server, "odd", "role", "auditor");
    let output = server.cli(&["user", "list"], None);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("translog user set-role odd"), "{stderr}");
}

// Another process's lock on the WAL index.

/// Sends `count` reads as the reader, one after another, and returns their
/// statuses.
fn reads(server: &Server, count: usize) -> Vec<u16> {
    (0..count)
        .map(|_| server.get_as_reader("/worker/log").status)
        .collect()
}

/// Starts a server with the reader, checks that a read succeeds, and takes
/// the recovery lock of the WAL index. Returns `None` when python3 cannot
/// run.
fn server_with_recovery_lock() -> Option<(Server, common::RecoveryLock)> {
    let server = Server::start_with_users(&[]);
    assert_eq!(server.get_as_reader("/worker/log").status, 200);
    let lock = common::RecoveryLock::take(&server)?;
    Some((server, lock))
}

#[test]
fn recovery_lock_leaves_http_thread_free() {
    let Some((server, lock)) = server_with_recovery_lock() else {
        return;
    };
    let (reply, waited, statuses) = std::thread::scope(|scope| {
        let reads = scope.spawn(|| reads(&server, 2));
        // Inside the first read's wait of 1 s for the lock.
        std::thread::sleep(Duration::from_millis(200));
        let started = std::time::Instant::now();
        let reply = server.get("/no-such-path", None);
        let waited = started.elapsed();
        (reply, waited, reads.join().expect("read thread"))
    });
    drop(lock);
    assert_eq!(reply.status, 404, "{}", reply.body);
    assert!(waited < Duration::from_millis(400), "{waited:?}");
    assert_eq!(statuses, [503, 503]);
}

#[test]
fn recovery_lock_is_logged_once() {
    let Some((server, lock)) = server_with_recovery_lock() else {
        return;
    };
    let statuses = reads(&server, 3);
    drop(lock);
    assert_eq!(statuses, [503, 503, 503]);
    let log = server.log();
    let timeouts = log
        .matches("reading the credentials generation timed out")
        .count();
    assert_eq!(timeouts, 1, "{log}");
}

#[test]
fn recovery_lock_counts_busy() {
    let Some((server, lock)) = server_with_recovery_lock() else {
        return;
    };
    assert_eq!(server.get_as_reader("/worker/log").status, 503);
    drop(lock);
    let busy = counter(&server, "translog_unavailable_total{reason=\"busy\"}");
    assert_eq!(busy, 1);
}

#[test]
fn reads_work_after_recovery_lock() {
    let Some((server, lock)) = server_with_recovery_lock() else {
        return;
    };
    assert_eq!(server.get_as_reader("/worker/log").status, 503);
    drop(lock);
    assert_eq!(server.get_as_reader("/worker/log").status, 200);
}

#[test]
fn logged_credentials_command_works_for_odd_path() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let db = dir.path().join("my db's.db");
    let mut command = common::serve_command(&db);
    command.args(["--listen", "127.0.0.1:0"]);
    let server = Server::launch(dir, db, command);
    let log = server.log();
    let line = log
        .lines()
        .find(|line| line.contains("created user admin"))
        .unwrap_or_default();
    let suggested = line
        .split_once("(use ")
        .and_then(|(_, rest)| rest.strip_suffix(')'))
        .unwrap_or_default();
    let output = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "{suggested} -sS -o /dev/null -w '%{{http_code}}' {}",
            server.url("/worker/log")
        ))
        .output()
        .expect("run bash");
    assert_eq!(String::from_utf8_lossy(&output.stdout), "200", "{line}");
}
