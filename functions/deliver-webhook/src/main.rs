//! SQS-triggered: delivers signed webhooks (Standard Webhooks), re-queuing failures with
//! exponential backoff and jitter for three days, then to the dead-letter queue.
//! Stream-triggered: the session table's outbox, queuing the webhooks that ended sessions owe.

fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::on_one_thread(shared::lambda::serve_webhooks())
}

#[cfg(test)]
mod tests {
    use aws_lambda_events::event::sqs::SqsEvent;

    const EVENT: &str = include_str!("../../../events/deliver-webhook.json");

    #[tokio::test]
    async fn the_sample_batch_maps_failures_to_batch_item_failures() {
        let event: SqsEvent = serde_json::from_str(EVENT).unwrap();
        // The handler names the ids to retry; the response carries exactly those.
        let response = shared::lambda::handle_sqs(event, async |deliveries| {
            assert_eq!(deliveries.len(), 1);
            assert_eq!(deliveries[0].receive_count, 2);
            // The sample body is a real delivery job.
            let job: shared::webhooks::DeliveryJob = serde_json::from_str(&deliveries[0].body).unwrap();
            assert_eq!(job.event.event_type, "identity.session.finished");
            vec![deliveries[0].message_id.clone()]
        })
        .await;
        let failed: Vec<_> = response.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
        assert_eq!(failed, ["5d0c2f1e-3333-4e57-9d0f-5a1e7c5b0003"]);
    }
}
