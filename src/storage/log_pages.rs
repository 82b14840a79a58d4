//! Reading the log of one transaction a page at a time, so that no reader
//! keeps a whole log in memory, however many entries a transaction has.
//!
//! A log is in timestamp order, ties in arrival order (`received_at_ns`),
//! and then by stage and status. Timestamp, stage and status are the key of
//! an entry within its transaction, so this order is total, and a cursor
//! that contains the sort key of the last entry of a page names one position
//! in it. The next page starts strictly after that position. An entry that
//! is stored while a reader pages through the log is on a later page if it
//! sorts after the cursor. An entry that sorts before the cursor, such as
//! one with an older timestamp than the last entry read, is on no later
//! page: that reader sees it only by reading the log again from the start.

use std::time::Duration;

use rusqlite::{named_params, params, Connection, OptionalExtension, Row};

use super::logs::{
    decode_token, encode_token, instant, instant_from_ns, parse_outcome, stall_cutoff, LogEntry,
    TransactionLog, OUTCOME_SQL,
};
use super::StorageError;
use crate::entry::{Stage, Status};

/// A position in the log of one transaction: the transaction's id and the
/// sort key of the last entry of the previous page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryCursor {
    pub transaction_id: String,
    pub timestamp_s: i64,
    pub timestamp_nanos: u32,
    pub received_at_ns: i64,
    pub stage: Stage,
    pub status: Status,
}

impl EntryCursor {
    /// Returns the position of `entry` in the log of `transaction_id`, so
    /// that a page after it starts with the entry that follows.
    ///
    /// # Errors
    ///
    /// Fails when the entry's stage or status is not one that the schema
    /// allows, which means a damaged database.
    pub fn after(transaction_id: &str, entry: &LogEntry) -> Result<EntryCursor, StorageError> {
        let key = SortKey {
            timestamp_parts: entry.timestamp_parts,
            received_at_ns: entry.received_at_ns,
            stage: entry.stage.clone(),
            status: entry.status.clone(),
        };
        EntryCursor::at(transaction_id, key)
    }

    /// Returns the position of the entry with the sort key `key`.
    ///
    /// # Errors
    ///
    /// Fails when the stage or status is not one that the schema allows,
    /// which means a damaged database.
    fn at(transaction_id: &str, key: SortKey) -> Result<EntryCursor, StorageError> {
        let (timestamp_s, timestamp_nanos) = key.timestamp_parts;
        let stage = Stage::parse(&key.stage);
        let status = Status::parse(&key.status);
        let (Some(stage), Some(status)) = (stage, status) else {
            return Err(StorageError::Internal(rusqlite::Error::InvalidColumnType(
                0,
                format!("stage {:?} status {:?}", key.stage, key.status),
                rusqlite::types::Type::Text,
            )));
        };
        Ok(EntryCursor {
            transaction_id: transaction_id.to_string(),
            timestamp_s,
            timestamp_nanos,
            received_at_ns: key.received_at_ns,
            stage,
            status,
        })
    }

    /// Encodes the cursor as an opaque URL-safe token. As with the cursor of
    /// the transaction list, the text ends with a `/`, so that a token cut
    /// short fails to decode. It starts with `entry:`, which no cursor of the
    /// list starts with, and ends with the transaction id, which may contain
    /// `:`.
    pub fn encode(&self) -> String {
        encode_token(&format!(
            "{CURSOR_PREFIX}{}:{}:{}:{}:{}:{}",
            self.timestamp_s,
            self.timestamp_nanos,
            self.received_at_ns,
            self.stage,
            self.status,
            self.transaction_id
        ))
    }

    /// Decodes a token made by [`EntryCursor::encode`]; `None` when it is not
    /// one, which includes a cursor of the transaction list.
    pub fn decode(token: &str) -> Option<EntryCursor> {
        let text = decode_token(token)?;
        let mut fields = text.strip_prefix(CURSOR_PREFIX)?.splitn(6, ':');
        let cursor = EntryCursor {
            timestamp_s: fields.next()?.parse().ok()?,
            timestamp_nanos: fields
                .next()?
                .parse()
                .ok()
                .filter(|nanos| *nanos < 1_000_000_000)?,
            received_at_ns: fields.next()?.parse().ok()?,
            stage: parse_stage(fields.next()?)?,
            status: Status::parse(fields.next()?)?,
            transaction_id: fields.next()?.to_string(),
        };
        Some(cursor)
    }
}

/// The columns of an entry that give its place in the log, as stored.
struct SortKey {
    timestamp_parts: (i64, u32),
    received_at_ns: i64,
    stage: String,
    status: String,
}

/// The start of the text of every cursor of a log.
const CURSOR_PREFIX: &str = "entry:";

/// Parses a stage as stored, without the other spellings that the write API
/// accepts, so that each position has one token.
fn parse_stage(text: &str) -> Option<Stage> {
    Stage::ALL.into_iter().find(|stage| stage.as_str() == text)
}

/// One page of a transaction's log: at most `limit` entries after `cursor`,
/// or from the start without one.
#[derive(Debug, Clone)]
pub struct LogQuery {
    pub limit: usize,
    pub cursor: Option<EntryCursor>,
}

/// The entries of one page, in log order. `?1` is the transaction id; `?2`
/// to `?6` are the position to start after; `?7` is the number of rows.
///
/// The condition on the timestamp alone lets SQLite (3.54) search the
/// primary key from the cursor's timestamp on, so a late page costs as much
/// as the first. The second condition then skips the entries with the
/// cursor's timestamp that sort before it. SQLite sorts only the entries
/// that share a timestamp, by arrival, and stops after `?7` rows.
const PAGE_SQL: &str = "
    SELECT timestamp_s, timestamp_nanos, timestamp_sent, stage, status, message,
           received_at_ns, reported_by
    FROM entries
    WHERE transaction_id = ?1
      AND (timestamp_s, timestamp_nanos) >= (?2, ?3)
      AND ((timestamp_s, timestamp_nanos) > (?2, ?3)
           OR (received_at_ns, stage, status) > (?4, ?5, ?6))
    ORDER BY timestamp_s, timestamp_nanos, received_at_ns, stage, status
    LIMIT ?7";

/// The number of entries that [`transaction_log`] reads per page.
const WHOLE_LOG_PAGE: usize = 1000;

/// Reads one page of the log of one transaction, with the outcome of the
/// whole transaction, and a `next_cursor` unless the page is the last one.
/// Returns `None` when the transaction has no entries.
///
/// The outcome and the page come from one snapshot: the caller's read
/// transaction if one is open, else a read transaction of its own.
///
/// # Errors
///
/// Fails on a database error.
pub fn transaction_log_page(
    connection: &Connection,
    transaction_id: &str,
    query: &LogQuery,
    now_ns: i64,
    stall_after: Duration,
) -> Result<Option<TransactionLog>, StorageError> {
    let snapshot = if connection.is_autocommit() {
        Some(connection.unchecked_transaction()?)
    } else {
        None
    };
    let outcome: Option<String> = connection
        .prepare_cached(&format!(
            "SELECT {OUTCOME_SQL} FROM transactions WHERE transaction_id = :transaction_id"
        ))?
        .query_row(
            named_params! {
                ":cutoff": stall_cutoff(now_ns, stall_after),
                ":transaction_id": transaction_id,
            },
            |row| row.get(0),
        )
        .optional()?;
    let Some(outcome) = outcome else {
        return Ok(None);
    };
    let mut entries = read_page(connection, transaction_id, query)?;
    let next_cursor = if entries.len() > query.limit {
        entries.truncate(query.limit);
        entries
            .last()
            .map(|entry| EntryCursor::after(transaction_id, entry))
            .transpose()?
            .map(|cursor| cursor.encode())
    } else {
        None
    };
    if let Some(snapshot) = snapshot {
        snapshot.commit()?;
    }
    Ok(Some(TransactionLog {
        transaction_id: transaction_id.to_string(),
        outcome: parse_outcome(&outcome),
        entries,
        next_cursor,
    }))
}

/// Reads the entries of one page, with one entry more than the limit when
/// there is a next page.
fn read_page(
    connection: &Connection,
    transaction_id: &str,
    query: &LogQuery,
) -> Result<Vec<LogEntry>, StorageError> {
    // Without a cursor the page starts before the first possible entry:
    // timestamps start in 1970, and stage and status names are not empty.
    let (seconds, nanos, received_at_ns, stage, status) = match &query.cursor {
        Some(cursor) => (
            cursor.timestamp_s,
            cursor.timestamp_nanos,
            cursor.received_at_ns,
            cursor.stage.as_str(),
            cursor.status.as_str(),
        ),
        None => (i64::MIN, 0, i64::MIN, "", ""),
    };
    let fetch = i64::try_from(query.limit)
        .unwrap_or(i64::MAX)
        .saturating_add(1);
    let mut statement = connection.prepare_cached(PAGE_SQL)?;
    let entries = statement
        .query_map(
            params![
                transaction_id,
                seconds,
                nanos,
                received_at_ns,
                stage,
                status,
                fetch
            ],
            log_entry,
        )?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(entries)
}

/// Converts a row of [`PAGE_SQL`], or of a query with the same columns.
fn log_entry(row: &Row) -> rusqlite::Result<LogEntry> {
    let seconds: i64 = row.get(0)?;
    let nanos: u32 = row.get(1)?;
    let received_at_ns: i64 = row.get(6)?;
    Ok(LogEntry {
        timestamp: instant(seconds, nanos, 0)?,
        timestamp_sent: row.get(2)?,
        stage: row.get(3)?,
        status: row.get(4)?,
        message: row.get(5)?,
        received_at: instant_from_ns(received_at_ns),
        reported_by: row.get(7)?,
        timestamp_parts: (seconds, nanos),
        received_at_ns,
    })
}

/// Reads the whole log of one transaction for the command line, a page at a
/// time in one read transaction. Returns `None` when the transaction has no
/// entries. The `next_cursor` of the result is `None`.
///
/// # Errors
///
/// Fails on a database error.
pub fn transaction_log(
    connection: &Connection,
    transaction_id: &str,
    now_ns: i64,
    stall_after: Duration,
) -> Result<Option<TransactionLog>, StorageError> {
    let snapshot = connection.unchecked_transaction()?;
    let mut query = LogQuery {
        limit: WHOLE_LOG_PAGE,
        cursor: None,
    };
    let Some(mut log) =
        transaction_log_page(&snapshot, transaction_id, &query, now_ns, stall_after)?
    else {
        return Ok(None);
    };
    while log.next_cursor.is_some() {
        query.cursor = log
            .entries
            .last()
            .map(|entry| EntryCursor::after(transaction_id, entry))
            .transpose()?;
        let Some(page) =
            transaction_log_page(&snapshot, transaction_id, &query, now_ns, stall_after)?
        else {
            break;
        };
        log.entries.extend(page.entries);
        log.next_cursor = page.next_cursor;
    }
    snapshot.commit()?;
    Ok(Some(log))
}

/// The latest `WORKER_END` entry with `SUCCESS` or `WARNING`, which made the
/// transaction `?1` succeed. SQLite searches the primary key for the
/// transaction and reads its entries from the last timestamp back, so for a
/// transaction that ends with its `WORKER_END` entry it reads few rows.
const LAST_END_ENTRY_SQL: &str = "
    SELECT timestamp_s, timestamp_nanos, timestamp_sent, stage, status, message,
           received_at_ns, reported_by
    FROM entries
    WHERE transaction_id = ?1 AND stage = 'WORKER_END'
      AND (status = 'SUCCESS' OR status = 'WARNING')
    ORDER BY timestamp_s DESC, timestamp_nanos DESC, received_at_ns DESC
    LIMIT 1";

/// Reads the entry that made a transaction succeed: its latest `WORKER_END`
/// entry with `SUCCESS` or `WARNING`; `None` when it has none.
///
/// # Errors
///
/// Fails on a database error.
pub fn last_end_entry(
    connection: &Connection,
    transaction_id: &str,
) -> Result<Option<LogEntry>, StorageError> {
    Ok(connection
        .prepare_cached(LAST_END_ENTRY_SQL)?
        .query_row([transaction_id], log_entry)
        .optional()?)
}

/// The sort key of the entry that is `?2` entries before the end of the log
/// of the transaction `?1`. SQLite reads the primary key of the transaction
/// from its last timestamp back, sorts only the entries that share a
/// timestamp, and stops after `?2 + 1` rows.
const NEWEST_PAGE_START_SQL: &str = "
    SELECT timestamp_s, timestamp_nanos, received_at_ns, stage, status
    FROM entries
    WHERE transaction_id = ?1
    ORDER BY timestamp_s DESC, timestamp_nanos DESC, received_at_ns DESC, stage DESC,
             status DESC
    LIMIT 1 OFFSET ?2";

/// Returns the cursor of the page with the newest `limit` entries of a
/// transaction: the position of the entry just before them, as a
/// `next_cursor` would name it. Returns `None` when the transaction has at
/// most `limit` entries, so that its first page is its newest.
///
/// # Errors
///
/// Fails on a database error, or on a stage or status that the schema does
/// not allow.
pub fn newest_page_cursor(
    connection: &Connection,
    transaction_id: &str,
    limit: usize,
) -> Result<Option<EntryCursor>, StorageError> {
    let offset = i64::try_from(limit).unwrap_or(i64::MAX);
    let key = connection
        .prepare_cached(NEWEST_PAGE_START_SQL)?
        .query_row(params![transaction_id, offset], sort_key)
        .optional()?;
    key.map(|key| EntryCursor::at(transaction_id, key))
        .transpose()
}

/// The sort key of the entry that is `?7` entries before the position `?2`
/// to `?6` in the log of the transaction `?1`, counting the entry at that
/// position as the first. SQLite searches the primary key back from the
/// position's timestamp, sorts only the entries that share a timestamp, and
/// stops after `?7 + 1` rows.
const PREVIOUS_PAGE_START_SQL: &str = "
    SELECT timestamp_s, timestamp_nanos, received_at_ns, stage, status
    FROM entries
    WHERE transaction_id = ?1
      AND (timestamp_s, timestamp_nanos) <= (?2, ?3)
      AND ((timestamp_s, timestamp_nanos) < (?2, ?3)
           OR (received_at_ns, stage, status) <= (?4, ?5, ?6))
    ORDER BY timestamp_s DESC, timestamp_nanos DESC, received_at_ns DESC, stage DESC,
             status DESC
    LIMIT 1 OFFSET ?7";

/// Returns the cursor of the page of `limit` entries that ends at `cursor`,
/// the page before the one that starts after it: the position of the entry
/// just before those entries. Returns `None` when at most `limit` entries
/// sort at or before `cursor`, so that the page before is the first page.
///
/// # Errors
///
/// Fails on a database error, or on a stage or status that the schema does
/// not allow.
pub fn previous_page_cursor(
    connection: &Connection,
    cursor: &EntryCursor,
    limit: usize,
) -> Result<Option<EntryCursor>, StorageError> {
    let offset = i64::try_from(limit).unwrap_or(i64::MAX);
    let key = connection
        .prepare_cached(PREVIOUS_PAGE_START_SQL)?
        .query_row(
            params![
                cursor.transaction_id,
                cursor.timestamp_s,
                cursor.timestamp_nanos,
                cursor.received_at_ns,
                cursor.stage.as_str(),
                cursor.status.as_str(),
                offset
            ],
            sort_key,
        )
        .optional()?;
    key.map(|key| EntryCursor::at(&cursor.transaction_id, key))
        .transpose()
}

/// Converts a row of [`NEWEST_PAGE_START_SQL`] or [`PREVIOUS_PAGE_START_SQL`].
fn sort_key(row: &Row) -> rusqlite::Result<SortKey> {
    Ok(SortKey {
        timestamp_parts: (row.get(0)?, row.get(1)?),
        received_at_ns: row.get(2)?,
        stage: row.get(3)?,
        status: row.get(4)?,
    })
}

/// Counts the entries of a transaction that sort before `cursor`, so that a
/// page after it can number its entries from their place in the whole log.
/// The primary key serves the count, which reads one index entry per entry
/// before the cursor.
///
/// # Errors
///
/// Fails on a database error.
pub fn count_entries_before(
    connection: &Connection,
    transaction_id: &str,
    cursor: &EntryCursor,
) -> Result<u64, StorageError> {
    let count: i64 = connection
        .prepare_cached(
            "SELECT count(*) FROM entries
             WHERE transaction_id = ?1
               AND (timestamp_s, timestamp_nanos) <= (?2, ?3)
               AND ((timestamp_s, timestamp_nanos) < (?2, ?3)
                    OR (received_at_ns, stage, status) <= (?4, ?5, ?6))",
        )?
        .query_row(
            params![
                transaction_id,
                cursor.timestamp_s,
                cursor.timestamp_nanos,
                cursor.received_at_ns,
                cursor.stage.as_str(),
                cursor.status.as_str()
            ],
            |row| row.get(0),
        )?;
    Ok(u64::try_from(count).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cursor() -> EntryCursor {
        EntryCursor {
            transaction_id: "tx:1".to_string(),
            timestamp_s: 1_764_856_800,
            timestamp_nanos: 5,
            received_at_ns: 1_764_856_801_000_000_007,
            stage: Stage::Load,
            status: Status::Fail,
        }
    }

    fn encode_text(text: &str) -> String {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
    }

    #[test]
    fn cursor_round_trips() {
        assert_eq!(EntryCursor::decode(&cursor().encode()), Some(cursor()));
    }

    #[test]
    fn cursor_cut_short_is_rejected() {
        let token = cursor().encode();
        assert_eq!(EntryCursor::decode(&token[..token.len() - 2]), None);
    }

    #[test]
    fn list_cursor_is_rejected() {
        assert_eq!(EntryCursor::decode(&encode_text("1764856800:tx-1/")), None);
    }

    #[test]
    fn cursor_with_unknown_stage_is_rejected() {
        let token = encode_text("entry:1:0:1:WORKER_DECRYPT:FAIL:tx-1/");
        assert_eq!(EntryCursor::decode(&token), None);
    }

    #[test]
    fn cursor_with_too_many_nanos_is_rejected() {
        let token = encode_text("entry:1:1000000000:1:WORKER_LOAD:FAIL:tx-1/");
        assert_eq!(EntryCursor::decode(&token), None);
    }

    #[test]
    fn cursor_without_prefix_is_rejected() {
        let token = encode_text("1:0:1:WORKER_LOAD:FAIL:tx-1/");
        assert_eq!(EntryCursor::decode(&token), None);
    }

    #[test]
    fn cursor_keeps_colons_of_transaction_id() {
        let token = encode_text("entry:1:0:1:WORKER_LOAD:FAIL:a:b/");
        let decoded = EntryCursor::decode(&token).map(|cursor| cursor.transaction_id);
        assert_eq!(decoded.as_deref(), Some("a:b"));
    }

    #[test]
    fn log_cursor_is_no_list_cursor() {
        assert_eq!(super::super::logs::Cursor::decode(&cursor().encode()), None);
    }

    /// Returns the detail column of `EXPLAIN QUERY PLAN` for `sql`, with
    /// every parameter bound to 0.
    fn query_plan(sql: &str, parameters: usize) -> Vec<String> {
        let values = vec![0; parameters];
        super::super::logs::tests::query_plan_with(sql, rusqlite::params_from_iter(values))
    }

    #[test]
    fn page_searches_primary_key_from_cursor() {
        let plan = query_plan(PAGE_SQL, 7);
        let expected = "SEARCH entries USING PRIMARY KEY \
                        (transaction_id=? AND (timestamp_s,timestamp_nanos)>(?,?))";
        assert!(
            plan.iter().any(|step| step.starts_with(expected)),
            "{plan:?}"
        );
    }

    #[test]
    fn newest_page_start_searches_primary_key() {
        let plan = query_plan(NEWEST_PAGE_START_SQL, 2);
        let expected = "SEARCH entries USING PRIMARY KEY (transaction_id=?)";
        assert!(
            plan.iter().any(|step| step.starts_with(expected)),
            "{plan:?}"
        );
    }

    #[test]
    fn newest_page_start_sorts_only_ties() {
        let plan = query_plan(NEWEST_PAGE_START_SQL, 2);
        assert!(
            plan.contains(&"USE TEMP B-TREE FOR LAST 3 TERMS OF ORDER BY".to_string()),
            "{plan:?}"
        );
    }

    #[test]
    fn previous_page_start_searches_primary_key_from_cursor() {
        let plan = query_plan(PREVIOUS_PAGE_START_SQL, 7);
        let expected = "SEARCH entries USING PRIMARY KEY \
                        (transaction_id=? AND (timestamp_s,timestamp_nanos)<(?,?))";
        assert!(
            plan.iter().any(|step| step.starts_with(expected)),
            "{plan:?}"
        );
    }

    #[test]
    fn previous_page_start_sorts_only_ties() {
        let plan = query_plan(PREVIOUS_PAGE_START_SQL, 7);
        assert!(
            plan.contains(&"USE TEMP B-TREE FOR LAST 3 TERMS OF ORDER BY".to_string()),
            "{plan:?}"
        );
    }

    #[test]
    fn page_sorts_only_ties() {
        let plan = query_plan(PAGE_SQL, 7);
        assert!(
            plan.contains(&"USE TEMP B-TREE FOR LAST 3 TERMS OF ORDER BY".to_string()),
            "{plan:?}"
        );
    }
}
