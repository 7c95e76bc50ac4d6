//! [`Json`], the front: `POST /ws/apikey/call_function?apikey=KEY` with a
//! call in the body, answered in JSON.

use didgate_core::Error;
use didgate_core::front::{Decoded, Front, HttpReply, HttpRequest, View};
use didgate_core::outcome::Executed;

use crate::codec::JsonCodec;
use crate::decode::{api_key, envelope, request};
use crate::method::Method;

/// The one path this front serves.
pub const PATH: &str = "/ws/apikey/call_function";

/// The JSON front of PROTOCOL.md section 6.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json;

/// What rendering needs to know about a call: the method it named, which
/// decides the reply's shape and the parameter names of its errors
/// (`None` for an unknown method).
#[derive(Debug)]
struct CallView {
    method: Option<Method>,
}

/// The codec of a call's view; a view this front did not make renders
/// like an unknown method.
fn codec(view: Option<&View>) -> JsonCodec {
    let method = view
        .and_then(|v| v.downcast_ref::<CallView>())
        .and_then(|v| v.method);
    JsonCodec::new(method)
}

impl Front for Json {
    fn name(&self) -> &'static str {
        "json"
    }

    fn route(&self, path: &str) -> Option<&'static [&'static str]> {
        (path == PATH).then_some(&["POST"])
    }

    /// A body that is not a call is refused here, before the key; any
    /// other refusal waits for the key check, in `Decoded::request`.
    fn decode(&self, http: &HttpRequest<'_>) -> Result<Decoded, Error> {
        let key = api_key(http.query.unwrap_or(""));
        let (name, params) = envelope(http.body)?;
        let method = Method::parse(&name);
        let request = match method {
            Some(m) => request(m, &params),
            None => Err(Error::unknown_action(&name)),
        };
        Ok(Decoded {
            key,
            // Anveo's HMAC parameter has no place in a JSON call.
            signature: None,
            action: method.map(Method::command_name),
            request,
            view: Box::new(CallView { method }),
        })
    }

    fn render(&self, view: &View, executed: &Executed) -> HttpReply {
        codec(Some(view)).reply(executed)
    }

    fn render_error(&self, view: Option<&View>, error: &Error) -> HttpReply {
        codec(view).error_reply(error)
    }
}

#[cfg(test)]
mod tests;
