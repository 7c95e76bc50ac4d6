//! The store: the only module that knows SQL.
//!
//! - [`Db`] is one read-write connection. The CLI uses it directly; the
//!   server gives one to the writer thread.
//! - [`Store`] is the server's handle: mutations go to the single writer
//!   thread ([`writer`]) which commits them in groups; reads run on a small
//!   pool of read-only connections ([`read`]) off the async workers.
//!
//! Nothing outside this module sees a rusqlite type.

mod accounts;
mod catalog;
mod dids;
mod grams;
mod history;
mod housekeeper;
mod inventory;
pub mod migrate;
mod mutation;
mod numbers;
mod order;
mod read;
mod reservation;
mod search;
mod subaccounts;
pub mod writer;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::error::{Error, StoreError};

pub use accounts::{KeyRecord, NewAccount};
pub use history::HistoryEntry;
pub use housekeeper::Version;
pub use inventory::{CatalogRow, ImportStats, NumberRow};
pub use mutation::{Mutation, Outcome};
pub use numbers::{MoveSpec, NumberSpec, UpdateSpec};
pub use order::{OrderOutcome, OrderSource, OrderSpec};
pub use read::Reader;
pub use reservation::{
    CancelReservationSpec, ReservationOutcome, ReserveInto, ReserveSpec, ReserveWhat,
};
pub use search::{AreaSelect, SearchQuery};
pub use subaccounts::{DeleteSpec, SubaccountSpec};
pub use writer::{IdempotencyKey, Job};

/// How long a connection waits for a lock held by another process (the
/// CLI crediting an account while the server runs) before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Prepared statements kept per connection: every statement the store
/// runs, with room to spare.
const STATEMENT_CACHE: usize = 128;

/// Runs one statement without parameters, prepared once per connection:
/// the transaction and savepoint statements run on every read and twice
/// per job, and parsing them each time showed in the profiles.
fn run_cached(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
}

fn configure(conn: &Connection) -> Result<(), StoreError> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    // The writer runs each job in a SAVEPOINT, whose undo copies of pages
    // (the statement journal) would otherwise go to a temporary file with a
    // write per page; they never need to survive a crash (the WAL does).
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    // rusqlite keeps 16 prepared statements by default, fewer than one
    // order uses (about twenty): each was evicted before its next use and
    // parsed again, which showed in the writer's profile.
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(())
}

/// One read-write connection, configured and migrated.
pub struct Db {
    conn: Connection,
}

impl Db {
    /// Opens (creating if needed) and migrates the database at `path`.
    pub fn open(path: &Path) -> Result<Db, StoreError> {
        let mut conn = Connection::open(path)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // WAL lets readers run beside the writer; it is a property of the
        // file, so setting it once suffices, but it is cheap to repeat.
        let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") && !mode.eq_ignore_ascii_case("memory") {
            return Err(StoreError::Internal(format!(
                "could not enable WAL (got {mode})"
            )));
        }
        configure(&conn)?;
        migrate::migrate(&mut conn)?;
        Ok(Db { conn })
    }

    /// A read view over this connection, for the CLI and tests.
    pub fn reader(&self) -> Reader<'_> {
        Reader::new(&self.conn)
    }

    /// Runs `integrity_check`, for tests and operators.
    pub fn integrity_check(&self) -> Result<String, StoreError> {
        Ok(self
            .conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))?)
    }
}

/// The server's handle on the database. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    writer: writer::Handle,
    pool: read::Pool,
    housekeeper: Arc<housekeeper::Housekeeper>,
    version: Version,
}

impl Store {
    /// Opens the database, starts the writer thread and opens `readers`
    /// read-only connections. `on_batch` hears the size of every committed
    /// batch.
    pub fn open(
        path: &Path,
        readers: usize,
        on_batch: Option<writer::BatchObserver>,
    ) -> Result<Store, Error> {
        let db = Db::open(path)?;
        let path: PathBuf = path.to_owned();
        let mut conns = Vec::with_capacity(readers);
        for _ in 0..readers.max(1) {
            let conn = Connection::open_with_flags(
                &path,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
            .map_err(StoreError::from)?;
            conn.busy_timeout(BUSY_TIMEOUT).map_err(StoreError::from)?;
            conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
            conns.push(conn);
        }
        let version = Version::default();
        let housekeeper = Arc::new(housekeeper::Housekeeper::start(&path, version.clone())?);
        let after_commit: writer::AfterCommit = {
            let (version, housekeeper) = (version.clone(), housekeeper.clone());
            Box::new(move || {
                version.bump();
                housekeeper.committed();
            })
        };
        Ok(Store {
            inner: Arc::new(Inner {
                writer: writer::Handle::start(
                    db,
                    on_batch,
                    after_commit,
                    housekeeper.catch_up.clone(),
                )?,
                pool: read::Pool::new(conns)?,
                housekeeper,
                version,
            }),
        })
    }

    /// Runs `f` against a read-only connection, on a read thread.
    pub async fn read<T, F>(&self, f: F) -> Result<T, Error>
    where
        F: FnOnce(&Reader<'_>) -> Result<T, Error> + Send + 'static,
        T: Send + 'static,
    {
        self.inner.pool.run(f).await
    }

    /// The database's version: unchanged means nothing was committed since
    /// (by us, or by another process more than [`Store::EXTERNAL_DELAY`]
    /// ago).
    pub fn version(&self) -> u64 {
        self.inner.version.get()
    }

    /// How long a commit by another process (the CLI) normally goes
    /// unnoticed by [`Store::version`]: the housekeeper looks at least every
    /// two of its periods (a wait, then a pause after a checkpoint), unless
    /// a checkpoint is slow.
    pub const EXTERNAL_DELAY: Duration = Duration::from_millis(200);

    /// Queues a mutation for the writer and waits until it is durable (or
    /// refused). `Ok` holds the rendered reply, fresh or replayed.
    pub async fn write(&self, job: Job) -> Result<Vec<u8>, Error> {
        self.inner.writer.submit(job).await
    }

    /// Returns numbers whose aging has ended, and numbers of expired
    /// reservations, to stock. Checks on a read connection first, so an
    /// idle server does not commit every tick.
    pub async fn sweep(&self) -> Result<(), Error> {
        let now = crate::domain::now();
        if !self.read(move |r| r.sweep_due(now)).await? {
            return Ok(());
        }
        let job = Job {
            mutation: Mutation::Sweep,
            test: false,
            idempotency: None,
            render: Box::new(|_| Vec::new()),
        };
        self.write(job).await.map(|_| ())
    }

    /// Whether the writer thread is alive and has not been stuck on one
    /// batch for longer than `stall`.
    pub fn writer_healthy(&self, stall: std::time::Duration) -> bool {
        self.inner.writer.healthy(stall)
    }

    /// Stops taking mutations and reads, lets the writer commit what is
    /// queued and the read threads answer theirs, and waits for both.
    pub async fn close(&self) {
        self.inner.writer.close().await;
        let readers = self.inner.pool.close();
        let housekeeper = self.inner.housekeeper.clone();
        let _ = tokio::task::spawn_blocking(move || {
            for reader in readers {
                let _ = reader.join();
            }
            housekeeper.stop();
        })
        .await;
    }
}

impl Db {
    /// Copies the database with SQLite's online backup, consistent even
    /// while a server writes to it.
    pub fn backup_to(&self, path: &Path) -> Result<(), StoreError> {
        if path.exists() {
            return Err(StoreError::Internal(format!(
                "{} exists: choose a new file",
                path.display()
            )));
        }
        self.conn.backup(rusqlite::MAIN_DB, path, None)?;
        Ok(())
    }
}
