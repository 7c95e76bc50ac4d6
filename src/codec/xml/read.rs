//! Decodes a `<REQUEST>` envelope, refusing everything PROTOCOL.md section
//! 2 refuses before any database work. Error texts say what was wrong and
//! never echo the payload.

use quick_xml::Reader;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesStart, Event};

use crate::api::ApiRequest;
use crate::error::Error;

/// More parameters than any action takes, with room for ignored ones.
const MAX_PARAMETERS: usize = 256;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Element {
    Request,
    UserToken,
    UserKey,
    Action,
    Parameter,
}

fn malformed(msg: impl Into<String>) -> Error {
    Error::Malformed(msg.into())
}

/// Parses an envelope into an [`ApiRequest`].
pub fn decode(body: &[u8]) -> Result<ApiRequest, Error> {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    if body.starts_with(b"\xFE\xFF") || body.starts_with(b"\xFF\xFE") {
        return Err(malformed("request must be UTF-8, not UTF-16"));
    }
    let text = std::str::from_utf8(body).map_err(|e| {
        malformed(format!(
            "request is not valid UTF-8 (at byte {})",
            e.valid_up_to()
        ))
    })?;
    Decoder::default().run(text)
}

#[derive(Default)]
struct Decoder {
    stack: Vec<Element>,
    root_seen: bool,
    token_seen: bool,
    key: Option<String>,
    action: Option<String>,
    params: Vec<(String, String)>,
    /// Name of the PARAMETER being read.
    param_name: Option<String>,
    /// Text of the USERKEY or PARAMETER being read.
    value: String,
}

impl Decoder {
    fn run(mut self, text: &str) -> Result<ApiRequest, Error> {
        let mut reader = Reader::from_str(text);
        reader.config_mut().check_end_names = true;
        let mut first = true;
        loop {
            let event = reader.read_event().map_err(|e| {
                malformed(format!(
                    "{} at byte {}",
                    describe(&e),
                    reader.error_position()
                ))
            })?;
            match event {
                Event::Decl(decl) => {
                    if !first {
                        return Err(malformed("the XML declaration must come first"));
                    }
                    if let Some(enc) = decl.encoding() {
                        let enc = enc.map_err(|_| malformed("unreadable encoding declaration"))?;
                        if !enc.eq_ignore_ascii_case("UTF-8") && !enc.eq_ignore_ascii_case("UTF8") {
                            return Err(malformed(
                                "only UTF-8 is accepted: declare encoding=\"UTF-8\" or none",
                            ));
                        }
                    }
                }
                Event::DocType(_) => {
                    return Err(malformed("DOCTYPE and entity declarations are not allowed"));
                }
                Event::PI(_) => {
                    return Err(malformed("processing instructions are not allowed"));
                }
                Event::Comment(_) => {}
                Event::Start(e) => self.open(&e, false)?,
                Event::Empty(e) => self.open(&e, true)?,
                Event::End(_) => self.close()?,
                Event::Text(t) => self.text(&t)?,
                Event::CData(c) => {
                    if !self.in_value() {
                        return Err(malformed(
                            "CDATA is only allowed inside USERKEY or PARAMETER",
                        ));
                    }
                    if !c.chars().all(is_xml_char) {
                        return Err(malformed(
                            "control characters and U+FFFE/U+FFFF are not allowed in XML",
                        ));
                    }
                    self.value.push_str(&normalize_eol(&c));
                }
                Event::GeneralRef(r) => {
                    if !self.in_value() {
                        return Err(malformed(
                            "entity references are only allowed inside USERKEY or PARAMETER",
                        ));
                    }
                    let resolved = if r.is_char_ref() {
                        match r.resolve_char_ref() {
                            Ok(Some(c)) if is_xml_char(c) => c.to_string(),
                            _ => return Err(malformed("invalid character reference")),
                        }
                    } else {
                        resolve_predefined_entity(&r)
                            .ok_or_else(|| {
                                malformed("unknown entity: only &amp; &lt; &gt; &quot; &apos; are allowed")
                            })?
                            .to_owned()
                    };
                    self.value.push_str(&resolved);
                }
                Event::Eof => break,
            }
            first = false;
        }
        if !self.stack.is_empty() {
            return Err(malformed("unclosed element at end of request"));
        }
        if !self.root_seen {
            return Err(malformed("empty request: send a REQUEST envelope"));
        }
        if !self.token_seen {
            return Err(malformed("REQUEST needs one USERTOKEN"));
        }
        let action = self
            .action
            .ok_or_else(|| malformed("REQUEST needs one ACTION"))?;
        Ok(ApiRequest {
            key: self.key.filter(|k| !k.is_empty()),
            action,
            params: self.params,
        })
    }

    fn in_value(&self) -> bool {
        matches!(
            self.stack.last(),
            Some(Element::UserKey | Element::Parameter)
        )
    }

    fn open(&mut self, e: &BytesStart<'_>, empty: bool) -> Result<(), Error> {
        check_attributes(e)?;
        let name = e.name();
        let name: &str = name.as_ref();
        let element = match (self.stack.last(), name) {
            (None, _) if self.root_seen => {
                return Err(malformed("content after the REQUEST element"));
            }
            (None, "REQUEST") => {
                self.root_seen = true;
                Element::Request
            }
            (None, _) => return Err(malformed("the root element must be REQUEST")),
            (Some(Element::Request), "USERTOKEN") => {
                if std::mem::replace(&mut self.token_seen, true) {
                    return Err(malformed("REQUEST holds one USERTOKEN, not two"));
                }
                Element::UserToken
            }
            (Some(Element::Request), "ACTION") => {
                if self.action.is_some() {
                    return Err(malformed("REQUEST holds one ACTION, not two"));
                }
                self.action = Some(name_attribute(e, "ACTION")?);
                Element::Action
            }
            (Some(Element::Request), _) => {
                return Err(malformed("REQUEST may only hold USERTOKEN and ACTION"));
            }
            (Some(Element::UserToken), "USERKEY") => {
                if self.key.is_some() {
                    return Err(malformed("USERTOKEN holds one USERKEY, not two"));
                }
                self.value.clear();
                Element::UserKey
            }
            (Some(Element::UserToken), _) => {
                return Err(malformed("USERTOKEN may only hold USERKEY"));
            }
            (Some(Element::Action), "PARAMETER") => {
                let pname = name_attribute(e, "PARAMETER")?.to_ascii_uppercase();
                if self.params.iter().any(|(n, _)| *n == pname) {
                    return Err(malformed(format!("parameter {pname} is given twice")));
                }
                if self.params.len() >= MAX_PARAMETERS {
                    return Err(malformed(format!(
                        "too many parameters: at most {MAX_PARAMETERS}"
                    )));
                }
                self.param_name = Some(pname);
                self.value.clear();
                Element::Parameter
            }
            (Some(Element::Action), _) => {
                return Err(malformed("ACTION may only hold PARAMETER elements"));
            }
            (Some(Element::UserKey | Element::Parameter), _) => {
                return Err(malformed(
                    "nesting too deep: USERKEY and PARAMETER hold text only",
                ));
            }
        };
        self.stack.push(element);
        if empty {
            self.close()?;
        }
        Ok(())
    }

    fn close(&mut self) -> Result<(), Error> {
        match self.stack.pop() {
            Some(Element::UserKey) => {
                self.key = Some(std::mem::take(&mut self.value).trim().to_owned())
            }
            Some(Element::Parameter) => {
                let name = self.param_name.take().unwrap_or_default();
                self.params
                    .push((name, std::mem::take(&mut self.value).trim().to_owned()));
            }
            Some(_) => {}
            None => return Err(malformed("closing tag with no opening tag")),
        }
        Ok(())
    }

    fn text(&mut self, t: &str) -> Result<(), Error> {
        if !t.chars().all(is_xml_char) {
            return Err(malformed(
                "control characters and U+FFFE/U+FFFF are not allowed in XML",
            ));
        }
        if self.in_value() {
            self.value.push_str(&normalize_eol(t));
        } else if !t.trim().is_empty() {
            return Err(if self.stack.is_empty() && self.root_seen {
                malformed("content after the REQUEST element")
            } else {
                malformed("text is only allowed inside USERKEY or PARAMETER")
            });
        }
        Ok(())
    }
}

/// Every attribute of every element must be well formed: unique, quoted,
/// with valid references and only XML characters, even where its value is
/// not used.
fn check_attributes(e: &BytesStart<'_>) -> Result<(), Error> {
    for attr in e.attributes() {
        let attr = attr.map_err(|_| malformed("bad or repeated attribute"))?;
        let value = attr
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|_| malformed("bad reference in an attribute value"))?;
        if !value.chars().all(is_xml_char) || attr.value.contains('<') {
            return Err(malformed(
                "attribute values may hold only XML characters and no '<'",
            ));
        }
    }
    Ok(())
}

/// The `NAME` attribute of ACTION or PARAMETER: 1 to 64 letters, digits,
/// `.`, `_` or `-`.
fn name_attribute(e: &BytesStart<'_>, element: &str) -> Result<String, Error> {
    let mut found = None;
    for attr in e.attributes() {
        let attr =
            attr.map_err(|_| malformed(format!("bad or repeated attribute on {element}")))?;
        if attr.key.as_ref() == "NAME" {
            let v = attr
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map_err(|_| malformed(format!("bad NAME attribute on {element}")))?;
            found = Some(v.trim().to_owned());
        }
    }
    let name = found.ok_or_else(|| malformed(format!("{element} needs a NAME attribute")))?;
    let ok = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if !ok {
        return Err(malformed(format!(
            "{element} NAME must be 1 to 64 letters, digits, '.', '_' or '-'"
        )));
    }
    Ok(name)
}

fn normalize_eol(t: &str) -> String {
    t.replace("\r\n", "\n").replace('\r', "\n")
}

/// The characters XML 1.0 allows in a document.
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// A short description of a parser error that does not quote the input.
fn describe(e: &quick_xml::Error) -> &'static str {
    use quick_xml::errors::IllFormedError as I;
    match e {
        quick_xml::Error::IllFormed(I::MismatchedEndTag { .. }) => "mismatched closing tag",
        quick_xml::Error::IllFormed(I::UnmatchedEndTag(_)) => "closing tag with no opening tag",
        quick_xml::Error::IllFormed(I::MissingEndTag(_)) => "unclosed element",
        quick_xml::Error::IllFormed(_) => "ill-formed XML",
        quick_xml::Error::Syntax(_) => "XML syntax error",
        quick_xml::Error::Escape(_) => "invalid entity or character reference",
        quick_xml::Error::InvalidAttr(_) => "invalid attribute",
        _ => "invalid XML",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "dg_0123456789abcdef_00";

    fn envelope(action_body: &str) -> String {
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
            envelope(
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
        assert!(err(&envelope("<PARAMETER NAME=\"A\">&x;</PARAMETER>")).contains("unknown entity"));
    }

    #[test]
    fn refuses_structure_violations() {
        assert!(err("<RESPONSE/>").contains("root"));
        assert!(err(&format!("{}<REQUEST/>", envelope(""))).contains("after"));
        assert!(err(&format!("{}junk", envelope(""))).contains("after"));
        assert!(
            err(&envelope(
                "<PARAMETER NAME=\"A\">1</PARAMETER><PARAMETER NAME=\"a\">2</PARAMETER>"
            ))
            .contains("twice")
        );
        assert!(err(&envelope("<PARAMETER NAME=\"A\"><X/></PARAMETER>")).contains("deep"));
        assert!(err(&envelope("</ACTION><ACTION NAME=\"X\">")).contains("two"));
        assert!(err(&envelope("<PARAMETER NAME=\"A\">1</PARAMETR>")).contains("mismatched"));
        assert!(err("<REQUEST><USERTOKEN>").contains("unclosed"));
        assert!(err("").contains("empty"));
        assert!(err("<REQUEST><USERTOKEN/></REQUEST>").contains("ACTION"));
        assert!(err("<?php echo 1 ?><REQUEST/>").contains("processing"));
        assert!(err(&envelope("<PARAMETER>1</PARAMETER>")).contains("NAME"));
    }

    #[test]
    fn refuses_other_encodings_and_bad_utf8() {
        assert!(err("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><REQUEST/>").contains("UTF-8"));
        let mut bad = envelope("").into_bytes();
        bad.insert(60, 0xFF);
        assert!(matches!(decode(&bad), Err(Error::Malformed(m)) if m.contains("UTF-8")));
        assert!(matches!(decode(b"\xFF\xFE<\0"), Err(Error::Malformed(_))));
    }

    #[test]
    fn refuses_raw_control_characters_and_normalises_cdata() {
        assert!(err(&envelope("<PARAMETER NAME=\"A\">a\u{1}b</PARAMETER>")).contains("control"));
        assert!(err(&envelope("<PARAMETER NAME=\"A\">a\u{FFFF}</PARAMETER>")).contains("control"));
        assert!(
            err(&envelope(
                "<PARAMETER NAME=\"A\"><![CDATA[\u{0}]]></PARAMETER>"
            ))
            .contains("control")
        );
        assert!(
            err("<REQUEST A=\"1\" A=\"2\"><USERTOKEN/><ACTION NAME=\"X\"/></REQUEST>")
                .contains("attribute")
        );
        assert!(
            err("<REQUEST a=b><USERTOKEN/><ACTION NAME=\"X\"/></REQUEST>").contains("attribute")
        );
        let r =
            decode(envelope("<PARAMETER NAME=\"A\"><![CDATA[a\rb\r\nc]]></PARAMETER>").as_bytes())
                .unwrap();
        assert_eq!(r.params[0].1, "a\nb\nc");
    }

    #[test]
    fn refuses_control_character_references() {
        assert!(
            err(&envelope("<PARAMETER NAME=\"A\">&#0;</PARAMETER>"))
                .contains("character reference")
        );
        assert!(
            err(&envelope("<PARAMETER NAME=\"A\">&#1;</PARAMETER>"))
                .contains("character reference")
        );
    }

    #[test]
    fn errors_never_echo_the_payload() {
        let secret = "SECRETPAYLOAD";
        for body in [
            format!("<{secret}/>"),
            format!("<REQUEST><{secret}/></REQUEST>"),
            envelope(&format!("<PARAMETER NAME=\"A\">1</{secret}>")),
            envelope(&format!("<PARAMETER NAME=\"A\">&{secret};</PARAMETER>")),
        ] {
            assert!(!err(&body).contains(secret), "{body}");
        }
    }

    #[test]
    fn missing_key_is_not_malformed() {
        let r = decode(b"<REQUEST><USERTOKEN/><ACTION NAME=\"X\"/></REQUEST>").unwrap();
        assert_eq!(r.key, None);
    }
}
