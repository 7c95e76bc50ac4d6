//! Guards reservations and the orders that use them, over HTTP against a
//! real server (PROTOCOL.md sections 3 and 4, "Reservations"): `DID.RESERVE`
//! by area and quantity or by an `E164` list, all or nothing, added to an
//! open cart of the same account tree with `RESERVATION_ID`, `MINUTES`
//! (default 15, at most 60), `TEST=TRUE`; held numbers leaving `STOCK`,
//! `DID.SEARCH` and other trees' orders at once; `DID.RESERVE.CANCEL` and
//! expiry returning them on their own; `DID.ORDER` by `RESERVATION_ID`
//! (exactly the held numbers, each at its own area's price, once) and by an
//! `E164` list (all or nothing); the codes for other trees' reservations
//! (`NOT_FOUND`), closed ones (`CONFLICT`) and unavailable numbers
//! (`OUT_OF_STOCK`); and a race of many clients reserving and ordering from
//! one small area.

mod common;

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use common::{NY_AREA, Reply, TestServer, books, call_at, credit, listed_stock, sub_account};
use didgate::domain::{format_time, now};

/// Brooklyn: 17185550100 to 17185550109, only SU (129 monthly + 199 setup).
const BROOKLYN: &str = "us-ny-718";
const BROOKLYN_PRICE: i64 = 328;
/// San Francisco: 14155550100 to 14155550109, SU 149 + 249, and PM.
const SAN_FRANCISCO: &str = "us-ca-415";
const SAN_FRANCISCO_PRICE: i64 = 398;
/// London: 442079460100 to 442079460109, SU 199 + 0.
const LONDON: &str = "gb-ldn-20";
const LONDON_PRICE: i64 = 199;
/// US toll-free: 18005550100 to 18005550109, SU 299 + 499.
const TOLL_FREE_PRICE: i64 = 798;
/// The demo account's opening balance.
const DEMO_BALANCE: i64 = 10_000;

// ------------------------------------------------------------ helpers

/// The `RESERVATION_ID` of a `DID.RESERVE` reply.
#[track_caller]
fn rsv_id(r: &Reply) -> String {
    let rsv = r.elements("RESERVATION");
    assert_eq!(rsv.len(), 1, "one RESERVATION: {}", r.body);
    rsv[0]["RESERVATION_ID"].clone()
}

/// The `EXPIRES` of a `DID.RESERVE` reply.
#[track_caller]
fn expires(r: &Reply) -> String {
    r.elements("RESERVATION")[0]["EXPIRES"].clone()
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// The `STOCK` of `area` as `ANVEO.AREAS.LIST` reports it for `country`,
/// asserted equal to the stock counted from the numbers themselves and to
/// the maintained counter.
async fn stock(s: &TestServer, country: &str, area: &str) -> i64 {
    let listed = listed_stock(s, country, area).await;
    let (counted, counter) = counted_stock(s, area).await;
    assert_eq!(
        (listed, counted, counter),
        (listed, listed, listed),
        "STOCK of {area}: listed, counted, counter"
    );
    listed
}

/// The stock of `area` counted from the numbers, and the area's counter,
/// read straight from the database (no request to the server).
async fn counted_stock(s: &TestServer, area: &str) -> (i64, i64) {
    let area = area.to_owned();
    s.admin(move |db| db.reader().counted_stock(&area).expect("counted stock"))
        .await
}

/// The numbers `DID.SEARCH` shows in `area` (up to 100).
async fn searchable(s: &TestServer, area: &str) -> Vec<String> {
    s.call("DID.SEARCH", &[("AREA_ID", area), ("LIMIT", "100")])
        .await
        .ok()
        .e164s()
}

fn brooklyn(last: u32) -> String {
    format!("1718555010{last}")
}

// ------------------------------------------------------------ DID.RESERVE

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reserve_by_area_holds_the_lowest_numbers_out_of_stock_and_search() {
    let s = TestServer::start().await;
    let r = s
        .call("DID.RESERVE", &[("AREA_ID", BROOKLYN), ("QUANTITY", "3")])
        .await
        .ok();
    assert_eq!(r.result(), "SUCCESS");
    let id = rsv_id(&r);
    assert!(
        id.starts_with("rsv_") && id.len() == 20,
        "reservation id {id}"
    );
    assert_eq!(r.e164s(), [brooklyn(0), brooklyn(1), brooklyn(2)]);
    for d in r.elements("DID") {
        assert_eq!(d["STATUS"], "Available", "{d:?}");
        assert_eq!(d["RATE_PLAN_ID"], "SU", "{d:?}");
        assert_eq!(d["MONTHLY100"], "129", "{d:?}");
        assert_eq!(d["SETUP100"], "199", "{d:?}");
        assert_eq!(d["AREA_CODE"], "718", "{d:?}");
    }
    // Held at once: out of STOCK and out of every search.
    assert_eq!(stock(&s, "US", BROOKLYN).await, 7);
    let left: Vec<String> = (3..10).map(brooklyn).collect();
    assert_eq!(searchable(&s, BROOKLYN).await, left);
    // Reserving is not buying: nothing charged, nothing owned.
    let b = books(&s, &s.account).await;
    assert_eq!((b.balance, b.ledger), (DEMO_BALANCE, DEMO_BALANCE));
    assert!(b.owned.is_empty());
    // A second reservation takes the next lowest numbers.
    let r = s
        .call("DID.RESERVE", &[("AREA_ID", BROOKLYN), ("QUANTITY", "2")])
        .await
        .ok();
    assert_ne!(rsv_id(&r), id);
    assert_eq!(r.e164s(), [brooklyn(3), brooklyn(4)]);
    assert_eq!(stock(&s, "US", BROOKLYN).await, 5);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reserve_expires_after_minutes_default_15_at_most_60() {
    let s = TestServer::start().await;
    // EXPIRES is UTC "YYYY-MM-DD HH:MM:SS": the request's time plus MINUTES.
    for (minutes, params) in [
        (15, vec![("AREA_ID", BROOKLYN), ("QUANTITY", "1")]),
        (
            1,
            vec![("AREA_ID", BROOKLYN), ("QUANTITY", "1"), ("MINUTES", "1")],
        ),
        (
            60,
            vec![("AREA_ID", BROOKLYN), ("QUANTITY", "1"), ("MINUTES", "60")],
        ),
    ] {
        let before = now();
        let r = s.call("DID.RESERVE", &params).await.ok();
        let after = now();
        let allowed: Vec<String> = (before..=after)
            .map(|t| format_time(t + minutes * 60))
            .collect();
        assert!(
            allowed.contains(&expires(&r)),
            "MINUTES {minutes}: EXPIRES {} not in {allowed:?}",
            expires(&r)
        );
    }
    for bad in ["0", "61", "-5", "abc", "1.5"] {
        s.call(
            "DID.RESERVE",
            &[("AREA_ID", BROOKLYN), ("QUANTITY", "1"), ("MINUTES", bad)],
        )
        .await
        .fails("INVALID_PARAMETER");
    }
    // The refused requests held nothing.
    assert_eq!(stock(&s, "US", BROOKLYN).await, 7);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reserve_requires_area_with_quantity_or_an_e164_list() {
    let s = TestServer::start().await;
    s.call("DID.RESERVE", &[]).await.fails("MISSING_PARAMETER");
    s.call("DID.RESERVE", &[("QUANTITY", "2")])
        .await
        .fails("MISSING_PARAMETER");
    s.call("DID.RESERVE", &[("AREA_ID", BROOKLYN)])
        .await
        .fails("MISSING_PARAMETER");
    s.call("DID.RESERVE", &[("E164", "")])
        .await
        .fails("MISSING_PARAMETER");
    // One way to choose the numbers at a time, and QUANTITY only with an area.
    s.call(
        "DID.RESERVE",
        &[
            ("AREA_ID", BROOKLYN),
            ("QUANTITY", "1"),
            ("E164", &brooklyn(5)),
        ],
    )
    .await
    .fails("INVALID_PARAMETER");
    s.call("DID.RESERVE", &[("E164", &brooklyn(5)), ("QUANTITY", "1")])
        .await
        .fails("INVALID_PARAMETER");
    for bad in ["0", "101", "x"] {
        s.call("DID.RESERVE", &[("AREA_ID", BROOKLYN), ("QUANTITY", bad)])
            .await
            .fails("INVALID_PARAMETER");
    }
    for bad in [
        "12x4567890",
        "123",
        "17185550100,,17185550101",
        "0718555010",
    ] {
        s.call("DID.RESERVE", &[("E164", bad)])
            .await
            .fails("INVALID_PARAMETER");
    }
    s.call(
        "DID.RESERVE",
        &[
            ("RESERVATION_ID", "rsv_nothex"),
            ("AREA_ID", BROOKLYN),
            ("QUANTITY", "1"),
        ],
    )
    .await
    .fails("INVALID_PARAMETER");
    // Unknown areas and numbers do not exist.
    s.call(
        "DID.RESERVE",
        &[("AREA_ID", "us-zz-999"), ("QUANTITY", "1")],
    )
    .await
    .fails("NOT_FOUND");
    s.call("DID.RESERVE", &[("E164", "17185559999")])
        .await
        .fails("NOT_FOUND");
    assert_eq!(stock(&s, "US", BROOKLYN).await, 10, "nothing was held");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reserve_is_all_or_nothing() {
    let s = TestServer::start().await;
    // More than the area holds: OUT_OF_STOCK and nothing held.
    s.call("DID.RESERVE", &[("AREA_ID", BROOKLYN), ("QUANTITY", "11")])
        .await
        .fails("OUT_OF_STOCK");
    assert_eq!(stock(&s, "US", BROOKLYN).await, 10);
    // A list with one sold number: OUT_OF_STOCK, the others stay in stock.
    s.call(
        "DID.ORDER",
        &[("DID_TYPE", "GEOGRAPHIC"), ("AREA_ID", BROOKLYN)],
    )
    .await
    .ok();
    let list = [brooklyn(5), brooklyn(0), brooklyn(6)].join(",");
    s.call("DID.RESERVE", &[("E164", &list)])
        .await
        .fails("OUT_OF_STOCK");
    assert_eq!(stock(&s, "US", BROOKLYN).await, 9);
    // A list with one unknown number: NOT_FOUND, nothing held.
    let list = [brooklyn(5), "17185559999".to_owned()].join(",");
    s.call("DID.RESERVE", &[("E164", &list)])
        .await
        .fails("NOT_FOUND");
    assert_eq!(stock(&s, "US", BROOKLYN).await, 9);
    // A list of available numbers is held, across areas, listed in order.
    let list = ["14155550103", &brooklyn(7), &brooklyn(5)].join(",");
    let r = s.call("DID.RESERVE", &[("E164", &list)]).await.ok();
    assert_eq!(
        sorted(r.e164s()),
        strings(&["14155550103", &brooklyn(5), &brooklyn(7)])
    );
    assert_eq!(stock(&s, "US", BROOKLYN).await, 7);
    assert_eq!(stock(&s, "US", SAN_FRANCISCO).await, 9);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reserve_in_test_mode_holds_nothing() {
    let s = TestServer::start().await;
    let r = s
        .call(
            "DID.RESERVE",
            &[("AREA_ID", BROOKLYN), ("QUANTITY", "4"), ("TEST", "TRUE")],
        )
        .await
        .ok();
    assert_eq!(r.value("TEST").as_deref(), Some("TRUE"), "{}", r.body);
    assert_eq!(r.e164s().len(), 4, "answered as if done: {}", r.body);
    let id = rsv_id(&r);
    assert_eq!(stock(&s, "US", BROOKLYN).await, 10);
    assert_eq!(searchable(&s, BROOKLYN).await.len(), 10);
    // The dry run's reservation was never made.
    s.call("DID.ORDER", &[("RESERVATION_ID", &id)])
        .await
        .fails("NOT_FOUND");
    s.call("DID.RESERVE.CANCEL", &[("RESERVATION_ID", &id)])
        .await
        .fails("NOT_FOUND");
    // Another account can take all ten.
    let other = s.new_account(10_000).await;
    s.call_as(
        &other.api_key,
        "DID.RESERVE",
        &[("AREA_ID", BROOKLYN), ("QUANTITY", "10")],
    )
    .await
    .ok();
    assert_eq!(stock(&s, "US", BROOKLYN).await, 0);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reserve_with_a_request_id_holds_once() {
    let s = TestServer::start().await;
    let params = [
        ("AREA_ID", BROOKLYN),
        ("QUANTITY", "2"),
        ("REQUEST_ID", "hold-1"),
    ];
    let first = s.call("DID.RESERVE", &params).await.ok();
    assert_eq!(first.value("REQUEST_ID").as_deref(), Some("hold-1"));
    // A retry gets the first reply again, byte for byte, and holds nothing more.
    let again = s.call("DID.RESERVE", &params).await.ok();
    assert_eq!(again.body, first.body);
    assert_eq!(stock(&s, "US", BROOKLYN).await, 8);
    s.call(
        "DID.RESERVE",
        &[
            ("AREA_ID", BROOKLYN),
            ("QUANTITY", "3"),
            ("REQUEST_ID", "hold-1"),
        ],
    )
    .await
    .fails("CONFLICT");
    assert_eq!(stock(&s, "US", BROOKLYN).await, 8);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reserve_for_an_account_outside_the_tree_is_access_denied() {
    let s = TestServer::start().await;
    let other = s.new_account(10_000).await;
    s.call(
        "DID.RESERVE",
        &[
            ("AREA_ID", BROOKLYN),
            ("QUANTITY", "1"),
            ("ACCOUNT_NUMBER", &other.account_number),
        ],
    )
    .await
    .fails("ACCESS_DENIED");
    assert_eq!(stock(&s, "US", BROOKLYN).await, 10);
    s.stop().await;
}

// ------------------------------------------------------------ carts

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cart_accumulates_across_areas_and_orders_each_number_at_its_area_price() {
    let s = TestServer::start().await;
    // Two Brooklyn numbers by area, then a San Francisco one by number, a
    // London one by area and a toll-free one by number, all in one cart.
    let r = s
        .call("DID.RESERVE", &[("AREA_ID", BROOKLYN), ("QUANTITY", "2")])
        .await
        .ok();
    let id = rsv_id(&r);
    let r = s
        .call(
            "DID.RESERVE",
            &[("RESERVATION_ID", &id), ("E164", "14155550105")],
        )
        .await
        .ok();
    assert_eq!(rsv_id(&r), id, "added to the same cart");
    let r = s
        .call(
            "DID.RESERVE",
            &[
                ("RESERVATION_ID", &id),
                ("AREA_ID", LONDON),
                ("QUANTITY", "1"),
            ],
        )
        .await
        .ok();
    assert_eq!(rsv_id(&r), id);
    let r = s
        .call(
            "DID.RESERVE",
            &[("RESERVATION_ID", &id), ("E164", "18005550100")],
        )
        .await
        .ok();
    assert_eq!(rsv_id(&r), id);
    let cart = strings(&[
        "14155550105",
        &brooklyn(0),
        &brooklyn(1),
        "18005550100",
        "442079460100",
    ]);
    // The reply holds every number the cart now holds, not only the new one.
    assert_eq!(sorted(r.e164s()), cart);
    let prices: HashMap<String, (String, String)> = r
        .elements("DID")
        .into_iter()
        .map(|d| {
            (
                d["E164"].clone(),
                (d["MONTHLY100"].clone(), d["SETUP100"].clone()),
            )
        })
        .collect();
    assert_eq!(prices["442079460100"], ("199".into(), "0".into()));
    assert_eq!(prices["18005550100"], ("299".into(), "499".into()));
    // Reserving a number already in the cart again changes nothing.
    let again = s
        .call(
            "DID.RESERVE",
            &[("RESERVATION_ID", &id), ("E164", &brooklyn(1))],
        )
        .await
        .ok();
    assert_eq!(sorted(again.e164s()), cart);
    assert_eq!(stock(&s, "US", BROOKLYN).await, 8);
    assert_eq!(stock(&s, "US", SAN_FRANCISCO).await, 9);
    assert_eq!(stock(&s, "US", "us-tf-800").await, 9);
    assert_eq!(stock(&s, "GB", LONDON).await, 9);

    // Ordering the cart buys exactly its numbers, each at its own area's SU
    // price, with no DID_TYPE (the cart mixes types).
    let r = s
        .call("DID.ORDER", &[("RESERVATION_ID", &id), ("TITLE", "cart")])
        .await
        .ok();
    let want = 2 * BROOKLYN_PRICE + SAN_FRANCISCO_PRICE + LONDON_PRICE + TOLL_FREE_PRICE;
    assert_eq!(r.value("CHARGED100"), Some(want.to_string()), "{}", r.body);
    assert_eq!(sorted(r.e164s()), cart);
    for d in r.elements("DID") {
        assert_eq!(d["STATUS"], "Active", "{d:?}");
        assert_eq!(d["ACCOUNT_NUMBER"], s.account, "{d:?}");
        assert_eq!(d["RATE_PLAN_ID"], "SU", "{d:?}");
        assert_eq!(d["TITLE"], "cart", "{d:?}");
    }
    let b = books(&s, &s.account).await;
    assert_eq!(b.owned, cart);
    assert_eq!(b.balance, DEMO_BALANCE - want);
    assert_eq!(b.balance, b.ledger);
    // Bought numbers stay out of stock once the cart is gone.
    assert_eq!(stock(&s, "US", BROOKLYN).await, 8);
    assert_eq!(stock(&s, "GB", LONDON).await, 9);

    // The cart is closed: no second order, no cancel, no additions.
    s.call("DID.ORDER", &[("RESERVATION_ID", &id)])
        .await
        .fails("CONFLICT");
    s.call("DID.RESERVE.CANCEL", &[("RESERVATION_ID", &id)])
        .await
        .fails("CONFLICT");
    s.call(
        "DID.RESERVE",
        &[
            ("RESERVATION_ID", &id),
            ("AREA_ID", BROOKLYN),
            ("QUANTITY", "1"),
        ],
    )
    .await
    .fails("CONFLICT");
    assert_eq!(stock(&s, "US", BROOKLYN).await, 8);
    assert_eq!(books(&s, &s.account).await.balance, DEMO_BALANCE - want);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_addition_leaves_the_cart_unchanged() {
    let s = TestServer::start().await;
    let r = s
        .call("DID.RESERVE", &[("AREA_ID", BROOKLYN), ("QUANTITY", "2")])
        .await
        .ok();
    let id = rsv_id(&r);
    // Eight left: asking for nine more fails and adds nothing.
    s.call(
        "DID.RESERVE",
        &[
            ("RESERVATION_ID", &id),
            ("AREA_ID", BROOKLYN),
            ("QUANTITY", "9"),
            ("MINUTES", "60"),
        ],
    )
    .await
    .fails("OUT_OF_STOCK");
    // An E164 list with a sold number fails and adds none of the list.
    s.call(
        "DID.ORDER",
        &[("DID_TYPE", "GEOGRAPHIC"), ("AREA_ID", SAN_FRANCISCO)],
    )
    .await
    .ok();
    s.call(
        "DID.RESERVE",
        &[
            ("RESERVATION_ID", &id),
            ("E164", &format!("{},14155550100", brooklyn(9))),
        ],
    )
    .await
    .fails("OUT_OF_STOCK");
    assert_eq!(stock(&s, "US", BROOKLYN).await, 8);
    // Adding a number the cart already holds adds nothing and shows the cart
    // as it was before the failed calls.
    let r = s
        .call(
            "DID.RESERVE",
            &[("RESERVATION_ID", &id), ("E164", &brooklyn(0))],
        )
        .await
        .ok();
    assert_eq!(r.e164s(), [brooklyn(0), brooklyn(1)]);
    let r = s.call("DID.ORDER", &[("RESERVATION_ID", &id)]).await.ok();
    assert_eq!(r.e164s(), [brooklyn(0), brooklyn(1)]);
    assert_eq!(
        r.value("CHARGED100"),
        Some((2 * BROOKLYN_PRICE).to_string())
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sub_account_reservation_is_orderable_within_its_tree() {
    let s = TestServer::start().await;
    let sub = sub_account(&s, &s.account).await;
    // The sub-account's key reserves; the top-level key orders the cart for
    // the sub-account, and the tree's billing account pays.
    let r = s
        .call_as(
            &sub.api_key,
            "DID.RESERVE",
            &[("AREA_ID", BROOKLYN), ("QUANTITY", "2")],
        )
        .await
        .ok();
    let id = rsv_id(&r);
    let r = s
        .call(
            "DID.ORDER",
            &[
                ("RESERVATION_ID", &id),
                ("ACCOUNT_NUMBER", &sub.account_number),
            ],
        )
        .await
        .ok();
    assert_eq!(r.e164s(), [brooklyn(0), brooklyn(1)]);
    assert_eq!(books(&s, &sub.account_number).await.owned, r.e164s());
    let b = books(&s, &s.account).await;
    assert_eq!(b.balance, DEMO_BALANCE - 2 * BROOKLYN_PRICE);
    assert_eq!(b.balance, b.ledger);
    s.stop().await;
}

// ------------------------------------------------------------ isolation

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reservations_are_isolated_between_account_trees() {
    let s = TestServer::start().await;
    let b_key = s.new_account(10_000).await;
    let b = b_key.api_key.as_str();
    // Tree A (the demo account) holds 0100 and 0101.
    let r = s
        .call("DID.RESERVE", &[("AREA_ID", BROOKLYN), ("QUANTITY", "2")])
        .await
        .ok();
    let id = rsv_id(&r);

    // Tree B cannot see A's reservation at all: not to order it, cancel it
    // or add to it.
    s.call_as(b, "DID.ORDER", &[("RESERVATION_ID", &id)])
        .await
        .fails("NOT_FOUND");
    s.call_as(b, "DID.RESERVE.CANCEL", &[("RESERVATION_ID", &id)])
        .await
        .fails("NOT_FOUND");
    s.call_as(
        b,
        "DID.RESERVE",
        &[
            ("RESERVATION_ID", &id),
            ("AREA_ID", BROOKLYN),
            ("QUANTITY", "1"),
        ],
    )
    .await
    .fails("NOT_FOUND");
    s.call_as(
        b,
        "DID.RESERVE",
        &[("RESERVATION_ID", &id), ("E164", &brooklyn(5))],
    )
    .await
    .fails("NOT_FOUND");
    assert_eq!(
        stock(&s, "US", BROOKLYN).await,
        8,
        "B's attempts held nothing"
    );

    // A's held numbers by E164: B can neither reserve nor order them.
    s.call_as(b, "DID.RESERVE", &[("E164", &brooklyn(0))])
        .await
        .fails("OUT_OF_STOCK");
    s.call_as(b, "DID.ORDER", &[("E164", &brooklyn(1))])
        .await
        .fails("OUT_OF_STOCK");
    // B's area order and area reservation skip them.
    let r = s
        .call_as(
            b,
            "DID.ORDER",
            &[("DID_TYPE", "GEOGRAPHIC"), ("AREA_ID", BROOKLYN)],
        )
        .await
        .ok();
    assert_eq!(r.e164s(), [brooklyn(2)]);
    let r = s
        .call_as(
            b,
            "DID.RESERVE",
            &[("AREA_ID", BROOKLYN), ("QUANTITY", "7")],
        )
        .await
        .ok();
    let b_id = rsv_id(&r);
    assert_eq!(r.e164s(), (3..10).map(brooklyn).collect::<Vec<_>>());
    // Now nothing is left for anyone, A included.
    s.call(
        "DID.ORDER",
        &[("DID_TYPE", "GEOGRAPHIC"), ("AREA_ID", BROOKLYN)],
    )
    .await
    .fails("OUT_OF_STOCK");
    s.call("DID.ORDER", &[("E164", &brooklyn(3))])
        .await
        .fails("OUT_OF_STOCK");
    // And A cannot touch B's cart either.
    s.call("DID.ORDER", &[("RESERVATION_ID", &b_id)])
        .await
        .fails("NOT_FOUND");
    assert_eq!(stock(&s, "US", BROOKLYN).await, 0);

    // A's reservation is still whole and orderable by A.
    let r = s.call("DID.ORDER", &[("RESERVATION_ID", &id)]).await.ok();
    assert_eq!(r.e164s(), [brooklyn(0), brooklyn(1)]);
    assert_eq!(
        books(&s, &s.account).await.owned,
        [brooklyn(0), brooklyn(1)]
    );
    let bb = books(&s, &b_key.account_number).await;
    assert_eq!(bb.owned, [brooklyn(2)]);
    assert_eq!(bb.balance, 10_000 - BROOKLYN_PRICE);
    assert_eq!(bb.balance, bb.ledger);
    s.stop().await;
}

// ------------------------------------------------------------ DID.ORDER by reservation

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ordering_a_reservation_twice_conflicts_unless_it_is_a_replay() {
    let s = TestServer::start().await;
    let id = rsv_id(
        &s.call("DID.RESERVE", &[("AREA_ID", BROOKLYN), ("QUANTITY", "2")])
            .await
            .ok(),
    );
    let params = [("RESERVATION_ID", id.as_str()), ("REQUEST_ID", "cart-1")];
    let first = s.call("DID.ORDER", &params).await.ok();
    assert_eq!(first.value("REQUEST_ID").as_deref(), Some("cart-1"));
    // The same REQUEST_ID with the same parameters replays byte for byte.
    let replay = s.call("DID.ORDER", &params).await.ok();
    assert_eq!(replay.body, first.body);
    // Without it, the reservation is simply no longer open.
    let r = s
        .call("DID.ORDER", &[("RESERVATION_ID", &id)])
        .await
        .fails("CONFLICT");
    assert!(r.error().contains(&id), "{}", r.body);
    // The same REQUEST_ID with other parameters is a reuse.
    s.call(
        "DID.ORDER",
        &[
            ("RESERVATION_ID", &id),
            ("REQUEST_ID", "cart-1"),
            ("TITLE", "other"),
        ],
    )
    .await
    .fails("CONFLICT");
    let b = books(&s, &s.account).await;
    assert_eq!(b.owned, [brooklyn(0), brooklyn(1)]);
    assert_eq!(b.balance, DEMO_BALANCE - 2 * BROOKLYN_PRICE, "charged once");
    assert_eq!(b.balance, b.ledger);
    assert_eq!(stock(&s, "US", BROOKLYN).await, 8);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_mode_order_of_a_reservation_keeps_it_open() {
    let s = TestServer::start().await;
    let id = rsv_id(
        &s.call("DID.RESERVE", &[("AREA_ID", BROOKLYN), ("QUANTITY", "2")])
            .await
            .ok(),
    );
    let dry = s
        .call("DID.ORDER", &[("RESERVATION_ID", &id), ("TEST", "TRUE")])
        .await
        .ok();
    assert_eq!(dry.value("TEST").as_deref(), Some("TRUE"));
    assert_eq!(dry.e164s(), [brooklyn(0), brooklyn(1)]);
    assert_eq!(
        dry.value("CHARGED100"),
        Some((2 * BROOKLYN_PRICE).to_string())
    );
    let b = books(&s, &s.account).await;
    assert_eq!(b.balance, DEMO_BALANCE);
    assert!(b.owned.is_empty());
    assert_eq!(stock(&s, "US", BROOKLYN).await, 8, "still held");
    let r = s.call("DID.ORDER", &[("RESERVATION_ID", &id)]).await.ok();
    assert_eq!(r.e164s(), [brooklyn(0), brooklyn(1)]);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reservation_order_without_funds_changes_nothing_and_stays_orderable() {
    let s = TestServer::start().await;
    // 300 cannot pay for one Brooklyn number (328).
    let poor = s.new_account(300).await;
    let key = poor.api_key.as_str();
    let id = rsv_id(
        &s.call_as(
            key,
            "DID.RESERVE",
            &[("AREA_ID", BROOKLYN), ("QUANTITY", "1")],
        )
        .await
        .ok(),
    );
    s.call_as(key, "DID.ORDER", &[("RESERVATION_ID", &id)])
        .await
        .fails("INSUFFICIENT_FUNDS");
    let b = books(&s, &poor.account_number).await;
    assert_eq!((b.balance, b.ledger), (300, 300));
    assert!(b.owned.is_empty());
    // The number is still held: out of stock, out of search, not orderable by
    // anyone else.
    assert_eq!(stock(&s, "US", BROOKLYN).await, 9);
    assert!(!searchable(&s, BROOKLYN).await.contains(&brooklyn(0)));
    s.call("DID.ORDER", &[("E164", &brooklyn(0))])
        .await
        .fails("OUT_OF_STOCK");
    // After a credit the same reservation goes through.
    credit(&s, &poor.account_number, 100).await;
    let r = s
        .call_as(key, "DID.ORDER", &[("RESERVATION_ID", &id)])
        .await
        .ok();
    assert_eq!(r.e164s(), [brooklyn(0)]);
    assert_eq!(r.value("CHARGED100"), Some(BROOKLYN_PRICE.to_string()));
    let b = books(&s, &poor.account_number).await;
    assert_eq!(b.balance, 400 - BROOKLYN_PRICE);
    assert_eq!(b.balance, b.ledger);
    assert_eq!(b.owned, [brooklyn(0)]);
    assert_eq!(stock(&s, "US", BROOKLYN).await, 9);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reservation_order_with_a_plan_an_area_lacks_changes_nothing() {
    let s = TestServer::start().await;
    // New York offers PM, Brooklyn does not.
    let id = rsv_id(
        &s.call(
            "DID.RESERVE",
            &[("E164", &format!("12121111111,{}", brooklyn(0)))],
        )
        .await
        .ok(),
    );
    let r = s
        .call(
            "DID.ORDER",
            &[("RESERVATION_ID", &id), ("RATE_PLAN_ID", "PM")],
        )
        .await
        .fails("INVALID_PARAMETER");
    assert!(r.error().contains("RATE_PLAN_ID"), "{}", r.body);
    // A DID_TYPE the numbers do not have is refused too.
    s.call(
        "DID.ORDER",
        &[("RESERVATION_ID", &id), ("DID_TYPE", "MOBILE")],
    )
    .await
    .fails("INVALID_PARAMETER");
    let b = books(&s, &s.account).await;
    assert_eq!(b.balance, DEMO_BALANCE);
    assert!(b.owned.is_empty());
    // The reservation is still open and orderable with the default plan.
    let r = s
        .call(
            "DID.ORDER",
            &[("RESERVATION_ID", &id), ("DID_TYPE", "GEOGRAPHIC")],
        )
        .await
        .ok();
    assert_eq!(
        r.value("CHARGED100"),
        Some((149 + 249 + BROOKLYN_PRICE).to_string())
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_by_reservation_rejects_other_ways_to_choose_numbers() {
    let s = TestServer::start().await;
    let id = rsv_id(
        &s.call("DID.RESERVE", &[("AREA_ID", BROOKLYN), ("QUANTITY", "2")])
            .await
            .ok(),
    );
    for extra in [
        ("QUANTITY", "2"),
        ("QUANTITY", "1"),
        ("PARTIAL_ALLOWED", "TRUE"),
        ("AREA_ID", BROOKLYN),
        ("E164", "17185550105"),
    ] {
        s.call("DID.ORDER", &[("RESERVATION_ID", &id), extra])
            .await
            .fails("INVALID_PARAMETER");
    }
    s.call("DID.ORDER", &[("E164", "17185550105"), ("QUANTITY", "1")])
        .await
        .fails("INVALID_PARAMETER");
    s.call("DID.ORDER", &[("RESERVATION_ID", "rsv_XYZ")])
        .await
        .fails("INVALID_PARAMETER");
    s.call("DID.ORDER", &[("RESERVATION_ID", "rsv_0000000000000000")])
        .await
        .fails("NOT_FOUND");
    // None of that touched the reservation.
    let r = s.call("DID.ORDER", &[("RESERVATION_ID", &id)]).await.ok();
    assert_eq!(r.e164s(), [brooklyn(0), brooklyn(1)]);
    assert_eq!(
        books(&s, &s.account).await.owned,
        [brooklyn(0), brooklyn(1)]
    );
    s.stop().await;
}

// ------------------------------------------------------------ DID.RESERVE.CANCEL

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_returns_numbers_to_stock_at_once_and_later_orders_conflict() {
    let s = TestServer::start().await;
    let id = rsv_id(
        &s.call("DID.RESERVE", &[("AREA_ID", BROOKLYN), ("QUANTITY", "3")])
            .await
            .ok(),
    );
    assert_eq!(stock(&s, "US", BROOKLYN).await, 7);
    let r = s
        .call(
            "DID.RESERVE.CANCEL",
            &[("RESERVATION_ID", &id), ("REQUEST_ID", "cancel-1")],
        )
        .await
        .ok();
    assert_eq!(r.value("RELEASED").as_deref(), Some("3"), "{}", r.body);
    assert_eq!(r.value("REQUEST_ID").as_deref(), Some("cancel-1"));
    assert_eq!(stock(&s, "US", BROOKLYN).await, 10);
    assert_eq!(searchable(&s, BROOKLYN).await.len(), 10);

    // The canceled reservation can be neither ordered, canceled again nor
    // added to.
    s.call("DID.ORDER", &[("RESERVATION_ID", &id)])
        .await
        .fails("CONFLICT");
    s.call("DID.RESERVE.CANCEL", &[("RESERVATION_ID", &id)])
        .await
        .fails("CONFLICT");
    s.call(
        "DID.RESERVE",
        &[
            ("RESERVATION_ID", &id),
            ("AREA_ID", BROOKLYN),
            ("QUANTITY", "1"),
        ],
    )
    .await
    .fails("CONFLICT");
    let b = books(&s, &s.account).await;
    assert_eq!(b.balance, DEMO_BALANCE);
    assert!(b.owned.is_empty());
    // The released numbers are sold again, lowest first, to anyone.
    let other = s.new_account(10_000).await;
    let r = s
        .call_as(
            &other.api_key,
            "DID.ORDER",
            &[
                ("DID_TYPE", "GEOGRAPHIC"),
                ("AREA_ID", BROOKLYN),
                ("QUANTITY", "3"),
            ],
        )
        .await
        .ok();
    assert_eq!(r.e164s(), [brooklyn(0), brooklyn(1), brooklyn(2)]);
    assert_eq!(stock(&s, "US", BROOKLYN).await, 7);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_of_an_unknown_or_malformed_reservation() {
    let s = TestServer::start().await;
    s.call(
        "DID.RESERVE.CANCEL",
        &[("RESERVATION_ID", "rsv_0000000000000000")],
    )
    .await
    .fails("NOT_FOUND");
    for bad in ["rsv_123", "0000000000000000", "rsv_000000000000000G"] {
        s.call("DID.RESERVE.CANCEL", &[("RESERVATION_ID", bad)])
            .await
            .fails("INVALID_PARAMETER");
    }
    s.call("DID.RESERVE.CANCEL", &[])
        .await
        .fails("MISSING_PARAMETER");
    s.stop().await;
}

// ------------------------------------------------------------ expiry

/// A server whose reservation "minute" lasts one second and whose sweep
/// runs every 100 ms, so that `MINUTES=1` expires within about a second.
async fn fast_expiry_server() -> TestServer {
    TestServer::start_with(|cfg| {
        cfg.reservation_minute = Duration::from_secs(1);
        cfg.sweep_interval = Duration::from_millis(100);
    })
    .await
}

/// Waits, reading only the database, until `area` has `want` numbers in
/// stock; panics after `limit`.
async fn wait_for_stock(s: &TestServer, area: &str, want: i64, limit: Duration) {
    let start = Instant::now();
    loop {
        let (counted, counter) = counted_stock(s, area).await;
        if counted == want && counter == want {
            return;
        }
        assert!(
            start.elapsed() < limit,
            "stock of {area} is {counted} (counter {counter}) after {limit:?}, want {want}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_reservation_returns_its_numbers_to_stock_on_its_own() {
    let s = fast_expiry_server().await;
    let r = s
        .call(
            "DID.RESERVE",
            &[("AREA_ID", BROOKLYN), ("QUANTITY", "3"), ("MINUTES", "1")],
        )
        .await
        .ok();
    let id = rsv_id(&r);
    assert_eq!(stock(&s, "US", BROOKLYN).await, 7);
    // No request at all: the server returns the numbers by itself.
    wait_for_stock(&s, BROOKLYN, 10, Duration::from_secs(10)).await;
    assert_eq!(stock(&s, "US", BROOKLYN).await, 10);
    assert_eq!(searchable(&s, BROOKLYN).await.len(), 10);

    // The expired reservation answers CONFLICT to everything.
    let r = s
        .call("DID.ORDER", &[("RESERVATION_ID", &id)])
        .await
        .fails("CONFLICT");
    assert!(r.error().contains("expired"), "{}", r.body);
    s.call("DID.RESERVE.CANCEL", &[("RESERVATION_ID", &id)])
        .await
        .fails("CONFLICT");
    s.call(
        "DID.RESERVE",
        &[("RESERVATION_ID", &id), ("E164", &brooklyn(0))],
    )
    .await
    .fails("CONFLICT");
    let b = books(&s, &s.account).await;
    assert_eq!(b.balance, DEMO_BALANCE);
    assert!(b.owned.is_empty());
    // Its former numbers are anyone's again.
    let other = s.new_account(10_000).await;
    s.call_as(&other.api_key, "DID.ORDER", &[("E164", &brooklyn(0))])
        .await
        .ok();
    assert_eq!(stock(&s, "US", BROOKLYN).await, 9);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_reservation_cannot_be_ordered_even_before_the_sweep() {
    // The sweep runs once at start and then not for an hour: the order must
    // see the expiry by itself.
    let s = TestServer::start_with(|cfg| {
        cfg.reservation_minute = Duration::from_secs(1);
        cfg.sweep_interval = Duration::from_secs(3600);
    })
    .await;
    let id = rsv_id(
        &s.call(
            "DID.RESERVE",
            &[("AREA_ID", BROOKLYN), ("QUANTITY", "2"), ("MINUTES", "1")],
        )
        .await
        .ok(),
    );
    tokio::time::sleep(Duration::from_millis(2100)).await;
    s.call("DID.ORDER", &[("RESERVATION_ID", &id)])
        .await
        .fails("CONFLICT");
    s.call(
        "DID.RESERVE",
        &[
            ("RESERVATION_ID", &id),
            ("AREA_ID", BROOKLYN),
            ("QUANTITY", "1"),
        ],
    )
    .await
    .fails("CONFLICT");
    let b = books(&s, &s.account).await;
    assert_eq!(b.balance, DEMO_BALANCE);
    assert!(b.owned.is_empty());
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cart_holds_all_its_numbers_until_the_expiry_its_last_reply_shows() {
    let s = fast_expiry_server().await;
    // Two "minutes" (seconds here) for the first number; the addition asks
    // for ten, and its reply's EXPIRES is what applies to the whole cart.
    let id = rsv_id(
        &s.call(
            "DID.RESERVE",
            &[("AREA_ID", BROOKLYN), ("QUANTITY", "1"), ("MINUTES", "2")],
        )
        .await
        .ok(),
    );
    let before = now();
    let r = s
        .call(
            "DID.RESERVE",
            &[
                ("RESERVATION_ID", &id),
                ("AREA_ID", BROOKLYN),
                ("QUANTITY", "1"),
                ("MINUTES", "10"),
            ],
        )
        .await
        .ok();
    let after = now();
    let allowed: Vec<String> = (before..=after).map(|t| format_time(t + 10)).collect();
    assert!(allowed.contains(&expires(&r)), "{}", r.body);
    assert_eq!(r.e164s(), [brooklyn(0), brooklyn(1)]);
    // Past the first expiry, both numbers are still held and orderable.
    tokio::time::sleep(Duration::from_millis(3100)).await;
    assert_eq!(counted_stock(&s, BROOKLYN).await, (8, 8));
    let r = s.call("DID.ORDER", &[("RESERVATION_ID", &id)]).await.ok();
    assert_eq!(r.e164s(), [brooklyn(0), brooklyn(1)]);
    s.stop().await;
}

// ------------------------------------------------------------ DID.ORDER by E164 list

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_by_e164_list_buys_available_and_own_reserved_numbers() {
    let s = TestServer::start().await;
    // Two available numbers from two areas.
    let list = format!("14155550103,{}", brooklyn(5));
    let r = s
        .call("DID.ORDER", &[("E164", &list), ("TITLE", "listed")])
        .await
        .ok();
    assert_eq!(sorted(r.e164s()), strings(&["14155550103", &brooklyn(5)]));
    assert_eq!(
        r.value("CHARGED100"),
        Some((SAN_FRANCISCO_PRICE + BROOKLYN_PRICE).to_string())
    );
    for d in r.elements("DID") {
        assert_eq!(d["STATUS"], "Active", "{d:?}");
        assert_eq!(d["TITLE"], "listed", "{d:?}");
    }
    // A number the caller's own tree holds may be ordered by number, and it
    // leaves the reservation, which keeps the rest.
    let sub = sub_account(&s, &s.account).await;
    let id = rsv_id(
        &s.call_as(
            &sub.api_key,
            "DID.RESERVE",
            &[("E164", &format!("{},{}", brooklyn(7), brooklyn(8)))],
        )
        .await
        .ok(),
    );
    let r = s.call("DID.ORDER", &[("E164", &brooklyn(7))]).await.ok();
    assert_eq!(r.e164s(), [brooklyn(7)]);
    let r = s.call("DID.ORDER", &[("RESERVATION_ID", &id)]).await.ok();
    assert_eq!(r.e164s(), [brooklyn(8)], "exactly what is still held");
    let b = books(&s, &s.account).await;
    assert_eq!(
        b.owned,
        strings(&["14155550103", &brooklyn(5), &brooklyn(7), &brooklyn(8)])
    );
    assert_eq!(
        b.balance,
        DEMO_BALANCE - SAN_FRANCISCO_PRICE - 3 * BROOKLYN_PRICE
    );
    assert_eq!(b.balance, b.ledger);
    assert_eq!(stock(&s, "US", BROOKLYN).await, 7);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_by_e164_list_is_all_or_nothing() {
    let s = TestServer::start().await;
    let other = s.new_account(10_000).await;
    // 0100 sold to the demo account, 0101 sold and canceled (aging), 0102
    // held by another tree.
    s.call("DID.ORDER", &[("E164", &brooklyn(0))]).await.ok();
    s.call("DID.ORDER", &[("E164", &brooklyn(1))]).await.ok();
    s.call("DID.CANCEL", &[("E164", &brooklyn(1))]).await.ok();
    s.call_as(&other.api_key, "DID.RESERVE", &[("E164", &brooklyn(2))])
        .await
        .ok();
    let before = books(&s, &s.account).await;
    assert_eq!(stock(&s, "US", BROOKLYN).await, 7);

    // Each unavailable number spoils the whole list, wherever it stands.
    for unavailable in [0, 1, 2] {
        let list = format!("{},{},{}", brooklyn(5), brooklyn(unavailable), brooklyn(6));
        s.call("DID.ORDER", &[("E164", &list)])
            .await
            .fails("OUT_OF_STOCK");
        // The other tree meets the sold and aging numbers the same way.
        if unavailable != 2 {
            s.call_as(&other.api_key, "DID.ORDER", &[("E164", &list)])
                .await
                .fails("OUT_OF_STOCK");
        }
    }
    // A number that does not exist is NOT_FOUND, and spoils the list too.
    let list = format!("{},17185559999", brooklyn(5));
    s.call("DID.ORDER", &[("E164", &list)])
        .await
        .fails("NOT_FOUND");
    s.call("DID.ORDER", &[("E164", "17185559999")])
        .await
        .fails("NOT_FOUND");
    // A list must not name a number twice.
    let list = format!("{},{}", brooklyn(5), brooklyn(5));
    s.call("DID.ORDER", &[("E164", &list)])
        .await
        .fails("INVALID_PARAMETER");

    let after = books(&s, &s.account).await;
    assert_eq!(after.owned, before.owned, "nothing bought");
    assert_eq!(after.balance, before.balance, "nothing charged");
    assert_eq!(after.balance, after.ledger);
    assert_eq!(stock(&s, "US", BROOKLYN).await, 7);
    assert!(searchable(&s, BROOKLYN).await.contains(&brooklyn(5)));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_by_e164_list_without_funds_buys_nothing() {
    let s = TestServer::start().await;
    let poor = s.new_account(BROOKLYN_PRICE + 100).await;
    let list = format!("{},{}", brooklyn(3), brooklyn(4));
    s.call_as(&poor.api_key, "DID.ORDER", &[("E164", &list)])
        .await
        .fails("INSUFFICIENT_FUNDS");
    let b = books(&s, &poor.account_number).await;
    assert_eq!(
        (b.balance, b.ledger),
        (BROOKLYN_PRICE + 100, BROOKLYN_PRICE + 100)
    );
    assert!(b.owned.is_empty());
    assert_eq!(stock(&s, "US", BROOKLYN).await, 10);
    s.stop().await;
}

// ------------------------------------------------------------ the race

/// What one racing client did: whose it was, how many it asked for, the
/// reservation reply, and the replies of its two orders of that
/// reservation (sent at the same time).
struct Attempt {
    who: usize,
    quantity: usize,
    reserve: Reply,
    orders: Vec<Reply>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_reservations_and_orders_never_hold_or_sell_a_number_twice() {
    let s = TestServer::start().await;
    const TASKS: usize = 30;
    const AREA_STOCK: usize = 10;
    // Three rich accounts and one that can pay for a single number, so that
    // stock, balances and reservation states are all contended.
    let credits = [100_000, 100_000, 100_000, BROOKLYN_PRICE];
    let mut accounts = Vec::new();
    for c in credits {
        accounts.push(s.new_account(c).await);
    }

    // Thirty clients each reserve 1 to 3 Brooklyn numbers (60 wanted, 10
    // there), and any that gets a reservation orders it twice at once.
    let mut tasks = Vec::new();
    for t in 0..TASKS {
        let who = t % accounts.len();
        let quantity = t % 3 + 1;
        let key = accounts[who].api_key.clone();
        let addr = s.addr;
        tasks.push(tokio::spawn(async move {
            let reserve = call_at(
                addr,
                &key,
                "DID.RESERVE",
                &[
                    ("AREA_ID", BROOKLYN.to_owned()),
                    ("QUANTITY", quantity.to_string()),
                ],
            )
            .await;
            let mut orders = Vec::new();
            if reserve.status == 200 && reserve.code().is_none() {
                let id = rsv_id(&reserve);
                let params = [("RESERVATION_ID", id)];
                let (a, b) = tokio::join!(
                    call_at(addr, &key, "DID.ORDER", &params),
                    call_at(addr, &key, "DID.ORDER", &params)
                );
                orders = vec![a, b];
            }
            Attempt {
                who,
                quantity,
                reserve,
                orders,
            }
        }));
    }
    let mut attempts = Vec::new();
    for t in tasks {
        attempts.push(t.await.expect("client task"));
    }

    let mut held_ever: HashSet<String> = HashSet::new();
    let mut sold: HashSet<String> = HashSet::new();
    let mut still_held: HashSet<String> = HashSet::new();
    let mut open_ids = Vec::new();
    let mut charged = vec![0i64; accounts.len()];
    let mut bought: Vec<HashSet<String>> = vec![HashSet::new(); accounts.len()];
    for a in &attempts {
        assert_eq!(a.reserve.status, 200, "{}", a.reserve.body);
        // Losing the race for stock is the only way a reservation fails.
        if let Some(code) = a.reserve.code() {
            assert_eq!(code, "OUT_OF_STOCK", "{}", a.reserve.body);
            continue;
        }
        let held = a.reserve.e164s();
        assert_eq!(held.len(), a.quantity, "{}", a.reserve.body);
        // Nothing expires or is canceled during the race, so a number is
        // held by at most one reservation, ever.
        for e in &held {
            assert!(held_ever.insert(e.clone()), "{e} held twice");
        }
        let codes: Vec<Option<String>> = a.orders.iter().map(Reply::code).collect();
        let successes: Vec<&Reply> = a.orders.iter().filter(|r| r.code().is_none()).collect();
        match successes.as_slice() {
            [won] => {
                // The other order of the same reservation came second.
                assert!(codes.contains(&Some("CONFLICT".to_owned())), "{codes:?}");
                let got = won.e164s();
                assert_eq!(sorted(got.clone()), sorted(held.clone()), "{}", won.body);
                let cost: i64 = won.value("CHARGED100").unwrap().parse().unwrap();
                assert_eq!(cost, a.quantity as i64 * BROOKLYN_PRICE);
                for e in got {
                    assert!(sold.insert(e.clone()), "{e} sold twice");
                    bought[a.who].insert(e);
                }
                charged[a.who] += cost;
            }
            [] => {
                // Neither order could pay; the numbers stay held.
                for r in &a.orders {
                    assert_eq!(r.status, 200, "{}", r.body);
                    assert_eq!(
                        r.code().as_deref(),
                        Some("INSUFFICIENT_FUNDS"),
                        "{}",
                        r.body
                    );
                }
                still_held.extend(held);
                open_ids.push((a.who, rsv_id(&a.reserve)));
            }
            _ => panic!("a reservation was ordered twice: {codes:?}"),
        }
    }
    assert!(held_ever.len() <= AREA_STOCK);
    assert!(sold.len() <= AREA_STOCK);
    assert!(!sold.is_empty(), "the rich accounts bought something");

    let mut owned_total = 0;
    for (i, account) in accounts.iter().enumerate() {
        let b = books(&s, &account.account_number).await;
        owned_total += b.owned.len();
        assert_eq!(
            b.owned.iter().cloned().collect::<HashSet<_>>(),
            bought[i],
            "account {i}"
        );
        assert_eq!(b.balance, credits[i] - charged[i], "account {i}");
        assert!(b.balance >= 0, "account {i}");
        assert_eq!(
            b.balance, b.ledger,
            "account {i}: balance differs from ledger"
        );
    }
    assert_eq!(owned_total, sold.len());
    // What is neither sold nor held is in stock, and every count agrees.
    let left = (AREA_STOCK - sold.len() - still_held.len()) as i64;
    assert_eq!(stock(&s, "US", BROOKLYN).await, left);
    let visible: HashSet<String> = searchable(&s, BROOKLYN).await.into_iter().collect();
    assert!(visible.is_disjoint(&sold) && visible.is_disjoint(&still_held));
    assert_eq!(visible.len() as i64, left);

    // Canceling the reservations nobody could pay for returns their numbers.
    for (who, id) in open_ids {
        s.call_as(
            &accounts[who].api_key,
            "DID.RESERVE.CANCEL",
            &[("RESERVATION_ID", &id)],
        )
        .await
        .ok();
    }
    let left = (AREA_STOCK - sold.len()) as i64;
    assert_eq!(stock(&s, "US", BROOKLYN).await, left);
    // The New York seed area was never touched.
    assert_eq!(stock(&s, "US", NY_AREA).await, 20);
    s.stop().await;
}
