//! The business rules.
