//! `ANVEO.STATES.LIST`: the states of a country.

use super::{Ctx, Params};
use crate::domain::{CountryId, DidType, Payload, Reply};
use crate::error::Error;

pub struct Request {
    country: CountryId,
    did_type: Option<DidType>,
}

pub fn parse(p: &mut Params) -> Result<Request, Error> {
    Ok(Request {
        country: p.require("COUNTRY_ID", CountryId::parse)?,
        did_type: p.parse("DID_TYPE", DidType::parse)?,
    })
}

pub async fn execute(ctx: &Ctx, req: Request) -> Result<Reply, Error> {
    let states = ctx
        .store
        .read(move |r| r.states(&req.country, req.did_type))
        .await?;
    Ok(Reply::new(Payload::States(states)))
}
