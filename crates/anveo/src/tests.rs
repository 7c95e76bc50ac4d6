//! The front as the server sees it: routes, decoding by path, decorated
//! rendering, and error replies with their statuses.

use std::sync::Arc;

use didgate_core::front::{Front, Headers, HttpRequest, View};
use didgate_core::outcome::{Executed, Ordered, Outcome};
use didgate_core::{DomainError, Error, ParamError, StoreError};

use super::*;

struct NoHeaders;

impl Headers for NoHeaders {
    fn get(&self, _: &str) -> Option<&[u8]> {
        None
    }
}

fn http<'a>(
    method: &'a str,
    path: &'a str,
    query: Option<&'a str>,
    body: &'a [u8],
) -> HttpRequest<'a> {
    HttpRequest {
        method,
        path,
        query,
        headers: &NoHeaders,
        body,
    }
}

fn text(reply: &HttpReply) -> &str {
    std::str::from_utf8(reply.body.as_slice()).unwrap()
}

fn executed(outcome: Outcome) -> Executed {
    Executed {
        outcome: Arc::new(outcome),
        cached: None,
    }
}

#[test]
fn routes_and_methods() {
    assert_eq!(Anveo.name(), "anveo");
    assert_eq!(Anveo.route("/api/v3.asp"), Some(&["POST"][..]));
    assert_eq!(Anveo.route("/api/xml"), Some(&["POST"][..]));
    assert_eq!(Anveo.route("/api/v2.asp"), Some(&["GET"][..]));
    for other in [
        "/api/v9.asp",
        "/",
        "/healthz",
        "/api/v3.asp/",
        "/API/V3.ASP",
    ] {
        assert_eq!(Anveo.route(other), None, "{other}");
    }
}

#[test]
fn both_forms_decode_to_the_same_request() {
    let body = xml::envelope("K", "DID.CANCEL", &[("E164", "12121111111")]);
    let post = Anveo
        .decode(&http(
            "POST",
            "/api/v3.asp",
            Some("userkey=X"),
            body.as_bytes(),
        ))
        .unwrap();
    let get = Anveo
        .decode(&http(
            "GET",
            "/api/v2.asp",
            Some("userkey=K&action=did.cancel&param[e164]=12121111111"),
            b"ignored",
        ))
        .unwrap();
    assert_eq!(post.key.as_deref(), Some("K"));
    assert_eq!(get.key, post.key);
    assert_eq!(get.action, Some("DID.CANCEL"));
    assert_eq!(get.request.unwrap(), post.request.unwrap());
}

#[test]
fn broken_forms_are_malformed_without_echo() {
    let e = Anveo
        .decode(&http("POST", "/api/xml", None, b"<SECRET/>"))
        .err()
        .unwrap();
    assert!(matches!(e, Error::Malformed(_)));
    assert!(!e.public_message().contains("SECRET"));
    let e = Anveo
        .decode(&http("GET", "/api/v2.asp", None, b""))
        .err()
        .unwrap();
    assert_eq!(
        e.public_message(),
        "malformed request: give action=NAME in the query string"
    );
    let r = Anveo.render_error(None, &e);
    assert_eq!(r.status, 400);
    assert_eq!(r.content_type, "application/xml; charset=UTF-8");
}

#[test]
fn decorations_follow_the_actions_own_values() {
    let d = decode_request(ApiRequest {
        key: None,
        action: "DID.ORDER".into(),
        params: [
            ("COLOR", "x"),
            ("DID_TYPE", "GEOGRAPHIC"),
            ("AREA_ID", "a"),
            ("TEST", "TRUE"),
            ("REQUEST_ID", "r-1"),
            ("SIGNATURE", "s"),
            ("LANG", "en"),
        ]
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect(),
    });
    assert_eq!(signature(&d.view), Some("s"));
    let o = Outcome::Ordered(Ordered {
        order_id: 9,
        charged: didgate_core::domain::Money100(0),
        dids: vec![],
    });
    let r = Anveo.render(&d.view, &executed(o));
    assert_eq!(r.status, 200);
    assert!(matches!(r.body, Body::Owned(_)));
    assert!(
        text(&r).ends_with(concat!(
            "  <VALUE NAME=\"ORDER_ID\">9</VALUE>\n",
            "  <VALUE NAME=\"CHARGED100\">0</VALUE>\n",
            "  <VALUE NAME=\"REQUEST_ID\">r-1</VALUE>\n",
            "  <VALUE NAME=\"TEST\">TRUE</VALUE>\n",
            "  <VALUE NAME=\"IGNORED_PARAMETERS\">COLOR,LANG</VALUE>\n",
            "</RESPONSE>\n"
        )),
        "{}",
        text(&r)
    );
}

#[test]
fn a_foreign_view_renders_undecorated() {
    let view: View = Box::new(7u8);
    let r = Anveo.render(&view, &executed(Outcome::Done));
    assert_eq!(
        text(&r),
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<RESPONSE>\n  <RESULT>SUCCESS</RESULT>\n</RESPONSE>\n"
    );
    assert_eq!(signature(&view), None);
}

#[test]
fn errors_keep_their_texts_and_statuses() {
    let cases: [(Error, u16, &str, &str); 6] = [
        (
            Error::NoRoute,
            404,
            "NOT_FOUND",
            "no such path: use POST /api/v3.asp",
        ),
        (
            Error::MethodNotAllowed("POST"),
            405,
            "MALFORMED_REQUEST",
            "method not allowed: use POST",
        ),
        (
            Error::AuthFailed,
            200,
            "AUTH_FAILED",
            "authentication failed: check the api key",
        ),
        (
            Error::Param(ParamError::Missing("E164")),
            200,
            "MISSING_PARAMETER",
            "missing parameter E164",
        ),
        (
            Error::Domain(DomainError::AccessDenied("4820193746".into())),
            200,
            "ACCESS_DENIED",
            "account 4820193746 is outside this key&apos;s account tree",
        ),
        (
            Error::Store(StoreError::Internal("secret".into())),
            500,
            "INTERNAL",
            "internal error, see the server log",
        ),
    ];
    for (e, status, code, message) in cases {
        let r = Anveo.render_error(None, &e);
        assert_eq!(r.status, status, "{e}");
        assert_eq!(
            text(&r),
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<RESPONSE>\n  <RESULT>ERROR</RESULT>\n  <VALUE NAME=\"ERROR_CODE\">{code}</VALUE>\n  <ERROR>{message}</ERROR>\n</RESPONSE>\n"
            )
        );
    }
    let r = Anveo.render_error(None, &Error::RateLimited(30));
    assert_eq!(r.status, 429);
    assert_eq!(r.headers, vec![("Retry-After", "30".to_string())]);
    assert!(text(&r).contains("retry in 30 seconds"));
}

fn view_of(action: &str, params: &[(&str, &str)]) -> View {
    decode_request(ApiRequest {
        key: None,
        action: action.into(),
        params: params
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect(),
    })
    .view
}

#[test]
fn undecorated_reads_keep_and_reuse_their_rendering() {
    use didgate_core::cache::{ReplyCache, Slot};
    let cache = Arc::new(ReplyCache::default());
    let outcome = Arc::new(Outcome::Balance(didgate_core::domain::Money100(1234)));
    cache.put([1; 32], 7, outcome.clone());
    let executed = Executed {
        outcome,
        cached: Some(Slot::new(cache.clone(), [1; 32], 7)),
    };
    let plain = view_of(
        "ACCOUNT.GETBALANCE",
        &[("TEST", "FALSE"), ("SIGNATURE", "s")],
    );
    let Body::Shared(first) = Anveo.render(&plain, &executed).body else {
        panic!("an undecorated read is shared with the cache")
    };
    assert_eq!(cache.rendered(&[1; 32], 7, RENDERING), Some(first.clone()));
    let Body::Shared(again) = Anveo.render(&plain, &executed).body else {
        panic!("a kept rendering is served")
    };
    assert!(Arc::ptr_eq(&first, &again), "rendered once, then copied");
    // Decorations make the bytes this request's own: not kept, not reused.
    for params in [
        &[("TEST", "TRUE")][..],
        &[("COLOR", "x")],
        &[("REQUEST_ID", "r")],
    ] {
        let r = Anveo.render(&view_of("ACCOUNT.GETBALANCE", params), &executed);
        assert!(matches!(r.body, Body::Owned(_)), "{params:?}");
        assert_ne!(r.body.as_slice(), first.as_slice(), "{params:?}");
    }
    assert!(
        std::str::from_utf8(&first)
            .unwrap()
            .contains("<RESULT>12.34</RESULT>")
    );
}
