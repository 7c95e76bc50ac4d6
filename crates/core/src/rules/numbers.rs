//! The caller's own numbers: `DID.LIST`, `DID.UPDATE`, `DID.CANCEL`,
//! `DID.RESTORE`, `DID.MOVE`, and the return of aged numbers to stock.

use super::Ctx;
use super::access::resolve_target;
use crate::command::{DidList, DidMove, DidUpdate, NumberOf};
use crate::domain::{Did, DidChanges, DidStatus, E164, ForwardChange, ForwardType, Forwarding};
use crate::engine::{AccountRecord, HistoryEvent, NumberRecord, NumberSettings, Reads, Tx};
use crate::error::{DomainError, Error};
use crate::outcome::Outcome;

pub(super) fn list(r: &mut dyn Reads, ctx: &Ctx<'_>, c: &DidList) -> Result<Outcome, Error> {
    let owner = resolve_target(r, ctx.principal, c.target.as_ref())?;
    let (dids, total) = r.list_dids(owner.id, &c.filter, c.limit.get(), c.offset.get())?;
    Ok(Outcome::Listed { dids, total })
}

/// An event of `e164` by the caller's key, on behalf of `owner`.
fn event<'a>(
    ctx: &'a Ctx<'_>,
    owner: &AccountRecord,
    e164: &'a E164,
    name: &'static str,
) -> HistoryEvent<'a> {
    HistoryEvent {
        e164,
        event: name,
        field: "",
        old: "",
        new: "",
        account_id: Some(owner.id),
        key_id: Some(&ctx.principal.key_id),
        at: ctx.now,
    }
}

pub(super) fn update(tx: &mut dyn Tx, ctx: &Ctx<'_>, c: &DidUpdate) -> Result<Vec<Did>, Error> {
    let owner = resolve_target(tx, ctx.principal, c.target.as_ref())?;
    // Only active numbers can be reconfigured; a filter on another status
    // selects nothing.
    if c.filter.status.is_some_and(|s| s != DidStatus::Active) {
        return Err(DomainError::NoMatch.into());
    }
    let mut filter = c.filter.clone();
    filter.status = Some(DidStatus::Active);
    let selected = tx.select_numbers(owner.id, &filter)?;
    if selected.is_empty() {
        return Err(DomainError::NoMatch.into());
    }
    for old in &selected {
        let new = changed(old, &c.changes)?;
        tx.set_settings(&old.e164, &new)?;
        let base = event(ctx, &owner, &old.e164, "updated");
        let (o, n) = (&old.settings, &new);
        for (field, before, after) in [
            ("CALL_FORWARD_TYPE", &o.forward_type, &n.forward_type),
            ("CALL_FORWARD_TO", &o.forward_to, &n.forward_to),
            ("SMS_URL", &o.sms_url, &n.sms_url),
            ("SMS_EMAIL", &o.sms_email, &n.sms_email),
            ("SMS_PHONE", &o.sms_phone, &n.sms_phone),
            ("TITLE", &o.title, &n.title),
        ] {
            if before != after {
                tx.record(&HistoryEvent {
                    field,
                    old: before,
                    new: after,
                    ..base.clone()
                })?;
            }
        }
    }
    let e164s: Vec<E164> = selected.into_iter().map(|n| n.e164).collect();
    Ok(tx.dids(&e164s)?)
}

/// A number's settings after `changes`; a new target alone is checked
/// against the number's current forwarding type.
fn changed(old: &NumberRecord, c: &DidChanges) -> Result<NumberSettings, Error> {
    let o = &old.settings;
    let (forward_type, forward_to) = match &c.forwarding {
        None => (o.forward_type.clone(), o.forward_to.clone()),
        Some(ForwardChange::Clear) => (String::new(), String::new()),
        Some(ForwardChange::Set(f)) => (f.kind().as_str().to_owned(), f.target().to_owned()),
        Some(ForwardChange::Target(t)) => {
            let kind = ForwardType::parse(&o.forward_type).map_err(|_| DomainError::Invalid {
                name: "CALL_FORWARD_TO",
                reason: format!(
                    "cannot be set alone: number {} has no CALL_FORWARD_TYPE, give one",
                    old.e164
                ),
            })?;
            let f = Forwarding::parse(kind, t).map_err(|reason| DomainError::Invalid {
                name: "CALL_FORWARD_TO",
                reason,
            })?;
            (o.forward_type.clone(), f.target().to_owned())
        }
    };
    let keep = |new: &Option<String>, old: &String| new.clone().unwrap_or_else(|| old.clone());
    Ok(NumberSettings {
        forward_type,
        forward_to,
        sms_url: keep(&c.sms_url, &o.sms_url),
        sms_email: keep(&c.sms_email, &o.sms_email),
        sms_phone: keep(&c.sms_phone, &o.sms_phone),
        title: keep(&c.title, &o.title),
    })
}

/// The caller's number, or `NOT_FOUND` (also for numbers of other
/// accounts: never reveal them).
fn owned(
    tx: &mut dyn Tx,
    ctx: &Ctx<'_>,
    c: &NumberOf,
) -> Result<(AccountRecord, NumberRecord), Error> {
    let owner = resolve_target(tx, ctx.principal, c.target.as_ref())?;
    let number = tx
        .number(&c.e164)?
        .filter(|n| n.account_id == Some(owner.id))
        .ok_or_else(|| {
            DomainError::NotFound(format!("number {} in account {}", c.e164, owner.number))
        })?;
    Ok((owner, number))
}

fn is_active(n: &NumberRecord) -> bool {
    n.state == crate::domain::NumberState::Active
}

pub(super) fn cancel(tx: &mut dyn Tx, ctx: &Ctx<'_>, c: &NumberOf) -> Result<Vec<Did>, Error> {
    let (owner, number) = owned(tx, ctx, c)?;
    if !is_active(&number) {
        return Err(DomainError::Conflict(format!("number {} is already canceled", c.e164)).into());
    }
    tx.start_aging(&c.e164, ctx.now.saturating_add(ctx.settings.aging_secs))?;
    tx.record(&event(ctx, &owner, &c.e164, "canceled"))?;
    Ok(tx.dids(std::slice::from_ref(&c.e164))?)
}

pub(super) fn restore(tx: &mut dyn Tx, ctx: &Ctx<'_>, c: &NumberOf) -> Result<Vec<Did>, Error> {
    let (owner, number) = owned(tx, ctx, c)?;
    if is_active(&number) {
        return Err(DomainError::Conflict(format!(
            "number {} is active: only canceled numbers can be restored",
            c.e164
        ))
        .into());
    }
    // Aging that has ended is stock, even if the sweep has not run yet.
    if number.aging_until.is_none_or(|t| t <= ctx.now) {
        return Err(DomainError::NotFound(format!(
            "number {} in account {}",
            c.e164, owner.number
        ))
        .into());
    }
    tx.reactivate(&c.e164)?;
    tx.record(&event(ctx, &owner, &c.e164, "restored"))?;
    Ok(tx.dids(std::slice::from_ref(&c.e164))?)
}

pub(super) fn move_number(tx: &mut dyn Tx, ctx: &Ctx<'_>, c: &DidMove) -> Result<Vec<Did>, Error> {
    let (owner, number) = owned(tx, ctx, &c.number)?;
    let to = resolve_target(tx, ctx.principal, Some(&c.to))?;
    let e164 = &c.number.e164;
    if !is_active(&number) {
        return Err(DomainError::Conflict(format!(
            "number {e164} is canceled: restore it before moving it"
        ))
        .into());
    }
    if to.id != owner.id {
        tx.set_owner(e164, to.id)?;
        tx.record(&HistoryEvent {
            field: "ACCOUNT_NUMBER",
            old: owner.number.as_str(),
            new: to.number.as_str(),
            ..event(ctx, &owner, e164, "moved")
        })?;
    }
    Ok(tx.dids(std::slice::from_ref(e164))?)
}

/// Returns numbers whose aging has ended to stock, configuration wiped.
pub(super) fn return_aged(tx: &mut dyn Tx, now: i64) -> Result<u64, Error> {
    let due = tx.aged(now, 10_000)?;
    let mut returned = 0;
    for (e164, account_id) in &due {
        if tx.return_to_stock(e164)? {
            returned += 1;
            tx.record(&HistoryEvent {
                e164,
                event: "returned",
                field: "",
                old: "",
                new: "",
                account_id: *account_id,
                key_id: None,
                at: now,
            })?;
        }
    }
    if !due.is_empty() {
        tracing::info!(numbers = due.len(), "aged numbers returned to stock");
    }
    Ok(returned)
}
