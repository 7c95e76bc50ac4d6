//! Reservations: numbers held for an account tree (a cart) until they
//! expire, are ordered or are canceled. A held number has status
//! `reserved` and names its reservation (a CHECK ties the two), which
//! takes it out of stock through the same triggers and indexes as a sale.

use didgate_core::domain::{AreaId, E164, ReservationId, UnixTime};
use didgate_core::engine::{NewReservation, ReservationRecord, ReservationState, StoreResult};
use rusqlite::{Connection, params};

use crate::sql::{self, parsed};

fn stored(state: ReservationState) -> &'static str {
    match state {
        ReservationState::Open => "open",
        ReservationState::Ordered => "ordered",
        ReservationState::Canceled => "canceled",
        ReservationState::Expired => "expired",
    }
}

fn state(stored: &str) -> Result<ReservationState, String> {
    match stored {
        "open" => Ok(ReservationState::Open),
        "ordered" => Ok(ReservationState::Ordered),
        "canceled" => Ok(ReservationState::Canceled),
        "expired" => Ok(ReservationState::Expired),
        _ => Err("is not a reservation state".into()),
    }
}

pub(crate) fn reservation(
    conn: &Connection,
    id: &ReservationId,
) -> StoreResult<Option<ReservationRecord>> {
    sql::optional(
        conn,
        "SELECT root_id, account_id, state, expires_at FROM reservations WHERE id = ?1",
        [id.as_str()],
        |r| {
            Ok(ReservationRecord {
                id: id.clone(),
                root_id: r.get(0)?,
                account_id: r.get(1)?,
                state: parsed(r, 2, state)?,
                expires_at: r.get(3)?,
            })
        },
    )
}

/// The account's newest reservation that is open and unexpired at `now`.
pub(crate) fn newest_open_reservation(
    conn: &Connection,
    account_id: i64,
    now: UnixTime,
) -> StoreResult<Option<ReservationId>> {
    sql::optional(
        conn,
        "SELECT id FROM reservations WHERE account_id = ?1 AND state = 'open' AND expires_at > ?2
          ORDER BY created_at DESC, id LIMIT 1",
        params![account_id, now],
        |r| parsed(r, 0, ReservationId::parse),
    )
}

/// The numbers a reservation holds, with their areas, in E.164 order.
pub(crate) fn held(conn: &Connection, id: &ReservationId) -> StoreResult<Vec<(E164, AreaId)>> {
    sql::all(
        conn,
        "SELECT e164, area_id FROM dids WHERE reservation_id = ?1 ORDER BY e164",
        [id.as_str()],
        |r| Ok((parsed(r, 0, E164::parse)?, parsed(r, 1, AreaId::parse)?)),
    )
}

/// A taken id is [`didgate_core::StoreError::Duplicate`] (the primary key).
pub(crate) fn insert_reservation(conn: &Connection, r: &NewReservation<'_>) -> StoreResult<()> {
    sql::execute(
        conn,
        "INSERT INTO reservations (id, root_id, account_id, key_id, expires_at, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            r.id.as_str(),
            r.root_id,
            r.account_id,
            r.key_id.as_str(),
            r.expires_at,
            r.at
        ],
    )
    .map(drop)
}

pub(crate) fn set_reservation_expiry(
    conn: &Connection,
    id: &ReservationId,
    at: UnixTime,
) -> StoreResult<()> {
    sql::execute(
        conn,
        "UPDATE reservations SET expires_at = ?2 WHERE id = ?1",
        params![id.as_str(), at],
    )
    .map(drop)
}

pub(crate) fn set_reservation_state(
    conn: &Connection,
    id: &ReservationId,
    to: ReservationState,
    order_id: Option<i64>,
) -> StoreResult<()> {
    sql::execute(
        conn,
        "UPDATE reservations SET state = ?2, order_id = ?3 WHERE id = ?1",
        params![id.as_str(), stored(to), order_id],
    )
    .map(drop)
}

/// An available number held by a reservation; `false` if it was not
/// available.
pub(crate) fn hold(conn: &Connection, e164: &E164, id: &ReservationId) -> StoreResult<bool> {
    let changed = sql::execute(
        conn,
        "UPDATE dids SET status = 'reserved', reservation_id = ?2
          WHERE e164 = ?1 AND status = 'available'",
        params![e164.as_str(), id.as_str()],
    )?;
    Ok(changed == 1)
}

/// A reservation's numbers back in stock; how many.
pub(crate) fn release(conn: &Connection, id: &ReservationId) -> StoreResult<u64> {
    let changed = sql::execute(
        conn,
        "UPDATE dids SET status = 'available', reservation_id = NULL
          WHERE reservation_id = ?1 AND status = 'reserved'",
        [id.as_str()],
    )?;
    Ok(changed as u64)
}

/// Up to `limit` open reservations that expired by `now`, oldest first
/// (the `reservations_open` index).
pub(crate) fn expired_reservations(
    conn: &Connection,
    now: UnixTime,
    limit: u32,
) -> StoreResult<Vec<ReservationId>> {
    sql::all(
        conn,
        "SELECT id FROM reservations WHERE state = 'open' AND expires_at <= ?1
          ORDER BY expires_at LIMIT ?2",
        params![now, limit],
        |r| parsed(r, 0, ReservationId::parse),
    )
}

#[cfg(test)]
mod tests {
    use didgate_core::domain::{KeyId, NumberState, ReservationId};
    use didgate_core::engine::{NewReservation, ReservationState};
    use didgate_core::{Error, StoreError};

    use crate::testing::{self, NOW, ParseE164};

    fn new<'a>(id: &'a ReservationId, key: &'a KeyId, account: i64, at: i64) -> NewReservation<'a> {
        NewReservation {
            id,
            root_id: account,
            account_id: account,
            key_id: key,
            expires_at: at,
            at: NOW,
        }
    }

    #[test]
    fn hold_takes_only_available_numbers_and_release_returns_them() {
        let (_dir, _path, mut db) = testing::catalog();
        let owner = testing::account(&mut db, "1000000001", 0);
        let key = testing::key_id();
        let (a, b) = (
            ReservationId::parse("rsv_00000000000000aa").unwrap(),
            ReservationId::parse("rsv_00000000000000bb").unwrap(),
        );
        let (one, two, sold) = (
            "12125550001".parse_e164(),
            "12125550002".parse_e164(),
            "12125550003".parse_e164(),
        );
        db.transact(|tx| {
            tx.insert_reservation(&new(&a, &key, owner, NOW + 60))?;
            tx.insert_reservation(&new(&b, &key, owner, NOW + 60))?;
            testing::sell(tx, &sold, owner, Default::default())?;
            assert!(tx.hold(&one, &a)?);
            assert!(tx.hold(&two, &a)?);
            assert!(!tx.hold(&one, &b)?, "held by another reservation");
            assert!(!tx.hold(&sold, &b)?, "sold");
            Ok(())
        })
        .unwrap();
        let held = db.read(|r| Ok(r.held(&a)?)).unwrap();
        assert_eq!(
            held,
            vec![(one.clone(), testing::area()), (two, testing::area())]
        );
        assert_eq!(db.reader().counted_stock("ny-212").unwrap(), (7, 7));
        assert_eq!(db.transact(|tx| Ok(tx.release(&a)?)).unwrap(), 2);
        let n = db.read(|r| Ok(r.number(&one)?.unwrap())).unwrap();
        assert_eq!((n.state, n.reservation_id), (NumberState::Available, None));
        assert_eq!(db.reader().counted_stock("ny-212").unwrap(), (9, 9));
    }

    #[test]
    fn reservations_expire_change_state_and_keep_their_ids_unique() {
        let (_dir, _path, mut db) = testing::catalog();
        let owner = testing::account(&mut db, "1000000001", 0);
        let key = testing::key_id();
        let (old, late) = (
            ReservationId::parse("rsv_0000000000000001").unwrap(),
            ReservationId::parse("rsv_0000000000000002").unwrap(),
        );
        db.transact(|tx| {
            tx.insert_reservation(&new(&old, &key, owner, NOW + 10))?;
            tx.insert_reservation(&new(&late, &key, owner, NOW + 20))?;
            Ok(())
        })
        .unwrap();
        let again = db.transact(|tx| Ok(tx.insert_reservation(&new(&old, &key, owner, NOW))?));
        assert!(matches!(again, Err(Error::Store(StoreError::Duplicate(_)))));
        let newest = db.read(|r| Ok(r.newest_open_reservation(owner, NOW + 15)?));
        assert_eq!(newest.unwrap(), Some(late.clone()));
        let due = db.transact(|tx| Ok(tx.expired_reservations(NOW + 20, 10)?));
        assert_eq!(due.unwrap(), vec![old.clone(), late.clone()]);
        db.transact(|tx| {
            tx.set_reservation_expiry(&late, NOW + 100)?;
            tx.set_reservation_state(&old, ReservationState::Expired, None)?;
            Ok(())
        })
        .unwrap();
        let (o, l) = db
            .read(|r| {
                Ok((
                    r.reservation(&old)?.unwrap(),
                    r.reservation(&late)?.unwrap(),
                ))
            })
            .unwrap();
        assert_eq!(
            (o.state, o.expires_at),
            (ReservationState::Expired, NOW + 10)
        );
        assert_eq!(
            (l.state, l.expires_at, l.root_id),
            (ReservationState::Open, NOW + 100, owner)
        );
        assert!(!db.read(|r| Ok(r.sweep_due(NOW + 99)?)).unwrap());
        assert!(db.read(|r| Ok(r.sweep_due(NOW + 100)?)).unwrap());
    }
}
