//! Request heads that hyper cannot parse: what was wrong, read from hyper's
//! error and from the bytes it left unparsed, and the status, error code and
//! message of translog's response.

use hyper::StatusCode;

use super::MAX_HEAD_BYTES;

/// The maximum number of header fields in a request head: hyper's default,
/// since the server does not set `max_headers` (hyper 1.13,
/// `DEFAULT_MAX_HEADERS`). A head with more gets `431`.
pub const MAX_HEADER_FIELDS: usize = 100;

/// The end of the message about a URL with a character that must be
/// percent-encoded.
const ENCODE_HINT: &str =
    "curl --data-urlencode encodes a parameter and sends it in the body, or in the URL with -G.";

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
    InvalidMethod,
    /// A space inside the request target, after which hyper reads the rest
    /// of the target as the HTTP version.
    SpaceInTarget,
    /// A byte that the request target may not contain unencoded.
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
    ///
    /// hyper 1.13 exposes the kind of a parse error only through its text,
    /// so the texts of `hyper::error::Error::description` are matched here.
    pub fn from_error(error: &hyper::Error, unparsed: &[u8]) -> HeadFault {
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
        match error.to_string().as_str() {
            "invalid HTTP method parsed" => HeadFault::InvalidMethod,
            "invalid URI" => HeadFault::InvalidTarget,
            "invalid HTTP version parsed" if has_space_in_target(unparsed) => {
                HeadFault::SpaceInTarget
            }
            "invalid HTTP version parsed" => HeadFault::InvalidVersion,
            "invalid HTTP header parsed" => HeadFault::InvalidHeaderLine,
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
            HeadFault::InvalidMethod => "invalid_method",
            HeadFault::SpaceInTarget | HeadFault::InvalidTarget => "invalid_uri",
            HeadFault::InvalidVersion => "invalid_version",
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
                 method, such as POST or GET; a client that sends https:// requests to this \
                 plain HTTP port gets this, so use http://."
                .into(),
            HeadFault::SpaceInTarget => format!(
                "The URL contains a space, which must be percent-encoded as %20; {ENCODE_HINT}"
            ),
            HeadFault::InvalidTarget => format!(
                "The URL contains a character that must be percent-encoded, such as <, >, \" \
                 or a control character (< as %3C), or bytes that are not UTF-8; {ENCODE_HINT}"
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
}

/// Returns true when the request line at the start of `unparsed` has a
/// space inside its target: more than two spaces, and a last word that
/// starts as an HTTP version. hyper's parser fails at the first byte after
/// the second space that cannot start a version, so a line whose end has not
/// arrived yet qualifies when its third word does not start with `HTTP/`.
fn has_space_in_target(unparsed: &[u8]) -> bool {
    // hyper skips empty lines before a request line.
    let start = unparsed
        .iter()
        .position(|byte| !matches!(byte, b'\r' | b'\n'))
        .unwrap_or(unparsed.len());
    let rest = &unparsed[start..];
    let end = rest
        .iter()
        .position(|byte| matches!(byte, b'\r' | b'\n'))
        .unwrap_or(rest.len());
    let line = &rest[..end];
    let spaces = line.iter().filter(|byte| **byte == b' ').count();
    if end == rest.len() {
        let third_word = line.split(|byte| *byte == b' ').nth(2);
        return third_word.is_some_and(|word| !word.starts_with(b"HTTP/"));
    }
    let last_word = line.rsplit(|byte| *byte == b' ').next().unwrap_or_default();
    spaces > 2 && last_word.starts_with(b"HTTP/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn space_in_query_is_found() {
        assert!(has_space_in_target(
            b"GET /worker/log/x?message=exit 1 HTTP/1.1\r\nHost: t\r\n\r\n"
        ));
    }

    #[test]
    fn space_after_empty_lines_is_found() {
        assert!(has_space_in_target(b"\r\nGET /a b HTTP/1.1\r\n"));
    }

    #[test]
    fn valid_request_line_has_no_space() {
        assert!(!has_space_in_target(b"GET /worker/log/x HTTP/1.1\r\n"));
    }

    #[test]
    fn bad_version_is_no_space() {
        assert!(!has_space_in_target(b"GET /worker/log/x HTTP/1.2\r\n"));
    }

    #[test]
    fn space_in_line_cut_short_is_found() {
        assert!(has_space_in_target(b"GET /worker/log/x?message=exit 1"));
    }

    #[test]
    fn line_cut_short_in_version_is_no_space() {
        assert!(!has_space_in_target(b"GET /worker/log/x HTTP/1.2"));
    }

    #[test]
    fn extra_word_without_version_is_no_space() {
        assert!(!has_space_in_target(b"GET /a b c\r\n"));
    }
}
