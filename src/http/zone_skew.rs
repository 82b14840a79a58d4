//! The warning about a Worker whose local times are read in another time
//! zone than its clock's. Such an entry is stored at a wrong instant, and its
//! clock skew (the receive time minus the timestamp) lies close to a whole
//! number of hours, or half hours, because that is how UTC offsets differ.
//! Delivery time and clock drift rarely add up to such a skew.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use chrono::{DateTime, Offset as _, TimeZone as _, Utc};
use chrono_tz::Tz;

use super::dashboard::{format_skew, format_span};
use super::REQUEST_LOG;
use crate::entry::NewEntry;
use crate::throttled_log::ThrottledEvents;
use crate::validate::timestamp::{timestamp_precision, Precision};
use crate::validate::ZoneSource;

const SECOND_NS: i128 = 1_000_000_000;
const HOUR_NS: i128 = 3_600 * SECOND_NS;

/// The step between UTC offsets: most zones differ by whole hours, and some
/// by half hours, such as India at +05:30.
const ZONE_STEP_NS: i128 = HOUR_NS / 2;

/// How far a clock skew may lie from a multiple of [`ZONE_STEP_NS`]: the
/// time a report takes to arrive, retries included, plus the drift of the
/// Worker's clock.
const TOLERANCE_NS: i128 = 2 * 60 * SECOND_NS;

/// The UTC offsets in use run from -12:00 to +14:00, so two zones differ by
/// at most 26 hours.
const MIN_OFFSET_S: i32 = -12 * 3_600;
const MAX_OFFSET_S: i32 = 14 * 3_600;
const MAX_ZONE_SKEW_NS: i128 = 26 * HOUR_NS;

/// The shortest time between two warnings about the entries of one user.
const ZONE_WARNING_INTERVAL: Duration = Duration::from_secs(10 * 60);

/// Returns `skew_ns` rounded to the nearest multiple of half an hour, when
/// that multiple is at least an hour and at most 26 hours away from zero
/// and `skew_ns` lies within [`TOLERANCE_NS`] of it, else `None`.
fn zone_like_skew(skew_ns: i128) -> Option<i128> {
    let rounded = (skew_ns + ZONE_STEP_NS / 2).div_euclid(ZONE_STEP_NS) * ZONE_STEP_NS;
    let in_range = (HOUR_NS..=MAX_ZONE_SKEW_NS).contains(&rounded.abs());
    let close = (skew_ns - rounded).abs() <= TOLERANCE_NS;
    (in_range && close).then_some(rounded)
}

/// The clock skew of an entry whose timestamp is a local time, where the
/// skew looks like the difference between two time zones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZoneSkew {
    /// The instant that the local time was read as.
    instant: DateTime<Utc>,
    /// The zone that read the local time.
    zone: Tz,
    skew_ns: i128,
    /// The UTC offset, in seconds, of a clock whose local time would give
    /// this entry a skew of a few seconds: the zone's offset at the instant
    /// minus the skew rounded to half an hour.
    clock_offset_s: i32,
}

impl ZoneSkew {
    /// Returns the zone-like skew of `entry`, received at `received_at_ns`
    /// nanoseconds since the Unix epoch. It is `None` for a timestamp with an
    /// offset and for Unix seconds, whose instant is explicit. It is `None`
    /// for a date alone or a time with hours alone too, because their skew
    /// includes the part of the day or hour that they leave out.
    ///
    /// Only an entry with a local time whose skew passes the arithmetic check
    /// costs more than a few integer operations, and none allocates.
    pub fn of(entry: &NewEntry, received_at_ns: i64) -> Option<ZoneSkew> {
        let zone = entry.local_zone?;
        let instant = entry.timestamp;
        let instant_ns = i128::from(instant.timestamp()) * SECOND_NS
            + i128::from(instant.timestamp_subsec_nanos());
        let skew_ns = i128::from(received_at_ns) - instant_ns;
        let rounded_ns = zone_like_skew(skew_ns)?;

        let precision = timestamp_precision(&entry.timestamp_sent)?;
        if matches!(precision, Precision::Day | Precision::Hour) {
            return None;
        }
        let zone_offset_s = zone
            .offset_from_utc_datetime(&instant.naive_utc())
            .fix()
            .local_minus_utc();
        let rounded_s = i32::try_from(rounded_ns / SECOND_NS).ok()?;
        let clock_offset_s = zone_offset_s - rounded_s;
        if !(MIN_OFFSET_S..=MAX_OFFSET_S).contains(&clock_offset_s) {
            return None;
        }
        Some(ZoneSkew {
            instant,
            zone,
            skew_ns,
            clock_offset_s,
        })
    }
}

/// The warnings about entries with a [`ZoneSkew`], at most one line per user
/// every [`ZONE_WARNING_INTERVAL`]. The map has one counter for each user who
/// sent such an entry since the start, and users are few, so it is never
/// pruned.
#[derive(Debug, Default)]
pub struct ZoneWarnings {
    users: Mutex<HashMap<String, ThrottledEvents<()>>>,
}

impl ZoneWarnings {
    /// Counts `skew`, of an entry that `user` stored in the log of
    /// `transaction_id`, and logs a warning about it unless a warning about
    /// `user` was logged less than [`ZONE_WARNING_INTERVAL`] ago. `source`
    /// names the setting that the zone came from.
    pub fn record(&self, skew: &ZoneSkew, user: &str, source: ZoneSource, transaction_id: &str) {
        let now = Instant::now();
        let record = |events: &mut ThrottledEvents<()>| {
            events.record(now, ());
            events.take_due(now)
        };
        let batch = {
            let mut users = self.users.lock().unwrap_or_else(PoisonError::into_inner);
            match users.get_mut(user) {
                Some(events) => record(events),
                None => {
                    let mut events = ThrottledEvents::new(ZONE_WARNING_INTERVAL);
                    let batch = record(&mut events);
                    users.insert(user.to_string(), events);
                    batch
                }
            }
        };
        if let Some(batch) = batch {
            log::warn!(
                target: REQUEST_LOG,
                "{}",
                warning_text(skew, user, source, transaction_id, batch.count)
            );
        }
    }
}

/// Returns the warning about `skew`, the latest of `count` such entries of
/// `user` since the last warning about that user.
fn warning_text(
    skew: &ZoneSkew,
    user: &str,
    source: ZoneSource,
    transaction_id: &str,
    count: u64,
) -> String {
    let local_time = skew.instant.with_timezone(&skew.zone).naive_local();
    let zone = match source {
        ZoneSource::User => format!("{}, the user's time zone", skew.zone),
        ZoneSource::Server => format!(
            "{}, the server's --timezone, because the user has no time zone of its own",
            skew.zone
        ),
    };
    let clock = format_utc_offset(skew.clock_offset_s);
    let interval = format_span(ZONE_WARNING_INTERVAL.as_nanos());
    let counted = if count == 1 {
        format!(
            "Further such entries of this user within {interval} are counted in the next such line"
        )
    } else {
        format!(
            "This line counts {count} such entries of this user since the last one, and comes \
             at most every {interval}"
        )
    };
    format!(
        "user {user} probably sends local times from a clock in another time zone: \
         tx={transaction_id:?} has an entry with the local time {local_time}, read in {zone}. \
         Its clock skew (receive time minus timestamp) is {}, as from a clock at {clock}. Give \
         the user the Worker's zone with translog user set-timezone {user} ZONE, or make the \
         Worker send an offset or UTC, as date -Iseconds does. Entries already stored keep \
         their instant. A step reported that many hours late has such a skew too, as \
         docs/operators.md says under \"A Worker in the wrong time zone\". {counted}",
        format_skew(skew.skew_ns),
    )
}

/// Formats a UTC offset in seconds as `UTC+01:00`, `UTC-03:30` or `UTC`.
fn format_utc_offset(offset_s: i32) -> String {
    if offset_s == 0 {
        return "UTC".to_string();
    }
    let sign = if offset_s < 0 { '-' } else { '+' };
    let minutes = offset_s.unsigned_abs() / 60;
    format!("UTC{sign}{:02}:{:02}", minutes / 60, minutes % 60)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::{Stage, Status, TransactionId};
    use crate::validate::timestamp::resolve_timestamp;

    const MINUTE_NS: i128 = 60 * SECOND_NS;

    /// Builds an entry with `timestamp_sent` read in `zone`.
    fn entry(timestamp_sent: &str, zone: Tz) -> NewEntry {
        let resolved = resolve_timestamp(timestamp_sent, zone).expect("a valid timestamp");
        NewEntry {
            transaction_id: TransactionId::parse("tx-1").expect("a valid id"),
            timestamp: resolved.instant,
            timestamp_sent: timestamp_sent.to_string(),
            local_zone: resolved.local_zone,
            stage: Stage::Init,
            status: Status::Success,
            message: None,
            reported_by: "worker-eu1".to_string(),
        }
    }

    /// Returns the instant of `text`, RFC 3339, in nanoseconds since the
    /// Unix epoch.
    fn received_at(text: &str) -> i64 {
        DateTime::parse_from_rfc3339(text)
            .expect("an RFC 3339 instant")
            .timestamp_nanos_opt()
            .expect("an instant in range")
    }

    #[test]
    fn one_hour_skew_is_zone_like() {
        assert_eq!(zone_like_skew(-HOUR_NS), Some(-HOUR_NS));
    }

    #[test]
    fn skew_within_tolerance_is_zone_like() {
        assert_eq!(zone_like_skew(HOUR_NS + 90 * SECOND_NS), Some(HOUR_NS));
    }

    #[test]
    fn skew_under_hour_is_zone_like() {
        assert_eq!(zone_like_skew(-HOUR_NS + MINUTE_NS), Some(-HOUR_NS));
    }

    #[test]
    fn half_hours_skew_is_zone_like() {
        let skew = -(5 * HOUR_NS + 30 * MINUTE_NS);
        assert_eq!(zone_like_skew(skew + 3 * SECOND_NS), Some(skew));
    }

    #[test]
    fn skew_past_tolerance_is_not_zone_like() {
        assert_eq!(zone_like_skew(HOUR_NS + 17 * MINUTE_NS), None);
    }

    #[test]
    fn half_hour_skew_is_too_small() {
        assert_eq!(zone_like_skew(30 * MINUTE_NS), None);
    }

    #[test]
    fn seconds_skew_is_not_zone_like() {
        assert_eq!(zone_like_skew(2 * SECOND_NS), None);
    }

    #[test]
    fn skew_over_26_hours_is_too_large() {
        assert_eq!(zone_like_skew(27 * HOUR_NS), None);
    }

    #[test]
    fn local_time_hour_ahead_is_flagged() {
        let entry = entry("2026-12-04T14:57:54", Tz::UTC);
        let skew = ZoneSkew::of(&entry, received_at("2026-12-04T13:57:55Z"));
        let offset = skew.map(|skew| skew.clock_offset_s);
        assert_eq!(offset, Some(3_600));
    }

    #[test]
    fn local_time_hour_behind_is_flagged() {
        let entry = entry("2026-12-04 12:57:54", chrono_tz::Europe::Berlin);
        let skew = ZoneSkew::of(&entry, received_at("2026-12-04T12:57:54Z"));
        let offset = skew.map(|skew| skew.clock_offset_s);
        assert_eq!(offset, Some(0));
    }

    #[test]
    fn local_time_with_fraction_is_flagged() {
        let entry = entry("2026-12-04T14:57:54.250", Tz::UTC);
        let skew = ZoneSkew::of(&entry, received_at("2026-12-04T13:57:54.300Z"));
        assert!(skew.is_some());
    }

    #[test]
    fn right_zone_is_not_flagged() {
        let entry = entry("2026-12-04T14:57:54", chrono_tz::Europe::Berlin);
        let skew = ZoneSkew::of(&entry, received_at("2026-12-04T13:57:55Z"));
        assert_eq!(skew, None);
    }

    #[test]
    fn offset_timestamp_is_not_flagged() {
        let entry = entry("2026-12-04T14:57:54+00:00", Tz::UTC);
        let skew = ZoneSkew::of(&entry, received_at("2026-12-04T13:57:55Z"));
        assert_eq!(skew, None);
    }

    #[test]
    fn unix_seconds_are_not_flagged() {
        // 2026-12-04T14:57:54Z
        let entry = entry("1796396274", Tz::UTC);
        let skew = ZoneSkew::of(&entry, received_at("2026-12-04T13:57:55Z"));
        assert_eq!(skew, None);
    }

    #[test]
    fn date_alone_is_not_flagged() {
        let entry = entry("2026-12-04", Tz::UTC);
        let skew = ZoneSkew::of(&entry, received_at("2026-12-04T03:00:30Z"));
        assert_eq!(skew, None);
    }

    #[test]
    fn hours_alone_are_not_flagged() {
        let entry = entry("2026-12-04T14", Tz::UTC);
        let skew = ZoneSkew::of(&entry, received_at("2026-12-04T15:59:00Z"));
        assert_eq!(skew, None);
    }

    #[test]
    fn skew_past_offsets_is_not_flagged() {
        // A clock at UTC+15:00 would give this skew, but no zone has that offset.
        let entry = entry("2026-12-05T04:00:00", Tz::UTC);
        let skew = ZoneSkew::of(&entry, received_at("2026-12-04T13:00:00Z"));
        assert_eq!(skew, None);
    }

    fn berlin_clock_skew() -> ZoneSkew {
        let entry = entry("2026-12-04T14:57:54", Tz::UTC);
        ZoneSkew::of(&entry, received_at("2026-12-04T13:57:54Z")).expect("a zone-like skew")
    }

    #[test]
    fn warning_names_user_zone_and_skew() {
        let text = warning_text(
            &berlin_clock_skew(),
            "worker-eu1",
            ZoneSource::Server,
            "tx-1",
            1,
        );
        assert!(
            text.starts_with("user worker-eu1 probably sends local times"),
            "{text}"
        );
        assert!(
            text.contains("read in UTC, the server's --timezone, because the user has no"),
            "{text}"
        );
        assert!(
            text.contains("clock skew (receive time minus timestamp) is -1 h"),
            "{text}"
        );
        assert!(text.contains("as from a clock at UTC+01:00"), "{text}");
    }

    #[test]
    fn warning_names_transaction_and_fix() {
        let text = warning_text(
            &berlin_clock_skew(),
            "worker-eu1",
            ZoneSource::User,
            "tx-1",
            1,
        );
        assert!(
            text.contains("tx=\"tx-1\" has an entry with the local time 2026-12-04 14:57:54,"),
            "{text}"
        );
        assert!(text.contains("UTC, the user's time zone"), "{text}");
        assert!(
            text.contains("translog user set-timezone worker-eu1 ZONE"),
            "{text}"
        );
    }

    #[test]
    fn warning_counts_unlogged_entries() {
        let text = warning_text(
            &berlin_clock_skew(),
            "worker-eu1",
            ZoneSource::User,
            "tx-1",
            7,
        );
        let expected = "counts 7 such entries of this user since the last one, and comes at most \
                        every 10 min";
        assert!(text.ends_with(expected), "{text}");
    }

    #[test]
    fn utc_offsets_are_formatted() {
        assert_eq!(format_utc_offset(3_600), "UTC+01:00");
        assert_eq!(format_utc_offset(-(3 * 3_600 + 1_800)), "UTC-03:30");
        assert_eq!(format_utc_offset(0), "UTC");
    }
}
