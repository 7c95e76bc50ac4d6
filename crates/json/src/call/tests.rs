//! Every method's decoding: the command each call means, with every
//! default, and the exact text of every refusal (the texts tests/json.rs
//! and fixtures/json expect).

use didgate_core::ErrorCode;
use didgate_core::domain::{DidType, Quantity};
use serde_json::json;

use super::*;

fn decode(method: Method, params: Value) -> Result<Command, Error> {
    command(method, params.as_array().expect("params are an array"))
}

/// The code and message of a refused call.
#[track_caller]
fn refused(method: Method, params: Value) -> (ErrorCode, String) {
    let e = decode(method, params).expect_err("refused");
    (e.code(), e.to_string())
}

#[track_caller]
fn invalid_text(method: Method, params: Value, want: &str) {
    assert_eq!(
        refused(method, params),
        (ErrorCode::InvalidParameter, want.to_owned())
    );
}

#[track_caller]
fn missing_text(method: Method, params: Value, name: &str) {
    assert_eq!(
        refused(method, params),
        (
            ErrorCode::MissingParameter,
            format!("missing parameter {name}")
        )
    );
}

#[test]
fn wrong_counts_give_the_signature() {
    invalid_text(
        Method::ListArea,
        json!(["GB"]),
        "parameter params of did.zone.list_area must be 2 values: [country_code, did_type]",
    );
    invalid_text(
        Method::ListAll,
        json!([1]),
        "parameter params of number.list_all must be 0 values: []",
    );
    invalid_text(
        Method::Reserve,
        json!(["a", 1, null]),
        "parameter params of did.reserve must be 4 values: [area_code_id, quantity, mode, class]",
    );
    let too_many = [
        (Method::ListCountry, json!(["US"])),
        (Method::OrderPay, json!(["rsv_0000000000000000", 1])),
        (Method::Configure, json!(["17185550100", {}, 1])),
        (Method::Return, json!([])),
    ];
    for (method, params) in too_many {
        let (code, text) = refused(method, params);
        assert_eq!(code, ErrorCode::InvalidParameter);
        assert!(text.contains(method.name()), "{text}");
    }
}

#[test]
fn list_country_lists_every_type() {
    assert_eq!(
        decode(Method::ListCountry, json!([])).unwrap(),
        Command::CountriesList(CountriesList { did_type: None })
    );
}

#[test]
fn list_area_takes_a_country_and_an_optional_type() {
    let areas = |country: &str, did_type| {
        Command::AreasList(AreasList {
            scope: AreaScope::Country(CountryId::parse(country).unwrap()),
            did_type,
        })
    };
    let got = |p| decode(Method::ListArea, p).unwrap();
    assert_eq!(
        got(json!(["GB", "MOBILE"])),
        areas("GB", Some(DidType::Mobile))
    );
    // Enumerated values and country codes in any case; null or "" is any type.
    assert_eq!(
        got(json!(["gb", "mobile"])),
        areas("GB", Some(DidType::Mobile))
    );
    assert_eq!(got(json!(["FR", null])), areas("FR", None));
    assert_eq!(got(json!([" FR ", ""])), areas("FR", None));
    // An unknown country is the rules' NOT_FOUND, not a decoding error.
    assert_eq!(got(json!(["ZZ", null])), areas("ZZ", None));

    missing_text(Method::ListArea, json!(["", null]), "country_code");
    invalid_text(
        Method::ListArea,
        json!(["GB", "LOCAL"]),
        "parameter did_type must be one of GEOGRAPHIC, NATIONAL, TOLLFREE, MOBILE",
    );
    invalid_text(
        Method::ListArea,
        json!(["GB", 1]),
        "parameter did_type must be a string",
    );
    for bad in [json!([44, null]), json!([null, null])] {
        invalid_text(
            Method::ListArea,
            bad,
            "parameter country_code must be a string",
        );
    }
    invalid_text(
        Method::ListArea,
        json!(["GBR", null]),
        "parameter country_code must be a two-letter ISO country code",
    );
    // The type is checked first, as it always was.
    invalid_text(
        Method::ListArea,
        json!([null, "LOCAL"]),
        "parameter did_type must be one of GEOGRAPHIC, NATIONAL, TOLLFREE, MOBILE",
    );
}

fn reserved(area: &str, quantity: u64, did_type: Option<DidType>) -> Command {
    Command::DidReserve(DidReserve {
        target: None,
        what: ReserveWhat::Area {
            area_id: AreaId::parse(area).unwrap(),
            quantity: Quantity::new(quantity).unwrap(),
            did_type,
        },
        into: ReserveInto::Current,
        minutes: None,
    })
}

#[test]
fn reserve_adds_to_the_current_reservation_and_ignores_mode() {
    let got = |p| decode(Method::Reserve, p).unwrap();
    assert_eq!(
        got(json!(["us-ny-718", 2, "RANDOM", "GEOGRAPHIC"])),
        reserved("us-ny-718", 2, Some(DidType::Geographic))
    );
    for mode in [json!("SEQUENTIAL"), json!(null), json!(7), json!({"x": 1})] {
        assert_eq!(
            got(json!(["us-ny-718", 1, mode, null])),
            reserved("us-ny-718", 1, None)
        );
    }
    // Area ids may be JSON numbers.
    assert_eq!(
        got(json!([12345, 100, null, ""])),
        reserved("12345", 100, None)
    );
}

#[test]
fn reserve_refusals_name_the_json_parameters() {
    for q in [
        json!(0),
        json!(101),
        json!(-1),
        json!(1.5),
        json!("2"),
        json!(null),
    ] {
        invalid_text(
            Method::Reserve,
            json!(["us-ny-718", q, null, null]),
            "parameter quantity must be a whole number from 1 to 100",
        );
    }
    missing_text(Method::Reserve, json!(["", 1, null, null]), "area_code_id");
    for bad in [json!(null), json!(["us-ny-718"]), json!(-5)] {
        invalid_text(
            Method::Reserve,
            json!([bad, 1, null, null]),
            "parameter area_code_id must be a string or a whole number",
        );
    }
    invalid_text(
        Method::Reserve,
        json!(["a b", 1, null, null]),
        "parameter area_code_id must be 1 to 64 visible characters",
    );
    invalid_text(
        Method::Reserve,
        json!(["us-ny-718", 1, null, "LOCAL"]),
        "parameter class must be one of GEOGRAPHIC, NATIONAL, TOLLFREE, MOBILE",
    );
    invalid_text(
        Method::Reserve,
        json!(["us-ny-718", 1, null, 5]),
        "parameter class must be a string",
    );
    // The quantity is checked first, the area's form last.
    invalid_text(
        Method::Reserve,
        json!([null, "2", null, "LOCAL"]),
        "parameter quantity must be a whole number from 1 to 100",
    );
    invalid_text(
        Method::Reserve,
        json!(["a b", 1, null, "LOCAL"]),
        "parameter class must be one of GEOGRAPHIC, NATIONAL, TOLLFREE, MOBILE",
    );
}

#[test]
fn order_pay_orders_the_reservation_on_the_default_plan() {
    let got = decode(Method::OrderPay, json!([" rsv_0123456789abcdef "])).unwrap();
    assert_eq!(
        got,
        Command::DidOrder(DidOrder {
            target: None,
            source: OrderSource::Reservation(ReservationId::parse("rsv_0123456789abcdef").unwrap()),
            did_type: None,
            rate_plan: RatePlanId::parse("SU").unwrap(),
            title: Label::parse("").unwrap(),
        })
    );
    missing_text(Method::OrderPay, json!([""]), "order_token");
    missing_text(Method::OrderPay, json!([" "]), "order_token");
    for bad in ["nope", "rsv_XYZ", "12345", "rsv_0123456789ABCDEF"] {
        invalid_text(
            Method::OrderPay,
            json!([bad]),
            "parameter order_token must be a token as did.reserve returned it",
        );
    }
    for bad in [
        json!(5),
        json!(null),
        json!([]),
        json!({"token": "rsv_0000000000000000"}),
    ] {
        invalid_text(
            Method::OrderPay,
            json!([bad]),
            "parameter order_token must be a string",
        );
    }
}

#[test]
fn return_cancels_one_number() {
    let cancel = |e164: &str| {
        Command::DidCancel(NumberOf {
            target: None,
            e164: E164::parse(e164).unwrap(),
        })
    };
    let got = |p| decode(Method::Return, p).unwrap();
    assert_eq!(got(json!(["12121111111"])), cancel("12121111111"));
    assert_eq!(got(json!(["+12121111111"])), cancel("12121111111"));
    assert_eq!(got(json!([12121111111_u64])), cancel("12121111111"));
    missing_text(Method::Return, json!([""]), "phone_number");
    for bad in ["12*", "+", "1212-111"] {
        invalid_text(
            Method::Return,
            json!([bad]),
            "parameter phone_number must be a phone number in E.164 digits",
        );
    }
    for bad in [
        json!(null),
        json!(true),
        json!(1.5),
        json!({"e164": "17185550100"}),
    ] {
        invalid_text(
            Method::Return,
            json!([bad]),
            "parameter phone_number must be a string or a whole number",
        );
    }
    // Digits, but not a number: E.164's own texts, with the JSON name.
    invalid_text(
        Method::Return,
        json!(["123"]),
        "parameter phone_number must be 7 to 15 digits",
    );
    invalid_text(
        Method::Return,
        json!(["0123456789"]),
        "parameter phone_number must start with a country code, not 0",
    );
}

#[test]
fn list_all_lists_a_default_page() {
    assert_eq!(
        decode(Method::ListAll, json!([])).unwrap(),
        Command::DidList(DidList {
            target: None,
            filter: DidFilter::default(),
            limit: ListLimit::new(1000).unwrap(),
            offset: Offset::new(0).unwrap(),
        })
    );
}

mod configure;
