//! `DID.LIST`: the caller's numbers, filtered, sorted by E.164, paged.

use super::filter::{parse_filter, parse_target};
use super::{Ctx, Params};
use crate::domain::{AccountNumber, DidFilter, Payload, Reply};
use crate::error::Error;

pub struct Request {
    target: Option<AccountNumber>,
    filter: DidFilter,
    limit: u32,
    offset: u64,
}

pub fn parse(p: &mut Params) -> Result<Request, Error> {
    Ok(Request {
        target: parse_target(p)?,
        filter: parse_filter(p)?,
        limit: p.number("LIMIT", 1, 10_000)?.unwrap_or(1000),
        offset: p.number("OFFSET", 0, u32::MAX)?.unwrap_or(0).into(),
    })
}

pub async fn execute(ctx: &Ctx, req: Request) -> Result<Reply, Error> {
    let principal = ctx.principal.clone();
    let (dids, total) = ctx
        .store
        .read(move |r| {
            r.list_dids(
                &principal,
                req.target.as_ref(),
                &req.filter,
                req.limit,
                req.offset,
            )
        })
        .await?;
    Ok(Reply::new(Payload::Dids(dids)).value("TOTAL", total.to_string()))
}
