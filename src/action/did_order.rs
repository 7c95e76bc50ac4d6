//! `DID.ORDER`: buy numbers from an area, a reservation, or a list.

use super::filter::parse_target;
use super::{Ctx, Params};
use crate::domain::{AreaId, DidType, E164, RatePlanId, ReservationId};
use crate::error::{Error, ParamError};
use crate::store::{Mutation, OrderSource, OrderSpec};

pub struct Request {
    target: Option<crate::domain::AccountNumber>,
    source: OrderSource,
    did_type: Option<DidType>,
    rate_plan: RatePlanId,
    title: String,
}

/// A comma-separated list of 1 to 100 distinct numbers.
pub fn parse_e164_list(v: &str) -> Result<Vec<E164>, String> {
    let mut list: Vec<E164> = Vec::new();
    for part in v.split(',').map(str::trim) {
        let e = E164::parse(part).map_err(|e| format!("{part:.20}: {e}"))?;
        if list.contains(&e) {
            return Err(format!("lists {e} twice"));
        }
        list.push(e);
    }
    if list.len() > 100 {
        return Err("must list at most 100 numbers".into());
    }
    Ok(list)
}

/// `TITLE`: at most 255 characters, no control characters.
pub fn parse_title(t: &str) -> Result<String, String> {
    if t.chars().count() > 255 {
        Err("must be at most 255 characters".into())
    } else if t
        .chars()
        .any(|c| c.is_control() || c == '\u{FFFE}' || c == '\u{FFFF}')
    {
        Err("must not contain control characters".into())
    } else {
        Ok(t.to_owned())
    }
}

pub fn parse(p: &mut Params) -> Result<Request, Error> {
    let reservation = p.parse("RESERVATION_ID", ReservationId::parse)?;
    let numbers = p.parse("E164", parse_e164_list)?;
    let area = p.parse("AREA_ID", AreaId::parse)?;
    let did_type = p.parse("DID_TYPE", DidType::parse)?;
    let quantity = p.number("QUANTITY", 1, 100)?;
    let partial = p.flag("PARTIAL_ALLOWED", false)?;
    let source = match (reservation, numbers, area) {
        (Some(id), None, None) => OrderSource::Reservation(id),
        (None, Some(list), None) => OrderSource::Numbers(list),
        (None, None, area) => {
            let did_type = did_type.ok_or(ParamError::Missing("DID_TYPE"))?;
            let area_id = area.ok_or(ParamError::Missing("AREA_ID"))?;
            OrderSource::Area {
                area_id,
                did_type,
                quantity: quantity.unwrap_or(1),
                partial,
            }
        }
        _ => {
            return Err(ParamError::Invalid {
                name: "RESERVATION_ID",
                reason:
                    "cannot be combined with E164 or AREA_ID: give one way to choose the numbers"
                        .into(),
            }
            .into());
        }
    };
    if !matches!(source, OrderSource::Area { .. }) && (quantity.is_some() || partial) {
        return Err(ParamError::Invalid {
            name: "QUANTITY",
            reason: "and PARTIAL_ALLOWED only apply to orders from an AREA_ID".into(),
        }
        .into());
    }
    Ok(Request {
        target: parse_target(p)?,
        // For area orders the type is part of the source and checked there.
        did_type: if matches!(source, OrderSource::Area { .. }) {
            None
        } else {
            did_type
        },
        source,
        rate_plan: p
            .parse("RATE_PLAN_ID", RatePlanId::parse)?
            .unwrap_or_else(RatePlanId::default_plan),
        title: p.parse("TITLE", parse_title)?.unwrap_or_default(),
    })
}

pub async fn execute(ctx: &Ctx, req: Request) -> Result<Vec<u8>, Error> {
    let spec = OrderSpec {
        principal: ctx.principal.clone(),
        target: req.target,
        source: req.source,
        did_type: req.did_type,
        rate_plan: req.rate_plan,
        title: req.title,
    };
    ctx.mutate(Mutation::Order(spec)).await
}
