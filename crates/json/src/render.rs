//! Each outcome in its method's JSON shape, `{"result": ...}`, and errors
//! as `{"error": {"code", "message"}}`.
//!
//! The shapes are structs, not maps: their fields are declared in sorted
//! order, which is the key order these replies have always had (serde_json
//! sorts map keys), and a struct keeps it whatever features serde_json is
//! built with.

use didgate_core::ErrorCode;
use didgate_core::domain::{Area, Country, Did, RatePlan, format_time};
use didgate_core::outcome::{Ordered, Outcome, Reserved};
use serde::Serialize;

use crate::method::Method;

#[derive(Serialize)]
struct Reply<T> {
    result: T,
}

/// What a method answers for an outcome it never produces (a bug
/// elsewhere): an empty result, as it always was.
#[derive(Serialize)]
struct Empty {}

#[derive(Serialize)]
struct ErrorReply<'a> {
    error: ErrorBody<'a>,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    code: &'a str,
    message: &'a str,
}

#[derive(Serialize)]
struct CountryList<'a> {
    country_list: Vec<CountryJson<'a>>,
}

#[derive(Serialize)]
struct CountryJson<'a> {
    code: &'a str,
    country_name: &'a str,
}

#[derive(Serialize)]
struct AreaList<'a> {
    area_list: Vec<AreaJson<'a>>,
}

#[derive(Serialize)]
struct AreaJson<'a> {
    did_type: &'a str,
    id: &'a str,
    name: &'a str,
    prefix: &'a str,
    rate_plans: Vec<PlanJson<'a>>,
    stock: i64,
}

#[derive(Serialize)]
struct PlanJson<'a> {
    id: &'a str,
    monthly100: i64,
    name: &'a str,
    setup100: i64,
}

#[derive(Serialize)]
struct ReservedJson<'a> {
    expire: String,
    items: Vec<&'a str>,
    token: &'a str,
}

#[derive(Serialize)]
struct PaidJson<'a> {
    charged100: i64,
    numbers: Vec<&'a str>,
    order_id: i64,
    paid: bool,
}

#[derive(Serialize)]
struct ListedJson<'a> {
    numbers: Vec<DidJson<'a>>,
    total: u64,
}

#[derive(Serialize)]
struct ConfiguredJson<'a> {
    configured: bool,
    numbers: Vec<DidJson<'a>>,
}

#[derive(Serialize)]
struct ReturnedJson<'a> {
    numbers: Vec<DidJson<'a>>,
    returned: bool,
}

/// A number "as in `DID.LIST`": the `DID` attributes, in lower case.
#[derive(Serialize)]
struct DidJson<'a> {
    account_number: &'a str,
    area_code: &'a str,
    area_name: &'a str,
    call_forward_to: &'a str,
    call_forward_type: &'a str,
    country_name: &'a str,
    did_type: &'a str,
    e164: &'a str,
    monthly100: i64,
    order_date: Option<String>,
    rate_plan_id: &'a str,
    setup100: i64,
    sms_email: &'a str,
    sms_phone: &'a str,
    sms_url: &'a str,
    status: &'a str,
    title: &'a str,
}

fn did(d: &Did) -> DidJson<'_> {
    DidJson {
        account_number: &d.account_number,
        area_code: &d.area_code,
        area_name: &d.area_name,
        call_forward_to: &d.forward_to,
        call_forward_type: &d.forward_type,
        country_name: &d.country_name,
        did_type: d.did_type.as_str(),
        e164: &d.e164,
        monthly100: d.monthly.0,
        order_date: d.order_date.map(format_time),
        rate_plan_id: &d.rate_plan_id,
        setup100: d.setup.0,
        sms_email: &d.sms_email,
        sms_phone: &d.sms_phone,
        sms_url: &d.sms_url,
        status: d.status.as_str(),
        title: &d.title,
    }
}

fn dids(list: &[Did]) -> Vec<DidJson<'_>> {
    list.iter().map(did).collect()
}

fn e164s(list: &[Did]) -> Vec<&str> {
    list.iter().map(|d| d.e164.as_str()).collect()
}

fn country(c: &Country) -> CountryJson<'_> {
    CountryJson {
        code: &c.id,
        country_name: &c.name,
    }
}

fn plan(p: &RatePlan) -> PlanJson<'_> {
    PlanJson {
        id: &p.id,
        monthly100: p.monthly.0,
        name: &p.name,
        setup100: p.setup.0,
    }
}

fn area(a: &Area) -> AreaJson<'_> {
    AreaJson {
        did_type: a.did_type.as_str(),
        id: &a.id,
        name: &a.name,
        prefix: &a.area_code,
        rate_plans: a.rate_plans.iter().map(plan).collect(),
        stock: a.stock,
    }
}

fn reserved(r: &Reserved) -> ReservedJson<'_> {
    ReservedJson {
        expire: format_time(r.expires_at),
        items: e164s(&r.dids),
        token: r.id.as_str(),
    }
}

fn paid(o: &Ordered) -> PaidJson<'_> {
    PaidJson {
        charged100: o.charged.0,
        numbers: e164s(&o.dids),
        order_id: o.order_id,
        paid: true,
    }
}

fn reply(result: impl Serialize) -> Vec<u8> {
    // These shapes hold strings, numbers and lists only: serialising them
    // cannot fail.
    serde_json::to_vec(&Reply { result }).unwrap_or_default()
}

/// `outcome` in the shape `method` answers with.
pub(crate) fn outcome(method: Option<Method>, outcome: &Outcome) -> Vec<u8> {
    let Some(method) = method else {
        return reply(Empty {});
    };
    match (method, outcome) {
        (Method::ListCountry, Outcome::Countries(list)) => reply(CountryList {
            country_list: list.iter().map(country).collect(),
        }),
        (Method::ListArea, Outcome::Areas(list)) => reply(AreaList {
            area_list: list.iter().map(area).collect(),
        }),
        (Method::Reserve, Outcome::Reserved(r)) => reply(reserved(r)),
        (Method::OrderPay, Outcome::Ordered(o)) => reply(paid(o)),
        (Method::ListAll, Outcome::Listed { dids: list, total }) => reply(ListedJson {
            numbers: dids(list),
            total: *total,
        }),
        (Method::Configure, Outcome::Changed(list)) => reply(ConfiguredJson {
            configured: true,
            numbers: dids(list),
        }),
        (Method::Return, Outcome::Changed(list)) => reply(ReturnedJson {
            numbers: dids(list),
            returned: true,
        }),
        _ => reply(Empty {}),
    }
}

/// An error reply: exactly the code and the message.
pub(crate) fn error(code: ErrorCode, message: &str) -> Vec<u8> {
    let body = ErrorReply {
        error: ErrorBody {
            code: code.as_str(),
            message,
        },
    };
    serde_json::to_vec(&body).unwrap_or_default()
}

#[cfg(test)]
mod tests;
