//! `available_matching`: the lowest available numbers of an area whose
//! national part contains a `CONTAINS` pattern, through an area snapshot
//! where one is at hand (see `snapshot.rs`), else by scanning the area's
//! stock.

use didgate_core::domain::{AreaId, ContainsPattern, E164, national_number};
use didgate_core::engine::StoreResult;
use rusqlite::{Connection, OptionalExtension};

use crate::classify::Classified;
use crate::snapshot::SnapshotCache;
use crate::sql::{self, parsed};

/// Which snapshots a session may use.
#[derive(Clone, Copy)]
pub(crate) enum Snapshots<'c> {
    /// A read thread's: the shared cache, building a missing or stale
    /// snapshot (one build at a time).
    Build(&'c SnapshotCache),
    /// The writer's: a snapshot the readers built, when it is current;
    /// otherwise a scan, because building one (about 400 ms for a million
    /// numbers) would hold every queued order back.
    IfCurrent(&'c SnapshotCache),
    /// A one-off connection (the CLI, tests): a scan, since a snapshot
    /// would be thrown away after one use.
    None,
}

pub(crate) fn available_matching(
    conn: &Connection,
    snapshots: Snapshots<'_>,
    area: &AreaId,
    pattern: &ContainsPattern,
    limit: u32,
) -> StoreResult<Vec<E164>> {
    let Some(count) = numbers_of(conn, area)? else {
        return Ok(Vec::new());
    };
    let snapshot = match snapshots {
        Snapshots::Build(cache) => Some(cache.snapshot(conn, area, count)?),
        Snapshots::IfCurrent(cache) => cache.current(area, count),
        Snapshots::None => None,
    };
    let Some(snapshot) = snapshot else {
        return scan_stock(conn, area, pattern, limit);
    };
    // The snapshot holds every number of the area, sold or not: SQLite
    // says which candidates are still available, in this transaction.
    let mut status = conn
        .prepare_cached("SELECT status = 'available' FROM dids WHERE e164 = ?1")
        .classified()?;
    let found = snapshot.matches(pattern, limit as usize, |e164| {
        status
            .query_row([e164], |r| r.get::<_, bool>(0))
            .optional()
            .classified()
            .map(|available| available.unwrap_or(false))
    })?;
    found
        .iter()
        .map(|e| E164::parse(e).map_err(didgate_core::StoreError::Internal))
        .collect()
}

/// `areas.numbers`: what a snapshot of the area must have been built at.
fn numbers_of(conn: &Connection, area: &AreaId) -> StoreResult<Option<i64>> {
    sql::optional(
        conn,
        "SELECT numbers FROM areas WHERE id = ?1",
        [area.as_str()],
        |r| r.get(0),
    )
}

/// Walks the area's stock (the `(area, 'available')` range of
/// `dids_area`, in E.164 order) until `limit` numbers match.
fn scan_stock(
    conn: &Connection,
    area: &AreaId,
    pattern: &ContainsPattern,
    limit: u32,
) -> StoreResult<Vec<E164>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT e164 FROM dids WHERE area_id = ?1 AND status = 'available' ORDER BY e164",
        )
        .classified()?;
    let mut rows = stmt.query([area.as_str()]).classified()?;
    let mut found = Vec::new();
    while found.len() < limit as usize {
        let Some(row) = rows.next().classified()? else {
            break;
        };
        let e164: &str = row.get_ref(0).and_then(|v| Ok(v.as_str()?)).classified()?;
        if pattern.matches(national_number(e164).as_bytes()) {
            found.push(parsed(row, 0, E164::parse).classified()?);
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use didgate_core::domain::{AreaId, ContainsPattern, E164};
    use rusqlite::Connection;

    use super::*;
    use crate::testing::{self, ParseE164};

    fn search(conn: &Connection, mode: Snapshots<'_>, pattern: &str) -> Vec<String> {
        let p = ContainsPattern::parse(pattern).unwrap();
        available_matching(conn, mode, &testing::area(), &p, 3)
            .unwrap()
            .into_iter()
            .map(|e: E164| e.to_string())
            .collect()
    }

    #[test]
    fn snapshots_and_scans_agree_and_stale_snapshots_are_rebuilt() {
        let (_dir, _path, mut db) = testing::catalog();
        let owner = testing::account(&mut db, "1000000001", 0);
        db.transact(|tx| testing::sell(tx, &"12125550002".parse_e164(), owner, Default::default()))
            .unwrap();
        let cache = SnapshotCache::default();
        let want = ["12125550001", "12125550003", "12125550004"];
        assert_eq!(search(&db.conn, Snapshots::None, "5550"), want);
        assert_eq!(search(&db.conn, Snapshots::IfCurrent(&cache), "5550"), want);
        assert_eq!(search(&db.conn, Snapshots::Build(&cache), "5550"), want);
        assert!(
            cache.current(&testing::area(), 10).is_some(),
            "built and kept"
        );
        assert_eq!(
            search(&db.conn, Snapshots::IfCurrent(&cache), "0010"),
            ["12125550010"]
        );
        let more = [testing::number("12125550011", "ny-212")];
        db.import(&[], more.into_iter().map(Ok), |_| {}).unwrap();
        // The cached snapshot is stale: the writer scans, a reader rebuilds.
        assert_eq!(
            search(&db.conn, Snapshots::IfCurrent(&cache), "0011"),
            ["12125550011"]
        );
        assert!(cache.current(&testing::area(), 11).is_none());
        assert_eq!(
            search(&db.conn, Snapshots::Build(&cache), "0011"),
            ["12125550011"]
        );
        assert!(cache.current(&testing::area(), 11).is_some());
        let nowhere = AreaId::parse("nowhere").unwrap();
        let p = ContainsPattern::parse("1").unwrap();
        assert!(
            available_matching(&db.conn, Snapshots::Build(&cache), &nowhere, &p, 3)
                .unwrap()
                .is_empty()
        );
    }
}
