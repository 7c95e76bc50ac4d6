//! The business rules, each written once, over the storage interface
//! ([`crate::engine::Reads`] for reads, [`crate::engine::Tx`] for changes).
//! Engines run them inside their snapshots and transactions; fronts never
//! see them. [`read`] and [`apply`] are the one place the commands are
//! matched.

mod access;
pub mod accounts;
mod catalog;
mod idempotency;
mod numbers;
mod order;
mod pricing;
mod reserve;
mod sweep;

use crate::command::Command;
use crate::domain::{Principal, UnixTime};
use crate::engine::{Reads, Tx};
use crate::error::{Error, StoreError};
use crate::outcome::Outcome;
use crate::settings::Settings;

pub(crate) use idempotency::digest;
pub use idempotency::{fingerprint, once};
pub use sweep::sweep;

/// Who asks, when, under which settings: what every rule may look at.
#[derive(Debug, Clone)]
pub struct Ctx<'a> {
    pub principal: &'a Principal,
    pub settings: &'a Settings,
    pub now: UnixTime,
}

/// Answers a read command.
pub fn read(r: &mut dyn Reads, ctx: &Ctx<'_>, command: &Command) -> Result<Outcome, Error> {
    match command {
        Command::CountriesList(c) => catalog::countries(r, c),
        Command::StatesList(c) => catalog::states(r, c),
        Command::AreasList(c) => catalog::areas(r, c),
        Command::DidSearch(c) => catalog::search(r, c),
        Command::DidList(c) => numbers::list(r, ctx, c),
        Command::AccountGetBalance(_) => Ok(Outcome::Balance(r.balance(ctx.principal.root_id)?)),
        other => Err(StoreError::Internal(format!("{} is not a read", other.name())).into()),
    }
}

/// Applies a mutating command inside the caller's transaction.
pub fn apply(tx: &mut dyn Tx, ctx: &Ctx<'_>, command: &Command) -> Result<Outcome, Error> {
    match command {
        Command::DidOrder(c) => order::order(tx, ctx, c).map(Outcome::Ordered),
        Command::DidReserve(c) => reserve::reserve(tx, ctx, c).map(Outcome::Reserved),
        Command::DidReserveCancel(c) => reserve::cancel(tx, ctx, c).map(Outcome::Released),
        Command::DidUpdate(c) => numbers::update(tx, ctx, c).map(Outcome::Changed),
        Command::DidCancel(c) => numbers::cancel(tx, ctx, c).map(Outcome::Changed),
        Command::DidRestore(c) => numbers::restore(tx, ctx, c).map(Outcome::Changed),
        Command::DidMove(c) => numbers::move_number(tx, ctx, c).map(Outcome::Changed),
        Command::SubaccountCreate(c) => {
            accounts::create_subaccount(tx, ctx, c).map(Outcome::SubaccountCreated)
        }
        Command::SubaccountDelete(c) => {
            accounts::delete_subaccount(tx, ctx, c).map(|()| Outcome::Done)
        }
        other => read(tx, ctx, other),
    }
}
