//! Golden fixtures: recorded request/response pairs that pin the wire
//! contract (PROTOCOL.md) as an Anveo client sees it.
//!
//! Every directory `fixtures/<case>/` holding `request.xml` and
//! `response.xml` is one case (`fixtures/demo/` is the demo inventory, not a
//! case). Each case gets a fresh [`TestServer`] with the demo inventory and
//! account; the optional `setup-*.xml` requests are sent first (in name
//! order, each must succeed), then `request.xml` with `YOURAPIKEY` replaced
//! by the demo key. The reply must carry the expected HTTP status (the
//! `status` file, default 200), the contract's content type and XML
//! declaration, and match `response.xml` as parsed XML under the rules in
//! `fixtures/README.md`, which [`compare`] implements.
//!
//! All cases run even when one fails, and the failure names every case and
//! every element path that differs, with what was expected and what came
//! back, followed by the raw reply.

mod common;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use common::{Mismatch, TestServer, read_fixture};

/// Replaced in requests by the demo account's API key.
const KEY_PLACEHOLDER: &str = "YOURAPIKEY";
/// Replaced in expected values by the demo account's number.
const ACCOUNT_PLACEHOLDER: &str = "DEMOACCOUNT";
/// An expected attribute or text of exactly this matches any actual value.
const ANY: &str = "*";
/// Children that, when the expected element has any of them, must match the
/// actual element's children of the same name one for one, in order: a
/// reply with an extra `VALUE` (say a stray `TEST`) or a second `ERROR` is a
/// different reply, not a superset of the expected one.
const EXACT_CHILDREN: [&str; 3] = ["RESULT", "VALUE", "ERROR"];
/// Fewer cases than this means the fixtures directory was not found or was
/// emptied, and a green run would prove nothing.
const MIN_CASES: usize = 8;
/// The contract's XML reply prefix and content type (PROTOCOL.md section 1).
const DECLARATION: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>";
const CONTENT_TYPE: &str = "application/xml; charset=UTF-8";

/// One parsed element: its name, attributes in document order, its own
/// text (trimmed, whitespace-only text dropped) and its child elements.
#[derive(Debug, Clone)]
struct Node {
    name: String,
    attrs: Vec<(String, String)>,
    text: String,
    children: Vec<Node>,
}

impl Node {
    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// A one-line rendering for failure messages: the start tag and either
    /// the text or the number of children.
    fn summary(&self) -> String {
        let mut s = format!("<{}", self.name);
        for (n, v) in &self.attrs {
            let _ = write!(s, " {n}=\"{v}\"");
        }
        if !self.children.is_empty() {
            let _ = write!(
                s,
                ">…{} child element(s)…</{}>",
                self.children.len(),
                self.name
            );
        } else if !self.text.is_empty() {
            let _ = write!(s, ">{}</{}>", self.text, self.name);
        } else {
            s.push_str("/>");
        }
        s
    }
}

/// Parses a document into its root element. The XML declaration, comments,
/// processing instructions and a DOCTYPE are skipped (they are not part of
/// what is compared); entity and character references are resolved.
fn parse(xml: &str) -> Result<Node, String> {
    use quick_xml::events::Event;

    fn element(e: &quick_xml::events::BytesStart<'_>) -> Result<Node, String> {
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
            text: String::new(),
            children: Vec::new(),
        })
    }

    // Appends text to the innermost open element; text outside the root
    // must be whitespace.
    fn push_text(stack: &mut [Node], text: &str) -> Result<(), String> {
        match stack.last_mut() {
            Some(top) => top.text.push_str(text),
            None if text.trim().is_empty() => {}
            None => return Err(format!("text outside the root element: {:?}", text.trim())),
        }
        Ok(())
    }

    let mut reader = quick_xml::Reader::from_str(xml);
    let mut stack: Vec<Node> = Vec::new();
    let mut root: Option<Node> = None;
    loop {
        let event = reader
            .read_event()
            .map_err(|err| format!("not XML at byte {}: {err}", reader.error_position()))?;
        // A finished element goes to its parent, or becomes the root.
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
            Event::Text(t) => {
                push_text(&mut stack, &t.xml10_content())?;
                None
            }
            Event::CData(t) => {
                push_text(&mut stack, &t.xml10_content())?;
                None
            }
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    Ok(None) => quick_xml::escape::resolve_predefined_entity(&r)
                        .ok_or_else(|| format!("unknown entity &{};", &*r))?
                        .to_owned(),
                    Err(err) => return Err(format!("bad character reference: {err}")),
                };
                push_text(&mut stack, &resolved)?;
                None
            }
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => None,
            Event::Eof => break,
        };
        if let Some(node) = finished {
            match stack.last_mut() {
                Some(parent) => parent.children.push(node),
                None if root.is_none() => root = Some(node),
                None => return Err(format!("a second root element <{}>", node.name)),
            }
        }
    }
    if let Some(open) = stack.last() {
        return Err(format!("<{}> is never closed", open.name));
    }
    root.ok_or_else(|| "no root element".to_owned())
}

/// Whether an expected attribute value or text accepts the actual one.
fn value_matches(expected: &str, actual: &str, account: &str) -> bool {
    expected == ANY || expected.replace(ACCOUNT_PLACEHOLDER, account) == actual
}

/// Compares documents under the fixture rules and returns every difference
/// (empty when `actual` satisfies `expected`). `account` is what the
/// `DEMOACCOUNT` placeholder stands for.
fn compare(expected: &Node, actual: &Node, account: &str) -> Vec<Mismatch> {
    let mut out = Vec::new();
    if expected.name != actual.name {
        out.push(Mismatch {
            path: "/".into(),
            expected: format!("root <{}>", expected.name),
            actual: format!("root <{}>", actual.name),
        });
    } else {
        compare_element(expected, actual, &expected.name, account, &mut out);
    }
    out
}

fn compare_element(
    expected: &Node,
    actual: &Node,
    path: &str,
    account: &str,
    out: &mut Vec<Mismatch>,
) {
    // Every expected attribute must be there with the same value; the
    // actual element may carry more (the seed's DID omits SETUP100 and
    // several others the server adds).
    for (name, want) in &expected.attrs {
        match actual.attr(name) {
            Some(got) if value_matches(want, got, account) => {}
            got => out.push(Mismatch {
                path: format!("{path}@{name}"),
                expected: format!("{want:?}"),
                actual: got.map_or_else(|| "(attribute absent)".into(), |g| format!("{g:?}")),
            }),
        }
    }
    if !value_matches(&expected.text, &actual.text, account) {
        out.push(Mismatch {
            path: format!("{path}/text()"),
            expected: format!("{:?}", expected.text),
            actual: format!("{:?}", actual.text),
        });
    }

    // RESULT, VALUE and ERROR: all or nothing, one for one, in order.
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
        for i in 0..want.len().max(got.len()) {
            let child_path = child_path(path, expected, name, i);
            match (want.get(i), got.get(i)) {
                (Some(w), Some(g)) => compare_element(w, g, &child_path, account, out),
                (Some(w), None) => out.push(Mismatch {
                    path: child_path,
                    expected: w.summary(),
                    actual: "(element absent)".into(),
                }),
                (None, Some(g)) => out.push(Mismatch {
                    path: child_path,
                    expected: format!("no further <{name}> (expected has {})", want.len()),
                    actual: g.summary(),
                }),
                (None, None) => unreachable!("index is below one of the lengths"),
            }
        }
    }

    // Everything else: an ordered subsequence matched by name. Matching is
    // greedy (each expected child takes the next actual child of its name),
    // so a failure points at one definite pair rather than at a search.
    let mut cursor = 0;
    let mut seen: Vec<(&str, usize)> = Vec::new();
    for want in &expected.children {
        if EXACT_CHILDREN.contains(&want.name.as_str()) {
            continue;
        }
        let index = match seen.iter_mut().find(|(n, _)| *n == want.name) {
            Some((_, count)) => {
                *count += 1;
                *count - 1
            }
            None => {
                seen.push((&want.name, 1));
                0
            }
        };
        let child_path = child_path(path, expected, &want.name, index);
        match actual.children[cursor..]
            .iter()
            .position(|c| c.name == want.name)
        {
            Some(offset) => {
                compare_element(
                    want,
                    &actual.children[cursor + offset],
                    &child_path,
                    account,
                    out,
                );
                cursor += offset + 1;
            }
            None => out.push(Mismatch {
                path: child_path,
                expected: want.summary(),
                actual: format!("(no <{}> after the previous match)", want.name),
            }),
        }
    }
}

/// The path of the `index`th child named `name` of the element at `path`.
/// Indices count the expected file's same-named siblings. They are left out
/// for the envelope's singletons (`RESPONSE/RESULT`, `RESPONSE/DIDS`), where
/// they would be noise, and kept everywhere an element can repeat: list
/// items (`RESPONSE/DIDS/DID[0]`), `VALUE`s, and any repeated name.
fn child_path(path: &str, expected_parent: &Node, name: &str, index: usize) -> String {
    let under_root = !path.contains('/');
    let repeated = expected_parent
        .children
        .iter()
        .filter(|c| c.name == name)
        .count()
        > 1;
    if under_root && name != "VALUE" && !repeated {
        format!("{path}/{name}")
    } else {
        format!("{path}/{name}[{index}]")
    }
}

/// One fixture directory.
struct Case {
    name: String,
    dir: PathBuf,
}

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// The cases under `fixtures/`, sorted by name. A directory with only one
/// of `request.xml` and `response.xml` is a broken fixture, not a skip.
fn discover() -> Vec<Case> {
    let root = fixtures_dir();
    let mut cases = Vec::new();
    for entry in
        std::fs::read_dir(&root).unwrap_or_else(|e| panic!("reading {}: {e}", root.display()))
    {
        let dir = entry.expect("directory entry").path();
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        if !dir.is_dir() || name == "demo" {
            continue;
        }
        let request = dir.join("request.xml").is_file();
        let response = dir.join("response.xml").is_file();
        assert_eq!(
            request, response,
            "fixtures/{name}: a case needs both request.xml and response.xml"
        );
        if request {
            cases.push(Case { name, dir });
        }
    }
    cases.sort_by(|a, b| a.name.cmp(&b.name));
    cases
}

/// Runs one case on a fresh server; `Err` holds the failure report.
async fn run_case(case: &Case) -> Result<(), String> {
    let name = &case.name;
    let expected_xml = read_fixture(&case.dir.join("response.xml"));
    let expected =
        parse(&expected_xml).map_err(|e| format!("fixtures/{name}/response.xml: {e}"))?;
    // A fixture that does not even say whether the call succeeded would
    // match almost anything under the subsequence rule.
    if expected.name != "RESPONSE" || !expected.children.iter().any(|c| c.name == "RESULT") {
        return Err(format!(
            "fixtures/{name}/response.xml: the root must be RESPONSE with a RESULT child"
        ));
    }
    let (want_status, setups) =
        common::case_status_and_setups(&case.dir, &format!("fixtures/{name}"), "xml")?;

    let s = TestServer::start().await;
    for setup in &setups {
        let body = read_fixture(setup).replace(KEY_PLACEHOLDER, &s.key);
        let r = s.post("/api/v3.asp", body).await;
        if r.status != 200 || r.code().is_some() {
            let file = setup.file_name().unwrap().to_string_lossy();
            s.stop().await;
            return Err(format!(
                "golden case `{name}`: setup step {file} failed (HTTP {}):\n{}",
                r.status, r.body
            ));
        }
    }
    let body = read_fixture(&case.dir.join("request.xml")).replace(KEY_PLACEHOLDER, &s.key);
    let reply = s.post("/api/v3.asp", body).await;
    let account = s.account.clone();
    s.stop().await;

    let mut mismatches = Vec::new();
    if reply.status != want_status {
        mismatches.push(Mismatch {
            path: "HTTP status".into(),
            expected: want_status.to_string(),
            actual: reply.status.to_string(),
        });
    }
    let content_type = reply
        .headers
        .get("content-type")
        .map(|v| v.to_str().unwrap_or("(not text)"));
    if content_type != Some(CONTENT_TYPE) {
        mismatches.push(Mismatch {
            path: "HTTP Content-Type".into(),
            expected: CONTENT_TYPE.into(),
            actual: content_type.unwrap_or("(header absent)").into(),
        });
    }
    if !reply.body.starts_with(DECLARATION) {
        mismatches.push(Mismatch {
            path: "XML declaration".into(),
            expected: DECLARATION.into(),
            actual: format!("{:?}", reply.body.lines().next().unwrap_or("")),
        });
    }
    match parse(&reply.body) {
        Ok(actual) => mismatches.extend(compare(&expected, &actual, &account)),
        Err(e) => mismatches.push(Mismatch {
            path: "/".into(),
            expected: "a well-formed XML reply".into(),
            actual: e,
        }),
    }
    if mismatches.is_empty() {
        return Ok(());
    }
    Err(common::mismatch_report(
        &format!("golden case `{name}` (fixtures/{name})"),
        &mismatches,
        &reply,
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn golden_fixtures_match() {
    let cases = discover();
    let names: Vec<&str> = cases.iter().map(|c| c.name.as_str()).collect();
    assert!(
        cases.len() >= MIN_CASES,
        "found only {} golden case(s) under {}: {names:?}",
        cases.len(),
        fixtures_dir().display()
    );
    // The seed's own example is the contract's anchor: its absence is a
    // harness bug, not a smaller test.
    assert!(
        names.contains(&"did_order_seed"),
        "the seed case is missing: {names:?}"
    );

    // Cases run one after another, each on its own server, so that one
    // case's orders cannot change another's stock or balance.
    let mut failures = Vec::new();
    for case in &cases {
        match run_case(case).await {
            Ok(()) => println!("golden case {}: ok", case.name),
            Err(report) => failures.push(report),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} golden case(s) failed:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}

/// The comparator must reject what the contract rejects, or a green run
/// would prove nothing. These documents are checked against the real seed
/// fixture so that its parsing is covered too.
#[test]
fn comparator_rejects_mismatching_documents() {
    let expected = parse(&read_fixture(
        &fixtures_dir().join("did_order_seed/response.xml"),
    ))
    .unwrap();
    let did = |monthly: &str, e164: &str| {
        format!(
            "<DID E164=\"{e164}\" DID_TYPE=\"GEOGRAPHIC\" SMS_URL=\"\" SMS_EMAIL=\"\" \
             CALL_FORWARD_TYPE=\"CALLFLOW\" CALL_FORWARD_TO=\"8c25e06faf2b98erts3gdtb83df91b307ff287f1\" \
             STATUS=\"Active\" COUNTRY_NAME=\"UNITED STATES\" AREA_NAME=\"New York\" AREA_CODE=\"212\" \
             MONTHLY100=\"{monthly}\" SETUP100=\"249\" TITLE=\"ABCDEF\"/>"
        )
    };
    let reply = |result: &str, dids: &str| {
        format!(
            "<?xml version=\"1.0\"?><RESPONSE><RESULT>{result}</RESULT><DIDS>{dids}</DIDS></RESPONSE>"
        )
    };
    let check = |actual: &str| compare(&expected, &parse(actual).unwrap(), "1234567890");

    // The server's real shape, extras included, is accepted.
    assert!(check(&reply("SUCCESS", &did("149", "12121111111"))).is_empty());

    // A wrong price is reported at the attribute, with both values.
    let m = check(&reply("SUCCESS", &did("150", "12121111111")));
    assert_eq!(m.len(), 1, "{m:?}");
    assert_eq!(m[0].path, "RESPONSE/DIDS/DID[0]@MONTHLY100");
    assert_eq!(
        (m[0].expected.as_str(), m[0].actual.as_str()),
        ("\"149\"", "\"150\"")
    );

    // The wrong number, no number at all, a wrong RESULT and a wrong root.
    let m = check(&reply("SUCCESS", &did("149", "12121111112")));
    assert_eq!(m[0].path, "RESPONSE/DIDS/DID[0]@E164", "{m:?}");
    let m = check(&reply("SUCCESS", ""));
    assert_eq!(m[0].path, "RESPONSE/DIDS/DID[0]", "{m:?}");
    let m = check(&reply("ERROR", &did("149", "12121111111")));
    assert_eq!(m[0].path, "RESPONSE/RESULT/text()", "{m:?}");
    let m = check("<REQUEST><RESULT>SUCCESS</RESULT></REQUEST>");
    assert_eq!(m[0].path, "/", "{m:?}");
}

#[test]
fn comparator_rules_for_values_wildcards_and_account() {
    let expected = parse(
        "<RESPONSE><RESULT>SUCCESS</RESULT>\
         <DIDS><DID ACCOUNT_NUMBER=\"DEMOACCOUNT\" ORDER_DATE=\"*\"/></DIDS>\
         <VALUE NAME=\"ORDER_ID\">*</VALUE></RESPONSE>",
    )
    .unwrap();
    let check = |actual: &str| compare(&expected, &parse(actual).unwrap(), "1234567890");
    let did =
        "<DIDS><DID ACCOUNT_NUMBER=\"1234567890\" ORDER_DATE=\"2026-01-01 00:00:00\"/></DIDS>";

    // `*` takes any value and DEMOACCOUNT the demo account's number.
    assert!(
        check(&format!(
            "<RESPONSE><RESULT>SUCCESS</RESULT>{did}<VALUE NAME=\"ORDER_ID\">7</VALUE></RESPONSE>"
        ))
        .is_empty()
    );
    let m = check(&format!(
        "<RESPONSE><RESULT>SUCCESS</RESULT>{}<VALUE NAME=\"ORDER_ID\">7</VALUE></RESPONSE>",
        did.replace("1234567890", "9999999999")
    ));
    assert_eq!(m[0].path, "RESPONSE/DIDS/DID[0]@ACCOUNT_NUMBER", "{m:?}");

    // Once the expected reply lists VALUEs, an extra or a missing one fails.
    let m = check(&format!(
        "<RESPONSE><RESULT>SUCCESS</RESULT>{did}<VALUE NAME=\"ORDER_ID\">7</VALUE>\
         <VALUE NAME=\"TEST\">TRUE</VALUE></RESPONSE>"
    ));
    assert_eq!(m[0].path, "RESPONSE/VALUE[1]", "{m:?}");
    let m = check(&format!(
        "<RESPONSE><RESULT>SUCCESS</RESULT>{did}</RESPONSE>"
    ));
    assert_eq!(m[0].path, "RESPONSE/VALUE[0]", "{m:?}");

    // An expected element with no VALUE children leaves the actual's free.
    let lenient = parse("<RESPONSE><RESULT>SUCCESS</RESULT></RESPONSE>").unwrap();
    let actual =
        parse("<RESPONSE><RESULT>SUCCESS</RESULT><VALUE NAME=\"X\">1</VALUE></RESPONSE>").unwrap();
    assert!(compare(&lenient, &actual, "").is_empty());

    // Entities are resolved before comparing, and text is trimmed.
    let escaped = parse("<E>  a &lt;b&gt; &amp; &#99;  </E>").unwrap();
    assert_eq!(escaped.text, "a <b> & c");
}
