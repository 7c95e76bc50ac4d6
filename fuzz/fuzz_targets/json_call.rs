//! Fuzzes the JSON front's decoder (`POST /ws/apikey/call_function`,
//! PROTOCOL.md section 6) with arbitrary bodies. It guards against panics
//! and hangs (deep nesting included), checks that every accepted call
//! translates into a request the XML actions can rely on, and renders every
//! refusal the way the server would.
//!
//! The body is kept identical to `json_call_target` in `tests/codec_props.rs`,
//! which runs it on every `cargo test`.

#![no_main]

use didgate::ErrorCode;
use didgate::api::Codec;
use didgate::codec::json::{JsonCodec, Rejection, decode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match decode(data, "apikey=fuzz") {
        Ok((request, method)) => {
            // A call becomes one XML action with named parameters, so the
            // XML front's invariants must hold for it as well.
            for (i, (name, value)) in request.params.iter().enumerate() {
                assert_eq!(*name, name.to_ascii_uppercase());
                assert!(request.params[..i].iter().all(|(n, _)| n != name));
                assert_eq!(value, value.trim());
            }
            assert!(!request.action.is_empty());
            assert_eq!(request.key.as_deref(), Some("fuzz"));
            let _ = method.name();
        }
        Err(Rejection::Malformed(e)) => {
            // Not a call at all: always MALFORMED_REQUEST, answered at once.
            assert_eq!(e.code(), ErrorCode::MalformedRequest);
            let _ = JsonCodec::new(None).render_error(e.code(), &e.public_message());
        }
        Err(Rejection::AfterAuth { key, error }) => {
            // A call the server cannot run is answered after the key is
            // checked, so the key must travel with the error.
            assert_eq!(key.as_deref(), Some("fuzz"));
            let _ = JsonCodec::new(None).render_error(error.code(), &error.public_message());
        }
    }
});
