//! Records of the catalog, of numbers and of callers, as the actions and
//! codecs see them.

use super::{AccountNumber, DidType, KeyId, Money100, UnixTime};

/// Who is calling: the account a verified key belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub key_id: KeyId,
    pub account_id: i64,
    pub account_number: AccountNumber,
    /// The top-level account of the tree, which holds the balance.
    pub root_id: i64,
    /// Set when the account requires Anveo's `SIGNATURE` parameter.
    pub signature: Option<SignatureKey>,
}

/// What `SIGNATURE` is checked against: HMAC-SHA1 over the account's
/// e-mail, keyed with its secret.
#[derive(Clone, PartialEq, Eq)]
pub struct SignatureKey {
    pub email: String,
    pub secret: String,
}

impl std::fmt::Debug for SignatureKey {
    // The secret must never reach a log line, even through `{:?}`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignatureKey")
            .field("email", &self.email)
            .field("secret", &"<redacted>")
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Country {
    pub id: String,
    pub name: String,
    pub has_states: bool,
    pub is_fax: bool,
    pub is_sms: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct State {
    pub id: String,
    pub name: String,
    pub code: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct RatePlan {
    pub id: String,
    pub name: String,
    pub monthly: Money100,
    pub setup: Money100,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Area {
    pub id: String,
    pub name: String,
    pub area_code: String,
    pub did_type: DidType,
    pub country_id: String,
    pub state_id: Option<String>,
    /// Numbers available to order now.
    pub stock: i64,
    pub rate_plans: Vec<RatePlan>,
}

/// The contract's `STATUS` of a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum DidStatus {
    Active,
    Canceled,
    Available,
}

impl DidStatus {
    /// `Active` or `Canceled`, case-insensitively (the states a caller's
    /// own numbers can be in).
    pub fn parse_owned(s: &str) -> Result<Self, String> {
        [Self::Active, Self::Canceled]
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| "must be Active or Canceled".into())
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "Active",
            Self::Canceled => "Canceled",
            Self::Available => "Available",
        }
    }
}

/// Where a number is in its life, as the storage keeps it. The contract
/// shows it as a [`DidStatus`] ([`NumberState::shown`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NumberState {
    /// In stock: no owner, no hold.
    Available,
    /// Held by a reservation: out of stock, not yet sold.
    Reserved,
    /// Sold and owned.
    Active,
    /// Canceled by its owner, restorable until its aging ends.
    Aging,
}

impl NumberState {
    /// The one mapping from storage states to the contract's `STATUS`: a
    /// reserved number is not sold, so it is shown as `Available` (the
    /// contract's status of search and reservation results).
    pub fn shown(self) -> DidStatus {
        match self {
            Self::Available | Self::Reserved => DidStatus::Available,
            Self::Active => DidStatus::Active,
            Self::Aging => DidStatus::Canceled,
        }
    }
}

/// A number as the contract's `DID` object shows it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Did {
    pub e164: String,
    pub did_type: DidType,
    pub sms_url: String,
    pub sms_email: String,
    pub sms_phone: String,
    pub forward_type: String,
    pub forward_to: String,
    pub status: DidStatus,
    pub country_name: String,
    pub area_name: String,
    pub area_code: String,
    pub monthly: Money100,
    pub setup: Money100,
    pub rate_plan_id: String,
    pub title: String,
    pub account_number: String,
    pub order_date: Option<UnixTime>,
}
