//! The form that JavaScript's `Date.toString()` prints, such as
//! `Fri Dec 04 2026 14:57:54 GMT+0100 (Central European Standard Time)`. It
//! is not an accepted form, but its error quotes the same instant in forms
//! that are, so that a Worker's author finds their own timestamp in them.

use chrono::SecondsFormat;
use chrono_tz::Tz;

use super::error::{JavaScriptConversion, TimestampError, MONTHS, WEEKDAYS};
use super::parse_timestamp;

/// Returns the error for text in the form of `Date.toString()`: a weekday,
/// a month name, a day, a year, a time, then `GMT` and the offset. Returns
/// `None` for text of another form. The error quotes the same instant when
/// the offset can be read, and names the invalid field of a date or time
/// that does not exist, so that the value it offers is one that is accepted.
/// The weekday is not checked, because the date alone names the day.
pub(super) fn javascript_date_string(text: &str) -> Option<TimestampError> {
    let words: Vec<&str> = text.split_ascii_whitespace().take(7).collect();
    let [weekday, month, day, year, time, zone, ..] = words[..] else {
        return None;
    };
    let is_digits = |word: &str, count: usize| {
        word.len() == count && word.bytes().all(|byte| byte.is_ascii_digit())
    };
    let month_number = MONTHS.iter().position(|name| *name == month)? + 1;
    let is_time = time.len() == "14:57:54".len()
        && time.bytes().enumerate().all(|(index, byte)| match index {
            2 | 5 => byte == b':',
            _ => byte.is_ascii_digit(),
        });
    let is_date_string = WEEKDAYS.contains(&weekday)
        && is_digits(day, 2)
        && is_digits(year, 4)
        && is_time
        && zone.starts_with("GMT");
    if !is_date_string {
        return None;
    }

    // Form decoding turns the offset's `+` into a space, which leaves `GMT`
    // and the digits as two words. A `-` would have stayed.
    let offset = match &zone["GMT".len()..] {
        "" => words
            .get(6)
            .filter(|word| is_digits(word, 4))
            .map(|digits| format!("+{digits}")),
        offset => Some(offset.to_string()),
    };
    let offset = offset.filter(|offset| {
        offset
            .strip_prefix(['+', '-'])
            .is_some_and(|digits| is_digits(digits, 4))
    });
    let Some(offset) = offset else {
        return Some(TimestampError::JavaScriptDateString { conversion: None });
    };

    // The offset is 5 ASCII bytes, so the slices start on character boundaries.
    let with_offset = format!(
        "{year}-{month_number:02}-{day}T{time}{}:{}",
        &offset[..3],
        &offset[3..]
    );
    match parse_timestamp(&with_offset, Tz::UTC) {
        Ok(instant) => Some(TimestampError::JavaScriptDateString {
            conversion: Some(JavaScriptConversion {
                iso_string: instant.to_rfc3339_opts(SecondsFormat::Millis, true),
                with_offset,
            }),
        }),
        Err(TimestampError::UnrecognizedFormat { .. }) => {
            Some(TimestampError::JavaScriptDateString { conversion: None })
        }
        Err(error) => Some(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conversion(text: &str) -> Option<JavaScriptConversion> {
        match javascript_date_string(text) {
            Some(TimestampError::JavaScriptDateString { conversion }) => conversion,
            other => panic!("{text:?}: {other:?}"),
        }
    }

    #[test]
    fn date_string_converts_to_iso_string() {
        let text = "Fri Dec 04 2026 14:57:54 GMT+0100 (Central European Standard Time)";
        let converted = conversion(text).expect("a conversion");
        assert_eq!(converted.iso_string, "2026-12-04T13:57:54.000Z");
    }

    #[test]
    fn date_string_keeps_offset() {
        let text = "Fri Dec 04 2026 14:57:54 GMT+0100 (Central European Standard Time)";
        let converted = conversion(text).expect("a conversion");
        assert_eq!(converted.with_offset, "2026-12-04T14:57:54+01:00");
    }

    #[test]
    fn date_string_with_negative_offset() {
        let text = "Thu Jun 04 2026 21:30:00 GMT-0430 (Venezuela Time)";
        let converted = conversion(text).expect("a conversion");
        assert_eq!(converted.iso_string, "2026-06-05T02:00:00.000Z");
    }

    #[test]
    fn date_string_with_decoded_plus() {
        let text = "Fri Dec 04 2026 14:57:54 GMT 0100 (Central European Standard Time)";
        let converted = conversion(text).expect("a conversion");
        assert_eq!(converted.with_offset, "2026-12-04T14:57:54+01:00");
    }

    #[test]
    fn date_string_without_zone_name() {
        let converted = conversion("Fri Dec 04 2026 14:57:54 GMT+0000").expect("a conversion");
        assert_eq!(converted.iso_string, "2026-12-04T14:57:54.000Z");
    }

    #[test]
    fn date_string_with_non_ascii_offset() {
        assert_eq!(conversion("Fri Dec 04 2026 14:57:54 GMT\u{e9}1234"), None);
    }

    #[test]
    fn date_string_with_unreadable_offset() {
        assert_eq!(conversion("Fri Dec 04 2026 14:57:54 GMT+1 (CET)"), None);
    }

    #[test]
    fn date_string_of_missing_hour_names_hour() {
        let error = javascript_date_string("Fri Dec 04 2026 24:00:00 GMT+0100 (CET)");
        assert_eq!(
            error,
            Some(TimestampError::FieldOutOfRange {
                field: "hour",
                value: 24,
                min: 0,
                max: 23
            })
        );
    }

    #[test]
    fn date_string_of_missing_day_names_date() {
        let error = javascript_date_string("Mon Feb 30 2026 10:00:00 GMT+0100 (CET)");
        assert_eq!(
            error,
            Some(TimestampError::NonexistentDate {
                year: 2026,
                month: 2,
                day: 30
            })
        );
    }

    #[test]
    fn date_string_before_1970_is_out_of_range() {
        let error = javascript_date_string("Thu Jan 01 1970 00:30:00 GMT+0100 (CET)");
        let instant = chrono::DateTime::from_timestamp(-1800, 0);
        assert_eq!(error, Some(TimestampError::InstantBeforeRange { instant }));
    }

    #[test]
    fn plain_date_output_is_not_date_string() {
        assert_eq!(javascript_date_string("Fri Dec  4 14:57:54 CET 2026"), None);
    }
}
