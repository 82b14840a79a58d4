//! The HTML shared by the dashboard pages: escaping, the response headers, the
//! page skeleton with its CSS and footer, `<time>` elements and badges.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use hyper::body::Bytes;
use hyper::header::{
    HeaderValue, CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use hyper::{Response, StatusCode};

use crate::entry::is_unprintable;
use crate::http::response::Body;
use crate::storage::logs::{self, Outcome};

/// The policy of every dashboard page: inline styles and nothing else.
pub const CONTENT_SECURITY_POLICY_VALUE: &str = "default-src 'none'; style-src 'unsafe-inline'";

/// Escapes text for HTML element content and quoted attribute values.
/// Every character that [`is_unprintable`] names becomes U+FFFD, as on the
/// command line. Tab, line feed and carriage return stay, because the
/// message cells show line breaks (`white-space: pre-wrap`).
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
            c if is_unprintable(c) => escaped.push(char::REPLACEMENT_CHARACTER),
            _ => escaped.push(c),
        }
    }
    escaped
}

/// Renders an error message, which is written for the API and the
/// terminal, as HTML: each span between backticks, a command or a value to
/// send, becomes `<code>`. A backtick inside a double-quoted value of the
/// request is text, and so is a backtick without a partner.
pub(super) fn render_message(message: &str) -> String {
    let delimiters = code_delimiters(message);
    let mut html = String::with_capacity(message.len());
    let mut start = 0;
    for pair in delimiters.chunks_exact(2) {
        let (open, close) = (pair[0], pair[1]);
        html.push_str(&escape_html(&message[start..open]));
        html.push_str("<code>");
        html.push_str(&escape_html(&message[open + 1..close]));
        html.push_str("</code>");
        start = close + 1;
    }
    html.push_str(&escape_html(&message[start..]));
    html
}

/// Returns the byte positions of the backticks that open or close a code
/// span: those outside double quotes. The messages quote a request's values
/// as Rust's `{:?}` does, so a backslash escapes the next character there.
/// A double quote inside a code span, as in `printf '%s' "$message"`, opens
/// no quoted value.
fn code_delimiters(message: &str) -> Vec<usize> {
    let mut delimiters = Vec::new();
    let mut in_code = false;
    let mut in_quotes = false;
    let mut escaped = false;
    for (at, character) in message.char_indices() {
        if in_quotes {
            match character {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_quotes = false,
                _ => {}
            }
        } else if character == '`' {
            delimiters.push(at);
            in_code = !in_code;
        } else if character == '"' && !in_code {
            in_quotes = true;
        }
    }
    delimiters
}

/// Builds a response with the headers every dashboard page carries.
pub(super) fn html_page(status: StatusCode, html: String) -> Response<Body> {
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

/// Renders the dashboard's page for an error.
pub(super) fn error_page(status: StatusCode, title: &str, message: &str) -> Response<Body> {
    let mut html = page_start(title);
    let _ = write!(
        html,
        "<main><h1>{}</h1><p class=\"error\">{}</p><p><a href=\"/\">All transactions</a></p></main>",
        escape_html(title),
        render_message(message)
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
nav.time-filter { display: flex; flex-wrap: wrap; align-items: baseline; gap: .2rem 1rem; margin: 0 0 .6rem; font-size: .9rem; }
nav.time-filter .window { padding: .1rem .5rem; border: 1px solid #f5d27a; border-radius: .3rem; background: #fef4d6; }
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
.fatal-entry { margin-top: .15rem; color: #9c1c12; font-size: .85rem; overflow-wrap: anywhere; white-space: pre-wrap; }
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

pub(super) const PAGE_END: &str = "</body></html>\n";

pub(super) fn page_start(title: &str) -> String {
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

pub(super) fn render_footer(html: &mut String, zone: Tz, now_ns: i64) {
    let _ = write!(
        html,
        "<footer>Times are shown in {}. Page generated {}.</footer>",
        escape_html(zone.name()),
        render_instant(DateTime::from_timestamp_nanos(now_ns), zone)
    );
}

/// Formats an instant in the display zone with milliseconds, inside a
/// `<time>` element that carries the full UTC instant.
pub(super) fn render_instant(instant: DateTime<Utc>, zone: Tz) -> String {
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

pub(super) fn outcome_badge(outcome: Outcome) -> String {
    format!(
        "<span class=\"badge o-{0}\">{0}</span>",
        escape_html(outcome.as_str())
    )
}

pub(super) fn status_badge(status: &str) -> String {
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
    fn escape_html_direction_override() {
        assert_eq!(escape_html("left\u{202e}right"), "left\u{fffd}right");
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
    fn escape_html_replaces_control_characters() {
        assert_eq!(
            escape_html("\u{1b}[31m\u{0}\u{7}\u{7f}\u{85}"),
            "\u{fffd}[31m\u{fffd}\u{fffd}\u{fffd}\u{fffd}"
        );
    }

    #[test]
    fn escape_html_replaces_line_separator() {
        assert_eq!(escape_html("a\u{2028}b"), "a\u{fffd}b");
    }

    #[test]
    fn message_code_span_becomes_code() {
        assert_eq!(
            render_message("run `date -Iseconds` now"),
            "run <code>date -Iseconds</code> now"
        );
    }

    #[test]
    fn message_code_span_is_escaped() {
        assert_eq!(
            render_message("send `a<b & \"c\"`"),
            "send <code>a&lt;b &amp; &quot;c&quot;</code>"
        );
    }

    #[test]
    fn message_unpaired_backtick_stays_text() {
        assert_eq!(
            render_message("`a` and ` alone"),
            "<code>a</code> and ` alone"
        );
    }

    #[test]
    fn message_backtick_in_quoted_value_stays_text() {
        assert_eq!(
            render_message("Invalid since \"x`y\\\"`\": use `date -I`."),
            "Invalid since &quot;x`y\\&quot;`&quot;: use <code>date -I</code>."
        );
    }

    #[test]
    fn message_quote_in_code_span_opens_no_value() {
        assert_eq!(
            render_message("`printf '%s' \"$m\"` then `iconv`"),
            "<code>printf &#39;%s&#39; &quot;$m&quot;</code> then <code>iconv</code>"
        );
    }

    #[test]
    fn escape_html_keeps_unicode() {
        assert_eq!(escape_html("Prüfung ✓ 日本"), "Prüfung ✓ 日本");
    }
}
