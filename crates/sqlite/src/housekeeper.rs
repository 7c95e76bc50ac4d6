//! The housekeeping thread: checkpoints the WAL off the writer thread and
//! notices commits made by other processes.
//!
//! SQLite's automatic checkpoint runs inside the commit that crosses the
//! threshold, on the writer thread, and ends with an fsync of the database
//! file; every order queued behind that commit waits for it (this was the
//! order p99, see docs/PERFORMANCE.md). Here the writer's automatic
//! checkpoint is raised to a safety net ([`WRITER_AUTOCHECKPOINT`]) and this
//! thread, on its own connection, runs a `PASSIVE` checkpoint after
//! commits, at most every [`Housekeeper::EVERY`]. A passive checkpoint
//! never blocks the writer: the writer keeps appending to the WAL while
//! pages are copied and the database file is synced.
//!
//! Under steady writes a checkpoint running beside the writer never quite
//! catches up (the writer appends while it copies, so "all copied" is
//! already out of date when it returns), and SQLite only starts the WAL
//! over once every frame is copied. So when the WAL has grown past
//! [`CATCH_UP_FRAMES`] the housekeeper raises [`Housekeeper::catch_up`]
//! and the writer, between two batches and after answering its callers,
//! copies the frames that are left: one checkpoint instead of the whole
//! WAL's worth, but one that every queued order waits for. So it is kept
//! rare, by letting the WAL grow large first, and short, by checkpointing
//! back to back beforehand until what is left is small ([`converge`]).
//!
//! The same connection watches `PRAGMA data_version`, which changes when
//! any other connection commits: our writer, or the CLI crediting an
//! account or importing inventory while the server runs. A change bumps
//! the store's [`Version`], so cached read replies made before it are not
//! served again.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use didgate_core::StoreError;
use rusqlite::Connection;

use crate::connection;

/// The writer's own automatic checkpoint threshold, in pages: high enough
/// that the housekeeper always gets there first, there so that the WAL
/// still cannot grow without bound if this thread ever stops.
pub(crate) const WRITER_AUTOCHECKPOINT: i64 = 2 * CATCH_UP_FRAMES;

/// WAL size, in frames (256 MB of 4 KiB pages), past which the writer is
/// asked to catch up. A catch-up holds back every queued order: it copies
/// what the housekeeper's last checkpoint left and fsyncs the database
/// file (6–43 ms on a 100,000-number test database on the benchmark's
/// disk). At 1,000 frames (SQLite's automatic checkpoint) or 8,000 that
/// came several times a second under full order load, enough catch-ups to
/// hold 2% of the orders and set the p99 there (about 35 ms) and to cost
/// 10–15% of the throughput; at 65,536 a catch-up comes every second or
/// two and that p99 fell to 14–18 ms (docs/PERFORMANCE.md, Orders). The
/// WAL only grows that far under sustained writes; the file keeps its size
/// afterwards.
const CATCH_UP_FRAMES: i64 = 65_536;

/// Checkpoints run back to back, at most, before the writer is asked to
/// catch up (see [`converge`]). Under full order load it took up to five.
const CATCH_UP_ROUNDS: usize = 16;

/// New frames between two back-to-back checkpoints below which the
/// remainder is small enough for the writer. The frames' pages lie
/// scattered over the database file, and on the benchmark's disk an fsync
/// after scattered 4 KiB writes took about 2 ms plus 10 µs a page (300
/// pages 9 ms, 1,000 pages 15 ms, 3,000 pages 31 ms): a few hundred
/// frames left for the writer already cost an order's latency budget.
const CATCH_UP_LEFT: i64 = 128;

/// A counter of the database's states: it increases after every commit we
/// make (before its callers are answered) and when another process's
/// commit is noticed. Equal values mean nothing was committed in between.
#[derive(Clone, Default)]
pub(crate) struct Version(Arc<AtomicU64>);

impl Version {
    pub(crate) fn get(&self) -> u64 {
        self.0.load(Ordering::Acquire)
    }

    pub(crate) fn bump(&self) {
        self.0.fetch_add(1, Ordering::AcqRel);
    }
}

#[derive(Default)]
struct Flags {
    /// A commit happened since the last checkpoint.
    dirty: bool,
    stop: bool,
}

/// Wakes the housekeeper after commits and stops it on close.
#[derive(Default)]
struct Signal {
    state: Mutex<Flags>,
    wake: Condvar,
}

pub(crate) struct Housekeeper {
    signal: Arc<Signal>,
    /// Set when the writer should run a (short) checkpoint between batches.
    pub(crate) catch_up: Arc<AtomicBool>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Housekeeper {
    /// How often, at most, a checkpoint runs, and how often another
    /// process's commits are looked for.
    pub(crate) const EVERY: Duration = Duration::from_millis(100);

    pub(crate) fn start(
        path: &Path,
        version: Version,
        busy: Duration,
    ) -> Result<Housekeeper, StoreError> {
        let conn = connection::open_housekeeping(path, busy)?;
        // Read here, not in the thread: a commit made right after `start`
        // returns must count as a change.
        let seen = data_version(&conn);
        let signal = Arc::new(Signal::default());
        let catch_up = Arc::new(AtomicBool::new(false));
        let (s, c) = (signal.clone(), catch_up.clone());
        let thread = std::thread::Builder::new()
            .name("didgate-housekeeper".into())
            .spawn(move || run(&conn, seen, &s, &version, &c))
            .map_err(|e| StoreError::Internal(format!("cannot start housekeeper thread: {e}")))?;
        Ok(Housekeeper {
            signal,
            catch_up,
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Called by the writer after a commit: a checkpoint is due.
    pub(crate) fn committed(&self) {
        let mut state = self.signal.state.lock().unwrap_or_else(|p| p.into_inner());
        if !state.dirty {
            state.dirty = true;
            self.signal.wake.notify_one();
        }
    }

    /// Stops the thread (after a last checkpoint) and waits for it.
    pub(crate) fn stop(&self) {
        self.signal.stop();
        if let Some(t) = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = t.join();
        }
    }
}

impl Drop for Housekeeper {
    /// A store dropped without `close` still stops its housekeeper (after
    /// its last checkpoint), without waiting for it.
    fn drop(&mut self) {
        self.signal.stop();
    }
}

impl Signal {
    fn stop(&self) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.stop = true;
        self.wake.notify_one();
    }
}

fn data_version(conn: &Connection) -> Option<i64> {
    conn.query_row("PRAGMA data_version", [], |r| r.get(0)).ok()
}

fn run(
    conn: &Connection,
    mut seen: Option<i64>,
    signal: &Signal,
    version: &Version,
    catch_up: &AtomicBool,
) {
    loop {
        let (dirty, stop) = {
            let state = signal.state.lock().unwrap_or_else(|p| p.into_inner());
            let (mut state, _) = signal
                .wake
                .wait_timeout_while(state, Housekeeper::EVERY, |s| !s.dirty && !s.stop)
                .unwrap_or_else(|p| p.into_inner());
            let now = (state.dirty, state.stop);
            state.dirty = false;
            now
        };
        let current = data_version(conn);
        if current != seen {
            seen = current;
            version.bump();
        }
        if dirty || stop {
            if let Some((log, _)) = checkpoint(conn).filter(|&(log, _)| log >= CATCH_UP_FRAMES) {
                let started = std::time::Instant::now();
                let rounds = converge(conn, log);
                tracing::debug!(
                    log,
                    rounds,
                    took_ms = started.elapsed().as_secs_f64() * 1e3,
                    "checkpoints converged; asking the writer to catch up"
                );
                catch_up.store(true, Ordering::Release);
            }
        }
        if stop {
            return;
        }
        // Pace checkpoints: the commits of the next interval are copied by
        // one checkpoint (one fsync of the database file), not one each.
        std::thread::sleep(Housekeeper::EVERY);
    }
}

/// Runs checkpoints back to back until one starts fewer than
/// [`CATCH_UP_LEFT`] frames after the last: each copies what the writer
/// appended while the last ran, so the remainder shrinks, and the writer's
/// catch-up (which every queued order waits for) copies and fsyncs only
/// that. Measured on the benchmark's database at full order load: after
/// one checkpoint every catch-up took 62–96 ms (nine of nine); converging
/// to 512 frames, 8 of 18 still took 25–56 ms; converging to 128, 15 of
/// 16 took 2–5 ms (the other 46 ms). `log` is the WAL size the last
/// checkpoint started from. Returns the checkpoints run.
fn converge(conn: &Connection, mut log: i64) -> usize {
    for round in 1..=CATCH_UP_ROUNDS {
        let Some((now, _)) = checkpoint(conn) else {
            return round;
        };
        // Converged, or the WAL was restarted meanwhile and is smaller.
        if now - log <= CATCH_UP_LEFT {
            return round;
        }
        log = now;
    }
    CATCH_UP_ROUNDS
}

/// Runs a passive checkpoint on `conn`; returns the frames in the WAL and
/// the frames copied so far.
pub(crate) fn checkpoint(conn: &Connection) -> Option<(i64, i64)> {
    // (busy, frames in the WAL, frames copied); "busy" only means another
    // checkpoint ran at the same time, and the next one catches up.
    let done = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, i64>(2)?,
        ))
    });
    match done {
        Ok((_, log, copied)) => {
            tracing::trace!(log, copied, "checkpoint");
            Some((log, copied))
        }
        // A full disk or a lock held by another process: the WAL keeps the
        // data safe and the next commit asks again.
        Err(e) => {
            tracing::warn!(error = %e, "checkpoint failed; retrying after the next commit");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_commits_of_other_connections_and_checkpoints_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.db");
        let other = crate::Db::open(&path).unwrap();
        let version = Version::default();
        let keeper = Housekeeper::start(&path, version.clone(), Duration::from_secs(1)).unwrap();
        let before = version.get();
        other
            .conn
            .execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
            .unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while version.get() == before {
            assert!(std::time::Instant::now() < deadline, "commit not noticed");
            std::thread::sleep(Duration::from_millis(10));
        }
        keeper.committed();
        keeper.stop();
        // The last checkpoint copied the WAL into the database file.
        let (log, copied): (i64, i64) = other
            .conn
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
                Ok((r.get(1)?, r.get(2)?))
            })
            .unwrap();
        assert_eq!(log, copied);
    }
}
