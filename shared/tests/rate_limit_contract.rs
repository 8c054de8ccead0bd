//! One contract suite for the rate-limit adapters: the embedded SQLite store and DynamoDB
//! (on DynamoDB Local; `TI_SKIP_DYNAMODB=1` skips it).

#[path = "common/dynamodb.rs"]
mod dynamodb_local;

use std::sync::Arc;

use shared::domain::TenantId;
use shared::domain::tenant::RateLimit;
use shared::ports::{RateDecision, RateLimiter};

const NOW: i64 = 1_764_000_000;

fn limit(burst: u32, per_sec: f64) -> RateLimit {
    RateLimit::new(burst, per_sec).unwrap()
}

async fn takes(store: &dyn RateLimiter, tenant: &TenantId, limit: &RateLimit, now: i64, n: usize) -> Vec<RateDecision> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(store.take(tenant, limit, now).await.unwrap());
    }
    out
}

fn allowed(decisions: &[RateDecision]) -> usize {
    decisions.iter().filter(|d| **d == RateDecision::Allowed).count()
}

async fn a_burst_empties_the_bucket_and_time_refills_it(store: Arc<dyn RateLimiter>) {
    let (tenant, l) = (TenantId::random(), limit(3, 1.0));
    let first = takes(&*store, &tenant, &l, NOW, 4).await;
    assert_eq!(&first[..3], [RateDecision::Allowed; 3]);
    assert_eq!(first[3], RateDecision::Limited { retry_after_secs: 1 });
    assert_eq!(allowed(&takes(&*store, &tenant, &l, NOW + 1, 2).await), 1, "one token a second");
    // However long the pause, never more than the burst.
    assert_eq!(allowed(&takes(&*store, &tenant, &l, NOW + 1000, 5).await), 3);
}

async fn retry_after_says_when_a_token_is_back(store: Arc<dyn RateLimiter>) {
    let (tenant, l) = (TenantId::random(), limit(2, 0.2));
    assert_eq!(allowed(&takes(&*store, &tenant, &l, NOW, 2).await), 2);
    assert_eq!(store.take(&tenant, &l, NOW).await.unwrap(), RateDecision::Limited { retry_after_secs: 5 });
    assert_eq!(store.take(&tenant, &l, NOW + 3).await.unwrap(), RateDecision::Limited { retry_after_secs: 2 });
    assert_eq!(store.take(&tenant, &l, NOW + 5).await.unwrap(), RateDecision::Allowed);
}

async fn tenants_have_their_own_buckets(store: Arc<dyn RateLimiter>) {
    let (a, b, l) = (TenantId::random(), TenantId::random(), limit(1, 0.01));
    assert_eq!(store.take(&a, &l, NOW).await.unwrap(), RateDecision::Allowed);
    assert!(matches!(store.take(&a, &l, NOW).await.unwrap(), RateDecision::Limited { .. }));
    assert_eq!(store.take(&b, &l, NOW).await.unwrap(), RateDecision::Allowed);
}

async fn a_lowered_limit_applies_at_once(store: Arc<dyn RateLimiter>) {
    let tenant = TenantId::random();
    assert_eq!(store.take(&tenant, &limit(10, 1.0), NOW).await.unwrap(), RateDecision::Allowed);
    assert_eq!(allowed(&takes(&*store, &tenant, &limit(2, 1.0), NOW, 5).await), 2);
}

async fn concurrent_takes_never_share_a_token(store: Arc<dyn RateLimiter>) {
    let (tenant, l) = (TenantId::random(), limit(5, 0.001));
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (store, tenant) = (store.clone(), tenant.clone());
            tokio::spawn(async move { store.take(&tenant, &l, NOW).await.unwrap() })
        })
        .collect();
    let mut decisions = Vec::new();
    for t in tasks {
        decisions.push(t.await.unwrap());
    }
    assert_eq!(allowed(&decisions), 5, "{decisions:?}");
}

macro_rules! contract {
    ($adapter:ident, $make:expr) => {
        mod $adapter {
            use super::*;
            contract!(@tests $make;
                a_burst_empties_the_bucket_and_time_refills_it,
                retry_after_says_when_a_token_is_back,
                tenants_have_their_own_buckets,
                a_lowered_limit_applies_at_once,
                concurrent_takes_never_share_a_token);
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

async fn sqlite_store() -> Option<Arc<dyn RateLimiter>> {
    let dir = tempfile::tempdir().unwrap();
    let store = shared::store::sqlite::SqliteStore::open(&dir.path().join("rate.sqlite3")).unwrap();
    std::mem::forget(dir);
    Some(Arc::new(store))
}

async fn dynamodb_store() -> Option<Arc<dyn RateLimiter>> {
    Some(Arc::new(dynamodb_local::dynamodb_store_for_tests().await?))
}

contract!(sqlite, sqlite_store());
contract!(dynamodb, dynamodb_store());
