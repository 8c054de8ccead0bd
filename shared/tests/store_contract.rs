//! One contract suite for every storage adapter: the embedded SQLite store and the
//! DynamoDB store (against DynamoDB Local; `scripts/test` starts it and sets
//! `AWS_ENDPOINT_URL_DYNAMODB`).

#[path = "common/dynamodb.rs"]
mod dynamodb_local;

use std::collections::HashSet;
use std::sync::Arc;

use shared::domain::*;
use shared::error::StoreError;
use shared::ports::{IdempotencyRecord, Inserted, SessionStore, TenantStore};

const NOW: i64 = 1_764_000_000;

trait Store: SessionStore + TenantStore {}
impl<T: SessionStore + TenantStore> Store for T {}

fn tenant() -> Tenant {
    Tenant {
        id: TenantId::random(),
        name: "Acme".into(),
        redirect_origins: vec!["https://yourapp.com".into()],
        webhook_url: None,
        webhook_secret: shared::domain::ids::new_webhook_secret(),
        default_steps: Tenant::standard_steps(),
        default_threshold: Threshold::DEFAULT,
        created_at: NOW,
        result_signing: Default::default(),
        rate_limit: Default::default(),
        retention: RetentionDays::new(90).unwrap(),
        branding: shared::domain::tenant::Branding {
            display_name: Some(shared::domain::tenant::DisplayName::parse("Acme Bank").unwrap()),
            logo_url: Some(
                shared::domain::tenant::LogoUrl::parse(
                    "https://cdn.acme.com/logo.svg",
                    shared::domain::UrlPolicy::HttpsOnly,
                )
                .unwrap(),
            ),
            primary_colour: Some(shared::domain::tenant::Colour::parse("#0a5cff").unwrap()),
        },
    }
}

fn session(tenant: &Tenant, reference: &str, created_at: i64) -> Session {
    let new = NewSession {
        reference: Reference::parse(reference).unwrap(),
        redirect_url: RedirectUrl::parse("https://yourapp.com/done", UrlPolicy::HttpsOnly).unwrap(),
        steps: Steps::new(vec![Step::Document, Step::Dvs]).unwrap(),
        person: Person {
            first_name: Some(PersonName::parse("Jane").unwrap()),
            last_name: Some(PersonName::parse("Smith").unwrap()),
            birth_date: Some(BirthDate::parse("1990-01-31", NOW).unwrap()),
        },
        min_age: Some(MinAge::new(18).unwrap()),
        threshold: Threshold::new(0.7).unwrap(),
        webhook_url: None,
        locale: Some(Locale::parse("en-AU").unwrap()),
        expires_in: 3600,
        metadata: Metadata::default(),
    };
    Session::open(SessionId::random(), tenant.id.clone(), new, Vec::new(), created_at)
}

fn idem(tenant: &Tenant, key: &str, body: &str, session: &Session) -> IdempotencyRecord {
    IdempotencyRecord {
        tenant_id: tenant.id.clone(),
        key_digest: shared::domain::ids::digest(key),
        request_digest: shared::domain::ids::digest(body),
        session_id: session.id,
        expires_at: NOW + IdempotencyRecord::LIFETIME_SECS,
    }
}

async fn with_tenant(store: &dyn Store) -> Tenant {
    let t = tenant();
    store.insert_tenant(&t, &ApiKey::generate(KeyMode::Test).hash()).await.unwrap();
    t
}

async fn tenants_are_found_by_key_hash_only(store: Arc<dyn Store>) {
    let t = tenant();
    let key = ApiKey::generate(KeyMode::Live);
    store.insert_tenant(&t, &key.hash()).await.unwrap();
    assert_eq!(store.tenant_by_key(&key.hash()).await.unwrap(), Some(t.clone()));
    assert_eq!(store.get_tenant(&t.id).await.unwrap(), Some(t.clone()));
    assert_eq!(store.get_tenant(&TenantId::random()).await.unwrap(), None);
    let other = ApiKey::generate(KeyMode::Live);
    assert_eq!(store.tenant_by_key(&other.hash()).await.unwrap(), None);
    // The same id again is refused, and its first key still works.
    let again = store.insert_tenant(&t, &other.hash()).await;
    assert!(matches!(again, Err(StoreError::ConditionFailed)), "{again:?}");
    assert_eq!(store.tenant_by_key(&other.hash()).await.unwrap(), None);
}

async fn sessions_round_trip(store: Arc<dyn Store>) {
    let t = with_tenant(&*store).await;
    let s = session(&t, "cust_1", NOW);
    assert_eq!(store.insert_session(&s, None, NOW).await.unwrap(), Inserted::Created);
    assert_eq!(store.get_session(s.id).await.unwrap(), Some(s.clone()));
    assert_eq!(store.session_by_journey(&s.journey_secret.digest()).await.unwrap(), Some(s.clone()));
    assert_eq!(store.get_session(SessionId::random()).await.unwrap(), None);
    assert_eq!(store.session_by_journey(&JourneySecret::random().digest()).await.unwrap(), None);

    // Retention, the redaction state and the audit trail are stored with the rest.
    let mut redacted = s.clone();
    redacted.retention = RetentionDays::new(7).unwrap();
    redacted.open_journey(DeviceClass::Mobile, NOW + 1).unwrap();
    redacted.request_redaction(NOW + 2).unwrap();
    redacted.complete_redaction(1, NOW + 3).unwrap();
    store.replace_session(&redacted, s.version).await.unwrap();
    let read = store.get_session(s.id).await.unwrap().unwrap();
    assert_eq!(read, redacted);
    assert_eq!(read.audit().events().len(), 5, "created, opened, cancelled, redaction requested and completed");
    assert_eq!(read.person, Person::default());
}

async fn a_session_id_is_written_once(store: Arc<dyn Store>) {
    let t = with_tenant(&*store).await;
    let s = session(&t, "cust_1", NOW);
    store.insert_session(&s, None, NOW).await.unwrap();
    let mut twin = session(&t, "cust_2", NOW);
    twin.id = s.id;
    let again = store.insert_session(&twin, None, NOW).await;
    // Read before asserting, so a failure says whether the first write or the second was lost.
    let stored = store.get_session(s.id).await.unwrap().unwrap();
    assert!(matches!(again, Err(StoreError::ConditionFailed)), "{again:?}; stored: {}", stored.reference.as_str());
    assert_eq!(stored.reference.as_str(), "cust_1");
}

async fn replace_needs_the_version_it_read(store: Arc<dyn Store>) {
    let t = with_tenant(&*store).await;
    let s = session(&t, "cust_1", NOW);
    store.insert_session(&s, None, NOW).await.unwrap();
    let mut cancelled = s.clone();
    cancelled.cancel(NOW + 1).unwrap();
    store.replace_session(&cancelled, s.version).await.unwrap();
    // A writer that read the old version loses.
    let mut stale = s.clone();
    stale.cancel(NOW + 2).unwrap();
    assert!(matches!(store.replace_session(&stale, s.version).await, Err(StoreError::ConditionFailed)));
    assert_eq!(store.get_session(s.id).await.unwrap(), Some(cancelled));
    // A session that does not exist cannot be replaced into existence.
    let ghost = session(&t, "ghost", NOW);
    assert!(matches!(store.replace_session(&ghost, 1).await, Err(StoreError::ConditionFailed)));
    assert_eq!(store.get_session(ghost.id).await.unwrap(), None);
}

async fn concurrent_replaces_have_one_winner(store: Arc<dyn Store>) {
    let t = with_tenant(&*store).await;
    let s = session(&t, "cust_1", NOW);
    store.insert_session(&s, None, NOW).await.unwrap();
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let store = Arc::clone(&store);
            let mut next = s.clone();
            tokio::spawn(async move {
                next.cancel(NOW + i).unwrap();
                store.replace_session(&next, 1).await
            })
        })
        .collect();
    let mut wins = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(()) => wins += 1,
            Err(StoreError::ConditionFailed) => {}
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(wins, 1);
}

async fn idempotency_records_replay_then_lapse(store: Arc<dyn Store>) {
    let t = with_tenant(&*store).await;
    let first = session(&t, "cust_1", NOW);
    let rec = idem(&t, "key-1", "body-a", &first);
    assert_eq!(store.insert_session(&first, Some(&rec), NOW).await.unwrap(), Inserted::Created);

    let second = session(&t, "cust_1", NOW + 10);
    let hit = store.insert_session(&second, Some(&idem(&t, "key-1", "body-b", &second)), NOW + 10).await.unwrap();
    assert_eq!(hit, Inserted::IdempotencyHit { request_digest: rec.request_digest.clone(), session_id: first.id });
    assert_eq!(store.get_session(second.id).await.unwrap(), None, "a replay writes nothing");

    // Another tenant's identical key is its own.
    let other = with_tenant(&*store).await;
    let theirs = session(&other, "cust_1", NOW);
    let out = store.insert_session(&theirs, Some(&idem(&other, "key-1", "body-a", &theirs)), NOW).await.unwrap();
    assert_eq!(out, Inserted::Created);

    // After 24 h the key may be used again.
    let later = NOW + IdempotencyRecord::LIFETIME_SECS + 1;
    let third = session(&t, "cust_1", later);
    let mut rec3 = idem(&t, "key-1", "body-c", &third);
    rec3.expires_at = later + IdempotencyRecord::LIFETIME_SECS;
    assert_eq!(store.insert_session(&third, Some(&rec3), later).await.unwrap(), Inserted::Created);
    let fourth = session(&t, "cust_1", later + 1);
    let hit = store.insert_session(&fourth, Some(&idem(&t, "key-1", "x", &fourth)), later + 1).await.unwrap();
    assert_eq!(hit, Inserted::IdempotencyHit { request_digest: rec3.request_digest, session_id: third.id });
}

async fn concurrent_creates_with_one_key_make_one_session(store: Arc<dyn Store>) {
    let t = with_tenant(&*store).await;
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let store = Arc::clone(&store);
            let s = session(&t, "cust_race", NOW);
            let rec = idem(&t, "race-key", "same-body", &s);
            tokio::spawn(async move { (s.id, store.insert_session(&s, Some(&rec), NOW).await) })
        })
        .collect();
    let mut created = HashSet::new();
    let mut replayed = HashSet::new();
    for task in tasks {
        let (id, out) = task.await.unwrap();
        match out {
            Ok(Inserted::Created) => {
                created.insert(id);
            }
            Ok(Inserted::IdempotencyHit { session_id, .. }) => {
                replayed.insert(session_id);
            }
            // A loser may also see the race as a failed condition; callers retry and then hit.
            Err(StoreError::ConditionFailed) => {}
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(created.len(), 1, "exactly one session is created");
    assert!(replayed.is_subset(&created));
    let listed = listed_once_settled(&*store, &t.id, &Reference::parse("cust_race").unwrap(), 50, 1).await;
    assert_eq!(listed.len(), 1);
}

/// The reference listing once it shows `expected` sessions, or after fifteen seconds: DynamoDB
/// fills a global secondary index after the write (eventually consistent), and DynamoDB Local
/// under load does too.
async fn listed_once_settled(
    store: &dyn Store,
    tenant: &TenantId,
    reference: &Reference,
    limit: usize,
    expected: usize,
) -> Vec<Session> {
    for _ in 0..150 {
        let listed = store.sessions_by_reference(tenant, reference, limit).await.unwrap();
        if listed.len() >= expected {
            return listed;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    store.sessions_by_reference(tenant, reference, limit).await.unwrap()
}

async fn references_are_listed_per_tenant_newest_first(store: Arc<dyn Store>) {
    let t = with_tenant(&*store).await;
    let other = with_tenant(&*store).await;
    let reference = Reference::parse("cust_list").unwrap();
    let older = session(&t, "cust_list", NOW);
    let newer = session(&t, "cust_list", NOW + 5);
    let theirs = session(&other, "cust_list", NOW + 9);
    let unrelated = session(&t, "cust_other", NOW + 9);
    for s in [&older, &newer, &theirs, &unrelated] {
        store.insert_session(s, None, NOW).await.unwrap();
    }
    let ids: Vec<_> = listed_once_settled(&*store, &t.id, &reference, 10, 2).await.iter().map(|s| s.id).collect();
    assert_eq!(ids, vec![newer.id, older.id]);
    let limited = store.sessions_by_reference(&t.id, &reference, 1).await.unwrap();
    assert_eq!(limited.len(), 1);
    assert_eq!(limited[0].id, newer.id);
}

macro_rules! contract {
    ($adapter:ident, $make:expr) => {
        mod $adapter {
            use super::*;
            contract!(@tests $make;
                tenants_are_found_by_key_hash_only,
                sessions_round_trip,
                a_session_id_is_written_once,
                replace_needs_the_version_it_read,
                concurrent_replaces_have_one_winner,
                idempotency_records_replay_then_lapse,
                concurrent_creates_with_one_key_make_one_session,
                references_are_listed_per_tenant_newest_first);
        }
    };
    (@tests $make:expr; $($name:ident),*) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $name() {
            if let Some(store) = $make.await {
                super::$name(store).await;
            }
        }
    )*};
}

async fn sqlite_store() -> Option<Arc<dyn Store>> {
    let dir = tempfile::tempdir().unwrap();
    let store = shared::store::sqlite::SqliteStore::open(&dir.path().join("contract.sqlite3")).unwrap();
    // The directory must outlive the test; leak it (tests are short-lived processes).
    std::mem::forget(dir);
    Some(Arc::new(store))
}

async fn dynamodb_store() -> Option<Arc<dyn Store>> {
    let store = dynamodb_local::dynamodb_store_for_tests().await?;
    Some(Arc::new(store))
}

contract!(sqlite, sqlite_store());
contract!(dynamodb, dynamodb_store());

/// The embedded store's TTL: an insert first deletes every session past its retention.
#[tokio::test]
async fn sqlite_inserts_purge_sessions_past_retention() {
    let store = sqlite_store().await.unwrap();
    let t = with_tenant(&*store).await;
    let mut old = session(&t, "cust_old", NOW);
    old.retention = RetentionDays::new(1).unwrap();
    let kept = session(&t, "cust_kept", NOW);
    store.insert_session(&old, None, NOW).await.unwrap();
    store.insert_session(&kept, None, NOW).await.unwrap();
    store.insert_session(&session(&t, "cust_new", NOW), None, old.retain_until() - 1).await.unwrap();
    assert!(store.get_session(old.id).await.unwrap().is_some(), "not yet past retention");
    store.insert_session(&session(&t, "cust_new", NOW), None, old.retain_until()).await.unwrap();
    assert_eq!(store.get_session(old.id).await.unwrap(), None);
    assert!(store.get_session(kept.id).await.unwrap().is_some(), "30 days, still kept");
}

/// DynamoDB's TTL attribute follows the session's retention (DynamoDB Local never deletes
/// by TTL, so the attribute itself is checked).
#[tokio::test]
async fn dynamodb_ttl_follows_the_session_retention() {
    let Some(store) = dynamodb_local::dynamodb_store_for_tests().await else { return };
    let t = with_tenant(&store).await;
    let mut s = session(&t, "cust_ttl", NOW);
    s.retention = RetentionDays::new(3).unwrap();
    store.insert_session(&s, None, NOW).await.unwrap();
    let config = shared::sdk::from_env().expect("the AWS settings in the environment");
    let client = aws_sdk_dynamodb::Client::new(&config);
    let ttl = |item: Option<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>>| {
        item.unwrap()["ttl"].as_n().unwrap().parse::<i64>().unwrap()
    };
    let key = |pk: String, sk: &str| {
        std::collections::HashMap::from([
            ("pk".to_owned(), aws_sdk_dynamodb::types::AttributeValue::S(pk)),
            ("sk".to_owned(), aws_sdk_dynamodb::types::AttributeValue::S(sk.to_owned())),
        ])
    };
    let get =
        client.get_item().table_name(store.table_name()).set_key(Some(key(format!("SESSION#{}", s.id), "SESSION")));
    assert_eq!(ttl(get.send().await.unwrap().item), NOW + 3600 + 3 * 86_400);
    let mut finished_late = s.clone();
    finished_late.finished_at = Some(NOW + 7200);
    store.replace_session(&finished_late, s.version).await.unwrap();
    let get =
        client.get_item().table_name(store.table_name()).set_key(Some(key(format!("SESSION#{}", s.id), "SESSION")));
    assert_eq!(ttl(get.send().await.unwrap().item), NOW + 7200 + 3 * 86_400, "counted from the later end");
}
