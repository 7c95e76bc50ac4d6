//! Operations: `/metrics` in Prometheus text format (and only for the
//! machine itself), `/healthz` failing while the writer is stuck, and a
//! backup of a live database that restores into a working server.

mod common;

use std::time::Duration;

use common::{NY_AREA, TestServer, WriteLock, call_at};
use didgate::domain::AccountNumber;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_requests_batches_and_stock() {
    let s = TestServer::start().await;
    s.call(
        "DID.ORDER",
        &[("DID_TYPE", "GEOGRAPHIC"), ("AREA_ID", NY_AREA)],
    )
    .await
    .ok();
    s.call("DID.TELEPORT", &[]).await.fails("UNKNOWN_ACTION");
    let _ = common::request(s.addr, "GET", "/no/such/path/1", &[], "".into()).await;
    let _ = common::request(s.addr, "GET", "/no/such/path/2", &[], "".into()).await;
    let m = common::request(s.addr, "GET", "/metrics", &[], "".into()).await;
    assert_eq!(m.status, 200);
    assert!(
        m.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    let text = m.body;
    assert!(
        text.contains(r#"didgate_requests_total{action="DID.ORDER",code="OK"} 1"#),
        "{text}"
    );
    assert!(text.contains(r#"code="UNKNOWN_ACTION""#), "{text}");
    // Unknown paths share one label, so clients cannot grow the metrics.
    assert!(
        text.contains(r#"didgate_requests_total{action="other",code="NOT_FOUND"} 2"#),
        "{text}"
    );
    assert!(!text.contains("/no/such/path"));
    assert!(
        text.contains("didgate_request_duration_seconds_bucket"),
        "{text}"
    );
    assert!(text.contains("didgate_commit_batch_jobs_count"), "{text}");
    assert!(
        text.contains(&format!(r#"didgate_stock{{area="{NY_AREA}"}} 19"#)),
        "{text}"
    );
    assert!(!text.contains(&s.key));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_fails_while_the_writer_is_stuck() {
    // The busy timeout is stated: the writer must still be waiting on the
    // lock when healthz is asked, 800 ms in.
    let s = TestServer::start_with(|c| {
        c.writer_stall = Duration::from_millis(300);
        c.busy_timeout = Duration::from_secs(5);
    })
    .await;
    s.call("ACCOUNT.GETBALANCE", &[]).await.ok();
    assert_eq!(
        common::request(s.addr, "GET", "/healthz", &[], "".into())
            .await
            .status,
        200
    );
    // Another process holds the write lock: the writer waits on it (up to
    // its busy timeout) with an order in hand, which is what "stuck" means.
    let lock = WriteLock::take(&s.db_path);
    let addr = s.addr;
    let key = s.key.clone();
    let order = tokio::spawn(async move {
        call_at(
            addr,
            &key,
            "DID.ORDER",
            &[("DID_TYPE", "GEOGRAPHIC"), ("AREA_ID", NY_AREA)],
        )
        .await
    });
    tokio::time::sleep(Duration::from_millis(800)).await;
    let h = common::request(s.addr, "GET", "/healthz", &[], "".into()).await;
    assert_eq!(h.status, 503, "{}", h.body);
    // A plain-text answer for probes, not an API reply.
    let ct = h.headers.get("content-type").map(|v| v.to_str().unwrap());
    assert!(
        ct.is_some_and(|ct| ct.starts_with("text/plain")),
        "content type {ct:?}"
    );
    assert_eq!(h.body, "storage unavailable\n");
    lock.release();
    // The order was either committed after the lock went away or refused
    // as UNAVAILABLE; either way the writer is healthy again.
    let _ = order.await.unwrap();
    let mut healthy = false;
    for _ in 0..50 {
        if common::request(s.addr, "GET", "/healthz", &[], "".into())
            .await
            .status
            == 200
        {
            healthy = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(healthy, "healthz recovers once the lock is gone");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_of_a_live_database_restores_into_a_working_server() {
    let s = TestServer::start().await;
    let bought = s
        .call(
            "DID.ORDER",
            &[("DID_TYPE", "GEOGRAPHIC"), ("AREA_ID", NY_AREA)],
        )
        .await
        .ok()
        .e164s();
    // The backup runs while the server is up, from a second connection,
    // exactly as `didgate backup --to` does.
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("backup.db");
    let out = common::didgate(&s.db_path, &["backup", "--to", copy.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key = s.key.clone();
    let account = s.account.clone();
    s.stop().await;

    // Restoring is starting a server on the copy.
    let mut config = didgate::Config::new(&copy);
    config.key_recheck = Duration::from_millis(200);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(didgate::server::run(listener, config, async move {
        let _ = stopped.await;
    }));
    let list = call_at::<&str>(addr, &key, "DID.LIST", &[]).await;
    assert_eq!(list.e164s(), bought, "{}", list.body);
    let bal = call_at::<&str>(addr, &key, "ACCOUNT.GETBALANCE", &[]).await;
    assert_eq!(bal.value("BALANCE100").as_deref(), Some("9602"));
    let _ = stop.send(());
    server.await.unwrap().unwrap();
    let db = didgate::store::Db::open(&copy).unwrap();
    assert_eq!(db.integrity_check().unwrap(), "ok");
    let acct = AccountNumber::parse(&account).unwrap();
    assert_eq!(
        db.reader().balance_of(&acct).unwrap(),
        db.reader().ledger_sum(&acct).unwrap()
    );
}
