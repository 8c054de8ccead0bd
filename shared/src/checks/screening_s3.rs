//! The screening list in production: three OFAC files under an S3 prefix, loaded at cold
//! start and re-read when they change (checked at most every few minutes), so a list
//! refresh reaches warm functions without a deploy.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use aws_sdk_s3::Client;
use tokio::sync::Mutex;

use super::live::ScreeningList;
use super::screening::Screener;
use crate::config::ConfigError;
use crate::pipeline::checks::CheckError;

const FILES: [&str; 3] = ["sdn.csv", "alt.csv", "add.csv"];
/// How stale a warm function's list may get before it asks S3 whether it changed.
const CHECK_EVERY: Duration = Duration::from_secs(300);

pub struct S3ScreeningList {
    client: Client,
    bucket: String,
    prefix: String,
    check_every: Duration,
    state: Mutex<Loaded>,
}

struct Loaded {
    screener: Arc<Screener>,
    /// The ETags the list was built from: a change in any file means a reload.
    etags: Vec<String>,
    checked: Instant,
}

impl S3ScreeningList {
    /// Loads the list now: a function that cannot screen should fail its cold start.
    pub async fn load(config: &aws_types::SdkConfig, bucket: String, prefix: String) -> Result<Self, ConfigError> {
        Self::load_with(Client::new(config), bucket, prefix).await
    }

    /// [`Self::load`] with a ready client (path-style addressing for an emulator, say).
    pub async fn load_with(client: Client, bucket: String, prefix: String) -> Result<Self, ConfigError> {
        let invalid = |reason: String| ConfigError::Invalid { name: "TI_SCREENING_BUCKET", reason };
        let (screener, etags) = fetch(&client, &bucket, &prefix).await.map_err(invalid)?;
        tracing::info!(entries = screener.entries().len(), "screening list loaded from S3");
        let state = Mutex::new(Loaded { screener: Arc::new(screener), etags, checked: Instant::now() });
        Ok(Self { client, bucket, prefix, check_every: CHECK_EVERY, state })
    }

    /// How often a warm function asks S3 whether the list changed.
    pub fn with_check_every(mut self, every: Duration) -> Self {
        self.check_every = every;
        self
    }

    async fn etags(&self) -> Result<Vec<String>, String> {
        let mut etags = Vec::new();
        for file in FILES {
            let head = self.client.head_object().bucket(&self.bucket).key(key(&self.prefix, file)).send().await;
            let head = head.map_err(|e| format!("head {file}: {}", aws_sdk_s3::error::DisplayErrorContext(e)))?;
            etags.push(head.e_tag().unwrap_or_default().to_owned());
        }
        Ok(etags)
    }
}

fn key(prefix: &str, file: &str) -> String {
    if prefix.is_empty() { file.to_owned() } else { format!("{}/{file}", prefix.trim_end_matches('/')) }
}

async fn fetch(client: &Client, bucket: &str, prefix: &str) -> Result<(Screener, Vec<String>), String> {
    let mut bodies = Vec::new();
    let mut etags = Vec::new();
    for file in FILES {
        let object = client.get_object().bucket(bucket).key(key(prefix, file)).send().await;
        let object = object.map_err(|e| format!("get {file}: {}", aws_sdk_s3::error::DisplayErrorContext(e)))?;
        etags.push(object.e_tag().unwrap_or_default().to_owned());
        let bytes = object.body.collect().await.map_err(|e| format!("read {file}: {e}"))?;
        bodies.push(bytes.into_bytes());
    }
    let screener = Screener::from_ofac(&bodies[0], &bodies[1], &bodies[2]).map_err(|e| e.to_string())?;
    Ok((screener, etags))
}

#[async_trait]
impl ScreeningList for S3ScreeningList {
    async fn current(&self) -> Result<Arc<Screener>, CheckError> {
        let mut state = self.state.lock().await;
        if state.checked.elapsed() < self.check_every {
            return Ok(state.screener.clone());
        }
        state.checked = Instant::now();
        // A failed refresh keeps screening on the list already loaded: the list is at most
        // one refresh old, which beats refusing every check while S3 hiccups.
        match self.etags().await {
            Ok(etags) if etags == state.etags => {}
            Ok(_) => match fetch(&self.client, &self.bucket, &self.prefix).await {
                Ok((screener, etags)) => {
                    tracing::info!(entries = screener.entries().len(), "screening list refreshed");
                    *state = Loaded { screener: Arc::new(screener), etags, checked: Instant::now() };
                }
                Err(e) => tracing::warn!(error = %e, "screening list refresh failed; keeping the loaded list"),
            },
            Err(e) => tracing::warn!(error = %e, "screening list check failed; keeping the loaded list"),
        }
        Ok(state.screener.clone())
    }
}
