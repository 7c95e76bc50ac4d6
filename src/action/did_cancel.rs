//! `DID.CANCEL`: the number leaves the account and ages before returning
//! to stock; until then its last owner can restore it.

use super::filter::parse_target;
use super::{Ctx, Params};
use crate::domain::E164;
use crate::error::Error;
use crate::store::{Mutation, NumberSpec};

pub fn parse(p: &mut Params) -> Result<(Option<crate::domain::AccountNumber>, E164), Error> {
    Ok((parse_target(p)?, p.require("E164", E164::parse)?))
}

pub async fn execute(
    ctx: &Ctx,
    (target, e164): (Option<crate::domain::AccountNumber>, E164),
) -> Result<Vec<u8>, Error> {
    let spec = NumberSpec {
        principal: ctx.principal.clone(),
        target,
        e164,
    };
    ctx.mutate(Mutation::Cancel {
        spec,
        aging_secs: ctx.settings.aging_secs,
    })
    .await
}
