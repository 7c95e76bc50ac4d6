//! The inventory import: the catalog upserted and new numbers inserted,
//! in one transaction, a hundred numbers per statement.
//!
//! Numbers have no insert trigger (a per-row trigger doubled the import's
//! cost); the import, the only code that inserts numbers, recounts `stock`
//! and `numbers` of the areas it touched in the same transaction.

use std::collections::HashSet;

use didgate_core::domain::{AreaId, CountryId, DidType, E164, Money100, RatePlanId};
use didgate_core::{Error, ParamError};
use rusqlite::{Connection, Statement, Transaction, TransactionBehavior, params};

use crate::classify::Classified;

/// One row of `catalog.csv`, already parsed.
#[derive(Debug, Clone)]
pub struct CatalogRow {
    pub country_id: CountryId,
    pub country_name: String,
    /// `(state_id, state_name, state_code)`, absent for countries without states.
    pub state: Option<(String, String, String)>,
    pub area_id: AreaId,
    pub area_name: String,
    pub area_code: String,
    pub did_type: DidType,
    pub rate_plan_id: RatePlanId,
    pub rate_plan_name: String,
    pub monthly: Money100,
    pub setup: Money100,
}

/// One row of `numbers.csv`, with where it came from for error messages.
#[derive(Debug, Clone)]
pub struct NumberRow {
    pub e164: E164,
    pub area_id: AreaId,
    /// `file:line`, named in the error if the row is refused.
    pub origin: String,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ImportStats {
    pub catalog_rows: u64,
    pub numbers_read: u64,
    pub numbers_added: u64,
}

/// Numbers inserted by one statement: one statement execution per row
/// was a third of the import's time.
const BATCH: usize = 100;

pub(crate) fn import(
    conn: &mut Connection,
    catalog: &[CatalogRow],
    numbers: impl Iterator<Item = Result<NumberRow, Error>>,
    progress: impl FnMut(u64),
) -> Result<ImportStats, Error> {
    // A 16 MB page cache (the default is 2 MB) keeps the hot B-tree pages
    // of a big import in memory; measured, a larger one is no faster and
    // costs resident memory.
    conn.pragma_update(None, "cache_size", -16_384)
        .classified()?;
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .classified()?;
    upsert_catalog(&tx, catalog).classified()?;
    let mut stats = ImportStats {
        catalog_rows: catalog.len() as u64,
        ..ImportStats::default()
    };
    let touched = insert_numbers(&tx, numbers, progress, &mut stats)?;
    recount(&tx, &touched).classified()?;
    tx.commit().classified()?;
    Ok(stats)
}

/// Each statement writes only when something differs, so re-importing
/// the same catalog writes nothing.
fn upsert_catalog(tx: &Transaction<'_>, catalog: &[CatalogRow]) -> rusqlite::Result<()> {
    let mut country = tx.prepare(
        "INSERT INTO countries (id, name) VALUES (?1, ?2)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name WHERE name <> excluded.name",
    )?;
    let mut state = tx.prepare(
        "INSERT INTO states (id, country_id, name, code) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (id) DO UPDATE SET country_id = excluded.country_id, name = excluded.name,
                code = excluded.code
          WHERE (country_id, name, code) IS NOT (excluded.country_id, excluded.name, excluded.code)",
    )?;
    let mut area = tx.prepare(
        "INSERT INTO areas (id, country_id, state_id, name, area_code, did_type)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (id) DO UPDATE SET country_id = excluded.country_id,
                state_id = excluded.state_id, name = excluded.name,
                area_code = excluded.area_code, did_type = excluded.did_type
          WHERE (country_id, state_id, name, area_code, did_type) IS NOT
                (excluded.country_id, excluded.state_id, excluded.name, excluded.area_code, excluded.did_type)",
    )?;
    let mut plan = tx.prepare(
        "INSERT INTO rate_plans (id, name) VALUES (?1, ?2)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name WHERE name <> excluded.name",
    )?;
    let mut price = tx.prepare(
        "INSERT INTO area_rate_plans (area_id, rate_plan_id, monthly100, setup100) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (area_id, rate_plan_id) DO UPDATE SET monthly100 = excluded.monthly100,
                setup100 = excluded.setup100
          WHERE (monthly100, setup100) IS NOT (excluded.monthly100, excluded.setup100)",
    )?;
    for row in catalog {
        let country_id = row.country_id.as_str();
        country.execute(params![country_id, row.country_name])?;
        if let Some((id, name, code)) = &row.state {
            state.execute(params![id, country_id, name, code])?;
        }
        let state_id = row.state.as_ref().map(|(id, _, _)| id.as_str());
        let (name, code, kind) = (&row.area_name, &row.area_code, row.did_type.as_str());
        area.execute(params![
            row.area_id.as_str(),
            country_id,
            state_id,
            name,
            code,
            kind
        ])?;
        plan.execute(params![row.rate_plan_id.as_str(), row.rate_plan_name])?;
        let (monthly, setup) = (row.monthly.0, row.setup.0);
        price.execute(params![
            row.area_id.as_str(),
            row.rate_plan_id.as_str(),
            monthly,
            setup
        ])?;
    }
    Ok(())
}

/// An insert of `rows` numbers that skips numbers already known.
fn insert_sql(rows: usize) -> String {
    let mut sql = String::from("INSERT INTO dids (e164, area_id) VALUES ");
    for i in 0..rows {
        if i > 0 {
            sql.push(',');
        }
        sql.push_str(&format!("(?{}, ?{})", 2 * i + 1, 2 * i + 2));
    }
    sql.push_str(" ON CONFLICT (e164) DO NOTHING");
    sql
}

/// Inserts the numbers by the hundred; the areas that may have received
/// some. A number of an area the catalog lacks refuses the whole import.
fn insert_numbers(
    tx: &Transaction<'_>,
    numbers: impl Iterator<Item = Result<NumberRow, Error>>,
    mut progress: impl FnMut(u64),
    stats: &mut ImportStats,
) -> Result<HashSet<AreaId>, Error> {
    let known_areas: HashSet<String> = tx
        .prepare("SELECT id FROM areas")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .classified()?;
    let mut batch: Vec<NumberRow> = Vec::with_capacity(BATCH);
    let mut full = tx.prepare(&insert_sql(BATCH)).classified()?;
    let mut touched = HashSet::new();
    for row in numbers {
        let row = row?;
        if !known_areas.contains(row.area_id.as_str()) {
            return Err(ParamError::Invalid {
                name: "area_id",
                reason: format!("{} at {} is not in the catalog", row.area_id, row.origin),
            }
            .into());
        }
        batch.push(row);
        stats.numbers_read += 1;
        if batch.len() == BATCH {
            stats.numbers_added += flush(&mut batch, &mut full, &mut touched)?;
        }
        if stats.numbers_read % 10_000 == 0 {
            progress(stats.numbers_read);
        }
    }
    if !batch.is_empty() {
        let mut rest = tx.prepare(&insert_sql(batch.len())).classified()?;
        stats.numbers_added += flush(&mut batch, &mut rest, &mut touched)?;
    }
    progress(stats.numbers_read);
    Ok(touched)
}

/// Inserts `batch` with `stmt` (made for its length); how many were new.
fn flush(
    batch: &mut Vec<NumberRow>,
    stmt: &mut Statement<'_>,
    touched: &mut HashSet<AreaId>,
) -> Result<u64, Error> {
    let values = batch
        .iter()
        .flat_map(|r| [r.e164.as_str(), r.area_id.as_str()]);
    let added = stmt
        .execute(rusqlite::params_from_iter(values))
        .classified()? as u64;
    // Which rows were new is not known per row; recounting an area that
    // got none is harmless.
    if added > 0 {
        for r in batch.iter() {
            if !touched.contains(&r.area_id) {
                touched.insert(r.area_id.clone());
            }
        }
    }
    batch.clear();
    Ok(added)
}

/// Brings `stock` and `numbers` of `areas` up to date from their numbers.
fn recount(tx: &Transaction<'_>, areas: &HashSet<AreaId>) -> rusqlite::Result<()> {
    let mut recount = tx.prepare(
        "UPDATE areas SET
            stock = (SELECT count(*) FROM dids WHERE area_id = ?1 AND status = 'available'),
            numbers = (SELECT count(*) FROM dids WHERE area_id = ?1)
          WHERE id = ?1",
    )?;
    for area in areas {
        recount.execute([area.as_str()])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use didgate_core::Error;

    use crate::testing::{self, number};

    #[test]
    fn re_importing_changes_nothing_and_new_numbers_are_counted() {
        let (_dir, _path, mut db) = testing::catalog();
        let changes = |db: &crate::Db| db.conn.total_changes();
        let before = changes(&db);
        let again = (1..=10).map(|i| Ok(number(&format!("121255500{i:02}"), "ny-212")));
        let stats = db.import(&[], again, |_| {}).unwrap();
        assert_eq!((stats.numbers_read, stats.numbers_added), (10, 0));
        assert_eq!(changes(&db), before, "nothing written");
        let more = (11..=250).map(|i| Ok(number(&format!("12125550{i:03}"), "ny-212")));
        let mut heard = Vec::new();
        let stats = db.import(&[], more, |n| heard.push(n)).unwrap();
        assert_eq!((stats.numbers_read, stats.numbers_added), (240, 240));
        assert_eq!(heard.last(), Some(&240));
        assert_eq!(db.reader().counted_stock("ny-212").unwrap(), (250, 250));
        let numbers: i64 = db
            .conn
            .query_row("SELECT numbers FROM areas WHERE id = 'ny-212'", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(numbers, 250);
    }

    #[test]
    fn a_bad_row_leaves_the_database_as_it_was() {
        let (_dir, _path, mut db) = testing::catalog();
        let rows = vec![
            Ok(number("12125559001", "ny-212")),
            Ok(number("12125559002", "nowhere")),
        ];
        let refused = db.import(&[], rows.into_iter(), |_| {});
        assert!(matches!(refused, Err(Error::Param(_))), "{refused:?}");
        let failing = vec![
            Ok(number("12125559001", "ny-212")),
            Err(Error::Input("numbers.csv:2: bad".into())),
        ];
        assert!(db.import(&[], failing.into_iter(), |_| {}).is_err());
        assert_eq!(db.reader().counted_stock("ny-212").unwrap(), (10, 10));
    }
}
