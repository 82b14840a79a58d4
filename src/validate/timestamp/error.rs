//! The reasons why a timestamp is rejected, and their messages. Every parser returns these
//! errors, so they live apart from the parsers. Each message is one sentence for an API client
//! that says what is wrong with the value and how to fix it.

use std::fmt;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, SecondsFormat, Utc, Weekday};
use chrono_tz::Tz;

use super::non_ascii::known_character;
use super::{MAX_TIMESTAMP_BYTES, MAX_UNIX_SECONDS_DIGITS};

/// Maximum number of characters of a rejected input that an error keeps.
const MAX_QUOTED_CHARS: usize = 64;

/// Reason why a timestamp was rejected. Display gives one sentence for an API client: what was wrong
/// with the value and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimestampError {
    /// The text is empty.
    Empty,
    /// The text starts or ends with whitespace, which is not trimmed.
    SurroundingWhitespace,
    /// The whitespace at the end of the text contains a carriage return, as a
    /// line of a file or script with Windows (CRLF) line ends does. When
    /// `newline` is true, the text ends with a newline too, as such a file does.
    CarriageReturnAtEnd { newline: bool },
    /// The text is longer than [`MAX_TIMESTAMP_BYTES`], as with a long
    /// comment after an RFC 2822 date.
    TooLong { length: usize },
    /// The text contains a control character, which no accepted form has.
    ControlCharacter { character: char },
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
    /// An integer of 8, 12 or 14 digits that reads as a local date, or date
    /// and time, written without separators, as `date +%Y%m%d` prints it. As
    /// Unix seconds, 8 digits are an instant in 1970 to 1973 and 12 one after
    /// the year 5000, and 14 are out of range.
    CompactDate { local: NaiveDateTime, digits: usize },
    /// A year in the text outside 1970..=9999, even where an offset would move the instant
    /// into that range.
    YearOutOfRange { year: i32 },
    /// An instant before 1970-01-01T00:00:00Z. `instant` is `None` where it is not
    /// computed, as for negative Unix seconds.
    InstantBeforeRange { instant: Option<DateTime<Utc>> },
    /// An instant at or after 10000-01-01T00:00:00Z. `instant` is `None` where it is not
    /// computed, as for Unix seconds of more than 12 digits.
    InstantAfterRange { instant: Option<DateTime<Utc>> },
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
    /// An RFC 2822 date whose UTC offset has a colon, such as `+01:00`, which RFC 2822
    /// does not allow. `offset` is the offset as sent, `without_colon` the whole value with
    /// the colon removed.
    Rfc2822OffsetWithColon {
        offset: String,
        without_colon: String,
    },
    /// An ISO 8601 date and time with an offset followed by a zone ID in brackets, as Java's
    /// `ZonedDateTime.toString()` prints it: `2026-12-04T14:57:54.123+01:00[Europe/Berlin]`.
    /// `without_zone_id` is the text before the bracket.
    JavaZoneId {
        zone_id: String,
        without_zone_id: String,
    },
    /// The form that Go's `time.Time.String()` prints, such as
    /// `2026-12-04 14:57:54.123 +0100 CET m=+0.000123456`. `rfc3339` is the same instant as
    /// `t.Format(time.RFC3339Nano)` prints it.
    GoTimeString { rfc3339: String },
    /// The form that JavaScript's `Date.toString()` prints, such as
    /// `Fri Dec 04 2026 14:57:54 GMT+0100 (Central European Standard Time)`.
    /// `conversion` is `None` when its offset cannot be read.
    JavaScriptDateString {
        conversion: Option<JavaScriptConversion>,
    },
    /// An RFC 2822 date whose weekday is not the weekday of its date.
    WeekdayMismatch { weekday: Weekday, date: NaiveDate },
    /// A JSON number with more than 9 fraction digits once its exponent is applied, such as
    /// `17963926740000000000000000000000000e-25`. `digits` is `None` when the count is too
    /// large to compute.
    ExponentFractionTooLong { digits: Option<usize> },
    /// An RFC 2822 date that chrono rejected with `reason`, such as hour 25 or offset `+2400`.
    InvalidRfc2822 { reason: String },
    /// A complete ISO 8601 or RFC 2822 date and time with a UTC offset, `timestamp`, followed
    /// by more text, `rest`, such as ` CET` in `2026-12-04T14:57:54+01:00 CET`.
    TextAfterOffset { timestamp: String, rest: String },
    /// A complete ISO 8601 or RFC 2822 date and time with a UTC offset, `timestamp`, followed
    /// by a second offset, `offset`, such as `Z` in `2026-12-04T14:57:54+00:00Z`.
    SecondOffset { timestamp: String, offset: String },
    /// A non-ASCII `character` in text that no accepted form matches, such as U+2212 MINUS
    /// SIGN in place of `-`. `replacement` is the ASCII character to type instead, or `None`
    /// where the character is to be removed. `corrected` is the whole value with every known
    /// look-alike replaced and every invisible character removed, where that is accepted.
    NonAsciiCharacter {
        character: char,
        replacement: Option<char>,
        corrected: Option<String>,
    },
    /// An ISO 8601 local date and time followed by a sign and an offset in none of the forms
    /// `+HH`, `+HHMM` and `+HH:MM`, such as `+5` or `+05:3`. `offset` is the text from the sign.
    MalformedOffset { offset: String },
    /// An RFC 2822 date whose last word is a sign and an offset in another form than `+HHMM`,
    /// such as `+01`.
    Rfc2822MalformedOffset { offset: String },
    /// An RFC 2822 date and time without a UTC offset or zone name.
    Rfc2822MissingOffset,
    /// An RFC 2822 date whose time has a fraction of a second, which RFC 2822 does not allow.
    /// `rfc3339` is the same time in RFC 3339, which keeps the fraction, where it can be
    /// computed.
    Rfc2822Fraction { rfc3339: Option<String> },
    /// An RFC 2822 date with a year of 2 or 3 `digits`, which RFC 2822 reads as `year`, a
    /// year before 1970.
    Rfc2822ShortYear { digits: String, year: i32 },
    /// An ISO 8601 date and time followed by a space and an IANA zone name, such as
    /// `Europe/Berlin`. `with_offset` is the same local time with the zone's UTC offset, where
    /// the zone is known and the local time has exactly one offset in it.
    ZoneName {
        zone: String,
        with_offset: Option<String>,
    },
    /// An ISO 8601 date and time with a space before its `Z`. `without_space` is the value
    /// without that space.
    SpaceBeforeZ { without_space: String },
}

/// The instant of a `Date.toString()` text in the forms that the API accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JavaScriptConversion {
    /// The instant as `toISOString()` prints it, such as `2026-12-04T13:57:54.000Z`.
    pub iso_string: String,
    /// The date and time as sent, with the offset as sent, such as
    /// `2026-12-04T14:57:54+01:00`.
    pub with_offset: String,
}

const ACCEPTED_FORMS: &str = "use RFC 3339 such as `2026-12-04T14:57:54+01:00` from \
    `date -Iseconds`, Unix seconds such as `1796392674` from `date +%s`, \
    or RFC 2822 such as `Fri, 04 Dec 2026 14:57:54 +0100` from `date -R`";

const FRACTION_FIX: &str = "give at most 9, which is nanoseconds as `date -Ins` prints them";

const EXPONENT_FRACTION_FIX: &str = "write it without an exponent and with at most 9 digits \
    after the point, as `date +%s.%N` prints it";

impl TimestampError {
    /// Returns true for a local time or date that the zone skips, whose
    /// message gains where that zone is set.
    pub fn is_skipped_local_time(&self) -> bool {
        matches!(
            self,
            Self::NonexistentLocalTime { .. } | Self::NonexistentLocalDay { .. }
        )
    }

    /// Returns true when the message quotes the corrected value to send, as it
    /// does for an RFC 2822 offset with a colon and for the forms of Java and Go.
    pub fn quotes_corrected_value(&self) -> bool {
        matches!(
            self,
            Self::Rfc2822OffsetWithColon { .. }
                | Self::JavaZoneId { .. }
                | Self::GoTimeString { .. }
        )
    }
}

impl fmt::Display for TimestampError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_message(f, ACCEPTED_FORMS)
    }
}

/// The message of a [`TimestampError`] with other accepted forms than those
/// of the write API.
struct WithForms<'a> {
    error: &'a TimestampError,
    forms: &'a str,
}

impl fmt::Display for WithForms<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.error.write_message(f, self.forms)
    }
}

impl TimestampError {
    /// Returns the message with `forms` in place of the write API's accepted
    /// forms, for a caller that accepts other forms too, as the command
    /// line's ages. `forms` starts with a verb, as in "use RFC 3339 such as
    /// ...", because the messages put it after "so".
    pub fn message_with_forms(&self, forms: &str) -> String {
        WithForms { error: self, forms }.to_string()
    }

    /// Writes the message, with `forms` as the accepted forms that it lists
    /// for a value in none of them.
    fn write_message(&self, f: &mut fmt::Formatter<'_>, forms: &str) -> fmt::Result {
        match self {
            // The write and read APIs take the value from a shell variable
            // most often, the command line from an option.
            Self::Empty if forms == ACCEPTED_FORMS => write!(
                f,
                "the timestamp is empty, because the variable or command that supplies it gave \
                 nothing, as an unset TS does in \"timestamp=$TS\", so check it, and {forms}"
            ),
            Self::Empty => write!(f, "the timestamp is empty, so {forms}"),
            Self::CarriageReturnAtEnd { newline: true } => write!(
                f,
                "the timestamp ends with a carriage return and a newline (\\r\\n), the Windows \
                 (CRLF) line end of a file sent with curl --data-binary, so remove both, as tr \
                 -d '\\r\\n' does, or send each value with curl --data-urlencode"
            ),
            Self::CarriageReturnAtEnd { newline: false } => write!(
                f,
                "the timestamp ends with a carriage return (\\r), which a file or script with \
                 Windows (CRLF) line ends leaves at the end of each line, so convert the file \
                 with dos2unix, or remove the character with tr -d '\\r'"
            ),
            Self::SurroundingWhitespace => write!(
                f,
                "the timestamp starts or ends with whitespace, so remove it, \
                 such as the newline that ends the output of `date`"
            ),
            Self::TooLong { length } => write!(
                f,
                "the timestamp is {length} bytes long, and one of at most {MAX_TIMESTAMP_BYTES} \
                 bytes is accepted, so {forms}"
            ),
            Self::ControlCharacter { character } => write!(
                f,
                "the timestamp contains the control character U+{:04X}, so {forms}",
                u32::from(*character)
            ),
            Self::UnrecognizedFormat { text } if is_plain_date_output(text) => write!(
                f,
                "it looks like the plain output of `date`, whose zone abbreviation can \
                 mean several offsets, so {forms}"
            ),
            Self::UnrecognizedFormat { .. } => {
                write!(f, "the format is not recognized, so {forms}")
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
            Self::CompactDate { local, digits } => {
                let (written, printed_by, fix) = match digits {
                    8 => (
                        local.format("%Y-%m-%d").to_string(),
                        "`date +%Y%m%d`",
                        "`date -I`",
                    ),
                    12 => (
                        local.format("%Y-%m-%dT%H:%M").to_string(),
                        "`date +%Y%m%d%H%M`",
                        "`date -Iseconds`",
                    ),
                    _ => (
                        local.format("%Y-%m-%dT%H:%M:%S").to_string(),
                        "`date +%Y%m%d%H%M%S`",
                        "`date -Iseconds`",
                    ),
                };
                write!(
                    f,
                    "the number is {written} written without separators, as {printed_by} prints \
                     it, so write it with them, as {fix} prints it, or give Unix time from \
                     `date +%s`"
                )
            }
            Self::YearOutOfRange { year } => {
                write!(
                    f,
                    "the year {year} is out of range, so give a year from 1970 to 9999"
                )
            }
            Self::InstantBeforeRange { instant } => write!(
                f,
                "the timestamp is {}before 1970-01-01T00:00:00Z, the earliest accepted \
                 instant, so give a later time",
                instant_clause(instant)
            ),
            Self::InstantAfterRange { instant } => write!(
                f,
                "the timestamp is {}after 9999-12-31T23:59:59.999999999Z, the latest accepted \
                 instant, so give an earlier time",
                instant_clause(instant)
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
            Self::Rfc2822OffsetWithColon {
                offset,
                without_colon,
            } => write!(
                f,
                "the UTC offset {offset} has a colon, which RFC 2822 does not allow, so send \
                 `{without_colon}`, with the offset as `date -R` prints it"
            ),
            Self::TextAfterOffset { timestamp, rest } => write!(
                f,
                "`{}` follows the complete timestamp `{timestamp}`, so use `{timestamp}` \
                 alone, because a timestamp has one UTC offset and nothing after it",
                quoted_start(rest)
            ),
            Self::SecondOffset { timestamp, offset } => write!(
                f,
                "a second UTC offset, `{offset}`, follows the complete timestamp \
                 `{timestamp}`, so keep only the offset that is right for the time"
            ),
            Self::JavaZoneId {
                zone_id,
                without_zone_id,
            } => write!(
                f,
                "the UTC offset is followed by the zone ID [{zone_id}], as Java's \
                 `ZonedDateTime.toString()` prints it, so leave the zone ID out and send \
                 `{without_zone_id}`, as `OffsetDateTime.toString()` prints it"
            ),
            Self::GoTimeString { rfc3339 } => write!(
                f,
                "it is the form that Go's `time.Time.String()` prints, with a space before the \
                 offset and a zone abbreviation after it, so send `{rfc3339}` instead, as \
                 `t.Format(time.RFC3339Nano)` prints it"
            ),
            Self::JavaScriptDateString {
                conversion: Some(conversion),
            } => write!(
                f,
                "it is the form that JavaScript's `Date.toString()` prints, so send the output \
                 of `toISOString()` instead, which is `{}` for this value, or the same time \
                 with its UTC offset, `{}`",
                conversion.iso_string, conversion.with_offset
            ),
            Self::JavaScriptDateString { conversion: None } => write!(
                f,
                "it is the form that JavaScript's `Date.toString()` prints, so send the output \
                 of `toISOString()` instead, such as `2026-12-04T13:57:54.000Z`"
            ),
            Self::WeekdayMismatch { weekday, date } => write!(
                f,
                "the weekday {weekday} does not match the date {date}, which is a {actual}, so \
                 give {actual} or leave the weekday out, as in \
                 `Fri, 04 Dec 2026 14:57:54 +0100` from `date -R`",
                actual = date.weekday()
            ),
            Self::NonAsciiCharacter {
                character,
                replacement,
                corrected,
            } => write_non_ascii(f, *character, *replacement, corrected.as_deref(), forms),
            Self::MalformedOffset { offset } => write!(
                f,
                "the UTC offset `{offset}` is not written as +HH, +HHMM or +HH:MM, with two \
                 digits each for hours and minutes, so write it in one of these forms, such as \
                 `{}`, as `date -Iseconds` prints it",
                offset_example(offset)
            ),
            Self::Rfc2822MalformedOffset { offset } => write!(
                f,
                "the UTC offset `{offset}` is not written as +HHMM, with two digits each for \
                 hours and minutes, as RFC 2822 requires, so write it in that form, as in \
                 `Fri, 04 Dec 2026 14:57:54 +0100` from `date -R`"
            ),
            Self::Rfc2822MissingOffset => write!(
                f,
                "the RFC 2822 date has no UTC offset after its time, and RFC 2822 requires one, \
                 so add it, as in `Fri, 04 Dec 2026 14:57:54 +0100` from `date -R`"
            ),
            Self::Rfc2822Fraction {
                rfc3339: Some(rfc3339),
            } => write!(
                f,
                "the time has a fraction of a second, which RFC 2822 does not allow, so send \
                 `{rfc3339}` in RFC 3339, which keeps the fraction, or leave the fraction out, \
                 as `date -R` does"
            ),
            Self::Rfc2822Fraction { rfc3339: None } => write!(
                f,
                "the time has a fraction of a second, which RFC 2822 does not allow, so leave \
                 the fraction out, as `date -R` does, or send RFC 3339, such as \
                 `2026-12-04T14:57:54.5+01:00` from `date -Ins`"
            ),
            Self::Rfc2822ShortYear { digits, year } => write!(
                f,
                "the year `{digits}` has {count} digits, which RFC 2822 reads as the year \
                 {year}, before 1970, so write all four digits of the year, as in \
                 `Fri, 04 Dec 2026 14:57:54 +0100` from `date -R`",
                count = digits.len()
            ),
            Self::ZoneName {
                zone,
                with_offset: Some(with_offset),
            } => write!(
                f,
                "the zone name {zone} is not accepted after an ISO 8601 time, so send the UTC \
                 offset instead, as in `{with_offset}`"
            ),
            Self::ZoneName {
                zone,
                with_offset: None,
            } => write!(
                f,
                "the zone name {zone} is not accepted after an ISO 8601 time, so send the UTC \
                 offset instead, as in `2026-12-04T14:57:54+01:00` from `date -Iseconds`"
            ),
            Self::SpaceBeforeZ { without_space } => write!(
                f,
                "there is a space before the Z, so remove it and send `{without_space}`"
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

/// Returns an offset in the form `+HH:MM` for the mistyped `offset`: its
/// hours padded to two digits when it has one or two digits alone, such as
/// `-05:00` for `-5`, else an example with its sign.
fn offset_example(offset: &str) -> String {
    let (sign, digits) = offset.split_at(1);
    match digits.parse::<u8>() {
        Ok(hours) if digits.len() <= 2 && hours <= 23 => format!("{sign}{hours:02}:00"),
        _ => format!("{sign}05:30"),
    }
}

/// Writes the message of [`TimestampError::NonAsciiCharacter`], with `forms`
/// as the accepted forms for a character that has no ASCII replacement.
fn write_non_ascii(
    f: &mut fmt::Formatter<'_>,
    character: char,
    replacement: Option<char>,
    corrected: Option<&str>,
    forms: &str,
) -> fmt::Result {
    let code_point = format!("U+{:04X}", u32::from(character));
    let escaped = character.escape_unicode();
    let known = known_character(character);
    match (known, replacement) {
        (Some(known), Some(' ')) => write!(
            f,
            "the timestamp has {code_point} {} (`{escaped}`) where a space belongs, so type \
             an ASCII space instead",
            known.name
        )?,
        (Some(known), Some(ascii)) => write!(
            f,
            "the timestamp has {code_point} {} (`{escaped}`) where a `{ascii}` belongs, so \
             type the ASCII `{ascii}` instead",
            known.name
        )?,
        (Some(known), None) if known.ascii.is_none() => write!(
            f,
            "the timestamp has an invisible {code_point} {} (`{escaped}`), so remove it",
            known.name
        )?,
        (Some(known), None) => write!(
            f,
            "the timestamp has {code_point} {} (`{escaped}`), a space that is not ASCII, so \
             remove it",
            known.name
        )?,
        (None, _) => {
            return write!(
                f,
                "the timestamp has the non-ASCII character {code_point} (`{escaped}`), but an \
                 accepted timestamp writes its date, time and offset in ASCII, so {forms}"
            )
        }
    }
    match corrected {
        Some(corrected) => write!(f, " and send `{corrected}`"),
        None => Ok(()),
    }
}

/// Returns `the instant ..., ` in UTC for a range error's message, or nothing when the
/// instant is unknown.
fn instant_clause(instant: &Option<DateTime<Utc>>) -> String {
    match instant {
        Some(instant) => format!(
            "the instant {}, ",
            instant.to_rfc3339_opts(SecondsFormat::AutoSi, true)
        ),
        None => String::new(),
    }
}

/// Returns the first [`MAX_QUOTED_CHARS`] characters of `text`, with `...` after them when
/// the text is longer.
fn quoted_start(text: &str) -> String {
    let mut characters = text.chars();
    let start: String = characters.by_ref().take(MAX_QUOTED_CHARS).collect();
    if characters.next().is_some() {
        format!("{start}...")
    } else {
        start
    }
}

pub(super) fn unrecognized(text: &str) -> TimestampError {
    TimestampError::UnrecognizedFormat {
        text: text.chars().take(MAX_QUOTED_CHARS).collect(),
    }
}

pub(super) const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
pub(super) const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Returns true for text in the form that `date` prints without options,
/// such as `Fri Dec  4 14:57:54 CET 2026`: a weekday, a space, a month name.
fn is_plain_date_output(text: &str) -> bool {
    let mut words = text.split_ascii_whitespace();
    let weekday = words.next().unwrap_or_default();
    let month = words.next().unwrap_or_default();
    WEEKDAYS.contains(&weekday) && MONTHS.contains(&month)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::timestamp::tests::{out_of_range, unrecognized_input, BERLIN};

    #[test]
    fn message_with_forms_lists_given_forms() {
        let message = unrecognized_input("2026-11-1").message_with_forms("use a date");
        assert_eq!(message, "the format is not recognized, so use a date");
    }

    #[test]
    fn message_with_forms_replaces_forms_of_empty() {
        let message = TimestampError::Empty.message_with_forms("use a date");
        assert_eq!(message, "the timestamp is empty, so use a date");
    }

    #[test]
    fn message_with_forms_keeps_other_messages() {
        let error = TimestampError::LeapSecond;
        assert_eq!(error.message_with_forms("use a date"), error.to_string());
    }

    #[test]
    fn message_for_unrecognized_format_lists_api_forms() {
        let message = unrecognized_input("2026-11-1").to_string();
        assert!(message.ends_with(ACCEPTED_FORMS), "{message}");
    }

    #[test]
    fn message_for_space_before_offset_gives_fix() {
        let message = TimestampError::SpaceBeforeOffset.to_string();
        assert!(message.contains("`date '+%F %T %:z'`"), "{message}");
        assert!(message.contains("right after the time"), "{message}");
        assert!(message.contains("`2026-12-04T14:57:54+01:00`"), "{message}");
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
    fn message_for_empty_names_variable() {
        let message = TimestampError::Empty.to_string();
        assert!(
            message.starts_with(
                "the timestamp is empty, because the variable or command that supplies it gave \
                 nothing"
            ),
            "{message}"
        );
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
            TimestampError::CarriageReturnAtEnd { newline: false },
            TimestampError::CarriageReturnAtEnd { newline: true },
            TimestampError::TooLong { length: 200 },
            TimestampError::ControlCharacter { character: '\u{1}' },
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
            TimestampError::CompactDate {
                local: NaiveDateTime::default(),
                digits: 8,
            },
            TimestampError::YearOutOfRange { year: 1968 },
            TimestampError::InstantBeforeRange { instant: None },
            TimestampError::InstantBeforeRange {
                instant: Some(DateTime::default()),
            },
            TimestampError::InstantAfterRange { instant: None },
            TimestampError::InvalidRfc2822 {
                reason: "input is out of range".to_string(),
            },
            TimestampError::Rfc2822ZoneAbbreviation {
                abbreviation: "CET".to_string(),
            },
            TimestampError::SpaceBeforeOffset,
            TimestampError::Rfc2822OffsetWithColon {
                offset: "+01:00".to_string(),
                without_colon: "Fri, 04 Dec 2026 14:57:54 +0100".to_string(),
            },
            TimestampError::JavaZoneId {
                zone_id: "Europe/Berlin".to_string(),
                without_zone_id: "2026-12-04T14:57:54.123+01:00".to_string(),
            },
            TimestampError::GoTimeString {
                rfc3339: "2026-12-04T14:57:54.123+01:00".to_string(),
            },
            TimestampError::JavaScriptDateString {
                conversion: Some(JavaScriptConversion {
                    iso_string: "2026-12-04T13:57:54.000Z".to_string(),
                    with_offset: "2026-12-04T14:57:54+01:00".to_string(),
                }),
            },
            TimestampError::JavaScriptDateString { conversion: None },
            TimestampError::TextAfterOffset {
                timestamp: "2026-12-04T14:57:54+01:00".to_string(),
                rest: " CET".to_string(),
            },
            TimestampError::SecondOffset {
                timestamp: "2026-12-04T14:57:54+00:00".to_string(),
                offset: "Z".to_string(),
            },
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
            TimestampError::NonAsciiCharacter {
                character: '\u{2212}',
                replacement: Some('-'),
                corrected: Some("2026-12-04T14:57:54-05:00".to_string()),
            },
            TimestampError::NonAsciiCharacter {
                character: '\u{200b}',
                replacement: None,
                corrected: None,
            },
            TimestampError::NonAsciiCharacter {
                character: 'é',
                replacement: None,
                corrected: None,
            },
            TimestampError::MalformedOffset {
                offset: "+5".to_string(),
            },
            TimestampError::Rfc2822MalformedOffset {
                offset: "+01".to_string(),
            },
            TimestampError::Rfc2822MissingOffset,
            TimestampError::Rfc2822Fraction {
                rfc3339: Some("2026-12-04T14:57:54.5+01:00".to_string()),
            },
            TimestampError::Rfc2822Fraction { rfc3339: None },
            TimestampError::Rfc2822ShortYear {
                digits: "50".to_string(),
                year: 1950,
            },
            TimestampError::ZoneName {
                zone: "Europe/Berlin".to_string(),
                with_offset: None,
            },
            TimestampError::SpaceBeforeZ {
                without_space: "2026-12-04T14:57:54Z".to_string(),
            },
        ];
        for error in errors {
            let message = error.to_string();
            assert!(!message.contains(". "), "{message}");
            assert!(!message.contains('\n'), "{message}");
            let _: &dyn std::error::Error = &error;
        }
    }
}
