//! Guards the management of owned numbers over HTTP against a real server:
//! `DID.LIST` (every `FILTER.*`, the `*` wildcard, `LIMIT`/`OFFSET`/`TOTAL`,
//! sorting, `ORDER_DATE`, `ACCOUNT_NUMBER` and account trees), `DID.UPDATE`
//! (validation per forwarding type, clearing fields, one transaction for all
//! selected numbers, other trees), `DID.CANCEL` and aging back to stock,
//! `DID.RESTORE`, `DID.MOVE` within an account tree, `REQUEST_ID` and
//! `TEST=TRUE` on these mutating actions, and the number history that
//! records every change with its account and key.

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::{NY_AREA, Reply, TestServer, listed_stock, owned, sub_account};
use didgate::admin;
use didgate::domain::{AccountNumber, E164};
use didgate::store::HistoryEntry;

/// Brooklyn: 10 numbers 17185550100..109, SU plan only (129 + 199).
const BROOKLYN: &str = "us-ny-718";
/// Toll free: 10 numbers 18005550100..109, SU plan only (299 + 499).
const TOLL_FREE: &str = "us-tf-800";
/// The demo account's default forwarding, which new numbers take.
const DEMO_FORWARD_TYPE: &str = "CALLFLOW";
const DEMO_FORWARD_TO: &str = "8c25e06faf2b98erts3gdtb83df91b307ff287f1";

type Did = HashMap<String, String>;
/// Request parameters, name and value.
type Params<'a> = Vec<(&'a str, &'a str)>;

// ------------------------------------------------------------------ helpers

/// Orders `quantity` numbers of `area` for `key` and returns them. New York
/// numbers are ordered on the cheap PM plan so that tests can buy many.
async fn order_as(
    s: &TestServer,
    key: &str,
    area: &str,
    did_type: &str,
    quantity: u32,
    extra: &[(&str, &str)],
) -> Vec<String> {
    let quantity = quantity.to_string();
    let mut params = vec![
        ("DID_TYPE", did_type),
        ("AREA_ID", area),
        ("QUANTITY", quantity.as_str()),
    ];
    if area == NY_AREA {
        params.push(("RATE_PLAN_ID", "PM"));
    }
    params.extend_from_slice(extra);
    s.call_as(key, "DID.ORDER", &params).await.ok().e164s()
}

/// Orders New York numbers for the demo account.
async fn order_ny(s: &TestServer, quantity: u32, extra: &[(&str, &str)]) -> Vec<String> {
    order_as(s, &s.key, NY_AREA, "GEOGRAPHIC", quantity, extra).await
}

/// `DID.LIST` as `key`; the reply must be a success.
async fn list_as(s: &TestServer, key: &str, params: &[(&str, &str)]) -> Reply {
    s.call_as(key, "DID.LIST", params).await.ok()
}

/// `DID.LIST` as the demo key.
async fn list(s: &TestServer, params: &[(&str, &str)]) -> Reply {
    list_as(s, &s.key, params).await
}

/// Every number the account behind `key` lists (optionally for
/// `ACCOUNT_NUMBER`), with all attributes, keyed by E.164.
async fn snapshot(s: &TestServer, key: &str, account: Option<&str>) -> Vec<Did> {
    let params: Vec<(&str, &str)> = account.map(|a| ("ACCOUNT_NUMBER", a)).into_iter().collect();
    list_as(s, key, &params).await.elements("DID")
}

/// The one number `e164` as `key` lists it.
async fn did_as(s: &TestServer, key: &str, e164: &str) -> Did {
    let r = list_as(s, key, &[("FILTER.E164", e164)]).await;
    let mut dids = r.elements("DID");
    assert_eq!(dids.len(), 1, "expected exactly {e164}: {}", r.body);
    dids.remove(0)
}

async fn did(s: &TestServer, e164: &str) -> Did {
    did_as(s, &s.key, e164).await
}

/// The `STOCK` that `ANVEO.AREAS.LIST` shows for a US area, as a client
/// sees it, after checking the maintained counter against the numbers.
async fn stock(s: &TestServer, area: &str) -> i64 {
    let listed = listed_stock(s, "US", area).await;
    let (counted, counter) = s.db().reader().counted_stock(area).unwrap();
    assert_eq!(counted, counter, "stock counter of {area} drifted");
    listed
}

/// Polls the listed stock of `area` until it is `want`, for at most
/// `within`; returns whether it got there.
async fn wait_for_stock(s: &TestServer, area: &str, want: i64, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if stock(s, area).await == want {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn history(s: &TestServer, e164: &str) -> Vec<HistoryEntry> {
    s.db()
        .reader()
        .history(&E164::parse(e164).unwrap())
        .unwrap()
}

fn events(entries: &[HistoryEntry]) -> Vec<&str> {
    entries.iter().map(|h| h.event.as_str()).collect()
}

/// The stored title, forwarding, SMS settings and status of `e164`, read
/// straight from the database (read-only), for state no reply shows.
fn stored_configuration(s: &TestServer, e164: &str) -> Vec<String> {
    let conn = rusqlite::Connection::open_with_flags(
        &s.db_path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    conn.query_row(
        "SELECT title, forward_type, forward_to, sms_url, sms_email, sms_phone, status
           FROM dids WHERE e164 = ?1",
        [e164],
        |r| (0..7).map(|i| r.get::<_, String>(i)).collect(),
    )
    .unwrap()
}

/// The key id of the demo key: the 16 hex digits after `dg_`.
fn demo_key_id(s: &TestServer) -> String {
    s.key[3..19].to_string()
}

/// A sub-account created over the API by `key`; it inherits the parent's
/// default forwarding.
async fn subaccount_as(s: &TestServer, key: &str, name: &str) -> String {
    s.call_as(key, "SUBACCOUNT.CREATE", &[("NAME", name)])
        .await
        .ok()
        .value("ACCOUNT_NUMBER")
        .expect("ACCOUNT_NUMBER of the new sub-account")
}

fn e164s_of(dids: &[Did]) -> Vec<String> {
    dids.iter().map(|d| d["E164"].clone()).collect()
}

/// Whether `t` has the contract's time form `YYYY-MM-DD HH:MM:SS`.
fn is_contract_time(t: &str) -> bool {
    let b = t.as_bytes();
    b.len() == 19
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b' ',
            13 | 16 => *c == b':',
            _ => c.is_ascii_digit(),
        })
}

// -------------------------------------------------------------- DID.LIST

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_is_sorted_by_e164_with_order_date_and_total() {
    let s = TestServer::start().await;
    // Bought out of E.164 order and in several areas, so that sorting is
    // the list's doing and not the order of purchase.
    let tf = s
        .call(
            "DID.ORDER",
            &[("DID_TYPE", "TOLLFREE"), ("AREA_ID", TOLL_FREE)],
        )
        .await
        .ok();
    let tf_date = tf.elements("DID")[0]["ORDER_DATE"].clone();
    order_as(&s, &s.key, "gb-ldn-20", "GEOGRAPHIC", 1, &[]).await;
    order_as(&s, &s.key, BROOKLYN, "GEOGRAPHIC", 1, &[]).await;
    order_ny(&s, 2, &[]).await;

    let r = list(&s, &[]).await;
    assert!(r.body.contains("<DIDS>"), "{}", r.body);
    assert_eq!(
        r.e164s(),
        [
            "12121111111",
            "12121111112",
            "17185550100",
            "18005550100",
            "442079460100"
        ]
    );
    assert_eq!(r.value("TOTAL").as_deref(), Some("5"));
    for d in r.elements("DID") {
        assert_eq!(d["STATUS"], "Active", "{d:?}");
        assert_eq!(d["ACCOUNT_NUMBER"], s.account, "{d:?}");
        assert!(is_contract_time(&d["ORDER_DATE"]), "{d:?}");
    }
    // ORDER_DATE is the date of the purchase, the same the order showed.
    let listed_tf = r
        .elements("DID")
        .into_iter()
        .find(|d| d["E164"] == "18005550100")
        .unwrap();
    assert_eq!(listed_tf["ORDER_DATE"], tf_date);
    assert_eq!(listed_tf["DID_TYPE"], "TOLLFREE");
    assert_eq!(listed_tf["MONTHLY100"], "299");
    assert_eq!(listed_tf["SETUP100"], "499");
    assert_eq!(listed_tf["RATE_PLAN_ID"], "SU");
    assert_eq!(listed_tf["CALL_FORWARD_TYPE"], DEMO_FORWARD_TYPE);
    assert_eq!(listed_tf["CALL_FORWARD_TO"], DEMO_FORWARD_TO);
    s.stop().await;
}

/// An SMS URL with `&`, which must survive XML escaping both ways.
const SMS_URL: &str = "https://example.com/sms?n=1&x=2";

/// The numbers the filter tests work on, all the demo account's:
///
/// - 12121111111..113: New York, TITLE `alpha`; 112 has SMS_URL and
///   SMS_EMAIL set.
/// - 17185550100: Brooklyn, TITLE `Sales & Co`, forwarded to PHONE.
/// - 17185550101: Brooklyn, TITLE `Sales & Co`, canceled.
/// - 18005550100: toll free, no title.
///
/// Another account owns 12121111114 with the same title, which no filter
/// of the demo account may ever show.
async fn filter_fixture(s: &TestServer) {
    assert_eq!(
        order_ny(s, 3, &[("TITLE", "alpha")]).await,
        ["12121111111", "12121111112", "12121111113"]
    );
    assert_eq!(
        order_as(
            s,
            &s.key,
            BROOKLYN,
            "GEOGRAPHIC",
            2,
            &[("TITLE", "Sales & Co")]
        )
        .await,
        ["17185550100", "17185550101"]
    );
    assert_eq!(
        order_as(s, &s.key, TOLL_FREE, "TOLLFREE", 1, &[]).await,
        ["18005550100"]
    );
    let other = s.new_account(1_000).await;
    assert_eq!(
        order_as(
            s,
            &other.api_key,
            NY_AREA,
            "GEOGRAPHIC",
            1,
            &[("TITLE", "alpha")]
        )
        .await,
        ["12121111114"]
    );
    s.call(
        "DID.UPDATE",
        &[
            ("FILTER.E164", "12121111112"),
            ("SMS_URL", SMS_URL),
            ("SMS_EMAIL", "ops@example.com"),
        ],
    )
    .await
    .ok();
    s.call(
        "DID.UPDATE",
        &[
            ("FILTER.E164", "17185550100"),
            ("CALL_FORWARD_TYPE", "PHONE"),
            ("CALL_FORWARD_TO", "12125550000"),
        ],
    )
    .await
    .ok();
    s.call("DID.CANCEL", &[("E164", "17185550101")]).await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_filters_select_exactly_the_matching_numbers() {
    let s = TestServer::start().await;
    filter_fixture(&s).await;
    const NY: [&str; 3] = ["12121111111", "12121111112", "12121111113"];
    let all_but_phone = [
        "12121111111",
        "12121111112",
        "12121111113",
        "17185550101",
        "18005550100",
    ];
    let cases: Vec<(Params, Vec<&str>)> = vec![
        (
            vec![],
            vec![
                NY[0],
                NY[1],
                NY[2],
                "17185550100",
                "17185550101",
                "18005550100",
            ],
        ),
        (vec![("FILTER.E164", "12121111112")], vec![NY[1]]),
        (vec![("FILTER.E164", "+12121111112")], vec![NY[1]]),
        // Another tree's number is never listed, even when named exactly.
        (vec![("FILTER.E164", "12121111114")], vec![]),
        (vec![("FILTER.DID_TYPE", "TOLLFREE")], vec!["18005550100"]),
        (
            vec![("FILTER.DID_TYPE", "geographic")],
            vec![NY[0], NY[1], NY[2], "17185550100", "17185550101"],
        ),
        (vec![("FILTER.DID_TYPE", "MOBILE")], vec![]),
        (vec![("FILTER.TITLE", "alpha")], NY.to_vec()),
        (
            vec![("FILTER.TITLE", "Sales & Co")],
            vec!["17185550100", "17185550101"],
        ),
        // A title filter is the whole title, not a prefix of it.
        (vec![("FILTER.TITLE", "alph")], vec![]),
        (vec![("FILTER.STATUS", "Canceled")], vec!["17185550101"]),
        (
            vec![("FILTER.STATUS", "active")],
            vec![NY[0], NY[1], NY[2], "17185550100", "18005550100"],
        ),
        (vec![("FILTER.SMS_URL", SMS_URL)], vec![NY[1]]),
        (vec![("FILTER.SMS_EMAIL", "ops@example.com")], vec![NY[1]]),
        (
            vec![("FILTER.CALL_FORWARD_TYPE", "PHONE")],
            vec!["17185550100"],
        ),
        // A canceled number keeps its configuration while it ages.
        (
            vec![("FILTER.CALL_FORWARD_TYPE", "callflow")],
            all_but_phone.to_vec(),
        ),
        (
            vec![("FILTER.CALL_FORWARD_TO", "12125550000")],
            vec!["17185550100"],
        ),
        (
            vec![("FILTER.CALL_FORWARD_TO", DEMO_FORWARD_TO)],
            all_but_phone.to_vec(),
        ),
        // Several filters must all match.
        (
            vec![
                ("FILTER.DID_TYPE", "GEOGRAPHIC"),
                ("FILTER.STATUS", "Active"),
                ("FILTER.CALL_FORWARD_TYPE", "CALLFLOW"),
            ],
            NY.to_vec(),
        ),
        (
            vec![
                ("FILTER.TITLE", "alpha"),
                ("FILTER.SMS_EMAIL", "ops@example.com"),
            ],
            vec![NY[1]],
        ),
        (
            vec![("FILTER.TITLE", "alpha"), ("FILTER.STATUS", "Canceled")],
            vec![],
        ),
    ];
    for (filters, want) in cases {
        let r = list(&s, &filters).await;
        assert_eq!(r.e164s(), want, "filters {filters:?}: {}", r.body);
        assert_eq!(
            r.value("TOTAL"),
            Some(want.len().to_string()),
            "TOTAL for filters {filters:?}"
        );
        // A filter is no unknown parameter.
        assert_eq!(r.value("IGNORED_PARAMETERS"), None, "filters {filters:?}");
    }
    // The title's `&` and the URL's `&` are escaped on the wire and come
    // back intact.
    let d = did(&s, NY[1]).await;
    assert_eq!(d["SMS_URL"], SMS_URL);
    assert_eq!(did(&s, "17185550100").await["TITLE"], "Sales & Co");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_filter_e164_star_matches_any_run_of_digits_anywhere() {
    let s = TestServer::start().await;
    order_ny(&s, 3, &[]).await;
    order_as(&s, &s.key, BROOKLYN, "GEOGRAPHIC", 2, &[]).await;
    order_as(&s, &s.key, TOLL_FREE, "TOLLFREE", 1, &[]).await;
    let cases: [(&str, &[&str]); 10] = [
        // At the end.
        (
            "1212111111*",
            &["12121111111", "12121111112", "12121111113"],
        ),
        ("1718*", &["17185550100", "17185550101"]),
        // At the start.
        ("*0100", &["17185550100", "18005550100"]),
        ("*13", &["12121111113"]),
        // In the middle.
        ("1718*101", &["17185550101"]),
        ("1*50100", &["17185550100", "18005550100"]),
        // At both ends, and several in the middle.
        ("*555*", &["17185550100", "17185550101", "18005550100"]),
        ("1*1*3", &["12121111113"]),
        // Alone: everything.
        (
            "*",
            &[
                "12121111111",
                "12121111112",
                "12121111113",
                "17185550100",
                "17185550101",
                "18005550100",
            ],
        ),
        // Without a star the pattern is the whole number, not a prefix.
        ("1212111111", &[]),
    ];
    for (pattern, want) in cases {
        let r = list(&s, &[("FILTER.E164", pattern)]).await;
        assert_eq!(r.e164s(), want, "FILTER.E164={pattern}: {}", r.body);
        assert_eq!(r.value("TOTAL"), Some(want.len().to_string()), "{pattern}");
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_rejects_invalid_filter_values() {
    let s = TestServer::start().await;
    order_ny(&s, 1, &[]).await;
    for (name, value) in [
        ("FILTER.E164", "1212abc"),
        ("FILTER.E164", "WOLF"),
        ("FILTER.E164", "12?3"),
        ("FILTER.E164", "12[0-9]"),
        ("FILTER.DID_TYPE", "LOCAL"),
        // Only owned numbers are listed: Available is no status they have.
        ("FILTER.STATUS", "Available"),
        ("FILTER.STATUS", "deleted"),
        ("FILTER.CALL_FORWARD_TYPE", "EMAIL"),
    ] {
        let r = s
            .call("DID.LIST", &[(name, value)])
            .await
            .fails("INVALID_PARAMETER");
        assert_eq!(r.status, 200);
        assert!(
            r.error().starts_with(&format!("parameter {name} ")),
            "{name}={value}: {}",
            r.error()
        );
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_pages_with_limit_and_offset_and_reports_the_total() {
    let s = TestServer::start().await;
    let bought = order_ny(&s, 12, &[]).await;
    assert_eq!(bought.len(), 12);
    let numbers = |range: std::ops::RangeInclusive<u32>| -> Vec<String> {
        range.map(|n| format!("12121111{n}")).collect()
    };
    for (limit, offset, want) in [
        ("5", "", numbers(111..=115)),
        ("5", "0", numbers(111..=115)),
        ("5", "5", numbers(116..=120)),
        ("5", "10", numbers(121..=122)),
        ("5", "12", vec![]),
        ("1", "11", numbers(122..=122)),
        ("", "3", numbers(114..=122)),
        // The default LIMIT (1000) and the largest one show everything.
        ("", "", numbers(111..=122)),
        ("10000", "", numbers(111..=122)),
        ("", "4294967295", vec![]),
    ] {
        // An empty value here means the parameter is left out.
        let params: Vec<(&str, &str)> = [("LIMIT", limit), ("OFFSET", offset)]
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .collect();
        let r = list(&s, &params).await;
        assert_eq!(r.e164s(), want, "LIMIT={limit} OFFSET={offset}");
        // TOTAL counts every match, not the page.
        assert_eq!(
            r.value("TOTAL").as_deref(),
            Some("12"),
            "LIMIT={limit} OFFSET={offset}"
        );
    }
    // With a filter, TOTAL counts what the filter selects.
    let r = list(
        &s,
        &[
            ("FILTER.E164", "1212111112*"),
            ("LIMIT", "2"),
            ("OFFSET", "1"),
        ],
    )
    .await;
    assert_eq!(r.e164s(), ["12121111121", "12121111122"]);
    assert_eq!(r.value("TOTAL").as_deref(), Some("3"));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_limit_and_offset_out_of_range_are_invalid() {
    let s = TestServer::start().await;
    for (name, value) in [
        ("LIMIT", "0"),
        ("LIMIT", "10001"),
        ("LIMIT", "-1"),
        ("LIMIT", "ten"),
        ("LIMIT", "1.5"),
        ("OFFSET", "-1"),
        ("OFFSET", "x"),
    ] {
        let r = s
            .call("DID.LIST", &[(name, value)])
            .await
            .fails("INVALID_PARAMETER");
        assert!(
            r.error().starts_with(&format!("parameter {name} ")),
            "{name}={value}: {}",
            r.error()
        );
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_with_account_number_shows_an_own_sub_account() {
    let s = TestServer::start().await;
    let sub = subaccount_as(&s, &s.key, "Branch").await;
    let for_sub = order_ny(&s, 2, &[("ACCOUNT_NUMBER", &sub)]).await;
    let own = order_ny(&s, 1, &[]).await;

    let r = list(&s, &[("ACCOUNT_NUMBER", &sub)]).await;
    assert_eq!(r.e164s(), for_sub);
    assert_eq!(r.value("TOTAL").as_deref(), Some("2"));
    for d in r.elements("DID") {
        assert_eq!(d["ACCOUNT_NUMBER"], sub, "{d:?}");
        // A sub-account made over the API inherits the parent's forwarding.
        assert_eq!(d["CALL_FORWARD_TYPE"], DEMO_FORWARD_TYPE, "{d:?}");
        assert_eq!(d["CALL_FORWARD_TO"], DEMO_FORWARD_TO, "{d:?}");
    }
    // Filters apply within the selected account.
    let r = list(
        &s,
        &[("ACCOUNT_NUMBER", &sub), ("FILTER.E164", &for_sub[1])],
    )
    .await;
    assert_eq!(r.e164s(), [for_sub[1].as_str()]);
    // Without ACCOUNT_NUMBER, or with the key's own, only the key's own
    // account is listed, not its sub-accounts.
    assert_eq!(list(&s, &[]).await.e164s(), own);
    assert_eq!(
        list(&s, &[("ACCOUNT_NUMBER", &s.account)]).await.e164s(),
        own
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_with_an_account_outside_the_keys_subtree_is_access_denied() {
    let s = TestServer::start().await;
    let other = s.new_account(1_000).await;
    order_as(&s, &other.api_key, NY_AREA, "GEOGRAPHIC", 1, &[]).await;
    let sub = sub_account(&s, &s.account).await;
    let sibling = sub_account(&s, &s.account).await;
    let cases = [
        (
            "foreign account",
            s.key.as_str(),
            other.account_number.as_str(),
        ),
        ("parent", sub.api_key.as_str(), s.account.as_str()),
        (
            "sibling",
            sub.api_key.as_str(),
            sibling.account_number.as_str(),
        ),
        (
            "other tree's key on demo",
            other.api_key.as_str(),
            s.account.as_str(),
        ),
    ];
    for (what, key, account) in cases {
        let r = s
            .call_as(key, "DID.LIST", &[("ACCOUNT_NUMBER", account)])
            .await
            .fails("ACCESS_DENIED");
        assert_eq!(r.status, 200, "{what}");
        assert!(r.elements("DID").is_empty(), "{what}: {}", r.body);
    }
    // A malformed account number is a parameter error, not a tree question.
    s.call("DID.LIST", &[("ACCOUNT_NUMBER", "12345")])
        .await
        .fails("INVALID_PARAMETER");
    s.stop().await;
}

// ------------------------------------------------------------ DID.UPDATE

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_validates_each_forwarding_type_and_sms_field() {
    let s = TestServer::start().await;
    let n = order_ny(&s, 1, &[]).await.remove(0);
    let long_callflow = "a".repeat(64);
    let too_long_callflow = "a".repeat(65);
    // Each accepted setting: the request, then the field and value the
    // number shows afterwards.
    let good: Vec<(Params, &str, &str)> = vec![
        (
            vec![
                ("CALL_FORWARD_TYPE", "PHONE"),
                ("CALL_FORWARD_TO", "1234567"),
            ],
            "CALL_FORWARD_TO",
            "1234567",
        ),
        (
            vec![
                ("CALL_FORWARD_TYPE", "PHONE"),
                ("CALL_FORWARD_TO", "123456789012345"),
            ],
            "CALL_FORWARD_TO",
            "123456789012345",
        ),
        (
            vec![
                ("CALL_FORWARD_TYPE", "SIP_URI"),
                ("CALL_FORWARD_TO", "user@sip.example.com"),
            ],
            "CALL_FORWARD_TO",
            "user@sip.example.com",
        ),
        (
            vec![
                ("CALL_FORWARD_TYPE", "SIP_URI"),
                ("CALL_FORWARD_TO", "user@10.0.0.1:5060"),
            ],
            "CALL_FORWARD_TO",
            "user@10.0.0.1:5060",
        ),
        (
            vec![
                ("CALL_FORWARD_TYPE", "CALLFLOW"),
                ("CALL_FORWARD_TO", "abcd1234"),
            ],
            "CALL_FORWARD_TO",
            "abcd1234",
        ),
        (
            vec![
                ("CALL_FORWARD_TYPE", "CALLFLOW"),
                ("CALL_FORWARD_TO", &long_callflow),
            ],
            "CALL_FORWARD_TO",
            &long_callflow,
        ),
        (
            vec![
                ("CALL_FORWARD_TYPE", "SIP_REGISTERED"),
                ("CALL_FORWARD_TO", "ACCOUNT"),
            ],
            "CALL_FORWARD_TYPE",
            "SIP_REGISTERED",
        ),
        (
            vec![
                ("CALL_FORWARD_TYPE", "SIP_REGISTERED"),
                ("CALL_FORWARD_TO", "E164"),
            ],
            "CALL_FORWARD_TO",
            "E164",
        ),
        (
            vec![
                ("CALL_FORWARD_TYPE", "TRUNK"),
                ("CALL_FORWARD_TO", "trunk-1"),
            ],
            "CALL_FORWARD_TO",
            "trunk-1",
        ),
        (
            vec![
                ("CALL_FORWARD_TYPE", "trunk"),
                ("CALL_FORWARD_TO", "trunk-2"),
            ],
            "CALL_FORWARD_TYPE",
            "TRUNK",
        ),
        (
            vec![("SMS_URL", "http://example.com/in")],
            "SMS_URL",
            "http://example.com/in",
        ),
        (
            vec![("SMS_URL", "https://example.com/in?a=b")],
            "SMS_URL",
            "https://example.com/in?a=b",
        ),
        (
            vec![("SMS_EMAIL", "ops@example.com")],
            "SMS_EMAIL",
            "ops@example.com",
        ),
        (
            vec![("SMS_PHONE", "12125550000")],
            "SMS_PHONE",
            "12125550000",
        ),
        (vec![("TITLE", "front desk")], "TITLE", "front desk"),
    ];
    for (settings, field, value) in good {
        let mut params = vec![("FILTER.E164", n.as_str())];
        params.extend_from_slice(&settings);
        let r = s.call("DID.UPDATE", &params).await.ok();
        assert_eq!(r.e164s(), [n.as_str()], "{settings:?}");
        assert_eq!(r.elements("DID")[0][field], value, "reply to {settings:?}");
        assert_eq!(did(&s, &n).await[field], value, "listed after {settings:?}");
    }

    // Each refused setting, and the parameter the error must name.
    let bad: Vec<(Params, &str)> = vec![
        (
            vec![
                ("CALL_FORWARD_TYPE", "PHONE"),
                ("CALL_FORWARD_TO", "123456"),
            ],
            "CALL_FORWARD_TO",
        ),
        (
            vec![
                ("CALL_FORWARD_TYPE", "PHONE"),
                ("CALL_FORWARD_TO", "1234567890123456"),
            ],
            "CALL_FORWARD_TO",
        ),
        (
            vec![
                ("CALL_FORWARD_TYPE", "PHONE"),
                ("CALL_FORWARD_TO", "12-3456789"),
            ],
            "CALL_FORWARD_TO",
        ),
        (
            vec![
                ("CALL_FORWARD_TYPE", "SIP_URI"),
                ("CALL_FORWARD_TO", "no-at-sign"),
            ],
            "CALL_FORWARD_TO",
        ),
        (
            vec![
                ("CALL_FORWARD_TYPE", "SIP_URI"),
                ("CALL_FORWARD_TO", "a@b.example,c@d.example,e@f.example"),
            ],
            "CALL_FORWARD_TO",
        ),
        (
            vec![
                ("CALL_FORWARD_TYPE", "SIP_URI"),
                ("CALL_FORWARD_TO", "a@host.example:99999"),
            ],
            "CALL_FORWARD_TO",
        ),
        (
            vec![
                ("CALL_FORWARD_TYPE", "SIP_URI"),
                ("CALL_FORWARD_TO", "a@ho st.example"),
            ],
            "CALL_FORWARD_TO",
        ),
        (
            vec![
                ("CALL_FORWARD_TYPE", "CALLFLOW"),
                ("CALL_FORWARD_TO", "abc1234"),
            ],
            "CALL_FORWARD_TO",
        ),
        (
            vec![
                ("CALL_FORWARD_TYPE", "CALLFLOW"),
                ("CALL_FORWARD_TO", &too_long_callflow),
            ],
            "CALL_FORWARD_TO",
        ),
        (
            vec![
                ("CALL_FORWARD_TYPE", "CALLFLOW"),
                ("CALL_FORWARD_TO", "abcd-1234"),
            ],
            "CALL_FORWARD_TO",
        ),
        (
            vec![
                ("CALL_FORWARD_TYPE", "SIP_REGISTERED"),
                ("CALL_FORWARD_TO", "OTHER"),
            ],
            "CALL_FORWARD_TO",
        ),
        (
            vec![
                ("CALL_FORWARD_TYPE", "TRUNK"),
                ("CALL_FORWARD_TO", "bad trunk"),
            ],
            "CALL_FORWARD_TO",
        ),
        (
            vec![
                ("CALL_FORWARD_TYPE", "EMAIL"),
                ("CALL_FORWARD_TO", "ops@example.com"),
            ],
            "CALL_FORWARD_TYPE",
        ),
        (vec![("SMS_URL", "ftp://example.com/in")], "SMS_URL"),
        (vec![("SMS_URL", "example.com/in")], "SMS_URL"),
        (vec![("SMS_EMAIL", "nobody")], "SMS_EMAIL"),
        (vec![("SMS_PHONE", "12ab")], "SMS_PHONE"),
    ];
    let before = did(&s, &n).await;
    let history_before = history(&s, &n).len();
    for (settings, name) in bad {
        let mut params = vec![("FILTER.E164", n.as_str())];
        params.extend_from_slice(&settings);
        let r = s
            .call("DID.UPDATE", &params)
            .await
            .fails("INVALID_PARAMETER");
        assert!(
            r.error().starts_with(&format!("parameter {name} ")),
            "{settings:?}: {}",
            r.error()
        );
        assert_eq!(did(&s, &n).await, before, "changed by refused {settings:?}");
    }
    assert_eq!(
        history(&s, &n).len(),
        history_before,
        "refused updates left history"
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_with_a_bad_sip_uri_changes_none_of_the_selected_numbers() {
    let s = TestServer::start().await;
    let bought = order_ny(&s, 3, &[]).await;
    let before = snapshot(&s, &s.key, None).await;
    let r = s
        .call(
            "DID.UPDATE",
            &[
                ("FILTER.E164", "1212*"),
                ("CALL_FORWARD_TYPE", "SIP_URI"),
                ("CALL_FORWARD_TO", "a@b.example,c@d.example,e@f.example"),
                // A valid setting in the same request is not applied either.
                ("SMS_URL", "https://new.example.com/sms"),
            ],
        )
        .await
        .fails("INVALID_PARAMETER");
    assert!(r.elements("DID").is_empty(), "{}", r.body);
    let after = snapshot(&s, &s.key, None).await;
    assert_eq!(after, before);
    for d in &after {
        assert_eq!(d["CALL_FORWARD_TYPE"], DEMO_FORWARD_TYPE, "{d:?}");
        assert_eq!(d["CALL_FORWARD_TO"], DEMO_FORWARD_TO, "{d:?}");
        assert_eq!(d["SMS_URL"], "", "{d:?}");
    }
    for n in &bought {
        assert_eq!(events(&history(&s, n)), ["ordered"], "{n}");
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_failing_on_one_selected_number_rolls_back_the_others() {
    let s = TestServer::start().await;
    let bought = order_ny(&s, 3, &[]).await;
    // The last number (in E.164 order, the order numbers are changed in)
    // forwards to a PHONE, the first two to the demo CALLFLOW.
    s.call(
        "DID.UPDATE",
        &[
            ("FILTER.E164", &bought[2]),
            ("CALL_FORWARD_TYPE", "PHONE"),
            ("CALL_FORWARD_TO", "12125550000"),
        ],
    )
    .await
    .ok();
    let before = snapshot(&s, &s.key, None).await;
    let history_before: Vec<usize> = bought.iter().map(|n| history(&s, n).len()).collect();
    // Letters make a valid CALLFLOW target but not a PHONE one, so the
    // first two numbers pass and the third fails: the change to the first
    // two must not survive.
    let r = s
        .call(
            "DID.UPDATE",
            &[
                ("FILTER.E164", "1212*"),
                ("CALL_FORWARD_TO", "abcdefgh12345"),
                ("SMS_EMAIL", "ops@example.com"),
            ],
        )
        .await
        .fails("INVALID_PARAMETER");
    assert!(r.error().contains("CALL_FORWARD_TO"), "{}", r.error());
    assert_eq!(snapshot(&s, &s.key, None).await, before);
    let history_after: Vec<usize> = bought.iter().map(|n| history(&s, n).len()).collect();
    assert_eq!(
        history_after, history_before,
        "history of a rolled back update"
    );

    // A number without forwarding cannot take a target alone either, and
    // fails the whole update the same way.
    s.call(
        "DID.UPDATE",
        &[("FILTER.E164", &bought[2]), ("CALL_FORWARD_TYPE", "")],
    )
    .await
    .ok();
    let cleared = did(&s, &bought[2]).await;
    assert_eq!(cleared["CALL_FORWARD_TYPE"], "");
    assert_eq!(cleared["CALL_FORWARD_TO"], "");
    let before = snapshot(&s, &s.key, None).await;
    s.call(
        "DID.UPDATE",
        &[
            ("FILTER.E164", "1212*"),
            ("CALL_FORWARD_TO", "abcdefgh12345"),
        ],
    )
    .await
    .fails("INVALID_PARAMETER");
    assert_eq!(snapshot(&s, &s.key, None).await, before);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_sets_two_sip_targets_with_the_e164_placeholder() {
    let s = TestServer::start().await;
    let bought = order_ny(&s, 2, &[]).await;
    let target = "$[E164]$@sip.example.com:5060,backup@sip2.example.com";
    let r = s
        .call(
            "DID.UPDATE",
            &[
                ("FILTER.E164", "1212*"),
                ("CALL_FORWARD_TYPE", "SIP_URI"),
                ("CALL_FORWARD_TO", target),
            ],
        )
        .await
        .ok();
    // The reply lists the numbers changed, as they are now; the
    // placeholder is stored as given, for the switch to fill in per call.
    assert_eq!(r.e164s(), bought);
    for d in r.elements("DID") {
        assert_eq!(d["CALL_FORWARD_TYPE"], "SIP_URI", "{d:?}");
        assert_eq!(d["CALL_FORWARD_TO"], target, "{d:?}");
    }
    for n in &bought {
        let d = did(&s, n).await;
        assert_eq!(d["CALL_FORWARD_TYPE"], "SIP_URI");
        assert_eq!(d["CALL_FORWARD_TO"], target);
    }
    // A target alone is now checked as a SIP_URI, the numbers' type.
    s.call(
        "DID.UPDATE",
        &[("FILTER.E164", "1212*"), ("CALL_FORWARD_TO", "12125550000")],
    )
    .await
    .fails("INVALID_PARAMETER");
    s.call(
        "DID.UPDATE",
        &[
            ("FILTER.E164", "1212*"),
            ("CALL_FORWARD_TO", "$[E164]$@pbx.example.com"),
        ],
    )
    .await
    .ok();
    for n in &bought {
        let d = did(&s, n).await;
        assert_eq!(d["CALL_FORWARD_TYPE"], "SIP_URI");
        assert_eq!(d["CALL_FORWARD_TO"], "$[E164]$@pbx.example.com");
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_with_an_empty_sms_url_clears_only_that_field() {
    let s = TestServer::start().await;
    let n = order_ny(&s, 1, &[]).await.remove(0);
    s.call(
        "DID.UPDATE",
        &[
            ("FILTER.E164", &n),
            ("SMS_URL", "https://example.com/sms"),
            ("SMS_EMAIL", "ops@example.com"),
            ("SMS_PHONE", "12125550000"),
        ],
    )
    .await
    .ok();
    let before = did(&s, &n).await;
    assert_eq!(before["SMS_URL"], "https://example.com/sms");
    // An empty value is a setting (clear it), not an absent one, so this is
    // no MISSING_PARAMETER.
    let r = s
        .call("DID.UPDATE", &[("FILTER.E164", &n), ("SMS_URL", "")])
        .await
        .ok();
    assert_eq!(r.elements("DID")[0]["SMS_URL"], "");
    let mut want = before.clone();
    want.insert("SMS_URL".into(), String::new());
    assert_eq!(did(&s, &n).await, want);
    let cleared = history(&s, &n)
        .into_iter()
        .rfind(|h| h.event == "updated")
        .unwrap();
    assert_eq!(
        (
            cleared.field.as_str(),
            cleared.old_value.as_str(),
            cleared.new_value.as_str()
        ),
        ("SMS_URL", "https://example.com/sms", "")
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_call_forward_to_alone_validates_against_the_current_callflow_type() {
    let s = TestServer::start().await;
    let bought = order_ny(&s, 2, &[]).await;
    let before = snapshot(&s, &s.key, None).await;
    // Valid targets of other types, but not CALLFLOW ones (8 to 64 letters
    // and digits): the numbers' type decides.
    for target in [
        "user@sip.example.com",
        "1234567",
        "ACCOUNT",
        "trunk-1",
        "abc",
    ] {
        let r = s
            .call(
                "DID.UPDATE",
                &[("FILTER.E164", "1212*"), ("CALL_FORWARD_TO", target)],
            )
            .await
            .fails("INVALID_PARAMETER");
        assert!(
            r.error().contains("CALL_FORWARD_TO"),
            "{target}: {}",
            r.error()
        );
        assert_eq!(snapshot(&s, &s.key, None).await, before, "{target}");
    }
    let r = s
        .call(
            "DID.UPDATE",
            &[
                ("FILTER.E164", "1212*"),
                ("CALL_FORWARD_TO", "NewFlow12345678"),
            ],
        )
        .await
        .ok();
    assert_eq!(r.e164s(), bought);
    for n in &bought {
        let d = did(&s, n).await;
        assert_eq!(d["CALL_FORWARD_TYPE"], "CALLFLOW", "{n}");
        assert_eq!(d["CALL_FORWARD_TO"], "NewFlow12345678", "{n}");
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_cannot_reach_a_number_of_another_tree() {
    let s = TestServer::start().await;
    let other = s.new_account(1_000).await;
    let theirs = order_as(&s, &other.api_key, NY_AREA, "GEOGRAPHIC", 1, &[])
        .await
        .remove(0);
    let their_before = snapshot(&s, &other.api_key, None).await;
    // Named exactly, the other tree's number is not found for the demo key.
    let r = s
        .call(
            "DID.UPDATE",
            &[
                ("FILTER.E164", &theirs),
                ("SMS_URL", "https://evil.example.com"),
            ],
        )
        .await
        .fails("NOT_FOUND");
    assert!(!r.body.contains(&other.account_number), "{}", r.body);
    // A pattern covering both trees changes only the caller's own number.
    let mine = order_ny(&s, 1, &[]).await.remove(0);
    let r = s
        .call(
            "DID.UPDATE",
            &[
                ("FILTER.E164", "1212*"),
                ("SMS_URL", "https://mine.example.com"),
            ],
        )
        .await
        .ok();
    assert_eq!(r.e164s(), [mine.as_str()]);
    assert_eq!(snapshot(&s, &other.api_key, None).await, their_before);
    assert_eq!(did_as(&s, &other.api_key, &theirs).await["SMS_URL"], "");
    assert_eq!(events(&history(&s, &theirs)), ["ordered"]);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_needs_a_filter_and_a_setting_and_a_match() {
    let s = TestServer::start().await;
    let bought = order_ny(&s, 2, &[]).await;
    s.call("DID.CANCEL", &[("E164", &bought[1])]).await.ok();
    let before = snapshot(&s, &s.key, None).await;
    // No filter at all (an empty one counts as absent): updating every
    // number by accident takes a deliberate filter.
    for params in [
        vec![("SMS_URL", "https://example.com/sms")],
        vec![("FILTER.E164", ""), ("SMS_URL", "https://example.com/sms")],
    ] {
        let r = s
            .call("DID.UPDATE", &params)
            .await
            .fails("MISSING_PARAMETER");
        assert!(r.error().contains("FILTER"), "{params:?}: {}", r.error());
    }
    // A filter but nothing to set.
    let r = s
        .call("DID.UPDATE", &[("FILTER.E164", "1212*")])
        .await
        .fails("MISSING_PARAMETER");
    assert!(r.error().contains("CALL_FORWARD_TYPE"), "{}", r.error());
    // Filters that select none of the caller's active numbers.
    for filter in [
        ("FILTER.E164", "1999*"),
        ("FILTER.TITLE", "nobody"),
        ("FILTER.E164", bought[1].as_str()),
        ("FILTER.STATUS", "Canceled"),
    ] {
        s.call(
            "DID.UPDATE",
            &[filter, ("SMS_URL", "https://example.com/sms")],
        )
        .await
        .fails("NOT_FOUND");
    }
    assert_eq!(snapshot(&s, &s.key, None).await, before);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_changes_only_active_numbers() {
    let s = TestServer::start().await;
    let bought = order_ny(&s, 3, &[]).await;
    s.call("DID.CANCEL", &[("E164", &bought[1])]).await.ok();
    let canceled_before = did(&s, &bought[1]).await;
    let r = s
        .call(
            "DID.UPDATE",
            &[("FILTER.E164", "1212*"), ("SMS_EMAIL", "ops@example.com")],
        )
        .await
        .ok();
    assert_eq!(r.e164s(), [bought[0].clone(), bought[2].clone()]);
    assert_eq!(did(&s, &bought[1]).await, canceled_before);
    assert_eq!(did(&s, &bought[0]).await["SMS_EMAIL"], "ops@example.com");
    s.stop().await;
}

// ------------------------------------------------- DID.CANCEL and RESTORE

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_shows_the_number_canceled_and_keeps_it_out_of_stock() {
    let s = TestServer::start().await;
    let n = order_as(&s, &s.key, BROOKLYN, "GEOGRAPHIC", 1, &[])
        .await
        .remove(0);
    assert_eq!(n, "17185550100");
    assert_eq!(stock(&s, BROOKLYN).await, 9);
    let active = did(&s, &n).await;

    let r = s.call("DID.CANCEL", &[("E164", &n)]).await.ok();
    let replied = r.elements("DID");
    assert_eq!(e164s_of(&replied), [n.as_str()]);
    assert_eq!(replied[0]["STATUS"], "Canceled");
    // Aging: listed as Canceled with everything else as it was, and not
    // back in stock.
    let mut want = active.clone();
    want.insert("STATUS".into(), "Canceled".into());
    assert_eq!(did(&s, &n).await, want);
    assert_eq!(stock(&s, BROOKLYN).await, 9);
    assert_eq!(
        list(&s, &[("FILTER.STATUS", "Canceled")]).await.e164s(),
        [n.as_str()]
    );
    // Canceling it again is a state conflict.
    s.call("DID.CANCEL", &[("E164", &n)])
        .await
        .fails("CONFLICT");
    // Another account cannot buy it while it ages: it gets the next one.
    let other = s.new_account(1_000).await;
    assert_eq!(
        order_as(&s, &other.api_key, BROOKLYN, "GEOGRAPHIC", 1, &[]).await,
        ["17185550101"]
    );
    assert_eq!(stock(&s, BROOKLYN).await, 8);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canceled_number_returns_to_stock_after_aging_with_configuration_wiped() {
    // Aging is kept in whole seconds, so 2 s leaves at least one full
    // second in which the number is certainly still aging.
    let s = TestServer::start_with(|c| {
        c.aging = Duration::from_secs(2);
        c.sweep_interval = Duration::from_millis(100);
    })
    .await;
    let n = order_as(&s, &s.key, BROOKLYN, "GEOGRAPHIC", 1, &[("TITLE", "mine")])
        .await
        .remove(0);
    s.call(
        "DID.UPDATE",
        &[
            ("FILTER.E164", &n),
            ("SMS_URL", "https://example.com/sms"),
            ("SMS_EMAIL", "ops@example.com"),
            ("SMS_PHONE", "12125550000"),
        ],
    )
    .await
    .ok();
    s.call("DID.CANCEL", &[("E164", &n)]).await.ok();
    assert_eq!(stock(&s, BROOKLYN).await, 9);
    // The sweep returns it on its own, without a request or a restart.
    assert!(
        wait_for_stock(&s, BROOKLYN, 10, Duration::from_secs(6)).await,
        "canceled number not back in stock after aging"
    );
    // It has left the account entirely.
    assert!(list(&s, &[]).await.e164s().is_empty());
    assert!(owned(&s, &s.account).is_empty());
    // Wiped while in stock: no API shows a stock number's configuration
    // (an order overwrites it), so this looks at the row itself.
    assert_eq!(
        stored_configuration(&s, &n),
        ["", "", "", "", "", "", "available"],
        "configuration of {n} back in stock"
    );
    // Orderable again, by another account, as a fresh number: the new
    // owner has no default forwarding and nothing of the old configuration
    // survives.
    let other = s.new_account(1_000).await;
    let r = s
        .call_as(
            &other.api_key,
            "DID.ORDER",
            &[("DID_TYPE", "GEOGRAPHIC"), ("AREA_ID", BROOKLYN)],
        )
        .await
        .ok();
    assert_eq!(r.e164s(), [n.as_str()]);
    let d = did_as(&s, &other.api_key, &n).await;
    assert_eq!(d["ACCOUNT_NUMBER"], other.account_number);
    assert_eq!(d["STATUS"], "Active");
    for field in [
        "TITLE",
        "SMS_URL",
        "SMS_EMAIL",
        "SMS_PHONE",
        "CALL_FORWARD_TYPE",
        "CALL_FORWARD_TO",
    ] {
        assert_eq!(d[field], "", "{field} survived aging: {d:?}");
    }
    // The history tells the whole story, the return made by no key.
    let h = history(&s, &n);
    let ev = events(&h);
    assert_eq!(ev.first(), Some(&"ordered"));
    assert_eq!(
        &ev[ev.len() - 3..],
        ["canceled", "returned", "ordered"],
        "{h:?}"
    );
    let returned = &h[h.len() - 2];
    assert_eq!(returned.key_id, "", "{returned:?}");
    assert_eq!(h.last().unwrap().account_number, other.account_number);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_during_aging_brings_the_number_back_with_its_configuration() {
    let s = TestServer::start().await;
    let n = order_as(&s, &s.key, BROOKLYN, "GEOGRAPHIC", 1, &[("TITLE", "kept")])
        .await
        .remove(0);
    s.call(
        "DID.UPDATE",
        &[
            ("FILTER.E164", &n),
            ("CALL_FORWARD_TYPE", "SIP_URI"),
            ("CALL_FORWARD_TO", "$[E164]$@sip.example.com"),
            ("SMS_URL", "https://example.com/sms"),
            ("SMS_EMAIL", "ops@example.com"),
            ("SMS_PHONE", "12125550000"),
        ],
    )
    .await
    .ok();
    let before = did(&s, &n).await;
    // Restoring an active number is a state conflict.
    s.call("DID.RESTORE", &[("E164", &n)])
        .await
        .fails("CONFLICT");
    s.call("DID.CANCEL", &[("E164", &n)]).await.ok();
    let r = s.call("DID.RESTORE", &[("E164", &n)]).await.ok();
    assert_eq!(r.e164s(), [n.as_str()]);
    assert_eq!(r.elements("DID")[0]["STATUS"], "Active");
    // Everything as before the cancel: forwarding, SMS, title, plan,
    // prices, owner and order date.
    assert_eq!(did(&s, &n).await, before);
    assert_eq!(stock(&s, BROOKLYN).await, 9);
    s.call("DID.RESTORE", &[("E164", &n)])
        .await
        .fails("CONFLICT");
    // It is a normal active number again: it can be canceled once more.
    s.call("DID.CANCEL", &[("E164", &n)]).await.ok();
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_after_aging_is_not_found() {
    let s = TestServer::start_with(|c| {
        c.aging = Duration::from_secs(1);
        c.sweep_interval = Duration::from_millis(100);
    })
    .await;
    let n = order_as(&s, &s.key, BROOKLYN, "GEOGRAPHIC", 1, &[])
        .await
        .remove(0);
    s.call("DID.CANCEL", &[("E164", &n)]).await.ok();
    assert!(
        wait_for_stock(&s, BROOKLYN, 10, Duration::from_secs(5)).await,
        "canceled number not back in stock after aging"
    );
    s.call("DID.RESTORE", &[("E164", &n)])
        .await
        .fails("NOT_FOUND");
    assert!(list(&s, &[]).await.e164s().is_empty());
    assert_eq!(stock(&s, BROOKLYN).await, 10);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_after_aging_ended_is_not_found_even_before_the_sweep() {
    // The sweep runs once at start and then not for an hour, so the number
    // stays in its aging row after its aging has ended.
    let s = TestServer::start_with(|c| {
        c.aging = Duration::from_secs(1);
        c.sweep_interval = Duration::from_secs(3600);
    })
    .await;
    let n = order_as(&s, &s.key, BROOKLYN, "GEOGRAPHIC", 1, &[])
        .await
        .remove(0);
    s.call("DID.CANCEL", &[("E164", &n)]).await.ok();
    // The server stamps the cancel no later than now; once a whole aging
    // period (in whole seconds) has passed after that, aging is over.
    let canceled_by = didgate::domain::now();
    while didgate::domain::now() < canceled_by + 1 {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    s.call("DID.RESTORE", &[("E164", &n)])
        .await
        .fails("NOT_FOUND");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_and_cancel_of_another_trees_number_are_not_found() {
    let s = TestServer::start().await;
    let other = s.new_account(1_000).await;
    let n = order_as(&s, &s.key, BROOKLYN, "GEOGRAPHIC", 2, &[]).await;
    s.call("DID.CANCEL", &[("E164", &n[0])]).await.ok();
    let before = snapshot(&s, &s.key, None).await;
    // The other tree can neither restore the canceled number nor cancel the
    // active one, and learns nothing about them.
    for (action, e164) in [("DID.RESTORE", &n[0]), ("DID.CANCEL", &n[1])] {
        let r = s
            .call_as(&other.api_key, action, &[("E164", e164)])
            .await
            .fails("NOT_FOUND");
        assert!(!r.body.contains(&s.account), "{action}: {}", r.body);
    }
    // A number nobody owns cannot be restored or canceled either.
    s.call("DID.RESTORE", &[("E164", "17185550105")])
        .await
        .fails("NOT_FOUND");
    s.call("DID.CANCEL", &[("E164", "17185550105")])
        .await
        .fails("NOT_FOUND");
    assert_eq!(snapshot(&s, &s.key, None).await, before);
    assert!(snapshot(&s, &other.api_key, None).await.is_empty());
    assert_eq!(stock(&s, BROOKLYN).await, 8);
    s.stop().await;
}

// ------------------------------------------------------------- DID.MOVE

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn move_to_an_own_sub_account_keeps_the_routing() {
    let s = TestServer::start().await;
    let sub = subaccount_as(&s, &s.key, "Branch").await;
    let n = order_ny(&s, 1, &[("TITLE", "desk")]).await.remove(0);
    // Routing that differs from the sub-account's inherited default, so a
    // move that reset it would show.
    s.call(
        "DID.UPDATE",
        &[
            ("FILTER.E164", &n),
            ("CALL_FORWARD_TYPE", "PHONE"),
            ("CALL_FORWARD_TO", "12125550000"),
            ("SMS_URL", "https://example.com/sms"),
        ],
    )
    .await
    .ok();
    let before = did(&s, &n).await;

    let r = s
        .call("DID.MOVE", &[("E164", &n), ("TO_ACCOUNT_NUMBER", &sub)])
        .await
        .ok();
    assert_eq!(r.e164s(), [n.as_str()]);
    assert_eq!(r.elements("DID")[0]["ACCOUNT_NUMBER"], sub);
    // Absent ACCOUNT_NUMBER lists the key's own account: the number is not
    // there any more. Listed in the sub-account, it is unchanged but for
    // the owner.
    let own = list(&s, &[]).await;
    assert!(own.e164s().is_empty(), "{}", own.body);
    let in_sub = list(&s, &[("ACCOUNT_NUMBER", &sub)]).await.elements("DID");
    let mut want = before.clone();
    want.insert("ACCOUNT_NUMBER".into(), sub.clone());
    assert_eq!(in_sub, [want]);

    // And back, by the same key acting for the sub-account.
    s.call(
        "DID.MOVE",
        &[
            ("ACCOUNT_NUMBER", &sub),
            ("E164", &n),
            ("TO_ACCOUNT_NUMBER", &s.account),
        ],
    )
    .await
    .ok();
    assert_eq!(did(&s, &n).await, before);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn move_to_a_foreign_account_is_access_denied_and_changes_nothing() {
    let s = TestServer::start().await;
    let other = s.new_account(1_000).await;
    let n = order_ny(&s, 1, &[]).await.remove(0);
    let theirs = order_as(&s, &other.api_key, NY_AREA, "GEOGRAPHIC", 1, &[])
        .await
        .remove(0);
    let before = did(&s, &n).await;
    s.call(
        "DID.MOVE",
        &[("E164", &n), ("TO_ACCOUNT_NUMBER", &other.account_number)],
    )
    .await
    .fails("ACCESS_DENIED");
    assert_eq!(did(&s, &n).await, before);
    assert_eq!(snapshot(&s, &other.api_key, None).await.len(), 1);
    // Nor can the demo key pull the other tree's number into its own.
    s.call(
        "DID.MOVE",
        &[("E164", &theirs), ("TO_ACCOUNT_NUMBER", &s.account)],
    )
    .await
    .fails("NOT_FOUND");
    assert_eq!(
        did_as(&s, &other.api_key, &theirs).await["ACCOUNT_NUMBER"],
        other.account_number
    );
    assert_eq!(events(&history(&s, &n)), ["ordered"]);
    assert_eq!(events(&history(&s, &theirs)), ["ordered"]);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sub_account_key_cannot_move_a_number_to_its_parent_or_sibling() {
    let s = TestServer::start().await;
    let sub = sub_account(&s, &s.account).await;
    let sibling = sub_account(&s, &s.account).await;
    let n = order_ny(&s, 1, &[("ACCOUNT_NUMBER", &sub.account_number)])
        .await
        .remove(0);
    let before = did_as(&s, &sub.api_key, &n).await;
    assert_eq!(before["ACCOUNT_NUMBER"], sub.account_number);
    for (what, to) in [
        ("parent", s.account.as_str()),
        ("sibling", sibling.account_number.as_str()),
    ] {
        s.call_as(
            &sub.api_key,
            "DID.MOVE",
            &[("E164", &n), ("TO_ACCOUNT_NUMBER", to)],
        )
        .await
        .fails("ACCESS_DENIED");
        assert_eq!(
            did_as(&s, &sub.api_key, &n).await,
            before,
            "after move to {what}"
        );
    }
    // The parent's key, whose subtree holds both, may move it between them.
    s.call(
        "DID.MOVE",
        &[
            ("ACCOUNT_NUMBER", &sub.account_number),
            ("E164", &n),
            ("TO_ACCOUNT_NUMBER", &sibling.account_number),
        ],
    )
    .await
    .ok();
    let moved = did_as(&s, &sibling.api_key, &n).await;
    assert_eq!(moved["ACCOUNT_NUMBER"], sibling.account_number);
    assert_eq!(moved["CALL_FORWARD_TYPE"], before["CALL_FORWARD_TYPE"]);
    assert_eq!(moved["CALL_FORWARD_TO"], before["CALL_FORWARD_TO"]);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn move_of_a_canceled_number_is_conflict() {
    let s = TestServer::start().await;
    let sub = subaccount_as(&s, &s.key, "Branch").await;
    let n = order_ny(&s, 1, &[]).await.remove(0);
    s.call("DID.CANCEL", &[("E164", &n)]).await.ok();
    let before = did(&s, &n).await;
    s.call("DID.MOVE", &[("E164", &n), ("TO_ACCOUNT_NUMBER", &sub)])
        .await
        .fails("CONFLICT");
    assert_eq!(did(&s, &n).await, before);
    assert!(
        list(&s, &[("ACCOUNT_NUMBER", &sub)])
            .await
            .e164s()
            .is_empty()
    );
    s.stop().await;
}

// ------------------------------------------------- REQUEST_ID and TEST

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_with_request_id_replays_the_first_reply_byte_for_byte() {
    let s = TestServer::start().await;
    let n = order_ny(&s, 2, &[]).await;
    let params = [("E164", n[0].as_str()), ("REQUEST_ID", "cancel-1")];
    let first = s.call("DID.CANCEL", &params).await.ok();
    assert_eq!(first.value("REQUEST_ID").as_deref(), Some("cancel-1"));
    // The number is canceled now, yet the retry is the same request, not a
    // second cancel: it gets the first reply, not CONFLICT.
    let second = s.call("DID.CANCEL", &params).await.ok();
    assert_eq!(first.body, second.body);
    // Without the REQUEST_ID it is a new request and meets the state.
    s.call("DID.CANCEL", &[("E164", &n[0])])
        .await
        .fails("CONFLICT");
    // The same REQUEST_ID with another number is a reuse.
    let r = s
        .call("DID.CANCEL", &[("E164", &n[1]), ("REQUEST_ID", "cancel-1")])
        .await
        .fails("CONFLICT");
    assert!(r.error().contains("REQUEST_ID"), "{}", r.error());
    assert_eq!(did(&s, &n[1]).await["STATUS"], "Active");
    assert_eq!(events(&history(&s, &n[0])), ["ordered", "canceled"]);
    assert_eq!(events(&history(&s, &n[1])), ["ordered"]);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_with_request_id_executes_once() {
    let s = TestServer::start().await;
    let n = order_ny(&s, 1, &[]).await.remove(0);
    let params = [
        ("FILTER.E164", n.as_str()),
        ("SMS_URL", "https://one.example.com"),
        ("REQUEST_ID", "upd-1"),
    ];
    let first = s.call("DID.UPDATE", &params).await.ok();
    s.call(
        "DID.UPDATE",
        &[("FILTER.E164", &n), ("SMS_URL", "https://two.example.com")],
    )
    .await
    .ok();
    // The retry replays the first reply and does not run again: the later
    // change stays.
    let replay = s.call("DID.UPDATE", &params).await.ok();
    assert_eq!(first.body, replay.body);
    assert_eq!(did(&s, &n).await["SMS_URL"], "https://two.example.com");
    s.call(
        "DID.UPDATE",
        &[
            ("FILTER.E164", &n),
            ("SMS_URL", "https://three.example.com"),
            ("REQUEST_ID", "upd-1"),
        ],
    )
    .await
    .fails("CONFLICT");
    assert_eq!(did(&s, &n).await["SMS_URL"], "https://two.example.com");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_true_on_update_cancel_and_move_commits_nothing() {
    let s = TestServer::start().await;
    let sub = subaccount_as(&s, &s.key, "Branch").await;
    let n = order_as(&s, &s.key, BROOKLYN, "GEOGRAPHIC", 1, &[])
        .await
        .remove(0);
    let before = snapshot(&s, &s.key, None).await;
    let history_before = history(&s, &n);

    let r = s
        .call(
            "DID.UPDATE",
            &[
                ("FILTER.E164", &n),
                ("SMS_URL", "https://dry.example.com"),
                ("TEST", "TRUE"),
            ],
        )
        .await
        .ok();
    assert_eq!(r.value("TEST").as_deref(), Some("TRUE"));
    // Answered as if done.
    assert_eq!(r.elements("DID")[0]["SMS_URL"], "https://dry.example.com");

    let r = s
        .call("DID.CANCEL", &[("E164", &n), ("TEST", "TRUE")])
        .await
        .ok();
    assert_eq!(r.value("TEST").as_deref(), Some("TRUE"));
    assert_eq!(r.elements("DID")[0]["STATUS"], "Canceled");

    let r = s
        .call(
            "DID.MOVE",
            &[("E164", &n), ("TO_ACCOUNT_NUMBER", &sub), ("TEST", "true")],
        )
        .await
        .ok();
    assert_eq!(r.value("TEST").as_deref(), Some("TRUE"));
    assert_eq!(r.elements("DID")[0]["ACCOUNT_NUMBER"], sub);

    assert_eq!(snapshot(&s, &s.key, None).await, before);
    assert!(snapshot(&s, &s.key, Some(&sub)).await.is_empty());
    assert_eq!(history(&s, &n), history_before);
    assert_eq!(stock(&s, BROOKLYN).await, 9);
    // The dry cancel left the number active: a real cancel still works,
    // and so does a restore (a dry restore of it changes nothing either).
    s.call("DID.CANCEL", &[("E164", &n)]).await.ok();
    s.call("DID.RESTORE", &[("E164", &n), ("TEST", "TRUE")])
        .await
        .ok();
    assert_eq!(did(&s, &n).await["STATUS"], "Canceled");
    s.stop().await;
}

// -------------------------------------------------------------- history

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_records_every_change_with_account_and_key() {
    let s = TestServer::start().await;
    let started = didgate::domain::now();
    let demo_key = demo_key_id(&s);
    let account = AccountNumber::parse(&s.account).unwrap();
    let second = s
        .admin(move |db| admin::create_key(db, &account).unwrap())
        .await;
    assert_ne!(second.key_id, demo_key);
    let sub = subaccount_as(&s, &s.key, "Branch").await;

    let n = order_ny(&s, 1, &[]).await.remove(0);
    // The update goes through the second key, so the history must name the
    // key actually used, not just any key of the account.
    s.call_as(
        &second.api_key,
        "DID.UPDATE",
        &[
            ("FILTER.E164", &n),
            ("CALL_FORWARD_TYPE", "PHONE"),
            ("CALL_FORWARD_TO", "12125550000"),
            ("SMS_EMAIL", "ops@example.com"),
        ],
    )
    .await
    .ok();
    s.call("DID.CANCEL", &[("E164", &n)]).await.ok();
    s.call_as(&second.api_key, "DID.RESTORE", &[("E164", &n)])
        .await
        .ok();
    s.call("DID.MOVE", &[("E164", &n), ("TO_ACCOUNT_NUMBER", &sub)])
        .await
        .ok();
    let finished = didgate::domain::now();

    let h = history(&s, &n);
    let ev = events(&h);
    let mut deduped = ev.clone();
    deduped.dedup();
    assert_eq!(
        deduped,
        ["ordered", "updated", "canceled", "restored", "moved"],
        "{h:?}"
    );
    for e in &h {
        assert!(
            (started..=finished).contains(&e.at),
            "time {} outside {started}..={finished}: {e:?}",
            e.at
        );
        assert!(!e.account_number.is_empty(), "{e:?}");
    }
    let one = |event: &str| h.iter().find(|e| e.event == event).unwrap();
    assert_eq!(one("ordered").key_id, demo_key);
    assert_eq!(one("ordered").account_number, s.account);

    let updated: Vec<&HistoryEntry> = h.iter().filter(|e| e.event == "updated").collect();
    for e in &updated {
        assert_eq!(e.key_id, second.key_id, "{e:?}");
        assert_eq!(e.account_number, s.account, "{e:?}");
    }
    let changes: Vec<(&str, &str, &str)> = updated
        .iter()
        .map(|e| (e.field.as_str(), e.old_value.as_str(), e.new_value.as_str()))
        .collect();
    for want in [
        ("CALL_FORWARD_TYPE", DEMO_FORWARD_TYPE, "PHONE"),
        ("CALL_FORWARD_TO", DEMO_FORWARD_TO, "12125550000"),
        ("SMS_EMAIL", "", "ops@example.com"),
    ] {
        assert!(changes.contains(&want), "{want:?} not in {changes:?}");
    }
    // Fields the update did not change are not recorded as changes.
    assert!(
        changes.iter().all(|(_, old, new)| old != new),
        "{changes:?}"
    );

    assert_eq!(one("canceled").key_id, demo_key);
    assert_eq!(one("canceled").account_number, s.account);
    assert_eq!(one("restored").key_id, second.key_id);
    assert_eq!(one("restored").account_number, s.account);
    let moved = one("moved");
    assert_eq!(moved.key_id, demo_key);
    assert_eq!(
        (moved.old_value.as_str(), moved.new_value.as_str()),
        (s.account.as_str(), sub.as_str())
    );
    assert!(
        moved.account_number == s.account || moved.account_number == sub,
        "{moved:?}"
    );
    s.stop().await;
}
