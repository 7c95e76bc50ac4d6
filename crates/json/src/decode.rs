//! Reading a call: the key from the query string, the envelope
//! `{"method": "...", "params": [...]}` from the body, and the typed
//! request the method and its parameters mean.
//!
//! Two kinds of refusal, in this order: a body that is not a call at all
//! is answered at once (`MALFORMED_REQUEST`, like a broken XML envelope);
//! a call the server cannot run (unknown method, wrong parameters) only
//! after the key is checked, so a caller without a valid key learns
//! nothing from it.

use didgate_core::Error;
use didgate_core::command::Request;
use serde_json::Value;

use crate::method::Method;

/// A call decoded into the request it means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// The `apikey` of the query string, trimmed; `None` when absent or empty.
    pub key: Option<String>,
    pub method: Method,
    pub request: Request,
}

/// Why a call could not be decoded.
#[derive(Debug)]
pub enum Rejection {
    /// The body is not a call at all: answered at once, without the key.
    Malformed(Error),
    /// A well-formed call the server cannot run: answered only after the
    /// key is checked, so the key travels with the error.
    AfterAuth { key: Option<String>, error: Error },
}

/// Decodes a call. `query` is the URL's query string, which carries the key.
pub fn decode(body: &[u8], query: &str) -> Result<Call, Rejection> {
    let key = api_key(query);
    let (name, params) = envelope(body).map_err(Rejection::Malformed)?;
    let decoded = Method::parse(&name)
        .ok_or_else(|| Error::unknown_action(&name))
        .and_then(|method| Ok((method, request(method, &params)?)));
    match decoded {
        Ok((method, request)) => Ok(Call {
            key,
            method,
            request,
        }),
        Err(error) => Err(Rejection::AfterAuth { key, error }),
    }
}

/// The first `apikey` of the query string, trimmed. Only that parameter is
/// a key: not another one, not one in the body.
pub(crate) fn api_key(query: &str) -> Option<String> {
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "apikey")
        .map(|(_, v)| v.trim().to_owned())
        .filter(|k| !k.is_empty())
}

/// The request a call of `method` with `params` means. The JSON front has
/// no `TEST` and no `REQUEST_ID`.
pub(crate) fn request(method: Method, params: &[Value]) -> Result<Request, Error> {
    crate::call::command(method, params).map(Request::new)
}

/// The method name and parameters of a call body. Other keys (a JSON-RPC
/// `id`, say) are ignored; `params` may be absent or `null` for none.
pub(crate) fn envelope(body: &[u8]) -> Result<(String, Vec<Value>), Error> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        // serde_json's messages name positions, never the input itself;
        // only the category is shown, so no payload is ever echoed.
        malformed(format!("request body is not valid JSON ({})", category(&e)))
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

fn malformed(message: impl Into<String>) -> Error {
    Error::Malformed(message.into())
}

fn category(e: &serde_json::Error) -> &'static str {
    match e.classify() {
        serde_json::error::Category::Io => "could not read it",
        serde_json::error::Category::Syntax => "syntax error",
        serde_json::error::Category::Data => "unexpected data",
        serde_json::error::Category::Eof => "it ends too early",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn malformed_text(body: &str) -> String {
        match decode(body.as_bytes(), "apikey=K") {
            Err(Rejection::Malformed(e)) => e.to_string(),
            other => panic!("{body}: {other:?}"),
        }
    }

    #[test]
    fn the_key_is_the_first_apikey_trimmed() {
        assert_eq!(api_key("apikey=K").as_deref(), Some("K"));
        assert_eq!(
            api_key("x=1&apikey=%20K%20&apikey=second").as_deref(),
            Some("K")
        );
        assert_eq!(api_key("apikey=a%2Bb+c").as_deref(), Some("a+b c"));
        for none in [
            "",
            "apikey=",
            "apikey=%20%20",
            "userkey=K",
            "apikey=&apikey=K",
        ] {
            assert_eq!(api_key(none), None, "{none:?}");
        }
    }

    #[test]
    fn bodies_that_are_not_calls_are_malformed() {
        let not_json = "malformed request: request body is not valid JSON";
        assert_eq!(
            malformed_text(r#"{"method": "did.zone.list_country", "params": ["#),
            format!("{not_json} (it ends too early)")
        );
        assert_eq!(
            malformed_text(""),
            format!("{not_json} (it ends too early)")
        );
        for body in ["{", "{'method': 'x'}", r#"{"method": "x"} trailing"#] {
            assert!(malformed_text(body).starts_with(not_json), "{body}");
        }
        assert!(
            matches!(decode(b"{\"method\": \"\xff\"}", ""), Err(Rejection::Malformed(e)) if e.to_string().starts_with(not_json))
        );
        for body in [
            "[]",
            "\"x\"",
            "5",
            "null",
            "true",
            r#"["did.zone.list_country"]"#,
        ] {
            assert_eq!(
                malformed_text(body),
                "malformed request: request body must be a JSON object with method and params"
            );
        }
        for body in [
            r#"{"method": 5}"#,
            r#"{"method": null}"#,
            r#"{"method": ["x"]}"#,
            "{}",
        ] {
            assert_eq!(
                malformed_text(body),
                "malformed request: method must be a string"
            );
        }
        for params in [r#"{"a": 1}"#, r#""GB""#, "1", "true"] {
            let body = format!(r#"{{"method": "did.zone.list_area", "params": {params}}}"#);
            assert_eq!(
                malformed_text(&body),
                "malformed request: params must be an array"
            );
        }
    }

    #[test]
    fn calls_the_server_cannot_run_travel_with_the_key() {
        let body = br#"{"method": "did.teleport", "params": []}"#;
        match decode(body, "apikey=K") {
            Err(Rejection::AfterAuth { key, error }) => {
                assert_eq!(key.as_deref(), Some("K"));
                assert_eq!(
                    error.to_string(),
                    "unknown action did.teleport: see the protocol for the list of actions"
                );
            }
            other => panic!("{other:?}"),
        }
        // A name that could be a key is not echoed.
        let body = br#"{"method": "dg_0123456789abcdef_00", "params": []}"#;
        match decode(body, "") {
            Err(Rejection::AfterAuth { key: None, error }) => {
                assert!(!error.to_string().contains("0123456789abcdef"), "{error}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_valid_call_carries_its_method_and_request() {
        let body = br#"{"id": 7, "method": "number.list_all"}"#;
        let call = decode(body, "apikey=K").unwrap();
        assert_eq!(call.key.as_deref(), Some("K"));
        assert_eq!(call.method, Method::ListAll);
        assert!(!call.request.test && call.request.request_id.is_none());
        assert_eq!(call.request.command.name(), Method::ListAll.command_name());
    }

    #[test]
    fn pathological_bodies_are_refused() {
        // Nesting beyond serde_json's depth limit is not JSON.
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(matches!(
            decode(deep.as_bytes(), ""),
            Err(Rejection::Malformed(_))
        ));
        let many = format!(
            r#"{{"method": "number.return", "params": [{}1]}}"#,
            "1,".repeat(100_000)
        );
        match decode(many.as_bytes(), "") {
            Err(Rejection::AfterAuth { error, .. }) => assert_eq!(
                error.to_string(),
                "parameter params of number.return must be 1 values: [phone_number]"
            ),
            other => panic!("{other:?}"),
        }
    }
}
