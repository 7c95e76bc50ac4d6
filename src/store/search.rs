//! `DID.SEARCH`: available numbers of an area, optionally matching a
//! `CONTAINS` pattern anywhere in their national part.
//!
//! The `dids_stock` index holds exactly an area's stock in E.164 order, so
//! the search walks that index (reading no table rows) and stops as soon
//! as `LIMIT` numbers match. A common pattern (four digits match about one
//! number in 150) finds its page after a few thousand index entries; a
//! pattern that matches nothing reads the area's whole stock once.

use rusqlite::OptionalExtension;

use super::{Reader, dids};
use crate::domain::{AreaId, ContainsPattern, CountryId, Did, DidType, national_number};
use crate::error::{DomainError, Error};

/// Which area(s) to search.
#[derive(Debug, Clone)]
pub enum AreaSelect {
    Id(AreaId),
    /// Every area of a country with this area code (of `did_type`, when given).
    Code { country: CountryId, area_code: String },
}

#[derive(Debug, Clone)]
pub struct SearchQuery {
    pub area: AreaSelect,
    pub did_type: Option<DidType>,
    pub contains: Option<ContainsPattern>,
    pub limit: u32,
}

impl Reader<'_> {
    pub fn search(&self, q: &SearchQuery) -> Result<Vec<Did>, Error> {
        let areas: Vec<String> = match &q.area {
            AreaSelect::Id(id) => {
                let t: String = self
                    .conn
                    .prepare_cached("SELECT did_type FROM areas WHERE id = ?1")?
                    .query_row([id.as_str()], |r| r.get(0))
                    .optional()?
                    .ok_or_else(|| DomainError::NotFound(format!("area {id}")))?;
                if let Some(want) = q.did_type.filter(|w| w.as_str() != t) {
                    return Err(DomainError::Invalid {
                        name: "DID_TYPE",
                        reason: format!("is {want} but area {id} sells {t} numbers"),
                    }
                    .into());
                }
                vec![id.to_string()]
            }
            AreaSelect::Code { country, area_code } => {
                let found: Vec<String> = self
                    .conn
                    .prepare_cached(
                        "SELECT id FROM areas WHERE country_id = ?1 AND area_code = ?2
                            AND (?3 IS NULL OR did_type = ?3) ORDER BY id",
                    )?
                    .query_map(rusqlite::params![country.as_str(), area_code, q.did_type.map(DidType::as_str)], |r| {
                        r.get(0)
                    })?
                    .collect::<Result<_, _>>()?;
                if found.is_empty() {
                    return Err(DomainError::NotFound(format!("area code {area_code} in country {country}")).into());
                }
                found
            }
        };
        let limit = q.limit as usize;
        let mut hits: Vec<String> = Vec::with_capacity(limit);
        let mut stmt = self
            .conn
            .prepare_cached("SELECT e164 FROM dids WHERE area_id = ?1 AND status = 'available' ORDER BY e164")?;
        for area in &areas {
            let mut taken = 0;
            let mut rows = stmt.query([area])?;
            while let Some(row) = rows.next()? {
                let e164 = row.get_ref(0)?.as_str().map_err(rusqlite::Error::from)?;
                if q.contains.as_ref().is_none_or(|p| p.matches(national_number(e164).as_bytes())) {
                    hits.push(e164.to_owned());
                    taken += 1;
                    if taken == limit {
                        break;
                    }
                }
            }
        }
        // Several areas share a code only rarely; merge them in E.164 order.
        hits.sort();
        hits.truncate(limit);
        Ok(dids::load_offered(self.conn, &hits)?)
    }
}
