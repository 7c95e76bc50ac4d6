//! Reading one positional JSON value into a domain value. Each reader names
//! the JSON parameter in its errors; the ranges and forms are the domain
//! types' own, so their texts are too.

use didgate_core::domain::{DidType, Quantity};
use didgate_core::{Error, ParamError};
use serde_json::Value;

pub(crate) fn invalid(name: &'static str, reason: impl Into<String>) -> Error {
    ParamError::Invalid {
        name,
        reason: reason.into(),
    }
    .into()
}

pub(crate) fn missing(name: &'static str) -> Error {
    ParamError::Missing(name).into()
}

/// A JSON string, trimmed as every wire value is.
pub(crate) fn string(v: &Value, name: &'static str) -> Result<String, Error> {
    match v {
        Value::String(s) => Ok(s.trim().to_owned()),
        _ => Err(invalid(name, "must be a string")),
    }
}

/// A string that must not be empty: empty means "not given" throughout
/// the contract, hence `MISSING_PARAMETER`.
pub(crate) fn required(v: &Value, name: &'static str) -> Result<String, Error> {
    let s = string(v, name)?;
    if s.is_empty() {
        Err(missing(name))
    } else {
        Ok(s)
    }
}

/// A string, or a whole number given as a JSON number (area ids and phone
/// numbers are digits, and clients send them either way).
pub(crate) fn string_or_int(v: &Value, name: &'static str) -> Result<String, Error> {
    match v {
        Value::String(s) => Ok(s.trim().to_owned()),
        Value::Number(n) if n.is_u64() => Ok(n.to_string()),
        _ => Err(invalid(name, "must be a string or a whole number")),
    }
}

/// A DID type; `null` or an empty string means any type.
pub(crate) fn did_type(v: &Value, name: &'static str) -> Result<Option<DidType>, Error> {
    if v.is_null() {
        return Ok(None);
    }
    let s = string(v, name)?;
    if s.is_empty() {
        return Ok(None);
    }
    DidType::parse(&s)
        .map(Some)
        .map_err(|reason| invalid(name, reason))
}

/// A quantity: a JSON number only (the seed sends numbers, and a string
/// `"2"` was always refused).
pub(crate) fn quantity(v: &Value, name: &'static str) -> Result<Quantity, Error> {
    // Anything but a whole JSON number is out of every u32 range, so it
    // gets the type's own range text.
    let n = v.as_u64().unwrap_or(u64::MAX);
    Quantity::new(n).map_err(|reason| invalid(name, reason))
}

/// A phone number to act on, as digits without `+`: never a pattern, so a
/// `*` can never select more than the one number meant.
pub(crate) fn phone(v: &Value, name: &'static str) -> Result<String, Error> {
    let s = string_or_int(v, name)?;
    if s.is_empty() {
        return Err(missing(name));
    }
    let digits = s.strip_prefix('+').unwrap_or(&s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(name, "must be a phone number in E.164 digits"));
    }
    Ok(digits.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn text<T: std::fmt::Debug>(r: Result<T, Error>) -> String {
        r.unwrap_err().to_string()
    }

    #[test]
    fn strings_are_trimmed_and_typed() {
        assert_eq!(string(&json!("  a "), "x").unwrap(), "a");
        assert_eq!(text(string(&json!(1), "x")), "parameter x must be a string");
        assert_eq!(text(required(&json!(" "), "x")), "missing parameter x");
        assert_eq!(string_or_int(&json!(12345), "x").unwrap(), "12345");
        for bad in [json!(-1), json!(1.5), json!(null), json!([])] {
            assert_eq!(
                text(string_or_int(&bad, "x")),
                "parameter x must be a string or a whole number"
            );
        }
    }

    #[test]
    fn did_types_may_be_absent() {
        assert_eq!(did_type(&json!(null), "t").unwrap(), None);
        assert_eq!(did_type(&json!(""), "t").unwrap(), None);
        assert_eq!(
            did_type(&json!("mobile"), "t").unwrap(),
            Some(DidType::Mobile)
        );
        assert_eq!(
            text(did_type(&json!("LOCAL"), "t")),
            "parameter t must be one of GEOGRAPHIC, NATIONAL, TOLLFREE, MOBILE"
        );
        assert_eq!(
            text(did_type(&json!(5), "t")),
            "parameter t must be a string"
        );
    }

    #[test]
    fn quantities_are_whole_json_numbers_in_range() {
        assert_eq!(quantity(&json!(100), "q").unwrap().get(), 100);
        for bad in [
            json!(0),
            json!(101),
            json!(-1),
            json!(1.5),
            json!("2"),
            json!(null),
        ] {
            assert_eq!(
                text(quantity(&bad, "q")),
                "parameter q must be a whole number from 1 to 100",
                "{bad}"
            );
        }
    }

    #[test]
    fn phones_are_digits() {
        assert_eq!(phone(&json!("+12125550100"), "p").unwrap(), "12125550100");
        assert_eq!(phone(&json!(12125550100_u64), "p").unwrap(), "12125550100");
        assert_eq!(text(phone(&json!(""), "p")), "missing parameter p");
        for bad in [json!("12*"), json!("+"), json!("1 2")] {
            assert_eq!(
                text(phone(&bad, "p")),
                "parameter p must be a phone number in E.164 digits"
            );
        }
        assert_eq!(
            text(phone(&json!(true), "p")),
            "parameter p must be a string or a whole number"
        );
    }
}
