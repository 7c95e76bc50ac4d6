//! Domain types: values parsed once at the edge ("parse, don't validate")
//! and the records the rules exchange with the engines and the fronts.
//!
//! Nothing here knows XML, JSON, HTTP or SQL.

mod filter;
mod forwarding;
mod ids;
mod limits;
mod model;
mod search;

pub use filter::{
    DidChanges, DidFilter, E164Pattern, ForwardChange, parse_email, parse_sms_phone, parse_sms_url,
};
pub use forwarding::{ForwardType, Forwarding};
pub use ids::{
    AccountNumber, AreaId, CountryId, DidType, E164, KeyId, Money100, RatePlanId, RequestId,
    ReservationId,
};
pub use limits::{
    AreaCode, E164List, HoldMinutes, Label, ListLimit, Offset, Quantity, SearchLimit,
};
pub use model::{
    Area, Country, Did, DidStatus, NumberState, Principal, RatePlan, SignatureKey, State,
};
pub use search::{ContainsPattern, national_number};

/// Seconds since the Unix epoch, the only clock the domain uses.
pub type UnixTime = i64;

/// The current time as [`UnixTime`].
pub fn now() -> UnixTime {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Formats a time as the contract's UTC `YYYY-MM-DD HH:MM:SS`.
pub fn format_time(t: UnixTime) -> String {
    const FORMAT: &[time::format_description::FormatItem<'static>] =
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|dt| dt.format(FORMAT).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_utc_time() {
        assert_eq!(super::format_time(0), "1970-01-01 00:00:00");
        assert_eq!(super::format_time(1_795_000_000), "2026-11-18 11:06:40");
    }
}
