//! Taking numbers: `DID.RESERVE`, `DID.RESERVE.CANCEL` and `DID.ORDER`.
//! Each says which numbers in exactly one way; combinations are refused
//! with the texts this front has always used.

use didgate_core::ParamError;
use didgate_core::command::{
    Command, DidOrder, DidReserve, DidReserveCancel, OrderSource, ReserveInto, ReserveWhat,
};
use didgate_core::domain::{
    AreaId, DidType, E164List, HoldMinutes, Label, Quantity, RatePlanId, ReservationId,
};

use super::target;
use crate::params::Params;

pub(super) fn did_reserve(p: &mut Params) -> Result<Command, ParamError> {
    let area = p.parse("AREA_ID", AreaId::parse)?;
    let quantity = p.number("QUANTITY", Quantity::parse)?;
    let numbers = p.parse("E164", E164List::parse)?;
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
            });
        }
        (Some(_), Some(_)) => {
            return Err(ParamError::Invalid {
                name: "E164",
                reason: "cannot be combined with AREA_ID: give one or the other".into(),
            });
        }
        (None, None) => return Err(ParamError::MissingOneOf("AREA_ID with QUANTITY, or E164")),
    };
    Ok(Command::DidReserve(DidReserve {
        target: target(p)?,
        what,
        into: p
            .parse("RESERVATION_ID", reserve_into)?
            .unwrap_or(ReserveInto::New),
        minutes: p.number("MINUTES", HoldMinutes::parse)?,
    }))
}

/// `RESERVATION_ID` of `DID.RESERVE`: an open reservation to add to, or
/// `CURRENT` for the account's newest one.
fn reserve_into(v: &str) -> Result<ReserveInto, String> {
    if v.eq_ignore_ascii_case("CURRENT") {
        Ok(ReserveInto::Current)
    } else {
        ReservationId::parse(v).map(ReserveInto::Existing)
    }
}

pub(super) fn did_reserve_cancel(p: &mut Params) -> Result<Command, ParamError> {
    Ok(Command::DidReserveCancel(DidReserveCancel {
        id: p.require("RESERVATION_ID", ReservationId::parse)?,
    }))
}

pub(super) fn did_order(p: &mut Params) -> Result<Command, ParamError> {
    let reservation = p.parse("RESERVATION_ID", ReservationId::parse)?;
    let numbers = p.parse("E164", E164List::parse)?;
    let area = p.parse("AREA_ID", AreaId::parse)?;
    let did_type = p.parse("DID_TYPE", DidType::parse)?;
    let quantity = p.number("QUANTITY", Quantity::parse)?;
    let partial = p.flag("PARTIAL_ALLOWED", false)?;
    let source = match (reservation, numbers, area) {
        (Some(id), None, None) => OrderSource::Reservation(id),
        (None, Some(list), None) => OrderSource::Numbers(list),
        (None, None, area) => OrderSource::Area {
            did_type: did_type.ok_or(ParamError::Missing("DID_TYPE"))?,
            area_id: area.ok_or(ParamError::Missing("AREA_ID"))?,
            quantity: quantity.unwrap_or_default(),
            partial,
        },
        _ => {
            return Err(ParamError::Invalid {
                name: "RESERVATION_ID",
                reason:
                    "cannot be combined with E164 or AREA_ID: give one way to choose the numbers"
                        .into(),
            });
        }
    };
    let from_area = matches!(source, OrderSource::Area { .. });
    if !from_area && (quantity.is_some() || partial) {
        return Err(ParamError::Invalid {
            name: "QUANTITY",
            reason: "and PARTIAL_ALLOWED only apply to orders from an AREA_ID".into(),
        });
    }
    Ok(Command::DidOrder(DidOrder {
        target: target(p)?,
        // For area orders the type is part of the source and checked there.
        did_type: if from_area { None } else { did_type },
        source,
        rate_plan: p
            .parse("RATE_PLAN_ID", RatePlanId::parse)?
            .unwrap_or_else(RatePlanId::default_plan),
        title: p.parse("TITLE", Label::parse)?.unwrap_or_default(),
    }))
}
