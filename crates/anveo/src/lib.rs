//! didgate's Anveo fronts: the XML envelope (`POST /api/v3.asp`, alias
//! `POST /api/xml`) and Anveo's GET form (`GET /api/v2.asp`), both
//! answered in Anveo's XML `RESPONSE` (PROTOCOL.md sections 1 to 5).
//!
//! - `envelope` and `get_form` read the two request forms into one
//!   [`ApiRequest`]; every rejection there is `MALFORMED_REQUEST`.
//! - `decode` turns it into the core's typed request: the one table of
//!   action names and one function per action.
//! - `render` writes outcomes and errors; `status` picks HTTP statuses.
//! - `view` carries the reply's decorations from decoding to rendering.
//!
//! [`xml`] and [`query`] gather what tests and fuzz targets use directly.

mod decode;
mod envelope;
mod get_form;
mod params;
mod render;
mod status;
mod view;
mod wire;

use std::sync::Arc;

use didgate_core::Error;
use didgate_core::front::{Body, Decoded, Front, HttpReply, HttpRequest, View};
use didgate_core::outcome::Executed;

pub use decode::decode_request;
pub use envelope::envelope;
pub use status::{error_headers, http_status};
pub use wire::ApiRequest;

use view::XmlView;

/// The XML envelope and its rendering.
pub mod xml {
    pub use crate::envelope::{decode, envelope};
    pub use crate::render::{Payload, Reply, render, render_error, reply_of};
}

/// Anveo's GET form.
pub mod query {
    pub use crate::get_form::decode;
}

/// The media type of every reply of this front.
pub const CONTENT_TYPE: &str = "application/xml; charset=UTF-8";
/// Under this name undecorated replies are kept in the read cache. The
/// POST and GET forms render the same bytes, so they share it.
pub const RENDERING: &str = "xml";

const XML_PATHS: [&str; 2] = ["/api/v3.asp", "/api/xml"];
const GET_PATH: &str = "/api/v2.asp";

/// The Anveo front.
#[derive(Debug, Clone, Copy, Default)]
pub struct Anveo;

/// The `SIGNATURE` a request carried (trimmed, `None` when absent or
/// empty), from a view this front made.
pub fn signature(view: &View) -> Option<&str> {
    view.downcast_ref::<XmlView>()?.signature.as_deref()
}

impl Front for Anveo {
    fn name(&self) -> &'static str {
        "anveo"
    }

    fn route(&self, path: &str) -> Option<&'static [&'static str]> {
        if XML_PATHS.contains(&path) {
            Some(&["POST"])
        } else if path == GET_PATH {
            Some(&["GET"])
        } else {
            None
        }
    }

    fn decode(&self, request: &HttpRequest<'_>) -> Result<Decoded, Error> {
        let wire = if request.path == GET_PATH {
            get_form::decode(request.query.unwrap_or(""))?
        } else {
            envelope::decode(request.body)?
        };
        Ok(decode_request(wire))
    }

    fn render(&self, view: &View, executed: &Executed) -> HttpReply {
        let view = XmlView::of(view);
        let body = match &executed.cached {
            // Undecorated, the bytes are the same for every request with
            // this cache entry, so they are kept beside it.
            Some(slot) if view.undecorated() => {
                let bytes = slot.rendered(RENDERING).unwrap_or_else(|| {
                    let bytes = Arc::new(render::render(&render::reply_of(&executed.outcome)));
                    slot.keep(RENDERING, bytes.clone());
                    bytes
                });
                Body::Shared(bytes)
            }
            _ => {
                let mut reply = render::reply_of(&executed.outcome);
                reply.values.extend(view.decorations());
                Body::Owned(render::render(&reply))
            }
        };
        reply(200, Vec::new(), body)
    }

    /// Errors are never decorated: the code and the message are all an
    /// Anveo client reads from them.
    fn render_error(&self, _view: Option<&View>, error: &Error) -> HttpReply {
        let body = render::render_error(error.code(), &error.public_message());
        reply(http_status(error), error_headers(error), Body::Owned(body))
    }
}

fn reply(status: u16, headers: Vec<(&'static str, String)>, body: Body) -> HttpReply {
    HttpReply {
        status,
        content_type: CONTENT_TYPE,
        headers,
        body,
    }
}

#[cfg(test)]
mod tests;
