//! Reservations: numbers held for an account tree (a cart) until they
//! expire, are ordered or are canceled.

use rusqlite::{Connection, OptionalExtension, params};

use super::{accounts, dids};
use crate::domain::{
    AccountNumber, AreaId, Did, DidType, E164, Principal, ReservationId, UnixTime,
};
use crate::error::{DomainError, Error, StoreError};

/// What to reserve.
#[derive(Debug, Clone)]
pub enum ReserveWhat {
    /// The lowest available numbers of an area; all or none. `did_type`,
    /// when given, must be the area's.
    Area {
        area_id: AreaId,
        quantity: u32,
        did_type: Option<DidType>,
    },
    /// These numbers; all or none.
    Numbers(Vec<E164>),
}

/// Which reservation receives the numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReserveInto {
    /// A new reservation.
    New,
    /// This open reservation of the caller's tree (a cart).
    Existing(ReservationId),
    /// The account's newest open reservation, or a new one if it has none:
    /// the JSON front's "current order".
    Current,
}

#[derive(Debug, Clone)]
pub struct ReserveSpec {
    pub principal: Principal,
    pub target: Option<AccountNumber>,
    pub what: ReserveWhat,
    pub into: ReserveInto,
    /// How long the hold lasts from now, in seconds (also refreshes an
    /// existing reservation).
    pub hold_secs: i64,
}

#[derive(Debug, Clone)]
pub struct CancelReservationSpec {
    pub principal: Principal,
    pub id: ReservationId,
}

#[derive(Debug, Clone)]
pub struct ReservationOutcome {
    pub id: ReservationId,
    pub expires_at: UnixTime,
    /// Every number the reservation now holds.
    pub dids: Vec<Did>,
}

/// An open, unexpired reservation of the tree `root_id`, or the error the
/// contract gives: `NOT_FOUND` for none (or another tree's), `CONFLICT`
/// for one that expired, was ordered or was canceled.
fn open_reservation(
    conn: &Connection,
    id: &ReservationId,
    root_id: i64,
    now: UnixTime,
) -> Result<(), Error> {
    let row: Option<(i64, String, UnixTime)> = conn
        .prepare_cached("SELECT root_id, state, expires_at FROM reservations WHERE id = ?1")?
        .query_row([id.as_str()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    match row {
        Some((root, _, _)) if root != root_id => {
            Err(DomainError::NotFound(format!("reservation {id}")).into())
        }
        None => Err(DomainError::NotFound(format!("reservation {id}")).into()),
        Some((_, state, expires)) if state == "expired" || (state == "open" && expires <= now) => {
            Err(DomainError::Conflict(format!(
                "reservation {id} has expired: reserve the numbers again"
            ))
            .into())
        }
        Some((_, state, _)) if state == "ordered" => {
            Err(DomainError::Conflict(format!("reservation {id} was already ordered")).into())
        }
        Some((_, state, _)) if state == "canceled" => {
            Err(DomainError::Conflict(format!("reservation {id} was canceled")).into())
        }
        Some(_) => Ok(()),
    }
}

pub(super) fn reserve(
    conn: &Connection,
    spec: ReserveSpec,
    now: UnixTime,
) -> Result<ReservationOutcome, Error> {
    let owner = accounts::resolve_target(conn, &spec.principal, spec.target.as_ref())?;
    let expires_at = now.saturating_add(spec.hold_secs);
    let into = match spec.into {
        ReserveInto::Current => conn
            .prepare_cached(
                "SELECT id FROM reservations WHERE account_id = ?1 AND state = 'open' AND expires_at > ?2
                  ORDER BY created_at DESC, id LIMIT 1",
            )?
            .query_row(params![owner.id, now], |r| r.get::<_, String>(0))
            .optional()?
            .map(|id| ReservationId::parse(&id).map_err(StoreError::Internal))
            .transpose()?,
        ReserveInto::Existing(id) => Some(id),
        ReserveInto::New => None,
    };
    let id = match into {
        Some(id) => {
            open_reservation(conn, &id, spec.principal.root_id, now)?;
            conn.prepare_cached("UPDATE reservations SET expires_at = ?2 WHERE id = ?1")?
                .execute(params![id.as_str(), expires_at])?;
            id
        }
        None => {
            let id = ReservationId::generate();
            conn.prepare_cached(
                "INSERT INTO reservations (id, root_id, account_id, key_id, expires_at, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                id.as_str(),
                owner.root_id,
                owner.id,
                spec.principal.key_id.as_str(),
                expires_at,
                now
            ])?;
            id
        }
    };
    let numbers: Vec<String> = match &spec.what {
        ReserveWhat::Area {
            area_id,
            quantity,
            did_type,
        } => {
            let area_type: String = conn
                .prepare_cached("SELECT did_type FROM areas WHERE id = ?1")?
                .query_row([area_id.as_str()], |r| r.get(0))
                .optional()?
                .ok_or_else(|| DomainError::NotFound(format!("area {area_id}")))?;
            if let Some(want) = did_type.filter(|t| t.as_str() != area_type) {
                return Err(DomainError::Invalid {
                    name: "DID_TYPE",
                    reason: format!("is {want} but area {area_id} sells {area_type} numbers"),
                }
                .into());
            }
            let found: Vec<String> = conn
                .prepare_cached(
                    "SELECT e164 FROM dids WHERE area_id = ?1 AND status = 'available' ORDER BY e164 LIMIT ?2",
                )?
                .query_map(params![area_id.as_str(), quantity], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            if found.len() < *quantity as usize {
                return Err(DomainError::OutOfStock {
                    area: area_id.to_string(),
                    requested: *quantity,
                    available: found.len() as u32,
                }
                .into());
            }
            found
        }
        ReserveWhat::Numbers(list) => {
            let mut stmt =
                conn.prepare_cached("SELECT status, reservation_id FROM dids WHERE e164 = ?1")?;
            let mut take = Vec::with_capacity(list.len());
            for e164 in list {
                let row: Option<(String, Option<String>)> = stmt
                    .query_row([e164.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()?;
                match row {
                    None => return Err(DomainError::NotFound(format!("number {e164}")).into()),
                    Some((status, _)) if status == "available" => take.push(e164.to_string()),
                    // Already in this cart: reserving it again changes nothing.
                    Some((_, Some(held))) if held == id.as_str() => {}
                    Some(_) => return Err(DomainError::NumberUnavailable(e164.to_string()).into()),
                }
            }
            take
        }
    };
    let mut hold = conn.prepare_cached(
        "UPDATE dids SET status = 'reserved', reservation_id = ?2 WHERE e164 = ?1 AND status = 'available'",
    )?;
    for e164 in &numbers {
        hold.execute(params![e164, id.as_str()])?;
    }
    let held = held_numbers(conn, &id)?;
    Ok(ReservationOutcome {
        dids: dids::load_offered(conn, &held)?,
        id,
        expires_at,
    })
}

fn held_numbers(conn: &Connection, id: &ReservationId) -> Result<Vec<String>, Error> {
    Ok(conn
        .prepare_cached("SELECT e164 FROM dids WHERE reservation_id = ?1 ORDER BY e164")?
        .query_map([id.as_str()], |r| r.get(0))?
        .collect::<Result<_, _>>()?)
}

/// `DID.RESERVE.CANCEL`: the numbers go back to stock at once.
pub(super) fn cancel(
    conn: &Connection,
    spec: CancelReservationSpec,
    now: UnixTime,
) -> Result<u64, Error> {
    open_reservation(conn, &spec.id, spec.principal.root_id, now)?;
    let released = release(conn, &spec.id)?;
    conn.prepare_cached("UPDATE reservations SET state = 'canceled' WHERE id = ?1")?
        .execute([spec.id.as_str()])?;
    Ok(released)
}

fn release(conn: &Connection, id: &ReservationId) -> Result<u64, Error> {
    Ok(conn
        .prepare_cached(
            "UPDATE dids SET status = 'available', reservation_id = NULL WHERE reservation_id = ?1 AND status = 'reserved'",
        )?
        .execute([id.as_str()])? as u64)
}

/// The numbers an order of reservation `id` buys, as `(e164, area_id)`.
pub(super) fn held_for_order(
    conn: &Connection,
    id: &ReservationId,
    root_id: i64,
    now: UnixTime,
) -> Result<Vec<(String, String)>, Error> {
    open_reservation(conn, id, root_id, now)?;
    let held: Vec<(String, String)> = conn
        .prepare_cached("SELECT e164, area_id FROM dids WHERE reservation_id = ?1 ORDER BY e164")?
        .query_map([id.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    if held.is_empty() {
        return Err(DomainError::Conflict(format!("reservation {id} holds no numbers")).into());
    }
    Ok(held)
}

pub(super) fn mark_ordered(
    conn: &Connection,
    id: &ReservationId,
    order_id: i64,
) -> Result<(), Error> {
    conn.prepare_cached("UPDATE reservations SET state = 'ordered', order_id = ?2 WHERE id = ?1")?
        .execute(params![id.as_str(), order_id])?;
    Ok(())
}

/// Expires open reservations whose time is up; their numbers return to
/// stock.
pub(super) fn expire(conn: &Connection, now: UnixTime) -> Result<u64, Error> {
    let due: Vec<String> = conn
        .prepare_cached(
            "SELECT id FROM reservations WHERE state = 'open' AND expires_at <= ?1 LIMIT 10000",
        )?
        .query_map([now], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut released = 0;
    for id in &due {
        let id = ReservationId::parse(id).map_err(crate::error::StoreError::Internal)?;
        released += release(conn, &id)?;
        conn.prepare_cached("UPDATE reservations SET state = 'expired' WHERE id = ?1")?
            .execute([id.as_str()])?;
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
