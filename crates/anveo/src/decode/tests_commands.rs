//! Decoding each action: the command every accepted parameter set makes,
//! with every default.

use didgate_core::command::*;
use didgate_core::domain::*;

use super::decode_request;
use crate::wire::ApiRequest;

const NY: &str = "123.123.123.123.123.123.123.123.123";
const RSV: &str = "rsv_0123456789abcdef";

#[track_caller]
fn command(action: &str, params: &[(&str, &str)]) -> Command {
    let d = decode_request(ApiRequest {
        key: None,
        action: action.into(),
        params: params
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect(),
    });
    match d.request {
        Ok(r) => r.command,
        Err(e) => panic!("{action} {params:?}: {e}"),
    }
}

fn list(v: &str) -> E164List {
    E164List::parse(v).unwrap()
}

fn account(v: &str) -> AccountNumber {
    AccountNumber::parse(v).unwrap()
}

#[test]
fn reserve_defaults_and_targets() {
    let reserve = |params: &[(&str, &str)]| match command("DID.RESERVE", params) {
        Command::DidReserve(r) => r,
        other => panic!("{other:?}"),
    };
    let r = reserve(&[
        ("AREA_ID", "us-ny-718"),
        ("QUANTITY", "2"),
        ("MINUTES", "30"),
    ]);
    assert_eq!(
        r,
        DidReserve {
            target: None,
            what: ReserveWhat::Area {
                area_id: AreaId::parse("us-ny-718").unwrap(),
                quantity: Quantity::new(2).unwrap(),
                did_type: None
            },
            into: ReserveInto::New,
            minutes: HoldMinutes::new(30).ok(),
        }
    );
    let r = reserve(&[
        ("E164", "+12121111111, 12121111112"),
        ("RESERVATION_ID", "current"),
        ("ACCOUNT_NUMBER", "1234567890"),
    ]);
    assert_eq!(
        r.what,
        ReserveWhat::Numbers(list("12121111111,12121111112"))
    );
    assert_eq!(r.into, ReserveInto::Current);
    assert_eq!(r.target, Some(account("1234567890")));
    assert_eq!(r.minutes, None, "the server's default applies");
    let r = reserve(&[("E164", "12121111111"), ("RESERVATION_ID", RSV)]);
    assert_eq!(
        r.into,
        ReserveInto::Existing(ReservationId::parse(RSV).unwrap())
    );
    assert_eq!(
        command("DID.RESERVE.CANCEL", &[("RESERVATION_ID", RSV)]),
        Command::DidReserveCancel(DidReserveCancel {
            id: ReservationId::parse(RSV).unwrap()
        })
    );
}

#[test]
fn order_sources_and_defaults() {
    let order = |params: &[(&str, &str)]| match command("DID.ORDER", params) {
        Command::DidOrder(o) => o,
        other => panic!("{other:?}"),
    };
    // The seed's own request.
    let o = order(&[
        ("DID_TYPE", "GEOGRAPHIC"),
        ("AREA_ID", NY),
        ("RATE_PLAN_ID", "SU"),
        ("QUANTITY", "1"),
        ("TITLE", "ABCDEF"),
    ]);
    assert_eq!(
        o,
        DidOrder {
            target: None,
            source: OrderSource::Area {
                area_id: AreaId::parse(NY).unwrap(),
                did_type: DidType::Geographic,
                quantity: Quantity::new(1).unwrap(),
                partial: false,
            },
            did_type: None,
            rate_plan: RatePlanId::parse("SU").unwrap(),
            title: Label::parse("ABCDEF").unwrap(),
        }
    );
    let o = order(&[
        ("DID_TYPE", "geographic"),
        ("AREA_ID", NY),
        ("PARTIAL_ALLOWED", "true"),
    ]);
    let OrderSource::Area {
        quantity, partial, ..
    } = o.source
    else {
        panic!("{o:?}")
    };
    assert_eq!((quantity, partial), (Quantity::default(), true));
    assert_eq!(o.rate_plan, RatePlanId::default_plan());
    assert_eq!(o.title, Label::default());
    // Named numbers keep DID_TYPE, to be checked against each number.
    let o = order(&[
        ("E164", "12121111111"),
        ("DID_TYPE", "MOBILE"),
        ("RATE_PLAN_ID", "pm"),
    ]);
    assert_eq!(o.source, OrderSource::Numbers(list("12121111111")));
    assert_eq!(o.did_type, Some(DidType::Mobile));
    assert_eq!(o.rate_plan.as_str(), "PM");
    let o = order(&[("RESERVATION_ID", RSV), ("ACCOUNT_NUMBER", "1234567890")]);
    assert_eq!(
        o.source,
        OrderSource::Reservation(ReservationId::parse(RSV).unwrap())
    );
    assert_eq!(o.target, Some(account("1234567890")));
}

#[test]
fn list_defaults_and_filters() {
    assert_eq!(
        command("DID.LIST", &[]),
        Command::DidList(DidList {
            target: None,
            filter: DidFilter::default(),
            limit: ListLimit::default(),
            offset: Offset::default(),
        })
    );
    let Command::DidList(l) = command(
        "DID.LIST",
        &[
            ("FILTER.E164", "+1212*"),
            ("FILTER.DID_TYPE", "mobile"),
            ("FILTER.TITLE", "Sales & Co"),
            ("FILTER.STATUS", "canceled"),
            ("FILTER.SMS_URL", "http://x"),
            ("FILTER.SMS_EMAIL", "a@b.c"),
            ("FILTER.CALL_FORWARD_TYPE", "sip_uri"),
            ("FILTER.CALL_FORWARD_TO", "a@b"),
            ("LIMIT", "10000"),
            ("OFFSET", "4294967295"),
        ],
    ) else {
        panic!()
    };
    assert_eq!(
        l.filter,
        DidFilter {
            e164: E164Pattern::parse("1212*").ok(),
            did_type: Some(DidType::Mobile),
            title: Some("Sales & Co".into()),
            status: Some(DidStatus::Canceled),
            sms_url: Some("http://x".into()),
            sms_email: Some("a@b.c".into()),
            call_forward_type: Some("SIP_URI".into()),
            call_forward_to: Some("a@b".into()),
        }
    );
    assert_eq!((l.limit.get(), l.offset.get()), (10_000, 4_294_967_295));
}

#[test]
fn update_changes_and_clears() {
    let changes = |params: &[(&str, &str)]| {
        let mut all = vec![("FILTER.E164", "12121111112")];
        all.extend_from_slice(params);
        match command("DID.UPDATE", &all) {
            Command::DidUpdate(u) => u.changes,
            other => panic!("{other:?}"),
        }
    };
    let c = changes(&[
        ("CALL_FORWARD_TYPE", "SIP_URI"),
        ("CALL_FORWARD_TO", "$[E164]$@sip.example.com:5060"),
        ("TITLE", "Front desk"),
    ]);
    let set = Forwarding::parse(ForwardType::SipUri, "$[E164]$@sip.example.com:5060").unwrap();
    assert_eq!(c.forwarding, Some(ForwardChange::Set(set)));
    assert_eq!(c.title.as_deref(), Some("Front desk"));
    assert_eq!((c.sms_url, c.sms_email, c.sms_phone), (None, None, None));
    for params in [
        &[("CALL_FORWARD_TYPE", "")][..],
        &[("CALL_FORWARD_TO", " ")],
        &[
            ("CALL_FORWARD_TYPE", ""),
            ("CALL_FORWARD_TO", "12125550000"),
        ],
    ] {
        assert_eq!(
            changes(params).forwarding,
            Some(ForwardChange::Clear),
            "{params:?}"
        );
    }
    assert_eq!(
        changes(&[("CALL_FORWARD_TO", "12125550000")]).forwarding,
        Some(ForwardChange::Target("12125550000".into()))
    );
    let c = changes(&[
        ("SMS_URL", ""),
        ("SMS_EMAIL", ""),
        ("SMS_PHONE", "+12125550000"),
        ("TITLE", ""),
    ]);
    assert_eq!(c.sms_url.as_deref(), Some(""));
    assert_eq!(c.sms_email.as_deref(), Some(""));
    assert_eq!(c.sms_phone.as_deref(), Some("12125550000"));
    assert_eq!(c.title.as_deref(), Some(""));
    assert_eq!(c.forwarding, None);
}

#[test]
fn single_numbers_and_accounts() {
    let e164 = E164::parse("12121111111").unwrap();
    let number = NumberOf {
        target: None,
        e164: e164.clone(),
    };
    assert_eq!(
        command("DID.CANCEL", &[("E164", "+12121111111")]),
        Command::DidCancel(number.clone())
    );
    assert_eq!(
        command("DID.RESTORE", &[("E164", "12121111111")]),
        Command::DidRestore(number.clone())
    );
    assert_eq!(
        command(
            "DID.MOVE",
            &[
                ("E164", "12121111111"),
                ("TO_ACCOUNT_NUMBER", "1234567890"),
                ("ACCOUNT_NUMBER", "1000000001")
            ]
        ),
        Command::DidMove(DidMove {
            number: NumberOf {
                target: Some(account("1000000001")),
                e164
            },
            to: account("1234567890"),
        })
    );
    assert_eq!(
        command("ACCOUNT.GETBALANCE", &[("ANYTHING", "x")]),
        Command::AccountGetBalance(AccountGetBalance)
    );
    assert_eq!(
        command("SUBACCOUNT.CREATE", &[("NAME", " Branch office ")]),
        Command::SubaccountCreate(SubaccountCreate {
            name: Label::parse("Branch office").unwrap()
        })
    );
    assert_eq!(
        command("SUBACCOUNT.DELETE", &[("ACCOUNT_NUMBER", "4820193746")]),
        Command::SubaccountDelete(SubaccountDelete {
            account: account("4820193746")
        })
    );
}

#[test]
fn catalog_lists() {
    assert_eq!(
        command("ANVEO.COUNTRIES.LIST", &[]),
        Command::CountriesList(CountriesList { did_type: None })
    );
    assert_eq!(
        command("ANVEO.COUNTRIES.LIST", &[("DID_TYPE", "tollfree")]),
        Command::CountriesList(CountriesList {
            did_type: Some(DidType::TollFree)
        })
    );
    let us = CountryId::parse("US").unwrap();
    assert_eq!(
        command("ANVEO.STATES.LIST", &[("COUNTRY_ID", "us")]),
        Command::StatesList(StatesList {
            country: us.clone(),
            did_type: None
        })
    );
    let areas = |params: &[(&str, &str)]| match command("ANVEO.AREAS.LIST", params) {
        Command::AreasList(a) => a.scope,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        areas(&[("COUNTRY_ID", "US")]),
        AreaScope::Country(us.clone())
    );
    assert_eq!(
        areas(&[("STATE_ID", "US-NY")]),
        AreaScope::State("US-NY".into())
    );
    assert_eq!(
        areas(&[("STATE_ID", "US-NY"), ("COUNTRY_ID", "US")]),
        AreaScope::StateIn {
            country: us,
            state: "US-NY".into()
        }
    );
}

#[test]
fn search() {
    let search = |params: &[(&str, &str)]| match command("DID.SEARCH", params) {
        Command::DidSearch(s) => s,
        other => panic!("{other:?}"),
    };
    let s = search(&[("AREA_ID", NY)]);
    assert_eq!(s.area, AreaSelect::Id(AreaId::parse(NY).unwrap()));
    assert_eq!((s.did_type, s.contains), (None, None));
    assert_eq!(s.limit, SearchLimit::default());
    let s = search(&[
        ("COUNTRY_ID", "US"),
        ("AREA_CODE", "415"),
        ("CONTAINS", "WOLF"),
        ("LIMIT", "+5"),
        ("DID_TYPE", "GEOGRAPHIC"),
    ]);
    assert_eq!(
        s.area,
        AreaSelect::Code {
            country: CountryId::parse("US").unwrap(),
            area_code: AreaCode::parse("415").unwrap()
        }
    );
    assert_eq!(s.contains, ContainsPattern::parse("9653").ok());
    assert_eq!(s.limit.get(), 5);
    assert_eq!(s.did_type, Some(DidType::Geographic));
}
