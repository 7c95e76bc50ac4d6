//! An index of the four-digit groups ("grams") in an area's national
//! numbers, so that a `CONTAINS` search for a rare pattern visits the few
//! numbers that can match instead of scanning the whole area.
//!
//! For each of the 10,000 grams the index lists, in E.164 order, the
//! numbers (by position in the area snapshot) whose national part contains
//! it. Every occurrence of a pattern lies inside some four-digit window of
//! the national number, so the numbers a pattern can match are those
//! listed under the grams that window can be:
//! - a fixed run of four digits ("9653" of "WOLF") names one gram, and the
//!   search walks the shortest such list;
//! - a window with wildcards ("12*4") stands for ten grams per `*`;
//! - a pattern shorter than a gram ("555") lies in a window that extends
//!   it on either side ("555?" or "?555"), twenty grams.
//!
//! The lists of those grams are merged in order. A pattern that would need
//! more than [`MAX_LISTS`] lists ("5", "5*5") matches so many numbers that
//! a scan of the snapshot finds `LIMIT` matches sooner.
//!
//! Lists are stored as gaps between positions in LEB128 varints: a
//! 1,000,000-number area (seven grams per ten-digit national number) takes
//! about 10 MB instead of 28 MB as plain `u32`s.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Digits in a gram.
const GRAM: usize = 4;
const GRAMS: usize = 10_000;

/// The most gram lists merged for one pattern.
const MAX_LISTS: usize = 100;

pub(crate) struct GramIndex {
    /// Where each gram's list starts in `bytes`; `GRAMS + 1` entries.
    offsets: Vec<u32>,
    bytes: Vec<u8>,
    /// Whether some national number is shorter than a gram: such a number
    /// is in no list, so a pattern shorter than a gram must scan.
    short: bool,
}

/// The gram of four ASCII digits, or `None` if any is not a digit.
fn gram(window: &[u8]) -> Option<usize> {
    window.iter().try_fold(0usize, |acc, &d| {
        d.is_ascii_digit().then(|| acc * 10 + usize::from(d - b'0'))
    })
}

fn push_varint(out: &mut Vec<u8>, mut v: u32) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

impl GramIndex {
    /// Indexes `nationals`, the national parts of the snapshot's numbers
    /// in snapshot order (position `i` is the `i`-th item).
    pub(crate) fn build<'a>(nationals: impl Iterator<Item = &'a [u8]>) -> Option<GramIndex> {
        let mut lists: Vec<Vec<u8>> = vec![Vec::new(); GRAMS];
        let mut last: Vec<u32> = vec![u32::MAX; GRAMS];
        let mut short = false;
        for (i, national) in nationals.enumerate() {
            let i = u32::try_from(i).ok()?;
            short |= national.len() < GRAM;
            for window in national.windows(GRAM) {
                let Some(g) = gram(window) else { continue };
                // A number lists once under a gram it contains twice.
                if last[g] == i {
                    continue;
                }
                let gap = if last[g] == u32::MAX { i } else { i - last[g] };
                push_varint(&mut lists[g], gap);
                last[g] = i;
            }
        }
        let total: usize = lists.iter().map(Vec::len).sum();
        let mut bytes = Vec::with_capacity(total);
        let mut offsets = Vec::with_capacity(GRAMS + 1);
        for list in &lists {
            offsets.push(u32::try_from(bytes.len()).ok()?);
            bytes.extend_from_slice(list);
        }
        offsets.push(u32::try_from(bytes.len()).ok()?);
        Some(GramIndex {
            offsets,
            bytes,
            short,
        })
    }

    /// The positions, in increasing order, of a superset of the numbers
    /// whose national part can contain `pattern` (digits, `None` for any
    /// digit). `None` when the index cannot narrow the search down to at
    /// most [`MAX_LISTS`] lists: the caller scans instead.
    pub(crate) fn candidates(&self, pattern: &[Option<u8>]) -> Option<Candidates<'_>> {
        let grams = if pattern.len() >= GRAM {
            // The window of the pattern whose grams list the fewest numbers.
            pattern
                .windows(GRAM)
                .filter_map(|window| {
                    let grams = expand(window)?;
                    let size: u32 = grams.iter().map(|&g| self.len(g)).sum();
                    Some((size, grams))
                })
                .min_by_key(|(size, _)| *size)?
                .1
        } else {
            if self.short {
                return None;
            }
            // Every placement of the pattern in a window of a gram's width;
            // one of them fits in any national number of four digits or more.
            let spare = GRAM - pattern.len();
            let mut grams = Vec::new();
            for before in 0..=spare {
                let mut window = vec![None; before];
                window.extend_from_slice(pattern);
                window.resize(GRAM, None);
                grams.extend(expand(&window)?);
                if grams.len() > MAX_LISTS {
                    return None;
                }
            }
            grams
        };
        Some(Candidates::new(
            grams.into_iter().map(|g| self.list(g)).collect(),
        ))
    }

    /// How many bytes gram `g`'s list takes: a proxy for its length.
    fn len(&self, g: usize) -> u32 {
        self.offsets[g + 1] - self.offsets[g]
    }

    fn list(&self, g: usize) -> Positions<'_> {
        let (from, to) = (self.offsets[g] as usize, self.offsets[g + 1] as usize);
        Positions {
            bytes: &self.bytes[from..to],
            at: 0,
            last: None,
        }
    }
}

/// The grams a window of four pattern digits can be (ten per wildcard),
/// or `None` when they are more than [`MAX_LISTS`].
fn expand(window: &[Option<u8>]) -> Option<Vec<usize>> {
    let wildcards = window.iter().filter(|d| d.is_none()).count();
    if 10usize.pow(wildcards as u32) > MAX_LISTS {
        return None;
    }
    let mut grams = vec![0usize];
    for digit in window {
        grams = match digit {
            Some(d) => grams
                .into_iter()
                .map(|g| g * 10 + usize::from(d.wrapping_sub(b'0') % 10))
                .collect(),
            None => grams
                .into_iter()
                .flat_map(|g| (0..10).map(move |d| g * 10 + d))
                .collect(),
        };
    }
    Some(grams)
}

/// The union of several gram lists, in increasing order, each position once.
pub(crate) struct Candidates<'a> {
    lists: Vec<Positions<'a>>,
    /// The next position of each list not yet exhausted.
    heads: BinaryHeap<Reverse<(u32, usize)>>,
    last: Option<u32>,
}

impl<'a> Candidates<'a> {
    fn new(mut lists: Vec<Positions<'a>>) -> Candidates<'a> {
        let heads = lists
            .iter_mut()
            .enumerate()
            .filter_map(|(i, list)| Some(Reverse((list.next()?, i))))
            .collect();
        Candidates {
            lists,
            heads,
            last: None,
        }
    }
}

impl Iterator for Candidates<'_> {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        loop {
            let Reverse((position, i)) = self.heads.pop()?;
            if let Some(next) = self.lists[i].next() {
                self.heads.push(Reverse((next, i)));
            }
            if self.last != Some(position) {
                self.last = Some(position);
                return Some(position);
            }
        }
    }
}

struct Positions<'a> {
    bytes: &'a [u8],
    at: usize,
    last: Option<u32>,
}

impl Iterator for Positions<'_> {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        let mut gap: u32 = 0;
        let mut shift = 0;
        loop {
            let b = *self.bytes.get(self.at)?;
            self.at += 1;
            gap |= u32::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                break;
            }
            shift += 7;
        }
        let position = self.last.map_or(gap, |l| l + gap);
        self.last = Some(position);
        Some(position)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pattern as `ContainsPattern` holds it: ASCII digits, `None` for `*`.
    fn pattern(p: &str) -> Vec<Option<u8>> {
        p.bytes().map(|b| (b != b'*').then_some(b)).collect()
    }

    fn candidates(index: &GramIndex, p: &str) -> Option<Vec<u32>> {
        Some(index.candidates(&pattern(p))?.collect())
    }

    #[test]
    fn lists_each_number_once_under_each_gram_it_contains() {
        let nationals: [&[u8]; 4] = [b"2125551234", b"2129999999", b"3055551234", b"2123"];
        let index = GramIndex::build(nationals.iter().copied()).unwrap();
        let all = |p: &str| candidates(&index, p).unwrap();
        assert_eq!(all("5551"), vec![0, 2]);
        assert_eq!(all("9999"), vec![1]);
        assert_eq!(all("2125"), vec![0]);
        assert_eq!(all("0000"), Vec::<u32>::new());
        // The rarest gram of a longer run bounds the candidates.
        assert_eq!(all("30555"), vec![2]);
    }

    #[test]
    fn wildcards_and_short_patterns_merge_the_lists_they_stand_for() {
        let nationals: [&[u8]; 5] = [
            b"2125551234",
            b"2129999999",
            b"3055501234",
            b"2123",
            b"4000000555",
        ];
        let index = GramIndex::build(nationals.iter().copied()).unwrap();
        let all = |p: &str| candidates(&index, p).unwrap();
        // "12*4" is ten grams; each number is listed once however many match.
        assert_eq!(all("12*4"), vec![0, 2]);
        assert_eq!(all("21*3"), vec![3]);
        // Shorter than a gram: at the start, the middle and the very end.
        assert_eq!(all("555"), vec![0, 2, 4]);
        assert_eq!(all("212"), vec![0, 1, 3]);
        // Too many lists: the caller scans.
        assert!(index.candidates(&pattern("5")).is_none());
        assert!(index.candidates(&pattern("23")).is_none());
        assert!(index.candidates(&pattern("1***4")).is_none());
        assert!(index.candidates(&pattern("5*5")).is_none());
    }

    #[test]
    fn short_numbers_make_short_patterns_scan() {
        let nationals: [&[u8]; 2] = [b"2125551234", b"555"];
        let index = GramIndex::build(nationals.iter().copied()).unwrap();
        assert!(index.candidates(&pattern("555")).is_none());
        // A pattern of a gram or more cannot match the short number anyway.
        assert_eq!(candidates(&index, "5551"), Some(vec![0]));
    }

    #[test]
    fn gaps_survive_large_positions() {
        let many: Vec<Vec<u8>> = (0..70_000u32)
            .map(|i| {
                if i % 9_999 == 0 {
                    b"7777000000".to_vec()
                } else {
                    b"1234123412".to_vec()
                }
            })
            .collect();
        let index = GramIndex::build(many.iter().map(Vec::as_slice)).unwrap();
        let got: Vec<u32> = candidates(&index, "7777").unwrap();
        let want: Vec<u32> = (0..70_000).filter(|i| i % 9_999 == 0).collect();
        assert_eq!(got, want);
    }
}
