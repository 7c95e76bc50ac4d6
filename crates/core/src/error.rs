//! The error layers and the one function that maps them to the contract's
//! codes ([`Error::code`]). HTTP statuses are each front's own business
//! (`Front::status`), not the core's.
//!
//! Messages are lower case, carry no trailing period, say what to fix and
//! never echo a key or a request payload.

use std::fmt;

/// The stable codes of PROTOCOL.md section 3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    AuthFailed,
    AccessDenied,
    UnknownAction,
    MissingParameter,
    InvalidParameter,
    NotFound,
    OutOfStock,
    InsufficientFunds,
    Conflict,
    MalformedRequest,
    RequestTooLarge,
    RateLimited,
    Unavailable,
    Internal,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AuthFailed => "AUTH_FAILED",
            Self::AccessDenied => "ACCESS_DENIED",
            Self::UnknownAction => "UNKNOWN_ACTION",
            Self::MissingParameter => "MISSING_PARAMETER",
            Self::InvalidParameter => "INVALID_PARAMETER",
            Self::NotFound => "NOT_FOUND",
            Self::OutOfStock => "OUT_OF_STOCK",
            Self::InsufficientFunds => "INSUFFICIENT_FUNDS",
            Self::Conflict => "CONFLICT",
            Self::MalformedRequest => "MALFORMED_REQUEST",
            Self::RequestTooLarge => "REQUEST_TOO_LARGE",
            Self::RateLimited => "RATE_LIMITED",
            Self::Unavailable => "UNAVAILABLE",
            Self::Internal => "INTERNAL",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A parameter problem found while turning wire parameters into a request.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParamError {
    #[error("missing parameter {0}")]
    Missing(&'static str),
    #[error("parameter {name} {reason}")]
    Invalid { name: &'static str, reason: String },
    #[error("give {0}")]
    MissingOneOf(&'static str),
}

/// A business rule refused the request.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DomainError {
    #[error("{0} not found")]
    NotFound(String),
    /// A `DID.UPDATE` filter selected none of the caller's active numbers.
    #[error("no active number of this account matches: check the numbers selected")]
    NoMatch,
    #[error("account {0} is outside this key's account tree")]
    AccessDenied(String),
    #[error("out of stock: {requested} requested, {available} available in area {area}")]
    OutOfStock {
        area: String,
        requested: u32,
        available: u32,
    },
    /// A named number exists but is sold, aging or held by another tree.
    #[error("number {0} is not available: it is sold, aging or held by another account")]
    NumberUnavailable(String),
    #[error("insufficient funds: order costs {cost}, balance is {balance}")]
    InsufficientFunds { cost: i64, balance: i64 },
    #[error("{0}")]
    Conflict(String),
    /// A value that is well formed but does not fit the catalog, such as a
    /// rate plan the area does not offer.
    #[error("parameter {name} {reason}")]
    Invalid { name: &'static str, reason: String },
}

/// Storage could not do its part; the request changed nothing. Engines
/// classify their own errors into these.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Busy, full, or an I/O failure: worth retrying later. Holds the
    /// engine's message for the server log; clients see only the generic
    /// text.
    #[error("storage unavailable, try again later")]
    Unavailable(String),
    #[error("storage is shutting down, try again later")]
    Closed,
    /// A unique value (an account number, a reservation id) is taken: the
    /// rule that chose it picks another.
    #[error("internal error: duplicate {0}")]
    Duplicate(String),
    /// A schema constraint refused a write the rules allowed: a bug, caught
    /// by the second line of defence.
    #[error("internal error: constraint violated: {0}")]
    Constraint(String),
    #[error("internal error: {0}")]
    Internal(String),
}

/// Every way a request can fail, from the transport inwards.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("malformed request: {0}")]
    Malformed(String),
    #[error("request body is over the limit of {0} bytes")]
    TooLarge(usize),
    #[error("request body too slow: send it within {} seconds", .0.as_secs_f64())]
    BodyTimeout(std::time::Duration),
    #[error("no such path: use POST /api/v3.asp")]
    NoRoute,
    #[error("method not allowed: use {0}")]
    MethodNotAllowed(&'static str),
    /// Bad operator input (CLI arguments, inventory files); the text says
    /// where and what.
    #[error("{0}")]
    Input(String),
    #[error("authentication failed: check the api key")]
    AuthFailed,
    #[error("too many failed authentications from this address: retry in {0} seconds")]
    RateLimited(u64),
    /// Holds the name only when it is safe to echo (see [`Error::unknown_action`]).
    #[error("unknown action{}: see the protocol for the list of actions", .0.as_ref().map(|n| format!(" {n}")).unwrap_or_default())]
    UnknownAction(Option<String>),
    #[error(transparent)]
    Param(#[from] ParamError),
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Error {
    /// `UNKNOWN_ACTION` for `name`. The name is echoed only if it looks
    /// like an action or method name: up to 64 letters, `.`, `_` or `-`,
    /// and no digits. A client that sends its key where the name belongs
    /// must not see the key (or part of it) in the reply, and a key's hex
    /// secret always holds digits.
    pub fn unknown_action(name: &str) -> Error {
        let safe = (1..=64).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_alphabetic() || matches!(b, b'.' | b'_' | b'-'));
        Error::UnknownAction(safe.then(|| name.to_owned()))
    }

    /// The one mapping from error layers to the contract's codes.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::Malformed(_) => ErrorCode::MalformedRequest,
            Error::TooLarge(_) => ErrorCode::RequestTooLarge,
            Error::BodyTimeout(_) | Error::MethodNotAllowed(_) => ErrorCode::MalformedRequest,
            Error::NoRoute => ErrorCode::NotFound,
            Error::Input(_) => ErrorCode::InvalidParameter,
            Error::AuthFailed => ErrorCode::AuthFailed,
            Error::RateLimited(_) => ErrorCode::RateLimited,
            Error::UnknownAction(_) => ErrorCode::UnknownAction,
            Error::Param(ParamError::Missing(_) | ParamError::MissingOneOf(_)) => {
                ErrorCode::MissingParameter
            }
            Error::Param(ParamError::Invalid { .. }) => ErrorCode::InvalidParameter,
            Error::Domain(d) => match d {
                DomainError::NotFound(_) | DomainError::NoMatch => ErrorCode::NotFound,
                DomainError::AccessDenied(_) => ErrorCode::AccessDenied,
                DomainError::OutOfStock { .. } | DomainError::NumberUnavailable(_) => {
                    ErrorCode::OutOfStock
                }
                DomainError::InsufficientFunds { .. } => ErrorCode::InsufficientFunds,
                DomainError::Conflict(_) => ErrorCode::Conflict,
                DomainError::Invalid { .. } => ErrorCode::InvalidParameter,
            },
            Error::Store(StoreError::Unavailable(_) | StoreError::Closed) => ErrorCode::Unavailable,
            Error::Store(
                StoreError::Internal(_) | StoreError::Constraint(_) | StoreError::Duplicate(_),
            ) => ErrorCode::Internal,
        }
    }

    /// The text a client sees. Internal details stay in the server log.
    pub fn public_message(&self) -> String {
        match self {
            Error::Store(
                StoreError::Internal(_) | StoreError::Constraint(_) | StoreError::Duplicate(_),
            ) => "internal error, see the server log".into(),
            other => other.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_statuses() {
        assert_eq!(
            Error::Malformed("x".into()).code(),
            ErrorCode::MalformedRequest
        );
        assert_eq!(Error::TooLarge(1).code(), ErrorCode::RequestTooLarge);
        let bug = Error::Store(StoreError::Constraint("CHECK failed".into()));
        assert_eq!(bug.code(), ErrorCode::Internal);
        assert!(!bug.public_message().contains("CHECK"));
        let e = Error::from(DomainError::InsufficientFunds {
            cost: 398,
            balance: 100,
        });
        assert_eq!(e.code(), ErrorCode::InsufficientFunds);
        assert_eq!(
            e.public_message(),
            "insufficient funds: order costs 398, balance is 100"
        );
        let internal = Error::Store(StoreError::Internal("secret detail".into()));
        assert!(!internal.public_message().contains("secret"));
    }
}
