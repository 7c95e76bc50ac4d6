//! Money: orders and the ledger. A balance changes only through a ledger
//! row, which the schema's trigger applies to the account (and its CHECK
//! refuses to take below zero).

use didgate_core::DomainError;
use didgate_core::domain::{AccountNumber, AreaId, Money100};
use didgate_core::engine::{LedgerEntry, LedgerKind, NewOrder, StoreResult};
use rusqlite::{Connection, params};

use crate::sql;

/// Inserts an order; its id is SQLite's.
pub(crate) fn insert_order(conn: &Connection, o: &NewOrder<'_>) -> StoreResult<i64> {
    sql::one(
        conn,
        "INSERT INTO orders (account_id, billing_id, key_id, area_id, rate_plan_id, quantity,
                             charged100, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) RETURNING id",
        params![
            o.account_id,
            o.billing_id,
            o.key_id.as_str(),
            o.area_id.map(AreaId::as_str),
            o.rate_plan.as_str(),
            o.quantity,
            o.charged.0,
            o.at
        ],
        |r| r.get(0),
    )
}

pub(crate) fn insert_ledger(conn: &Connection, e: &LedgerEntry<'_>) -> StoreResult<()> {
    let kind = match e.kind {
        LedgerKind::Credit => "credit",
        LedgerKind::Charge => "charge",
    };
    sql::execute(
        conn,
        "INSERT INTO ledger (account_id, amount100, kind, order_id, key_id, memo, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            e.account_id,
            e.amount,
            kind,
            e.order_id,
            e.key_id.map(|k| k.as_str()),
            e.memo,
            e.at
        ],
    )
    .map(drop)
}

/// The sum of an account's ledger rows, which must equal its balance.
pub(crate) fn ledger_sum(conn: &Connection, account: &AccountNumber) -> StoreResult<Money100> {
    sql::one(
        conn,
        "SELECT coalesce(sum(l.amount100), 0) FROM ledger l JOIN accounts a ON a.id = l.account_id
          WHERE a.number = ?1",
        [account.as_str()],
        |r| r.get(0),
    )
    .map(Money100)
}

/// The balance shown for an account number: its tree's. `NOT_FOUND` for
/// an unknown number (operators type these).
pub(crate) fn balance_of(
    conn: &Connection,
    account: &AccountNumber,
) -> Result<Money100, didgate_core::Error> {
    let found = sql::optional(
        conn,
        "SELECT r.balance100 FROM accounts a JOIN accounts r ON r.id = a.root_id
          WHERE a.number = ?1",
        [account.as_str()],
        |r| r.get(0),
    )?;
    found
        .map(Money100)
        .ok_or_else(|| DomainError::NotFound(format!("account {account}")).into())
}

#[cfg(test)]
mod tests {
    use didgate_core::domain::{AccountNumber, Money100};
    use didgate_core::engine::{LedgerEntry, LedgerKind};
    use didgate_core::{Error, StoreError};

    use crate::testing::{self, NOW};

    fn charge(account_id: i64, amount: i64) -> LedgerEntry<'static> {
        LedgerEntry {
            account_id,
            amount: -amount,
            kind: LedgerKind::Charge,
            order_id: None,
            key_id: None,
            memo: "test charge".into(),
            at: NOW,
        }
    }

    #[test]
    fn ledger_rows_move_the_balance_and_never_below_zero() {
        let (_dir, _path, mut db) = testing::catalog();
        let id = testing::account(&mut db, "1000000001", 1_000);
        db.transact(|tx| Ok(tx.insert_ledger(&charge(id, 400))?))
            .unwrap();
        assert_eq!(db.read(|r| Ok(r.balance(id)?)).unwrap(), Money100(600));
        let overdraw = db.transact(|tx| Ok(tx.insert_ledger(&charge(id, 601))?));
        assert!(matches!(
            overdraw,
            Err(Error::Store(StoreError::Constraint(_)))
        ));
        let number = AccountNumber::parse("1000000001").unwrap();
        let r = db.reader();
        assert_eq!(r.ledger_sum(&number).unwrap(), Money100(600));
        assert_eq!(r.balance_of(&number).unwrap(), Money100(600));
        let unknown = AccountNumber::parse("1999999999").unwrap();
        assert!(matches!(r.balance_of(&unknown), Err(Error::Domain(_))));
    }
}

#[cfg(test)]
mod order_tests {
    use didgate_core::domain::{Money100, RatePlanId};
    use didgate_core::engine::NewOrder;

    use crate::testing::{self, NOW};

    #[test]
    fn orders_get_fresh_ids_from_sqlite() {
        let (_dir, _path, mut db) = testing::catalog();
        let owner = testing::account(&mut db, "1000000001", 0);
        let (key, plan, area) = (
            testing::key_id(),
            RatePlanId::parse("SU").unwrap(),
            testing::area(),
        );
        let mut order = NewOrder {
            account_id: owner,
            billing_id: owner,
            key_id: &key,
            area_id: Some(&area),
            rate_plan: &plan,
            quantity: 2,
            charged: Money100(298),
            at: NOW,
        };
        let first = db.transact(|tx| Ok(tx.insert_order(&order)?)).unwrap();
        order.area_id = None;
        let second = db.transact(|tx| Ok(tx.insert_order(&order)?)).unwrap();
        assert_eq!((first, second), (1, 2));
        let rows: Vec<(Option<String>, i64)> = db
            .conn
            .prepare("SELECT area_id, charged100 FROM orders ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(rows, [(Some("ny-212".into()), 298), (None, 298)]);
    }
}
