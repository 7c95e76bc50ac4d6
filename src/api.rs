//! The front-neutral request and the codec interface: what every front
//! (XML today, the GET form and JSON next) decodes into and renders from.

use crate::domain::Reply;
use crate::error::ErrorCode;

/// A request as a codec decoded it, before any business meaning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiRequest {
    /// The presented API key, if any.
    pub key: Option<String>,
    pub action: String,
    /// Parameter names (upper case) and decoded values, in request order,
    /// names unique.
    pub params: Vec<(String, String)>,
}

/// Renders replies for one wire format.
pub trait Codec: Send + Sync + 'static {
    fn content_type(&self) -> &'static str;
    fn render(&self, reply: &Reply) -> Vec<u8>;
    /// Names how this codec renders replies: two codecs with the same name
    /// render every reply to the same bytes (so a rendering can be kept).
    fn rendering(&self) -> &'static str;
    fn render_error(&self, code: ErrorCode, message: &str) -> Vec<u8>;
}
