//! Decoding as every action shares it: the action table, unknown actions,
//! and the options read before an action's own parameters (`TEST`,
//! `REQUEST_ID`, `SIGNATURE`, ignored parameters).

use didgate_core::command::*;
use didgate_core::domain::*;
use didgate_core::{Error, ErrorCode};

use super::{ACTIONS, decode_request};
use crate::view::XmlView;
use crate::wire::ApiRequest;

pub(super) fn decoded(action: &str, params: &[(&str, &str)]) -> didgate_core::front::Decoded {
    decode_request(ApiRequest {
        key: Some("K".into()),
        action: action.into(),
        params: params
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect(),
    })
}

fn request(action: &str, params: &[(&str, &str)]) -> Result<Request, Error> {
    decoded(action, params).request
}

#[track_caller]
pub(super) fn command(action: &str, params: &[(&str, &str)]) -> Command {
    match request(action, params) {
        Ok(r) => r.command,
        Err(e) => panic!("{action} {params:?}: {e}"),
    }
}

#[track_caller]
pub(super) fn error(action: &str, params: &[(&str, &str)]) -> (ErrorCode, String) {
    match request(action, params) {
        Ok(r) => panic!("{action} {params:?} decoded: {r:?}"),
        Err(e) => (e.code(), e.public_message()),
    }
}

fn view(d: &didgate_core::front::Decoded) -> XmlView {
    XmlView::of(&d.view).clone()
}

const NY: &str = "123.123.123.123.123.123.123.123.123";

/// A valid parameter set for each action, in table order.
fn samples() -> Vec<(&'static str, Vec<(&'static str, &'static str)>)> {
    vec![
        ("ANVEO.COUNTRIES.LIST", vec![]),
        ("ANVEO.STATES.LIST", vec![("COUNTRY_ID", "US")]),
        ("ANVEO.AREAS.LIST", vec![("COUNTRY_ID", "GB")]),
        ("DID.SEARCH", vec![("AREA_ID", NY)]),
        ("DID.RESERVE", vec![("E164", "12121111111")]),
        (
            "DID.RESERVE.CANCEL",
            vec![("RESERVATION_ID", "rsv_0123456789abcdef")],
        ),
        (
            "DID.ORDER",
            vec![("DID_TYPE", "GEOGRAPHIC"), ("AREA_ID", NY)],
        ),
        ("DID.LIST", vec![]),
        ("DID.UPDATE", vec![("FILTER.E164", "1212*"), ("TITLE", "x")]),
        ("DID.CANCEL", vec![("E164", "12121111111")]),
        ("DID.RESTORE", vec![("E164", "12121111111")]),
        (
            "DID.MOVE",
            vec![("E164", "12121111111"), ("TO_ACCOUNT_NUMBER", "1234567890")],
        ),
        ("ACCOUNT.GETBALANCE", vec![]),
        ("SUBACCOUNT.CREATE", vec![("NAME", "Branch")]),
        ("SUBACCOUNT.DELETE", vec![("ACCOUNT_NUMBER", "1234567890")]),
    ]
}

#[test]
fn the_table_agrees_with_the_core() {
    let samples = samples();
    assert_eq!(samples.len(), ACTIONS.len());
    for (action, (name, params)) in ACTIONS.iter().zip(samples) {
        assert_eq!(action.name, name);
        let c = command(&name.to_ascii_lowercase(), &params);
        assert_eq!(
            c.name(),
            action.name,
            "the core logs it under the same name"
        );
        assert_eq!(c.is_mutating(), action.mutating, "{name}");
        assert_eq!(decoded(name, &params).action, Some(action.name));
    }
}

#[test]
fn unknown_actions_echo_only_safe_names() {
    let d = decoded("DID.TELEPORT", &[("E164", "1")]);
    assert_eq!(d.action, None);
    assert_eq!(d.key.as_deref(), Some("K"));
    let e = d.request.unwrap_err();
    assert_eq!(e.code(), ErrorCode::UnknownAction);
    assert_eq!(
        e.public_message(),
        "unknown action DID.TELEPORT: see the protocol for the list of actions"
    );
    let e = request("dg_0123456789abcdef_00", &[]).unwrap_err();
    assert!(!e.public_message().contains("0123"), "{e}");
}

#[test]
fn test_request_id_and_signature_are_read_first() {
    let d = decoded("DID.ORDER", &[("DID_TYPE", "GEOGRAPHIC"), ("AREA_ID", NY)]);
    assert_eq!(d.signature, None);
    let r = d.request.unwrap();
    assert!(!r.test);
    assert_eq!(r.request_id, None);
    let d = decoded(
        "did.order",
        &[
            ("DID_TYPE", "GEOGRAPHIC"),
            ("AREA_ID", NY),
            ("TEST", "true"),
            ("REQUEST_ID", "order-1"),
            ("SIGNATURE", " abc "),
        ],
    );
    let r = d.request.as_ref().unwrap();
    assert!(r.test);
    assert_eq!(r.request_id, RequestId::parse("order-1").ok());
    assert_eq!(d.signature.as_deref(), Some("abc"));
    let v = view(&d);
    assert!(v.test && v.ignored.is_empty());
    assert_eq!(v.request_id, r.request_id);
    assert_eq!(crate::signature(&d.view), Some("abc"));
    // A bad TEST or REQUEST_ID is reported before the action's parameters.
    let (code, msg) = error("DID.ORDER", &[("TEST", "yes"), ("REQUEST_ID", " ")]);
    assert_eq!(code, ErrorCode::InvalidParameter);
    assert_eq!(msg, "parameter TEST must be TRUE or FALSE");
    let (_, msg) = error("DID.CANCEL", &[("REQUEST_ID", "has space")]);
    assert_eq!(
        msg,
        "parameter REQUEST_ID must be 1 to 64 visible ASCII characters"
    );
}

#[test]
fn reads_ignore_request_id_and_ignored_keep_request_order() {
    let d = decoded(
        "ACCOUNT.GETBALANCE",
        &[
            ("COLOR", "blue"),
            ("SIGNATURE", "0123"),
            ("REQUEST_ID", "r-1"),
            ("TEST", "FALSE"),
            ("LANG", ""),
        ],
    );
    let r = d.request.as_ref().unwrap();
    assert_eq!(r.request_id, None);
    let v = view(&d);
    assert_eq!(v.ignored, ["COLOR", "REQUEST_ID", "LANG"]);
    assert_eq!(v.signature.as_deref(), Some("0123"));
    assert!(!v.undecorated());
    let d = decoded(
        "ACCOUNT.GETBALANCE",
        &[("SIGNATURE", ""), ("TEST", "false")],
    );
    assert!(view(&d).undecorated());
    assert_eq!(d.signature, None);
    assert_eq!(crate::signature(&d.view), None);
    // An unknown action still hands the signature on, for the core checks
    // it before reporting anything else.
    let d = decoded("DID.TELEPORT", &[("SIGNATURE", "s")]);
    assert_eq!(d.signature.as_deref(), Some("s"));
}
