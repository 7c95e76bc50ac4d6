//! How this front answers an error: its HTTP status, its extra headers and
//! the message a JSON caller reads.

use didgate_core::{DomainError, Error, ErrorCode, ParamError};

use crate::method::Method;

/// The HTTP status of an error reply. Everything a command or the key
/// check produces travels with 200, as on the XML front (Anveo clients
/// read the body); transport problems and failures of the server itself
/// have their own status.
pub fn status(error: &Error) -> u16 {
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

/// The headers an error reply carries: when to try again, for a
/// rate-limited caller and for an overloaded or unavailable server.
pub(crate) fn headers(error: &Error) -> Vec<(&'static str, String)> {
    match error {
        Error::RateLimited(wait) => vec![("Retry-After", wait.to_string())],
        e if e.code() == ErrorCode::Unavailable => vec![("Retry-After", "1".into())],
        _ => Vec::new(),
    }
}

/// The message a caller of `method` reads. The rules name the XML
/// parameters ("parameter DID_TYPE ..."); a JSON caller sent positional
/// values with the seed's names, so a parameter it sent is named as it
/// knows it, taken from the error's own fields.
pub(crate) fn message(method: Option<Method>, error: &Error) -> String {
    let renamed = |name: &str| method.and_then(|m| m.json_name(name));
    match error {
        Error::Domain(DomainError::Invalid { name, reason }) => match renamed(name) {
            Some(name) => DomainError::Invalid {
                name,
                reason: reason.clone(),
            }
            .to_string(),
            None => error.public_message(),
        },
        Error::Param(ParamError::Invalid { name, reason }) => match renamed(name) {
            Some(name) => ParamError::Invalid {
                name,
                reason: reason.clone(),
            }
            .to_string(),
            None => error.public_message(),
        },
        _ => error.public_message(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use didgate_core::StoreError;

    use super::*;

    #[test]
    fn business_and_auth_errors_travel_with_200() {
        let business = [
            Error::AuthFailed,
            Error::unknown_action("x"),
            Error::Param(ParamError::Missing("order_token")),
            Error::Domain(DomainError::NotFound("area x".into())),
            Error::Domain(DomainError::Conflict("expired".into())),
            Error::Domain(DomainError::InsufficientFunds {
                cost: 2,
                balance: 1,
            }),
            Error::Input("bad".into()),
        ];
        for e in business {
            assert_eq!(status(&e), 200, "{e}");
            assert!(headers(&e).is_empty());
        }
    }

    #[test]
    fn transport_and_server_errors_have_their_own_status() {
        let cases = [
            (Error::Malformed("x".into()), 400),
            (Error::NoRoute, 404),
            (Error::MethodNotAllowed("POST"), 405),
            (Error::BodyTimeout(Duration::from_secs(5)), 408),
            (Error::TooLarge(65536), 413),
            (Error::RateLimited(7), 429),
            (Error::Store(StoreError::Unavailable("busy".into())), 503),
            (Error::Store(StoreError::Closed), 503),
            (Error::Store(StoreError::Internal("bug".into())), 500),
            (Error::Store(StoreError::Constraint("CHECK".into())), 500),
            (Error::Store(StoreError::Duplicate("id".into())), 500),
        ];
        for (e, want) in cases {
            assert_eq!(status(&e), want, "{e}");
        }
        assert_eq!(
            headers(&Error::RateLimited(7)),
            [("Retry-After", "7".to_owned())]
        );
        assert_eq!(
            headers(&Error::Store(StoreError::Closed)),
            [("Retry-After", "1".to_owned())]
        );
        assert!(headers(&Error::Store(StoreError::Internal("bug".into()))).is_empty());
    }

    #[test]
    fn rule_errors_name_the_parameters_the_caller_sent() {
        let class = Error::Domain(DomainError::Invalid {
            name: "DID_TYPE",
            reason: "is GEOGRAPHIC but area gb-mob-7700 sells MOBILE numbers".into(),
        });
        assert_eq!(
            message(Some(Method::Reserve), &class),
            "parameter class is GEOGRAPHIC but area gb-mob-7700 sells MOBILE numbers"
        );
        assert_eq!(
            message(Some(Method::ListArea), &class),
            "parameter did_type is GEOGRAPHIC but area gb-mob-7700 sells MOBILE numbers"
        );
        // Without a method, or for a parameter the caller never sent, the
        // rule's text is kept.
        assert_eq!(message(None, &class), class.to_string());
        let plan = Error::Domain(DomainError::Invalid {
            name: "RATE_PLAN_ID",
            reason: "SU is not offered in area x".into(),
        });
        assert_eq!(
            message(Some(Method::OrderPay), &plan),
            "parameter RATE_PLAN_ID SU is not offered in area x"
        );
        let target = Error::Param(ParamError::Invalid {
            name: "CALL_FORWARD_TO",
            reason: "a PHONE target must be 7 to 15 digits".into(),
        });
        assert_eq!(
            message(Some(Method::Configure), &target),
            "parameter params a PHONE target must be 7 to 15 digits"
        );
        // Internal details never reach the caller.
        let bug = Error::Store(StoreError::Internal("secret".into()));
        assert_eq!(
            message(Some(Method::ListAll), &bug),
            "internal error, see the server log"
        );
    }
}
