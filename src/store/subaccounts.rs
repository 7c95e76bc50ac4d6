//! `SUBACCOUNT.CREATE` and `SUBACCOUNT.DELETE`.

use rusqlite::{Connection, params};

use super::accounts::{self, insert_account};
use crate::domain::{AccountNumber, Principal, UnixTime};
use crate::error::{DomainError, Error};

#[derive(Debug, Clone)]
pub struct SubaccountSpec {
    pub principal: Principal,
    pub name: String,
}

#[derive(Debug, Clone)]
pub struct DeleteSpec {
    pub principal: Principal,
    pub account: AccountNumber,
}

/// Creates a sub-account of the key's account; it inherits the parent's
/// default forwarding, so its new numbers route like the parent's until
/// configured otherwise.
pub(super) fn create(
    conn: &Connection,
    spec: SubaccountSpec,
    now: UnixTime,
) -> Result<AccountNumber, Error> {
    let (ftype, fto): (String, String) = conn
        .prepare_cached("SELECT forward_type, forward_to FROM accounts WHERE id = ?1")?
        .query_row([spec.principal.account_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let parent = Some((spec.principal.account_id, spec.principal.root_id));
    let (_, number) = insert_account(conn, &spec.name, parent, (&ftype, &fto), now)?;
    Ok(number)
}

/// Deletes (retires) a sub-account that owns no active numbers and has no
/// live sub-accounts of its own. Its keys stop working.
pub(super) fn delete(conn: &Connection, spec: DeleteSpec, now: UnixTime) -> Result<(), Error> {
    let row = accounts::resolve_target(conn, &spec.principal, Some(&spec.account))?;
    if row.id == spec.principal.account_id {
        return Err(DomainError::Conflict(format!(
            "account {} is this key's own account: only its sub-accounts can be deleted",
            spec.account
        ))
        .into());
    }
    let active: i64 = conn
        .prepare_cached("SELECT count(*) FROM dids WHERE account_id = ?1 AND status = 'active'")?
        .query_row([row.id], |r| r.get(0))?;
    if active > 0 {
        return Err(DomainError::Conflict(format!(
            "sub-account {} still owns {active} active numbers: cancel or move them first",
            spec.account
        ))
        .into());
    }
    let children: i64 = conn
        .prepare_cached(
            "SELECT count(*) FROM accounts WHERE parent_id = ?1 AND deleted_at IS NULL",
        )?
        .query_row([row.id], |r| r.get(0))?;
    if children > 0 {
        return Err(DomainError::Conflict(format!(
            "sub-account {} has sub-accounts of its own: delete them first",
            spec.account
        ))
        .into());
    }
    conn.prepare_cached("UPDATE accounts SET deleted_at = ?2 WHERE id = ?1")?
        .execute(params![row.id, now])?;
    Ok(())
}
