//! Fixtures for the unit tests: a fresh database with a small catalog
//! and stock, and accounts made through the `Tx` operations themselves.

use std::path::PathBuf;

use didgate_core::domain::{
    AccountNumber, AreaId, CountryId, DidType, E164, KeyId, Money100, RatePlanId,
};
use didgate_core::engine::{LedgerEntry, LedgerKind, NewAccount};

use crate::{CatalogRow, Db, NumberRow};

pub(crate) const NOW: i64 = 1_800_000_000;

/// `ny-212`: GEOGRAPHIC, plans `PR` and `SU`, numbers 1212555000{1..9}
/// and 12125550010. `us-800`: TOLLFREE, plan `SU`, numbers 1800555000{1..3}.
pub(crate) fn catalog() -> (tempfile::TempDir, PathBuf, Db) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("test.db");
    let mut db = Db::open(&path).unwrap();
    let rows = [
        row("ny-212", "New York", "212", DidType::Geographic, "SU", 149),
        row("ny-212", "New York", "212", DidType::Geographic, "PR", 300),
        row("us-800", "Toll free", "800", DidType::TollFree, "SU", 500),
    ];
    let numbers = (1..=10)
        .map(|i| number(&format!("121255500{i:02}"), "ny-212"))
        .chain((1..=3).map(|i| number(&format!("180055500{i:02}"), "us-800")));
    db.import(&rows, numbers.map(Ok), |_| {}).unwrap();
    (dir, path, db)
}

fn row(area: &str, name: &str, code: &str, t: DidType, plan: &str, monthly: i64) -> CatalogRow {
    let state =
        (t == DidType::Geographic).then(|| ("US-NY".into(), "New York".into(), "NY".into()));
    CatalogRow {
        country_id: CountryId::parse("US").unwrap(),
        country_name: "United States".into(),
        state,
        area_id: AreaId::parse(area).unwrap(),
        area_name: name.into(),
        area_code: code.into(),
        did_type: t,
        rate_plan_id: RatePlanId::parse(plan).unwrap(),
        rate_plan_name: format!("Plan {plan}"),
        monthly: Money100(monthly),
        setup: Money100(monthly / 2),
    }
}

pub(crate) fn number(e164: &str, area: &str) -> NumberRow {
    NumberRow {
        e164: e164.parse_e164(),
        area_id: AreaId::parse(area).unwrap(),
        origin: "test".into(),
    }
}

pub(crate) fn area() -> AreaId {
    AreaId::parse("ny-212").unwrap()
}

pub(crate) fn key_id() -> KeyId {
    KeyId::parse("0123456789abcdef").unwrap()
}

/// `"12125550001".parse_e164()` and the like, for brevity.
pub(crate) trait ParseE164 {
    fn parse_e164(&self) -> E164;
}

impl ParseE164 for str {
    fn parse_e164(&self) -> E164 {
        E164::parse(self).unwrap()
    }
}

/// A country and an area of it, added by plain SQL (as another process
/// would), committed at once.
pub(crate) fn add_area(db: &Db, country: &str, area: &str) {
    db.conn
        .execute(
            "INSERT INTO countries (id, name) VALUES (?1, ?1)",
            [country],
        )
        .unwrap();
    db.conn
        .execute(
            "INSERT INTO areas (id, country_id, name, area_code, did_type)
             VALUES (?1, ?2, ?1, '1', 'GEOGRAPHIC')",
            [area, country],
        )
        .unwrap();
}

/// The fields of a new account numbered `number` (10 digits).
pub(crate) fn new_account<'a>(
    number: &'a AccountNumber,
    parent: Option<(i64, i64)>,
) -> NewAccount<'a> {
    NewAccount {
        number,
        name: "Test",
        email: "ops@example.com",
        signature_secret: None,
        parent,
        forward_type: "",
        forward_to: "",
        at: NOW,
    }
}

/// A top-level account with `credit` hundredths; its id.
pub(crate) fn account(db: &mut Db, number: &str, credit: i64) -> i64 {
    let number = AccountNumber::parse(number).unwrap();
    db.transact(|tx| {
        let id = tx.insert_account(&new_account(&number, None))?;
        if credit > 0 {
            tx.insert_ledger(&LedgerEntry {
                account_id: id,
                amount: credit,
                kind: LedgerKind::Credit,
                order_id: None,
                key_id: None,
                memo: "test credit".into(),
                at: NOW,
            })?;
        }
        Ok(id)
    })
    .unwrap()
}

/// Inserts an order of `account_id` and sells it `e164` under plan `SU`
/// with `settings`; whether the number could be sold.
pub(crate) fn sell(
    tx: &mut dyn didgate_core::engine::Tx,
    e164: &E164,
    account_id: i64,
    settings: didgate_core::engine::NumberSettings,
) -> Result<bool, didgate_core::Error> {
    use didgate_core::engine::{Assignment, NewOrder};
    let plan = RatePlanId::parse("SU").unwrap();
    let key = key_id();
    let order_id = tx.insert_order(&NewOrder {
        account_id,
        billing_id: account_id,
        key_id: &key,
        area_id: None,
        rate_plan: &plan,
        quantity: 1,
        charged: Money100(0),
        at: NOW,
    })?;
    Ok(tx.assign(
        e164,
        &Assignment {
            account_id,
            order_id,
            rate_plan: &plan,
            monthly: Money100(149),
            setup: Money100(74),
            settings,
            at: NOW,
        },
    )?)
}
