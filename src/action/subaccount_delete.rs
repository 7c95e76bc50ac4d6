//! `SUBACCOUNT.DELETE`: retire a sub-account that owns no active numbers.

use super::{Ctx, Params};
use crate::domain::AccountNumber;
use crate::error::Error;
use crate::store::{DeleteSpec, Mutation};

pub fn parse(p: &mut Params) -> Result<AccountNumber, Error> {
    Ok(p.require("ACCOUNT_NUMBER", AccountNumber::parse)?)
}

pub async fn execute(ctx: &Ctx, account: AccountNumber) -> Result<Vec<u8>, Error> {
    ctx.mutate(Mutation::DeleteSubaccount(DeleteSpec {
        principal: ctx.principal.clone(),
        account,
    }))
    .await
}
