//! `DID.ORDER`: pick the numbers (lowest of an area, a reservation's, or a
//! named list), price them, charge the billing account and assign them;
//! all in the caller's savepoint, so any refusal changes nothing.

use rusqlite::{Connection, OptionalExtension, params};

use super::history::Event;
use super::reservation;
use super::{accounts, dids};
use crate::domain::{
    AccountNumber, AreaId, Did, DidType, E164, Money100, Principal, RatePlanId, ReservationId,
    UnixTime,
};
use crate::error::{DomainError, Error, StoreError};

/// Where the numbers of an order come from.
#[derive(Debug, Clone)]
pub enum OrderSource {
    /// The lowest available numbers of an area, whose type must be `did_type`.
    Area {
        area_id: AreaId,
        did_type: DidType,
        quantity: u32,
        partial: bool,
    },
    /// Exactly the numbers a reservation of the caller's tree holds.
    Reservation(ReservationId),
    /// These numbers, each available or reserved by the caller's tree.
    Numbers(Vec<E164>),
}

/// A validated order, ready for the writer.
#[derive(Debug, Clone)]
pub struct OrderSpec {
    pub principal: Principal,
    /// The account that will own the numbers; the key's own when absent.
    pub target: Option<AccountNumber>,
    pub source: OrderSource,
    /// Checked against every number's area when given (required for
    /// orders from an area, inside `source`).
    pub did_type: Option<DidType>,
    pub rate_plan: RatePlanId,
    pub title: String,
}

#[derive(Debug, Clone)]
pub struct OrderOutcome {
    pub order_id: i64,
    pub charged: Money100,
    pub dids: Vec<Did>,
}

/// A number picked for an order, with the area that prices it.
struct Pick {
    e164: String,
    area_id: String,
}

pub(super) fn apply(
    conn: &Connection,
    spec: OrderSpec,
    now: UnixTime,
) -> Result<OrderOutcome, Error> {
    let owner = accounts::resolve_target(conn, &spec.principal, spec.target.as_ref())?;
    let (picks, area, closes) = match &spec.source {
        OrderSource::Area {
            area_id,
            did_type,
            quantity,
            partial,
        } => (
            pick_from_area(conn, area_id, *did_type, *quantity, *partial)?,
            Some(area_id.as_str()),
            None,
        ),
        OrderSource::Reservation(id) => {
            let picks = reservation::held_for_order(conn, id, spec.principal.root_id, now)?
                .into_iter()
                .map(|(e164, area_id)| Pick { e164, area_id })
                .collect();
            (picks, None, Some(id))
        }
        OrderSource::Numbers(list) => (
            pick_numbers(conn, list, spec.principal.root_id, now)?,
            None,
            None,
        ),
    };

    // Price every number with the chosen plan in its own area.
    let mut prices: Vec<(i64, i64)> = Vec::with_capacity(picks.len());
    let mut price = conn.prepare_cached(
        "SELECT p.monthly100, p.setup100, a.did_type FROM areas a
           LEFT JOIN area_rate_plans p ON p.area_id = a.id AND p.rate_plan_id = ?2
          WHERE a.id = ?1",
    )?;
    for pick in &picks {
        let (monthly, setup, area_type): (Option<i64>, Option<i64>, String) = price
            .query_row([pick.area_id.as_str(), spec.rate_plan.as_str()], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?;
        if let Some(want) = spec.did_type.filter(|t| t.as_str() != area_type) {
            return Err(DomainError::Invalid {
                name: "DID_TYPE",
                reason: format!(
                    "is {want} but area {} sells {area_type} numbers",
                    pick.area_id
                ),
            }
            .into());
        }
        let (Some(monthly), Some(setup)) = (monthly, setup) else {
            return Err(DomainError::Invalid {
                name: "RATE_PLAN_ID",
                reason: format!("{} is not offered in area {}", spec.rate_plan, pick.area_id),
            }
            .into());
        };
        prices.push((monthly, setup));
    }
    let cost = prices
        .iter()
        .try_fold(0i64, |sum, (m, s)| sum.checked_add(m.checked_add(*s)?))
        .ok_or_else(|| StoreError::Internal("order cost overflows".into()))?;
    let balance: i64 = conn
        .prepare_cached("SELECT balance100 FROM accounts WHERE id = ?1")?
        .query_row([owner.root_id], |r| r.get(0))?;
    if cost > balance {
        return Err(DomainError::InsufficientFunds { cost, balance }.into());
    }

    conn.prepare_cached(
        "INSERT INTO orders (account_id, billing_id, key_id, area_id, rate_plan_id, quantity, charged100, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        owner.id,
        owner.root_id,
        spec.principal.key_id.as_str(),
        area,
        spec.rate_plan.as_str(),
        picks.len() as i64,
        cost,
        now
    ])?;
    let order_id = conn.last_insert_rowid();
    if cost > 0 {
        conn.prepare_cached(
            "INSERT INTO ledger (account_id, amount100, kind, order_id, key_id, memo, created_at)
             VALUES (?1, ?2, 'charge', ?3, ?4, ?5, ?6)",
        )?
        .execute(params![
            owner.root_id,
            -cost,
            order_id,
            spec.principal.key_id.as_str(),
            format!("order {order_id} for account {}", owner.number),
            now
        ])?;
    }
    let mut assign = conn.prepare_cached(
        "UPDATE dids SET status = 'active', account_id = ?2, order_id = ?3, rate_plan_id = ?4,
                monthly100 = ?5, setup100 = ?6, title = ?7, forward_type = ?8, forward_to = ?9,
                sms_url = '', sms_email = '', sms_phone = '', ordered_at = ?10, aging_until = NULL,
                reservation_id = NULL
          WHERE e164 = ?1 AND status IN ('available', 'reserved')",
    )?;
    for (pick, (monthly, setup)) in picks.iter().zip(&prices) {
        let changed = assign.execute(params![
            pick.e164,
            owner.id,
            order_id,
            spec.rate_plan.as_str(),
            monthly,
            setup,
            spec.title,
            owner.forward_type,
            owner.forward_to,
            now
        ])?;
        // The single writer and the checks above make this impossible; if
        // it ever happens the savepoint is rolled back and nothing is sold
        // twice.
        if changed != 1 {
            return Err(StoreError::Internal(format!(
                "number {} was taken during its own order",
                pick.e164
            ))
            .into());
        }
        Event {
            e164: &pick.e164,
            event: "ordered",
            account_id: Some(owner.id),
            key_id: Some(spec.principal.key_id.as_str()),
        }
        .record_change(conn, "ORDER_ID", "", &order_id.to_string(), now)?;
    }
    if let Some(id) = closes {
        reservation::mark_ordered(conn, id, order_id)?;
    }
    let e164s: Vec<String> = picks.into_iter().map(|p| p.e164).collect();
    Ok(OrderOutcome {
        order_id,
        charged: Money100(cost),
        dids: dids::load(conn, &e164s)?,
    })
}

fn pick_from_area(
    conn: &Connection,
    area_id: &AreaId,
    did_type: DidType,
    quantity: u32,
    partial: bool,
) -> Result<Vec<Pick>, Error> {
    let area_type: String = conn
        .prepare_cached("SELECT did_type FROM areas WHERE id = ?1")?
        .query_row([area_id.as_str()], |r| r.get(0))
        .optional()?
        .ok_or_else(|| DomainError::NotFound(format!("area {area_id}")))?;
    if area_type != did_type.as_str() {
        return Err(DomainError::Invalid {
            name: "DID_TYPE",
            reason: format!("is {did_type} but area {area_id} sells {area_type} numbers"),
        }
        .into());
    }
    let numbers: Vec<String> = conn
        .prepare_cached("SELECT e164 FROM dids WHERE area_id = ?1 AND status = 'available' ORDER BY e164 LIMIT ?2")?
        .query_map(params![area_id.as_str(), quantity], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    if numbers.is_empty() || (numbers.len() < quantity as usize && !partial) {
        return Err(DomainError::OutOfStock {
            area: area_id.to_string(),
            requested: quantity,
            available: numbers.len() as u32,
        }
        .into());
    }
    Ok(numbers
        .into_iter()
        .map(|e164| Pick {
            e164,
            area_id: area_id.to_string(),
        })
        .collect())
}

/// Each named number must exist, and be available or held by an open,
/// unexpired reservation of the caller's tree (it leaves that reservation).
fn pick_numbers(
    conn: &Connection,
    list: &[E164],
    root_id: i64,
    now: UnixTime,
) -> Result<Vec<Pick>, Error> {
    let mut stmt = conn.prepare_cached(
        "SELECT d.area_id, d.status, r.root_id, r.state = 'open' AND r.expires_at > ?2
           FROM dids d LEFT JOIN reservations r ON r.id = d.reservation_id
          WHERE d.e164 = ?1",
    )?;
    let mut picks = Vec::with_capacity(list.len());
    for e164 in list {
        let row: Option<(String, String, Option<i64>, Option<bool>)> = stmt
            .query_row(params![e164.as_str(), now], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .optional()?;
        let (area_id, status, holder, open) =
            row.ok_or_else(|| DomainError::NotFound(format!("number {e164}")))?;
        let ours = status == "reserved" && holder == Some(root_id) && open == Some(true);
        if status != "available" && !ours {
            return Err(DomainError::NumberUnavailable(e164.to_string()).into());
        }
        picks.push(Pick {
            e164: e164.to_string(),
            area_id,
        });
    }
    Ok(picks)
}
