//! Operational metrics as CloudWatch Embedded Metric Format (EMF): one JSON line per
//! event, written to stdout in Lambda, where CloudWatch Logs turns it into metrics with no
//! API call. Dimensions are machine values only (step, provider, decision, queue, tenant
//! id): never names, references or anything a person typed.
//!
//! Lines go to the installed [`Sink`] (none by default: nothing is written); tests wrap
//! work in [`capture`] to collect what it emitted.

use std::sync::{Arc, Mutex, OnceLock};

use serde_json::{Map, Value, json};

pub const NAMESPACE: &str = "TotalIdentity";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    Milliseconds,
}

impl Unit {
    fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Milliseconds => "Milliseconds",
        }
    }
}

/// One EMF record: its dimensions (one dimension set, all of them) and its values.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub dimensions: Vec<(&'static str, String)>,
    pub metrics: Vec<(&'static str, Unit, f64)>,
}

impl Record {
    /// The EMF document: `_aws` metadata naming every metric and dimension, then each
    /// dimension and metric as a top-level key.
    pub fn to_emf(&self, timestamp_ms: i64) -> Value {
        let names: Vec<&str> = self.dimensions.iter().map(|(k, _)| *k).collect();
        let metrics: Vec<Value> =
            self.metrics.iter().map(|(name, unit, _)| json!({"Name": name, "Unit": unit.as_str()})).collect();
        let mut doc = Map::new();
        doc.insert(
            "_aws".into(),
            json!({
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{"Namespace": NAMESPACE, "Dimensions": [names], "Metrics": metrics}],
            }),
        );
        for (key, value) in &self.dimensions {
            doc.insert((*key).into(), json!(value));
        }
        for (name, _, value) in &self.metrics {
            doc.insert((*name).into(), json!(value));
        }
        Value::Object(doc)
    }
}

/// Where EMF lines go.
pub trait Sink: Send + Sync {
    fn write(&self, line: &str);
}

/// Stdout, one line per record (Lambda ships stdout to CloudWatch Logs).
pub struct Stdout;

impl Sink for Stdout {
    fn write(&self, line: &str) {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
    }
}

/// Standard error: the local server's log stream when it logs JSON.
pub struct Stderr;

impl Sink for Stderr {
    fn write(&self, line: &str) {
        use std::io::Write;
        let mut out = std::io::stderr().lock();
        let _ = writeln!(out, "{line}");
    }
}

static SINK: OnceLock<Box<dyn Sink>> = OnceLock::new();

/// Sends every later record to `sink`; once per process (later calls are ignored).
pub fn install(sink: impl Sink + 'static) {
    let _ = SINK.set(Box::new(sink));
}

tokio::task_local! {
    static CAPTURED: Arc<Mutex<Vec<Value>>>;
}

/// Runs `work`, collecting the records it emits (on this task) instead of writing them.
pub async fn capture<T>(work: impl Future<Output = T>) -> (T, Vec<Value>) {
    let captured: Arc<Mutex<Vec<Value>>> = Arc::default();
    let out = CAPTURED.scope(captured.clone(), work).await;
    let records = captured.lock().map(|r| r.clone()).unwrap_or_default();
    (out, records)
}

pub fn emit(record: Record) {
    let doc = record.to_emf(chrono::Utc::now().timestamp_millis());
    let captured = CAPTURED.try_with(|c| {
        if let Ok(mut c) = c.lock() {
            c.push(doc.clone());
        }
    });
    if captured.is_err()
        && let Some(sink) = SINK.get()
    {
        sink.write(&doc.to_string());
    }
}

fn count(name: &'static str, dimensions: Vec<(&'static str, String)>) {
    emit(Record { dimensions, metrics: vec![(name, Unit::Count, 1.0)] });
}

/// `SessionsCreated` by `TenantId` (new sessions only, not idempotent replays).
pub fn session_created(tenant: &crate::domain::TenantId) {
    count("SessionsCreated", vec![("TenantId", tenant.to_string())]);
}

/// `Decisions` by `Decision` (approved, declined, review): once per finished session.
pub fn decision(decision: crate::decision::Decision) {
    count("Decisions", vec![("Decision", decision.as_str().to_owned())]);
}

/// `StepDuration` (ms) of one check run, by `Step` and `Provider`.
pub fn step_duration(step: crate::domain::Step, provider: &str, ms: u64) {
    let dimensions = vec![("Step", step.as_str().to_owned()), ("Provider", provider.to_owned())];
    emit(Record { dimensions, metrics: vec![("StepDuration", Unit::Milliseconds, ms as f64)] });
}

/// One webhook POST: `WebhookAttempts` 1, and `WebhookFailures` 1 unless it got a 2xx.
pub fn webhook_attempt(delivered: bool) {
    let failures = if delivered { 0.0 } else { 1.0 };
    let metrics = vec![("WebhookAttempts", Unit::Count, 1.0), ("WebhookFailures", Unit::Count, failures)];
    emit(Record { dimensions: Vec::new(), metrics });
}

/// `DlqArrivals` by `Queue` (`steps`, `webhooks`): a message given up on.
pub fn dlq_arrival(queue: &'static str) {
    count("DlqArrivals", vec![("Queue", queue.to_owned())]);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What CloudWatch requires of an EMF document.
    fn assert_valid_emf(doc: &Value) {
        let aws = &doc["_aws"];
        assert!(aws["Timestamp"].is_i64(), "{doc}");
        let directives = aws["CloudWatchMetrics"].as_array().unwrap();
        assert_eq!(directives.len(), 1);
        assert_eq!(directives[0]["Namespace"], NAMESPACE);
        for set in directives[0]["Dimensions"].as_array().unwrap() {
            for key in set.as_array().unwrap() {
                assert!(doc[key.as_str().unwrap()].is_string(), "dimension {key} missing in {doc}");
            }
        }
        let metrics = directives[0]["Metrics"].as_array().unwrap();
        assert!(!metrics.is_empty());
        for m in metrics {
            assert!(matches!(m["Unit"].as_str(), Some("Count" | "Milliseconds")), "{m}");
            assert!(doc[m["Name"].as_str().unwrap()].is_number(), "metric {m} has no value in {doc}");
        }
    }

    #[test]
    fn records_are_exact_emf() {
        let doc = Record {
            dimensions: vec![("Step", "document".into()), ("Provider", "sandbox".into())],
            metrics: vec![("StepDuration", Unit::Milliseconds, 42.0)],
        }
        .to_emf(1_764_000_000_123);
        assert_eq!(
            doc,
            json!({
                "_aws": {"Timestamp": 1_764_000_000_123_i64, "CloudWatchMetrics": [{
                    "Namespace": "TotalIdentity",
                    "Dimensions": [["Step", "Provider"]],
                    "Metrics": [{"Name": "StepDuration", "Unit": "Milliseconds"}],
                }]},
                "Step": "document", "Provider": "sandbox", "StepDuration": 42.0,
            })
        );
        assert_valid_emf(&doc);
    }

    #[tokio::test]
    async fn every_metric_is_valid_emf_and_captured() {
        use crate::domain::{Step, TenantId};
        let tenant = TenantId::random();
        let ((), docs) = capture(async {
            session_created(&tenant);
            decision(crate::decision::Decision::Review);
            step_duration(Step::Dvs, "live", 250);
            webhook_attempt(false);
            webhook_attempt(true);
            dlq_arrival("steps");
        })
        .await;
        assert_eq!(docs.len(), 6);
        docs.iter().for_each(assert_valid_emf);
        assert_eq!(
            (docs[0]["SessionsCreated"].as_f64(), docs[0]["TenantId"].as_str()),
            (Some(1.0), Some(tenant.as_str()))
        );
        assert_eq!(docs[1]["Decision"], "review");
        assert_eq!((docs[2]["Step"].as_str(), docs[2]["Provider"].as_str()), (Some("dvs"), Some("live")));
        assert_eq!(docs[2]["StepDuration"], 250.0);
        assert_eq!((docs[3]["WebhookAttempts"].as_f64(), docs[3]["WebhookFailures"].as_f64()), (Some(1.0), Some(1.0)));
        assert_eq!(docs[4]["WebhookFailures"], 0.0);
        assert_eq!(docs[4]["_aws"]["CloudWatchMetrics"][0]["Dimensions"], json!([[]]));
        assert_eq!(docs[5]["Queue"], "steps");
    }
}
