//! Accounts and keys: sub-accounts (`SUBACCOUNT.CREATE`/`.DELETE`) and the
//! operator's commands (accounts, keys, credits), over the same storage
//! interface as every other rule.

use rand::Rng;

use super::Ctx;
use super::access::resolve_target;
use crate::auth::NewKey as GeneratedKey;
use crate::command::{SubaccountCreate, SubaccountDelete};
use crate::domain::{AccountNumber, Forwarding, KeyId, Label, Money100, UnixTime};
use crate::engine::{LedgerEntry, LedgerKind, NewAccount, NewKey, Tx};
use crate::error::{DomainError, Error, ParamError, StoreError};

/// How many fresh numbers an account gets before a collision is a bug:
/// nine billion numbers make even a second try rare.
const NUMBER_TRIES: usize = 16;

/// A random account number: ten digits without a leading zero
/// (spreadsheets and some clients drop it).
fn random_account_number() -> AccountNumber {
    let mut rng = rand::rng();
    let first = rng.random_range(1..=9u8);
    let rest: u64 = rng.random_range(0..1_000_000_000);
    AccountNumber::parse(&format!("{first}{rest:09}")).expect("ten digits")
}

/// An account to open: who it is, where it sits, how its numbers route.
#[derive(Debug, Clone)]
pub struct AccountSpec<'a> {
    pub name: &'a Label,
    /// The e-mail `SIGNATURE` is computed over.
    pub email: &'a str,
    pub signature_secret: Option<&'a str>,
    /// `(id, root_id)` of the parent; `None` for a top-level account.
    pub parent: Option<(i64, i64)>,
    pub forwarding: Option<&'a Forwarding>,
}

/// Inserts an account under a fresh random number; uniqueness is the
/// engine's constraint, so a taken number is simply drawn again.
pub fn open_account(
    tx: &mut dyn Tx,
    spec: &AccountSpec<'_>,
    now: UnixTime,
) -> Result<(i64, AccountNumber), Error> {
    let (forward_type, forward_to) = spec
        .forwarding
        .map_or(("", ""), |f| (f.kind().as_str(), f.target()));
    for _ in 0..NUMBER_TRIES {
        let number = random_account_number();
        let row = NewAccount {
            number: &number,
            name: spec.name.as_str(),
            email: spec.email,
            signature_secret: spec.signature_secret,
            parent: spec.parent,
            forward_type,
            forward_to,
            at: now,
        };
        match tx.insert_account(&row) {
            Ok(id) => return Ok((id, number)),
            Err(StoreError::Duplicate(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(StoreError::Internal("no free account number after several tries".into()).into())
}

/// Creates a sub-account of the key's account; it inherits the parent's
/// default forwarding, so its new numbers route like the parent's until
/// configured otherwise.
pub(super) fn create_subaccount(
    tx: &mut dyn Tx,
    ctx: &Ctx<'_>,
    c: &SubaccountCreate,
) -> Result<AccountNumber, Error> {
    let parent = tx
        .account_by_id(ctx.principal.account_id)?
        .ok_or_else(|| StoreError::Internal("the key's account is gone".into()))?;
    let forwarding = Forwarding::from_stored(&parent.forward_type, &parent.forward_to);
    let spec = AccountSpec {
        name: &c.name,
        email: "",
        signature_secret: None,
        parent: Some((parent.id, parent.root_id)),
        forwarding: forwarding.as_ref(),
    };
    Ok(open_account(tx, &spec, ctx.now)?.1)
}

/// Deletes (retires) a sub-account that owns no active numbers and has no
/// live sub-accounts of its own. Its keys stop working.
pub(super) fn delete_subaccount(
    tx: &mut dyn Tx,
    ctx: &Ctx<'_>,
    c: &SubaccountDelete,
) -> Result<(), Error> {
    let row = resolve_target(tx, ctx.principal, Some(&c.account))?;
    let conflict = |what: String| Err(DomainError::Conflict(what).into());
    if row.id == ctx.principal.account_id {
        return conflict(format!(
            "account {} is this key's own account: only its sub-accounts can be deleted",
            c.account
        ));
    }
    let active = tx.count_active_numbers(row.id)?;
    if active > 0 {
        return conflict(format!(
            "sub-account {} still owns {active} active numbers: cancel or move them first",
            c.account
        ));
    }
    if tx.count_live_subaccounts(row.id)? > 0 {
        return conflict(format!(
            "sub-account {} has sub-accounts of its own: delete them first",
            c.account
        ));
    }
    tx.retire_account(row.id, ctx.now)?;
    Ok(())
}

/// The operator's `account create`: an account (top-level, or under
/// `parent`), its first key, and an opening credit for top-level ones.
pub fn create_account(
    tx: &mut dyn Tx,
    spec: &AccountSpec<'_>,
    parent: Option<&AccountNumber>,
    credit: Money100,
    key: &GeneratedKey,
    now: UnixTime,
) -> Result<AccountNumber, Error> {
    let parent = match parent {
        None => None,
        Some(p) => {
            let row = tx
                .account(p)?
                .ok_or_else(|| DomainError::NotFound(format!("parent account {p}")))?;
            Some((row.id, row.root_id))
        }
    };
    if parent.is_some() && credit.0 > 0 {
        return Err(DomainError::Conflict(
            "sub-accounts have no balance: credit the top-level account".into(),
        )
        .into());
    }
    let (id, number) = open_account(
        tx,
        &AccountSpec {
            parent,
            ..spec.clone()
        },
        now,
    )?;
    insert_key(tx, id, key, now)?;
    if credit.0 > 0 {
        ledger_credit(tx, id, credit, now)?;
    }
    Ok(number)
}

fn insert_key(
    tx: &mut dyn Tx,
    account_id: i64,
    key: &GeneratedKey,
    now: UnixTime,
) -> Result<(), Error> {
    Ok(tx.insert_key(&NewKey {
        id: &key.key_id,
        account_id,
        hash: &key.hash,
        tag: key.tag,
        at: now,
    })?)
}

fn ledger_credit(
    tx: &mut dyn Tx,
    account_id: i64,
    amount: Money100,
    now: UnixTime,
) -> Result<(), Error> {
    Ok(tx.insert_ledger(&LedgerEntry {
        account_id,
        amount: amount.0,
        kind: LedgerKind::Credit,
        order_id: None,
        key_id: None,
        memo: String::new(),
        at: now,
    })?)
}

/// The operator's `key create`: another key for an existing account.
pub fn add_key(
    tx: &mut dyn Tx,
    account: &AccountNumber,
    key: &GeneratedKey,
    now: UnixTime,
) -> Result<(), Error> {
    let row = tx
        .account(account)?
        .ok_or_else(|| DomainError::NotFound(format!("account {account}")))?;
    insert_key(tx, row.id, key, now)
}

/// The operator's `key revoke`; running servers notice within seconds.
pub fn revoke_key(tx: &mut dyn Tx, key_id: &KeyId, now: UnixTime) -> Result<(), Error> {
    if tx.revoke_key(key_id, now)? {
        Ok(())
    } else {
        Err(DomainError::NotFound(format!("key {key_id}")).into())
    }
}

/// The operator's `account credit`: a ledger credit to a top-level
/// account. Returns the new balance.
pub fn credit(
    tx: &mut dyn Tx,
    account: &AccountNumber,
    amount: Money100,
    now: UnixTime,
) -> Result<Money100, Error> {
    if amount.0 <= 0 {
        return Err(ParamError::Invalid {
            name: "amount100",
            reason: "must be a positive number of hundredths".into(),
        }
        .into());
    }
    let row = tx
        .account(account)?
        .ok_or_else(|| DomainError::NotFound(format!("account {account}")))?;
    if row.parent_id.is_some() {
        return Err(DomainError::Conflict(format!(
            "account {account} is a sub-account and has no balance: credit its top-level account"
        ))
        .into());
    }
    ledger_credit(tx, row.id, amount, now)?;
    Ok(tx.balance(row.id)?)
}
