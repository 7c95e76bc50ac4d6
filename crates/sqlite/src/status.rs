//! The values of `dids.status`, written once: how they read as the
//! engine's [`NumberState`], and which one a `FILTER.STATUS` selects.

use didgate_core::domain::{DidStatus, NumberState};

/// The state a stored status stands for.
pub(crate) fn state(stored: &str) -> Result<NumberState, String> {
    match stored {
        "available" => Ok(NumberState::Available),
        "reserved" => Ok(NumberState::Reserved),
        "active" => Ok(NumberState::Active),
        "aging" => Ok(NumberState::Aging),
        _ => Err("is not a number status".into()),
    }
}

/// The stored status a contract `STATUS` filter selects. `Canceled` is
/// the contract's name for a number that ages before returning to stock;
/// `Available` selects no owned number (owned numbers are never
/// available), which is what such a filter means.
pub(crate) fn filter_value(status: DidStatus) -> &'static str {
    match status {
        DidStatus::Active => "active",
        DidStatus::Canceled => "aging",
        DidStatus::Available => "available",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_select_the_states_shown_as_them() {
        for status in [DidStatus::Active, DidStatus::Canceled, DidStatus::Available] {
            assert_eq!(state(filter_value(status)).unwrap().shown(), status);
        }
        assert!(state("sold").is_err());
    }
}
