//! Reservations: numbers held for an account tree (a cart) until they
//! expire, are ordered or are canceled.

use super::Ctx;
use super::access::resolve_target;
use super::pricing::{check_type, offer_all};
use crate::command::{DidReserve, DidReserveCancel, ReserveInto, ReserveWhat};
use crate::domain::{AreaId, E164, NumberState, ReservationId};
use crate::engine::{NewReservation, ReservationState, Tx};
use crate::error::{DomainError, Error, StoreError};
use crate::outcome::Reserved;

/// An open, unexpired reservation of the caller's tree, or the error the
/// contract gives: `NOT_FOUND` for none (or another tree's), `CONFLICT`
/// for one that expired, was ordered or was canceled.
pub(super) fn open_reservation(
    tx: &mut dyn Tx,
    ctx: &Ctx<'_>,
    id: &ReservationId,
) -> Result<(), Error> {
    let found = tx
        .reservation(id)?
        .filter(|r| r.root_id == ctx.principal.root_id);
    let Some(r) = found else {
        return Err(DomainError::NotFound(format!("reservation {id}")).into());
    };
    let conflict = |what: String| Err(DomainError::Conflict(what).into());
    match r.state {
        ReservationState::Expired => conflict(format!(
            "reservation {id} has expired: reserve the numbers again"
        )),
        ReservationState::Open if r.expires_at <= ctx.now => conflict(format!(
            "reservation {id} has expired: reserve the numbers again"
        )),
        ReservationState::Ordered => conflict(format!("reservation {id} was already ordered")),
        ReservationState::Canceled => conflict(format!("reservation {id} was canceled")),
        ReservationState::Open => Ok(()),
    }
}

/// The numbers an order of reservation `id` buys, with their areas.
pub(super) fn held_for_order(
    tx: &mut dyn Tx,
    ctx: &Ctx<'_>,
    id: &ReservationId,
) -> Result<Vec<(E164, AreaId)>, Error> {
    open_reservation(tx, ctx, id)?;
    let held = tx.held(id)?;
    if held.is_empty() {
        return Err(DomainError::Conflict(format!("reservation {id} holds no numbers")).into());
    }
    Ok(held)
}

/// How many tries a fresh random id gets before the collision is a bug:
/// with 64 random bits, a second try is already astronomically rare.
const ID_TRIES: usize = 4;

pub(super) fn reserve(tx: &mut dyn Tx, ctx: &Ctx<'_>, c: &DidReserve) -> Result<Reserved, Error> {
    let owner = resolve_target(tx, ctx.principal, c.target.as_ref())?;
    let minutes = c
        .minutes
        .map_or(ctx.settings.reservation_default_minutes, |m| m.get());
    let expires_at = ctx
        .now
        .saturating_add(i64::from(minutes) * ctx.settings.reservation_minute_secs);
    let existing = match &c.into {
        ReserveInto::Current => tx.newest_open_reservation(owner.id, ctx.now)?,
        ReserveInto::Existing(id) => Some(id.clone()),
        ReserveInto::New => None,
    };
    let id = match existing {
        Some(id) => {
            open_reservation(tx, ctx, &id)?;
            tx.set_reservation_expiry(&id, expires_at)?;
            id
        }
        None => open_new(tx, ctx, owner.root_id, owner.id, expires_at)?,
    };
    for e164 in choose(tx, &c.what, &id)? {
        tx.hold(&e164, &id)?;
    }
    let held = tx.held(&id)?;
    Ok(Reserved {
        dids: offer_all(tx, &held, Vec::new())?,
        id,
        expires_at,
    })
}

fn open_new(
    tx: &mut dyn Tx,
    ctx: &Ctx<'_>,
    root_id: i64,
    account_id: i64,
    expires_at: i64,
) -> Result<ReservationId, Error> {
    for _ in 0..ID_TRIES {
        let id = ReservationId::generate();
        let row = NewReservation {
            id: &id,
            root_id,
            account_id,
            key_id: &ctx.principal.key_id,
            expires_at,
            at: ctx.now,
        };
        match tx.insert_reservation(&row) {
            Ok(()) => return Ok(id),
            Err(StoreError::Duplicate(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(StoreError::Internal("no free reservation id after several tries".into()).into())
}

/// The numbers to hold: all or none.
fn choose(tx: &mut dyn Tx, what: &ReserveWhat, id: &ReservationId) -> Result<Vec<E164>, Error> {
    match what {
        ReserveWhat::Area {
            area_id,
            quantity,
            did_type,
        } => {
            let area = tx
                .area(area_id)?
                .ok_or_else(|| DomainError::NotFound(format!("area {area_id}")))?;
            check_type(&area, *did_type)?;
            let found = tx.lowest_available(area_id, quantity.get())?;
            if found.len() < quantity.get() as usize {
                return Err(DomainError::OutOfStock {
                    area: area_id.to_string(),
                    requested: quantity.get(),
                    available: found.len() as u32,
                }
                .into());
            }
            Ok(found)
        }
        ReserveWhat::Numbers(list) => {
            let mut take = Vec::with_capacity(list.as_slice().len());
            for e164 in list.as_slice() {
                let number = tx
                    .number(e164)?
                    .ok_or_else(|| DomainError::NotFound(format!("number {e164}")))?;
                match number.state {
                    NumberState::Available => take.push(e164.clone()),
                    // Already in this cart: reserving it again changes nothing.
                    _ if number.reservation_id.as_ref() == Some(id) => {}
                    _ => return Err(DomainError::NumberUnavailable(e164.to_string()).into()),
                }
            }
            Ok(take)
        }
    }
}

/// `DID.RESERVE.CANCEL`: the numbers go back to stock at once.
pub(super) fn cancel(tx: &mut dyn Tx, ctx: &Ctx<'_>, c: &DidReserveCancel) -> Result<u64, Error> {
    open_reservation(tx, ctx, &c.id)?;
    let released = tx.release(&c.id)?;
    tx.set_reservation_state(&c.id, ReservationState::Canceled, None)?;
    Ok(released)
}

/// Expires open reservations whose time is up; their numbers return to
/// stock. How many numbers were released.
pub(super) fn expire(tx: &mut dyn Tx, now: i64) -> Result<u64, Error> {
    let due = tx.expired_reservations(now, 10_000)?;
    let mut released = 0;
    for id in &due {
        released += tx.release(id)?;
        tx.set_reservation_state(id, ReservationState::Expired, None)?;
    }
    if !due.is_empty() {
        tracing::info!(
            reservations = due.len(),
            numbers = released,
            "reservations expired"
        );
    }
    Ok(released)
}
