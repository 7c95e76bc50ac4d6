//! didgate sells and provisions phone numbers (DIDs) over Anveo's XML API.
//!
//! A request flows down these modules and back; each arrow is a boundary
//! stated in ARCHITECTURE.md:
//!
//! ```text
//! server (hyper, limits, routing, request log)
//!   └─ codec::xml (bytes ⇄ ApiRequest / Reply; the only module that knows XML)
//!        └─ service (authenticate, shared parameters, error rendering)
//!             └─ action (closed enum of actions, one file each; no HTTP, no SQL)
//!                  └─ store (the only module that knows SQL: writer thread, read threads)
//! ```
//!
//! - [`domain`]: newtypes parsed once at the edge, records, the `Reply` model.
//! - [`error`]: layered error enums and the one mapping to contract codes.
//! - [`api`]: the front-neutral request and the `Codec` trait.
//! - [`auth`]: API keys, Argon2id, the verification cache.
//! - [`blocking`]: the one helper that moves blocking work off the async workers.
//! - [`inventory`]: the inventory CSV files.
//! - [`admin`]: operator commands behind the CLI.
//! - [`config`]: server tunables.
//! - [`metrics`]: Prometheus metrics.
//! - [`ratelimit`]: failed authentications per client address.

pub mod action;
pub mod admin;
pub mod api;
pub mod auth;
pub mod blocking;
pub mod codec;
pub mod config;
pub mod domain;
pub mod error;
pub mod inventory;
pub mod metrics;
pub mod ratelimit;
pub mod server;
pub mod service;
pub mod store;

pub use config::Config;
pub use error::{Error, ErrorCode};
