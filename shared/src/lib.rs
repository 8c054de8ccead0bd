//! Total Identity's common crate: domain types, the session service, the HTTP API
//! (framework-neutral, on `http` types), ports and their adapters.

pub mod api;
pub mod appendix;
pub mod artifacts;
pub mod checks;
pub mod config;
pub mod decision;
pub mod domain;
pub mod error;
#[cfg(feature = "lambda")]
pub mod lambda;
pub mod metrics;
pub mod objects;
pub mod pipeline;
pub mod ports;
pub mod queue;
pub mod results;
#[cfg(feature = "aws")]
pub mod sdk;
pub mod service;
pub mod signing;
pub mod store;
#[cfg(feature = "embedded")]
pub mod testing;
pub mod webhooks;
