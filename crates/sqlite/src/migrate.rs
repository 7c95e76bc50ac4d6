//! Applies the workspace's `schema.sql` step by step, versioned with
//! `PRAGMA user_version`.

use rusqlite::{Connection, TransactionBehavior};

use didgate_core::StoreError;

use crate::classify::Classified;

/// The whole schema; the server and the CLI share it with this crate.
const SCHEMA: &str = include_str!("../../../schema.sql");

/// The numbered steps of `schema.sql`, split on `-- version N` lines.
fn steps() -> Vec<(u32, String)> {
    let mut steps: Vec<(u32, String)> = Vec::new();
    for line in SCHEMA.lines() {
        if let Some(n) = line
            .strip_prefix("-- version ")
            .and_then(|n| n.trim().parse().ok())
        {
            steps.push((n, String::new()));
        } else if let Some((_, sql)) = steps.last_mut() {
            sql.push_str(line);
            sql.push('\n');
        }
    }
    steps
}

/// The schema version this build writes.
pub fn latest_version() -> u32 {
    steps().last().map_or(0, |(n, _)| *n)
}

/// Brings the database to the latest version. Each step runs in its own
/// immediate transaction that re-reads the version first, so two processes
/// migrating at once apply every step exactly once.
pub(crate) fn migrate(conn: &mut Connection) -> Result<u32, StoreError> {
    migrate_to(conn, latest_version())
}

/// Applies the steps up to `target` (tests build older databases with it).
pub(crate) fn migrate_to(conn: &mut Connection, target: u32) -> Result<u32, StoreError> {
    let latest = latest_version();
    for (version, sql) in steps().into_iter().filter(|(v, _)| *v <= target) {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .classified()?;
        let current: u32 = tx
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .classified()?;
        if current > latest {
            return Err(StoreError::Internal(format!(
                "database schema version {current} is newer than this didgate ({latest}): upgrade didgate"
            )));
        }
        if current < version {
            tx.execute_batch(&sql).classified()?;
            tx.pragma_update(None, "user_version", version)
                .classified()?;
        }
        tx.commit().classified()?;
    }
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_has_steps_in_order() {
        let versions: Vec<u32> = steps().iter().map(|(n, _)| *n).collect();
        assert!(!versions.is_empty());
        assert!(versions.windows(2).all(|w| w[1] == w[0] + 1));
        assert_eq!(versions[0], 1);
    }

    #[test]
    fn migrating_twice_is_a_no_op() {
        let mut conn = Connection::open_in_memory().unwrap();
        assert_eq!(migrate(&mut conn).unwrap(), latest_version());
        let tables = |c: &Connection| -> Vec<String> {
            let mut s = c
                .prepare("SELECT sql FROM sqlite_schema ORDER BY name")
                .unwrap();
            s.query_map([], |r| r.get::<_, Option<String>>(0))
                .unwrap()
                .map(|r| r.unwrap().unwrap_or_default())
                .collect()
        };
        let before = tables(&conn);
        assert_eq!(migrate(&mut conn).unwrap(), latest_version());
        assert_eq!(tables(&conn), before);
        let v: u32 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, latest_version());
    }

    #[test]
    fn refuses_a_newer_database() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", latest_version() + 1)
            .unwrap();
        assert!(migrate(&mut conn).is_err());
    }
}
