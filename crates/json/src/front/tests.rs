//! The front as the server drives it: routing, decoding with the key and
//! the order of refusals, and the golden fixtures that decoding alone
//! answers, byte for byte through `render_error`.

use std::path::Path;
use std::sync::Arc;

use didgate_core::front::Headers;
use didgate_core::outcome::Outcome;
use didgate_core::{DomainError, ErrorCode};
use serde_json::Value;

use super::*;

struct NoHeaders;

impl Headers for NoHeaders {
    fn get(&self, _: &str) -> Option<&[u8]> {
        None
    }
}

fn post<'a>(query: Option<&'a str>, body: &'a [u8]) -> HttpRequest<'a> {
    HttpRequest {
        method: "POST",
        path: PATH,
        query,
        headers: &NoHeaders,
        body,
    }
}

fn decode(query: Option<&str>, body: &str) -> Result<Decoded, Error> {
    Json.decode(&post(query, body.as_bytes()))
}

/// The reply the server sends for `body` when decoding alone answers it:
/// at once for a broken envelope, or (after a good key) for a bad call.
fn answer(body: &str) -> HttpReply {
    match decode(Some("apikey=K"), body) {
        Err(e) => Json.render_error(None, &e),
        Ok(d) => {
            let e = d.request.expect_err("decoding alone refuses it");
            Json.render_error(Some(&d.view), &e)
        }
    }
}

#[test]
fn serves_one_path_with_post() {
    assert_eq!(Json.name(), "json");
    assert_eq!(Json.route("/ws/apikey/call_function"), Some(&["POST"][..]));
    for other in [
        "/api/v3.asp",
        "/ws/apikey/call_function/",
        "/ws/apikey",
        "/",
    ] {
        assert_eq!(Json.route(other), None, "{other}");
    }
}

#[test]
fn a_good_call_decodes_with_its_key_and_action() {
    let d = decode(
        Some("x=1&apikey=%20K%20&apikey=second"),
        r#"{"method": "did.reserve", "params": ["us-ny-718", 2, "RANDOM", "GEOGRAPHIC"]}"#,
    )
    .unwrap();
    assert_eq!(d.key.as_deref(), Some("K"));
    assert_eq!(d.action, Some("DID.RESERVE"));
    let request = d.request.unwrap();
    assert_eq!(request.command.name(), "DID.RESERVE");
    assert!(!request.test && request.request_id.is_none());
    // No query string: no key, and the call still decodes (the key check
    // refuses it later).
    let d = decode(None, r#"{"method": "number.list_all", "params": []}"#).unwrap();
    assert_eq!(d.key, None);
    assert!(d.request.is_ok());
}

#[test]
fn each_method_names_the_command_it_becomes() {
    let calls = [
        (Method::ListCountry, "[]"),
        (Method::ListArea, r#"["GB", null]"#),
        (Method::Reserve, r#"["us-ny-718", 1, null, null]"#),
        (Method::OrderPay, r#"["rsv_0123456789abcdef"]"#),
        (
            Method::Configure,
            r#"["17185550100", {"application": "sip_uri", "params": {"uri": "a@b.example"}}]"#,
        ),
        (Method::ListAll, "[]"),
        (Method::Return, r#"["17185550100"]"#),
    ];
    for (method, params) in calls {
        let body = format!(r#"{{"method": "{}", "params": {params}}}"#, method.name());
        let d = decode(Some("apikey=K"), &body).unwrap();
        let request = d.request.unwrap();
        assert_eq!(request.command.name(), method.command_name());
        assert_eq!(d.action, Some(method.command_name()));
    }
}

#[test]
fn bad_calls_wait_for_the_key_and_broken_bodies_do_not() {
    // Unknown method and wrong parameters: decoded, refused after the key.
    let d = decode(
        Some("apikey=K"),
        r#"{"method": "did.teleport", "params": []}"#,
    )
    .unwrap();
    assert_eq!((d.key.as_deref(), d.action), (Some("K"), None));
    assert_eq!(d.request.unwrap_err().code(), ErrorCode::UnknownAction);
    let d = decode(None, r#"{"method": "did.order.pay", "params": []}"#).unwrap();
    assert_eq!(d.action, Some("DID.ORDER"));
    assert_eq!(d.request.unwrap_err().code(), ErrorCode::InvalidParameter);
    // Not a call at all: refused at once.
    for body in [
        "{",
        "[]",
        r#"{"method": 5}"#,
        r#"{"method": "x", "params": {}}"#,
    ] {
        let e = decode(Some("apikey=K"), body).err().expect(body);
        assert_eq!(e.code(), ErrorCode::MalformedRequest);
    }
}

#[test]
fn rendering_uses_the_method_of_the_view() {
    let d = decode(Some("apikey=K"), r#"{"method": "number.list_all"}"#).unwrap();
    let executed = Executed {
        outcome: Arc::new(Outcome::Listed {
            dids: Vec::new(),
            total: 0,
        }),
        cached: None,
    };
    let reply = Json.render(&d.view, &executed);
    assert_eq!(reply.status, 200);
    assert_eq!(reply.content_type, "application/json");
    assert_eq!(
        reply.body.as_slice(),
        br#"{"result":{"numbers":[],"total":0}}"#
    );
    // A rule's error names the JSON parameter of the view's method.
    let d = decode(
        Some("apikey=K"),
        r#"{"method": "did.reserve", "params": ["gb-mob-7700", 1, "RANDOM", "GEOGRAPHIC"]}"#,
    )
    .unwrap();
    let e = Error::Domain(DomainError::Invalid {
        name: "DID_TYPE",
        reason: "is GEOGRAPHIC but area gb-mob-7700 sells MOBILE numbers".into(),
    });
    let reply = Json.render_error(Some(&d.view), &e);
    let v: Value = serde_json::from_slice(reply.body.as_slice()).unwrap();
    assert_eq!(
        v["error"]["message"],
        "parameter class is GEOGRAPHIC but area gb-mob-7700 sells MOBILE numbers"
    );
    // A view of another front's making renders like no method.
    let foreign: View = Box::new(5_u8);
    assert_eq!(
        Json.render(&foreign, &executed).body.as_slice(),
        br#"{"result":{}}"#
    );
}

#[test]
fn transport_errors_render_as_json_with_their_status() {
    let reply = Json.render_error(None, &Error::MethodNotAllowed("POST"));
    assert_eq!(
        (reply.status, reply.content_type),
        (405, "application/json")
    );
    assert_eq!(
        reply.body.as_slice(),
        br#"{"error":{"code":"MALFORMED_REQUEST","message":"method not allowed: use POST"}}"#
    );
    let reply = Json.render_error(None, &Error::TooLarge(65536));
    assert_eq!(reply.status, 413);
    let v: Value = serde_json::from_slice(reply.body.as_slice()).unwrap();
    assert_eq!(v["error"]["code"], "REQUEST_TOO_LARGE");
    assert!(v["error"]["message"].as_str().unwrap().contains("65536"));
    let reply = Json.render_error(None, &Error::AuthFailed);
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.body.as_slice(),
        br#"{"error":{"code":"AUTH_FAILED","message":"authentication failed: check the api key"}}"#
    );
}

/// The golden cases answered by decoding alone, with their status.
const DECODING_CASES: [(&str, u16); 8] = [
    ("configure_pattern_number", 200),
    ("configure_unknown_application", 200),
    ("malformed_json", 400),
    ("non_object_body", 400),
    ("params_not_array", 400),
    ("unknown_method", 200),
    ("wrong_param_count", 200),
    ("wrong_param_type", 200),
];

#[test]
fn golden_fixtures_answered_by_decoding_match() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/json");
    for (case, status) in DECODING_CASES {
        let read = |f: &str| std::fs::read_to_string(root.join(case).join(f)).unwrap();
        let reply = answer(&read("request.json"));
        let want: Value = serde_json::from_str(&read("response.json")).unwrap();
        let got: Value = serde_json::from_slice(reply.body.as_slice()).unwrap();
        assert_eq!(got, want, "{case}");
        assert_eq!(reply.status, status, "{case}");
        assert_eq!(reply.content_type, "application/json", "{case}");
    }
}

#[test]
fn decoding_errors_never_echo_the_key() {
    let key = "dg_0123456789abcdef_0123456789abcdef0123456789abcdef";
    let bodies = [
        format!(r#"{{"method": "{key}""#),
        format!(r#"["{key}"]"#),
        format!(r#"{{"method": ["{key}"]}}"#),
        format!(r#"{{"method": "number.list_all", "params": "{key}"}}"#),
        format!(r#"{{"method": "{key}", "params": []}}"#),
        format!(r#"{{"method": "did.zone.list_area", "params": ["{key}", null]}}"#),
        format!(r#"{{"method": "did.zone.list_area", "params": ["GB", "{key}"]}}"#),
        format!(r#"{{"method": "did.reserve", "params": ["us-ny-718", "{key}", null, null]}}"#),
        format!(r#"{{"method": "did.reserve", "params": ["us-ny-718", 1, "{key}", "{key}"]}}"#),
        format!(r#"{{"method": "did.order.pay", "params": ["{key}"]}}"#),
        format!(r#"{{"method": "number.return", "params": ["{key}"]}}"#),
        format!(r#"{{"method": "number.list_all", "params": ["{key}"]}}"#),
        format!(
            r#"{{"method": "did.configure", "params": ["17185550100", {{"application": "{key}", "params": {{}}}}]}}"#
        ),
        format!(
            r#"{{"method": "did.configure", "params": ["17185550100", {{"application": "sip_uri", "params": {{"uri": "{key}"}}}}]}}"#
        ),
    ];
    for body in bodies {
        let reply = answer(&body);
        let text = String::from_utf8(reply.body.as_slice().to_vec()).unwrap();
        assert!(text.contains("\"error\""), "{body}: {text}");
        assert!(!text.contains("0123456789abcdef"), "{body}: {text}");
    }
}
