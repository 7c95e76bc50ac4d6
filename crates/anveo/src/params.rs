//! Named request parameters, consumed by the decoder of the action that
//! knows them; what is left over is reported as `IGNORED_PARAMETERS`.
//! An empty value means "not given" throughout the contract, except for
//! the settings of `DID.UPDATE`, where it clears a field ([`Params::setting`]).

use didgate_core::ParamError;

/// How a domain parser says why a value is wrong (the parameter name is
/// added here).
type Reason = String;

pub(crate) struct Params {
    items: Vec<(String, String)>,
    used: Vec<bool>,
}

impl Params {
    /// Names are matched exactly (both forms upper-case them); values are
    /// trimmed of surrounding whitespace.
    pub fn new(items: Vec<(String, String)>) -> Self {
        let items: Vec<(String, String)> = items
            .into_iter()
            .map(|(n, v)| (n, v.trim().to_owned()))
            .collect();
        let used = vec![false; items.len()];
        Params { items, used }
    }

    /// The value of `name` if present, even when empty, marking it used.
    pub fn get_present(&mut self, name: &'static str) -> Option<String> {
        let i = self.items.iter().position(|(n, _)| n == name)?;
        self.used[i] = true;
        Some(self.items[i].1.clone())
    }

    /// The value of `name`, or `None` if absent or empty.
    pub fn get(&mut self, name: &'static str) -> Option<String> {
        self.get_present(name).filter(|v| !v.is_empty())
    }

    /// Parses an optional value with `parse`, naming the parameter in the
    /// error.
    pub fn parse<T>(
        &mut self,
        name: &'static str,
        parse: impl FnOnce(&str) -> Result<T, Reason>,
    ) -> Result<Option<T>, ParamError> {
        self.get(name)
            .map(|v| parse(&v).map_err(|reason| ParamError::Invalid { name, reason }))
            .transpose()
    }

    /// Like [`Params::parse`], but a value that is present and empty is
    /// parsed too (`parse("")`): for settings an empty value clears.
    pub fn setting<T>(
        &mut self,
        name: &'static str,
        parse: impl FnOnce(&str) -> Result<T, Reason>,
    ) -> Result<Option<T>, ParamError> {
        self.get_present(name)
            .map(|v| parse(&v).map_err(|reason| ParamError::Invalid { name, reason }))
            .transpose()
    }

    pub fn require<T>(
        &mut self,
        name: &'static str,
        parse: impl FnOnce(&str) -> Result<T, Reason>,
    ) -> Result<T, ParamError> {
        self.parse(name, parse)?.ok_or(ParamError::Missing(name))
    }

    /// A whole number parsed by a domain type (which owns its range and
    /// its message). One leading `+` is accepted, as this front always
    /// has: it read numbers with Rust's integer parser, which takes one.
    pub fn number<T>(
        &mut self,
        name: &'static str,
        parse: impl FnOnce(&str) -> Result<T, Reason>,
    ) -> Result<Option<T>, ParamError> {
        self.parse(name, |v| parse(v.strip_prefix('+').unwrap_or(v)))
    }

    /// `TRUE` or `FALSE`, in any case.
    pub fn flag(&mut self, name: &'static str, default: bool) -> Result<bool, ParamError> {
        Ok(self.parse(name, parse_bool)?.unwrap_or(default))
    }

    /// Names nobody asked for, in request order.
    pub fn unused(&self) -> Vec<String> {
        self.items
            .iter()
            .zip(&self.used)
            .filter(|(_, used)| !**used)
            .map(|((n, _), _)| n.clone())
            .collect()
    }
}

fn parse_bool(v: &str) -> Result<bool, Reason> {
    if v.eq_ignore_ascii_case("TRUE") {
        Ok(true)
    } else if v.eq_ignore_ascii_case("FALSE") {
        Ok(false)
    } else {
        Err("must be TRUE or FALSE".into())
    }
}

#[cfg(test)]
mod tests {
    use didgate_core::domain::Quantity;

    use super::*;

    fn params(items: &[(&str, &str)]) -> Params {
        Params::new(
            items
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn empty_counts_as_missing_and_unused_are_reported() {
        let mut p = params(&[("A", "  x "), ("B", ""), ("C", "y")]);
        assert_eq!(p.get("A").as_deref(), Some("x"));
        assert_eq!(
            p.require("B", |v| Ok(v.to_owned())),
            Err(ParamError::Missing("B"))
        );
        assert_eq!(
            p.setting("B", |v| Ok(v.to_owned())),
            Ok(Some(String::new()))
        );
        assert_eq!(p.unused(), vec!["C".to_string()]);
    }

    #[test]
    fn numbers_and_flags_are_checked() {
        let mut p = params(&[("Q", "101"), ("P", "+5"), ("F", "true"), ("G", "yes")]);
        assert_eq!(
            p.number("Q", Quantity::parse),
            Err(ParamError::Invalid {
                name: "Q",
                reason: "must be a whole number from 1 to 100".into()
            })
        );
        assert_eq!(p.number("P", Quantity::parse), Ok(Quantity::new(5).ok()));
        assert_eq!(p.flag("F", false), Ok(true));
        assert_eq!(
            p.flag("G", false),
            Err(ParamError::Invalid {
                name: "G",
                reason: "must be TRUE or FALSE".into()
            })
        );
        assert_eq!(p.flag("H", true), Ok(true));
        let mut p = params(&[("Q", "++5"), ("R", "+"), ("S", "-1")]);
        for name in ["Q", "R", "S"] {
            assert!(p.number(name, Quantity::parse).is_err(), "{name}");
        }
    }
}
