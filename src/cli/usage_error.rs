//! One-line usage errors from clap's parse errors, naming the environment
//! variable when a rejected value came from one.

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::CommandFactory as _;

use super::Cli;

/// Renders a parse error of the command line `args` as one line. Clap names
/// only the option, so for a value from an environment variable the line
/// starts with the variable.
pub fn describe(error: &clap::Error, args: &[String]) -> String {
    let mut message = one_line(&error.render().to_string());
    if error.kind() == ErrorKind::UnknownArgument {
        if let Some(ContextValue::String(argument)) = error.get(ContextKind::InvalidArg) {
            message = explain_unknown_argument(&message, argument, args);
        }
    }
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

/// Rewrites clap's one-line error `message` about the unknown argument
/// `argument`, given the command line `args`. Clap names only the first
/// letter of an unknown cluster of short options, such as `-a` of `-abc`,
/// and tips to pass that letter alone as a value. The tip then names the
/// whole argument instead. For an option that only other commands take, such as
/// `--timezone` given to `log show`, the tip to pass it as a value would
/// make it a transaction id, so it is replaced by the commands that take it.
fn explain_unknown_argument(message: &str, argument: &str, args: &[String]) -> String {
    let value_tip = format!("; tip: to pass '{argument}' as a value, use '-- {argument}'");
    if let Some(long) = argument.strip_prefix("--") {
        let name = long.split('=').next().unwrap_or(long);
        let mut commands = Vec::new();
        commands_with_option(&Cli::command(), "translog", name, &mut commands);
        if commands.is_empty() {
            return message.to_string();
        }
        let mut quoted: Vec<String> = commands
            .iter()
            .map(|command| format!("`{command}`"))
            .collect();
        let last = quoted.pop().unwrap_or_default();
        let listed = if quoted.is_empty() {
            last
        } else {
            format!("{} and {last}", quoted.join(", "))
        };
        let verb = if commands.len() == 1 { "takes" } else { "take" };
        return format!(
            "{}; this command has no option --{name}, which {listed} {verb}",
            message.replace(&value_tip, "")
        );
    }
    let whole = args.iter().skip(1).find(|arg| {
        arg.len() > argument.len() && !arg.starts_with("--") && arg.starts_with(argument)
    });
    match whole {
        Some(whole) if message.contains(&value_tip) => message
            .replace(
                &value_tip,
                &format!("; tip: to pass '{whole}' as a value, use '-- {whole}'"),
            )
            .replacen(
                &format!("'{argument}' found"),
                &format!("'{whole}' found"),
                1,
            ),
        _ => message.to_string(),
    }
}

/// Adds to `found` the path of every command, from `path` for `command`
/// down, that has the long option `--name`.
fn commands_with_option(command: &clap::Command, path: &str, name: &str, found: &mut Vec<String>) {
    if command
        .get_arguments()
        .any(|arg| arg.get_long() == Some(name))
    {
        found.push(path.to_string());
    }
    for subcommand in command.get_subcommands() {
        let path = format!("{path} {}", subcommand.get_name());
        commands_with_option(subcommand, &path, name, found);
    }
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

    /// Returns the one-line message that clap gives for the unknown argument
    /// `argument` when it could take it as a value.
    fn value_tip_message(argument: &str) -> String {
        format!("unexpected argument '{argument}' found; tip: to pass '{argument}' as a value, use '-- {argument}'")
    }

    fn args(line: &str) -> Vec<String> {
        line.split(' ').map(String::from).collect()
    }

    #[test]
    fn other_commands_option_names_them() {
        let message = explain_unknown_argument(
            &value_tip_message("--timezone"),
            "--timezone",
            &args("translog log show tx --timezone UTC"),
        );
        assert!(
            message.ends_with("which `translog serve`, `translog user add`, `translog log list` and `translog prune` take"),
            "{message}"
        );
    }

    #[test]
    fn other_commands_option_drops_value_tip() {
        let message = explain_unknown_argument(
            &value_tip_message("--timezone"),
            "--timezone",
            &args("translog log show tx --timezone UTC"),
        );
        assert!(!message.contains("'-- --timezone'"), "{message}");
    }

    #[test]
    fn option_with_value_is_found() {
        let message = explain_unknown_argument(
            "unexpected argument '--stall-after=6h' found",
            "--stall-after=6h",
            &args("translog prune --before 1d --stall-after=6h"),
        );
        assert!(message.contains("which `translog serve`"), "{message}");
    }

    #[test]
    fn unknown_option_keeps_message() {
        let message = value_tip_message("--colour");
        let explained =
            explain_unknown_argument(&message, "--colour", &args("translog log show tx --colour"));
        assert_eq!(explained, message);
    }

    #[test]
    fn short_cluster_tip_names_whole_argument() {
        let message = explain_unknown_argument(
            &value_tip_message("-a"),
            "-a",
            &args("translog log show -abc"),
        );
        assert_eq!(message, value_tip_message("-abc"));
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
