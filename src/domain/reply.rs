//! A successful reply, independent of the wire format that will carry it.

use super::{Area, Country, Did, State, UnixTime};

/// What an action answers; a codec turns it into bytes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Reply {
    /// The text of `RESULT`: `SUCCESS` unless the action says otherwise
    /// (Anveo's `ACCOUNT.GETBALANCE` puts the balance there).
    pub result: Option<String>,
    pub payload: Payload,
    /// Named scalar values, in the order they are written.
    pub values: Vec<(&'static str, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Payload {
    #[default]
    None,
    Countries(Vec<Country>),
    States(Vec<State>),
    Areas(Vec<Area>),
    Dids(Vec<Did>),
    /// A reservation and the numbers it holds.
    Reservation {
        id: String,
        expires: UnixTime,
        dids: Vec<Did>,
    },
}

impl Payload {
    /// How many items (countries, areas, numbers...) the payload lists.
    pub fn len(&self) -> usize {
        match self {
            Payload::None => 0,
            Payload::Countries(v) => v.len(),
            Payload::States(v) => v.len(),
            Payload::Areas(v) => v.len(),
            Payload::Dids(v) => v.len(),
            Payload::Reservation { dids, .. } => dids.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Reply {
    pub fn new(payload: Payload) -> Self {
        Self {
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
