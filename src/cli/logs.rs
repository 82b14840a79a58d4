//! `translog log show|list|delete`.

use std::time::Duration;

use chrono_tz::Tz;
use clap::Subcommand;

use super::database::open_database_to_delete;
use super::maintenance::count_of;
use super::table::{print_table, print_table_with_max_widths};
use super::{
    parse_duration, parse_timestamp_argument, parse_zone, read_database, DatabasePath, Failure,
    TimestampArgument, DEFAULT_STALL_AFTER,
};
use crate::entry::{is_unprintable, TransactionId, MAX_TRANSACTION_ID_LEN};
use crate::http::dashboard::format_skew;
use crate::storage::free_space::describe_with_full_disk_hint;
use crate::storage::logs::{
    self, Cursor, ListQuery, Outcome, TransactionLog, TransactionSummary, DEFAULT_LIST_LIMIT,
    MAX_LIST_LIMIT,
};
use crate::storage::maintenance;
use crate::storage::{now_ns, Schema};

#[derive(Subcommand)]
pub enum LogCommand {
    /// Show the log of one transaction.
    Show {
        /// 1 to 128 ASCII letters, digits and - _ . : ~, as in the HTTP API.
        #[arg(value_parser = parse_transaction_id)]
        transaction_id: String,
        /// Print JSON, as GET /worker/log/{id} returns it.
        #[arg(long)]
        json: bool,
        /// The stall period, as for `serve`.
        #[arg(long, env = "TRANSLOG_STALL_AFTER", default_value = DEFAULT_STALL_AFTER, value_parser = parse_duration,
              allow_hyphen_values = true)]
        stall_after: Duration,
    },
    /// List transactions, most recently active first.
    List {
        /// Print JSON, as GET /worker/log returns it.
        #[arg(long)]
        json: bool,
        /// How many transactions to show (1 to 1000).
        #[arg(long, default_value_t = DEFAULT_LIST_LIMIT, value_parser = parse_limit)]
        limit: usize,
        /// Only this outcome: fatal, succeeded, stalled or running.
        #[arg(long, value_parser = parse_outcome)]
        outcome: Option<Outcome>,
        /// Only transactions whose last entry's timestamp is at or after this time, or this age such as 2h.
        #[arg(long, value_parser = parse_timestamp_argument, allow_hyphen_values = true)]
        since: Option<TimestampArgument>,
        /// Only transactions whose last entry's timestamp is at or before this time, or this age such as 1d.
        #[arg(long, value_parser = parse_timestamp_argument, allow_hyphen_values = true)]
        until: Option<TimestampArgument>,
        /// The next_cursor of a previous page.
        #[arg(long, value_parser = parse_cursor)]
        cursor: Option<Cursor>,
        /// Time zone for --since and --until without an offset.
        #[arg(long, env = "TRANSLOG_TIMEZONE", default_value = "UTC", value_parser = parse_zone)]
        timezone: Tz,
        /// The stall period, as for `serve`.
        #[arg(long, env = "TRANSLOG_STALL_AFTER", default_value = DEFAULT_STALL_AFTER, value_parser = parse_duration,
              allow_hyphen_values = true)]
        stall_after: Duration,
    },
    /// Delete the log of one transaction, such as one whose timestamps lie in the future, which prune keeps until then.
    Delete {
        /// 1 to 128 ASCII letters, digits and - _ . : ~, as in the HTTP API.
        #[arg(value_parser = parse_transaction_id)]
        transaction_id: String,
        /// Print what would be deleted, and delete nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

/// Checks a transaction id by the rule of the HTTP API, so that an id that
/// no Worker could have sent is a usage error and not "no entries".
fn parse_transaction_id(text: &str) -> Result<String, String> {
    TransactionId::parse(text).map_err(|error| {
        if text.is_empty() || text.len() > MAX_TRANSACTION_ID_LEN {
            format!(
                "{error}; use 1 to {MAX_TRANSACTION_ID_LEN} ASCII letters, digits and - _ . : ~"
            )
        } else {
            error
        }
    })?;
    Ok(text.to_string())
}

fn parse_limit(text: &str) -> Result<usize, String> {
    text.parse()
        .ok()
        .filter(|limit| (1..=MAX_LIST_LIMIT).contains(limit))
        .ok_or_else(|| {
            format!("invalid limit {text:?}; use a whole number from 1 to {MAX_LIST_LIMIT}")
        })
}

fn parse_outcome(text: &str) -> Result<Outcome, String> {
    Outcome::parse(text).ok_or_else(|| match Outcome::in_other_case(text) {
        Some(meant) => format!(
            "invalid outcome {text:?}; outcomes are lower case, so use {}",
            meant.as_str()
        ),
        None => format!("invalid outcome {text:?}; use fatal, succeeded, stalled or running"),
    })
}

fn parse_cursor(text: &str) -> Result<Cursor, String> {
    Cursor::decode(text).ok_or_else(|| {
        "it is not a cursor of this list; pass the --cursor value of the \"more:\" line \
         under the previous page (next_cursor with --json) unchanged"
            .to_string()
    })
}

/// Runs a `log` subcommand.
pub fn run(db: &DatabasePath, command: LogCommand) -> Result<(), Failure> {
    match command {
        LogCommand::Delete {
            transaction_id,
            dry_run,
        } => delete_log(db, &transaction_id, dry_run),
        LogCommand::Show {
            transaction_id,
            json,
            stall_after,
        } => show_log(db, &transaction_id, json, stall_after),
        LogCommand::List {
            json,
            limit,
            outcome,
            since,
            until,
            cursor,
            timezone,
            stall_after,
        } => {
            let query = ListQuery {
                limit,
                cursor,
                outcome,
                since: since
                    .map(|since| since.resolve(timezone, "since"))
                    .transpose()?,
                until: until
                    .map(|until| until.resolve(timezone, "until"))
                    .transpose()?,
            };
            if query.has_reversed_window() {
                return Err(Failure::Usage(
                    "--since is after --until, so no transaction can match; swap the two values"
                        .into(),
                ));
            }
            list_logs(db, &query, json, stall_after)
        }
    }
}

/// Prints the log of one transaction as a table, or as JSON.
fn show_log(
    db: &DatabasePath,
    transaction_id: &str,
    json: bool,
    stall_after: Duration,
) -> Result<(), Failure> {
    let log = read_database(db, Schema::Current, |connection| {
        logs::transaction_log(connection, transaction_id, now_ns(), stall_after)
    })?
    .ok_or_else(|| {
        format!(
            "no entries for transaction {transaction_id:?}; check the id, or list the \
                 transactions with `translog log list`"
        )
    })?;
    if json {
        return print_json(&log);
    }
    print_log_table(log);
    Ok(())
}

/// Deletes the log of one transaction, or with `dry_run` only counts its
/// entries, and prints how many there are.
fn delete_log(db: &DatabasePath, transaction_id: &str, dry_run: bool) -> Result<(), Failure> {
    let entries = if dry_run {
        read_database(db, Schema::Current, |connection| {
            maintenance::count_transaction_entries(connection, transaction_id)
        })?
    } else {
        let mut connection = open_database_to_delete(db)?;
        maintenance::delete_transaction(&mut connection, transaction_id)
            .map_err(|error| describe_with_full_disk_hint(db.path(), &error))?
    };
    if entries == 0 {
        return Err(Failure::Error(format!(
            "no entries for transaction {transaction_id:?}, so nothing was deleted; check the \
             id, or list the transactions with `translog log list`"
        )));
    }
    let counted = count_of(entries as u64, "entry", "entries");
    if dry_run {
        super::print_line(&format!(
            "would remove transaction {transaction_id} ({counted}); nothing was deleted"
        ));
    } else {
        super::print_line(&format!("removed transaction {transaction_id} ({counted})"));
    }
    Ok(())
}

/// Prints a line with the transaction's outcome, then its entries as a table
/// with the clock skew of each, formatted as the dashboard shows it.
fn print_log_table(log: TransactionLog) {
    super::print_line(&format!(
        "transaction {}: {}",
        log.transaction_id,
        log.outcome.as_str()
    ));
    let rows: Vec<[String; 7]> = log
        .entries
        .into_iter()
        .map(|entry| {
            let skew = format_skew(entry.clock_skew_ns());
            [
                entry.timestamp,
                entry.stage,
                entry.status,
                entry.reported_by,
                entry.received_at,
                skew,
                // Empty for no message, so that the message `-` stays distinct.
                printable(entry.message.as_deref().unwrap_or("")),
            ]
        })
        .collect();
    print_table(
        &[
            "TIMESTAMP",
            "STAGE",
            "STATUS",
            "REPORTED BY",
            "RECEIVED AT",
            "CLOCK SKEW",
            "MESSAGE",
        ],
        &rows,
    );
}

/// Prints one page of transactions, most recently active first, as a table
/// with the option for the next page, or as JSON.
fn list_logs(
    db: &DatabasePath,
    query: &ListQuery,
    json: bool,
    stall_after: Duration,
) -> Result<(), Failure> {
    let page = read_database(db, Schema::Current, |connection| {
        logs::list_transactions(connection, query, now_ns(), stall_after)
    })?;
    if json {
        return print_json(&page);
    }
    let empty = page.transactions.is_empty();
    print_list_table(page.transactions);
    if let Some(next) = page.next_cursor {
        let arguments = filter_arguments(query, stall_after);
        super::print_line(&format!("more: {arguments}--cursor {next}"));
    } else if empty {
        // On standard error, so that the table on standard output stays
        // a header and rows for scripts.
        eprintln!("{}", empty_list_reason(query));
    }
    Ok(())
}

/// The maximum width, in characters, of the TRANSACTION column of `log list`:
/// a UUID fits, and so does an id made of a host name, a time and a process
/// id, such as the example Worker's. A longer id is printed whole, so that it
/// can be copied, and widens only its own row.
const TABLE_ID_CHARS: usize = 48;

/// Prints transactions as the table of `log list`.
fn print_list_table(transactions: Vec<TransactionSummary>) {
    let rows: Vec<[String; 7]> = transactions
        .into_iter()
        .map(|summary| {
            let fatal = fatal_cell(&summary);
            [
                summary.transaction_id,
                summary.outcome.as_str().to_string(),
                format!("{} {}", summary.last_stage, summary.last_status),
                summary.entry_count.to_string(),
                summary.last_timestamp,
                summary.last_received_at,
                fatal,
            ]
        })
        .collect();
    let mut max_widths = [usize::MAX; 7];
    max_widths[0] = TABLE_ID_CHARS;
    print_table_with_max_widths(
        &[
            "TRANSACTION",
            "OUTCOME",
            "LAST",
            "ENTRIES",
            "LAST TIMESTAMP",
            "LAST RECEIVED",
            "FATAL ENTRY",
        ],
        &rows,
        max_widths,
    );
}

/// Returns the options that repeat the page size and the filters of `query`,
/// each followed by a space, for the hint to the next page. A cursor is only
/// a position in the list, so the next page is filtered by the options given
/// with it. The stall period decides which transactions are stalled or
/// running, so it is repeated for those outcomes unless it is the default.
fn filter_arguments(query: &ListQuery, stall_after: Duration) -> String {
    let mut arguments = String::new();
    if query.limit != DEFAULT_LIST_LIMIT {
        arguments.push_str(&format!("--limit {} ", query.limit));
    }
    if let Some(outcome) = query.outcome {
        arguments.push_str(&format!("--outcome {} ", outcome.as_str()));
        let depends_on_stall = matches!(outcome, Outcome::Stalled | Outcome::Running);
        let period = crate::service::format_option_duration(stall_after);
        if depends_on_stall && period != DEFAULT_STALL_AFTER {
            arguments.push_str(&format!("--stall-after {period} "));
        }
    }
    let instants = [("--since", query.since), ("--until", query.until)];
    for (option, instant) in instants {
        if let Some(instant) = instant {
            let text = instant.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
            arguments.push_str(&format!("{option} {text} "));
        }
    }
    arguments
}

/// Returns the reason that a page of `log list` is empty, given the options
/// of `query`.
fn empty_list_reason(query: &ListQuery) -> &'static str {
    let filtered = query.outcome.is_some() || query.since.is_some() || query.until.is_some();
    if query.cursor.is_some() {
        "no more transactions after this cursor"
    } else if filtered {
        "no transactions match these filters"
    } else {
        "no transactions yet"
    }
}

/// Prints `value` as indented JSON.
fn print_json(value: &impl serde::Serialize) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(value).map_err(|error| error.to_string())?;
    super::print_line(&text);
    Ok(())
}

/// The maximum length, in characters, of a message in the `log list` table.
/// `--json` prints the whole message.
const TABLE_MESSAGE_CHARS: usize = 60;

/// Formats the entry that made a transaction fatal as `STAGE: message`. A
/// message longer than [`TABLE_MESSAGE_CHARS`] is cut and ends with an
/// ellipsis. The cell is empty for a transaction that is not fatal.
fn fatal_cell(summary: &TransactionSummary) -> String {
    let Some(stage) = &summary.fatal_stage else {
        return String::new();
    };
    match summary.fatal_message.as_deref().filter(|m| !m.is_empty()) {
        Some(message) => {
            let mut characters = message.chars();
            let mut cut_message: String = characters.by_ref().take(TABLE_MESSAGE_CHARS).collect();
            if characters.next().is_some() {
                cut_message.push('…');
            }
            format!("{stage}: {}", printable(&cut_message))
        }
        None => stage.clone(),
    }
}

/// Replaces each character that [`is_unprintable`] names with U+FFFD, line
/// breaks and tabs included, so that a message fills one row of the table.
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| {
            if is_unprintable(c) {
                char::REPLACEMENT_CHARACTER
            } else {
                c
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list_query(limit: usize, outcome: Option<Outcome>) -> ListQuery {
        ListQuery {
            limit,
            cursor: None,
            outcome,
            since: None,
            until: None,
        }
    }

    fn default_stall_after() -> Duration {
        parse_duration(DEFAULT_STALL_AFTER).expect("a valid default")
    }

    #[test]
    fn hint_omits_default_limit() {
        let query = list_query(DEFAULT_LIST_LIMIT, Some(Outcome::Fatal));
        assert_eq!(
            filter_arguments(&query, default_stall_after()),
            "--outcome fatal "
        );
    }

    #[test]
    fn hint_names_other_limit() {
        let query = list_query(5, Some(Outcome::Fatal));
        assert_eq!(
            filter_arguments(&query, default_stall_after()),
            "--limit 5 --outcome fatal "
        );
    }

    #[test]
    fn hint_names_stall_period_of_stalled() {
        let query = list_query(DEFAULT_LIST_LIMIT, Some(Outcome::Stalled));
        assert_eq!(
            filter_arguments(&query, Duration::from_secs(60)),
            "--outcome stalled --stall-after 1m "
        );
    }

    #[test]
    fn hint_omits_stall_period_of_fatal() {
        let query = list_query(DEFAULT_LIST_LIMIT, Some(Outcome::Fatal));
        assert_eq!(
            filter_arguments(&query, Duration::from_secs(60)),
            "--outcome fatal "
        );
    }

    #[test]
    fn hint_omits_default_stall_period() {
        let query = list_query(DEFAULT_LIST_LIMIT, Some(Outcome::Running));
        assert_eq!(
            filter_arguments(&query, default_stall_after()),
            "--outcome running "
        );
    }

    fn fatal_summary(stage: Option<&str>, message: Option<&str>) -> TransactionSummary {
        TransactionSummary {
            transaction_id: "tx-1".into(),
            outcome: Outcome::Fatal,
            first_timestamp: String::new(),
            last_timestamp: String::new(),
            last_stage: "WORKER_END".into(),
            last_status: "SUCCESS".into(),
            entry_count: 3,
            last_received_at: String::new(),
            last_received_at_ns: 0,
            last_message: None,
            fatal_stage: stage.map(str::to_string),
            fatal_timestamp: None,
            fatal_message: message.map(str::to_string),
        }
    }

    #[test]
    fn fatal_cell_shows_stage_and_message() {
        let summary = fatal_summary(Some("WORKER_DECOMPRESS"), Some("archive is corrupt"));
        assert_eq!(
            fatal_cell(&summary),
            "WORKER_DECOMPRESS: archive is corrupt"
        );
    }

    #[test]
    fn fatal_cell_cuts_long_message() {
        let message = "é".repeat(TABLE_MESSAGE_CHARS + 1);
        let summary = fatal_summary(Some("WORKER_LOAD"), Some(&message));
        let expected = format!("WORKER_LOAD: {}…", "é".repeat(TABLE_MESSAGE_CHARS));
        assert_eq!(fatal_cell(&summary), expected);
    }

    #[test]
    fn fatal_cell_keeps_message_at_limit() {
        let message = "x".repeat(TABLE_MESSAGE_CHARS);
        let summary = fatal_summary(Some("WORKER_LOAD"), Some(&message));
        assert_eq!(fatal_cell(&summary), format!("WORKER_LOAD: {message}"));
    }

    #[test]
    fn fatal_cell_without_message_is_stage() {
        let summary = fatal_summary(Some("WORKER_LOAD"), None);
        assert_eq!(fatal_cell(&summary), "WORKER_LOAD");
    }

    #[test]
    fn fatal_cell_replaces_control_characters() {
        let summary = fatal_summary(Some("WORKER_LOAD"), Some("a\nb\u{1b}[31m"));
        assert_eq!(fatal_cell(&summary), "WORKER_LOAD: a\u{fffd}b\u{fffd}[31m");
    }

    #[test]
    fn fatal_cell_of_other_outcome_is_empty() {
        let summary = fatal_summary(None, None);
        assert_eq!(fatal_cell(&summary), "");
    }
}
