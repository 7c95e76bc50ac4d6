//! Fuzzes the GET form decoder (`GET /api/v2.asp?userkey=K&action=A&
//! param[P]=V`, PROTOCOL.md section 1) with arbitrary query strings. It
//! guards against panics and hangs and checks that whatever the decoder
//! accepts is a request the actions can rely on. Accepted requests go on
//! to the typed decoding, which must never panic either.
//!
//! `tests/codec_props.rs` checks the same decoder with its own properties
//! on every `cargo test`.

#![no_main]

use didgate_anveo::decode_request;
use didgate_anveo::query::decode;
use didgate_anveo::xml::render_error;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The server hands the decoder the URI's query as text; lossy UTF-8
    // keeps every input reachable while still feeding it a `&str`.
    let query = String::from_utf8_lossy(data);
    match decode(&query) {
        Ok(request) => {
            // The same invariants as the XML envelope: the actions do not
            // care which front a request came through.
            for (i, (name, value)) in request.params.iter().enumerate() {
                assert_eq!(*name, name.to_ascii_uppercase());
                assert!(request.params[..i].iter().all(|(n, _)| n != name));
                assert_eq!(value, value.trim());
            }
            assert!(!request.action.is_empty());
            assert!(
                request
                    .key
                    .as_deref()
                    .is_none_or(|k| !k.is_empty() && k == k.trim())
            );
            let _ = decode_request(request);
        }
        Err(e) => {
            // GET form errors are XML replies too.
            let _ = render_error(e.code(), &e.public_message());
        }
    }
});
