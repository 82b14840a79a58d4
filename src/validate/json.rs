//! Reading a JSON object body into name and value pairs, repeats kept.
//!
//! `serde_json::Map` keeps only the last of two equal keys, which would drop a
//! repeated parameter silently, so the object is visited pair by pair.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::Value;

use super::RawValue;

/// The members of a JSON object, in order, with values of type `V`.
pub struct ObjectPairs<V>(pub Vec<(String, V)>);

impl<'de, V: Deserialize<'de>> Deserialize<'de> for ObjectPairs<V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ObjectPairsVisitor(PhantomData))
    }
}

struct ObjectPairsVisitor<V>(PhantomData<V>);

impl<'de, V: Deserialize<'de>> Visitor<'de> for ObjectPairsVisitor<V> {
    type Value = ObjectPairs<V>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ObjectPairs<V>, A::Error> {
        let mut pairs = Vec::new();
        while let Some(pair) = map.next_entry::<String, V>()? {
            pairs.push(pair);
        }
        Ok(ObjectPairs(pairs))
    }
}

/// The reason a JSON body was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JsonBodyError {
    /// Not JSON at all; the text names where parsing stopped.
    Malformed(String),
    /// A string with a raw control character, such as a newline, which JSON
    /// writes only as an escape. The text is serde_json's reason.
    ControlCharacter(String),
    /// A JSON object followed by more JSON values, as in newline-delimited
    /// JSON or the output of `jq -c` for several entries.
    SeveralValues,
    /// Valid JSON, but not an object.
    NotObject,
    /// Bytes that are not UTF-8, the first at this offset in the body.
    NotUtf8(usize),
}

/// Parses a JSON object body into its members as parameter values. A number
/// keeps its text exactly as it appears in the body.
///
/// # Errors
///
/// Returns [`JsonBodyError::NotUtf8`] for bytes that are not UTF-8,
/// [`JsonBodyError::Malformed`] for other invalid JSON (trailing text too)
/// and [`JsonBodyError::NotObject`] for an array, string, number, boolean or
/// null.
pub fn parse_object(body: &[u8]) -> Result<Vec<(String, RawValue)>, JsonBodyError> {
    // A sender must not add a byte order mark to JSON text (RFC 8259, 8.1).
    // A parser may skip one, but the write path is strict, and serde_json's
    // own message for it points only at column 1.
    if body.starts_with(b"\xEF\xBB\xBF") {
        return Err(JsonBodyError::Malformed(
            "it starts with a UTF-8 byte order mark, which a JSON sender must not add".into(),
        ));
    }
    // serde_json's message for such bytes, such as "invalid unicode code
    // point", does not tell the sender to convert the text to UTF-8.
    if let Err(error) = std::str::from_utf8(body) {
        return Err(JsonBodyError::NotUtf8(error.valid_up_to()));
    }
    let ObjectPairs(members) = deserialize_members::<Value>(body)?;
    let mut parameters: Vec<(String, RawValue)> = members
        .into_iter()
        .map(|(name, value)| (name, parameter_value(value)))
        .collect();

    // With the arbitrary_precision feature, serde_json keeps a number's digits
    // but rewrites its exponent (`1.5E9` becomes `1.5e+9`). So a second parse
    // reads each value's text as sent, which an error message about a value
    // of another type quotes too. The first parse still decides what is
    // valid, because the second skips serde_json's nesting limit in values.
    if parameters
        .iter()
        .any(|(_, value)| matches!(value, RawValue::Number(_) | RawValue::OtherJson(_)))
    {
        let ObjectPairs(texts) = deserialize_members::<&serde_json::value::RawValue>(body)?;
        for ((_, value), (_, text)) in parameters.iter_mut().zip(texts) {
            match value {
                RawValue::Number(number) => *number = text.get().to_string(),
                RawValue::OtherJson(json) => *json = without_whitespace(text.get()),
                _ => {}
            }
        }
    }
    Ok(parameters)
}

/// Returns valid JSON text without the whitespace between its tokens.
fn without_whitespace(json: &str) -> String {
    let mut compact = String::with_capacity(json.len());
    let mut in_string = false;
    let mut escaped = false;
    for character in json.chars() {
        if in_string {
            if escaped {
                escaped = false;
            } else if character == '\\' {
                escaped = true;
            } else if character == '"' {
                in_string = false;
            }
        } else if matches!(character, ' ' | '\t' | '\n' | '\r') {
            continue;
        } else if character == '"' {
            in_string = true;
        }
        compact.push(character);
    }
    compact
}

/// Deserializes the members of a JSON object body with values of type `V`.
fn deserialize_members<'a, V: Deserialize<'a>>(
    body: &'a [u8],
) -> Result<ObjectPairs<V>, JsonBodyError> {
    serde_json::from_slice::<ObjectPairs<V>>(body).map_err(|error| {
        if error.classify() == serde_json::error::Category::Data {
            return JsonBodyError::NotObject;
        }
        if starts_several_values(body) {
            return JsonBodyError::SeveralValues;
        }
        let reason = syntax_error_reason(body, &error);
        // serde_json (1.0.154 here) has no public error code, and this is
        // the message of its error for a control character in a string.
        if reason.starts_with("control character") {
            JsonBodyError::ControlCharacter(reason)
        } else {
            JsonBodyError::Malformed(reason)
        }
    })
}

/// Returns true when `body` starts with a whole JSON object that another
/// JSON value follows, after optional whitespace.
fn starts_several_values(body: &[u8]) -> bool {
    let mut values = serde_json::Deserializer::from_slice(body).into_iter::<Value>();
    matches!(values.next(), Some(Ok(Value::Object(_)))) && matches!(values.next(), Some(Ok(_)))
}

/// Returns the reason for a body that is not JSON: serde_json's message,
/// unless the error is an unpaired UTF-16 surrogate escape, for which
/// serde_json's message ("unexpected end of hex escape" or "lone leading
/// surrogate in hex escape") names neither the escape nor the fix.
fn syntax_error_reason(body: &[u8], error: &serde_json::Error) -> String {
    let Some(escape_at) = find_unpaired_surrogate(body) else {
        return error.to_string();
    };
    // serde_json stops at the first error, and rejects an unpaired surrogate
    // where it reads it. So an error past the start of the escape is the
    // escape's, and an error before it has another cause.
    if error_offset(body, error) <= escape_at {
        return error.to_string();
    }
    let escape = String::from_utf8_lossy(&body[escape_at..escape_at + 6]);
    let before = &body[..escape_at];
    let line = 1 + before.iter().filter(|byte| **byte == b'\n').count();
    let line_start = before
        .iter()
        .rposition(|byte| *byte == b'\n')
        .map_or(0, |newline| newline + 1);
    let column = 1 + escape_at - line_start;
    format!(
        "the escape {escape} at line {line} column {column} is half of a UTF-16 surrogate pair \
         without its other half, so write a character above U+FFFF as a pair of escapes such \
         as \\ud83d\\ude00, or as UTF-8 without an escape"
    )
}

/// Returns the byte offset in `body` where serde_json stopped with `error`.
/// serde_json (1.0.154 here) counts lines from 1, and columns in bytes from
/// the start of the line.
fn error_offset(body: &[u8], error: &serde_json::Error) -> usize {
    let line_start = match error.line() {
        0 | 1 => 0,
        line => body
            .iter()
            .enumerate()
            .filter(|(_, byte)| **byte == b'\n')
            .nth(line - 2)
            .map_or(body.len(), |(newline, _)| newline + 1),
    };
    line_start + error.column()
}

/// Returns the offset of the first `\uXXXX` escape in a string of `body`
/// that is half of a UTF-16 surrogate pair without its other half. That is a
/// high surrogate (`D800` to `DBFF`) not followed by the escape of a low one
/// (`DC00` to `DFFF`), or a low one alone. Returns `None` when there is none,
/// or when the body ends where the low half could still have followed.
fn find_unpaired_surrogate(body: &[u8]) -> Option<usize> {
    let mut in_string = false;
    let mut index = 0;
    while index < body.len() {
        match (in_string, body[index]) {
            (false, b'"') => in_string = true,
            (true, b'"') => in_string = false,
            (true, b'\\') => match unicode_escape(body, index) {
                Some(0xD800..=0xDBFF) => {
                    let next = index + 6;
                    if matches!(unicode_escape(body, next), Some(0xDC00..=0xDFFF)) {
                        index = next + 6;
                        continue;
                    }
                    if is_cut_escape(&body[next..]) {
                        return None;
                    }
                    return Some(index);
                }
                Some(0xDC00..=0xDFFF) => return Some(index),
                // The escape's last byte is skipped below.
                Some(_) => index += 5,
                // Any other escape is two bytes long.
                None => index += 1,
            },
            _ => {}
        }
        index += 1;
    }
    None
}

/// Returns the code unit of the `\uXXXX` escape at `at` in `body`, if there
/// is one with four hex digits.
fn unicode_escape(body: &[u8], at: usize) -> Option<u16> {
    let escape = body.get(at..at + 6)?;
    let digits = escape.strip_prefix(b"\\u")?;
    if !digits.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    u16::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()
}

/// Returns true when `rest`, the end of a body, is the start of a `\uXXXX`
/// escape that was cut short, or empty.
fn is_cut_escape(rest: &[u8]) -> bool {
    rest.len() < 6
        && rest
            .iter()
            .enumerate()
            .all(|(position, byte)| match position {
                0 => *byte == b'\\',
                1 => *byte == b'u',
                _ => byte.is_ascii_hexdigit(),
            })
}

fn parameter_value(value: Value) -> RawValue {
    match value {
        Value::String(text) => RawValue::JsonText(text),
        Value::Number(number) => RawValue::Number(number.to_string()),
        Value::Null => RawValue::Null,
        Value::Bool(_) | Value::Array(_) | Value::Object(_) => {
            RawValue::OtherJson(value.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_members_keep_order() {
        let pairs = parse_object(br#"{"b":"1","a":"2"}"#).expect("object");
        assert_eq!(pairs[0].0, "b");
    }

    #[test]
    fn repeated_keys_are_kept() {
        let pairs = parse_object(br#"{"a":"1","a":"2"}"#).expect("object");
        assert_eq!(pairs.len(), 2);
    }

    #[test]
    fn byte_order_mark_is_named() {
        let error = parse_object(b"\xEF\xBB\xBF{}").expect_err("a BOM is rejected");
        assert!(
            matches!(&error, JsonBodyError::Malformed(reason) if reason.contains("byte order mark")),
            "{error:?}"
        );
    }

    #[test]
    fn raw_newline_in_string_is_control_character() {
        let error = parse_object(b"{\"message\":\"a\nb\"}").expect_err("a raw newline");
        assert!(
            matches!(&error, JsonBodyError::ControlCharacter(reason) if reason.contains("line 2 column 0")),
            "{error:?}"
        );
    }

    #[test]
    fn raw_tab_in_string_is_control_character() {
        let error = parse_object(b"{\"message\":\"a\tb\"}").expect_err("a raw tab");
        assert!(
            matches!(error, JsonBodyError::ControlCharacter(_)),
            "{error:?}"
        );
    }

    #[test]
    fn raw_quote_in_string_is_malformed() {
        let error = parse_object(br#"{"message":"a "b" c"}"#).expect_err("a raw quote");
        assert!(matches!(error, JsonBodyError::Malformed(_)), "{error:?}");
    }

    /// Returns the reason for a malformed body, and panics for any other result.
    fn malformed_reason(body: &[u8]) -> String {
        match parse_object(body) {
            Err(JsonBodyError::Malformed(reason)) => reason,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn high_surrogate_alone_is_named() {
        let reason = malformed_reason(br#"{"message":"\ud800"}"#);
        assert!(
            reason.starts_with(r"the escape \ud800 at line 1 column 13 is half of a UTF-16"),
            "{reason}"
        );
    }

    #[test]
    fn low_surrogate_alone_is_named() {
        let reason = malformed_reason(b"{\n\"message\": \"x\\uDC00\"}");
        assert!(
            reason.starts_with(r"the escape \uDC00 at line 2 column 14 is half"),
            "{reason}"
        );
    }

    #[test]
    fn high_surrogate_before_other_escape_is_named() {
        let reason = malformed_reason(br#"{"message":"\ud800\u0041"}"#);
        assert!(reason.contains("surrogate pair"), "{reason}");
    }

    #[test]
    fn surrogate_pair_is_accepted() {
        let pairs = parse_object(br#"{"message":"\ud83d\ude00"}"#).expect("object");
        assert_eq!(pairs[0].1, RawValue::JsonText("\u{1f600}".into()));
    }

    #[test]
    fn escaped_backslash_before_u_is_no_escape() {
        let reason = malformed_reason(br#"{"a":"\\ud800", x}"#);
        assert!(!reason.contains("surrogate"), "{reason}");
    }

    #[test]
    fn earlier_error_keeps_its_message() {
        let reason = malformed_reason(br#"{"a" "\ud800"}"#);
        assert!(!reason.contains("surrogate"), "{reason}");
    }

    #[test]
    fn body_cut_after_high_surrogate_is_not_named() {
        let reason = malformed_reason(br#"{"a":"\ud800\u"#);
        assert!(!reason.contains("surrogate"), "{reason}");
    }

    #[test]
    fn surrogate_in_key_is_named() {
        let reason = malformed_reason(br#"{"\udfff":"1"}"#);
        assert!(reason.contains(r"\udfff"), "{reason}");
    }

    #[test]
    fn array_is_not_object() {
        assert_eq!(parse_object(b"[1,2]"), Err(JsonBodyError::NotObject));
    }

    #[test]
    fn string_is_not_object() {
        assert_eq!(parse_object(br#""x""#), Err(JsonBodyError::NotObject));
    }

    #[test]
    fn truncated_object_is_malformed() {
        assert!(matches!(
            parse_object(br#"{"a":"#),
            Err(JsonBodyError::Malformed(_))
        ));
    }

    #[test]
    fn trailing_text_is_malformed() {
        assert!(matches!(
            parse_object(br#"{"a":"1"} x"#),
            Err(JsonBodyError::Malformed(_))
        ));
    }

    #[test]
    fn invalid_utf8_names_offset() {
        assert_eq!(
            parse_object(b"{\"a\":\"\xff\"}"),
            Err(JsonBodyError::NotUtf8(6))
        );
    }

    #[test]
    fn deep_nesting_is_rejected_without_overflow() {
        let body = format!(r#"{{"a":{}{}}}"#, "[".repeat(10_000), "]".repeat(10_000));
        assert!(parse_object(body.as_bytes()).is_err());
    }

    #[test]
    fn number_keeps_its_digits() {
        let pairs = parse_object(br#"{"t":1764856674.123456789}"#).expect("object");
        assert_eq!(pairs[0].1, RawValue::Number("1764856674.123456789".into()));
    }

    #[test]
    fn number_keeps_its_exponent_as_sent() {
        for number in [
            "1.796392677e9",
            "1.796392677E9",
            "1.796392677e+9",
            "1e400",
            "-0",
        ] {
            let body = format!(r#"{{"t": {number} }}"#);
            let pairs = parse_object(body.as_bytes()).expect("object");
            assert_eq!(pairs[0].1, RawValue::Number(number.into()), "{body}");
        }
    }

    #[test]
    fn numbers_keep_their_own_text() {
        let pairs = parse_object(br#"{"a":"1e1","b":[2E2],"c":3E3,"c":4e+4}"#).expect("object");
        let values: Vec<RawValue> = pairs.into_iter().map(|(_, value)| value).collect();
        let expected = [
            RawValue::JsonText("1e1".into()),
            RawValue::OtherJson("[2E2]".into()),
            RawValue::Number("3E3".into()),
            RawValue::Number("4e+4".into()),
        ];
        assert_eq!(values, expected);
    }

    #[test]
    fn deep_nesting_beside_number_is_malformed() {
        let body = format!(r#"{{"t":1,"a":{}{}}}"#, "[".repeat(200), "]".repeat(200));
        assert!(matches!(
            parse_object(body.as_bytes()),
            Err(JsonBodyError::Malformed(_))
        ));
    }

    #[test]
    fn other_json_keeps_its_text_without_whitespace() {
        let pairs = parse_object(b"{\"a\": [ 1E2, \"x \\\" y\" ,\n{} ]}").expect("object");
        assert_eq!(
            pairs[0].1,
            RawValue::OtherJson(r#"[1E2,"x \" y",{}]"#.into())
        );
    }

    #[test]
    fn strings_and_null_convert() {
        let pairs = parse_object(br#"{"a":"x\u00e9","b":null,"c":true}"#).expect("object");
        let values: Vec<RawValue> = pairs.into_iter().map(|(_, value)| value).collect();
        let expected = [
            RawValue::JsonText("x\u{e9}".into()),
            RawValue::Null,
            RawValue::OtherJson("true".into()),
        ];
        assert_eq!(values, expected);
    }
}
