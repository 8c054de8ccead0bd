//! Adapters for the storage ports.

#[cfg(feature = "aws")]
pub mod dynamodb;
pub mod rate_limit;
#[cfg(feature = "aws")]
mod rate_limit_dynamodb;
#[cfg(feature = "embedded")]
mod rate_limit_sqlite;
#[cfg(feature = "embedded")]
pub mod sqlite;
