//! The closed set of mutations the writer thread applies.

use rusqlite::Connection;

use super::numbers::{self, MoveSpec, NumberSpec, UpdateSpec};
use super::order::{self, OrderOutcome, OrderSpec};
use super::reservation::{self, CancelReservationSpec, ReservationOutcome, ReserveSpec};
use super::subaccounts::{self, DeleteSpec, SubaccountSpec};
use crate::domain::{AccountNumber, Did, UnixTime};
use crate::error::Error;

/// Every change a request (or the aging sweep) can ask of the store.
pub enum Mutation {
    Order(OrderSpec),
    Update(UpdateSpec),
    /// Cancel a number; it ages for `aging_secs` before returning to stock.
    Cancel {
        spec: NumberSpec,
        aging_secs: i64,
    },
    Restore(NumberSpec),
    Move(MoveSpec),
    CreateSubaccount(SubaccountSpec),
    DeleteSubaccount(DeleteSpec),
    Reserve(ReserveSpec),
    CancelReservation(CancelReservationSpec),
    /// Return numbers whose aging has ended, and numbers of expired
    /// reservations, to stock.
    Sweep,
}

/// What a mutation did, for the caller to render.
pub enum Outcome {
    Order(OrderOutcome),
    /// The numbers changed, as they are now.
    Dids(Vec<Did>),
    Account(AccountNumber),
    Reservation(ReservationOutcome),
    /// How many numbers went back to stock.
    Released(u64),
    Done,
}

pub(super) fn apply(
    conn: &Connection,
    mutation: Mutation,
    now: UnixTime,
) -> Result<Outcome, Error> {
    match mutation {
        Mutation::Order(spec) => order::apply(conn, spec, now).map(Outcome::Order),
        Mutation::Update(spec) => numbers::update(conn, spec, now).map(Outcome::Dids),
        Mutation::Cancel { spec, aging_secs } => {
            numbers::cancel(conn, spec, aging_secs, now).map(Outcome::Dids)
        }
        Mutation::Restore(spec) => numbers::restore(conn, spec, now).map(Outcome::Dids),
        Mutation::Move(spec) => numbers::move_number(conn, spec, now).map(Outcome::Dids),
        Mutation::CreateSubaccount(spec) => {
            subaccounts::create(conn, spec, now).map(Outcome::Account)
        }
        Mutation::DeleteSubaccount(spec) => {
            subaccounts::delete(conn, spec, now).map(|()| Outcome::Done)
        }
        Mutation::Reserve(spec) => reservation::reserve(conn, spec, now).map(Outcome::Reservation),
        Mutation::CancelReservation(spec) => {
            reservation::cancel(conn, spec, now).map(Outcome::Released)
        }
        Mutation::Sweep => {
            let aged = numbers::return_aged(conn, now)?;
            Ok(Outcome::Released(aged + reservation::expire(conn, now)?))
        }
    }
}
