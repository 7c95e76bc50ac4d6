//! Selecting and changing a caller's numbers (`DID.LIST`, `DID.UPDATE`).

use super::ids::ParseError;
use super::{DidStatus, DidType, Forwarding};

/// An E.164 pattern: digits, with `*` standing for any run of digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct E164Pattern(String);

impl E164Pattern {
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let s = s.strip_prefix('+').unwrap_or(s);
        if s.is_empty() || s.len() > 32 || !s.bytes().all(|b| b.is_ascii_digit() || b == b'*') {
            return Err("must be digits, with * for any run of digits".into());
        }
        Ok(Self(s.to_owned()))
    }

    /// Digits and `*` (any run of digits), without a leading `+`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The `FILTER.*` parameters; every given field must match exactly
/// (`e164` as a pattern).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct DidFilter {
    pub e164: Option<E164Pattern>,
    pub did_type: Option<DidType>,
    pub title: Option<String>,
    pub status: Option<DidStatus>,
    pub sms_url: Option<String>,
    pub sms_email: Option<String>,
    pub call_forward_type: Option<String>,
    pub call_forward_to: Option<String>,
}

impl DidFilter {
    pub fn is_empty(&self) -> bool {
        *self == DidFilter::default()
    }
}

/// How `DID.UPDATE` changes forwarding.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum ForwardChange {
    /// A new type and target, checked together.
    Set(Forwarding),
    /// `CALL_FORWARD_TYPE` given empty: no forwarding.
    Clear,
    /// Only `CALL_FORWARD_TO`: checked against each number's current type.
    Target(String),
}

/// The settings `DID.UPDATE` changes; `Some("")` clears a field.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct DidChanges {
    pub forwarding: Option<ForwardChange>,
    pub sms_url: Option<String>,
    pub sms_email: Option<String>,
    pub sms_phone: Option<String>,
    pub title: Option<String>,
}

impl DidChanges {
    pub fn is_empty(&self) -> bool {
        *self == DidChanges::default()
    }
}

/// `SMS_URL`: an http(s) URL without spaces, or empty.
pub fn parse_sms_url(s: &str) -> Result<String, ParseError> {
    let lower = s.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"));
    match rest {
        _ if s.is_empty() => Ok(String::new()),
        Some(rest)
            if !rest.is_empty()
                && !rest.starts_with('/')
                && s.len() <= 1024
                && s.chars().all(|c| c.is_ascii_graphic()) =>
        {
            Ok(s.to_owned())
        }
        _ => Err("must be an http:// or https:// URL".into()),
    }
}

/// `SMS_EMAIL`: `local@domain.tld`, or empty.
pub fn parse_email(s: &str) -> Result<String, ParseError> {
    if s.is_empty() {
        return Ok(String::new());
    }
    let ok = s.len() <= 254
        && s.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !local.contains('@')
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        })
        && s.chars().all(|c| c.is_ascii_graphic());
    if ok {
        Ok(s.to_owned())
    } else {
        Err("must be an e-mail address".into())
    }
}

/// `SMS_PHONE`: 7 to 15 digits, or empty.
pub fn parse_sms_phone(s: &str) -> Result<String, ParseError> {
    let s = s.strip_prefix('+').unwrap_or(s);
    if s.is_empty() || ((7..=15).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())) {
        Ok(s.to_owned())
    } else {
        Err("must be 7 to 15 digits".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_take_digits_and_stars() {
        assert_eq!(E164Pattern::parse("1212*").unwrap().as_str(), "1212*");
        assert_eq!(E164Pattern::parse("+*11").unwrap().as_str(), "*11");
        for bad in ["", "12?3", "12[0-9]", "abc"] {
            assert!(E164Pattern::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sms_fields_are_checked() {
        assert!(parse_sms_url("https://example.com/sms").is_ok());
        assert!(parse_sms_url("").is_ok());
        assert!(parse_sms_url("ftp://x").is_err());
        assert!(parse_sms_url("http://").is_err());
        assert!(parse_sms_url("http://a b").is_err());
        assert!(parse_email("ops@example.com").is_ok());
        assert!(parse_email("nobody").is_err());
        assert!(parse_email("a@b").is_err());
        assert!(parse_sms_phone("+12125550000").is_ok());
        assert!(parse_sms_phone("12-34").is_err());
    }
}
