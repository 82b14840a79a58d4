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
    /// Valid JSON, but not an object.
    NotObject,
}

/// Parses a JSON object body into its members as parameter values. A number
/// keeps its text exactly as it appears in the body.
///
/// # Errors
///
/// Returns [`JsonBodyError::Malformed`] for invalid JSON (including bytes that
/// are not UTF-8 and trailing text) and [`JsonBodyError::NotObject`] for an
/// array, string, number, boolean or null.
pub fn parse_object(body: &[u8]) -> Result<Vec<(String, RawValue)>, JsonBodyError> {
    // A sender must not add a byte order mark to JSON text (RFC 8259, 8.1).
    // A parser may skip one, but the write path is strict, and serde_json's
    // own message for it points only at column 1.
    if body.starts_with(b"\xEF\xBB\xBF") {
        return Err(JsonBodyError::Malformed(
            "it starts with a UTF-8 byte order mark, which a JSON sender must not add".into(),
        ));
    }
    let ObjectPairs(members) = deserialize_members::<Value>(body)?;
    let mut parameters: Vec<(String, RawValue)> = members
        .into_iter()
        .map(|(name, value)| (name, parameter_value(value)))
        .collect();

    // With the arbitrary_precision feature, serde_json keeps a number's digits
    // but rewrites its exponent (`1.5E9` becomes `1.5e+9`). So a second parse
    // reads each value's text as sent. The first parse still decides what is
    // valid, because the second skips serde_json's nesting limit in values.
    if parameters
        .iter()
        .any(|(_, value)| matches!(value, RawValue::Number(_)))
    {
        let ObjectPairs(texts) = deserialize_members::<&serde_json::value::RawValue>(body)?;
        for ((_, value), (_, text)) in parameters.iter_mut().zip(texts) {
            if let RawValue::Number(number) = value {
                *number = text.get().to_string();
            }
        }
    }
    Ok(parameters)
}

/// Deserializes the members of a JSON object body with values of type `V`.
fn deserialize_members<'a, V: Deserialize<'a>>(
    body: &'a [u8],
) -> Result<ObjectPairs<V>, JsonBodyError> {
    serde_json::from_slice::<ObjectPairs<V>>(body).map_err(|error| {
        if error.classify() == serde_json::error::Category::Data {
            JsonBodyError::NotObject
        } else {
            JsonBodyError::Malformed(error.to_string())
        }
    })
}

fn parameter_value(value: Value) -> RawValue {
    match value {
        Value::String(text) => RawValue::Text(text),
        Value::Number(number) => RawValue::Number(number.to_string()),
        Value::Null => RawValue::Null,
        Value::Bool(_) | Value::Array(_) | Value::Object(_) => RawValue::OtherJson,
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
    fn invalid_utf8_is_malformed() {
        assert!(matches!(
            parse_object(b"{\"a\":\"\xff\"}"),
            Err(JsonBodyError::Malformed(_))
        ));
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
            RawValue::Text("1e1".into()),
            RawValue::OtherJson,
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
    fn strings_and_null_convert() {
        let pairs = parse_object(br#"{"a":"x\u00e9","b":null,"c":true}"#).expect("object");
        let values: Vec<RawValue> = pairs.into_iter().map(|(_, value)| value).collect();
        let expected = [
            RawValue::Text("x\u{e9}".into()),
            RawValue::Null,
            RawValue::OtherJson,
        ];
        assert_eq!(values, expected);
    }
}
