//! A DynamoDB store on DynamoDB Local for contract suites: one fresh table per test binary.
#![allow(dead_code)]

use shared::store::dynamodb::DynamoStore;
use tokio::sync::OnceCell;

static TABLE: OnceCell<String> = OnceCell::const_new();

/// DynamoDB Local must be running unless `TI_SKIP_DYNAMODB=1` says to skip on purpose.
pub async fn dynamodb_store_for_tests() -> Option<DynamoStore> {
    if std::env::var("AWS_ENDPOINT_URL_DYNAMODB").is_err() {
        if std::env::var("TI_SKIP_DYNAMODB").as_deref() == Ok("1") {
            eprintln!("skipping DynamoDB contract test: TI_SKIP_DYNAMODB=1");
            return None;
        }
        panic!(
            "AWS_ENDPOINT_URL_DYNAMODB is not set: run `scripts/test` (it starts DynamoDB Local), or set TI_SKIP_DYNAMODB=1"
        );
    }
    let table = TABLE
        .get_or_init(|| async {
            let table = format!("contract-{}", uuid::Uuid::new_v4().simple());
            DynamoStore::from_env(&table)
                .expect("the AWS settings in the environment")
                .create_table()
                .await
                .expect("create table");
            table
        })
        .await;
    Some(DynamoStore::from_env(table).expect("the AWS settings in the environment"))
}
