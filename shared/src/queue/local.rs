//! In-process queue with SQS standard-queue semantics for the one-process local server:
//! delays, a visibility timeout, receive counts and redrive to a dead-letter queue, plus
//! a driver that consumes it the way Lambda's SQS event source mapping does.

use std::collections::{BTreeMap, HashSet};
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::{Notify, watch};
use tokio::time::Instant;

use super::{Delivery, MAX_BODY_BYTES, MAX_DELAY, Queue, QueueError};

/// How long `run_consumer` long-polls per receive: SQS's maximum wait.
const POLL_WAIT: Duration = Duration::from_secs(20);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueSettings {
    /// How long a received message stays hidden before it is delivered again.
    pub visibility_timeout: Duration,
    /// Deliveries allowed before the next receive moves the message to the dead-letter
    /// queue (SQS `maxReceiveCount`, at least 1). Without a dead-letter queue, unlimited.
    pub max_receives: u32,
}

/// Proof of one delivery, used to delete the message (an SQS receipt handle).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    seq: u64,
    message_id: String,
}

#[derive(Debug)]
struct Message {
    id: String,
    body: String,
    receive_count: u32,
    visible_at: Instant,
}

#[derive(Default)]
struct State {
    /// Keyed by arrival order so receives hand out the oldest visible messages first.
    messages: BTreeMap<u64, Message>,
    next_seq: u64,
}

pub struct LocalQueue {
    name: String,
    settings: QueueSettings,
    dead_letter: Option<Arc<LocalQueue>>,
    state: Mutex<State>,
    /// Wakes long-polling receivers when a message arrives.
    arrived: Notify,
}

/// Refuses what SQS refuses: oversize, empty, or characters outside its XML-safe set.
fn check_body(body: &str) -> Result<(), QueueError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(QueueError::TooLarge);
    }
    if body.is_empty() {
        return Err(QueueError::Backend("empty message body".into()));
    }
    let allowed = |c: char| matches!(c, '\t' | '\n' | '\r' | ' '..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}');
    if !body.chars().all(allowed) {
        return Err(QueueError::Backend("invalid characters in message body".into()));
    }
    Ok(())
}

impl LocalQueue {
    pub fn new(name: impl Into<String>, settings: QueueSettings) -> Self {
        let settings = QueueSettings { max_receives: settings.max_receives.max(1), ..settings };
        Self { name: name.into(), settings, dead_letter: None, state: Mutex::default(), arrived: Notify::new() }
    }

    /// Redrives messages received more than `max_receives` times to `queue`.
    pub fn with_dead_letter(mut self, queue: Arc<LocalQueue>) -> Self {
        self.dead_letter = Some(queue);
        self
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    // No code panics while holding the lock, so a poisoned state is still consistent.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn push(&self, message: Message) {
        let mut state = self.lock();
        let seq = state.next_seq;
        state.next_seq += 1;
        state.messages.insert(seq, message);
        drop(state);
        self.arrived.notify_waiters();
    }

    /// Waits up to `wait` for at least one visible message and returns up to `max` of
    /// them, each hidden for the visibility timeout. Cancel-safe: nothing is taken
    /// across an await.
    pub async fn receive(&self, max: usize, wait: Duration) -> Vec<(Delivery, Receipt)> {
        let deadline = Instant::now() + wait;
        loop {
            // Created before looking, so a send between the look and the wait still wakes us.
            let arrived = self.arrived.notified();
            let (batch, next_visible) = self.take_visible(max);
            if !batch.is_empty() || max == 0 || Instant::now() >= deadline {
                return batch;
            }
            let wake = next_visible.map_or(deadline, |at| at.min(deadline));
            tokio::select! {
                () = arrived => {}
                () = tokio::time::sleep_until(wake) => {}
            }
        }
    }

    /// Takes up to `max` visible messages; also returns when the next hidden one shows.
    fn take_visible(&self, max: usize) -> (Vec<(Delivery, Receipt)>, Option<Instant>) {
        let now = Instant::now();
        let mut batch = Vec::new();
        let mut redrive = Vec::new();
        let mut next_visible: Option<Instant> = None;
        let mut state = self.lock();
        for (&seq, msg) in &mut state.messages {
            if batch.len() == max {
                break;
            }
            if msg.visible_at > now {
                next_visible = Some(next_visible.map_or(msg.visible_at, |at| at.min(msg.visible_at)));
                continue;
            }
            if self.dead_letter.is_some() && msg.receive_count >= self.settings.max_receives {
                redrive.push(seq);
                continue;
            }
            msg.receive_count += 1;
            msg.visible_at = now + self.settings.visibility_timeout;
            let delivery =
                Delivery { message_id: msg.id.clone(), body: msg.body.clone(), receive_count: msg.receive_count };
            batch.push((delivery, Receipt { seq, message_id: msg.id.clone() }));
        }
        let moved: Vec<Message> = redrive.iter().filter_map(|seq| state.messages.remove(seq)).collect();
        drop(state);
        // Pushed after our lock is released; the receive count carries over, as in SQS.
        if let Some(dlq) = &self.dead_letter {
            for msg in moved {
                dlq.push(Message { visible_at: now, ..msg });
            }
        }
        (batch, next_visible)
    }

    /// Deletes the message. Like SQS, an older receipt of a message still deletes it,
    /// and a receipt of a message already gone is ignored.
    pub async fn ack(&self, receipt: &Receipt) {
        let mut state = self.lock();
        if state.messages.get(&receipt.seq).is_some_and(|m| m.id == receipt.message_id) {
            state.messages.remove(&receipt.seq);
        }
    }

    /// Gives the message up: it is delivered again once its visibility timeout lapses,
    /// which is what SQS does with a failed item of a Lambda batch.
    pub async fn nack(&self, _receipt: &Receipt) {}

    /// `(visible, in_flight, delayed)`, like SQS's approximate message counts.
    pub async fn approximate_counts(&self) -> (usize, usize, usize) {
        let now = Instant::now();
        let state = self.lock();
        let mut counts = (0, 0, 0);
        for msg in state.messages.values() {
            match (msg.visible_at <= now, msg.receive_count) {
                (true, _) => counts.0 += 1,
                (false, 0) => counts.2 += 1,
                (false, _) => counts.1 += 1,
            }
        }
        counts
    }
}

#[async_trait]
impl Queue for LocalQueue {
    async fn send(&self, body: &str, delay: Duration) -> Result<(), QueueError> {
        check_body(body)?;
        if delay > MAX_DELAY {
            return Err(QueueError::DelayTooLong);
        }
        let id = uuid::Uuid::new_v4().to_string();
        self.push(Message { id, body: body.to_owned(), receive_count: 0, visible_at: Instant::now() + delay });
        Ok(())
    }
}

/// Consumes `queue` in batches of up to `batch_size` until `shutdown` turns true (or its
/// sender is dropped), as Lambda's SQS event source mapping with partial batch responses:
/// `handler` returns the ids of the messages that failed; the rest are deleted. A
/// panicking handler, or one naming an id not in its batch, fails the whole batch. Failed
/// messages come back after the visibility timeout, so nothing is lost.
pub async fn run_consumer<F, Fut>(
    queue: Arc<LocalQueue>,
    batch_size: usize,
    handler: F,
    mut shutdown: watch::Receiver<bool>,
) where
    F: Fn(Vec<Delivery>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Vec<String>> + Send + 'static,
{
    let handler = Arc::new(handler);
    loop {
        let batch = tokio::select! {
            biased;
            _ = shutdown.wait_for(|stop| *stop) => return,
            batch = queue.receive(batch_size.max(1), POLL_WAIT) => batch,
        };
        if batch.is_empty() {
            continue;
        }
        let (deliveries, receipts): (Vec<Delivery>, Vec<Receipt>) = batch.into_iter().unzip();
        let handler = Arc::clone(&handler);
        // Spawned so that a panic, even while building the future, surfaces as a JoinError.
        let failed = match tokio::spawn(async move { handler(deliveries).await }).await {
            Ok(failed) => failed,
            Err(e) => {
                tracing::warn!(queue = queue.name(), batch = receipts.len(), panicked = e.is_panic(), "handler failed");
                continue;
            }
        };
        let failed: HashSet<&str> = failed.iter().map(String::as_str).collect();
        if failed.iter().any(|id| !receipts.iter().any(|r| r.message_id == *id)) {
            tracing::warn!(queue = queue.name(), batch = receipts.len(), "handler reported an unknown message id");
            continue;
        }
        for receipt in &receipts {
            if failed.contains(receipt.message_id.as_str()) {
                queue.nack(receipt).await;
            } else {
                queue.ack(receipt).await;
            }
        }
    }
}
