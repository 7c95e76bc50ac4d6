//! didgate's embedded engine: the core's storage interface
//! ([`didgate_core::engine`]) over one SQLite file.
//!
//! - [`Store`] is the server's [`didgate_core::engine::Engine`]. Writes go
//!   to one writer thread that owns the read-write connection and commits
//!   them in groups: it takes every queued job (up to 512), runs
//!   `BEGIN IMMEDIATE`, runs each job in its own `SAVEPOINT` (released on
//!   success, rolled back on error or `TEST`), commits once, and only then
//!   answers the batch's callers, so one fsync pays for a batch and no
//!   caller hears "done" before its change is durable. Reads run on read
//!   threads of our own, one read-only connection each, taking reads from
//!   one shared queue, each read in one read transaction. A housekeeping
//!   thread runs the WAL checkpoints beside the writer and notices other
//!   processes' commits, which together with the writer's own commits
//!   move [`didgate_core::engine::Engine::version`]. `CONTAINS` searches
//!   use in-memory snapshots of areas with an index of their four-digit
//!   groups, shared by the read threads.
//! - [`Db`] is one read-write connection for the CLI and tests: reads and
//!   transactions over the same [`didgate_core::engine::Reads`] and
//!   [`didgate_core::engine::Tx`], the inventory import, backups, and an
//!   inspection view ([`Inspect`]).
//!
//! The engine holds no business rule: each operation does exactly what
//! its trait documents, and the schema's constraints are the second line
//! of defence. Uniqueness is SQLite's (UNIQUE and PRIMARY KEY
//! constraints), so a taken value is [`didgate_core::StoreError::Duplicate`]
//! whatever the number of writers. Errors are classified once
//! (`classify.rs`). Nothing outside this crate sees a rusqlite type, and
//! its threads, queues and caches are private to it.

mod accounts;
mod catalog;
mod classify;
mod connection;
mod db;
mod dids;
mod filter;
mod grams;
mod history;
mod housekeeper;
mod idempotency;
mod import;
mod inspect;
mod ledger;
pub mod migrate;
mod numbers;
mod reader;
mod reservations;
mod search;
mod session;
mod snapshot;
mod sql;
mod status;
mod store;
#[cfg(test)]
mod testing;
mod writer;

pub use db::Db;
pub use history::HistoryEntry;
pub use import::{CatalogRow, ImportStats, NumberRow};
pub use inspect::Inspect;
pub use store::{Store, StoreOptions};
pub use writer::BatchObserver;
