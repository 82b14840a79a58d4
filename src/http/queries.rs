//! The query parameters of the read API: paging and filters of the
//! transaction list (`GET /worker/log`, and the dashboard's list), and
//! paging of one transaction's log (`GET /worker/log/{id}`, and the
//! dashboard's page of one transaction). Both take `limit` and `cursor`
//! with the same rules and messages.

use super::handlers::APPEND_HINT;
use super::response::ApiError;
use crate::auth::User;
use crate::storage::logs::{
    Cursor, EntryCursor, ListQuery, LogQuery, Outcome, DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT,
};
use crate::validate::form::parse_pairs;
use crate::validate::timestamp::parse_timestamp;
use crate::validate::{
    plus_became_space, unit_seconds, whitespace_note, LocalZone, PARAMETER_NAMES,
};

/// The largest page of one transaction's log. A page of 1000 entries is
/// about 250 KB of JSON with messages of a few dozen bytes. It is at most
/// about 7 MB, when every message has the maximum 1024 bytes and each
/// byte is a control character that JSON escapes as `\u00XX`, and every
/// timestamp has the maximum 128 bytes.
pub const MAX_LOG_LIMIT: usize = 1000;

/// The page size of one transaction's log when the request names a cursor
/// but no limit, and of the dashboard's pages. A request of the API with
/// neither gets the whole log instead (see [`LogRead::Whole`]).
pub const DEFAULT_LOG_LIMIT: usize = MAX_LOG_LIMIT;

const INVALID_CURSOR: &str = "Invalid cursor; pass the next_cursor of the previous page unchanged.";

/// The query parameters of the transaction list.
pub const LIST_PARAMETERS: [&str; 5] = ["limit", "cursor", "outcome", "since", "until"];
/// The query parameters of one transaction's log.
pub const LOG_PARAMETERS: [&str; 2] = ["limit", "cursor"];

/// Decodes a query string into its pairs.
///
/// # Errors
///
/// [`ApiError::InvalidQuery`] naming the first parameter that does not
/// decode, such as one with a broken percent escape.
pub fn query_pairs(query: Option<&str>) -> Result<Vec<(String, String)>, ApiError> {
    parse_pairs(query.unwrap_or_default().as_bytes()).map_err(|failure| {
        ApiError::InvalidQuery(format!(
            "Query parameter {:?} {}, so {}.",
            failure.name,
            failure.error,
            failure.error.advice()
        ))
    })
}

/// Returns the seconds of `value` in the form of an age of the command
/// line, a whole number and a unit (`s`, `m`, `h` or `d`) such as `30d`, or
/// `None` for any other value. A unit in upper case counts too, because the
/// age only chooses the hint of an error. An age too large to count
/// saturates.
fn age_seconds(value: &str) -> Option<u64> {
    let mut characters = value.chars();
    let unit = characters
        .next_back()
        .and_then(|unit| unit_seconds(unit.to_ascii_lowercase()))?;
    let count = characters.as_str();
    if count.is_empty() || !count.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    let count: u64 = count.parse().unwrap_or(u64::MAX);
    Some(count.saturating_mul(unit))
}

/// Formats an example of a time with an offset for the age `value` of
/// `seconds`: the instant that the age gives before now, to the second. An
/// age that reaches back before 1970, the earliest year that timestamps may
/// have, gets 1970-01-01T00:00:00Z instead, because the API rejects its
/// instant.
fn age_example(value: &str, seconds: u64) -> String {
    let instant = i64::try_from(seconds)
        .ok()
        .and_then(chrono::TimeDelta::try_seconds)
        .and_then(|age| chrono::Utc::now().checked_sub_signed(age))
        .filter(|instant| instant.timestamp() >= 0);
    match instant {
        Some(instant) => format!(
            "{}, which is {value} before now",
            instant.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        ),
        None => format!(
            "1970-01-01T00:00:00Z, the earliest time accepted, because {value} before now \
             is before it"
        ),
    }
}

/// Returns the message for the query parameter `name` that is not one of
/// `known`: that names are lower case when only the case differs, else
/// `advice`.
fn unknown_parameter_message(name: &str, known: &[&str], advice: &str) -> String {
    match known.iter().find(|known| known.eq_ignore_ascii_case(name)) {
        Some(meant) => format!(
            "Unknown query parameter {name:?}: parameter names are lower case, so send {meant}."
        ),
        None => format!("Unknown query parameter {name:?}; {advice}."),
    }
}

/// Rejects the parameter `name` at `index` when an earlier pair has its name.
fn reject_repeat(pairs: &[(String, String)], index: usize, name: &str) -> Result<(), ApiError> {
    if pairs.iter().take(index).any(|(earlier, _)| earlier == name) {
        return Err(ApiError::InvalidQuery(format!(
            "Query parameter {name:?} is given more than once; send it once."
        )));
    }
    Ok(())
}

/// Parses a page size from 1 to `max`.
fn parse_limit(value: &str, max: usize) -> Result<usize, ApiError> {
    value
        .parse::<usize>()
        .ok()
        .filter(|limit| (1..=max).contains(limit))
        .ok_or_else(|| {
            ApiError::InvalidQuery(format!(
                "Invalid limit {value:?}; use a whole number from 1 to {max}."
            ))
        })
}

/// Parses the query string of the transaction list.
///
/// # Errors
///
/// [`ApiError::InvalidQuery`] naming the first parameter that is unknown,
/// repeated or invalid.
pub fn parse_list_query(
    query: Option<&str>,
    user: &User,
    default_zone: chrono_tz::Tz,
) -> Result<ListQuery, ApiError> {
    parse_list_pairs(&query_pairs(query)?, user, default_zone)
}

/// Parses the decoded query parameters of the transaction list.
///
/// # Errors
///
/// [`ApiError::InvalidQuery`] naming the first parameter that is unknown,
/// repeated or invalid.
pub fn parse_list_pairs(
    pairs: &[(String, String)],
    user: &User,
    default_zone: chrono_tz::Tz,
) -> Result<ListQuery, ApiError> {
    let mut list = ListQuery {
        limit: DEFAULT_LIST_LIMIT,
        ..ListQuery::default()
    };
    let zone = user.timezone.unwrap_or(default_zone);
    for (index, (name, value)) in pairs.iter().enumerate() {
        reject_repeat(pairs, index, name)?;
        match name.as_str() {
            "limit" => list.limit = parse_limit(value, MAX_LIST_LIMIT)?,
            "cursor" => {
                list.cursor = Some(Cursor::decode(value).ok_or_else(|| {
                    let message = if EntryCursor::decode(value).is_some() {
                        "Invalid cursor: it is from the log of one transaction; pass the \
                         next_cursor of the previous page of the list unchanged."
                    } else {
                        INVALID_CURSOR
                    };
                    ApiError::InvalidQuery(message.into())
                })?);
            }
            "outcome" => {
                list.outcome = Some(Outcome::parse(value).ok_or_else(|| {
                    let advice = match Outcome::in_other_case(value) {
                        Some(meant) => {
                            format!("outcomes are lower case, so send {}", meant.as_str())
                        }
                        None => "use one of fatal, succeeded, stalled, running".to_string(),
                    };
                    ApiError::InvalidQuery(format!(
                        "Invalid outcome {value:?}{}; {advice}.",
                        whitespace_note(value)
                    ))
                })?);
            }
            "since" | "until" => {
                let instant = parse_timestamp(value, zone).map_err(|error| {
                    if plus_became_space(value, zone) {
                        ApiError::InvalidQuery(format!(
                            "Invalid {name} {value:?}: its offset has a space where the + sign \
                             belongs, because + means a space in a query; write the + as %2B, \
                             for example with curl -G --data-urlencode \"{name}=...\"."
                        ))
                    } else if let Some(seconds) = age_seconds(value) {
                        // The command line takes units in lower case only.
                        let age = value.to_ascii_lowercase();
                        ApiError::InvalidQuery(format!(
                            "Invalid {name} {value:?}: an age such as 1d is read only by the \
                             command line (translog log list --{name} {age}); send a time \
                             with an offset, such as {}.",
                            age_example(&age, seconds)
                        ))
                    } else if error.is_skipped_local_time() {
                        ApiError::InvalidQuery(format!(
                            "Invalid {name} {value:?}: {error}; {}.",
                            LocalZone::for_user(user.timezone, default_zone).setting(&user.name)
                        ))
                    } else {
                        ApiError::InvalidQuery(format!("Invalid {name} {value:?}: {error}."))
                    }
                })?;
                if name == "since" {
                    list.since = Some(instant);
                } else {
                    list.until = Some(instant);
                }
            }
            _ => {
                return Err(ApiError::InvalidQuery(unknown_parameter_message(
                    name,
                    &LIST_PARAMETERS,
                    "use limit, cursor, outcome, since or until",
                )))
            }
        }
    }
    if list.has_reversed_window() {
        let value_of = |wanted: &str| {
            pairs
                .iter()
                .find(|(name, _)| name == wanted)
                .map(|(_, value)| value.clone())
                .unwrap_or_default()
        };
        return Err(ApiError::InvalidQuery(format!(
            "since {:?} is after until {:?}, so no transaction can match; swap the two values.",
            value_of("since"),
            value_of("until")
        )));
    }
    Ok(list)
}

/// The part of one transaction's log that a request reads.
#[derive(Debug, Clone)]
pub enum LogRead {
    /// Every entry, for a query without `limit` and `cursor`.
    Whole,
    /// One page, for a query with `limit`, `cursor` or both.
    Page(LogQuery),
}

/// Parses the query string of one transaction's log: `limit` and `cursor`.
/// A query with neither reads the whole log. When `may_append` is true and
/// an unknown parameter is a field of an entry, the message ends with
/// [`APPEND_HINT`]. A user who may write most likely sent that entry with
/// `curl -G`.
///
/// # Errors
///
/// [`ApiError::InvalidQuery`] naming the first parameter that is unknown,
/// repeated or invalid.
pub fn parse_log_query(
    query: Option<&str>,
    transaction_id: &str,
    may_append: bool,
) -> Result<LogRead, ApiError> {
    let pairs = query_pairs(query)?;
    let page = parse_log_pairs(&pairs, transaction_id, may_append)?;
    // Every parameter other than `limit` and `cursor` was rejected above.
    if pairs.is_empty() {
        Ok(LogRead::Whole)
    } else {
        Ok(LogRead::Page(page))
    }
}

/// Parses the decoded query parameters of one transaction's log, as
/// [`parse_log_query`] does.
///
/// # Errors
///
/// [`ApiError::InvalidQuery`] naming the first parameter that is unknown,
/// repeated or invalid.
pub fn parse_log_pairs(
    pairs: &[(String, String)],
    transaction_id: &str,
    may_append: bool,
) -> Result<LogQuery, ApiError> {
    let mut log = LogQuery {
        limit: DEFAULT_LOG_LIMIT,
        cursor: None,
    };
    for (index, (name, value)) in pairs.iter().enumerate() {
        reject_repeat(pairs, index, name)?;
        match name.as_str() {
            "limit" => log.limit = parse_limit(value, MAX_LOG_LIMIT)?,
            "cursor" => {
                let cursor = EntryCursor::decode(value).ok_or_else(|| {
                    let message = if Cursor::decode(value).is_some() {
                        "Invalid cursor: it is from the list of transactions; pass the \
                         next_cursor of this transaction's previous page unchanged."
                    } else {
                        INVALID_CURSOR
                    };
                    ApiError::InvalidQuery(message.into())
                })?;
                if cursor.transaction_id != transaction_id {
                    return Err(ApiError::InvalidQuery(
                        "Invalid cursor: it is from the log of another transaction; pass the \
                         next_cursor of this transaction's previous page unchanged."
                            .into(),
                    ));
                }
                log.cursor = Some(cursor);
            }
            _ => {
                let mut message =
                    unknown_parameter_message(name, &LOG_PARAMETERS, "use limit or cursor");
                if may_append && PARAMETER_NAMES.contains(&name.as_str()) {
                    message.push(' ');
                    message.push_str(APPEND_HINT);
                }
                return Err(ApiError::InvalidQuery(message));
            }
        }
    }
    Ok(log)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(error: ApiError) -> String {
        error.message()
    }

    #[test]
    fn capitalized_log_parameter_names_lower_case() {
        let error = parse_log_query(Some("Limit=5"), "tx-1", false).expect_err("case");
        assert_eq!(
            message(error),
            "Unknown query parameter \"Limit\": parameter names are lower case, so send limit."
        );
    }

    #[test]
    fn age_seconds_of_days() {
        assert_eq!(age_seconds("2d"), Some(172_800));
    }

    #[test]
    fn age_in_upper_case_is_counted() {
        assert_eq!(age_seconds("2H"), Some(7_200));
    }

    #[test]
    fn age_seconds_of_timestamp_is_none() {
        assert_eq!(age_seconds("2026-12-05"), None);
    }

    #[test]
    fn age_seconds_without_count_is_none() {
        assert_eq!(age_seconds("d"), None);
    }

    #[test]
    fn age_example_before_1970_is_earliest_time() {
        assert_eq!(
            age_example("30000d", 30_000 * 86_400),
            "1970-01-01T00:00:00Z, the earliest time accepted, because 30000d before now is \
             before it"
        );
    }

    #[test]
    fn age_example_of_huge_age_is_earliest_time() {
        let example = age_example("99999999999d", u64::MAX);
        assert!(example.starts_with("1970-01-01T00:00:00Z,"), "{example}");
    }

    #[test]
    fn log_query_without_parameters_reads_whole_log() {
        let read = parse_log_query(None, "tx-1", false).expect("no query");
        assert!(matches!(read, LogRead::Whole), "{read:?}");
    }

    #[test]
    fn empty_log_query_reads_whole_log() {
        let read = parse_log_query(Some(""), "tx-1", false).expect("empty query");
        assert!(matches!(read, LogRead::Whole), "{read:?}");
    }

    #[test]
    fn log_query_limit_reads_page() {
        let read = parse_log_query(Some("limit=5"), "tx-1", false).expect("limit");
        let LogRead::Page(query) = read else {
            panic!("{read:?} is no page");
        };
        assert_eq!(query.limit, 5);
    }

    #[test]
    fn cursor_alone_pages_by_default() {
        let cursor = EntryCursor {
            transaction_id: "tx-1".to_string(),
            timestamp_s: 1_764_856_800,
            timestamp_nanos: 0,
            received_at_ns: 1_764_856_801_000_000_000,
            stage: crate::entry::Stage::Load,
            status: crate::entry::Status::Fail,
        };
        let query = format!("cursor={}", cursor.encode());
        let read = parse_log_query(Some(&query), "tx-1", false).expect("cursor");
        let LogRead::Page(page) = read else {
            panic!("{read:?} is no page");
        };
        assert_eq!(page.limit, DEFAULT_LOG_LIMIT);
    }

    #[test]
    fn log_query_limit_zero_is_rejected() {
        let error = parse_log_query(Some("limit=0"), "tx-1", false).expect_err("limit 0");
        assert_eq!(
            message(error),
            "Invalid limit \"0\"; use a whole number from 1 to 1000."
        );
    }

    #[test]
    fn log_query_limit_over_max_is_rejected() {
        assert!(parse_log_query(Some("limit=1001"), "tx-1", false).is_err());
    }

    #[test]
    fn log_query_repeated_limit_is_rejected() {
        let error = parse_log_query(Some("limit=5&limit=6"), "tx-1", false).expect_err("repeated");
        assert_eq!(
            message(error),
            "Query parameter \"limit\" is given more than once; send it once."
        );
    }

    #[test]
    fn log_query_unknown_parameter_is_rejected() {
        let error = parse_log_query(Some("outcome=fatal"), "tx-1", false).expect_err("unknown");
        assert_eq!(
            message(error),
            "Unknown query parameter \"outcome\"; use limit or cursor."
        );
    }

    #[test]
    fn log_query_entry_field_gets_append_hint() {
        let error = parse_log_query(Some("stage=WORKER_INIT"), "tx-1", true).expect_err("unknown");
        assert_eq!(
            message(error),
            format!("Unknown query parameter \"stage\"; use limit or cursor. {APPEND_HINT}")
        );
    }

    #[test]
    fn log_query_reader_gets_no_hint() {
        let error = parse_log_query(Some("stage=WORKER_INIT"), "tx-1", false).expect_err("unknown");
        assert_eq!(
            message(error),
            "Unknown query parameter \"stage\"; use limit or cursor."
        );
    }

    #[test]
    fn log_query_other_unknown_has_no_hint() {
        let error = parse_log_query(Some("outcome=fatal"), "tx-1", true).expect_err("unknown");
        assert_eq!(
            message(error),
            "Unknown query parameter \"outcome\"; use limit or cursor."
        );
    }

    #[test]
    fn log_query_bad_cursor_is_rejected() {
        let error = parse_log_query(Some("cursor=abc"), "tx-1", false).expect_err("cursor");
        assert_eq!(message(error), INVALID_CURSOR);
    }
}
