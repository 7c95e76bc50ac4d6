//! `ANVEO.AREAS.LIST`: the areas of a country or state, with stock and plans.

use super::{Ctx, Params};
use crate::domain::{CountryId, DidType, Payload, Reply};
use crate::error::{Error, ParamError};

pub struct Request {
    country: Option<CountryId>,
    state: Option<String>,
    did_type: Option<DidType>,
}

pub fn parse(p: &mut Params) -> Result<Request, Error> {
    let country = p.parse("COUNTRY_ID", CountryId::parse)?;
    let state = p.get("STATE_ID");
    if country.is_none() && state.is_none() {
        return Err(ParamError::MissingOneOf("COUNTRY_ID or STATE_ID").into());
    }
    Ok(Request {
        country,
        state,
        did_type: p.parse("DID_TYPE", DidType::parse)?,
    })
}

pub async fn execute(ctx: &Ctx, req: Request) -> Result<Reply, Error> {
    let areas = ctx
        .store
        .read(move |r| r.areas(req.country.as_ref(), req.state.as_deref(), req.did_type))
        .await?;
    Ok(Reply::new(Payload::Areas(areas)))
}
