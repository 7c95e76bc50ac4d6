//! [`Store`]: the server's handle on the database, the core's
//! [`Engine`]. It wires the writer thread, the read threads, the
//! housekeeper and the shared search snapshots together.

use std::any::Any;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use didgate_core::engine::{BoxFuture, Engine, ReadJob, WriteJob};
use didgate_core::outcome::Outcome;
use didgate_core::{Error, blocking};

use crate::housekeeper::{Housekeeper, Version};
use crate::snapshot::SnapshotCache;
use crate::writer::{self, BatchObserver};
use crate::{Db, catalog, connection, reader};

/// How a [`Store`] runs.
#[derive(Clone)]
pub struct StoreOptions {
    /// Read threads, each with its own connection (at least one).
    pub readers: usize,
    /// How long a connection waits for a lock held by another process.
    pub busy_timeout: Duration,
    /// How long the writer may be on one batch before it counts as stuck
    /// ([`Engine::healthy`]).
    pub writer_stall: Duration,
    /// Told the size and `COMMIT` time of every committed batch.
    pub on_batch: Option<BatchObserver>,
}

impl Default for StoreOptions {
    /// One read thread per core, 2 to 8; a 5 s busy timeout; a writer
    /// stuck for 10 s is unhealthy.
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        StoreOptions {
            readers: cores.clamp(2, 8),
            busy_timeout: connection::BUSY_TIMEOUT,
            writer_stall: Duration::from_secs(10),
            on_batch: None,
        }
    }
}

impl std::fmt::Debug for StoreOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreOptions")
            .field("readers", &self.readers)
            .field("busy_timeout", &self.busy_timeout)
            .field("writer_stall", &self.writer_stall)
            .field("on_batch", &self.on_batch.as_ref().map(|_| "..."))
            .finish()
    }
}

/// The server's handle on the database. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    writer: writer::Handle,
    pool: reader::Pool,
    housekeeper: Arc<Housekeeper>,
    version: Version,
    writer_stall: Duration,
}

impl Store {
    /// How long a commit by another process (the CLI) normally goes
    /// unnoticed by [`Engine::version`]: the housekeeper looks at least
    /// every two of its periods (a wait, then a pause after a checkpoint),
    /// unless a checkpoint is slow.
    pub const EXTERNAL_DELAY: Duration = Duration::from_millis(200);

    /// Opens (creating and migrating if needed) the database at `path`,
    /// starts the writer thread, the read threads and the housekeeper.
    /// Blocks: call it through `didgate_core::blocking::run`.
    pub fn open(path: &Path, options: StoreOptions) -> Result<Store, Error> {
        let db = Db::open_with(path, options.busy_timeout)?;
        let readers = (0..options.readers.max(1))
            .map(|_| connection::open_read_only(path, options.busy_timeout))
            .collect::<Result<Vec<_>, _>>()?;
        let version = Version::default();
        let housekeeper = Arc::new(Housekeeper::start(
            path,
            version.clone(),
            options.busy_timeout,
        )?);
        let snapshots = Arc::new(SnapshotCache::default());
        let after_commit = {
            let (version, housekeeper) = (version.clone(), housekeeper.clone());
            Box::new(move || {
                version.bump();
                housekeeper.committed();
            })
        };
        let hooks = writer::Hooks {
            on_batch: options.on_batch,
            after_commit,
            catch_up: housekeeper.catch_up.clone(),
            snapshots: snapshots.clone(),
        };
        Ok(Store {
            inner: Arc::new(Inner {
                writer: writer::Handle::start(db.into_connection(), hooks)?,
                pool: reader::Pool::new(readers, snapshots)?,
                housekeeper,
                version,
                writer_stall: options.writer_stall,
            }),
        })
    }
}

impl Engine for Store {
    fn read(&self, job: ReadJob) -> BoxFuture<'_, Result<Box<dyn Any + Send>, Error>> {
        Box::pin(self.inner.pool.run(job))
    }

    fn write(&self, job: WriteJob) -> BoxFuture<'_, Result<Outcome, Error>> {
        Box::pin(self.inner.writer.submit(job))
    }

    fn version(&self) -> u64 {
        self.inner.version.get()
    }

    fn external_delay(&self) -> Duration {
        Store::EXTERNAL_DELAY
    }

    fn healthy(&self) -> bool {
        self.inner.writer.healthy(self.inner.writer_stall)
    }

    fn stock_by_area(&self) -> BoxFuture<'_, Result<Vec<(String, i64)>, Error>> {
        Box::pin(
            self.inner
                .pool
                .run_on(|conn| Ok(catalog::stock_by_area(conn)?)),
        )
    }

    /// Stops taking writes and reads, lets the writer commit what is
    /// queued and the read threads answer theirs, and waits for both and
    /// for the housekeeper's last checkpoint.
    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let writer = self.inner.writer.close();
            let readers = self.inner.pool.close();
            let housekeeper = self.inner.housekeeper.clone();
            blocking::run(move || {
                if let Some(writer) = writer {
                    let _ = writer.join();
                }
                for reader in readers {
                    let _ = reader.join();
                }
                housekeeper.stop();
            })
            .await;
        })
    }
}

#[cfg(test)]
mod tests;
