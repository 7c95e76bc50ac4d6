//! `DID.RESTORE`: a canceled number still aging returns to its last owner,
//! configuration intact.

use super::{Ctx, Params};
use crate::domain::{AccountNumber, E164};
use crate::error::Error;
use crate::store::{Mutation, NumberSpec};

pub fn parse(p: &mut Params) -> Result<(Option<AccountNumber>, E164), Error> {
    super::did_cancel::parse(p)
}

pub async fn execute(
    ctx: &Ctx,
    (target, e164): (Option<AccountNumber>, E164),
) -> Result<Vec<u8>, Error> {
    ctx.mutate(Mutation::Restore(NumberSpec {
        principal: ctx.principal.clone(),
        target,
        e164,
    }))
    .await
}
