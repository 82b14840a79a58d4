//! `translog log show|list`, `translog backup` and `translog prune`.

use std::os::unix::ffi::OsStrExt as _;
use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use chrono_tz::Tz;
use clap::Subcommand;

use super::database::{absolute, database_directory};
use super::{
    open_database, open_database_read_only, parse_duration, parse_timestamp_argument, parse_zone,
    DatabasePath, Failure, TimestampArgument,
};
use crate::entry::{is_unprintable, TransactionId, MAX_TRANSACTION_ID_LEN};
use crate::http::handlers::{DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT};
use crate::storage::backup::{Backup, BackupError};
use crate::storage::free_space::{describe_with_full_disk_hint, full_disk_hint};
use crate::storage::logs::{
    self, Cursor, ListQuery, Outcome, PruneError, Pruned, TransactionLog, TransactionSummary,
};
use crate::storage::{file_mode, files};
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
        #[arg(long, env = "TRANSLOG_STALL_AFTER", default_value = "6h", value_parser = parse_duration,
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
        /// Only transactions whose last entry's timestamp is at or after this.
        #[arg(long, value_parser = parse_timestamp_argument, allow_hyphen_values = true)]
        since: Option<TimestampArgument>,
        /// Only transactions whose last entry's timestamp is at or before this.
        #[arg(long, value_parser = parse_timestamp_argument, allow_hyphen_values = true)]
        until: Option<TimestampArgument>,
        /// The next_cursor of a previous page.
        #[arg(long, value_parser = parse_cursor)]
        cursor: Option<Cursor>,
        /// Time zone for --since and --until without an offset.
        #[arg(long, env = "TRANSLOG_TIMEZONE", default_value = "UTC", value_parser = parse_zone)]
        timezone: Tz,
        /// The stall period, as for `serve`.
        #[arg(long, env = "TRANSLOG_STALL_AFTER", default_value = "6h", value_parser = parse_duration,
              allow_hyphen_values = true)]
        stall_after: Duration,
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
    Outcome::parse(text).ok_or_else(|| {
        format!("invalid outcome {text:?}; use fatal, succeeded, stalled or running")
    })
}

fn parse_cursor(text: &str) -> Result<Cursor, String> {
    Cursor::decode(text).ok_or_else(|| {
        "invalid cursor; pass the next_cursor of the previous page unchanged".to_string()
    })
}

/// Runs a `log` subcommand.
pub fn run(db: &DatabasePath, command: LogCommand) -> Result<(), Failure> {
    match command {
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
                    .map(|since| since.resolve(timezone, "--since"))
                    .transpose()?,
                until: until
                    .map(|until| until.resolve(timezone, "--until"))
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
    let log = open_database_read_only(db, Schema::Current)?
        .read(|connection| logs::transaction_log(connection, transaction_id, now_ns(), stall_after))
        .map_err(|error| error.to_string())?
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

/// Prints a line with the transaction's outcome, then its entries as a table.
fn print_log_table(log: TransactionLog) {
    super::print_line(&format!(
        "transaction {}: {}",
        log.transaction_id,
        log.outcome.as_str()
    ));
    let rows: Vec<[String; 6]> = log
        .entries
        .into_iter()
        .map(|entry| {
            [
                entry.timestamp,
                entry.stage,
                entry.status,
                entry.reported_by,
                entry.received_at,
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
    let page = open_database_read_only(db, Schema::Current)?
        .read(|connection| logs::list_transactions(connection, query, now_ns(), stall_after))
        .map_err(|error| error.to_string())?;
    if json {
        return print_json(&page);
    }
    let empty = page.transactions.is_empty();
    print_list_table(page.transactions);
    if let Some(next) = page.next_cursor {
        super::print_line(&format!("more: {}--cursor {next}", filter_arguments(query)));
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
/// with it.
fn filter_arguments(query: &ListQuery) -> String {
    let mut arguments = String::new();
    if query.limit != DEFAULT_LIST_LIMIT {
        arguments.push_str(&format!("--limit {} ", query.limit));
    }
    if let Some(outcome) = query.outcome {
        arguments.push_str(&format!("--outcome {} ", outcome.as_str()));
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

/// Prints rows under a header, each column as wide as its widest cell.
pub fn print_table<const N: usize>(header: &[&str; N], rows: &[[String; N]]) {
    print_table_with_max_widths(header, rows, [usize::MAX; N]);
}

/// Prints rows under a header, each column as wide as its widest cell of at
/// most `max_widths` characters. A longer cell is printed whole, and shifts
/// only the rest of its own row to the right.
fn print_table_with_max_widths<const N: usize>(
    header: &[&str; N],
    rows: &[[String; N]],
    max_widths: [usize; N],
) {
    let mut widths = header.map(|title| title.chars().count());
    for row in rows {
        for ((width, cell), max_width) in widths.iter_mut().zip(row).zip(max_widths) {
            let length = cell.chars().count();
            if length <= max_width {
                *width = (*width).max(length);
            }
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        super::print_line(padded.join("  ").trim_end());
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
}

/// Writes a backup of the database to the new file `destination` and prints
/// how many entries it contains.
pub fn backup(db: &DatabasePath, destination: &Path) -> Result<(), String> {
    if destination.is_dir() {
        return Err(format!(
            "{} is a directory; give the path of a new file inside it, such as {}",
            destination.display(),
            backup_file_in(destination).display()
        ));
    }
    // A path that ends with a slash, where no directory exists.
    if destination.as_os_str().as_bytes().ends_with(b"/") {
        return Err(format!(
            "cannot create {}: a path that ends with / names a directory, and none \
             exists there; create the directory and give the path of a new file inside \
             it, such as {}",
            destination.display(),
            backup_file_in(destination).display()
        ));
    }
    let name = files::sqlite_file_name(destination).map_err(|reason| {
        format!(
            "cannot create {}: {reason}; choose a file name that is valid UTF-8",
            destination.display()
        )
    })?;
    // A copy needs no upgrade, so a database of an older version, still in
    // use by an older server, is copied as it is.
    let database = open_database_read_only(db, Schema::AsFound)?;
    let describe = |error: BackupError| describe_backup_error(destination, &error);
    let backup = Backup::create(name).map_err(describe)?;
    // Described before `backup` is dropped, because the partial copy still
    // takes the space that the hint of a full disk reports as free.
    let entries = backup.write(database).map_err(describe)?;
    backup.finish().map_err(describe)?;
    super::print_line(&format!(
        "wrote {} ({})",
        destination.display(),
        count_of(entries, "entry", "entries")
    ));
    Ok(())
}

/// Describes a failed backup to `destination`, with what to do where the
/// cause is the path.
fn describe_backup_error(destination: &Path, error: &BackupError) -> String {
    let path = destination.display();
    let create = match error {
        BackupError::Exists => return format!("{path} already exists; choose a new file name"),
        BackupError::Create(create) => create,
        BackupError::SyncDirectory(..) => {
            return format!(
                "wrote {path}, but {error}; a crash of the host may lose the file, so check \
                 that it is there before relying on it"
            )
        }
        BackupError::Copy(_)
        | BackupError::Count(_)
        | BackupError::Sync(_)
        | BackupError::Rename(_) => {
            return format!(
                "backup failed: {error}{}",
                full_disk_hint(destination, error)
            )
        }
    };
    match create.kind() {
        std::io::ErrorKind::NotFound => format!(
            "cannot create {path}: its directory does not exist; create the directory or \
             choose another path"
        ),
        std::io::ErrorKind::NotADirectory => format!(
            "cannot create {path}: a part of its directory is a file, not a directory; \
             choose another path"
        ),
        std::io::ErrorKind::PermissionDenied => format!(
            "cannot create {path}: {}; choose a directory that this user may write, or run \
             the command as a user that may",
            create_denied_reason(destination)
        ),
        _ => format!(
            "cannot create {path}: {create}{}",
            full_disk_hint(destination, create)
        ),
    }
}

/// Says why this process's user may not create the file at `destination`:
/// a directory above it that the user may not search, or its own directory,
/// which the user may not write. Both are named by absolute paths.
fn create_denied_reason(destination: &Path) -> String {
    let directory = absolute(database_directory(destination));
    let user = file_mode::effective_user();
    match file_mode::unsearchable_directory(&directory) {
        Some(closed) => format!(
            "{user} has no search permission on directory {}",
            closed.display()
        ),
        None => format!(
            "{user} may not create files in directory {}",
            directory.display()
        ),
    }
}

/// Returns a path for a new backup in `directory`, named after the current
/// UTC time to the second, such as `translog-20261204T030000Z.db`, so that
/// a second backup on the same day gets a name of its own.
fn backup_file_in(directory: &Path) -> std::path::PathBuf {
    let now = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    directory.join(format!("translog-{now}.db"))
}

pub fn prune(
    db: &DatabasePath,
    before: &TimestampArgument,
    timezone: Tz,
    dry_run: bool,
) -> Result<(), Failure> {
    let instant = before.resolve(timezone, "--before")?;
    check_cutoff_is_past(before, instant, timezone)?;
    let pruned = if dry_run {
        count_pruned(db, instant)?
    } else {
        let mut connection = open_database(db)?;
        logs::prune(&mut connection, instant)
            .map_err(|failure| describe_prune_error(db.path(), &failure))?
    };
    let counts = pruned_counts(pruned);
    if dry_run {
        super::print_line(&format!("would remove {counts}; nothing was deleted"));
    } else {
        super::print_line(&format!("removed {counts}"));
    }
    Ok(())
}

/// Formats what a prune deleted as `N transactions (M entries)`.
fn pruned_counts(pruned: Pruned) -> String {
    format!(
        "{} ({})",
        count_of(pruned.transactions as u64, "transaction", "transactions"),
        count_of(pruned.entries as u64, "entry", "entries")
    )
}

/// Describes a failed prune of the database at `db`, with what it deleted
/// before the error, since those deletions are committed.
fn describe_prune_error(db: &Path, failure: &PruneError) -> String {
    let error = describe_with_full_disk_hint(db, &failure.error);
    if failure.deleted.transactions == 0 {
        return error;
    }
    format!(
        "removed {} before the error: {error}",
        pruned_counts(failure.deleted)
    )
}

/// Rejects a `--before` later than the current time, such as one with a
/// mistyped year. The last entry of nearly every transaction is before such
/// a time, so prune would delete nearly every log, including those that
/// Workers are still writing. `--dry-run` rejects it too, so that a dry run
/// shows what the same command without it does.
fn check_cutoff_is_past(
    before: &TimestampArgument,
    instant: DateTime<Utc>,
    zone: Tz,
) -> Result<(), Failure> {
    let now = Utc::now();
    if instant <= now {
        return Ok(());
    }
    Err(Failure::Usage(format!(
        "invalid value '{}' for '--before': it means {}, which is later than the current \
         time {}, so prune would delete nearly every log, including those that Workers are \
         still writing; give a time in the past, and run the command with --dry-run first to \
         see what it would delete",
        before.text(),
        instant
            .with_timezone(&zone)
            .to_rfc3339_opts(SecondsFormat::AutoSi, true),
        now.with_timezone(&zone)
            .to_rfc3339_opts(SecondsFormat::Secs, true)
    )))
}

/// Counts what `prune` would delete before `instant`. It only reads, so the
/// database must exist.
fn count_pruned(
    db: &DatabasePath,
    instant: chrono::DateTime<chrono::Utc>,
) -> Result<Pruned, String> {
    open_database_read_only(db, Schema::Current)?
        .read(|connection| logs::count_prunable(connection, instant))
        .map_err(|error| error.to_string())
}

/// Formats a count with the singular or plural of its noun.
fn count_of(count: u64, singular: &str, plural: &str) -> String {
    if count == 1 {
        format!("1 {singular}")
    } else {
        format!("{count} {plural}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::StorageError;

    fn list_query(limit: usize, outcome: Option<Outcome>) -> ListQuery {
        ListQuery {
            limit,
            cursor: None,
            outcome,
            since: None,
            until: None,
        }
    }

    #[test]
    fn hint_omits_default_limit() {
        let query = list_query(DEFAULT_LIST_LIMIT, Some(Outcome::Fatal));
        assert_eq!(filter_arguments(&query), "--outcome fatal ");
    }

    #[test]
    fn hint_names_other_limit() {
        let query = list_query(5, Some(Outcome::Fatal));
        assert_eq!(filter_arguments(&query), "--limit 5 --outcome fatal ");
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
    fn prune_error_without_deletions_is_plain() {
        let failure = PruneError {
            deleted: Pruned {
                transactions: 0,
                entries: 0,
            },
            error: StorageError::ChangedWhileRead,
        };
        let message = describe_prune_error(Path::new("translog.db"), &failure);
        assert_eq!(message, StorageError::ChangedWhileRead.to_string());
    }

    #[test]
    fn fatal_cell_of_other_outcome_is_empty() {
        let summary = fatal_summary(None, None);
        assert_eq!(fatal_cell(&summary), "");
    }
}
