//! The front interface: what a front is to the server. A front is one
//! module behind [`Front`]: which paths it serves and with which methods,
//! how it decodes a request into a typed [`Request`] (it sees the method,
//! path, query, headers and body, so credentials may come from anywhere),
//! and how it renders outcomes and errors, with which HTTP statuses. The
//! server knows no front by name; it only registers them.

use std::any::Any;
use std::sync::Arc;

use crate::command::Request;
use crate::error::Error;
use crate::outcome::Executed;

/// A request as the transport received it, body complete.
pub struct HttpRequest<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub headers: &'a dyn Headers,
    pub body: &'a [u8],
}

/// Header lookup, so the core needs no HTTP crate.
pub trait Headers: Sync {
    /// The first value of the header `name` (case-insensitive).
    fn get(&self, name: &str) -> Option<&[u8]>;
}

/// The front's own state about one request, from decoding to rendering
/// (which decorations to add, which shape to answer in).
pub type View = Box<dyn Any + Send + Sync>;

/// What a front made of a request it could read.
pub struct Decoded {
    /// The presented API key, if any.
    pub key: Option<String>,
    /// Anveo's `SIGNATURE`, if given: checked only when the account has a
    /// signature secret (a missing or wrong one then fails like a wrong
    /// key, before any other error is reported).
    pub signature: Option<String>,
    /// The command's name for the log and the metrics, when the front
    /// recognised one (also when its parameters were wrong).
    pub action: Option<&'static str>,
    /// The command, or why it cannot run: reported only after the key is
    /// checked, so a caller without a valid key learns nothing else.
    pub request: Result<Request, Error>,
    pub view: View,
}

/// A reply body: owned, or shared with the read cache.
#[derive(Debug, Clone)]
pub enum Body {
    Owned(Vec<u8>),
    Shared(Arc<Vec<u8>>),
}

impl Body {
    pub fn as_slice(&self) -> &[u8] {
        match self {
            Body::Owned(v) => v,
            Body::Shared(v) => v,
        }
    }
}

/// A reply, ready for the transport.
#[derive(Debug, Clone)]
pub struct HttpReply {
    pub status: u16,
    pub content_type: &'static str,
    /// Extra headers (`Retry-After`, `WWW-Authenticate`, ...).
    pub headers: Vec<(&'static str, String)>,
    pub body: Body,
}

pub trait Front: Send + Sync + 'static {
    /// The front's name in logs and metrics.
    fn name(&self) -> &'static str;

    /// The methods this front accepts on `path`, if it serves that path.
    fn route(&self, path: &str) -> Option<&'static [&'static str]>;

    /// Decodes a request for a path this front serves, with an accepted
    /// method. `Err` means the request cannot be read at all (a broken
    /// envelope): it is answered at once, without authentication.
    fn decode(&self, request: &HttpRequest<'_>) -> Result<Decoded, Error>;

    /// Renders a command's outcome.
    fn render(&self, view: &View, executed: &Executed) -> HttpReply;

    /// Renders an error, with the view when the request was decoded. The
    /// front alone decides its status (Anveo's fronts answer business
    /// errors with 200, for instance).
    fn render_error(&self, view: Option<&View>, error: &Error) -> HttpReply;
}
