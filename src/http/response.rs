//! Responses: the error type of the HTTP layer, its one mapping to status
//! codes and headers, and the JSON error body. Every JSON body that the
//! server sends ends with one newline, so that what `curl` prints ends its
//! line before the shell prompt.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use std::pin::Pin;
use std::task::{Context, Poll};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Frame, SizeHint};
use hyper::header::{
    HeaderName, HeaderValue, ALLOW, CONNECTION, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE,
};
use hyper::{Method, Response, StatusCode};
use serde::Serialize;

use super::connection::InProgress;
use super::handlers::APPEND_HINT;
use super::head_fault::HeadFault;
use super::log_stream::{BrokenStream, StreamedLog};
use crate::auth::basic::{BasicError, EdgeWhitespace, EmptyParts, Padding};
use crate::entry::MAX_MESSAGE_BYTES;
use crate::metrics::UnavailableReason;
use crate::storage::logs::format_instant;
use crate::storage::writer::SubmitError;
use crate::storage::{FileChange, StorageError};
use crate::validate::timestamp::{
    repeated_local_time, timestamp_precision, Precision, RepeatedLocalTime,
};
use crate::validate::{ParamError, CUT_MESSAGE_HINT};

/// The body of a response: bytes known in full, sent with a
/// `Content-Length`, or the pages of a log that [`super::log_stream`] reads while
/// the body is sent, in chunked transfer coding.
pub struct Body(BodyKind);

enum BodyKind {
    Full(Full<Bytes>),
    Streamed(StreamedLog),
}

impl Body {
    pub fn new(bytes: Bytes) -> Body {
        Body(BodyKind::Full(Full::new(bytes)))
    }

    pub fn streamed(log: StreamedLog) -> Body {
        Body(BodyKind::Streamed(log))
    }

    /// Keeps `request` counted as in progress while a streamed log is sent,
    /// so that a stop lets the stream go on until the server exits. A body
    /// in full drops `request` at once, because the server has no more work
    /// to do for it.
    pub fn hold_until_sent(&mut self, request: InProgress) {
        if let BodyKind::Streamed(log) = &mut self.0 {
            log.hold(request);
        }
    }
}

impl hyper::body::Body for Body {
    type Data = Bytes;
    type Error = BrokenStream;

    fn poll_frame(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BrokenStream>>> {
        match &mut self.get_mut().0 {
            BodyKind::Full(full) => Pin::new(full)
                .poll_frame(context)
                .map_err(|never| match never {}),
            BodyKind::Streamed(log) => log.poll_frame(context),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.0 {
            BodyKind::Full(full) => full.is_end_stream(),
            BodyKind::Streamed(log) => log.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.0 {
            BodyKind::Full(full) => full.size_hint(),
            BodyKind::Streamed(_) => SizeHint::default(),
        }
    }
}

/// The reason a request failed. Each variant maps to one status code in
/// [`ApiError::status`]; a new variant must be given one there.
#[derive(Debug)]
pub enum ApiError {
    NotFound,
    /// A path that names no resource, but would without its trailing
    /// slash; the text is the path without it.
    TrailingSlash(String),
    /// A path that names a resource only in other letter case; the text is
    /// the path meant.
    WrongCase(String),
    /// A path under `/worker/log/` with more than one segment, as a
    /// transaction id with a `/` in it gives.
    SlashInTransactionId,
    /// A path with a `.` or `..` segment, which the server does not
    /// resolve, with the segment. `meant` is the path with its dot segments
    /// resolved, as curl sends it without `--path-as-is`, when that path
    /// names a resource that takes the request's method.
    DotSegment {
        segment: &'static str,
        meant: Option<String>,
    },
    /// A path under `/worker/log/worker/log/`, as a client whose base URL
    /// already ends with `/worker/log` sends, with the path meant.
    RepeatedBasePath(String),
    /// A path with `//` in it, with the path meant. A path that starts with
    /// `//` comes from a base URL that ends with `/`. One with `//` inside
    /// comes from a script that joins parts that end and start with `/`.
    DoubleSlash {
        meant: String,
        at_start: bool,
    },
    /// A method that the resource does not take.
    MethodNotAllowed {
        /// The method of the request, cut to [`MAX_QUOTED_METHOD_CHARS`].
        method: String,
        /// The value of the `Allow` header.
        allow: &'static str,
        /// The message for a method that clients send to this path by
        /// mistake, naming the path or the method that they meant, or
        /// `None` for the generic message.
        message: Option<String>,
    },
    /// A missing, repeated or malformed `Authorization` header.
    Unauthorized(BasicError),
    /// An unknown user, or a wrong password with the name of its existing
    /// user. The name is logged, never sent, and the response has the status
    /// and headers of [`ApiError::Unauthorized`]. The message names the parts
    /// of the credentials that were sent empty, or else the whitespace that
    /// they start or end with.
    BadCredentials {
        existing_user: Option<String>,
        empty: EmptyParts,
        padding: Padding,
    },
    Throttled(Duration),
    Forbidden(String),
    /// A request other than `GET` and `HEAD` that a browser sent for a page
    /// of another origin, which would carry the browser's credentials for
    /// this server. The text is the header that marks it, as `name: "value"`.
    CrossOrigin(String),
    PayloadTooLarge,
    /// A request head or body that did not arrive in full within the read
    /// timeout, `timeout`.
    RequestTimeout {
        part: RequestPart,
        timeout: Duration,
    },
    InvalidParameters(ParamError),
    /// A bad query parameter of the read API.
    InvalidQuery(String),
    /// A request body the HTTP layer could not read.
    MalformedBody(String),
    /// A `GET` or `HEAD` of a transaction's log with a body, which the read
    /// would ignore, with the method.
    ReadWithBody(Method),
    /// A request head that breaks a rule of HTTP/1.1 about its headers, such
    /// as a missing, repeated or invalid `Host`. The text is the message.
    InvalidHeader(String),
    /// A request head that hyper could not parse, which it rejects before
    /// the request reaches a handler.
    UnparsableHead(HeadFault),
    /// The client closed the connection, or its sending side, before the
    /// whole body arrived; the text is the cause. The request gets no
    /// response, because the client sent an incomplete request and may not
    /// read one, so the status and message here are never sent.
    ClientClosed(String),
    /// An entry with the same key and another message is stored, with the
    /// likely cause.
    Conflict(ConflictCause),
    NoSuchLog,
    /// The cause, the text, is logged, the reason counted, and the client
    /// gets `Retry-After`.
    Unavailable(UnavailableReason, String),
    /// An entry whose batch failed to commit, built by [`ApiError::not_stored`].
    /// The reason is that of a `503` when a retry may succeed, and `None`
    /// means `500`. The storage thread logs failed batches itself (the first
    /// at once, later ones in one line per 10 s or when a commit works
    /// again), so the request's own log line is at debug.
    NotStored(Arc<StorageError>, Option<UnavailableReason>),
    /// The cause is logged; the client gets a generic sentence.
    Internal(String),
}

/// The likely cause of a `409`, which its message names.
#[derive(Debug, PartialEq, Eq)]
pub enum ConflictCause {
    /// The timestamp is a local time without an offset that its zone shows
    /// twice, so a report from the second pass of that hour meets an entry
    /// from the first.
    RepeatedLocalTime(RepeatedLocalTime),
    /// The timestamp sent, `sent`, has no fraction of a second, so all
    /// reports within one `precision`, such as one second for
    /// `date -Iseconds`, have the same timestamp.
    NoFraction { sent: String, precision: Precision },
    /// The timestamp has a fraction of a second, or a form whose precision
    /// is not known.
    Unknown,
}

impl ConflictCause {
    /// Returns the likely cause of a `409` for the timestamp `sent`, which
    /// `zone` resolves when it has no offset.
    pub fn of(sent: String, zone: Tz) -> ConflictCause {
        if let Some(repeated) = repeated_local_time(&sent, zone) {
            return ConflictCause::RepeatedLocalTime(repeated);
        }
        match timestamp_precision(&sent) {
            Some(Precision::Fraction) | None => ConflictCause::Unknown,
            Some(precision) => ConflictCause::NoFraction { sent, precision },
        }
    }
}

/// Returns the message of a `409` with `cause`.
fn conflict_message(cause: &ConflictCause) -> String {
    let conflict = "An entry with this transaction id, timestamp, stage and status is already \
                    stored with a different message; the stored entry is kept.";
    match cause {
        ConflictCause::Unknown => format!("{conflict} Send a new timestamp for a new entry."),
        ConflictCause::RepeatedLocalTime(repeated) => format!(
            "{conflict} The local time {} occurs twice in {}, at {} and again at {} after the \
             clocks are set back, and without an offset it is read as the first, so a report \
             from the second pass of that hour meets an entry from the first. Send timestamps \
             with their UTC offset and a fraction of a second, as `date -Ins` prints them, so \
             that each report has its own instant.",
            repeated.local, repeated.zone, repeated.earlier, repeated.later
        ),
        ConflictCause::NoFraction { sent, precision } => {
            let (written, period) = match precision {
                Precision::Day => ("is a date without a time", "on the same day"),
                Precision::Hour => ("has whole hours", "within the same hour"),
                Precision::Minute => ("has whole minutes", "within the same minute"),
                Precision::Second | Precision::Fraction => {
                    ("has whole seconds", "within the same second")
                }
            };
            format!(
                "{conflict} The timestamp {sent:?} {written}, so two reports of one stage and \
                 status {period} have the same timestamp, even when each takes a new one. Send \
                 each report with a timestamp that has a fraction of a second, as `date -Ins` \
                 prints it."
            )
        }
    }
}

/// The maximum number of characters of a request's method that a `405`
/// message repeats. hyper takes an extension method as long as the head.
pub const MAX_QUOTED_METHOD_CHARS: usize = 32;

/// The part of a request that the read timeout covers as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestPart {
    Head,
    Body,
}

/// Returns the message of a `503` after the database file, or its `-wal` or
/// `-shm` file, changed, a state that only a restart by the operator ends.
/// It names the sections of docs/operators.md whose steps fit `change`, as
/// [`FileChange::guide_sections`] does for the log.
fn files_changed_message(change: FileChange) -> &'static str {
    match change {
        FileChange::Missing => {
            "The server stores nothing until its operator restarts it, because a file of its \
             database was deleted or moved while it ran; the steps are in docs/operators.md \
             under \"Deleting or moving the database's files\"."
        }
        FileChange::Replaced => {
            "The server stores nothing until its operator restarts it, because another file \
             replaced a file of its database while it ran; the steps are in docs/operators.md \
             under \"Deleting or moving the database's files\" and \"Restoring a backup\"."
        }
        FileChange::Overwritten => {
            "The server stores nothing until its operator restarts it, because another program \
             changed its database file while it ran; the steps are in docs/operators.md under \
             \"Restoring a backup\"."
        }
        FileChange::Unknown => {
            "The server stores nothing until its operator restarts it, because its database \
             files changed while it ran; the steps are in docs/operators.md under \"Deleting or \
             moving the database's files\" and \"Restoring a backup\"."
        }
    }
}

/// The message of a `503` of `/healthz` after a write found a damaged page,
/// a state that lasts until the operator restarts the server.
const DAMAGED_MESSAGE: &str =
    "The database file is damaged, so entries whose place in the file is on a damaged page \
     are not stored; the steps to recover are in docs/operators.md under \"A damaged database \
     file\".";

/// The message of a `500`, whose cause only the server log shows.
const INTERNAL_MESSAGE: &str =
    "The server failed to handle the request; the server log has the cause.";

/// Returns the message of a `503` for `reason`: what failed, and whether a
/// retry alone can succeed or the server's operator must act first.
fn unavailable_message(reason: UnavailableReason) -> &'static str {
    match reason {
        UnavailableReason::Overloaded => {
            "The server's queue of entries waiting to be stored is full; retry shortly."
        }
        UnavailableReason::Stopped => {
            "The server is shutting down or its storage has stopped, so the request was not \
             completed; retry once the server runs again."
        }
        UnavailableReason::UserChanged => {
            "The user of these credentials was changed on each try to store the entry, so it \
             was not stored; retry shortly."
        }
        UnavailableReason::Busy => {
            "Another process held a lock on the server's database for longer than the server \
             waits; retry shortly."
        }
        UnavailableReason::DiskFull => {
            "The disk of the server's database is full, so nothing is stored; retry after the \
             server's operator frees space, as docs/operators.md says under \"Disk space\"."
        }
        UnavailableReason::ReadOnly => {
            "The server's database cannot be written, because its file or file system is \
             read-only; retry after the server's operator makes it writable (the server log \
             names the file)."
        }
        UnavailableReason::IoError => {
            "The server's database failed with an I/O error; retry shortly, and if the error \
             persists, the server log has the cause."
        }
        UnavailableReason::FileChanged(change) => files_changed_message(change),
        UnavailableReason::Damaged => DAMAGED_MESSAGE,
        UnavailableReason::Unreadable => {
            "The server cannot read a file of its database; retry shortly, and if the error \
             persists, the server log has the cause."
        }
        UnavailableReason::DatabaseError => {
            "The server's database failed; retry shortly, and if the error persists, the server \
             log has the cause."
        }
        UnavailableReason::Connections => CONNECTIONS_MESSAGE,
    }
}

/// The message of a `503` for a connection over `--max-connections`, which
/// the accept loop sends before hyper reads the request.
pub const CONNECTIONS_MESSAGE: &str = "Too many open connections; retry shortly.";

/// How long clients are asked to wait before retrying a `503`.
const RETRY_AFTER_UNAVAILABLE: u64 = 1;

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    message: &'a str,
}

impl ApiError {
    /// Wraps the failure of an entry's batch, with the reason of a `503` when
    /// a retry may succeed.
    pub fn not_stored(error: Arc<StorageError>) -> ApiError {
        let reason = error
            .is_transient()
            .then(|| UnavailableReason::from(&*error));
        ApiError::NotStored(error, reason)
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::NotFound
            | ApiError::TrailingSlash(_)
            | ApiError::WrongCase(_)
            | ApiError::SlashInTransactionId
            | ApiError::DotSegment { .. }
            | ApiError::RepeatedBasePath(_)
            | ApiError::DoubleSlash { .. }
            | ApiError::NoSuchLog => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Unauthorized(_) | ApiError::BadCredentials { .. } => StatusCode::UNAUTHORIZED,
            ApiError::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Forbidden(_) | ApiError::CrossOrigin(_) => StatusCode::FORBIDDEN,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::RequestTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
            ApiError::InvalidParameters(_)
            | ApiError::InvalidQuery(_)
            | ApiError::MalformedBody(_)
            | ApiError::ReadWithBody(_)
            | ApiError::InvalidHeader(_)
            | ApiError::ClientClosed(_) => StatusCode::BAD_REQUEST,
            ApiError::UnparsableHead(fault) => fault.status(),
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Unavailable(..) | ApiError::NotStored(_, Some(_)) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::NotStored(_, None) | ApiError::Internal(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    fn code(&self) -> &'static str {
        match self {
            ApiError::NotFound
            | ApiError::TrailingSlash(_)
            | ApiError::WrongCase(_)
            | ApiError::SlashInTransactionId
            | ApiError::DotSegment { .. }
            | ApiError::RepeatedBasePath(_)
            | ApiError::DoubleSlash { .. } => "not_found",
            ApiError::NoSuchLog => "no_such_log",
            ApiError::MethodNotAllowed { .. } => "method_not_allowed",
            ApiError::Unauthorized(_) | ApiError::BadCredentials { .. } => "unauthorized",
            ApiError::Throttled(_) => "too_many_failed_logins",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::CrossOrigin(_) => "cross_origin_request",
            ApiError::PayloadTooLarge => "payload_too_large",
            ApiError::RequestTimeout { .. } => "request_timeout",
            ApiError::InvalidParameters(error) => error.code(),
            ApiError::InvalidQuery(_) => "invalid_query",
            ApiError::MalformedBody(_) | ApiError::ClientClosed(_) => "malformed_body",
            ApiError::ReadWithBody(_) => "body_not_allowed",
            ApiError::InvalidHeader(_) => "invalid_header",
            ApiError::UnparsableHead(fault) => fault.code(),
            ApiError::Conflict(_) => "conflict",
            ApiError::Unavailable(..) | ApiError::NotStored(_, Some(_)) => "unavailable",
            ApiError::NotStored(_, None) | ApiError::Internal(_) => "internal_error",
        }
    }

    /// Returns the sentence that the client gets: what failed and how to fix it.
    pub fn message(&self) -> String {
        match self {
            ApiError::NotFound => "No resource at this path; the write API is POST \
                 /worker/log/{transaction_id}."
                .into(),
            ApiError::SlashInTransactionId => "No resource at this path, because a transaction id \
                 cannot contain '/'; put the id in one path segment, such as \
                 /worker/log/db1-2026-12-04 in place of /worker/log/db1/2026-12-04."
                .into(),
            ApiError::DotSegment { segment, meant } => {
                let resolved = match meant {
                    Some(meant) => format!(
                        "; send the request to {meant}, the path with its . and .. segments \
                         resolved"
                    ),
                    None => String::new(),
                };
                format!(
                    "No resource at this path, because it contains the segment {segment}, which \
                     the server does not resolve{resolved}. curl removes . and .. segments \
                     unless given --path-as-is, so a transaction id that is . or .. must be \
                     percent-encoded, as %2E or %2E%2E."
                )
            }
            ApiError::DoubleSlash {
                meant,
                at_start: true,
            } => format!(
                "No resource at this path, because it starts with //, as a client whose base URL \
                 ends with / sends; check that URL, and send the request to {meant}."
            ),
            ApiError::DoubleSlash {
                meant,
                at_start: false,
            } => format!(
                "No resource at this path, because it contains //, which appears where a part \
                 of a URL that ends with / is joined to one that starts with /; send the request \
                 to {meant}."
            ),
            ApiError::RepeatedBasePath(meant) => format!(
                "No resource at this path, because it repeats /worker/log, as a client whose \
                 base URL already ends with /worker/log sends; check that URL, and send the \
                 request to {meant}."
            ),
            ApiError::WrongCase(meant) => format!(
                "No resource at this path, because paths are case-sensitive; send the request \
                 to {meant}."
            ),
            ApiError::TrailingSlash(stripped) => format!(
                "No resource at this path, because it ends with a slash; send the request to \
                 {stripped}."
            ),
            ApiError::NoSuchLog => "No entries for this transaction id; check the id, or list the \
                 transactions with GET /worker/log."
                .into(),
            ApiError::MethodNotAllowed {
                message: Some(message),
                ..
            } => message.clone(),
            ApiError::MethodNotAllowed {
                method,
                allow,
                message: None,
            } => {
                format!("Method {method} is not allowed here; use {allow}.")
            }
            ApiError::Unauthorized(error) => unauthorized_message(*error).into(),
            // The same text for an unknown user and a wrong password, so that
            // the response does not tell which user names exist. An empty
            // part is named, because that depends only on what was sent.
            ApiError::BadCredentials { empty, padding, .. } => {
                bad_credentials_message(*empty, *padding)
            }
            ApiError::Throttled(wait) => format!(
                "Too many failed logins from this address, by any user; retry in {}, and check \
                 the server log for the rejected logins.",
                seconds(retry_seconds(*wait))
            ),
            ApiError::Forbidden(reason) => reason.clone(),
            ApiError::CrossOrigin(header) => format!(
                "A browser sent this request for a page of another origin ({header}), and it \
                 would carry the credentials that the browser keeps for this server, so it is \
                 rejected; send requests with curl or an HTTP library, which send no such header."
            ),
            ApiError::PayloadTooLarge => format!(
                "The request body is larger than {} bytes, and an entry's message may have at \
                 most {MAX_MESSAGE_BYTES} bytes of UTF-8, so {CUT_MESSAGE_HINT}.",
                crate::http::MAX_BODY_BYTES
            ),
            ApiError::RequestTimeout {
                part: RequestPart::Head,
                timeout,
            } => format!(
                "The request head did not arrive in full within the read timeout of {}; send \
                 the whole head at once, as HTTP clients do.",
                seconds(timeout.as_secs())
            ),
            ApiError::RequestTimeout {
                part: RequestPart::Body,
                timeout,
            } => format!(
                "The request body did not arrive in full within the read timeout of {}, which \
                 covers the whole body and not only the pauses in it; send the body faster, or \
                 have the server's --read-timeout raised.",
                seconds(timeout.as_secs())
            ),
            ApiError::InvalidParameters(error) => error.to_string(),
            ApiError::InvalidQuery(message)
            | ApiError::MalformedBody(message)
            | ApiError::InvalidHeader(message) => message.clone(),
            ApiError::UnparsableHead(fault) => fault.message(),
            ApiError::ReadWithBody(method) => format!(
                "{method} of a transaction's log reads it and takes no body, but this request has \
                 one, so nothing was stored. {APPEND_HINT}"
            ),
            ApiError::ClientClosed(_) => {
                "The connection closed before the whole request body arrived.".into()
            }
            ApiError::Conflict(cause) => conflict_message(cause),
            ApiError::Unavailable(reason, _) | ApiError::NotStored(_, Some(reason)) => {
                unavailable_message(*reason).into()
            }
            ApiError::NotStored(_, None) | ApiError::Internal(_) => INTERNAL_MESSAGE.into(),
        }
    }

    /// Returns true for a failure whose cause usually lasts and fails many
    /// requests, so that its log lines are counted together: a `503`, and
    /// a `500` of a write whose batch failed, whose cause the storage
    /// thread logs.
    pub fn is_grouped_in_log(&self) -> bool {
        matches!(self, ApiError::Unavailable(..) | ApiError::NotStored(..))
    }

    /// Returns the reason of a `503`, or `None` for any other status.
    pub fn unavailable_reason(&self) -> Option<UnavailableReason> {
        match self {
            ApiError::Unavailable(reason, _) | ApiError::NotStored(_, Some(reason)) => {
                Some(*reason)
            }
            _ => None,
        }
    }

    /// Builds the response: a JSON body and the headers the status requires.
    pub fn into_response(self) -> Response<Body> {
        let message = self.message();
        let body = json_line(&ErrorBody {
            error: self.code(),
            message: &message,
        })
        .unwrap_or_default();
        let mut response = Response::new(Body::new(Bytes::from(body)));
        *response.status_mut() = self.status();
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        match &self {
            ApiError::Unauthorized(_) | ApiError::BadCredentials { .. } => {
                headers.insert(
                    WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"translog\", charset=\"UTF-8\""),
                );
            }
            ApiError::MethodNotAllowed { allow, .. } => {
                headers.insert(ALLOW, HeaderValue::from_static(allow));
            }
            ApiError::Throttled(wait) => {
                headers.insert(RETRY_AFTER, HeaderValue::from(retry_seconds(*wait)));
            }
            ApiError::Unavailable(..) | ApiError::NotStored(_, Some(_)) => {
                headers.insert(RETRY_AFTER, HeaderValue::from(RETRY_AFTER_UNAVAILABLE));
            }
            // The rest of the body is unread, so the connection cannot carry
            // another request. After an unparsable head, the server cannot
            // tell where the next request would start.
            ApiError::PayloadTooLarge
            | ApiError::UnparsableHead(_)
            | ApiError::RequestTimeout { .. }
            | ApiError::MalformedBody(_)
            | ApiError::ReadWithBody(_)
            | ApiError::ClientClosed(_) => {
                headers.insert(CONNECTION, HeaderValue::from_static("close"));
            }
            ApiError::NotFound
            | ApiError::TrailingSlash(_)
            | ApiError::WrongCase(_)
            | ApiError::SlashInTransactionId
            | ApiError::DotSegment { .. }
            | ApiError::RepeatedBasePath(_)
            | ApiError::DoubleSlash { .. }
            | ApiError::NoSuchLog
            | ApiError::Forbidden(_)
            | ApiError::CrossOrigin(_)
            | ApiError::InvalidParameters(_)
            | ApiError::InvalidQuery(_)
            | ApiError::InvalidHeader(_)
            | ApiError::Conflict(_)
            | ApiError::NotStored(_, None)
            | ApiError::Internal(_) => {}
        }
        response
    }

    /// Returns the level and text of the server log line for this error: the cause
    /// for `5xx`, what was wrong for rejected input. Requests for unknown paths
    /// and requests without credentials (a browser's first try) log at debug,
    /// because scanners and browsers send them all the time.
    pub fn log_detail(&self) -> (log::Level, String) {
        match self {
            ApiError::Internal(cause) => (log::Level::Error, format!("failed: {cause}")),
            ApiError::Unavailable(_, cause) => (log::Level::Warn, format!("not served: {cause}")),
            // The storage thread logs the cause of the failed batch, so each
            // of its requests is logged with the message the client got.
            ApiError::NotStored(..) => {
                (log::Level::Warn, format!("not stored: {}", self.message()))
            }
            ApiError::ClientClosed(cause) => (
                log::Level::Info,
                format!(
                    "ended: the client closed the connection before it sent the whole body \
                     ({cause})"
                ),
            ),
            ApiError::Unauthorized(error @ (BasicError::Missing | BasicError::EmptyBasic)) => {
                (log::Level::Debug, format!("rejected: {}", error.reason()))
            }
            ApiError::Unauthorized(error) => {
                (log::Level::Warn, format!("rejected: {}", error.reason()))
            }
            ApiError::BadCredentials {
                existing_user: Some(user),
                empty,
                padding,
            } => {
                let cause = empty_parts_clause(*empty)
                    .map(str::to_string)
                    .or_else(|| padding_clause(*padding))
                    .map(|clause| format!(", because {clause}"))
                    .unwrap_or_default();
                (
                    log::Level::Warn,
                    format!("rejected: wrong password{cause}, attempted_user={user:?}"),
                )
            }
            ApiError::BadCredentials {
                existing_user: None,
                empty,
                padding,
            } => (log::Level::Warn, unknown_user_log_detail(*empty, *padding)),
            ApiError::NotFound
            | ApiError::TrailingSlash(_)
            | ApiError::WrongCase(_)
            | ApiError::SlashInTransactionId
            | ApiError::DotSegment { .. }
            | ApiError::RepeatedBasePath(_)
            | ApiError::DoubleSlash { .. }
            | ApiError::MethodNotAllowed { .. }
            | ApiError::NoSuchLog => (log::Level::Debug, format!("rejected: {}", self.message())),
            ApiError::Throttled(_)
            | ApiError::Forbidden(_)
            | ApiError::CrossOrigin(_)
            | ApiError::PayloadTooLarge
            | ApiError::RequestTimeout { .. }
            | ApiError::InvalidParameters(_)
            | ApiError::InvalidQuery(_)
            | ApiError::MalformedBody(_)
            | ApiError::ReadWithBody(_)
            | ApiError::InvalidHeader(_)
            | ApiError::Conflict(_) => (log::Level::Warn, format!("rejected: {}", self.message())),
            // The connection logs these with hyper's cause at info.
            ApiError::UnparsableHead(_) => {
                (log::Level::Info, format!("rejected: {}", self.message()))
            }
        }
    }
}

/// Returns the clause that names the empty parts of credentials, to
/// complete "because", or `None` when no part is empty.
pub fn empty_parts_clause(empty: EmptyParts) -> Option<&'static str> {
    match empty {
        EmptyParts::None => None,
        EmptyParts::UserName => Some("the user name is empty"),
        EmptyParts::Password => Some("the password is empty"),
        EmptyParts::Both => Some("the user name and the password are empty"),
    }
}

/// Returns the clause that names the whitespace that the parts of
/// credentials start or end with, to complete "because", or `None` when
/// neither part has any.
pub fn padding_clause(padding: Padding) -> Option<String> {
    let describe = |part: &str, found: EdgeWhitespace| {
        let edge = if found.at_end { "ends" } else { "starts" };
        let character = match found.character {
            '\r' => "a carriage return (\\r)".to_string(),
            '\n' => "a newline (\\n)".to_string(),
            '\t' => "a tab".to_string(),
            ' ' => "a space".to_string(),
            other => format!("the whitespace character U+{:04X}", u32::from(other)),
        };
        format!("the {part} {edge} with {character}")
    };
    let clauses: Vec<String> = [
        padding.user_name.map(|found| describe("user name", found)),
        padding.password.map(|found| describe("password", found)),
    ]
    .into_iter()
    .flatten()
    .collect();
    (!clauses.is_empty()).then(|| clauses.join(" and "))
}

/// Returns the message of a `401` for credentials whose parts start or end
/// with whitespace, as `padding` finds it, or `None` when they do not.
fn padded_credentials_message(padding: Padding) -> Option<String> {
    let clause = padding_clause(padding)?;
    let has_carriage_return = [padding.user_name, padding.password]
        .into_iter()
        .flatten()
        .any(|found| found.character == '\r');
    // A password may end with whitespace on purpose, and then the login
    // failed for another reason.
    let unless = if padding.password.is_some() {
        ", unless it is part of the password"
    } else {
        ""
    };
    Some(if has_carriage_return {
        format!(
            "Authentication failed, because {clause}, which a file or script with Windows \
             (CRLF) line ends leaves at the end of each line, as in curl -u \
             \"user:$(cat FILE)\"; remove the carriage return, as $(tr -d '\\r' < FILE) does{unless}."
        )
    } else {
        format!("Authentication failed, because {clause}; remove the whitespace{unless}.")
    })
}

/// Returns the message of a `401` for an unknown user or a wrong password.
/// It is the same for both, and depends only on what the client sent: the
/// parts of the credentials that were sent empty, or else the whitespace
/// that they start or end with.
fn bad_credentials_message(empty: EmptyParts, padding: Padding) -> String {
    let Some(clause) = empty_parts_clause(empty) else {
        return padded_credentials_message(padding).unwrap_or_else(|| {
            "Authentication failed; send valid credentials with HTTP Basic authentication \
             (curl -u user:password)."
                .into()
        });
    };
    // An empty user name mostly comes from a variable or command that
    // produced nothing, such as a cat of a file in another directory.
    let advice = match empty {
        EmptyParts::Password => {
            "send it after the colon (curl -u user:password), and check the variable or command \
             that supplies it"
        }
        _ => {
            "send credentials as curl -u user:password, and check the variable or command that \
             supplies them, such as $(cat translog.db.credentials), which reads that file in the \
             working directory"
        }
    };
    format!("Authentication failed, because {clause}; {advice}.")
}

/// Returns the server log text for a failed login of an unknown user. The
/// name sent is not logged unless it is empty, because it may be a password
/// typed into the user name field.
fn unknown_user_log_detail(empty: EmptyParts, padding: Padding) -> String {
    match empty {
        EmptyParts::UserName | EmptyParts::Both => format!(
            "rejected: unknown user, because {}",
            empty_parts_clause(empty).unwrap_or_default()
        ),
        EmptyParts::Password => "rejected: unknown user, and the password is empty; the name is \
                                 not logged, because it may be a password typed into the user \
                                 name field"
            .to_string(),
        EmptyParts::None => {
            let cause = padding_clause(padding)
                .map(|clause| format!(", and {clause}"))
                .unwrap_or_default();
            format!(
                "rejected: unknown user{cause}; the name is not logged, because it may be a \
                 password typed into the user name field"
            )
        }
    }
}

/// Returns the message of a `401` for an `Authorization` header that is
/// missing, repeated or malformed. Each describes only the header that the
/// client sent, and nothing about the users.
fn unauthorized_message(error: BasicError) -> &'static str {
    match error {
        BasicError::Missing => {
            "The request has no Authorization header; send credentials with HTTP Basic \
             authentication (curl -u user:password)."
        }
        BasicError::NotBasic => {
            "The Authorization header does not use the Basic scheme; send credentials with HTTP \
             Basic authentication (curl -u user:password)."
        }
        BasicError::TabAfterScheme => {
            "The Authorization header has a tab after Basic, but the scheme and the credentials \
             must be separated by a space; send Basic, a space and the base64 of user:password \
             (curl -u user:password)."
        }
        BasicError::EmptyBasic => {
            "The Authorization header has the Basic scheme but no credentials after it; send \
             Basic followed by the base64 of user:password (curl -u user:password)."
        }
        BasicError::NotAscii => {
            "The Basic credentials contain bytes that are not ASCII, so they are not base64; send \
             the base64 of user:password (curl -u user:password)."
        }
        BasicError::BadBase64 => {
            "The Basic credentials are not valid base64; send the base64 of user:password \
             (curl -u user:password)."
        }
        BasicError::MissingPadding => {
            "The Basic credentials are base64 without the = padding at its end; send the padded \
             base64 of user:password, as the base64 command and curl -u user:password write it."
        }
        BasicError::NotUtf8 => {
            "The Basic credentials do not decode to UTF-8 text; encode user:password as UTF-8 \
             before base64."
        }
        BasicError::NoColon => {
            "The Basic credentials have no colon between user and password; send the base64 of \
             user:password (curl -u user:password)."
        }
        BasicError::Repeated => {
            "The request has more than one Authorization header; send exactly one."
        }
    }
}

/// Returns `count` seconds as a message writes them, such as `1 second` or
/// `10 seconds`.
fn seconds(count: u64) -> String {
    match count {
        1 => "1 second".to_string(),
        count => format!("{count} seconds"),
    }
}

fn retry_seconds(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

impl From<ParamError> for ApiError {
    fn from(error: ParamError) -> Self {
        ApiError::InvalidParameters(error)
    }
}

impl From<SubmitError> for ApiError {
    fn from(error: SubmitError) -> Self {
        match error {
            SubmitError::Overloaded => ApiError::Unavailable(
                UnavailableReason::Overloaded,
                "the storage queue is full".into(),
            ),
            SubmitError::Stopped => ApiError::Unavailable(
                UnavailableReason::Stopped,
                "the server is shutting down".into(),
            ),
        }
    }
}

/// `200 OK` with an empty body.
pub fn empty_ok() -> Response<Body> {
    Response::new(Body::new(Bytes::new()))
}

/// The header of a write's `200` with the instant that the timestamp was
/// read as, in RFC 3339 UTC with nanoseconds, as the read API shows it.
pub const ENTRY_TIMESTAMP: HeaderName = HeaderName::from_static("entry-timestamp");

/// The header of a write's `200` with the IANA time zone that read a
/// timestamp sent without an offset. It is absent for other timestamps.
pub const ENTRY_TIME_ZONE: HeaderName = HeaderName::from_static("entry-time-zone");

/// The header of a write's `200`: `stored` when the request stored the entry,
/// `repeated` when the entry repeats a stored one exactly.
pub const ENTRY_OUTCOME: HeaderName = HeaderName::from_static("entry-outcome");

/// `200 OK` for a write, with an empty body and the headers that show how the
/// server read the entry: [`ENTRY_TIMESTAMP`], [`ENTRY_TIME_ZONE`] and
/// [`ENTRY_OUTCOME`]. The zone and outcome values are static text, so
/// besides the header map's storage, the only allocation is the formatted
/// instant, which the header value takes over without a copy.
pub fn entry_ok(instant: DateTime<Utc>, local_zone: Option<Tz>, repeated: bool) -> Response<Body> {
    let mut response = empty_ok();
    let headers = response.headers_mut();
    // RFC 3339 text is ASCII without control characters, so it is always a
    // valid header value.
    if let Ok(value) = HeaderValue::try_from(format_instant(instant)) {
        headers.insert(ENTRY_TIMESTAMP, value);
    }
    if let Some(zone) = local_zone {
        headers.insert(ENTRY_TIME_ZONE, HeaderValue::from_static(zone.name()));
    }
    let outcome = if repeated { "repeated" } else { "stored" };
    headers.insert(ENTRY_OUTCOME, HeaderValue::from_static(outcome));
    response
}

/// `200 OK` with a body of the given content type.
pub fn ok_with(content_type: &'static str, body: impl Into<Bytes>) -> Response<Body> {
    ok_with_body(content_type, Body::new(body.into()))
}

/// `200 OK` with `body`, of the given content type.
pub fn ok_with_body(content_type: &'static str, body: Body) -> Response<Body> {
    let mut response = Response::new(body);
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// Serializes a JSON response body, for [`ok_with`] and the content type
/// `application/json`.
///
/// # Errors
///
/// [`ApiError::Internal`] when serde cannot serialize `value`.
pub fn json_body(value: &impl Serialize) -> Result<Bytes, ApiError> {
    json_line(value)
        .map(Bytes::from)
        .map_err(|error| ApiError::Internal(format!("serializing JSON: {error}")))
}

/// Encodes `response` as HTTP/1.1 bytes with `Date` and `Content-Length`
/// headers, for a connection that hyper no longer serves. The callers pass
/// error responses, whose body is in full, so collecting it does not fail;
/// if it did, the response would go out with an empty body.
pub async fn encode_http1(response: Response<Body>) -> Vec<u8> {
    let (parts, body) = response.into_parts();
    let body = body
        .collect()
        .await
        .map(|collected| collected.to_bytes())
        .unwrap_or_default();
    let status = parts.status;
    let mut encoded = format!(
        "HTTP/1.1 {} {}\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or("")
    )
    .into_bytes();
    for (name, value) in &parts.headers {
        encoded.extend_from_slice(name.as_str().as_bytes());
        encoded.extend_from_slice(b": ");
        encoded.extend_from_slice(value.as_bytes());
        encoded.extend_from_slice(b"\r\n");
    }
    let date = chrono::Utc::now().format("%a, %d %b %Y %H:%M:%S GMT");
    encoded.extend_from_slice(format!("date: {date}\r\n").as_bytes());
    encoded.extend_from_slice(format!("content-length: {}\r\n\r\n", body.len()).as_bytes());
    encoded.extend_from_slice(&body);
    encoded
}

/// Serializes `value` as compact JSON followed by one newline.
fn json_line(value: &impl Serialize) -> serde_json::Result<Vec<u8>> {
    let mut body = serde_json::to_vec(value)?;
    body.push(b'\n');
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_credentials_log_at_debug() {
        let (level, _) = ApiError::Unauthorized(BasicError::Missing).log_detail();
        assert_eq!(level, log::Level::Debug);
    }

    #[test]
    fn malformed_credentials_log_at_warn() {
        let (level, _) = ApiError::Unauthorized(BasicError::NotAscii).log_detail();
        assert_eq!(level, log::Level::Warn);
    }

    #[test]
    fn unauthorized_log_names_reason() {
        let (_, detail) = ApiError::Unauthorized(BasicError::NoColon).log_detail();
        assert_eq!(
            detail,
            format!("rejected: {}", BasicError::NoColon.reason())
        );
    }

    #[test]
    fn one_second_throttle_is_singular() {
        let message = ApiError::Throttled(Duration::from_secs(1)).message();
        assert!(message.contains("retry in 1 second,"), "{message}");
    }

    #[test]
    fn part_second_throttle_is_one_second() {
        let message = ApiError::Throttled(Duration::from_millis(400)).message();
        assert!(message.contains("retry in 1 second,"), "{message}");
    }

    #[test]
    fn longer_throttle_is_plural() {
        let message = ApiError::Throttled(Duration::from_millis(41_200)).message();
        assert!(message.contains("retry in 42 seconds,"), "{message}");
    }

    /// Returns the message of a `503` for a batch that failed after `change`.
    fn changed_files_message(change: FileChange) -> String {
        let error = StorageError::FileChanged(change, String::new());
        ApiError::not_stored(Arc::new(error)).message()
    }

    #[test]
    fn changed_files_message_names_restart() {
        let message = changed_files_message(FileChange::Missing);
        assert!(message.starts_with("The server stores nothing until its operator restarts it"));
    }

    #[test]
    fn missing_file_message_names_moving() {
        let message = changed_files_message(FileChange::Missing);
        assert!(message.contains("\"Deleting or moving the database's files\""));
        assert!(!message.contains("\"Restoring a backup\""));
    }

    #[test]
    fn overwritten_file_message_names_restore() {
        let message = changed_files_message(FileChange::Overwritten);
        assert!(message.contains("\"Restoring a backup\""));
        assert!(!message.contains("\"Deleting or moving the database's files\""));
    }

    #[test]
    fn replaced_file_message_names_both() {
        let message = changed_files_message(FileChange::Replaced);
        assert!(message.contains("\"Restoring a backup\""));
        assert!(message.contains("\"Deleting or moving the database's files\""));
    }

    #[test]
    fn conflict_in_whole_seconds_is_named() {
        let cause = ConflictCause::of("2026-12-04T14:57:54+01:00".into(), chrono_tz::UTC);
        assert_eq!(
            cause,
            ConflictCause::NoFraction {
                sent: "2026-12-04T14:57:54+01:00".into(),
                precision: Precision::Second,
            }
        );
    }

    #[test]
    fn conflict_with_fraction_has_no_cause() {
        let cause = ConflictCause::of("1796392674.5".into(), chrono_tz::UTC);
        assert_eq!(cause, ConflictCause::Unknown);
    }

    #[test]
    fn conflict_in_repeated_hour_names_it_first() {
        let cause = ConflictCause::of("2026-10-25 02:15:00".into(), chrono_tz::Europe::Berlin);
        assert!(
            matches!(cause, ConflictCause::RepeatedLocalTime(_)),
            "{cause:?}"
        );
    }

    #[test]
    fn whole_hours_message_names_hour() {
        let message = ApiError::Conflict(ConflictCause::NoFraction {
            sent: "2026-12-04T14+01:00".into(),
            precision: Precision::Hour,
        })
        .message();
        assert!(
            message.contains(
                "The timestamp \"2026-12-04T14+01:00\" has whole hours, so two reports of one \
                 stage and status within the same hour"
            ),
            "{message}"
        );
    }

    /// Returns the message of a `401` for a known user whose credentials
    /// have `padding`.
    fn padded_message(padding: Padding) -> String {
        ApiError::BadCredentials {
            existing_user: Some("worker1".into()),
            empty: EmptyParts::None,
            padding,
        }
        .message()
    }

    #[test]
    fn padding_of_both_parts_is_named() {
        let message = padded_message(Padding {
            user_name: Some(EdgeWhitespace {
                character: ' ',
                at_end: false,
            }),
            password: Some(EdgeWhitespace {
                character: '\t',
                at_end: true,
            }),
        });
        assert_eq!(
            message,
            "Authentication failed, because the user name starts with a space and the password \
             ends with a tab; remove the whitespace, unless it is part of the password."
        );
    }

    #[test]
    fn other_whitespace_is_named_by_code_point() {
        let message = padded_message(Padding {
            user_name: None,
            password: Some(EdgeWhitespace {
                character: '\u{a0}',
                at_end: true,
            }),
        });
        assert!(
            message.contains("the password ends with the whitespace character U+00A0"),
            "{message}"
        );
    }

    #[test]
    fn empty_part_is_named_before_padding() {
        let message = ApiError::BadCredentials {
            existing_user: None,
            empty: EmptyParts::Password,
            padding: Padding {
                user_name: Some(EdgeWhitespace {
                    character: '\r',
                    at_end: true,
                }),
                password: None,
            },
        }
        .message();
        assert!(
            message.starts_with("Authentication failed, because the password is empty;"),
            "{message}"
        );
    }

    #[test]
    fn busy_database_message_says_retry() {
        let error = ApiError::Unavailable(UnavailableReason::Busy, String::new());
        assert!(error.message().ends_with("retry shortly."));
    }

    #[test]
    fn full_disk_message_names_operator() {
        let error = ApiError::not_stored(Arc::new(StorageError::Unavailable(
            rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_FULL),
                None,
            ),
        )));
        assert!(
            error.message().contains("Disk space"),
            "{}",
            error.message()
        );
    }
}
