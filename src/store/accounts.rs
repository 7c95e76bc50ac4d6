//! Accounts, keys, balances and credits.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::{Db, Reader};
use crate::domain::{
    AccountNumber, Forwarding, KeyId, Money100, Principal, SignatureKey, UnixTime,
};
use crate::error::{DomainError, Error, StoreError};

/// An account row as the mutations need it.
pub(super) struct AccountRow {
    pub id: i64,
    pub number: String,
    pub root_id: i64,
    pub forward_type: String,
    pub forward_to: String,
}

/// What authentication needs to know about a key id.
#[derive(Debug, Clone)]
pub struct KeyRecord {
    pub hash: String,
    /// 16 bits of the key's SHA-256 (see `auth.rs`); `None` for keys made
    /// before tags existed.
    pub tag: Option<u16>,
    pub revoked: bool,
    pub principal: Principal,
}

/// The data of an account to create.
pub struct NewAccount {
    pub name: String,
    /// The account's e-mail, which `SIGNATURE` is computed over.
    pub email: String,
    /// When set, every request must carry a matching `SIGNATURE`.
    pub signature_secret: Option<String>,
    pub parent: Option<AccountNumber>,
    pub forwarding: Option<Forwarding>,
}

/// Finds the account a request acts on: the key's own account when
/// `target` is absent, else `target` if it is the key's account or below
/// it. Anything else, including a number that does not exist, is
/// `ACCESS_DENIED`, so the answer never tells whether an account exists.
pub(super) fn resolve_target(
    conn: &Connection,
    principal: &Principal,
    target: Option<&AccountNumber>,
) -> Result<AccountRow, Error> {
    let number = target.unwrap_or(&principal.account_number);
    let row = conn
        .prepare_cached(
            "SELECT id, number, root_id, forward_type, forward_to FROM accounts
              WHERE number = ?1 AND deleted_at IS NULL",
        )?
        .query_row([number.as_str()], |r| {
            Ok(AccountRow {
                id: r.get(0)?,
                number: r.get(1)?,
                root_id: r.get(2)?,
                forward_type: r.get(3)?,
                forward_to: r.get(4)?,
            })
        })
        .optional()?;
    let denied = || DomainError::AccessDenied(number.to_string());
    let row = row.ok_or_else(denied)?;
    if row.id == principal.account_id {
        return Ok(row);
    }
    if row.root_id != principal.root_id {
        return Err(denied().into());
    }
    if is_below(conn, row.id, principal.account_id)? {
        Ok(row)
    } else {
        Err(denied().into())
    }
}

/// Whether `account` is a (direct or indirect) sub-account of `ancestor`.
pub(super) fn is_below(conn: &Connection, account: i64, ancestor: i64) -> Result<bool, Error> {
    Ok(conn
        .prepare_cached(
            "WITH RECURSIVE up(id, parent_id) AS (
                 SELECT id, parent_id FROM accounts WHERE id = ?1
                 UNION ALL
                 SELECT a.id, a.parent_id FROM accounts a JOIN up ON a.id = up.parent_id)
             SELECT EXISTS (SELECT 1 FROM up WHERE parent_id = ?2)",
        )?
        .query_row(params![account, ancestor], |r| r.get(0))?)
}

impl Reader<'_> {
    /// The key row and its account, for authentication.
    pub fn key_record(&self, key_id: &KeyId) -> Result<Option<KeyRecord>, Error> {
        let row = self
            .conn
            .prepare_cached(
                "SELECT k.hash, k.revoked_at IS NOT NULL OR a.deleted_at IS NOT NULL,
                        a.id, a.number, a.root_id, a.email, a.signature_secret, k.tag
                   FROM api_keys k JOIN accounts a ON a.id = k.account_id
                  WHERE k.id = ?1",
            )?
            .query_row([key_id.as_str()], |r| {
                let secret: Option<String> = r.get(6)?;
                let signature = secret.map(|secret| {
                    Ok::<_, rusqlite::Error>(SignatureKey {
                        email: r.get(5)?,
                        secret,
                    })
                });
                Ok((
                    r.get::<_, String>(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get::<_, String>(3)?,
                    r.get(4)?,
                    signature.transpose()?,
                    r.get::<_, Option<u16>>(7)?,
                ))
            })
            .optional()?;
        let Some((hash, revoked, account_id, number, root_id, signature, tag)) = row else {
            return Ok(None);
        };
        let account_number = AccountNumber::parse(&number)
            .map_err(|e| StoreError::Internal(format!("stored account number {e}")))?;
        Ok(Some(KeyRecord {
            hash,
            tag,
            revoked,
            principal: Principal {
                key_id: key_id.clone(),
                account_id,
                account_number,
                root_id,
                signature,
            },
        }))
    }

    /// The balance of the billing account `root_id`.
    pub fn balance(&self, root_id: i64) -> Result<Money100, Error> {
        let v: i64 = self
            .conn
            .prepare_cached("SELECT balance100 FROM accounts WHERE id = ?1")?
            .query_row([root_id], |r| r.get(0))?;
        Ok(Money100(v))
    }

    /// The sum of an account's ledger, which must equal its balance.
    pub fn ledger_sum(&self, account: &AccountNumber) -> Result<Money100, Error> {
        let v: i64 = self.conn.query_row(
            "SELECT coalesce(sum(l.amount100), 0) FROM ledger l JOIN accounts a ON a.id = l.account_id
              WHERE a.number = ?1",
            [account.as_str()],
            |r| r.get(0),
        )?;
        Ok(Money100(v))
    }

    /// The balance shown for an account number (its tree's), for the CLI.
    pub fn balance_of(&self, account: &AccountNumber) -> Result<Money100, Error> {
        let v: Option<i64> = self
            .conn
            .query_row(
                "SELECT r.balance100 FROM accounts a JOIN accounts r ON r.id = a.root_id
                  WHERE a.number = ?1",
                [account.as_str()],
                |r| r.get(0),
            )
            .optional()?;
        v.map(Money100)
            .ok_or_else(|| DomainError::NotFound(format!("account {account}")).into())
    }
}

impl Db {
    /// Creates an account with a fresh random number and its first key.
    /// `key` is `(key_id, argon2 hash)`, made by the caller.
    pub fn create_account(
        &mut self,
        account: &NewAccount,
        credit: Money100,
        key: (&KeyId, &str, u16),
        now: UnixTime,
    ) -> Result<AccountNumber, Error> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let parent = match &account.parent {
            None => None,
            Some(p) => Some(
                tx.query_row(
                    "SELECT id, root_id FROM accounts WHERE number = ?1 AND deleted_at IS NULL",
                    [p.as_str()],
                    |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)),
                )
                .optional()?
                .ok_or_else(|| DomainError::NotFound(format!("parent account {p}")))?,
            ),
        };
        if parent.is_some() && credit.0 > 0 {
            return Err(DomainError::Conflict(
                "sub-accounts have no balance: credit the top-level account".into(),
            )
            .into());
        }
        let fwd = account
            .forwarding
            .as_ref()
            .map_or(("", ""), |f| (f.kind().as_str(), f.target()));
        let (id, number) = insert_account(&tx, &account.name, parent, fwd, now)?;
        tx.execute(
            "UPDATE accounts SET email = ?2, signature_secret = ?3 WHERE id = ?1",
            params![id, account.email, account.signature_secret],
        )?;
        insert_key(&tx, id, key, now)?;
        if credit.0 > 0 {
            insert_credit(&tx, id, credit, now)?;
        }
        tx.commit()?;
        Ok(number)
    }

    /// Adds a key to an existing account.
    pub fn create_key(
        &mut self,
        account: &AccountNumber,
        key: (&KeyId, &str, u16),
        now: UnixTime,
    ) -> Result<(), Error> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let id = account_id(&tx, account)?;
        insert_key(&tx, id, key, now)?;
        tx.commit()?;
        Ok(())
    }

    /// Revokes a key; running servers notice within seconds.
    pub fn revoke_key(&mut self, key_id: &KeyId, now: UnixTime) -> Result<(), Error> {
        let n = self.conn.execute(
            "UPDATE api_keys SET revoked_at = coalesce(revoked_at, ?2) WHERE id = ?1",
            params![key_id.as_str(), now],
        )?;
        if n == 0 {
            return Err(DomainError::NotFound(format!("key {key_id}")).into());
        }
        Ok(())
    }

    /// Credits a top-level account through the ledger.
    pub fn credit(
        &mut self,
        account: &AccountNumber,
        amount: Money100,
        now: UnixTime,
    ) -> Result<Money100, Error> {
        if amount.0 <= 0 {
            return Err(crate::error::ParamError::Invalid {
                name: "amount100",
                reason: "must be a positive number of hundredths".into(),
            }
            .into());
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (id, top): (i64, bool) = tx
            .query_row(
                "SELECT id, parent_id IS NULL FROM accounts WHERE number = ?1 AND deleted_at IS NULL",
                [account.as_str()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?
            .ok_or_else(|| DomainError::NotFound(format!("account {account}")))?;
        if !top {
            return Err(DomainError::Conflict(format!(
                "account {account} is a sub-account and has no balance: credit its top-level account"
            ))
            .into());
        }
        insert_credit(&tx, id, amount, now)?;
        let balance: i64 =
            tx.query_row("SELECT balance100 FROM accounts WHERE id = ?1", [id], |r| {
                r.get(0)
            })?;
        tx.commit()?;
        Ok(Money100(balance))
    }
}

fn account_id(conn: &Connection, account: &AccountNumber) -> Result<i64, Error> {
    conn.query_row(
        "SELECT id FROM accounts WHERE number = ?1 AND deleted_at IS NULL",
        [account.as_str()],
        |r| r.get(0),
    )
    .optional()?
    .ok_or_else(|| DomainError::NotFound(format!("account {account}")).into())
}

fn insert_key(
    conn: &Connection,
    account_id: i64,
    (key_id, hash, tag): (&KeyId, &str, u16),
    now: UnixTime,
) -> Result<(), Error> {
    conn.execute(
        "INSERT INTO api_keys (id, account_id, hash, tag, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![key_id.as_str(), account_id, hash, tag, now],
    )?;
    Ok(())
}

fn insert_credit(
    conn: &Connection,
    account_id: i64,
    amount: Money100,
    now: UnixTime,
) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO ledger (account_id, amount100, kind, created_at) VALUES (?1, ?2, 'credit', ?3)",
        params![account_id, amount.0, now],
    )?;
    Ok(())
}

/// Inserts an account with a fresh random number under `parent`
/// (`(id, root_id)`), or as a top-level account.
pub(super) fn insert_account(
    conn: &Connection,
    name: &str,
    parent: Option<(i64, i64)>,
    (forward_type, forward_to): (&str, &str),
    now: UnixTime,
) -> Result<(i64, AccountNumber), Error> {
    let number = loop {
        let candidate = random_account_number();
        let taken: bool = conn
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM accounts WHERE number = ?1)")?
            .query_row([&candidate], |r| r.get(0))?;
        if !taken {
            break candidate;
        }
    };
    // A top-level account is its own root; its id is chosen here so the
    // row satisfies that CHECK as it is inserted.
    let id: i64 = conn.query_row("SELECT coalesce(max(id), 0) + 1 FROM accounts", [], |r| {
        r.get(0)
    })?;
    let root = parent.map_or(id, |(_, root)| root);
    conn.prepare_cached(
        "INSERT INTO accounts (id, number, name, parent_id, root_id, forward_type, forward_to, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![id, number, name, parent.map(|p| p.0), root, forward_type, forward_to, now])?;
    Ok((
        id,
        AccountNumber::parse(&number).expect("generated account numbers are valid"),
    ))
}

fn random_account_number() -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    // No leading zero: spreadsheets and some clients drop it.
    let first = rng.random_range(1..=9u8);
    let rest: u64 = rng.random_range(0..1_000_000_000);
    format!("{first}{rest:09}")
}
