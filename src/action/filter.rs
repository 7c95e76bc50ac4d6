//! The `FILTER.*` parameters shared by `DID.LIST` and `DID.UPDATE`, and the
//! `ACCOUNT_NUMBER` every DID action takes.

use super::Params;
use crate::domain::{AccountNumber, DidFilter, DidStatus, DidType, E164Pattern, ForwardType};
use crate::error::ParamError;

pub fn parse_filter(p: &mut Params) -> Result<DidFilter, ParamError> {
    Ok(DidFilter {
        e164: p.parse("FILTER.E164", E164Pattern::parse)?,
        did_type: p.parse("FILTER.DID_TYPE", DidType::parse)?,
        title: p.get("FILTER.TITLE"),
        status: p.parse("FILTER.STATUS", DidStatus::parse_owned)?,
        sms_url: p.get("FILTER.SMS_URL"),
        sms_email: p.get("FILTER.SMS_EMAIL"),
        call_forward_type: p.parse("FILTER.CALL_FORWARD_TYPE", |v| {
            ForwardType::parse(v).map(|t| t.as_str().to_owned())
        })?,
        call_forward_to: p.get("FILTER.CALL_FORWARD_TO"),
    })
}

pub fn parse_target(p: &mut Params) -> Result<Option<AccountNumber>, ParamError> {
    p.parse("ACCOUNT_NUMBER", AccountNumber::parse)
}
