//! Timestamp forms of the write API: each accepted form is posted and the
//! stored instant read back with `GET /worker/log/{id}`; each rejected form
//! gets `400`.

mod common;

use std::process::Command;

use common::{form, Reply, Server, PASSWORD};

/// 2026-12-04T14:57:54+01:00, the instant of most cases.
const INSTANT: &str = "2026-12-04T13:57:54.000000000Z";
const INSTANT_NS: &str = "2026-12-04T13:57:54.123456789Z";

fn post(server: &Server, timestamp: &str) -> Reply {
    server.post_entry("tx-1", &form(timestamp, "WORKER_INIT", "SUCCESS"))
}

/// Posts `timestamp` as the administrator and returns the stored instant.
fn stored_instant(server: &Server, timestamp: &str) -> String {
    let reply = post(server, timestamp);
    assert_eq!(reply.status, 200, "{timestamp}: {}", reply.body);
    server.entries("tx-1")[0]["timestamp"]
        .as_str()
        .expect("timestamp is a string")
        .to_string()
}

fn stored_in_berlin(timestamp: &str) -> String {
    stored_in_zone("Europe/Berlin", timestamp)
}

/// Posts `timestamp` as a worker whose own time zone is `zone`.
fn post_in_zone(zone: &str, timestamp: &str) -> (Reply, Server) {
    let server = Server::start();
    server.add_user_with("local", "worker", PASSWORD, &["--timezone", zone]);
    let reply = server.post_form(
        "/worker/log/tx-1",
        ("local", PASSWORD),
        &form(timestamp, "WORKER_INIT", "SUCCESS"),
    );
    (reply, server)
}

/// Posts `timestamp` as a worker in `zone` and returns the stored instant.
fn stored_in_zone(zone: &str, timestamp: &str) -> String {
    let (reply, server) = post_in_zone(zone, timestamp);
    assert_eq!(reply.status, 200, "{timestamp}: {}", reply.body);
    server.entries("tx-1")[0]["timestamp"]
        .as_str()
        .expect("timestamp is a string")
        .to_string()
}

/// POSTs a JSON body whose timestamp is `number`, written into the body as is.
fn post_json_number(server: &Server, number: &str) -> Reply {
    let body = format!(r#"{{"timestamp":{number},"stage":"WORKER_INIT","status":"SUCCESS"}}"#);
    server.post_json("/worker/log/tx-1", server.admin(), &body)
}

fn assert_rejected(timestamp: &str) {
    let server = Server::start();
    let reply = post(&server, timestamp);
    assert_eq!(reply.status, 400, "{timestamp}: {}", reply.body);
    assert_eq!(reply.error_code(), "invalid_parameter", "{}", reply.body);
}

// GNU date -I and --rfc-3339.

#[test]
fn date_iso_date_is_local_midnight() {
    let server = Server::start();
    assert_eq!(
        stored_instant(&server, "2026-12-04"),
        "2026-12-04T00:00:00.000000000Z"
    );
}

#[test]
fn date_alone_uses_user_zone() {
    assert_eq!(
        stored_in_berlin("2026-12-04"),
        "2026-12-03T23:00:00.000000000Z"
    );
}

#[test]
fn date_alone_starts_after_midnight_gap() {
    // Clocks in Chile jump from 00:00 to 01:00 (-03:00) on 2026-09-06.
    assert_eq!(
        stored_in_zone("America/Santiago", "2026-09-06"),
        "2026-09-06T04:00:00.000000000Z"
    );
}

#[test]
fn date_alone_skipped_message_names_day() {
    // Samoa skipped 2011-12-30 when it moved from -10:00 to +14:00.
    let (reply, _server) = post_in_zone("Pacific/Apia", "2011-12-30");
    let message = reply.message();
    assert!(
        message.contains("day 2011-12-30 does not exist in Pacific/Apia"),
        "{message}"
    );
}

#[test]
fn date_iso_hours() {
    let server = Server::start();
    assert_eq!(
        stored_instant(&server, "2026-12-04T14+01:00"),
        "2026-12-04T13:00:00.000000000Z"
    );
}

#[test]
fn date_iso_minutes() {
    let server = Server::start();
    assert_eq!(
        stored_instant(&server, "2026-12-04T14:57+01:00"),
        "2026-12-04T13:57:00.000000000Z"
    );
}

#[test]
fn date_iso_seconds() {
    let server = Server::start();
    assert_eq!(
        stored_instant(&server, "2026-12-04T14:57:54+01:00"),
        INSTANT
    );
}

#[test]
fn date_iso_seconds_in_utc() {
    let server = Server::start();
    assert_eq!(
        stored_instant(&server, "2026-12-04T13:57:54+00:00"),
        INSTANT
    );
}

#[test]
fn date_iso_ns_with_comma() {
    let server = Server::start();
    assert_eq!(
        stored_instant(&server, "2026-12-04T14:57:54,123456789+01:00"),
        INSTANT_NS
    );
}

#[test]
fn iso_ns_with_dot() {
    let server = Server::start();
    assert_eq!(
        stored_instant(&server, "2026-12-04T14:57:54.123456789+01:00"),
        INSTANT_NS
    );
}

#[test]
fn rfc3339_date() {
    let server = Server::start();
    assert_eq!(
        stored_instant(&server, "2026-12-04"),
        "2026-12-04T00:00:00.000000000Z"
    );
}

#[test]
fn rfc3339_seconds_with_space() {
    let server = Server::start();
    assert_eq!(
        stored_instant(&server, "2026-12-04 14:57:54+01:00"),
        INSTANT
    );
}

#[test]
fn rfc3339_ns_with_space() {
    let server = Server::start();
    assert_eq!(
        stored_instant(&server, "2026-12-04 14:57:54.123456789+01:00"),
        INSTANT_NS
    );
}

#[test]
fn utc_with_z() {
    let server = Server::start();
    assert_eq!(stored_instant(&server, "2026-12-04T13:57:54Z"), INSTANT);
}

#[test]
fn offset_without_colon() {
    let server = Server::start();
    assert_eq!(stored_instant(&server, "2026-12-04T14:57:54+0100"), INSTANT);
}

#[test]
fn offset_hours_only() {
    let server = Server::start();
    assert_eq!(stored_instant(&server, "2026-12-04T14:57:54+01"), INSTANT);
}

#[test]
fn negative_offset() {
    let server = Server::start();
    assert_eq!(
        stored_instant(&server, "2026-12-04T08:57:54-05:00"),
        INSTANT
    );
}

#[test]
fn half_hour_offset() {
    let server = Server::start();
    assert_eq!(
        stored_instant(&server, "2026-12-04T19:27:54+05:30"),
        INSTANT
    );
}

#[test]
fn one_fraction_digit() {
    let server = Server::start();
    assert_eq!(
        stored_instant(&server, "2026-12-04T13:57:54.5Z"),
        "2026-12-04T13:57:54.500000000Z"
    );
}

#[test]
fn nine_fraction_digits() {
    let server = Server::start();
    assert_eq!(
        stored_instant(&server, "2026-12-04T13:57:54.000000001Z"),
        "2026-12-04T13:57:54.000000001Z"
    );
}

#[test]
fn lowercase_t_and_z() {
    // RFC 3339 section 5.6 allows lower-case "t" and "z".
    let server = Server::start();
    assert_eq!(stored_instant(&server, "2026-12-04t13:57:54z"), INSTANT);
}

#[test]
fn unknown_local_offset_is_utc() {
    // RFC 3339 section 4.3: -00:00 is UTC with the local offset unknown.
    let server = Server::start();
    assert_eq!(
        stored_instant(&server, "2026-12-04T13:57:54-00:00"),
        INSTANT
    );
}

// GNU date -R.

#[test]
fn rfc2822_with_offset() {
    let server = Server::start();
    assert_eq!(
        stored_instant(&server, "Fri, 04 Dec 2026 14:57:54 +0100"),
        INSTANT
    );
}

#[test]
fn rfc2822_in_utc() {
    let server = Server::start();
    assert_eq!(
        stored_instant(&server, "Fri, 04 Dec 2026 13:57:54 +0000"),
        INSTANT
    );
}

#[test]
fn rfc2822_with_short_comment() {
    let server = Server::start();
    assert_eq!(
        stored_instant(&server, "Fri, 04 Dec 2026 14:57:54 +0100 (CET)"),
        INSTANT
    );
}

#[test]
fn rfc2822_with_long_comment_is_400() {
    let server = Server::start();
    let timestamp = format!("Fri, 04 Dec 2026 14:57:54 +0100 ({})", "x".repeat(200));
    assert_eq!(post(&server, &timestamp).status, 400);
}

#[test]
fn long_timestamp_names_limit() {
    let server = Server::start();
    let timestamp = format!("Fri, 04 Dec 2026 14:57:54 +0100 ({})", "x".repeat(200));
    let message = post(&server, &timestamp).message();
    assert!(message.contains("one of at most 128 bytes"), "{message}");
}

#[test]
fn control_character_in_comment_is_400() {
    let server = Server::start();
    let reply = post(&server, "Fri, 04 Dec 2026 14:57:54 +0100 (a\u{1}b)");
    assert_eq!(reply.status, 400);
}

#[test]
fn control_character_is_named() {
    let server = Server::start();
    let message = post(&server, "Fri, 04 Dec 2026 14:57:54 +0100 (a\u{1b}b)").message();
    assert!(message.contains("control character U+001B"), "{message}");
}

#[test]
fn minus_sign_look_alike_is_named() {
    let server = Server::start();
    let reply = post(&server, "2026-12-04T14:57:54\u{2212}05:00");
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert_eq!(
        reply.message(),
        "Invalid timestamp \"2026-12-04T14:57:54\\u{2212}05:00\": the timestamp has U+2212 \
         MINUS SIGN (`\\u{2212}`) where a `-` belongs, so type the ASCII `-` instead and send \
         `2026-12-04T14:57:54-05:00`."
    );
}

// GNU date +%s and +%s.%N.

#[test]
fn unix_seconds() {
    let server = Server::start();
    assert_eq!(stored_instant(&server, "1796392674"), INSTANT);
}

#[test]
fn unix_seconds_with_fraction() {
    let server = Server::start();
    assert_eq!(stored_instant(&server, "1796392674.123456789"), INSTANT_NS);
}

#[test]
fn unix_zero_is_epoch() {
    let server = Server::start();
    assert_eq!(
        stored_instant(&server, "0"),
        "1970-01-01T00:00:00.000000000Z"
    );
}

// Local times without an offset.

#[test]
fn local_time_in_server_zone() {
    let server = Server::start();
    assert_eq!(stored_instant(&server, "2026-12-04 13:57:54"), INSTANT);
}

#[test]
fn local_time_in_user_zone() {
    assert_eq!(stored_in_berlin("2026-12-04 14:57:54"), INSTANT);
}

#[test]
fn local_time_with_fraction() {
    assert_eq!(
        stored_in_berlin("2026-12-04 14:57:54.123456789"),
        INSTANT_NS
    );
}

#[test]
fn local_time_with_t() {
    assert_eq!(stored_in_berlin("2026-12-04T14:57:54"), INSTANT);
}

#[test]
fn local_time_in_summer() {
    assert_eq!(
        stored_in_berlin("2026-07-01 14:00:00"),
        "2026-07-01T12:00:00.000000000Z"
    );
}

#[test]
fn ambiguous_local_time_takes_earlier() {
    // Clocks in Berlin go back from 03:00 CEST to 02:00 CET on 2026-10-25.
    assert_eq!(
        stored_in_berlin("2026-10-25 02:30:00"),
        "2026-10-25T00:30:00.000000000Z"
    );
}

// The headers that show how a timestamp was read.

#[test]
fn local_time_header_names_user_zone() {
    // A Worker on a host in UTC whose user has the zone Europe/Berlin.
    let (reply, _server) = post_in_zone("Europe/Berlin", "2026-12-04 13:57:54");
    assert_eq!(reply.header("Entry-Time-Zone"), Some("Europe/Berlin"));
}

#[test]
fn local_time_header_shows_instant() {
    let (reply, _server) = post_in_zone("Europe/Berlin", "2026-12-04 13:57:54");
    assert_eq!(
        reply.header("Entry-Timestamp"),
        Some("2026-12-04T12:57:54.000000000Z")
    );
}

#[test]
fn local_time_header_names_server_zone() {
    let server = Server::start_with(&["--timezone", "America/New_York"]);
    let reply = post(&server, "2026-12-04T08:57:54.5");
    assert_eq!(reply.header("Entry-Time-Zone"), Some("America/New_York"));
}

#[test]
fn date_alone_header_names_zone() {
    let (reply, _server) = post_in_zone("Europe/Berlin", "2026-12-04");
    assert_eq!(reply.header("Entry-Time-Zone"), Some("Europe/Berlin"));
}

#[test]
fn unix_seconds_have_no_zone_header() {
    let (reply, _server) = post_in_zone("Europe/Berlin", "1796392674");
    assert_eq!(reply.header("Entry-Time-Zone"), None);
}

#[test]
fn rfc2822_has_no_zone_header() {
    let (reply, _server) = post_in_zone("Europe/Berlin", "Fri, 04 Dec 2026 14:57:54 +0100");
    assert_eq!(reply.header("Entry-Time-Zone"), None);
}

#[test]
fn fraction_header_keeps_nanoseconds() {
    let server = Server::start();
    let reply = post(&server, "1796392674.123456789");
    assert_eq!(reply.header("Entry-Timestamp"), Some(INSTANT_NS));
}

// JSON numbers.

#[test]
fn json_integer_is_unix_seconds() {
    let server = Server::start();
    let body = r#"{"timestamp":1796392674,"stage":"WORKER_INIT","status":"SUCCESS"}"#;
    let reply = server.post_json("/worker/log/tx-1", server.admin(), body);
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(server.entries("tx-1")[0]["timestamp"], INSTANT);
}

#[test]
fn json_fraction_is_unix_seconds() {
    let server = Server::start();
    let body = r#"{"timestamp":1796392674.123456789,"stage":"WORKER_INIT","status":"SUCCESS"}"#;
    let reply = server.post_json("/worker/log/tx-1", server.admin(), body);
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(server.entries("tx-1")[0]["timestamp"], INSTANT_NS);
}

#[test]
fn json_negative_number_is_400() {
    let server = Server::start();
    let body = r#"{"timestamp":-1,"stage":"WORKER_INIT","status":"SUCCESS"}"#;
    let reply = server.post_json("/worker/log/tx-1", server.admin(), body);
    assert_eq!(reply.status, 400, "{}", reply.body);
}

#[test]
fn json_negative_number_message_gives_range() {
    let server = Server::start();
    let message = post_json_number(&server, "-1").message();
    assert!(
        message.contains("before 1970-01-01T00:00:00Z, the earliest accepted instant"),
        "{message}"
    );
}

#[test]
fn text_negative_number_is_400() {
    assert_rejected("-5");
}

#[test]
fn text_negative_number_message_gives_range() {
    let server = Server::start();
    let message = post(&server, "-5").message();
    assert!(
        message.contains("before 1970-01-01T00:00:00Z, the earliest accepted instant"),
        "{message}"
    );
}

#[test]
fn text_and_json_negative_numbers_get_same_explanation() {
    let server = Server::start();
    let text_message = post(&server, "-5").message();
    let json_message = post_json_number(&server, "-5").message();
    assert!(!text_message.is_empty(), "{text_message}");
    assert_eq!(text_message, json_message);
}

#[test]
fn json_huge_exponent_is_400() {
    let server = Server::start();
    let reply = post_json_number(&server, "1e400");
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert_eq!(reply.error_code(), "invalid_parameter", "{}", reply.body);
}

#[test]
fn json_huge_exponent_message_gives_range() {
    let server = Server::start();
    let message = post_json_number(&server, "1e400").message();
    assert!(
        message.contains("after 9999-12-31T23:59:59.999999999Z, the latest accepted instant"),
        "{message}"
    );
    assert!(!message.contains("not recognized"), "{message}");
}

#[test]
fn json_tiny_exponent_is_400() {
    let server = Server::start();
    let reply = post_json_number(&server, "1e-99999999999999999999999");
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert_eq!(reply.error_code(), "invalid_parameter", "{}", reply.body);
}

#[test]
fn json_tiny_exponent_message_gives_limit() {
    let server = Server::start();
    let message = post_json_number(&server, "1e-99999999999999999999999").message();
    assert!(message.contains("more than 9 digits"), "{message}");
}

#[test]
fn json_tiny_exponent_message_has_no_saturated_count() {
    let server = Server::start();
    let message = post_json_number(&server, "1e-99999999999999999999999").message();
    assert!(!message.contains(&i64::MAX.to_string()), "{message}");
}

#[test]
fn json_small_exponent_message_counts_digits() {
    let server = Server::start();
    let message = post_json_number(&server, "1e-50").message();
    assert!(message.contains("has 50 digits"), "{message}");
}

#[test]
fn json_exponent_fraction_message_names_exponent() {
    // The number is exactly 1796392674, but written out it has 25 zeros after the point.
    let server = Server::start();
    let message = post_json_number(&server, "17963926740000000000000000000000000e-25").message();
    assert!(
        message.contains("has 25 digits after the decimal point once its exponent is applied"),
        "{message}"
    );
}

#[test]
fn json_nanoseconds_message_gives_fix() {
    let server = Server::start();
    let message = post_json_number(&server, "1796392674123456789").message();
    assert!(message.contains("date +%s.%N"), "{message}");
}

// The text as sent.

#[test]
fn text_as_sent_is_kept() {
    let server = Server::start();
    post(&server, "Fri, 04 Dec 2026 14:57:54 +0100");
    assert_eq!(
        server.entries("tx-1")[0]["timestamp_sent"],
        "Fri, 04 Dec 2026 14:57:54 +0100"
    );
}

#[test]
fn json_exponent_is_kept_as_sent() {
    let server = Server::start();
    let reply = post_json_number(&server, "1.796392674E9");
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(server.entries("tx-1")[0]["timestamp_sent"], "1.796392674E9");
}

#[test]
fn json_exponent_gives_instant() {
    let server = Server::start();
    let reply = post_json_number(&server, "1.796392674123456789e+9");
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(server.entries("tx-1")[0]["timestamp"], INSTANT_NS);
}

#[test]
fn json_trailing_zeros_are_kept_as_sent() {
    let server = Server::start();
    let reply = post_json_number(&server, "1796392674.100");
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        server.entries("tx-1")[0]["timestamp_sent"],
        "1796392674.100"
    );
}

#[test]
fn json_rejected_number_is_quoted_as_sent() {
    let server = Server::start();
    let message = post_json_number(&server, "1E400").message();
    assert!(message.contains("\"1E400\""), "{message}");
}

#[test]
fn gnu_date_outputs_are_accepted() {
    let server = Server::start();
    let formats = [
        "-I",
        "-Ihours",
        "-Iminutes",
        "-Iseconds",
        "-Ins",
        "-R",
        "--rfc-3339=date",
        "--rfc-3339=seconds",
        "--rfc-3339=ns",
        "+%s",
        "+%s.%N",
        "-u",
    ];
    for (number, format) in formats.iter().enumerate() {
        let mut command = Command::new("date");
        command
            .env("TZ", "Europe/Berlin")
            .args(["-d", "@1796392674.123456789"]);
        if *format == "-u" {
            command.args(["-u", "+%Y-%m-%dT%H:%M:%SZ"]);
        } else {
            command.arg(format);
        }
        let output = command.output().expect("run date");
        let text = String::from_utf8(output.stdout).expect("date prints UTF-8");
        let timestamp = text.trim_end();
        let reply = server.post_entry(
            &format!("tx-{number}"),
            &form(timestamp, "WORKER_INIT", "SUCCESS"),
        );
        assert_eq!(
            reply.status, 200,
            "date {format} printed {timestamp}: {}",
            reply.body
        );
    }
}

// Rejections.

#[test]
fn nonexistent_date_is_400() {
    assert_rejected("2026-02-30T12:00:00Z");
}

#[test]
fn nonexistent_date_alone_is_400() {
    assert_rejected("2026-02-30");
}

#[test]
fn leap_second_is_400() {
    assert_rejected("2026-12-31T23:59:60Z");
}

#[test]
fn ten_fraction_digits_is_400() {
    assert_rejected("2026-12-04T13:57:54.1234567891Z");
}

#[test]
fn ten_fraction_digits_in_unix_time_is_400() {
    assert_rejected("1796392674.1234567891");
}

#[test]
fn year_1969_is_400() {
    assert_rejected("1969-12-31T23:59:59Z");
}

#[test]
fn year_10000_is_400() {
    assert_rejected("10000-01-01T00:00:00Z");
}

#[test]
fn year_10000_date_is_400() {
    assert_rejected("10000-01-01");
}

#[test]
fn year_10000_message_gives_year_range() {
    let server = Server::start();
    let message = post(&server, "10000-01-01").message();
    assert!(message.contains("year 10000"), "{message}");
    assert!(message.contains("from 1970 to 9999"), "{message}");
}

#[test]
fn year_1969_with_instant_in_1970_is_400() {
    let server = Server::start();
    let status = post(&server, "1969-12-31T23:59:59-01:00").status;
    assert_eq!(status, 400);
}

#[test]
fn instant_before_1970_message_names_it() {
    let server = Server::start();
    let message = post(&server, "1970-01-01T00:00:00+01:00").message();
    assert_eq!(
        message,
        "Invalid timestamp \"1970-01-01T00:00:00+01:00\": the timestamp is the instant \
         1969-12-31T23:00:00Z, before 1970-01-01T00:00:00Z, the earliest accepted instant, so \
         give a later time."
    );
}

// GNU date +%s%N and +%s%3N: nanoseconds or milliseconds without a point.

#[test]
fn unix_nanoseconds_is_400() {
    assert_rejected("1796392674123456789");
}

#[test]
fn unix_nanoseconds_message_names_units() {
    let server = Server::start();
    let message = post(&server, "1796392674123456789").message();
    assert!(message.contains("nanoseconds without a point"), "{message}");
}

#[test]
fn unix_nanoseconds_message_gives_fix() {
    let server = Server::start();
    let message = post(&server, "1796392674123456789").message();
    assert!(message.contains("date +%s.%N"), "{message}");
}

#[test]
fn unix_nanoseconds_message_quotes_value_once() {
    let server = Server::start();
    let message = post(&server, "1796392674123456789").message();
    assert_eq!(message.matches("1796392674").count(), 1, "{message}");
}

#[test]
fn unix_milliseconds_message_names_units() {
    let server = Server::start();
    let message = post(&server, "1796392674123").message();
    assert!(message.contains("milliseconds"), "{message}");
}

#[test]
fn date_ns_without_point_is_explained() {
    let output = Command::new("date")
        .args(["-d", "@1796392674.123456789", "+%s%N"])
        .output()
        .expect("run date");
    let text = String::from_utf8(output.stdout).expect("date prints UTF-8");
    let server = Server::start();
    let message = post(&server, text.trim_end()).message();
    assert!(message.contains("19 digits"), "{message}");
}

#[test]
fn unix_time_after_9999_is_400() {
    assert_rejected("253402300800");
}

#[test]
fn month_13_is_400() {
    assert_rejected("2026-13-04T13:57:54Z");
}

#[test]
fn hour_24_is_400() {
    assert_rejected("2026-12-04T24:00:00Z");
}

#[test]
fn offset_hour_24_is_400() {
    assert_rejected("2026-12-04T13:57:54+24:00");
}

#[test]
fn empty_fraction_is_400() {
    assert_rejected("2026-12-04T13:57:54.Z");
}

#[test]
fn words_are_400() {
    assert_rejected("now");
}

#[test]
fn empty_timestamp_is_400() {
    let server = Server::start();
    let reply = server.post_entry("tx-1", "timestamp=&stage=WORKER_INIT&status=SUCCESS");
    assert_eq!(reply.status, 400, "{}", reply.body);
}

#[test]
fn dst_gap_is_400() {
    // Clocks in Berlin jump from 02:00 CET to 03:00 CEST on 2026-03-29.
    let server = Server::start();
    server.add_user_with(
        "berlin",
        "worker",
        PASSWORD,
        &["--timezone", "Europe/Berlin"],
    );
    let reply = server.post_form(
        "/worker/log/tx-1",
        ("berlin", PASSWORD),
        &form("2026-03-29 02:30:00", "WORKER_INIT", "SUCCESS"),
    );
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert_eq!(reply.error_code(), "invalid_parameter", "{}", reply.body);
}

#[test]
fn dst_gap_message_suggests_offset() {
    let server = Server::start_with(&["--timezone", "Europe/Berlin"]);
    let message = post(&server, "2026-03-29 02:30:00").message();
    assert!(message.contains("does not exist"), "{message}");
}

#[test]
fn dst_gap_message_names_user_zone() {
    let (reply, _server) = post_in_zone("America/New_York", "2026-03-08 02:30:00");
    let message = reply.message();
    assert!(
        message.ends_with(
            "; America/New_York is the time zone of user local, set with translog user \
             set-timezone."
        ),
        "{message}"
    );
}

#[test]
fn dst_gap_message_names_server_zone() {
    let server = Server::start_with(&["--timezone", "Europe/Berlin"]);
    let message = post(&server, "2026-03-29 02:30:00").message();
    assert!(
        message.contains("Europe/Berlin is the server's --timezone, because user admin has"),
        "{message}"
    );
}

#[test]
fn dst_gap_with_offset_is_stored() {
    let server = Server::start_with(&["--timezone", "Europe/Berlin"]);
    assert_eq!(
        stored_instant(&server, "2026-03-29T02:30:00+01:00"),
        "2026-03-29T01:30:00.000000000Z"
    );
}

#[test]
fn rejection_message_names_value() {
    let server = Server::start();
    let message = post(&server, "2026-02-30T12:00:00Z").message();
    assert!(message.contains("2026-02-30"), "{message}");
}

// Forms that `date` prints with a format string, rejected with their own explanation.

/// Runs GNU `date` for 2026-12-04T14:57:54+01:00 with `format`. The POSIX zone `CET-1` needs
/// no tz database.
fn date_in_cet(format: &str) -> String {
    let output = Command::new("date")
        .env("TZ", "CET-1")
        .args(["-d", "@1796392674", format])
        .output()
        .expect("run date");
    let text = String::from_utf8(output.stdout).expect("date prints UTF-8");
    text.trim_end().to_string()
}

#[test]
fn zone_abbreviation_is_400() {
    assert_rejected("2026-12-04T14:57:54 CET");
    assert_rejected("2026-12-04 14:57:54 CET");
}

#[test]
fn zone_abbreviation_message_names_it() {
    let server = Server::start();
    let message = post(&server, "2026-12-04T14:57:54 CET").message();
    assert!(message.contains("zone abbreviation CET"), "{message}");
}

#[test]
fn zone_abbreviation_message_gives_fix() {
    let server = Server::start();
    let message = post(&server, "2026-12-04 14:57:54 CET").message();
    assert!(message.contains("numeric offset"), "{message}");
    assert!(message.contains("date -Iseconds"), "{message}");
}

#[test]
fn utc_name_is_400() {
    assert_rejected("2026-12-04T13:57:54 UTC");
}

#[test]
fn utc_name_message_suggests_z() {
    let server = Server::start();
    let message = post(&server, "2026-12-04T13:57:54 UTC").message();
    assert!(message.contains("write Z or +00:00"), "{message}");
}

#[test]
fn zone_abbreviation_message_quotes_value_once() {
    let server = Server::start();
    let message = post(&server, "2026-12-04 14:57:54 CET").message();
    assert_eq!(
        message.matches("2026-12-04 14:57:54").count(),
        1,
        "{message}"
    );
}

#[test]
fn date_zone_abbreviation_is_explained() {
    let text = date_in_cet("+%F %T %Z");
    let server = Server::start();
    let message = post(&server, &text).message();
    assert!(message.contains("zone abbreviation CET"), "{message}");
}

#[test]
fn offset_with_seconds_is_400() {
    assert_rejected("2026-12-04T14:57:54+01:00:00");
}

#[test]
fn offset_with_seconds_message_names_cause() {
    let server = Server::start();
    let message = post(&server, "2026-12-04T14:57:54+01:00:00").message();
    assert!(message.contains("offset has seconds"), "{message}");
    assert!(message.contains("date +%::z"), "{message}");
}

#[test]
fn offset_with_seconds_message_gives_fix() {
    let server = Server::start();
    let message = post(&server, "2026-12-04T14:57:54+01:00:00").message();
    assert!(message.contains("hours and minutes"), "{message}");
    assert!(message.contains("date -Iseconds"), "{message}");
}

#[test]
fn date_offset_with_seconds_is_explained() {
    let text = date_in_cet("+%FT%T%::z");
    let server = Server::start();
    let message = post(&server, &text).message();
    assert!(message.contains("offset has seconds"), "{message}");
}

#[test]
fn date_compact_date_is_400() {
    assert_rejected(&date_in_cet("+%Y%m%d"));
}

#[test]
fn date_compact_date_and_time_is_400() {
    assert_rejected(&date_in_cet("+%Y%m%d%H%M%S"));
}

#[test]
fn compact_date_message_names_the_date() {
    let server = Server::start();
    let message = post(&server, &date_in_cet("+%Y%m%d")).message();
    assert!(message.contains("2026-12-04 written without"), "{message}");
}

#[test]
fn compact_date_message_gives_fix() {
    let server = Server::start();
    let message = post(&server, &date_in_cet("+%Y%m%d")).message();
    assert!(message.contains("`date -I`"), "{message}");
}

#[test]
fn compact_date_is_not_stored() {
    let server = Server::start();
    post(&server, "20261204");
    let reply = server.get("/worker/log/tx-1", Some(server.admin()));
    assert_eq!(reply.status, 404, "{}", reply.body);
}

#[test]
fn json_compact_date_number_is_400() {
    let server = Server::start();
    let reply = post_json_number(&server, "20261204");
    assert_eq!(reply.status, 400, "{}", reply.body);
}

#[test]
fn basic_format_is_400() {
    assert_rejected("20261204T145754+0100");
}

#[test]
fn basic_format_message_names_cause() {
    let server = Server::start();
    let message = post(&server, "20261204T145754+0100").message();
    assert!(message.contains("basic format"), "{message}");
}

#[test]
fn basic_format_message_gives_fix() {
    let server = Server::start();
    let message = post(&server, "20261204T145754+0100").message();
    assert!(message.contains("extended format"), "{message}");
    assert!(message.contains("date -Iseconds"), "{message}");
}

#[test]
fn basic_format_message_quotes_value_once() {
    let server = Server::start();
    let message = post(&server, "20261204T145754+0100").message();
    assert_eq!(message.matches("20261204").count(), 1, "{message}");
}

#[test]
fn date_basic_format_is_explained() {
    let text = date_in_cet("+%Y%m%dT%H%M%S%z");
    let server = Server::start();
    let message = post(&server, &text).message();
    assert!(message.contains("basic format"), "{message}");
}

#[test]
fn zone_abbreviation_without_space_is_explained() {
    let server = Server::start();
    let message = post(&server, "2026-12-04T14:57:54CET").message();
    assert!(message.contains("zone abbreviation CET"), "{message}");
}

#[test]
fn date_space_before_offset_is_explained() {
    let text = date_in_cet("+%F %T %:z");
    let server = Server::start();
    let message = post(&server, &text).message();
    assert!(
        message.contains("write the offset right after the time"),
        "{message}"
    );
}

#[test]
fn rfc2822_wrong_weekday_is_explained() {
    let server = Server::start();
    let message = post(&server, "Thu, 04 Dec 2026 14:57:54 +0100").message();
    assert!(
        message.contains("weekday Thu does not match the date 2026-12-04"),
        "{message}"
    );
}

#[test]
fn rfc2822_nonexistent_day_is_explained() {
    let server = Server::start();
    let message = post(&server, "Fri, 31 Feb 2026 14:57:54 +0100").message();
    assert!(
        message.contains("date 2026-02-31 does not exist"),
        "{message}"
    );
}

#[test]
fn rfc2822_zone_abbreviation_is_explained() {
    let server = Server::start();
    let message = post(&server, "Fri, 04 Dec 2026 14:57:54 CET").message();
    assert!(message.contains("zone abbreviation CET"), "{message}");
}

#[test]
fn near_miss_forms_are_explained() {
    let server = Server::start();
    let cases = [
        (
            "Fri, 04 Dec 2026 14:57:54 +01:00",
            "the UTC offset +01:00 has a colon, which RFC 2822 does not allow, so send \
             `Fri, 04 Dec 2026 14:57:54 +0100`",
        ),
        (
            "2026-12-04T14:57:54.123+01:00[Europe/Berlin]",
            "so leave the zone ID out and send `2026-12-04T14:57:54.123+01:00`",
        ),
        (
            "2026-12-04 14:57:54.123 +0100 CET",
            "so send `2026-12-04T14:57:54.123+01:00` instead",
        ),
        (
            "2026-12-04 14:57:54.123 +0100 CET m=+0.000123456",
            "so send `2026-12-04T14:57:54.123+01:00` instead",
        ),
    ];
    for (timestamp, fix) in cases {
        let reply = post(&server, timestamp);
        assert_eq!(reply.status, 400, "{timestamp}: {}", reply.body);
        assert_eq!(reply.error_code(), "invalid_parameter", "{}", reply.body);
        let message = reply.message();
        assert!(
            message.starts_with(&format!("Invalid timestamp {timestamp:?}: ")),
            "{message}"
        );
        assert!(message.contains(fix), "{message}");
        assert!(!message.contains("not recognized"), "{message}");
    }
}

#[test]
fn javascript_date_string_is_explained() {
    let server = Server::start();
    let timestamp = "Sat Dec 05 2026 10:00:00 GMT+0100 (Central European Standard Time)";
    let message = post(&server, timestamp).message();
    assert!(
        message.ends_with(
            ": it is the form that JavaScript's `Date.toString()` prints, so send the output of \
             `toISOString()` instead, which is `2026-12-05T09:00:00.000Z` for this value, or \
             the same time with its UTC offset, `2026-12-05T10:00:00+01:00`."
        ),
        "{message}"
    );
}

#[test]
fn javascript_date_in_json_shows_its_instant() {
    let server = Server::start();
    let body = r#"{"timestamp":"Thu Jun 04 2026 21:30:00 GMT-0430 (Venezuela Time)",
                   "stage":"WORKER_INIT","status":"SUCCESS"}"#;
    let message = server
        .post_json("/worker/log/tx-1", server.admin(), body)
        .message();
    assert!(message.contains("`2026-06-05T02:00:00.000Z`"), "{message}");
    assert!(message.contains("`2026-06-04T21:30:00-04:30`"), "{message}");
}

#[test]
fn javascript_date_of_missing_day_names_day() {
    let server = Server::start();
    let message = post(&server, "Mon Feb 30 2026 10:00:00 GMT+0100 (CET)").message();
    assert!(
        message.contains("the date 2026-02-30 does not exist"),
        "{message}"
    );
}

#[test]
fn javascript_date_with_decoded_plus_is_explained() {
    let server = Server::start();
    let body = "timestamp=Sat Dec 05 2026 10:00:00 GMT+0100 (CET)&stage=WORKER_INIT&status=SUCCESS";
    let message = server.post_entry("tx-1", body).message();
    assert!(message.contains("`toISOString()`"), "{message}");
    assert!(message.contains("`2026-12-05T09:00:00.000Z`"), "{message}");
}

#[test]
fn zone_name_after_offset_is_named() {
    let server = Server::start();
    let message = post(&server, "2026-12-04T14:57:54+01:00 CET").message();
    assert!(
        message.contains("` CET` follows the complete timestamp `2026-12-04T14:57:54+01:00`"),
        "{message}"
    );
}

#[test]
fn java_zone_id_message_is_one_sentence() {
    let server = Server::start();
    let message = post(&server, "2026-12-04T14:57:54.123+01:00[Europe/Berlin]").message();
    assert_eq!(
        message,
        "Invalid timestamp \"2026-12-04T14:57:54.123+01:00[Europe/Berlin]\": the UTC offset is \
         followed by the zone ID [Europe/Berlin], as Java's `ZonedDateTime.toString()` prints \
         it, so leave the zone ID out and send `2026-12-04T14:57:54.123+01:00`, as \
         `OffsetDateTime.toString()` prints it."
    );
}
