//! Storage trouble: when the database cannot be written, a mutation is
//! answered `UNAVAILABLE` (503) and nothing is acknowledged or kept; when
//! the cause goes away, service resumes without a restart. Also graceful
//! shutdown: requests in flight finish and their changes are durable.

mod common;

use common::{NY_AREA, TestServer};
use didgate::domain::AccountNumber;

const ORDER: &[(&str, &str)] = &[("DID_TYPE", "GEOGRAPHIC"), ("AREA_ID", NY_AREA)];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locked_database_is_unavailable_then_service_resumes() {
    let s = TestServer::start().await;
    // Warm the key cache so the lock below only blocks the write path.
    s.call("ACCOUNT.GETBALANCE", &[]).await.ok();

    // Another process holding the write lock longer than the writer's busy
    // timeout (5 s) is what a stuck backup or a hand-run sqlite3 shell does.
    let path = s.db_path.clone();
    let (locked_tx, locked_rx) = std::sync::mpsc::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let holder = std::thread::spawn(move || {
        let conn = rusqlite::Connection::open(path).unwrap();
        conn.execute_batch("BEGIN EXCLUSIVE").unwrap();
        locked_tx.send(()).unwrap();
        release_rx.recv().unwrap();
        conn.execute_batch("ROLLBACK").unwrap();
    });
    locked_rx.recv().unwrap();

    let r = s.call("DID.ORDER", ORDER).await;
    assert_eq!(r.status, 503, "{}", r.body);
    assert_eq!(r.code().as_deref(), Some("UNAVAILABLE"));
    assert!(r.headers.contains_key("retry-after"));

    release_tx.send(()).unwrap();
    holder.join().unwrap();

    // Nothing of the refused order was kept: the same lowest number is
    // still for sale, and the balance is whole.
    let r = s.call("DID.ORDER", ORDER).await.ok();
    assert_eq!(r.e164s(), vec!["12121111111"]);
    let acct = AccountNumber::parse(&s.account).unwrap();
    let db = s.db();
    assert_eq!(db.reader().balance_of(&acct).unwrap().0, 10_000 - 398);
    assert_eq!(db.reader().ledger_sum(&acct).unwrap().0, 10_000 - 398);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_requests_in_flight_and_keeps_them() {
    let mut s = TestServer::start().await;
    s.call("ACCOUNT.GETBALANCE", &[]).await.ok();
    let addr = s.addr;
    let key = s.key.clone();
    // Start several orders, then ask the server to stop while they run.
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let body = common::envelope(&key, "DID.ORDER", ORDER);
        tasks.push(tokio::spawn(async move {
            common::request(addr, "POST", "/api/v3.asp", &[], body.into()).await
        }));
    }
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let path = s.db_path.clone();
    let account = s.account.clone();
    s.halt().await;

    // Every order that was answered with success is in the database.
    let mut sold = Vec::new();
    for t in tasks {
        // A request that reached the server before it stopped accepting is
        // answered; one that did not is refused at connect time (a panic
        // in the client task), which is fine: it was never acknowledged.
        if let Ok(r) = t.await {
            if r.code().is_none() {
                sold.extend(r.e164s());
            }
        }
    }
    let db = didgate::store::Db::open(&path).unwrap();
    let owned: Vec<String> = db
        .reader()
        .dids_of(&AccountNumber::parse(&account).unwrap())
        .unwrap()
        .into_iter()
        .map(|d| d.e164)
        .collect();
    for n in &sold {
        assert!(owned.contains(n), "acknowledged {n} missing after shutdown");
    }
    assert_eq!(db.integrity_check().unwrap(), "ok");
}
