//! `DID.RESERVE`: hold numbers for the caller's tree while a human decides.

use super::did_order::parse_e164_list;
use super::filter::parse_target;
use super::{Ctx, Params};
use crate::domain::{AccountNumber, AreaId, DidType, ReservationId};
use crate::error::{Error, ParamError};
use crate::store::{Mutation, ReserveInto, ReserveSpec, ReserveWhat};

pub struct Request {
    target: Option<AccountNumber>,
    what: ReserveWhat,
    into: ReserveInto,
    minutes: Option<u32>,
}

pub fn parse(p: &mut Params) -> Result<Request, Error> {
    let area = p.parse("AREA_ID", AreaId::parse)?;
    let quantity = p.number("QUANTITY", 1, 100)?;
    let numbers = p.parse("E164", parse_e164_list)?;
    let did_type = p.parse("DID_TYPE", DidType::parse)?;
    let what = match (area, numbers) {
        (Some(area_id), None) => ReserveWhat::Area {
            area_id,
            quantity: quantity.ok_or(ParamError::Missing("QUANTITY"))?,
            did_type,
        },
        (None, Some(list)) if quantity.is_none() => ReserveWhat::Numbers(list),
        (None, Some(_)) => {
            return Err(ParamError::Invalid {
                name: "QUANTITY",
                reason: "only applies with AREA_ID".into(),
            }
            .into());
        }
        (Some(_), Some(_)) => {
            return Err(ParamError::Invalid {
                name: "E164",
                reason: "cannot be combined with AREA_ID: give one or the other".into(),
            }
            .into());
        }
        (None, None) => {
            return Err(ParamError::MissingOneOf("AREA_ID with QUANTITY, or E164").into());
        }
    };
    Ok(Request {
        target: parse_target(p)?,
        what,
        into: p
            .parse("RESERVATION_ID", |v| {
                if v.eq_ignore_ascii_case("CURRENT") {
                    Ok(ReserveInto::Current)
                } else {
                    ReservationId::parse(v).map(ReserveInto::Existing)
                }
            })?
            .unwrap_or(ReserveInto::New),
        minutes: p.number("MINUTES", 1, 60)?,
    })
}

pub async fn execute(ctx: &Ctx, req: Request) -> Result<Vec<u8>, Error> {
    let spec = ReserveSpec {
        principal: ctx.principal.clone(),
        target: req.target,
        what: req.what,
        into: req.into,
        hold_secs: i64::from(
            req.minutes
                .unwrap_or(ctx.settings.reservation_default_minutes),
        ) * ctx.settings.reservation_minute_secs,
    };
    ctx.mutate(Mutation::Reserve(spec)).await
}
