//! What the golden tests share: the demo inventory's numbers as records
//! (fixtures/demo/catalog.csv), and running one fixture through the front
//! with a hand-built answer in place of the core.

pub mod compare;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use didgate_anveo::Anveo;
use didgate_core::Error;
use didgate_core::domain::{Did, DidStatus, DidType, Money100};
use didgate_core::front::{Front, Headers, HttpReply, HttpRequest};
use didgate_core::outcome::{Executed, Outcome};

/// The demo account's number, for `DEMOACCOUNT`.
pub const ACCOUNT: &str = "1000000001";
/// The demo account's default forwarding target (`CALLFLOW`).
pub const CALLFLOW: &str = "8c25e06faf2b98erts3gdtb83df91b307ff287f1";
pub const NY: &str = "123.123.123.123.123.123.123.123.123";
/// Any time: fixtures match `ORDER_DATE` and `EXPIRES` with `*`.
pub const WHEN: i64 = 1_795_000_000;

/// `(area id, country name, area name, area code, type, SU monthly, SU setup)`
/// of the demo catalog's areas that fixtures sell from.
const AREAS: [(&str, &str, &str, &str, DidType, i64, i64); 4] = [
    (
        NY,
        "UNITED STATES",
        "New York",
        "212",
        DidType::Geographic,
        149,
        249,
    ),
    (
        "us-ny-718",
        "UNITED STATES",
        "Brooklyn",
        "718",
        DidType::Geographic,
        129,
        199,
    ),
    (
        "us-ca-415",
        "UNITED STATES",
        "San Francisco",
        "415",
        DidType::Geographic,
        149,
        249,
    ),
    (
        "us-tf-800",
        "UNITED STATES",
        "Toll Free",
        "800",
        DidType::TollFree,
        299,
        499,
    ),
];

/// A number in stock, priced with its area's default plan.
pub fn available(e164: &str, area: &str) -> Did {
    let (_, country, name, code, did_type, monthly, setup) = AREAS
        .into_iter()
        .find(|a| a.0 == area)
        .unwrap_or_else(|| panic!("no demo area {area}"));
    Did {
        e164: e164.into(),
        did_type,
        sms_url: String::new(),
        sms_email: String::new(),
        sms_phone: String::new(),
        forward_type: String::new(),
        forward_to: String::new(),
        status: DidStatus::Available,
        country_name: country.into(),
        area_name: name.into(),
        area_code: code.into(),
        monthly: Money100(monthly),
        setup: Money100(setup),
        rate_plan_id: "SU".into(),
        title: String::new(),
        account_number: String::new(),
        order_date: None,
    }
}

/// A number the demo account bought, with its default forwarding.
pub fn sold(e164: &str, area: &str, title: &str) -> Did {
    Did {
        forward_type: "CALLFLOW".into(),
        forward_to: CALLFLOW.into(),
        status: DidStatus::Active,
        title: title.into(),
        account_number: ACCOUNT.into(),
        order_date: Some(WHEN),
        ..available(e164, area)
    }
}

/// What the core would have answered a fixture's request.
pub enum Answer {
    Outcome(Outcome),
    Error(Error),
    /// The front itself refuses the request (its envelope or parameters).
    Refused,
}

struct NoHeaders;

impl Headers for NoHeaders {
    fn get(&self, _: &str) -> Option<&[u8]> {
        None
    }
}

pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Decodes `file` (a fixture request) as `POST /api/v3.asp` would.
fn post(file: &Path) -> Result<didgate_core::front::Decoded, Error> {
    let body = read(file).replace("YOURAPIKEY", "dg_0123456789abcdef_demo");
    Anveo.decode(&HttpRequest {
        method: "POST",
        path: "/api/v3.asp",
        query: None,
        headers: &NoHeaders,
        body: body.as_bytes(),
    })
}

/// The reply the front gives `fixtures/<name>/request.xml` when the core
/// answers `answer`.
fn reply(name: &str, answer: Answer) -> Result<HttpReply, String> {
    let decoded = post(&fixtures_dir().join(name).join("request.xml"));
    Ok(match (decoded, answer) {
        (Err(e), Answer::Refused) => Anveo.render_error(None, &e),
        (Err(e), _) => return Err(format!("the front refused the request: {e}")),
        (Ok(d), Answer::Refused) => match &d.request {
            Err(e) => Anveo.render_error(Some(&d.view), e),
            Ok(r) => return Err(format!("the front accepted {r:?}")),
        },
        (Ok(d), answer) => {
            let request = d.request.map_err(|e| format!("the front refused: {e}"))?;
            if d.action != Some(request.command.name()) {
                return Err(format!("logged as {:?}", d.action));
            }
            match answer {
                Answer::Outcome(o) => {
                    let executed = Executed {
                        outcome: Arc::new(o),
                        cached: None,
                    };
                    Anveo.render(&d.view, &executed)
                }
                Answer::Error(e) => Anveo.render_error(Some(&d.view), &e),
                Answer::Refused => unreachable!("matched above"),
            }
        }
    })
}

/// Every `setup-*.xml` of a case decodes to a runnable request.
fn check_setups(dir: &Path) -> Result<(), String> {
    for entry in std::fs::read_dir(dir).map_err(|e| e.to_string())? {
        let path = entry.map_err(|e| e.to_string())?.path();
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        if file.starts_with("setup-") && file.ends_with(".xml") {
            match post(&path).map(|d| d.request) {
                Ok(Ok(_)) => {}
                Ok(Err(e)) | Err(e) => return Err(format!("{file}: {e}")),
            }
        }
    }
    Ok(())
}

/// Runs one case: `Err` lists every difference from `response.xml`.
pub fn run(name: &str, answer: Answer) -> Result<(), String> {
    let dir = fixtures_dir().join(name);
    check_setups(&dir)?;
    let reply = reply(name, answer)?;
    let body = std::str::from_utf8(reply.body.as_slice()).map_err(|e| e.to_string())?;
    let mut diffs = Vec::new();
    let status_file = dir.join("status");
    let want_status: u16 = if status_file.is_file() {
        read(&status_file).trim().parse().unwrap()
    } else {
        200
    };
    if reply.status != want_status {
        diffs.push(format!("HTTP status {} (want {want_status})", reply.status));
    }
    if reply.content_type != "application/xml; charset=UTF-8" {
        diffs.push(format!("content type {}", reply.content_type));
    }
    if !body.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<RESPONSE>") {
        diffs.push("no XML declaration".into());
    }
    let expected = compare::parse(&read(&dir.join("response.xml")))?;
    let actual = compare::parse(body)?;
    diffs.extend(compare::compare(&expected, &actual, ACCOUNT));
    if diffs.is_empty() {
        Ok(())
    } else {
        Err(format!("{name}:\n  {}\n{body}", diffs.join("\n  ")))
    }
}
