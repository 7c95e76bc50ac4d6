//! Guards money and inventory: every failure path of an order changes
//! nothing (balance, ledger, stock, ownership), `REQUEST_ID` makes an order
//! execute at most once per account, `TEST=TRUE` commits nothing, and the
//! balance always equals the sum of the ledger.

mod common;

use common::{
    Books, NY_AREA, TestServer, balance_as, balanced_books, call_at, credit, import_numbers,
    listed_stock, sub_account,
};
use didgate::admin;
use didgate::domain::{AccountNumber, Money100};

/// Brooklyn: 10 numbers, only the SU plan (129 monthly, 199 setup).
const BROOKLYN: &str = "us-ny-718";

/// The stock of `area`, checking the maintained counter against a count of
/// the numbers themselves.
fn stock(s: &TestServer, area: &str) -> i64 {
    let (counted, counter) = s.db().reader().counted_stock(area).unwrap();
    assert_eq!(counted, counter, "stock counter of {area} drifted");
    counter
}

// ------------------------------------------------------------- refusals

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insufficient_funds_changes_nothing() {
    let s = TestServer::start().await;
    let poor = s.new_account(100).await;
    let before = balanced_books(&s, &poor.account_number).await;
    assert_eq!(
        before,
        Books {
            balance: 100,
            ledger: 100,
            owned: vec![]
        }
    );

    let r = s
        .call_as(
            &poor.api_key,
            "DID.ORDER",
            &[("DID_TYPE", "GEOGRAPHIC"), ("AREA_ID", NY_AREA)],
        )
        .await
        .fails("INSUFFICIENT_FUNDS");
    assert_eq!(r.status, 200);
    assert_eq!(
        r.error(),
        "insufficient funds: order costs 398, balance is 100"
    );

    assert_eq!(balanced_books(&s, &poor.account_number).await, before);
    assert_eq!(balance_as(&s, &poor.api_key).await, 100);
    assert_eq!(stock(&s, NY_AREA), 20);
    assert_eq!(listed_stock(&s, "US", NY_AREA).await, 20);
    // The number it would have bought is still the next one sold.
    let r = s
        .call(
            "DID.ORDER",
            &[("DID_TYPE", "GEOGRAPHIC"), ("AREA_ID", NY_AREA)],
        )
        .await
        .ok();
    assert_eq!(r.e164s(), ["12121111111"]);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_stock_without_partial_changes_nothing() {
    let s = TestServer::start().await;
    let before = balanced_books(&s, &s.account).await;
    let r = s
        .call(
            "DID.ORDER",
            &[
                ("DID_TYPE", "GEOGRAPHIC"),
                ("AREA_ID", BROOKLYN),
                ("QUANTITY", "11"),
            ],
        )
        .await
        .fails("OUT_OF_STOCK");
    assert_eq!(r.status, 200);
    // The message names what was asked for and what there is.
    assert_eq!(
        r.error(),
        "out of stock: 11 requested, 10 available in area us-ny-718"
    );
    // All or nothing: not even the ten that exist were bought.
    assert_eq!(balanced_books(&s, &s.account).await, before);
    assert_eq!(
        before,
        Books {
            balance: 10_000,
            ledger: 10_000,
            owned: vec![]
        }
    );
    assert_eq!(stock(&s, BROOKLYN), 10);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partial_order_from_an_empty_area_is_out_of_stock() {
    let s = TestServer::start().await;
    s.call(
        "DID.ORDER",
        &[
            ("DID_TYPE", "GEOGRAPHIC"),
            ("AREA_ID", BROOKLYN),
            ("QUANTITY", "10"),
        ],
    )
    .await
    .ok();
    let before = balanced_books(&s, &s.account).await;
    assert_eq!(before.balance, 10_000 - 10 * 328);
    // PARTIAL_ALLOWED buys what is there, but at least one number.
    let r = s
        .call(
            "DID.ORDER",
            &[
                ("DID_TYPE", "GEOGRAPHIC"),
                ("AREA_ID", BROOKLYN),
                ("PARTIAL_ALLOWED", "TRUE"),
            ],
        )
        .await
        .fails("OUT_OF_STOCK");
    assert_eq!(
        r.error(),
        "out of stock: 1 requested, 0 available in area us-ny-718"
    );
    assert_eq!(balanced_books(&s, &s.account).await, before);
    assert_eq!(stock(&s, BROOKLYN), 0);
    s.stop().await;
}

// ----------------------------------------------------------- idempotency

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_request_id_replays_the_first_reply_and_charges_once() {
    let s = TestServer::start().await;
    let params = [
        ("DID_TYPE", "GEOGRAPHIC"),
        ("AREA_ID", NY_AREA),
        ("QUANTITY", "2"),
        ("REQUEST_ID", "once-1"),
    ];
    let first = s.call("DID.ORDER", &params).await.ok();
    let second = s.call("DID.ORDER", &params).await.ok();
    // Byte for byte: same numbers, same ORDER_ID, same ORDER_DATE.
    assert_eq!(first.body, second.body);
    assert_eq!(first.e164s(), ["12121111111", "12121111112"]);
    // The order of the parameters does not make it another request.
    let reversed: Vec<(&str, &str)> = params.iter().rev().copied().collect();
    let third = s.call("DID.ORDER", &reversed).await.ok();
    assert_eq!(first.body, third.body);

    let b = balanced_books(&s, &s.account).await;
    assert_eq!(b.balance, 10_000 - 796);
    assert_eq!(b.owned, ["12121111111", "12121111112"]);
    assert_eq!(stock(&s, NY_AREA), 18);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_id_is_shared_by_the_keys_of_one_account() {
    let s = TestServer::start().await;
    let number = AccountNumber::parse(&s.account).unwrap();
    let second_key = s
        .admin(move |db| admin::create_key(db, &number).unwrap())
        .await;
    let params = [
        ("DID_TYPE", "GEOGRAPHIC"),
        ("AREA_ID", NY_AREA),
        ("REQUEST_ID", "shared-keys"),
    ];
    let first = s.call("DID.ORDER", &params).await.ok();
    // Idempotency is per account, so a retry through another key of the
    // same account is still the same request.
    let again = s
        .call_as(&second_key.api_key, "DID.ORDER", &params)
        .await
        .ok();
    assert_eq!(first.body, again.body);
    assert_eq!(balanced_books(&s, &s.account).await.balance, 10_000 - 398);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_id_reused_with_other_parameters_is_conflict_and_changes_nothing() {
    let s = TestServer::start().await;
    s.call(
        "DID.ORDER",
        &[
            ("DID_TYPE", "GEOGRAPHIC"),
            ("AREA_ID", NY_AREA),
            ("REQUEST_ID", "reuse"),
        ],
    )
    .await
    .ok();
    let before = balanced_books(&s, &s.account).await;
    for other in [
        vec![
            ("DID_TYPE", "GEOGRAPHIC"),
            ("AREA_ID", NY_AREA),
            ("REQUEST_ID", "reuse"),
            ("QUANTITY", "2"),
        ],
        vec![
            ("DID_TYPE", "GEOGRAPHIC"),
            ("AREA_ID", BROOKLYN),
            ("REQUEST_ID", "reuse"),
        ],
        vec![
            ("DID_TYPE", "GEOGRAPHIC"),
            ("AREA_ID", NY_AREA),
            ("REQUEST_ID", "reuse"),
            ("TITLE", "x"),
        ],
    ] {
        let r = s.call("DID.ORDER", &other).await.fails("CONFLICT");
        assert_eq!(r.status, 200);
        assert!(r.error().contains("REQUEST_ID reuse"), "{}", r.error());
    }
    assert_eq!(balanced_books(&s, &s.account).await, before);
    assert_eq!(stock(&s, NY_AREA), 19);
    assert_eq!(stock(&s, BROOKLYN), 10);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_id_is_scoped_per_account() {
    let s = TestServer::start().await;
    let other = s.new_account(1_000).await;
    let sub = sub_account(&s, &s.account).await;
    let params = [
        ("DID_TYPE", "GEOGRAPHIC"),
        ("AREA_ID", NY_AREA),
        ("REQUEST_ID", "same-id"),
    ];
    let mine = s.call("DID.ORDER", &params).await.ok();
    // Another account (and a sub-account, which is an account of its own)
    // may use the same id: each is a new order, not a replay or a conflict.
    let theirs = s.call_as(&other.api_key, "DID.ORDER", &params).await.ok();
    let subs = s.call_as(&sub.api_key, "DID.ORDER", &params).await.ok();
    assert_eq!(mine.e164s(), ["12121111111"]);
    assert_eq!(theirs.e164s(), ["12121111112"]);
    assert_eq!(subs.e164s(), ["12121111113"]);
    assert_eq!(
        balanced_books(&s, &other.account_number).await,
        Books {
            balance: 602,
            ledger: 602,
            owned: vec!["12121111112".into()]
        }
    );
    // The demo tree paid for its own order and its sub-account's.
    assert_eq!(
        balanced_books(&s, &s.account).await.balance,
        10_000 - 2 * 398
    );
    assert_eq!(stock(&s, NY_AREA), 17);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_request_with_request_id_can_be_retried_after_a_credit() {
    let s = TestServer::start().await;
    let poor = s.new_account(100).await;
    let params = [
        ("DID_TYPE", "GEOGRAPHIC"),
        ("AREA_ID", NY_AREA),
        ("REQUEST_ID", "retry-funds"),
    ];
    // Failures are not stored, so a retry with the same id runs again.
    for _ in 0..2 {
        s.call_as(&poor.api_key, "DID.ORDER", &params)
            .await
            .fails("INSUFFICIENT_FUNDS");
    }
    assert_eq!(
        balanced_books(&s, &poor.account_number).await,
        Books {
            balance: 100,
            ledger: 100,
            owned: vec![]
        }
    );
    credit(&s, &poor.account_number, 298).await;
    let ok = s.call_as(&poor.api_key, "DID.ORDER", &params).await.ok();
    assert_eq!(ok.value("CHARGED100").as_deref(), Some("398"));
    assert_eq!(ok.value("REQUEST_ID").as_deref(), Some("retry-funds"));
    assert_eq!(
        balanced_books(&s, &poor.account_number).await,
        Books {
            balance: 0,
            ledger: 0,
            owned: vec!["12121111111".into()]
        }
    );
    // Now the success is stored: a further retry replays it instead of
    // failing for lack of funds or charging again.
    let replay = s.call_as(&poor.api_key, "DID.ORDER", &params).await.ok();
    assert_eq!(replay.body, ok.body);
    assert_eq!(balanced_books(&s, &poor.account_number).await.balance, 0);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_request_with_request_id_can_be_retried_once_stock_arrives() {
    let s = TestServer::start().await;
    let params = [
        ("DID_TYPE", "GEOGRAPHIC"),
        ("AREA_ID", BROOKLYN),
        ("QUANTITY", "11"),
        ("REQUEST_ID", "retry-stock"),
    ];
    s.call("DID.ORDER", &params).await.fails("OUT_OF_STOCK");
    assert_eq!(balanced_books(&s, &s.account).await.balance, 10_000);
    import_numbers(&s, "e164,area_id\n17185550199,us-ny-718\n").await;
    assert_eq!(stock(&s, BROOKLYN), 11);
    let ok = s.call("DID.ORDER", &params).await.ok();
    let bought = ok.e164s();
    assert_eq!(bought.len(), 11);
    assert_eq!(bought.last().map(String::as_str), Some("17185550199"));
    assert_eq!(ok.value("CHARGED100").as_deref(), Some("3608"));
    assert_eq!(balanced_books(&s, &s.account).await.balance, 10_000 - 3_608);
    assert_eq!(stock(&s, BROOKLYN), 0);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_request_id_is_rejected_and_changes_nothing() {
    let s = TestServer::start().await;
    let too_long = "a".repeat(65);
    for bad in ["has space", too_long.as_str(), "caf\u{e9}"] {
        let r = s
            .call(
                "DID.ORDER",
                &[
                    ("DID_TYPE", "GEOGRAPHIC"),
                    ("AREA_ID", NY_AREA),
                    ("REQUEST_ID", bad),
                ],
            )
            .await
            .fails("INVALID_PARAMETER");
        assert_eq!(
            r.error(),
            "parameter REQUEST_ID must be 1 to 64 visible ASCII characters",
            "{bad}"
        );
    }
    assert_eq!(
        balanced_books(&s, &s.account).await,
        Books {
            balance: 10_000,
            ledger: 10_000,
            owned: vec![]
        }
    );
    assert_eq!(stock(&s, NY_AREA), 20);
    // 64 characters is the most allowed.
    let longest = "b".repeat(64);
    let r = s
        .call(
            "DID.ORDER",
            &[
                ("DID_TYPE", "GEOGRAPHIC"),
                ("AREA_ID", NY_AREA),
                ("REQUEST_ID", &longest),
            ],
        )
        .await
        .ok();
    assert_eq!(r.value("REQUEST_ID").as_deref(), Some(longest.as_str()));
    s.stop().await;
}

// ------------------------------------------------------------- dry runs

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_mode_order_reports_the_order_but_changes_nothing() {
    let s = TestServer::start().await;
    let r = s
        .call(
            "DID.ORDER",
            &[
                ("DID_TYPE", "GEOGRAPHIC"),
                ("AREA_ID", NY_AREA),
                ("QUANTITY", "2"),
                ("TEST", "TRUE"),
            ],
        )
        .await
        .ok();
    assert_eq!(r.result(), "SUCCESS");
    assert_eq!(r.value("TEST").as_deref(), Some("TRUE"));
    assert_eq!(r.e164s(), ["12121111111", "12121111112"]);
    assert_eq!(r.value("CHARGED100").as_deref(), Some("796"));

    assert_eq!(
        balanced_books(&s, &s.account).await,
        Books {
            balance: 10_000,
            ledger: 10_000,
            owned: vec![]
        }
    );
    assert_eq!(balance_as(&s, &s.key).await, 10_000);
    assert_eq!(stock(&s, NY_AREA), 20);
    assert_eq!(listed_stock(&s, "US", NY_AREA).await, 20);
    // A real order then buys the very number the dry run showed.
    let real = s
        .call(
            "DID.ORDER",
            &[("DID_TYPE", "GEOGRAPHIC"), ("AREA_ID", NY_AREA)],
        )
        .await
        .ok();
    assert_eq!(real.e164s(), ["12121111111"]);
    assert_eq!(real.value("TEST"), None);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_mode_still_reports_insufficient_funds_and_out_of_stock() {
    let s = TestServer::start().await;
    let poor = s.new_account(100).await;
    let r = s
        .call_as(
            &poor.api_key,
            "DID.ORDER",
            &[
                ("DID_TYPE", "GEOGRAPHIC"),
                ("AREA_ID", NY_AREA),
                ("TEST", "TRUE"),
            ],
        )
        .await
        .fails("INSUFFICIENT_FUNDS");
    assert_eq!(
        r.error(),
        "insufficient funds: order costs 398, balance is 100"
    );
    let r = s
        .call(
            "DID.ORDER",
            &[
                ("DID_TYPE", "GEOGRAPHIC"),
                ("AREA_ID", BROOKLYN),
                ("QUANTITY", "11"),
                ("TEST", "true"),
            ],
        )
        .await
        .fails("OUT_OF_STOCK");
    assert_eq!(
        r.error(),
        "out of stock: 11 requested, 10 available in area us-ny-718"
    );
    assert_eq!(
        balanced_books(&s, &poor.account_number).await,
        Books {
            balance: 100,
            ledger: 100,
            owned: vec![]
        }
    );
    assert_eq!(
        balanced_books(&s, &s.account).await,
        Books {
            balance: 10_000,
            ledger: 10_000,
            owned: vec![]
        }
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_mode_rejects_a_bogus_flag() {
    let s = TestServer::start().await;
    let r = s
        .call(
            "DID.ORDER",
            &[
                ("DID_TYPE", "GEOGRAPHIC"),
                ("AREA_ID", NY_AREA),
                ("TEST", "maybe"),
            ],
        )
        .await
        .fails("INVALID_PARAMETER");
    assert_eq!(r.error(), "parameter TEST must be TRUE or FALSE");
    assert_eq!(
        balanced_books(&s, &s.account).await,
        Books {
            balance: 10_000,
            ledger: 10_000,
            owned: vec![]
        }
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_mode_does_not_use_up_a_request_id() {
    let s = TestServer::start().await;
    let dry = s
        .call(
            "DID.ORDER",
            &[
                ("DID_TYPE", "GEOGRAPHIC"),
                ("AREA_ID", NY_AREA),
                ("REQUEST_ID", "dry"),
                ("TEST", "TRUE"),
            ],
        )
        .await
        .ok();
    assert_eq!(dry.value("REQUEST_ID").as_deref(), Some("dry"));
    // A dry run commits nothing, not even the idempotency record, so the
    // real order with that id is a fresh order rather than a CONFLICT.
    let real = s
        .call(
            "DID.ORDER",
            &[
                ("DID_TYPE", "GEOGRAPHIC"),
                ("AREA_ID", NY_AREA),
                ("REQUEST_ID", "dry"),
            ],
        )
        .await
        .ok();
    assert_eq!(real.e164s(), ["12121111111"]);
    assert_eq!(balanced_books(&s, &s.account).await.balance, 10_000 - 398);
    s.stop().await;
}

// ------------------------------------------------------------ invariants

/// One order of [`balance_always_equals_ledger_sum`]: key, parameters,
/// expected error code, and what it charges the demo tree and the poor account.
type Step<'a> = (
    &'a String,
    &'a [(&'a str, &'a str)],
    Option<&'a str>,
    i64,
    i64,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn balance_always_equals_ledger_sum() {
    let s = TestServer::start().await;
    let poor = s.new_account(500).await;
    let sub = sub_account(&s, &s.account).await;
    let ny = [("DID_TYPE", "GEOGRAPHIC"), ("AREA_ID", NY_AREA)];
    let pm = [
        ("DID_TYPE", "GEOGRAPHIC"),
        ("AREA_ID", NY_AREA),
        ("RATE_PLAN_ID", "PM"),
        ("QUANTITY", "3"),
    ];
    let brooklyn_all = [
        ("DID_TYPE", "GEOGRAPHIC"),
        ("AREA_ID", BROOKLYN),
        ("QUANTITY", "50"),
        ("PARTIAL_ALLOWED", "TRUE"),
    ];
    let too_many = [
        ("DID_TYPE", "GEOGRAPHIC"),
        ("AREA_ID", NY_AREA),
        ("QUANTITY", "100"),
    ];

    // (key, params, expected error, charge to the demo tree, charge to the
    // poor account) in order; `books` checks the ledger invariant after
    // every step, and the expected balances are checked against GETBALANCE.
    let mut demo_expected = 10_000;
    let mut poor_expected = 500;
    let steps: Vec<Step<'_>> = vec![
        (&s.key, &ny[..], None, 398, 0),
        (&s.key, &pm[..], None, 147, 0),
        (&poor.api_key, &ny[..], None, 0, 398),
        (&poor.api_key, &ny[..], Some("INSUFFICIENT_FUNDS"), 0, 0),
        (&sub.api_key, &ny[..], None, 398, 0),
        (&s.key, &too_many[..], Some("OUT_OF_STOCK"), 0, 0),
        (&s.key, &brooklyn_all[..], None, 3_280, 0),
        (&s.key, &brooklyn_all[..], Some("OUT_OF_STOCK"), 0, 0),
    ];
    for (i, (key, params, error, demo_cost, poor_cost)) in steps.into_iter().enumerate() {
        let r = s.call_as(key, "DID.ORDER", params).await;
        match error {
            Some(code) => {
                r.fails(code);
            }
            None => {
                r.ok();
            }
        }
        demo_expected -= demo_cost;
        poor_expected -= poor_cost;
        if i == 3 {
            // A credit between orders goes through the ledger too.
            credit(&s, &poor.account_number, 1_000).await;
            poor_expected += 1_000;
        }
        assert_eq!(
            balanced_books(&s, &s.account).await.balance,
            demo_expected,
            "step {i}"
        );
        assert_eq!(
            balanced_books(&s, &poor.account_number).await.balance,
            poor_expected,
            "step {i}"
        );
        // A sub-account shows its tree's balance and has no ledger of its own.
        let sub_number = AccountNumber::parse(&sub.account_number).unwrap();
        assert_eq!(
            s.db().reader().balance_of(&sub_number).unwrap(),
            Money100(demo_expected),
            "step {i}"
        );
        assert_eq!(
            s.db().reader().ledger_sum(&sub_number).unwrap(),
            Money100(0),
            "step {i}"
        );
        assert_eq!(balance_as(&s, &s.key).await, demo_expected, "step {i}");
        assert_eq!(
            balance_as(&s, &poor.api_key).await,
            poor_expected,
            "step {i}"
        );
    }
    // The poor account, credited, can now order again.
    s.call_as(&poor.api_key, "DID.ORDER", &ny).await.ok();
    assert_eq!(
        balanced_books(&s, &poor.account_number).await.balance,
        poor_expected - 398
    );
    assert_eq!(stock(&s, NY_AREA), 20 - 1 - 3 - 1 - 1 - 1);
    assert_eq!(stock(&s, BROOKLYN), 0);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_orders_never_oversell_or_overcharge() {
    let s = TestServer::start().await;
    // Six orders of three race for ten numbers: three can be served.
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let params = vec![
                ("DID_TYPE", "GEOGRAPHIC"),
                ("AREA_ID", BROOKLYN),
                ("QUANTITY", "3"),
            ];
            // Each order on its own connection, all at once.
            let (addr, key) = (s.addr, s.key.clone());
            tokio::spawn(async move { call_at(addr, &key, "DID.ORDER", &params).await })
        })
        .collect();
    let mut sold = Vec::new();
    let mut refused = 0;
    for t in tasks {
        let r = t.await.unwrap();
        match r.code().as_deref() {
            None => sold.extend(r.e164s()),
            Some("OUT_OF_STOCK") => refused += 1,
            other => panic!("unexpected {other:?}: {}", r.body),
        }
    }
    assert_eq!(refused, 3);
    sold.sort();
    let mut unique = sold.clone();
    unique.dedup();
    assert_eq!(unique.len(), 9, "a number was sold twice: {sold:?}");
    let b = balanced_books(&s, &s.account).await;
    assert_eq!(b.owned, unique);
    assert_eq!(b.balance, 10_000 - 9 * 328);
    assert_eq!(stock(&s, BROOKLYN), 1);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_retries_of_one_request_id_charge_once() {
    let s = TestServer::start().await;
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let params = vec![
                ("DID_TYPE", "GEOGRAPHIC"),
                ("AREA_ID", NY_AREA),
                ("REQUEST_ID", "burst"),
            ];
            // Each order on its own connection, all at once.
            let (addr, key) = (s.addr, s.key.clone());
            tokio::spawn(async move { call_at(addr, &key, "DID.ORDER", &params).await })
        })
        .collect();
    let mut bodies = Vec::new();
    for t in tasks {
        bodies.push(t.await.unwrap().ok().body);
    }
    assert!(
        bodies.windows(2).all(|w| w[0] == w[1]),
        "replies differ: {bodies:?}"
    );
    assert_eq!(
        balanced_books(&s, &s.account).await,
        Books {
            balance: 10_000 - 398,
            ledger: 10_000 - 398,
            owned: vec!["12121111111".into()]
        }
    );
    assert_eq!(stock(&s, NY_AREA), 19);
    s.stop().await;
}
