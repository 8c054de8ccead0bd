//! deliver-webhook's two event sources in one function: its own queue (deliveries) and the
//! table's stream, filtered on the outbox marker (writes that leave a webhook due).

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use serde::{Deserialize, Deserializer, Serialize};

use crate::service::Identity;
use crate::store::dynamodb::session_of_key;
use crate::webhooks::Deliverer;

/// What invoked deliver-webhook, told apart by the records' `eventSource`. A stream record
/// that does not parse fails the invocation (so the mapping retries it), rather than being
/// read as an SQS record without an id.
#[derive(Debug)]
pub enum WebhookTrigger {
    Queue(SqsEvent),
    Outbox(OutboxEvent),
}

impl<'de> Deserialize<'de> for WebhookTrigger {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let value = serde_json::Value::deserialize(deserializer)?;
        let source = value.pointer("/Records/0/eventSource").and_then(|s| s.as_str()).map(str::to_owned);
        match source.as_deref() {
            Some("aws:dynamodb") => serde_json::from_value(value).map(Self::Outbox),
            Some("aws:sqs") | None => serde_json::from_value(value).map(Self::Queue),
            Some(other) => return Err(D::Error::custom(format!("unexpected event source {other}"))),
        }
        .map_err(D::Error::custom)
    }
}

/// The parts of a DynamoDB stream event the outbox reads: which item changed, and where in
/// the shard (the id Lambda's partial batch response names).
#[derive(Debug, Deserialize)]
pub struct OutboxEvent {
    #[serde(rename = "Records")]
    records: Vec<ChangeRecord>,
}

#[derive(Debug, Deserialize)]
struct ChangeRecord {
    dynamodb: Change,
}

#[derive(Debug, Deserialize)]
struct Change {
    #[serde(rename = "Keys")]
    keys: ChangeKeys,
    #[serde(rename = "SequenceNumber")]
    sequence_number: String,
}

#[derive(Debug, Deserialize)]
struct ChangeKeys {
    pk: StringValue,
}

#[derive(Debug, Deserialize)]
struct StringValue {
    #[serde(rename = "S")]
    s: String,
}

#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum TriggerResponse {
    Queue(SqsBatchResponse),
    Outbox(DynamoDbEventResponse),
}

pub async fn handle_webhook_trigger(
    deliverer: &Deliverer,
    outbox: &Identity,
    event: WebhookTrigger,
) -> TriggerResponse {
    match event {
        WebhookTrigger::Queue(event) => TriggerResponse::Queue(
            super::handle_sqs(event, async |deliveries| deliverer.handle_batch(deliveries).await).await,
        ),
        WebhookTrigger::Outbox(event) => TriggerResponse::Outbox(handle_outbox(outbox, event).await),
    }
}

/// Queues the webhooks the changed sessions owe, in shard order. At the first failure it
/// stops and names that record: the mapping retries the shard from there (what came before
/// is done; what comes after is not tried twice).
pub async fn handle_outbox(identity: &Identity, event: OutboxEvent) -> DynamoDbEventResponse {
    let mut response = DynamoDbEventResponse::default();
    for record in event.records {
        let change = record.dynamodb;
        let Some(id) = session_of_key(&change.keys.pk.s) else {
            // The stream's filter admits session items only; anything else owes nothing.
            tracing::warn!(sequence_number = %change.sequence_number, "outbox change for an item that is not a session");
            continue;
        };
        if let Err(e) = identity.queue_due_webhooks(id).await {
            tracing::error!(session_id = %id, code = e.code, "webhook not queued from the outbox; retrying from here");
            let mut failure = DynamoDbBatchItemFailure::default();
            failure.item_identifier = Some(change.sequence_number);
            response.batch_item_failures.push(failure);
            break;
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::SessionId;

    const EVENT: &str = include_str!("../../../events/deliver-webhook-outbox.json");
    const SESSION: &str = "9b2f7f0e-3c55-4c1e-9f55-0f3c2d0b6a11";

    fn outbox_event() -> OutboxEvent {
        match serde_json::from_str(EVENT).unwrap() {
            WebhookTrigger::Outbox(event) => event,
            other => panic!("the sample stream event read as {other:?}"),
        }
    }

    #[test]
    fn each_source_is_read_as_itself_and_a_broken_stream_record_is_refused() {
        let sqs = include_str!("../../../events/deliver-webhook.json");
        assert!(matches!(serde_json::from_str(sqs).unwrap(), WebhookTrigger::Queue(_)));
        assert_eq!(outbox_event().records.len(), 2);
        let broken = EVENT.replace("\"SequenceNumber\"", "\"Sequence\"");
        assert!(serde_json::from_str::<WebhookTrigger>(&broken).is_err());
        let other = EVENT.replace("aws:dynamodb", "aws:kinesis");
        assert!(serde_json::from_str::<WebhookTrigger>(&other).is_err());
    }

    #[tokio::test]
    async fn the_sample_changes_queue_the_owed_webhook_once_and_a_failure_names_its_record() {
        let demo = crate::testing::demo().await;
        let reader = crate::testing::outbox_reader(&demo, SessionId::parse(SESSION).unwrap()).await;
        demo.app.cancel_session(&reader.tenant, SESSION).await.unwrap();

        // Without a webhook queue the first record fails, and only it is named.
        let failed = handle_outbox(&demo.app, outbox_event()).await.batch_item_failures;
        let failed: Vec<_> = failed.into_iter().map(|f| f.item_identifier.unwrap()).collect();
        assert_eq!(failed, ["111100000000000000000001"]);

        // The second record's session is unknown: it owes nothing. A replay queues nothing more.
        assert!(handle_outbox(&reader.identity, outbox_event()).await.batch_item_failures.is_empty());
        assert!(handle_outbox(&reader.identity, outbox_event()).await.batch_item_failures.is_empty());
        let jobs = reader.queued_jobs().await;
        let queued: Vec<_> = jobs.iter().map(|j| (j.event.event_type.as_str(), j.url.as_str())).collect();
        assert_eq!(queued, [(crate::webhooks::SESSION_CANCELLED, "http://127.0.0.1:9/hooks")]);
    }
}
