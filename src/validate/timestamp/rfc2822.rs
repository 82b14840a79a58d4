//! RFC 2822 dates, as `date -R` prints them. chrono parses them, and this file adds the year
//! range and the leap second rule of the module. Where chrono rejects a date, this file finds
//! the year, day, weekday or zone abbreviation at fault.

use chrono::format::{Fixed, Item, ParseErrorKind, Parsed};
use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};

use super::check_year;
use super::error::{unrecognized, TimestampError};

/// Parses `date -R` output, rejecting what chrono accepts beyond the rules of this module.
pub(super) fn parse_rfc2822(text: &str) -> Result<DateTime<Utc>, TimestampError> {
    let parsed = DateTime::parse_from_rfc2822(text).map_err(|error| match error.kind() {
        ParseErrorKind::OutOfRange | ParseErrorKind::Impossible => invalid_rfc2822_date(text)
            .unwrap_or_else(|| TimestampError::InvalidRfc2822 {
                reason: error.to_string(),
            }),
        _ => rfc2822_zone_abbreviation(text)
            .or_else(|| rfc2822_offset_with_colon(text))
            .or_else(|| rfc2822_text_after_offset(text))
            .unwrap_or_else(|| unrecognized(text)),
    })?;
    // chrono stores second 60 as second 59 with a nanosecond value of one second or more.
    if parsed.nanosecond() >= 1_000_000_000 {
        return Err(TimestampError::LeapSecond);
    }
    check_year(parsed.year())?;
    Ok(parsed.with_timezone(&Utc))
}

/// Reads the fields of an RFC 2822 date without checking that they fit together.
fn rfc2822_fields(text: &str) -> Option<Parsed> {
    let mut parsed = Parsed::new();
    chrono::format::parse(&mut parsed, text, [Item::Fixed(Fixed::RFC2822)].iter()).ok()?;
    Some(parsed)
}

/// Finds the field of an RFC 2822 date that chrono rejected as out of range or impossible:
/// the year, a day that the month does not have, or a weekday that is not the date's.
/// Returns `None` when the fields cannot be read or the year, date and weekday are valid.
fn invalid_rfc2822_date(text: &str) -> Option<TimestampError> {
    let parsed = rfc2822_fields(text)?;
    let (year, month, day) = (parsed.year()?, parsed.month()?, parsed.day()?);
    if let Err(error) = check_year(year) {
        return Some(error);
    }
    let Some(date) = NaiveDate::from_ymd_opt(year, month, day) else {
        return Some(TimestampError::NonexistentDate { year, month, day });
    };
    parsed
        .weekday()
        .filter(|weekday| *weekday != date.weekday())
        .map(|weekday| TimestampError::WeekdayMismatch { weekday, date })
}

/// Returns the error for an RFC 2822 date that ends in a zone abbreviation that chrono does not
/// accept, such as `CET`: text that is a valid RFC 2822 date once its last word is an offset.
fn rfc2822_zone_abbreviation(text: &str) -> Option<TimestampError> {
    let (date_time, abbreviation) = text.rsplit_once(' ')?;
    let is_abbreviation = (2..=6).contains(&abbreviation.len())
        && abbreviation.bytes().all(|byte| byte.is_ascii_alphabetic());
    let with_offset = format!("{date_time} +0000");
    (is_abbreviation && rfc2822_fields(&with_offset).is_some()).then(|| {
        TimestampError::Rfc2822ZoneAbbreviation {
            abbreviation: abbreviation.to_string(),
        }
    })
}

/// Returns the error for an RFC 2822 date followed by one more word, such as the zone name
/// of `$(date -R) $(date +%Z)`, or a second offset. When the date before the word is
/// rejected itself, as for second 60, its error comes first, because it is the first thing
/// to fix.
fn rfc2822_text_after_offset(text: &str) -> Option<TimestampError> {
    let (timestamp, word) = text.rsplit_once(' ')?;
    rfc2822_fields(timestamp)?;
    if let Err(error) = parse_rfc2822(timestamp) {
        return Some(error);
    }
    Some(if super::iso8601::is_offset(word) {
        TimestampError::SecondOffset {
            timestamp: timestamp.to_string(),
            offset: word.to_string(),
        }
    } else {
        TimestampError::TextAfterOffset {
            timestamp: timestamp.to_string(),
            rest: format!(" {word}"),
        }
    })
}

/// Returns the error for an RFC 2822 date whose offset has a colon, such as `+01:00`: text that
/// is a valid RFC 2822 date once the colon is removed.
fn rfc2822_offset_with_colon(text: &str) -> Option<TimestampError> {
    let (date_time, offset) = text.rsplit_once(' ')?;
    let bytes = offset.as_bytes();
    let is_offset_with_colon = bytes.len() == 6
        && matches!(bytes[0], b'+' | b'-')
        && bytes[1..3].iter().all(u8::is_ascii_digit)
        && bytes[3] == b':'
        && bytes[4..].iter().all(u8::is_ascii_digit);
    if !is_offset_with_colon {
        return None;
    }
    let without_colon = format!("{date_time} {}", offset.replace(':', ""));
    rfc2822_fields(&without_colon)?;
    // Another fault of the date, such as a wrong weekday, is named first, so
    // that the value the message offers is one that is accepted.
    Some(match parse_rfc2822(&without_colon) {
        Ok(_) => TimestampError::Rfc2822OffsetWithColon {
            offset: offset.to_string(),
            without_colon,
        },
        Err(error) => error,
    })
}

#[cfg(test)]
mod tests {
    use crate::validate::timestamp::tests::{
        assert_parses, assert_rejects, unrecognized_input, BERLIN,
    };
    use crate::validate::timestamp::{parse_timestamp, TimestampError};
    use chrono::{NaiveDate, Weekday};

    #[test]
    fn rfc2822_from_date_r() {
        assert_parses(
            "Fri, 04 Dec 2026 14:57:54 +0100",
            BERLIN,
            "2026-12-04T13:57:54Z",
        );
    }

    #[test]
    fn rfc2822_without_weekday() {
        assert_parses("04 Dec 2026 14:57:54 -0000", BERLIN, "2026-12-04T14:57:54Z");
    }

    #[test]
    fn rfc2822_word_after_offset_is_named() {
        let cases = [
            (
                "Sat, 05 Dec 2026 14:57:54 +0100 CET",
                TimestampError::TextAfterOffset {
                    timestamp: "Sat, 05 Dec 2026 14:57:54 +0100".to_string(),
                    rest: " CET".to_string(),
                },
            ),
            (
                "Sat, 05 Dec 2026 14:57:54 +0100 GMT",
                TimestampError::SecondOffset {
                    timestamp: "Sat, 05 Dec 2026 14:57:54 +0100".to_string(),
                    offset: "GMT".to_string(),
                },
            ),
            (
                "Thu, 31 Dec 2026 23:59:60 +0000 UTC",
                TimestampError::LeapSecond,
            ),
            (
                "Sat, 05 Dec 2026 14:57:54 +0100 +0200",
                TimestampError::SecondOffset {
                    timestamp: "Sat, 05 Dec 2026 14:57:54 +0100".to_string(),
                    offset: "+0200".to_string(),
                },
            ),
        ];
        for (text, expected) in cases {
            assert_rejects(text, BERLIN, expected);
        }
    }

    #[test]
    fn rejects_rfc2822_leap_second() {
        let text = "Thu, 31 Dec 2026 23:59:60 +0000";
        assert_rejects(text, BERLIN, TimestampError::LeapSecond);
    }

    #[test]
    fn rejects_rfc2822_year_before_1970() {
        let expected = TimestampError::YearOutOfRange { year: 1969 };
        assert_rejects("Wed, 31 Dec 1969 23:59:59 +0000", BERLIN, expected.clone());
        assert_rejects("Wed, 31 Dec 1969 23:59:59 -0100", BERLIN, expected);
    }

    #[test]
    fn rejects_rfc2822_wrong_weekday() {
        let expected = TimestampError::WeekdayMismatch {
            weekday: Weekday::Thu,
            date: NaiveDate::from_ymd_opt(2026, 12, 4).expect("test date is valid"),
        };
        assert_rejects("Thu, 04 Dec 2026 14:57:54 +0100", BERLIN, expected);
    }

    #[test]
    fn message_for_wrong_weekday_names_both() {
        let error = parse_timestamp("Thu, 04 Dec 2026 14:57:54 +0100", BERLIN)
            .expect_err("weekday is wrong");
        let message = error.to_string();
        assert!(
            message.contains("weekday Thu does not match the date 2026-12-04, which is a Fri"),
            "{message}"
        );
    }

    #[test]
    fn rejects_rfc2822_nonexistent_day() {
        let expected = TimestampError::NonexistentDate {
            year: 2026,
            month: 2,
            day: 31,
        };
        assert_rejects("Fri, 31 Feb 2026 14:57:54 +0100", BERLIN, expected.clone());
        assert_rejects("31 Feb 2026 14:57:54 +0100", BERLIN, expected);
    }

    #[test]
    fn rejects_rfc2822_zone_abbreviation() {
        for (text, abbreviation) in [
            ("Fri, 04 Dec 2026 14:57:54 CET", "CET"),
            ("Fri, 04 Dec 2026 14:57:54 UTC", "UTC"),
            ("04 Dec 2026 14:57 cest", "cest"),
        ] {
            let expected = TimestampError::Rfc2822ZoneAbbreviation {
                abbreviation: abbreviation.to_string(),
            };
            assert_rejects(text, BERLIN, expected);
        }
    }

    #[test]
    fn message_for_rfc2822_abbreviation_gives_fix() {
        let error =
            parse_timestamp("Fri, 04 Dec 2026 14:57:54 CET", BERLIN).expect_err("abbreviation");
        let message = error.to_string();
        assert!(message.contains("zone abbreviation CET"), "{message}");
        assert!(message.contains("numeric offset"), "{message}");
        assert!(message.contains("`date -R`"), "{message}");
    }

    #[test]
    fn rejects_rfc2822_offset_with_colon() {
        for (text, offset, without_colon) in [
            (
                "Fri, 04 Dec 2026 14:57:54 +01:00",
                "+01:00",
                "Fri, 04 Dec 2026 14:57:54 +0100",
            ),
            (
                "04 Dec 2026 14:57:54 -05:30",
                "-05:30",
                "04 Dec 2026 14:57:54 -0530",
            ),
            (
                "Fri, 04 Dec 2026 14:57 +00:00",
                "+00:00",
                "Fri, 04 Dec 2026 14:57 +0000",
            ),
        ] {
            let expected = TimestampError::Rfc2822OffsetWithColon {
                offset: offset.to_string(),
                without_colon: without_colon.to_string(),
            };
            assert_rejects(text, BERLIN, expected);
        }
    }

    #[test]
    fn offset_colon_with_wrong_weekday_names_weekday() {
        let error =
            parse_timestamp("Sat, 04 Dec 2026 14:57:54 +01:00", BERLIN).expect_err("weekday");
        assert!(
            matches!(error, TimestampError::WeekdayMismatch { .. }),
            "{error:?}"
        );
    }

    #[test]
    fn malformed_colon_offset_is_unrecognized() {
        for text in [
            "Fri, 04 Dec 2026 14:57:54 +0:100",
            "Fri, 04 Dec 2026 14:57:54 +01:0",
            "Fri, 04 Dec 2026 +01:00",
        ] {
            assert_rejects(text, BERLIN, unrecognized_input(text));
        }
    }

    #[test]
    fn offset_colon_message_gives_fix() {
        let error = parse_timestamp("Fri, 04 Dec 2026 14:57:54 +01:00", BERLIN).expect_err("colon");
        let message = error.to_string();
        assert!(
            message.contains("the UTC offset +01:00 has a colon"),
            "{message}"
        );
        assert!(
            message.contains("send `Fri, 04 Dec 2026 14:57:54 +0100`"),
            "{message}"
        );
        assert!(message.contains("`date -R`"), "{message}");
    }

    #[test]
    fn rejects_invalid_rfc2822_date() {
        let hour_25 = parse_timestamp("Fri, 04 Dec 2026 25:57:54 +0100", BERLIN);
        assert!(
            matches!(hour_25, Err(TimestampError::InvalidRfc2822 { .. })),
            "{hour_25:?}"
        );
        let offset_24 = parse_timestamp("Fri, 04 Dec 2026 14:57:54 +2400", BERLIN);
        assert!(
            matches!(offset_24, Err(TimestampError::InvalidRfc2822 { .. })),
            "{offset_24:?}"
        );
    }
}
