//! didgate's JSON front (PROTOCOL.md section 6, seed 000):
//! `POST /ws/apikey/call_function?apikey=KEY` with
//! `{"method": "...", "params": [...]}` (positional).
//!
//! Each method is decoded straight into the typed command it means
//! ([`decode`], [`Method`]), and each outcome rendered straight into the
//! method's JSON shape ([`JsonCodec`]). [`Json`] is the [`Front`] the
//! server registers; the rest is public for the property tests and fuzz
//! targets that drive decoding and rendering without a server.
//!
//! [`Front`]: didgate_core::front::Front

mod call;
mod codec;
mod decode;
mod front;
mod method;
mod render;
mod status;
mod values;

pub use codec::{CONTENT_TYPE, JsonCodec};
pub use decode::{Call, Rejection, decode};
pub use front::{Json, PATH};
pub use method::Method;
pub use status::status;
