//! Loading the catalog and numbers in one transaction.

use std::collections::HashSet;

use rusqlite::{TransactionBehavior, params};

use super::Db;
use crate::domain::{AreaId, CountryId, DidType, E164, Money100, RatePlanId};
use crate::error::Error;

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

/// Numbers inserted by one statement.
const BATCH: usize = 100;

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

impl Db {
    /// Upserts the catalog and inserts the numbers not yet known, in one
    /// transaction: any error (from `numbers` or from a row) leaves the
    /// database as it was. Re-importing the same data writes nothing.
    pub fn import(
        &mut self,
        catalog: &[CatalogRow],
        numbers: impl Iterator<Item = Result<NumberRow, Error>>,
        mut progress: impl FnMut(u64),
    ) -> Result<ImportStats, Error> {
        // A 16 MB page cache (the default is 2 MB) keeps the hot B-tree
        // pages of a big import in memory; measured, a larger one is no
        // faster and costs resident memory.
        self.conn.pragma_update(None, "cache_size", -16_384)?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut stats = ImportStats {
            catalog_rows: catalog.len() as u64,
            ..Default::default()
        };
        {
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
                country.execute(params![row.country_id.as_str(), row.country_name])?;
                let state_id = row.state.as_ref().map(|(id, _, _)| id.as_str());
                if let Some((id, name, code)) = &row.state {
                    state.execute(params![id, row.country_id.as_str(), name, code])?;
                }
                area.execute(params![
                    row.area_id.as_str(),
                    row.country_id.as_str(),
                    state_id,
                    row.area_name,
                    row.area_code,
                    row.did_type.as_str()
                ])?;
                plan.execute(params![row.rate_plan_id.as_str(), row.rate_plan_name])?;
                price.execute(params![
                    row.area_id.as_str(),
                    row.rate_plan_id.as_str(),
                    row.monthly.0,
                    row.setup.0
                ])?;
            }
        }
        {
            let known_areas: HashSet<String> = tx
                .prepare("SELECT id FROM areas")?
                .query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            // Rows go in by the hundred: one statement execution per batch
            // instead of per row (the per-execution work was a third of the
            // import's time).
            let mut batch: Vec<NumberRow> = Vec::with_capacity(BATCH);
            let mut full = tx.prepare(&insert_sql(BATCH))?;
            let mut touched: HashSet<String> = HashSet::new();
            let mut flush = |batch: &mut Vec<NumberRow>,
                             stmt: &mut rusqlite::Statement<'_>|
             -> Result<u64, Error> {
                let values: Vec<&str> = batch
                    .iter()
                    .flat_map(|r| [r.e164.as_str(), r.area_id.as_str()])
                    .collect();
                let added = stmt.execute(rusqlite::params_from_iter(values))? as u64;
                // Which rows were new is not known per row; recounting an
                // area that got none is harmless.
                if added > 0 {
                    for r in batch.iter() {
                        if !touched.contains(r.area_id.as_str()) {
                            touched.insert(r.area_id.to_string());
                        }
                    }
                }
                batch.clear();
                Ok(added)
            };
            for row in numbers {
                let row = row?;
                if !known_areas.contains(row.area_id.as_str()) {
                    return Err(crate::error::ParamError::Invalid {
                        name: "area_id",
                        reason: format!("{} at {} is not in the catalog", row.area_id, row.origin),
                    }
                    .into());
                }
                batch.push(row);
                stats.numbers_read += 1;
                if batch.len() == BATCH {
                    stats.numbers_added += flush(&mut batch, &mut full)?;
                }
                if stats.numbers_read % 10_000 == 0 {
                    progress(stats.numbers_read);
                }
            }
            if !batch.is_empty() {
                let mut rest = tx.prepare(&insert_sql(batch.len()))?;
                stats.numbers_added += flush(&mut batch, &mut rest)?;
            }
            progress(stats.numbers_read);
            // Inserts have no trigger (see schema.sql): bring the counters
            // of every area that received numbers up to date here.
            let mut recount = tx.prepare(
                "UPDATE areas SET
                    stock = (SELECT count(*) FROM dids WHERE area_id = ?1 AND status = 'available'),
                    numbers = (SELECT count(*) FROM dids WHERE area_id = ?1)
                  WHERE id = ?1",
            )?;
            for area in &touched {
                recount.execute([area])?;
            }
        }
        tx.commit()?;
        Ok(stats)
    }
}
