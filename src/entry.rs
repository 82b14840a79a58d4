//! The domain of the transaction log: stages, statuses, transaction ids and the
//! validated entry that the write API hands to storage.

use std::fmt;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

/// The step of a Worker's run that an entry reports on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stage {
    Init,
    Decompress,
    Deencrypt,
    Load,
    End,
}

impl Stage {
    pub const ALL: [Stage; 5] = [
        Stage::Init,
        Stage::Decompress,
        Stage::Deencrypt,
        Stage::Load,
        Stage::End,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Init => "WORKER_INIT",
            Stage::Decompress => "WORKER_DECOMPRESS",
            Stage::Deencrypt => "WORKER_DEENCRYPT",
            Stage::Load => "WORKER_LOAD",
            Stage::End => "WORKER_END",
        }
    }

    /// Parses a stage name exactly as sent. `WORKER_DECRYPT` is accepted as
    /// another spelling of `WORKER_DEENCRYPT`.
    pub fn parse(text: &str) -> Option<Stage> {
        if text == "WORKER_DECRYPT" {
            return Some(Stage::Deencrypt);
        }
        Stage::ALL.into_iter().find(|stage| stage.as_str() == text)
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The result of a step: `FAIL` will be retried, `FATAL` will not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    Success,
    Warning,
    Fail,
    Fatal,
}

impl Status {
    pub const ALL: [Status; 4] = [
        Status::Success,
        Status::Warning,
        Status::Fail,
        Status::Fatal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Success => "SUCCESS",
            Status::Warning => "WARNING",
            Status::Fail => "FAIL",
            Status::Fatal => "FATAL",
        }
    }

    pub fn parse(text: &str) -> Option<Status> {
        Status::ALL
            .into_iter()
            .find(|status| status.as_str() == text)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The maximum length of a transaction id, in characters.
pub const MAX_TRANSACTION_ID_LEN: usize = 128;

/// The maximum length of a message, in bytes of UTF-8.
pub const MAX_MESSAGE_BYTES: usize = 1024;

/// A transaction id of 1 to 128 ASCII letters, digits and `- _ . : ~`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TransactionId(String);

impl TransactionId {
    /// Checks an already percent-decoded id.
    ///
    /// # Errors
    ///
    /// Returns a sentence that explains what is wrong with the id.
    pub fn parse(text: &str) -> Result<TransactionId, String> {
        if text.is_empty() {
            return Err("the transaction id is empty".to_string());
        }
        if let Some(bad) = text.chars().find(|c| !is_transaction_id_char(*c)) {
            // Debug quoting would show a quote as '\'', which reads as shell
            // escaping.
            let quoted = if bad == '\'' {
                "\"'\"".to_string()
            } else {
                format!("{bad:?}")
            };
            return Err(format!(
                "the transaction id contains {quoted}; use only ASCII letters, digits and - _ . : ~"
            ));
        }
        // Only ASCII is left, so the length in bytes is the length in characters.
        if text.len() > MAX_TRANSACTION_ID_LEN {
            return Err(format!(
                "the transaction id is {} characters long; the maximum is {MAX_TRANSACTION_ID_LEN}",
                text.len()
            ));
        }
        Ok(TransactionId(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn is_transaction_id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':' | '~')
}

impl fmt::Display for TransactionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A validated entry, ready to be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEntry {
    pub transaction_id: TransactionId,
    pub timestamp: DateTime<Utc>,
    /// The timestamp as the Worker sent it, shown back to readers.
    pub timestamp_sent: String,
    /// The zone that resolved a timestamp sent without an offset, or `None`
    /// for one with an offset and for Unix seconds. It is not stored.
    pub local_zone: Option<Tz>,
    pub stage: Stage,
    pub status: Status,
    pub message: Option<String>,
    pub reported_by: String,
}

/// Returns true for the marks that change the direction of the text around
/// them (Unicode's bidirectional controls). Shown as they are, a message
/// could display its words in another order than it has.
pub fn changes_text_direction(c: char) -> bool {
    matches!(
        c,
        '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
    )
}

/// Returns true for the characters of stored text that the command line and
/// the dashboard show as U+FFFD: control characters (C0, DEL and C1), the
/// line and paragraph separators, and the marks that change the direction
/// of text. Shown as they are, they could move the cursor or change colours
/// in a terminal, break a table row, show as an empty box in a browser, or
/// show the text in another order than it has.
pub fn is_unprintable(c: char) -> bool {
    c.is_control() || c == '\u{2028}' || c == '\u{2029}' || changes_text_direction(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stage_parse_accepts_every_name() {
        for stage in Stage::ALL {
            assert_eq!(Stage::parse(stage.as_str()), Some(stage));
        }
    }

    #[test]
    fn stage_parse_maps_decrypt_spelling() {
        assert_eq!(Stage::parse("WORKER_DECRYPT"), Some(Stage::Deencrypt));
    }

    #[test]
    fn stage_parse_is_case_sensitive() {
        assert_eq!(Stage::parse("worker_init"), None);
    }

    #[test]
    fn status_parse_rejects_unknown() {
        assert_eq!(Status::parse("OK"), None);
    }

    #[test]
    fn transaction_id_accepts_every_allowed_char() {
        assert!(TransactionId::parse("aZ09-_.:~").is_ok());
    }

    #[test]
    fn transaction_id_rejects_empty() {
        assert!(TransactionId::parse("").is_err());
    }

    #[test]
    fn transaction_id_rejects_slash() {
        assert!(TransactionId::parse("a/b").is_err());
    }

    #[test]
    fn transaction_id_rejects_non_ascii() {
        assert!(TransactionId::parse("caf\u{e9}").is_err());
    }

    #[test]
    fn transaction_id_accepts_dot_segments() {
        assert!(TransactionId::parse("..").is_ok());
        assert!(TransactionId::parse(".").is_ok());
    }

    #[test]
    fn transaction_id_accepts_dots_inside() {
        assert!(TransactionId::parse("db.2026-12-04..full").is_ok());
    }

    #[test]
    fn transaction_id_accepts_max_length() {
        assert!(TransactionId::parse(&"a".repeat(128)).is_ok());
    }

    #[test]
    fn transaction_id_rejects_over_max_length() {
        assert!(TransactionId::parse(&"a".repeat(129)).is_err());
    }

    #[test]
    fn over_max_length_names_characters() {
        let error = TransactionId::parse(&"a".repeat(129)).expect_err("too long");
        assert_eq!(
            error,
            "the transaction id is 129 characters long; the maximum is 128"
        );
    }

    #[test]
    fn long_non_ascii_id_names_character() {
        let error = TransactionId::parse(&"\u{e9}".repeat(100)).expect_err("not ASCII");
        assert_eq!(
            error,
            "the transaction id contains '\u{e9}'; use only ASCII letters, digits and - _ . : ~"
        );
    }

    #[test]
    fn quote_in_id_is_shown_plainly() {
        let error = TransactionId::parse("backup'1").expect_err("quote");
        assert_eq!(
            error,
            "the transaction id contains \"'\"; use only ASCII letters, digits and - _ . : ~"
        );
    }
}
