//! The closed set of mutations the writer thread applies.

use rusqlite::Connection;

use super::order::{self, OrderOutcome, OrderSpec};
use crate::domain::UnixTime;
use crate::error::Error;

/// Every change a request can ask of the store.
pub enum Mutation {
    Order(OrderSpec),
}

/// What a mutation did, for the caller to render.
pub enum Outcome {
    Order(OrderOutcome),
}

pub(super) fn apply(
    conn: &Connection,
    mutation: Mutation,
    now: UnixTime,
) -> Result<Outcome, Error> {
    match mutation {
        Mutation::Order(spec) => order::apply(conn, spec, now).map(Outcome::Order),
    }
}
