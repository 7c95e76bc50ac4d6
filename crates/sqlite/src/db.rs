//! [`Db`]: one read-write connection, configured and migrated, for the
//! CLI and tests (the server's [`crate::Store`] hands one to its writer).

use std::path::Path;
use std::time::Duration;

use didgate_core::engine::{Reads, Tx};
use didgate_core::{Error, StoreError};
use rusqlite::{Connection, TransactionBehavior};

use crate::classify::Classified;
use crate::import::{self, CatalogRow, ImportStats, NumberRow};
use crate::inspect::Inspect;
use crate::search::Snapshots;
use crate::session::Session;
use crate::{connection, migrate};

/// One read-write connection, configured and migrated.
pub struct Db {
    pub(crate) conn: Connection,
}

impl Db {
    /// Opens (creating if needed) and migrates the database at `path`, in
    /// WAL mode, waiting up to 5 s for another process's lock.
    pub fn open(path: &Path) -> Result<Db, StoreError> {
        Db::open_with(path, connection::BUSY_TIMEOUT)
    }

    /// [`Db::open`], waiting up to `busy_timeout` for another process's
    /// lock.
    pub fn open_with(path: &Path, busy_timeout: Duration) -> Result<Db, StoreError> {
        let mut conn = connection::open_read_write(path, busy_timeout)?;
        migrate::migrate(&mut conn)?;
        Ok(Db { conn })
    }

    /// Runs `f` in one read transaction (one consistent snapshot).
    pub fn read<T>(&self, f: impl FnOnce(&mut dyn Reads) -> Result<T, Error>) -> Result<T, Error> {
        // Dropped on every path (a panic included), which ends the read.
        let tx = self.conn.unchecked_transaction().classified()?;
        let value = f(&mut Session::new(&tx, Snapshots::None))?;
        tx.commit().classified()?;
        Ok(value)
    }

    /// Runs `f` in one immediate transaction: committed if it returns
    /// `Ok`, rolled back if it returns `Err` or panics.
    pub fn transact<T>(
        &mut self,
        f: impl FnOnce(&mut dyn Tx) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .classified()?;
        let value = f(&mut Session::new(&tx, Snapshots::None))?;
        tx.commit().classified()?;
        Ok(value)
    }

    /// Upserts the catalog and inserts the numbers not yet known, in one
    /// transaction: any error (from `numbers` or from a row) leaves the
    /// database as it was. Re-importing the same data changes nothing.
    /// `progress` hears how many numbers were read, every 10,000 and at
    /// the end.
    pub fn import(
        &mut self,
        catalog: &[CatalogRow],
        numbers: impl Iterator<Item = Result<NumberRow, Error>>,
        progress: impl FnMut(u64),
    ) -> Result<ImportStats, Error> {
        import::import(&mut self.conn, catalog, numbers, progress)
    }

    /// Copies the database with SQLite's online backup, consistent even
    /// while a server writes to it. Refuses to overwrite a file.
    pub fn backup_to(&self, path: &Path) -> Result<(), StoreError> {
        if path.exists() {
            return Err(StoreError::Internal(format!(
                "{} exists: choose a new file",
                path.display()
            )));
        }
        self.conn.backup(rusqlite::MAIN_DB, path, None).classified()
    }

    /// Runs `PRAGMA integrity_check`: `"ok"` for a sound database.
    pub fn integrity_check(&self) -> Result<String, StoreError> {
        self.conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .classified()
    }

    /// Queries for tests and operators that check invariants.
    pub fn reader(&self) -> Inspect<'_> {
        Inspect::new(&self.conn)
    }

    pub(crate) fn into_connection(self) -> Connection {
        self.conn
    }
}

#[cfg(test)]
mod tests {
    use didgate_core::domain::AccountNumber;
    use didgate_core::{DomainError, Error};

    use crate::testing::{self, new_account};

    #[test]
    fn a_transaction_is_kept_only_if_it_succeeds() {
        let (_dir, path, mut db) = testing::catalog();
        let number = AccountNumber::parse("1000000001").unwrap();
        let failed: Result<(), Error> = db.transact(|tx| {
            tx.insert_account(&new_account(&number, None))?;
            Err(DomainError::Conflict("changed my mind".into()).into())
        });
        assert!(failed.is_err());
        assert!(db.read(|r| Ok(r.account(&number)?)).unwrap().is_none());
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _ = db.transact(|tx| -> Result<(), Error> {
                tx.insert_account(&new_account(&number, None))?;
                panic!("bug")
            });
        }));
        assert!(panicked.is_err());
        assert!(db.read(|r| Ok(r.account(&number)?)).unwrap().is_none());
        testing::account(&mut db, "1000000001", 0);
        // Committed: another connection sees it.
        let other = super::Db::open(&path).unwrap();
        assert!(other.read(|r| Ok(r.account(&number)?)).unwrap().is_some());
        assert_eq!(db.integrity_check().unwrap(), "ok");
    }

    #[test]
    fn backups_are_whole_and_never_overwrite() {
        let (dir, _path, db) = testing::catalog();
        let copy = dir.path().join("copy.db");
        db.backup_to(&copy).unwrap();
        assert!(db.backup_to(&copy).is_err(), "refuses an existing file");
        let restored = super::Db::open(&copy).unwrap();
        assert_eq!(restored.reader().counted_stock("ny-212").unwrap(), (10, 10));
    }
}
