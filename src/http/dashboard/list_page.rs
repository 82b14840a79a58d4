//! The transaction list (`GET /`): outcome filters with counts, the table of
//! transactions and the paging links.

use std::fmt::Write as _;

use chrono::DateTime;

use super::format::{format_age, format_duration, parse_instant, truncate_chars};
use super::html::{
    escape_html, outcome_badge, page_start, render_footer, render_instant, status_badge, PAGE_END,
};
use super::links::{is_dot_segment, list_link, time_filter_link, transaction_link};
use super::IndexView;
use crate::storage::logs::{Outcome, TransactionSummary};

/// How much of a message the transaction list shows, in characters.
const LIST_MESSAGE_CHARS: usize = 160;

/// The time windows that the list links to, with their length in seconds.
/// A link's `since` is that long before the page was generated.
const RECENT_WINDOWS: [(&str, i64); 2] = [
    ("Last 24 hours", 24 * 60 * 60),
    ("Last 7 days", 7 * 24 * 60 * 60),
];

/// The filters of the list, problems first; `None` is every transaction.
const OUTCOME_FILTERS: [Option<Outcome>; 5] = [
    None,
    Some(Outcome::Fatal),
    Some(Outcome::Stalled),
    Some(Outcome::Running),
    Some(Outcome::Succeeded),
];

pub(super) fn render_index(view: &IndexView) -> String {
    let title = match view.filter {
        None => "Transactions".to_string(),
        Some(outcome) => format!("{} transactions", outcome_label(Some(outcome))),
    };
    let mut html = page_start(&title);
    html.push_str("<main>");
    let _ = write!(html, "<h1>{}</h1>", escape_html(&title));
    render_filters(&mut html, view);
    render_time_filter(&mut html, view);
    let _ = write!(
        html,
        "<p class=\"legend small muted\"><b>fatal</b>: a step failed for good (a FATAL entry). \
         <b>stalled</b>: no WORKER_END and no entry for {}. \
         <b>running</b>: still reporting. <b>succeeded</b>: WORKER_END with SUCCESS or WARNING.</p>",
        escape_html(&format_duration(view.stall_after))
    );

    if view.page.transactions.is_empty() {
        let time_filtered = view.since.is_some() || view.until.is_some();
        let empty = match view.filter {
            None if !view.paged && !time_filtered => {
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
    html.push_str("<nav class=\"filters\" aria-label=\"Filter by outcome\">");
    for filter in OUTCOME_FILTERS {
        let count = match filter {
            None => view.counts.total(),
            Some(outcome) => view.counts.get(outcome),
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

/// Renders the time window of the counts and the list, in the reader's
/// zone, with a link that clears it and links to the recent windows. The
/// links keep the outcome and the page size.
fn render_time_filter(html: &mut String, view: &IndexView) {
    let show = |instant| render_instant(instant, view.zone);
    let window = match (view.since, view.until) {
        (None, None) => None,
        (Some(since), None) => Some(format!("at or after {}", show(since))),
        (None, Some(until)) => Some(format!("at or before {}", show(until))),
        (Some(since), Some(until)) => Some(format!("from {} to {}", show(since), show(until))),
    };
    html.push_str("<nav class=\"time-filter\" aria-label=\"Filter by time\">");
    match &window {
        Some(window) => {
            let _ = write!(
                html,
                "<span class=\"window\"><b>Time filter:</b> last entry's timestamp \
                 {window}</span><a href=\"{}\">Clear time filter</a>",
                escape_html(&time_filter_link(&view.pairs, None))
            );
        }
        None => html.push_str("<span><b>Time filter:</b> none</span>"),
    }

    let now_s = view.now_ns.div_euclid(1_000_000_000);
    for (label, seconds) in RECENT_WINDOWS {
        let Some(since) = DateTime::from_timestamp(now_s - seconds, 0) else {
            continue;
        };
        let since = since.format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let _ = write!(
            html,
            "<a href=\"{}\">{label}</a>",
            escape_html(&time_filter_link(&view.pairs, Some(&since)))
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
        let _ = write!(
            html,
            "<tr class=\"row-{}\"><td class=\"id no-label\" data-label=\"Transaction\">",
            summary.outcome.as_str(),
        );
        render_id_cell(html, &summary.transaction_id);
        render_row_message(html, summary);
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

/// Writes the transaction id as a link to its page. The ids `.` and `..` get
/// no link, because a browser cannot open their page, but a tooltip that
/// names where to read them.
fn render_id_cell(html: &mut String, transaction_id: &str) {
    let id = escape_html(transaction_id);
    if is_dot_segment(transaction_id) {
        let _ = write!(
            html,
            "<span title=\"Browsers cannot open the page of this transaction, because they read \
             its id as a path segment; read its log with translog log show or the API.\">{id}</span>"
        );
        return;
    }
    let _ = write!(
        html,
        "<a href=\"{}\">{id}</a>",
        escape_html(&transaction_link(transaction_id))
    );
}

/// Renders the message under a transaction's id. A fatal transaction shows
/// the stage and message of the entry that made it fatal, because its last
/// entry may be a later `WORKER_END SUCCESS`. Others show their last message.
fn render_row_message(html: &mut String, summary: &TransactionSummary) {
    let message = |text: Option<&str>| {
        text.filter(|text| !text.is_empty())
            .map(|text| escape_html(&truncate_chars(text, LIST_MESSAGE_CHARS)))
    };
    if let Some(stage) = &summary.fatal_stage {
        let _ = write!(
            html,
            "<div class=\"fatal-entry\">Failed for good at <code>{}</code>",
            escape_html(stage)
        );
        if let Some(text) = message(summary.fatal_message.as_deref()) {
            let _ = write!(html, ": {text}");
        }
        html.push_str("</div>");
    } else if let Some(text) = message(summary.last_message.as_deref()) {
        let _ = write!(html, "<div class=\"last-message\">{text}</div>");
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
