//! Named request parameters, consumed by the action that knows them; what
//! is left over is reported as `IGNORED_PARAMETERS`.

use crate::error::ParamError;

pub struct Params {
    items: Vec<(String, String)>,
    used: Vec<bool>,
}

impl Params {
    /// Names are matched exactly (codecs upper-case them); values are
    /// trimmed of surrounding whitespace.
    pub fn new(items: Vec<(String, String)>) -> Self {
        let items: Vec<(String, String)> = items
            .into_iter()
            .map(|(n, v)| (n, v.trim().to_owned()))
            .collect();
        let used = vec![false; items.len()];
        Params { items, used }
    }

    /// The value of `name`, or `None` if absent or empty (an empty value
    /// means "not given" throughout the contract).
    pub fn get(&mut self, name: &'static str) -> Option<String> {
        let i = self.items.iter().position(|(n, _)| n == name)?;
        self.used[i] = true;
        let v = &self.items[i].1;
        (!v.is_empty()).then(|| v.clone())
    }

    /// The value of `name` if present, even when empty: for settings where
    /// an empty value means "clear this field".
    pub fn get_present(&mut self, name: &'static str) -> Option<String> {
        let i = self.items.iter().position(|(n, _)| n == name)?;
        self.used[i] = true;
        Some(self.items[i].1.clone())
    }

    /// Like [`Params::parse`] for a setting that may be cleared: present
    /// and empty gives `Some("")`-like values through `parse("")`.
    pub fn setting<T>(
        &mut self,
        name: &'static str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<Option<T>, ParamError> {
        self.get_present(name)
            .map(|v| parse(&v).map_err(|reason| ParamError::Invalid { name, reason }))
            .transpose()
    }

    pub fn required(&mut self, name: &'static str) -> Result<String, ParamError> {
        self.get(name).ok_or(ParamError::Missing(name))
    }

    /// Parses an optional value with `parse`, naming the parameter in the error.
    pub fn parse<T>(
        &mut self,
        name: &'static str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<Option<T>, ParamError> {
        self.get(name)
            .map(|v| parse(&v).map_err(|reason| ParamError::Invalid { name, reason }))
            .transpose()
    }

    pub fn require<T>(
        &mut self,
        name: &'static str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<T, ParamError> {
        self.parse(name, parse)?.ok_or(ParamError::Missing(name))
    }

    /// `TRUE` or `FALSE`, in any case.
    pub fn flag(&mut self, name: &'static str, default: bool) -> Result<bool, ParamError> {
        Ok(self.parse(name, parse_bool)?.unwrap_or(default))
    }

    /// A whole number in `min..=max`.
    pub fn number(
        &mut self,
        name: &'static str,
        min: u32,
        max: u32,
    ) -> Result<Option<u32>, ParamError> {
        self.parse(name, |v| match v.parse::<u32>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n),
            _ => Err(format!("must be a whole number from {min} to {max}")),
        })
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

    /// All parameters, for fingerprinting a request.
    pub fn all(&self) -> &[(String, String)] {
        &self.items
    }
}

fn parse_bool(v: &str) -> Result<bool, String> {
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
        assert_eq!(p.required("B"), Err(ParamError::Missing("B")));
        assert_eq!(p.unused(), vec!["C".to_string()]);
    }

    #[test]
    fn numbers_and_flags_are_checked() {
        let mut p = params(&[("Q", "101"), ("F", "true"), ("G", "yes")]);
        assert!(p.number("Q", 1, 100).is_err());
        assert_eq!(p.flag("F", false), Ok(true));
        assert!(p.flag("G", false).is_err());
        assert_eq!(p.flag("H", true), Ok(true));
    }
}
