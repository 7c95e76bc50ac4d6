//! Anveo's `<RESPONSE>`: an [`Outcome`] becomes a [`Reply`] (the `RESULT`
//! text, one payload element, named values), which becomes bytes. Errors
//! have their own fixed shape ([`render_error`]).
//!
//! The intermediate [`Reply`] is what the action-independent parts work
//! on: decorations are appended to its values, and property tests can
//! render any combination without building an outcome.

mod objects;

use std::fmt::Write as _;

use didgate_core::ErrorCode;
use didgate_core::domain::{Area, Country, Did, State, UnixTime};
use didgate_core::outcome::Outcome;

use objects::{area, country, did, reservation, state, text};

const DECLARATION: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

/// A successful reply, before it is written.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Reply<'a> {
    /// The text of `RESULT`: `SUCCESS` unless the action says otherwise
    /// (Anveo's `ACCOUNT.GETBALANCE` puts the balance there).
    pub result: Option<String>,
    pub payload: Payload<'a>,
    /// Named scalar values, in the order they are written.
    pub values: Vec<(&'static str, String)>,
}

/// The one list (or reservation) a reply holds, borrowed from the outcome.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Payload<'a> {
    #[default]
    None,
    Countries(&'a [Country]),
    States(&'a [State]),
    Areas(&'a [Area]),
    Dids(&'a [Did]),
    /// A reservation and the numbers it holds.
    Reservation {
        id: &'a str,
        expires: UnixTime,
        dids: &'a [Did],
    },
}

impl<'a> Reply<'a> {
    pub fn new(payload: Payload<'a>) -> Self {
        Reply {
            result: None,
            payload,
            values: Vec::new(),
        }
    }

    pub fn value(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.values.push((name, value.into()));
        self
    }
}

/// The reply an outcome makes, the same whichever action produced it.
pub fn reply_of(outcome: &Outcome) -> Reply<'_> {
    match outcome {
        Outcome::Countries(v) => Reply::new(Payload::Countries(v)),
        Outcome::States(v) => Reply::new(Payload::States(v)),
        Outcome::Areas(v) => Reply::new(Payload::Areas(v)),
        Outcome::Offered(dids) | Outcome::Changed(dids) => Reply::new(Payload::Dids(dids)),
        Outcome::Listed { dids, total } => {
            Reply::new(Payload::Dids(dids)).value("TOTAL", total.to_string())
        }
        Outcome::Balance(m) => Reply {
            // Anveo clients read the balance from RESULT, in currency units.
            result: Some(m.to_decimal()),
            ..Reply::default().value("BALANCE100", m.0.to_string())
        },
        Outcome::Ordered(o) => Reply::new(Payload::Dids(&o.dids))
            .value("ORDER_ID", o.order_id.to_string())
            .value("CHARGED100", o.charged.0.to_string()),
        Outcome::Reserved(r) => Reply::new(Payload::Reservation {
            id: r.id.as_str(),
            expires: r.expires_at,
            dids: &r.dids,
        }),
        Outcome::Released(n) => Reply::default().value("RELEASED", n.to_string()),
        Outcome::SubaccountCreated(number) => {
            Reply::default().value("ACCOUNT_NUMBER", number.to_string())
        }
        Outcome::Done => Reply::default(),
    }
}

/// Writes a successful reply.
pub fn render(reply: &Reply<'_>) -> Vec<u8> {
    let mut out = String::with_capacity(512 + 480 * items(&reply.payload));
    out.push_str(DECLARATION);
    out.push_str("<RESPONSE>\n  <RESULT>");
    out.push_str(&text(reply.result.as_deref().unwrap_or("SUCCESS")));
    out.push_str("</RESULT>\n");
    payload(&mut out, &reply.payload);
    for (name, value) in &reply.values {
        let _ = writeln!(out, "  <VALUE NAME=\"{name}\">{}</VALUE>", text(value));
    }
    out.push_str("</RESPONSE>\n");
    out.into_bytes()
}

/// Writes an error reply: `RESULT` `ERROR`, the code, the message.
pub fn render_error(code: ErrorCode, message: &str) -> Vec<u8> {
    format!(
        "{DECLARATION}<RESPONSE>\n  <RESULT>ERROR</RESULT>\n  <VALUE NAME=\"ERROR_CODE\">{}</VALUE>\n  <ERROR>{}</ERROR>\n</RESPONSE>\n",
        code.as_str(),
        text(message)
    )
    .into_bytes()
}

fn items(payload: &Payload<'_>) -> usize {
    match payload {
        Payload::None => 0,
        Payload::Countries(v) => v.len(),
        Payload::States(v) => v.len(),
        Payload::Areas(v) => v.len(),
        Payload::Dids(v) | Payload::Reservation { dids: v, .. } => v.len(),
    }
}

fn payload(out: &mut String, payload: &Payload<'_>) {
    match payload {
        Payload::None => {}
        Payload::Countries(list) => wrap(out, "COUNTRIES", list, country),
        Payload::States(list) => wrap(out, "STATES", list, state),
        Payload::Areas(list) => wrap(out, "AREAS", list, area),
        Payload::Dids(list) => wrap(out, "DIDS", list, did),
        Payload::Reservation { id, expires, dids } => reservation(out, id, *expires, dids),
    }
}

fn wrap<T>(out: &mut String, tag: &str, items: &[T], item: fn(&mut String, &T)) {
    let _ = writeln!(out, "  <{tag}>");
    for i in items {
        out.push_str("    ");
        item(out, i);
    }
    let _ = writeln!(out, "  </{tag}>");
}

#[cfg(test)]
mod tests;
