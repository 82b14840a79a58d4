//! Percent-decoding of URL paths, query strings and form-urlencoded bodies.
//!
//! Written by hand rather than with `form_urlencoded` because that crate
//! replaces bytes that are not UTF-8 and passes broken escapes through, and the
//! write API must reject both instead of storing altered text.

use std::fmt;

/// The reason a component could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// A `%` not followed by two hexadecimal digits.
    BadEscape,
    /// The decoded bytes are not UTF-8 although the component as sent is, so
    /// the percent-escapes encode text in another charset, such as Latin-1
    /// `caf%E9`.
    EscapedBytesNotUtf8,
    /// The component as sent contains bytes that are not UTF-8.
    RawBytesNotUtf8,
}

impl DecodeError {
    /// Returns the fix for the client, as a clause that completes a sentence
    /// about the component.
    pub fn advice(&self) -> &'static str {
        match self {
            DecodeError::BadEscape => {
                "percent-encode the value, for example with curl --data-urlencode"
            }
            DecodeError::EscapedBytesNotUtf8 => {
                "convert the text to UTF-8 before percent-encoding it, \
                 for example with iconv -f latin1 -t utf-8"
            }
            DecodeError::RawBytesNotUtf8 => {
                "convert the text to UTF-8, for example with iconv -f latin1 -t utf-8, \
                 and send it with curl --data-urlencode"
            }
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::BadEscape => {
                f.write_str("contains a % that is not followed by two hexadecimal digits")
            }
            DecodeError::EscapedBytesNotUtf8 => {
                f.write_str("has percent-escapes that decode to bytes that are not UTF-8")
            }
            DecodeError::RawBytesNotUtf8 => {
                f.write_str("contains bytes that are neither UTF-8 nor percent-encoded")
            }
        }
    }
}

/// Decodes one percent-encoded component. In form data and query strings
/// `plus_is_space` is true, because `+` there stands for a space; in a path it
/// is a literal plus.
///
/// # Errors
///
/// Returns an error for a broken `%` escape or for decoded bytes that are not
/// UTF-8. That error is [`DecodeError::EscapedBytesNotUtf8`] when `input`
/// itself is UTF-8, so the bad bytes came from escapes, and
/// [`DecodeError::RawBytesNotUtf8`] otherwise.
pub fn decode_component(input: &[u8], plus_is_space: bool) -> Result<String, DecodeError> {
    let is_special = |byte: &u8| *byte == b'%' || (plus_is_space && *byte == b'+');
    let mut decoded = Vec::with_capacity(input.len());
    let mut rest = input;
    loop {
        // Runs without escapes are copied whole; most names and values are one run.
        let run = rest.iter().position(is_special).unwrap_or(rest.len());
        decoded.extend_from_slice(&rest[..run]);
        rest = &rest[run..];
        let Some((&byte, tail)) = rest.split_first() else {
            break;
        };
        rest = tail;
        if byte == b'+' {
            decoded.push(b' ');
            continue;
        }
        let (high, low) = match rest {
            [high, low, ..] => (hex_value(*high), hex_value(*low)),
            _ => (None, None),
        };
        let (Some(high), Some(low)) = (high, low) else {
            return Err(DecodeError::BadEscape);
        };
        decoded.push(high << 4 | low);
        rest = &rest[2..];
    }
    String::from_utf8(decoded).map_err(|_| {
        if std::str::from_utf8(input).is_ok() {
            DecodeError::EscapedBytesNotUtf8
        } else {
            DecodeError::RawBytesNotUtf8
        }
    })
}

fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

/// A name whose value could not be decoded, with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairError {
    /// The decoded name, or the raw name with escapes replaced when the name
    /// itself is broken.
    pub name: String,
    /// The value as sent, before decoding, with bytes that are not UTF-8
    /// replaced. It is empty when the name itself is broken.
    pub raw_value: String,
    pub error: DecodeError,
}

/// Splits `application/x-www-form-urlencoded` data (a body or a query string)
/// into decoded name and value pairs, in order, repeats kept. Empty pieces
/// (`a=1&&b=2`) are skipped; a piece without `=` is a name with an empty value.
///
/// # Errors
///
/// Returns the first pair whose name or value does not decode.
pub fn parse_pairs(input: &[u8]) -> Result<Vec<(String, String)>, PairError> {
    let mut pairs = Vec::new();
    for piece in input.split(|&byte| byte == b'&') {
        if piece.is_empty() {
            continue;
        }
        let (raw_name, raw_value) = match piece.iter().position(|&byte| byte == b'=') {
            Some(at) => (&piece[..at], &piece[at + 1..]),
            None => (piece, &piece[piece.len()..]),
        };
        let name = decode_component(raw_name, true).map_err(|error| PairError {
            name: String::from_utf8_lossy(raw_name).into_owned(),
            raw_value: String::new(),
            error,
        })?;
        let value = decode_component(raw_value, true).map_err(|error| PairError {
            name: name.clone(),
            raw_value: String::from_utf8_lossy(raw_value).into_owned(),
            error,
        })?;
        pairs.push((name, value));
    }
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(input: &str) -> Vec<(String, String)> {
        parse_pairs(input.as_bytes()).expect("input decodes")
    }

    #[test]
    fn plus_is_space_in_forms() {
        assert_eq!(pairs("message=a+b"), [("message".into(), "a b".into())]);
    }

    #[test]
    fn escaped_plus_is_plus() {
        assert_eq!(pairs("message=a%2Bb"), [("message".into(), "a+b".into())]);
    }

    #[test]
    fn plus_is_literal_in_paths() {
        assert_eq!(decode_component(b"a+b", false), Ok("a+b".to_string()));
    }

    #[test]
    fn multibyte_escapes_decode() {
        assert_eq!(pairs("m=caf%C3%A9"), [("m".into(), "caf\u{e9}".into())]);
    }

    #[test]
    fn lowercase_hex_decodes() {
        assert_eq!(decode_component(b"%c3%a9", true), Ok("\u{e9}".to_string()));
    }

    #[test]
    fn empty_pieces_are_skipped() {
        assert_eq!(pairs("&a=1&&b=2&").len(), 2);
    }

    #[test]
    fn name_without_equals_has_empty_value() {
        assert_eq!(pairs("message"), [("message".into(), String::new())]);
    }

    #[test]
    fn value_may_contain_equals() {
        assert_eq!(pairs("m=a=b"), [("m".into(), "a=b".into())]);
    }

    #[test]
    fn repeats_are_kept() {
        assert_eq!(pairs("a=1&a=2").len(), 2);
    }

    #[test]
    fn truncated_escape_is_rejected() {
        assert_eq!(decode_component(b"50%", true), Err(DecodeError::BadEscape));
    }

    #[test]
    fn non_hex_escape_is_rejected() {
        assert_eq!(decode_component(b"%zz", true), Err(DecodeError::BadEscape));
    }

    #[test]
    fn latin1_escapes_are_rejected() {
        assert_eq!(
            decode_component(b"caf%E9", true),
            Err(DecodeError::EscapedBytesNotUtf8)
        );
    }

    #[test]
    fn split_utf8_escape_is_rejected() {
        assert_eq!(
            decode_component("%C3caf\u{e9}".as_bytes(), true),
            Err(DecodeError::EscapedBytesNotUtf8)
        );
    }

    #[test]
    fn raw_invalid_utf8_is_rejected() {
        assert_eq!(
            decode_component(b"\xff", true),
            Err(DecodeError::RawBytesNotUtf8)
        );
    }

    #[test]
    fn raw_latin1_beside_escapes_is_raw() {
        assert_eq!(
            decode_component(b"%41caf\xe9", true),
            Err(DecodeError::RawBytesNotUtf8)
        );
    }

    #[test]
    fn escape_completing_raw_bytes_decodes() {
        // The raw input is not UTF-8, but the decoded bytes C3 A9 are.
        assert_eq!(decode_component(b"%C3\xa9", true), Ok("\u{e9}".to_string()));
    }

    #[test]
    fn escape_advice_omits_data_urlencode() {
        let advice = DecodeError::EscapedBytesNotUtf8.advice();
        assert!(advice.contains("iconv"), "{advice}");
        assert!(!advice.contains("--data-urlencode"), "{advice}");
    }

    #[test]
    fn broken_value_names_its_parameter() {
        let error = parse_pairs(b"stage=WORKER_INIT&message=50%").expect_err("bad escape");
        assert_eq!(error.name, "message");
    }

    #[test]
    fn nul_byte_escape_decodes() {
        assert_eq!(decode_component(b"%00", true), Ok("\0".to_string()));
    }
}
