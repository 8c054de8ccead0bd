//! Total Identity's common crate: domain types, the session service, the HTTP API
//! (framework-neutral, on `http` types), ports and their adapters.

pub mod api;
pub mod config;
pub mod domain;
pub mod error;
#[cfg(feature = "lambda")]
pub mod lambda;
pub mod ports;
pub mod service;
pub mod store;
#[cfg(feature = "embedded")]
pub mod testing;
