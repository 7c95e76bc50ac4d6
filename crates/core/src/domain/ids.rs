//! Newtypes for identifiers and amounts. Each is built once, where a value
//! enters the system, and is valid for the rest of its life.

use std::fmt;

/// Why a value could not be parsed; the caller adds the parameter name.
pub type ParseError = String;

macro_rules! string_newtype {
    ($name:ident) => {
        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

/// A phone number in E.164 form: 7 to 15 digits without `+`, no leading zero.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct E164(String);
string_newtype!(E164);

impl E164 {
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let s = s.strip_prefix('+').unwrap_or(s);
        if !(7..=15).contains(&s.len()) || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err("must be 7 to 15 digits".into());
        }
        if s.starts_with('0') {
            return Err("must start with a country code, not 0".into());
        }
        Ok(Self(s.to_owned()))
    }
}

/// A 10-digit account number.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct AccountNumber(String);
string_newtype!(AccountNumber);

impl AccountNumber {
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        if s.len() != 10 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err("must be 10 digits".into());
        }
        Ok(Self(s.to_owned()))
    }
}

/// An area id: 1 to 64 visible characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct AreaId(String);
string_newtype!(AreaId);

impl AreaId {
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let n = s.chars().count();
        if n == 0 || n > 64 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("must be 1 to 64 visible characters".into());
        }
        Ok(Self(s.to_owned()))
    }
}

/// An ISO 3166 alpha-2 country code, stored upper case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct CountryId(String);
string_newtype!(CountryId);

impl CountryId {
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        if s.len() != 2 || !s.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err("must be a two-letter ISO country code".into());
        }
        Ok(Self(s.to_ascii_uppercase()))
    }
}

/// A rate plan id such as `SU`: 1 to 32 letters, digits, `-` or `_`,
/// matched case-insensitively and stored upper case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct RatePlanId(String);
string_newtype!(RatePlanId);

impl RatePlanId {
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        if s.is_empty()
            || s.len() > 32
            || !s
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err("must be 1 to 32 letters, digits, '-' or '_'".into());
        }
        Ok(Self(s.to_ascii_uppercase()))
    }

    /// The plan an order uses when none is named: Service Unlimited.
    pub fn default_plan() -> Self {
        Self("SU".into())
    }
}

/// A client-chosen idempotency key: 1 to 64 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct RequestId(String);
string_newtype!(RequestId);

impl RequestId {
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        if s.is_empty() || s.len() > 64 || !s.bytes().all(|b| b.is_ascii_graphic()) {
            return Err("must be 1 to 64 visible ASCII characters".into());
        }
        Ok(Self(s.to_owned()))
    }
}

/// A reservation token: `rsv_` and 16 lower-case hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct ReservationId(String);
string_newtype!(ReservationId);

impl ReservationId {
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let ok = s.strip_prefix("rsv_").is_some_and(|h| {
            h.len() == 16 && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        });
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err("must be a reservation id as DID.RESERVE returned it".into())
        }
    }

    /// A fresh random id.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 8];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
        Self(format!("rsv_{}", hex::encode(bytes)))
    }
}

/// The public half of an API key, safe to log and to show operators.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct KeyId(String);
string_newtype!(KeyId);

impl KeyId {
    /// Key ids are 16 lower-case hex digits.
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        if s.len() != 16 || !s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err("must be 16 lower-case hex digits".into());
        }
        Ok(Self(s.to_owned()))
    }
}

/// Money in integer hundredths of the account currency (`149` is 1.49).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct Money100(pub i64);

impl Money100 {
    /// Parses a non-negative integer amount of hundredths.
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        match s.parse::<i64>() {
            Ok(v) if v >= 0 && !s.starts_with('+') => Ok(Self(v)),
            _ => Err("must be a non-negative whole number of hundredths".into()),
        }
    }

    /// `1234` as `12.34`, the form Anveo clients read a balance in.
    pub fn to_decimal(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        format!("{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

impl fmt::Display for Money100 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The four kinds of number the catalog sells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum DidType {
    Geographic,
    National,
    TollFree,
    Mobile,
}

impl DidType {
    pub const ALL: [DidType; 4] = [
        Self::Geographic,
        Self::National,
        Self::TollFree,
        Self::Mobile,
    ];

    /// Matched case-insensitively, as every enumerated value of the contract.
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| "must be one of GEOGRAPHIC, NATIONAL, TOLLFREE, MOBILE".into())
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Geographic => "GEOGRAPHIC",
            Self::National => "NATIONAL",
            Self::TollFree => "TOLLFREE",
            Self::Mobile => "MOBILE",
        }
    }
}

impl fmt::Display for DidType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e164_accepts_plus_and_rejects_junk() {
        assert_eq!(E164::parse("+12121111111").unwrap().as_str(), "12121111111");
        for bad in ["", "123", "0123456789", "1212x111111", "1234567890123456"] {
            assert!(E164::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn account_number_is_ten_digits() {
        assert!(AccountNumber::parse("1234567890").is_ok());
        for bad in ["123456789", "12345678901", "12345678a0", "١٢٣٤٥٦٧٨٩٠"] {
            assert!(AccountNumber::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn money_formats_as_decimal() {
        assert_eq!(Money100(1234).to_decimal(), "12.34");
        assert_eq!(Money100(5).to_decimal(), "0.05");
        assert_eq!(Money100(0).to_decimal(), "0.00");
        assert!(Money100::parse("-1").is_err());
        assert!(Money100::parse("+1").is_err());
        assert!(Money100::parse("99999999999999999999").is_err());
    }

    #[test]
    fn did_type_is_case_insensitive() {
        assert_eq!(DidType::parse("geographic").unwrap(), DidType::Geographic);
        assert_eq!(DidType::parse("TollFree").unwrap(), DidType::TollFree);
        assert!(DidType::parse("LOCAL").is_err());
    }

    #[test]
    fn area_id_allows_dots_but_not_spaces() {
        assert!(AreaId::parse("123.123.123.123.123.123.123.123.123").is_ok());
        assert!(AreaId::parse("a b").is_err());
        assert!(AreaId::parse(&"x".repeat(65)).is_err());
    }

    #[test]
    fn ids_normalise_case() {
        assert_eq!(CountryId::parse("us").unwrap().as_str(), "US");
        assert_eq!(RatePlanId::parse("su").unwrap().as_str(), "SU");
        assert!(RequestId::parse("has space").is_err());
        assert!(KeyId::parse("0123456789abcdef").is_ok());
        assert!(KeyId::parse("0123456789ABCDEF").is_err());
    }
}
