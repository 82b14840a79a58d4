//! Property tests of the hand-written parsers: arbitrary bytes and strings
//! never make them panic, and the forms that have an inverse (percent
//! encoding, form pairs, JSON objects, timestamps, Basic credentials) come
//! back unchanged from a round trip.

use base64::Engine as _;
use chrono::{DateTime, FixedOffset, SecondsFormat, TimeZone, Utc};
use chrono_tz::Tz;
use proptest::prelude::*;
use serde_json::Value;

use translog::auth::basic;
use translog::entry::{Stage, Status, MAX_MESSAGE_BYTES};
use translog::http::request_line::{is_text, RequestLine};
use translog::http::router::{route, Route};
use translog::validate::form::{decode_component, parse_pairs};
use translog::validate::json::parse_object;
use translog::validate::timestamp::parse_timestamp;
use translog::validate::{
    body_kind, build_entry, collect_parameters, BodyKind, LocalZone, Origin, RawValue,
};

/// Cases per property: proptest's default, set here so that it stays fixed.
const CASES: u32 = 256;

/// 1970-01-02T00:00:00Z and 9999-12-30T23:59:59Z: instants whose local date
/// stays within the accepted years 1970 to 9999 at any UTC offset.
const FIRST_SECOND: i64 = 86_400;
const LAST_SECOND: i64 = 253_402_214_399;

/// The largest UTC offset chrono formats, in minutes: 23:59.
const MAX_OFFSET_MINUTES: i32 = 23 * 60 + 59;

const ZONES: [Tz; 6] = [
    Tz::UTC,
    Tz::Europe__Berlin,
    Tz::America__New_York,
    Tz::Asia__Kolkata,
    Tz::Australia__Lord_Howe,
    Tz::Pacific__Chatham,
];

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..max)
}

fn zone() -> impl Strategy<Value = Tz> {
    proptest::sample::select(ZONES.to_vec())
}

/// Generates the reporting user's own zone, or the server's zone for a user without one.
fn local_zone() -> impl Strategy<Value = LocalZone> {
    (zone(), any::<bool>()).prop_map(|(zone, is_users)| {
        if is_users {
            LocalZone::for_user(Some(zone), Tz::UTC)
        } else {
            LocalZone::for_user(None, zone)
        }
    })
}

fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    (FIRST_SECOND..=LAST_SECOND, 0u32..1_000_000_000).prop_map(|(seconds, nanos)| {
        DateTime::from_timestamp(seconds, nanos).expect("seconds are in chrono's range")
    })
}

fn offset() -> impl Strategy<Value = FixedOffset> {
    (-MAX_OFFSET_MINUTES..=MAX_OFFSET_MINUTES)
        .prop_map(|minutes| FixedOffset::east_opt(minutes * 60).expect("offset under 24 hours"))
}

/// Text made mostly of the characters timestamps are written with, so that
/// generated cases reach past the first checks of the timestamp parser.
fn timestamp_like() -> impl Strategy<Value = String> {
    proptest::string::string_regex(
        "[0-9TZ:+., -]{0,40}|[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9:.,]{0,20}[Z+-]?[0-9:]{0,6}",
    )
    .expect("valid regex")
}

/// Percent-encodes every byte but ASCII letters and digits; with
/// `plus_for_space` a space becomes `+`, as in form data.
fn percent_encode(text: &str, plus_for_space: bool, uppercase: bool) -> String {
    let mut encoded = String::new();
    for byte in text.bytes() {
        match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' => encoded.push(char::from(byte)),
            b' ' if plus_for_space => encoded.push('+'),
            _ if uppercase => encoded.push_str(&format!("%{byte:02X}")),
            _ => encoded.push_str(&format!("%{byte:02x}")),
        }
    }
    encoded
}

fn string_pairs() -> impl Strategy<Value = Vec<(String, String)>> {
    proptest::collection::vec((any::<String>(), any::<String>()), 0..8)
}

fn stage() -> impl Strategy<Value = Stage> {
    proptest::sample::select(Stage::ALL.to_vec())
}

fn status() -> impl Strategy<Value = Status> {
    proptest::sample::select(Status::ALL.to_vec())
}

/// Generates messages the write API accepts: 1 to 1024 bytes of UTF-8.
fn message() -> impl Strategy<Value = String> {
    any::<String>().prop_map(|text| {
        let mut message: String = text
            .chars()
            .scan(0, |length, c| {
                *length += c.len_utf8();
                (*length <= MAX_MESSAGE_BYTES).then_some(c)
            })
            .collect();
        if message.is_empty() {
            message.push('m');
        }
        message
    })
}

/// Valid transaction ids: 1 to 128 of the allowed characters.
fn transaction_id() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[A-Za-z0-9._:~-]{1,128}").expect("valid regex")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn decode_component_never_panics(input in bytes(256), plus_is_space in any::<bool>()) {
        let _ = decode_component(&input, plus_is_space);
    }

    #[test]
    fn percent_encoding_round_trips(text in any::<String>(), uppercase in any::<bool>()) {
        let form = percent_encode(&text, true, uppercase);
        prop_assert_eq!(decode_component(form.as_bytes(), true), Ok(text.clone()));
        let path = percent_encode(&text, false, uppercase);
        prop_assert_eq!(decode_component(path.as_bytes(), false), Ok(text));
    }

    #[test]
    fn plus_is_literal_outside_forms(text in "[a-z+]{0,20}") {
        prop_assert_eq!(decode_component(text.as_bytes(), false), Ok(text));
    }

    #[test]
    fn parse_pairs_never_panics(input in bytes(512)) {
        if let Err(failure) = parse_pairs(&input) {
            let _ = failure.error.to_string();
        }
    }

    #[test]
    fn form_pairs_round_trip(pairs in string_pairs()) {
        let encoded: Vec<String> = pairs
            .iter()
            .map(|(name, value)| {
                let name = percent_encode(name, true, true);
                let value = percent_encode(value, true, false);
                format!("{name}={value}")
            })
            .collect();
        prop_assert_eq!(parse_pairs(encoded.join("&").as_bytes()), Ok(pairs));
    }

    #[test]
    fn parse_object_never_panics(input in bytes(512)) {
        let _ = parse_object(&input);
    }

    #[test]
    fn parse_object_never_panics_on_json_like_text(
        input in "[{}\\[\\]\":,0-9a-z.eE+ \\\\-]{0,200}",
    ) {
        let _ = parse_object(input.as_bytes());
    }

    #[test]
    fn json_object_round_trips(pairs in string_pairs()) {
        let members: Vec<String> = pairs
            .iter()
            .map(|(name, value)| {
                let name = Value::from(name.as_str());
                let value = Value::from(value.as_str());
                format!("{name}:{value}")
            })
            .collect();
        let body = format!("{{{}}}", members.join(","));
        let parsed = parse_object(body.as_bytes()).expect("a serialized object parses");
        let expected: Vec<(String, RawValue)> = pairs
            .into_iter()
            .map(|(name, value)| (name, RawValue::JsonText(value)))
            .collect();
        prop_assert_eq!(parsed, expected);
    }

    #[test]
    fn json_number_text_is_kept(
        number in "-?(0|[1-9][0-9]{0,20})(\\.[0-9]{1,12})?([eE][+-]?[0-9]{1,4})?",
        space in "[ \t\n]{0,2}",
    ) {
        let body = format!(r#"{{"timestamp":{space}{number}{space},"stage":"WORKER_INIT"}}"#);
        let parsed = parse_object(body.as_bytes()).expect("a JSON number parses");
        prop_assert_eq!(&parsed[0].1, &RawValue::Number(number.clone()));
    }

    #[test]
    fn parse_timestamp_never_panics(text in any::<String>(), zone in zone()) {
        if let Err(error) = parse_timestamp(&text, zone) {
            let _ = error.to_string();
        }
    }

    #[test]
    fn parse_timestamp_never_panics_on_timestamp_like_text(
        text in timestamp_like(),
        zone in zone(),
    ) {
        match parse_timestamp(&text, zone) {
            Ok(instant) => prop_assert!((0..=LAST_SECOND + 86_400).contains(&instant.timestamp())),
            Err(error) => {
                let _ = error.to_string();
            }
        }
    }

    #[test]
    fn rfc3339_round_trips(
        instant in instant(),
        offset in offset(),
        format in proptest::sample::select(vec![
            SecondsFormat::Secs,
            SecondsFormat::Millis,
            SecondsFormat::Micros,
            SecondsFormat::Nanos,
            SecondsFormat::AutoSi,
        ]),
        use_z in any::<bool>(),
        zone in zone(),
    ) {
        let text = instant.with_timezone(&offset).to_rfc3339_opts(format, use_z);
        let expected = truncate(instant, format);
        prop_assert_eq!(parse_timestamp(&text, zone), Ok(expected), "{}", text);
    }

    #[test]
    fn iso8601_variants_round_trip(
        instant in instant(),
        offset_hours in -23i32..=23,
        space in any::<bool>(),
        comma in any::<bool>(),
        offset_form in 0usize..3,
        zone in zone(),
    ) {
        let offset = FixedOffset::east_opt(offset_hours * 3600).expect("offset under 24 hours");
        let local = instant.with_timezone(&offset);
        let separator = if space { " " } else { "T" };
        let decimal = if comma { "," } else { "." };
        let offset_text = match offset_form {
            0 => local.format("%:z").to_string(),
            1 => local.format("%z").to_string(),
            _ => local.format("%z").to_string()[..3].to_string(),
        };
        let text = format!(
            "{}{separator}{}{decimal}{}{offset_text}",
            local.format("%Y-%m-%d"),
            local.format("%H:%M:%S"),
            local.format("%f"),
        );
        prop_assert_eq!(parse_timestamp(&text, zone), Ok(instant), "{}", text);
    }

    #[test]
    fn local_time_round_trips_in_utc(instant in instant()) {
        let text = instant.format("%Y-%m-%d %H:%M:%S%.9f").to_string();
        prop_assert_eq!(parse_timestamp(&text, Tz::UTC), Ok(instant), "{}", text);
    }

    #[test]
    fn rfc2822_round_trips(instant in instant(), offset in offset(), zone in zone()) {
        let whole = truncate(instant, SecondsFormat::Secs);
        let text = whole.with_timezone(&offset).to_rfc2822();
        prop_assert_eq!(parse_timestamp(&text, zone), Ok(whole), "{}", text);
    }

    #[test]
    fn unix_seconds_round_trip(instant in instant(), zone in zone()) {
        let text = format!("{}.{:09}", instant.timestamp(), instant.timestamp_subsec_nanos());
        prop_assert_eq!(parse_timestamp(&text, zone), Ok(instant), "{}", text);
    }

    #[test]
    fn basic_parse_never_panics(header in proptest::option::of(bytes(256))) {
        let _ = basic::parse(header.as_deref());
    }

    #[test]
    fn basic_parse_never_panics_on_basic_headers(token in bytes(128)) {
        let mut header = b"Basic ".to_vec();
        header.extend(base64::engine::general_purpose::STANDARD.encode(&token).into_bytes());
        let _ = basic::parse(Some(&header));
    }

    #[test]
    fn basic_credentials_round_trip(
        user in "[^:]{0,40}",
        password in any::<String>(),
        scheme in "[bB][aA][sS][iI][cC]",
    ) {
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        let header = format!("{scheme} {token}");
        let credentials = basic::parse(Some(header.as_bytes()));
        prop_assert!(credentials.is_ok(), "{:?}", credentials.err());
        let credentials = credentials.expect("checked above");
        prop_assert_eq!(credentials.user, user);
        prop_assert_eq!(credentials.password.expose(), password.as_str());
    }

    #[test]
    fn request_line_reading_never_panics(unparsed in bytes(512)) {
        let line = RequestLine::first(&unparsed);
        let _ = line.separator_fault();
        let _ = line.lacks_version();
        let _ = line.lacks_target();
        let _ = line.is_method_alone();
        let _ = line.is_request_line();
        let _ = line.has_space_in_target();
        let _ = is_text(&unparsed);
    }

    #[test]
    fn request_line_like_text_never_panics(
        text in "\r?\n?[ \t]{0,2}[A-Z(=]{0,6}[ \t]{0,3}/[a-z<? ]{0,12}[ \t]{0,3}(HTTP/1\\.[01])?[ \t]{0,2}(\r\n)?",
    ) {
        let line = RequestLine::first(text.as_bytes());
        let _ = line.separator_fault();
        let _ = line.lacks_version();
        let _ = line.has_space_in_target();
    }

    #[test]
    fn single_spaces_are_no_separator_fault(
        method in "[A-Z]{1,8}",
        target in "/[!-~]{0,32}",
        minor in 0..=1u8,
    ) {
        let text = format!("{method} {target} HTTP/1.{minor}\r\nHost: t\r\n\r\n");
        let line = RequestLine::first(text.as_bytes());
        prop_assert_eq!(line.separator_fault(), None, "{}", text);
        prop_assert!(!line.lacks_version(), "{}", text);
    }

    #[test]
    fn route_never_panics(path in any::<String>()) {
        if let Some(found) = route(&path) {
            let _ = found.allowed_methods();
        }
    }

    #[test]
    fn log_path_routes_to_its_segment(segment in "[^/]{1,64}") {
        let path = format!("/worker/log/{segment}");
        prop_assert_eq!(route(&path), Some(Route::Log(segment)));
    }

    #[test]
    fn extra_segment_is_not_routed(first in "[^/]{0,16}", second in "[^/]{0,16}") {
        let path = format!("/worker/log/{first}/{second}");
        prop_assert_eq!(route(&path), None);
    }

    #[test]
    fn body_kind_never_panics(content_type in proptest::option::of(bytes(128))) {
        let _ = body_kind(content_type.as_deref());
    }

    #[test]
    fn body_kind_reads_media_type_case_insensitively(
        json in any::<bool>(),
        upper in proptest::collection::vec(any::<bool>(), 33),
        charset in proptest::option::of("[uU][tT][fF]-8"),
    ) {
        let base = if json { "application/json" } else { "application/x-www-form-urlencoded" };
        let mut content_type: String = base
            .chars()
            .zip(upper.iter().cycle())
            .map(|(c, upper)| if *upper { c.to_ascii_uppercase() } else { c })
            .collect();
        if let Some(charset) = charset {
            content_type.push_str(&format!("; charset={charset}"));
        }
        let expected = if json { BodyKind::Json } else { BodyKind::Form };
        prop_assert_eq!(body_kind(Some(content_type.as_bytes())), Ok(expected));
    }

    #[test]
    fn write_request_parsing_never_panics(
        id in any::<String>(),
        query in proptest::option::of(any::<String>()),
        content_type in proptest::option::of(proptest::sample::select(vec![
            b"application/json".to_vec(),
            b"application/x-www-form-urlencoded".to_vec(),
            b"text/plain".to_vec(),
            b"application/json; charset=latin1".to_vec(),
        ])),
        body in bytes(512),
        zone in local_zone(),
    ) {
        match collect_parameters(query.as_deref(), content_type.as_deref(), &body) {
            Ok(parameters) => {
                if let Err(error) = build_entry(&id, parameters, zone, "worker") {
                    let _ = (error.code(), error.to_string());
                }
            }
            Err(error) => {
                let _ = (error.code(), error.to_string());
            }
        }
    }

    #[test]
    fn build_entry_never_panics_on_arbitrary_values(
        id in transaction_id(),
        parameters in proptest::collection::vec(
            (
                proptest::sample::select(vec!["timestamp", "stage", "status", "message", "mesage"]),
                prop_oneof![
                    any::<String>().prop_map(|text| RawValue::Text(text, Origin::Body)),
                    timestamp_like().prop_map(|text| RawValue::Text(text, Origin::Query)),
                    timestamp_like().prop_map(RawValue::JsonText),
                    "[0-9.eE+-]{1,30}".prop_map(RawValue::Number),
                    Just(RawValue::Null),
                    "(true|false|\\[[0-9,]{0,8}\\])".prop_map(RawValue::OtherJson),
                ],
            ),
            0..6,
        ),
        zone in local_zone(),
    ) {
        let parameters = parameters
            .into_iter()
            .map(|(name, value)| (name.to_string(), value))
            .collect();
        if let Err(error) = build_entry(&id, parameters, zone, "worker") {
            let _ = (error.code(), error.to_string());
        }
    }

    #[test]
    fn valid_form_entry_round_trips(
        id in transaction_id(),
        instant in instant(),
        stage in stage(),
        status in status(),
        message in proptest::option::of(message()),
        zone in local_zone(),
    ) {
        let timestamp = instant.to_rfc3339_opts(SecondsFormat::Nanos, true);
        let mut body = format!(
            "timestamp={}&stage={}&status={}",
            percent_encode(&timestamp, true, true),
            stage.as_str(),
            status.as_str()
        );
        if let Some(message) = &message {
            body.push_str(&format!("&message={}", percent_encode(message, true, false)));
        }
        let content_type: &[u8] = b"application/x-www-form-urlencoded";
        let parameters = collect_parameters(None, Some(content_type), body.as_bytes());
        prop_assert!(parameters.is_ok(), "{:?}", parameters);
        let entry = build_entry(&id, parameters.expect("checked above"), zone, "worker");
        prop_assert!(entry.is_ok(), "{:?}", entry.err());
        let entry = entry.expect("checked above");
        prop_assert_eq!(entry.transaction_id.as_str(), id.as_str());
        prop_assert_eq!(entry.timestamp, instant);
        prop_assert_eq!(entry.timestamp_sent, timestamp);
        prop_assert_eq!(entry.stage, stage);
        prop_assert_eq!(entry.status, status);
        prop_assert_eq!(entry.message, message);
    }

    #[test]
    fn valid_json_entry_round_trips(
        id in transaction_id(),
        instant in instant(),
        stage in stage(),
        status in status(),
        message in proptest::option::of(message()),
        zone in local_zone(),
    ) {
        let timestamp = instant.to_rfc3339_opts(SecondsFormat::Nanos, true);
        let body = serde_json::json!({
            "timestamp": timestamp,
            "stage": stage.as_str(),
            "status": status.as_str(),
            "message": message,
        })
        .to_string();
        let parameters = collect_parameters(None, Some(b"application/json"), body.as_bytes());
        prop_assert!(parameters.is_ok(), "{:?}", parameters);
        let entry = build_entry(&id, parameters.expect("checked above"), zone, "worker");
        prop_assert!(entry.is_ok(), "{:?}", entry.err());
        let entry = entry.expect("checked above");
        prop_assert_eq!(entry.timestamp, instant);
        prop_assert_eq!(entry.stage, stage);
        prop_assert_eq!(entry.status, status);
        prop_assert_eq!(entry.message, message);
    }

    #[test]
    fn json_number_timestamp_round_trips(
        instant in instant(),
        exponent_letter in proptest::sample::select(vec!["", "e", "E", "e+", "E+"]),
        zone in local_zone(),
    ) {
        // Unix seconds with nanoseconds, plain or as d.ddd...e+N.
        let digits = format!("{}{:09}", instant.timestamp(), instant.timestamp_subsec_nanos());
        let whole_digits = digits.len() - 9;
        let number = if exponent_letter.is_empty() {
            format!("{}.{}", &digits[..whole_digits], &digits[whole_digits..])
        } else {
            format!("{}.{}{exponent_letter}{}", &digits[..1], &digits[1..], whole_digits - 1)
        };
        let body = format!(r#"{{"timestamp":{number},"stage":"WORKER_INIT","status":"SUCCESS"}}"#);
        let parameters = collect_parameters(None, Some(b"application/json"), body.as_bytes());
        prop_assert!(parameters.is_ok(), "{:?}", parameters);
        let entry = build_entry("tx-1", parameters.expect("checked above"), zone, "worker");
        prop_assert!(entry.is_ok(), "{}: {:?}", number, entry.err());
        let entry = entry.expect("checked above");
        prop_assert_eq!(entry.timestamp, instant);
        prop_assert_eq!(entry.timestamp_sent, number);
    }
}

/// Cuts an instant to the precision that `format` prints.
fn truncate(instant: DateTime<Utc>, format: SecondsFormat) -> DateTime<Utc> {
    let nanos = instant.timestamp_subsec_nanos();
    let kept = match format {
        SecondsFormat::Secs => 0,
        SecondsFormat::Millis => nanos / 1_000_000 * 1_000_000,
        SecondsFormat::Micros => nanos / 1_000 * 1_000,
        _ => nanos,
    };
    Utc.timestamp_opt(instant.timestamp(), kept)
        .single()
        .expect("the same second is valid")
}
