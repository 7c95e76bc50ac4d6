//! `ANVEO.COUNTRIES.LIST`: countries with at least one area.

use super::{Ctx, Params};
use crate::domain::{DidType, Payload, Reply};
use crate::error::Error;

pub struct Request {
    did_type: Option<DidType>,
}

pub fn parse(p: &mut Params) -> Result<Request, Error> {
    Ok(Request {
        did_type: p.parse("DID_TYPE", DidType::parse)?,
    })
}

pub async fn execute(ctx: &Ctx, req: Request) -> Result<Reply, Error> {
    let countries = ctx.store.read(move |r| r.countries(req.did_type)).await?;
    Ok(Reply::new(Payload::Countries(countries)))
}
