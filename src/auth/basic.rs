//! Parsing of the `Authorization: Basic` header (RFC 7617) with UTF-8
//! credentials. The password is everything after the first colon.

use base64::Engine as _;

use super::password::Password;

/// A user name and password from a request.
pub struct Credentials {
    pub user: String,
    pub password: Password,
}

impl Credentials {
    /// Returns which parts of the credentials are empty.
    pub fn empty_parts(&self) -> EmptyParts {
        match (self.user.is_empty(), self.password.expose().is_empty()) {
            (false, false) => EmptyParts::None,
            (true, false) => EmptyParts::UserName,
            (false, true) => EmptyParts::Password,
            (true, true) => EmptyParts::Both,
        }
    }

    /// Returns the whitespace that each part of the credentials starts or
    /// ends with.
    pub fn padding(&self) -> Padding {
        Padding {
            user_name: EdgeWhitespace::of(&self.user),
            password: EdgeWhitespace::of(self.password.expose()),
        }
    }
}

/// The whitespace that the parts of Basic credentials start or end with,
/// such as the carriage return that `$(cat FILE)` keeps from a file with
/// Windows line ends. A message may name it, because it depends only on what
/// the client sent and reveals nothing about the stored users.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Padding {
    pub user_name: Option<EdgeWhitespace>,
    pub password: Option<EdgeWhitespace>,
}

impl Padding {
    /// Returns true when neither part starts or ends with whitespace.
    pub fn is_none(&self) -> bool {
        self.user_name.is_none() && self.password.is_none()
    }
}

/// A whitespace character at the start or the end of a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EdgeWhitespace {
    pub character: char,
    pub at_end: bool,
}

impl EdgeWhitespace {
    /// Returns the whitespace at the end of `text`, else at its start. Of the
    /// whitespace at the end, a carriage return is named first, because it
    /// is the one that shows least.
    pub fn of(text: &str) -> Option<EdgeWhitespace> {
        let trailing = &text[text.trim_end().len()..];
        if let Some(last) = trailing.chars().last() {
            let character = if trailing.contains('\r') { '\r' } else { last };
            return Some(EdgeWhitespace {
                character,
                at_end: true,
            });
        }
        let first = text.chars().next().filter(|c| c.is_whitespace())?;
        Some(EdgeWhitespace {
            character: first,
            at_end: false,
        })
    }
}

/// The parts of Basic credentials that were sent empty, as `curl -u ""`
/// sends both. A message may name them, because they depend only on what the
/// client sent and tell nothing about the stored users.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmptyParts {
    None,
    UserName,
    Password,
    Both,
}

/// The reason an `Authorization` header was not usable. Each is a `401`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BasicError {
    Missing,
    NotBasic,
    /// The scheme is Basic, but a tab instead of a space separates it from
    /// the credentials.
    TabAfterScheme,
    /// The scheme is Basic, but no credentials follow it.
    EmptyBasic,
    /// The scheme is Basic, but the credentials contain bytes outside ASCII,
    /// which base64 text never contains.
    NotAscii,
    BadBase64,
    /// Valid base64 except that the `=` padding at its end is left out,
    /// as some encoders write it.
    MissingPadding,
    NotUtf8,
    NoColon,
    /// More than one `Authorization` header: which one counts is ambiguous.
    Repeated,
}

impl BasicError {
    /// Returns a short reason for the server log, without the credentials.
    pub fn reason(self) -> &'static str {
        match self {
            BasicError::Missing => "no credentials",
            BasicError::NotBasic => "authorization scheme is not Basic",
            BasicError::TabAfterScheme => "a tab, not a space, follows the Basic scheme",
            BasicError::EmptyBasic => "no credentials after the Basic scheme",
            BasicError::NotAscii => {
                "credentials after the Basic scheme contain bytes that are not ASCII"
            }
            BasicError::BadBase64 => "credentials are not valid base64",
            BasicError::MissingPadding => "credentials are base64 without its = padding",
            BasicError::NotUtf8 => "credentials are not UTF-8",
            BasicError::NoColon => "credentials have no colon between user and password",
            BasicError::Repeated => "more than one Authorization header",
        }
    }
}

/// The `Authorization` headers of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthorizationHeader<'a> {
    Missing,
    One(&'a [u8]),
    /// Two or more headers, so which credentials count is ambiguous.
    Repeated,
}

impl<'a> AuthorizationHeader<'a> {
    /// Classifies the values of all `Authorization` headers of a request.
    pub fn from_values(mut values: impl Iterator<Item = &'a [u8]>) -> Self {
        match (values.next(), values.next()) {
            (None, _) => AuthorizationHeader::Missing,
            (Some(value), None) => AuthorizationHeader::One(value),
            (Some(_), Some(_)) => AuthorizationHeader::Repeated,
        }
    }
}

/// Parses the value of an `Authorization` header, if there is one.
///
/// # Errors
///
/// Returns why the header is missing or malformed.
pub fn parse(header: Option<&[u8]>) -> Result<Credentials, BasicError> {
    // The header is read as bytes, so that a value that is not UTF-8 is still
    // judged by its scheme.
    let header = header.ok_or(BasicError::Missing)?.trim_ascii();
    if header.eq_ignore_ascii_case(b"basic") {
        return Err(BasicError::EmptyBasic);
    }
    // RFC 9110 section 11.4 separates the scheme from the credentials with
    // spaces only.
    let is_basic = header
        .get(..5)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case(b"basic"));
    if is_basic && header.get(5) == Some(&b'\t') {
        return Err(BasicError::TabAfterScheme);
    }
    let space = header
        .iter()
        .position(|byte| *byte == b' ')
        .ok_or(BasicError::NotBasic)?;
    let (scheme, token) = (&header[..space], header[space + 1..].trim_ascii());
    if !scheme.eq_ignore_ascii_case(b"basic") {
        return Err(BasicError::NotBasic);
    }
    if !token.is_ascii() {
        return Err(BasicError::NotAscii);
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(token)
        .map_err(|_| {
            let unpadded = token.trim_ascii_end().strip_suffix(b"=").unwrap_or(token);
            let decodes = base64::engine::general_purpose::STANDARD_NO_PAD
                .decode(unpadded)
                .is_ok();
            if token.len() % 4 != 0 && decodes {
                BasicError::MissingPadding
            } else {
                BasicError::BadBase64
            }
        })?;
    let decoded = String::from_utf8(decoded).map_err(|_| BasicError::NotUtf8)?;
    let (user, password) = decoded.split_once(':').ok_or(BasicError::NoColon)?;
    Ok(Credentials {
        user: user.to_string(),
        password: Password::new(password.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(user_password: &[u8]) -> Vec<u8> {
        let token = base64::engine::general_purpose::STANDARD.encode(user_password);
        format!("Basic {token}").into_bytes()
    }

    #[test]
    fn header_values_are_classified() {
        let none: [&[u8]; 0] = [];
        let one: [&[u8]; 1] = [b"Basic a"];
        let two: [&[u8]; 2] = [b"Basic a", b"Basic b"];
        assert_eq!(
            AuthorizationHeader::from_values(none.into_iter()),
            AuthorizationHeader::Missing
        );
        assert_eq!(
            AuthorizationHeader::from_values(one.into_iter()),
            AuthorizationHeader::One(b"Basic a")
        );
        assert_eq!(
            AuthorizationHeader::from_values(two.into_iter()),
            AuthorizationHeader::Repeated
        );
    }

    #[test]
    fn user_and_password_split_at_first_colon() {
        let credentials = parse(Some(&header(b"worker:pa:ss"))).expect("valid header");
        assert_eq!(credentials.user, "worker");
        assert_eq!(credentials.password.expose(), "pa:ss");
    }

    #[test]
    fn scheme_is_case_insensitive() {
        let token = base64::engine::general_purpose::STANDARD.encode(b"a:b");
        assert!(parse(Some(format!("bAsIc {token}").as_bytes())).is_ok());
    }

    #[test]
    fn empty_password_is_parsed() {
        let credentials = parse(Some(&header(b"a:"))).expect("valid header");
        assert_eq!(credentials.password.expose(), "");
    }

    #[test]
    fn empty_parts_are_named() {
        let cases: [(&[u8], EmptyParts); 4] = [
            (b"worker:secret", EmptyParts::None),
            (b":secret", EmptyParts::UserName),
            (b"worker:", EmptyParts::Password),
            (b":", EmptyParts::Both),
        ];
        for (user_password, expected) in cases {
            let credentials = parse(Some(&header(user_password))).expect("valid header");
            assert_eq!(
                credentials.empty_parts(),
                expected,
                "{}",
                String::from_utf8_lossy(user_password)
            );
        }
    }

    #[test]
    fn carriage_return_after_password_is_found() {
        let credentials = parse(Some(&header(b"worker:secret\r"))).expect("valid header");
        let expected = Padding {
            user_name: None,
            password: Some(EdgeWhitespace {
                character: '\r',
                at_end: true,
            }),
        };
        assert_eq!(credentials.padding(), expected);
    }

    #[test]
    fn carriage_return_before_newline_is_named() {
        let padding = EdgeWhitespace::of("secret\r\n");
        assert_eq!(padding.map(|found| found.character), Some('\r'));
    }

    #[test]
    fn space_before_user_name_is_found() {
        let credentials = parse(Some(&header(b" worker:secret"))).expect("valid header");
        let expected = Some(EdgeWhitespace {
            character: ' ',
            at_end: false,
        });
        assert_eq!(credentials.padding().user_name, expected);
    }

    #[test]
    fn plain_credentials_have_no_padding() {
        let credentials = parse(Some(&header(b"worker:sec ret"))).expect("valid header");
        assert!(credentials.padding().is_none());
    }

    #[test]
    fn utf8_password_is_parsed() {
        let credentials = parse(Some(&header("a:p\u{e4}ss".as_bytes()))).expect("valid header");
        assert_eq!(credentials.password.expose(), "p\u{e4}ss");
    }

    #[test]
    fn missing_header_is_missing() {
        assert_eq!(parse(None).err(), Some(BasicError::Missing));
    }

    #[test]
    fn bearer_scheme_is_not_basic() {
        assert_eq!(parse(Some(b"Bearer abc")).err(), Some(BasicError::NotBasic));
    }

    #[test]
    fn tab_after_basic_is_named() {
        assert_eq!(
            parse(Some(b"Basic\tYTpi")).err(),
            Some(BasicError::TabAfterScheme)
        );
    }

    #[test]
    fn basic_without_token_is_empty() {
        assert_eq!(parse(Some(b"Basic")).err(), Some(BasicError::EmptyBasic));
    }

    #[test]
    fn basic_with_spaces_only_is_empty() {
        assert_eq!(parse(Some(b"Basic   ")).err(), Some(BasicError::EmptyBasic));
    }

    #[test]
    fn other_scheme_without_token_is_not_basic() {
        assert_eq!(parse(Some(b"Bearer")).err(), Some(BasicError::NotBasic));
    }

    #[test]
    fn bad_base64_is_rejected() {
        assert_eq!(parse(Some(b"Basic !!!")).err(), Some(BasicError::BadBase64));
    }

    #[test]
    fn base64_without_one_of_two_pads_is_named() {
        // "a:bc" is YTpiYw== with its padding.
        assert_eq!(
            parse(Some(b"Basic YTpiYw=")).err(),
            Some(BasicError::MissingPadding)
        );
    }

    #[test]
    fn unpadded_base64_is_named() {
        // "a:bc" is YTpiYw== with its padding.
        assert_eq!(
            parse(Some(b"Basic YTpiYw")).err(),
            Some(BasicError::MissingPadding)
        );
    }

    #[test]
    fn latin1_credentials_are_rejected() {
        assert_eq!(
            parse(Some(&header(b"a:p\xe4ss"))).err(),
            Some(BasicError::NotUtf8)
        );
    }

    #[test]
    fn missing_colon_is_rejected() {
        assert_eq!(
            parse(Some(&header(b"worker"))).err(),
            Some(BasicError::NoColon)
        );
    }

    #[test]
    fn non_ascii_token_is_not_ascii() {
        assert_eq!(
            parse(Some(b"Basic \xff\xfe")).err(),
            Some(BasicError::NotAscii)
        );
    }

    #[test]
    fn non_ascii_scheme_is_not_basic() {
        assert_eq!(
            parse(Some(b"B\xe4sic abc")).err(),
            Some(BasicError::NotBasic)
        );
    }
}
