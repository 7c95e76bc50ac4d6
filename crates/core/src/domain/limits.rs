//! The contract's ranges and defaults, written once: every front builds
//! these from its own wire form and never re-checks them.

use super::E164;
use super::ids::ParseError;

macro_rules! bounded {
    ($(#[$doc:meta])* $name:ident, $min:expr, $max:expr, $default:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        pub struct $name(u32);

        impl $name {
            pub const MIN: u32 = $min;
            pub const MAX: u32 = $max;

            pub fn new(n: u64) -> Result<Self, ParseError> {
                if (u64::from(Self::MIN)..=u64::from(Self::MAX)).contains(&n) {
                    Ok(Self(n as u32))
                } else {
                    Err(format!("must be a whole number from {} to {}", Self::MIN, Self::MAX))
                }
            }

            /// A decimal whole number in range.
            pub fn parse(s: &str) -> Result<Self, ParseError> {
                s.parse::<u64>()
                    .ok()
                    .filter(|_| s.bytes().all(|b| b.is_ascii_digit()))
                    .ok_or_else(|| format!("must be a whole number from {} to {}", Self::MIN, Self::MAX))
                    .and_then(Self::new)
            }

            pub fn get(self) -> u32 {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self($default)
            }
        }
    };
}

bounded!(
    /// How many numbers an order or reservation takes from an area.
    Quantity, 1, 100, 1
);
bounded!(
    /// How many numbers a search returns.
    SearchLimit, 1, 100, 20
);
bounded!(
    /// How many numbers one page of a list holds.
    ListLimit, 1, 10_000, 1000
);
bounded!(
    /// How long a reservation holds its numbers, in minutes; the server's
    /// default applies when none is given, hence the default here is only
    /// the contract's.
    HoldMinutes, 1, 60, 15
);

/// Where a page of a list starts.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
pub struct Offset(u64);

impl Offset {
    pub fn new(n: u64) -> Result<Self, ParseError> {
        if n <= u64::from(u32::MAX) {
            Ok(Self(n))
        } else {
            Err(format!("must be a whole number from 0 to {}", u32::MAX))
        }
    }

    pub fn parse(s: &str) -> Result<Self, ParseError> {
        s.parse::<u64>()
            .ok()
            .filter(|_| s.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(|| format!("must be a whole number from 0 to {}", u32::MAX))
            .and_then(Self::new)
    }

    pub fn get(self) -> u64 {
        self.0
    }
}

/// Free text a person gives a number or an account (`TITLE`, `NAME`): at
/// most 255 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
pub struct Label(String);

impl Label {
    pub fn parse(t: &str) -> Result<Self, ParseError> {
        if t.chars().count() > 255 {
            Err("must be at most 255 characters".into())
        } else if t
            .chars()
            .any(|c| c.is_control() || c == '\u{FFFE}' || c == '\u{FFFF}')
        {
            Err("must not contain control characters".into())
        } else {
            Ok(Self(t.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The digits of an area code: 1 to 10.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct AreaCode(String);

impl AreaCode {
    pub fn parse(c: &str) -> Result<Self, ParseError> {
        if (1..=10).contains(&c.len()) && c.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(c.to_owned()))
        } else {
            Err("must be 1 to 10 digits".into())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// 1 to 100 distinct numbers, in the order given.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct E164List(Vec<E164>);

impl E164List {
    pub const MAX: usize = 100;

    pub fn new(list: Vec<E164>) -> Result<Self, ParseError> {
        if list.is_empty() {
            return Err("must list at least one number".into());
        }
        if list.len() > Self::MAX {
            return Err(format!("must list at most {} numbers", Self::MAX));
        }
        for (i, e) in list.iter().enumerate() {
            if list[..i].contains(e) {
                return Err(format!("lists {e} twice"));
            }
        }
        Ok(Self(list))
    }

    /// A comma-separated list.
    pub fn parse(v: &str) -> Result<Self, ParseError> {
        let mut list = Vec::new();
        for part in v.split(',').map(str::trim) {
            list.push(E164::parse(part).map_err(|e| format!("{part:.20}: {e}"))?);
            if list.len() > Self::MAX {
                return Err(format!("must list at most {} numbers", Self::MAX));
            }
        }
        Self::new(list)
    }

    pub fn as_slice(&self) -> &[E164] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_hold_their_bounds_and_defaults() {
        assert_eq!(Quantity::default().get(), 1);
        assert!(Quantity::parse("0").is_err());
        assert!(Quantity::parse("101").is_err());
        assert!(Quantity::parse("+5").is_err());
        assert_eq!(Quantity::parse("100").unwrap().get(), 100);
        assert_eq!(SearchLimit::default().get(), 20);
        assert_eq!(ListLimit::default().get(), 1000);
        assert!(ListLimit::new(10_001).is_err());
        assert!(HoldMinutes::new(61).is_err());
        assert!(Offset::parse("4294967296").is_err());
        assert_eq!(Offset::parse("7").unwrap().get(), 7);
    }

    #[test]
    fn labels_and_lists_are_checked() {
        assert!(Label::parse(&"x".repeat(255)).is_ok());
        assert!(Label::parse(&"x".repeat(256)).is_err());
        assert!(Label::parse("a\u{7}b").is_err());
        assert!(E164List::parse("12125550001, 12125550002").is_ok());
        assert!(E164List::parse("12125550001,12125550001").is_err());
        let many: Vec<String> = (0..101).map(|i| format!("1212555{i:04}")).collect();
        assert!(E164List::parse(&many.join(",")).is_err());
        assert!(AreaCode::parse("212").is_ok());
        assert!(AreaCode::parse("21a").is_err());
    }
}
