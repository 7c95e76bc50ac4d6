//! Decoding JSON calls: each method is translated into one of the XML
//! actions with named parameters, so every business rule, transaction and
//! error code is the XML front's.

use serde_json::Value;

use crate::api::ApiRequest;
use crate::domain::{DidType, ReservationId};
use crate::error::{Error, ParamError};

/// The methods of the JSON front.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    ListCountry,
    ListArea,
    Reserve,
    OrderPay,
    Configure,
    ListAll,
    Return,
}

impl Method {
    const ALL: [Method; 7] = [
        Self::ListCountry,
        Self::ListArea,
        Self::Reserve,
        Self::OrderPay,
        Self::Configure,
        Self::ListAll,
        Self::Return,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::ListCountry => "did.zone.list_country",
            Self::ListArea => "did.zone.list_area",
            Self::Reserve => "did.reserve",
            Self::OrderPay => "did.order.pay",
            Self::Configure => "did.configure",
            Self::ListAll => "number.list_all",
            Self::Return => "number.return",
        }
    }

    /// How this method's parameters are called in the XML actions it is
    /// translated to, so an error can name the parameter the caller sent.
    pub(super) fn wire_names(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Self::ListArea => &[("COUNTRY_ID", "country_code"), ("DID_TYPE", "did_type")],
            Self::Reserve => &[
                ("AREA_ID", "area_code_id"),
                ("QUANTITY", "quantity"),
                ("DID_TYPE", "class"),
            ],
            Self::OrderPay => &[("RESERVATION_ID", "order_token")],
            Self::Configure => &[
                ("CALL_FORWARD_TO", "params"),
                ("FILTER.E164", "phone_number"),
            ],
            Self::Return => &[("E164", "phone_number")],
            Self::ListCountry | Self::ListAll => &[],
        }
    }

    /// The positional parameters, by name, for error messages.
    fn signature(self) -> &'static [&'static str] {
        match self {
            Self::ListCountry | Self::ListAll => &[],
            Self::ListArea => &["country_code", "did_type"],
            Self::Reserve => &["area_code_id", "quantity", "mode", "class"],
            Self::OrderPay => &["order_token"],
            Self::Configure => &["phone_number", "routing_params"],
            Self::Return => &["phone_number"],
        }
    }
}

/// The routing applications `did.configure` knows, and the forwarding
/// type and parameter each maps to.
const APPLICATIONS: [(&str, &str, &str); 2] = [
    ("call_phone_number", "PHONE", "number"),
    ("sip_uri", "SIP_URI", "uri"),
];

fn malformed(msg: &str) -> Error {
    Error::Malformed(msg.into())
}

fn invalid(name: &'static str, reason: impl Into<String>) -> Error {
    ParamError::Invalid {
        name,
        reason: reason.into(),
    }
    .into()
}

/// Why a call could not be decoded.
#[derive(Debug)]
pub enum Rejection {
    /// The body is not a call at all: answered at once, like a broken
    /// XML envelope.
    Malformed(Error),
    /// A well-formed call the server cannot run (unknown method, wrong
    /// parameters): answered only after the key is checked, as the XML
    /// front does, so an unauthenticated caller learns nothing from it.
    AfterAuth { key: Option<String>, error: Error },
}

/// Decodes a call into the equivalent XML action. `query` is the URL's
/// query string, which carries the key.
pub fn decode(body: &[u8], query: &str) -> Result<(ApiRequest, Method), Rejection> {
    let key = form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "apikey")
        .map(|(_, v)| v.trim().to_owned())
        .filter(|k| !k.is_empty());
    let (name, params) = envelope(body).map_err(Rejection::Malformed)?;
    call(key.clone(), &name, params).map_err(|error| Rejection::AfterAuth { key, error })
}

/// The method name and parameters of a call body.
fn envelope(body: &[u8]) -> Result<(String, Vec<Value>), Error> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        // serde_json's messages name positions, never the input itself.
        Error::Malformed(format!(
            "request body is not valid JSON ({})",
            e.classify_str()
        ))
    })?;
    let Value::Object(mut call) = value else {
        return Err(malformed(
            "request body must be a JSON object with method and params",
        ));
    };
    let name = match call.remove("method") {
        Some(Value::String(m)) => m,
        _ => return Err(malformed("method must be a string")),
    };
    let params = match call.remove("params") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(p)) => p,
        Some(_) => return Err(malformed("params must be an array")),
    };
    Ok((name, params))
}

fn call(
    key: Option<String>,
    name: &str,
    params: Vec<Value>,
) -> Result<(ApiRequest, Method), Error> {
    let method = Method::ALL
        .into_iter()
        .find(|m| m.name() == name)
        .ok_or_else(|| Error::unknown_action(name))?;
    let want = method.signature();
    if params.len() != want.len() {
        return Err(invalid(
            "params",
            format!(
                "of {} must be {} values: [{}]",
                method.name(),
                want.len(),
                want.join(", ")
            ),
        ));
    }
    let (action, named) = translate(method, params)?;
    Ok((
        ApiRequest {
            key,
            action: action.into(),
            params: named,
        },
        method,
    ))
}

trait ClassifyStr {
    fn classify_str(&self) -> &'static str;
}

impl ClassifyStr for serde_json::Error {
    fn classify_str(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "could not read it",
            serde_json::error::Category::Syntax => "syntax error",
            serde_json::error::Category::Data => "unexpected data",
            serde_json::error::Category::Eof => "it ends too early",
        }
    }
}

fn string(v: &Value, name: &'static str) -> Result<String, Error> {
    match v {
        Value::String(s) => Ok(s.trim().to_owned()),
        _ => Err(invalid(name, "must be a string")),
    }
}

/// A DID type, or null / empty for any.
fn did_type(v: &Value, name: &'static str) -> Result<String, Error> {
    if v.is_null() {
        return Ok(String::new());
    }
    let s = string(v, name)?;
    if !s.is_empty() {
        DidType::parse(&s).map_err(|reason| invalid(name, reason))?;
    }
    Ok(s)
}

/// A string that must not be empty: the XML action would read an empty
/// value as "not given" and name its own parameter in the error.
fn required(v: &Value, name: &'static str) -> Result<String, Error> {
    let s = string(v, name)?;
    if s.is_empty() {
        Err(ParamError::Missing(name).into())
    } else {
        Ok(s)
    }
}

/// A string, or a whole number given as a JSON number.
fn string_or_int(v: &Value, name: &'static str) -> Result<String, Error> {
    match v {
        Value::String(s) => Ok(s.trim().to_owned()),
        Value::Number(n) if n.is_u64() => Ok(n.to_string()),
        _ => Err(invalid(name, "must be a string or a whole number")),
    }
}

/// A phone number to act on: digits only, so it can never be a pattern.
fn phone(v: &Value, name: &'static str) -> Result<String, Error> {
    let s = string_or_int(v, name)?;
    if s.is_empty() {
        return Err(ParamError::Missing(name).into());
    }
    let digits = s.strip_prefix('+').unwrap_or(&s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(name, "must be a phone number in E.164 digits"));
    }
    Ok(digits.to_owned())
}

/// An XML action name and its named parameters.
type Translated = (&'static str, Vec<(String, String)>);

fn translate(method: Method, p: Vec<Value>) -> Result<Translated, Error> {
    let named = |pairs: &[(&str, String)]| {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.clone()))
            .collect()
    };
    Ok(match method {
        Method::ListCountry => ("ANVEO.COUNTRIES.LIST", Vec::new()),
        Method::ListAll => ("DID.LIST", Vec::new()),
        Method::ListArea => {
            let did_type = did_type(&p[1], "did_type")?;
            (
                "ANVEO.AREAS.LIST",
                named(&[
                    ("COUNTRY_ID", required(&p[0], "country_code")?),
                    ("DID_TYPE", did_type),
                ]),
            )
        }
        Method::Reserve => {
            let quantity = match &p[1] {
                Value::Number(n) if n.as_u64().is_some_and(|q| (1..=100).contains(&q)) => {
                    n.to_string()
                }
                _ => return Err(invalid("quantity", "must be a whole number from 1 to 100")),
            };
            let area = string_or_int(&p[0], "area_code_id")?;
            if area.is_empty() {
                return Err(ParamError::Missing("area_code_id").into());
            }
            let class = did_type(&p[3], "class")?;
            (
                "DID.RESERVE",
                named(&[
                    ("AREA_ID", area),
                    ("QUANTITY", quantity),
                    ("DID_TYPE", class),
                    ("RESERVATION_ID", "CURRENT".into()),
                ]),
            )
        }
        Method::OrderPay => {
            let token = required(&p[0], "order_token")?;
            ReservationId::parse(&token).map_err(|_| {
                invalid("order_token", "must be a token as did.reserve returned it")
            })?;
            ("DID.ORDER", named(&[("RESERVATION_ID", token)]))
        }
        Method::Return => (
            "DID.CANCEL",
            named(&[("E164", phone(&p[0], "phone_number")?)]),
        ),
        Method::Configure => {
            let number = phone(&p[0], "phone_number")?;
            let Value::Object(routing) = &p[1] else {
                return Err(invalid(
                    "routing_params",
                    "must be an object with application and params",
                ));
            };
            let application = routing
                .get("application")
                .map(|a| string(a, "application"))
                .transpose()?;
            let known = APPLICATIONS
                .iter()
                .map(|(n, _, _)| *n)
                .collect::<Vec<_>>()
                .join(", ");
            let Some((_, kind, field)) = APPLICATIONS
                .iter()
                .find(|(n, _, _)| Some(*n) == application.as_deref())
            else {
                return Err(invalid("application", format!("must be one of {known}")));
            };
            let target = match routing.get("params") {
                Some(Value::Object(params)) => params
                    .get(*field)
                    .map(|v| string_or_int(v, "params"))
                    .transpose()?,
                _ => None,
            }
            .ok_or_else(|| {
                invalid(
                    "params",
                    format!(
                        "of {} must be an object with {field}",
                        application.unwrap_or_default()
                    ),
                )
            })?;
            (
                "DID.UPDATE",
                named(&[
                    ("FILTER.E164", number),
                    ("CALL_FORWARD_TYPE", (*kind).into()),
                    ("CALL_FORWARD_TO", target),
                ]),
            )
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    fn call(body: &str) -> Result<(ApiRequest, Method), Error> {
        decode(body.as_bytes(), "apikey=K").map_err(|r| match r {
            Rejection::Malformed(e) => e,
            Rejection::AfterAuth { key, error } => {
                assert_eq!(
                    key.as_deref(),
                    Some("K"),
                    "the key travels with a deferred error"
                );
                error
            }
        })
    }

    #[test]
    fn translates_each_method() {
        let (r, m) =
            call(r#"{"method": "did.reserve", "params": [123, 2, "RANDOM", "GEOGRAPHIC"]}"#)
                .unwrap();
        assert_eq!(m, Method::Reserve);
        assert_eq!(r.key.as_deref(), Some("K"));
        assert_eq!(r.action, "DID.RESERVE");
        assert!(r.params.contains(&("AREA_ID".into(), "123".into())));
        assert!(
            r.params
                .contains(&("RESERVATION_ID".into(), "CURRENT".into()))
        );
        let (r, _) = call(
            r#"{"method": "did.configure", "params": ["1222222222", {"application": "sip_uri", "params": {"uri": "a@b.example"}}]}"#,
        )
        .unwrap();
        assert_eq!(r.action, "DID.UPDATE");
        assert!(
            r.params
                .contains(&("CALL_FORWARD_TYPE".into(), "SIP_URI".into()))
        );
    }

    #[test]
    fn refuses_bad_calls_with_the_contract_codes() {
        let code = |b: &str| call(b).err().map(|e| e.code());
        assert_eq!(code("{"), Some(ErrorCode::MalformedRequest));
        assert_eq!(code("[]"), Some(ErrorCode::MalformedRequest));
        assert_eq!(code(r#"{"method": 5}"#), Some(ErrorCode::MalformedRequest));
        assert_eq!(
            code(r#"{"method": "did.nope", "params": []}"#),
            Some(ErrorCode::UnknownAction)
        );
        assert_eq!(
            code(r#"{"method": "did.order.pay", "params": []}"#),
            Some(ErrorCode::InvalidParameter)
        );
        assert_eq!(
            code(r#"{"method": "did.reserve", "params": [1, "2", null, null]}"#),
            Some(ErrorCode::InvalidParameter)
        );
        assert_eq!(
            code(r#"{"method": "number.return", "params": ["12*"]}"#),
            Some(ErrorCode::InvalidParameter)
        );
        let e = call(r#"{"method": "did.configure", "params": ["1222222222", {"application": "fax", "params": {}}]}"#)
            .err()
            .unwrap();
        assert!(e.to_string().contains("call_phone_number, sip_uri"), "{e}");
    }
}
