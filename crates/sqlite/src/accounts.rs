//! Accounts, their trees and their API keys.

use didgate_core::StoreError;
use didgate_core::domain::{AccountNumber, KeyId, Money100, Principal, SignatureKey, UnixTime};
use didgate_core::engine::{AccountRecord, KeyRecord, NewAccount, NewKey, StoreResult};
use rusqlite::{Connection, Row, params};

use crate::classify::Classified;
use crate::sql::{self, parsed, run_cached};

/// The query of live accounts, for one condition.
macro_rules! account_sql {
    ($where:literal) => {
        concat!(
            "SELECT id, number, parent_id, root_id, forward_type, forward_to FROM accounts
              WHERE deleted_at IS NULL AND ",
            $where
        )
    };
}

fn account_row(r: &Row<'_>) -> rusqlite::Result<AccountRecord> {
    Ok(AccountRecord {
        id: r.get(0)?,
        number: parsed(r, 1, AccountNumber::parse)?,
        parent_id: r.get(2)?,
        root_id: r.get(3)?,
        forward_type: r.get(4)?,
        forward_to: r.get(5)?,
    })
}

pub(crate) fn account(
    conn: &Connection,
    number: &AccountNumber,
) -> StoreResult<Option<AccountRecord>> {
    sql::optional(
        conn,
        account_sql!("number = ?1"),
        [number.as_str()],
        account_row,
    )
}

pub(crate) fn account_by_id(conn: &Connection, id: i64) -> StoreResult<Option<AccountRecord>> {
    sql::optional(conn, account_sql!("id = ?1"), [id], account_row)
}

/// Whether `account` is a (direct or indirect) sub-account of `ancestor`:
/// a walk up the parents, as deep as the tree.
pub(crate) fn is_below(conn: &Connection, account: i64, ancestor: i64) -> StoreResult<bool> {
    sql::one(
        conn,
        "WITH RECURSIVE up(id, parent_id) AS (
             SELECT id, parent_id FROM accounts WHERE id = ?1
             UNION ALL
             SELECT a.id, a.parent_id FROM accounts a JOIN up ON a.id = up.parent_id)
         SELECT EXISTS (SELECT 1 FROM up WHERE parent_id = ?2)",
        params![account, ancestor],
        |r| r.get(0),
    )
}

/// The balance of the billing account `root_id`.
pub(crate) fn balance(conn: &Connection, root_id: i64) -> StoreResult<Money100> {
    sql::optional(
        conn,
        "SELECT balance100 FROM accounts WHERE id = ?1",
        [root_id],
        |r| r.get(0),
    )?
    .map(Money100)
    .ok_or_else(|| StoreError::Internal(format!("account id {root_id} does not exist")))
}

pub(crate) fn count_live_subaccounts(conn: &Connection, account_id: i64) -> StoreResult<u64> {
    sql::one(
        conn,
        "SELECT count(*) FROM accounts WHERE parent_id = ?1 AND deleted_at IS NULL",
        [account_id],
        |r| r.get(0),
    )
    .map(sql::count)
}

/// The key row and its account, for authentication. A key of a retired
/// account counts as revoked.
pub(crate) fn key_record(conn: &Connection, key_id: &KeyId) -> StoreResult<Option<KeyRecord>> {
    sql::optional(
        conn,
        "SELECT k.hash, k.revoked_at IS NOT NULL OR a.deleted_at IS NOT NULL,
                a.id, a.number, a.root_id, a.email, a.signature_secret, k.tag
           FROM api_keys k JOIN accounts a ON a.id = k.account_id
          WHERE k.id = ?1",
        [key_id.as_str()],
        |r| {
            let secret: Option<String> = r.get(6)?;
            let signature = match secret {
                Some(secret) => Some(SignatureKey {
                    email: r.get(5)?,
                    secret,
                }),
                None => None,
            };
            Ok(KeyRecord {
                hash: r.get(0)?,
                revoked: r.get(1)?,
                tag: r.get(7)?,
                principal: Principal {
                    key_id: key_id.clone(),
                    account_id: r.get(2)?,
                    account_number: parsed(r, 3, AccountNumber::parse)?,
                    root_id: r.get(4)?,
                    signature,
                },
            })
        },
    )
}

/// Inserts an account under the number the caller chose; a taken number
/// is [`StoreError::Duplicate`] (the UNIQUE constraint says so, however
/// many writers there are). The id is SQLite's.
pub(crate) fn insert_account(conn: &Connection, a: &NewAccount<'_>) -> StoreResult<i64> {
    match a.parent {
        Some((parent_id, root_id)) => insert_row(conn, a, parent_id, root_id),
        None => insert_top_level(conn, a),
    }
}

/// The schema ties a top-level account to itself (`root_id = id`, a
/// CHECK), but its id is known only once the row is in. So the row goes
/// in as a placeholder the CHECK allows (parent and root `0`, an account
/// that does not exist) with foreign keys deferred for these two
/// statements, and becomes its own root at once. Both run inside the
/// caller's transaction; whatever happens, deferral ends here, so every
/// other statement still has its foreign keys checked at once.
fn insert_top_level(conn: &Connection, a: &NewAccount<'_>) -> StoreResult<i64> {
    run_cached(conn, "PRAGMA defer_foreign_keys = ON").classified()?;
    let inserted = insert_row(conn, a, 0, 0).and_then(|id| {
        sql::execute(
            conn,
            "UPDATE accounts SET parent_id = NULL, root_id = id WHERE id = ?1",
            [id],
        )?;
        Ok(id)
    });
    let reset = run_cached(conn, "PRAGMA defer_foreign_keys = OFF").classified();
    let id = inserted?;
    reset?;
    Ok(id)
}

fn insert_row(
    conn: &Connection,
    a: &NewAccount<'_>,
    parent_id: i64,
    root_id: i64,
) -> StoreResult<i64> {
    sql::one(
        conn,
        "INSERT INTO accounts (number, name, email, signature_secret, parent_id, root_id,
                               forward_type, forward_to, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) RETURNING id",
        params![
            a.number.as_str(),
            a.name,
            a.email,
            a.signature_secret,
            parent_id,
            root_id,
            a.forward_type,
            a.forward_to,
            a.at
        ],
        |r| r.get(0),
    )
}

/// Retires an account (its keys stop working); the first retirement's
/// time is kept.
pub(crate) fn retire_account(conn: &Connection, id: i64, at: UnixTime) -> StoreResult<()> {
    sql::execute(
        conn,
        "UPDATE accounts SET deleted_at = coalesce(deleted_at, ?2) WHERE id = ?1",
        params![id, at],
    )
    .map(drop)
}

/// A taken key id is [`StoreError::Duplicate`] (the primary key).
pub(crate) fn insert_key(conn: &Connection, key: &NewKey<'_>) -> StoreResult<()> {
    sql::execute(
        conn,
        "INSERT INTO api_keys (id, account_id, hash, tag, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![key.id.as_str(), key.account_id, key.hash, key.tag, key.at],
    )
    .map(drop)
}

/// Revokes a key (the first revocation's time is kept); `false` if there
/// is no such key.
pub(crate) fn revoke_key(conn: &Connection, id: &KeyId, at: UnixTime) -> StoreResult<bool> {
    let changed = sql::execute(
        conn,
        "UPDATE api_keys SET revoked_at = coalesce(revoked_at, ?2) WHERE id = ?1",
        params![id.as_str(), at],
    )?;
    Ok(changed == 1)
}

#[cfg(test)]
mod tests {
    use didgate_core::domain::{AccountNumber, KeyId};
    use didgate_core::engine::NewKey;
    use didgate_core::{Error, StoreError};

    use crate::testing::{self, NOW, new_account};

    fn number(s: &str) -> AccountNumber {
        AccountNumber::parse(s).unwrap()
    }

    #[test]
    fn a_top_level_account_is_its_own_root_and_a_sub_account_joins_its_tree() {
        let (_dir, _path, mut db) = testing::catalog();
        let (top, sub) = (number("1000000001"), number("1000000002"));
        let (top_id, sub_id) = db
            .transact(|tx| {
                let top_id = tx.insert_account(&new_account(&top, None))?;
                let sub_id = tx.insert_account(&new_account(&sub, Some((top_id, top_id))))?;
                Ok((top_id, sub_id))
            })
            .unwrap();
        let (t, s) = db
            .read(|r| Ok((r.account(&top)?.unwrap(), r.account_by_id(sub_id)?.unwrap())))
            .unwrap();
        assert_eq!((t.id, t.root_id, t.parent_id), (top_id, top_id, None));
        assert_eq!((s.root_id, s.parent_id), (top_id, Some(top_id)));
        assert!(db.read(|r| Ok(r.is_below(sub_id, top_id)?)).unwrap());
        assert!(!db.read(|r| Ok(r.is_below(top_id, sub_id)?)).unwrap());
        assert_eq!(
            db.read(|r| Ok(r.count_live_subaccounts(top_id)?)).unwrap(),
            1
        );
        db.transact(|tx| Ok(tx.retire_account(sub_id, NOW)?))
            .unwrap();
        assert!(db.read(|r| Ok(r.account(&sub)?)).unwrap().is_none());
        assert_eq!(
            db.read(|r| Ok(r.count_live_subaccounts(top_id)?)).unwrap(),
            0
        );
    }

    #[test]
    fn a_taken_number_is_a_duplicate_and_changes_nothing() {
        let (_dir, _path, mut db) = testing::catalog();
        testing::account(&mut db, "1000000001", 0);
        let taken = number("1000000001");
        let again = db.transact(|tx| Ok(tx.insert_account(&new_account(&taken, None))?));
        assert!(
            matches!(again, Err(Error::Store(StoreError::Duplicate(_)))),
            "{again:?}"
        );
        // Foreign keys are checked at once again after a top-level insert.
        let orphan = number("1000000003");
        let bad = db.transact(|tx| Ok(tx.insert_account(&new_account(&orphan, Some((99, 99))))?));
        assert!(
            matches!(bad, Err(Error::Store(StoreError::Constraint(_)))),
            "{bad:?}"
        );
        // The next account still gets a fresh id from SQLite.
        let next = testing::account(&mut db, "1000000002", 0);
        assert_eq!(next, 2);
    }

    #[test]
    fn ids_follow_accounts_made_before_with_ids_of_their_own() {
        let (_dir, _path, mut db) = testing::catalog();
        // As an older didgate made them: the id chosen by the caller.
        db.conn
            .execute_batch(
                "INSERT INTO accounts (id, number, name, root_id, created_at)
                 VALUES (41, '1000000041', 'old', 41, 0)",
            )
            .unwrap();
        let id = testing::account(&mut db, "1000000042", 0);
        let record = db.read(|r| Ok(r.account_by_id(id)?.unwrap())).unwrap();
        assert_eq!((id, record.root_id), (42, 42));
    }

    #[test]
    fn keys_are_unique_revocable_and_die_with_their_account() {
        let (_dir, _path, mut db) = testing::catalog();
        let owner = testing::account(&mut db, "1000000001", 0);
        let id = KeyId::parse("00000000000000aa").unwrap();
        let key = NewKey {
            id: &id,
            account_id: owner,
            hash: "$argon2id$stub",
            tag: 65535,
            at: NOW,
        };
        db.transact(|tx| Ok(tx.insert_key(&key)?)).unwrap();
        let again = db.transact(|tx| Ok(tx.insert_key(&key)?));
        assert!(matches!(again, Err(Error::Store(StoreError::Duplicate(_)))));
        let record = db.read(|r| Ok(r.key_record(&id)?.unwrap())).unwrap();
        assert_eq!((record.tag, record.revoked), (Some(65535), false));
        assert_eq!(record.principal.account_number.as_str(), "1000000001");
        assert_eq!(record.principal.root_id, owner);
        let unknown = KeyId::parse("00000000000000bb").unwrap();
        assert!(!db.transact(|tx| Ok(tx.revoke_key(&unknown, NOW)?)).unwrap());
        db.transact(|tx| Ok(tx.retire_account(owner, NOW)?))
            .unwrap();
        assert!(
            db.read(|r| Ok(r.key_record(&id)?.unwrap().revoked))
                .unwrap()
        );
        assert!(db.transact(|tx| Ok(tx.revoke_key(&id, NOW)?)).unwrap());
    }
}
