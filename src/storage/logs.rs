//! Reading transaction logs back: one log with its entries, the list of
//! transactions with paging and filters, their outcomes and counts by
//! outcome, and the transactions that stalled, for alerts.

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::types::{ToSql, Type};
use rusqlite::{named_params, params, Connection, OptionalExtension, Row};
use serde::Serialize;

use super::StorageError;

pub use super::log_pages::{
    count_entries_before, last_end_entry, newest_page_cursor, previous_page_cursor,
    transaction_log, transaction_log_page, EntryCursor, LogQuery,
};

/// Formats an instant as RFC 3339 in UTC with all nine fraction digits.
pub fn format_instant(instant: DateTime<Utc>) -> String {
    instant.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

/// Formats the instant stored as `seconds` and `nanos`, read from column
/// `column` and the one after it, as [`format_instant`] does.
///
/// # Errors
///
/// [`rusqlite::Error::FromSqlConversionFailure`] for an instant that chrono
/// cannot represent, which only a database changed by other means than
/// translog can contain. The read fails, so the request gets `500` and the
/// log gets the value.
pub(super) fn instant(seconds: i64, nanos: u32, column: usize) -> rusqlite::Result<String> {
    let instant = DateTime::from_timestamp(seconds, nanos).ok_or_else(|| {
        let message = format!("the stored instant {seconds} s {nanos} ns is out of range");
        rusqlite::Error::FromSqlConversionFailure(column, Type::Integer, message.into())
    })?;
    Ok(format_instant(instant))
}

pub(super) fn instant_from_ns(nanoseconds: i64) -> String {
    format_instant(DateTime::from_timestamp_nanos(nanoseconds))
}

/// The state of a transaction, derived from its entries and receive times.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Some entry is `FATAL`.
    Fatal,
    /// A `WORKER_END` entry is `SUCCESS` or `WARNING`, and no entry is `FATAL`.
    Succeeded,
    /// Neither, and nothing arrived for longer than the stall period.
    Stalled,
    /// Neither, and still reporting.
    Running,
}

impl Outcome {
    pub const ALL: [Outcome; 4] = [
        Outcome::Fatal,
        Outcome::Succeeded,
        Outcome::Stalled,
        Outcome::Running,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Fatal => "fatal",
            Outcome::Succeeded => "succeeded",
            Outcome::Stalled => "stalled",
            Outcome::Running => "running",
        }
    }

    pub fn parse(text: &str) -> Option<Outcome> {
        Outcome::ALL
            .into_iter()
            .find(|outcome| outcome.as_str() == text)
    }

    /// Returns the outcome that `text` names in another case, such as
    /// `FATAL`, for the hint of an error, or `None`.
    pub fn in_other_case(text: &str) -> Option<Outcome> {
        Outcome::ALL
            .into_iter()
            .find(|outcome| outcome.as_str().eq_ignore_ascii_case(text.trim()))
    }
}

/// The SQL expression of a transaction's outcome; `:cutoff` is the receive
/// time, in nanoseconds, before which a transaction without an end counts as
/// stalled.
pub(super) const OUTCOME_SQL: &str = "CASE WHEN has_fatal THEN 'fatal'
                               WHEN has_end THEN 'succeeded'
                               WHEN last_received_at_ns < :cutoff THEN 'stalled'
                               ELSE 'running' END";

/// Computes the receive time, in nanoseconds, before which a transaction
/// without an end counts as stalled at `now_ns`.
pub fn stall_cutoff(now_ns: i64, stall_after: Duration) -> i64 {
    let stall_ns = i64::try_from(stall_after.as_nanos()).unwrap_or(i64::MAX);
    now_ns.saturating_sub(stall_ns)
}

/// The number of transactions of each outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutcomeCounts {
    pub fatal: i64,
    pub succeeded: i64,
    pub stalled: i64,
    pub running: i64,
}

impl OutcomeCounts {
    /// Returns the number of transactions of `outcome`.
    pub fn get(&self, outcome: Outcome) -> i64 {
        match outcome {
            Outcome::Fatal => self.fatal,
            Outcome::Succeeded => self.succeeded,
            Outcome::Stalled => self.stalled,
            Outcome::Running => self.running,
        }
    }

    /// Returns the number of transactions of every outcome together.
    pub fn total(&self) -> i64 {
        self.fatal + self.succeeded + self.stalled + self.running
    }

    fn set(&mut self, outcome: Outcome, count: i64) {
        let field = match outcome {
            Outcome::Fatal => &mut self.fatal,
            Outcome::Succeeded => &mut self.succeeded,
            Outcome::Stalled => &mut self.stalled,
            Outcome::Running => &mut self.running,
        };
        *field = count;
    }
}

pub(super) fn parse_outcome(text: &str) -> Outcome {
    Outcome::parse(text).unwrap_or(Outcome::Running)
}

/// One entry of a log, as the read API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct LogEntry {
    pub timestamp: String,
    pub timestamp_sent: String,
    pub stage: String,
    pub status: String,
    pub message: Option<String>,
    pub received_at: String,
    pub reported_by: String,
    /// The Worker's timestamp as seconds and nanoseconds since the Unix
    /// epoch, for computing clock skew.
    #[serde(skip)]
    pub timestamp_parts: (i64, u32),
    #[serde(skip)]
    pub received_at_ns: i64,
}

impl LogEntry {
    /// Returns the clock skew in nanoseconds: the receive time minus the
    /// instant of the Worker's timestamp. It is negative for a timestamp
    /// after the receive time.
    pub fn clock_skew_ns(&self) -> i128 {
        let (seconds, nanos) = self.timestamp_parts;
        let timestamp_ns = i128::from(seconds) * 1_000_000_000 + i128::from(nanos);
        i128::from(self.received_at_ns) - timestamp_ns
    }
}

/// The log of one transaction.
#[derive(Debug, Clone, Serialize)]
pub struct TransactionLog {
    pub transaction_id: String,
    pub outcome: Outcome,
    pub entries: Vec<LogEntry>,
    /// The cursor of the next page; `None` on the last page.
    pub next_cursor: Option<String>,
}

/// One transaction in the list.
#[derive(Debug, Clone, Serialize)]
pub struct TransactionSummary {
    pub transaction_id: String,
    pub outcome: Outcome,
    pub first_timestamp: String,
    pub last_timestamp: String,
    pub last_stage: String,
    pub last_status: String,
    pub entry_count: i64,
    pub last_received_at: String,
    /// `last_received_at` in nanoseconds, for paging and stall checks.
    #[serde(skip)]
    pub last_received_at_ns: i64,
    #[serde(skip)]
    pub last_message: Option<String>,
    /// The stage of the first `FATAL` entry by timestamp (ties in arrival
    /// order), which made the outcome fatal. `None` unless the outcome is
    /// fatal, as are the two fields after it.
    pub fatal_stage: Option<String>,
    /// The instant of that entry's timestamp.
    pub fatal_timestamp: Option<String>,
    /// That entry's message; also `None` when the entry has none.
    pub fatal_message: Option<String>,
}

/// Encodes the text of a cursor as URL-safe base64, with a `/` appended that
/// [`decode_token`] requires.
pub(super) fn encode_token(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{text}/"))
}

/// Decodes a token made by [`encode_token`]; `None` when it is not one.
pub(super) fn decode_token(token: &str) -> Option<String> {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()?;
    let mut text = String::from_utf8(bytes).ok()?;
    text.pop().filter(|last| *last == '/')?;
    Some(text)
}

/// A position in the list: the receive time and id of the last transaction
/// of the previous page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub last_received_at_ns: i64,
    pub transaction_id: String,
}

impl Cursor {
    /// Encodes the cursor as an opaque URL-safe token. The text ends with a
    /// `/`, which no transaction id contains, so that a token cut short by a
    /// copy and paste fails to decode instead of naming a shorter id.
    pub fn encode(&self) -> String {
        encode_token(&format!(
            "{}:{}",
            self.last_received_at_ns, self.transaction_id
        ))
    }

    /// Decodes a token made by [`Cursor::encode`]; `None` when it is not one.
    pub fn decode(token: &str) -> Option<Cursor> {
        let text = decode_token(token)?;
        let (received, transaction_id) = text.split_once(':')?;
        Some(Cursor {
            last_received_at_ns: received.parse().ok()?,
            transaction_id: transaction_id.to_string(),
        })
    }
}

/// The largest page of the transaction list.
pub const MAX_LIST_LIMIT: usize = 1000;
/// The page size of the transaction list without a `limit`.
pub const DEFAULT_LIST_LIMIT: usize = 50;

/// Filters and paging of the transaction list.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub limit: usize,
    pub cursor: Option<Cursor>,
    pub outcome: Option<Outcome>,
    /// Only transactions whose last entry's timestamp is at or after this.
    pub since: Option<DateTime<Utc>>,
    /// Only transactions whose last entry's timestamp is at or before this.
    pub until: Option<DateTime<Utc>>,
}

impl ListQuery {
    /// Returns true when `since` is after `until`, so that no transaction
    /// can match, as when the two values were given the wrong way round.
    pub fn has_reversed_window(&self) -> bool {
        matches!((self.since, self.until), (Some(since), Some(until)) if since > until)
    }
}

/// One page of the transaction list, most recently active first.
#[derive(Debug, Clone, Serialize)]
pub struct TransactionPage {
    pub transactions: Vec<TransactionSummary>,
    pub next_cursor: Option<String>,
}

/// Lists transactions, most recently received first, with the entry that
/// made each fatal transaction fatal.
///
/// # Errors
///
/// Fails on a database error.
pub fn list_transactions(
    connection: &Connection,
    query: &ListQuery,
    now_ns: i64,
    stall_after: Duration,
) -> Result<TransactionPage, StorageError> {
    // The page and the entries of its fatal transactions come from one
    // snapshot: the caller's read transaction if one is open, else a read
    // transaction of its own.
    let snapshot = if connection.is_autocommit() {
        Some(connection.unchecked_transaction()?)
    } else {
        None
    };
    let mut transactions = list_summaries(connection, query, now_ns, stall_after)?;
    let next_cursor = if transactions.len() > query.limit {
        transactions.truncate(query.limit);
        transactions.last().map(cursor_after)
    } else {
        None
    };
    for summary in &mut transactions {
        if summary.outcome == Outcome::Fatal {
            add_fatal_entry(connection, summary)?;
        }
    }
    if let Some(snapshot) = snapshot {
        snapshot.commit()?;
    }
    Ok(TransactionPage {
        transactions,
        next_cursor,
    })
}

/// The condition of a page after a cursor, in the order of the activity index.
const AFTER_CURSOR: &str =
    "(last_received_at_ns, transaction_id) < (:after_received_at_ns, :after_transaction_id)";

/// The SQL condition of `since` and `until` on the `transactions` table: the
/// last entry's timestamp is at or after `:since_s` seconds and
/// `:since_nanos` nanoseconds, and at or before `:until_s` seconds and
/// `:until_nanos` nanoseconds. A NULL bound is no bound. The list and the
/// counts by outcome share it, so that each count is the size of the list
/// filtered by that outcome.
const TIME_WINDOW_SQL: &str = "
    (:since_s IS NULL OR (last_timestamp_s, last_timestamp_nanos) >= (:since_s, :since_nanos))
    AND (:until_s IS NULL OR (last_timestamp_s, last_timestamp_nanos) <= (:until_s, :until_nanos))";

/// The `since` and `until` of a [`ListQuery`], split into the parameters of
/// [`TIME_WINDOW_SQL`].
struct TimeWindow {
    since_s: Option<i64>,
    since_nanos: Option<i64>,
    until_s: Option<i64>,
    until_nanos: Option<i64>,
}

impl TimeWindow {
    fn of(query: &ListQuery) -> TimeWindow {
        let split = |instant: Option<DateTime<Utc>>| match instant {
            Some(instant) => (
                Some(instant.timestamp()),
                Some(i64::from(instant.timestamp_subsec_nanos())),
            ),
            None => (None, None),
        };
        let (since_s, since_nanos) = split(query.since);
        let (until_s, until_nanos) = split(query.until);
        TimeWindow {
            since_s,
            since_nanos,
            until_s,
            until_nanos,
        }
    }

    /// Returns the named parameters of [`TIME_WINDOW_SQL`].
    fn parameters(&self) -> [(&'static str, &dyn ToSql); 4] {
        [
            (":since_s", &self.since_s),
            (":since_nanos", &self.since_nanos),
            (":until_s", &self.until_s),
            (":until_nanos", &self.until_nanos),
        ]
    }
}

/// Returns the SQL of one page of the list, for a page after a cursor or the
/// first page.
fn list_sql(after_a_cursor: bool) -> String {
    // Written out only for a cursor: `:after_received_at_ns IS NULL OR ...`
    // would keep SQLite from searching the activity index from the cursor on,
    // and every later page would scan it from the top.
    let after_cursor = if after_a_cursor {
        format!("AND {AFTER_CURSOR}")
    } else {
        String::new()
    };
    format!(
        "SELECT * FROM ({})
         WHERE (:outcome IS NULL OR outcome = :outcome)
           AND {TIME_WINDOW_SQL}
           {after_cursor}
         ORDER BY last_received_at_ns DESC, transaction_id DESC
         LIMIT :limit",
        summary_sql()
    )
}

/// Returns the query of a [`TransactionSummary`] per transaction, without
/// the fatal entry; `:cutoff` is the stall cutoff of [`OUTCOME_SQL`].
fn summary_sql() -> String {
    format!(
        "SELECT transaction_id, {OUTCOME_SQL} AS outcome,
                first_timestamp_s, first_timestamp_nanos, last_timestamp_s, last_timestamp_nanos,
                last_stage, last_status, entry_count, last_received_at_ns, last_message
         FROM transactions"
    )
}

/// Converts a row of [`summary_sql`].
fn transaction_summary_from_row(row: &Row) -> rusqlite::Result<TransactionSummary> {
    let outcome: String = row.get(1)?;
    let last_received_at_ns: i64 = row.get(9)?;
    Ok(TransactionSummary {
        transaction_id: row.get(0)?,
        outcome: parse_outcome(&outcome),
        first_timestamp: instant(row.get(2)?, row.get(3)?, 2)?,
        last_timestamp: instant(row.get(4)?, row.get(5)?, 4)?,
        last_stage: row.get(6)?,
        last_status: row.get(7)?,
        entry_count: row.get(8)?,
        last_received_at: instant_from_ns(last_received_at_ns),
        last_received_at_ns,
        last_message: row.get(10)?,
        fatal_stage: None,
        fatal_timestamp: None,
        fatal_message: None,
    })
}

/// Reads the summary of one transaction from the `transactions` table, and
/// the entry that made it fatal if it is fatal. Returns `None` when the
/// transaction has no entries.
///
/// # Errors
///
/// Fails on a database error.
pub fn transaction_summary(
    connection: &Connection,
    transaction_id: &str,
    now_ns: i64,
    stall_after: Duration,
) -> Result<Option<TransactionSummary>, StorageError> {
    let summary = connection
        .prepare_cached(&format!(
            "{} WHERE transaction_id = :transaction_id",
            summary_sql()
        ))?
        .query_row(
            named_params! {
                ":cutoff": stall_cutoff(now_ns, stall_after),
                ":transaction_id": transaction_id,
            },
            transaction_summary_from_row,
        )
        .optional()?;
    let Some(mut summary) = summary else {
        return Ok(None);
    };
    if summary.outcome == Outcome::Fatal {
        add_fatal_entry(connection, &mut summary)?;
    }
    Ok(Some(summary))
}

/// Reads one page of the `transactions` table, with one row more than the
/// limit when there is a next page.
fn list_summaries(
    connection: &Connection,
    query: &ListQuery,
    now_ns: i64,
    stall_after: Duration,
) -> Result<Vec<TransactionSummary>, StorageError> {
    let cutoff = stall_cutoff(now_ns, stall_after);
    let outcome = query.outcome.map(Outcome::as_str);
    let window = TimeWindow::of(query);
    let fetch = i64::try_from(query.limit)
        .unwrap_or(i64::MAX)
        .saturating_add(1);
    let mut parameters: Vec<(&str, &dyn ToSql)> = vec![
        (":cutoff", &cutoff),
        (":outcome", &outcome),
        (":limit", &fetch),
    ];
    parameters.extend(window.parameters());
    if let Some(cursor) = &query.cursor {
        parameters.extend(named_params! {
            ":after_received_at_ns": cursor.last_received_at_ns,
            ":after_transaction_id": cursor.transaction_id,
        });
    }
    let mut statement = connection.prepare_cached(&list_sql(query.cursor.is_some()))?;
    let transactions = statement
        .query_map(parameters.as_slice(), transaction_summary_from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(transactions)
}

/// The first `FATAL` entry of the transaction `?1`, in the order of its log.
/// Entries are keyed by transaction id, then timestamp, so SQLite (3.54)
/// searches the primary key for the transaction and reads its entries in
/// timestamp order. It sorts only entries with equal timestamps, by arrival.
const FIRST_FATAL_ENTRY_SQL: &str = "
    SELECT stage, timestamp_s, timestamp_nanos, message FROM entries
    WHERE transaction_id = ?1 AND status = 'FATAL'
    ORDER BY timestamp_s, timestamp_nanos, received_at_ns, stage
    LIMIT 1";

/// Fills in the first `FATAL` entry of a fatal transaction.
fn add_fatal_entry(
    connection: &Connection,
    summary: &mut TransactionSummary,
) -> Result<(), StorageError> {
    let fatal = connection
        .prepare_cached(FIRST_FATAL_ENTRY_SQL)?
        .query_row([&summary.transaction_id], |row| {
            Ok((
                row.get::<_, String>(0)?,
                instant(row.get(1)?, row.get(2)?, 1)?,
                row.get::<_, Option<String>>(3)?,
            ))
        })
        .optional()?;
    if let Some((stage, timestamp, message)) = fatal {
        summary.fatal_stage = Some(stage);
        summary.fatal_timestamp = Some(timestamp);
        summary.fatal_message = message;
    }
    Ok(())
}

fn cursor_after(summary: &TransactionSummary) -> String {
    Cursor {
        last_received_at_ns: summary.last_received_at_ns,
        transaction_id: summary.transaction_id.clone(),
    }
    .encode()
}

/// Counts transactions by outcome, within the `since` and `until` of
/// `query` as [`list_transactions`] applies them.
/// The outcome, cursor and limit of `query` are ignored, so each count is the
/// number of transactions that the list with that outcome returns over all
/// its pages. It reads the `transactions` table only, never `entries`.
///
/// # Errors
///
/// Fails on a database error.
pub fn count_by_outcome(
    connection: &Connection,
    query: &ListQuery,
    now_ns: i64,
    stall_after: Duration,
) -> Result<OutcomeCounts, StorageError> {
    let mut counts = OutcomeCounts::default();
    let cutoff = stall_cutoff(now_ns, stall_after);
    let window = TimeWindow::of(query);
    let mut parameters: Vec<(&str, &dyn ToSql)> = vec![(":cutoff", &cutoff)];
    parameters.extend(window.parameters());
    let mut statement = connection.prepare_cached(&count_sql())?;
    let rows = statement.query_map(parameters.as_slice(), |row| {
        Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
    })?;
    for row in rows {
        let (outcome, count) = row?;
        if let Some(outcome) = Outcome::parse(&outcome) {
            counts.set(outcome, count);
        }
    }
    Ok(counts)
}

/// Returns the SQL of [`count_by_outcome`]: `:cutoff` is the stall cutoff,
/// and the other parameters are those of [`TIME_WINDOW_SQL`].
fn count_sql() -> String {
    format!(
        "SELECT {OUTCOME_SQL} AS outcome, count(*) FROM transactions
         WHERE {TIME_WINDOW_SQL}
         GROUP BY outcome"
    )
}

/// A transaction without an end or a `FATAL` entry that received nothing for
/// longer than the stall period, with its last entry, for a stalled alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StalledTransaction {
    pub transaction_id: String,
    pub last_received_at_ns: i64,
    pub last_stage: String,
    pub last_status: String,
    pub last_message: Option<String>,
}

impl StalledTransaction {
    /// Returns the position of this transaction in the order of
    /// [`stalled_transactions`].
    pub fn position(&self) -> Cursor {
        Cursor {
            last_received_at_ns: self.last_received_at_ns,
            transaction_id: self.transaction_id.clone(),
        }
    }
}

/// Reads, in order of last receive time then id, at most `limit`
/// transactions without an end or a `FATAL` entry whose last receive time is
/// before `cutoff` (see [`stall_cutoff`]) and whose position is after `after`.
/// The index `transactions_by_activity` serves the range, so the cost follows
/// the number of transactions in it, not in the table. A caller that starts
/// each call at the previous call's cutoff, with an empty id, or at the last
/// transaction of a full page reads each stall once.
///
/// # Errors
///
/// Fails on a database error.
pub fn stalled_transactions(
    connection: &Connection,
    after: &Cursor,
    cutoff: i64,
    limit: usize,
) -> Result<Vec<StalledTransaction>, StorageError> {
    let mut statement = connection.prepare_cached(STALLED_SQL)?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = statement.query_map(
        params![
            after.last_received_at_ns,
            after.transaction_id,
            cutoff,
            limit
        ],
        |row| {
            Ok(StalledTransaction {
                transaction_id: row.get(0)?,
                last_received_at_ns: row.get(1)?,
                last_stage: row.get(2)?,
                last_status: row.get(3)?,
                last_message: row.get(4)?,
            })
        },
    )?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// The query of [`stalled_transactions`]: `?1` and `?2` are the position to
/// start after, `?3` the cutoff and `?4` the limit.
const STALLED_SQL: &str = "
    SELECT transaction_id, last_received_at_ns, last_stage, last_status, last_message
    FROM transactions
    WHERE (last_received_at_ns, transaction_id) > (?1, ?2)
      AND last_received_at_ns < ?3
      AND NOT has_fatal AND NOT has_end
    ORDER BY last_received_at_ns, transaction_id
    LIMIT ?4";

/// Counts entries, for the command line and tests.
///
/// # Errors
///
/// Fails on a database error.
pub fn count_entries(connection: &Connection) -> Result<i64, StorageError> {
    Ok(connection.query_row("SELECT count(*) FROM entries", [], |row| row.get(0))?)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// Opens a new database file with translog's schema in `directory`.
    fn open_database(directory: &tempfile::TempDir) -> Connection {
        let path = directory.path().join("translog.db");
        super::super::open(&path, Duration::from_secs(5), super::super::Schema::Upgrade)
            .expect("open the database")
    }

    /// Transactions around the window from 100 to 200, with their last
    /// receive time and their flags `has_fatal` and `has_end`.
    const TRANSACTIONS: [(&str, i64, bool, bool); 8] = [
        ("before-window", 99, false, false),
        ("window-start", 100, false, false),
        ("fatal", 150, true, false),
        ("ended", 150, false, true),
        ("silent-a", 150, false, false),
        ("silent-b", 150, false, false),
        ("late", 160, false, false),
        ("at-cutoff", 200, false, false),
    ];

    /// Returns the ids that [`stalled_transactions`] reads from a new
    /// database of [`TRANSACTIONS`], after the position (`received_ns`,
    /// `transaction_id`) and before `cutoff`.
    fn stalled_ids(
        (received_ns, transaction_id): (i64, &str),
        cutoff: i64,
        limit: usize,
    ) -> Vec<String> {
        let directory = tempfile::tempdir().unwrap();
        let connection = open_database(&directory);
        for (id, last_received, has_fatal, has_end) in TRANSACTIONS {
            connection
                .execute(
                    "INSERT INTO transactions VALUES
                         (?1, 0, 0, 0, 0, 'WORKER_LOAD', 'SUCCESS', 'loading', 1, ?2, ?3, ?4)",
                    params![id, last_received, has_fatal, has_end],
                )
                .expect("insert a transaction");
        }
        let after = Cursor {
            last_received_at_ns: received_ns,
            transaction_id: transaction_id.to_string(),
        };
        stalled_transactions(&connection, &after, cutoff, limit)
            .expect("read stalled transactions")
            .into_iter()
            .map(|stalled| stalled.transaction_id)
            .collect()
    }

    #[test]
    fn stalled_scan_reads_window_only() {
        let ids = stalled_ids((100, ""), 200, 10);
        assert_eq!(ids, ["window-start", "silent-a", "silent-b", "late"]);
    }

    #[test]
    fn stalled_scan_skips_fatal_and_ended() {
        let ids = stalled_ids((150, ""), 151, 10);
        assert_eq!(ids, ["silent-a", "silent-b"]);
    }

    #[test]
    fn stalled_scan_resumes_after_position() {
        let first = stalled_ids((100, ""), 200, 2);
        assert_eq!(first, ["window-start", "silent-a"]);
        let rest = stalled_ids((150, "silent-a"), 200, 2);
        assert_eq!(rest, ["silent-b", "late"]);
    }

    #[test]
    fn stalled_scan_uses_activity_index() {
        let directory = tempfile::tempdir().unwrap();
        let connection = open_database(&directory);
        let mut statement = connection
            .prepare(&format!("EXPLAIN QUERY PLAN {STALLED_SQL}"))
            .unwrap();
        let plan: Vec<String> = statement
            .query_map(params![0, "", 0, 10], |row| row.get(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        // One search of the index, and no sort, because the index is read in
        // order.
        let expected = "SEARCH transactions USING INDEX transactions_by_activity \
                        ((last_received_at_ns,transaction_id)>(?,?) AND last_received_at_ns<?)";
        assert_eq!(plan, [expected]);
    }

    #[test]
    fn stall_cutoff_subtracts_period() {
        let cutoff = stall_cutoff(10_000_000_000, Duration::from_secs(4));
        assert_eq!(cutoff, 6_000_000_000);
    }

    #[test]
    fn huge_stall_period_does_not_overflow() {
        let cutoff = stall_cutoff(10, Duration::from_secs(u64::MAX));
        assert_eq!(cutoff, 10 - i64::MAX);
    }

    /// Returns the detail column of `EXPLAIN QUERY PLAN` for `sql` with the
    /// one parameter `tx-1`.
    fn query_plan(sql: &str) -> Vec<String> {
        query_plan_with(sql, ["tx-1"])
    }

    /// Returns the detail column of `EXPLAIN QUERY PLAN` for `sql` with
    /// `parameters`.
    pub(in crate::storage) fn query_plan_with(
        sql: &str,
        parameters: impl rusqlite::Params,
    ) -> Vec<String> {
        let connection = Connection::open_in_memory().expect("open an in-memory database");
        connection
            .execute_batch(super::super::SCHEMA)
            .expect("create the schema");
        let mut statement = connection
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .expect("prepare EXPLAIN QUERY PLAN");
        statement
            .query_map(parameters, |row| row.get::<_, String>(3))
            .expect("run EXPLAIN QUERY PLAN")
            .collect::<Result<Vec<_>, _>>()
            .expect("read the plan")
    }

    #[test]
    fn later_page_searches_activity_index() {
        let connection = Connection::open_in_memory().expect("open an in-memory database");
        connection
            .execute_batch(super::super::SCHEMA)
            .expect("create the schema");
        let mut statement = connection
            .prepare(&format!("EXPLAIN QUERY PLAN {}", list_sql(true)))
            .expect("prepare EXPLAIN QUERY PLAN");
        let plan: Vec<String> = statement
            .query_map(
                named_params! {
                    ":cutoff": 0,
                    ":outcome": None::<&str>,
                    ":since_s": None::<i64>,
                    ":since_nanos": None::<i64>,
                    ":until_s": None::<i64>,
                    ":until_nanos": None::<i64>,
                    ":after_received_at_ns": 5,
                    ":after_transaction_id": "tx",
                    ":limit": 10,
                },
                |row| row.get(3),
            )
            .expect("run EXPLAIN QUERY PLAN")
            .collect::<Result<_, _>>()
            .expect("read the plan");
        assert!(
            plan.iter()
                .any(|step| step
                    .starts_with("SEARCH transactions USING INDEX transactions_by_activity")),
            "{plan:?}"
        );
    }

    #[test]
    fn outcome_counts_read_transactions_only() {
        let plan = query_plan_with(
            &count_sql(),
            named_params! {
                ":cutoff": 0,
                ":since_s": 10,
                ":since_nanos": 0,
                ":until_s": 20,
                ":until_nanos": 0,
            },
        );
        assert!(
            !plan.iter().any(|step| step.contains("entries")),
            "{plan:?}"
        );
    }

    #[test]
    fn first_fatal_entry_searches_primary_key() {
        let plan = query_plan(FIRST_FATAL_ENTRY_SQL);
        assert!(
            plan.contains(&"SEARCH entries USING PRIMARY KEY (transaction_id=?)".to_string()),
            "{plan:?}"
        );
    }

    #[test]
    fn first_fatal_entry_scans_no_table() {
        let plan = query_plan(FIRST_FATAL_ENTRY_SQL);
        assert!(
            !plan.iter().any(|step| step.starts_with("SCAN")),
            "{plan:?}"
        );
    }
}
