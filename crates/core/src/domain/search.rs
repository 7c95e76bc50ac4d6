//! What `DID.SEARCH` matches: a `CONTAINS` pattern against the national
//! part of a number.

use super::ids::ParseError;

/// A `CONTAINS` pattern: digits, letters as on a phone keypad (`WOLF` is
/// `9653`) and `*` for any single digit, matched anywhere.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct ContainsPattern(Vec<Option<u8>>);

impl ContainsPattern {
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        if s.is_empty() || s.len() > 15 {
            return Err("must be 1 to 15 digits, letters or *".into());
        }
        let digits: Option<Vec<Option<u8>>> = s
            .bytes()
            .map(|b| match b.to_ascii_uppercase() {
                b'0'..=b'9' => Some(Some(b)),
                b'*' => Some(None),
                l @ b'A'..=b'Z' => Some(Some(keypad(l))),
                _ => None,
            })
            .collect();
        let digits = digits.ok_or("must be digits, letters or * only")?;
        if digits.iter().all(Option::is_none) {
            return Err("must contain at least one digit or letter".into());
        }
        Ok(Self(digits))
    }

    /// The pattern's length in digits.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Never true: a pattern has at least one digit.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Each position's digit as ASCII, `None` for a wildcard.
    pub fn digits(&self) -> &[Option<u8>] {
        &self.0
    }

    /// The longest run of fixed digits and where it starts in the pattern:
    /// what a substring search looks for first.
    pub fn longest_literal(&self) -> (usize, Vec<u8>) {
        let mut best = (0, Vec::new());
        let mut i = 0;
        while i < self.0.len() {
            let start = i;
            while i < self.0.len() && self.0[i].is_some() {
                i += 1;
            }
            if i - start > best.1.len() {
                best = (start, self.0[start..i].iter().flatten().copied().collect());
            }
            i += 1;
        }
        best
    }

    /// Whether `window` (as long as the pattern) matches it exactly.
    pub fn matches_at(&self, window: &[u8]) -> bool {
        window.len() == self.0.len()
            && window
                .iter()
                .zip(&self.0)
                .all(|(d, want)| want.is_none_or(|x| x == *d))
    }

    /// Whether the pattern occurs anywhere in `national` (ASCII digits).
    pub fn matches(&self, national: &[u8]) -> bool {
        let p = &self.0;
        national.len() >= p.len()
            && national.windows(p.len()).any(|w| {
                w.iter()
                    .zip(p)
                    .all(|(d, want)| want.is_none_or(|x| x == *d))
            })
    }
}

/// The keypad digit of an upper-case letter.
fn keypad(letter: u8) -> u8 {
    match letter {
        b'A'..=b'C' => b'2',
        b'D'..=b'F' => b'3',
        b'G'..=b'I' => b'4',
        b'J'..=b'L' => b'5',
        b'M'..=b'O' => b'6',
        b'P'..=b'S' => b'7',
        b'T'..=b'V' => b'8',
        _ => b'9',
    }
}

/// The national part of an E.164 number: what follows the country
/// calling code. Calling codes are prefix-free, so their length follows
/// from the first digits: `1` and `7` are one digit, the two-digit codes
/// are listed below, every other code has three digits.
pub fn national_number(e164: &str) -> &str {
    const TWO_DIGIT: [&str; 44] = [
        "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45", "46",
        "47", "48", "49", "51", "52", "53", "54", "55", "56", "57", "58", "60", "61", "62", "63",
        "64", "65", "66", "81", "82", "84", "86", "90", "91", "92", "93", "94", "95", "98",
    ];
    let cc = if e164.starts_with('1') || e164.starts_with('7') {
        1
    } else if e164.get(..2).is_some_and(|p| TWO_DIGIT.contains(&p)) {
        2
    } else {
        3
    };
    e164.get(cc..).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, n: &str) -> bool {
        ContainsPattern::parse(p).unwrap().matches(n.as_bytes())
    }

    #[test]
    fn keypad_letters_and_wildcards() {
        assert_eq!(
            ContainsPattern::parse("WOLF").unwrap(),
            ContainsPattern::parse("9653").unwrap()
        );
        assert_eq!(
            ContainsPattern::parse("wolf").unwrap(),
            ContainsPattern::parse("9653").unwrap()
        );
        assert!(m("WOLF", "5309653000"));
        assert!(m("9*5", "1935"));
        assert!(!m("9*5", "1996"));
        assert!(m("555", "2125550100"));
        assert!(!m("2125550100999", "2125550100"));
        assert_eq!(
            ContainsPattern::parse("1*234*5").unwrap().longest_literal(),
            (2, b"234".to_vec())
        );
        assert_eq!(
            ContainsPattern::parse("*9").unwrap().longest_literal(),
            (1, b"9".to_vec())
        );
    }

    #[test]
    fn bad_patterns_are_refused() {
        for bad in ["", "***", "12-34", "1234567890123456", "ñ"] {
            assert!(ContainsPattern::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn national_number_drops_the_calling_code() {
        assert_eq!(national_number("12121111111"), "2121111111");
        assert_eq!(national_number("442079460100"), "2079460100");
        assert_eq!(national_number("33142680100"), "142680100");
        assert_eq!(national_number("79161234567"), "9161234567");
        assert_eq!(national_number("353123456789"), "123456789");
        assert_eq!(national_number("8613800138000"), "13800138000");
    }
}
