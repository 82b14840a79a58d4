//! Parsing of the timestamps that backup Workers send, as printed by GNU `date`.
//!
//! Accepted forms are RFC 3339 and its common ISO 8601 variants, RFC 2822, and Unix time
//! in seconds. A date or date-time without an offset is local time in the caller's zone.
//! Every accepted instant lies in 1970-01-01T00:00:00Z..10000-01-01T00:00:00Z.
//!
//! Each form has its own parser in a child module. This file picks the parser from the shape
//! of the text and contains the range checks and fraction conversion that the parsers share.

mod error;
mod iso8601;
mod javascript;
mod non_ascii;
mod rfc2822;
mod unix;

pub use error::{JavaScriptConversion, TimestampError};
pub use non_ascii::escape_non_ascii;

use chrono::{DateTime, FixedOffset, NaiveDateTime, Utc};
use chrono_tz::Tz;

use error::unrecognized;
use iso8601::parse_iso8601;
use javascript::javascript_date_string;
use non_ascii::{has_non_ascii_outside_comment, non_ascii_character};
use rfc2822::parse_rfc2822;
use unix::parse_unix_seconds;

/// Largest accepted Unix time in whole seconds: 9999-12-31T23:59:59Z.
const MAX_UNIX_SECONDS: i64 = 253_402_300_799;

/// Number of digits of [`MAX_UNIX_SECONDS`]: no Unix seconds in range have more.
const MAX_UNIX_SECONDS_DIGITS: usize = 12;

/// Longest accepted timestamp text in bytes. An RFC 2822 date may end in a
/// comment of any length, and the text is stored and read back with each
/// entry, so this bounds what an entry stores beside its message.
pub const MAX_TIMESTAMP_BYTES: usize = 128;

/// A timestamp resolved to an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResolvedTimestamp {
    pub instant: DateTime<Utc>,
    /// The zone that resolved a local date or time written without an offset, or `None` for
    /// a timestamp with an offset and for Unix seconds.
    pub local_zone: Option<Tz>,
}

/// Parses a Worker's timestamp into an instant. `zone` resolves a local time without an offset.
///
/// A local time inside a daylight saving gap is an error, and a repeated local time resolves
/// to the earlier instant. A date alone is the first instant of that day in `zone`, which is
/// after midnight where the clocks skip midnight.
pub fn parse_timestamp(text: &str, zone: Tz) -> Result<DateTime<Utc>, TimestampError> {
    resolve_timestamp(text, zone).map(|resolved| resolved.instant)
}

/// Parses a Worker's timestamp as [`parse_timestamp`] does, and returns the instant with the
/// zone that resolved it where the text has no offset.
pub fn resolve_timestamp(text: &str, zone: Tz) -> Result<ResolvedTimestamp, TimestampError> {
    if text.is_empty() {
        return Err(TimestampError::Empty);
    }
    if crate::validate::ends_with_carriage_return(text) {
        return Err(TimestampError::CarriageReturnAtEnd {
            newline: text.ends_with('\n'),
        });
    }
    if text.trim() != text {
        return Err(TimestampError::SurroundingWhitespace);
    }
    if text.len() > MAX_TIMESTAMP_BYTES {
        return Err(TimestampError::TooLong { length: text.len() });
    }
    if let Some(character) = text.chars().find(|character| character.is_control()) {
        return Err(TimestampError::ControlCharacter { character });
    }
    // Every accepted form is ASCII, because a parser could take a Unicode
    // space for a separator and store text that shows the same as another.
    // A character in an RFC 2822 comment, which is stored and shown with the
    // entry too, is named only once the rest parses, so that a fault of the
    // date itself comes first.
    let is_ascii = text.is_ascii();
    if !is_ascii && has_non_ascii_outside_comment(text) {
        if let Some(error) = non_ascii_character(text, zone) {
            return Err(error);
        }
    }
    let resolved = parse_form(text, zone)?;
    if !is_ascii {
        if let Some(error) = non_ascii_character(text, zone) {
            return Err(error);
        }
    }
    check_instant_range(resolved.instant)?;
    Ok(resolved)
}

/// Picks the parser from the shape of `text` and returns its instant, which may be out of
/// range.
fn parse_form(text: &str, zone: Tz) -> Result<ResolvedTimestamp, TimestampError> {
    let bytes = text.as_bytes();
    let leading_digits = bytes
        .iter()
        .take_while(|byte| byte.is_ascii_digit())
        .count();
    // A year has 4 digits, or more for a year past 9999, which gets its own error.
    if leading_digits >= 4 && bytes.get(leading_digits) == Some(&b'-') {
        return parse_iso8601(text, zone);
    }
    let instant = if bytes.iter().all(|&b| b.is_ascii_digit() || b == b'.') {
        parse_unix_seconds(text)?
    } else if is_negative_unix_seconds(text) {
        return Err(TimestampError::InstantBeforeRange { instant: None });
    } else if is_iso8601_basic_format(text) {
        return Err(TimestampError::BasicFormat);
    } else if text.contains(' ') {
        parse_rfc2822(text).map_err(|error| javascript_date_string(text).unwrap_or(error))?
    } else {
        // An RFC 2822 date has spaces between its fields, so text without
        // any (such as `0x10` or `now`) matches no accepted form.
        return Err(unrecognized(text));
    };
    Ok(ResolvedTimestamp {
        instant,
        local_zone: None,
    })
}

/// A local time that the clocks of a zone show twice, because they are set
/// back at its end. Without an offset it is read as the earlier instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepeatedLocalTime {
    pub local: NaiveDateTime,
    pub zone: Tz,
    /// The UTC offset of its first occurrence, the instant it is read as.
    pub earlier: FixedOffset,
    /// The UTC offset of its second occurrence.
    pub later: FixedOffset,
}

/// Returns the local time that `text` writes without an offset when the
/// clocks of `zone` show it twice, or `None` for any other text. Only an
/// ISO 8601 date and time can lack an offset.
pub fn repeated_local_time(text: &str, zone: Tz) -> Option<RepeatedLocalTime> {
    iso8601::repeated_local_time(text, zone)
}

/// The smallest unit of time that a timestamp writes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Precision {
    /// A date alone.
    #[default]
    Day,
    Hour,
    Minute,
    Second,
    /// A fraction of a second, of any number of digits.
    Fraction,
}

/// Returns the smallest unit that `text`, an accepted timestamp, writes, or
/// `None` for text whose form is not recognized, such as a JSON number with
/// an exponent.
pub fn timestamp_precision(text: &str) -> Option<Precision> {
    let bytes = text.as_bytes();
    if bytes.first().is_some_and(u8::is_ascii_digit) && bytes.iter().all(u8::is_ascii_digit) {
        return Some(Precision::Second);
    }
    if is_unix_seconds_with_fraction(text) {
        return Some(Precision::Fraction);
    }
    if let Some(precision) = iso8601::precision(text) {
        return Some(precision);
    }
    // An RFC 2822 time has no fraction, and its seconds are optional. Its
    // offset has no colon, so the colons are those of the time.
    parse_rfc2822(text).ok()?;
    match text.bytes().filter(|byte| *byte == b':').count() {
        1 => Some(Precision::Minute),
        _ => Some(Precision::Second),
    }
}

/// Returns true for `SECONDS.FRACTION`, as `date +%s.%N` prints it.
fn is_unix_seconds_with_fraction(text: &str) -> bool {
    let Some((whole, fraction)) = text.split_once('.') else {
        return false;
    };
    let is_digits = |part: &str| !part.is_empty() && part.bytes().all(|byte| byte.is_ascii_digit());
    is_digits(whole) && is_digits(fraction)
}

/// Returns true for `-SECONDS[.FRACTION]` with a nonzero digit, a Unix time before 1970. It gets
/// the range error that a negative JSON number gets, while `-0` stays unrecognized.
fn is_negative_unix_seconds(text: &str) -> bool {
    let Some(magnitude) = text.strip_prefix('-') else {
        return false;
    };
    let (whole, fraction) = magnitude.split_once('.').unwrap_or((magnitude, "0"));
    let is_digits = |part: &str| !part.is_empty() && part.bytes().all(|byte| byte.is_ascii_digit());
    let is_nonzero = magnitude.bytes().any(|byte| matches!(byte, b'1'..=b'9'));
    is_digits(whole) && is_digits(fraction) && is_nonzero
}

/// Returns true for text that starts like the ISO 8601 basic format, such as
/// `20261204T145754+0100`: 8 digits of date, `T` and a digit of the hour.
fn is_iso8601_basic_format(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() >= 10
        && bytes[..8].iter().all(u8::is_ascii_digit)
        && matches!(bytes[8], b'T' | b't')
        && bytes[9].is_ascii_digit()
}

/// Converts the ASCII digits after a decimal separator to nanoseconds. No digits give zero.
fn fraction_to_nanoseconds(digits: &[u8]) -> Result<u32, TimestampError> {
    if digits.len() > 9 {
        return Err(TimestampError::FractionTooLong {
            digits: Some(digits.len()),
        });
    }
    let value = digits
        .iter()
        .fold(0, |value, digit| value * 10 + u32::from(digit - b'0'));
    // At most 9 digits, so the exponent is 0 to 9 and the product stays below 10^9.
    Ok(value * 10u32.pow(9 - digits.len() as u32))
}

/// Checks the range of accepted instants, which is the range of every timestamp whatever
/// year it writes.
fn check_instant_range(instant: DateTime<Utc>) -> Result<DateTime<Utc>, TimestampError> {
    let seconds = instant.timestamp();
    if seconds < 0 {
        Err(TimestampError::InstantBeforeRange {
            instant: Some(instant),
        })
    } else if seconds > MAX_UNIX_SECONDS {
        Err(TimestampError::InstantAfterRange {
            instant: Some(instant),
        })
    } else {
        Ok(instant)
    }
}

/// Rejects a written year outside 1970 to 9999, like any other field out of range, even
/// where an offset would move the instant into range: `1969-12-31T23:30:00-01:00` is `400`.
/// [`check_instant_range`] then checks the instant, so `1970-01-01T00:30:00+01:00` is
/// `400` as well.
fn check_year(year: i32) -> Result<(), TimestampError> {
    if (1970..=9999).contains(&year) {
        Ok(())
    } else {
        Err(TimestampError::YearOutOfRange { year })
    }
}

/// Returns the range error for a written `year` whose instant could not be computed.
fn out_of_range_in_year(year: i32) -> TimestampError {
    if year < 1970 {
        TimestampError::InstantBeforeRange { instant: None }
    } else {
        TimestampError::InstantAfterRange { instant: None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use chrono_tz::Europe;

    pub(super) const BERLIN: Tz = Europe::Berlin;

    #[test]
    fn repeated_local_time_in_fall_back() {
        let repeated = repeated_local_time("2026-10-25 02:15:00", BERLIN);
        let offsets = repeated.map(|repeated| (repeated.earlier, repeated.later));
        let expected = (
            FixedOffset::east_opt(7200).expect("offset"),
            FixedOffset::east_opt(3600).expect("offset"),
        );
        assert_eq!(offsets, Some(expected));
    }

    #[test]
    fn repeated_local_time_outside_fall_back() {
        let repeated = repeated_local_time("2026-10-25 03:15:00", BERLIN);
        assert_eq!(repeated, None);
    }

    #[test]
    fn repeated_local_time_with_offset() {
        let repeated = repeated_local_time("2026-10-25T02:15:00+01:00", BERLIN);
        assert_eq!(repeated, None);
    }

    #[test]
    fn repeated_local_time_of_date_alone() {
        let repeated = repeated_local_time("2026-10-25", BERLIN);
        assert_eq!(repeated, None);
    }

    fn instant(rfc3339: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(rfc3339)
            .expect("expected instant in the test is valid RFC 3339")
            .with_timezone(&Utc)
    }

    pub(super) fn assert_parses(text: &str, zone: Tz, expected: &str) {
        assert_eq!(
            parse_timestamp(text, zone),
            Ok(instant(expected)),
            "input {text:?}"
        );
    }

    pub(super) fn assert_rejects(text: &str, zone: Tz, expected: TimestampError) {
        assert_eq!(parse_timestamp(text, zone), Err(expected), "input {text:?}");
    }

    pub(super) fn out_of_range(
        field: &'static str,
        value: u32,
        min: u32,
        max: u32,
    ) -> TimestampError {
        TimestampError::FieldOutOfRange {
            field,
            value,
            min,
            max,
        }
    }

    pub(super) fn unrecognized_input(text: &str) -> TimestampError {
        TimestampError::UnrecognizedFormat {
            text: text.to_string(),
        }
    }

    #[test]
    fn local_time_reports_its_zone() {
        let resolved = resolve_timestamp("2026-12-04 14:57:54", BERLIN);
        assert_eq!(
            resolved.map(|resolved| resolved.local_zone),
            Ok(Some(BERLIN))
        );
    }

    #[test]
    fn date_alone_reports_its_zone() {
        let resolved = resolve_timestamp("2026-12-04", BERLIN);
        assert_eq!(
            resolved.map(|resolved| resolved.local_zone),
            Ok(Some(BERLIN))
        );
    }

    #[test]
    fn timestamps_with_offset_report_no_zone() {
        for text in [
            "2026-12-04T14:57:54+01:00",
            "2026-12-04T13:57:54Z",
            "Fri, 04 Dec 2026 14:57:54 +0100",
            "1796392674.5",
        ] {
            let resolved = resolve_timestamp(text, BERLIN);
            assert_eq!(
                resolved.map(|resolved| resolved.local_zone),
                Ok(None),
                "{text}"
            );
        }
    }

    #[test]
    fn precision_of_date_forms() {
        let cases = [
            ("2026-12-04", Precision::Day),
            ("2026-12-04T14+01:00", Precision::Hour),
            ("2026-12-04T14:57+01:00", Precision::Minute),
            ("2026-12-04T14:57:54+01:00", Precision::Second),
            ("2026-12-04 14:57:54", Precision::Second),
            ("2026-12-04T14:57:54,5+01:00", Precision::Fraction),
            ("2026-12-04T14:57:54.123456789+01:00", Precision::Fraction),
            ("1796392674", Precision::Second),
            ("1796392674.123456789", Precision::Fraction),
            ("Fri, 04 Dec 2026 14:57:54 +0100", Precision::Second),
            ("Fri, 04 Dec 2026 14:57 +0100", Precision::Minute),
        ];
        for (text, expected) in cases {
            assert_eq!(timestamp_precision(text), Some(expected), "{text}");
        }
    }

    #[test]
    fn precision_of_exponent_is_unknown() {
        assert_eq!(timestamp_precision("1.796392674e9"), None);
    }

    #[test]
    fn rejects_empty() {
        assert_rejects("", BERLIN, TimestampError::Empty);
    }

    #[test]
    fn plain_date_output_is_named() {
        let error = parse_timestamp("Fri Dec  4 14:57:54 CET 2026", chrono_tz::UTC).unwrap_err();
        assert!(
            error.to_string().contains("plain output of `date`"),
            "{error}"
        );
    }

    #[test]
    fn javascript_date_string_is_named() {
        let text = "Sat Dec 05 2026 10:00:00 GMT+0100 (Central European Standard Time)";
        let error = parse_timestamp(text, chrono_tz::UTC).unwrap_err();
        assert_eq!(
            error.to_string(),
            "it is the form that JavaScript's `Date.toString()` prints, so send the output of \
             `toISOString()` instead, which is `2026-12-05T09:00:00.000Z` for this value, or \
             the same time with its UTC offset, `2026-12-05T10:00:00+01:00`"
        );
    }

    #[test]
    fn javascript_date_string_with_space_is_named() {
        let text = "Sat Dec 05 2026 10:00:00 GMT 0100 (Central European Standard Time)";
        let error = parse_timestamp(text, chrono_tz::UTC).unwrap_err();
        assert!(error.to_string().contains("`toISOString()`"), "{error}");
    }

    #[test]
    fn plain_date_output_is_not_javascript() {
        let error = parse_timestamp("Sat Dec  5 10:00:00 GMT 2026", chrono_tz::UTC).unwrap_err();
        assert!(
            error.to_string().contains("plain output of `date`"),
            "{error}"
        );
    }

    #[test]
    fn text_without_spaces_is_unrecognized() {
        let error = parse_timestamp("0x10", chrono_tz::UTC).unwrap_err();
        assert!(
            matches!(error, TimestampError::UnrecognizedFormat { .. }),
            "{error:?}"
        );
    }

    #[test]
    fn unrecognized_format_does_not_repeat_value() {
        let error = parse_timestamp("yesterday", chrono_tz::UTC).unwrap_err();
        assert!(!error.to_string().contains("yesterday"), "{error}");
    }

    #[test]
    fn rejects_surrounding_whitespace() {
        for text in [
            " 2026-12-04",
            "2026-12-04 ",
            "1796392674\n",
            "\t0",
            " ",
            "0\u{a0}",
        ] {
            assert_rejects(text, BERLIN, TimestampError::SurroundingWhitespace);
        }
    }

    #[test]
    fn rejects_carriage_return_at_end() {
        for text in ["2026-12-04T14:57:54+01:00\r", " 1796392674 \r "] {
            assert_rejects(
                text,
                BERLIN,
                TimestampError::CarriageReturnAtEnd { newline: false },
            );
        }
    }

    #[test]
    fn rejects_crlf_at_end() {
        assert_rejects(
            "1796392674\r\n",
            BERLIN,
            TimestampError::CarriageReturnAtEnd { newline: true },
        );
    }

    #[test]
    fn rejects_ten_fraction_digits() {
        let expected = TimestampError::FractionTooLong { digits: Some(10) };
        assert_rejects("2026-12-04T14:57:54.1234567890Z", BERLIN, expected.clone());
        assert_rejects("1796392674.1234567890", BERLIN, expected);
    }

    fn before_range(rfc3339: &str) -> TimestampError {
        TimestampError::InstantBeforeRange {
            instant: Some(instant(rfc3339)),
        }
    }

    #[test]
    fn rejects_instant_before_1970() {
        let expected = before_range("1969-12-31T23:30:00Z");
        assert_rejects("1970-01-01T00:30:00+01:00", BERLIN, expected.clone());
        assert_rejects("Thu, 01 Jan 1970 00:30:00 +0100", BERLIN, expected);
        let midnight = before_range("1969-12-31T23:00:00Z");
        assert_rejects("1970-01-01", BERLIN, midnight);
    }

    #[test]
    fn rejects_year_1969_at_instant_in_1970() {
        let expected = TimestampError::YearOutOfRange { year: 1969 };
        assert_rejects("1969-12-31T23:59:59-01:00", BERLIN, expected.clone());
        let new_york = chrono_tz::America::New_York;
        assert_rejects("1969-12-31 20:00:00", new_york, expected);
    }

    #[test]
    fn rejects_year_10000_at_instant_in_9999() {
        let expected = TimestampError::YearOutOfRange { year: 10000 };
        assert_rejects("10000-01-01T00:30:00+01:00", BERLIN, expected);
    }

    #[test]
    fn range_message_names_instant_and_limit() {
        let error = parse_timestamp("1970-01-01T00:00:00+01:00", BERLIN).unwrap_err();
        assert_eq!(
            error.to_string(),
            "the timestamp is the instant 1969-12-31T23:00:00Z, before 1970-01-01T00:00:00Z, \
             the earliest accepted instant, so give a later time"
        );
    }

    #[test]
    fn accepts_range_ends() {
        assert_parses("1970-01-01T00:00:00Z", BERLIN, "1970-01-01T00:00:00Z");
        assert_parses("1970-01-01T01:00:00+01:00", BERLIN, "1970-01-01T00:00:00Z");
        let last = "9999-12-31T23:59:59.999999999Z";
        assert_parses(last, BERLIN, last);
    }

    #[test]
    fn rejects_instant_from_year_10000() {
        let year_10000 = TimestampError::InstantAfterRange {
            instant: DateTime::from_timestamp(MAX_UNIX_SECONDS + 1, 0),
        };
        assert_rejects("9999-12-31T23:00:00-01:00", BERLIN, year_10000.clone());
        assert_rejects("253402300800", BERLIN, year_10000);
        let largest_unix_seconds = TimestampError::InstantAfterRange {
            instant: DateTime::from_timestamp(999_999_999_999, 0),
        };
        assert_rejects("999999999999", BERLIN, largest_unix_seconds);
        let expected = TimestampError::InstantAfterRange { instant: None };
        assert_rejects("1000000000000000000000", BERLIN, expected.clone());
        assert_rejects("1796392674123.5", BERLIN, expected.clone());
        assert_rejects("99999999999999999999999999999999.5", BERLIN, expected);
    }

    #[test]
    fn rejects_unrecognized_forms() {
        let texts = [
            "now",
            "2026-12-04T14:57:54.+01:00",
            "2026-12-04T14:57.5",
            "2026-12-04T14.5",
            "2026-12-04T1457",
            "2026-12-04x14:57:54",
            "2026-12-04T",
            "2026-12-4",
            "2026-1-04",
            "+1796392674",
            "-0",
            "-0.0",
            "-1.",
            "-.5",
            "--1",
            "-1e9",
            "2026-12-04 CET",
            "2026-12-04T14:57:54 C",
            "2026-12-04T14:57:54  CET",
            "2026-12-04T14:57:54 ABCDEFG",
            "2026-12-04+01:00:00",
            "20261204T",
            "2026120T145754Z",
            "1e9",
            "1796392674.",
            ".5",
            "1.2.3",
            "1,5",
        ];
        for text in texts {
            assert_rejects(text, BERLIN, unrecognized_input(text));
        }
    }

    #[test]
    fn rejects_negative_unix_seconds_as_out_of_range() {
        for text in ["-1", "-5", "-0.5", "-1796392674.123456789", "-1.1234567890"] {
            let expected = TimestampError::InstantBeforeRange { instant: None };
            assert_rejects(text, BERLIN, expected);
        }
    }

    #[test]
    fn rejects_basic_format() {
        for text in [
            "20261204T145754+0100",
            "20261204T145754Z",
            "20261204t1457",
            "20261204T14",
            "20261204T145754,5",
        ] {
            assert_rejects(text, BERLIN, TimestampError::BasicFormat);
        }
    }

    #[test]
    fn unrecognized_keeps_64_characters() {
        let text = format!("{}{}", "x".repeat(30), "é".repeat(40));
        let expected = unrecognized_input(&format!("{}{}", "x".repeat(30), "é".repeat(34)));
        assert_eq!(unrecognized(&text), expected);
    }

    #[test]
    fn message_for_format_gives_examples() {
        let error = parse_timestamp("yesterday", BERLIN).expect_err("text is no timestamp");
        let message = error.to_string();
        assert!(message.contains("2026-12-04T14:57:54+01:00"), "{message}");
        assert!(message.contains("date +%s"), "{message}");
        assert!(message.contains("date -R"), "{message}");
    }

    /// Deterministic xorshift64 generator, so that a failing input repeats on every run.
    struct Xorshift(u64);

    impl Xorshift {
        fn below(&mut self, bound: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % bound as u64) as usize
        }
    }

    #[test]
    fn garbage_never_panics() {
        let pieces = [
            "0",
            "1",
            "2",
            "5",
            "9",
            "00",
            "12",
            "23",
            "24",
            "59",
            "60",
            "99",
            "1970",
            "2026",
            "9999",
            "-",
            ":",
            "T",
            "t",
            " ",
            ".",
            ",",
            "+",
            "Z",
            "z",
            "e",
            "Dec",
            "Fri, ",
            "+0100",
            "253402300800",
            "\0",
            "\n",
            "é",
            "€",
            "😀",
            "\u{a0}",
            "２",
            "2026-12-04",
            "T14:57:54",
            "123456789012",
        ];
        let seeds = [
            "2026-12-04T14:57:54,123456789+01:00",
            "Fri, 04 Dec 2026 14:57:54 +0100",
            "1796392674.123456789",
        ];
        let mut random = Xorshift(0x9E37_79B9_7F4A_7C15);
        for round in 0..6000 {
            let mut text = String::new();
            if round % 2 == 0 {
                for _ in 0..random.below(12) {
                    text.push_str(pieces[random.below(pieces.len())]);
                }
            } else {
                // Replaces one character of a valid timestamp with a piece.
                let seed = seeds[random.below(seeds.len())];
                let chars: Vec<char> = seed.chars().collect();
                let at = random.below(chars.len());
                text.extend(&chars[..at]);
                text.push_str(pieces[random.below(pieces.len())]);
                text.extend(&chars[at + 1..]);
            }
            match parse_timestamp(&text, BERLIN) {
                Ok(instant) => {
                    let seconds = instant.timestamp();
                    assert!((0..=MAX_UNIX_SECONDS).contains(&seconds), "input {text:?}");
                }
                Err(error) => assert!(!error.to_string().is_empty(), "input {text:?}"),
            }
        }
    }

    #[test]
    fn random_bytes_never_panic() {
        let mut random = Xorshift(0x2545_F491_4F6C_DD1D);
        for _ in 0..4000 {
            let length = random.below(40);
            let bytes: Vec<u8> = (0..length).map(|_| random.below(256) as u8).collect();
            let text = String::from_utf8_lossy(&bytes);
            if let Err(error) = parse_timestamp(&text, BERLIN) {
                assert!(!error.to_string().is_empty(), "input {text:?}");
            }
        }
    }
}
