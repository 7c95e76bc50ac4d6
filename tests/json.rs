//! Guards the JSON front (PROTOCOL.md section 6, seed 000) over HTTP against
//! a real server: every method's success path and result shape, every error
//! path (decoding, parameters, authentication, transport limits), the key
//! never showing in a reply, and the promise of "one domain, two codecs":
//! reservations, orders and cancellations made through one front are seen
//! and acted on through the other.
//!
//! It also runs the JSON golden fixtures: every directory
//! `fixtures/json/<case>/` holding `request.json` and `response.json` is one
//! case, run on a fresh [`TestServer`] after its optional `setup-*.json`
//! calls, and compared as parsed JSON under the rules of
//! `fixtures/json/README.md`, which [`compare`] implements.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use common::{
    AUTH_MESSAGE, JSON_PATH, Mismatch, NY_AREA, TestServer, balance_as, json_path, owned,
    read_fixture,
};
use serde_json::{Value, json};

/// Brooklyn: 10 numbers, only the SU plan (129 monthly, 199 setup).
const BROOKLYN: &str = "us-ny-718";
/// London: 10 numbers, only the SU plan (199 monthly, no setup fee).
const LONDON: &str = "gb-ldn-20";
/// The demo account's starting balance in hundredths.
const DEMO_BALANCE: i64 = 10_000;
/// The demo account's default forwarding, which new numbers take.
const DEMO_FORWARD_TYPE: &str = "CALLFLOW";
const DEMO_FORWARD_TO: &str = "8c25e06faf2b98erts3gdtb83df91b307ff287f1";
/// The keys of a number object: the `DID` attributes of PROTOCOL.md 3 in
/// lower case, since `number.list_all` lists numbers "as in `DID.LIST`".
const DID_KEYS: [&str; 17] = [
    "e164",
    "did_type",
    "sms_url",
    "sms_email",
    "sms_phone",
    "call_forward_type",
    "call_forward_to",
    "status",
    "country_name",
    "area_name",
    "area_code",
    "monthly100",
    "setup100",
    "rate_plan_id",
    "title",
    "account_number",
    "order_date",
];

// ------------------------------------------------------------------ helpers

/// A JSON front reply: the transport facts and the parsed body.
struct JsonReply {
    status: u16,
    content_type: Option<String>,
    connection: Option<String>,
    raw: String,
    body: Value,
}

impl JsonReply {
    /// Asserts a success (HTTP 200, JSON, exactly `{"result": ...}`) and
    /// returns the result.
    #[track_caller]
    fn ok(self) -> Value {
        assert_eq!(self.status, 200, "{}", self.raw);
        self.assert_json_type();
        let top = self.body.as_object().expect("reply is a JSON object");
        assert_eq!(
            top.keys().collect::<Vec<_>>(),
            ["result"],
            "a success carries only result: {}",
            self.raw
        );
        self.body["result"].clone()
    }

    /// Asserts an error with `code` travelling with HTTP 200 (every action
    /// and authentication error does) and returns its message.
    #[track_caller]
    fn fails(self, code: &str) -> String {
        self.fails_with(200, code)
    }

    /// Asserts an error of exactly the contract's shape
    /// `{"error": {"code", "message"}}` with `status` and `code`, and
    /// returns the message.
    #[track_caller]
    fn fails_with(self, status: u16, code: &str) -> String {
        assert_eq!(self.status, status, "{}", self.raw);
        self.assert_json_type();
        let top = self.body.as_object().expect("reply is a JSON object");
        assert_eq!(
            top.keys().collect::<Vec<_>>(),
            ["error"],
            "an error carries only error: {}",
            self.raw
        );
        let error = self.body["error"].as_object().expect("error is an object");
        let mut keys: Vec<&String> = error.keys().collect();
        keys.sort();
        assert_eq!(keys, ["code", "message"], "{}", self.raw);
        assert_eq!(error["code"], code, "{}", self.raw);
        let message = error["message"].as_str().expect("message is a string");
        assert!(!message.is_empty(), "{}", self.raw);
        message.to_owned()
    }

    #[track_caller]
    fn assert_json_type(&self) {
        let ct = self.content_type.as_deref().unwrap_or("(absent)");
        assert!(
            ct.starts_with("application/json"),
            "Content-Type {ct}: {}",
            self.raw
        );
    }
}

/// POSTs a raw body to the JSON front and parses the reply, which must be
/// JSON whatever happened.
async fn post_raw(s: &TestServer, key: Option<&str>, body: impl Into<Bytes>) -> JsonReply {
    let r = common::request(s.addr, "POST", &json_path(key), &[], body.into()).await;
    parse_reply(r)
}

fn parse_reply(r: common::Reply) -> JsonReply {
    let header = |name: &str| {
        r.headers
            .get(name)
            .map(|v| v.to_str().unwrap_or("(not text)").to_owned())
    };
    let body = serde_json::from_str(&r.body)
        .unwrap_or_else(|e| panic!("reply is not JSON ({e}), HTTP {}: {}", r.status, r.body));
    JsonReply {
        status: r.status,
        content_type: header("content-type"),
        connection: header("connection"),
        raw: r.body,
        body,
    }
}

/// Calls `method` with positional `params` as the demo account.
async fn rpc(s: &TestServer, method: &str, params: Value) -> JsonReply {
    rpc_as(s, &s.key, method, params).await
}

async fn rpc_as(s: &TestServer, key: &str, method: &str, params: Value) -> JsonReply {
    let body = json!({"method": method, "params": params}).to_string();
    post_raw(s, Some(key), body).await
}

/// Reserves `quantity` numbers of `area` through JSON and returns the token
/// and the items the reservation holds afterwards.
async fn reserve(s: &TestServer, area: &str, quantity: u32) -> (String, Vec<String>) {
    reserve_as(s, &s.key, area, quantity).await
}

async fn reserve_as(s: &TestServer, key: &str, area: &str, quantity: u32) -> (String, Vec<String>) {
    let r = rpc_as(
        s,
        key,
        "did.reserve",
        json!([area, quantity, "RANDOM", null]),
    )
    .await
    .ok();
    (
        r["token"].as_str().unwrap().to_owned(),
        strings(&r["items"]),
    )
}

/// The strings of a JSON array.
fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|s| {
            s.as_str()
                .unwrap_or_else(|| panic!("not a string: {s}"))
                .to_owned()
        })
        .collect()
}

/// The number objects `number.list_all` returns, by E.164.
async fn list_all(s: &TestServer) -> Vec<Value> {
    let r = rpc(s, "number.list_all", json!([])).await.ok();
    r["numbers"].as_array().unwrap().clone()
}

fn find<'a>(numbers: &'a [Value], e164: &str) -> &'a Value {
    numbers
        .iter()
        .find(|n| n["e164"] == e164)
        .unwrap_or_else(|| panic!("{e164} not listed: {numbers:?}"))
}

/// Asserts that `v` is an object with exactly `keys`.
#[track_caller]
fn assert_keys(v: &Value, keys: &[&str]) {
    let mut got: Vec<&str> = v
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .map(String::as_str)
        .collect();
    got.sort_unstable();
    let mut want = keys.to_vec();
    want.sort_unstable();
    assert_eq!(got, want, "{v}");
}

/// Seconds since the epoch of a contract time (`YYYY-MM-DD HH:MM:SS`, UTC).
fn unix_time(s: &str) -> i64 {
    let bytes = s.as_bytes();
    assert!(
        bytes.len() == 19
            && bytes[4] == b'-'
            && bytes[7] == b'-'
            && bytes[10] == b' '
            && bytes[13] == b':'
            && bytes[16] == b':',
        "not a contract time: {s:?}"
    );
    let n = |range: std::ops::Range<usize>| -> i64 {
        s[range]
            .parse()
            .unwrap_or_else(|_| panic!("not a contract time: {s:?}"))
    };
    let (y, m, d) = (n(0..4), n(5..7), n(8..10));
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    days * 86_400 + n(11..13) * 3600 + n(14..16) * 60 + n(17..19)
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// The `created_at` and `expires_at` (seconds since the epoch) of the
/// reservation `token`, read straight from the database (read-only).
fn stored_reservation_times(s: &TestServer, token: &str) -> (i64, i64) {
    let conn = rusqlite::Connection::open_with_flags(
        &s.db_path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    conn.query_row(
        "SELECT created_at, expires_at FROM reservations WHERE id = ?1",
        [token],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .unwrap_or_else(|e| panic!("reservation {token} in the database: {e}"))
}

/// A token as `did.reserve` hands it out: the XML front's reservation id.
#[track_caller]
fn assert_token(token: &str) {
    let hex = token.strip_prefix("rsv_").unwrap_or("");
    assert!(
        hex.len() == 16 && hex.bytes().all(|b| b.is_ascii_hexdigit()),
        "not a reservation token: {token:?}"
    );
}

// ------------------------------------------------------- golden fixtures

/// Replaced in expected strings by the demo account's number.
const ACCOUNT_PLACEHOLDER: &str = "DEMOACCOUNT";
/// An expected value of exactly this string matches any actual value.
const ANY: &str = "*";
/// Fewer cases than this means the fixtures were not found or were emptied.
const MIN_CASES: usize = 8;
/// Cases the contract's review asked for by name: their absence is a
/// harness or fixture bug, not a smaller test.
const REQUIRED_CASES: [&str; 12] = [
    "list_country",
    "list_area_gb_mobile",
    "reserve",
    "reserve_adds_to_current",
    "order_pay_unknown_token",
    "configure_unknown_application",
    "list_all_empty",
    "return_unknown_number",
    "unknown_method",
    "malformed_json",
    "wrong_param_count",
    "wrong_param_type",
];

/// A compact rendering of a value for failure reports.
fn show(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 120 {
        format!("{}…", s.chars().take(120).collect::<String>())
    } else {
        s
    }
}

/// The path of `key` under the object at `path`.
fn key_path(path: &str, key: &str) -> String {
    if !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        format!("{path}.{key}")
    } else {
        format!("{path}[{key:?}]")
    }
}

/// Compares replies under the fixture rules and returns every difference
/// (empty when `actual` satisfies `expected`). `account` is what the
/// `DEMOACCOUNT` placeholder stands for.
fn compare(expected: &Value, actual: &Value, account: &str) -> Vec<Mismatch> {
    let mut out = Vec::new();
    compare_at(expected, actual, "$", account, &mut out);
    out
}

fn compare_at(
    expected: &Value,
    actual: &Value,
    path: &str,
    account: &str,
    out: &mut Vec<Mismatch>,
) {
    let mut differ = |expected: String, actual: String| {
        out.push(Mismatch {
            path: path.to_owned(),
            expected,
            actual,
        });
    };
    match (expected, actual) {
        (Value::String(e), _) if e == ANY => {}
        (Value::Object(e), Value::Object(a)) => {
            // Every expected key must be there and equal, and no other key
            // may be: the fixtures pin the shapes of the replies.
            for (key, want) in e {
                let child = key_path(path, key);
                match a.get(key) {
                    Some(got) => compare_at(want, got, &child, account, out),
                    None => out.push(Mismatch {
                        path: child,
                        expected: show(want),
                        actual: "(key absent)".into(),
                    }),
                }
            }
            for (key, got) in a {
                if !e.contains_key(key) {
                    out.push(Mismatch {
                        path: key_path(path, key),
                        expected: "(no such key)".into(),
                        actual: show(got),
                    });
                }
            }
        }
        (Value::Array(e), Value::Array(a)) => {
            if e.len() != a.len() {
                differ(
                    format!("an array of {} element(s)", e.len()),
                    format!("an array of {} element(s): {}", a.len(), show(actual)),
                );
            }
            // The common prefix is still compared, so that a report also
            // says which elements differ.
            for (i, (want, got)) in e.iter().zip(a).enumerate() {
                compare_at(want, got, &format!("{path}[{i}]"), account, out);
            }
        }
        (Value::String(e), Value::String(a)) => {
            if e.replace(ACCOUNT_PLACEHOLDER, account) != *a {
                differ(show(expected), show(actual));
            }
        }
        // Numbers, booleans and null must be equal; a value of another type
        // (a string "10" for the number 10) is a mismatch.
        _ => {
            if expected != actual {
                differ(show(expected), show(actual));
            }
        }
    }
}

/// One fixture directory.
struct Case {
    name: String,
    dir: PathBuf,
}

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/json")
}

/// The cases under `fixtures/json/`, sorted by name. A directory with only
/// one of `request.json` and `response.json` is a broken case, not a skip.
fn discover() -> Vec<Case> {
    let root = fixtures_dir();
    let mut cases = Vec::new();
    for entry in
        std::fs::read_dir(&root).unwrap_or_else(|e| panic!("reading {}: {e}", root.display()))
    {
        let dir = entry.expect("directory entry").path();
        if !dir.is_dir() {
            continue;
        }
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let request = dir.join("request.json").is_file();
        let response = dir.join("response.json").is_file();
        assert_eq!(
            request, response,
            "fixtures/json/{name}: a case needs both request.json and response.json"
        );
        assert!(
            request,
            "fixtures/json/{name}: not a case (no request.json)"
        );
        cases.push(Case { name, dir });
    }
    cases.sort_by(|a, b| a.name.cmp(&b.name));
    cases
}

/// Runs one case on a fresh server; `Err` holds the failure report.
async fn run_case(case: &Case) -> Result<(), String> {
    let name = &case.name;
    let expected: Value = serde_json::from_str(&read_fixture(&case.dir.join("response.json")))
        .map_err(|e| format!("fixtures/json/{name}/response.json: not JSON: {e}"))?;
    // A fixture must say whether the call succeeded, or it could match
    // almost anything.
    let top = expected
        .as_object()
        .map(|o| o.keys().cloned().collect::<Vec<_>>());
    if !matches!(top.as_deref(), Some([k]) if k == "result" || k == "error") {
        return Err(format!(
            "fixtures/json/{name}/response.json: must be an object with exactly one key, result or error"
        ));
    }
    let (want_status, setups) =
        common::case_status_and_setups(&case.dir, &format!("fixtures/json/{name}"), "json")?;

    let s = TestServer::start().await;
    for setup in &setups {
        let r = post_raw(&s, Some(&s.key), read_fixture(setup)).await;
        if r.status != 200 || r.body.get("result").is_none() || r.body.get("error").is_some() {
            let file = setup.file_name().unwrap().to_string_lossy();
            let raw = r.raw;
            s.stop().await;
            return Err(format!(
                "json golden case `{name}`: setup step {file} failed (HTTP {}):\n{raw}",
                r.status
            ));
        }
    }
    let reply = common::request(
        s.addr,
        "POST",
        &json_path(Some(&s.key)),
        &[],
        read_fixture(&case.dir.join("request.json")).into(),
    )
    .await;
    let account = s.account.clone();
    s.stop().await;

    let mut mismatches = Vec::new();
    if reply.status != want_status {
        mismatches.push(Mismatch {
            path: "HTTP status".into(),
            expected: want_status.to_string(),
            actual: reply.status.to_string(),
        });
    }
    let content_type = reply
        .headers
        .get("content-type")
        .map(|v| v.to_str().unwrap_or("(not text)"));
    if !content_type.is_some_and(|ct| ct.starts_with("application/json")) {
        mismatches.push(Mismatch {
            path: "HTTP Content-Type".into(),
            expected: "application/json".into(),
            actual: content_type.unwrap_or("(header absent)").into(),
        });
    }
    match serde_json::from_str::<Value>(&reply.body) {
        Ok(actual) => mismatches.extend(compare(&expected, &actual, &account)),
        Err(e) => mismatches.push(Mismatch {
            path: "$".into(),
            expected: "a JSON reply".into(),
            actual: format!("not JSON: {e}"),
        }),
    }
    if mismatches.is_empty() {
        return Ok(());
    }
    Err(common::mismatch_report(
        &format!("json golden case `{name}` (fixtures/json/{name})"),
        &mismatches,
        &reply,
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_golden_fixtures_match() {
    let cases = discover();
    let names: Vec<&str> = cases.iter().map(|c| c.name.as_str()).collect();
    assert!(
        cases.len() >= MIN_CASES,
        "found only {} JSON golden case(s) under {}: {names:?}",
        cases.len(),
        fixtures_dir().display()
    );
    for required in REQUIRED_CASES {
        assert!(
            names.contains(&required),
            "case {required} is missing: {names:?}"
        );
    }
    // Cases run one after another, each on its own server, so that one
    // case's reservations cannot change another's stock.
    let mut failures = Vec::new();
    for case in &cases {
        match run_case(case).await {
            Ok(()) => println!("json golden case {}: ok", case.name),
            Err(report) => failures.push(report),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} JSON golden case(s) failed:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}

/// The comparator must reject what the fixture rules reject, or a green
/// golden run would prove nothing. The expected document is the real
/// `list_area_gb_mobile` fixture, so its parsing is covered too.
#[test]
fn json_comparator_rejects_mismatches() {
    let expected: Value = serde_json::from_str(&read_fixture(
        &fixtures_dir().join("list_area_gb_mobile/response.json"),
    ))
    .unwrap();
    let check = |actual: &Value| compare(&expected, actual, "1234567890");
    let good = expected.clone();
    assert!(check(&good).is_empty());

    // A wrong price is reported at its path, with both values.
    let mut bad = good.clone();
    bad["result"]["area_list"][0]["rate_plans"][1]["monthly100"] = json!(400);
    let m = check(&bad);
    assert_eq!(m.len(), 1, "{m:?}");
    assert_eq!(m[0].path, "$.result.area_list[0].rate_plans[1].monthly100");
    assert_eq!(
        (m[0].expected.as_str(), m[0].actual.as_str()),
        ("399", "400")
    );

    // The same value as a string is another type, hence a mismatch.
    let mut bad = good.clone();
    bad["result"]["area_list"][0]["stock"] = json!("10");
    assert_eq!(check(&bad)[0].path, "$.result.area_list[0].stock");

    // An extra key and a missing key both fail: shapes are pinned.
    let mut bad = good.clone();
    bad["result"]["area_list"][0]["state_id"] = json!(null);
    let m = check(&bad);
    assert_eq!(m.len(), 1, "{m:?}");
    assert_eq!(m[0].path, "$.result.area_list[0].state_id");
    assert_eq!(m[0].expected, "(no such key)");
    let mut bad = good.clone();
    bad["result"]["area_list"][0]
        .as_object_mut()
        .unwrap()
        .remove("prefix");
    let m = check(&bad);
    assert_eq!(m[0].path, "$.result.area_list[0].prefix", "{m:?}");
    assert_eq!(m[0].actual, "(key absent)");

    // Arrays must have the same length: an extra plan or none at all fails.
    let mut bad = good.clone();
    bad["result"]["area_list"][0]["rate_plans"]
        .as_array_mut()
        .unwrap()
        .push(json!({"id": "PM"}));
    assert_eq!(check(&bad)[0].path, "$.result.area_list[0].rate_plans");
    let mut bad = good.clone();
    bad["result"]["area_list"] = json!([]);
    assert_eq!(check(&bad)[0].path, "$.result.area_list");

    // An error where a result was expected differs at the top.
    let m = check(&json!({"error": {"code": "INTERNAL", "message": "x"}}));
    let paths: Vec<&str> = m.iter().map(|m| m.path.as_str()).collect();
    assert_eq!(paths, ["$.result", "$.error"]);
}

#[test]
fn json_comparator_wildcards_and_account_placeholder() {
    let expected = json!({
        "result": {
            "token": "*",
            "order": {"id": "*"},
            "message": "number 1 in account DEMOACCOUNT not found"
        }
    });
    let check = |actual: Value| compare(&expected, &actual, "1234567890");
    // `*` takes any value of any type, an object included.
    assert!(
        check(json!({"result": {"token": null, "order": {"id": 7},
            "message": "number 1 in account 1234567890 not found"}}))
        .is_empty()
    );
    assert!(
        check(
            json!({"result": {"token": "rsv_1", "order": {"id": {"deep": [1]}},
            "message": "number 1 in account 1234567890 not found"}})
        )
        .is_empty()
    );
    // `*` does not make the key optional.
    let m = check(json!({"result": {"order": {"id": 1},
        "message": "number 1 in account 1234567890 not found"}}));
    assert_eq!(m[0].path, "$.result.token", "{m:?}");
    // DEMOACCOUNT stands for the given account only.
    let m = check(json!({"result": {"token": "t", "order": {"id": 1},
        "message": "number 1 in account 9999999999 not found"}}));
    assert_eq!(m[0].path, "$.result.message", "{m:?}");
    // A `*` that is only part of a string is literal.
    let partial = json!({"v": "rsv_*"});
    assert_eq!(compare(&partial, &json!({"v": "rsv_1"}), "")[0].path, "$.v");
    // Keys that are not identifiers are quoted in paths.
    assert_eq!(
        compare(&json!({"a b": 1}), &json!({"a b": 2}), "")[0].path,
        "$[\"a b\"]"
    );
}

// ---------------------------------------------------------------- catalog

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_country_gives_every_country_with_areas_in_the_seed_shape() {
    let s = TestServer::start().await;
    let r = rpc(&s, "did.zone.list_country", json!([])).await.ok();
    assert_keys(&r, &["country_list"]);
    let list = r["country_list"].as_array().unwrap();
    for c in list {
        assert_keys(c, &["country_name", "code"]);
    }
    let codes: Vec<&str> = list.iter().map(|c| c["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["FR", "GB", "US"]);
    // The names are the XML front's COUNTRY_NAME: one catalog, two codecs.
    let xml = s.call("ANVEO.COUNTRIES.LIST", &[]).await.ok();
    for c in xml.elements("COUNTRY") {
        let json = list.iter().find(|j| j["code"] == c["COUNTRY_ID"]).unwrap();
        assert_eq!(json["country_name"], c["COUNTRY_NAME"]);
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_area_filters_by_did_type_and_null_means_every_type() {
    let s = TestServer::start().await;
    let mobile = rpc(&s, "did.zone.list_area", json!(["GB", "MOBILE"]))
        .await
        .ok();
    assert_keys(&mobile, &["area_list"]);
    let areas = mobile["area_list"].as_array().unwrap();
    assert_eq!(areas.len(), 1, "{mobile}");
    let area = &areas[0];
    assert_keys(
        area,
        &["id", "name", "prefix", "did_type", "stock", "rate_plans"],
    );
    assert_eq!(area["id"], "gb-mob-7700");
    assert_eq!(area["prefix"], "7700");
    assert_eq!(area["did_type"], "MOBILE");
    assert_eq!(area["stock"], 10);
    for plan in area["rate_plans"].as_array().unwrap() {
        assert_keys(plan, &["id", "name", "monthly100", "setup100"]);
    }

    // A null did_type lists every type, each area with its stock as the
    // XML front counts it.
    let all = rpc(&s, "did.zone.list_area", json!(["GB", null]))
        .await
        .ok();
    let areas = all["area_list"].as_array().unwrap();
    let mut ids: Vec<&str> = areas.iter().map(|a| a["id"].as_str().unwrap()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["gb-ldn-20", "gb-mob-7700", "gb-nat-330"]);
    let xml = s
        .call("ANVEO.AREAS.LIST", &[("COUNTRY_ID", "GB")])
        .await
        .ok();
    for a in xml.elements("AREA") {
        let json = areas.iter().find(|j| j["id"] == a["AREA_ID"]).unwrap();
        assert_eq!(json["stock"].to_string(), a["STOCK"]);
        assert_eq!(json["did_type"], a["DID_TYPE"]);
        assert_eq!(json["prefix"], a["AREA_CODE"]);
    }

    // Enumerated values match case-insensitively, as on the XML front.
    let lower = rpc(&s, "did.zone.list_area", json!(["gb", "mobile"]))
        .await
        .ok();
    assert_eq!(lower, mobile);
    // An unknown type and an unknown country are the XML front's errors.
    rpc(&s, "did.zone.list_area", json!(["GB", "LOCAL"]))
        .await
        .fails("INVALID_PARAMETER");
    let m = rpc(&s, "did.zone.list_area", json!(["ZZ", null]))
        .await
        .fails("NOT_FOUND");
    assert_eq!(m, "country ZZ not found");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_area_stock_excludes_numbers_held_by_a_reservation() {
    let s = TestServer::start().await;
    reserve(&s, BROOKLYN, 3).await;
    let r = rpc(&s, "did.zone.list_area", json!(["US", "GEOGRAPHIC"]))
        .await
        .ok();
    let brooklyn = r["area_list"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == BROOKLYN)
        .unwrap()
        .clone();
    assert_eq!(brooklyn["stock"], 7, "{brooklyn}");
    s.stop().await;
}

// ------------------------------------------------------------ reservations

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reserve_opens_a_reservation_with_token_expiry_and_items() {
    let s = TestServer::start().await;
    let before = now();
    let r = rpc(
        &s,
        "did.reserve",
        json!([BROOKLYN, 2, "RANDOM", "GEOGRAPHIC"]),
    )
    .await
    .ok();
    let after = now();
    assert_keys(&r, &["token", "expire", "items"]);
    let token = r["token"].as_str().unwrap();
    assert_token(token);
    // The lowest numbers, as for an order from the area.
    assert_eq!(strings(&r["items"]), ["17185550100", "17185550101"]);
    // The default hold is 15 minutes (PROTOCOL.md 4, MINUTES), written as a
    // contract time: exactly the reservation's creation time as the
    // database keeps it plus 900 s, and the expiry the database keeps.
    let expire = unix_time(r["expire"].as_str().unwrap());
    let (created, stored_expire) = stored_reservation_times(&s, token);
    assert_eq!(expire, created + 15 * 60, "created at {created}: {r}");
    assert_eq!(expire, stored_expire, "{r}");
    // The creation time is the server's clock at the call: within the
    // call's own span (whole seconds) on this machine's clock.
    assert!(
        (before..=after).contains(&created),
        "created at {created}, call from {before} to {after}"
    );
    // The held numbers are out of stock and out of the XML search.
    let search = s.call("DID.SEARCH", &[("AREA_ID", BROOKLYN)]).await.ok();
    let found = search.e164s();
    assert!(!found.contains(&"17185550100".to_owned()), "{found:?}");
    assert_eq!(found.len(), 8, "{found:?}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_reserve_adds_to_the_same_token() {
    let s = TestServer::start().await;
    let first = rpc(&s, "did.reserve", json!([BROOKLYN, 2, "RANDOM", null]))
        .await
        .ok();
    let before_second = now();
    let second = rpc(
        &s,
        "did.reserve",
        json!([LONDON, 1, "RANDOM", "GEOGRAPHIC"]),
    )
    .await
    .ok();
    let after_second = now();
    assert_eq!(second["token"], first["token"]);
    assert_eq!(
        strings(&second["items"]),
        ["17185550100", "17185550101", "442079460100"]
    );
    // Adding refreshes the hold: the reservation now ends the default 15
    // minutes after the second call, never earlier than before.
    let (e1, e2) = (
        unix_time(first["expire"].as_str().unwrap()),
        unix_time(second["expire"].as_str().unwrap()),
    );
    let (created, stored_expire) = stored_reservation_times(&s, first["token"].as_str().unwrap());
    // Exact: the first expiry is the creation time the database keeps plus
    // the hold, and the second is the expiry the database now keeps.
    assert_eq!(e1, created + 15 * 60, "created at {created}: {first}");
    assert_eq!(e2, stored_expire, "{second}");
    assert!(e2 >= e1, "{first} then {second}");
    // The time of the second call itself is stored nowhere (adding only
    // rewrites `expires_at`), so it cannot be derived from the reply or the
    // database: it is bracketed by this machine's clock around the call,
    // to the whole second.
    assert!(
        (before_second + 15 * 60..=after_second + 15 * 60).contains(&e2),
        "expiry {e2}, second call from {before_second} to {after_second}: {second}"
    );
    // A third call from the first area again takes the next free numbers.
    let third = rpc(&s, "did.reserve", json!([BROOKLYN, 1, "RANDOM", null]))
        .await
        .ok();
    assert_eq!(third["token"], first["token"]);
    assert_eq!(strings(&third["items"]).len(), 4, "{third}");
    assert!(strings(&third["items"]).contains(&"17185550102".to_owned()));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reserve_ignores_mode_and_accepts_a_null_class() {
    let s = TestServer::start().await;
    // The seed says mode is not used: whatever it holds, the call works.
    for mode in [json!("SEQUENTIAL"), json!(null), json!(7), json!({"x": 1})] {
        rpc(&s, "did.reserve", json!([BROOKLYN, 1, mode, null]))
            .await
            .ok();
    }
    // Area ids may come as JSON numbers too; an unknown one is NOT_FOUND.
    let m = rpc(&s, "did.reserve", json!([12345, 1, null, null]))
        .await
        .fails("NOT_FOUND");
    assert_eq!(m, "area 12345 not found");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reserve_refuses_out_of_range_quantities_and_a_class_the_area_does_not_sell() {
    let s = TestServer::start().await;
    for quantity in [
        json!(0),
        json!(101),
        json!(-1),
        json!(1.5),
        json!("2"),
        json!(null),
    ] {
        rpc(&s, "did.reserve", json!([BROOKLYN, quantity, null, null]))
            .await
            .fails("INVALID_PARAMETER");
    }
    let m = rpc(
        &s,
        "did.reserve",
        json!(["gb-mob-7700", 1, null, "GEOGRAPHIC"]),
    )
    .await
    .fails("INVALID_PARAMETER");
    assert!(m.contains("MOBILE"), "{m}");
    rpc(&s, "did.reserve", json!([BROOKLYN, 1, null, "LOCAL"]))
        .await
        .fails("INVALID_PARAMETER");
    // Nothing was held by any of them.
    assert_eq!(list_area_stock(&s, "US", BROOKLYN).await, 10);
    s.stop().await;
}

/// The `stock` that `did.zone.list_area` shows for `area` of `country`.
async fn list_area_stock(s: &TestServer, country: &str, area: &str) -> i64 {
    let r = rpc(s, "did.zone.list_area", json!([country, null]))
        .await
        .ok();
    let list = r["area_list"].as_array().unwrap();
    let found = list.iter().find(|a| a["id"] == area);
    found.unwrap_or_else(|| panic!("{area} not listed: {r}"))["stock"]
        .as_i64()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_reserve_leaves_the_current_reservation_unchanged() {
    let s = TestServer::start().await;
    let (token, items) = reserve(&s, BROOKLYN, 2).await;
    // Eight are left: all or nothing, so none of the eleven is added.
    let m = rpc(&s, "did.reserve", json!([BROOKLYN, 11, null, null]))
        .await
        .fails("OUT_OF_STOCK");
    assert_eq!(
        m,
        "out of stock: 11 requested, 8 available in area us-ny-718"
    );
    let (again, more) = reserve(&s, LONDON, 1).await;
    assert_eq!(again, token);
    assert_eq!(more.len(), items.len() + 1, "{more:?}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reserve_after_paying_opens_a_new_reservation() {
    let s = TestServer::start().await;
    let (paid, _) = reserve(&s, BROOKLYN, 1).await;
    rpc(&s, "did.order.pay", json!([paid])).await.ok();
    // The paid reservation is no longer the caller's open one.
    let (fresh, items) = reserve(&s, BROOKLYN, 1).await;
    assert_ne!(fresh, paid);
    assert_eq!(items, ["17185550101"]);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reserve_after_expiry_opens_a_new_reservation_and_the_old_token_conflicts() {
    // A one-second minute and a one-minute default hold: reservations
    // expire a second after they are made.
    let s = TestServer::start_with(|c| {
        c.reservation_minute = Duration::from_secs(1);
        c.reservation_minutes = 1;
    })
    .await;
    let (old, _) = reserve(&s, BROOKLYN, 2).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let (fresh, items) = reserve(&s, BROOKLYN, 1).await;
    assert_ne!(fresh, old);
    // The expired hold let its numbers go, so the lowest one is free again.
    assert_eq!(items, ["17185550100"]);
    let m = rpc(&s, "did.order.pay", json!([old]))
        .await
        .fails("CONFLICT");
    assert!(m.contains("expired"), "{m}");
    assert_eq!(balance_as(&s, &s.key).await, DEMO_BALANCE);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_accounts_reservation_is_neither_current_nor_payable() {
    let s = TestServer::start().await;
    let other = s.new_account(DEMO_BALANCE).await;
    let (theirs, their_items) = reserve_as(&s, &other.api_key, BROOKLYN, 2).await;
    let (mine, my_items) = reserve(&s, BROOKLYN, 2).await;
    assert_ne!(mine, theirs);
    assert!(
        my_items.iter().all(|n| !their_items.contains(n)),
        "{my_items:?} / {their_items:?}"
    );
    // Another tree's reservation does not exist for this caller.
    let m = rpc(&s, "did.order.pay", json!([theirs]))
        .await
        .fails("NOT_FOUND");
    assert_eq!(m, format!("reservation {theirs} not found"));
    assert_eq!(balance_as(&s, &s.key).await, DEMO_BALANCE);
    assert!(owned(&s, &s.account).is_empty());
    s.stop().await;
}

// ----------------------------------------------------------------- paying

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_pay_buys_exactly_the_reserved_numbers_and_charges_setup_plus_monthly() {
    let s = TestServer::start().await;
    reserve(&s, BROOKLYN, 2).await;
    let (token, items) = reserve(&s, LONDON, 1).await;
    let r = rpc(&s, "did.order.pay", json!([token])).await.ok();
    assert_keys(&r, &["paid", "order_id", "charged100", "numbers"]);
    assert_eq!(r["paid"], true);
    assert!(r["order_id"].is_u64(), "{r}");
    assert_eq!(strings(&r["numbers"]), items);
    // Brooklyn SU is 199 setup + 129 monthly, London SU 0 + 199.
    let cost = 2 * (199 + 129) + 199;
    assert_eq!(r["charged100"], cost);
    assert_eq!(balance_as(&s, &s.key).await, DEMO_BALANCE - cost);
    // Exactly the reserved numbers now belong to the account, with its
    // default forwarding.
    assert_eq!(owned(&s, &s.account), items);
    for n in list_all(&s).await {
        assert_eq!(n["status"], "Active", "{n}");
        assert_eq!(n["account_number"], s.account.as_str(), "{n}");
        assert_eq!(n["call_forward_type"], DEMO_FORWARD_TYPE, "{n}");
        assert_eq!(n["call_forward_to"], DEMO_FORWARD_TO, "{n}");
        assert_eq!(n["rate_plan_id"], "SU", "{n}");
    }
    // Stock outside the reservation is untouched.
    assert_eq!(list_area_stock(&s, "US", BROOKLYN).await, 8);
    assert_eq!(list_area_stock(&s, "GB", LONDON).await, 9);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_pay_of_an_already_paid_token_is_conflict_and_charges_nothing() {
    let s = TestServer::start().await;
    let (token, _) = reserve(&s, BROOKLYN, 1).await;
    rpc(&s, "did.order.pay", json!([token])).await.ok();
    let after_first = balance_as(&s, &s.key).await;
    let m = rpc(&s, "did.order.pay", json!([token]))
        .await
        .fails("CONFLICT");
    assert!(m.contains(&token), "{m}");
    assert_eq!(balance_as(&s, &s.key).await, after_first);
    assert_eq!(owned(&s, &s.account).len(), 1);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_pay_without_the_funds_buys_nothing() {
    let s = TestServer::start().await;
    // 3.27 cannot pay one Brooklyn number (3.28).
    let poor = s.new_account(327).await;
    let (token, _) = reserve_as(&s, &poor.api_key, BROOKLYN, 1).await;
    let m = rpc_as(&s, &poor.api_key, "did.order.pay", json!([token]))
        .await
        .fails("INSUFFICIENT_FUNDS");
    assert_eq!(m, "insufficient funds: order costs 328, balance is 327");
    assert_eq!(balance_as(&s, &poor.api_key).await, 327);
    assert!(owned(&s, &poor.account_number).is_empty());
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_pay_refuses_tokens_that_are_not_reservation_ids() {
    let s = TestServer::start().await;
    for token in [
        json!("rsv_XYZ"),
        json!("12345"),
        json!(5),
        json!(null),
        json!([]),
    ] {
        rpc(&s, "did.order.pay", json!([token]))
            .await
            .fails("INVALID_PARAMETER");
    }
    let m = rpc(&s, "did.order.pay", json!(["rsv_0123456789abcdef"]))
        .await
        .fails("NOT_FOUND");
    assert_eq!(m, "reservation rsv_0123456789abcdef not found");
    s.stop().await;
}

// ------------------------------------------------------------ configuring

/// Buys `quantity` Brooklyn numbers through JSON and returns them.
async fn buy(s: &TestServer, quantity: u32) -> Vec<String> {
    let (token, _) = reserve(s, BROOKLYN, quantity).await;
    strings(&rpc(s, "did.order.pay", json!([token])).await.ok()["numbers"])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configure_with_call_phone_number_and_sip_uri_shows_in_list_all() {
    let s = TestServer::start().await;
    let numbers = buy(&s, 3).await;
    let (a, b, c) = (&numbers[0], &numbers[1], &numbers[2]);

    let r = rpc(
        &s,
        "did.configure",
        json!([a, {"application": "call_phone_number", "params": {"number": "14155550123"}}]),
    )
    .await
    .ok();
    assert_keys(&r, &["configured", "numbers"]);
    assert_eq!(r["configured"], true);
    let changed = r["numbers"].as_array().unwrap();
    assert_eq!(changed.len(), 1, "{r}");
    assert_keys(&changed[0], &DID_KEYS);
    assert_eq!(changed[0]["e164"], a.as_str());
    assert_eq!(changed[0]["call_forward_type"], "PHONE");
    assert_eq!(changed[0]["call_forward_to"], "14155550123");

    let r = rpc(
        &s,
        "did.configure",
        json!([b, {"application": "sip_uri", "params": {"uri": "alice@sip.example.com"}}]),
    )
    .await
    .ok();
    assert_eq!(r["numbers"][0]["call_forward_type"], "SIP_URI");

    // Numbers given as JSON integers or with a leading + are accepted.
    let as_int: u64 = c.parse().unwrap();
    rpc(
        &s,
        "did.configure",
        json!([as_int, {"application": "call_phone_number", "params": {"number": 442079460999_u64}}]),
    )
    .await
    .ok();
    rpc(
        &s,
        "did.configure",
        json!([format!("+{c}"), {"application": "call_phone_number", "params": {"number": "442079460998"}}]),
    )
    .await
    .ok();

    let listed = list_all(&s).await;
    assert_eq!(find(&listed, a)["call_forward_type"], "PHONE");
    assert_eq!(find(&listed, a)["call_forward_to"], "14155550123");
    assert_eq!(find(&listed, b)["call_forward_type"], "SIP_URI");
    assert_eq!(find(&listed, b)["call_forward_to"], "alice@sip.example.com");
    assert_eq!(find(&listed, c)["call_forward_to"], "442079460998");
    // The XML front sees the same forwarding.
    let xml = s.call("DID.LIST", &[("FILTER.E164", b)]).await.ok();
    assert_eq!(xml.elements("DID")[0]["CALL_FORWARD_TYPE"], "SIP_URI");
    assert_eq!(
        xml.elements("DID")[0]["CALL_FORWARD_TO"],
        "alice@sip.example.com"
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configure_refuses_bad_routing_and_changes_nothing() {
    let s = TestServer::start().await;
    let numbers = buy(&s, 1).await;
    let n = &numbers[0];
    let bad = [
        // Targets the forwarding types refuse (PROTOCOL.md 4).
        json!([n, {"application": "call_phone_number", "params": {"number": "12"}}]),
        json!([n, {"application": "sip_uri", "params": {"uri": "not a uri"}}]),
        // Routing objects without what the application needs.
        json!([n, {"application": "sip_uri", "params": {}}]),
        json!([n, {"application": "sip_uri"}]),
        json!([n, {"params": {"uri": "a@b.example"}}]),
        json!([n, {"application": 5, "params": {"uri": "a@b.example"}}]),
        json!([n, "sip_uri"]),
        json!([n, null]),
        // A pattern or an empty phone number must never select numbers.
        json!(["1*", {"application": "sip_uri", "params": {"uri": "a@b.example"}}]),
        json!([null, {"application": "sip_uri", "params": {"uri": "a@b.example"}}]),
    ];
    // An empty phone number is absent, which the contract calls
    // MISSING_PARAMETER (section 3); it selects nothing either.
    rpc(
        &s,
        "did.configure",
        json!(["", {"application": "sip_uri", "params": {"uri": "a@b.example"}}]),
    )
    .await
    .fails("MISSING_PARAMETER");
    for params in bad {
        let reply = rpc(&s, "did.configure", params.clone()).await;
        assert_eq!(
            reply.body["error"]["code"], "INVALID_PARAMETER",
            "{params}: {}",
            reply.raw
        );
        reply.fails("INVALID_PARAMETER");
    }
    let listed = list_all(&s).await;
    assert_eq!(find(&listed, n)["call_forward_type"], DEMO_FORWARD_TYPE);
    assert_eq!(find(&listed, n)["call_forward_to"], DEMO_FORWARD_TO);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configure_and_return_of_another_accounts_number_are_not_found() {
    let s = TestServer::start().await;
    let theirs = s.new_account(DEMO_BALANCE).await;
    let (token, _) = reserve_as(&s, &theirs.api_key, BROOKLYN, 1).await;
    let bought = rpc_as(&s, &theirs.api_key, "did.order.pay", json!([token]))
        .await
        .ok();
    let n = bought["numbers"][0].as_str().unwrap().to_owned();
    rpc(
        &s,
        "did.configure",
        json!([n, {"application": "sip_uri", "params": {"uri": "mallory@evil.example"}}]),
    )
    .await
    .fails("NOT_FOUND");
    rpc(&s, "number.return", json!([n]))
        .await
        .fails("NOT_FOUND");
    // The owner still has it, active and unchanged.
    let theirs_listed = rpc_as(&s, &theirs.api_key, "number.list_all", json!([]))
        .await
        .ok();
    let listed = theirs_listed["numbers"].as_array().unwrap();
    assert_eq!(find(listed, &n)["status"], "Active");
    assert_eq!(find(listed, &n)["call_forward_to"], "");
    s.stop().await;
}

// ---------------------------------------------------------------- listing

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_all_gives_every_number_with_the_did_fields_and_a_total() {
    let s = TestServer::start().await;
    let empty = rpc(&s, "number.list_all", json!([])).await.ok();
    assert_eq!(empty, json!({"numbers": [], "total": 0}));
    let mut numbers = buy(&s, 2).await;
    let (token, _) = reserve(&s, LONDON, 1).await;
    numbers.extend(strings(
        &rpc(&s, "did.order.pay", json!([token])).await.ok()["numbers"],
    ));
    let r = rpc(&s, "number.list_all", json!([])).await.ok();
    assert_keys(&r, &["numbers", "total"]);
    assert_eq!(r["total"], 3);
    let listed = r["numbers"].as_array().unwrap();
    // Sorted by E.164, as DID.LIST is.
    let e164s: Vec<&str> = listed.iter().map(|n| n["e164"].as_str().unwrap()).collect();
    numbers.sort();
    assert_eq!(e164s, numbers);
    for n in listed {
        assert_keys(n, &DID_KEYS);
        assert!(n["monthly100"].is_i64() && n["setup100"].is_i64(), "{n}");
        unix_time(n["order_date"].as_str().unwrap());
    }
    let london = find(listed, "442079460100");
    assert_eq!(london["country_name"], "UNITED KINGDOM");
    assert_eq!(london["area_name"], "London");
    assert_eq!(london["area_code"], "20");
    assert_eq!(london["monthly100"], 199);
    assert_eq!(london["setup100"], 0);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_all_agrees_with_xml_did_list_field_for_field() {
    let s = TestServer::start().await;
    buy(&s, 2).await;
    s.call(
        "DID.ORDER",
        &[
            ("DID_TYPE", "GEOGRAPHIC"),
            ("AREA_ID", NY_AREA),
            ("TITLE", "a <b> & \"c\""),
        ],
    )
    .await
    .ok();
    let json = list_all(&s).await;
    let xml = s.call("DID.LIST", &[]).await.ok();
    let dids = xml.elements("DID");
    assert_eq!(json.len(), dids.len());
    for (j, x) in json.iter().zip(&dids) {
        for key in DID_KEYS {
            let got = match &j[key] {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                other => other.to_string(),
            };
            assert_eq!(got, x[&key.to_ascii_uppercase()], "{key} of {j}");
        }
    }
    assert_eq!(
        xml.value("TOTAL").unwrap(),
        json.len().to_string(),
        "{}",
        xml.body
    );
    s.stop().await;
}

// ---------------------------------------------------------------- returning

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn return_cancels_the_number_and_list_all_shows_it_canceled() {
    let s = TestServer::start().await;
    let numbers = buy(&s, 2).await;
    let (gone, kept) = (&numbers[0], &numbers[1]);
    let r = rpc(&s, "number.return", json!([gone])).await.ok();
    assert_keys(&r, &["returned", "numbers"]);
    assert_eq!(r["returned"], true);
    assert_eq!(r["numbers"].as_array().unwrap().len(), 1, "{r}");
    assert_keys(&r["numbers"][0], &DID_KEYS);
    assert_eq!(r["numbers"][0]["e164"], gone.as_str());
    assert_eq!(r["numbers"][0]["status"], "Canceled");

    let listed = list_all(&s).await;
    assert_eq!(find(&listed, gone)["status"], "Canceled");
    assert_eq!(find(&listed, kept)["status"], "Active");
    // The XML front agrees, and a second return is the XML CONFLICT.
    let xml = s.call("DID.LIST", &[("FILTER.E164", gone)]).await.ok();
    assert_eq!(xml.elements("DID")[0]["STATUS"], "Canceled");
    rpc(&s, "number.return", json!([gone]))
        .await
        .fails("CONFLICT");
    // Returning charges and refunds nothing.
    assert_eq!(balance_as(&s, &s.key).await, DEMO_BALANCE - 2 * 328);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn return_of_an_unknown_number_is_not_found() {
    let s = TestServer::start().await;
    let m = rpc(&s, "number.return", json!(["12121111111"]))
        .await
        .fails("NOT_FOUND");
    assert!(m.contains("12121111111"), "{m}");
    rpc(&s, "number.return", json!([""]))
        .await
        .fails("MISSING_PARAMETER");
    for bad in [json!("12*"), json!("+"), json!(null), json!(true)] {
        rpc(&s, "number.return", json!([bad]))
            .await
            .fails("INVALID_PARAMETER");
    }
    s.stop().await;
}

// ------------------------------------------------------ decoding errors

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_json_is_400_with_a_json_error() {
    let s = TestServer::start().await;
    for body in [
        "{",
        "",
        "{\"method\": \"did.zone.list_country\", \"params\": []",
        "{\"method\": \"did.zone.list_country\"} trailing",
        "{'method': 'did.zone.list_country'}",
    ] {
        let m = post_raw(&s, Some(&s.key), body.to_owned())
            .await
            .fails_with(400, "MALFORMED_REQUEST");
        assert!(m.contains("not valid JSON"), "{body:?}: {m}");
    }
    // Invalid UTF-8 is not JSON either.
    let m = post_raw(
        &s,
        Some(&s.key),
        Bytes::from_static(b"{\"method\": \"\xff\"}"),
    )
    .await
    .fails_with(400, "MALFORMED_REQUEST");
    assert!(m.contains("not valid JSON"), "{m}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn body_that_is_not_an_object_is_400() {
    let s = TestServer::start().await;
    for body in ["[]", "\"did.zone.list_country\"", "5", "null", "true"] {
        let m = post_raw(&s, Some(&s.key), body.to_owned())
            .await
            .fails_with(400, "MALFORMED_REQUEST");
        assert!(m.contains("object"), "{body}: {m}");
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn method_that_is_not_a_string_is_400() {
    let s = TestServer::start().await;
    for body in [
        json!({"method": 5, "params": []}),
        json!({"method": null, "params": []}),
        json!({"method": ["did.zone.list_country"], "params": []}),
        json!({"params": []}),
        json!({}),
    ] {
        let m = post_raw(&s, Some(&s.key), body.to_string())
            .await
            .fails_with(400, "MALFORMED_REQUEST");
        assert!(m.contains("method must be a string"), "{body}: {m}");
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn params_that_are_not_an_array_is_400() {
    let s = TestServer::start().await;
    for params in [
        json!({"country_code": "GB"}),
        json!("GB"),
        json!(1),
        json!(true),
    ] {
        let body = json!({"method": "did.zone.list_area", "params": params});
        let m = post_raw(&s, Some(&s.key), body.to_string())
            .await
            .fails_with(400, "MALFORMED_REQUEST");
        assert!(m.contains("params must be an array"), "{body}: {m}");
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_method_is_unknown_action() {
    let s = TestServer::start().await;
    for method in ["did.teleport", "", "DID.ORDER", "did.zone.list_country "] {
        rpc(&s, method, json!([])).await.fails("UNKNOWN_ACTION");
    }
    // The name is echoed only cleaned of anything but letters, digits, '.'
    // and '_', so a reply can never carry markup or a payload.
    let m = rpc(&s, "<script>alert(1)</script>", json!([]))
        .await
        .fails("UNKNOWN_ACTION");
    assert!(!m.contains('<') && !m.contains('('), "{m}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_parameter_count_is_invalid_parameter_for_every_method() {
    let s = TestServer::start().await;
    // Each method with one value too few and one too many.
    let methods: [(&str, Value, Value); 7] = [
        ("did.zone.list_country", json!(null), json!(["US"])),
        ("did.zone.list_area", json!(["GB"]), json!(["GB", null, 1])),
        (
            "did.reserve",
            json!([BROOKLYN, 1, "RANDOM"]),
            json!([BROOKLYN, 1, "RANDOM", null, 1]),
        ),
        (
            "did.order.pay",
            json!([]),
            json!(["rsv_0000000000000000", 1]),
        ),
        (
            "did.configure",
            json!(["17185550100"]),
            json!(["17185550100", {}, 1]),
        ),
        ("number.list_all", json!(null), json!([1])),
        ("number.return", json!([]), json!(["17185550100", 1])),
    ];
    for (method, too_few, too_many) in methods {
        for params in [too_few, too_many] {
            // Methods without parameters have no "too few".
            if params.is_null() {
                continue;
            }
            let m = rpc(&s, method, params.clone())
                .await
                .fails("INVALID_PARAMETER");
            assert!(m.contains(method), "{method} {params}: {m}");
        }
    }
    // Nothing was reserved, bought or returned by any of them.
    assert_eq!(list_area_stock(&s, "US", BROOKLYN).await, 10);
    assert_eq!(balance_as(&s, &s.key).await, DEMO_BALANCE);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_parameter_types_are_invalid_parameter() {
    let s = TestServer::start().await;
    let calls = [
        ("did.zone.list_area", json!([44, null])),
        ("did.zone.list_area", json!(["GB", 1])),
        ("did.zone.list_area", json!([null, null])),
        ("did.reserve", json!([BROOKLYN, "2", null, null])),
        ("did.reserve", json!([null, 1, null, null])),
        ("did.reserve", json!([[BROOKLYN], 1, null, null])),
        ("did.reserve", json!([BROOKLYN, 1, null, 5])),
        ("did.order.pay", json!([{"token": "rsv_0000000000000000"}])),
        (
            "did.configure",
            json!([true, {"application": "sip_uri", "params": {"uri": "a@b.example"}}]),
        ),
        (
            "did.configure",
            json!(["17185550100", {"application": "sip_uri", "params": {"uri": ["a@b.example"]}}]),
        ),
        ("number.return", json!([{"e164": "17185550100"}])),
        ("number.return", json!([1.5])),
    ];
    for (method, params) in calls {
        let reply = rpc(&s, method, params.clone()).await;
        assert_eq!(
            reply.body["error"]["code"], "INVALID_PARAMETER",
            "{method} {params}: {}",
            reply.raw
        );
        reply.fails("INVALID_PARAMETER");
    }
    s.stop().await;
}

// --------------------------------------------------------- authentication

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_or_wrong_apikey_is_auth_failed_with_http_200() {
    let s = TestServer::start().await;
    let body = json!({"method": "number.list_all", "params": []}).to_string();
    let mut wrong = s.key.clone();
    let last = wrong.pop().unwrap();
    wrong.push(if last == '0' { '1' } else { '0' });
    let replies = [
        post_raw(&s, None, body.clone()).await,
        post_raw(&s, Some(""), body.clone()).await,
        post_raw(&s, Some("   "), body.clone()).await,
        post_raw(&s, Some(&wrong), body.clone()).await,
        post_raw(&s, Some("not-a-key"), body.clone()).await,
        // The key belongs in the URL: one in the body is not looked at.
        post_raw(
            &s,
            None,
            json!({"method": "number.list_all", "params": [], "apikey": s.key}).to_string(),
        )
        .await,
        // Another query parameter's value is not a key either.
        parse_reply(
            common::request(
                s.addr,
                "POST",
                &format!("{JSON_PATH}?userkey={}", s.key),
                &[],
                body.clone().into(),
            )
            .await,
        ),
    ];
    for r in replies {
        assert_eq!(r.fails("AUTH_FAILED"), AUTH_MESSAGE);
    }
    // The right key in the URL still works after all those failures.
    rpc(&s, "number.list_all", json!([])).await.ok();
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_accounts_key_sees_only_its_own_numbers() {
    let s = TestServer::start().await;
    // A second account's key sees its own (empty) numbers, not the demo's.
    buy(&s, 1).await;
    let other = s.new_account(DEMO_BALANCE).await;
    let r = rpc_as(&s, &other.api_key, "number.list_all", json!([]))
        .await
        .ok();
    assert_eq!(r["total"], 0, "{r}");
    s.stop().await;
}

// --------------------------------------------------------------- transport

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn body_over_64_kib_is_413_with_a_json_error() {
    let s = TestServer::start().await;
    // JSON allows trailing whitespace, so padding keeps the call valid.
    let call = json!({"method": "did.zone.list_country", "params": []}).to_string();
    let padded = |len: usize| format!("{call}{}", " ".repeat(len - call.len()));
    post_raw(&s, Some(&s.key), padded(64 * 1024)).await.ok();
    let r = post_raw(&s, Some(&s.key), padded(64 * 1024 + 1)).await;
    // The rest of the body was not read, so the connection cannot be reused.
    assert_eq!(r.connection.as_deref(), Some("close"), "{}", r.raw);
    let m = r.fails_with(413, "REQUEST_TOO_LARGE");
    assert!(m.contains("65536"), "{m}");
    // The server carries on.
    rpc(&s, "did.zone.list_country", json!([])).await.ok();
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_http_methods_on_the_json_path_are_405_with_a_json_error() {
    let s = TestServer::start().await;
    for method in ["GET", "PUT", "DELETE"] {
        let r = parse_reply(
            common::request(s.addr, method, &json_path(Some(&s.key)), &[], Bytes::new()).await,
        );
        assert_eq!(r.status, 405, "{method}: {}", r.raw);
        // The code is the XML front's for a wrong method.
        let m = r.fails_with(405, "MALFORMED_REQUEST");
        assert!(m.contains("POST"), "{m}");
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_error_messages_never_contain_the_key() {
    let s = TestServer::start().await;
    let key = s.key.clone();
    let mut wrong = key.clone();
    wrong.pop();
    wrong.push('x');
    let replies = [
        // Authentication failures, for the wrong key and the right one in
        // the wrong place.
        post_raw(
            &s,
            Some(&wrong),
            json!({"method": "number.list_all", "params": []}).to_string(),
        )
        .await,
        post_raw(
            &s,
            None,
            json!({"method": "number.list_all", "params": [key]}).to_string(),
        )
        .await,
        // Decoding errors of bodies that carry the key.
        post_raw(&s, Some(&key), format!("{{\"method\": \"{key}\"")).await,
        post_raw(&s, Some(&key), format!("[\"{key}\"]")).await,
        post_raw(&s, Some(&key), json!({"method": [key]}).to_string()).await,
        post_raw(
            &s,
            Some(&key),
            json!({"method": "number.list_all", "params": key}).to_string(),
        )
        .await,
        // The key in the method name and in every kind of parameter.
        rpc(&s, &key, json!([])).await,
        rpc(&s, "did.zone.list_area", json!([key, null])).await,
        rpc(&s, "did.zone.list_area", json!(["GB", key])).await,
        rpc(&s, "did.reserve", json!([key, 1, null, null])).await,
        rpc(&s, "did.reserve", json!([BROOKLYN, key, null, null])).await,
        rpc(&s, "did.reserve", json!([BROOKLYN, 1, key, key])).await,
        rpc(&s, "did.order.pay", json!([key])).await,
        rpc(
            &s,
            "did.configure",
            json!([key, {"application": "sip_uri", "params": {"uri": "a@b.example"}}]),
        )
        .await,
        rpc(
            &s,
            "did.configure",
            json!(["17185550100", {"application": key, "params": {}}]),
        )
        .await,
        rpc(
            &s,
            "did.configure",
            json!(["17185550100", {"application": "sip_uri", "params": {"uri": key}}]),
        )
        .await,
        rpc(
            &s,
            "did.configure",
            json!(["17185550100", {"application": "call_phone_number", "params": {"number": key}}]),
        )
        .await,
        rpc(&s, "number.return", json!([key])).await,
        rpc(&s, "number.list_all", json!([key])).await,
        // Over the size limit with the key inside.
        post_raw(
            &s,
            Some(&key),
            format!("{{\"method\": \"{key}\"}}{}", " ".repeat(70_000)),
        )
        .await,
    ];
    for r in replies {
        assert!(
            r.body.get("error").is_some(),
            "expected an error: {}",
            r.raw
        );
        assert!(!r.raw.contains(&key), "the key is in a reply: {}", r.raw);
        assert!(
            !r.raw.contains(&wrong),
            "the wrong key is in a reply: {}",
            r.raw
        );
    }
    s.stop().await;
}

/// The key's secret half (after `dg_<id>_`): what must never be echoed,
/// even in part.
fn secret_of(key: &str) -> &str {
    key.rsplit('_').next().unwrap()
}

/// A method name is echoed in `UNKNOWN_ACTION` only when it cannot be a key:
/// echoing a cut-down name once showed a key sent as the method with its id
/// and most of its secret.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_method_error_does_not_echo_part_of_a_key() {
    let s = TestServer::start().await;
    let m = rpc(&s, &s.key.clone(), json!([]))
        .await
        .fails("UNKNOWN_ACTION");
    let secret = secret_of(&s.key);
    // No run of 16 secret digits may appear: that is already a guessable
    // share of the key.
    for start in 0..=secret.len() - 16 {
        let part = &secret[start..start + 16];
        assert!(!m.contains(part), "part of the key's secret in: {m}");
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_key_fails_authentication_whatever_the_call() {
    // The XML front checks the key before the action and its parameters, and
    // the JSON front shares its rules, so an unauthenticated caller learns
    // nothing about methods or parameters: only a body that is not a call at
    // all is refused before the key.
    let s = TestServer::start().await;
    for (method, params) in [
        ("did.teleport", json!([])),
        ("did.order.pay", json!([])),
        ("did.reserve", json!([BROOKLYN, "2", null, null])),
    ] {
        let body = json!({"method": method, "params": params}).to_string();
        let m = post_raw(&s, Some("dg_0000000000000000_00"), body.clone())
            .await
            .fails("AUTH_FAILED");
        assert_eq!(m, AUTH_MESSAGE);
        post_raw(&s, None, body).await.fails("AUTH_FAILED");
    }
    s.stop().await;
}

/// Errors found while decoding a call name the JSON parameter the caller
/// sent, not the XML parameter it is translated into (PROTOCOL.md 3: the
/// message says what to fix). An empty `order_token` once answered "missing
/// parameter DID_TYPE".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_errors_name_the_json_parameters() {
    let s = TestServer::start().await;
    let cases = [
        ("did.order.pay", json!([""]), "order_token"),
        ("did.order.pay", json!(["nope"]), "order_token"),
        ("did.reserve", json!([BROOKLYN, 0, null, null]), "quantity"),
        ("did.reserve", json!(["", 1, null, null]), "area_code_id"),
        ("did.reserve", json!([BROOKLYN, 1, null, "LOCAL"]), "class"),
        ("did.zone.list_area", json!(["", null]), "country_code"),
        ("did.zone.list_area", json!(["GB", "LOCAL"]), "did_type"),
    ];
    let mut wrong = Vec::new();
    for (method, params, name) in cases {
        let r = rpc(&s, method, params.clone()).await;
        let message = r.body["error"]["message"].as_str().unwrap_or("").to_owned();
        if !message.contains(name) {
            wrong.push(format!(
                "{method} {params}: {message:?} does not name {name}"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    s.stop().await;
}

/// Parameter names of the XML actions that a JSON caller never sends, so
/// never sees in a message it must act on.
const XML_ONLY_NAMES: [&str; 9] = [
    "CALL_FORWARD_TO",
    "CALL_FORWARD_TYPE",
    "DID_TYPE",
    "RESERVATION_ID",
    "AREA_ID",
    "COUNTRY_ID",
    "QUANTITY",
    "FILTER",
    "filters",
];

/// The errors the XML action raises after translation must speak the JSON
/// front's language too: a bad forwarding target, an unknown number to
/// configure and a class the area does not sell.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_after_translation_name_no_xml_parameters() {
    let s = TestServer::start().await;
    let numbers = buy(&s, 1).await;
    let n = &numbers[0];
    let cases = [
        (
            "did.configure",
            json!([n, {"application": "call_phone_number", "params": {"number": "12"}}]),
        ),
        (
            "did.configure",
            json!([n, {"application": "sip_uri", "params": {"uri": "not a uri"}}]),
        ),
        (
            "did.configure",
            json!(["19995550100", {"application": "sip_uri", "params": {"uri": "a@b.example"}}]),
        ),
        ("did.reserve", json!(["gb-mob-7700", 1, null, "GEOGRAPHIC"])),
    ];
    let mut wrong = Vec::new();
    for (method, params) in cases {
        let r = rpc(&s, method, params.clone()).await;
        let message = r.body["error"]["message"].as_str().unwrap_or("").to_owned();
        assert!(
            !message.is_empty(),
            "{method} {params}: no error: {}",
            r.raw
        );
        if let Some(name) = XML_ONLY_NAMES.iter().find(|x| message.contains(*x)) {
            wrong.push(format!("{method} {params}: {message:?} names {name}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    s.stop().await;
}

// --------------------------------------------- one core, two codecs

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_reservation_is_ordered_through_xml_did_order() {
    let s = TestServer::start().await;
    reserve(&s, BROOKLYN, 1).await;
    let (token, items) = reserve(&s, LONDON, 2).await;
    let r = s
        .call("DID.ORDER", &[("RESERVATION_ID", token.as_str())])
        .await
        .ok();
    assert_eq!(r.e164s(), items);
    assert_eq!(r.value("CHARGED100").as_deref(), Some("726"));
    let listed = s.call("DID.LIST", &[]).await.ok();
    assert_eq!(listed.e164s(), items);
    assert_eq!(listed.value("TOTAL").as_deref(), Some("3"));
    // The token is spent for JSON too.
    rpc(&s, "did.order.pay", json!([token]))
        .await
        .fails("CONFLICT");
    assert_eq!(balance_as(&s, &s.key).await, DEMO_BALANCE - 726);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xml_reservation_is_paid_through_json_order_pay() {
    let s = TestServer::start().await;
    let r = s
        .call("DID.RESERVE", &[("AREA_ID", BROOKLYN), ("QUANTITY", "2")])
        .await
        .ok();
    let token = r.elements("RESERVATION")[0]["RESERVATION_ID"].clone();
    let held = r.e164s();
    assert_eq!(held.len(), 2, "{}", r.body);
    let paid = rpc(&s, "did.order.pay", json!([token])).await.ok();
    assert_eq!(strings(&paid["numbers"]), held);
    assert_eq!(paid["charged100"], 2 * 328);
    let listed = rpc(&s, "number.list_all", json!([])).await.ok();
    assert_eq!(listed["total"], 2);
    let e164s: Vec<&str> = listed["numbers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["e164"].as_str().unwrap())
        .collect();
    assert_eq!(e164s, held);
    // The XML front sees the reservation spent.
    s.call("DID.ORDER", &[("RESERVATION_ID", token.as_str())])
        .await
        .fails("CONFLICT");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_reserve_adds_to_an_open_xml_reservation() {
    let s = TestServer::start().await;
    let r = s
        .call("DID.RESERVE", &[("AREA_ID", BROOKLYN), ("QUANTITY", "1")])
        .await
        .ok();
    let token = r.elements("RESERVATION")[0]["RESERVATION_ID"].clone();
    // It is the caller's open reservation, whichever front opened it.
    let (json_token, items) = reserve(&s, LONDON, 1).await;
    assert_eq!(json_token, token);
    assert_eq!(items, ["17185550100", "442079460100"]);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xml_cancel_and_restore_show_in_json_list_all() {
    let s = TestServer::start().await;
    let r = s
        .call(
            "DID.ORDER",
            &[
                ("DID_TYPE", "GEOGRAPHIC"),
                ("AREA_ID", BROOKLYN),
                ("QUANTITY", "2"),
            ],
        )
        .await
        .ok();
    let bought = r.e164s();
    s.call("DID.CANCEL", &[("E164", bought[0].as_str())])
        .await
        .ok();
    let listed = list_all(&s).await;
    assert_eq!(find(&listed, &bought[0])["status"], "Canceled");
    assert_eq!(find(&listed, &bought[1])["status"], "Active");
    // And back: a restore through XML is Active again through JSON, and a
    // JSON return is Canceled through XML.
    s.call("DID.RESTORE", &[("E164", bought[0].as_str())])
        .await
        .ok();
    assert_eq!(find(&list_all(&s).await, &bought[0])["status"], "Active");
    rpc(&s, "number.return", json!([bought[1]])).await.ok();
    let xml = s
        .call("DID.LIST", &[("FILTER.E164", bought[1].as_str())])
        .await
        .ok();
    assert_eq!(xml.elements("DID")[0]["STATUS"], "Canceled");
    s.stop().await;
}
