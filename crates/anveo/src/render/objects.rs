//! The contract's objects (PROTOCOL.md section 3, "Objects") as elements,
//! attributes in the documented order, and the escaping that keeps every
//! reply well formed whatever was stored.

use std::borrow::Cow;
use std::fmt::Write as _;

use didgate_core::domain::{Area, Country, Did, State, UnixTime, format_time};

fn bool_str(b: bool) -> &'static str {
    if b { "TRUE" } else { "FALSE" }
}

pub(super) fn country(out: &mut String, c: &Country) {
    let _ = writeln!(
        out,
        "<COUNTRY COUNTRY_ID=\"{}\" COUNTRY_NAME=\"{}\" HAS_STATES=\"{}\" IS_FAX=\"{}\" IS_SMS=\"{}\"/>",
        attr(&c.id),
        attr(&c.name),
        bool_str(c.has_states),
        bool_str(c.is_fax),
        bool_str(c.is_sms)
    );
}

pub(super) fn state(out: &mut String, s: &State) {
    let _ = writeln!(
        out,
        "<STATE STATE_ID=\"{}\" STATE_NAME=\"{}\" STATE_CODE=\"{}\"/>",
        attr(&s.id),
        attr(&s.name),
        attr(&s.code)
    );
}

/// An `AREA` always has a closing tag, even without plans (section 3).
pub(super) fn area(out: &mut String, a: &Area) {
    let _ = writeln!(
        out,
        "<AREA AREA_ID=\"{}\" AREA_NAME=\"{}\" AREA_CODE=\"{}\" DID_TYPE=\"{}\" COUNTRY_ID=\"{}\" STATE_ID=\"{}\" STOCK=\"{}\">",
        attr(&a.id),
        attr(&a.name),
        attr(&a.area_code),
        a.did_type,
        attr(&a.country_id),
        attr(a.state_id.as_deref().unwrap_or("")),
        a.stock
    );
    for p in &a.rate_plans {
        let _ = writeln!(
            out,
            "      <RATE_PLAN RATE_PLAN_ID=\"{}\" RATE_PLAN_NAME=\"{}\" MONTHLY100=\"{}\" SETUP100=\"{}\"/>",
            attr(&p.id),
            attr(&p.name),
            p.monthly,
            p.setup
        );
    }
    out.push_str("    </AREA>\n");
}

pub(super) fn did(out: &mut String, d: &Did) {
    let _ = writeln!(
        out,
        "<DID E164=\"{}\" DID_TYPE=\"{}\" SMS_URL=\"{}\" SMS_EMAIL=\"{}\" SMS_PHONE=\"{}\" CALL_FORWARD_TYPE=\"{}\" CALL_FORWARD_TO=\"{}\" STATUS=\"{}\" COUNTRY_NAME=\"{}\" AREA_NAME=\"{}\" AREA_CODE=\"{}\" MONTHLY100=\"{}\" SETUP100=\"{}\" RATE_PLAN_ID=\"{}\" TITLE=\"{}\" ACCOUNT_NUMBER=\"{}\" ORDER_DATE=\"{}\"/>",
        attr(&d.e164),
        d.did_type,
        attr(&d.sms_url),
        attr(&d.sms_email),
        attr(&d.sms_phone),
        attr(&d.forward_type),
        attr(&d.forward_to),
        d.status.as_str(),
        attr(&d.country_name),
        attr(&d.area_name),
        attr(&d.area_code),
        d.monthly,
        d.setup,
        attr(&d.rate_plan_id),
        attr(&d.title),
        attr(&d.account_number),
        d.order_date.map(format_time).unwrap_or_default()
    );
}

pub(super) fn reservation(out: &mut String, id: &str, expires: UnixTime, dids: &[Did]) {
    let _ = writeln!(
        out,
        "  <RESERVATION RESERVATION_ID=\"{}\" EXPIRES=\"{}\">",
        attr(id),
        format_time(expires)
    );
    for d in dids {
        out.push_str("    ");
        did(out, d);
    }
    out.push_str("  </RESERVATION>\n");
}

/// Characters XML cannot carry at all (C0 controls other than tab and
/// newline, U+FFFE, U+FFFF) become U+FFFD, so a reply is always
/// well-formed whatever was stored.
fn xml_safe(s: &str) -> Cow<'_, str> {
    let bad = |c: char| {
        (c < ' ' && !matches!(c, '\t' | '\n' | '\r')) || c == '\u{FFFE}' || c == '\u{FFFF}'
    };
    if s.chars().any(bad) {
        s.chars()
            .map(|c| if bad(c) { '\u{FFFD}' } else { c })
            .collect::<String>()
            .into()
    } else {
        s.into()
    }
}

/// Escapes element text.
pub(super) fn text(s: &str) -> Cow<'_, str> {
    match xml_safe(s) {
        Cow::Borrowed(b) => quick_xml::escape::escape(b),
        Cow::Owned(o) => quick_xml::escape::escape(o.as_str()).into_owned().into(),
    }
}

/// Escapes an attribute value; tabs and newlines become character
/// references so a parser's attribute normalisation keeps them.
pub(super) fn attr(s: &str) -> Cow<'_, str> {
    let escaped = text(s);
    if escaped.contains(['\n', '\t']) {
        escaped.replace('\n', "&#10;").replace('\t', "&#9;").into()
    } else {
        escaped
    }
}
