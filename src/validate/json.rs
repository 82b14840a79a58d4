//! Reading a JSON object body into name and value pairs, repeats kept.
//!
//! `serde_json::Map` keeps only the last of two equal keys, which would drop a
//! repeated parameter silently, so the object is visited pair by pair.

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::Value;

/// The members of a JSON object, in order.
pub struct ObjectPairs(pub Vec<(String, Value)>);

impl<'de> Deserialize<'de> for ObjectPairs {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ObjectPairsVisitor)
    }
}

struct ObjectPairsVisitor;

impl<'de> Visitor<'de> for ObjectPairsVisitor {
    type Value = ObjectPairs;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ObjectPairs, A::Error> {
        let mut pairs = Vec::new();
        while let Some(pair) = map.next_entry::<String, Value>()? {
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

/// Parses a JSON object body.
///
/// # Errors
///
/// Returns [`JsonBodyError::Malformed`] for invalid JSON (including bytes that
/// are not UTF-8 and trailing text) and [`JsonBodyError::NotObject`] for an
/// array, string, number, boolean or null.
pub fn parse_object(body: &[u8]) -> Result<Vec<(String, Value)>, JsonBodyError> {
    match serde_json::from_slice::<ObjectPairs>(body) {
        Ok(ObjectPairs(pairs)) => Ok(pairs),
        Err(error) if error.classify() == serde_json::error::Category::Data => {
            Err(JsonBodyError::NotObject)
        }
        Err(error) => Err(JsonBodyError::Malformed(error.to_string())),
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
        assert_eq!(pairs[0].1.to_string(), "1764856674.123456789");
    }
}
