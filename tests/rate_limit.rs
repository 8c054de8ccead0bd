//! Per-tenant rate limits through the real binary: a burst over the tenant's limit gets 429
//! with Retry-After and stores nothing; tokens come back with time.

mod common;

use std::time::Duration;

use common::Storage;
use serde_json::json;

on_every_store!(a_burst_over_the_limit_gets_429_and_stores_nothing);

async fn a_burst_over_the_limit_gets_429_and_stores_nothing(storage: Storage) {
    let tenant = storage.create_tenant_with(&[
        "--name",
        "Second Co",
        "--redirect-origin",
        "https://yourapp.com",
        "--rate-limit-burst",
        "3",
        "--rate-limit-per-sec",
        "1",
    ]);
    let key = tenant["api_key"].as_str().unwrap().to_owned();
    let server = storage.start();
    let body = json!({"reference": "cust_burst", "redirect_url": "https://yourapp.com/done"});
    let burst = (0..8).map(|_| server.create(&key, &body, None));
    let replies = futures::future::join_all(burst).await;
    let created = replies.iter().filter(|r| r.status == 201).count();
    let limited: Vec<_> = replies.iter().filter(|r| r.status == 429).collect();
    assert_eq!(created + limited.len(), 8, "only 201s and 429s");
    // A second may tick over during the burst and refill one token.
    assert!((3..=4).contains(&created), "{created} created");
    for reply in &limited {
        reply.assert_error(429, "rate_limited", "tenant");
        let retry_after: u64 = reply.headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!(retry_after >= 1);
    }
    assert_eq!(server.list(&key, "cust_burst").await.len(), created, "one stored session per 201");

    // Other tenants are not limited by this one's burst.
    let demo = server.create(common::DEMO_KEY, &body, None).await;
    assert_eq!(demo.status, 201, "{}", demo.body);

    tokio::time::sleep(Duration::from_millis(2100)).await;
    let again = server.create(&key, &body, None).await;
    assert_eq!(again.status, 201, "tokens come back: {}", again.body);
    assert_eq!(server.list(&key, "cust_burst").await.len(), created + 1);
}
