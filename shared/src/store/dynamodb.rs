//! DynamoDB adapter for the storage ports: one table, items keyed by `pk`/`sk`,
//! one GSI (`gsi1`) listing a tenant's sessions by reference, newest first.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, CancellationReason, GlobalSecondaryIndex, IndexStatus,
    KeySchemaElement, KeyType, Projection, ProjectionType, Put, ReturnValuesOnConditionCheckFailure,
    ScalarAttributeType, SseSpecification, TableStatus, TimeToLiveSpecification, TransactWriteItem,
};

use crate::domain::{ApiKeyHash, Reference, Session, SessionId, Tenant, TenantId};
use crate::error::StoreError;
use crate::ports::{IdempotencyRecord, Inserted, SessionStore, TenantStore};

const GSI1: &str = "gsi1";
const NOT_EXISTS: &str = "attribute_not_exists(pk)";
/// The session item's outbox marker (see [`session_item`]); the template's stream filter names it.
pub const OUTBOX_ATTRIBUTE: &str = "webhook_due";

type Item = HashMap<String, AttributeValue>;

#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn key(pk: String, sk: &str) -> Item {
    HashMap::from([("pk".to_owned(), s(pk)), ("sk".to_owned(), s(sk))])
}

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn get_s<'a>(item: &'a Item, name: &str) -> Result<&'a str, StoreError> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Ok(v),
        _ => Err(StoreError::Backend(format!("item lacks string attribute `{name}`"))),
    }
}

fn decode<T: serde::de::DeserializeOwned>(item: &Item) -> Result<T, StoreError> {
    // serde_json's message names a position, never the data.
    serde_json::from_str(get_s(item, "doc")?).map_err(|e| backend(format!("undecodable doc: {e}")))
}

fn encode<T: serde::Serialize>(value: &T) -> Result<AttributeValue, StoreError> {
    serde_json::to_string(value).map(s).map_err(|e| backend(format!("unencodable doc: {e}")))
}

fn session_pk(id: SessionId) -> String {
    format!("SESSION#{id}")
}

/// The session a stream record's partition key names; `None` for the table's other items.
pub fn session_of_key(pk: &str) -> Option<SessionId> {
    pk.strip_prefix("SESSION#").and_then(|id| SessionId::parse(id).ok())
}

fn ref_pk(tenant: &TenantId, reference: &Reference) -> String {
    format!("REF#{tenant}#{}", reference.as_str())
}

fn idem_pk(tenant: &TenantId, key_digest: &str) -> String {
    format!("IDEM#{tenant}#{key_digest}")
}

/// The full session item; insert and replace write the same attributes.
fn session_item(session: &Session) -> Result<Item, StoreError> {
    let mut item = key(session_pk(session.id), "SESSION");
    item.insert("doc".into(), encode(session)?);
    item.insert("version".into(), n(session.version));
    item.insert("tenant_id".into(), s(session.tenant_id.as_str()));
    item.insert("gsi1pk".into(), s(ref_pk(&session.tenant_id, &session.reference)));
    item.insert("gsi1sk".into(), s(format!("{:012}#{}", session.created_at, session.id)));
    // TTL follows the tenant's retention; reads enforce it too (TTL deletion is lazy).
    item.insert("ttl".into(), n(session.retain_until()));
    // The outbox marker: the table's stream is filtered on it, so deliver-webhook wakes only
    // for the writes that leave a lifecycle webhook to queue.
    item.insert(OUTBOX_ATTRIBUTE.into(), AttributeValue::Bool(session.webhook_due()));
    Ok(item)
}

/// Maps an SDK failure to the port's taxonomy. Only the operation, error code and a
/// short kind go into the message: service messages may quote key or item values.
pub(super) fn store_err<E: ProvideErrorMetadata>(op: &str, err: &SdkError<E, HttpResponse>) -> StoreError {
    const TRANSIENT: &[&str] = &[
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "TransactionInProgressException",
    ];
    if let Some("ConditionalCheckFailedException" | "TransactionCanceledException") = err.code() {
        return StoreError::ConditionFailed;
    }
    match crate::sdk::retryable(op, err, TRANSIENT) {
        Some(why) => StoreError::Unavailable(why),
        None => StoreError::Backend(crate::sdk::described(op, err)),
    }
}

/// A cancelled transaction: a lost condition or a concurrent transaction means the
/// caller's write lost (it may retry); throttling means try later.
fn from_cancellation(reasons: &[CancellationReason]) -> StoreError {
    let codes: Vec<&str> = reasons.iter().filter_map(|r| r.code()).filter(|c| *c != "None").collect();
    if codes.iter().any(|c| matches!(*c, "ConditionalCheckFailed" | "TransactionConflict")) {
        StoreError::ConditionFailed
    } else if codes.iter().any(|c| c.contains("Throttl") || c.contains("Exceeded")) {
        StoreError::Unavailable(format!("transaction cancelled: {}", codes.join(",")))
    } else {
        StoreError::Backend(format!("transaction cancelled: {}", codes.join(",")))
    }
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }

    /// A store on a shared SDK configuration (AWS_ENDPOINT_URL_DYNAMODB is honoured).
    pub fn from_config(config: &aws_types::SdkConfig, table: impl Into<String>) -> Self {
        Self::new(Client::new(config), table)
    }

    /// A store on its own configuration ([`crate::sdk::from_env`]): for tools and tests.
    pub fn from_env(table: &str) -> Result<Self, crate::config::ConfigError> {
        Ok(Self::from_config(&crate::sdk::from_env()?, table))
    }

    pub(super) fn client(&self) -> &Client {
        &self.client
    }

    pub fn table_name(&self) -> &str {
        &self.table
    }

    /// Creates the table if missing, waits for it to be ACTIVE and turns TTL on. For
    /// local runs and tests; production tables come from infrastructure code.
    pub async fn create_table(&self) -> Result<(), StoreError> {
        let attr = |name: &str| {
            AttributeDefinition::builder().attribute_name(name).attribute_type(ScalarAttributeType::S).build()
        };
        let elem = |name: &str, kind| KeySchemaElement::builder().attribute_name(name).key_type(kind).build();
        let gsi = GlobalSecondaryIndex::builder()
            .index_name(GSI1)
            .key_schema(elem("gsi1pk", KeyType::Hash).map_err(backend)?)
            .key_schema(elem("gsi1sk", KeyType::Range).map_err(backend)?)
            .projection(Projection::builder().projection_type(ProjectionType::All).build())
            .build()
            .map_err(backend)?;
        let created = self
            .client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .set_attribute_definitions(Some(
                ["pk", "sk", "gsi1pk", "gsi1sk"].into_iter().map(attr).collect::<Result<_, _>>().map_err(backend)?,
            ))
            .key_schema(elem("pk", KeyType::Hash).map_err(backend)?)
            .key_schema(elem("sk", KeyType::Range).map_err(backend)?)
            .global_secondary_indexes(gsi)
            .sse_specification(SseSpecification::builder().enabled(true).build())
            .send()
            .await;
        match created {
            Ok(_) => {}
            Err(e) if e.code() == Some("ResourceInUseException") => {}
            Err(e) => return Err(store_err("CreateTable", &e)),
        }
        self.wait_until_active().await?;
        self.enable_ttl().await
    }

    async fn wait_until_active(&self) -> Result<(), StoreError> {
        for _ in 0..240 {
            let out = self.client.describe_table().table_name(&self.table).send().await;
            let table = out.map_err(|e| store_err("DescribeTable", &e))?.table;
            let ready = table.as_ref().is_some_and(|t| {
                t.table_status() == Some(&TableStatus::Active)
                    && t.global_secondary_indexes().iter().all(|g| g.index_status() == Some(&IndexStatus::Active))
            });
            if ready {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        Err(StoreError::Unavailable(format!("table {} did not become ACTIVE in 120 s", self.table)))
    }

    async fn enable_ttl(&self) -> Result<(), StoreError> {
        let spec = TimeToLiveSpecification::builder().attribute_name("ttl").enabled(true).build().map_err(backend)?;
        match self.client.update_time_to_live().table_name(&self.table).time_to_live_specification(spec).send().await {
            Ok(_) => Ok(()),
            // Asking again for what is already on is refused with a ValidationException.
            Err(e)
                if e.code() == Some("ValidationException")
                    && e.message().is_some_and(|m| m.contains("already enabled")) =>
            {
                Ok(())
            }
            Err(e) => Err(store_err("UpdateTimeToLive", &e)),
        }
    }

    async fn get_item(&self, key: Item) -> Result<Option<Item>, StoreError> {
        let out = self.client.get_item().table_name(&self.table).set_key(Some(key)).consistent_read(true).send().await;
        Ok(out.map_err(|e| store_err("GetItem", &e))?.item)
    }

    fn put(&self, item: Item, condition: &str) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder().table_name(&self.table).set_item(Some(item)).condition_expression(condition);
        Ok(TransactWriteItem::builder().put(put.build().map_err(backend)?).build())
    }

    /// The idempotency record that made our transaction fail: from the cancellation
    /// reason if DynamoDB returned it, otherwise read back.
    async fn idempotency_hit(&self, rec: &IdempotencyRecord, old: Option<&Item>) -> Result<Inserted, StoreError> {
        let fetched;
        let item = match old {
            Some(item) if item.contains_key("session_id") => item,
            _ => {
                fetched = self.get_item(key(idem_pk(&rec.tenant_id, &rec.key_digest), "IDEM")).await?;
                fetched.as_ref().ok_or(StoreError::ConditionFailed)?
            }
        };
        let session_id = SessionId::parse(get_s(item, "session_id")?).map_err(|r| backend(r.message))?;
        Ok(Inserted::IdempotencyHit { request_digest: get_s(item, "request_digest")?.to_owned(), session_id })
    }
}

#[async_trait]
impl TenantStore for DynamoStore {
    async fn insert_tenant(&self, tenant: &Tenant, key_hash: &ApiKeyHash) -> Result<(), StoreError> {
        let mut tenant_item = key(format!("TENANT#{}", tenant.id), "TENANT");
        tenant_item.insert("doc".into(), encode(tenant)?);
        let mut key_item = key(format!("KEY#{}", key_hash.as_str()), "KEY");
        key_item.insert("tenant_id".into(), s(tenant.id.as_str()));
        let out = self
            .client
            .transact_write_items()
            .transact_items(self.put(tenant_item, NOT_EXISTS)?)
            .transact_items(self.put(key_item, NOT_EXISTS)?)
            .send()
            .await;
        match out {
            Ok(_) => Ok(()),
            Err(e) => match e.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(c)) => {
                    Err(from_cancellation(c.cancellation_reasons()))
                }
                _ => Err(store_err("TransactWriteItems", &e)),
            },
        }
    }

    async fn tenant_by_key(&self, key_hash: &ApiKeyHash) -> Result<Option<Tenant>, StoreError> {
        let Some(key_item) = self.get_item(key(format!("KEY#{}", key_hash.as_str()), "KEY")).await? else {
            return Ok(None);
        };
        let tenant_id = get_s(&key_item, "tenant_id")?;
        self.get_tenant(&TenantId::from_stored(tenant_id.to_owned())).await
    }

    async fn get_tenant(&self, id: &TenantId) -> Result<Option<Tenant>, StoreError> {
        let tenant = self.get_item(key(format!("TENANT#{id}"), "TENANT")).await?;
        tenant.as_ref().map(decode).transpose()
    }
}

#[async_trait]
impl SessionStore for DynamoStore {
    async fn insert_session(
        &self,
        session: &Session,
        idempotency: Option<&IdempotencyRecord>,
        now: i64,
    ) -> Result<Inserted, StoreError> {
        let ttl = n(session.retain_until());
        let mut journey = key(format!("JOURNEY#{}", session.journey_secret.digest()), "JOURNEY");
        journey.insert("session_id".into(), s(session.id.to_string()));
        journey.insert("ttl".into(), ttl);
        let mut tx = self
            .client
            .transact_write_items()
            .transact_items(self.put(session_item(session)?, NOT_EXISTS)?)
            .transact_items(self.put(journey, NOT_EXISTS)?);
        if let Some(rec) = idempotency {
            let mut item = key(idem_pk(&rec.tenant_id, &rec.key_digest), "IDEM");
            item.insert("request_digest".into(), s(&rec.request_digest));
            item.insert("session_id".into(), s(rec.session_id.to_string()));
            item.insert("expires_at".into(), n(rec.expires_at));
            item.insert("ttl".into(), n(rec.expires_at));
            // A lapsed record may be overwritten: TTL deletion is lazy (and absent in DynamoDB Local).
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(pk) OR expires_at <= :now")
                .expression_attribute_values(":now", n(now))
                .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                .build()
                .map_err(backend)?;
            tx = tx.transact_items(TransactWriteItem::builder().put(put).build());
        }
        let err = match tx.send().await {
            Ok(_) => return Ok(Inserted::Created),
            Err(e) => e,
        };
        let Some(TransactWriteItemsError::TransactionCanceledException(c)) = err.as_service_error() else {
            return Err(store_err("TransactWriteItems", &err));
        };
        let reasons = c.cancellation_reasons();
        match (idempotency, reasons.get(2)) {
            (Some(rec), Some(r)) if r.code() == Some("ConditionalCheckFailed") => {
                self.idempotency_hit(rec, r.item.as_ref()).await
            }
            _ => Err(from_cancellation(reasons)),
        }
    }

    async fn get_session(&self, id: SessionId) -> Result<Option<Session>, StoreError> {
        let item = self.get_item(key(session_pk(id), "SESSION")).await?;
        item.as_ref().map(decode).transpose()
    }

    async fn session_by_journey(&self, secret_digest: &str) -> Result<Option<Session>, StoreError> {
        let Some(journey) = self.get_item(key(format!("JOURNEY#{secret_digest}"), "JOURNEY")).await? else {
            return Ok(None);
        };
        let id = SessionId::parse(get_s(&journey, "session_id")?).map_err(|r| backend(r.message))?;
        self.get_session(id).await
    }

    async fn replace_session(&self, session: &Session, expected_version: u64) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(session_item(session)?))
            .condition_expression("attribute_exists(pk) AND #v = :expected")
            .expression_attribute_names("#v", "version")
            .expression_attribute_values(":expected", n(expected_version))
            .send()
            .await
            .map_err(|e| store_err("PutItem", &e))?;
        Ok(())
    }

    async fn sessions_by_reference(
        &self,
        tenant: &TenantId,
        reference: &Reference,
        limit: usize,
    ) -> Result<Vec<Session>, StoreError> {
        let mut sessions = Vec::new();
        let mut start = None;
        // A page may stop short of `limit` (1 MB cap), so follow the cursor until full.
        while sessions.len() < limit {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(GSI1)
                .key_condition_expression("gsi1pk = :pk")
                .expression_attribute_values(":pk", s(ref_pk(tenant, reference)))
                .scan_index_forward(false)
                .limit(i32::try_from(limit - sessions.len()).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| store_err("Query", &e))?;
            for item in out.items() {
                sessions.push(decode(item)?);
            }
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        Ok(sessions)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reasons(codes: &[&str]) -> Vec<CancellationReason> {
        codes.iter().map(|c| CancellationReason::builder().code(*c).build()).collect()
    }

    #[tokio::test]
    async fn a_session_item_names_its_session_and_carries_the_outbox_marker() {
        let demo = crate::testing::demo().await;
        let mut session = crate::testing::open_session(SessionId::random(), &demo.tenant, 1_800_000_000);
        let item = session_item(&session).unwrap();
        assert_eq!(session_of_key(get_s(&item, "pk").unwrap()), Some(session.id));
        assert_eq!(item[OUTBOX_ATTRIBUTE], AttributeValue::Bool(false));
        session.cancel(session.created_at + 1).unwrap();
        assert_eq!(session_item(&session).unwrap()[OUTBOX_ATTRIBUTE], AttributeValue::Bool(true));
        session.mark_webhook_queued(session.created_at + 2).unwrap();
        assert_eq!(session_item(&session).unwrap()[OUTBOX_ATTRIBUTE], AttributeValue::Bool(false));
        assert_eq!(session_of_key("TENANT#abc"), None);
        assert_eq!(session_of_key("SESSION#not-a-uuid"), None);
    }

    #[test]
    fn cancellations_map_to_the_port_taxonomy() {
        let lost = from_cancellation(&reasons(&["None", "ConditionalCheckFailed"]));
        assert!(matches!(lost, StoreError::ConditionFailed));
        assert!(matches!(from_cancellation(&reasons(&["TransactionConflict", "None"])), StoreError::ConditionFailed));
        let throttled = from_cancellation(&reasons(&["None", "ThrottlingError"]));
        assert!(matches!(throttled, StoreError::Unavailable(_)));
        assert!(matches!(from_cancellation(&reasons(&["ValidationError"])), StoreError::Backend(_)));
    }
}
