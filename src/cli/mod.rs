//! The command line: `serve`, user management, reading logs, backup and
//! prune. Every subcommand takes `--db` and creates the database on first
//! use. The commands that only read open an existing database read-only, so
//! that a user who may not write the database can run them.

mod database;
mod interruption;
mod logging;
mod logs;
mod maintenance;
mod table;
mod terminal;
mod time_zone;
mod usage_error;
mod user;

use std::ffi::{OsStr, OsString};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use chrono_tz::Tz;
use clap::builder::{PathBufValueParser, TypedValueParser as _};
use clap::{CommandFactory as _, FromArgMatches as _, Parser, Subcommand};

use crate::entry::is_unprintable;
use crate::service::{self, ServeOptions};
use crate::validate::timestamp::{parse_timestamp, TimestampError};
use crate::validate::unit_seconds;
use database::{check_database_path, check_serve_path, DatabasePath, PathSource};
use database::{open_database, read_database};
pub use time_zone::parse_zone;

/// How long the command line waits for another process's write lock: the
/// server holds it for milliseconds, but a server upgrading the schema of a
/// large database holds it for about 2 s per million entries.
const CLI_BUSY_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Parser)]
#[command(
    name = "translog",
    about = "Transaction log service for backup-verification Workers"
)]
struct Cli {
    /// Path of the SQLite database; created with its schema on first use.
    #[arg(
        long,
        env = "TRANSLOG_DB",
        default_value = "translog.db",
        global = true,
        value_parser = clap::value_parser!(OsString)
    )]
    db: OsString,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP service.
    Serve(ServeArgs),
    /// Manage users and their credentials.
    #[command(subcommand)]
    User(user::UserCommand),
    /// Read transaction logs, or delete one.
    #[command(subcommand)]
    Log(logs::LogCommand),
    /// Write a consistent copy of the database to DEST; safe while `serve` runs.
    Backup {
        /// Path of the copy; it must not exist yet.
        #[arg(value_parser = PathBufValueParser::new().try_map(maintenance::check_destination))]
        dest: PathBuf,
    },
    /// Delete whole transactions whose last entry's timestamp is before a time.
    Prune {
        /// Any timestamp form the write API accepts, e.g. 2026-01-01 or 2026-01-01T00:00:00Z, not later than the current time, or an age such as 30d.
        #[arg(long, value_parser = parse_timestamp_argument, allow_hyphen_values = true)]
        before: TimestampArgument,
        /// Time zone for a --before without an offset.
        #[arg(long, env = "TRANSLOG_TIMEZONE", default_value = "UTC", value_parser = parse_zone)]
        timezone: Tz,
        /// Print what would be deleted, and delete nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

/// Builds the parser of the command line.
fn command_line() -> clap::Command {
    Cli::command().version(crate::version())
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Address and port to listen on; port 0 picks a free port.
    #[arg(long, env = "TRANSLOG_LISTEN", default_value = "127.0.0.1:8080", value_parser = parse_listen)]
    listen: SocketAddr,
    /// IANA time zone for timestamps without an offset from users without a zone of their own.
    #[arg(long, env = "TRANSLOG_TIMEZONE", default_value = "UTC", value_parser = parse_zone)]
    timezone: Tz,
    /// A transaction without an end is stalled when nothing arrived for this long (e.g. 90s, 30m, 6h, 1d).
    #[arg(long, env = "TRANSLOG_STALL_AFTER", default_value = DEFAULT_STALL_AFTER, value_parser = parse_duration,
          allow_hyphen_values = true)]
    stall_after: Duration,
    /// Maximum wait for a request's head or body, and for the next request on an idle connection (at most 1d).
    #[arg(long, env = "TRANSLOG_READ_TIMEOUT", default_value = "10s", value_parser = parse_connection_timeout,
          allow_hyphen_values = true)]
    read_timeout: Duration,
    /// Maximum wait for room to send more of a response to a client that is not reading it (at most 1d).
    #[arg(long, env = "TRANSLOG_WRITE_TIMEOUT", default_value = "60s", value_parser = parse_connection_timeout,
          allow_hyphen_values = true)]
    write_timeout: Duration,
    /// Open connections beyond this get 503 and are closed.
    #[arg(long, env = "TRANSLOG_MAX_CONNECTIONS", default_value_t = 2048,
          value_parser = parse_max_connections, allow_hyphen_values = true)]
    max_connections: u32,
    /// Shell command run when a transaction turns fatal or stalled; details in TRANSLOG_* variables.
    #[arg(long, env = "TRANSLOG_NOTIFY_COMMAND", value_parser = parse_notify_command)]
    notify_command: Option<String>,
    /// Address of a reverse proxy whose X-Forwarded-For names the client. Repeat it, or separate addresses with commas.
    #[arg(long = "trusted-proxy", value_name = "ADDRESS", env = "TRANSLOG_TRUSTED_PROXIES",
          value_parser = parse_trusted_proxies)]
    trusted_proxies: Vec<ProxyAddresses>,
}

/// The addresses of one `--trusted-proxy` value, or of
/// `TRANSLOG_TRUSTED_PROXIES`, which may each list several with commas.
/// The whole value is parsed at once, so that an error about one address
/// names the variable it came from.
#[derive(Clone, Debug)]
struct ProxyAddresses(Vec<IpAddr>);

/// Parses a value of `--trusted-proxy`: IP addresses without a port,
/// separated by commas. An empty value, as `TRANSLOG_TRUSTED_PROXIES=` in a
/// drop-in that clears the setting, trusts no proxy.
fn parse_trusted_proxies(text: &str) -> Result<ProxyAddresses, String> {
    if text.trim().is_empty() {
        return Ok(ProxyAddresses(Vec::new()));
    }
    text.split(',')
        .map(parse_trusted_proxy)
        .collect::<Result<Vec<_>, _>>()
        .map(ProxyAddresses)
}

/// Parses one address of `--trusted-proxy`. An unspecified address
/// (`0.0.0.0`, `::`) is rejected, because no peer connects from it, so
/// trusting it would trust no peer at all.
fn parse_trusted_proxy(text: &str) -> Result<IpAddr, String> {
    let text = text.trim();
    if let Ok(address) = text.parse::<IpAddr>() {
        if address.is_unspecified() {
            return Err(format!(
                "invalid proxy address {text:?}: no proxy connects from it, so it would trust \
                 nobody; give the address that the proxy connects from, such as 127.0.0.1, \
                 because trusting every client is not supported"
            ));
        }
        // The server compares canonical addresses, so ::ffff:127.0.0.1 is
        // listed, and counted once, as 127.0.0.1.
        return Ok(address.to_canonical());
    }
    if text.is_empty() {
        return Err(
            "an address is empty; separate addresses with single commas and no comma at either \
             end, or leave out both --trusted-proxy and TRANSLOG_TRUSTED_PROXIES to trust none"
                .to_string(),
        );
    }
    let unbracketed = text
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .and_then(|inner| inner.parse::<IpAddr>().ok());
    let hint = if let Some(address) = unbracketed {
        format!("leave out the brackets, as in {address}")
    } else if let Ok(address) = text.parse::<SocketAddr>() {
        format!("leave out the port, as in {}", address.ip())
    } else if text.contains('/') {
        "list the address of each proxy, because ranges are not accepted".to_string()
    } else {
        "give the IP address that the proxy connects from, such as 127.0.0.1 or ::1 for a \
         proxy on the same host"
            .to_string()
    };
    Err(format!("invalid proxy address {text:?}; {hint}"))
}

/// Returns the addresses of all `--trusted-proxy` values, each once, in the
/// order given.
fn trusted_proxy_list(values: Vec<ProxyAddresses>) -> Vec<IpAddr> {
    let mut addresses: Vec<IpAddr> = Vec::new();
    for address in values.into_iter().flat_map(|value| value.0) {
        if !addresses.contains(&address) {
            addresses.push(address);
        }
    }
    addresses
}

/// Parses `--notify-command`, rejecting a blank command, such as the one
/// that `TRANSLOG_NOTIFY_COMMAND=` sets: it would run for every alert, do
/// nothing and count as sent, so no alert would reach anyone.
fn parse_notify_command(text: &str) -> Result<String, String> {
    if text.trim().is_empty() {
        return Err(
            "the notify command is empty, so alerts would go nowhere; give a shell command, \
             such as --notify-command /usr/local/lib/translog/alert-webhook (the details of \
             each alert are in TRANSLOG_* variables), or leave \
             out both --notify-command and TRANSLOG_NOTIFY_COMMAND to run none"
                .to_string(),
        );
    }
    Ok(text.to_string())
}

/// Checks the database path after the parse, so that a value of
/// `TRANSLOG_DB` that `--db` overrides is never checked. Clap (4.6) checks the
/// environment value of a global option even when the option is given.
/// Rejects an empty path, such as the one that `TRANSLOG_DB=` sets, `-`, a
/// path that is not UTF-8, and the paths that [`check_path_text`] rejects.
fn check_database_path_value(db: &OsStr, source: PathSource) -> Result<PathBuf, String> {
    let problem = match db.to_str() {
        None => Err("it is not valid UTF-8; give a path of UTF-8 text".to_string()),
        Some("") => Err(
            "the database path is empty; give the path of a database file, such as \
             --db /var/lib/translog/translog.db, or leave out both --db and TRANSLOG_DB for \
             translog.db in the working directory"
                .to_string(),
        ),
        Some("-") => Err(
            "the database is a file, not standard input or output; to use a file named -, \
             give a path such as ./-"
                .to_string(),
        ),
        Some(text) => check_path_text(text),
    };
    match problem {
        Ok(()) => Ok(PathBuf::from(db)),
        Err(problem) => {
            let value = escape_controls(&db.to_string_lossy());
            let prefix = match source {
                PathSource::Environment => "environment variable TRANSLOG_DB: ",
                PathSource::Option | PathSource::Default => "",
            };
            Err(format!(
                "{prefix}invalid value '{value}' for '--db <DB>': {problem}"
            ))
        }
    }
}

/// Rejects a file path that starts or ends with white space, or that
/// contains a control character. Both come from a quoting mistake, or from
/// a script saved with CRLF line ends, far more often than from a real file
/// name.
pub fn check_path_text(text: &str) -> Result<(), String> {
    if let Some(control) = text.chars().find(|character| character.is_control()) {
        return Err(format!(
            "it contains the control character U+{:04X}, which translog does not accept in a \
             file name; check the quoting of the value, and the line ends of a script it \
             comes from",
            u32::from(control)
        ));
    }
    if text.trim() == text {
        return Ok(());
    }
    let problem = if text.trim().is_empty() {
        "is only white space"
    } else {
        "starts or ends with white space"
    };
    Err(format!(
        "it {problem}, which translog does not accept in a file name; check the quoting of \
         the value and give the path without the white space at its start or end"
    ))
}

/// Returns `text` with each control character written as an escape, such
/// as `\r`, and each character that is invisible or changes the direction
/// of text as a Unicode escape, such as `\u{202e}`, so that a message that
/// quotes it stays on one line and shows it as it is.
pub fn escape_controls(text: &str) -> String {
    text.chars()
        .map(|character| {
            if character.is_control() {
                character.escape_default().to_string()
            } else if is_unprintable(character) || is_invisible(character) {
                character.escape_unicode().to_string()
            } else {
                character.to_string()
            }
        })
        .collect()
}

/// Returns true for the characters that show as nothing: the soft hyphen,
/// the zero-width space and joiners, the word joiner and U+FEFF.
fn is_invisible(character: char) -> bool {
    matches!(
        character,
        '\u{00ad}' | '\u{200b}'..='\u{200d}' | '\u{2060}' | '\u{feff}'
    )
}

/// A timestamp option such as `--since` or `--before`: a time in any form
/// that the write API accepts, or an age such as `30d`, which means that long
/// before the command runs. Its value parser checks the form, and
/// [`TimestampArgument::resolve`] turns it into an instant once the
/// `--timezone` for a local time is known.
#[derive(Clone, Debug)]
pub struct TimestampArgument {
    text: String,
    /// The age, for a value such as `30d`.
    age: Option<Duration>,
}

impl TimestampArgument {
    /// Returns the age of a value such as `30d`, or `None` for a time.
    fn age(&self) -> Option<Duration> {
        self.age
    }

    /// Returns the value as given on the command line.
    fn text(&self) -> &str {
        &self.text
    }

    /// Resolves the timestamp, reading a local time in `zone`, and an age
    /// back from now. Fails with a usage error for a local time that `zone`
    /// skips, or that `zone` moves out of the accepted range, which names the
    /// option with the argument id `id` as clap does.
    fn resolve(&self, zone: Tz, id: &str) -> Result<DateTime<Utc>, Failure> {
        let option = usage_error::option_name(id);
        let Some(age) = self.age else {
            return parse_timestamp(&self.text, zone).map_err(|error| {
                Failure::Usage(format!(
                    "invalid value '{}' for '{option}' in time zone {zone}: {}",
                    self.text,
                    error.message_with_forms(TIMESTAMP_ARGUMENT_FORMS)
                ))
            });
        };
        // The value parser checked that the age reaches back to 1970 at most.
        chrono::Duration::from_std(age)
            .ok()
            .and_then(|age| Utc::now().checked_sub_signed(age))
            .ok_or_else(|| {
                Failure::Usage(format!(
                    "invalid value '{}' for '{option}': that long ago is before 1970",
                    self.text
                ))
            })
    }
}

/// The form of an age, for the messages of values that look like one.
const AGE_FORM: &str =
    "an age is a whole number followed by s, m, h or d, such as 30d for 30 days or 2h for 2 hours";

/// The forms that a timestamp option accepts, for the message of a value in
/// none of them. It adds a date alone, a local time and an age to the forms
/// that the write API's messages list.
const TIMESTAMP_ARGUMENT_FORMS: &str = "use a date such as `2026-11-01` or a date and time \
    such as `2026-11-01T14:30` (read in --timezone), an age such as `90d` (90 days ago), \
    RFC 3339 such as `2026-12-04T14:57:54+01:00` from `date -Iseconds`, Unix seconds such as \
    `1796392674` from `date +%s`, or RFC 2822 such as `Fri, 04 Dec 2026 14:57:54 +0100` from \
    `date -R`";

/// The maximum number of digits of a whole number that a timestamp option
/// rejects as Unix time, because it reaches only into 1973 and is more
/// likely an age without its unit, as in `prune --before 90`.
const MAX_SHORT_NUMBER_DIGITS: usize = 8;

/// Parses a timestamp option: an age such as `30d`, or a time in any form
/// that the write API accepts. A local time is checked in UTC, because its
/// zone is another option's value. UTC accepts every local time that any
/// zone accepts, so only the checks in [`TimestampArgument::resolve`] depend
/// on the zone. A whole number of up to 8 digits is rejected, because as
/// Unix time it lies in 1970 to 1973.
pub fn parse_timestamp_argument(text: &str) -> Result<TimestampArgument, String> {
    if let Some(age) = parse_age(text) {
        return age.map(|age| TimestampArgument {
            text: text.to_string(),
            age: Some(age),
        });
    }
    let is_short_number = text.len() <= MAX_SHORT_NUMBER_DIGITS
        && !text.is_empty()
        && text.bytes().all(|byte| byte.is_ascii_digit());
    match parse_timestamp(text, Tz::UTC) {
        Ok(instant) if is_short_number => {
            // The number with a unit is the example only where it is a valid
            // age, which 0d and ages before 1970 are not.
            let with_unit = format!("{text}d");
            let example = match parse_age(&with_unit) {
                Some(Ok(_)) => with_unit,
                _ => "30d".to_string(),
            };
            Err(format!(
                "the number {text} read as Unix time is {}, which is almost certainly not \
                 meant; for an age, add its unit, such as {example}: {AGE_FORM}",
                instant.to_rfc3339_opts(SecondsFormat::Secs, true)
            ))
        }
        Ok(_) => Ok(TimestampArgument {
            text: text.to_string(),
            age: None,
        }),
        Err(TimestampError::UnrecognizedFormat { .. }) if looks_like_age(text) => {
            Err(format!("the age is invalid: {AGE_FORM}"))
        }
        Err(error) => Err(error.message_with_forms(TIMESTAMP_ARGUMENT_FORMS)),
    }
}

/// Reads `text` as an age when it is a whole number followed by one ASCII
/// letter, and returns `None` for any other text. An age reaches back from
/// the current time at most to 1970, the start of the accepted range.
fn parse_age(text: &str) -> Option<Result<Duration, String>> {
    let unit = text.chars().last().filter(char::is_ascii_alphabetic)?;
    let count = &text[..text.len() - 1];
    if count.is_empty() || !count.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    let Some(unit_seconds) = unit_seconds(unit) else {
        if let Some(lower) = with_lower_case_unit(text) {
            // An age of some months is common, but m means minutes.
            let months = if unit == 'M' {
                " (m means minutes; for months, give days, such as 90d)"
            } else {
                ""
            };
            return Some(Err(format!(
                "the unit {unit:?} of the age is not supported; units are lower case, so use \
                 {lower}{months}"
            )));
        }
        return Some(Err(format!(
            "the unit {unit:?} of the age is not supported: {AGE_FORM}"
        )));
    };
    let since_1970 = u64::try_from(Utc::now().timestamp()).unwrap_or(0);
    let seconds = count
        .parse::<u64>()
        .ok()
        .and_then(|count| count.checked_mul(unit_seconds));
    Some(match seconds {
        Some(0) => Err(
            "an age of 0 is the current time; give a positive age, such as 1h or 30d".to_string(),
        ),
        Some(seconds) if seconds <= since_1970 => Ok(Duration::from_secs(seconds)),
        _ => Err(format!(
            "{text} ago is before 1970, the start of the range that translog stores; give \
             a shorter age, or a date"
        )),
    })
}

/// Returns true for text that looks like a mistyped age, such as `-5d`,
/// `1.5d`, `30 days` or `1d2h`: a digit first (after an optional sign),
/// then only digits, letters, dots and spaces, and a letter last. A date
/// such as `4 Dec 2026` ends in a digit, so it gets the timestamp forms.
fn looks_like_age(text: &str) -> bool {
    let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
    unsigned.starts_with(|c: char| c.is_ascii_digit())
        && unsigned.ends_with(|c: char| c.is_ascii_alphabetic())
        && unsigned
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == ' ')
}

/// Parses `--max-connections`: a whole number from 1 to `u32::MAX`.
fn parse_max_connections(text: &str) -> Result<u32, String> {
    text.parse::<u32>()
        .ok()
        .filter(|count| *count >= 1)
        .ok_or_else(|| {
            format!(
                "invalid number of connections {text:?}; use a whole number from 1 to {}",
                u32::MAX
            )
        })
}

/// Parses `--listen`: an IP address and a port, with an IPv6 address in
/// brackets. A port over 65535 gets its own message, because the standard
/// library rejects it like any other malformed address.
fn parse_listen(text: &str) -> Result<SocketAddr, String> {
    text.parse().map_err(|_| {
        let problem = listen_problem(text);
        format!("{problem}; use IP:PORT such as 127.0.0.1:8080 or [::1]:8080")
    })
}

/// Describes what is wrong with a `--listen` value that is no socket
/// address.
fn listen_problem(text: &str) -> String {
    if text.trim() != text {
        return format!("invalid address {text:?}: it starts or ends with white space");
    }
    if text.parse::<std::net::IpAddr>().is_ok() {
        return format!("invalid address {text:?}: the port is missing");
    }
    // A URL such as http://127.0.0.1:8080/, as a Worker's base URL is written.
    if let Some((scheme, rest)) = text.split_once("://") {
        let address = rest.trim_end_matches('/');
        if address.parse::<SocketAddr>().is_ok() {
            return format!(
                "invalid address {text:?}: it is a URL, and --listen takes IP:PORT, so give \
                 {address} without {scheme}://"
            );
        }
    }
    if let Some(port) = port_out_of_range(text) {
        return format!("port {port} is out of range (0 to 65535)");
    }
    // A name such as localhost, with a valid port. An IPv6 address has
    // colons or brackets, so it is no name.
    let host_name = text
        .rsplit_once(':')
        .filter(|(host, port)| {
            port.parse::<u16>().is_ok()
                && !host.contains([':', '[', ']'])
                && host.chars().any(|c| c.is_ascii_alphabetic())
        })
        .map(|(host, _)| host);
    if let Some(host) = host_name {
        return format!(
            "invalid address {text:?}: {host} is a host name, and the server listens on an IP \
             address, such as 127.0.0.1 for this host only or 0.0.0.0 for all its addresses"
        );
    }
    format!("invalid address {text:?}")
}

/// Returns the port of `text` in the form IP:PORT when the IP address is
/// valid and the port is a number over 65535. With an invalid address as
/// well, such as `localhost:99999`, the message of a wrong port alone would
/// hide the second mistake.
fn port_out_of_range(text: &str) -> Option<&str> {
    let (host, port) = text.rsplit_once(':')?;
    let is_ip = match host
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
    {
        Some(inner) => inner.parse::<std::net::Ipv6Addr>().is_ok(),
        None => host.parse::<std::net::Ipv4Addr>().is_ok(),
    };
    let is_number = !port.is_empty() && port.bytes().all(|byte| byte.is_ascii_digit());
    (is_ip && is_number && port.parse::<u16>().is_err()).then_some(port)
}

/// The default stall period of `serve` and of the commands that tell stalled
/// transactions from running ones, as `--stall-after` takes it.
pub(crate) const DEFAULT_STALL_AFTER: &str = "6h";

/// The maximum duration that [`parse_duration`] accepts, in whole seconds:
/// 9223372036 s, 106751 days. Durations are compared with receive times in
/// nanoseconds, which are stored in an `i64`, so a longer one has no effect.
const MAX_DURATION_SECONDS: u64 = i64::MAX as u64 / 1_000_000_000;

/// Returns `text` with its unit in lower case when it is a whole number
/// followed by a duration unit in upper case, such as `6h` for `6H`. Durations
/// and ages take their units in lower case only.
fn with_lower_case_unit(text: &str) -> Option<String> {
    let unit = text.chars().last()?;
    let lower = unit.to_ascii_lowercase();
    if !unit.is_ascii_uppercase() || unit_seconds(lower).is_none() {
        return None;
    }
    let count = &text[..text.len() - 1];
    let is_count = !count.is_empty() && count.bytes().all(|byte| byte.is_ascii_digit());
    is_count.then(|| format!("{count}{lower}"))
}

/// Parses a duration: a whole number followed by `s`, `m`, `h` or `d`, or
/// plain seconds, of at most [`MAX_DURATION_SECONDS`].
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let invalid = || {
        if let Some(lower) = with_lower_case_unit(text) {
            return format!("invalid duration {text:?}; units are lower case, so use {lower}");
        }
        format!(
            "invalid duration {text:?}; use a whole number of seconds, or one followed by \
             s, m, h or d, such as 90s or 6h"
        )
    };
    let (digits, unit_seconds) = text
        .char_indices()
        .last()
        .and_then(|(at, unit)| Some((&text[..at], unit_seconds(unit)?)))
        .unwrap_or((text, 1));
    let too_large = || {
        let maximum = MAX_DURATION_SECONDS / unit_seconds;
        let unit = match text.chars().last() {
            Some(suffix @ ('s' | 'm' | 'h' | 'd')) => suffix.to_string(),
            _ => " seconds".to_string(),
        };
        format!("duration {text:?} is too large; the maximum is {maximum}{unit} (about 292 years)")
    };
    let count: u64 =
        digits
            .parse()
            .map_err(|error: std::num::ParseIntError| match error.kind() {
                std::num::IntErrorKind::PosOverflow => too_large(),
                _ => invalid(),
            })?;
    let seconds = count
        .checked_mul(unit_seconds)
        .filter(|seconds| *seconds <= MAX_DURATION_SECONDS)
        .ok_or_else(too_large)?;
    if seconds == 0 {
        return Err(format!(
            "duration {text:?} is too short; the minimum is 1 second (1s)"
        ));
    }
    Ok(Duration::from_secs(seconds))
}

/// The longest `--read-timeout` and `--write-timeout`. The HTTP layer adds
/// them to the current instant, so they must stay far below the range of
/// `Instant`, and no client needs a day to send a request or read a response.
const MAX_CONNECTION_TIMEOUT: Duration = Duration::from_secs(86_400);

fn parse_connection_timeout(text: &str) -> Result<Duration, String> {
    let timeout = parse_duration(text)?;
    if timeout > MAX_CONNECTION_TIMEOUT {
        return Err(format!(
            "duration {text:?} is too long for a connection timeout; the maximum is 1d (86400s)"
        ));
    }
    Ok(timeout)
}

/// Writes `text` and a newline to standard output. A reader that closed the
/// pipe, as `translog log list | head` does, ends the command quietly with
/// status 0, as other command-line tools do.
pub fn print_line(text: &str) {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    if let Err(error) = writeln!(stdout, "{text}") {
        if error.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("translog: error: cannot write to standard output: {error}");
        std::process::exit(1);
    }
}

/// Parses the process's arguments and environment variables. Returns them
/// with where the database path came from.
fn parse_command_line() -> Result<(Cli, PathSource), clap::Error> {
    let mut command = command_line();
    let mut matches = command.try_get_matches_from_mut(std::env::args_os())?;
    let source = match matches.value_source("db") {
        Some(clap::parser::ValueSource::CommandLine) => PathSource::Option,
        Some(clap::parser::ValueSource::EnvVariable) => PathSource::Environment,
        // `ValueSource` is non-exhaustive; its other value is the default.
        _ => PathSource::Default,
    };
    let cli =
        Cli::from_arg_matches_mut(&mut matches).map_err(|error| error.format(&mut command))?;
    Ok((cli, source))
}

/// Runs the command line and returns the process exit status.
pub fn run() -> ExitCode {
    let (cli, source) = match parse_command_line() {
        Ok(parsed) => parsed,
        // --help and --version are reported as errors that go to stdout and
        // exit 0; a command without its subcommand prints the help and exits 2.
        Err(error)
            if !error.use_stderr()
                || error.kind()
                    == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand =>
        {
            error.exit()
        }
        Err(error) => {
            let args: Vec<String> = std::env::args_os()
                .map(|arg| arg.to_string_lossy().into_owned())
                .collect();
            return report_usage_error(&usage_error::describe(&error, &args));
        }
    };
    let db = match check_database_path_value(&cli.db, source) {
        Ok(db) => DatabasePath::new(db, source),
        Err(message) => return report_usage_error(&message),
    };
    let output = match cli.command {
        Command::Serve(_) => logging::Output::Queued,
        _ => logging::Output::Direct,
    };
    logging::init(output);
    let result = execute(cli.command, &db);
    // The server's last log lines come before its error, if any.
    logging::flush();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(message)) => report_usage_error(&message),
        Err(Failure::Error(message)) => {
            eprintln!("translog: error: {message}");
            ExitCode::FAILURE
        }
        Err(Failure::Interrupted { message, signal }) => {
            eprintln!("translog: error: {message}");
            interruption::end_process(signal)
        }
    }
}

/// Prints a usage error as one line on standard error and returns exit status 2.
fn report_usage_error(message: &str) -> ExitCode {
    let args: Vec<String> = std::env::args_os()
        .map(|arg| arg.to_string_lossy().into_owned())
        .collect();
    let help = help_command(&args);
    eprintln!("translog: error: {message}; run `{help}` for usage");
    ExitCode::from(2)
}

/// Returns the `--help` command of the subcommand named in `args`, so that a
/// usage error points at the options that apply (`translog user add --help`).
fn help_command(args: &[String]) -> String {
    let mut command = command_line();
    let mut path = vec!["translog"];
    let mut args = args.iter().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--db" {
            // The one option before a subcommand that takes a value.
            args.next();
            continue;
        }
        if arg.starts_with('-') {
            continue;
        }
        let Some(subcommand) = command.find_subcommand(arg).cloned() else {
            break;
        };
        path.push(arg);
        command = subcommand;
    }
    format!("{} --help", path.join(" "))
}

/// A failed command, which sets the exit status.
enum Failure {
    /// An invalid option value that clap cannot check alone, such as a
    /// `--since` that depends on `--timezone`. Exits with status 2, as clap's
    /// usage errors do.
    Usage(String),
    /// Any other failure. Exits with status 1.
    Error(String),
    /// A command that a signal interrupted, and that has cleaned up after
    /// itself. Ends the process as the signal does by default, so that the
    /// exit status names the signal.
    Interrupted { message: String, signal: i32 },
}

impl From<String> for Failure {
    fn from(message: String) -> Self {
        Failure::Error(message)
    }
}

fn execute(command: Command, db: &DatabasePath) -> Result<(), Failure> {
    match command {
        Command::Serve(args) => {
            check_serve_path(db)?;
            serve(db.path().to_path_buf(), args)
        }
        Command::User(command) => user::run(db, command).map_err(Failure::from),
        Command::Log(command) => logs::run(db, command),
        Command::Backup { dest } => maintenance::backup(db, &dest),
        Command::Prune {
            before,
            timezone,
            dry_run,
        } => maintenance::prune(db, &before, timezone, dry_run),
    }
}

fn serve(db_path: PathBuf, args: ServeArgs) -> Result<(), Failure> {
    service::serve(ServeOptions {
        db_path,
        listen: args.listen,
        timezone: args.timezone,
        stall_after: args.stall_after,
        read_timeout: args.read_timeout,
        write_timeout: args.write_timeout,
        max_connections: usize::try_from(args.max_connections).unwrap_or(usize::MAX),
        notify_command: args.notify_command,
        trusted_proxies: trusted_proxy_list(args.trusted_proxies),
    })
    .map_err(Failure::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duration_accepts_hours() {
        assert_eq!(parse_duration("6h"), Ok(Duration::from_secs(21_600)));
    }

    #[test]
    fn duration_accepts_plain_seconds() {
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
    }

    #[test]
    fn duration_rejects_zero() {
        assert!(parse_duration("0s").is_err());
    }

    #[test]
    fn duration_zero_states_minimum() {
        let message = parse_duration("0").expect_err("0 is rejected");
        assert!(
            message.contains("too short; the minimum is 1 second"),
            "{message}"
        );
    }

    #[test]
    fn duration_overflow_is_too_large() {
        let message = parse_duration("999999999999999999d").expect_err("overflow is rejected");
        assert!(message.contains("too large"), "{message}");
    }

    #[test]
    fn duration_long_number_is_too_large() {
        let message = parse_duration("99999999999999999999999s").expect_err("overflow is rejected");
        assert!(message.contains("too large"), "{message}");
    }

    #[test]
    fn duration_accepts_maximum() {
        let maximum = Duration::from_secs(106_751 * 86_400);
        assert_eq!(parse_duration("106751d"), Ok(maximum));
    }

    #[test]
    fn duration_past_maximum_states_it() {
        let message = parse_duration("106752d").expect_err("past the maximum is rejected");
        assert!(message.contains("the maximum is 106751d"), "{message}");
    }

    #[test]
    fn duration_rejects_unknown_unit() {
        assert!(parse_duration("5w").is_err());
    }

    #[test]
    fn duration_rejects_overflow() {
        assert!(parse_duration("99999999999999999d").is_err());
    }

    #[test]
    fn duration_rejects_multibyte_input() {
        assert!(parse_duration("5\u{e9}").is_err());
    }

    #[test]
    fn duration_rejects_upper_case_units() {
        for text in ["6H", "6D", "90S", "30M"] {
            assert!(parse_duration(text).is_err(), "{text}");
        }
    }

    #[test]
    fn duration_upper_case_unit_names_lower_case() {
        let message = parse_duration("6H").expect_err("6H is rejected");
        assert!(
            message.contains("units are lower case, so use 6h"),
            "{message}"
        );
    }

    #[test]
    fn duration_unknown_unit_has_no_case_hint() {
        let message = parse_duration("5W").expect_err("5W is rejected");
        assert!(!message.contains("lower case"), "{message}");
    }

    #[test]
    fn age_rejects_upper_case_unit() {
        assert!(parse_timestamp_argument("90D").is_err());
    }

    #[test]
    fn age_upper_case_unit_names_lower_case() {
        let message = parse_timestamp_argument("90D").expect_err("90D is rejected");
        assert!(
            message.contains("units are lower case, so use 90d"),
            "{message}"
        );
    }

    #[test]
    fn unrecognized_timestamp_names_plain_date() {
        let message = parse_timestamp_argument("2026-11-1").expect_err("2026-11-1 is rejected");
        assert!(message.contains("a date such as `2026-11-01`"), "{message}");
    }

    #[test]
    fn unrecognized_timestamp_names_age() {
        let message = parse_timestamp_argument("01.11.2026").expect_err("01.11.2026 is rejected");
        assert!(message.contains("an age such as `90d`"), "{message}");
    }

    #[test]
    fn listen_problems_are_named() {
        let cases = [
            ("localhost:8080", "localhost is a host name"),
            ("127.0.0.1", "the port is missing"),
            ("127.0.0.1:8080 ", "ends with white space"),
            (
                "http://127.0.0.1:0/",
                "it is a URL, and --listen takes IP:PORT, so give 127.0.0.1:0 without http://",
            ),
        ];
        for (text, expected) in cases {
            let message = parse_listen(text).expect_err("an invalid address");
            assert!(message.contains(expected), "{text:?}: {message}");
        }
    }

    #[test]
    fn listen_port_over_65535_is_out_of_range() {
        assert_eq!(port_out_of_range("127.0.0.1:65536"), Some("65536"));
    }

    #[test]
    fn listen_port_out_of_range_needs_ip_and_number() {
        let cases = [
            "localhost:99999",
            "::1:99999",
            "[::1]:65535",
            "127.0.0.1:http",
            "127.0.0.1:",
        ];
        for text in cases {
            assert_eq!(port_out_of_range(text), None, "{text:?}");
        }
    }

    #[test]
    fn command_line_is_consistent() {
        command_line().debug_assert();
    }

    /// Returns the positional arguments without help text of `command` and
    /// of its subcommands, each as `COMMAND <ARGUMENT>`.
    fn undescribed_arguments(command: &clap::Command, path: &str) -> Vec<String> {
        let path = format!("{path} {}", command.get_name())
            .trim_start()
            .to_string();
        let mut undescribed: Vec<String> = command
            .get_positionals()
            .filter(|argument| argument.get_help().is_none())
            .map(|argument| format!("{path} <{}>", argument.get_id()))
            .collect();
        for subcommand in command.get_subcommands() {
            undescribed.extend(undescribed_arguments(subcommand, &path));
        }
        undescribed
    }

    #[test]
    fn every_positional_argument_has_help() {
        let undescribed = undescribed_arguments(&command_line(), "");
        assert!(undescribed.is_empty(), "{undescribed:?}");
    }
}
