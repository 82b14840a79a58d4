//! The `Host` header rules of RFC 9112 section 3.2. An HTTP/1.1 request has
//! exactly one `Host` header, and a request of any version at most one. Its
//! value is `uri-host [ ":" port ]`, where the host has the syntax of RFC
//! 3986 section 3.2.2: a registered name, an IPv4 address, or an IP literal
//! in brackets. A request that breaks a rule gets `400`, whatever its path.

use std::net::Ipv6Addr;

use hyper::header::{HeaderMap, HeaderValue, HOST};
use hyper::Version;

use super::response::ApiError;

/// The maximum number of characters of a rejected `Host` value that the
/// error message shows.
const MAX_SHOWN_CHARS: usize = 64;

/// The advice that ends every message about an invalid `Host` value.
const VALID_FORM: &str = "send the server's name or IP address with an optional port, such as \
                          localhost:8080, 192.0.2.10:8080 or [::1]:8080";

/// Rejects an HTTP/1.1 request without a `Host` header, a request of any
/// version with more than one, and a `Host` value that is not a valid host
/// with an optional port. An HTTP/1.0 request may omit the header.
pub fn check_host(version: Version, headers: &HeaderMap) -> Result<(), ApiError> {
    let mut hosts = headers.get_all(HOST).iter();
    match (hosts.next(), hosts.next()) {
        (Some(value), None) => validate_host(value.as_bytes()).map_err(|error| {
            ApiError::InvalidHeader(format!(
                "Invalid Host header {}: {error}; {VALID_FORM}.",
                shown(value)
            ))
        }),
        (None, _) if version < Version::HTTP_11 => Ok(()),
        (None, _) => Err(ApiError::InvalidHeader(
            "The request has no Host header, which HTTP/1.1 requires; send Host with the \
             server's name and port, as curl and HTTP libraries do."
                .into(),
        )),
        (Some(_), Some(_)) => Err(ApiError::InvalidHeader(
            "The request has more than one Host header; send exactly one.".into(),
        )),
    }
}

/// Returns the first [`MAX_SHOWN_CHARS`] characters of a header value,
/// quoted and escaped for the error message.
fn shown(value: &HeaderValue) -> String {
    let text: String = String::from_utf8_lossy(value.as_bytes())
        .chars()
        .take(MAX_SHOWN_CHARS)
        .collect();
    format!("{text:?}")
}

/// The reason a `Host` value is invalid, as the clause of an error message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostError {
    NotAscii,
    ControlCharacter,
    /// A character that a registered name cannot contain.
    InvalidCharacter(char),
    /// A `%` without two hexadecimal digits after it.
    InvalidPercentEncoding,
    UnclosedBracket,
    /// A URL, with a scheme, instead of a host.
    Url,
    /// Text after the `]` of an IP literal other than `:` and a port.
    TextAfterBracket,
    /// Text in brackets that is neither an IPv6 address nor an IPvFuture literal.
    InvalidIpLiteral,
    /// More than one `:` outside brackets.
    ExtraColon,
    /// A port with a character that is not a digit; the text is the port.
    PortNotNumber(String),
    /// A port over 65535; the text is the port.
    PortOutOfRange(String),
}

impl std::fmt::Display for HostError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HostError::NotAscii => f.write_str("it contains a character that is not ASCII"),
            HostError::ControlCharacter => f.write_str("it contains a control character"),
            HostError::InvalidCharacter(character) => {
                write!(
                    f,
                    "the character {character:?} is not allowed in a host name"
                )
            }
            HostError::InvalidPercentEncoding => {
                f.write_str("a % in it is not followed by two hexadecimal digits")
            }
            HostError::UnclosedBracket => f.write_str("its IPv6 address has no closing ]"),
            HostError::Url => f.write_str("it is a URL, and Host takes no scheme or path"),
            HostError::TextAfterBracket => {
                f.write_str("only ':' and a port may follow the ] of an IPv6 address")
            }
            HostError::InvalidIpLiteral => {
                f.write_str("the text in brackets is not a valid IPv6 address")
            }
            HostError::ExtraColon => f.write_str(
                "it has more than one ':' outside brackets, and only an IPv6 address in \
                 brackets may contain ':'",
            ),
            HostError::PortNotNumber(port) => write!(f, "the port {port:?} is not a number"),
            HostError::PortOutOfRange(port) => write!(f, "the port {port} is greater than 65535"),
        }
    }
}

/// Checks a `Host` value against `uri-host [ ":" port ]`. Spaces and tabs
/// around it are not part of the value (RFC 9110 section 5.5).
///
/// An IPv4 address is also a valid registered name in RFC 3986, so a name
/// of digits and dots such as `999.1.1.1` passes as a name. The grammar
/// allows an empty host and an empty port, which RFC 9112 requires for a
/// target URI without an authority, so `Host:` with no value passes too.
///
/// # Errors
///
/// Returns the first rule that the value breaks.
pub fn validate_host(value: &[u8]) -> Result<(), HostError> {
    let value = trim_spaces_and_tabs(value);
    if value.iter().any(|byte| !byte.is_ascii()) {
        return Err(HostError::NotAscii);
    }
    if value.iter().any(u8::is_ascii_control) {
        return Err(HostError::ControlCharacter);
    }
    let value = std::str::from_utf8(value).map_err(|_| HostError::NotAscii)?;
    if value.contains("://") {
        return Err(HostError::Url);
    }
    let port = match value.strip_prefix('[') {
        Some(bracketed) => {
            let (literal, after) = bracketed
                .split_once(']')
                .ok_or(HostError::UnclosedBracket)?;
            validate_ip_literal(literal)?;
            match after.strip_prefix(':') {
                Some(port) => Some(port),
                None if after.is_empty() => None,
                None => return Err(HostError::TextAfterBracket),
            }
        }
        None => {
            let mut parts = value.split(':');
            let name = parts.next().unwrap_or_default();
            let port = parts.next();
            if parts.next().is_some() {
                return Err(HostError::ExtraColon);
            }
            validate_reg_name(name)?;
            port
        }
    };
    port.map_or(Ok(()), validate_port)
}

fn trim_spaces_and_tabs(mut value: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = value {
        value = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = value {
        value = rest;
    }
    value
}

/// Checks the text between `[` and `]`: an IPv6 address, or an IPvFuture
/// literal (`v`, a hexadecimal version, `.`, then unreserved characters,
/// sub-delims and colons). An IPv6 zone id (`%25eth0`) is not part of RFC
/// 3986's syntax and is rejected.
fn validate_ip_literal(literal: &str) -> Result<(), HostError> {
    let future = literal
        .strip_prefix(['v', 'V'])
        .and_then(|rest| rest.split_once('.'));
    let valid = match future {
        Some((version, address)) => {
            !version.is_empty()
                && version.bytes().all(|byte| byte.is_ascii_hexdigit())
                && !address.is_empty()
                && address
                    .bytes()
                    .all(|byte| is_unreserved_or_sub_delim(byte) || byte == b':')
        }
        None => literal.parse::<Ipv6Addr>().is_ok(),
    };
    if valid {
        Ok(())
    } else {
        Err(HostError::InvalidIpLiteral)
    }
}

/// Checks a registered name: unreserved characters, sub-delims and
/// percent-encoded octets (RFC 3986 section 3.2.2).
fn validate_reg_name(name: &str) -> Result<(), HostError> {
    let bytes = name.as_bytes();
    let mut index = 0;
    while let Some(&byte) = bytes.get(index) {
        if byte == b'%' {
            let encoded = bytes.get(index + 1..index + 3);
            if !encoded.is_some_and(|digits| digits.iter().all(u8::is_ascii_hexdigit)) {
                return Err(HostError::InvalidPercentEncoding);
            }
            index += 3;
        } else if is_unreserved_or_sub_delim(byte) {
            index += 1;
        } else {
            return Err(HostError::InvalidCharacter(char::from(byte)));
        }
    }
    Ok(())
}

fn is_unreserved_or_sub_delim(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=".contains(&byte)
}

/// Checks a port: digits only, with a value of at most 65535, the largest
/// TCP port. RFC 3986 allows an empty port.
fn validate_port(port: &str) -> Result<(), HostError> {
    let shown: String = port.chars().take(MAX_SHOWN_CHARS).collect();
    if !port.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(HostError::PortNotNumber(shown));
    }
    let value = port.bytes().try_fold(0u32, |value, digit| {
        value
            .checked_mul(10)?
            .checked_add(u32::from(digit - b'0'))
            .filter(|value| *value <= u32::from(u16::MAX))
    });
    match value {
        Some(_) => Ok(()),
        None => Err(HostError::PortOutOfRange(shown)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(values: &[&'static str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(HOST, HeaderValue::from_static(value));
        }
        headers
    }

    #[test]
    fn one_host_is_accepted() {
        assert!(check_host(Version::HTTP_11, &hosts(&["example.com"])).is_ok());
    }

    #[test]
    fn missing_host_in_http_11_is_rejected() {
        let error = check_host(Version::HTTP_11, &hosts(&[])).expect_err("no Host");
        assert_eq!(error.status(), hyper::StatusCode::BAD_REQUEST);
    }

    #[test]
    fn missing_host_in_http_10_is_accepted() {
        assert!(check_host(Version::HTTP_10, &hosts(&[])).is_ok());
    }

    #[test]
    fn two_hosts_are_rejected() {
        let two = hosts(&["a.example", "b.example"]);
        assert!(check_host(Version::HTTP_11, &two).is_err());
    }

    #[test]
    fn two_hosts_in_http_10_are_rejected() {
        let two = hosts(&["a.example", "a.example"]);
        assert!(check_host(Version::HTTP_10, &two).is_err());
    }

    #[test]
    fn invalid_host_in_http_10_is_rejected() {
        let error = check_host(Version::HTTP_10, &hosts(&["a b"])).expect_err("a b");
        assert_eq!(error.status(), hyper::StatusCode::BAD_REQUEST);
    }

    #[test]
    fn valid_hosts_are_accepted() {
        let valid = [
            "127.0.0.1:8080",
            "localhost:8080",
            "localhost",
            "[::1]:8080",
            "[::1]",
            "[::ffff:192.0.2.10]:80",
            "[2001:db8::7]",
            "[v1.fe80::a+en1]",
            "translog.example.com",
            "log-01.dc-eu.example:65535",
            "LOCALHOST:0",
            "a%2Db",
            "under_score~tilde",
            "sub!$&'()*+,;=delims",
            "999.1.1.1",
            "",
            ":8080",
            "localhost:",
            " localhost:8080\t",
        ];
        for value in valid {
            assert_eq!(validate_host(value.as_bytes()), Ok(()), "{value:?}");
        }
    }

    #[test]
    fn invalid_hosts_are_rejected() {
        let invalid = [
            ("a b", HostError::InvalidCharacter(' ')),
            ("exa mple", HostError::InvalidCharacter(' ')),
            ("a\tb", HostError::ControlCharacter),
            ("a\u{1}b", HostError::ControlCharacter),
            ("exämple", HostError::NotAscii),
            ("user@host", HostError::InvalidCharacter('@')),
            ("host/path", HostError::InvalidCharacter('/')),
            ("a]b", HostError::InvalidCharacter(']')),
            ("a[b", HostError::InvalidCharacter('[')),
            ("a%2", HostError::InvalidPercentEncoding),
            ("a%zz", HostError::InvalidPercentEncoding),
            ("[::1", HostError::UnclosedBracket),
            ("[::1]x", HostError::TextAfterBracket),
            ("[::1]]", HostError::TextAfterBracket),
            ("[zz]", HostError::InvalidIpLiteral),
            ("[127.0.0.1]", HostError::InvalidIpLiteral),
            ("[fe80::1%25eth0]", HostError::InvalidIpLiteral),
            ("[v.x]", HostError::InvalidIpLiteral),
            ("[v1.]", HostError::InvalidIpLiteral),
            ("[]", HostError::InvalidIpLiteral),
            ("host:port:extra", HostError::ExtraColon),
            ("::1", HostError::ExtraColon),
            ("x:99999", HostError::PortOutOfRange("99999".into())),
            ("x:65536", HostError::PortOutOfRange("65536".into())),
            (
                "x:99999999999999999999",
                HostError::PortOutOfRange("99999999999999999999".into()),
            ),
            ("x:http", HostError::PortNotNumber("http".into())),
            ("x:-1", HostError::PortNotNumber("-1".into())),
            ("[::1]:80a", HostError::PortNotNumber("80a".into())),
            ("http://x/", HostError::Url),
            ("https://x:8080", HostError::Url),
        ];
        for (value, expected) in invalid {
            assert_eq!(validate_host(value.as_bytes()), Err(expected), "{value:?}");
        }
    }

    #[test]
    fn invalid_host_message_quotes_value() {
        let error = check_host(Version::HTTP_11, &hosts(&["x:99999"])).expect_err("x:99999");
        assert_eq!(
            error.message(),
            "Invalid Host header \"x:99999\": the port 99999 is greater than 65535; send the \
             server's name or IP address with an optional port, such as localhost:8080, \
             192.0.2.10:8080 or [::1]:8080."
        );
    }

    #[test]
    fn long_host_is_cut_in_message() {
        let long = HeaderValue::from_str(&format!("{} x", "a".repeat(500))).expect("value");
        let mut headers = HeaderMap::new();
        headers.insert(HOST, long);
        let error = check_host(Version::HTTP_11, &headers).expect_err("space");
        assert!(error.message().len() < 400, "{}", error.message());
    }
}
