//! What this front remembers about one request between decoding and
//! rendering: the decorations its reply carries after the action's own
//! values, and the `SIGNATURE` the client sent.

use didgate_core::domain::RequestId;
use didgate_core::front::View;

/// This front's [`View`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct XmlView {
    /// Echoed as `REQUEST_ID` (mutating actions only).
    pub request_id: Option<RequestId>,
    /// `TEST=TRUE`: the reply says `TEST` `TRUE`.
    pub test: bool,
    /// Parameters the action did not read, in request order.
    pub ignored: Vec<String>,
    /// `SIGNATURE`, trimmed; `None` when absent or empty.
    pub signature: Option<String>,
}

impl XmlView {
    /// The view of a view: ours, or an empty one for a view some other
    /// front made (a server bug, but not worth a panic).
    pub fn of(view: &View) -> &XmlView {
        static EMPTY: XmlView = XmlView {
            request_id: None,
            test: false,
            ignored: Vec::new(),
            signature: None,
        };
        view.downcast_ref().unwrap_or(&EMPTY)
    }

    /// Whether the reply is the same bytes for every request with the same
    /// outcome: then it may be kept in the read cache.
    pub fn undecorated(&self) -> bool {
        self.request_id.is_none() && !self.test && self.ignored.is_empty()
    }

    /// The shared values, in the order they follow the action's own.
    pub fn decorations(&self) -> Vec<(&'static str, String)> {
        let mut values = Vec::new();
        if let Some(id) = &self.request_id {
            values.push(("REQUEST_ID", id.to_string()));
        }
        if self.test {
            values.push(("TEST", "TRUE".into()));
        }
        if !self.ignored.is_empty() {
            values.push(("IGNORED_PARAMETERS", self.ignored.join(",")));
        }
        values
    }
}
