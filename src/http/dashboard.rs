//! The dashboard for operators: server-rendered HTML pages with inline CSS and
//! no scripts. `GET /` lists transactions with filters by outcome and paging;
//! `GET /transactions/{id}` shows the timeline of one transaction.
//!
//! Every value read from the database goes through [`escape_html`], and the
//! pages are sent with a Content-Security-Policy that forbids scripts and any
//! other resource, so a stored message cannot inject markup.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use hyper::body::{Bytes, Incoming};
use hyper::header::{
    HeaderValue, CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use hyper::{Request, Response, StatusCode};

use super::handlers::{parse_list_query, run_read, transaction_id_from_path};
use super::response::{ApiError, Body};
use super::AppState;
use crate::auth::User;
use crate::storage::logs::{self, LogEntry, Outcome, TransactionLog, TransactionPage};
use crate::storage::now_ns;
use crate::validate::form::parse_pairs;

/// The policy of every dashboard page: inline styles and nothing else.
pub const CONTENT_SECURITY_POLICY_VALUE: &str = "default-src 'none'; style-src 'unsafe-inline'";

/// How much of the last message the transaction list shows, in characters.
const LIST_MESSAGE_CHARS: usize = 160;

/// A clock skew at least this large is highlighted: more than delivery delay,
/// so a wrong clock or a wrong time zone on the Worker.
const LARGE_SKEW_NS: u128 = 5 * 60 * 1_000_000_000;

/// The filters of the list, problems first; `None` is every transaction.
const OUTCOME_FILTERS: [Option<Outcome>; 5] = [
    None,
    Some(Outcome::Fatal),
    Some(Outcome::Stalled),
    Some(Outcome::Running),
    Some(Outcome::Succeeded),
];

/// Serves `GET /`: the transaction list, filtered by the query parameters of
/// `GET /worker/log` (`outcome`, `cursor`, `limit`, `since`, `until`).
///
/// # Errors
///
/// Storage failures; a bad query value is a `400` HTML page, not an error.
pub async fn index(
    state: &Arc<AppState>,
    request: &Request<Incoming>,
    user: &User,
) -> Result<Response<Body>, ApiError> {
    let raw_query = request.uri().query().unwrap_or_default().to_string();
    let query = match parse_list_query(Some(&raw_query), user, state.config.timezone) {
        Ok(query) => query,
        Err(ApiError::InvalidQuery(message)) => {
            return Ok(error_page(
                StatusCode::BAD_REQUEST,
                "Invalid query",
                &message,
            ));
        }
        Err(error) => return Err(error),
    };
    // parse_list_query accepted the query, so its pairs decode.
    let pairs = parse_pairs(raw_query.as_bytes()).unwrap_or_default();
    let filter = query.outcome;
    let paged = query.cursor.is_some();
    let (counts, page, now) = run_read(state, move |state, connection| {
        // One read transaction, so that the counts and the page agree.
        let snapshot = connection.unchecked_transaction()?;
        let now = now_ns();
        let stall_after = state.config.stall_after;
        let counts = logs::count_by_outcome(&snapshot, now, stall_after)?;
        let page = logs::list_transactions(&snapshot, &query, now, stall_after)?;
        Ok((counts, page, now))
    })
    .await?;
    let view = IndexView {
        counts,
        page,
        filter,
        paged,
        pairs,
        now_ns: now,
        zone: state.config.timezone,
        stall_after: state.config.stall_after,
    };
    Ok(html_page(StatusCode::OK, render_index(&view)))
}

/// Serves `GET /transactions/{id}`: one transaction's entries in timestamp
/// order with the Worker's time, the receive time and the skew between them.
///
/// # Errors
///
/// Storage failures; a bad or unknown id is a `400` or `404` HTML page.
pub async fn transaction(state: &Arc<AppState>, raw_id: &str) -> Result<Response<Body>, ApiError> {
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
    let lookup_id = transaction_id.clone();
    let (log, now) = run_read(state, move |state, connection| {
        let now = now_ns();
        let log = logs::transaction_log(connection, &lookup_id, now, state.config.stall_after)?;
        Ok((log, now))
    })
    .await?;
    let Some(log) = log else {
        return Ok(error_page(
            StatusCode::NOT_FOUND,
            "Transaction not found",
            &format!("No entries are stored for the transaction id {transaction_id}."),
        ));
    };
    let view = TransactionView {
        log,
        now_ns: now,
        zone: state.config.timezone,
        stall_after: state.config.stall_after,
    };
    Ok(html_page(StatusCode::OK, render_transaction(&view)))
}

/// Everything the list page shows.
struct IndexView {
    counts: [i64; 4],
    page: TransactionPage,
    filter: Option<Outcome>,
    /// True past the first page.
    paged: bool,
    /// The decoded query parameters, kept in the filter and paging links.
    pairs: Vec<(String, String)>,
    now_ns: i64,
    zone: Tz,
    stall_after: Duration,
}

/// Everything the transaction page shows.
struct TransactionView {
    log: TransactionLog,
    now_ns: i64,
    zone: Tz,
    stall_after: Duration,
}

/// Escapes text for HTML element content and quoted attribute values.
/// Control characters other than tab, line feed and carriage return become
/// their Unicode control pictures (U+2400 to U+2421), so that terminal escape
/// sequences in a message stay visible instead of vanishing.
pub fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            '\t' | '\n' | '\r' => escaped.push(c),
            '\u{0}'..='\u{1f}' => {
                escaped.push(char::from_u32(0x2400 + c as u32).unwrap_or('\u{fffd}'));
            }
            '\u{7f}' => escaped.push('\u{2421}'),
            _ => escaped.push(c),
        }
    }
    escaped
}

/// Percent-encodes a query parameter value: everything but the unreserved
/// characters of RFC 3986.
fn encode_query_value(value: &str) -> String {
    let mut encoded = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(char::from(byte));
        } else {
            let _ = write!(encoded, "%{byte:02X}");
        }
    }
    encoded
}

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

/// Formats an instant in the display zone with milliseconds, inside a
/// `<time>` element that carries the full UTC instant.
fn render_instant(instant: DateTime<Utc>, zone: Tz) -> String {
    let full = logs::format_instant(instant);
    let shown = instant
        .with_timezone(&zone)
        .format("%Y-%m-%d %H:%M:%S%.3f %:z");
    format!(
        "<time datetime=\"{}\">{}</time>",
        escape_html(&full),
        escape_html(&shown.to_string())
    )
}

fn parse_instant(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|instant| instant.with_timezone(&Utc))
}

fn instant_ns(instant: DateTime<Utc>) -> i128 {
    i128::from(instant.timestamp()) * 1_000_000_000 + i128::from(instant.timestamp_subsec_nanos())
}

/// Formats how long ago an instant was, as `12 s ago`.
fn format_age(instant: DateTime<Utc>, now_ns: i64) -> String {
    let age = i128::from(now_ns) - instant_ns(instant);
    if age <= 0 {
        "just now".to_string()
    } else {
        format!("{} ago", format_span(age.unsigned_abs()))
    }
}

fn format_duration(duration: Duration) -> String {
    format_span(duration.as_nanos())
}

/// Truncates a text to `max_chars` characters, with an ellipsis when cut.
fn truncate_chars(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

fn outcome_label(outcome: Option<Outcome>) -> &'static str {
    match outcome {
        None => "All",
        Some(Outcome::Fatal) => "Fatal",
        Some(Outcome::Stalled) => "Stalled",
        Some(Outcome::Running) => "Running",
        Some(Outcome::Succeeded) => "Succeeded",
    }
}

fn outcome_badge(outcome: Outcome) -> String {
    format!(
        "<span class=\"badge o-{0}\">{0}</span>",
        escape_html(outcome.as_str())
    )
}

fn status_badge(status: &str) -> String {
    let class = match status {
        "SUCCESS" => "s-success",
        "WARNING" => "s-warning",
        "FAIL" => "s-fail",
        "FATAL" => "s-fatal",
        _ => "s-other",
    };
    format!(
        "<span class=\"badge {class}\">{}</span>",
        escape_html(status)
    )
}

/// Builds `/?...` from the current parameters without `cursor` and `outcome`,
/// then the given outcome and cursor.
fn list_link(pairs: &[(String, String)], outcome: Option<Outcome>, cursor: Option<&str>) -> String {
    let mut parameters: Vec<(String, String)> = pairs
        .iter()
        .filter(|(name, _)| name != "cursor" && name != "outcome")
        .cloned()
        .collect();
    if let Some(outcome) = outcome {
        parameters.push(("outcome".into(), outcome.as_str().into()));
    }
    if let Some(cursor) = cursor {
        parameters.push(("cursor".into(), cursor.into()));
    }
    let query: Vec<String> = parameters
        .iter()
        .map(|(name, value)| format!("{}={}", encode_query_value(name), encode_query_value(value)))
        .collect();
    if query.is_empty() {
        "/".to_string()
    } else {
        format!("/?{}", query.join("&"))
    }
}

fn transaction_link(transaction_id: &str) -> String {
    format!("/transactions/{}", encode_query_value(transaction_id))
}

/// Builds a response with the headers every dashboard page carries.
fn html_page(status: StatusCode, html: String) -> Response<Body> {
    let mut response = Response::new(Body::new(Bytes::from(html)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY_VALUE),
    );
    // The pages show data behind a login: no shared caches, no framing.
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

/// A page for a `400` or `404` of the dashboard.
fn error_page(status: StatusCode, title: &str, message: &str) -> Response<Body> {
    let mut html = page_start(title);
    let _ = write!(
        html,
        "<main><h1>{}</h1><p class=\"error\">{}</p><p><a href=\"/\">All transactions</a></p></main>",
        escape_html(title),
        escape_html(message)
    );
    html.push_str(PAGE_END);
    html_page(status, html)
}

const STYLE: &str = r##"
:root { --fg: #1d2127; --muted: #5a6270; --line: #d6dae0; --head: #f3f5f8; --link: #1849a9; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: var(--fg); background: #fff; }
header.top { background: #1d2939; color: #fff; padding: .6rem 1rem; display: flex; flex-wrap: wrap; align-items: baseline; gap: .25rem 1rem; }
header.top a { color: #fff; text-decoration: none; font-weight: 600; font-size: 1.1rem; }
header.top span { color: #c8d0dc; font-size: .9rem; }
main { padding: .75rem 1rem 1.5rem; max-width: 84rem; }
h1 { font-size: 1.3rem; margin: .4rem 0 .6rem; overflow-wrap: anywhere; }
h2 { font-size: 1.1rem; margin: 1.2rem 0 .5rem; }
a { color: var(--link); }
time, code.sent { white-space: nowrap; }
.scroll { overflow-x: auto; }
code, .mono { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: .9em; }
.muted { color: var(--muted); }
.small { font-size: .85rem; }
.badge { display: inline-block; padding: .05rem .5rem; border-radius: .7rem; font-size: .8rem; font-weight: 600; letter-spacing: .02em; white-space: nowrap; border: 1px solid transparent; }
.o-fatal { background: #b42318; color: #fff; }
.o-stalled { background: #b54708; color: #fff; }
.o-running { background: #1849a9; color: #fff; }
.o-succeeded { background: #067647; color: #fff; }
.s-success { background: #e3f8ec; color: #05603a; border-color: #a6e3c0; }
.s-warning { background: #fef4d6; color: #8a3c0a; border-color: #f5d27a; }
.s-fail { background: #fde8e6; color: #9c1c12; border-color: #f4b2ab; }
.s-fatal { background: #b42318; color: #fff; }
.s-other { background: var(--head); color: var(--fg); border-color: var(--line); }
nav.filters { display: flex; flex-wrap: wrap; gap: .4rem; margin: .25rem 0 .6rem; }
nav.filters a { text-decoration: none; padding: .25rem .7rem; border: 1px solid var(--line); border-radius: 1rem; color: var(--fg); background: #fff; }
nav.filters a.current { background: #1d2939; color: #fff; border-color: #1d2939; }
nav.filters .count { font-weight: 600; margin-left: .25rem; }
nav.filters a.has-fatal .count { color: #b42318; }
nav.filters a.has-stalled .count { color: #b54708; }
nav.filters a.current .count { color: #fff; }
p.legend { margin: 0 0 .8rem; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: .45rem .6rem; border-bottom: 1px solid var(--line); }
th { background: var(--head); font-size: .85rem; font-weight: 600; white-space: nowrap; }
td.id { overflow-wrap: anywhere; min-width: 12rem; }
td.id a { font-weight: 600; }
td.num { text-align: right; }
tr.row-fatal td:first-child { box-shadow: inset 4px 0 #b42318; }
tr.row-stalled td:first-child { box-shadow: inset 4px 0 #b54708; }
.last-message { margin-top: .15rem; color: var(--muted); font-size: .85rem; overflow-wrap: anywhere; white-space: pre-wrap; }
.message { white-space: pre-wrap; overflow-wrap: anywhere; margin: 0; min-width: 14rem; }
.message.none { color: var(--muted); font-style: italic; }
.skew-large { color: #b54708; font-weight: 600; }
.callout { border-left: 4px solid var(--line); background: var(--head); padding: .5rem .75rem; margin: .5rem 0 .75rem; overflow-wrap: anywhere; }
.callout.c-fatal { border-color: #b42318; background: #fdf0ef; }
.callout.c-stalled { border-color: #b54708; background: #fdf5ec; }
.callout.c-running { border-color: #1849a9; background: #eff4fc; }
.callout.c-succeeded { border-color: #067647; background: #edf9f2; }
.callout .message { display: block; margin-top: .25rem; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; margin: .5rem 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
nav.pager { margin: 1rem 0; display: flex; gap: 1rem; }
p.error { border-left: 4px solid #b42318; background: #fdf0ef; padding: .5rem .75rem; overflow-wrap: anywhere; }
footer { color: var(--muted); font-size: .85rem; padding: 0 1rem 1.5rem; max-width: 84rem; }
@media (max-width: 700px) {
  main { padding: .5rem .6rem 1rem; }
  table.cards thead { display: none; }
  table.cards, table.cards tbody, table.cards tr, table.cards td { display: block; width: 100%; }
  table.cards tr { border: 1px solid var(--line); border-radius: .4rem; margin: 0 0 .6rem; padding: .35rem .6rem; }
  table.cards td { border: none; padding: .12rem 0; min-width: 0; text-align: left; }
  table.cards td[data-label]::before { content: attr(data-label) ": "; color: var(--muted); font-size: .8rem; }
  table.cards td.message-cell::before { display: block; }
  tr.row-fatal td:first-child, tr.row-stalled td:first-child { box-shadow: none; }
  tr.row-fatal { border-left: 4px solid #b42318 !important; }
  tr.row-stalled { border-left: 4px solid #b54708 !important; }
  table.cards td.time-cell::before { display: block; }
  table.cards td.inline { display: inline-block; width: auto; margin-right: .6rem; vertical-align: middle; }
  table.cards td.inline::before, table.cards td.no-label::before { content: none; }
  table.cards td.seq::before { content: "#"; font-size: inherit; }
  dl.facts { grid-template-columns: 1fr; gap: 0; }
  dl.facts dd { margin-bottom: .35rem; }
}
"##;

const PAGE_END: &str = "</body></html>\n";

fn page_start(title: &str) -> String {
    let mut html = String::with_capacity(16 * 1024);
    let _ = write!(
        html,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} · translog</title><style>{STYLE}</style></head><body>\
         <header class=\"top\"><a href=\"/\">translog</a><span>backup verification log</span></header>",
        escape_html(title)
    );
    html
}

fn render_index(view: &IndexView) -> String {
    let title = match view.filter {
        None => "Transactions".to_string(),
        Some(outcome) => format!("{} transactions", outcome_label(Some(outcome))),
    };
    let mut html = page_start(&title);
    html.push_str("<main>");
    let _ = write!(html, "<h1>{}</h1>", escape_html(&title));
    render_filters(&mut html, view);
    let _ = write!(
        html,
        "<p class=\"legend small muted\"><b>fatal</b>: a step failed for good (a FATAL entry). \
         <b>stalled</b>: no WORKER_END and no entry for {}. \
         <b>running</b>: still reporting. <b>succeeded</b>: WORKER_END with SUCCESS or WARNING.</p>",
        escape_html(&format_duration(view.stall_after))
    );

    if view.page.transactions.is_empty() {
        let empty = match view.filter {
            None if !view.paged => {
                "No transactions yet. Workers create one with their first entry."
            }
            _ => "No transactions match.",
        };
        let _ = write!(html, "<p>{empty}</p>");
    } else {
        render_list_table(&mut html, view);
    }

    html.push_str("<nav class=\"pager\">");
    if view.paged {
        let _ = write!(
            html,
            "<a href=\"{}\">First page</a>",
            escape_html(&list_link(&view.pairs, view.filter, None))
        );
    }
    if let Some(cursor) = &view.page.next_cursor {
        let _ = write!(
            html,
            "<a href=\"{}\">Next page</a>",
            escape_html(&list_link(&view.pairs, view.filter, Some(cursor)))
        );
    }
    html.push_str("</nav></main>");
    render_footer(&mut html, view.zone, view.now_ns);
    html.push_str(PAGE_END);
    html
}

fn render_filters(html: &mut String, view: &IndexView) {
    let total: i64 = view.counts.iter().sum();
    html.push_str("<nav class=\"filters\" aria-label=\"Filter by outcome\">");
    for filter in OUTCOME_FILTERS {
        let count = match filter {
            None => total,
            Some(outcome) => Outcome::ALL
                .iter()
                .position(|candidate| *candidate == outcome)
                .map_or(0, |index| view.counts[index]),
        };
        let mut classes = Vec::new();
        if filter == view.filter {
            classes.push("current".to_string());
        }
        if let Some(outcome) = filter {
            if count > 0 {
                classes.push(format!("has-{}", outcome.as_str()));
            }
        }
        let _ = write!(
            html,
            "<a href=\"{}\" class=\"{}\">{}<span class=\"count\">{count}</span></a>",
            escape_html(&list_link(&view.pairs, filter, None)),
            classes.join(" "),
            outcome_label(filter)
        );
    }
    html.push_str("</nav>");
}

fn render_list_table(html: &mut String, view: &IndexView) {
    html.push_str(
        "<table class=\"cards\"><thead><tr><th>Transaction</th><th>Outcome</th>\
         <th>Last stage</th><th>Last status</th><th>Entries</th><th>Last activity</th>\
         </tr></thead><tbody>",
    );
    for summary in &view.page.transactions {
        let id = escape_html(&summary.transaction_id);
        let _ = write!(
            html,
            "<tr class=\"row-{}\"><td class=\"id no-label\" data-label=\"Transaction\"><a href=\"{}\">{id}</a>",
            summary.outcome.as_str(),
            escape_html(&transaction_link(&summary.transaction_id)),
        );
        if let Some(message) = summary.last_message.as_deref().filter(|m| !m.is_empty()) {
            let _ = write!(
                html,
                "<div class=\"last-message\">{}</div>",
                escape_html(&truncate_chars(message, LIST_MESSAGE_CHARS))
            );
        }
        let _ = write!(
            html,
            "</td><td class=\"inline\" data-label=\"Outcome\">{}</td>\
             <td class=\"inline\" data-label=\"Last stage\"><code>{}</code></td>\
             <td class=\"inline\" data-label=\"Last status\">{}</td>\
             <td class=\"num\" data-label=\"Entries\">{}</td>",
            outcome_badge(summary.outcome),
            escape_html(&summary.last_stage),
            status_badge(&summary.last_status),
            summary.entry_count,
        );
        html.push_str("<td data-label=\"Last activity\">");
        match parse_instant(&summary.last_received_at) {
            Some(received) => {
                let _ = write!(
                    html,
                    "{}<div class=\"small muted\">{}</div>",
                    escape_html(&format_age(received, view.now_ns)),
                    render_instant(received, view.zone)
                );
            }
            None => html.push_str(&escape_html(&summary.last_received_at)),
        }
        html.push_str("</td></tr>");
    }
    html.push_str("</tbody></table>");
}

fn render_footer(html: &mut String, zone: Tz, now_ns: i64) {
    let _ = write!(
        html,
        "<footer>Times are shown in {}. Page generated {}.</footer>",
        escape_html(zone.name()),
        render_instant(DateTime::from_timestamp_nanos(now_ns), zone)
    );
}

fn render_transaction(view: &TransactionView) -> String {
    let log = &view.log;
    let mut html = page_start(&log.transaction_id);
    html.push_str("<main><p class=\"small\"><a href=\"/\">All transactions</a></p>");
    let _ = write!(
        html,
        "<h1><span class=\"mono\">{}</span> {}</h1>",
        escape_html(&log.transaction_id),
        outcome_badge(log.outcome)
    );
    render_verdict(&mut html, view);
    render_facts(&mut html, view);
    html.push_str("<h2>Timeline</h2>");
    render_timeline(&mut html, view);
    html.push_str(
        "<p class=\"small muted\">Clock skew is the server's receive time minus the Worker's \
         timestamp. A few seconds is delivery time; minutes or hours mean the Worker's clock \
         or time zone is wrong. Timestamps without an offset are read in the reporting user's \
         time zone, else the server's.</p></main>",
    );
    render_footer(&mut html, view.zone, view.now_ns);
    html.push_str(PAGE_END);
    html
}

/// The one-line answer to "what happened": the fatal entry, how long a
/// stalled transaction has been silent, or how it ended.
fn render_verdict(html: &mut String, view: &TransactionView) {
    let entries = &view.log.entries;
    let Some(last) = entries.last() else {
        return;
    };
    let outcome = view.log.outcome;
    let _ = write!(html, "<div class=\"callout c-{}\">", outcome.as_str());
    match outcome {
        Outcome::Fatal => {
            let fatal = entries
                .iter()
                .find(|entry| entry.status == "FATAL")
                .unwrap_or(last);
            let _ = write!(
                html,
                "<b>Failed for good</b> at <code>{}</code>.",
                escape_html(&fatal.stage)
            );
            render_callout_message(html, fatal);
        }
        Outcome::Stalled | Outcome::Running => {
            let silent = DateTime::from_timestamp_nanos(last.received_at_ns);
            let label = if outcome == Outcome::Stalled {
                "<b>Stuck</b>: no WORKER_END, and nothing received for"
            } else {
                "<b>Running</b>: last entry received"
            };
            let age = format_age(silent, view.now_ns);
            let age = if outcome == Outcome::Stalled {
                age.trim_end_matches(" ago").to_string()
            } else {
                age
            };
            let _ = write!(html, "{label} {}", escape_html(&age));
            if outcome == Outcome::Stalled {
                let _ = write!(
                    html,
                    " (stalled after {})",
                    escape_html(&format_duration(view.stall_after))
                );
            }
            let _ = write!(
                html,
                ". Last entry: <code>{}</code> {}.",
                escape_html(&last.stage),
                status_badge(&last.status)
            );
            render_callout_message(html, last);
        }
        Outcome::Succeeded => {
            let end = entries
                .iter()
                .rev()
                .find(|entry| entry.stage == "WORKER_END")
                .unwrap_or(last);
            let _ = write!(
                html,
                "<b>Succeeded</b>: <code>WORKER_END</code> {}.",
                status_badge(&end.status)
            );
            render_callout_message(html, end);
        }
    }
    html.push_str("</div>");
}

fn render_callout_message(html: &mut String, entry: &LogEntry) {
    if let Some(message) = entry.message.as_deref().filter(|m| !m.is_empty()) {
        let _ = write!(
            html,
            "<span class=\"message\">{}</span>",
            escape_html(message)
        );
    }
}

fn render_facts(html: &mut String, view: &TransactionView) {
    let entries = &view.log.entries;
    let mut reporters: Vec<&str> = entries
        .iter()
        .map(|entry| entry.reported_by.as_str())
        .collect();
    reporters.sort_unstable();
    reporters.dedup();
    let first = entries.first().map(worker_instant);
    let last = entries.last().map(worker_instant);
    let last_received = entries.iter().map(|entry| entry.received_at_ns).max();
    let _ = write!(
        html,
        "<dl class=\"facts\"><dt>Entries</dt><dd>{}</dd>",
        entries.len()
    );
    if let (Some(first), Some(last)) = (first, last) {
        let _ = write!(
            html,
            "<dt>Worker time span</dt><dd>{} to {} ({})</dd>",
            render_instant(first, view.zone),
            render_instant(last, view.zone),
            escape_html(&format_span(
                (instant_ns(last) - instant_ns(first)).unsigned_abs()
            ))
        );
    }
    if let Some(received_ns) = last_received {
        let received = DateTime::from_timestamp_nanos(received_ns);
        let _ = write!(
            html,
            "<dt>Last received</dt><dd>{} ({})</dd>",
            render_instant(received, view.zone),
            escape_html(&format_age(received, view.now_ns))
        );
    }
    let _ = write!(
        html,
        "<dt>Reported by</dt><dd>{}</dd></dl>",
        escape_html(&reporters.join(", "))
    );
}

fn worker_instant(entry: &LogEntry) -> DateTime<Utc> {
    let (seconds, nanos) = entry.timestamp_ns_pair;
    DateTime::from_timestamp(seconds, nanos).unwrap_or_default()
}

fn render_timeline(html: &mut String, view: &TransactionView) {
    html.push_str(
        "<div class=\"scroll\"><table class=\"cards timeline\"><thead><tr><th>#</th>\
         <th>Stage</th><th>Status</th><th>Worker timestamp (as sent)</th>\
         <th>Received</th><th>Clock skew</th><th>Message</th></tr></thead><tbody>",
    );
    for (number, entry) in view.log.entries.iter().enumerate() {
        let worker = worker_instant(entry);
        let received = DateTime::from_timestamp_nanos(entry.received_at_ns);
        let skew = i128::from(entry.received_at_ns) - instant_ns(worker);
        let skew_class = if skew.unsigned_abs() >= LARGE_SKEW_NS {
            " class=\"skew-large\""
        } else {
            ""
        };
        let row_class = match entry.status.as_str() {
            "FATAL" => " class=\"row-fatal\"",
            _ => "",
        };
        let _ = write!(
            html,
            "<tr{row_class}><td class=\"num muted seq inline\" data-label=\"#\">{}</td>\
             <td class=\"inline\" data-label=\"Stage\"><code>{}</code></td>\
             <td class=\"inline\" data-label=\"Status\">{}</td>\
             <td class=\"time-cell\" data-label=\"Worker timestamp (as sent)\"><code class=\"sent\">{}</code>\
             <div class=\"small muted\">{}</div></td>\
             <td class=\"time-cell\" data-label=\"Received\">{}<div class=\"small muted\">by {}</div></td>\
             <td data-label=\"Clock skew\"><span{skew_class}>{}</span></td>",
            number + 1,
            escape_html(&entry.stage),
            status_badge(&entry.status),
            escape_html(&entry.timestamp_sent),
            render_instant(worker, view.zone),
            render_instant(received, view.zone),
            escape_html(&entry.reported_by),
            escape_html(&format_skew(skew)),
        );
        match entry.message.as_deref().filter(|m| !m.is_empty()) {
            Some(message) => {
                let _ = write!(
                    html,
                    "<td class=\"message-cell\" data-label=\"Message\"><div class=\"message\">{}</div></td>",
                    escape_html(message)
                );
            }
            None => html.push_str(
                "<td class=\"message-cell\" data-label=\"Message\"><div class=\"message none\">no message</div></td>",
            ),
        }
        html.push_str("</tr>");
    }
    html.push_str("</tbody></table></div>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_html_script_tag() {
        assert_eq!(
            escape_html("<script>alert(1)</script>"),
            "&lt;script&gt;alert(1)&lt;/script&gt;"
        );
    }

    #[test]
    fn escape_html_double_quote() {
        assert_eq!(escape_html("a\"b"), "a&quot;b");
    }

    #[test]
    fn escape_html_single_quote() {
        assert_eq!(escape_html("it's"), "it&#39;s");
    }

    #[test]
    fn escape_html_ampersand() {
        assert_eq!(escape_html("a & b &amp;"), "a &amp; b &amp;amp;");
    }

    #[test]
    fn escape_html_attribute_breakout() {
        assert_eq!(
            escape_html("\" onmouseover=\"x"),
            "&quot; onmouseover=&quot;x"
        );
    }

    #[test]
    fn escape_html_keeps_newline_and_tab() {
        assert_eq!(escape_html("a\n\tb\r\n"), "a\n\tb\r\n");
    }

    #[test]
    fn escape_html_shows_control_characters() {
        assert_eq!(
            escape_html("\u{1b}[31m\u{0}\u{7f}"),
            "\u{241b}[31m\u{2400}\u{2421}"
        );
    }

    #[test]
    fn escape_html_keeps_unicode() {
        assert_eq!(escape_html("Prüfung ✓ 日本"), "Prüfung ✓ 日本");
    }

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
    fn encode_query_value_reserved() {
        assert_eq!(encode_query_value("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
    }

    #[test]
    fn list_link_replaces_cursor_and_outcome() {
        let pairs = vec![
            ("limit".to_string(), "10".to_string()),
            ("cursor".to_string(), "old".to_string()),
            ("outcome".to_string(), "running".to_string()),
        ];
        assert_eq!(
            list_link(&pairs, Some(Outcome::Fatal), Some("new")),
            "/?limit=10&outcome=fatal&cursor=new"
        );
    }

    #[test]
    fn list_link_without_parameters() {
        assert_eq!(list_link(&[], None, None), "/");
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
