//! The request line of a head that hyper rejected, read from the bytes that
//! hyper left unparsed, to find which rule of its syntax the line breaks.
//! RFC 9112 section 3 defines it as `method SP request-target SP
//! HTTP-version`, with exactly one space between the parts.

/// The maximum number of bytes that [`is_text`] looks at.
const TEXT_SAMPLE_BYTES: usize = 256;

/// A difference from single spaces in the separators of a request line
/// that has a method, a target and a version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeparatorFault {
    /// A space or tab before the method.
    Leading,
    /// A tab between two parts.
    Tab,
    /// More than one space between two parts.
    RepeatedSpace,
    /// A space or tab after the version.
    Trailing,
}

/// The first line of a request head, or the part of it that has arrived.
#[derive(Debug, Clone, Copy)]
pub struct RequestLine<'a> {
    /// The line without its line ending.
    text: &'a [u8],
    /// True when the line ending (CR or LF) has arrived.
    complete: bool,
}

impl<'a> RequestLine<'a> {
    /// Returns the first line of `unparsed`, after the empty lines that
    /// hyper skips before a request line.
    pub fn first(unparsed: &'a [u8]) -> RequestLine<'a> {
        let start = unparsed
            .iter()
            .position(|byte| !matches!(byte, b'\r' | b'\n'))
            .unwrap_or(unparsed.len());
        let rest = &unparsed[start..];
        match rest.iter().position(|byte| matches!(byte, b'\r' | b'\n')) {
            Some(end) => RequestLine {
                text: &rest[..end],
                complete: true,
            },
            None => RequestLine {
                text: rest,
                complete: false,
            },
        }
    }

    /// Returns the parts of the line between spaces and tabs.
    fn words(&self) -> impl Iterator<Item = &'a [u8]> {
        self.text
            .split(|byte| is_blank(*byte))
            .filter(|word| !word.is_empty())
    }

    /// Returns true when the line has the parts of a request line: a
    /// method, a target and a version that starts with `HTTP/`. A line whose
    /// end has not arrived qualifies when what has arrived can still be one.
    fn has_three_parts(&self) -> bool {
        let words: Vec<&[u8]> = self.words().take(4).collect();
        let Some(method) = words.first() else {
            return false;
        };
        if words.len() > 3 || !method.iter().all(|byte| is_token(*byte)) {
            return false;
        }
        match words.get(2) {
            Some(version) if self.complete => version.starts_with(b"HTTP/"),
            Some(version) => version.starts_with(b"HTTP/") || b"HTTP/".starts_with(version),
            None => !self.complete,
        }
    }

    /// Returns how the separators of a line with a method, a target and a
    /// version differ from single spaces. Returns `None` when they do not
    /// differ, and for a line with other parts, such as a target with a
    /// space in it, whose separators cannot be distinguished from its parts.
    pub fn separator_fault(&self) -> Option<SeparatorFault> {
        if !self.has_three_parts() {
            return None;
        }
        if self.text.first().is_some_and(|byte| is_blank(*byte)) {
            return Some(SeparatorFault::Leading);
        }
        // The end of a line that has not arrived in full may be a separator
        // that the next part follows.
        let inner = if self.complete {
            self.text.trim_ascii_end()
        } else {
            self.text
        };
        if inner.contains(&b'\t') {
            return Some(SeparatorFault::Tab);
        }
        if inner.windows(2).any(|pair| pair == b"  ") {
            return Some(SeparatorFault::RepeatedSpace);
        }
        if inner.len() < self.text.len() {
            return Some(SeparatorFault::Trailing);
        }
        None
    }

    /// Returns true for a complete line that ends before its version: a
    /// method and a target that contains only characters that a target may
    /// contain unencoded, or a method alone.
    pub fn lacks_version(&self) -> bool {
        if !self.complete {
            return false;
        }
        let mut words = self.words();
        let (Some(method), target, None) = (words.next(), words.next(), words.next()) else {
            return false;
        };
        let valid_target = target.is_none_or(|target| {
            !target.starts_with(b"HTTP/") && target.iter().all(|byte| is_target_byte(*byte))
        });
        method.iter().all(|byte| is_token(*byte)) && valid_target
    }

    /// Returns true for a complete line of a method and an HTTP version
    /// with no target between them, such as `GET HTTP/1.1` or
    /// `GET  HTTP/1.1`.
    pub fn lacks_target(&self) -> bool {
        if !self.complete {
            return false;
        }
        let mut words = self.words();
        let (Some(method), Some(version), None) = (words.next(), words.next(), words.next()) else {
            return false;
        };
        method.iter().all(|byte| is_token(*byte)) && version.starts_with(b"HTTP/")
    }

    /// Returns true for a complete line that is one word of ASCII letters,
    /// such as `GET`: a method without a target or a version.
    pub fn is_method_alone(&self) -> bool {
        if !self.complete {
            return false;
        }
        let mut words = self.words();
        let (Some(method), None) = (words.next(), words.next()) else {
            return false;
        };
        method.iter().all(u8::is_ascii_alphabetic)
    }

    /// Returns true for a complete line of a method token and at least one
    /// more word, the last of which starts with `HTTP/`: a request line,
    /// valid or not. Bytes that follow a head that hyper parsed, such as a
    /// body, are usually no such line.
    pub fn is_request_line(&self) -> bool {
        if !self.complete {
            return false;
        }
        let mut words = self.words();
        let (Some(method), Some(version)) = (words.next(), words.last()) else {
            return false;
        };
        method.iter().all(|byte| is_token(*byte)) && version.starts_with(b"HTTP/")
    }

    /// Returns true when the line has a space inside its target: more than
    /// two spaces, and a last word that starts as an HTTP version. hyper's
    /// parser fails at the first byte after the second space that cannot
    /// start a version, so a line whose end has not arrived yet qualifies
    /// when its third word does not start with `HTTP/`.
    pub fn has_space_in_target(&self) -> bool {
        let line = self.text;
        let spaces = line.iter().filter(|byte| **byte == b' ').count();
        if !self.complete {
            let third_word = line.split(|byte| *byte == b' ').nth(2);
            return third_word.is_some_and(|word| !word.starts_with(b"HTTP/"));
        }
        let last_word = line.rsplit(|byte| *byte == b' ').next().unwrap_or_default();
        spaces > 2 && last_word.starts_with(b"HTTP/")
    }
}

/// Returns true when `bytes` start as text: UTF-8 without control
/// characters other than tab, CR and LF. Only the first
/// [`TEXT_SAMPLE_BYTES`] count, and a character cut at their end is
/// allowed. A TLS handshake, whose first byte is 0x16, is not text.
pub fn is_text(bytes: &[u8]) -> bool {
    let sample = &bytes[..bytes.len().min(TEXT_SAMPLE_BYTES)];
    let utf8_end = match std::str::from_utf8(sample) {
        Ok(_) => sample.len(),
        Err(error) if error.error_len().is_none() => error.valid_up_to(),
        Err(_) => return false,
    };
    !sample[..utf8_end]
        .iter()
        .any(|byte| byte.is_ascii_control() && !matches!(byte, b'\t' | b'\r' | b'\n'))
}

/// Returns true for a space or a tab, which clients send between the parts
/// of a request line.
fn is_blank(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t')
}

/// Returns true for the characters of a method name: `tchar` in RFC 9110
/// section 5.6.2.
fn is_token(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

/// Returns true for the bytes that hyper's parser (httparse 1.10) takes in a
/// request target: visible ASCII characters and bytes above 0x7F.
fn is_target_byte(byte: u8) -> bool {
    matches!(byte, b'!'..=b'~' | 0x80..=0xFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn separator_fault(bytes: &[u8]) -> Option<SeparatorFault> {
        RequestLine::first(bytes).separator_fault()
    }

    fn has_space_in_target(bytes: &[u8]) -> bool {
        RequestLine::first(bytes).has_space_in_target()
    }

    fn lacks_version(bytes: &[u8]) -> bool {
        RequestLine::first(bytes).lacks_version()
    }

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

    #[test]
    fn single_spaces_are_no_separator_fault() {
        assert_eq!(separator_fault(b"POST /worker/log/x HTTP/1.1\r\n"), None);
    }

    #[test]
    fn two_spaces_are_repeated_space() {
        assert_eq!(
            separator_fault(b"POST  /worker/log/x  HTTP/1.1\r\nHost: t\r\n"),
            Some(SeparatorFault::RepeatedSpace)
        );
    }

    #[test]
    fn two_spaces_before_version_are_repeated_space() {
        assert_eq!(
            separator_fault(b"GET /healthz  HTTP/1.1\r\n"),
            Some(SeparatorFault::RepeatedSpace)
        );
    }

    #[test]
    fn tabs_are_tab() {
        assert_eq!(
            separator_fault(b"POST\t/worker/log/x\tHTTP/1.1\r\n"),
            Some(SeparatorFault::Tab)
        );
    }

    #[test]
    fn tab_in_line_cut_short_is_tab() {
        assert_eq!(
            separator_fault(b"POST\t/worker/lo"),
            Some(SeparatorFault::Tab)
        );
    }

    #[test]
    fn space_before_method_is_leading() {
        assert_eq!(
            separator_fault(b" GET /healthz HTTP/1.1\r\n"),
            Some(SeparatorFault::Leading)
        );
    }

    #[test]
    fn space_after_version_is_trailing() {
        assert_eq!(
            separator_fault(b"GET /healthz HTTP/1.1 \r\n"),
            Some(SeparatorFault::Trailing)
        );
    }

    #[test]
    fn space_in_target_is_no_separator_fault() {
        assert_eq!(separator_fault(b"GET /x?m=exit  1 HTTP/1.1\r\n"), None);
    }

    #[test]
    fn tab_in_target_is_no_separator_fault() {
        assert_eq!(separator_fault(b"GET /x?m=a\tb HTTP/1.1\r\n"), None);
    }

    #[test]
    fn form_body_is_no_separator_fault() {
        assert_eq!(separator_fault(b"stage=WORKER_INIT&status=SUCCESS"), None);
    }

    #[test]
    fn line_without_version_lacks_version() {
        assert!(lacks_version(b"GET /healthz\r\n\r\n"));
    }

    #[test]
    fn line_with_version_does_not_lack_version() {
        assert!(!lacks_version(b"GET /healthz HTTP/1.1\r\n"));
    }

    #[test]
    fn line_cut_short_does_not_lack_version() {
        assert!(!lacks_version(b"GET /healthz"));
    }

    #[test]
    fn control_character_in_target_does_not_lack_version() {
        assert!(!lacks_version(b"GET /a\x7fb\r\n"));
    }

    #[test]
    fn version_after_method_lacks_target() {
        assert!(RequestLine::first(b"GET HTTP/1.1\r\n").lacks_target());
    }

    #[test]
    fn version_after_two_spaces_lacks_target() {
        assert!(RequestLine::first(b"POST  HTTP/1.0\r\n").lacks_target());
    }

    #[test]
    fn full_line_does_not_lack_target() {
        assert!(!RequestLine::first(b"GET /healthz HTTP/1.1\r\n").lacks_target());
    }

    #[test]
    fn method_line_is_method_alone() {
        assert!(RequestLine::first(b"GET\r\n").is_method_alone());
    }

    #[test]
    fn method_cut_short_is_not_method_alone() {
        assert!(!RequestLine::first(b"GET").is_method_alone());
    }

    #[test]
    fn line_with_control_character_is_request_line() {
        assert!(RequestLine::first(b"GET /a\x01b HTTP/1.1\r\n").is_request_line());
    }

    #[test]
    fn body_is_not_request_line() {
        assert!(!RequestLine::first(b"timestamp=2026-12-04&stage=WORKER_INIT").is_request_line());
    }

    #[test]
    fn form_body_is_text() {
        assert!(is_text(b"stage=WORKER_INIT&status=SUCCESS"));
    }

    #[test]
    fn utf8_cut_at_sample_end_is_text() {
        let mut bytes = vec![b'a'; TEXT_SAMPLE_BYTES - 1];
        bytes.extend("é".as_bytes());
        assert!(is_text(&bytes));
    }

    #[test]
    fn tls_handshake_is_not_text() {
        assert!(!is_text(&[0x16, 0x03, 0x01, 0x00, 0xa5, 0x01]));
    }

    #[test]
    fn invalid_utf8_is_not_text() {
        assert!(!is_text(b"caf\xe9 au lait"));
    }
}
