//! Renders replies and errors as Anveo's `<RESPONSE>`.

use std::fmt::Write as _;

use crate::api::Codec;
use crate::domain::{Area, Country, Did, Payload, Reply, State, format_time};
use crate::error::ErrorCode;

const DECLARATION: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

pub struct XmlCodec;

impl Codec for XmlCodec {
    fn content_type(&self) -> &'static str {
        "application/xml; charset=UTF-8"
    }

    fn rendering(&self) -> &'static str {
        "xml"
    }

    fn render(&self, reply: &Reply) -> Vec<u8> {
        let mut out = String::with_capacity(512);
        out.push_str(DECLARATION);
        out.push_str("<RESPONSE>\n  <RESULT>");
        out.push_str(&text(reply.result.as_deref().unwrap_or("SUCCESS")));
        out.push_str("</RESULT>\n");
        payload(&mut out, &reply.payload);
        for (name, value) in &reply.values {
            let _ = writeln!(out, "  <VALUE NAME=\"{name}\">{}</VALUE>", text(value));
        }
        out.push_str("</RESPONSE>\n");
        out.into_bytes()
    }

    fn render_error(&self, code: ErrorCode, message: &str) -> Vec<u8> {
        format!(
            "{DECLARATION}<RESPONSE>\n  <RESULT>ERROR</RESULT>\n  <VALUE NAME=\"ERROR_CODE\">{}</VALUE>\n  <ERROR>{}</ERROR>\n</RESPONSE>\n",
            code.as_str(),
            text(message)
        )
        .into_bytes()
    }
}

fn payload(out: &mut String, payload: &Payload) {
    match payload {
        Payload::None => {}
        Payload::Countries(list) => wrap(out, "COUNTRIES", list, country),
        Payload::States(list) => wrap(out, "STATES", list, state),
        Payload::Areas(list) => wrap(out, "AREAS", list, area),
        Payload::Dids(list) => wrap(out, "DIDS", list, did),
        Payload::Reservation { id, expires, dids } => {
            let _ = writeln!(
                out,
                "  <RESERVATION RESERVATION_ID=\"{}\" EXPIRES=\"{}\">",
                attr(id),
                format_time(*expires)
            );
            for d in dids {
                out.push_str("    ");
                did(out, d);
            }
            out.push_str("  </RESERVATION>\n");
        }
    }
}

fn wrap<T>(out: &mut String, tag: &str, items: &[T], item: fn(&mut String, &T)) {
    let _ = writeln!(out, "  <{tag}>");
    for i in items {
        out.push_str("    ");
        item(out, i);
    }
    let _ = writeln!(out, "  </{tag}>");
}

fn bool_str(b: bool) -> &'static str {
    if b { "TRUE" } else { "FALSE" }
}

fn country(out: &mut String, c: &Country) {
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

fn state(out: &mut String, s: &State) {
    let _ = writeln!(
        out,
        "<STATE STATE_ID=\"{}\" STATE_NAME=\"{}\" STATE_CODE=\"{}\"/>",
        attr(&s.id),
        attr(&s.name),
        attr(&s.code)
    );
}

fn area(out: &mut String, a: &Area) {
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

fn did(out: &mut String, d: &Did) {
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

/// Characters XML cannot carry at all (C0 controls other than tab and
/// newline, U+FFFE, U+FFFF) become U+FFFD, so a reply is always
/// well-formed whatever was stored.
fn xml_safe(s: &str) -> std::borrow::Cow<'_, str> {
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
fn text(s: &str) -> std::borrow::Cow<'_, str> {
    match xml_safe(s) {
        std::borrow::Cow::Borrowed(b) => quick_xml::escape::escape(b),
        std::borrow::Cow::Owned(o) => quick_xml::escape::escape(o.as_str()).into_owned().into(),
    }
}

/// Escapes an attribute value; tabs and newlines become character
/// references so a parser's attribute normalisation keeps them.
fn attr(s: &str) -> std::borrow::Cow<'_, str> {
    let escaped = text(s);
    if escaped.contains(['\n', '\t']) {
        escaped.replace('\n', "&#10;").replace('\t', "&#9;").into()
    } else {
        escaped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_have_the_contract_shape_and_escape() {
        let body =
            String::from_utf8(XmlCodec.render_error(ErrorCode::NotFound, "area <x> & y not found"))
                .unwrap();
        assert!(body.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<RESPONSE>"));
        assert!(body.contains("<VALUE NAME=\"ERROR_CODE\">NOT_FOUND</VALUE>"));
        assert!(body.contains("<ERROR>area &lt;x&gt; &amp; y not found</ERROR>"));
    }

    #[test]
    fn balance_goes_in_result() {
        let mut r = Reply::new(Payload::None).value("BALANCE100", "1234");
        r.result = Some("12.34".into());
        let body = String::from_utf8(XmlCodec.render(&r)).unwrap();
        assert!(body.contains("<RESULT>12.34</RESULT>"));
        assert!(body.contains("<VALUE NAME=\"BALANCE100\">1234</VALUE>"));
    }

    #[test]
    fn attributes_escape_quotes_and_newlines() {
        assert_eq!(attr("a\"b\nc"), "a&quot;b&#10;c");
    }

    #[test]
    fn characters_xml_cannot_carry_are_replaced() {
        assert_eq!(text("a\u{1}b\u{FFFF}<"), "a\u{FFFD}b\u{FFFD}&lt;");
    }
}
