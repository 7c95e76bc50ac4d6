//! Which accounts a key may act on: its own and those below it.

use crate::domain::{AccountNumber, Principal};
use crate::engine::{AccountRecord, Reads};
use crate::error::{DomainError, Error};

/// The account a request acts on: the key's own when `target` is absent,
/// else `target` if it is the key's account or below it. Anything else,
/// including a number that does not exist, is `ACCESS_DENIED`, so the
/// answer never tells whether an account exists.
pub(super) fn resolve_target(
    r: &mut dyn Reads,
    principal: &Principal,
    target: Option<&AccountNumber>,
) -> Result<AccountRecord, Error> {
    let number = target.unwrap_or(&principal.account_number);
    let denied = || Error::from(DomainError::AccessDenied(number.to_string()));
    let row = r.account(number)?.ok_or_else(denied)?;
    if row.id == principal.account_id {
        return Ok(row);
    }
    if row.root_id == principal.root_id && r.is_below(row.id, principal.account_id)? {
        Ok(row)
    } else {
        Err(denied())
    }
}
