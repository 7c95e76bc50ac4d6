//! Shared integration-test harness: a real didgate server on port 0 with a
//! temporary database holding the demo inventory and demo account, and a
//! small HTTP client to talk to it.

#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::sync::oneshot;

use didgate::Config;
use didgate::admin::{self, CreatedKey};
use didgate::store::Db;

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
        self.post("/api/v3.asp", envelope(key, action, params))
            .await
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
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.into_body().collect().await.expect("body").to_bytes();
    Reply {
        status,
        headers,
        body: String::from_utf8(body.to_vec()).expect("utf-8 reply"),
    }
}

/// Escapes text for an XML envelope.
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

pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

pub fn envelope(key: &str, action: &str, params: &[(&str, &str)]) -> String {
    let mut s = format!(
        "<?xml version=\"1.0\" standalone=\"no\" ?>\n<REQUEST>\n  <USERTOKEN><USERKEY>{}</USERKEY></USERTOKEN>\n  <ACTION NAME=\"{}\">\n",
        esc(key),
        esc(action)
    );
    for (n, v) in params {
        s.push_str(&format!(
            "    <PARAMETER NAME=\"{}\">{}</PARAMETER>\n",
            esc(n),
            esc(v)
        ));
    }
    s.push_str("  </ACTION>\n</REQUEST>\n");
    s
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

    /// Asserts the error code (and HTTP 200).
    #[track_caller]
    pub fn fails(self, code: &str) -> Self {
        assert_eq!(self.code().as_deref(), Some(code), "{}", self.body);
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
