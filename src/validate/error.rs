//! The reasons why a write request's parameters are rejected, and their
//! messages. Each message names the parameter and the offending value, and
//! explains how to fix the request.

use std::fmt;

use super::form::DecodeError;
use super::shell_syntax::ShellSyntax;
use super::timestamp::{escape_non_ascii, TimestampError};
use super::LocalZone;
use crate::entry::{Stage, Status, MAX_MESSAGE_BYTES};

/// How to cut a message to at most [`MAX_MESSAGE_BYTES`] in a shell, as a
/// clause that completes a sentence about the message. `iconv -c` drops a
/// character that `head` split. README.md gives the same command for Workers.
pub const CUT_MESSAGE_HINT: &str = "cut it without splitting a character, such as with \
    printf '%s' \"$message\" | head -c 1000 | iconv -f UTF-8 -t UTF-8 -c";

/// A JSON body built in the shell from a variable, for the messages about
/// the JSON that such a body breaks.
const SHELL_JSON_BODY: &str = "-d \"{\\\"message\\\": \\\"$msg\\\", ...}\"";

/// The ways to send a value of a shell variable as it is, as a clause that
/// completes a sentence about a JSON body.
const BUILD_JSON_BODY: &str = "build the body with jq -n --arg message \"$msg\" '{message: \
    $message, ...}', or send form data with curl --data-urlencode \"message=$msg\"";

/// The maximum number of characters of an offending value that an error message repeats.
const ECHO_LIMIT: usize = 64;

/// The reason a write request's parameters were rejected. Every variant is a `400`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParamError {
    InvalidTransactionId(String),
    /// A transaction id of a path with shell syntax, such as `$TX` or
    /// `$(cat id)`, that no shell expanded, as sent or, when its
    /// percent-encoding does not decode, as it arrived.
    UnexpandedShellInTransactionId {
        id: String,
        syntax: ShellSyntax,
    },
    UnsupportedContentType(String),
    /// More than one `Content-Type` header.
    RepeatedContentType,
    UnsupportedCharset(String),
    UnsupportedContentEncoding(String),
    BadEncoding {
        name: String,
        origin: Origin,
        error: DecodeError,
    },
    JsonSentAsForm,
    /// A form body that starts with a UTF-8 byte order mark.
    FormByteOrderMark,
    MalformedJson(String),
    /// A JSON body with a raw control character in a string, as a shell
    /// variable with a newline gives, with the reason that JSON parsing gave.
    JsonControlCharacter(String),
    /// A body sent as JSON that is not JSON but looks like form data, with
    /// the reason that JSON parsing gave.
    FormSentAsJson(String),
    /// A JSON body with a whole object and more JSON values after it.
    SeveralJsonValues,
    JsonNotObject,
    /// A JSON body with bytes that are not UTF-8, the first at this offset.
    JsonNotUtf8(usize),
    /// A value of a JSON body whose JSON type the parameter `name` does not
    /// take, such as a number for `status`, with its JSON text.
    WrongJsonType {
        name: &'static str,
        json: String,
    },
    Unknown(String),
    /// An unknown name of a form body that is not a misspelled parameter name,
    /// which is most often the rest of a value that an unencoded `&` split,
    /// as in `-d "message=rows=5&errors=0"`. `previous` is the parameter
    /// right before it in the body.
    UnknownInFormBody {
        name: String,
        previous: Option<&'static str>,
    },
    /// A parameter name that matches the name `meant` only when ASCII case
    /// is ignored, such as `Timestamp` or `STAGE`.
    NameWrongCase {
        name: String,
        meant: &'static str,
        /// True when `meant` itself is sent too, so `name` is to be left out.
        also_sent: bool,
    },
    /// A parameter name that is the name `meant` with whitespace before or
    /// after it, as `--data-urlencode " timestamp=..."` sends. The case of
    /// its letters may differ too.
    NameWithWhitespace {
        name: String,
        meant: &'static str,
        /// True when `meant` itself is sent too, so `name` is to be left out.
        also_sent: bool,
    },
    Repeated(String),
    Missing(Vec<&'static str>),
    /// Missing parameters of a request that has no body for the reason
    /// given, even when the client wrote the parameters after the head, as
    /// an HTTP/1.0 client or a hand-written request may.
    MissingWithoutBody(Vec<&'static str>, NoBody),
    /// Missing parameters whose `name=`, after `separator`, is in the value
    /// of the parameter `within`, because the client separated the
    /// parameters with `separator` instead of `&`. `next` is the first
    /// missing name found there.
    WrongSeparator {
        missing: Vec<&'static str>,
        within: &'static str,
        separator: Separator,
        next: &'static str,
    },
    /// An invalid value of the parameter `name` that contains `next=` after
    /// `separator` for a parameter name `next`, because the client separated
    /// the parameters with `separator` instead of `&`.
    WrongSeparatorInValue {
        name: &'static str,
        value: String,
        separator: Separator,
        next: &'static str,
    },
    InvalidStage(String),
    InvalidStatus(String),
    MessageTooLong(usize),
    InvalidTimestamp {
        value: String,
        error: TimestampError,
    },
    /// A local time or date that the zone resolving it skips, with the
    /// zone's setting and the reporting user, so that a wrong setting can be
    /// spotted.
    SkippedLocalTime {
        value: String,
        error: TimestampError,
        zone: LocalZone,
        user: String,
    },
    /// A timestamp whose `+` offset sign arrived as a space, because `+`
    /// means a space in form data and query strings.
    TimestampPlusDecoded(String),
    /// A value of the parameter `name` with shell syntax, such as
    /// `$(date -Iseconds)` or `$TS`, that the shell did not expand, because
    /// it was inside single quotes. `json` is true for a value of a JSON
    /// body, which was inside single quotes as a whole.
    UnexpandedShell {
        name: &'static str,
        value: String,
        syntax: ShellSyntax,
        json: bool,
    },
}

/// The reason why a request has no body by the rules of HTTP (RFC 9112
/// section 6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoBody {
    /// Neither `Content-Length` nor `Transfer-Encoding`.
    NoLengthHeaders,
    /// `Content-Length: 0`, without `Transfer-Encoding`.
    ZeroLength,
}

/// A character that clients put between form parameters in place of `&`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Separator {
    Semicolon,
    /// A space, which is also what form decoding makes of a `+`.
    Space,
}

impl Separator {
    /// All separators, in the order they are looked for.
    pub const ALL: [Separator; 2] = [Separator::Semicolon, Separator::Space];

    /// Returns the character as it appears in a decoded value.
    pub fn as_char(self) -> char {
        match self {
            Separator::Semicolon => ';',
            Separator::Space => ' ',
        }
    }

    /// Returns what the client sent in place of `&`, to complete "instead of".
    fn sent_as(self) -> &'static str {
        match self {
            Separator::Semicolon => ";",
            Separator::Space => "a space or +",
        }
    }
}

/// The part of the request a parameter came from, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Query,
    Body,
}

impl ParamError {
    /// Converts [`ParamError::Missing`] into [`ParamError::MissingWithoutBody`],
    /// for a request that has no body because of `reason`. Every other error
    /// is returned unchanged.
    pub fn for_request_without_body(self, reason: NoBody) -> ParamError {
        match self {
            ParamError::Missing(names) => ParamError::MissingWithoutBody(names, reason),
            error => error,
        }
    }

    /// Returns the machine-readable code of the JSON error body.
    pub fn code(&self) -> &'static str {
        match self {
            ParamError::InvalidTransactionId(_)
            | ParamError::UnexpandedShellInTransactionId { .. } => "invalid_transaction_id",
            ParamError::UnsupportedContentType(_)
            | ParamError::RepeatedContentType
            | ParamError::UnsupportedCharset(_)
            | ParamError::UnsupportedContentEncoding(_) => "unsupported_content_type",
            ParamError::BadEncoding {
                origin: Origin::Query,
                ..
            } => "invalid_query",
            ParamError::BadEncoding {
                origin: Origin::Body,
                ..
            }
            | ParamError::JsonSentAsForm
            | ParamError::FormByteOrderMark
            | ParamError::MalformedJson(_)
            | ParamError::JsonControlCharacter(_)
            | ParamError::FormSentAsJson(_)
            | ParamError::SeveralJsonValues
            | ParamError::JsonNotObject
            | ParamError::JsonNotUtf8(_) => "malformed_body",
            ParamError::Unknown(_)
            | ParamError::UnknownInFormBody { .. }
            | ParamError::NameWrongCase { .. }
            | ParamError::NameWithWhitespace { .. } => "unknown_parameter",
            ParamError::Repeated(_) => "repeated_parameter",
            ParamError::Missing(_)
            | ParamError::MissingWithoutBody(..)
            | ParamError::WrongSeparator { .. } => "missing_parameter",
            ParamError::WrongJsonType { .. }
            | ParamError::WrongSeparatorInValue { .. }
            | ParamError::InvalidStage(_)
            | ParamError::InvalidStatus(_)
            | ParamError::MessageTooLong(_)
            | ParamError::InvalidTimestamp { .. }
            | ParamError::SkippedLocalTime { .. }
            | ParamError::TimestampPlusDecoded(_)
            | ParamError::UnexpandedShell { .. } => "invalid_parameter",
        }
    }
}

impl fmt::Display for ParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamError::InvalidTransactionId(reason) => write!(f, "Invalid transaction id: {reason}."),
            ParamError::UnexpandedShellInTransactionId { id, syntax } => {
                write_unexpanded_transaction_id(f, id, syntax)
            }
            ParamError::UnsupportedContentType(media_type) => write!(
                f,
                "Content-Type {} is not supported; send application/x-www-form-urlencoded \
                 (curl -d or --data-urlencode) or application/json.",
                echo(media_type)
            ),
            ParamError::RepeatedContentType => f.write_str(
                "Content-Type was sent more than once; send one, application/x-www-form-urlencoded \
                 (curl -d or --data-urlencode) or application/json.",
            ),
            ParamError::UnsupportedCharset(charset) => write!(
                f,
                "charset {} is not supported; send UTF-8 text and omit the charset or set charset=utf-8.",
                echo(charset)
            ),
            ParamError::BadEncoding { name, origin, error } => write!(
                f,
                "Parameter {} in the {} {error}, so {}.",
                echo(name),
                match origin {
                    Origin::Query => "query string",
                    Origin::Body => "body",
                },
                error.advice()
            ),
            ParamError::UnsupportedContentEncoding(coding) => write!(
                f,
                "Content-Encoding {} is not supported; send the body uncompressed.",
                echo(coding)
            ),
            ParamError::JsonSentAsForm => f.write_str(
                "The body looks like JSON but was sent as form data; set Content-Type: application/json.",
            ),
            ParamError::FormByteOrderMark => f.write_str(
                "The body starts with a UTF-8 byte order mark, which form data must not contain; \
                 save the file without it, or send the parameters with curl --data-urlencode.",
            ),
            ParamError::MalformedJson(reason) => write!(
                f,
                "The body is not valid JSON ({reason}); send one JSON object. A quote or \
                 backslash in a shell variable put into the body, as in {SHELL_JSON_BODY}, \
                 breaks it, so {BUILD_JSON_BODY}."
            ),
            ParamError::JsonControlCharacter(reason) => write!(
                f,
                "The body is not valid JSON ({reason}), because a string contains a raw control \
                 character, such as the newline of a shell variable put into the body, as in \
                 {SHELL_JSON_BODY}. Escape it in the JSON (a newline as \\n), or \
                 {BUILD_JSON_BODY}."
            ),
            ParamError::FormSentAsJson(reason) => write!(
                f,
                "The body is not valid JSON ({reason}) but looks like form data (name=value&...); \
                 send it with the Content-Type application/x-www-form-urlencoded, which curl -d \
                 and --data-urlencode send without --json or -H 'Content-Type: \
                 application/json', or send one JSON object."
            ),
            ParamError::SeveralJsonValues => f.write_str(
                "The body contains more than one JSON value, such as the lines that jq -c prints \
                 for several entries, but a request takes one entry as one JSON object; send \
                 each entry in its own request.",
            ),
            ParamError::JsonNotObject => f.write_str(
                "The JSON body must be an object, such as {\"timestamp\": \"2026-12-04T14:57:54+01:00\", \
                 \"stage\": \"WORKER_INIT\", \"status\": \"SUCCESS\"}.",
            ),
            ParamError::JsonNotUtf8(offset) => write!(
                f,
                "The JSON body contains bytes that are not UTF-8, the first at offset {offset}; \
                 JSON text must be UTF-8, so convert it, for example with iconv -f latin1 -t utf-8."
            ),
            ParamError::WrongJsonType { name, json } => write_wrong_json_type(f, name, json),
            ParamError::Unknown(name) => {
                write!(
                    f,
                    "Unknown parameter {}; the parameters are timestamp, stage, status and message.",
                    echo(name)
                )?;
                // A name with white space is usually the rest of a value cut
                // at an `&`, as in `-d "message=tables a&b locked"`. JSON
                // keys such as "exit-code" get no hint.
                if name.chars().any(char::is_whitespace) {
                    f.write_str(
                        " If it is the end of a value that contains &, send that value with curl \
                         --data-urlencode, which encodes & as %26.",
                    )?;
                }
                Ok(())
            }
            ParamError::UnknownInFormBody { name, previous } => {
                write!(
                    f,
                    "Unknown parameter {}; the parameters are timestamp, stage, status and \
                     message. An & inside a value splits it, so {} may be the rest of the value \
                     of {}. Send each value with curl --data-urlencode, which encodes & as %26.",
                    echo(name),
                    echo(name),
                    previous.unwrap_or("another parameter")
                )
            }
            ParamError::NameWrongCase {
                name,
                meant,
                also_sent: false,
            } => write!(
                f,
                "Unknown parameter {}: parameter names are lower case, so send {meant}.",
                echo(name)
            ),
            ParamError::NameWrongCase {
                name,
                meant,
                also_sent: true,
            } => write!(
                f,
                "Unknown parameter {}: parameter names are lower case, and {meant} is sent \
                 as well, so leave {} out.",
                echo(name),
                echo(name)
            ),
            ParamError::NameWithWhitespace {
                name,
                meant,
                also_sent: true,
            } => write!(
                f,
                "Unknown parameter {}: it is {meant} with whitespace, and {meant} is sent as \
                 well, so leave {} out.",
                echo(name),
                echo(name)
            ),
            ParamError::NameWithWhitespace {
                name,
                meant,
                also_sent: false,
            } => {
                let removal = whitespace_removal(name);
                if name.trim() == *meant {
                    write!(f, "Unknown parameter {}: remove {removal} {meant}.", echo(name))
                } else {
                    write!(
                        f,
                        "Unknown parameter {}: remove {removal} it, and write it in lower case, \
                         {meant}.",
                        echo(name)
                    )
                }
            }
            ParamError::Repeated(name) => write!(
                f,
                "Parameter {name} is given more than once; send each parameter once, in the query string or in the body."
            ),
            ParamError::Missing(names) => {
                write_missing(f, names)?;
                for name in names {
                    write!(f, "; {name} is {}", required_value_form(name))?;
                }
                f.write_str(".")
            }
            ParamError::MissingWithoutBody(names, NoBody::NoLengthHeaders) => {
                write_missing(f, names)?;
                f.write_str(
                    "; the request has no body, because it has neither a Content-Length nor a \
                     Transfer-Encoding header. Send the parameters in the body with curl's -d \
                     or --data-urlencode, which also sends the Content-Length header.",
                )
            }
            ParamError::MissingWithoutBody(names, NoBody::ZeroLength) => {
                write_missing(f, names)?;
                f.write_str(
                    "; the request declared Content-Length: 0, so the server read no body. \
                     Send the size of the body in bytes in Content-Length, as curl's -d and \
                     --data-urlencode do.",
                )
            }
            ParamError::WrongSeparator {
                missing,
                within,
                separator,
                next,
            } => {
                write_missing(f, missing)?;
                write!(
                    f,
                    "; the value of {within} contains \"{}{next}=\", so separate the parameters \
                     with & instead of {}.",
                    separator.as_char(),
                    separator.sent_as()
                )
            }
            ParamError::WrongSeparatorInValue {
                name,
                value,
                separator,
                next,
            } => write!(
                f,
                "Invalid {name} {}: it contains \"{}{next}=\", so separate the parameters with & \
                 instead of {}.",
                echo(value),
                separator.as_char(),
                separator.sent_as()
            ),
            ParamError::InvalidStage(value) => {
                let stages = Stage::ALL.map(Stage::as_str);
                // WORKER_DECRYPT is accepted too, so its own case is named.
                let accepted = stages.iter().copied().chain(["WORKER_DECRYPT"]);
                write_invalid_choice(f, "stage", "stages", value, accepted, &stages)
            }
            ParamError::InvalidStatus(value) => {
                let statuses = Status::ALL.map(Status::as_str);
                write_invalid_choice(f, "status", "statuses", value, statuses, &statuses)
            }
            ParamError::MessageTooLong(bytes) => write!(
                f,
                "Parameter message is {bytes} bytes long; the maximum is {MAX_MESSAGE_BYTES} bytes of UTF-8, so {CUT_MESSAGE_HINT}."
            ),
            // The message names the character by its code point, so the value shows it
            // escaped too, as look-alike and invisible characters are hard to see.
            ParamError::InvalidTimestamp {
                value,
                error: error @ TimestampError::NonAsciiCharacter { .. },
            } => write!(
                f,
                "Invalid timestamp {}: {error}.",
                escape_non_ascii(&echo(value))
            ),
            ParamError::InvalidTimestamp { value, error } => {
                write!(f, "Invalid timestamp {}: {error}.", echo(value))
            }
            ParamError::SkippedLocalTime {
                value,
                error,
                zone,
                user,
            } => {
                write!(
                    f,
                    "Invalid timestamp {}: {error}; {}.",
                    echo(value),
                    zone.setting(user)
                )
            }
            ParamError::TimestampPlusDecoded(value) => write!(
                f,
                "Invalid timestamp {}: its offset has a space where the + sign belongs, because + means \
                 a space in form data and query strings; send it in the body with curl \
                 --data-urlencode \"timestamp=$(date -Ins)\" or write the + as %2B.",
                echo(value)
            ),
            ParamError::UnexpandedShell {
                name,
                value,
                syntax,
                json: false,
            } => write!(
                f,
                "Invalid {name} {}: the shell did not {syntax}, because it was inside \
                 single quotes; put it in double quotes, as in --data-urlencode \
                 \"{name}={}\".",
                echo(value),
                double_quoted_example(name, value)
            ),
            ParamError::UnexpandedShell {
                name,
                value,
                syntax,
                json: true,
            } => {
                let example = double_quoted_example(name, value);
                write!(
                    f,
                    "Invalid {name} {}: the shell did not {syntax}, because the JSON body \
                     was inside single quotes. Put the body in double quotes and \
                     escape its JSON quotes, as in -d \"{{\\\"{name}\\\": \\\"{example}\\\", ...}}\", or \
                     build it with jq -n --arg {name} \"{example}\" '{{{name}: ${name}, ...}}'.",
                    echo(value)
                )
            }
        }
    }
}

/// Returns `value` to show inside double quotes in a message's example of a
/// shell command, or a typical value of the parameter `name` when `value` is
/// long or contains a character that double quotes do not keep as it is.
fn double_quoted_example<'a>(name: &str, value: &'a str) -> &'a str {
    let keeps_value = value.chars().count() <= ECHO_LIMIT
        && !value
            .chars()
            .any(|character| matches!(character, '"' | '\\') || character.is_control());
    if keeps_value {
        return value;
    }
    match name {
        "timestamp" => "$(date -Ins)",
        "stage" => "$stage",
        _ => "$status",
    }
}

impl std::error::Error for ParamError {}

/// Writes the message about the invalid `value` of the enumerated parameter
/// `name`, whose valid values, all upper case, are `accepted`. When `value`,
/// without its surrounding whitespace, matches one of them only once ASCII
/// case is ignored, the message names that spelling; otherwise it lists
/// `listed`. `plural` names the values, as in "stages are upper case".
fn write_invalid_choice<'a>(
    f: &mut fmt::Formatter<'_>,
    name: &str,
    plural: &str,
    value: &str,
    accepted: impl IntoIterator<Item = &'a str>,
    listed: &[&str],
) -> fmt::Result {
    let trimmed = value.trim();
    let meant = accepted
        .into_iter()
        .find(|valid| *valid != trimmed && valid.eq_ignore_ascii_case(trimmed));
    if value.is_empty() {
        return write!(
            f,
            "Invalid {name} \"\": it is empty, because the variable or command that supplies it \
             gave nothing, so check it, and use one of {}.",
            listed.join(", ")
        );
    }
    let note = whitespace_note(value);
    match meant {
        // Without a whitespace note, a colon joins the hint to the value.
        Some(meant) if note.is_empty() => write!(
            f,
            "Invalid {name} {}: {plural} are upper case, so send {meant}.",
            echo(value)
        ),
        Some(meant) => write!(
            f,
            "Invalid {name} {}{note}; {plural} are upper case, so send {meant}.",
            echo(value)
        ),
        None => match value.chars().find(|character| !character.is_ascii()) {
            // A letter of another script can look the same as a listed one.
            Some(character) => write!(
                f,
                "Invalid {name} {}{note}: it contains the non-ASCII character U+{:04X}, and \
                 {plural} are ASCII, so type it again as one of {}.",
                escape_non_ascii(&echo(value)),
                u32::from(character),
                listed.join(", ")
            ),
            None => write!(
                f,
                "Invalid {name} {}{note}; use one of {}.",
                echo(value),
                listed.join(", ")
            ),
        },
    }
}

/// Writes the message about the transaction id `id` of a path, which
/// contains the shell syntax `syntax` unexpanded.
fn write_unexpanded_transaction_id(
    f: &mut fmt::Formatter<'_>,
    id: &str,
    syntax: &ShellSyntax,
) -> fmt::Result {
    write!(
        f,
        "Invalid transaction id {}: the shell did not {syntax}, because the URL was inside \
         single quotes; put the URL in double quotes",
        echo(id)
    )?;
    // `%` in a URL in double quotes is sent as it is, so an id that has one,
    // or a character that double quotes change, gets no example.
    let keeps_id = id.chars().count() <= ECHO_LIMIT
        && !id
            .chars()
            .any(|character| matches!(character, '"' | '\\' | '%') || character.is_control());
    if keeps_id {
        write!(f, ", as in curl \"http://HOST:PORT/worker/log/{id}\"")?;
    }
    f.write_str(".")?;
    // Some programs other than a shell leave a reference to a variable that
    // is not set unchanged: Python's os.path.expandvars for $NAME and
    // ${NAME}, and Kubernetes for $(NAME) in a container's command and args.
    if references_variable(id, syntax) {
        f.write_str(
            " If a program other than a shell builds the URL, check that the variable is set, \
             because such programs may leave a variable that is not set as it is.",
        )?;
    }
    Ok(())
}

/// Returns true when `syntax`, the first shell syntax in `id`, is a
/// variable, `${...}`, or `$(NAME)` with a variable name in the brackets.
fn references_variable(id: &str, syntax: &ShellSyntax) -> bool {
    match syntax {
        ShellSyntax::Variable(_) | ShellSyntax::ParameterExpansion => true,
        ShellSyntax::Backquotes => false,
        ShellSyntax::CommandSubstitution => id.split("$(").skip(1).any(|after| {
            after.split_once(')').is_some_and(|(name, _)| {
                name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                    && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            })
        }),
    }
}

/// Writes the message about the JSON value `json` of the parameter `name`,
/// whose JSON type the parameter does not take, with the values it takes.
fn write_wrong_json_type(f: &mut fmt::Formatter<'_>, name: &str, json: &str) -> fmt::Result {
    let json = echo_json(json);
    match name {
        "timestamp" => write!(
            f,
            "Invalid timestamp {json}: a JSON body must give timestamp as a string, such as \
             \"2026-12-04T14:57:54+01:00\" from date -Iseconds, or as a number of Unix seconds, \
             such as 1796392674 from date +%s."
        ),
        "stage" => write!(
            f,
            "Invalid stage {json}: a JSON body must give stage as a string; use one of {}.",
            quoted_list(&Stage::ALL.map(Stage::as_str))
        ),
        "status" => write!(
            f,
            "Invalid status {json}: a JSON body must give status as a string; use one of {}.",
            quoted_list(&Status::ALL.map(Status::as_str))
        ),
        // The message, the only other parameter.
        _ => write!(
            f,
            "Invalid message {json}: a JSON body must give message as a string, or as null for \
             no message, so put the text in quotes, or build the body with jq -n --arg message \
             \"$msg\" '{{message: $message, ...}}', which makes it a string."
        ),
    }
}

/// Returns `values` in double quotes, as JSON strings, separated by commas.
fn quoted_list(values: &[&str]) -> String {
    let quoted: Vec<String> = values.iter().map(|value| format!("\"{value}\"")).collect();
    quoted.join(", ")
}

/// Returns what to remove from `name`, a parameter name with whitespace
/// before or after it, to complete "remove ... NAME", such as "the space
/// before" or "the tab after".
fn whitespace_removal(name: &str) -> String {
    let before = &name[..name.len() - name.trim_start().len()];
    let after = &name[name.trim_end().len()..];
    let position = match (before.is_empty(), after.is_empty()) {
        (false, true) => "before",
        (true, false) => "after",
        _ => "around",
    };
    let whitespace = format!("{before}{after}");
    let described = match whitespace.as_str() {
        " " => "the space",
        "\t" => "the tab",
        "\n" => "the newline",
        "\r" => "the carriage return",
        spaces if spaces.chars().all(|c| c == ' ') => "the spaces",
        _ => "the whitespace",
    };
    format!("{described} {position}")
}

/// Writes the start of the message about missing parameters, which names them.
fn write_missing(f: &mut fmt::Formatter<'_>, names: &[&str]) -> fmt::Result {
    let noun = if names.len() == 1 {
        "parameter"
    } else {
        "parameters"
    };
    write!(f, "Missing required {noun} {}", names.join(", "))
}

/// Returns the values that the required parameter `name` takes, to complete
/// "{name} is".
fn required_value_form(name: &str) -> String {
    match name {
        "stage" => format!("one of {}", Stage::ALL.map(Stage::as_str).join(", ")),
        "status" => format!("one of {}", Status::ALL.map(Status::as_str).join(", ")),
        _ => "a time such as 2026-12-04T14:57:54+01:00 from date -Iseconds".to_string(),
    }
}

/// Returns a note for the message about an invalid value of an enumerated
/// parameter that starts or ends with whitespace, or `""` when it does not.
/// Values are compared exactly as sent, and a trailing newline is easy to
/// miss, such as the one that ends a file sent with `curl --data-binary @FILE`.
/// So is a carriage return, which the note names.
pub fn whitespace_note(value: &str) -> &'static str {
    if value.trim() == value {
        ""
    } else if ends_with_carriage_return(value) {
        if value.ends_with('\n') {
            ": it ends with a carriage return and a newline (\\r\\n), the Windows (CRLF) line end \
             of a file sent with curl --data-binary, so remove both, as tr -d '\\r\\n' does, or \
             send each value with curl --data-urlencode"
        } else {
            ": it ends with a carriage return (\\r), which a file or script with Windows (CRLF) \
             line ends leaves at the end of each line, so convert the file with dos2unix, or \
             remove the character with tr -d '\\r'"
        }
    } else {
        ": it starts or ends with whitespace, so remove it, such as the newline that ends a \
         file sent with curl --data-binary"
    }
}

/// Returns true when the whitespace at the end of `text` contains a carriage
/// return, as a line of a file with Windows (CRLF) line ends does once a
/// shell's `$(...)` or `read` removes its newline.
pub fn ends_with_carriage_return(text: &str) -> bool {
    text[text.trim_end().len()..].contains('\r')
}

/// Returns the JSON text of a client's value for an error message, cut to
/// [`ECHO_LIMIT`] characters. JSON strings in it keep their own quotes.
fn echo_json(json: &str) -> String {
    match json.char_indices().nth(ECHO_LIMIT) {
        Some((end, _)) => format!("{}...", &json[..end]),
        None => json.to_string(),
    }
}

/// Quotes a client's value for an error message, cut to [`ECHO_LIMIT`] characters.
fn echo(value: &str) -> String {
    if value.chars().count() <= ECHO_LIMIT {
        format!("{value:?}")
    } else {
        let head: String = value.chars().take(ECHO_LIMIT).collect();
        format!("{head:?}...")
    }
}
