//! Decodes a `<REQUEST>` envelope (PROTOCOL.md section 2), refusing
//! everything section 2 refuses before any database work. Error texts say
//! what was wrong and never echo the payload: a client that put its key
//! in the wrong element must not see it come back.

use didgate_core::Error;
use quick_xml::Reader;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesCData, BytesDecl, BytesRef, BytesStart, Event};

use crate::wire::{ApiRequest, check_new_param, is_wire_name, malformed};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Element {
    Request,
    UserToken,
    UserKey,
    Action,
    Parameter,
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

/// Writes an envelope for `action` with `key` and `params`, escaped: the
/// request an Anveo client sends, for tests and examples.
pub fn envelope(key: &str, action: &str, params: &[(&str, &str)]) -> String {
    let esc = |s: &str| quick_xml::escape::escape(s).into_owned();
    let mut s = format!(
        "<?xml version=\"1.0\" standalone=\"no\" ?>\n<REQUEST>\n  <USERTOKEN><USERKEY>{}</USERKEY></USERTOKEN>\n  <ACTION NAME=\"{}\">\n",
        esc(key),
        esc(action)
    );
    for (n, v) in params {
        s.push_str(&format!(
            "    <PARAMETER NAME=\"{}\">{}</PARAMETER>\n",
            esc(n),
            esc(v)
        ));
    }
    s.push_str("  </ACTION>\n</REQUEST>\n");
    s
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
            if matches!(event, Event::Eof) {
                break;
            }
            self.event(event, first)?;
            first = false;
        }
        self.finish()
    }

    fn event(&mut self, event: Event<'_>, first: bool) -> Result<(), Error> {
        match event {
            Event::Decl(decl) => check_declaration(&decl, first),
            Event::DocType(_) => Err(malformed("DOCTYPE and entity declarations are not allowed")),
            Event::PI(_) => Err(malformed("processing instructions are not allowed")),
            Event::Comment(_) | Event::Eof => Ok(()),
            Event::Start(e) => self.open(&e, false),
            Event::Empty(e) => self.open(&e, true),
            Event::End(_) => self.close(),
            Event::Text(t) => self.text(&t),
            Event::CData(c) => self.cdata(&c),
            Event::GeneralRef(r) => self.reference(&r),
        }
    }

    fn finish(self) -> Result<ApiRequest, Error> {
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

    fn cdata(&mut self, c: &BytesCData<'_>) -> Result<(), Error> {
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
        self.value.push_str(&normalize_eol(c));
        Ok(())
    }

    fn reference(&mut self, r: &BytesRef<'_>) -> Result<(), Error> {
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
            resolve_predefined_entity(r)
                .ok_or_else(|| {
                    malformed("unknown entity: only &amp; &lt; &gt; &quot; &apos; are allowed")
                })?
                .to_owned()
        };
        self.value.push_str(&resolved);
        Ok(())
    }

    fn open(&mut self, e: &BytesStart<'_>, empty: bool) -> Result<(), Error> {
        check_attributes(e)?;
        let name = e.name();
        let name: &str = name.as_ref();
        let element = match self.stack.last().copied() {
            None => self.open_root(name)?,
            Some(Element::Request) => self.open_in_request(e, name)?,
            Some(Element::UserToken) => self.open_in_token(name)?,
            Some(Element::Action) => self.open_in_action(e, name)?,
            Some(Element::UserKey | Element::Parameter) => {
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

    fn open_root(&mut self, name: &str) -> Result<Element, Error> {
        if self.root_seen {
            return Err(malformed("content after the REQUEST element"));
        }
        if name != "REQUEST" {
            return Err(malformed("the root element must be REQUEST"));
        }
        self.root_seen = true;
        Ok(Element::Request)
    }

    fn open_in_request(&mut self, e: &BytesStart<'_>, name: &str) -> Result<Element, Error> {
        match name {
            "USERTOKEN" => {
                if std::mem::replace(&mut self.token_seen, true) {
                    return Err(malformed("REQUEST holds one USERTOKEN, not two"));
                }
                Ok(Element::UserToken)
            }
            "ACTION" => {
                if self.action.is_some() {
                    return Err(malformed("REQUEST holds one ACTION, not two"));
                }
                self.action = Some(name_attribute(e, "ACTION")?);
                Ok(Element::Action)
            }
            _ => Err(malformed("REQUEST may only hold USERTOKEN and ACTION")),
        }
    }

    fn open_in_token(&mut self, name: &str) -> Result<Element, Error> {
        if name != "USERKEY" {
            return Err(malformed("USERTOKEN may only hold USERKEY"));
        }
        if self.key.is_some() {
            return Err(malformed("USERTOKEN holds one USERKEY, not two"));
        }
        self.value.clear();
        Ok(Element::UserKey)
    }

    fn open_in_action(&mut self, e: &BytesStart<'_>, name: &str) -> Result<Element, Error> {
        if name != "PARAMETER" {
            return Err(malformed("ACTION may only hold PARAMETER elements"));
        }
        let pname = name_attribute(e, "PARAMETER")?.to_ascii_uppercase();
        check_new_param(&self.params, &pname)?;
        self.param_name = Some(pname);
        self.value.clear();
        Ok(Element::Parameter)
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

/// The XML declaration may only come first and may only declare UTF-8.
fn check_declaration(decl: &BytesDecl<'_>, first: bool) -> Result<(), Error> {
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
    Ok(())
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
    if !is_wire_name(&name) {
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
#[path = "envelope_tests.rs"]
mod tests;
