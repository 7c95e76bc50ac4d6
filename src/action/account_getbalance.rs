//! `ACCOUNT.GETBALANCE`: the balance of the caller's billing account.

use super::{Ctx, Params};
use crate::domain::{Payload, Reply};
use crate::error::Error;

pub struct Request;

pub fn parse(_: &mut Params) -> Result<Request, Error> {
    Ok(Request)
}

pub async fn execute(ctx: &Ctx, _: Request) -> Result<Reply, Error> {
    let root = ctx.principal.root_id;
    let balance = ctx.store.read(move |r| r.balance(root)).await?;
    // Anveo clients read the balance from RESULT, in currency units.
    let mut reply = Reply::new(Payload::None).value("BALANCE100", balance.0.to_string());
    reply.result = Some(balance.to_decimal());
    Ok(reply)
}
