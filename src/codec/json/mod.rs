//! The JSON front (seed 000): `POST /ws/apikey/call_function?apikey=KEY`
//! with `{"method": "...", "params": [...]}` (positional). [`decode`]
//! translates a call into the XML action it means; [`JsonCodec`] renders
//! replies in that method's shape. Only the shapes of requests and replies
//! differ from the XML front.

mod read;
mod write;

pub use read::{Method, Rejection, decode};
pub use write::JsonCodec;
