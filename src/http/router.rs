//! Mapping a request path to a resource, and the methods each resource takes.
//! The query string never takes part: it is read by the handlers.

use hyper::Method;

/// The message of a `405` for a `POST` to the list of transactions.
const POST_TO_LIST_MESSAGE: &str = "Appending an entry is POST /worker/log/{transaction_id}, \
    with the transaction id in the path; /worker/log itself lists the transactions and takes \
    only GET and HEAD.";

/// A resource of the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Dashboard,
    DashboardTransaction(String),
    Health,
    Metrics,
    LogList,
    /// One transaction's log, with the id segment still percent-encoded.
    Log(String),
}

/// Finds the resource of a path, or `None` for `404`.
pub fn route(path: &str) -> Option<Route> {
    match path {
        "/" => return Some(Route::Dashboard),
        "/healthz" => return Some(Route::Health),
        "/metrics" => return Some(Route::Metrics),
        "/worker/log" => return Some(Route::LogList),
        _ => {}
    }
    if let Some(id) = path.strip_prefix("/worker/log/") {
        return single_segment(id).map(Route::Log);
    }
    if let Some(id) = path.strip_prefix("/transactions/") {
        return single_segment(id).map(Route::DashboardTransaction);
    }
    None
}

/// The maximum length of a path, in bytes, that [`strip_trailing_slash`]
/// looks at, because a message repeats the path. The path of any valid
/// transaction id is shorter: an id has at most 128 characters, each at
/// most 3 bytes when percent-encoded.
pub const MAX_SUGGESTED_PATH_BYTES: usize = 512;

/// Returns `path` without its trailing slash and the resource it names then,
/// or `None` when that names no resource either.
pub fn strip_trailing_slash(path: &str) -> Option<(&str, Route)> {
    if path.len() > MAX_SUGGESTED_PATH_BYTES {
        return None;
    }
    let stripped = path.strip_suffix('/')?;
    route(stripped).map(|found| (stripped, found))
}

/// Returns `path` with the fixed part of its route in lower case, when the
/// path differs from it only in the case of that part and then names a
/// resource. A transaction id is case-sensitive, so it is kept as it is.
pub fn lower_case_route(path: &str) -> Option<String> {
    if path.len() > MAX_SUGGESTED_PATH_BYTES {
        return None;
    }
    let fixed_len = ["/worker/log/", "/transactions/"]
        .iter()
        .find(|prefix| {
            path.get(..prefix.len())
                .is_some_and(|start| start.eq_ignore_ascii_case(prefix))
        })
        .map_or(path.len(), |prefix| prefix.len());
    let meant = format!(
        "{}{}",
        path[..fixed_len].to_ascii_lowercase(),
        &path[fixed_len..]
    );
    (meant != path && route(&meant).is_some()).then_some(meant)
}

fn single_segment(segment: &str) -> Option<String> {
    (!segment.is_empty() && !segment.contains('/')).then(|| segment.to_string())
}

impl Route {
    /// Returns the methods this resource takes, as the `Allow` header lists them.
    pub fn allowed_methods(&self) -> &'static str {
        match self {
            Route::Log(_) => "GET, HEAD, POST",
            Route::Dashboard
            | Route::DashboardTransaction(_)
            | Route::Health
            | Route::Metrics
            | Route::LogList => "GET, HEAD",
        }
    }

    /// Returns the message of a `405` for `method` on this resource when
    /// clients send it here by mistake, or `None`. A `POST` to the list of
    /// transactions is an entry whose transaction id was left out of the path.
    /// A method such as `post`, as `curl -X post` sends it, differs from an
    /// allowed one only in case.
    pub fn misdirected_method_message(&self, method: &Method) -> Option<String> {
        if *self == Route::LogList && *method == Method::POST {
            return Some(POST_TO_LIST_MESSAGE.to_string());
        }
        let intended = self
            .allowed_methods()
            .split(", ")
            .find(|allowed| allowed.eq_ignore_ascii_case(method.as_str()))?;
        Some(format!(
            "Method {method} is not allowed here; method names are case-sensitive, so send \
             {intended}."
        ))
    }

    pub fn allows(&self, method: &Method) -> bool {
        match *method {
            Method::GET | Method::HEAD => true,
            Method::POST => matches!(self, Route::Log(_)),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_path_keeps_raw_segment() {
        assert_eq!(route("/worker/log/a%2Db"), Some(Route::Log("a%2Db".into())));
    }

    #[test]
    fn empty_id_is_not_found() {
        assert_eq!(route("/worker/log/"), None);
    }

    #[test]
    fn lower_case_route_keeps_id_case() {
        assert_eq!(
            lower_case_route("/Transactions/AbC"),
            Some("/transactions/AbC".to_string())
        );
    }

    #[test]
    fn lower_case_route_of_valid_path_is_none() {
        assert_eq!(lower_case_route("/worker/log/AbC"), None);
    }

    #[test]
    fn lower_case_route_of_unknown_path_is_none() {
        assert_eq!(lower_case_route("/WORKER/LOGS"), None);
    }

    #[test]
    fn lower_case_route_of_multibyte_path_is_none() {
        assert_eq!(lower_case_route("/wörker/lög/x"), None);
    }

    #[test]
    fn extra_segment_is_not_found() {
        assert_eq!(route("/worker/log/a/b"), None);
    }

    #[test]
    fn trailing_slash_is_not_found() {
        assert_eq!(route("/worker/log/a/"), None);
    }

    #[test]
    fn trailing_slash_is_stripped() {
        assert_eq!(
            strip_trailing_slash("/worker/log/a/"),
            Some(("/worker/log/a", Route::Log("a".into())))
        );
    }

    #[test]
    fn two_trailing_slashes_are_not_stripped() {
        assert_eq!(strip_trailing_slash("/worker/log/a//"), None);
    }

    #[test]
    fn unknown_path_with_slash_is_not_stripped() {
        assert_eq!(strip_trailing_slash("/worker/"), None);
    }

    #[test]
    fn list_path_is_routed() {
        assert_eq!(route("/worker/log"), Some(Route::LogList));
    }

    #[test]
    fn unknown_path_is_not_found() {
        assert_eq!(route("/worker"), None);
    }

    #[test]
    fn post_is_only_allowed_on_a_log() {
        assert!(!Route::LogList.allows(&Method::POST));
    }

    #[test]
    fn post_to_list_names_append_path() {
        let message = Route::LogList.misdirected_method_message(&Method::POST);
        assert!(
            message
                .as_deref()
                .is_some_and(|text| text.contains("POST /worker/log/{transaction_id}")),
            "{message:?}"
        );
    }

    #[test]
    fn lowercase_method_names_intended_one() {
        let post = Method::from_bytes(b"post").expect("a token");
        assert_eq!(
            Route::Log("a".into()).misdirected_method_message(&post),
            Some(
                "Method post is not allowed here; method names are case-sensitive, so send POST."
                    .to_string()
            )
        );
    }

    #[test]
    fn lowercase_method_not_allowed_gets_generic_message() {
        let post = Method::from_bytes(b"post").expect("a token");
        assert_eq!(Route::Health.misdirected_method_message(&post), None);
    }

    #[test]
    fn other_methods_get_generic_message() {
        assert_eq!(
            Route::LogList.misdirected_method_message(&Method::PUT),
            None
        );
        assert_eq!(
            Route::Health.misdirected_method_message(&Method::POST),
            None
        );
        assert_eq!(
            Route::Log("a".into()).misdirected_method_message(&Method::DELETE),
            None
        );
    }

    #[test]
    fn delete_is_not_allowed() {
        assert!(!Route::Log("a".into()).allows(&Method::DELETE));
    }
}
