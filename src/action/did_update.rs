//! `DID.UPDATE`: reconfigure the caller's numbers selected by filters, all
//! in one transaction or none.

use super::filter::{parse_filter, parse_target};
use super::{Ctx, Params};
use crate::domain::{
    DidChanges, ForwardChange, ForwardType, Forwarding, parse_email, parse_sms_phone, parse_sms_url,
};
use crate::error::{Error, ParamError};
use crate::store::{Mutation, UpdateSpec};

pub struct Request {
    spec_target: Option<crate::domain::AccountNumber>,
    filter: crate::domain::DidFilter,
    changes: DidChanges,
}

pub fn parse(p: &mut Params) -> Result<Request, Error> {
    let target = parse_target(p)?;
    let filter = parse_filter(p)?;
    if filter.is_empty() {
        return Err(ParamError::MissingOneOf("at least one FILTER.* parameter").into());
    }
    let kind = p.setting("CALL_FORWARD_TYPE", |v| {
        if v.is_empty() {
            Ok(None)
        } else {
            ForwardType::parse(v).map(Some)
        }
    })?;
    let to = p.get_present("CALL_FORWARD_TO");
    let forwarding = match (kind, to) {
        (None, None) => None,
        (Some(None), _) => Some(ForwardChange::Clear),
        (Some(Some(kind)), to) => {
            let to = to.unwrap_or_default();
            Some(ForwardChange::Set(Forwarding::parse(kind, &to).map_err(
                |reason| ParamError::Invalid {
                    name: "CALL_FORWARD_TO",
                    reason,
                },
            )?))
        }
        (None, Some(to)) if to.is_empty() => Some(ForwardChange::Clear),
        (None, Some(to)) => Some(ForwardChange::Target(to)),
    };
    let changes = DidChanges {
        forwarding,
        sms_url: p.setting("SMS_URL", parse_sms_url)?,
        sms_email: p.setting("SMS_EMAIL", parse_email)?,
        sms_phone: p.setting("SMS_PHONE", parse_sms_phone)?,
        title: p.setting("TITLE", super::did_order::parse_title)?,
    };
    if changes.is_empty() {
        return Err(ParamError::MissingOneOf(
            "at least one of CALL_FORWARD_TYPE, CALL_FORWARD_TO, SMS_URL, SMS_EMAIL, SMS_PHONE, TITLE",
        )
        .into());
    }
    Ok(Request {
        spec_target: target,
        filter,
        changes,
    })
}

pub async fn execute(ctx: &Ctx, req: Request) -> Result<Vec<u8>, Error> {
    let spec = UpdateSpec {
        principal: ctx.principal.clone(),
        target: req.spec_target,
        filter: req.filter,
        changes: req.changes,
    };
    ctx.mutate(Mutation::Update(spec)).await
}
