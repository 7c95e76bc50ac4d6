//! `DID.MOVE`: a number changes account within the caller's tree; its
//! routing stays as it is.

use super::filter::parse_target;
use super::{Ctx, Params};
use crate::domain::{AccountNumber, E164};
use crate::error::Error;
use crate::store::{MoveSpec, Mutation, NumberSpec};

pub struct Request {
    target: Option<AccountNumber>,
    e164: E164,
    to: AccountNumber,
}

pub fn parse(p: &mut Params) -> Result<Request, Error> {
    Ok(Request {
        target: parse_target(p)?,
        e164: p.require("E164", E164::parse)?,
        to: p.require("TO_ACCOUNT_NUMBER", AccountNumber::parse)?,
    })
}

pub async fn execute(ctx: &Ctx, req: Request) -> Result<Vec<u8>, Error> {
    let number = NumberSpec {
        principal: ctx.principal.clone(),
        target: req.target,
        e164: req.e164,
    };
    ctx.mutate(Mutation::Move(MoveSpec { number, to: req.to }))
        .await
}
