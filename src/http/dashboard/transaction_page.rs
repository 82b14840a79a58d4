//! The page of one transaction (`GET /transactions/{id}`): the verdict and
//! the summary facts of the whole transaction, and one page of the timeline
//! of entries with their clock skew.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use super::format::{
    format_age, format_duration, format_skew, format_span, instant_ns, parse_instant,
};
use super::html::{
    escape_html, outcome_badge, page_start, render_footer, render_instant, status_badge, PAGE_END,
};
use super::links::transaction_page_link;
use super::TransactionView;
use crate::storage::logs::{LogEntry, Outcome};

/// A clock skew at least this large is highlighted: more than delivery delay,
/// so a wrong clock or a wrong time zone on the Worker.
const LARGE_SKEW_NS: u128 = 5 * 60 * 1_000_000_000;

pub(super) fn render_transaction(view: &TransactionView) -> String {
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
    render_pager(&mut html, view);
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

/// Renders a one-line summary of what happened: the fatal entry, how long a
/// stalled transaction has been silent, or how it ended. It comes from the
/// whole transaction, not from the entries of this page.
fn render_verdict(html: &mut String, view: &TransactionView) {
    let summary = &view.summary;
    let outcome = summary.outcome;
    let _ = write!(html, "<div class=\"callout c-{}\">", outcome.as_str());
    match outcome {
        Outcome::Fatal => {
            let stage = summary
                .fatal_stage
                .as_deref()
                .unwrap_or(&summary.last_stage);
            let _ = write!(
                html,
                "<b>Failed for good</b> at <code>{}</code>.",
                escape_html(stage)
            );
            render_callout_message(html, summary.fatal_message.as_deref());
        }
        Outcome::Stalled | Outcome::Running => {
            // The latest arrival, as the stall rule counts it, which is not
            // the receive time of the last entry by timestamp when a Worker
            // sends an earlier timestamp later.
            let silent = DateTime::from_timestamp_nanos(summary.last_received_at_ns);
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
                escape_html(&summary.last_stage),
                status_badge(&summary.last_status)
            );
            render_callout_message(html, summary.last_message.as_deref());
        }
        Outcome::Succeeded => {
            let (status, message) = match &view.end_entry {
                Some(end) => (end.status.as_str(), end.message.as_deref()),
                None => (
                    summary.last_status.as_str(),
                    summary.last_message.as_deref(),
                ),
            };
            let _ = write!(
                html,
                "<b>Succeeded</b>: <code>WORKER_END</code> {}.",
                status_badge(status)
            );
            render_callout_message(html, message);
        }
    }
    html.push_str("</div>");
}

fn render_callout_message(html: &mut String, message: Option<&str>) {
    if let Some(message) = message.filter(|m| !m.is_empty()) {
        let _ = write!(
            html,
            "<span class=\"message\">{}</span>",
            escape_html(message)
        );
    }
}

/// True when this page shows every entry of the transaction.
fn shows_whole_log(view: &TransactionView) -> bool {
    !view.paged && view.log.next_cursor.is_none()
}

fn render_facts(html: &mut String, view: &TransactionView) {
    let summary = &view.summary;
    let _ = write!(
        html,
        "<dl class=\"facts\"><dt>Entries</dt><dd>{}",
        summary.entry_count
    );
    let on_page = view.log.entries.len() as u64;
    if on_page == 0 {
        html.push_str(" (none on this page: the cursor is past the last entry)");
    } else if !shows_whole_log(view) {
        let _ = write!(
            html,
            " (this page: {} to {})",
            view.entries_before + 1,
            view.entries_before + on_page
        );
    }
    html.push_str("</dd>");
    let first = parse_instant(&summary.first_timestamp);
    let last = parse_instant(&summary.last_timestamp);
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
    let received = DateTime::from_timestamp_nanos(summary.last_received_at_ns);
    let _ = write!(
        html,
        "<dt>Last received</dt><dd>{} ({})</dd>",
        render_instant(received, view.zone),
        escape_html(&format_age(received, view.now_ns))
    );
    // The users of this page only, because finding them for every entry of
    // a large transaction would read all of its entries.
    let mut reporters: Vec<&str> = view
        .log
        .entries
        .iter()
        .map(|entry| entry.reported_by.as_str())
        .collect();
    reporters.sort_unstable();
    reporters.dedup();
    let label = if shows_whole_log(view) {
        "Reported by"
    } else {
        "Reported by (this page)"
    };
    let _ = write!(
        html,
        "<dt>{label}</dt><dd>{}</dd></dl>",
        escape_html(&reporters.join(", "))
    );
}

/// Renders the links to the first page and to the page before, past the
/// first page, and to the next page and the newest entries, unless this
/// page is the last.
fn render_pager(html: &mut String, view: &TransactionView) {
    let transaction_id = &view.log.transaction_id;
    html.push_str("<nav class=\"pager\">");
    if view.paged {
        let _ = write!(
            html,
            "<a href=\"{}\">First page</a>",
            escape_html(&transaction_page_link(transaction_id, view.limit, None))
        );
    }
    // A cursor before the first entry, which only a hand-made link has,
    // leaves nothing before this page.
    if view.paged && view.entries_before > 0 {
        let _ = write!(
            html,
            "<a href=\"{}\">Previous page</a>",
            escape_html(&transaction_page_link(
                transaction_id,
                view.limit,
                view.previous_cursor.as_deref()
            ))
        );
    }
    if let Some(cursor) = &view.log.next_cursor {
        let _ = write!(
            html,
            "<a href=\"{}\">Next page</a>",
            escape_html(&transaction_page_link(
                transaction_id,
                view.limit,
                Some(cursor)
            ))
        );
    }
    if let Some(cursor) = &view.newest_cursor {
        let _ = write!(
            html,
            "<a href=\"{}\">Newest entries</a>",
            escape_html(&transaction_page_link(
                transaction_id,
                view.limit,
                Some(cursor)
            ))
        );
    }
    html.push_str("</nav>");
}

fn worker_instant(entry: &LogEntry) -> DateTime<Utc> {
    let (seconds, nanos) = entry.timestamp_parts;
    DateTime::from_timestamp(seconds, nanos).unwrap_or_default()
}

fn render_timeline(html: &mut String, view: &TransactionView) {
    html.push_str(
        "<div class=\"scroll\"><table class=\"cards timeline\"><thead><tr><th>#</th>\
         <th>Stage</th><th>Status</th><th>Worker timestamp (as sent)</th>\
         <th>Received</th><th>Clock skew</th><th>Message</th></tr></thead><tbody>",
    );
    for (number, entry) in (view.entries_before + 1..).zip(&view.log.entries) {
        let worker = worker_instant(entry);
        let received = DateTime::from_timestamp_nanos(entry.received_at_ns);
        let skew = entry.clock_skew_ns();
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
            number,
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
