//! Every outcome in its method's shape, against fixed bytes: the shapes of
//! fixtures/json and tests/json.rs, in the key order replies have always
//! had.

use didgate_core::domain::{DidStatus, DidType, Money100, RatePlan, ReservationId, format_time};
use serde_json::{Value, json};

use super::*;

fn text(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap()
}

fn country(id: &str, name: &str) -> Country {
    Country {
        id: id.into(),
        name: name.into(),
        has_states: id == "US",
        is_fax: false,
        is_sms: true,
    }
}

fn plan(id: &str, name: &str, monthly: i64, setup: i64) -> RatePlan {
    RatePlan {
        id: id.into(),
        name: name.into(),
        monthly: Money100(monthly),
        setup: Money100(setup),
    }
}

/// A London number as `number.list_all` lists it after an order.
pub(super) fn london(order_date: Option<i64>) -> Did {
    Did {
        e164: "442079460100".into(),
        did_type: DidType::Geographic,
        sms_url: "https://example.com/sms".into(),
        sms_email: "ops@example.com".into(),
        sms_phone: "".into(),
        forward_type: "CALLFLOW".into(),
        forward_to: "8c25e06faf2b98erts3gdtb83df91b307ff287f1".into(),
        status: DidStatus::Active,
        country_name: "UNITED KINGDOM".into(),
        area_name: "London".into(),
        area_code: "20".into(),
        monthly: Money100(199),
        setup: Money100(0),
        rate_plan_id: "SU".into(),
        title: "a <b> & \"c\"".into(),
        account_number: "1234567890".into(),
        order_date,
    }
}

const LONDON_JSON: &str = concat!(
    r#"{"account_number":"1234567890","area_code":"20","area_name":"London","#,
    r#""call_forward_to":"8c25e06faf2b98erts3gdtb83df91b307ff287f1","call_forward_type":"CALLFLOW","#,
    r#""country_name":"UNITED KINGDOM","did_type":"GEOGRAPHIC","e164":"442079460100","#,
    r#""monthly100":199,"order_date":"2026-11-18 11:06:40","rate_plan_id":"SU","setup100":0,"#,
    r#""sms_email":"ops@example.com","sms_phone":"","sms_url":"https://example.com/sms","#,
    r#""status":"Active","title":"a <b> & \"c\""}"#
);

#[test]
fn list_country_is_code_and_name() {
    let list = Outcome::Countries(vec![
        country("FR", "FRANCE"),
        country("GB", "UNITED KINGDOM"),
        country("US", "UNITED STATES"),
    ]);
    assert_eq!(
        text(outcome(Some(Method::ListCountry), &list)),
        concat!(
            r#"{"result":{"country_list":[{"code":"FR","country_name":"FRANCE"},"#,
            r#"{"code":"GB","country_name":"UNITED KINGDOM"},{"code":"US","country_name":"UNITED STATES"}]}}"#
        )
    );
}

#[test]
fn list_area_is_the_fixture_shape() {
    let mobile = Area {
        id: "gb-mob-7700".into(),
        name: "Mobile".into(),
        area_code: "7700".into(),
        did_type: DidType::Mobile,
        country_id: "GB".into(),
        state_id: None,
        stock: 10,
        rate_plans: vec![
            plan("SMS", "SMS Plus", 499, 100),
            plan("SU", "Service Unlimited", 399, 100),
        ],
    };
    let got = text(outcome(
        Some(Method::ListArea),
        &Outcome::Areas(vec![mobile]),
    ));
    assert_eq!(
        got,
        concat!(
            r#"{"result":{"area_list":[{"did_type":"MOBILE","id":"gb-mob-7700","name":"Mobile","prefix":"7700","#,
            r#""rate_plans":[{"id":"SMS","monthly100":499,"name":"SMS Plus","setup100":100},"#,
            r#"{"id":"SU","monthly100":399,"name":"Service Unlimited","setup100":100}],"stock":10}]}}"#
        )
    );
    // And it is exactly the golden fixture, compared as JSON.
    let fixture: Value = serde_json::from_str(include_str!(
        "../../../../fixtures/json/list_area_gb_mobile/response.json"
    ))
    .unwrap();
    assert_eq!(serde_json::from_str::<Value>(&got).unwrap(), fixture);
}

#[test]
fn reserve_is_token_expiry_and_every_held_number() {
    let mut second = london(None);
    second.e164 = "17185550100".into();
    second.status = DidStatus::Available;
    let r = Outcome::Reserved(Reserved {
        id: ReservationId::parse("rsv_0123456789abcdef").unwrap(),
        expires_at: 1_795_000_000,
        dids: vec![second, london(None)],
    });
    assert_eq!(
        text(outcome(Some(Method::Reserve), &r)),
        r#"{"result":{"expire":"2026-11-18 11:06:40","items":["17185550100","442079460100"],"token":"rsv_0123456789abcdef"}}"#
    );
}

#[test]
fn order_pay_is_paid_with_id_charge_and_numbers() {
    let o = Outcome::Ordered(Ordered {
        order_id: 42,
        charged: Money100(855),
        dids: vec![london(Some(1_795_000_000))],
    });
    assert_eq!(
        text(outcome(Some(Method::OrderPay), &o)),
        r#"{"result":{"charged100":855,"numbers":["442079460100"],"order_id":42,"paid":true}}"#
    );
}

#[test]
fn list_all_is_numbers_and_total() {
    let empty = Outcome::Listed {
        dids: Vec::new(),
        total: 0,
    };
    // fixtures/json/list_all_empty.
    assert_eq!(
        text(outcome(Some(Method::ListAll), &empty)),
        r#"{"result":{"numbers":[],"total":0}}"#
    );
    let page = Outcome::Listed {
        dids: vec![london(Some(1_795_000_000))],
        total: 3,
    };
    assert_eq!(
        text(outcome(Some(Method::ListAll), &page)),
        format!(r#"{{"result":{{"numbers":[{LONDON_JSON}],"total":3}}}}"#)
    );
}

#[test]
fn a_number_has_exactly_the_did_keys() {
    let v: Value = serde_json::from_str(LONDON_JSON).unwrap();
    let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    // tests/json.rs DID_KEYS, sorted.
    let mut want = [
        "e164",
        "did_type",
        "sms_url",
        "sms_email",
        "sms_phone",
        "call_forward_type",
        "call_forward_to",
        "status",
        "country_name",
        "area_name",
        "area_code",
        "monthly100",
        "setup100",
        "rate_plan_id",
        "title",
        "account_number",
        "order_date",
    ];
    want.sort_unstable();
    assert_eq!(keys, want);
    // A number never ordered has a null date.
    let never = serde_json::to_value(did(&london(None))).unwrap();
    assert_eq!(never["order_date"], Value::Null);
    assert_eq!(format_time(1_795_000_000), "2026-11-18 11:06:40");
}

#[test]
fn configure_and_return_show_the_changed_numbers() {
    let mut canceled = london(Some(1_795_000_000));
    let configured = Outcome::Changed(vec![canceled.clone()]);
    assert_eq!(
        text(outcome(Some(Method::Configure), &configured)),
        format!(r#"{{"result":{{"configured":true,"numbers":[{LONDON_JSON}]}}}}"#)
    );
    canceled.status = DidStatus::Canceled;
    let returned = Outcome::Changed(vec![canceled]);
    let got: Value = serde_json::from_slice(&outcome(Some(Method::Return), &returned)).unwrap();
    assert_eq!(got["result"]["returned"], true);
    assert_eq!(got["result"]["numbers"][0]["status"], "Canceled");
    let keys: Vec<&String> = got["result"].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["numbers", "returned"]);
}

#[test]
fn an_outcome_a_method_never_has_is_an_empty_result() {
    let listed = Outcome::Listed {
        dids: Vec::new(),
        total: 0,
    };
    assert_eq!(
        text(outcome(Some(Method::ListCountry), &listed)),
        r#"{"result":{}}"#
    );
    assert_eq!(text(outcome(None, &listed)), r#"{"result":{}}"#);
    assert_eq!(
        text(outcome(Some(Method::Return), &Outcome::Done)),
        r#"{"result":{}}"#
    );
}

#[test]
fn errors_hold_exactly_the_code_and_message() {
    assert_eq!(
        text(error(
            ErrorCode::OutOfStock,
            "out of stock: 11 requested, 10 available in area us-ny-718"
        )),
        r#"{"error":{"code":"OUT_OF_STOCK","message":"out of stock: 11 requested, 10 available in area us-ny-718"}}"#
    );
    let odd = "a\u{1}\"<b>\\ é";
    let v: Value = serde_json::from_slice(&error(ErrorCode::NotFound, odd)).unwrap();
    assert_eq!(v, json!({"error": {"code": "NOT_FOUND", "message": odd}}));
}
