//! Hostile and broken input over real HTTP: every envelope PROTOCOL.md
//! section 2 rejects gets 400 `MALFORMED_REQUEST` in the contract's XML error
//! shape without echoing the payload, oversized and slow requests get 413 and
//! 408, slow request heads are cut off, and after each of these the server
//! still answers a valid request. The envelope features the contract allows
//! (comments, CDATA, character references, a UTF-8 BOM, a lower case UTF-8
//! declaration) are accepted.

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{Reply, TestServer, envelope, raw_envelope, request};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A string planted in hostile payloads; an error text must never repeat it.
const MARKER: &str = "PAYLOADMARKER";

/// The declaration every XML reply begins with.
const XML_DECLARATION: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>";

/// Checks the transport-level error shape: the status, the XML content type,
/// the declaration, `<RESPONSE><RESULT>ERROR</RESULT>`, the code and a
/// non-empty message that repeats neither the marker nor the key.
#[track_caller]
fn assert_xml_error(r: &Reply, status: u16, code: &str, key: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    let content_type = r
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(
        content_type.starts_with("application/xml"),
        "content type {content_type:?}"
    );
    assert!(r.body.starts_with(XML_DECLARATION), "{}", r.body);
    assert!(r.body.contains("<RESPONSE>"), "{}", r.body);
    assert_eq!(r.result(), "ERROR", "{}", r.body);
    assert_eq!(r.code().as_deref(), Some(code), "{}", r.body);
    assert!(!r.error().trim().is_empty(), "{}", r.body);
    assert!(
        !r.body.contains(MARKER),
        "the reply echoes the payload: {}",
        r.body
    );
    assert!(
        !r.body.contains(key),
        "the reply echoes the key: {}",
        r.body
    );
}

/// A valid request still works and nothing was charged: the hostile input
/// neither broke the server nor reached the database.
async fn assert_still_serves(s: &TestServer) {
    let r = s.call("ACCOUNT.GETBALANCE", &[]).await.ok();
    assert_eq!(
        r.value("BALANCE100").as_deref(),
        Some("10000"),
        "{}",
        r.body
    );
}

/// POSTs `body` and asserts the 400 `MALFORMED_REQUEST` contract, then that
/// the server still serves. Returns the reply for further checks.
async fn refused(s: &TestServer, body: impl Into<Bytes>) -> Reply {
    let r = s.post("/api/v3.asp", body).await;
    assert_xml_error(&r, 400, "MALFORMED_REQUEST", &s.key);
    assert_still_serves(s).await;
    r
}

/// Reads one HTTP/1.1 response off a raw stream, within `within`. Headers
/// and the `Content-Length` body are parsed into a [`Reply`]. A reset after
/// the reply arrived is tolerated: the server closes connections whose body
/// it did not read.
async fn read_reply(stream: &mut (impl AsyncRead + Unpin), within: Duration) -> Reply {
    let mut buf = Vec::new();
    let read_all = async {
        let mut chunk = [0u8; 4096];
        loop {
            if let Some(reply) = parse_reply(&buf) {
                return reply;
            }
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => {
                    return parse_reply(&buf).unwrap_or_else(|| {
                        panic!(
                            "connection closed before a whole reply: {:?}",
                            String::from_utf8_lossy(&buf)
                        )
                    });
                }
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
    };
    tokio::time::timeout(within, read_all)
        .await
        .expect("no reply within the time allowed")
}

/// Parses a complete response with a `Content-Length` body, or `None` if
/// more bytes are needed.
fn parse_reply(buf: &[u8]) -> Option<Reply> {
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&buf[..end]).expect("reply head is text");
    let mut lines = head.split("\r\n");
    let status_line = lines.next()?;
    let status: u16 = status_line.split(' ').nth(1)?.parse().ok()?;
    let mut headers = hyper::HeaderMap::new();
    for line in lines {
        let (name, value) = line.split_once(':')?;
        headers.append(
            hyper::header::HeaderName::from_bytes(name.trim().as_bytes()).ok()?,
            hyper::header::HeaderValue::from_str(value.trim()).ok()?,
        );
    }
    let length: usize = headers
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let body = buf.get(end + 4..end + 4 + length)?;
    Some(Reply {
        status,
        headers,
        body: String::from_utf8(body.to_vec()).expect("utf-8 reply"),
    })
}

/// The request head of a POST to the XML endpoint with `extra` headers.
fn post_head(extra: &str) -> String {
    format!(
        "POST /api/v3.asp HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/xml\r\n{extra}\r\n"
    )
}

// ---------------------------------------------------------------------------
// Entities and DOCTYPE: refused outright, never expanded or fetched.
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn billion_laughs_is_refused_and_server_survives() {
    let s = TestServer::start().await;
    // Ten levels of tenfold expansion: a parser that expanded entities would
    // build a gigabyte-sized string. Refusing the DOCTYPE must be immediate.
    let mut doctype = String::from("<!DOCTYPE REQUEST [\n<!ENTITY lol0 \"PAYLOADMARKER\">\n");
    for level in 1..10 {
        let prev = format!("&lol{};", level - 1).repeat(10);
        doctype.push_str(&format!("<!ENTITY lol{level} \"{prev}\">\n"));
    }
    doctype.push_str("]>\n");
    let body = format!(
        "<?xml version=\"1.0\"?>\n{doctype}<REQUEST><USERTOKEN><USERKEY>{}</USERKEY></USERTOKEN><ACTION NAME=\"DID.ORDER\"><PARAMETER NAME=\"TITLE\">&lol9;</PARAMETER></ACTION></REQUEST>",
        s.key
    );
    let started = Instant::now();
    let r = s.post("/api/v3.asp", body).await;
    let took = started.elapsed();
    assert_xml_error(&r, 400, "MALFORMED_REQUEST", &s.key);
    assert!(
        took < Duration::from_secs(1),
        "refusing a DOCTYPE took {took:?}"
    );
    assert_still_serves(&s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn external_entity_is_refused_and_never_read() {
    let s = TestServer::start().await;
    // An XXE payload: if the server resolved the SYSTEM entity, the password
    // file would end up in the title and perhaps in the reply.
    let body = format!(
        "<?xml version=\"1.0\"?>\n<!DOCTYPE REQUEST [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>\n{}",
        raw_envelope(
            &s.key,
            "DID.ORDER",
            "<PARAMETER NAME=\"TITLE\">&x;</PARAMETER>"
        )
        .trim_start_matches("<?xml version=\"1.0\" standalone=\"no\" ?>\n")
    );
    let r = refused(&s, body).await;
    assert!(!r.body.contains("root:"), "{}", r.body);
    assert!(!r.body.contains("/etc/passwd"), "{}", r.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bare_doctype_without_entities_is_refused() {
    let s = TestServer::start().await;
    // The contract refuses any DOCTYPE, not only ones declaring entities.
    let body = format!(
        "<!DOCTYPE REQUEST SYSTEM \"http://{MARKER}.example/request.dtd\">\n{}",
        envelope(&s.key, "ACCOUNT.GETBALANCE", &[])
            .trim_start_matches("<?xml version=\"1.0\" standalone=\"no\" ?>\n")
    );
    refused(&s, body).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undeclared_entity_in_a_parameter_is_refused() {
    let s = TestServer::start().await;
    let body = raw_envelope(
        &s.key,
        "DID.ORDER",
        &format!("<PARAMETER NAME=\"TITLE\">a &{MARKER}; b</PARAMETER>"),
    );
    refused(&s, body).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_character_reference_is_refused() {
    let s = TestServer::start().await;
    // `&#1;` is well-formed syntax for a character XML 1.0 forbids; letting
    // it through would put a control character into a title or a log.
    let body = raw_envelope(
        &s.key,
        "DID.ORDER",
        &format!("<PARAMETER NAME=\"TITLE\">{MARKER}&#1;</PARAMETER>"),
    );
    refused(&s, body).await;
}

// ---------------------------------------------------------------------------
// Structure: exactly one REQUEST with one USERTOKEN and one ACTION.
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_root_element_is_refused() {
    let s = TestServer::start().await;
    let body = format!(
        "<RESPONSE><USERTOKEN><USERKEY>{}</USERKEY></USERTOKEN><ACTION NAME=\"ACCOUNT.GETBALANCE\"><PARAMETER NAME=\"X\">{MARKER}</PARAMETER></ACTION></RESPONSE>",
        s.key
    );
    refused(&s, body).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trailing_junk_after_the_root_is_refused() {
    let s = TestServer::start().await;
    let body = format!(
        "{}{MARKER} trailing junk",
        envelope(&s.key, "ACCOUNT.GETBALANCE", &[])
    );
    refused(&s, body).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_root_element_is_refused() {
    let s = TestServer::start().await;
    // A second envelope smuggled after the first must not be ignored (a
    // proxy and the server could disagree about which one counts).
    let body = format!(
        "{}{}",
        envelope(&s.key, "ACCOUNT.GETBALANCE", &[]),
        envelope(&s.key, "DID.ORDER", &[("TITLE", MARKER)])
            .trim_start_matches("<?xml version=\"1.0\" standalone=\"no\" ?>\n")
    );
    refused(&s, body).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_actions_are_refused() {
    let s = TestServer::start().await;
    let body = format!(
        "<REQUEST><USERTOKEN><USERKEY>{}</USERKEY></USERTOKEN><ACTION NAME=\"ACCOUNT.GETBALANCE\"/><ACTION NAME=\"DID.ORDER\"><PARAMETER NAME=\"TITLE\">{MARKER}</PARAMETER></ACTION></REQUEST>",
        s.key
    );
    refused(&s, body).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_usertokens_are_refused() {
    let s = TestServer::start().await;
    let body = format!(
        "<REQUEST><USERTOKEN><USERKEY>{}</USERKEY></USERTOKEN><USERTOKEN><USERKEY>{MARKER}</USERKEY></USERTOKEN><ACTION NAME=\"ACCOUNT.GETBALANCE\"/></REQUEST>",
        s.key
    );
    refused(&s, body).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_parameter_name_is_refused() {
    let s = TestServer::start().await;
    // Which of two values wins is exactly the kind of ambiguity a proxy and
    // the server could resolve differently, so neither may win.
    let body = raw_envelope(
        &s.key,
        "DID.ORDER",
        &format!(
            "<PARAMETER NAME=\"TITLE\">a</PARAMETER><PARAMETER NAME=\"TITLE\">{MARKER}</PARAMETER>"
        ),
    );
    refused(&s, body).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_parameter_name_differing_by_case_is_refused() {
    let s = TestServer::start().await;
    let body = raw_envelope(
        &s.key,
        "DID.ORDER",
        &format!(
            "<PARAMETER NAME=\"QUANTITY\">1</PARAMETER><PARAMETER NAME=\"quantity\">{MARKER}</PARAMETER>"
        ),
    );
    refused(&s, body).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn element_nested_inside_a_parameter_is_refused() {
    let s = TestServer::start().await;
    let body = raw_envelope(
        &s.key,
        "DID.ORDER",
        &format!("<PARAMETER NAME=\"TITLE\"><{MARKER}>x</{MARKER}></PARAMETER>"),
    );
    refused(&s, body).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn element_nested_inside_usertoken_is_refused() {
    let s = TestServer::start().await;
    let body = format!(
        "<REQUEST><USERTOKEN><USERKEY>{}</USERKEY><{MARKER}/></USERTOKEN><ACTION NAME=\"ACCOUNT.GETBALANCE\"/></REQUEST>",
        s.key
    );
    refused(&s, body).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unclosed_tags_are_refused() {
    let s = TestServer::start().await;
    let body = format!(
        "<REQUEST><USERTOKEN><USERKEY>{}</USERKEY></USERTOKEN><ACTION NAME=\"DID.ORDER\"><PARAMETER NAME=\"TITLE\">{MARKER}",
        s.key
    );
    refused(&s, body).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mismatched_tags_are_refused() {
    let s = TestServer::start().await;
    let body = raw_envelope(
        &s.key,
        "DID.ORDER",
        &format!("<PARAMETER NAME=\"TITLE\">x</{MARKER}>"),
    );
    refused(&s, body).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processing_instruction_is_refused() {
    let s = TestServer::start().await;
    let body = format!(
        "<?xml version=\"1.0\"?>\n<?xml-stylesheet href=\"{MARKER}.xsl\"?>\n{}",
        envelope(&s.key, "ACCOUNT.GETBALANCE", &[])
            .trim_start_matches("<?xml version=\"1.0\" standalone=\"no\" ?>\n")
    );
    refused(&s, body).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn action_without_name_is_refused() {
    let s = TestServer::start().await;
    let body = format!(
        "<REQUEST><USERTOKEN><USERKEY>{}</USERKEY></USERTOKEN><ACTION><PARAMETER NAME=\"TITLE\">{MARKER}</PARAMETER></ACTION></REQUEST>",
        s.key
    );
    refused(&s, body).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_attribute_value_is_refused_without_echo() {
    let s = TestServer::start().await;
    // About 60 KiB of action name: under the body limit, so it reaches the
    // decoder, which must refuse it without quoting any of it back.
    let name = MARKER.repeat(60 * 1024 / MARKER.len());
    let body = envelope(&s.key, &name, &[]);
    assert!(
        body.len() < 64 * 1024,
        "the payload must fit the body limit"
    );
    let r = refused(&s, body).await;
    assert!(
        r.body.len() < 1024,
        "the error reply is {} bytes",
        r.body.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_than_256_parameters_are_refused() {
    let s = TestServer::start().await;
    let names: Vec<String> = (0..300).map(|i| format!("P{i}")).collect();
    let params: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), MARKER)).collect();
    refused(&s, envelope(&s.key, "ACCOUNT.GETBALANCE", &params)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_256_parameters_are_accepted() {
    let s = TestServer::start().await;
    // The limit is "at most 256": the boundary itself must still work, and
    // the unknown ones are listed as ignored.
    let names: Vec<String> = (0..256).map(|i| format!("P{i}")).collect();
    let params: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "v")).collect();
    let r = s.call("ACCOUNT.GETBALANCE", &params).await.ok();
    let ignored = r.value("IGNORED_PARAMETERS").unwrap_or_default();
    assert_eq!(ignored.split(',').count(), 256, "{ignored}");
}

// ---------------------------------------------------------------------------
// Encoding: UTF-8 only, valid UTF-8 only.
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn iso_8859_1_declaration_is_refused() {
    let s = TestServer::start().await;
    let body = envelope(&s.key, "DID.ORDER", &[("TITLE", MARKER)]).replace(
        "<?xml version=\"1.0\" standalone=\"no\" ?>",
        "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>",
    );
    refused(&s, body).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn utf16_body_with_bom_is_refused() {
    let s = TestServer::start().await;
    let text = envelope(&s.key, "DID.ORDER", &[("TITLE", MARKER)])
        .replace("standalone=\"no\"", "encoding=\"UTF-16\"");
    let mut body = vec![0xFF, 0xFE];
    for unit in text.encode_utf16() {
        body.extend_from_slice(&unit.to_le_bytes());
    }
    refused(&s, body).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_utf8_inside_a_value_is_refused() {
    let s = TestServer::start().await;
    let text = envelope(&s.key, "DID.ORDER", &[("TITLE", "@@BAD@@")]);
    let (before, after) = text.split_once("@@BAD@@").unwrap();
    // A lone continuation byte, an overlong encoding and 0xFF: none of them
    // may be passed on (or "repaired") into a title.
    let mut body = before.as_bytes().to_vec();
    body.extend_from_slice(MARKER.as_bytes());
    body.extend_from_slice(&[0x80, 0xC0, 0xAF, 0xFF]);
    body.extend_from_slice(after.as_bytes());
    refused(&s, body).await;
}

// ---------------------------------------------------------------------------
// Not XML at all.
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_body_is_refused() {
    let s = TestServer::start().await;
    refused(&s, Bytes::new()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_xml_garbage_is_refused() {
    let s = TestServer::start().await;
    refused(
        &s,
        format!("{{\"method\": \"{MARKER}\", \"params\": [1, 2, 3]}} \0\x01\x02 <<<>>> &&& ]]>"),
    )
    .await;
    // Random-looking binary as well, which is not even valid UTF-8.
    let binary: Vec<u8> = (0..2048u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    refused(&s, binary).await;
}

// ---------------------------------------------------------------------------
// Size limits.
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declared_length_over_limit_is_refused_before_the_body_is_sent() {
    let s = TestServer::start().await;
    let mut stream = TcpStream::connect(s.addr).await.unwrap();
    // Only the head goes out. The default body timeout is 30 s, so a reply
    // within 5 s proves the server did not wait for the body.
    stream
        .write_all(post_head("Content-Length: 1000000\r\n").as_bytes())
        .await
        .unwrap();
    let r = read_reply(&mut stream, Duration::from_secs(5)).await;
    assert_xml_error(&r, 413, "REQUEST_TOO_LARGE", &s.key);
    // The unread body makes the connection unusable, so the server must say
    // it is closing it.
    assert_eq!(
        r.headers.get("connection").and_then(|v| v.to_str().ok()),
        Some("close")
    );
    drop(stream);
    assert_still_serves(&s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunked_body_over_limit_is_refused() {
    let s = TestServer::start().await;
    let stream = TcpStream::connect(s.addr).await.unwrap();
    let (mut rd, mut wr) = stream.into_split();
    // With no Content-Length the limit can only be enforced while reading,
    // so stream 4 MiB and expect the 413 long before the end. Write errors
    // are expected once the server closes the connection.
    let writer = tokio::spawn(async move {
        if wr
            .write_all(post_head("Transfer-Encoding: chunked\r\n").as_bytes())
            .await
            .is_err()
        {
            return;
        }
        let payload = format!("<REQUEST>{}", " ".repeat(4096 - 9));
        let chunk = format!("{:x}\r\n{payload}\r\n", payload.len());
        for _ in 0..1024 {
            if wr.write_all(chunk.as_bytes()).await.is_err() {
                return;
            }
        }
        let _ = wr.write_all(b"0\r\n\r\n").await;
    });
    let r = read_reply(&mut rd, Duration::from_secs(5)).await;
    assert_xml_error(&r, 413, "REQUEST_TOO_LARGE", &s.key);
    drop(rd);
    writer.abort();
    let _ = writer.await;
    assert_still_serves(&s).await;
}

/// A valid GETBALANCE envelope padded with whitespace to exactly `len`
/// bytes.
fn padded_envelope(key: &str, len: usize) -> String {
    let body = envelope(key, "ACCOUNT.GETBALANCE", &[]);
    let pad = len.checked_sub(body.len()).expect("envelope fits");
    body.replacen("<REQUEST>", &format!("<REQUEST>{}", " ".repeat(pad)), 1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn body_exactly_at_the_limit_is_accepted_and_one_byte_more_is_not() {
    let s = TestServer::start().await;
    let at_limit = padded_envelope(&s.key, 64 * 1024);
    assert_eq!(at_limit.len(), 64 * 1024);
    s.post("/api/v3.asp", at_limit).await.ok();
    let over = padded_envelope(&s.key, 64 * 1024 + 1);
    let r = s.post("/api/v3.asp", over).await;
    assert_xml_error(&r, 413, "REQUEST_TOO_LARGE", &s.key);
    assert_still_serves(&s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configured_lower_body_limit_is_honoured() {
    let s = TestServer::start_with(|c| c.body_limit = 1024).await;
    s.post("/api/v3.asp", padded_envelope(&s.key, 1024))
        .await
        .ok();
    // Over the configured limit with a declared length...
    let r = s.post("/api/v3.asp", padded_envelope(&s.key, 2000)).await;
    assert_xml_error(&r, 413, "REQUEST_TOO_LARGE", &s.key);
    // ...and chunked, where only counting the bytes read can catch it.
    let mut stream = TcpStream::connect(s.addr).await.unwrap();
    let body = padded_envelope(&s.key, 2000);
    let chunked = format!(
        "{}{:x}\r\n{body}\r\n0\r\n\r\n",
        post_head("Transfer-Encoding: chunked\r\n"),
        body.len()
    );
    stream.write_all(chunked.as_bytes()).await.unwrap();
    let r = read_reply(&mut stream, Duration::from_secs(5)).await;
    assert_xml_error(&r, 413, "REQUEST_TOO_LARGE", &s.key);
    drop(stream);
    assert_still_serves(&s).await;
}

// ---------------------------------------------------------------------------
// Time limits.
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_body_gets_408_with_an_xml_error() {
    let s = TestServer::start_with(|c| c.body_timeout = Duration::from_millis(300)).await;
    let mut stream = TcpStream::connect(s.addr).await.unwrap();
    // Ten bytes of a hundred promised, then silence.
    let request = format!("{}<REQUEST> ", post_head("Content-Length: 100\r\n"));
    stream.write_all(request.as_bytes()).await.unwrap();
    let started = Instant::now();
    let r = read_reply(&mut stream, Duration::from_secs(5)).await;
    let took = started.elapsed();
    assert_eq!(r.status, 408, "{}", r.body);
    assert!(
        r.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/xml")),
        "{:?}",
        r.headers
    );
    assert!(r.body.starts_with(XML_DECLARATION), "{}", r.body);
    assert_eq!(r.result(), "ERROR", "{}", r.body);
    assert!(r.code().is_some(), "{}", r.body);
    assert!(!r.error().trim().is_empty(), "{}", r.body);
    assert!(
        took >= Duration::from_millis(250) && took < Duration::from_secs(3),
        "408 after {took:?}"
    );
    drop(stream);
    assert_still_serves(&s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_request_head_is_cut_off_and_others_are_served() {
    let s = TestServer::start_with(|c| c.header_timeout = Duration::from_millis(300)).await;
    let mut slow = TcpStream::connect(s.addr).await.unwrap();
    slow.write_all(b"POST /api/v3.asp HTT").await.unwrap();
    // While the slow client hangs, a normal client must be served at once.
    assert_still_serves(&s).await;
    // The server must close the slow connection (EOF or reset), perhaps
    // after a 408; it must not keep waiting for the rest of the head.
    let closed = tokio::time::timeout(Duration::from_secs(2), async {
        let mut buf = [0u8; 1024];
        loop {
            match slow.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "slow request head still open after 2 s");
    assert_still_serves(&s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connection_that_sends_nothing_is_closed() {
    let s = TestServer::start_with(|c| c.header_timeout = Duration::from_millis(300)).await;
    // A client that connects and never sends a byte holds a connection slot
    // just like a slow one; the head timeout must cover it too.
    let mut idle = TcpStream::connect(s.addr).await.unwrap();
    let closed = tokio::time::timeout(Duration::from_secs(2), async {
        let mut buf = [0u8; 1024];
        loop {
            match idle.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "idle connection still open after 2 s");
    assert_still_serves(&s).await;
}

// ---------------------------------------------------------------------------
// What the contract allows must keep working.
// ---------------------------------------------------------------------------

/// Orders one number from San Francisco with the given raw `TITLE` markup
/// and returns the title the server stored, read back from the reply.
async fn order_with_raw_title(s: &TestServer, title_markup: &str) -> String {
    let body = raw_envelope(
        &s.key,
        "DID.ORDER",
        &format!(
            "<PARAMETER NAME=\"DID_TYPE\">GEOGRAPHIC</PARAMETER><PARAMETER NAME=\"AREA_ID\">us-ca-415</PARAMETER><PARAMETER NAME=\"TITLE\">{title_markup}</PARAMETER>"
        ),
    );
    let r = s.post("/api/v3.asp", body).await.ok();
    let dids = r.elements("DID");
    assert_eq!(dids.len(), 1, "{}", r.body);
    dids[0]["TITLE"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn comments_anywhere_in_the_envelope_are_ignored() {
    let s = TestServer::start().await;
    let body = format!(
        "<?xml version=\"1.0\"?>\n<!-- before -->\n<REQUEST><!-- a --><USERTOKEN><!-- b --><USERKEY>{}</USERKEY></USERTOKEN>\n<ACTION NAME=\"DID.ORDER\"><!-- c -->\
         <PARAMETER NAME=\"DID_TYPE\">GEOGRAPHIC</PARAMETER><PARAMETER NAME=\"AREA_ID\">us-ca-415</PARAMETER>\
         <PARAMETER NAME=\"TITLE\">ab<!-- inside -->cd</PARAMETER></ACTION><!-- d --></REQUEST>\n<!-- after -->\n",
        s.key
    );
    let r = s.post("/api/v3.asp", body).await.ok();
    assert_eq!(r.elements("DID")[0]["TITLE"], "abcd", "{}", r.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cdata_in_a_value_is_taken_literally() {
    let s = TestServer::start().await;
    let title = order_with_raw_title(&s, "<![CDATA[a<b>&amp;]]> c").await;
    assert_eq!(title, "a<b>&amp; c");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn numeric_character_references_are_decoded() {
    let s = TestServer::start().await;
    let title = order_with_raw_title(&s, "&#65;&#x42;&#x263A; &amp;&lt;&gt;&quot;&apos;").await;
    assert_eq!(title, "AB\u{263A} &<>\"'");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn character_references_in_the_key_and_action_name_are_decoded() {
    let s = TestServer::start().await;
    // Every character of the key as a hex reference, and the action name's
    // dot as a decimal one: both must decode before use.
    let key: String = s
        .key
        .chars()
        .map(|c| format!("&#x{:x};", c as u32))
        .collect();
    let body = format!(
        "<REQUEST><USERTOKEN><USERKEY>{key}</USERKEY></USERTOKEN><ACTION NAME=\"ACCOUNT&#46;GETBALANCE\"/></REQUEST>"
    );
    let r = s.post("/api/v3.asp", body).await.ok();
    assert_eq!(
        r.value("BALANCE100").as_deref(),
        Some("10000"),
        "{}",
        r.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn utf8_bom_is_accepted() {
    let s = TestServer::start().await;
    let mut body = b"\xEF\xBB\xBF".to_vec();
    body.extend_from_slice(envelope(&s.key, "ACCOUNT.GETBALANCE", &[]).as_bytes());
    let r = s.post("/api/v3.asp", body).await.ok();
    assert_eq!(
        r.value("BALANCE100").as_deref(),
        Some("10000"),
        "{}",
        r.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lower_case_utf8_encoding_declaration_is_accepted() {
    let s = TestServer::start().await;
    let body = envelope(&s.key, "ACCOUNT.GETBALANCE", &[]).replace(
        "<?xml version=\"1.0\" standalone=\"no\" ?>",
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>",
    );
    let r = s.post("/api/v3.asp", body).await.ok();
    assert_eq!(
        r.value("BALANCE100").as_deref(),
        Some("10000"),
        "{}",
        r.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_ascii_utf8_value_round_trips() {
    let s = TestServer::start().await;
    // Raw multi-byte UTF-8 (not references) is valid and must survive.
    let title = order_with_raw_title(&s, "Zürich – 東京 🚀").await;
    assert_eq!(title, "Zürich – 東京 🚀");
}

/// `POST /api/xml` is an alias of `/api/v3.asp` (PROTOCOL.md section 1), so
/// it must refuse a broken envelope in exactly the same way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alias_path_refuses_malformed_envelopes_the_same_way() {
    let s = TestServer::start().await;
    let body = format!("<RESPONSE>{MARKER}</RESPONSE>");
    let r = request(s.addr, "POST", "/api/xml", &[], Bytes::from(body)).await;
    assert_xml_error(&r, 400, "MALFORMED_REQUEST", &s.key);
    assert_still_serves(&s).await;
}
