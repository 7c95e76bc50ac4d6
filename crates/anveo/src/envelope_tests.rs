//! The envelope decoder's unit tests, ported from the old codec: every
//! rejection rule of PROTOCOL.md section 2, and that no error text echoes
//! the payload.

use super::*;

const KEY: &str = "dg_0123456789abcdef_00";

fn order_envelope(action_body: &str) -> String {
    format!(
        "<?xml version=\"1.0\" standalone=\"no\" ?>\n<REQUEST>\n  <USERTOKEN><USERKEY>{KEY}</USERKEY></USERTOKEN>\n  <ACTION NAME=\"DID.ORDER\">{action_body}</ACTION>\n</REQUEST>\n"
    )
}

fn err(body: &str) -> String {
    match decode(body.as_bytes()) {
        Err(Error::Malformed(m)) => m,
        other => panic!("expected malformed, got {other:?}"),
    }
}

#[test]
fn decodes_the_seed_envelope() {
    let r = decode(
        order_envelope(
            "<PARAMETER NAME=\"DID_TYPE\">GEOGRAPHIC</PARAMETER>\n\t<PARAMETER NAME=\"title\"> A &amp; B &#x41;<![CDATA[<c>]]> </PARAMETER><PARAMETER NAME=\"E\"/>",
        )
        .as_bytes(),
    )
    .unwrap();
    assert_eq!(r.key.as_deref(), Some(KEY));
    assert_eq!(r.action, "DID.ORDER");
    assert_eq!(
        r.params,
        vec![
            ("DID_TYPE".into(), "GEOGRAPHIC".into()),
            ("TITLE".into(), "A & B A<c>".into()),
            ("E".into(), String::new())
        ]
    );
}

#[test]
fn refuses_doctype_and_entities() {
    let laughs = "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;\">]><REQUEST/>";
    assert!(err(laughs).contains("DOCTYPE"));
    let xxe = "<!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><REQUEST>&x;</REQUEST>";
    assert!(err(xxe).contains("DOCTYPE"));
    assert!(
        err(&order_envelope("<PARAMETER NAME=\"A\">&x;</PARAMETER>")).contains("unknown entity")
    );
}

#[test]
fn refuses_structure_violations() {
    assert!(err("<RESPONSE/>").contains("root"));
    assert!(err(&format!("{}<REQUEST/>", order_envelope(""))).contains("after"));
    assert!(err(&format!("{}junk", order_envelope(""))).contains("after"));
    assert!(
        err(&order_envelope(
            "<PARAMETER NAME=\"A\">1</PARAMETER><PARAMETER NAME=\"a\">2</PARAMETER>"
        ))
        .contains("twice")
    );
    assert!(err(&order_envelope("<PARAMETER NAME=\"A\"><X/></PARAMETER>")).contains("deep"));
    assert!(err(&order_envelope("</ACTION><ACTION NAME=\"X\">")).contains("two"));
    assert!(err(&order_envelope("<PARAMETER NAME=\"A\">1</PARAMETR>")).contains("mismatched"));
    assert!(err("<REQUEST><USERTOKEN>").contains("unclosed"));
    assert!(err("").contains("empty"));
    assert!(err("<REQUEST><USERTOKEN/></REQUEST>").contains("ACTION"));
    assert!(err("<?php echo 1 ?><REQUEST/>").contains("processing"));
    assert!(err(&order_envelope("<PARAMETER>1</PARAMETER>")).contains("NAME"));
}

#[test]
fn refuses_other_encodings_and_bad_utf8() {
    assert!(err("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><REQUEST/>").contains("UTF-8"));
    let mut bad = order_envelope("").into_bytes();
    bad.insert(60, 0xFF);
    assert!(matches!(decode(&bad), Err(Error::Malformed(m)) if m.contains("UTF-8")));
    assert!(matches!(decode(b"\xFF\xFE<\0"), Err(Error::Malformed(_))));
}

#[test]
fn refuses_raw_control_characters_and_normalises_cdata() {
    assert!(err(&order_envelope("<PARAMETER NAME=\"A\">a\u{1}b</PARAMETER>")).contains("control"));
    assert!(
        err(&order_envelope(
            "<PARAMETER NAME=\"A\">a\u{FFFF}</PARAMETER>"
        ))
        .contains("control")
    );
    assert!(
        err(&order_envelope(
            "<PARAMETER NAME=\"A\"><![CDATA[\u{0}]]></PARAMETER>"
        ))
        .contains("control")
    );
    assert!(
        err("<REQUEST A=\"1\" A=\"2\"><USERTOKEN/><ACTION NAME=\"X\"/></REQUEST>")
            .contains("attribute")
    );
    assert!(err("<REQUEST a=b><USERTOKEN/><ACTION NAME=\"X\"/></REQUEST>").contains("attribute"));
    let r = decode(
        order_envelope("<PARAMETER NAME=\"A\"><![CDATA[a\rb\r\nc]]></PARAMETER>").as_bytes(),
    )
    .unwrap();
    assert_eq!(r.params[0].1, "a\nb\nc");
}

#[test]
fn refuses_control_character_references() {
    assert!(
        err(&order_envelope("<PARAMETER NAME=\"A\">&#0;</PARAMETER>"))
            .contains("character reference")
    );
    assert!(
        err(&order_envelope("<PARAMETER NAME=\"A\">&#1;</PARAMETER>"))
            .contains("character reference")
    );
}

#[test]
fn errors_never_echo_the_payload() {
    let secret = "SECRETPAYLOAD";
    for body in [
        format!("<{secret}/>"),
        format!("<REQUEST><{secret}/></REQUEST>"),
        order_envelope(&format!("<PARAMETER NAME=\"A\">1</{secret}>")),
        order_envelope(&format!("<PARAMETER NAME=\"A\">&{secret};</PARAMETER>")),
    ] {
        assert!(!err(&body).contains(secret), "{body}");
    }
}

#[test]
fn missing_key_is_not_malformed() {
    let r = decode(b"<REQUEST><USERTOKEN/><ACTION NAME=\"X\"/></REQUEST>").unwrap();
    assert_eq!(r.key, None);
}

#[test]
fn the_envelope_builder_round_trips_and_escapes() {
    let body = super::envelope(
        "K&1",
        "DID.ORDER",
        &[("TITLE", " <a> & \"b\" 'c' "), ("e164", "1")],
    );
    let r = decode(body.as_bytes()).unwrap();
    assert_eq!(r.key.as_deref(), Some("K&1"));
    assert_eq!(r.action, "DID.ORDER");
    assert_eq!(
        r.params,
        vec![
            ("TITLE".into(), "<a> & \"b\" 'c'".into()),
            ("E164".into(), "1".into())
        ]
    );
}
