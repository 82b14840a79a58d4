//! The handlers of each resource: the write API, the read API, health and
//! metrics. Each takes the parsed parts it needs and returns a response or an
//! [`ApiError`]; authentication and the order of checks are in `dispatch`.

use std::io::ErrorKind;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Limited};
use hyper::body::{Body as _, Incoming};
use hyper::header::{
    HeaderMap, HeaderValue, AUTHORIZATION, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE,
    TRANSFER_ENCODING,
};
use hyper::{Method, Request, Response};

use super::client_address::ClientAddress;
use super::dashboard;
use super::host::check_host;
use super::log_stream;
use super::origin::check_same_origin;
use super::queries::{parse_list_query, parse_log_query, LogRead};
use super::response::{
    entry_ok, json_body, ok_with, ApiError, Body, ConflictCause, RequestPart,
    MAX_QUOTED_METHOD_CHARS,
};
use super::router::{
    lower_case_route, route, strip_trailing_slash, Route, MAX_SUGGESTED_PATH_BYTES,
};
use super::zone_skew::ZoneSkew;
use super::{AppState, MAX_BODY_BYTES};
use crate::auth::basic::AuthorizationHeader;
use crate::auth::{AuthError, Authenticated, Freshness, User};
use crate::entry::NewEntry;
use crate::metrics::{ScrapedValues, UnavailableReason};
use crate::storage::logs::{self, ListQuery};
use crate::storage::writer::{CheckedUser, WriteOutcome};
use crate::storage::{self, files, now_ns, StorageError};
use crate::validate::form::decode_component;
use crate::validate::{
    build_entry, collect_parameters, parse_transaction_id, unexpanded_in_id, LocalZone, NoBody,
    ParamError,
};

/// The fields of the request log line besides method, path and status.
#[derive(Default)]
pub struct RequestContext {
    pub user: Option<String>,
    /// The transaction id as the path sent it, decoded only for a log line.
    pub transaction_id: Option<String>,
    /// True once the whole request body has been read.
    pub body_read: bool,
    /// True for `/healthz` and `/metrics`, which monitoring requests every few
    /// seconds, so that their successful requests are logged at debug.
    pub monitoring: bool,
    /// True when an error is sent as an HTML page instead of the JSON body.
    pub html_errors: bool,
    /// True when `html_errors` was decided by the `Accept` header, so that
    /// an error response must carry `Vary: Accept`.
    pub errors_vary_by_accept: bool,
    /// True when the response must close the connection, because what the
    /// client sent after the request head cannot be read as the next request.
    pub close_connection: bool,
    /// The name of the existing user whose password a failed login got
    /// wrong, for the log line.
    pub attempted_user: Option<String>,
    /// True while the request's entry is with the storage thread, which may
    /// store it however the request ends. Shared, because the cut-off at a
    /// stop reads it while the handler borrows the context.
    pub handed_to_storage: Arc<AtomicBool>,
}

/// A resource that requires credentials, which is every one but
/// `/healthz`. A transaction's log counts as two here, because appending to
/// it and reading it need different permissions, and only a read rejects a
/// body.
enum ProtectedRoute {
    AppendEntry(String),
    ReadLog(String),
    LogList,
    Metrics,
    Dashboard,
    DashboardTransaction(String),
}

/// Routes a request and runs the checks in the documented order: framing
/// (`Transfer-Encoding` and `Host`, `400`), path (`404`), method (`405`), a
/// browser's request from another origin (`403`), credentials (`401`,
/// `429`), permission (`403`), a body on a read of a log (`400`), body size
/// (`413`), parameters (`400`), storage (`409`, `503`, `500`).
pub async fn dispatch(
    state: &Arc<AppState>,
    request: Request<Incoming>,
    client: &ClientAddress,
    received_at_ns: i64,
    context: &mut RequestContext,
) -> Result<Response<Body>, ApiError> {
    let route = admitted_route(&request, context)?;
    // A transaction's log is the only resource that takes `POST`.
    let writing = request.method() == Method::POST;
    let protected = match route {
        Route::Health => return health(state).await,
        Route::Log(raw_id) if writing => ProtectedRoute::AppendEntry(raw_id),
        Route::Log(raw_id) => ProtectedRoute::ReadLog(raw_id),
        Route::LogList => ProtectedRoute::LogList,
        Route::Metrics => ProtectedRoute::Metrics,
        Route::Dashboard => ProtectedRoute::Dashboard,
        Route::DashboardTransaction(raw_id) => ProtectedRoute::DashboardTransaction(raw_id),
    };
    let authenticated =
        authorized_user(state, request.headers(), client, &protected, context).await?;
    serve_protected(
        state,
        request,
        protected,
        authenticated,
        client,
        received_at_ns,
        context,
    )
    .await
}

/// Routes a request and runs the checks that need no credentials: framing,
/// path, method and the origin of a browser's request.
fn admitted_route(
    request: &Request<Incoming>,
    context: &mut RequestContext,
) -> Result<Route, ApiError> {
    let path = request.uri().path();
    let found = route(path);
    choose_error_format(path, found.is_some(), request.headers(), context);
    check_transfer_coding(request.headers())?;
    check_host(request.version(), request.headers())?;
    let Some(route) = found else {
        return Err(not_found(path, request.method()));
    };
    if !route.allows(request.method()) {
        return Err(ApiError::MethodNotAllowed {
            method: quoted_method(request.method()),
            allow: route.allowed_methods(),
            message: route.misdirected_method_message(request.method()),
        });
    }
    // Before the credentials: the check needs no password hash, and a forged
    // request gets no 401, which would make the browser ask for a login.
    check_same_origin(request.method(), request.headers())?;
    context.monitoring = matches!(route, Route::Health | Route::Metrics);
    // Known before the credentials are checked, so that a 401 or 403 line
    // names the transaction too.
    if let Route::Log(raw_id) | Route::DashboardTransaction(raw_id) = &route {
        context.transaction_id = Some(raw_id.clone());
    }
    Ok(route)
}

/// Runs the handler of `protected` for a user who may use it.
async fn serve_protected(
    state: &Arc<AppState>,
    mut request: Request<Incoming>,
    protected: ProtectedRoute,
    authenticated: Authenticated,
    client: &ClientAddress,
    received_at_ns: i64,
    context: &mut RequestContext,
) -> Result<Response<Body>, ApiError> {
    let user = &authenticated.user;
    match protected {
        ProtectedRoute::AppendEntry(raw_id) => {
            append_entry(
                state,
                request,
                &raw_id,
                authenticated,
                client,
                received_at_ns,
                context,
            )
            .await
        }
        ProtectedRoute::ReadLog(raw_id) => {
            // The only other methods of a transaction's log are GET and
            // HEAD, which take no body.
            let method = request.method().clone();
            let timeout = state.config.read_timeout;
            reject_read_with_body(method, request.body_mut(), timeout, context).await?;
            let may_append = user.role.may_write();
            let head = request.method() == Method::HEAD;
            let query = request.uri().query();
            read_log(state, &raw_id, query, may_append, head, *client).await
        }
        ProtectedRoute::LogList => list_logs(state, &request, user).await,
        ProtectedRoute::Metrics => metrics(state).await,
        ProtectedRoute::Dashboard => dashboard::index(state, &request, user).await,
        ProtectedRoute::DashboardTransaction(raw_id) => {
            dashboard::transaction(state, &raw_id, request.uri().query(), user).await
        }
    }
}

/// Decides whether the errors of a request are sent as HTML pages: every
/// error of a dashboard page, and the 404 of an unknown path that a browser
/// requests. It runs before the first check, so that its error is a page too.
fn choose_error_format(
    path: &str,
    has_route: bool,
    headers: &HeaderMap,
    context: &mut RequestContext,
) {
    if dashboard::is_page_path(path) {
        context.html_errors = true;
    } else if !has_route {
        context.html_errors = dashboard::accepts_html(headers);
        context.errors_vary_by_accept = true;
    }
}

/// Checks the credentials of a request for `resource` and the user's
/// permission to use it, and returns the authenticated user.
async fn authorized_user(
    state: &Arc<AppState>,
    headers: &HeaderMap,
    client: &ClientAddress,
    resource: &ProtectedRoute,
    context: &mut RequestContext,
) -> Result<Authenticated, ApiError> {
    let writing = matches!(resource, ProtectedRoute::AppendEntry(_));
    // An entry is stored only if the credentials generation is unchanged in
    // the transaction that stores it, so the write path does not read it here.
    let freshness = if writing {
        Freshness::AtCommit
    } else {
        Freshness::Now
    };
    let mut authenticated = authenticate(state, headers, client, freshness).await?;
    if freshness == Freshness::AtCommit && authorize(&authenticated.user, writing).is_err() {
        // A cached user may have been enabled or given another role since,
        // so a rejection is decided on the current generation.
        authenticated = authenticate(state, headers, client, Freshness::Now).await?;
    }
    context.user = Some(authenticated.user.name.clone());
    // A worker, who may not read, gets this 403 before the 400 of a read
    // with a body, and with the same hint.
    authorize(&authenticated.user, writing).map_err(|error| match resource {
        ProtectedRoute::ReadLog(_) => with_append_hint(error, &authenticated.user),
        _ => error,
    })?;
    Ok(authenticated)
}

/// Returns the `404` of a path that names no resource. It names the path
/// without its trailing slash where that one names a resource, unless the
/// request is a `POST` and that resource is not a log. So a `POST` to
/// `/worker/log/` gets the generic message, which names the path with the
/// transaction id that it lacks, and a `POST` to `//` is not sent to `/`.
/// Another method is sent there and gets the `405` that lists the allowed
/// ones. A longer path under `/worker/log/` comes
/// from a base URL that ends with `/worker/log`, or from a transaction id
/// with a `/`. A path with a `.` or `..` segment, which curl sends only with
/// `--path-as-is`, gets a message that names the segment first.
fn not_found(path: &str, method: &Method) -> ApiError {
    if let Some(segment) = dot_segment(path) {
        let meant = resolve_dot_segments(path);
        let meant = (meant.len() <= MAX_SUGGESTED_PATH_BYTES && takes_method(&meant, method))
            .then_some(meant);
        return ApiError::DotSegment { segment, meant };
    }
    if path.contains("//") {
        let meant = without_repeated_slashes(path);
        if meant.len() <= MAX_SUGGESTED_PATH_BYTES && takes_method(&meant, method) {
            return ApiError::DoubleSlash {
                meant,
                at_start: path.starts_with("//"),
            };
        }
    }
    if let Some(meant) = lower_case_route(path) {
        if takes_method(&meant, method) {
            return ApiError::WrongCase(meant);
        }
    }
    match strip_trailing_slash(path) {
        Some((stripped, _)) if takes_method(stripped, method) => {
            ApiError::TrailingSlash(stripped.to_string())
        }
        Some(_) => ApiError::NotFound,
        None => match path.strip_prefix("/worker/log/") {
            Some(rest) if rest == "worker/log" || rest.starts_with("worker/log/") => {
                repeated_base_path(&format!("/{rest}"), method)
            }
            Some(rest) if rest.trim_matches('/').contains('/') => ApiError::SlashInTransactionId,
            _ => ApiError::NotFound,
        },
    }
}

/// Returns the first `.` or `..` segment of `path`, if it has one.
fn dot_segment(path: &str) -> Option<&'static str> {
    path.split('/').find_map(|segment| match segment {
        "." => Some("."),
        ".." => Some(".."),
        _ => None,
    })
}

/// Returns `path` with its `.` and `..` segments resolved as RFC 3986
/// section 5.2.4 does: a `.` is dropped, and a `..` drops the segment before
/// it. A path that ends with either keeps a trailing slash.
fn resolve_dot_segments(path: &str) -> String {
    let segments: Vec<&str> = path.strip_prefix('/').unwrap_or(path).split('/').collect();
    let mut resolved: Vec<&str> = Vec::with_capacity(segments.len());
    for (index, segment) in segments.iter().enumerate() {
        let is_last = index + 1 == segments.len();
        match *segment {
            "." | ".." => {
                if *segment == ".." {
                    resolved.pop();
                }
                if is_last {
                    resolved.push("");
                }
            }
            other => resolved.push(other),
        }
    }
    format!("/{}", resolved.join("/"))
}

/// Returns `path` with each run of `/` written as one `/`.
fn without_repeated_slashes(path: &str) -> String {
    let mut result = String::with_capacity(path.len());
    for character in path.chars() {
        if character != '/' || !result.ends_with('/') {
            result.push(character);
        }
    }
    result
}

/// Returns the `404` of a path that repeats `/worker/log`, where `meant` is
/// that path without its first `/worker/log`. The message names `meant`, or
/// `meant` without its trailing slash, when that names a resource.
/// Otherwise `meant` gets its own `404`, so that no message sends a client
/// to another path that names no resource.
fn repeated_base_path(meant: &str, method: &Method) -> ApiError {
    if meant.len() <= MAX_SUGGESTED_PATH_BYTES && takes_method(meant, method) {
        return ApiError::RepeatedBasePath(meant.to_string());
    }
    match not_found(meant, method) {
        ApiError::TrailingSlash(stripped) => ApiError::RepeatedBasePath(stripped),
        other => other,
    }
}

/// Returns true when `path` names a resource that `method` applies to, so
/// that a message may send a client there: a `POST` only to a log.
fn takes_method(path: &str, method: &Method) -> bool {
    match route(path) {
        Some(Route::Log(_)) => true,
        Some(_) => *method != Method::POST,
        None => false,
    }
}

/// Returns `method` for an error message, cut to [`MAX_QUOTED_METHOD_CHARS`]
/// characters with `...` after a cut. A method is ASCII letters, digits and
/// punctuation, so it needs no quotes.
fn quoted_method(method: &Method) -> String {
    let name = method.as_str();
    match name.get(..MAX_QUOTED_METHOD_CHARS) {
        Some(start) if start.len() < name.len() => format!("{start}..."),
        _ => name.to_string(),
    }
}

/// Rejects a `GET` or `HEAD` of a transaction's log whose body is not empty.
/// The read ignores a body, so an entry sent in one, as `curl -X GET -d`
/// sends it, would get a `200` with the log and never be stored. A declared
/// length is known from the head. A chunked body is read until its first byte
/// of data, because it may turn out empty.
async fn reject_read_with_body(
    method: Method,
    body: &mut Incoming,
    timeout: Duration,
    context: &mut RequestContext,
) -> Result<(), ApiError> {
    if body.is_end_stream() {
        return Ok(());
    }
    if body.size_hint().exact().is_some_and(|length| length > 0) {
        return Err(ApiError::ReadWithBody(method));
    }
    let first_data = async {
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|error| body_read_error(&error))?;
            if frame.data_ref().is_some_and(|data| !data.is_empty()) {
                return Ok(true);
            }
        }
        Ok::<bool, ApiError>(false)
    };
    let has_data = tokio::time::timeout(timeout, first_data)
        .await
        .map_err(|_| ApiError::RequestTimeout {
            part: RequestPart::Body,
            timeout,
        })??;
    if has_data {
        return Err(ApiError::ReadWithBody(method));
    }
    context.body_read = true;
    Ok(())
}

/// Rejects any `Transfer-Encoding` but `chunked` alone. hyper already rejects
/// a coding list that does not end in `chunked`, but it takes `gzip, chunked`
/// as plain chunked framing and would pass the still-encoded body on as if it
/// were the content. The error closes the connection, so whatever follows the
/// request on it is never read as another request.
fn check_transfer_coding(headers: &HeaderMap) -> Result<(), ApiError> {
    let codings: Vec<&[u8]> = headers
        .get_all(TRANSFER_ENCODING)
        .iter()
        .map(|value| value.as_bytes())
        .collect();
    match codings.as_slice() {
        [] => Ok(()),
        [coding] if coding.trim_ascii().eq_ignore_ascii_case(b"chunked") => Ok(()),
        _ => {
            let sent: String = codings
                .iter()
                .map(|coding| String::from_utf8_lossy(coding))
                .collect::<Vec<_>>()
                .join(", ")
                .chars()
                .take(64)
                .collect();
            Err(ApiError::MalformedBody(format!(
                "Transfer-Encoding {sent:?} is not supported; send the body with Content-Length \
                 or with Transfer-Encoding: chunked alone."
            )))
        }
    }
}

/// Rejects a disabled user, and a user whose role may not make this call.
fn authorize(user: &User, writing: bool) -> Result<(), ApiError> {
    if !user.enabled {
        return Err(ApiError::Forbidden(format!(
            "User {} is disabled; an administrator can enable it with `translog user enable`.",
            user.name
        )));
    }
    let allowed = if writing {
        user.role.may_write()
    } else {
        user.role.may_read()
    };
    if !allowed && writing {
        return Err(ApiError::Forbidden(format!(
            "User {} has the role {}; this call needs the role worker or admin. Send the report \
             with the credentials of a worker user, or have an administrator run translog user \
             set-role {} worker.",
            user.name,
            user.role,
            crate::shell::quote(&user.name)
        )));
    }
    if !allowed {
        return Err(ApiError::Forbidden(format!(
            "User {} has the role {}; this call needs the role reader or admin.",
            user.name, user.role
        )));
    }
    Ok(())
}

/// The sentence added to a rejected `GET` of a transaction's log by a user
/// who may write, because such a user most likely meant to append an entry.
/// `curl -G` sends the parameters in the query of a `GET`, and `curl -X GET`
/// sends them in the body of one.
pub(super) const APPEND_HINT: &str =
    "Appending an entry is POST: send the parameters with curl -d \
    or --data-urlencode, without -G or -X GET.";

/// Adds [`APPEND_HINT`] to a `403` for reading a transaction's log, when the
/// user may write.
fn with_append_hint(error: ApiError, user: &User) -> ApiError {
    match error {
        ApiError::Forbidden(message) if user.enabled && user.role.may_write() => {
            ApiError::Forbidden(format!("{message} {APPEND_HINT}"))
        }
        error => error,
    }
}

async fn authenticate(
    state: &Arc<AppState>,
    headers: &HeaderMap,
    client: &ClientAddress,
    freshness: Freshness,
) -> Result<Authenticated, ApiError> {
    let header = AuthorizationHeader::from_values(
        headers
            .get_all(AUTHORIZATION)
            .iter()
            .map(HeaderValue::as_bytes),
    );
    state
        .auth
        .authenticate(header, client.ip(), freshness)
        .await
        .map_err(|error| match error {
            AuthError::Unauthorized(reason) => ApiError::Unauthorized(reason),
            AuthError::BadCredentials {
                existing_user,
                empty,
                padding,
            } => ApiError::BadCredentials {
                existing_user,
                empty,
                padding,
            },
            AuthError::Throttled(wait) => ApiError::Throttled(wait),
            AuthError::Storage(error) => read_error(state, &error),
            AuthError::Internal(cause) => ApiError::Internal(cause.to_string()),
        })
}

/// Maps a storage failure: transient ones are `503`, the rest `500`.
pub fn storage_error(error: &StorageError) -> ApiError {
    if error.is_transient() {
        ApiError::Unavailable(UnavailableReason::from(error), error.to_string())
    } else {
        ApiError::Internal(error.to_string())
    }
}

/// Maps a failed read as [`storage_error`] does, but after the storage
/// thread found the database's files changed, every failed read gets `503`
/// with that reason, so that the client learns that only a restart ends it.
/// A file overwritten in place reads as a mix of two databases then, and
/// fails with errors such as a missing row, which would otherwise be `500`.
/// A damaged page that a read finds fails `/healthz` from then on.
pub(super) fn read_error(state: &AppState, error: &StorageError) -> ApiError {
    files_changed_error(state, error).unwrap_or_else(|| {
        state.writer.record_read_damage(error);
        storage_error(error)
    })
}

/// Returns the `503` of a failed read after the storage thread found the
/// database's files changed, or `None` while it has not.
fn files_changed_error(state: &AppState, error: &StorageError) -> Option<ApiError> {
    let unhealthy = state.writer.health().err()?;
    let UnavailableReason::FileChanged(_) = unhealthy.reason else {
        return None;
    };
    // A file changed under the server reads as damaged, but the steps for a
    // damaged file, which restore a backup, do not fit that change.
    let read_failure = match error {
        StorageError::Corrupt(cause) => format!("reading the database failed ({cause})"),
        other => other.to_string(),
    };
    Some(ApiError::Unavailable(
        unhealthy.reason,
        format!("{read_failure}, and {}", unhealthy.cause),
    ))
}

/// The number of tries to store a write request while its user changes.
/// Before each new try, the request's credentials are checked again.
const STORE_ATTEMPTS: usize = 3;

async fn append_entry(
    state: &Arc<AppState>,
    request: Request<Incoming>,
    raw_id: &str,
    mut authenticated: Authenticated,
    client: &ClientAddress,
    received_at_ns: i64,
    context: &mut RequestContext,
) -> Result<Response<Body>, ApiError> {
    let (parts, body) = request.into_parts();
    // `authenticated` may come from the credentials cache without a fresh
    // read. A rejection must hold for the user as stored now, and 401 and 403
    // come before 413 and 400. So the credentials are checked again before
    // any rejection, and an entry that fails for a cached user is built
    // again for the current one.
    let (body, transaction_id) = match read_entry(state, &parts, body, raw_id, context).await {
        Ok(read) => read,
        // The client has closed the connection, so a 401 or 403 would reach no one.
        Err(error @ ApiError::ClientClosed(_)) => return Err(error),
        Err(error) => {
            recheck(state, &parts.headers, client).await?;
            return Err(error);
        }
    };
    let content_type = parts.headers.get(CONTENT_TYPE).map(HeaderValue::as_bytes);
    let no_body = no_body_reason(&parts.headers);
    let handed_to_storage = Arc::clone(&context.handed_to_storage);
    let mut build = |user: &User| -> Result<NewEntry, ApiError> {
        let parameters = collect_parameters(parts.uri.query(), content_type, &body)?;
        let zone = LocalZone::for_user(user.timezone, state.config.timezone);
        build_entry(&transaction_id, parameters, zone, &user.name)
            .map_err(|error| entry_error(error, no_body, context))
    };

    // True once a changed user made the credentials be checked against the
    // database again. An entry that fails to build after that is rejected at
    // once, because it failed for the user as stored now.
    let mut checked_against_database = false;
    for _ in 0..STORE_ATTEMPTS {
        // Built anew on each try, because a changed user may have another zone.
        let entry = match build(&authenticated.user) {
            Ok(entry) => entry,
            Err(error) if checked_against_database => return Err(error),
            Err(_) => {
                authenticated = recheck(state, &parts.headers, client).await?;
                build(&authenticated.user)?
            }
        };
        let (instant, local_zone) = (entry.timestamp, entry.local_zone);
        let zone_skew = ZoneSkew::of(&entry, received_at_ns);
        let attempt = store_once(
            state,
            entry,
            received_at_ns,
            &authenticated,
            &handed_to_storage,
        )
        .await?;
        match attempt {
            StoreAttempt::Stored { repeated } => {
                if let (Some(skew), false) = (zone_skew, repeated) {
                    let user = &authenticated.user;
                    let zone = LocalZone::for_user(user.timezone, state.config.timezone);
                    state
                        .zone_warnings
                        .record(&skew, &user.name, zone.source, &transaction_id);
                }
                return Ok(entry_ok(instant, local_zone, repeated));
            }
            StoreAttempt::CredentialsChanged => {
                authenticated = recheck(state, &parts.headers, client).await?;
                checked_against_database = true;
            }
        }
    }
    Err(ApiError::Unavailable(
        UnavailableReason::UserChanged,
        format!(
            "user {} was changed {STORE_ATTEMPTS} times while the entry was being stored; send it \
             again",
            authenticated.user.name
        ),
    ))
}

/// The outcome of a try to store an entry that did not fail.
enum StoreAttempt {
    /// The entry is stored, by this request or, when `repeated`, by an
    /// earlier one that sent the same entry.
    Stored { repeated: bool },
    /// The user of the request's credentials changed since they were
    /// checked, so nothing was stored.
    CredentialsChanged,
}

/// Hands `entry` to the storage thread, which stores it only if the user of
/// `authenticated` is unchanged, and waits for the outcome.
async fn store_once(
    state: &AppState,
    entry: NewEntry,
    received_at_ns: i64,
    authenticated: &Authenticated,
    handed_to_storage: &AtomicBool,
) -> Result<StoreAttempt, ApiError> {
    handed_to_storage.store(true, Ordering::Relaxed);
    let outcome = state
        .writer
        .submit(entry, received_at_ns, checked_user(authenticated))?;
    match outcome.await {
        Ok(WriteOutcome::Stored) => Ok(StoreAttempt::Stored { repeated: false }),
        Ok(WriteOutcome::Repeated) => Ok(StoreAttempt::Stored { repeated: true }),
        Ok(WriteOutcome::Conflict { timestamp_sent }) => {
            // The zone that resolved the timestamp when the entry was built.
            let zone = LocalZone::for_user(authenticated.user.timezone, state.config.timezone);
            Err(ApiError::Conflict(ConflictCause::of(
                timestamp_sent,
                zone.zone,
            )))
        }
        Ok(WriteOutcome::Failed(error)) => Err(ApiError::not_stored(error)),
        Ok(WriteOutcome::CredentialsChanged) => {
            // Nothing was stored, so a stop may cut the request off again
            // while its credentials are checked.
            handed_to_storage.store(false, Ordering::Relaxed);
            Ok(StoreAttempt::CredentialsChanged)
        }
        Err(_) => Err(ApiError::Unavailable(
            UnavailableReason::Stopped,
            "the storage thread stopped before it replied".into(),
        )),
    }
}

/// Returns why the head of a request announces no body, or `None` when it
/// announces one or a chunked body. By the rules of HTTP, the body of such
/// a request is empty even when the client wrote bytes after the head, so
/// hyper reads none.
fn no_body_reason(headers: &HeaderMap) -> Option<NoBody> {
    if headers.contains_key(TRANSFER_ENCODING) {
        return None;
    }
    let Some(length) = headers.get(CONTENT_LENGTH) else {
        return Some(NoBody::NoLengthHeaders);
    };
    // hyper has checked that the value is a number, or a list of one number
    // repeated, and that repeated headers agree.
    let zero = length.to_str().is_ok_and(|value| {
        value
            .split(',')
            .all(|number| number.trim().parse::<u64>() == Ok(0))
    });
    zero.then_some(NoBody::ZeroLength)
}

/// Returns the error of an entry that failed to build. A request without a
/// body that lacks parameters also closes its connection, because the
/// parameters may be in body bytes written after a head that announced
/// none, and those bytes would be read as the next request.
fn entry_error(
    error: ParamError,
    no_body: Option<NoBody>,
    context: &mut RequestContext,
) -> ApiError {
    let Some(reason) = no_body else {
        return error.into();
    };
    let error = error.for_request_without_body(reason);
    context.close_connection = matches!(error, ParamError::MissingWithoutBody(..));
    error.into()
}

/// Returns what the storage thread compares with the users table before it
/// stores the entry of `authenticated`.
fn checked_user(authenticated: &Authenticated) -> CheckedUser {
    CheckedUser {
        generation: authenticated.generation,
        password_hash: Arc::clone(&authenticated.password_hash),
        timezone: authenticated.user.timezone,
    }
}

/// Checks the credentials of a write request against the database as it is
/// now, and the user's permission to write.
async fn recheck(
    state: &Arc<AppState>,
    headers: &HeaderMap,
    client: &ClientAddress,
) -> Result<Authenticated, ApiError> {
    let authenticated = authenticate(state, headers, client, Freshness::Now).await?;
    authorize(&authenticated.user, true)?;
    Ok(authenticated)
}

/// Reads the body of a write request within its limits, and decodes the
/// transaction id of its path.
async fn read_entry(
    state: &Arc<AppState>,
    parts: &hyper::http::request::Parts,
    body: Incoming,
    raw_id: &str,
    context: &mut RequestContext,
) -> Result<(hyper::body::Bytes, String), ApiError> {
    let declared_length = parts
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared_length.is_some_and(|length| length > MAX_BODY_BYTES as u64) {
        return Err(ApiError::PayloadTooLarge);
    }
    let body = read_body(body, state.config.read_timeout).await?;
    context.body_read = true;
    reject_content_coding(&parts.headers)?;
    let transaction_id = decode_path_segment(raw_id)?;
    // With two media types, which one the body has is ambiguous.
    if parts.headers.get_all(CONTENT_TYPE).iter().nth(1).is_some() {
        return Err(ParamError::RepeatedContentType.into());
    }
    Ok((body, transaction_id))
}

/// Reads the whole body within the size limit and the read timeout.
async fn read_body(body: Incoming, timeout: Duration) -> Result<hyper::body::Bytes, ApiError> {
    let collected =
        tokio::time::timeout(timeout, Limited::new(body, MAX_BODY_BYTES).collect()).await;
    match collected {
        Err(_) => Err(ApiError::RequestTimeout {
            part: RequestPart::Body,
            timeout,
        }),
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(error)) if error.is::<http_body_util::LengthLimitError>() => {
            Err(ApiError::PayloadTooLarge)
        }
        Ok(Err(error)) => Err(body_read_error(&*error)),
    }
}

/// Maps a failed body read to the client closing the connection first, or
/// else to a body whose framing hyper rejected, such as an invalid chunk
/// size line.
fn body_read_error(error: &(dyn std::error::Error + 'static)) -> ApiError {
    let cause = super::innermost_cause(error);
    let closed_by_client = std::iter::successors(Some(error), |error| error.source())
        .filter_map(|error| error.downcast_ref::<std::io::Error>())
        .any(|error| {
            matches!(
                error.kind(),
                ErrorKind::UnexpectedEof
                    | ErrorKind::ConnectionReset
                    | ErrorKind::ConnectionAborted
                    | ErrorKind::BrokenPipe
            )
        });
    if closed_by_client {
        return ApiError::ClientClosed(cause);
    }
    ApiError::MalformedBody(format!(
        "The request body could not be read: {cause}. Send it with a Content-Length that \
         matches its size, or as chunks that each have a size line in hex ending in CRLF, then \
         the data and CRLF, with a last chunk of size 0."
    ))
}

/// Rejects a compressed body: an entry is small, and decoding it here would
/// only add a way to make the server inflate data.
fn reject_content_coding(headers: &HeaderMap) -> Result<(), ApiError> {
    // Every header and every coding of a list counts, because HTTP reads
    // repeated fields as one comma-separated list (RFC 2616, 4.2).
    let coded = headers.get_all(CONTENT_ENCODING).iter().find(|value| {
        !value.as_bytes().split(|byte| *byte == b',').all(|coding| {
            let coding = coding.trim_ascii();
            coding.is_empty() || coding.eq_ignore_ascii_case(b"identity")
        })
    });
    let Some(coding) = coded else {
        return Ok(());
    };
    let shown: String = String::from_utf8_lossy(coding.as_bytes())
        .chars()
        .take(32)
        .collect();
    Err(ParamError::UnsupportedContentEncoding(shown).into())
}

/// Percent-decodes the transaction id segment of a path, where `+` is a plus.
/// A segment that does not decode because of shell syntax, such as the `%`
/// of `$(date +%s)`, gets the error about that syntax.
fn decode_path_segment(raw_id: &str) -> Result<String, ParamError> {
    decode_component(raw_id.as_bytes(), false).map_err(|error| {
        unexpanded_in_id(raw_id).unwrap_or_else(|| {
            ParamError::InvalidTransactionId(format!(
                "the path segment {error}, so use only ASCII letters, digits and - _ . : ~"
            ))
        })
    })
}

/// Returns the transaction id of a path segment for the request log line:
/// decoded when it decodes, else as sent. The id is not checked, so the log
/// line must quote and escape it.
pub fn decode_logged_transaction_id(raw_id: &str) -> String {
    decode_path_segment(raw_id).unwrap_or_else(|_| raw_id.to_string())
}

/// Decodes and checks a transaction id taken from a path.
pub fn transaction_id_from_path(raw_id: &str) -> Result<String, ApiError> {
    let decoded = decode_path_segment(raw_id)?;
    parse_transaction_id(&decoded)?;
    Ok(decoded)
}

/// Serves a transaction's log to `client`: the whole log without `limit`
/// and `cursor`, else one page. A page is read and serialized in the
/// blocking task, so the HTTP thread only sends the bytes. `may_append` is
/// true for a user who may also append entries, and `head` for `HEAD`.
async fn read_log(
    state: &Arc<AppState>,
    raw_id: &str,
    query: Option<&str>,
    may_append: bool,
    head: bool,
    client: ClientAddress,
) -> Result<Response<Body>, ApiError> {
    let transaction_id = transaction_id_from_path(raw_id)?;
    let query = match parse_log_query(query, &transaction_id, may_append)? {
        LogRead::Whole => return log_stream::whole_log(state, transaction_id, head, client).await,
        LogRead::Page(query) => query,
    };
    let body = run_read(state, move |state, connection| {
        let log = logs::transaction_log_page(
            connection,
            &transaction_id,
            &query,
            now_ns(),
            state.config.stall_after,
        )?;
        Ok(log.map(|log| json_body(&log)))
    })
    .await?;
    Ok(ok_with(
        "application/json",
        body.ok_or(ApiError::NoSuchLog)??,
    ))
}

/// Runs a read on a pooled connection in a blocking task, with the server's
/// state at hand, and maps its failure to `503` or `500`.
pub async fn run_read<T: Send + 'static>(
    state: &Arc<AppState>,
    read: impl FnOnce(&AppState, &rusqlite::Connection) -> Result<T, StorageError> + Send + 'static,
) -> Result<T, ApiError> {
    let reader_state = Arc::clone(state);
    storage::run_read(&state.readers, move |connection| {
        read(&reader_state, connection)
    })
    .await
    .map_err(|error| read_error(state, &error))
}

async fn list_logs(
    state: &Arc<AppState>,
    request: &Request<Incoming>,
    user: &User,
) -> Result<Response<Body>, ApiError> {
    let query = parse_list_query(request.uri().query(), user, state.config.timezone)?;
    // Serialized in the blocking task too, because a page holds up to
    // 1000 transactions.
    let body = run_read(state, move |state, connection| {
        let page = logs::list_transactions(connection, &query, now_ns(), state.config.stall_after)?;
        Ok(json_body(&page))
    })
    .await?;
    Ok(ok_with("application/json", body?))
}

async fn health(state: &Arc<AppState>) -> Result<Response<Body>, ApiError> {
    state
        .writer
        .health()
        .map_err(|unhealthy| ApiError::Unavailable(unhealthy.reason, unhealthy.cause))?;
    // Any failed read, a corrupt file too, makes the server unhealthy, so
    // that monitoring gets `503` as for every other fault.
    storage::run_read(&state.readers, storage::users::generation)
        .await
        .map_err(|error| {
            files_changed_error(state, &error).unwrap_or_else(|| {
                state.writer.record_read_damage(&error);
                let cause = format!("the database cannot be read: {error}");
                ApiError::Unavailable(UnavailableReason::from(&error), cause)
            })
        })?;
    Ok(ok_with("application/json", "{\"status\":\"ok\"}\n"))
}

/// Gathers the values of a scrape and renders every metric. The counts by
/// outcome and the file sizes are read in the blocking task.
async fn metrics(state: &Arc<AppState>) -> Result<Response<Body>, ApiError> {
    let (transactions, database_size_bytes) = run_read(state, |state, connection| {
        let all = ListQuery::default();
        let counts = logs::count_by_outcome(connection, &all, now_ns(), state.config.stall_after)?;
        Ok((counts, database_size(&state.config.db_path)))
    })
    .await?;
    let scraped = ScrapedValues {
        transactions,
        database_size_bytes,
        password_verifications: state.auth.verifications(),
        storage_up: state.writer.health().is_ok(),
    };
    Ok(ok_with(
        "text/plain; version=0.0.4; charset=utf-8",
        state.metrics.render(&scraped, &state.connections),
    ))
}

/// Returns the size of the database file and its WAL. SQLite keeps the WAL
/// beside the file that a symbolic link at `path` points to.
fn database_size(path: &std::path::Path) -> u64 {
    let real = files::real_path(path);
    let wal = files::companion(&real, "-wal");
    [real, wal]
        .iter()
        .filter_map(|file| std::fs::metadata(file).ok())
        .map(|metadata| metadata.len())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(codings: &[&'static str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for coding in codings {
            headers.append(TRANSFER_ENCODING, HeaderValue::from_static(coding));
        }
        headers
    }

    #[test]
    fn short_method_is_quoted_whole() {
        assert_eq!(quoted_method(&Method::DELETE), "DELETE");
    }

    #[test]
    fn long_method_is_cut() {
        let name = "X".repeat(MAX_QUOTED_METHOD_CHARS + 1);
        let method = Method::from_bytes(name.as_bytes()).expect("a token");
        assert_eq!(
            quoted_method(&method),
            format!("{}...", "X".repeat(MAX_QUOTED_METHOD_CHARS))
        );
    }

    #[test]
    fn no_transfer_coding_is_accepted() {
        assert!(check_transfer_coding(&headers(&[])).is_ok());
    }

    #[test]
    fn chunked_is_accepted() {
        assert!(check_transfer_coding(&headers(&["Chunked"])).is_ok());
    }

    #[test]
    fn gzip_before_chunked_is_rejected() {
        let error = check_transfer_coding(&headers(&["gzip, chunked"])).expect_err("gzip");
        assert_eq!(error.status(), hyper::StatusCode::BAD_REQUEST);
    }

    #[test]
    fn repeated_chunked_header_is_rejected() {
        assert!(check_transfer_coding(&headers(&["chunked", "chunked"])).is_err());
    }

    #[test]
    fn dot_dot_segment_is_resolved() {
        assert_eq!(
            resolve_dot_segments("/worker/log/../log/tx-dd"),
            "/worker/log/tx-dd"
        );
    }

    #[test]
    fn dot_segment_is_dropped() {
        assert_eq!(
            resolve_dot_segments("/worker/./log/tx-1"),
            "/worker/log/tx-1"
        );
    }

    #[test]
    fn last_dot_dot_segment_keeps_slash() {
        assert_eq!(resolve_dot_segments("/worker/log/a/.."), "/worker/log/");
    }

    #[test]
    fn dot_dot_above_root_stays_at_root() {
        assert_eq!(resolve_dot_segments("/../healthz"), "/healthz");
    }

    #[test]
    fn encoded_dots_are_no_dot_segment() {
        assert_eq!(dot_segment("/worker/log/%2E%2E/x"), None);
    }

    #[test]
    fn dots_in_id_are_no_dot_segment() {
        assert_eq!(dot_segment("/worker/log/a..b/x"), None);
    }

    #[test]
    fn no_body_without_length_headers() {
        assert_eq!(
            no_body_reason(&HeaderMap::new()),
            Some(NoBody::NoLengthHeaders)
        );
    }

    #[test]
    fn no_body_with_zero_length() {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_LENGTH, HeaderValue::from_static("0"));
        assert_eq!(no_body_reason(&headers), Some(NoBody::ZeroLength));
    }

    #[test]
    fn body_with_positive_length() {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_LENGTH, HeaderValue::from_static("10"));
        assert_eq!(no_body_reason(&headers), None);
    }

    #[test]
    fn chunked_body_has_body() {
        assert_eq!(no_body_reason(&headers(&["chunked"])), None);
    }
}
