//! Numbers as the contract's `DID` records: by number, and one account's
//! page of them (`DID.LIST`).

use didgate_core::StoreError;
use didgate_core::domain::{AccountNumber, Did, DidFilter, DidType, E164, Money100};
use didgate_core::engine::StoreResult;
use rusqlite::{Connection, Row};

use crate::classify::Classified;
use crate::filter::{FilterSql, filter_sql};
use crate::sql::{self, parsed};
use crate::status;

/// The query of `DID` records, for one `WHERE` clause.
macro_rules! select_did {
    ($where:literal) => {
        concat!(
            "SELECT d.e164, a.did_type, d.sms_url, d.sms_email, d.sms_phone, d.forward_type,
                    d.forward_to, d.status, c.name, a.name, a.area_code, d.monthly100, d.setup100,
                    d.rate_plan_id, d.title, coalesce(o.number, ''), d.ordered_at
               FROM dids d
               JOIN areas a ON a.id = d.area_id
               JOIN countries c ON c.id = a.country_id
               LEFT JOIN accounts o ON o.id = d.account_id
              WHERE ",
            $where
        )
    };
}

fn row_to_did(r: &Row<'_>) -> rusqlite::Result<Did> {
    Ok(Did {
        e164: r.get(0)?,
        did_type: parsed(r, 1, DidType::parse)?,
        sms_url: r.get(2)?,
        sms_email: r.get(3)?,
        sms_phone: r.get(4)?,
        forward_type: r.get(5)?,
        forward_to: r.get(6)?,
        status: parsed(r, 7, status::state)?.shown(),
        country_name: r.get(8)?,
        area_name: r.get(9)?,
        area_code: r.get(10)?,
        monthly: Money100(r.get(11)?),
        setup: Money100(r.get(12)?),
        rate_plan_id: r.get(13)?,
        title: r.get(14)?,
        account_number: r.get(15)?,
        order_date: r.get(16)?,
    })
}

/// The records of `e164s`, in the order given; a number that does not
/// exist is an error (the rules only ask for numbers they just read).
pub(crate) fn dids(conn: &Connection, e164s: &[E164]) -> StoreResult<Vec<Did>> {
    let mut stmt = conn
        .prepare_cached(select_did!("d.e164 = ?1"))
        .classified()?;
    e164s
        .iter()
        .map(|e| {
            use rusqlite::OptionalExtension;
            stmt.query_row([e.as_str()], row_to_did)
                .optional()
                .classified()?
                .ok_or_else(|| StoreError::Internal(format!("number {e} does not exist")))
        })
        .collect()
}

/// One page of an account's numbers matching `filter`, in E.164 order,
/// and how many match in all. With no status filter every owned number
/// (active or aging) is listed.
pub(crate) fn list_dids(
    conn: &Connection,
    account_id: i64,
    filter: &DidFilter,
    limit: u32,
    offset: u64,
) -> StoreResult<(Vec<Did>, u64)> {
    let FilterSql {
        from_where,
        mut params,
    } = filter_sql(account_id, filter);
    // An index-only count of the same range.
    let total: i64 = sql::one(
        conn,
        &format!("SELECT count(*) FROM {from_where}"),
        rusqlite::params_from_iter(&params),
        |r| r.get(0),
    )?;
    // The page is chosen in the index alone; only its rows are joined.
    let n = params.len();
    params.push(rusqlite::types::Value::Integer(limit.into()));
    params.push(rusqlite::types::Value::Integer(
        i64::try_from(offset).unwrap_or(i64::MAX),
    ));
    let page = format!(
        "{} (SELECT d.e164 FROM {from_where} ORDER BY d.e164 LIMIT ?{} OFFSET ?{}) ORDER BY d.e164",
        select_did!("d.e164 IN"),
        n + 1,
        n + 2
    );
    let dids = sql::all(conn, &page, rusqlite::params_from_iter(&params), row_to_did)?;
    Ok((dids, sql::count(total)))
}

/// Every number an account owns (active or aging), by E.164: for tests
/// and operators checking invariants.
pub(crate) fn dids_of(conn: &Connection, account: &AccountNumber) -> StoreResult<Vec<Did>> {
    sql::all(
        conn,
        select_did!("o.number = ?1 ORDER BY d.e164"),
        [account.as_str()],
        row_to_did,
    )
}

#[cfg(test)]
mod tests {
    use didgate_core::domain::{DidFilter, DidStatus, DidType, E164, E164Pattern};
    use didgate_core::engine::NumberSettings;
    use didgate_core::{Error, StoreError};

    use crate::testing::{self, NOW, ParseE164, sell};

    /// Owner of 12125550001..=04 (03 aging, 04 titled "x") and 18005550001.
    fn owned() -> (tempfile::TempDir, crate::Db, i64) {
        let (dir, _path, mut db) = testing::catalog();
        let owner = testing::account(&mut db, "1000000001", 0);
        db.transact(|tx| {
            for e in [
                "12125550001",
                "12125550002",
                "12125550003",
                "12125550004",
                "18005550001",
            ] {
                let title = if e.ends_with("04") { "x" } else { "" };
                let settings = NumberSettings {
                    title: title.into(),
                    ..NumberSettings::default()
                };
                sell(tx, &e.parse_e164(), owner, settings)?;
            }
            tx.start_aging(&"12125550003".parse_e164(), NOW + 60)?;
            Ok(())
        })
        .unwrap();
        (dir, db, owner)
    }

    fn e164s(dids: &[didgate_core::domain::Did]) -> Vec<&str> {
        dids.iter().map(|d| d.e164.as_str()).collect()
    }

    #[test]
    fn lists_every_owned_number_by_default_and_filters_by_what_is_given() {
        let (_dir, db, owner) = owned();
        let list = |f: DidFilter, limit, offset| {
            db.read(move |r| Ok(r.list_dids(owner, &f, limit, offset)?))
                .unwrap()
        };
        let (all, total) = list(DidFilter::default(), 10, 0);
        assert_eq!(total, 5);
        assert_eq!(all[2].status, DidStatus::Canceled);
        assert_eq!(all[0].account_number, "1000000001");
        let (page, total) = list(DidFilter::default(), 2, 3);
        assert_eq!(
            (e164s(&page), total),
            (vec!["12125550004", "18005550001"], 5)
        );
        let by = |f: DidFilter| e164s(&list(f, 10, 0).0).join(",");
        let active = DidFilter {
            status: Some(DidStatus::Active),
            ..DidFilter::default()
        };
        assert_eq!(
            by(active),
            "12125550001,12125550002,12125550004,18005550001"
        );
        let canceled = DidFilter {
            status: Some(DidStatus::Canceled),
            ..DidFilter::default()
        };
        assert_eq!(by(canceled), "12125550003");
        let toll = DidFilter {
            did_type: Some(DidType::TollFree),
            ..DidFilter::default()
        };
        assert_eq!(by(toll), "18005550001");
        let pattern = DidFilter {
            e164: Some(E164Pattern::parse("1212*2").unwrap()),
            ..DidFilter::default()
        };
        assert_eq!(by(pattern), "12125550002");
        let titled = DidFilter {
            title: Some("x".into()),
            ..DidFilter::default()
        };
        assert_eq!(by(titled), "12125550004");
    }

    #[test]
    fn select_numbers_takes_the_status_as_given() {
        let (_dir, db, owner) = owned();
        let select = |f: DidFilter| {
            db.read(move |r| Ok(r.select_numbers(owner, &f)?))
                .unwrap()
                .len()
        };
        assert_eq!(select(DidFilter::default()), 5);
        let active = DidFilter {
            status: Some(DidStatus::Active),
            ..DidFilter::default()
        };
        assert_eq!(select(active), 4);
        let available = DidFilter {
            status: Some(DidStatus::Available),
            ..DidFilter::default()
        };
        assert_eq!(select(available), 0);
    }

    #[test]
    fn dids_come_in_the_order_given_and_missing_ones_are_errors() {
        let (_dir, db, _owner) = owned();
        let asked: Vec<E164> = ["18005550001", "12125550003", "12125550009"]
            .map(|e| e.parse_e164())
            .into();
        let dids = db.read(|r| Ok(r.dids(&asked)?)).unwrap();
        assert_eq!(e164s(&dids), ["18005550001", "12125550003", "12125550009"]);
        let shown: Vec<DidStatus> = dids.iter().map(|d| d.status).collect();
        assert_eq!(
            shown,
            [DidStatus::Active, DidStatus::Canceled, DidStatus::Available]
        );
        assert_eq!(
            (dids[0].area_code.as_str(), dids[0].rate_plan_id.as_str()),
            ("800", "SU")
        );
        let missing = db.read(|r| Ok(r.dids(&["12125559999".parse_e164()])?));
        assert!(matches!(
            missing,
            Err(Error::Store(StoreError::Internal(_)))
        ));
        let owned = db
            .reader()
            .dids_of(&didgate_core::domain::AccountNumber::parse("1000000001").unwrap())
            .unwrap();
        assert_eq!(owned.len(), 5);
    }
}
