//! Rendering: the byte layout of each outcome, escaping, and the error
//! shape (ported from the old codec's tests, plus one per outcome).

use didgate_core::domain::*;
use didgate_core::outcome::{Ordered, Outcome, Reserved};

use super::objects::{attr, text};
use super::*;

fn body(reply: &Reply<'_>) -> String {
    String::from_utf8(render(reply)).unwrap()
}

fn outcome(o: &Outcome) -> String {
    body(&reply_of(o))
}

fn sample_did() -> Did {
    Did {
        e164: "12121111111".into(),
        did_type: DidType::Geographic,
        sms_url: String::new(),
        sms_email: String::new(),
        sms_phone: String::new(),
        forward_type: "CALLFLOW".into(),
        forward_to: "8c25e06faf2b98erts3gdtb83df91b307ff287f1".into(),
        status: DidStatus::Active,
        country_name: "UNITED STATES".into(),
        area_name: "New York".into(),
        area_code: "212".into(),
        monthly: Money100(149),
        setup: Money100(249),
        rate_plan_id: "SU".into(),
        title: "A & \"B\"".into(),
        account_number: "1000000001".into(),
        order_date: Some(0),
    }
}

const DID_LINE: &str = "<DID E164=\"12121111111\" DID_TYPE=\"GEOGRAPHIC\" SMS_URL=\"\" SMS_EMAIL=\"\" SMS_PHONE=\"\" CALL_FORWARD_TYPE=\"CALLFLOW\" CALL_FORWARD_TO=\"8c25e06faf2b98erts3gdtb83df91b307ff287f1\" STATUS=\"Active\" COUNTRY_NAME=\"UNITED STATES\" AREA_NAME=\"New York\" AREA_CODE=\"212\" MONTHLY100=\"149\" SETUP100=\"249\" RATE_PLAN_ID=\"SU\" TITLE=\"A &amp; &quot;B&quot;\" ACCOUNT_NUMBER=\"1000000001\" ORDER_DATE=\"1970-01-01 00:00:00\"/>\n";
const HEAD: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<RESPONSE>\n";

#[test]
fn errors_have_the_contract_shape_and_escape() {
    let body =
        String::from_utf8(render_error(ErrorCode::NotFound, "area <x> & y not found")).unwrap();
    assert_eq!(
        body,
        format!(
            "{HEAD}  <RESULT>ERROR</RESULT>\n  <VALUE NAME=\"ERROR_CODE\">NOT_FOUND</VALUE>\n  <ERROR>area &lt;x&gt; &amp; y not found</ERROR>\n</RESPONSE>\n"
        )
    );
}

#[test]
fn balance_goes_in_result() {
    let body = outcome(&Outcome::Balance(Money100(1234)));
    assert_eq!(
        body,
        format!(
            "{HEAD}  <RESULT>12.34</RESULT>\n  <VALUE NAME=\"BALANCE100\">1234</VALUE>\n</RESPONSE>\n"
        )
    );
}

#[test]
fn attributes_escape_quotes_and_newlines() {
    assert_eq!(attr("a\"b\nc\td"), "a&quot;b&#10;c&#9;d");
}

#[test]
fn characters_xml_cannot_carry_are_replaced() {
    assert_eq!(text("a\u{1}b\u{FFFF}<"), "a\u{FFFD}b\u{FFFD}&lt;");
}

#[test]
fn done_and_scalar_outcomes() {
    assert_eq!(
        outcome(&Outcome::Done),
        format!("{HEAD}  <RESULT>SUCCESS</RESULT>\n</RESPONSE>\n")
    );
    assert_eq!(
        outcome(&Outcome::Released(3)),
        format!(
            "{HEAD}  <RESULT>SUCCESS</RESULT>\n  <VALUE NAME=\"RELEASED\">3</VALUE>\n</RESPONSE>\n"
        )
    );
    let n = AccountNumber::parse("4820193746").unwrap();
    assert_eq!(
        outcome(&Outcome::SubaccountCreated(n)),
        format!(
            "{HEAD}  <RESULT>SUCCESS</RESULT>\n  <VALUE NAME=\"ACCOUNT_NUMBER\">4820193746</VALUE>\n</RESPONSE>\n"
        )
    );
}

#[test]
fn number_lists() {
    let dids = vec![sample_did()];
    let list = format!("  <DIDS>\n    {DID_LINE}  </DIDS>\n");
    let plain = format!("{HEAD}  <RESULT>SUCCESS</RESULT>\n{list}</RESPONSE>\n");
    assert_eq!(outcome(&Outcome::Offered(dids.clone())), plain);
    assert_eq!(outcome(&Outcome::Changed(dids.clone())), plain);
    assert_eq!(
        outcome(&Outcome::Listed {
            dids: dids.clone(),
            total: 7
        }),
        format!(
            "{HEAD}  <RESULT>SUCCESS</RESULT>\n{list}  <VALUE NAME=\"TOTAL\">7</VALUE>\n</RESPONSE>\n"
        )
    );
    let ordered = Outcome::Ordered(Ordered {
        order_id: 42,
        charged: Money100(398),
        dids,
    });
    assert_eq!(
        outcome(&ordered),
        format!(
            "{HEAD}  <RESULT>SUCCESS</RESULT>\n{list}  <VALUE NAME=\"ORDER_ID\">42</VALUE>\n  <VALUE NAME=\"CHARGED100\">398</VALUE>\n</RESPONSE>\n"
        )
    );
    assert_eq!(
        outcome(&Outcome::Listed {
            dids: vec![],
            total: 0
        }),
        format!(
            "{HEAD}  <RESULT>SUCCESS</RESULT>\n  <DIDS>\n  </DIDS>\n  <VALUE NAME=\"TOTAL\">0</VALUE>\n</RESPONSE>\n"
        )
    );
}

#[test]
fn reservations() {
    let r = Outcome::Reserved(Reserved {
        id: ReservationId::parse("rsv_0123456789abcdef").unwrap(),
        expires_at: 1_795_000_000,
        dids: vec![sample_did()],
    });
    assert_eq!(
        outcome(&r),
        format!(
            "{HEAD}  <RESULT>SUCCESS</RESULT>\n  <RESERVATION RESERVATION_ID=\"rsv_0123456789abcdef\" EXPIRES=\"2026-11-18 11:06:40\">\n    {DID_LINE}  </RESERVATION>\n</RESPONSE>\n"
        )
    );
}

#[test]
fn catalog_lists() {
    let countries = Outcome::Countries(vec![Country {
        id: "US".into(),
        name: "UNITED STATES".into(),
        has_states: true,
        is_fax: false,
        is_sms: true,
    }]);
    assert_eq!(
        outcome(&countries),
        format!(
            "{HEAD}  <RESULT>SUCCESS</RESULT>\n  <COUNTRIES>\n    <COUNTRY COUNTRY_ID=\"US\" COUNTRY_NAME=\"UNITED STATES\" HAS_STATES=\"TRUE\" IS_FAX=\"FALSE\" IS_SMS=\"TRUE\"/>\n  </COUNTRIES>\n</RESPONSE>\n"
        )
    );
    let states = Outcome::States(vec![State {
        id: "US-NY".into(),
        name: "New York".into(),
        code: "NY".into(),
    }]);
    assert_eq!(
        outcome(&states),
        format!(
            "{HEAD}  <RESULT>SUCCESS</RESULT>\n  <STATES>\n    <STATE STATE_ID=\"US-NY\" STATE_NAME=\"New York\" STATE_CODE=\"NY\"/>\n  </STATES>\n</RESPONSE>\n"
        )
    );
    let area = |plans: Vec<RatePlan>| Area {
        id: "gb-ldn-20".into(),
        name: "London".into(),
        area_code: "20".into(),
        did_type: DidType::Geographic,
        country_id: "GB".into(),
        state_id: None,
        stock: 10,
        rate_plans: plans,
    };
    let plan = RatePlan {
        id: "SU".into(),
        name: "Service Unlimited".into(),
        monthly: Money100(199),
        setup: Money100(0),
    };
    let start = "    <AREA AREA_ID=\"gb-ldn-20\" AREA_NAME=\"London\" AREA_CODE=\"20\" DID_TYPE=\"GEOGRAPHIC\" COUNTRY_ID=\"GB\" STATE_ID=\"\" STOCK=\"10\">\n";
    assert_eq!(
        outcome(&Outcome::Areas(vec![area(vec![plan]), area(vec![])])),
        format!(
            "{HEAD}  <RESULT>SUCCESS</RESULT>\n  <AREAS>\n{start}      <RATE_PLAN RATE_PLAN_ID=\"SU\" RATE_PLAN_NAME=\"Service Unlimited\" MONTHLY100=\"199\" SETUP100=\"0\"/>\n    </AREA>\n{start}    </AREA>\n  </AREAS>\n</RESPONSE>\n"
        )
    );
}

#[test]
fn negative_money_and_missing_dates() {
    let mut d = sample_did();
    d.order_date = None;
    d.monthly = Money100(-5);
    let dids = [d];
    let body = body(&Reply::new(Payload::Dids(&dids)));
    assert!(body.contains(" MONTHLY100=\"-5\" "), "{body}");
    assert!(body.contains(" ORDER_DATE=\"\"/>"), "{body}");
    assert!(outcome(&Outcome::Balance(Money100(-150))).contains("<RESULT>-1.50</RESULT>"));
}
