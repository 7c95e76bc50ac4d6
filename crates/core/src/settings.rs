//! The server settings the rules apply.

/// What the rules need to know of the server's configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    /// How long a canceled number ages before it returns to stock.
    pub aging_secs: i64,
    /// `MINUTES` of a reservation when none is given.
    pub reservation_default_minutes: u32,
    /// How long one reservation "minute" lasts, in seconds: 60, except in
    /// tests that need reservations to expire quickly.
    pub reservation_minute_secs: i64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            aging_secs: 30 * 24 * 3600,
            reservation_default_minutes: 15,
            reservation_minute_secs: 60,
        }
    }
}
