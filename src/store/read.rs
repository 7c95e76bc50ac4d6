//! The pool of read-only connections and the [`Reader`] view over one.

use std::sync::{Arc, Mutex};

use rusqlite::Connection;
use tokio::sync::Semaphore;

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

pub(super) struct Pool {
    conns: Arc<Mutex<Vec<Connection>>>,
    permits: Arc<Semaphore>,
    search_cache: Arc<SearchCache>,
}

impl Pool {
    pub(super) fn new(conns: Vec<Connection>) -> Pool {
        let permits = Arc::new(Semaphore::new(conns.len()));
        Pool {
            conns: Arc::new(Mutex::new(conns)),
            permits,
            search_cache: Arc::default(),
        }
    }

    pub(super) async fn run<T, F>(&self, f: F) -> Result<T, Error>
    where
        F: FnOnce(&Reader<'_>) -> Result<T, Error> + Send + 'static,
        T: Send + 'static,
    {
        // A permit guarantees a connection is free, so the blocking task
        // never waits on the mutex for long.
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| StoreError::Closed)?;
        let conns = self.conns.clone();
        let cache = self.search_cache.clone();
        crate::blocking::run(move || {
            let conn = conns.lock().unwrap_or_else(|p| p.into_inner()).pop();
            let Some(conn) = conn else {
                return Err(StoreError::Internal("read pool empty despite permit".into()).into());
            };
            // Return the connection even if `f` panics.
            struct Return<'a>(&'a Mutex<Vec<Connection>>, Option<Connection>);
            impl Drop for Return<'_> {
                fn drop(&mut self) {
                    if let Some(c) = self.1.take() {
                        // After a panic in `f` the read transaction may
                        // still be open; the next user must not inherit it.
                        if !c.is_autocommit() {
                            let _ = c.execute_batch("ROLLBACK");
                        }
                        self.0.lock().unwrap_or_else(|p| p.into_inner()).push(c);
                    }
                }
            }
            let guard = Return(&conns, Some(conn));
            let conn = guard.1.as_ref().expect("connection present");
            // One read transaction for the whole read: every statement sees
            // the same snapshot, and the WAL read lock (an fcntl each way)
            // is taken once instead of once per statement.
            // Prepared once per connection: parsing even these two words
            // showed in the profile of a search.
            conn.prepare_cached("BEGIN")?.execute([])?;
            let result = f(&Reader {
                conn,
                search_cache: Some(&cache),
            });
            // Ending a read transaction only releases its lock; if even that
            // fails, the connection is not returned in a transaction.
            let ended = conn
                .prepare_cached("COMMIT")
                .and_then(|mut commit| commit.execute([]));
            if ended.is_err() && !conn.is_autocommit() {
                let _ = conn.execute_batch("ROLLBACK");
            }
            drop(guard);
            drop(permit);
            result
        })
        .await
    }
}
