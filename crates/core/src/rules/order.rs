//! `DID.ORDER`: pick the numbers (the lowest of an area, a reservation's,
//! or a named list), price each with the chosen plan in its own area,
//! charge the billing account and assign them; all inside the caller's
//! transaction, so any refusal changes nothing.

use super::Ctx;
use super::access::resolve_target;
use super::pricing::{check_type, plan};
use super::reserve::{held_for_order, open_reservation};
use crate::command::{DidOrder, OrderSource};
use crate::domain::{AreaId, E164, Money100, NumberState, Quantity};
use crate::engine::{
    AccountRecord, AreaRecord, Assignment, HistoryEvent, LedgerEntry, LedgerKind, NewOrder,
    NumberSettings, ReservationState, Tx,
};
use crate::error::{DomainError, Error, StoreError};
use crate::outcome::Ordered;

/// A number picked for an order, with the area that prices it.
struct Pick {
    e164: E164,
    area_id: AreaId,
}

pub(super) fn order(tx: &mut dyn Tx, ctx: &Ctx<'_>, c: &DidOrder) -> Result<Ordered, Error> {
    let owner = resolve_target(tx, ctx.principal, c.target.as_ref())?;
    let picks = match &c.source {
        OrderSource::Area {
            area_id,
            did_type,
            quantity,
            partial,
        } => {
            let area = find_area(tx, area_id)?;
            // The static checks come before stock: a plan the area does
            // not offer is a wrong parameter whether or not stock is short.
            check_type(&area, Some(*did_type))?;
            plan(&area, &c.rate_plan)?;
            pick_from_area(tx, &area, *quantity, *partial)?
        }
        OrderSource::Reservation(id) => held_for_order(tx, ctx, id)?
            .into_iter()
            .map(|(e164, area_id)| Pick { e164, area_id })
            .collect(),
        OrderSource::Numbers(list) => pick_numbers(tx, ctx, list.as_slice())?,
    };
    let prices = price(tx, c, &picks)?;
    let cost = prices
        .iter()
        .try_fold(0i64, |sum, (m, s)| sum.checked_add(m.0.checked_add(s.0)?))
        .ok_or_else(|| StoreError::Internal("order cost overflows".into()))?;
    let balance = tx.balance(owner.root_id)?;
    if cost > balance.0 {
        return Err(DomainError::InsufficientFunds {
            cost,
            balance: balance.0,
        }
        .into());
    }
    let area = match &c.source {
        OrderSource::Area { area_id, .. } => Some(area_id),
        _ => None,
    };
    let order_id = charge(tx, ctx, c, &owner, area, picks.len(), Money100(cost))?;
    for (pick, (monthly, setup)) in picks.iter().zip(&prices) {
        assign(tx, ctx, c, &owner, order_id, pick, *monthly, *setup)?;
    }
    if let OrderSource::Reservation(id) = &c.source {
        tx.set_reservation_state(id, ReservationState::Ordered, Some(order_id))?;
    }
    let e164s: Vec<E164> = picks.into_iter().map(|p| p.e164).collect();
    Ok(Ordered {
        order_id,
        charged: Money100(cost),
        dids: tx.dids(&e164s)?,
    })
}

fn find_area(tx: &mut dyn Tx, id: &AreaId) -> Result<AreaRecord, Error> {
    tx.area(id)?
        .ok_or_else(|| DomainError::NotFound(format!("area {id}")).into())
}

/// The lowest available numbers of the area: `quantity` of them, or with
/// `partial` as many as there are (at least one).
fn pick_from_area(
    tx: &mut dyn Tx,
    area: &AreaRecord,
    quantity: Quantity,
    partial: bool,
) -> Result<Vec<Pick>, Error> {
    let wanted = quantity.get();
    let numbers = tx.lowest_available(&area.id, wanted)?;
    if numbers.is_empty() || (numbers.len() < wanted as usize && !partial) {
        return Err(DomainError::OutOfStock {
            area: area.id.to_string(),
            requested: wanted,
            available: numbers.len() as u32,
        }
        .into());
    }
    Ok(numbers
        .into_iter()
        .map(|e164| Pick {
            e164,
            area_id: area.id.clone(),
        })
        .collect())
}

/// Each named number must exist, and be available or held by an open,
/// unexpired reservation of the caller's tree (it leaves that reservation).
fn pick_numbers(tx: &mut dyn Tx, ctx: &Ctx<'_>, list: &[E164]) -> Result<Vec<Pick>, Error> {
    let mut picks = Vec::with_capacity(list.len());
    for e164 in list {
        let number = tx
            .number(e164)?
            .ok_or_else(|| DomainError::NotFound(format!("number {e164}")))?;
        let ours = number.state == NumberState::Reserved
            && match &number.reservation_id {
                Some(id) => open_reservation(tx, ctx, id).is_ok(),
                None => false,
            };
        if number.state != NumberState::Available && !ours {
            return Err(DomainError::NumberUnavailable(e164.to_string()).into());
        }
        picks.push(Pick {
            e164: e164.clone(),
            area_id: number.area_id,
        });
    }
    Ok(picks)
}

/// `(monthly, setup)` of the chosen plan for each number, in its own area.
fn price(
    tx: &mut dyn Tx,
    c: &DidOrder,
    picks: &[Pick],
) -> Result<Vec<(Money100, Money100)>, Error> {
    let mut areas: Vec<AreaRecord> = Vec::new();
    let mut prices = Vec::with_capacity(picks.len());
    for pick in picks {
        let i = match areas.iter().position(|a| a.id == pick.area_id) {
            Some(i) => i,
            None => {
                areas.push(find_area(tx, &pick.area_id)?);
                areas.len() - 1
            }
        };
        check_type(&areas[i], c.did_type)?;
        let plan = plan(&areas[i], &c.rate_plan)?;
        prices.push((plan.monthly, plan.setup));
    }
    Ok(prices)
}

/// The order row and its ledger charge to the billing account.
fn charge(
    tx: &mut dyn Tx,
    ctx: &Ctx<'_>,
    c: &DidOrder,
    owner: &AccountRecord,
    area: Option<&AreaId>,
    quantity: usize,
    cost: Money100,
) -> Result<i64, Error> {
    let key_id = &ctx.principal.key_id;
    let order_id = tx.insert_order(&NewOrder {
        account_id: owner.id,
        billing_id: owner.root_id,
        key_id,
        area_id: area,
        rate_plan: &c.rate_plan,
        quantity: quantity as u32,
        charged: cost,
        at: ctx.now,
    })?;
    if cost.0 > 0 {
        tx.insert_ledger(&LedgerEntry {
            account_id: owner.root_id,
            amount: -cost.0,
            kind: LedgerKind::Charge,
            order_id: Some(order_id),
            key_id: Some(key_id),
            memo: format!("order {order_id} for account {}", owner.number),
            at: ctx.now,
        })?;
    }
    Ok(order_id)
}

/// Sells one number: the owner's default forwarding, the order's title.
#[allow(clippy::too_many_arguments)]
fn assign(
    tx: &mut dyn Tx,
    ctx: &Ctx<'_>,
    c: &DidOrder,
    owner: &AccountRecord,
    order_id: i64,
    pick: &Pick,
    monthly: Money100,
    setup: Money100,
) -> Result<(), Error> {
    let assigned = tx.assign(
        &pick.e164,
        &Assignment {
            account_id: owner.id,
            order_id,
            rate_plan: &c.rate_plan,
            monthly,
            setup,
            settings: NumberSettings {
                forward_type: owner.forward_type.clone(),
                forward_to: owner.forward_to.clone(),
                title: c.title.as_str().to_owned(),
                ..NumberSettings::default()
            },
            at: ctx.now,
        },
    )?;
    // The checks above and the engine's transaction make this impossible;
    // if it ever happens the transaction is rolled back and nothing is
    // sold twice.
    if !assigned {
        return Err(StoreError::Internal(format!(
            "number {} was taken during its own order",
            pick.e164
        ))
        .into());
    }
    tx.record(&HistoryEvent {
        e164: &pick.e164,
        event: "ordered",
        field: "ORDER_ID",
        old: "",
        new: &order_id.to_string(),
        account_id: Some(owner.id),
        key_id: Some(&ctx.principal.key_id),
        at: ctx.now,
    })?;
    Ok(())
}
