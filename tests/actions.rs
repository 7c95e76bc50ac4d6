//! Guards every action and every error code an action can raise, over HTTP
//! against a real server: the catalog listings, the balance, the rules of
//! `DID.ORDER` (defaults, validation, account trees, forwarding), the shared
//! request options (unknown actions, ignored parameters, `REQUEST_ID` echo),
//! authentication failures and the transport basics of PROTOCOL.md.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;
use common::{
    NY_AREA, TestServer, assert_auth_failed, balance_as, listed_stock, owned, poll_until_refused,
    sub_account,
};
use didgate::admin;
use didgate::domain::{AccountNumber, Money100};

/// Brooklyn: 10 numbers, only the SU plan (129 monthly, 199 setup).
const BROOKLYN: &str = "us-ny-718";
const DEMO_FORWARD_TO: &str = "8c25e06faf2b98erts3gdtb83df91b307ff287f1";

fn one<'a>(
    items: &'a [HashMap<String, String>],
    key: &str,
    value: &str,
) -> &'a HashMap<String, String> {
    items
        .iter()
        .find(|m| m[key] == value)
        .unwrap_or_else(|| panic!("no element with {key}={value}"))
}

fn ids(items: &[HashMap<String, String>], key: &str) -> Vec<String> {
    items.iter().map(|m| m[key].clone()).collect()
}

// ---------------------------------------------------------------- countries

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn countries_list_shows_every_country_with_areas() {
    let s = TestServer::start().await;
    let r = s.call("ANVEO.COUNTRIES.LIST", &[]).await.ok();
    assert_eq!(r.result(), "SUCCESS");
    assert!(r.body.contains("<COUNTRIES>"), "{}", r.body);
    let countries = r.elements("COUNTRY");
    // Sorted by name: FRANCE, UNITED KINGDOM, UNITED STATES.
    assert_eq!(ids(&countries, "COUNTRY_ID"), ["FR", "GB", "US"]);
    let us = one(&countries, "COUNTRY_ID", "US");
    assert_eq!(us["COUNTRY_NAME"], "UNITED STATES");
    assert_eq!(us["HAS_STATES"], "TRUE");
    // GB's areas have no state, so the country has none either.
    assert_eq!(one(&countries, "COUNTRY_ID", "GB")["HAS_STATES"], "FALSE");
    for c in &countries {
        assert!(matches!(c["IS_FAX"].as_str(), "TRUE" | "FALSE"), "{c:?}");
        assert!(matches!(c["IS_SMS"].as_str(), "TRUE" | "FALSE"), "{c:?}");
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn countries_list_filters_by_did_type() {
    let s = TestServer::start().await;
    // Only the US sells toll-free numbers in the demo catalog.
    let r = s
        .call("ANVEO.COUNTRIES.LIST", &[("DID_TYPE", "TOLLFREE")])
        .await
        .ok();
    assert_eq!(ids(&r.elements("COUNTRY"), "COUNTRY_ID"), ["US"]);
    // Enumerated values match case-insensitively.
    let r = s
        .call("ANVEO.COUNTRIES.LIST", &[("DID_TYPE", "mobile")])
        .await
        .ok();
    assert_eq!(ids(&r.elements("COUNTRY"), "COUNTRY_ID"), ["FR", "GB"]);
    let r = s
        .call("ANVEO.COUNTRIES.LIST", &[("DID_TYPE", "LOCAL")])
        .await;
    r.fails("INVALID_PARAMETER");
    s.stop().await;
}

// ------------------------------------------------------------------- states

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn states_list_shows_the_states_of_a_country() {
    let s = TestServer::start().await;
    let r = s
        .call("ANVEO.STATES.LIST", &[("COUNTRY_ID", "US")])
        .await
        .ok();
    let states = r.elements("STATE");
    assert_eq!(ids(&states, "STATE_ID"), ["US-CA", "US-FL", "US-NY"]);
    let ny = one(&states, "STATE_ID", "US-NY");
    assert_eq!(ny["STATE_NAME"], "New York");
    assert_eq!(ny["STATE_CODE"], "NY");
    // Country ids are matched case-insensitively, like the other enumerations.
    let lower = s
        .call("ANVEO.STATES.LIST", &[("COUNTRY_ID", "us")])
        .await
        .ok();
    assert_eq!(
        ids(&lower.elements("STATE"), "STATE_ID"),
        ["US-CA", "US-FL", "US-NY"]
    );
    // The toll-free area has no state, so filtering by its type leaves none.
    let tf = s
        .call(
            "ANVEO.STATES.LIST",
            &[("COUNTRY_ID", "US"), ("DID_TYPE", "TOLLFREE")],
        )
        .await
        .ok();
    assert!(tf.elements("STATE").is_empty(), "{}", tf.body);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn states_list_of_a_country_without_states_is_empty() {
    let s = TestServer::start().await;
    let r = s
        .call("ANVEO.STATES.LIST", &[("COUNTRY_ID", "GB")])
        .await
        .ok();
    assert!(r.body.contains("<STATES>"), "{}", r.body);
    assert!(r.elements("STATE").is_empty(), "{}", r.body);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn states_list_of_an_unknown_country_is_not_found() {
    let s = TestServer::start().await;
    let r = s
        .call("ANVEO.STATES.LIST", &[("COUNTRY_ID", "ZZ")])
        .await
        .fails("NOT_FOUND");
    assert_eq!(r.status, 200);
    assert_eq!(r.error(), "country ZZ not found");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn states_list_requires_country_id() {
    let s = TestServer::start().await;
    let r = s
        .call("ANVEO.STATES.LIST", &[])
        .await
        .fails("MISSING_PARAMETER");
    assert_eq!(r.error(), "missing parameter COUNTRY_ID");
    // An empty value counts as absent.
    s.call("ANVEO.STATES.LIST", &[("COUNTRY_ID", "  ")])
        .await
        .fails("MISSING_PARAMETER");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn states_list_rejects_a_three_letter_country_id() {
    let s = TestServer::start().await;
    let r = s
        .call("ANVEO.STATES.LIST", &[("COUNTRY_ID", "USA")])
        .await
        .fails("INVALID_PARAMETER");
    assert!(
        r.error().starts_with("parameter COUNTRY_ID "),
        "{}",
        r.error()
    );
    s.stop().await;
}

// -------------------------------------------------------------------- areas

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn areas_list_by_country_shows_stock_and_rate_plans() {
    let s = TestServer::start().await;
    let r = s
        .call("ANVEO.AREAS.LIST", &[("COUNTRY_ID", "US")])
        .await
        .ok();
    assert!(r.body.contains("<AREAS>"), "{}", r.body);
    let areas = r.elements("AREA");
    assert_eq!(
        ids(&areas, "AREA_ID"),
        [BROOKLYN, "us-fl-305", NY_AREA, "us-ca-415", "us-tf-800"]
    );
    // AREA is always written with a closing tag, even when it has no plans.
    assert_eq!(r.body.matches("</AREA>").count(), areas.len(), "{}", r.body);

    let ny = one(&areas, "AREA_ID", NY_AREA);
    assert_eq!(ny["AREA_NAME"], "New York");
    assert_eq!(ny["AREA_CODE"], "212");
    assert_eq!(ny["DID_TYPE"], "GEOGRAPHIC");
    assert_eq!(ny["COUNTRY_ID"], "US");
    assert_eq!(ny["STATE_ID"], "US-NY");
    assert_eq!(ny["STOCK"], "20");
    assert_eq!(one(&areas, "AREA_ID", BROOKLYN)["STOCK"], "10");
    assert_eq!(one(&areas, "AREA_ID", "us-tf-800")["STATE_ID"], "");

    // One RATE_PLAN per plan offered: New York offers PM and SU, Brooklyn
    // only SU, so five areas carry 5 + 1 (PM in New York) + 1 (PM in San
    // Francisco) plans.
    let plans = r.elements("RATE_PLAN");
    assert_eq!(plans.len(), 7, "{}", r.body);
    let ny_block = &r.body[r.body.find(NY_AREA).unwrap()..];
    let ny_block = &ny_block[..ny_block.find("</AREA>").unwrap()];
    assert!(
        ny_block.contains(
            "<RATE_PLAN RATE_PLAN_ID=\"SU\" RATE_PLAN_NAME=\"Service Unlimited\" MONTHLY100=\"149\" SETUP100=\"249\"/>"
        ),
        "{ny_block}"
    );
    assert!(
        ny_block.contains("<RATE_PLAN RATE_PLAN_ID=\"PM\" RATE_PLAN_NAME=\"Pay Per Minute\" MONTHLY100=\"49\" SETUP100=\"0\"/>"),
        "{ny_block}"
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn areas_list_by_state_and_by_did_type() {
    let s = TestServer::start().await;
    let r = s
        .call("ANVEO.AREAS.LIST", &[("STATE_ID", "US-NY")])
        .await
        .ok();
    assert_eq!(ids(&r.elements("AREA"), "AREA_ID"), [BROOKLYN, NY_AREA]);
    let r = s
        .call(
            "ANVEO.AREAS.LIST",
            &[("COUNTRY_ID", "US"), ("DID_TYPE", "TOLLFREE")],
        )
        .await
        .ok();
    assert_eq!(ids(&r.elements("AREA"), "AREA_ID"), ["us-tf-800"]);
    // A state of another country is not in that country.
    s.call(
        "ANVEO.AREAS.LIST",
        &[("COUNTRY_ID", "GB"), ("STATE_ID", "US-NY")],
    )
    .await
    .fails("NOT_FOUND");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn areas_list_requires_country_or_state() {
    let s = TestServer::start().await;
    let r = s
        .call("ANVEO.AREAS.LIST", &[])
        .await
        .fails("MISSING_PARAMETER");
    assert!(
        r.error().contains("COUNTRY_ID") && r.error().contains("STATE_ID"),
        "{}",
        r.error()
    );
    s.call("ANVEO.AREAS.LIST", &[("DID_TYPE", "GEOGRAPHIC")])
        .await
        .fails("MISSING_PARAMETER");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn areas_list_of_an_unknown_state_or_country_is_not_found() {
    let s = TestServer::start().await;
    let r = s
        .call("ANVEO.AREAS.LIST", &[("STATE_ID", "US-ZZ")])
        .await
        .fails("NOT_FOUND");
    assert_eq!(r.error(), "state US-ZZ not found");
    s.call("ANVEO.AREAS.LIST", &[("COUNTRY_ID", "ZZ")])
        .await
        .fails("NOT_FOUND");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn areas_list_stock_drops_after_an_order() {
    let s = TestServer::start().await;
    assert_eq!(listed_stock(&s, "US", BROOKLYN).await, 10);
    s.call(
        "DID.ORDER",
        &[
            ("DID_TYPE", "GEOGRAPHIC"),
            ("AREA_ID", BROOKLYN),
            ("QUANTITY", "3"),
        ],
    )
    .await
    .ok();
    assert_eq!(listed_stock(&s, "US", BROOKLYN).await, 7);
    // Other areas are untouched.
    assert_eq!(listed_stock(&s, "US", NY_AREA).await, 20);
    s.stop().await;
}

// ------------------------------------------------------------------ balance

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn getbalance_reports_the_balance_in_result_and_hundredths() {
    let s = TestServer::start().await;
    let r = s.call("ACCOUNT.GETBALANCE", &[]).await.ok();
    // Anveo clients read the balance from RESULT, in currency units.
    assert!(r.body.contains("<RESULT>100.00</RESULT>"), "{}", r.body);
    assert_eq!(r.value("BALANCE100").as_deref(), Some("10000"));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn getbalance_reflects_an_order() {
    let s = TestServer::start().await;
    let o = s
        .call(
            "DID.ORDER",
            &[("DID_TYPE", "GEOGRAPHIC"), ("AREA_ID", NY_AREA)],
        )
        .await
        .ok();
    assert_eq!(o.value("CHARGED100").as_deref(), Some("398"));
    let r = s.call("ACCOUNT.GETBALANCE", &[]).await.ok();
    assert_eq!(r.result(), "96.02");
    assert_eq!(r.value("BALANCE100").as_deref(), Some("9602"));
    s.stop().await;
}

// ---------------------------------------------------------------- DID.ORDER

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_defaults_to_one_number_on_the_su_plan() {
    let s = TestServer::start().await;
    // Neither QUANTITY nor RATE_PLAN_ID given.
    let r = s
        .call(
            "DID.ORDER",
            &[("DID_TYPE", "GEOGRAPHIC"), ("AREA_ID", NY_AREA)],
        )
        .await
        .ok();
    let dids = r.elements("DID");
    assert_eq!(dids.len(), 1, "{}", r.body);
    let d = &dids[0];
    assert_eq!(d["E164"], "12121111111");
    assert_eq!(d["RATE_PLAN_ID"], "SU");
    assert_eq!(d["MONTHLY100"], "149");
    assert_eq!(d["SETUP100"], "249");
    assert_eq!(r.value("CHARGED100").as_deref(), Some("398"));
    assert!(
        r.value("ORDER_ID")
            .is_some_and(|id| id.parse::<i64>().is_ok()),
        "{}",
        r.body
    );
    // The same area priced on another plan charges that plan's prices.
    let pm = s
        .call(
            "DID.ORDER",
            &[
                ("DID_TYPE", "GEOGRAPHIC"),
                ("AREA_ID", NY_AREA),
                ("RATE_PLAN_ID", "pm"),
            ],
        )
        .await
        .ok();
    assert_eq!(pm.elements("DID")[0]["RATE_PLAN_ID"], "PM");
    assert_eq!(pm.value("CHARGED100").as_deref(), Some("49"));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_fills_in_every_did_attribute() {
    let s = TestServer::start().await;
    let r = s
        .call(
            "DID.ORDER",
            &[
                ("DID_TYPE", "GEOGRAPHIC"),
                ("AREA_ID", NY_AREA),
                ("TITLE", "Sales & <Support>"),
            ],
        )
        .await
        .ok();
    let d = &r.elements("DID")[0];
    assert_eq!(d["DID_TYPE"], "GEOGRAPHIC");
    assert_eq!(d["STATUS"], "Active");
    assert_eq!(d["COUNTRY_NAME"], "UNITED STATES");
    assert_eq!(d["AREA_NAME"], "New York");
    assert_eq!(d["AREA_CODE"], "212");
    assert_eq!(d["TITLE"], "Sales & <Support>");
    assert_eq!(d["ACCOUNT_NUMBER"], s.account);
    assert_eq!(d["SMS_URL"], "");
    assert_eq!(d["SMS_EMAIL"], "");
    assert_eq!(d["SMS_PHONE"], "");
    // UTC `YYYY-MM-DD HH:MM:SS`.
    let date = &d["ORDER_DATE"];
    assert_eq!(date.len(), 19, "{date}");
    assert_eq!(
        (&date[4..5], &date[10..11], &date[13..14]),
        ("-", " ", ":"),
        "{date}"
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_rejects_quantity_out_of_range_or_not_a_number() {
    let s = TestServer::start().await;
    for q in ["0", "101", "abc", "-1", "1.5"] {
        let r = s
            .call(
                "DID.ORDER",
                &[
                    ("DID_TYPE", "GEOGRAPHIC"),
                    ("AREA_ID", NY_AREA),
                    ("QUANTITY", q),
                ],
            )
            .await
            .fails("INVALID_PARAMETER");
        assert_eq!(
            r.error(),
            "parameter QUANTITY must be a whole number from 1 to 100",
            "{q}"
        );
    }
    // Nothing was bought on the way.
    assert_eq!(balance_as(&s, &s.key).await, 10_000);
    assert_eq!(listed_stock(&s, "US", NY_AREA).await, 20);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_takes_the_lowest_numbers_in_ascending_order() {
    let s = TestServer::start().await;
    let first = s
        .call(
            "DID.ORDER",
            &[
                ("DID_TYPE", "GEOGRAPHIC"),
                ("AREA_ID", BROOKLYN),
                ("QUANTITY", "3"),
            ],
        )
        .await
        .ok();
    assert_eq!(first.e164s(), ["17185550100", "17185550101", "17185550102"]);
    assert_eq!(first.value("CHARGED100").as_deref(), Some("984"));
    // The next order continues where the first stopped.
    let next = s
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
    assert_eq!(next.e164s(), ["17185550103", "17185550104"]);
    assert_ne!(first.value("ORDER_ID"), next.value("ORDER_ID"));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_rejects_an_unknown_rate_plan() {
    let s = TestServer::start().await;
    let r = s
        .call(
            "DID.ORDER",
            &[
                ("DID_TYPE", "GEOGRAPHIC"),
                ("AREA_ID", NY_AREA),
                ("RATE_PLAN_ID", "GOLD"),
            ],
        )
        .await
        .fails("INVALID_PARAMETER");
    assert!(
        r.error().starts_with("parameter RATE_PLAN_ID "),
        "{}",
        r.error()
    );
    // A plan id that is not even well formed is refused the same way.
    s.call(
        "DID.ORDER",
        &[
            ("DID_TYPE", "GEOGRAPHIC"),
            ("AREA_ID", NY_AREA),
            ("RATE_PLAN_ID", "S U"),
        ],
    )
    .await
    .fails("INVALID_PARAMETER");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_rejects_a_plan_the_area_does_not_offer() {
    let s = TestServer::start().await;
    // PM exists (New York offers it) but Brooklyn does not.
    let r = s
        .call(
            "DID.ORDER",
            &[
                ("DID_TYPE", "GEOGRAPHIC"),
                ("AREA_ID", BROOKLYN),
                ("RATE_PLAN_ID", "PM"),
            ],
        )
        .await
        .fails("INVALID_PARAMETER");
    assert_eq!(
        r.error(),
        "parameter RATE_PLAN_ID PM is not offered in area us-ny-718"
    );
    assert_eq!(listed_stock(&s, "US", BROOKLYN).await, 10);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_rejects_a_did_type_that_does_not_match_the_area() {
    let s = TestServer::start().await;
    let r = s
        .call(
            "DID.ORDER",
            &[("DID_TYPE", "TOLLFREE"), ("AREA_ID", NY_AREA)],
        )
        .await
        .fails("INVALID_PARAMETER");
    assert!(
        r.error().starts_with("parameter DID_TYPE "),
        "{}",
        r.error()
    );
    assert_eq!(balance_as(&s, &s.key).await, 10_000);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_rejects_a_bogus_did_type() {
    let s = TestServer::start().await;
    let r = s
        .call("DID.ORDER", &[("DID_TYPE", "LOCAL"), ("AREA_ID", NY_AREA)])
        .await
        .fails("INVALID_PARAMETER");
    assert_eq!(
        r.error(),
        "parameter DID_TYPE must be one of GEOGRAPHIC, NATIONAL, TOLLFREE, MOBILE"
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_requires_did_type_and_area_id() {
    let s = TestServer::start().await;
    let r = s
        .call("DID.ORDER", &[("AREA_ID", NY_AREA)])
        .await
        .fails("MISSING_PARAMETER");
    assert_eq!(r.error(), "missing parameter DID_TYPE");
    let r = s
        .call("DID.ORDER", &[("DID_TYPE", "GEOGRAPHIC")])
        .await
        .fails("MISSING_PARAMETER");
    assert_eq!(r.error(), "missing parameter AREA_ID");
    // Empty values are absent values.
    s.call("DID.ORDER", &[("DID_TYPE", ""), ("AREA_ID", NY_AREA)])
        .await
        .fails("MISSING_PARAMETER");
    s.call("DID.ORDER", &[("DID_TYPE", "GEOGRAPHIC"), ("AREA_ID", " ")])
        .await
        .fails("MISSING_PARAMETER");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_from_an_unknown_area_is_not_found() {
    let s = TestServer::start().await;
    let r = s
        .call(
            "DID.ORDER",
            &[("DID_TYPE", "GEOGRAPHIC"), ("AREA_ID", "us-xx-000")],
        )
        .await
        .fails("NOT_FOUND");
    assert_eq!(r.error(), "area us-xx-000 not found");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_rejects_a_title_over_255_characters() {
    let s = TestServer::start().await;
    let long = "x".repeat(256);
    let r = s
        .call(
            "DID.ORDER",
            &[
                ("DID_TYPE", "GEOGRAPHIC"),
                ("AREA_ID", NY_AREA),
                ("TITLE", &long),
            ],
        )
        .await
        .fails("INVALID_PARAMETER");
    assert!(r.error().starts_with("parameter TITLE "), "{}", r.error());
    // The limit counts characters, not bytes: 255 two-byte characters fit.
    let max = "é".repeat(255);
    let r = s
        .call(
            "DID.ORDER",
            &[
                ("DID_TYPE", "GEOGRAPHIC"),
                ("AREA_ID", NY_AREA),
                ("TITLE", &max),
            ],
        )
        .await
        .ok();
    assert_eq!(r.elements("DID")[0]["TITLE"], max);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_with_partial_allowed_buys_what_is_there() {
    let s = TestServer::start().await;
    let r = s
        .call(
            "DID.ORDER",
            &[
                ("DID_TYPE", "GEOGRAPHIC"),
                ("AREA_ID", BROOKLYN),
                ("QUANTITY", "15"),
                ("PARTIAL_ALLOWED", "true"),
            ],
        )
        .await
        .ok();
    let want: Vec<String> = (100..110).map(|n| format!("17185550{n}")).collect();
    assert_eq!(r.e164s(), want);
    // Charged for the ten bought, not the fifteen asked for: 10 * (129 + 199).
    assert_eq!(r.value("CHARGED100").as_deref(), Some("3280"));
    assert_eq!(balance_as(&s, &s.key).await, 10_000 - 3_280);
    assert_eq!(listed_stock(&s, "US", BROOKLYN).await, 0);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_rejects_a_bogus_partial_allowed() {
    let s = TestServer::start().await;
    let r = s
        .call(
            "DID.ORDER",
            &[
                ("DID_TYPE", "GEOGRAPHIC"),
                ("AREA_ID", BROOKLYN),
                ("PARTIAL_ALLOWED", "yes"),
            ],
        )
        .await
        .fails("INVALID_PARAMETER");
    assert_eq!(r.error(), "parameter PARTIAL_ALLOWED must be TRUE or FALSE");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_for_own_sub_account_assigns_it_and_charges_the_parent() {
    let s = TestServer::start().await;
    let sub = sub_account(&s, &s.account).await;
    let r = s
        .call(
            "DID.ORDER",
            &[
                ("DID_TYPE", "GEOGRAPHIC"),
                ("AREA_ID", NY_AREA),
                ("ACCOUNT_NUMBER", &sub.account_number),
            ],
        )
        .await
        .ok();
    let d = &r.elements("DID")[0];
    assert_eq!(d["ACCOUNT_NUMBER"], sub.account_number);
    // The sub-account has no default forwarding of its own, so the new
    // number gets empty strings rather than the parent's.
    assert_eq!(d["CALL_FORWARD_TYPE"], "");
    assert_eq!(d["CALL_FORWARD_TO"], "");
    // Sub-accounts have no balance: the top-level account pays.
    assert_eq!(balance_as(&s, &s.key).await, 10_000 - 398);
    assert_eq!(owned(&s, &sub.account_number), ["12121111111"]);
    assert!(owned(&s, &s.account).is_empty());
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_by_a_sub_account_key_is_charged_to_the_top_level_account() {
    let s = TestServer::start().await;
    let sub = sub_account(&s, &s.account).await;
    let r = s
        .call_as(
            &sub.api_key,
            "DID.ORDER",
            &[("DID_TYPE", "GEOGRAPHIC"), ("AREA_ID", NY_AREA)],
        )
        .await
        .ok();
    assert_eq!(r.elements("DID")[0]["ACCOUNT_NUMBER"], sub.account_number);
    assert_eq!(r.value("CHARGED100").as_deref(), Some("398"));
    // Both keys see the one balance of the tree.
    assert_eq!(balance_as(&s, &s.key).await, 9_602);
    assert_eq!(balance_as(&s, &sub.api_key).await, 9_602);
    let db = s.db();
    let demo = AccountNumber::parse(&s.account).unwrap();
    assert_eq!(db.reader().ledger_sum(&demo).unwrap(), Money100(9_602));
    let sub_number = AccountNumber::parse(&sub.account_number).unwrap();
    assert_eq!(db.reader().ledger_sum(&sub_number).unwrap(), Money100(0));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_for_a_foreign_account_is_access_denied() {
    let s = TestServer::start().await;
    let other = s.new_account(10_000).await;
    let r = s
        .call(
            "DID.ORDER",
            &[
                ("DID_TYPE", "GEOGRAPHIC"),
                ("AREA_ID", NY_AREA),
                ("ACCOUNT_NUMBER", &other.account_number),
            ],
        )
        .await
        .fails("ACCESS_DENIED");
    assert_eq!(r.status, 200);
    assert_eq!(
        r.error(),
        format!(
            "account {} is outside this key's account tree",
            other.account_number
        )
    );
    assert!(owned(&s, &other.account_number).is_empty());
    assert_eq!(balance_as(&s, &other.api_key).await, 10_000);
    assert_eq!(balance_as(&s, &s.key).await, 10_000);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_for_the_parent_account_is_access_denied() {
    let s = TestServer::start().await;
    let sub = sub_account(&s, &s.account).await;
    // A key may act on its own account and below it, never above.
    s.call_as(
        &sub.api_key,
        "DID.ORDER",
        &[
            ("DID_TYPE", "GEOGRAPHIC"),
            ("AREA_ID", NY_AREA),
            ("ACCOUNT_NUMBER", &s.account),
        ],
    )
    .await
    .fails("ACCESS_DENIED");
    assert!(owned(&s, &s.account).is_empty());
    assert_eq!(balance_as(&s, &s.key).await, 10_000);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_for_a_sibling_account_is_access_denied() {
    let s = TestServer::start().await;
    let a = sub_account(&s, &s.account).await;
    let b = sub_account(&s, &s.account).await;
    s.call_as(
        &a.api_key,
        "DID.ORDER",
        &[
            ("DID_TYPE", "GEOGRAPHIC"),
            ("AREA_ID", NY_AREA),
            ("ACCOUNT_NUMBER", &b.account_number),
        ],
    )
    .await
    .fails("ACCESS_DENIED");
    assert!(owned(&s, &b.account_number).is_empty());
    // The parent, on the other hand, may order for either child.
    s.call(
        "DID.ORDER",
        &[
            ("DID_TYPE", "GEOGRAPHIC"),
            ("AREA_ID", NY_AREA),
            ("ACCOUNT_NUMBER", &b.account_number),
        ],
    )
    .await
    .ok();
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_for_a_nonexistent_account_is_access_denied() {
    let s = TestServer::start().await;
    // Generated account numbers never start with 0, so this one cannot exist.
    // The answer must not differ from a foreign account's, so it never
    // tells whether an account exists.
    let r = s
        .call(
            "DID.ORDER",
            &[
                ("DID_TYPE", "GEOGRAPHIC"),
                ("AREA_ID", NY_AREA),
                ("ACCOUNT_NUMBER", "0000000000"),
            ],
        )
        .await
        .fails("ACCESS_DENIED");
    assert_eq!(
        r.error(),
        "account 0000000000 is outside this key's account tree"
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_rejects_a_malformed_account_number() {
    let s = TestServer::start().await;
    for bad in ["12345", "12345678901", "12345abcde"] {
        let r = s
            .call(
                "DID.ORDER",
                &[
                    ("DID_TYPE", "GEOGRAPHIC"),
                    ("AREA_ID", NY_AREA),
                    ("ACCOUNT_NUMBER", bad),
                ],
            )
            .await
            .fails("INVALID_PARAMETER");
        assert_eq!(
            r.error(),
            "parameter ACCOUNT_NUMBER must be 10 digits",
            "{bad}"
        );
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_numbers_carry_the_owner_default_forwarding() {
    let s = TestServer::start().await;
    // The demo account was created with CALLFLOW forwarding.
    let r = s
        .call(
            "DID.ORDER",
            &[("DID_TYPE", "GEOGRAPHIC"), ("AREA_ID", NY_AREA)],
        )
        .await
        .ok();
    let d = &r.elements("DID")[0];
    assert_eq!(d["CALL_FORWARD_TYPE"], "CALLFLOW");
    assert_eq!(d["CALL_FORWARD_TO"], DEMO_FORWARD_TO);
    // An account created without forwarding gets empty strings.
    let plain = s.new_account(10_000).await;
    let r = s
        .call_as(
            &plain.api_key,
            "DID.ORDER",
            &[("DID_TYPE", "GEOGRAPHIC"), ("AREA_ID", NY_AREA)],
        )
        .await
        .ok();
    let d = &r.elements("DID")[0];
    assert_eq!(d["E164"], "12121111112");
    assert_eq!(d["CALL_FORWARD_TYPE"], "");
    assert_eq!(d["CALL_FORWARD_TO"], "");
    assert_eq!(d["ACCOUNT_NUMBER"], plain.account_number);
    s.stop().await;
}

// ------------------------------------------------------ shared request rules

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_action_is_reported() {
    let s = TestServer::start().await;
    let r = s.call("DID.TELEPORT", &[]).await.fails("UNKNOWN_ACTION");
    assert_eq!(r.status, 200);
    assert_eq!(
        r.error(),
        "unknown action DID.TELEPORT: see the protocol for the list of actions"
    );
    // A near miss of a real name is still unknown: names match exactly,
    // apart from case.
    s.call("DID.ORDERS", &[]).await.fails("UNKNOWN_ACTION");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn action_names_and_enumerations_are_case_insensitive() {
    let s = TestServer::start().await;
    let r = s.call("account.getbalance", &[]).await.ok();
    assert_eq!(r.value("BALANCE100").as_deref(), Some("10000"));
    let r = s.call("Anveo.Countries.List", &[]).await.ok();
    assert_eq!(r.elements("COUNTRY").len(), 3);
    let r = s
        .call(
            "did.order",
            &[
                ("DID_TYPE", "geographic"),
                ("AREA_ID", NY_AREA),
                ("RATE_PLAN_ID", "su"),
                ("PARTIAL_ALLOWED", "False"),
            ],
        )
        .await
        .ok();
    assert_eq!(r.e164s(), ["12121111111"]);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_parameters_are_listed_as_ignored() {
    let s = TestServer::start().await;
    let r = s
        .call("ACCOUNT.GETBALANCE", &[("FOO", "1"), ("BAR_BAZ", "2")])
        .await
        .ok();
    assert_eq!(
        r.value("IGNORED_PARAMETERS").as_deref(),
        Some("FOO,BAR_BAZ")
    );
    // SIGNATURE is always accepted, so it is never reported as ignored.
    let r = s
        .call("ACCOUNT.GETBALANCE", &[("SIGNATURE", "abc")])
        .await
        .ok();
    assert_eq!(r.value("IGNORED_PARAMETERS"), None);
    let r = s
        .call(
            "DID.ORDER",
            &[
                ("DID_TYPE", "GEOGRAPHIC"),
                ("AREA_ID", NY_AREA),
                ("COLOUR", "red"),
                ("SIZE", "L"),
            ],
        )
        .await
        .ok();
    assert_eq!(
        r.value("IGNORED_PARAMETERS").as_deref(),
        Some("COLOUR,SIZE")
    );
    // A reply with nothing ignored carries no such value.
    let r = s.call("ANVEO.COUNTRIES.LIST", &[]).await.ok();
    assert!(!r.body.contains("IGNORED_PARAMETERS"), "{}", r.body);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_id_is_echoed_on_a_successful_order() {
    let s = TestServer::start().await;
    let r = s
        .call(
            "DID.ORDER",
            &[
                ("DID_TYPE", "GEOGRAPHIC"),
                ("AREA_ID", NY_AREA),
                ("REQUEST_ID", "order-2024-0001"),
            ],
        )
        .await
        .ok();
    assert_eq!(r.value("REQUEST_ID").as_deref(), Some("order-2024-0001"));
    let plain = s
        .call(
            "DID.ORDER",
            &[("DID_TYPE", "GEOGRAPHIC"), ("AREA_ID", NY_AREA)],
        )
        .await
        .ok();
    assert_eq!(plain.value("REQUEST_ID"), None);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parameter_values_are_trimmed() {
    let s = TestServer::start().await;
    // Clients that pretty-print their envelopes put whitespace around values.
    let r = s
        .call(
            "DID.ORDER",
            &[
                ("DID_TYPE", " GEOGRAPHIC\n"),
                ("AREA_ID", "  us-ny-718 "),
                ("QUANTITY", " 2 "),
            ],
        )
        .await
        .ok();
    assert_eq!(r.e164s(), ["17185550100", "17185550101"]);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_flag_on_a_read_action_is_echoed() {
    let s = TestServer::start().await;
    // TEST=TRUE is accepted on any action; a read has nothing to roll back
    // but still says it was a dry run.
    let r = s.call("ACCOUNT.GETBALANCE", &[("TEST", "TRUE")]).await.ok();
    assert_eq!(r.value("TEST").as_deref(), Some("TRUE"));
    assert_eq!(r.value("BALANCE100").as_deref(), Some("10000"));
    assert_eq!(r.value("IGNORED_PARAMETERS"), None);
    s.stop().await;
}

// ----------------------------------------------------------- authentication

/// An envelope whose `USERTOKEN` is given as `token` verbatim.
fn raw_envelope(token: &str) -> String {
    format!(
        "<?xml version=\"1.0\" standalone=\"no\" ?>\n<REQUEST>{token}<ACTION NAME=\"ACCOUNT.GETBALANCE\"></ACTION></REQUEST>"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_key_fails_auth() {
    let s = TestServer::start().await;
    assert_auth_failed(
        s.post("/api/v3.asp", raw_envelope("<USERTOKEN></USERTOKEN>"))
            .await,
    );
    assert_auth_failed(s.post("/api/v3.asp", raw_envelope("<USERTOKEN/>")).await);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_key_fails_auth() {
    let s = TestServer::start().await;
    assert_auth_failed(s.call_as("", "ACCOUNT.GETBALANCE", &[]).await);
    assert_auth_failed(s.call_as("   ", "ACCOUNT.GETBALANCE", &[]).await);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_key_fails_auth() {
    let s = TestServer::start().await;
    for bad in [
        "not-a-key",
        "dg_",
        "dg_0123456789abcdef",
        "dg_0123456789ABCDEF_00",
        "xx_0123456789abcdef_00",
    ] {
        let r = s.call_as(bad, "ACCOUNT.GETBALANCE", &[]).await;
        // The presented key is never echoed.
        assert!(!r.body.contains(bad), "{}", r.body);
        assert_auth_failed(r);
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_key_id_fails_auth() {
    let s = TestServer::start().await;
    let key = format!("dg_0123456789abcdef_{}", "ab".repeat(32));
    assert_auth_failed(s.call_as(&key, "ACCOUNT.GETBALANCE", &[]).await);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn right_key_id_with_wrong_secret_fails_auth() {
    let s = TestServer::start().await;
    // Flip the last hex digit of the secret, keeping the key's form.
    let mut wrong = s.key.clone();
    let last = wrong.pop().unwrap();
    wrong.push(if last == '0' { '1' } else { '0' });
    let r = s.call_as(&wrong, "ACCOUNT.GETBALANCE", &[]).await;
    assert!(!r.body.contains(&wrong), "{}", r.body);
    assert_auth_failed(r);
    // The right key still works after the failure.
    s.call("ACCOUNT.GETBALANCE", &[]).await.ok();
    // And a wrong secret still fails once the right key has been cached.
    assert_auth_failed(s.call_as(&wrong, "ACCOUNT.GETBALANCE", &[]).await);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_key_stops_working_within_seconds() {
    let s = TestServer::start().await;
    let k = s.new_account(0).await;
    // Works (and is cached) before revocation.
    s.call_as(&k.api_key, "ACCOUNT.GETBALANCE", &[]).await.ok();
    let key_id = k.key_id.clone();
    s.admin(move |db| admin::revoke_key(db, &key_id).unwrap())
        .await;
    // The server re-reads a cached key every 200 ms in tests; poll until the
    // revocation shows, bounded well above that.
    let last = poll_until_refused(&s, &k.api_key, Duration::from_secs(3)).await;
    assert_auth_failed(last);
    // The other keys of the server are unaffected.
    s.call("ACCOUNT.GETBALANCE", &[]).await.ok();
    s.stop().await;
}

// ---------------------------------------------------------------- transport

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_answers_200_ok_in_plain_text() {
    let s = TestServer::start().await;
    let r = common::request(s.addr, "GET", "/healthz", &[], Bytes::new()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let ct = r.headers.get("content-type").map(|v| v.to_str().unwrap());
    assert!(
        ct.is_some_and(|ct| ct.starts_with("text/plain")),
        "content type {ct:?}"
    );
    assert_eq!(r.body, "ok\n");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_path_is_404_with_an_xml_error() {
    let s = TestServer::start().await;
    let r = s
        .post(
            "/api/v9.asp",
            common::envelope(&s.key, "ACCOUNT.GETBALANCE", &[]),
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.body);
    assert_eq!(r.result(), "ERROR");
    assert!(r.code().is_some(), "{}", r.body);
    assert!(!r.error().is_empty(), "{}", r.body);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xml_alias_path_serves_the_same_api() {
    let s = TestServer::start().await;
    let r = s
        .post(
            "/api/xml",
            common::envelope(&s.key, "ACCOUNT.GETBALANCE", &[]),
        )
        .await
        .ok();
    assert_eq!(r.value("BALANCE100").as_deref(), Some("10000"));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_on_the_xml_api_path_is_405() {
    let s = TestServer::start().await;
    let r = common::request(s.addr, "GET", "/api/v3.asp", &[], Bytes::new()).await;
    assert_eq!(r.status, 405, "{}", r.body);
    assert_eq!(r.result(), "ERROR");
    assert!(r.code().is_some(), "{}", r.body);
    assert!(r.error().contains("POST"), "{}", r.body);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_method_on_the_xml_api_path_allows_post() {
    let s = TestServer::start().await;
    for method in ["GET", "PUT", "DELETE", "PATCH"] {
        let r = common::request(s.addr, method, "/api/v3.asp", &[], Bytes::new()).await;
        assert_eq!(r.status, 405, "{method}: {}", r.body);
        let allow: Vec<&str> = r
            .headers
            .get_all("allow")
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect();
        assert_eq!(allow, ["POST"], "{method}: Allow");
        assert_eq!(r.result(), "ERROR", "{method}: {}", r.body);
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_are_utf8_xml_with_a_declaration() {
    let s = TestServer::start().await;
    let replies = [
        s.call("ACCOUNT.GETBALANCE", &[]).await,
        s.call(
            "DID.ORDER",
            &[("DID_TYPE", "GEOGRAPHIC"), ("AREA_ID", NY_AREA)],
        )
        .await,
        s.call("DID.TELEPORT", &[]).await,
        s.call_as("nope", "ACCOUNT.GETBALANCE", &[]).await,
        s.post("/nowhere", "").await,
        common::request(s.addr, "GET", "/api/v3.asp", &[], Bytes::new()).await,
    ];
    for r in &replies {
        let ct = r.headers.get("content-type").map(|v| v.to_str().unwrap());
        assert_eq!(ct, Some("application/xml; charset=UTF-8"), "{}", r.body);
        assert!(
            r.body
                .starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"),
            "{}",
            r.body
        );
        let after = r
            .body
            .trim_start_matches("<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
            .trim_start();
        assert!(after.starts_with("<RESPONSE>"), "{}", r.body);
    }
    s.stop().await;
}
