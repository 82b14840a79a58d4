//! RFC 2822 dates, as `date -R` prints them. chrono parses them, and this file adds the year
//! range and the leap second rule of the module. Where chrono rejects a date, this file finds
//! the year, day, weekday or zone abbreviation at fault.

use chrono::format::{Fixed, Item, ParseErrorKind, Parsed};
use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};

use super::check_year;
use super::error::{unrecognized, TimestampError};
use super::iso8601::check_field;

/// Parses `date -R` output, rejecting what chrono accepts beyond the rules of this module.
pub(super) fn parse_rfc2822(text: &str) -> Result<DateTime<Utc>, TimestampError> {
    let parsed = DateTime::parse_from_rfc2822(text).map_err(|error| match error.kind() {
        ParseErrorKind::OutOfRange | ParseErrorKind::Impossible => invalid_rfc2822_date(text)
            .or_else(|| rfc2822_field_out_of_range(text))
            .unwrap_or_else(|| TimestampError::InvalidRfc2822 {
                reason: error.to_string(),
            }),
        _ => rfc2822_zone_abbreviation(text)
            .or_else(|| rfc2822_offset_with_colon(text))
            .or_else(|| rfc2822_text_after_offset(text))
            .or_else(|| rfc2822_malformed_offset(text))
            .or_else(|| rfc2822_missing_offset(text))
            .or_else(|| rfc2822_fraction(text))
            .unwrap_or_else(|| unrecognized(text)),
    })?;
    // chrono stores second 60 as second 59 with a nanosecond value of one second or more.
    if parsed.nanosecond() >= 1_000_000_000 {
        return Err(TimestampError::LeapSecond);
    }
    check_rfc2822_year(parsed.year(), text)?;
    Ok(parsed.with_timezone(&Utc))
}

/// Words of an RFC 2822 date as written, `[Www,] DD Mon YYYY HH:MM[:SS] [ZONE]`, before any
/// check of their content.
struct Rfc2822Words<'a> {
    day: &'a str,
    year: &'a str,
    time: &'a str,
    zone: Option<&'a str>,
}

/// Splits `text` into the words of an RFC 2822 date, skipping a weekday that ends in a comma.
/// Returns `None` when it has fewer than 4 words after the weekday.
fn rfc2822_words(text: &str) -> Option<Rfc2822Words<'_>> {
    let mut words = text.split_ascii_whitespace().peekable();
    words.next_if(|word| word.ends_with(','));
    let day = words.next()?;
    let _month = words.next()?;
    let year = words.next()?;
    let time = words.next()?;
    Some(Rfc2822Words {
        day,
        year,
        time,
        zone: words.next(),
    })
}

/// Checks the year of an RFC 2822 date, and names a year of 2 or 3 digits that RFC 2822 reads
/// as a year before 1970: 50 to 99 are 1950 to 1999, and 3 digits are added to 1900.
fn check_rfc2822_year(year: i32, text: &str) -> Result<(), TimestampError> {
    check_year(year).map_err(|error| {
        let written = rfc2822_words(text).map(|words| words.year);
        match written {
            Some(digits) if digits.len() < 4 && year < 1970 => TimestampError::Rfc2822ShortYear {
                digits: digits.to_string(),
                year,
            },
            _ => error,
        }
    })
}

/// Finds the field of an RFC 2822 date that is outside its range, which chrono does not name:
/// the day, hour, minute, second, offset hour or offset minute. Returns `None` when the words
/// cannot be read as numbers or every one of them is in range.
fn rfc2822_field_out_of_range(text: &str) -> Option<TimestampError> {
    let words = rfc2822_words(text)?;
    let number = |digits: &str| {
        let is_number =
            (1..=2).contains(&digits.len()) && digits.bytes().all(|byte| byte.is_ascii_digit());
        is_number.then(|| digits.parse::<u32>().ok()).flatten()
    };
    let mut time = words.time.split(':');
    let mut fields = vec![
        ("day", number(words.day)?, 1, 31),
        ("hour", number(time.next()?)?, 0, 23),
        ("minute", number(time.next()?)?, 0, 59),
    ];
    // chrono reads second 60, which is rejected as a leap second after parsing.
    match time.next().map(number) {
        Some(Some(60)) | None => {}
        Some(Some(second)) => fields.push(("second", second, 0, 59)),
        Some(None) => return None,
    }
    if time.next().is_some() {
        return None;
    }
    if let Some(digits) = words.zone.and_then(|zone| zone.strip_prefix(['+', '-'])) {
        if digits.len() == 4 && digits.is_ascii() {
            fields.push(("offset hour", number(&digits[..2])?, 0, 23));
            fields.push(("offset minute", number(&digits[2..])?, 0, 59));
        }
    }
    fields
        .into_iter()
        .find_map(|(field, value, min, max)| check_field(field, value, min, max).err())
}

/// Returns the error for an RFC 2822 date whose last word is a sign and digits in another
/// form than `+HHMM`, such as `+01` or `+1`: text that is a valid RFC 2822 date once that
/// word is `+0000`.
fn rfc2822_malformed_offset(text: &str) -> Option<TimestampError> {
    let (date_time, offset) = text.rsplit_once(' ')?;
    let digits = offset.strip_prefix(['+', '-'])?;
    let is_offset_like = !digits.is_empty()
        && digits
            .bytes()
            .all(|byte| byte.is_ascii_digit() || byte == b':');
    let with_offset = format!("{date_time} +0000");
    (is_offset_like && rfc2822_fields(&with_offset).is_some()).then(|| {
        TimestampError::Rfc2822MalformedOffset {
            offset: offset.to_string(),
        }
    })
}

/// Returns the error for an RFC 2822 date and time without a zone: text that is a valid RFC
/// 2822 date once `+0000` follows it.
fn rfc2822_missing_offset(text: &str) -> Option<TimestampError> {
    let has_no_zone = rfc2822_words(text).is_some_and(|words| words.zone.is_none());
    let with_offset = format!("{text} +0000");
    (has_no_zone && rfc2822_fields(&with_offset).is_some())
        .then_some(TimestampError::Rfc2822MissingOffset)
}

/// Returns the error for an RFC 2822 date whose time has a fraction of a second, such as
/// `14:57:54.5`: text that is a valid RFC 2822 date without the fraction. The error quotes
/// the same time in RFC 3339 where the fraction has 1 to 9 digits. Another fault of the date,
/// such as a wrong weekday, is named first, so that the value the message offers is accepted.
fn rfc2822_fraction(text: &str) -> Option<TimestampError> {
    let words = rfc2822_words(text)?;
    let (time, fraction) = words.time.split_once('.')?;
    // No word before the time contains a `:`, so the first match is the time.
    let time_start = text.find(words.time)?;
    let time_end = time_start + words.time.len();
    let without_fraction = format!("{}{time}{}", &text[..time_start], &text[time_end..]);
    rfc2822_fields(&without_fraction)?;
    if let Err(error) = parse_rfc2822(&without_fraction) {
        return Some(error);
    }
    let is_fraction =
        (1..=9).contains(&fraction.len()) && fraction.bytes().all(|byte| byte.is_ascii_digit());
    let rfc3339 = DateTime::parse_from_rfc2822(&without_fraction)
        .ok()
        .filter(|_| is_fraction)
        .map(|parsed| {
            format!(
                "{}.{fraction}{}",
                parsed.format("%Y-%m-%dT%H:%M:%S"),
                parsed.format("%:z")
            )
        });
    Some(TimestampError::Rfc2822Fraction { rfc3339 })
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
    if let Err(error) = check_rfc2822_year(year, text) {
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
        assert_parses, assert_rejects, out_of_range, unrecognized_input, BERLIN,
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
    fn rejects_rfc2822_malformed_offset() {
        for offset in ["+01", "+1", "-100", "+010000", "+0:100", "+01:0"] {
            let text = format!("Fri, 04 Dec 2026 14:57:54 {offset}");
            let expected = TimestampError::Rfc2822MalformedOffset {
                offset: offset.to_string(),
            };
            assert_rejects(&text, BERLIN, expected);
        }
    }

    #[test]
    fn rfc2822_malformed_offset_message_gives_form() {
        let error = parse_timestamp("Fri, 04 Dec 2026 14:57:54 +01", BERLIN).expect_err("offset");
        assert_eq!(
            error.to_string(),
            "the UTC offset `+01` is not written as +HHMM, with two digits each for hours and \
             minutes, as RFC 2822 requires, so write it in that form, as in \
             `Fri, 04 Dec 2026 14:57:54 +0100` from `date -R`"
        );
    }

    #[test]
    fn offset_without_time_is_unrecognized() {
        let text = "Fri, 04 Dec 2026 +01:00";
        assert_rejects(text, BERLIN, unrecognized_input(text));
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
    fn rejects_rfc2822_field_out_of_range() {
        let cases = [
            (
                "Fri, 04 Dec 2026 14:57:54 +2400",
                out_of_range("offset hour", 24, 0, 23),
            ),
            (
                "Fri, 04 Dec 2026 14:57:54 -0160",
                out_of_range("offset minute", 60, 0, 59),
            ),
            (
                "Fri, 04 Dec 2026 24:00:00 +0100",
                out_of_range("hour", 24, 0, 23),
            ),
            (
                "Fri, 04 Dec 2026 25:57:54 +0100",
                out_of_range("hour", 25, 0, 23),
            ),
            ("04 Dec 2026 14:60 +0100", out_of_range("minute", 60, 0, 59)),
            (
                "Fri, 04 Dec 2026 14:57:61 +0100",
                out_of_range("second", 61, 0, 59),
            ),
            ("32 Dec 2026 14:57:54 +0100", out_of_range("day", 32, 1, 31)),
        ];
        for (text, expected) in cases {
            assert_rejects(text, BERLIN, expected);
        }
    }

    #[test]
    fn rfc2822_offset_hour_message_names_field() {
        let error = parse_timestamp("Fri, 04 Dec 2026 14:57:54 +2400", BERLIN).expect_err("+2400");
        assert_eq!(
            error.to_string(),
            "the offset hour 24 is out of range, so give a value from 00 to 23"
        );
    }

    #[test]
    fn rejects_rfc2822_without_offset() {
        for text in ["Fri, 04 Dec 2026 14:57:54", "04 Dec 2026 14:57"] {
            assert_rejects(text, BERLIN, TimestampError::Rfc2822MissingOffset);
        }
    }

    #[test]
    fn rfc2822_without_offset_message_says_missing() {
        let error = parse_timestamp("Fri, 04 Dec 2026 14:57:54", BERLIN).expect_err("no offset");
        assert_eq!(
            error.to_string(),
            "the RFC 2822 date has no UTC offset after its time, and RFC 2822 requires one, so \
             add it, as in `Fri, 04 Dec 2026 14:57:54 +0100` from `date -R`"
        );
    }

    #[test]
    fn rejects_rfc2822_fraction() {
        let cases = [
            (
                "Fri, 04 Dec 2026 14:57:54.5 +0100",
                Some("2026-12-04T14:57:54.5+01:00"),
            ),
            (
                "04 Dec 2026 14:57:54.123456789 GMT",
                Some("2026-12-04T14:57:54.123456789+00:00"),
            ),
            ("Fri, 04 Dec 2026 14:57:54.1234567890 +0100", None),
        ];
        for (text, rfc3339) in cases {
            let expected = TimestampError::Rfc2822Fraction {
                rfc3339: rfc3339.map(str::to_string),
            };
            assert_rejects(text, BERLIN, expected);
        }
    }

    #[test]
    fn rfc2822_fraction_message_gives_rfc3339() {
        let error =
            parse_timestamp("Fri, 04 Dec 2026 14:57:54.5 +0100", BERLIN).expect_err("fraction");
        assert_eq!(
            error.to_string(),
            "the time has a fraction of a second, which RFC 2822 does not allow, so send \
             `2026-12-04T14:57:54.5+01:00` in RFC 3339, which keeps the fraction, or leave the \
             fraction out, as `date -R` does"
        );
    }

    #[test]
    fn rfc2822_fraction_with_wrong_weekday_names_weekday() {
        let error =
            parse_timestamp("Thu, 04 Dec 2026 14:57:54.5 +0100", BERLIN).expect_err("weekday");
        assert!(
            matches!(error, TimestampError::WeekdayMismatch { .. }),
            "{error:?}"
        );
    }

    #[test]
    fn rejects_rfc2822_short_year_before_1970() {
        let cases = [
            ("04 Dec 50 14:57:54 +0100", "50", 1950),
            ("Sun, 04 Dec 69 14:57:54 +0100", "69", 1969),
            ("04 Dec 069 14:57:54 +0100", "069", 1969),
        ];
        for (text, digits, year) in cases {
            let expected = TimestampError::Rfc2822ShortYear {
                digits: digits.to_string(),
                year,
            };
            assert_rejects(text, BERLIN, expected);
        }
    }

    #[test]
    fn rfc2822_short_year_message_says_how_read() {
        let error = parse_timestamp("04 Dec 50 14:57:54 +0100", BERLIN).expect_err("year 1950");
        assert_eq!(
            error.to_string(),
            "the year `50` has 2 digits, which RFC 2822 reads as the year 1950, before 1970, \
             so write all four digits of the year, as in `Fri, 04 Dec 2026 14:57:54 +0100` \
             from `date -R`"
        );
    }

    #[test]
    fn rfc2822_short_year_in_range_is_accepted() {
        assert_parses("04 Dec 26 14:57:54 +0100", BERLIN, "2026-12-04T13:57:54Z");
    }
}
