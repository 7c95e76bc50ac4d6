//! Property tests for the wire codecs, without a server: the XML envelope
//! decoder (PROTOCOL.md section 2), the GET form decoder (section 1), the
//! JSON front's decoder (section 6), and the XML and JSON reply writers
//! (sections 3 and 6).
//!
//! It guards that no input, however hostile, makes a decoder panic or hang;
//! that structurally mutated envelopes are read exactly as a reference
//! reading of the contract says (accepted ones with one action, unique
//! upper-case parameter names and trimmed values); that keys, action names
//! and parameter values survive every legal way of encoding them; and that
//! replies and error replies are well-formed and carry every string
//! unchanged. The cargo-fuzz targets under `fuzz/` drive the same decoders
//! with their own invariant checks; the checks below are this file's own,
//! run on every `cargo test` even where no nightly toolchain is installed.
//!
//! Codec bugs found by these properties, and by the probes written
//! alongside them, are kept as regression tests at the end of
//! the file, each with its minimal counter-example.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use didgate::domain::{Did, DidStatus, DidType, E164, Money100, ReservationId, format_time};
use didgate::{Error, ErrorCode};
use didgate_anveo::xml::{self, Payload, Reply};
use didgate_anveo::{ApiRequest, decode_request, query};
use didgate_core::command::{Command, DidOrder, NumberOf, OrderSource, Request};
use didgate_core::domain::{Label, RatePlanId};
use didgate_core::outcome::Outcome;
use didgate_json::{self as json, Call, JsonCodec, Method, Rejection};
use proptest::prelude::*;
use proptest::sample::Index;
use quick_xml::events::{BytesStart, Event};
use serde_json::{Value, json};

// ---------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------

/// How long one decode or render may take. Inputs here are at most a few
/// KiB (the pathological ones 1 MB) and take microseconds; the limit is
/// generous so that only a hang or a super-linear path trips it, never a
/// loaded CI machine.
const LIMIT: Duration = Duration::from_secs(5);

/// Planted in envelopes; an error text must never repeat it (section 2).
const MARKER: &str = "PAYLOADMARKER";

/// Every contract error code, for the error renderers.
const CODES: [ErrorCode; 14] = [
    ErrorCode::AuthFailed,
    ErrorCode::AccessDenied,
    ErrorCode::UnknownAction,
    ErrorCode::MissingParameter,
    ErrorCode::InvalidParameter,
    ErrorCode::NotFound,
    ErrorCode::OutOfStock,
    ErrorCode::InsufficientFunds,
    ErrorCode::Conflict,
    ErrorCode::MalformedRequest,
    ErrorCode::RequestTooLarge,
    ErrorCode::RateLimited,
    ErrorCode::Unavailable,
    ErrorCode::Internal,
];

/// The proptest configuration of every property: a fixed number of cases
/// and no regression files, because a failure must become a named
/// `#[test]` here rather than a file beside the sources.
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Runs `f` on a watchdog thread. A hang fails the test after `limit`
/// instead of stalling the whole run, and a panic inside `f` is passed on
/// unchanged so proptest can shrink it.
#[track_caller]
fn within<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    let worker = std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(limit) {
        Ok(value) => {
            let _ = worker.join();
            value
        }
        Err(RecvTimeoutError::Timeout) => {
            panic!("no answer within {limit:?}: a hang or a super-linear path")
        }
        Err(RecvTimeoutError::Disconnected) => match worker.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => unreachable!("the worker ended without sending"),
        },
    }
}

/// The characters XML 1.0 allows in a document (its `Char` production).
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// A parameter or action name as both request fronts accept it.
fn is_wire_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// What the actions rely on in any decoded request, whichever front it
/// came through: names upper case, valid and unique; values and the key
/// trimmed; an absent key rather than an empty one; an action.
#[track_caller]
fn assert_request_invariants(r: &ApiRequest) {
    assert!(!r.action.is_empty(), "empty action in {r:?}");
    assert_eq!(r.action, r.action.trim(), "untrimmed action in {r:?}");
    if let Some(key) = &r.key {
        assert!(!key.is_empty(), "empty key in {r:?}");
        assert_eq!(key, key.trim(), "untrimmed key in {r:?}");
    }
    for (i, (name, value)) in r.params.iter().enumerate() {
        assert!(is_wire_name(name), "bad parameter name {name:?} in {r:?}");
        assert_eq!(*name, name.to_ascii_uppercase(), "lower case name in {r:?}");
        assert!(
            r.params[..i].iter().all(|(n, _)| n != name),
            "{name} twice in {r:?}"
        );
        assert_eq!(value, value.trim(), "untrimmed value of {name} in {r:?}");
    }
}

/// The `Err` of a request decoder: the given code, and a text that never
/// repeats what the client sent.
#[track_caller]
fn assert_clean_error(e: &Error, code: ErrorCode) {
    assert_eq!(e.code(), code, "{e}");
    assert!(
        !e.public_message().contains(MARKER),
        "echoes the payload: {e}"
    );
}

// ---------------------------------------------------------------------------
// Every decoder on any input
// ---------------------------------------------------------------------------

/// Decodes `data` as an XML envelope: an accepted one satisfies the request
/// invariants and goes on to the typed decoding (which never fails, only
/// reports); a refused one is MALFORMED_REQUEST and renders as an XML error.
fn check_xml_envelope(data: &[u8]) {
    check_anveo_form(xml::decode(data));
}

/// Decodes `data` as a GET form query, like [`check_xml_envelope`]. The
/// server hands the decoder the URI's query as text; lossy UTF-8 keeps
/// every input reachable.
fn check_get_form(data: &[u8]) {
    check_anveo_form(query::decode(&String::from_utf8_lossy(data)));
}

fn check_anveo_form(decoded: Result<ApiRequest, Error>) {
    match decoded {
        Ok(request) => {
            assert_request_invariants(&request);
            let key = request.key.clone();
            let typed = decode_request(request);
            assert_eq!(typed.key, key);
            if let Ok(r) = &typed.request {
                assert_eq!(typed.action, Some(r.command.name()));
            }
        }
        Err(e) => {
            assert_eq!(e.code(), ErrorCode::MalformedRequest, "{e}");
            let _ = xml::render_error(e.code(), &e.public_message());
        }
    }
}

/// Decodes `data` as a JSON call with the key `fuzz`: an accepted call
/// carries the key and the command its method names, with no `TEST` and no
/// `REQUEST_ID`; a refusal is MALFORMED_REQUEST at once, or anything after
/// authentication with the key beside it.
fn check_json_call(data: &[u8]) {
    match json::decode(data, "apikey=fuzz") {
        Ok(call) => {
            assert_eq!(call.key.as_deref(), Some("fuzz"));
            assert_eq!(call.request.command.name(), call.method.command_name());
            assert!(!call.request.test && call.request.request_id.is_none());
        }
        Err(Rejection::Malformed(e)) => {
            assert_eq!(e.code(), ErrorCode::MalformedRequest);
            let _ = JsonCodec::new(None).render_error(e.code(), &e.public_message());
        }
        Err(Rejection::AfterAuth { key, error }) => {
            assert_eq!(key.as_deref(), Some("fuzz"));
            let _ = JsonCodec::new(None).render_error(error.code(), &error.public_message());
        }
    }
}

#[test]
fn decoder_checks_accept_their_seed_inputs() {
    // Each check must reach its "accepted" branch on a valid input, or the
    // invariants it asserts would never be exercised.
    let envelope = b"<?xml version=\"1.0\"?><REQUEST><USERTOKEN><USERKEY>K</USERKEY></USERTOKEN><ACTION NAME=\"DID.ORDER\"><PARAMETER NAME=\"title\"> a &amp; b </PARAMETER></ACTION></REQUEST>";
    assert!(xml::decode(envelope).is_ok());
    check_xml_envelope(envelope);
    let form = b"userkey=K&action=DID.LIST&param[filter.e164]=1212*";
    assert!(query::decode(std::str::from_utf8(form).unwrap()).is_ok());
    check_get_form(form);
    let call = br#"{"method": "number.return", "params": ["+12125550100"]}"#;
    assert!(json::decode(call, "apikey=fuzz").is_ok());
    check_json_call(call);
    // And the refusal branch, which renders the error.
    for garbage in [&b""[..], b"\xff", b"<", b"{", b"&&=", b"[[]]"] {
        check_xml_envelope(garbage);
        check_get_form(garbage);
        check_json_call(garbage);
    }
}

// ---------------------------------------------------------------------------
// Arbitrary and pathological bytes
// ---------------------------------------------------------------------------

/// Fragments of all three request syntaxes. Concatenating them reaches far
/// deeper into the parsers than uniformly random bytes, which every decoder
/// refuses at the first byte.
const TOKENS: &[&str] = &[
    "<?xml version=\"1.0\"?>",
    "<?xml version=\"1.0\" encoding=\"UTF-16\"?>",
    "<REQUEST>",
    "</REQUEST>",
    "<USERTOKEN>",
    "</USERTOKEN>",
    "<USERKEY>",
    "</USERKEY>",
    "<ACTION NAME=\"DID.ORDER\">",
    "<ACTION NAME='x'/>",
    "</ACTION>",
    "<PARAMETER NAME=\"A\">",
    "<PARAMETER NAME=\"A\" NAME=\"B\">",
    "</PARAMETER>",
    "<PARAMETER/>",
    "<!--",
    "-->",
    "<![CDATA[",
    "]]>",
    "<!DOCTYPE x [<!ENTITY e \"e\">]>",
    "<?pi?>",
    "&amp;",
    "&#x41;",
    "&#0;",
    "&#xD800;",
    "&bogus;",
    "&",
    "<",
    ">",
    "/>",
    "\"",
    "'",
    "=",
    " ",
    "\n",
    "\r",
    "\u{0}",
    "\u{FEFF}",
    "\u{FFFF}",
    "é",
    "userkey=",
    "action=",
    "param[",
    "]",
    "%5B",
    "%5D",
    "%",
    "%FF",
    "%EF%BF%BD",
    "+",
    "{",
    "}",
    "[",
    ",",
    ":",
    "\"method\"",
    "\"params\"",
    "\"did.order.pay\"",
    "\"number.return\"",
    "\"did.configure\"",
    "\"did.reserve\"",
    "null",
    "true",
    "-1",
    "1e999",
    "18446744073709551616",
    "\"\\ud800\"",
    "\"\\u0000\"",
];

/// Up to about 4 KiB: random bytes, or a run of syntax fragments with
/// random bytes spliced in.
fn hostile_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..4096),
        prop::collection::vec(
            prop_oneof![
                6 => prop::sample::select(TOKENS).prop_map(|t| t.as_bytes().to_vec()),
                1 => prop::collection::vec(any::<u8>(), 1..4),
            ],
            0..200,
        )
        .prop_map(|parts| parts.concat()),
    ]
}

proptest! {
    #![proptest_config(config(384))]

    #[test]
    fn arbitrary_bytes_never_panic_or_hang_any_decoder(data in hostile_bytes()) {
        let d = data.clone();
        within(LIMIT, move || check_xml_envelope(&d));
        let d = data.clone();
        within(LIMIT, move || check_get_form(&d));
        within(LIMIT, move || check_json_call(&data));
    }
}

/// Decodes `input` on the watchdog and returns the result and how long it
/// took, for the pathological inputs below.
#[track_caller]
fn timed<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> (T, Duration) {
    let start = Instant::now();
    let value = within(LIMIT, f);
    (value, start.elapsed())
}

#[test]
fn pathological_envelopes_are_refused_quickly() {
    let inside = "<REQUEST><USERTOKEN/><ACTION NAME=\"X\"><PARAMETER NAME=\"A\">";
    let many_params: String = (0..2000)
        .map(|i| format!("<PARAMETER NAME=\"P{i}\">v</PARAMETER>"))
        .collect();
    let many_attributes: String = (0..10_000).map(|i| format!(" a{i}=\"\"")).collect();
    let cases: Vec<(&str, String)> = vec![
        ("100k nested <A>", "<A>".repeat(100_000)),
        (
            "100k nested <A> inside a PARAMETER",
            format!("{inside}{}", "<A>".repeat(100_000)),
        ),
        ("100k nested <REQUEST>", "<REQUEST>".repeat(100_000)),
        (
            "100k nested <USERTOKEN>",
            format!("<REQUEST>{}", "<USERTOKEN>".repeat(100_000)),
        ),
        ("1 MB of &amp; before the root", "&amp;".repeat(200_000)),
        (
            "1 MB of &amp; between envelope elements",
            format!("<REQUEST>{}</REQUEST>", "&amp;".repeat(200_000)),
        ),
        (
            "1 MB of unknown entities in a value",
            format!("{inside}{}", "&x;".repeat(330_000)),
        ),
        (
            "1 MB unclosed comment",
            format!("<REQUEST><!--{}", "-".repeat(1 << 20)),
        ),
        (
            "1 MB unclosed CDATA",
            format!("{inside}<![CDATA[{}", "]".repeat(1 << 20)),
        ),
        (
            "1 MB unclosed attribute",
            format!("<REQUEST><ACTION NAME=\"{}", "a".repeat(1 << 20)),
        ),
        (
            "1 MB of one value, unclosed",
            format!("{inside}{}", "v".repeat(1 << 20)),
        ),
        (
            "2000 parameters",
            format!("<REQUEST><USERTOKEN/><ACTION NAME=\"X\">{many_params}</ACTION></REQUEST>"),
        ),
        (
            "10k attributes, then a duplicate",
            format!(
                "<REQUEST><USERTOKEN/><ACTION NAME=\"X\"{many_attributes} a0=\"\"></ACTION></REQUEST>"
            ),
        ),
        (
            "1 MB of closing tags",
            format!("<REQUEST>{}", "</REQUEST>".repeat(100_000)),
        ),
    ];
    for (what, body) in cases {
        let (result, elapsed) = timed(move || xml::decode(body.as_bytes()));
        match result {
            Err(e) => assert_clean_error(&e, ErrorCode::MalformedRequest),
            Ok(r) => panic!("{what}: accepted as {:?}", r.action),
        }
        assert!(elapsed < Duration::from_secs(2), "{what}: {elapsed:?}");
    }
}

#[test]
fn huge_valid_values_decode_in_linear_time() {
    // 1 MB of `&amp;` is a legal value: the decoder must resolve it, not
    // refuse it, and in time proportional to its size. The server's body
    // limit (64 KiB) is a transport concern the decoder does not rely on.
    let body = format!(
        "<REQUEST><USERTOKEN/><ACTION NAME=\"X\"><PARAMETER NAME=\"A\">{}</PARAMETER></ACTION></REQUEST>",
        "&amp;".repeat(200_000)
    );
    let (result, elapsed) = timed(move || xml::decode(body.as_bytes()));
    let r = result.expect("a long legal value");
    assert_eq!(r.params[0].1, "&".repeat(200_000));
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
}

#[test]
fn pathological_json_calls_are_refused_quickly() {
    let cases: Vec<(&str, String)> = vec![
        (
            "100k nested arrays",
            format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)),
        ),
        ("100k unclosed arrays", "[".repeat(100_000)),
        (
            "100k nested objects",
            format!("{}1{}", "{\"a\":".repeat(100_000), "}".repeat(100_000)),
        ),
        (
            "100k nested params",
            format!(
                "{{\"method\": \"number.return\", \"params\": {}{}}}",
                "[".repeat(100_000),
                "]".repeat(100_000)
            ),
        ),
        (
            "1 MB method name",
            format!(
                "{{\"method\": \"{}\", \"params\": []}}",
                "<".repeat(1 << 20)
            ),
        ),
        (
            "1 MB of escapes in the method name",
            format!(
                "{{\"method\": \"{}\", \"params\": []}}",
                "\\u0041".repeat(170_000)
            ),
        ),
        (
            "100k params",
            format!(
                "{{\"method\": \"number.return\", \"params\": [{}1]}}",
                "1,".repeat(100_000)
            ),
        ),
        ("1 MB of whitespace", " ".repeat(1 << 20)),
    ];
    for (what, body) in cases {
        let (result, elapsed) = timed(move || json::decode(body.as_bytes(), "apikey=K"));
        assert!(result.is_err(), "{what}: accepted");
        assert!(elapsed < Duration::from_secs(2), "{what}: {elapsed:?}");
    }
}

#[test]
fn pathological_get_forms_are_refused_quickly() {
    let distinct: String = (0..100_000).map(|i| format!("param[P{i}]=1&")).collect();
    let cases: Vec<(&str, String)> = vec![
        ("1 MB of separators", "&".repeat(1 << 20)),
        ("1 MB of percent signs", "%".repeat(1 << 20)),
        (
            "100k repeats of one parameter",
            format!("action=X&{}", "param[A]=1&".repeat(100_000)),
        ),
        ("100k distinct parameters", format!("action=X&{distinct}")),
        (
            "100k parameters without an action",
            "param[A]=%FF&".repeat(100_000),
        ),
        (
            "1 MB key without an action",
            format!("userkey={}", "k".repeat(1 << 20)),
        ),
    ];
    for (what, q) in cases {
        let (result, elapsed) = timed(move || query::decode(&q));
        match result {
            Err(e) => assert_clean_error(&e, ErrorCode::MalformedRequest),
            Ok(r) => panic!("{what}: accepted as {:?}", r.action),
        }
        assert!(elapsed < Duration::from_secs(2), "{what}: {elapsed:?}");
    }
}

// ---------------------------------------------------------------------------
// Structured envelopes and a reference reading of section 2
// ---------------------------------------------------------------------------

/// One node of a generated document. The generator builds trees from the
/// envelope's vocabulary with random deviations; [`write_doc`] serialises
/// them and [`reference`] reads them as PROTOCOL.md section 2 says.
#[derive(Clone, Debug)]
enum Node {
    Element(Element),
    /// Literal characters, escaped when written.
    Text(String),
    /// `&name;`, written as is: predefined, character, or bad references.
    Ref(&'static str),
    /// Content of a CDATA section (never holds `]]>`).
    CData(String),
    /// Content of a comment (never holds `-`).
    Comment(String),
    /// A processing instruction other than the XML declaration.
    Pi,
    /// A DOCTYPE with an entity declaration.
    Doctype,
    /// An XML declaration somewhere other than the start.
    LateDecl,
}

#[derive(Clone, Debug)]
struct Element {
    name: &'static str,
    attrs: Vec<Attr>,
    children: Vec<Node>,
    /// Written as `<X/>` when it has no children.
    self_closing: bool,
}

#[derive(Clone, Debug)]
struct Attr {
    name: &'static str,
    value: Vec<AttrPiece>,
}

#[derive(Clone, Debug)]
enum AttrPiece {
    Text(String),
    Ref(&'static str),
}

#[derive(Clone, Debug)]
struct Doc {
    bom: bool,
    /// `None`: no declaration; `Some(None)`: one without an encoding.
    decl: Option<Option<&'static str>>,
    prolog: Vec<Node>,
    root: Node,
    epilog: Vec<Node>,
}

/// References, valid and not. `#X41` (upper-case X), out-of-range and
/// non-character references and undeclared entities are all refused.
const REFS: &[&str] = &[
    "amp", "lt", "gt", "quot", "apos", "#65", "#0065", "#x41", "#x20", "#9", "#10", "#13",
    "#x3000", "#xA0", "#x1F600", "#x10FFFF", "#0", "#1", "#x1F", "#xFFFE", "#xD800", "#x110000",
    "#X41", "#", "#x", "#xZZ", "bogus", "nbsp", "AMP", "",
];

fn ref_name() -> impl Strategy<Value = &'static str> + Clone {
    // Mostly valid references, so that values are often accepted.
    prop_oneof![
        6 => prop::sample::select(&REFS[..16]),
        1 => prop::sample::select(REFS),
    ]
}

/// A character for values: markup characters, XML whitespace including
/// CR, non-ASCII, and (rarely) anything XML allows. Raw control characters
/// and non-characters are left to their own `#[ignore]`d test.
fn value_char() -> impl Strategy<Value = char> + Clone {
    prop_oneof![
        6 => prop::char::range(' ', '~'),
        2 => prop::sample::select(vec![' ', '\t', '\n', '\r', '&', '<', '>', ']', '"', '\'']),
        2 => prop::sample::select(vec![
            'é', 'ß', '日', '😀', '\u{85}', '\u{A0}', '\u{3000}', '\u{FEFF}', '\u{FFFD}',
            '\u{2028}', '\u{10FFFF}',
        ]),
        1 => any::<char>().prop_filter("an XML character", |c| {
            is_xml_char(*c) && (!c.is_control() || c.is_whitespace())
        }),
    ]
}

fn value_text(max: usize) -> impl Strategy<Value = String> + Clone {
    prop::collection::vec(value_char(), 0..max).prop_map(String::from_iter)
}

fn comment_text() -> impl Strategy<Value = String> + Clone {
    "[a-zA-Z0-9 <>&'\"]{0,10}"
}

/// A CDATA section. It never holds `]]>`, which would end it, nor CR,
/// whose line-end normalisation the decoder skips inside CDATA (see
/// `cdata_line_ends_are_normalised`).
fn cdata(text: String) -> Node {
    Node::CData(text.replace("]]>", "]]").replace('\r', ""))
}

/// Whitespace and comments, allowed between envelope elements.
fn filler() -> BoxedStrategy<Node> {
    prop_oneof![
        4 => prop::sample::select(vec![" ", "\n", "\n  ", "\t", "\r\n"])
            .prop_map(|s| Node::Text(s.into())),
        1 => comment_text().prop_map(Node::Comment),
    ]
    .boxed()
}

fn fillers() -> BoxedStrategy<Vec<Node>> {
    prop::collection::vec(filler(), 0..3).boxed()
}

/// Any element name of the vocabulary, or a near miss.
fn element_name() -> impl Strategy<Value = &'static str> + Clone {
    prop::sample::select(vec![
        "REQUEST",
        "USERTOKEN",
        "USERKEY",
        "ACTION",
        "PARAMETER",
        "VALUE",
        "RESPONSE",
        "request",
        "Parameter",
        "X",
    ])
}

/// An element in a random place: text-only children, maybe a NAME.
fn decoy() -> BoxedStrategy<Node> {
    (
        element_name(),
        prop::option::of(param_name()),
        prop::collection::vec(value_text(4).prop_map(Node::Text), 0..2),
        any::<bool>(),
    )
        .prop_map(|(name, attr, children, self_closing)| {
            Node::Element(Element {
                name,
                attrs: attr
                    .map(|n| Attr {
                        name: "NAME",
                        value: vec![AttrPiece::Text(n)],
                    })
                    .into_iter()
                    .collect(),
                children,
                self_closing,
            })
        })
        .boxed()
}

/// Something that does not belong between envelope elements.
fn junk() -> BoxedStrategy<Node> {
    prop_oneof![
        value_text(6)
            .prop_filter("visible text", |t| !t.trim().is_empty())
            .prop_map(Node::Text),
        ref_name().prop_map(Node::Ref),
        value_text(4).prop_map(cdata),
        Just(Node::Pi),
        Just(Node::Doctype),
        decoy(),
    ]
    .boxed()
}

/// Rarely, one piece of junk.
fn maybe_junk() -> BoxedStrategy<Option<Node>> {
    prop::option::weighted(0.05, junk()).boxed()
}

/// Children of `USERKEY` or `PARAMETER`: text, references, CDATA,
/// comments, and rarely an element.
fn value_children() -> BoxedStrategy<Vec<Node>> {
    (
        prop::collection::vec(
            prop_oneof![
                8 => value_text(8).prop_map(Node::Text),
                3 => ref_name().prop_map(Node::Ref),
                1 => value_text(6).prop_map(cdata),
                1 => comment_text().prop_map(Node::Comment),
            ],
            0..5,
        ),
        prop::option::weighted(0.03, decoy()),
    )
        .prop_map(|(mut v, d)| {
            v.extend(d);
            v
        })
        .boxed()
}

fn attr_padding() -> impl Strategy<Value = &'static str> + Clone {
    prop::sample::select(vec!["", " ", "\t", "\n", "\r\n", "  "])
}

/// Attributes other than NAME, which the decoder must ignore.
fn other_attr() -> BoxedStrategy<Attr> {
    (
        prop::sample::select(vec!["ID", "TEST", "xmlns", "name"]),
        value_text(5),
        // Only valid references: the decoder never reads these attributes,
        // so bad ones go unnoticed (see `start_tags_must_be_well_formed`).
        prop::option::weighted(0.2, prop::sample::select(&REFS[..16])),
    )
        .prop_map(|(name, v, r)| Attr {
            name,
            value: std::iter::once(AttrPiece::Text(v))
                .chain(r.map(AttrPiece::Ref))
                .collect(),
        })
        .boxed()
}

/// Rarely, attributes on REQUEST, USERTOKEN or USERKEY: never the same
/// name twice, since the decoder does not parse these start tags (see
/// `start_tags_must_be_well_formed`).
fn rare_other_attrs() -> BoxedStrategy<Vec<Attr>> {
    prop_oneof![
        19 => Just(Vec::new()),
        1 => prop::collection::vec(other_attr(), 1..3).prop_map(|mut attrs| {
            attrs.dedup_by_key(|a| a.name);
            attrs
        }),
    ]
    .boxed()
}

/// A NAME value: usually a clean name, sometimes padded (the decoder
/// trims), with a reference, or plainly invalid.
fn name_value(names: BoxedStrategy<String>) -> BoxedStrategy<Vec<AttrPiece>> {
    prop_oneof![
        40 => names.clone().prop_map(|n| vec![AttrPiece::Text(n)]),
        2 => (names.clone(), attr_padding(), attr_padding()).prop_map(|(n, a, b)| vec![
            AttrPiece::Text(a.into()),
            AttrPiece::Text(n),
            AttrPiece::Text(b.into()),
        ]),
        1 => (names, ref_name()).prop_map(|(n, r)| vec![AttrPiece::Text(n), AttrPiece::Ref(r)]),
        1 => prop::sample::select(vec![
            String::new(),
            " ".into(),
            "A B".into(),
            "DID/ORDER".into(),
            "É".into(),
            "N".repeat(65),
        ])
        .prop_map(|n| vec![AttrPiece::Text(n)]),
    ]
    .boxed()
}

/// The attributes of ACTION or PARAMETER.
fn name_attrs(names: BoxedStrategy<String>) -> BoxedStrategy<Vec<Attr>> {
    let named = |v| Attr {
        name: "NAME",
        value: v,
    };
    prop_oneof![
        40 => name_value(names.clone()).prop_map(move |v| vec![named(v)]),
        1 => Just(Vec::new()),
        1 => (name_value(names.clone()), other_attr()).prop_map(move |(v, o)| vec![o, named(v)]),
        1 => (name_value(names.clone()), name_value(names))
            .prop_map(move |(a, b)| vec![named(a), named(b)]),
    ]
    .boxed()
}

fn action_name() -> BoxedStrategy<String> {
    prop_oneof![
        prop::sample::select(vec!["DID.ORDER", "did.list", "ANVEO.AREAS.LIST", "X"])
            .prop_map(String::from),
        "[A-Za-z0-9._-]{1,64}",
    ]
    .boxed()
}

fn param_name() -> BoxedStrategy<String> {
    prop_oneof![
        prop::sample::select(vec![
            "DID_TYPE",
            "did_type",
            "AREA_ID",
            "TITLE",
            "E164",
            "FILTER.E164",
            "X-Y",
            "a",
            "Z9",
        ])
        .prop_map(String::from),
        "[A-Za-z0-9._-]{1,8}",
    ]
    .boxed()
}

fn element(
    name: &'static str,
    attrs: BoxedStrategy<Vec<Attr>>,
    children: BoxedStrategy<Vec<Node>>,
) -> BoxedStrategy<Node> {
    (attrs, children, any::<bool>())
        .prop_map(move |(attrs, children, self_closing)| {
            Node::Element(Element {
                name,
                attrs,
                children,
                self_closing,
            })
        })
        .boxed()
}

/// How many of a required element: usually one, sometimes none or two.
fn copies(node: BoxedStrategy<Node>) -> BoxedStrategy<Vec<Node>> {
    prop_oneof![
        18 => prop::collection::vec(node.clone(), 1),
        1 => Just(Vec::new()),
        1 => prop::collection::vec(node, 2),
    ]
    .boxed()
}

/// `parts` in a random order.
fn shuffled(parts: Vec<BoxedStrategy<Vec<Node>>>) -> BoxedStrategy<Vec<Node>> {
    parts
        .into_iter()
        .fold(Just(Vec::new()).boxed(), |acc, part| {
            (acc, part)
                .prop_map(|(mut a, b)| {
                    a.extend(b);
                    a
                })
                .boxed()
        })
        .prop_flat_map(|v| Just(v).prop_shuffle())
        .boxed()
}

fn junk_part() -> BoxedStrategy<Vec<Node>> {
    maybe_junk().prop_map(|j| j.into_iter().collect()).boxed()
}

fn request_element() -> BoxedStrategy<Node> {
    let userkey = element("USERKEY", rare_other_attrs(), value_children());
    let usertoken = element(
        "USERTOKEN",
        rare_other_attrs(),
        shuffled(vec![copies(userkey), fillers(), junk_part()]),
    );
    let parameter = element("PARAMETER", name_attrs(param_name()), value_children());
    let action = element(
        "ACTION",
        name_attrs(action_name()),
        shuffled(vec![
            prop::collection::vec(parameter, 0..6).boxed(),
            fillers(),
            junk_part(),
        ]),
    );
    element(
        "REQUEST",
        rare_other_attrs(),
        shuffled(vec![
            copies(usertoken),
            copies(action),
            fillers(),
            junk_part(),
        ]),
    )
}

fn doc() -> BoxedStrategy<Doc> {
    let decl = prop_oneof![
        6 => Just(None),
        6 => Just(Some(None)),
        4 => Just(Some(Some("UTF-8"))),
        2 => Just(Some(Some("utf-8"))),
        1 => prop::sample::select(vec![Some(Some("ISO-8859-1")), Some(Some("UTF-16"))]),
    ];
    let misc = prop_oneof![
        40 => filler(),
        1 => Just(Node::Pi),
        1 => Just(Node::Doctype),
        1 => Just(Node::LateDecl),
        1 => junk(),
    ];
    (
        prop::bool::weighted(0.1),
        decl,
        prop::collection::vec(misc.clone(), 0..3),
        prop_oneof![30 => request_element(), 1 => decoy()],
        prop::collection::vec(misc, 0..3),
    )
        .prop_map(|(bom, decl, prolog, root, epilog)| Doc {
            bom,
            decl,
            prolog,
            root,
            epilog,
        })
        .boxed()
}

/// Escapes element text: `&` and `<` always, `>` only after `]]`, so that
/// most markup characters travel raw as a real client would send them.
fn push_text(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' if out.ends_with("]]") => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
}

fn write_node(out: &mut String, node: &Node) {
    match node {
        Node::Element(e) => {
            out.push('<');
            out.push_str(e.name);
            for (i, a) in e.attrs.iter().enumerate() {
                // Alternate the quote character, deterministically, so both
                // are exercised without another generated field.
                let quote = if (i + e.name.len()) % 2 == 0 {
                    '"'
                } else {
                    '\''
                };
                out.push(' ');
                out.push_str(a.name);
                out.push('=');
                out.push(quote);
                for piece in &a.value {
                    match piece {
                        AttrPiece::Text(t) => {
                            for c in t.chars() {
                                match c {
                                    '&' => out.push_str("&amp;"),
                                    '<' => out.push_str("&lt;"),
                                    '"' if quote == '"' => out.push_str("&quot;"),
                                    '\'' if quote == '\'' => out.push_str("&apos;"),
                                    c => out.push(c),
                                }
                            }
                        }
                        AttrPiece::Ref(r) => {
                            out.push('&');
                            out.push_str(r);
                            out.push(';');
                        }
                    }
                }
                out.push(quote);
            }
            if e.children.is_empty() && e.self_closing {
                out.push_str("/>");
            } else {
                out.push('>');
                for child in &e.children {
                    write_node(out, child);
                }
                out.push_str("</");
                out.push_str(e.name);
                out.push('>');
            }
        }
        Node::Text(t) => push_text(out, t),
        Node::Ref(r) => {
            out.push('&');
            out.push_str(r);
            out.push(';');
        }
        Node::CData(t) => {
            out.push_str("<![CDATA[");
            out.push_str(t);
            out.push_str("]]>");
        }
        Node::Comment(t) => {
            out.push_str("<!--");
            out.push_str(t);
            out.push_str("-->");
        }
        Node::Pi => out.push_str("<?pi data?>"),
        Node::Doctype => out.push_str("<!DOCTYPE REQUEST [<!ENTITY e \"e\">]>"),
        Node::LateDecl => out.push_str("<?xml version=\"1.0\"?>"),
    }
}

fn write_doc(doc: &Doc) -> String {
    let mut out = String::new();
    if doc.bom {
        out.push('\u{FEFF}');
    }
    match doc.decl {
        None => {}
        Some(None) => out.push_str("<?xml version=\"1.0\" standalone=\"no\" ?>\n"),
        Some(Some(enc)) => {
            out.push_str(&format!("<?xml version=\"1.0\" encoding=\"{enc}\"?>\n"));
        }
    }
    for n in &doc.prolog {
        write_node(&mut out, n);
    }
    write_node(&mut out, &doc.root);
    for n in &doc.epilog {
        write_node(&mut out, n);
    }
    out
}

/// XML's end-of-line handling: CR LF and lone CR become LF.
fn normalize_eol(t: &str) -> String {
    t.replace("\r\n", "\n").replace('\r', "\n")
}

/// The character a reference stands for, if it is one XML allows without
/// a DTD: the five predefined entities and references to XML characters.
fn resolve_ref(name: &str) -> Option<char> {
    match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        _ => {
            let num = name.strip_prefix('#')?;
            let code = match num.strip_prefix('x') {
                Some(hex) if !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()) => {
                    u32::from_str_radix(hex, 16).ok()?
                }
                Some(_) => return None,
                None if !num.is_empty() && num.bytes().all(|b| b.is_ascii_digit()) => {
                    num.parse().ok()?
                }
                None => return None,
            };
            char::from_u32(code).filter(|c| is_xml_char(*c))
        }
    }
}

/// XML well-formedness of a start tag's attributes: names unique, every
/// reference resolvable.
fn attrs_well_formed(attrs: &[Attr]) -> Option<()> {
    for (i, a) in attrs.iter().enumerate() {
        if attrs[..i].iter().any(|b| b.name == a.name) {
            return None;
        }
        for piece in &a.value {
            if let AttrPiece::Ref(r) = piece {
                resolve_ref(r)?;
            }
        }
    }
    Some(())
}

/// The NAME of ACTION or PARAMETER after XML attribute-value normalisation
/// (literal whitespace becomes spaces, references do not) and trimming.
fn name_attribute(attrs: &[Attr]) -> Option<String> {
    attrs_well_formed(attrs)?;
    let attr = attrs.iter().find(|a| a.name == "NAME")?;
    let mut value = String::new();
    for piece in &attr.value {
        match piece {
            AttrPiece::Text(t) => value.push_str(&normalize_eol(t).replace(['\n', '\t'], " ")),
            AttrPiece::Ref(r) => value.push(resolve_ref(r)?),
        }
    }
    let name = value.trim();
    is_wire_name(name).then(|| name.to_owned())
}

/// Whitespace and comments: all that may sit between envelope elements.
fn ignorable(node: &Node) -> Option<()> {
    match node {
        Node::Text(t) if t.trim().is_empty() => Some(()),
        Node::Comment(_) => Some(()),
        _ => None,
    }
}

/// The text of USERKEY or PARAMETER: text with line ends normalised,
/// references resolved, CDATA verbatim (also line-end normalised, as XML
/// normalises the whole document), comments dropped; then trimmed. The
/// contract does not say which whitespace; like the decoder, this trims
/// Unicode whitespace (`str::trim`), so a leading U+00A0 or U+3000 goes too.
fn text_value(children: &[Node]) -> Option<String> {
    let mut out = String::new();
    // Adjacent text nodes are one run of characters on the wire, so a CR
    // at the end of one and an LF at the start of the next are one line end.
    let mut run = String::new();
    for child in children {
        if let Node::Text(t) = child {
            run.push_str(t);
            continue;
        }
        out.push_str(&normalize_eol(&std::mem::take(&mut run)));
        match child {
            Node::Ref(r) => out.push(resolve_ref(r)?),
            Node::CData(t) => out.push_str(&normalize_eol(t)),
            Node::Comment(_) => {}
            _ => return None,
        }
    }
    out.push_str(&normalize_eol(&run));
    Some(out.trim().to_owned())
}

/// Reads a generated document as PROTOCOL.md section 2 says: `None` where
/// the contract refuses it, else the request it carries.
fn reference(doc: &Doc) -> Option<ApiRequest> {
    if let Some(Some(enc)) = doc.decl {
        if !enc.eq_ignore_ascii_case("UTF-8") {
            return None;
        }
    }
    for (i, n) in doc.prolog.iter().enumerate() {
        // A declaration with nothing before it is simply the declaration.
        let first = i == 0 && doc.decl.is_none();
        if !(first && matches!(n, Node::LateDecl)) {
            ignorable(n)?;
        }
    }
    for n in &doc.epilog {
        ignorable(n)?;
    }
    let Node::Element(root) = &doc.root else {
        return None;
    };
    if root.name != "REQUEST" {
        return None;
    }
    attrs_well_formed(&root.attrs)?;
    let (mut tokens, mut key, mut action, mut params) = (0, None, None, Vec::new());
    for child in &root.children {
        match child {
            Node::Element(e) if e.name == "USERTOKEN" => {
                tokens += 1;
                attrs_well_formed(&e.attrs)?;
                let mut keys = 0;
                for c in &e.children {
                    match c {
                        Node::Element(k) if k.name == "USERKEY" => {
                            keys += 1;
                            attrs_well_formed(&k.attrs)?;
                            key = Some(text_value(&k.children)?);
                        }
                        other => ignorable(other)?,
                    }
                }
                if keys > 1 {
                    return None;
                }
            }
            Node::Element(e) if e.name == "ACTION" => {
                if action.is_some() {
                    return None;
                }
                action = Some(name_attribute(&e.attrs)?);
                for c in &e.children {
                    match c {
                        Node::Element(p) if p.name == "PARAMETER" => {
                            let name = name_attribute(&p.attrs)?.to_ascii_uppercase();
                            if params.iter().any(|(n, _)| *n == name) {
                                return None;
                            }
                            params.push((name, text_value(&p.children)?));
                        }
                        other => ignorable(other)?,
                    }
                }
            }
            other => ignorable(other)?,
        }
    }
    if tokens != 1 {
        return None;
    }
    Some(ApiRequest {
        key: key.filter(|k: &String| !k.is_empty()),
        action: action?,
        params,
    })
}

proptest! {
    #![proptest_config(config(1024))]

    #[test]
    fn mutated_envelopes_are_read_as_the_contract_says(doc in doc()) {
        let text = write_doc(&doc);
        let expected = reference(&doc);
        let bytes = text.clone().into_bytes();
        let got = within(LIMIT, move || xml::decode(&bytes));
        match &got {
            Ok(r) => {
                assert_request_invariants(r);
                prop_assert!(is_wire_name(&r.action), "action {:?}", r.action);
            }
            Err(e) => prop_assert_eq!(e.code(), ErrorCode::MalformedRequest),
        }
        prop_assert_eq!(got.ok(), expected, "envelope:\n{}", text);
    }
}

// ---------------------------------------------------------------------------
// Round trips through the request decoders
// ---------------------------------------------------------------------------

/// A character of a round-tripped value: anything but a control character
/// (the contract's values never hold one), weighted towards the markup and
/// URL characters each codec must escape, and towards whitespace that
/// trimming must treat as the decoders do.
fn clean_char() -> impl Strategy<Value = char> + Clone {
    prop_oneof![
        4 => prop::char::range(' ', '~'),
        2 => prop::sample::select(vec![
            '&', '<', '>', '"', '\'', ' ', '%', '+', '=', '#', ';', '[', ']', '\\', '?', '/',
        ]),
        2 => prop::sample::select(vec![
            'é', 'ß', '日', '😀', '\u{A0}', '\u{3000}', '\u{FEFF}', '\u{200B}', '\u{2028}',
            '\u{10FFFF}', '\u{E000}', '\u{FFFD}',
        ]),
        1 => any::<char>(),
    ]
    .prop_filter("no control characters", |c| !c.is_control())
}

/// A value for the XML envelope: also no non-characters, which XML 1.0
/// cannot carry at all.
fn xml_value() -> impl Strategy<Value = String> + Clone {
    prop::collection::vec(
        clean_char().prop_filter("an XML character", |c| is_xml_char(*c)),
        0..16,
    )
    .prop_map(String::from_iter)
}

/// A value for the GET form. U+FFFD is left out: the decoder takes it for
/// a decoding failure (see `get_form_keeps_a_literal_replacement_character`).
fn form_value() -> impl Strategy<Value = String> + Clone {
    prop::collection::vec(
        clean_char().prop_filter("not U+FFFD", |c| *c != '\u{FFFD}'),
        0..16,
    )
    .prop_map(String::from_iter)
}

/// Unique parameter names (`[A-Z0-9_.]{1,20}`) with values, in random order.
fn params_of(
    value: impl Strategy<Value = String> + Clone,
) -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::btree_map("[A-Z0-9_.]{1,20}", value, 0..8)
        .prop_map(|m| m.into_iter().collect::<Vec<_>>())
        .prop_shuffle()
}

/// How one string is written into the envelope.
#[derive(Clone, Debug)]
struct Encoding {
    /// 0: every markup character as an entity; 1: only `&` and `<`;
    /// 2: decimal character references; 3: hex ones; 4: CDATA; 5: a mix
    /// of all of them, character by character, driven by `seed`.
    style: u8,
    seed: u64,
    before: &'static str,
    after: &'static str,
    /// A comment right after the opening tag.
    comment: bool,
}

fn encoding() -> impl Strategy<Value = Encoding> {
    let pad = prop::sample::select(vec!["", " ", "\n    ", "\t", "\r\n  "]);
    (0u8..6, any::<u64>(), pad.clone(), pad, any::<bool>()).prop_map(
        |(style, seed, before, after, comment)| Encoding {
            style,
            seed,
            before,
            after,
            comment,
        },
    )
}

fn encode_xml_text(value: &str, e: &Encoding) -> String {
    let mut out = String::new();
    if e.comment {
        out.push_str("<!-- a comment -->");
    }
    out.push_str(e.before);
    let mut seed = e.seed;
    let mut in_cdata = false;
    for c in value.chars() {
        let style = if e.style == 5 {
            // A tiny LCG: deterministic per case, varied per character.
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((seed >> 33) % 5) as u8
        } else {
            e.style
        };
        if style != 4 && in_cdata {
            out.push_str("]]>");
            in_cdata = false;
        }
        match style {
            0 => match c {
                '&' => out.push_str("&amp;"),
                '<' => out.push_str("&lt;"),
                '>' => out.push_str("&gt;"),
                '"' => out.push_str("&quot;"),
                '\'' => out.push_str("&apos;"),
                c => out.push(c),
            },
            1 => push_text(&mut out, &c.to_string()),
            2 => out.push_str(&format!("&#{};", c as u32)),
            3 => out.push_str(&format!("&#x{:X};", c as u32)),
            _ => {
                if !in_cdata {
                    out.push_str("<![CDATA[");
                    in_cdata = true;
                }
                out.push(c);
                // `]]>` cannot appear inside CDATA: close the section
                // after every `]]` so the next `>` starts a new one.
                if out.ends_with("]]") {
                    out.push_str("]]><![CDATA[");
                }
            }
        }
    }
    if in_cdata {
        out.push_str("]]>");
    }
    out.push_str(e.after);
    out
}

/// The layout of a generated envelope around its strings.
#[derive(Clone, Debug)]
struct Layout {
    bom: bool,
    decl: bool,
    action_first: bool,
    single_quotes: bool,
    key: Encoding,
    params: Vec<(Encoding, bool)>,
}

fn layout() -> impl Strategy<Value = Layout> {
    (
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        encoding(),
        prop::collection::vec((encoding(), any::<bool>()), 8),
    )
        .prop_map(
            |(bom, decl, action_first, single_quotes, key, params)| Layout {
                bom,
                decl,
                action_first,
                single_quotes,
                key,
                params,
            },
        )
}

/// An envelope carrying exactly `key`, `action` and `params`, written as
/// `layout` says. Parameter names are sometimes sent in lower case, which
/// the decoder must upper-case.
fn build_envelope(key: &str, action: &str, params: &[(String, String)], layout: &Layout) -> String {
    let q = if layout.single_quotes { '\'' } else { '"' };
    let mut params_xml = String::new();
    for ((name, value), (enc, lower)) in params.iter().zip(&layout.params) {
        let name = if *lower {
            name.to_ascii_lowercase()
        } else {
            name.clone()
        };
        let body = encode_xml_text(value, enc);
        if body.is_empty() {
            params_xml.push_str(&format!("\n    <PARAMETER NAME={q}{name}{q}/>"));
        } else {
            params_xml.push_str(&format!(
                "\n    <PARAMETER NAME={q}{name}{q}>{body}</PARAMETER>"
            ));
        }
    }
    let token = format!(
        "<USERTOKEN><USERKEY>{}</USERKEY></USERTOKEN>",
        encode_xml_text(key, &layout.key)
    );
    let action = format!("<ACTION NAME={q} {action} {q}>{params_xml}\n  </ACTION>");
    let (first, second) = if layout.action_first {
        (action, token)
    } else {
        (token, action)
    };
    format!(
        "{}{}<REQUEST>\n  {first}\n  <!-- between -->\n  {second}\n</REQUEST>\n",
        if layout.bom { "\u{FEFF}" } else { "" },
        if layout.decl {
            "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\" ?>\n"
        } else {
            ""
        },
    )
}

/// The request a decoder must return for these strings.
fn expected_request(key: &str, action: &str, params: &[(String, String)]) -> ApiRequest {
    ApiRequest {
        key: Some(key.trim().to_owned()).filter(|k| !k.is_empty()),
        action: action.to_owned(),
        params: params
            .iter()
            .map(|(n, v)| (n.clone(), v.trim().to_owned()))
            .collect(),
    }
}

fn wire_action() -> impl Strategy<Value = String> {
    "[A-Za-z0-9._-]{1,64}"
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn xml_envelope_round_trips_key_action_and_values(
        key in xml_value(),
        action in wire_action(),
        params in params_of(xml_value()),
        layout in layout(),
    ) {
        let body = build_envelope(&key, &action, &params, &layout);
        let decoded = xml::decode(body.as_bytes());
        prop_assert_eq!(
            decoded.ok(),
            Some(expected_request(&key, &action, &params)),
            "envelope:\n{}",
            body
        );
    }

    #[test]
    fn mutated_valid_envelopes_never_panic_or_echo(
        params in params_of(xml_value().prop_map(|v| format!("{v}{MARKER}{v}"))),
        layout in layout(),
        mutations in prop::collection::vec((any::<Index>(), mutation()), 1..4),
    ) {
        let mut body = build_envelope(MARKER, "DID.ORDER", &params, &layout).into_bytes();
        for (at, m) in &mutations {
            let at = at.index(body.len() + 1);
            m.apply(&mut body, at);
        }
        match within(LIMIT, move || xml::decode(&body)) {
            Ok(r) => assert_request_invariants(&r),
            Err(e) => assert_clean_error(&e, ErrorCode::MalformedRequest),
        }
    }

    #[test]
    fn get_form_round_trips_key_action_and_values(
        key in form_value(),
        action in wire_action(),
        params in params_of(form_value()),
        styles in prop::collection::vec((any::<bool>(), any::<bool>(), 0u8..3), 11),
        extras in prop::collection::vec(
            prop::sample::select(vec!["cb=1700000000", "_=", "utm_source=x%26y", "format=xml", "x"]),
            0..3,
        ),
        key_at in any::<Index>(),
        action_at in any::<Index>(),
    ) {
        let mut pieces = Vec::new();
        for ((name, value), (full, brackets, case)) in params.iter().zip(&styles[2..]) {
            let name = if *case == 1 { name.to_ascii_lowercase() } else { name.clone() };
            let (open, close) = if *brackets { ("%5B", "%5D") } else { ("[", "]") };
            pieces.push(format!(
                "{}{open}{name}{close}={}",
                casing("param", *case),
                encode_form(value, *full)
            ));
        }
        pieces.extend(extras.iter().map(|e| e.to_string()));
        // Parameters must come out in request order; the key, the action
        // and the query keys that are not ours may sit anywhere among them.
        pieces.insert(
            key_at.index(pieces.len() + 1),
            format!("{}={}", casing("userkey", styles[0].2), encode_form(&key, styles[0].0)),
        );
        pieces.insert(
            action_at.index(pieces.len() + 1),
            format!("{}={}", casing("action", styles[1].2), encode_form(&action, styles[1].0)),
        );
        let q = pieces.join("&");
        prop_assert_eq!(
            query::decode(&q).ok(),
            Some(expected_request(&key, &action, &params)),
            "query: {}",
            q
        );
    }
}

/// A byte-level edit of a valid envelope.
#[derive(Clone, Debug)]
enum Mutation {
    Insert(&'static str),
    Delete(usize),
    Duplicate(usize),
    Replace(u8),
}

impl Mutation {
    fn apply(&self, body: &mut Vec<u8>, at: usize) {
        let at = at.min(body.len());
        match self {
            Mutation::Insert(s) => {
                body.splice(at..at, s.bytes());
            }
            Mutation::Delete(n) => {
                body.drain(at..(at + n).min(body.len()));
            }
            Mutation::Duplicate(n) => {
                let part = body[at..(at + n).min(body.len())].to_vec();
                body.splice(at..at, part);
            }
            Mutation::Replace(b) => {
                if at < body.len() {
                    body[at] = *b;
                }
            }
        }
    }
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => prop::sample::select(TOKENS).prop_map(Mutation::Insert),
        1 => (1usize..24).prop_map(Mutation::Delete),
        1 => (1usize..48).prop_map(Mutation::Duplicate),
        1 => any::<u8>().prop_map(Mutation::Replace),
    ]
}

/// `word` in lower, upper or mixed case: the GET form's own keys are
/// matched case-insensitively.
fn casing(word: &str, case: u8) -> String {
    match case {
        0 => word.to_owned(),
        1 => word.to_ascii_uppercase(),
        _ => word
            .chars()
            .enumerate()
            .map(|(i, c)| {
                if i % 2 == 0 {
                    c.to_ascii_uppercase()
                } else {
                    c
                }
            })
            .collect(),
    }
}

/// URL-encodes a value the way browsers do (`+` for spaces), or every
/// byte as `%XX`, as some Anveo client libraries do.
fn encode_form(value: &str, every_byte: bool) -> String {
    if every_byte {
        value.bytes().map(|b| format!("%{b:02X}")).collect()
    } else {
        form_urlencoded::byte_serialize(value.as_bytes()).collect()
    }
}

/// What `number.return` must make of a phone number: digits with at most
/// one leading `+`, after trimming, and an E.164 number (7 to 15 digits,
/// the first not 0), else INVALID_PARAMETER.
fn expected_phone(v: &Value) -> Option<String> {
    let s = match v {
        Value::String(s) => s.trim().to_owned(),
        Value::Number(n) if n.is_u64() => n.to_string(),
        _ => return None,
    };
    let digits = s.strip_prefix('+').unwrap_or(&s);
    ((7..=15).contains(&digits.len())
        && !digits.starts_with('0')
        && digits.bytes().all(|b| b.is_ascii_digit()))
    .then(|| digits.to_owned())
}

fn phone_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => "[ \t\n]{0,2}\\+?[0-9]{0,16}[ \t\n]{0,2}".prop_map(Value::from),
        1 => "\\+?[0-9]{0,5}[^0-9]{1,2}[0-9]{0,5}".prop_map(Value::from),
        2 => any::<String>().prop_map(Value::from),
        1 => any::<u64>().prop_map(Value::from),
        1 => any::<i64>().prop_map(Value::from),
        1 => (-1e9f64..1e9).prop_map(Value::from),
        1 => Just(Value::Null),
        1 => Just(json!({"number": "1"})),
    ]
}

/// A reservation id as `did.reserve` hands them out: `rsv_` and 16
/// lower-case hex digits.
fn is_reservation_id(s: &str) -> bool {
    s.strip_prefix("rsv_")
        .is_some_and(|h| h.len() == 16 && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
}

/// Tokens: real ones (padded, which the decoder trims), near misses and
/// anything at all.
fn order_token() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[ \t\n]{0,2}rsv_[0-9a-f]{16}[ \t\n]{0,2}",
        1 => "rsv_[0-9a-fA-F]{15,17}",
        1 => "(RSV_|rsv-|rsv_ )[0-9a-f]{16}",
        1 => "[ \t]{0,3}",
        2 => any::<String>(),
    ]
}

/// Checks the error of a well-formed call with a bad parameter value:
/// INVALID_PARAMETER, and a text that does not echo the value; an empty
/// value is MISSING_PARAMETER, as on the XML front (section 3; see
/// `json_empty_required_parameters_are_missing`).
#[track_caller]
fn assert_bad_value(error: &Error, trimmed: &str) {
    if trimmed.is_empty() {
        assert_clean_error(error, ErrorCode::MissingParameter);
    } else {
        assert_clean_error(error, ErrorCode::InvalidParameter);
    }
}

/// The JSON front's query string, which carries the key among others.
fn json_query(key: &str) -> String {
    format!(
        "x=1&apikey={}&apikey=second",
        form_urlencoded::byte_serialize(key.as_bytes()).collect::<String>()
    )
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn json_order_pay_round_trips_its_token(
        key in any::<String>(),
        token in order_token(),
        pretty in any::<bool>(),
    ) {
        let call = json!({"id": 7, "method": "did.order.pay", "params": [token]});
        let body = if pretty { serde_json::to_vec_pretty(&call) } else { serde_json::to_vec(&call) };
        let decoded = json::decode(&body.unwrap(), &json_query(&key));
        let key = Some(key.trim().to_owned()).filter(|k| !k.is_empty());
        let trimmed = token.trim();
        if is_reservation_id(trimmed) {
            // Exactly the reservation's numbers, for the caller itself, on
            // the default plan, untitled: nothing a token does not say.
            let expected = Call {
                key,
                method: Method::OrderPay,
                request: Request::new(Command::DidOrder(DidOrder {
                    target: None,
                    source: OrderSource::Reservation(ReservationId::parse(trimmed).unwrap()),
                    did_type: None,
                    rate_plan: RatePlanId::default_plan(),
                    title: Label::default(),
                })),
            };
            let decoded = decoded.ok();
            prop_assert_eq!(&decoded, &Some(expected));
            if let Some(Command::DidOrder(DidOrder {
                source: OrderSource::Reservation(id),
                ..
            })) = decoded.map(|c| c.request.command)
            {
                prop_assert_eq!(id.as_str(), trimmed);
            }
        } else {
            match decoded {
                Err(Rejection::AfterAuth { key: sent, error }) => {
                    prop_assert_eq!(sent, key);
                    assert_bad_value(&error, trimmed);
                }
                other => prop_assert!(false, "{:?} gave {:?}", token, other),
            }
        }
    }

    #[test]
    fn json_number_return_round_trips_digits_and_refuses_the_rest(
        key in any::<String>(),
        phone in phone_value(),
        extra in prop::collection::vec(phone_value(), 0..2),
    ) {
        let mut params = vec![phone.clone()];
        params.extend(extra.iter().cloned());
        let call = json!({"method": "number.return", "params": params});
        let decoded = json::decode(&serde_json::to_vec(&call).unwrap(), &json_query(&key));
        let key = Some(key.trim().to_owned()).filter(|k| !k.is_empty());
        match (extra.is_empty(), expected_phone(&phone)) {
            (true, Some(digits)) => {
                let expected = Call {
                    key,
                    method: Method::Return,
                    request: Request::new(Command::DidCancel(NumberOf {
                        target: None,
                        e164: E164::parse(&digits).unwrap(),
                    })),
                };
                let decoded = decoded.ok();
                prop_assert_eq!(&decoded, &Some(expected));
                if let Some(Command::DidCancel(n)) = decoded.map(|c| c.request.command) {
                    prop_assert_eq!(n.e164.as_str(), digits.as_str());
                }
            }
            // A well-formed call with a bad parameter is answered after
            // authentication, so the key must travel with the error.
            _ => match decoded {
                Err(Rejection::AfterAuth { key: sent, error }) => {
                    prop_assert_eq!(sent, key);
                    if extra.is_empty() {
                        assert_bad_value(&error, phone.as_str().map_or("?", str::trim));
                    } else {
                        assert_clean_error(&error, ErrorCode::InvalidParameter);
                    }
                }
                other => prop_assert!(false, "{:?} gave {:?}", phone, other),
            },
        }
    }
}

// ---------------------------------------------------------------------------
// Replies: XML and JSON renderers
// ---------------------------------------------------------------------------

/// A character of a rendered string: anything XML 1.0 can carry, with
/// tab, CR and LF the only controls (the writer escapes all three, so that
/// attribute and line-end normalisation keep them). Other controls and
/// non-characters have their own `#[ignore]`d test
/// (`xml_replies_never_carry_non_xml_characters`).
fn render_char() -> impl Strategy<Value = char> + Clone {
    prop_oneof![
        4 => prop::char::range(' ', '~'),
        2 => prop::sample::select(vec!['&', '<', '>', '"', '\'', '\t', '\n', '\r', ' ', ']']),
        1 => prop::sample::select(vec!['é', '日', '😀', '\u{A0}', '\u{85}', '\u{FFFD}', '\u{2028}']),
        1 => any::<char>(),
    ]
    .prop_filter("an XML character, no control but tab, CR and LF", |c| {
        is_xml_char(*c) && (!c.is_control() || c.is_ascii_whitespace())
    })
}

fn render_text() -> impl Strategy<Value = String> + Clone {
    prop::collection::vec(render_char(), 0..12).prop_map(String::from_iter)
}

fn did() -> impl Strategy<Value = Did> + Clone {
    (
        prop::collection::vec(render_text(), 12),
        prop::sample::select(DidType::ALL.to_vec()),
        prop::sample::select(vec![
            DidStatus::Active,
            DidStatus::Canceled,
            DidStatus::Available,
        ]),
        any::<i64>(),
        any::<i64>(),
        prop_oneof![
            Just(None),
            (0i64..4_000_000_000).prop_map(Some),
            any::<i64>().prop_map(Some),
        ],
    )
        .prop_map(|(t, did_type, status, monthly, setup, order_date)| {
            let mut t = t.into_iter();
            let mut next = || t.next().unwrap_or_default();
            Did {
                e164: next(),
                did_type,
                sms_url: next(),
                sms_email: next(),
                sms_phone: next(),
                forward_type: next(),
                forward_to: next(),
                status,
                country_name: next(),
                area_name: next(),
                area_code: next(),
                monthly: Money100(monthly),
                setup: Money100(setup),
                rate_plan_id: next(),
                title: next(),
                account_number: next(),
                order_date,
            }
        })
}

/// The names actions give their scalar values.
const VALUE_NAMES: [&str; 6] = [
    "ORDER_ID",
    "CHARGED100",
    "TOTAL",
    "REQUEST_ID",
    "TEST",
    "IGNORED_PARAMETERS",
];

/// A reply's payload as generated: [`Payload`] borrows its lists, so the
/// generated ones are owned here and lent to it.
#[derive(Clone, Debug)]
enum OwnedPayload {
    Dids(Vec<Did>),
    Reservation {
        id: String,
        expires: i64,
        dids: Vec<Did>,
    },
}

/// A generated [`Reply`], owning its strings.
#[derive(Clone, Debug)]
struct OwnedReply {
    result: Option<String>,
    payload: OwnedPayload,
    values: Vec<(&'static str, String)>,
}

impl OwnedReply {
    fn reply(&self) -> Reply<'_> {
        let payload = match &self.payload {
            OwnedPayload::Dids(dids) => Payload::Dids(dids),
            OwnedPayload::Reservation { id, expires, dids } => Payload::Reservation {
                id,
                expires: *expires,
                dids,
            },
        };
        Reply {
            result: self.result.clone(),
            payload,
            values: self.values.clone(),
        }
    }
}

fn reply() -> impl Strategy<Value = OwnedReply> {
    let dids = prop::collection::vec(did(), 0..4);
    (
        prop::option::of(render_text()),
        prop_oneof![
            dids.clone().prop_map(OwnedPayload::Dids),
            (render_text(), any::<i64>(), dids)
                .prop_map(|(id, expires, dids)| OwnedPayload::Reservation { id, expires, dids }),
        ],
        prop::collection::vec(
            (
                prop::sample::select(VALUE_NAMES.to_vec()),
                prop_oneof![render_text(), Just("TRUE".to_owned()), "[0-9]{1,6}"],
            ),
            0..4,
        ),
    )
        .prop_map(|(result, payload, values)| OwnedReply {
            result,
            payload,
            values,
        })
}

/// An element of a parsed reply. `text` is its character data, line ends
/// normalised and references resolved, as any XML parser reports it.
#[derive(Debug, Default)]
struct XmlNode {
    name: String,
    attrs: Vec<(String, String)>,
    children: Vec<XmlNode>,
    text: String,
}

impl XmlNode {
    fn elements<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a XmlNode> {
        self.children.iter().filter(move |c| c.name == name)
    }

    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

fn open_element(e: &BytesStart<'_>) -> Result<XmlNode, String> {
    let mut node = XmlNode {
        name: AsRef::<str>::as_ref(&e.name()).to_owned(),
        ..XmlNode::default()
    };
    for attr in e.attributes() {
        let attr = attr.map_err(|err| format!("bad attribute: {err}"))?;
        let value = attr
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|err| format!("bad attribute value: {err}"))?;
        node.attrs.push((
            AsRef::<str>::as_ref(&attr.key).to_owned(),
            value.into_owned(),
        ));
    }
    Ok(node)
}

/// Parses a rendered reply strictly: XML characters only, balanced and
/// matching tags, unique attributes, resolvable references, one root,
/// nothing but a declaration, comments and whitespace around it.
fn parse_reply(xml: &str) -> Result<XmlNode, String> {
    if let Some(c) = xml.chars().find(|c| !is_xml_char(*c)) {
        return Err(format!("U+{:04X} is not an XML character", c as u32));
    }
    let mut reader = quick_xml::Reader::from_str(xml);
    reader.config_mut().check_end_names = true;
    let mut stack: Vec<XmlNode> = Vec::new();
    let mut root: Option<XmlNode> = None;
    let close = |node: XmlNode,
                 stack: &mut Vec<XmlNode>,
                 root: &mut Option<XmlNode>|
     -> Result<(), String> {
        match stack.last_mut() {
            Some(parent) => parent.children.push(node),
            None if root.is_none() => *root = Some(node),
            None => return Err("a second root element".to_owned()),
        }
        Ok(())
    };
    loop {
        match reader.read_event().map_err(|e| e.to_string())? {
            Event::Decl(_) | Event::Comment(_) => {}
            Event::Start(e) => stack.push(open_element(&e)?),
            Event::Empty(e) => close(open_element(&e)?, &mut stack, &mut root)?,
            Event::End(_) => {
                let node = stack.pop().ok_or("a closing tag with no opening tag")?;
                close(node, &mut stack, &mut root)?;
            }
            Event::Text(t) => match stack.last_mut() {
                Some(node) => node.text.push_str(&t.xml10_content()),
                None if t.trim_matches([' ', '\t', '\r', '\n']).is_empty() => {}
                None => return Err("text outside the root".into()),
            },
            Event::CData(c) => {
                let node = stack.last_mut().ok_or("CDATA outside the root")?;
                node.text.push_str(&c.xml10_content());
            }
            Event::GeneralRef(r) => {
                let resolved = if r.is_char_ref() {
                    r.resolve_char_ref()
                        .ok()
                        .flatten()
                        .filter(|c| is_xml_char(*c))
                        .map(String::from)
                } else {
                    quick_xml::escape::resolve_predefined_entity(&r).map(str::to_owned)
                };
                let resolved = resolved.ok_or("an unresolvable reference")?;
                let node = stack.last_mut().ok_or("a reference outside the root")?;
                node.text.push_str(&resolved);
            }
            Event::PI(_) | Event::DocType(_) => return Err("a PI or DOCTYPE".into()),
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err("unclosed elements".into());
    }
    root.ok_or_else(|| "no root element".into())
}

/// The `DID` attributes PROTOCOL.md section 3 lists, in its order, with
/// the strings the reply must carry.
fn did_attributes(d: &Did) -> Vec<(String, String)> {
    [
        ("E164", d.e164.clone()),
        ("DID_TYPE", d.did_type.as_str().to_owned()),
        ("SMS_URL", d.sms_url.clone()),
        ("SMS_EMAIL", d.sms_email.clone()),
        ("SMS_PHONE", d.sms_phone.clone()),
        ("CALL_FORWARD_TYPE", d.forward_type.clone()),
        ("CALL_FORWARD_TO", d.forward_to.clone()),
        ("STATUS", d.status.as_str().to_owned()),
        ("COUNTRY_NAME", d.country_name.clone()),
        ("AREA_NAME", d.area_name.clone()),
        ("AREA_CODE", d.area_code.clone()),
        ("MONTHLY100", d.monthly.0.to_string()),
        ("SETUP100", d.setup.0.to_string()),
        ("RATE_PLAN_ID", d.rate_plan_id.clone()),
        ("TITLE", d.title.clone()),
        ("ACCOUNT_NUMBER", d.account_number.clone()),
        (
            "ORDER_DATE",
            d.order_date.map(format_time).unwrap_or_default(),
        ),
    ]
    .into_iter()
    .map(|(n, v)| (n.to_owned(), v))
    .collect()
}

/// Checks a number of a JSON reply against PROTOCOL.md section 6: "as in
/// `DID.LIST`", the `DID` attributes of section 3 under their lower-case
/// names, the amounts as JSON numbers and a missing order date as `null`.
fn check_json_did(json: &Value, d: &Did) -> Result<(), TestCaseError> {
    let object = json
        .as_object()
        .ok_or_else(|| TestCaseError::fail(format!("not an object: {json}")))?;
    let attributes = did_attributes(d);
    prop_assert_eq!(object.len(), attributes.len(), "{}", json);
    for (name, text) in attributes {
        let got = object.get(&name.to_ascii_lowercase());
        let want = match name.as_str() {
            "MONTHLY100" | "SETUP100" => Value::from(text.parse::<i64>().unwrap()),
            "ORDER_DATE" if d.order_date.is_none() => Value::Null,
            _ => Value::from(text),
        };
        prop_assert_eq!(got, Some(&want), "{} in {}", name, json);
    }
    Ok(())
}

/// Checks a parsed `<RESPONSE>` against the reply it was rendered from.
fn check_xml_reply(root: &XmlNode, reply: &Reply<'_>) -> Result<(), TestCaseError> {
    prop_assert_eq!(&root.name, "RESPONSE");
    let results: Vec<_> = root.elements("RESULT").collect();
    prop_assert_eq!(results.len(), 1);
    prop_assert_eq!(
        &results[0].text,
        reply.result.as_deref().unwrap_or("SUCCESS")
    );
    let (list, dids) = match &reply.payload {
        Payload::Dids(dids) => {
            let lists: Vec<_> = root.elements("DIDS").collect();
            prop_assert_eq!(lists.len(), 1);
            (lists[0], dids)
        }
        Payload::Reservation { id, expires, dids } => {
            let lists: Vec<_> = root.elements("RESERVATION").collect();
            prop_assert_eq!(lists.len(), 1);
            prop_assert_eq!(lists[0].attr("RESERVATION_ID"), Some(*id));
            let expires = format_time(*expires);
            prop_assert_eq!(lists[0].attr("EXPIRES"), Some(expires.as_str()));
            (lists[0], dids)
        }
        other => unreachable!("not generated: {other:?}"),
    };
    prop_assert_eq!(list.children.len(), dids.len());
    for (node, d) in list.children.iter().zip(dids.iter()) {
        prop_assert_eq!(&node.name, "DID");
        prop_assert!(node.children.is_empty());
        prop_assert_eq!(&node.attrs, &did_attributes(d));
    }
    let values: Vec<(String, String)> = root
        .elements("VALUE")
        .map(|v| {
            (
                v.attr("NAME").unwrap_or_default().to_owned(),
                v.text.clone(),
            )
        })
        .collect();
    let expected: Vec<(String, String)> = reply
        .values
        .iter()
        .map(|(n, v)| (n.to_string(), v.clone()))
        .collect();
    prop_assert_eq!(values, expected);
    Ok(())
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn xml_replies_are_well_formed_and_carry_every_string(reply in reply()) {
        let reply = reply.reply();
        let body = String::from_utf8(xml::render(&reply)).expect("UTF-8");
        prop_assert!(body.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<RESPONSE>"));
        let root = parse_reply(&body).map_err(|e| TestCaseError::fail(format!("{e}:\n{body}")))?;
        check_xml_reply(&root, &reply)?;
    }

    #[test]
    fn xml_error_replies_hold_exactly_the_message(
        code in prop::sample::select(CODES.to_vec()),
        message in render_text(),
    ) {
        let body = String::from_utf8(xml::render_error(code, &message)).expect("UTF-8");
        let root = parse_reply(&body).map_err(|e| TestCaseError::fail(format!("{e}:\n{body}")))?;
        prop_assert_eq!(&root.name, "RESPONSE");
        let result: Vec<_> = root.elements("RESULT").map(|r| r.text.as_str()).collect();
        prop_assert_eq!(result, vec!["ERROR"]);
        let codes: Vec<_> = root
            .elements("VALUE")
            .map(|v| (v.attr("NAME"), v.text.as_str()))
            .collect();
        prop_assert_eq!(codes, vec![(Some("ERROR_CODE"), code.as_str())]);
        let errors: Vec<_> = root.elements("ERROR").collect();
        prop_assert_eq!(errors.len(), 1);
        prop_assert!(errors[0].attrs.is_empty() && errors[0].children.is_empty());
        prop_assert_eq!(&errors[0].text, &message);
    }

    #[test]
    fn json_replies_carry_every_string(
        dids in prop::collection::vec(did(), 0..4),
        total in any::<u64>(),
        method in prop::sample::select(vec![Method::ListAll, Method::Return, Method::Configure]),
    ) {
        // Each method answers the outcome its command has, with its own
        // flag or count beside the numbers.
        let (outcome, other) = match method {
            Method::ListAll => (Outcome::Listed { dids: dids.clone(), total }, ("total", Value::from(total))),
            Method::Return => (Outcome::Changed(dids.clone()), ("returned", Value::Bool(true))),
            _ => (Outcome::Changed(dids.clone()), ("configured", Value::Bool(true))),
        };
        let body = JsonCodec::new(Some(method)).render(&outcome);
        let parsed: Value = serde_json::from_slice(&body).expect("JSON");
        let result = parsed["result"].as_object().expect("a result object");
        prop_assert_eq!(result.len(), 2, "{}", parsed);
        prop_assert_eq!(result.get(other.0), Some(&other.1));
        let numbers = result["numbers"].as_array().expect("a list of numbers");
        prop_assert_eq!(numbers.len(), dids.len());
        for (json, d) in numbers.iter().zip(&dids) {
            check_json_did(json, d)?;
        }
    }

    #[test]
    fn json_error_replies_hold_exactly_the_message(
        code in prop::sample::select(CODES.to_vec()),
        message in any::<String>(),
    ) {
        let body = JsonCodec::new(None).render_error(code, &message);
        let parsed: Value = serde_json::from_slice(&body).expect("JSON");
        prop_assert_eq!(parsed, json!({"error": {"code": code.as_str(), "message": message}}));
    }
}

// ---------------------------------------------------------------------------
// Bugs found by the properties above, kept with minimal counter-examples
// ---------------------------------------------------------------------------

/// An envelope whose ACTION `X` holds `inner` verbatim.
fn raw_envelope(inner: &str) -> String {
    format!("<REQUEST><USERTOKEN/><ACTION NAME=\"X\">{inner}</ACTION></REQUEST>")
}

#[test]
fn start_tags_must_be_well_formed() {
    // Found by `mutated_envelopes_are_read_as_the_contract_says` as
    // `<USERTOKEN ID='' ID="">`. XML makes all of these fatal errors; the
    // contract refuses what is not XML (section 2).
    for body in [
        "<REQUEST A=\"1\" A=\"2\"><USERTOKEN/><ACTION NAME=\"X\"/></REQUEST>",
        "<REQUEST><USERTOKEN ID='' ID=\"\"/><ACTION NAME=\"X\"/></REQUEST>",
        "<REQUEST a=b><USERTOKEN/><ACTION NAME=\"X\"/></REQUEST>",
        "<REQUEST !!! ==><USERTOKEN/><ACTION NAME=\"X\"/></REQUEST>",
        "<REQUEST><USERTOKEN><USERKEY K=\"&bogus;\">k</USERKEY></USERTOKEN><ACTION NAME=\"X\"/></REQUEST>",
        &raw_envelope("<PARAMETER NAME=\"A\" ID=\"&bogus;\">v</PARAMETER>"),
        &raw_envelope("<PARAMETER NAME=\"A\" ID=\"<\">v</PARAMETER>"),
    ] {
        assert!(
            matches!(xml::decode(body.as_bytes()), Err(Error::Malformed(_))),
            "accepted: {body}"
        );
    }
}

#[test]
fn raw_non_xml_characters_are_refused_like_their_references() {
    for c in ['\u{0}', '\u{1}', '\u{1B}', '\u{FFFE}', '\u{FFFF}'] {
        let reference = raw_envelope(&format!(
            "<PARAMETER NAME=\"A\">&#{};</PARAMETER>",
            c as u32
        ));
        let raw = raw_envelope(&format!("<PARAMETER NAME=\"A\">a{c}b</PARAMETER>"));
        assert!(xml::decode(reference.as_bytes()).is_err());
        assert!(
            matches!(xml::decode(raw.as_bytes()), Err(Error::Malformed(_))),
            "accepted a raw U+{:04X}",
            c as u32
        );
    }
}

#[test]
fn cdata_line_ends_are_normalised() {
    // Found by `mutated_envelopes_are_read_as_the_contract_says` as a
    // CDATA section holding `\r`.
    let body = raw_envelope("<PARAMETER NAME=\"A\"><![CDATA[a\rb\r\nc]]></PARAMETER>");
    let plain = raw_envelope("<PARAMETER NAME=\"A\">a\rb\r\nc</PARAMETER>");
    assert_eq!(
        xml::decode(plain.as_bytes()).unwrap().params[0].1,
        "a\nb\nc"
    );
    assert_eq!(xml::decode(body.as_bytes()).unwrap().params[0].1, "a\nb\nc");
}

#[test]
fn get_form_keeps_a_literal_replacement_character() {
    // Found by `get_form_round_trips_key_action_and_values` before U+FFFD
    // was left out of its values. The XML envelope carries it fine.
    let r = query::decode("action=X&param[A]=%EF%BF%BD").expect("valid UTF-8");
    assert_eq!(r.params, vec![("A".to_owned(), "\u{FFFD}".to_owned())]);
}

/// A number whose text fields are all `text`.
fn did_with_text(text: &str) -> Did {
    Did {
        e164: "12125550100".into(),
        did_type: DidType::Geographic,
        sms_url: String::new(),
        sms_email: String::new(),
        sms_phone: String::new(),
        forward_type: String::new(),
        forward_to: String::new(),
        status: DidStatus::Active,
        country_name: "UNITED STATES".into(),
        area_name: "NEW YORK".into(),
        area_code: "212".into(),
        monthly: Money100(149),
        setup: Money100(0),
        rate_plan_id: "SU".into(),
        title: text.into(),
        account_number: "1000000001".into(),
        order_date: Some(0),
    }
}

#[test]
fn xml_replies_never_carry_non_xml_characters() {
    let dids = [did_with_text("a\u{FFFF}b")];
    let reply = Reply::new(Payload::Dids(&dids));
    let body = String::from_utf8(xml::render(&reply)).unwrap();
    if let Err(e) = parse_reply(&body) {
        panic!("{e}:\n{body}");
    }
    let body = String::from_utf8(xml::render_error(ErrorCode::NotFound, "a\u{1}b")).unwrap();
    if let Err(e) = parse_reply(&body) {
        panic!("{e}:\n{body}");
    }
}

#[test]
fn json_empty_required_parameters_are_missing() {
    for body in [
        r#"{"method": "did.order.pay", "params": [" "]}"#,
        r#"{"method": "number.return", "params": [""]}"#,
    ] {
        match json::decode(body.as_bytes(), "apikey=K") {
            Err(Rejection::AfterAuth { error, .. }) => {
                assert_eq!(error.code(), ErrorCode::MissingParameter, "{body}: {error}")
            }
            other => panic!("{body}: {other:?}"),
        }
    }
}

#[test]
fn json_numbers_are_written_exactly() {
    // Fixed bytes, written by hand from PROTOCOL.md section 6: sorted keys,
    // amounts as numbers, a missing order date as null.
    let listed = Outcome::Listed {
        dids: vec![did_with_text("T")],
        total: 1,
    };
    assert_eq!(
        String::from_utf8(JsonCodec::new(Some(Method::ListAll)).render(&listed)).unwrap(),
        concat!(
            r#"{"result":{"numbers":[{"account_number":"1000000001","area_code":"212","#,
            r#""area_name":"NEW YORK","call_forward_to":"","call_forward_type":"","#,
            r#""country_name":"UNITED STATES","did_type":"GEOGRAPHIC","e164":"12125550100","#,
            r#""monthly100":149,"order_date":"1970-01-01 00:00:00","rate_plan_id":"SU","#,
            r#""setup100":0,"sms_email":"","sms_phone":"","sms_url":"","status":"Active","#,
            r#""title":"T"}],"total":1}}"#
        )
    );
    let returned = Outcome::Changed(vec![Did {
        order_date: None,
        ..did_with_text("a\"<b")
    }]);
    assert_eq!(
        String::from_utf8(JsonCodec::new(Some(Method::Return)).render(&returned)).unwrap(),
        concat!(
            r#"{"result":{"numbers":[{"account_number":"1000000001","area_code":"212","#,
            r#""area_name":"NEW YORK","call_forward_to":"","call_forward_type":"","#,
            r#""country_name":"UNITED STATES","did_type":"GEOGRAPHIC","e164":"12125550100","#,
            r#""monthly100":149,"order_date":null,"rate_plan_id":"SU","#,
            r#""setup100":0,"sms_email":"","sms_phone":"","sms_url":"","status":"Active","#,
            r#""title":"a\"<b"}],"returned":true}}"#
        )
    );
}
