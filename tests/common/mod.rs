//! Shared integration-test harness: a real didgate server on port 0 with a
//! temporary database holding the demo inventory and demo account, and a
//! small HTTP client to talk to it.

#![allow(dead_code)]

mod process;

#[allow(unused_imports)]
pub use process::*;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::sync::oneshot;

use didgate::Config;
use didgate::admin::{self, CreatedKey};
use didgate::domain::{AccountNumber, Money100};
use didgate::inventory::{self, Source};
use didgate::store::Db;

/// The one text every authentication failure carries (PROTOCOL.md 3: "one
/// message for all").
pub const AUTH_MESSAGE: &str = "authentication failed: check the api key";
/// The JSON front's path; the key travels in the `apikey` query parameter.
pub const JSON_PATH: &str = "/ws/apikey/call_function";

pub struct TestServer {
    pub addr: SocketAddr,
    pub db_path: PathBuf,
    /// The demo account's key and number.
    pub key: String,
    pub account: String,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<(), didgate::Error>>>,
    _dir: tempfile::TempDir,
}

/// A parsed HTTP reply.
pub struct Reply {
    pub status: u16,
    pub headers: hyper::HeaderMap,
    pub body: String,
}

impl TestServer {
    /// Demo inventory, demo account (balance 100.00), default config.
    pub async fn start() -> TestServer {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(tune: impl FnOnce(&mut Config)) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let db_path = dir.path().join("test.db");
        let path = db_path.clone();
        let demo: CreatedKey = tokio::task::spawn_blocking(move || {
            let mut db = Db::open(&path).expect("open db");
            admin::demo_setup(&mut db).expect("demo setup")
        })
        .await
        .unwrap();
        let mut config = Config::new(&db_path);
        config.key_recheck = std::time::Duration::from_millis(200);
        tune(&mut config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(didgate::server::run(listener, config, async move {
            let _ = stopped.await;
        }));
        TestServer {
            addr,
            db_path,
            key: demo.api_key,
            account: demo.account_number,
            stop: Some(stop),
            task: Some(task),
            _dir: dir,
        }
    }

    /// Opens a second connection to the database, as the CLI would.
    pub fn db(&self) -> Db {
        Db::open(&self.db_path).expect("open db")
    }

    /// Runs an admin function against the database off the async workers.
    pub async fn admin<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Db) -> T + Send + 'static,
    ) -> T {
        let path = self.db_path.clone();
        tokio::task::spawn_blocking(move || f(&mut Db::open(&path).expect("open db")))
            .await
            .unwrap()
    }

    /// A new top-level account with `credit100`, returning its key.
    pub async fn new_account(&self, credit100: i64) -> CreatedKey {
        self.admin(move |db| {
            admin::create_account(db, "Test", None, didgate::domain::Money100(credit100), None)
                .unwrap()
        })
        .await
    }

    pub async fn post(&self, path: &str, body: impl Into<Bytes>) -> Reply {
        request(self.addr, "POST", path, &[], body.into()).await
    }

    /// POSTs an envelope for `action` with the demo key.
    pub async fn call(&self, action: &str, params: &[(&str, &str)]) -> Reply {
        self.call_as(&self.key, action, params).await
    }

    pub async fn call_as(&self, key: &str, action: &str, params: &[(&str, &str)]) -> Reply {
        call_at(self.addr, key, action, params).await
    }

    /// Stops the server the way SIGTERM does and waits for it.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("server task").expect("server result");
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// One HTTP/1.1 request on a fresh connection.
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Bytes,
) -> Reply {
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(conn);
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header("host", "localhost");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = sender
        .send_request(req.body(Full::new(body)).unwrap())
        .await
        .expect("send");
    reply_of(resp).await
}

/// Reads a whole HTTP response into a [`Reply`].
pub async fn reply_of(resp: hyper::Response<hyper::body::Incoming>) -> Reply {
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.into_body().collect().await.expect("body").to_bytes();
    Reply {
        status,
        headers,
        body: String::from_utf8(body.to_vec()).expect("utf-8 reply"),
    }
}

/// POSTs an envelope for `action` as `key` to the XML API at `addr`, on a
/// fresh connection: for tasks that own only an address, and for servers
/// that are not a [`TestServer`].
pub async fn call_at<V: AsRef<str>>(
    addr: SocketAddr,
    key: &str,
    action: &str,
    params: &[(&str, V)],
) -> Reply {
    let params: Vec<(&str, &str)> = params.iter().map(|(n, v)| (*n, v.as_ref())).collect();
    request(
        addr,
        "POST",
        "/api/v3.asp",
        &[],
        envelope(key, action, &params).into(),
    )
    .await
}

/// The JSON front's path with `key` (URL-encoded) in the query string, or
/// without one.
pub fn json_path(key: Option<&str>) -> String {
    match key {
        Some(k) => {
            let encoded: String = form_urlencoded::byte_serialize(k.as_bytes()).collect();
            format!("{JSON_PATH}?apikey={encoded}")
        }
        None => JSON_PATH.to_owned(),
    }
}

/// A free loopback address for a server run as a child process: bind
/// port 0, note the port, let it go. Another process could take the port
/// in between; the server would then fail to start and the test say so.
pub fn free_addr() -> SocketAddr {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind a free port")
        .port();
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// Escapes text for an XML envelope.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// An envelope for `action` with `key` and `params`, escaped.
pub fn envelope(key: &str, action: &str, params: &[(&str, &str)]) -> String {
    let mut inner = String::from("\n");
    for (n, v) in params {
        inner.push_str(&format!(
            "    <PARAMETER NAME=\"{}\">{}</PARAMETER>\n",
            esc(n),
            esc(v)
        ));
    }
    inner.push_str("  ");
    raw_envelope(key, action, &inner)
}

/// An envelope for `action` whose `ACTION` element holds `inner` verbatim,
/// so a test can put broken markup exactly where it wants it.
pub fn raw_envelope(key: &str, action: &str, inner: &str) -> String {
    format!(
        "<?xml version=\"1.0\" standalone=\"no\" ?>\n<REQUEST>\n  <USERTOKEN><USERKEY>{}</USERKEY></USERTOKEN>\n  <ACTION NAME=\"{}\">{inner}</ACTION>\n</REQUEST>\n",
        esc(key),
        esc(action)
    )
}

impl Reply {
    /// `RESULT` text.
    pub fn result(&self) -> String {
        between(&self.body, "<RESULT>", "</RESULT>").unwrap_or_default()
    }

    /// The `VALUE` named `name`.
    pub fn value(&self, name: &str) -> Option<String> {
        between(&self.body, &format!("<VALUE NAME=\"{name}\">"), "</VALUE>")
    }

    /// The error code, or `None` on success.
    pub fn code(&self) -> Option<String> {
        self.value("ERROR_CODE")
    }

    /// The `ERROR` text.
    pub fn error(&self) -> String {
        between(&self.body, "<ERROR>", "</ERROR>").unwrap_or_default()
    }

    /// Asserts success and returns self.
    #[track_caller]
    pub fn ok(self) -> Self {
        assert_eq!(self.status, 200, "{}", self.body);
        assert_eq!(self.code(), None, "{}", self.body);
        self
    }

    /// Asserts an action or authentication error: the error code `code`
    /// with HTTP 200, which every reply an action or authentication
    /// produces carries (PROTOCOL.md 1). Transport-level errors (400, 404,
    /// 405, 408, 413, 429, 503) are checked with [`Reply::fails_with`].
    #[track_caller]
    pub fn fails(self, code: &str) -> Self {
        self.fails_with(200, code)
    }

    /// Asserts the error code `code` with HTTP `status`.
    #[track_caller]
    pub fn fails_with(self, status: u16, code: &str) -> Self {
        assert_eq!(
            (self.status, self.code().as_deref()),
            (status, Some(code)),
            "HTTP status and error code: {}",
            self.body
        );
        self
    }

    /// Attributes of every element named `tag`, in order.
    pub fn elements(&self, tag: &str) -> Vec<HashMap<String, String>> {
        let mut reader = quick_xml::Reader::from_str(&self.body);
        let mut out = Vec::new();
        loop {
            match reader.read_event().expect("reply is XML") {
                quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e)
                    if e.name().as_ref() == tag =>
                {
                    out.push(
                        e.attributes()
                            .map(|a| {
                                let a = a.unwrap();
                                (
                                    a.key.as_ref().to_string(),
                                    a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                                        .unwrap()
                                        .into_owned(),
                                )
                            })
                            .collect(),
                    );
                }
                quick_xml::events::Event::Eof => break,
                _ => {}
            }
        }
        out
    }

    /// `E164` of every `DID`.
    pub fn e164s(&self) -> Vec<String> {
        self.elements("DID")
            .into_iter()
            .map(|d| d["E164"].clone())
            .collect()
    }
}

fn between(s: &str, start: &str, end: &str) -> Option<String> {
    let i = s.find(start)? + start.len();
    let j = s[i..].find(end)? + i;
    Some(
        s[i..j]
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&amp;", "&"),
    )
}

/// The seed's area.
pub const NY_AREA: &str = "123.123.123.123.123.123.123.123.123";

impl TestServer {
    /// Stops the server like `stop`, but keeps the temporary database so a
    /// test can inspect it afterwards.
    pub async fn halt(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("server task").expect("server result");
        }
    }
}

/// One difference a golden comparison found.
#[derive(Debug)]
pub struct Mismatch {
    /// Where, in the comparison's own path notation.
    pub path: String,
    pub expected: String,
    pub actual: String,
}

/// The failure report of a golden case: every mismatch, then the reply.
pub fn mismatch_report(title: &str, mismatches: &[Mismatch], reply: &Reply) -> String {
    use std::fmt::Write as _;
    let mut report = format!("{title}: {} mismatch(es)\n", mismatches.len());
    for m in mismatches {
        let _ = writeln!(
            report,
            "  at {}\n    - expected: {}\n    + actual:   {}",
            m.path, m.expected, m.actual
        );
    }
    let _ = write!(
        report,
        "  actual reply (HTTP {}):\n{}",
        reply.status, reply.body
    );
    report
}

/// A golden case's expected HTTP status (`status` file, default 200) and
/// its `setup-*.<ext>` requests in name order.
pub fn case_status_and_setups(
    dir: &std::path::Path,
    label: &str,
    ext: &str,
) -> Result<(u16, Vec<PathBuf>), String> {
    let status_file = dir.join("status");
    let status = if status_file.is_file() {
        let text =
            std::fs::read_to_string(&status_file).map_err(|e| format!("{label}/status: {e}"))?;
        text.trim()
            .parse()
            .map_err(|_| format!("{label}/status: not an HTTP status: {text:?}"))?
    } else {
        200
    };
    let suffix = format!(".{ext}");
    let mut setups: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{label}: {e}"))?
        .map(|e| e.expect("directory entry").path())
        .filter(|p| {
            let file = p.file_name().unwrap().to_string_lossy();
            file.starts_with("setup-") && file.ends_with(&suffix)
        })
        .collect();
    setups.sort();
    Ok((status, setups))
}

// ---------------------------------------------------------------- readers

/// The balance in hundredths as `ACCOUNT.GETBALANCE` reports it for `key`.
pub async fn balance_as(s: &TestServer, key: &str) -> i64 {
    let r = s.call_as(key, "ACCOUNT.GETBALANCE", &[]).await.ok();
    r.value("BALANCE100").unwrap().parse().unwrap()
}

/// The `STOCK` that `ANVEO.AREAS.LIST` shows for `area` of `country`, as a
/// client sees it.
pub async fn listed_stock(s: &TestServer, country: &str, area: &str) -> i64 {
    let r = s
        .call("ANVEO.AREAS.LIST", &[("COUNTRY_ID", country)])
        .await
        .ok();
    let found = r
        .elements("AREA")
        .into_iter()
        .find(|a| a["AREA_ID"] == area);
    found.unwrap_or_else(|| panic!("area {area} not listed: {}", r.body))["STOCK"]
        .parse()
        .expect("STOCK is a number")
}

/// The numbers an account owns, read straight from the database.
pub fn owned(s: &TestServer, account: &str) -> Vec<String> {
    let db = s.db();
    let dids = db
        .reader()
        .dids_of(&AccountNumber::parse(account).unwrap())
        .unwrap();
    dids.into_iter().map(|d| d.e164).collect()
}

/// What the database says about an account, read on a separate connection
/// as an operator would: balance, ledger sum and the numbers it owns,
/// sorted.
#[derive(Debug, PartialEq, Eq)]
pub struct Books {
    pub balance: i64,
    pub ledger: i64,
    pub owned: Vec<String>,
}

pub async fn books(s: &TestServer, account: &str) -> Books {
    let account = AccountNumber::parse(account).expect("account number");
    s.admin(move |db| {
        let r = db.reader();
        let mut owned: Vec<String> = r
            .dids_of(&account)
            .expect("dids")
            .into_iter()
            .map(|d| d.e164)
            .collect();
        owned.sort();
        Books {
            balance: r.balance_of(&account).expect("balance").0,
            ledger: r.ledger_sum(&account).expect("ledger").0,
            owned,
        }
    })
    .await
}

/// The books of the top-level `account`, after checking the invariant that
/// its balance is the sum of its ledger.
pub async fn balanced_books(s: &TestServer, account: &str) -> Books {
    let b = books(s, account).await;
    assert_eq!(
        b.ledger, b.balance,
        "ledger sum of {account} differs from its balance"
    );
    b
}

// ------------------------------------------------------------- operators

/// A sub-account of `parent` made by the operator, without default
/// forwarding, with its own key.
pub async fn sub_account(s: &TestServer, parent: &str) -> CreatedKey {
    let parent = AccountNumber::parse(parent).unwrap();
    s.admin(move |db| admin::create_account(db, "Sub", Some(parent), Money100(0), None).unwrap())
        .await
}

/// Credits `amount` hundredths to a top-level account as an operator would.
pub async fn credit(s: &TestServer, account: &str, amount: i64) {
    let account = AccountNumber::parse(account).unwrap();
    s.admin(move |db| admin::credit(db, &account, Money100(amount)).unwrap())
        .await;
}

/// Adds the numbers of a numbers CSV to the demo inventory, the way
/// `inventory import` does.
pub async fn import_numbers(s: &TestServer, csv: impl Into<String>) {
    let csv: String = csv.into();
    s.admin(move |db| {
        inventory::import(
            db,
            Source {
                name: "catalog.csv".into(),
                reader: admin::DEMO_CATALOG.as_bytes(),
            },
            Some(Source {
                name: "numbers.csv".into(),
                reader: csv.as_bytes(),
            }),
        )
        .expect("import numbers")
    })
    .await;
}

// ---------------------------------------------------------- authentication

/// Asserts the one `AUTH_FAILED` answer: HTTP 200, the shared message.
#[track_caller]
pub fn assert_auth_failed(r: Reply) {
    let r = r.fails("AUTH_FAILED");
    assert_eq!(r.error(), AUTH_MESSAGE);
}

/// Polls `key` with `ACCOUNT.GETBALANCE` until it fails or `within` has
/// passed, and returns the last reply.
pub async fn poll_until_refused(s: &TestServer, key: &str, within: Duration) -> Reply {
    let deadline = Instant::now() + within;
    loop {
        let r = s.call_as(key, "ACCOUNT.GETBALANCE", &[]).await;
        if r.code().is_some() || Instant::now() > deadline {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// ---------------------------------------------------------------- storage

/// Another connection holding the database's write lock (`BEGIN
/// EXCLUSIVE`), as a stuck backup or a hand-run sqlite3 shell does, until
/// [`WriteLock::release`] (or drop).
pub struct WriteLock {
    release: Option<std::sync::mpsc::Sender<()>>,
    holder: Option<std::thread::JoinHandle<()>>,
}

impl WriteLock {
    /// Takes the lock on a thread of its own and returns once it is held.
    pub fn take(db_path: &Path) -> WriteLock {
        let path = db_path.to_owned();
        let (locked_tx, locked_rx) = std::sync::mpsc::channel();
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let holder = std::thread::spawn(move || {
            let conn = rusqlite::Connection::open(path).unwrap();
            conn.execute_batch("BEGIN EXCLUSIVE").unwrap();
            locked_tx.send(()).unwrap();
            let _ = release_rx.recv();
            conn.execute_batch("ROLLBACK").unwrap();
        });
        locked_rx.recv().expect("the lock holder took the lock");
        WriteLock {
            release: Some(release_tx),
            holder: Some(holder),
        }
    }

    /// Rolls the holder's transaction back and waits until it has.
    pub fn release(mut self) {
        let _ = self.release.take().unwrap().send(());
        self.holder
            .take()
            .unwrap()
            .join()
            .expect("the lock holder released the lock");
    }
}

impl Drop for WriteLock {
    fn drop(&mut self) {
        if let Some(release) = self.release.take() {
            let _ = release.send(());
        }
        if let Some(holder) = self.holder.take() {
            let _ = holder.join();
        }
    }
}

// ---------------------------------------------------------------- fixtures

/// The text of a fixture file; panics naming the file if it cannot be read.
pub fn read_fixture(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}
