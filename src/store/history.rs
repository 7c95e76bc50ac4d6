//! The number history: who changed what, when, with which key.

use rusqlite::{Connection, params};

use super::Reader;
use crate::domain::{E164, UnixTime};
use crate::error::{Error, StoreError};

/// One recorded event of a number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    pub at: UnixTime,
    pub event: String,
    pub field: String,
    pub old_value: String,
    pub new_value: String,
    pub account_number: String,
    pub key_id: String,
}

/// An event about to be recorded.
pub(super) struct Event<'a> {
    pub e164: &'a str,
    pub event: &'static str,
    pub account_id: Option<i64>,
    pub key_id: Option<&'a str>,
}

impl Event<'_> {
    pub(super) fn record(&self, conn: &Connection, now: UnixTime) -> Result<(), StoreError> {
        self.record_change(conn, "", "", "", now)
    }

    pub(super) fn record_change(
        &self,
        conn: &Connection,
        field: &str,
        old: &str,
        new: &str,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        conn.prepare_cached(
            "INSERT INTO number_history (e164, event, field, old_value, new_value, account_id, key_id, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?
        .execute(params![self.e164, self.event, field, old, new, self.account_id, self.key_id, now])?;
        Ok(())
    }
}

impl Reader<'_> {
    /// Every event of a number, oldest first.
    pub fn history(&self, e164: &E164) -> Result<Vec<HistoryEntry>, Error> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT h.created_at, h.event, h.field, h.old_value, h.new_value,
                    coalesce(a.number, ''), coalesce(h.key_id, '')
               FROM number_history h LEFT JOIN accounts a ON a.id = h.account_id
              WHERE h.e164 = ?1 ORDER BY h.id",
        )?;
        let rows = stmt.query_map([e164.as_str()], |r| {
            Ok(HistoryEntry {
                at: r.get(0)?,
                event: r.get(1)?,
                field: r.get(2)?,
                old_value: r.get(3)?,
                new_value: r.get(4)?,
                account_number: r.get(5)?,
                key_id: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
