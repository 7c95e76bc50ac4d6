//! Each method's positional parameters, decoded straight into the typed
//! command it means. Checks run in the order they always did, so a call
//! with two faults is refused for the same one as before: first the JSON
//! forms, then the domain forms.

use didgate_core::Error;
use didgate_core::command::{
    AreaScope, AreasList, Command, CountriesList, DidList, DidOrder, DidReserve, DidUpdate,
    NumberOf, OrderSource, ReserveInto, ReserveWhat,
};
use didgate_core::domain::{
    AreaId, CountryId, DidChanges, DidFilter, E164, E164Pattern, ForwardChange, ForwardType,
    Forwarding, Label, ListLimit, Offset, RatePlanId, ReservationId,
};
use serde_json::{Map, Value};

use crate::method::Method;
use crate::values::{did_type, invalid, missing, phone, quantity, required, string, string_or_int};

/// The routing applications `did.configure` knows: the forwarding type
/// each sets and the field of its `params` that holds the target.
const APPLICATIONS: [(&str, ForwardType, &str); 2] = [
    ("call_phone_number", ForwardType::Phone, "number"),
    ("sip_uri", ForwardType::SipUri, "uri"),
];

/// The command a call of `method` with `params` means.
pub(crate) fn command(method: Method, params: &[Value]) -> Result<Command, Error> {
    let want = method.signature();
    if params.len() != want.len() {
        return Err(invalid(
            "params",
            format!(
                "of {} must be {} values: [{}]",
                method.name(),
                want.len(),
                want.join(", ")
            ),
        ));
    }
    match method {
        Method::ListCountry => Ok(Command::CountriesList(CountriesList::default())),
        Method::ListArea => list_area(params),
        Method::Reserve => reserve(params),
        Method::OrderPay => order_pay(params),
        Method::Configure => configure(params),
        Method::ListAll => Ok(Command::DidList(DidList {
            target: None,
            filter: DidFilter::default(),
            limit: ListLimit::default(),
            offset: Offset::default(),
        })),
        Method::Return => number_return(params),
    }
}

/// `[country_code, did_type]`.
fn list_area(p: &[Value]) -> Result<Command, Error> {
    let did_type = did_type(&p[1], "did_type")?;
    let country = required(&p[0], "country_code")?;
    let country = CountryId::parse(&country).map_err(|r| invalid("country_code", r))?;
    Ok(Command::AreasList(AreasList {
        scope: AreaScope::Country(country),
        did_type,
    }))
}

/// `[area_code_id, quantity, mode, class]`: `mode` is not used (the seed
/// says so), whatever it holds. The numbers go into the caller's open
/// reservation, or a new one.
fn reserve(p: &[Value]) -> Result<Command, Error> {
    let quantity = quantity(&p[1], "quantity")?;
    let area = string_or_int(&p[0], "area_code_id")?;
    if area.is_empty() {
        return Err(missing("area_code_id"));
    }
    let class = did_type(&p[3], "class")?;
    let area_id = AreaId::parse(&area).map_err(|r| invalid("area_code_id", r))?;
    Ok(Command::DidReserve(DidReserve {
        target: None,
        what: ReserveWhat::Area {
            area_id,
            quantity,
            did_type: class,
        },
        into: ReserveInto::Current,
        minutes: None,
    }))
}

/// `[order_token]`: exactly the reservation's numbers, on the default
/// plan, untitled.
fn order_pay(p: &[Value]) -> Result<Command, Error> {
    let token = required(&p[0], "order_token")?;
    let id = ReservationId::parse(&token)
        .map_err(|_| invalid("order_token", "must be a token as did.reserve returned it"))?;
    Ok(Command::DidOrder(DidOrder {
        target: None,
        source: OrderSource::Reservation(id),
        did_type: None,
        rate_plan: RatePlanId::default_plan(),
        title: Label::default(),
    }))
}

/// `[phone_number]`.
fn number_return(p: &[Value]) -> Result<Command, Error> {
    let digits = phone(&p[0], "phone_number")?;
    let e164 = E164::parse(&digits).map_err(|r| invalid("phone_number", r))?;
    Ok(Command::DidCancel(NumberOf { target: None, e164 }))
}

/// `[phone_number, {"application", "params"}]`: the number's forwarding.
fn configure(p: &[Value]) -> Result<Command, Error> {
    let number = phone(&p[0], "phone_number")?;
    let Value::Object(routing) = &p[1] else {
        return Err(invalid(
            "routing_params",
            "must be an object with application and params",
        ));
    };
    let (kind, target) = routing_target(routing)?;
    // Digits only (see `phone`), so the pattern matches one number.
    let e164 = E164Pattern::parse(&number).map_err(|r| invalid("phone_number", r))?;
    let forwarding = Forwarding::parse(kind, &target).map_err(|r| invalid("params", r))?;
    Ok(Command::DidUpdate(DidUpdate {
        target: None,
        filter: DidFilter {
            e164: Some(e164),
            ..DidFilter::default()
        },
        changes: DidChanges {
            forwarding: Some(ForwardChange::Set(forwarding)),
            ..DidChanges::default()
        },
    }))
}

/// The forwarding type and the (unchecked) target a routing object names.
fn routing_target(routing: &Map<String, Value>) -> Result<(ForwardType, String), Error> {
    let application = routing
        .get("application")
        .map(|a| string(a, "application"))
        .transpose()?;
    let Some((name, kind, field)) = APPLICATIONS
        .iter()
        .find(|(n, _, _)| Some(*n) == application.as_deref())
    else {
        let known: Vec<&str> = APPLICATIONS.iter().map(|(n, _, _)| *n).collect();
        return Err(invalid(
            "application",
            format!("must be one of {}", known.join(", ")),
        ));
    };
    let target = match routing.get("params") {
        Some(Value::Object(params)) => params
            .get(*field)
            .map(|v| string_or_int(v, "params"))
            .transpose()?,
        _ => None,
    };
    let target = target.ok_or_else(|| {
        invalid(
            "params",
            format!("of {name} must be an object with {field}"),
        )
    })?;
    Ok((*kind, target))
}

#[cfg(test)]
mod tests;
