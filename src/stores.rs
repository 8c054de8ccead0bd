//! Choosing a store from the command line: embedded SQLite (default) or DynamoDB.

use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, ValueEnum};
use shared::ports::{RateLimiter, SessionStore, TenantStore};
use shared::store::dynamodb::DynamoStore;
use shared::store::sqlite::SqliteStore;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum StoreKind {
    /// SQLite file under --data-dir; nothing to install.
    Embedded,
    /// DynamoDB (AWS, or DynamoDB Local via AWS_ENDPOINT_URL_DYNAMODB).
    Dynamodb,
}

#[derive(Args, Clone, Debug)]
pub struct StoreArgs {
    #[arg(long, env = "TI_STORE", value_enum, default_value = "embedded")]
    pub store: StoreKind,
    /// Where the embedded store keeps its SQLite file.
    #[arg(long, env = "TI_DATA_DIR", default_value = ".data")]
    pub data_dir: PathBuf,
    /// DynamoDB table (with --store dynamodb).
    #[arg(long, env = "TI_TABLE", default_value = "total-identity")]
    pub table: String,
}

impl Default for StoreArgs {
    fn default() -> Self {
        Self { store: StoreKind::Embedded, data_dir: PathBuf::from(".data"), table: "total-identity".into() }
    }
}

pub struct Stores {
    pub sessions: Arc<dyn SessionStore>,
    pub tenants: Arc<dyn TenantStore>,
    pub rate_limiter: Arc<dyn RateLimiter>,
    pub description: String,
}

impl StoreArgs {
    pub fn is_embedded(&self) -> bool {
        self.store == StoreKind::Embedded
    }

    pub async fn open(&self) -> Result<Stores, Box<dyn std::error::Error>> {
        match self.store {
            StoreKind::Embedded => {
                let path = self.data_dir.join("identity.sqlite3");
                let store = Arc::new(SqliteStore::open(&path)?);
                Ok(Stores {
                    sessions: store.clone(),
                    tenants: store.clone(),
                    rate_limiter: store,
                    description: format!("{} (embedded SQLite)", path.display()),
                })
            }
            StoreKind::Dynamodb => {
                let store = DynamoStore::from_config(&crate::aws::sdk_config().await?, self.table.clone());
                store.create_table().await?;
                let store = Arc::new(store);
                Ok(Stores {
                    sessions: store.clone(),
                    tenants: store.clone(),
                    rate_limiter: store,
                    description: format!("DynamoDB table {}", self.table),
                })
            }
        }
    }
}

pub async fn create_table(table: &str) -> Result<(), Box<dyn std::error::Error>> {
    DynamoStore::from_config(&crate::aws::sdk_config().await?, table).create_table().await?;
    println!("DynamoDB table {table} is ready");
    Ok(())
}
