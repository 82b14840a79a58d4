//! The page of one transaction (`GET /transactions/{id}`): the verdict, the
//! summary facts and the timeline of entries with their clock skew.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use super::format::{format_age, format_duration, format_skew, format_span, instant_ns};
use super::html::{
    escape_html, outcome_badge, page_start, render_footer, render_instant, status_badge, PAGE_END,
};
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
            // The latest arrival, as the stall rule counts it, which is not
            // the receive time of the last entry by timestamp when a Worker
            // sends an earlier timestamp later.
            let latest_ns = entries
                .iter()
                .map(|entry| entry.received_at_ns)
                .max()
                .unwrap_or(last.received_at_ns);
            let silent = DateTime::from_timestamp_nanos(latest_ns);
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
    let (seconds, nanos) = entry.timestamp_parts;
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
