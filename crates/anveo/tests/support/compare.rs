//! The fixtures' comparison rules (fixtures/README.md, "How `response.xml`
//! is compared"), as the workspace's `tests/golden.rs` applies them: both
//! documents parsed; `RESULT`, `VALUE` and `ERROR` one for one; other
//! children an ordered subsequence by name; expected attributes present
//! with equal values; trimmed text equal; `*` matches anything and
//! `DEMOACCOUNT` stands for the demo account.

use quick_xml::events::{BytesStart, Event};

const ANY: &str = "*";
const ACCOUNT_PLACEHOLDER: &str = "DEMOACCOUNT";
const EXACT_CHILDREN: [&str; 3] = ["RESULT", "VALUE", "ERROR"];

/// One parsed element: name, attributes, own text (trimmed), children.
#[derive(Debug, Clone, Default)]
pub struct Node {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub text: String,
    pub children: Vec<Node>,
}

impl Node {
    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

fn element(e: &BytesStart<'_>) -> Result<Node, String> {
    let mut attrs = Vec::new();
    for a in e.attributes() {
        let a = a.map_err(|err| format!("bad attribute: {err}"))?;
        let value = a
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|err| format!("bad attribute value: {err}"))?;
        attrs.push((a.key.as_ref().to_owned(), value.into_owned()));
    }
    Ok(Node {
        name: e.name().as_ref().to_owned(),
        attrs,
        ..Node::default()
    })
}

/// Parses a document into its root element; declaration, comments, PIs
/// and DOCTYPE are skipped, references resolved.
pub fn parse(xml: &str) -> Result<Node, String> {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut stack: Vec<Node> = Vec::new();
    let mut root = None;
    loop {
        let event = reader.read_event().map_err(|e| format!("not XML: {e}"))?;
        let finished = match event {
            Event::Start(e) => {
                stack.push(element(&e)?);
                None
            }
            Event::Empty(e) => Some(element(&e)?),
            Event::End(_) => {
                let mut node = stack.pop().ok_or("end tag without a start tag")?;
                node.text = node.text.trim().to_owned();
                Some(node)
            }
            Event::Text(t) => push_text(&mut stack, &t.xml10_content())?,
            Event::CData(t) => push_text(&mut stack, &t.xml10_content())?,
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    Ok(None) => quick_xml::escape::resolve_predefined_entity(&r)
                        .ok_or("unknown entity")?
                        .to_owned(),
                    Err(e) => return Err(format!("bad character reference: {e}")),
                };
                push_text(&mut stack, &resolved)?
            }
            Event::Eof => break,
            _ => None,
        };
        if let Some(node) = finished {
            match stack.last_mut() {
                Some(parent) => parent.children.push(node),
                None => root = Some(node),
            }
        }
    }
    root.ok_or_else(|| "no root element".to_owned())
}

fn push_text(stack: &mut [Node], text: &str) -> Result<Option<Node>, String> {
    match stack.last_mut() {
        Some(top) => top.text.push_str(text),
        None if text.trim().is_empty() => {}
        None => return Err("text outside the root element".into()),
    }
    Ok(None)
}

fn matches(expected: &str, actual: &str, account: &str) -> bool {
    expected == ANY || expected.replace(ACCOUNT_PLACEHOLDER, account) == actual
}

/// Every difference between `expected` and `actual`, one line each.
pub fn compare(expected: &Node, actual: &Node, account: &str) -> Vec<String> {
    let mut out = Vec::new();
    if expected.name != actual.name {
        out.push(format!("root <{}> is <{}>", expected.name, actual.name));
    } else {
        element_diff(expected, actual, &expected.name, account, &mut out);
    }
    out
}

fn element_diff(expected: &Node, actual: &Node, path: &str, account: &str, out: &mut Vec<String>) {
    for (name, want) in &expected.attrs {
        match actual.attr(name) {
            Some(got) if matches(want, got, account) => {}
            got => out.push(format!("{path}@{name}: expected {want:?}, got {got:?}")),
        }
    }
    if !matches(&expected.text, &actual.text, account) {
        out.push(format!(
            "{path}/text(): expected {:?}, got {:?}",
            expected.text, actual.text
        ));
    }
    for name in EXACT_CHILDREN {
        let want: Vec<&Node> = expected
            .children
            .iter()
            .filter(|c| c.name == name)
            .collect();
        if want.is_empty() {
            continue;
        }
        let got: Vec<&Node> = actual.children.iter().filter(|c| c.name == name).collect();
        if want.len() != got.len() {
            out.push(format!(
                "{path}/{name}: expected {} got {}",
                want.len(),
                got.len()
            ));
        }
        for (i, (w, g)) in want.iter().zip(&got).enumerate() {
            element_diff(w, g, &format!("{path}/{name}[{i}]"), account, out);
        }
    }
    let mut cursor = 0;
    for (i, want) in expected.children.iter().enumerate() {
        if EXACT_CHILDREN.contains(&want.name.as_str()) {
            continue;
        }
        let child = format!("{path}/{}#{i}", want.name);
        match actual.children[cursor..]
            .iter()
            .position(|c| c.name == want.name)
        {
            Some(offset) => {
                element_diff(
                    want,
                    &actual.children[cursor + offset],
                    &child,
                    account,
                    out,
                );
                cursor += offset + 1;
            }
            None => out.push(format!("{child}: absent")),
        }
    }
}
