//! The dashboard for operators: server-rendered HTML pages with inline CSS and
//! no scripts. `GET /` lists transactions with filters by outcome and paging;
//! `GET /transactions/{id}` shows the timeline of one transaction, a page of
//! entries at a time.
//!
//! Every value read from the database goes through [`escape_html`], and the
//! pages are sent with a Content-Security-Policy that forbids scripts and any
//! other resource, so a stored message cannot inject markup.

mod errors;
mod format;
mod html;
mod links;
mod list_page;
mod transaction_page;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};

use super::handlers::{run_read, transaction_id_from_path};
use super::queries::{
    parse_list_pairs, parse_log_pairs, query_pairs, LIST_PARAMETERS, LOG_PARAMETERS,
};
use super::response::{ApiError, Body};
use super::AppState;
use crate::auth::User;
use crate::storage::logs::{
    self, LogEntry, LogQuery, Outcome, OutcomeCounts, TransactionLog, TransactionPage,
    TransactionSummary,
};
use crate::storage::{now_ns, StorageError};

pub use errors::{accepts_html, error_response, is_page_path};
pub use format::{format_skew, format_span};
pub use html::{escape_html, CONTENT_SECURITY_POLICY_VALUE};

use html::{error_page, html_page};
use list_page::render_index;
use transaction_page::render_transaction;

/// Serves `GET /`: the transaction list, filtered by the query parameters of
/// `GET /worker/log` (`outcome`, `cursor`, `limit`, `since`, `until`). The
/// counts and the page are read and rendered in the blocking task.
///
/// # Errors
///
/// Storage failures; a bad query value is a `400` HTML page, not an error.
pub async fn index(
    state: &Arc<AppState>,
    request: &Request<Incoming>,
    user: &User,
) -> Result<Response<Body>, ApiError> {
    let pairs = match page_query_pairs(request.uri().query(), &LIST_PARAMETERS) {
        Ok(pairs) => pairs,
        Err(error) => return invalid_query_page(error),
    };
    let query = match parse_list_pairs(&pairs, user, state.config.timezone) {
        Ok(query) => query,
        Err(error) => return invalid_query_page(error),
    };
    let filter = query.outcome;
    let paged = query.cursor.is_some();
    let (since, until) = (query.since, query.until);
    let zone = display_zone(state, user);
    let html = run_read(state, move |state, connection| {
        // One read transaction, so that the counts and the page agree.
        let snapshot = connection.unchecked_transaction()?;
        let now = now_ns();
        let stall_after = state.config.stall_after;
        let counts = logs::count_by_outcome(&snapshot, &query, now, stall_after)?;
        let page = logs::list_transactions(&snapshot, &query, now, stall_after)?;
        snapshot.commit()?;
        let view = IndexView {
            counts,
            page,
            filter,
            paged,
            since,
            until,
            pairs,
            now_ns: now,
            zone,
            stall_after,
        };
        Ok(render_index(&view))
    })
    .await?;
    Ok(html_page(StatusCode::OK, html))
}

/// Serves `GET /transactions/{id}`: one page of a transaction's entries in
/// timestamp order with the Worker's time, the receive time and the skew
/// between them, and the facts of the whole transaction. The query takes
/// `limit` and `cursor` as `GET /worker/log/{id}` does. The page is read
/// and rendered in the blocking task, so the HTTP thread only sends it.
///
/// # Errors
///
/// Storage failures; a bad or unknown id, or a bad query value, is a `400`
/// or `404` HTML page.
pub async fn transaction(
    state: &Arc<AppState>,
    raw_id: &str,
    query: Option<&str>,
    user: &User,
) -> Result<Response<Body>, ApiError> {
    let transaction_id = match transaction_id_from_path(raw_id) {
        Ok(id) => id,
        Err(ApiError::InvalidParameters(error)) => {
            return Ok(error_page(
                StatusCode::BAD_REQUEST,
                "Invalid transaction id",
                &format!("{error}"),
            ));
        }
        Err(error) => return Err(error),
    };
    let query = match page_query_pairs(query, &LOG_PARAMETERS)
        .and_then(|pairs| parse_log_pairs(&pairs, &transaction_id, false))
    {
        Ok(query) => query,
        Err(error) => return invalid_query_page(error),
    };
    let zone = display_zone(state, user);
    let lookup_id = transaction_id.clone();
    let html = run_read(state, move |state, connection| {
        let view = read_transaction_view(state, connection, &lookup_id, query, zone)?;
        Ok(view.as_ref().map(render_transaction))
    })
    .await?;
    let Some(html) = html else {
        return Ok(error_page(
            StatusCode::NOT_FOUND,
            "Transaction not found",
            &format!("No entries are stored for the transaction id {transaction_id}."),
        ));
    };
    Ok(html_page(StatusCode::OK, html))
}

/// Reads everything the page of one transaction shows in one read
/// transaction; `None` when the transaction has no entries.
fn read_transaction_view(
    state: &AppState,
    connection: &rusqlite::Connection,
    transaction_id: &str,
    query: LogQuery,
    zone: Tz,
) -> Result<Option<TransactionView>, StorageError> {
    let snapshot = connection.unchecked_transaction()?;
    let now = now_ns();
    let stall_after = state.config.stall_after;
    let Some(summary) = logs::transaction_summary(&snapshot, transaction_id, now, stall_after)?
    else {
        return Ok(None);
    };
    let Some(log) =
        logs::transaction_log_page(&snapshot, transaction_id, &query, now, stall_after)?
    else {
        return Ok(None);
    };
    let end_entry = if summary.outcome == Outcome::Succeeded {
        logs::last_end_entry(&snapshot, transaction_id)?
    } else {
        None
    };
    let entries_before = match &query.cursor {
        Some(cursor) => logs::count_entries_before(&snapshot, transaction_id, cursor)?,
        None => 0,
    };
    // A later page links to the `limit` entries before it. They are the
    // first page when no more than `limit` entries come before this page.
    let limit = u64::try_from(query.limit).unwrap_or(u64::MAX);
    let previous_cursor = match &query.cursor {
        Some(cursor) if entries_before > limit => {
            logs::previous_page_cursor(&snapshot, cursor, query.limit)?
                .map(|cursor| cursor.encode())
        }
        _ => None,
    };
    // Only a page with entries after it links to the newest entries.
    let newest_cursor = match log.next_cursor {
        Some(_) => logs::newest_page_cursor(&snapshot, transaction_id, query.limit)?
            .map(|cursor| cursor.encode()),
        None => None,
    };
    snapshot.commit()?;
    Ok(Some(TransactionView {
        summary,
        log,
        end_entry,
        entries_before,
        previous_cursor,
        newest_cursor,
        limit: query.limit,
        paged: query.cursor.is_some(),
        now_ns: now,
        zone,
        stall_after,
    }))
}

/// Decodes the query string of a page, leaving out each of `names` whose
/// value is empty. An HTML form sends a field left blank as `name=`, which
/// on the dashboard means no filter. The read API rejects an empty value
/// with `400`, as it does any other invalid value.
fn page_query_pairs(
    query: Option<&str>,
    names: &[&str],
) -> Result<Vec<(String, String)>, ApiError> {
    let mut pairs = query_pairs(query)?;
    pairs.retain(|(name, value)| !value.is_empty() || !names.contains(&name.as_str()));
    Ok(pairs)
}

/// Turns a bad query value into a `400` HTML page, and passes any other
/// error on.
fn invalid_query_page(error: ApiError) -> Result<Response<Body>, ApiError> {
    match error {
        ApiError::InvalidQuery(message) => Ok(error_page(
            StatusCode::BAD_REQUEST,
            "Invalid query",
            &message,
        )),
        error => Err(error),
    }
}

/// Returns the zone that the pages show times in: the reader's own zone, in
/// which `since` and `until` without an offset are read too, else the server's.
fn display_zone(state: &AppState, user: &User) -> Tz {
    user.timezone.unwrap_or(state.config.timezone)
}

/// Everything the list page shows.
struct IndexView {
    counts: OutcomeCounts,
    page: TransactionPage,
    filter: Option<Outcome>,
    /// True past the first page.
    paged: bool,
    /// The time window on the Worker's timestamp of a transaction's last
    /// entry, which the counts and the page share.
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    /// The decoded query parameters, kept in the filter and paging links.
    pairs: Vec<(String, String)>,
    now_ns: i64,
    zone: Tz,
    stall_after: Duration,
}

/// Everything the transaction page shows.
struct TransactionView {
    /// The facts of the whole transaction.
    summary: TransactionSummary,
    /// The entries of this page, and the cursor of the next one.
    log: TransactionLog,
    /// The entry that made a succeeded transaction succeed.
    end_entry: Option<LogEntry>,
    /// The number of entries of the transaction before this page.
    entries_before: u64,
    /// The cursor of the page with the `limit` entries before this one;
    /// `None` on the first page, and where the page before is the first.
    previous_cursor: Option<String>,
    /// The cursor of the page with the newest `limit` entries; `None` on
    /// the last page.
    newest_cursor: Option<String>,
    /// The page size, kept in the link to the next page.
    limit: usize,
    /// True past the first page.
    paged: bool,
    now_ns: i64,
    zone: Tz,
    stall_after: Duration,
}
