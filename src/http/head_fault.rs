//! Request heads that hyper cannot parse: what was wrong, read from hyper's
//! error and from the bytes it left unparsed, and the status, error code and
//! message of translog's response.

use hyper::StatusCode;

use super::request_line::{is_text, RequestLine, SeparatorFault};
use super::MAX_HEAD_BYTES;

/// The maximum number of header fields in a request head: hyper's default,
/// since the server does not set `max_headers` (hyper 1.13,
/// `DEFAULT_MAX_HEADERS`). A head with more gets `431`.
pub const MAX_HEADER_FIELDS: usize = 100;

/// The end of the message about a URL with a character that must be
/// percent-encoded.
const ENCODE_HINT: &str =
    "curl --data-urlencode encodes a parameter and sends it in the body, or in the URL with -G.";

/// The start of the message about the separators of a request line.
const SEPARATOR_RULE: &str = "The method, URL and HTTP version of the request line must be \
    separated by single spaces, as in POST /worker/log/{transaction_id} HTTP/1.1";

/// The advice about a client that sends https:// requests to this port,
/// which the log line of [`HeadFault::NotText`] adds.
const HTTPS_LOG_HINT: &str = "a client that sends https:// requests to this plain HTTP port \
    gets this, so use http://, or put a TLS proxy in front";

/// The fault of a request head that hyper rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeadFault {
    /// The head did not end within [`MAX_HEAD_BYTES`].
    TooLarge,
    /// The head has more than [`MAX_HEADER_FIELDS`] header fields.
    TooManyFields,
    /// The request target is longer than hyper's own limit of 65534 bytes,
    /// which no head within [`MAX_HEAD_BYTES`] reaches.
    UriTooLong,
    /// A request line that starts with text that is not a method.
    InvalidMethod,
    /// A request that starts with bytes that are not text, as the TLS
    /// handshake of an https:// client does.
    NotText,
    /// Bytes after an earlier request on the connection that are not a
    /// request line, such as the rest of a body longer than its
    /// `Content-Length`.
    NotRequestLine,
    /// Spaces or tabs between the method, target and version of the request
    /// line other than one space each.
    InvalidSeparator(SeparatorFault),
    /// A request line that ends after its target, without an HTTP version.
    MissingVersion,
    /// A request line with a method and an HTTP version but no target
    /// between them, such as `GET HTTP/1.1`.
    MissingTarget,
    /// A request line with a method alone, such as `GET`.
    MethodAlone,
    /// A request target that hyper's URL parser (the http crate) rejected
    /// after the head was parsed, such as one with `<` or a backquote, or
    /// one that starts with neither `/` nor a scheme. hyper drops the head
    /// then, so the target is not known.
    RejectedTarget,
    /// A space inside the request target, after which hyper reads the rest
    /// of the target as the HTTP version.
    SpaceInTarget,
    /// A byte that hyper's parser (httparse) rejects in a request target:
    /// a control character, or a byte that is not UTF-8.
    InvalidTarget,
    InvalidVersion,
    /// A header line that breaks the syntax of HTTP/1.1.
    InvalidHeaderLine,
    InvalidContentLength,
    /// A `Transfer-Encoding` whose last coding is not `chunked`.
    InvalidTransferEncoding,
    /// A `Transfer-Encoding` in an HTTP/1.0 request.
    TransferEncodingInHttp10,
    /// Any other error of hyper's parser, with hyper's text.
    Other(String),
}

impl HeadFault {
    /// Names the fault behind `error`, hyper's error for a head that it
    /// could not parse. `unparsed` is what hyper read and did not parse,
    /// which contains the head when the request line or a header line broke
    /// the syntax, but not when a parsed header had a bad value.
    /// `after_request` is true when an earlier request on the connection
    /// reached the server.
    ///
    /// hyper 1.13 exposes the kind of a parse error only through its text,
    /// so the texts of `hyper::error::Error::description` are matched here.
    pub fn from_error(error: &hyper::Error, unparsed: &[u8], after_request: bool) -> HeadFault {
        if error.is_parse_too_large() {
            if error.to_string() == "URI too long" {
                return HeadFault::UriTooLong;
            }
            // hyper returns the same error for a full buffer and for too many
            // header fields, and keeps the head unparsed in both cases.
            if unparsed.len() >= MAX_HEAD_BYTES {
                return HeadFault::TooLarge;
            }
            return HeadFault::TooManyFields;
        }
        let line = RequestLine::first(unparsed);
        // hyper's parser (httparse 1.10) names the part where it stopped, so
        // the request line is read again to find the cause, such as a tab
        // after the method, or a line that ends without a version.
        match error.to_string().as_str() {
            "invalid HTTP method parsed" => method_fault(line, unparsed, after_request),
            "invalid URI" => target_fault(line),
            "invalid HTTP version parsed" => version_fault(line),
            "invalid HTTP header parsed" => match line.separator_fault() {
                Some(fault) => HeadFault::InvalidSeparator(fault),
                None => HeadFault::InvalidHeaderLine,
            },
            "invalid content-length parsed" => HeadFault::InvalidContentLength,
            "invalid transfer-encoding parsed" => HeadFault::InvalidTransferEncoding,
            "unexpected transfer-encoding parsed" => HeadFault::TransferEncodingInHttp10,
            other => HeadFault::Other(other.to_string()),
        }
    }

    /// Returns the status that hyper chose for this fault (hyper 1.13,
    /// `Server::on_error` in `proto/h1/role.rs`).
    pub fn status(&self) -> StatusCode {
        match self {
            HeadFault::TooLarge | HeadFault::TooManyFields => {
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
            }
            HeadFault::UriTooLong => StatusCode::URI_TOO_LONG,
            HeadFault::InvalidMethod
            | HeadFault::NotText
            | HeadFault::NotRequestLine
            | HeadFault::InvalidSeparator(_)
            | HeadFault::MissingVersion
            | HeadFault::MissingTarget
            | HeadFault::MethodAlone
            | HeadFault::RejectedTarget
            | HeadFault::SpaceInTarget
            | HeadFault::InvalidTarget
            | HeadFault::InvalidVersion
            | HeadFault::InvalidHeaderLine
            | HeadFault::InvalidContentLength
            | HeadFault::InvalidTransferEncoding
            | HeadFault::TransferEncodingInHttp10
            | HeadFault::Other(_) => StatusCode::BAD_REQUEST,
        }
    }

    /// Returns the `error` code of the JSON body.
    pub fn code(&self) -> &'static str {
        match self {
            HeadFault::TooLarge | HeadFault::TooManyFields => "request_head_too_large",
            HeadFault::UriTooLong => "uri_too_long",
            HeadFault::InvalidMethod | HeadFault::NotText | HeadFault::NotRequestLine => {
                "invalid_method"
            }
            HeadFault::InvalidSeparator(_) => "invalid_request_line",
            HeadFault::SpaceInTarget
            | HeadFault::InvalidTarget
            | HeadFault::MissingTarget
            | HeadFault::MethodAlone
            | HeadFault::RejectedTarget => "invalid_uri",
            HeadFault::MissingVersion | HeadFault::InvalidVersion => "invalid_version",
            HeadFault::InvalidHeaderLine
            | HeadFault::InvalidContentLength
            | HeadFault::InvalidTransferEncoding
            | HeadFault::TransferEncodingInHttp10 => "invalid_header",
            HeadFault::Other(_) => "malformed_request",
        }
    }

    /// Returns the message of the JSON body: what was wrong and how to fix it.
    pub fn message(&self) -> String {
        match self {
            HeadFault::TooLarge => format!(
                "The request head (the request line and the headers) is larger than \
                 {MAX_HEAD_BYTES} bytes; shorten the URL or the largest header, and send the \
                 entry's parameters in the body (curl --data-urlencode without -G)."
            ),
            HeadFault::TooManyFields => format!(
                "The request head has more than {MAX_HEADER_FIELDS} header fields; send fewer \
                 headers."
            ),
            HeadFault::UriTooLong => "The URL is longer than the server accepts; shorten it, and \
                 send the entry's parameters in the body (curl --data-urlencode without -G)."
                .into(),
            HeadFault::InvalidMethod => "The request line does not start with a valid HTTP \
                 method, such as POST or GET."
                .into(),
            HeadFault::NotText => "The request line does not start with a valid HTTP \
                 method, such as POST or GET; a client that sends https:// requests to this \
                 plain HTTP port gets this, so use http://."
                .into(),
            HeadFault::NotRequestLine => "The bytes after the previous request on this \
                 connection are not a request line, such as POST /worker/log/{transaction_id} \
                 HTTP/1.1. The server reads the bytes after a request's body as the next \
                 request, so count the whole body in Content-Length; a request without \
                 Content-Length or Transfer-Encoding has no body."
                .into(),
            HeadFault::InvalidSeparator(fault) => separator_message(*fault),
            HeadFault::MissingVersion => "The request line has no HTTP version; send the \
                 method, the URL and the version separated by single spaces, as in GET \
                 /healthz HTTP/1.1."
                .into(),
            HeadFault::MissingTarget => "The request line has no URL between the method and \
                 the HTTP version; send the method, the URL and the version separated by single \
                 spaces, as in GET /healthz HTTP/1.1."
                .into(),
            HeadFault::MethodAlone => "The request line has only a method, with no URL and no \
                 HTTP version; send the method, the URL and the version separated by single \
                 spaces, as in GET /healthz HTTP/1.1."
                .into(),
            HeadFault::RejectedTarget => format!(
                "The URL is not valid: it starts with neither / nor http://, or it contains a \
                 character that must be percent-encoded, such as <, > or a backquote (< as %3C, \
                 ` as %60). A backquote is usually a command in backquotes that the shell did \
                 not run, because the URL was inside single quotes, so put the URL in double \
                 quotes; {ENCODE_HINT}"
            ),
            HeadFault::SpaceInTarget => format!(
                "The URL contains a space, which must be percent-encoded as %20; {ENCODE_HINT}"
            ),
            HeadFault::InvalidTarget => format!(
                "The URL contains a control character or bytes that are not UTF-8, which must be \
                 percent-encoded (DEL as %7F); {ENCODE_HINT}"
            ),
            HeadFault::InvalidVersion => "The request line does not end with HTTP/1.1 or \
                 HTTP/1.0, the versions that this server speaks."
                .into(),
            HeadFault::InvalidHeaderLine => "A line of the request head is malformed, such as \
                 a header name with a space or another character that names cannot contain, a \
                 value with a control character, or a header continued on the next line; send \
                 each header as one Name: value line that ends with CRLF."
                .into(),
            HeadFault::InvalidContentLength => "The Content-Length header is not a decimal \
                 number, or the request has several that differ; send one Content-Length with \
                 the size of the body in bytes."
                .into(),
            HeadFault::InvalidTransferEncoding => "The last coding of the Transfer-Encoding \
                 header is not chunked, so the end of the body cannot be found; send the body \
                 with a Content-Length, or with Transfer-Encoding: chunked alone."
                .into(),
            HeadFault::TransferEncodingInHttp10 => "An HTTP/1.0 request cannot have a \
                 Transfer-Encoding header; send the body with a Content-Length, or send the \
                 request as HTTP/1.1."
                .into(),
            HeadFault::Other(cause) => {
                format!("The request head is not valid HTTP/1.1 ({cause}).")
            }
        }
    }

    /// Returns the cause that the log line about the rejected head adds to
    /// hyper's text, where that text alone misleads or gives no advice.
    pub fn log_detail(&self) -> Option<&'static str> {
        match self {
            HeadFault::NotText => Some(HTTPS_LOG_HINT),
            HeadFault::NotRequestLine => Some(
                "the bytes after the previous request on this connection are not a request \
                 line, as when that request's body is longer than its Content-Length or was sent \
                 without one",
            ),
            HeadFault::InvalidSeparator(_) => Some(
                "the method, URL and HTTP version of the request line are not separated by \
                 single spaces",
            ),
            HeadFault::MissingVersion => Some("the request line has no HTTP version"),
            HeadFault::MissingTarget => Some("the request line has no URL"),
            HeadFault::MethodAlone => Some("the request line has only a method"),
            HeadFault::RejectedTarget => Some(
                "the URL starts with neither / nor http://, or contains a character such as <, > \
                 or a backquote",
            ),
            _ => None,
        }
    }
}

/// Names the fault of a request line that hyper rejected at its method.
fn method_fault(line: RequestLine<'_>, unparsed: &[u8], after_request: bool) -> HeadFault {
    if let Some(fault) = line.separator_fault() {
        return HeadFault::InvalidSeparator(fault);
    }
    if after_request {
        return HeadFault::NotRequestLine;
    }
    if line.is_method_alone() {
        return HeadFault::MethodAlone;
    }
    if is_text(unparsed) {
        return HeadFault::InvalidMethod;
    }
    HeadFault::NotText
}

/// Names the fault of a request line that hyper rejected at its target.
/// hyper reports there a byte that its parser rejects, a target that its URL
/// parser rejects, and also a line end, a tab or a second space next to the
/// target.
fn target_fault(line: RequestLine<'_>) -> HeadFault {
    if let Some(fault) = line.separator_fault() {
        return HeadFault::InvalidSeparator(fault);
    }
    if line.lacks_target() {
        return HeadFault::MissingTarget;
    }
    if line.is_method_alone() {
        return HeadFault::MethodAlone;
    }
    if line.lacks_version() {
        return HeadFault::MissingVersion;
    }
    // hyper's parser (httparse) keeps the head unparsed when it stops at a
    // byte of the target, such as a control character. hyper's URL parser
    // runs after the head was taken out of the buffer.
    if line.is_request_line() {
        return HeadFault::InvalidTarget;
    }
    HeadFault::RejectedTarget
}

/// Names the fault of a request line that hyper rejected at its version.
/// hyper reports a space inside the target there, because it reads the
/// rest of the target as the version.
fn version_fault(line: RequestLine<'_>) -> HeadFault {
    if let Some(fault) = line.separator_fault() {
        return HeadFault::InvalidSeparator(fault);
    }
    if line.lacks_version() {
        return HeadFault::MissingVersion;
    }
    if line.has_space_in_target() {
        return HeadFault::SpaceInTarget;
    }
    HeadFault::InvalidVersion
}

/// Returns the message about the separators of a request line that
/// `fault` describes.
fn separator_message(fault: SeparatorFault) -> String {
    match fault {
        SeparatorFault::Tab => format!("{SEPARATOR_RULE}, but this line has a tab between them."),
        SeparatorFault::RepeatedSpace => {
            format!("{SEPARATOR_RULE}, but this line has more than one space between them.")
        }
        SeparatorFault::Leading => format!(
            "{SEPARATOR_RULE}, with nothing before the method, but this line starts with a \
             space or tab."
        ),
        SeparatorFault::Trailing => format!(
            "{SEPARATOR_RULE}, with nothing after the version, but this line ends with a space \
             or tab."
        ),
    }
}
