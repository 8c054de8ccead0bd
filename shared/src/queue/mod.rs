//! The queue port: at-least-once messages with delays, redelivery and a dead-letter queue.
//! In AWS the consumer side is Lambda's SQS event source mapping (partial batch
//! responses); locally `local::LocalQueue` plays both parts with the same semantics.

use std::time::Duration;

use async_trait::async_trait;

#[cfg(feature = "embedded")]
pub mod local;
#[cfg(feature = "aws")]
pub mod sqs;

/// The port's body limit: SQS's long-standing 256 KiB (SQS itself now takes 1 MiB,
/// and so does LocalStack); both adapters enforce this one.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// SQS's own ceiling for a message delay.
pub const MAX_DELAY: Duration = Duration::from_secs(900);

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// The message is larger than the queue accepts (256 KiB for SQS).
    #[error("message too large")]
    TooLarge,
    #[error("delay over 900 s")]
    DelayTooLong,
    #[error("queue unavailable: {0}")]
    Unavailable(String),
    #[error("queue error: {0}")]
    Backend(String),
}

/// The producer side: what domain code uses to enqueue work.
#[async_trait]
pub trait Queue: Send + Sync {
    /// Sends one message, delivered no earlier than `delay` (at most [`MAX_DELAY`]) from now.
    async fn send(&self, body: &str, delay: Duration) -> Result<(), QueueError>;
}

/// One delivery of a message to a consumer, as Lambda's SQS event hands it over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Stable across redeliveries of the same message (SQS `messageId`).
    pub message_id: String,
    pub body: String,
    /// 1 on first delivery (SQS `ApproximateReceiveCount`).
    pub receive_count: u32,
}
