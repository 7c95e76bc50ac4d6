//! Opening and configuring connections: the read-write one (WAL, FULL
//! sync, foreign keys, in-memory statement journals) and the read-only
//! ones of the read threads.

use std::path::Path;
use std::time::Duration;

use didgate_core::StoreError;
use rusqlite::{Connection, OpenFlags};

use crate::classify::Classified;

/// How long a connection waits for a lock held by another process (the
/// CLI crediting an account while the server runs) unless told otherwise.
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Prepared statements kept per connection: every statement the engine
/// runs, with room to spare. rusqlite keeps 16 by default, fewer than one
/// order uses (about twenty): each was evicted before its next use and
/// parsed again, which showed in the writer's profile.
const STATEMENT_CACHE: usize = 128;

/// Opens (creating if needed) a read-write connection in WAL mode,
/// configured but not migrated.
pub(crate) fn open_read_write(path: &Path, busy: Duration) -> Result<Connection, StoreError> {
    let conn = Connection::open(path).classified()?;
    conn.busy_timeout(busy).classified()?;
    // WAL lets readers run beside the writer; it is a property of the
    // file, so setting it once suffices, but it is cheap to repeat.
    let mode: String = conn
        .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
        .classified()?;
    if !mode.eq_ignore_ascii_case("wal") && !mode.eq_ignore_ascii_case("memory") {
        return Err(StoreError::Internal(format!(
            "could not enable WAL (got {mode})"
        )));
    }
    conn.pragma_update(None, "foreign_keys", "ON")
        .classified()?;
    conn.pragma_update(None, "synchronous", "FULL")
        .classified()?;
    // The writer runs each job in a SAVEPOINT, whose undo copies of pages
    // (the statement journal) would otherwise go to a temporary file with a
    // write per page; they never need to survive a crash (the WAL does).
    conn.pragma_update(None, "temp_store", "MEMORY")
        .classified()?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}

/// A read-only connection for a read thread. `NO_MUTEX`: each is owned
/// by one thread, so SQLite's own locking of it would be pure cost.
pub(crate) fn open_read_only(path: &Path, busy: Duration) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .classified()?;
    conn.busy_timeout(busy).classified()?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}

/// The housekeeper's connection: read-write (checkpoints write the
/// database file), never used for a transaction of its own.
pub(crate) fn open_housekeeping(path: &Path, busy: Duration) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .classified()?;
    conn.busy_timeout(busy).classified()?;
    Ok(conn)
}
