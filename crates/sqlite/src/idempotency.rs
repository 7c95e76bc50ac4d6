//! Idempotency records: a mutation's typed outcome under its account and
//! `REQUEST_ID`, with the fingerprint that tells a retry from a reuse.
//! Whether to replay, refuse or run is the rules'; this keeps the rows,
//! and the writer prunes them ([`prune`]).

use didgate_core::StoreError;
use didgate_core::domain::{RequestId, UnixTime};
use didgate_core::engine::{IdempotencyRecord, StoreResult};
use didgate_core::outcome::Outcome;
use rusqlite::{Connection, params};

use crate::sql;

/// How long records are kept (the contract promises 24 hours).
pub(crate) const RETENTION_SECS: i64 = 48 * 3600;

/// The record of a request. Rows written before outcomes were stored
/// (schema version 5) hold only rendered bytes, and an outcome that no
/// longer decodes (an older build's shape) is as good as none: both come
/// back with `outcome: None`, for the rules to treat as they see fit.
pub(crate) fn idempotency(
    conn: &Connection,
    account_id: i64,
    request_id: &RequestId,
) -> StoreResult<Option<IdempotencyRecord>> {
    let row: Option<(Vec<u8>, Option<Vec<u8>>)> = sql::optional(
        conn,
        "SELECT fingerprint, outcome FROM idempotency WHERE account_id = ?1 AND request_id = ?2",
        params![account_id, request_id.as_str()],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let Some((fingerprint, outcome)) = row else {
        return Ok(None);
    };
    let fingerprint: [u8; 32] = fingerprint.try_into().map_err(|f: Vec<u8>| {
        StoreError::Internal(format!(
            "idempotency fingerprint of {} bytes, not 32",
            f.len()
        ))
    })?;
    let outcome = outcome.and_then(|bytes| serde_json::from_slice::<Outcome>(&bytes).ok());
    Ok(Some(IdempotencyRecord {
        fingerprint,
        outcome,
    }))
}

/// Keeps a mutation's outcome under its request. The `response` column
/// (rendered bytes, `NOT NULL` since version 1) gets an empty blob.
pub(crate) fn remember(
    conn: &Connection,
    account_id: i64,
    request_id: &RequestId,
    fingerprint: &[u8; 32],
    outcome: &Outcome,
    at: UnixTime,
) -> StoreResult<()> {
    let bytes = serde_json::to_vec(outcome)
        .map_err(|e| StoreError::Internal(format!("cannot serialise an outcome: {e}")))?;
    sql::execute(
        conn,
        "INSERT INTO idempotency (account_id, request_id, fingerprint, response, outcome, created_at)
         VALUES (?1, ?2, ?3, x'', ?4, ?5)",
        params![
            account_id,
            request_id.as_str(),
            &fingerprint[..],
            bytes,
            at
        ],
    )
    .map(drop)
}

/// Drops records older than [`RETENTION_SECS`] at `now` (the
/// `idempotency_age` index); how many.
pub(crate) fn prune(conn: &Connection, now: UnixTime) -> StoreResult<usize> {
    sql::execute(
        conn,
        "DELETE FROM idempotency WHERE created_at < ?1",
        [now - RETENTION_SECS],
    )
}

#[cfg(test)]
mod tests {
    use didgate_core::domain::RequestId;
    use didgate_core::outcome::Outcome;
    use didgate_core::{Error, StoreError};
    use rusqlite::Connection;

    use crate::testing::{self, NOW, ParseE164};
    use crate::{Db, migrate};

    #[test]
    fn an_outcome_is_remembered_as_it_was() {
        let (_dir, _path, mut db) = testing::catalog();
        let owner = testing::account(&mut db, "1000000001", 0);
        let dids = db
            .read(|r| Ok(r.dids(&["12125550001".parse_e164(), "18005550002".parse_e164()])?))
            .unwrap();
        let outcome = Outcome::Listed { dids, total: 7 };
        let id = RequestId::parse("req-1").unwrap();
        let other = RequestId::parse("req-2").unwrap();
        db.transact(|tx| Ok(tx.remember(owner, &id, &[7; 32], &outcome, NOW)?))
            .unwrap();
        let (found, missing) = db
            .transact(|tx| Ok((tx.idempotency(owner, &id)?, tx.idempotency(owner, &other)?)))
            .unwrap();
        let found = found.unwrap();
        assert_eq!(found.fingerprint, [7; 32]);
        assert_eq!(found.outcome, Some(outcome));
        assert!(missing.is_none());
        let again = db.transact(|tx| Ok(tx.remember(owner, &id, &[8; 32], &Outcome::Done, NOW)?));
        assert!(matches!(again, Err(Error::Store(StoreError::Duplicate(_)))));
    }

    #[test]
    fn rows_of_older_versions_or_unreadable_outcomes_have_none() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v4.db");
        {
            // A database as version 4 left it, with a rendered reply.
            let mut conn = Connection::open(&path).unwrap();
            migrate::migrate_to(&mut conn, 4).unwrap();
            conn.execute_batch(
                "INSERT INTO accounts (id, number, name, root_id, created_at)
                 VALUES (1, '1000000001', 'old', 1, 0);
                 INSERT INTO idempotency (account_id, request_id, fingerprint, response, created_at)
                 VALUES (1, 'legacy', zeroblob(32), CAST('<reply/>' AS BLOB), 0);",
            )
            .unwrap();
        }
        let mut db = Db::open(&path).unwrap();
        assert_eq!(migrate::latest_version(), 5);
        let legacy = RequestId::parse("legacy").unwrap();
        let record = db
            .transact(|tx| Ok(tx.idempotency(1, &legacy)?))
            .unwrap()
            .unwrap();
        assert_eq!((record.fingerprint, record.outcome), ([0; 32], None));
        let garbled = RequestId::parse("garbled").unwrap();
        db.transact(|tx| Ok(tx.remember(1, &garbled, &[1; 32], &Outcome::Done, NOW)?))
            .unwrap();
        db.conn
            .execute(
                "UPDATE idempotency SET outcome = x'7b22' WHERE request_id = 'garbled'",
                [],
            )
            .unwrap();
        let record = db
            .transact(|tx| Ok(tx.idempotency(1, &garbled)?))
            .unwrap()
            .unwrap();
        assert_eq!(record.outcome, None);
    }
}
