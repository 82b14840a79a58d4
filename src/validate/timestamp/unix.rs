//! Unix time in seconds with an optional fraction, as `date +%s` and `date +%s.%N` print it.
//! An integer with 13 to 21 digits gets its own error, because that many digits suggest
//! milliseconds, microseconds or nanoseconds sent without a point, and so
//! does an integer that reads as a date written without separators.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

use super::error::{unrecognized, TimestampError};
use super::{fraction_to_nanoseconds, MAX_UNIX_SECONDS_DIGITS};

/// Number of digits of the last nanosecond of 9999 in Unix time. An integer with 13 to this many
/// digits fits milliseconds, microseconds or nanoseconds in range.
const MAX_UNIX_NANOSECONDS_DIGITS: usize = 21;

/// Parses `SECONDS[.FRACTION]`, as `date +%s` and `date +%s.%N` print it.
pub(super) fn parse_unix_seconds(text: &str) -> Result<DateTime<Utc>, TimestampError> {
    let (whole, fraction) = match text.split_once('.') {
        Some((_, "")) => return Err(unrecognized(text)),
        Some(parts) => parts,
        None => (text, ""),
    };
    let is_digits = |part: &str| part.bytes().all(|byte| byte.is_ascii_digit());
    if whole.is_empty() || !is_digits(whole) || !is_digits(fraction) {
        return Err(unrecognized(text));
    }
    // A JSON encoder may write a whole number as `20261204.0`.
    let significant = whole.trim_start_matches('0');
    if fraction.bytes().all(|digit| digit == b'0') {
        if let Some(local) = compact_date(significant) {
            return Err(TimestampError::CompactDate {
                local,
                digits: significant.len(),
            });
        }
    }
    let nanoseconds = fraction_to_nanoseconds(fraction.as_bytes())?;

    // Any number longer than 12 digits is past MAX_UNIX_SECONDS, and shorter ones fit an i64.
    if significant.len() > MAX_UNIX_SECONDS_DIGITS {
        let fits_subseconds = significant.len() <= MAX_UNIX_NANOSECONDS_DIGITS;
        return Err(if fraction.is_empty() && fits_subseconds {
            TimestampError::UnixSecondsTooLong {
                digits: significant.len(),
            }
        } else {
            TimestampError::InstantAfterRange { instant: None }
        });
    }
    let seconds = match significant {
        "" => 0,
        digits => digits.parse::<i64>().map_err(|_| unrecognized(text))?,
    };
    DateTime::from_timestamp(seconds, nanoseconds)
        .ok_or(TimestampError::InstantAfterRange { instant: None })
}

/// Reads `digits` as a date or date and time without separators, as
/// `date +%Y%m%d`, `date +%Y%m%d%H%M` and `date +%Y%m%d%H%M%S` print them,
/// with a year from 1970 to 9999. Other lengths are left to Unix time: 10
/// digits (`%Y%m%d%H`) are also the Unix seconds of the years 2001 to 2286.
fn compact_date(digits: &str) -> Option<NaiveDateTime> {
    let field = |range: std::ops::Range<usize>| digits.get(range)?.parse::<u32>().ok();
    let (hour, minute, second) = match digits.len() {
        8 => (0, 0, 0),
        12 => (field(8..10)?, field(10..12)?, 0),
        14 => (field(8..10)?, field(10..12)?, field(12..14)?),
        _ => return None,
    };
    let year = i32::try_from(field(0..4)?).ok()?;
    if year < 1970 {
        return None;
    }
    NaiveDate::from_ymd_opt(year, field(4..6)?, field(6..8)?)?.and_hms_opt(hour, minute, second)
}

#[cfg(test)]
mod tests {
    use crate::validate::timestamp::tests::{assert_parses, assert_rejects, BERLIN};
    use crate::validate::timestamp::{parse_timestamp, TimestampError};

    #[test]
    fn unix_seconds() {
        assert_parses("1796392674", BERLIN, "2026-12-04T13:57:54Z");
    }

    #[test]
    fn unix_seconds_with_nanoseconds() {
        assert_parses(
            "1796392674.123456789",
            BERLIN,
            "2026-12-04T13:57:54.123456789Z",
        );
        assert_parses("1796392674.5", BERLIN, "2026-12-04T13:57:54.5Z");
    }

    #[test]
    fn unix_seconds_range_ends() {
        assert_parses("0", BERLIN, "1970-01-01T00:00:00Z");
        assert_parses("0000000000", BERLIN, "1970-01-01T00:00:00Z");
        assert_parses("253402300799", BERLIN, "9999-12-31T23:59:59Z");
        assert_parses(
            "253402300799.999999999",
            BERLIN,
            "9999-12-31T23:59:59.999999999Z",
        );
    }

    #[test]
    fn unix_seconds_leading_zeros() {
        assert_parses("000000000000001796392674", BERLIN, "2026-12-04T13:57:54Z");
    }

    #[test]
    fn rejects_unix_time_in_smaller_units() {
        let cases = [
            ("1000000000000", 13),
            ("1796392674123", 13),
            ("1796392674123456", 16),
            ("1796392674123456789", 19),
            ("0001796392674123456789", 19),
            ("999999999999999999999", 21),
        ];
        for (text, digits) in cases {
            assert_rejects(text, BERLIN, TimestampError::UnixSecondsTooLong { digits });
        }
    }

    #[test]
    fn message_for_unix_nanoseconds_gives_fix() {
        let error = parse_timestamp("1796392674123456789", BERLIN).expect_err("too many digits");
        let message = error.to_string();
        assert!(message.contains("19 digits"), "{message}");
        assert!(message.contains("nanoseconds"), "{message}");
        assert!(message.contains("`date +%s.%N`"), "{message}");
    }

    #[test]
    fn message_for_unix_nanoseconds_does_not_repeat_value() {
        let error = parse_timestamp("1796392674123456789", BERLIN).expect_err("too many digits");
        assert!(!error.to_string().contains("1796392674"), "{error}");
    }

    fn compact(text: &str) -> TimestampError {
        parse_timestamp(text, BERLIN).expect_err("a compact date")
    }

    #[test]
    fn rejects_compact_dates() {
        for (text, length) in [
            ("20261204", 8),
            ("202612041457", 12),
            ("20261204145754", 14),
        ] {
            let error = compact(text);
            assert!(
                matches!(error, TimestampError::CompactDate { digits, .. } if digits == length),
                "{text}: {error:?}"
            );
        }
    }

    #[test]
    fn message_for_compact_date_names_the_date() {
        let message = compact("20261204").to_string();
        assert!(message.contains("2026-12-04 written without"), "{message}");
        assert!(message.contains("`date +%Y%m%d`"), "{message}");
        assert!(message.contains("`date -I`"), "{message}");
    }

    #[test]
    fn message_for_compact_time_names_time() {
        let message = compact("20261204145754").to_string();
        assert!(message.contains("2026-12-04T14:57:54 written"), "{message}");
        assert!(message.contains("`date -Iseconds`"), "{message}");
    }

    #[test]
    fn accepts_eight_digits_that_are_no_date() {
        assert_parses("20261304", BERLIN, "1970-08-23T12:08:24Z");
        assert_parses("19691231", BERLIN, "1970-08-16T21:47:11Z");
        assert_parses("12345678", BERLIN, "1970-05-23T21:21:18Z");
    }

    #[test]
    fn rejects_compact_date_with_zero_fraction() {
        let error = compact("20261204.0");
        assert!(
            matches!(error, TimestampError::CompactDate { digits: 8, .. }),
            "{error:?}"
        );
    }

    #[test]
    fn rejects_compact_date_with_leading_zeros() {
        let error = compact("0020261204");
        assert!(
            matches!(error, TimestampError::CompactDate { digits: 8, .. }),
            "{error:?}"
        );
    }

    #[test]
    fn accepts_compact_date_with_fraction() {
        assert_parses("20261204.5", BERLIN, "1970-08-23T12:06:44.5Z");
    }

    #[test]
    fn accepts_ten_digits_as_unix_seconds() {
        assert_parses("2026120414", BERLIN, "2034-03-16T11:13:34Z");
    }

    #[test]
    fn rejects_fourteen_digits_as_too_long() {
        assert_rejects(
            "20261204145760",
            BERLIN,
            TimestampError::UnixSecondsTooLong { digits: 14 },
        );
    }
}
