//! Links between the dashboard pages: list links that keep the current query
//! parameters, and transaction paths.

use std::fmt::Write as _;

use crate::http::queries::DEFAULT_LOG_LIMIT;
use crate::storage::logs::Outcome;

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

/// Builds `/?...` from the current parameters without `cursor` and `outcome`,
/// then the given outcome and cursor.
pub(super) fn list_link(
    pairs: &[(String, String)],
    outcome: Option<Outcome>,
    cursor: Option<&str>,
) -> String {
    let mut parameters = parameters_without(pairs, &["cursor", "outcome"]);
    if let Some(outcome) = outcome {
        parameters.push(("outcome".into(), outcome.as_str().into()));
    }
    if let Some(cursor) = cursor {
        parameters.push(("cursor".into(), cursor.into()));
    }
    index_path(&parameters)
}

/// Builds `/?...` from the current parameters without `cursor`, `since` and
/// `until`, then the given `since`. The link opens the first page of the
/// same outcome and page size in another time window, or in none.
pub(super) fn time_filter_link(pairs: &[(String, String)], since: Option<&str>) -> String {
    let mut parameters = parameters_without(pairs, &["cursor", "since", "until"]);
    if let Some(since) = since {
        parameters.push(("since".into(), since.into()));
    }
    index_path(&parameters)
}

fn parameters_without(pairs: &[(String, String)], names: &[&str]) -> Vec<(String, String)> {
    pairs
        .iter()
        .filter(|(name, _)| !names.contains(&name.as_str()))
        .cloned()
        .collect()
}

/// Builds the path of the list page with the query `parameters`.
fn index_path(parameters: &[(String, String)]) -> String {
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

pub(super) fn transaction_link(transaction_id: &str) -> String {
    format!("/transactions/{}", encode_query_value(transaction_id))
}

/// Returns true for the transaction ids `.` and `..`, whose page no browser
/// can open: it reads them as path segments even when percent-encoded, and
/// goes to the parent page instead.
pub(super) fn is_dot_segment(transaction_id: &str) -> bool {
    transaction_id == "." || transaction_id == ".."
}

/// Builds the link to a page of a transaction's entries: the first page
/// without a cursor, and `limit` only when it is not the default.
pub(super) fn transaction_page_link(
    transaction_id: &str,
    limit: usize,
    cursor: Option<&str>,
) -> String {
    let mut parameters = Vec::new();
    if limit != DEFAULT_LOG_LIMIT {
        parameters.push(format!("limit={limit}"));
    }
    if let Some(cursor) = cursor {
        parameters.push(format!("cursor={}", encode_query_value(cursor)));
    }
    let path = transaction_link(transaction_id);
    if parameters.is_empty() {
        path
    } else {
        format!("{path}?{}", parameters.join("&"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn transaction_page_link_keeps_limit() {
        assert_eq!(
            transaction_page_link("tx 1", 10, Some("abc")),
            "/transactions/tx%201?limit=10&cursor=abc"
        );
    }

    #[test]
    fn transaction_page_link_omits_default_limit() {
        assert_eq!(
            transaction_page_link("tx", DEFAULT_LOG_LIMIT, None),
            "/transactions/tx"
        );
    }

    #[test]
    fn time_filter_link_replaces_window() {
        let pairs = vec![
            ("outcome".to_string(), "fatal".to_string()),
            ("since".to_string(), "2026-12-01".to_string()),
            ("until".to_string(), "2026-12-02".to_string()),
            ("cursor".to_string(), "old".to_string()),
            ("limit".to_string(), "10".to_string()),
        ];
        assert_eq!(
            time_filter_link(&pairs, Some("2026-12-04T08:00:00Z")),
            "/?outcome=fatal&limit=10&since=2026-12-04T08%3A00%3A00Z"
        );
    }

    #[test]
    fn time_filter_link_clears_window() {
        let pairs = vec![("since".to_string(), "2026-12-01".to_string())];
        assert_eq!(time_filter_link(&pairs, None), "/");
    }

    #[test]
    fn list_link_without_parameters() {
        assert_eq!(list_link(&[], None, None), "/");
    }
}
