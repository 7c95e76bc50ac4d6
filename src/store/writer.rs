//! The single writer thread and its group commit.
//!
//! Callers queue [`Job`]s on a channel. The thread takes everything queued
//! (up to [`MAX_BATCH`]), opens one transaction, runs each job inside its own
//! SAVEPOINT so a failing job never undoes another, commits once and only
//! then answers every caller. One fsync thus pays for a whole batch, and no
//! caller hears "done" before its change is durable.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use rusqlite::{Connection, OptionalExtension, params};
use tokio::sync::{mpsc, oneshot};

use super::mutation::{self, Mutation, Outcome};
use super::{Db, run_cached};
use crate::domain::{RequestId, UnixTime, now};
use crate::error::{DomainError, Error, StoreError};

/// The most jobs one transaction takes; bounds the latency a batch adds.
const MAX_BATCH: usize = 512;
/// Jobs that may wait for the writer before callers feel back-pressure.
const QUEUE: usize = 4096;
/// How long idempotency records are kept (the contract promises 24 hours).
pub const IDEMPOTENCY_RETENTION_SECS: i64 = 48 * 3600;

/// Told the number of jobs in every committed batch and how long its
/// `COMMIT` took (writing the WAL and the fsync: where the disk shows).
pub type BatchObserver = Arc<dyn Fn(usize, std::time::Duration) + Send + Sync>;

/// Run after every commit, before any caller of the batch is answered.
pub(super) type AfterCommit = Box<dyn Fn() + Send>;

/// Raised by the housekeeper when the writer should finish a checkpoint
/// between batches (see `housekeeper.rs`).
pub(super) type CatchUp = Arc<std::sync::atomic::AtomicBool>;

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Turns a fresh outcome into the bytes of the reply. Supplied by the
/// caller (who knows the codec); the store stores the bytes opaquely so a
/// retry is answered byte for byte.
pub type Render = Box<dyn FnOnce(&Outcome) -> Vec<u8> + Send>;

/// Identifies a request for idempotency: at most once per account and
/// `REQUEST_ID`; the fingerprint tells a true retry from a reuse.
pub struct IdempotencyKey {
    pub account_id: i64,
    pub request_id: RequestId,
    pub fingerprint: [u8; 32],
}

/// One mutation and how to treat it.
pub struct Job {
    pub mutation: Mutation,
    /// `TEST=TRUE`: run everything, then roll this job back.
    pub test: bool,
    pub idempotency: Option<IdempotencyKey>,
    pub render: Render,
}

struct Queued {
    job: Job,
    reply: oneshot::Sender<Result<Vec<u8>, Error>>,
}

pub(super) struct Handle {
    tx: Mutex<Option<mpsc::Sender<Queued>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    state: Arc<State>,
}

/// What the health check reads: whether the thread is alive and when it
/// last started or finished a batch while work was pending.
struct State {
    alive: AtomicBool,
    busy_since: AtomicI64,
}

impl Handle {
    pub(super) fn start(
        db: Db,
        on_batch: Option<BatchObserver>,
        after_commit: AfterCommit,
        catch_up: CatchUp,
    ) -> Result<Handle, StoreError> {
        // Checkpoints are the housekeeper's job; the writer's own remains
        // only as a bound on the WAL.
        db.conn.pragma_update(
            None,
            "wal_autocheckpoint",
            super::housekeeper::WRITER_AUTOCHECKPOINT,
        )?;
        // The pages every order touches (the area's stock range, accounts,
        // ledger, history and idempotency tails) stay cached across batches;
        // SQLite's default 2 MB made the writer re-read them.
        db.conn.pragma_update(None, "cache_size", -16_384)?;
        let (tx, rx) = mpsc::channel(QUEUE);
        let state = Arc::new(State {
            alive: AtomicBool::new(true),
            busy_since: AtomicI64::new(0),
        });
        let thread_state = state.clone();
        let thread = std::thread::Builder::new()
            .name("didgate-writer".into())
            .spawn(move || {
                let hooks = Hooks {
                    on_batch: on_batch.as_deref(),
                    after_commit: &*after_commit,
                    catch_up: &catch_up,
                };
                run(db.conn, rx, &thread_state, &hooks);
                thread_state.alive.store(false, Ordering::SeqCst);
            })
            .map_err(|e| StoreError::Internal(format!("cannot start writer thread: {e}")))?;
        Ok(Handle {
            tx: Mutex::new(Some(tx)),
            thread: Mutex::new(Some(thread)),
            state,
        })
    }

    pub(super) async fn submit(&self, job: Job) -> Result<Vec<u8>, Error> {
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

    /// Alive, and not stuck on one batch for more than 10 seconds.
    pub(super) fn healthy(&self, stall: std::time::Duration) -> bool {
        let busy = self.state.busy_since.load(Ordering::SeqCst);
        self.state.alive.load(Ordering::SeqCst)
            && (busy == 0 || now_ms() - busy < stall.as_millis() as i64)
    }

    pub(super) async fn close(&self) {
        drop(self.tx.lock().unwrap_or_else(|p| p.into_inner()).take());
        let thread = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(thread) = thread {
            // The thread exits once the queue is drained and every sender
            // (including clones held by in-flight submits) is gone.
            // Joining blocks, so it leaves the async workers; if the runtime
            // is already going away the thread finishes on its own.
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
    }
}

/// What the writer tells, or asks, the rest of the store.
struct Hooks<'a> {
    on_batch: Option<&'a (dyn Fn(usize, std::time::Duration) + Send + Sync)>,
    after_commit: &'a dyn Fn(),
    catch_up: &'a std::sync::atomic::AtomicBool,
}

fn run(mut conn: Connection, mut rx: mpsc::Receiver<Queued>, state: &State, hooks: &Hooks<'_>) {
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
        let t = now();
        state.busy_since.store(now_ms(), Ordering::SeqCst);
        let prune = t - last_prune >= 60;
        if prune {
            last_prune = t;
        }
        let jobs = batch.len();
        if let Some(took) = commit_batch(&mut conn, &mut batch, t, prune, hooks.after_commit) {
            if let Some(observe) = hooks.on_batch {
                observe(jobs, took);
            }
        }
        // Every caller has its answer; the next batch waits for the few
        // frames the housekeeper's checkpoint could not copy.
        if hooks.catch_up.swap(false, Ordering::AcqRel) {
            let started = std::time::Instant::now();
            let frames = super::housekeeper::checkpoint(&conn).map(|(log, _)| log);
            let took_ms = started.elapsed().as_secs_f64() * 1e3;
            tracing::debug!(frames, took_ms, "writer caught up with the checkpoint");
        }
        state.busy_since.store(0, Ordering::SeqCst);
    }
}

/// Runs one batch in one transaction and answers every caller after the
/// commit. If the transaction cannot begin or commit, every job in the
/// batch is answered `UNAVAILABLE` and nothing of it is kept. Returns how
/// long the `COMMIT` took if the batch was committed.
fn commit_batch(
    conn: &mut Connection,
    batch: &mut Vec<Queued>,
    now: UnixTime,
    prune: bool,
    after_commit: &dyn Fn(),
) -> Option<std::time::Duration> {
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        tracing::error!(error = %e, jobs = batch.len(), "cannot begin write transaction");
        fail_all(batch, &e);
        return None;
    }
    let mut answers = Vec::with_capacity(batch.len());
    for queued in batch.drain(..) {
        let result = run_in_savepoint(conn, queued.job, now);
        answers.push((queued.reply, result));
    }
    if prune {
        let cutoff = now - IDEMPOTENCY_RETENTION_SECS;
        if let Err(e) = conn.execute("DELETE FROM idempotency WHERE created_at < ?1", [cutoff]) {
            tracing::warn!(error = %e, "cannot prune idempotency records");
        }
    }
    let started = std::time::Instant::now();
    match conn.execute_batch("COMMIT") {
        Ok(()) => {
            let took = started.elapsed();
            tracing::debug!(
                jobs = answers.len(),
                commit_ms = took.as_secs_f64() * 1e3,
                "batch committed"
            );
            // Before the answers: a client that reads after hearing "done"
            // must not be served a reply cached before this commit.
            after_commit();
            for (reply, result) in answers {
                let _ = reply.send(result);
            }
            Some(took)
        }
        Err(e) => {
            tracing::error!(error = %e, jobs = answers.len(), "commit failed, batch rolled back");
            let _ = conn.execute_batch("ROLLBACK");
            for (reply, _) in answers {
                let _ = reply.send(Err(StoreError::Unavailable(e.to_string()).into()));
            }
            None
        }
    }
}

fn fail_all(batch: &mut Vec<Queued>, e: &rusqlite::Error) {
    for queued in batch.drain(..) {
        let _ = queued
            .reply
            .send(Err(StoreError::Unavailable(e.to_string()).into()));
    }
}

fn run_in_savepoint(conn: &Connection, job: Job, now: UnixTime) -> Result<Vec<u8>, Error> {
    run_cached(conn, "SAVEPOINT job")?;
    let test = job.test;
    // A panic in a job (or its renderer) is a bug; it must not take the
    // writer thread, and with it every later request, down.
    let result = catch_unwind(AssertUnwindSafe(|| run_job(conn, job, now))).unwrap_or_else(|p| {
        let what = p
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Err(StoreError::Internal(format!("writer job panicked: {what}")).into())
    });
    let keep = result.is_ok() && !test;
    if !keep {
        run_cached(conn, "ROLLBACK TO job")?;
    }
    run_cached(conn, "RELEASE job")?;
    result
}

fn run_job(conn: &Connection, job: Job, now: UnixTime) -> Result<Vec<u8>, Error> {
    let idempotency = if job.test { None } else { job.idempotency };
    if let Some(key) = &idempotency {
        let seen: Option<(Vec<u8>, Vec<u8>)> = conn
            .prepare_cached(
                "SELECT fingerprint, response FROM idempotency WHERE account_id = ?1 AND request_id = ?2",
            )?
            .query_row(params![key.account_id, key.request_id.as_str()], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?;
        if let Some((fingerprint, response)) = seen {
            return if fingerprint == key.fingerprint {
                Ok(response)
            } else {
                Err(DomainError::Conflict(format!(
                    "REQUEST_ID {} was already used with other parameters: use a new REQUEST_ID",
                    key.request_id
                ))
                .into())
            };
        }
    }
    let outcome = mutation::apply(conn, job.mutation, now)?;
    let bytes = (job.render)(&outcome);
    if let Some(key) = idempotency {
        conn.prepare_cached(
            "INSERT INTO idempotency (account_id, request_id, fingerprint, response, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![
            key.account_id,
            key.request_id.as_str(),
            &key.fingerprint[..],
            &bytes,
            now
        ])?;
    }
    Ok(bytes)
}
