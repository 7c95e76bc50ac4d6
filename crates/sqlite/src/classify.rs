//! The one mapping from SQLite's errors to the core's [`StoreError`], and
//! the extension that applies it where `?` cannot (neither type is ours,
//! so `From` cannot be implemented between them).

use didgate_core::StoreError;
use rusqlite::ErrorCode;
use rusqlite::ffi;

/// Classifies a SQLite error:
/// - busy, locked, full, I/O, cannot open, out of memory, lock protocol
///   and read-only are conditions of the machine, worth retrying later:
///   [`StoreError::Unavailable`];
/// - a UNIQUE or PRIMARY KEY violation is a taken unique value, which the
///   rule that chose it replaces: [`StoreError::Duplicate`];
/// - any other constraint (CHECK, FOREIGN KEY, NOT NULL, a trigger's
///   RAISE) refused a write the rules allowed: [`StoreError::Constraint`];
/// - everything else (SQL logic errors, type mismatches, a stored value
///   that does not parse) is a bug: [`StoreError::Internal`].
pub(crate) fn classify(e: rusqlite::Error) -> StoreError {
    let msg = e.to_string();
    let rusqlite::Error::SqliteFailure(failure, _) = &e else {
        return StoreError::Internal(msg);
    };
    match failure.code {
        ErrorCode::DatabaseBusy
        | ErrorCode::DatabaseLocked
        | ErrorCode::DiskFull
        | ErrorCode::SystemIoFailure
        | ErrorCode::CannotOpen
        | ErrorCode::OutOfMemory
        | ErrorCode::FileLockingProtocolFailed
        | ErrorCode::ReadOnly => StoreError::Unavailable(msg),
        ErrorCode::ConstraintViolation => match failure.extended_code {
            ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
                StoreError::Duplicate(msg)
            }
            _ => StoreError::Constraint(msg),
        },
        _ => StoreError::Internal(msg),
    }
}

/// `.classified()?` on a rusqlite result: [`classify`] as `?` would
/// apply it through `From`.
pub(crate) trait Classified<T> {
    fn classified(self) -> Result<T, StoreError>;
}

impl<T> Classified<T> for rusqlite::Result<T> {
    fn classified(self) -> Result<T, StoreError> {
        self.map_err(classify)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use rusqlite::Connection;

    use super::*;

    fn table(conn: &Connection) {
        conn.execute_batch(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE,
                             n INTEGER NOT NULL CHECK (n >= 0));
             CREATE TABLE child (t_id INTEGER REFERENCES t(id));
             CREATE TRIGGER t_no_delete BEFORE DELETE ON t BEGIN
                 SELECT RAISE(ABORT, 'rows are immutable');
             END;
             PRAGMA foreign_keys = ON;
             INSERT INTO t (id, name, n) VALUES (1, 'a', 1);",
        )
        .unwrap();
    }

    fn fails(conn: &Connection, sql: &str) -> StoreError {
        classify(conn.execute_batch(sql).unwrap_err())
    }

    #[test]
    fn unique_and_primary_key_violations_are_duplicates() {
        let conn = Connection::open_in_memory().unwrap();
        table(&conn);
        let unique = fails(&conn, "INSERT INTO t (name, n) VALUES ('a', 1)");
        assert!(matches!(unique, StoreError::Duplicate(ref m) if m.contains("UNIQUE")));
        let pk = fails(&conn, "INSERT INTO t (id, name, n) VALUES (1, 'b', 1)");
        assert!(matches!(pk, StoreError::Duplicate(_)), "{pk:?}");
    }

    #[test]
    fn other_constraints_are_constraint_violations() {
        let conn = Connection::open_in_memory().unwrap();
        table(&conn);
        for sql in [
            "INSERT INTO t (name, n) VALUES ('b', -1)",
            "INSERT INTO t (name) VALUES ('b')",
            "INSERT INTO child VALUES (99)",
            "DELETE FROM t",
        ] {
            let e = fails(&conn, sql);
            assert!(matches!(e, StoreError::Constraint(_)), "{sql}: {e:?}");
        }
    }

    #[test]
    fn a_busy_database_is_unavailable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("busy.db");
        let holder = Connection::open(&path).unwrap();
        holder
            .execute_batch("CREATE TABLE t (x); BEGIN IMMEDIATE; INSERT INTO t VALUES (1);")
            .unwrap();
        let other = Connection::open(&path).unwrap();
        other.busy_timeout(Duration::from_millis(20)).unwrap();
        let e = fails(&other, "BEGIN IMMEDIATE");
        assert!(matches!(e, StoreError::Unavailable(_)), "{e:?}");
    }

    #[test]
    fn logic_errors_and_misses_are_internal() {
        let conn = Connection::open_in_memory().unwrap();
        let e = fails(&conn, "SELECT * FROM missing");
        assert!(matches!(e, StoreError::Internal(_)), "{e:?}");
        let none = conn
            .query_row("SELECT 1 WHERE 0", [], |r| r.get::<_, i64>(0))
            .classified();
        assert!(matches!(none, Err(StoreError::Internal(_))));
    }
}
