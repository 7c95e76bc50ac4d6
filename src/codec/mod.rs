//! Wire formats. Only the modules below know XML (and, later, JSON); they
//! decode bytes into an [`crate::api::ApiRequest`] and render
//! [`crate::domain::Reply`] values and errors into bytes.

pub mod json;
pub mod query;
pub mod xml;
