//! Guards Anveo's GET form (PROTOCOL.md section 1):
//! `GET /api/v2.asp?userkey=K&action=A&param[P]=V` runs the same actions as
//! the XML envelope and answers the same bytes, refuses a broken query
//! string with 400, answers a wrong key like the envelope does, refuses
//! other methods with 405, and never lets the key (which travels in the
//! URL here) reach a log line.

mod common;

use std::io::Read as _;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

use bytes::Bytes;
use common::{
    AUTH_MESSAGE, KillOnDrop, NY_AREA, Reply, TestServer, envelope, serve_command, wait_for_exit,
    wait_until_serving,
};

const GET_PATH: &str = "/api/v2.asp";

/// URL-encodes a query value the way a form does (space as `+`).
fn enc(v: &str) -> String {
    form_urlencoded::byte_serialize(v.as_bytes()).collect()
}

/// The GET form's path and query for `action` with `key` and `params`,
/// written the way Anveo documents it: `param[NAME]` left literal and each
/// value URL-encoded.
fn get_uri(key: &str, action: &str, params: &[(&str, &str)]) -> String {
    let mut uri = format!("{GET_PATH}?userkey={}&action={}", enc(key), enc(action));
    for (name, value) in params {
        uri.push_str(&format!("&param[{name}]={}", enc(value)));
    }
    uri
}

async fn get(addr: SocketAddr, uri: &str) -> Reply {
    common::request(addr, "GET", uri, &[], Bytes::new()).await
}

/// Sends the same request in both forms and returns (GET, POST) replies.
async fn both(s: &TestServer, action: &str, params: &[(&str, &str)]) -> (Reply, Reply) {
    let by_get = get(s.addr, &get_uri(&s.key, action, params)).await;
    let by_post = s.call(action, params).await;
    (by_get, by_post)
}

#[track_caller]
fn assert_same_reply(by_get: &Reply, by_post: &Reply) {
    assert_eq!(by_get.status, 200, "{}", by_get.body);
    assert_eq!(by_get.status, by_post.status);
    assert_eq!(
        by_get.headers.get("content-type"),
        by_post.headers.get("content-type")
    );
    assert_eq!(by_get.body, by_post.body);
}

#[track_caller]
fn assert_malformed_400(r: &Reply, key: &str) {
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.code().as_deref(), Some("MALFORMED_REQUEST"), "{}", r.body);
    assert!(
        r.body
            .starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"),
        "{}",
        r.body
    );
    assert!(
        !r.body.contains(key),
        "the reply echoes the key: {}",
        r.body
    );
}

// ------------------------------------------------------- same as the POST form

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_form_getbalance_answers_like_the_post_form() {
    let s = TestServer::start().await;
    let (by_get, by_post) = both(&s, "ACCOUNT.GETBALANCE", &[]).await;
    assert_same_reply(&by_get, &by_post);
    assert_eq!(by_get.result(), "100.00");
    assert_eq!(by_get.value("BALANCE100").as_deref(), Some("10000"));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_form_areas_list_answers_like_the_post_form() {
    let s = TestServer::start().await;
    for params in [
        &[("COUNTRY_ID", "US")][..],
        &[("STATE_ID", "US-NY"), ("DID_TYPE", "GEOGRAPHIC")][..],
    ] {
        let (by_get, by_post) = both(&s, "ANVEO.AREAS.LIST", params).await;
        assert_same_reply(&by_get, &by_post);
        // The seed area's id, dots and all, is in the reply.
        assert!(
            by_get
                .elements("AREA")
                .iter()
                .any(|a| a["AREA_ID"] == NY_AREA),
            "{}",
            by_get.body
        );
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_form_did_list_answers_like_the_post_form() {
    let s = TestServer::start().await;
    s.call(
        "DID.ORDER",
        &[
            ("DID_TYPE", "GEOGRAPHIC"),
            ("AREA_ID", NY_AREA),
            ("QUANTITY", "2"),
            ("TITLE", "Front & back desk"),
        ],
    )
    .await
    .ok();
    // Unfiltered, filtered with `*` and by a title holding `&` and spaces,
    // and filtered to nothing.
    for params in [
        &[][..],
        &[("FILTER.E164", "1212*2")][..],
        &[("FILTER.TITLE", "Front & back desk"), ("LIMIT", "1")][..],
        &[("FILTER.E164", "44*")][..],
    ] {
        let (by_get, by_post) = both(&s, "DID.LIST", params).await;
        assert_same_reply(&by_get, &by_post);
    }
    let (filtered, _) = both(&s, "DID.LIST", &[("FILTER.E164", "1212*2")]).await;
    assert_eq!(filtered.e164s(), ["12121111112"]);
    let (titled, _) = both(&s, "DID.LIST", &[("FILTER.TITLE", "Front & back desk")]).await;
    assert_eq!(
        titled.value("TOTAL").as_deref(),
        Some("2"),
        "{}",
        titled.body
    );
    s.stop().await;
}

/// A reply with what changes from server to server (account numbers, order
/// ids and dates) replaced by fixed text, so two servers' replies compare.
fn normalized(r: &Reply, account: &str) -> String {
    let mut body = r.body.replace(account, "ACCOUNT");
    for (start, end) in [
        ("ORDER_DATE=\"", "\""),
        ("<VALUE NAME=\"ORDER_ID\">", "</VALUE>"),
    ] {
        let mut out = String::new();
        let mut rest = body.as_str();
        while let Some(i) = rest.find(start) {
            let from = i + start.len();
            let to = from + rest[from..].find(end).expect("closed value");
            out.push_str(&rest[..from]);
            out.push('*');
            rest = &rest[to..];
        }
        out.push_str(rest);
        body = out;
    }
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_form_did_order_answers_like_the_post_form() {
    // An order changes state, so each form gets a fresh server with the same
    // inventory and balance.
    let a = TestServer::start().await;
    let b = TestServer::start().await;
    let params = [
        ("DID_TYPE", "GEOGRAPHIC"),
        ("AREA_ID", NY_AREA),
        ("RATE_PLAN_ID", "SU"),
        ("QUANTITY", "2"),
        ("TITLE", "Front & back desk"),
        ("REQUEST_ID", "get-form-order-1"),
    ];
    let by_get = get(a.addr, &get_uri(&a.key, "DID.ORDER", &params))
        .await
        .ok();
    let by_post = b.call("DID.ORDER", &params).await.ok();
    assert_eq!(by_get.status, by_post.status);
    assert_eq!(
        normalized(&by_get, &a.account),
        normalized(&by_post, &b.account)
    );
    // The decoded values made it through: the dotted area, and the title
    // with its `&` and spaces.
    assert_eq!(by_get.e164s(), ["12121111111", "12121111112"]);
    let dids = by_get.elements("DID");
    assert_eq!(dids[0]["TITLE"], "Front & back desk");
    assert_eq!(dids[0]["ACCOUNT_NUMBER"], a.account);
    assert_eq!(by_get.value("CHARGED100").as_deref(), Some("796"));

    // Spaces as `%20` instead of `+` decode the same; the repeat is the
    // same request, so REQUEST_ID replays the first reply byte for byte.
    let uri = format!(
        "{GET_PATH}?userkey={}&action=DID.ORDER&param[DID_TYPE]=GEOGRAPHIC\
         &param[AREA_ID]=123.123.123.123.123.123.123.123.123&param[RATE_PLAN_ID]=SU\
         &param[QUANTITY]=2&param[TITLE]=Front%20%26%20back%20desk\
         &param[REQUEST_ID]=get-form-order-1",
        a.key
    );
    let replay = get(a.addr, &uri).await.ok();
    assert_eq!(replay.body, by_get.body);
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_form_accepts_percent_encoded_brackets_and_ignores_other_query_keys() {
    let s = TestServer::start().await;
    // Clients that encode every reserved character send `param%5BNAME%5D`;
    // unrelated query keys (a cache buster) are not parameters.
    let uri = format!(
        "{GET_PATH}?_=12345&userkey={}&action=ANVEO.AREAS.LIST&param%5BCOUNTRY_ID%5D=US",
        s.key
    );
    let by_get = get(s.addr, &uri).await.ok();
    let by_post = s
        .call("ANVEO.AREAS.LIST", &[("COUNTRY_ID", "US")])
        .await
        .ok();
    assert_same_reply(&by_get, &by_post);
    s.stop().await;
}

// ------------------------------------------------------------------ refusals

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_form_without_an_action_is_400_malformed() {
    let s = TestServer::start().await;
    for uri in [
        format!("{GET_PATH}?userkey={}", s.key),
        format!("{GET_PATH}?userkey={}&action=", s.key),
        format!("{GET_PATH}?userkey={}&param[COUNTRY_ID]=US", s.key),
        GET_PATH.to_owned(),
    ] {
        let r = get(s.addr, &uri).await;
        assert_malformed_400(&r, &s.key);
        assert!(r.error().contains("action"), "{uri}: {}", r.body);
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_form_with_a_repeated_parameter_is_400() {
    let s = TestServer::start().await;
    let base = get_uri(&s.key, "DID.LIST", &[]);
    for extra in [
        "&param[FILTER.E164]=1212*&param[FILTER.E164]=1718*",
        // Parameter names are upper case on the wire: a repeat differing
        // only by case is still a repeat.
        "&param[FILTER.E164]=1212*&param[filter.e164]=1718*",
        "&action=ACCOUNT.GETBALANCE",
    ] {
        let r = get(s.addr, &format!("{base}{extra}")).await;
        assert_malformed_400(&r, &s.key);
    }
    let r = get(s.addr, &format!("{base}&userkey={}", s.key)).await;
    assert_malformed_400(&r, &s.key);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_form_with_a_wrong_key_is_auth_failed() {
    let s = TestServer::start().await;
    // The right key id with another secret, a key of the wrong form, and
    // no key at all: one answer, with 200, like the envelope's.
    let id = s.key.split('_').nth(1).unwrap();
    let wrong = format!("dg_{id}_{}", "0".repeat(64));
    for key in [wrong.as_str(), "not-a-key", ""] {
        let r = get(s.addr, &get_uri(key, "ACCOUNT.GETBALANCE", &[])).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.code().as_deref(), Some("AUTH_FAILED"), "{}", r.body);
        assert_eq!(r.error(), AUTH_MESSAGE);
        assert_eq!(
            r.body,
            s.call_as(key, "ACCOUNT.GETBALANCE", &[]).await.body,
            "the two forms answer a wrong key differently"
        );
    }
    let r = get(s.addr, &format!("{GET_PATH}?action=ACCOUNT.GETBALANCE")).await;
    assert_eq!(r.code().as_deref(), Some("AUTH_FAILED"), "{}", r.body);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn post_to_the_get_form_path_is_405() {
    let s = TestServer::start().await;
    let body = envelope(&s.key, "ACCOUNT.GETBALANCE", &[]);
    let r = s.post(GET_PATH, body.clone()).await;
    assert_eq!(r.status, 405, "{}", r.body);
    assert_eq!(r.code().as_deref(), Some("MALFORMED_REQUEST"), "{}", r.body);
    assert_eq!(
        r.headers.get("content-type").unwrap(),
        "application/xml; charset=UTF-8"
    );
    // Even with the query string of a valid request, nothing runs.
    let r = s
        .post(
            &get_uri(&s.key, "SUBACCOUNT.CREATE", &[("NAME", "x")]),
            body,
        )
        .await;
    assert_eq!(r.status, 405, "{}", r.body);
    assert!(!r.body.contains(&s.key), "{}", r.body);
    s.stop().await;
}

// ------------------------------------------------------------------- the log

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_never_reaches_a_log_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("log.db");
    let path = db.clone();
    let demo = tokio::task::spawn_blocking(move || {
        let mut db = didgate::store::Db::open(&path).unwrap();
        didgate::admin::demo_setup(&mut db).unwrap()
    })
    .await
    .unwrap();
    let key = demo.api_key;
    let secret = key.rsplit('_').next().unwrap().to_owned();
    let id = key.split('_').nth(1).unwrap();
    let wrong_secret = "f".repeat(64);
    let wrong = format!("dg_{id}_{wrong_secret}");

    let addr = common::free_addr();
    let mut child = KillOnDrop(
        serve_command(&db, addr)
            .env("DIDGATE_LOG", "info")
            .env_remove("DIDGATE_LOG_FORMAT")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start didgate"),
    );
    // Drain stderr on a thread so the server never blocks on a full pipe.
    let mut stderr = child.0.stderr.take().unwrap();
    let log = std::thread::spawn(move || {
        let mut text = String::new();
        stderr.read_to_string(&mut text).unwrap();
        text
    });
    wait_until_serving(addr, &mut child.0, Duration::from_secs(20)).await;

    // Valid and invalid keys, both forms, and a GET form refused before
    // authentication whose query string still holds the key.
    let order = [("DID_TYPE", "GEOGRAPHIC"), ("AREA_ID", NY_AREA)];
    let requests: Vec<Reply> = vec![
        get(addr, &get_uri(&key, "ACCOUNT.GETBALANCE", &[])).await,
        get(addr, &get_uri(&key, "DID.ORDER", &order)).await,
        get(addr, &get_uri(&wrong, "ACCOUNT.GETBALANCE", &[])).await,
        get(addr, &format!("{GET_PATH}?userkey={key}")).await,
        common::request(
            addr,
            "POST",
            "/api/v3.asp",
            &[],
            envelope(&key, "DID.LIST", &[]).into(),
        )
        .await,
        common::request(
            addr,
            "POST",
            "/api/v3.asp",
            &[],
            envelope(&wrong, "DID.LIST", &[]).into(),
        )
        .await,
    ];
    let codes: Vec<Option<String>> = requests.iter().map(Reply::code).collect();
    assert_eq!(
        codes,
        [
            None,
            None,
            Some("AUTH_FAILED".into()),
            Some("MALFORMED_REQUEST".into()),
            None,
            Some("AUTH_FAILED".into()),
        ]
    );

    let pid = child.0.id().to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("run kill");
    assert!(killed.success());
    let status =
        tokio::task::spawn_blocking(move || wait_for_exit(&mut child.0, Duration::from_secs(15)))
            .await
            .unwrap();
    let log = log.join().unwrap();

    // SIGTERM is a graceful shutdown: exit status 0.
    assert_eq!(status.code(), Some(0), "{status}\n{log}");
    // One request line per request made to the API (the readiness probe
    // hits /healthz and is left out).
    let request_lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("didgate::request") && !l.contains("/healthz"))
        .collect();
    assert_eq!(request_lines.len(), requests.len(), "{log}");
    assert_eq!(
        request_lines
            .iter()
            .filter(|l| l.contains(GET_PATH))
            .count(),
        4,
        "{log}"
    );
    // No line of the whole log holds a key, the secret half of one, or the
    // query string that carried it.
    for line in log.lines() {
        for needle in [
            key.as_str(),
            secret.as_str(),
            wrong.as_str(),
            &wrong_secret,
            "userkey",
        ] {
            assert!(
                !line.contains(needle),
                "a log line holds {needle:?}: {line}"
            );
        }
    }
}
