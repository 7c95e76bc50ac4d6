//! What a command did, typed: every front renders these in its own shape.
//! Mutations' outcomes are also what idempotency keeps (serialised by the
//! engine), so a retry through any front is rendered again from the same
//! value.

use serde::{Deserialize, Serialize};

use crate::domain::{AccountNumber, Area, Country, Did, Money100, ReservationId, State, UnixTime};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    Countries(Vec<Country>),
    States(Vec<State>),
    Areas(Vec<Area>),
    /// Numbers offered (search results).
    Offered(Vec<Did>),
    /// One page of the caller's numbers and how many match in all.
    Listed {
        dids: Vec<Did>,
        total: u64,
    },
    Balance(Money100),
    Ordered(Ordered),
    /// The numbers a command changed, as they are now.
    Changed(Vec<Did>),
    Reserved(Reserved),
    /// How many numbers went back to stock.
    Released(u64),
    SubaccountCreated(AccountNumber),
    Done,
}

impl Outcome {
    /// How many items (countries, areas, numbers...) the outcome lists:
    /// what the read cache weighs it by.
    pub fn items(&self) -> usize {
        match self {
            Outcome::Countries(v) => v.len(),
            Outcome::States(v) => v.len(),
            Outcome::Areas(v) => v.len(),
            Outcome::Offered(v) | Outcome::Changed(v) => v.len(),
            Outcome::Listed { dids, .. } => dids.len(),
            Outcome::Ordered(o) => o.dids.len(),
            Outcome::Reserved(r) => r.dids.len(),
            Outcome::Balance(_)
            | Outcome::Released(_)
            | Outcome::SubaccountCreated(_)
            | Outcome::Done => 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ordered {
    pub order_id: i64,
    pub charged: Money100,
    pub dids: Vec<Did>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reserved {
    pub id: ReservationId,
    pub expires_at: UnixTime,
    /// Every number the reservation now holds.
    pub dids: Vec<Did>,
}

/// A command's outcome as the service hands it to a front.
#[derive(Debug, Clone)]
pub struct Executed {
    pub outcome: std::sync::Arc<Outcome>,
    /// Set for a read answered from, or kept in, the read cache: lets the
    /// front keep its rendering beside it (see [`crate::cache`]).
    pub cached: Option<crate::cache::Slot>,
}
