//! Failed authentications are rate limited per client address (429 with
//! `Retry-After`), without locking out keys the address has already
//! proven, and the limit recovers by itself.

mod common;

use std::time::Duration;

use common::TestServer;

const BAD_KEY: &str =
    "dg_0123456789abcdef_0000000000000000000000000000000000000000000000000000000000000000";

async fn limited_server(window: Duration) -> TestServer {
    TestServer::start_with(|c| {
        c.auth_failures = 3;
        c.auth_failure_window = window;
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_authentications_are_rate_limited_per_address() {
    let s = limited_server(Duration::from_secs(60)).await;
    for _ in 0..3 {
        s.call_as(BAD_KEY, "ACCOUNT.GETBALANCE", &[])
            .await
            .fails("AUTH_FAILED");
    }
    let r = s.call_as(BAD_KEY, "ACCOUNT.GETBALANCE", &[]).await;
    assert_eq!(r.status, 429, "{}", r.body);
    assert_eq!(r.code().as_deref(), Some("RATE_LIMITED"));
    let wait: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    assert!(!r.body.contains(BAD_KEY));
    // The JSON front shares the limit and answers in its own shape.
    let j = common::request(
        s.addr,
        "POST",
        &format!("/ws/apikey/call_function?apikey={BAD_KEY}"),
        &[],
        r#"{"method": "number.list_all", "params": []}"#.into(),
    )
    .await;
    assert_eq!(j.status, 429, "{}", j.body);
    assert!(j.body.contains(r#""code":"RATE_LIMITED""#), "{}", j.body);
    assert!(j.headers.contains_key("retry-after"));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proven_key_keeps_working_from_a_limited_address() {
    let s = limited_server(Duration::from_secs(60)).await;
    s.call("ACCOUNT.GETBALANCE", &[]).await.ok();
    for _ in 0..10 {
        let _ = s.call_as(BAD_KEY, "ACCOUNT.GETBALANCE", &[]).await;
    }
    s.call_as(BAD_KEY, "ACCOUNT.GETBALANCE", &[])
        .await
        .fails_with(429, "RATE_LIMITED");
    // The demo key was verified before the flood: it is served as usual.
    s.call("ACCOUNT.GETBALANCE", &[]).await.ok();
    // A valid key never used from here is refused while the limit lasts,
    // without costing an Argon2 verification.
    let fresh = s.new_account(0).await;
    let r = s.call_as(&fresh.api_key, "ACCOUNT.GETBALANCE", &[]).await;
    assert_eq!(r.status, 429, "{}", r.body);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_limit_recovers_after_its_window() {
    let s = limited_server(Duration::from_millis(900)).await;
    for _ in 0..4 {
        let _ = s.call_as(BAD_KEY, "ACCOUNT.GETBALANCE", &[]).await;
    }
    s.call_as(BAD_KEY, "ACCOUNT.GETBALANCE", &[])
        .await
        .fails_with(429, "RATE_LIMITED");
    // Three failures refill in 0.9 s; one is enough to try again.
    tokio::time::sleep(Duration::from_millis(600)).await;
    s.call_as(BAD_KEY, "ACCOUNT.GETBALANCE", &[])
        .await
        .fails("AUTH_FAILED");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_secrets_for_a_real_key_id_do_not_slow_cached_keys() {
    // Wrong secrets for an existing key id cost an Argon2 verification
    // each; they are bounded by the hashing semaphore and by the limit,
    // while the cached demo key needs no hashing at all.
    let s = TestServer::start_with(|c| c.auth_failures = 1000).await;
    s.call("ACCOUNT.GETBALANCE", &[]).await.ok();
    let key_id = &s.key[3..19];
    let wrong = format!("dg_{key_id}_{}", "ab".repeat(32));
    let addr = s.addr;
    let mut flood = Vec::new();
    for _ in 0..40 {
        let wrong = wrong.clone();
        flood.push(tokio::spawn(async move {
            common::call_at::<&str>(addr, &wrong, "ACCOUNT.GETBALANCE", &[]).await
        }));
    }
    // Every valid request during the flood succeeds.
    for _ in 0..20 {
        s.call("ACCOUNT.GETBALANCE", &[]).await.ok();
    }
    for f in flood {
        f.await.unwrap().fails("AUTH_FAILED");
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_new_valid_keys_from_one_address_is_never_limited() {
    // Regression: charging the limit before verifying refused honest
    // bursts (40 first requests at once from one address, four new keys).
    let s = limited_server(Duration::from_secs(60)).await;
    let mut keys = Vec::new();
    for _ in 0..4 {
        keys.push(s.new_account(0).await.api_key);
    }
    let mut tasks = Vec::new();
    for i in 0..40 {
        let key = keys[i % 4].clone();
        let addr = s.addr;
        tasks.push(tokio::spawn(async move {
            common::call_at::<&str>(addr, &key, "ACCOUNT.GETBALANCE", &[]).await
        }));
    }
    for t in tasks {
        t.await.unwrap().ok();
    }
    s.stop().await;
}
