//! `DID.SEARCH`: available numbers of an area, optionally matching a
//! `CONTAINS` pattern anywhere in their national part.
//!
//! Without a pattern the search is a range of the `dids_area` index
//! `(area_id, 'available', e164)`: the first `LIMIT` entries.
//!
//! With a pattern, a range scan would read the whole area when matches are
//! rare (150 ms for a million numbers). Instead each searched area has an
//! in-memory snapshot ([`AreaSnapshot`]): every number of the area, in
//! E.164 order, as one contiguous buffer of digits and newlines. The search
//! runs `memchr::memmem` (SIMD substring search) for the pattern's longest
//! run of fixed digits over that buffer, checks wildcards and the national
//! part around each hit, and asks SQLite whether the number is still
//! available, stopping after `LIMIT` available matches. A pattern that
//! matches nothing reads about 12 MB of memory per million numbers (a few
//! milliseconds). So each snapshot also carries a [`GramIndex`] of the
//! four-digit groups of its national numbers: a pattern checks only the
//! numbers listed under the groups it can occupy (about one in 1,400 for a
//! random group; twenty groups for "555", ten for "12*4"), and only
//! patterns that would need more than a hundred groups ("5", "5*5"), which
//! match so often that they stop early, scan.
//!
//! The numbers found are all of the area's stock, so their reply records
//! are the area's record with the number filled in (`dids::offered`).
//! Numbers never leave their area, so a snapshot goes stale
//! only when an import adds numbers; `areas.numbers` (kept by triggers)
//! tells, and a stale snapshot is rebuilt on the next search.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OptionalExtension};

use super::grams::GramIndex;
use super::{Reader, dids};
use crate::domain::{AreaId, ContainsPattern, CountryId, Did, DidType, national_number};
use crate::error::{DomainError, Error, StoreError};

/// Which area(s) to search.
#[derive(Debug, Clone)]
pub enum AreaSelect {
    Id(AreaId),
    /// Every area of a country with this area code (of `did_type`, when given).
    Code {
        country: CountryId,
        area_code: String,
    },
}

#[derive(Debug, Clone)]
pub struct SearchQuery {
    pub area: AreaSelect,
    pub did_type: Option<DidType>,
    pub contains: Option<ContainsPattern>,
    pub limit: u32,
}

/// Every number of one area, for pattern search.
struct AreaSnapshot {
    /// `areas.numbers` when the snapshot was built.
    count: i64,
    /// E.164 digits of each number followed by `\n`, in E.164 order.
    text: String,
    /// Where each number starts in `text`.
    starts: Vec<u32>,
    /// The numbers by the four-digit groups of their national part.
    grams: Option<GramIndex>,
}

impl AreaSnapshot {
    fn build(conn: &Connection, area: &str, count: i64) -> Result<AreaSnapshot, Error> {
        let mut stmt = conn.prepare_cached("SELECT e164 FROM dids WHERE area_id = ?1")?;
        let mut numbers: Vec<String> = stmt
            .query_map([area], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        numbers.sort_unstable();
        let mut text = Vec::with_capacity(numbers.len() * 13);
        let mut starts = Vec::with_capacity(numbers.len());
        for n in &numbers {
            starts.push(
                u32::try_from(text.len())
                    .map_err(|_| StoreError::Internal("area too large".into()))?,
            );
            text.extend_from_slice(n.as_bytes());
            text.push(b'\n');
        }
        Ok(AreaSnapshot::new(count, text, starts))
    }

    fn new(count: i64, text: Vec<u8>, starts: Vec<u32>) -> AreaSnapshot {
        // Digits from our own table; anything else would only fail to match.
        let text = String::from_utf8(text)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
        let mut snapshot = AreaSnapshot {
            count,
            text,
            starts,
            grams: None,
        };
        snapshot.grams =
            GramIndex::build((0..snapshot.starts.len()).map(|i| snapshot.national(i).as_bytes()));
        snapshot
    }

    /// The E.164 number of entry `i`.
    fn e164(&self, i: usize) -> &str {
        let begin = self.starts[i] as usize;
        let end = self
            .starts
            .get(i + 1)
            .map_or(self.text.len(), |&s| s as usize)
            - 1;
        self.text.get(begin..end).unwrap_or("")
    }

    fn national(&self, i: usize) -> &str {
        national_number(self.e164(i))
    }

    /// The numbers matching `pattern`, in E.164 order, for which
    /// `available` holds, at most `limit` of them: through the gram index
    /// when the pattern has four fixed digits in a row, else by a scan.
    fn matches(
        &self,
        pattern: &ContainsPattern,
        limit: usize,
        available: impl FnMut(&str) -> Result<bool, Error>,
    ) -> Result<Vec<String>, Error> {
        match self
            .grams
            .as_ref()
            .and_then(|g| g.candidates(pattern.digits()))
        {
            Some(candidates) => self.check(candidates, pattern, limit, available),
            None => self.scan(pattern, limit, available),
        }
    }

    /// Checks the numbers at `positions` (in increasing order).
    fn check(
        &self,
        positions: impl Iterator<Item = u32>,
        pattern: &ContainsPattern,
        limit: usize,
        mut available: impl FnMut(&str) -> Result<bool, Error>,
    ) -> Result<Vec<String>, Error> {
        let mut found = Vec::new();
        for i in positions {
            let i = i as usize;
            if i >= self.starts.len() || !pattern.matches(self.national(i).as_bytes()) {
                continue;
            }
            let e164 = self.e164(i);
            if available(e164)? {
                found.push(e164.to_owned());
                if found.len() == limit {
                    break;
                }
            }
        }
        Ok(found)
    }

    /// Finds the pattern's longest fixed run with a SIMD substring search
    /// over the whole snapshot. A hit only says which number to check: the
    /// whole national part is checked at once (every placement of the
    /// pattern, overlapping ones included), and the search goes on from
    /// the next number, so a run that every number shares (the "12" of
    /// "1212...") costs one check per number, not one per occurrence.
    fn scan(
        &self,
        pattern: &ContainsPattern,
        limit: usize,
        available: impl FnMut(&str) -> Result<bool, Error>,
    ) -> Result<Vec<String>, Error> {
        let (_, literal) = pattern.longest_literal();
        let finder = memchr::memmem::Finder::new(&literal);
        let text = self.text.as_bytes();
        let (mut entry, mut from) = (0, 0);
        let positions = std::iter::from_fn(|| {
            let hit = from + finder.find(&text[from..])?;
            // Hits come in order: gallop forward from the last entry.
            entry = self.entry_at(hit, entry);
            from = self
                .starts
                .get(entry + 1)
                .map_or(text.len(), |&s| s as usize);
            u32::try_from(entry).ok()
        });
        self.check(positions, pattern, limit, available)
    }

    /// The entry holding byte `at` of `text`, at or after entry `from`.
    fn entry_at(&self, at: usize, from: usize) -> usize {
        let rest = &self.starts[from..];
        let mut step = 1;
        while step < rest.len() && rest[step] as usize <= at {
            step *= 2;
        }
        let window = &rest[..step.min(rest.len())];
        from + window.partition_point(|&s| s as usize <= at) - 1
    }
}

/// The snapshots of the areas searched so far, shared by the read threads.
#[derive(Default)]
pub struct SearchCache {
    areas: Mutex<HashMap<String, Arc<AreaSnapshot>>>,
    /// Held while a snapshot is built: the searches that arrive meanwhile
    /// (a burst right after a start) wait for that one build instead of
    /// each reading the whole area again.
    building: Mutex<()>,
}

impl SearchCache {
    fn snapshot(&self, conn: &Connection, area: &str) -> Result<Arc<AreaSnapshot>, Error> {
        let count: i64 = conn
            .prepare_cached("SELECT numbers FROM areas WHERE id = ?1")?
            .query_row([area], |r| r.get(0))?;
        if let Some(s) = self.current(area, count) {
            return Ok(s);
        }
        let _building = self.building.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = self.current(area, count) {
            return Ok(s);
        }
        let snapshot = Arc::new(AreaSnapshot::build(conn, area, count)?);
        self.areas
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(area.to_owned(), snapshot.clone());
        Ok(snapshot)
    }

    /// The cached snapshot of `area` if it holds `count` numbers.
    fn current(&self, area: &str, count: i64) -> Option<Arc<AreaSnapshot>> {
        let areas = self.areas.lock().unwrap_or_else(|p| p.into_inner());
        areas.get(area).filter(|s| s.count == count).cloned()
    }
}

impl Reader<'_> {
    pub fn search(&self, q: &SearchQuery) -> Result<Vec<Did>, Error> {
        let areas = self.search_areas(q)?;
        let limit = q.limit as usize;
        let mut hits: Vec<(String, String)> = Vec::with_capacity(limit);
        for area in &areas {
            match &q.contains {
                None => {
                    let mut stmt = self.conn.prepare_cached(
                        "SELECT e164 FROM dids WHERE area_id = ?1 AND status = 'available' ORDER BY e164 LIMIT ?2",
                    )?;
                    let rows = stmt
                        .query_map(rusqlite::params![area, q.limit], |r| r.get::<_, String>(0))?;
                    for row in rows {
                        hits.push((row?, area.clone()));
                    }
                }
                Some(pattern) => {
                    let owned;
                    let cache = match self.search_cache {
                        Some(c) => c,
                        None => {
                            owned = SearchCache::default();
                            &owned
                        }
                    };
                    let snapshot = cache.snapshot(self.conn, area)?;
                    let mut status = self
                        .conn
                        .prepare_cached("SELECT status = 'available' FROM dids WHERE e164 = ?1")?;
                    let found = snapshot.matches(pattern, limit, |e164| {
                        Ok(status
                            .query_row([e164], |r| r.get::<_, bool>(0))
                            .optional()?
                            .unwrap_or(false))
                    })?;
                    hits.extend(found.into_iter().map(|e164| (e164, area.clone())));
                }
            }
        }
        // Several areas share a code only rarely; merge them in E.164 order.
        hits.sort();
        hits.truncate(limit);
        Ok(dids::offered(self.conn, hits)?)
    }

    fn search_areas(&self, q: &SearchQuery) -> Result<Vec<String>, Error> {
        match &q.area {
            AreaSelect::Id(id) => {
                let t: String = self
                    .conn
                    .prepare_cached("SELECT did_type FROM areas WHERE id = ?1")?
                    .query_row([id.as_str()], |r| r.get(0))
                    .optional()?
                    .ok_or_else(|| DomainError::NotFound(format!("area {id}")))?;
                if let Some(want) = q.did_type.filter(|w| w.as_str() != t) {
                    return Err(DomainError::Invalid {
                        name: "DID_TYPE",
                        reason: format!("is {want} but area {id} sells {t} numbers"),
                    }
                    .into());
                }
                Ok(vec![id.to_string()])
            }
            AreaSelect::Code { country, area_code } => {
                let found: Vec<(String, String)> = self
                    .conn
                    .prepare_cached("SELECT id, did_type FROM areas WHERE country_id = ?1 AND area_code = ?2 ORDER BY id")?
                    .query_map(rusqlite::params![country.as_str(), area_code], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<Result<_, _>>()?;
                if found.is_empty() {
                    return Err(DomainError::NotFound(format!(
                        "area code {area_code} in country {country}"
                    ))
                    .into());
                }
                let Some(want) = q.did_type else {
                    return Ok(found.into_iter().map(|(id, _)| id).collect());
                };
                let kinds: Vec<String> = found.iter().map(|(_, t)| t.clone()).collect();
                let of_type: Vec<String> = found
                    .into_iter()
                    .filter(|(_, t)| t == want.as_str())
                    .map(|(id, _)| id)
                    .collect();
                // The areas exist but sell another type: the contract calls
                // that a wrong DID_TYPE, not a missing area.
                if of_type.is_empty() {
                    return Err(DomainError::Invalid {
                        name: "DID_TYPE",
                        reason: format!(
                            "is {want} but area code {area_code} in {country} sells {} numbers",
                            kinds.join(", ")
                        ),
                    }
                    .into());
                }
                Ok(of_type)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(numbers: &[&str]) -> AreaSnapshot {
        let mut text = Vec::new();
        let mut starts = Vec::new();
        for n in numbers {
            starts.push(text.len() as u32);
            text.extend_from_slice(n.as_bytes());
            text.push(b'\n');
        }
        AreaSnapshot::new(numbers.len() as i64, text, starts)
    }

    /// Both ways of searching, which must agree.
    fn find(s: &AreaSnapshot, p: &str) -> Vec<String> {
        let pattern = ContainsPattern::parse(p).unwrap();
        let scanned = s.scan(&pattern, 10, |_| Ok(true)).unwrap();
        assert_eq!(
            s.matches(&pattern, 10, |_| Ok(true)).unwrap(),
            scanned,
            "{p}"
        );
        scanned
    }

    #[test]
    fn matches_in_the_national_part_only_and_once_per_number() {
        let s = snapshot(&["12121111111", "12125559653", "13059653965", "14155550100"]);
        assert_eq!(find(&s, "WOLF"), vec!["12125559653", "13059653965"]);
        // "1212" occurs in the first numbers only across the country code.
        assert_eq!(find(&s, "1212"), Vec::<String>::new());
        assert_eq!(find(&s, "212"), vec!["12121111111", "12125559653"]);
        assert_eq!(find(&s, "0*00"), vec!["14155550100"]);
        // A pattern never spans two numbers.
        assert_eq!(find(&s, "11111112"), Vec::<String>::new());
        // Overlapping occurrences of the literal are all tried.
        let s = snapshot(&["14155550102"]);
        assert_eq!(find(&s, "555*102"), vec!["14155550102"]);
    }

    #[test]
    fn stops_at_the_limit_and_skips_unavailable_numbers() {
        let s = snapshot(&["12125550001", "12125550002", "12125550003"]);
        for p in ["555", "5550"] {
            let p = ContainsPattern::parse(p).unwrap();
            let got = s.matches(&p, 1, |e| Ok(e != "12125550001")).unwrap();
            assert_eq!(got, vec!["12125550002"]);
        }
    }

    proptest::proptest! {
        /// The gram index and the scan both find exactly the first matches.
        #[test]
        fn index_and_scan_agree(
            locals in proptest::collection::btree_set("[0-9]{7}", 1..300),
            pattern in "[0-9*]{0,3}[0-9]{1,6}[0-9*]{0,3}",
            limit in 1usize..40,
        ) {
            let numbers: Vec<String> = locals.iter().map(|l| format!("1212{l}")).collect();
            let refs: Vec<&str> = numbers.iter().map(String::as_str).collect();
            let s = snapshot(&refs);
            let p = ContainsPattern::parse(&pattern).unwrap();
            let skip = |e: &str| Ok(!e.ends_with('3'));
            // What the search must find: the first matches, by brute force.
            let want: Vec<String> = numbers
                .iter()
                .filter(|n| !n.ends_with('3') && p.matches(national_number(n).as_bytes()))
                .take(limit)
                .cloned()
                .collect();
            proptest::prop_assert_eq!(&s.matches(&p, limit, skip).unwrap(), &want);
            proptest::prop_assert_eq!(&s.scan(&p, limit, skip).unwrap(), &want);
        }
    }
}
