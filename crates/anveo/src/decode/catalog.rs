//! The catalog reads: `ANVEO.COUNTRIES.LIST`, `ANVEO.STATES.LIST`,
//! `ANVEO.AREAS.LIST` and `DID.SEARCH`.

use didgate_core::ParamError;
use didgate_core::command::{
    AreaScope, AreaSelect, AreasList, Command, CountriesList, DidSearch, StatesList,
};
use didgate_core::domain::{AreaCode, AreaId, ContainsPattern, CountryId, DidType, SearchLimit};

use crate::params::Params;

pub(super) fn countries_list(p: &mut Params) -> Result<Command, ParamError> {
    Ok(Command::CountriesList(CountriesList {
        did_type: p.parse("DID_TYPE", DidType::parse)?,
    }))
}

pub(super) fn states_list(p: &mut Params) -> Result<Command, ParamError> {
    Ok(Command::StatesList(StatesList {
        country: p.require("COUNTRY_ID", CountryId::parse)?,
        did_type: p.parse("DID_TYPE", DidType::parse)?,
    }))
}

pub(super) fn areas_list(p: &mut Params) -> Result<Command, ParamError> {
    let country = p.parse("COUNTRY_ID", CountryId::parse)?;
    let state = p.get("STATE_ID");
    // Checked before DID_TYPE is read, so a request with neither and a bad
    // type hears about the missing scope first, as it always has.
    let scope = match (country, state) {
        (Some(country), None) => AreaScope::Country(country),
        (None, Some(state)) => AreaScope::State(state),
        (Some(country), Some(state)) => AreaScope::StateIn { country, state },
        (None, None) => return Err(ParamError::MissingOneOf("COUNTRY_ID or STATE_ID")),
    };
    Ok(Command::AreasList(AreasList {
        scope,
        did_type: p.parse("DID_TYPE", DidType::parse)?,
    }))
}

pub(super) fn did_search(p: &mut Params) -> Result<Command, ParamError> {
    let area_id = p.parse("AREA_ID", AreaId::parse)?;
    let country = p.parse("COUNTRY_ID", CountryId::parse)?;
    let area_code = p.parse("AREA_CODE", AreaCode::parse)?;
    let area = match (area_id, country, area_code) {
        (Some(id), None, None) => AreaSelect::Id(id),
        (None, Some(country), Some(area_code)) => AreaSelect::Code { country, area_code },
        (Some(_), _, _) => {
            return Err(ParamError::Invalid {
                name: "AREA_ID",
                reason: "cannot be combined with COUNTRY_ID and AREA_CODE: give one or the other"
                    .into(),
            });
        }
        _ => {
            return Err(ParamError::MissingOneOf(
                "AREA_ID, or COUNTRY_ID with AREA_CODE",
            ));
        }
    };
    Ok(Command::DidSearch(DidSearch {
        area,
        did_type: p.parse("DID_TYPE", DidType::parse)?,
        contains: p.parse("CONTAINS", ContainsPattern::parse)?,
        limit: p.number("LIMIT", SearchLimit::parse)?.unwrap_or_default(),
    }))
}
