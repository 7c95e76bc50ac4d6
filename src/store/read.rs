//! The read threads, each with its read-only connection, and the
//! [`Reader`] view over one.
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

use rusqlite::Connection;
use tokio::sync::oneshot;

use super::run_cached;
use super::search::SearchCache;
use crate::error::{Error, StoreError};

/// Read queries, as methods (see `catalog.rs`, `accounts.rs`, `dids.rs`).
/// Holding a `Reader` means holding a connection; it never writes.
pub struct Reader<'c> {
    pub(super) conn: &'c Connection,
    /// Search snapshots shared by the pool; `None` for one-off readers
    /// (the CLI), which build what they need per call.
    pub(super) search_cache: Option<&'c SearchCache>,
}

impl<'c> Reader<'c> {
    pub(super) fn new(conn: &'c Connection) -> Self {
        Reader {
            conn,
            search_cache: None,
        }
    }
}

/// A queued read: runs on a read thread, answers on its own channel.
type Job = Box<dyn FnOnce(&Reader<'_>) + Send>;

struct Queue {
    jobs: VecDeque<Job>,
    /// Read threads waiting for work: a new job wakes one only if some wait.
    idle: usize,
    closed: bool,
}

struct Shared {
    queue: Mutex<Queue>,
    ready: Condvar,
    search_cache: SearchCache,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }
}

pub(super) struct Pool {
    shared: Arc<Shared>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl Pool {
    /// Starts one read thread per connection.
    pub(super) fn new(conns: Vec<Connection>) -> Result<Pool, StoreError> {
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue {
                jobs: VecDeque::new(),
                idle: 0,
                closed: false,
            }),
            ready: Condvar::new(),
            search_cache: SearchCache::default(),
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

    /// Runs `f` on a read thread and returns its value. A panic in `f` is
    /// raised again here, in the caller, like `blocking::run` does.
    pub(super) async fn run<T, F>(&self, f: F) -> Result<T, Error>
    where
        F: FnOnce(&Reader<'_>) -> Result<T, Error> + Send + 'static,
        T: Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        {
            let mut queue = self.shared.lock();
            if queue.closed {
                return Err(StoreError::Closed.into());
            }
            queue.jobs.push_back(Box::new(move |reader| {
                let _ = tx.send(catch_unwind(AssertUnwindSafe(|| f(reader))));
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

    /// Lets the read threads finish the queued reads, then stops them.
    pub(super) fn close(&self) -> Vec<JoinHandle<()>> {
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

/// One read thread: takes jobs until the pool closes and the queue is empty.
fn serve(conn: &Connection, shared: &Shared) {
    loop {
        let job = {
            let mut queue = shared.lock();
            loop {
                if let Some(job) = queue.jobs.pop_front() {
                    break job;
                }
                if queue.closed {
                    return;
                }
                queue.idle += 1;
                queue = shared.ready.wait(queue).unwrap_or_else(|p| p.into_inner());
                queue.idle -= 1;
            }
        };
        let reader = Reader {
            conn,
            search_cache: Some(&shared.search_cache),
        };
        // One read transaction for the whole read: every statement sees the
        // same snapshot, and the WAL read lock (an fcntl each way) is taken
        // once instead of once per statement. If BEGIN fails the job still
        // runs, in autocommit mode, and meets the error itself.
        let _ = run_cached(conn, "BEGIN");
        // The job catches its own panic and hands it to its caller.
        job(&reader);
        // Ending a read transaction only releases its lock; if even that
        // fails, the connection is not kept in a transaction.
        if !conn.is_autocommit() && run_cached(conn, "COMMIT").is_err() && !conn.is_autocommit() {
            let _ = conn.execute_batch("ROLLBACK");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(n: usize) -> Pool {
        let conns = (0..n)
            .map(|_| Connection::open_in_memory().unwrap())
            .collect();
        Pool::new(conns).unwrap()
    }

    #[tokio::test]
    async fn runs_reads_in_a_transaction_and_returns_their_values() {
        let pool = pool(2);
        let got = pool.run(|r| Ok(r.conn.is_autocommit())).await.unwrap();
        assert!(!got, "a read runs inside BEGIN … COMMIT");
        let sums = futures_util::future::join_all((0..50).map(|i| {
            pool.run(move |r| {
                Ok(r.conn
                    .query_row("SELECT ?1 + 1", [i], |row| row.get::<_, i64>(0))?)
            })
        }))
        .await;
        let sums: Vec<i64> = sums.into_iter().map(Result::unwrap).collect();
        assert_eq!(sums, (1..=50).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn a_panicking_read_is_raised_in_its_caller_and_the_thread_goes_on() {
        let pool = Arc::new(pool(1));
        let p = pool.clone();
        let task =
            tokio::spawn(async move { p.run(|_| -> Result<(), Error> { panic!("boom") }).await });
        assert!(task.await.unwrap_err().is_panic());
        // The one read thread survived and serves the next read.
        let after = pool.run(|r| {
            Ok(r.conn
                .query_row("SELECT 7", [], |row| row.get::<_, i64>(0))?)
        });
        assert_eq!(after.await.unwrap(), 7);
        let handles = pool.close();
        for h in handles {
            h.join().unwrap();
        }
    }

    #[tokio::test]
    async fn a_closed_pool_refuses_reads() {
        let pool = pool(1);
        for h in pool.close() {
            h.join().unwrap();
        }
        let err = pool.run(|_| Ok(())).await.unwrap_err();
        assert!(matches!(err, Error::Store(StoreError::Closed)), "{err:?}");
    }
}
