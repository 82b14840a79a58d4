//! Recognition of shell syntax that reached a parameter value unexpanded.
//! A shell expands `$(date -Iseconds)` or `$TS` inside double quotes but not
//! inside single quotes, so `-d 'timestamp=$TS'` sends the three characters
//! `$TS`. No valid timestamp, stage or status contains `$` or a backquote.

use std::fmt;

/// Shell syntax that a shell replaces inside double quotes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShellSyntax {
    /// A command substitution, `$(...)`.
    CommandSubstitution,
    /// A command substitution in backquotes.
    Backquotes,
    /// A parameter expansion, `${...}`.
    ParameterExpansion,
    /// A variable, `$NAME`, with its name.
    Variable(String),
}

/// Writes what a shell would have done with the syntax, to complete "the
/// shell did not".
impl fmt::Display for ShellSyntax {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ShellSyntax::CommandSubstitution => f.write_str("run the command substitution $(...)"),
            ShellSyntax::Backquotes => f.write_str("run the command in backquotes"),
            ShellSyntax::ParameterExpansion => f.write_str("expand the parameter ${...}"),
            ShellSyntax::Variable(name) => write!(f, "expand the variable ${name}"),
        }
    }
}

/// Returns the first shell syntax in `value` that a shell would have
/// expanded: `$(`, `${`, `$` before a letter or `_`, or a backquote.
pub fn find_shell_syntax(value: &str) -> Option<ShellSyntax> {
    let mut characters = value.char_indices().peekable();
    while let Some((at, character)) = characters.next() {
        if character == '`' {
            return Some(ShellSyntax::Backquotes);
        }
        if character != '$' {
            continue;
        }
        match characters.peek() {
            Some((_, '(')) => return Some(ShellSyntax::CommandSubstitution),
            Some((_, '{')) => return Some(ShellSyntax::ParameterExpansion),
            Some((_, next)) if next.is_ascii_alphabetic() || *next == '_' => {
                let name: String = value[at + 1..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                return Some(ShellSyntax::Variable(name));
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_substitution_is_found() {
        assert_eq!(
            find_shell_syntax("$(date -Iseconds)"),
            Some(ShellSyntax::CommandSubstitution)
        );
    }

    #[test]
    fn backquotes_are_found() {
        assert_eq!(
            find_shell_syntax("`date +%s`"),
            Some(ShellSyntax::Backquotes)
        );
    }

    #[test]
    fn parameter_expansion_is_found() {
        assert_eq!(
            find_shell_syntax("${TS}"),
            Some(ShellSyntax::ParameterExpansion)
        );
    }

    #[test]
    fn variable_is_found_with_name() {
        assert_eq!(
            find_shell_syntax("$TS_1"),
            Some(ShellSyntax::Variable("TS_1".into()))
        );
    }

    #[test]
    fn variable_inside_text_is_found() {
        assert_eq!(
            find_shell_syntax("WORKER_$STEP"),
            Some(ShellSyntax::Variable("STEP".into()))
        );
    }

    #[test]
    fn dollar_alone_is_not_syntax() {
        for value in ["$", "5$", "$5", "$ x", "2026-12-04"] {
            assert_eq!(find_shell_syntax(value), None, "{value}");
        }
    }
}
