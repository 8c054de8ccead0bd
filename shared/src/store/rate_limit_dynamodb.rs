//! The rate limiter on DynamoDB: one item per tenant bucket (`RATE#<tenant>`), read
//! consistently and written back only if its version is still the one read; a lost race
//! re-reads and tries again a bounded number of times.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;

use super::dynamodb::{DynamoStore, store_err};
use super::rate_limit::Bucket;
use crate::domain::TenantId;
use crate::domain::tenant::RateLimit;
use crate::error::StoreError;
use crate::ports::{RateDecision, RateLimiter};

/// Each lost race means another request took a token meanwhile; after this many the
/// bucket is contended enough to answer "retry shortly".
const ATTEMPTS: usize = 8;
/// An idle bucket is full again by its `full_at`; TTL may drop it a while after that.
const TTL_MARGIN_SECS: i64 = 3600;

type Item = HashMap<String, AttributeValue>;

fn number<T: std::str::FromStr>(item: &Item, name: &str) -> Result<T, StoreError> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v.parse().map_err(|_| StoreError::Backend(format!("bad number `{name}`"))),
        _ => Err(StoreError::Backend(format!("rate bucket lacks `{name}`"))),
    }
}

fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

impl DynamoStore {
    async fn read_bucket(&self, pk: &str) -> Result<Option<(Bucket, u64)>, StoreError> {
        let out = self
            .client()
            .get_item()
            .table_name(self.table_name())
            .key("pk", AttributeValue::S(pk.to_owned()))
            .key("sk", AttributeValue::S("RATE".into()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| store_err("GetItem", &e))?;
        let Some(item) = out.item else { return Ok(None) };
        let bucket = Bucket { tokens: number(&item, "tokens")?, updated_at: number(&item, "updated_at")? };
        Ok(Some((bucket, number(&item, "version")?)))
    }

    async fn write_bucket(
        &self,
        pk: &str,
        bucket: Bucket,
        limit: &RateLimit,
        read_version: Option<u64>,
    ) -> Result<(), StoreError> {
        let version = read_version.map_or(1, |v| v + 1);
        let put = self
            .client()
            .put_item()
            .table_name(self.table_name())
            .item("pk", AttributeValue::S(pk.to_owned()))
            .item("sk", AttributeValue::S("RATE".into()))
            .item("tokens", n(bucket.tokens))
            .item("updated_at", n(bucket.updated_at))
            .item("version", n(version))
            .item("ttl", n(bucket.full_at(limit) + TTL_MARGIN_SECS));
        let put = match read_version {
            None => put.condition_expression("attribute_not_exists(pk)"),
            Some(v) => put
                .condition_expression("#v = :read")
                .expression_attribute_names("#v", "version")
                .expression_attribute_values(":read", n(v)),
        };
        put.send().await.map_err(|e| store_err("PutItem", &e))?;
        Ok(())
    }
}

#[async_trait]
impl RateLimiter for DynamoStore {
    async fn take(&self, tenant: &TenantId, limit: &RateLimit, now: i64) -> Result<RateDecision, StoreError> {
        let pk = format!("RATE#{tenant}");
        for _ in 0..ATTEMPTS {
            let stored = self.read_bucket(&pk).await?;
            let bucket = match Bucket::take(stored.map(|(b, _)| b), limit, now) {
                Ok(bucket) => bucket,
                Err(limited) => return Ok(limited),
            };
            match self.write_bucket(&pk, bucket, limit, stored.map(|(_, v)| v)).await {
                Ok(()) => return Ok(RateDecision::Allowed),
                Err(StoreError::ConditionFailed) => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(RateDecision::Limited { retry_after_secs: 1 })
    }
}
