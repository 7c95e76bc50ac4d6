//! Server tunables, with the defaults an operator gets without flags.

use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Config {
    pub db_path: PathBuf,
    /// Largest request body accepted (413 above it).
    pub body_limit: usize,
    /// Time allowed to send the request head (slowloris guard).
    pub header_timeout: Duration,
    /// Time allowed to send the request body (408 after it).
    pub body_timeout: Duration,
    /// Connections served at once; further ones wait in the listen queue.
    pub max_connections: usize,
    pub max_headers: usize,
    /// Read-only database connections (read threads).
    pub readers: usize,
    /// Argon2 verifications running at once.
    pub hash_parallelism: usize,
    /// How long a verified key is trusted before its row is re-read
    /// (the delay before a revocation takes effect).
    pub key_recheck: Duration,
    /// How long shutdown waits for requests in flight.
    pub shutdown_grace: Duration,
    /// How long a canceled number ages before it returns to stock.
    pub aging: Duration,
    /// How often the server looks for numbers whose aging has ended and
    /// reservations that expired.
    pub sweep_interval: Duration,
    /// `MINUTES` of a reservation when the request gives none.
    pub reservation_minutes: u32,
    /// How long one reservation minute lasts: a minute, shortened only by
    /// tests that need reservations to expire quickly.
    pub reservation_minute: Duration,
    /// Failed authentications one address may make at once ...
    pub auth_failures: u32,
    /// ... refilled at that many per this window.
    pub auth_failure_window: Duration,
    /// `/healthz` fails when the writer has been on one batch this long.
    pub writer_stall: Duration,
    /// Keep read outcomes while the database is unchanged (see the core's
    /// `cache.rs`); off only to measure reads without it.
    pub read_cache: bool,
    /// How long a database connection waits for a lock another process
    /// holds (the CLI crediting an account while the server runs).
    pub busy_timeout: Duration,
}

impl Config {
    /// What the core's service takes of this configuration.
    pub fn service(&self) -> didgate_core::service::ServiceConfig {
        didgate_core::service::ServiceConfig {
            hash_parallelism: self.hash_parallelism,
            key_recheck: self.key_recheck,
            auth_failures: self.auth_failures,
            auth_failure_window: self.auth_failure_window,
            read_cache: self.read_cache,
            settings: didgate_core::settings::Settings {
                aging_secs: self.aging.as_secs().try_into().unwrap_or(i64::MAX),
                reservation_default_minutes: self.reservation_minutes,
                reservation_minute_secs: self
                    .reservation_minute
                    .as_secs()
                    .max(1)
                    .try_into()
                    .unwrap_or(60),
            },
        }
    }

    pub fn new(db_path: impl Into<PathBuf>) -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Config {
            db_path: db_path.into(),
            body_limit: 64 * 1024,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            max_connections: 4096,
            max_headers: 64,
            readers: cores.clamp(2, 8),
            hash_parallelism: cores.clamp(1, 4),
            key_recheck: Duration::from_secs(2),
            shutdown_grace: Duration::from_secs(30),
            aging: Duration::from_secs(30 * 24 * 3600),
            sweep_interval: Duration::from_secs(1),
            reservation_minutes: 15,
            reservation_minute: Duration::from_secs(60),
            auth_failures: 20,
            auth_failure_window: Duration::from_secs(60),
            writer_stall: Duration::from_secs(10),
            read_cache: true,
            busy_timeout: Duration::from_secs(5),
        }
    }
}
