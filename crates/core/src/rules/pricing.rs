//! What an area sells and at which price: the type check, a plan's price
//! and the default plan shown with numbers not yet sold.

use crate::domain::{Did, DidStatus, DidType, E164, RatePlan, RatePlanId};
use crate::engine::AreaRecord;
use crate::error::{DomainError, Error};

/// `DID_TYPE`, when given, must be the area's.
pub(super) fn check_type(area: &AreaRecord, want: Option<DidType>) -> Result<(), Error> {
    match want {
        Some(want) if want != area.did_type => Err(DomainError::Invalid {
            name: "DID_TYPE",
            reason: format!(
                "is {want} but area {} sells {} numbers",
                area.id, area.did_type
            ),
        }
        .into()),
        _ => Ok(()),
    }
}

/// The plan `id` as the area offers it, or `INVALID_PARAMETER`.
pub(super) fn plan<'a>(area: &'a AreaRecord, id: &RatePlanId) -> Result<&'a RatePlan, Error> {
    area.plans
        .iter()
        .find(|p| p.id == id.as_str())
        .ok_or_else(|| {
            DomainError::Invalid {
                name: "RATE_PLAN_ID",
                reason: format!("{id} is not offered in area {}", area.id),
            }
            .into()
        })
}

/// The plan shown with numbers not yet sold: Service Unlimited where the
/// area offers it, else its first plan by id.
fn default_plan(area: &AreaRecord) -> Option<&RatePlan> {
    let su = RatePlanId::default_plan();
    area.plans
        .iter()
        .find(|p| p.id == su.as_str())
        .or_else(|| area.plans.iter().min_by(|a, b| a.id.cmp(&b.id)))
}

/// A number not yet sold as a `DID`: `Available`, with the prices of its
/// area's default plan.
pub(super) fn offered(area: &AreaRecord, e164: &E164) -> Did {
    let plan = default_plan(area);
    Did {
        e164: e164.to_string(),
        did_type: area.did_type,
        sms_url: String::new(),
        sms_email: String::new(),
        sms_phone: String::new(),
        forward_type: String::new(),
        forward_to: String::new(),
        status: DidStatus::Available,
        country_name: area.country_name.clone(),
        area_name: area.name.clone(),
        area_code: area.area_code.clone(),
        monthly: plan.map(|p| p.monthly).unwrap_or_default(),
        setup: plan.map(|p| p.setup).unwrap_or_default(),
        rate_plan_id: plan.map(|p| p.id.clone()).unwrap_or_default(),
        title: String::new(),
        account_number: String::new(),
        order_date: None,
    }
}

/// Numbers not yet sold, each with its area, as [`offered`] shows them;
/// each area is read once however many of its numbers are listed (`areas`
/// holds those already read).
pub(super) fn offer_all(
    r: &mut dyn crate::engine::Reads,
    numbers: &[(E164, crate::domain::AreaId)],
    mut areas: Vec<AreaRecord>,
) -> Result<Vec<Did>, Error> {
    let mut dids = Vec::with_capacity(numbers.len());
    for (e164, area_id) in numbers {
        let i = match areas.iter().position(|a| a.id == *area_id) {
            Some(i) => i,
            None => {
                let area = r.area(area_id)?.ok_or_else(|| {
                    crate::error::StoreError::Internal(format!("number {e164} has no area"))
                })?;
                areas.push(area);
                areas.len() - 1
            }
        };
        dids.push(offered(&areas[i], e164));
    }
    Ok(dids)
}
