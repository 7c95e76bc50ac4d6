//! Numbers as the rules see them ([`NumberRecord`]) and the plain changes
//! of their life: sold, reconfigured, aging, active again, moved, back in
//! stock. Holding and releasing by reservations is `reservations.rs`.

use didgate_core::domain::{AreaId, DidFilter, E164, UnixTime};
use didgate_core::engine::{Assignment, NumberRecord, NumberSettings, StoreResult};
use rusqlite::{Connection, Row, params};

use crate::filter::{FilterSql, filter_sql};
use crate::sql::{self, parsed, parsed_opt};
use crate::status;

/// The columns [`record`] reads, over `dids d`.
macro_rules! number_columns {
    () => {
        "d.e164, d.area_id, d.status, d.account_id, d.reservation_id, d.aging_until,
         d.forward_type, d.forward_to, d.sms_url, d.sms_email, d.sms_phone, d.title"
    };
}

fn record(r: &Row<'_>) -> rusqlite::Result<NumberRecord> {
    use didgate_core::domain::ReservationId;
    Ok(NumberRecord {
        e164: parsed(r, 0, E164::parse)?,
        area_id: parsed(r, 1, AreaId::parse)?,
        state: parsed(r, 2, status::state)?,
        account_id: r.get(3)?,
        reservation_id: parsed_opt(r, 4, ReservationId::parse)?,
        aging_until: r.get(5)?,
        settings: NumberSettings {
            forward_type: r.get(6)?,
            forward_to: r.get(7)?,
            sms_url: r.get(8)?,
            sms_email: r.get(9)?,
            sms_phone: r.get(10)?,
            title: r.get(11)?,
        },
    })
}

pub(crate) fn number(conn: &Connection, e164: &E164) -> StoreResult<Option<NumberRecord>> {
    sql::optional(
        conn,
        concat!(
            "SELECT ",
            number_columns!(),
            " FROM dids d WHERE d.e164 = ?1"
        ),
        [e164.as_str()],
        record,
    )
}

/// Every number of `account_id` matching `filter`, in E.164 order.
pub(crate) fn select_numbers(
    conn: &Connection,
    account_id: i64,
    filter: &DidFilter,
) -> StoreResult<Vec<NumberRecord>> {
    let FilterSql { from_where, params } = filter_sql(account_id, filter);
    let query = format!(
        "SELECT {} FROM {from_where} ORDER BY d.e164",
        number_columns!()
    );
    sql::all(conn, &query, rusqlite::params_from_iter(params), record)
}

/// The lowest `n` available numbers of an area: the first `n` entries of
/// the `dids_area (area_id, status, e164)` range `(area, 'available')`,
/// which is exactly the area's stock in E.164 order.
pub(crate) fn lowest_available(conn: &Connection, area: &AreaId, n: u32) -> StoreResult<Vec<E164>> {
    sql::all(
        conn,
        "SELECT e164 FROM dids WHERE area_id = ?1 AND status = 'available' ORDER BY e164 LIMIT ?2",
        params![area.as_str(), n],
        |r| parsed(r, 0, E164::parse),
    )
}

pub(crate) fn count_active_numbers(conn: &Connection, account_id: i64) -> StoreResult<u64> {
    sql::one(
        conn,
        "SELECT count(*) FROM dids WHERE account_id = ?1 AND status = 'active'",
        [account_id],
        |r| r.get(0),
    )
    .map(sql::count)
}

/// Whether a number's aging or a reservation has ended by `now`: two
/// probes of partial indexes, so an idle server's sweep costs nothing.
pub(crate) fn sweep_due(conn: &Connection, now: UnixTime) -> StoreResult<bool> {
    sql::one(
        conn,
        "SELECT EXISTS (SELECT 1 FROM dids WHERE status = 'aging' AND aging_until <= ?1)
             OR EXISTS (SELECT 1 FROM reservations WHERE state = 'open' AND expires_at <= ?1)",
        [now],
        |r| r.get(0),
    )
}

/// Sells an available or reserved number: owner, plan, prices, fresh
/// settings; it leaves any reservation. `false` if it was neither.
pub(crate) fn assign(conn: &Connection, e164: &E164, to: &Assignment<'_>) -> StoreResult<bool> {
    let s = &to.settings;
    let changed = sql::execute(
        conn,
        "UPDATE dids SET status = 'active', account_id = ?2, order_id = ?3, rate_plan_id = ?4,
                monthly100 = ?5, setup100 = ?6, forward_type = ?7, forward_to = ?8, sms_url = ?9,
                sms_email = ?10, sms_phone = ?11, title = ?12, ordered_at = ?13,
                aging_until = NULL, reservation_id = NULL
          WHERE e164 = ?1 AND status IN ('available', 'reserved')",
        params![
            e164.as_str(),
            to.account_id,
            to.order_id,
            to.rate_plan.as_str(),
            to.monthly.0,
            to.setup.0,
            s.forward_type,
            s.forward_to,
            s.sms_url,
            s.sms_email,
            s.sms_phone,
            s.title,
            to.at
        ],
    )?;
    Ok(changed == 1)
}

pub(crate) fn set_settings(conn: &Connection, e164: &E164, s: &NumberSettings) -> StoreResult<()> {
    sql::execute(
        conn,
        "UPDATE dids SET forward_type = ?2, forward_to = ?3, sms_url = ?4, sms_email = ?5,
                sms_phone = ?6, title = ?7
          WHERE e164 = ?1",
        params![
            e164.as_str(),
            s.forward_type,
            s.forward_to,
            s.sms_url,
            s.sms_email,
            s.sms_phone,
            s.title
        ],
    )
    .map(drop)
}

pub(crate) fn start_aging(conn: &Connection, e164: &E164, until: UnixTime) -> StoreResult<()> {
    sql::execute(
        conn,
        "UPDATE dids SET status = 'aging', aging_until = ?2 WHERE e164 = ?1 AND status = 'active'",
        params![e164.as_str(), until],
    )
    .map(drop)
}

pub(crate) fn reactivate(conn: &Connection, e164: &E164) -> StoreResult<()> {
    sql::execute(
        conn,
        "UPDATE dids SET status = 'active', aging_until = NULL WHERE e164 = ?1 AND status = 'aging'",
        [e164.as_str()],
    )
    .map(drop)
}

/// A new owner; the schema refuses one for a number nobody owns.
pub(crate) fn set_owner(conn: &Connection, e164: &E164, account_id: i64) -> StoreResult<()> {
    sql::execute(
        conn,
        "UPDATE dids SET account_id = ?2 WHERE e164 = ?1",
        params![e164.as_str(), account_id],
    )
    .map(drop)
}

/// Up to `limit` aging numbers whose aging ended by `now` (the
/// `dids_aging` index, oldest first), with their last owners.
pub(crate) fn aged(
    conn: &Connection,
    now: UnixTime,
    limit: u32,
) -> StoreResult<Vec<(E164, Option<i64>)>> {
    sql::all(
        conn,
        "SELECT e164, account_id FROM dids WHERE status = 'aging' AND aging_until <= ?1
          ORDER BY aging_until LIMIT ?2",
        params![now, limit],
        |r| Ok((parsed(r, 0, E164::parse)?, r.get(1)?)),
    )
}

/// An aging number back in stock with nothing of its last owner left.
pub(crate) fn return_to_stock(conn: &Connection, e164: &E164) -> StoreResult<bool> {
    let changed = sql::execute(
        conn,
        "UPDATE dids SET status = 'available', account_id = NULL, order_id = NULL, rate_plan_id = '',
                monthly100 = 0, setup100 = 0, title = '', forward_type = '', forward_to = '',
                sms_url = '', sms_email = '', sms_phone = '', ordered_at = NULL, aging_until = NULL
          WHERE e164 = ?1 AND status = 'aging'",
        [e164.as_str()],
    )?;
    Ok(changed == 1)
}

#[cfg(test)]
mod tests {
    use didgate_core::domain::{DidStatus, NumberState, ReservationId};
    use didgate_core::engine::NumberSettings;

    use crate::testing::{self, NOW, ParseE164, sell};

    fn settings(title: &str) -> NumberSettings {
        NumberSettings {
            forward_type: "PHONE".into(),
            forward_to: "12125559999".into(),
            sms_url: "https://example.com/sms".into(),
            sms_email: "sms@example.com".into(),
            sms_phone: "12125558888".into(),
            title: title.into(),
        }
    }

    #[test]
    fn assign_sells_an_available_number_once() {
        let (_dir, _path, mut db) = testing::catalog();
        let owner = testing::account(&mut db, "1000000001", 0);
        let e = "12125550001".parse_e164();
        let first = db
            .transact(|tx| sell(tx, &e, owner, settings("mine")))
            .unwrap();
        assert!(first);
        let second = db
            .transact(|tx| sell(tx, &e, owner, settings("again")))
            .unwrap();
        assert!(!second, "a sold number is refused");
        let n = db.read(|r| Ok(r.number(&e)?.unwrap())).unwrap();
        assert_eq!(n.state, NumberState::Active);
        assert_eq!(n.account_id, Some(owner));
        assert_eq!(n.settings, settings("mine"));
        assert_eq!(db.reader().counted_stock("ny-212").unwrap(), (9, 9));
    }

    #[test]
    fn assign_takes_a_reserved_number_out_of_its_reservation() {
        let (_dir, _path, mut db) = testing::catalog();
        let owner = testing::account(&mut db, "1000000001", 0);
        let e = "12125550002".parse_e164();
        let id = ReservationId::parse("rsv_0000000000000001").unwrap();
        db.transact(|tx| {
            tx.insert_reservation(&didgate_core::engine::NewReservation {
                id: &id,
                root_id: owner,
                account_id: owner,
                key_id: &testing::key_id(),
                expires_at: NOW + 60,
                at: NOW,
            })?;
            assert!(tx.hold(&e, &id)?);
            assert!(sell(tx, &e, owner, settings(""))?);
            Ok(())
        })
        .unwrap();
        let n = db.read(|r| Ok(r.number(&e)?.unwrap())).unwrap();
        assert_eq!((n.state, n.reservation_id), (NumberState::Active, None));
    }

    #[test]
    fn aging_reactivation_and_return_to_stock() {
        let (_dir, _path, mut db) = testing::catalog();
        let owner = testing::account(&mut db, "1000000001", 0);
        let e = "12125550003".parse_e164();
        db.transact(|tx| {
            sell(tx, &e, owner, settings("kept"))?;
            assert!(!tx.return_to_stock(&e)?, "only aging numbers return");
            tx.start_aging(&e, NOW + 10)?;
            tx.reactivate(&e)?;
            assert_eq!(tx.number(&e)?.unwrap().state, NumberState::Active);
            tx.start_aging(&e, NOW + 10)?;
            assert!(tx.aged(NOW + 9, 10)?.is_empty());
            assert_eq!(tx.aged(NOW + 10, 10)?, vec![(e.clone(), Some(owner))]);
            assert!(tx.return_to_stock(&e)?);
            Ok(())
        })
        .unwrap();
        let n = db.read(|r| Ok(r.number(&e)?.unwrap())).unwrap();
        assert_eq!(n.state, NumberState::Available);
        assert_eq!((n.account_id, n.aging_until), (None, None));
        assert_eq!(n.settings, NumberSettings::default(), "settings wiped");
        let did = db.read(|r| Ok(r.dids(std::slice::from_ref(&e))?)).unwrap();
        assert_eq!(did[0].rate_plan_id, "");
        assert_eq!(did[0].status, DidStatus::Available);
        assert_eq!(db.reader().counted_stock("ny-212").unwrap(), (10, 10));
    }

    #[test]
    fn lowest_available_is_the_stock_in_order() {
        let (_dir, _path, mut db) = testing::catalog();
        let owner = testing::account(&mut db, "1000000001", 0);
        let first = "12125550001".parse_e164();
        db.transact(|tx| sell(tx, &first, owner, settings("")))
            .unwrap();
        let got = db
            .read(|r| Ok(r.lowest_available(&testing::area(), 3)?))
            .unwrap();
        let want: Vec<_> = ["12125550002", "12125550003", "12125550004"]
            .map(|e| e.parse_e164())
            .into();
        assert_eq!(got, want);
        assert_eq!(db.read(|r| Ok(r.count_active_numbers(owner)?)).unwrap(), 1);
    }

    #[test]
    fn owners_settings_and_sweep_due_change_as_told() {
        let (_dir, _path, mut db) = testing::catalog();
        let a = testing::account(&mut db, "1000000001", 0);
        let b = testing::account(&mut db, "1000000002", 0);
        let e = "12125550004".parse_e164();
        db.transact(|tx| {
            sell(tx, &e, a, settings("one"))?;
            tx.set_settings(&e, &settings("two"))?;
            tx.set_owner(&e, b)?;
            assert!(!tx.sweep_due(NOW + 100)?);
            tx.start_aging(&e, NOW + 100)?;
            assert!(tx.sweep_due(NOW + 100)?);
            Ok(())
        })
        .unwrap();
        let n = db.read(|r| Ok(r.number(&e)?.unwrap())).unwrap();
        assert_eq!((n.account_id, n.settings.title.as_str()), (Some(b), "two"));
        // The schema refuses an owner for a number in stock.
        let stock = "12125550005".parse_e164();
        let refused = db.transact(|tx| Ok(tx.set_owner(&stock, a)?));
        assert!(matches!(
            refused,
            Err(didgate_core::Error::Store(
                didgate_core::StoreError::Constraint(_)
            ))
        ));
    }
}
