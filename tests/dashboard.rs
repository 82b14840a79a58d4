//! The operator tools over real HTTP against the real binary: the dashboard
//! pages and `GET /metrics`. The alerts have tests of their own in alerts.rs.

mod common;

use common::{timestamp_from_now, wait_until, Server, PASSWORD, READER, WORKER};

const SCRIPT_MESSAGE: &str = "<script>alert(1)</script> & \"quoted\" 'text'";
const SCRIPT_ESCAPED: &str =
    "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quoted&quot; &#39;text&#39;";

/// Posts a succeeded, a fatal and a running transaction.
fn post_sample(server: &Server) {
    for (stage, status, message) in [
        ("WORKER_INIT", "SUCCESS", "starting"),
        ("WORKER_LOAD", "FAIL", "server gone away, retrying"),
        ("WORKER_LOAD", "SUCCESS", "loaded"),
        ("WORKER_END", "SUCCESS", "verified"),
    ] {
        let code = server
            .post_worker_entry("tx-ok", &timestamp_from_now(0), stage, status, message)
            .status;
        assert_eq!(code, 200, "posting tx-ok {stage} {status}");
    }
    let code = server
        .post_worker_entry(
            "tx-fatal",
            &timestamp_from_now(0),
            "WORKER_DEENCRYPT",
            "FATAL",
            SCRIPT_MESSAGE,
        )
        .status;
    assert_eq!(code, 200, "posting tx-fatal");
    let code = server
        .post_worker_entry(
            "tx-running",
            &timestamp_from_now(0),
            "WORKER_INIT",
            "SUCCESS",
            "starting",
        )
        .status;
    assert_eq!(code, 200, "posting tx-running");
}

/// Extracts the `href` of the link whose text is `label`, unescaped.
fn link_href(html: &str, label: &str) -> Option<String> {
    let end = html.find(&format!("\">{label}</a>"))?;
    let start = html[..end].rfind("href=\"")? + "href=\"".len();
    Some(html[start..end].replace("&amp;", "&"))
}

#[test]
fn index_shows_outcome_words() {
    let server = Server::start_with_users(&[]);
    post_sample(&server);
    let reply = server.get_as_reader("/");
    assert_eq!(reply.status, 200);
    for word in [">fatal<", ">succeeded<", ">running<"] {
        assert!(reply.body.contains(word), "missing {word}");
    }
}

#[test]
fn index_outcome_badge_has_colour_class() {
    let server = Server::start_with_users(&[]);
    post_sample(&server);
    let reply = server.get_as_reader("/");
    assert!(reply
        .body
        .contains("<span class=\"badge o-fatal\">fatal</span>"));
}

#[test]
fn index_shows_last_stage_status_and_count() {
    let server = Server::start_with_users(&[]);
    post_sample(&server);
    let body = server.get_as_reader("/").body;
    let row_start = body
        .find("href=\"/transactions/tx-ok\"")
        .expect("tx-ok row");
    let row = &body[row_start..body[row_start..].find("</tr>").expect("row end") + row_start];
    assert!(row.contains("<code>WORKER_END</code>"), "last stage");
    assert!(row.contains(">SUCCESS</span>"), "last status");
    assert!(row.contains("data-label=\"Entries\">4</td>"), "entry count");
    assert!(row.contains(" ago"), "last activity");
}

#[test]
fn index_headers() {
    let server = Server::start_with_users(&[]);
    let reply = server.get_as_reader("/");
    assert_eq!(
        reply.header("content-security-policy"),
        Some("default-src 'none'; style-src 'unsafe-inline'")
    );
    assert_eq!(
        reply.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(reply.header("cache-control"), Some("no-store"));
}

#[test]
fn index_has_viewport_and_no_script() {
    let server = Server::start_with_users(&[]);
    post_sample(&server);
    let body = server.get_as_reader("/").body;
    assert!(body.contains("<meta name=\"viewport\""));
    assert!(!body.to_ascii_lowercase().contains("<script"));
}

#[test]
fn index_escapes_message() {
    let server = Server::start_with_users(&[]);
    post_sample(&server);
    let body = server.get_as_reader("/").body;
    assert!(body.contains(SCRIPT_ESCAPED));
}

/// Returns the table row of the transaction `id` in a list page.
fn list_row<'a>(body: &'a str, id: &str) -> &'a str {
    let link = format!("href=\"/transactions/{id}\"");
    let start = body.find(&link).unwrap_or(body.len());
    let end = body[start..]
        .find("</tr>")
        .map_or(body.len(), |end| start + end);
    &body[start..end]
}

/// Posts the transaction `tx-corrupt` (`WORKER_INIT SUCCESS`,
/// `WORKER_DECOMPRESS FATAL` with `message`, then `WORKER_END SUCCESS`) and
/// returns its row in the list page.
fn corrupt_archive_row(message: &str) -> String {
    let server = Server::start_with_users(&[]);
    for (stage, status, text) in [
        ("WORKER_INIT", "SUCCESS", "found dump"),
        ("WORKER_DECOMPRESS", "FATAL", message),
        ("WORKER_END", "SUCCESS", "done"),
    ] {
        let reply =
            server.post_worker_entry("tx-corrupt", &timestamp_from_now(0), stage, status, text);
        assert_eq!(reply.status, 200, "posting tx-corrupt {stage} {status}");
    }
    let body = server.get_as_reader("/").body;
    list_row(&body, "tx-corrupt").to_string()
}

#[test]
fn index_fatal_row_names_fatal_stage() {
    let row = corrupt_archive_row("archive is corrupt");
    assert!(
        row.contains("Failed for good at <code>WORKER_DECOMPRESS</code>"),
        "{row}"
    );
}

#[test]
fn index_fatal_row_shows_fatal_message() {
    let row = corrupt_archive_row("archive is corrupt");
    assert!(row.contains(": archive is corrupt</div>"), "{row}");
}

#[test]
fn index_fatal_row_hides_later_message() {
    let row = corrupt_archive_row("archive is corrupt");
    assert!(!row.contains(">done<"), "{row}");
}

#[test]
fn index_fatal_message_is_escaped() {
    let row = corrupt_archive_row(SCRIPT_MESSAGE);
    assert!(row.contains(&format!(": {SCRIPT_ESCAPED}</div>")), "{row}");
}

#[test]
fn index_fatal_message_is_cut() {
    let row = corrupt_archive_row(&format!("{}{}", "a".repeat(160), "b".repeat(864)));
    assert!(
        row.contains(&format!(": {}…</div>", "a".repeat(160))),
        "{row}"
    );
}

#[test]
fn index_other_rows_show_last_message() {
    let server = Server::start_with_users(&[]);
    post_sample(&server);
    let body = server.get_as_reader("/").body;
    let row = list_row(&body, "tx-ok");
    assert!(
        row.contains("<div class=\"last-message\">verified</div>"),
        "{row}"
    );
    assert!(!row.contains("fatal-entry"), "{row}");
}

#[test]
fn index_empty_database() {
    let server = Server::start_with_users(&[]);
    let reply = server.get_as_reader("/");
    assert_eq!(reply.status, 200);
    assert!(reply.body.contains("No transactions yet"));
}

#[test]
fn index_filter_fatal() {
    let server = Server::start_with_users(&[]);
    post_sample(&server);
    let body = server.get_as_reader("/?outcome=fatal").body;
    assert!(body.contains("/transactions/tx-fatal"));
    assert!(!body.contains("/transactions/tx-ok"));
    assert!(!body.contains("/transactions/tx-running"));
}

#[test]
fn index_filter_links_show_counts() {
    let server = Server::start_with_users(&[]);
    post_sample(&server);
    let body = server.get_as_reader("/").body;
    assert!(body.contains(
        "<a href=\"/?outcome=fatal\" class=\"has-fatal\">Fatal<span class=\"count\">1</span></a>"
    ));
    assert!(body.contains(">All<span class=\"count\">3</span>"));
}

/// Posts transactions whose last entries fall before, inside and after the
/// window from 2026-11-05 to 2026-11-10 (UTC). `tx-spans-since` starts
/// before the window and ends inside it.
fn post_dated_sample(server: &Server) {
    for (id, timestamp, stage, status) in [
        (
            "tx-early-fatal",
            "2026-11-01T10:00:00Z",
            "WORKER_LOAD",
            "FATAL",
        ),
        (
            "tx-early-ok",
            "2026-11-02T10:00:00Z",
            "WORKER_END",
            "SUCCESS",
        ),
        (
            "tx-spans-since",
            "2026-11-04T10:00:00Z",
            "WORKER_INIT",
            "SUCCESS",
        ),
        (
            "tx-spans-since",
            "2026-11-06T10:00:00Z",
            "WORKER_END",
            "SUCCESS",
        ),
        (
            "tx-inside-fatal",
            "2026-11-07T10:00:00Z",
            "WORKER_LOAD",
            "FATAL",
        ),
        (
            "tx-late-running",
            "2026-11-20T10:00:00Z",
            "WORKER_INIT",
            "SUCCESS",
        ),
    ] {
        let code = server
            .post_worker_entry(id, timestamp, stage, status, "")
            .status;
        assert_eq!(code, 200, "posting {id} {stage} {status}");
    }
}

/// Extracts the outcome filter links of a list page as (href, count), in
/// page order, with the href unescaped.
fn filter_links(html: &str) -> Vec<(String, u64)> {
    let start = html.find("<nav class=\"filters\"").expect("filter links");
    let end = start + html[start..].find("</nav>").expect("end of filter links");
    html[start..end]
        .split("<a href=\"")
        .skip(1)
        .map(|link| {
            let href = link[..link.find('"').expect("end of href")].replace("&amp;", "&");
            let count = link
                .split("<span class=\"count\">")
                .nth(1)
                .and_then(|rest| rest.split('<').next())
                .and_then(|count| count.parse().ok())
                .expect("count of a filter link");
            (href, count)
        })
        .collect()
}

/// Returns the count that the filter link `label` shows on the page at `path`.
fn filter_count(server: &Server, path: &str, label: &str) -> Option<u64> {
    let body = server.get_as_reader(path).body;
    let marker = format!(">{label}<span class=\"count\">");
    let rest = &body[body.find(&marker)? + marker.len()..];
    rest.split('<').next()?.parse().ok()
}

#[test]
fn index_counts_honour_since() {
    let server = Server::start_with_users(&[]);
    post_dated_sample(&server);
    let path = "/?since=2026-11-05";
    assert_eq!(filter_count(&server, path, "All"), Some(3));
    assert_eq!(filter_count(&server, path, "Fatal"), Some(1));
    assert_eq!(filter_count(&server, path, "Succeeded"), Some(1));
    assert_eq!(filter_count(&server, path, "Running"), Some(1));
}

#[test]
fn index_counts_honour_until() {
    let server = Server::start_with_users(&[]);
    post_dated_sample(&server);
    let path = "/?until=2026-11-10";
    assert_eq!(filter_count(&server, path, "All"), Some(4));
    assert_eq!(filter_count(&server, path, "Fatal"), Some(2));
    assert_eq!(filter_count(&server, path, "Succeeded"), Some(2));
    assert_eq!(filter_count(&server, path, "Running"), Some(0));
}

#[test]
fn index_counts_ignore_outcome_and_limit() {
    let server = Server::start_with_users(&[]);
    post_dated_sample(&server);
    let path = "/?since=2026-11-05&outcome=fatal&limit=1";
    assert_eq!(filter_count(&server, path, "All"), Some(3));
    assert_eq!(filter_count(&server, path, "Succeeded"), Some(1));
}

#[test]
fn index_counts_match_list_api() {
    let server = Server::start_with_users(&[]);
    post_dated_sample(&server);
    let page = server
        .get_as_reader("/?since=2026-11-05&until=2026-11-10")
        .body;
    let links = filter_links(&page);
    assert_eq!(links.len(), 5, "{links:?}");
    for (href, count) in links {
        let query = href.strip_prefix("/?").expect("a link with a query");
        let reply = server.get_as_reader(&format!("/worker/log?{query}&limit=1000"));
        assert_eq!(reply.status, 200, "{href}: {}", reply.body);
        let listed = reply.json()["transactions"]
            .as_array()
            .map_or(0, |transactions| transactions.len());
        assert_eq!(count, listed as u64, "count of {href}");
    }
}

/// A window of three hours, from 01:00 to 04:00 UTC on 2026-12-05.
const WINDOW_QUERY: &str = "since=2026-12-05T01:00:00Z&until=2026-12-05T04:00:00Z";

#[test]
fn index_shows_active_time_filter() {
    let server = Server::start_with_users(&["--timezone", "UTC"]);
    let body = server.get_as_reader(&format!("/?{WINDOW_QUERY}")).body;
    let expected = "<b>Time filter:</b> last entry's timestamp from \
                    <time datetime=\"2026-12-05T01:00:00.000000000Z\">\
                    2026-12-05 01:00:00.000 +00:00</time> to \
                    <time datetime=\"2026-12-05T04:00:00.000000000Z\">\
                    2026-12-05 04:00:00.000 +00:00</time>";
    assert!(body.contains(expected), "{body}");
}

#[test]
fn index_time_filter_since_alone() {
    let server = Server::start_with_users(&["--timezone", "UTC"]);
    let body = server.get_as_reader("/?since=2026-12-05").body;
    assert!(
        body.contains("last entry's timestamp at or after <time"),
        "{body}"
    );
}

#[test]
fn index_time_filter_until_alone() {
    let server = Server::start_with_users(&["--timezone", "UTC"]);
    let body = server.get_as_reader("/?until=2026-12-05").body;
    assert!(
        body.contains("last entry's timestamp at or before <time"),
        "{body}"
    );
}

#[test]
fn index_time_filter_uses_reader_zone() {
    let server = Server::start_with_users(&["--timezone", "UTC"]);
    let body = page_for_tokyo_reader(&server, &format!("/?{WINDOW_QUERY}"));
    assert!(
        body.contains("2026-12-05 10:00:00.000 +09:00</time> to"),
        "{body}"
    );
}

#[test]
fn index_without_time_filter_says_none() {
    let server = Server::start_with_users(&[]);
    let body = server.get_as_reader("/").body;
    assert!(body.contains("<b>Time filter:</b> none"), "{body}");
}

#[test]
fn index_without_time_filter_has_no_clear_link() {
    let server = Server::start_with_users(&[]);
    let body = server.get_as_reader("/").body;
    assert_eq!(link_href(&body, "Clear time filter"), None);
}

#[test]
fn index_clear_time_filter_keeps_outcome_and_limit() {
    let server = Server::start_with_users(&[]);
    let path = format!("/?outcome=fatal&{WINDOW_QUERY}&limit=10");
    let body = server.get_as_reader(&path).body;
    assert_eq!(
        link_href(&body, "Clear time filter").as_deref(),
        Some("/?outcome=fatal&limit=10")
    );
}

#[test]
fn index_clear_time_filter_drops_cursor() {
    let server = Server::start_with_users(&[]);
    post_dated_sample(&server);
    let first = server.get_as_reader("/?since=2026-11-01&limit=1").body;
    let next = link_href(&first, "Next page").expect("a next page");
    let second = server.get_as_reader(&next).body;
    assert_eq!(
        link_href(&second, "Clear time filter").as_deref(),
        Some("/?limit=1")
    );
}

#[test]
fn index_empty_time_window_says_no_match() {
    let server = Server::start_with_users(&[]);
    post_sample(&server);
    let body = server.get_as_reader("/?until=2000-01-01").body;
    assert!(body.contains("No transactions match."), "{body}");
}

#[test]
fn index_reversed_time_window_is_400() {
    let server = Server::start_with_users(&[]);
    let reply = server.get_as_reader("/?since=2026-12-05&until=2026-12-04");
    assert_eq!(reply.status, 400, "{}", reply.body);
}

#[test]
fn index_outcome_links_keep_time_filter() {
    let server = Server::start_with_users(&[]);
    let body = server.get_as_reader(&format!("/?{WINDOW_QUERY}")).body;
    let fatal = filter_links(&body).into_iter().nth(1).map(|(href, _)| href);
    assert_eq!(
        fatal.as_deref(),
        Some(
            "/?since=2026-12-05T01%3A00%3A00Z&until=2026-12-05T04%3A00%3A00Z\
             &outcome=fatal"
        )
    );
}

/// Returns the `since` of the link `label` of the list page at `path`, as
/// an instant, and the link's other parameters.
fn recent_window_link(server: &Server, path: &str, label: &str) -> (i64, Vec<String>) {
    let body = server.get_as_reader(path).body;
    let href = link_href(&body, label).unwrap_or_else(|| panic!("no link {label}: {body}"));
    let query = href.strip_prefix("/?").expect("a link with a query");
    let mut since = None;
    let mut others = Vec::new();
    for pair in query.split('&') {
        match pair.strip_prefix("since=") {
            Some(value) => since = Some(value.replace("%3A", ":")),
            None => others.push(pair.to_string()),
        }
    }
    let since = since.unwrap_or_else(|| panic!("no since in {href}"));
    let instant = chrono::DateTime::parse_from_rfc3339(&since)
        .unwrap_or_else(|error| panic!("since {since:?} of {href}: {error}"));
    (instant.timestamp(), others)
}

#[test]
fn index_last_24_hours_link_sets_since() {
    let server = Server::start_with_users(&[]);
    let (since, _) = recent_window_link(&server, "/", "Last 24 hours");
    let age = chrono::Utc::now().timestamp() - since;
    assert!((24 * 3600..24 * 3600 + 60).contains(&age), "{age} s");
}

#[test]
fn index_last_7_days_link_sets_since() {
    let server = Server::start_with_users(&[]);
    let (since, _) = recent_window_link(&server, "/", "Last 7 days");
    let age = chrono::Utc::now().timestamp() - since;
    assert!(
        (7 * 24 * 3600..7 * 24 * 3600 + 60).contains(&age),
        "{age} s"
    );
}

#[test]
fn index_recent_window_link_keeps_outcome_and_limit() {
    let server = Server::start_with_users(&[]);
    let path = format!("/?outcome=fatal&{WINDOW_QUERY}&limit=10");
    let (_, others) = recent_window_link(&server, &path, "Last 24 hours");
    assert_eq!(others, ["outcome=fatal", "limit=10"]);
}

#[test]
fn index_last_24_hours_counts_recent_fatal() {
    let server = Server::start_with_users(&[]);
    for (id, timestamp) in [
        ("tx-fatal-today", timestamp_from_now(-3600)),
        ("tx-fatal-last-week", timestamp_from_now(-3 * 24 * 3600)),
    ] {
        let reply = server.post_worker_entry(id, &timestamp, "WORKER_LOAD", "FATAL", "");
        assert_eq!(reply.status, 200, "posting {id}: {}", reply.body);
    }
    let body = server.get_as_reader("/?outcome=fatal").body;
    let last_day = link_href(&body, "Last 24 hours").expect("a link to the last 24 hours");
    assert_eq!(filter_count(&server, &last_day, "Fatal"), Some(1));
}

#[test]
fn index_pages_with_cursor() {
    let server = Server::start_with_users(&[]);
    post_sample(&server);
    let first = server.get_as_reader("/?limit=2").body;
    assert!(first.contains("/transactions/tx-running"), "newest first");
    assert!(first.contains("/transactions/tx-fatal"));
    assert!(!first.contains("/transactions/tx-ok"));
    let next = link_href(&first, "Next page").expect("next page link");
    assert!(next.contains("limit=2"), "keeps limit: {next}");
    let second = server.get_as_reader(&next);
    assert_eq!(second.status, 200);
    assert!(second.body.contains("/transactions/tx-ok"));
    assert!(!second.body.contains("/transactions/tx-fatal"));
    assert!(link_href(&second.body, "Next page").is_none());
    assert!(link_href(&second.body, "First page").is_some());
}

#[test]
fn index_bad_query_values() {
    let server = Server::start_with_users(&[]);
    for query in [
        "outcome=failed",
        "cursor=not-a-cursor",
        "limit=0",
        "limit=abc",
        "since=yesterday",
        "colour=red",
        "outcome=fatal&outcome=stalled",
    ] {
        let reply = server.get_as_reader(&format!("/?{query}"));
        assert_eq!(reply.status, 400, "{query}");
        assert_eq!(
            reply.header("content-type"),
            Some("text/html; charset=utf-8"),
            "{query}"
        );
    }
}

/// Returns the paragraph of the error message of a dashboard page.
fn error_paragraph(body: &str) -> &str {
    let start = body
        .find("<p class=\"error\">")
        .expect("an error paragraph");
    let end = start
        + body[start..]
            .find("</p>")
            .expect("the end of the paragraph");
    &body[start..end]
}

#[test]
fn bad_query_page_shows_code() {
    let server = Server::start_with_users(&[]);
    let body = server.get_as_reader("/?since=yesterday").body;
    let message = error_paragraph(&body);
    assert!(message.contains("<code>date -Iseconds</code>"), "{message}");
}

#[test]
fn bad_query_page_has_no_backticks() {
    let server = Server::start_with_users(&[]);
    let body = server.get_as_reader("/?since=yesterday").body;
    let message = error_paragraph(&body);
    assert!(!message.contains('`'), "{message}");
}

#[test]
fn bad_query_page_quotes_backticks_of_value() {
    let server = Server::start_with_users(&[]);
    let body = server.get_as_reader("/?since=%60%3Cb%3E%60").body;
    let message = error_paragraph(&body);
    assert!(
        message.starts_with("<p class=\"error\">Invalid since &quot;`&lt;b&gt;`&quot;:"),
        "{message}"
    );
}

#[test]
fn api_message_keeps_backticks() {
    let server = Server::start_with_users(&[]);
    let reply = server.get_as_reader("/worker/log?since=yesterday");
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert!(
        reply.message().contains("`date -Iseconds`"),
        "{}",
        reply.message()
    );
}

/// The query that a form of the list's filters sends with every field
/// left blank.
const BLANK_FORM_QUERY: &str = "/?outcome=&since=&until=&limit=&cursor=";

#[test]
fn index_blank_form_fields_are_no_filter() {
    let server = Server::start_with_users(&[]);
    post_sample(&server);
    let reply = server.get_as_reader(BLANK_FORM_QUERY);
    assert_eq!(reply.status, 200, "{}", reply.body);
    for id in ["tx-ok", "tx-fatal", "tx-running"] {
        assert!(
            reply.body.contains(&format!("/transactions/{id}\"")),
            "{id} missing"
        );
    }
}

#[test]
fn index_blank_since_keeps_outcome() {
    let server = Server::start_with_users(&[]);
    post_sample(&server);
    let body = server.get_as_reader("/?since=&outcome=fatal").body;
    assert!(body.contains("/transactions/tx-fatal\""), "{body}");
    assert!(!body.contains("/transactions/tx-ok\""), "{body}");
}

#[test]
fn index_links_leave_out_blank_fields() {
    let server = Server::start_with_users(&[]);
    post_sample(&server);
    let body = server.get_as_reader("/?since=&limit=1").body;
    let next = link_href(&body, "Next page").expect("a next page link");
    assert!(next.starts_with("/?limit=1&cursor="), "{next}");
}

#[test]
fn index_blank_unknown_parameter_is_400() {
    let server = Server::start_with_users(&[]);
    let reply = server.get_as_reader("/?colour=");
    assert_eq!(reply.status, 400, "{}", reply.body);
}

#[test]
fn transaction_page_blank_fields_are_no_paging() {
    let server = Server::start_with_users(&[]);
    post_sample(&server);
    let reply = server.get_as_reader("/transactions/tx-ok?limit=&cursor=");
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[test]
fn index_bad_query_message_is_escaped() {
    let server = Server::start_with_users(&[]);
    let reply = server.get_as_reader("/?outcome=%3Cscript%3E");
    assert_eq!(reply.status, 400);
    assert!(reply.body.contains("&quot;&lt;script&gt;&quot;"));
    assert!(!reply.body.contains("<script>"));
}

#[test]
fn index_without_credentials_is_401() {
    let server = Server::start_with_users(&[]);
    let reply = server.get("/", None);
    assert_eq!(reply.status, 401);
    assert!(reply.header("www-authenticate").is_some());
}

#[test]
fn login_page_asks_to_reload() {
    let server = Server::start_with_users(&[]);
    let reply = server.get("/", None);
    assert!(reply.body.contains("Reload the page"), "{}", reply.body);
}

#[test]
fn wrong_password_page_omits_curl() {
    let server = Server::start_with_users(&[]);
    let reply = server.get("/", Some((WORKER.0, "wrong")));
    assert!(!reply.body.contains("curl"), "{}", reply.body);
}

#[test]
fn empty_login_page_names_empty_fields() {
    let server = Server::start_with_users(&[]);
    // A browser's login prompt submitted with both fields blank.
    let reply = server.get("/", Some(("", "")));
    assert!(
        reply
            .body
            .contains("The login failed, because the user name and the password are empty."),
        "{}",
        reply.body
    );
}

#[test]
fn empty_login_page_omits_curl() {
    let server = Server::start_with_users(&[]);
    let reply = server.get("/", Some(("", "")));
    assert!(!reply.body.contains("curl"), "{}", reply.body);
}

#[test]
fn index_as_worker_is_403() {
    let server = Server::start_with_users(&[]);
    assert_eq!(server.get("/", Some(WORKER)).status, 403);
}

// Error pages.

/// The `Accept` header that Firefox sends for a page.
const BROWSER_ACCEPT: (&str, &str) = (
    "Accept",
    "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
);

const HTML: Option<&str> = Some("text/html; charset=utf-8");

#[test]
fn index_as_worker_is_html_page() {
    let server = Server::start_with_users(&[]);
    let reply = server.get("/", Some(WORKER));
    assert_eq!(reply.header("content-type"), HTML);
    assert!(
        reply.body.contains("User worker has the role worker"),
        "{}",
        reply.body
    );
}

#[test]
fn index_without_credentials_is_html_page() {
    let server = Server::start_with_users(&[]);
    let reply = server.get("/", None);
    assert_eq!(reply.header("content-type"), HTML);
    assert_eq!(
        reply.header("www-authenticate"),
        Some("Basic realm=\"translog\", charset=\"UTF-8\"")
    );
}

#[test]
fn index_post_is_html_405() {
    let server = Server::start_with_users(&[]);
    let reply = server.request("POST", "/", Some(READER), &[], Some(b""));
    assert_eq!(reply.status, 405);
    assert_eq!(reply.header("content-type"), HTML);
    assert_eq!(reply.header("allow"), Some("GET, HEAD"));
}

#[test]
fn transactions_without_id_is_html_404() {
    let server = Server::start_with_users(&[]);
    for path in ["/transactions/", "/transactions/a/b"] {
        let reply = server.get_as_reader(path);
        assert_eq!(reply.status, 404, "{path}");
        assert_eq!(reply.header("content-type"), HTML, "{path}");
        assert!(!reply.body.contains("write API"), "{path}: {}", reply.body);
    }
}

#[test]
fn error_page_has_security_headers() {
    let server = Server::start_with_users(&[]);
    let reply = server.get("/", Some(WORKER));
    assert_eq!(
        reply.header("content-security-policy"),
        Some("default-src 'none'; style-src 'unsafe-inline'")
    );
    assert_eq!(reply.header("cache-control"), Some("no-store"));
}

#[test]
fn unknown_path_from_browser_is_html_404() {
    let server = Server::start_with_users(&[]);
    for path in ["/robots.txt", "/favicon.ico"] {
        let reply = server.request("GET", path, Some(READER), &[BROWSER_ACCEPT], None);
        assert_eq!(reply.status, 404, "{path}");
        assert_eq!(reply.header("content-type"), HTML, "{path}");
        assert!(reply.body.contains("Page not found"), "{path}");
    }
}

#[test]
fn unknown_path_404_comes_before_login() {
    let server = Server::start_with_users(&[]);
    let reply = server.request("GET", "/robots.txt", None, &[BROWSER_ACCEPT], None);
    assert_eq!(reply.status, 404);
    assert_eq!(reply.header("content-type"), HTML);
}

#[test]
fn unknown_path_from_curl_is_json_404() {
    let server = Server::start_with_users(&[]);
    let output = server.curl("/robots.txt", &[]);
    let body: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("curl gets a JSON body");
    assert_eq!(body["error"], "not_found");
}

#[test]
fn unknown_path_404_varies_by_accept() {
    let server = Server::start_with_users(&[]);
    let browser = server.request("GET", "/robots.txt", None, &[BROWSER_ACCEPT], None);
    assert_eq!(browser.header("vary"), Some("Accept"));
    let client = server.get("/robots.txt", None);
    assert_eq!(client.header("vary"), Some("Accept"));
}

#[test]
fn api_error_from_browser_stays_json() {
    let server = Server::start_with_users(&[]);
    let reply = server.request(
        "GET",
        "/worker/log/no-such-id",
        Some(READER),
        &[BROWSER_ACCEPT],
        None,
    );
    assert_eq!(reply.status, 404);
    assert_eq!(reply.header("content-type"), Some("application/json"));
}

#[test]
fn transaction_page_escapes_message() {
    let server = Server::start_with_users(&[]);
    post_sample(&server);
    let reply = server.get_as_reader("/transactions/tx-fatal");
    assert_eq!(reply.status, 200);
    assert!(reply.body.contains(SCRIPT_ESCAPED));
    assert!(!reply.body.to_ascii_lowercase().contains("<script"));
}

/// A message with a BEL, a C1 control (NEL), a line separator and a mark
/// that changes the direction of text, and how `translog log show` prints it.
const UNPRINTABLE_MESSAGE: &str = "ring\u{7}bell\u{85}next\u{2028}line\u{202e}end";
const UNPRINTABLE_SHOWN: &str = "ring\u{fffd}bell\u{fffd}next\u{fffd}line\u{fffd}end";

/// Posts `tx-bell` with [`UNPRINTABLE_MESSAGE`].
fn post_unprintable_message(server: &Server) {
    let reply = server.post_worker_entry(
        "tx-bell",
        &timestamp_from_now(0),
        "WORKER_LOAD",
        "FAIL",
        UNPRINTABLE_MESSAGE,
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[test]
fn transaction_page_replaces_bell_character() {
    let server = Server::start_with_users(&[]);
    post_unprintable_message(&server);
    let body = server.get_as_reader("/transactions/tx-bell").body;
    assert!(!body.contains('\u{7}'), "{body}");
    assert!(
        body.contains("<div class=\"message\">ring\u{fffd}bell"),
        "{body}"
    );
}

#[test]
fn transaction_page_message_matches_log_show() {
    let server = Server::start_with_users(&[]);
    post_unprintable_message(&server);
    let output = server.cli(&["log", "show", "tx-bell"], None);
    let table = String::from_utf8_lossy(&output.stdout);
    assert!(table.contains(UNPRINTABLE_SHOWN), "{table}");
    let body = server.get_as_reader("/transactions/tx-bell").body;
    assert_eq!(page_messages(&body), [UNPRINTABLE_SHOWN]);
}

#[test]
fn index_replaces_bell_character() {
    let server = Server::start_with_users(&[]);
    post_unprintable_message(&server);
    let body = server.get_as_reader("/").body;
    let row = list_row(&body, "tx-bell");
    assert!(
        row.contains(&format!(
            "<div class=\"last-message\">{UNPRINTABLE_SHOWN}</div>"
        )),
        "{row}"
    );
}

#[test]
fn transaction_page_keeps_line_breaks() {
    let server = Server::start_with_users(&[]);
    let reply = server.post_worker_entry(
        "tx-lines",
        &timestamp_from_now(0),
        "WORKER_LOAD",
        "FAIL",
        "first line\n\tsecond line",
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    let body = server.get_as_reader("/transactions/tx-lines").body;
    assert_eq!(page_messages(&body), ["first line\n\tsecond line"]);
}

#[test]
fn transaction_page_headers() {
    let server = Server::start_with_users(&[]);
    post_sample(&server);
    let reply = server.get_as_reader("/transactions/tx-ok");
    assert_eq!(
        reply.header("content-security-policy"),
        Some("default-src 'none'; style-src 'unsafe-inline'")
    );
}

#[test]
fn transaction_page_lists_entries_in_order() {
    let server = Server::start_with_users(&[]);
    post_sample(&server);
    let page = server.get_as_reader("/transactions/tx-ok").body;
    let body = &page[page.find("<h2>Timeline</h2>").expect("timeline")..];
    let positions: Vec<usize> = ["server gone away, retrying", ">loaded<", ">verified<"]
        .iter()
        .map(|text| body.find(text).unwrap_or_else(|| panic!("missing {text}")))
        .collect();
    assert!(
        positions.windows(2).all(|pair| pair[0] < pair[1]),
        "{positions:?}"
    );
}

#[test]
fn transaction_page_shows_verdict() {
    let server = Server::start_with_users(&[]);
    post_sample(&server);
    let body = server.get_as_reader("/transactions/tx-fatal").body;
    assert!(body.contains("<b>Failed for good</b> at <code>WORKER_DEENCRYPT</code>"));
}

#[test]
fn transaction_page_shows_timestamp_as_sent() {
    let server = Server::start_with_users(&[]);
    let sent = chrono::Utc::now()
        .with_timezone(&chrono::FixedOffset::east_opt(3600).expect("offset"))
        .to_rfc2822();
    assert_eq!(
        server
            .post_worker_entry("tx-sent", &sent, "WORKER_INIT", "SUCCESS", "")
            .status,
        200
    );
    let body = server.get_as_reader("/transactions/tx-sent").body;
    assert!(
        body.contains(&format!("<code class=\"sent\">{sent}</code>")),
        "{sent}"
    );
    assert!(body.contains("no message"));
}

#[test]
fn transaction_page_shows_positive_skew() {
    let server = Server::start_with_users(&[]);
    // An hour and two minutes behind: the skew is that plus the delivery time.
    let timestamp = timestamp_from_now(-(3600 + 120));
    assert_eq!(
        server
            .post_worker_entry("tx-behind", &timestamp, "WORKER_INIT", "SUCCESS", "x")
            .status,
        200
    );
    let body = server.get_as_reader("/transactions/tx-behind").body;
    assert!(body.contains("<span class=\"skew-large\">+1 h 2 min</span>"));
}

#[test]
fn transaction_page_shows_negative_skew() {
    let server = Server::start_with_users(&[]);
    // Ahead by 1 h 2 min 10 s: minus the delivery time, rounded, -1 h 2 min.
    let timestamp = timestamp_from_now(3600 + 130);
    assert_eq!(
        server
            .post_worker_entry("tx-ahead", &timestamp, "WORKER_INIT", "SUCCESS", "x")
            .status,
        200
    );
    let body = server.get_as_reader("/transactions/tx-ahead").body;
    assert!(body.contains("-1 h 2 min"));
}

#[test]
fn transaction_page_shows_receive_time() {
    let server = Server::start_with_users(&[]);
    post_sample(&server);
    let log = server.read_log("tx-fatal");
    let received = log["entries"][0]["received_at"]
        .as_str()
        .expect("received_at");
    let body = server.get_as_reader("/transactions/tx-fatal").body;
    assert!(body.contains(&format!("<time datetime=\"{received}\">")));
}

/// Returns the text of every message cell of a transaction page, in order.
fn page_messages(html: &str) -> Vec<String> {
    html.split("<div class=\"message\">")
        .skip(1)
        .filter_map(|rest| rest.split("</div>").next())
        .map(str::to_string)
        .collect()
}

/// Returns the row numbers of the timeline of a transaction page, in order.
fn row_numbers(html: &str) -> Vec<u64> {
    html.split("data-label=\"#\">")
        .skip(1)
        .filter_map(|rest| rest.split("</td>").next()?.parse().ok())
        .collect()
}

#[test]
fn transaction_pages_show_every_entry_once() {
    let server = Server::start_with_users(&[]);
    server.post_many("tx-big", 2500);
    let mut messages = Vec::new();
    let mut path = Some("/transactions/tx-big".to_string());
    let mut pages = 0;
    while let Some(current) = path {
        let reply = server.get_as_reader(&current);
        assert_eq!(reply.status, 200, "{current}");
        messages.extend(page_messages(&reply.body));
        path = link_href(&reply.body, "Next page");
        pages += 1;
        assert!(pages <= 10, "paging does not end");
    }
    let distinct: std::collections::HashSet<&String> = messages.iter().collect();
    assert_eq!(pages, 3);
    assert_eq!(messages.len(), 2500);
    assert_eq!(distinct.len(), 2500);
}

#[test]
fn transaction_page_numbers_rows_across_pages() {
    let server = Server::start_with_users(&[]);
    server.post_many("tx-30", 30);
    let first = server.get_as_reader("/transactions/tx-30?limit=10").body;
    let next = link_href(&first, "Next page").expect("a next page");
    let second = server.get_as_reader(&next).body;
    assert_eq!(row_numbers(&second), (11..=20).collect::<Vec<u64>>());
}

#[test]
fn transaction_page_counts_whole_transaction() {
    let server = Server::start_with_users(&[]);
    server.post_many("tx-30", 30);
    let body = server.get_as_reader("/transactions/tx-30?limit=10").body;
    assert!(
        body.contains("<dt>Entries</dt><dd>30 (this page: 1 to 10)</dd>"),
        "{body}"
    );
}

#[test]
fn transaction_next_link_keeps_limit() {
    let server = Server::start_with_users(&[]);
    server.post_many("tx-30", 30);
    let body = server.get_as_reader("/transactions/tx-30?limit=10").body;
    let next = link_href(&body, "Next page").expect("a next page");
    assert!(
        next.starts_with("/transactions/tx-30?limit=10&cursor="),
        "{next}"
    );
}

#[test]
fn transaction_last_page_has_no_next_link() {
    let server = Server::start_with_users(&[]);
    server.post_many("tx-30", 30);
    let first = server.get_as_reader("/transactions/tx-30?limit=20").body;
    let next = link_href(&first, "Next page").expect("a next page");
    let last = server.get_as_reader(&next).body;
    assert_eq!(link_href(&last, "Next page"), None);
}

#[test]
fn transaction_later_page_links_first_page() {
    let server = Server::start_with_users(&[]);
    server.post_many("tx-30", 30);
    let first = server.get_as_reader("/transactions/tx-30?limit=20").body;
    let next = link_href(&first, "Next page").expect("a next page");
    let last = server.get_as_reader(&next).body;
    assert_eq!(
        link_href(&last, "First page").as_deref(),
        Some("/transactions/tx-30?limit=20")
    );
}

/// Posts 30 entries to `tx-30` and returns the href of the "Newest entries"
/// link of its first page of 7 entries.
fn newest_entries_href(server: &Server) -> String {
    server.post_many("tx-30", 30);
    let first = server.get_as_reader("/transactions/tx-30?limit=7").body;
    link_href(&first, "Newest entries").expect("a link to the newest entries")
}

/// Returns the messages of the last `count` entries of `id`, read with
/// `GET /worker/log/{id}`.
fn last_messages(server: &Server, id: &str, count: usize) -> Vec<String> {
    let entries = server.entries(id);
    entries[entries.len().saturating_sub(count)..]
        .iter()
        .filter_map(|entry| entry["message"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn transaction_newest_link_shows_last_entries() {
    let server = Server::start_with_users(&[]);
    let newest = newest_entries_href(&server);
    let page = server.get_as_reader(&newest).body;
    assert_eq!(page_messages(&page), last_messages(&server, "tx-30", 7));
}

#[test]
fn transaction_newest_page_numbers_last_rows() {
    let server = Server::start_with_users(&[]);
    let newest = newest_entries_href(&server);
    let page = server.get_as_reader(&newest).body;
    assert_eq!(row_numbers(&page), (24..=30).collect::<Vec<u64>>());
}

#[test]
fn transaction_newest_page_has_no_next_link() {
    let server = Server::start_with_users(&[]);
    let newest = newest_entries_href(&server);
    let page = server.get_as_reader(&newest).body;
    assert_eq!(link_href(&page, "Next page"), None);
}

#[test]
fn transaction_newest_page_has_no_newest_link() {
    let server = Server::start_with_users(&[]);
    let newest = newest_entries_href(&server);
    let page = server.get_as_reader(&newest).body;
    assert_eq!(link_href(&page, "Newest entries"), None);
}

#[test]
fn transaction_newest_link_keeps_limit() {
    let server = Server::start_with_users(&[]);
    let newest = newest_entries_href(&server);
    assert!(
        newest.starts_with("/transactions/tx-30?limit=7&cursor="),
        "{newest}"
    );
}

#[test]
fn transaction_newest_cursor_pages_read_api() {
    let server = Server::start_with_users(&[]);
    let newest = newest_entries_href(&server);
    let query = newest.split_once('?').map_or("", |(_, query)| query);
    let reply = server.get_as_reader(&format!("/worker/log/tx-30?{query}"));
    assert_eq!(reply.status, 200, "{}", reply.body);
    let log = reply.json();
    let messages: Vec<String> = log["entries"]
        .as_array()
        .map(|entries| {
            entries
                .iter()
                .filter_map(|entry| entry["message"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(messages, last_messages(&server, "tx-30", 7));
    assert!(log["next_cursor"].is_null(), "{log}");
}

#[test]
fn transaction_newest_page_links_previous_page() {
    let server = Server::start_with_users(&[]);
    let newest = newest_entries_href(&server);
    let page = server.get_as_reader(&newest).body;
    let previous = link_href(&page, "Previous page").expect("a previous page");
    let previous = server.get_as_reader(&previous).body;
    assert_eq!(row_numbers(&previous), (17..=23).collect::<Vec<u64>>());
}

#[test]
fn transaction_previous_page_shows_older_entries() {
    let server = Server::start_with_users(&[]);
    let newest = newest_entries_href(&server);
    let page = server.get_as_reader(&newest).body;
    let previous = link_href(&page, "Previous page").expect("a previous page");
    let previous = server.get_as_reader(&previous).body;
    let entries = server.entries("tx-30");
    let expected: Vec<String> = entries[16..23]
        .iter()
        .filter_map(|entry| entry["message"].as_str().map(str::to_string))
        .collect();
    assert_eq!(page_messages(&previous), expected);
}

#[test]
fn transaction_previous_pages_reach_first_page() {
    let server = Server::start_with_users(&[]);
    let mut path = Some(newest_entries_href(&server));
    let mut first_rows = Vec::new();
    let mut seen = std::collections::HashSet::new();
    while let Some(current) = path {
        let reply = server.get_as_reader(&current);
        assert_eq!(reply.status, 200, "{current}");
        let rows = row_numbers(&reply.body);
        first_rows.push(rows.first().copied().unwrap_or_default());
        seen.extend(rows);
        path = link_href(&reply.body, "Previous page");
        assert!(first_rows.len() <= 10, "paging back does not end");
    }
    assert_eq!(first_rows, [24, 17, 10, 3, 1]);
    assert_eq!(seen.len(), 30);
}

#[test]
fn transaction_second_page_links_first_as_previous() {
    let server = Server::start_with_users(&[]);
    server.post_many("tx-30", 30);
    let first = server.get_as_reader("/transactions/tx-30?limit=7").body;
    let next = link_href(&first, "Next page").expect("a next page");
    let second = server.get_as_reader(&next).body;
    assert_eq!(
        link_href(&second, "Previous page").as_deref(),
        Some("/transactions/tx-30?limit=7")
    );
}

#[test]
fn transaction_previous_link_keeps_limit() {
    let server = Server::start_with_users(&[]);
    let newest = newest_entries_href(&server);
    let page = server.get_as_reader(&newest).body;
    let previous = link_href(&page, "Previous page").expect("a previous page");
    assert!(
        previous.starts_with("/transactions/tx-30?limit=7&cursor="),
        "{previous}"
    );
}

#[test]
fn transaction_first_page_has_no_previous_link() {
    let server = Server::start_with_users(&[]);
    server.post_many("tx-30", 30);
    let first = server.get_as_reader("/transactions/tx-30?limit=7").body;
    assert_eq!(link_href(&first, "Previous page"), None);
}

#[test]
fn small_transaction_page_has_no_pager_links() {
    let server = Server::start_with_users(&[]);
    post_sample(&server);
    let body = server.get_as_reader("/transactions/tx-ok").body;
    assert_eq!(link_href(&body, "Next page"), None);
    assert_eq!(link_href(&body, "Newest entries"), None);
    assert!(body.contains("<dt>Entries</dt><dd>4</dd>"), "{body}");
}

#[test]
fn transaction_page_verdict_comes_from_whole_transaction() {
    let server = Server::start_with_users(&[]);
    post_sample(&server);
    // The first page holds only WORKER_INIT; the verdict names the end.
    let body = server.get_as_reader("/transactions/tx-ok?limit=1").body;
    assert!(
        body.contains("<b>Succeeded</b>: <code>WORKER_END</code>"),
        "{body}"
    );
}

#[test]
fn transaction_page_bad_limit_is_400_page() {
    let server = Server::start_with_users(&[]);
    post_sample(&server);
    let reply = server.get_as_reader("/transactions/tx-ok?limit=0");
    assert_eq!(reply.status, 400);
    assert!(
        reply
            .body
            .contains("Invalid limit &quot;0&quot;; use a whole number from 1 to 1000."),
        "{}",
        reply.body
    );
}

#[test]
fn transaction_page_bad_cursor_is_400_page() {
    let server = Server::start_with_users(&[]);
    post_sample(&server);
    let reply = server.get_as_reader("/transactions/tx-ok?cursor=abc");
    assert_eq!(reply.status, 400);
    assert!(reply.body.contains("Invalid cursor"), "{}", reply.body);
}

#[test]
fn transaction_page_past_last_entry_says_none() {
    use base64::Engine as _;
    let server = Server::start_with_users(&[]);
    post_sample(&server);
    // A well-formed cursor of tx-ok at a time after every entry.
    let cursor = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode("entry:9999999999:0:0:WORKER_END:SUCCESS:tx-ok/");
    let reply = server.get_as_reader(&format!("/transactions/tx-ok?cursor={cursor}"));
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(reply.body.contains("none on this page"), "{}", reply.body);
}

/// Adds a reader whose own zone is Asia/Tokyo (UTC+09:00, no daylight saving
/// time) and returns the page at `path` as that reader sees it.
fn page_for_tokyo_reader(server: &Server, path: &str) -> String {
    server.add_user_with(
        "reader-tokyo",
        "reader",
        PASSWORD,
        &["--timezone", "Asia/Tokyo"],
    );
    let reply = server.get(path, Some(("reader-tokyo", PASSWORD)));
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body
}

#[test]
fn transaction_page_uses_reader_zone() {
    let server = Server::start_with_users(&[]);
    post_sample(&server);
    let body = page_for_tokyo_reader(&server, "/transactions/tx-fatal");
    assert!(body.contains("+09:00</time>"), "{body}");
}

#[test]
fn list_page_names_reader_zone() {
    let server = Server::start_with_users(&[]);
    post_sample(&server);
    let body = page_for_tokyo_reader(&server, "/");
    assert!(body.contains("Asia/Tokyo"), "{body}");
}

#[test]
fn transaction_unknown_is_404() {
    let server = Server::start_with_users(&[]);
    let reply = server.get_as_reader("/transactions/no-such-id");
    assert_eq!(reply.status, 404);
    assert_eq!(
        reply.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert!(reply.body.contains("no-such-id"));
}

#[test]
fn transaction_invalid_id_is_400() {
    let server = Server::start_with_users(&[]);
    let reply = server.get_as_reader("/transactions/a%3Cb");
    assert_eq!(reply.status, 400);
    assert!(!reply.body.contains("a<b"));
}

#[test]
fn stalled_transaction_shown_as_stuck() {
    let server = Server::start_with_users(&["--stall-after", "1s"]);
    assert_eq!(
        server
            .post_worker_entry(
                "tx-stuck",
                &timestamp_from_now(0),
                "WORKER_DECOMPRESS",
                "SUCCESS",
                "ok"
            )
            .status,
        200
    );
    let stalled = wait_until(|| server.outcome("tx-stuck").as_deref() == Some("stalled"));
    assert!(stalled, "tx-stuck never turned stalled");
    let body = server.get_as_reader("/transactions/tx-stuck").body;
    assert!(body.contains("<span class=\"badge o-stalled\">stalled</span>"));
    assert!(body.contains("<b>Stuck</b>"));
    let list = server.get_as_reader("/?outcome=stalled").body;
    assert!(list.contains("/transactions/tx-stuck"));
}

#[test]
fn head_index_has_no_body() {
    let server = Server::start_with_users(&[]);
    let reply = server.request("HEAD", "/", Some(READER), &[], None);
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, "");
}

// GET /metrics

/// Splits a sample line `name{labels} value` into name, labels and value.
fn parse_sample(line: &str) -> Option<(&str, &str, f64)> {
    let (series, value) = line.rsplit_once(' ')?;
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        other => other.parse().ok()?,
    };
    match series.split_once('{') {
        Some((name, labels)) => Some((name, labels.strip_suffix('}')?, value)),
        None => Some((series, "", value)),
    }
}

#[test]
fn metrics_text_format() {
    let server = Server::start_with_users(&[]);
    post_sample(&server);
    let reply = server.get_as_reader("/metrics");
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    assert!(reply.body.ends_with('\n'));
    let mut typed: Vec<String> = Vec::new();
    for line in reply.body.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE name kind");
            assert!(["counter", "gauge", "histogram"].contains(&kind), "{line}");
            typed.push(name.to_string());
            continue;
        }
        if line.starts_with("# HELP ") {
            continue;
        }
        let (name, _, value) = parse_sample(line).unwrap_or_else(|| panic!("bad line {line:?}"));
        assert!(value >= 0.0, "{line}");
        let family_declared = typed.iter().any(|family| {
            name == family
                || ["_bucket", "_sum", "_count"]
                    .iter()
                    .any(|suffix| name == format!("{family}{suffix}"))
        });
        assert!(family_declared, "sample before its TYPE: {line}");
    }
}

/// Returns the `translog_build_info` sample that the version line of
/// `translog --version`, such as `translog 0.1.0 (commit 9c2234482a29,
/// schema 2)` or `translog 0.1.0 (schema 2)`, stands for.
fn expected_build_info() -> String {
    let output = std::process::Command::new(common::BIN)
        .arg("--version")
        .output()
        .expect("run translog --version");
    let text = String::from_utf8_lossy(&output.stdout);
    let line = text.lines().next().expect("a version line");
    let rest = line.strip_prefix("translog ").expect("the program name");
    let (version, details) = rest.split_once(" (").expect("details in brackets");
    let details = details.strip_suffix(')').expect("a closing bracket");
    let (commit, schema) = match details.split_once(", ") {
        Some((commit, schema)) => (commit.strip_prefix("commit ").expect("commit"), schema),
        None => ("", details),
    };
    let schema = schema.strip_prefix("schema ").expect("schema");
    format!(
        "translog_build_info{{version=\"{version}\",commit=\"{commit}\",schema=\"{schema}\"}} 1"
    )
}

#[test]
fn metrics_build_info_matches_version() {
    let server = Server::start_with_users(&[]);
    let body = server.get_as_reader("/metrics").body;
    let expected = expected_build_info();
    assert!(
        body.lines().any(|line| line == expected),
        "{expected} in\n{body}"
    );
}

#[test]
fn metrics_start_time_is_server_start() {
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("a time after 1970")
            .as_secs_f64()
    };
    let before = now();
    let server = Server::start_with_users(&[]);
    let after = now();
    let body = server.get_as_reader("/metrics").body;
    let started: f64 = body
        .lines()
        .find_map(|line| line.strip_prefix("translog_start_time_seconds "))
        .expect("the start time")
        .parse()
        .expect("a number");
    // The value is rounded to milliseconds.
    assert!(started >= before - 0.001, "{started} before {before}");
    assert!(started <= after + 0.001, "{started} after {after}");
}

#[test]
fn metrics_count_transactions_by_outcome() {
    let server = Server::start_with_users(&[]);
    post_sample(&server);
    let body = server.get_as_reader("/metrics").body;
    assert!(body.contains("translog_transactions{outcome=\"fatal\"} 1\n"));
    assert!(body.contains("translog_transactions{outcome=\"succeeded\"} 1\n"));
    assert!(body.contains("translog_transactions{outcome=\"running\"} 1\n"));
}

#[test]
fn metrics_count_stored_entries() {
    let server = Server::start_with_users(&[]);
    post_sample(&server);
    let body = server.get_as_reader("/metrics").body;
    assert!(
        body.contains("translog_entries_stored_total{stage=\"WORKER_LOAD\",status=\"FAIL\"} 1\n")
    );
}

#[test]
fn metrics_histogram_buckets_are_cumulative() {
    let server = Server::start_with_users(&[]);
    post_sample(&server);
    let body = server.get_as_reader("/metrics").body;
    for family in [
        "translog_http_request_duration_seconds",
        "translog_batch_size_entries",
    ] {
        let buckets: Vec<f64> = body
            .lines()
            .filter(|line| line.starts_with(&format!("{family}_bucket{{")))
            .filter_map(|line| parse_sample(line).map(|(_, _, value)| value))
            .collect();
        assert!(buckets.len() > 1, "{family} buckets");
        assert!(
            buckets.windows(2).all(|pair| pair[0] <= pair[1]),
            "{family}: {buckets:?}"
        );
        let count = body
            .lines()
            .find(|line| line.starts_with(&format!("{family}_count ")))
            .and_then(parse_sample)
            .map(|(_, _, value)| value);
        assert_eq!(buckets.last().copied(), count, "{family} +Inf bucket");
        assert!(body.contains(&format!("{family}_bucket{{le=\"+Inf\"}}")));
    }
}

/// Posts an entry to the log `..`, percent-encoded, with curl, which sends
/// it as it is, and returns the list page.
fn list_with_dot_dot_log() -> String {
    let server = Server::start_with_users(&[]);
    let (user, password) = server.admin();
    let status = server.curl_status(
        "/worker/log/%2E%2E",
        &[
            "-u",
            &format!("{user}:{password}"),
            "--data",
            "timestamp=2026-12-04T13:00:00Z&stage=WORKER_INIT&status=SUCCESS",
        ],
    );
    assert_eq!(status, "200");
    server.get_as_reader("/").body
}

#[test]
fn dot_dot_log_has_no_link() {
    let body = list_with_dot_dot_log();
    assert!(!body.contains("href=\"/transactions/.."), "{body}");
}

#[test]
fn dot_dot_log_is_listed() {
    let body = list_with_dot_dot_log();
    assert!(body.contains(">..</span>"), "{body}");
}
