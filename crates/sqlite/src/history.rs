//! The number history: who changed what, when, with which key. Rows are
//! only ever added (the schema's triggers refuse changes).

use didgate_core::domain::{E164, UnixTime};
use didgate_core::engine::{HistoryEvent, StoreResult};
use rusqlite::{Connection, params};

use crate::sql;

/// One recorded event of a number, as operators read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    pub at: UnixTime,
    pub event: String,
    pub field: String,
    pub old_value: String,
    pub new_value: String,
    /// Empty when the event had no account.
    pub account_number: String,
    /// Empty for events of the sweep.
    pub key_id: String,
}

pub(crate) fn record(conn: &Connection, e: &HistoryEvent<'_>) -> StoreResult<()> {
    sql::execute(
        conn,
        "INSERT INTO number_history (e164, event, field, old_value, new_value, account_id, key_id,
                                     created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            e.e164.as_str(),
            e.event,
            e.field,
            e.old,
            e.new,
            e.account_id,
            e.key_id.map(|k| k.as_str()),
            e.at
        ],
    )
    .map(drop)
}

/// Every event of a number, oldest first.
pub(crate) fn history(conn: &Connection, e164: &E164) -> StoreResult<Vec<HistoryEntry>> {
    sql::all(
        conn,
        "SELECT h.created_at, h.event, h.field, h.old_value, h.new_value,
                coalesce(a.number, ''), coalesce(h.key_id, '')
           FROM number_history h LEFT JOIN accounts a ON a.id = h.account_id
          WHERE h.e164 = ?1 ORDER BY h.id",
        [e164.as_str()],
        |r| {
            Ok(HistoryEntry {
                at: r.get(0)?,
                event: r.get(1)?,
                field: r.get(2)?,
                old_value: r.get(3)?,
                new_value: r.get(4)?,
                account_number: r.get(5)?,
                key_id: r.get(6)?,
            })
        },
    )
}

#[cfg(test)]
mod tests {
    use didgate_core::engine::{HistoryEvent, NumberSettings};

    use super::HistoryEntry;
    use crate::testing::{self, NOW, ParseE164};

    #[test]
    fn events_are_recorded_in_order_with_their_account_and_key() {
        let (_dir, _path, mut db) = testing::catalog();
        let owner = testing::account(&mut db, "1000000001", 0);
        let e = "12125550001".parse_e164();
        let key = testing::key_id();
        db.transact(|tx| {
            testing::sell(tx, &e, owner, NumberSettings::default())?;
            let event = |event, field, old, new, key_id| HistoryEvent {
                e164: &e,
                event,
                field,
                old,
                new,
                account_id: Some(owner),
                key_id,
                at: NOW,
            };
            tx.record(&event("ordered", "ORDER_ID", "", "1", Some(&key)))?;
            tx.record(&event("updated", "TITLE", "", "mine", Some(&key)))?;
            tx.record(&event("returned", "", "", "", None))?;
            Ok(())
        })
        .unwrap();
        let got = db.reader().history(&e).unwrap();
        let events: Vec<(&str, &str, &str)> = got
            .iter()
            .map(|h| (h.event.as_str(), h.field.as_str(), h.new_value.as_str()))
            .collect();
        assert_eq!(
            events,
            [
                ("ordered", "ORDER_ID", "1"),
                ("updated", "TITLE", "mine"),
                ("returned", "", "")
            ]
        );
        assert_eq!(
            got[0],
            HistoryEntry {
                at: NOW,
                event: "ordered".into(),
                field: "ORDER_ID".into(),
                old_value: String::new(),
                new_value: "1".into(),
                account_number: "1000000001".into(),
                key_id: key.to_string(),
            }
        );
        assert_eq!(got[2].key_id, "");
        // History is append-only; the schema refuses anything else.
        let refused = db.conn.execute("DELETE FROM number_history", []);
        assert!(refused.is_err());
    }
}
