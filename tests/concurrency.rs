//! Money and inventory under parallel load: a number is never sold twice,
//! an area never sells more than its stock, a `REQUEST_ID` retried in
//! parallel executes once, and every balance stays at or above zero and
//! equal to its ledger, whatever the interleaving (PROTOCOL.md section 4,
//! "Money", "Orders are all or nothing" and "Idempotency").

mod common;

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;

use bytes::Bytes;
use common::{Reply, TestServer, books, envelope, listed_stock};
use http_body_util::Full;
use hyper::Request;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// The Miami area: 10 numbers, `SU` costs 199 setup + 119 monthly.
const MIAMI: &str = "us-fl-305";
const MIAMI_PRICE: i64 = 318;
/// The Brooklyn area: 10 numbers, `SU` costs 199 setup + 129 monthly.
const BROOKLYN: &str = "us-ny-718";
const BROOKLYN_PRICE: i64 = 328;
/// Every demo area holds this many numbers.
const AREA_STOCK: usize = 10;

/// One keep-alive HTTP/1.1 connection, so a task's requests share it the way
/// a pooled client's would.
struct Client {
    sender: SendRequest<Full<Bytes>>,
}

impl Client {
    async fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).await.expect("connect");
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .expect("handshake");
        tokio::spawn(conn);
        Client { sender }
    }

    async fn call(&mut self, key: &str, action: &str, params: &[(&str, String)]) -> Reply {
        let params: Vec<(&str, &str)> = params.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let body = envelope(key, action, &params);
        // HTTP/1.1 carries one request at a time: wait for the previous
        // exchange on this connection to finish.
        self.sender.ready().await.expect("connection ready");
        let req = Request::builder()
            .method("POST")
            .uri("/api/v3.asp")
            .header("host", "localhost")
            .header("content-type", "application/xml")
            .body(Full::new(Bytes::from(body)))
            .unwrap();
        let resp = self.sender.send_request(req).await.expect("send");
        common::reply_of(resp).await
    }
}

/// `DID.ORDER` parameters for `quantity` geographic numbers from `area`.
fn order(area: &str, quantity: u32, partial: bool) -> Vec<(&'static str, String)> {
    let mut p = vec![
        ("DID_TYPE", "GEOGRAPHIC".to_owned()),
        ("AREA_ID", area.to_owned()),
        ("QUANTITY", quantity.to_string()),
    ];
    if partial {
        p.push(("PARTIAL_ALLOWED", "TRUE".to_owned()));
    }
    p
}

/// The area's stock as the API reports it and as counted from the numbers
/// themselves (with the maintained counter): all three must agree.
async fn stock(s: &TestServer, area: &str) -> (i64, i64, i64) {
    let listed = listed_stock(s, "US", area).await;
    let area_id = area.to_owned();
    let (counted, counter) = s
        .admin(move |db| db.reader().counted_stock(&area_id).expect("counted stock"))
        .await;
    (listed, counted, counter)
}

/// The numbers and the charge of a successful order reply.
#[track_caller]
fn sold(r: &Reply) -> (Vec<String>, i64) {
    let charged = r
        .value("CHARGED100")
        .unwrap_or_else(|| panic!("no CHARGED100: {}", r.body))
        .parse()
        .expect("CHARGED100 is a number");
    (r.e164s(), charged)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_orders_never_oversell_or_double_sell() {
    let s = TestServer::start().await;
    const ACCOUNTS: usize = 4;
    const TASKS: usize = 40;
    const ORDERS_PER_TASK: usize = 3;
    const CREDIT: i64 = 100_000;
    let mut accounts = Vec::new();
    for _ in 0..ACCOUNTS {
        accounts.push(s.new_account(CREDIT).await);
    }

    // 120 single-number orders for 10 numbers, from 40 connections at once,
    // spread over four billing accounts so that both the stock and several
    // balances are contended.
    let mut tasks = Vec::new();
    for t in 0..TASKS {
        let who = t % ACCOUNTS;
        let key = accounts[who].api_key.clone();
        let addr = s.addr;
        tasks.push(tokio::spawn(async move {
            let mut client = Client::connect(addr).await;
            let mut replies = Vec::new();
            for _ in 0..ORDERS_PER_TASK {
                let r = client
                    .call(&key, "DID.ORDER", &order(MIAMI, 1, false))
                    .await;
                replies.push((who, r));
            }
            replies
        }));
    }
    let mut replies = Vec::new();
    for t in tasks {
        replies.extend(t.await.expect("client task"));
    }
    assert_eq!(replies.len(), TASKS * ORDERS_PER_TASK);

    let mut seen = HashSet::new();
    let mut charged = [0i64; ACCOUNTS];
    let mut bought: Vec<HashSet<String>> = vec![HashSet::new(); ACCOUNTS];
    let mut successes = 0;
    for (who, r) in &replies {
        assert_eq!(r.status, 200, "{}", r.body);
        match r.code() {
            None => {
                successes += 1;
                let (e164s, cost) = sold(r);
                assert_eq!(e164s.len(), 1, "{}", r.body);
                assert_eq!(cost, MIAMI_PRICE, "{}", r.body);
                for e in e164s {
                    assert!(seen.insert(e.clone()), "{e} sold twice");
                    bought[*who].insert(e);
                }
                charged[*who] += cost;
            }
            // Losing the race may only ever mean the stock ran out.
            Some(code) => assert_eq!(code, "OUT_OF_STOCK", "{}", r.body),
        }
    }
    assert_eq!(successes, AREA_STOCK, "exactly the stock is sold");

    let mut owned_total = 0;
    for (i, account) in accounts.iter().enumerate() {
        let b = books(&s, &account.account_number).await;
        owned_total += b.owned.len();
        // What the replies say was bought is exactly what the account owns.
        assert_eq!(b.owned.iter().cloned().collect::<HashSet<_>>(), bought[i]);
        assert_eq!(b.balance, CREDIT - charged[i], "account {i}");
        assert_eq!(
            b.balance, b.ledger,
            "account {i}: balance differs from ledger"
        );
    }
    assert_eq!(owned_total, AREA_STOCK);
    assert_eq!(stock(&s, MIAMI).await, (0, 0, 0));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_retries_of_one_request_id_execute_once() {
    let s = TestServer::start().await;
    const RETRIES: usize = 20;
    let mut params = order(MIAMI, 1, false);
    params.push(("REQUEST_ID", "retry-storm-1".to_owned()));

    // A client that times out and retries aggressively can have many copies
    // of one request in flight at once; all must collapse into one order.
    let mut tasks = Vec::new();
    for _ in 0..RETRIES {
        let key = s.key.clone();
        let addr = s.addr;
        let params = params.clone();
        tasks.push(tokio::spawn(async move {
            Client::connect(addr)
                .await
                .call(&key, "DID.ORDER", &params)
                .await
        }));
    }
    let mut replies = Vec::new();
    for t in tasks {
        replies.push(t.await.expect("client task"));
    }

    let first = replies[0].body.clone();
    for r in &replies {
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.code(), None, "{}", r.body);
        assert_eq!(r.body, first, "replays must be byte-identical");
    }
    let (e164s, cost) = sold(&replies[0]);
    assert_eq!(e164s.len(), 1, "{first}");
    assert_eq!(cost, MIAMI_PRICE);
    assert_eq!(
        replies[0].value("REQUEST_ID").as_deref(),
        Some("retry-storm-1")
    );

    // A late retry after the storm still gets the same bytes.
    let late = Client::connect(s.addr)
        .await
        .call(&s.key, "DID.ORDER", &params)
        .await;
    assert_eq!(late.body, first);

    let b = books(&s, &s.account).await;
    assert_eq!(b.owned, e164s, "exactly one number sold");
    assert_eq!(b.balance, 10_000 - MIAMI_PRICE, "charged once");
    assert_eq!(b.balance, b.ledger);
    let left = (AREA_STOCK - 1) as i64;
    assert_eq!(stock(&s, MIAMI).await, (left, left, left));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_partial_orders_sell_exactly_the_stock() {
    let s = TestServer::start().await;
    const ACCOUNTS: usize = 3;
    const TASKS: usize = 24;
    const CREDIT: i64 = 100_000;
    let mut accounts = Vec::new();
    for _ in 0..ACCOUNTS {
        accounts.push(s.new_account(CREDIT).await);
    }

    // Quantities 1 to 5 with PARTIAL_ALLOWED: 70 numbers wanted, 10 there.
    let mut tasks = Vec::new();
    for t in 0..TASKS {
        let who = t % ACCOUNTS;
        let quantity = (t % 5) as u32 + 1;
        let key = accounts[who].api_key.clone();
        let addr = s.addr;
        tasks.push(tokio::spawn(async move {
            let r = Client::connect(addr)
                .await
                .call(&key, "DID.ORDER", &order(BROOKLYN, quantity, true))
                .await;
            (who, quantity, r)
        }));
    }
    let mut replies = Vec::new();
    for t in tasks {
        replies.push(t.await.expect("client task"));
    }

    let mut seen = HashSet::new();
    let mut charged = [0i64; ACCOUNTS];
    let mut short_fills = 0;
    for (who, quantity, r) in &replies {
        assert_eq!(r.status, 200, "{}", r.body);
        match r.code() {
            None => {
                let (e164s, cost) = sold(r);
                let n = e164s.len();
                assert!((1..=*quantity as usize).contains(&n), "{}", r.body);
                assert_eq!(cost, n as i64 * BROOKLYN_PRICE, "{}", r.body);
                if n < *quantity as usize {
                    short_fills += 1;
                }
                for e in e164s {
                    assert!(seen.insert(e.clone()), "{e} sold twice");
                }
                charged[*who] += cost;
            }
            Some(code) => assert_eq!(code, "OUT_OF_STOCK", "{}", r.body),
        }
    }
    assert_eq!(
        seen.len(),
        AREA_STOCK,
        "total sold equals the initial stock"
    );
    // Orders are serialised, so only the order that emptied the area can
    // have been filled short; any later one finds nothing and fails.
    assert!(short_fills <= 1, "{short_fills} orders were filled short");

    let mut owned_total = 0;
    for (i, account) in accounts.iter().enumerate() {
        let b = books(&s, &account.account_number).await;
        owned_total += b.owned.len();
        assert_eq!(
            CREDIT - b.balance,
            charged[i],
            "account {i}: CHARGED100 total vs balance decrease"
        );
        assert_eq!(
            b.balance, b.ledger,
            "account {i}: balance differs from ledger"
        );
        assert_eq!(
            b.owned.len() as i64 * BROOKLYN_PRICE,
            charged[i],
            "account {i}"
        );
    }
    assert_eq!(owned_total, AREA_STOCK);
    assert_eq!(stock(&s, BROOKLYN).await, (0, 0, 0));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_orders_never_overdraw_a_balance() {
    let s = TestServer::start().await;
    const POOR_ORDERS: usize = 10;
    const RICH_ORDERS: usize = 7;
    // Credit for exactly three Miami numbers, and a rich competitor for the
    // same area. The rich account can take at most 7 of the 10, so the poor
    // one always finds stock for its 3 and only its balance can stop it.
    let poor = s.new_account(3 * MIAMI_PRICE).await;
    let rich = s.new_account(100_000).await;

    // Interleave the two accounts' orders so that they really compete.
    let mut who: Vec<bool> = (0..RICH_ORDERS).flat_map(|_| [true, false]).collect();
    who.extend(std::iter::repeat_n(true, POOR_ORDERS - RICH_ORDERS));
    let mut tasks = Vec::new();
    for is_poor in who {
        let key = if is_poor {
            poor.api_key.clone()
        } else {
            rich.api_key.clone()
        };
        let addr = s.addr;
        tasks.push(tokio::spawn(async move {
            let r = Client::connect(addr)
                .await
                .call(&key, "DID.ORDER", &order(MIAMI, 1, false))
                .await;
            (is_poor, r)
        }));
    }
    let mut outcomes: HashMap<(bool, Option<String>), usize> = HashMap::new();
    let mut seen = HashSet::new();
    for t in tasks {
        let (is_poor, r) = t.await.expect("client task");
        assert_eq!(r.status, 200, "{}", r.body);
        if r.code().is_none() {
            let (e164s, cost) = sold(&r);
            assert_eq!(cost, MIAMI_PRICE, "{}", r.body);
            for e in e164s {
                assert!(seen.insert(e.clone()), "{e} sold twice");
            }
        }
        *outcomes.entry((is_poor, r.code())).or_default() += 1;
    }
    let count = |is_poor: bool, code: Option<&str>| {
        outcomes
            .get(&(is_poor, code.map(str::to_owned)))
            .copied()
            .unwrap_or(0)
    };
    assert_eq!(
        outcomes.values().sum::<usize>(),
        POOR_ORDERS + RICH_ORDERS,
        "{outcomes:?}"
    );
    assert_eq!(count(true, None), 3, "{outcomes:?}");
    // Once the three are bought the poor account fails on funds; stock can
    // only be gone once everyone's orders are in, which is also allowed.
    assert_eq!(
        count(true, Some("INSUFFICIENT_FUNDS")) + count(true, Some("OUT_OF_STOCK")),
        POOR_ORDERS - 3,
        "{outcomes:?}"
    );
    assert_eq!(count(false, None), RICH_ORDERS, "{outcomes:?}");

    let p = books(&s, &poor.account_number).await;
    assert!(p.balance >= 0, "balance went negative: {}", p.balance);
    assert_eq!(p.balance, 0);
    assert_eq!(p.balance, p.ledger);
    assert_eq!(p.owned.len(), 3);
    let r = books(&s, &rich.account_number).await;
    assert_eq!(r.balance, 100_000 - RICH_ORDERS as i64 * MIAMI_PRICE);
    assert_eq!(r.balance, r.ledger);
    assert_eq!(r.owned.len(), RICH_ORDERS);
    assert_eq!(stock(&s, MIAMI).await, (0, 0, 0));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_reuse_of_a_request_id_with_other_parameters_executes_once() {
    let s = TestServer::start().await;
    const TASKS: usize = 10;
    // Ten different orders racing under one REQUEST_ID: whichever commits
    // first wins, and every other one is a reuse with other parameters.
    let mut tasks = Vec::new();
    for t in 0..TASKS {
        let key = s.key.clone();
        let addr = s.addr;
        let mut params = order(MIAMI, 1, false);
        params.push(("TITLE", format!("order {t}")));
        params.push(("REQUEST_ID", "shared-id".to_owned()));
        tasks.push(tokio::spawn(async move {
            Client::connect(addr)
                .await
                .call(&key, "DID.ORDER", &params)
                .await
        }));
    }
    let mut winners = Vec::new();
    for t in tasks {
        let r = t.await.expect("client task");
        assert_eq!(r.status, 200, "{}", r.body);
        match r.code() {
            None => winners.push(r),
            Some(code) => assert_eq!(code, "CONFLICT", "{}", r.body),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one order may execute");
    let (e164s, _) = sold(&winners[0]);
    let b = books(&s, &s.account).await;
    assert_eq!(b.owned, e164s);
    assert_eq!(b.balance, 10_000 - MIAMI_PRICE);
    assert_eq!(b.balance, b.ledger);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_id_is_scoped_per_account_under_parallel_retries() {
    let s = TestServer::start().await;
    const RETRIES: usize = 8;
    let accounts = [s.new_account(10_000).await, s.new_account(10_000).await];
    // Both accounts happen to pick the same REQUEST_ID and retry it in
    // parallel: each account's order runs once, neither replays the other's.
    let mut tasks = Vec::new();
    for t in 0..2 * RETRIES {
        let who = t % 2;
        let key = accounts[who].api_key.clone();
        let addr = s.addr;
        let mut params = order(MIAMI, 1, false);
        params.push(("REQUEST_ID", "same-everywhere".to_owned()));
        tasks.push(tokio::spawn(async move {
            let r = Client::connect(addr)
                .await
                .call(&key, "DID.ORDER", &params)
                .await;
            (who, r)
        }));
    }
    let mut bodies: [HashSet<String>; 2] = [HashSet::new(), HashSet::new()];
    for t in tasks {
        let (who, r) = t.await.expect("client task");
        let r = r.ok();
        bodies[who].insert(r.body);
    }
    for (who, account) in accounts.iter().enumerate() {
        assert_eq!(bodies[who].len(), 1, "account {who} got different replies");
        let body = bodies[who].iter().next().unwrap();
        assert!(
            body.contains(&format!("ACCOUNT_NUMBER=\"{}\"", account.account_number)),
            "account {who} got another account's reply: {body}"
        );
        let b = books(&s, &account.account_number).await;
        assert_eq!(b.owned.len(), 1, "account {who}");
        assert_eq!(b.balance, 10_000 - MIAMI_PRICE, "account {who}");
        assert_eq!(b.balance, b.ledger, "account {who}");
    }
    assert_ne!(bodies[0], bodies[1]);
    let left = (AREA_STOCK - 2) as i64;
    assert_eq!(stock(&s, MIAMI).await, (left, left, left));
    s.stop().await;
}
