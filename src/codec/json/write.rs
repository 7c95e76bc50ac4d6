//! Rendering replies in the JSON shapes of each method, and errors as
//! `{"error": {"code", "message"}}`.

use serde_json::{Map, Value, json};

use super::Method;
use crate::api::Codec;
use crate::domain::{Did, Payload, Reply, format_time};
use crate::error::ErrorCode;

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

    /// A reply's JSON shape depends on the method that asked for it.
    fn rendering(&self) -> &'static str {
        self.method.map_or("json", |m| m.name())
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
