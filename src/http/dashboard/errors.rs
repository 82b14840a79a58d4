//! Errors as HTML pages, for every error of a dashboard page and for the
//! `404` of an unknown path that a browser requests. The API's paths keep
//! their JSON error bodies.

use hyper::header::{HeaderMap, ACCEPT, CONTENT_TYPE};
use hyper::Response;

use super::html::error_page;
use crate::auth::basic::{BasicError, EmptyParts};
use crate::http::response::{empty_parts_clause, ApiError, Body};

/// Returns true for the paths of the dashboard's pages, `/` and
/// `/transactions/...`, including those that name no page, such as
/// `/transactions/` without an id.
pub fn is_page_path(path: &str) -> bool {
    path == "/" || path.starts_with("/transactions/")
}

/// Returns true when an `Accept` header lists `text/html` with a quality
/// above 0, as browsers do for a page. A wildcard such as curl's `*/*` does
/// not count, because API clients send it too.
pub fn accepts_html(headers: &HeaderMap) -> bool {
    headers
        .get_all(ACCEPT)
        .iter()
        .flat_map(|value| value.as_bytes().split(|byte| *byte == b','))
        .any(|media_range| {
            let mut parts = media_range.split(|byte| *byte == b';');
            let media_type = parts.next().unwrap_or_default().trim_ascii();
            media_type.eq_ignore_ascii_case(b"text/html") && !parts.any(is_zero_quality)
        })
}

/// Returns true for the media range parameter `q=0` (also `q=0.0` and the like).
fn is_zero_quality(parameter: &[u8]) -> bool {
    let Some((name, value)) = std::str::from_utf8(parameter)
        .ok()
        .and_then(|parameter| parameter.split_once('='))
    else {
        return false;
    };
    name.trim().eq_ignore_ascii_case("q") && value.trim().parse::<f64>() == Ok(0.0)
}

/// Builds the HTML page of an error, with the status and the headers
/// (`WWW-Authenticate`, `Allow`, `Retry-After`, `Connection`) of the JSON
/// response that the API sends for it.
pub fn error_response(error: ApiError) -> Response<Body> {
    let message = match error {
        ApiError::NotFound => {
            "There is no page at this path. The list of transactions is at /.".to_string()
        }
        // A browser shows these pages when its login prompt was cancelled,
        // where the API's advice to use curl does not fit.
        ApiError::Unauthorized(BasicError::Missing) => {
            "This page needs a login. Reload the page and enter a user name and password."
                .to_string()
        }
        ApiError::BadCredentials {
            empty: EmptyParts::None,
            ..
        } => "The user name or password is wrong. Reload the page to log in again; an admin \
              can set a new password with translog user passwd NAME."
            .to_string(),
        ApiError::BadCredentials { empty, .. } => format!(
            "The login failed, because {}. Reload the page and enter a user name and password.",
            empty_parts_clause(empty).unwrap_or_default()
        ),
        _ => error.message(),
    };
    let mut page = error_page(error.status(), error_title(&error), &message);
    let api_response = error.into_response();
    for (name, value) in api_response.headers() {
        if name != CONTENT_TYPE {
            page.headers_mut().insert(name.clone(), value.clone());
        }
    }
    page
}

fn error_title(error: &ApiError) -> &'static str {
    match error {
        ApiError::NotFound
        | ApiError::TrailingSlash(_)
        | ApiError::WrongCase(_)
        | ApiError::SlashInTransactionId
        | ApiError::DotSegment { .. }
        | ApiError::RepeatedBasePath(_)
        | ApiError::DoubleSlash { .. }
        | ApiError::NoSuchLog => "Page not found",
        ApiError::MethodNotAllowed { .. } => "Method not allowed",
        ApiError::Unauthorized(_) | ApiError::BadCredentials { .. } => "Login required",
        ApiError::Throttled(_) => "Too many failed logins",
        ApiError::Forbidden(_) | ApiError::CrossOrigin(_) => "Access denied",
        ApiError::PayloadTooLarge => "Request too large",
        ApiError::RequestTimeout { .. } => "Request timed out",
        ApiError::InvalidParameters(_)
        | ApiError::InvalidQuery(_)
        | ApiError::MalformedBody(_)
        | ApiError::ReadWithBody(_)
        | ApiError::InvalidHeader(_)
        | ApiError::UnparsableHead(_)
        | ApiError::ClientClosed(_) => "Invalid request",
        ApiError::Conflict(_) => "Conflict",
        ApiError::Unavailable(..) | ApiError::NotStored(_, Some(_)) => "Service unavailable",
        ApiError::NotStored(_, None) | ApiError::Internal(_) => "Server error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::StorageError;
    use hyper::header::HeaderValue;
    use std::sync::Arc;

    fn accept(values: &[&'static str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(ACCEPT, HeaderValue::from_static(value));
        }
        headers
    }

    #[test]
    fn browser_accept_is_html() {
        let firefox = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
        assert!(accepts_html(&accept(&[firefox])));
    }

    #[test]
    fn curl_accept_is_not_html() {
        assert!(!accepts_html(&accept(&["*/*"])));
    }

    #[test]
    fn missing_accept_is_not_html() {
        assert!(!accepts_html(&accept(&[])));
    }

    #[test]
    fn text_wildcard_is_not_html() {
        assert!(!accepts_html(&accept(&["text/*"])));
    }

    #[test]
    fn html_media_type_ignores_case() {
        assert!(accepts_html(&accept(&["Text/HTML"])));
    }

    #[test]
    fn html_with_quality_is_html() {
        assert!(accepts_html(&accept(&[
            "application/json, text/html ; q=0.5"
        ])));
    }

    #[test]
    fn html_with_zero_quality_is_not_html() {
        assert!(!accepts_html(&accept(&["text/html;q=0.000, */*"])));
    }

    #[test]
    fn html_in_second_accept_header_is_html() {
        assert!(accepts_html(&accept(&["application/json", "text/html"])));
    }

    #[test]
    fn permanent_storage_failure_is_server_error() {
        let error = ApiError::not_stored(Arc::new(StorageError::ForeignDatabase(String::new())));
        assert_eq!(error_title(&error), "Server error");
    }

    #[test]
    fn transient_storage_failure_is_unavailable() {
        let error = ApiError::not_stored(Arc::new(StorageError::ChangedWhileRead));
        assert_eq!(error_title(&error), "Service unavailable");
    }

    #[test]
    fn page_paths() {
        for path in [
            "/",
            "/transactions/",
            "/transactions/tx-1",
            "/transactions/a/b",
        ] {
            assert!(is_page_path(path), "{path}");
        }
    }

    #[test]
    fn other_paths_are_not_pages() {
        for path in ["/favicon.ico", "/transactions", "/worker/log", "/metrics"] {
            assert!(!is_page_path(path), "{path}");
        }
    }
}
