//! Loading numbers as the contract's `DID` records.

use rusqlite::Connection;

use super::Reader;
use super::numbers::{FilterSql, filter_sql};
use crate::domain::{AccountNumber, Did, DidFilter, DidStatus, DidType, Money100, Principal};
use crate::error::{Error, StoreError};

const SELECT_DID: &str = "
    SELECT d.e164, a.did_type, d.sms_url, d.sms_email, d.sms_phone, d.forward_type, d.forward_to,
           d.status, c.name, a.name, a.area_code, d.monthly100, d.setup100, d.rate_plan_id,
           d.title, coalesce(o.number, ''), d.ordered_at
      FROM dids d
      JOIN areas a ON a.id = d.area_id
      JOIN countries c ON c.id = a.country_id
      LEFT JOIN accounts o ON o.id = d.account_id";

fn row_to_did(r: &rusqlite::Row<'_>) -> rusqlite::Result<Did> {
    let t: String = r.get(1)?;
    let status: String = r.get(7)?;
    Ok(Did {
        e164: r.get(0)?,
        did_type: DidType::parse(&t).unwrap_or(DidType::Geographic),
        sms_url: r.get(2)?,
        sms_email: r.get(3)?,
        sms_phone: r.get(4)?,
        forward_type: r.get(5)?,
        forward_to: r.get(6)?,
        status: match status.as_str() {
            "active" => DidStatus::Active,
            "aging" => DidStatus::Canceled,
            _ => DidStatus::Available,
        },
        country_name: r.get(8)?,
        area_name: r.get(9)?,
        area_code: r.get(10)?,
        monthly: Money100(r.get(11)?),
        setup: Money100(r.get(12)?),
        rate_plan_id: r.get(13)?,
        title: r.get(14)?,
        account_number: r.get(15)?,
        order_date: r.get(16)?,
    })
}

/// Numbers not yet sold (search results, reservation contents), as
/// `Available` with the prices of their area's default plan: `SU` where
/// the area offers it, else its first plan by id.
pub(super) fn load_offered(conn: &Connection, e164s: &[String]) -> Result<Vec<Did>, StoreError> {
    let mut area_of = conn.prepare_cached("SELECT area_id FROM dids WHERE e164 = ?1")?;
    let numbers = e164s
        .iter()
        .map(|e| Ok((e.clone(), area_of.query_row([e], |r| r.get(0))?)))
        .collect::<Result<Vec<(String, String)>, StoreError>>()?;
    offered(conn, numbers)
}

/// Numbers not yet sold, each with its area, as `load_offered` describes.
/// What the reply says of a number besides itself is its area's, so each
/// area is read once however many of its numbers are listed (a search
/// returns up to a hundred of one area).
pub(super) fn offered(
    conn: &Connection,
    numbers: Vec<(String, String)>,
) -> Result<Vec<Did>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT a.did_type, c.name, a.name, a.area_code,
                coalesce(p.rate_plan_id, ''), coalesce(p.monthly100, 0), coalesce(p.setup100, 0)
           FROM areas a
           JOIN countries c ON c.id = a.country_id
           LEFT JOIN area_rate_plans p ON p.area_id = a.id AND p.rate_plan_id =
                (SELECT rate_plan_id FROM area_rate_plans WHERE area_id = a.id
                  ORDER BY rate_plan_id <> 'SU', rate_plan_id LIMIT 1)
          WHERE a.id = ?1",
    )?;
    let mut areas: Vec<(String, Did)> = Vec::new();
    let mut dids = Vec::with_capacity(numbers.len());
    for (e164, area) in numbers {
        let template = match areas.iter().find(|(id, _)| *id == area) {
            Some((_, did)) => did,
            None => {
                let did = stmt.query_row([&area], |r| {
                    let t: String = r.get(0)?;
                    Ok(Did {
                        e164: String::new(),
                        did_type: DidType::parse(&t).unwrap_or(DidType::Geographic),
                        sms_url: String::new(),
                        sms_email: String::new(),
                        sms_phone: String::new(),
                        forward_type: String::new(),
                        forward_to: String::new(),
                        status: DidStatus::Available,
                        country_name: r.get(1)?,
                        area_name: r.get(2)?,
                        area_code: r.get(3)?,
                        monthly: Money100(r.get(5)?),
                        setup: Money100(r.get(6)?),
                        rate_plan_id: r.get(4)?,
                        title: String::new(),
                        account_number: String::new(),
                        order_date: None,
                    })
                })?;
                areas.push((area, did));
                &areas.last().expect("just pushed").1
            }
        };
        dids.push(Did {
            e164,
            ..template.clone()
        });
    }
    Ok(dids)
}

/// The numbers `e164s`, in the order given.
pub(super) fn load(conn: &Connection, e164s: &[String]) -> Result<Vec<Did>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!("{SELECT_DID} WHERE d.e164 = ?1"))?;
    e164s
        .iter()
        .map(|e| stmt.query_row([e], row_to_did).map_err(StoreError::from))
        .collect()
}

impl Reader<'_> {
    /// `DID.LIST`: the target account's numbers matching `filter`, sorted by
    /// E.164, one page of them, and how many match in all.
    pub fn list_dids(
        &self,
        principal: &Principal,
        target: Option<&AccountNumber>,
        filter: &DidFilter,
        limit: u32,
        offset: u64,
    ) -> Result<(Vec<Did>, u64), Error> {
        let owner = super::accounts::resolve_target(self.conn, principal, target)?;
        let FilterSql {
            from_where,
            mut params,
        } = filter_sql(owner.id, filter);
        let total: i64 = self
            .conn
            .prepare_cached(&format!("SELECT count(*) FROM {from_where}"))?
            .query_row(rusqlite::params_from_iter(&params), |r| r.get(0))?;
        // The page is chosen in the index alone; only its rows are joined.
        let n = params.len();
        params.push(rusqlite::types::Value::Integer(limit.into()));
        params.push(rusqlite::types::Value::Integer(
            offset.min(i64::MAX as u64) as i64
        ));
        let mut stmt = self.conn.prepare_cached(&format!(
            "{SELECT_DID} WHERE d.e164 IN (SELECT d.e164 FROM {from_where} ORDER BY d.e164 LIMIT ?{} OFFSET ?{})
              ORDER BY d.e164",
            n + 1,
            n + 2
        ))?;
        let rows = stmt.query_map(rusqlite::params_from_iter(&params), row_to_did)?;
        Ok((rows.collect::<Result<_, _>>()?, total as u64))
    }

    /// Every number an account owns (active or aging), by E.164; used by
    /// tests and operators to check invariants.
    pub fn dids_of(&self, account: &AccountNumber) -> Result<Vec<Did>, Error> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("{SELECT_DID} WHERE o.number = ?1 ORDER BY d.e164"))?;
        let rows = stmt.query_map([account.as_str()], row_to_did)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Whether a canceled number has finished aging, or a reservation has
    /// expired, by `now`.
    pub fn sweep_due(&self, now: crate::domain::UnixTime) -> Result<bool, Error> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM dids WHERE status = 'aging' AND aging_until <= ?1)
                     OR EXISTS (SELECT 1 FROM reservations WHERE state = 'open' AND expires_at <= ?1)",
            )?
            .query_row([now], |r| r.get(0))?)
    }

    /// How many numbers of an area are in stock, counted from the numbers
    /// themselves (not the maintained counter), to check the counter.
    pub fn counted_stock(&self, area_id: &str) -> Result<(i64, i64), Error> {
        Ok(self.conn.query_row(
            "SELECT (SELECT count(*) FROM dids WHERE area_id = ?1 AND status = 'available'),
                    (SELECT stock FROM areas WHERE id = ?1)",
            [area_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?)
    }
}
