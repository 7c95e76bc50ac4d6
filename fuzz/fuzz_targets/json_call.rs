//! Fuzzes the JSON front's decoder (`POST /ws/apikey/call_function`,
//! PROTOCOL.md section 6) with arbitrary bodies. It guards against panics
//! and hangs (deep nesting included), checks that every accepted call
//! carries its key and the command its method names, and renders every
//! refusal the way the server would.
//!
//! `tests/codec_props.rs` checks the same decoder with its own properties
//! on every `cargo test`.

#![no_main]

use didgate_core::ErrorCode;
use didgate_json::{JsonCodec, Rejection, decode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match decode(data, "apikey=fuzz") {
        Ok(call) => {
            // A call is decoded straight into its typed command: the one
            // its method names, with no TEST and no REQUEST_ID.
            assert_eq!(call.key.as_deref(), Some("fuzz"));
            assert_eq!(call.request.command.name(), call.method.command_name());
            assert!(!call.request.test && call.request.request_id.is_none());
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
