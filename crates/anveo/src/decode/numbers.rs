//! The caller's own numbers: `DID.LIST`, `DID.UPDATE`, `DID.CANCEL`,
//! `DID.RESTORE` and `DID.MOVE`, and the `FILTER.*` parameters the first
//! two share.

use didgate_core::ParamError;
use didgate_core::command::{Command, DidList, DidMove, DidUpdate, NumberOf};
use didgate_core::domain::{
    AccountNumber, DidChanges, DidFilter, DidStatus, DidType, E164, E164Pattern, ForwardChange,
    ForwardType, Forwarding, Label, ListLimit, Offset, parse_email, parse_sms_phone, parse_sms_url,
};

use super::target;
use crate::params::Params;

fn filter(p: &mut Params) -> Result<DidFilter, ParamError> {
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

pub(super) fn did_list(p: &mut Params) -> Result<Command, ParamError> {
    Ok(Command::DidList(DidList {
        target: target(p)?,
        filter: filter(p)?,
        limit: p.number("LIMIT", ListLimit::parse)?.unwrap_or_default(),
        offset: p.number("OFFSET", Offset::parse)?.unwrap_or_default(),
    }))
}

pub(super) fn did_update(p: &mut Params) -> Result<Command, ParamError> {
    let target = target(p)?;
    let filter = filter(p)?;
    if filter.is_empty() {
        return Err(ParamError::MissingOneOf("at least one FILTER.* parameter"));
    }
    let changes = DidChanges {
        forwarding: forwarding(p)?,
        sms_url: p.setting("SMS_URL", parse_sms_url)?,
        sms_email: p.setting("SMS_EMAIL", parse_email)?,
        sms_phone: p.setting("SMS_PHONE", parse_sms_phone)?,
        title: p.setting("TITLE", |t| Label::parse(t).map(|l| l.as_str().to_owned()))?,
    };
    if changes.is_empty() {
        return Err(ParamError::MissingOneOf(
            "at least one of CALL_FORWARD_TYPE, CALL_FORWARD_TO, SMS_URL, SMS_EMAIL, SMS_PHONE, TITLE",
        ));
    }
    Ok(Command::DidUpdate(DidUpdate {
        target,
        filter,
        changes,
    }))
}

/// `CALL_FORWARD_TYPE` and `CALL_FORWARD_TO` of `DID.UPDATE`: a type is
/// checked with its target; either one given empty clears forwarding; a
/// target alone is checked later against each number's current type.
fn forwarding(p: &mut Params) -> Result<Option<ForwardChange>, ParamError> {
    let kind = p.setting("CALL_FORWARD_TYPE", |v| {
        if v.is_empty() {
            Ok(None)
        } else {
            ForwardType::parse(v).map(Some)
        }
    })?;
    let to = p.get_present("CALL_FORWARD_TO");
    Ok(match (kind, to) {
        (None, None) => None,
        (Some(None), _) => Some(ForwardChange::Clear),
        (Some(Some(kind)), to) => {
            let to = to.unwrap_or_default();
            let set = Forwarding::parse(kind, &to).map_err(|reason| ParamError::Invalid {
                name: "CALL_FORWARD_TO",
                reason,
            })?;
            Some(ForwardChange::Set(set))
        }
        (None, Some(to)) if to.is_empty() => Some(ForwardChange::Clear),
        (None, Some(to)) => Some(ForwardChange::Target(to)),
    })
}

fn number_of(p: &mut Params) -> Result<NumberOf, ParamError> {
    Ok(NumberOf {
        target: target(p)?,
        e164: p.require("E164", E164::parse)?,
    })
}

pub(super) fn did_cancel(p: &mut Params) -> Result<Command, ParamError> {
    number_of(p).map(Command::DidCancel)
}

pub(super) fn did_restore(p: &mut Params) -> Result<Command, ParamError> {
    number_of(p).map(Command::DidRestore)
}

pub(super) fn did_move(p: &mut Params) -> Result<Command, ParamError> {
    Ok(Command::DidMove(DidMove {
        number: number_of(p)?,
        to: p.require("TO_ACCOUNT_NUMBER", AccountNumber::parse)?,
    }))
}
