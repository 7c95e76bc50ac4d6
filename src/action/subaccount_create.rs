//! `SUBACCOUNT.CREATE`: a sub-account under the key's account.

use super::{Ctx, Params};
use crate::error::Error;
use crate::store::{Mutation, SubaccountSpec};

pub fn parse(p: &mut Params) -> Result<String, Error> {
    Ok(p.require("NAME", |n| {
        if n.chars().count() > 255 || n.chars().any(char::is_control) {
            Err("must be at most 255 characters without control characters".into())
        } else {
            Ok(n.to_owned())
        }
    })?)
}

pub async fn execute(ctx: &Ctx, name: String) -> Result<Vec<u8>, Error> {
    ctx.mutate(Mutation::CreateSubaccount(SubaccountSpec {
        principal: ctx.principal.clone(),
        name,
    }))
    .await
}
