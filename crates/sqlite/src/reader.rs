//! The read threads, each with its read-only connection.
//!
//! Reads queue on one shared queue; each read thread takes the next job,
//! runs it in one read transaction and answers on the job's channel. A
//! thread that finds work queued goes straight on to it, so under load a
//! read costs one hand-off to a read thread and one wake-up of the caller.
//! (Through tokio's blocking pool it cost a permit, a task hand-off and the
//! parking and unparking of a pool thread per read: a fifth of a search's
//! CPU was scheduling.)

use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

use didgate_core::engine::Reads;
use didgate_core::{Error, StoreError};
use rusqlite::Connection;
use tokio::sync::oneshot;

use crate::search::Snapshots;
use crate::session::Session;
use crate::snapshot::SnapshotCache;
use crate::sql::run_cached;

/// A queued read: runs on a read thread, answers on its own channel.
type Job = Box<dyn FnOnce(&mut Session<'_>) + Send>;

struct Queue {
    jobs: VecDeque<Job>,
    /// Read threads waiting for work: a new job wakes one only if some wait.
    idle: usize,
    closed: bool,
}

struct Shared {
    queue: Mutex<Queue>,
    ready: Condvar,
    snapshots: Arc<SnapshotCache>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }
}

pub(crate) struct Pool {
    shared: Arc<Shared>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl Pool {
    /// Starts one read thread per connection; they share `snapshots`.
    pub(crate) fn new(
        conns: Vec<Connection>,
        snapshots: Arc<SnapshotCache>,
    ) -> Result<Pool, StoreError> {
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue {
                jobs: VecDeque::new(),
                idle: 0,
                closed: false,
            }),
            ready: Condvar::new(),
            snapshots,
        });
        let pool = Pool {
            shared: shared.clone(),
            threads: Mutex::new(Vec::with_capacity(conns.len())),
        };
        for conn in conns {
            let shared = shared.clone();
            let thread = std::thread::Builder::new()
                .name("didgate-reader".into())
                .spawn(move || serve(&conn, &shared))
                .map_err(|e| StoreError::Internal(format!("cannot start read thread: {e}")))?;
            pool.threads
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(thread);
        }
        Ok(pool)
    }

    /// Runs `f` on a read thread, inside its read transaction, and
    /// returns its value. A panic in `f` is raised again here, in the
    /// caller, as `didgate_core::blocking::run` does.
    pub(crate) async fn run<T, F>(&self, f: F) -> Result<T, Error>
    where
        F: FnOnce(&mut dyn Reads) -> Result<T, Error> + Send + 'static,
        T: Send + 'static,
    {
        self.queue(move |session| f(session)).await
    }

    /// [`Pool::run`] for the engine's own queries beyond [`Reads`].
    pub(crate) async fn run_on<T, F>(&self, f: F) -> Result<T, Error>
    where
        F: FnOnce(&Connection) -> Result<T, Error> + Send + 'static,
        T: Send + 'static,
    {
        self.queue(move |session| f(session.conn())).await
    }

    async fn queue<T, F>(&self, f: F) -> Result<T, Error>
    where
        F: FnOnce(&mut Session<'_>) -> Result<T, Error> + Send + 'static,
        T: Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        {
            let mut queue = self.shared.lock();
            if queue.closed {
                return Err(StoreError::Closed.into());
            }
            queue.jobs.push_back(Box::new(move |session| {
                let _ = tx.send(catch_unwind(AssertUnwindSafe(|| f(session))));
            }));
            if queue.idle > 0 {
                self.shared.ready.notify_one();
            }
        }
        match rx.await {
            Ok(Ok(result)) => result,
            Ok(Err(panic)) => std::panic::resume_unwind(panic),
            // The job was dropped unrun: the pool closed under it.
            Err(_) => Err(StoreError::Closed.into()),
        }
    }

    /// Lets the read threads finish the queued reads, then stops them;
    /// the caller joins the threads (off the async workers).
    pub(crate) fn close(&self) -> Vec<JoinHandle<()>> {
        self.shared.lock().closed = true;
        self.shared.ready.notify_all();
        std::mem::take(&mut *self.threads.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        // Threads not joined by `close` still end once the queue is empty.
        self.shared.lock().closed = true;
        self.shared.ready.notify_all();
    }
}

/// The next job, waiting for one; `None` once the pool is closed and the
/// queue is empty.
fn next(shared: &Shared) -> Option<Job> {
    let mut queue = shared.lock();
    loop {
        if let Some(job) = queue.jobs.pop_front() {
            return Some(job);
        }
        if queue.closed {
            return None;
        }
        queue.idle += 1;
        queue = shared.ready.wait(queue).unwrap_or_else(|p| p.into_inner());
        queue.idle -= 1;
    }
}

/// One read thread: takes jobs until the pool closes and the queue is empty.
fn serve(conn: &Connection, shared: &Shared) {
    while let Some(job) = next(shared) {
        // One read transaction for the whole read: every statement sees the
        // same snapshot, and the WAL read lock (an fcntl each way) is taken
        // once instead of once per statement. If BEGIN fails the job still
        // runs, in autocommit mode, and meets the error itself.
        let _ = run_cached(conn, "BEGIN");
        // The job catches its own panic and hands it to its caller.
        job(&mut Session::new(conn, Snapshots::Build(&shared.snapshots)));
        // Ending a read transaction only releases its lock; if even that
        // fails, the connection is not kept in a transaction.
        if !conn.is_autocommit() && run_cached(conn, "COMMIT").is_err() && !conn.is_autocommit() {
            let _ = conn.execute_batch("ROLLBACK");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use didgate_core::domain::{AreaId, CountryId};

    use super::*;
    use crate::testing;

    fn pool(path: &std::path::Path, n: usize) -> Pool {
        let conns = (0..n)
            .map(|_| crate::connection::open_read_only(path, std::time::Duration::from_secs(1)))
            .collect::<Result<_, _>>()
            .unwrap();
        Pool::new(conns, Arc::default()).unwrap()
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn returns_the_values_of_many_reads() {
        let (_dir, path, _db) = testing::catalog();
        let pool = pool(&path, 2);
        let mut waiting = Vec::new();
        for i in 0..50i64 {
            waiting.push(
                pool.run(move |r| Ok(i + r.lowest_available(&testing::area(), 1)?.len() as i64)),
            );
        }
        let mut sums = Vec::new();
        for w in waiting {
            sums.push(w.await.unwrap());
        }
        assert_eq!(sums, (1..=50).collect::<Vec<_>>());
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_read_sees_one_snapshot_while_others_commit() {
        let (_dir, path, db) = testing::catalog();
        let pool = pool(&path, 1);
        let (asked, ask) = mpsc::channel::<()>();
        let (done, wait) = mpsc::channel::<()>();
        let read = pool.run(move |r| {
            let fr = CountryId::parse("FR").unwrap();
            let before = r.country_exists(&fr)?;
            asked.send(()).unwrap();
            wait.recv().unwrap();
            Ok((before, r.country_exists(&fr)?))
        });
        let commit = std::thread::spawn(move || {
            ask.recv().unwrap();
            testing::add_area(&db, "FR", "fr-1");
            done.send(()).unwrap();
            db
        });
        assert_eq!(read.await.unwrap(), (false, false), "one snapshot per read");
        let _db = commit.join().unwrap();
        let later = pool.run(|r| Ok(r.area(&AreaId::parse("fr-1").unwrap())?.is_some()));
        assert!(later.await.unwrap(), "the next read sees the commit");
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_panicking_read_is_raised_in_its_caller_and_the_thread_goes_on() {
        let (_dir, path, _db) = testing::catalog();
        let pool = Arc::new(pool(&path, 1));
        let p = pool.clone();
        let task =
            tokio::spawn(async move { p.run(|_| -> Result<(), Error> { panic!("boom") }).await });
        assert!(task.await.unwrap_err().is_panic());
        // The one read thread survived and serves the next read.
        let after = pool.run(|r| Ok(r.lowest_available(&testing::area(), 2)?.len()));
        assert_eq!(after.await.unwrap(), 2);
        for h in pool.close() {
            h.join().unwrap();
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_closed_pool_refuses_reads() {
        let (_dir, path, _db) = testing::catalog();
        let pool = pool(&path, 1);
        for h in pool.close() {
            h.join().unwrap();
        }
        let err = pool.run(|_| Ok(())).await.unwrap_err();
        assert!(matches!(err, Error::Store(StoreError::Closed)), "{err:?}");
    }
}
