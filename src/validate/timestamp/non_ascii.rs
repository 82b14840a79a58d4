//! Non-ASCII characters in rejected timestamps. Every accepted form writes its date, time and
//! offset in ASCII. Text copied from a word processor, a chat or a web page may still have a
//! character that looks like an ASCII one, such as U+2212 MINUS SIGN, or an invisible one,
//! such as U+200B ZERO WIDTH SPACE. The error names such a character, because the reader
//! cannot see what is wrong with the value.

use chrono_tz::Tz;

use super::error::TimestampError;
use super::parse_timestamp;

/// A non-ASCII character that the table of [`KNOWN_CHARACTERS`] names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct KnownCharacter {
    /// The Unicode name, such as `MINUS SIGN`.
    pub name: &'static str,
    /// The ASCII character that it looks like, or `None` for an invisible character.
    pub ascii: Option<char>,
}

/// The look-alikes of the ASCII characters that timestamps contain, and the invisible
/// characters that copied text often carries.
const KNOWN_CHARACTERS: [(char, &str, Option<char>); 53] = [
    ('\u{2010}', "HYPHEN", Some('-')),
    ('\u{2011}', "NON-BREAKING HYPHEN", Some('-')),
    ('\u{2012}', "FIGURE DASH", Some('-')),
    ('\u{2013}', "EN DASH", Some('-')),
    ('\u{2014}', "EM DASH", Some('-')),
    ('\u{2212}', "MINUS SIGN", Some('-')),
    ('\u{FE63}', "SMALL HYPHEN-MINUS", Some('-')),
    ('\u{FF0D}', "FULLWIDTH HYPHEN-MINUS", Some('-')),
    ('\u{FF0B}', "FULLWIDTH PLUS SIGN", Some('+')),
    ('\u{2236}', "RATIO", Some(':')),
    ('\u{A789}', "MODIFIER LETTER COLON", Some(':')),
    ('\u{FF1A}', "FULLWIDTH COLON", Some(':')),
    ('\u{FF0E}', "FULLWIDTH FULL STOP", Some('.')),
    ('\u{FF0C}', "FULLWIDTH COMMA", Some(',')),
    ('\u{FF10}', "FULLWIDTH DIGIT ZERO", Some('0')),
    ('\u{FF11}', "FULLWIDTH DIGIT ONE", Some('1')),
    ('\u{FF12}', "FULLWIDTH DIGIT TWO", Some('2')),
    ('\u{FF13}', "FULLWIDTH DIGIT THREE", Some('3')),
    ('\u{FF14}', "FULLWIDTH DIGIT FOUR", Some('4')),
    ('\u{FF15}', "FULLWIDTH DIGIT FIVE", Some('5')),
    ('\u{FF16}', "FULLWIDTH DIGIT SIX", Some('6')),
    ('\u{FF17}', "FULLWIDTH DIGIT SEVEN", Some('7')),
    ('\u{FF18}', "FULLWIDTH DIGIT EIGHT", Some('8')),
    ('\u{FF19}', "FULLWIDTH DIGIT NINE", Some('9')),
    ('\u{FF34}', "FULLWIDTH LATIN CAPITAL LETTER T", Some('T')),
    ('\u{FF3A}', "FULLWIDTH LATIN CAPITAL LETTER Z", Some('Z')),
    ('\u{0422}', "CYRILLIC CAPITAL LETTER TE", Some('T')),
    ('\u{03A4}', "GREEK CAPITAL LETTER TAU", Some('T')),
    ('\u{0396}', "GREEK CAPITAL LETTER ZETA", Some('Z')),
    ('\u{00A0}', "NO-BREAK SPACE", Some(' ')),
    ('\u{2007}', "FIGURE SPACE", Some(' ')),
    ('\u{2009}', "THIN SPACE", Some(' ')),
    ('\u{202F}', "NARROW NO-BREAK SPACE", Some(' ')),
    ('\u{3000}', "IDEOGRAPHIC SPACE", Some(' ')),
    ('\u{00AD}', "SOFT HYPHEN", None),
    ('\u{200B}', "ZERO WIDTH SPACE", None),
    ('\u{200C}', "ZERO WIDTH NON-JOINER", None),
    ('\u{200D}', "ZERO WIDTH JOINER", None),
    ('\u{200E}', "LEFT-TO-RIGHT MARK", None),
    ('\u{200F}', "RIGHT-TO-LEFT MARK", None),
    ('\u{2060}', "WORD JOINER", None),
    ('\u{061C}', "ARABIC LETTER MARK", None),
    ('\u{202A}', "LEFT-TO-RIGHT EMBEDDING", None),
    ('\u{202B}', "RIGHT-TO-LEFT EMBEDDING", None),
    ('\u{202C}', "POP DIRECTIONAL FORMATTING", None),
    ('\u{202D}', "LEFT-TO-RIGHT OVERRIDE", None),
    ('\u{202E}', "RIGHT-TO-LEFT OVERRIDE", None),
    ('\u{2066}', "LEFT-TO-RIGHT ISOLATE", None),
    ('\u{2067}', "RIGHT-TO-LEFT ISOLATE", None),
    ('\u{2068}', "FIRST STRONG ISOLATE", None),
    ('\u{2069}', "POP DIRECTIONAL ISOLATE", None),
    ('\u{FE0F}', "VARIATION SELECTOR-16", None),
    // Unicode names U+FEFF ZERO WIDTH NO-BREAK SPACE and gives it the alias BYTE ORDER MARK,
    // which is the role it has at the start of copied text.
    ('\u{FEFF}', "BYTE ORDER MARK", None),
];

/// Returns the name and ASCII counterpart of `character`, or `None` for a character outside
/// the table.
pub(super) fn known_character(character: char) -> Option<KnownCharacter> {
    KNOWN_CHARACTERS
        .iter()
        .find(|(known, _, _)| *known == character)
        .map(|&(_, name, ascii)| KnownCharacter { name, ascii })
}

/// Returns the error that names the first non-ASCII character of `text`, or `None` when the
/// text is ASCII. The error quotes the corrected value when replacing each known look-alike
/// with its ASCII character and removing each invisible character gives a valid timestamp.
/// A space look-alike is first replaced with an ASCII space and then, when that is invalid
/// too, removed, because ISO 8601 allows no space before the offset.
pub(super) fn non_ascii_character(text: &str, zone: Tz) -> Option<TimestampError> {
    let character = text.chars().find(|character| !character.is_ascii())?;
    let known = known_character(character);
    let first_fix = known.and_then(|known| known.ascii);
    let is_space = first_fix == Some(' ');

    let with_spaces = corrected_text(text, true).filter(|text| is_valid(text, zone));
    let without_spaces = corrected_text(text, false).filter(|text| is_valid(text, zone));
    let (replacement, corrected) = match (with_spaces, without_spaces) {
        (Some(corrected), _) => (first_fix, Some(corrected)),
        (None, Some(corrected)) if is_space => (None, Some(corrected)),
        (None, Some(corrected)) => (first_fix, Some(corrected)),
        (None, None) => (first_fix, None),
    };
    Some(TimestampError::NonAsciiCharacter {
        character,
        replacement,
        corrected,
    })
}

/// Returns true when `text` has a non-ASCII character outside parentheses,
/// that is, outside an RFC 2822 comment such as `(Mitteleuropäische Zeit)`.
pub(super) fn has_non_ascii_outside_comment(text: &str) -> bool {
    let mut depth = 0_usize;
    text.chars().any(|character| {
        match character {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            _ => {}
        }
        depth == 0 && !character.is_ascii()
    })
}

/// Returns `text` with each known look-alike replaced by its ASCII character and each
/// invisible character removed. Space look-alikes become ASCII spaces when `keep_spaces` is
/// true and are removed otherwise. Returns `None` when a character outside the table remains.
fn corrected_text(text: &str, keep_spaces: bool) -> Option<String> {
    let mut corrected = String::with_capacity(text.len());
    for character in text.chars() {
        if character.is_ascii() {
            corrected.push(character);
            continue;
        }
        match known_character(character)?.ascii {
            Some(' ') if !keep_spaces => {}
            Some(ascii) => corrected.push(ascii),
            None => {}
        }
    }
    Some(corrected)
}

/// Returns true when `text` is an accepted timestamp. The text is ASCII, so its parse does not
/// come back here.
fn is_valid(text: &str, zone: Tz) -> bool {
    parse_timestamp(text, zone).is_ok()
}

/// Returns `text` with every non-ASCII character written as a Rust escape such as `\u{200b}`,
/// so that a message shows look-alike and invisible characters.
pub fn escape_non_ascii(text: &str) -> String {
    text.chars()
        .map(|character| {
            if character.is_ascii() {
                character.to_string()
            } else {
                character.escape_unicode().to_string()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::timestamp::tests::{assert_rejects, BERLIN};

    fn non_ascii(character: char, replacement: Option<char>, corrected: &str) -> TimestampError {
        TimestampError::NonAsciiCharacter {
            character,
            replacement,
            corrected: Some(corrected.to_string()),
        }
    }

    #[test]
    fn minus_sign_in_offset_is_named() {
        let text = "2026-12-04T14:57:54\u{2212}05:00";
        let expected = non_ascii('\u{2212}', Some('-'), "2026-12-04T14:57:54-05:00");
        assert_rejects(text, BERLIN, expected);
    }

    #[test]
    fn minus_sign_message_gives_fix() {
        let error = parse_timestamp("2026-12-04T14:57:54\u{2212}05:00", BERLIN).unwrap_err();
        assert_eq!(
            error.to_string(),
            "the timestamp has U+2212 MINUS SIGN (`\\u{2212}`) where a `-` belongs, so type \
             the ASCII `-` instead and send `2026-12-04T14:57:54-05:00`"
        );
    }

    #[test]
    fn no_break_space_before_offset_is_removed() {
        for space in ['\u{a0}', '\u{202f}'] {
            let text = format!("2026-12-04T14:57:54{space}+01:00");
            let expected = non_ascii(space, None, "2026-12-04T14:57:54+01:00");
            assert_rejects(&text, BERLIN, expected);
        }
    }

    #[test]
    fn no_break_space_message_says_remove() {
        let error = parse_timestamp("2026-12-04T14:57:54\u{a0}+01:00", BERLIN).unwrap_err();
        assert_eq!(
            error.to_string(),
            "the timestamp has U+00A0 NO-BREAK SPACE (`\\u{a0}`), a space that is not ASCII, \
             so remove it and send `2026-12-04T14:57:54+01:00`"
        );
    }

    #[test]
    fn no_break_space_after_date_is_replaced() {
        let text = "2026-12-04\u{a0}14:57:54+01:00";
        let expected = non_ascii('\u{a0}', Some(' '), "2026-12-04 14:57:54+01:00");
        assert_rejects(text, BERLIN, expected);
    }

    #[test]
    fn leading_byte_order_mark_is_named() {
        let text = "\u{feff}2026-12-04T14:57:54+01:00";
        let expected = non_ascii('\u{feff}', None, "2026-12-04T14:57:54+01:00");
        assert_rejects(text, BERLIN, expected);
    }

    #[test]
    fn byte_order_mark_message_says_invisible() {
        let error = parse_timestamp("\u{feff}1796392674", BERLIN).unwrap_err();
        assert_eq!(
            error.to_string(),
            "the timestamp has an invisible U+FEFF BYTE ORDER MARK (`\\u{feff}`), so remove \
             it and send `1796392674`"
        );
    }

    #[test]
    fn zero_width_space_after_z_is_named() {
        let text = "2026-12-04T14:57:54Z\u{200b}";
        let expected = non_ascii('\u{200b}', None, "2026-12-04T14:57:54Z");
        assert_rejects(text, BERLIN, expected);
    }

    #[test]
    fn zero_width_space_message_says_invisible() {
        let error = parse_timestamp("2026-12-04T14:57:54Z\u{200b}", BERLIN).unwrap_err();
        assert_eq!(
            error.to_string(),
            "the timestamp has an invisible U+200B ZERO WIDTH SPACE (`\\u{200b}`), so remove \
             it and send `2026-12-04T14:57:54Z`"
        );
    }

    #[test]
    fn fullwidth_digits_are_named() {
        let text = "２０２６-12-04";
        let expected = non_ascii('\u{ff12}', Some('2'), "2026-12-04");
        assert_rejects(text, BERLIN, expected);
    }

    #[test]
    fn other_character_names_code_point() {
        let error = parse_timestamp("2026-12-04T14:57:54é", BERLIN).unwrap_err();
        assert_eq!(
            error,
            TimestampError::NonAsciiCharacter {
                character: 'é',
                replacement: None,
                corrected: None,
            }
        );
    }

    #[test]
    fn other_character_message_names_code_point() {
        let error = parse_timestamp("2026-12-04T14:57:54é", BERLIN).unwrap_err();
        let message = error.to_string();
        assert!(
            message.starts_with("the timestamp has the non-ASCII character U+00E9 (`\\u{e9}`)"),
            "{message}"
        );
    }

    #[test]
    fn look_alike_without_valid_correction_names_character() {
        let text = "2026-12-04T14:57:54\u{2212}25:00";
        let expected = TimestampError::NonAsciiCharacter {
            character: '\u{2212}',
            replacement: Some('-'),
            corrected: None,
        };
        assert_rejects(text, BERLIN, expected);
    }

    #[test]
    fn rfc2822_comment_must_be_ascii() {
        let text = "Fri, 04 Dec 2026 14:57:54 +0100 (Mitteleurop\u{e4}ische Zeit)";
        let expected = TimestampError::NonAsciiCharacter {
            character: '\u{e4}',
            replacement: None,
            corrected: None,
        };
        assert_rejects(text, BERLIN, expected);
    }

    #[test]
    fn rfc2822_comment_character_waits_for_date_fault() {
        let text = "Fri, 04 Dec 2026 14:57:54 (Mitteleurop\u{e4}ische Zeit)";
        let error = parse_timestamp(text, BERLIN).expect_err("no offset");
        assert!(
            !matches!(error, TimestampError::NonAsciiCharacter { .. }),
            "{error:?}"
        );
    }

    #[test]
    fn javascript_date_keeps_its_hint() {
        let text = "Fri Dec 04 2026 14:57:54 GMT+0100 (Mitteleurop\u{e4}ische Normalzeit)";
        let error = parse_timestamp(text, BERLIN).expect_err("JavaScript form");
        assert!(
            matches!(error, TimestampError::JavaScriptDateString { .. }),
            "{error:?}"
        );
    }

    #[test]
    fn rfc2822_unicode_space_is_named() {
        let text = "Fri,\u{a0}04 Dec 2026 14:57:54 +0100";
        let expected = non_ascii('\u{a0}', Some(' '), "Fri, 04 Dec 2026 14:57:54 +0100");
        assert_rejects(text, BERLIN, expected);
    }

    #[test]
    fn direction_override_is_named() {
        let text = "Fri, 04 Dec 2026 14:57:54 +0100 (\u{202e}TEC)";
        let expected = non_ascii('\u{202e}', None, "Fri, 04 Dec 2026 14:57:54 +0100 (TEC)");
        assert_rejects(text, BERLIN, expected);
    }

    #[test]
    fn escape_shows_every_non_ascii_character() {
        assert_eq!(
            escape_non_ascii("2026-12-04T14:57:54\u{2212}05:00\u{200b}"),
            "2026-12-04T14:57:54\\u{2212}05:00\\u{200b}"
        );
    }
}
