//! Managing owned numbers: `DID.UPDATE`, `DID.CANCEL`, `DID.RESTORE`,
//! `DID.MOVE`, and the sweep that returns aged numbers to stock.

use rusqlite::{Connection, OptionalExtension, params};

use super::accounts::{self, AccountRow};
use super::dids;
use super::history::Event;
use crate::domain::{
    AccountNumber, Did, DidChanges, DidFilter, DidType, E164, ForwardChange, ForwardType,
    Forwarding, Principal, UnixTime,
};
use crate::error::{DomainError, Error};

/// The `FILTER.*` conditions for the numbers of one account, as SQL over
/// `dids d` (joined with `areas a` only when the type is filtered) and its
/// parameters. Only the filters given become conditions, so the common
/// cases walk the `dids_account` index without touching rows; the SQL text
/// is built from fixed fragments and every value is a parameter.
pub(super) struct FilterSql {
    pub from_where: String,
    pub params: Vec<rusqlite::types::Value>,
}

pub(super) fn filter_sql(account_id: i64, f: &DidFilter) -> FilterSql {
    use rusqlite::types::Value;
    let mut sql = String::from("dids d");
    if f.did_type.is_some() {
        sql.push_str(" JOIN areas a ON a.id = d.area_id");
    }
    sql.push_str(" WHERE d.account_id = ?1");
    let mut params = vec![Value::Integer(account_id)];
    let mut add = |fragment: &str, value: Option<&str>| {
        if let Some(v) = value {
            params.push(Value::Text(v.to_owned()));
            sql.push_str(&format!(" AND {fragment} ?{}", params.len()));
        }
    };
    add("d.e164 GLOB", f.e164.as_ref().map(|p| p.as_glob()));
    add("a.did_type =", f.did_type.map(DidType::as_str));
    add("d.title =", f.title.as_deref());
    add("d.status =", f.status.map(|s| s.db_value()));
    add("d.sms_url =", f.sms_url.as_deref());
    add("d.sms_email =", f.sms_email.as_deref());
    add("d.forward_type =", f.call_forward_type.as_deref());
    add("d.forward_to =", f.call_forward_to.as_deref());
    FilterSql {
        from_where: sql,
        params,
    }
}

/// `DID.UPDATE`: the caller's active numbers matching `filter`.
#[derive(Debug, Clone)]
pub struct UpdateSpec {
    pub principal: Principal,
    pub target: Option<AccountNumber>,
    pub filter: DidFilter,
    pub changes: DidChanges,
}

/// `DID.CANCEL` and `DID.RESTORE`: one number of the caller's.
#[derive(Debug, Clone)]
pub struct NumberSpec {
    pub principal: Principal,
    pub target: Option<AccountNumber>,
    pub e164: E164,
}

/// `DID.MOVE`: one number to another account of the caller's tree.
#[derive(Debug, Clone)]
pub struct MoveSpec {
    pub number: NumberSpec,
    pub to: AccountNumber,
}

struct Settings {
    e164: String,
    forward_type: String,
    forward_to: String,
    sms_url: String,
    sms_email: String,
    sms_phone: String,
    title: String,
}

pub(super) fn update(
    conn: &Connection,
    spec: UpdateSpec,
    now: UnixTime,
) -> Result<Vec<Did>, Error> {
    let owner = accounts::resolve_target(conn, &spec.principal, spec.target.as_ref())?;
    let mut filter = spec.filter;
    // Only active numbers can be reconfigured; a filter on another
    // status selects nothing.
    if filter
        .status
        .is_some_and(|s| s != crate::domain::DidStatus::Active)
    {
        return Err(DomainError::NoMatch.into());
    }
    filter.status = Some(crate::domain::DidStatus::Active);
    let selected: Vec<Settings> = {
        let FilterSql { from_where, params } = filter_sql(owner.id, &filter);
        let sql = format!(
            "SELECT d.e164, d.forward_type, d.forward_to, d.sms_url, d.sms_email, d.sms_phone, d.title
               FROM {from_where} ORDER BY d.e164"
        );
        let mut stmt = conn.prepare_cached(&sql)?;
        stmt.query_map(rusqlite::params_from_iter(params), |r| {
            Ok(Settings {
                e164: r.get(0)?,
                forward_type: r.get(1)?,
                forward_to: r.get(2)?,
                sms_url: r.get(3)?,
                sms_email: r.get(4)?,
                sms_phone: r.get(5)?,
                title: r.get(6)?,
            })
        })?
        .collect::<Result<_, _>>()?
    };
    if selected.is_empty() {
        return Err(DomainError::NoMatch.into());
    }
    let mut write = conn.prepare_cached(
        "UPDATE dids SET forward_type = ?2, forward_to = ?3, sms_url = ?4, sms_email = ?5, sms_phone = ?6,
                title = ?7 WHERE e164 = ?1",
    )?;
    let c = &spec.changes;
    for old in &selected {
        let (forward_type, forward_to) = match &c.forwarding {
            None => (old.forward_type.clone(), old.forward_to.clone()),
            Some(ForwardChange::Clear) => (String::new(), String::new()),
            Some(ForwardChange::Set(f)) => (f.kind().as_str().to_owned(), f.target().to_owned()),
            Some(ForwardChange::Target(t)) => {
                let kind =
                    ForwardType::parse(&old.forward_type).map_err(|_| DomainError::Invalid {
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
                (old.forward_type.clone(), f.target().to_owned())
            }
        };
        let new = Settings {
            e164: old.e164.clone(),
            forward_type,
            forward_to,
            sms_url: c.sms_url.clone().unwrap_or_else(|| old.sms_url.clone()),
            sms_email: c.sms_email.clone().unwrap_or_else(|| old.sms_email.clone()),
            sms_phone: c.sms_phone.clone().unwrap_or_else(|| old.sms_phone.clone()),
            title: c.title.clone().unwrap_or_else(|| old.title.clone()),
        };
        write.execute(params![
            new.e164,
            new.forward_type,
            new.forward_to,
            new.sms_url,
            new.sms_email,
            new.sms_phone,
            new.title
        ])?;
        let event = Event {
            e164: &old.e164,
            event: "updated",
            account_id: Some(owner.id),
            key_id: Some(spec.principal.key_id.as_str()),
        };
        for (field, before, after) in [
            ("CALL_FORWARD_TYPE", &old.forward_type, &new.forward_type),
            ("CALL_FORWARD_TO", &old.forward_to, &new.forward_to),
            ("SMS_URL", &old.sms_url, &new.sms_url),
            ("SMS_EMAIL", &old.sms_email, &new.sms_email),
            ("SMS_PHONE", &old.sms_phone, &new.sms_phone),
            ("TITLE", &old.title, &new.title),
        ] {
            if before != after {
                event.record_change(conn, field, before, after, now)?;
            }
        }
    }
    let e164s: Vec<String> = selected.into_iter().map(|s| s.e164).collect();
    Ok(dids::load(conn, &e164s)?)
}

/// The caller's number `e164` with its status and aging end, or `NOT_FOUND`
/// (also for numbers of other accounts: never reveal them).
fn owned(
    conn: &Connection,
    spec: &NumberSpec,
) -> Result<(AccountRow, String, Option<UnixTime>), Error> {
    let owner = accounts::resolve_target(conn, &spec.principal, spec.target.as_ref())?;
    let row: Option<(String, Option<UnixTime>)> = conn
        .prepare_cached("SELECT status, aging_until FROM dids WHERE e164 = ?1 AND account_id = ?2")?
        .query_row(params![spec.e164.as_str(), owner.id], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    let (status, aging_until) = row.ok_or_else(|| {
        DomainError::NotFound(format!("number {} in account {}", spec.e164, owner.number))
    })?;
    Ok((owner, status, aging_until))
}

fn event<'a>(spec: &'a NumberSpec, name: &'static str, owner: &AccountRow) -> Event<'a> {
    Event {
        e164: spec.e164.as_str(),
        event: name,
        account_id: Some(owner.id),
        key_id: Some(spec.principal.key_id.as_str()),
    }
}

pub(super) fn cancel(
    conn: &Connection,
    spec: NumberSpec,
    aging_secs: i64,
    now: UnixTime,
) -> Result<Vec<Did>, Error> {
    let (owner, status, _) = owned(conn, &spec)?;
    if status != "active" {
        return Err(
            DomainError::Conflict(format!("number {} is already canceled", spec.e164)).into(),
        );
    }
    conn.prepare_cached("UPDATE dids SET status = 'aging', aging_until = ?2 WHERE e164 = ?1")?
        .execute(params![spec.e164.as_str(), now.saturating_add(aging_secs)])?;
    event(&spec, "canceled", &owner).record(conn, now)?;
    Ok(dids::load(conn, &[spec.e164.to_string()])?)
}

pub(super) fn restore(
    conn: &Connection,
    spec: NumberSpec,
    now: UnixTime,
) -> Result<Vec<Did>, Error> {
    let (owner, status, aging_until) = owned(conn, &spec)?;
    if status == "active" {
        return Err(DomainError::Conflict(format!(
            "number {} is active: only canceled numbers can be restored",
            spec.e164
        ))
        .into());
    }
    // Aging that has ended is stock, even if the sweep has not run yet.
    if aging_until.is_none_or(|t| t <= now) {
        return Err(DomainError::NotFound(format!(
            "number {} in account {}",
            spec.e164, owner.number
        ))
        .into());
    }
    conn.prepare_cached("UPDATE dids SET status = 'active', aging_until = NULL WHERE e164 = ?1")?
        .execute([spec.e164.as_str()])?;
    event(&spec, "restored", &owner).record(conn, now)?;
    Ok(dids::load(conn, &[spec.e164.to_string()])?)
}

pub(super) fn move_number(
    conn: &Connection,
    spec: MoveSpec,
    now: UnixTime,
) -> Result<Vec<Did>, Error> {
    let (owner, status, _) = owned(conn, &spec.number)?;
    let to = accounts::resolve_target(conn, &spec.number.principal, Some(&spec.to))?;
    if status != "active" {
        return Err(DomainError::Conflict(format!(
            "number {} is canceled: restore it before moving it",
            spec.number.e164
        ))
        .into());
    }
    if to.id != owner.id {
        conn.prepare_cached("UPDATE dids SET account_id = ?2 WHERE e164 = ?1")?
            .execute(params![spec.number.e164.as_str(), to.id])?;
        event(&spec.number, "moved", &owner).record_change(
            conn,
            "ACCOUNT_NUMBER",
            &owner.number,
            &to.number,
            now,
        )?;
    }
    Ok(dids::load(conn, &[spec.number.e164.to_string()])?)
}

/// Returns numbers whose aging has ended to stock, configuration wiped.
pub(super) fn return_aged(conn: &Connection, now: UnixTime) -> Result<u64, Error> {
    let due: Vec<(String, Option<i64>)> = conn
        .prepare_cached(
            "SELECT e164, account_id FROM dids WHERE status = 'aging' AND aging_until <= ?1 LIMIT 10000",
        )?
        .query_map([now], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let mut wipe = conn.prepare_cached(
        "UPDATE dids SET status = 'available', account_id = NULL, order_id = NULL, rate_plan_id = '',
                monthly100 = 0, setup100 = 0, title = '', forward_type = '', forward_to = '',
                sms_url = '', sms_email = '', sms_phone = '', ordered_at = NULL, aging_until = NULL
          WHERE e164 = ?1 AND status = 'aging'",
    )?;
    for (e164, account_id) in &due {
        wipe.execute([e164])?;
        Event {
            e164,
            event: "returned",
            account_id: *account_id,
            key_id: None,
        }
        .record(conn, now)?;
    }
    if !due.is_empty() {
        tracing::info!(numbers = due.len(), "aged numbers returned to stock");
    }
    Ok(due.len() as u64)
}
