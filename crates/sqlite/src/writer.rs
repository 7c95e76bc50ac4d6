//! The single writer thread and its group commit.
//!
//! Callers queue [`WriteJob`]s on a channel. The thread takes everything
//! queued (up to [`MAX_BATCH`]), opens one transaction, runs each job
//! inside its own SAVEPOINT so a failing job never undoes another, commits
//! once and only then answers every caller. One fsync thus pays for a
//! whole batch, and no caller hears "done" before its change is durable.
//! If the transaction cannot begin or commit, every job of the batch is
//! answered `UNAVAILABLE` and nothing of it is kept.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use didgate_core::domain::{UnixTime, now};
use didgate_core::engine::WriteJob;
use didgate_core::outcome::Outcome;
use didgate_core::{Error, StoreError};
use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};

use crate::classify::{Classified, classify};
use crate::housekeeper;
use crate::idempotency;
use crate::search::Snapshots;
use crate::session::Session;
use crate::snapshot::SnapshotCache;
use crate::sql::run_cached;

/// The most jobs one transaction takes; bounds the latency a batch adds.
const MAX_BATCH: usize = 512;
/// Jobs that may wait for the writer before callers feel back-pressure.
const QUEUE: usize = 4096;
/// How often, at most, old idempotency records are pruned.
const PRUNE_EVERY_SECS: i64 = 60;

/// Told the number of jobs in every committed batch and how long its
/// `COMMIT` took (writing the WAL and the fsync: where the disk shows).
pub type BatchObserver = Arc<dyn Fn(usize, Duration) + Send + Sync>;

/// What the writer tells, or asks, the rest of the engine.
pub(crate) struct Hooks {
    pub on_batch: Option<BatchObserver>,
    /// Run after every commit, before any caller of the batch is answered.
    pub after_commit: Box<dyn Fn() + Send>,
    /// Raised by the housekeeper when the writer should finish a
    /// checkpoint between batches (see `housekeeper.rs`).
    pub catch_up: Arc<AtomicBool>,
    /// The readers' search snapshots, used when current (see `search.rs`).
    pub snapshots: Arc<SnapshotCache>,
}

type Reply = oneshot::Sender<Result<Outcome, Error>>;

struct Queued {
    job: WriteJob,
    reply: Reply,
}

pub(crate) struct Handle {
    tx: Mutex<Option<mpsc::Sender<Queued>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    state: Arc<State>,
}

/// What the health check reads: whether the thread is alive and since
/// when it has been on its current batch (0 when idle).
struct State {
    alive: AtomicBool,
    busy_since_ms: AtomicI64,
}

/// Marks the writer dead when its thread ends, however it ends.
struct Alive<'a>(&'a State);

impl Drop for Alive<'_> {
    fn drop(&mut self) {
        self.0.alive.store(false, Ordering::SeqCst);
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl Handle {
    /// Starts the writer thread on `conn` (configured and migrated).
    pub(crate) fn start(conn: Connection, hooks: Hooks) -> Result<Handle, StoreError> {
        // Checkpoints are the housekeeper's job; the writer's own remains
        // only as a bound on the WAL.
        conn.pragma_update(
            None,
            "wal_autocheckpoint",
            housekeeper::WRITER_AUTOCHECKPOINT,
        )
        .classified()?;
        // The pages every order touches (the area's stock range, accounts,
        // ledger, history and idempotency tails) stay cached across
        // batches; SQLite's default 2 MB made the writer re-read them.
        conn.pragma_update(None, "cache_size", -16_384)
            .classified()?;
        let (tx, rx) = mpsc::channel(QUEUE);
        let state = Arc::new(State {
            alive: AtomicBool::new(true),
            busy_since_ms: AtomicI64::new(0),
        });
        let thread_state = state.clone();
        let thread = std::thread::Builder::new()
            .name("didgate-writer".into())
            .spawn(move || {
                let _alive = Alive(&thread_state);
                run(&conn, rx, &thread_state, &hooks);
            })
            .map_err(|e| StoreError::Internal(format!("cannot start writer thread: {e}")))?;
        Ok(Handle {
            tx: Mutex::new(Some(tx)),
            thread: Mutex::new(Some(thread)),
            state,
        })
    }

    /// Queues `job` and waits until it is durable (or refused).
    pub(crate) async fn submit(&self, job: WriteJob) -> Result<Outcome, Error> {
        let sender = self.tx.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let Some(sender) = sender else {
            return Err(StoreError::Closed.into());
        };
        let (reply, answer) = oneshot::channel();
        if sender.send(Queued { job, reply }).await.is_err() {
            return Err(StoreError::Closed.into());
        }
        drop(sender);
        // A dropped reply sender means the writer died mid-batch; nothing
        // was acknowledged, so the caller may retry.
        answer.await.unwrap_or(Err(StoreError::Closed.into()))
    }

    /// Jobs queued and not yet taken by the thread.
    #[cfg(test)]
    pub(crate) fn queued(&self) -> usize {
        let sender = self.tx.lock().unwrap_or_else(|p| p.into_inner());
        sender
            .as_ref()
            .map_or(0, |s| s.max_capacity() - s.capacity())
    }

    /// Alive, and not stuck on one batch for longer than `stall`.
    pub(crate) fn healthy(&self, stall: Duration) -> bool {
        let busy = self.state.busy_since_ms.load(Ordering::SeqCst);
        self.state.alive.load(Ordering::SeqCst)
            && (busy == 0 || now_ms() - busy < stall.as_millis() as i64)
    }

    /// Stops taking jobs. The thread ends once the queue is drained and
    /// every sender (including clones held by in-flight submits) is gone;
    /// the caller joins it, off the async workers.
    pub(crate) fn close(&self) -> Option<JoinHandle<()>> {
        drop(self.tx.lock().unwrap_or_else(|p| p.into_inner()).take());
        self.thread.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

fn run(conn: &Connection, mut rx: mpsc::Receiver<Queued>, state: &State, hooks: &Hooks) {
    let mut last_prune: UnixTime = 0;
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(q) => batch.push(q),
                Err(_) => break,
            }
        }
        state.busy_since_ms.store(now_ms(), Ordering::SeqCst);
        let t = now();
        let prune = t - last_prune >= PRUNE_EVERY_SECS;
        if prune {
            last_prune = t;
        }
        let jobs = batch.len();
        if let Some(took) = commit_batch(conn, &mut batch, t, prune, hooks) {
            if let Some(observe) = &hooks.on_batch {
                // A metrics bug must not take the writer down either.
                let observed = catch_unwind(AssertUnwindSafe(|| observe(jobs, took)));
                if let Err(p) = observed {
                    tracing::error!(panic = %panic_message(&*p), "batch observer panicked");
                }
            }
        }
        // Every caller has its answer; the next batch waits for the few
        // frames the housekeeper's checkpoint could not copy.
        if hooks.catch_up.swap(false, Ordering::AcqRel) {
            let started = Instant::now();
            let frames = housekeeper::checkpoint(conn).map(|(log, _)| log);
            let took_ms = started.elapsed().as_secs_f64() * 1e3;
            tracing::debug!(frames, took_ms, "writer caught up with the checkpoint");
        }
        state.busy_since_ms.store(0, Ordering::SeqCst);
    }
}

/// Runs one batch in one transaction and answers every caller after the
/// commit. Returns how long the `COMMIT` took if the batch was committed.
fn commit_batch(
    conn: &Connection,
    batch: &mut Vec<Queued>,
    now: UnixTime,
    prune: bool,
    hooks: &Hooks,
) -> Option<Duration> {
    if let Err(e) = run_cached(conn, "BEGIN IMMEDIATE") {
        tracing::error!(error = %e, jobs = batch.len(), "cannot begin write transaction");
        fail(batch.drain(..).map(|q| q.reply), &e.to_string());
        return None;
    }
    let answers = run_jobs(conn, batch, &hooks.snapshots)?;
    if prune {
        match idempotency::prune(conn, now) {
            Ok(n) => tracing::debug!(records = n, "idempotency records pruned"),
            Err(e) => tracing::warn!(error = %e, "cannot prune idempotency records"),
        }
    }
    let started = Instant::now();
    if let Err(e) = run_cached(conn, "COMMIT") {
        tracing::error!(error = %e, jobs = answers.len(), "commit failed, batch rolled back");
        rollback(conn);
        fail(answers.into_iter().map(|(reply, _)| reply), &e.to_string());
        return None;
    }
    let took = started.elapsed();
    tracing::debug!(
        jobs = answers.len(),
        commit_ms = took.as_secs_f64() * 1e3,
        "batch committed"
    );
    // Before the answers: a client that reads after hearing "done" must
    // not be served a reply cached before this commit.
    (hooks.after_commit)();
    for (reply, result) in answers {
        let _ = reply.send(result);
    }
    Some(took)
}

/// Runs every job of the batch in its own savepoint; their answers, to
/// send once committed. `None` if the transaction broke under a job:
/// then it is rolled back and every caller of the batch already answered
/// `UNAVAILABLE`.
fn run_jobs(
    conn: &Connection,
    batch: &mut Vec<Queued>,
    snapshots: &SnapshotCache,
) -> Option<Vec<(Reply, Result<Outcome, Error>)>> {
    let mut answers = Vec::with_capacity(batch.len());
    let mut jobs = batch.drain(..);
    while let Some(Queued { job, reply }) = jobs.next() {
        match run_in_savepoint(conn, snapshots, job) {
            Ok(result) => answers.push((reply, result)),
            Err(broken) => {
                tracing::error!(error = %broken, "write transaction broke under a job, batch rolled back");
                rollback(conn);
                let replies = answers.into_iter().map(|(r, _)| r);
                let rest = jobs.map(|q| q.reply);
                fail(replies.chain([reply]).chain(rest), &broken);
                return None;
            }
        }
    }
    Some(answers)
}

/// Runs one job in its own savepoint, rolled back if the job fails,
/// panics or is a test. The outer `Err` means the transaction itself is
/// no longer sound (SQLite rolled it back under the job, or the savepoint
/// could not be undone), so nothing of the batch may be committed.
fn run_in_savepoint(
    conn: &Connection,
    snapshots: &SnapshotCache,
    mut job: WriteJob,
) -> Result<Result<Outcome, Error>, String> {
    if let Err(e) = run_cached(conn, "SAVEPOINT job") {
        return Ok(Err(classify(e).into()));
    }
    let mut session = Session::new(conn, Snapshots::IfCurrent(snapshots));
    // A panic in a job is a bug; it must not take the writer thread, and
    // with it every later request, down.
    let result = catch_unwind(AssertUnwindSafe(|| (job.run)(&mut session))).unwrap_or_else(|p| {
        let what = panic_message(&*p);
        Err(StoreError::Internal(format!("writer job panicked: {what}")).into())
    });
    // Busy, full and I/O errors may end the whole transaction; whatever
    // ran after that ran in autocommit mode.
    if conn.is_autocommit() {
        return Err("the write transaction ended under a job".into());
    }
    if result.is_err() || job.test {
        run_cached(conn, "ROLLBACK TO job").map_err(|e| e.to_string())?;
    }
    run_cached(conn, "RELEASE job").map_err(|e| e.to_string())?;
    Ok(result)
}

/// What a panic said, for the answer and the log.
fn panic_message(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_default()
}

fn rollback(conn: &Connection) {
    if !conn.is_autocommit() {
        let _ = conn.execute_batch("ROLLBACK");
    }
}

fn fail(replies: impl Iterator<Item = Reply>, why: &str) {
    for reply in replies {
        let _ = reply.send(Err(StoreError::Unavailable(why.to_owned()).into()));
    }
}
