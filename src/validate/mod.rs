//! Validation of write requests: from the raw parts of a request (query
//! string, content type, body bytes) to a typed [`NewEntry`], or an error that
//! names the parameter and explains how to fix it.
//!
//! Parsing runs in two stages. The first collects every parameter as sent,
//! with its origin, so that a repeat across query string and body is seen; the
//! second converts the collected values into an entry.

mod error;
pub mod form;
pub mod json;
pub mod shell_syntax;
pub mod timestamp;

use chrono_tz::Tz;

use crate::entry::{NewEntry, Stage, Status, TransactionId, MAX_MESSAGE_BYTES};
use json::JsonBodyError;
use shell_syntax::find_shell_syntax;
use timestamp::{ResolvedTimestamp, TimestampError};

pub use error::{
    ends_with_carriage_return, whitespace_note, NoBody, Origin, ParamError, Separator,
    CUT_MESSAGE_HINT,
};

/// Returns the seconds of a duration unit: `s`, `m`, `h` or `d`, as the
/// command line's durations and ages take them.
pub fn unit_seconds(unit: char) -> Option<u64> {
    match unit {
        's' => Some(1),
        'm' => Some(60),
        'h' => Some(3600),
        'd' => Some(86_400),
        _ => None,
    }
}

/// The parameters of the write API.
pub const PARAMETER_NAMES: [&str; 4] = ["timestamp", "stage", "status", "message"];

/// The UTF-8 byte order mark, which editors on Windows put at the start of
/// a text file.
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// The type of a request body, from its `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    Form,
    Json,
}

/// Reads a `Content-Type` header value. No header means form data, which is
/// what `curl -d` implies.
///
/// # Errors
///
/// Returns an error for any other media type, and for a charset other than UTF-8.
pub fn body_kind(content_type: Option<&[u8]>) -> Result<BodyKind, ParamError> {
    let Some(raw) = content_type else {
        return Ok(BodyKind::Form);
    };
    let text = std::str::from_utf8(raw)
        .map_err(|_| ParamError::UnsupportedContentType(String::from_utf8_lossy(raw).into()))?;
    let mut parts = text.split(';');
    let media_type = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
    let kind = match media_type.as_str() {
        "application/x-www-form-urlencoded" => BodyKind::Form,
        "application/json" => BodyKind::Json,
        // Without a media type, the message shows the whole value as sent.
        "" => return Err(ParamError::UnsupportedContentType(text.trim().to_string())),
        _ => return Err(ParamError::UnsupportedContentType(media_type)),
    };
    for parameter in parts {
        let Some((name, value)) = parameter.split_once('=') else {
            continue;
        };
        if name.trim().eq_ignore_ascii_case("charset") {
            let charset = value.trim().trim_matches('"');
            if !charset.eq_ignore_ascii_case("utf-8") {
                return Err(ParamError::UnsupportedCharset(charset.to_string()));
            }
        }
    }
    Ok(kind)
}

/// A parameter value as sent, before conversion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RawValue {
    /// A value of form data, from the body or the query string.
    Text(String, Origin),
    /// A JSON string. Its text is what the client wrote, with no form
    /// decoding, so the hints about `+`, `;` and `&` do not apply to it.
    JsonText(String),
    /// A JSON number, with its text exactly as it appears in the body.
    Number(String),
    Null,
    /// A JSON boolean, array or object, with its text as sent less the
    /// whitespace between tokens.
    OtherJson(String),
}

/// Collects the parameters of the query string and the body, in order.
///
/// # Errors
///
/// Returns an error for an unsupported content type or a body that does not
/// decode.
pub fn collect_parameters(
    query: Option<&str>,
    content_type: Option<&[u8]>,
    body: &[u8],
) -> Result<Vec<(String, RawValue)>, ParamError> {
    let mut collected = Vec::new();
    if let Some(query) = query {
        collected.extend(decode_form(query.as_bytes(), Origin::Query)?);
    }
    let kind = body_kind(content_type)?;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(collected);
    }
    match kind {
        BodyKind::Form => {
            // Otherwise the mark would become part of the first name, as in
            // the unknown parameter "\u{feff}timestamp".
            if body.starts_with(UTF8_BOM) {
                return Err(ParamError::FormByteOrderMark);
            }
            let first = body.iter().find(|byte| !byte.is_ascii_whitespace());
            if matches!(first, Some(b'{') | Some(b'[')) {
                return Err(ParamError::JsonSentAsForm);
            }
            collected.extend(decode_form(body, Origin::Body)?);
        }
        BodyKind::Json => {
            let members = json::parse_object(body).map_err(|error| match error {
                JsonBodyError::Malformed(reason) if looks_like_form(body) => {
                    ParamError::FormSentAsJson(reason)
                }
                JsonBodyError::Malformed(reason) => ParamError::MalformedJson(reason),
                JsonBodyError::ControlCharacter(reason) => ParamError::JsonControlCharacter(reason),
                JsonBodyError::SeveralValues => ParamError::SeveralJsonValues,
                JsonBodyError::NotObject => ParamError::JsonNotObject,
                JsonBodyError::NotUtf8(offset) => ParamError::JsonNotUtf8(offset),
            })?;
            collected.extend(members);
        }
    }
    Ok(collected)
}

/// Returns true when `body` starts like form data: a name of letters,
/// digits and `_ . ~ - %`, then `=`.
fn looks_like_form(body: &[u8]) -> bool {
    let start = body.trim_ascii_start();
    let Some(equals) = start.iter().position(|byte| *byte == b'=') else {
        return false;
    };
    let name = &start[..equals];
    !name.is_empty()
        && name
            .iter()
            .all(|byte| byte.is_ascii_alphanumeric() || b"_.~-%".contains(byte))
}

fn decode_form(input: &[u8], origin: Origin) -> Result<Vec<(String, RawValue)>, ParamError> {
    let pairs = form::parse_pairs(input).map_err(|failure| {
        // `date +%s` in backquotes that the shell did not run, or in an
        // unexpanded `$(...)`, fails to decode at its `%`, but the quotes
        // are what to fix.
        // A message may contain such syntax on purpose.
        let unexpanded = ["timestamp", "stage", "status"]
            .into_iter()
            .find(|name| *name == failure.name)
            .and_then(|name| unexpanded_shell(name, &failure.raw_value, true));
        unexpanded.unwrap_or(ParamError::BadEncoding {
            name: failure.name,
            origin,
            error: failure.error,
        })
    })?;
    Ok(pairs
        .into_iter()
        .map(|(name, value)| (name, RawValue::Text(value, origin)))
        .collect())
}

/// The values of the write API's parameters as sent, before conversion.
#[derive(Default)]
struct RawParameters {
    timestamp: Option<RawValue>,
    stage: Option<RawValue>,
    status: Option<RawValue>,
    message: Option<RawValue>,
}

impl RawParameters {
    /// Puts each collected parameter into the field of its name.
    ///
    /// # Errors
    ///
    /// Returns the first name that the write API does not take, or that is
    /// repeated.
    fn from_collected(parameters: Vec<(String, RawValue)>) -> Result<Self, ParamError> {
        let mut raw = RawParameters::default();
        let mut parameters = parameters.into_iter();
        // The parameter before the current one when both are in a form
        // body, whose value an `&` may have split.
        let mut previous_in_body: Option<&'static str> = None;
        while let Some((name, value)) = parameters.next() {
            let Some(slot) = raw.slot(&name) else {
                let in_form_body = matches!(value, RawValue::Text(_, Origin::Body));
                let sent = |meant: &str| {
                    raw.by_name()
                        .iter()
                        .any(|(known, value)| *known == meant && value.is_some())
                        || parameters.any(|(other, _)| other == meant)
                };
                let error = unknown_parameter(name, sent);
                return Err(match error {
                    ParamError::Unknown(name) if in_form_body && !is_misspelled_name(&name) => {
                        ParamError::UnknownInFormBody {
                            name,
                            previous: previous_in_body,
                        }
                    }
                    error => error,
                });
            };
            previous_in_body = match value {
                RawValue::Text(_, Origin::Body) => known_name(&name),
                _ => None,
            };
            if slot.replace(value).is_some() {
                return Err(ParamError::Repeated(name));
            }
        }
        Ok(raw)
    }

    /// Returns the slot of the parameter `name`, or `None` for a name that
    /// the write API does not take.
    fn slot(&mut self, name: &str) -> Option<&mut Option<RawValue>> {
        match name {
            "timestamp" => Some(&mut self.timestamp),
            "stage" => Some(&mut self.stage),
            "status" => Some(&mut self.status),
            "message" => Some(&mut self.message),
            _ => None,
        }
    }

    /// Returns each parameter's name and value, in the order of
    /// [`PARAMETER_NAMES`].
    fn by_name(&self) -> [(&'static str, Option<&RawValue>); 4] {
        [
            ("timestamp", self.timestamp.as_ref()),
            ("stage", self.stage.as_ref()),
            ("status", self.status.as_ref()),
            ("message", self.message.as_ref()),
        ]
    }

    /// Returns the names of the required parameters that were not sent,
    /// which are all but `message`.
    fn missing(&self) -> Vec<&'static str> {
        self.by_name()
            .into_iter()
            .filter(|(name, value)| *name != "message" && value.is_none())
            .map(|(name, _)| name)
            .collect()
    }
}

/// Returns the error for the parameter `name` that the write API does not
/// take, which names the parameter meant when only the case differs. `sent`
/// returns true when the request also has a parameter of the given name.
fn unknown_parameter(name: String, mut sent: impl FnMut(&str) -> bool) -> ParamError {
    let trimmed = name.trim();
    if trimmed != name {
        let meant = PARAMETER_NAMES
            .into_iter()
            .find(|valid| valid.eq_ignore_ascii_case(trimmed));
        if let Some(meant) = meant {
            return ParamError::NameWithWhitespace {
                also_sent: sent(meant),
                name,
                meant,
            };
        }
    }
    let meant = PARAMETER_NAMES
        .into_iter()
        .find(|valid| valid.eq_ignore_ascii_case(&name));
    match meant {
        Some(meant) => ParamError::NameWrongCase {
            also_sent: sent(meant),
            name,
            meant,
        },
        None => ParamError::Unknown(name),
    }
}

/// The maximum edit distance at which an unknown name counts as a
/// misspelled parameter name, as `mesage` is for `message`.
const MISSPELLING_DISTANCE: usize = 2;

/// Returns true when `name` is within [`MISSPELLING_DISTANCE`] edits of a
/// parameter name, ignoring ASCII case and surrounding whitespace.
fn is_misspelled_name(name: &str) -> bool {
    let name = name.trim().to_ascii_lowercase();
    PARAMETER_NAMES
        .into_iter()
        .any(|valid| strsim::levenshtein(&name, valid) <= MISSPELLING_DISTANCE)
}

/// Returns the parameter name equal to `name`, or `None` for any other name.
fn known_name(name: &str) -> Option<&'static str> {
    PARAMETER_NAMES.into_iter().find(|valid| *valid == name)
}

/// The time zone that resolves a timestamp without an offset, and where it
/// was set, so that an error about a local time can name the setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalZone {
    pub zone: Tz,
    pub source: ZoneSource,
}

/// The setting that a [`LocalZone`] comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZoneSource {
    /// The reporting user's own zone, set with `translog user set-timezone`.
    User,
    /// The server's `--timezone`, for a user without a zone of its own.
    Server,
}

impl LocalZone {
    /// Returns the clause that names where the zone of `user` is set, for an
    /// error about a local time that the zone skips.
    pub fn setting(&self, user: &str) -> String {
        match self.source {
            ZoneSource::User => format!(
                "{} is the time zone of user {user}, set with translog user set-timezone",
                self.zone
            ),
            ZoneSource::Server => format!(
                "{} is the server's --timezone, because user {user} has no time zone of its \
                 own, which translog user set-timezone sets",
                self.zone
            ),
        }
    }

    /// Returns the user's own zone where the user has one, else the server's.
    pub fn for_user(user_zone: Option<Tz>, server_zone: Tz) -> Self {
        match user_zone {
            Some(zone) => Self {
                zone,
                source: ZoneSource::User,
            },
            None => Self {
                zone: server_zone,
                source: ZoneSource::Server,
            },
        }
    }
}

/// Converts collected parameters into an entry. `zone` resolves timestamps
/// without an offset; `user` is the authenticated reporter.
///
/// # Errors
///
/// Returns the first problem found: unknown or repeated names first, then
/// missing ones, then invalid values in the order timestamp, stage, status,
/// message.
pub fn build_entry(
    transaction_id: &str,
    parameters: Vec<(String, RawValue)>,
    zone: LocalZone,
    user: &str,
) -> Result<NewEntry, ParamError> {
    let transaction_id = parse_transaction_id(transaction_id)?;

    let raw = RawParameters::from_collected(parameters)?;
    let missing = raw.missing();
    // Only a request that lacks a parameter pays for the search.
    if !missing.is_empty() {
        if let Some(error) = wrong_separator(&raw, &missing) {
            return Err(error);
        }
    }
    let RawParameters {
        timestamp: Some(timestamp),
        stage: Some(stage),
        status: Some(status),
        message,
    } = raw
    else {
        return Err(ParamError::Missing(missing));
    };

    let (timestamp_sent, resolved) = convert_timestamp(timestamp, zone, user)?;
    let stage = text_value(stage, "stage")?;
    let stage = Stage::parse(&stage.0)
        .ok_or_else(|| invalid_value("stage", stage, ParamError::InvalidStage))?;
    let status = text_value(status, "status")?;
    let status = Status::parse(&status.0)
        .ok_or_else(|| invalid_value("status", status, ParamError::InvalidStatus))?;
    let message = convert_message(message)?;

    Ok(NewEntry {
        transaction_id,
        timestamp: resolved.instant,
        timestamp_sent,
        local_zone: resolved.local_zone,
        stage,
        status,
        message,
        reported_by: user.to_string(),
    })
}

/// Checks a transaction id taken from a path, already percent-decoded.
///
/// # Errors
///
/// Returns [`ParamError::UnexpandedShellInTransactionId`] for an invalid id
/// with shell syntax such as `$TX`, else [`ParamError::InvalidTransactionId`].
pub fn parse_transaction_id(text: &str) -> Result<TransactionId, ParamError> {
    TransactionId::parse(text).map_err(|reason| {
        unexpanded_in_id(text).unwrap_or(ParamError::InvalidTransactionId(reason))
    })
}

/// Returns [`ParamError::UnexpandedShellInTransactionId`] when the
/// transaction id `id` contains shell syntax that the shell did not expand.
pub fn unexpanded_in_id(id: &str) -> Option<ParamError> {
    let syntax = find_shell_syntax(id)?;
    Some(ParamError::UnexpandedShellInTransactionId {
        id: id.to_string(),
        syntax,
    })
}

/// Converts the `timestamp` parameter into the instant it names, resolved
/// in `zone` when it has no offset, and returns the text as sent with it.
/// A JSON number is Unix seconds. `user` is the reporter, named in an error
/// about the zone.
fn convert_timestamp(
    value: RawValue,
    zone: LocalZone,
    user: &str,
) -> Result<(String, ResolvedTimestamp), ParamError> {
    let is_form = matches!(value, RawValue::Text(..));
    let (sent, text) = match value {
        RawValue::Text(text, _) | RawValue::JsonText(text) => (text.clone(), text),
        RawValue::Number(number) => {
            let seconds =
                unix_seconds_text(&number).map_err(|error| ParamError::InvalidTimestamp {
                    value: number.clone(),
                    error,
                })?;
            (number, seconds)
        }
        RawValue::Null | RawValue::OtherJson(_) => return Err(wrong_type("timestamp", &value)),
    };
    let resolved = timestamp::resolve_timestamp(&text, zone.zone)
        .map_err(|error| timestamp_error(&sent, is_form, zone, user, error))?;
    Ok((sent, resolved))
}

/// Converts the optional `message` parameter. A missing, `null` or empty
/// message becomes `None`.
fn convert_message(value: Option<RawValue>) -> Result<Option<String>, ParamError> {
    match value {
        None | Some(RawValue::Null) => Ok(None),
        Some(RawValue::Text(text, _) | RawValue::JsonText(text)) if text.is_empty() => Ok(None),
        Some(RawValue::Text(text, _) | RawValue::JsonText(text))
            if text.len() > MAX_MESSAGE_BYTES =>
        {
            Err(ParamError::MessageTooLong(text.len()))
        }
        Some(RawValue::Text(text, _) | RawValue::JsonText(text)) => Ok(Some(text)),
        Some(value @ (RawValue::Number(_) | RawValue::OtherJson(_))) => {
            Err(wrong_type("message", &value))
        }
    }
}

/// Returns the first of `names` whose `name=` follows a [`Separator`] in
/// `value`, with that separator. A `;` is looked for first.
fn find_joined_parameter(value: &str, names: &[&'static str]) -> Option<(Separator, &'static str)> {
    Separator::ALL.into_iter().find_map(|separator| {
        let next = names.iter().find(|name| {
            let joined = format!("{}{name}=", separator.as_char());
            value.contains(&joined)
        })?;
        Some((separator, *next))
    })
}

/// Returns the parameter joined to `value` by a wrong separator, as
/// [`find_joined_parameter`] finds it among all names, for a value of form
/// data (`is_form`). A JSON string is sent as written, so it has none.
fn joined_in_form_value(value: &str, is_form: bool) -> Option<(Separator, &'static str)> {
    if is_form {
        find_joined_parameter(value, &PARAMETER_NAMES)
    } else {
        None
    }
}

/// Returns the error for missing parameters that arrived inside the value of
/// another one, as in `timestamp=...;stage=...` or `timestamp=... stage=...`,
/// or `None`.
fn wrong_separator(raw: &RawParameters, missing: &[&'static str]) -> Option<ParamError> {
    raw.by_name().into_iter().find_map(|(within, sent)| {
        let Some(RawValue::Text(value, _)) = sent else {
            return None;
        };
        let (separator, next) = find_joined_parameter(value, missing)?;
        Some(ParamError::WrongSeparator {
            missing: missing.to_vec(),
            within,
            separator,
            next,
        })
    })
}

/// Returns [`ParamError::UnexpandedShell`] when the invalid `value` of the
/// parameter `name` contains shell syntax that the shell did not expand.
/// `is_form` is false for a value of a JSON body.
fn unexpanded_shell(name: &'static str, value: &str, is_form: bool) -> Option<ParamError> {
    let syntax = find_shell_syntax(value)?;
    Some(ParamError::UnexpandedShell {
        name,
        value: value.to_string(),
        syntax,
        json: !is_form,
    })
}

/// Returns the error for the invalid `value` of the parameter `name`:
/// [`ParamError::UnexpandedShell`] when it contains shell syntax such as
/// `$TS`, [`ParamError::WrongSeparatorInValue`] when a value of form data
/// (`is_form`) contains `;` or a space followed by a parameter name and `=`,
/// else `invalid(value)`.
fn invalid_value(
    name: &'static str,
    (value, is_form): (String, bool),
    invalid: fn(String) -> ParamError,
) -> ParamError {
    if let Some(error) = unexpanded_shell(name, &value, is_form) {
        return error;
    }
    match joined_in_form_value(&value, is_form) {
        Some((separator, next)) => ParamError::WrongSeparatorInValue {
            name,
            value,
            separator,
            next,
        },
        None => invalid(value),
    }
}

/// The largest number of significant integer digits, leading zeros not
/// counted, that [`unix_seconds_text`] writes out. Past it, a number is far
/// outside the range of timestamps, so it is rejected without writing out
/// its digits.
const MAX_INTEGER_DIGITS: i128 = 40;

/// Rewrites a JSON number as the Unix seconds text that
/// [`timestamp::parse_timestamp`] reads. An exponent is expanded exactly
/// (`1.796392674e9` becomes `1796392674`), and zero loses its minus sign. Text that is
/// not a JSON number is returned unchanged for the parser to reject.
///
/// # Errors
///
/// Returns [`TimestampError::InstantBeforeRange`] for a negative number,
/// [`TimestampError::InstantAfterRange`] for a nonzero one with more than
/// [`MAX_INTEGER_DIGITS`] digits before the decimal point once expanded, and
/// [`TimestampError::ExponentFractionTooLong`] for an exponent that leaves more
/// than 9 digits after the decimal point, trailing zeros included.
fn unix_seconds_text(number: &str) -> Result<String, TimestampError> {
    let (mantissa, exponent) = match number.split_once(['e', 'E']) {
        Some((mantissa, exponent)) => (mantissa, Some(exponent)),
        None => (number, None),
    };
    let is_zero = mantissa
        .bytes()
        .all(|byte| matches!(byte, b'-' | b'0' | b'.'));
    if mantissa.starts_with('-') && !is_zero {
        return Err(TimestampError::InstantBeforeRange { instant: None });
    }
    let mantissa = mantissa.trim_start_matches('-');
    let Some(exponent) = exponent else {
        return Ok(mantissa.to_string());
    };

    // Numbers come only from serde_json's parse of the body, so the exponent
    // is digits with an optional sign and parsing fails only on overflow. An
    // overflowing positive exponent counts as i64::MAX. A negative one means
    // more fraction digits than can be counted.
    let exponent = match exponent.parse::<i64>() {
        Ok(exponent) => exponent,
        Err(_) if exponent.starts_with('-') => {
            return Err(TimestampError::ExponentFractionTooLong { digits: None })
        }
        Err(_) => i64::MAX,
    };
    if is_zero && exponent > 0 {
        return Ok("0".to_string());
    }

    // The digits before the decimal point once the exponent moves it, not
    // counting leading zeros, and the digits after it, trailing zeros
    // included. Both are counted before any digit is written out.
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let length = usize_as_i128(whole.len()) + usize_as_i128(fraction.len());
    let point = usize_as_i128(whole.len()) + i128::from(exponent);
    let leading_zeros = whole
        .bytes()
        .chain(fraction.bytes())
        .take_while(|byte| *byte == b'0')
        .count();
    if point - usize_as_i128(leading_zeros) > MAX_INTEGER_DIGITS {
        return Err(TimestampError::InstantAfterRange { instant: None });
    }
    let fraction_digits = length - point.min(length);
    if fraction_digits > 9 {
        // The exponent can turn digits written before the point into
        // fraction digits, so the limit of 9 is checked here, where the
        // error can name the exponent as the cause.
        return Err(TimestampError::ExponentFractionTooLong {
            digits: usize::try_from(fraction_digits).ok(),
        });
    }
    match expand_exponent(mantissa, exponent) {
        Some(plain) => Ok(plain),
        None => Ok(number.to_string()),
    }
}

/// Converts a length to `i128`, which can represent every `usize` of the platforms
/// that Rust supports.
fn usize_as_i128(length: usize) -> i128 {
    i128::try_from(length).unwrap_or(i128::MAX)
}

/// Writes an unsigned decimal mantissa times 10 to the power `exponent` as
/// plain decimal digits, exactly. Returns `None` unless `mantissa` is digits
/// with at most one decimal point.
fn expand_exponent(mantissa: &str, exponent: i64) -> Option<String> {
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = format!("{whole}{fraction}");
    if digits.is_empty() || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }

    // Move the decimal point by the exponent, padding with zeros as needed.
    let point = i64::try_from(whole.len()).ok()? + exponent;
    let length = i64::try_from(digits.len()).ok()?;
    let plain = if point <= 0 {
        format!("0.{}{digits}", "0".repeat(usize::try_from(-point).ok()?))
    } else if point >= length {
        format!(
            "{digits}{}",
            "0".repeat(usize::try_from(point - length).ok()?)
        )
    } else {
        let (integer, decimals) = digits.split_at(usize::try_from(point).ok()?);
        format!("{integer}.{decimals}")
    };

    let trimmed = plain.trim_start_matches('0');
    Some(if trimmed.is_empty() || trimmed.starts_with('.') {
        format!("0{trimmed}")
    } else {
        trimmed.to_string()
    })
}

/// Explains a rejected timestamp. Its message names shell syntax that the
/// shell did not expand, or an unencoded `+` offset sign that form decoding
/// turned into a space, or the setting of the zone that skips a local time.
fn timestamp_error(
    text: &str,
    is_form: bool,
    zone: LocalZone,
    user: &str,
    error: TimestampError,
) -> ParamError {
    if let Some(error) = unexpanded_shell("timestamp", text, is_form) {
        error
    } else if let Some((separator, next)) = joined_in_form_value(text, is_form) {
        ParamError::WrongSeparatorInValue {
            name: "timestamp",
            value: text.to_string(),
            separator,
            next,
        }
    } else if is_form && plus_became_space(text, zone.zone) {
        ParamError::TimestampPlusDecoded(text.to_string())
    } else if error.is_skipped_local_time() {
        ParamError::SkippedLocalTime {
            value: text.to_string(),
            error,
            zone,
            user: user.to_string(),
        }
    } else {
        ParamError::InvalidTimestamp {
            value: text.to_string(),
            error,
        }
    }
}

/// The maximum length of a timestamp whose spaces [`plus_became_space`]
/// tries as a lost `+`. Java's form with nanoseconds and the longest IANA
/// zone name, `America/Argentina/ComodRivadavia`, has 69 bytes.
const MAX_REPAIRED_TIMESTAMP_BYTES: usize = 100;

/// Returns true when `text` is a valid timestamp once one of its spaces after
/// the hour is read as a `+`. Form and query decoding turn the `+` of an
/// offset sent without percent-encoding into a space. A repaired text whose
/// error quotes the corrected value counts too, so that the sender learns
/// about the `+` before that error.
pub fn plus_became_space(text: &str, zone: Tz) -> bool {
    // Each space costs one parse, so text over this length is not tried,
    // which keeps a long value from holding the thread.
    if text.len() > MAX_REPAIRED_TIMESTAMP_BYTES {
        return false;
    }
    text.match_indices(' ')
        .map(|(at, _)| at)
        .filter(|at| *at > "2026-12-04T14".len())
        .any(|at| {
            let repaired = format!("{}+{}", &text[..at], &text[at + 1..]);
            match timestamp::parse_timestamp(&repaired, zone) {
                Ok(_) => true,
                Err(error) => error.quotes_corrected_value(),
            }
        })
}

/// Returns the text of a string parameter, and true when it is form data.
fn text_value(value: RawValue, name: &'static str) -> Result<(String, bool), ParamError> {
    match value {
        RawValue::Text(text, _) => Ok((text, true)),
        RawValue::JsonText(text) => Ok((text, false)),
        RawValue::Number(_) | RawValue::Null | RawValue::OtherJson(_) => {
            Err(wrong_type(name, &value))
        }
    }
}

/// Returns the error for the JSON `value` of the parameter `name`, whose
/// JSON type the parameter does not take.
fn wrong_type(name: &'static str, value: &RawValue) -> ParamError {
    let json = match value {
        RawValue::Text(text, _) | RawValue::JsonText(text) => {
            serde_json::Value::String(text.clone()).to_string()
        }
        RawValue::Number(text) | RawValue::OtherJson(text) => text.clone(),
        RawValue::Null => "null".to_string(),
    };
    ParamError::WrongJsonType { name, json }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shell_syntax::ShellSyntax;

    const FORM: Option<&[u8]> = Some(b"application/x-www-form-urlencoded");
    const JSON: Option<&[u8]> = Some(b"application/json");
    const VALID: &str = "timestamp=2026-12-04T14:57:54%2B01:00&stage=WORKER_INIT&status=SUCCESS";
    const SERVER_UTC: LocalZone = LocalZone {
        zone: Tz::UTC,
        source: ZoneSource::Server,
    };

    fn build(
        query: Option<&str>,
        content_type: Option<&[u8]>,
        body: &str,
    ) -> Result<NewEntry, ParamError> {
        let parameters = collect_parameters(query, content_type, body.as_bytes())?;
        build_entry("tx-1", parameters, SERVER_UTC, "worker")
    }

    #[test]
    fn raw_parameters_follow_parameter_names() {
        let names = RawParameters::default().by_name().map(|(name, _)| name);
        assert_eq!(names, PARAMETER_NAMES);
    }

    #[test]
    fn every_parameter_name_has_slot() {
        let mut raw = RawParameters::default();
        for name in PARAMETER_NAMES {
            assert!(raw.slot(name).is_some(), "{name}");
        }
    }

    #[test]
    fn form_body_builds_entry() {
        assert_eq!(
            build(None, FORM, VALID).map(|entry| entry.stage),
            Ok(Stage::Init)
        );
    }

    #[test]
    fn query_string_builds_entry() {
        assert_eq!(
            build(Some(VALID), None, "").map(|entry| entry.status),
            Ok(Status::Success)
        );
    }

    #[test]
    fn missing_content_type_reads_form() {
        assert!(build(None, None, VALID).is_ok());
    }

    #[test]
    fn json_body_builds_entry() {
        let body = r#"{"timestamp":"2026-12-04T13:57:54Z","stage":"WORKER_END","status":"FATAL","message":"disk"}"#;
        assert_eq!(
            build(None, JSON, body).map(|entry| entry.message),
            Ok(Some("disk".into()))
        );
    }

    #[test]
    fn stage_with_cyrillic_letter_names_it() {
        let body = "timestamp=2026-12-04&stage=W%D0%9ERKER_LOAD&status=FAIL";
        let message = build(None, FORM, body).expect_err("bad stage").to_string();
        assert!(
            message.contains("\"W\\u{41e}RKER_LOAD\": it contains the non-ASCII character U+041E"),
            "{message}"
        );
    }

    #[test]
    fn json_space_for_plus_gets_no_form_hint() {
        let body =
            r#"{"timestamp":"2026-12-04T10:00:00 01:00","stage":"WORKER_LOAD","status":"FAIL"}"#;
        let error = build(None, JSON, body).expect_err("space before offset");
        assert!(
            matches!(error, ParamError::InvalidTimestamp { .. }),
            "{error:?}"
        );
    }

    #[test]
    fn json_semicolon_in_stage_gets_no_form_hint() {
        let body =
            r#"{"timestamp":"2026-12-04","stage":"WORKER_LOAD;status=FAIL","status":"FAIL"}"#;
        let error = build(None, JSON, body).expect_err("bad stage");
        assert!(matches!(error, ParamError::InvalidStage(_)), "{error:?}");
    }

    #[test]
    fn json_missing_status_gets_no_form_hint() {
        let body = r#"{"timestamp":"2026-12-04","stage":"WORKER_LOAD","message":"ok status=FAIL"}"#;
        let error = build(None, JSON, body).expect_err("status missing");
        assert_eq!(error, ParamError::Missing(vec!["status"]));
    }

    #[test]
    fn json_number_timestamp_is_unix_seconds() {
        let body = r#"{"timestamp":1764856674.5,"stage":"WORKER_END","status":"FAIL"}"#;
        let entry = build(None, JSON, body).expect("valid entry");
        assert_eq!(entry.timestamp.timestamp_subsec_nanos(), 500_000_000);
    }

    #[test]
    fn json_exponent_timestamp_is_unix_seconds() {
        let body = r#"{"timestamp":1.796392674e9,"stage":"WORKER_END","status":"FAIL"}"#;
        let entry = build(None, JSON, body).expect("valid entry");
        assert_eq!(entry.timestamp.timestamp(), 1_796_392_674);
    }

    #[test]
    fn json_exponent_timestamp_is_kept_as_sent() {
        let body = r#"{"timestamp":1.796392674E9,"stage":"WORKER_END","status":"FAIL"}"#;
        let entry = build(None, JSON, body).expect("valid entry");
        assert_eq!(entry.timestamp_sent, "1.796392674E9");
    }

    #[test]
    fn unix_seconds_text_expands_exponents() {
        let cases = [
            ("1.5e1", "15"),
            ("15e-1", "1.5"),
            ("1796392674123e-3", "1796392674.123"),
            ("1.796392674E+9", "1796392674"),
            ("5e-3", "0.005"),
            ("0.0e0", "0.0"),
            ("1796392674", "1796392674"),
        ];
        for (number, expected) in cases {
            assert_eq!(
                unix_seconds_text(number).as_deref(),
                Ok(expected),
                "{number}"
            );
        }
    }

    #[test]
    fn unix_seconds_text_skips_leading_zeros() {
        let tiny = format!("0.{}1796392674e55", "0".repeat(45));
        assert_eq!(unix_seconds_text(&tiny).as_deref(), Ok("1796392674"));
    }

    #[test]
    fn unix_seconds_text_reads_negative_zero_as_zero() {
        let cases = [("-0", "0"), ("-0.0", "0.0"), ("-0e5", "0")];
        for (number, expected) in cases {
            assert_eq!(
                unix_seconds_text(number).as_deref(),
                Ok(expected),
                "{number}"
            );
        }
    }

    #[test]
    fn unix_seconds_text_reads_zero_with_huge_exponent() {
        assert_eq!(unix_seconds_text("0e400").as_deref(), Ok("0"));
    }

    #[test]
    fn unix_seconds_text_rejects_negative_number() {
        for number in ["-1", "-0.5", "-1e-3"] {
            assert_eq!(
                unix_seconds_text(number),
                Err(TimestampError::InstantBeforeRange { instant: None }),
                "{number}"
            );
        }
    }

    #[test]
    fn unix_seconds_text_rejects_huge_exponent() {
        for number in ["1e41", "1e400", "1E+999999999999999999999999"] {
            assert_eq!(
                unix_seconds_text(number),
                Err(TimestampError::InstantAfterRange { instant: None }),
                "{number}"
            );
        }
    }

    #[test]
    fn unix_seconds_text_counts_fraction_of_tiny_number() {
        assert_eq!(
            unix_seconds_text("1.5e-400"),
            Err(TimestampError::ExponentFractionTooLong { digits: Some(401) })
        );
    }

    #[test]
    fn exponent_fraction_counts_trailing_zeros() {
        assert_eq!(
            unix_seconds_text("17963926740000000000000000000000000e-25"),
            Err(TimestampError::ExponentFractionTooLong { digits: Some(25) })
        );
    }

    #[test]
    fn huge_negative_exponent_uncounted() {
        assert_eq!(
            unix_seconds_text("1e-99999999999999999999999"),
            Err(TimestampError::ExponentFractionTooLong { digits: None })
        );
    }

    #[test]
    fn smallest_exponent_counted() {
        assert_eq!(
            unix_seconds_text("1e-9223372036854775808"),
            Err(TimestampError::ExponentFractionTooLong {
                digits: Some(9_223_372_036_854_775_808)
            })
        );
    }

    #[test]
    fn json_huge_exponent_is_out_of_range() {
        let body = r#"{"timestamp":1e400,"stage":"WORKER_END","status":"FAIL"}"#;
        let error = build(None, JSON, body).expect_err("out of range");
        assert!(
            matches!(
                error,
                ParamError::InvalidTimestamp {
                    error: TimestampError::InstantAfterRange { instant: None },
                    ..
                }
            ),
            "{error:?}"
        );
    }

    #[test]
    fn json_nanoseconds_are_explained() {
        let body = r#"{"timestamp":1796392674123456789,"stage":"WORKER_END","status":"FAIL"}"#;
        let error = build(None, JSON, body).expect_err("too many digits");
        assert!(
            matches!(
                error,
                ParamError::InvalidTimestamp {
                    error: TimestampError::UnixSecondsTooLong { digits: 19 },
                    ..
                }
            ),
            "{error:?}"
        );
    }

    #[test]
    fn json_null_message_is_no_message() {
        let body =
            r#"{"timestamp":"2026-12-04","stage":"WORKER_END","status":"FAIL","message":null}"#;
        assert_eq!(build(None, JSON, body).map(|entry| entry.message), Ok(None));
    }

    #[test]
    fn json_numeric_stage_is_rejected() {
        let body = r#"{"timestamp":"2026-12-04","stage":1,"status":"FAIL"}"#;
        assert_eq!(
            build(None, JSON, body).map_err(|e| e.code()),
            Err("invalid_parameter")
        );
    }

    #[test]
    fn empty_message_is_no_message() {
        let body = format!("{VALID}&message=");
        assert_eq!(
            build(None, FORM, &body).map(|entry| entry.message),
            Ok(None)
        );
    }

    #[test]
    fn decrypt_spelling_is_stored_as_deencrypt() {
        let body = VALID.replace("WORKER_INIT", "WORKER_DECRYPT");
        assert_eq!(
            build(None, FORM, &body).map(|entry| entry.stage),
            Ok(Stage::Deencrypt)
        );
    }

    #[test]
    fn misspelt_parameter_is_unknown() {
        let body = format!("{VALID}&mesage=hello");
        assert_eq!(
            build(None, FORM, &body),
            Err(ParamError::Unknown("mesage".into()))
        );
    }

    #[test]
    fn repeat_across_query_and_body_is_rejected() {
        let result = build(Some("stage=WORKER_INIT"), FORM, VALID);
        assert_eq!(result, Err(ParamError::Repeated("stage".into())));
    }

    #[test]
    fn repeat_in_json_is_rejected() {
        let body = r#"{"timestamp":"2026-12-04","stage":"WORKER_END","stage":"WORKER_END","status":"FAIL"}"#;
        assert_eq!(
            build(None, JSON, body),
            Err(ParamError::Repeated("stage".into()))
        );
    }

    #[test]
    fn missing_parameters_are_all_named() {
        assert_eq!(
            build(None, FORM, "stage=WORKER_INIT"),
            Err(ParamError::Missing(vec!["timestamp", "status"]))
        );
    }

    #[test]
    fn missing_parameter_names_values() {
        let error = ParamError::Missing(vec!["status"]);
        assert_eq!(
            error.to_string(),
            "Missing required parameter status; status is one of SUCCESS, WARNING, FAIL, FATAL."
        );
    }

    #[test]
    fn missing_parameters_name_each_form() {
        let error = ParamError::Missing(vec!["timestamp", "stage"]);
        assert_eq!(
            error.to_string(),
            "Missing required parameters timestamp, stage; timestamp is a time such as \
             2026-12-04T14:57:54+01:00 from date -Iseconds; stage is one of WORKER_INIT, \
             WORKER_DECOMPRESS, WORKER_DEENCRYPT, WORKER_LOAD, WORKER_END."
        );
    }

    #[test]
    fn semicolon_separators_are_named() {
        let body = VALID.replace('&', ";");
        let message = build(None, FORM, &body).expect_err("one value").to_string();
        assert_eq!(
            message,
            "Missing required parameters stage, status; the value of timestamp contains \
             \";stage=\", so separate the parameters with & instead of ;."
        );
    }

    #[test]
    fn semicolon_in_status_is_named() {
        let body = format!("{VALID};message=done");
        let message = build(None, FORM, &body)
            .expect_err("bad status")
            .to_string();
        assert_eq!(
            message,
            "Invalid status \"SUCCESS;message=done\": it contains \";message=\", so separate \
             the parameters with & instead of ;."
        );
    }

    #[test]
    fn semicolon_in_stage_is_named() {
        let body = "stage=WORKER_INIT;status=SUCCESS&status=FAIL&timestamp=2026-12-04";
        let error = build(None, FORM, body).expect_err("bad stage");
        assert!(
            matches!(
                error,
                ParamError::WrongSeparatorInValue { name: "stage", .. }
            ),
            "{error:?}"
        );
    }

    #[test]
    fn semicolon_in_timestamp_is_named() {
        let body = "stage=WORKER_INIT&status=SUCCESS&timestamp=2026-12-04;message=x";
        let error = build(None, FORM, body).expect_err("bad timestamp");
        assert!(
            matches!(
                error,
                ParamError::WrongSeparatorInValue {
                    next: "message",
                    ..
                }
            ),
            "{error:?}"
        );
    }

    #[test]
    fn semicolon_in_message_is_stored() {
        let body = format!("{VALID}&message=a;status=b");
        assert_eq!(
            build(None, FORM, &body).map(|entry| entry.message),
            Ok(Some("a;status=b".into()))
        );
    }

    #[test]
    fn space_separators_are_named() {
        let body = "timestamp=1796392700 stage=WORKER_LOAD status=FAIL";
        let message = build(None, FORM, body).expect_err("one value").to_string();
        assert_eq!(
            message,
            "Missing required parameters stage, status; the value of timestamp contains \
             \" stage=\", so separate the parameters with & instead of a space or +."
        );
    }

    #[test]
    fn plus_separators_are_named() {
        let body = "timestamp=1796392700+stage=WORKER_LOAD+status=FAIL";
        let error = build(None, FORM, body).expect_err("one value");
        assert!(
            matches!(
                error,
                ParamError::WrongSeparator {
                    separator: Separator::Space,
                    next: "stage",
                    ..
                }
            ),
            "{error:?}"
        );
    }

    #[test]
    fn space_before_missing_message_is_not_named() {
        // message is optional, so " message=" in a value explains nothing missing.
        let body = "timestamp=1796392700&stage=WORKER_LOAD message=x";
        let error = build(None, FORM, body).expect_err("status missing");
        assert_eq!(error, ParamError::Missing(vec!["status"]));
    }

    #[test]
    fn space_in_status_is_named() {
        let body = "timestamp=1796392700&stage=WORKER_LOAD&status=FAIL message=lock wait";
        let message = build(None, FORM, body).expect_err("bad status").to_string();
        assert_eq!(
            message,
            "Invalid status \"FAIL message=lock wait\": it contains \" message=\", so \
             separate the parameters with & instead of a space or +."
        );
    }

    #[test]
    fn space_in_timestamp_is_named() {
        let body = "stage=WORKER_INIT&status=SUCCESS&timestamp=2026-12-04 message=x";
        let error = build(None, FORM, body).expect_err("bad timestamp");
        assert!(
            matches!(
                error,
                ParamError::WrongSeparatorInValue {
                    name: "timestamp",
                    separator: Separator::Space,
                    ..
                }
            ),
            "{error:?}"
        );
    }

    #[test]
    fn space_in_message_is_stored() {
        let body = format!("{VALID}&message=a+status=b");
        assert_eq!(
            build(None, FORM, &body).map(|entry| entry.message),
            Ok(Some("a status=b".into()))
        );
    }

    #[test]
    fn missing_without_body_names_headers() {
        let error = ParamError::Missing(vec!["timestamp"])
            .for_request_without_body(NoBody::NoLengthHeaders);
        assert_eq!(
            error.to_string(),
            "Missing required parameter timestamp; the request has no body, because it has \
             neither a Content-Length nor a Transfer-Encoding header. Send the parameters in \
             the body with curl's -d or --data-urlencode, which also sends the Content-Length \
             header."
        );
    }

    #[test]
    fn missing_without_body_keeps_code() {
        let error =
            ParamError::Missing(vec!["status"]).for_request_without_body(NoBody::NoLengthHeaders);
        assert_eq!(error.code(), "missing_parameter");
    }

    #[test]
    fn request_without_body_keeps_other_errors() {
        let error =
            ParamError::Unknown("mesage".into()).for_request_without_body(NoBody::NoLengthHeaders);
        assert_eq!(error, ParamError::Unknown("mesage".into()));
    }

    #[test]
    fn lowercase_status_is_invalid() {
        let body = VALID.replace("SUCCESS", "success");
        assert_eq!(
            build(None, FORM, &body),
            Err(ParamError::InvalidStatus("success".into()))
        );
    }

    #[test]
    fn lowercase_stage_names_upper_case() {
        let body = VALID.replace("WORKER_INIT", "worker_load");
        let message = build(None, FORM, &body)
            .expect_err("invalid stage")
            .to_string();
        assert_eq!(
            message,
            "Invalid stage \"worker_load\": stages are upper case, so send WORKER_LOAD."
        );
    }

    #[test]
    fn lowercase_decrypt_names_its_spelling() {
        let body = VALID.replace("WORKER_INIT", "Worker_Decrypt");
        let message = build(None, FORM, &body)
            .expect_err("invalid stage")
            .to_string();
        assert!(message.ends_with("so send WORKER_DECRYPT."), "{message}");
    }

    #[test]
    fn lowercase_status_names_upper_case() {
        let body = VALID.replace("SUCCESS", "fail");
        let message = build(None, FORM, &body)
            .expect_err("invalid status")
            .to_string();
        assert_eq!(
            message,
            "Invalid status \"fail\": statuses are upper case, so send FAIL."
        );
    }

    #[test]
    fn lowercase_status_with_newline_names_both() {
        let body = VALID.replace("SUCCESS", "fail%0A");
        let message = build(None, FORM, &body)
            .expect_err("invalid status")
            .to_string();
        assert_eq!(
            message,
            "Invalid status \"fail\\n\": it starts or ends with whitespace, so remove it, \
             such as the newline that ends a file sent with curl --data-binary; statuses are \
             upper case, so send FAIL."
        );
    }

    #[test]
    fn uppercase_parameter_name_names_lower_case() {
        let body = VALID.replace("stage=", "STAGE=");
        let message = build(None, FORM, &body)
            .expect_err("unknown parameter")
            .to_string();
        assert_eq!(
            message,
            "Unknown parameter \"STAGE\": parameter names are lower case, so send stage."
        );
    }

    #[test]
    fn capitalized_json_key_names_lower_case() {
        let body = r#"{"Timestamp":"2026-12-04","stage":"WORKER_END","status":"FAIL"}"#;
        assert_eq!(
            build(None, JSON, body),
            Err(ParamError::NameWrongCase {
                name: "Timestamp".into(),
                meant: "timestamp",
                also_sent: false,
            })
        );
    }

    #[test]
    fn wrong_case_beside_right_name() {
        let body = format!("Stage=WORKER_LOAD&{VALID}");
        let message = build(None, FORM, &body)
            .expect_err("two stages")
            .to_string();
        assert_eq!(
            message,
            "Unknown parameter \"Stage\": parameter names are lower case, and stage is sent \
             as well, so leave \"Stage\" out."
        );
    }

    #[test]
    fn wrong_case_after_right_name() {
        let body = format!("{VALID}&STATUS=FAIL");
        let error = build(None, FORM, &body).expect_err("two statuses");
        assert!(
            matches!(
                error,
                ParamError::NameWrongCase {
                    also_sent: true,
                    ..
                }
            ),
            "{error:?}"
        );
    }

    #[test]
    fn wrong_case_name_keeps_unknown_code() {
        let body = VALID.replace("status=", "Status=");
        assert_eq!(
            build(None, FORM, &body).map_err(|e| e.code()),
            Err("unknown_parameter")
        );
    }

    #[test]
    fn invalid_stage_message_lists_stages() {
        let body = VALID.replace("WORKER_INIT", "INIT");
        let message = build(None, FORM, &body)
            .expect_err("invalid stage")
            .to_string();
        assert!(message.contains("WORKER_DEENCRYPT"), "{message}");
    }

    #[test]
    fn status_with_newline_names_whitespace() {
        let body = VALID.replace("SUCCESS", "SUCCESS%0A");
        let message = build(None, FORM, &body)
            .expect_err("invalid status")
            .to_string();
        assert_eq!(
            message,
            "Invalid status \"SUCCESS\\n\": it starts or ends with whitespace, so remove it, \
             such as the newline that ends a file sent with curl --data-binary; use one of \
             SUCCESS, WARNING, FAIL, FATAL."
        );
    }

    #[test]
    fn status_with_crlf_names_both_characters() {
        let body = VALID.replace("SUCCESS", "SUCCESS%0D%0A");
        let message = build(None, FORM, &body)
            .expect_err("invalid status")
            .to_string();
        assert!(
            message.contains("remove both, as tr -d '\\r\\n' does"),
            "{message}"
        );
    }

    #[test]
    fn status_with_carriage_return_names_crlf() {
        let body = VALID.replace("SUCCESS", "SUCCESS%0D");
        let message = build(None, FORM, &body)
            .expect_err("invalid status")
            .to_string();
        assert!(
            message.starts_with(
                "Invalid status \"SUCCESS\\r\": it ends with a carriage return (\\r), which a \
                 file or script with Windows (CRLF) line ends leaves"
            ),
            "{message}"
        );
    }

    #[test]
    fn stage_with_space_names_whitespace() {
        let body = VALID.replace("WORKER_INIT", "%20WORKER_INIT");
        let message = build(None, FORM, &body)
            .expect_err("invalid stage")
            .to_string();
        assert!(
            message.contains("starts or ends with whitespace"),
            "{message}"
        );
    }

    #[test]
    fn stage_without_whitespace_has_no_note() {
        let body = VALID.replace("WORKER_INIT", "INIT");
        let message = build(None, FORM, &body)
            .expect_err("invalid stage")
            .to_string();
        assert!(!message.contains("whitespace"), "{message}");
    }

    #[test]
    fn message_of_1024_bytes_is_accepted() {
        let body = format!("{VALID}&message={}", "x".repeat(1024));
        assert!(build(None, FORM, &body).is_ok());
    }

    #[test]
    fn message_of_1025_bytes_is_rejected() {
        let body = format!("{VALID}&message={}", "x".repeat(1025));
        assert_eq!(
            build(None, FORM, &body),
            Err(ParamError::MessageTooLong(1025))
        );
    }

    #[test]
    fn message_length_counts_bytes_not_chars() {
        let body = format!("{VALID}&message={}", "%C3%A9".repeat(513));
        assert_eq!(
            build(None, FORM, &body),
            Err(ParamError::MessageTooLong(1026))
        );
    }

    #[test]
    fn multipart_is_unsupported() {
        let content_type: Option<&[u8]> = Some(b"multipart/form-data; boundary=x");
        assert_eq!(
            build(None, content_type, "x").map_err(|e| e.code()),
            Err("unsupported_content_type")
        );
    }

    #[test]
    fn media_type_is_case_insensitive() {
        assert_eq!(
            body_kind(Some(b"Application/JSON; Charset=\"UTF-8\"")),
            Ok(BodyKind::Json)
        );
    }

    #[test]
    fn latin1_charset_is_rejected() {
        assert_eq!(
            body_kind(Some(
                b"application/x-www-form-urlencoded; charset=iso-8859-1"
            )),
            Err(ParamError::UnsupportedCharset("iso-8859-1".into()))
        );
    }

    #[test]
    fn form_with_byte_order_mark_is_explained() {
        let body = format!("\u{feff}{VALID}");
        assert_eq!(build(None, None, &body), Err(ParamError::FormByteOrderMark));
    }

    #[test]
    fn json_sent_as_form_is_explained() {
        let body = r#"{"timestamp":"2026-12-04"}"#;
        assert_eq!(build(None, None, body), Err(ParamError::JsonSentAsForm));
    }

    #[test]
    fn form_sent_as_json_is_explained() {
        let error = build(None, JSON, VALID).expect_err("not JSON");
        assert!(matches!(error, ParamError::FormSentAsJson(_)), "{error:?}");
    }

    #[test]
    fn broken_json_is_not_form() {
        for body in [r#"{"timestamp": "#, "timestamp", "a b=c", "=x"] {
            let error = build(None, JSON, body).expect_err("not JSON");
            assert!(
                matches!(error, ParamError::MalformedJson(_)),
                "{body}: {error:?}"
            );
        }
    }

    #[test]
    fn json_array_is_not_object() {
        assert_eq!(build(None, JSON, "[]"), Err(ParamError::JsonNotObject));
    }

    #[test]
    fn bad_transaction_id_is_rejected_first() {
        let parameters = collect_parameters(None, FORM, b"").expect("empty body");
        let result = build_entry("a b", parameters, SERVER_UTC, "worker");
        assert_eq!(result.map_err(|e| e.code()), Err("invalid_transaction_id"));
    }

    #[test]
    fn unencoded_plus_offset_is_explained() {
        let body = "timestamp=2026-12-04T14:57:54+01:00&stage=WORKER_INIT&status=SUCCESS";
        let result = build(None, FORM, body);
        assert_eq!(
            result,
            Err(ParamError::TimestampPlusDecoded(
                "2026-12-04T14:57:54 01:00".into()
            ))
        );
    }

    #[test]
    fn unencoded_plus_in_other_forms_is_explained() {
        for timestamp in [
            "2026-12-04T14:57:54.123+01:00[Europe/Berlin]",
            "2026-12-04 14:57:54.123 +0100 CET",
            "Fri, 04 Dec 2026 14:57:54 +01:00",
        ] {
            let body = format!("timestamp={timestamp}&stage=WORKER_INIT&status=SUCCESS");
            let decoded = timestamp.replace('+', " ");
            assert_eq!(
                build(None, FORM, &body),
                Err(ParamError::TimestampPlusDecoded(decoded)),
                "{timestamp}"
            );
        }
    }

    #[test]
    fn unencoded_plus_in_query_is_explained() {
        let query = "timestamp=2026-12-04T14:57:54+01:00&stage=WORKER_INIT&status=SUCCESS";
        let message = build(Some(query), FORM, "").unwrap_err().to_string();
        assert!(
            message.contains("+ means a space in form data and query strings"),
            "{message}"
        );
    }

    #[test]
    fn non_ascii_timestamp_is_echoed_escaped() {
        let body = "timestamp=2026-12-04T14:57:54%E2%88%9205:00&stage=WORKER_INIT&status=SUCCESS";
        let message = build(None, FORM, body).unwrap_err().to_string();
        assert!(
            message.starts_with("Invalid timestamp \"2026-12-04T14:57:54\\u{2212}05:00\": "),
            "{message}"
        );
    }

    const GAP_BODY: &str = "timestamp=2026-03-08+02:30:00&stage=WORKER_INIT&status=SUCCESS";

    #[test]
    fn skipped_local_time_names_user_zone() {
        let parameters = collect_parameters(None, FORM, GAP_BODY.as_bytes()).expect("form");
        let zone = LocalZone::for_user(Some(chrono_tz::America::New_York), Tz::UTC);
        let message = build_entry("tx-1", parameters, zone, "worker-eu1")
            .unwrap_err()
            .to_string();
        assert!(
            message.ends_with(
                "; America/New_York is the time zone of user worker-eu1, set with \
                 translog user set-timezone."
            ),
            "{message}"
        );
    }

    #[test]
    fn skipped_local_time_names_server_zone() {
        let parameters = collect_parameters(None, FORM, GAP_BODY.as_bytes()).expect("form");
        let zone = LocalZone::for_user(None, chrono_tz::America::New_York);
        let message = build_entry("tx-1", parameters, zone, "worker-eu1")
            .unwrap_err()
            .to_string();
        assert!(
            message.ends_with(
                "; America/New_York is the server's --timezone, because user worker-eu1 has \
                 no time zone of its own, which translog user set-timezone sets."
            ),
            "{message}"
        );
    }

    #[test]
    fn long_timestamp_is_not_repaired() {
        let text = format!("2026-12-04T14:57:54{}x", " 1".repeat(60));
        assert!(!plus_became_space(&text, Tz::UTC));
    }

    #[test]
    fn plus_between_date_and_time_is_space() {
        let body = "timestamp=2026-12-04+14:57:54&stage=WORKER_INIT&status=SUCCESS";
        assert!(build(None, FORM, body).is_ok());
    }

    #[test]
    fn unexpanded_timestamp_names_shell() {
        let body = "timestamp=%24%28date%20-Iseconds%29&stage=WORKER_INIT&status=SUCCESS";
        let error = build(None, FORM, body).expect_err("not a timestamp");
        assert_eq!(
            error,
            ParamError::UnexpandedShell {
                name: "timestamp",
                value: "$(date -Iseconds)".into(),
                syntax: ShellSyntax::CommandSubstitution,
                json: false,
            }
        );
    }

    #[test]
    fn backquotes_come_before_bad_escape() {
        let body = "timestamp=`date +%s`&stage=WORKER_INIT&status=SUCCESS";
        let error = build(None, FORM, body).expect_err("not decodable");
        assert!(
            matches!(
                error,
                ParamError::UnexpandedShell {
                    syntax: ShellSyntax::Backquotes,
                    ..
                }
            ),
            "{error:?}"
        );
    }

    #[test]
    fn bad_escape_in_message_keeps_its_error() {
        let body = format!("{VALID}&message=`du`%zz");
        let error = build(None, FORM, &body).expect_err("not decodable");
        assert!(matches!(error, ParamError::BadEncoding { .. }), "{error:?}");
    }

    #[test]
    fn unexpanded_json_value_is_marked_json() {
        let body = r#"{"timestamp":"2026-12-04","stage":"$STAGE","status":"SUCCESS"}"#;
        let error = build(None, JSON, body).expect_err("not a stage");
        assert!(
            matches!(error, ParamError::UnexpandedShell { json: true, .. }),
            "{error:?}"
        );
    }

    #[test]
    fn unexpanded_value_with_quote_gets_example() {
        let body = "timestamp=%22$TS%22&stage=WORKER_INIT&status=SUCCESS";
        let message = build(None, FORM, body).expect_err("quoted").to_string();
        assert!(
            message.ends_with("as in --data-urlencode \"timestamp=$(date -Ins)\"."),
            "{message}"
        );
    }

    #[test]
    fn dollar_in_message_is_kept() {
        let body = format!("{VALID}&message=$HOME%20is%20full");
        assert_eq!(
            build(None, FORM, &body).map(|entry| entry.message),
            Ok(Some("$HOME is full".into()))
        );
    }

    #[test]
    fn empty_status_names_variable() {
        let body = VALID.replace("status=SUCCESS", "status=");
        let message = build(None, FORM, &body).expect_err("empty").to_string();
        assert_eq!(
            message,
            "Invalid status \"\": it is empty, because the variable or command that supplies it \
             gave nothing, so check it, and use one of SUCCESS, WARNING, FAIL, FATAL."
        );
    }

    #[test]
    fn name_with_leading_space_is_named() {
        let body = VALID.replace("timestamp=", "%20timestamp=");
        let message = build(None, FORM, &body).expect_err("unknown").to_string();
        assert_eq!(
            message,
            "Unknown parameter \" timestamp\": remove the space before timestamp."
        );
    }

    #[test]
    fn name_with_tab_and_case_is_named() {
        let body = VALID.replace("status=", "Status%09=");
        let message = build(None, FORM, &body).expect_err("unknown").to_string();
        assert_eq!(
            message,
            "Unknown parameter \"Status\\t\": remove the tab after it, and write it in lower \
             case, status."
        );
    }

    #[test]
    fn name_with_spaces_around_is_named() {
        let body = VALID.replace("stage=", "+stage+=");
        let message = build(None, FORM, &body).expect_err("unknown").to_string();
        assert_eq!(
            message,
            "Unknown parameter \" stage \": remove the spaces around stage."
        );
    }

    #[test]
    fn name_with_space_beside_name_is_left_out() {
        let body = format!("{VALID}&+stage=WORKER_LOAD");
        let message = build(None, FORM, &body).expect_err("unknown").to_string();
        assert_eq!(
            message,
            "Unknown parameter \" stage\": it is stage with whitespace, and stage is sent as \
             well, so leave \" stage\" out."
        );
    }

    #[test]
    fn long_values_are_cut_in_messages() {
        let body = VALID.replace("WORKER_INIT", &"A".repeat(500));
        let message = build(None, FORM, &body)
            .expect_err("invalid stage")
            .to_string();
        assert!(message.len() < 300, "{message}");
    }
}
