//! didgate: the server and the operator's commands, wiring the core
//! (`didgate_core`) to its fronts (`didgate_anveo`, `didgate_json`) and its
//! engine (`didgate_sqlite`). The crate graph is the architecture (see
//! ARCHITECTURE.md): this crate is the only one that knows every other.
//!
//! - [`server`]: hyper, transport limits, routing to the registered fronts,
//!   the request log and metrics.
//! - [`admin`]: operator commands behind the CLI, and the demo setup.
//! - [`inventory`]: the inventory CSV files.
//! - [`config`]: server tunables.
//! - [`metrics`]: Prometheus metrics.

pub mod admin;
pub mod config;
pub mod inventory;
pub mod metrics;
pub mod server;

pub use config::Config;
/// The core's domain types, for the CLI and tests.
pub use didgate_core::domain;
pub use didgate_core::{Error, ErrorCode};
/// The embedded engine, for the CLI and tests (`store::Db`).
pub use didgate_sqlite as store;
