//! [`JsonCodec`]: this front's replies for one method, as HTTP replies or
//! as bare bodies (what the property tests and fuzz targets check).

use std::sync::Arc;

use didgate_core::cache::Slot;
use didgate_core::front::{Body, HttpReply};
use didgate_core::outcome::{Executed, Outcome};
use didgate_core::{Error, ErrorCode};

use crate::method::Method;
use crate::{render, status};

/// The one content type of every reply of this front, errors included.
pub const CONTENT_TYPE: &str = "application/json";

/// Renders replies in the shapes of one method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonCodec {
    method: Option<Method>,
}

impl JsonCodec {
    /// `None` when the call named no method this front knows: only errors
    /// are rendered then.
    pub fn new(method: Option<Method>) -> Self {
        JsonCodec { method }
    }

    pub fn method(self) -> Option<Method> {
        self.method
    }

    /// `{"result": ...}` in the method's shape.
    pub fn render(self, outcome: &Outcome) -> Vec<u8> {
        render::outcome(self.method, outcome)
    }

    /// `{"error": {"code", "message"}}`, the message as given.
    pub fn render_error(self, code: ErrorCode, message: &str) -> Vec<u8> {
        render::error(code, message)
    }

    /// The success reply, reusing (or keeping) the bytes kept beside a
    /// cached outcome under the method's own rendering name.
    pub fn reply(self, executed: &Executed) -> HttpReply {
        let slot = executed.cached.as_ref().map(|s| s as &dyn Renderings);
        ok(self.body(slot, &executed.outcome))
    }

    /// The error reply: the status and headers of [`status::status`], the
    /// message naming the parameters as the caller sent them.
    pub fn error_reply(self, error: &Error) -> HttpReply {
        let message = status::message(self.method, error);
        HttpReply {
            status: status::status(error),
            content_type: CONTENT_TYPE,
            headers: status::headers(error),
            body: Body::Owned(render::error(error.code(), &message)),
        }
    }

    fn body(self, slot: Option<&dyn Renderings>, outcome: &Outcome) -> Body {
        let (Some(slot), Some(method)) = (slot, self.method) else {
            return Body::Owned(self.render(outcome));
        };
        let name = method.rendering();
        if let Some(bytes) = slot.rendered(name) {
            return Body::Shared(bytes);
        }
        let bytes = Arc::new(self.render(outcome));
        slot.keep(name, bytes.clone());
        Body::Shared(bytes)
    }
}

fn ok(body: Body) -> HttpReply {
    HttpReply {
        status: 200,
        content_type: CONTENT_TYPE,
        headers: Vec::new(),
        body,
    }
}

/// Where renderings of one cached outcome are kept: the read cache's
/// [`Slot`]; a trait so that reuse is tested without a cache (a `Slot`
/// can only be made by the core).
trait Renderings {
    fn rendered(&self, name: &str) -> Option<Arc<Vec<u8>>>;
    fn keep(&self, name: &'static str, bytes: Arc<Vec<u8>>);
}

impl Renderings for Slot {
    fn rendered(&self, name: &str) -> Option<Arc<Vec<u8>>> {
        Slot::rendered(self, name)
    }

    fn keep(&self, name: &'static str, bytes: Arc<Vec<u8>>) {
        Slot::keep(self, name, bytes)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use didgate_core::domain::Country;

    use super::*;

    /// A rendering kept under its name.
    type Rendering = (&'static str, Arc<Vec<u8>>);

    /// A slot that remembers what was kept.
    #[derive(Default)]
    struct Kept(Mutex<Vec<Rendering>>);

    impl Renderings for Kept {
        fn rendered(&self, name: &str) -> Option<Arc<Vec<u8>>> {
            let kept = self.0.lock().unwrap();
            kept.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, b)| b.clone())
        }

        fn keep(&self, name: &'static str, bytes: Arc<Vec<u8>>) {
            self.0.lock().unwrap().push((name, bytes));
        }
    }

    fn countries() -> Outcome {
        Outcome::Countries(vec![Country {
            id: "FR".into(),
            name: "FRANCE".into(),
            has_states: false,
            is_fax: false,
            is_sms: false,
        }])
    }

    #[test]
    fn a_cached_outcome_is_rendered_once_per_method() {
        let kept = Kept::default();
        let codec = JsonCodec::new(Some(Method::ListCountry));
        let first = codec.body(Some(&kept), &countries());
        let Body::Shared(bytes) = &first else {
            panic!("not shared")
        };
        assert_eq!(
            &**bytes,
            br#"{"result":{"country_list":[{"code":"FR","country_name":"FRANCE"}]}}"#
        );
        assert_eq!(kept.0.lock().unwrap()[0].0, "json:did.zone.list_country");
        // A second request reuses the bytes, whatever the outcome says.
        let again = codec.body(Some(&kept), &Outcome::Countries(Vec::new()));
        assert_eq!(again.as_slice(), first.as_slice());
        assert_eq!(kept.0.lock().unwrap().len(), 1);
        // Another method keeps its own rendering beside it.
        let other = JsonCodec::new(Some(Method::ListAll));
        let listed = Outcome::Listed {
            dids: Vec::new(),
            total: 0,
        };
        let body = other.body(Some(&kept), &listed);
        assert_eq!(body.as_slice(), br#"{"result":{"numbers":[],"total":0}}"#);
        assert_eq!(kept.0.lock().unwrap().len(), 2);
    }

    #[test]
    fn uncached_outcomes_are_owned_json_with_200() {
        let executed = Executed {
            outcome: Arc::new(countries()),
            cached: None,
        };
        let reply = JsonCodec::new(Some(Method::ListCountry)).reply(&executed);
        assert_eq!(
            (reply.status, reply.content_type),
            (200, "application/json")
        );
        assert!(reply.headers.is_empty());
        assert!(matches!(reply.body, Body::Owned(_)));
    }

    #[test]
    fn error_replies_carry_status_headers_and_the_json_names() {
        let reply = JsonCodec::new(None).error_reply(&Error::RateLimited(30));
        assert_eq!(reply.status, 429);
        assert_eq!(reply.content_type, "application/json");
        assert_eq!(reply.headers, [("Retry-After", "30".to_owned())]);
        assert_eq!(
            reply.body.as_slice(),
            br#"{"error":{"code":"RATE_LIMITED","message":"too many failed authentications from this address: retry in 30 seconds"}}"#
        );
        let class = Error::Domain(didgate_core::DomainError::Invalid {
            name: "DID_TYPE",
            reason: "is GEOGRAPHIC but area gb-mob-7700 sells MOBILE numbers".into(),
        });
        let reply = JsonCodec::new(Some(Method::Reserve)).error_reply(&class);
        assert_eq!(reply.status, 200);
        assert_eq!(
            reply.body.as_slice(),
            br#"{"error":{"code":"INVALID_PARAMETER","message":"parameter class is GEOGRAPHIC but area gb-mob-7700 sells MOBILE numbers"}}"#
        );
    }
}
