//! `did.configure`: both applications, and every refusal.

use super::*;

fn update(e164: &str, kind: ForwardType, target: &str) -> Command {
    Command::DidUpdate(DidUpdate {
        target: None,
        filter: DidFilter {
            e164: Some(E164Pattern::parse(e164).unwrap()),
            ..DidFilter::default()
        },
        changes: DidChanges {
            forwarding: Some(ForwardChange::Set(Forwarding::parse(kind, target).unwrap())),
            ..DidChanges::default()
        },
    })
}

fn configure(number: Value, routing: Value) -> Result<Command, Error> {
    decode(Method::Configure, json!([number, routing]))
}

#[track_caller]
fn configure_invalid(number: Value, routing: Value, want: &str) {
    invalid_text(Method::Configure, json!([number, routing]), want);
}

#[test]
fn both_applications_set_the_forwarding_of_one_number() {
    let phone = json!({"application": "call_phone_number", "params": {"number": "14155550123"}});
    assert_eq!(
        configure(json!("17185550100"), phone).unwrap(),
        update("17185550100", ForwardType::Phone, "14155550123")
    );
    let sip = json!({"application": "sip_uri", "params": {"uri": "alice@sip.example.com"}});
    assert_eq!(
        configure(json!("+17185550100"), sip).unwrap(),
        update("17185550100", ForwardType::SipUri, "alice@sip.example.com")
    );
    // Numbers as JSON integers, on both sides.
    let phone = json!({"application": "call_phone_number", "params": {"number": 442079460999_u64}});
    assert_eq!(
        configure(json!(17185550100_u64), phone).unwrap(),
        update("17185550100", ForwardType::Phone, "442079460999")
    );
}

#[test]
fn bad_routing_is_refused_with_the_json_names() {
    let n = || json!("17185550100");
    configure_invalid(
        n(),
        json!({"application": "fax_to_email", "params": {"email": "a@b.example"}}),
        "parameter application must be one of call_phone_number, sip_uri",
    );
    configure_invalid(
        n(),
        json!({"params": {"uri": "a@b.example"}}),
        "parameter application must be one of call_phone_number, sip_uri",
    );
    configure_invalid(
        n(),
        json!({"application": 5, "params": {"uri": "a@b.example"}}),
        "parameter application must be a string",
    );
    for routing in [
        json!({"application": "sip_uri", "params": {}}),
        json!({"application": "sip_uri"}),
    ] {
        configure_invalid(
            n(),
            routing,
            "parameter params of sip_uri must be an object with uri",
        );
    }
    configure_invalid(
        n(),
        json!({"application": "call_phone_number", "params": "14155550123"}),
        "parameter params of call_phone_number must be an object with number",
    );
    configure_invalid(
        n(),
        json!({"application": "sip_uri", "params": {"uri": ["a@b.example"]}}),
        "parameter params must be a string or a whole number",
    );
    for routing in [json!("sip_uri"), json!(null)] {
        configure_invalid(
            n(),
            routing,
            "parameter routing_params must be an object with application and params",
        );
    }
}

#[test]
fn targets_are_checked_by_type() {
    let n = || json!("17185550100");
    configure_invalid(
        n(),
        json!({"application": "call_phone_number", "params": {"number": "12"}}),
        "parameter params a PHONE target must be 7 to 15 digits",
    );
    configure_invalid(
        n(),
        json!({"application": "sip_uri", "params": {"uri": "not a uri"}}),
        "parameter params a SIP_URI target must be user@host[:port], at most two separated by a comma",
    );
}

#[test]
fn the_number_is_one_number_never_a_pattern() {
    let sip = || json!({"application": "sip_uri", "params": {"uri": "a@b.example"}});
    for pattern in ["1212*", "1*"] {
        configure_invalid(
            json!(pattern),
            sip(),
            "parameter phone_number must be a phone number in E.164 digits",
        );
    }
    assert_eq!(
        configure(json!(""), sip()).unwrap_err().to_string(),
        "missing parameter phone_number"
    );
    for bad in [json!(null), json!(true)] {
        configure_invalid(
            bad,
            sip(),
            "parameter phone_number must be a string or a whole number",
        );
    }
    configure_invalid(
        json!("1".repeat(33)),
        sip(),
        "parameter phone_number must be digits, with * for any run of digits",
    );
    // The number is checked before the routing.
    configure_invalid(
        json!("1*"),
        json!(null),
        "parameter phone_number must be a phone number in E.164 digits",
    );
}
