//! Guards the read-reply cache (`src/action/cache.rs`) over HTTP against a
//! real server: a cached read never hides the caller's own write (orders,
//! updates, cancellations show at once), a commit by another process (the
//! CLI) shows within a bounded delay, errors are never kept, the cache key
//! separates parameters and accounts, each front renders a shared entry in
//! its own format, per-request decorations (`IGNORED_PARAMETERS`, `TEST`)
//! are never taken from another request, and `read_cache = false` keeps the
//! same behaviour.

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{NY_AREA, Reply, TestServer, balance_as, json_path, listed_stock};
use didgate::admin;
use didgate::domain::{AccountNumber, Money100};
use didgate::inventory::{self, Source};
use serde_json::{Value, json};

/// Brooklyn: 10 numbers, only the SU plan (129 monthly, 199 setup).
const BROOKLYN: &str = "us-ny-718";
/// One New York number on the default SU plan: 249 setup + 149 monthly.
const NY_PRICE: i64 = 398;
/// How long a commit by another process may take to show; generous on
/// purpose (the server promises about 200 ms).
const EXTERNAL_DEADLINE: Duration = Duration::from_secs(2);

/// `DID.LIST` of the demo account: (reply, numbers, `TOTAL`).
async fn list(s: &TestServer, params: &[(&str, &str)]) -> (Reply, Vec<String>, String) {
    let r = s.call("DID.LIST", params).await.ok();
    let (e164s, total) = (r.e164s(), r.value("TOTAL").unwrap_or_default());
    (r, e164s, total)
}

async fn order(s: &TestServer, key: &str, area: &str, quantity: &str) -> Reply {
    let params = [
        ("DID_TYPE", "GEOGRAPHIC"),
        ("AREA_ID", area),
        ("QUANTITY", quantity),
    ];
    s.call_as(key, "DID.ORDER", &params).await.ok()
}

/// The `DID` element of `e164` in a reply.
fn did_of(r: &Reply, e164: &str) -> std::collections::HashMap<String, String> {
    let found = r.elements("DID").into_iter().find(|d| d["E164"] == e164);
    found.unwrap_or_else(|| panic!("{e164} not listed: {}", r.body))
}

/// Every read is made twice before each write, so a cache (when there is
/// one) holds it; every read right after a write must already show it.
async fn reads_show_own_writes_at_once(s: &TestServer) {
    for _ in 0..2 {
        let (_, e164s, total) = list(s, &[]).await;
        assert_eq!((e164s.len(), total.as_str()), (0, "0"));
        assert_eq!(listed_stock(s, "US", NY_AREA).await, 20);
        assert_eq!(balance_as(s, &s.key).await, 10_000);
    }

    let r = order(s, &s.key, NY_AREA, "2").await;
    assert_eq!(r.e164s(), ["12121111111", "12121111112"]);
    assert_eq!(r.value("CHARGED100"), Some((2 * NY_PRICE).to_string()));
    let (_, e164s, total) = list(s, &[]).await;
    assert_eq!(e164s, ["12121111111", "12121111112"]);
    assert_eq!(total, "2");
    assert_eq!(
        listed_stock(s, "US", NY_AREA).await,
        18,
        "stock drops with the order reply"
    );
    assert_eq!(balance_as(s, &s.key).await, 10_000 - 2 * NY_PRICE);

    let (r, _, _) = list(s, &[]).await;
    assert_eq!(did_of(&r, "12121111111")["TITLE"], "");
    let update = [
        ("FILTER.E164", "12121111111"),
        ("TITLE", "Front desk"),
        ("CALL_FORWARD_TYPE", "PHONE"),
        ("CALL_FORWARD_TO", "15551234567"),
    ];
    s.call("DID.UPDATE", &update).await.ok();
    let (r, _, _) = list(s, &[]).await;
    let did = did_of(&r, "12121111111");
    assert_eq!(did["TITLE"], "Front desk", "{}", r.body);
    assert_eq!(
        (
            did["CALL_FORWARD_TYPE"].as_str(),
            did["CALL_FORWARD_TO"].as_str()
        ),
        ("PHONE", "15551234567")
    );

    assert_eq!(did_of(&r, "12121111112")["STATUS"], "Active");
    let active = [("FILTER.STATUS", "Active")];
    assert_eq!(list(s, &active).await.1.len(), 2);
    s.call("DID.CANCEL", &[("E164", "12121111112")]).await.ok();
    let (r, e164s, _) = list(s, &active).await;
    assert_eq!(e164s, ["12121111111"], "{}", r.body);
    let (r, _, _) = list(s, &[]).await;
    assert_eq!(
        did_of(&r, "12121111112")["STATUS"],
        "Canceled",
        "{}",
        r.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_show_the_callers_own_writes_at_once() {
    let s = TestServer::start().await;
    reads_show_own_writes_at_once(&s).await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_show_own_writes_at_once_without_the_cache_too() {
    let s = TestServer::start_with(|c| c.read_cache = false).await;
    reads_show_own_writes_at_once(&s).await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_credit_by_another_process_shows_in_the_balance_within_a_deadline() {
    let s = TestServer::start().await;
    // Fill the cache and make sure the value it holds is the old one.
    assert_eq!(balance_as(&s, &s.key).await, 10_000);
    assert_eq!(balance_as(&s, &s.key).await, 10_000);
    let account = AccountNumber::parse(&s.account).unwrap();
    let after = s
        .admin(move |db| admin::credit(db, &account, Money100(500)).unwrap())
        .await;
    assert_eq!(after, Money100(10_500));
    let start = Instant::now();
    loop {
        let balance = balance_as(&s, &s.key).await;
        if balance == 10_500 {
            break;
        }
        assert_eq!(balance, 10_000, "neither the old nor the new balance");
        assert!(
            start.elapsed() < EXTERNAL_DEADLINE,
            "the CLI's credit did not show within {EXTERNAL_DEADLINE:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_not_cached() {
    let s = TestServer::start().await;
    let states = [("COUNTRY_ID", "DE")];
    for _ in 0..2 {
        let r = s.call("ANVEO.STATES.LIST", &states).await;
        assert_eq!(r.fails("NOT_FOUND").error(), "country DE not found");
    }
    // The CLI adds Germany. Its commit goes unnoticed by the store's
    // version for up to ~200 ms, so only an error that was not kept lets
    // the very next read see it.
    s.admin(|db| {
        let catalog = "country_id,country_name,state_id,state_name,state_code,area_id,area_name,area_code,did_type,rate_plan_id,rate_plan_name,monthly100,setup100\n\
                       DE,GERMANY,DE-BE,Berlin,BE,de-ber-30,Berlin,30,GEOGRAPHIC,SU,Service Unlimited,99,0\n";
        let source = Source {
            name: "de.csv".into(),
            reader: catalog.as_bytes(),
        };
        inventory::import(db, source, None::<Source<&[u8]>>).unwrap()
    })
    .await;
    let r = s.call("ANVEO.STATES.LIST", &states).await.ok();
    let ids: Vec<String> = r
        .elements("STATE")
        .iter()
        .map(|e| e["STATE_ID"].clone())
        .collect();
    assert_eq!(ids, ["DE-BE"], "{}", r.body);

    // Through the API: a cached success for a sub-account is not served
    // once the sub-account is deleted; the refusal is the same every time.
    let r = s
        .call("SUBACCOUNT.CREATE", &[("NAME", "Branch")])
        .await
        .ok();
    let sub = r.value("ACCOUNT_NUMBER").unwrap();
    let of_sub = [("ACCOUNT_NUMBER", sub.as_str())];
    let r = s.call("DID.LIST", &of_sub).await.ok();
    assert_eq!(r.value("TOTAL").as_deref(), Some("0"));
    s.call("SUBACCOUNT.DELETE", &of_sub).await.ok();
    for _ in 0..2 {
        s.call("DID.LIST", &of_sub).await.fails("ACCESS_DENIED");
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn different_parameters_and_accounts_are_different_entries() {
    let s = TestServer::start().await;
    order(&s, &s.key, NY_AREA, "3").await;
    for _ in 0..2 {
        for (limit, want) in [
            ("1", &["12121111111"][..]),
            ("2", &["12121111111", "12121111112"]),
        ] {
            let (r, e164s, total) = list(&s, &[("LIMIT", limit)]).await;
            assert_eq!(e164s, want, "LIMIT={limit}: {}", r.body);
            assert_eq!(total, "3");
        }
    }

    // Another account, same requests, no commit in between: its own
    // numbers and balance, never the demo account's.
    let other = s.new_account(5_000).await;
    order(&s, &other.api_key, BROOKLYN, "1").await;
    for _ in 0..2 {
        let mine = s.call("DID.LIST", &[]).await.ok();
        let theirs = s.call_as(&other.api_key, "DID.LIST", &[]).await.ok();
        assert_eq!(mine.e164s(), ["12121111111", "12121111112", "12121111113"]);
        assert_eq!(theirs.e164s(), ["17185550100"], "{}", theirs.body);
        assert_eq!(balance_as(&s, &s.key).await, 10_000 - 3 * NY_PRICE);
        assert_eq!(balance_as(&s, &other.api_key).await, 5_000 - 199 - 129);
    }
    s.stop().await;
}

async fn json_call(s: &TestServer, method: &str) -> (Reply, Value) {
    let path = json_path(Some(&s.key));
    let body = json!({"method": method, "params": []}).to_string();
    let r = common::request(s.addr, "POST", &path, &[], Bytes::from(body)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v: Value = serde_json::from_str(&r.body).expect("JSON reply");
    (r, v["result"].clone())
}

fn content_type(r: &Reply) -> &str {
    r.headers.get("content-type").unwrap().to_str().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_front_renders_a_shared_read_in_its_own_format() {
    let s = TestServer::start().await;
    order(&s, &s.key, NY_AREA, "2").await;

    // XML first (fills the entry), then JSON and the GET form (hits).
    let xml = s.call("DID.LIST", &[]).await.ok();
    assert!(content_type(&xml).starts_with("application/xml"));
    let (r, json) = json_call(&s, "number.list_all").await;
    assert!(
        content_type(&r).starts_with("application/json"),
        "{}",
        r.body
    );
    let numbers: Vec<&str> = json["numbers"]
        .as_array()
        .unwrap_or_else(|| panic!("no numbers: {}", r.body))
        .iter()
        .map(|n| n["e164"].as_str().unwrap())
        .collect();
    assert_eq!(numbers, xml.e164s());
    assert_eq!(json["total"], 2);
    let get = format!("/api/v2.asp?userkey={}&action=DID.LIST", s.key);
    let by_get = common::request(s.addr, "GET", &get, &[], Bytes::new()).await;
    assert_eq!(by_get.status, 200);
    assert_eq!(by_get.body, xml.body, "GET form and POST form differ");

    // And JSON first, then XML.
    let (r, json) = json_call(&s, "did.zone.list_country").await;
    assert!(
        content_type(&r).starts_with("application/json"),
        "{}",
        r.body
    );
    let xml = s.call("ANVEO.COUNTRIES.LIST", &[]).await.ok();
    assert!(xml.body.starts_with("<?xml"), "{}", xml.body);
    let codes: Vec<&str> = json["country_list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"].as_str().unwrap())
        .collect();
    let ids: Vec<String> = xml
        .elements("COUNTRY")
        .iter()
        .map(|c| c["COUNTRY_ID"].clone())
        .collect();
    assert_eq!(codes, ids);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ignored_parameters_and_test_are_per_request() {
    let s = TestServer::start().await;
    for _ in 0..2 {
        let plain = s.call("ACCOUNT.GETBALANCE", &[]).await.ok();
        assert_eq!(plain.value("IGNORED_PARAMETERS"), None, "{}", plain.body);
        assert_eq!(plain.value("TEST"), None, "{}", plain.body);
        let r = s.call("ACCOUNT.GETBALANCE", &[("FOO", "1")]).await.ok();
        assert_eq!(r.value("IGNORED_PARAMETERS").as_deref(), Some("FOO"));
        let r = s.call("ACCOUNT.GETBALANCE", &[("TEST", "TRUE")]).await.ok();
        assert_eq!(r.value("TEST").as_deref(), Some("TRUE"), "{}", r.body);
        assert_eq!(r.value("BALANCE100").as_deref(), Some("10000"));
    }
    // The same parameters in another order are the same request to the
    // cache, but IGNORED_PARAMETERS follows each request's own order.
    for _ in 0..2 {
        for (params, ignored) in [
            (&[("FOO", "1"), ("LIMIT", "5"), ("BAR", "2")][..], "FOO,BAR"),
            (&[("BAR", "2"), ("LIMIT", "5"), ("FOO", "1")][..], "BAR,FOO"),
        ] {
            let r = s.call("DID.LIST", params).await.ok();
            assert_eq!(r.value("IGNORED_PARAMETERS").as_deref(), Some(ignored));
        }
        let (r, _, _) = list(&s, &[("LIMIT", "5")]).await;
        assert_eq!(r.value("IGNORED_PARAMETERS"), None, "{}", r.body);
    }
    s.stop().await;
}
