//! [`Inspect`]: queries over a [`crate::Db`] that tests and operators use
//! to check invariants (counters against counts, balances against the
//! ledger) and to read a number's history. The service never needs them.

use didgate_core::Error;
use didgate_core::domain::{AccountNumber, Country, Did, DidType, E164, Money100};
use rusqlite::Connection;

use crate::history::HistoryEntry;
use crate::{accounts, catalog, dids, history, ledger, sql};

/// A read view over a [`crate::Db`]'s connection; it never writes.
pub struct Inspect<'c> {
    conn: &'c Connection,
}

impl<'c> Inspect<'c> {
    pub(crate) fn new(conn: &'c Connection) -> Inspect<'c> {
        Inspect { conn }
    }

    /// An area's available numbers counted from the numbers themselves,
    /// and its maintained `stock` counter: the two must agree.
    pub fn counted_stock(&self, area_id: &str) -> Result<(i64, i64), Error> {
        Ok(sql::one(
            self.conn,
            "SELECT (SELECT count(*) FROM dids WHERE area_id = ?1 AND status = 'available'),
                    (SELECT stock FROM areas WHERE id = ?1)",
            [area_id],
            |r| Ok((r.get(0)?, r.get::<_, Option<i64>>(1)?.unwrap_or(0))),
        )?)
    }

    /// The sum of an account's ledger, which must equal its balance.
    pub fn ledger_sum(&self, account: &AccountNumber) -> Result<Money100, Error> {
        Ok(ledger::ledger_sum(self.conn, account)?)
    }

    /// The balance shown for an account number (its tree's); `NOT_FOUND`
    /// for an unknown number.
    pub fn balance_of(&self, account: &AccountNumber) -> Result<Money100, Error> {
        ledger::balance_of(self.conn, account)
    }

    /// Every number an account owns (active or aging), by E.164.
    pub fn dids_of(&self, account: &AccountNumber) -> Result<Vec<Did>, Error> {
        Ok(dids::dids_of(self.conn, account)?)
    }

    /// Countries with at least one area (of `did_type`, when given).
    pub fn countries(&self, did_type: Option<DidType>) -> Result<Vec<Country>, Error> {
        Ok(catalog::countries(self.conn, did_type)?)
    }

    /// The balance of the billing account `root_id`.
    pub fn balance(&self, root_id: i64) -> Result<Money100, Error> {
        Ok(accounts::balance(self.conn, root_id)?)
    }

    /// Every event of a number, oldest first.
    pub fn history(&self, e164: &E164) -> Result<Vec<HistoryEntry>, Error> {
        Ok(history::history(self.conn, e164)?)
    }

    /// Every area's stock counter, by area id.
    pub fn stock_by_area(&self) -> Result<Vec<(String, i64)>, Error> {
        Ok(catalog::stock_by_area(self.conn)?)
    }
}
