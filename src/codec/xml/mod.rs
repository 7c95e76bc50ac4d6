//! Anveo's XML envelope: [`decode`] a `REQUEST`, render a `RESPONSE`.

mod read;
mod write;

pub use read::decode;
pub use write::XmlCodec;
