//! The golden fixtures (`fixtures/*/`), through this front alone: each
//! case's request is decoded by the front, the core's answer is built by
//! hand from what fixtures/README.md says the case pins (the demo
//! inventory, the demo account), and the rendered reply must match
//! `response.xml` under the fixtures' comparison rules, with the expected
//! HTTP status. Cases whose answer is the front's own refusal (a broken
//! envelope, a bad parameter, an unknown action) need no hand-built part.

mod support;

use didgate_core::domain::{
    AccountNumber, Area, Country, DidStatus, DidType, Money100, RatePlan, ReservationId, State,
};
use didgate_core::outcome::{Ordered, Outcome, Reserved};
use didgate_core::{DomainError, Error};
use support::{Answer, NY, WHEN, available, sold};

fn plan(id: &str, name: &str, monthly: i64, setup: i64) -> RatePlan {
    RatePlan {
        id: id.into(),
        name: name.into(),
        monthly: Money100(monthly),
        setup: Money100(setup),
    }
}

fn su(monthly: i64, setup: i64) -> RatePlan {
    plan("SU", "Service Unlimited", monthly, setup)
}

fn area(
    id: &str,
    name: &str,
    code: &str,
    t: DidType,
    state: Option<&str>,
    plans: Vec<RatePlan>,
) -> Area {
    Area {
        id: id.into(),
        name: name.into(),
        area_code: code.into(),
        did_type: t,
        country_id: if id.starts_with("gb") { "GB" } else { "US" }.into(),
        state_id: state.map(Into::into),
        stock: if id == NY { 20 } else { 10 },
        rate_plans: plans,
    }
}

fn country(id: &str, name: &str, has_states: bool) -> Country {
    Country {
        id: id.into(),
        name: name.into(),
        has_states,
        is_fax: false,
        is_sms: false,
    }
}

fn state(code: &str, name: &str) -> State {
    State {
        id: format!("US-{code}"),
        name: name.into(),
        code: code.into(),
    }
}

fn ordered(charged: i64, dids: Vec<didgate_core::domain::Did>) -> Answer {
    Answer::Outcome(Outcome::Ordered(Ordered {
        order_id: 1,
        charged: Money100(charged),
        dids,
    }))
}

fn denied() -> Answer {
    Answer::Error(DomainError::AccessDenied("4820193746".into()).into())
}

fn catalog_cases() -> Vec<(&'static str, Answer)> {
    vec![
        (
            "countries_list",
            Answer::Outcome(Outcome::Countries(vec![
                country("FR", "FRANCE", false),
                country("GB", "UNITED KINGDOM", false),
                country("US", "UNITED STATES", true),
            ])),
        ),
        (
            "states_list_us",
            Answer::Outcome(Outcome::States(vec![
                state("CA", "California"),
                state("FL", "Florida"),
                state("NY", "New York"),
            ])),
        ),
    ]
}

fn area_cases() -> Vec<(&'static str, Answer)> {
    let geo = DidType::Geographic;
    vec![
        (
            "areas_list_gb",
            Answer::Outcome(Outcome::Areas(vec![
                area("gb-ldn-20", "London", "20", geo, None, vec![su(199, 0)]),
                area(
                    "gb-mob-7700",
                    "Mobile",
                    "7700",
                    DidType::Mobile,
                    None,
                    vec![plan("SMS", "SMS Plus", 499, 100), su(399, 100)],
                ),
                area(
                    "gb-nat-330",
                    "National",
                    "330",
                    DidType::National,
                    None,
                    vec![su(249, 0)],
                ),
            ])),
        ),
        (
            "did_order_test_mode_keeps_stock",
            Answer::Outcome(Outcome::Areas(vec![
                area(
                    "us-ny-718",
                    "Brooklyn",
                    "718",
                    geo,
                    Some("US-NY"),
                    vec![su(129, 199)],
                ),
                area(
                    NY,
                    "New York",
                    "212",
                    geo,
                    Some("US-NY"),
                    vec![plan("PM", "Pay Per Minute", 49, 0), su(149, 249)],
                ),
            ])),
        ),
    ]
}

fn search_cases() -> Vec<(&'static str, Answer)> {
    vec![
        (
            "did_search",
            Answer::Outcome(Outcome::Offered(
                (1..=3)
                    .map(|i| available(&format!("1718555010{i}"), "us-ny-718"))
                    .collect(),
            )),
        ),
        (
            "did_search_wolf",
            Answer::Outcome(Outcome::Offered(vec![available(
                "14155550102",
                "us-ca-415",
            )])),
        ),
        ("did_search_bad_pattern", Answer::Refused),
    ]
}

fn order_cases() -> Vec<(&'static str, Answer)> {
    let two = |title| {
        vec![
            sold("12121111111", NY, title),
            sold("12121111112", NY, title),
        ]
    };
    vec![
        (
            "did_order_seed",
            ordered(398, vec![sold("12121111111", NY, "ABCDEF")]),
        ),
        (
            "did_order_test_mode",
            ordered(398, vec![sold("12121111111", NY, "ABCDEF")]),
        ),
        ("did_order_two_numbers", ordered(796, two("Two lines"))),
        (
            "did_order_e164_list",
            ordered(
                726,
                vec![
                    sold("14155550105", "us-ca-415", "Listed"),
                    sold("17185550103", "us-ny-718", "Listed"),
                ],
            ),
        ),
        (
            "did_reserve",
            Answer::Outcome(Outcome::Reserved(Reserved {
                id: ReservationId::parse("rsv_00000000000000ff").unwrap(),
                expires_at: WHEN,
                dids: vec![
                    available("17185550100", "us-ny-718"),
                    available("17185550101", "us-ny-718"),
                ],
            })),
        ),
    ]
}

fn refused_order_cases() -> Vec<(&'static str, Answer)> {
    vec![
        (
            "did_order_out_of_stock",
            Answer::Error(
                DomainError::OutOfStock {
                    area: "us-ny-718".into(),
                    requested: 11,
                    available: 10,
                }
                .into(),
            ),
        ),
        (
            "did_order_insufficient_funds",
            Answer::Error(
                DomainError::InsufficientFunds {
                    cost: 2394,
                    balance: 2040,
                }
                .into(),
            ),
        ),
        (
            "did_reserve_cancel_unknown",
            Answer::Error(DomainError::NotFound("reservation rsv_0000000000000000".into()).into()),
        ),
    ]
}

fn number_cases() -> Vec<(&'static str, Answer)> {
    let canceled = didgate_core::domain::Did {
        status: DidStatus::Canceled,
        ..sold("12121111111", NY, "ABCDEF")
    };
    let restored = didgate_core::domain::Did {
        forward_type: "PHONE".into(),
        forward_to: "14155550123".into(),
        ..sold("12121111111", NY, "ABCDEF")
    };
    let updated = didgate_core::domain::Did {
        forward_type: "SIP_URI".into(),
        forward_to: "$[E164]$@sip.example.com:5060".into(),
        ..sold("12121111112", NY, "Front desk")
    };
    vec![
        (
            "did_list",
            Answer::Outcome(Outcome::Listed {
                dids: vec![
                    sold("12121111111", NY, "Two lines"),
                    sold("12121111112", NY, "Two lines"),
                    sold("17185550100", "us-ny-718", "Brooklyn"),
                ],
                total: 3,
            }),
        ),
        (
            "did_list_empty",
            Answer::Outcome(Outcome::Listed {
                dids: vec![],
                total: 0,
            }),
        ),
        (
            "did_cancel",
            Answer::Outcome(Outcome::Changed(vec![canceled])),
        ),
        (
            "did_restore",
            Answer::Outcome(Outcome::Changed(vec![restored])),
        ),
        (
            "did_update",
            Answer::Outcome(Outcome::Changed(vec![updated])),
        ),
        ("did_update_bad_sip_uri", Answer::Refused),
        ("did_move_foreign_account", denied()),
    ]
}

fn account_cases() -> Vec<(&'static str, Answer)> {
    let balance = || Answer::Outcome(Outcome::Balance(Money100(10_000)));
    vec![
        ("account_getbalance", balance()),
        ("did_order_test_mode_keeps_balance", balance()),
        ("ignored_parameters", balance()),
        (
            "subaccount_create",
            Answer::Outcome(Outcome::SubaccountCreated(
                AccountNumber::parse("4820193746").unwrap(),
            )),
        ),
        ("subaccount_delete_not_found_or_denied", denied()),
        ("auth_failed", Answer::Error(Error::AuthFailed)),
        ("unknown_action", Answer::Refused),
        ("malformed_doctype", Answer::Refused),
    ]
}

fn cases() -> Vec<(&'static str, Answer)> {
    let mut all = catalog_cases();
    all.extend(area_cases());
    all.extend(search_cases());
    all.extend(order_cases());
    all.extend(refused_order_cases());
    all.extend(number_cases());
    all.extend(account_cases());
    all
}

#[test]
fn every_fixture_renders_as_recorded() {
    let failures: Vec<String> = cases()
        .into_iter()
        .filter_map(|(name, answer)| support::run(name, answer).err())
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// A new fixture needs a case here too, or this front's rendering of it
/// goes unchecked outside the server tests.
#[test]
fn every_fixture_has_a_case() {
    let mut fixtures: Vec<String> = std::fs::read_dir(support::fixtures_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("request.xml").is_file())
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    fixtures.sort();
    let mut covered: Vec<String> = cases().into_iter().map(|(n, _)| n.to_owned()).collect();
    covered.sort();
    assert_eq!(covered, fixtures);
}

/// The comparison must be able to fail, or a green run proves nothing.
#[test]
fn a_wrong_answer_fails_its_fixture() {
    let wrong_price = didgate_core::domain::Did {
        monthly: Money100(150),
        ..sold("12121111111", NY, "ABCDEF")
    };
    assert!(support::run("did_order_seed", ordered(398, vec![wrong_price])).is_err());
    let extra = Answer::Outcome(Outcome::Listed {
        dids: vec![],
        total: 1,
    });
    assert!(support::run("did_list_empty", extra).is_err());
    assert!(support::run("auth_failed", Answer::Error(Error::NoRoute)).is_err());
    assert!(support::run("account_getbalance", Answer::Outcome(Outcome::Done)).is_err());
}
