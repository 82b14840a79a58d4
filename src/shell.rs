//! Quoting of paths for the shell commands that messages suggest, so that a
//! command copied from a message works for a path with spaces or quotes.

use std::borrow::Cow;

/// Returns `text` as one word of a POSIX shell command: unchanged when it
/// contains only characters that a POSIX shell reads as ordinary ones, and in
/// single quotes otherwise, with each single quote written as `'\''`.
pub fn quote(text: &str) -> Cow<'_, str> {
    let plain = !text.is_empty()
        && text
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b"/._-+:,@%=".contains(&byte));
    if plain {
        return Cow::Borrowed(text);
    }
    Cow::Owned(format!("'{}'", text.replace('\'', r"'\''")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_path_is_unchanged() {
        assert_eq!(
            quote("/var/lib/translog/translog.db"),
            "/var/lib/translog/translog.db"
        );
    }

    #[test]
    fn path_with_space_is_quoted() {
        assert_eq!(quote("/srv/my db.db"), "'/srv/my db.db'");
    }

    #[test]
    fn single_quote_is_escaped() {
        assert_eq!(quote("it's.db"), r"'it'\''s.db'");
    }

    #[test]
    fn empty_text_is_quoted() {
        assert_eq!(quote(""), "''");
    }
}
