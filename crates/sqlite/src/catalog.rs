//! Read queries over the catalog: countries, states, areas and the plans
//! they offer.

use didgate_core::domain::{
    Area, AreaCode, AreaId, Country, CountryId, DidType, Money100, RatePlan, State,
};
use didgate_core::engine::{AreaRecord, StoreResult};
use rusqlite::{Connection, Row, params};

use crate::classify::Classified;
use crate::sql::{self, parsed};

/// Countries with at least one area (of `did_type`, when given).
pub(crate) fn countries(conn: &Connection, did_type: Option<DidType>) -> StoreResult<Vec<Country>> {
    sql::all(
        conn,
        "SELECT c.id, c.name, EXISTS (SELECT 1 FROM states s WHERE s.country_id = c.id),
                c.is_fax, c.is_sms
           FROM countries c
          WHERE EXISTS (SELECT 1 FROM areas a WHERE a.country_id = c.id
                          AND (?1 IS NULL OR a.did_type = ?1))
          ORDER BY c.name, c.id",
        [did_type.map(DidType::as_str)],
        |r| {
            Ok(Country {
                id: r.get(0)?,
                name: r.get(1)?,
                has_states: r.get(2)?,
                is_fax: r.get(3)?,
                is_sms: r.get(4)?,
            })
        },
    )
}

pub(crate) fn country_exists(conn: &Connection, id: &CountryId) -> StoreResult<bool> {
    sql::one(
        conn,
        "SELECT EXISTS (SELECT 1 FROM countries WHERE id = ?1)",
        [id.as_str()],
        |r| r.get(0),
    )
}

/// The states of a country (those with an area of `did_type`, when given).
pub(crate) fn states(
    conn: &Connection,
    country: &CountryId,
    did_type: Option<DidType>,
) -> StoreResult<Vec<State>> {
    sql::all(
        conn,
        "SELECT s.id, s.name, s.code FROM states s
          WHERE s.country_id = ?1
            AND (?2 IS NULL OR EXISTS (SELECT 1 FROM areas a WHERE a.state_id = s.id AND a.did_type = ?2))
          ORDER BY s.name, s.id",
        params![country.as_str(), did_type.map(DidType::as_str)],
        |r| {
            Ok(State {
                id: r.get(0)?,
                name: r.get(1)?,
                code: r.get(2)?,
            })
        },
    )
}

pub(crate) fn state_country(conn: &Connection, state_id: &str) -> StoreResult<Option<String>> {
    sql::optional(
        conn,
        "SELECT country_id FROM states WHERE id = ?1",
        [state_id],
        |r| r.get(0),
    )
}

/// Areas of a country and/or state (of `did_type`), by name then id, with
/// stock and plans: one query, the plans joined in.
pub(crate) fn areas(
    conn: &Connection,
    country: Option<&CountryId>,
    state: Option<&str>,
    did_type: Option<DidType>,
) -> StoreResult<Vec<Area>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT a.id, a.name, a.area_code, a.did_type, a.country_id, a.state_id, a.stock,
                    p.rate_plan_id, rp.name, p.monthly100, p.setup100
               FROM areas a
               LEFT JOIN area_rate_plans p ON p.area_id = a.id
               LEFT JOIN rate_plans rp ON rp.id = p.rate_plan_id
              WHERE (?1 IS NULL OR a.country_id = ?1)
                AND (?2 IS NULL OR a.state_id = ?2)
                AND (?3 IS NULL OR a.did_type = ?3)
              ORDER BY a.name, a.id, p.rate_plan_id",
        )
        .classified()?;
    let mut rows = stmt
        .query(params![
            country.map(CountryId::as_str),
            state,
            did_type.map(DidType::as_str)
        ])
        .classified()?;
    let mut areas: Vec<Area> = Vec::new();
    while let Some(r) = rows.next().classified()? {
        let id: String = r.get(0).classified()?;
        if areas.last().is_none_or(|a| a.id != id) {
            areas.push(Area {
                id,
                name: r.get(1).classified()?,
                area_code: r.get(2).classified()?,
                did_type: parsed(r, 3, DidType::parse).classified()?,
                country_id: r.get(4).classified()?,
                state_id: r.get(5).classified()?,
                stock: r.get(6).classified()?,
                rate_plans: Vec::new(),
            });
        }
        if let Some(plan) = plan_at(r, 7).classified()? {
            areas
                .last_mut()
                .expect("pushed above")
                .rate_plans
                .push(plan);
        }
    }
    Ok(areas)
}

/// The plan in columns `at..at + 4` (id, name, monthly, setup) of a row
/// that left-joins the area's plans; `None` for an area without plans.
fn plan_at(r: &Row<'_>, at: usize) -> rusqlite::Result<Option<RatePlan>> {
    let Some(id) = r.get::<_, Option<String>>(at)? else {
        return Ok(None);
    };
    Ok(Some(RatePlan {
        id,
        name: r.get(at + 1)?,
        monthly: Money100(r.get(at + 2)?),
        setup: Money100(r.get(at + 3)?),
    }))
}

/// The query of area records with their plans, for one `WHERE` clause.
macro_rules! area_records_sql {
    ($where:literal) => {
        concat!(
            "SELECT a.id, a.did_type, a.name, a.area_code, c.name,
                    p.rate_plan_id, rp.name, p.monthly100, p.setup100
               FROM areas a
               JOIN countries c ON c.id = a.country_id
               LEFT JOIN area_rate_plans p ON p.area_id = a.id
               LEFT JOIN rate_plans rp ON rp.id = p.rate_plan_id
              WHERE ",
            $where,
            " ORDER BY a.id, p.rate_plan_id"
        )
    };
}

pub(crate) fn area(conn: &Connection, id: &AreaId) -> StoreResult<Option<AreaRecord>> {
    let found = area_records(conn, area_records_sql!("a.id = ?1"), [id.as_str()])?;
    Ok(found.into_iter().next())
}

/// Areas of a country with this area code, by id.
pub(crate) fn areas_with_code(
    conn: &Connection,
    country: &CountryId,
    code: &AreaCode,
) -> StoreResult<Vec<AreaRecord>> {
    area_records(
        conn,
        area_records_sql!("a.country_id = ?1 AND a.area_code = ?2"),
        [country.as_str(), code.as_str()],
    )
}

/// Runs an [`area_records_sql`] query, folding each area's plan rows
/// into one record.
fn area_records(
    conn: &Connection,
    query: &str,
    params: impl rusqlite::Params,
) -> StoreResult<Vec<AreaRecord>> {
    let mut stmt = conn.prepare_cached(query).classified()?;
    let mut rows = stmt.query(params).classified()?;
    let mut found: Vec<AreaRecord> = Vec::new();
    while let Some(r) = rows.next().classified()? {
        let id = parsed(r, 0, AreaId::parse).classified()?;
        if found.last().is_none_or(|a| a.id != id) {
            found.push(AreaRecord {
                id,
                did_type: parsed(r, 1, DidType::parse).classified()?,
                name: r.get(2).classified()?,
                area_code: r.get(3).classified()?,
                country_name: r.get(4).classified()?,
                plans: Vec::new(),
            });
        }
        if let Some(plan) = plan_at(r, 5).classified()? {
            found.last_mut().expect("pushed above").plans.push(plan);
        }
    }
    Ok(found)
}

/// Every area's stock (the maintained counter), by id.
pub(crate) fn stock_by_area(conn: &Connection) -> StoreResult<Vec<(String, i64)>> {
    sql::all(conn, "SELECT id, stock FROM areas ORDER BY id", [], |r| {
        Ok((r.get(0)?, r.get(1)?))
    })
}

#[cfg(test)]
mod tests {
    use didgate_core::domain::{AreaCode, AreaId, CountryId, DidType, Money100};

    use crate::testing;

    #[test]
    fn the_catalog_reads_back_by_name_and_id() {
        let (_dir, _path, db) = testing::catalog();
        let us = CountryId::parse("us").unwrap();
        db.read(|r| {
            let countries = r.countries(None)?;
            assert_eq!(countries.len(), 1);
            assert!(countries[0].has_states);
            assert!(r.countries(Some(DidType::Mobile))?.is_empty());
            assert!(r.country_exists(&us)?);
            assert!(!r.country_exists(&CountryId::parse("FR").unwrap())?);
            assert_eq!(r.states(&us, None)?.len(), 1);
            assert!(r.states(&us, Some(DidType::TollFree))?.is_empty());
            assert_eq!(r.state_country("US-NY")?.as_deref(), Some("US"));
            assert_eq!(r.state_country("US-CA")?, None);
            let areas = r.areas(Some(&us), None, None)?;
            let names: Vec<&str> = areas.iter().map(|a| a.name.as_str()).collect();
            assert_eq!(names, ["New York", "Toll free"]);
            let plans: Vec<&str> = areas[0].rate_plans.iter().map(|p| p.id.as_str()).collect();
            assert_eq!(plans, ["PR", "SU"]);
            assert_eq!(areas[0].stock, 10);
            assert_eq!(
                r.areas(None, Some("US-NY"), Some(DidType::TollFree))?.len(),
                0
            );
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn area_records_carry_every_plan_by_id() {
        let (_dir, _path, db) = testing::catalog();
        let us = CountryId::parse("US").unwrap();
        let (one, by_code, none) = db
            .read(|r| {
                Ok((
                    r.area(&testing::area())?,
                    r.areas_with_code(&us, &AreaCode::parse("800").unwrap())?,
                    r.area(&AreaId::parse("nowhere").unwrap())?,
                ))
            })
            .unwrap();
        let one = one.unwrap();
        assert_eq!(
            (one.did_type, one.country_name.as_str()),
            (DidType::Geographic, "United States")
        );
        let plans: Vec<(&str, Money100)> = one
            .plans
            .iter()
            .map(|p| (p.id.as_str(), p.monthly))
            .collect();
        assert_eq!(plans, [("PR", Money100(300)), ("SU", Money100(149))]);
        assert_eq!(by_code.len(), 1);
        assert_eq!(by_code[0].id.as_str(), "us-800");
        assert!(none.is_none());
        assert_eq!(
            db.reader().stock_by_area().unwrap(),
            [("ny-212".to_string(), 10), ("us-800".to_string(), 3)]
        );
    }
}
