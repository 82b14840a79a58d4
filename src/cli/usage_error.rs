//! One-line usage errors from clap's parse errors, naming the environment
//! variable when a rejected value came from one.

use clap::error::{ContextKind, ContextValue};
use clap::CommandFactory as _;

use super::Cli;

/// Renders a parse error as one line. Clap names only the option, so for a
/// value from an environment variable the line starts with the variable.
pub fn describe(error: &clap::Error) -> String {
    let message = one_line(&error.render().to_string());
    match environment_source(error) {
        Some(variable) => format!("environment variable {variable}: {message}"),
        None => message,
    }
}

/// Returns the environment variable whose value `error` rejects, or `None`
/// when the value came from the command line or the error concerns no value.
fn environment_source(error: &clap::Error) -> Option<String> {
    let Some(ContextValue::String(argument)) = error.get(ContextKind::InvalidArg) else {
        return None;
    };
    // Clap (4.6) reads environment variables only after every command-line
    // argument. Parsing the same arguments without them therefore fails on
    // the same value exactly when that value came from the command line.
    let without_environment = remove_environment(Cli::command());
    if let Err(again) = without_environment.try_get_matches_from(std::env::args_os()) {
        let same_value = [ContextKind::InvalidArg, ContextKind::InvalidValue]
            .into_iter()
            .all(|kind| again.get(kind) == error.get(kind));
        if again.kind() == error.kind() && same_value {
            return None;
        }
    }
    // An empty value has no InvalidValue context.
    let value = match error.get(ContextKind::InvalidValue) {
        Some(ContextValue::String(value)) => value.as_str(),
        _ => "",
    };
    // Clap shows an argument only once the command is built.
    let mut command = Cli::command();
    command.build();
    find_environment_variable(&command, argument, value)
}

/// Removes the environment variable from every argument of `command` and of
/// its subcommands.
fn remove_environment(command: clap::Command) -> clap::Command {
    command
        .mut_args(|arg| arg.env(None))
        .mut_subcommands(remove_environment)
}

/// Finds the environment variable of the argument that clap shows as
/// `argument`, such as `--listen <LISTEN>`, among the variables set to `value`.
fn find_environment_variable(
    command: &clap::Command,
    argument: &str,
    value: &str,
) -> Option<String> {
    let found = command.get_arguments().find_map(|arg| {
        let variable = arg.get_env()?;
        let current = std::env::var_os(variable)?;
        let matches = arg.to_string() == argument && current.to_string_lossy() == value;
        matches.then(|| variable.to_string_lossy().into_owned())
    });
    found.or_else(|| {
        command
            .get_subcommands()
            .find_map(|subcommand| find_environment_variable(subcommand, argument, value))
    })
}

/// Returns the option whose argument id is `id` as clap's usage errors name
/// it, such as `--before <BEFORE>` for `before`, so that the usage errors of
/// checks made after parsing name it the same way. Returns `--{id}` when no
/// command has such an argument.
pub fn option_name(id: &str) -> String {
    // Clap shows an argument only once the command is built.
    let mut command = Cli::command();
    command.build();
    find_argument(&command, id).unwrap_or_else(|| format!("--{id}"))
}

/// Finds the argument with the id `id` in `command` or its subcommands, as
/// clap shows it.
fn find_argument(command: &clap::Command, id: &str) -> Option<String> {
    let found = command
        .get_arguments()
        .find(|arg| arg.get_id() == id)
        .map(ToString::to_string);
    found.or_else(|| {
        command
            .get_subcommands()
            .find_map(|subcommand| find_argument(subcommand, id))
    })
}

/// Joins clap's multi-line usage error into one line, without the usage
/// synopsis and the hint to try `--help`.
pub fn one_line(rendered: &str) -> String {
    let parts: Vec<&str> = rendered
        .lines()
        .map(str::trim)
        .filter(|line| {
            !line.is_empty()
                && !line.starts_with("Usage:")
                && !line.starts_with("For more information")
        })
        .collect();
    // A tip is a sentence of its own, so it follows a semicolon.
    let mut joined = String::new();
    for part in parts {
        if !joined.is_empty() {
            joined.push_str(if part.starts_with("tip:") { "; " } else { " " });
        }
        joined.push_str(&super::escape_controls(part));
    }
    joined
        .strip_prefix("error: ")
        .unwrap_or(&joined)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_error_is_one_line() {
        let rendered =
            "error: unrecognized subcommand 'bogus'\n\nUsage: translog [OPTIONS] <COMMAND>\n\n\
                        For more information, try '--help'.\n";
        assert_eq!(one_line(rendered), "unrecognized subcommand 'bogus'");
    }

    #[test]
    fn option_name_has_value_name() {
        assert_eq!(option_name("since"), "--since <SINCE>");
    }

    #[test]
    fn unknown_option_name_is_flag() {
        assert_eq!(option_name("no-such-option"), "--no-such-option");
    }
}
