//! The HTTP status and headers of this front's error replies. Anveo
//! clients read the body, so every answer an action or authentication
//! produces travels with 200, errors included; only transport problems,
//! overload and bugs use their own status (PROTOCOL.md section 1).

use didgate_core::{Error, ErrorCode};

/// The one mapping from an error to this front's HTTP status.
pub fn http_status(error: &Error) -> u16 {
    match error {
        Error::BodyTimeout(_) => 408,
        Error::NoRoute => 404,
        Error::MethodNotAllowed(_) => 405,
        other => match other.code() {
            ErrorCode::MalformedRequest => 400,
            ErrorCode::RequestTooLarge => 413,
            ErrorCode::RateLimited => 429,
            ErrorCode::Unavailable => 503,
            // A bug: the client should not read this as a business answer.
            ErrorCode::Internal => 500,
            _ => 200,
        },
    }
}

/// Extra headers of an error reply: when a rate-limited client may try
/// again. (A 503's `Retry-After` is the server's, the same for every
/// front; `Allow` on a 405 too.)
pub fn error_headers(error: &Error) -> Vec<(&'static str, String)> {
    match error {
        Error::RateLimited(wait) => vec![("Retry-After", wait.to_string())],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use didgate_core::{DomainError, ParamError, StoreError};

    use super::*;

    #[test]
    fn business_and_auth_errors_are_200() {
        for e in [
            Error::AuthFailed,
            Error::unknown_action("X"),
            Error::Param(ParamError::Missing("E164")),
            Error::Domain(DomainError::NoMatch),
            Error::Domain(DomainError::InsufficientFunds {
                cost: 1,
                balance: 0,
            }),
            Error::Input("x".into()),
        ] {
            assert_eq!(http_status(&e), 200, "{e}");
            assert!(error_headers(&e).is_empty(), "{e}");
        }
    }

    #[test]
    fn transport_errors_have_their_own_status() {
        let cases = [
            (Error::Malformed("x".into()), 400),
            (Error::NoRoute, 404),
            (Error::MethodNotAllowed("POST"), 405),
            (Error::BodyTimeout(Duration::from_secs(10)), 408),
            (Error::TooLarge(65536), 413),
            (Error::RateLimited(7), 429),
            (Error::Store(StoreError::Closed), 503),
            (Error::Store(StoreError::Unavailable("busy".into())), 503),
            (Error::Store(StoreError::Internal("bug".into())), 500),
            (Error::Store(StoreError::Constraint("bug".into())), 500),
        ];
        for (e, status) in cases {
            assert_eq!(http_status(&e), status, "{e}");
        }
        assert_eq!(
            error_headers(&Error::RateLimited(7)),
            vec![("Retry-After", "7".to_string())]
        );
        assert!(error_headers(&Error::Store(StoreError::Closed)).is_empty());
    }
}
