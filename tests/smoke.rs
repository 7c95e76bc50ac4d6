//! The newcomer's path: the seed order against the demo data.

mod common;

use common::{NY_AREA, TestServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_order_buys_the_seed_number() {
    let s = TestServer::start().await;
    let r = s
        .call(
            "DID.ORDER",
            &[
                ("DID_TYPE", "GEOGRAPHIC"),
                ("AREA_ID", NY_AREA),
                ("RATE_PLAN_ID", "SU"),
                ("QUANTITY", "1"),
                ("TITLE", "ABCDEF"),
            ],
        )
        .await
        .ok();
    assert_eq!(r.e164s(), vec!["12121111111"]);
    assert_eq!(r.value("CHARGED100").as_deref(), Some("398"));
    s.stop().await;
}
