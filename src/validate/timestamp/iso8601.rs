//! RFC 3339 and the ISO 8601 variants that `date -I`, `date -Ins` and `date --rfc-3339` print.
//! A cursor over the bytes reads the fields before any range check, so each range error can
//! name its field. Rejected dates are diagnosed here too, because `date` format strings print
//! shapes that this module rejects: a zone abbreviation, a space before the offset, or an
//! offset with seconds. So do the default string forms of Java's `ZonedDateTime` and Go's
//! `time.Time`.

use chrono::{
    DateTime, Datelike, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset as _, TimeDelta,
    TimeZone, Utc,
};
use chrono_tz::Tz;

use super::error::{unrecognized, TimestampError};
use super::{
    check_year, fraction_to_nanoseconds, out_of_range_in_year, Precision, RepeatedLocalTime,
    ResolvedTimestamp,
};

/// Parses RFC 3339 and the ISO 8601 forms of `date -I`, `date -Ins` and `date --rfc-3339`.
pub(super) fn parse_iso8601(text: &str, zone: Tz) -> Result<ResolvedTimestamp, TimestampError> {
    let mut cursor = Cursor::new(text.as_bytes());
    let fields = cursor
        .iso8601_fields()
        .ok_or_else(|| unrecognized_iso8601(text))?;
    let local = fields.validate()?;
    let Some(offset) = fields.offset_seconds else {
        let instant = if fields.has_time {
            zone.from_local_datetime(&local)
                .earliest()
                .map(|instant| instant.with_timezone(&Utc))
                .ok_or(TimestampError::NonexistentLocalTime { local, zone })?
        } else {
            start_of_local_day(local.date(), zone)?
        };
        return Ok(ResolvedTimestamp {
            instant,
            local_zone: Some(zone),
        });
    };
    let instant = local
        .checked_sub_signed(TimeDelta::seconds(offset.into()))
        .map(|utc| utc.and_utc())
        .ok_or_else(|| out_of_range_in_year(local.year()))?;
    Ok(ResolvedTimestamp {
        instant,
        local_zone: None,
    })
}

/// Returns the first instant of `date` in `zone`: local midnight, the earlier one where the
/// clocks repeat midnight, or the end of the gap where they skip it.
fn start_of_local_day(date: NaiveDate, zone: Tz) -> Result<DateTime<Utc>, TimestampError> {
    let midnight = date.and_time(NaiveTime::MIN);
    if let Some(instant) = zone.from_local_datetime(&midnight).earliest() {
        return Ok(instant.with_timezone(&Utc));
    }
    let gap_end = end_of_gap(midnight, zone).ok_or_else(|| out_of_range_in_year(date.year()))?;
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
/// format strings can print, and the default forms of Java and Go.
fn unrecognized_iso8601(text: &str) -> TimestampError {
    if let Some(error) = java_zone_id(text).or_else(|| go_time_string(text)) {
        return error;
    }

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
            if !offset.eq_ignore_ascii_case("Z") {
                return TimestampError::SpaceBeforeOffset;
            }
            // The text without the space is quoted only when it is valid,
            // and its own error comes first otherwise.
            return match super::parse_timestamp(&joined, Tz::UTC) {
                Ok(_) => TimestampError::SpaceBeforeZ {
                    without_space: joined,
                },
                Err(error) => error,
            };
        }
        if let Some(error) = zone_name(time, offset) {
            return error;
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
    text_after_offset(text)
        .or_else(|| malformed_offset(text))
        .unwrap_or_else(|| unrecognized(text))
}

/// Returns the error for an ISO 8601 local date and time followed by a sign and digits that
/// are not an offset in an accepted form, such as `+5`, `+053`, `+05:3` or `+0530:00`.
fn malformed_offset(text: &str) -> Option<TimestampError> {
    let at = text.rfind(['+', '-'])?;
    let (time, offset) = text.split_at(at);
    let rest = &offset[1..];
    // A trailing `Z`, as in `+01:00:00Z`, is part of the mistyped offset.
    let digits = rest.strip_suffix(['Z', 'z']).unwrap_or(rest);
    let is_offset_like = digits.starts_with(|character: char| character.is_ascii_digit())
        && digits
            .bytes()
            .all(|byte| byte.is_ascii_digit() || byte == b':');
    (is_offset_like && is_local_iso8601_time(time)).then(|| TimestampError::MalformedOffset {
        offset: offset.to_string(),
    })
}

/// The maximum length of an IANA zone name that [`zone_name`] recognizes, as for
/// [`MAX_ZONE_ID_CHARS`].
const MAX_ZONE_NAME_CHARS: usize = MAX_ZONE_ID_CHARS;

/// Returns the error for an ISO 8601 local date and time, `time`, followed by a space and an
/// IANA zone name of the form `Area/Location`, such as `Europe/Berlin`. For a name in the tz
/// database of chrono-tz, the error quotes the same local time with its offset, unless the
/// clocks skip or repeat that time.
fn zone_name(time: &str, name: &str) -> Option<TimestampError> {
    let is_zone_name = (3..=MAX_ZONE_NAME_CHARS).contains(&name.len())
        && name.contains('/')
        && name.starts_with(|character: char| character.is_ascii_alphabetic())
        && name
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b"/_+-".contains(&byte));
    if !is_zone_name || !is_local_iso8601_time(time) {
        return None;
    }
    let local = Cursor::new(time.as_bytes()).iso8601_fields()?.validate();
    let local = match local {
        Ok(local) => local,
        Err(error) => return Some(error),
    };
    // An offset with seconds, as some zones had in the past, has no
    // accepted form, and a time out of range gets its own error.
    let with_offset = name.parse::<Tz>().ok().and_then(|zone| {
        let instant = zone.from_local_datetime(&local).single()?;
        if instant.offset().fix().local_minus_utc() % 60 != 0 {
            return None;
        }
        Some(format!("{time}{}", instant.format("%:z")))
    });
    if let Some(with_offset) = &with_offset {
        if let Err(error) = super::parse_timestamp(with_offset, Tz::UTC) {
            return Some(error);
        }
    }
    Some(TimestampError::ZoneName {
        zone: name.to_string(),
        with_offset,
    })
}

/// Finds the longest start of `text` that is an ISO 8601 date and time with a UTC offset,
/// and returns the error that names it and the text after it. When a field of that start is
/// invalid, it returns the field's error instead, because that is the first thing to fix. A
/// start that ends inside a number, as `+01` of `+01:0` does, is skipped, because there a
/// field is mistyped. The text is at most [`super::MAX_TIMESTAMP_BYTES`] long, so trying
/// each start costs little.
fn text_after_offset(text: &str) -> Option<TimestampError> {
    let shortest = "2026-12-04T14:57Z".len();
    let (at, fields) = text
        .char_indices()
        .rev()
        .map(|(at, _)| at)
        .take_while(|at| *at >= shortest)
        .filter(|at| !splits_number(text, *at))
        .find_map(|at| {
            let fields = Cursor::new(&text.as_bytes()[..at]).iso8601_fields()?;
            fields.offset_seconds.is_some().then_some((at, fields))
        })?;
    if let Err(error) = fields.validate() {
        return Some(error);
    }
    let (timestamp, rest) = text.split_at(at);
    Some(if is_offset(rest) {
        TimestampError::SecondOffset {
            timestamp: timestamp.to_string(),
            offset: rest.trim_start_matches(' ').to_string(),
        }
    } else {
        TimestampError::TextAfterOffset {
            timestamp: timestamp.to_string(),
            rest: rest.to_string(),
        }
    })
}

/// Returns true when `at` falls between a digit and a digit, `:`, `.` or `,` of `text`,
/// inside a number or between two fields of a time or an offset.
fn splits_number(text: &str, at: usize) -> bool {
    let before = text[..at].chars().next_back();
    let after = text[at..].chars().next();
    before.is_some_and(|character| character.is_ascii_digit())
        && after.is_some_and(|character| {
            character.is_ascii_digit() || matches!(character, ':' | '.' | ',')
        })
}

/// The zone names that RFC 2822 defines, and `UTC`, which name an offset as `Z` does.
const OFFSET_NAMES: [&str; 12] = [
    "UT", "UTC", "GMT", "EST", "EDT", "CST", "CDT", "MST", "MDT", "PST", "PDT", "Z",
];

/// Returns true when `text`, after any spaces before it, is a UTC offset alone: a sign with
/// `HH`, `HHMM` or `HH:MM`, or one of [`OFFSET_NAMES`] in any letter case.
pub(super) fn is_offset(text: &str) -> bool {
    let text = text.trim_start_matches(' ');
    if OFFSET_NAMES
        .iter()
        .any(|name| name.eq_ignore_ascii_case(text))
    {
        return true;
    }
    let Some(digits) = text.strip_prefix(['+', '-']) else {
        return false;
    };
    let digits = match digits.split_once(':') {
        Some((hours, minutes)) if hours.len() == 2 && minutes.len() == 2 => {
            format!("{hours}{minutes}")
        }
        Some(_) => return false,
        None => digits.to_string(),
    };
    matches!(digits.len(), 2 | 4) && digits.bytes().all(|byte| byte.is_ascii_digit())
}

/// The maximum length of a zone ID in brackets that [`java_zone_id`] recognizes. The longest
/// IANA zone name, `America/Argentina/ComodRivadavia`, has 32 characters.
const MAX_ZONE_ID_CHARS: usize = 64;

/// Returns the error for a date and time with an offset followed by a zone ID in brackets, as
/// Java's `ZonedDateTime.toString()` prints it: `2026-12-04T14:57:54.123+01:00[Europe/Berlin]`.
/// An invalid field before the bracket gets its own error, so that the fix offered is valid.
fn java_zone_id(text: &str) -> Option<TimestampError> {
    let (without_zone_id, zone_id) = text.strip_suffix(']')?.split_once('[')?;
    // The characters of Java's region IDs, such as `Europe/Berlin`, and offset IDs, such as
    // `UTC+01:00`.
    let is_zone_id = (1..=MAX_ZONE_ID_CHARS).contains(&zone_id.len())
        && zone_id
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b"~/._+-:".contains(&byte));
    if !is_zone_id {
        return None;
    }
    let fields = Cursor::new(without_zone_id.as_bytes()).iso8601_fields()?;
    fields.offset_seconds?;
    if let Err(error) = fields.validate() {
        return Some(error);
    }
    Some(TimestampError::JavaZoneId {
        zone_id: zone_id.to_string(),
        without_zone_id: without_zone_id.to_string(),
    })
}

/// Returns the error for the form that Go's `time.Time.String()` prints: a date, a time, an
/// offset without a colon and a zone abbreviation, separated by spaces, then, for a time taken
/// from `time.Now()`, a monotonic clock reading, as in
/// `2026-12-04 14:57:54.123 +0100 CET m=+0.000123456`.
/// An invalid field gets its own error, so that the fix offered is valid.
fn go_time_string(text: &str) -> Option<TimestampError> {
    let mut words = text.split(' ');
    let (date, time, offset, abbreviation) =
        (words.next()?, words.next()?, words.next()?, words.next()?);
    let reading = words.next();
    if words.next().is_some() || reading.is_some_and(|word| !is_monotonic_reading(word)) {
        return None;
    }

    // Go prints the numeric offset, such as `-03`, where a zone has no abbreviation.
    let is_abbreviation = (2..=6).contains(&abbreviation.len())
        && abbreviation
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'+' | b'-'));
    let offset_bytes = offset.as_bytes();
    let is_offset = offset_bytes.len() == 5
        && matches!(offset_bytes[0], b'+' | b'-')
        && offset_bytes[1..].iter().all(u8::is_ascii_digit);
    if !is_abbreviation || !is_offset {
        return None;
    }

    // `time.RFC3339Nano` writes a zero offset as `Z`. The offset is ASCII, so the slices
    // start on character boundaries.
    let rfc3339 = if offset == "+0000" {
        format!("{date}T{time}Z")
    } else {
        format!("{date}T{time}{}:{}", &offset[..3], &offset[3..])
    };
    let fields = Cursor::new(rfc3339.as_bytes()).iso8601_fields()?;
    if let Err(error) = fields.validate() {
        return Some(error);
    }
    Some(TimestampError::GoTimeString { rfc3339 })
}

/// Returns true for the monotonic clock reading that Go's `time.Time.String()` appends, such
/// as `m=+0.000123456`: seconds with a sign and a fraction.
fn is_monotonic_reading(word: &str) -> bool {
    let Some(seconds) = word
        .strip_prefix("m=")
        .and_then(|reading| reading.strip_prefix(['+', '-']))
    else {
        return false;
    };
    let mut cursor = Cursor::new(seconds.as_bytes());
    cursor.digit_run().is_some()
        && cursor.eat(b".").is_some()
        && cursor.digit_run().is_some()
        && cursor.at_end()
}

/// Returns the local time that `text`, an ISO 8601 date and time without an
/// offset, writes when the clocks of `zone` show it twice, or `None` for any
/// other text.
pub(super) fn repeated_local_time(text: &str, zone: Tz) -> Option<RepeatedLocalTime> {
    let fields = Cursor::new(text.as_bytes()).iso8601_fields()?;
    if !fields.has_time || fields.offset_seconds.is_some() {
        return None;
    }
    let local = fields.validate().ok()?;
    match zone.from_local_datetime(&local) {
        LocalResult::Ambiguous(earlier, later) => Some(RepeatedLocalTime {
            local,
            zone,
            earlier: earlier.offset().fix(),
            later: later.offset().fix(),
        }),
        _ => None,
    }
}

/// Returns the smallest unit that `text` writes, or `None` when it is not
/// an ISO 8601 date or date and time.
pub(super) fn precision(text: &str) -> Option<Precision> {
    Cursor::new(text.as_bytes())
        .iso8601_fields()
        .map(|fields| fields.precision)
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
    /// The smallest unit written.
    precision: Precision,
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
            .ok_or_else(|| out_of_range_in_year(year))
    }
}

pub(super) fn check_field(
    field: &'static str,
    value: u32,
    min: u32,
    max: u32,
) -> Result<(), TimestampError> {
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
        fields.precision = Precision::Hour;
        if self.eat(b":").is_some() {
            fields.minute = self.fixed_digits(2)?;
            fields.precision = Precision::Minute;
            if self.eat(b":").is_some() {
                fields.second = self.fixed_digits(2)?;
                fields.precision = Precision::Second;
                if self.eat(b".,").is_some() {
                    fields.fraction = self.digit_run()?;
                    fields.precision = Precision::Fraction;
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
    use crate::validate::timestamp::parse_timestamp;
    use crate::validate::timestamp::tests::{
        assert_parses, assert_rejects, out_of_range, unrecognized_input, BERLIN,
    };
    use chrono::Timelike;
    use chrono_tz::America;

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
    fn rejects_five_digit_year() {
        let expected = TimestampError::YearOutOfRange { year: 10000 };
        assert_rejects("10000-01-01T00:00:00Z", BERLIN, expected.clone());
        assert_rejects("10000-01-01", chrono_tz::UTC, expected);
        assert_rejects(
            "10001-01-01",
            BERLIN,
            TimestampError::YearOutOfRange { year: 10001 },
        );
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
        ] {
            assert_rejects(text, BERLIN, TimestampError::SpaceBeforeOffset);
        }
    }

    #[test]
    fn rejects_space_before_z() {
        for (text, without_space) in [
            ("2026-12-04T14:57:54 Z", "2026-12-04T14:57:54Z"),
            ("2026-12-04T14:57 z", "2026-12-04T14:57z"),
        ] {
            let expected = TimestampError::SpaceBeforeZ {
                without_space: without_space.to_string(),
            };
            assert_rejects(text, BERLIN, expected);
        }
    }

    #[test]
    fn space_before_z_message_says_remove_space() {
        let error = parse_timestamp("2026-12-04T14:57:54 Z", BERLIN).expect_err("space before Z");
        assert_eq!(
            error.to_string(),
            "there is a space before the Z, so remove it and send `2026-12-04T14:57:54Z`"
        );
    }

    #[test]
    fn rejects_malformed_offset() {
        for offset in [
            "+5",
            "+053",
            "+05:3",
            "+05:",
            "+0530:00",
            "+01:00:00Z",
            "-1",
            "+01:0",
            "+01:00:0",
        ] {
            let text = format!("2026-12-04T14:57:54{offset}");
            let expected = TimestampError::MalformedOffset {
                offset: offset.to_string(),
            };
            assert_rejects(&text, BERLIN, expected);
        }
    }

    #[test]
    fn malformed_offset_message_gives_forms() {
        let error = parse_timestamp("2026-12-04T14:57:54+053", BERLIN).expect_err("bad offset");
        assert_eq!(
            error.to_string(),
            "the UTC offset `+053` is not written as +HH, +HHMM or +HH:MM, with two digits \
             each for hours and minutes, so write it in one of these forms, such as \
             `+05:30`, as `date -Iseconds` prints it"
        );
    }

    #[test]
    fn malformed_offset_example_keeps_sign_and_hours() {
        let error = parse_timestamp("2026-12-04T14:57:54-5", BERLIN).expect_err("bad offset");
        assert!(error.to_string().contains("such as `-05:00`"), "{error}");
    }

    #[test]
    fn malformed_offset_after_date_alone_is_unrecognized() {
        let text = "2026-12-04+01:00:00";
        assert_rejects(text, BERLIN, unrecognized_input(text));
    }

    #[test]
    fn rejects_zone_name_after_time() {
        let cases = [
            (
                "2026-12-04T14:57:54 Europe/Berlin",
                "Europe/Berlin",
                Some("2026-12-04T14:57:54+01:00"),
            ),
            (
                "2026-07-04 14:57 America/New_York",
                "America/New_York",
                Some("2026-07-04 14:57-04:00"),
            ),
            (
                "2026-12-04T14:57:54 America/Argentina/Buenos_Aires",
                "America/Argentina/Buenos_Aires",
                Some("2026-12-04T14:57:54-03:00"),
            ),
            ("2026-12-04T14:57:54 Europe/Berln", "Europe/Berln", None),
            // The clocks skip 02:30 on that day, so no offset fits.
            ("2026-03-29T02:30:00 Europe/Berlin", "Europe/Berlin", None),
            // Liberia's offset was -00:44:30 then, which no accepted form writes.
            (
                "1971-12-04T14:57:54 Africa/Monrovia",
                "Africa/Monrovia",
                None,
            ),
        ];
        for (text, zone, with_offset) in cases {
            let expected = TimestampError::ZoneName {
                zone: zone.to_string(),
                with_offset: with_offset.map(str::to_string),
            };
            assert_rejects(text, BERLIN, expected);
        }
    }

    #[test]
    fn zone_name_before_1970_gets_range_error() {
        let error =
            parse_timestamp("1970-01-01T00:30:00 Europe/Berlin", BERLIN).expect_err("before 1970");
        assert!(
            matches!(error, TimestampError::InstantBeforeRange { .. }),
            "{error:?}"
        );
    }

    #[test]
    fn space_before_z_invalid_date() {
        let error = parse_timestamp("2026-02-30T14:57:54 Z", BERLIN).expect_err("no such day");
        assert!(
            !matches!(error, TimestampError::SpaceBeforeZ { .. }),
            "{error:?}"
        );
    }

    #[test]
    fn zone_name_message_gives_offset() {
        let error =
            parse_timestamp("2026-12-04T14:57:54 Europe/Berlin", BERLIN).expect_err("zone name");
        assert_eq!(
            error.to_string(),
            "the zone name Europe/Berlin is not accepted after an ISO 8601 time, so send the \
             UTC offset instead, as in `2026-12-04T14:57:54+01:00`"
        );
    }

    #[test]
    fn zone_name_checks_fields_first() {
        let expected = out_of_range("hour", 24, 0, 23);
        assert_rejects("2026-12-04T24:00:00 Europe/Berlin", BERLIN, expected);
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
    fn rejects_java_zone_id() {
        let cases = [
            (
                "2026-12-04T14:57:54.123+01:00[Europe/Berlin]",
                "Europe/Berlin",
                "2026-12-04T14:57:54.123+01:00",
            ),
            ("2026-12-04T13:57:54Z[UTC]", "UTC", "2026-12-04T13:57:54Z"),
            (
                "2026-12-04T08:57-05:00[America/New_York]",
                "America/New_York",
                "2026-12-04T08:57-05:00",
            ),
            (
                "2026-12-04T14:57:54+01:00[UTC+01:00]",
                "UTC+01:00",
                "2026-12-04T14:57:54+01:00",
            ),
        ];
        for (text, zone_id, without_zone_id) in cases {
            let expected = TimestampError::JavaZoneId {
                zone_id: zone_id.to_string(),
                without_zone_id: without_zone_id.to_string(),
            };
            assert_rejects(text, BERLIN, expected);
        }
    }

    #[test]
    fn java_zone_id_checks_fields_first() {
        let expected = out_of_range("month", 13, 1, 12);
        assert_rejects("2026-13-04T14:57:54+01:00[Europe/Berlin]", BERLIN, expected);
    }

    #[test]
    fn zone_id_without_offset_is_unrecognized() {
        let text = "2026-12-04T14:57:54[Europe/Berlin]";
        assert_rejects(text, BERLIN, unrecognized_input(text));
    }

    #[test]
    fn text_after_complete_timestamp_is_named() {
        let cases = [
            ("2026-12-04T14:57:54Zx", "2026-12-04T14:57:54Z", "x"),
            ("2026-12-04T14:57:54.5Z.5", "2026-12-04T14:57:54.5Z", ".5"),
            (
                "2026-12-04T14:57:54+01:00 CET",
                "2026-12-04T14:57:54+01:00",
                " CET",
            ),
            (
                "2026-12-04T14:57:54+01:00[]",
                "2026-12-04T14:57:54+01:00",
                "[]",
            ),
            (
                "2026-12-04T14:57:54+01:00[Europe Berlin]",
                "2026-12-04T14:57:54+01:00",
                "[Europe Berlin]",
            ),
            (
                "2026-12-04T14:57:54+01:00[Europe/Berlin",
                "2026-12-04T14:57:54+01:00",
                "[Europe/Berlin",
            ),
            (
                "2026-12-04T14:57:54+01:00[a][b]",
                "2026-12-04T14:57:54+01:00",
                "[a][b]",
            ),
        ];
        for (text, timestamp, rest) in cases {
            let expected = TimestampError::TextAfterOffset {
                timestamp: timestamp.to_string(),
                rest: rest.to_string(),
            };
            assert_rejects(text, BERLIN, expected);
        }
    }

    #[test]
    fn text_after_offset_message_gives_fix() {
        let error = parse_timestamp("2026-12-04T14:57:54+01:00x", BERLIN).expect_err("text after");
        assert_eq!(
            error.to_string(),
            "`x` follows the complete timestamp `2026-12-04T14:57:54+01:00`, so use \
             `2026-12-04T14:57:54+01:00` alone, because a timestamp has one UTC offset and \
             nothing after it"
        );
    }

    #[test]
    fn second_offset_is_named() {
        let cases = [
            (
                "2026-12-04T14:57:54+00:00Z",
                "2026-12-04T14:57:54+00:00",
                "Z",
            ),
            (
                "2026-12-04T14:57:54Z+01:00",
                "2026-12-04T14:57:54Z",
                "+01:00",
            ),
            (
                "2026-12-04T14:57:54+01:00-0500",
                "2026-12-04T14:57:54+01:00",
                "-0500",
            ),
            (
                "2026-12-04T14:57:54+01:00 UTC",
                "2026-12-04T14:57:54+01:00",
                "UTC",
            ),
        ];
        for (text, timestamp, offset) in cases {
            let expected = TimestampError::SecondOffset {
                timestamp: timestamp.to_string(),
                offset: offset.to_string(),
            };
            assert_rejects(text, BERLIN, expected);
        }
    }

    #[test]
    fn second_offset_message_suggests_neither() {
        let error = parse_timestamp("2026-12-04T14:57:54Z+01:00", BERLIN).expect_err("two offsets");
        assert_eq!(
            error.to_string(),
            "a second UTC offset, `+01:00`, follows the complete timestamp \
             `2026-12-04T14:57:54Z`, so keep only the offset that is right for the time"
        );
    }

    #[test]
    fn field_error_before_text_is_named() {
        let expected = TimestampError::NonexistentDate {
            year: 2026,
            month: 2,
            day: 30,
        };
        assert_rejects("2026-02-30T14:57:54+01:00 CET", BERLIN, expected);
    }

    #[test]
    fn java_zone_id_message_gives_fix() {
        let error = parse_timestamp("2026-12-04T14:57:54.123+01:00[Europe/Berlin]", BERLIN)
            .expect_err("zone ID");
        let message = error.to_string();
        assert!(message.contains("zone ID [Europe/Berlin]"), "{message}");
        assert!(message.contains("`ZonedDateTime.toString()`"), "{message}");
        assert!(
            message.contains("send `2026-12-04T14:57:54.123+01:00`"),
            "{message}"
        );
    }

    #[test]
    fn rejects_go_time_string() {
        let cases = [
            (
                "2026-12-04 14:57:54.123 +0100 CET",
                "2026-12-04T14:57:54.123+01:00",
            ),
            (
                "2026-12-04 14:57:54.123456789 +0100 CET m=+0.000123456",
                "2026-12-04T14:57:54.123456789+01:00",
            ),
            ("2026-12-04 13:57:54 +0000 UTC", "2026-12-04T13:57:54Z"),
            (
                "2026-12-04 10:57:54 -0300 -03 m=-1.200282679",
                "2026-12-04T10:57:54-03:00",
            ),
        ];
        for (text, rfc3339) in cases {
            let expected = TimestampError::GoTimeString {
                rfc3339: rfc3339.to_string(),
            };
            assert_rejects(text, BERLIN, expected);
        }
    }

    #[test]
    fn go_time_string_checks_fields_first() {
        let expected = TimestampError::NonexistentDate {
            year: 2026,
            month: 2,
            day: 30,
        };
        assert_rejects("2026-02-30 14:57:54 +0100 CET", BERLIN, expected);
    }

    #[test]
    fn near_go_time_strings_are_not_go() {
        for text in [
            "2026-12-04 14:57:54.123 +01:00 CET",
            "2026-12-04 14:57:54.123 +0100 CET m=0.5",
            "2026-12-04 14:57:54.123 +0100 CET m=+0.5 extra",
            "2026-12-04 14:57:54.123 +0100 C",
            "2026-12-04T14:57:54 +0100 CET",
        ] {
            let error = parse_timestamp(text, BERLIN).expect_err("not accepted");
            assert!(
                !matches!(error, TimestampError::GoTimeString { .. }),
                "{text:?}: {error:?}"
            );
        }
    }

    #[test]
    fn go_time_string_message_gives_fix() {
        let error = parse_timestamp("2026-12-04 14:57:54.123 +0100 CET m=+0.000123456", BERLIN)
            .expect_err("Go form");
        let message = error.to_string();
        assert!(message.contains("`time.Time.String()`"), "{message}");
        assert!(
            message.contains("send `2026-12-04T14:57:54.123+01:00` instead"),
            "{message}"
        );
        assert!(
            message.contains("`t.Format(time.RFC3339Nano)`"),
            "{message}"
        );
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
    fn message_for_gap_names_zone() {
        let error = parse_timestamp("2026-03-29 02:30:00", BERLIN).expect_err("time is in a gap");
        let message = error.to_string();
        assert!(message.contains("Europe/Berlin"), "{message}");
        assert!(message.contains("2026-03-29 02:30:00"), "{message}");
    }
}
