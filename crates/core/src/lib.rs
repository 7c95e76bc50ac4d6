//! didgate's core: the domain, the closed set of commands and their
//! outcomes, every business rule, and the two interfaces the leaves plug
//! into: [`engine::Engine`] (storage) and [`front::Front`] (wire formats).
//!
//! This crate depends on no HTTP, wire-format or database crate; the
//! fronts and engines depend on it, never the reverse.
//!
//! - [`domain`]: newtypes parsed once at the edge, records, ranges.
//! - [`command`]: one struct per command, one enum of them all.
//! - [`outcome`]: what a command did, typed.
//! - [`rules`]: the business rules, over [`engine::Tx`] and [`engine::Reads`].
//! - [`service`]: authenticate, dispatch (the one match), idempotency, caching.
//! - [`error`]: the error layers and the one mapping to contract codes.
//! - [`auth`], [`ratelimit`], [`cache`], [`blocking`], [`settings`].

pub mod auth;
pub mod blocking;
pub mod cache;
pub mod command;
pub mod domain;
pub mod engine;
pub mod error;
pub mod front;
pub mod outcome;
pub mod ratelimit;
pub mod rules;
pub mod service;
pub mod settings;

pub use error::{DomainError, Error, ErrorCode, ParamError, StoreError};
