//! SQS adapter for the queue port. In AWS, Lambda consumes the queue; the consumer-side
//! calls and queue setup here are for local pollers (e.g. against LocalStack), ops and tests.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::config::http::HttpResponse;
use aws_sdk_sqs::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};

use super::{Delivery, MAX_BODY_BYTES, MAX_DELAY, Queue, QueueError};

/// SQS refuses more in one ReceiveMessage.
const MAX_BATCH: i32 = 10;
const MAX_WAIT_SECS: i32 = 20;
/// The longest SQS retention, for dead letters: they outlive the source queue's retention.
const DLQ_RETENTION_SECS: &str = "1209600";

#[derive(Clone)]
pub struct SqsQueue {
    client: Client,
    queue_url: String,
}

/// Maps an SDK failure to the port's taxonomy. Only the operation and error code go into
/// the message: service messages may quote what was sent (e.g. a receipt handle).
fn queue_err<E: ProvideErrorMetadata>(op: &str, err: &SdkError<E, HttpResponse>) -> QueueError {
    const TRANSIENT: &[&str] = &[
        "RequestThrottled",
        "ThrottlingException",
        "Throttling",
        "OverLimit",
        "KmsThrottled",
        "KmsUnavailable",
        "ServiceUnavailable",
        "InternalError",
        "InternalFailure",
    ];
    let too_long = err.message().is_some_and(|m| m.contains("shorter than") || m.contains("too long"));
    match err.code() {
        Some("InvalidParameterValue" | "InvalidParameterValueException") if too_long => return QueueError::TooLarge,
        Some("BatchRequestTooLong" | "AWS.SimpleQueueService.BatchRequestTooLong") => return QueueError::TooLarge,
        _ => {}
    }
    match crate::sdk::retryable(op, err, TRANSIENT) {
        Some(why) => QueueError::Unavailable(why),
        None => QueueError::Backend(crate::sdk::described(op, err)),
    }
}

/// Whole seconds, rounded up: SQS takes integers, and a delay must not come early.
fn whole_secs(d: Duration) -> i32 {
    i32::try_from(d.as_secs() + u64::from(d.subsec_nanos() > 0)).unwrap_or(i32::MAX)
}

impl SqsQueue {
    pub fn new(client: Client, queue_url: impl Into<String>) -> Self {
        Self { client, queue_url: queue_url.into() }
    }

    /// A queue on a shared SDK configuration (AWS_ENDPOINT_URL is honoured).
    pub fn from_config(config: &aws_types::SdkConfig, queue_url: impl Into<String>) -> Self {
        Self::new(Client::new(config), queue_url)
    }

    /// Another queue on the same client: the SDK sets up TLS once per client.
    pub fn sibling(&self, queue_url: impl Into<String>) -> Self {
        Self::new(self.client.clone(), queue_url)
    }

    pub fn queue_url(&self) -> &str {
        &self.queue_url
    }

    /// Long-polls up to `wait` (rounded up to whole seconds, at most 20) for up to `max`
    /// (at most 10) messages, with their receipt handles.
    pub async fn receive(&self, max: usize, wait: Duration) -> Result<Vec<(Delivery, String)>, QueueError> {
        let out = self
            .client
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(i32::try_from(max).unwrap_or(MAX_BATCH).clamp(1, MAX_BATCH))
            .wait_time_seconds(whole_secs(wait).min(MAX_WAIT_SECS))
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .map_err(|e| queue_err("ReceiveMessage", &e))?;
        let lacks = |what: &str| QueueError::Backend(format!("ReceiveMessage: message lacks {what}"));
        out.messages
            .unwrap_or_default()
            .into_iter()
            .map(|m| {
                let receive_count = m
                    .attributes()
                    .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                    .and_then(|n| n.parse().ok())
                    .ok_or_else(|| lacks("ApproximateReceiveCount"))?;
                let delivery = Delivery {
                    message_id: m.message_id.ok_or_else(|| lacks("MessageId"))?,
                    body: m.body.ok_or_else(|| lacks("Body"))?,
                    receive_count,
                };
                Ok((delivery, m.receipt_handle.ok_or_else(|| lacks("ReceiptHandle"))?))
            })
            .collect()
    }

    /// Deletes a received message.
    pub async fn delete(&self, receipt_handle: &str) -> Result<(), QueueError> {
        self.client
            .delete_message()
            .queue_url(&self.queue_url)
            .receipt_handle(receipt_handle)
            .send()
            .await
            .map_err(|e| queue_err("DeleteMessage", &e))?;
        Ok(())
    }

    /// `(visible, in_flight, delayed)` from SQS's approximate counts.
    pub async fn approximate_counts(&self) -> Result<(usize, usize, usize), QueueError> {
        use QueueAttributeName::{
            ApproximateNumberOfMessages, ApproximateNumberOfMessagesDelayed, ApproximateNumberOfMessagesNotVisible,
        };
        let out = self
            .client
            .get_queue_attributes()
            .queue_url(&self.queue_url)
            .attribute_names(ApproximateNumberOfMessages)
            .attribute_names(ApproximateNumberOfMessagesNotVisible)
            .attribute_names(ApproximateNumberOfMessagesDelayed)
            .send()
            .await
            .map_err(|e| queue_err("GetQueueAttributes", &e))?;
        let attrs = out.attributes.unwrap_or_default();
        let count = |name: QueueAttributeName| {
            attrs
                .get(&name)
                .and_then(|n| n.parse().ok())
                .ok_or_else(|| QueueError::Backend(format!("GetQueueAttributes: missing or bad {}", name.as_str())))
        };
        Ok((
            count(ApproximateNumberOfMessages)?,
            count(ApproximateNumberOfMessagesNotVisible)?,
            count(ApproximateNumberOfMessagesDelayed)?,
        ))
    }
}

#[async_trait]
impl Queue for SqsQueue {
    async fn send(&self, body: &str, delay: Duration) -> Result<(), QueueError> {
        if body.len() > MAX_BODY_BYTES {
            return Err(QueueError::TooLarge);
        }
        if delay > MAX_DELAY {
            return Err(QueueError::DelayTooLong);
        }
        self.client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(body)
            .delay_seconds(whole_secs(delay))
            .send()
            .await
            .map_err(|e| queue_err("SendMessage", &e))?;
        Ok(())
    }
}

/// A queue's ARN (what S3 notifications and redrive policies name).
pub async fn queue_arn(client: &Client, queue_url: &str) -> Result<String, QueueError> {
    let out = client
        .get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| queue_err("GetQueueAttributes", &e))?;
    out.attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn))
        .cloned()
        .ok_or_else(|| QueueError::Backend("GetQueueAttributes: no QueueArn".into()))
}

/// Creates (or brings up to date) `<name>-dlq` and `<name>`, whose RedrivePolicy moves a
/// message there on its `max_receive_count + 1`-th receive. Returns `(queue_url, dlq_url)`.
/// For local runs and tests; production queues come from infrastructure code.
pub async fn create_queue_with_dlq(
    client: &Client,
    name: &str,
    visibility_timeout_secs: u32,
    max_receive_count: u32,
) -> Result<(String, String), QueueError> {
    let dlq_attrs = HashMap::from([(QueueAttributeName::MessageRetentionPeriod, DLQ_RETENTION_SECS.to_owned())]);
    let dlq_url = ensure_queue(client, &format!("{name}-dlq"), dlq_attrs).await?;
    let dlq_arn = queue_arn(client, &dlq_url).await?;
    let redrive = serde_json::json!({ "deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receive_count });
    let attrs = HashMap::from([
        (QueueAttributeName::VisibilityTimeout, visibility_timeout_secs.to_string()),
        (QueueAttributeName::RedrivePolicy, redrive.to_string()),
    ]);
    let url = ensure_queue(client, name, attrs).await?;
    Ok((url, dlq_url))
}

/// CreateQueue refuses an existing name with other attributes; then the attributes are set.
async fn ensure_queue(
    client: &Client,
    name: &str,
    attrs: HashMap<QueueAttributeName, String>,
) -> Result<String, QueueError> {
    let created = client.create_queue().queue_name(name).set_attributes(Some(attrs.clone())).send().await;
    let url = match created {
        Ok(out) => return out.queue_url.ok_or_else(|| QueueError::Backend("CreateQueue: no QueueUrl".into())),
        Err(e) if matches!(e.code(), Some("QueueAlreadyExists" | "QueueNameExists")) => client
            .get_queue_url()
            .queue_name(name)
            .send()
            .await
            .map_err(|e| queue_err("GetQueueUrl", &e))?
            .queue_url
            .ok_or_else(|| QueueError::Backend("GetQueueUrl: no QueueUrl".into()))?,
        Err(e) => return Err(queue_err("CreateQueue", &e)),
    };
    client
        .set_queue_attributes()
        .queue_url(&url)
        .set_attributes(Some(attrs))
        .send()
        .await
        .map_err(|e| queue_err("SetQueueAttributes", &e))?;
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_round_up_to_whole_seconds() {
        assert_eq!(whole_secs(Duration::ZERO), 0);
        assert_eq!(whole_secs(Duration::from_millis(1)), 1);
        assert_eq!(whole_secs(Duration::from_secs(2)), 2);
        assert_eq!(whole_secs(Duration::from_millis(2001)), 3);
        assert_eq!(whole_secs(MAX_DELAY), 900);
    }
}
