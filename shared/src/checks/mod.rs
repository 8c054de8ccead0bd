//! Real verification checks, one port per step, each with a real implementation (an AWS
//! service, an HTTP gateway or an algorithm of ours) beside the sandbox provider.

#[cfg(feature = "aws")]
mod aws_failure;
pub mod bank;
pub mod config;
pub mod document;
pub mod dvs;
pub mod live;
pub mod liveness;
pub mod names;
pub mod screening;
#[cfg(feature = "aws")]
pub mod screening_s3;
