//! Accounts: `ACCOUNT.GETBALANCE`, `SUBACCOUNT.CREATE` and
//! `SUBACCOUNT.DELETE`.

use didgate_core::ParamError;
use didgate_core::command::{AccountGetBalance, Command, SubaccountCreate, SubaccountDelete};
use didgate_core::domain::{AccountNumber, Label};

use crate::params::Params;

pub(super) fn account_getbalance(_: &mut Params) -> Result<Command, ParamError> {
    Ok(Command::AccountGetBalance(AccountGetBalance))
}

pub(super) fn subaccount_create(p: &mut Params) -> Result<Command, ParamError> {
    Ok(Command::SubaccountCreate(SubaccountCreate {
        // The rule is the label's; the text is the one `NAME` has always
        // answered with, one message for both ways to break it.
        name: p.require("NAME", |n| {
            Label::parse(n)
                .map_err(|_| "must be at most 255 characters without control characters".into())
        })?,
    }))
}

pub(super) fn subaccount_delete(p: &mut Params) -> Result<Command, ParamError> {
    Ok(Command::SubaccountDelete(SubaccountDelete {
        account: p.require("ACCOUNT_NUMBER", AccountNumber::parse)?,
    }))
}
