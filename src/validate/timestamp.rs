//! Parsing of the timestamps that backup Workers send, as printed by GNU `date`.
//!
//! Accepted forms are RFC 3339 and its common ISO 8601 variants, RFC 2822, and Unix time
//! in seconds. A date or date-time without an offset is local time in the caller's zone.
//! Every accepted instant lies in 1970-01-01T00:00:00Z..10000-01-01T00:00:00Z.

use std::fmt;

use chrono::format::{Fixed, Item, ParseErrorKind, Parsed};
use chrono::{
    DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, TimeZone, Timelike, Utc,
    Weekday,
};
use chrono_tz::Tz;

/// Largest accepted Unix time in whole seconds: 9999-12-31T23:59:59Z.
const MAX_UNIX_SECONDS: i64 = 253_402_300_799;

/// Number of digits of [`MAX_UNIX_SECONDS`]: no Unix seconds in range have more.
const MAX_UNIX_SECONDS_DIGITS: usize = 12;

/// Number of digits of the last nanosecond of 9999 in Unix time. An integer with 13 to this many
/// digits fits milliseconds, microseconds or nanoseconds in range.
const MAX_UNIX_NANOSECONDS_DIGITS: usize = 21;

/// Maximum number of characters of a rejected input that an error keeps.
const MAX_QUOTED_CHARS: usize = 64;

/// Parses a Worker's timestamp into an instant. `zone` resolves a local time without an offset.
///
/// A local time inside a daylight saving gap is an error, and a repeated local time resolves
/// to the earlier instant. A date alone is the first instant of that day in `zone`, which is
/// after midnight where the clocks skip midnight.
pub fn parse_timestamp(text: &str, zone: Tz) -> Result<DateTime<Utc>, TimestampError> {
    if text.is_empty() {
        return Err(TimestampError::Empty);
    }
    if text.trim() != text {
        return Err(TimestampError::SurroundingWhitespace);
    }

    let bytes = text.as_bytes();
    let leading_digits = bytes
        .iter()
        .take_while(|byte| byte.is_ascii_digit())
        .count();
    // A year has 4 digits, or more for a year past 9999, which gets its own error.
    let instant = if leading_digits >= 4 && bytes.get(leading_digits) == Some(&b'-') {
        parse_iso8601(text, zone)?
    } else if bytes.iter().all(|&b| b.is_ascii_digit() || b == b'.') {
        parse_unix_seconds(text)?
    } else if is_negative_unix_seconds(text) {
        return Err(TimestampError::InstantOutOfRange);
    } else if is_iso8601_basic_format(text) {
        return Err(TimestampError::BasicFormat);
    } else if text.contains(' ') {
        parse_rfc2822(text)?
    } else {
        // An RFC 2822 date has spaces between its fields, so text without
        // any (such as `0x10` or `now`) matches no accepted form.
        return Err(unrecognized(text));
    };
    check_instant_range(instant)
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

/// Returns true for text in the form that `date` prints without options,
/// such as `Fri Dec  4 14:57:54 CET 2026`: a weekday, a space, a month name.
fn is_plain_date_output(text: &str) -> bool {
    const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let mut words = text.split_ascii_whitespace();
    let weekday = words.next().unwrap_or_default();
    let month = words.next().unwrap_or_default();
    WEEKDAYS.contains(&weekday) && MONTHS.contains(&month)
}

/// Reason why a timestamp was rejected. Display gives one sentence for an API client: what was wrong
/// with the value and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimestampError {
    /// The text is empty.
    Empty,
    /// The text starts or ends with whitespace, which is not trimmed.
    SurroundingWhitespace,
    /// The text matches none of the accepted forms. `text` is the input, cut to 64 characters.
    UnrecognizedFormat { text: String },
    /// A field is outside `min..=max`, such as month 13, hour 24 or offset hour 24.
    FieldOutOfRange {
        field: &'static str,
        value: u32,
        min: u32,
        max: u32,
    },
    /// A date with valid fields that does not exist in the calendar, such as 2026-02-30.
    NonexistentDate { year: i32, month: u32, day: u32 },
    /// Second 60, which no Linux clock prints.
    LeapSecond,
    /// A fraction of a second with more than 9 digits. `digits` is `None` when the count is too
    /// large to compute, as for the JSON number `1e-99999999999999999999999`.
    FractionTooLong { digits: Option<usize> },
    /// Unix time without a fraction whose 13 to 21 digits are too many for seconds up to 9999,
    /// such as the nanoseconds that `date +%s%N` prints.
    UnixSecondsTooLong { digits: usize },
    /// A year in the text outside 1970..=9999.
    YearOutOfRange { year: i32 },
    /// An instant before 1970-01-01T00:00:00Z or at or after 10000-01-01T00:00:00Z.
    InstantOutOfRange,
    /// A local time that `zone` skips, usually at the start of daylight saving time.
    NonexistentLocalTime { local: NaiveDateTime, zone: Tz },
    /// A date alone whose whole day `zone` skips, such as 2011-12-30 in Pacific/Apia.
    NonexistentLocalDay { date: NaiveDate, zone: Tz },
    /// An ISO 8601 date and time followed by a zone abbreviation such as `CET`, as
    /// `date '+%F %T %Z'` prints it.
    ZoneAbbreviation { abbreviation: String },
    /// An RFC 2822 date that ends in a zone abbreviation that RFC 2822 does not define,
    /// such as `CET`.
    Rfc2822ZoneAbbreviation { abbreviation: String },
    /// An ISO 8601 UTC offset with seconds, such as `+01:00:00` from `date +%::z`.
    OffsetWithSeconds,
    /// An ISO 8601 date and time with a space before its UTC offset, as
    /// `date '+%F %T %:z'` prints it.
    SpaceBeforeOffset,
    /// The ISO 8601 basic format without `-` and `:` separators, such as `20261204T145754+0100`.
    BasicFormat,
    /// An RFC 2822 date whose weekday is not the weekday of its date.
    WeekdayMismatch { weekday: Weekday, date: NaiveDate },
    /// A JSON number with more than 9 fraction digits once its exponent is applied, such as
    /// `17963926740000000000000000000000000e-25`. `digits` is `None` when the count is too
    /// large to compute.
    ExponentFractionTooLong { digits: Option<usize> },
    /// An RFC 2822 date that chrono rejected with `reason`, such as hour 25 or offset `+2400`.
    InvalidRfc2822 { reason: String },
}

const ACCEPTED_FORMS: &str = "use RFC 3339 such as `2026-12-04T14:57:54+01:00` from \
    `date -Iseconds`, Unix seconds such as `1796392674` from `date +%s`, \
    or RFC 2822 such as `Fri, 04 Dec 2026 14:57:54 +0100` from `date -R`";

const FRACTION_FIX: &str = "give at most 9, which is nanoseconds as `date -Ins` prints them";

const EXPONENT_FRACTION_FIX: &str = "write it without an exponent and with at most 9 digits \
    after the point, as `date +%s.%N` prints it";

impl fmt::Display for TimestampError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => write!(f, "the timestamp is empty, so {ACCEPTED_FORMS}"),
            Self::SurroundingWhitespace => write!(
                f,
                "the timestamp starts or ends with whitespace, so remove it, \
                 such as the newline that ends the output of `date`"
            ),
            Self::UnrecognizedFormat { text } if is_plain_date_output(text) => write!(
                f,
                "it looks like the plain output of `date`, whose zone abbreviation can \
                 mean several offsets, so {ACCEPTED_FORMS}"
            ),
            Self::UnrecognizedFormat { .. } => {
                write!(f, "the format is not recognized, so {ACCEPTED_FORMS}")
            }
            Self::FieldOutOfRange {
                field,
                value,
                min,
                max,
            } => write!(
                f,
                "the {field} {value:02} is out of range, so give a value from {min:02} to {max:02}"
            ),
            Self::NonexistentDate { year, month, day } => write!(
                f,
                "the date {year:04}-{month:02}-{day:02} does not exist, so give a day that the month has"
            ),
            Self::LeapSecond => write!(
                f,
                "second 60 is a leap second, which no Linux clock prints, so give a second from 00 to 59"
            ),
            Self::FractionTooLong {
                digits: Some(digits),
            } => write!(
                f,
                "the fraction of a second has {digits} digits, so {FRACTION_FIX}"
            ),
            Self::FractionTooLong { digits: None } => write!(
                f,
                "the fraction of a second has more than 9 digits, so {FRACTION_FIX}"
            ),
            Self::ExponentFractionTooLong {
                digits: Some(digits),
            } => write!(
                f,
                "the number has {digits} digits after the decimal point once its exponent is \
                 applied, trailing zeros included, so {EXPONENT_FRACTION_FIX}"
            ),
            Self::ExponentFractionTooLong { digits: None } => write!(
                f,
                "the number has more than 9 digits after the decimal point once its exponent \
                 is applied, so {EXPONENT_FRACTION_FIX}"
            ),
            Self::UnixSecondsTooLong { digits } => write!(
                f,
                "the number has {digits} digits but Unix seconds up to 9999 have at most \
                 {MAX_UNIX_SECONDS_DIGITS}, which suggests milliseconds, microseconds or \
                 nanoseconds without a point, so put a point after the seconds, as `date +%s.%N` does"
            ),
            Self::YearOutOfRange { year } => {
                write!(
                    f,
                    "the year {year} is out of range, so give a year from 1970 to 9999"
                )
            }
            Self::InstantOutOfRange => write!(
                f,
                "the timestamp is outside 1970-01-01T00:00:00Z to \
                 9999-12-31T23:59:59.999999999Z, so give a time in that range"
            ),
            Self::NonexistentLocalTime { local, zone } => write!(
                f,
                "the local time {local} does not exist in {zone} because the clocks skip it, \
                 so add its UTC offset, as in `2026-12-04T14:57:54+01:00` from `date -Iseconds`"
            ),
            Self::NonexistentLocalDay { date, zone } => write!(
                f,
                "the day {date} does not exist in {zone} because the clocks skip all of it, \
                 so give another day or a time with its UTC offset, as in \
                 `2026-12-04T14:57:54+01:00` from `date -Iseconds`"
            ),
            Self::ZoneAbbreviation { abbreviation }
                if matches!(abbreviation.as_str(), "UTC" | "GMT" | "UT") =>
            {
                write!(
                    f,
                    "a zone name such as {abbreviation} is not accepted after an ISO 8601 time, \
                     so write Z or +00:00 instead, as in `2026-12-04T13:57:54Z` from \
                     `date -u +%Y-%m-%dT%H:%M:%SZ`"
                )
            }
            Self::ZoneAbbreviation { abbreviation } => write!(
                f,
                "the zone abbreviation {abbreviation} is not accepted, because abbreviations \
                 such as CST or IST mean more than one offset, so give a numeric offset, \
                 as in `2026-12-04T14:57:54+01:00` from `date -Iseconds`"
            ),
            Self::Rfc2822ZoneAbbreviation { abbreviation } => write!(
                f,
                "the zone abbreviation {abbreviation} is not one of the zone names that RFC 2822 \
                 defines (UT, GMT, EST, EDT, CST, CDT, MST, MDT, PST and PDT), so give a numeric \
                 offset, as in `Fri, 04 Dec 2026 14:57:54 +0100` from `date -R`"
            ),
            Self::SpaceBeforeOffset => write!(
                f,
                "the UTC offset is separated from the time by a space, as `date '+%F %T %:z'` \
                 prints it, so write the offset right after the time, as in \
                 `2026-12-04T14:57:54+01:00` from `date -Iseconds`"
            ),
            Self::OffsetWithSeconds => write!(
                f,
                "the UTC offset has seconds, as `date +%::z` prints it, so give the offset \
                 in hours and minutes, as in `2026-12-04T14:57:54+01:00` from `date -Iseconds`"
            ),
            Self::BasicFormat => write!(
                f,
                "it is the ISO 8601 basic format without the `-` and `:` separators, as \
                 `date +%Y%m%dT%H%M%S%z` prints it, so use the extended format with them, \
                 as in `2026-12-04T14:57:54+01:00` from `date -Iseconds`"
            ),
            Self::WeekdayMismatch { weekday, date } => write!(
                f,
                "the weekday {weekday} does not match the date {date}, which is a {actual}, so \
                 give {actual} or leave the weekday out, as in \
                 `Fri, 04 Dec 2026 14:57:54 +0100` from `date -R`",
                actual = date.weekday()
            ),
            Self::InvalidRfc2822 { reason } => write!(
                f,
                "the RFC 2822 date is invalid ({reason}), so check that its day, time, offset \
                 and weekday exist, as in `Fri, 04 Dec 2026 14:57:54 +0100` from `date -R`"
            ),
        }
    }
}

impl std::error::Error for TimestampError {}

fn unrecognized(text: &str) -> TimestampError {
    TimestampError::UnrecognizedFormat {
        text: text.chars().take(MAX_QUOTED_CHARS).collect(),
    }
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

fn check_instant_range(instant: DateTime<Utc>) -> Result<DateTime<Utc>, TimestampError> {
    if (0..=MAX_UNIX_SECONDS).contains(&instant.timestamp()) {
        Ok(instant)
    } else {
        Err(TimestampError::InstantOutOfRange)
    }
}

fn check_field(field: &'static str, value: u32, min: u32, max: u32) -> Result<(), TimestampError> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(TimestampError::FieldOutOfRange {
            field,
            value,
            min,
            max,
        })
    }
}

fn check_year(year: i32) -> Result<(), TimestampError> {
    if (1970..=9999).contains(&year) {
        Ok(())
    } else {
        Err(TimestampError::YearOutOfRange { year })
    }
}

/// Parses `SECONDS[.FRACTION]`, as `date +%s` and `date +%s.%N` print it.
fn parse_unix_seconds(text: &str) -> Result<DateTime<Utc>, TimestampError> {
    let (whole, fraction) = match text.split_once('.') {
        Some((_, "")) => return Err(unrecognized(text)),
        Some(parts) => parts,
        None => (text, ""),
    };
    let is_digits = |part: &str| part.bytes().all(|byte| byte.is_ascii_digit());
    if whole.is_empty() || !is_digits(whole) || !is_digits(fraction) {
        return Err(unrecognized(text));
    }
    let nanoseconds = fraction_to_nanoseconds(fraction.as_bytes())?;

    // Any number longer than 12 digits is past MAX_UNIX_SECONDS, and shorter ones fit an i64.
    let significant = whole.trim_start_matches('0');
    if significant.len() > MAX_UNIX_SECONDS_DIGITS {
        let fits_subseconds = significant.len() <= MAX_UNIX_NANOSECONDS_DIGITS;
        return Err(if fraction.is_empty() && fits_subseconds {
            TimestampError::UnixSecondsTooLong {
                digits: significant.len(),
            }
        } else {
            TimestampError::InstantOutOfRange
        });
    }
    let seconds = match significant {
        "" => 0,
        digits => digits.parse::<i64>().map_err(|_| unrecognized(text))?,
    };
    DateTime::from_timestamp(seconds, nanoseconds).ok_or(TimestampError::InstantOutOfRange)
}

/// Parses `date -R` output, rejecting what chrono accepts beyond the rules of this module.
fn parse_rfc2822(text: &str) -> Result<DateTime<Utc>, TimestampError> {
    let parsed = DateTime::parse_from_rfc2822(text).map_err(|error| match error.kind() {
        ParseErrorKind::OutOfRange | ParseErrorKind::Impossible => invalid_rfc2822_date(text)
            .unwrap_or_else(|| TimestampError::InvalidRfc2822 {
                reason: error.to_string(),
            }),
        _ => rfc2822_zone_abbreviation(text).unwrap_or_else(|| unrecognized(text)),
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

/// Parses RFC 3339 and the ISO 8601 forms of `date -I`, `date -Ins` and `date --rfc-3339`.
fn parse_iso8601(text: &str, zone: Tz) -> Result<DateTime<Utc>, TimestampError> {
    let mut cursor = Cursor::new(text.as_bytes());
    let fields = cursor
        .iso8601_fields()
        .ok_or_else(|| unrecognized_iso8601(text))?;
    let local = fields.validate()?;
    match fields.offset_seconds {
        Some(offset) => local
            .checked_sub_signed(TimeDelta::seconds(offset.into()))
            .map(|utc| utc.and_utc())
            .ok_or(TimestampError::InstantOutOfRange),
        None if fields.has_time => zone
            .from_local_datetime(&local)
            .earliest()
            .map(|instant| instant.with_timezone(&Utc))
            .ok_or(TimestampError::NonexistentLocalTime { local, zone }),
        None => start_of_local_day(local.date(), zone),
    }
}

/// Returns the first instant of `date` in `zone`: local midnight, the earlier one where the
/// clocks repeat midnight, or the end of the gap where they skip it.
fn start_of_local_day(date: NaiveDate, zone: Tz) -> Result<DateTime<Utc>, TimestampError> {
    let midnight = date.and_time(NaiveTime::MIN);
    if let Some(instant) = zone.from_local_datetime(&midnight).earliest() {
        return Ok(instant.with_timezone(&Utc));
    }
    let gap_end = end_of_gap(midnight, zone).ok_or(TimestampError::InstantOutOfRange)?;
    if gap_end.with_timezone(&zone).date_naive() == date {
        Ok(gap_end)
    } else {
        Err(TimestampError::NonexistentLocalDay { date, zone })
    }
}

/// Returns the instant at which the clocks of `zone` jump over `local`, a local time that
/// `zone` skips. Returns `None` only for a local time too far outside chrono's range.
fn end_of_gap(local: NaiveDateTime, zone: Tz) -> Option<DateTime<Utc>> {
    let is_past_local = |seconds: i64| {
        DateTime::from_timestamp(seconds, 0)
            .is_some_and(|instant| instant.with_timezone(&zone).naive_local() >= local)
    };

    // Every UTC offset in the tz database of chrono-tz 0.10 is less than 16 hours from UTC
    // (the largest is -15:56:08). So 17 hours before `local` read as UTC, the local time is
    // still before `local`, and 17 hours after, it is past it. Bisection keeps that invariant
    // and ends on the second at which the clocks jump over `local`, because transitions fall
    // on whole seconds.
    const WINDOW_SECONDS: i64 = 17 * 3600;
    let naive_seconds = local.and_utc().timestamp();
    let mut before = naive_seconds - WINDOW_SECONDS;
    let mut after = naive_seconds + WINDOW_SECONDS;
    if is_past_local(before) || !is_past_local(after) {
        return None;
    }
    while after - before > 1 {
        let middle = before + (after - before) / 2;
        if is_past_local(middle) {
            after = middle;
        } else {
            before = middle;
        }
    }
    DateTime::from_timestamp(after, 0)
}

/// Explains why text that starts with an ISO 8601 date has no accepted shape, telling apart a
/// zone abbreviation, a space before the offset and an offset with seconds, which `date`
/// format strings can print.
fn unrecognized_iso8601(text: &str) -> TimestampError {
    let letters = text
        .bytes()
        .rev()
        .take_while(u8::is_ascii_alphabetic)
        .count();
    if (2..=6).contains(&letters) {
        // The letters are ASCII, so both slices start on a character boundary. Without a
        // space, letters after a `Z` offset (such as `Zx`) are a typo, not an abbreviation.
        let (time, abbreviation) = text.split_at(text.len() - letters);
        let is_abbreviation = match time.strip_suffix(' ') {
            Some(time) => is_local_iso8601_time(time),
            None => !abbreviation.starts_with(['Z', 'z']) && is_local_iso8601_time(time),
        };
        if is_abbreviation {
            return TimestampError::ZoneAbbreviation {
                abbreviation: abbreviation.to_string(),
            };
        }
    }

    // `date '+%F %T %:z'` prints a space between the time and the offset.
    if let Some((time, offset)) = text.rsplit_once(' ') {
        let joined = format!("{time}{offset}");
        let has_offset = Cursor::new(joined.as_bytes())
            .iso8601_fields()
            .is_some_and(|fields| fields.offset_seconds.is_some());
        if is_local_iso8601_time(time) && has_offset {
            return TimestampError::SpaceBeforeOffset;
        }
    }

    // `date +%::z` prints `+HH:MM:SS`, 9 ASCII bytes.
    if let Some(start) = text.len().checked_sub(9) {
        let offset = &text.as_bytes()[start..];
        let is_offset_with_seconds = matches!(offset[0], b'+' | b'-')
            && offset[1..].iter().enumerate().all(|(index, byte)| {
                if index % 3 == 2 {
                    *byte == b':'
                } else {
                    byte.is_ascii_digit()
                }
            });
        if is_offset_with_seconds && is_local_iso8601_time(&text[..start]) {
            return TimestampError::OffsetWithSeconds;
        }
    }
    unrecognized(text)
}

/// Returns true if `text` is an ISO 8601 date and time without an offset.
fn is_local_iso8601_time(text: &str) -> bool {
    // The date has only digits and `-`, so any of these bytes starts a time.
    let has_time = text.bytes().any(|byte| matches!(byte, b'T' | b't' | b' '));
    let fields = Cursor::new(text.as_bytes()).iso8601_fields();
    has_time && fields.is_some_and(|fields| fields.offset_seconds.is_none())
}

/// Fields of an ISO 8601 timestamp as written, before any range check. Missing time fields
/// are zero.
#[derive(Default)]
struct Iso8601Fields<'a> {
    year: u32,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    /// ASCII digits of the fraction of a second, empty if there is none.
    fraction: &'a [u8],
    /// False for a date alone, which means the start of that day.
    has_time: bool,
    offset_hours: u32,
    offset_minutes: u32,
    /// Offset east of UTC, or `None` for a local time.
    offset_seconds: Option<i32>,
}

impl Iso8601Fields<'_> {
    /// Checks every field and returns the local date and time that they write.
    fn validate(&self) -> Result<NaiveDateTime, TimestampError> {
        // The year has at most 9 digits, so it always fits an i32.
        let year = self.year as i32;
        check_year(year)?;
        check_field("month", self.month, 1, 12)?;
        check_field("day", self.day, 1, 31)?;
        check_field("hour", self.hour, 0, 23)?;
        check_field("minute", self.minute, 0, 59)?;
        if self.second == 60 {
            return Err(TimestampError::LeapSecond);
        }
        check_field("second", self.second, 0, 59)?;
        let nanoseconds = fraction_to_nanoseconds(self.fraction)?;
        check_field("offset hour", self.offset_hours, 0, 23)?;
        check_field("offset minute", self.offset_minutes, 0, 59)?;

        let date = NaiveDate::from_ymd_opt(year, self.month, self.day).ok_or(
            TimestampError::NonexistentDate {
                year,
                month: self.month,
                day: self.day,
            },
        )?;
        date.and_hms_nano_opt(self.hour, self.minute, self.second, nanoseconds)
            .ok_or(TimestampError::InstantOutOfRange)
    }
}

/// A position in the bytes of the input. It compares bytes only with ASCII, so multibyte
/// UTF-8 never matches and never needs to be sliced.
struct Cursor<'a> {
    bytes: &'a [u8],
    position: usize,
}

impl<'a> Cursor<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, position: 0 }
    }

    fn at_end(&self) -> bool {
        self.position >= self.bytes.len()
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.position).copied()
    }

    /// Consumes the next byte if it is one of `expected`.
    fn eat(&mut self, expected: &[u8]) -> Option<u8> {
        let byte = self.peek().filter(|byte| expected.contains(byte))?;
        self.position += 1;
        Some(byte)
    }

    /// Consumes exactly `count` ASCII digits and returns their value.
    fn fixed_digits(&mut self, count: usize) -> Option<u32> {
        let mut value = 0;
        for _ in 0..count {
            let digit = self.peek().filter(u8::is_ascii_digit)?;
            value = value * 10 + u32::from(digit - b'0');
            self.position += 1;
        }
        Some(value)
    }

    /// Consumes a year and returns its value: 4 digits, or 5 to 9 digits without a leading zero
    /// for a year past 9999, which [`Iso8601Fields::validate`] rejects with its own error. Nine
    /// digits at most keep the value within an i32.
    fn year(&mut self) -> Option<u32> {
        let digits = self.digit_run()?;
        let is_long_year = (5..=9).contains(&digits.len()) && digits[0] != b'0';
        (digits.len() == 4 || is_long_year).then(|| {
            digits
                .iter()
                .fold(0, |value, digit| value * 10 + u32::from(digit - b'0'))
        })
    }

    /// Consumes one or more ASCII digits and returns them, or `None` if there is no digit.
    fn digit_run(&mut self) -> Option<&'a [u8]> {
        let start = self.position;
        while self.peek().is_some_and(|byte| byte.is_ascii_digit()) {
            self.position += 1;
        }
        let digits = self.bytes.get(start..self.position)?;
        (!digits.is_empty()).then_some(digits)
    }

    /// Reads `YYYY-MM-DD[(T|t| )HH[:MM[:SS[(.|,)FRACTION]]][OFFSET]]` up to the end of input,
    /// where a year past 9999 has more digits.
    /// Returns `None` if the text does not have that shape.
    fn iso8601_fields(&mut self) -> Option<Iso8601Fields<'a>> {
        let year = self.year()?;
        self.eat(b"-")?;
        let month = self.fixed_digits(2)?;
        self.eat(b"-")?;
        let day = self.fixed_digits(2)?;
        let mut fields = Iso8601Fields {
            year,
            month,
            day,
            ..Default::default()
        };
        if self.at_end() {
            return Some(fields);
        }

        self.eat(b"Tt ")?;
        fields.has_time = true;
        fields.hour = self.fixed_digits(2)?;
        if self.eat(b":").is_some() {
            fields.minute = self.fixed_digits(2)?;
            if self.eat(b":").is_some() {
                fields.second = self.fixed_digits(2)?;
                if self.eat(b".,").is_some() {
                    fields.fraction = self.digit_run()?;
                }
            }
        }
        self.offset(&mut fields)?;
        self.at_end().then_some(fields)
    }

    /// Reads an optional `Z`, `z`, `+HH:MM`, `+HHMM` or `+HH` offset, or the same with `-`.
    fn offset(&mut self, fields: &mut Iso8601Fields<'a>) -> Option<()> {
        if self.at_end() {
            return Some(());
        }
        if self.eat(b"Zz").is_some() {
            fields.offset_seconds = Some(0);
            return Some(());
        }
        let sign = if self.eat(b"+-")? == b'-' { -1 } else { 1 };
        fields.offset_hours = self.fixed_digits(2)?;
        if self.eat(b":").is_some() || self.peek().is_some_and(|byte| byte.is_ascii_digit()) {
            fields.offset_minutes = self.fixed_digits(2)?;
        }
        // Both parts have 2 digits, so the sum is below 400_000 and fits an i32.
        let seconds = (fields.offset_hours * 3600 + fields.offset_minutes * 60) as i32;
        fields.offset_seconds = Some(sign * seconds);
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::{America, Europe};

    const BERLIN: Tz = Europe::Berlin;

    fn instant(rfc3339: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(rfc3339)
            .expect("expected instant in the test is valid RFC 3339")
            .with_timezone(&Utc)
    }

    fn assert_parses(text: &str, zone: Tz, expected: &str) {
        assert_eq!(
            parse_timestamp(text, zone),
            Ok(instant(expected)),
            "input {text:?}"
        );
    }

    fn assert_rejects(text: &str, zone: Tz, expected: TimestampError) {
        assert_eq!(parse_timestamp(text, zone), Err(expected), "input {text:?}");
    }

    fn out_of_range(field: &'static str, value: u32, min: u32, max: u32) -> TimestampError {
        TimestampError::FieldOutOfRange {
            field,
            value,
            min,
            max,
        }
    }

    fn unrecognized_input(text: &str) -> TimestampError {
        TimestampError::UnrecognizedFormat {
            text: text.to_string(),
        }
    }

    #[test]
    fn rfc3339_seconds_with_offset() {
        assert_parses("2026-12-04T14:57:54+01:00", BERLIN, "2026-12-04T13:57:54Z");
    }

    #[test]
    fn iso8601_hours_only() {
        assert_parses("2026-12-04T14+01:00", BERLIN, "2026-12-04T13:00:00Z");
    }

    #[test]
    fn iso8601_minutes_only() {
        assert_parses("2026-12-04T14:57+01:00", BERLIN, "2026-12-04T13:57:00Z");
    }

    #[test]
    fn iso8601_nanoseconds_after_comma() {
        let text = "2026-12-04T14:57:54,123456789+01:00";
        assert_parses(text, BERLIN, "2026-12-04T13:57:54.123456789Z");
    }

    #[test]
    fn rfc3339_space_and_nanoseconds() {
        let text = "2026-12-04 14:57:54.123456789+01:00";
        assert_parses(text, BERLIN, "2026-12-04T13:57:54.123456789Z");
    }

    #[test]
    fn rfc3339_utc_designator() {
        assert_parses("2026-12-04T13:57:54Z", BERLIN, "2026-12-04T13:57:54Z");
    }

    #[test]
    fn rfc3339_lowercase_t_and_z() {
        assert_parses("2026-12-04t13:57:54z", BERLIN, "2026-12-04T13:57:54Z");
    }

    #[test]
    fn offset_without_colon() {
        assert_parses("2026-12-04T14:57:54+0100", BERLIN, "2026-12-04T13:57:54Z");
    }

    #[test]
    fn offset_hours_only() {
        assert_parses("2026-12-04T14:57:54+01", BERLIN, "2026-12-04T13:57:54Z");
    }

    #[test]
    fn negative_offsets() {
        assert_parses("2026-12-04T14:57:54-05:30", BERLIN, "2026-12-04T20:27:54Z");
        assert_parses("2026-12-04T14:57:54-0530", BERLIN, "2026-12-04T20:27:54Z");
        assert_parses("2026-12-04T14-05", BERLIN, "2026-12-04T19:00:00Z");
    }

    #[test]
    fn largest_offsets() {
        assert_parses("2026-12-04T14:57:54+23:59", BERLIN, "2026-12-03T14:58:54Z");
        assert_parses("2026-12-04T14:57:54-23:59", BERLIN, "2026-12-05T14:56:54Z");
    }

    #[test]
    fn fraction_half_second() {
        let parsed = parse_timestamp("2026-12-04T14:57:54.5+01:00", BERLIN);
        assert_eq!(parsed.map(|instant| instant.nanosecond()), Ok(500_000_000));
    }

    #[test]
    fn fraction_nine_digits_exact() {
        let parsed = parse_timestamp("2026-12-04T14:57:54,123456789Z", BERLIN);
        assert_eq!(parsed.map(|instant| instant.nanosecond()), Ok(123_456_789));
    }

    #[test]
    fn fraction_one_to_nine_digits() {
        for digits in 1..=9 {
            let text = format!("2026-12-04T14:57:54.{}Z", "1".repeat(digits));
            let expected = format!("2026-12-04T14:57:54.{:0<9}Z", "1".repeat(digits));
            assert_parses(&text, BERLIN, &expected);
        }
    }

    #[test]
    fn utc_and_offset_give_equal_instants() {
        let utc = parse_timestamp("2026-12-04T13:00:00Z", BERLIN);
        let offset = parse_timestamp("2026-12-04T14:00:00+01:00", BERLIN);
        assert!(utc.is_ok(), "{utc:?}");
        assert_eq!(utc, offset);
    }

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
    fn local_time_in_winter() {
        assert_parses("2026-12-04 14:57:54", BERLIN, "2026-12-04T13:57:54Z");
    }

    #[test]
    fn local_time_in_summer() {
        assert_parses("2026-07-04 14:57:54", BERLIN, "2026-07-04T12:57:54Z");
    }

    #[test]
    fn local_time_with_fraction() {
        assert_parses("2026-12-04T14:57:54.5", BERLIN, "2026-12-04T13:57:54.5Z");
    }

    #[test]
    fn local_time_hours_and_minutes() {
        assert_parses("2026-12-04T14", BERLIN, "2026-12-04T13:00:00Z");
        assert_parses("2026-12-04T14:57", BERLIN, "2026-12-04T13:57:00Z");
    }

    #[test]
    fn local_time_in_utc_zone() {
        assert_parses("2026-12-04 14:57:54", Tz::UTC, "2026-12-04T14:57:54Z");
    }

    #[test]
    fn local_time_in_dst_gap() {
        let local = NaiveDate::from_ymd_opt(2026, 3, 29)
            .and_then(|date| date.and_hms_opt(2, 30, 0))
            .expect("test local time is valid");
        let expected = TimestampError::NonexistentLocalTime {
            local,
            zone: BERLIN,
        };
        assert_rejects("2026-03-29 02:30:00", BERLIN, expected);
    }

    #[test]
    fn local_time_ambiguous_takes_earlier() {
        assert_parses("2026-10-25 02:30:00", BERLIN, "2026-10-25T00:30:00Z");
    }

    #[test]
    fn date_alone_is_local_midnight() {
        assert_parses("2026-12-04", BERLIN, "2026-12-03T23:00:00Z");
        assert_parses("2026-12-04", Tz::UTC, "2026-12-04T00:00:00Z");
    }

    #[test]
    fn date_alone_starts_after_gap() {
        // Cuba moves its clocks from 00:00 to 01:00 on the second Sunday of March,
        // so the day starts at 01:00 CDT (-04:00).
        assert_parses("2026-03-08", America::Havana, "2026-03-08T05:00:00Z");
    }

    #[test]
    fn date_alone_at_chile_dst_start() {
        // Chile moves its clocks from 00:00 to 01:00 on 2026-09-06, so the day starts at
        // 01:00 -03:00.
        assert_parses("2026-09-06", America::Santiago, "2026-09-06T04:00:00Z");
    }

    #[test]
    fn rejects_date_alone_skipped_by_zone() {
        // Samoa moved from -10:00 to +14:00 at the end of 2011-12-29, skipping 2011-12-30.
        let date = NaiveDate::from_ymd_opt(2011, 12, 30).expect("test date is valid");
        let zone = chrono_tz::Pacific::Apia;
        let expected = TimestampError::NonexistentLocalDay { date, zone };
        assert_rejects("2011-12-30", zone, expected);
    }

    #[test]
    fn message_for_skipped_day_names_zone() {
        let error = parse_timestamp("2011-12-30", chrono_tz::Pacific::Apia).expect_err("skipped");
        let message = error.to_string();
        assert!(
            message.contains("day 2011-12-30 does not exist in Pacific/Apia"),
            "{message}"
        );
    }

    #[test]
    fn date_alone_ambiguous_takes_earlier() {
        // Cuba moves its clocks from 01:00 back to 00:00 on the first Sunday of November.
        assert_parses("2026-11-01", America::Havana, "2026-11-01T04:00:00Z");
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
    fn rejects_nonexistent_date() {
        let expected = TimestampError::NonexistentDate {
            year: 2026,
            month: 2,
            day: 30,
        };
        assert_rejects("2026-02-30", BERLIN, expected);
        let expected = TimestampError::NonexistentDate {
            year: 2026,
            month: 4,
            day: 31,
        };
        assert_rejects("2026-04-31T12:00:00Z", BERLIN, expected);
    }

    #[test]
    fn accepts_leap_day() {
        assert_parses("2028-02-29T12:00:00Z", BERLIN, "2028-02-29T12:00:00Z");
    }

    #[test]
    fn rejects_month_out_of_range() {
        assert_rejects(
            "2026-13-04T14:57:54Z",
            BERLIN,
            out_of_range("month", 13, 1, 12),
        );
        assert_rejects("2026-00-04", BERLIN, out_of_range("month", 0, 1, 12));
    }

    #[test]
    fn rejects_day_out_of_range() {
        assert_rejects("2026-12-32", BERLIN, out_of_range("day", 32, 1, 31));
        assert_rejects("2026-12-00", BERLIN, out_of_range("day", 0, 1, 31));
    }

    #[test]
    fn rejects_hour_24() {
        assert_rejects(
            "2026-12-04T24:00:00Z",
            BERLIN,
            out_of_range("hour", 24, 0, 23),
        );
    }

    #[test]
    fn rejects_minute_60() {
        assert_rejects(
            "2026-12-04T14:60:00Z",
            BERLIN,
            out_of_range("minute", 60, 0, 59),
        );
    }

    #[test]
    fn rejects_second_61() {
        assert_rejects(
            "2026-12-04T14:57:61Z",
            BERLIN,
            out_of_range("second", 61, 0, 59),
        );
    }

    #[test]
    fn rejects_offset_hour_24() {
        let expected = out_of_range("offset hour", 24, 0, 23);
        assert_rejects("2026-12-04T14:57:54+24:00", BERLIN, expected.clone());
        assert_rejects("2026-12-04T14:57:54-2400", BERLIN, expected.clone());
        assert_rejects("2026-12-04T14:57:54+24", BERLIN, expected);
    }

    #[test]
    fn rejects_offset_minute_60() {
        let expected = out_of_range("offset minute", 60, 0, 59);
        assert_rejects("2026-12-04T14:57:54+01:60", BERLIN, expected);
    }

    #[test]
    fn rejects_leap_second() {
        assert_rejects("2026-12-31T23:59:60Z", BERLIN, TimestampError::LeapSecond);
        assert_rejects("2026-12-31 23:59:60", BERLIN, TimestampError::LeapSecond);
    }

    #[test]
    fn rejects_rfc2822_leap_second() {
        let text = "Thu, 31 Dec 2026 23:59:60 +0000";
        assert_rejects(text, BERLIN, TimestampError::LeapSecond);
    }

    #[test]
    fn rejects_ten_fraction_digits() {
        let expected = TimestampError::FractionTooLong { digits: Some(10) };
        assert_rejects("2026-12-04T14:57:54.1234567890Z", BERLIN, expected.clone());
        assert_rejects("1796392674.1234567890", BERLIN, expected);
    }

    #[test]
    fn rejects_year_before_1970() {
        let expected = TimestampError::YearOutOfRange { year: 1969 };
        assert_rejects("1969-12-31T23:59:59Z", BERLIN, expected.clone());
        assert_rejects("1969-12-31T23:30:00-01:00", BERLIN, expected);
        assert_rejects(
            "0000-01-01",
            BERLIN,
            TimestampError::YearOutOfRange { year: 0 },
        );
    }

    #[test]
    fn rejects_rfc2822_year_before_1970() {
        let text = "Wed, 31 Dec 1969 23:59:59 -0100";
        assert_rejects(text, BERLIN, TimestampError::YearOutOfRange { year: 1969 });
    }

    #[test]
    fn rejects_five_digit_year() {
        let expected = TimestampError::YearOutOfRange { year: 10000 };
        assert_rejects("10000-01-01T00:00:00Z", BERLIN, expected.clone());
        assert_rejects("10000-01-01", BERLIN, expected);
    }

    #[test]
    fn rejects_nine_digit_year() {
        let expected = TimestampError::YearOutOfRange { year: 999_999_999 };
        assert_rejects("999999999-12-31", BERLIN, expected);
    }

    #[test]
    fn long_year_with_bad_shape_is_unrecognized() {
        for text in [
            "02026-12-04",
            "1796392674-12-04",
            "10000-1-01",
            "10000-01-01x",
        ] {
            assert_rejects(text, BERLIN, unrecognized_input(text));
        }
    }

    #[test]
    fn rejects_instant_before_1970() {
        let expected = TimestampError::InstantOutOfRange;
        assert_rejects("1970-01-01T00:30:00+01:00", BERLIN, expected.clone());
        assert_rejects("1970-01-01", BERLIN, expected.clone());
        assert_rejects("Thu, 01 Jan 1970 00:30:00 +0100", BERLIN, expected);
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
        let expected = TimestampError::InstantOutOfRange;
        assert_rejects("9999-12-31T23:00:00-01:00", BERLIN, expected.clone());
        assert_rejects("253402300800", BERLIN, expected.clone());
        assert_rejects("999999999999", BERLIN, expected.clone());
        assert_rejects("1000000000000000000000", BERLIN, expected.clone());
        assert_rejects("1796392674123.5", BERLIN, expected.clone());
        assert_rejects("99999999999999999999999999999999.5", BERLIN, expected);
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

    #[test]
    fn rejects_unrecognized_forms() {
        let texts = [
            "now",
            "2026-12-04T14:57:54.+01:00",
            "2026-12-04T14:57.5",
            "2026-12-04T14.5",
            "2026-12-04T1457",
            "2026-12-04T14:57:54+1",
            "2026-12-04T14:57:54+01:0",
            "2026-12-04T14:57:54Zx",
            "2026-12-04x14:57:54",
            "2026-12-04T",
            "2026-12-4",
            "2026-1-04",
            "２０２６-12-04",
            "2026-12-04T14:57:54é",
            "+1796392674",
            "-0",
            "-0.0",
            "-1.",
            "-.5",
            "--1",
            "-1e9",
            "2026-12-04 CET",
            "2026-12-04T14:57:54+01:00 CET",
            "2026-12-04T14:57:54 C",
            "2026-12-04T14:57:54  CET",
            "2026-12-04T14:57:54 ABCDEFG",
            "2026-12-04T14:57:54+01:00:0",
            "2026-12-04T14:57:54+0100:00",
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
            assert_rejects(text, BERLIN, TimestampError::InstantOutOfRange);
        }
    }

    #[test]
    fn rejects_zone_abbreviation_after_time() {
        let cases = [
            ("2026-12-04T14:57:54 CET", "CET"),
            ("2026-12-04 14:57:54 CET", "CET"),
            ("2026-12-04T14:57:54.123456789 CEST", "CEST"),
            ("2026-12-04T14:57 UTC", "UTC"),
            ("2026-12-04 14 cet", "cet"),
        ];
        for (text, abbreviation) in cases {
            let expected = TimestampError::ZoneAbbreviation {
                abbreviation: abbreviation.to_string(),
            };
            assert_rejects(text, BERLIN, expected);
        }
    }

    #[test]
    fn rejects_zone_abbreviation_without_space() {
        let cases = [
            ("2026-12-04T14:57:54CET", "CET"),
            ("2026-12-04 14:57:54.5CEST", "CEST"),
            ("2026-12-04T14:57UTC", "UTC"),
        ];
        for (text, abbreviation) in cases {
            let expected = TimestampError::ZoneAbbreviation {
                abbreviation: abbreviation.to_string(),
            };
            assert_rejects(text, BERLIN, expected);
        }
    }

    #[test]
    fn rejects_space_before_offset() {
        for text in [
            "2026-12-04 14:57:54 +01:00",
            "2026-12-04T14:57:54 -0530",
            "2026-12-04 14:57:54.123456789 +01",
            "2026-12-04T14:57 Z",
        ] {
            assert_rejects(text, BERLIN, TimestampError::SpaceBeforeOffset);
        }
    }

    #[test]
    fn message_for_space_before_offset_gives_fix() {
        let message = TimestampError::SpaceBeforeOffset.to_string();
        assert!(message.contains("`date '+%F %T %:z'`"), "{message}");
        assert!(message.contains("right after the time"), "{message}");
        assert!(message.contains("`2026-12-04T14:57:54+01:00`"), "{message}");
    }

    #[test]
    fn rejects_offset_with_seconds() {
        for text in [
            "2026-12-04T14:57:54+01:00:00",
            "2026-12-04 14:57:54-05:30:00",
            "2026-12-04T14:57:54.5+00:00:00",
            "2026-12-04T14:57+01:00:00",
        ] {
            assert_rejects(text, BERLIN, TimestampError::OffsetWithSeconds);
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
    fn message_for_zone_abbreviation_gives_fix() {
        let error = parse_timestamp("2026-12-04T14:57:54 CET", BERLIN).expect_err("abbreviation");
        let message = error.to_string();
        assert!(message.contains("zone abbreviation CET"), "{message}");
        assert!(message.contains("numeric offset"), "{message}");
        assert!(message.contains("`date -Iseconds`"), "{message}");
    }

    #[test]
    fn message_for_offset_seconds_gives_fix() {
        let message = TimestampError::OffsetWithSeconds.to_string();
        assert!(message.contains("`date +%::z`"), "{message}");
        assert!(message.contains("hours and minutes"), "{message}");
        assert!(message.contains("`date -Iseconds`"), "{message}");
    }

    #[test]
    fn message_for_basic_format_gives_fix() {
        let message = TimestampError::BasicFormat.to_string();
        assert!(message.contains("basic format"), "{message}");
        assert!(message.contains("extended format"), "{message}");
        assert!(message.contains("`date -Iseconds`"), "{message}");
    }

    #[test]
    fn message_for_uncounted_fraction_gives_limit() {
        let message = TimestampError::FractionTooLong { digits: None }.to_string();
        assert!(message.contains("more than 9 digits"), "{message}");
        assert!(message.contains("at most 9"), "{message}");
    }

    #[test]
    fn message_for_exponent_fraction_names_exponent() {
        let message = TimestampError::ExponentFractionTooLong { digits: Some(25) }.to_string();
        assert!(
            message.contains("25 digits after the decimal point once its exponent is applied"),
            "{message}"
        );
        assert!(!message.contains("fraction of a second"), "{message}");
    }

    #[test]
    fn message_for_counted_fraction_gives_count() {
        let message = TimestampError::FractionTooLong { digits: Some(10) }.to_string();
        assert!(message.contains("has 10 digits"), "{message}");
    }

    #[test]
    fn unrecognized_keeps_64_characters() {
        let text = "é".repeat(100);
        let expected = unrecognized_input(&"é".repeat(64));
        assert_rejects(&text, BERLIN, expected);
    }

    #[test]
    fn message_for_gap_names_zone() {
        let error = parse_timestamp("2026-03-29 02:30:00", BERLIN).expect_err("time is in a gap");
        let message = error.to_string();
        assert!(message.contains("Europe/Berlin"), "{message}");
        assert!(message.contains("2026-03-29 02:30:00"), "{message}");
    }

    #[test]
    fn message_for_format_gives_examples() {
        let error = parse_timestamp("yesterday", BERLIN).expect_err("text is no timestamp");
        let message = error.to_string();
        assert!(message.contains("2026-12-04T14:57:54+01:00"), "{message}");
        assert!(message.contains("date +%s"), "{message}");
        assert!(message.contains("date -R"), "{message}");
    }

    #[test]
    fn message_for_leap_second() {
        let message = TimestampError::LeapSecond.to_string();
        assert!(message.contains("leap second"), "{message}");
        assert!(message.contains("Linux"), "{message}");
    }

    #[test]
    fn messages_are_one_sentence() {
        let errors = [
            TimestampError::Empty,
            TimestampError::SurroundingWhitespace,
            unrecognized_input("x"),
            out_of_range("month", 13, 1, 12),
            TimestampError::NonexistentDate {
                year: 2026,
                month: 2,
                day: 30,
            },
            TimestampError::LeapSecond,
            TimestampError::FractionTooLong { digits: Some(10) },
            TimestampError::FractionTooLong { digits: None },
            TimestampError::ZoneAbbreviation {
                abbreviation: "CET".to_string(),
            },
            TimestampError::OffsetWithSeconds,
            TimestampError::BasicFormat,
            TimestampError::UnixSecondsTooLong { digits: 19 },
            TimestampError::YearOutOfRange { year: 1969 },
            TimestampError::InstantOutOfRange,
            TimestampError::InvalidRfc2822 {
                reason: "input is out of range".to_string(),
            },
            TimestampError::Rfc2822ZoneAbbreviation {
                abbreviation: "CET".to_string(),
            },
            TimestampError::SpaceBeforeOffset,
            TimestampError::WeekdayMismatch {
                weekday: Weekday::Thu,
                date: NaiveDate::default(),
            },
            TimestampError::ExponentFractionTooLong { digits: Some(25) },
            TimestampError::ExponentFractionTooLong { digits: None },
            TimestampError::NonexistentLocalDay {
                date: NaiveDate::default(),
                zone: BERLIN,
            },
            TimestampError::NonexistentLocalTime {
                local: NaiveDateTime::default(),
                zone: BERLIN,
            },
        ];
        for error in errors {
            let message = error.to_string();
            assert!(!message.contains(". "), "{message}");
            assert!(!message.contains('\n'), "{message}");
            let _: &dyn std::error::Error = &error;
        }
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
