//! Reads of the catalog: countries, states, areas, and the search for
//! numbers to buy.

use super::pricing::{check_type, offer_all};
use crate::command::{AreaScope, AreaSelect, AreasList, CountriesList, DidSearch, StatesList};
use crate::domain::{AreaId, CountryId, E164};
use crate::engine::{AreaRecord, Reads};
use crate::error::{DomainError, Error};
use crate::outcome::Outcome;

pub(super) fn countries(r: &mut dyn Reads, c: &CountriesList) -> Result<Outcome, Error> {
    Ok(Outcome::Countries(r.countries(c.did_type)?))
}

fn require_country(r: &mut dyn Reads, country: &CountryId) -> Result<(), Error> {
    if r.country_exists(country)? {
        Ok(())
    } else {
        Err(DomainError::NotFound(format!("country {country}")).into())
    }
}

pub(super) fn states(r: &mut dyn Reads, c: &StatesList) -> Result<Outcome, Error> {
    require_country(r, &c.country)?;
    Ok(Outcome::States(r.states(&c.country, c.did_type)?))
}

pub(super) fn areas(r: &mut dyn Reads, c: &AreasList) -> Result<Outcome, Error> {
    let (country, state) = match &c.scope {
        AreaScope::Country(country) => (Some(country), None),
        AreaScope::State(state) => (None, Some(state.as_str())),
        AreaScope::StateIn { country, state } => (Some(country), Some(state.as_str())),
    };
    if let Some(country) = country {
        require_country(r, country)?;
    }
    if let Some(state) = state {
        match (r.state_country(state)?, country) {
            (None, _) => return Err(DomainError::NotFound(format!("state {state}")).into()),
            (Some(found), Some(want)) if found != want.as_str() => {
                return Err(
                    DomainError::NotFound(format!("state {state} in country {want}")).into(),
                );
            }
            _ => {}
        }
    }
    Ok(Outcome::Areas(r.areas(country, state, c.did_type)?))
}

/// The areas a search covers, checked against `DID_TYPE`.
fn search_areas(r: &mut dyn Reads, q: &DidSearch) -> Result<Vec<AreaRecord>, Error> {
    match &q.area {
        AreaSelect::Id(id) => {
            let area = r
                .area(id)?
                .ok_or_else(|| DomainError::NotFound(format!("area {id}")))?;
            check_type(&area, q.did_type)?;
            Ok(vec![area])
        }
        AreaSelect::Code { country, area_code } => {
            let found = r.areas_with_code(country, area_code)?;
            if found.is_empty() {
                return Err(DomainError::NotFound(format!(
                    "area code {} in country {country}",
                    area_code.as_str()
                ))
                .into());
            }
            let Some(want) = q.did_type else {
                return Ok(found);
            };
            let kinds: Vec<&str> = found.iter().map(|a| a.did_type.as_str()).collect();
            let kinds = kinds.join(", ");
            let of_type: Vec<AreaRecord> =
                found.into_iter().filter(|a| a.did_type == want).collect();
            // The areas exist but sell another type: the contract calls
            // that a wrong DID_TYPE, not a missing area.
            if of_type.is_empty() {
                return Err(DomainError::Invalid {
                    name: "DID_TYPE",
                    reason: format!(
                        "is {want} but area code {} in {country} sells {kinds} numbers",
                        area_code.as_str()
                    ),
                }
                .into());
            }
            Ok(of_type)
        }
    }
}

/// `DID.SEARCH`: the lowest available numbers of the areas (matching the
/// pattern, when given), merged in E.164 order, up to the limit.
pub(super) fn search(r: &mut dyn Reads, q: &DidSearch) -> Result<Outcome, Error> {
    let areas = search_areas(r, q)?;
    let limit = q.limit.get();
    let mut hits: Vec<(E164, AreaId)> = Vec::with_capacity(limit as usize);
    for area in &areas {
        let found = match &q.contains {
            None => r.lowest_available(&area.id, limit)?,
            Some(pattern) => r.available_matching(&area.id, pattern, limit)?,
        };
        hits.extend(found.into_iter().map(|e| (e, area.id.clone())));
    }
    // Several areas share a code only rarely; merge them in E.164 order.
    hits.sort_by(|a, b| a.0.cmp(&b.0));
    hits.truncate(limit as usize);
    Ok(Outcome::Offered(offer_all(r, &hits, areas)?))
}
