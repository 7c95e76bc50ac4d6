//! `DID.ORDER`: take the lowest available numbers of an area, charge the
//! billing account, assign the numbers; all in the caller's savepoint.

use rusqlite::{Connection, OptionalExtension, params};

use super::history::Event;
use super::{accounts, dids};
use crate::domain::{
    AccountNumber, AreaId, Did, DidType, Money100, Principal, RatePlanId, UnixTime,
};
use crate::error::{DomainError, Error, StoreError};

/// A validated order, ready for the writer.
#[derive(Debug, Clone)]
pub struct OrderSpec {
    pub principal: Principal,
    /// The account that will own the numbers; the key's own when absent.
    pub target: Option<AccountNumber>,
    pub area_id: AreaId,
    pub did_type: DidType,
    pub rate_plan: RatePlanId,
    pub quantity: u32,
    pub partial: bool,
    pub title: String,
}

#[derive(Debug, Clone)]
pub struct OrderOutcome {
    pub order_id: i64,
    pub charged: Money100,
    pub dids: Vec<Did>,
}

pub(super) fn apply(
    conn: &Connection,
    spec: OrderSpec,
    now: UnixTime,
) -> Result<OrderOutcome, Error> {
    let owner = accounts::resolve_target(conn, &spec.principal, spec.target.as_ref())?;
    let area_type: String = conn
        .prepare_cached("SELECT did_type FROM areas WHERE id = ?1")?
        .query_row([spec.area_id.as_str()], |r| r.get(0))
        .optional()?
        .ok_or_else(|| DomainError::NotFound(format!("area {}", spec.area_id)))?;
    if area_type != spec.did_type.as_str() {
        return Err(DomainError::Invalid {
            name: "DID_TYPE",
            reason: format!(
                "is {} but area {} sells {area_type} numbers",
                spec.did_type, spec.area_id
            ),
        }
        .into());
    }
    let (monthly, setup): (i64, i64) = conn
        .prepare_cached(
            "SELECT monthly100, setup100 FROM area_rate_plans WHERE area_id = ?1 AND rate_plan_id = ?2",
        )?
        .query_row([spec.area_id.as_str(), spec.rate_plan.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?
        .ok_or_else(|| DomainError::Invalid {
            name: "RATE_PLAN_ID",
            reason: format!("{} is not offered in area {}", spec.rate_plan, spec.area_id),
        })?;

    let numbers: Vec<String> = conn
        .prepare_cached(
            "SELECT e164 FROM dids WHERE area_id = ?1 AND status = 'available' ORDER BY e164 LIMIT ?2",
        )?
        .query_map(params![spec.area_id.as_str(), spec.quantity], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let short = numbers.len() < spec.quantity as usize;
    if numbers.is_empty() || (short && !spec.partial) {
        return Err(DomainError::OutOfStock {
            area: spec.area_id.to_string(),
            requested: spec.quantity,
            available: numbers.len() as u32,
        }
        .into());
    }

    let cost = (monthly + setup)
        .checked_mul(numbers.len() as i64)
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
        spec.area_id.as_str(),
        spec.rate_plan.as_str(),
        numbers.len() as i64,
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
                sms_url = '', sms_email = '', sms_phone = '', ordered_at = ?10, aging_until = NULL
          WHERE e164 = ?1 AND status = 'available'",
    )?;
    for e164 in &numbers {
        let changed = assign.execute(params![
            e164,
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
        // The single writer makes this impossible; if it ever happens the
        // savepoint is rolled back and nothing is sold twice.
        if changed != 1 {
            return Err(StoreError::Internal(format!(
                "number {e164} was taken during its own order"
            ))
            .into());
        }
        Event {
            e164,
            event: "ordered",
            account_id: Some(owner.id),
            key_id: Some(spec.principal.key_id.as_str()),
        }
        .record_change(conn, "ORDER_ID", "", &order_id.to_string(), now)?;
    }
    Ok(OrderOutcome {
        order_id,
        charged: Money100(cost),
        dids: dids::load(conn, &numbers)?,
    })
}
