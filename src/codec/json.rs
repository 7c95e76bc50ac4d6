//! The JSON front (seed 000): `POST /ws/apikey/call_function?apikey=KEY`
//! with `{"method": "...", "params": [...]}` (positional). Each method is
//! translated into one of the XML actions with named parameters, so every
//! business rule, transaction and error code is the XML front's; only the
//! shapes of requests and replies differ.

use serde_json::{Map, Value, json};

use crate::api::{ApiRequest, Codec};
use crate::domain::{Did, DidType, Payload, Reply, ReservationId, format_time};
use crate::error::{Error, ErrorCode, ParamError};

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
    fn wire_names(self) -> &'static [(&'static str, &'static str)] {
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

/// Renders replies in the shapes of one method.
pub struct JsonCodec {
    method: Option<Method>,
}

impl JsonCodec {
    /// `None` when the request could not be decoded: only errors are rendered.
    pub fn new(method: Option<Method>) -> Self {
        JsonCodec { method }
    }
}

fn did(d: &Did) -> Value {
    json!({
        "e164": d.e164,
        "did_type": d.did_type.as_str(),
        "status": d.status.as_str(),
        "country_name": d.country_name,
        "area_name": d.area_name,
        "area_code": d.area_code,
        "rate_plan_id": d.rate_plan_id,
        "monthly100": d.monthly.0,
        "setup100": d.setup.0,
        "title": d.title,
        "account_number": d.account_number,
        "order_date": d.order_date.map(format_time),
        "call_forward_type": d.forward_type,
        "call_forward_to": d.forward_to,
        "sms_url": d.sms_url,
        "sms_email": d.sms_email,
        "sms_phone": d.sms_phone,
    })
}

fn value<'a>(reply: &'a Reply, name: &str) -> Option<&'a str> {
    reply
        .values
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.as_str())
}

fn number(reply: &Reply, name: &str) -> Value {
    value(reply, name)
        .and_then(|v| v.parse::<i64>().ok())
        .map_or(Value::Null, Value::from)
}

impl Codec for JsonCodec {
    fn content_type(&self) -> &'static str {
        "application/json"
    }

    fn render(&self, reply: &Reply) -> Vec<u8> {
        let empty = Vec::new();
        let dids = match &reply.payload {
            Payload::Dids(d) => d,
            _ => &empty,
        };
        let mut result: Map<String, Value> = match (self.method, &reply.payload) {
            (Some(Method::ListCountry), Payload::Countries(list)) => {
                let list: Vec<Value> = list
                    .iter()
                    .map(|c| json!({"country_name": c.name, "code": c.id}))
                    .collect();
                [("country_list".to_owned(), Value::from(list))]
                    .into_iter()
                    .collect()
            }
            (Some(Method::ListArea), Payload::Areas(list)) => {
                let list: Vec<Value> = list
                    .iter()
                    .map(|a| {
                        let plans: Vec<Value> = a
                            .rate_plans
                            .iter()
                            .map(|p| json!({"id": p.id, "name": p.name, "monthly100": p.monthly.0, "setup100": p.setup.0}))
                            .collect();
                        json!({"id": a.id, "name": a.name, "prefix": a.area_code, "did_type": a.did_type.as_str(),
                               "stock": a.stock, "rate_plans": plans})
                    })
                    .collect();
                [("area_list".to_owned(), Value::from(list))]
                    .into_iter()
                    .collect()
            }
            (Some(Method::Reserve), Payload::Reservation { id, expires, dids }) => {
                let items: Vec<&str> = dids.iter().map(|d| d.e164.as_str()).collect();
                json!({"token": id, "expire": format_time(*expires), "items": items})
                    .as_object()
                    .cloned()
                    .unwrap_or_default()
            }
            (Some(Method::OrderPay), _) => {
                let numbers: Vec<&str> = dids.iter().map(|d| d.e164.as_str()).collect();
                json!({"paid": true, "order_id": number(reply, "ORDER_ID"), "charged100": number(reply, "CHARGED100"),
                       "numbers": numbers})
                .as_object()
                .cloned()
                .unwrap_or_default()
            }
            (Some(Method::ListAll), _) => {
                let list: Vec<Value> = dids.iter().map(did).collect();
                json!({"numbers": list, "total": number(reply, "TOTAL")})
                    .as_object()
                    .cloned()
                    .unwrap_or_default()
            }
            (Some(Method::Configure), _) => {
                let list: Vec<Value> = dids.iter().map(did).collect();
                json!({"configured": true, "numbers": list})
                    .as_object()
                    .cloned()
                    .unwrap_or_default()
            }
            (Some(Method::Return), _) => {
                let list: Vec<Value> = dids.iter().map(did).collect();
                json!({"returned": true, "numbers": list})
                    .as_object()
                    .cloned()
                    .unwrap_or_default()
            }
            _ => Map::new(),
        };
        if value(reply, "TEST") == Some("TRUE") {
            result.insert("test".into(), Value::Bool(true));
        }
        serde_json::to_vec(&json!({ "result": result })).unwrap_or_default()
    }

    fn render_error(&self, code: ErrorCode, message: &str) -> Vec<u8> {
        // Errors from the shared actions name their XML parameters
        // ("parameter DID_TYPE ..."); a JSON caller sent positional values
        // with the seed's names, so those are the names it must read.
        let mut message = message.to_owned();
        for (xml, wire) in self.method.map_or(&[][..], Method::wire_names) {
            message = message.replace(&format!("parameter {xml} "), &format!("parameter {wire} "));
        }
        serde_json::to_vec(&json!({"error": {"code": code.as_str(), "message": message}}))
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn errors_render_in_the_contract_shape() {
        let body = JsonCodec::new(None).render_error(ErrorCode::OutOfStock, "out of stock");
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            v,
            json!({"error": {"code": "OUT_OF_STOCK", "message": "out of stock"}})
        );
    }
}
