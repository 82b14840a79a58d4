//! Time zone arguments: IANA names such as `Europe/Berlin`, as chrono-tz's
//! copy of the tz database spells them. Names are case-sensitive, so a name
//! in another letter case is rejected, and the error gives its spelling.

use chrono_tz::{Tz, TZ_VARIANTS};

/// Parses a `--timezone` that `TRANSLOG_TIMEZONE` may set and that defaults
/// to UTC.
pub fn parse_zone(text: &str) -> Result<Tz, String> {
    parse_zone_name(
        text,
        "leave out both --timezone and TRANSLOG_TIMEZONE for UTC",
        "",
    )
}

/// Parses the `--timezone` of `user add`. A user without a zone of its own
/// has its timestamps read in the server's zone.
pub fn parse_user_zone(text: &str) -> Result<Tz, String> {
    parse_zone_name(
        text,
        "leave out --timezone so that the server's --timezone applies to this user",
        "",
    )
}

/// Parses the zone of `user set-timezone`: an IANA name, or "none" for no
/// zone.
pub fn parse_zone_or_none(text: &str) -> Result<Option<Tz>, String> {
    if text == "none" {
        return Ok(None);
    }
    if text.eq_ignore_ascii_case("none") {
        return Err(format!(
            "unknown time zone {text:?}; write none in lower case to clear the zone"
        ));
    }
    parse_zone_name(
        text,
        "none to clear the user's zone",
        ", or none to clear the zone",
    )
    .map(Some)
}

/// Parses an IANA time zone name. For an empty `text` the error offers
/// `if_empty` as the other way out, and for an unknown name it lists
/// `other_values` after the form of a name.
fn parse_zone_name(text: &str, if_empty: &str, other_values: &str) -> Result<Tz, String> {
    if text.is_empty() {
        return Err(format!(
            "the time zone is empty; give an IANA name such as Europe/Berlin, or {if_empty}"
        ));
    }
    let trimmed = text.trim();
    if trimmed != text && trimmed.parse::<Tz>().is_ok() {
        return Err(format!(
            "unknown time zone {text:?}; it starts or ends with white space, so give {trimmed:?}"
        ));
    }
    text.parse::<Tz>()
        .map_err(|_| match zone_in_other_case(text) {
            Some(name) => format!(
                "unknown time zone {text:?}; time zone names are case-sensitive, so write {name:?}"
            ),
            None => format!(
                "unknown time zone {text:?}; use an IANA name such as Europe/Berlin or \
                 UTC{other_values}"
            ),
        })
}

/// Returns the name of the zone that `text` spells in another letter case.
/// No two of the 597 names in chrono-tz 0.10.4 differ only in case, so the
/// first match is the only one.
fn zone_in_other_case(text: &str) -> Option<&'static str> {
    TZ_VARIANTS
        .iter()
        .map(|zone| zone.name())
        .find(|name| name.eq_ignore_ascii_case(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zone_rejects_unknown_name() {
        assert!(parse_zone("Mars/Olympus").is_err());
    }

    #[test]
    fn zone_in_lower_case_is_found() {
        assert_eq!(zone_in_other_case("europe/berlin"), Some("Europe/Berlin"));
    }

    #[test]
    fn zone_in_upper_case_is_found() {
        assert_eq!(zone_in_other_case("UTC"), Some("UTC"));
    }

    #[test]
    fn zone_unknown_in_any_case_is_not_found() {
        assert_eq!(zone_in_other_case("mars/olympus"), None);
    }

    #[test]
    fn zone_in_lower_case_is_rejected() {
        assert!(parse_zone("utc").is_err());
    }

    #[test]
    fn zone_with_surrounding_space_names_it() {
        for text in ["Europe/Berlin ", " Europe/Berlin", "Europe/Berlin\r"] {
            let error = parse_zone(text).expect_err("white space");
            assert_eq!(
                error,
                format!(
                    "unknown time zone {text:?}; it starts or ends with white space, so give \
                     \"Europe/Berlin\""
                )
            );
        }
    }

    #[test]
    fn none_in_upper_case_is_rejected() {
        assert!(parse_zone_or_none("None").is_err());
    }
}
