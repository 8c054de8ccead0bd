//! Adapters for the storage ports.

#[cfg(feature = "aws")]
pub mod dynamodb;
#[cfg(feature = "embedded")]
pub mod sqlite;
