//! Read queries over the catalog: countries, states, areas and their plans.

use rusqlite::OptionalExtension;

use super::Reader;
use crate::domain::{Area, Country, CountryId, DidType, Money100, RatePlan, State};
use crate::error::{DomainError, Error, StoreError};

impl Reader<'_> {
    /// Countries with at least one area (of `did_type`, when given).
    pub fn countries(&self, did_type: Option<DidType>) -> Result<Vec<Country>, Error> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT c.id, c.name, EXISTS (SELECT 1 FROM states s WHERE s.country_id = c.id),
                    c.is_fax, c.is_sms
               FROM countries c
              WHERE EXISTS (SELECT 1 FROM areas a WHERE a.country_id = c.id
                              AND (?1 IS NULL OR a.did_type = ?1))
              ORDER BY c.name, c.id",
        )?;
        let rows = stmt.query_map([did_type.map(DidType::as_str)], |r| {
            Ok(Country {
                id: r.get(0)?,
                name: r.get(1)?,
                has_states: r.get(2)?,
                is_fax: r.get(3)?,
                is_sms: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The states of a country (those with an area of `did_type`, when given).
    pub fn states(
        &self,
        country: &CountryId,
        did_type: Option<DidType>,
    ) -> Result<Vec<State>, Error> {
        self.require_country(country)?;
        let mut stmt = self.conn.prepare_cached(
            "SELECT s.id, s.name, s.code FROM states s
              WHERE s.country_id = ?1
                AND (?2 IS NULL OR EXISTS (SELECT 1 FROM areas a WHERE a.state_id = s.id AND a.did_type = ?2))
              ORDER BY s.name, s.id",
        )?;
        let rows = stmt.query_map(
            rusqlite::params![country.as_str(), did_type.map(DidType::as_str)],
            |r| {
                Ok(State {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    code: r.get(2)?,
                })
            },
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Areas of a country and/or state, with stock and rate plans.
    pub fn areas(
        &self,
        country: Option<&CountryId>,
        state: Option<&str>,
        did_type: Option<DidType>,
    ) -> Result<Vec<Area>, Error> {
        if let Some(c) = country {
            self.require_country(c)?;
        }
        if let Some(s) = state {
            let found: Option<String> = self
                .conn
                .prepare_cached("SELECT country_id FROM states WHERE id = ?1")?
                .query_row([s], |r| r.get(0))
                .optional()?;
            match (found, country) {
                (None, _) => return Err(DomainError::NotFound(format!("state {s}")).into()),
                (Some(c), Some(want)) if c != want.as_str() => {
                    return Err(
                        DomainError::NotFound(format!("state {s} in country {want}")).into(),
                    );
                }
                _ => {}
            }
        }
        let mut stmt = self.conn.prepare_cached(
            "SELECT a.id, a.name, a.area_code, a.did_type, a.country_id, a.state_id, a.stock,
                    p.rate_plan_id, rp.name, p.monthly100, p.setup100
               FROM areas a
               LEFT JOIN area_rate_plans p ON p.area_id = a.id
               LEFT JOIN rate_plans rp ON rp.id = p.rate_plan_id
              WHERE (?1 IS NULL OR a.country_id = ?1)
                AND (?2 IS NULL OR a.state_id = ?2)
                AND (?3 IS NULL OR a.did_type = ?3)
              ORDER BY a.name, a.id, p.rate_plan_id",
        )?;
        let mut rows = stmt.query(rusqlite::params![
            country.map(CountryId::as_str),
            state,
            did_type.map(DidType::as_str)
        ])?;
        let mut areas: Vec<Area> = Vec::new();
        while let Some(r) = rows.next()? {
            let id: String = r.get(0)?;
            if areas.last().is_none_or(|a| a.id != id) {
                let t: String = r.get(3)?;
                areas.push(Area {
                    id,
                    name: r.get(1)?,
                    area_code: r.get(2)?,
                    did_type: DidType::parse(&t).map_err(StoreError::Internal)?,
                    country_id: r.get(4)?,
                    state_id: r.get(5)?,
                    stock: r.get(6)?,
                    rate_plans: Vec::new(),
                });
            }
            if let Some(plan) = r.get::<_, Option<String>>(7)? {
                let area = areas.last_mut().expect("pushed above");
                area.rate_plans.push(RatePlan {
                    id: plan,
                    name: r.get(8)?,
                    monthly: Money100(r.get(9)?),
                    setup: Money100(r.get(10)?),
                });
            }
        }
        Ok(areas)
    }

    /// Every area's stock, for metrics.
    pub fn stock_by_area(&self) -> Result<Vec<(String, i64)>, Error> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id, stock FROM areas ORDER BY id")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn require_country(&self, country: &CountryId) -> Result<(), Error> {
        let exists: bool = self
            .conn
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM countries WHERE id = ?1)")?
            .query_row([country.as_str()], |r| r.get(0))?;
        if exists {
            Ok(())
        } else {
            Err(DomainError::NotFound(format!("country {country}")).into())
        }
    }
}
