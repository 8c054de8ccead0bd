//! One contract suite for both queue adapters: the in-process `LocalQueue` (on paused
//! time) and `SqsQueue` against LocalStack (`scripts/test` starts it and sets
//! `AWS_ENDPOINT_URL`). Then the local Lambda-like consumer driver.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use shared::queue::local::{LocalQueue, QueueSettings, Receipt};
use shared::queue::sqs::{SqsQueue, create_queue_with_dlq};
use shared::queue::{Delivery, MAX_DELAY, Queue, QueueError};
use tokio::time::Instant;

const VISIBILITY: Duration = Duration::from_secs(1);
const MAX_RECEIVES: u32 = 2;
/// Generous for LocalStack, which shows messages up to ~1 s after they are due.
const PATIENCE: Duration = Duration::from_secs(15);

/// A queue under test with its consumer side and dead-letter queue.
#[async_trait]
trait Harness: Send + Sync + 'static {
    type Receipt: std::fmt::Debug + Send + Sync + 'static;
    fn producer(&self) -> &dyn Queue;
    async fn receive(&self, max: usize, wait: Duration) -> Vec<(Delivery, Self::Receipt)>;
    async fn ack(&self, receipt: &Self::Receipt);
    async fn receive_dead(&self, wait: Duration) -> Vec<Delivery>;
    /// `(visible, in_flight, delayed)`
    async fn counts(&self) -> (usize, usize, usize);
}

/// Receives until `n` deliveries arrived, failing after [`PATIENCE`].
async fn receive_n<H: Harness>(h: &H, n: usize) -> Vec<(Delivery, H::Receipt)> {
    let deadline = Instant::now() + PATIENCE;
    let mut got = Vec::new();
    while got.len() < n {
        assert!(Instant::now() < deadline, "only {} of {n} deliveries arrived", got.len());
        got.extend(h.receive(n - got.len(), Duration::from_secs(1)).await);
    }
    got
}

async fn send(h: &impl Harness, body: &str) {
    h.producer().send(body, Duration::ZERO).await.unwrap();
}

async fn sent_messages_are_received_once_acked(h: Arc<impl Harness>) {
    send(&*h, "hello").await;
    let got = receive_n(&*h, 1).await;
    assert_eq!(got[0].0.body, "hello");
    assert_eq!(got[0].0.receive_count, 1);
    assert_eq!(h.counts().await, (0, 1, 0), "hidden while in flight");
    h.ack(&got[0].1).await;
    assert_eq!(h.counts().await, (0, 0, 0), "an ack deletes");
}

async fn a_delayed_message_shows_after_its_delay(h: Arc<impl Harness>) {
    let delay = Duration::from_secs(2);
    let start = Instant::now();
    h.producer().send("later", delay).await.unwrap();
    assert_eq!(h.counts().await, (0, 0, 1));
    assert!(h.receive(10, Duration::from_secs(1)).await.is_empty(), "visible before its delay");
    let got = receive_n(&*h, 1).await;
    assert!(start.elapsed() >= delay, "arrived after {:?}", start.elapsed());
    assert_eq!((got[0].0.body.as_str(), got[0].0.receive_count), ("later", 1));
    h.ack(&got[0].1).await;
}

async fn an_unacked_message_comes_back_after_the_visibility_timeout(h: Arc<impl Harness>) {
    send(&*h, "retry me").await;
    let first = receive_n(&*h, 1).await.remove(0).0;
    let received_at = Instant::now();
    let again = receive_n(&*h, 1).await.remove(0);
    assert!(received_at.elapsed() >= VISIBILITY, "back after {:?}", received_at.elapsed());
    assert_eq!(again.0.message_id, first.message_id);
    assert_eq!(again.0.body, "retry me");
    assert_eq!(again.0.receive_count, 2);
    h.ack(&again.1).await;
    assert_eq!(h.counts().await, (0, 0, 0));
}

async fn a_message_failing_every_delivery_is_dead_lettered(h: Arc<impl Harness>) {
    send(&*h, "poison").await;
    let mut id = None;
    for count in 1..=MAX_RECEIVES {
        let got = receive_n(&*h, 1).await.remove(0).0;
        assert_eq!(got.receive_count, count);
        assert_eq!(id.get_or_insert(got.message_id.clone()), &got.message_id);
    }
    // The next receive after the visibility timeout moves it instead of delivering it.
    let deadline = Instant::now() + PATIENCE;
    while h.counts().await != (0, 0, 0) {
        assert!(Instant::now() < deadline, "still in the main queue: {:?}", h.counts().await);
        let got = h.receive(10, Duration::from_secs(1)).await;
        assert!(got.is_empty(), "delivered more than {MAX_RECEIVES} times: {got:?}");
    }
    let dead = h.receive_dead(PATIENCE).await;
    assert_eq!(dead.len(), 1);
    assert_eq!(Some(&dead[0].message_id), id.as_ref());
    assert_eq!(dead[0].body, "poison");
}

async fn what_the_queue_cannot_take_is_refused(h: Arc<impl Harness>) {
    let limit = 256 * 1024;
    let q = h.producer();
    assert!(matches!(q.send(&"x".repeat(limit + 1), Duration::ZERO).await, Err(QueueError::TooLarge)));
    assert!(matches!(q.send("late", MAX_DELAY + Duration::from_secs(1)).await, Err(QueueError::DelayTooLong)));
    assert!(matches!(q.send("late", MAX_DELAY + Duration::from_millis(1)).await, Err(QueueError::DelayTooLong)));
    assert!(matches!(q.send("", Duration::ZERO).await, Err(QueueError::Backend(_))));
    assert!(matches!(q.send("nul\0byte", Duration::ZERO).await, Err(QueueError::Backend(_))));
    // The limits themselves are accepted.
    q.send("latest", MAX_DELAY).await.unwrap();
    q.send(&"x".repeat(limit), Duration::ZERO).await.unwrap();
    let got = receive_n(&*h, 1).await.remove(0);
    assert_eq!(got.0.body.len(), limit);
    h.ack(&got.1).await;
    assert_eq!(h.counts().await, (0, 0, 1), "only the accepted ones were queued");
}

async fn a_burst_is_consumed_without_loss_by_two_receivers(h: Arc<impl Harness>) {
    const N: usize = 50;
    let expected: HashSet<String> = (0..N).map(|i| format!("job-{i}")).collect();
    for body in &expected {
        send(&*h, body).await;
    }
    let seen: Arc<Mutex<HashMap<String, String>>> = Arc::default();
    let deadline = Instant::now() + Duration::from_secs(30);
    let receivers: Vec<_> = (0..2)
        .map(|_| {
            let (h, seen) = (Arc::clone(&h), Arc::clone(&seen));
            tokio::spawn(async move {
                while seen.lock().unwrap().len() < N && Instant::now() < deadline {
                    for (delivery, receipt) in h.receive(10, Duration::from_secs(1)).await {
                        let previous = seen.lock().unwrap().insert(delivery.message_id.clone(), delivery.body.clone());
                        // Redelivery is allowed; a different body under one id is not.
                        assert!(previous.is_none_or(|b| b == delivery.body), "id reused for another body");
                        h.ack(&receipt).await;
                    }
                }
            })
        })
        .collect();
    for receiver in receivers {
        receiver.await.unwrap();
    }
    let seen = std::mem::take(&mut *seen.lock().unwrap());
    let bodies: HashSet<String> = seen.values().cloned().collect();
    assert_eq!(bodies, expected, "every body arrives");
    assert_eq!(seen.len(), N, "one message id per send");
    assert_eq!(h.counts().await, (0, 0, 0));
}

macro_rules! contract {
    ($adapter:ident, $make:expr, $runtime:meta) => {
        mod $adapter {
            use super::*;
            contract!(@tests $make, $runtime;
                sent_messages_are_received_once_acked,
                a_delayed_message_shows_after_its_delay,
                an_unacked_message_comes_back_after_the_visibility_timeout,
                a_message_failing_every_delivery_is_dead_lettered,
                what_the_queue_cannot_take_is_refused,
                a_burst_is_consumed_without_loss_by_two_receivers);
        }
    };
    (@tests $make:expr, $runtime:meta; $($name:ident),*) => {$(
        #[$runtime]
        async fn $name() {
            if let Some(h) = $make.await {
                super::$name(Arc::new(h)).await;
            }
        }
    )*};
}

contract!(local, local_harness(), tokio::test(start_paused = true));
contract!(sqs, sqs_harness(), tokio::test(flavor = "multi_thread", worker_threads = 2));

struct LocalHarness {
    queue: Arc<LocalQueue>,
    dlq: Arc<LocalQueue>,
}

fn local_queue() -> (Arc<LocalQueue>, Arc<LocalQueue>) {
    let settings = QueueSettings { visibility_timeout: VISIBILITY, max_receives: MAX_RECEIVES };
    let dlq = Arc::new(LocalQueue::new("work-dlq", settings));
    (Arc::new(LocalQueue::new("work", settings).with_dead_letter(Arc::clone(&dlq))), dlq)
}

async fn local_harness() -> Option<LocalHarness> {
    let (queue, dlq) = local_queue();
    Some(LocalHarness { queue, dlq })
}

#[async_trait]
impl Harness for LocalHarness {
    type Receipt = Receipt;
    fn producer(&self) -> &dyn Queue {
        &*self.queue
    }
    async fn receive(&self, max: usize, wait: Duration) -> Vec<(Delivery, Receipt)> {
        self.queue.receive(max, wait).await
    }
    async fn ack(&self, receipt: &Receipt) {
        self.queue.ack(receipt).await;
    }
    async fn receive_dead(&self, wait: Duration) -> Vec<Delivery> {
        self.dlq.receive(10, wait).await.into_iter().map(|(d, _)| d).collect()
    }
    async fn counts(&self) -> (usize, usize, usize) {
        self.queue.approximate_counts().await
    }
}

struct SqsHarness {
    queue: SqsQueue,
    dlq: SqsQueue,
}

/// LocalStack must be running unless `TI_SKIP_LOCALSTACK=1` says to skip on purpose.
async fn sqs_client() -> Option<aws_sdk_sqs::Client> {
    if std::env::var("AWS_ENDPOINT_URL").is_err() {
        if std::env::var("TI_SKIP_LOCALSTACK").as_deref() == Ok("1") {
            eprintln!("skipping SQS contract test: TI_SKIP_LOCALSTACK=1");
            return None;
        }
        panic!("AWS_ENDPOINT_URL is not set: run `scripts/test` (it starts LocalStack), or set TI_SKIP_LOCALSTACK=1");
    }
    let config = shared::sdk::from_env().expect("the AWS settings in the environment");
    Some(aws_sdk_sqs::Client::new(&config))
}

fn unique_name() -> String {
    format!("ti-contract-{}", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

async fn sqs_harness() -> Option<SqsHarness> {
    let client = sqs_client().await?;
    let visibility = u32::try_from(VISIBILITY.as_secs()).unwrap();
    let (url, dlq_url) = create_queue_with_dlq(&client, &unique_name(), visibility, MAX_RECEIVES).await.unwrap();
    Some(SqsHarness { queue: SqsQueue::new(client.clone(), url), dlq: SqsQueue::new(client, dlq_url) })
}

#[async_trait]
impl Harness for SqsHarness {
    type Receipt = String;
    fn producer(&self) -> &dyn Queue {
        &self.queue
    }
    async fn receive(&self, max: usize, wait: Duration) -> Vec<(Delivery, String)> {
        self.queue.receive(max, wait).await.unwrap()
    }
    async fn ack(&self, receipt: &String) {
        self.queue.delete(receipt).await.unwrap();
    }
    async fn receive_dead(&self, wait: Duration) -> Vec<Delivery> {
        self.dlq.receive(10, wait).await.unwrap().into_iter().map(|(d, _)| d).collect()
    }
    async fn counts(&self) -> (usize, usize, usize) {
        self.queue.approximate_counts().await.unwrap()
    }
}

#[tokio::test]
async fn sqs_queue_setup_is_idempotent() {
    let Some(client) = sqs_client().await else { return };
    let name = unique_name();
    let first = create_queue_with_dlq(&client, &name, 1, 2).await.unwrap();
    assert_eq!(create_queue_with_dlq(&client, &name, 1, 2).await.unwrap(), first);
    // Changed settings are applied to the existing queues.
    assert_eq!(create_queue_with_dlq(&client, &name, 5, 3).await.unwrap(), first);
    let attrs = client
        .get_queue_attributes()
        .queue_url(&first.0)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap();
    assert_eq!(attrs[&aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout], "5");
    let redrive: serde_json::Value =
        serde_json::from_str(&attrs[&aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy]).unwrap();
    assert_eq!(redrive["maxReceiveCount"].to_string().trim_matches('"'), "3");
}

/// The local stand-in for Lambda's event source mapping (local only).
mod consumer {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use shared::queue::local::run_consumer;
    use tokio::sync::watch;
    use tokio::task::JoinHandle;

    use super::*;

    type Log = Arc<Mutex<Vec<Delivery>>>;

    /// Runs the consumer with `decide(batch, call number) -> failed ids`, logging every delivery.
    fn start(
        queue: &Arc<LocalQueue>,
        decide: impl Fn(&[Delivery], usize) -> Vec<String> + Send + Sync + 'static,
    ) -> (Log, watch::Sender<bool>, JoinHandle<()>) {
        let log = Log::default();
        let calls = Arc::new(AtomicUsize::new(0));
        let decide = Arc::new(decide);
        let handler = {
            let log = Arc::clone(&log);
            move |batch: Vec<Delivery>| {
                let (log, decide, call) = (Arc::clone(&log), Arc::clone(&decide), calls.fetch_add(1, Ordering::SeqCst));
                async move {
                    log.lock().unwrap().extend(batch.iter().cloned());
                    decide(&batch, call)
                }
            }
        };
        let (stop, stopped) = watch::channel(false);
        (log, stop, tokio::spawn(run_consumer(Arc::clone(queue), 10, handler, stopped)))
    }

    async fn until(log: &Log, done: impl Fn(&[Delivery]) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !done(&log.lock().unwrap()) {
            assert!(Instant::now() < deadline, "gave up waiting: {:?}", log.lock().unwrap());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // Long enough for any wrongful redelivery to show up too.
        tokio::time::sleep(VISIBILITY * 5).await;
    }

    async fn stop(stop: watch::Sender<bool>, consumer: JoinHandle<()>) {
        stop.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(1), consumer).await.expect("stops promptly").unwrap();
    }

    fn receive_counts(log: &Log, body: &str) -> Vec<u32> {
        log.lock().unwrap().iter().filter(|d| d.body == body).map(|d| d.receive_count).collect()
    }

    async fn send_all(queue: &LocalQueue, bodies: &[&str]) {
        for body in bodies {
            queue.send(body, Duration::ZERO).await.unwrap();
        }
    }

    #[tokio::test(start_paused = true)]
    async fn only_the_failed_item_of_a_batch_is_redelivered() {
        let (queue, dlq) = local_queue();
        send_all(&queue, &["a", "b", "c"]).await;
        let (log, stopper, consumer) = start(&queue, |batch, _| {
            batch.iter().filter(|d| d.body == "b" && d.receive_count == 1).map(|d| d.message_id.clone()).collect()
        });
        until(&log, |seen| seen.iter().any(|d| d.body == "b" && d.receive_count == 2)).await;
        stop(stopper, consumer).await;
        assert_eq!(receive_counts(&log, "a"), [1]);
        assert_eq!(receive_counts(&log, "b"), [1, 2]);
        assert_eq!(receive_counts(&log, "c"), [1]);
        assert_eq!(queue.approximate_counts().await, (0, 0, 0));
        assert_eq!(dlq.approximate_counts().await, (0, 0, 0));
    }

    #[tokio::test(start_paused = true)]
    async fn a_panicking_handler_loses_nothing() {
        let (queue, _dlq) = local_queue();
        send_all(&queue, &["a", "b"]).await;
        let (log, stopper, consumer) = start(&queue, |_, call| {
            assert!(call > 0, "handler bug on the first batch (expected in this test)");
            Vec::new()
        });
        until(&log, |seen| seen.iter().filter(|d| d.receive_count == 2).count() == 2).await;
        stop(stopper, consumer).await;
        assert_eq!(receive_counts(&log, "a"), [1, 2]);
        assert_eq!(receive_counts(&log, "b"), [1, 2]);
        assert_eq!(queue.approximate_counts().await, (0, 0, 0));
    }

    #[tokio::test(start_paused = true)]
    async fn naming_an_id_not_in_the_batch_fails_the_whole_batch() {
        let (queue, _dlq) = local_queue();
        send_all(&queue, &["a", "b"]).await;
        let (log, stopper, consumer) =
            start(&queue, |_, call| if call == 0 { vec!["not-in-this-batch".into()] } else { Vec::new() });
        until(&log, |seen| seen.len() == 4).await;
        stop(stopper, consumer).await;
        assert_eq!(receive_counts(&log, "a"), [1, 2]);
        assert_eq!(receive_counts(&log, "b"), [1, 2]);
        assert_eq!(queue.approximate_counts().await, (0, 0, 0));
    }
}
