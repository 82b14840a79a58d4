//! The write API, `POST /worker/log/{transaction_id}`, against the real binary:
//! every status of the response table, the order of the checks, the three
//! ways to send parameters, and uniqueness under concurrent requests.

mod common;

use std::io::Write;
use std::process::Command;
use std::time::Duration;

use common::{form, Reply, Server, PASSWORD};

const T1: &str = "2026-12-04T14:57:54+01:00";
const T1_UTC: &str = "2026-12-04T13:57:54.000000000Z";
const T1_ENCODED: &str = "2026-12-04T14:57:54%2B01:00";
const VALID: &str = "timestamp=2026-12-04T14:57:54%2B01:00&stage=WORKER_INIT&status=SUCCESS";
const WWW_AUTHENTICATE: &str = "Basic realm=\"translog\", charset=\"UTF-8\"";
/// The end of the messages of a `400` for a long message and of a `413`.
const CUT_MESSAGE: &str = "bytes of UTF-8, so cut it without splitting a character, such as \
    with printf '%s' \"$message\" | head -c 1000 | iconv -f UTF-8 -t UTF-8 -c.";

fn assert_json_error(reply: &Reply, status: u16, code: &str) {
    assert_eq!(reply.status, status, "{}", reply.body);
    assert_eq!(reply.error_code(), code, "{}", reply.body);
}

// 200: stored, repeated, conflicting.

#[test]
fn entry_is_stored() {
    let server = Server::start();
    let reply = server.post_entry("tx-1", VALID);
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[test]
fn success_body_is_empty() {
    let server = Server::start();
    let reply = server.post_entry("tx-1", VALID);
    assert_eq!(reply.body, "");
}

#[test]
fn stored_entry_reads_back() {
    let server = Server::start();
    server.post_entry("tx-1", &format!("{VALID}&message=loaded%20ok"));
    let entries = server.entries("tx-1");
    assert_eq!(entries.len(), 1);
    let entry = &entries[0];
    assert_eq!(entry["timestamp"], T1_UTC);
    assert_eq!(entry["timestamp_sent"], T1);
    assert_eq!(entry["stage"], "WORKER_INIT");
    assert_eq!(entry["status"], "SUCCESS");
    assert_eq!(entry["message"], "loaded ok");
    assert_eq!(entry["reported_by"], "admin");
}

#[test]
fn exact_repeat_is_200() {
    let server = Server::start();
    let body = format!("{VALID}&message=same");
    server.post_entry("tx-1", &body);
    let reply = server.post_entry("tx-1", &body);
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[test]
fn exact_repeat_stores_nothing() {
    let server = Server::start();
    let body = format!("{VALID}&message=same");
    server.post_entry("tx-1", &body);
    server.post_entry("tx-1", &body);
    assert_eq!(server.entries("tx-1").len(), 1);
}

#[test]
fn repeat_without_message_is_200() {
    let server = Server::start();
    server.post_entry("tx-1", VALID);
    let reply = server.post_entry("tx-1", VALID);
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[test]
fn different_message_is_409() {
    let server = Server::start();
    server.post_entry("tx-1", &format!("{VALID}&message=first"));
    let reply = server.post_entry("tx-1", &format!("{VALID}&message=second"));
    assert_json_error(&reply, 409, "conflict");
}

#[test]
fn conflict_keeps_stored_message() {
    let server = Server::start();
    server.post_entry("tx-1", &format!("{VALID}&message=first"));
    server.post_entry("tx-1", &format!("{VALID}&message=second"));
    let entries = server.entries("tx-1");
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["message"], "first");
}

#[test]
fn conflict_in_repeated_hour_names_it() {
    let server = Server::start_with(&["--timezone", "Europe/Berlin"]);
    let repeated = form("2026-10-25 02:15:00", "WORKER_LOAD", "FAIL");
    server.post_entry("tx-1", &format!("{repeated}&message=first"));
    let reply = server.post_entry("tx-1", &format!("{repeated}&message=second"));
    assert!(
        reply.message().contains(
            "The local time 2026-10-25 02:15:00 occurs twice in Europe/Berlin, at +02:00 and \
             again at +01:00"
        ),
        "{}",
        reply.body
    );
}

#[test]
fn conflict_outside_repeated_hour_asks_new_timestamp() {
    let server = Server::start_with(&["--timezone", "Europe/Berlin"]);
    let local = form("2026-10-25 04:15:00.5", "WORKER_LOAD", "FAIL");
    server.post_entry("tx-1", &format!("{local}&message=first"));
    let reply = server.post_entry("tx-1", &format!("{local}&message=second"));
    assert!(
        reply
            .message()
            .ends_with("Send a new timestamp for a new entry."),
        "{}",
        reply.body
    );
}

#[test]
fn conflict_in_repeated_hour_advises_fraction() {
    let server = Server::start_with(&["--timezone", "Europe/Berlin"]);
    let repeated = form("2026-10-25 02:15:00", "WORKER_LOAD", "FAIL");
    server.post_entry("tx-1", &format!("{repeated}&message=first"));
    let reply = server.post_entry("tx-1", &format!("{repeated}&message=second"));
    assert!(reply.message().contains("`date -Ins`"), "{}", reply.body);
}

/// Posts two reports of one step at `timestamp` with different messages,
/// and returns the message of the second one's `409`.
fn second_report_message(timestamp: &str) -> String {
    let server = Server::start();
    let report = form(timestamp, "WORKER_LOAD", "FAIL");
    server.post_entry("tx-1", &format!("{report}&message=first"));
    let reply = server.post_entry("tx-1", &format!("{report}&message=second"));
    assert_eq!(reply.status, 409, "{}", reply.body);
    reply.message()
}

#[test]
fn conflict_in_whole_seconds_names_them() {
    let message = second_report_message(T1);
    assert!(
        message.contains(
            "The timestamp \"2026-12-04T14:57:54+01:00\" has whole seconds, so two reports of \
             one stage and status within the same second have the same timestamp, even when \
             each takes a new one."
        ),
        "{message}"
    );
}

#[test]
fn conflict_in_whole_seconds_advises_fraction() {
    let message = second_report_message(T1);
    assert!(
        message.ends_with(
            "Send each report with a timestamp that has a fraction of a second, as `date -Ins` \
             prints it."
        ),
        "{message}"
    );
}

#[test]
fn conflict_names_whole_seconds_of_date_forms() {
    // date +%s, date -R and date '+%F %T'.
    for timestamp in [
        "1796392674",
        "Fri, 04 Dec 2026 14:57:54 +0100",
        "2026-12-04 14:57:54",
    ] {
        let message = second_report_message(timestamp);
        assert!(
            message.contains("has whole seconds"),
            "{timestamp}: {message}"
        );
    }
}

#[test]
fn conflict_names_whole_minutes() {
    let message = second_report_message("2026-12-04T14:57+01:00");
    assert!(
        message.contains(
            "has whole minutes, so two reports of one stage and status within the same minute"
        ),
        "{message}"
    );
}

#[test]
fn conflict_names_date_alone() {
    let message = second_report_message("2026-12-04");
    assert!(
        message.contains(
            "is a date without a time, so two reports of one stage and status on the same day"
        ),
        "{message}"
    );
}

#[test]
fn conflict_with_fraction_asks_new_timestamp() {
    let message = second_report_message("2026-12-04T14:57:54.123456789+01:00");
    assert!(
        message.ends_with("Send a new timestamp for a new entry."),
        "{message}"
    );
}

#[test]
fn conflict_warn_line_names_transaction() {
    let server = Server::start();
    server.post_entry("tx-1", &format!("{VALID}&message=first"));
    server.post_entry("tx-1", &format!("{VALID}&message=second"));
    let logged = server.wait_for_log("rejected: An entry with this", Duration::from_secs(5));
    let log = server.log();
    let line = log
        .lines()
        .find(|line| line.contains("rejected: An entry with this"));
    assert!(logged, "{log}");
    assert!(
        line.is_some_and(|line| line.contains(" tx=\"tx-1\" rejected: ")),
        "{log}"
    );
}

#[test]
fn added_message_is_409() {
    let server = Server::start();
    server.post_entry("tx-1", VALID);
    let reply = server.post_entry("tx-1", &format!("{VALID}&message=late"));
    assert_eq!(reply.status, 409, "{}", reply.body);
}

#[test]
fn same_instant_other_offset_is_same_key() {
    let server = Server::start();
    server.post_entry("tx-1", &form("2026-12-04T13:00:00Z", "WORKER_LOAD", "FAIL"));
    let reply = server.post_entry(
        "tx-1",
        &format!(
            "{}&message=other",
            form("2026-12-04T14:00:00+01:00", "WORKER_LOAD", "FAIL")
        ),
    );
    assert_eq!(reply.status, 409, "{}", reply.body);
}

#[test]
fn same_instant_other_offset_repeat_is_one_row() {
    let server = Server::start();
    server.post_entry("tx-1", &form("2026-12-04T13:00:00Z", "WORKER_LOAD", "FAIL"));
    let reply = server.post_entry(
        "tx-1",
        &form("2026-12-04T14:00:00+01:00", "WORKER_LOAD", "FAIL"),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(server.entries("tx-1").len(), 1);
}

#[test]
fn other_status_same_instant_is_new_entry() {
    let server = Server::start();
    server.post_entry("tx-1", &form(T1, "WORKER_LOAD", "FAIL"));
    server.post_entry("tx-1", &form(T1, "WORKER_LOAD", "FATAL"));
    assert_eq!(server.entries("tx-1").len(), 2);
}

#[test]
fn other_transaction_same_key_is_new_entry() {
    let server = Server::start();
    server.post_entry("tx-1", &format!("{VALID}&message=a"));
    let reply = server.post_entry("tx-2", &format!("{VALID}&message=b"));
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[test]
fn concurrent_conflicts_store_one_row() {
    let server = Server::start();
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..16)
            .map(|number| {
                let server = &server;
                scope.spawn(move || {
                    server
                        .post_entry("tx-race", &format!("{VALID}&message=writer-{number}"))
                        .status
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().expect("request thread"))
            .collect()
    });
    let stored = statuses.iter().filter(|status| **status == 200).count();
    let conflicts = statuses.iter().filter(|status| **status == 409).count();
    assert_eq!(stored, 1, "{statuses:?}");
    assert_eq!(conflicts, 15, "{statuses:?}");
    assert_eq!(server.entries("tx-race").len(), 1);
}

#[test]
fn concurrent_repeats_store_one_row() {
    let server = Server::start();
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..16)
            .map(|_| {
                let server = &server;
                scope.spawn(move || server.post_entry("tx-race", VALID).status)
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().expect("request thread"))
            .collect()
    });
    assert!(statuses.iter().all(|status| *status == 200), "{statuses:?}");
    assert_eq!(server.entries("tx-race").len(), 1);
}

// Headers of a 200.

#[test]
fn new_entry_outcome_is_stored() {
    let server = Server::start();
    let reply = server.post_entry("tx-1", VALID);
    assert_eq!(reply.header("Entry-Outcome"), Some("stored"));
}

#[test]
fn exact_repeat_outcome_is_repeated() {
    let server = Server::start();
    server.post_entry("tx-1", VALID);
    let reply = server.post_entry("tx-1", VALID);
    assert_eq!(reply.header("Entry-Outcome"), Some("repeated"));
}

#[test]
fn same_second_repeat_outcome_is_repeated() {
    // Two reports of one step within a second, as date -Iseconds writes them.
    let server = Server::start();
    let body = format!("{VALID}&message=loaded%2012%20tables");
    server.post_entry("tx-1", &body);
    let reply = server.post_entry("tx-1", &body);
    assert_eq!(reply.header("Entry-Outcome"), Some("repeated"));
}

#[test]
fn entry_timestamp_header_is_utc_instant() {
    let server = Server::start();
    let reply = server.post_entry("tx-1", VALID);
    assert_eq!(reply.header("Entry-Timestamp"), Some(T1_UTC));
}

#[test]
fn repeat_has_entry_timestamp_header() {
    let server = Server::start();
    server.post_entry("tx-1", VALID);
    let reply = server.post_entry("tx-1", VALID);
    assert_eq!(reply.header("Entry-Timestamp"), Some(T1_UTC));
}

#[test]
fn offset_timestamp_has_no_zone_header() {
    let server = Server::start();
    let reply = server.post_entry("tx-1", VALID);
    assert_eq!(reply.header("Entry-Time-Zone"), None);
}

#[test]
fn entry_headers_keep_body_empty() {
    let server = Server::start();
    let reply = server.post_entry("tx-1", VALID);
    assert_eq!(reply.header("Content-Length"), Some("0"));
}

#[test]
fn curl_include_shows_entry_headers() {
    let server = Server::start();
    let credentials = format!("{}:{}", server.admin().0, server.admin().1);
    let output = server.curl(
        "/worker/log/tx-1",
        &[
            "-i",
            "-u",
            &credentials,
            "--data-urlencode",
            "timestamp=2026-12-04 14:57:54",
            "--data-urlencode",
            "stage=WORKER_INIT",
            "--data-urlencode",
            "status=SUCCESS",
        ],
    );
    let head = String::from_utf8_lossy(&output.stdout).to_ascii_lowercase();
    assert!(
        head.contains("entry-timestamp: 2026-12-04t14:57:54.000000000z\r\n"),
        "{head}"
    );
    assert!(head.contains("entry-time-zone: utc\r\n"), "{head}");
    assert!(head.contains("entry-outcome: stored\r\n"), "{head}");
}

// Where parameters come from.

#[test]
fn query_string_parameters_are_stored() {
    let server = Server::start();
    let reply = server.request(
        "POST",
        &format!("/worker/log/tx-1?{VALID}"),
        Some(server.admin()),
        &[],
        None,
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(server.entries("tx-1").len(), 1);
}

#[test]
fn query_and_body_parameters_combine() {
    let server = Server::start();
    let reply = server.post_form(
        "/worker/log/tx-1?stage=WORKER_LOAD&status=WARNING",
        server.admin(),
        &format!("timestamp={T1_ENCODED}&message=slow"),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(server.entries("tx-1")[0]["status"], "WARNING");
}

#[test]
fn body_without_content_type_is_form() {
    let server = Server::start();
    let reply = server.request(
        "POST",
        "/worker/log/tx-1",
        Some(server.admin()),
        &[],
        Some(VALID.as_bytes()),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[test]
fn media_type_is_case_insensitive() {
    let server = Server::start();
    let reply = server.request(
        "POST",
        "/worker/log/tx-1",
        Some(server.admin()),
        &[(
            "Content-Type",
            "Application/X-WWW-Form-URLEncoded; Charset=UTF-8",
        )],
        Some(VALID.as_bytes()),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[test]
fn json_body_is_stored() {
    let server = Server::start();
    let body = format!(
        r#"{{"timestamp":"{T1}","stage":"WORKER_END","status":"SUCCESS","message":"done"}}"#
    );
    let reply = server.post_json("/worker/log/tx-1", server.admin(), &body);
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(server.entries("tx-1")[0]["message"], "done");
}

#[test]
fn json_with_utf8_charset_is_stored() {
    let server = Server::start();
    let body = format!(r#"{{"timestamp":"{T1}","stage":"WORKER_END","status":"SUCCESS"}}"#);
    let reply = server.request(
        "POST",
        "/worker/log/tx-1",
        Some(server.admin()),
        &[("Content-Type", "application/json; charset=\"utf-8\"")],
        Some(body.as_bytes()),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[test]
fn json_null_message_is_no_message() {
    let server = Server::start();
    let body =
        format!(r#"{{"timestamp":"{T1}","stage":"WORKER_END","status":"SUCCESS","message":null}}"#);
    server.post_json("/worker/log/tx-1", server.admin(), &body);
    assert!(server.entries("tx-1")[0]["message"].is_null());
}

#[test]
fn empty_message_is_no_message() {
    let server = Server::start();
    server.post_entry("tx-1", &format!("{VALID}&message="));
    assert!(server.entries("tx-1")[0]["message"].is_null());
}

#[test]
fn absent_message_equals_empty_message() {
    let server = Server::start();
    server.post_entry("tx-1", VALID);
    let reply = server.post_entry("tx-1", &format!("{VALID}&message="));
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[test]
fn plus_in_form_is_space() {
    let server = Server::start();
    server.post_entry("tx-1", &format!("{VALID}&message=a+b"));
    assert_eq!(server.entries("tx-1")[0]["message"], "a b");
}

#[test]
fn encoded_plus_in_form_is_plus() {
    let server = Server::start();
    server.post_entry("tx-1", &format!("{VALID}&message=a%2Bb"));
    assert_eq!(server.entries("tx-1")[0]["message"], "a+b");
}

#[test]
fn utf8_message_is_stored() {
    let server = Server::start();
    server.post_entry("tx-1", &format!("{VALID}&message=gr%C3%BC%C3%9Fe"));
    assert_eq!(server.entries("tx-1")[0]["message"], "grüße");
}

#[test]
fn message_of_1024_bytes_is_stored() {
    let server = Server::start();
    let reply = server.post_entry("tx-1", &format!("{VALID}&message={}", "x".repeat(1024)));
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[test]
fn decrypt_is_stored_as_deencrypt() {
    let server = Server::start();
    server.post_entry("tx-1", &form(T1, "WORKER_DECRYPT", "SUCCESS"));
    assert_eq!(server.entries("tx-1")[0]["stage"], "WORKER_DEENCRYPT");
}

#[test]
fn decrypt_repeats_deencrypt() {
    let server = Server::start();
    server.post_entry("tx-1", &form(T1, "WORKER_DEENCRYPT", "SUCCESS"));
    let reply = server.post_entry("tx-1", &form(T1, "WORKER_DECRYPT", "SUCCESS"));
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(server.entries("tx-1").len(), 1);
}

#[test]
fn every_stage_is_accepted() {
    let server = Server::start();
    for stage in [
        "WORKER_INIT",
        "WORKER_DECOMPRESS",
        "WORKER_DEENCRYPT",
        "WORKER_LOAD",
        "WORKER_END",
    ] {
        let reply = server.post_entry("tx-1", &form(T1, stage, "SUCCESS"));
        assert_eq!(reply.status, 200, "{stage}: {}", reply.body);
    }
}

#[test]
fn every_status_is_accepted() {
    let server = Server::start();
    for status in ["SUCCESS", "WARNING", "FAIL", "FATAL"] {
        let reply = server.post_entry("tx-1", &form(T1, "WORKER_LOAD", status));
        assert_eq!(reply.status, 200, "{status}: {}", reply.body);
    }
}

#[test]
fn encoded_transaction_id_is_decoded() {
    let server = Server::start();
    let reply = server.post_entry("db%2D7%3A2026", VALID);
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(server.read_log("db-7:2026")["transaction_id"], "db-7:2026");
}

#[test]
fn transaction_id_of_128_chars_is_stored() {
    let server = Server::start();
    let reply = server.post_entry(&"a".repeat(128), VALID);
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[test]
fn transaction_id_punctuation_is_stored() {
    let server = Server::start();
    let reply = server.post_entry("A-z_0.9:~", VALID);
    assert_eq!(reply.status, 200, "{}", reply.body);
}

// Per-user time zones.

#[test]
fn local_time_uses_user_zone() {
    let server = Server::start();
    server.add_user_with(
        "berlin",
        "worker",
        PASSWORD,
        &["--timezone", "Europe/Berlin"],
    );
    server.post_form(
        "/worker/log/tx-1",
        ("berlin", PASSWORD),
        &form("2026-12-04 14:57:54", "WORKER_INIT", "SUCCESS"),
    );
    assert_eq!(server.entries("tx-1")[0]["timestamp"], T1_UTC);
}

#[test]
fn local_time_uses_server_zone() {
    let server = Server::start_with(&["--timezone", "America/New_York"]);
    server.post_entry(
        "tx-1",
        &form("2026-12-04 08:57:54", "WORKER_INIT", "SUCCESS"),
    );
    assert_eq!(server.entries("tx-1")[0]["timestamp"], T1_UTC);
}

#[test]
fn user_zone_overrides_server_zone() {
    let server = Server::start_with(&["--timezone", "America/New_York"]);
    server.add_user_with(
        "berlin",
        "worker",
        PASSWORD,
        &["--timezone", "Europe/Berlin"],
    );
    server.post_form(
        "/worker/log/tx-1",
        ("berlin", PASSWORD),
        &form("2026-12-04 14:57:54", "WORKER_INIT", "SUCCESS"),
    );
    assert_eq!(server.entries("tx-1")[0]["timestamp"], T1_UTC);
}

#[test]
fn local_time_defaults_to_utc() {
    let server = Server::start();
    server.post_entry(
        "tx-1",
        &form("2026-12-04 13:57:54", "WORKER_INIT", "SUCCESS"),
    );
    assert_eq!(server.entries("tx-1")[0]["timestamp"], T1_UTC);
}

#[test]
fn set_timezone_applies_to_next_request() {
    let server = Server::start();
    server.add_user("zoned", "worker");
    server.post_form(
        "/worker/log/tx-1",
        ("zoned", PASSWORD),
        &form("2026-12-04 14:57:54", "WORKER_INIT", "SUCCESS"),
    );
    let output = server.cli(&["user", "set-timezone", "zoned", "Europe/Berlin"], None);
    common::assert_success(&output, "user set-timezone");
    server.post_form(
        "/worker/log/tx-2",
        ("zoned", PASSWORD),
        &form("2026-12-04 14:57:54", "WORKER_INIT", "SUCCESS"),
    );
    assert_eq!(server.entries("tx-2")[0]["timestamp"], T1_UTC);
}

// 400: parameters.

#[test]
fn missing_parameters_are_400() {
    let server = Server::start();
    let reply = server.post_entry("tx-1", "stage=WORKER_INIT");
    assert_json_error(&reply, 400, "missing_parameter");
}

#[test]
fn missing_parameters_are_named() {
    let server = Server::start();
    let message = server.post_entry("tx-1", "stage=WORKER_INIT").message();
    assert!(message.contains("timestamp"), "{message}");
    assert!(message.contains("status"), "{message}");
}

#[test]
fn empty_body_is_400() {
    let server = Server::start();
    let reply = server.post_entry("tx-1", "");
    assert_json_error(&reply, 400, "missing_parameter");
}

/// Returns `POST {target} {version}` as the administrator, with the extra
/// header lines `headers` and then `body`. Without a `Content-Length` or
/// `Transfer-Encoding` in `headers`, the request has no body by the rules of
/// HTTP, whatever bytes follow its head.
fn raw_post(server: &Server, version: &str, target: &str, headers: &str, body: &str) -> String {
    let (user, password) = server.admin();
    format!(
        "POST {target} {version}\r\nAuthorization: {}\r\n{headers}\r\n{body}",
        common::basic_auth(user, password)
    )
}

/// Sends [`raw_post`] on a new connection, and returns the head of the
/// response and the whole response as a [`Reply`].
fn post_raw(
    server: &Server,
    version: &str,
    target: &str,
    headers: &str,
    body: &str,
) -> (String, Reply) {
    let request = raw_post(server, version, target, headers, body);
    let mut stream = server.connect();
    stream
        .write_all(request.as_bytes())
        .expect("write the request");
    let (head, body) = common::read_response(&mut stream, Duration::from_secs(5));
    let reply = reply_from(&head, body);
    (head, reply)
}

/// Builds a [`Reply`] from a response head and body read off a socket.
fn reply_from(head: &str, body: String) -> Reply {
    let status = head
        .get(9..12)
        .and_then(|code| code.parse().ok())
        .unwrap_or_default();
    let headers = head
        .lines()
        .skip(1)
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.to_string(), value.trim().to_string()))
        .collect();
    Reply {
        status,
        headers,
        body,
    }
}

#[test]
fn body_without_length_is_missing_parameters() {
    let server = Server::start();
    let (head, reply) = post_raw(&server, "HTTP/1.0", "/worker/log/tx-1", "", VALID);
    assert!(head.starts_with("HTTP/1.0 400"), "{head}");
    assert!(
        reply.body.contains(r#""error":"missing_parameter""#),
        "{}",
        reply.body
    );
}

#[test]
fn body_without_length_names_missing_headers() {
    let server = Server::start();
    let (_, reply) = post_raw(&server, "HTTP/1.0", "/worker/log/tx-1", "", VALID);
    let message = reply.message();
    assert!(
        message.starts_with("Missing required parameters timestamp, stage, status;"),
        "{message}"
    );
    assert!(
        message.contains(
            "the request has no body, because it has neither a Content-Length nor a \
             Transfer-Encoding header"
        ),
        "{message}"
    );
    assert!(
        message.contains(
            "with curl's -d or --data-urlencode, which also sends the Content-Length header"
        ),
        "{message}"
    );
}

#[test]
fn body_without_length_closes_connection() {
    let server = Server::start();
    let request = raw_post(
        &server,
        "HTTP/1.1",
        "/worker/log/tx-1",
        "Host: 127.0.0.1\r\n",
        VALID,
    );
    let text = server.raw(request.as_bytes(), Duration::from_secs(5));
    assert_eq!(common::status_codes(&text), [400], "{text}");
}

#[test]
fn body_without_length_stores_nothing() {
    let server = Server::start();
    post_raw(&server, "HTTP/1.0", "/worker/log/tx-1", "", VALID);
    let reply = server.get("/worker/log/tx-1", Some(server.admin()));
    assert_eq!(reply.status, 404, "{}", reply.body);
}

#[test]
fn query_parameters_need_no_body_headers() {
    let server = Server::start();
    let (head, reply) = post_raw(
        &server,
        "HTTP/1.0",
        &format!("/worker/log/tx-1?{VALID}"),
        "",
        "",
    );
    assert!(head.starts_with("HTTP/1.0 200"), "{head}{}", reply.body);
    assert_eq!(server.entries("tx-1").len(), 1);
}

#[test]
fn empty_chunked_body_has_plain_missing_message() {
    let server = Server::start();
    let (_, reply) = post_raw(
        &server,
        "HTTP/1.1",
        "/worker/log/tx-1",
        "Host: test\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n",
        "0\r\n\r\n",
    );
    assert_eq!(
        reply.message(),
        "Missing required parameters timestamp, stage, status; timestamp is a time such as \
         2026-12-04T14:57:54+01:00 from date -Iseconds; stage is one of WORKER_INIT, \
         WORKER_DECOMPRESS, WORKER_DEENCRYPT, WORKER_LOAD, WORKER_END; status is one of \
         SUCCESS, WARNING, FAIL, FATAL."
    );
}

/// The head of a POST that declares `Content-Length: 0`, followed by a
/// form body that the server does not read as one.
const ZERO_LENGTH_HEADERS: &str =
    "Host: test\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 0\r\n";

#[test]
fn zero_length_missing_code() {
    let server = Server::start();
    let (_, reply) = post_raw(
        &server,
        "HTTP/1.1",
        "/worker/log/tx-1",
        ZERO_LENGTH_HEADERS,
        VALID,
    );
    assert_json_error(&reply, 400, "missing_parameter");
}

#[test]
fn zero_length_missing_names_header() {
    let server = Server::start();
    let (_, reply) = post_raw(
        &server,
        "HTTP/1.1",
        "/worker/log/tx-1",
        ZERO_LENGTH_HEADERS,
        VALID,
    );
    assert_eq!(
        reply.message(),
        "Missing required parameters timestamp, stage, status; the request declared \
         Content-Length: 0, so the server read no body. Send the size of the body in bytes in \
         Content-Length, as curl's -d and --data-urlencode do."
    );
}

#[test]
fn zero_length_missing_closes_connection() {
    let server = Server::start();
    let request = raw_post(
        &server,
        "HTTP/1.1",
        "/worker/log/tx-1",
        ZERO_LENGTH_HEADERS,
        VALID,
    );
    let text = server.raw(request.as_bytes(), Duration::from_secs(5));
    assert_eq!(common::status_codes(&text), [400], "{text}");
}

#[test]
fn zero_length_with_query_parameters_is_stored() {
    let server = Server::start();
    let (head, reply) = post_raw(
        &server,
        "HTTP/1.1",
        &format!("/worker/log/tx-1?{VALID}"),
        "Host: test\r\nContent-Length: 0\r\nConnection: close\r\n",
        "",
    );
    assert!(head.starts_with("HTTP/1.1 200"), "{head}{}", reply.body);
}

#[test]
fn missing_status_names_values() {
    let server = Server::start();
    let body = format!("timestamp={T1_ENCODED}&stage=WORKER_INIT");
    let reply = server.post_entry("tx-1", &body);
    assert_eq!(
        reply.message(),
        "Missing required parameter status; status is one of SUCCESS, WARNING, FAIL, FATAL."
    );
}

#[test]
fn semicolon_separated_form_is_named() {
    let server = Server::start();
    let reply = server.post_entry("tx-1", &VALID.replace('&', ";"));
    assert_eq!(
        reply.message(),
        "Missing required parameters stage, status; the value of timestamp contains \
         \";stage=\", so separate the parameters with & instead of ;."
    );
}

#[test]
fn space_separated_form_is_named() {
    let server = Server::start();
    let reply = server.post_entry("tx-1", "timestamp=1796392700 stage=WORKER_LOAD status=FAIL");
    assert_eq!(
        reply.message(),
        "Missing required parameters stage, status; the value of timestamp contains \
         \" stage=\", so separate the parameters with & instead of a space or +."
    );
}

#[test]
fn plus_separated_form_is_named() {
    let server = Server::start();
    let reply = server.post_entry("tx-1", "timestamp=1796392700+stage=WORKER_LOAD+status=FAIL");
    assert!(
        reply.message().ends_with("instead of a space or +."),
        "{}",
        reply.body
    );
}

#[test]
fn space_separated_form_is_400() {
    let server = Server::start();
    let reply = server.post_entry("tx-1", "timestamp=1796392700 stage=WORKER_LOAD status=FAIL");
    assert_json_error(&reply, 400, "missing_parameter");
}

#[test]
fn uppercase_parameter_name_names_lower_case() {
    let server = Server::start();
    let reply = server.post_entry("tx-1", &VALID.replace("stage=", "STAGE="));
    assert_eq!(
        reply.message(),
        "Unknown parameter \"STAGE\": parameter names are lower case, so send stage."
    );
}

#[test]
fn capitalized_parameter_name_is_400() {
    let server = Server::start();
    let reply = server.post_entry("tx-1", &VALID.replace("timestamp=", "Timestamp="));
    assert_json_error(&reply, 400, "unknown_parameter");
}

#[test]
fn unknown_parameter_is_400() {
    let server = Server::start();
    let reply = server.post_entry("tx-1", &format!("{VALID}&mesage=hello"));
    assert_json_error(&reply, 400, "unknown_parameter");
}

#[test]
fn unknown_parameter_is_named() {
    let server = Server::start();
    let message = server
        .post_entry("tx-1", &format!("{VALID}&mesage=hello"))
        .message();
    assert!(message.contains("mesage"), "{message}");
}

#[test]
fn ampersand_in_value_suggests_urlencode() {
    let server = Server::start();
    // curl -d "message=tables a&b locked" sends the & unencoded.
    let message = server
        .post_entry("tx-1", &format!("{VALID}&message=tables a&b locked"))
        .message();
    assert!(message.contains("--data-urlencode"), "{message}");
}

#[test]
fn ampersand_in_body_value_names_split_value() {
    let server = Server::start();
    // curl -d "message=rows=5&errors=0" sends the & unencoded.
    let message = server
        .post_entry("tx-1", &format!("{VALID}&message=rows=5&errors=0"))
        .message();
    assert_eq!(
        message,
        "Unknown parameter \"errors\"; the parameters are timestamp, stage, status and \
         message. An & inside a value splits it, so \"errors\" may be the rest of the value \
         of message. Send each value with curl --data-urlencode, which encodes & as %26."
    );
}

#[test]
fn unknown_query_parameter_gets_no_ampersand_hint() {
    let server = Server::start();
    let message = server
        .post_form("/worker/log/tx-1?errors=0", server.admin(), VALID)
        .message();
    assert!(!message.contains("--data-urlencode"), "{message}");
}

#[test]
fn typo_in_name_gets_no_ampersand_hint() {
    let server = Server::start();
    let message = server
        .post_entry("tx-1", &format!("{VALID}&mesage=hello"))
        .message();
    assert!(!message.contains("--data-urlencode"), "{message}");
}

#[test]
fn unknown_json_key_gets_no_ampersand_hint() {
    let server = Server::start();
    let body = r#"{"timestamp": "2026-12-04T10:00:00Z", "stage": "WORKER_INIT", "status": "SUCCESS", "exit-code": "1"}"#;
    let message = server
        .post_json("/worker/log/tx-1", server.admin(), body)
        .message();
    assert!(!message.contains("--data-urlencode"), "{message}");
}

#[test]
fn unknown_parameter_stores_nothing() {
    let server = Server::start();
    server.post_entry("tx-1", &format!("{VALID}&mesage=hello"));
    let reply = server.get("/worker/log/tx-1", Some(server.admin()));
    assert_eq!(reply.status, 404, "{}", reply.body);
}

#[test]
fn parameter_names_are_case_sensitive() {
    let server = Server::start();
    let reply = server.post_entry("tx-1", &VALID.replace("stage=", "Stage="));
    assert_json_error(&reply, 400, "unknown_parameter");
}

#[test]
fn repeat_in_body_is_400() {
    let server = Server::start();
    let reply = server.post_entry("tx-1", &format!("{VALID}&status=FAIL"));
    assert_json_error(&reply, 400, "repeated_parameter");
}

#[test]
fn repeat_in_query_and_body_is_400() {
    let server = Server::start();
    let reply = server.post_form("/worker/log/tx-1?stage=WORKER_INIT", server.admin(), VALID);
    assert_json_error(&reply, 400, "repeated_parameter");
}

#[test]
fn repeat_in_query_and_body_is_named() {
    let server = Server::start();
    let message = server
        .post_form("/worker/log/tx-1?stage=WORKER_INIT", server.admin(), VALID)
        .message();
    assert!(message.contains("stage"), "{message}");
}

#[test]
fn repeat_in_query_and_json_is_400() {
    let server = Server::start();
    let body = format!(r#"{{"timestamp":"{T1}","stage":"WORKER_END","status":"SUCCESS"}}"#);
    let reply = server.post_json("/worker/log/tx-1?status=FAIL", server.admin(), &body);
    assert_json_error(&reply, 400, "repeated_parameter");
}

#[test]
fn repeat_in_json_is_400() {
    let server = Server::start();
    let body = format!(
        r#"{{"timestamp":"{T1}","stage":"WORKER_END","stage":"WORKER_END","status":"SUCCESS"}}"#
    );
    let reply = server.post_json("/worker/log/tx-1", server.admin(), &body);
    assert_json_error(&reply, 400, "repeated_parameter");
}

#[test]
fn invalid_stage_is_400() {
    let server = Server::start();
    let reply = server.post_entry("tx-1", &form(T1, "INIT", "SUCCESS"));
    assert_json_error(&reply, 400, "invalid_parameter");
}

#[test]
fn invalid_stage_lists_stages() {
    let server = Server::start();
    let message = server
        .post_entry("tx-1", &form(T1, "INIT", "SUCCESS"))
        .message();
    for stage in [
        "WORKER_INIT",
        "WORKER_DECOMPRESS",
        "WORKER_DEENCRYPT",
        "WORKER_LOAD",
        "WORKER_END",
    ] {
        assert!(message.contains(stage), "{stage} missing from {message}");
    }
}

#[test]
fn lowercase_stage_is_400() {
    let server = Server::start();
    let reply = server.post_entry("tx-1", &form(T1, "worker_init", "SUCCESS"));
    assert_json_error(&reply, 400, "invalid_parameter");
}

#[test]
fn lowercase_stage_names_upper_case() {
    let server = Server::start();
    let reply = server.post_entry("tx-1", &form(T1, "worker_load", "FAIL"));
    assert_eq!(
        reply.message(),
        "Invalid stage \"worker_load\": stages are upper case, so send WORKER_LOAD."
    );
}

#[test]
fn invalid_status_is_400() {
    let server = Server::start();
    let reply = server.post_entry("tx-1", &form(T1, "WORKER_INIT", "OK"));
    assert_json_error(&reply, 400, "invalid_parameter");
}

#[test]
fn invalid_status_lists_statuses() {
    let server = Server::start();
    let message = server
        .post_entry("tx-1", &form(T1, "WORKER_INIT", "OK"))
        .message();
    for status in ["SUCCESS", "WARNING", "FAIL", "FATAL"] {
        assert!(message.contains(status), "{status} missing from {message}");
    }
}

#[test]
fn lowercase_status_is_400() {
    let server = Server::start();
    let reply = server.post_entry("tx-1", &form(T1, "WORKER_INIT", "success"));
    assert_json_error(&reply, 400, "invalid_parameter");
}

#[test]
fn lowercase_status_names_upper_case() {
    let server = Server::start();
    let reply = server.post_entry("tx-1", &form(T1, "WORKER_LOAD", "fail"));
    assert_eq!(
        reply.message(),
        "Invalid status \"fail\": statuses are upper case, so send FAIL."
    );
}

#[test]
fn invalid_timestamp_is_400() {
    let server = Server::start();
    let reply = server.post_entry("tx-1", &form("yesterday", "WORKER_INIT", "SUCCESS"));
    assert_json_error(&reply, 400, "invalid_parameter");
}

#[test]
fn unencoded_plus_offset_is_400() {
    let server = Server::start();
    let body = format!("timestamp={T1}&stage=WORKER_INIT&status=SUCCESS");
    let reply = server.post_entry("tx-1", &body);
    assert_json_error(&reply, 400, "invalid_parameter");
}

#[test]
fn unencoded_plus_offset_message_gives_fix() {
    let server = Server::start();
    let body = format!("timestamp={T1}&stage=WORKER_INIT&status=SUCCESS");
    let message = server.post_entry("tx-1", &body).message();
    assert!(message.contains("%2B"), "{message}");
    assert!(message.contains("--data-urlencode"), "{message}");
}

#[test]
fn bad_transaction_id_char_is_400() {
    let server = Server::start();
    let reply = server.post_entry("tx%201", VALID);
    assert_json_error(&reply, 400, "invalid_transaction_id");
}

#[test]
fn encoded_slash_in_id_is_400() {
    let server = Server::start();
    let reply = server.post_entry("a%2Fb", VALID);
    assert_json_error(&reply, 400, "invalid_transaction_id");
}

#[test]
fn non_ascii_id_is_400() {
    let server = Server::start();
    let reply = server.post_entry("caf%C3%A9", VALID);
    assert_json_error(&reply, 400, "invalid_transaction_id");
}

#[test]
fn transaction_id_of_129_chars_is_400() {
    let server = Server::start();
    let reply = server.post_entry(&"a".repeat(129), VALID);
    assert_json_error(&reply, 400, "invalid_transaction_id");
}

#[test]
fn long_non_ascii_id_names_character() {
    let server = Server::start();
    let message = server.post_entry(&"%C3%A9".repeat(100), VALID).message();
    assert_eq!(
        message,
        "Invalid transaction id: the transaction id contains '\u{e9}'; use only ASCII letters, \
         digits and - _ . : ~."
    );
}

#[test]
fn latin1_escape_in_id_is_400() {
    let server = Server::start();
    let reply = server.post_entry("caf%E9", VALID);
    assert_json_error(&reply, 400, "invalid_transaction_id");
}

#[test]
fn latin1_escape_in_id_names_allowed_chars() {
    let server = Server::start();
    let message = server.post_entry("caf%E9", VALID).message();
    assert!(message.contains("ASCII letters, digits"), "{message}");
}

#[test]
fn bad_escape_in_id_is_400() {
    let server = Server::start();
    let reply = server.post_entry("tx%zz", VALID);
    assert_json_error(&reply, 400, "invalid_transaction_id");
}

#[test]
fn malformed_json_is_400() {
    let server = Server::start();
    let reply = server.post_json("/worker/log/tx-1", server.admin(), r#"{"timestamp": "#);
    assert_json_error(&reply, 400, "malformed_body");
}

#[test]
fn form_sent_as_json_is_400() {
    let server = Server::start();
    let reply = server.post_json("/worker/log/tx-1", server.admin(), VALID);
    assert_json_error(&reply, 400, "malformed_body");
}

#[test]
fn form_sent_as_json_is_named() {
    let server = Server::start();
    let reply = server.post_json("/worker/log/tx-1", server.admin(), VALID);
    assert_eq!(
        reply.message(),
        "The body is not valid JSON (expected ident at line 1 column 2) but looks like form \
         data (name=value&...); send it with the Content-Type \
         application/x-www-form-urlencoded, which curl -d and --data-urlencode send without \
         --json or -H 'Content-Type: application/json', or send one JSON object."
    );
}

/// Returns a JSON entry whose message is `message`, put into the body as
/// it is, as `-d "{...\"message\":\"$msg\"}"` does in the shell.
fn json_with_raw_message(message: &str) -> String {
    format!(r#"{{"timestamp":"{T1}","stage":"WORKER_LOAD","status":"FAIL","message":"{message}"}}"#)
}

#[test]
fn raw_newline_in_json_names_control_character() {
    let server = Server::start();
    let body = json_with_raw_message("lock wait\ntimeout");
    let reply = server.post_json("/worker/log/tx-1", server.admin(), &body);
    assert!(
        reply.message().starts_with(
            "The body is not valid JSON (control character (\\u0000-\\u001F) found while \
             parsing a string at line 2 column 0), because a string contains a raw control \
             character, such as the newline of a shell variable put into the body"
        ),
        "{}",
        reply.body
    );
}

#[test]
fn raw_newline_in_json_names_fixes() {
    let server = Server::start();
    let body = json_with_raw_message("lock wait\ntimeout");
    let reply = server.post_json("/worker/log/tx-1", server.admin(), &body);
    assert!(
        reply.message().ends_with(
            "Escape it in the JSON (a newline as \\n), or build the body with jq -n --arg \
             message \"$msg\" '{message: $message, ...}', or send form data with curl \
             --data-urlencode \"message=$msg\"."
        ),
        "{}",
        reply.body
    );
}

#[test]
fn raw_newline_in_json_is_malformed_body() {
    let server = Server::start();
    let body = json_with_raw_message("lock wait\ntimeout");
    let reply = server.post_json("/worker/log/tx-1", server.admin(), &body);
    assert_json_error(&reply, 400, "malformed_body");
}

#[test]
fn raw_quote_in_json_names_jq() {
    let server = Server::start();
    let body = json_with_raw_message("table \"users\" locked");
    let reply = server.post_json("/worker/log/tx-1", server.admin(), &body);
    assert!(
        reply.message().ends_with(
            "A quote or backslash in a shell variable put into the body, as in -d \
             \"{\\\"message\\\": \\\"$msg\\\", ...}\", breaks it, so build the body with jq -n \
             --arg message \"$msg\" '{message: $message, ...}', or send form data with curl \
             --data-urlencode \"message=$msg\"."
        ),
        "{}",
        reply.body
    );
}

#[test]
fn json_lines_body_names_several_values() {
    let server = Server::start();
    // jq -c prints one line for each entry.
    let body = format!(
        "{{\"timestamp\":\"{T1}\",\"stage\":\"WORKER_INIT\",\"status\":\"SUCCESS\"}}\n\
         {{\"timestamp\":\"{T1}\",\"stage\":\"WORKER_LOAD\",\"status\":\"SUCCESS\"}}\n"
    );
    let reply = server.post_json("/worker/log/tx-1", server.admin(), &body);
    assert_eq!(
        reply.message(),
        "The body contains more than one JSON value, such as the lines that jq -c prints for \
         several entries, but a request takes one entry as one JSON object; send each entry \
         in its own request."
    );
}

#[test]
fn json_lines_body_is_malformed_body() {
    let server = Server::start();
    let body = format!(
        "{{\"timestamp\":\"{T1}\",\"stage\":\"WORKER_INIT\",\"status\":\"SUCCESS\"}}\n{{}}\n"
    );
    let reply = server.post_json("/worker/log/tx-1", server.admin(), &body);
    assert_json_error(&reply, 400, "malformed_body");
}

#[test]
fn object_with_trailing_text_keeps_quoting_hint() {
    let server = Server::start();
    let body =
        format!("{{\"timestamp\":\"{T1}\",\"stage\":\"WORKER_INIT\",\"status\":\"SUCCESS\"}} x");
    let reply = server.post_json("/worker/log/tx-1", server.admin(), &body);
    assert!(
        reply
            .message()
            .contains("A quote or backslash in a shell variable"),
        "{}",
        reply.body
    );
}

#[test]
fn unpaired_surrogate_in_json_is_named() {
    let server = Server::start();
    let body = format!(
        r#"{{"timestamp":"{T1}","stage":"WORKER_INIT","status":"SUCCESS","message":"\ud800"}}"#
    );
    let reply = server.post_json("/worker/log/tx-1", server.admin(), &body);
    assert_json_error(&reply, 400, "malformed_body");
    assert!(
        reply
            .message()
            .contains(r"the escape \ud800 at line 1 column 94 is half of a UTF-16 surrogate pair"),
        "{}",
        reply.body
    );
}

/// Returns a JSON entry whose message is `caf` and a Latin-1 `é`, a byte
/// that is not UTF-8.
fn latin1_json_body() -> Vec<u8> {
    let mut body = br#"{"timestamp": "2026-12-04T10:00:00Z", "stage": "WORKER_INIT", "#.to_vec();
    body.extend_from_slice(b"\"status\": \"SUCCESS\", \"message\": \"caf\xe9\"}");
    body
}

/// Posts [`latin1_json_body`] as JSON.
fn post_latin1_json(server: &Server) -> Reply {
    server.request(
        "POST",
        "/worker/log/tx-1",
        Some(server.admin()),
        &[("Content-Type", "application/json")],
        Some(&latin1_json_body()),
    )
}

#[test]
fn latin1_in_json_is_400() {
    let server = Server::start();
    let reply = post_latin1_json(&server);
    assert_json_error(&reply, 400, "malformed_body");
}

#[test]
fn latin1_in_json_suggests_iconv() {
    let server = Server::start();
    let message = post_latin1_json(&server).message();
    assert!(message.contains("iconv -f latin1 -t utf-8"), "{message}");
}

#[test]
fn latin1_in_json_names_offset() {
    let server = Server::start();
    let offset = latin1_json_body()
        .iter()
        .position(|byte| *byte == 0xe9)
        .expect("the body contains the Latin-1 byte");
    let message = post_latin1_json(&server).message();
    assert!(
        message.contains(&format!("the first at offset {offset}")),
        "{message}"
    );
}

#[test]
fn json_array_is_400() {
    let server = Server::start();
    let reply = server.post_json("/worker/log/tx-1", server.admin(), r#"["WORKER_INIT"]"#);
    assert_json_error(&reply, 400, "malformed_body");
}

#[test]
fn json_string_is_400() {
    let server = Server::start();
    let reply = server.post_json("/worker/log/tx-1", server.admin(), r#""WORKER_INIT""#);
    assert_json_error(&reply, 400, "malformed_body");
}

#[test]
fn deeply_nested_json_is_400() {
    let server = Server::start();
    let depth = 20_000;
    let body = format!(
        r#"{{"message":{}{},"timestamp":"{T1}","stage":"WORKER_INIT","status":"SUCCESS"}}"#,
        "[".repeat(depth),
        "]".repeat(depth)
    );
    let reply = server.post_json("/worker/log/tx-1", server.admin(), &body);
    assert_json_error(&reply, 400, "malformed_body");
}

#[test]
fn json_number_stage_is_400() {
    let server = Server::start();
    let body = format!(r#"{{"timestamp":"{T1}","stage":1,"status":"SUCCESS"}}"#);
    let reply = server.post_json("/worker/log/tx-1", server.admin(), &body);
    assert_json_error(&reply, 400, "invalid_parameter");
}

#[test]
fn json_boolean_timestamp_is_400() {
    let server = Server::start();
    let body = r#"{"timestamp":true,"stage":"WORKER_INIT","status":"SUCCESS"}"#;
    let reply = server.post_json("/worker/log/tx-1", server.admin(), body);
    assert_json_error(&reply, 400, "invalid_parameter");
}

#[test]
fn json_number_message_is_400() {
    let server = Server::start();
    let body =
        format!(r#"{{"timestamp":"{T1}","stage":"WORKER_INIT","status":"SUCCESS","message":5}}"#);
    let reply = server.post_json("/worker/log/tx-1", server.admin(), &body);
    assert_json_error(&reply, 400, "invalid_parameter");
}

#[test]
fn json_null_stage_is_400() {
    let server = Server::start();
    let body = format!(r#"{{"timestamp":"{T1}","stage":null,"status":"SUCCESS"}}"#);
    let reply = server.post_json("/worker/log/tx-1", server.admin(), &body);
    assert_json_error(&reply, 400, "invalid_parameter");
}

/// Posts a JSON body whose `name` is the JSON text `json`, with valid
/// values for the other required parameters, and returns the message.
fn json_type_message(server: &Server, name: &str, json: &str) -> String {
    let mut members = vec![
        ("timestamp", format!("\"{T1}\"")),
        ("stage", "\"WORKER_INIT\"".to_string()),
        ("status", "\"SUCCESS\"".to_string()),
    ];
    match members.iter_mut().find(|(member, _)| *member == name) {
        Some(member) => member.1 = json.to_string(),
        None => members.push((name, json.to_string())),
    }
    let body: Vec<String> = members
        .iter()
        .map(|(member, value)| format!("\"{member}\":{value}"))
        .collect();
    let body = format!("{{{}}}", body.join(","));
    let reply = server.post_json("/worker/log/tx-1", server.admin(), &body);
    assert_eq!(reply.status, 400, "{body}: {}", reply.body);
    reply.message()
}

#[test]
fn json_status_of_other_type_is_quoted() {
    let server = Server::start();
    for json in ["1", "true", "null", r#"["SUCCESS"]"#, r#"{"a":1}"#] {
        let message = json_type_message(&server, "status", json);
        assert!(
            message.starts_with(&format!("Invalid status {json}: ")),
            "{json}: {message}"
        );
    }
}

#[test]
fn json_number_status_lists_statuses() {
    let server = Server::start();
    let message = json_type_message(&server, "status", "1");
    assert_eq!(
        message,
        "Invalid status 1: a JSON body must give status as a string; use one of \"SUCCESS\", \
         \"WARNING\", \"FAIL\", \"FATAL\"."
    );
}

#[test]
fn json_boolean_stage_lists_stages() {
    let server = Server::start();
    let message = json_type_message(&server, "stage", "true");
    assert_eq!(
        message,
        "Invalid stage true: a JSON body must give stage as a string; use one of \
         \"WORKER_INIT\", \"WORKER_DECOMPRESS\", \"WORKER_DEENCRYPT\", \"WORKER_LOAD\", \
         \"WORKER_END\"."
    );
}

#[test]
fn json_array_stage_is_quoted() {
    let server = Server::start();
    let message = json_type_message(&server, "stage", r#"[ "WORKER_INIT" ]"#);
    assert!(
        message.starts_with(r#"Invalid stage ["WORKER_INIT"]: "#),
        "{message}"
    );
}

#[test]
fn json_long_stage_is_cut() {
    let server = Server::start();
    let long = format!("[{}]", "1,".repeat(200) + "1");
    let message = json_type_message(&server, "stage", &long);
    assert!(
        message.starts_with(&format!("Invalid stage {}...: ", &long[..64])),
        "{message}"
    );
}

#[test]
fn json_boolean_timestamp_names_forms() {
    let server = Server::start();
    let message = json_type_message(&server, "timestamp", "true");
    assert_eq!(
        message,
        "Invalid timestamp true: a JSON body must give timestamp as a string, such as \
         \"2026-12-04T14:57:54+01:00\" from date -Iseconds, or as a number of Unix seconds, \
         such as 1796392674 from date +%s."
    );
}

#[test]
fn json_object_timestamp_is_quoted() {
    let server = Server::start();
    let message = json_type_message(&server, "timestamp", r#"{"t":1}"#);
    assert!(
        message.starts_with(r#"Invalid timestamp {"t":1}: "#),
        "{message}"
    );
}

#[test]
fn json_number_message_names_fix() {
    let server = Server::start();
    let message = json_type_message(&server, "message", "5");
    assert_eq!(
        message,
        "Invalid message 5: a JSON body must give message as a string, or as null for no \
         message, so put the text in quotes, or build the body with jq -n --arg message \
         \"$msg\" '{message: $message, ...}', which makes it a string."
    );
}

#[test]
fn json_object_message_is_quoted() {
    let server = Server::start();
    let message = json_type_message(&server, "message", r#"{"exit":1}"#);
    assert!(
        message.starts_with(r#"Invalid message {"exit":1}: "#),
        "{message}"
    );
}

#[test]
fn json_unknown_member_is_400() {
    let server = Server::start();
    let body =
        format!(r#"{{"timestamp":"{T1}","stage":"WORKER_INIT","status":"SUCCESS","mesage":"x"}}"#);
    let reply = server.post_json("/worker/log/tx-1", server.admin(), &body);
    assert_json_error(&reply, 400, "unknown_parameter");
}

#[test]
fn multipart_is_400() {
    let server = Server::start();
    let (user, password) = server.admin();
    let output = server.curl(
        "/worker/log/tx-1",
        &[
            "-u",
            &format!("{user}:{password}"),
            "-F",
            &format!("timestamp={T1}"),
            "-F",
            "stage=WORKER_INIT",
            "-F",
            "status=SUCCESS",
            "-w",
            "\n%{http_code}",
        ],
    );
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(text.ends_with("\n400"), "{text}");
}

#[test]
fn trailing_newline_in_status_is_named() {
    let server = Server::start();
    let credentials = format!("{}:{}", server.admin.0, server.admin.1);
    // The bytes that `printf '...\n' | curl --data-binary @-` sends.
    let body = "timestamp=2026-12-04T10:00:00Z&stage=WORKER_INIT&status=SUCCESS\n";
    let output = server.curl(
        "/worker/log/tx-1",
        &["-u", &credentials, "--data-binary", body],
    );
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(text.contains(r#"Invalid status \"SUCCESS\\n\""#), "{text}");
    assert!(
        text.contains("starts or ends with whitespace, so remove it"),
        "{text}"
    );
}

#[test]
fn multipart_message_names_accepted_types() {
    let server = Server::start();
    let reply = server.request(
        "POST",
        "/worker/log/tx-1",
        Some(server.admin()),
        &[("Content-Type", "multipart/form-data; boundary=xyz")],
        Some(b"--xyz\r\nContent-Disposition: form-data; name=\"stage\"\r\n\r\nWORKER_INIT\r\n--xyz--\r\n"),
    );
    assert_json_error(&reply, 400, "unsupported_content_type");
    let message = reply.message();
    assert!(
        message.contains("application/x-www-form-urlencoded"),
        "{message}"
    );
    assert!(message.contains("application/json"), "{message}");
}

#[test]
fn text_plain_is_400() {
    let server = Server::start();
    let reply = server.request(
        "POST",
        "/worker/log/tx-1",
        Some(server.admin()),
        &[("Content-Type", "text/plain")],
        Some(VALID.as_bytes()),
    );
    assert_json_error(&reply, 400, "unsupported_content_type");
}

/// Sends a JSON entry with two `Content-Type` headers, the first one valid.
fn post_with_two_content_types(server: &Server) -> String {
    let (user, password) = server.admin();
    let body =
        r#"{"timestamp": "2026-12-04T14:57:54Z", "stage": "WORKER_INIT", "status": "SUCCESS"}"#;
    let request = format!(
        "POST /worker/log/tx-types HTTP/1.1\r\nHost: test\r\nAuthorization: {}\r\n\
         Content-Type: application/json\r\nContent-Type: text/plain\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        common::basic_auth(user, password),
        body.len()
    );
    server.raw(request.as_bytes(), Duration::from_secs(5))
}

#[test]
fn two_content_types_are_400() {
    let server = Server::start();
    let response = post_with_two_content_types(&server);
    assert!(response.starts_with("HTTP/1.1 400"), "{response}");
}

#[test]
fn two_content_types_are_named() {
    let server = Server::start();
    let response = post_with_two_content_types(&server);
    assert!(
        response.contains("Content-Type was sent more than once"),
        "{response}"
    );
}

#[test]
fn two_content_types_store_nothing() {
    let server = Server::start();
    post_with_two_content_types(&server);
    let reply = server.get("/worker/log/tx-types", Some(server.admin()));
    assert_eq!(reply.status, 404, "{}", reply.body);
}

#[test]
fn empty_media_type_is_echoed() {
    let server = Server::start();
    let reply = server.request(
        "POST",
        "/worker/log/tx-1",
        Some(server.admin()),
        &[("Content-Type", ";;;")],
        Some(VALID.as_bytes()),
    );
    assert!(
        reply.body.contains(r#"Content-Type \";;;\""#),
        "{}",
        reply.body
    );
}

#[test]
fn latin1_charset_is_400() {
    let server = Server::start();
    let reply = server.request(
        "POST",
        "/worker/log/tx-1",
        Some(server.admin()),
        &[(
            "Content-Type",
            "application/x-www-form-urlencoded; charset=latin1",
        )],
        Some(VALID.as_bytes()),
    );
    assert_json_error(&reply, 400, "unsupported_content_type");
}

#[test]
fn json_sent_as_form_is_400() {
    let server = Server::start();
    let body = format!(r#"{{"timestamp":"{T1}","stage":"WORKER_INIT","status":"SUCCESS"}}"#);
    let reply = server.post_form("/worker/log/tx-1", server.admin(), &body);
    assert_json_error(&reply, 400, "malformed_body");
}

#[test]
fn json_sent_as_form_names_content_type() {
    let server = Server::start();
    let body = format!(r#"{{"timestamp":"{T1}","stage":"WORKER_INIT","status":"SUCCESS"}}"#);
    let message = server
        .post_form("/worker/log/tx-1", server.admin(), &body)
        .message();
    assert!(
        message.contains("Content-Type: application/json"),
        "{message}"
    );
}

#[test]
fn form_with_byte_order_mark_is_named() {
    let server = Server::start();
    let body = format!("\u{feff}{VALID}");
    let reply = server.post_form("/worker/log/tx-1", server.admin(), &body);
    assert_eq!(
        reply.message(),
        "The body starts with a UTF-8 byte order mark, which form data must not contain; save \
         the file without it, or send the parameters with curl --data-urlencode."
    );
}

#[test]
fn message_of_1025_bytes_is_400() {
    let server = Server::start();
    let reply = server.post_entry("tx-1", &format!("{VALID}&message={}", "x".repeat(1025)));
    assert_json_error(&reply, 400, "invalid_parameter");
}

#[test]
fn long_message_says_how_to_cut() {
    let server = Server::start();
    let reply = server.post_entry("tx-1", &format!("{VALID}&message={}", "x".repeat(2251)));
    let message = reply.message();
    assert!(
        message.starts_with(
            "Parameter message is 2251 bytes long; the maximum is 1024 bytes of UTF-8,"
        ),
        "{message}"
    );
    assert!(message.ends_with(CUT_MESSAGE), "{message}");
}

#[test]
fn message_length_counts_decoded_bytes() {
    let server = Server::start();
    // 513 two-byte characters are 1026 bytes of UTF-8.
    let reply = server.post_entry("tx-1", &format!("{VALID}&message={}", "%C3%A9".repeat(513)));
    assert_json_error(&reply, 400, "invalid_parameter");
}

#[test]
fn invalid_utf8_is_400() {
    let server = Server::start();
    let reply = server.post_entry("tx-1", &format!("{VALID}&message=caf%E9"));
    assert_json_error(&reply, 400, "malformed_body");
}

#[test]
fn raw_invalid_utf8_is_400() {
    let server = Server::start();
    let mut body = format!("{VALID}&message=caf").into_bytes();
    body.push(0xE9);
    let reply = server.request(
        "POST",
        "/worker/log/tx-1",
        Some(server.admin()),
        &[("Content-Type", "application/x-www-form-urlencoded")],
        Some(&body),
    );
    assert_json_error(&reply, 400, "malformed_body");
}

#[test]
fn latin1_escape_message_suggests_iconv() {
    let server = Server::start();
    let message = server
        .post_entry("tx-1", &format!("{VALID}&message=caf%E9"))
        .message();
    assert!(message.contains("iconv -f latin1 -t utf-8"), "{message}");
}

#[test]
fn latin1_escape_message_names_escapes() {
    let server = Server::start();
    let message = server
        .post_entry("tx-1", &format!("{VALID}&message=caf%E9"))
        .message();
    assert!(message.contains("percent-escapes"), "{message}");
}

#[test]
fn latin1_escape_message_does_not_suggest_encoding() {
    // The value is percent-encoded already, so encoding it again cannot help.
    let server = Server::start();
    let message = server
        .post_entry("tx-1", &format!("{VALID}&message=caf%E9"))
        .message();
    assert!(!message.contains("--data-urlencode"), "{message}");
}

#[test]
fn latin1_escape_from_curl_is_explained() {
    let server = Server::start();
    let credentials = format!("{}:{}", server.admin.0, server.admin.1);
    let body = "timestamp=1796394101&stage=WORKER_INIT&status=SUCCESS&message=caf%E9";
    let output = server.curl(
        "/worker/log/tx-1",
        &["-u", &credentials, "--data-binary", body],
    );
    let reply: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("curl prints a JSON error body");
    let message = reply["message"].as_str().unwrap_or_default();
    assert!(message.contains("iconv"), "{message}");
}

#[test]
fn latin1_escape_in_query_is_400() {
    let server = Server::start();
    let reply = server.request(
        "POST",
        &format!("/worker/log/tx-1?{VALID}&message=caf%E9"),
        Some(server.admin()),
        &[],
        None,
    );
    assert_json_error(&reply, 400, "invalid_query");
}

#[test]
fn latin1_escape_in_query_suggests_iconv() {
    let server = Server::start();
    let reply = server.request(
        "POST",
        &format!("/worker/log/tx-1?{VALID}&message=caf%E9"),
        Some(server.admin()),
        &[],
        None,
    );
    let message = reply.message();
    assert!(message.contains("iconv -f latin1 -t utf-8"), "{message}");
}

#[test]
fn raw_invalid_utf8_message_suggests_iconv() {
    let server = Server::start();
    let mut body = format!("{VALID}&message=caf").into_bytes();
    body.push(0xE9);
    let reply = server.request(
        "POST",
        "/worker/log/tx-1",
        Some(server.admin()),
        &[("Content-Type", "application/x-www-form-urlencoded")],
        Some(&body),
    );
    let message = reply.message();
    assert!(message.contains("iconv -f latin1 -t utf-8"), "{message}");
}

#[test]
fn raw_invalid_utf8_message_names_raw_bytes() {
    let server = Server::start();
    let mut body = format!("{VALID}&message=caf").into_bytes();
    body.push(0xE9);
    let reply = server.request(
        "POST",
        "/worker/log/tx-1",
        Some(server.admin()),
        &[("Content-Type", "application/x-www-form-urlencoded")],
        Some(&body),
    );
    let message = reply.message();
    assert!(
        message.contains("neither UTF-8 nor percent-encoded"),
        "{message}"
    );
}

#[test]
fn bad_percent_escape_message_suggests_encoding() {
    let server = Server::start();
    let message = server
        .post_entry("tx-1", &format!("{VALID}&message=100%"))
        .message();
    assert!(message.contains("--data-urlencode"), "{message}");
}

#[test]
fn invalid_utf8_json_is_400() {
    let server = Server::start();
    let mut body =
        format!(r#"{{"timestamp":"{T1}","stage":"WORKER_INIT","status":"SUCCESS","message":"caf"#)
            .into_bytes();
    body.extend_from_slice(b"\xE9\"}");
    let reply = server.request(
        "POST",
        "/worker/log/tx-1",
        Some(server.admin()),
        &[("Content-Type", "application/json")],
        Some(&body),
    );
    assert_json_error(&reply, 400, "malformed_body");
}

#[test]
fn bad_percent_escape_is_400() {
    let server = Server::start();
    let reply = server.post_entry("tx-1", &format!("{VALID}&message=100%"));
    assert_json_error(&reply, 400, "malformed_body");
}

#[test]
fn bad_percent_escape_in_query_is_400() {
    let server = Server::start();
    let reply = server.request(
        "POST",
        &format!("/worker/log/tx-1?{VALID}&message=%G1"),
        Some(server.admin()),
        &[],
        None,
    );
    assert_json_error(&reply, 400, "invalid_query");
}

// 401, 403.

#[test]
fn no_credentials_is_401() {
    let server = Server::start();
    let reply = server.request(
        "POST",
        "/worker/log/tx-1",
        None,
        &[],
        Some(VALID.as_bytes()),
    );
    assert_json_error(&reply, 401, "unauthorized");
}

#[test]
fn no_credentials_has_www_authenticate() {
    let server = Server::start();
    let reply = server.request(
        "POST",
        "/worker/log/tx-1",
        None,
        &[],
        Some(VALID.as_bytes()),
    );
    assert_eq!(reply.header("WWW-Authenticate"), Some(WWW_AUTHENTICATE));
}

#[test]
fn wrong_password_is_401() {
    let server = Server::start();
    let reply = server.post_form("/worker/log/tx-1", ("admin", "wrong"), VALID);
    assert_json_error(&reply, 401, "unauthorized");
}

#[test]
fn wrong_password_has_www_authenticate() {
    let server = Server::start();
    let reply = server.post_form("/worker/log/tx-1", ("admin", "wrong"), VALID);
    assert_eq!(reply.header("WWW-Authenticate"), Some(WWW_AUTHENTICATE));
}

#[test]
fn unknown_user_is_401() {
    let server = Server::start();
    let reply = server.post_form("/worker/log/tx-1", ("nobody", PASSWORD), VALID);
    assert_json_error(&reply, 401, "unauthorized");
}

#[test]
fn bearer_scheme_is_401() {
    let server = Server::start();
    let reply = server.request(
        "POST",
        "/worker/log/tx-1",
        None,
        &[("Authorization", "Bearer abc")],
        Some(VALID.as_bytes()),
    );
    assert_json_error(&reply, 401, "unauthorized");
}

#[test]
fn bad_base64_is_401() {
    let server = Server::start();
    let reply = server.request(
        "POST",
        "/worker/log/tx-1",
        None,
        &[("Authorization", "Basic !!!not-base64")],
        Some(VALID.as_bytes()),
    );
    assert_json_error(&reply, 401, "unauthorized");
}

#[test]
fn credentials_without_colon_are_401() {
    let server = Server::start();
    let reply = server.request(
        "POST",
        "/worker/log/tx-1",
        None,
        &[("Authorization", &common::basic_auth_bytes(b"admin"))],
        Some(VALID.as_bytes()),
    );
    assert_json_error(&reply, 401, "unauthorized");
}

#[test]
fn lowercase_basic_scheme_is_accepted() {
    let server = Server::start();
    let (user, password) = server.admin();
    let header = common::basic_auth(user, password).replacen("Basic", "basic", 1);
    let reply = server.request(
        "POST",
        "/worker/log/tx-1",
        None,
        &[
            ("Authorization", &header),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        Some(VALID.as_bytes()),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[test]
fn worker_role_may_write() {
    let server = Server::start();
    server.add_user("worker1", "worker");
    let reply = server.post_form("/worker/log/tx-1", ("worker1", PASSWORD), VALID);
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[test]
fn reader_role_is_403() {
    let server = Server::start();
    server.add_user("reader1", "reader");
    let reply = server.post_form("/worker/log/tx-1", ("reader1", PASSWORD), VALID);
    assert_json_error(&reply, 403, "forbidden");
}

#[test]
fn reader_403_says_what_to_do() {
    let server = Server::start();
    server.add_user("ops", "reader");
    let reply = server.post_form("/worker/log/tx-1", ("ops", PASSWORD), VALID);
    assert_eq!(
        reply.message(),
        "User ops has the role reader; this call needs the role worker or admin. Send the \
         report with the credentials of a worker user, or have an administrator run translog \
         user set-role ops worker."
    );
}

#[test]
fn disabled_user_is_403() {
    let server = Server::start();
    server.add_user("worker1", "worker");
    let output = server.cli(&["user", "disable", "worker1"], None);
    common::assert_success(&output, "user disable");
    let reply = server.post_form("/worker/log/tx-1", ("worker1", PASSWORD), VALID);
    assert_json_error(&reply, 403, "forbidden");
}

#[test]
fn forbidden_has_no_www_authenticate() {
    let server = Server::start();
    server.add_user("reader1", "reader");
    let reply = server.post_form("/worker/log/tx-1", ("reader1", PASSWORD), VALID);
    assert_eq!(reply.header("WWW-Authenticate"), None);
}

// 404, 405.

#[test]
fn empty_id_is_404() {
    let server = Server::start();
    let reply = server.post_entry("", VALID);
    assert_json_error(&reply, 404, "not_found");
}

#[test]
fn extra_segment_is_404() {
    let server = Server::start();
    let reply = server.post_entry("a/b", VALID);
    assert_json_error(&reply, 404, "not_found");
}

#[test]
fn extra_segment_names_slash_in_id() {
    let server = Server::start();
    let reply = server.post_entry("db1/2026-12-04", VALID);
    assert!(
        reply
            .message()
            .contains("a transaction id cannot contain '/'"),
        "{}",
        reply.body
    );
}

#[test]
fn repeated_base_path_is_404() {
    let server = Server::start();
    let reply = server.post_entry("worker/log/db1-2026-12-04", VALID);
    assert_json_error(&reply, 404, "not_found");
}

#[test]
fn repeated_base_path_names_path_meant() {
    let server = Server::start();
    let reply = server.post_entry("worker/log/db1-2026-12-04", VALID);
    assert!(
        reply
            .message()
            .contains("send the request to /worker/log/db1-2026-12-04."),
        "{}",
        reply.body
    );
}

#[test]
fn repeated_list_path_names_list() {
    let server = Server::start();
    let reply = server.get_as_reader("/worker/log/worker/log");
    assert!(
        reply.message().contains("send the request to /worker/log."),
        "{}",
        reply.body
    );
}

#[test]
fn repeated_list_path_of_post_gets_general_404() {
    let server = Server::start();
    let reply = server.post_form("/worker/log/worker/log", server.admin(), VALID);
    assert!(
        !reply.message().contains("send the request to"),
        "{}",
        reply.body
    );
}

/// Posts an entry with curl to `path`, such as `//worker/log/tx-1`, the
/// path that a base URL ending with `/` gives, and returns curl's standard
/// output.
fn post_with_double_slash(server: &Server, path: &str) -> String {
    let (user, password) = server.admin();
    let output = server.curl(
        path,
        &["-u", &format!("{user}:{password}"), "--data", VALID],
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn double_slash_names_path_meant() {
    let server = Server::start();
    let body = post_with_double_slash(&server, "//worker/log/tx-1");
    assert!(
        body.contains("starts with //, as a client whose base URL ends with / sends"),
        "{body}"
    );
}

#[test]
fn inner_double_slash_names_path_meant() {
    let server = Server::start();
    let body = post_with_double_slash(&server, "/worker/log//tx-1");
    assert!(
        body.contains(
            "because it contains //, which appears where a part of a URL that ends with / is \
             joined to one that starts with /; send the request to /worker/log/tx-1."
        ),
        "{body}"
    );
}

/// Posts an entry with `curl --path-as-is` to `path`, which keeps its `.`
/// and `..` segments, and returns curl's standard output.
fn post_path_as_is(server: &Server, path: &str) -> String {
    let (user, password) = server.admin();
    let output = server.curl(
        path,
        &[
            "--path-as-is",
            "-u",
            &format!("{user}:{password}"),
            "--data",
            VALID,
        ],
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn dot_dot_segment_is_404() {
    let server = Server::start();
    let body = post_path_as_is(&server, "/worker/log/../log/tx-dd");
    assert!(body.starts_with("{\"error\":\"not_found\""), "{body}");
}

#[test]
fn dot_dot_segment_is_named() {
    let server = Server::start();
    let body = post_path_as_is(&server, "/worker/log/../log/tx-dd");
    assert!(
        body.contains("because it contains the segment .., which the server does not resolve"),
        "{body}"
    );
}

#[test]
fn dot_dot_segment_names_resolved_path() {
    let server = Server::start();
    let body = post_path_as_is(&server, "/worker/log/../log/tx-dd");
    assert!(
        body.contains("send the request to /worker/log/tx-dd,"),
        "{body}"
    );
}

#[test]
fn dot_dot_segment_names_encoding() {
    let server = Server::start();
    let body = post_path_as_is(&server, "/worker/log/../log/tx-dd");
    assert!(
        body.contains("must be percent-encoded, as %2E or %2E%2E"),
        "{body}"
    );
}

#[test]
fn dot_dot_segment_has_no_slash_hint() {
    let server = Server::start();
    let body = post_path_as_is(&server, "/worker/log/../log/tx-dd");
    assert!(!body.contains("cannot contain '/'"), "{body}");
}

#[test]
fn dot_segment_without_resource_names_no_path() {
    let server = Server::start();
    let body = post_path_as_is(&server, "/worker/log/../");
    assert!(!body.contains("send the request to"), "{body}");
}

#[test]
fn dot_dot_id_is_stored() {
    let server = Server::start();
    let body = post_path_as_is(&server, "/worker/log/..");
    assert_eq!(body, "");
}

#[test]
fn double_slash_stores_nothing() {
    for path in ["//worker/log/tx-1", "/worker/log//tx-1"] {
        let server = Server::start();
        post_with_double_slash(&server, path);
        let reply = server.get("/worker/log/tx-1", Some(server.admin()));
        assert_eq!(reply.status, 404, "{path}: {}", reply.body);
    }
}

#[test]
fn twice_repeated_base_path_names_path_meant() {
    let server = Server::start();
    let reply = server.post_entry("worker/log/worker/log/tx-1", VALID);
    assert!(
        reply
            .message()
            .contains("send the request to /worker/log/tx-1."),
        "{}",
        reply.body
    );
}

#[test]
fn repeated_base_path_names_slash_in_id() {
    let server = Server::start();
    let reply = server.post_entry("worker/log/db1/2026-12-04", VALID);
    assert!(
        reply
            .message()
            .contains("a transaction id cannot contain '/'"),
        "{}",
        reply.body
    );
}

#[test]
fn trailing_slash_is_404() {
    let server = Server::start();
    let reply = server.post_entry("a/", VALID);
    assert_json_error(&reply, 404, "not_found");
}

#[test]
fn trailing_slash_names_path_without_it() {
    let server = Server::start();
    let reply = server.post_entry("tx-1/", VALID);
    assert_eq!(
        reply.message(),
        "No resource at this path, because it ends with a slash; send the request to \
         /worker/log/tx-1."
    );
}

#[test]
fn upper_case_path_names_lower_case_path() {
    let server = Server::start();
    let reply = server.post_form("/WORKER/LOG/Tx-1", server.admin(), VALID);
    assert_eq!(
        reply.message(),
        "No resource at this path, because paths are case-sensitive; send the request to \
         /worker/log/Tx-1."
    );
}

#[test]
fn upper_case_path_is_404() {
    let server = Server::start();
    let reply = server.post_form("/Worker/Log/tx-1", server.admin(), VALID);
    assert_json_error(&reply, 404, "not_found");
}

#[test]
fn upper_case_health_path_names_it() {
    let server = Server::start();
    let reply = server.get("/HEALTHZ", None);
    assert!(
        reply.message().ends_with("send the request to /healthz."),
        "{}",
        reply.body
    );
}

#[test]
fn post_to_upper_case_health_gets_generic_message() {
    let server = Server::start();
    let reply = server.post_form("/HEALTHZ", server.admin(), VALID);
    assert_eq!(
        reply.message(),
        "No resource at this path; the write API is POST /worker/log/{transaction_id}."
    );
}

#[test]
fn trailing_slash_of_read_names_path() {
    let server = Server::start();
    let reply = server.get("/worker/log/tx-1/", Some(server.admin()));
    assert!(
        reply
            .message()
            .ends_with("send the request to /worker/log/tx-1."),
        "{}",
        reply.body
    );
}

#[test]
fn post_to_double_slash_is_404() {
    let server = Server::start();
    let (user, password) = server.admin();
    let status = server.curl_status(
        "//",
        &["-u", &format!("{user}:{password}"), "--data", VALID],
    );
    assert_eq!(status, "404");
}

#[test]
fn double_slash_post_gets_generic_message() {
    let server = Server::start();
    let body = post_with_double_slash(&server, "//");
    assert!(
        body.contains("No resource at this path; the write API is POST"),
        "{body}"
    );
}

#[test]
fn empty_id_keeps_generic_message() {
    let server = Server::start();
    let reply = server.post_entry("", VALID);
    assert_eq!(
        reply.message(),
        "No resource at this path; the write API is POST /worker/log/{transaction_id}."
    );
}

#[test]
fn unknown_path_is_404() {
    let server = Server::start();
    let reply = server.post_form("/worker/logs/tx-1", server.admin(), VALID);
    assert_json_error(&reply, 404, "not_found");
}

#[test]
fn query_string_does_not_change_resource() {
    let server = Server::start();
    let reply = server.request(
        "POST",
        &format!("/worker/log/?id=tx-1&{VALID}"),
        Some(server.admin()),
        &[],
        None,
    );
    assert_json_error(&reply, 404, "not_found");
}

#[test]
fn put_is_405() {
    let server = Server::start();
    let reply = server.request(
        "PUT",
        "/worker/log/tx-1",
        Some(server.admin()),
        &[],
        Some(VALID.as_bytes()),
    );
    assert_json_error(&reply, 405, "method_not_allowed");
}

#[test]
fn put_has_allow_header() {
    let server = Server::start();
    let reply = server.request(
        "PUT",
        "/worker/log/tx-1",
        Some(server.admin()),
        &[],
        Some(VALID.as_bytes()),
    );
    assert_eq!(reply.header("Allow"), Some("GET, HEAD, POST"));
}

/// Sends `DELETE /worker/log/tx-1` as the administrator.
fn delete_log(server: &Server) -> Reply {
    server.request(
        "DELETE",
        "/worker/log/tx-1",
        Some(server.admin()),
        &[],
        None,
    )
}

#[test]
fn delete_is_405() {
    let server = Server::start();
    let reply = delete_log(&server);
    assert_json_error(&reply, 405, "method_not_allowed");
}

#[test]
fn delete_message_names_method() {
    let server = Server::start();
    let reply = delete_log(&server);
    assert_eq!(
        reply.message(),
        "Method DELETE is not allowed here; use GET, HEAD, POST."
    );
}

#[test]
fn lowercase_post_names_post() {
    let server = Server::start();
    let (user, password) = server.admin();
    let output = server.curl(
        "/worker/log/tx-1",
        &[
            "-X",
            "post",
            "-u",
            &format!("{user}:{password}"),
            "--data",
            VALID,
        ],
    );
    let reply: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("a JSON error body");
    assert_eq!(
        reply["message"],
        "Method post is not allowed here; method names are case-sensitive, so send POST."
    );
}

#[test]
fn post_to_list_is_405() {
    let server = Server::start();
    let reply = server.post_form("/worker/log", server.admin(), VALID);
    assert_json_error(&reply, 405, "method_not_allowed");
}

#[test]
fn post_to_list_allows_get_and_head() {
    let server = Server::start();
    let reply = server.post_form("/worker/log", server.admin(), VALID);
    assert_eq!(reply.header("Allow"), Some("GET, HEAD"));
}

#[test]
fn post_to_list_names_append_path() {
    let server = Server::start_with_users(&[]);
    let message = server
        .post_form("/worker/log", common::WORKER, VALID)
        .message();
    assert!(
        message.starts_with("Appending an entry is POST /worker/log/{transaction_id},"),
        "{message}"
    );
    assert!(!message.contains("use GET, HEAD"), "{message}");
}

#[test]
fn put_to_list_has_generic_message() {
    let server = Server::start();
    let reply = server.request("PUT", "/worker/log", Some(server.admin()), &[], None);
    assert_eq!(
        reply.message(),
        "Method PUT is not allowed here; use GET, HEAD."
    );
}

// 413.

#[test]
fn declared_large_body_is_413() {
    let server = Server::start();
    let (user, password) = server.admin();
    let head = format!(
        "POST /worker/log/tx-1 HTTP/1.1\r\nHost: test\r\nAuthorization: {}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\n",
        common::basic_auth(user, password)
    );
    // Only the head is sent: a server that waited for the body would not reply.
    let text = server.raw(head.as_bytes(), Duration::from_secs(5));
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
}

/// Sends the head of a POST that declares a body of 100000 bytes, and
/// returns the response.
fn declare_large_body(server: &Server) -> String {
    let (user, password) = server.admin();
    let head = format!(
        "POST /worker/log/tx-1 HTTP/1.1\r\nHost: test\r\nAuthorization: {}\r\n\
         Content-Length: 100000\r\n\r\n",
        common::basic_auth(user, password)
    );
    server.raw(head.as_bytes(), Duration::from_secs(5))
}

#[test]
fn large_body_413_is_json() {
    let server = Server::start();
    let text = declare_large_body(&server);
    assert!(
        text.to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{text}"
    );
    assert!(text.contains("\"payload_too_large\""), "{text}");
}

#[test]
fn large_body_413_names_message_limit() {
    let server = Server::start();
    let text = declare_large_body(&server);
    let (_, body) = text.split_once("\r\n\r\n").expect("a response head");
    let error: serde_json::Value = serde_json::from_str(body).expect("a JSON body");
    let message = error["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with(
            "The request body is larger than 65536 bytes, and an entry's message may have \
             at most 1024 bytes of UTF-8,"
        ),
        "{message}"
    );
    assert!(message.ends_with(CUT_MESSAGE), "{message}");
}

#[test]
fn body_of_64_kib_is_not_413() {
    let server = Server::start();
    let padding = "x".repeat(64 * 1024 - VALID.len() - "&message=".len());
    let reply = server.post_entry("tx-1", &format!("{VALID}&message={padding}"));
    // The message is too long, but the body is within the limit.
    assert_json_error(&reply, 400, "invalid_parameter");
}

#[test]
fn chunked_body_over_limit_is_413() {
    let server = Server::start();
    let (user, password) = server.admin();
    let mut request = format!(
        "POST /worker/log/tx-1 HTTP/1.1\r\nHost: test\r\nAuthorization: {}\r\n\
         Transfer-Encoding: chunked\r\n\r\n",
        common::basic_auth(user, password)
    )
    .into_bytes();
    let chunk = vec![b'x'; 16 * 1024];
    for _ in 0..5 {
        request.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        request.extend_from_slice(&chunk);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    let text = server.raw(&request, Duration::from_secs(5));
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
}

// 429.

fn fail_logins(server: &Server, count: usize) {
    for _ in 0..count {
        let reply = server.post_form("/worker/log/tx-1", ("admin", "wrong"), VALID);
        assert_eq!(reply.status, 401, "{}", reply.body);
    }
}

#[test]
fn ten_failed_logins_give_429() {
    let server = Server::start();
    fail_logins(&server, 10);
    let reply = server.post_form("/worker/log/tx-1", ("admin", "wrong"), VALID);
    assert_json_error(&reply, 429, "too_many_failed_logins");
}

#[test]
fn parallel_guesses_stop_at_ten() {
    let server = Server::start();
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..40)
            .map(|number| {
                let server = &server;
                scope.spawn(move || {
                    let password = format!("guess-{number}");
                    server
                        .post_form("/worker/log/tx-1", ("admin", &password), VALID)
                        .status
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().expect("request thread"))
            .collect()
    });
    let rejected = statuses.iter().filter(|status| **status == 401).count();
    let throttled = statuses.iter().filter(|status| **status == 429).count();
    assert_eq!(rejected, 10, "{statuses:?}");
    assert_eq!(throttled, 30, "{statuses:?}");
}

#[test]
fn throttled_reply_has_retry_after() {
    let server = Server::start();
    fail_logins(&server, 10);
    let reply = server.post_form("/worker/log/tx-1", ("admin", "wrong"), VALID);
    let seconds: u64 = reply
        .header("Retry-After")
        .expect("Retry-After header")
        .parse()
        .expect("Retry-After is whole seconds");
    assert!((1..=60).contains(&seconds), "{seconds}");
}

#[test]
fn throttle_applies_to_valid_credentials() {
    let server = Server::start();
    fail_logins(&server, 10);
    let reply = server.post_entry("tx-1", VALID);
    assert_eq!(reply.status, 429, "{}", reply.body);
}

#[test]
fn throttle_message_says_any_user() {
    let server = Server::start();
    fail_logins(&server, 10);
    let reply = server.post_entry("tx-1", VALID);
    assert!(reply.message().contains("by any user"), "{}", reply.body);
}

#[test]
fn nine_failed_logins_do_not_throttle() {
    let server = Server::start();
    fail_logins(&server, 9);
    let reply = server.post_entry("tx-1", VALID);
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[test]
fn missing_credentials_do_not_throttle() {
    let server = Server::start();
    for _ in 0..12 {
        server.request(
            "POST",
            "/worker/log/tx-1",
            None,
            &[],
            Some(VALID.as_bytes()),
        );
    }
    let reply = server.post_entry("tx-1", VALID);
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[test]
fn throttle_is_per_client_address() {
    let server = Server::start();
    fail_logins(&server, 10);
    let (user, password) = server.admin();
    let status = server.curl_status(
        "/worker/log/tx-1",
        &[
            "--interface",
            "127.0.0.2",
            "-u",
            &format!("{user}:{password}"),
            "--data",
            VALID,
        ],
    );
    assert_eq!(status, "200");
}

/// Runs `translog serve` in a network namespace of its own, whose loopback
/// device has two addresses in 2001:db8::/64 and one in 2001:db8:0:1::/64.
/// Ten failed logins come from the first, then one request with the
/// administrator's password from each of the others. Prints `same-64 STATUS`
/// and `other-64 STATUS`. A new namespace has no other listener, so the
/// fixed port is free.
const IPV6_THROTTLE_SCRIPT: &str = r#"
set -eu
bin=$1 db=$2 body=$3
ip link set lo up
ip -6 addr add 2001:db8::1/64 dev lo nodad
ip -6 addr add 2001:db8::2/64 dev lo nodad
ip -6 addr add 2001:db8:0:1::1/64 dev lo nodad
"$bin" --db "$db" serve --listen '[2001:db8::1]:8080' 2>"$db.log" &
server=$!
trap 'kill $server; wait $server || true' EXIT
url='http://[2001:db8::1]:8080'
tries=0
until curl -s --noproxy '*' -o /dev/null "$url/healthz"; do
    tries=$((tries + 1))
    if [ $tries -ge 100 ]; then
        cat "$db.log" >&2
        exit 1
    fi
    sleep 0.1
done
post() {
    curl -s --noproxy '*' --max-time 10 -o /dev/null -w '%{http_code}'         --interface "$1" -u "$2" -d "$body" "$url/worker/log/tx-1"
}
for _ in 1 2 3 4 5 6 7 8 9 10; do
    post 2001:db8::1 admin:wrong >/dev/null
done
credentials=$(cat "$db.credentials")
echo "same-64 $(post 2001:db8::2 "$credentials")"
echo "other-64 $(post 2001:db8:0:1::1 "$credentials")"
"#;

/// Runs [`IPV6_THROTTLE_SCRIPT`] and returns what it prints, or `None` where
/// no network namespace can be made.
fn ipv6_throttle_statuses() -> Option<String> {
    let namespace = ["--user", "--map-root-user", "--net"];
    let namespace_works = Command::new("unshare")
        .args(namespace)
        .args(["ip", "link", "set", "lo", "up"])
        .output()
        .is_ok_and(|output| output.status.success());
    if !namespace_works {
        common::skip("unshare and ip cannot make a network namespace here");
        return None;
    }
    let dir = tempfile::tempdir().expect("temporary directory");
    let db = dir.path().join("translog.db");
    let mut command = Command::new("unshare");
    command
        .args(namespace)
        .args(["sh", "-c", IPV6_THROTTLE_SCRIPT, "sh", common::BIN])
        .arg(&db)
        .arg(VALID);
    let output = common::run_command(command, None);
    let printed = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{printed}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    Some(printed)
}

#[test]
fn throttle_counts_ipv6_per_64() {
    let Some(printed) = ipv6_throttle_statuses() else {
        return;
    };
    assert!(printed.contains("same-64 429\n"), "{printed}");
}

#[test]
fn throttle_spares_other_ipv6_64() {
    let Some(printed) = ipv6_throttle_statuses() else {
        return;
    };
    assert!(printed.contains("other-64 200\n"), "{printed}");
}

// 503.

/// Posts [`VALID`] to `tx-1` while another connection holds the database's
/// write lock, and releases the lock after the reply.
fn post_while_locked(server: &Server) -> Reply {
    let blocker = rusqlite::Connection::open(&server.db).expect("open the database");
    blocker
        .execute_batch("BEGIN IMMEDIATE")
        .expect("take the write lock");
    let reply = server.post_entry("tx-1", VALID);
    blocker.execute_batch("ROLLBACK").expect("release the lock");
    reply
}

#[test]
fn busy_database_is_503() {
    let server = Server::start();
    let reply = post_while_locked(&server);
    assert_json_error(&reply, 503, "unavailable");
}

#[test]
fn busy_database_has_retry_after() {
    let server = Server::start();
    let reply = post_while_locked(&server);
    assert!(reply.header("Retry-After").is_some(), "{:?}", reply.headers);
}

#[test]
fn busy_database_message_names_lock() {
    let server = Server::start();
    let reply = post_while_locked(&server);
    assert!(reply.message().contains("held a lock"), "{}", reply.body);
}

#[test]
fn busy_503_is_logged_at_warn() {
    let server = Server::start();
    post_while_locked(&server);
    // The storage thread logs the failed batch, and the HTTP thread each
    // request of it, with the message its client got.
    let logged = server.wait_for_log(
        " not stored: Another process held a lock",
        Duration::from_secs(5),
    );
    let log = server.log();
    let line = log
        .lines()
        .find(|line| line.contains(" not stored: Another process held a lock"));
    assert!(logged, "{log}");
    assert!(
        line.is_some_and(|line| line.contains("WARN  translog::request] request #1 from")),
        "{log}"
    );
}

#[test]
fn held_back_failure_line_says_when() {
    let server = Server::start();
    // The second failure comes within 10 s of the first line, so its line
    // is held back, and written when a commit works again.
    post_while_locked(&server);
    post_while_locked(&server);
    assert!(
        server.wait_for_log(" s ago: database is busy", Duration::from_secs(5)),
        "{}",
        server.log()
    );
}

#[test]
fn busy_503_stores_nothing() {
    let server = Server::start();
    post_while_locked(&server);
    let reply = server.get("/worker/log/tx-1", Some(server.admin()));
    assert_eq!(reply.status, 404, "{}", reply.body);
}

#[test]
fn busy_batch_is_all_503() {
    let server = Server::start();
    // Warm the credential cache, so that the requests below reach storage together.
    server.post_entry("tx-warm", VALID);
    let blocker = rusqlite::Connection::open(&server.db).expect("open the database");
    blocker
        .execute_batch("BEGIN IMMEDIATE")
        .expect("take the write lock");
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|number| {
                let server = &server;
                scope.spawn(move || server.post_entry(&format!("tx-{number}"), VALID).status)
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().expect("request thread"))
            .collect()
    });
    blocker.execute_batch("ROLLBACK").expect("release the lock");
    assert_eq!(statuses, [503; 8]);
    for number in 0..8 {
        let reply = server.get(&format!("/worker/log/tx-{number}"), Some(server.admin()));
        assert_eq!(reply.status, 404, "tx-{number}: {}", reply.body);
    }
}

#[test]
fn storing_resumes_after_busy() {
    let server = Server::start();
    post_while_locked(&server);
    let reply = server.post_entry("tx-1", VALID);
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(server.entries("tx-1").len(), 1);
}

/// Starts a server whose files may not grow past `kib` KiB (`ulimit -f`),
/// with SIGXFSZ ignored, so that a write past the limit fails with EFBIG
/// instead of killing the process: a stand-in for a full disk.
fn start_with_file_limit(kib: u32) -> Server {
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let db = dir.path().join("translog.db");
    let mut command = Command::new("bash");
    command
        .arg("-c")
        .arg(format!("trap '' XFSZ; ulimit -f {kib}; exec \"$@\""))
        .arg("bash")
        .arg(common::BIN)
        .arg("--db")
        .arg(&db)
        .args(["serve", "--listen", "127.0.0.1:0"]);
    common::clean_env(&mut command);
    Server::launch(dir, db, command)
}

/// Returns the body of entry `number` of [`fill_disk`], with a 1000-byte message.
fn padded_body(number: usize) -> String {
    format!(
        "{}&message={}",
        form(
            &format!("2026-12-04T13:{:02}:{:02}Z", number / 60, number % 60),
            "WORKER_LOAD",
            "SUCCESS"
        ),
        "x".repeat(1000)
    )
}

/// Posts entries with 1000-byte messages to `tx-full` until one is not
/// stored; returns that reply and the number of entries stored before it.
fn fill_disk(server: &Server) -> (Reply, usize) {
    for number in 0..400 {
        let reply = server.post_entry("tx-full", &padded_body(number));
        if reply.status != 200 {
            return (reply, number);
        }
    }
    panic!("400 entries were stored despite the file size limit");
}

#[test]
fn full_disk_is_503() {
    let server = start_with_file_limit(200);
    let (reply, _) = fill_disk(&server);
    assert_json_error(&reply, 503, "unavailable");
}

#[test]
fn full_disk_has_retry_after() {
    let server = start_with_file_limit(200);
    let (reply, _) = fill_disk(&server);
    assert!(reply.header("Retry-After").is_some(), "{:?}", reply.headers);
}

#[test]
fn failed_write_message_names_io_error() {
    let server = start_with_file_limit(200);
    let (reply, _) = fill_disk(&server);
    assert!(reply.message().contains("I/O error"), "{}", reply.body);
}

#[test]
fn full_disk_keeps_stored_entries() {
    let server = start_with_file_limit(200);
    let (_, stored) = fill_disk(&server);
    assert_eq!(server.entries("tx-full").len(), stored);
}

#[test]
fn full_disk_keeps_server_running() {
    let server = start_with_file_limit(200);
    let (_, stored) = fill_disk(&server);
    // The same entry again needs as much room as before. A smaller one may
    // still fit in what is left below the limit.
    let again = server.post_entry("tx-full", &padded_body(stored));
    assert_eq!(again.status, 503, "{}", again.body);
    let read = server.get("/worker/log/tx-full", Some(server.admin()));
    assert_eq!(read.status, 200, "{}", read.body);
}

#[test]
fn full_disk_fails_healthz() {
    let server = start_with_file_limit(200);
    fill_disk(&server);
    let reply = server.get("/healthz", None);
    assert_eq!(reply.status, 503, "{}", reply.body);
}

#[test]
fn full_disk_error_is_logged() {
    let server = start_with_file_limit(200);
    fill_disk(&server);
    assert!(
        server.wait_for_log("not stored", Duration::from_secs(5)),
        "{}",
        server.log()
    );
}

// The order of the checks.

#[test]
fn unknown_path_precedes_credentials() {
    let server = Server::start();
    let reply = server.post_form("/nowhere", ("admin", "wrong"), VALID);
    assert_eq!(reply.status, 404, "{}", reply.body);
}

#[test]
fn method_precedes_credentials() {
    let server = Server::start();
    let reply = server.request(
        "PATCH",
        "/worker/log/tx-1",
        Some(("admin", "wrong")),
        &[],
        Some(b"stage=NOPE"),
    );
    assert_eq!(reply.status, 405, "{}", reply.body);
}

#[test]
fn credentials_precede_parameters() {
    let server = Server::start();
    let reply = server.post_form("/worker/log/tx-1", ("admin", "wrong"), "stage=NOPE");
    assert_eq!(reply.status, 401, "{}", reply.body);
}

#[test]
fn credentials_precede_transaction_id() {
    let server = Server::start();
    let reply = server.post_form("/worker/log/bad%20id", ("admin", "wrong"), VALID);
    assert_eq!(reply.status, 401, "{}", reply.body);
}

#[test]
fn permission_precedes_parameters() {
    let server = Server::start();
    server.add_user("reader1", "reader");
    let reply = server.post_form("/worker/log/tx-1", ("reader1", PASSWORD), "stage=NOPE");
    assert_eq!(reply.status, 403, "{}", reply.body);
}

#[test]
fn credentials_precede_body_size() {
    let server = Server::start();
    let head = format!(
        "POST /worker/log/tx-1 HTTP/1.1\r\nHost: test\r\nAuthorization: {}\r\n\
         Content-Length: 100000\r\n\r\n",
        common::basic_auth("admin", "wrong")
    );
    let text = server.raw(head.as_bytes(), Duration::from_secs(5));
    assert!(text.starts_with("HTTP/1.1 401"), "{text}");
}

#[test]
fn body_size_precedes_parameters() {
    let server = Server::start();
    let (user, password) = server.admin();
    let head = format!(
        "POST /worker/log/bad%20id?stage=NOPE&mesage=x HTTP/1.1\r\nHost: test\r\n\
         Authorization: {}\r\nContent-Type: text/plain\r\nContent-Length: 100000\r\n\r\n",
        common::basic_auth(user, password)
    );
    let text = server.raw(head.as_bytes(), Duration::from_secs(5));
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
}

#[test]
fn parameters_precede_conflict() {
    let server = Server::start();
    server.post_entry("tx-1", &format!("{VALID}&message=first"));
    let reply = server.post_entry("tx-1", &format!("{VALID}&message=second&extra=1"));
    assert_eq!(reply.status, 400, "{}", reply.body);
}

/// Sends a form POST of a valid entry to `/worker/log/tx-host` as the
/// administrator, with `version` (such as `HTTP/1.1`) and the extra header
/// lines `headers`, and returns the response as received.
fn post_with_head(server: &Server, version: &str, headers: &str) -> String {
    let (user, password) = server.admin();
    let request = format!(
        "POST /worker/log/tx-host {version}\r\n{headers}Authorization: {}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{VALID}",
        common::basic_auth(user, password),
        VALID.len()
    );
    server.raw(request.as_bytes(), Duration::from_secs(5))
}

#[test]
fn missing_host_is_400() {
    let server = Server::start();
    let text = post_with_head(&server, "HTTP/1.1", "");
    assert!(text.starts_with("HTTP/1.1 400"), "{text}");
    assert!(text.contains(r#""error":"invalid_header""#), "{text}");
    assert!(text.contains("The request has no Host header"), "{text}");
}

#[test]
fn missing_host_stores_nothing() {
    let server = Server::start();
    post_with_head(&server, "HTTP/1.1", "");
    assert_eq!(
        server
            .get("/worker/log/tx-host", Some(server.admin()))
            .status,
        404
    );
}

#[test]
fn two_hosts_are_400() {
    let server = Server::start();
    let text = post_with_head(&server, "HTTP/1.1", "Host: a\r\nHost: b\r\n");
    assert!(text.starts_with("HTTP/1.1 400"), "{text}");
    assert!(text.contains("more than one Host header"), "{text}");
}

#[test]
fn two_equal_hosts_are_400() {
    let server = Server::start();
    let text = post_with_head(&server, "HTTP/1.1", "Host: a\r\nHost: a\r\n");
    assert!(text.starts_with("HTTP/1.1 400"), "{text}");
}

#[test]
fn http_10_without_host_is_stored() {
    let server = Server::start();
    let text = post_with_head(&server, "HTTP/1.0", "");
    assert!(text.starts_with("HTTP/1.0 200"), "{text}");
}

#[test]
fn missing_host_precedes_path() {
    let server = Server::start();
    let text = server.raw(
        b"GET /nowhere HTTP/1.1\r\nConnection: close\r\n\r\n",
        Duration::from_secs(5),
    );
    assert!(text.starts_with("HTTP/1.1 400"), "{text}");
}

#[test]
fn request_is_logged() {
    let server = Server::start();
    server.add_user("worker1", "worker");
    server.post_form("/worker/log/tx-7", ("worker1", PASSWORD), VALID);
    assert!(
        server.wait_for_log("POST \"/worker/log/tx-7\" 200", Duration::from_secs(5)),
        "{}",
        server.log()
    );
    assert!(
        server.log().contains(r#"user=worker1 tx="tx-7""#),
        "{}",
        server.log()
    );
}

#[test]
fn rejected_request_is_logged() {
    let server = Server::start();
    server.post_entry("tx-8", "stage=NOPE");
    assert!(
        server.wait_for_log("POST \"/worker/log/tx-8\" 400", Duration::from_secs(5)),
        "{}",
        server.log()
    );
}

// Every error body.

fn error_replies(server: &Server) -> Vec<(&'static str, Reply)> {
    server.add_user("reader1", "reader");
    server.post_entry("tx-1", &format!("{VALID}&message=first"));
    vec![
        ("400", server.post_entry("tx-1", "stage=NOPE")),
        (
            "401",
            server.post_form("/worker/log/tx-1", ("admin", "wrong"), VALID),
        ),
        (
            "403",
            server.post_form("/worker/log/tx-1", ("reader1", PASSWORD), VALID),
        ),
        ("404", server.post_entry("a/b", VALID)),
        (
            "405",
            server.request("PUT", "/worker/log/tx-1", None, &[], Some(b"")),
        ),
        (
            "409",
            server.post_entry("tx-1", &format!("{VALID}&message=second")),
        ),
    ]
}

#[test]
fn error_bodies_are_json() {
    let server = Server::start();
    for (label, reply) in error_replies(&server) {
        assert_eq!(
            reply.header("Content-Type"),
            Some("application/json"),
            "{label}"
        );
        let body: serde_json::Value = serde_json::from_str(&reply.body)
            .unwrap_or_else(|error| panic!("{label}: {error}: {}", reply.body));
        assert!(body["error"].is_string(), "{label}: {}", reply.body);
        assert!(body["message"].is_string(), "{label}: {}", reply.body);
    }
}

#[test]
fn error_bodies_have_two_members() {
    let server = Server::start();
    for (label, reply) in error_replies(&server) {
        let body = reply.json();
        let members = body.as_object().map(|object| object.len());
        assert_eq!(members, Some(2), "{label}: {}", reply.body);
    }
}

#[test]
fn error_statuses_match_labels() {
    let server = Server::start();
    for (label, reply) in error_replies(&server) {
        assert_eq!(reply.status.to_string(), label, "{}", reply.body);
    }
}

#[test]
fn messages_are_sentences() {
    let server = Server::start();
    for (label, reply) in error_replies(&server) {
        let message = reply.message();
        assert!(message.ends_with('.'), "{label}: {message}");
    }
}

// Inputs found by trying to break the service as a new user.

/// Posts an entry to the log `%2e%2e` with curl, which sends a percent-encoded
/// dot segment as it is, and returns the status.
fn post_to_encoded_dot_dot(server: &Server) -> String {
    let (user, password) = server.admin();
    server.curl_status(
        "/worker/log/%2e%2e",
        &["-u", &format!("{user}:{password}"), "--data", VALID],
    )
}

#[test]
fn encoded_dot_dot_id_is_stored() {
    let server = Server::start();
    assert_eq!(post_to_encoded_dot_dot(&server), "200");
}

#[test]
fn encoded_dot_dot_id_is_read_back() {
    let server = Server::start();
    post_to_encoded_dot_dot(&server);
    let (user, password) = server.admin();
    let output = server.curl("/worker/log/%2E%2E", &["-u", &format!("{user}:{password}")]);
    let body: serde_json::Value = serde_json::from_slice(&output.stdout).expect("a JSON log");
    assert_eq!(body["transaction_id"], "..", "{body}");
}

#[test]
fn gzip_content_encoding_is_rejected() {
    let server = Server::start();
    let reply = server.request(
        "POST",
        "/worker/log/tx-1",
        Some(server.admin()),
        &[("Content-Encoding", "gzip")],
        Some(form("2026-12-04", "WORKER_INIT", "SUCCESS").as_bytes()),
    );
    assert_json_error(&reply, 400, "unsupported_content_type");
}

/// Posts an entry to `tx-1` with `Content-Encoding: identity` and then
/// `Content-Encoding: gzip`, and returns curl's status code.
fn post_with_two_content_encodings(server: &Server) -> String {
    let (user, password) = server.admin();
    server.curl_status(
        "/worker/log/tx-1",
        &[
            "-u",
            &format!("{user}:{password}"),
            "-H",
            "Content-Encoding: identity",
            "-H",
            "Content-Encoding: gzip",
            "-d",
            "timestamp=2026-12-04T14:57:54Z&stage=WORKER_INIT&status=SUCCESS",
        ],
    )
}

#[test]
fn second_content_encoding_is_checked() {
    let server = Server::start();
    assert_eq!(post_with_two_content_encodings(&server), "400");
}

#[test]
fn second_content_encoding_stores_nothing() {
    let server = Server::start();
    post_with_two_content_encodings(&server);
    let reply = server.get("/worker/log/tx-1", Some(server.admin()));
    assert_eq!(reply.status, 404, "{}", reply.body);
}

#[test]
fn identity_list_content_encoding_is_accepted() {
    let server = Server::start();
    let reply = server.request(
        "POST",
        "/worker/log/tx-1",
        Some(server.admin()),
        &[("Content-Encoding", "identity, identity")],
        Some(form("2026-12-04", "WORKER_INIT", "SUCCESS").as_bytes()),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[test]
fn identity_content_encoding_is_accepted() {
    let server = Server::start();
    let reply = server.request(
        "POST",
        "/worker/log/tx-1",
        Some(server.admin()),
        &[("Content-Encoding", "identity")],
        Some(form("2026-12-04", "WORKER_INIT", "SUCCESS").as_bytes()),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[test]
fn rejection_reason_is_logged() {
    let server = Server::start();
    server.post_entry(
        "tx-1",
        "timestamp=2026-12-04&stage=WORKER_INIT&status=SUCCESS&mesage=x",
    );
    assert!(
        server.wait_for_log("Unknown parameter \"mesage\"", Duration::from_secs(5)),
        "{}",
        server.log()
    );
}

// Shell mistakes in a Worker's curl command.

/// Runs curl with the administrator's credentials and `args` against the
/// log `tx-1`, and returns the message of the JSON error that it prints.
fn curl_error_message(server: &Server, args: &[&str]) -> String {
    let (user, password) = server.admin();
    let credentials = format!("{user}:{password}");
    let mut all = vec!["-u", credentials.as_str()];
    all.extend(args);
    let output = server.curl("/worker/log/tx-1", &all);
    let body: serde_json::Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|error| panic!("{error}: {}", String::from_utf8_lossy(&output.stdout)));
    body["message"].as_str().unwrap_or_default().to_string()
}

#[test]
fn single_quoted_command_names_quotes() {
    let server = Server::start();
    // What curl --data-urlencode 'timestamp=$(date -Iseconds)' sends.
    let message = curl_error_message(
        &server,
        &[
            "--data-urlencode",
            "timestamp=$(date -Iseconds)",
            "--data-urlencode",
            "stage=WORKER_INIT",
            "--data-urlencode",
            "status=SUCCESS",
        ],
    );
    assert_eq!(
        message,
        "Invalid timestamp \"$(date -Iseconds)\": the shell did not run the command \
         substitution $(...), because it was inside single quotes; put it in double quotes, as in --data-urlencode \"timestamp=$(date -Iseconds)\"."
    );
}

#[test]
fn single_quoted_variable_names_it() {
    let server = Server::start();
    let reply = server.post_entry("tx-1", "timestamp=$TS&stage=WORKER_INIT&status=SUCCESS");
    assert!(
        reply
            .message()
            .starts_with("Invalid timestamp \"$TS\": the shell did not expand the variable $TS,"),
        "{}",
        reply.body
    );
}

#[test]
fn unexpanded_timestamp_is_invalid_parameter() {
    let server = Server::start();
    let reply = server.post_entry("tx-1", "timestamp=$TS&stage=WORKER_INIT&status=SUCCESS");
    assert_json_error(&reply, 400, "invalid_parameter");
}

#[test]
fn unexpanded_stage_names_quotes() {
    let server = Server::start();
    let reply = server.post_entry(
        "tx-1",
        &format!("timestamp={T1_ENCODED}&stage=$STAGE&status=SUCCESS"),
    );
    assert!(
        reply.message().starts_with(
            "Invalid stage \"$STAGE\": the shell did not expand the variable $STAGE, \
             because it was inside single quotes"
        ),
        "{}",
        reply.body
    );
}

#[test]
fn unexpanded_status_names_quotes() {
    let server = Server::start();
    let reply = server.post_entry(
        "tx-1",
        &format!("timestamp={T1_ENCODED}&stage=WORKER_INIT&status=${{STATUS}}"),
    );
    assert!(
        reply
            .message()
            .contains("the shell did not expand the parameter ${...}"),
        "{}",
        reply.body
    );
}

/// Posts a valid form body to `path` as the administrator.
fn post_valid_to(server: &Server, path: &str) -> Reply {
    server.post_form(path, server.admin(), VALID)
}

#[test]
fn unexpanded_id_variable_names_quotes() {
    let server = Server::start();
    let reply = post_valid_to(&server, "/worker/log/$TX");
    assert_eq!(
        reply.message(),
        "Invalid transaction id \"$TX\": the shell did not expand the variable $TX, because \
         the URL was inside single quotes; put the URL in double quotes, as in curl \
         \"http://HOST:PORT/worker/log/$TX\". If a program other than a shell builds the URL, \
         check that the variable is set, because such programs may leave a variable that is \
         not set as it is."
    );
}

#[test]
fn unexpanded_id_keeps_code() {
    let server = Server::start();
    let reply = post_valid_to(&server, "/worker/log/$TX");
    assert_json_error(&reply, 400, "invalid_transaction_id");
}

#[test]
fn unexpanded_id_syntax_is_named() {
    let server = Server::start();
    let cases = [
        ("/worker/log/%24TX", "expand the variable $TX"),
        (
            "/worker/log/$(cat%20id)",
            "run the command substitution $(...)",
        ),
        (
            "/worker/log/%24%28cat%20id%29",
            "run the command substitution $(...)",
        ),
        ("/worker/log/$%7BTX%7D", "expand the parameter ${...}"),
        (
            "/worker/log/%60hostname%60",
            "run the command in backquotes",
        ),
    ];
    for (path, syntax) in cases {
        let message = post_valid_to(&server, path).message();
        assert!(
            message.contains(&format!("the shell did not {syntax}, because the URL was")),
            "{path}: {message}"
        );
    }
}

#[test]
fn unexpanded_id_before_bad_escape() {
    let server = Server::start();
    // $(date +%s) leaves a % that does not decode.
    let message = post_valid_to(&server, "/worker/log/db-$(date%20+%s)").message();
    assert!(
        message.starts_with(
            "Invalid transaction id \"db-$(date%20+%s)\": the shell did not run the command \
             substitution $(...)"
        ),
        "{message}"
    );
}

#[test]
fn unexpanded_id_with_percent_has_no_example() {
    let server = Server::start();
    let message = post_valid_to(&server, "/worker/log/db-$(date%20+%s)").message();
    assert!(!message.contains("as in curl"), "{message}");
}

#[test]
fn id_substitution_skips_unset_hint() {
    let server = Server::start();
    let message = post_valid_to(&server, "/worker/log/$(cat%20id)").message();
    assert!(!message.contains("variable is set"), "{message}");
}

#[test]
fn variable_reference_in_id_has_unset_hint() {
    let server = Server::start();
    let message = post_valid_to(&server, "/worker/log/$(TX)").message();
    assert!(
        message.contains("check that the variable is set"),
        "{message}"
    );
}

#[test]
fn single_quoted_json_names_body_quotes() {
    let server = Server::start();
    // What curl --json '{"timestamp": "$(date -Iseconds)", ...}' sends.
    let body = r#"{"timestamp": "$(date -Iseconds)", "stage": "WORKER_INIT", "status": "SUCCESS"}"#;
    let reply = server.post_json("/worker/log/tx-1", server.admin(), body);
    assert_eq!(
        reply.message(),
        "Invalid timestamp \"$(date -Iseconds)\": the shell did not run the command \
         substitution $(...), because the JSON body was inside single quotes. Put the body \
         in double quotes and escape its JSON quotes, as in -d \"{\\\"timestamp\\\": \
         \\\"$(date -Iseconds)\\\", ...}\", or build it with jq -n --arg timestamp \
         \"$(date -Iseconds)\" '{timestamp: $timestamp, ...}'."
    );
}

#[test]
fn backquotes_are_named_before_percent() {
    let server = Server::start();
    // What curl -d 'timestamp=`date +%s`&...' sends.
    let reply = server.post_entry(
        "tx-1",
        "timestamp=`date +%s`&stage=WORKER_INIT&status=SUCCESS",
    );
    assert!(
        reply.message().starts_with(
            "Invalid timestamp \"`date +%s`\": the shell did not run the command in \
             backquotes,"
        ),
        "{}",
        reply.body
    );
}

#[test]
fn percent_in_message_keeps_encoding_error() {
    let server = Server::start();
    let reply = server.post_entry("tx-1", &format!("{VALID}&message=`du` at 100%"));
    assert_json_error(&reply, 400, "malformed_body");
}

#[test]
fn dollar_in_message_is_stored() {
    let server = Server::start();
    let reply = server.post_entry("tx-1", &format!("{VALID}&message=$HOME%20is%20full"));
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[test]
fn empty_timestamp_names_variable() {
    let server = Server::start();
    // What curl --data-urlencode "timestamp=$TS" sends for an unset TS.
    let message = curl_error_message(
        &server,
        &[
            "--data-urlencode",
            "timestamp=",
            "--data-urlencode",
            "stage=WORKER_INIT",
            "--data-urlencode",
            "status=SUCCESS",
        ],
    );
    assert!(
        message.starts_with(
            "Invalid timestamp \"\": the timestamp is empty, because the variable or command \
             that supplies it gave nothing"
        ),
        "{message}"
    );
}

#[test]
fn empty_stage_names_variable() {
    let server = Server::start();
    let reply = server.post_entry(
        "tx-1",
        &format!("timestamp={T1_ENCODED}&stage=&status=SUCCESS"),
    );
    assert!(
        reply.message().starts_with(
            "Invalid stage \"\": it is empty, because the variable or command that supplies \
             it gave nothing"
        ),
        "{}",
        reply.body
    );
}

#[test]
fn status_with_carriage_return_names_crlf() {
    let server = Server::start();
    // What curl --data-urlencode $'status=SUCCESS\r' sends.
    let message = curl_error_message(
        &server,
        &[
            "--data-urlencode",
            &format!("timestamp={T1}"),
            "--data-urlencode",
            "stage=WORKER_INIT",
            "--data-urlencode",
            "status=SUCCESS\r",
        ],
    );
    assert_eq!(
        message,
        "Invalid status \"SUCCESS\\r\": it ends with a carriage return (\\r), which a file or \
         script with Windows (CRLF) line ends leaves at the end of each line, so convert the \
         file with dos2unix, or remove the character with tr -d '\\r'; use one of SUCCESS, \
         WARNING, FAIL, FATAL."
    );
}

#[test]
fn timestamp_with_carriage_return_names_crlf() {
    let server = Server::start();
    let reply = server.post_entry(
        "tx-1",
        &format!("timestamp={T1_ENCODED}%0D&stage=WORKER_INIT&status=SUCCESS"),
    );
    assert!(
        reply.message().starts_with(
            "Invalid timestamp \"2026-12-04T14:57:54+01:00\\r\": the timestamp ends with a \
             carriage return (\\r), which a file or script with Windows (CRLF) line ends leaves"
        ),
        "{}",
        reply.body
    );
}

#[test]
fn space_before_name_is_named() {
    let server = Server::start();
    // What curl --data-urlencode " timestamp=$TS" sends.
    let message = curl_error_message(
        &server,
        &[
            "--data-urlencode",
            &format!(" timestamp={T1}"),
            "--data-urlencode",
            "stage=WORKER_INIT",
            "--data-urlencode",
            "status=SUCCESS",
        ],
    );
    assert_eq!(
        message,
        "Unknown parameter \" timestamp\": remove the space before timestamp."
    );
}

#[test]
fn space_after_name_is_named() {
    let server = Server::start();
    let reply = server.post_entry(
        "tx-1",
        &format!("timestamp={T1_ENCODED}&stage%20=WORKER_INIT&status=SUCCESS"),
    );
    assert_eq!(
        reply.message(),
        "Unknown parameter \"stage \": remove the space after stage."
    );
}

#[test]
fn name_with_space_is_unknown_parameter() {
    let server = Server::start();
    let reply = server.post_entry(
        "tx-1",
        &format!("%20timestamp={T1_ENCODED}&stage=WORKER_INIT&status=SUCCESS"),
    );
    assert_json_error(&reply, 400, "unknown_parameter");
}

#[test]
fn other_name_with_space_keeps_ampersand_hint() {
    let server = Server::start();
    let reply = server.post_entry("tx-1", &format!("{VALID}&message=tables a&b locked"));
    assert!(
        reply
            .message()
            .contains("\"b locked\" may be the rest of the value of message"),
        "{}",
        reply.body
    );
}

// 500: a fault inside the server.

/// Breaks the schema under a running server, so that storing fails with an
/// error that is neither busy nor a full disk.
fn break_schema(server: &Server) {
    let connection = rusqlite::Connection::open(&server.db).expect("open the database");
    connection
        .execute_batch("DROP TABLE transactions")
        .expect("drop a table");
}

#[test]
fn internal_fault_is_500() {
    let server = Server::start();
    break_schema(&server);
    let reply = server.post_entry("tx-1", VALID);
    assert_json_error(&reply, 500, "internal_error");
}

#[test]
fn internal_fault_body_hides_cause() {
    let server = Server::start();
    break_schema(&server);
    let reply = server.post_entry("tx-1", VALID);
    assert!(!reply.body.contains("no such table"), "{}", reply.body);
}

#[test]
fn internal_fault_cause_is_logged() {
    let server = Server::start();
    break_schema(&server);
    server.post_entry("tx-1", VALID);
    assert!(
        server.wait_for_log("no such table", Duration::from_secs(5)),
        "{}",
        server.log()
    );
}
