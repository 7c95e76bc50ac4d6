//! Crash safety of the real binary: `didgate serve` is killed with SIGKILL
//! while clients order, cancel, restore and move numbers, then restarted on
//! the same database, several times. Clients that got no reply retry the
//! same request with the same `REQUEST_ID` (PROTOCOL.md section 4,
//! "Idempotency"). After every cycle the database, read while no server
//! runs, must hold exactly what was acknowledged: no acknowledged change
//! lost, nothing unacknowledged kept, no number sold twice, stock counters
//! true, every balance equal to its ledger and to its credit minus the
//! acknowledged charges (ARCHITECTURE.md, "Storage": group commit, and
//! idempotency stored with the change).
//!
//! Set `CRASH_SEED` to replay a run's random choices (kill delays and
//! operations); the seed is printed at the start. The interleaving with
//! the kill is still up to the scheduler.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{Reply, envelope};
use didgate::admin;
use didgate::domain::{AccountNumber, DidStatus, Money100};
use didgate::inventory::{self, Source};
use didgate::store::Db;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::net::TcpStream;
use tokio::sync::watch;

/// Kill-and-restart cycles; each takes about a second.
const CYCLES: usize = 8;
/// Concurrent clients per account tree; each works only on numbers it
/// ordered itself, so its own record of acknowledged operations is the
/// exact expected state of those numbers.
const CLIENTS_PER_TREE: usize = 2;
/// Extra numbers imported into every demo area so that orders keep
/// succeeding in every cycle instead of running the demo stock dry in the
/// first one.
const EXTRA_PER_AREA: u64 = 150;
/// How long one request may take, retries included, before the test
/// declares the server stuck. Generous: it only bounds a hang.
const REQUEST_DEADLINE: Duration = Duration::from_secs(30);

/// One account tree: a top-level account with its key, opening credit and
/// sub-accounts.
struct Tree {
    root: String,
    key: String,
    credit: i64,
    subs: Vec<String>,
}

impl Tree {
    /// The tree's accounts, top-level first.
    fn accounts(&self) -> Vec<String> {
        std::iter::once(self.root.clone())
            .chain(self.subs.iter().cloned())
            .collect()
    }
}

/// An area a client may order from: its type and the price of one number
/// on the default plan `SU` (setup plus first month).
#[derive(Clone)]
struct Area {
    id: String,
    did_type: String,
    price: i64,
}

/// The demo catalog's areas with their `SU` prices.
fn demo_areas() -> Vec<Area> {
    let mut areas = Vec::new();
    for line in admin::DEMO_CATALOG.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        if f.len() == 13 && f[9] == "SU" {
            areas.push(Area {
                id: f[5].to_owned(),
                did_type: f[8].to_owned(),
                price: f[11].parse::<i64>().unwrap() + f[12].parse::<i64>().unwrap(),
            });
        }
    }
    assert!(areas.len() >= 5, "demo catalog has too few areas");
    areas
}

/// `EXTRA_PER_AREA` more numbers for every demo area, above its highest
/// demo number, as a numbers CSV.
fn extra_numbers() -> String {
    let mut highest: BTreeMap<&str, u64> = BTreeMap::new();
    let mut all = BTreeSet::new();
    for line in admin::DEMO_NUMBERS.lines().skip(1) {
        let (e164, area) = line.split_once(',').unwrap();
        let n: u64 = e164.parse().unwrap();
        all.insert(n);
        let h = highest.entry(area).or_default();
        *h = (*h).max(n);
    }
    let mut csv = String::from("e164,area_id\n");
    for (area, top) in highest {
        for k in 1..=EXTRA_PER_AREA {
            let n = top + k;
            assert!(all.insert(n), "extra number {n} collides");
            csv.push_str(&format!("{n},{area}\n"));
        }
    }
    csv
}

/// Prepares the database: demo inventory plus extra numbers, the demo
/// account and three more trees, one of them nearly broke so that orders
/// are also refused for funds.
fn prepare(db_path: &Path) -> Vec<Tree> {
    let mut db = Db::open(db_path).expect("open db");
    let demo = admin::demo_setup(&mut db).expect("demo setup");
    let extra = extra_numbers();
    inventory::import(
        &mut db,
        Source {
            name: "catalog.csv".into(),
            reader: admin::DEMO_CATALOG.as_bytes(),
        },
        Some(Source {
            name: "extra.csv".into(),
            reader: extra.as_bytes(),
        }),
    )
    .expect("import extra numbers");
    let mut trees = vec![Tree {
        root: demo.account_number,
        key: demo.api_key,
        credit: admin::DEMO_CREDIT.0,
        subs: Vec::new(),
    }];
    for (name, credit) in [("Rich", 1_000_000), ("Middle", 300_000), ("Poor", 2_000)] {
        let top = admin::create_account(&mut db, name, None, Money100(credit), None)
            .expect("create account");
        trees.push(Tree {
            root: top.account_number,
            key: top.api_key,
            credit,
            subs: Vec::new(),
        });
    }
    // Sub-accounts: one under the demo account, two under each other tree,
    // the second nested below the first so moves cross more than one level.
    for (i, tree) in trees.iter_mut().enumerate() {
        let count = if i == 0 { 1 } else { 2 };
        for s in 0..count {
            let parent = if s == 0 {
                &tree.root
            } else {
                &tree.subs[s - 1]
            };
            let parent = AccountNumber::parse(parent).unwrap();
            let sub = admin::create_account(&mut db, "Sub", Some(parent), Money100(0), None)
                .expect("create sub-account");
            tree.subs.push(sub.account_number);
        }
    }
    trees
}

/// The server as a child process; dropping it kills it, so a failing
/// assertion never leaves a server behind.
struct Server {
    child: Option<Child>,
    addr: SocketAddr,
}

impl Server {
    /// Starts `didgate serve` on `port` (or a fresh free port) and waits
    /// until `/healthz` answers. If the port cannot be used (taken by
    /// someone else in the meantime), tries fresh ones.
    async fn start(db: &Path, port: Option<u16>) -> Server {
        for attempt in 0..5 {
            let port = match (attempt, port) {
                (0, Some(p)) => p,
                _ => common::free_addr().port(),
            };
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            let child = common::serve_command(db, addr)
                // The default aging, stated so that no environment setting
                // can return canceled numbers to stock during the test.
                .args(["--aging-days", "30"])
                .env("DIDGATE_LOG", "warn")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::inherit())
                .spawn()
                .expect("start didgate");
            let mut server = Server {
                child: Some(child),
                addr,
            };
            if server.ready().await {
                return server;
            }
        }
        panic!("didgate did not become ready on five ports");
    }

    /// Polls `/healthz` until it answers 200; false if the process exits
    /// or 20 s pass.
    async fn ready(&mut self) -> bool {
        let child = self.child.as_mut().expect("running");
        match common::healthz_within(self.addr, child, Duration::from_secs(20)).await {
            Ok(()) => true,
            Err(e) => {
                eprintln!("{e}");
                false
            }
        }
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// SIGKILL (what `Child::kill` sends on unix): no shutdown code runs,
    /// like a power cut for the process. Waits until it is gone.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Why a request got no reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NoReply {
    /// The connection could not be made: no server listening.
    Connect,
    /// The request was sent (or being sent) and the connection died.
    Exchange,
}

/// One request on a fresh connection; any transport failure is an error,
/// not a panic, since the server may die at any moment.
async fn try_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Bytes,
) -> Result<Reply, NoReply> {
    let stream = TcpStream::connect(addr)
        .await
        .map_err(|_| NoReply::Connect)?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|_| NoReply::Connect)?;
    tokio::spawn(conn);
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header("host", "localhost")
        .header("content-type", "application/xml")
        .body(Full::new(body))
        .unwrap();
    let exchange = async {
        let resp = sender
            .send_request(req)
            .await
            .map_err(|_| NoReply::Exchange)?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp
            .into_body()
            .collect()
            .await
            .map_err(|_| NoReply::Exchange)?
            .to_bytes();
        Ok(Reply {
            status,
            headers,
            body: String::from_utf8(body.to_vec()).expect("utf-8 reply"),
        })
    };
    // A live server answers in milliseconds; the timeout only keeps a hung
    // exchange from hanging the test, and counts as no reply.
    tokio::time::timeout(Duration::from_secs(10), exchange)
        .await
        .unwrap_or(Err(NoReply::Exchange))
}

/// Counts a client keeps, summed per cycle for the log.
#[derive(Debug, Default, Clone, Copy)]
struct Stats {
    /// Distinct requests (each with its own `REQUEST_ID`).
    requests: u64,
    /// Requests answered with success.
    acknowledged: u64,
    /// Orders among them.
    orders: u64,
    /// Requests answered with an error (out of stock, funds).
    refused: u64,
    /// Requests that lost their connection mid-exchange (the kill).
    interrupted: u64,
    /// Extra attempts made because an attempt got no reply.
    retries: u64,
    /// Requests acknowledged only after at least one retry.
    acknowledged_after_retry: u64,
    /// Requests whose change was committed before the kill although their
    /// reply was lost; their retry must replay the stored reply.
    committed_unanswered: u64,
}

impl Stats {
    fn add(&mut self, o: Stats) {
        self.requests += o.requests;
        self.acknowledged += o.acknowledged;
        self.orders += o.orders;
        self.refused += o.refused;
        self.interrupted += o.interrupted;
        self.retries += o.retries;
        self.acknowledged_after_retry += o.acknowledged_after_retry;
        self.committed_unanswered += o.committed_unanswered;
    }
}

/// A number as a client's acknowledged operations left it.
#[derive(Debug, Clone)]
struct Owned {
    area: String,
    owner: String,
    active: bool,
}

/// What a client will ask for next.
enum Op {
    Order {
        area: Area,
        quantity: u32,
        owner: String,
    },
    Cancel {
        e164: String,
        owner: String,
    },
    Restore {
        e164: String,
        owner: String,
    },
    Move {
        e164: String,
        owner: String,
        to: String,
    },
}

/// What the harness learns about requests in flight at a kill, shared
/// with the clients.
#[derive(Default)]
struct Flight {
    /// Each client's request awaiting its reply: (key's account number,
    /// `REQUEST_ID`).
    pending: BTreeMap<usize, (String, String)>,
    /// Replies the database stored, at the kill, for requests still
    /// awaiting theirs: by `REQUEST_ID`.
    committed: HashMap<String, String>,
}

/// A client: one key (its tree's top-level key), its own numbers and the
/// successful requests of the current cycle with their replies, which are
/// replayed at the end of the cycle.
struct Client {
    id: usize,
    flight: Arc<Mutex<Flight>>,
    tree: usize,
    key: String,
    accounts: Vec<String>,
    areas: Vec<Area>,
    rng: StdRng,
    seq: u64,
    numbers: BTreeMap<String, Owned>,
    charged: i64,
    acknowledged: Vec<(String, String)>,
    stats: Stats,
}

impl Client {
    fn choose(&mut self) -> Op {
        let active: Vec<&String> = self
            .numbers
            .iter()
            .filter(|(_, n)| n.active)
            .map(|(e, _)| e)
            .collect();
        let canceled: Vec<&String> = self
            .numbers
            .iter()
            .filter(|(_, n)| !n.active)
            .map(|(e, _)| e)
            .collect();
        let roll = self.rng.random_range(0..100);
        if (40..60).contains(&roll) && !active.is_empty() {
            let e164 = active[self.rng.random_range(0..active.len())].clone();
            let owner = self.numbers[&e164].owner.clone();
            return Op::Cancel { e164, owner };
        }
        if (60..75).contains(&roll) && !canceled.is_empty() {
            let e164 = canceled[self.rng.random_range(0..canceled.len())].clone();
            let owner = self.numbers[&e164].owner.clone();
            return Op::Restore { e164, owner };
        }
        if roll >= 75 && !active.is_empty() {
            let e164 = active[self.rng.random_range(0..active.len())].clone();
            let owner = self.numbers[&e164].owner.clone();
            let others: Vec<&String> = self.accounts.iter().filter(|a| **a != owner).collect();
            let to = others[self.rng.random_range(0..others.len())].clone();
            return Op::Move { e164, owner, to };
        }
        Op::Order {
            area: self.areas[self.rng.random_range(0..self.areas.len())].clone(),
            quantity: self.rng.random_range(1..=2),
            owner: self.accounts[self.rng.random_range(0..self.accounts.len())].clone(),
        }
    }

    fn envelope(&mut self, op: &Op) -> (String, String) {
        self.seq += 1;
        let request_id = format!("crash-c{}-{}", self.id, self.seq);
        let (action, mut params): (&str, Vec<(&str, String)>) = match op {
            Op::Order {
                area,
                quantity,
                owner,
            } => (
                "DID.ORDER",
                vec![
                    ("DID_TYPE", area.did_type.clone()),
                    ("AREA_ID", area.id.clone()),
                    ("QUANTITY", quantity.to_string()),
                    ("ACCOUNT_NUMBER", owner.clone()),
                ],
            ),
            Op::Cancel { e164, owner } => (
                "DID.CANCEL",
                vec![("E164", e164.clone()), ("ACCOUNT_NUMBER", owner.clone())],
            ),
            Op::Restore { e164, owner } => (
                "DID.RESTORE",
                vec![("E164", e164.clone()), ("ACCOUNT_NUMBER", owner.clone())],
            ),
            Op::Move { e164, owner, to } => (
                "DID.MOVE",
                vec![
                    ("E164", e164.clone()),
                    ("ACCOUNT_NUMBER", owner.clone()),
                    ("TO_ACCOUNT_NUMBER", to.clone()),
                ],
            ),
        };
        params.push(("REQUEST_ID", request_id.clone()));
        let params: Vec<(&str, &str)> = params.iter().map(|(n, v)| (*n, v.as_str())).collect();
        (envelope(&self.key, action, &params), request_id)
    }

    /// Sends `body` until some server answers it: after a lost connection
    /// the very same bytes (same `REQUEST_ID`) go again, once a server is
    /// up. A 503 (storage unavailable, retry later) is retried too.
    async fn send(&mut self, body: &str, addr: &mut watch::Receiver<Option<SocketAddr>>) -> Reply {
        let started = Instant::now();
        let mut attempts = 0u64;
        loop {
            assert!(
                started.elapsed() < REQUEST_DEADLINE,
                "client {}: no reply within {REQUEST_DEADLINE:?}",
                self.id
            );
            let target = {
                let up = tokio::time::timeout(REQUEST_DEADLINE, addr.wait_for(|a| a.is_some()))
                    .await
                    .expect("a server comes back")
                    .expect("harness alive");
                (*up).expect("checked is_some")
            };
            if attempts > 0 {
                self.stats.retries += 1;
            }
            attempts += 1;
            match try_request(target, "POST", "/api/v3.asp", Bytes::from(body.to_owned())).await {
                Ok(r) if r.status != 503 => {
                    if attempts > 1 && r.code().is_none() {
                        self.stats.acknowledged_after_retry += 1;
                    }
                    return r;
                }
                Ok(_) => {}
                Err(NoReply::Exchange) => self.stats.interrupted += 1,
                Err(NoReply::Connect) => {}
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Checks a reply against the operation and records what it
    /// acknowledged. Cancels, restores and moves of the client's own
    /// numbers in the right state must succeed; an order may only be
    /// refused for stock or funds.
    fn apply(&mut self, op: Op, request_id: &str, body: String, r: Reply) {
        let who = format!("client {} ({})", self.id, request_id);
        assert_eq!(r.status, 200, "{who}: {}", r.body);
        let stored = {
            let mut flight = self.flight.lock().unwrap();
            flight.pending.remove(&self.id);
            flight.committed.remove(request_id)
        };
        if let Some(stored) = stored {
            // The kill came after the commit and before the reply: the
            // change is there, so the retry must get its stored reply.
            assert_eq!(
                r.body, stored,
                "{who}: a request committed before the kill must be answered, on retry, \
                 with the reply stored with it"
            );
            self.stats.committed_unanswered += 1;
        }
        if let Some(code) = r.code() {
            assert!(
                matches!(op, Op::Order { .. })
                    && (code == "OUT_OF_STOCK" || code == "INSUFFICIENT_FUNDS"),
                "{who}: unexpected refusal: {}",
                r.body
            );
            self.stats.refused += 1;
            return;
        }
        assert_eq!(
            r.value("REQUEST_ID").as_deref(),
            Some(request_id),
            "{who}: {}",
            r.body
        );
        let dids = r.elements("DID");
        match op {
            Op::Order {
                area,
                quantity,
                owner,
            } => {
                assert_eq!(dids.len(), quantity as usize, "{who}: {}", r.body);
                let charged: i64 = r
                    .value("CHARGED100")
                    .and_then(|c| c.parse().ok())
                    .unwrap_or_else(|| panic!("{who}: no CHARGED100: {}", r.body));
                assert_eq!(
                    charged,
                    area.price * i64::from(quantity),
                    "{who}: {}",
                    r.body
                );
                for d in &dids {
                    assert_eq!(d["ACCOUNT_NUMBER"], owner, "{who}: {}", r.body);
                    assert_eq!(d["STATUS"], "Active", "{who}: {}", r.body);
                    let fresh = self.numbers.insert(
                        d["E164"].clone(),
                        Owned {
                            area: area.id.clone(),
                            owner: owner.clone(),
                            active: true,
                        },
                    );
                    assert!(
                        fresh.is_none(),
                        "{who}: {} sold again while owned",
                        d["E164"]
                    );
                }
                self.charged += charged;
                self.stats.orders += 1;
            }
            Op::Cancel { e164, owner } => {
                assert_eq!(dids.len(), 1, "{who}: {}", r.body);
                assert_eq!(dids[0]["E164"], e164, "{who}: {}", r.body);
                assert_eq!(dids[0]["STATUS"], "Canceled", "{who}: {}", r.body);
                assert_eq!(dids[0]["ACCOUNT_NUMBER"], owner, "{who}: {}", r.body);
                self.numbers.get_mut(&e164).unwrap().active = false;
            }
            Op::Restore { e164, owner } => {
                assert_eq!(dids.len(), 1, "{who}: {}", r.body);
                assert_eq!(dids[0]["E164"], e164, "{who}: {}", r.body);
                assert_eq!(dids[0]["STATUS"], "Active", "{who}: {}", r.body);
                assert_eq!(dids[0]["ACCOUNT_NUMBER"], owner, "{who}: {}", r.body);
                self.numbers.get_mut(&e164).unwrap().active = true;
            }
            Op::Move { e164, to, .. } => {
                assert_eq!(dids.len(), 1, "{who}: {}", r.body);
                assert_eq!(dids[0]["E164"], e164, "{who}: {}", r.body);
                assert_eq!(dids[0]["STATUS"], "Active", "{who}: {}", r.body);
                assert_eq!(dids[0]["ACCOUNT_NUMBER"], to, "{who}: {}", r.body);
                self.numbers.get_mut(&e164).unwrap().owner = to;
            }
        }
        self.stats.acknowledged += 1;
        self.acknowledged.push((body, r.body));
    }

    /// Works until `stop`, finishing the request in flight (through any
    /// number of kills) before it returns.
    async fn run(
        mut self,
        mut addr: watch::Receiver<Option<SocketAddr>>,
        stop: Arc<AtomicBool>,
    ) -> Client {
        while !stop.load(Ordering::SeqCst) {
            let op = self.choose();
            let (body, request_id) = self.envelope(&op);
            self.stats.requests += 1;
            let account = self.accounts[0].clone();
            self.flight
                .lock()
                .unwrap()
                .pending
                .insert(self.id, (account, request_id.clone()));
            let reply = self.send(&body, &mut addr).await;
            self.apply(op, &request_id, body, reply);
        }
        self
    }
}

/// Every acknowledged request of the cycle, sent again: the reply must be
/// the stored one, byte for byte, and (checked afterwards through the
/// balances) nothing may execute twice. Requests acknowledged before the
/// kill thereby prove their idempotency record survived it.
async fn replay(addr: SocketAddr, clients: &mut [Client]) -> u64 {
    let mut tasks = Vec::new();
    for c in clients.iter_mut() {
        let id = c.id;
        let done = std::mem::take(&mut c.acknowledged);
        tasks.push(tokio::spawn(async move {
            for (body, first) in &done {
                let r = try_request(addr, "POST", "/api/v3.asp", Bytes::from(body.clone()))
                    .await
                    .unwrap_or_else(|e| panic!("client {id}: replay got no reply: {e:?}"));
                assert_eq!(r.status, 200, "client {id}: replay: {}", r.body);
                assert_eq!(
                    &r.body, first,
                    "client {id}: a retried request must get the first reply byte for byte"
                );
            }
            done.len() as u64
        }));
    }
    let mut n = 0;
    for t in tasks {
        n += t
            .await
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
    }
    n
}

/// One authenticated read per key, so that the kill that follows finds the
/// clients' requests in the writer rather than all still waiting for their
/// first Argon2 verification.
async fn warm_up(addr: SocketAddr, trees: &[Tree]) {
    for tree in trees {
        let body = envelope(&tree.key, "ACCOUNT.GETBALANCE", &[]);
        let r = try_request(addr, "POST", "/api/v3.asp", Bytes::from(body))
            .await
            .expect("balance");
        assert_eq!(r.code(), None, "{}", r.body);
    }
}

/// While no server runs after a kill: which of the requests still awaiting
/// their reply had been committed, with the reply stored with them: the
/// typed outcome idempotency keeps, rendered as the XML front renders a
/// replay (with its `REQUEST_ID`). Reads the idempotency table directly (no
/// query of the store exposes it); this only sharpens the check of those
/// requests' retries.
fn find_committed(db_path: &Path, flight: &Mutex<Flight>) {
    use didgate_anveo::xml::{render, reply_of};
    let conn = rusqlite::Connection::open(db_path).expect("open db after the kill");
    let mut stmt = conn
        .prepare(
            "SELECT i.outcome FROM idempotency i JOIN accounts a ON a.id = i.account_id
              WHERE a.number = ?1 AND i.request_id = ?2",
        )
        .expect("idempotency query");
    let mut flight = flight.lock().unwrap();
    let pending: Vec<(String, String)> = flight.pending.values().cloned().collect();
    for (account, request_id) in pending {
        let stored: Option<Vec<u8>> = stmt.query_row([&account, &request_id], |r| r.get(0)).ok();
        if let Some(bytes) = stored {
            let outcome: didgate_core::outcome::Outcome =
                serde_json::from_slice(&bytes).expect("stored outcome decodes");
            let reply = reply_of(&outcome).value("REQUEST_ID", request_id.clone());
            let text = String::from_utf8(render(&reply)).expect("rendered reply is UTF-8");
            flight.committed.insert(request_id, text);
        }
    }
}

/// `STOCK` of every area, as `ANVEO.AREAS.LIST` reports it.
async fn listed_stock(addr: SocketAddr, key: &str) -> BTreeMap<String, i64> {
    let mut stock = BTreeMap::new();
    for country in ["US", "GB", "FR"] {
        let body = envelope(key, "ANVEO.AREAS.LIST", &[("COUNTRY_ID", country)]);
        let r = try_request(addr, "POST", "/api/v3.asp", Bytes::from(body))
            .await
            .expect("areas list");
        assert_eq!(r.code(), None, "{}", r.body);
        for a in r.elements("AREA") {
            stock.insert(a["AREA_ID"].clone(), a["STOCK"].parse().unwrap());
        }
    }
    stock
}

/// The contract's name of a status, as the replies write it.
fn status_name(s: DidStatus) -> &'static str {
    match s {
        DidStatus::Active => "Active",
        DidStatus::Canceled => "Canceled",
        DidStatus::Available => "Available",
    }
}

/// The checks made while no server runs, on a fresh connection to the
/// database as recovery left it.
fn check(
    db_path: &Path,
    trees: &[Tree],
    clients: &[Client],
    initial: &BTreeMap<String, i64>,
    listed: &BTreeMap<String, i64>,
) {
    let db = Db::open(db_path).expect("open db after the kill");
    assert_eq!(db.integrity_check().expect("integrity_check"), "ok");
    let r = db.reader();

    // The expected owner and status of every number any client bought.
    let mut expected: BTreeMap<String, BTreeSet<(String, &str)>> = trees
        .iter()
        .flat_map(Tree::accounts)
        .map(|a| (a, BTreeSet::new()))
        .collect();
    let mut owned_in_area: BTreeMap<String, i64> = BTreeMap::new();
    let mut bought_by: HashMap<&str, usize> = HashMap::new();
    for c in clients {
        for (e164, n) in &c.numbers {
            if let Some(other) = bought_by.insert(e164.as_str(), c.id) {
                panic!(
                    "{e164} was acknowledged to clients {other} and {} while owned",
                    c.id
                );
            }
            let status = if n.active { "Active" } else { "Canceled" };
            expected
                .get_mut(&n.owner)
                .expect("owner is a known account")
                .insert((e164.clone(), status));
            *owned_in_area.entry(n.area.clone()).or_default() += 1;
        }
    }

    let mut owner_of: HashMap<String, String> = HashMap::new();
    for (account, want) in &expected {
        let number = AccountNumber::parse(account).unwrap();
        let mut got = BTreeSet::new();
        for d in r.dids_of(&number).expect("dids_of") {
            assert_ne!(d.status, DidStatus::Available, "{} has an owner", d.e164);
            if let Some(other) = owner_of.insert(d.e164.clone(), account.clone()) {
                panic!("{} is owned by {other} and {account}", d.e164);
            }
            got.insert((d.e164, status_name(d.status)));
        }
        let lost: Vec<_> = want.difference(&got).collect();
        let unacknowledged: Vec<_> = got.difference(want).collect();
        assert!(
            lost.is_empty() && unacknowledged.is_empty(),
            "account {account}: acknowledged but missing {lost:?}; present but never acknowledged {unacknowledged:?}"
        );
    }

    // Canceled numbers age for 30 days, so every number ever bought is
    // out of stock: the stock is the initial count minus what is owned,
    // counted from the numbers, kept by the triggers and reported by the
    // server before the kill alike.
    let mut sold = 0;
    for (area, start) in initial {
        let (counted, counter) = r.counted_stock(area).expect("counted_stock");
        let owned = owned_in_area.get(area).copied().unwrap_or(0);
        assert_eq!(counted, counter, "area {area}: stock counter drifted");
        assert_eq!(
            counted,
            start - owned,
            "area {area}: stock vs owned numbers"
        );
        assert_eq!(
            listed.get(area),
            Some(&counted),
            "area {area}: STOCK before the kill"
        );
        sold += start - counted;
    }
    assert_eq!(
        sold as usize,
        owner_of.len(),
        "numbers out of stock vs numbers with an owner"
    );

    for (t, tree) in trees.iter().enumerate() {
        let charged: i64 = clients
            .iter()
            .filter(|c| c.tree == t)
            .map(|c| c.charged)
            .sum();
        let root = AccountNumber::parse(&tree.root).unwrap();
        let balance = r.balance_of(&root).expect("balance").0;
        let ledger = r.ledger_sum(&root).expect("ledger").0;
        assert_eq!(balance, ledger, "tree {t}: balance vs ledger");
        assert!(balance >= 0, "tree {t}: negative balance {balance}");
        assert_eq!(
            balance,
            tree.credit - charged,
            "tree {t}: balance vs credit minus acknowledged charges"
        );
        for sub in &tree.subs {
            let sub = AccountNumber::parse(sub).unwrap();
            assert_eq!(
                r.ledger_sum(&sub).expect("ledger").0,
                0,
                "sub-account {sub}"
            );
            assert_eq!(r.balance_of(&sub).expect("balance").0, balance);
        }
    }
}

/// Writes past the test harness's output capture, so that CI logs show the
/// work done even when the test passes.
fn log(line: String) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

#[test]
fn acknowledged_changes_survive_sigkill_and_retries_execute_once() {
    let seed: u64 = std::env::var("CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    log(format!("crash test: CRASH_SEED={seed}"));
    let dir = tempfile::tempdir().expect("temp dir");
    let db_path: PathBuf = dir.path().join("crash.db");
    let trees = prepare(&db_path);
    let areas = demo_areas();
    let initial: BTreeMap<String, i64> = {
        let db = Db::open(&db_path).unwrap();
        areas
            .iter()
            .map(|a| (a.id.clone(), db.reader().counted_stock(&a.id).unwrap().0))
            .collect()
    };

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let started = Instant::now();
        let mut rng = StdRng::seed_from_u64(seed);
        let flight = Arc::new(Mutex::new(Flight::default()));
        let mut clients: Vec<Client> = Vec::new();
        for (t, tree) in trees.iter().enumerate() {
            for _ in 0..CLIENTS_PER_TREE {
                let id = clients.len();
                clients.push(Client {
                    id,
                    flight: flight.clone(),
                    tree: t,
                    key: tree.key.clone(),
                    accounts: tree.accounts(),
                    areas: areas.clone(),
                    rng: StdRng::seed_from_u64(seed ^ (id as u64 + 1).wrapping_mul(0x9E37_79B9)),
                    seq: 0,
                    numbers: BTreeMap::new(),
                    charged: 0,
                    acknowledged: Vec::new(),
                    stats: Stats::default(),
                });
            }
        }
        let (addr_tx, addr_rx) = watch::channel(None);
        let mut total = Stats::default();
        let mut kills_in_flight = 0;

        for cycle in 1..=CYCLES {
            let mut server = Server::start(&db_path, None).await;
            warm_up(server.addr, &trees).await;
            addr_tx.send_replace(Some(server.addr));
            let stop = Arc::new(AtomicBool::new(false));
            let before: Vec<Stats> = clients.iter().map(|c| c.stats).collect();
            let tasks: Vec<_> = clients
                .drain(..)
                .map(|c| tokio::spawn(c.run(addr_rx.clone(), stop.clone())))
                .collect();

            // The crash: SIGKILL at a random moment of full load.
            let delay = rng.random_range(50..=400);
            tokio::time::sleep(Duration::from_millis(delay)).await;
            let pid = server.pid();
            server.kill();
            addr_tx.send_replace(None);
            find_committed(&db_path, &flight);

            // Recovery on the same database (the same port if still free);
            // clients retry what got no reply, then carry on for a while.
            let port = server.addr.port();
            drop(server);
            let mut server = Server::start(&db_path, Some(port)).await;
            addr_tx.send_replace(Some(server.addr));
            tokio::time::sleep(Duration::from_millis(rng.random_range(200..=500))).await;
            stop.store(true, Ordering::SeqCst);
            for t in tasks {
                let c = tokio::time::timeout(Duration::from_secs(90), t)
                    .await
                    .expect("clients finish their last request")
                    .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
                clients.push(c);
            }

            let mut cycle_stats = Stats::default();
            for (c, b) in clients.iter().zip(&before) {
                let s = c.stats;
                cycle_stats.add(Stats {
                    requests: s.requests - b.requests,
                    acknowledged: s.acknowledged - b.acknowledged,
                    orders: s.orders - b.orders,
                    refused: s.refused - b.refused,
                    interrupted: s.interrupted - b.interrupted,
                    retries: s.retries - b.retries,
                    acknowledged_after_retry: s.acknowledged_after_retry
                        - b.acknowledged_after_retry,
                    committed_unanswered: s.committed_unanswered - b.committed_unanswered,
                });
            }
            if cycle_stats.interrupted > 0 {
                kills_in_flight += 1;
            }

            let replayed = replay(server.addr, &mut clients).await;
            let listed = listed_stock(server.addr, &trees[0].key).await;
            // A second kill, with nothing in flight: everything
            // acknowledged must already be durable.
            server.kill();
            addr_tx.send_replace(None);
            drop(server);
            check(&db_path, &trees, &clients, &initial, &listed);

            let owned: usize = clients.iter().map(|c| c.numbers.len()).sum();
            log(format!(
                "cycle {cycle}: killed pid {pid} after {delay} ms; {} requests, {} acknowledged \
                 ({} orders), {} refused, {} interrupted by the kill, {} retries, {} acknowledged \
                 after a retry ({} of them committed before the kill), {replayed} replays \
                 byte-identical; {owned} numbers owned",
                cycle_stats.requests,
                cycle_stats.acknowledged,
                cycle_stats.orders,
                cycle_stats.refused,
                cycle_stats.interrupted,
                cycle_stats.retries,
                cycle_stats.acknowledged_after_retry,
                cycle_stats.committed_unanswered,
            ));
            total.add(cycle_stats);
        }

        log(format!(
            "crash test: {CYCLES} cycles in {:.1} s; {} requests, {} acknowledged ({} orders), \
             {} retries; {kills_in_flight} kills interrupted requests in flight; {} requests \
             committed before a kill were answered with their stored reply on retry",
            started.elapsed().as_secs_f64(),
            total.requests,
            total.acknowledged,
            total.orders,
            total.retries,
            total.committed_unanswered,
        ));
        assert!(total.orders > 0, "no order was ever acknowledged");
        assert!(
            kills_in_flight > 0,
            "no kill ever interrupted a request in flight: the test did not test crashes"
        );
    });
}
