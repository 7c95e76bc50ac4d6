//! `DID.ORDER`: buy numbers from an area.

use super::{Ctx, Params};
use crate::domain::{AccountNumber, AreaId, DidType, RatePlanId};
use crate::error::Error;
use crate::store::{Mutation, OrderSpec};

pub struct Request {
    target: Option<AccountNumber>,
    area_id: AreaId,
    did_type: DidType,
    rate_plan: RatePlanId,
    quantity: u32,
    partial: bool,
    title: String,
}

pub fn parse(p: &mut Params) -> Result<Request, Error> {
    Ok(Request {
        did_type: p.require("DID_TYPE", DidType::parse)?,
        area_id: p.require("AREA_ID", AreaId::parse)?,
        rate_plan: p
            .parse("RATE_PLAN_ID", RatePlanId::parse)?
            .unwrap_or_else(RatePlanId::default_plan),
        quantity: p.number("QUANTITY", 1, 100)?.unwrap_or(1),
        target: p.parse("ACCOUNT_NUMBER", AccountNumber::parse)?,
        title: p.parse("TITLE", parse_title)?.unwrap_or_default(),
        partial: p.flag("PARTIAL_ALLOWED", false)?,
    })
}

/// `TITLE`: at most 255 characters, no control characters.
pub fn parse_title(t: &str) -> Result<String, String> {
    if t.chars().count() > 255 {
        Err("must be at most 255 characters".into())
    } else if t.chars().any(char::is_control) {
        Err("must not contain control characters".into())
    } else {
        Ok(t.to_owned())
    }
}

pub async fn execute(ctx: &Ctx, req: Request) -> Result<Vec<u8>, Error> {
    let spec = OrderSpec {
        principal: ctx.principal.clone(),
        target: req.target,
        area_id: req.area_id,
        did_type: req.did_type,
        rate_plan: req.rate_plan,
        quantity: req.quantity,
        partial: req.partial,
        title: req.title,
    };
    ctx.mutate(Mutation::Order(spec)).await
}
