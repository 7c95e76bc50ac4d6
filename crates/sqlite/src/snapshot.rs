//! In-memory snapshots of areas for `CONTAINS` search, and the cache of
//! them that the read threads share.
//!
//! A snapshot ([`AreaSnapshot`]) is every number of one area, in E.164
//! order, as one contiguous buffer of digits and newlines, with a
//! [`GramIndex`] of the four-digit groups of its national numbers. A
//! pattern checks only the numbers listed under the groups it can occupy
//! (about one in 1,400 for a random group; twenty groups for "555", ten
//! for "12*4"); only patterns that would need more than a hundred groups
//! ("5", "5*5"), which match so often that they stop early, scan the
//! buffer with `memchr::memmem` (SIMD substring search) for their longest
//! run of fixed digits. A pattern that matches nothing thus reads a few
//! gram lists instead of the whole area (a range scan of a million
//! numbers took 150 ms).
//!
//! A snapshot holds numbers whatever their status, so it never goes stale
//! when numbers are sold or released; the caller confirms each candidate
//! is still available. Numbers never leave their area, so a snapshot goes
//! stale only when an import adds numbers: `areas.numbers` (kept by
//! triggers and the import) tells, and a stale snapshot is rebuilt.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use didgate_core::StoreError;
use didgate_core::domain::{AreaId, ContainsPattern, national_number};
use didgate_core::engine::StoreResult;
use rusqlite::Connection;

use crate::grams::GramIndex;
use crate::sql;

/// Every number of one area, for pattern search.
pub(crate) struct AreaSnapshot {
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
    fn build(conn: &Connection, area: &AreaId, count: i64) -> StoreResult<AreaSnapshot> {
        // The `(area_id)` range of `dids_area`, which orders by status
        // first: hence the sort.
        let mut numbers: Vec<String> = sql::all(
            conn,
            "SELECT e164 FROM dids WHERE area_id = ?1",
            [area.as_str()],
            |r| r.get(0),
        )?;
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
    /// when it narrows the search down, else by a scan.
    pub(crate) fn matches(
        &self,
        pattern: &ContainsPattern,
        limit: usize,
        available: impl FnMut(&str) -> StoreResult<bool>,
    ) -> StoreResult<Vec<String>> {
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
        mut available: impl FnMut(&str) -> StoreResult<bool>,
    ) -> StoreResult<Vec<String>> {
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
        available: impl FnMut(&str) -> StoreResult<bool>,
    ) -> StoreResult<Vec<String>> {
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

/// The snapshots of the areas searched so far, shared by the read threads
/// (and looked at, never built, by the writer).
#[derive(Default)]
pub(crate) struct SnapshotCache {
    areas: Mutex<HashMap<AreaId, Arc<AreaSnapshot>>>,
    /// Held while a snapshot is built: the searches that arrive meanwhile
    /// (a burst right after a start) wait for that one build instead of
    /// each reading the whole area again.
    building: Mutex<()>,
}

impl SnapshotCache {
    /// The snapshot of `area` at `count` numbers, built if the cached one
    /// is missing or stale.
    pub(crate) fn snapshot(
        &self,
        conn: &Connection,
        area: &AreaId,
        count: i64,
    ) -> StoreResult<Arc<AreaSnapshot>> {
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
            .insert(area.clone(), snapshot.clone());
        Ok(snapshot)
    }

    /// The cached snapshot of `area` if it holds `count` numbers.
    pub(crate) fn current(&self, area: &AreaId, count: i64) -> Option<Arc<AreaSnapshot>> {
        let areas = self.areas.lock().unwrap_or_else(|p| p.into_inner());
        areas.get(area).filter(|s| s.count == count).cloned()
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
