//! Fuzzes the XML envelope decoder (`POST /api/v3.asp`, PROTOCOL.md section
//! 2) with arbitrary bytes. It guards against panics and hangs, checks that
//! whatever the decoder accepts is a request the actions can rely on, and
//! renders every refusal the way the server would. Accepted requests go
//! on to the typed decoding, which must never panic either.
//!
//! `tests/codec_props.rs` checks the same decoder with its own properties
//! on every `cargo test`.

#![no_main]

use didgate_anveo::decode_request;
use didgate_anveo::xml::{decode, render_error};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match decode(data) {
        Ok(request) => {
            // The actions assume upper-case, unique and trimmed parameters
            // and a present, trimmed key; a violation is a decoder bug.
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
            // A refusal must still render as a well-formed error reply.
            let _ = render_error(e.code(), &e.public_message());
        }
    }
});
