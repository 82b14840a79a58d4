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

pub(super) fn transaction_link(transaction_id: &str) -> String {
    format!("/transactions/{}", encode_query_value(transaction_id))
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
    fn list_link_without_parameters() {
        assert_eq!(list_link(&[], None, None), "/");
    }
}
