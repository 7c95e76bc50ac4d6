//! `DID.SEARCH`: find available numbers, optionally matching a pattern.

use super::{Ctx, Params};
use crate::domain::{AreaId, ContainsPattern, CountryId, DidType, Payload, Reply};
use crate::error::{Error, ParamError};
use crate::store::{AreaSelect, SearchQuery};

pub fn parse(p: &mut Params) -> Result<SearchQuery, Error> {
    let area_id = p.parse("AREA_ID", AreaId::parse)?;
    let country = p.parse("COUNTRY_ID", CountryId::parse)?;
    let area_code = p.parse("AREA_CODE", |c| {
        if (1..=10).contains(&c.len()) && c.bytes().all(|b| b.is_ascii_digit()) {
            Ok(c.to_owned())
        } else {
            Err("must be 1 to 10 digits".into())
        }
    })?;
    let area = match (area_id, country, area_code) {
        (Some(id), None, None) => AreaSelect::Id(id),
        (None, Some(country), Some(area_code)) => AreaSelect::Code { country, area_code },
        (Some(_), _, _) => {
            return Err(ParamError::Invalid {
                name: "AREA_ID",
                reason: "cannot be combined with COUNTRY_ID and AREA_CODE: give one or the other"
                    .into(),
            }
            .into());
        }
        _ => return Err(ParamError::MissingOneOf("AREA_ID, or COUNTRY_ID with AREA_CODE").into()),
    };
    Ok(SearchQuery {
        area,
        did_type: p.parse("DID_TYPE", DidType::parse)?,
        contains: p.parse("CONTAINS", ContainsPattern::parse)?,
        limit: p.number("LIMIT", 1, 100)?.unwrap_or(20),
    })
}

pub async fn execute(ctx: &Ctx, query: SearchQuery) -> Result<Reply, Error> {
    let dids = ctx.store.read(move |r| r.search(&query)).await?;
    Ok(Reply::new(Payload::Dids(dids)))
}
