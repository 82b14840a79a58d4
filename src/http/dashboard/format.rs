//! Plain-text formatting for the dashboard: spans of time, clock skew, ages
//! and truncated messages.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// Formats a non-negative span of time in at most two units, rounded to the
/// last unit shown: `800 ns`, `350 µs`, `2.5 ms`, `350 ms`, `2.3 s`, `45 s`,
/// `4 min 5 s`, `1 h 2 min`, `3 d 4 h`.
pub fn format_span(nanoseconds: u128) -> String {
    const SECOND: u128 = 1_000_000_000;
    const MINUTE: u128 = 60 * SECOND;
    const HOUR: u128 = 60 * MINUTE;
    let rounded = |unit: u128| (nanoseconds + unit / 2) / unit;
    // A count of tenths, such as 23 for 2.3, without a trailing `.0`.
    let tenths = |count: u128, unit: &str| match count % 10 {
        0 => format!("{} {unit}", count / 10),
        tenth => format!("{}.{tenth} {unit}", count / 10),
    };
    let two_units = |count: u128, per_major: u128, major: &str, minor: &str| match count % per_major
    {
        0 => format!("{} {major}", count / per_major),
        rest => format!("{} {major} {rest} {minor}", count / per_major),
    };

    if nanoseconds == 0 {
        return "0 s".to_string();
    }
    if nanoseconds < 1_000 {
        return format!("{nanoseconds} ns");
    }
    let microseconds = rounded(1_000);
    if microseconds < 1_000 {
        return format!("{microseconds} µs");
    }

    let tenth_milliseconds = rounded(100_000);
    if tenth_milliseconds < 100 {
        return tenths(tenth_milliseconds, "ms");
    }
    let milliseconds = rounded(1_000_000);
    if milliseconds < 1_000 {
        return format!("{milliseconds} ms");
    }

    let tenth_seconds = rounded(SECOND / 10);
    if tenth_seconds < 100 {
        return tenths(tenth_seconds, "s");
    }
    let seconds = rounded(SECOND);
    if seconds < 60 {
        return format!("{seconds} s");
    }
    if seconds < 3_600 {
        return two_units(seconds, 60, "min", "s");
    }

    let minutes = rounded(MINUTE);
    if minutes < 24 * 60 {
        return two_units(minutes, 60, "h", "min");
    }
    two_units(rounded(HOUR), 24, "d", "h")
}

/// Formats a clock skew (receive time minus the Worker's instant) with its
/// sign: `+2.3 s`, `-1 h 2 min`, or `0 s`.
pub fn format_skew(skew_ns: i128) -> String {
    let span = format_span(skew_ns.unsigned_abs());
    match skew_ns {
        0 => span,
        n if n > 0 => format!("+{span}"),
        _ => format!("-{span}"),
    }
}

pub(super) fn parse_instant(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|instant| instant.with_timezone(&Utc))
}

pub(super) fn instant_ns(instant: DateTime<Utc>) -> i128 {
    i128::from(instant.timestamp()) * 1_000_000_000 + i128::from(instant.timestamp_subsec_nanos())
}

/// Formats how long ago an instant was, as `12 s ago`.
pub(super) fn format_age(instant: DateTime<Utc>, now_ns: i64) -> String {
    let age = i128::from(now_ns) - instant_ns(instant);
    if age <= 0 {
        "just now".to_string()
    } else {
        format!("{} ago", format_span(age.unsigned_abs()))
    }
}

pub(super) fn format_duration(duration: Duration) -> String {
    format_span(duration.as_nanos())
}

/// Truncates a text to `max_chars` characters, with an ellipsis when cut.
pub(super) fn truncate_chars(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_skew_seconds_with_tenths() {
        assert_eq!(format_skew(2_345_000_000), "+2.3 s");
    }

    #[test]
    fn format_skew_negative_hours() {
        assert_eq!(format_skew(-(3_720 * 1_000_000_000 + 5)), "-1 h 2 min");
    }

    #[test]
    fn format_skew_zero() {
        assert_eq!(format_skew(0), "0 s");
    }

    #[test]
    fn format_skew_milliseconds() {
        assert_eq!(format_skew(350_400_000), "+350 ms");
    }

    #[test]
    fn format_span_table() {
        let cases: [(u128, &str); 13] = [
            (999, "999 ns"),
            (250_000, "250 µs"),
            (2_540_000, "2.5 ms"),
            (2_000_000_000, "2 s"),
            (45_900_000_000, "46 s"),
            (59_960_000_000, "1 min"),
            (3_599_700_000_000, "1 h"),
            (60_000_000_000, "1 min"),
            (245_000_000_000, "4 min 5 s"),
            (21_600_000_000_000, "6 h"),
            (3_723_000_000_000, "1 h 2 min"),
            (86_400_000_000_000, "1 d"),
            (273_600_000_000_000, "3 d 4 h"),
        ];
        for (nanoseconds, expected) in cases {
            assert_eq!(format_span(nanoseconds), expected, "{nanoseconds} ns");
        }
    }

    #[test]
    fn truncate_chars_cuts_on_character() {
        assert_eq!(truncate_chars("ééé", 2), "éé…");
    }

    #[test]
    fn truncate_chars_short_text_unchanged() {
        assert_eq!(truncate_chars("abc", 3), "abc");
    }
}
