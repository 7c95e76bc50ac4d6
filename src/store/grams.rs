//! An index of the four-digit groups ("grams") in an area's national
//! numbers, so that a `CONTAINS` search for a rare pattern visits the few
//! numbers that can match instead of scanning the whole area.
//!
//! For each of the 10,000 grams the index lists, in E.164 order, the
//! numbers (by position in the area snapshot) whose national part contains
//! it. A pattern with a fixed run of four digits or more can only match
//! numbers listed under every gram of that run, so the search walks the
//! shortest of those lists and checks each number. Patterns without such a
//! run ("555", "12*4") are frequent enough that a scan finds `LIMIT`
//! matches early.
//!
//! Lists are stored as gaps between positions in LEB128 varints: a
//! 1,000,000-number area (seven grams per ten-digit national number) takes
//! about 10 MB instead of 28 MB as plain `u32`s.

/// Digits in a gram.
pub(super) const GRAM: usize = 4;
const GRAMS: usize = 10_000;

pub(super) struct GramIndex {
    /// Where each gram's list starts in `bytes`; `GRAMS + 1` entries.
    offsets: Vec<u32>,
    bytes: Vec<u8>,
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
    pub(super) fn build<'a>(nationals: impl Iterator<Item = &'a [u8]>) -> Option<GramIndex> {
        let mut lists: Vec<Vec<u8>> = vec![Vec::new(); GRAMS];
        let mut last: Vec<u32> = vec![u32::MAX; GRAMS];
        for (i, national) in nationals.enumerate() {
            let i = u32::try_from(i).ok()?;
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
        Some(GramIndex { offsets, bytes })
    }

    /// The positions of the numbers that contain every gram of `literal`
    /// (a run of fixed digits), as a superset walked in order: the list of
    /// its rarest gram. `None` when `literal` is shorter than a gram.
    pub(super) fn candidates(&self, literal: &[u8]) -> Option<Positions<'_>> {
        let rarest = literal
            .windows(GRAM)
            .filter_map(gram)
            .min_by_key(|&g| self.offsets[g + 1] - self.offsets[g])?;
        let (from, to) = (
            self.offsets[rarest] as usize,
            self.offsets[rarest + 1] as usize,
        );
        Some(Positions {
            bytes: &self.bytes[from..to],
            at: 0,
            last: None,
        })
    }
}

/// The positions of one gram's list, in increasing order.
pub(super) struct Positions<'a> {
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

    #[test]
    fn lists_each_number_once_under_each_gram_it_contains() {
        let nationals: [&[u8]; 4] = [b"2125551234", b"2129999999", b"3055551234", b"212"];
        let index = GramIndex::build(nationals.iter().copied()).unwrap();
        let all = |lit: &[u8]| index.candidates(lit).unwrap().collect::<Vec<_>>();
        assert_eq!(all(b"5551"), vec![0, 2]);
        assert_eq!(all(b"9999"), vec![1]);
        assert_eq!(all(b"2125"), vec![0]);
        assert_eq!(all(b"0000"), Vec::<u32>::new());
        // The rarest gram of a longer run bounds the candidates.
        assert_eq!(all(b"30555"), vec![2]);
        assert!(index.candidates(b"555").is_none());
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
        let got: Vec<u32> = index.candidates(b"7777").unwrap().collect();
        let want: Vec<u32> = (0..70_000).filter(|i| i % 9_999 == 0).collect();
        assert_eq!(got, want);
    }
}
